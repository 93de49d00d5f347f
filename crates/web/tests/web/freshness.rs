//! Nothing stale under real concurrency: readers rendering the same page at
//! once while stories are published, a second node following the change log,
//! and (PostgreSQL) a change whose transaction commits after a later one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use http_body_util::BodyExt;
use newsdesk_storage::Store;
use newsdesk_storage::testing::TestDb;
use newsdesk_web::{AppState, WebConfig};
use tower::ServiceExt;

use crate::common;
use common::TestApp;

/// Rounds of publish-then-read; the bug this guards against showed within a few.
const ROUNDS: usize = 15;
/// Readers hitting the page at once, per node.
const READERS: usize = 4;
/// How long a publish may take to show. The follower polls every 500 ms at
/// worst; the rest is room for a loaded test machine (a page that stays stale
/// stays so for good, so a generous bound still catches it).
const DEADLINE: Duration = Duration::from_secs(10);

/// A node as readers reach it: its router, built once (as `serve` does).
#[derive(Clone)]
struct Node {
    router: axum::Router,
}

impl Node {
    fn of(state: &AppState) -> Node {
        Node { router: newsdesk_web::app(state.clone()) }
    }
}

async fn get(node: &Node, path: &str) -> (StatusCode, String) {
    let req = Request::get(path).body(Body::empty()).expect("request");
    let res = node.router.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A second node: its own store handle (its own pool and, on PostgreSQL, its
/// own LISTEN connection) on the same database, following the change log.
async fn node(db: &TestDb) -> (Node, tokio::task::JoinHandle<()>) {
    let store = Store::connect(&db.url).await.expect("second node's store");
    let config = WebConfig {
        public_url: "https://news.example".into(),
        change_poll: Duration::from_millis(500),
        count_views: false,
        ..WebConfig::default()
    };
    let state = AppState::new(store, config).await.expect("second node");
    let follower = tokio::spawn(newsdesk_web::follow_changes(state.clone()));
    (Node::of(&state), follower)
}

/// Readers keep requesting `path` on `node` until stopped.
fn readers(node: &Node, path: &'static str, stop: &Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..READERS)
        .map(|_| {
            let (node, stop) = (node.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let (status, _) = get(&node, path).await;
                    assert_eq!(status, StatusCode::OK);
                    // A cached page is answered without ever waiting, so the
                    // loop would never give its worker back (a real reader
                    // waits on its socket).
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect()
}

/// Waits until `path` on `node` contains `text`; how long it took.
async fn shows(node: &Node, path: &str, text: &str) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < DEADLINE {
        if get(node, path).await.1.contains(text) {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

/// Publish, many readers render the home page at once, publish again: every
/// publish shows on the home page, on this node and on another.
async fn concurrent_readers_never_keep_a_page_stale(db: TestDb) {
    let app = TestApp::new(db).await;
    let local_follower = tokio::spawn(newsdesk_web::follow_changes(app.state.clone()));
    let (other, other_follower) = node(&app.db).await;
    let stop = Arc::new(AtomicBool::new(false));
    let this = Node::of(&app.state);
    let mut crowd = readers(&this, "/", &stop);
    crowd.extend(readers(&other, "/", &stop));
    let base = Utc::now() - chrono::Duration::hours(1);
    let mut slowest = Duration::ZERO;
    for round in 0..ROUNDS {
        let headline = format!("Round {round} headline");
        app.add_at(&["World"], &headline, base + chrono::Duration::seconds(round as i64)).await;
        for (name, n) in [("this node", &this), ("the other node", &other)] {
            let took = shows(n, "/", &headline).await;
            let took = took.unwrap_or_else(|| panic!("round {round}: the home page on {name} stayed stale"));
            slowest = slowest.max(took);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in crowd {
        r.await.expect("reader");
    }
    local_follower.abort();
    other_follower.abort();
    eprintln!("slowest publish to home page over {ROUNDS} rounds: {slowest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_readers_never_keep_a_page_stale_sqlite() {
    concurrent_readers_never_keep_a_page_stale(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_readers_never_keep_a_page_stale_postgres() {
    if let Some(db) = TestDb::postgres().await {
        concurrent_readers_never_keep_a_page_stale(db).await;
    }
}

/// PostgreSQL: change ids are taken at insert and transactions commit in
/// another order. A change whose transaction commits after a later change's
/// still drops the pages it makes stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_committed_late_still_refreshes_its_pages() {
    use sqlx::Connection;
    let Some(db) = TestDb::postgres().await else { return };
    let app = TestApp::new(db).await;
    let (other, follower) = node(&app.db).await;
    let base = Utc::now() - chrono::Duration::hours(1);
    let late = app.add_at(&["World"], "Early headline of the late story", base).await;
    let path = app.db.store.story(late).await.expect("read").expect("story").path();
    assert!(shows(&other, &path, "Early headline of the late story").await.is_some());

    // A newsroom transaction takes its change id, then is slow to commit.
    let mut slow = sqlx::PgConnection::connect(&app.db.url).await.expect("connect");
    let mut tx = slow.begin().await.expect("begin");
    sqlx::query("UPDATE stories SET headline = 'Late headline', version = version + 1 WHERE news_id = $1")
        .bind(late)
        .execute(&mut *tx)
        .await
        .expect("update");
    sqlx::query("INSERT INTO story_changes (news_id, edition_id, changed_at) VALUES ($1, $2, $3)")
        .bind(late)
        .bind(app.edition_id)
        .bind(Utc::now().timestamp())
        .execute(&mut *tx)
        .await
        .expect("change");
    sqlx::query("SELECT pg_notify('newsdesk_changes', '')").execute(&mut *tx).await.expect("notify");

    // Meanwhile a later change commits and is applied; the story page is read
    // (and cached) as it still is.
    app.add_at(&["World"], "A later story", base + chrono::Duration::minutes(1)).await;
    assert!(shows(&other, "/", "A later story").await.is_some(), "the later change is applied");
    assert!(get(&other, &path).await.1.contains("Early headline of the late story"));

    tx.commit().await.expect("the late commit");
    let took = shows(&other, &path, "Late headline").await;
    assert!(took.is_some(), "the change that committed late never refreshed its page");
    assert!(shows(&other, "/", "Late headline").await.is_some(), "nor the home page");
    eprintln!("late change shown after {:?}", took.unwrap_or_default());
    follower.abort();
}

newsdesk_storage::backend_test! {
    /// The public pages take the edition's sections from memory; a section
    /// renamed on another node shows on this node's pages once its change is
    /// applied (the sections are read again, not only the pages dropped).
    async fn a_section_renamed_elsewhere_shows_on_this_nodes_pages(db) {
        let app = TestApp::new(db).await;
        let (this, follower) = node(&app.db).await;
        let (status, page) = get(&this, common::SEED_PATH).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(">Iran</a>"), "breadcrumb");
        let iran = app.db.store.sections(app.edition_id).await.expect("sections");
        let iran = iran.iter().find(|s| s.path == "iran").expect("the seed's section");
        let edit = newsdesk_storage::SectionEdit {
            name: "Iran and the Region".into(),
            slug: Some("iran".into()),
            parent_id: iran.parent_id,
            position: iran.position,
        };
        let audit = newsdesk_storage::AuditEntry::system("test", "section.update", "section", iran.id, "");
        app.db.store.update_section(iran.id, &edit, &audit).await.expect("rename");
        assert!(shows(&this, common::SEED_PATH, ">Iran and the Region</a>").await.is_some(), "story page");
        assert!(shows(&this, "/section/iran", "Iran and the Region").await.is_some(), "section page");
        follower.abort();
    }
}

newsdesk_storage::backend_test! {
    /// A story in a section made moments ago (with the story) has its
    /// breadcrumb, even before this node has applied the change that made it.
    async fn a_story_in_a_section_made_moments_ago_has_its_breadcrumb(db) {
        let app = TestApp::new(db).await;
        assert_eq!(app.get(common::SEED_PATH).await.status, StatusCode::OK);
        assert!(app.state.sections.get(app.edition_id).is_some(), "the sections are held once a page showed them");
        let id = app.add_story(&["Science", "Space"], "Probe reaches orbit", 5).await;
        let story = app.db.store.story(id).await.expect("read").expect("story");
        let page = app.get(&story.path()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("href=\"/section/science/space\""), "breadcrumb of the new section");
        let section = app.get("/section/science/space").await;
        assert_eq!(section.status, StatusCode::OK, "the new section's page");
        assert!(section.body.contains("Probe reaches orbit"));
        // Applying a change drops them (they are read again when next needed).
        app.state.apply_changes(0).await.expect("apply");
        assert!(app.state.sections.get(app.edition_id).is_none());
    }
}
