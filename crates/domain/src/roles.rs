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
    /// Create desks, their stages and members.
    ManageDesks,
}

impl Permission {
    /// Every permission, for tests and documentation.
    pub const ALL: [Permission; 12] = [
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
        Permission::ManageDesks,
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

/// Lowest [`zxcvbn`] score accepted (0 to 4; 3 is "safely unguessable" for an
/// online attack and slow offline hashing, which is what Argon2id gives).
pub const MIN_PASSWORD_SCORE: u8 = 3;

/// Checks a new password: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// 1024, and not easy to guess: common passwords, repeats (`aaaaaaaaaaaa`),
/// sequences, dates, keyboard patterns and the user's own details
/// (`user_inputs`: e-mail address, name) score below [`MIN_PASSWORD_SCORE`].
/// The error is a sentence for the form, with zxcvbn's advice.
pub fn check_password(p: &str, user_inputs: &[&str]) -> Result<(), String> {
    let n = p.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(format!("the password must have at least {MIN_PASSWORD_CHARS} characters"));
    }
    if n > 1024 {
        return Err("the password must have at most 1024 characters".into());
    }
    // The e-mail address also in parts, so `jane.doe@example.org` finds `jane` and `doe`.
    let mut inputs: Vec<&str> = Vec::new();
    for input in user_inputs {
        inputs.push(input);
        inputs.extend(input.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 3));
    }
    let estimate = zxcvbn::zxcvbn(p, &inputs);
    if u8::from(estimate.score()) >= MIN_PASSWORD_SCORE {
        return Ok(());
    }
    let mut advice = Vec::new();
    if let Some(feedback) = estimate.feedback() {
        if let Some(w) = feedback.warning() {
            advice.push(w.to_string());
        }
        advice.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    if advice.is_empty() {
        advice.push("Add another word or two. Uncommon words are better.".into());
    }
    Err(format!("the password is too easy to guess. {}", advice.join(" ").trim_end_matches('.')))
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
        assert!(check_password("short", &[]).is_err());
        assert!(check_password("correct horse battery", &[]).is_ok());
    }

    #[test]
    fn common_and_repetitive_passwords_are_refused_with_advice() {
        for weak in ["aaaaaaaaaaaa", "password1234", "123456789012", "qwertyuiopas", "abcdefghijkl", "iloveyou2024"] {
            let err = check_password(weak, &[]).expect_err(weak);
            assert!(err.starts_with("the password is too easy to guess. "), "{weak}: {err}");
            assert!(err.len() > "the password is too easy to guess. ".len() + 10, "{weak}: advice in {err}");
        }
        let err = check_password("aaaaaaaaaaaa", &[]).expect_err("repeat");
        assert!(err.contains("Repeats like"), "{err}");
    }

    #[test]
    fn the_users_own_details_do_not_make_a_password() {
        let me = ["jane.doe@example.org", "Jane Doe"];
        assert!(check_password("jane.doe@example.org", &me).is_err());
        assert!(check_password("jane.doe@example.org", &[]).is_ok(), "strong enough for someone else");
    }

    #[test]
    fn passwords_our_scripts_and_tests_use_pass() {
        // .ci/run: "reporter pass " and three $RANDOM (each 0..32767); the weakest draw.
        for p in ["reporter pass 000", "editor pass 000", "reporter pass 327673276732767", "reporter pass 4711"] {
            assert!(
                check_password(p, &["reporter@ci.example", "Rita Reporter", "editor@ci.example", "Ed Editor"]).is_ok(),
                "{p}"
            );
        }
    }
}
