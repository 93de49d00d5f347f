//! Arranging curated fronts: the commands the back office and the write API
//! share. A front is an edition's home page or one of its section fronts;
//! editors (the `Publish` permission) arrange those they cover: a section
//! front within their assigned sections, the home page only when they have
//! no assigned sections (admins: every front). Only published stories of the
//! front's edition can be placed, each once, with at most [`MAX_FEATURED`]
//! featured slots. Every write is checked against the version it was based
//! on (409 with the version now) and audited; publishing drops this node's
//! cached fronts of the edition, and the change log does so on the others.

use newsdesk_domain::roles::{Permission, Role};
use newsdesk_domain::{Edition, Section, StoryStatus};
use newsdesk_storage::{Arrangement, Front, StoreError};

use super::{Actor, DeskError, FieldError};
use crate::AppState;

/// Most featured slots a front has (after the pinned top story).
pub const MAX_FEATURED: usize = 8;

/// The section a front belongs to: `None` or `"home"` for the home page,
/// else a section path of the edition.
pub async fn section_of(state: &AppState, edition: &Edition, path: Option<&str>) -> Result<Option<Section>, DeskError> {
    let path = path.map(|p| p.trim().trim_matches('/')).unwrap_or_default();
    if path.is_empty() || path == "home" {
        return Ok(None);
    }
    let sections = state.store.sections(edition.id).await?;
    sections
        .into_iter()
        .find(|s| s.path == path)
        .map(Some)
        .ok_or_else(|| DeskError::NotFound(format!("The {} edition has no section “{path}”.", edition.name)))
}

/// How the audit log and messages name a front: `en:home`, `fa:iran/defense`.
pub fn front_name(edition: &Edition, section: Option<&Section>) -> String {
    format!("{}:{}", edition.lang, section.map_or("home", |s| s.path.as_str()))
}

/// Whether `actor` may arrange the front of `section` (`None`: home).
pub async fn may_arrange(state: &AppState, actor: &Actor, section: Option<&Section>) -> Result<bool, DeskError> {
    if !actor.can(Permission::Publish) {
        return Ok(false);
    }
    if actor.role == Role::Admin {
        return Ok(true);
    }
    match section {
        Some(s) => actor.covers(state, s.id).await,
        None => Ok(state.store.user_sections(actor.user_id).await?.is_empty()),
    }
}

async fn require(
    state: &AppState,
    actor: &Actor,
    edition: &Edition,
    section: Option<&Section>,
) -> Result<(), DeskError> {
    actor.require(Permission::Publish)?;
    if may_arrange(state, actor, section).await? {
        return Ok(());
    }
    Err(DeskError::Forbidden(match section {
        Some(s) => format!("The front of “{}” is outside your sections.", s.name),
        None => format!("Only editors without assigned sections arrange the {} home page.", edition.name),
    }))
}

/// The front as the newsroom edits it.
pub async fn load(
    state: &AppState,
    actor: &Actor,
    edition: &Edition,
    section: Option<&Section>,
) -> Result<Front, DeskError> {
    require(state, actor, edition, section).await?;
    Ok(state.store.front(edition.id, section.map(|s| s.id)).await?)
}

/// Checks an arrangement: at most [`MAX_FEATURED`] featured slots, each story
/// once, every story a published story of `edition`.
pub async fn check(state: &AppState, edition: &Edition, a: &Arrangement) -> Result<(), DeskError> {
    let mut errors = Vec::new();
    if a.featured.len() > MAX_FEATURED {
        errors.push(FieldError::new(
            "featured",
            format!("featured: a front has at most {MAX_FEATURED} featured stories; {} were sent.", a.featured.len()),
        ));
    }
    let ids = a.ids();
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            errors.push(FieldError::new(
                "featured",
                format!("featured: story {id} is placed twice; each story takes one slot."),
            ));
        }
    }
    let found = state.store.front_candidates(&ids).await?;
    for (i, id) in ids.iter().enumerate() {
        let field = if i == 0 && a.pinned.is_some() { "pinned" } else { "featured" };
        let ok =
            found.iter().any(|c| c.news_id == *id && c.edition_id == edition.id && c.status == StoryStatus::Published);
        if !ok {
            errors.push(FieldError::new(
                field,
                format!(
                    "{field}: story {id} is not a published story of the {} edition; only those can be placed.",
                    edition.name
                ),
            ));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(DeskError::Invalid(errors)) }
}

/// Saves `arrangement` as the front's draft, based on `version`, and with
/// `publish` makes it live for readers on every node.
pub async fn save(
    state: &AppState,
    actor: &Actor,
    edition: &Edition,
    section: Option<&Section>,
    version: i64,
    arrangement: &Arrangement,
    publish: bool,
) -> Result<Front, DeskError> {
    require(state, actor, edition, section).await?;
    check(state, edition, arrangement).await?;
    let name = front_name(edition, section);
    let action = if publish { "front.publish" } else { "front.draft" };
    let audit = actor.audit(action, "front", &name, "");
    let saved = state
        .store
        .save_front(edition.id, section.map(|s| s.id), version, arrangement, publish, &audit)
        .await
        .map_err(|e| match e {
            StoreError::Stale { current } => DeskError::Conflict {
                current_version: Some(current),
                message: format!(
                    "The front {name} was changed by someone else meanwhile (it is now at version {current}); \
                     reload it to see their arrangement."
                ),
            },
            other => other.into(),
        })?;
    if publish {
        state.pages.invalidate(&[crate::site::front_dep(edition.id)]);
    }
    Ok(saved)
}
