//! Spike and breaking news in the back office: the "Spiked" list with
//! Unspike, the Spike button of a draft's editor, the "Breaking" control of a
//! published story's editor and the list of active breaking news with Clear;
//! and the "Release to wire" button of a scheduled story's editor (embargoed
//! pre-release, [`crate::desk::embargo`]).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{Story, StoryStatus, dates};
use newsdesk_storage::StoryExtras;
use serde::Deserialize;

use super::notice::Notice;
use super::{AdminError, Staff, Table, page};
use crate::AppState;
use crate::desk::breaking::{self, BreakingUntil};
use crate::desk::{self, DeskError, embargo, spike};

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/stories/spiked", WriteStories, spiked_list)
        .post("/admin/stories/{id}/spike", WriteStories, spike_story)
        .post("/admin/stories/{id}/unspike", WriteStories, unspike_story)
        .get("/admin/breaking", Publish, breaking_list)
        .post("/admin/stories/{id}/breaking", Publish, mark_breaking)
        .post("/admin/stories/{id}/breaking/clear", Publish, clear_breaking)
        .post("/admin/stories/{id}/release", Publish, release_story)
}

/// The choices of the editor's "Breaking" control, in minutes.
const DURATIONS: [(i64, &str); 6] =
    [(30, "30 minutes"), (60, "1 hour"), (120, "2 hours"), (240, "4 hours"), (720, "12 hours"), (1440, "24 hours")];

fn parse_id(id: &str) -> Result<i64, AdminError> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)
}

/// `lang` and `dir` of an edition's text, for the templates.
fn text_of(state: &AppState, edition_id: i64) -> minijinja::Value {
    match state.editions.load().iter().find(|e| e.id == edition_id) {
        Some(e) => minijinja::context! { lang => e.lang, dir => e.direction.as_str() },
        None => minijinja::context! { lang => "", dir => "auto" },
    }
}

/// What the editor page shows of spike and breaking news for `story`: the
/// Spike or Unspike button when the user may use it, and for a published
/// story the Breaking control with its current mark.
pub(super) async fn editor_flags(
    state: &AppState,
    staff: &Staff,
    story: Option<&Story>,
    extras: Option<&StoryExtras>,
) -> Result<minijinja::Value, AdminError> {
    let (Some(story), Some(extras)) = (story, extras) else { return Ok(minijinja::Value::UNDEFINED) };
    let tz = desk::edition_of(state, story.edition_id)?.time_zone;
    let may_spike = staff.can(Permission::EditAnyStory) || staff.actor().owns(extras);
    let never_published =
        matches!(story.status, StoryStatus::Draft | StoryStatus::Submitted) && story.published_at.is_none();
    let spiked = extras.spiked_at.map(|t| {
        minijinja::context! {
            at => dates::format_long(t, tz),
            purge => dates::format_long(spike::purge_time(state, t), tz),
        }
    });
    let breaking = if story.status == StoryStatus::Published && staff.can(Permission::Publish) {
        let now = Utc::now();
        let mark = state.store.breaking_of(story.news_id).await?.filter(|b| b.active_at(now));
        let default = state.config.breaking.default_minutes;
        Some(minijinja::context! {
            until => mark.map(|b| dates::format_long(b.expires_at, tz)),
            durations => DURATIONS
                .iter()
                .map(|(m, label)| minijinja::context! { minutes => m, label => label, selected => *m == default })
                .collect::<Vec<_>>(),
        })
    } else {
        None
    };
    let release = if story.status == StoryStatus::Scheduled && staff.can(Permission::Publish) {
        let released = embargo::release_of(state, story.news_id).await?;
        Some(minijinja::context! {
            until => extras.scheduled_at.map(|t| dates::format_long(t, tz)),
            released => released.as_ref().map(|r| dates::format_long(r.released_at, tz)),
            by => released.map(|r| r.actor),
        })
    } else {
        None
    };
    Ok(minijinja::context! {
        release => release,
        spiked => spiked,
        can_spike => may_spike && never_published && extras.spiked_at.is_none(),
        can_unspike => may_spike && extras.spiked_at.is_some(),
        breaking => breaking,
    })
}

// ----- spike -----

