//! Ingest sources (`ingest_sources`): directory drops and HTTP pulls that the
//! scheduler polls, their polling state (validators, backoff), their health
//! (last success, last error, counts) and their error list
//! (`ingest_source_errors`). The items they bring are stored by
//! [`Store::ingest_items`], as the CLI's are.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::content::now;
use crate::{AuditEntry, Result, Store, StoreError};

/// Errors kept per source; older ones are dropped as new ones come.
pub const SOURCE_ERRORS_KEPT: i64 = 500;
/// The shortest polling interval, in seconds.
pub const MIN_INTERVAL_SECS: i64 = 30;

/// The formats a source may be read as (`auto`: told from each document's content).
pub const SOURCE_FORMATS: [&str; 5] = ["auto", "newsml-g2", "nitf", "ninjs", "feed"];

/// An ingest source as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundSource {
    /// Id.
    pub id: i64,
    /// Unique name; the `source` of its items.
    pub name: String,
    /// `dir` or `http`.
    pub kind: String,
    /// One of [`SOURCE_FORMATS`].
    pub format: String,
    /// The folder (`dir`) or the URL (`http`).
    pub location: String,
    /// Key sent to a ninjs API (`Authorization: Bearer`); empty: none. Never shown back.
    pub api_key: String,
    /// Seconds between polls (at least [`MIN_INTERVAL_SECS`]).
    pub interval_secs: i64,
    /// Whether it is polled.
    pub enabled: bool,
    /// Defined in the config file (upserted by name at each start).
    pub from_config: bool,
    /// ETag of the last 200 answer (`http`).
    pub etag: String,
    /// Last-Modified of the last 200 answer (`http`).
    pub last_modified: String,
    /// Failed polls in a row.
    pub failures: i64,
    /// Not polled before this time (its interval, or the backoff after failures).
    pub next_poll_at: DateTime<Utc>,
    /// Last poll, whatever came of it.
    pub last_poll_at: Option<DateTime<Utc>>,
    /// Last poll that worked (an answer read, even 304 or no new file).
    pub last_success_at: Option<DateTime<Utc>>,
    /// Last error.
    pub last_error_at: Option<DateTime<Utc>>,
    /// What the last error was.
    pub last_error: String,
    /// Items stored since the source was made.
    pub items_total: i64,
    /// Errors since the source was made.
    pub errors_total: i64,
}

/// What an admin (or the config file) sets of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundSourceInput {
    /// Unique name.
    pub name: String,
    /// `dir` or `http`.
    pub kind: String,
    /// One of [`SOURCE_FORMATS`].
    pub format: String,
    /// Folder or URL.
    pub location: String,
    /// New API key: `None` keeps the stored one, `Some("")` removes it.
    pub api_key: Option<String>,
    /// Seconds between polls.
    pub interval_secs: i64,
    /// Whether it is polled.
    pub enabled: bool,
}

/// One entry of a source's error list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceErrorEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// `file:line:col`, `file`, the URL, ... (may be empty).
    pub place: String,
    /// What was wrong.
    pub reason: String,
}

fn time(secs: Option<i64>) -> Option<DateTime<Utc>> {
    secs.and_then(|s| DateTime::from_timestamp(s, 0))
}

fn source_from_row(r: &AnyRow) -> Result<InboundSource> {
    Ok(InboundSource {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        format: r.try_get("format")?,
        location: r.try_get("location")?,
        api_key: r.try_get("api_key")?,
        interval_secs: r.try_get("interval_secs")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        from_config: r.try_get::<i64, _>("from_config")? != 0,
        etag: r.try_get("etag")?,
        last_modified: r.try_get("last_modified")?,
        failures: r.try_get("failures")?,
        next_poll_at: time(Some(r.try_get("next_poll_at")?)).unwrap_or_default(),
        last_poll_at: time(r.try_get("last_poll_at")?),
        last_success_at: time(r.try_get("last_success_at")?),
        last_error_at: time(r.try_get("last_error_at")?),
        last_error: r.try_get("last_error")?,
        items_total: r.try_get("items_total")?,
        errors_total: r.try_get("errors_total")?,
    })
}

