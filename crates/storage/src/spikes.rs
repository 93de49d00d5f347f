//! Spiked stories: a draft or submitted story taken out of the newsroom's
//! desks and lists, reversibly (unspike), and purged for good after the
//! site's `spike_expiry_days`. A spike is a row of `story_spikes`; the story
//! keeps its state, and the desk place it had is kept to be put back.

use chrono::{DateTime, Utc};
use newsdesk_domain::NewsId;
use newsdesk_domain::dates::from_unix;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::content::record_change;
use crate::{AuditEntry, Result, Store, StoreError};

/// The actor of purges, in the audit log.
pub const PURGER: &str = "purge";

/// A spiked story, for the "Spiked" list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpikedStory {
    /// News ID.
    pub news_id: NewsId,
    /// Headline.
    pub headline: String,
    /// Workflow state it keeps (draft or submitted).
    pub status: String,
    /// Section path.
    pub section: String,
    /// The story's edition.
    pub edition_id: i64,
    /// Who created the story (their user id).
    pub created_by: Option<i64>,
    /// When it was spiked.
    pub spiked_at: DateTime<Utc>,
    /// Who spiked it (an e-mail address).
    pub spiked_by: String,
}

/// The SQL condition "story `s` is not spiked", for the newsroom's lists.
pub const NOT_SPIKED: &str = "NOT EXISTS (SELECT 1 FROM story_spikes sp WHERE sp.news_id = s.news_id)";

fn spiked_from(r: &AnyRow) -> Result<SpikedStory> {
    Ok(SpikedStory {
        news_id: r.try_get("news_id")?,
        headline: r.try_get("headline")?,
        status: r.try_get("status")?,
        section: r.try_get("section")?,
        edition_id: r.try_get("edition_id")?,
        created_by: r.try_get("created_by")?,
        spiked_at: from_unix(r.try_get("spiked_at")?),
        spiked_by: r.try_get("actor")?,
    })
}

const SPIKED_SELECT: &str = "SELECT s.news_id, s.headline, s.status, sec.path AS section, s.edition_id, s.created_by, \
                             sp.spiked_at, sp.actor FROM story_spikes sp JOIN stories s ON s.news_id = sp.news_id \
                             JOIN sections sec ON sec.id = s.section_id";

/// The story's state and edition, for a spike or an unspike inside a transaction.
async fn state_of(conn: &mut AnyConnection, news_id: NewsId) -> Result<(String, Option<i64>, i64)> {
    // The no-op update locks the row, so a workflow step cannot slip in between the check and the spike.
    let row = sqlx::query(
        "UPDATE stories SET version = version WHERE news_id = $1 RETURNING status, published_at, edition_id",
    )
    .bind(news_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::Invalid(format!("there is no story {news_id}")))?;
    Ok((row.try_get("status")?, row.try_get("published_at")?, row.try_get("edition_id")?))
}

impl Store {
    /// When story `news_id` was spiked, if it is.
    pub async fn spiked_at(&self, news_id: NewsId) -> Result<Option<DateTime<Utc>>> {
        let at: Option<i64> = sqlx::query_scalar("SELECT spiked_at FROM story_spikes WHERE news_id = $1")
            .bind(news_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(at.map(from_unix))
    }

    /// Spikes a story that was never published (draft or submitted): it
    /// leaves its desk (the place is kept for [`Store::unspike`]) and every
    /// newsroom list, with `audit` in the same transaction. Refused
    /// ([`StoreError::Invalid`]) when the story is in another state or spiked already.
    pub async fn spike(&self, news_id: NewsId, by: Option<i64>, at: DateTime<Utc>, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let (status, published_at, edition_id) = state_of(&mut tx, news_id).await?;
            if !matches!(status.as_str(), "draft" | "submitted") || published_at.is_some() {
                return Err(StoreError::Invalid(format!("a {status} story cannot be spiked")));
            }
            let place = sqlx::query("SELECT desk_id, stage_id, assignee_id FROM story_desks WHERE news_id = $1")
                .bind(news_id)
                .fetch_optional(&mut *tx)
                .await?;
            let (desk, stage, assignee): (Option<i64>, Option<i64>, Option<i64>) = match &place {
                Some(r) => (Some(r.try_get("desk_id")?), Some(r.try_get("stage_id")?), r.try_get("assignee_id")?),
                None => (None, None, None),
            };
            let inserted = sqlx::query(
                "INSERT INTO story_spikes (news_id, spiked_at, spiked_by, actor, desk_id, stage_id, assignee_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (news_id) DO NOTHING",
            )
            .bind(news_id)
            .bind(at.timestamp())
            .bind(by)
            .bind(&audit.actor)
            .bind(desk)
            .bind(stage)
            .bind(assignee)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Err(StoreError::Invalid(format!("story {news_id} is spiked already")));
            }
            sqlx::query("DELETE FROM story_desks WHERE news_id = $1").bind(news_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM story_locks WHERE news_id = $1").bind(news_id).execute(&mut *tx).await?;
            audit_in(&mut tx, audit).await?;
            record_change(&mut tx, news_id, edition_id).await
        }
        .await;
        crate::sql::finish(tx, result).await
    }

