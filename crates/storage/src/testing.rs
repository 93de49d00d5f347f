//! Fresh databases for tests: a temporary SQLite file always, and a fresh
//! PostgreSQL database whenever `NEWSDESK_TEST_POSTGRES_URL` is set.
//!
//! Running the migrations for every test costs a quarter of a second on
//! SQLite and most of a second on PostgreSQL, hundreds of times per run, so
//! each is done once: SQLite's migrated file is kept in memory per test
//! process and written out for each test; PostgreSQL's migrated database is a
//! template (named after the migrations' checksums, built once per server
//! under an advisory lock), which `CREATE DATABASE ... TEMPLATE` copies. Each
//! copy gets its own database identity, as a database made from scratch would.

use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};
use sqlx::Connection;
use tokio::sync::OnceCell;

use crate::{Backend, POSTGRES_MIGRATOR, Store, sqlite_url_in};

/// Environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "NEWSDESK_TEST_POSTGRES_URL";

/// A migrated store that cleans up after itself.
pub struct TestDb {
    /// The store.
    pub store: Store,
    /// The URL the store was opened with (to open it again, e.g. in a second process).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    database: Option<(String, String)>,
}

impl TestDb {
    /// The plan of `sql` with `args` bound, a line each: the details of
    /// `EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on PostgreSQL with
    /// sequential scans off (an empty table is scanned whatever its indexes).
    #[cfg(test)]
    pub(crate) async fn plan(&self, sql: &str, args: crate::sql::Args) -> Vec<String> {
        use sqlx::Row;
        let pool = sqlx::AnyPool::connect(&self.url).await.expect("raw pool");
        let mut conn = pool.acquire().await.expect("connection");
        let explain = match self.store.backend() {
            Backend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
            Backend::Postgres => {
                sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await.expect("set");
                format!("EXPLAIN {sql}")
            }
        };
        let rows = args.bind_to(sqlx::query(&explain)).fetch_all(&mut *conn).await.expect("plan");
        let plan = rows
            .iter()
            .map(|r| match self.store.backend() {
                Backend::Sqlite => r.get::<String, _>("detail"),
                Backend::Postgres => r.get::<String, _>(0),
            })
            .collect();
        drop(conn);
        pool.close().await;
        plan
    }

    /// A new SQLite database in a temporary directory.
    pub async fn sqlite() -> TestDb {
        static TEMPLATE: OnceCell<Vec<u8>> = OnceCell::const_new();
        let template = TEMPLATE.get_or_init(sqlite_template).await;
        let dir = tempfile::tempdir().expect("temporary directory for a test database");
        std::fs::write(dir.path().join("newsdesk.db"), template).expect("write the test database");
        let url = sqlite_url_in(dir.path());
        let store = Store::connect(&url).await.expect("open test SQLite");
        store.migrate().await.expect("migrate test SQLite");
        renew_identity(&store).await;
        TestDb { store, url, _dir: Some(dir), database: None }
    }

    /// A new database on the test PostgreSQL server, or `None` (with a note on
    /// stderr, once per test binary, shown even when output is captured) when `NEWSDESK_TEST_POSTGRES_URL` is not set.
    pub async fn postgres() -> Option<TestDb> {
        static WARNED: AtomicBool = AtomicBool::new(false);
        static TEMPLATE: OnceCell<String> = OnceCell::const_new();
        let Ok(base) = std::env::var(POSTGRES_ENV) else {
            if !WARNED.swap(true, Ordering::Relaxed) {
                // Straight to stderr, past the test harness's capture: whoever
                // runs the tests should see that half of them did not run.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "note: {POSTGRES_ENV} is not set: PostgreSQL tests skipped (SQLite tests run)"
                );
            }
            return None;
        };
        let template = TEMPLATE.get_or_init(|| postgres_template(&base)).await;
        let name = format!("t_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::PgConnection::connect(&base).await.expect("connect to the test PostgreSQL server");
        let mut tries = 0;
        // Copying a template fails while anybody is connected to it; nobody
        // should be, but a template being built elsewhere may briefly be.
        while let Err(e) = sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin).await
        {
            tries += 1;
            assert!(tries < 50, "create test database from {template}: {e}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let _ = admin.close().await;
        let url = url_with_database(&base, &name);
        let store = Store::connect(&url).await.expect("open test database");
        store.migrate().await.expect("migrate test PostgreSQL database");
        renew_identity(&store).await;
        Some(TestDb { store, url, _dir: None, database: Some((base, name)) })
    }

    /// A new database of `backend` migrated up to migration `version` only
    /// (`None`: PostgreSQL not configured): to check what a later migration
    /// does to data written before it. [`Store::migrate`] brings it up to date.
    #[cfg(test)]
    pub(crate) async fn migrated_to(backend: Backend, version: i64) -> Option<TestDb> {
        let (url, dir, database) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory for a test database");
                (sqlite_url_in(dir.path()), Some(dir), None)
            }
            Backend::Postgres => {
                let base = std::env::var(POSTGRES_ENV).ok()?;
                let name = format!("t_{:016x}", rand::random::<u64>());
                let mut admin =
                    sqlx::PgConnection::connect(&base).await.expect("connect to the test PostgreSQL server");
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
                let _ = admin.close().await;
                (url_with_database(&base, &name), None, Some((base, name)))
            }
        };
        let store = Store::connect(&url).await.expect("open the test database");
        let all = match backend {
            Backend::Sqlite => &crate::SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        let first: Vec<_> = all.iter().filter(|m| m.version <= version).cloned().collect();
        assert!(first.iter().any(|m| m.version == version), "there is no migration {version}");
        let migrator =
            sqlx::migrate::Migrator { migrations: std::borrow::Cow::Owned(first), ..sqlx::migrate::Migrator::DEFAULT };
        migrator.run(store.pool()).await.expect("migrate the test database part way");
        Some(TestDb { store, url, _dir: dir, database })
    }

