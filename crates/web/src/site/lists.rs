//! List pages: section, tag, author and archive (a day), paged by a cursor.

use std::future::Future;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use newsdesk_domain::dates;
use newsdesk_storage::{Cursor, StoryFilter};
use serde::Deserialize;

use super::{
    CC_LIST, Rendered, abs, cache_key, cached, edition, list_dep_day, list_dep_section, render_page, story_deps, tr,
    with_thumbnails_at,
};
use crate::cache::CachedPage;
use crate::render::{Link, Meta, Teaser, section_link};
use crate::{AppError, AppState};

/// Stories per list page.
const PAGE_SIZE: i64 = 20;

#[derive(Debug, Deserialize)]
struct ListQuery {
    before: Option<String>,
}

fn cursor_of(q: &ListQuery) -> Result<Option<Cursor>, AppError> {
    match q.before.as_deref() {
        None | Some("") => Ok(None),
        Some(b) => Cursor::decode(b)
            .map(Some)
            .ok_or_else(|| AppError::BadRequest(format!("`before` must look like 1700000000-84427, found `{b}`"))),
    }
}

fn parse_list_query(raw: Option<String>) -> Result<ListQuery, AppError> {
    let raw = raw.unwrap_or_default();
    Query::<ListQuery>::try_from_uri(
        &format!("/?{raw}").parse::<Uri>().map_err(|_| AppError::BadRequest("malformed query string".into()))?,
    )
    .map(|q| q.0)
    .map_err(|e| AppError::BadRequest(format!("malformed query string: {e}")))
}

/// What a list page shows.
struct ListSpec {
    title: String,
    kicker: String,
    description: String,
    filter: StoryFilter,
    dep: String,
    children: Vec<Link>,
    breadcrumb: Vec<Link>,
    extra_nav: Vec<Link>,
    noindex: bool,
    /// The section whose curated front leads the first page (section pages only).
    front: Option<i64>,
}

async fn list_page(
    state: &AppState,
    uri: &Uri,
    raw: Option<String>,
    headers: &HeaderMap,
    spec: impl Future<Output = Result<ListSpec, AppError>>,
) -> Result<Response, AppError> {
    let q = parse_list_query(raw)?;
    let cursor = cursor_of(&q)?;
    let key = cache_key(uri, cursor.map(|c| c.encode()).as_deref());
    // Pager links stay inside the edition (`/fa/section/iran?before=…`).
    let path = crate::editions::url(uri.path());
    cached(state, key, headers, || async move {
        let spec = spec.await?;
        let edition = edition(state);
        let sections = state.sections(edition.id).await?;
        let mut items = state.store.published(&spec.filter, cursor, PAGE_SIZE + 1).await?;
        // A section's first page leads with its curated front; the pager
        // continues after the last newest-first story shown.
        let curated = match (spec.front, cursor) {
            (Some(section_id), None) => super::fronts::curated(state, edition.id, Some(section_id)).await?,
            _ => Vec::new(),
        };
        let automatic: Vec<_> =
            items.iter().filter(|s| !curated.iter().any(|c| c.news_id == s.news_id)).cloned().collect();
        let room = (PAGE_SIZE as usize).saturating_sub(curated.len().min(PAGE_SIZE as usize));
        let more = automatic.len() > room || items.len() as i64 > PAGE_SIZE;
        let last_automatic = automatic.get(..room.min(automatic.len())).and_then(|a| a.last()).cloned();
        items = super::fronts::merge(&curated, &items, PAGE_SIZE as usize);
        let next = if more {
            last_automatic.as_ref().map(|s| format!("{path}?before={}", Cursor::after(s).encode()))
        } else {
            None
        };
        let public_url = &state.config.public_url;
        let mut teasers: Vec<Teaser> = items.iter().map(|s| Teaser::new(s, &edition, &sections, public_url)).collect();
        with_thumbnails_at(state, &mut teasers, newsdesk_domain::crop::Ratio::Standard).await?;
        let canonical = match cursor {
            Some(c) => abs(state, &format!("{path}?before={}", c.encode())),
            None => abs(state, &path),
        };
        let meta = Meta {
            title: format!("{} - {}", spec.title, edition.name),
            og_title: None,
            description: spec.description.clone(),
            canonical,
            og_type: "website",
            image: None,
            image_alt: None,
            jsonld: None,
            noindex: spec.noindex || super::fronts::previewing(),
        };
        let html = render_page(
            state,
            &edition,
            &sections,
            "list.html",
            &meta,
            minijinja::context! {
                title => spec.title,
                kicker => spec.kicker,
                items => teasers,
                next => next,
                first => cursor.map(|_| path.clone()),
                children => spec.children,
                breadcrumb => spec.breadcrumb,
                extra_nav => spec.extra_nav,
                front_preview => super::fronts::previewing(),
            },
        )?;
        let mut deps = story_deps(items.iter().map(|s| s.news_id));
        deps.push(spec.dep);
        if spec.front.is_some() {
            deps.push(super::fronts::front_dep(edition.id));
        }
        let modified = items.iter().map(|s| s.updated_at.unwrap_or(s.published_at).max(s.published_at)).max();
        Ok(Rendered::Page(CachedPage::new(&html, CC_LIST, modified, deps)))
    })
    .await
}

