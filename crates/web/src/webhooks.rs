//! Webhooks: every publish, update, correction, unpublish and kill is POSTed
//! to the subscribers' webhook URLs as a ninjs payload, signed with
//! HMAC-SHA256, from a durable outbox.
//!
//! Two steps, run by the one node that holds the `webhooks` lease:
//!
//! 1. dispatch: read the change log (`story_changes`) after the stored
//!    cursor, name each changed story's event by comparing its state with the
//!    last state announced (`wire_sent`), and store the events with one outbox
//!    row per matching webhook, together with the new cursor, in one
//!    transaction;
//! 2. deliver: POST due outbox rows, oldest first and one at a time per
//!    (webhook, story) so a story's events arrive in order; a row is done only
//!    after a 2xx answer, otherwise it is tried again after an exponentially
//!    growing pause (1 s, 2 s, 4 s, ... at most an hour). Every attempt is
//!    logged.
//!
//! A node stopped at any moment loses nothing: undelivered rows are sent
//! after the restart (so a receiver may see an event twice and must dedupe
//! on `Newsdesk-Webhook-Id`).
//!
//! The request: `POST` with `Content-Type: application/json` and
//!
//! ```text
//! Newsdesk-Webhook-Id: evt_...             the event id (idempotency key), also "id" in the body
//! Newsdesk-Webhook-Timestamp: 1721651880   unix seconds of this attempt
//! Newsdesk-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>
//! ```
//!
//! and the body `{"id", "type", "news_id", "occurred_at", "item": {ninjs}}`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use hmac::{Hmac, Mac};
use newsdesk_domain::{Story, StoryStatus, ninjs};
use newsdesk_storage::{DeliveryAttempt, NewWireEvent, SentState, StoreError};
use serde::Serialize;
use sha2::Sha256;

use crate::AppState;
use crate::wire::Mapper;

/// Name of the lease that makes one node the dispatcher.
pub const LEASE: &str = "webhooks";
/// How long a lease holds without renewal; a node that died is replaced after this.
pub const LEASE_SECS: i64 = 20;
/// How often the lease holder renews it.
const RENEW: Duration = Duration::from_secs(5);
/// Work per round before the lease is renewed again (a round may overrun by one
/// receiver timeout: RENEW + ROUND + timeout stays below LEASE_SECS).
const ROUND: Duration = Duration::from_secs(8);
/// Longest pause between two attempts of one delivery.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How long delivered events and their delivery log are kept.
pub const KEEP: Duration = Duration::from_secs(30 * 24 * 3600);
/// Changes read per dispatch step.
const BATCH: i64 = 200;

/// What happened to a story, as webhook receivers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Became public (first time or again).
    Publish,
    /// A public story was edited.
    Update,
    /// A public story was marked as corrected (public update time changed, content not).
    Correction,
    /// Taken down.
    Unpublish,
    /// Withdrawn for legal reasons.
    Kill,
}

impl EventKind {
    /// The `type` in the payload.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Publish => "publish",
            EventKind::Update => "update",
            EventKind::Correction => "correction",
            EventKind::Unpublish => "unpublish",
            EventKind::Kill => "kill",
        }
    }
}

/// Names the event of a story's current state after `last` was announced
/// (`None`: nothing announced yet); `None` when there is nothing to tell.
/// `corrected`: the story's newest version is a newsroom correction (its
/// revision note says so), which makes a new version a correction, not an update.
pub fn event_for(last: Option<&SentState>, story: &Story, corrected: bool) -> Option<EventKind> {
    let public = story.status == StoryStatus::Published;
    let taken_down = match story.status {
        StoryStatus::Killed => EventKind::Kill,
        _ => EventKind::Unpublish,
    };
    let updated = story.updated_at.map(|t| t.timestamp());
    match last {
        // Never announced: a story public once (maybe pulled by subscribers) is still retracted.
        None if public => Some(EventKind::Publish),
        None if story.status.is_gone() && story.published_at.is_some() => Some(taken_down),
        None => None,
        Some(l) if l.status == StoryStatus::Published.as_str() => {
            if !public {
                Some(taken_down)
            } else if story.version != l.version {
                Some(if corrected { EventKind::Correction } else { EventKind::Update })
            } else if updated != l.updated_at {
                Some(EventKind::Correction)
            } else {
                None
            }
        }
        Some(l) => {
            if public {
                Some(EventKind::Publish)
            } else if story.status == StoryStatus::Killed && l.status != StoryStatus::Killed.as_str() {
                Some(EventKind::Kill)
            } else {
                None
            }
        }
    }
}