    /// Takes a story off the spike: it is listed again, and goes back to the
    /// desk stage it was in when that stage still exists (assigned as before
    /// when the assignee is still a member). Refused when it is not spiked.
    pub async fn unspike(&self, news_id: NewsId, by: Option<i64>, at: DateTime<Utc>, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let (_, _, edition_id) = state_of(&mut tx, news_id).await?;
            let row =
                sqlx::query("DELETE FROM story_spikes WHERE news_id = $1 RETURNING desk_id, stage_id, assignee_id")
                    .bind(news_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::Invalid(format!("story {news_id} is not spiked")))?;
            let desk: Option<i64> = row.try_get("desk_id")?;
            let stage: Option<i64> = row.try_get("stage_id")?;
            let assignee: Option<i64> = row.try_get("assignee_id")?;
            if let (Some(desk), Some(stage)) = (desk, stage) {
                sqlx::query(
                    "INSERT INTO story_desks (news_id, desk_id, stage_id, assignee_id, moved_at, moved_by) \
                     SELECT $1, st.desk_id, st.id, \
                     (SELECT m.user_id FROM desk_members m WHERE m.desk_id = st.desk_id AND m.user_id = $4), $5, $6 \
                     FROM desk_stages st WHERE st.id = $3 AND st.desk_id = $2 ON CONFLICT (news_id) DO NOTHING",
                )
                .bind(news_id)
                .bind(desk)
                .bind(stage)
                .bind(assignee)
                .bind(at.timestamp())
                .bind(by)
                .execute(&mut *tx)
                .await?;
            }
            audit_in(&mut tx, audit).await?;
            record_change(&mut tx, news_id, edition_id).await
        }
        .await;
        crate::sql::finish(tx, result).await
    }

    /// Spiked stories, most recently spiked first; only those of `edition_id`
    /// and created by `created_by` when given.
    pub async fn spiked_stories(&self, edition_id: Option<i64>, created_by: Option<i64>) -> Result<Vec<SpikedStory>> {
        let mut args = crate::sql::Args::new();
        let mut sql = format!("{SPIKED_SELECT} WHERE 1 = 1");
        if let Some(e) = edition_id {
            sql += &format!(" AND s.edition_id = {}", args.push(e));
        }
        if let Some(u) = created_by {
            sql += &format!(" AND s.created_by = {}", args.push(u));
        }
        sql += " ORDER BY sp.spiked_at DESC, s.news_id DESC LIMIT 500";
        let rows = args.bind_to(sqlx::query(&sql)).fetch_all(self.pool()).await?;
        rows.iter().map(spiked_from).collect()
    }

    /// Deletes for good every story spiked at or before `cutoff`, with what
    /// belongs to it (revisions, tags, bylines, desk place, locks, views,
    /// translation link, import mapping), in one transaction with an audit
    /// entry per story (actor [`PURGER`]). Only stories still spiked and never
    /// published are deleted, so purges running at once on several nodes
    /// delete each story once. Returns the purged News IDs.
    pub async fn purge_spiked(&self, cutoff: DateTime<Utc>) -> Result<Vec<NewsId>> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let rows = sqlx::query(
                "SELECT s.news_id, s.edition_id, s.headline FROM story_spikes sp JOIN stories s ON s.news_id = sp.news_id \
                 WHERE sp.spiked_at <= $1 AND s.status IN ('draft', 'submitted') AND s.published_at IS NULL \
                 ORDER BY s.news_id",
            )
            .bind(cutoff.timestamp())
            .fetch_all(&mut *tx)
            .await?;
            let mut purged = Vec::with_capacity(rows.len());
            for r in &rows {
                let news_id: NewsId = r.try_get("news_id")?;
                let edition_id: i64 = r.try_get("edition_id")?;
                let headline: String = r.try_get("headline")?;
                for table in [
                    "story_spikes",
                    "story_desks",
                    "story_locks",
                    "story_revisions",
                    "story_tags",
                    "story_authors",
                    "story_views",
                    "story_translations",
                    "story_corrections",
                    "comments",
                    "breaking_news",
                ] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE news_id = $1"))
                        .bind(news_id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("DELETE FROM imported_items WHERE kind = 'post' AND local_id = $1")
                    .bind(news_id)
                    .execute(&mut *tx)
                    .await?;
                let gone = sqlx::query("DELETE FROM stories WHERE news_id = $1")
                    .bind(news_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if gone == 0 {
                    continue;
                }
                audit_in(
                    &mut tx,
                    &AuditEntry::system(PURGER, "story.purge", "story", news_id, &format!("spiked story purged: {headline}")),
                )
                .await?;
                // The log tells the other nodes' followers (search, caches) that the story is gone.
                record_change(&mut tx, news_id, edition_id).await?;
                purged.push(news_id);
            }
            Ok(purged)
        }
        .await;
        crate::sql::finish(tx, result).await
    }
}
