//! Readers' comments: posting (rate limits and duplicate detection kept in
//! the database, so they hold across nodes), the published thread of a story,
//! the moderation queue and its actions, per-story and per-edition settings,
//! and the site secret that signs comment forms.
//!
//! A change that shows or hides a comment writes a row into the change log
//! (`story_changes`) in the same transaction, so every node drops the story's
//! cached page.

use chrono::{DateTime, Utc};
use newsdesk_domain::NewsId;
use newsdesk_domain::StoryStatus;
use newsdesk_domain::comments::{CommentStatus, ModerationMode};
use newsdesk_domain::dates::from_unix;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::{AuditEntry, Result, Store, StoreError};

/// A comment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Comment id.
    pub id: i64,
    /// The story it is on.
    pub news_id: NewsId,
    /// The story's edition.
    pub edition_id: i64,
    /// The top-level comment it answers, if it is a reply.
    pub parent_id: Option<i64>,
    /// Name shown with it.
    pub name: String,
    /// Email given (never shown to readers).
    pub email: String,
    /// Text exactly as typed.
    pub body: String,
    /// Moderation status.
    pub status: CommentStatus,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When its status was last changed by an editor.
    pub moderated_at: Option<DateTime<Utc>>,
    /// Who changed it last.
    pub moderated_by: Option<String>,
}

/// A comment to store; its content already passed the domain's checks.
#[derive(Debug, Clone)]
pub struct NewComment {
    /// The story.
    pub news_id: NewsId,
    /// The comment answered, if any (a reply to a reply answers its top-level comment).
    pub parent_id: Option<i64>,
    /// Name shown.
    pub name: String,
    /// Email (may be empty).
    pub email: String,
    /// Text as typed.
    pub body: String,
    /// Normalised text for duplicate detection.
    pub body_key: String,
    /// Keyed hash of the client address.
    pub ip_key: String,
    /// Status it starts in (from the edition's moderation mode).
    pub status: CommentStatus,
}

/// The limits a post is checked against, in the same transaction as the insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostLimits {
    /// Comments one client address may post per window (0: no limit).
    pub per_ip: i64,
    /// Comments one story may receive per window (0: no limit).
    pub per_story: i64,
    /// Length of a rate window in seconds.
    pub window_secs: i64,
    /// The same text counts as a duplicate for this long (seconds).
    pub duplicate_secs: i64,
}

/// What became of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    /// Stored (committed).
    Stored(Comment),
    /// The client address posted too many comments in the window.
    RateLimitedIp,
    /// The story received too many comments in the window.
    RateLimitedStory,
    /// The same text is already on this story, or came from the same address, recently.
    Duplicate,
    /// The comment it answers is not on this story.
    BadParent,
}

/// What the comment form needs to know about a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentTarget {
    /// The story.
    pub news_id: NewsId,
    /// Its edition.
    pub edition_id: i64,
    /// Its workflow state.
    pub status: StoryStatus,
    /// First publish time.
    pub published_at: Option<DateTime<Utc>>,
    /// Closed for comments by an editor.
    pub closed: bool,
    /// The edition's moderation mode, when it sets one.
    pub moderation: Option<ModerationMode>,
}

/// Which comments the moderation queue lists.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only this status.
    pub status: Option<CommentStatus>,
    /// Only comments on this story.
    pub news_id: Option<NewsId>,
    /// Only comments with an id below this (paging, newest first).
    pub before_id: Option<i64>,
    /// At most this many (1 to 500).
    pub limit: i64,
}

/// A queue row: the comment and the headline of its story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueItem {
    /// The comment.
    pub comment: Comment,
    /// Headline of its story.
    pub headline: String,
    /// Slug of its story (for links).
    pub slug: String,
}

const COMMENT_COLUMNS: &str = "c.id, c.news_id, c.edition_id, c.parent_id, c.author_name, c.author_email, c.body, \
     c.status, c.created_at, c.moderated_at, c.moderated_by";

/// A story's comment settings, as [`target_from_row`] reads them (named
/// apart from [`COMMENT_COLUMNS`], which a query may select beside them).
pub(crate) const TARGET_COLUMNS: &str = "s.news_id AS target_news_id, s.edition_id AS target_edition_id, \
     s.status AS target_status, s.published_at AS target_published_at, s.comments_closed, e.comment_moderation";
const TARGET_FROM: &str = "FROM stories s JOIN editions e ON e.id = s.edition_id";

