//! The newsroom's application layer, between the HTTP surfaces (the back
//! office and the write API) and the store.
//!
//! Every newsroom write is a command here: it takes an [`Actor`] (who acts,
//! from a session or a token), checks the permission and the section scope
//! (of the story's old and new section alike), validates the input against
//! [`newsdesk_domain::limits`], runs the store's transaction with its audit
//! entry inside it, and returns what changed ([`Changed`]) so the caller drops
//! cached pages. A handler is parse → command → render, and each surface maps
//! the one error type ([`DeskError`]) once.

pub mod agency;
pub mod boards;
pub mod breaking;
mod comments;
pub mod embargo;
pub mod fetch;
pub mod framing;
pub mod fronts;
pub mod galleries;
pub mod live;
pub mod locks;
mod media;
pub mod routing;
pub mod spike;
mod stories;

use newsdesk_domain::roles::{Permission, Role};
use newsdesk_domain::{Story, StoryStatus};
use newsdesk_storage::{AuditEntry, StoreError, StoryExtras};

use crate::AppState;

pub use agency::AgencyChanges;
pub use comments::{MAX_BULK, close_comments, moderate_comments};
pub use media::{
    MAX_CAPTION, MAX_COPYRIGHT, MAX_CREATOR, MAX_CREDIT, MAX_PHOTO_HEADLINE, MAX_SOURCE, MAX_USAGE_TERMS, PhotoForm,
    PhotoText, add_photo, check_photo_text, edit_photo, photo_text, set_photo_text,
};
pub use stories::{
    ActRequest, PublicChange, ScheduleAt, SectionChoice, StoryChanges, act, correct, correct_with, create,
    edition_for_new, edition_of, restore, translate, update,
};

/// Who acts: a back-office user, through a session or a personal API token.
#[derive(Debug, Clone)]
pub struct Actor {
    /// User id.
    pub user_id: i64,
    /// E-mail address: the actor in revisions and the audit log.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The API token used, when the request came through the API (noted in the audit log).
    pub token_id: Option<i64>,
}

/// The user id of [`Actor::system`]: no account (the audit log and the
/// stories it makes name no user).
pub const SYSTEM_USER_ID: i64 = 0;

impl Actor {
    /// The newsroom itself acting on its own (routing's automatic fetches),
    /// named `name` in the audit log and revisions, with an admin's reach.
    pub fn system(name: &str) -> Actor {
        Actor { user_id: SYSTEM_USER_ID, email: name.into(), name: name.into(), role: Role::Admin, token_id: None }
    }

    /// The acting user's id; `None` for [`Actor::system`].
    pub fn user(&self) -> Option<i64> {
        (self.user_id != SYSTEM_USER_ID).then_some(self.user_id)
    }

    /// Whether the role grants `p`.
    pub fn can(&self, p: Permission) -> bool {
        self.role.can(p)
    }

    /// Refuses unless the role grants `p`.
    pub fn require(&self, p: Permission) -> Result<(), DeskError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(DeskError::Forbidden(format!("Your role ({}) may not do this.", self.role)))
        }
    }

    /// An audit entry by this actor (marked with the API token when there is one).
    pub fn audit(
        &self,
        action: &str,
        target_kind: &str,
        target_id: impl ToString,
        detail: impl Into<String>,
    ) -> AuditEntry {
        let detail = detail.into();
        AuditEntry {
            at: chrono::Utc::now(),
            actor: self.email.clone(),
            user_id: self.user(),
            action: action.into(),
            target_kind: target_kind.into(),
            target_id: target_id.to_string(),
            detail: match self.token_id {
                Some(t) => format!("{detail} (API token {t})"),
                None => detail,
            },
        }
    }

    /// Whether the story is this actor's own.
    pub fn owns(&self, extras: &StoryExtras) -> bool {
        extras.created_by == Some(self.user_id)
    }

    /// Whether the actor's section scope covers `section_id`: admins
    /// everywhere, others within their assigned sections (and subsections;
    /// all sections when they have none). Read from the database at each
    /// check, so a change of assignment applies to the next request.
    pub async fn covers(&self, state: &AppState, section_id: i64) -> Result<bool, DeskError> {
        if self.role == Role::Admin {
            return Ok(true);
        }
        Ok(state.store.user_covers_section(self.user_id, section_id).await?)
    }
}

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as the API names it (`headline`, `section`, ...); empty for the input as a whole.
    pub field: &'static str,
    /// What is wrong, as a sentence for people.
    pub message: String,
}

impl FieldError {
    /// A problem of `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError { field, message: message.into() }
    }
}

/// Why a command was refused or failed. Each surface maps it once: the back
/// office to its pages, the API to its JSON error body.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// No such story, comment or photo.
    #[error("not found: {0}")]
    NotFound(String),
    /// The role or the section scope does not allow it.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The story moved on since the version the change was based on
    /// (`current_version`), or its state does not allow this.
    #[error("conflict: {message}")]
    Conflict {
        /// The story's version now, when the refusal is a stale version.
        current_version: Option<i64>,
        /// Why, for people.
        message: String,
    },
    /// Values refused, by field.
    #[error("invalid: {}", join(.0, " "))]
    Invalid(Vec<FieldError>),
    /// The database is unavailable for now (an outage).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A failure of ours.
    #[error("internal: {0}")]
    Internal(String),
}

