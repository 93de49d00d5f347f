//! The JSON API (`/api/v1/...`). Errors are JSON with a stable code and a message.

use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::AppState;

/// Routes of the JSON API.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/most-visited", get(most_visited))
}

/// An API error: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, code: "bad_request", message: message.into() }
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::NOT_FOUND, code: "not_found", message: message.into() }
    }
}

impl From<newsdesk_storage::StoreError> for ApiError {
    fn from(e: newsdesk_storage::StoreError) -> Self {
        tracing::error!(error = %e, "API request failed");
        ApiError { status: StatusCode::INTERNAL_SERVER_ERROR, code: "internal", message: "internal error".into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        (self.status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
    }
}

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

#[derive(Debug, Serialize)]
struct MostVisitedItem {
    news_id: i64,
    headline: String,
    url: String,
    views: i64,
}

#[derive(Debug, Serialize)]
struct MostVisited {
    window: &'static str,
    section: Option<String>,
    items: Vec<MostVisitedItem>,
}

async fn most_visited(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let q: MostVisitedQuery = serde_urlencoded_query(raw.as_deref().unwrap_or(""))?;
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
            url: crate::site::abs(&state, &s.path()),
            views,
        })
        .collect();
    let body = MostVisited { window: window.as_str(), section: q.section, items };
    Ok(([(header::CACHE_CONTROL, "public, max-age=30")], Json(body)).into_response())
}

fn serde_urlencoded_query<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let uri: axum::http::Uri =
        format!("/?{raw}").parse().map_err(|_| ApiError::bad_request("malformed query string"))?;
    axum::extract::Query::<T>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| ApiError::bad_request(format!("malformed query string: {}", e.body_text())))
}
