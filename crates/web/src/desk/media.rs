//! Photo commands: an upload, a new caption and credit.

use newsdesk_domain::roles::Permission;
use newsdesk_domain::{Photo, StoryStatus};
use newsdesk_storage::{NewPhoto, NewRendition};

use super::{Actor, Changed, DeskError, FieldError};
use crate::AppState;

/// Longest caption, in characters.
pub const MAX_CAPTION: usize = 1_000;
/// Longest credit, in characters.
pub const MAX_CREDIT: usize = 200;

/// Cleans a caption or credit: one line, trimmed, within `max` characters,
/// without control characters ([`newsdesk_domain::text`]).
pub fn photo_text(field: &'static str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.chars().count() > max {
        return Err(FieldError::new(field, format!("The {field} is longer than {max} characters.")));
    }
    if let Some(problem) = newsdesk_domain::text::check(field, &v) {
        return Err(FieldError::new(field, problem));
    }
    Ok(v)
}

/// Stores an upload (decoded, cleaned and rendered by [`crate::media`]) with
/// its renditions; the same bytes again give the same photo.
pub async fn add_photo(
    state: &AppState,
    actor: &Actor,
    photo: &NewPhoto,
    renditions: &[NewRendition],
) -> Result<Photo, DeskError> {
    actor.require(Permission::UploadMedia)?;
    // An empty target id is the photo's id, filled in by the store.
    let audit = actor.audit("media.upload", "photo", "", &photo.caption);
    Ok(state.store.add_photo(photo, renditions, &audit).await?)
}

/// Who may change the caption and credit of photo `id`: anyone who uploads
/// while only drafts (or killed stories) show it; once a story that readers
/// see, or will see, shows it, only who may edit that story: an editor whose
/// sections cover it, or an admin.
pub async fn check_photo_text(state: &AppState, actor: &Actor, id: i64) -> Result<(), DeskError> {
    for story in state.store.photo_uses(id).await? {
        if matches!(story.status, StoryStatus::Draft | StoryStatus::Killed) {
            continue;
        }
        if !actor.can(Permission::EditAnyStory) || !actor.covers(state, story.section_id).await? {
            return Err(DeskError::Forbidden(format!(
                "Photo {id} is the lead photo of story {} ({}); only those who may edit that story can change \
                 the photo's caption and credit. Ask an editor of its section.",
                story.news_id,
                story.status.as_str()
            )));
        }
    }
    Ok(())
}

/// Gives photo `id` a new caption and credit ([`check_photo_text`] decides
/// who may); every story showing it changes.
pub async fn edit_photo(
    state: &AppState,
    actor: &Actor,
    id: i64,
    caption: &str,
    credit: &str,
) -> Result<(Photo, Changed), DeskError> {
    actor.require(Permission::UploadMedia)?;
    let mut errors = Vec::new();
    let caption = photo_text("caption", caption, MAX_CAPTION).unwrap_or_else(|e| {
        errors.push(e);
        String::new()
    });
    let credit = photo_text("credit", credit, MAX_CREDIT).unwrap_or_else(|e| {
        errors.push(e);
        String::new()
    });
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    check_photo_text(state, actor, id).await?;
    let audit = actor.audit("media.edit", "photo", id, &caption);
    let photo = state
        .store
        .update_photo_text(id, &caption, &credit, &audit)
        .await?
        .ok_or_else(|| DeskError::NotFound(format!("There is no photo {id}.")))?;
    let stories = state.store.stories_with_photo(id).await?;
    Ok((photo, Changed { stories }))
}
