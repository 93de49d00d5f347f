//! Full-text search: the `/search?q=` page and `/api/v1/search`.
//!
//! Parameters of both: `q` (the words), `section` (a section path; its
//! subsections count too), `from` and `to` (days, `YYYY-MM-DD` in the
//! edition's time zone, both included), `page` (from 1). The API also takes
//! `edition` (a language code; default: the default edition).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use minijinja::Value;
use newsdesk_domain::calendar;
use newsdesk_domain::{Edition, Section, dates};
use newsdesk_search::{Filters, SearchError, SearchIndex, SearchResults};
use serde::{Deserialize, Serialize};

use crate::cache::CachedPage;
use crate::render::{Link, Meta, page_ctx};
use crate::{AppError, AppState, http};

/// Routes of search.
pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(page)).route("/api/v1/search", get(api))
}

/// The query string of a search.
#[derive(Debug, Default, Deserialize)]
struct RawSearch {
    q: Option<String>,
    section: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
    edition: Option<String>,
}

/// A validated search request.
#[derive(Debug, Default)]
struct Request {
    q: String,
    section: String,
    from: String,
    to: String,
    page: usize,
    filters: Filters,
}

fn parse_raw(raw: Option<String>) -> Result<RawSearch, String> {
    serde_urlencoded::from_str(&raw.unwrap_or_default()).map_err(|e| format!("malformed query string: {e}"))
}

/// A day given as `YYYY-MM-DD` (any digits) in `edition`'s zone: its first instant,
/// or with `next`, the first instant of the day after.
fn day_start(value: &str, name: &str, edition: &Edition, next: bool) -> Result<DateTime<Utc>, String> {
    let ascii = calendar::digits_to_ascii(value.trim());
    let day = NaiveDate::parse_from_str(&ascii, "%Y-%m-%d")
        .map_err(|_| format!("{name} must be a day like 2024-03-20, found `{value}`"))?;
    let day = if next { day.succ_opt().ok_or_else(|| format!("{name} is out of range"))? } else { day };
    dates::local_to_utc(day.and_time(NaiveTime::MIN), edition.time_zone).map_err(|e| format!("{name}: {e}"))
}

fn validate(raw: RawSearch, edition: &Edition) -> Result<Request, String> {
    let q = raw.q.unwrap_or_default().trim().to_string();
    let section = raw.section.unwrap_or_default().trim().trim_matches('/').to_string();
    let from = raw.from.unwrap_or_default().trim().to_string();
    let to = raw.to.unwrap_or_default().trim().to_string();
    let page = match raw.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(p) => calendar::digits_to_ascii(p)
            .parse::<usize>()
            .ok()
            .filter(|p| (1..=newsdesk_search::MAX_PAGE).contains(p))
            .ok_or_else(|| format!("page must be a number from 1 to {}, found `{p}`", newsdesk_search::MAX_PAGE))?,
    };
    if q.chars().count() > newsdesk_search::MAX_QUERY_CHARS {
        return Err(format!("q must be at most {} characters", newsdesk_search::MAX_QUERY_CHARS));
    }
    let filters = Filters {
        section: (!section.is_empty()).then(|| section.clone()),
        from: if from.is_empty() { None } else { Some(day_start(&from, "from", edition, false)?) },
        to: if to.is_empty() { None } else { Some(day_start(&to, "to", edition, true)?) },
    };
    if let (Some(f), Some(t)) = (filters.from, filters.to)
        && f >= t
    {
        return Err("from must not be after to".into());
    }
    Ok(Request { q, section, from, to, page, filters })
}

/// Runs the search off the async threads; snippets read the hits' bodies from `store`.
async fn run(
    index: Arc<SearchIndex>,
    store: newsdesk_storage::Store,
    lang: String,
    req: &Request,
) -> Result<SearchResults, SearchError> {
    let (q, filters, page) = (req.q.clone(), req.filters.clone(), req.page);
    let bodies = newsdesk_search::StoreBodies::new(store);
    tokio::task::spawn_blocking(move || index.search(&lang, &q, &filters, page, &bodies))
        .await
        .map_err(|e| SearchError::Invalid(format!("search task failed: {e}")))?
}

/// A hit as the page and the API show it.
#[derive(Debug, Serialize)]
struct HitView {
    news_id: i64,
    url: String,
    headline: String,
    headline_html: String,
    snippet_html: String,
    section: Option<Link>,
    date: String,
    iso: String,
    updated_iso: Option<String>,
}

fn hit_views(results: &SearchResults, edition: &Edition, sections: &[Section]) -> Vec<HitView> {
    results
        .hits
        .iter()
        .map(|h| HitView {
            news_id: h.news_id,
            url: crate::editions::within(edition, &h.path),
            headline: h.headline.clone(),
            headline_html: h.headline_html.clone(),
            snippet_html: h.snippet_html.clone(),
            section: sections.iter().find(|s| s.path == h.section_path).map(|s| Link {
                name: s.name.clone(),
                url: crate::editions::within(edition, &format!("/section/{}", s.path)),
            }),
            date: edition.format_long(h.published_at),
            iso: dates::iso8601(h.published_at, edition.time_zone),
            updated_iso: h.updated_at.map(|u| dates::iso8601(u, edition.time_zone)),
        })
        .collect()
}

