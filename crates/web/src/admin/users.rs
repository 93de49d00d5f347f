//! Users (invite, role, deactivate), invite links, and the audit log.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use chrono::{Duration, Utc};
use newsdesk_domain::dates;
use newsdesk_domain::model::Section;
use newsdesk_domain::roles::{self, Permission, Role};
use newsdesk_storage::{AuditEntry, NewUser, StoreError};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::auth::random_token;
use super::notice::Notice;
use super::{AdminError, Staff, Table, page};
use crate::AppState;

/// How long an invite link works.
const INVITE_VALID: Duration = Duration::days(7);

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/users", ManageUsers, list)
        .post("/admin/users", ManageUsers, create)
        .post("/admin/users/{id}/role", ManageUsers, set_role)
        .post("/admin/users/{id}/active", ManageUsers, set_active)
        .post("/admin/users/{id}/invite", ManageUsers, reinvite)
        .post("/admin/users/{id}/sections", ManageUsers, set_sections)
        .get("/admin/audit", ViewAudit, audit)
        .add(axum::http::Method::GET, "/admin/invite/{token}", None, invite_page)
        .add(axum::http::Method::POST, "/admin/invite/{token}", None, accept_invite)
}

fn tz(state: &AppState) -> chrono_tz::Tz {
    state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    invite: Option<String>,
}

async fn render_list(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    error: Option<String>,
    invite_link: Option<String>,
) -> Result<Response, AdminError> {
    let tz = tz(state);
    let mut editions = Vec::new();
    for e in state.editions.load().iter() {
        editions.push((e.clone(), state.store.sections(e.id).await?));
    }
    let mut users = Vec::new();
    for u in state.store.users().await? {
        let assigned = state.store.user_sections(u.id).await?;
        let trees: Vec<_> = editions
            .iter()
            .filter(|(_, sections)| !sections.is_empty())
            .map(|(e, sections)| {
                minijinja::context! {
                    name => e.name, lang => e.lang, dir => e.direction.as_str(),
                    sections => section_tree(sections, None, &assigned),
                }
            })
            .collect();
        let chosen = editions
            .iter()
            .flat_map(|(_, sections)| sections.iter())
            .filter(|s| assigned.contains(&s.id))
            .map(|s| s.name.clone())
            .collect::<Vec<_>>();
        users.push(minijinja::context! {
            id => u.id, email => u.email, name => u.name, role => u.role.as_str(), active => u.active,
            created => dates::format_long(u.created_at, tz), me => u.id == staff.user_id,
            editions => trees, all_sections => assigned.is_empty(), chosen => chosen,
        });
    }
    let html = page::render(
        state,
        staff,
        "admin/users.html",
        "Users",
        minijinja::context! {
            users => users, roles => Role::ALL.map(Role::as_str), error => error, invite_link => invite_link,
        },
    )?;
    Ok((status, html).into_response())
}

/// The sections under `parent` (top level: `None`) as a tree of checkboxes
/// values, in navigation order.
fn section_tree(sections: &[Section], parent: Option<i64>, assigned: &[i64]) -> Vec<minijinja::Value> {
    let mut children: Vec<&Section> = sections.iter().filter(|s| s.parent_id == parent).collect();
    children.sort_by(|a, b| a.position.cmp(&b.position).then_with(|| a.name.cmp(&b.name)));
    children
        .into_iter()
        .map(|s| {
            minijinja::context! {
                id => s.id, name => s.name, path => s.path, selected => assigned.contains(&s.id),
                children => section_tree(sections, Some(s.id), assigned),
            }
        })
        .collect()
}

async fn list(State(state): State<AppState>, staff: Staff, Query(q): Query<ListQuery>) -> Result<Response, AdminError> {
    // The one-time link is shown once, right after it was made (it is in the
    // admin's own address bar only; it is not stored in clear anywhere).
    let link = q.invite.filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    let link = link.map(|t| format!("{}/admin/invite/{t}", state.config.public_url));
    render_list(&state, &staff, StatusCode::OK, None, link).await
}

#[derive(Debug, Deserialize)]
pub(super) struct NewUserForm {
    email: String,
    #[serde(default)]
    name: String,
    role: String,
}

