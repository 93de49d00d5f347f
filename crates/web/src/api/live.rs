//! The write API of live blogs: post, change and remove the updates of a
//! live story, with the same commands as the back office
//! ([`crate::desk::live`]). A story becomes a live blog with `"live": true`
//! on create or change, and its coverage ends with `"live": false`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use newsdesk_domain::dates;
use newsdesk_storage::LiveUpdate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::write::{BodyFormatName, json_body};
use super::{ApiError, ApiUser, ErrorBody};
use crate::AppState;
use crate::desk::live::{self, UpdateChanges};

/// A new update of a live blog.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpdate {
    /// The update, in the story's body format (1 to 20,000 characters).
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
    /// Optional headline (at most 300 characters).
    #[serde(default)]
    #[schema(max_length = 300)]
    pub headline: Option<String>,
    /// Pin it to the top of the list (unpins the one pinned before).
    #[serde(default)]
    pub pinned: Option<bool>,
    /// A photo id from the media library.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub photo_id: Option<i64>,
}

/// Changes to an update; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePatch {
    /// The update, in the story's body format.
    #[schema(min_length = 1, max_length = 20000)]
    pub body: Option<String>,
    /// Headline; empty removes it.
    #[schema(max_length = 300)]
    pub headline: Option<String>,
    /// Pinned to the top (pinning one unpins the other).
    pub pinned: Option<bool>,
    /// Photo id; null removes the photo.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub photo_id: Option<Option<i64>>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// An update of a live blog.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LiveUpdateView {
    /// Id; the page shows it at `#update-{id}`.
    pub id: i64,
    /// The story's News ID.
    pub news_id: i64,
    /// Headline (empty: none).
    pub headline: String,
    /// Body as written.
    pub body: String,
    /// Body format (the story's).
    pub body_format: BodyFormatName,
    /// Body as sanitized HTML.
    pub body_html: String,
    /// Pinned to the top.
    pub pinned: bool,
    /// Photo id.
    pub photo_id: Option<i64>,
    /// Posted, ISO 8601 with the edition's offset.
    #[schema(format = DateTime)]
    pub created: String,
    /// Last changed.
    #[schema(format = DateTime)]
    pub modified: String,
    /// Its place on the story's page (answers only while the story is published).
    #[schema(format = "uri")]
    pub url: String,
    /// The story's version after this change (send it with the next change of the story).
    pub story_version: i64,
}

async fn view(state: &AppState, u: &LiveUpdate) -> Result<LiveUpdateView, ApiError> {
    let story = state.store.story(u.news_id).await?.ok_or_else(ApiError::internal)?;
    let edition =
        state.editions.load().iter().find(|e| e.id == story.edition_id).cloned().ok_or_else(ApiError::internal)?;
    let tz = edition.time_zone;
    Ok(LiveUpdateView {
        id: u.id,
        news_id: u.news_id,
        headline: u.headline.clone(),
        body: u.body_source.clone(),
        body_format: format_name(u.body_format),
        body_html: u.body_html.clone(),
        pinned: u.pinned,
        photo_id: u.photo.as_ref().map(|p| p.id),
        created: dates::iso8601(u.created_at, tz),
        modified: dates::iso8601(u.modified_at, tz),
        url: format!("{}#update-{}", super::read::page_url(state, &edition, &story.path()), u.id),
        story_version: story.version,
    })
}

fn format_name(f: newsdesk_domain::BodyFormat) -> BodyFormatName {
    match f {
        newsdesk_domain::BodyFormat::Markdown => BodyFormatName::Markdown,
        newsdesk_domain::BodyFormat::Html => BodyFormatName::Html,
        newsdesk_domain::BodyFormat::Text => BodyFormatName::Text,
    }
}

