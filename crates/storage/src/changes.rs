//! Following the change log (`story_changes`): one shape for every part of
//! the system that reacts to changes (the page cache of each node, each
//! node's search index, the webhook dispatcher).
//!
//! Change ids come from a sequence taken at insert. On PostgreSQL a
//! transaction that took id 10 may commit after one that took id 11, so
//! "everything up to the highest id seen" would skip 10 for good. A
//! [`ChangeCursor`] therefore advances its watermark only over ids it has
//! applied, waits for a missing id for [`GAP_WAIT`] (after which it was a
//! rolled-back transaction), and keeps re-reading what lies above the
//! watermark without applying twice what it already did.
//!
//! A [`Follower`] wakes when the log grows: on PostgreSQL every transaction
//! that records a change sends `NOTIFY newsdesk_changes` (delivered at
//! commit, to every node), and each store keeps one `LISTEN` connection; the
//! follower also polls every `poll` as a fallback for notifications lost
//! while that connection was down. On SQLite (one node) it polls.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use newsdesk_domain::NewsId;
use sqlx::{AnyConnection, Row};
use tokio::sync::watch;

use crate::{Backend, Result, Store};

/// How long a missing change id is waited for before it is taken as rolled back.
pub const GAP_WAIT: Duration = Duration::from_secs(30);
/// How soon a follower looks again while a gap is open (its transaction is usually committing).
const GAP_RECHECK: Duration = Duration::from_millis(20);
/// The PostgreSQL notification channel of the change log.
pub const CHANNEL: &str = "newsdesk_changes";

/// One entry of the change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The change id (increasing in insert order, not in commit order).
    pub id: i64,
    /// The story changed, or [`crate::SITE_CHANGE`] for a site-wide change.
    pub news_id: NewsId,
    /// The edition the change belongs to.
    pub edition_id: i64,
    /// A curated front of the edition was published (the news id is
    /// [`crate::SITE_CHANGE`], but only the edition's fronts are stale).
    pub front: bool,
    /// Only the edition's shared page fragments changed (a breaking-news
    /// banner, see [`crate::BREAKING_CHANGE`]): no page shows anything new of the story.
    pub chrome_only: bool,
}

/// Which changes of the log a follower has applied.
#[derive(Debug, Clone)]
pub struct ChangeCursor {
    /// Every change id up to this one is applied.
    applied: i64,
    /// Applied ids above the watermark (waiting for a gap below them to close).
    seen: BTreeSet<i64>,
    /// Missing ids below a seen one, with when they were first missed.
    gaps: HashMap<i64, Instant>,
}

impl ChangeCursor {
    /// A cursor for which every change up to `applied` is done.
    pub fn new(applied: i64) -> ChangeCursor {
        ChangeCursor { applied, seen: BTreeSet::new(), gaps: HashMap::new() }
    }

    /// The watermark: every change up to it is applied.
    pub fn applied(&self) -> i64 {
        self.applied
    }

    /// Whether change `id` is still to be applied.
    pub fn is_new(&self, id: i64) -> bool {
        id > self.applied && !self.seen.contains(&id)
    }

    /// Whether a change id below an applied one is still missing.
    pub fn has_gap(&self) -> bool {
        !self.seen.is_empty()
    }

    /// How many ids up to `head` are not applied yet.
    pub fn behind(&self, head: i64) -> i64 {
        (head - self.applied - self.seen.len() as i64).max(0)
    }

    /// Records change ids as applied and moves the watermark as far as it can:
    /// over applied ids, and over ids missing for longer than [`GAP_WAIT`].
    pub fn mark_applied(&mut self, ids: impl IntoIterator<Item = i64>, now: Instant) {
        self.seen.extend(ids.into_iter().filter(|&id| id > self.applied));
        while !self.seen.is_empty() {
            let next = self.applied + 1;
            if self.seen.remove(&next) {
                self.applied = next;
                self.gaps.remove(&next);
                continue;
            }
            // `next` is missing but a later id was applied: a gap.
            let since = *self.gaps.entry(next).or_insert(now);
            if now.duration_since(since) >= GAP_WAIT {
                tracing::warn!(change = next, "change id never appeared; taking it as rolled back");
                self.gaps.remove(&next);
                self.applied = next;
                continue;
            }
            break;
        }
    }
}

/// Wakes followers when the change log may have grown.
#[derive(Debug)]
pub(crate) struct ChangeSignal {
    tx: watch::Sender<u64>,
    listening: AtomicBool,
}

impl ChangeSignal {
    pub(crate) fn new() -> ChangeSignal {
        ChangeSignal { tx: watch::Sender::new(0), listening: AtomicBool::new(false) }
    }

    fn bump(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Tells other nodes, at commit, that the log grew (PostgreSQL; nothing on SQLite).
pub(crate) async fn notify_change(conn: &mut AnyConnection) -> Result<()> {
    if crate::Backend::of(conn) == crate::Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, '')").bind(CHANNEL).execute(conn).await?;
    }
    Ok(())
}

impl Store {
    /// Story changes after change id `after`, oldest first.
    pub async fn changes_after(&self, after: i64, limit: i64) -> Result<Vec<Change>> {
        let rows =
            sqlx::query("SELECT id, news_id, edition_id, kind FROM story_changes WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Change {
                    id: r.try_get("id")?,
                    news_id: r.try_get("news_id")?,
                    edition_id: r.try_get("edition_id")?,
                    front: r.try_get::<String, _>("kind")? == crate::fronts::FRONT_CHANGE,
                    chrome_only: r.try_get::<String, _>("kind")? == crate::BREAKING_CHANGE,
                })
            })
            .collect()
    }

    /// A receiver that changes when the change log may have grown (PostgreSQL
    /// notifications; on SQLite it never changes and followers poll). Starts
    /// this store's `LISTEN` connection on first use.
    pub fn change_signal(&self) -> watch::Receiver<u64> {
        let signal = &self.signal;
        if self.backend == Backend::Postgres && !signal.listening.swap(true, Ordering::AcqRel) {
            tokio::spawn(listen(self.clone()));
        }
        signal.tx.subscribe()
    }
}

