//! Desks and stages (Superdesk's model): admins make desks with members and
//! ordered stages; members move the stories on their desk from stage to stage
//! and between desks, and assign them to a member. The desk a story is on is
//! independent of its public section.
//!
//! Who may do what: admins manage desks, stages and members ([`Permission::ManageDesks`])
//! and see every board; editors and reporters see and work the boards of the
//! desks they are members of; a reporter moves and assigns only their own
//! stories; moving a story also follows the section scope (`check_scope`).

use chrono::Utc;
use newsdesk_domain::roles::{Permission, Role};
use newsdesk_storage::{BoardCard, BoardFilter, Desk, DeskStage, StoryPlace};

use super::{Actor, DeskError, FieldError, OwnDrafts, check_scope, load};
use crate::AppState;

/// The stages a new desk starts with.
pub const DEFAULT_STAGES: [&str; 3] = ["Incoming", "Working", "Ready"];

/// Longest desk or stage name, in characters.
pub const MAX_NAME: usize = 60;

/// A name as stored: spaces collapsed, 1 to [`MAX_NAME`] characters, no control characters.
fn check_name(field: &'static str, label: &str, name: &str) -> Result<String, DeskError> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(DeskError::Invalid(vec![FieldError::new(field, format!("Give the {label} a name."))]));
    }
    if name.chars().count() > MAX_NAME {
        return Err(DeskError::Invalid(vec![FieldError::new(
            field,
            format!("A {label} name may have at most {MAX_NAME} characters."),
        )]));
    }
    if let Some(problem) = newsdesk_domain::text::check(&format!("{label} name"), &name) {
        return Err(DeskError::Invalid(vec![FieldError::new(field, problem)]));
    }
    Ok(name)
}

/// A taken name as a field error that names it.
fn name_taken(e: newsdesk_storage::StoreError, field: &'static str, what: &str) -> DeskError {
    match e {
        newsdesk_storage::StoreError::Conflict { .. } => {
            DeskError::Invalid(vec![FieldError::new(field, format!("There is already {what}."))])
        }
        other => other.into(),
    }
}

/// The desk `desk_id`, or not found.
pub async fn desk(state: &AppState, desk_id: i64) -> Result<Desk, DeskError> {
    let missing = || DeskError::NotFound(format!("There is no desk {desk_id}."));
    if desk_id < 1 {
        return Err(missing());
    }
    state.store.desk(desk_id).await?.ok_or_else(missing)
}

/// The stage `stage_id` of desk `desk_id`, or not found.
async fn stage_of(state: &AppState, desk_id: i64, stage_id: i64) -> Result<DeskStage, DeskError> {
    match state.store.desk_stage(stage_id).await? {
        Some(s) if s.desk_id == desk_id => Ok(s),
        _ => Err(DeskError::NotFound(format!("Desk {desk_id} has no stage {stage_id}."))),
    }
}

/// Whether `actor` works on desk `desk_id`: its members, and admins everywhere.
pub async fn works_on(state: &AppState, actor: &Actor, desk_id: i64) -> Result<bool, DeskError> {
    Ok(actor.role == Role::Admin || state.store.is_desk_member(desk_id, actor.user_id).await?)
}

async fn require_member(state: &AppState, actor: &Actor, desk: &Desk) -> Result<(), DeskError> {
    actor.require(Permission::WriteStories)?;
    if works_on(state, actor, desk.id).await? {
        Ok(())
    } else {
        Err(DeskError::Forbidden(format!("You are not a member of the desk “{}”; ask an admin to add you.", desk.name)))
    }
}

/// Creates desk `name` with the [`DEFAULT_STAGES`].
pub async fn create_desk(state: &AppState, actor: &Actor, name: &str) -> Result<Desk, DeskError> {
    actor.require(Permission::ManageDesks)?;
    let name = check_name("name", "desk", name)?;
    let audit = actor.audit("desk.create", "desk", "", "");
    state
        .store
        .create_desk(&name, &DEFAULT_STAGES, Utc::now(), &audit)
        .await
        .map_err(|e| name_taken(e, "name", &format!("a desk called “{name}”")))
}

