//! The wire's data: subscribers, their API keys (stored hashed), usage and
//! rate limits shared by all nodes, webhooks, and the durable outbox that
//! webhook events are delivered from.
//!
//! Events are derived from the change log (`story_changes`), one per change
//! that a subscriber is told of: each change carries the story's state it
//! left, and the dispatcher names the event by comparing it with the state of
//! the story's previous change (`wire_sent`). Events, their outbox rows and
//! the per-story marks are written in one transaction
//! ([`Store::commit_wire_events`]); an event is unique per change id, so a
//! change dispatched twice (a node stopped at any moment, a failover) is
//! announced once. The cursor in `wire_state` is the dispatcher's watermark:
//! every change up to it is dispatched. Only the node holding the `webhooks`
//! lease ([`Store::try_lease`]) dispatches and delivers.

use crate::bulk::V;
use crate::sql::{Args, like_escape, placeholders};
use chrono::{DateTime, Utc};
use newsdesk_domain::NewsId;
use newsdesk_domain::dates::from_unix;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::audit_in;
use crate::{AuditEntry, Result, Store, StoreError};

/// Prefix of every API key, so a leaked key is recognisable (and greppable).
pub const KEY_PREFIX: &str = "nd_";
/// Prefix of every webhook signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Name of the `wire_state` row holding the last change id turned into events.
const CURSOR: &str = "webhook_cursor";
/// The status of a [`SentState`] that left a story scheduled and released to
/// the wire ahead of its time (embargoed copy for subscribers that take it).
pub const EMBARGOED: &str = "embargoed";

/// A customer of the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Database id.
    pub id: i64,
    /// Unique name (used on the command line).
    pub name: String,
    /// Section paths the subscriber may see, each with its subsections; empty: all.
    pub sections: Vec<String>,
    /// Edition languages the subscriber may see; empty: all.
    pub editions: Vec<String>,
    /// Requests per minute allowed for each of its keys.
    pub rate_limit: i64,
    /// Whether its keys and webhooks work.
    pub active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Its product (what it may take, see [`crate::Product`]); `None`: all its editions and sections allow.
    pub product_id: Option<i64>,
    /// Whether it takes embargoed copy (scheduled stories released to the wire ahead of their time).
    pub embargo: bool,
}

impl Subscriber {
    /// Whether a story of edition `lang` in the section at `section_path` is visible to the subscriber.
    pub fn allows(&self, lang: &str, section_path: &str) -> bool {
        let edition_ok = self.editions.is_empty() || self.editions.iter().any(|e| e == lang);
        let section_ok = self.sections.is_empty()
            || self.sections.iter().any(|p| {
                section_path == p || section_path.strip_prefix(p.as_str()).is_some_and(|rest| rest.starts_with('/'))
            });
        edition_ok && section_ok
    }
}

/// What `newsdesk subscriber add` asks for.
#[derive(Debug, Clone)]
pub struct NewSubscriber {
    /// Unique name.
    pub name: String,
    /// Allowed section paths (empty: all).
    pub sections: Vec<String>,
    /// Allowed edition languages (empty: all).
    pub editions: Vec<String>,
    /// Requests per minute and key.
    pub rate_limit: i64,
}

/// An API key as listed (the key itself is shown once, at creation, and never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Database id.
    pub id: i64,
    /// Owner.
    pub subscriber_id: i64,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last authenticated request, if any.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A webhook endpoint of a subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Database id.
    pub id: i64,
    /// Owner.
    pub subscriber_id: i64,
    /// Where events are POSTed.
    pub url: String,
    /// HMAC-SHA256 signing secret.
    pub secret: String,
    /// Whether events are sent to it.
    pub active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// The answer of the rate limiter for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Go ahead; `remaining` more requests fit in this minute.
    Allowed {
        /// Requests left in the current minute.
        remaining: i64,
    },
    /// Too many requests; try again in `retry_after` seconds.
    Limited {
        /// Seconds until the next minute starts.
        retry_after: i64,
    },
}

/// A story's state as the wire announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentState {
    /// Story status then (`published`, `unpublished`, `killed`, ..., or
    /// [`EMBARGOED`]: scheduled and released to the wire).
    pub status: String,
    /// Story version then.
    pub version: i64,
    /// Its public update time then (unix seconds).
    pub updated_at: Option<i64>,
}

