//! Desks and stages in the back office: the list of desks (`/admin/desks`),
//! a board per desk with a column per stage (`/admin/desks/{id}`), the
//! stories assigned to the current user (`/admin/desks/mine`), and the
//! admins' settings page of a desk (members, stages). Stories move and are
//! assigned with a small form per card, so the board works without
//! JavaScript and from the keyboard. The rules are the desk's
//! ([`crate::desk::boards`]).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::Value;
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{StoryStatus, dates};
use newsdesk_storage::{BoardCard, BoardFilter};
use serde::Deserialize;

use super::notice::Notice;
use super::{AdminError, Staff, Table, page};
use crate::AppState;
use crate::desk::{DeskError, boards, join};

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/desks", WriteStories, list)
        .post("/admin/desks", ManageDesks, create)
        .get("/admin/desks/mine", WriteStories, mine)
        .get("/admin/desks/{id}", WriteStories, board)
        .get("/admin/desks/{id}/settings", ManageDesks, settings)
        .post("/admin/desks/{id}/members", ManageDesks, members)
        .post("/admin/desks/{id}/urgency", ManageDesks, default_urgency)
        .post("/admin/desks/{id}/stages", ManageDesks, add_stage)
        .post("/admin/desks/{id}/stages/{stage}", ManageDesks, edit_stage)
        .post("/admin/desks/{id}/stories", WriteStories, add_story)
        .post("/admin/stories/{id}/desk", WriteStories, move_story)
        .post("/admin/stories/{id}/assignee", WriteStories, assign)
}

/// The story states, for the status filter.
const STATUSES: [&str; 6] = ["draft", "submitted", "scheduled", "published", "unpublished", "killed"];

fn parse_id(id: &str) -> Result<i64, AdminError> {
    id.trim().parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)
}

/// An optional id field of a form: empty is `None`, anything but a positive number is refused.
fn optional_id(field: &str, value: &str) -> Result<Option<i64>, AdminError> {
    match value.trim() {
        "" => Ok(None),
        v => {
            v.parse::<i64>().ok().filter(|n| *n > 0).map(Some).ok_or_else(|| {
                AdminError::BadRequest(format!("{field} must be an id (a positive number), found “{v}”"))
            })
        }
    }
}

/// A refused form as a page that says why (422), other errors as usual.
fn refused(state: &AppState, staff: &Staff, e: DeskError) -> Result<Response, AdminError> {
    match e {
        DeskError::Invalid(errors) => {
            page::message(state, Some(staff), StatusCode::UNPROCESSABLE_ENTITY, "Not saved", &join(&errors, " "))
        }
        other => Err(other.into()),
    }
}

/// Where to go after a card's form: the page it came from when that is a
/// desk page, else `fallback`.
fn back_to(back: &str, fallback: String) -> Redirect {
    let ok = back.starts_with("/admin/desks")
        && !back.contains("//")
        && !back.contains('\\')
        && back.chars().all(|c| c.is_ascii_graphic());
    Redirect::to(if ok { back } else { &fallback })
}

fn time_zone(state: &AppState) -> chrono_tz::Tz {
    state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC)
}

/// A story as a card or a row.
fn card(state: &AppState, staff: &Staff, c: &BoardCard) -> Value {
    minijinja::context! {
        news_id => c.place.news_id,
        desk_id => c.place.desk_id,
        stage_id => c.place.stage_id,
        desk => c.desk_name,
        stage => c.stage_name,
        headline => c.headline,
        lang => c.lang,
        dir => c.direction.as_str(),
        section => c.section,
        status => c.status.as_str(),
        assignee_id => c.place.assignee_id,
        assignee => c.assignee_name,
        mine => c.place.assignee_id == Some(staff.user_id),
        updated => dates::format_long(c.modified_at, time_zone(state)),
        urgency => super::stories::urgency_view(c.urgency),
        slugline => c.slugline,
    }
}

