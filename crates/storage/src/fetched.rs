//! The desk's view of ingested wire items: the ingest list (newest first,
//! per source) and the provenance of stories fetched from items
//! (`story_sources`), which tells the desk when the item has a newer version
//! than the one a story was made from.

use chrono::{DateTime, Utc};
use newsdesk_domain::NewsId;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::content::now;
use crate::ingest::IngestedItem;
use crate::sql::Args;
use crate::{Result, Store};

/// One line of the ingest list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestRow {
    /// Where it came from.
    pub source: String,
    /// Its identifier there.
    pub guid: String,
    /// The version stored.
    pub version: u32,
    /// `text`, `picture`, ...
    pub kind: String,
    /// 1 (most urgent) to 9, if the item says.
    pub urgency: Option<u8>,
    /// Headline.
    pub headline: String,
    /// Slugline.
    pub slugline: String,
    /// BCP 47 language (may be empty).
    pub language: String,
    /// `usable`, `withheld` or `canceled`.
    pub pub_status: String,
    /// Not to be used before.
    pub embargoed: Option<DateTime<Utc>>,
    /// When the row last changed (a new version arrived).
    pub updated_at: DateTime<Utc>,
    /// How many stories were made from it.
    pub stories: i64,
    /// The desk routing sent it to, if any (id, name).
    pub desk: Option<(i64, String)>,
}

/// What the ingest list shows.
#[derive(Debug, Clone, Default)]
pub struct IngestFilter {
    /// Only this source.
    pub source: Option<String>,
    /// Only items not fetched into a story yet.
    pub unfetched: bool,
    /// Only items routed to this desk.
    pub desk_id: Option<i64>,
}

/// A source as the ingest list's filter shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestSource {
    /// Its name.
    pub name: String,
    /// How many items it has.
    pub items: i64,
    /// When an item of it last arrived or changed.
    pub last_item: DateTime<Utc>,
}

/// Where a story came from: the item and version it was fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorySource {
    /// The story.
    pub news_id: NewsId,
    /// The item's source.
    pub source: String,
    /// The item's guid.
    pub guid: String,
    /// The version the story was made from.
    pub version: u32,
    /// That version's headline.
    pub headline: String,
    /// That version's body (sanitized HTML).
    pub body_html: String,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
    /// The item's version now (`None` when the item is no longer stored).
    pub current_version: Option<u32>,
}