/// Sets the urgency stories fetched onto desk `desk_id` start with when
/// their source gives none (`None`: the house default, 4).
pub async fn set_default_urgency(
    state: &AppState,
    actor: &Actor,
    desk_id: i64,
    urgency: Option<i64>,
) -> Result<(), DeskError> {
    actor.require(Permission::ManageDesks)?;
    desk(state, desk_id).await?;
    if urgency.is_some_and(|u| !(1..=8).contains(&u)) {
        return Err(DeskError::Invalid(vec![FieldError::new(
            "default_urgency",
            "The default urgency must be from 1 to 8.",
        )]));
    }
    let audit = actor.audit("desk.default_urgency", "desk", desk_id, "");
    Ok(state.store.set_desk_default_urgency(desk_id, urgency, &audit).await?)
}

/// Adds user `user_id` to desk `desk_id` (`member`) or removes them.
pub async fn set_member(
    state: &AppState,
    actor: &Actor,
    desk_id: i64,
    user_id: i64,
    member: bool,
) -> Result<bool, DeskError> {
    actor.require(Permission::ManageDesks)?;
    desk(state, desk_id).await?;
    let user =
        state.store.user(user_id).await?.ok_or_else(|| DeskError::NotFound(format!("There is no user {user_id}.")))?;
    let (action, detail) = if member {
        ("desk.member.add", format!("{} added", user.email))
    } else {
        ("desk.member.remove", format!("{} removed", user.email))
    };
    Ok(state.store.set_desk_member(desk_id, user_id, member, &actor.audit(action, "desk", desk_id, detail)).await?)
}

/// Adds stage `name` at the end of desk `desk_id`.
pub async fn add_stage(state: &AppState, actor: &Actor, desk_id: i64, name: &str) -> Result<DeskStage, DeskError> {
    actor.require(Permission::ManageDesks)?;
    desk(state, desk_id).await?;
    let name = check_name("stage", "stage", name)?;
    state
        .store
        .add_desk_stage(desk_id, &name, &actor.audit("desk.stage.add", "desk", desk_id, ""))
        .await
        .map_err(|e| name_taken(e, "stage", &format!("a stage called “{name}” on this desk")))
}

/// Renames stage `stage_id` of desk `desk_id`.
pub async fn rename_stage(
    state: &AppState,
    actor: &Actor,
    desk_id: i64,
    stage_id: i64,
    name: &str,
) -> Result<DeskStage, DeskError> {
    actor.require(Permission::ManageDesks)?;
    stage_of(state, desk_id, stage_id).await?;
    let name = check_name("stage", "stage", name)?;
    state
        .store
        .rename_desk_stage(stage_id, &name, &actor.audit("desk.stage.rename", "desk", desk_id, ""))
        .await
        .map_err(|e| name_taken(e, "stage", &format!("a stage called “{name}” on this desk")))
}

/// Moves stage `stage_id` one place earlier or later on its desk.
pub async fn move_stage(
    state: &AppState,
    actor: &Actor,
    desk_id: i64,
    stage_id: i64,
    earlier: bool,
) -> Result<bool, DeskError> {
    actor.require(Permission::ManageDesks)?;
    stage_of(state, desk_id, stage_id).await?;
    Ok(state.store.move_desk_stage(stage_id, earlier, &actor.audit("desk.stage.move", "desk", desk_id, "")).await?)
}

/// Deletes stage `stage_id` when no story is in it (and it is not the desk's last).
pub async fn delete_stage(state: &AppState, actor: &Actor, desk_id: i64, stage_id: i64) -> Result<(), DeskError> {
    actor.require(Permission::ManageDesks)?;
    stage_of(state, desk_id, stage_id).await?;
    Ok(state.store.delete_desk_stage(stage_id, &actor.audit("desk.stage.delete", "desk", desk_id, "")).await?)
}

/// Refuses unless `actor` may move or assign story `news_id`: a member of the
/// desk it is on (if any) and of `to` (if given), its author when a
/// reporter, and within the section scope.
async fn check_story(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    to: Option<&Desk>,
) -> Result<Option<StoryPlace>, DeskError> {
    actor.require(Permission::WriteStories)?;
    let (story, extras) = load(state, news_id).await?;
    super::spike::refuse_spiked(&story, &extras)?;
    let place = state.store.story_place(news_id).await?;
    if let Some(p) = &place {
        require_member(state, actor, &desk(state, p.desk_id).await?).await?;
    }
    if let Some(d) = to {
        require_member(state, actor, d).await?;
    }
    if actor.role == Role::Reporter && !actor.owns(&extras) {
        return Err(DeskError::Forbidden(format!(
            "Reporters move and assign only their own stories; story {news_id} is someone else's."
        )));
    }
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Exempt).await?;
    Ok(place)
}

