//! Webhooks under real concurrency, with the dispatcher running as in
//! production (`run_webhooks`) and receivers on loopback: one event per
//! change, in order per story, even when changes come faster than the
//! dispatcher; a slow receiver delays no one else; and (PostgreSQL) a change
//! whose transaction commits after a later change's still gets its event.
//! Receivers on loopback need the operator's allow list
//! (`wire.webhook_allow_hosts`); without it, a webhook that leads to an
//! internal address is refused at every delivery, however it is spelt.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use newsdesk_domain::roles::Role;
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::testing::TestDb;
use newsdesk_storage::{AuditEntry, NewSubscriber, NewUser, SectionRef, StoryInput};
use newsdesk_web::webhooks::target::{AllowHosts, REFUSED};

use crate::common;
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

/// An app whose operator allows webhooks to loopback (`wire.webhook_allow_hosts`).
async fn app_allowing_loopback(db: TestDb) -> TestApp {
    let mut app = TestApp::new(db).await;
    allow(&mut app, &["127.0.0.1", "::1"]);
    app
}

/// Sets the operator's allow list.
fn allow(app: &mut TestApp, hosts: &[&str]) {
    let mut config = (*app.state.config).clone();
    config.wire.webhook_allow_hosts = AllowHosts::parse(hosts).expect("allow list");
    app.state.config = Arc::new(config);
}

/// A subscriber to section World with one webhook at `url`, written to the
/// store directly (as if registered before its name moved to another address).
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
        gallery_id: None,
        status,
        published_at: Some(Utc::now() - chrono::Duration::hours(1)),
        tags: vec![],
        authors: vec![],
        agency: None,
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
    let app = app_allowing_loopback(db).await;
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
    let app = app_allowing_loopback(db).await;
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
    let app = app_allowing_loopback(db).await;
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

/// The last error of each outbox row of `subscriber`, with the HTTP status.
async fn outcomes(app: &TestApp, subscriber: &str) -> Vec<(Option<String>, Option<i64>)> {
    let s = app.db.store.subscriber_by_name(subscriber).await.expect("read").expect("subscriber");
    let rows = app.db.store.outbox_of(s.id, 100).await.expect("outbox");
    rows.into_iter().map(|e| (e.last_error, e.last_status)).collect()
}