pub(crate) fn target_from_row(r: &AnyRow) -> Result<CommentTarget> {
    let status: String = r.try_get("target_status")?;
    Ok(CommentTarget {
        news_id: r.try_get("target_news_id")?,
        edition_id: r.try_get("target_edition_id")?,
        status: StoryStatus::parse(&status)
            .ok_or_else(|| StoreError::Invalid(format!("story has unknown status {status}")))?,
        published_at: r.try_get::<Option<i64>, _>("target_published_at")?.map(from_unix),
        closed: r.try_get::<i64, _>("comments_closed")? != 0,
        moderation: r.try_get::<Option<String>, _>("comment_moderation")?.as_deref().and_then(ModerationMode::parse),
    })
}

fn comment_from_row(r: &AnyRow) -> Result<Comment> {
    let status: String = r.try_get("status")?;
    Ok(Comment {
        id: r.try_get("id")?,
        news_id: r.try_get("news_id")?,
        edition_id: r.try_get("edition_id")?,
        parent_id: r.try_get("parent_id")?,
        name: r.try_get("author_name")?,
        email: r.try_get("author_email")?,
        body: r.try_get("body")?,
        status: CommentStatus::parse(&status)
            .ok_or_else(|| StoreError::Invalid(format!("comment has unknown status {status}")))?,
        created_at: from_unix(r.try_get("created_at")?),
        moderated_at: r.try_get::<Option<i64>, _>("moderated_at")?.map(from_unix),
        moderated_by: r.try_get("moderated_by")?,
    })
}

async fn record_change(conn: &mut AnyConnection, news_id: NewsId, edition_id: i64, at: i64) -> Result<()> {
    // Only the story's comments changed: pages are dropped, no webhook event is made.
    sqlx::query("INSERT INTO story_changes (news_id, edition_id, changed_at, kind) VALUES ($1, $2, $3, 'comment')")
        .bind(news_id)
        .bind(edition_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    crate::changes::notify_change(conn).await
}

/// Adds a hit to a rate bucket; returns the hits in the window so far.
async fn hit(conn: &mut AnyConnection, bucket: &str, window_start: i64) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO comment_rate (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = comment_rate.hits + 1 RETURNING hits",
    )
    .bind(bucket)
    .bind(window_start)
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("hits")?)
}