impl StorySource {
    /// Whether the item has a newer version than the one the story was made from.
    pub fn source_updated(&self) -> bool {
        self.current_version.is_some_and(|v| v > self.version)
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn version(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn ingest_row(r: &AnyRow) -> Result<IngestRow> {
    Ok(IngestRow {
        source: r.try_get("source")?,
        guid: r.try_get("guid")?,
        version: version(r.try_get("version")?),
        kind: r.try_get("kind")?,
        urgency: r.try_get::<Option<i64>, _>("urgency")?.and_then(|u| u8::try_from(u).ok()),
        headline: r.try_get("headline")?,
        slugline: r.try_get("slugline")?,
        language: r.try_get("language")?,
        pub_status: r.try_get("pub_status")?,
        embargoed: r.try_get::<Option<i64>, _>("embargoed")?.map(at),
        updated_at: at(r.try_get("updated_at")?),
        stories: r.try_get("stories")?,
        desk: match r.try_get::<Option<i64>, _>("route_desk_id")? {
            Some(id) => Some((id, r.try_get::<Option<String>, _>("route_desk_name")?.unwrap_or_default())),
            None => None,
        },
    })
}

const SOURCE_COLUMNS: &str = "ss.news_id, ss.source, ss.guid, ss.version, ss.headline, ss.body_html, ss.fetched_at, \
     i.version AS current_version";

fn source_row(r: &AnyRow) -> Result<StorySource> {
    Ok(StorySource {
        news_id: r.try_get("news_id")?,
        source: r.try_get("source")?,
        guid: r.try_get("guid")?,
        version: version(r.try_get("version")?),
        headline: r.try_get("headline")?,
        body_html: r.try_get("body_html")?,
        fetched_at: at(r.try_get("fetched_at")?),
        current_version: r.try_get::<Option<i64>, _>("current_version")?.map(version),
    })
}

impl Store {
    /// The ingest list: items matching `f`, the most recently arrived or
    /// changed first.
    pub async fn ingest_list(&self, f: &IngestFilter, offset: i64, limit: i64) -> Result<Vec<IngestRow>> {
        let mut args = Args::new();
        let mut sql = String::from(
            "SELECT i.source, i.guid, i.version, i.kind, i.urgency, i.headline, i.slugline, i.language, \
             i.pub_status, i.embargoed, i.updated_at, \
             (SELECT COUNT(*) FROM story_sources ss WHERE ss.source = i.source AND ss.guid = i.guid) AS stories, \
             rt.desk_id AS route_desk_id, d.name AS route_desk_name \
             FROM ingested_items i LEFT JOIN ingest_routes rt ON rt.source = i.source AND rt.guid = i.guid \
             LEFT JOIN desks d ON d.id = rt.desk_id WHERE 1 = 1",
        );
        if let Some(s) = &f.source {
            sql += &format!(" AND i.source = {}", args.push(s.clone()));
        }
        if let Some(d) = f.desk_id {
            sql += &format!(" AND rt.desk_id = {}", args.push(d));
        }
        if f.unfetched {
            sql += " AND NOT EXISTS (SELECT 1 FROM story_sources ss WHERE ss.source = i.source AND ss.guid = i.guid)";
        }
        let (l, o) = (args.push(limit), args.push(offset));
        sql += &format!(" ORDER BY i.updated_at DESC, i.source, i.guid LIMIT {l} OFFSET {o}");
        let rows = args.bind_to(sqlx::query(&sql)).fetch_all(self.pool()).await?;
        rows.iter().map(ingest_row).collect()
    }

    /// Every source that has items, by name.
    pub async fn ingest_sources(&self) -> Result<Vec<IngestSource>> {
        let rows = sqlx::query(
            "SELECT source, COUNT(*) AS items, MAX(updated_at) AS last_item FROM ingested_items \
             GROUP BY source ORDER BY source",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IngestSource {
                    name: r.try_get("source")?,
                    items: r.try_get("items")?,
                    last_item: at(r.try_get("last_item")?),
                })
            })
            .collect()
    }

    /// Records that story `news_id` was made from `item` (its current
    /// version) by user `by`.
    pub async fn record_story_source(&self, news_id: NewsId, item: &IngestedItem, by: Option<i64>) -> Result<()> {
        sqlx::query(
            "INSERT INTO story_sources (news_id, source, guid, version, headline, body_html, fetched_at, fetched_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(news_id)
        .bind(&item.source)
        .bind(&item.guid)
        .bind(i64::from(item.version))
        .bind(&item.headline)
        .bind(&item.body_html)
        .bind(now())
        .bind(by)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Where story `news_id` came from, if it was fetched from a wire item.
    pub async fn story_source(&self, news_id: NewsId) -> Result<Option<StorySource>> {
        let row = sqlx::query(&format!(
            "SELECT {SOURCE_COLUMNS} FROM story_sources ss \
             LEFT JOIN ingested_items i ON i.source = ss.source AND i.guid = ss.guid WHERE ss.news_id = $1"
        ))
        .bind(news_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(source_row).transpose()
    }

    /// The stories made from item `guid` of `source`, oldest first.
    pub async fn stories_from_item(&self, source: &str, guid: &str) -> Result<Vec<StorySource>> {
        let rows = sqlx::query(&format!(
            "SELECT {SOURCE_COLUMNS} FROM story_sources ss \
             LEFT JOIN ingested_items i ON i.source = ss.source AND i.guid = ss.guid \
             WHERE ss.source = $1 AND ss.guid = $2 ORDER BY ss.fetched_at, ss.news_id"
        ))
        .bind(source)
        .bind(guid)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(source_row).collect()
    }
}
