//! The edition's corrections page (`/corrections`): the newest public
//! corrections of its published stories, each with its story. Cached like the
//! other pages; it depends on [`corrections_dep`], which a change of any story
//! with corrections drops (see [`crate::AppState::story_changed`]), so a new
//! correction, a corrected story's new headline or its take-down show at once.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use minijinja::Value;
use newsdesk_domain::dates;

use super::{Rendered, abs, cache_key, cached, edition, render_page, tr};
use crate::cache::CachedPage;
use crate::render::Meta;
use crate::{AppError, AppState};

/// Corrections on the page and in its feed.
pub(crate) const CORRECTIONS: i64 = 50;

/// `Cache-Control` of the corrections page.
const CC_CORRECTIONS: &str = "public, max-age=60, stale-while-revalidate=300";

/// The cache dependency of an edition's corrections page and feed.
pub(crate) fn corrections_dep(edition_id: i64) -> String {
    format!("corrections:{edition_id}")
}

pub(super) async fn corrections(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = cache_key(&uri, None);
    let st = state.clone();
    cached(&state, key, &headers, || async move {
        let state = st;
        let edition = edition(&state);
        let sections = state.sections(edition.id).await?;
        let list = state.store.recent_corrections(edition.id, CORRECTIONS).await?;
        let items: Vec<Value> = list
            .iter()
            .map(|c| {
                minijinja::context! {
                    headline => c.headline,
                    url => crate::editions::within(&edition, &format!("/news/{}/{}", c.correction.news_id, c.slug)),
                    note => c.correction.note,
                    at => edition.format_long(c.correction.at),
                    at_iso => dates::iso8601(c.correction.at, edition.time_zone),
                }
            })
            .collect();
        let title = tr(&state, &edition, "corrections.title", &[]);
        let meta = Meta {
            title: format!("{title} - {}", edition.name),
            og_title: None,
            description: tr(&state, &edition, "corrections.description", &[("edition", &edition.name)]),
            canonical: abs(&state, "/corrections"),
            og_type: "website",
            image: None,
            image_alt: None,
            jsonld: None,
            noindex: false,
        };
        let html = render_page(
            &state,
            &edition,
            &sections,
            "corrections.html",
            &meta,
            minijinja::context! {
                items => items,
                feed_url => crate::editions::within(&edition, "/corrections/feed.rss"),
            },
        )?;
        let modified = list.iter().map(|c| c.correction.at).max();
        Ok(Rendered::Page(CachedPage::new(&html, CC_CORRECTIONS, modified, vec![corrections_dep(edition.id)])))
    })
    .await
}
