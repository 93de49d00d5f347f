//! Page reads and the connections they keep for the next ones, on SQLite and on PostgreSQL.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use newsdesk_storage::testing::all_idle;
use newsdesk_storage::{Store, backend_test};

use crate::{edition, published};

backend_test! {
    /// A page read that ended keeps its connection for the next one, at most
    /// half the pool's connections, and gives them back when the server tidies up.
    async fn a_page_read_keeps_its_connection_for_the_next_one(db) {
        let e = edition(&db.store).await;
        let (id, _) = db.store.save_story(&published(e, "Iran", "Kept")).await.expect("save");
        db.store.release_memory().await.expect("tidy");
        assert_eq!(db.store.spare_connections(), 0, "tidying gives every kept connection back");

        let mut reads = db.store.reads().await.expect("reads");
        let (story, _) = reads.story_for_page(id, 5).await.expect("read").expect("found");
        assert_eq!(story.headline, "Kept");
        drop(reads);
        assert_eq!(db.store.spare_connections(), 1, "kept for the next read");
        let reads = db.store.reads().await.expect("reads");
        assert_eq!(db.store.spare_connections(), 0, "the next read took it");
        drop(reads);
        assert_eq!(db.store.spare_connections(), 1, "a read that made no query keeps it too");

        // Every connection of the pool held for reads, then let go one by
        // one: the first goes back to the pool (which had no other to give),
        // the next are kept, up to half the pool; the rest go back.
        let max = db.store.pool_stats().max as usize;
        let mut held = Vec::new();
        for _ in 0..max {
            let mut r = db.store.reads().await.expect("a connection");
            assert!(r.story_for_page(id, 5).await.expect("read").is_some());
            held.push(r);
        }
        while let Some(r) = held.pop() {
            drop(r);
            let deadline = Instant::now() + Duration::from_secs(5);
            while db.store.pool_stats().idle + held.len() < db.store.pool_stats().size as usize {
                assert!(Instant::now() < deadline, "not given back: {:?}", db.store.pool_stats());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        assert_eq!(db.store.spare_connections(), max / 2, "at most half the pool is kept");
        all_idle(&db.store).await;
        // The other half is the pool's: a write takes one and gives it back.
        db.store.save_story(&published(e, "Iran", "Written meanwhile")).await.expect("a write finds a connection");
        // The write's connection goes back to the pool on a task of its own:
        // tidying closes only those idle at that moment.
        all_idle(&db.store).await;

        assert_eq!(db.store.pool_stats().size as usize, max, "none was closed on the way");
        let closed = db.store.release_memory().await.expect("tidy");
        assert_eq!(db.store.spare_connections(), 0, "given back");
        all_idle(&db.store).await;
        match db.store.backend() {
            // The kept ones too: every connection is closed.
            newsdesk_storage::Backend::Sqlite => {
                assert_eq!((closed, db.store.pool_stats().size as usize), (max, 0), "closed, left open")
            }
            newsdesk_storage::Backend::Postgres => {
                assert_eq!((closed, db.store.pool_stats().size as usize), (0, max), "closed, left open")
            }
        }
        // Reads go on, on connections opened again.
        let mut held = Vec::new();
        for _ in 0..max {
            let mut r = db.store.reads().await.expect("a connection");
            assert!(r.story_for_page(id, 5).await.expect("read").is_some());
            held.push(r);
        }
        drop(held);
    }
}

backend_test! {
    /// Tidying while pages are read and stories written: it closes only the
    /// connections idle at that moment (on SQLite), so every read and write
    /// goes on, on connections opened again, and reads what was written.
    async fn tidying_races_page_reads_and_writes(db) {
        let e = edition(&db.store).await;
        let (id, _) = db.store.save_story(&published(e, "Iran", "Raced 0")).await.expect("save");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reads = Arc::new(AtomicUsize::new(0));
        let mut readers = Vec::new();
        for _ in 0..4 {
            let (store, stop, reads) = (db.store.clone(), stop.clone(), reads.clone());
            readers.push(tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let mut r = store.reads().await.expect("a connection while tidying");
                    let (story, _) = r.story_for_page(id, 5).await.expect("read while tidying").expect("found");
                    assert!(story.headline.starts_with("Raced "), "{}", story.headline);
                    drop(r);
                    reads.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                }
            }));
        }
        let mut closed = 0;
        for n in 1..=20 {
            let mut s = published(e, "Iran", &format!("Raced {n}"));
            s.news_id = Some(id);
            db.store.save_story(&s).await.expect("a write while tidying");
            closed += db.store.release_memory().await.expect("tidy while reading");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.store(true, Ordering::SeqCst);
        for r in readers {
            r.await.expect("reader");
        }
        assert!(reads.load(Ordering::SeqCst) >= 20, "readers read meanwhile: {}", reads.load(Ordering::SeqCst));
        if db.store.backend() == newsdesk_storage::Backend::Sqlite {
            assert!(closed > 0, "idle connections were closed meanwhile");
        } else {
            assert_eq!(closed, 0);
        }
        let mut r = db.store.reads().await.expect("reads");
        assert_eq!(r.story_for_page(id, 5).await.expect("read").expect("found").0.headline, "Raced 20");
    }
}

