//! Keeping the index in step with the database: a full rebuild, and applying
//! the change log (`story_changes`) from the last change the index recorded,
//! through the store's [`Follower`] (which waits for changes that commit late
//! and wakes on PostgreSQL notifications). Applying a change re-reads the
//! story, so applying one twice is harmless.

use std::sync::Arc;
use std::time::Duration;

use newsdesk_domain::NewsId;
use newsdesk_storage::{Change, Follower, Store};
pub use newsdesk_storage::{ChangeCursor, GAP_WAIT};

use crate::{Result, SearchError, SearchIndex};

/// How often the commits of the index are synced to disk ([`SearchIndex::checkpoint`]).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);
/// Changes read from the log at once.
const BATCH: i64 = 500;
/// Stories read from the database at once during a rebuild.
const REBUILD_PAGE: i64 = 1000;

/// Rebuilds the index from the database: every published story, then one
/// commit (searches see the old index until then). Returns the number of stories.
/// Updates from the change log wait until it is done.
pub async fn reindex_all(index: &Arc<SearchIndex>, store: &Store) -> Result<u64> {
    let _turn = index.feeding_turn().await;
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
            // Each story once (pages by News ID), into a cleared index.
            for s in &page {
                idx.add_new_story(s)?;
            }
            // Threads tantivy made meanwhile from one of its own inherit the
            // lower priority; any other is lowered here.
            crate::priority::lower_index_threads();
            Ok(page.len() as u64)
        })
        .await?;
        after = last;
    }
    let idx = Arc::clone(index);
    blocking(move || {
        idx.commit_applied(Some(start))?;
        idx.checkpoint()
    })
    .await?;
    tracing::info!(stories = count, "search index rebuilt");
    Ok(count)
}

/// Applies the change log not yet applied by `follower` to the index and
/// commits (recording the new watermark). Returns the number of changes applied.
pub async fn update(index: &Arc<SearchIndex>, store: &Store, follower: &mut Follower) -> Result<usize> {
    let _turn = index.feeding_turn().await;
    let mut applied = 0;
    loop {
        let before = follower.applied();
        let fresh = follower.fetch(BATCH).await?;
        if !fresh.is_empty() {
            apply(index, store, &fresh).await?;
            applied += fresh.len();
            follower.mark_applied(fresh.iter().map(|c| c.id));
        } else {
            follower.tick();
        }
        // Changes applied above a gap are searchable at once; the recorded
        // watermark waits for the gap.
        if !fresh.is_empty() || follower.applied() != before {
            let idx = Arc::clone(index);
            let watermark = follower.applied();
            blocking(move || idx.commit_applied(Some(watermark))).await?;
        }
        if (fresh.len() as i64) < BATCH {
            return Ok(applied);
        }
    }
}

/// Indexes (or removes) the stories of `changes`.
async fn apply(index: &Arc<SearchIndex>, store: &Store, changes: &[Change]) -> Result<()> {
    let mut news_ids: Vec<NewsId> =
        changes.iter().map(|c| c.news_id).filter(|&n| n != newsdesk_storage::SITE_CHANGE).collect();
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
    .await
}

/// Keeps the index current: rebuilds it if it was never filled, then applies
/// the change log as it grows (woken by PostgreSQL notifications, polling
/// every `poll` as a fallback), so a publish, correction or unpublish is
/// found, or no longer found, within a commit of the index. Runs until dropped.
pub async fn follow(index: Arc<SearchIndex>, store: Store, poll: Duration) {
    tokio::select! {
        () = follow_log(&index, &store, poll) => {}
        () = checkpoints(&index) => {}
    }
}

/// Syncs the index's commits to disk every [`CHECKPOINT_EVERY`], beside the
/// follower, so a change is searchable without waiting for the disk; and
/// moves searches off segments merged away meanwhile.
async fn checkpoints(index: &Arc<SearchIndex>) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let idx = Arc::clone(index);
        if let Err(e) = blocking(move || idx.refresh_after_merges()).await {
            tracing::warn!(error = %e, "moving searches to the merged search index failed; retrying");
        }
        if index.unsynced_files() == 0 {
            continue;
        }
        let idx = Arc::clone(index);
        if let Err(e) = blocking(move || idx.checkpoint()).await {
            tracing::warn!(error = %e, "syncing the search index to disk failed; retrying");
        }
    }
}

async fn follow_log(index: &Arc<SearchIndex>, store: &Store, poll: Duration) {
    let mut follower = loop {
        match start(index, store, poll).await {
            Ok(follower) => break follower,
            Err(e) => {
                if !newsdesk_storage::outage::counted("bringing the search index up to date", &e) {
                    tracing::error!(error = %e, "search index could not be brought up to date; retrying");
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    };
    loop {
        follower.wait().await;
        if let Err(e) = update(index, store, &mut follower).await {
            newsdesk_storage::outage::warn("updating the search index failed; retrying", &e);
            tokio::time::sleep(poll).await;
        }
    }
}

/// The follower to go on with: the index's own record, after a rebuild if
/// it has none or it does not match the database ([`rebuild_reason`]).
async fn start(index: &Arc<SearchIndex>, store: &Store, poll: Duration) -> Result<Follower> {
    if let Some(reason) = rebuild_reason(index, store).await? {
        tracing::info!(reason, "rebuilding the search index from the database");
        reindex_all(index, store).await?;
    }
    let applied = index.applied_change().unwrap_or_default();
    let mut follower = Follower::new("search", store.clone(), applied, poll);
    update(index, store, &mut follower).await?;
    // The next start checks the log against the newest change applied now.
    let anchor = store.change_mark_at_or_below(follower.applied()).await?;
    if index.position().anchor != anchor {
        index.set_followed(store.database_identity().await?, anchor);
        let idx = Arc::clone(index);
        blocking(move || idx.commit()).await?;
    }
    Ok(follower)
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
