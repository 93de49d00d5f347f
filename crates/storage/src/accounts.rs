//! Back-office users, sessions, login throttling and the audit log.

use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::roles::Role;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Result, Store, StoreError};

/// A back-office user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Lower-cased e-mail address, the login name.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Whether the user may log in.
    pub active: bool,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// E-mail address, already normalized.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// A live session with its user.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The logged-in user.
    pub user: User,
    /// The session's CSRF token.
    pub csrf: String,
    /// When it expires unless used.
    pub expires_at: DateTime<Utc>,
    /// When it was last used.
    pub last_seen_at: DateTime<Utc>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: a user's e-mail, or `cli`, `scheduler`, ...
    pub actor: String,
    /// The user's id, when a user did it.
    pub user_id: Option<i64>,
    /// What (`story.publish`, `user.create`, `login`, ...).
    pub action: String,
    /// Kind of the thing acted on (`story`, `user`, `section`, ...).
    pub target_kind: String,
    /// Its id.
    pub target_id: String,
    /// Free text.
    pub detail: String,
}

impl AuditEntry {
    /// An entry made by the system itself (`scheduler`, `cli`, `demo`), not by a user.
    pub fn system(actor: &str, action: &str, target_kind: &str, target_id: impl ToString, detail: &str) -> AuditEntry {
        AuditEntry {
            at: Utc::now(),
            actor: actor.into(),
            user_id: None,
            action: action.into(),
            target_kind: target_kind.into(),
            target_id: target_id.to_string(),
            detail: detail.into(),
        }
    }
}

/// Appends `e` to the audit log on `conn`: inside a write's transaction, so
/// the change and its entry commit (or roll back) together.
pub(crate) async fn audit_in(conn: &mut AnyConnection, e: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, actor, action, target_kind, target_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at.timestamp())
    .bind(e.user_id)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.target_kind)
    .bind(&e.target_id)
    .bind(&e.detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// `e` with `id` as its target when it names none: the id of a row the same
/// transaction just inserted, which the caller could not know beforehand.
fn with_target(e: &AuditEntry, id: i64) -> AuditEntry {
    let target_id = if e.target_id.is_empty() { id.to_string() } else { e.target_id.clone() };
    AuditEntry { target_id, ..e.clone() }
}

/// Ends every way `user_id` is signed in, on `conn` (inside the caller's
/// transaction): deletes their sessions and revokes their personal API tokens
/// at `now`. Returns how many sessions ended and how many tokens were revoked.
async fn end_access_in(conn: &mut AnyConnection, user_id: i64, now: DateTime<Utc>) -> Result<(u64, u64)> {
    let sessions =
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?.rows_affected();
    let tokens = sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .bind(now.timestamp())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok((sessions, tokens))
}

/// `e` with what [`end_access_in`] ended appended to its detail.
fn with_ended(e: &AuditEntry, (sessions, tokens): (u64, u64)) -> AuditEntry {
    let sep = if e.detail.is_empty() { "" } else { "; " };
    AuditEntry { detail: format!("{}{sep}{sessions} sessions, {tokens} API tokens", e.detail), ..e.clone() }
}

const USER_COLUMNS: &str = "u.id, u.email, u.name, u.role, u.active, u.created_at";

fn user_from(r: &AnyRow) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        role: role.parse().map_err(|e: newsdesk_domain::roles::UnknownRole| StoreError::Invalid(e.to_string()))?,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: from_unix(r.try_get("created_at")?),
    })
}