/// `GET /admin/desks`: the desks the user works on (all for admins), the
/// user's assignments first, and for admins a form to create a desk.
async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, AdminError> {
    let actor = staff.actor();
    let desks: Vec<Value> = boards::desks_of(&state, &actor)
        .await?
        .into_iter()
        .map(|d| minijinja::context! { id => d.desk.id, name => d.desk.name, members => d.members, stories => d.stories })
        .collect();
    let mine = boards::mine(&state, &actor).await?.len();
    let html = page::render(
        &state,
        &staff,
        "admin/desks.html",
        "Desks",
        minijinja::context! { desks => desks, mine => mine, can_manage => staff.can(Permission::ManageDesks) },
    )?;
    Ok(html.into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct NameForm {
    #[serde(default)]
    name: String,
}

/// `POST /admin/desks`: a new desk with the default stages.
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<NameForm>,
) -> Result<Response, AdminError> {
    match boards::create_desk(&state, &staff.actor(), &form.name).await {
        Ok(desk) => Ok(Notice::DeskCreated.redirect(&format!("/admin/desks/{}/settings", desk.id)).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

/// `GET /admin/desks/mine`: the stories assigned to the current user.
async fn mine(State(state): State<AppState>, staff: Staff) -> Result<Response, AdminError> {
    let cards: Vec<Value> =
        boards::mine(&state, &staff.actor()).await?.iter().map(|c| card(&state, &staff, c)).collect();
    Ok(page::render(&state, &staff, "admin/desks_mine.html", "Mine", minijinja::context! { cards => cards })?
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct BoardQuery {
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    done: String,
}

/// `GET /admin/desks/{id}`: the board, filtered by `assignee` and `status`.
async fn board(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<BoardQuery>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let actor = staff.actor();
    let assignee = optional_id("assignee", &q.assignee)?;
    let status = match q.status.trim() {
        "" => None,
        s => Some(StoryStatus::parse(s).ok_or_else(|| {
            AdminError::BadRequest(format!(
                "status must be draft, submitted, scheduled, published, unpublished or killed, found “{s}”"
            ))
        })?),
    };
    let b = boards::board(&state, &actor, id, BoardFilter { desk_id: None, assignee_id: assignee, status }).await?;
    let members = state.store.desk_members(id).await?;
    // Where a card can go: this desk's stages, then the other desks the user works on.
    let mut targets: Vec<Value> =
        b.stages.iter().map(|s| minijinja::context! { value => format!("{id}:{}", s.id), label => s.name }).collect();
    for d in boards::desks_of(&state, &actor).await? {
        if d.desk.id != id {
            targets.push(
                minijinja::context! { value => d.desk.id.to_string(), label => format!("Desk: {}", d.desk.name) },
            );
        }
    }
    let stages: Vec<Value> = b
        .stages
        .iter()
        .map(|s| {
            let cards: Vec<Value> =
                b.cards.iter().filter(|c| c.place.stage_id == s.id).map(|c| card(&state, &staff, c)).collect();
            let total = b.counts.iter().find(|(stage, _)| *stage == s.id).map_or(0, |(_, n)| *n);
            minijinja::context! { id => s.id, name => s.name, total => total, shown => cards.len(), cards => cards }
        })
        .collect();
    let query = {
        let mut parts = Vec::new();
        if let Some(a) = assignee {
            parts.push(format!("assignee={a}"));
        }
        if let Some(s) = status {
            parts.push(format!("status={}", s.as_str()));
        }
        parts.join("&")
    };
    let back = if query.is_empty() { format!("/admin/desks/{id}") } else { format!("/admin/desks/{id}?{query}") };
    let html = page::render(
        &state,
        &staff,
        "admin/desks_board.html",
        &b.desk.name,
        minijinja::context! {
            desk => minijinja::context! { id => b.desk.id, name => b.desk.name },
            stages => stages,
            members => members.iter().map(|m| minijinja::context! { id => m.user_id, name => m.name }).collect::<Vec<_>>(),
            targets => targets,
            statuses => STATUSES,
            assignee => assignee,
            status => status.map(StoryStatus::as_str),
            filtered => assignee.is_some() || status.is_some(),
            back => back,
            done => !q.done.is_empty(),
            can_manage => staff.can(Permission::ManageDesks),
        },
    )?;
    Ok(html.into_response())
}

/// `GET /admin/desks/{id}/settings`: members and stages.
async fn settings(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, AdminError> {
    let desk = boards::desk(&state, parse_id(&id)?).await?;
    let members = state.store.desk_members(desk.id).await?;
    let others: Vec<Value> = state
        .store
        .users()
        .await?
        .into_iter()
        .filter(|u| u.active && !members.iter().any(|m| m.user_id == u.id))
        .map(|u| minijinja::context! { id => u.id, name => u.name, email => u.email, role => u.role.as_str() })
        .collect();
    let counts = state.store.desk_stage_counts(desk.id).await?;
    let stages: Vec<Value> = state
        .store
        .desk_stages(desk.id)
        .await?
        .into_iter()
        .map(|s| {
            let n = counts.iter().find(|(stage, _)| *stage == s.id).map_or(0, |(_, n)| *n);
            minijinja::context! { id => s.id, name => s.name, n => n }
        })
        .collect();
    let html = page::render(
        &state,
        &staff,
        "admin/desks_settings.html",
        &format!("{} — settings", desk.name),
        minijinja::context! {
            desk => minijinja::context! { id => desk.id, name => desk.name, default_urgency => desk.default_urgency },
            urgencies => (1..=8).map(|u| minijinja::context! {
                value => u,
                label => format!("{u} {}", newsdesk_domain::agency::urgency_label(u, "en")),
            }).collect::<Vec<_>>(),
            members => members.iter().map(|m| minijinja::context! { id => m.user_id, name => m.name, email => m.email }).collect::<Vec<_>>(),
            others => others,
            stages => stages,
            max_name => boards::MAX_NAME,
        },
    )?;
    Ok(html.into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct MemberForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    member: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct UrgencyForm {
    #[serde(default)]
    default_urgency: String,
}

/// `POST /admin/desks/{id}/urgency`: the desk's default urgency (empty: the house default).
async fn default_urgency(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<UrgencyForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let urgency = match form.default_urgency.trim() {
        "" => None,
        u => Some(u.parse::<i64>().ok().filter(|u| (1..=8).contains(u)).ok_or_else(|| {
            AdminError::BadRequest(format!(
                "default_urgency must be from 1 to 8, found “{}”",
                u.chars().take(20).collect::<String>()
            ))
        })?),
    };
    match boards::set_default_urgency(&state, &staff.actor(), id, urgency).await {
        Ok(()) => Ok(Notice::DeskSaved.redirect(&format!("/admin/desks/{id}/settings")).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

/// `POST /admin/desks/{id}/members`: `member=1` adds user `user_id`, `member=0` removes them.
async fn members(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<MemberForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let user = optional_id("user_id", &form.user_id)?
        .ok_or_else(|| AdminError::BadRequest("Choose a user to add or remove.".into()))?;
    let member = match form.member.as_str() {
        "1" => true,
        "0" => false,
        other => return Err(AdminError::BadRequest(format!("member must be 1 or 0, found “{other}”"))),
    };
    match boards::set_member(&state, &staff.actor(), id, user, member).await {
        Ok(_) => Ok(Notice::DeskSaved.redirect(&format!("/admin/desks/{id}/settings")).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

/// `POST /admin/desks/{id}/stages`: a new stage at the end.
async fn add_stage(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<NameForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    match boards::add_stage(&state, &staff.actor(), id, &form.name).await {
        Ok(_) => Ok(Notice::DeskSaved.redirect(&format!("/admin/desks/{id}/settings")).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct StageForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
}

/// `POST /admin/desks/{id}/stages/{stage}`: `action` rename (with `name`), up, down or delete.
async fn edit_stage(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, stage)): Path<(String, String)>,
    Form(form): Form<StageForm>,
) -> Result<Response, AdminError> {
    let (id, stage) = (parse_id(&id)?, parse_id(&stage)?);
    let actor = staff.actor();
    let done = match form.action.as_str() {
        "rename" => boards::rename_stage(&state, &actor, id, stage, &form.name).await.map(|_| ()),
        "up" => boards::move_stage(&state, &actor, id, stage, true).await.map(|_| ()),
        "down" => boards::move_stage(&state, &actor, id, stage, false).await.map(|_| ()),
        "delete" => boards::delete_stage(&state, &actor, id, stage).await,
        other => {
            return Err(AdminError::BadRequest(format!("action must be rename, up, down or delete, found “{other}”")));
        }
    };
    match done {
        Ok(()) => Ok(Notice::DeskSaved.redirect(&format!("/admin/desks/{id}/settings")).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AddStoryForm {
    #[serde(default)]
    news_id: String,
    #[serde(default)]
    stage: String,
}

/// `POST /admin/desks/{id}/stories`: puts the story with `news_id` on this
/// desk, in `stage` (the first stage when empty).
async fn add_story(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<AddStoryForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let news_id = match form.news_id.trim().parse::<i64>() {
        Ok(n) if n > 0 => n,
        _ => {
            return refused(
                &state,
                &staff,
                DeskError::invalid(format!("The News ID must be a positive number, not “{}”.", form.news_id.trim())),
            );
        }
    };
    let stage = optional_id("stage", &form.stage)?;
    match boards::move_story(&state, &staff.actor(), news_id, id, stage).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/desks/{id}?done=1")).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct MoveForm {
    /// `DESK:STAGE`, `DESK` (its first stage), or `none` (off the desks).
    #[serde(default)]
    to: String,
    #[serde(default)]
    back: String,
}

/// `POST /admin/stories/{id}/desk`: moves a story to a stage or another desk.
async fn move_story(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, AdminError> {
    let news_id = parse_id(&id)?;
    let actor = staff.actor();
    let to = form.to.trim();
    let done = if to == "none" {
        boards::remove_story(&state, &actor, news_id).await.map(|_| "/admin/desks".to_string())
    } else {
        let (desk, stage) = match to.split_once(':') {
            Some((d, s)) => (d, s),
            None => (to, ""),
        };
        let desk = optional_id("to", desk)?
            .ok_or_else(|| AdminError::BadRequest("Choose a stage or a desk to move the story to.".into()))?;
        let stage = optional_id("to", stage)?;
        boards::move_story(&state, &actor, news_id, desk, stage).await.map(|p| format!("/admin/desks/{}", p.desk_id))
    };
    match done {
        Ok(fallback) => Ok(back_to(&form.back, fallback).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AssignForm {
    /// A member's user id; empty for nobody.
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    back: String,
}

/// `POST /admin/stories/{id}/assignee`: assigns a story on a desk to a member (or nobody).
async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, AdminError> {
    let news_id = parse_id(&id)?;
    let assignee = optional_id("assignee", &form.assignee)?;
    match boards::assign(&state, &staff.actor(), news_id, assignee).await {
        Ok(p) => Ok(back_to(&form.back, format!("/admin/desks/{}", p.desk_id)).into_response()),
        Err(e) => refused(&state, &staff, e),
    }
}
