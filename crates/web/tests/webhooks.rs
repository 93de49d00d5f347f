//! Webhooks under real concurrency, with the dispatcher running as in
//! production (`run_webhooks`) and receivers on loopback: one event per
//! change, in order per story, even when changes come faster than the
//! dispatcher; a slow receiver delays no one else; and (PostgreSQL) a change
//! whose transaction commits after a later change's still gets its event.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::testing::TestDb;
use newsdesk_storage::{AuditEntry, NewSubscriber, SectionRef, StoryInput};

mod common;
use common::TestApp;

/// One event as a receiver got it.
#[derive(Debug, Clone)]
struct Got {
    id: String,
    kind: String,
    change_id: i64,
    news_id: i64,
    version: i64,
    headline: String,
    /// When the receiver had it.
    at: Instant,
}

/// Receivers on one loopback server, one per path; `/slow` answers after 4 s.
#[derive(Default)]
struct Receivers {
    got: Mutex<HashMap<String, Vec<Got>>>,
}

impl Receivers {
    /// The distinct events `path` got (first delivery of each id), in arrival order.
    fn events(&self, path: &str) -> Vec<Got> {
        let got = self.got.lock().expect("lock");
        let mut seen = HashSet::new();
        got.get(path).into_iter().flatten().filter(|g| seen.insert(g.id.clone())).cloned().collect()
    }
}

async fn receive(
    State(r): State<Arc<Receivers>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    if path == "slow" {
        tokio::time::sleep(Duration::from_secs(4)).await;
    }
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    let id = headers.get("newsdesk-webhook-id").and_then(|h| h.to_str().ok()).unwrap_or_default();
    assert_eq!(v["id"].as_str(), Some(id), "header and body name the same event");
    let got = Got {
        id: id.into(),
        kind: v["type"].as_str().unwrap_or_default().into(),
        change_id: v["change_id"].as_i64().unwrap_or_default(),
        news_id: v["news_id"].as_i64().unwrap_or_default(),
        version: v["item"]["version"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default(),
        headline: v["item"]["headlines"][0]["value"].as_str().unwrap_or_default().into(),
        at: Instant::now(),
    };
    r.got.lock().expect("lock").entry(path).or_default().push(got);
    StatusCode::NO_CONTENT
}

/// Starts the receivers; returns them and their base URL.
async fn receivers() -> (Arc<Receivers>, String) {
    let r = Arc::new(Receivers::default());
    let app = axum::Router::new().route("/{path}", axum::routing::post(receive)).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
    (r, base)
}

/// A subscriber to section World with one webhook at `url`.
async fn subscribe(app: &TestApp, name: &str, url: &str) {
    let s = app
        .db
        .store
        .add_subscriber(
            &NewSubscriber { name: name.into(), sections: vec!["world".into()], editions: vec![], rate_limit: 60 },
            &newsdesk_storage::AuditEntry::system("test", "subscriber.create", "subscriber", "", ""),
        )
        .await
        .expect("subscriber");
    app.db
        .store
        .add_webhook(
            s.id,
            url,
            &newsdesk_storage::AuditEntry::system("test", "subscriber.webhook", "subscriber", "", ""),
        )
        .await
        .expect("webhook");
}

/// The dispatcher of this node, as `serve` runs it.
fn dispatcher(app: &TestApp) -> tokio::task::JoinHandle<()> {
    tokio::spawn(newsdesk_web::webhooks::run_webhooks(app.state.clone(), newsdesk_web::webhooks::holder_id()))
}

async fn until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(secs), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A story in World as the editor saves it.
fn story(app: &TestApp, news_id: Option<i64>, headline: &str, status: StoryStatus) -> StoryInput {
    StoryInput {
        news_id,
        edition_id: app.edition_id,
        section: SectionRef::Names(vec!["World".into()]),
        slug: Some(format!("story-{}", headline.split(' ').next().unwrap_or("x").to_lowercase())),
        headline: headline.into(),
        lead: "Lead.".into(),
        body_source: format!("Body of {headline}."),
        body_format: BodyFormat::Markdown,
        photo_id: None,
        status,
        published_at: Some(Utc::now() - chrono::Duration::hours(1)),
        tags: vec![],
        authors: vec![],
        actor: "test".into(),
    }
}

/// What the newsroom does to a story, in order.
#[derive(Debug, Clone, Copy)]
enum Op {
    Update,
    /// A newsroom correction (new version with a correction note).
    Correct,
    /// A new public update time alone.
    MarkUpdated,
    Unpublish,
    Republish,
    Kill,
}

impl Op {
    fn event(self) -> &'static str {
        match self {
            Op::Update => "update",
            Op::Correct | Op::MarkUpdated => "correction",
            Op::Unpublish => "unpublish",
            Op::Republish => "publish",
            Op::Kill => "kill",
        }
    }
}

