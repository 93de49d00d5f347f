//! Several reads in a row on one pooled connection.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use newsdesk_domain::{NewsId, Story, StoryLink};
use sqlx::pool::PoolConnection;
use sqlx::{Any, Row};
use tokio::sync::oneshot;

use crate::content::{STORY_COLUMNS, STORY_FROM, story_from_row};
use crate::{CommentTarget, POSTGRES_ACQUIRE_TIMEOUT, POSTGRES_PING_AFTER_IDLE, Result, Store, StoreError};

/// One connection of the pool, held for several reads in a row.
///
/// Each query made on the pool takes a connection and gives it back, and sqlx
/// tests a connection as it comes back (one more round trip: to SQLite's
/// connection thread, or to the PostgreSQL server) from a task of its own. A
/// story page not yet cached may make several reads (its corrections, its
/// comments, a live blog's updates; most stories need only
/// [`Reads::story_for_page`]); made on one `Reads`, it pays for that once.
/// When every read on it finished, a `Reads` that is let go hands its
/// connection to the next one (a reader waiting for it, or kept for the next
/// to come: [`Store::spare_connections`]) instead of giving it back to the
/// pool, and the next page pays nothing of it.
/// Hold it for the reads only, not while rendering or waiting on anything
/// else: the pool is small.
#[derive(Debug)]
pub struct Reads {
    /// `None` only once let go.
    conn: Option<PoolConnection<Any>>,
    /// No read is under way on `conn` and none failed: it can be kept for the next `Reads`.
    settled: bool,
    /// Since when `conn` has gone from one `Reads` to the next without the pool.
    kept_since: Option<Instant>,
    spare: Arc<Spare>,
}

impl Store {
    /// A connection held for several reads ([`Reads`]): one a `Reads` before
    /// it kept, or one of the pool, whichever comes first. Readers waiting
    /// for the pool are handed the connections `Reads` let go meanwhile, in
    /// the order they came (kept connections never sit idle while readers
    /// queue, and none is taken ahead of them). It waits at most the pool's
    /// own time for a connection.
    pub async fn reads(&self) -> Result<Reads> {
        self.page_reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + self.pool().options().get_acquire_timeout();
        let mut handed = loop {
            match self.spare.take_or_wait() {
                Ok(kept) => {
                    if let Some(conn) = self.fit_for_use(kept.conn, kept.idle_since).await {
                        return Ok(self.reads_on(conn, Some(kept.since)));
                    }
                }
                Err(handed) => break handed,
            }
        };
        tokio::select! {
            biased;
            Ok(h) = &mut handed => Ok(self.reads_on(h.conn, Some(h.since))),
            from_pool = tokio::time::timeout_at(deadline, self.pool().acquire()) => {
                let conn = from_pool.map_err(|_| sqlx::Error::PoolTimedOut)??;
                // One handed over meanwhile is kept for the next reader.
                handed.close();
                if let Ok(h) = handed.try_recv() {
                    self.spare.keep(h.conn, Some(h.since));
                }
                Ok(self.reads_on(conn, None))
            }
        }
    }

    fn reads_on(&self, conn: PoolConnection<Any>, kept_since: Option<Instant>) -> Reads {
        Reads { conn: Some(conn), settled: true, kept_since, spare: self.spare.clone() }
    }

    /// `conn` if it can be used, tested as the pool does before use:
    /// PostgreSQL may have dropped a connection left unused for a while (an
    /// outage, a restart). One that fails goes back to the pool, which tests
    /// it again and closes it.
    async fn fit_for_use(&self, mut conn: PoolConnection<Any>, idle_since: Instant) -> Option<PoolConnection<Any>> {
        if self.backend() == crate::Backend::Postgres && idle_since.elapsed() >= POSTGRES_PING_AFTER_IDLE {
            let answered = tokio::time::timeout(POSTGRES_ACQUIRE_TIMEOUT, sqlx::Connection::ping(&mut *conn)).await;
            if !matches!(answered, Ok(Ok(()))) {
                return None;
            }
        }
        Some(conn)
    }
}

impl Reads {
    /// The connection, for a read that [`Reads::settle`] ends once it has all its rows.
    pub(crate) fn conn(&mut self) -> Result<&mut PoolConnection<Any>> {
        self.settled = false;
        self.conn.as_mut().ok_or_else(|| StoreError::Invalid("a read on a connection already let go".into()))
    }

    /// The reads begun since [`Reads::conn`] ended in good order: the
    /// connection is fit for the next `Reads`. A read that fails, or whose
    /// future is dropped before it ends, leaves it unsettled, and it goes back
    /// to the pool, which tests it (and closes it if need be).
    pub(crate) fn settle<T>(&mut self, value: T) -> T {
        self.settled = true;
        value
    }