/// The URL of the same search on another page.
fn page_url(edition: &Edition, req: &Request, page: usize) -> String {
    let mut pairs = vec![("q", req.q.as_str())];
    for (k, v) in [("section", &req.section), ("from", &req.from), ("to", &req.to)] {
        if !v.is_empty() {
            pairs.push((k, v.as_str()));
        }
    }
    let page = page.to_string();
    if page != "1" {
        pairs.push(("page", &page));
    }
    crate::editions::within(edition, &format!("/search?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default()))
}

/// Page links around the current one: (label, url or none for the current page).
fn pager(state: &AppState, edition: &Edition, req: &Request, results: &SearchResults) -> Vec<Value> {
    let t = |key: &str| state.templates.text(&edition.lang, key, &[]);
    let pages = results.pages();
    if pages <= 1 {
        return Vec::new();
    }
    let mut out = Vec::new();
    if req.page > 1 {
        out.push(minijinja::context! { name => t("search.previous"), url => page_url(edition, req, req.page - 1), rel => "prev", current => false });
    }
    let lo = req.page.saturating_sub(4).max(1);
    let hi = (lo + 9).min(pages);
    for p in lo..=hi {
        let url = (p != req.page).then(|| page_url(edition, req, p));
        out.push(minijinja::context! { name => edition.digits.apply(&p.to_string()), url => url, rel => "", current => p == req.page });
    }
    if req.page < pages {
        out.push(
            minijinja::context! { name => t("search.next"), url => page_url(edition, req, req.page + 1), rel => "next", current => false },
        );
    }
    out
}

/// The search page of `edition` (the default edition at `/search`; editions
/// with a URL prefix can serve it at `/{lang}/search`).
pub async fn search_page(state: &AppState, edition: &Edition, raw: Option<String>) -> Result<Response, AppError> {
    let raw = parse_raw(raw).map_err(AppError::BadRequest)?;
    let req = validate(raw, edition).map_err(AppError::BadRequest)?;
    let sections = state.sections(edition.id).await?;
    let (results, available) = match (&state.search, req.q.is_empty()) {
        (_, true) => (None, true),
        (None, false) => (None, false),
        (Some(index), false) => match run(Arc::clone(index), state.store.clone(), edition.lang.clone(), &req).await {
            Ok(r) => (Some(r), true),
            Err(SearchError::Invalid(m)) => return Err(AppError::BadRequest(m)),
            Err(SearchError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(AppError::Internal(e.to_string())),
        },
    };
    let hits = results.as_ref().map(|r| hit_views(r, edition, &sections)).unwrap_or_default();
    let pages = results.as_ref().map(|r| pager(state, edition, &req, r)).unwrap_or_default();
    let section_options: Vec<Value> = sections
        .iter()
        .map(|s| {
            let depth = s.path.matches('/').count();
            minijinja::context! {
                path => s.path,
                name => format!("{}{}", "\u{2014} ".repeat(depth), s.name),
                selected => s.path == req.section,
            }
        })
        .collect();
    let title = if req.q.is_empty() { "Search".to_string() } else { format!("Search: {}", req.q) };
    let meta = Meta {
        title: format!("{title} - {}", edition.name),
        og_title: None,
        description: format!("Search the stories of {}.", edition.name),
        canonical: format!("{}{}", state.config.public_url, page_url(edition, &req, req.page)),
        og_type: "website",
        image: None,
        image_alt: None,
        jsonld: None,
        noindex: true,
    };
    let main = minijinja::context! {
        q => req.q,
        section => req.section,
        from => req.from,
        to => req.to,
        sections => section_options,
        searched => results.is_some(),
        available => available,
        total => results.as_ref().map(|r| r.total).unwrap_or_default(),
        page => req.page,
        hits => hits,
        pages => pages,
        filtered => req.filters.section.is_some() || req.filters.from.is_some() || req.filters.to.is_some(),
        unfiltered_url => page_url(edition, &Request { q: req.q.clone(), ..Request::default() }, 1),
        browse => sections.iter().filter(|s| s.parent_id.is_none())
            .map(|s| Link { name: s.name.clone(), url: format!("/section/{}", s.path) }).collect::<Vec<_>>(),
    };
    let ctx = page_ctx(edition, &sections, &state.templates, &meta, &state.config.public_url, main);
    let html = state.templates.render("search.html", ctx)?;
    let chrome = crate::site::chrome(state, edition).await?;
    let page = CachedPage::new(&html, "public, max-age=30", None, Vec::new());
    let mut res = http::serve_page(&page, &chrome, &HeaderMap::new());
    res.headers_mut().remove(header::ETAG);
    if !available {
        *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    }
    Ok(res)
}

async fn page(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    let edition = crate::site::edition(&state);
    search_page(&state, &edition, raw).await
}

/// An API error, shaped like every `/api/v1` error.
fn api_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message.into() } });
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