/// Creates a story and runs `ops` on it as fast as the store allows; returns
/// its News ID, the expected event types and the headline of each event.
async fn newsroom(app: &TestApp, name: &str, ops: &[Op]) -> (i64, Vec<&'static str>, Vec<String>) {
    let store = &app.db.store;
    let mut headline = format!("{name} v1");
    let (id, _) = store.save_story(&story(app, None, &headline, StoryStatus::Published)).await.expect("create");
    let mut kinds = vec!["publish"];
    let mut headlines = vec![headline.clone()];
    for (n, op) in ops.iter().enumerate() {
        match op {
            Op::Update => {
                headline = format!("{name} v{}", n + 2);
                store.save_story(&story(app, Some(id), &headline, StoryStatus::Published)).await.expect("update");
            }
            Op::Correct => {
                let version = store.story(id).await.expect("read").expect("story").version;
                store
                    .add_correction(
                        id,
                        version,
                        "A name was misspelt.",
                        &AuditEntry::system("test", "story.correction", "story", id, ""),
                    )
                    .await
                    .expect("correction");
            }
            Op::MarkUpdated => {
                let at = Utc::now() + chrono::Duration::minutes(n as i64 + 1);
                store.mark_updated(id, at).await.expect("mark updated");
            }
            Op::Unpublish => assert!(store.set_story_status(id, StoryStatus::Unpublished).await.expect("unpublish")),
            Op::Republish => assert!(store.set_story_status(id, StoryStatus::Published).await.expect("republish")),
            Op::Kill => assert!(store.set_story_status(id, StoryStatus::Killed).await.expect("kill")),
        }
        kinds.push(op.event());
        // A retraction carries no content.
        let public = matches!(op, Op::Update | Op::Correct | Op::MarkUpdated | Op::Republish);
        headlines.push(if public { headline.clone() } else { String::new() });
    }
    (id, kinds, headlines)
}

