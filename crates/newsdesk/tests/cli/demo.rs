//! `newsdesk demo` on SQLite as a user runs it: a new database is filled
//! through a rollback journal and left in WAL; beside another connection (a
//! running server) the fill goes through the log, and says so.

use std::path::Path;
use std::process::{Command, Output};

use newsdesk_storage::{Store, sqlite_url_in};

fn demo(data: &Path, stories: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &data.display().to_string(), "demo", "--stories", stories])
        .env_remove("NEWSDESK_CONFIG")
        .env_remove("NEWSDESK_DATABASE_URL")
        .output()
        .expect("run newsdesk demo")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Whether the database file's header says WAL (bytes 18 and 19 are 2; 1 for a rollback journal).
fn in_wal(data: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 20];
    let mut file = std::fs::File::open(data.join("newsdesk.db")).expect("open the database");
    file.read_exact(&mut header).expect("read the database's header");
    header[18..20] == [2, 2]
}

const WAL_NOTE: &str = "filling through the write-ahead log";

#[test]
fn demo_fills_a_new_database_and_leaves_it_in_write_ahead_logging() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let out = demo(&data, "60");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("created "), "{}", text(&out.stdout));
    assert!(!text(&out.stderr).contains(WAL_NOTE), "nothing else had it open: {}", text(&out.stderr));
    assert!(in_wal(&data), "the database is back in WAL");
    assert!(!data.join("newsdesk.db-journal").exists(), "no rollback journal is left");

    let again = demo(&data, "60");
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout).trim(), "the site already has stories; nothing was added");
    assert!(in_wal(&data));
}

#[tokio::test]
async fn demo_beside_an_open_database_fills_through_the_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data directory");
    // What a running server holds: the database open in WAL.
    let store = Store::connect(&sqlite_url_in(&data)).await.expect("open");
    store.migrate().await.expect("migrate");
    assert_eq!(store.story_count().await.expect("count"), 0);

    let filled = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || demo(&data, "60")).await.expect("demo")
    };
    assert!(filled.status.success(), "{}", text(&filled.stderr));
    assert!(text(&filled.stderr).contains(WAL_NOTE), "{}", text(&filled.stderr));
    assert!(store.story_count().await.expect("count") > 60, "the open store sees the stories");
    assert!(in_wal(&data));
    store.close().await;
}

/// A fill killed in the middle of a transaction leaves a whole database: the
/// next store rolls the interrupted batch back from the journal, returns the
/// database to WAL, and every story kept has all of its rows.
#[tokio::test]
async fn a_fill_killed_midway_leaves_a_whole_database() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        // More than it can fill before it is killed, however fast the machine
        // (200,000 once ended first, on a fast one).
        .args(["--data", &data.display().to_string(), "demo", "--stories", "5000000"])
        .env_remove("NEWSDESK_CONFIG")
        .env_remove("NEWSDESK_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start newsdesk demo");
    // Killed once a batch of stories is being written: its journal is there.
    let journal = data.join("newsdesk.db-journal");
    let started = std::time::Instant::now();
    let mut seen = 0;
    while seen < 20 {
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "no transaction seen");
        assert!(child.try_wait().expect("wait").is_none(), "the fill ended before it was killed");
        if journal.exists() && !in_wal(&data) {
            seen += 1;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().expect("kill");
    child.wait().expect("reap");

    let url = sqlite_url_in(&data);
    let store = Store::connect(&url).await.expect("open after the kill");
    assert!(in_wal(&data));
    let pool = sqlx::AnyPool::connect(&url).await.expect("raw pool");
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.expect("check");
    assert_eq!(integrity, "ok");
    assert!(sqlx::query("PRAGMA foreign_key_check").fetch_all(&pool).await.expect("keys").is_empty());
    // The synthetic stories (after the seed, 84427), each with its revision, change-log entry and byline.
    let synthetic: i64 =
        sqlx::query_scalar("SELECT count(*) FROM stories WHERE news_id > 84427").fetch_one(&pool).await.expect("count");
    let whole: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM stories s WHERE s.news_id > 84427 \
         AND EXISTS (SELECT 1 FROM story_revisions r WHERE r.news_id = s.news_id) \
         AND EXISTS (SELECT 1 FROM story_changes c WHERE c.news_id = s.news_id) \
         AND EXISTS (SELECT 1 FROM story_authors a WHERE a.news_id = s.news_id)",
    )
    .fetch_one(&pool)
    .await
    .expect("whole stories");
    assert_eq!(whole, synthetic, "every story kept has all its rows");
    // Stored 8,000 a transaction on SQLite (`SQLITE_BATCH` in src/demo): whole batches or none.
    assert_eq!(synthetic % 8_000, 0, "{synthetic} synthetic stories: part of a batch was kept");
    pool.close().await;
    store.close().await;
}