/// `v1=<hex>`: the signature of a delivery.
pub fn sign(secret: &str, event_id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of every length");
    mac.update(event_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Pause before attempt `attempts + 1` after `attempts` failures: 1 s doubling, at most [`MAX_BACKOFF`].
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(1, 13) - 1;
    Duration::from_secs(1u64 << exp).min(MAX_BACKOFF)
}

#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    news_id: i64,
    occurred_at: String,
    item: &'a ninjs::Item,
}

/// A name for this process as lease holder.
pub fn holder_id() -> String {
    format!("{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// Turns all new change-log entries into events and outbox rows; returns how many events were made.
/// Safe to run on several nodes: a step whose cursor moved meanwhile writes nothing.
pub async fn dispatch_once(state: &AppState) -> Result<usize, StoreError> {
    dispatch(state, None).await
}

/// [`dispatch_once`], stopping after the batch that passes `deadline`.
async fn dispatch(state: &AppState, deadline: Option<Instant>) -> Result<usize, StoreError> {
    let mut made = 0;
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(made);
        }
        let cursor = state.store.wire_cursor().await?;
        let changes = state.store.changes_since(cursor, BATCH).await?;
        let Some(&(to, _, _)) = changes.last() else { return Ok(made) };
        let mut ids: Vec<i64> = Vec::new();
        for (_, news_id, _) in &changes {
            if !ids.contains(news_id) {
                ids.push(*news_id);
            }
        }
        let sent = state.store.wire_sent(&ids).await?;
        let hooks = state.store.active_webhooks().await?;
        let mut mapper = Mapper::new(state, state.store.editions().await?);
        let mut events = Vec::new();
        let now = Utc::now();
        for id in ids {
            let Some(story) = state.store.story(id).await? else { continue };
            let corrected =
                state.store.revision(id, story.version).await?.is_some_and(|r| r.note.starts_with("correction"));
            let Some(kind) = event_for(sent.get(&id), &story, corrected) else { continue };
            let Some((edition, trail)) = mapper.place(&story).await? else { continue };
            let path = trail.last().map(|s| s.path.clone()).unwrap_or_default();
            let item = mapper.item(&story).await?;
            let event_id = format!("evt_{}", hex::encode(rand::random::<[u8; 16]>()));
            let payload = serde_json::to_string(&Envelope {
                id: &event_id,
                kind: kind.as_str(),
                news_id: id,
                occurred_at: ninjs::time(now),
                item: &item,
            })
            .map_err(|e| StoreError::Invalid(format!("cannot serialize event: {e}")))?;
            events.push(NewWireEvent {
                event_id,
                kind: kind.as_str().into(),
                news_id: id,
                state: SentState {
                    status: story.status.as_str().into(),
                    version: story.version,
                    updated_at: story.updated_at.map(|t| t.timestamp()),
                },
                payload,
                occurred_at: now,
                webhook_ids: hooks.iter().filter(|(_, s)| s.allows(&edition.lang, &path)).map(|(w, _)| w.id).collect(),
            });
        }
        if state.store.commit_wire_events(cursor, to, &events).await? {
            made += events.len();
        } else {
            tracing::info!("another node dispatched these changes; stepping back");
            return Ok(made);
        }
    }
}

