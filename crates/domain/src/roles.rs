//! Who may do what in the back office. The role matrix lives here and only
//! here: routes declare the [`Permission`] they need, and [`Role::can`] answers.

use std::fmt;
use std::str::FromStr;

/// A back-office user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Writes and edits own drafts, submits them.
    Reporter,
    /// Edits any story, publishes, schedules, corrects, unpublishes, moderates comments.
    Editor,
    /// Everything an editor does, plus users, sections, editions, subscribers and settings.
    Admin,
}

/// Something a back-office route or action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the back office at all (dashboard, own account, password change).
    UseBackOffice,
    /// Create stories and edit one's own drafts.
    WriteStories,
    /// Edit stories written by others, in any state.
    EditAnyStory,
    /// Publish, schedule, correct, unpublish, kill.
    Publish,
    /// Approve, reject or mark comments as spam.
    ModerateComments,
    /// Upload photos and use the media library.
    UploadMedia,
    /// Create, rename, reorder and nest sections; merge tags.
    ManageSections,
    /// Create, deactivate and change the role of users.
    ManageUsers,
    /// Wire subscribers, API keys and webhooks.
    ManageSubscribers,
    /// Read the audit log.
    ViewAudit,
    /// Edition settings: calendar, digits, comment moderation.
    ManageEditions,
}

impl Permission {
    /// Every permission, for tests and documentation.
    pub const ALL: [Permission; 11] = [
        Permission::UseBackOffice,
        Permission::WriteStories,
        Permission::EditAnyStory,
        Permission::Publish,
        Permission::ModerateComments,
        Permission::UploadMedia,
        Permission::ManageSections,
        Permission::ManageUsers,
        Permission::ManageSubscribers,
        Permission::ViewAudit,
        Permission::ManageEditions,
    ];
}

impl Role {
    /// Every role, least powerful first.
    pub const ALL: [Role; 3] = [Role::Reporter, Role::Editor, Role::Admin];

    /// The role matrix.
    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Reporter => matches!(p, UseBackOffice | WriteStories | UploadMedia),
            Role::Editor => {
                matches!(p, UseBackOffice | WriteStories | UploadMedia | EditAnyStory | Publish | ModerateComments)
            }
            Role::Admin => true,
        }
    }

    /// The stored and typed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reporter => "reporter",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`: expected reporter, editor or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        match s {
            "reporter" => Ok(Role::Reporter),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            other => Err(UnknownRole(other.to_string())),
        }
    }
}

/// Checks an e-mail address the way the back office needs it: one `@`, a
/// dot in the domain, no spaces, at most 254 characters. Returns it lower-cased.
pub fn normalize_email(s: &str) -> Result<String, String> {
    let e = s.trim().to_lowercase();
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok { Ok(e) } else { Err(format!("`{}` is not an e-mail address", s.trim())) }
}

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Checks a new password: at least [`MIN_PASSWORD_CHARS`] characters, at most 1024.
pub fn check_password(p: &str) -> Result<(), String> {
    let n = p.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err(format!("the password must have at least {MIN_PASSWORD_CHARS} characters"))
    } else if n > 1024 {
        Err("the password must have at most 1024 characters".into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_grows_with_the_role() {
        for p in Permission::ALL {
            if Role::Reporter.can(p) {
                assert!(Role::Editor.can(p), "{p:?}");
            }
            if Role::Editor.can(p) {
                assert!(Role::Admin.can(p), "{p:?}");
            }
        }
        assert!(!Role::Reporter.can(Permission::Publish));
        assert!(!Role::Editor.can(Permission::ManageUsers));
        assert!(Role::Editor.can(Permission::ModerateComments));
    }

    #[test]
    fn roles_round_trip_and_refuse_unknown() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert_eq!(
            "root".parse::<Role>().map_err(|e| e.to_string()),
            Err("unknown role `root`: expected reporter, editor or admin".to_string())
        );
    }

    #[test]
    fn emails_are_checked() {
        assert_eq!(normalize_email(" Jane@Example.COM ").as_deref(), Ok("jane@example.com"));
        for bad in ["", "jane", "jane@", "@x.org", "a b@x.org", "a@x", "a@@x.org", "a@x.org."] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password("short").is_err());
        assert!(check_password("correct horse battery").is_ok());
    }
}
