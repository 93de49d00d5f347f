//! Curated fronts: the arrangement editors give the home page and each
//! section front of an edition (a pinned top story and ordered featured
//! slots; the rest of the page stays newest first). Each front has a draft
//! arrangement that editors work on and a live one readers see; publishing
//! copies the draft to live and records a `front` change in the change log,
//! so every node drops its cached copy of the edition's fronts. Every write
//! is checked against the version it was based on and commits with its
//! audit entry. Who may arrange which front is the newsroom core's rule
//! (`newsdesk_web::desk::fronts`).

use chrono::{DateTime, Utc};
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::{NewsId, StoryStatus, StorySummary};
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::content::{SUMMARY_COLUMNS, now, summary_from_row};
use crate::sql::placeholders;
use crate::{AuditEntry, Result, Store, StoreError};

/// The change-log kind of a published front (its news id is [`crate::SITE_CHANGE`]).
pub const FRONT_CHANGE: &str = "front";

/// A front's stories in order: the pinned top story and the featured slots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrangement {
    /// The story pinned on top, if any.
    pub pinned: Option<NewsId>,
    /// The featured stories in order (after the pinned one).
    pub featured: Vec<NewsId>,
}

impl Arrangement {
    /// Every story of the arrangement, the pinned one first.
    pub fn ids(&self) -> Vec<NewsId> {
        self.pinned.into_iter().chain(self.featured.iter().copied()).collect()
    }

    /// Whether nothing is curated.
    pub fn is_empty(&self) -> bool {
        self.pinned.is_none() && self.featured.is_empty()
    }

    fn from_slots(slots: &[(i64, NewsId)]) -> Arrangement {
        Arrangement {
            pinned: slots.iter().find(|(p, _)| *p == 0).map(|(_, id)| *id),
            featured: slots.iter().filter(|(p, _)| *p > 0).map(|(_, id)| *id).collect(),
        }
    }
}

/// A front as the newsroom edits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Front {
    /// The edition.
    pub edition_id: i64,
    /// The section, or `None` for the home page.
    pub section_id: Option<i64>,
    /// Grows with every write; 0 for a front never arranged.
    pub version: i64,
    /// What editors are working on.
    pub draft: Arrangement,
    /// What readers see.
    pub live: Arrangement,
    /// When it was last saved or published.
    pub saved_at: Option<DateTime<Utc>>,
    /// When it was last published.
    pub published_at: Option<DateTime<Utc>>,
    /// Who published it last (name).
    pub published_by: Option<String>,
}

/// What the newsroom needs to know of a story it places on a front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontCandidate {
    /// News ID.
    pub news_id: NewsId,
    /// Headline.
    pub headline: String,
    /// Its edition.
    pub edition_id: i64,
    /// Its section.
    pub section_id: i64,
    /// Workflow state.
    pub status: StoryStatus,
    /// First publish time.
    pub published_at: Option<DateTime<Utc>>,
}

async fn front_row_in(
    conn: &mut AnyConnection,
    edition_id: i64,
    section_id: Option<i64>,
) -> Result<Option<sqlx::any::AnyRow>> {
    Ok(sqlx::query(
        "SELECT f.id, f.version, f.saved_at, f.published_at, u.name AS published_by FROM fronts f \
         LEFT JOIN users u ON u.id = f.published_by \
         WHERE f.edition_id = $1 AND COALESCE(f.section_id, 0) = $2",
    )
    .bind(edition_id)
    .bind(section_id.unwrap_or(0))
    .fetch_optional(&mut *conn)
    .await?)
}

async fn slots_in(conn: &mut AnyConnection, front_id: i64, stage: &str) -> Result<Vec<(i64, NewsId)>> {
    let rows =
        sqlx::query("SELECT position, news_id FROM front_slots WHERE front_id = $1 AND stage = $2 ORDER BY position")
            .bind(front_id)
            .bind(stage)
            .fetch_all(&mut *conn)
            .await?;
    rows.iter().map(|r| Ok((r.try_get("position")?, r.try_get("news_id")?))).collect()
}

