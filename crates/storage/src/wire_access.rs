//! What a wire subscriber may take: products (named filters on editions,
//! sections, Media Topics, urgency and genres) assigned to subscribers, the
//! per-subscriber permission to take embargoed copy, and the scheduled stories
//! an editor released to the wire ahead of their time (migration 28).
//!
//! The rules that apply these live in the web crate (`wire::access`), once for
//! pulls and webhooks; here is only their data.

use chrono::{DateTime, Utc};
use newsdesk_domain::NewsId;
use newsdesk_domain::dates::from_unix;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::audit_in;
use crate::content::record_change;
use crate::sql::placeholders;
use crate::{AuditEntry, Result, Store, StoreError};

/// A product: what the subscribers it is assigned to may take. An empty list
/// lets anything through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// The filters.
    pub filters: ProductFilters,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The filters of a product, as saved (checked by the caller).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFilters {
    /// Edition languages.
    pub editions: Vec<String>,
    /// Section paths, each with its subsections.
    pub sections: Vec<String>,
    /// IPTC Media Topic qcodes, each with its narrower topics.
    pub subjects: Vec<String>,
    /// Urgency 1 up to this one gets through (`None`: any).
    pub min_urgency: Option<i64>,
    /// IPTC genre qcodes.
    pub genres: Vec<String>,
}

/// A scheduled story released to the wire before its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireRelease {
    /// The story.
    pub news_id: NewsId,
    /// When it was released.
    pub released_at: DateTime<Utc>,
    /// Who released it (an e-mail address).
    pub actor: String,
    /// Its embargo: the time it is scheduled for.
    pub embargo_until: DateTime<Utc>,
}

