//! newsdesk's storage: one [`Store`] over SQLite (the embedded default) or
//! PostgreSQL, chosen by the database URL's scheme. All SQL lives here; it is
//! written once in the dialect both engines share (`$n` parameters,
//! `RETURNING`, `ON CONFLICT`), and the schema has one migration folder per engine.

mod accounts;
mod api;
mod api_tokens;
pub mod backup;
mod body;
mod breaking;
mod bulk;
mod changes;
mod comments;
mod content;
mod crops;
mod desks;
mod error;
mod fetched;
mod fronts;
mod galleries;
mod imported;
mod ingest;
pub mod listing;
mod live;
mod locks;
mod media;
mod newsroom;
pub mod outage;
mod reads;
mod routing;
mod search_feed;
mod sources;
mod spikes;
mod sql;
mod taxonomy;
pub mod testing;
mod translations;
mod views;
mod wire;
mod wire_access;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

pub use accounts::*;
pub use api::*;
pub use api_tokens::*;
pub use backup::{BackupError, ChangeMark, DatabaseIdentity, SiteSummary};
pub use body::{EmbedInput, EmbedThumbnail, StoredEmbed};
pub use breaking::*;
pub use bulk::{KeyChecks, PreparedStories};
pub use changes::{Change, ChangeCursor, Follower, GAP_WAIT};
pub use comments::*;
pub use content::*;
pub use crops::*;
pub use desks::*;
pub use error::StoreError;
pub use fetched::*;
pub use fronts::*;
pub use galleries::*;
pub use imported::*;
pub use ingest::*;
pub use live::{LiveUpdate, LiveUpdateInput};
pub use locks::*;
pub use media::*;
pub use newsroom::*;
pub use reads::{PageFacts, Reads};
pub use routing::*;
pub use search_feed::{IndexableStory, NewsroomFacts};
pub use sources::*;
pub use spikes::*;
pub use taxonomy::*;
pub use translations::Translation;
pub use views::{ViewBucket, hour_of};
pub use wire::*;
pub use wire_access::*;

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite, one file in the data directory.
    Sqlite,
    /// PostgreSQL server (several app nodes may share it).
    Postgres,
}

impl Backend {
    /// The engine of an open connection (sqlx names it; the name is matched here only).
    pub(crate) fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name() == "SQLite" { Backend::Sqlite } else { Backend::Postgres }
    }
}

impl FromStr for Backend {
    type Err = StoreError;

    fn from_str(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "database_url must start with sqlite: or postgres://, found `{}`",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a PostgreSQL request waits for a pooled connection (or a new one)
/// before it fails as [`StoreError::Unavailable`].
pub const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A PostgreSQL connection idle in the pool this long is pinged before use.
const POSTGRES_PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The most PostgreSQL connections a node's pool opens when it runs on
/// `cpus` CPUs: four a CPU, at least 8 and at most 32. More connections than
/// the CPUs can keep busy only make the server's backends take turns: on two
/// CPUs shared with the server, pages not yet cached came 12 % faster (p99 23
/// → 15 ms) with 8 connections than with 16 (bench/README, thirteenth run).
pub(crate) fn postgres_pool_size(cpus: usize) -> u32 {
    u32::try_from(cpus.saturating_mul(4)).unwrap_or(u32::MAX).clamp(8, 32)
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The URL the pool was opened with (the change listener opens its own connection).
    url: std::sync::Arc<str>,
    /// Wakes change-log followers (see [`Follower`]).
    signal: std::sync::Arc<changes::ChangeSignal>,
    /// How bulk loads check their foreign keys, found out at the first one.
    key_checks: std::sync::Arc<tokio::sync::OnceCell<bulk::Checks>>,
    /// Connections page reads let go, kept for the next ones ([`Reads`]).
    spare: std::sync::Arc<reads::Spare>,
    /// How many [`Reads`] were begun (see [`Store::page_reads`]).
    page_reads: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Use of the connection pool at one moment.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    /// Open connections, idle or in use.
    pub size: u32,
    /// Open connections not in use.
    pub idle: usize,
    /// Most connections the pool opens.
    pub max: u32,
}

/// The SQLite URL for the database file inside a data directory.
pub fn sqlite_url_in(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("newsdesk.db").display())
}

impl Store {
    /// Opens a pool on `url` (`sqlite://FILE?mode=rwc` or `postgres://...`).
    /// SQLite runs in WAL mode with full fsync on commit, so an answered write
    /// survives a crash; a connection that cannot switch the database to WAL
    /// (another process holds it in a rollback journal's transaction) fails.
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_journal(url, Journal::WriteAhead).await
    }

