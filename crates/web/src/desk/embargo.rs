//! Embargoed pre-release: an editor releases a scheduled story to the wire
//! before its time. Subscribers that take embargoed copy get it (pull and
//! webhooks) with its embargo; every public surface shows nothing of it until
//! the scheduler publishes it. The release ends when the story leaves the
//! schedule: published (everyone gets it), or unscheduled (those who got it
//! are told it is withheld).

use chrono::{DateTime, Utc};
use newsdesk_domain::StoryStatus;
use newsdesk_domain::roles::Permission;
use newsdesk_storage::{StoreError, WireRelease};

use super::{Actor, Changed, DeskError, OwnDrafts, check_scope, load, spike};
use crate::AppState;

/// Releases scheduled story `news_id` to the wire at `now`, with its audit
/// entry (`story.release`). Needs the right to publish in the story's section.
pub async fn release(state: &AppState, actor: &Actor, news_id: i64, now: DateTime<Utc>) -> Result<Changed, DeskError> {
    actor.require(Permission::Publish)?;
    let (story, extras) = load(state, news_id).await?;
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Scoped).await?;
    spike::refuse_spiked(&story, &extras)?;
    if story.status != StoryStatus::Scheduled {
        return Err(DeskError::conflict(format!(
            "Story {news_id} is {}: only a scheduled story can be released to the wire ahead of its time.",
            story.status.as_str()
        )));
    }
    if state.store.wire_release(news_id).await?.is_some() {
        return Err(DeskError::conflict(format!("Story {news_id} is released to the wire already.")));
    }
    let until = extras.scheduled_at.map(newsdesk_domain::ninjs::time).unwrap_or_default();
    let audit = actor.audit("story.release", "story", news_id, format!("embargoed until {until}: {}", story.headline));
    let edition_id =
        state.store.release_to_wire(news_id, Some(actor.user_id), now, &audit).await.map_err(|e| match e {
            // The story moved on between the check and the transaction.
            StoreError::Invalid(m) => DeskError::conflict(m),
            e => e.into(),
        })?;
    Ok(Changed::story(news_id, edition_id))
}

/// The release of story `news_id`, while it is scheduled and released.
pub async fn release_of(state: &AppState, news_id: i64) -> Result<Option<WireRelease>, DeskError> {
    Ok(state.store.wire_release(news_id).await?)
}
