//! The index knows which database, and which point of it, it follows: a
//! restored database (new incarnation), another database, or an older copy
//! put back by the engine's own tools (SQLite file copy, PostgreSQL
//! pg_dump/pg_restore) make it rebuild at start, on both engines.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use newsdesk_domain::{BodyFormat, Direction, StoryStatus};
use newsdesk_search::{Filters, SearchIndex, follow, rebuild_reason};
use newsdesk_storage::testing::TestDb;
use newsdesk_storage::{Backend, NewEdition, SectionRef, Store, StoryInput, backend_test};

async fn edition(store: &Store) -> i64 {
    store
        .upsert_edition(&NewEdition {
            lang: "en".into(),
            name: "Edition".into(),
            direction: Direction::Ltr,
            time_zone: chrono_tz::Asia::Tehran,
            is_default: true,
        })
        .await
        .expect("edition")
        .id
}

async fn publish(store: &Store, edition_id: i64, news_id: i64, headline: &str) {
    store
        .save_story(&StoryInput {
            news_id: Some(news_id),
            edition_id,
            section: SectionRef::Names(vec!["Iran".into()]),
            slug: None,
            headline: headline.into(),
            lead: "Lead.".into(),
            body_source: "Body.".into(),
            body_format: BodyFormat::Text,
            photo_id: None,
            gallery_id: None,
            status: StoryStatus::Published,
            published_at: Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().expect("time")),
            tags: Vec::new(),
            authors: Vec::new(),
            agency: None,
            actor: "test".into(),
        })
        .await
        .expect("save");
}

fn found(index: &SearchIndex, q: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = index
        .search("en", q, &Filters::default(), 1, &newsdesk_search::NoBodies)
        .expect("search")
        .hits
        .iter()
        .map(|h| h.news_id)
        .collect();
    ids.sort_unstable();
    ids
}

fn open(dir: &Path) -> Arc<SearchIndex> {
    Arc::new(SearchIndex::open_or_create(&dir.join("search")).expect("open index"))
}

