//! Other agencies' wires taken in (`ingested_items`): the latest version of
//! each item per source. Items of one file are stored in one transaction, so
//! a file is taken in whole or not at all.

use chrono::{DateTime, Utc};
use newsdesk_domain::ingest::IncomingItem;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::content::now;
use crate::{Result, Store, StoreError};

/// What storing one incoming item did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// A guid not seen before from this source.
    Created,
    /// A newer version replaced the stored one (whose version is given).
    Updated {
        /// The version replaced.
        previous: u32,
    },
    /// This version was stored already: nothing changed.
    Unchanged,
    /// An older version than the one stored (given): nothing changed.
    Older {
        /// The version kept.
        stored: u32,
    },
}

/// An item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedItem {
    /// Where it came from (`cli`, ...).
    pub source: String,
    /// Its identifier at the source.
    pub guid: String,
    /// The version stored.
    pub version: u32,
    /// The version it replaced, if it replaced one.
    pub previous_version: Option<u32>,
    /// `newsml-g2`, `nitf`, `ninjs1`, `ninjs2`, `ninjs3`.
    pub format: String,
    /// `text`, `picture`, ...
    pub kind: String,
    /// 1 (most urgent) to 9.
    pub urgency: Option<u8>,
    /// Headline.
    pub headline: String,
    /// Slugline.
    pub slugline: String,
    /// Byline.
    pub byline: String,
    /// Dateline.
    pub dateline: String,
    /// Where it happened.
    pub located: String,
    /// BCP 47 language.
    pub language: String,
    /// Summary or caption (plain text).
    pub description: String,
    /// Sanitized body.
    pub body_html: String,
    /// Subjects as JSON (`[{"code": ..., "name": ...}]`).
    pub subjects: String,
    /// Keywords as JSON.
    pub keywords: String,
    /// Renditions as JSON (`[{"name", "href", "width", "height", "mime"}]`).
    pub renditions: String,
    /// Associations as JSON.
    pub associations: String,
    /// When its first version was created.
    pub first_created: Option<DateTime<Utc>>,
    /// When this version was created.
    pub version_created: Option<DateTime<Utc>>,
    /// Not to be used before.
    pub embargoed: Option<DateTime<Utc>>,
    /// `usable`, `withheld` or `canceled`.
    pub pub_status: String,
    /// When the first version arrived.
    pub received_at: DateTime<Utc>,
    /// When the row last changed.
    pub updated_at: DateTime<Utc>,
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("cannot write JSON: {e}")))
}

fn time(secs: Option<i64>) -> Option<DateTime<Utc>> {
    secs.and_then(|s| DateTime::from_timestamp(s, 0))
}

fn version(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

fn item_from_row(r: &AnyRow) -> Result<IngestedItem> {
    Ok(IngestedItem {
        source: r.try_get("source")?,
        guid: r.try_get("guid")?,
        version: version(r.try_get("version")?),
        previous_version: r.try_get::<Option<i64>, _>("previous_version")?.map(version),
        format: r.try_get("format")?,
        kind: r.try_get("kind")?,
        urgency: r.try_get::<Option<i64>, _>("urgency")?.and_then(|u| u8::try_from(u).ok()),
        headline: r.try_get("headline")?,
        slugline: r.try_get("slugline")?,
        byline: r.try_get("byline")?,
        dateline: r.try_get("dateline")?,
        located: r.try_get("located")?,
        language: r.try_get("language")?,
        description: r.try_get("description")?,
        body_html: r.try_get("body_html")?,
        subjects: r.try_get("subjects")?,
        keywords: r.try_get("keywords")?,
        renditions: r.try_get("renditions")?,
        associations: r.try_get("associations")?,
        first_created: time(r.try_get("first_created")?),
        version_created: time(r.try_get("version_created")?),
        embargoed: time(r.try_get("embargoed")?),
        pub_status: r.try_get("pub_status")?,
        received_at: time(Some(r.try_get("received_at")?)).unwrap_or_default(),
        updated_at: time(Some(r.try_get("updated_at")?)).unwrap_or_default(),
    })
}

async fn stored_version(conn: &mut AnyConnection, source: &str, guid: &str) -> Result<Option<u32>> {
    let row = sqlx::query("SELECT version FROM ingested_items WHERE source = $1 AND guid = $2")
        .bind(source)
        .bind(guid)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get::<i64, _>("version")).transpose()?.map(version))
}