    /// All the rows of `query`, read on this connection.
    pub(crate) async fn fetch_all<'q>(
        &mut self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<Vec<sqlx::any::AnyRow>> {
        let rows = query.fetch_all(&mut **self.conn()?).await?;
        Ok(self.settle(rows))
    }

    /// The first row of `query`, if any, read on this connection.
    pub(crate) async fn fetch_optional<'q>(
        &mut self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<Option<sqlx::any::AnyRow>> {
        let row = query.fetch_optional(&mut **self.conn()?).await?;
        Ok(self.settle(row))
    }

    /// Which engine the connection speaks.
    fn backend(&self) -> crate::Backend {
        self.conn.as_ref().map_or(crate::Backend::Sqlite, |c| crate::Backend::of(c))
    }
}

impl Drop for Reads {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.settled
        {
            self.spare.keep(conn, self.kept_since);
        }
    }
}

/// How long a connection goes from one [`Reads`] to the next at most before
/// it goes back to the pool once, where sqlx closes it if it is older than
/// the pool allows.
const KEPT_AT_MOST: Duration = Duration::from_secs(60);

/// Connections [`Reads`] let go in good order, handed to the readers waiting
/// for one or kept for the next ones.
///
/// The pool tests each connection given back to it (sqlx's ping: a round trip
/// to SQLite's connection thread or to the PostgreSQL server, a tenth of a
/// page not yet cached); a connection handed over or kept here skips that. It
/// keeps at most half the pool's connections, and none while the pool has no
/// other to give, so that the other users of the pool (writes, the newsroom),
/// who cannot take one from here, never wait for one kept; the web layer gives
/// them all back every 10 s ([`Store::give_back_kept`], [`Store::release_memory`]).
#[derive(Debug)]
pub(crate) struct Spare {
    state: Mutex<SpareState>,
    most: usize,
    /// The pool the connections are from: none is kept while it has none left to give.
    pool: sqlx::AnyPool,
}

#[derive(Debug, Default)]
struct SpareState {
    /// Connections waiting for a reader, the last kept last.
    kept: Vec<Kept>,
    /// Readers waiting for the pool, the first come first (some may have
    /// got a connection from the pool since: their channel is closed).
    waiting: VecDeque<oneshot::Sender<Handed>>,
}

/// A connection kept in [`Spare`].
#[derive(Debug)]
struct Kept {
    conn: PoolConnection<Any>,
    /// Since when it has gone from one `Reads` to the next without the pool.
    since: Instant,
    /// Since when it has been waiting here.
    idle_since: Instant,
}

/// A connection handed from a `Reads` let go to a reader waiting for one.
#[derive(Debug)]
struct Handed {
    conn: PoolConnection<Any>,
    since: Instant,
}

impl Spare {
    /// Keeps at most `most` connections of `pool`.
    pub(crate) fn new(pool: sqlx::AnyPool, most: usize) -> Spare {
        Spare { state: Mutex::default(), most, pool }
    }

    /// How many connections wait here.
    pub(crate) fn len(&self) -> usize {
        self.lock().kept.len()
    }

    /// Takes all the connections kept here (to give them back to the pool, or to tidy them).
    pub(crate) fn take_all(&self) -> Vec<PoolConnection<Any>> {
        self.lock().kept.drain(..).map(|k| k.conn).collect()
    }

    /// The connection kept last (its pages are the likeliest in memory), or
    /// else a place in the queue for the next one let go.
    fn take_or_wait(&self) -> std::result::Result<Kept, oneshot::Receiver<Handed>> {
        let mut state = self.lock();
        if let Some(kept) = state.kept.pop() {
            return Ok(kept);
        }
        let (tx, rx) = oneshot::channel();
        state.waiting.retain(|w| !w.is_closed());
        state.waiting.push_back(tx);
        Err(rx)
    }

