//! Breaking news: published stories an editor marks as breaking, each until
//! its expiry or until it is cleared. Every page of the story's edition shows
//! the active ones in a banner; a mark or a clear is logged as a change of
//! kind `breaking`, which drops only the edition's shared page fragments on
//! every node (no page shows anything new of the story itself).

use chrono::{DateTime, Utc};
use newsdesk_domain::NewsId;
use newsdesk_domain::dates::from_unix;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::{AuditEntry, Result, Store, StoreError};

/// The kind of change-log entry a breaking mark or clear records.
pub const BREAKING_CHANGE: &str = "breaking";

/// A story marked as breaking news.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakingItem {
    /// News ID.
    pub news_id: NewsId,
    /// The story's edition.
    pub edition_id: i64,
    /// Headline.
    pub headline: String,
    /// Slug (the page is `/news/{news_id}/{slug}` in the edition).
    pub slug: String,
    /// When it was marked.
    pub started_at: DateTime<Utc>,
    /// When the banner goes.
    pub expires_at: DateTime<Utc>,
    /// Who marked it (an e-mail address, or `auto` for a raise by urgency).
    pub actor: String,
}

impl BreakingItem {
    /// Whether the banner shows at `now`.
    pub fn active_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }
}

const BREAKING_SELECT: &str = "SELECT b.news_id, b.edition_id, s.headline, s.slug, b.started_at, b.expires_at, b.actor \
                               FROM breaking_news b JOIN stories s ON s.news_id = b.news_id";

fn item_from(r: &AnyRow) -> Result<BreakingItem> {
    Ok(BreakingItem {
        news_id: r.try_get("news_id")?,
        edition_id: r.try_get("edition_id")?,
        headline: r.try_get("headline")?,
        slug: r.try_get("slug")?,
        started_at: from_unix(r.try_get("started_at")?),
        expires_at: from_unix(r.try_get("expires_at")?),
        actor: r.try_get("actor")?,
    })
}

/// Logs a breaking-news change of `edition_id` (other nodes drop the edition's fragments).
pub(crate) async fn record_breaking_change(conn: &mut AnyConnection, news_id: NewsId, edition_id: i64) -> Result<()> {
    sqlx::query("INSERT INTO story_changes (news_id, edition_id, changed_at, kind) VALUES ($1, $2, $3, $4)")
        .bind(news_id)
        .bind(edition_id)
        .bind(crate::content::now())
        .bind(BREAKING_CHANGE)
        .execute(&mut *conn)
        .await?;
    crate::changes::notify_change(conn).await
}

/// Marks a published story as breaking until `expires_at` inside a transaction
/// (a story already marked gets the new expiry). Refused for any other state.
pub(crate) async fn mark_in(
    conn: &mut AnyConnection,
    news_id: NewsId,
    expires_at: DateTime<Utc>,
    by: Option<i64>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    let row = sqlx::query("UPDATE stories SET version = version WHERE news_id = $1 RETURNING status, edition_id")
        .bind(news_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("there is no story {news_id}")))?;
    let status: String = row.try_get("status")?;
    if status != "published" {
        return Err(StoreError::Invalid(format!("a {status} story cannot be breaking news")));
    }
    let edition_id: i64 = row.try_get("edition_id")?;
    sqlx::query(
        "INSERT INTO breaking_news (news_id, edition_id, started_at, expires_at, started_by, actor) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (news_id) DO UPDATE SET edition_id = excluded.edition_id, \
         started_at = excluded.started_at, expires_at = excluded.expires_at, started_by = excluded.started_by, \
         actor = excluded.actor",
    )
    .bind(news_id)
    .bind(edition_id)
    .bind(at.timestamp())
    .bind(expires_at.timestamp())
    .bind(by)
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    record_breaking_change(conn, news_id, edition_id).await?;
    Ok(edition_id)
}

impl Store {
    /// Marks published story `news_id` as breaking news from `at` until
    /// `expires_at`, with `audit` in the same transaction; returns its edition.
    /// Refused ([`StoreError::Invalid`]) when the story is not published.
    pub async fn mark_breaking(
        &self,
        news_id: NewsId,
        expires_at: DateTime<Utc>,
        by: Option<i64>,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let edition_id = mark_in(&mut tx, news_id, expires_at, by, &audit.actor, at).await?;
            audit_in(&mut tx, audit).await?;
            Ok(edition_id)
        }
        .await;
        match result {
            Ok(v) => {
                tx.commit().await?;
                Ok(v)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }

    /// Takes story `news_id`'s breaking-news mark away (expired or not), with
    /// `audit`; returns its edition, or `None` when it had none (nothing written).
    pub async fn clear_breaking(&self, news_id: NewsId, audit: &AuditEntry) -> Result<Option<i64>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("DELETE FROM breaking_news WHERE news_id = $1 RETURNING edition_id")
            .bind(news_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let edition_id: i64 = row.try_get("edition_id")?;
        audit_in(&mut tx, audit).await?;
        record_breaking_change(&mut tx, news_id, edition_id).await?;
        tx.commit().await?;
        Ok(Some(edition_id))
    }

    /// The breaking news shown at `now` (of `edition_id`, or of every edition),
    /// newest first: published stories whose mark has not expired.
    pub async fn active_breaking(&self, edition_id: Option<i64>, now: DateTime<Utc>) -> Result<Vec<BreakingItem>> {
        let mut args = crate::sql::Args::new();
        let mut sql =
            format!("{BREAKING_SELECT} WHERE s.status = 'published' AND b.expires_at > {}", args.push(now.timestamp()));
        if let Some(e) = edition_id {
            sql += &format!(" AND b.edition_id = {}", args.push(e));
        }
        sql += " ORDER BY b.started_at DESC, b.news_id DESC LIMIT 100";
        let rows = args.bind_to(sqlx::query(&sql)).fetch_all(self.pool()).await?;
        rows.iter().map(item_from).collect()
    }

    /// Story `news_id`'s breaking-news mark, expired or not.
    pub async fn breaking_of(&self, news_id: NewsId) -> Result<Option<BreakingItem>> {
        let row = sqlx::query(&format!("{BREAKING_SELECT} WHERE b.news_id = $1"))
            .bind(news_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(item_from).transpose()
    }
}