/// 50 changes made quickly to three stories at once (faster than the
/// dispatcher polls): exactly one event per change, in order per story, each
/// with its own increasing change id and the story as it was at that change.
async fn every_change_has_its_own_event(db: TestDb) {
    use Op::*;
    let app = TestApp::new(db).await;
    let (receivers, base) = receivers().await;
    subscribe(&app, "All of World", &format!("{base}/all")).await;
    let dispatcher = dispatcher(&app);

    let long = [
        Update,
        Correct,
        Update,
        Unpublish,
        Republish,
        Update,
        MarkUpdated,
        Unpublish,
        Republish,
        Update,
        Correct,
        Update,
        MarkUpdated,
        Update,
        Unpublish,
        Kill,
    ];
    let (a, b, c) = tokio::join!(
        newsroom(&app, "Alpha", &long),
        newsroom(&app, "Beta", &long),
        newsroom(&app, "Gamma", &long[1..]),
    );
    let expected: HashMap<i64, (Vec<&str>, Vec<String>)> =
        [a, b, c].into_iter().map(|(id, kinds, headlines)| (id, (kinds, headlines))).collect();
    let total: usize = expected.values().map(|(k, _)| k.len()).sum();
    assert_eq!(total, 50);

    let ours = |r: &Receivers| r.events("all").into_iter().filter(|g| expected.contains_key(&g.news_id)).count();
    until(60, "an event for every change", || ours(&receivers) >= total).await;
    // Nothing more comes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got: Vec<Got> = receivers.events("all").into_iter().filter(|g| expected.contains_key(&g.news_id)).collect();
    assert_eq!(got.len(), total, "{got:#?}");
    let ids: HashSet<i64> = got.iter().map(|g| g.change_id).collect();
    assert_eq!(ids.len(), total, "each event has its own change id: {got:#?}");
    for (id, (kinds, headlines)) in &expected {
        let story: Vec<&Got> = got.iter().filter(|g| g.news_id == *id).collect();
        let got_kinds: Vec<&str> = story.iter().map(|g| g.kind.as_str()).collect();
        assert_eq!(&got_kinds, kinds, "story {id}");
        assert!(story.windows(2).all(|w| w[0].change_id < w[1].change_id), "story {id} in change order: {story:#?}");
        assert!(story.windows(2).all(|w| w[0].version <= w[1].version), "story {id} versions: {story:#?}");
        let got_headlines: Vec<&str> = story.iter().map(|g| g.headline.as_str()).collect();
        assert_eq!(&got_headlines, headlines, "story {id}: each event shows the story as it was then");
    }
    dispatcher.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_change_has_its_own_event_sqlite() {
    every_change_has_its_own_event(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_change_has_its_own_event_postgres() {
    if let Some(db) = TestDb::postgres().await {
        every_change_has_its_own_event(db).await;
    }
}

/// A receiver taking 4 s per answer does not hold back a healthy one: the
/// healthy one has every event before the slow one has answered once, and
/// the slow one still gets its events, in order.
async fn a_slow_receiver_delays_no_one_else(db: TestDb) {
    let app = TestApp::new(db).await;
    let (receivers, base) = receivers().await;
    // The slow webhook is older: its outbox rows come first.
    subscribe(&app, "Slow", &format!("{base}/slow")).await;
    subscribe(&app, "Fast", &format!("{base}/fast")).await;
    let dispatcher = dispatcher(&app);

    let mut stories = Vec::new();
    for n in 0..3 {
        stories.push(app.add_story(&["World"], &format!("Story {n}"), n).await);
    }
    let changed = Instant::now();
    until(20, "the healthy receiver's events", || receivers.events("fast").len() >= 3).await;
    let fast = receivers.events("fast");
    let fast_done = fast.iter().map(|g| g.at).max().expect("events");
    eprintln!("healthy receiver had every event {:?} after the last change", fast_done - changed);
    assert_eq!(fast.iter().map(|g| g.news_id).collect::<Vec<_>>(), stories);
    assert!(
        receivers.events("slow").first().is_none_or(|first| fast_done < first.at),
        "the healthy receiver waited for the slow one"
    );
    assert!(fast_done - changed < Duration::from_secs(3), "took {:?}", fast_done - changed);

    until(30, "the slow receiver's events", || receivers.events("slow").len() >= 3).await;
    assert_eq!(receivers.events("slow").iter().map(|g| g.news_id).collect::<Vec<_>>(), stories);
    dispatcher.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_receiver_delays_no_one_else_sqlite() {
    a_slow_receiver_delays_no_one_else(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_receiver_delays_no_one_else_postgres() {
    if let Some(db) = TestDb::postgres().await {
        a_slow_receiver_delays_no_one_else(db).await;
    }
}

/// PostgreSQL: change ids are taken at insert and transactions commit in
/// another order. A change whose transaction commits after a later change's
/// was dispatched still gets its webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_committed_late_still_gets_its_webhook() {
    use sqlx::Connection;
    let Some(db) = TestDb::postgres().await else { return };
    let app = TestApp::new(db).await;
    let (receivers, base) = receivers().await;
    subscribe(&app, "All of World", &format!("{base}/all")).await;
    let dispatcher = dispatcher(&app);
    let late = app.add_story(&["World"], "The late story", 1).await;
    let other = app.add_story(&["World"], "Another story", 2).await;
    until(20, "both publish events", || receivers.events("all").len() >= 2).await;

    // A newsroom transaction kills the story and takes its change id, then is slow to commit.
    let mut slow = sqlx::PgConnection::connect(&app.db.url).await.expect("connect");
    let mut tx = slow.begin().await.expect("begin");
    sqlx::query("UPDATE stories SET status = 'killed', version = version + 1 WHERE news_id = $1")
        .bind(late)
        .execute(&mut *tx)
        .await
        .expect("kill");
    sqlx::query(
        "INSERT INTO story_changes (news_id, edition_id, changed_at, status, version, updated_at) \
         SELECT news_id, edition_id, $2, status, version, updated_at FROM stories WHERE news_id = $1",
    )
    .bind(late)
    .bind(Utc::now().timestamp())
    .execute(&mut *tx)
    .await
    .expect("change");
    sqlx::query("SELECT pg_notify('newsdesk_changes', '')").execute(&mut *tx).await.expect("notify");

    // Meanwhile a later change commits and is announced.
    assert!(app.db.store.set_story_status(other, StoryStatus::Unpublished).await.expect("unpublish"));
    until(20, "the later change's event", || receivers.events("all").iter().any(|g| g.kind == "unpublish")).await;

    tx.commit().await.expect("the late commit");
    let committed = Instant::now();
    until(20, "the late change's event", || receivers.events("all").iter().any(|g| g.kind == "kill")).await;
    eprintln!("late change announced {:?} after its commit", committed.elapsed());
    let got = receivers.events("all");
    let kill = got.iter().find(|g| g.kind == "kill").expect("kill");
    let unpublish = got.iter().find(|g| g.kind == "unpublish").expect("unpublish");
    assert_eq!((kill.news_id, unpublish.news_id), (late, other));
    assert!(kill.change_id < unpublish.change_id, "the kill took its change id first: {got:#?}");
    dispatcher.abort();
}