impl Store {
    /// The site secret named `name`: created once (`make` gives the value),
    /// then read by every node and process.
    pub async fn site_secret(&self, name: &str, make: impl FnOnce() -> String) -> Result<String> {
        sqlx::query("INSERT INTO site_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(make())
            .execute(self.pool())
            .await?;
        let row =
            sqlx::query("SELECT value FROM site_settings WHERE name = $1").bind(name).fetch_one(self.pool()).await?;
        Ok(row.try_get("value")?)
    }

    /// The story a comment would go on, with its comment settings.
    pub async fn comment_target(&self, news_id: NewsId) -> Result<Option<CommentTarget>> {
        let row = sqlx::query(&format!("SELECT {TARGET_COLUMNS} {TARGET_FROM} WHERE s.news_id = $1"))
            .bind(news_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(target_from_row).transpose()
    }

    /// [`Store::comment_target`] and [`Store::published_comments`] in one
    /// query: a story page not yet cached shows both.
    pub async fn comment_thread(&self, news_id: NewsId) -> Result<Option<(CommentTarget, Vec<Comment>)>> {
        self.reads().await?.comment_thread(news_id).await
    }

    /// Opens or closes a story for comments (the story page changes, so it is
    /// logged as a change), with its audit entry; `false` when there is no such story.
    pub async fn set_comments_closed(&self, news_id: NewsId, closed: bool, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("UPDATE stories SET comments_closed = $2 WHERE news_id = $1 RETURNING edition_id")
            .bind(news_id)
            .bind(i64::from(closed))
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        record_change(&mut tx, news_id, row.try_get("edition_id")?, Utc::now().timestamp()).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets an edition's moderation mode (`None`: follow the site's default).
    pub async fn set_comment_moderation(&self, edition_id: i64, mode: Option<ModerationMode>) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE editions SET comment_moderation = $2 WHERE id = $1")
            .bind(edition_id)
            .bind(mode.map(ModerationMode::as_str))
            .execute(&mut *tx)
            .await?;
        // The comment forms on cached story pages say how comments are moderated.
        crate::content::record_change(&mut tx, crate::SITE_CHANGE, edition_id).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores a comment if the limits allow it, all in one transaction that is
    /// committed before this returns: the rate counters (per address and per
    /// story, shared by all nodes), the duplicate check, the insert, and a
    /// change-log row when the comment is shown at once.
    pub async fn post_comment(&self, c: &NewComment, limits: &PostLimits, now: DateTime<Utc>) -> Result<PostOutcome> {
        let t = now.timestamp();
        let mut tx = self.begin_write().await?;
        // Write first: on SQLite the transaction takes the write lock at once
        // instead of failing to upgrade from a read lock under contention.
        let window = limits.window_secs.max(1);
        let window_start = t - t.rem_euclid(window);
        let ip_hits = hit(&mut tx, &format!("ip:{}", c.ip_key), window_start).await?;
        let story_hits = hit(&mut tx, &format!("story:{}", c.news_id), window_start).await?;
        let refusal = if limits.per_ip > 0 && ip_hits > limits.per_ip {
            Some(PostOutcome::RateLimitedIp)
        } else if limits.per_story > 0 && story_hits > limits.per_story {
            Some(PostOutcome::RateLimitedStory)
        } else {
            None
        };
        if let Some(r) = refusal {
            tx.rollback().await?;
            return Ok(r);
        }
        let dup = sqlx::query(
            "SELECT 1 AS x FROM comments WHERE body_key = $1 AND created_at > $2 AND (news_id = $3 OR ip_key = $4) LIMIT 1",
        )
        .bind(&c.body_key)
        .bind(t - limits.duplicate_secs)
        .bind(c.news_id)
        .bind(&c.ip_key)
        .fetch_optional(&mut *tx)
        .await?;
        if dup.is_some() {
            tx.rollback().await?;
            return Ok(PostOutcome::Duplicate);
        }
        let parent_id = match c.parent_id {
            None => None,
            Some(p) => {
                // Only a published (approved) comment can be answered: a reply to a pending,
                // rejected or spam one would show its author's name to the public.
                let row = sqlx::query(
                    "SELECT id, parent_id FROM comments WHERE id = $1 AND news_id = $2 AND status = 'approved'",
                )
                .bind(p)
                .bind(c.news_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Ok(PostOutcome::BadParent);
                };
                // One level of threading: a reply to a reply answers the top-level comment.
                Some(row.try_get::<Option<i64>, _>("parent_id")?.unwrap_or(row.try_get("id")?))
            }
        };
        let edition_id: i64 = sqlx::query("SELECT edition_id FROM stories WHERE news_id = $1")
            .bind(c.news_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("there is no story {}", c.news_id)))?
            .try_get("edition_id")?;
        let row = sqlx::query(
            "INSERT INTO comments (news_id, edition_id, parent_id, author_name, author_email, body, body_key, ip_key, \
             status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING id, news_id, edition_id, parent_id, author_name, author_email, body, status, created_at, \
             moderated_at, moderated_by",
        )
        .bind(c.news_id)
        .bind(edition_id)
        .bind(parent_id)
        .bind(&c.name)
        .bind(&c.email)
        .bind(&c.body)
        .bind(&c.body_key)
        .bind(&c.ip_key)
        .bind(c.status.as_str())
        .bind(t)
        .fetch_one(&mut *tx)
        .await?;
        let comment = comment_from_row(&row)?;
        if c.status == CommentStatus::Approved {
            record_change(&mut tx, c.news_id, edition_id, t).await?;
        }
        // Old counters are of no use; the window index makes this cheap.
        sqlx::query("DELETE FROM comment_rate WHERE window_start < $1")
            .bind(t - window.max(86_400))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(PostOutcome::Stored(comment))
    }

    /// One comment.
    pub async fn comment(&self, id: i64) -> Result<Option<Comment>> {
        let row = sqlx::query(&format!("SELECT {COMMENT_COLUMNS} FROM comments c WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(comment_from_row).transpose()
    }

    /// The approved comments of a story, oldest first (top-level and replies alike).
    pub async fn published_comments(&self, news_id: NewsId) -> Result<Vec<Comment>> {
        let rows = sqlx::query(&format!(
            "SELECT {COMMENT_COLUMNS} FROM comments c WHERE c.news_id = $1 AND c.status = 'approved' \
             ORDER BY c.created_at, c.id"
        ))
        .bind(news_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(comment_from_row).collect()
    }

    /// The moderation queue: comments matching `filter`, newest first, with their story's headline.
    pub async fn comment_queue(&self, filter: &QueueFilter) -> Result<Vec<QueueItem>> {
        let rows = sqlx::query(&format!(
            "SELECT {COMMENT_COLUMNS}, s.headline, s.slug FROM comments c JOIN stories s ON s.news_id = c.news_id \
             WHERE ($1 IS NULL OR c.status = $1) AND ($2 IS NULL OR c.news_id = $2) AND ($3 IS NULL OR c.id < $3) \
             ORDER BY c.id DESC LIMIT $4"
        ))
        .bind(filter.status.map(CommentStatus::as_str))
        .bind(filter.news_id)
        .bind(filter.before_id)
        .bind(filter.limit.clamp(1, 500))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QueueItem {
                    comment: comment_from_row(r)?,
                    headline: r.try_get("headline")?,
                    slug: r.try_get("slug")?,
                })
            })
            .collect()
    }

    /// How many comments have each status (optionally on one story), for the queue's tabs.
    pub async fn comment_counts(&self, news_id: Option<NewsId>) -> Result<Vec<(CommentStatus, i64)>> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM comments WHERE ($1 IS NULL OR news_id = $1) GROUP BY status",
        )
        .bind(news_id)
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<(CommentStatus, i64)> = CommentStatus::ALL.iter().map(|s| (*s, 0)).collect();
        for r in rows {
            let s: String = r.try_get("status")?;
            if let Some(entry) = out.iter_mut().find(|(st, _)| st.as_str() == s) {
                entry.1 = r.try_get("n")?;
            }
        }
        Ok(out)
    }

    /// Sets the status of the comments `ids` (approve, reject, mark spam; one or
    /// many), recording who did it. Stories whose visible comments changed get a
    /// change-log row in the same transaction; they are returned as
    /// `(news_id, edition_id)` so this node can drop their pages at once.
    /// The audit entry (whose actor is who did it) is written in the same transaction.
    pub async fn moderate_comments(
        &self,
        ids: &[i64],
        status: CommentStatus,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<Vec<(NewsId, i64)>> {
        let actor = audit.actor.as_str();
        if actor.trim().is_empty() {
            return Err(StoreError::Invalid("a moderation needs the name of who did it".into()));
        }
        let t = now.timestamp();
        let mut tx = self.begin_write().await?;
        let mut changed: Vec<(NewsId, i64)> = Vec::new();
        for id in ids {
            let before = sqlx::query("SELECT status, news_id, edition_id FROM comments WHERE id = $1")
                .bind(*id)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(before) = before else { continue };
            let old: String = before.try_get("status")?;
            if old == status.as_str() {
                continue;
            }
            sqlx::query("UPDATE comments SET status = $2, moderated_at = $3, moderated_by = $4 WHERE id = $1")
                .bind(*id)
                .bind(status.as_str())
                .bind(t)
                .bind(actor)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO comment_moderation_log (comment_id, status, actor, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(*id)
            .bind(status.as_str())
            .bind(actor)
            .bind(t)
            .execute(&mut *tx)
            .await?;
            let shown_before = old == CommentStatus::Approved.as_str();
            let shown_after = status == CommentStatus::Approved;
            let story = (before.try_get::<i64, _>("news_id")?, before.try_get::<i64, _>("edition_id")?);
            if shown_before != shown_after && !changed.contains(&story) {
                changed.push(story);
            }
        }
        for (news_id, edition_id) in &changed {
            record_change(&mut tx, *news_id, *edition_id, t).await?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// The moderation history of a comment, oldest first: `(status, actor, time)`.
    pub async fn comment_history(&self, id: i64) -> Result<Vec<(CommentStatus, String, DateTime<Utc>)>> {
        let rows = sqlx::query(
            "SELECT status, actor, created_at FROM comment_moderation_log WHERE comment_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get("status")?;
                Ok((
                    CommentStatus::parse(&s).ok_or_else(|| StoreError::Invalid(format!("unknown status {s}")))?,
                    r.try_get("actor")?,
                    from_unix(r.try_get("created_at")?),
                ))
            })
            .collect()
    }

    /// How many comments with `body` exist (any status); for tests and checks.
    pub async fn count_comments_with_body(&self, body: &str) -> Result<i64> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM comments WHERE body = $1").bind(body).fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }
}

impl crate::Reads {
    /// [`Store::comment_thread`] on this connection.
    pub async fn comment_thread(&mut self, news_id: NewsId) -> Result<Option<(CommentTarget, Vec<Comment>)>> {
        let rows = self
            .fetch_all(
                sqlx::query(&format!(
                    "SELECT {TARGET_COLUMNS}, {COMMENT_COLUMNS} {TARGET_FROM} \
             LEFT JOIN comments c ON c.news_id = s.news_id AND c.status = 'approved' \
             WHERE s.news_id = $1 ORDER BY c.created_at, c.id"
                ))
                .bind(news_id),
            )
            .await?;
        let Some(first) = rows.first() else { return Ok(None) };
        let target = target_from_row(first)?;
        let mut comments = Vec::with_capacity(rows.len());
        for r in &rows {
            // The story without approved comments: one row, no comment in it.
            if r.try_get::<Option<i64>, _>("id")?.is_some() {
                comments.push(comment_from_row(r)?);
            }
        }
        Ok(Some((target, comments)))
    }
}
