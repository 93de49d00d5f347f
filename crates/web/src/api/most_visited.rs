//! `/api/v1/most-visited`: the ranking behind the "most visited" box.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, ErrorBody, parse_query};
use crate::AppState;

/// A ranking window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last 24 hours.
    Day,
    /// The last 7 days.
    Week,
    /// The last 30 days.
    Month,
}

impl Window {
    /// Reads `24h`, `7d` or `30d`.
    pub fn parse(s: &str) -> Option<Window> {
        match s {
            "24h" => Some(Window::Day),
            "7d" => Some(Window::Week),
            "30d" => Some(Window::Month),
            _ => None,
        }
    }

    /// The URL form.
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Day => "24h",
            Window::Week => "7d",
            Window::Month => "30d",
        }
    }

    /// The window's length.
    pub fn duration(self) -> Duration {
        match self {
            Window::Day => Duration::hours(24),
            Window::Week => Duration::days(7),
            Window::Month => Duration::days(30),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MostVisitedQuery {
    window: Option<String>,
    section: Option<String>,
    limit: Option<String>,
}

/// A story in the ranking.
#[derive(Debug, Serialize, ToSchema)]
pub struct MostVisitedItem {
    /// News ID.
    news_id: i64,
    /// Headline.
    headline: String,
    /// Canonical URL of the story page.
    #[schema(format = "uri")]
    url: String,
    /// Views counted in the window.
    views: i64,
}

/// The most visited published stories of a window.
#[derive(Debug, Serialize, ToSchema)]
pub struct MostVisited {
    /// The window: `24h`, `7d` or `30d`.
    #[schema(value_type = String, example = "24h")]
    window: &'static str,
    /// The section path asked for, if any.
    section: Option<String>,
    /// Most viewed first.
    items: Vec<MostVisitedItem>,
}

/// The most visited published stories of the last 24 hours, 7 or 30 days.
#[utoipa::path(
    get,
    path = "/api/v1/most-visited",
    tag = "read",
    params(
        ("window" = Option<String>, Query, description = "`24h` (default), `7d` or `30d`",
            pattern = "^(24h|7d|30d)$"),
        ("section" = Option<String>, Query, description = "A section path; its subsections count too"),
        ("limit" = Option<i64>, Query, description = "How many, 1 to 100 (default 10)", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, description = "The ranking", body = MostVisited),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 404, description = "No such section", body = ErrorBody),
    )
)]
pub(super) async fn most_visited(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let q: MostVisitedQuery = parse_query(raw.as_deref())?;
    let window = match q.window.as_deref() {
        None => Window::Day,
        Some(w) => Window::parse(w)
            .ok_or_else(|| ApiError::bad_request(format!("window must be 24h, 7d or 30d, found `{w}`")))?,
    };
    let limit = match q.limit.as_deref() {
        None => 10,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("limit must be an integer from 1 to 100, found `{l}`")))?,
    };
    let edition = crate::site::edition(&state);
    if let Some(path) = &q.section {
        let sections = state.store.sections(edition.id).await?;
        if !sections.iter().any(|s| &s.path == path) {
            return Err(ApiError::not_found(format!("there is no section `{path}`")));
        }
    }
    let ranked =
        state.store.most_visited(edition.id, q.section.as_deref(), Utc::now() - window.duration(), limit).await?;
    let items = ranked
        .into_iter()
        .map(|(s, views)| MostVisitedItem {
            news_id: s.news_id,
            headline: s.headline.clone(),
            url: super::read::page_url(&state, &edition, &s.path()),
            views,
        })
        .collect();
    let body = MostVisited { window: window.as_str(), section: q.section, items };
    Ok(([(header::CACHE_CONTROL, "public, max-age=30")], Json(body)).into_response())
}
