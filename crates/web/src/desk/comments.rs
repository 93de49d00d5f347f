//! Comment commands: moderate comments (one or many), open or close a story for comments.

use chrono::Utc;
use newsdesk_domain::comments::CommentStatus;
use newsdesk_domain::roles::Permission;

use super::{Actor, Changed, DeskError, OwnDrafts, check_scope, load};
use crate::AppState;

/// Most comments one moderation may touch.
pub const MAX_BULK: usize = 500;

/// Sets the status of comments `ids` (approve, reject, spam, back to pending).
/// The actor must cover the section of every story the comments are on.
pub async fn moderate_comments(
    state: &AppState,
    actor: &Actor,
    ids: &[i64],
    status: CommentStatus,
) -> Result<Changed, DeskError> {
    actor.require(Permission::ModerateComments)?;
    let Some(first) = ids.first() else {
        return Err(DeskError::invalid("Tick at least one comment first."));
    };
    if ids.len() > MAX_BULK {
        return Err(DeskError::invalid(format!("At most {MAX_BULK} comments at once.")));
    }
    let mut stories: Vec<i64> = Vec::new();
    for id in ids {
        if let Some(c) = state.store.comment(*id).await?
            && !stories.contains(&c.news_id)
        {
            stories.push(c.news_id);
        }
    }
    for news_id in stories {
        let (story, extras) = load(state, news_id).await?;
        check_scope(state, actor, (&story, &extras), None, OwnDrafts::Scoped).await?;
    }
    let detail = format!("{} → {}", ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","), status.as_str());
    let audit = actor.audit("comment.moderate", "comment", first, detail);
    let changed = state.store.moderate_comments(ids, status, &audit, Utc::now()).await?;
    Ok(Changed { stories: changed })
}

/// Opens (`closed = false`) or closes a story for comments.
pub async fn close_comments(state: &AppState, actor: &Actor, news_id: i64, closed: bool) -> Result<Changed, DeskError> {
    actor.require(Permission::ModerateComments)?;
    let (story, extras) = load(state, news_id).await?;
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Scoped).await?;
    let audit = actor.audit("comment.story", "story", news_id, if closed { "closed" } else { "opened" });
    if !state.store.set_comments_closed(news_id, closed, &audit).await? {
        return Err(DeskError::NotFound(format!("There is no story {news_id}.")));
    }
    Ok(Changed::story(news_id, story.edition_id))
}