/// Refuses what the table's checks would refuse, with a sentence.
fn check(input: &InboundSourceInput) -> Result<()> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(StoreError::Invalid("The name must be 1 to 100 characters, without control characters.".into()));
    }
    if !matches!(input.kind.as_str(), "dir" | "http") {
        return Err(StoreError::Invalid("The kind must be dir or http.".into()));
    }
    if !SOURCE_FORMATS.contains(&input.format.as_str()) {
        return Err(StoreError::Invalid(format!("The format must be one of {}.", SOURCE_FORMATS.join(", "))));
    }
    if input.location.trim().is_empty() {
        return Err(StoreError::Invalid("The folder or URL must not be empty.".into()));
    }
    if input.interval_secs < MIN_INTERVAL_SECS {
        return Err(StoreError::Invalid(format!("The interval must be at least {MIN_INTERVAL_SECS} seconds.")));
    }
    Ok(())
}

fn no_source(id: i64) -> StoreError {
    StoreError::Invalid(format!("There is no ingest source {id}."))
}

fn taken(e: sqlx::Error) -> StoreError {
    if StoreError::is_unique_violation(&e) { StoreError::Conflict { field: "name" } } else { e.into() }
}

async fn source_in(conn: &mut AnyConnection, id: i64) -> Result<Option<InboundSource>> {
    let row = sqlx::query("SELECT * FROM ingest_sources WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    row.as_ref().map(source_from_row).transpose()
}

/// Inserts a source; its first poll is due at once.
async fn insert(conn: &mut AnyConnection, input: &InboundSourceInput, from_config: bool) -> Result<i64> {
    let t = now();
    let row = sqlx::query(
        "INSERT INTO ingest_sources (name, kind, format, location, api_key, interval_secs, enabled, from_config, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(input.name.trim())
    .bind(&input.kind)
    .bind(&input.format)
    .bind(input.location.trim())
    .bind(input.api_key.as_deref().unwrap_or_default().trim())
    .bind(input.interval_secs)
    .bind(i64::from(input.enabled))
    .bind(i64::from(from_config))
    .bind(t)
    .fetch_one(&mut *conn)
    .await
    .map_err(taken)?;
    Ok(row.try_get("id")?)
}

/// Updates a source's settings; a changed location or kind forgets the HTTP
/// validators and the backoff (the next poll is due at once).
async fn update(conn: &mut AnyConnection, id: i64, input: &InboundSourceInput, from_config: bool) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE ingest_sources SET \
         etag = CASE WHEN location = $5 AND kind = $3 THEN etag ELSE '' END, \
         last_modified = CASE WHEN location = $5 AND kind = $3 THEN last_modified ELSE '' END, \
         next_poll_at = CASE WHEN location = $5 AND kind = $3 THEN next_poll_at ELSE 0 END, \
         failures = CASE WHEN location = $5 AND kind = $3 THEN failures ELSE 0 END, \
         name = $2, kind = $3, format = $4, location = $5, api_key = COALESCE($6, api_key), interval_secs = $7, \
         enabled = $8, from_config = $9, updated_at = $10 WHERE id = $1",
    )
    .bind(id)
    .bind(input.name.trim())
    .bind(&input.kind)
    .bind(&input.format)
    .bind(input.location.trim())
    .bind(input.api_key.as_deref().map(str::trim))
    .bind(input.interval_secs)
    .bind(i64::from(input.enabled))
    .bind(i64::from(from_config))
    .bind(now())
    .execute(&mut *conn)
    .await
    .map_err(taken)?;
    Ok(done.rows_affected() > 0)
}

fn described(input: &InboundSourceInput) -> String {
    format!(
        "{} {} {} ({}, every {} s{})",
        input.kind,
        input.format,
        input.location.trim(),
        if input.enabled { "enabled" } else { "disabled" },
        input.interval_secs,
        match input.api_key.as_deref() {
            None => "",
            Some("") => ", key removed",
            Some(_) => ", key set",
        }
    )
}

