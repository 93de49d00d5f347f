//! The database's identity (both engines), and backups and restores of a
//! SQLite site: consistent while writers write, checked before anything is
//! replaced, refused over a site in use or with content.

use crate::edition;
use std::path::Path;
use std::time::Duration;

use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::backup::restore_sqlite;
use newsdesk_storage::testing::TestDb;
use newsdesk_storage::{BackupError, SectionRef, Store, StoryInput, backend_test, sqlite_url_in};
use sha2::{Digest, Sha256};

async fn publish(store: &Store, edition_id: i64, headline: &str) -> i64 {
    store
        .save_story(&StoryInput {
            news_id: None,
            edition_id,
            section: SectionRef::Names(vec!["World".into()]),
            slug: None,
            headline: headline.into(),
            lead: "Lead.".into(),
            body_source: "Body.".into(),
            body_format: BodyFormat::Text,
            photo_id: None,
            gallery_id: None,
            status: StoryStatus::Published,
            published_at: Some(chrono::Utc::now()),
            tags: Vec::new(),
            authors: Vec::new(),
            agency: None,
            actor: "test".into(),
        })
        .await
        .expect("story")
        .0
}

/// A backup of a site with one published story ("In the backup"), in a
/// temporary directory that lives as long as the returned guard.
async fn one_story_backup() -> (tempfile::TempDir, std::path::PathBuf) {
    let source = TestDb::sqlite().await;
    let e = edition(&source.store).await;
    publish(&source.store, e, "In the backup").await;
    let dir = tempfile::tempdir().expect("tmp");
    let backup = dir.path().join("good.backup");
    source.store.backup_to(&backup, false).await.expect("backup");
    (dir, backup)
}

fn digest(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read")))
}

backend_test! {
    async fn the_identity_is_kept_and_a_renewal_changes_only_the_incarnation(db) {
        let first = db.store.database_identity().await.expect("identity");
        assert_eq!(first.database_id.len(), 32, "{first:?}");
        assert_eq!(db.store.database_identity().await.expect("again"), first);
        let renewed = db.store.renew_incarnation().await.expect("renew");
        assert_eq!(renewed.database_id, first.database_id);
        assert_ne!(renewed.incarnation, first.incarnation);
        assert_eq!(db.store.database_identity().await.expect("read back"), renewed);

        let other = TestDb::of(db.store.backend()).await.expect("a second database of the same engine");
        assert_ne!(other.store.database_identity().await.expect("other").database_id, first.database_id);

        // Change marks name one entry of the log.
        let e = edition(&db.store).await;
        let news_id = publish(&db.store, e, "Marked").await;
        let last = db.store.last_change_id().await.expect("head");
        let mark = db.store.change_mark(last).await.expect("mark").expect("exists");
        assert_eq!((mark.id, mark.news_id), (last, news_id));
        assert_eq!(db.store.change_mark(last + 1).await.expect("none"), None);
        assert_eq!(db.store.change_mark_at_or_below(last + 50).await.expect("below"), Some(mark));
    }
}

backend_test! {
    async fn backup_on_postgresql_points_to_pg_dump(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let result = db.store.backup_to(&dir.path().join("b.db"), false).await;
        match db.store.backend() {
            newsdesk_storage::Backend::Postgres => {
                let err = result.expect_err("refused");
                assert!(matches!(err, BackupError::Postgres) && err.to_string().contains("pg_dump"), "{err}");
            }
            newsdesk_storage::Backend::Sqlite => {
                result.expect("a SQLite backup");
            }
        }
    }
}

/// A backup taken while four writers publish holds a prefix of their work
/// (every story with its change-log entry), and restores into a working site
/// with the same database id and a new incarnation; the backup file is only read.
#[tokio::test]
async fn a_backup_taken_while_writers_write_is_consistent_and_restores() {
    let db = TestDb::sqlite().await;
    let e = edition(&db.store).await;
    for i in 0..20 {
        publish(&db.store, e, &format!("Before {i}")).await;
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = db.store.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    publish(&store, e, &format!("Writer {w} story {n}")).await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("site.backup");
    let summary = db.store.backup_to(&file, false).await.expect("backup while writing");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.expect("writer");
    }
    assert!(written > 0, "the writers wrote during the backup");
    assert!(summary.stories >= 20 && summary.bytes > 0, "{summary:?}");
    let total = db.store.story_count().await.expect("count");
    assert!(summary.stories < total, "later stories are not in the backup: {summary:?} of {total}");
    assert!(!dir.path().join("site.backup.partial").exists());

    // The same file again is refused without force, replaced with it.
    let again = db.store.backup_to(&file, false).await.expect_err("exists");
    assert!(matches!(again, BackupError::Exists(_)), "{again}");
    let before = digest(&file);

    let target = tempfile::tempdir().expect("target");
    let restored = restore_sqlite(&file, &target.path().join("newsdesk.db"), false).await.expect("restore");
    assert_eq!(restored.stories, summary.stories);
    assert_eq!(digest(&file), before, "the backup file is only read");
    let site = Store::connect(&sqlite_url_in(target.path())).await.expect("open restored");
    site.migrate().await.expect("up to date");
    assert_eq!(site.story_count().await.expect("stories"), summary.stories);
    // Every story in the copy has its change: a consistent snapshot, not a torn one.
    let changed: i64 = site.changes_since(0, 1_000_000).await.expect("log").len() as i64;
    assert!(changed >= summary.stories, "{changed} changes for {} stories", summary.stories);
    let original = db.store.database_identity().await.expect("identity");
    let copy = site.database_identity().await.expect("identity");
    assert_eq!(copy.database_id, original.database_id);
    assert_ne!(copy.incarnation, original.incarnation, "a restore renews the incarnation");
    site.close().await;
    db.store.backup_to(&file, true).await.expect("replaced with --force");
}

