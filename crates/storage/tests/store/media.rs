//! Photos and their renditions, the media library and caption edits, on SQLite and on PostgreSQL.

use newsdesk_domain::photo_meta::PhotoDetails;
use newsdesk_domain::{Direction, StoryStatus};
use newsdesk_storage::{AuditEntry, NewEdition, NewPhoto, NewRendition, PhotoUse, Store, StoryInput, backend_test};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The audit entry of an upload; the store fills in the photo's id.
fn upload() -> AuditEntry {
    AuditEntry::system("test", "media.upload", "photo", "", "")
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn photo(bytes: &[u8], caption: &str) -> NewPhoto {
    NewPhoto {
        sha256: sha(bytes),
        mime: "image/jpeg".into(),
        width: 2000,
        height: 1000,
        bytes: bytes.to_vec(),
        caption: caption.into(),
        credit: "Agency".into(),
        details: PhotoDetails::default(),
    }
}

fn rendition(bytes: &[u8], mime: &str, width: i64) -> NewRendition {
    NewRendition { sha256: sha(bytes), mime: mime.into(), width, height: width / 2, bytes: bytes.to_vec() }
}

async fn story_with_photo(store: &Store, photo_id: i64) -> i64 {
    let edition = store
        .upsert_edition(&NewEdition {
            lang: "en".into(),
            name: "Agency".into(),
            direction: Direction::Ltr,
            time_zone: chrono_tz::Asia::Tehran,
            is_default: true,
        })
        .await
        .expect("edition");
    store
        .save_story(&StoryInput {
            headline: "With a photo".into(),
            published_at: Some(chrono::Utc::now()),
            ..led_by(edition.id, photo_id, 0)
        })
        .await
        .expect("story")
        .0
}

/// Story `i` of many led by photo `photo_id`, published two hours ago.
fn led_by(edition_id: i64, photo_id: i64, i: usize) -> StoryInput {
    StoryInput {
        photo_id: Some(photo_id),
        published_at: Some(chrono::Utc::now() - chrono::Duration::hours(2)),
        ..crate::published(edition_id, "World", &format!("Story {i}"))
    }
}

backend_test! {
    async fn a_photo_and_its_renditions_are_stored_and_served_by_content_address(db) {
        let p = photo(b"original bytes", "Harbour at dawn");
        let rs = [rendition(b"small webp", "image/webp", 320), rendition(b"small jpeg", "image/jpeg", 320), rendition(b"wider jpeg", "image/jpeg", 640)];
        let stored = db.store.add_photo(&p, &rs, &upload()).await.expect("add");
        let log = db.store.audit_log(Some(("photo", &stored.id.to_string())), 5).await.expect("audit");
        assert_eq!(log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["media.upload"], "committed with the photo");
        assert_eq!((stored.caption.as_str(), stored.width, stored.mime.as_str()), ("Harbour at dawn", 2000, "image/jpeg"));
        assert_eq!(db.store.photo_bytes(&p.sha256).await.expect("read"), Some(("image/jpeg".into(), b"original bytes".to_vec())));
        assert_eq!(db.store.photo_bytes(&sha(b"small webp")).await.expect("read"), Some(("image/webp".into(), b"small webp".to_vec())));
        assert_eq!(db.store.photo_bytes(&sha(b"nothing")).await.expect("read"), None);
        let listed = db.store.photo_renditions(stored.id).await.expect("renditions");
        let shape: Vec<(i64, &str, i64)> = listed.iter().map(|r| (r.width, r.mime.as_str(), r.size)).collect();
        assert_eq!(shape, vec![(320, "image/jpeg", 10), (320, "image/webp", 10), (640, "image/jpeg", 10)]);
        assert_eq!(listed[1].path(), format!("/media/{}.webp", sha(b"small webp")));
        assert_eq!(db.store.photo(stored.id).await.expect("photo").map(|p| p.sha256), Some(p.sha256.clone()));
        assert!(db.store.photo(stored.id + 100).await.expect("photo").is_none());
        assert_eq!(db.store.photo_by_sha256(&p.sha256).await.expect("by sha").map(|p| p.id), Some(stored.id));
    }
}

backend_test! {
    async fn the_same_upload_twice_is_one_photo_keeping_its_text(db) {
        let first = db.store.add_photo(&photo(b"same", "First caption"), &[rendition(b"r", "image/jpeg", 320)], &upload()).await.expect("add");
        let mut again = photo(b"same", "");
        again.credit = String::new();
        let second = db.store.add_photo(&again, &[rendition(b"r", "image/jpeg", 320)], &upload()).await.expect("add again");
        assert_eq!(second.id, first.id);
        assert_eq!((second.caption.as_str(), second.credit.as_str()), ("First caption", "Agency"));
        assert_eq!(db.store.photo_renditions(first.id).await.expect("renditions").len(), 1);
    }
}

backend_test! {
    async fn uploading_the_same_bytes_with_new_text_does_not_change_the_photo(db) {
        // New text goes through update_photo_text, after the caller's permission check:
        // an upload of the same bytes must not rewrite what published stories show.
        let first = db.store.add_photo(&photo(b"same", "First caption"), &[], &upload()).await.expect("add");
        let news_id = story_with_photo(&db.store, first.id).await;
        let mut other = photo(b"same", "Rewritten caption");
        other.credit = "Someone else".into();
        let again = db.store.add_photo(&other, &[], &upload()).await.expect("add with caption");
        assert_eq!((again.id, again.caption.as_str(), again.credit.as_str()), (first.id, "First caption", "Agency"));
        let story = db.store.story(news_id).await.expect("story").expect("exists");
        assert_eq!(story.photo.map(|p| (p.caption, p.credit)), Some(("First caption".into(), "Agency".into())));
    }
}

backend_test! {
    async fn the_stories_using_a_photo_are_listed_with_section_and_state(db) {
        let p = db.store.add_photo(&photo(b"used", "Used"), &[], &upload()).await.expect("add");
        assert!(db.store.photo_uses(p.id).await.expect("uses").is_empty());
        let news_id = story_with_photo(&db.store, p.id).await;
        let story = db.store.story(news_id).await.expect("story").expect("exists");
        let uses = db.store.photo_uses(p.id).await.expect("uses");
        assert_eq!(
            uses,
            vec![PhotoUse { news_id, edition_id: story.edition_id, section_id: story.section_id, status: StoryStatus::Published }]
        );
    }
}

backend_test! {
    async fn the_library_searches_captions_newest_first_and_pages(db) {
        for (bytes, caption) in [(&b"a"[..], "Oil tanker in the Gulf"), (b"b", "Parliament in session"), (b"c", "An OIL refinery at 100% output"), (b"d", "under_score")] {
            db.store.add_photo(&photo(bytes, caption), &[], &upload()).await.expect("add");
        }
        let all = db.store.media_library(None, 0, 10).await.expect("all");
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].photo.caption, "under_score", "newest first");
        assert_eq!(all[0].size, 1);
        let oil: Vec<String> = db.store.media_library(Some("oil"), 0, 10).await.expect("oil").into_iter().map(|m| m.photo.caption).collect();
        assert_eq!(oil, vec!["An OIL refinery at 100% output".to_string(), "Oil tanker in the Gulf".into()]);
        assert_eq!(db.store.media_library(Some("100%"), 0, 10).await.expect("percent").len(), 1, "% is literal");
        assert_eq!(db.store.media_library(Some("n_s"), 0, 10).await.expect("underscore").len(), 0, "_ is literal (no “in session”)");
        assert_eq!(db.store.media_library(Some("r_s"), 0, 10).await.expect("underscore").len(), 1);
        let page2 = db.store.media_library(None, 2, 2).await.expect("page 2");
        assert_eq!(page2.iter().map(|m| m.photo.caption.as_str()).collect::<Vec<_>>(), vec!["Parliament in session", "Oil tanker in the Gulf"]);
    }
}

