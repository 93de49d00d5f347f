//! Live blogs: a story covered live, and its short updates.
//!
//! A story becomes a live blog when its coverage starts ([`Store::set_live`]);
//! reporters and editors then post updates to it. On a published story every
//! add, edit or removal of an update is a public change: the story's version
//! grows, its public update time moves, a revision and an entry in the change
//! log are written (so every node drops its cached pages and webhooks fire),
//! with the audit entry, in one transaction. A draft collects updates quietly.

use chrono::{DateTime, Utc};
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::{BodyFormat, NewsId, Photo};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::content::{now, record_change};
use crate::{AuditEntry, Result, Store, StoreError};

/// One update of a live blog.
#[derive(Debug, Clone, Serialize)]
pub struct LiveUpdate {
    /// Id, also the page anchor `#update-{id}`; grows with each new update.
    pub id: i64,
    /// The story.
    pub news_id: NewsId,
    /// Optional headline (empty: none).
    pub headline: String,
    /// Body as written, in the story's body format.
    pub body_source: String,
    /// Format of `body_source`.
    pub body_format: BodyFormat,
    /// Body as sanitized HTML, ready to show.
    pub body_html: String,
    /// A photo from the media library, if any.
    pub photo: Option<Photo>,
    /// Pinned to the top of the list (at most one per story).
    pub pinned: bool,
    /// Who posted it (an e-mail address: never shown to readers).
    pub actor: String,
    /// When it was posted.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub modified_at: DateTime<Utc>,
}

/// The content of an update, as validated by the newsroom's commands.
#[derive(Debug, Clone)]
pub struct LiveUpdateInput {
    /// Optional headline (empty: none).
    pub headline: String,
    /// Body as written (must not be empty).
    pub body_source: String,
    /// Format of the body (the story's).
    pub body_format: BodyFormat,
    /// A photo from the media library.
    pub photo_id: Option<i64>,
    /// Pin it to the top (unpins the story's other updates).
    pub pinned: bool,
}

const UPDATE_SELECT: &str = concat!(
    "SELECT u.id, u.news_id, u.headline, u.body_source, u.body_format, u.body_html, \
     u.pinned, u.actor, u.created_at, u.modified_at, \
     p.id AS photo_id, p.sha256, p.mime, p.width, p.height, p.caption, p.credit, ",
    crate::media::photo_detail_columns!("p."),
    " FROM story_updates u LEFT JOIN photos p ON p.id = u.photo_id"
);

fn update_from(r: &AnyRow) -> Result<LiveUpdate> {
    let format: String = r.try_get("body_format")?;
    let photo = match r.try_get::<Option<i64>, _>("photo_id")? {
        Some(id) => Some(Photo {
            id,
            sha256: r.try_get("sha256")?,
            mime: r.try_get("mime")?,
            width: r.try_get("width")?,
            height: r.try_get("height")?,
            caption: r.try_get("caption")?,
            credit: r.try_get("credit")?,
            details: crate::media::details_of(r)?,
        }),
        None => None,
    };
    Ok(LiveUpdate {
        id: r.try_get("id")?,
        news_id: r.try_get("news_id")?,
        headline: r.try_get("headline")?,
        body_source: r.try_get("body_source")?,
        body_format: BodyFormat::parse(&format)
            .ok_or_else(|| StoreError::Invalid(format!("unknown body format {format}")))?,
        body_html: r.try_get("body_html")?,
        photo,
        pinned: r.try_get::<i64, _>("pinned")? != 0,
        actor: r.try_get("actor")?,
        created_at: from_unix(r.try_get("created_at")?),
        modified_at: from_unix(r.try_get("modified_at")?),
    })
}

/// What the transaction needs to know of the story.
struct LiveState {
    edition_id: i64,
    published: bool,
    live: bool,
    ended: bool,
}

