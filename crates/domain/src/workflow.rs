//! The story workflow: which action moves a story from which state to which,
//! and who may take it. No I/O; the store applies the result.

use std::fmt;
use std::str::FromStr;

use crate::StoryStatus;
use crate::roles::{Permission, Role};

/// Something a newsroom user does to a story's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A reporter sends a draft for review.
    Submit,
    /// An editor sends a submitted story back to draft.
    Return,
    /// Publish now.
    Publish,
    /// Publish at a future time (embargo until then).
    Schedule,
    /// Take a scheduled story off the schedule, back to draft.
    Unschedule,
    /// Take a published story down (410 on its URL).
    Unpublish,
    /// Put an unpublished story back.
    Republish,
    /// Withdraw for legal reasons, with a public note.
    Kill,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 8] = [
        Action::Submit,
        Action::Return,
        Action::Publish,
        Action::Schedule,
        Action::Unschedule,
        Action::Unpublish,
        Action::Republish,
        Action::Kill,
    ];

    /// The form name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Return => "return",
            Action::Publish => "publish",
            Action::Schedule => "schedule",
            Action::Unschedule => "unschedule",
            Action::Unpublish => "unpublish",
            Action::Republish => "republish",
            Action::Kill => "kill",
        }
    }

    /// A button label.
    pub fn label(self) -> &'static str {
        match self {
            Action::Submit => "Submit for review",
            Action::Return => "Return to draft",
            Action::Publish => "Publish now",
            Action::Schedule => "Schedule",
            Action::Unschedule => "Unschedule",
            Action::Unpublish => "Unpublish",
            Action::Republish => "Republish",
            Action::Kill => "Kill",
        }
    }

    /// What a user needs to take this action.
    pub fn permission(self) -> Permission {
        match self {
            Action::Submit => Permission::WriteStories,
            _ => Permission::Publish,
        }
    }

    /// The state this action leads to from `from`, or why it cannot be taken.
    pub fn apply(self, from: StoryStatus) -> Result<StoryStatus, String> {
        use StoryStatus::*;
        let to = match (self, from) {
            (Action::Submit, Draft) => Submitted,
            (Action::Return, Submitted) => Draft,
            (Action::Publish, Draft | Submitted | Scheduled) => Published,
            (Action::Schedule, Draft | Submitted | Scheduled) => Scheduled,
            (Action::Unschedule, Scheduled) => Draft,
            (Action::Unpublish, Published) => Unpublished,
            (Action::Republish, Unpublished) => Published,
            (Action::Kill, Published | Unpublished) => Killed,
            _ => return Err(format!("a {} story cannot be changed by “{}”", from.as_str(), self.label())),
        };
        Ok(to)
    }

    /// The actions `role` may take on a story in state `from`.
    pub fn available(role: Role, from: StoryStatus) -> Vec<Action> {
        Action::ALL.into_iter().filter(|a| role.can(a.permission()) && a.apply(from).is_ok()).collect()
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(s: &str) -> Result<Action, String> {
        Action::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| format!("unknown action `{s}`"))
    }
}

/// Whether `role` may edit the content of a story in state `status`, given
/// whether the user created it. Reporters edit their own drafts; editors and
/// admins edit anything not killed.
pub fn may_edit(role: Role, status: StoryStatus, own: bool) -> bool {
    if status == StoryStatus::Killed {
        return false;
    }
    if role.can(Permission::EditAnyStory) {
        return true;
    }
    role.can(Permission::WriteStories) && own && status == StoryStatus::Draft
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path() {
        let s = Action::Submit.apply(StoryStatus::Draft).expect("submit");
        let s = Action::Publish.apply(s).expect("publish");
        let s = Action::Unpublish.apply(s).expect("unpublish");
        let s = Action::Republish.apply(s).expect("republish");
        assert_eq!(Action::Kill.apply(s), Ok(StoryStatus::Killed));
    }

    #[test]
    fn killed_is_final_and_drafts_cannot_be_unpublished() {
        for a in Action::ALL {
            assert!(a.apply(StoryStatus::Killed).is_err(), "{a}");
        }
        assert_eq!(
            Action::Unpublish.apply(StoryStatus::Draft),
            Err("a draft story cannot be changed by “Unpublish”".to_string())
        );
    }

    #[test]
    fn reporters_only_submit_their_own_drafts() {
        assert_eq!(Action::available(Role::Reporter, StoryStatus::Draft), vec![Action::Submit]);
        assert!(Action::available(Role::Reporter, StoryStatus::Submitted).is_empty());
        assert!(Action::available(Role::Editor, StoryStatus::Submitted).contains(&Action::Publish));
        assert!(may_edit(Role::Reporter, StoryStatus::Draft, true));
        assert!(!may_edit(Role::Reporter, StoryStatus::Draft, false));
        assert!(!may_edit(Role::Reporter, StoryStatus::Submitted, true));
        assert!(may_edit(Role::Editor, StoryStatus::Published, false));
        assert!(!may_edit(Role::Admin, StoryStatus::Killed, true));
    }

    #[test]
    fn actions_round_trip() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        }
        assert!("explode".parse::<Action>().is_err());
    }
}