    /// A database of the given backend (`None`: PostgreSQL not configured).
    pub async fn of(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb::sqlite().await),
            Backend::Postgres => TestDb::postgres().await,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, name)) = self.database.take() else { return };
        // Drop the database from a separate thread: Drop cannot await, and the
        // test's runtime may be shutting down. FORCE ends the connections a
        // failed test (or a server it started) may still hold.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&base).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Gives a copied database the identity a new one gets from migration 15.
async fn renew_identity(store: &Store) {
    sqlx::query("UPDATE site_identity SET database_id = $1, incarnation = $2 WHERE singleton = 1")
        .bind(format!("{:032x}", rand::random::<u128>()))
        .bind(format!("{:032x}", rand::random::<u128>()))
        .execute(store.pool())
        .await
        .expect("renew the test database's identity");
}

/// The bytes of a freshly migrated SQLite database.
async fn sqlite_template() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temporary directory for the template database");
    let store = Store::connect(&sqlite_url_in(dir.path())).await.expect("open template SQLite");
    store.migrate().await.expect("migrate template SQLite");
    // Everything into the main file, so that file alone is the database.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(store.pool()).await.expect("checkpoint");
    store.close().await;
    std::fs::read(dir.path().join("newsdesk.db")).expect("read template SQLite")
}

/// The name of a migrated template database on the server at `base`, made if
/// missing. The name holds the migrations' checksums, so a template is never
/// used by a build whose migrations differ.
async fn postgres_template(base: &str) -> String {
    let mut hash = Sha256::new();
    for m in POSTGRES_MIGRATOR.iter() {
        hash.update(m.version.to_le_bytes());
        hash.update(&m.checksum);
    }
    let name = format!("newsdesk_tmpl_{}", &hex::encode(hash.finalize())[..16]);
    let mut admin = sqlx::PgConnection::connect(base).await.expect("connect to the test PostgreSQL server");
    // One builder at a time across test processes (advisory locks are per database: all use `base`'s).
    sqlx::query("SELECT pg_advisory_lock(7417700117)").execute(&mut admin).await.expect("template lock");
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .expect("look for the template");
    if !exists {
        let building = format!("{name}_building");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .expect("drop a half-built template");
        sqlx::query(&format!("CREATE DATABASE {building}")).execute(&mut admin).await.expect("create template");
        let store = Store::connect(&url_with_database(base, &building)).await.expect("open template");
        store.migrate().await.expect("migrate template PostgreSQL database");
        store.close().await;
        sqlx::query(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut admin)
            .await
            .expect("name the template");
        // Templates of older migrations are of no more use.
        let old: Vec<String> = sqlx::query_scalar(
            "SELECT datname FROM pg_database WHERE datname LIKE 'newsdesk\\_tmpl\\_%' AND datname <> $1",
        )
        .bind(&name)
        .fetch_all(&mut admin)
        .await
        .unwrap_or_default();
        for db in old {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&mut admin).await;
        }
    }
    sqlx::query("SELECT pg_advisory_unlock(7417700117)").execute(&mut admin).await.expect("template unlock");
    let _ = admin.close().await;
    name
}