/// Sends the due outbox rows once, stopping at `deadline`; returns how many were delivered.
pub async fn deliver_once(state: &AppState, client: &reqwest::Client, deadline: Instant) -> Result<usize, StoreError> {
    let due = state.store.due_deliveries(Utc::now(), 100).await?;
    let mut delivered = 0;
    // A failing endpoint is not tried again in the same round.
    let mut failed: HashMap<i64, ()> = HashMap::new();
    for d in due {
        if Instant::now() >= deadline {
            break;
        }
        if failed.contains_key(&d.webhook_id) {
            continue;
        }
        let timestamp = Utc::now().timestamp();
        let signature = sign(&d.secret, &d.event_id, timestamp, &d.payload);
        let started = Instant::now();
        let result = client
            .post(&d.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, concat!("newsdesk-webhooks/", env!("CARGO_PKG_VERSION")))
            .header("Newsdesk-Webhook-Id", &d.event_id)
            .header("Newsdesk-Webhook-Timestamp", timestamp.to_string())
            .header("Newsdesk-Webhook-Signature", signature)
            .body(d.payload.clone())
            .send()
            .await;
        let duration_ms = started.elapsed().as_millis() as i64;
        let (status, error) = match result {
            Ok(res) => {
                let s = res.status();
                (Some(s.as_u16()), (!s.is_success()).then(|| format!("receiver answered {s}")))
            }
            Err(e) => (None, Some(describe(&e))),
        };
        let ok = error.is_none();
        let wait = backoff(d.attempts + 1);
        let attempt = DeliveryAttempt {
            status,
            error: error.clone(),
            duration_ms,
            delivered: ok,
            next_attempt_at: Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1)),
        };
        state.store.record_delivery(d.outbox_id, &attempt).await?;
        if ok {
            delivered += 1;
            tracing::debug!(event = %d.event_id, kind = %d.kind, news_id = d.news_id, url = %d.url, "webhook delivered");
        } else {
            failed.insert(d.webhook_id, ());
            tracing::warn!(
                event = %d.event_id, url = %d.url, attempt = d.attempts + 1, error = error.as_deref().unwrap_or(""),
                retry_in_secs = wait.as_secs(), "webhook delivery failed"
            );
        }
    }
    Ok(delivered)
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        msg
    }
}

/// The HTTP client for deliveries.
pub fn client(state: &AppState) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(state.config.wire.webhook_timeout)
        .connect_timeout(state.config.wire.webhook_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Dispatches and delivers webhook events while this node holds the lease,
/// every `wire.webhook_poll`. Runs until the task is dropped; call
/// [`release_lease`] at shutdown so another node takes over at once.
pub async fn run_webhooks(state: AppState, holder: String) {
    let client = match client(&state) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks are off");
            return;
        }
    };
    let mut tick = tokio::time::interval(state.config.wire.webhook_poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut leading = false;
    let mut renewed = Instant::now();
    let mut pruned: Option<Instant> = None;
    loop {
        tick.tick().await;
        if !leading || renewed.elapsed() >= RENEW {
            match state.store.try_lease(LEASE, &holder, LEASE_SECS).await {
                Ok(true) => {
                    if !leading {
                        tracing::info!(holder = %holder, "this node dispatches webhooks");
                    }
                    leading = true;
                    renewed = Instant::now();
                }
                Ok(false) => leading = false,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the webhook lease; retrying");
                    leading = false;
                }
            }
        }
        if !leading {
            continue;
        }
        let deadline = Instant::now() + ROUND;
        if let Err(e) = dispatch(&state, Some(deadline)).await {
            newsdesk_storage::outage::warn("webhook dispatch failed; retrying", &e);
        }
        if let Err(e) = deliver_once(&state, &client, deadline).await {
            newsdesk_storage::outage::warn("webhook delivery failed; retrying", &e);
        }
        if pruned.is_none_or(|p| p.elapsed() >= Duration::from_secs(3600)) {
            pruned = Some(Instant::now());
            let before = Utc::now() - chrono::Duration::from_std(KEEP).unwrap_or(chrono::Duration::days(30));
            if let Err(e) = state.store.prune_wire(before).await {
                tracing::warn!(error = %e, "pruning old webhook deliveries failed");
            }
        }
    }
}

