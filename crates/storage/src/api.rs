//! Queries of the JSON API (`/api/v1`): published stories with combined
//! filters, and the tags and authors that have published stories.

use crate::sql::{Args, like_escape, published_before};
use chrono::{DateTime, Utc};
use newsdesk_domain::{Author, StorySummary, Tag};
use sqlx::Row;

use crate::content::{SUMMARY_COLUMNS, summary_from_row};
use crate::{Cursor, Result, Store};

/// Which published stories an API list shows; every filter narrows it.
#[derive(Debug, Clone, Default)]
pub struct ApiStoryQuery {
    /// Edition.
    pub edition_id: i64,
    /// A section path; its subsections count too.
    pub section_path: Option<String>,
    /// A tag id.
    pub tag_id: Option<i64>,
    /// An author id.
    pub author_id: Option<i64>,
    /// Published at or after.
    pub since: Option<DateTime<Utc>>,
    /// Published before.
    pub until: Option<DateTime<Utc>>,
    /// After this position (newest first).
    pub cursor: Option<Cursor>,
    /// At most this many.
    pub limit: i64,
}

impl Store {
    /// Published stories matching `q`, newest first (publish time, then News ID).
    pub async fn api_stories(&self, q: &ApiStoryQuery) -> Result<Vec<StorySummary>> {
        let mut args = Args::new();
        let edition = args.push(q.edition_id);
        let mut cond = format!("s.edition_id = {edition} AND s.status = 'published' AND s.published_at IS NOT NULL");
        if let Some(path) = &q.section_path {
            let exact = args.push(path.clone());
            let below = args.push(format!("{}/%", like_escape(path)));
            cond += &format!(
                " AND s.section_id IN (SELECT id FROM sections WHERE edition_id = {edition} AND (path = {exact} OR path LIKE {below} ESCAPE '\\'))"
            );
        }
        if let Some(tag) = q.tag_id {
            let p = args.push(tag);
            cond +=
                &format!(" AND EXISTS (SELECT 1 FROM story_tags st WHERE st.news_id = s.news_id AND st.tag_id = {p})");
        }
        if let Some(author) = q.author_id {
            let p = args.push(author);
            cond += &format!(
                " AND EXISTS (SELECT 1 FROM story_authors sa WHERE sa.news_id = s.news_id AND sa.author_id = {p})"
            );
        }
        if let Some(since) = q.since {
            let p = args.push(since.timestamp());
            cond += &format!(" AND s.published_at >= {p}");
        }
        if let Some(until) = q.until {
            let p = args.push(until.timestamp());
            cond += &format!(" AND s.published_at < {p}");
        }
        if let Some(c) = q.cursor {
            let at = args.push(c.published_at);
            let id = args.push(c.news_id);
            cond += &published_before(&at, &id);
        }
        let limit = args.push(q.limit);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM stories s LEFT JOIN photos p ON p.id = s.photo_id WHERE {cond} \
             ORDER BY s.published_at DESC, s.news_id DESC LIMIT {limit}"
        );
        let rows = args.bind_to(sqlx::query(&sql)).fetch_all(self.pool()).await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// Tags of an edition with their number of published stories, most used
    /// first (then by name), at most `limit`.
    pub async fn api_tags(&self, edition_id: i64, limit: i64) -> Result<Vec<(Tag, i64)>> {
        let rows = sqlx::query(
            "SELECT t.id, t.slug, t.name, COUNT(*) AS n FROM tags t \
             JOIN story_tags st ON st.tag_id = t.id JOIN stories s ON s.news_id = st.news_id \
             WHERE t.edition_id = $1 AND s.status = 'published' \
             GROUP BY t.id, t.slug, t.name ORDER BY n DESC, t.name, t.id LIMIT $2",
        )
        .bind(edition_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((Tag { id: r.try_get("id")?, slug: r.try_get("slug")?, name: r.try_get("name")? }, r.try_get("n")?))
            })
            .collect()
    }

    /// Authors with their number of published stories in an edition, most
    /// prolific first (then by name), at most `limit`.
    pub async fn api_authors(&self, edition_id: i64, limit: i64) -> Result<Vec<(Author, i64)>> {
        let rows = sqlx::query(
            "SELECT a.id, a.slug, a.name, COUNT(*) AS n FROM authors a \
             JOIN story_authors sa ON sa.author_id = a.id JOIN stories s ON s.news_id = sa.news_id \
             WHERE s.edition_id = $1 AND s.status = 'published' \
             GROUP BY a.id, a.slug, a.name ORDER BY n DESC, a.name, a.id LIMIT $2",
        )
        .bind(edition_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    Author { id: r.try_get("id")?, slug: r.try_get("slug")?, name: r.try_get("name")? },
                    r.try_get("n")?,
                ))
            })
            .collect()
    }
}