impl Store {
    /// Creates a user and writes `audit` in the same transaction (an empty
    /// target id becomes the new user's id); [`StoreError::Conflict`] on
    /// `email` when the address is taken, and then no entry.
    pub async fn create_user(&self, u: &NewUser, now: DateTime<Utc>, audit: &AuditEntry) -> Result<User> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO users (email, name, role, password_hash, active, created_at, password_changed_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id, email, name, role, active, created_at",
        )
        .bind(&u.email)
        .bind(&u.name)
        .bind(u.role.as_str())
        .bind(&u.password_hash)
        .bind(now.timestamp())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) { StoreError::Conflict { field: "email" } } else { e.into() }
        })?;
        let user = user_from(&row)?;
        audit_in(&mut tx, &with_target(audit, user.id)).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// How many users exist (active or not).
    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(self.pool()).await?.try_get("n")?)
    }

    /// The user with this (normalized) e-mail and their password hash.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = $1"))
            .bind(email)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((user_from(&r)?, r.try_get("password_hash")?))).transpose()
    }

    /// The user with this id.
    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    /// The password hash of user `id`.
    pub async fn password_hash(&self, id: i64) -> Result<Option<String>> {
        let row =
            sqlx::query("SELECT password_hash FROM users WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get("password_hash")).transpose()?)
    }

    /// All users, by e-mail.
    pub async fn users(&self) -> Result<Vec<User>> {
        let rows =
            sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.email")).fetch_all(self.pool()).await?;
        rows.iter().map(user_from).collect()
    }

    /// Sets a new password hash, ends every session of the user and revokes
    /// their personal API tokens (whoever knew the old password may have made
    /// one); `audit` commits with the change, with how many of each ended
    /// appended to its detail.
    pub async fn set_password(&self, user_id: i64, hash: &str, now: DateTime<Utc>, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now.timestamp())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended = end_access_in(&mut tx, user_id, now).await?;
        audit_in(&mut tx, &with_ended(audit, ended)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Activates or deactivates a user; deactivating ends their sessions.
    /// `audit` commits with the change; false (and no entry) when there is no such user.
    pub async fn set_user_active(&self, user_id: i64, active: bool, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
            .bind(i64::from(active))
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if !active {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Changes a user's role; `audit` commits with the change. False (and no
    /// entry) when there is no such user.
    pub async fn set_user_role(&self, user_id: i64, role: Role, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores a new session (the token's hash only).
    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(now.timestamp())
        .bind(expires_at.timestamp())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The live session with this token hash, if it has not expired and its user is active.
    pub async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRow>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.csrf, s.expires_at, s.last_seen_at FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1"
        ))
        .bind(token_hash)
        .bind(now.timestamp())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(SessionRow {
                user: user_from(&r)?,
                csrf: r.try_get("csrf")?,
                expires_at: from_unix(r.try_get("expires_at")?),
                last_seen_at: from_unix(r.try_get("last_seen_at")?),
            })
        })
        .transpose()
    }

    /// Extends a session that is in use.
    pub async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE token_hash = $3")
            .bind(now.timestamp())
            .bind(expires_at.timestamp())
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends one session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(self.pool()).await?;
        Ok(())
    }

    /// "Log out everywhere": ends every session of a user and revokes their
    /// personal API tokens at `now`; returns how many sessions ended and how
    /// many tokens were revoked. `audit` commits with the change; its detail
    /// gets the counts appended.
    pub async fn sign_out_everywhere(
        &self,
        user_id: i64,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(u64, u64)> {
        let mut tx = self.begin_write().await?;
        let ended = end_access_in(&mut tx, user_id, now).await?;
        audit_in(&mut tx, &with_ended(audit, ended)).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Drops expired sessions and login attempts whose window ended a day ago.
    pub async fn prune_sessions(&self, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now.timestamp()).execute(self.pool()).await?;
        sqlx::query("DELETE FROM login_attempts WHERE window_start < $1")
            .bind((now - Duration::days(1)).timestamp())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Counts one login attempt for `key` (`account:...`, `ip:...`), before
    /// its password is checked, and returns the attempts in the key's current
    /// window, this one included. A window starts at a key's first attempt
    /// and lasts `window`. The count and its answer are one statement, so
    /// concurrent attempts on any node each get their own number: no more
    /// than the limit ever see a password check.
    pub async fn count_login_attempt(&self, key: &str, now: DateTime<Utc>, window: Duration) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO login_attempts (key, window_start, attempts) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             attempts = CASE WHEN login_attempts.window_start <= $3 THEN 1 ELSE login_attempts.attempts + 1 END, \
             window_start = CASE WHEN login_attempts.window_start <= $3 THEN $2 ELSE login_attempts.window_start END \
             RETURNING attempts",
        )
        .bind(key)
        .bind(now.timestamp())
        .bind((now - window).timestamp())
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("attempts")?)
    }

    /// Takes back one counted attempt of `key` (a login that succeeded, so
    /// that colleagues behind one address do not use up its allowance).
    pub async fn forgive_login_attempt(&self, key: &str) -> Result<()> {
        sqlx::query("UPDATE login_attempts SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0")
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets the attempts of `key` (a successful login, a new password).
    pub async fn clear_login_attempts(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_attempts WHERE key = $1").bind(key).execute(self.pool()).await?;
        Ok(())
    }

    /// Appends to the audit log on its own, for events that are not a write of
    /// their own here: logins and logouts (the session row is bookkeeping).
    /// Writes take their entry instead and insert it in their own transaction.
    pub async fn audit(&self, e: &AuditEntry) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        audit_in(&mut conn, e).await
    }

    /// The newest audit entries, optionally for one target (`kind`, `id`).
    pub async fn audit_log(&self, target: Option<(&str, &str)>, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = match target {
            Some((kind, id)) => {
                sqlx::query(
                    "SELECT at, user_id, actor, action, target_kind, target_id, detail FROM audit_log \
                     WHERE target_kind = $1 AND target_id = $2 ORDER BY id DESC LIMIT $3",
                )
                .bind(kind)
                .bind(id)
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT at, user_id, actor, action, target_kind, target_id, detail FROM audit_log \
                     ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: from_unix(r.try_get("at")?),
                    user_id: r.try_get("user_id")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    target_kind: r.try_get("target_kind")?,
                    target_id: r.try_get("target_id")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}

impl Store {
    /// Stores a one-time invite link for `user_id` (the token's hash), replacing
    /// older ones; `audit`, if any, commits with it (a new user's first invite
    /// has its entry already, `user.create`).
    pub async fn create_invite(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
        audit: Option<&AuditEntry>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM invites WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO invites (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(expires_at.timestamp())
            .execute(&mut *tx)
            .await?;
        if let Some(audit) = audit {
            audit_in(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user an unexpired invite is for.
    pub async fn invite(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM invites i JOIN users u ON u.id = i.user_id \
             WHERE i.token_hash = $1 AND i.expires_at > $2 AND u.active = 1"
        ))
        .bind(token_hash)
        .bind(now.timestamp())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from).transpose()
    }

    /// Uses an invite (also the password reset link): sets the password,
    /// deletes the invite, at most once, and ends the user's sessions and
    /// personal API tokens like [`Store::set_password`]; `audit` commits with
    /// it, the counts appended (no entry when the invite is gone).
    pub async fn accept_invite(
        &self,
        token_hash: &str,
        hash: &str,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("DELETE FROM invites WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id")
            .bind(token_hash)
            .bind(now.timestamp())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let user_id: i64 = row.try_get("user_id")?;
        sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now.timestamp())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ended = end_access_in(&mut tx, user_id, now).await?;
        audit_in(&mut tx, &with_ended(audit, ended)).await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}

impl Store {
    /// Assigns a user to sections (ids; each covers its subsections). Empty:
    /// all sections. `audit` commits with the change; false (and no entry)
    /// when there is no such user.
    pub async fn set_user_sections(&self, user_id: i64, sections: &[i64], audit: &AuditEntry) -> Result<bool> {
        let list = sections.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("UPDATE users SET sections = $1 WHERE id = $2")
            .bind(list)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The sections a user is assigned to; empty: all.
    pub async fn user_sections(&self, user_id: i64) -> Result<Vec<i64>> {
        let row =
            sqlx::query("SELECT sections FROM users WHERE id = $1").bind(user_id).fetch_optional(self.pool()).await?;
        let list: String = row.map(|r| r.try_get("sections")).transpose()?.unwrap_or_default();
        Ok(list.split(',').filter_map(|s| s.trim().parse().ok()).collect())
    }

    /// Whether section `section_id` is within the user's assigned sections
    /// (the section itself or one below an assigned one); true when the user has none.
    pub async fn user_covers_section(&self, user_id: i64, section_id: i64) -> Result<bool> {
        let assigned = self.user_sections(user_id).await?;
        if assigned.is_empty() {
            return Ok(true);
        }
        let rows = sqlx::query("SELECT id, edition_id, path FROM sections").fetch_all(self.pool()).await?;
        let mut all = Vec::with_capacity(rows.len());
        for r in &rows {
            all.push((r.try_get::<i64, _>("id")?, r.try_get::<i64, _>("edition_id")?, r.try_get::<String, _>("path")?));
        }
        let Some((_, edition, path)) = all.iter().find(|(id, _, _)| *id == section_id) else { return Ok(false) };
        Ok(all.iter().filter(|(id, _, _)| assigned.contains(id)).any(|(_, e, p)| {
            e == edition && (path == p || path.strip_prefix(p.as_str()).is_some_and(|rest| rest.starts_with('/')))
        }))
    }
}