async fn live_state(conn: &mut AnyConnection, news_id: NewsId) -> Result<LiveState> {
    // The no-op UPDATE locks the story's row: its updates and saves go one at a time.
    let row = sqlx::query(
        "UPDATE stories SET version = version WHERE news_id = $1 RETURNING edition_id, status, live_since, live_until",
    )
    .bind(news_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::Invalid(format!("there is no story {news_id}")))?;
    Ok(LiveState {
        edition_id: row.try_get("edition_id")?,
        published: row.try_get::<String, _>("status")? == "published",
        live: row.try_get::<Option<i64>, _>("live_since")?.is_some(),
        ended: row.try_get::<Option<i64>, _>("live_until")?.is_some(),
    })
}

/// After a change of the live blog: on a published story, a new public
/// version (revision, change log); a draft's updates change nothing public.
async fn story_moved(conn: &mut AnyConnection, news_id: NewsId, s: &LiveState, actor: &str, note: &str) -> Result<()> {
    if !s.published {
        return Ok(());
    }
    let at = now();
    sqlx::query("UPDATE stories SET version = version + 1, modified_at = $2, updated_at = $2 WHERE news_id = $1")
        .bind(news_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    crate::newsroom::snapshot(conn, news_id, actor, note).await?;
    record_change(conn, news_id, s.edition_id).await
}

async fn unpin_others(conn: &mut AnyConnection, news_id: NewsId, keep: i64) -> Result<()> {
    sqlx::query("UPDATE story_updates SET pinned = 0 WHERE news_id = $1 AND id <> $2 AND pinned <> 0")
        .bind(news_id)
        .bind(keep)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn read_update(conn: &mut AnyConnection, news_id: NewsId, id: i64) -> Result<Option<LiveUpdate>> {
    let row = sqlx::query(&format!("{UPDATE_SELECT} WHERE u.news_id = $1 AND u.id = $2"))
        .bind(news_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(update_from).transpose()
}

impl Store {
    /// Starts (`true`) or ends (`false`) the live coverage of a story. Starting
    /// again after an end reopens it (the start time stays). Returns whether
    /// anything changed; a change of a published story is a new public version.
    pub async fn set_live(&self, news_id: NewsId, live: bool, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let s = live_state(&mut tx, news_id).await?;
            let at = now();
            let (sql, note) = match (live, s.live, s.ended) {
                (true, false, _) => {
                    ("UPDATE stories SET live_since = $2, live_until = NULL WHERE news_id = $1", "live: start")
                }
                (true, true, true) => (
                    "UPDATE stories SET live_until = NULL, live_since = COALESCE(live_since, $2) WHERE news_id = $1",
                    "live: reopen",
                ),
                (false, true, false) => ("UPDATE stories SET live_until = $2 WHERE news_id = $1", "live: end"),
                _ => return Ok(false),
            };
            sqlx::query(sql).bind(news_id).bind(at).execute(&mut *tx).await?;
            story_moved(&mut tx, news_id, &s, &audit.actor, note).await?;
            audit_in(&mut tx, audit).await?;
            Ok(true)
        }
        .await;
        crate::sql::finish(tx, result).await
    }

    /// Posts an update to a live story whose coverage has not ended.
    pub async fn add_live_update(
        &self,
        news_id: NewsId,
        input: &LiveUpdateInput,
        audit: &AuditEntry,
    ) -> Result<LiveUpdate> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let s = live_state(&mut tx, news_id).await?;
            if !s.live || s.ended {
                return Err(StoreError::Invalid(format!("story {news_id} is not covered live now")));
            }
            let at = now();
            let id: i64 = sqlx::query(
                "INSERT INTO story_updates (news_id, headline, body_source, body_format, body_html, photo_id, pinned, \
                 actor, created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            )
            .bind(news_id)
            .bind(&input.headline)
            .bind(&input.body_source)
            .bind(input.body_format.as_str())
            .bind(crate::body::render_body_in(&mut tx, input.body_format, &input.body_source).await?)
            .bind(input.photo_id)
            .bind(i64::from(input.pinned))
            .bind(&audit.actor)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?;
            if input.pinned {
                unpin_others(&mut tx, news_id, id).await?;
            }
            story_moved(&mut tx, news_id, &s, &audit.actor, &format!("live update {id} posted")).await?;
            audit_in(&mut tx, &AuditEntry { detail: format!("update {id}: {}", audit.detail), ..audit.clone() })
                .await?;
            read_update(&mut tx, news_id, id).await?.ok_or_else(|| StoreError::Invalid("the update vanished".into()))
        }
        .await;
        crate::sql::finish(tx, result).await
    }

    /// Changes update `id` of the story; `None` when the story has no such update.
    pub async fn edit_live_update(
        &self,
        news_id: NewsId,
        id: i64,
        input: &LiveUpdateInput,
        audit: &AuditEntry,
    ) -> Result<Option<LiveUpdate>> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let s = live_state(&mut tx, news_id).await?;
            let Some(old) = read_update(&mut tx, news_id, id).await? else { return Ok(None) };
            let same = old.headline == input.headline
                && old.body_source == input.body_source
                && old.body_format == input.body_format
                && old.photo.as_ref().map(|p| p.id) == input.photo_id
                && old.pinned == input.pinned;
            if same {
                return Ok(Some(old));
            }
            sqlx::query(
                "UPDATE story_updates SET headline = $3, body_source = $4, body_format = $5, body_html = $6, \
                 photo_id = $7, pinned = $8, modified_at = $9 WHERE news_id = $1 AND id = $2",
            )
            .bind(news_id)
            .bind(id)
            .bind(&input.headline)
            .bind(&input.body_source)
            .bind(input.body_format.as_str())
            .bind(crate::body::render_body_in(&mut tx, input.body_format, &input.body_source).await?)
            .bind(input.photo_id)
            .bind(i64::from(input.pinned))
            .bind(now())
            .execute(&mut *tx)
            .await?;
            if input.pinned {
                unpin_others(&mut tx, news_id, id).await?;
            }
            story_moved(&mut tx, news_id, &s, &audit.actor, &format!("live update {id} changed")).await?;
            audit_in(&mut tx, audit).await?;
            read_update(&mut tx, news_id, id).await
        }
        .await;
        crate::sql::finish(tx, result).await
    }

    /// Removes update `id` of the story; `false` when it has no such update.
    pub async fn delete_live_update(&self, news_id: NewsId, id: i64, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let result = async {
            let s = live_state(&mut tx, news_id).await?;
            let gone = sqlx::query("DELETE FROM story_updates WHERE news_id = $1 AND id = $2")
                .bind(news_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if gone {
                story_moved(&mut tx, news_id, &s, &audit.actor, &format!("live update {id} removed")).await?;
                audit_in(&mut tx, audit).await?;
            }
            Ok(gone)
        }
        .await;
        crate::sql::finish(tx, result).await
    }

    /// The updates of a story as readers see them: the pinned one first, then newest first.
    pub async fn live_updates(&self, news_id: NewsId) -> Result<Vec<LiveUpdate>> {
        self.reads().await?.live_updates(news_id).await
    }

    /// One update of a story.
    pub async fn live_update(&self, news_id: NewsId, id: i64) -> Result<Option<LiveUpdate>> {
        let mut conn = self.pool().acquire().await?;
        read_update(&mut conn, news_id, id).await
    }
}

impl crate::Reads {
    /// [`Store::live_updates`] on this connection.
    pub async fn live_updates(&mut self, news_id: NewsId) -> Result<Vec<LiveUpdate>> {
        let rows = self
            .fetch_all(
                sqlx::query(&format!("{UPDATE_SELECT} WHERE u.news_id = $1 ORDER BY u.pinned DESC, u.id DESC"))
                    .bind(news_id),
            )
            .await?;
        rows.iter().map(update_from).collect()
    }
}
