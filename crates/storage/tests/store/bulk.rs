//! Bulk loads ([`Store::create_stories`]): their foreign keys, checked row by
//! row by the database or once a batch by the store, hold as for any save.

use crate::edition;
use newsdesk_storage::{AuditEntry, Backend, KeyChecks, Store, StoreError, StoryInput, backend_test, testing::TestDb};
use sqlx::Row;

/// A published story in section Iran with `tags` and one author (so that
/// each key a batch's rows can name is written).
fn story(edition_id: i64, headline: &str, tags: &[&str]) -> StoryInput {
    StoryInput {
        tags: tags.iter().map(|t| t.to_string()).collect(),
        authors: vec!["Staff Writer".into()],
        ..crate::published(edition_id, "Iran", headline)
    }
}

/// Rows anywhere in the database naming a row that does not exist: SQLite's
/// `PRAGMA foreign_key_check`; on PostgreSQL every single-column foreign key
/// checked with an anti-join.
async fn dangling(db: &TestDb) -> Vec<String> {
    let pool = sqlx::AnyPool::connect(&db.url).await.expect("raw pool");
    let mut found = Vec::new();
    match db.store.backend() {
        Backend::Sqlite => {
            for r in sqlx::query("PRAGMA foreign_key_check").fetch_all(&pool).await.expect("check") {
                found.push(format!("{} -> {}", r.get::<String, _>(0), r.get::<String, _>(2)));
            }
        }
        Backend::Postgres => {
            let keys = sqlx::query(
                "SELECT quote_ident(c.relname), quote_ident(a.attname), quote_ident(p.relname), quote_ident(pa.attname) \
                 FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid \
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
                 JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1] \
                 WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace",
            )
            .fetch_all(&pool)
            .await
            .expect("keys");
            assert!(keys.len() > 20, "the schema's foreign keys were found: {}", keys.len());
            for k in keys {
                let (child, col, parent, key): (String, String, String, String) =
                    (k.get(0), k.get(1), k.get(2), k.get(3));
                let n: i64 = sqlx::query_scalar(&format!(
                    "SELECT count(*) FROM {child} c WHERE c.{col} IS NOT NULL \
                     AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = c.{col})"
                ))
                .fetch_one(&pool)
                .await
                .expect("anti-join");
                if n > 0 {
                    found.push(format!("{child}.{col} -> {parent}: {n}"));
                }
            }
        }
    }
    pool.close().await;
    found
}

backend_test! {
    /// A batch naming a photo or a gallery that does not exist
    /// fails whole, with what it named; the next writes check their keys again.
    async fn a_batch_naming_what_does_not_exist_stores_nothing(db) {
        let e = edition(&db.store).await;
        let checks = db.store.bulk_key_checks().await.expect("checks");
        match db.store.backend() {
            Backend::Sqlite => assert_eq!(checks, KeyChecks::PerRow),
            // The test server's role is a superuser.
            Backend::Postgres => assert_eq!(checks, KeyChecks::PerBatch),
        }
        db.store.create_stories(&[story(e, "Before", &["Iran"])]).await.expect("a first batch");
        let before = db.store.story_count().await.expect("count");
        type Spoil = fn(&mut StoryInput);
        let bad: [(&str, Spoil); 2] =
            [("photo_id", |s| s.photo_id = Some(987_654)), ("gallery_id", |s| s.gallery_id = Some(987_654))];
        for (column, spoil) in bad {
            let mut inputs: Vec<StoryInput> = (0..30).map(|i| story(e, &format!("Story {i}"), &["Iran", "New tag"])).collect();
            spoil(&mut inputs[17]);
            let result = db.store.create_stories(&inputs).await;
            let err = result.expect_err(column);
            if checks == KeyChecks::PerBatch {
                let message = err.to_string();
                assert!(message.contains(&format!("stories.{column}")) && message.contains("987654"), "{message}");
            }
            assert_eq!(db.store.story_count().await.expect("count"), before, "{column}: nothing stored");
            assert!(db.store.tag_by_slug(e, "new-tag").await.expect("tag").is_none(), "{column}: no tag left behind");
        }
        // Every connection of the store's pool checks keys row by row (the
        // batches went through connections of their own).
        for _ in 0..=db.store.pool_stats().size {
            let mut s = story(e, "Saved with a photo that is not there", &["Iran"]);
            s.photo_id = Some(987_654);
            let saved = db.store.save_story(&s).await;
            assert!(matches!(saved, Err(StoreError::Db(_))), "{saved:?}");
        }
        assert_eq!(db.store.story_count().await.expect("count"), before);
        assert_eq!(dangling(&db).await, Vec::<String>::new());
    }
}

