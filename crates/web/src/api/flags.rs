//! Spike, breaking news and the release of a scheduled story to the wire
//! through the write API, with the same commands as the back office
//! ([`crate::desk::spike`], [`crate::desk::breaking`], [`crate::desk::embargo`]).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use newsdesk_domain::dates;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::read::news_id_of;
use super::write::json_body;
use super::{ApiError, ApiUser, ErrorBody};
use crate::AppState;
use crate::desk::breaking::{self, BreakingUntil};
use crate::desk::{embargo, spike};

/// Whether a story is spiked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SpikeState {
    /// News ID.
    pub news_id: i64,
    /// Whether the story is spiked now.
    pub spiked: bool,
    /// When it was spiked (ISO 8601 in the edition's time zone).
    #[schema(format = DateTime)]
    pub spiked_at: Option<String>,
    /// When it will be purged unless unspiked before.
    #[schema(format = DateTime)]
    pub purge_after: Option<String>,
}

/// Until when a story is breaking news; both absent: the site's default (two hours).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakingRequest {
    /// The expiry, RFC 3339 with an offset (at most a week away).
    #[schema(format = DateTime, example = "2026-12-03T18:30:00+03:30")]
    pub expires_at: Option<String>,
    /// Or: minutes from now (1 to 10080).
    #[schema(minimum = 1, maximum = 10080, example = 120)]
    pub minutes: Option<i64>,
}

/// A story marked as breaking news.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Breaking {
    /// News ID.
    pub news_id: i64,
    /// Headline.
    pub headline: String,
    /// When it was marked (ISO 8601 in the edition's time zone).
    #[schema(format = DateTime)]
    pub started_at: String,
    /// When the banner goes.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// A scheduled story released to the wire ahead of its time.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WireRelease {
    /// News ID.
    pub news_id: i64,
    /// When it was released (ISO 8601 in the edition's time zone).
    #[schema(format = DateTime)]
    pub released_at: String,
    /// Its embargo: when it is published (ISO 8601 in the edition's time zone).
    #[schema(format = DateTime)]
    pub embargoed_until: String,
}

fn no_store<T: Serialize>(body: T) -> Response {
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

async fn spike_state(state: &AppState, news_id: i64) -> Result<Response, ApiError> {
    let (story, extras) = crate::desk::load(state, news_id).await?;
    let tz = crate::desk::edition_of(state, story.edition_id)?.time_zone;
    Ok(no_store(SpikeState {
        news_id,
        spiked: extras.spiked_at.is_some(),
        spiked_at: extras.spiked_at.map(|t| dates::iso8601(t, tz)),
        purge_after: extras.spiked_at.map(|t| dates::iso8601(spike::purge_time(state, t), tz)),
    }))
}

/// Spikes a story that was never published: it leaves every desk and list
/// until unspiked, and is purged after the site's `spike_expiry_days`.
#[utoipa::path(
    post,
    path = "/api/v1/stories/{id}/spike",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    responses(
        (status = 200, description = "The story is spiked", body = SpikeState),
        (status = 400, description = "The path is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A reporter's story of someone else, or outside the editor's sections",
            body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
        (status = 409, description = "The story is published (unpublish or kill it instead), scheduled, was \
            published once, or is spiked already", body = ErrorBody),
    )
)]
pub(super) async fn spike_story(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    spike::spike(&state, &user.0, id, Utc::now()).await?;
    spike_state(&state, id).await
}

/// Takes a story off the spike: it is listed again, back on its desk stage.
#[utoipa::path(
    post,
    path = "/api/v1/stories/{id}/unspike",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    responses(
        (status = 200, description = "The story is not spiked any more", body = SpikeState),
        (status = 400, description = "The path is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "A reporter's story of someone else, or outside the editor's sections",
            body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
        (status = 409, description = "The story is not spiked", body = ErrorBody),
    )
)]
pub(super) async fn unspike_story(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    spike::unspike(&state, &user.0, id, Utc::now()).await?;
    spike_state(&state, id).await
}

/// Marks a published story as breaking news (editors): a banner on every
/// page of its edition, on every node within a second, until the expiry.
#[utoipa::path(
    post,
    path = "/api/v1/stories/{id}/breaking",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    request_body(content = Option<BreakingRequest>, description = "Optional; `expires_at` or `minutes` \
        (default: two hours)"),
    responses(
        (status = 200, description = "The story is breaking news until `expires_at`", body = Breaking),
        (status = 400, description = "The body is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not publish, or the story is outside the editor's sections",
            body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
        (status = 409, description = "The story is not published", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "The expiry is refused (past, more than a week away, both fields given)",
            body = ErrorBody),
    )
)]
pub(super) async fn mark_breaking(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    let req: BreakingRequest = match &body {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => BreakingRequest::default(),
        _ => json_body(&headers, body)?,
    };
    let until = match (req.expires_at, req.minutes) {
        (Some(_), Some(_)) => return Err(ApiError::invalid("send expires_at or minutes, not both")),
        (Some(at), None) => BreakingUntil::At(at),
        (None, Some(m)) => BreakingUntil::Minutes(m),
        (None, None) => BreakingUntil::Default,
    };
    let item = breaking::mark(&state, &user.0, id, &until, Utc::now()).await?;
    let tz = crate::desk::edition_of(&state, item.edition_id)?.time_zone;
    Ok(no_store(Breaking {
        news_id: item.news_id,
        headline: item.headline,
        started_at: dates::iso8601(item.started_at, tz),
        expires_at: dates::iso8601(item.expires_at, tz),
    }))
}

/// Clears a story's breaking-news mark (editors); the banner leaves every node within a second.
#[utoipa::path(
    delete,
    path = "/api/v1/stories/{id}/breaking",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    responses(
        (status = 204, description = "The story is not breaking news (any more)"),
        (status = 400, description = "The path is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not publish, or the story is outside the editor's sections",
            body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
    )
)]
pub(super) async fn clear_breaking(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    breaking::clear(&state, &user.0, id).await?;
    Ok((StatusCode::NO_CONTENT, [(header::CACHE_CONTROL, "no-store")]).into_response())
}

/// Releases a scheduled story to the wire before its time (editors):
/// subscribers that take embargoed copy get it now (pull and webhooks), with
/// `embargoed` set to its scheduled time; every public page, feed, sitemap,
/// search and API shows nothing of it until the scheduler publishes it.
#[utoipa::path(
    post,
    path = "/api/v1/stories/{id}/release",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    responses(
        (status = 200, description = "The story is released to the wire", body = WireRelease),
        (status = 400, description = "The path is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not publish, or the story is outside the editor's sections",
            body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
        (status = 409, description = "The story is not scheduled, is spiked, or is released already",
            body = ErrorBody),
    )
)]
pub(super) async fn release_story(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    let changed = embargo::release(&state, &user.0, id, Utc::now()).await?;
    changed.drop_pages(&state).await?;
    let release = embargo::release_of(&state, id)
        .await?
        .ok_or_else(|| crate::desk::DeskError::conflict(format!("Story {id} left the schedule meanwhile.")))?;
    let (story, _) = crate::desk::load(&state, id).await?;
    let tz = crate::desk::edition_of(&state, story.edition_id)?.time_zone;
    Ok(no_store(WireRelease {
        news_id: id,
        released_at: dates::iso8601(release.released_at, tz),
        embargoed_until: dates::iso8601(release.embargo_until, tz),
    }))
}
