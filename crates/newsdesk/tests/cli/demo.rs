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
    let header = std::fs::read(data.join("newsdesk.db")).expect("read the database");
    header.get(18..20) == Some(&[2, 2][..])
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