/// The last change the dispatcher handled for a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireMark {
    /// Its change id: this story's changes up to it are dispatched.
    pub change_id: i64,
    /// The story's state at that change (the next event is named against it).
    pub state: SentState,
}

/// A change-log entry as the webhook dispatcher reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    /// Change id.
    pub id: i64,
    /// The story, or [`crate::SITE_CHANGE`] for a site-wide change.
    pub news_id: NewsId,
    /// Its edition.
    pub edition_id: i64,
    /// When it was recorded (unix seconds).
    pub changed_at: i64,
    /// Only the story's comments changed (no webhook event).
    pub comment_only: bool,
    /// The story's state the change left (`None` for site-wide and comment
    /// changes, and for changes recorded before the log kept it).
    pub state: Option<SentState>,
}

/// An event to record: its payload and the webhooks that get it.
#[derive(Debug, Clone)]
pub struct NewWireEvent {
    /// Public idempotency key.
    pub event_id: String,
    /// The change announced (at most one event per change).
    pub change_id: i64,
    /// `publish`, `update`, `correction`, `unpublish` or `kill`.
    pub kind: String,
    /// The story.
    pub news_id: NewsId,
    /// The story's state that the event announces.
    pub state: SentState,
    /// The exact body POSTed to webhooks.
    pub payload: String,
    /// When the event was made.
    pub occurred_at: DateTime<Utc>,
    /// Webhooks that receive it.
    pub webhook_ids: Vec<i64>,
}

/// An outbox row due for delivery.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// Outbox row id.
    pub outbox_id: i64,
    /// The webhook.
    pub webhook_id: i64,
    /// Its URL.
    pub url: String,
    /// Its signing secret.
    pub secret: String,
    /// The subscriber owning the webhook.
    pub subscriber_id: i64,
    /// Its name (for logs and metrics).
    pub subscriber: String,
    /// The event's idempotency key.
    pub event_id: String,
    /// The change announced (`None` for events made before events carried it).
    pub change_id: Option<i64>,
    /// The event type.
    pub kind: String,
    /// The story.
    pub news_id: NewsId,
    /// The body to POST.
    pub payload: String,
    /// Attempts made so far.
    pub attempts: i64,
}

/// The result of one delivery attempt.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt {
    /// HTTP status, if the receiver answered.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: i64,
    /// Whether the event counts as delivered (a 2xx answer).
    pub delivered: bool,
    /// When to try again if not delivered.
    pub next_attempt_at: DateTime<Utc>,
}

/// One outbox row with its state, for the delivery log.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// Outbox row id.
    pub outbox_id: i64,
    /// The webhook.
    pub webhook_id: i64,
    /// The event's idempotency key.
    pub event_id: String,
    /// The event type.
    pub kind: String,
    /// The story.
    pub news_id: NewsId,
    /// Story version announced.
    pub version: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// Delivery time, once delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Next try, while not delivered.
    pub next_attempt_at: DateTime<Utc>,
    /// HTTP status of the last attempt.
    pub last_status: Option<i64>,
    /// Error of the last attempt.
    pub last_error: Option<String>,
}

/// Hex SHA-256 of an API key, as stored.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", hex::encode(bytes))
}

fn now() -> i64 {
    Utc::now().timestamp()
}

fn join_list(items: &[String]) -> String {
    items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(",")
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

const SUBSCRIBER_COLUMNS: &str = "id, name, sections, editions, rate_limit, active, created_at, product_id, embargo";

fn subscriber_from_row(r: &AnyRow) -> Result<Subscriber> {
    Ok(Subscriber {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        sections: split_list(&r.try_get::<String, _>("sections")?),
        editions: split_list(&r.try_get::<String, _>("editions")?),
        rate_limit: r.try_get("rate_limit")?,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: from_unix(r.try_get("created_at")?),
        product_id: r.try_get("product_id")?,
        embargo: r.try_get::<i64, _>("embargo")? != 0,
    })
}

fn key_from_row(r: &AnyRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: r.try_get("id")?,
        subscriber_id: r.try_get("subscriber_id")?,
        prefix: r.try_get("prefix")?,
        created_at: from_unix(r.try_get("created_at")?),
        last_used_at: r.try_get::<Option<i64>, _>("last_used_at")?.map(from_unix),
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(from_unix),
    })
}

fn webhook_from_row(r: &AnyRow) -> Result<Webhook> {
    Ok(Webhook {
        id: r.try_get("id")?,
        subscriber_id: r.try_get("subscriber_id")?,
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: from_unix(r.try_get("created_at")?),
    })
}