async fn write_slots(conn: &mut AnyConnection, front_id: i64, stage: &str, a: &Arrangement) -> Result<()> {
    sqlx::query("DELETE FROM front_slots WHERE front_id = $1 AND stage = $2")
        .bind(front_id)
        .bind(stage)
        .execute(&mut *conn)
        .await?;
    let slots =
        a.pinned.map(|id| (0, id)).into_iter().chain(a.featured.iter().enumerate().map(|(i, id)| (i as i64 + 1, *id)));
    for (position, news_id) in slots {
        sqlx::query("INSERT INTO front_slots (front_id, stage, position, news_id) VALUES ($1, $2, $3, $4)")
            .bind(front_id)
            .bind(stage)
            .bind(position)
            .bind(news_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn front_in(conn: &mut AnyConnection, edition_id: i64, section_id: Option<i64>) -> Result<(Option<i64>, Front)> {
    let Some(row) = front_row_in(conn, edition_id, section_id).await? else {
        return Ok((
            None,
            Front {
                edition_id,
                section_id,
                version: 0,
                draft: Arrangement::default(),
                live: Arrangement::default(),
                saved_at: None,
                published_at: None,
                published_by: None,
            },
        ));
    };
    let id: i64 = row.try_get("id")?;
    let draft = Arrangement::from_slots(&slots_in(conn, id, "draft").await?);
    let live = Arrangement::from_slots(&slots_in(conn, id, "live").await?);
    Ok((
        Some(id),
        Front {
            edition_id,
            section_id,
            version: row.try_get("version")?,
            draft,
            live,
            saved_at: Some(from_unix(row.try_get("saved_at")?)),
            published_at: row.try_get::<Option<i64>, _>("published_at")?.map(from_unix),
            published_by: row.try_get("published_by")?,
        },
    ))
}

impl Store {
    /// The front of `section_id` (`None`: the home page) in edition
    /// `edition_id`, with version 0 and empty arrangements when it was never arranged.
    pub async fn front(&self, edition_id: i64, section_id: Option<i64>) -> Result<Front> {
        let mut conn = self.pool().acquire().await?;
        Ok(front_in(&mut conn, edition_id, section_id).await?.1)
    }

    /// Saves `draft` as the front's draft, based on `version` (a front changed
    /// since is [`StoreError::Stale`] with its version now), and with
    /// `publish` makes it live too: then a `front` change enters the change
    /// log in the same transaction. The audit entry commits with it (its empty
    /// detail becomes the arrangement; its user is who saved). Which stories may be placed is
    /// checked by the caller; readers see only published ones whatever the
    /// arrangement says.
    pub async fn save_front(
        &self,
        edition_id: i64,
        section_id: Option<i64>,
        version: i64,
        draft: &Arrangement,
        publish: bool,
        audit: &AuditEntry,
    ) -> Result<Front> {
        let mut tx = self.begin_write().await?;
        let (id, before) = front_in(&mut tx, edition_id, section_id).await?;
        if before.version != version {
            tx.rollback().await?;
            return Err(StoreError::Stale { current: before.version });
        }
        let t = now();
        let by = audit.user_id;
        let id = match id {
            Some(id) => {
                sqlx::query("UPDATE fronts SET version = version + 1, saved_at = $2, saved_by = $3 WHERE id = $1")
                    .bind(id)
                    .bind(t)
                    .bind(by)
                    .execute(&mut *tx)
                    .await?;
                id
            }
            None => sqlx::query_scalar(
                "INSERT INTO fronts (edition_id, section_id, version, saved_at, saved_by) VALUES ($1, $2, 1, $3, $4) \
                 RETURNING id",
            )
            .bind(edition_id)
            .bind(section_id)
            .bind(t)
            .bind(by)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| {
                // Two first saves of the same front at once: the second is stale.
                if StoreError::is_unique_violation(&e) { StoreError::Stale { current: 1 } } else { e.into() }
            })?,
        };
        write_slots(&mut tx, id, "draft", draft).await?;
        if publish {
            write_slots(&mut tx, id, "live", draft).await?;
            sqlx::query("UPDATE fronts SET published_at = $2, published_by = $3 WHERE id = $1")
                .bind(id)
                .bind(t)
                .bind(by)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO story_changes (news_id, edition_id, changed_at, kind) VALUES ($1, $2, $3, $4)")
                .bind(crate::SITE_CHANGE)
                .bind(edition_id)
                .bind(t)
                .bind(FRONT_CHANGE)
                .execute(&mut *tx)
                .await?;
            crate::changes::notify_change(&mut tx).await?;
        }
        let detail = if audit.detail.is_empty() {
            format!(
                "pinned {}; featured [{}]",
                draft.pinned.map_or("none".to_string(), |p| p.to_string()),
                draft.featured.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
            )
        } else {
            audit.detail.clone()
        };
        audit_in(&mut tx, &AuditEntry { detail, ..audit.clone() }).await?;
        let (_, after) = front_in(&mut tx, edition_id, section_id).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The stories `ids` as the newsroom places them (unknown ones left out).
    pub async fn front_candidates(&self, ids: &[NewsId]) -> Result<Vec<FrontCandidate>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT news_id, headline, edition_id, section_id, status, published_at FROM stories WHERE news_id IN ({})",
            placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(self.pool()).await?;
        let mut out = rows
            .iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(FrontCandidate {
                    news_id: r.try_get("news_id")?,
                    headline: r.try_get("headline")?,
                    edition_id: r.try_get("edition_id")?,
                    section_id: r.try_get("section_id")?,
                    status: StoryStatus::parse(&status)
                        .ok_or_else(|| StoreError::Invalid(format!("unknown story status `{status}`")))?,
                    published_at: r.try_get::<Option<i64>, _>("published_at")?.map(from_unix),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|c| ids.iter().position(|i| *i == c.news_id));
        Ok(out)
    }

    /// The stories of `arrangement` that readers may see on a front of
    /// edition `edition_id` (published ones of that edition), in its order:
    /// a curated story unpublished or killed since simply drops out.
    pub async fn front_stories(&self, edition_id: i64, arrangement: &Arrangement) -> Result<Vec<StorySummary>> {
        let ids = arrangement.ids();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM stories s LEFT JOIN photos p ON p.id = s.photo_id \
             WHERE s.edition_id = $1 AND s.status = 'published' AND s.news_id IN ({})",
            placeholders(2, ids.len())
        );
        let mut q = sqlx::query(&sql).bind(edition_id);
        for id in &ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(self.pool()).await?;
        let mut out = rows.iter().map(summary_from_row).collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|s| ids.iter().position(|i| *i == s.news_id));
        Ok(out)
    }

    /// Published stories of edition `edition_id` whose headline contains
    /// `words` (or whose News ID it is), newest first: the newsroom's picker.
    pub async fn find_published_for_front(
        &self,
        edition_id: i64,
        words: &str,
        limit: i64,
    ) -> Result<Vec<FrontCandidate>> {
        let words = words.trim();
        let by_id = words.parse::<i64>().ok().filter(|n| *n > 0).unwrap_or(-1);
        let pattern = format!("%{}%", crate::sql::like_escape(&words.to_lowercase()));
        let rows = sqlx::query(
            "SELECT news_id, headline, edition_id, section_id, status, published_at FROM stories \
             WHERE edition_id = $1 AND status = 'published' AND (news_id = $2 OR LOWER(headline) LIKE $3 ESCAPE '\\') \
             ORDER BY published_at DESC, news_id DESC LIMIT $4",
        )
        .bind(edition_id)
        .bind(by_id)
        .bind(pattern)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FrontCandidate {
                    news_id: r.try_get("news_id")?,
                    headline: r.try_get("headline")?,
                    edition_id: r.try_get("edition_id")?,
                    section_id: r.try_get("section_id")?,
                    status: StoryStatus::Published,
                    published_at: r.try_get::<Option<i64>, _>("published_at")?.map(from_unix),
                })
            })
            .collect()
    }
}

impl Store {
    /// The live arrangement of a front (what readers see), in one query.
    pub async fn live_front(&self, edition_id: i64, section_id: Option<i64>) -> Result<Arrangement> {
        let rows = sqlx::query(
            "SELECT sl.position, sl.news_id FROM fronts f JOIN front_slots sl ON sl.front_id = f.id \
             WHERE f.edition_id = $1 AND COALESCE(f.section_id, 0) = $2 AND sl.stage = 'live' ORDER BY sl.position",
        )
        .bind(edition_id)
        .bind(section_id.unwrap_or(0))
        .fetch_all(self.pool())
        .await?;
        let slots =
            rows.iter().map(|r| Ok((r.try_get("position")?, r.try_get("news_id")?))).collect::<Result<Vec<_>>>()?;
        Ok(Arrangement::from_slots(&slots))
    }
}
