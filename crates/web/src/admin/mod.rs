//! The back office at `/admin`: accounts, the story desk, users and the audit log.
//!
//! Every route is declared in one table (`table`) with the [`Permission`] it
//! needs, and the table both builds the router and lists the routes for the
//! role-matrix test: a route cannot be added without saying who may use it.
//! Sessions and CSRF are checked for all routes by [`auth::session_layer`].

mod agency;
pub mod auth;
mod comments;
mod desks;
mod editions;
mod flags;
mod framing;
mod fronts;
mod galleries;
mod ingest;
mod live;
mod locks;
mod media;
mod newsroom_search;
mod notice;
mod page;
mod routing;
mod sources;
mod stories;
mod story_preview;
mod subscribers;
mod taxonomy;
mod tokens;
mod users;

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use newsdesk_domain::roles::Permission;

pub use auth::{Staff, hash_password};

use crate::AppState;

/// What went wrong in the back office.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Not logged in: 401 with the login form.
    #[error("login required")]
    LoginRequired,
    /// Logged in, but the role may not do this: 403.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request did not come from our own page or lacks the session's token: 403.
    #[error("csrf")]
    Csrf,
    /// No such thing: 404.
    #[error("not found")]
    NotFound,
    /// Malformed input; the message says how: 400.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The save was based on an old version, or the transition is not allowed now: 409.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database is unavailable (an outage): 503 with `Retry-After`.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A failure of ours; logged, never shown: 500.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<newsdesk_storage::StoreError> for AdminError {
    fn from(e: newsdesk_storage::StoreError) -> Self {
        match e {
            newsdesk_storage::StoreError::Invalid(m) => AdminError::BadRequest(m),
            newsdesk_storage::StoreError::Conflict { field } => {
                AdminError::Conflict(format!("{field} is already taken"))
            }
            e if e.is_unavailable() => AdminError::Unavailable(e.to_string()),
            other => AdminError::Internal(other.to_string()),
        }
    }
}

/// The desk's errors as back-office answers (a refused form is rendered by
/// its handler instead: the editor keeps what was typed).
impl From<crate::desk::DeskError> for AdminError {
    fn from(e: crate::desk::DeskError) -> Self {
        use crate::desk::DeskError;
        match e {
            DeskError::NotFound(_) => AdminError::NotFound,
            DeskError::Forbidden(m) => AdminError::Forbidden(m),
            DeskError::Conflict { message, .. } => AdminError::Conflict(message),
            DeskError::Invalid(errors) => AdminError::BadRequest(crate::desk::join(&errors, " ")),
            DeskError::Unavailable(cause) => AdminError::Unavailable(cause),
            DeskError::Internal(cause) => AdminError::Internal(cause),
        }
    }
}

impl From<crate::AppError> for AdminError {
    fn from(e: crate::AppError) -> Self {
        if e.is_unavailable() { AdminError::Unavailable(e.to_string()) } else { AdminError::Internal(e.to_string()) }
    }
}

impl From<minijinja::Error> for AdminError {
    fn from(e: minijinja::Error) -> Self {
        AdminError::Internal(format!("template: {e:#}"))
    }
}

/// Marker on an error response, for [`render_errors`].
#[derive(Debug, Clone)]
struct ErrorMarker {
    login: bool,
    message: String,
}

impl AdminError {
    fn status(&self) -> StatusCode {
        match self {
            AdminError::LoginRequired => StatusCode::UNAUTHORIZED,
            AdminError::Forbidden(_) | AdminError::Csrf => StatusCode::FORBIDDEN,
            AdminError::NotFound => StatusCode::NOT_FOUND,
            AdminError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> String {
        match self {
            AdminError::LoginRequired => "Please log in.".into(),
            AdminError::Forbidden(m) | AdminError::BadRequest(m) | AdminError::Conflict(m) => m.clone(),
            AdminError::Csrf => "This form was not sent from this site's own page or has expired. \
                                 Reload the page and try again."
                .into(),
            AdminError::NotFound => "There is nothing at this address.".into(),
            AdminError::Unavailable(_) => "The database is unavailable right now, so nothing can be read or saved. \
                                           Please try again in a moment."
                .into(),
            AdminError::Internal(_) => "Something went wrong on our side. Please try again.".into(),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match &self {
            AdminError::Internal(cause) => tracing::error!(%cause, "back-office request failed"),
            AdminError::Unavailable(cause) => {
                newsdesk_storage::outage::log().failed("a back-office request", cause);
            }
            _ => {}
        }
        let message = self.message();
        let mut res = (self.status(), message.clone()).into_response();
        if matches!(self, AdminError::Unavailable(_)) {
            res.headers_mut().extend([crate::error::retry_after()]);
        }
        res.extensions_mut().insert(ErrorMarker { login: matches!(self, AdminError::LoginRequired), message });
        res
    }
}

/// Renders error responses as back-office pages: the login form for 401.
async fn render_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let wanted = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let wants_html = !req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("application/json"));
    let res = next.run(req).await;
    let staff = res.extensions().get::<Staff>().cloned();
    let Some(marker) = res.extensions().get::<ErrorMarker>().cloned() else { return res };
    let status = res.status();
    let retry = res.headers().get(header::RETRY_AFTER).cloned();
    let mut out = render_error(&state, staff.as_ref(), status, &marker, wanted, wants_html);
    if let Some(retry) = retry {
        out.headers_mut().insert(header::RETRY_AFTER, retry);
    }
    out
}

/// The back office's answer for an error response: JSON, the login form, or a message page.
fn render_error(
    state: &AppState,
    staff: Option<&Staff>,
    status: StatusCode,
    marker: &ErrorMarker,
    wanted: String,
    wants_html: bool,
) -> Response {
    if !wants_html {
        let body = serde_json::json!({ "error": { "code": status.as_u16(), "message": marker.message } });
        return (status, axum::Json(body)).into_response();
    }
    let rendered = if marker.login {
        let next = if wanted.starts_with("/admin/login") { "/admin".to_string() } else { wanted };
        auth::login_form(state, axum_extra::extract::CookieJar::new(), status, &next, "", Some("Please log in."))
    } else {
        page::message(state, staff, status, "Not possible", &marker.message)
    };
    rendered.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot render the back-office error page");
        (status, marker.message.clone()).into_response()
    })
}

