//! Keeping the index in step with the database: a full rebuild, and applying
//! the change log (`story_changes`) from the last change the index recorded.
//!
//! Change ids come from a sequence. On PostgreSQL a transaction that took id 10
//! may commit after one that took id 11, so "everything up to the highest id
//! seen" would skip 10 for good. The [`ChangeCursor`] therefore only advances its
//! watermark over ids it has applied, waits for a missing id for [`GAP_WAIT`]
//! (after which it was a rolled-back transaction), and re-reads what lies
//! above. Applying a change re-reads the story, so applying one twice is harmless.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use newsdesk_domain::NewsId;
use newsdesk_storage::Store;

use crate::{Result, SearchError, SearchIndex};

/// How long a missing change id is waited for before it is taken as rolled back.
pub const GAP_WAIT: Duration = Duration::from_secs(30);
/// Changes read from the log at once.
const BATCH: i64 = 500;
/// Stories read from the database at once during a rebuild.
const REBUILD_PAGE: i64 = 1000;

/// Which changes of the log the index has applied.
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

    fn is_new(&self, id: i64) -> bool {
        id > self.applied && !self.seen.contains(&id)
    }

    /// Records change ids as applied and moves the watermark as far as it can:
    /// over applied ids, and over ids missing for longer than [`GAP_WAIT`].
    pub fn mark_applied(&mut self, ids: impl IntoIterator<Item = i64>, now: Instant) {
        self.seen.extend(ids.into_iter().filter(|&id| id > self.applied));
        while let Some(&highest) = self.seen.last() {
            let next = self.applied + 1;
            if self.seen.remove(&next) {
                self.applied = next;
                self.gaps.remove(&next);
                continue;
            }
            // `next` is missing but a later id was applied: a gap.
            let since = *self.gaps.entry(next).or_insert(now);
            if now.duration_since(since) >= GAP_WAIT {
                tracing::debug!(change = next, "change id never appeared; taking it as rolled back");
                self.gaps.remove(&next);
                self.applied = next;
                continue;
            }
            debug_assert!(highest > next);
            break;
        }
    }
}

/// Rebuilds the index from the database: every published story, then one
/// commit (searches see the old index until then). Returns the number of stories.
pub async fn reindex_all(index: &Arc<SearchIndex>, store: &Store) -> Result<u64> {
    // Changes made while the rebuild runs are applied afterwards from here.
    let start = store.last_change_id().await?;
    index.set_followed(store.database_identity().await?, store.change_mark_at_or_below(start).await?);
    index.clear()?;
    let mut after: NewsId = 0;
    let mut count = 0u64;
    loop {
        let page = store.indexable_stories(after, REBUILD_PAGE).await?;
        let Some(last) = page.last().map(|s| s.news_id) else { break };
        let idx = Arc::clone(index);
        count += blocking(move || {
            for s in &page {
                idx.index_story(s)?;
            }
            Ok(page.len() as u64)
        })
        .await?;
        after = last;
    }
    let idx = Arc::clone(index);
    blocking(move || idx.commit_applied(Some(start))).await?;
    tracing::info!(stories = count, "search index rebuilt");
    Ok(count)
}

/// Applies the change log after `cursor` to the index and commits (recording
/// the new watermark). Returns the number of changes applied.
pub async fn update(index: &Arc<SearchIndex>, store: &Store, cursor: &mut ChangeCursor) -> Result<usize> {
    let mut applied = 0;
    loop {
        let changes = store.changes_since(cursor.applied(), BATCH).await?;
        let fresh: Vec<(i64, NewsId)> =
            changes.iter().filter(|(id, _, _)| cursor.is_new(*id)).map(|&(id, news_id, _)| (id, news_id)).collect();
        let before = cursor.applied();
        if !fresh.is_empty() {
            let mut news_ids: Vec<NewsId> = fresh.iter().map(|&(_, n)| n).collect();
            news_ids.sort_unstable();
            news_ids.dedup();
            let mut stories = Vec::with_capacity(news_ids.len());
            for news_id in news_ids {
                stories.push((news_id, store.indexable_story(news_id).await?));
            }
            let idx = Arc::clone(index);
            blocking(move || {
                for (news_id, story) in &stories {
                    match story {
                        Some(s) => idx.index_story(s)?,
                        None => idx.remove(*news_id)?,
                    }
                }
                Ok(())
            })
            .await?;
            applied += fresh.len();
        }
        cursor.mark_applied(fresh.iter().map(|&(id, _)| id), Instant::now());
        if !fresh.is_empty() || cursor.applied() != before {
            let idx = Arc::clone(index);
            let watermark = cursor.applied();
            blocking(move || idx.commit_applied(Some(watermark))).await?;
        }
        if (changes.len() as i64) < BATCH || fresh.is_empty() {
            return Ok(applied);
        }
    }
}

