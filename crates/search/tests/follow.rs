//! The index follows the database on both engines: rebuild, the change log,
//! catching up after being down, and a publish found within a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use newsdesk_domain::{BodyFormat, Direction, StoryStatus};
use newsdesk_search::{Filters, SearchIndex, follow, reindex_all, update};
use newsdesk_storage::backend_test;
use newsdesk_storage::{Follower, NewEdition, SectionRef, Store, StoryInput};

async fn edition(store: &Store, lang: &str) -> i64 {
    store
        .upsert_edition(&NewEdition {
            lang: lang.into(),
            name: format!("Edition {lang}"),
            direction: if lang == "en" { Direction::Ltr } else { Direction::Rtl },
            time_zone: chrono_tz::Asia::Tehran,
            is_default: lang == "en",
        })
        .await
        .expect("edition")
        .id
}

/// A published story of section "Iran" (`news_id: None` for a new one).
fn published(edition_id: i64, news_id: Option<i64>, headline: &str, body: &str) -> StoryInput {
    StoryInput {
        news_id,
        edition_id,
        section: SectionRef::Names(vec!["Iran".into()]),
        slug: None,
        headline: headline.into(),
        lead: "Lead.".into(),
        body_source: body.into(),
        body_format: BodyFormat::Text,
        photo_id: None,
        gallery_id: None,
        status: StoryStatus::Published,
        published_at: Some(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().expect("time")),
        tags: vec!["Energy".into()],
        authors: vec!["Staff".into()],
        agency: None,
        actor: "test".into(),
    }
}

async fn publish(store: &Store, edition_id: i64, news_id: i64, headline: &str, body: &str) {
    store.save_story(&published(edition_id, Some(news_id), headline, body)).await.expect("save");
}

fn found(index: &SearchIndex, edition: &str, q: &str) -> Vec<i64> {
    index
        .search(edition, q, &Filters::default(), 1, &newsdesk_search::NoBodies)
        .expect("search")
        .hits
        .iter()
        .map(|h| h.news_id)
        .collect()
}

fn open(dir: &std::path::Path) -> Arc<SearchIndex> {
    Arc::new(SearchIndex::open_or_create(&dir.join("search")).expect("open index"))
}

backend_test! {
    async fn rebuild_then_changes_keep_the_index_current(db) {
        let en = edition(&db.store, "en").await;
        let fa = edition(&db.store, "fa").await;
        publish(&db.store, en, 1, "Oil exports rise", "Tankers left the port.").await;
        publish(&db.store, fa, 2, "صادرات نفت افزایش یافت", "نفتکش‌ها بندر را ترک کردند.").await;
        let dir = tempfile::tempdir().expect("dir");
        let index = open(dir.path());
        assert!(index.needs_rebuild());
        assert_eq!(reindex_all(&index, &db.store).await.expect("rebuild"), 2);
        assert_eq!(found(&index, "en", "oil"), vec![1]);
        assert_eq!(found(&index, "fa", "نفتکشها"), vec![2]);
        assert_eq!(found(&index, "en", "energy"), vec![1]);
        let mut cursor =
            Follower::new("search", db.store.clone(), index.applied_change().expect("recorded"), Duration::from_millis(100));

        // A new story, a correction and an unpublish, applied from the log.
        publish(&db.store, en, 3, "Gas prices fall", "Cheaper gas.").await;
        publish(&db.store, en, 1, "Oil exports rise again", "Tankers left the harbour.").await;
        db.store.set_story_status(2, StoryStatus::Unpublished).await.expect("unpublish");
        assert_eq!(update(&index, &db.store, &mut cursor).await.expect("update"), 3);
        assert_eq!(found(&index, "en", "gas"), vec![3]);
        assert_eq!(found(&index, "en", "harbour"), vec![1]);
        assert!(found(&index, "en", "port").is_empty());
        assert!(found(&index, "fa", "نفت").is_empty());
        assert_eq!(index.applied_change(), Some(db.store.last_change_id().await.expect("last")));
        // Nothing new: nothing applied.
        assert_eq!(update(&index, &db.store, &mut cursor).await.expect("update"), 0);
    }
}

backend_test! {
    async fn a_node_that_was_down_catches_up_from_its_own_record(db) {
        let en = edition(&db.store, "en").await;
        publish(&db.store, en, 1, "Drought hits farms", "Wells ran dry.").await;
        let dir = tempfile::tempdir().expect("dir");
        {
            let index = open(dir.path());
            reindex_all(&index, &db.store).await.expect("rebuild");
        }
        // While the node is down, the newsroom goes on.
        publish(&db.store, en, 2, "Rain ends drought", "Rivers flow again.").await;
        db.store.set_story_status(1, StoryStatus::Unpublished).await.expect("unpublish");

        let index = open(dir.path());
        assert!(!index.needs_rebuild(), "the index keeps its record and is not rebuilt");
        assert_eq!(found(&index, "en", "drought"), vec![1], "still the old state before catching up");
        let mut cursor =
            Follower::new("search", db.store.clone(), index.applied_change().expect("recorded"), Duration::from_millis(100));
        update(&index, &db.store, &mut cursor).await.expect("catch up");
        assert_eq!(found(&index, "en", "drought"), vec![2]);
    }
}

