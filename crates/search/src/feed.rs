//! Keeping the index in step with the database: a full rebuild, and applying
//! the change log (`story_changes`) from the last change the index recorded,
//! through the store's [`Follower`] (which waits for changes that commit late
//! and wakes on PostgreSQL notifications). Applying a change re-reads the
//! story, so applying one twice is harmless.

use std::sync::Arc;
use std::time::Duration;

use newsdesk_domain::NewsId;
use newsdesk_storage::{Change, Follower, IndexableStory, Store};
pub use newsdesk_storage::{ChangeCursor, GAP_WAIT};

use crate::{Result, SearchError, SearchIndex};

/// How often the commits of the index are synced to disk ([`SearchIndex::checkpoint`]).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);
/// Changes read from the log at once.
const BATCH: i64 = 500;
/// Stories read from the database at once during a rebuild.
const REBUILD_PAGE: i64 = 1000;
/// How long a rebuild waits at most, before reading its next page of
/// stories, for readers waiting for pages (see [`SearchIndex::yield_to`]): a
/// site busy all the time still gets its index, at ten pages a second.
const YIELD_AT_MOST: Duration = Duration::from_millis(100);
/// How often a rebuild that yields looks again whether readers still wait.
const YIELD_STEP: Duration = Duration::from_millis(2);

/// Rebuilds the index from the database: every published story, then one
/// commit (searches see the old index until then). Returns the number of stories.
/// Updates from the change log wait until it is done.
///
/// The stories are turned into documents (their bodies' text taken out of
/// the HTML) on a thread of the rebuild's own, at the index threads' lower
/// priority, while the next page of stories is read: pages served meanwhile
/// get the CPU first. Reading a page of stories (the database's work and the
/// rows' decoding) cannot be lowered so: it waits while readers wait for
/// pages being made, up to 100 ms a page ([`SearchIndex::yield_to`]).
pub async fn reindex_all(index: &Arc<SearchIndex>, store: &Store) -> Result<u64> {
    let turn = index.feeding_turn().await;
    // Changes made while the rebuild runs are applied afterwards from here.
    let start = store.last_change_id().await?;
    index.set_followed(store.database_identity().await?, store.change_mark_at_or_below(start).await?);
    index.clear()?;
    let (pages, done) = documents_thread(Arc::clone(index), turn)?;
    let read: Result<()> = async {
        let mut after: NewsId = 0;
        loop {
            wait_for_readers(|| index.readers_busy(), YIELD_STEP, YIELD_AT_MOST).await;
            let page = store.indexable_stories(after, REBUILD_PAGE).await?;
            let Some(last) = page.last().map(|s| s.news_id) else { return Ok(()) };
            if pages.send(page).await.is_err() {
                // The thread stopped on an error: its report tells it.
                return Ok(());
            }
            after = last;
        }
    }
    .await;
    // The thread adds what it was sent, then reports and hands the turn back
    // (if this future is dropped meanwhile, the turn is let go as the thread
    // ends: no other feeding of the index overlaps its adds).
    drop(pages);
    let (added, _turn) = done
        .await
        .map_err(|_| SearchError::Index(tantivy::TantivyError::InternalError("the rebuild's thread ended".into())))?;
    read?;
    let count = added?;
    let idx = Arc::clone(index);
    blocking(move || {
        idx.commit_applied(Some(start))?;
        idx.checkpoint()
    })
    .await?;
    tracing::info!(stories = count, "search index rebuilt");
    Ok(count)
}

/// Waits while `busy` says readers wait, looking again every `step`, for at
/// most `at_most`; returns how long it waited.
async fn wait_for_readers(busy: impl Fn() -> bool, step: Duration, at_most: Duration) -> Duration {
    let start = tokio::time::Instant::now();
    while busy() && start.elapsed() < at_most {
        tokio::time::sleep(step).await;
    }
    start.elapsed()
}

/// Where a rebuild sends its pages of stories to be added.
type PageSender = tokio::sync::mpsc::Sender<Vec<IndexableStory>>;
/// What the rebuild's thread reports: how many stories it added (or the
/// first error), and the turn to feed the index it held meanwhile.
type ThreadReport = tokio::sync::oneshot::Receiver<(Result<u64>, tokio::sync::OwnedMutexGuard<()>)>;