    /// Hands `conn` to the first reader waiting, or keeps it; lets it go back
    /// to the pool when enough wait here already, when the pool has no other
    /// connection to give, or when it has gone without the pool for
    /// [`KEPT_AT_MOST`].
    fn keep(&self, conn: PoolConnection<Any>, since: Option<Instant>) {
        let now = Instant::now();
        let since = since.unwrap_or(now);
        if now.duration_since(since) >= KEPT_AT_MOST {
            return;
        }
        let mut state = self.lock();
        let mut handed = Handed { conn, since };
        while let Some(reader) = state.waiting.pop_front() {
            match reader.send(handed) {
                Ok(()) => return,
                // That reader got one from the pool meanwhile.
                Err(back) => handed = back,
            }
        }
        // The pool's other users (writes, the newsroom) cannot take a kept
        // connection: while the pool has none left to give, it goes back.
        let pool_has_one = self.pool.num_idle() > 0 || self.pool.size() < self.pool.options().get_max_connections();
        if pool_has_one && state.kept.len() < self.most {
            state.kept.push(Kept { conn: handed.conn, since, idle_since: now });
            return;
        }
        // Given back to the pool once the list is let go.
        drop(state);
        drop(handed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SpareState> {
        // The lists stay whole whatever a panicking holder was doing (a push or a pop).
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        // The pool takes a connection back on a task of its own, which needs
        // a runtime: a store dropped after its runtime closes each kept one here.
        if tokio::runtime::Handle::try_current().is_err() {
            let state = self.state.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner);
            for kept in state.kept.drain(..) {
                drop(kept.conn.detach());
            }
        }
    }
}

/// What a story's public page needs to know about it besides the story, read
/// in the story's own query ([`Reads::story_for_page`]): most stories have no
/// corrections, no translations and no comments, and their page then makes
/// no query for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFacts {
    /// It has at least one correction.
    pub corrections: bool,
    /// It has a translation in another edition.
    pub translations: bool,
    /// It has at least one approved comment.
    pub comments: bool,
    /// What the comment form needs to know about it.
    pub comment_target: CommentTarget,
    /// Its photo's resized copies and crops, as [`Store::photo_all_renditions_of`]
    /// gives them (none without a photo).
    pub photo_renditions: (Vec<crate::Rendition>, Vec<crate::CropRendition>),
    /// Its section's stories before it, as [`Store::related`] gives them.
    pub related: Vec<StoryLink>,
}

/// The columns [`PageFacts`] is read from, beside the story's own.
const FACTS_COLUMNS: &str = "CAST(CASE WHEN EXISTS (SELECT 1 FROM story_corrections x \
     WHERE x.news_id = s.news_id) THEN 1 ELSE 0 END AS BIGINT) AS has_corrections, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM story_translations me JOIN story_translations t \
     ON t.group_id = me.group_id AND t.news_id <> me.news_id WHERE me.news_id = s.news_id) \
     THEN 1 ELSE 0 END AS BIGINT) AS has_translations, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM comments c WHERE c.news_id = s.news_id AND c.status = 'approved') \
     THEN 1 ELSE 0 END AS BIGINT) AS has_comments";

/// The query of [`Reads::story_for_page`].
fn story_for_page_sql(sqlite: bool, related: i64) -> String {
    format!(
        "SELECT {STORY_COLUMNS}, {}, {FACTS_COLUMNS}, s.byline AS byline, p.renditions AS renditions, {} {STORY_FROM} \
         JOIN editions e ON e.id = s.edition_id WHERE s.news_id = $1",
        crate::comments::TARGET_COLUMNS,
        crate::content::related_column(sqlite, related),
    )
}

impl Reads {
    /// The story `news_id` (any state) with its tags, authors, its photo's
    /// copies and crops, its section's `related` stories before it and
    /// [`PageFacts`], in one query.
    pub async fn story_for_page(&mut self, news_id: NewsId, related: i64) -> Result<Option<(Story, PageFacts)>> {
        let sqlite = self.backend() == crate::Backend::Sqlite;
        // The text is the same for every page of an engine: made once (it is
        // 3 KB of formatted pieces), for the `related` count the site asks for.
        static MADE: [OnceLock<(i64, String)>; 2] = [OnceLock::new(), OnceLock::new()];
        let (made_for, made) = MADE[usize::from(sqlite)].get_or_init(|| (related, story_for_page_sql(sqlite, related)));
        let other;
        let sql = if *made_for == related {
            made.as_str()
        } else {
            other = story_for_page_sql(sqlite, related);
            other.as_str()
        };
        let Some(r) = self.fetch_optional(sqlx::query(sql).bind(news_id)).await? else {
            return Ok(None);
        };
        let (tags, authors) = crate::content::byline_from_json(news_id, &r.try_get::<String, _>("byline")?)?;
        let story = story_from_row(&r, tags, authors)?;
        let photo_renditions = match &story.photo {
            Some(p) => crate::crops::renditions_from_json(p.id, &r.try_get::<String, _>("renditions")?)?,
            None => (Vec::new(), Vec::new()),
        };
        let facts = PageFacts {
            corrections: r.try_get::<i64, _>("has_corrections")? != 0,
            translations: r.try_get::<i64, _>("has_translations")? != 0,
            comments: r.try_get::<i64, _>("has_comments")? != 0,
            comment_target: crate::comments::target_from_row(&r)?,
            photo_renditions,
            related: crate::content::related_from_json(news_id, &r.try_get::<String, _>("related")?)?,
        };
        Ok(Some((story, facts)))
    }
}