backend_test! {
    async fn editing_a_caption_marks_the_stories_showing_it_changed(db) {
        let p = db.store.add_photo(&photo(b"x", "Old"), &[], &upload()).await.expect("add");
        let news_id = story_with_photo(&db.store, p.id).await;
        let before = db.store.last_change_id().await.expect("changes");
        let updated = db.store.update_photo_text(p.id, "New caption", "New credit", &PhotoDetails::default(), &AuditEntry::system("test", "media.edit", "photo", p.id, "")).await.expect("update").expect("exists");
        assert_eq!((updated.caption.as_str(), updated.credit.as_str()), ("New caption", "New credit"));
        let changes = db.store.changes_since(before, 10).await.expect("changes");
        assert_eq!(changes.iter().map(|c| c.1).collect::<Vec<_>>(), vec![news_id]);
        let story = db.store.story(news_id).await.expect("story").expect("exists");
        assert_eq!(story.photo.map(|p| p.caption), Some("New caption".into()));
        assert_eq!(db.store.stories_with_photo(p.id).await.expect("stories").iter().map(|s| s.0).collect::<Vec<_>>(), vec![news_id]);
        assert!(db.store.update_photo_text(p.id + 50, "a", "b", &PhotoDetails::default(), &AuditEntry::system("test", "media.edit", "photo", 0, "")).await.expect("update").is_none());
    }
}