/// Creates an invite for `user_id`; returns the token.
async fn make_invite(state: &AppState, user_id: i64, audit: Option<&AuditEntry>) -> Result<String, AdminError> {
    let token = random_token();
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    state.store.create_invite(&hash, user_id, Utc::now() + INVITE_VALID, audit).await?;
    Ok(token)
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<NewUserForm>,
) -> Result<Response, AdminError> {
    let bad = |m: String| render_list(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(m), None);
    let email = match roles::normalize_email(&form.email) {
        Ok(e) => e,
        Err(m) => return bad(format!("{m}.")).await,
    };
    let role: Role = match form.role.parse() {
        Ok(r) => r,
        Err(e) => return bad(format!("{e}.")).await,
    };
    let name = form.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.chars().count() > 80 {
        return bad("The name is longer than 80 characters.".into()).await;
    }
    let name = if name.is_empty() { email.split('@').next().unwrap_or_default().to_string() } else { name };
    let user = match state
        .store
        .create_user(
            &NewUser { email: email.clone(), name, role, password_hash: String::new() },
            Utc::now(),
            &staff.audit("user.create", "user", "", format!("{email} as {role}")),
        )
        .await
    {
        Ok(u) => u,
        Err(StoreError::Conflict { .. }) => return bad(format!("There is already a user {email}.")).await,
        Err(e) => return Err(e.into()),
    };
    let token = make_invite(&state, user.id, None).await?;
    Ok(Redirect::to(&format!("/admin/users?invite={token}")).into_response())
}