/// Stores `item` unless this or a newer version is there.
async fn put(conn: &mut AnyConnection, source: &str, item: &IncomingItem) -> Result<IngestOutcome> {
    if item.guid.trim().is_empty() {
        return Err(StoreError::Invalid("an incoming item needs its guid".into()));
    }
    let outcome = match stored_version(conn, source, &item.guid).await? {
        None => IngestOutcome::Created,
        Some(v) if v == item.version => return Ok(IngestOutcome::Unchanged),
        Some(v) if v > item.version => return Ok(IngestOutcome::Older { stored: v }),
        Some(v) => IngestOutcome::Updated { previous: v },
    };
    let previous = match outcome {
        IngestOutcome::Updated { previous } => Some(i64::from(previous)),
        _ => None,
    };
    let at = now();
    sqlx::query(
        "INSERT INTO ingested_items (source, guid, version, previous_version, format, kind, urgency, headline, \
         slugline, byline, dateline, located, language, description, body_html, subjects, keywords, renditions, \
         associations, first_created, version_created, embargoed, pub_status, received_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
         $22, $23, $24, $25) \
         ON CONFLICT (source, guid) DO UPDATE SET version = excluded.version, \
         previous_version = excluded.previous_version, format = excluded.format, kind = excluded.kind, \
         urgency = excluded.urgency, headline = excluded.headline, slugline = excluded.slugline, \
         byline = excluded.byline, dateline = excluded.dateline, located = excluded.located, \
         language = excluded.language, description = excluded.description, body_html = excluded.body_html, \
         subjects = excluded.subjects, keywords = excluded.keywords, renditions = excluded.renditions, \
         associations = excluded.associations, first_created = excluded.first_created, \
         version_created = excluded.version_created, embargoed = excluded.embargoed, \
         pub_status = excluded.pub_status, updated_at = excluded.updated_at",
    )
    .bind(source)
    .bind(&item.guid)
    .bind(i64::from(item.version))
    .bind(previous)
    .bind(item.format.code())
    .bind(&item.kind)
    .bind(item.urgency.map(i64::from))
    .bind(&item.headline)
    .bind(&item.slugline)
    .bind(&item.byline)
    .bind(&item.dateline)
    .bind(&item.located)
    .bind(&item.language)
    .bind(&item.description)
    .bind(&item.body_html)
    .bind(json(&item.subjects)?)
    .bind(json(&item.keywords)?)
    .bind(json(&item.renditions)?)
    .bind(json(&item.associations)?)
    .bind(item.first_created.map(|t| t.timestamp()))
    .bind(item.version_created.map(|t| t.timestamp()))
    .bind(item.embargoed.map(|t| t.timestamp()))
    .bind(item.pub_status.as_str())
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(outcome)
}

impl Store {
    /// Stores the items of one file from `source`, in one transaction: a new
    /// guid is added, a newer version replaces the row (keeping the version
    /// it replaced), the same or an older version changes nothing. A new
    /// guid is routed to a desk by the first matching routing rule (see
    /// [`crate::RoutingRule`]). Returns what happened to each item, in order.
    pub async fn ingest_items(&self, source: &str, items: &[IncomingItem]) -> Result<Vec<IngestOutcome>> {
        if source.trim().is_empty() {
            return Err(StoreError::Invalid("the source name must not be empty".into()));
        }
        let mut tx = self.begin_write().await?;
        let rules = crate::routing::rules_for_batch(&mut tx).await?;
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let outcome = put(&mut tx, source, item).await?;
            // Only a guid seen for the first time is routed; its later versions keep the route.
            if outcome == IngestOutcome::Created {
                crate::routing::route_in(&mut tx, &rules, source, item).await?;
            }
            outcomes.push(outcome);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// The stored item `guid` of `source`, if any.
    pub async fn ingested_item(&self, source: &str, guid: &str) -> Result<Option<IngestedItem>> {
        let row = sqlx::query("SELECT * FROM ingested_items WHERE source = $1 AND guid = $2")
            .bind(source)
            .bind(guid)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(item_from_row).transpose()
    }

    /// How many items are stored, of all sources.
    pub async fn ingested_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM ingested_items").fetch_one(self.pool()).await?.try_get("n")?)
    }
}