backend_test! {
    async fn a_publish_is_found_within_a_second(db) {
        let en = edition(&db.store, "en").await;
        publish(&db.store, en, 1, "Old story", "Nothing here.").await;
        let dir = tempfile::tempdir().expect("dir");
        let index = open(dir.path());
        let task = tokio::spawn(follow(Arc::clone(&index), db.store.clone(), Duration::from_millis(200)));
        // The follower rebuilds the new index first.
        let deadline = Instant::now() + Duration::from_secs(10);
        while found(&index, "en", "old").is_empty() {
            assert!(Instant::now() < deadline, "the follower did not rebuild the index");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        publish(&db.store, en, 2, "Breaking: bridge opens", "Traffic flows.").await;
        let published = Instant::now();
        while found(&index, "en", "bridge").is_empty() {
            assert!(published.elapsed() < Duration::from_secs(1), "a publish was not searchable within 1 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        db.store.set_story_status(2, StoryStatus::Unpublished).await.expect("unpublish");
        let unpublished = Instant::now();
        while !found(&index, "en", "bridge").is_empty() {
            assert!(unpublished.elapsed() < Duration::from_secs(1), "an unpublish was still found after 1 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        task.abort();
    }
}

backend_test! {
    async fn a_rebuild_queues_no_deletes_and_holds_each_story_once(db) {
        let en = edition(&db.store, "en").await;
        for n in 1..=30 {
            publish(&db.store, en, n, &format!("Harvest report {n}"), "Wheat was brought in.").await;
        }
        let dir = tempfile::tempdir().expect("dir");
        let index = open(dir.path());
        assert_eq!(reindex_all(&index, &db.store).await.expect("rebuild"), 30);
        // tantivy holds each queued delete (~1 KB) until the commit: a rebuild
        // of a million stories that deleted each before adding it held a gigabyte.
        assert_eq!(index.queued_deletes(), 0, "a rebuild adds into a cleared index");
        assert_eq!(index.len(), 30);
        // Again over a full index: cleared first, so still each story once.
        assert_eq!(reindex_all(&index, &db.store).await.expect("rebuild again"), 30);
        assert_eq!(index.len(), 30);
        assert_eq!(index.queued_deletes(), 0);

        // Changes applied from the log while a rebuild runs wait for it, so
        // no story is added twice (once by each).
        let mut follower =
            Follower::new("search", db.store.clone(), index.applied_change().expect("recorded"), Duration::from_millis(50));
        for n in 1..=10 {
            publish(&db.store, en, n, &format!("Harvest report {n}, corrected"), "Wheat was brought in.").await;
        }
        for n in 31..=40 {
            publish(&db.store, en, n, &format!("Harvest report {n}"), "Wheat was brought in.").await;
        }
        let (rebuilt, applied) = tokio::join!(reindex_all(&index, &db.store), update(&index, &db.store, &mut follower));
        assert_eq!(rebuilt.expect("rebuild"), 40);
        applied.expect("update");
        update(&index, &db.store, &mut follower).await.expect("update after");
        assert_eq!(index.len(), 40, "each story once");
        assert_eq!(found(&index, "en", "corrected").len(), 10);
        assert!(index.queued_deletes() > 0, "updates replace stories");
    }
}

backend_test! {
    async fn a_rebuild_of_several_pages_indexes_every_story(db) {
        let en = edition(&db.store, "en").await;
        // More stories than a rebuild reads at once (1,000): the rebuild goes
        // on from the last News ID of each page, through a page not full.
        let inputs: Vec<StoryInput> =
            (1..=2_345).map(|n| published(en, None, &format!("Dispatch marker{n}"), "Wheat was brought in.")).collect();
        let ids = db.store.create_stories(&inputs).await.expect("stories");
        let dir = tempfile::tempdir().expect("dir");
        let index = open(dir.path());
        assert_eq!(reindex_all(&index, &db.store).await.expect("rebuild"), 2_345);
        assert_eq!(index.len(), 2_345);
        for n in [1, 1_000, 1_001, 2_000, 2_345] {
            assert_eq!(found(&index, "en", &format!("marker{n}")), [ids[n - 1]], "story {n}");
        }
    }
}

backend_test! {
    /// A rebuild on a site whose readers wait for pages asks before each page
    /// of stories whether they still do, and waits for them, for a bounded
    /// time: busy all the time, it still indexes every story.
    async fn a_rebuild_asks_before_each_page_whether_readers_wait(db) {
        let en = edition(&db.store, "en").await;
        let inputs: Vec<StoryInput> =
            (1..=2_100).map(|n| published(en, None, &format!("Yielding marker{n}"), "Barley.")).collect();
        db.store.create_stories(&inputs).await.expect("stories");
        let dir = tempfile::tempdir().expect("dir");
        let index = open(dir.path());
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = asked.clone();
        index.yield_to(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            true
        });
        let start = std::time::Instant::now();
        assert_eq!(reindex_all(&index, &db.store).await.expect("rebuild"), 2_100);
        // Three pages of stories and the empty one that ends the rebuild,
        // each read after waiting its 100 ms.
        assert!(start.elapsed() >= std::time::Duration::from_millis(400), "{:?}", start.elapsed());
        assert!(asked.load(std::sync::atomic::Ordering::SeqCst) >= 4);
        assert_eq!(index.len(), 2_100);
    }
}
