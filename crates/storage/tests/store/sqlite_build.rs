//! How the bundled SQLite is built (`.cargo/config.toml`, `LIBSQLITE3_FLAGS`).

use newsdesk_storage::testing::TestDb;
use sqlx::Row;

/// The bundled SQLite has neither one page cache shared by every connection
/// (`SQLITE_ENABLE_MEMORY_MANAGEMENT`) nor memory statistics on: each puts a
/// process-wide lock on every read, and the site's readers queued on them
/// (a story page not yet cached: 1.2 → 0.77 ms of CPU at 1,000,000 stories).
/// A build without the workspace's `.cargo/config.toml` fails here.
#[tokio::test]
async fn the_bundled_sqlite_takes_no_process_wide_lock_on_reads() {
    let db = TestDb::sqlite().await;
    let pool = sqlx::AnyPool::connect(&db.url).await.expect("raw pool");
    let options: Vec<String> = sqlx::query("PRAGMA compile_options")
        .fetch_all(&pool)
        .await
        .expect("compile options")
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    assert!(options.iter().any(|o| o == "THREADSAFE=1"), "read as expected: {options:?}");
    assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "one shared page cache: {options:?}");
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "memory statistics on: {options:?}");
}