fn ids_of(path: Result<Path<(String, String)>, PathRejection>) -> Result<(i64, i64), ApiError> {
    let Path((a, b)) = path.map_err(|e| ApiError::bad_request(format!("malformed path: {}", e.body_text())))?;
    let parse = |raw: &str, what: &str| {
        raw.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::bad_request(format!("{what} is a positive integer, found `{raw}`")))
    };
    Ok((parse(&a, "a News ID")?, parse(&b, "an update id")?))
}

fn no_store(status: StatusCode, body: LiveUpdateView) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// Posts an update to a live blog (whoever may edit the story: editors; reporters on their own drafts).
#[utoipa::path(
    post,
    path = "/api/v1/stories/{id}/updates",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    request_body = NewUpdate,
    responses(
        (status = 201, description = "The update", body = LiveUpdateView,
            headers(("Location" = String, description = "The update's API URL"))),
        (status = 400, description = "The body is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not edit this story", body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
        (status = 409, description = "The story is not a live blog, or its coverage has ended", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "Values refused (an empty body, ...); the message lists why", body = ErrorBody),
    )
)]
pub(super) async fn add_update(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = super::read::news_id_of(path)?;
    let req: NewUpdate = json_body(&headers, body)?;
    let changes = UpdateChanges {
        headline: req.headline,
        body: Some(req.body),
        photo_id: req.photo_id.map(Some),
        pinned: req.pinned,
    };
    let (update, changed) = live::add_update(&state, &user.0, id, changes).await?;
    changed.drop_pages(&state).await?;
    let mut res = no_store(StatusCode::CREATED, view(&state, &update).await?);
    if let Ok(loc) = header::HeaderValue::from_str(&format!("/api/v1/stories/{id}/updates/{}", update.id)) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

/// Changes an update of a live blog.
#[utoipa::path(
    patch,
    path = "/api/v1/stories/{id}/updates/{update_id}",
    tag = "write",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "News ID", minimum = 1, example = 84427),
        ("update_id" = i64, Path, description = "Update id", minimum = 1),
    ),
    request_body = UpdatePatch,
    responses(
        (status = 200, description = "The update as stored now", body = LiveUpdateView),
        (status = 400, description = "The body is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not edit this story", body = ErrorBody),
        (status = 404, description = "No such story or update", body = ErrorBody),
        (status = 409, description = "The story is killed", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "Values refused; the message lists why", body = ErrorBody),
    )
)]
pub(super) async fn edit_update(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (id, update_id) = ids_of(path)?;
    let req: UpdatePatch = json_body(&headers, body)?;
    let changes = UpdateChanges { headline: req.headline, body: req.body, photo_id: req.photo_id, pinned: req.pinned };
    let (update, changed) = live::edit_update(&state, &user.0, id, update_id, changes).await?;
    changed.drop_pages(&state).await?;
    Ok(no_store(StatusCode::OK, view(&state, &update).await?))
}

/// Removes an update of a live blog.
#[utoipa::path(
    delete,
    path = "/api/v1/stories/{id}/updates/{update_id}",
    tag = "write",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "News ID", minimum = 1, example = 84427),
        ("update_id" = i64, Path, description = "Update id", minimum = 1),
    ),
    responses(
        (status = 204, description = "The update is gone"),
        (status = 400, description = "The path is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not edit this story", body = ErrorBody),
        (status = 404, description = "No such story or update", body = ErrorBody),
        (status = 409, description = "The story is killed", body = ErrorBody),
    )
)]
pub(super) async fn delete_update(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (id, update_id) = ids_of(path)?;
    live::delete_update(&state, &user.0, id, update_id).await?.drop_pages(&state).await?;
    Ok((StatusCode::NO_CONTENT, [(header::CACHE_CONTROL, "no-store")]).into_response())
}

/// Starts or ends the live coverage after a create or change that said `"live"`.
pub(super) async fn apply_live(state: &AppState, user: &ApiUser, id: i64, live: Option<bool>) -> Result<(), ApiError> {
    if let Some(live) = live {
        live::set_live(state, &user.0, id, live).await?.drop_pages(state).await?;
    }
    Ok(())
}