/// A back-office route: method, path (axum syntax) and who may use it
/// (`None`: anybody, e.g. the login form).
#[derive(Debug, Clone)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: Method,
    /// Path, with `{param}` placeholders.
    pub path: &'static str,
    /// Permission needed.
    pub permission: Option<Permission>,
}

/// The route table under construction.
struct Table {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl Table {
    fn add<H, T>(mut self, method: Method, path: &'static str, permission: Option<Permission>, handler: H) -> Table
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let route: MethodRouter<AppState> = match method {
            Method::GET => axum::routing::get(handler),
            Method::POST => axum::routing::post(handler),
            ref other => panic!("back-office routes are GET or POST, not {other}"),
        };
        let route = match permission {
            Some(p) => route.route_layer(middleware::from_fn(move |req: Request, next: Next| require(p, req, next))),
            None => route,
        };
        self.router = self.router.route(path, route);
        self.specs.push(RouteSpec { method, path, permission });
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, p: Permission, h: H) -> Table {
        self.add(Method::GET, path, Some(p), h)
    }

    fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, p: Permission, h: H) -> Table {
        self.add(Method::POST, path, Some(p), h)
    }
}

/// Refuses a request whose user lacks `p` (401 when nobody is logged in).
async fn require(p: Permission, req: Request, next: Next) -> Response {
    match req.extensions().get::<Staff>() {
        None => AdminError::LoginRequired.into_response(),
        Some(staff) if !staff.can(p) => {
            AdminError::Forbidden(format!("Your role ({}) may not do this.", staff.role)).into_response()
        }
        Some(_) => next.run(req).await,
    }
}

/// Every back-office route with its permission.
fn table() -> Table {
    use Permission::*;
    let t = Table { router: Router::new(), specs: Vec::new() };
    let t = t
        .add(Method::GET, "/admin/login", None, auth::login_page)
        .add(Method::POST, "/admin/login", None, auth::login)
        .add(Method::GET, "/admin/static/admin.css", None, page::css)
        .add(Method::GET, "/admin/static/admin.js", None, page::js)
        .add(Method::GET, "/admin/static/editor.js", None, page::editor_js)
        .add(Method::GET, "/admin/", None, page::to_dashboard)
        .get("/admin", UseBackOffice, page::dashboard)
        .post("/admin/logout", UseBackOffice, auth::logout)
        .post("/admin/logout-everywhere", UseBackOffice, auth::logout_everywhere)
        .get("/admin/account", UseBackOffice, auth::account_page)
        .post("/admin/account/password", UseBackOffice, auth::change_password);
    let t = stories::routes(t);
    let t = story_preview::routes(t);
    let t = agency::routes(t);
    let t = flags::routes(t);
    let t = newsroom_search::routes(t);
    let t = ingest::routes(t);
    let t = sources::routes(t);
    let t = locks::routes(t);
    let t = live::routes(t);
    let t = desks::routes(t);
    let t = routing::routes(t);
    let t = fronts::routes(t);
    let t = subscribers::routes(t);
    let t = taxonomy::routes(t);
    let t = editions::routes(t);
    let t = media::routes(t);
    let t = galleries::routes(t);
    let t = framing::routes(t);
    let t = comments::routes(t);
    let t = tokens::routes(t);
    users::routes(t)
}

/// The routes of the back office, for tests and documentation.
pub fn route_specs() -> Vec<RouteSpec> {
    table().specs
}

/// The back office router, with sessions, CSRF and error pages.
pub fn router(state: AppState) -> Router<AppState> {
    table()
        .router
        .layer(middleware::from_fn_with_state(state.clone(), auth::session_layer))
        .layer(middleware::from_fn_with_state(state, render_errors))
}