/// Puts story `news_id` on desk `desk_id`, in stage `stage_id` (the desk's
/// first stage when `None`). A stage of another desk is refused.
pub async fn move_story(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    desk_id: i64,
    stage_id: Option<i64>,
) -> Result<StoryPlace, DeskError> {
    let to = desk(state, desk_id).await?;
    if let Some(s) = stage_id {
        match state.store.desk_stage(s).await? {
            None => return Err(DeskError::NotFound(format!("There is no stage {s}."))),
            Some(st) if st.desk_id != desk_id => {
                return Err(DeskError::Invalid(vec![FieldError::new(
                    "stage",
                    format!(
                        "The stage “{}” is on another desk than “{}”; choose one of its own stages.",
                        st.name, to.name
                    ),
                )]));
            }
            Some(_) => {}
        }
    }
    check_story(state, actor, news_id, Some(&to)).await?;
    let audit = actor.audit("story.desk.move", "story", news_id, "");
    Ok(state.store.place_story_by(news_id, desk_id, stage_id, actor.user(), Utc::now(), &audit).await?)
}

/// Takes story `news_id` off its desk; whether it was on one.
pub async fn remove_story(state: &AppState, actor: &Actor, news_id: i64) -> Result<bool, DeskError> {
    check_story(state, actor, news_id, None).await?;
    Ok(state.store.remove_story_from_desk(news_id, &actor.audit("story.desk.remove", "story", news_id, "")).await?)
}

/// Assigns story `news_id` (on a desk) to `assignee`, a member of that desk, or to nobody.
pub async fn assign(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    assignee: Option<i64>,
) -> Result<StoryPlace, DeskError> {
    let Some(place) = check_story(state, actor, news_id, None).await? else {
        return Err(DeskError::Invalid(vec![FieldError::new(
            "assignee",
            format!("Story {news_id} is on no desk; put it on one first."),
        )]));
    };
    if let Some(user) = assignee
        && !state.store.is_desk_member(place.desk_id, user).await?
    {
        return Err(DeskError::Invalid(vec![FieldError::new(
            "assignee",
            "Only a member of the story's desk can be assigned.",
        )]));
    }
    Ok(state.store.assign_story(news_id, assignee, &actor.audit("story.desk.assign", "story", news_id, "")).await?)
}

/// A desk's board: its stages in order, the stories `filter` selects (the
/// actor's own assignments first in each stage), and how many stories each
/// stage holds (unfiltered).
pub struct Board {
    /// The desk.
    pub desk: Desk,
    /// Its stages, in order.
    pub stages: Vec<DeskStage>,
    /// The stories shown.
    pub cards: Vec<BoardCard>,
    /// `(stage_id, stories in it)`.
    pub counts: Vec<(i64, i64)>,
}

/// The board of desk `desk_id` for `actor` (members and admins).
pub async fn board(state: &AppState, actor: &Actor, desk_id: i64, mut filter: BoardFilter) -> Result<Board, DeskError> {
    let desk = desk(state, desk_id).await?;
    require_member(state, actor, &desk).await?;
    filter.desk_id = Some(desk_id);
    let mut cards = state.store.board_cards(&filter).await?;
    // Stable: within "mine first" the most recently moved stay first.
    cards.sort_by_key(|c| c.place.assignee_id != Some(actor.user_id));
    let stages = state.store.desk_stages(desk_id).await?;
    let counts = state.store.desk_stage_counts(desk_id).await?;
    Ok(Board { desk, stages, cards, counts })
}

/// The stories assigned to `actor`, on every desk.
pub async fn mine(state: &AppState, actor: &Actor) -> Result<Vec<BoardCard>, DeskError> {
    actor.require(Permission::WriteStories)?;
    Ok(state.store.board_cards(&BoardFilter { assignee_id: Some(actor.user_id), ..BoardFilter::default() }).await?)
}

/// The desks `actor` works on: all for admins, their own for others.
pub async fn desks_of(state: &AppState, actor: &Actor) -> Result<Vec<newsdesk_storage::DeskSummary>, DeskError> {
    actor.require(Permission::WriteStories)?;
    let member_of = if actor.role == Role::Admin { None } else { Some(actor.user_id) };
    Ok(state.store.desk_list(member_of).await?)
}
