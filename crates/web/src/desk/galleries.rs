//! Gallery commands: create a gallery, change its title and photos (order,
//! per-use caption and credit). Galleries belong to the media library: who
//! may upload photos may make them; changing one that a public story shows
//! changes that story, so it needs the right to edit that story (as a
//! photo's own caption does, [`super::check_photo_text`]).

use newsdesk_domain::gallery::{
    Gallery, MAX_GALLERY_CAPTION, MAX_GALLERY_CREDIT, MAX_GALLERY_ITEMS, MAX_GALLERY_TITLE,
};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{StoryStatus, text};
use newsdesk_storage::GalleryItemInput;

use super::{Actor, Changed, DeskError, FieldError};
use crate::AppState;

/// A gallery's title as typed, checked: one trimmed line within its limit.
fn clean_title(errors: &mut Vec<FieldError>, title: &str) -> String {
    let t = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        errors.push(FieldError::new("title", "The gallery needs a title."));
    } else if t.chars().count() > MAX_GALLERY_TITLE {
        errors.push(FieldError::new("title", format!("The title is longer than {MAX_GALLERY_TITLE} characters.")));
    } else if let Some(problem) = text::check("title", &t) {
        errors.push(FieldError::new("title", problem));
    }
    t
}

/// Checks a gallery's photos: at most [`MAX_GALLERY_ITEMS`], each in the
/// library, captions and credits one line within their limits.
async fn clean_items(
    state: &AppState,
    errors: &mut Vec<FieldError>,
    items: &[GalleryItemInput],
) -> Result<Vec<GalleryItemInput>, DeskError> {
    if items.len() > MAX_GALLERY_ITEMS {
        errors.push(FieldError::new("photo_id", format!("A gallery holds at most {MAX_GALLERY_ITEMS} photos.")));
    }
    let mut out = Vec::with_capacity(items.len());
    for (n, it) in items.iter().enumerate() {
        let line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let (caption, credit) = (line(&it.caption), line(&it.credit));
        if it.photo_id < 1 || state.store.photo(it.photo_id).await?.is_none() {
            errors.push(FieldError::new(
                "photo_id",
                format!("There is no photo {} in the media library (photo {} of the gallery).", it.photo_id, n + 1),
            ));
        }
        if caption.chars().count() > MAX_GALLERY_CAPTION {
            errors.push(FieldError::new(
                "caption",
                format!("The caption of photo {} is longer than {MAX_GALLERY_CAPTION} characters.", n + 1),
            ));
        }
        if credit.chars().count() > MAX_GALLERY_CREDIT {
            errors.push(FieldError::new(
                "credit",
                format!("The credit of photo {} is longer than {MAX_GALLERY_CREDIT} characters.", n + 1),
            ));
        }
        for (field, value) in [("caption", &caption), ("credit", &credit)] {
            if let Some(problem) = text::check(field, value) {
                errors.push(FieldError::new(field, problem));
            }
        }
        out.push(GalleryItemInput { photo_id: it.photo_id, caption, credit });
    }
    Ok(out)
}

/// Creates a gallery of `items`; returns it.
pub async fn create_gallery(
    state: &AppState,
    actor: &Actor,
    title: &str,
    items: &[GalleryItemInput],
) -> Result<Gallery, DeskError> {
    actor.require(Permission::UploadMedia)?;
    let mut errors = Vec::new();
    let title = clean_title(&mut errors, title);
    let items = clean_items(state, &mut errors, items).await?;
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    let audit = actor.audit("gallery.create", "gallery", "", &title);
    Ok(state.store.create_gallery(&title, &items, &audit).await?)
}

/// Changes gallery `id` (based on its `version`: a change made meanwhile is
/// a conflict); returns it and the stories whose pages changed.
pub async fn save_gallery(
    state: &AppState,
    actor: &Actor,
    id: i64,
    version: i64,
    title: &str,
    items: &[GalleryItemInput],
) -> Result<(Gallery, Changed), DeskError> {
    actor.require(Permission::UploadMedia)?;
    if state.store.gallery(id).await?.is_none() {
        return Err(DeskError::NotFound(format!("There is no gallery {id}.")));
    }
    let uses = state.store.gallery_uses(id).await?;
    for u in &uses {
        if matches!(u.status, StoryStatus::Draft | StoryStatus::Killed) {
            continue;
        }
        if !actor.can(Permission::EditAnyStory) || !actor.covers(state, u.section_id).await? {
            return Err(DeskError::Forbidden(format!(
                "Gallery {id} is shown by story {} ({}); only those who may edit that story can change the \
                 gallery. Ask an editor of its section.",
                u.news_id,
                u.status.as_str()
            )));
        }
    }
    let mut errors = Vec::new();
    let title = clean_title(&mut errors, title);
    let items = clean_items(state, &mut errors, items).await?;
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    let audit = actor.audit("gallery.edit", "gallery", id, &title);
    let gallery = state
        .store
        .update_gallery(id, version, &title, &items, &audit)
        .await
        .map_err(|e| match e {
            newsdesk_storage::StoreError::Stale { current } => DeskError::Conflict {
                current_version: Some(current),
                message: format!(
                    "Gallery {id} was changed by someone else meanwhile (it is now at version {current}); \
                     reload it to see their changes."
                ),
            },
            e => e.into(),
        })?
        .ok_or_else(|| DeskError::NotFound(format!("There is no gallery {id}.")))?;
    let mut changed = Changed::default();
    for u in &uses {
        changed.add(u.news_id, u.edition_id);
    }
    Ok((gallery, changed))
}
