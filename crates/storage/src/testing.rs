//! Fresh databases for tests: a temporary SQLite file always, and a fresh
//! PostgreSQL schema whenever `NEWSDESK_TEST_POSTGRES_URL` is set.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Backend, Store, sqlite_url_in};

/// Environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "NEWSDESK_TEST_POSTGRES_URL";

/// A migrated store that cleans up after itself.
pub struct TestDb {
    /// The store.
    pub store: Store,
    /// The URL the store was opened with (to open it again, e.g. in a second process).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl TestDb {
    /// A new SQLite database in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory for a test database");
        let url = sqlite_url_in(dir.path());
        let store = Store::connect(&url).await.expect("open test SQLite");
        store.migrate().await.expect("migrate test SQLite");
        TestDb { store, url, _dir: Some(dir), schema: None }
    }

    /// A new schema on the test PostgreSQL server, or `None` (with a note on
    /// stderr, once per test binary, shown even when output is captured) when `NEWSDESK_TEST_POSTGRES_URL` is not set.
    pub async fn postgres() -> Option<TestDb> {
        static WARNED: AtomicBool = AtomicBool::new(false);
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
        let schema = format!("t_{:016x}", rand::random::<u64>());
        let admin = Store::connect(&base).await.expect("connect to the test PostgreSQL server");
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(admin.pool()).await.expect("create test schema");
        admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let store = Store::connect(&url).await.expect("open test schema");
        store.migrate().await.expect("migrate test PostgreSQL schema");
        Some(TestDb { store, url, _dir: None, schema: Some((base, schema)) })
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
        let Some((base, schema)) = self.schema.take() else { return };
        // Drop the schema from a separate thread: Drop cannot await, and the
        // test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok(admin) = Store::connect(&base).await {
                    // A failed test may leave a transaction open on the schema: do not wait for it.
                    let sql = format!("SET lock_timeout = '2s'; DROP SCHEMA {schema} CASCADE;");
                    let _ = sqlx::raw_sql(&sql).execute(admin.pool()).await;
                    admin.close().await;
                }
            });
        })
        .join();
    }
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
