//! Imports from other systems (a WordPress export): each outside item is
//! stored with the id it had there (`imported_items`), so a second import of
//! the same file updates what it stored the first time instead of adding it
//! again, and the old site's addresses redirect (301) to the new ones
//! (`redirects` of kind `path`).

use chrono::{DateTime, Utc};
use newsdesk_domain::comments::CommentStatus;
use newsdesk_domain::{Edition, NewsId, Photo, StoryStatus, story_path};
use sqlx::{AnyConnection, Row};

use crate::content::{now, record_change, save_story_in};
use crate::{NewPhoto, Result, SaveOutcome, Store, StoryInput};

/// A comment of an imported story.
#[derive(Debug, Clone)]
pub struct ImportedComment {
    /// Its id on the other site.
    pub external_id: String,
    /// The other site's id of the top-level comment it answers.
    pub parent_external_id: Option<String>,
    /// Name shown.
    pub name: String,
    /// E-mail (never shown).
    pub email: String,
    /// Text.
    pub body: String,
    /// Moderation state as it was there.
    pub status: CommentStatus,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
}

/// What an import of comments did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommentsImported {
    /// Newly stored.
    pub created: usize,
    /// Already imported before (left as they are: moderation done here is kept).
    pub unchanged: usize,
}

async fn mapped(conn: &mut AnyConnection, source: &str, kind: &str, external_id: &str) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT local_id FROM imported_items WHERE source = $1 AND kind = $2 AND external_id = $3")
        .bind(source)
        .bind(kind)
        .bind(external_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("local_id")).transpose()?)
}

