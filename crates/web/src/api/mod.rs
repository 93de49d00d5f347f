//! The JSON API (`/api/v1/...`): a public read API for apps (stories,
//! sections, tags, authors, most visited, search) and a write API for the
//! newsroom with personal tokens (create, update, workflow, edit locks).
//!
//! Every route is registered together with its OpenAPI description
//! (`utoipa_axum::routes!`), so the document at `/api/v1/openapi.json` is built
//! from the same table as the router and cannot drift from it. Errors are
//! JSON `{"error": {"code": "...", "message": "..."}}` with a stable code.

mod auth;
mod flags;
mod fronts;
mod live;
mod most_visited;
mod read;
mod write;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::ApiUser;
pub use most_visited::Window;

use crate::AppState;

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// Largest request body of the write API: the editor's 500,000-character body
/// in UTF-8, with room for the other fields and JSON escaping.
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// The OpenAPI document's fixed parts; the paths and schemas are added by
/// [`routes`] from the handlers' `#[utoipa::path]` attributes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "newsdesk JSON API",
        description = "Read API for apps (public, no key) and write API for the newsroom (personal API tokens, \
                       made with `newsdesk user token EMAIL`). Errors are `{\"error\": {\"code\", \"message\"}}`.",
        version = "1"
    ),
    paths(search_doc),
    components(schemas(ErrorBody, ErrorDetail, ErrorCode, SearchResults, SearchHit)),
    modifiers(&BearerScheme),
    tags(
        (name = "read", description = "Published content; public, cached briefly"),
        (name = "write", description = "The newsroom: needs `Authorization: Bearer ndt_...`")
    )
)]
struct ApiDoc;

/// Adds the `bearer` security scheme the write endpoints name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.description = Some("A personal API token (`ndt_...`) made with `newsdesk user token EMAIL`.".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

/// Every `/api/v1` route with its description: the one list the router and the document are built from.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(read::list_stories, write::create_story))
        .routes(routes!(read::one_story, write::update_story))
        .routes(routes!(write::publish_story))
        .routes(routes!(write::story_workflow))
        .routes(routes!(write::lock_story, write::unlock_story))
        .routes(routes!(write::correct_story))
        .routes(routes!(flags::spike_story))
        .routes(routes!(flags::unspike_story))
        .routes(routes!(flags::mark_breaking, flags::clear_breaking))
        .routes(routes!(flags::release_story))
        .routes(routes!(live::add_update))
        .routes(routes!(live::edit_update, live::delete_update))
        .routes(routes!(read::sections))
        .routes(routes!(read::tags))
        .routes(routes!(read::authors))
        .routes(routes!(most_visited::most_visited))
        .routes(routes!(fronts::get_front, fronts::put_front))
}

/// The OpenAPI 3.1 document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// Routes of the JSON API, with `/api/v1/openapi.json`. (`/api/v1/search` is
/// served by [`crate::search`] and described here.)
pub fn router() -> Router<AppState> {
    let (router, doc) = routes().split_for_parts();
    let json: Arc<String> = Arc::new(doc.to_json().unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialize the OpenAPI document");
        "{}".into()
    }));
    router.layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)).route(
        OPENAPI_PATH,
        get(move || {
            let json = json.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "public, max-age=300")],
                    json.as_str().to_owned(),
                )
            }
        }),
    )
}

// ----- errors -----

/// A stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A query parameter or the body is malformed (400).
    BadRequest,
    /// No token, or a token that is unknown, revoked or of a deactivated user (401).
    Unauthorized,
    /// The token's user may not do this (403).
    Forbidden,
    /// No such thing (404).
    NotFound,
    /// The story was published once and has been unpublished or killed (410).
    Gone,
    /// The story changed since the version sent, or is in a state that does not allow this (409).
    Conflict,
    /// The body is well-formed but its values are refused; the message lists why (422).
    Invalid,
    /// The body is larger than the API accepts (413).
    PayloadTooLarge,
    /// The body is not JSON (415).
    UnsupportedMediaType,
    /// The feature is not available on this server, or the database is
    /// unavailable for now (503, with `Retry-After` then).
    Unavailable,
    /// A failure of ours; logged, never detailed (500).
    Internal,
}

/// The body of every error answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code, for programs.
    pub code: ErrorCode,
    /// Explanation, for people.
    pub message: String,
}