/// Gives up the webhook lease (at shutdown).
pub async fn release_lease(state: &AppState, holder: &str) {
    if let Err(e) = state.store.release_lease(LEASE, holder).await {
        tracing::warn!(error = %e, "cannot release the webhook lease; another node takes over when it expires");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use newsdesk_domain::BodyFormat;

    fn story(status: StoryStatus, version: i64, updated: Option<i64>) -> Story {
        let t = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().expect("time");
        Story {
            news_id: 1,
            edition_id: 1,
            section_id: 1,
            slug: "s".into(),
            headline: "h".into(),
            lead: String::new(),
            body_html: String::new(),
            body_source: String::new(),
            body_format: BodyFormat::Text,
            status,
            published_at: Some(t),
            updated_at: updated.map(newsdesk_domain::dates::from_unix),
            created_at: t,
            modified_at: t,
            version,
            photo: None,
            tags: vec![],
            authors: vec![],
        }
    }

    fn sent(status: &str, version: i64, updated: Option<i64>) -> SentState {
        SentState { status: status.into(), version, updated_at: updated }
    }

    #[test]
    fn events_follow_the_story_state() {
        use EventKind::*;
        use StoryStatus::*;
        let p = sent("published", 2, None);
        assert_eq!(event_for(None, &story(Published, 1, None), false), Some(Publish));
        assert_eq!(event_for(None, &story(Draft, 1, None), false), None);
        assert_eq!(event_for(None, &story(Killed, 3, None), false), Some(Kill));
        assert_eq!(event_for(Some(&p), &story(Published, 2, None), false), None);
        assert_eq!(event_for(Some(&p), &story(Published, 3, Some(5)), false), Some(Update));
        assert_eq!(event_for(Some(&p), &story(Published, 2, Some(5)), false), Some(Correction));
        assert_eq!(event_for(Some(&p), &story(Published, 3, Some(5)), true), Some(Correction), "a newsroom correction");
        assert_eq!(event_for(Some(&p), &story(Unpublished, 3, None), false), Some(Unpublish));
        assert_eq!(event_for(Some(&p), &story(Draft, 3, None), false), Some(Unpublish));
        assert_eq!(event_for(Some(&p), &story(Killed, 3, None), false), Some(Kill));
        let u = sent("unpublished", 3, None);
        assert_eq!(event_for(Some(&u), &story(Published, 4, None), false), Some(Publish));
        assert_eq!(event_for(Some(&u), &story(Killed, 4, None), false), Some(Kill));
        assert_eq!(event_for(Some(&u), &story(Unpublished, 4, None), false), None);
        assert_eq!(event_for(Some(&sent("killed", 3, None)), &story(Killed, 4, None), false), None);
    }

    #[test]
    fn signature_is_hmac_sha256_of_id_timestamp_and_body() {
        // The worked example of the README ("For subscribers"), computed there with Python and openssl.
        let id = "evt_0a1b2c3d4e5f60718293a4b5c6d7e8f9";
        let body = r#"{"id":"evt_0a1b2c3d4e5f60718293a4b5c6d7e8f9","type":"kill","news_id":84427}"#;
        let secret = "whsec_5f2b8c1e0d3a4b6c9e7f1a2b3c4d5e6f";
        assert_eq!(
            sign(secret, id, 1721651880, body),
            "v1=2f130974d4470882dddcc91c456e7c52b9cf3223b46e7394c723a4c960358785"
        );
        assert_ne!(sign(secret, id, 1721651881, body), sign(secret, id, 1721651880, body));
        assert_ne!(sign("whsec_other", id, 1721651880, body), sign(secret, id, 1721651880, body));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(100), MAX_BACKOFF);
    }
}
