//! One error type for the web layer. Its response carries an [`ErrorPage`]
//! marker; [`render_error_pages`] turns it into the themed error page, so
//! handlers never build error HTML themselves.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// What went wrong, as the reader is told.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such page.
    #[error("not_found")]
    NotFound,
    /// The story was published once and has been taken down.
    #[error("gone")]
    Gone,
    /// The story was killed (withdrawn for legal reasons); the public note says why.
    #[error("withdrawn: {0}")]
    Withdrawn(String),
    /// The page lives at another path now (a renamed section, a merged tag): 301.
    #[error("moved to {0}")]
    Moved(String),
    /// The request is malformed; the message says how.
    #[error("bad_request: {0}")]
    BadRequest(String),
    /// The database is unavailable (an outage): 503 with `Retry-After`; the
    /// cause is counted in the outage log, never shown.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A failure of ours; the cause is logged, never shown.
    #[error("internal: {0}")]
    Internal(String),
}

/// Seconds a client is asked to wait (`Retry-After`) when the database is unavailable.
pub const RETRY_AFTER_SECS: u32 = 30;

/// The `Retry-After` header of a 503 for a database outage.
pub(crate) fn retry_after() -> (header::HeaderName, header::HeaderValue) {
    (header::RETRY_AFTER, header::HeaderValue::from(RETRY_AFTER_SECS))
}

impl From<newsdesk_storage::StoreError> for AppError {
    fn from(e: newsdesk_storage::StoreError) -> Self {
        if e.is_unavailable() { AppError::Unavailable(e.to_string()) } else { AppError::Internal(e.to_string()) }
    }
}

impl AppError {
    /// Whether the database was unavailable (an outage, not a fault of the request or ours).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AppError::Unavailable(_))
    }

    /// Logs a failure of a background task: an outage is counted in the
    /// process's outage log (logged once per interval), anything else is
    /// logged at once as a warning that `what` happened.
    pub fn warn(&self, what: &str) {
        match self {
            AppError::Unavailable(cause) => {
                newsdesk_storage::outage::log().failed(what, cause);
            }
            e => tracing::warn!(error = %e, "{what}"),
        }
    }
}

impl From<minijinja::Error> for AppError {
    fn from(e: minijinja::Error) -> Self {
        AppError::Internal(format!("template: {e:#}"))
    }
}

/// Marker on an error response, for the page renderer.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    /// Stable snake_case code (`not_found`, `gone`, `bad_request`, `method_not_allowed`, `unavailable`, `internal`).
    pub code: &'static str,
    /// Message safe to show.
    pub message: String,
    /// The public note of a withdrawn story (why it was withdrawn), as the desk wrote it.
    pub note: Option<String>,
}

impl AppError {
    fn parts(&self) -> (StatusCode, ErrorPage) {
        match self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorPage { code: "not_found", message: "There is no page at this address.".into(), note: None },
            ),
            AppError::Gone => (
                StatusCode::GONE,
                ErrorPage {
                    code: "gone",
                    message: "This story has been withdrawn and is no longer available.".into(),
                    note: None,
                },
            ),
            AppError::Withdrawn(note) => (
                StatusCode::GONE,
                ErrorPage {
                    code: "gone",
                    message: format!("This story has been withdrawn. {note}"),
                    note: Some(note.clone()).filter(|n| !n.trim().is_empty()),
                },
            ),
            AppError::Moved(_) => {
                (StatusCode::MOVED_PERMANENTLY, ErrorPage { code: "moved", message: String::new(), note: None })
            }
            AppError::BadRequest(m) => {
                (StatusCode::BAD_REQUEST, ErrorPage { code: "bad_request", message: m.clone(), note: None })
            }
            AppError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorPage {
                    code: "unavailable",
                    message: "This page cannot be shown right now: our database is unavailable. \
                              Please try again in a moment."
                        .into(),
                    note: None,
                },
            ),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorPage {
                    code: "internal",
                    message: "Something went wrong on our side. Please try again.".into(),
                    note: None,
                },
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Moved(to) = &self {
            return crate::editions::moved(to);
        }
        match &self {
            AppError::Internal(cause) => tracing::error!(%cause, "request failed"),
            AppError::Unavailable(cause) => {
                newsdesk_storage::outage::log().failed("a page", cause);
            }
            _ => {}
        }
        let (status, page) = self.parts();
        let mut res = (status, page.message.clone()).into_response();
        if self.is_unavailable() {
            res.headers_mut().extend([retry_after()]);
        }
        res.extensions_mut().insert(page);
        res
    }
}

/// Renders the themed page for error responses (ours, and the router's 405).
pub async fn render_error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_head = req.method() == axum::http::Method::HEAD;
    let is_api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let status = res.status();
    if is_api && status == StatusCode::METHOD_NOT_ALLOWED && res.extensions().get::<ErrorPage>().is_none() {
        // The APIs answer JSON, also for the router's own 405.
        let allow = res.headers().get(header::ALLOW).cloned();
        let body = serde_json::json!({
            "error": { "code": "method_not_allowed", "message": "This address does not accept that method." }
        });
        let mut out = (status, axum::Json(body)).into_response();
        if let Some(allow) = allow {
            out.headers_mut().insert(header::ALLOW, allow);
        }
        return out;
    }
    let page = match res.extensions().get::<ErrorPage>() {
        Some(p) => p.clone(),
        None if status == StatusCode::METHOD_NOT_ALLOWED => ErrorPage {
            code: "method_not_allowed",
            message: "This address does not accept that method.".into(),
            note: None,
        },
        None => return res,
    };
    let allow = res.headers().get(header::ALLOW).cloned();
    let retry = res.headers().get(header::RETRY_AFTER).cloned();
    let mut out = match crate::site::error_page(&state, status, &page).await {
        Ok(html) => {
            (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], if is_head { String::new() } else { html })
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot render the error page");
            (status, page.message).into_response()
        }
    };
    out.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    if let Some(retry) = retry {
        out.headers_mut().insert(header::RETRY_AFTER, retry);
    }
    out
}