impl Store {
    // ----- subscribers and keys -----

    /// Creates a subscriber; a taken name is a [`StoreError::Conflict`] on `name`
    /// (and writes no entry). `audit` commits with it; an empty target id
    /// becomes the new subscriber's id.
    pub async fn add_subscriber(&self, s: &NewSubscriber, audit: &AuditEntry) -> Result<Subscriber> {
        let name = s.name.trim();
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(StoreError::Invalid("subscriber name must be non-empty text".into()));
        }
        if s.rate_limit < 1 {
            return Err(StoreError::Invalid(format!("rate limit must be at least 1, got {}", s.rate_limit)));
        }
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO subscribers (name, sections, editions, rate_limit, active, created_at) \
             VALUES ($1, $2, $3, $4, 1, $5) RETURNING {SUBSCRIBER_COLUMNS}"
        ))
        .bind(name)
        .bind(join_list(&s.sections))
        .bind(join_list(&s.editions))
        .bind(s.rate_limit)
        .bind(now())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) { StoreError::Conflict { field: "name" } } else { StoreError::Db(e) }
        })?;
        let created = subscriber_from_row(&row)?;
        let target_id = if audit.target_id.is_empty() { created.id.to_string() } else { audit.target_id.clone() };
        audit_in(&mut tx, &AuditEntry { target_id, ..audit.clone() }).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// All subscribers, by name.
    pub async fn subscribers(&self) -> Result<Vec<Subscriber>> {
        let rows = sqlx::query(&format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers ORDER BY name"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(subscriber_from_row).collect()
    }

    /// A subscriber by name.
    pub async fn subscriber_by_name(&self, name: &str) -> Result<Option<Subscriber>> {
        let row = sqlx::query(&format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE name = $1"))
            .bind(name.trim())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(subscriber_from_row).transpose()
    }

    /// Makes a new API key for a subscriber. Returns the key (to show once) and
    /// its stored form. `audit` commits with it.
    pub async fn create_api_key(&self, subscriber_id: i64, audit: &AuditEntry) -> Result<(String, ApiKey)> {
        let mut tx = self.begin_write().await?;
        let key = random_token(KEY_PREFIX);
        let prefix = key[..KEY_PREFIX.len() + 8].to_string();
        let row = sqlx::query(
            "INSERT INTO api_keys (subscriber_id, key_hash, prefix, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, subscriber_id, prefix, created_at, last_used_at, revoked_at",
        )
        .bind(subscriber_id)
        .bind(hash_key(&key))
        .bind(&prefix)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok((key, key_from_row(&row)?))
    }

    /// The keys of a subscriber, oldest first.
    pub async fn api_keys(&self, subscriber_id: i64) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query(
            "SELECT id, subscriber_id, prefix, created_at, last_used_at, revoked_at FROM api_keys \
             WHERE subscriber_id = $1 ORDER BY id",
        )
        .bind(subscriber_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(key_from_row).collect()
    }

    /// The active subscriber and key id a presented key belongs to; `None` for
    /// an unknown or revoked key or an inactive subscriber.
    pub async fn authenticate_key(&self, key: &str) -> Result<Option<(Subscriber, i64)>> {
        if !key.starts_with(KEY_PREFIX) {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT k.id AS key_id, s.id, s.name, s.sections, s.editions, s.rate_limit, s.active, s.created_at, \
             s.product_id, s.embargo \
             FROM api_keys k JOIN subscribers s ON s.id = k.subscriber_id \
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND s.active = 1",
        )
        .bind(hash_key(key))
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some((subscriber_from_row(&r)?, r.try_get("key_id")?)))
    }

    /// Counts one request of a key: against the per-minute limit (one counter
    /// row per key and minute, shared by all nodes) and in the hourly usage.
    /// A refused request is counted in the usage too.
    pub async fn count_request(&self, key_id: i64, limit: i64, at: DateTime<Utc>) -> Result<RateDecision> {
        let t = at.timestamp();
        let minute = t.div_euclid(60) * 60;
        let hour = t.div_euclid(3600) * 3600;
        let mut tx = self.begin_write().await?;
        let used: i64 = sqlx::query(
            "INSERT INTO api_rate (key_id, minute, requests) VALUES ($1, $2, 1) \
             ON CONFLICT (key_id, minute) DO UPDATE SET requests = api_rate.requests + 1 RETURNING requests",
        )
        .bind(key_id)
        .bind(minute)
        .fetch_one(&mut *tx)
        .await?
        .try_get("requests")?;
        if used == 1 {
            // First request of a new minute: the older counters are done with.
            sqlx::query("DELETE FROM api_rate WHERE key_id = $1 AND minute < $2")
                .bind(key_id)
                .bind(minute)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO api_usage (key_id, hour, requests) VALUES ($1, $2, 1) \
             ON CONFLICT (key_id, hour) DO UPDATE SET requests = api_usage.requests + 1",
        )
        .bind(key_id)
        .bind(hour)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
            .bind(key_id)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(if used > limit {
            RateDecision::Limited { retry_after: (minute + 60 - t).max(1) }
        } else {
            RateDecision::Allowed { remaining: limit - used }
        })
    }

    /// Requests of a key per hour `(hour start, requests)`, newest first.
    pub async fn api_usage(&self, key_id: i64, limit: i64) -> Result<Vec<(DateTime<Utc>, i64)>> {
        let rows = sqlx::query("SELECT hour, requests FROM api_usage WHERE key_id = $1 ORDER BY hour DESC LIMIT $2")
            .bind(key_id)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((from_unix(r.try_get("hour")?), r.try_get("requests")?))).collect()
    }

    /// Deactivates a subscriber: revokes its keys and stops its webhooks. Returns
    /// whether it existed; `audit` commits with the revocation (none when it did not).
    pub async fn revoke_subscriber(&self, name: &str, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("UPDATE subscribers SET active = 0 WHERE name = $1 RETURNING id")
            .bind(name.trim())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let id: i64 = row.try_get("id")?;
        sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE subscriber_id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE webhooks SET active = 0 WHERE subscriber_id = $1").bind(id).execute(&mut *tx).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    // ----- webhooks -----

    /// Adds a webhook URL to a subscriber, with a new signing secret; `audit`
    /// commits with it.
    pub async fn add_webhook(&self, subscriber_id: i64, url: &str, audit: &AuditEntry) -> Result<Webhook> {
        let host = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).map(|rest| {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            authority.rsplit('@').next().unwrap_or_default().to_string()
        });
        if host.is_none_or(|h| h.is_empty()) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(StoreError::Invalid(format!(
                "a webhook URL must be an http:// or https:// URL with a host, found `{url}`"
            )));
        }
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO webhooks (subscriber_id, url, secret, active, created_at) VALUES ($1, $2, $3, 1, $4) \
             RETURNING id, subscriber_id, url, secret, active, created_at",
        )
        .bind(subscriber_id)
        .bind(url)
        .bind(random_token(SECRET_PREFIX))
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        webhook_from_row(&row)
    }

    /// The webhooks of a subscriber, oldest first.
    pub async fn webhooks(&self, subscriber_id: i64) -> Result<Vec<Webhook>> {
        let rows = sqlx::query(
            "SELECT id, subscriber_id, url, secret, active, created_at FROM webhooks WHERE subscriber_id = $1 ORDER BY id",
        )
        .bind(subscriber_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    /// Every active webhook of an active subscriber, with its subscriber.
    pub async fn active_webhooks(&self) -> Result<Vec<(Webhook, Subscriber)>> {
        let rows = sqlx::query(
            "SELECT w.id AS webhook_id, w.url, w.secret, w.created_at AS webhook_created_at, \
             s.id, s.name, s.sections, s.editions, s.rate_limit, s.active, s.created_at, s.product_id, s.embargo \
             FROM webhooks w JOIN subscribers s ON s.id = w.subscriber_id \
             WHERE w.active = 1 AND s.active = 1 ORDER BY w.id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let s = subscriber_from_row(r)?;
                let w = Webhook {
                    id: r.try_get("webhook_id")?,
                    subscriber_id: s.id,
                    url: r.try_get("url")?,
                    secret: r.try_get("secret")?,
                    active: true,
                    created_at: from_unix(r.try_get("webhook_created_at")?),
                };
                Ok((w, s))
            })
            .collect()
    }

    // ----- leases -----

    /// Takes or renews the lease `name` for `holder` until `ttl_secs` from now;
    /// true if `holder` has it. Another holder gets it only after it expired.
    pub async fn try_lease(&self, name: &str, holder: &str, ttl_secs: i64) -> Result<bool> {
        let t = now();
        let row = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4 RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(t + ttl_secs)
        .bind(t)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Who holds the lease `name` now, if anyone does.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT holder FROM leases WHERE name = $1 AND expires_at >= $2")
            .bind(name)
            .bind(now())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(r.try_get("holder")?)).transpose()
    }

    /// Gives up a lease (at shutdown), so another node takes over at once.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    // ----- dispatch: change log → events → outbox -----

    /// The last change id turned into events. On first use it starts at the
    /// newest change: what happened before the wire existed is not announced.
    pub async fn wire_cursor(&self) -> Result<i64> {
        let start = self.last_change_id().await?;
        sqlx::query("INSERT INTO wire_state (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(CURSOR)
            .bind(start)
            .execute(self.pool())
            .await?;
        Ok(sqlx::query("SELECT value FROM wire_state WHERE name = $1")
            .bind(CURSOR)
            .fetch_one(self.pool())
            .await?
            .try_get("value")?)
    }

    /// Moves the stored cursor up to `to` (never back): every change up to it is dispatched.
    pub async fn advance_wire_cursor(&self, to: i64) -> Result<()> {
        sqlx::query("UPDATE wire_state SET value = $2 WHERE name = $1 AND value < $2")
            .bind(CURSOR)
            .bind(to)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The change-log entries `ids` with the state each left, in id order.
    pub async fn logged_changes(&self, ids: &[i64]) -> Result<Vec<LoggedChange>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(200) {
            let sql = format!(
                "SELECT id, news_id, edition_id, changed_at, kind, status, version, updated_at, embargoed FROM story_changes \
                 WHERE id IN ({}) ORDER BY id",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(self.pool()).await? {
                let mut status: Option<String> = r.try_get("status")?;
                let version: Option<i64> = r.try_get("version")?;
                // A scheduled story released to the wire is announced as embargoed copy.
                if r.try_get::<i64, _>("embargoed")? != 0 && status.as_deref() == Some("scheduled") {
                    status = Some(EMBARGOED.into());
                }
                out.push(LoggedChange {
                    id: r.try_get("id")?,
                    news_id: r.try_get("news_id")?,
                    edition_id: r.try_get("edition_id")?,
                    changed_at: r.try_get("changed_at")?,
                    // A breaking-news mark is no change of the story either.
                    comment_only: matches!(
                        r.try_get::<String, _>("kind")?.as_str(),
                        "comment" | crate::BREAKING_CHANGE
                    ),
                    state: match (status, version) {
                        (Some(status), Some(version)) => {
                            Some(SentState { status, version, updated_at: r.try_get("updated_at")? })
                        }
                        _ => None,
                    },
                });
            }
        }
        out.sort_by_key(|c| c.id);
        Ok(out)
    }

    /// The newest revision of a story at or before `version` (a status change
    /// or a public update time alone makes a version without a revision).
    pub async fn revision_at(&self, news_id: NewsId, version: i64) -> Result<Option<crate::Revision>> {
        let sql = format!(
            "{} WHERE news_id = $1 AND version <= $2 ORDER BY version DESC, id DESC LIMIT 1",
            crate::newsroom::REVISION_SELECT
        );
        let row = sqlx::query(&sql).bind(news_id).bind(version).fetch_optional(self.pool()).await?;
        row.as_ref().map(crate::newsroom::revision_from).transpose()
    }

    /// The last change dispatched for each of `news_ids`, with the state it left.
    pub async fn wire_sent(&self, news_ids: &[NewsId]) -> Result<std::collections::HashMap<NewsId, WireMark>> {
        let mut out = std::collections::HashMap::new();
        for chunk in news_ids.chunks(200) {
            let sql = format!(
                "SELECT news_id, change_id, status, version, updated_at FROM wire_sent WHERE news_id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(self.pool()).await? {
                out.insert(
                    r.try_get("news_id")?,
                    WireMark {
                        change_id: r.try_get("change_id")?,
                        state: SentState {
                            status: r.try_get("status")?,
                            version: r.try_get("version")?,
                            updated_at: r.try_get("updated_at")?,
                        },
                    },
                );
            }
        }
        Ok(out)
    }

    /// Records `events` (each with one outbox row per webhook) and the last
    /// change dispatched per story (`marks`), in one transaction. An event
    /// whose change already has one (another node, or this one before a
    /// restart, dispatched it) is left out, with its outbox rows; a mark older
    /// than the stored one is ignored (of two marks for one story, the newer
    /// counts). Returns how many events were added.
    pub async fn commit_wire_events(&self, marks: &[(NewsId, WireMark)], events: &[NewWireEvent]) -> Result<usize> {
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for e in events {
            let row = sqlx::query(
                "INSERT INTO wire_events (event_id, change_id, kind, news_id, version, payload, occurred_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (change_id) DO NOTHING RETURNING id",
            )
            .bind(&e.event_id)
            .bind(e.change_id)
            .bind(&e.kind)
            .bind(e.news_id)
            .bind(e.state.version)
            .bind(&e.payload)
            .bind(e.occurred_at.timestamp())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { continue };
            let row_id: i64 = row.try_get("id")?;
            added += 1;
            for w in &e.webhook_ids {
                sqlx::query(
                    "INSERT INTO webhook_outbox (webhook_id, event_row, news_id, attempts, next_attempt_at) \
                     VALUES ($1, $2, $3, 0, $4)",
                )
                .bind(*w)
                .bind(row_id)
                .bind(e.news_id)
                .bind(e.occurred_at.timestamp())
                .execute(&mut *tx)
                .await?;
            }
        }
        // One statement for a batch's marks (the dispatcher's batch is a few
        // hundred stories): row by row, the first start on a filled archive
        // spent most of its catching up on a million single-row statements.
        // One row per story (a statement may not update a row twice), the
        // newest mark of each; in News ID order, so that two nodes recording
        // the same batch lock its rows in the same order.
        let mut newest: std::collections::BTreeMap<NewsId, &WireMark> = std::collections::BTreeMap::new();
        for (news_id, m) in marks {
            let kept = newest.entry(*news_id).or_insert(m);
            if m.change_id > kept.change_id {
                *kept = m;
            }
        }
        let rows: Vec<Vec<V<'_>>> = newest
            .iter()
            .map(|(news_id, m)| {
                vec![
                    V::Int(*news_id),
                    V::Int(m.change_id),
                    V::Text(&m.state.status),
                    V::Int(m.state.version),
                    V::OptInt(m.state.updated_at),
                ]
            })
            .collect();
        crate::bulk::insert(
            &mut tx,
            "INSERT INTO wire_sent (news_id, change_id, status, version, updated_at) VALUES ",
            "(?, ?, ?, ?, ?)",
            0,
            &rows,
            " ON CONFLICT (news_id) DO UPDATE SET change_id = excluded.change_id, status = excluded.status, \
             version = excluded.version, updated_at = excluded.updated_at \
             WHERE wire_sent.change_id < excluded.change_id",
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    // ----- delivery -----

    /// Outbox rows due at `at`, oldest first: for each (webhook, story) only
    /// the oldest undelivered row, so a story's events arrive in order.
    pub async fn due_deliveries(&self, at: DateTime<Utc>, limit: i64) -> Result<Vec<DueDelivery>> {
        self.due(None, at, limit).await
    }

    /// [`Store::due_deliveries`] of one webhook.
    pub async fn due_deliveries_of(&self, webhook_id: i64, at: DateTime<Utc>, limit: i64) -> Result<Vec<DueDelivery>> {
        self.due(Some(webhook_id), at, limit).await
    }

    /// The webhooks with a row due at `at`, the one waiting longest first.
    pub async fn due_webhooks(&self, at: DateTime<Utc>) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT o.webhook_id, MIN(o.id) AS first FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id \
             JOIN subscribers s ON s.id = w.subscriber_id \
             WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1 AND w.active = 1 AND s.active = 1 \
             GROUP BY o.webhook_id ORDER BY first",
        )
        .bind(at.timestamp())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("webhook_id")?)).collect()
    }

    async fn due(&self, webhook_id: Option<i64>, at: DateTime<Utc>, limit: i64) -> Result<Vec<DueDelivery>> {
        let rows = sqlx::query(
            "SELECT o.id, o.webhook_id, w.url, w.secret, s.id AS subscriber_id, s.name AS subscriber, e.event_id, \
             e.change_id, e.kind, o.news_id, e.payload, o.attempts \
             FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id \
             JOIN subscribers s ON s.id = w.subscriber_id JOIN wire_events e ON e.id = o.event_row \
             WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1 AND w.active = 1 AND s.active = 1 \
             AND ($3 = 0 OR o.webhook_id = $3) \
             AND NOT EXISTS (SELECT 1 FROM webhook_outbox b WHERE b.webhook_id = o.webhook_id \
                 AND b.news_id = o.news_id AND b.delivered_at IS NULL AND b.id < o.id) \
             ORDER BY o.id LIMIT $2",
        )
        .bind(at.timestamp())
        .bind(limit)
        .bind(webhook_id.unwrap_or(0))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DueDelivery {
                    outbox_id: r.try_get("id")?,
                    webhook_id: r.try_get("webhook_id")?,
                    url: r.try_get("url")?,
                    secret: r.try_get("secret")?,
                    subscriber_id: r.try_get("subscriber_id")?,
                    subscriber: r.try_get("subscriber")?,
                    event_id: r.try_get("event_id")?,
                    change_id: r.try_get("change_id")?,
                    kind: r.try_get("kind")?,
                    news_id: r.try_get("news_id")?,
                    payload: r.try_get("payload")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Records an attempt in the delivery log and the outbox row: delivered,
    /// or due again at `next_attempt_at`.
    pub async fn record_delivery(&self, outbox_id: i64, a: &DeliveryAttempt) -> Result<()> {
        let t = now();
        let mut tx = self.begin_write().await?;
        let attempt: i64 = sqlx::query(
            "UPDATE webhook_outbox SET attempts = attempts + 1, last_status = $2, last_error = $3, \
             delivered_at = CASE WHEN $4 = 1 THEN $5 ELSE NULL END, next_attempt_at = $6 \
             WHERE id = $1 AND delivered_at IS NULL RETURNING attempts",
        )
        .bind(outbox_id)
        .bind(a.status.map(i64::from))
        .bind(a.error.as_deref())
        .bind(i64::from(a.delivered))
        .bind(t)
        .bind(a.next_attempt_at.timestamp())
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("attempts"))
        .transpose()?
        .unwrap_or(0);
        if attempt > 0 {
            sqlx::query(
                "INSERT INTO webhook_deliveries (outbox_id, attempt, attempted_at, status, error, duration_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(outbox_id)
            .bind(attempt)
            .bind(t)
            .bind(a.status.map(i64::from))
            .bind(a.error.as_deref())
            .bind(a.duration_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Webhook events not yet delivered to active webhooks of active subscribers (for metrics).
    pub async fn webhook_backlog(&self) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id \
             JOIN subscribers s ON s.id = w.subscriber_id \
             WHERE o.delivered_at IS NULL AND w.active = 1 AND s.active = 1",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// The newest outbox rows of a subscriber's webhooks (the delivery log), newest first.
    pub async fn outbox_of(&self, subscriber_id: i64, limit: i64) -> Result<Vec<OutboxEntry>> {
        let rows = sqlx::query(
            "SELECT o.id, o.webhook_id, e.event_id, e.kind, o.news_id, e.version, o.attempts, o.delivered_at, \
             o.next_attempt_at, o.last_status, o.last_error \
             FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id JOIN wire_events e ON e.id = o.event_row \
             WHERE w.subscriber_id = $1 ORDER BY o.id DESC LIMIT $2",
        )
        .bind(subscriber_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxEntry {
                    outbox_id: r.try_get("id")?,
                    webhook_id: r.try_get("webhook_id")?,
                    event_id: r.try_get("event_id")?,
                    kind: r.try_get("kind")?,
                    news_id: r.try_get("news_id")?,
                    version: r.try_get("version")?,
                    attempts: r.try_get("attempts")?,
                    delivered_at: r.try_get::<Option<i64>, _>("delivered_at")?.map(from_unix),
                    next_attempt_at: from_unix(r.try_get("next_attempt_at")?),
                    last_status: r.try_get("last_status")?,
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    }

    /// Forgets what is done with: delivered outbox rows (with their delivery log)
    /// and rows of stopped webhooks made before `before`, events no row needs
    /// any more, and rate counters older than an hour. Returns the outbox rows removed.
    pub async fn prune_wire(&self, before: DateTime<Utc>) -> Result<u64> {
        let t = before.timestamp();
        let mut tx = self.begin_write().await?;
        let old_rows = "SELECT o.id FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id \
                        JOIN wire_events e ON e.id = o.event_row \
                        WHERE e.occurred_at < $1 AND (o.delivered_at IS NOT NULL OR w.active = 0)";
        sqlx::query(&format!("DELETE FROM webhook_deliveries WHERE outbox_id IN ({old_rows})"))
            .bind(t)
            .execute(&mut *tx)
            .await?;
        let removed = sqlx::query(&format!("DELETE FROM webhook_outbox WHERE id IN ({old_rows})"))
            .bind(t)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "DELETE FROM wire_events WHERE occurred_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_outbox o WHERE o.event_row = wire_events.id)",
        )
        .bind(t)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM api_rate WHERE minute < $1").bind(now() - 3600).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(removed)
    }

    // ----- ninjs listing -----

    /// Stories for the ninjs wire, newest version first: `(news id, version time)`.
    pub async fn wire_items(&self, q: &WireQuery) -> Result<Vec<(NewsId, i64)>> {
        let mut sql = format!("SELECT s.news_id, {VERSION_TIME} AS vt FROM stories s WHERE ");
        let mut args = Args::new();
        // `s.status || ''` keeps the planner off the status indexes (nearly every story
        // is published): walking `stories_wire_version` in order and stopping at the
        // limit beats sorting every published story.
        if q.since.is_some() {
            sql.push_str(
                "((s.status || '') = 'published' OR ((s.status || '') IN ('unpublished', 'killed') \
                 AND s.published_at IS NOT NULL)",
            );
        } else {
            sql.push_str("((s.status || '') = 'published'");
        }
        if q.embargo {
            sql.push_str(
                " OR ((s.status || '') = 'scheduled' \
                 AND EXISTS (SELECT 1 FROM wire_releases r WHERE r.news_id = s.news_id))",
            );
        }
        sql.push(')');
        if let Some(ids) = &q.edition_ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let ps: Vec<String> = ids.iter().map(|id| args.push(*id)).collect();
            sql.push_str(&format!(" AND s.edition_id IN ({})", ps.join(", ")));
        }
        if let Some(u) = q.max_urgency {
            let p = args.push(u);
            sql.push_str(&format!(" AND s.urgency <= {p}"));
        }
        for group in [&q.allowed_sections, &q.product_sections, &q.section.iter().cloned().collect::<Vec<_>>()] {
            if group.is_empty() {
                continue;
            }
            let conds: Vec<String> = group
                .iter()
                .map(|p| {
                    let a = args.push(p.clone());
                    let b = args.push(format!("{}/%", like_escape(p)));
                    format!("path = {a} OR path LIKE {b} ESCAPE '\\'")
                })
                .collect();
            sql.push_str(&format!(" AND s.section_id IN (SELECT id FROM sections WHERE {})", conds.join(" OR ")));
        }
        if let Some(since) = q.since {
            let p = args.push(since);
            sql.push_str(&format!(" AND {VERSION_TIME} >= {p}"));
        }
        if let Some((vt, id)) = q.after {
            let a = args.push(vt);
            let b = args.push(id);
            sql.push_str(&format!(" AND ({VERSION_TIME} < {a} OR ({VERSION_TIME} = {a} AND s.news_id < {b}))"));
        }
        let l = args.push(q.limit);
        sql.push_str(&format!(" ORDER BY {VERSION_TIME} DESC, s.news_id DESC LIMIT {l}"));
        let rows = args.bind_to(sqlx::query(&sql)).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("news_id")?, r.try_get("vt")?))).collect()
    }
}

/// A story's version time for the wire: its public update or publish time
/// while published, else the time it was taken down. Matches the index
/// `stories_wire_version`.
const VERSION_TIME: &str =
    "(CASE WHEN s.status = 'published' THEN COALESCE(s.updated_at, s.published_at) ELSE s.modified_at END)";

/// Which stories a ninjs list shows.
#[derive(Debug, Clone, Default)]
pub struct WireQuery {
    /// Only these editions (`None`: all).
    pub edition_ids: Option<Vec<i64>>,
    /// The subscriber's allowed section paths (empty: all).
    pub allowed_sections: Vec<String>,
    /// Its product's section paths (empty: all).
    pub product_sections: Vec<String>,
    /// Only urgency 1 up to this one (its product's minimum urgency).
    pub max_urgency: Option<i64>,
    /// Also scheduled stories released to the wire (for subscribers that take embargoed copy).
    pub embargo: bool,
    /// Only this section path and its subsections.
    pub section: Option<String>,
    /// Only versions at or after this time (unix seconds); also lists stories taken down.
    pub since: Option<i64>,
    /// Keyset position: after `(version time, news id)`.
    pub after: Option<(i64, NewsId)>,
    /// Page size.
    pub limit: i64,
}