impl Store {
    /// Every ingest source, by name.
    pub async fn inbound_sources(&self) -> Result<Vec<InboundSource>> {
        let rows = sqlx::query("SELECT * FROM ingest_sources ORDER BY name").fetch_all(self.pool()).await?;
        rows.iter().map(source_from_row).collect()
    }

    /// The source with id `id`.
    pub async fn inbound_source(&self, id: i64) -> Result<Option<InboundSource>> {
        source_in(&mut *self.pool().acquire().await?, id).await
    }

    /// Makes a source, with its audit entry in the same transaction.
    pub async fn create_inbound_source(&self, input: &InboundSourceInput, audit: &AuditEntry) -> Result<InboundSource> {
        check(input)?;
        let mut tx = self.begin_write().await?;
        let id = insert(&mut tx, input, false).await?;
        audit_in(&mut tx, &AuditEntry { target_id: id.to_string(), detail: described(input), ..audit.clone() }).await?;
        let source = source_in(&mut tx, id).await?.ok_or_else(|| no_source(id))?;
        tx.commit().await?;
        Ok(source)
    }

    /// Changes a source's settings (a source from the config file is refused:
    /// the file is where it is changed), with its audit entry.
    pub async fn update_inbound_source(&self, id: i64, input: &InboundSourceInput, audit: &AuditEntry) -> Result<()> {
        check(input)?;
        let mut tx = self.begin_write().await?;
        let Some(old) = source_in(&mut tx, id).await? else { return Err(no_source(id)) };
        if old.from_config {
            return Err(StoreError::Invalid(
                "This source is defined in the config file ([[ingest.sources]]): change it there.".into(),
            ));
        }
        update(&mut tx, id, input, false).await?;
        audit_in(&mut tx, &AuditEntry { target_id: id.to_string(), detail: described(input), ..audit.clone() }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a source and its error list (its items stay), with its audit entry.
    pub async fn delete_inbound_source(&self, id: i64, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let Some(old) = source_in(&mut tx, id).await? else { return Err(no_source(id)) };
        if old.from_config {
            return Err(StoreError::Invalid(
                "This source is defined in the config file ([[ingest.sources]]): remove it there.".into(),
            ));
        }
        sqlx::query("DELETE FROM ingest_source_errors WHERE source_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM ingest_sources WHERE id = $1").bind(id).execute(&mut *tx).await?;
        audit_in(&mut tx, &AuditEntry { target_id: id.to_string(), detail: old.name, ..audit.clone() }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts the config file's sources in: each is made or updated by name
    /// (and marked as from the file), one audit entry each when something
    /// changed. Sources the file no longer names are kept, no longer marked
    /// as from the file (an admin may then edit or delete them).
    pub async fn sync_config_sources(&self, inputs: &[InboundSourceInput], audit: &AuditEntry) -> Result<()> {
        for input in inputs {
            check(input)?;
        }
        let mut tx = self.begin_write().await?;
        let names: Vec<&str> = inputs.iter().map(|i| i.name.trim()).collect();
        let rows = sqlx::query("SELECT * FROM ingest_sources").fetch_all(&mut *tx).await?;
        let existing = rows.iter().map(source_from_row).collect::<Result<Vec<_>>>()?;
        for old in existing.iter().filter(|s| s.from_config && !names.contains(&s.name.as_str())) {
            sqlx::query("UPDATE ingest_sources SET from_config = 0 WHERE id = $1")
                .bind(old.id)
                .execute(&mut *tx)
                .await?;
            let detail = format!("{}: no longer in the config file", old.name);
            audit_in(&mut tx, &AuditEntry { target_id: old.id.to_string(), detail, ..audit.clone() }).await?;
        }
        for input in inputs {
            let old = existing.iter().find(|s| s.name == input.name.trim());
            let id = match old {
                None => insert(&mut tx, input, true).await?,
                Some(old) => {
                    let same = old.kind == input.kind
                        && old.format == input.format
                        && old.location == input.location.trim()
                        && input.api_key.as_deref().is_none_or(|k| k.trim() == old.api_key)
                        && old.interval_secs == input.interval_secs
                        && old.enabled == input.enabled
                        && old.from_config;
                    if same {
                        continue;
                    }
                    update(&mut tx, old.id, input, true).await?;
                    old.id
                }
            };
            let detail = format!("{} from the config file: {}", input.name.trim(), described(input));
            audit_in(&mut tx, &AuditEntry { target_id: id.to_string(), detail, ..audit.clone() }).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Enabled sources whose next poll is due at `at`.
    pub async fn due_inbound_sources(&self, at: DateTime<Utc>) -> Result<Vec<InboundSource>> {
        let rows = sqlx::query("SELECT * FROM ingest_sources WHERE enabled = 1 AND next_poll_at <= $1 ORDER BY id")
            .bind(at.timestamp())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(source_from_row).collect()
    }

    /// Makes the source due now ("poll now"), with its audit entry.
    pub async fn poll_inbound_source_now(&self, id: i64, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("UPDATE ingest_sources SET next_poll_at = 0 WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(no_source(id));
        }
        audit_in(&mut tx, &AuditEntry { target_id: id.to_string(), ..audit.clone() }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A poll that worked at `at`: `items` stored, the validators of the
    /// answer (unchanged when `None`), the backoff cleared and the next poll
    /// one interval on.
    pub async fn record_source_success(
        &self,
        id: i64,
        at: DateTime<Utc>,
        items: i64,
        validators: Option<(&str, &str)>,
    ) -> Result<()> {
        let (etag, modified) = validators.unzip();
        sqlx::query(
            "UPDATE ingest_sources SET failures = 0, next_poll_at = $2 + interval_secs, last_poll_at = $2, \
             last_success_at = $2, items_total = items_total + $3, etag = COALESCE($4, etag), \
             last_modified = COALESCE($5, last_modified) WHERE id = $1",
        )
        .bind(id)
        .bind(at.timestamp())
        .bind(items)
        .bind(etag)
        .bind(modified)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Adds an error to source `id`'s list (keeping the newest
    /// [`SOURCE_ERRORS_KEPT`]). With `retry_at`, the poll failed: it counts as
    /// a failure and the next poll waits until then (the backoff).
    pub async fn record_source_error(
        &self,
        id: i64,
        at: DateTime<Utc>,
        place: &str,
        reason: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO ingest_source_errors (source_id, at, place, reason) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(at.timestamp())
            .bind(place)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        let last = if place.is_empty() { reason.to_string() } else { format!("{place}: {reason}") };
        sqlx::query(
            "UPDATE ingest_sources SET errors_total = errors_total + 1, last_error_at = $2, last_error = $3, \
             last_poll_at = $2, failures = failures + $4, next_poll_at = COALESCE($5, next_poll_at) WHERE id = $1",
        )
        .bind(id)
        .bind(at.timestamp())
        .bind(last)
        .bind(i64::from(retry_at.is_some()))
        .bind(retry_at.map(|t| t.timestamp()))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM ingest_source_errors WHERE source_id = $1 AND id <= \
             (SELECT id FROM ingest_source_errors WHERE source_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(id)
        .bind(SOURCE_ERRORS_KEPT)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest `limit` errors of source `id`, newest first.
    pub async fn source_errors(&self, id: i64, limit: i64) -> Result<Vec<SourceErrorEntry>> {
        let rows = sqlx::query(
            "SELECT at, place, reason FROM ingest_source_errors WHERE source_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SourceErrorEntry {
                    at: time(Some(r.try_get("at")?)).unwrap_or_default(),
                    place: r.try_get("place")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }

    /// How many items of source `name` arrived or changed since `since`.
    pub async fn source_items_since(&self, name: &str, since: DateTime<Utc>) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM ingested_items WHERE source = $1 AND updated_at >= $2")
            .bind(name)
            .bind(since.timestamp())
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}

#[cfg(test)]
mod tests;
