//! Curated fronts in the write API: read and set the arrangement of an
//! edition's home page or of a section front (`?section=iran/defense`), with
//! the same command as the back office ([`crate::desk::fronts`]). A `PUT`
//! publishes at once unless it says `"draft": true`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use newsdesk_domain::{Edition, dates};
use newsdesk_storage::{Arrangement, Front};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::write::json_body;
use super::{ApiError, ApiUser, ErrorBody, parse_query};
use crate::AppState;
use crate::desk::fronts;

/// Which front of the edition.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontQuery {
    /// A section path; absent (or `home`) for the home page.
    section: Option<String>,
}

/// A story placed on a front.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FrontSlot {
    /// News ID.
    pub news_id: i64,
    /// Headline.
    pub headline: String,
    /// Canonical URL of the story page.
    pub url: String,
    /// Whether readers see it now (published); a story taken down drops out of the page by itself.
    pub published: bool,
}

/// One arrangement of a front.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FrontArrangement {
    /// The story pinned on top, if any.
    pub pinned: Option<FrontSlot>,
    /// The featured stories in order, after the pinned one.
    pub featured: Vec<FrontSlot>,
}

/// A curated front: the home page or a section front of an edition.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FrontBody {
    /// Edition language.
    pub edition: String,
    /// Section path; null for the home page.
    pub section: Option<String>,
    /// Version; send it back with the next change (0: never arranged).
    pub version: i64,
    /// What readers see; the rest of the page is newest first.
    pub live: FrontArrangement,
    /// What editors are working on (the same as `live` after a publish).
    pub draft: FrontArrangement,
    /// When the front was last published, ISO 8601 with the edition's offset.
    #[schema(format = DateTime)]
    pub published: Option<String>,
    /// Who published it last.
    pub published_by: Option<String>,
}

/// A new arrangement of a front.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrontUpdate {
    /// The version the change is based on; refused with 409 `conflict` when the front has moved on.
    pub version: i64,
    /// The News ID pinned on top (a published story of the edition), or null for none.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub pinned: Option<i64>,
    /// Featured News IDs in order (at most 8; published stories of the edition, each once).
    #[serde(default)]
    #[schema(max_items = 8)]
    pub featured: Vec<i64>,
    /// Save as the draft only (for the back office's preview) instead of publishing; default false.
    #[serde(default)]
    pub draft: bool,
}

fn edition_named(state: &AppState, lang: &str) -> Result<Edition, ApiError> {
    state
        .editions
        .load()
        .iter()
        .find(|e| e.lang == lang)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("there is no edition `{lang}`")))
}

async fn arrangement_view(state: &AppState, edition: &Edition, a: &Arrangement) -> Result<FrontArrangement, ApiError> {
    let found = state.store.front_candidates(&a.ids()).await?;
    let slot = |id: i64| {
        found.iter().find(|c| c.news_id == id).map(|c| FrontSlot {
            news_id: c.news_id,
            headline: c.headline.clone(),
            url: super::read::page_url(state, edition, &format!("/news/{}", c.news_id)),
            published: c.status == newsdesk_domain::StoryStatus::Published && c.edition_id == edition.id,
        })
    };
    Ok(FrontArrangement {
        pinned: a.pinned.and_then(slot),
        featured: a.featured.iter().filter_map(|id| slot(*id)).collect(),
    })
}

async fn front_view(
    state: &AppState,
    edition: &Edition,
    section: Option<String>,
    f: &Front,
) -> Result<Response, ApiError> {
    let body = FrontBody {
        edition: edition.lang.clone(),
        section,
        version: f.version,
        live: arrangement_view(state, edition, &f.live).await?,
        draft: arrangement_view(state, edition, &f.draft).await?,
        published: f.published_at.map(|t| dates::iso8601(t, edition.time_zone)),
        published_by: f.published_by.clone(),
    };
    Ok((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// A curated front of an edition (editors who may arrange it).
#[utoipa::path(
    get,
    path = "/api/v1/fronts/{edition}",
    tag = "write",
    security(("bearer" = [])),
    params(
        ("edition" = String, Path, description = "Edition language", example = "en"),
        ("section" = Option<String>, Query, description = "A section path; absent for the home page"),
    ),
    responses(
        (status = 200, description = "The front's live and draft arrangements", body = FrontBody),
        (status = 400, description = "A query parameter is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The user may not arrange this front", body = ErrorBody),
        (status = 404, description = "No such edition or section", body = ErrorBody),
    )
)]
pub(super) async fn get_front(
    State(state): State<AppState>,
    user: ApiUser,
    Path(lang): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: FrontQuery = parse_query(raw.as_deref())?;
    let edition = edition_named(&state, &lang)?;
    let section = fronts::section_of(&state, &edition, q.section.as_deref()).await?;
    let front = fronts::load(&state, &user.0, &edition, section.as_ref()).await?;
    front_view(&state, &edition, section.map(|s| s.path), &front).await
}

/// Arranges a curated front: publishes it at once (every node's pages follow)
/// or, with `"draft": true`, saves it as the draft only.
#[utoipa::path(
    put,
    path = "/api/v1/fronts/{edition}",
    tag = "write",
    security(("bearer" = [])),
    params(
        ("edition" = String, Path, description = "Edition language", example = "en"),
        ("section" = Option<String>, Query, description = "A section path; absent for the home page"),
    ),
    request_body = FrontUpdate,
    responses(
        (status = 200, description = "The front as stored now", body = FrontBody),
        (status = 400, description = "The body is malformed or has unknown fields", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The user may not arrange this front", body = ErrorBody),
        (status = 404, description = "No such edition or section", body = ErrorBody),
        (status = 409, description = "The front changed since `version`; the message names the version now",
            body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "A story that cannot be placed (the message names the field: pinned or featured)",
            body = ErrorBody),
    )
)]
pub(super) async fn put_front(
    State(state): State<AppState>,
    user: ApiUser,
    Path(lang): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let q: FrontQuery = parse_query(raw.as_deref())?;
    let edition = edition_named(&state, &lang)?;
    let section = fronts::section_of(&state, &edition, q.section.as_deref()).await?;
    let req: FrontUpdate = json_body(&headers, body)?;
    let arrangement = Arrangement { pinned: req.pinned, featured: req.featured };
    let front =
        fronts::save(&state, &user.0, &edition, section.as_ref(), req.version, &arrangement, !req.draft).await?;
    front_view(&state, &edition, section.map(|s| s.path), &front).await
}