pub(super) async fn section(
    State(state): State<AppState>,
    Path(path): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let path = path.trim_end_matches('/').to_string();
    if let Some((section, format)) = crate::feeds::split_section_feed(&path) {
        return crate::feeds::section_feed(&state, section, format, &uri, &headers).await;
    }
    let st = state.clone();
    list_page(&state, &uri, raw, &headers, async move {
        let edition = edition(&st);
        let sections = st.sections_with(edition.id, |s| s.path == path).await?;
        let Some(s) = sections.iter().find(|s| s.path == path) else {
            return Err(match st.store.section_redirect(edition.id, &path).await? {
                Some(to) => AppError::Moved(crate::editions::url(&format!("/section/{to}"))),
                None => AppError::NotFound,
            });
        };
        let children = sections.iter().filter(|c| c.parent_id == Some(s.id)).map(section_link).collect();
        let mut breadcrumb = Vec::new();
        let mut cur = s.parent_id.and_then(|p| sections.iter().find(|x| x.id == p));
        while let Some(c) = cur {
            breadcrumb.push(section_link(c));
            cur = c.parent_id.and_then(|p| sections.iter().find(|x| x.id == p));
        }
        breadcrumb.reverse();
        Ok(ListSpec {
            title: s.name.clone(),
            kicker: tr(&st, &edition, "list.section", &[]),
            description: tr(
                &st,
                &edition,
                "list.section_description",
                &[("section", &s.name), ("edition", &edition.name)],
            ),
            filter: StoryFilter::Section { edition_id: edition.id, path: s.path.clone() },
            dep: list_dep_section(edition.id, &s.path),
            children,
            breadcrumb,
            extra_nav: Vec::new(),
            noindex: false,
            front: Some(s.id),
        })
    })
    .await
}

pub(super) async fn tag(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let st = state.clone();
    list_page(&state, &uri, raw, &headers, async move {
        let edition = edition(&st);
        let Some(t) = st.store.tag_by_slug(edition.id, &slug).await? else {
            return Err(match st.store.tag_redirect(edition.id, &slug).await? {
                Some(to) => AppError::Moved(crate::editions::url(&format!("/tag/{to}"))),
                None => AppError::NotFound,
            });
        };
        Ok(ListSpec {
            title: t.name.clone(),
            kicker: tr(&st, &edition, "list.tag", &[]),
            description: tr(&st, &edition, "list.tag_description", &[("tag", &t.name), ("edition", &edition.name)]),
            filter: StoryFilter::Tag(t.id),
            dep: format!("list:tag:{}", t.id),
            children: Vec::new(),
            breadcrumb: Vec::new(),
            extra_nav: Vec::new(),
            noindex: false,
            front: None,
        })
    })
    .await
}

pub(super) async fn author(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let st = state.clone();
    list_page(&state, &uri, raw, &headers, async move {
        let edition = edition(&st);
        let a = st.store.author_by_slug(&slug).await?.ok_or(AppError::NotFound)?;
        Ok(ListSpec {
            title: a.name.clone(),
            kicker: tr(&st, &edition, "list.author", &[]),
            description: tr(
                &st,
                &edition,
                "list.author_description",
                &[("author", &a.name), ("edition", &edition.name)],
            ),
            filter: StoryFilter::Author { edition_id: edition.id, author_id: a.id },
            dep: format!("list:author:{}", a.id),
            children: Vec::new(),
            breadcrumb: Vec::new(),
            extra_nav: Vec::new(),
            noindex: false,
            front: None,
        })
    })
    .await
}

pub(super) async fn archive(
    State(state): State<AppState>,
    Path((y, m, d)): Path<(String, String, String)>,
    uri: Uri,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let bad = || AppError::NotFound;
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let day = NaiveDate::from_ymd_opt(
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    )
    .ok_or_else(bad)?;
    let st = state.clone();
    list_page(&state, &uri, raw, &headers, async move {
        let edition = edition(&st);
        let tz = edition.time_zone;
        let start = |day: NaiveDate| {
            dates::local_to_utc(day.and_hms_opt(0, 0, 0).unwrap_or_default(), tz).map_err(|_| AppError::NotFound)
        };
        let from = start(day)?;
        let to = start(day + Duration::days(1))?;
        let link = |day: NaiveDate, label: &str| Link {
            name: format!("{label} {}", edition.format_day(start(day).unwrap_or(from))),
            url: crate::editions::url(&format!("/archive/{:04}/{:02}/{:02}", day.year(), day.month(), day.day())),
        };
        let mut extra_nav = vec![link(day - Duration::days(1), "←")];
        if to <= Utc::now() {
            extra_nav.push(link(day + Duration::days(1), "→"));
        }
        Ok(ListSpec {
            title: tr(&st, &edition, "list.archive_title", &[("day", &edition.format_day(from))]),
            kicker: tr(&st, &edition, "list.archive", &[]),
            description: tr(
                &st,
                &edition,
                "list.archive_description",
                &[("day", &edition.format_day(from)), ("edition", &edition.name)],
            ),
            filter: StoryFilter::Between { edition_id: edition.id, from, to },
            dep: list_dep_day(edition.id, day),
            children: Vec::new(),
            breadcrumb: Vec::new(),
            extra_nav,
            noindex: false,
            front: None,
        })
    })
    .await
}