backend_test! {
    async fn a_photo_leading_thousands_of_stories_marks_each_once_with_its_state(db) {
        // More stories than one statement of change-log rows takes (4,285: seven values a row).
        let p = db.store.add_photo(&photo(b"file photo", "Old"), &[], &upload()).await.expect("add");
        let other = db.store.add_photo(&photo(b"another", "Other"), &[], &upload()).await.expect("add");
        let first = story_with_photo(&db.store, p.id).await;
        let edition_id = db.store.story(first).await.expect("story").expect("exists").edition_id;
        let inputs: Vec<StoryInput> = (0..5_200)
            .map(|i| {
                let mut input = led_by(edition_id, if i % 7 == 3 { other.id } else { p.id }, i);
                if matches!(i, 8 | 9) {
                    input.status = StoryStatus::Scheduled;
                    input.published_at = Some(chrono::Utc::now() + chrono::Duration::hours(2));
                } else if i == 12 {
                    input.status = StoryStatus::Draft;
                }
                input
            })
            .collect();
        let ids = db.store.create_stories(&inputs).await.expect("stories");
        let audit = AuditEntry::system("test", "wire.release", "story", ids[8], "");
        db.store.release_to_wire(ids[8], None, chrono::Utc::now(), &audit).await.expect("released");
        let mut showing: Vec<i64> =
            ids.iter().enumerate().filter(|(i, _)| i % 7 != 3).map(|(_, id)| *id).collect();
        showing.insert(0, first);
        let before = db.store.last_change_id().await.expect("changes");
        db.store
            .update_photo_text(p.id, "New", "Agency", &PhotoDetails::default(), &AuditEntry::system("test", "media.edit", "photo", p.id, ""))
            .await
            .expect("update")
            .expect("exists");
        let pool = sqlx::AnyPool::connect(&db.url).await.expect("raw pool");
        let rows = sqlx::query(
            "SELECT c.news_id, c.edition_id, c.status, c.version, c.embargoed, s.status AS now_status, s.version AS now_version \
             FROM story_changes c JOIN stories s ON s.news_id = c.news_id WHERE c.id > $1 ORDER BY c.id",
        )
        .bind(before)
        .fetch_all(&pool)
        .await
        .expect("changes");
        let marked: Vec<i64> = rows.iter().map(|r| r.get::<i64, _>("news_id")).collect();
        assert_eq!(marked, showing, "each story showing the photo once, in News ID order; none of the other photo's");
        for r in &rows {
            let news_id: i64 = r.get("news_id");
            assert_eq!(r.get::<i64, _>("edition_id"), edition_id);
            assert_eq!(r.get::<String, _>("status"), r.get::<String, _>("now_status"), "story {news_id}");
            assert_eq!(r.get::<i64, _>("version"), r.get::<i64, _>("now_version"), "story {news_id}");
            let embargoed = r.get::<i64, _>("embargoed") != 0;
            assert_eq!(embargoed, news_id == ids[8], "only the scheduled story released to the wire is embargoed copy");
        }
        assert_eq!(rows.iter().filter(|r| r.get::<String, _>("status") == "scheduled").count(), 2);
        assert_eq!(rows.iter().filter(|r| r.get::<String, _>("status") == "draft").count(), 1);
        pool.close().await;
    }
}

backend_test! {
    async fn two_nodes_editing_a_file_photo_at_once_both_commit_and_mark_every_story(db) {
        let p = db.store.add_photo(&photo(b"file photo", "Old"), &[], &upload()).await.expect("add");
        let first = story_with_photo(&db.store, p.id).await;
        let edition_id = db.store.story(first).await.expect("story").expect("exists").edition_id;
        let inputs: Vec<StoryInput> = (0..3_000).map(|i| led_by(edition_id, p.id, i)).collect();
        db.store.create_stories(&inputs).await.expect("stories");
        // The second node: a store of its own on the same database.
        let other = Store::connect(&db.url).await.expect("second node");
        let audit = AuditEntry::system("test", "media.edit", "photo", p.id, "");
        for round in 0..3 {
            let before = db.store.last_change_id().await.expect("changes");
            let (caption_a, caption_b, details) = (format!("A {round}"), format!("B {round}"), PhotoDetails::default());
            let (a, b) = tokio::join!(
                db.store.update_photo_text(p.id, &caption_a, "Agency", &details, &audit),
                other.update_photo_text(p.id, &caption_b, "Agency", &details, &audit),
            );
            a.expect("first node").expect("exists");
            b.expect("second node").expect("exists");
            let changes = db.store.changes_since(before, 10_000).await.expect("changes");
            assert_eq!(changes.len(), 2 * 3_001, "round {round}: every story marked by each edit");
        }
    }
}

