//! Edit locks in the back office: the editor page takes the story's lock
//! ([`editor_lock`]), its script renews it (`/lock/heartbeat`) and gives it up
//! when the page is left (`/lock/release`, by `navigator.sendBeacon`), and
//! someone who finds the story locked may take it over (`/lock`, confirmed).
//! Without JavaScript the lock lasts its lease and the plain form still works.
//! The rules are the desk's ([`crate::desk::locks`]).

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::Utc;
use newsdesk_domain::roles::Permission;
use newsdesk_domain::workflow::may_edit;
use newsdesk_domain::{Story, dates};
use newsdesk_storage::{Heartbeat, LockOutcome, StoryExtras, StoryLock};
use serde::Deserialize;

use super::{AdminError, Staff, Table};
use crate::AppState;
use crate::desk::{self, DeskError, locks};

/// The editor page's lock script.
const LOCK_JS: &str = include_str!("../../static/editlock.js");

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.post("/admin/stories/{id}/lock", WriteStories, take)
        .post("/admin/stories/{id}/lock/heartbeat", WriteStories, heartbeat)
        .post("/admin/stories/{id}/lock/release", WriteStories, release)
        .get("/admin/static/editlock.js", WriteStories, script)
}

fn parse_id(id: &str) -> Result<i64, AdminError> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)
}

/// When a lock was taken, in the story's edition's time zone.
fn time_of(state: &AppState, story: &Story, at: chrono::DateTime<Utc>) -> String {
    match desk::edition_of(state, story.edition_id) {
        Ok(e) => dates::format_long(at, e.time_zone),
        Err(_) => dates::format_long(at, chrono_tz::UTC),
    }
}

/// What the editor page shows of the lock, and whether its fields are read-only.
pub(super) struct EditorLock {
    /// For the template (`lock`): none for a new story.
    pub view: Option<minijinja::Value>,
    /// Someone else holds the lock: the fields are shown read-only.
    pub read_only: bool,
}

/// Opening a story in the editor: whoever may edit it takes (or renews) its
/// lock; when someone else holds it the page shows who and since when, read-only,
/// with a confirmed take-over for those who may edit.
pub(super) async fn editor_lock(
    state: &AppState,
    staff: &Staff,
    story: Option<&Story>,
    extras: Option<&StoryExtras>,
) -> Result<EditorLock, AdminError> {
    let Some(story) = story else { return Ok(EditorLock { view: None, read_only: false }) };
    let now = Utc::now();
    let actor = staff.actor();
    let own = extras.is_some_and(|e| actor.owns(e));
    // A spiked story is not edited: no lock.
    let editor = may_edit(staff.role, story.status, own) && extras.is_none_or(|e| e.spiked_at.is_none());
    let (mine, other, may_take) = if editor {
        match locks::take(state, &actor, story.news_id, now, false).await {
            Ok(LockOutcome::Taken(_) | LockOutcome::TookOver { .. }) => (true, None, true),
            Ok(LockOutcome::Busy(other)) => (false, Some(other), true),
            // Outside the section scope: no lock (a save is refused anyway); show any holder.
            Err(DeskError::Forbidden(_) | DeskError::Conflict { .. }) => {
                (false, locks::lock_of(state, story.news_id, now).await?, false)
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        // One who may not edit the story (any more: a reporter who just submitted it) holds no lock on it.
        locks::release(state, &actor, story.news_id).await?;
        (false, locks::lock_of(state, story.news_id, now).await?, false)
    };
    let id = story.news_id;
    let view = minijinja::context! {
        mine => mine,
        busy => other.is_some(),
        name => other.as_ref().map(|l| l.name.clone()),
        since => other.as_ref().map(|l| time_of(state, story, l.taken_at)),
        can_take_over => may_take && other.is_some(),
        take_over => format!("/admin/stories/{id}/lock"),
        heartbeat => format!("/admin/stories/{id}/lock/heartbeat"),
        release => format!("/admin/stories/{id}/lock/release"),
        interval => locks::HEARTBEAT.num_seconds(),
        script => format!("/admin/static/editlock.js?v={}", &crate::site::content_hash(LOCK_JS.as_bytes())[..12]),
    };
    Ok(EditorLock { view: Some(view), read_only: other.is_some() })
}

/// "being edited by NAME since TIME".
fn busy_message(state: &AppState, story: &Story, lock: &StoryLock) -> String {
    format!(
        "Story {} is being edited by {} since {}. Open it and confirm to take over.",
        story.news_id,
        lock.name,
        time_of(state, story, lock.taken_at)
    )
}

/// The take-over form (or a plain lock request).
#[derive(Debug, Default, Deserialize)]
pub(super) struct TakeForm {
    /// `1`: take the lock even from someone else.
    #[serde(default)]
    takeover: String,
    /// `yes`: the user confirmed the take-over.
    #[serde(default)]
    confirm: String,
}

/// `POST /admin/stories/{id}/lock`: takes the lock (a take-over needs
/// `takeover=1` and `confirm=yes`) and opens the editor.
async fn take(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<TakeForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let takeover = match form.takeover.as_str() {
        "" | "0" => false,
        "1" => true,
        other => return Err(AdminError::BadRequest(format!("takeover must be 1 or empty, not “{other}”"))),
    };
    if takeover && form.confirm != "yes" {
        return Err(AdminError::BadRequest(
            "Confirm the take-over: tick the box that says the other editor may lose unsaved text.".into(),
        ));
    }
    let (story, _) = desk::load(&state, id).await?;
    match locks::take(&state, &staff.actor(), id, Utc::now(), takeover).await? {
        LockOutcome::TookOver { .. } => {
            Ok(Redirect::to(&format!("/admin/stories/{id}/edit?saved=takeover")).into_response())
        }
        LockOutcome::Taken(_) => Ok(Redirect::to(&format!("/admin/stories/{id}/edit")).into_response()),
        LockOutcome::Busy(other) => Err(AdminError::Conflict(busy_message(&state, &story, &other))),
    }
}

/// `POST /admin/stories/{id}/lock/heartbeat` (the editor's script): 200
/// `{"held": true}` while the lock is the user's, 409 `{"held": false,
/// "message": ...}` once someone else took it over.
async fn heartbeat(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let (story, _) = desk::load(&state, id).await?;
    match locks::heartbeat(&state, &staff.actor(), id, Utc::now()).await? {
        Heartbeat::Renewed(lock) => Ok(Json(serde_json::json!({
            "held": true,
            "expires_at": lock.expires_at.to_rfc3339(),
        }))
        .into_response()),
        Heartbeat::Lost(other) => {
            let message = match other {
                Some(l) => format!(
                    "{} took over editing at {}; your unsaved text is kept in this page — copy it or reload.",
                    l.name,
                    time_of(&state, &story, l.taken_at)
                ),
                None => "You no longer hold this story; your unsaved text is kept in this page — copy it or reload."
                    .to_string(),
            };
            Ok((StatusCode::CONFLICT, Json(serde_json::json!({ "held": false, "message": message }))).into_response())
        }
    }
}

/// `POST /admin/stories/{id}/lock/release`: the user leaves the editor (best
/// effort, from `navigator.sendBeacon`); 204 whether or not they held it.
async fn release(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    locks::release(&state, &staff.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /admin/static/editlock.js`.
async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        LOCK_JS,
    )
        .into_response()
}
