//! Rendering back-office pages: the shared frame (navigation by role, the
//! user, the CSRF token), the stylesheet and script, the dashboard.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::Value;
use newsdesk_domain::roles::Permission;
use serde::Serialize;

use super::{AdminError, Staff};
use crate::AppState;

const ADMIN_CSS: &str = include_str!("../../static/admin.css");
const ADMIN_JS: &str = include_str!("../../static/admin.js");
/// The story editor's toolbar, shortcuts, paste cleaning, counters and photo/embed dialogs.
const EDITOR_JS: &str = include_str!("../../static/editor.js");

#[derive(Debug, Serialize)]
struct NavLink {
    name: &'static str,
    url: &'static str,
}

/// The back-office menu entries `staff` may use.
fn nav(staff: &Staff) -> Vec<NavLink> {
    // A slice, not an array: adding an entry does not change a count.
    let entries: &[(&'static str, &'static str, Permission)] = &[
        ("Stories", "/admin/stories", Permission::WriteStories),
        ("Search", "/admin/search", Permission::WriteStories),
        ("Ingest", "/admin/ingest", Permission::WriteStories),
        ("Desks", "/admin/desks", Permission::WriteStories),
        ("Routing", "/admin/routing", Permission::ManageDesks),
        ("Breaking", "/admin/breaking", Permission::Publish),
        ("Fronts", "/admin/fronts", Permission::Publish),
        ("New story", "/admin/stories/new", Permission::WriteStories),
        ("Comments", "/admin/comments", Permission::ModerateComments),
        ("Media", "/admin/media", Permission::UploadMedia),
        ("Galleries", "/admin/galleries", Permission::UploadMedia),
        ("Sections", "/admin/sections", Permission::ManageSections),
        ("Tags", "/admin/tags", Permission::ManageSections),
        ("Editions", "/admin/editions", Permission::ManageEditions),
        ("Users", "/admin/users", Permission::ManageUsers),
        ("Subscribers", "/admin/subscribers", Permission::ManageSubscribers),
        ("Sources", "/admin/ingest/sources", Permission::ManageSubscribers),
        ("Audit log", "/admin/audit", Permission::ViewAudit),
    ];
    entries.iter().filter(|(_, _, p)| staff.can(*p)).map(|&(name, url, _)| NavLink { name, url }).collect()
}

fn frame(state: &AppState, staff: Option<&Staff>, title: &str, main: Value) -> Value {
    let site_name = state.default_edition().map(|e| e.name).unwrap_or_else(|| "newsdesk".into());
    minijinja::context! {
        admin => minijinja::context! {
            title => title,
            site_name => site_name,
            css_href => format!("/admin/static/admin.css?v={}", &crate::site::content_hash(ADMIN_CSS.as_bytes())[..12]),
            js_href => format!("/admin/static/admin.js?v={}", &crate::site::content_hash(ADMIN_JS.as_bytes())[..12]),
            editor_js_href => format!("/admin/static/editor.js?v={}", &crate::site::content_hash(EDITOR_JS.as_bytes())[..12]),
            user => staff.map(|s| minijinja::context! { email => s.email, name => s.name, role => s.role.as_str() }),
            csrf => staff.map(|s| s.csrf.clone()),
            nav => staff.map(nav).unwrap_or_default(),
            notice => staff.and_then(|s| s.notice).map(|n| n.text()),
        },
        ..main
    }
}

/// Renders back-office template `name` for a logged-in user.
pub(super) fn render(
    state: &AppState,
    staff: &Staff,
    name: &str,
    title: &str,
    main: Value,
) -> Result<Html<String>, AdminError> {
    Ok(Html(state.templates.render(name, frame(state, Some(staff), title, main))?))
}

/// Renders a back-office template for nobody in particular (the login form).
pub(super) fn render_anonymous(
    state: &AppState,
    name: &str,
    title: &str,
    main: Value,
) -> Result<Html<String>, AdminError> {
    Ok(Html(state.templates.render(name, frame(state, None, title, main))?))
}

/// A page with one message (errors, confirmations).
pub(super) fn message(
    state: &AppState,
    staff: Option<&Staff>,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Result<Response, AdminError> {
    let html = state.templates.render(
        "admin/message.html",
        frame(state, staff, title, minijinja::context! { text => text, status => status.as_u16() }),
    )?;
    Ok((status, Html(html)).into_response())
}

/// `GET /admin/static/admin.css`.
pub(super) async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        ADMIN_CSS,
    )
        .into_response()
}

/// `GET /admin/static/admin.js`.
pub(super) async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        ADMIN_JS,
    )
        .into_response()
}

/// `GET /admin/static/editor.js`.
pub(super) async fn editor_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        EDITOR_JS,
    )
        .into_response()
}

/// `GET /admin/`: the dashboard lives at `/admin` (the login, if needed, is asked there).
pub(super) async fn to_dashboard() -> Redirect {
    Redirect::permanent("/admin")
}

/// `GET /admin`: what waits for this user.
pub(super) async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DashboardQuery>,
) -> Result<Html<String>, AdminError> {
    let counts = state.store.desk_counts().await?;
    // After accepting an invite: the new user lands here, signed in.
    let welcome = q.welcome.as_deref() == Some("1");
    let ctx = minijinja::context! { counts => counts, welcome => welcome, name => staff.name.clone() };
    render(&state, &staff, "admin/dashboard.html", "Desk", ctx)
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct DashboardQuery {
    welcome: Option<String>,
}