backend_test! {
    async fn photos_stored_before_renditions_are_found_and_completed(db) {
        let old = db.store.put_photo(b"legacy", "image/jpeg", 1200, 675, "Legacy", "", &sha(b"legacy")).await.expect("put");
        let small = db.store.put_photo(b"tiny", "image/jpeg", 200, 100, "Tiny", "", &sha(b"tiny")).await.expect("put");
        let done = db.store.add_photo(&photo(b"new", "New"), &[rendition(b"r", "image/jpeg", 320)], &upload()).await.expect("add");
        let todo = db.store.photos_without_renditions(320, 0, 10).await.expect("todo");
        assert_eq!(todo.iter().map(|p| p.id).collect::<Vec<_>>(), vec![old.id], "not {} nor {}", small.id, done.id);
        assert!(db.store.photos_without_renditions(320, old.id, 10).await.expect("after").is_empty());
        let news_id = story_with_photo(&db.store, old.id).await;
        let before = db.store.last_change_id().await.expect("changes");
        db.store.add_renditions(old.id, &[rendition(b"l1", "image/jpeg", 320), rendition(b"l2", "image/webp", 320)]).await.expect("add");
        assert_eq!(db.store.photo_renditions(old.id).await.expect("renditions").len(), 2);
        let changes = db.store.changes_since(before, 10).await.expect("changes");
        assert_eq!(changes.iter().map(|c| c.1).collect::<Vec<_>>(), vec![news_id], "its pages refresh");
        assert!(db.store.photos_without_renditions(320, 0, 10).await.expect("todo").is_empty());
    }
}

fn details(creator: &str) -> PhotoDetails {
    PhotoDetails {
        headline: "Dawn over the harbour".into(),
        creator: creator.into(),
        copyright: "© 2024 Jane Roe".into(),
        source: "Newsdesk Photo".into(),
        date_created: "2024-07-22T06:15:30+03:30".into(),
        keywords: vec!["harbour".into(), "بندر".into(), "dawn light".into()],
        usage_terms: "Editorial use only".into(),
    }
}

backend_test! {
    async fn photo_details_are_stored_edited_and_read_with_the_story(db) {
        let mut p = photo(b"with details", "Harbour");
        p.details = details("Jane Roe");
        let stored = db.store.add_photo(&p, &[], &upload()).await.expect("add");
        assert_eq!(stored.details, details("Jane Roe"));
        assert_eq!(db.store.photo(stored.id).await.expect("read").expect("exists").details, details("Jane Roe"));
        let listed = db.store.media_library(None, 0, 10).await.expect("library");
        assert_eq!(listed[0].photo.details, details("Jane Roe"));
        let news_id = story_with_photo(&db.store, stored.id).await;
        let story = db.store.story(news_id).await.expect("story").expect("exists");
        assert_eq!(story.photo.expect("photo").details, details("Jane Roe"), "the wire reads them with the story");
        // An edit replaces every field; empty ones stay empty.
        let edited = PhotoDetails { keywords: vec![], usage_terms: String::new(), ..details("عکاس: مریم") };
        let audit = AuditEntry::system("test", "media.edit", "photo", stored.id, "");
        let updated = db.store.update_photo_text(stored.id, "Harbour", "Agency", &edited, &audit).await.expect("update").expect("exists");
        assert_eq!(updated.details, edited);
        let story = db.store.story(news_id).await.expect("story").expect("exists");
        assert_eq!(story.photo.expect("photo").details, edited);
        // A photo stored before details existed (the demo's, imports) has none.
        let old = db.store.put_photo(b"legacy", "image/jpeg", 10, 10, "Legacy", "", &sha(b"legacy")).await.expect("put");
        assert_eq!(old.details, PhotoDetails::default());
    }
}

backend_test! {
    async fn the_stories_showing_a_photo_are_found_through_an_index(db) {
        // The query of every photo change (crops, captions, copies); a scan of
        // the stories table instead takes seconds on a large archive.
        let query = "SELECT news_id, edition_id FROM stories WHERE photo_id = 1";
        let pool = sqlx::AnyPool::connect(&db.url).await.expect("raw pool");
        let mut conn = pool.acquire().await.expect("connection");
        let plan: Vec<String> = match db.store.backend() {
            newsdesk_storage::Backend::Sqlite => sqlx::query(&format!("EXPLAIN QUERY PLAN {query}"))
                .fetch_all(&mut *conn)
                .await
                .expect("plan")
                .iter()
                .map(|r| r.get::<String, _>("detail"))
                .collect(),
            newsdesk_storage::Backend::Postgres => {
                // An empty table is scanned whatever its indexes; forbid the scan.
                sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await.expect("set");
                sqlx::query(&format!("EXPLAIN {query}"))
                    .fetch_all(&mut *conn)
                    .await
                    .expect("plan")
                    .iter()
                    .map(|r| r.get::<String, _>(0))
                    .collect()
            }
        };
        drop(conn);
        pool.close().await;
        assert!(plan.iter().any(|line| line.contains("stories_photo")), "no index in the plan: {plan:?}");
    }
}