#[derive(Serialize)]
struct ApiHit {
    news_id: i64,
    url: String,
    headline: String,
    headline_html: String,
    snippet_html: String,
    section: Option<String>,
    published: String,
    updated: Option<String>,
}

async fn api(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let raw = match parse_raw(raw) {
        Ok(r) => r,
        Err(m) => return api_error(StatusCode::BAD_REQUEST, "bad_request", m),
    };
    let edition = match raw.edition.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        None => crate::site::edition(&state),
        Some(lang) => match state.editions.load().iter().find(|e| e.lang == lang) {
            Some(e) => e.clone(),
            None => return api_error(StatusCode::NOT_FOUND, "not_found", format!("no edition `{lang}`")),
        },
    };
    let req = match validate(raw, &edition) {
        Ok(r) => r,
        Err(m) => return api_error(StatusCode::BAD_REQUEST, "bad_request", m),
    };
    if req.q.is_empty() {
        return api_error(StatusCode::BAD_REQUEST, "bad_request", "q is required");
    }
    let Some(index) = state.search.clone() else {
        return api_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "search is not available on this server");
    };
    let results = match run(index, state.store.clone(), edition.lang.clone(), &req).await {
        Ok(r) => r,
        Err(SearchError::Invalid(m)) => return api_error(StatusCode::BAD_REQUEST, "bad_request", m),
        Err(SearchError::Store(e)) if e.is_unavailable() => {
            newsdesk_storage::outage::log().failed("a search", &e);
            let mut res = api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database is unavailable right now; try again later",
            );
            res.headers_mut().extend([crate::error::retry_after()]);
            return res;
        }
        Err(e) => {
            tracing::error!(error = %e, "search failed");
            return api_error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error");
        }
    };
    let public_url = &state.config.public_url;
    let items: Vec<ApiHit> = results
        .hits
        .iter()
        .map(|h| ApiHit {
            news_id: h.news_id,
            url: format!("{public_url}{}", h.path),
            headline: h.headline.clone(),
            headline_html: h.headline_html.clone(),
            snippet_html: h.snippet_html.clone(),
            section: (!h.section_path.is_empty()).then(|| h.section_path.clone()),
            published: dates::iso8601(h.published_at, edition.time_zone),
            updated: h.updated_at.map(|u| dates::iso8601(u, edition.time_zone)),
        })
        .collect();
    let body = serde_json::json!({
        "query": req.q,
        "edition": edition.lang,
        "total": results.total,
        "page": results.page,
        "per_page": results.per_page,
        "pages": results.pages(),
        "items": items,
    });
    (StatusCode::OK, [(header::CACHE_CONTROL, "public, max-age=30")], Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use newsdesk_domain::Direction;

    fn tehran() -> Edition {
        Edition {
            id: 1,
            lang: "fa".into(),
            name: "Persian".into(),
            direction: Direction::Rtl,
            time_zone: chrono_tz::Asia::Tehran,
            is_default: false,
            calendar: newsdesk_domain::calendar::Calendar::SolarHijri,
            digits: newsdesk_domain::calendar::Digits::Persian,
        }
    }

    fn raw(q: &str) -> RawSearch {
        parse_raw(Some(q.to_string())).expect("parses")
    }

    #[test]
    fn days_are_edition_local_and_to_is_inclusive() {
        let r = validate(raw("q=x&from=2024-03-20&to=2024-03-20"), &tehran()).expect("valid");
        assert_eq!(r.filters.from.map(|t| t.to_rfc3339()), Some("2024-03-19T20:30:00+00:00".into()));
        assert_eq!(r.filters.to.map(|t| t.to_rfc3339()), Some("2024-03-20T20:30:00+00:00".into()));
        let persian =
            validate(raw("q=x&from=%DB%B2%DB%B0%DB%B2%DB%B4-%DB%B0%DB%B3-%DB%B2%DB%B0"), &tehran()).expect("valid");
        assert_eq!(persian.filters.from, r.filters.from);
    }

    #[test]
    fn bad_parameters_name_themselves() {
        for (q, word) in [
            ("q=x&from=yesterday", "from"),
            ("q=x&to=2024-02-30", "to"),
            ("q=x&page=0", "page"),
            ("q=x&page=abc", "page"),
            ("q=x&from=2024-03-21&to=2024-03-20", "from"),
        ] {
            let err = validate(raw(q), &tehran()).expect_err(q);
            assert!(err.contains(word), "{q}: {err}");
        }
        let long = format!("q={}", "a".repeat(301));
        assert!(validate(raw(&long), &tehran()).expect_err("long").contains('q'));
    }

    #[test]
    fn page_urls_keep_the_filters() {
        let r = validate(raw("q=oil+price&section=economy&from=2024-01-01"), &tehran()).expect("valid");
        let en = Edition { lang: "en".into(), is_default: true, ..tehran() };
        assert!(page_url(&tehran(), &r, 2).starts_with("/fa/search?q="), "other editions keep their prefix");
        assert_eq!(page_url(&en, &r, 2), "/search?q=oil+price&section=economy&from=2024-01-01&page=2");
        assert_eq!(page_url(&en, &r, 1), "/search?q=oil+price&section=economy&from=2024-01-01");
    }
}
