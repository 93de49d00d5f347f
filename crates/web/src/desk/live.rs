//! Live blog commands: start or end the coverage, post, change and remove updates.
//!
//! Who may: whoever may edit the story (`check_edit`) within their
//! sections (`check_scope`) — reporters on their own drafts (a live blog
//! being prepared), editors and admins on any story that is not killed. Posting
//! to a published live blog is a public change, like editing the published
//! story, so reporters cannot; they prepare updates in their draft, or an editor
//! posts them.

use newsdesk_domain::limits::{MAX_BODY, MAX_HEADLINE};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{Story, StoryStatus, text};
use newsdesk_storage::{LiveUpdate, LiveUpdateInput, StoryExtras};

use super::{Actor, Changed, DeskError, FieldError, OwnDrafts, check_edit, check_scope, load};
use crate::AppState;

/// Longest update body, in characters: a live update is short.
pub const MAX_UPDATE_BODY: usize = 20_000;

/// The fields of an update a command writes; `None` keeps the update's value
/// (for a new update: no headline, no photo, not pinned).
#[derive(Debug, Clone, Default)]
pub struct UpdateChanges {
    /// Optional headline (trimmed; empty: none).
    pub headline: Option<String>,
    /// Body as written, in the story's body format (required for a new update).
    pub body: Option<String>,
    /// A photo of the media library: `Some(None)` removes it.
    pub photo_id: Option<Option<i64>>,
    /// Pin it to the top (unpins the other).
    pub pinned: Option<bool>,
}

/// Loads the story and checks the actor may change its live blog.
async fn editable(state: &AppState, actor: &Actor, news_id: i64) -> Result<(Story, StoryExtras), DeskError> {
    actor.require(Permission::WriteStories)?;
    let (story, extras) = load(state, news_id).await?;
    check_edit(actor, &story, &extras)?;
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Exempt).await?;
    Ok((story, extras))
}

/// What a change of the live blog drops from the caches: the story's pages,
/// once it is public.
fn changed_of(story: &Story) -> Changed {
    if story.status == StoryStatus::Published {
        Changed::story(story.news_id, story.edition_id)
    } else {
        Changed::default()
    }
}

/// Starts (`true`) or ends (`false`) the live coverage of a story (starting
/// again reopens it). Nothing changes when it is already so.
pub async fn set_live(state: &AppState, actor: &Actor, news_id: i64, live: bool) -> Result<Changed, DeskError> {
    let (story, _) = editable(state, actor, news_id).await?;
    let action = if live { "story.live_start" } else { "story.live_end" };
    let audit = actor.audit(action, "story", news_id, &story.headline);
    if state.store.set_live(news_id, live, &audit).await? { Ok(changed_of(&story)) } else { Ok(Changed::default()) }
}

/// Checks an update's fields (merged over `old`, if any) for the story.
async fn validate(
    state: &AppState,
    story: &Story,
    old: Option<&LiveUpdate>,
    c: UpdateChanges,
) -> Result<LiveUpdateInput, DeskError> {
    let mut errors = Vec::new();
    let headline = c.headline.map(|h| text::normalize_newlines(h.trim()).into_owned());
    let headline = headline.or_else(|| old.map(|u| u.headline.clone())).unwrap_or_default();
    if headline.chars().count() > MAX_HEADLINE {
        errors.push(FieldError::new("headline", format!("The headline is longer than {MAX_HEADLINE} characters.")));
    }
    if let Some(problem) = text::check("headline", &headline) {
        errors.push(FieldError::new("headline", problem));
    }
    let body = c.body.map(|b| text::normalize_newlines(b.trim()).into_owned());
    let body = body.or_else(|| old.map(|u| u.body_source.clone())).unwrap_or_default();
    if body.is_empty() {
        errors.push(FieldError::new("body", "Write the update: its body is empty."));
    }
    if body.chars().count() > MAX_UPDATE_BODY.min(MAX_BODY) {
        errors.push(FieldError::new("body", format!("An update is at most {MAX_UPDATE_BODY} characters.")));
    }
    if let Some(problem) = text::check("body", &body) {
        errors.push(FieldError::new("body", problem));
    }
    let photo_id = match c.photo_id {
        Some(Some(id)) => {
            if id < 1 || state.store.photo(id).await?.is_none() {
                errors.push(FieldError::new(
                    "photo_id",
                    format!("There is no photo {id} in the media library: upload it or choose another."),
                ));
            }
            Some(id)
        }
        Some(None) => None,
        None => old.and_then(|u| u.photo.as_ref().map(|p| p.id)),
    };
    super::stories::check_blocks(state, &mut errors, story.body_format, &body).await?;
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    crate::embeds::prepare(state, story.body_format, &body).await;
    Ok(LiveUpdateInput {
        headline,
        body_source: body,
        // The story's format, always: an update reads like the story around it.
        body_format: story.body_format,
        photo_id,
        pinned: c.pinned.or(old.map(|u| u.pinned)).unwrap_or(false),
    })
}

/// Posts an update to a live blog whose coverage runs.
pub async fn add_update(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    c: UpdateChanges,
) -> Result<(LiveUpdate, Changed), DeskError> {
    let (story, _) = editable(state, actor, news_id).await?;
    if !story.is_live_blog() {
        return Err(DeskError::conflict(format!(
            "Story {news_id} is not a live blog: start its live coverage first (\"live\": true)."
        )));
    }
    if !story.is_live_now() {
        return Err(DeskError::conflict(format!(
            "The live coverage of story {news_id} has ended: reopen it (\"live\": true) to post again."
        )));
    }
    let input = validate(state, &story, None, c).await?;
    let audit = actor.audit("story.live_update", "story", news_id, short(&input));
    let update = state.store.add_live_update(news_id, &input, &audit).await?;
    Ok((update, changed_of(&story)))
}

/// Changes an update (any field; pinning one unpins the other).
pub async fn edit_update(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    update_id: i64,
    c: UpdateChanges,
) -> Result<(LiveUpdate, Changed), DeskError> {
    let (story, _) = editable(state, actor, news_id).await?;
    let old = find(state, news_id, update_id).await?;
    let input = validate(state, &story, Some(&old), c).await?;
    let audit =
        actor.audit("story.live_update_edit", "story", news_id, format!("update {update_id}: {}", short(&input)));
    let update = state
        .store
        .edit_live_update(news_id, update_id, &input, &audit)
        .await?
        .ok_or_else(|| not_found(news_id, update_id))?;
    Ok((update, changed_of(&story)))
}

/// Removes an update.
pub async fn delete_update(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    update_id: i64,
) -> Result<Changed, DeskError> {
    let (story, _) = editable(state, actor, news_id).await?;
    let old = find(state, news_id, update_id).await?;
    let detail = format!("update {update_id}: {}", old.body_source.chars().take(80).collect::<String>());
    let audit = actor.audit("story.live_update_delete", "story", news_id, detail);
    if !state.store.delete_live_update(news_id, update_id, &audit).await? {
        return Err(not_found(news_id, update_id));
    }
    Ok(changed_of(&story))
}

async fn find(state: &AppState, news_id: i64, update_id: i64) -> Result<LiveUpdate, DeskError> {
    state.store.live_update(news_id, update_id).await?.ok_or_else(|| not_found(news_id, update_id))
}

fn not_found(news_id: i64, update_id: i64) -> DeskError {
    DeskError::NotFound(format!("Story {news_id} has no update {update_id}."))
}

/// The audit log's short description of an update.
fn short(input: &LiveUpdateInput) -> String {
    let text = if input.headline.is_empty() { &input.body_source } else { &input.headline };
    text.chars().take(80).collect()
}