/// Keeps the index current: rebuilds it if it was never filled, then applies
/// the change log every `poll` (so a publish, correction or unpublish is found,
/// or no longer found, within about `poll` plus a commit). Runs until dropped.
pub async fn follow(index: Arc<SearchIndex>, store: Store, poll: Duration) {
    let mut cursor = loop {
        match start(&index, &store).await {
            Ok(cursor) => break cursor,
            Err(e) => {
                if !newsdesk_storage::outage::counted("bringing the search index up to date", &e) {
                    tracing::error!(error = %e, "search index could not be brought up to date; retrying");
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    };
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = update(&index, &store, &mut cursor).await {
            newsdesk_storage::outage::warn("updating the search index failed; retrying", &e);
        }
    }
}

/// The cursor to follow from: the index's own record, after a rebuild if
/// it has none or it does not match the database ([`rebuild_reason`]).
async fn start(index: &Arc<SearchIndex>, store: &Store) -> Result<ChangeCursor> {
    if let Some(reason) = rebuild_reason(index, store).await? {
        tracing::info!(reason, "rebuilding the search index from the database");
        reindex_all(index, store).await?;
    }
    let applied = index.applied_change().unwrap_or_default();
    let mut cursor = ChangeCursor::new(applied);
    update(index, store, &mut cursor).await?;
    // The next start checks the log against the newest change applied now.
    let anchor = store.change_mark_at_or_below(cursor.applied()).await?;
    if index.position().anchor != anchor {
        index.set_followed(store.database_identity().await?, anchor);
        let idx = Arc::clone(index);
        blocking(move || idx.commit()).await?;
    }
    Ok(cursor)
}

/// Why the index must be rebuilt before it follows `store`'s change log, or
/// `None` when it may go on from the change it recorded. Change ids start
/// again lower in a restored database, so going on from a recorded id would
/// keep deleted stories and miss new ones. Rebuilt are an index that was
/// never filled (or is of an older format), one filled from another database
/// or from this one before a restore (the incarnation), one that has applied
/// changes beyond the log's head, and one whose recorded change the log no
/// longer holds as it was (the database was put back to an older point
/// without a new incarnation, e.g. by `pg_restore` of an older dump).
pub async fn rebuild_reason(index: &SearchIndex, store: &Store) -> Result<Option<&'static str>> {
    let position = index.position();
    let Some(applied) = position.applied_change else {
        return Ok(Some("the index is new or of an older format"));
    };
    let database = store.database_identity().await?;
    match &position.database {
        None => return Ok(Some("the index does not record which database it follows (made by an older version)")),
        Some(d) if d.database_id != database.database_id => {
            return Ok(Some("the index was filled from another database"));
        }
        Some(d) if d.incarnation != database.incarnation => {
            return Ok(Some("the database was restored since the index was filled"));
        }
        Some(_) => {}
    }
    if applied > store.last_change_id().await? {
        return Ok(Some("the index has applied changes beyond the end of the database's change log"));
    }
    if let Some(anchor) = position.anchor
        && store.change_mark(anchor.id).await? != Some(anchor)
    {
        return Ok(Some("the database's change log differs from the one the index applied"));
    }
    Ok(None)
}

/// Runs index work off the async threads (tantivy blocks on I/O and merges).
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SearchError::Index(tantivy::TantivyError::InternalError(format!("index task failed: {e}"))))?
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
        // 3 and 4 are done and not applied again; 2 still is new.
        assert!(!c.is_new(3) && !c.is_new(4) && c.is_new(2));
        c.mark_applied([2], t + Duration::from_secs(1));
        assert_eq!(c.applied(), 4);

        let mut c = ChangeCursor::new(10);
        c.mark_applied([12], t);
        assert_eq!(c.applied(), 10);
        c.mark_applied([], t + GAP_WAIT / 2);
        assert_eq!(c.applied(), 10);
        c.mark_applied([], t + GAP_WAIT);
        assert_eq!(c.applied(), 12);
    }
}