async fn spiked_list(State(state): State<AppState>, staff: Staff) -> Result<Html<String>, AdminError> {
    let rows = spike::spiked(&state, &staff.actor()).await?;
    let tz = desk::edition_for_new(&state, None).map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            minijinja::context! {
                news_id => r.news_id,
                headline => r.headline,
                status => r.status,
                section => r.section,
                text => text_of(&state, r.edition_id),
                spiked_at => dates::format_long(r.spiked_at, tz),
                spiked_by => r.spiked_by,
                purge => dates::format_long(spike::purge_time(&state, r.spiked_at), tz),
            }
        })
        .collect();
    page::render(
        &state,
        &staff,
        "admin/spiked.html",
        "Spiked",
        minijinja::context! { rows => rows, days => state.config.spike_expiry_days },
    )
}

/// A refusal as a back-office page (409, 403, ...), the rest as errors.
fn refused(state: &AppState, staff: &Staff, e: DeskError) -> Result<Response, AdminError> {
    match e {
        DeskError::Conflict { message, .. } => {
            page::message(state, Some(staff), StatusCode::CONFLICT, "Not possible", &message)
        }
        DeskError::Invalid(errors) => page::message(
            state,
            Some(staff),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not possible",
            &desk::join(&errors, " "),
        ),
        e => Err(e.into()),
    }
}

async fn spike_story(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    match spike::spike(&state, &staff.actor(), id, Utc::now()).await {
        Ok(()) => Ok(Notice::Spiked.redirect("/admin/stories/spiked").into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

async fn unspike_story(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    match spike::unspike(&state, &staff.actor(), id, Utc::now()).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/stories/{id}/edit?saved=unspiked")).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

// ----- embargoed pre-release -----

async fn release_story(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    match embargo::release(&state, &staff.actor(), id, Utc::now()).await {
        Ok(changed) => {
            changed.drop_pages(&state).await?;
            Ok(Redirect::to(&format!("/admin/stories/{id}/edit?saved=released")).into_response())
        }
        Err(e) => refused(&state, &staff, e),
    }
}

// ----- breaking news -----

async fn breaking_list(State(state): State<AppState>, staff: Staff) -> Result<Html<String>, AdminError> {
    let items = breaking::active(&state, &staff.actor(), Utc::now()).await?;
    let editions = state.editions.load_full();
    let rows: Vec<_> = items
        .iter()
        .map(|b| {
            let edition = editions.iter().find(|e| e.id == b.edition_id);
            let tz = edition.map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
            minijinja::context! {
                news_id => b.news_id,
                headline => b.headline,
                edition => edition.map(|e| e.lang.clone()),
                url => edition.map(|e| e.url(&format!("/news/{}/{}", b.news_id, b.slug))),
                text => text_of(&state, b.edition_id),
                started => dates::format_long(b.started_at, tz),
                until => dates::format_long(b.expires_at, tz),
                by => b.actor,
            }
        })
        .collect();
    page::render(&state, &staff, "admin/breaking.html", "Breaking news", minijinja::context! { rows => rows })
}

#[derive(Debug, Deserialize)]
pub(super) struct BreakingForm {
    /// Minutes from now; empty: the default.
    #[serde(default)]
    minutes: String,
}

async fn mark_breaking(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<BreakingForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let until = match form.minutes.trim() {
        "" => BreakingUntil::Default,
        m => BreakingUntil::Minutes(m.parse::<i64>().map_err(|_| {
            AdminError::BadRequest(format!(
                "“How long” must be a number of minutes, not “{}”.",
                m.chars().take(20).collect::<String>()
            ))
        })?),
    };
    match breaking::mark(&state, &staff.actor(), id, &until, Utc::now()).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/stories/{id}/edit?saved=breaking")).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ClearForm {
    /// Where to go back to: `list` (the breaking-news list) or the editor.
    #[serde(default)]
    back: String,
}

async fn clear_breaking(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ClearForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    match breaking::clear(&state, &staff.actor(), id).await {
        Ok(_) if form.back == "list" => Ok(Notice::BreakingCleared.redirect("/admin/breaking").into_response()),
        Ok(_) => Ok(Redirect::to(&format!("/admin/stories/{id}/edit?saved=breaking_cleared")).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}