/// `base` (a `postgres://` URL) naming the database `name` instead of its own.
fn url_with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let authority_end = head.find("://").map(|i| i + 3).unwrap_or(0);
    let server = match head[authority_end..].find('/') {
        Some(slash) => &head[..authority_end + slash],
        None => head,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// Every row of every table of `store` except `skip` (and the migrations'
/// bookkeeping), each value as text (`None` for NULL), rows sorted, by table
/// name: to check that two ways of writing the same thing leave the same
/// database. A number within `now` (the Unix seconds a test ran between) reads
/// `"<now>"`, so times of saving taken a second apart compare equal.
pub async fn dump(
    store: &Store,
    skip: &[&str],
    now: std::ops::RangeInclusive<i64>,
) -> std::collections::BTreeMap<String, Vec<Vec<Option<String>>>> {
    use sqlx::Row;
    let pool = store.pool();
    let list = match store.backend() {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
    };
    let tables: Vec<String> = sqlx::query_scalar(list).fetch_all(pool).await.expect("list the tables");
    let mut out = std::collections::BTreeMap::new();
    for table in tables {
        if table.starts_with("_sqlx") || skip.contains(&table.as_str()) {
            continue;
        }
        let columns: Vec<String> = match store.backend() {
            Backend::Sqlite => {
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                    .bind(&table)
                    .fetch_all(pool)
                    .await
            }
            Backend::Postgres => {
                sqlx::query_scalar(
                    "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                )
                .bind(&table)
                .fetch_all(pool)
                .await
            }
        }
        .expect("list the columns");
        // Blobs (SQLite) as hex: they are not text.
        let select = columns
            .iter()
            .map(|c| match store.backend() {
                Backend::Sqlite => {
                    format!("CASE WHEN typeof(\"{c}\") = 'blob' THEN hex(\"{c}\") ELSE CAST(\"{c}\" AS TEXT) END")
                }
                Backend::Postgres => format!("CAST(\"{c}\" AS TEXT)"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!("SELECT {select} FROM \"{table}\""))
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("read {table}: {e}"));
        let mut values: Vec<Vec<Option<String>>> = rows
            .iter()
            .map(|r| {
                (0..columns.len())
                    .map(|i| {
                        let v: Option<String> = r.try_get(i).unwrap_or_else(|e| panic!("read {table}: {e}"));
                        v.map(|v| match v.parse::<i64>() {
                            Ok(n) if now.contains(&n) => "<now>".to_string(),
                            _ => v,
                        })
                    })
                    .collect()
            })
            .collect();
        values.sort();
        out.insert(format!("{table} ({})", columns.join(", ")), values);
    }
    out
}

/// Declares a test that runs once per backend: `mod name { sqlite, postgres }`.
/// The body gets a `TestDb`; the PostgreSQL case passes without running when no
/// server is configured (and says so on stderr).
#[macro_export]
macro_rules! backend_test {
    ($(#[$meta:meta])* async fn $name:ident($db:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($db: $crate::testing::TestDb) $body

            #[tokio::test]
            async fn sqlite() {
                run($crate::testing::TestDb::sqlite().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = $crate::testing::TestDb::postgres().await {
                    run(db).await;
                }
            }
        }
    };
}

/// Waits (at most 5 s, then panics) until every open connection of `store` is
/// idle: given back to the pool, or kept for page reads. A connection let go
/// goes back to the pool on a task of its own, so tests that count or close
/// idle connections wait for this first.
pub async fn all_idle(store: &Store) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.pool_stats().idle < store.pool_stats().size as usize {
        assert!(std::time::Instant::now() < deadline, "a connection was not given back: {:?}", store.pool_stats());
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The default English edition ("Test", UTC) of a test database, made if missing; its id.
pub async fn english_edition(store: &Store) -> i64 {
    store
        .upsert_edition(&crate::NewEdition {
            lang: "en".into(),
            name: "Test".into(),
            direction: newsdesk_domain::Direction::Ltr,
            time_zone: chrono_tz::UTC,
            is_default: true,
        })
        .await
        .expect("edition")
        .id
}

/// The stories whose byline kept in their row (`stories.byline`, migration
/// 40) is not what their link tables give (the view `story_bylines`), each
/// with the two lists; compared as JSON, so the engines' own spacing and
/// the store's own writes agree. Also the number of stories compared (a check
/// of no story proves nothing).
pub async fn stale_bylines(store: &Store) -> (usize, Vec<(newsdesk_domain::NewsId, String, String)>) {
    use sqlx::Row;
    let rows =
        sqlx::query("SELECT s.news_id, s.byline, l.list FROM stories s JOIN story_bylines l ON l.news_id = s.news_id")
            .fetch_all(store.pool())
            .await
            .expect("read the bylines");
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).expect("a byline is JSON");
    let mut stale = Vec::new();
    for r in &rows {
        let (kept, linked): (String, String) = (r.get("byline"), r.get("list"));
        if parse(&kept) != parse(&linked) {
            stale.push((r.get("news_id"), kept, linked));
        }
    }
    (rows.len(), stale)
}

#[cfg(test)]
mod tests {
    use super::url_with_database;

    #[test]
    fn the_database_of_a_url_is_replaced_and_its_options_kept() {
        assert_eq!(
            url_with_database("postgres://postgres@127.0.0.1:5432/test", "t_1"),
            "postgres://postgres@127.0.0.1:5432/t_1"
        );
        assert_eq!(
            url_with_database("postgres://u@h/test?sslmode=disable", "t_1"),
            "postgres://u@h/t_1?sslmode=disable"
        );
        assert_eq!(url_with_database("postgres://u@h", "t_1"), "postgres://u@h/t_1");
    }
}
