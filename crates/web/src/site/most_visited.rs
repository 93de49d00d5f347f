//! The most visited page: the ranking of a window, overall or in a section.

use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::Response;
use chrono::Utc;
use minijinja::Value;
use serde::Deserialize;

use super::{abs, chrome, edition, render_page, tr};
use crate::cache::CachedPage;
use crate::render::{Meta, Teaser};
use crate::{AppError, AppState, http};

#[derive(Debug, Deserialize)]
struct WindowQuery {
    window: Option<String>,
    section: Option<String>,
}

/// The ranking of a window (24 hours, 7 or 30 days) with view counts; not cached
/// (it changes with every flush), but cheap: one indexed aggregate.
pub(super) async fn most_visited(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    let uri: Uri = format!("/?{}", raw.unwrap_or_default())
        .parse()
        .map_err(|_| AppError::BadRequest("malformed query string".into()))?;
    let q = Query::<WindowQuery>::try_from_uri(&uri)
        .map_err(|e| AppError::BadRequest(format!("malformed query string: {}", e.body_text())))?
        .0;
    let window = match q.window.as_deref() {
        None | Some("") => crate::api::Window::Day,
        Some(w) => crate::api::Window::parse(w)
            .ok_or_else(|| AppError::BadRequest(format!("window must be 24h, 7d or 30d, found `{w}`")))?,
    };
    let edition = edition(&state);
    let sections = state.sections(edition.id).await?;
    let section = match q.section.as_deref().map(|s| s.trim_matches('/')).filter(|s| !s.is_empty()) {
        None => None,
        Some(p) => Some(
            sections
                .iter()
                .find(|s| s.path == p)
                .ok_or_else(|| AppError::BadRequest(format!("there is no section `{p}`")))?,
        ),
    };
    let ranked = state
        .store
        .most_visited(edition.id, section.map(|s| s.path.as_str()), Utc::now() - window.duration(), 30)
        .await?;
    let section_q = section.map(|s| format!("&section={}", s.path)).unwrap_or_default();
    let public_url = &state.config.public_url;
    let items: Vec<Value> = ranked
        .iter()
        .map(|(s, views)| minijinja::context! { t => Teaser::new(s, &edition, &sections, public_url), views => views })
        .collect();
    let label = tr(
        &state,
        &edition,
        match window {
            crate::api::Window::Day => "most_visited.in_day",
            crate::api::Window::Week => "most_visited.in_week",
            crate::api::Window::Month => "most_visited.in_month",
        },
        &[],
    );
    let label = match section {
        Some(s) => format!("{} in {label}", s.name),
        None => label.to_string(),
    };
    let meta = Meta {
        title: format!("{} - {}", tr(&state, &edition, "most_visited.heading", &[("label", &label)]), edition.name),
        og_title: None,
        description: tr(&state, &edition, "most_visited.description", &[("edition", &edition.name), ("label", &label)]),
        canonical: abs(&state, &format!("/most-visited?window={}{section_q}", window.as_str())),
        og_type: "website",
        image: None,
        image_alt: None,
        jsonld: None,
        noindex: true,
    };
    let windows: Vec<Value> = [crate::api::Window::Day, crate::api::Window::Week, crate::api::Window::Month]
        .iter()
        .map(|w| {
            minijinja::context! {
                url => crate::editions::url(&format!("/most-visited?window={}{section_q}", w.as_str())),
                name => tr(&state, &edition, match w {
                    crate::api::Window::Day => "most_visited.day",
                    crate::api::Window::Week => "most_visited.week",
                    crate::api::Window::Month => "most_visited.month",
                }, &[]),
                current => *w == window,
            }
        })
        .collect();
    let html = render_page(
        &state,
        &edition,
        &sections,
        "most_visited_page.html",
        &meta,
        minijinja::context! {
            label => label,
            items => items,
            windows => windows,
            scopes => std::iter::once(minijinja::context! {
                url => crate::editions::url(&format!("/most-visited?window={}", window.as_str())),
                name => tr(&state, &edition, "search.all_sections", &[]),
                current => section.is_none(),
            })
            .chain(sections.iter().filter(|s| s.parent_id.is_none()).map(|s| minijinja::context! {
                url => crate::editions::url(&format!("/most-visited?window={}&section={}", window.as_str(), s.path)),
                name => s.name,
                current => section.is_some_and(|c| c.id == s.id),
            }))
            .collect::<Vec<_>>(),
        },
    )?;
    let chrome = chrome(&state, &edition).await?;
    let page = CachedPage::new(&html, "public, max-age=30", None, Vec::new());
    let mut res = http::serve_page(&page, &chrome, &HeaderMap::new());
    res.headers_mut().remove(header::ETAG);
    Ok(res)
}
