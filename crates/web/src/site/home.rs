//! The home page: the top story, the latest stories and a block per top-level section.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use newsdesk_storage::StoryFilter;

use super::{
    CC_LIST, Rendered, abs, cache_key, cached, edition, fronts, list_dep_edition, render_page, story_deps, tr,
    with_thumbnails,
};
use crate::cache::CachedPage;
use crate::render::{Meta, Teaser, script_json, section_link};
use crate::{AppError, AppState};

pub(super) async fn home(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Result<Response, AppError> {
    let key = cache_key(&uri, None);
    cached(&state, key, &headers, || async {
        let edition = edition(&state);
        let sections = state.sections(edition.id).await?;
        let latest = state.store.published(&StoryFilter::Edition(edition.id), None, 25).await?;
        // The editors' front first (pinned top story, featured slots), then the newest.
        let curated = fronts::curated(&state, edition.id, None).await?;
        let front = fronts::merge(&curated, &latest, 25);
        let public_url = &state.config.public_url;
        let mut teasers: Vec<Teaser> = front.iter().map(|s| Teaser::new(s, &edition, &sections, public_url)).collect();
        with_thumbnails(&state, &mut teasers).await?;
        let mut shown: Vec<i64> = teasers.iter().map(|t| t.news_id).collect();
        let mut blocks = Vec::new();
        for s in sections.iter().filter(|s| s.parent_id.is_none()) {
            let items = state
                .store
                .published(&StoryFilter::Section { edition_id: edition.id, path: s.path.clone() }, None, 5)
                .await?;
            if items.is_empty() {
                continue;
            }
            shown.extend(items.iter().map(|i| i.news_id));
            let mut items: Vec<Teaser> =
                items.iter().map(|i| Teaser::new(i, &edition, &sections, public_url)).collect();
            with_thumbnails(&state, &mut items).await?;
            blocks.push(minijinja::context! { section => section_link(s), items => items });
        }
        let top = teasers.first().cloned();
        let next: Vec<Teaser> = teasers.iter().skip(1).take(4).cloned().collect();
        let rest: Vec<Teaser> = teasers.iter().skip(5).cloned().collect();
        let description = tr(&state, &edition, "site.home_description", &[("edition", &edition.name)]);
        let meta = Meta {
            title: edition.name.clone(),
            og_title: None,
            description,
            canonical: abs(&state, "/"),
            og_type: "website",
            image: top.as_ref().and_then(|t| t.photo.as_ref().map(|p| p.abs.clone())),
            image_alt: top.as_ref().and_then(|t| t.photo.as_ref().map(|p| p.alt.clone())),
            jsonld: Some(script_json(&serde_json::json!({
                "@context": "https://schema.org",
                "@type": "WebSite",
                "name": edition.name,
                "url": abs(&state, "/"),
                "inLanguage": edition.lang,
            }))),
            noindex: fronts::previewing(),
        };
        let html = render_page(
            &state,
            &edition,
            &sections,
            "home.html",
            &meta,
            minijinja::context! {
                top => top, next => next, rest => rest, blocks => blocks, front_preview => fronts::previewing(),
            },
        )?;
        let mut deps = story_deps(shown);
        deps.push(list_dep_edition(edition.id));
        deps.push(fronts::front_dep(edition.id));
        let modified = front
            .iter()
            .chain(latest.first())
            .map(|s| s.updated_at.unwrap_or(s.published_at).max(s.published_at))
            .max();
        Ok(Rendered::Page(CachedPage::new(&html, CC_LIST, modified, deps)))
    })
    .await
}