/// An API error: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, message)
    }

    fn gone(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::GONE, ErrorCode::Gone, message)
    }

    fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message)
    }

    fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
    }

    fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::Invalid, message)
    }

    fn internal() -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "internal error")
    }

    /// The database is unavailable: 503 with `Retry-After`; counted in the outage log.
    fn unavailable(cause: &dyn std::fmt::Display) -> ApiError {
        newsdesk_storage::outage::log().failed("an API request", cause);
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "the database is unavailable right now; try again later",
        )
    }
}

impl From<newsdesk_storage::StoreError> for ApiError {
    fn from(e: newsdesk_storage::StoreError) -> Self {
        use newsdesk_storage::StoreError;
        match e {
            StoreError::Invalid(m) => ApiError::invalid(m),
            StoreError::Conflict { field } => ApiError::invalid(format!("{field} is already taken")),
            e @ StoreError::Stale { .. } => ApiError::conflict(e.to_string()),
            e if e.is_unavailable() => ApiError::unavailable(&e),
            other => {
                tracing::error!(error = %other, "API request failed");
                ApiError::internal()
            }
        }
    }
}

/// The desk's errors as API answers, with the statuses the API documents.
impl From<crate::desk::DeskError> for ApiError {
    fn from(e: crate::desk::DeskError) -> Self {
        use crate::desk::DeskError;
        match e {
            DeskError::NotFound(m) => ApiError::not_found(m),
            DeskError::Forbidden(m) => ApiError::forbidden(m),
            DeskError::Conflict { message, .. } => ApiError::conflict(message),
            DeskError::Invalid(errors) => ApiError::invalid(crate::desk::join(&errors, " ")),
            DeskError::Unavailable(cause) => ApiError::unavailable(&cause),
            DeskError::Internal(cause) => {
                tracing::error!(error = %cause, "API request failed");
                ApiError::internal()
            }
        }
    }
}

impl From<crate::AppError> for ApiError {
    fn from(e: crate::AppError) -> Self {
        if e.is_unavailable() {
            return ApiError::unavailable(&e);
        }
        tracing::error!(error = %e, "API request failed");
        ApiError::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code, message: self.message } };
        let mut res = (self.status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        if self.code == ErrorCode::Unavailable {
            res.headers_mut().extend([crate::error::retry_after()]);
        }
        res
    }
}

/// Reads a query string into `T` (unknown parameters are refused by `T`'s `deny_unknown_fields`).
fn parse_query<T: serde::de::DeserializeOwned>(raw: Option<&str>) -> Result<T, ApiError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
}

// ----- search (served by crate::search, described here) -----

/// A page of search results.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    /// The query as understood (trimmed).
    pub query: String,
    /// Language of the edition searched.
    pub edition: String,
    /// Number of matching stories.
    pub total: u64,
    /// This page, from 1.
    pub page: u64,
    /// Hits per page.
    pub per_page: u64,
    /// Number of pages.
    pub pages: u64,
    /// Hits, best first.
    pub items: Vec<SearchHit>,
}

/// One search hit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchHit {
    /// News ID.
    pub news_id: i64,
    /// Canonical URL of the story page.
    pub url: String,
    /// Headline, plain text.
    pub headline: String,
    /// Headline with the matched words in `<b>` (escaped HTML).
    pub headline_html: String,
    /// A passage with the matched words in `<b>` (escaped HTML).
    pub snippet_html: String,
    /// Section path.
    pub section: Option<String>,
    /// Publish time, ISO 8601 with the edition's offset.
    pub published: String,
    /// Time of the last public update, if any.
    pub updated: Option<String>,
}

/// Full-text search over published stories.
#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "read",
    params(
        ("q" = String, Query, description = "The words to find (at most 300 characters)", min_length = 1, max_length = 300),
        ("section" = Option<String>, Query, description = "A section path; its subsections count too"),
        ("from" = Option<String>, Query, format = Date, description = "First day, YYYY-MM-DD in the edition's time zone"),
        ("to" = Option<String>, Query, format = Date, description = "Last day (included), YYYY-MM-DD"),
        ("page" = Option<u32>, Query, description = "Page, 1 to 100", minimum = 1, maximum = 100),
        ("edition" = Option<String>, Query, description = "Edition language (default: the default edition)"),
    ),
    responses(
        (status = 200, description = "Hits, best first", body = SearchResults),
        (status = 400, description = "A parameter is malformed or q is missing", body = ErrorBody),
        (status = 404, description = "No such edition", body = ErrorBody),
        (status = 503, description = "Search is not available on this server", body = ErrorBody),
    )
)]
#[expect(dead_code, reason = "describes the route that crate::search serves")]
fn search_doc() {}
