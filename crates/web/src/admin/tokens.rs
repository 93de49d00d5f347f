//! Personal API tokens on the account page: list, create (shown once), revoke.
//! Every role may hold tokens; what a token may do is decided per request by
//! the user's role, as in the back office.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use newsdesk_domain::dates;
use newsdesk_domain::roles::Permission;
use newsdesk_storage::{MAX_TOKEN_NAME, StoreError};
use serde::{Deserialize, Serialize};

use super::{AdminError, Staff, Table, page};
use crate::AppState;

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/account/tokens", UseBackOffice, list).post("/admin/account/tokens", UseBackOffice, create).post(
        "/admin/account/tokens/{id}/revoke",
        UseBackOffice,
        revoke,
    )
}

#[derive(Debug, Serialize)]
struct Row {
    id: i64,
    name: String,
    prefix: String,
    created: String,
    last_used: Option<String>,
    revoked: Option<String>,
}

#[derive(Debug, Serialize)]
struct Shown {
    name: String,
    token: String,
}

async fn render(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    shown: Option<Shown>,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<Response, AdminError> {
    let tz = state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
    let rows: Vec<Row> = state
        .store
        .api_tokens(staff.user_id)
        .await?
        .into_iter()
        .rev()
        .map(|t| Row {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created: dates::format_long(t.created_at, tz),
            last_used: t.last_used_at.map(|d| dates::format_long(d, tz)),
            revoked: t.revoked_at.map(|d| dates::format_long(d, tz)),
        })
        .collect();
    let html = page::render(
        state,
        staff,
        "admin/tokens.html",
        "API tokens",
        minijinja::context! {
            rows => rows, shown => shown, notice => notice, error => error, max_name => MAX_TOKEN_NAME,
        },
    )?;
    // A page that shows a token must not be kept by any cache.
    Ok((status, [(header::CACHE_CONTROL, "no-store")], html).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    done: Option<String>,
}

async fn list(State(state): State<AppState>, staff: Staff, Query(q): Query<ListQuery>) -> Result<Response, AdminError> {
    let notice = (q.done.as_deref() == Some("revoked")).then_some("The token was revoked; it no longer works.");
    render(&state, &staff, StatusCode::OK, None, notice, None).await
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateForm {
    #[serde(default)]
    name: String,
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<CreateForm>,
) -> Result<Response, AdminError> {
    // The store fills the detail with the new token's prefix and name.
    let audit = staff.audit("token.create", "user", staff.user_id, "");
    match state.store.create_api_token(staff.user_id, &form.name, Utc::now(), &audit).await {
        Ok((token, stored)) => {
            let shown = Shown { name: stored.name, token };
            render(&state, &staff, StatusCode::OK, Some(shown), None, None).await
        }
        Err(StoreError::Invalid(m)) => {
            render(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, None, None, Some(&m)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, AdminError> {
    let id = id.parse::<i64>().map_err(|_| AdminError::NotFound)?;
    // Only the owner's own live tokens match: another user's token id is simply not found.
    let audit = staff.audit("token.revoke", "user", staff.user_id, format!("API token {id}"));
    if !state.store.revoke_api_token(staff.user_id, id, Utc::now(), &audit).await? {
        return Err(AdminError::NotFound);
    }
    Ok(Redirect::to("/admin/account/tokens?done=revoked").into_response())
}