fn join(items: &[String]) -> String {
    items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

fn split(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

const PRODUCT_COLUMNS: &str = "id, name, editions, sections, subjects, min_urgency, genres, created_at, updated_at";

fn product_from(r: &AnyRow) -> Result<Product> {
    Ok(Product {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        filters: ProductFilters {
            editions: split(&r.try_get::<String, _>("editions")?),
            sections: split(&r.try_get::<String, _>("sections")?),
            subjects: split(&r.try_get::<String, _>("subjects")?),
            min_urgency: r.try_get("min_urgency")?,
            genres: split(&r.try_get::<String, _>("genres")?),
        },
        created_at: from_unix(r.try_get("created_at")?),
        updated_at: from_unix(r.try_get("updated_at")?),
    })
}

fn name_taken(e: sqlx::Error) -> StoreError {
    if StoreError::is_unique_violation(&e) { StoreError::Conflict { field: "name" } } else { StoreError::Db(e) }
}

impl Store {
    // ----- products -----

    /// Creates a product (`id` `None`) or replaces product `id`'s name and
    /// filters, with `audit` in the same transaction (an empty target id
    /// becomes the product's id). A taken name is a [`StoreError::Conflict`]
    /// on `name`; an unknown `id` is [`StoreError::Invalid`].
    pub async fn save_product(
        &self,
        id: Option<i64>,
        name: &str,
        f: &ProductFilters,
        audit: &AuditEntry,
    ) -> Result<Product> {
        let name = name.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(StoreError::Invalid("a product name must be non-empty text".into()));
        }
        let t = Utc::now().timestamp();
        let mut tx = self.begin_write().await?;
        let result = async {
            let row = match id {
                None => sqlx::query(&format!(
                    "INSERT INTO wire_products (name, editions, sections, subjects, min_urgency, genres, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {PRODUCT_COLUMNS}"
                ))
                .bind(name)
                .bind(join(&f.editions))
                .bind(join(&f.sections))
                .bind(join(&f.subjects))
                .bind(f.min_urgency)
                .bind(join(&f.genres))
                .bind(t)
                .fetch_one(&mut *tx)
                .await
                .map_err(name_taken)?,
                Some(id) => sqlx::query(&format!(
                    "UPDATE wire_products SET name = $2, editions = $3, sections = $4, subjects = $5, \
                     min_urgency = $6, genres = $7, updated_at = $8 WHERE id = $1 RETURNING {PRODUCT_COLUMNS}"
                ))
                .bind(id)
                .bind(name)
                .bind(join(&f.editions))
                .bind(join(&f.sections))
                .bind(join(&f.subjects))
                .bind(f.min_urgency)
                .bind(join(&f.genres))
                .bind(t)
                .fetch_optional(&mut *tx)
                .await
                .map_err(name_taken)?
                .ok_or_else(|| StoreError::Invalid(format!("there is no product {id}")))?,
            };
            let product = product_from(&row)?;
            let target_id = if audit.target_id.is_empty() { product.id.to_string() } else { audit.target_id.clone() };
            audit_in(&mut tx, &AuditEntry { target_id, ..audit.clone() }).await?;
            Ok(product)
        }
        .await;
        crate::sql::finish(tx, result).await
    }

    /// All products, by name.
    pub async fn products(&self) -> Result<Vec<Product>> {
        let rows = sqlx::query(&format!("SELECT {PRODUCT_COLUMNS} FROM wire_products ORDER BY name"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(product_from).collect()
    }

    /// Product `id`.
    pub async fn product(&self, id: i64) -> Result<Option<Product>> {
        let row = sqlx::query(&format!("SELECT {PRODUCT_COLUMNS} FROM wire_products WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(product_from).transpose()
    }

    /// A product by name.
    pub async fn product_by_name(&self, name: &str) -> Result<Option<Product>> {
        let row = sqlx::query(&format!("SELECT {PRODUCT_COLUMNS} FROM wire_products WHERE name = $1"))
            .bind(name.trim())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(product_from).transpose()
    }

    /// Sets what subscriber `subscriber_id` may take: its product (`None`:
    /// everything its editions and sections allow) and whether it takes
    /// embargoed copy, with `audit` in the same transaction. Returns whether
    /// the subscriber exists; an unknown product is [`StoreError::Invalid`].
    pub async fn set_subscriber_access(
        &self,
        subscriber_id: i64,
        product_id: Option<i64>,
        embargo: bool,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let result = async {
            if let Some(p) = product_id {
                let found =
                    sqlx::query("SELECT id FROM wire_products WHERE id = $1").bind(p).fetch_optional(&mut *tx).await?;
                if found.is_none() {
                    return Err(StoreError::Invalid(format!("there is no product {p}")));
                }
            }
            let n = sqlx::query("UPDATE subscribers SET product_id = $2, embargo = $3 WHERE id = $1")
                .bind(subscriber_id)
                .bind(product_id)
                .bind(i64::from(embargo))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Ok(false);
            }
            audit_in(&mut tx, audit).await?;
            Ok(true)
        }
        .await;
        crate::sql::finish(tx, result).await
    }

    // ----- embargoed pre-release -----

    /// Releases scheduled story `news_id` to the wire before its time, with
    /// `audit` and a change-log entry (which tells webhook subscribers that
    /// take embargoed copy) in the same transaction. The story stays
    /// scheduled; only its last-change time moves, so pulls `since` see it.
    /// Refused ([`StoreError::Invalid`]) unless the story is scheduled and
    /// not released yet. Returns the story's edition.
    pub async fn release_to_wire(
        &self,
        news_id: NewsId,
        by: Option<i64>,
        at: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let result = async {
            // The update locks the row: a workflow step cannot slip in between the check and the release.
            let row = sqlx::query(
                "UPDATE stories SET modified_at = $2 WHERE news_id = $1 AND status = 'scheduled' RETURNING edition_id",
            )
            .bind(news_id)
            .bind(at.timestamp())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("story {news_id} is not scheduled")))?;
            let edition_id: i64 = row.try_get("edition_id")?;
            let inserted = sqlx::query(
                "INSERT INTO wire_releases (news_id, released_at, released_by, actor) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (news_id) DO NOTHING",
            )
            .bind(news_id)
            .bind(at.timestamp())
            .bind(by)
            .bind(&audit.actor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Err(StoreError::Invalid(format!("story {news_id} is released to the wire already")));
            }
            audit_in(&mut tx, audit).await?;
            record_change(&mut tx, news_id, edition_id).await?;
            Ok(edition_id)
        }
        .await;
        crate::sql::finish(tx, result).await
    }

    /// The release of story `news_id`, while it is scheduled and released.
    pub async fn wire_release(&self, news_id: NewsId) -> Result<Option<WireRelease>> {
        Ok(self.wire_releases(&[news_id]).await?.pop())
    }

    /// The releases of those of `ids` that are scheduled and released to the wire.
    pub async fn wire_releases(&self, ids: &[NewsId]) -> Result<Vec<WireRelease>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(200) {
            let sql = format!(
                "SELECT r.news_id, r.released_at, r.actor, s.scheduled_at FROM wire_releases r \
                 JOIN stories s ON s.news_id = r.news_id \
                 WHERE s.status = 'scheduled' AND s.scheduled_at IS NOT NULL AND r.news_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(self.pool()).await? {
                out.push(WireRelease {
                    news_id: r.try_get("news_id")?,
                    released_at: from_unix(r.try_get("released_at")?),
                    actor: r.try_get("actor")?,
                    embargo_until: from_unix(r.try_get("scheduled_at")?),
                });
            }
        }
        Ok(out)
    }
}

/// Forgets the release of a story that leaves the schedule (inside the
/// transaction that moves it), so scheduling it again needs a new release.
pub(crate) async fn end_release(conn: &mut sqlx::AnyConnection, news_id: NewsId) -> Result<()> {
    sqlx::query("DELETE FROM wire_releases WHERE news_id = $1").bind(news_id).execute(&mut *conn).await?;
    Ok(())
}

/// Whether story `news_id` is scheduled and released to the wire (for the change log).
pub(crate) async fn is_embargoed(conn: &mut sqlx::AnyConnection, news_id: NewsId) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM wire_releases r JOIN stories s ON s.news_id = r.news_id \
         WHERE r.news_id = $1 AND s.status = 'scheduled'",
    )
    .bind(news_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}
