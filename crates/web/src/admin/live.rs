//! The back office's live blog panel on the editor page: start or end the
//! live coverage, post updates, and change, pin or remove them. Each form
//! posts to its own route and comes back to the editor; the rules are the
//! desk's ([`crate::desk::live`]), the same as the write API's.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::Value;
use newsdesk_domain::workflow::may_edit;
use newsdesk_domain::{Edition, Story, dates};
use newsdesk_storage::StoryExtras;
use serde::Deserialize;

use super::{AdminError, Staff, Table};
use crate::AppState;
use crate::desk::live::{self, UpdateChanges};
use crate::desk::{DeskError, FieldError};

pub(super) fn routes(t: Table) -> Table {
    use newsdesk_domain::roles::Permission::*;
    t.post("/admin/stories/{id}/live", WriteStories, set_live)
        .post("/admin/stories/{id}/updates", WriteStories, add_update)
        .post("/admin/stories/{id}/updates/{update_id}", WriteStories, edit_update)
        .post("/admin/stories/{id}/updates/{update_id}/delete", WriteStories, delete_update)
}

/// The live blog panel of the editor page of `story`.
pub(super) async fn editor_panel(
    state: &AppState,
    staff: &Staff,
    story: Option<&Story>,
    extras: Option<&StoryExtras>,
    edition: &Edition,
) -> Result<Value, AdminError> {
    let Some(story) = story else { return Ok(Value::from(())) };
    let tz = edition.time_zone;
    let own = extras.is_some_and(|e| staff.actor().owns(e));
    let updates = if story.is_live_blog() { state.store.live_updates(story.news_id).await? } else { Vec::new() };
    Ok(minijinja::context! {
        editable => may_edit(staff.role, story.status, own),
        is_live_blog => story.is_live_blog(),
        now => story.is_live_now(),
        since => story.live_since.map(|t| dates::format_long(t, tz)),
        until => story.live_until.map(|t| dates::format_long(t, tz)),
        format => story.body_format.as_str(),
        public => story.status == newsdesk_domain::StoryStatus::Published,
        updates => updates
            .iter()
            .map(|u| minijinja::context! {
                id => u.id,
                headline => u.headline,
                body => u.body_source,
                body_html => Value::from_safe_string(u.body_html.clone()),
                pinned => u.pinned,
                photo_id => u.photo.as_ref().map(|p| p.id),
                actor => u.actor,
                at => dates::format_long(u.created_at, tz),
                edited => (u.modified_at > u.created_at).then(|| dates::format_long(u.modified_at, tz)),
            })
            .collect::<Vec<_>>(),
    })
}

fn parse_id(raw: &str) -> Result<i64, AdminError> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)
}

fn back(news_id: i64, saved: &str) -> Response {
    Redirect::to(&format!("/admin/stories/{news_id}/edit?saved={saved}#live-blog")).into_response()
}

/// The live switch.
#[derive(Debug, Deserialize)]
pub(super) struct LiveForm {
    /// `1` (checked): a live blog; absent: the coverage ends.
    #[serde(default)]
    live: Option<String>,
}

async fn set_live(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<LiveForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let on = form.live.as_deref().is_some_and(|v| !v.is_empty() && v != "0");
    live::set_live(&state, &staff.actor(), id, on).await?.drop_pages(&state).await?;
    Ok(back(id, if on { "live" } else { "live-ended" }))
}

/// An update as the panel's forms send it.
#[derive(Debug, Deserialize)]
pub(super) struct UpdateForm {
    #[serde(default)]
    headline: String,
    #[serde(default)]
    body: Option<String>,
    /// The photo's number in the media library; empty: none.
    #[serde(default)]
    photo_id: Option<String>,
    /// `1` (checked): pinned.
    #[serde(default)]
    pinned: Option<String>,
}

fn changes_of(form: UpdateForm) -> Result<UpdateChanges, DeskError> {
    let photo_id = match form.photo_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match raw.parse::<i64>().ok().filter(|n| *n > 0) {
            Some(n) => Some(n),
            None => {
                return Err(DeskError::Invalid(vec![FieldError::new(
                    "photo_id",
                    format!("The photo must be its number in the media library, not “{raw}”."),
                )]));
            }
        },
    };
    Ok(UpdateChanges {
        headline: Some(form.headline),
        body: form.body,
        photo_id: Some(photo_id),
        pinned: Some(form.pinned.as_deref().is_some_and(|v| !v.is_empty() && v != "0")),
    })
}

async fn add_update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<UpdateForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let (_, changed) = live::add_update(&state, &staff.actor(), id, changes_of(form)?).await?;
    changed.drop_pages(&state).await?;
    Ok(back(id, "update-posted"))
}

async fn edit_update(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, update_id)): Path<(String, String)>,
    Form(form): Form<UpdateForm>,
) -> Result<Response, AdminError> {
    let (id, update_id) = (parse_id(&id)?, parse_id(&update_id)?);
    let (_, changed) = live::edit_update(&state, &staff.actor(), id, update_id, changes_of(form)?).await?;
    changed.drop_pages(&state).await?;
    Ok(back(id, "update-saved"))
}

async fn delete_update(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, update_id)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let (id, update_id) = (parse_id(&id)?, parse_id(&update_id)?);
    live::delete_update(&state, &staff.actor(), id, update_id).await?.drop_pages(&state).await?;
    Ok(back(id, "update-removed"))
}
