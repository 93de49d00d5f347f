//! Ingest sources in the back office (admins): the list with each source's
//! health (`/admin/ingest/sources`), and a source's page with its settings,
//! its error list and "poll now" (`/admin/ingest/sources/{id}`). Sources
//! from the config file are shown read-only. The rules are
//! [`crate::ingest_sources`]'s.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Timelike, Utc};
use minijinja::Value;
use newsdesk_domain::dates;
use newsdesk_domain::roles::Permission;
use newsdesk_storage::{InboundSource, SOURCE_FORMATS};
use serde::Deserialize;

use super::notice::Notice;
use super::{AdminError, Staff, Table, page};
use crate::AppState;
use crate::desk::{DeskError, join};
use crate::ingest_sources::{self as sources, SourceForm};

/// Errors shown on a source's page.
const ERRORS_SHOWN: i64 = 100;

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/ingest/sources", ManageSubscribers, list)
        .post("/admin/ingest/sources", ManageSubscribers, create)
        .get("/admin/ingest/sources/{id}", ManageSubscribers, show)
        .post("/admin/ingest/sources/{id}", ManageSubscribers, edit)
        .post("/admin/ingest/sources/{id}/poll", ManageSubscribers, poll)
}

fn parse_id(id: &str) -> Result<i64, AdminError> {
    id.trim().parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)
}

fn refused(state: &AppState, staff: &Staff, e: DeskError) -> Result<Response, AdminError> {
    match e {
        DeskError::Invalid(errors) => {
            page::message(state, Some(staff), StatusCode::UNPROCESSABLE_ENTITY, "Not saved", &join(&errors, " "))
        }
        other => Err(other.into()),
    }
}

fn view(state: &AppState, s: &InboundSource, today: i64) -> Value {
    let tz = state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
    let when = |t: Option<chrono::DateTime<Utc>>| t.map(|t| dates::format_long(t, tz));
    minijinja::context! {
        id => s.id,
        name => s.name,
        kind => s.kind,
        format => s.format,
        location => s.location,
        has_key => !s.api_key.is_empty(),
        interval_secs => s.interval_secs,
        enabled => s.enabled,
        from_config => s.from_config,
        failures => s.failures,
        backing_off => s.failures > 0,
        next_poll => when(Some(s.next_poll_at).filter(|t| t.timestamp() > 0)),
        last_poll => when(s.last_poll_at),
        last_success => when(s.last_success_at),
        last_error_at => when(s.last_error_at),
        last_error => s.last_error,
        items_total => s.items_total,
        errors_total => s.errors_total,
        items_today => today,
        // The ingest list knows a source once it has items.
        items_url => (s.items_total > 0).then(|| format!(
            "/admin/ingest?{}",
            serde_urlencoded::to_string([("source", s.name.as_str())]).unwrap_or_default()
        )),
        healthy => s.last_error_at.is_none_or(|e| s.last_success_at.is_some_and(|ok| ok > e)),
    }
}

async fn items_today(state: &AppState, s: &InboundSource) -> Result<i64, AdminError> {
    let now = Utc::now();
    let midnight = now - chrono::Duration::seconds(i64::from(now.num_seconds_from_midnight()));
    Ok(state.store.source_items_since(&s.name, midnight).await?)
}

/// `GET /admin/ingest/sources`: every source with its health, and a form for a new one.
async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, AdminError> {
    let mut rows = Vec::new();
    for s in state.store.inbound_sources().await? {
        let today = items_today(&state, &s).await?;
        rows.push(view(&state, &s, today));
    }
    let html = page::render(
        &state,
        &staff,
        "admin/ingest_sources.html",
        "Ingest sources",
        minijinja::context! {
            source => (),
            sources => rows,
            formats => SOURCE_FORMATS,
            min_interval => newsdesk_storage::MIN_INTERVAL_SECS,
            max_interval => sources::MAX_INTERVAL_SECS,
        },
    )?;
    Ok(html.into_response())
}

/// A source form as posted.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SourceFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    remove_key: String,
    #[serde(default)]
    interval_secs: String,
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    action: String,
}

impl SourceFields {
    fn form(&self) -> SourceForm {
        SourceForm {
            name: self.name.clone(),
            kind: self.kind.clone(),
            format: self.format.clone(),
            location: self.location.clone(),
            api_key: self.api_key.clone(),
            remove_key: self.remove_key == "1",
            interval_secs: self.interval_secs.clone(),
            enabled: self.enabled == "1",
        }
    }
}

/// `POST /admin/ingest/sources`: a new source, polled at once.
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<SourceFields>,
) -> Result<Response, AdminError> {
    match sources::create_source(&state, &staff.actor(), &f.form()).await {
        Ok(s) => Ok(Notice::SourceSaved.redirect(&format!("/admin/ingest/sources/{}", s.id)).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

/// `GET /admin/ingest/sources/{id}`: settings, health, errors, poll now.
async fn show(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let s = sources::source(&state, id).await?;
    let today = items_today(&state, &s).await?;
    let tz = state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
    let errors: Vec<Value> = state
        .store
        .source_errors(id, ERRORS_SHOWN)
        .await?
        .iter()
        .map(|e| minijinja::context! { at => dates::format_long(e.at, tz), place => e.place, reason => e.reason })
        .collect();
    let html = page::render(
        &state,
        &staff,
        "admin/ingest_source.html",
        &s.name,
        minijinja::context! {
            source => view(&state, &s, today),
            errors => errors,
            formats => SOURCE_FORMATS,
            min_interval => newsdesk_storage::MIN_INTERVAL_SECS,
            max_interval => sources::MAX_INTERVAL_SECS,
        },
    )?;
    Ok(html.into_response())
}

/// `POST /admin/ingest/sources/{id}`: save (`action=save`) or delete (`action=delete`).
async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<SourceFields>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let actor = staff.actor();
    let done = match f.action.as_str() {
        "delete" => sources::delete_source(&state, &actor, id).await.map(|()| Redirect::to("/admin/ingest/sources")),
        "save" | "" => sources::update_source(&state, &actor, id, &f.form())
            .await
            .map(|()| Notice::SourceSaved.redirect(&format!("/admin/ingest/sources/{id}"))),
        other => {
            return Err(AdminError::BadRequest(format!(
                "action must be save or delete, not `{}`",
                other.chars().take(20).collect::<String>()
            )));
        }
    };
    match done {
        Ok(to) => Ok(to.into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

/// `POST /admin/ingest/sources/{id}/poll`: poll now (within seconds, by whichever node holds its lease).
async fn poll(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    match sources::poll_now(&state, &staff.actor(), id).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/ingest/sources/{id}")).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}