async fn reinvite(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, AdminError> {
    let user = user_of(&state, &id).await?;
    let token = make_invite(&state, user.id, Some(&staff.audit("user.invite", "user", user.id, &user.email))).await?;
    Ok(Redirect::to(&format!("/admin/users?invite={token}")).into_response())
}

async fn user_of(state: &AppState, id: &str) -> Result<newsdesk_storage::User, AdminError> {
    let id = id.parse::<i64>().map_err(|_| AdminError::NotFound)?;
    state.store.user(id).await?.ok_or(AdminError::NotFound)
}

#[derive(Debug, Deserialize)]
pub(super) struct RoleForm {
    role: String,
}

async fn set_role(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AdminError> {
    let user = user_of(&state, &id).await?;
    let role: Role = form.role.parse().map_err(|e: roles::UnknownRole| AdminError::BadRequest(e.to_string()))?;
    if user.id == staff.user_id && role != Role::Admin {
        return Err(AdminError::Conflict("You cannot take the admin role from yourself.".into()));
    }
    let audit = staff.audit("user.role", "user", user.id, format!("{} → {role}", user.role));
    if !state.store.set_user_role(user.id, role, &audit).await? {
        return Err(AdminError::NotFound);
    }
    Ok(Notice::RoleSaved.redirect("/admin/users").into_response())
}

/// Assigns a user to sections: the form repeats `sections` (none: all sections).
async fn set_sections(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: String,
) -> Result<Response, AdminError> {
    let user = user_of(&state, &id).await?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&body)
        .map_err(|e| AdminError::BadRequest(format!("the form could not be read: {e}")))?;
    let mut ids = Vec::new();
    for (_, v) in fields.iter().filter(|(k, _)| k == "sections") {
        let id = v.parse::<i64>().map_err(|_| AdminError::BadRequest(format!("unknown section `{v}`")))?;
        if state.store.section_path(id).await?.is_none() {
            return Err(AdminError::BadRequest(format!("there is no section {id}")));
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let detail = if ids.is_empty() { "all sections".to_string() } else { format!("sections {ids:?}") };
    if !state.store.set_user_sections(user.id, &ids, &staff.audit("user.sections", "user", user.id, detail)).await? {
        return Err(AdminError::NotFound);
    }
    Ok(Notice::SectionsSaved.redirect("/admin/users").into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct ActiveForm {
    active: String,
}

async fn set_active(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> Result<Response, AdminError> {
    let user = user_of(&state, &id).await?;
    let active = match form.active.as_str() {
        "1" | "true" => true,
        "0" | "false" => false,
        other => return Err(AdminError::BadRequest(format!("active must be 1 or 0, not `{other}`"))),
    };
    if user.id == staff.user_id && !active {
        return Err(AdminError::Conflict("You cannot deactivate yourself.".into()));
    }
    let action = if active { "user.activate" } else { "user.deactivate" };
    if !state.store.set_user_active(user.id, active, &staff.audit(action, "user", user.id, &user.email)).await? {
        return Err(AdminError::NotFound);
    }
    Ok(if active { Notice::UserActivated } else { Notice::UserDeactivated }.redirect("/admin/users").into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditQuery {
    kind: Option<String>,
    id: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, AdminError> {
    let target = match (q.kind.as_deref().filter(|s| !s.is_empty()), q.id.as_deref().filter(|s| !s.is_empty())) {
        (Some(k), Some(i)) => Some((k, i)),
        (None, None) => None,
        _ => return Err(AdminError::BadRequest("give both kind and id, or neither".into())),
    };
    let tz = tz(&state);
    let rows: Vec<_> = state
        .store
        .audit_log(target, 500)
        .await?
        .into_iter()
        .map(|e| {
            minijinja::context! {
                at => dates::format_long(e.at, tz), actor => e.actor, action => e.action,
                target_kind => e.target_kind, target_id => e.target_id, detail => e.detail,
            }
        })
        .collect();
    page::render(
        &state,
        &staff,
        "admin/audit.html",
        "Audit log",
        minijinja::context! { rows => rows, kind => q.kind, id => q.id },
    )
}

fn token_hash(token: &str) -> Option<String> {
    (token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex::encode(Sha256::digest(token.as_bytes())))
}

async fn invite_form(
    state: &AppState,
    status: StatusCode,
    email: &str,
    error: Option<&str>,
) -> Result<Response, AdminError> {
    let html = page::render_anonymous(
        state,
        "admin/invite.html",
        "Set your password",
        minijinja::context! {
            email => email, error => error, min_password => roles::MIN_PASSWORD_CHARS,
        },
    )?;
    Ok((status, html).into_response())
}

const INVITE_GONE: &str = "This invite link is not valid: it was used already, has expired, or was replaced by a newer \
                           one. Ask an admin for a new link.";

async fn invite_page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, AdminError> {
    let Some(hash) = token_hash(&token) else { return Err(AdminError::NotFound) };
    match state.store.invite(&hash, Utc::now()).await? {
        Some(user) => invite_form(&state, StatusCode::OK, &user.email, None).await,
        None => page::message(&state, None, StatusCode::GONE, "Invite", INVITE_GONE),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct InviteForm {
    new: String,
    confirm: String,
}

async fn accept_invite(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
    Form(form): Form<InviteForm>,
) -> Result<Response, AdminError> {
    let Some(hash) = token_hash(&token) else { return Err(AdminError::NotFound) };
    let now = Utc::now();
    let Some(user) = state.store.invite(&hash, now).await? else {
        return page::message(&state, None, StatusCode::GONE, "Invite", INVITE_GONE);
    };
    if form.new != form.confirm {
        return invite_form(&state, StatusCode::UNPROCESSABLE_ENTITY, &user.email, Some("The two passwords differ."))
            .await;
    }
    if let Err(m) = roles::check_password(&form.new, &[&user.email, &user.name]) {
        return invite_form(&state, StatusCode::UNPROCESSABLE_ENTITY, &user.email, Some(&format!("Refused: {m}.")))
            .await;
    }
    let password_hash = super::hash_password(form.new).await?;
    let audit = AuditEntry {
        at: now,
        actor: user.email.clone(),
        user_id: Some(user.id),
        action: "user.accept_invite".into(),
        target_kind: "user".into(),
        target_id: user.id.to_string(),
        detail: String::new(),
    };
    // The store ends the user's sessions and API tokens: an invite is also how a password is reset.
    if state.store.accept_invite(&hash, &password_hash, now, &audit).await?.is_none() {
        return page::message(&state, None, StatusCode::GONE, "Invite", INVITE_GONE);
    }
    // A new password lifts the account's login throttle (an admin's reset is the way out of it).
    state.store.clear_login_attempts(&super::auth::account_key(&user.email)).await?;
    // Who just chose a password is signed in with it (the invite proved the address).
    let jar = super::auth::start_session(&state, jar, user.id, now).await?;
    Ok((jar, Redirect::to("/admin?welcome=1")).into_response())
}