    /// Opens a store for a bulk load that has the database to itself
    /// (`newsdesk demo` filling a new data directory). On SQLite its
    /// connections use a rollback journal instead of the write-ahead log: a
    /// page the load adds to the file is written once, not twice (to the log,
    /// then again by the checkpoint, which also reads it back); only pages
    /// that held data before a transaction are journaled. A 1,000,000-story
    /// demo fill took about a fifth less time (bench/README). Commits are as
    /// durable (full fsync) and a crash rolls the last transaction back, as
    /// with the log. But readers wait while a transaction commits and a
    /// second writer can fail as busy, so nothing else should use the
    /// database meanwhile; and it fails if another connection (a running
    /// server) has the database open in WAL mode, which SQLite cannot leave
    /// then. The next [`Store::connect`] returns the database to WAL. On
    /// PostgreSQL the same as [`Store::connect`].
    pub async fn connect_for_bulk_load(url: &str) -> Result<Store> {
        Store::connect_journal(url, Journal::Rollback).await
    }

    async fn connect_journal(url: &str, journal: Journal) -> Result<Store> {
        install_default_drivers();
        let backend: Backend = url.parse()?;
        if backend == Backend::Sqlite && journal == Journal::Rollback {
            // Switched once here, where a refusal can say why (the pool would
            // retry its connections until it timed out); its connections then
            // find the database in the mode they ask for.
            leave_wal(url).await.map_err(|e| StoreError::Connect(redact(url), e))?;
        }
        // A request waits at most this long for a connection. On PostgreSQL it
        // is short, so that during an outage a request fails fast (503) instead
        // of holding the reader; SQLite's file does not go away, and there
        // writers queue for its one write lock (`busy_timeout`), so requests
        // wait longer for a connection under load.
        let acquire_timeout = match backend {
            Backend::Sqlite => Duration::from_secs(10),
            Backend::Postgres => POSTGRES_ACQUIRE_TIMEOUT,
        };
        let max_connections = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => postgres_pool_size(std::thread::available_parallelism().map_or(1, |n| n.get())),
        };
        let options = AnyPoolOptions::new().acquire_timeout(acquire_timeout).max_connections(max_connections);
        let options = match backend {
            // No ping of a pooled SQLite connection before each use (sqlx's
            // default): the file does not go away, and the ping is one more
            // round trip to the connection's thread per query — a story page
            // not yet cached makes about ten queries.
            Backend::Sqlite => options.test_before_acquire(false).after_connect(move |conn, _meta| {
                Box::pin(async move {
                    let mode: String = sqlx::query_scalar(journal.pragma()).fetch_one(&mut *conn).await?;
                    journal.check(&mode)?;
                    conn.execute(sqlx::raw_sql(
                        "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                    ))
                    .await?;
                    outage::log().recovered();
                    Ok(())
                })
            }),
            // A pooled connection is pinged before use only when it has been
            // idle for a while (the server may have dropped it meanwhile), not
            // before each use as by sqlx's default: a busy node's connections
            // were in use a moment ago, and the ping is one more round trip to
            // the server per page (sqlx pings each connection given back, too).
            Backend::Postgres => options
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= POSTGRES_PING_AFTER_IDLE {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                // A new connection means the server is reachable (again).
                .after_connect(|_conn, _meta| {
                    Box::pin(async move {
                        outage::log().recovered();
                        Ok(())
                    })
                }),
        };
        let pool = options.connect(url).await.map_err(|e| StoreError::Connect(redact(url), e))?;
        Ok(Store {
            backend,
            url: url.into(),
            signal: std::sync::Arc::new(changes::ChangeSignal::new()),
            key_checks: Default::default(),
            // Half the pool at most: the other users of the pool find the other half.
            spare: std::sync::Arc::new(reads::Spare::new(pool.clone(), max_connections as usize / 2)),
            page_reads: Default::default(),
            pool,
        })
    }

    /// Applies pending schema migrations.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Which engine this store uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (readiness probe).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.close_bulk().await;
        // The pool waits for every connection to come back, the kept ones too.
        drop(self.spare.take_all());
        self.pool.close().await;
    }

    /// How many connections the pool holds and how many of them are idle
    /// (for metrics): those kept for the next page reads ([`Reads`]) are idle too.
    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle() + self.spare.len(),
            max: self.pool.options().get_max_connections(),
        }
    }

    /// How many connections wait for the next page reads ([`Reads`]) outside the pool.
    pub fn spare_connections(&self) -> usize {
        self.spare.len()
    }

    /// How many page reads ([`Store::reads`]) were begun since the store was
    /// opened: whether readers used its connections since a moment before
    /// (the web layer closes SQLite's idle connections only when none did).
    pub fn page_reads(&self) -> u64 {
        self.page_reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Gives the connections kept for page reads ([`Reads`]) back to the pool,
    /// which closes those older than it allows.
    pub fn give_back_kept(&self) {
        drop(self.spare.take_all());
    }

    /// Gives the connections kept for page reads ([`Reads`]) back to the pool
    /// and, on SQLite, closes the idle connections. A SQLite connection holds
    /// in this process its copy of the schema, the statements it prepared and
    /// the pages it read, and gives all of it back only when closed (after a
    /// first start at 1,000,000 stories, 6–14 MB of the server's heap, spread
    /// among what the server keeps; `PRAGMA shrink_memory` gave back only the
    /// pages). The next reads open connections again as they need them (the
    /// file opened, the schema read, the statements prepared: about a
    /// millisecond). An in-memory database (`mode=memory&cache=shared`) lives only
    /// while a connection is open: one stays open and shrinks.
    /// Returns how many it closed. PostgreSQL's connections keep nothing here: 0.
    pub async fn release_memory(&self) -> Result<usize> {
        let kept = self.spare.take_all();
        if self.backend != Backend::Sqlite {
            return Ok(0);
        }
        // Those idle now: connections a busy server opens meanwhile are left alone.
        let mut left = kept.len() + self.pool.num_idle();
        let mut idle = kept.into_iter().chain(std::iter::from_fn(|| {
            left = left.checked_sub(1)?;
            self.pool.try_acquire()
        }));
        let open = if sqlite_in_memory(&self.url) { idle.next() } else { None };
        let mut closed = 0;
        for conn in idle {
            conn.close().await?;
            closed += 1;
        }
        if let Some(mut open) = open {
            sqlx::query("PRAGMA shrink_memory").execute(&mut *open).await?;
        }
        Ok(closed)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock
    /// at once (`BEGIN IMMEDIATE`, waiting up to the busy timeout), so a
    /// transaction that reads first cannot fail later with "database is
    /// locked" because another connection wrote meanwhile.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}

/// How a SQLite store's connections journal their writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Journal {
    /// The write-ahead log: readers never wait for the writer.
    WriteAhead,
    /// A rollback journal, deleted at each commit ([`Store::connect_for_bulk_load`]).
    Rollback,
}

impl Journal {
    /// The statement setting it; SQLite answers with the mode it is in after.
    fn pragma(self) -> &'static str {
        match self {
            Journal::WriteAhead => "PRAGMA journal_mode = WAL",
            Journal::Rollback => "PRAGMA journal_mode = DELETE",
        }
    }

    /// Fails unless `mode`, SQLite's answer to [`Journal::pragma`], is this
    /// journal (a database in memory keeps its own, `memory`).
    fn check(self, mode: &str) -> std::result::Result<(), sqlx::Error> {
        let wanted = match self {
            Journal::WriteAhead => "wal",
            Journal::Rollback => "delete",
        };
        if mode.eq_ignore_ascii_case(wanted) || mode.eq_ignore_ascii_case("memory") {
            return Ok(());
        }
        Err(sqlx::Error::Configuration(
            format!("SQLite kept journal mode {mode} instead of {wanted}: another connection has the database open")
                .into(),
        ))
    }
}

