//! Spiking: a reporter takes their own draft (or submitted story) out of the
//! newsroom, an editor any such story in their sections; it leaves every desk
//! and list, shows under "Spiked", can be unspiked, and is purged after the
//! site's `spike_expiry_days` ([`purge_due`], run by the scheduler). A story
//! that was ever published is never spiked: unpublish and kill are for that.

use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{Story, StoryStatus};
use newsdesk_storage::{SpikedStory, StoryExtras};

use super::{Actor, DeskError, OwnDrafts, check_scope, load};
use crate::AppState;

/// How long a spiked story is kept before it is purged, by default.
pub const SPIKE_EXPIRY_DAYS: u32 = 30;

/// Refuses a change of a spiked story (editing, a workflow step, a desk move).
pub(crate) fn refuse_spiked(story: &Story, extras: &StoryExtras) -> Result<(), DeskError> {
    if extras.spiked_at.is_some() {
        return Err(DeskError::conflict(format!("Story {} is spiked: unspike it before changing it.", story.news_id)));
    }
    Ok(())
}

/// Who may spike or unspike: a reporter their own stories, editors and
/// admins any story within their section scope.
async fn check_who(state: &AppState, actor: &Actor, story: &Story, extras: &StoryExtras) -> Result<(), DeskError> {
    actor.require(Permission::WriteStories)?;
    if !actor.owns(extras) && !actor.can(Permission::EditAnyStory) {
        return Err(DeskError::Forbidden(format!(
            "Reporters spike and unspike only their own stories; story {} is someone else's.",
            story.news_id
        )));
    }
    check_scope(state, actor, (story, extras), None, OwnDrafts::Exempt).await
}

/// Whether a story in this state may be spiked, and if not, why (for a 409).
fn check_spikeable(story: &Story) -> Result<(), DeskError> {
    let id = story.news_id;
    match story.status {
        StoryStatus::Draft | StoryStatus::Submitted if story.published_at.is_none() => Ok(()),
        StoryStatus::Published => Err(DeskError::conflict(format!(
            "Story {id} is published and cannot be spiked: unpublish it to take it down, or kill it for legal reasons."
        ))),
        StoryStatus::Scheduled => {
            Err(DeskError::conflict(format!("Story {id} is scheduled: unschedule it first, then spike it.")))
        }
        other => Err(DeskError::conflict(format!(
            "Story {id} is {} and was published once: only stories never published can be spiked.",
            other.as_str()
        ))),
    }
}

/// Spikes story `news_id` at `now`, with its audit entry.
pub async fn spike(state: &AppState, actor: &Actor, news_id: i64, now: DateTime<Utc>) -> Result<(), DeskError> {
    let (story, extras) = load(state, news_id).await?;
    check_who(state, actor, &story, &extras).await?;
    if extras.spiked_at.is_some() {
        return Err(DeskError::conflict(format!("Story {news_id} is spiked already.")));
    }
    check_spikeable(&story)?;
    let audit = actor.audit("story.spike", "story", news_id, &story.headline);
    state.store.spike(news_id, Some(actor.user_id), now, &audit).await.map_err(|e| match e {
        // The story moved on between the check and the transaction.
        newsdesk_storage::StoreError::Invalid(m) => DeskError::conflict(m),
        e => e.into(),
    })
}

/// Takes story `news_id` off the spike, with its audit entry: it is listed
/// again and back on the desk stage it was in.
pub async fn unspike(state: &AppState, actor: &Actor, news_id: i64, now: DateTime<Utc>) -> Result<(), DeskError> {
    let (story, extras) = load(state, news_id).await?;
    check_who(state, actor, &story, &extras).await?;
    if extras.spiked_at.is_none() {
        return Err(DeskError::conflict(format!("Story {news_id} is not spiked.")));
    }
    let audit = actor.audit("story.unspike", "story", news_id, &story.headline);
    state.store.unspike(news_id, Some(actor.user_id), now, &audit).await.map_err(|e| match e {
        newsdesk_storage::StoreError::Invalid(m) => DeskError::conflict(m),
        e => e.into(),
    })
}

/// The spiked stories `actor` may see: their own for reporters, all for the others.
pub async fn spiked(state: &AppState, actor: &Actor) -> Result<Vec<SpikedStory>, DeskError> {
    actor.require(Permission::WriteStories)?;
    let own = (!actor.can(Permission::EditAnyStory)).then_some(actor.user_id);
    Ok(state.store.spiked_stories(None, own).await?)
}

/// When a story spiked at `spiked_at` is purged.
pub fn purge_time(state: &AppState, spiked_at: DateTime<Utc>) -> DateTime<Utc> {
    spiked_at + Duration::days(i64::from(state.config.spike_expiry_days))
}

/// Purges every story spiked longer than `spike_expiry_days` before `now`;
/// returns their News IDs. Safe on several nodes at once (each story is deleted once).
pub async fn purge_due(state: &AppState, now: DateTime<Utc>) -> Result<Vec<i64>, newsdesk_storage::StoreError> {
    let cutoff = now - Duration::days(i64::from(state.config.spike_expiry_days));
    let ids = state.store.purge_spiked(cutoff).await?;
    for id in &ids {
        tracing::info!(news_id = id, "spiked story purged");
    }
    Ok(ids)
}
