//! Webhooks: every publish, update, correction, unpublish and kill is POSTed
//! to the subscribers' webhook URLs as a ninjs payload, signed with
//! HMAC-SHA256, from a durable outbox.
//!
//! Two steps, run by the one node that holds the `webhooks` lease:
//!
//! 1. dispatch: follow the change log (`story_changes`, with a gap-aware
//!    [`Follower`]: a change that commits after a later one is still read).
//!    Each change carries the story's state it left; comparing it with the
//!    state of the story's previous change names the change's event (or none:
//!    a draft edit, a comment, a site-wide change). Events are stored with one
//!    outbox row per matching webhook, in one transaction (while no webhook
//!    exists, none is made: only each story's state is kept); an event is unique
//!    per change id, so a change dispatched again (after a restart or a
//!    failover) adds nothing;
//! 2. deliver: one worker per webhook with due rows (at most
//!    [`MAX_CONCURRENT`] at once) POSTs them one at a time, oldest first, so a
//!    story's events arrive in order and a slow receiver delays only itself.
//!    A row is done only after a 2xx answer, otherwise it is tried again after
//!    an exponentially growing pause (1 s, 2 s, 4 s, ... at most an hour).
//!    Every attempt is logged.
//!
//! The lease is renewed by its own task, so a receiver that takes its time
//! never lets it lapse. A node stopped at any moment loses nothing:
//! undelivered rows are sent after the restart (so a receiver may see an
//! event twice and must dedupe on `Newsdesk-Webhook-Id`, or on `change_id`).
//!
//! The request: `POST` with `Content-Type: application/json` and
//!
//! ```text
//! Newsdesk-Webhook-Id: evt_...             the event id (idempotency key), also "id" in the body
//! Newsdesk-Webhook-Timestamp: 1721651880   unix seconds of this attempt
//! Newsdesk-Webhook-Signature: v1=<hex HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>
//! ```
//!
//! and the body `{"id", "type", "change_id", "news_id", "occurred_at", "item": {ninjs}}`,
//! the item showing the story as it was at that change.
//!
//! Who gets an event is judged by [`crate::wire::access::Access`], as for
//! pulls (editions, sections, product). A scheduled story released to the
//! wire ahead of its time is announced (`publish`, then `update`s, with
//! `embargoed` in the item) only to subscribers that take embargoed copy, and
//! so is its withdrawal when it is unscheduled (`unpublish`); its publication
//! at its time goes to everyone it matches.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use hmac::{Hmac, Mac};
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::{BodyFormat, NewsId, Story, StoryStatus, ninjs};
use newsdesk_storage::{
    DeliveryAttempt, DueDelivery, EMBARGOED, Follower, LoggedChange, NewWireEvent, SITE_CHANGE, SentState, StoreError,
    WireMark,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::AppState;
use crate::wire::Mapper;
use crate::wire::access::Access;

pub mod target;

/// Name of the lease that makes one node the dispatcher.
pub const LEASE: &str = "webhooks";
/// How long a lease holds without renewal; a node that died is replaced after this.
pub const LEASE_SECS: i64 = 20;
/// How often the lease holder renews it.
const RENEW: Duration = Duration::from_secs(5);
/// Dispatch work per round before deliveries are started (a long backlog is
/// dispatched over several rounds).
const ROUND: Duration = Duration::from_secs(2);
/// Most webhooks delivered to at once (one request in flight each).
pub const MAX_CONCURRENT: usize = 32;
/// Due rows a webhook's worker reads at once.
const WORKER_BATCH: i64 = 20;
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
    event_for_copy(last, story, corrected, false)
}