async fn map(conn: &mut AnyConnection, source: &str, kind: &str, external_id: &str, local_id: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO imported_items (source, kind, external_id, local_id, imported_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (source, kind, external_id) DO UPDATE SET local_id = excluded.local_id \
         WHERE imported_items.local_id <> excluded.local_id",
    )
    .bind(source)
    .bind(kind)
    .bind(external_id)
    .bind(local_id)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds or repoints the redirects `old → new` of `edition`; returns how many changed.
async fn put_redirects(conn: &mut AnyConnection, edition_id: i64, pairs: &[(String, String)]) -> Result<usize> {
    let mut changed = 0;
    for (old, new) in pairs {
        let done = sqlx::query(
            "INSERT INTO redirects (edition_id, kind, old_path, new_path, created_at) VALUES ($1, 'path', $2, $3, $4) \
             ON CONFLICT (edition_id, kind, old_path) DO UPDATE SET new_path = excluded.new_path \
             WHERE redirects.new_path <> excluded.new_path",
        )
        .bind(edition_id)
        .bind(old)
        .bind(new)
        .bind(now())
        .execute(&mut *conn)
        .await?;
        changed += done.rows_affected() as usize;
    }
    Ok(changed)
}

impl Store {
    /// The local id (News ID, comment id, photo id) the item `kind`
    /// `external_id` of `source` became, if it was imported.
    pub async fn imported_id(&self, source: &str, kind: &str, external_id: &str) -> Result<Option<i64>> {
        let mut conn = self.pool().acquire().await?;
        mapped(&mut conn, source, kind, external_id).await
    }

    /// Stores an imported story, in one transaction: a new one the first time,
    /// the same News ID after (a new revision if anything changed), its
    /// scheduled time, and the redirects from `old_paths` (normalized old
    /// addresses). A published story's old addresses lead to its page, the
    /// others' to `/news/{id}`, which answers once they are published.
    /// `input.news_id` is ignored: the mapping decides.
    pub async fn import_story(
        &self,
        source: &str,
        external_id: &str,
        input: &StoryInput,
        scheduled_at: Option<DateTime<Utc>>,
        old_paths: &[String],
        edition: &Edition,
    ) -> Result<(NewsId, SaveOutcome)> {
        if input.headline.trim().is_empty() {
            return Err(crate::StoreError::Invalid("headline must not be empty".into()));
        }
        let mut tx = self.begin_write().await?;
        let mut input = input.clone();
        input.news_id = mapped(&mut tx, source, "post", external_id).await?;
        let (news_id, mut outcome) = save_story_in(&mut tx, &input).await?;
        if let (StoryStatus::Scheduled, Some(at)) = (input.status, scheduled_at) {
            let done = sqlx::query(
                "UPDATE stories SET scheduled_at = $2 WHERE news_id = $1 AND (scheduled_at IS NULL OR scheduled_at <> $2)",
            )
            .bind(news_id)
            .bind(at.timestamp())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 && outcome == SaveOutcome::Unchanged {
                outcome = SaveOutcome::Updated;
            }
        }
        map(&mut tx, source, "post", external_id, news_id).await?;
        let slug: String = sqlx::query("SELECT slug FROM stories WHERE news_id = $1")
            .bind(news_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("slug")?;
        let target = if input.status == StoryStatus::Published {
            edition.url(&story_path(news_id, &slug))
        } else {
            edition.url(&format!("/news/{news_id}"))
        };
        let pairs: Vec<(String, String)> = old_paths.iter().map(|o| (o.clone(), target.clone())).collect();
        put_redirects(&mut tx, edition.id, &pairs).await?;
        tx.commit().await?;
        Ok((news_id, outcome))
    }

    /// Stores the comments of an imported story that were not imported
    /// before, in one transaction (with one change-log entry, so cached pages
    /// show them); comments imported before are left as they are.
    pub async fn import_comments(
        &self,
        source: &str,
        news_id: NewsId,
        comments: &[ImportedComment],
    ) -> Result<CommentsImported> {
        let mut tx = self.begin_write().await?;
        let edition_id: i64 = sqlx::query("SELECT edition_id FROM stories WHERE news_id = $1")
            .bind(news_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("edition_id")?;
        let mut done = CommentsImported::default();
        for c in comments {
            if mapped(&mut tx, source, "comment", &c.external_id).await?.is_some() {
                done.unchanged += 1;
                continue;
            }
            let parent = match &c.parent_external_id {
                Some(p) => mapped(&mut tx, source, "comment", p).await?,
                None => None,
            };
            let id: i64 = sqlx::query(
                "INSERT INTO comments (news_id, edition_id, parent_id, author_name, author_email, body, body_key, ip_key, \
                 status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, $9) RETURNING id",
            )
            .bind(news_id)
            .bind(edition_id)
            .bind(parent)
            .bind(&c.name)
            .bind(&c.email)
            .bind(&c.body)
            .bind(newsdesk_domain::comments::duplicate_key(&c.body))
            .bind(c.status.as_str())
            .bind(c.created_at.timestamp())
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            map(&mut tx, source, "comment", &c.external_id, id).await?;
            done.created += 1;
        }
        if done.created > 0 {
            record_change(&mut tx, news_id, edition_id).await?;
        }
        tx.commit().await?;
        Ok(done)
    }

    /// Stores an imported photo (the same bytes give the same photo) and
    /// remembers which attachment it was; `true` when it was new here.
    pub async fn import_photo(&self, source: &str, external_id: &str, photo: &NewPhoto) -> Result<(Photo, bool)> {
        let known = self.photo_by_sha256(&photo.sha256).await?;
        let new = known.is_none();
        let stored = match known {
            Some(p) => p,
            None => {
                let audit = crate::AuditEntry::system("import", "photo.import", "photo", "", source);
                self.add_photo(photo, &[], &audit).await?
            }
        };
        let mut tx = self.begin_write().await?;
        map(&mut tx, source, "attachment", external_id, stored.id).await?;
        tx.commit().await?;
        Ok((stored, new))
    }

    /// Adds the redirects `old → new` (old addresses normalized, new ones
    /// site paths) for `edition`; returns how many were new or changed.
    pub async fn put_path_redirects(&self, edition_id: i64, pairs: &[(String, String)]) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let changed = put_redirects(&mut tx, edition_id, pairs).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Where an old address (normalized by the domain's `wxr::plan::old_path`) moved, if it did.
    pub async fn path_redirect(&self, old_path: &str) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT new_path FROM redirects WHERE kind = 'path' AND old_path = $1 ORDER BY edition_id LIMIT 1",
        )
        .bind(old_path)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get("new_path")).transpose()?)
    }

    /// Number of old addresses that redirect (kind `path`).
    pub async fn path_redirect_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM redirects WHERE kind = 'path'")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }
}
