//! Breaking news: an editor marks a published story as breaking until an
//! expiry (by default two hours), or clears it. The banner is one of the
//! edition's shared page fragments (see [`crate::cache`]): a mark or a clear
//! drops this node's fragments at once and the others' through the change
//! log, and the fragments are rebuilt at the expiry without any change.

use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::StoryStatus;
use newsdesk_domain::roles::Permission;
use newsdesk_storage::BreakingItem;

use super::{Actor, DeskError, FieldError, OwnDrafts, check_scope, load};
use crate::AppState;

/// Longest a story stays breaking news: a week.
pub const MAX_BREAKING_MINUTES: i64 = 7 * 24 * 60;

/// The actor of breaking news raised by urgency, in the audit log.
pub const AUTO: &str = "auto";

/// Breaking-news settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakingSettings {
    /// How long a story stays breaking when the editor names no expiry, in minutes.
    pub default_minutes: i64,
    /// Stories published with an urgency at or below this (1 flash … 8) become
    /// breaking automatically; `None`: never.
    pub auto_urgency: Option<i64>,
}

impl Default for BreakingSettings {
    fn default() -> Self {
        BreakingSettings { default_minutes: 120, auto_urgency: None }
    }
}

/// Until when a story is breaking, as a surface received it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BreakingUntil {
    /// The configured default (two hours).
    #[default]
    Default,
    /// This many minutes from now.
    Minutes(i64),
    /// An RFC 3339 time with an offset.
    At(String),
}

fn invalid(field: &'static str, message: impl Into<String>) -> DeskError {
    DeskError::Invalid(vec![FieldError::new(field, message)])
}

/// The expiry `until` names, checked: in the future, at most a week away.
pub fn expiry(state: &AppState, until: &BreakingUntil, now: DateTime<Utc>) -> Result<DateTime<Utc>, DeskError> {
    let limit = now + Duration::minutes(MAX_BREAKING_MINUTES);
    match until {
        BreakingUntil::Default => Ok(now + Duration::minutes(state.config.breaking.default_minutes)),
        BreakingUntil::Minutes(m) if (1..=MAX_BREAKING_MINUTES).contains(m) => Ok(now + Duration::minutes(*m)),
        BreakingUntil::Minutes(m) => {
            Err(invalid("minutes", format!("minutes must be from 1 to {MAX_BREAKING_MINUTES} (a week), not {m}.")))
        }
        BreakingUntil::At(s) => {
            let at = DateTime::parse_from_rfc3339(s.trim()).map(|d| d.with_timezone(&Utc)).map_err(|_| {
                invalid(
                    "expires_at",
                    format!(
                        "expires_at must be an RFC 3339 time with an offset, like 2026-11-27T16:30:00+03:30, not “{}”.",
                        s.trim()
                    ),
                )
            })?;
            if at <= now {
                return Err(invalid("expires_at", "expires_at is in the past: the banner would never show."));
            }
            if at > limit {
                return Err(invalid("expires_at", "expires_at is more than a week away."));
            }
            Ok(at)
        }
    }
}

/// Marks published story `news_id` as breaking news until `until` (editors,
/// within their sections), with its audit entry; drops this node's banner
/// fragments (other nodes follow the change log).
pub async fn mark(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    until: &BreakingUntil,
    now: DateTime<Utc>,
) -> Result<BreakingItem, DeskError> {
    actor.require(Permission::Publish)?;
    let (story, extras) = load(state, news_id).await?;
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Scoped).await?;
    if story.status != StoryStatus::Published {
        return Err(DeskError::conflict(format!(
            "Story {news_id} is {}: only a published story can be breaking news.",
            story.status.as_str()
        )));
    }
    let expires_at = expiry(state, until, now)?;
    let detail = format!("breaking until {}", expires_at.to_rfc3339());
    let audit = actor.audit("story.breaking", "story", news_id, detail);
    let edition_id = state.store.mark_breaking(news_id, expires_at, Some(actor.user_id), now, &audit).await.map_err(
        |e| match e {
            newsdesk_storage::StoreError::Invalid(m) => DeskError::conflict(m),
            e => e.into(),
        },
    )?;
    state.chrome.invalidate(&edition_id);
    state
        .store
        .breaking_of(news_id)
        .await?
        .ok_or_else(|| DeskError::Internal(format!("breaking mark of {news_id} not found after saving it")))
}

/// Clears story `news_id`'s breaking-news mark (editors, within their
/// sections); returns whether it had one. Drops this node's banner fragments.
pub async fn clear(state: &AppState, actor: &Actor, news_id: i64) -> Result<bool, DeskError> {
    actor.require(Permission::Publish)?;
    let (story, extras) = load(state, news_id).await?;
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Scoped).await?;
    let audit = actor.audit("story.breaking_clear", "story", news_id, &story.headline);
    match state.store.clear_breaking(news_id, &audit).await? {
        Some(edition_id) => {
            state.chrome.invalidate(&edition_id);
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Makes story `news_id`, just published, breaking news for the default
/// time when its urgency is at or below `breaking.auto_urgency` (audited as
/// [`AUTO`]). The publish has happened: a failure here is logged, not returned.
pub async fn auto_raise(state: &AppState, news_id: i64, now: DateTime<Utc>) {
    let Some(limit) = state.config.breaking.auto_urgency else { return };
    let raise = async {
        let Some(story) = state.store.story(news_id).await? else { return Ok(false) };
        if story.status != StoryStatus::Published || story.agency.urgency > limit {
            return Ok(false);
        }
        let expires_at = now + Duration::minutes(state.config.breaking.default_minutes);
        let detail =
            format!("urgency {} at or below {limit}: breaking until {}", story.agency.urgency, expires_at.to_rfc3339());
        let audit = newsdesk_storage::AuditEntry::system(AUTO, "story.breaking", "story", news_id, &detail);
        let edition_id = state.store.mark_breaking(news_id, expires_at, None, now, &audit).await?;
        state.chrome.invalidate(&edition_id);
        Ok::<_, newsdesk_storage::StoreError>(true)
    };
    match raise.await {
        Ok(true) => tracing::info!(news_id, "urgent story raised as breaking news"),
        Ok(false) => {}
        Err(e) => tracing::warn!(news_id, error = %e, "raising an urgent story as breaking news failed"),
    }
}

/// The active breaking news of every edition, newest first (editors).
pub async fn active(state: &AppState, actor: &Actor, now: DateTime<Utc>) -> Result<Vec<BreakingItem>, DeskError> {
    actor.require(Permission::Publish)?;
    Ok(state.store.active_breaking(None, now).await?)
}