/// An in-memory SQLite database lives while a connection is open: tidying
/// keeps one open (and closes the others), and what was written stays.
#[tokio::test]
async fn tidying_keeps_an_in_memory_database() {
    let store = Store::connect("sqlite:file:tidying?mode=memory&cache=shared").await.expect("connect");
    store.migrate().await.expect("migrate");
    let e = edition(&store).await;
    let (id, _) = store.save_story(&published(e, "Iran", "Kept in memory")).await.expect("save");
    let max = store.pool_stats().max as usize;
    let mut held = Vec::new();
    for _ in 0..max {
        let mut r = store.reads().await.expect("a connection");
        assert!(r.story_for_page(id, 5).await.expect("read").is_some());
        held.push(r);
    }
    drop(held);
    all_idle(&store).await;
    assert_eq!(store.pool_stats().size as usize, max);
    assert_eq!(store.release_memory().await.expect("tidy"), max - 1, "all but one closed");
    all_idle(&store).await;
    assert_eq!(store.pool_stats().size, 1, "one left open");
    let mut reads = store.reads().await.expect("reads");
    let (story, _) = reads.story_for_page(id, 5).await.expect("read").expect("still there");
    assert_eq!(story.headline, "Kept in memory");
}

backend_test! {
    /// A connection let go while page reads wait for the pool goes to one of
    /// them at once: kept connections never sit idle while readers queue.
    async fn a_kept_connection_goes_to_a_reader_waiting_for_the_pool(db) {
        let e = edition(&db.store).await;
        let (id, _) = db.store.save_story(&published(e, "Iran", "Waited for")).await.expect("save");
        let max = db.store.pool_stats().max as usize;
        let mut held = Vec::new();
        for _ in 0..max {
            held.push(db.store.reads().await.expect("a connection"));
        }
        let waiter = {
            let store = db.store.clone();
            tokio::spawn(async move {
                let mut reads = store.reads().await.expect("a connection after the wait");
                reads.story_for_page(id, 5).await.expect("read").expect("found").0.headline
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiter.is_finished(), "every connection is held: it waits");
        drop(held.pop());
        // Far under the pool's own wait (3 s on PostgreSQL, 10 s on SQLite).
        let headline = tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("the waiting reader got the connection let go")
            .expect("waiter");
        assert_eq!(headline, "Waited for");
        drop(held);
    }
}

backend_test! {
    /// A connection is not kept while the pool has no other to give: the
    /// pool's other users (a write here) cannot take a kept one.
    async fn a_kept_connection_never_makes_a_write_wait(db) {
        let e = edition(&db.store).await;
        let (id, _) = db.store.save_story(&published(e, "Iran", "Before")).await.expect("save");
        db.store.release_memory().await.expect("tidy");
        all_idle(&db.store).await;
        let max = db.store.pool_stats().max as usize;
        let mut held = Vec::new();
        for _ in 1..max {
            held.push(db.store.reads().await.expect("a connection"));
        }
        let mut last = db.store.reads().await.expect("the last connection");
        assert!(last.story_for_page(id, 5).await.expect("read").is_some());
        drop(last);
        assert_eq!(db.store.spare_connections(), 0, "the pool had no other: it went back");
        // Far under the pool's own wait (3 s on PostgreSQL, 10 s on SQLite).
        let mut s = published(e, "Iran", "After");
        s.news_id = Some(id);
        tokio::time::timeout(Duration::from_secs(1), db.store.save_story(&s))
            .await
            .expect("the write got the connection")
            .expect("saved");
        drop(held);
    }
}

backend_test! {
    /// A read cut short (its future dropped before the rows came) leaves its
    /// connection to the pool, which tests it; nothing read after it is wrong.
    async fn a_read_cut_short_gives_its_connection_to_the_pool(db) {
        let e = edition(&db.store).await;
        let (a, _) = db.store.save_story(&published(e, "Iran", "First")).await.expect("save");
        let (b, _) = db.store.save_story(&published(e, "Iran", "Second")).await.expect("save");
        db.store.release_memory().await.expect("tidy");

        // A read is cut short when its first poll does not end it; on SQLite
        // a small read may end within it, so some tries may be needed.
        let mut tries = 0;
        loop {
            tries += 1;
            assert!(tries <= 5000, "no read was under way after its first poll");
            db.store.release_memory().await.expect("tidy");
            // The connections given back are back in the pool (sqlx tests
            // each on a task of its own): while the pool has none to give,
            // a read that ends keeps none, as it should.
            all_idle(&db.store).await;
            let mut reads = db.store.reads().await.expect("reads");
            let cut = tokio::time::timeout(Duration::ZERO, reads.story_for_page(a, 5)).await;
            drop(reads);
            if cut.is_err() {
                break;
            }
            assert_eq!(db.store.spare_connections(), 1, "a read that ended keeps its connection");
        }
        eprintln!("cut short at try {tries}");
        assert_eq!(db.store.spare_connections(), 0, "a connection whose read was cut short is not kept");
        all_idle(&db.store).await;

        for (id, headline) in [(b, "Second"), (a, "First"), (b, "Second")] {
            let mut reads = db.store.reads().await.expect("reads");
            let (story, _) = reads.story_for_page(id, 5).await.expect("read").expect("found");
            assert_eq!(story.headline, headline);
        }
        assert_eq!(db.store.spare_connections(), 1, "reads that ended keep it again");
    }
}

backend_test! {
    /// Closing the store gives back the kept connections first: it does not
    /// wait for them.
    async fn closing_the_store_does_not_wait_for_kept_connections(db) {
        let e = edition(&db.store).await;
        let (id, _) = db.store.save_story(&published(e, "Iran", "Closing")).await.expect("save");
        let mut reads = db.store.reads().await.expect("reads");
        assert!(reads.story_for_page(id, 5).await.expect("read").is_some());
        drop(reads);
        assert!(db.store.spare_connections() >= 1);
        tokio::time::timeout(Duration::from_secs(5), db.store.close()).await.expect("closed without waiting");
        assert_eq!(db.store.spare_connections(), 0);
        assert!(db.store.reads().await.is_err(), "a closed store has no connection to give");
    }
}

backend_test! {
    /// Two nodes on one database: one writes a story again and again while
    /// many page reads on the other run, on kept connections and the pool's.
    /// No read sees a version older than the last one written before it
    /// began, and the writes never wait out the pool's timeout.
    async fn page_reads_on_kept_connections_see_every_write_before_them(db) {
        const WRITES: usize = 40;
        const READERS: usize = 12;
        let e = edition(&db.store).await;
        let (id, _) = db.store.save_story(&published(e, "Iran", "Version 0")).await.expect("save");
        let reader = Store::connect(&db.url).await.expect("the second node");
        let written = Arc::new(AtomicUsize::new(0));

        let writer = {
            let (store, written) = (db.store.clone(), written.clone());
            tokio::spawn(async move {
                for v in 1..=WRITES {
                    let mut s = published(e, "Iran", &format!("Version {v}"));
                    s.news_id = Some(id);
                    store.save_story(&s).await.expect("a write while pages are read");
                    written.store(v, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                }
            })
        };
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                let (store, written) = (reader.clone(), written.clone());
                tokio::spawn(async move {
                    let mut reads_done = 0;
                    loop {
                        let before = written.load(Ordering::SeqCst);
                        let mut reads = store.reads().await.expect("a connection for a page");
                        let (story, _) = reads.story_for_page(id, 5).await.expect("read").expect("found");
                        drop(reads);
                        let seen: usize = story.headline["Version ".len()..].parse().expect("a version");
                        assert!(seen >= before, "read version {seen} after version {before} was written");
                        reads_done += 1;
                        if before == WRITES {
                            return reads_done;
                        }
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        tokio::time::timeout(Duration::from_secs(60), writer).await.expect("the writes ended").expect("writer");
        for r in readers {
            let done = tokio::time::timeout(Duration::from_secs(60), r).await.expect("the reads ended").expect("reader");
            assert!(done >= 1);
        }
        assert!(reader.spare_connections() >= 1, "the reads kept connections");
        assert!(reader.spare_connections() <= reader.pool_stats().max as usize / 2);
        reader.close().await;
    }
}