/// Without the allow list, webhooks to `localhost` (a name for 127.0.0.1), to
/// 127.0.0.1 itself, to its hex form and to a closed loopback port are all
/// refused at delivery in the same words: nothing reaches the receiver and
/// the delivery log tells nothing about the target. With the allow list the
/// same rows are delivered.
async fn internal_targets_are_refused_at_delivery_unless_allowed(db: TestDb) {
    let mut app = TestApp::new(db).await;
    let (receivers, base) = receivers().await;
    let port = base.rsplit(':').next().expect("port").to_string();
    subscribe(&app, "By name", &format!("http://localhost:{port}/name")).await;
    subscribe(&app, "By address", &format!("{base}/address")).await;
    subscribe(&app, "By hex", &format!("http://0x7f000001:{port}/hex")).await;
    subscribe(&app, "Closed port", "http://127.0.0.1:1/closed").await;
    app.add_story(&["World"], "Inside job", 1).await;
    newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
    let client = newsdesk_web::webhooks::client(&app.state).expect("client");
    assert_eq!(newsdesk_web::webhooks::deliver_once(&app.state, &client).await.expect("deliver"), 0);
    for path in ["name", "address", "hex", "closed"] {
        assert!(receivers.events(path).is_empty(), "{path} got an event");
    }
    for name in ["By name", "By address", "By hex", "Closed port"] {
        let got = outcomes(&app, name).await;
        assert!(!got.is_empty(), "{name}: an event was queued");
        assert!(got.iter().all(|(e, s)| e.as_deref() == Some(REFUSED) && s.is_none()), "{name}: {got:?}");
    }

    allow(&mut app, &["127.0.0.1", "::1"]);
    let client = newsdesk_web::webhooks::client(&app.state).expect("client");
    // The refused attempts wait for their backoff (1 s).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    newsdesk_web::webhooks::deliver_once(&app.state, &client).await.expect("deliver");
    for path in ["name", "address", "hex"] {
        assert_eq!(receivers.events(path).len(), 1, "{path} once allowed");
    }
    let closed = outcomes(&app, "Closed port").await;
    assert!(closed.iter().all(|(e, _)| e.as_deref() == Some("cannot connect")), "{closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_targets_are_refused_at_delivery_unless_allowed_sqlite() {
    internal_targets_are_refused_at_delivery_unless_allowed(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_targets_are_refused_at_delivery_unless_allowed_postgres() {
    if let Some(db) = TestDb::postgres().await {
        internal_targets_are_refused_at_delivery_unless_allowed(db).await;
    }
}

/// The back office refuses a webhook URL that leads inside, in every
/// spelling, with a message that names the setting; with the allow list the
/// same URL is taken.
async fn the_back_office_refuses_internal_webhook_urls(db: TestDb) {
    let mut app = TestApp::new(db).await;
    let hash = password_auth::generate_hash("admin password 123");
    let user =
        NewUser { email: "admin@example.org".into(), name: "Admin".into(), role: Role::Admin, password_hash: hash };
    let now = Utc::now();
    let audit = AuditEntry::system("test", "user.create", "user", "", "");
    let admin = app.db.store.create_user(&user, now, &audit).await.expect("admin").id;
    let (token, csrf) = ("a".repeat(64), "c".repeat(64));
    let token_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(token.as_bytes()));
    app.db
        .store
        .create_session(&token_hash, admin, &csrf, now, now + chrono::Duration::hours(1))
        .await
        .expect("session");
    let audit = AuditEntry::system("test", "subscriber.create", "subscriber", "", "");
    let new = NewSubscriber { name: "Planet".into(), sections: vec![], editions: vec![], rate_limit: 60 };
    let s = app.db.store.add_subscriber(&new, &audit).await.expect("subscriber");
    let post = |app: &TestApp, url: &str| {
        let body = serde_urlencoded::to_string([("url", url), ("csrf", csrf.as_str())]).expect("form");
        let req = axum::http::Request::builder()
            .method("POST")
            .uri(format!("/admin/subscribers/{}/webhooks", s.id))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("nd_session={token}"))
            .header("sec-fetch-site", "same-origin")
            .body(axum::body::Body::from(body))
            .expect("request");
        let router = app.router();
        async move { tower::ServiceExt::oneshot(router, req).await.expect("answer") }
    };
    for url in [
        "http://127.0.0.1:5432/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/",
        "http://172.16.5.4/",
        "http://192.168.0.1/",
        "http://[fc00::1]/",
        "http://[fe80::1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost:8080/",
    ] {
        let res = post(&app, url).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let body = http_body_util::BodyExt::collect(res.into_body()).await.expect("body").to_bytes();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("public addresses only") && body.contains("wire.webhook_allow_hosts"), "{url}: {body}");
    }
    assert!(app.db.store.webhooks(s.id).await.expect("webhooks").is_empty(), "nothing was registered");

    allow(&mut app, &["127.0.0.1"]);
    let res = post(&app, "http://127.0.0.1:9000/hook").await;
    assert_eq!(res.status(), StatusCode::OK, "allowed");
    assert_eq!(app.db.store.webhooks(s.id).await.expect("webhooks").len(), 1);
}

#[tokio::test]
async fn the_back_office_refuses_internal_webhook_urls_sqlite() {
    the_back_office_refuses_internal_webhook_urls(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn the_back_office_refuses_internal_webhook_urls_postgres() {
    if let Some(db) = TestDb::postgres().await {
        the_back_office_refuses_internal_webhook_urls(db).await;
    }
}
