//! The error page, in the words of the edition asked for.

use std::sync::Arc;

use axum::http::StatusCode;

use super::{abs, chrome, edition, render_page, tr};
use crate::cache::{CachedPage, Chrome};
use crate::error::ErrorPage;
use crate::render::Meta;
use crate::{AppError, AppState};

/// Renders the error page for `status` (called by the error middleware).
pub async fn error_page(state: &AppState, status: StatusCode, page: &ErrorPage) -> Result<String, AppError> {
    let edition = edition(state);
    // During an outage the navigation is left out rather than tried once more.
    let sections = match page.code {
        "unavailable" => Arc::default(),
        _ => state.sections(edition.id).await.unwrap_or_default(),
    };
    let key = match page.code {
        "not_found" | "gone" | "bad_request" | "method_not_allowed" | "unavailable" => page.code,
        _ => "other",
    };
    let title = tr(state, &edition, &format!("error.{key}"), &[]);
    // Editions in other languages say what happened in their words; the English
    // message (which may name the exact fault) stays on English pages. A
    // withdrawn story is told in the edition's words everywhere, its public
    // note apart, as the desk wrote it.
    let message = match (edition.lang.as_str(), key) {
        (_, "gone") => tr(state, &edition, "error.gone_message", &[]),
        ("en", _) | (_, "bad_request" | "method_not_allowed") => page.message.clone(),
        (_, k) => tr(state, &edition, &format!("error.{k}_message"), &[]),
    };
    let note = if key == "gone" { page.note.clone() } else { None };
    let meta = Meta {
        title: format!("{title} - {}", edition.name),
        og_title: None,
        description: match &note {
            Some(n) => format!("{message} {n}"),
            None => message.clone(),
        },
        canonical: abs(state, "/"),
        og_type: "website",
        image: None,
        image_alt: None,
        jsonld: None,
        noindex: true,
    };
    let html = render_page(
        state,
        &edition,
        &sections,
        "error.html",
        &meta,
        minijinja::context! {
            status => status.as_u16(), title => title, message => message, note => note, code => page.code,
        },
    )?;
    let chrome = match chrome(state, &edition).await {
        Ok(c) => c,
        Err(_) => Arc::new(Chrome {
            version: 0,
            updated_in: String::new(),
            latest: String::new(),
            most_visited: String::new(),
            updated_at: None,
            breaking: String::new(),
            breaking_until: None,
        }),
    };
    // The same slot filling as cached pages, without caching the result.
    let page = CachedPage::new(&html, "no-store", None, Vec::new());
    Ok(String::from_utf8_lossy(&page.assemble(&chrome).identity).into_owned())
}