backend_test! {
    /// A tag merged into another on a second node while a batch naming it
    /// is stored: one of the two waits for the other (a batch after the
    /// merge makes the tag again), or the batch fails whole; no story is
    /// left naming a tag that is gone, in its links or in its byline.
    async fn a_tag_merged_away_while_a_batch_names_it_leaves_nothing_dangling(db) {
        let e = edition(&db.store).await;
        let other = Store::connect(&db.url).await.expect("second node");
        let (kept_story, _) = db.store.save_story(&story(e, "Kept", &["Kept"])).await.expect("kept");
        let kept = db.store.tag_by_slug(e, "kept").await.expect("tag").expect("kept tag");
        let audit = AuditEntry::system("test", "tag.merge", "tag", kept.id, "");
        let mut failed = 0;
        for round in 0..8 {
            let name = format!("Moving {round}");
            db.store.save_story(&story(e, &format!("Names {name}"), &[&name])).await.expect("tag made");
            let moving = db.store.tag_by_slug(e, &format!("moving-{round}")).await.expect("tag").expect("moving");
            let inputs: Vec<StoryInput> =
                (0..200).map(|i| story(e, &format!("Round {round} story {i}"), &["Iran", &name])).collect();
            let before = db.store.story_count().await.expect("count");
            let prepared = db.store.prepare_stories(inputs).await.expect("prepared");
            let (stored, merged) =
                tokio::join!(db.store.create_prepared(&prepared), other.merge_tags(e, moving.id, kept.id, &audit));
            merged.expect("merged");
            match stored {
                Ok(ids) => assert_eq!(ids.len(), 200),
                Err(err) => {
                    failed += 1;
                    // Checked with the batch, or gone between the tag's upsert and its lookup.
                    let message = err.to_string();
                    assert!(message.contains("story_tags.tag_id") || message.contains("not stored"), "round {round}: {message}");
                    assert_eq!(db.store.story_count().await.expect("count"), before, "round {round}: nothing stored");
                }
            }
            assert_eq!(dangling(&db).await, Vec::<String>::new(), "round {round}");
            // Nor in the byline kept in its row (what its page shows).
            let (compared, stale) = newsdesk_storage::testing::stale_bylines(&db.store).await;
            assert!(compared > round, "round {round}: {compared} stories compared");
            assert_eq!(stale, Vec::new(), "round {round}");
        }
        assert!(db.store.story(kept_story).await.expect("read").is_some());
        eprintln!("{failed} of 8 batches failed on {:?}", db.store.backend());
        other.close().await;
    }
}