/// Starts a node's follower on `dir`'s index until it has started (recorded
/// the change it reached) and `done` holds of it, then stops it and closes
/// the index (as a server stopping).
async fn run_node(dir: &Path, store: &Store, done: impl Fn(&SearchIndex) -> bool) {
    let index = open(dir);
    let task = tokio::spawn(follow(index.clone(), store.clone(), Duration::from_millis(50)));
    let start = Instant::now();
    let started = |i: &SearchIndex| {
        let p = i.position();
        p.anchor.map(|a| a.id) == p.applied_change
    };
    while !(started(&index) && done(&index)) {
        assert!(start.elapsed() < Duration::from_secs(20), "the index never reached the expected state");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    task.abort();
    let _ = task.await;
    // Index work already handed to a blocking thread finishes on its own; the
    // index is closed (its writer lock released) when the last handle goes.
    while Arc::strong_count(&index) > 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

backend_test! {
    async fn a_new_incarnation_or_another_database_makes_the_index_rebuild_at_start(db) {
        let dir = tempfile::tempdir().expect("dir");
        let e = edition(&db.store).await;
        publish(&db.store, e, 1, "Harbour reopens").await;
        publish(&db.store, e, 2, "Harbour strike ends").await;
        run_node(dir.path(), &db.store, |i| found(i, "harbour") == vec![1, 2]).await;

        // The index loses story 1 behind the follower's back: only a rebuild brings it back.
        {
            let index = open(dir.path());
            assert_eq!(rebuild_reason(&index, &db.store).await.expect("check"), None, "same database, same point");
            index.remove(1).expect("remove");
            index.commit().expect("commit");
            assert_eq!(found(&index, "harbour"), vec![2]);
        }

        // A restore renews the incarnation: the next start rebuilds.
        db.store.renew_incarnation().await.expect("renew");
        {
            let index = open(dir.path());
            let reason = rebuild_reason(&index, &db.store).await.expect("check");
            assert_eq!(reason, Some("the database was restored since the index was filled"));
        }
        run_node(dir.path(), &db.store, |i| found(i, "harbour") == vec![1, 2]).await;
        {
            let index = open(dir.path());
            assert_eq!(rebuild_reason(&index, &db.store).await.expect("check"), None, "rebuilt: recorded anew");
        }

        // The same index pointed at another database (of the same engine) rebuilds from that one.
        let other = TestDb::of(db.store.backend()).await.expect("second database");
        let oe = edition(&other.store).await;
        publish(&other.store, oe, 7, "Harbour cranes arrive").await;
        {
            let index = open(dir.path());
            let reason = rebuild_reason(&index, &other.store).await.expect("check");
            assert_eq!(reason, Some("the index was filled from another database"));
        }
        run_node(dir.path(), &other.store, |i| found(i, "harbour") == vec![7]).await;
    }
}

backend_test! {
    async fn an_older_copy_put_back_with_the_engines_own_tools_makes_the_index_rebuild(db) {
        let dir = tempfile::tempdir().expect("dir");
        let e = edition(&db.store).await;
        publish(&db.store, e, 1, "Bridge opens").await;
        publish(&db.store, e, 2, "Bridge tolls set").await;
        run_node(dir.path(), &db.store, |i| found(i, "bridge") == vec![1, 2]).await;

        let saved = Saved::take(&db).await;
        // After the copy: a new story, one taken down, one renamed; the index follows.
        publish(&db.store, e, 3, "Bridge traffic doubles").await;
        db.store.set_story_status(2, StoryStatus::Unpublished).await.expect("unpublish");
        publish(&db.store, e, 1, "Tunnel opens").await;
        run_node(dir.path(), &db.store, |i| found(i, "bridge") == vec![3] && found(i, "tunnel") == vec![1]).await;

        // The copy is put back by hand (no new incarnation on SQLite), and the
        // site writes again, past the change the index had reached.
        let store = saved.put_back(&db).await;
        for n in 0..6 {
            publish(&store, e, 100 + n, &format!("Ferry route {n}")).await;
        }
        {
            let index = open(dir.path());
            let reason = rebuild_reason(&index, &store).await.expect("check");
            assert!(reason.is_some(), "the index must notice: {:?}", index.position());
        }
        run_node(dir.path(), &store, |i| {
            found(i, "bridge") == vec![1, 2] && found(i, "tunnel").is_empty() && found(i, "ferry").len() == 6
        })
        .await;
    }
}

/// An older copy of a test database, made and put back the way an operator
/// without `newsdesk restore` would: a file copy on SQLite, pg_dump and
/// `pg_restore --clean` on PostgreSQL.
enum Saved {
    Sqlite { copy: tempfile::TempDir },
    Postgres { dump: tempfile::TempDir },
}

impl Saved {
    async fn take(db: &TestDb) -> Saved {
        match db.store.backend() {
            Backend::Sqlite => {
                let copy = tempfile::tempdir().expect("dir");
                db.store.backup_to(&copy.path().join("copy.db"), false).await.expect("copy");
                Saved::Sqlite { copy }
            }
            Backend::Postgres => {
                let dump = tempfile::tempdir().expect("dir");
                let out = std::process::Command::new("pg_dump")
                    .args(["--format=custom", "--file"])
                    .arg(dump.path().join("site.dump"))
                    .arg(&db.url)
                    .output()
                    .expect("run pg_dump");
                assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
                Saved::Postgres { dump }
            }
        }
    }

    /// Puts the copy back over `db` (its store is closed) and opens the database again.
    async fn put_back(self, db: &TestDb) -> Store {
        match self {
            Saved::Sqlite { copy } => {
                let file = newsdesk_storage::backup::sqlite_file(&db.url).expect("file");
                db.store.close().await;
                for suffix in ["-wal", "-shm"] {
                    let mut side = file.clone().into_os_string();
                    side.push(suffix);
                    let _ = std::fs::remove_file(side);
                }
                std::fs::copy(copy.path().join("copy.db"), &file).expect("copy back");
                Store::connect(&db.url).await.expect("reopen")
            }
            Saved::Postgres { dump } => {
                // As an operator does it: the nodes stopped (the pool closed), then pg_restore.
                db.store.close().await;
                let out = std::process::Command::new("pg_restore")
                    .args(["--clean", "--if-exists", "--no-owner", "--dbname", &db.url])
                    .arg(dump.path().join("site.dump"))
                    .output()
                    .expect("run pg_restore");
                assert!(out.status.success(), "pg_restore: {}", String::from_utf8_lossy(&out.stderr));
                Store::connect(&db.url).await.expect("reopen")
            }
        }
    }
}

backend_test! {
    async fn an_index_damaged_by_a_power_loss_is_rebuilt_at_start(db) {
        let dir = tempfile::tempdir().expect("dir");
        let e = edition(&db.store).await;
        publish(&db.store, e, 1, "Ferry resumes").await;
        run_node(dir.path(), &db.store, |i| found(i, "ferry") == vec![1]).await;

        // Commits are visible at once and synced to disk at checkpoints.
        {
            let index = open(dir.path());
            publish(&db.store, e, 2, "Ferry fares rise").await;
            let story = db.store.indexable_story(2).await.expect("read").expect("story");
            index.index_story(&story).expect("index");
            index.commit().expect("commit");
            assert_eq!(found(&index, "ferry"), vec![1, 2], "visible without a checkpoint");
            assert!(index.unsynced_files() > 0, "a commit leaves its files to the next checkpoint");
            index.checkpoint().expect("checkpoint");
            assert_eq!(index.unsynced_files(), 0);
        }

        // A power loss before a checkpoint: meta.json names segment files
        // whose contents never reached the disk.
        for entry in std::fs::read_dir(dir.path().join("search")).expect("list") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if !name.starts_with('.') && !name.ends_with(".json") && name != "newsdesk-search-format" {
                std::fs::File::create(&path).expect("truncate");
            }
        }
        // The node still starts: the index is thrown away and rebuilt from the database.
        run_node(dir.path(), &db.store, |i| found(i, "ferry") == vec![1, 2]).await;
    }
}
