//! Personal API tokens of back-office users, for the `/api/v1` write API.
//! Only a token's SHA-256 is stored; the token itself is shown once.

use chrono::{DateTime, Utc};
use newsdesk_domain::dates::from_unix;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::audit_in;
use crate::{AuditEntry, Result, Store, StoreError, User, hash_key};

/// Every personal API token starts with this, so a leaked one is recognisable
/// (and cannot be mistaken for a wire subscriber's key).
pub const TOKEN_PREFIX: &str = "ndt_";

/// Longest token name accepted.
pub const MAX_TOKEN_NAME: usize = 100;

/// A stored API token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// First characters of the token, to recognise it in lists.
    pub prefix: String,
    /// What the owner called it (`phone app`, `ci`).
    pub name: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was last presented.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

const TOKEN_COLUMNS: &str = "id, user_id, prefix, name, created_at, last_used_at, revoked_at";

fn token_from_row(r: &AnyRow) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        prefix: r.try_get("prefix")?,
        name: r.try_get("name")?,
        created_at: from_unix(r.try_get("created_at")?),
        last_used_at: r.try_get::<Option<i64>, _>("last_used_at")?.map(from_unix),
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(from_unix),
    })
}

/// Checks a token name: non-empty after trimming, no control characters, at most [`MAX_TOKEN_NAME`].
pub fn check_token_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid("the token name must not be empty".into()));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::Invalid("the token name must not contain control characters".into()));
    }
    if name.chars().count() > MAX_TOKEN_NAME {
        return Err(StoreError::Invalid(format!("the token name must have at most {MAX_TOKEN_NAME} characters")));
    }
    Ok(name.to_string())
}

impl Store {
    /// Makes a new API token for `user_id`. Returns the token (to show once) and its stored form.
    /// `audit` commits with it; an empty detail becomes `API token {prefix} ({name})`.
    pub async fn create_api_token(
        &self,
        user_id: i64,
        name: &str,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(String, ApiToken)> {
        let name = check_token_name(name)?;
        let bytes: [u8; 32] = rand::random();
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
        let prefix = token[..TOKEN_PREFIX.len() + 8].to_string();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO api_tokens (user_id, token_hash, prefix, name, created_at) VALUES ($1, $2, $3, $4, $5) \
             RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(user_id)
        .bind(hash_key(&token))
        .bind(&prefix)
        .bind(&name)
        .bind(now.timestamp())
        .fetch_one(&mut *tx)
        .await?;
        let stored = token_from_row(&row)?;
        let detail = if audit.detail.is_empty() {
            format!("API token {} ({})", stored.prefix, stored.name)
        } else {
            audit.detail.clone()
        };
        audit_in(&mut tx, &AuditEntry { detail, ..audit.clone() }).await?;
        tx.commit().await?;
        Ok((token, stored))
    }

    /// The tokens of a user, oldest first.
    pub async fn api_tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id"))
            .bind(user_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes token `id` of `user_id`; `false` (and no entry) if there is no
    /// such live token. `audit` commits with the revocation.
    pub async fn revoke_api_token(
        &self,
        user_id: i64,
        id: i64,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n =
            sqlx::query("UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
                .bind(id)
                .bind(user_id)
                .bind(now.timestamp())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if n == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The active user a presented token belongs to, recording the use; `None`
    /// for an unknown or revoked token or a deactivated user.
    pub async fn authenticate_api_token(&self, token: &str, now: DateTime<Utc>) -> Result<Option<(User, i64)>> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let hash = hash_key(token);
        let row = sqlx::query(
            "SELECT t.id AS token_id, t.last_used_at, u.id FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active = 1",
        )
        .bind(&hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let token_id: i64 = r.try_get("token_id")?;
        let Some(user) = self.user(r.try_get("id")?).await? else { return Ok(None) };
        // Once a minute is precise enough for "last used", and spares a write per request.
        let last: Option<i64> = r.try_get("last_used_at")?;
        if last.is_none_or(|l| now.timestamp() - l >= 60) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(token_id)
                .bind(now.timestamp())
                .execute(self.pool())
                .await?;
        }
        Ok(Some((user, token_id)))
    }
}