/// The check per batch is for a role that may set
/// `session_replication_role`: one without that right (PostgreSQL 15's
/// `GRANT SET ON PARAMETER`) has its keys checked row by row, with the same
/// result; granted the right, a new store checks once a batch.
#[tokio::test]
async fn a_role_without_the_right_to_turn_key_triggers_off_checks_row_by_row() {
    let Some(db) = TestDb::postgres().await else { return };
    let e = edition(&db.store).await;
    let admin = sqlx::AnyPool::connect(&db.url).await.expect("admin pool");
    let version: String = sqlx::query_scalar("SHOW server_version_num").fetch_one(&admin).await.expect("version");
    let database: String = sqlx::query_scalar("SELECT current_database()::text").fetch_one(&admin).await.expect("name");
    let role: String = format!("nd_plain_{database}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(60)
        .collect();
    for sql in [
        format!("CREATE ROLE {role} LOGIN"),
        format!("GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"),
    ] {
        sqlx::query(&sql).execute(&admin).await.expect(&sql);
    }
    let url = match (db.url.find("://"), db.url.find('@')) {
        (Some(s), Some(at)) => format!("{}{role}{}", &db.url[..s + 3], &db.url[at..]),
        (Some(s), None) => format!("{}{role}@{}", &db.url[..s + 3], &db.url[s + 3..]),
        _ => panic!("a PostgreSQL URL: {}", db.url),
    };
    let plain = Store::connect(&url).await.expect("the plain role's store");
    assert_eq!(plain.bulk_key_checks().await.expect("checks"), KeyChecks::PerRow);
    let mut inputs: Vec<StoryInput> = (0..20).map(|i| story(e, &format!("Plain {i}"), &["Iran"])).collect();
    assert_eq!(plain.create_stories(&inputs).await.expect("stored row by row").len(), 20);
    inputs[3].photo_id = Some(987_654);
    assert!(plain.create_stories(&inputs).await.is_err(), "the database's own check");
    plain.close().await;
    if version.parse::<u32>().expect("a number") >= 150_000 {
        let grant = format!("GRANT SET ON PARAMETER session_replication_role TO {role}");
        sqlx::query(&grant).execute(&admin).await.expect("grant");
        let granted = Store::connect(&url).await.expect("the granted role's store");
        assert_eq!(granted.bulk_key_checks().await.expect("checks"), KeyChecks::PerBatch);
        let err = granted.create_stories(&inputs).await.expect_err("checked by the store");
        assert!(err.to_string().contains("stories.photo_id"), "{err}");
        inputs[3].photo_id = None;
        assert_eq!(granted.create_stories(&inputs).await.expect("stored").len(), 20);
        granted.close().await;
    }
    assert_eq!(db.store.story_count().await.expect("count"), 40);
    assert_eq!(dangling(&db).await, Vec::<String>::new());
    // Its grants (here and on the parameter) go with it.
    sqlx::query(&format!("DROP OWNED BY {role}")).execute(&admin).await.expect("drop owned");
    sqlx::query(&format!("DROP ROLE {role}")).execute(&admin).await.expect("drop role");
    admin.close().await;
}

/// The journal mode SQLite reports for the database at `url`, on a connection of its own.
async fn journal_mode(url: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("raw connection");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.expect("journal mode");
    conn.close().await.expect("close");
    mode
}

/// A store opened for a bulk load writes through a rollback journal, its
/// commits are kept, and the next ordinary store puts the database back in WAL.
#[tokio::test]
async fn a_bulk_load_store_journals_by_rollback_and_the_next_store_returns_to_wal() {
    let db = TestDb::sqlite().await;
    let e = edition(&db.store).await;
    db.store.create_stories(&[story(e, "Before", &["Iran"])]).await.expect("an ordinary write");
    assert_eq!(journal_mode(&db.url).await, "wal");
    db.store.close().await;

    let bulk = Store::connect_for_bulk_load(&db.url).await.expect("open for a bulk load");
    assert_eq!(journal_mode(&db.url).await, "delete");
    let batch: Vec<StoryInput> = (0..50).map(|i| story(e, &format!("Bulk {i}"), &["Iran", "Oil"])).collect();
    bulk.create_stories(&batch).await.expect("a batch through the rollback journal");
    bulk.close().await;
    assert!(!journal_file(&db.url).exists(), "the journal is deleted at commit");

    let store = Store::connect(&db.url).await.expect("an ordinary store");
    assert_eq!(journal_mode(&db.url).await, "wal");
    assert_eq!(store.story_count().await.expect("count"), 51);
    assert!(dangling(&db).await.is_empty());
    store.close().await;
}

/// While another connection has the database open in WAL (a running
/// server), a store for a bulk load is refused, saying why, and the
/// database stays in WAL with its data.
#[tokio::test]
async fn a_bulk_load_store_is_refused_while_the_database_is_open_elsewhere() {
    let db = TestDb::sqlite().await;
    let e = edition(&db.store).await;
    db.store.create_stories(&[story(e, "Kept", &["Iran"])]).await.expect("a write");
    let refused = Store::connect_for_bulk_load(&db.url).await.expect_err("the database is open elsewhere");
    let message = refused.to_string();
    assert!(message.contains("another connection has the database open"), "{message}");
    assert_eq!(journal_mode(&db.url).await, "wal");
    db.store.create_stories(&[story(e, "After", &["Iran"])]).await.expect("the open store writes on");
    assert_eq!(db.store.story_count().await.expect("count"), 2);
}

/// A store closed a moment after a bulk load asked: the switch, tried again
/// meanwhile, goes through once that store is gone.
#[tokio::test]
async fn a_bulk_load_store_waits_for_a_store_closing_meanwhile() {
    let db = TestDb::sqlite().await;
    let e = edition(&db.store).await;
    db.store.create_stories(&[story(e, "Kept", &["Iran"])]).await.expect("a write");
    let closing = {
        let store = db.store.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            store.close().await;
        })
    };
    let bulk = Store::connect_for_bulk_load(&db.url).await.expect("switched once the other store closed");
    closing.await.expect("closed");
    assert_eq!(journal_mode(&db.url).await, "delete");
    bulk.close().await;
}

/// On PostgreSQL a store for a bulk load is an ordinary store.
#[tokio::test]
async fn a_bulk_load_store_on_postgres_is_an_ordinary_store() {
    let Some(db) = TestDb::postgres().await else { return };
    let e = edition(&db.store).await;
    let bulk = Store::connect_for_bulk_load(&db.url).await.expect("open for a bulk load");
    bulk.create_stories(&[story(e, "Bulk", &["Iran"]), story(e, "Load", &["Oil"])]).await.expect("a batch");
    bulk.close().await;
    assert_eq!(db.store.story_count().await.expect("count"), 2);
    assert!(dangling(&db).await.is_empty());
}

/// The rollback journal's file beside the SQLite database at `url`.
fn journal_file(url: &str) -> std::path::PathBuf {
    let path = url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default();
    std::path::PathBuf::from(format!("{path}-journal"))
}