/// The rebuild's thread: adds each page of stories sent to it (each story
/// once, pages by News ID, into a cleared index) until the sender is
/// dropped, then reports.
fn documents_thread(
    index: Arc<SearchIndex>,
    turn: tokio::sync::OwnedMutexGuard<()>,
) -> Result<(PageSender, ThreadReport)> {
    // One page waits while the thread works on the one before.
    let (pages, mut incoming) = tokio::sync::mpsc::channel::<Vec<IndexableStory>>(1);
    let (report, done) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(crate::priority::REBUILD_THREAD.into())
        .spawn(move || {
            crate::priority::lower_this_thread();
            let added = (|| {
                let mut count = 0u64;
                while let Some(page) = incoming.blocking_recv() {
                    for s in &page {
                        index.add_new_story(s)?;
                    }
                    count += page.len() as u64;
                    // Threads tantivy made meanwhile from one of its own
                    // inherit the lower priority; any other is lowered here.
                    crate::priority::lower_index_threads();
                }
                Ok(count)
            })();
            // With the rebuild dropped (the server stopping), the report and
            // the turn are dropped here.
            let _ = report.send((added, turn));
        })
        .map_err(|e| {
            SearchError::Index(tantivy::TantivyError::InternalError(format!("cannot start the rebuild's thread: {e}")))
        })?;
    Ok((pages, done))
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use newsdesk_domain::StoryStatus;

    fn story(news_id: NewsId) -> IndexableStory {
        IndexableStory {
            news_id,
            edition_lang: "en".into(),
            section_path: "world".into(),
            section_name: "World".into(),
            slug: format!("story-{news_id}"),
            headline: format!("Harbour cranes idle {news_id}"),
            lead: "Lead.".into(),
            body_html: "<p>Dockers <b>stopped</b> work.</p>".into(),
            status: StoryStatus::Published,
            published_at: Some(chrono::Utc::now()),
            updated_at: None,
            tags: Vec::new(),
            authors: Vec::new(),
            newsroom: Default::default(),
        }
    }

    /// The nice value of each rebuild thread running now (see [`documents_thread`]).
    fn rebuild_threads() -> Vec<Option<i32>> {
        std::fs::read_dir("/proc/self/task")
            .expect("tasks")
            .flatten()
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm")).unwrap_or_default().trim_end()
                    == crate::priority::REBUILD_THREAD
            })
            .map(|task| crate::priority::nice_of(&task.file_name().to_string_lossy()))
            .collect()
    }

    /// A rebuild makes its documents on a thread of its own at the index
    /// threads' lower priority (the caller's is left as it was), adds every
    /// story sent to it, and ends when the rebuild stops sending.
    #[tokio::test]
    async fn a_rebuild_makes_documents_at_the_lower_priority_and_adds_every_story() {
        let me = std::fs::read_link("/proc/thread-self").expect("thread-self");
        let me = me.file_name().expect("tid").to_string_lossy().into_owned();
        let before = crate::priority::nice_of(&me);
        let dir = tempfile::tempdir().expect("dir");
        let index = Arc::new(SearchIndex::open_or_create(&dir.path().join("search")).expect("index"));
        let turn = index.feeding_turn().await;
        let (pages, done) = documents_thread(Arc::clone(&index), turn).expect("thread");
        pages.send((1..=40).map(story).collect()).await.expect("first page");
        // The channel holds one page: the second is taken once the thread
        // has started on the first, so the thread is running now.
        pages.send((41..=50).map(story).collect()).await.expect("second page");
        let mut seen = rebuild_threads();
        for _ in 0..100 {
            if seen.iter().all(|nice| *nice == Some(crate::priority::target_nice())) && !seen.is_empty() {
                break;
            }
            // The thread lowers itself as it starts.
            std::thread::sleep(Duration::from_millis(10));
            seen = rebuild_threads();
        }
        assert!(!seen.is_empty(), "the rebuild's thread runs while pages come");
        assert!(seen.iter().all(|nice| *nice == Some(crate::priority::target_nice())), "{seen:?}");
        // The thread holds the turn to feed the index until it reports.
        assert!(index.feeding.try_lock().is_err());
        drop(pages);
        let (added, turn) = done.await.expect("report");
        assert_eq!(added.expect("added"), 50);
        drop(turn);
        assert!(index.feeding.try_lock().is_ok());
        assert_eq!(crate::priority::nice_of(&me), before, "the caller keeps its priority");
        index.commit().expect("commit");
        assert_eq!(index.reader.searcher().num_docs(), 50);
    }

    /// A rebuild waits before each page of stories while readers wait for
    /// pages, at most `at_most`, and not at all when none waits.
    #[tokio::test(start_paused = true)]
    async fn a_rebuild_waits_for_readers_a_bounded_time() {
        let step = Duration::from_millis(2);
        let at_most = Duration::from_millis(100);
        assert_eq!(wait_for_readers(|| false, step, at_most).await, Duration::ZERO, "nobody waits");
        let waited = wait_for_readers(|| true, step, at_most).await;
        assert!(waited >= at_most && waited < at_most + step * 2, "busy all the time: {waited:?}");
        // Readers served after 30 ms: the rebuild goes on then.
        let start = tokio::time::Instant::now();
        let waited = wait_for_readers(|| start.elapsed() < Duration::from_millis(30), step, at_most).await;
        assert!(waited >= Duration::from_millis(30) && waited < Duration::from_millis(30) + step * 2, "{waited:?}");
    }
}