/// How long [`leave_wal`] tries: once in CI the demo's own store, closed a
/// moment before, still held the database (a connection not yet through
/// closing its file, as far as can be told); a running server's connections
/// do not go away.
const LEAVE_WAL_PATIENCE: Duration = Duration::from_secs(3);

/// Switches the SQLite database at `url` to [`Journal::Rollback`] on a
/// connection of its own: SQLite refuses (at once, without waiting as for a
/// lock) while another connection has it open in WAL mode, so it tries again
/// for [`LEAVE_WAL_PATIENCE`].
async fn leave_wal(url: &str) -> std::result::Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    let started = std::time::Instant::now();
    let switched = loop {
        let tried = match sqlx::query_scalar::<_, String>(Journal::Rollback.pragma()).fetch_one(&mut conn).await {
            Ok(mode) => Journal::Rollback.check(&mode),
            Err(e) => Err(sqlx::Error::Configuration(
                format!(
                    "another connection has the database open (a running server?), so it keeps its write-ahead log: {e}"
                )
                .into(),
            )),
        };
        if tried.is_ok() || started.elapsed() >= LEAVE_WAL_PATIENCE {
            break tried;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    conn.close().await?;
    switched
}

/// Whether a SQLite URL names a database kept in memory (it lives only while a connection is open).
fn sqlite_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Hides a password in a database URL for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_in_another_journal_mode_than_asked_is_refused() {
        assert!(Journal::WriteAhead.check("wal").is_ok());
        assert!(Journal::WriteAhead.check("WAL").is_ok());
        assert!(Journal::Rollback.check("delete").is_ok());
        // A database in memory keeps its own mode whatever is asked.
        assert!(Journal::WriteAhead.check("memory").is_ok());
        let refused = Journal::WriteAhead.check("delete").expect_err("a store without its log");
        assert!(refused.to_string().contains("kept journal mode delete instead of wal"), "{refused}");
        assert!(Journal::Rollback.check("wal").is_err());
    }

    #[test]
    fn the_postgres_pool_grows_with_the_cpus_within_bounds() {
        assert_eq!([1, 2, 3, 4, 8, 9, 64].map(postgres_pool_size), [8, 8, 12, 16, 32, 32, 32]);
        assert_eq!(postgres_pool_size(usize::MAX), 32);
    }

    /// A PostgreSQL store opens at most as many connections as the rule says for this machine.
    #[tokio::test]
    async fn a_postgres_store_opens_the_pool_the_machine_calls_for() {
        let Some(db) = crate::testing::TestDb::postgres().await else { return };
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(db.store.pool_stats().max, postgres_pool_size(cpus));
    }

    /// A transaction that reads and then writes while another connection
    /// writes: with `BEGIN IMMEDIATE` the other waits, and both succeed
    /// (a deferred transaction would fail with "database is locked").
    #[tokio::test]
    async fn write_transactions_wait_for_each_other_on_sqlite() {
        let db = crate::testing::TestDb::sqlite().await;
        let insert = "INSERT INTO audit_log (at, actor, action, target_kind, target_id) VALUES (1, $1, 'a', 'b', 'c')";
        let mut first = db.store.begin_write().await.expect("first");
        sqlx::query("SELECT COUNT(*) FROM audit_log").fetch_one(&mut *first).await.expect("first reads");
        let store = db.store.clone();
        let second = tokio::spawn(async move {
            let mut tx = store.begin_write().await?;
            sqlx::query(insert).bind("second").execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<(), StoreError>(())
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        sqlx::query(insert).bind("first").execute(&mut *first).await.expect("first writes after reading");
        first.commit().await.expect("first commits");
        second.await.expect("task").expect("the second waited and committed");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(db.store.pool()).await.expect("n");
        assert_eq!(n, 2);
    }

    #[test]
    fn backend_is_chosen_by_scheme() {
        assert_eq!("sqlite://x.db".parse::<Backend>().ok(), Some(Backend::Sqlite));
        assert_eq!("postgres://u@h/db".parse::<Backend>().ok(), Some(Backend::Postgres));
        assert!("mysql://h/db".parse::<Backend>().is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