/// Keeps a `LISTEN` connection open while the store's pool is, turning
/// notifications into signal bumps; reconnects after a loss (and bumps then,
/// as notifications may have been missed meanwhile).
async fn listen(store: Store) {
    let mut logged_down = false;
    while !store.pool.is_closed() {
        let mut listener = match sqlx::postgres::PgListener::connect(&store.url).await {
            Ok(l) => l,
            Err(e) => {
                if !logged_down {
                    tracing::warn!(error = %e, "cannot listen for changes; polling until the database answers");
                    logged_down = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        if logged_down {
            tracing::info!("listening for changes again");
            logged_down = false;
        }
        store.signal.bump();
        loop {
            tokio::select! {
                n = listener.try_recv() => match n {
                    Ok(Some(_)) => store.signal.bump(),
                    // The connection was lost; `try_recv` reconnects on its next call.
                    Ok(None) => store.signal.bump(),
                    Err(e) => {
                        tracing::debug!(error = %e, "change notifications interrupted");
                        break;
                    }
                },
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    if store.pool.is_closed() {
                        return;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A follower of the change log: fetches the changes it has not applied yet,
/// in id order, and sleeps until the log may have grown.
pub struct Follower {
    name: &'static str,
    store: Store,
    cursor: ChangeCursor,
    signal: watch::Receiver<u64>,
    poll: Duration,
    head: i64,
}

impl Follower {
    /// A follower named `name` (for logs and metrics) for which every change
    /// up to `applied` is done, polling every `poll` besides notifications.
    pub fn new(name: &'static str, store: Store, applied: i64, poll: Duration) -> Follower {
        let signal = store.change_signal();
        Follower { name, store, cursor: ChangeCursor::new(applied), signal, poll, head: applied }
    }

    /// The follower's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The watermark: every change up to it is applied.
    pub fn applied(&self) -> i64 {
        self.cursor.applied()
    }

    /// How many changes the follower knows of but has not applied yet (ids
    /// up to the newest it read; also published as `newsdesk_changes_lag`).
    pub fn lag(&self) -> i64 {
        self.cursor.behind(self.head)
    }

    fn report(&self) {
        metrics::gauge!("newsdesk_changes_lag", "follower" => self.name).set(self.lag() as f64);
    }

    /// Up to `limit` changes not yet applied, oldest first (call
    /// [`Follower::mark_applied`] once they are).
    pub async fn fetch(&mut self, limit: i64) -> Result<Vec<Change>> {
        let mut fresh = Vec::new();
        let mut after = self.cursor.applied();
        loop {
            let batch = self.store.changes_after(after, limit).await?;
            let full = batch.len() as i64 == limit;
            if let Some(last) = batch.last() {
                after = last.id;
                self.head = self.head.max(last.id);
            }
            fresh.extend(batch.into_iter().filter(|c| self.cursor.is_new(c.id)));
            if !full || fresh.len() as i64 >= limit {
                self.report();
                return Ok(fresh);
            }
        }
    }

    /// Records changes as applied.
    pub fn mark_applied(&mut self, ids: impl IntoIterator<Item = i64>) {
        let ids: Vec<i64> = ids.into_iter().filter(|&id| self.cursor.is_new(id)).collect();
        metrics::counter!("newsdesk_changes_applied_total", "follower" => self.name).increment(ids.len() as u64);
        self.cursor.mark_applied(ids, Instant::now());
        self.report();
    }

    /// Lets gaps that waited long enough close even when nothing new was applied.
    pub fn tick(&mut self) {
        self.cursor.mark_applied([], Instant::now());
        self.report();
    }

    /// Sleeps until the log may have grown: a notification, the poll interval,
    /// or soon when a gap is open (its transaction is usually committing).
    pub async fn wait(&mut self) {
        let timeout = if self.cursor.has_gap() { GAP_RECHECK } else { self.poll };
        let _ = tokio::time::timeout(timeout, self.signal.changed()).await;
        self.signal.mark_unchanged();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_moves_over_contiguous_ids() {
        let mut c = ChangeCursor::new(0);
        let t = Instant::now();
        c.mark_applied([1, 2, 3], t);
        assert_eq!(c.applied(), 3);
        assert!(!c.is_new(2));
        assert!(c.is_new(4));
    }

    #[test]
    fn a_gap_holds_the_watermark_until_it_fills_or_times_out() {
        let t = Instant::now();
        let mut c = ChangeCursor::new(0);
        c.mark_applied([1, 3, 4], t);
        assert_eq!(c.applied(), 1);
        assert!(c.has_gap());
        // 3 and 4 are done and not applied again; 2 still is new.
        assert!(!c.is_new(3) && !c.is_new(4) && c.is_new(2));
        assert_eq!(c.behind(4), 1, "only 2 is missing");
        c.mark_applied([2], t + Duration::from_secs(1));
        assert_eq!(c.applied(), 4);
        assert!(!c.has_gap());
        assert_eq!(c.behind(6), 2);

        let mut c = ChangeCursor::new(10);
        c.mark_applied([12], t);
        assert_eq!(c.applied(), 10);
        c.mark_applied([], t + GAP_WAIT / 2);
        assert_eq!(c.applied(), 10);
        c.mark_applied([], t + GAP_WAIT);
        assert_eq!(c.applied(), 12);
    }
}