/// [`event_for`] where `embargoed` says the story is scheduled and released
/// to the wire (embargoed copy, announced like a public story).
pub fn event_for_copy(last: Option<&SentState>, story: &Story, corrected: bool, embargoed: bool) -> Option<EventKind> {
    let public = story.status == StoryStatus::Published;
    if embargoed {
        return match last {
            Some(l) if l.status == EMBARGOED || l.status == StoryStatus::Published.as_str() => {
                (story.version != l.version).then_some(EventKind::Update)
            }
            _ => Some(EventKind::Publish),
        };
    }
    if last.is_some_and(|l| l.status == EMBARGOED) && !public {
        // Taken off the schedule after subscribers had the embargoed copy.
        return Some(if story.status == StoryStatus::Killed { EventKind::Kill } else { EventKind::Unpublish });
    }
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
    change_id: i64,
    news_id: i64,
    occurred_at: String,
    item: &'a ninjs::Item,
}

/// A name for this process as lease holder: `{process id}-{random}`, so an
/// operator (or a test) sees which node holds the lease.
pub fn holder_id() -> String {
    format!("{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// The event id of a change: the same whoever dispatches it and however
/// often (receivers dedupe on it), and unlike the change id alone not reused
/// by another database whose change ids overlap (a restored backup).
pub fn event_id(change: &LoggedChange) -> String {
    let digest = Sha256::digest(format!("{}.{}.{}", change.id, change.news_id, change.changed_at).as_bytes());
    format!("evt_{}_{}", change.id, &hex::encode(digest)[..12])
}

/// Follows the change log and turns its changes into events; the stored
/// cursor is its watermark.
pub struct Dispatcher {
    follower: Follower,
    /// The watermark last written to the database.
    stored: i64,
}

impl Dispatcher {
    /// A dispatcher starting at the stored cursor (changes above it that
    /// were dispatched before are recognised per story and skipped).
    pub async fn start(state: &AppState) -> Result<Dispatcher, StoreError> {
        let stored = state.store.wire_cursor().await?;
        let follower = Follower::new("webhooks", state.store.clone(), stored, state.config.wire.webhook_poll);
        Ok(Dispatcher { follower, stored })
    }

    /// Changes the dispatcher knows of but has not passed yet.
    pub fn lag(&self) -> i64 {
        self.follower.lag()
    }

    /// Dispatches new changes until there are none or `deadline` passes;
    /// returns how many events were made.
    pub async fn run(&mut self, state: &AppState, deadline: Option<Instant>) -> Result<usize, StoreError> {
        let mut made = 0;
        loop {
            let fresh = self.follower.fetch(BATCH).await?;
            if fresh.is_empty() {
                self.follower.tick();
                break;
            }
            let ids: Vec<i64> = fresh.iter().map(|c| c.id).collect();
            let changes = state.store.logged_changes(&ids).await?;
            let (marks, events) = events_for(state, &changes).await?;
            made += state.store.commit_wire_events(&marks, &events).await?;
            self.follower.mark_applied(ids);
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
        }
        let applied = self.follower.applied();
        if applied > self.stored {
            state.store.advance_wire_cursor(applied).await?;
            self.stored = applied;
        }
        Ok(made)
    }

    /// Sleeps until the change log may have grown (or the poll interval passed).
    pub async fn wait(&mut self) {
        self.follower.wait().await;
    }
}

/// Turns all new change-log entries into events and outbox rows; returns how many events were made.
/// Safe to run on several nodes and again after a stop: each change is announced once.
pub async fn dispatch_once(state: &AppState) -> Result<usize, StoreError> {
    Dispatcher::start(state).await?.run(state, None).await
}

/// The events of `changes` (in id order) and the last change handled per story.
async fn events_for(
    state: &AppState,
    changes: &[LoggedChange],
) -> Result<(Vec<(NewsId, WireMark)>, Vec<NewWireEvent>), StoreError> {
    let story_changes: Vec<&LoggedChange> =
        changes.iter().filter(|c| c.news_id != SITE_CHANGE && !c.comment_only).collect();
    let mut ids: Vec<NewsId> = story_changes.iter().map(|c| c.news_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut last = state.store.wire_sent(&ids).await?;
    let products = state.store.products().await?;
    let hooks: Vec<(i64, Access)> = state
        .store
        .active_webhooks()
        .await?
        .into_iter()
        .map(|(w, s)| {
            let product = s.product_id.and_then(|id| products.iter().find(|p| p.id == id).cloned());
            (w.id, Access { subscriber: s, product })
        })
        .collect();
    let mut touched: Vec<NewsId> = Vec::new();
    if hooks.is_empty() {
        // No webhook to tell: an event would reach no one (a webhook added
        // later gets the events from then on), so none is made. Each story's
        // mark still moves on, so its next event's kind (published, updated,
        // corrected, withdrawn) is judged against the state it was in. This is
        // what keeps a first start on a filled archive short: 1,000,000 stored
        // stories were 1,000,000 events of their ninjs, 2,200 a second.
        for c in story_changes {
            if last.get(&c.news_id).is_some_and(|m| m.change_id >= c.id) {
                continue;
            }
            let at = match &c.state {
                Some(at) => at.clone(),
                None => match state.store.story(c.news_id).await? {
                    Some(current) => state_of(&current),
                    None => continue,
                },
            };
            last.insert(c.news_id, WireMark { change_id: c.id, state: at });
            if !touched.contains(&c.news_id) {
                touched.push(c.news_id);
            }
        }
        let marks = touched.into_iter().filter_map(|id| last.remove(&id).map(|m| (id, m))).collect();
        return Ok((marks, Vec::new()));
    }
    let mut mapper = Mapper::new(state, state.store.editions().await?);
    let mut events = Vec::new();
    for c in story_changes {
        // A story's changes are dispatched in id order (which is their commit
        // order): one at or below its mark was dispatched before.
        let previous = last.get(&c.news_id).map(|m| m.state.clone());
        if last.get(&c.news_id).is_some_and(|m| m.change_id >= c.id) {
            continue;
        }
        let Some(current) = state.store.story(c.news_id).await? else { continue };
        // Changes recorded before the log kept the state: the story's current one.
        let at = c.state.clone().unwrap_or_else(|| state_of(&current));
        let embargoed = at.status == EMBARGOED;
        let until = match embargoed {
            true => state.store.story_extras(c.news_id).await?.and_then(|e| e.scheduled_at).or(current.published_at),
            false => None,
        };
        let (story, corrected) = story_at(state, current, &at).await?;
        last.insert(c.news_id, WireMark { change_id: c.id, state: at.clone() });
        if !touched.contains(&c.news_id) {
            touched.push(c.news_id);
        }
        let Some(kind) = event_for_copy(previous.as_ref(), &story, corrected, embargoed) else { continue };
        let Some((edition, trail)) = mapper.place(&story).await? else { continue };
        let path = trail.last().map(|s| s.path.clone()).unwrap_or_default();
        if let Some(until) = until {
            mapper.set_embargo(story.news_id, until);
        }
        // Embargoed copy, and its withdrawal, go only to subscribers that take it.
        let embargo_only = embargoed
            || (previous.as_ref().is_some_and(|p| p.status == EMBARGOED) && story.status != StoryStatus::Published);
        let item = mapper.item(&story).await?;
        let event_id = event_id(c);
        let occurred_at = from_unix(c.changed_at);
        let payload = serde_json::to_string(&Envelope {
            id: &event_id,
            kind: kind.as_str(),
            change_id: c.id,
            news_id: c.news_id,
            occurred_at: ninjs::time(occurred_at),
            item: &item,
        })
        .map_err(|e| StoreError::Invalid(format!("cannot serialize event: {e}")))?;
        events.push(NewWireEvent {
            event_id,
            change_id: c.id,
            kind: kind.as_str().into(),
            news_id: c.news_id,
            state: at,
            payload,
            occurred_at,
            webhook_ids: hooks
                .iter()
                .filter(|(_, a)| (!embargo_only || a.subscriber.embargo) && a.allows(&story, &edition.lang, &path))
                .map(|(w, _)| *w)
                .collect(),
        });
    }
    let marks = touched.into_iter().filter_map(|id| last.remove(&id).map(|m| (id, m))).collect();
    Ok((marks, events))
}

/// The state `story` is in now, as the wire marks it.
fn state_of(story: &Story) -> SentState {
    SentState {
        status: story.status.as_str().into(),
        version: story.version,
        updated_at: story.updated_at.map(|t| t.timestamp()),
    }
}

/// The story as it was at a change that left it in state `at`: its status,
/// version and public update time from the change, its headline, lead, body,
/// section and slug from the newest revision at or before that version (a
/// status change alone makes no revision); photo, tags and authors as they
/// are now. Also whether that version is a newsroom correction.
async fn story_at(state: &AppState, mut story: Story, at: &SentState) -> Result<(Story, bool), StoreError> {
    if at.status == EMBARGOED {
        story.status = StoryStatus::Scheduled;
    } else if let Some(status) = StoryStatus::parse(&at.status) {
        story.status = status;
    }
    story.version = at.version;
    story.updated_at = at.updated_at.map(from_unix);
    let mut corrected = false;
    if let Some(r) = state.store.revision_at(story.news_id, at.version).await? {
        corrected = r.version == at.version && r.note.starts_with("correction");
        let format = BodyFormat::parse(&r.body_format).unwrap_or(story.body_format);
        if r.body_source != story.body_source || format != story.body_format {
            story.body_html = match state.store.render_body(format, &r.body_source).await {
                Ok(html) => html,
                // A photo or gallery removed since: the body without it.
                Err(_) => format.render(&r.body_source),
            };
        }
        story.body_format = format;
        story.body_source = r.body_source;
        story.headline = r.headline;
        story.lead = r.lead;
        story.section_id = r.section_id;
        story.slug = r.slug;
    }
    Ok((story, corrected))
}

/// Sends one delivery. A failure is an outcome, not an error: the attempt says what went wrong.
/// A URL whose host is not a public address (and not allowed) is not tried at
/// all: [`target::check_literal`] here, the client's [`target::PublicResolver`] for names.
async fn post(state: &AppState, client: &reqwest::Client, d: &DueDelivery) -> DeliveryAttempt {
    let timestamp = Utc::now().timestamp();
    let signature = sign(&d.secret, &d.event_id, timestamp, &d.payload);
    let started = Instant::now();
    if let Err(refused) = target::check_literal(&d.url, &state.config.wire.webhook_allow_hosts) {
        return failed_attempt(d, refused.to_string(), 0);
    }
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
    match error {
        Some(error) => DeliveryAttempt { status, ..failed_attempt(d, error, duration_ms) },
        None => DeliveryAttempt { status, error: None, duration_ms, delivered: true, next_attempt_at: Utc::now() },
    }
}

/// A failed attempt of `d`, tried again after its backoff.
fn failed_attempt(d: &DueDelivery, error: String, duration_ms: i64) -> DeliveryAttempt {
    let wait = backoff(d.attempts + 1);
    DeliveryAttempt {
        status: None,
        error: Some(error),
        duration_ms,
        delivered: false,
        next_attempt_at: Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1)),
    }
}

/// Records an attempt (delivery log and outbox row) and logs it: the one place
/// where each delivery's outcome and latency per subscriber are known.
async fn record(state: &AppState, d: &DueDelivery, a: &DeliveryAttempt) -> Result<(), StoreError> {
    state.store.record_delivery(d.outbox_id, a).await?;
    // Subscribers are few and named by the operator: a bounded label.
    let outcome = if a.delivered { "delivered" } else { "failed" };
    metrics::counter!("newsdesk_webhook_deliveries_total", "subscriber" => d.subscriber.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!(crate::metrics::WEBHOOK_DURATION, "subscriber" => d.subscriber.clone())
        .record(a.duration_ms as f64 / 1000.0);
    if a.delivered {
        tracing::debug!(
            event = %d.event_id, kind = %d.kind, news_id = d.news_id, subscriber = %d.subscriber, url = %d.url,
            duration_ms = a.duration_ms, "webhook delivered"
        );
    } else {
        tracing::warn!(
            event = %d.event_id, subscriber = %d.subscriber, url = %d.url, attempt = d.attempts + 1,
            error = a.error.as_deref().unwrap_or(""), duration_ms = a.duration_ms,
            retry_in_secs = backoff(d.attempts + 1).as_secs(), "webhook delivery failed"
        );
    }
    Ok(())
}

/// Delivers the due rows of one webhook, one request at a time and oldest
/// first, until none is due or one fails (a failing endpoint waits for its
/// backoff before it is tried again). Returns how many were delivered.
pub async fn deliver_webhook(state: &AppState, client: &reqwest::Client, webhook_id: i64) -> Result<usize, StoreError> {
    let mut delivered = 0;
    loop {
        let due = state.store.due_deliveries_of(webhook_id, Utc::now(), WORKER_BATCH).await?;
        if due.is_empty() {
            return Ok(delivered);
        }
        for d in due {
            let attempt = post(state, client, &d).await;
            record(state, &d, &attempt).await?;
            if !attempt.delivered {
                return Ok(delivered);
            }
            delivered += 1;
        }
    }
}

/// Starts a worker for each webhook with due rows that has none yet, up to [`MAX_CONCURRENT`] in all.
async fn start_workers(
    state: &AppState,
    client: &reqwest::Client,
    workers: &mut JoinSet<(i64, Result<usize, StoreError>)>,
    busy: &mut HashSet<i64>,
) -> Result<(), StoreError> {
    for webhook_id in state.store.due_webhooks(Utc::now()).await? {
        if busy.len() >= MAX_CONCURRENT {
            break;
        }
        if !busy.insert(webhook_id) {
            continue;
        }
        let (state, client) = (state.clone(), client.clone());
        workers.spawn(async move { (webhook_id, deliver_webhook(&state, &client, webhook_id).await) });
    }
    Ok(())
}

/// Notes a finished worker.
fn reap(done: Result<(i64, Result<usize, StoreError>), tokio::task::JoinError>, busy: &mut HashSet<i64>) {
    match done {
        Ok((webhook_id, result)) => {
            busy.remove(&webhook_id);
            if let Err(e) = result {
                tracing::warn!(webhook = webhook_id, error = %e, "webhook delivery stopped; retrying");
            }
        }
        Err(e) => tracing::error!(error = %e, "a webhook worker failed"),
    }
}

/// Sends every due outbox row now, each webhook's rows by its own worker, all
/// webhooks at once (up to [`MAX_CONCURRENT`]); returns how many were delivered.
pub async fn deliver_once(state: &AppState, client: &reqwest::Client) -> Result<usize, StoreError> {
    let mut workers = JoinSet::new();
    let mut busy = HashSet::new();
    start_workers(state, client, &mut workers, &mut busy).await?;
    let mut delivered = 0;
    while let Some(done) = workers.join_next().await {
        if let Ok((_, Ok(n))) = &done {
            delivered += n;
        }
        reap(done, &mut busy);
    }
    Ok(delivered)
}

/// What the delivery log says of a failed request: a refused target in the
/// same words whatever it is ([`target::REFUSED`]), no addresses.
fn describe(e: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<target::Refused>() {
            return target::REFUSED.into();
        }
        source = s.source();
    }
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

/// The HTTP client for deliveries: no redirects, no proxy (a proxy would
/// resolve the receiver's name itself, unchecked), names resolved by
/// [`target::PublicResolver`].
pub fn client(state: &AppState) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(state.config.wire.webhook_timeout)
        .connect_timeout(state.config.wire.webhook_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(std::sync::Arc::new(target::PublicResolver::new(state.config.wire.webhook_allow_hosts.clone())))
        .build()
}

/// Takes and renews the lease, publishing whether this node holds it. On its
/// own task: no dispatch or delivery work can delay a renewal.
async fn keep_lease(state: AppState, holder: String, held: watch::Sender<bool>) {
    loop {
        let ok = match state.store.try_lease(LEASE, &holder, LEASE_SECS).await {
            Ok(ok) => ok,
            Err(e) => {
                if *held.borrow() {
                    tracing::warn!(error = %e, "cannot renew the webhook lease; pausing webhooks");
                }
                false
            }
        };
        if ok != *held.borrow() {
            if ok {
                tracing::info!(holder = %holder, "this node dispatches webhooks");
            } else {
                tracing::info!(holder = %holder, "this node no longer dispatches webhooks");
            }
        }
        held.send_replace(ok);
        tokio::time::sleep(if ok { RENEW } else { state.config.wire.webhook_poll }).await;
    }
}

/// Dispatches and delivers webhook events while this node holds the lease:
/// dispatch as soon as the change log grows (notification or every
/// `wire.webhook_poll`), deliveries by one worker per webhook. Runs until the
/// task is dropped (which stops its workers); call [`release_lease`] at
/// shutdown so another node takes over at once.
pub async fn run_webhooks(state: AppState, holder: String) {
    let client = match client(&state) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks are off");
            return;
        }
    };
    let (held_tx, mut held) = watch::channel(false);
    // Dropped with this task: the lease keeper stops too.
    let mut lease = JoinSet::new();
    lease.spawn(keep_lease(state.clone(), holder, held_tx));
    let poll = state.config.wire.webhook_poll;
    let mut pruned: Option<Instant> = None;
    loop {
        if held.wait_for(|h| *h).await.is_err() {
            return;
        }
        let mut dispatcher = match Dispatcher::start(&state).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the webhook dispatcher; retrying");
                tokio::time::sleep(poll).await;
                continue;
            }
        };
        let mut workers = JoinSet::new();
        let mut busy = HashSet::new();
        let mut checked: Option<Instant> = None;
        let mut wake_workers = true;
        while *held.borrow() {
            match dispatcher.run(&state, Some(Instant::now() + ROUND)).await {
                Ok(made) => wake_workers |= made > 0,
                Err(e) => newsdesk_storage::outage::warn("webhook dispatch failed; retrying", &e),
            }
            // Retries come due with time: look at least every poll.
            if wake_workers || checked.is_none_or(|c| c.elapsed() >= poll) {
                checked = Some(Instant::now());
                wake_workers = false;
                if let Err(e) = start_workers(&state, &client, &mut workers, &mut busy).await {
                    newsdesk_storage::outage::warn("cannot read due webhook deliveries; retrying", &e);
                }
            }
            if pruned.is_none_or(|p| p.elapsed() >= Duration::from_secs(3600)) {
                pruned = Some(Instant::now());
                let before = Utc::now() - chrono::Duration::from_std(KEEP).unwrap_or(chrono::Duration::days(30));
                if let Err(e) = state.store.prune_wire(before).await {
                    tracing::warn!(error = %e, "pruning old webhook deliveries failed");
                }
            }
            tokio::select! {
                () = dispatcher.wait() => {}
                Some(done) = workers.join_next(), if !workers.is_empty() => {
                    reap(done, &mut busy);
                    // A worker that ran out of due rows may have missed some made meanwhile.
                    wake_workers = true;
                }
                changed = held.changed() => {
                    if changed.is_err() {
                        tracing::error!("the webhook lease keeper stopped; webhooks are off");
                        return;
                    }
                }
            }
        }
        // The lease is gone: another node delivers from now on.
        workers.abort_all();
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
            agency: Default::default(),
            published_at: Some(t),
            updated_at: updated.map(newsdesk_domain::dates::from_unix),
            created_at: t,
            modified_at: t,
            version,
            photo: None,
            tags: vec![],
            authors: vec![],
            live_since: None,
            live_until: None,
            gallery_id: None,
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
    fn an_event_id_is_made_from_its_change_alone() {
        let change = |id, changed_at| LoggedChange {
            id,
            news_id: 84427,
            edition_id: 1,
            changed_at,
            comment_only: false,
            state: Some(sent("published", 2, None)),
        };
        let id = event_id(&change(1234, 1_721_651_880));
        assert!(id.starts_with("evt_1234_") && id.len() == "evt_1234_".len() + 12, "{id}");
        assert_eq!(event_id(&change(1234, 1_721_651_880)), id, "a re-dispatch names the same event");
        // The same change id in another database (a restored backup) names another event.
        assert_ne!(event_id(&change(1234, 1_721_651_881)), id);
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(100), MAX_BACKOFF);
    }
}