/// The messages of `errors`, joined by `sep`.
pub fn join(errors: &[FieldError], sep: &str) -> String {
    errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join(sep)
}

impl DeskError {
    /// One problem of the input as a whole.
    pub fn invalid(message: impl Into<String>) -> DeskError {
        DeskError::Invalid(vec![FieldError::new("", message)])
    }

    /// A refusal because of the story's state (no version involved).
    pub fn conflict(message: impl Into<String>) -> DeskError {
        DeskError::Conflict { current_version: None, message: message.into() }
    }
}

impl From<StoreError> for DeskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Stale { current } => DeskError::Conflict {
                current_version: Some(current),
                message: StoreError::Stale { current }.to_string(),
            },
            StoreError::Invalid(m) => DeskError::invalid(m),
            StoreError::Conflict { field } => {
                DeskError::Invalid(vec![FieldError::new("", format!("The {field} is already taken."))])
            }
            e if e.is_unavailable() => DeskError::Unavailable(e.to_string()),
            other => DeskError::Internal(other.to_string()),
        }
    }
}

impl From<crate::AppError> for DeskError {
    fn from(e: crate::AppError) -> Self {
        if e.is_unavailable() { DeskError::Unavailable(e.to_string()) } else { DeskError::Internal(e.to_string()) }
    }
}

/// What a command changed, for the caller to drop cached pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// The stories whose pages changed, as `(news_id, edition_id)`.
    pub stories: Vec<(i64, i64)>,
}

impl Changed {
    /// The pages of one story.
    fn story(news_id: i64, edition_id: i64) -> Changed {
        Changed { stories: vec![(news_id, edition_id)] }
    }

    fn add(&mut self, news_id: i64, edition_id: i64) {
        if !self.stories.contains(&(news_id, edition_id)) {
            self.stories.push((news_id, edition_id));
        }
    }

    /// Drops this node's cached pages of what changed (other nodes follow the change log).
    pub async fn drop_pages(&self, state: &AppState) -> Result<(), DeskError> {
        for (news_id, edition_id) in &self.stories {
            state.story_changed(*news_id, *edition_id).await?;
        }
        Ok(())
    }
}

/// A story with its newsroom fields.
pub async fn load(state: &AppState, news_id: i64) -> Result<(Story, StoryExtras), DeskError> {
    let not_found = || DeskError::NotFound(format!("There is no story {news_id}."));
    if news_id < 1 {
        return Err(not_found());
    }
    let story = state.store.story(news_id).await?.ok_or_else(not_found)?;
    let extras = state.store.story_extras(news_id).await?.unwrap_or_default();
    Ok((story, extras))
}

/// The edit rule: reporters edit their own drafts, editors anything not killed.
pub(crate) fn check_edit(actor: &Actor, story: &Story, extras: &StoryExtras) -> Result<(), DeskError> {
    spike::refuse_spiked(story, extras)?;
    let own = actor.owns(extras);
    if newsdesk_domain::workflow::may_edit(actor.role, story.status, own) {
        Ok(())
    } else if story.status == StoryStatus::Killed {
        Err(DeskError::conflict("A killed story cannot be edited."))
    } else {
        Err(DeskError::Forbidden(format!(
            "Your role ({}) may edit only your own drafts; story {} is {} and {}.",
            actor.role,
            story.news_id,
            story.status.as_str(),
            if own { "yours" } else { "not yours" }
        )))
    }
}

/// Whether a command may touch the actor's own drafts outside their scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnDrafts {
    /// Writing and submitting: a user's own drafts are always theirs.
    Exempt,
    /// Publishing and everything readers see: the scope applies to all stories.
    Scoped,
}

/// The scope rule, for every command on a story: outside their assigned
/// sections an editor may only write and submit their own drafts. Both the
/// story's section and the one it moves to (`to`) must be covered, so a story
/// can neither leave nor enter a section the actor does not cover.
pub(crate) async fn check_scope(
    state: &AppState,
    actor: &Actor,
    (story, extras): (&Story, &StoryExtras),
    to: Option<i64>,
    own_drafts: OwnDrafts,
) -> Result<(), DeskError> {
    if own_drafts == OwnDrafts::Exempt && actor.owns(extras) && story.status == StoryStatus::Draft {
        return Ok(());
    }
    for section_id in std::iter::once(story.section_id).chain(to.filter(|s| *s != story.section_id)) {
        if !actor.covers(state, section_id).await? {
            let name = state.store.section_path(section_id).await?.unwrap_or_else(|| format!("section {section_id}"));
            return Err(DeskError::Forbidden(format!(
                "You are assigned to other sections than “{name}”; ask an admin to widen them."
            )));
        }
    }
    Ok(())
}
