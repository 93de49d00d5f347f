//! Edit locks: opening a story in the editor takes its lock, a lease in the
//! database that the editor's heartbeat renews ([`LEASE`], [`HEARTBEAT`]).
//! Others see who is editing and get the story read-only, or take it over;
//! the first editor learns of it at their next heartbeat. A lock only tells
//! people apart: saves stay checked against the version they were based on.
//!
//! Whoever may edit the story may lock it (the edit rule and the section
//! scope of [`super::update`]). `now` is a parameter so that tests can move
//! the clock past a lease without sleeping.

use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::roles::Permission;
use newsdesk_storage::{Heartbeat, LockOutcome, LockUser, StoryLock};

use super::{Actor, DeskError, OwnDrafts, check_edit, check_scope, load};
use crate::AppState;

/// How long a lock lasts without a heartbeat.
pub const LEASE: Duration = Duration::seconds(90);

/// How often the editor page renews its lock (a third of the lease: two
/// missed beats do not lose it).
pub const HEARTBEAT: Duration = Duration::seconds(30);

/// Refuses unless `actor` may edit story `news_id` (role, ownership, section scope).
async fn check_may_edit(state: &AppState, actor: &Actor, news_id: i64) -> Result<(), DeskError> {
    actor.require(Permission::WriteStories)?;
    let (story, extras) = load(state, news_id).await?;
    check_edit(actor, &story, &extras)?;
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Exempt).await
}

fn user_of(actor: &Actor) -> LockUser<'_> {
    LockUser { user_id: actor.user_id, name: &actor.name }
}

/// Takes the lock of story `news_id` for `actor` (or renews theirs). With
/// `takeover` also from someone else's live lock, audited as
/// `story.lock.takeover`; without, someone else's live lock answers
/// [`LockOutcome::Busy`] and nothing changes.
pub async fn take(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    now: DateTime<Utc>,
    takeover: bool,
) -> Result<LockOutcome, DeskError> {
    check_may_edit(state, actor, news_id).await?;
    let audit = actor.audit("story.lock.takeover", "story", news_id, "");
    let audit = if takeover { Some(&audit) } else { None };
    Ok(state.store.take_lock(news_id, user_of(actor), now, LEASE, audit).await?)
}

/// The editor's heartbeat: renews `actor`'s lock. A lock that ran out
/// unnoticed is taken again when nobody else took it meanwhile; otherwise the
/// answer is [`Heartbeat::Lost`] with the one who holds it now. One who may
/// no longer edit the story (it was submitted, published, killed, moved out of
/// their sections) is refused and their lock given up.
pub async fn heartbeat(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    now: DateTime<Utc>,
) -> Result<Heartbeat, DeskError> {
    if let Err(e) = check_may_edit(state, actor, news_id).await {
        if matches!(e, DeskError::Forbidden(_) | DeskError::Conflict { .. }) {
            state.store.release_lock(news_id, actor.user_id).await?;
        }
        return Err(e);
    }
    match state.store.heartbeat_lock(news_id, actor.user_id, now, LEASE).await? {
        Heartbeat::Lost(None) => match state.store.take_lock(news_id, user_of(actor), now, LEASE, None).await? {
            LockOutcome::Taken(lock) | LockOutcome::TookOver { lock, .. } => Ok(Heartbeat::Renewed(lock)),
            LockOutcome::Busy(other) => Ok(Heartbeat::Lost(Some(other))),
        },
        beat => Ok(beat),
    }
}

/// Gives up `actor`'s lock of story `news_id` (leaving the editor); whether
/// they held one. Nobody releases someone else's lock: that is a take-over.
pub async fn release(state: &AppState, actor: &Actor, news_id: i64) -> Result<bool, DeskError> {
    actor.require(Permission::WriteStories)?;
    load(state, news_id).await?;
    Ok(state.store.release_lock(news_id, actor.user_id).await?)
}

/// The live lock of story `news_id` at `now`, if any (for showing it).
pub async fn lock_of(state: &AppState, news_id: i64, now: DateTime<Utc>) -> Result<Option<StoryLock>, DeskError> {
    Ok(state.store.lock_of(news_id, now).await?)
}