#[tokio::test]
async fn a_restore_refuses_foreign_and_damaged_files_a_site_with_content_and_a_database_in_use() {
    let (dir, backup) = one_story_backup().await;

    let site = TestDb::sqlite().await;
    let se = edition(&site.store).await;
    publish(&site.store, se, "Already here").await;
    let db_file = newsdesk_storage::backup::sqlite_file(&site.url).expect("file");
    let identity = site.store.database_identity().await.expect("identity");

    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "these are not the stories you are looking for\n".repeat(10)).expect("write");
    let truncated = dir.path().join("truncated.backup");
    let bytes = std::fs::read(&backup).expect("read");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).expect("write");
    let other_sqlite = dir.path().join("other.sqlite");
    {
        let other =
            sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", other_sqlite.display())).await.expect("db");
        sqlx::query("CREATE TABLE notes (text TEXT)").execute(&other).await.expect("some other application's table");
        other.close().await;
    }
    let newer = dir.path().join("newer.backup");
    std::fs::copy(&backup, &newer).expect("copy");
    {
        // A newer build's migration, recorded as applied.
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", newer.display())).await.expect("raw");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (29991231000001, 'from the future', 1, x'00', 0)",
        )
        .execute(&pool)
        .await
        .expect("fake version");
        pool.close().await;
    }

    for (file, force, expect) in [
        (&foreign, true, "not an SQLite database"),
        (&truncated, true, "damaged"),
        (&other_sqlite, true, "has no _sqlx_migrations table"),
        (&newer, true, "made by a newer newsdesk (schema 29991231000001"),
        (&backup, false, "is not empty (1 stories, 0 users, 0 photos)"),
        (&backup, true, "in use"),
    ] {
        let err = restore_sqlite(file, &db_file, force).await.expect_err("refused").to_string();
        assert!(err.contains(expect), "{}: {err}", file.display());
        assert!(!err.contains('\n'), "one line: {err}");
        // Nothing changed: the site answers with its own story and identity.
        assert_eq!(site.store.story_count().await.expect("count"), 1);
        assert_eq!(site.store.database_identity().await.expect("identity"), identity);
        assert!(!db_file.with_file_name("newsdesk.db.restoring").exists());
    }

    // Once the site's store is closed (the server stopped), the restore goes through.
    site.store.close().await;
    let summary = restore_sqlite(&backup, &db_file, true).await.expect("restore");
    assert_eq!(summary.stories, 1);
    let reopened = Store::connect(&site.url).await.expect("reopen");
    let only = reopened.indexable_stories(0, 10).await.expect("stories");
    assert_eq!(only.iter().map(|s| s.headline.as_str()).collect::<Vec<_>>(), vec!["In the backup"]);
    reopened.close().await;
}

/// A restore asked while the site's store is still open, which closes 500 ms
/// later (a server stopping): the take-over, tried again meanwhile, goes through.
#[tokio::test]
async fn a_restore_waits_for_a_store_closing_meanwhile() {
    let (_dir, backup) = one_story_backup().await;

    let site = TestDb::sqlite().await;
    edition(&site.store).await;
    let db_file = newsdesk_storage::backup::sqlite_file(&site.url).expect("file");
    let closing = {
        let store = site.store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            store.close().await;
        })
    };
    let summary = restore_sqlite(&backup, &db_file, true).await.expect("restored once the store closed");
    closing.await.expect("closed");
    assert_eq!(summary.stories, 1);
    let reopened = Store::connect(&site.url).await.expect("reopen");
    let only = reopened.indexable_stories(0, 10).await.expect("stories");
    assert_eq!(only.iter().map(|s| s.headline.as_str()).collect::<Vec<_>>(), vec!["In the backup"]);
    reopened.close().await;
}

#[tokio::test]
async fn a_restore_refused_for_content_changes_no_byte_of_a_site_whose_log_is_not_checkpointed() {
    let (_dir, backup) = one_story_backup().await;

    // A stopped site whose last writes are still in its write-ahead log (as a
    // server killed before it closed its pool leaves it): the files are
    // copied while the store has them open.
    let site = TestDb::sqlite().await;
    let se = edition(&site.store).await;
    publish(&site.store, se, "Still in the log").await;
    let live = newsdesk_storage::backup::sqlite_file(&site.url).expect("file");
    let stopped = tempfile::tempdir().expect("stopped");
    let db_file = stopped.path().join("newsdesk.db");
    let wal_file = stopped.path().join("newsdesk.db-wal");
    std::fs::copy(&live, &db_file).expect("copy db");
    std::fs::copy(live.with_file_name("newsdesk.db-wal"), &wal_file).expect("copy wal");
    assert!(std::fs::metadata(&wal_file).expect("wal").len() > 0, "the copied log holds the writes");
    let before = (digest(&db_file), digest(&wal_file));

    let err = restore_sqlite(&backup, &db_file, false).await.expect_err("refused").to_string();
    assert!(err.contains("is not empty (1 stories"), "{err}");
    assert_eq!((digest(&db_file), digest(&wal_file)), before, "looking at the site wrote nothing");
    site.store.close().await;
}
