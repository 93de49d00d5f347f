//! Webhooks end to end: a receiver on loopback, the real `newsdesk` binary
//! stopped in the middle (SIGKILL while deliveries fail, SIGTERM right after
//! a change, SIGKILL of the dispatching node while changes are made) and
//! restarted or replaced by a second node. Every change's event arrives,
//! exactly once after deduping on its id, in order per story, with a valid
//! signature. On SQLite and on PostgreSQL.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::testing::TestDb;
use newsdesk_storage::{SectionRef, StoryInput, backend_test};
use sha2::Sha256;
use tokio::process::{Child, Command};

const SEED: &str = include_str!("../../../../demo/seed/000_ad66ece867d7ed05.txt");
/// The receivers listen on loopback, which webhooks may reach only when the operator allows it.
const ALLOW_LOOPBACK: &str = r#"["127.0.0.1"]"#;
const SEED_HEADLINE: &str = "Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports Booming";

/// One POST the receiver accepted.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    kind: String,
    change_id: i64,
    news_id: i64,
    version: i64,
    pubstatus: String,
    signature_ok: bool,
}

#[derive(Default)]
struct Receiver {
    secret: Mutex<String>,
    failing: AtomicBool,
    refused: Mutex<usize>,
    got: Mutex<Vec<Received>>,
}

async fn hook(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: String) -> StatusCode {
    if r.failing.load(Ordering::SeqCst) {
        *r.refused.lock().expect("lock") += 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (id, ts, sig) = (h("newsdesk-webhook-id"), h("newsdesk-webhook-timestamp"), h("newsdesk-webhook-signature"));
    // The receiver's check, written from the README, not with newsdesk's own code.
    let secret = r.secret.lock().expect("lock").clone();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    let fresh = ts.parse::<i64>().is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(v["id"].as_str(), Some(id.as_str()), "header and body name the same event");
    r.got.lock().expect("lock").push(Received {
        id,
        kind: v["type"].as_str().unwrap_or_default().into(),
        change_id: v["change_id"].as_i64().unwrap_or_default(),
        news_id: v["news_id"].as_i64().unwrap_or_default(),
        version: v["item"]["version"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default(),
        pubstatus: v["item"]["pubstatus"].as_str().unwrap_or_default().into(),
        signature_ok: sig == expected && fresh,
    });
    StatusCode::NO_CONTENT
}

async fn start_receiver() -> (Arc<Receiver>, u16) {
    let r = Arc::new(Receiver::default());
    let app = axum::Router::new().route("/hook", axum::routing::post(hook)).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("receiver") });
    (r, port)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Runs a newsdesk command to its end; returns stdout.
async fn newsdesk(db: &TestDb, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.display().to_string(), "--database-url", &db.url])
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .env("NEWSDESK_WIRE__WEBHOOK_ALLOW_HOSTS", ALLOW_LOOPBACK)
        .output()
        .await
        .expect("run newsdesk");
    assert!(out.status.success(), "newsdesk {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A saved page for story `id` with `headline` and `lead`, in section World.
async fn import(db: &TestDb, dir: &Path, id: i64, headline: &str, lead: &str) {
    let first_lead = SEED.lines().nth(6).expect("seed lead");
    let text = SEED
        .replace("News ID: 84427", &format!("News ID: {id}"))
        .replace(SEED_HEADLINE, headline)
        .replace(first_lead, lead)
        .replace("iran << Iran", "world << World");
    let path = dir.join(format!("{id}.txt"));
    std::fs::write(&path, text).expect("write page");
    newsdesk(db, dir, &["import", "page", &path.display().to_string()]).await;
}

struct Server {
    child: Child,
}

impl Server {
    async fn start(db: &TestDb, dir: &Path) -> Server {
        let port = free_port();
        let log = std::fs::File::create(dir.join(format!("server-{port}.log"))).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
            .args(["--data", &dir.display().to_string(), "--database-url", &db.url])
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env_remove("NEWSDESK_CONFIG")
            .env("NEWSDESK_WIRE__WEBHOOK_ALLOW_HOSTS", ALLOW_LOOPBACK)
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start newsdesk serve");
        let start = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(start.elapsed() < Duration::from_secs(60), "server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Server { child }
    }

    async fn signal(&mut self, sig: &str) {
        let pid = self.child.id().expect("running").to_string();
        let ok = Command::new("kill").args([sig, &pid]).status().await.expect("kill").success();
        assert!(ok, "kill {sig} {pid}");
        let status = tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .expect("server stops within 15 s")
            .expect("wait");
        if sig == "-TERM" {
            assert!(status.success(), "exit status after SIGTERM: {status}");
        }
    }
}

/// Waits until `done` holds, up to `secs`; on timeout shows the servers' logs.
async fn until(secs: u64, what: &str, dir: &Path, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > Duration::from_secs(secs) {
            let mut logs = String::new();
            for e in std::fs::read_dir(dir).expect("dir").flatten() {
                if e.file_name().to_string_lossy().starts_with("server-") {
                    logs += &format!(
                        "--- {}\n{}",
                        e.path().display(),
                        std::fs::read_to_string(e.path()).unwrap_or_default()
                    );
                }
            }
            panic!("timed out waiting for {what}\n{logs}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Event types per story, first delivery of each event id only.
fn per_story(got: &[Received]) -> HashMap<i64, Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for r in got {
        if seen.insert(r.id.clone()) {
            out.entry(r.news_id).or_default().push(r.kind.clone());
        }
    }
    out
}

fn count_unique(r: &Receiver) -> usize {
    let got = r.got.lock().expect("lock");
    got.iter().map(|g| g.id.as_str()).collect::<std::collections::HashSet<_>>().len()
}

backend_test! {
    async fn every_event_arrives_once_in_order_across_restarts(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let (receiver, port) = start_receiver().await;
        newsdesk(&db, d, &["import", "page", &{
            let p = d.join("seed.txt");
            std::fs::write(&p, SEED).expect("seed");
            p.display().to_string()
        }]).await;
        let (a, b, c, e) = (900001, 900002, 900003, 900004);
        // Story A (and its section) exists before the server first runs: it is announced at the start.
        import(&db, d, a, "Story A", "Lead A.").await;
        let key = newsdesk(&db, d, &["subscriber", "add", "Loopback Daily", "--sections", "world"]).await;
        assert!(key.starts_with("nd_"), "{key}");
        let secret = newsdesk(&db, d, &["subscriber", "webhook", "add", "Loopback Daily",
            &format!("http://127.0.0.1:{port}/hook")]).await;
        assert!(secret.starts_with("whsec_"), "{secret}");
        *receiver.secret.lock().expect("lock") = secret;

        let mut server = Server::start(&db, d).await;
        import(&db, d, b, "Story B", "Lead B.").await;
        import(&db, d, c, "Story C", "Lead C.").await;
        until(30, "three publish events", d, || count_unique(&receiver) >= 3).await;

        // Deliveries fail; the events wait in the outbox. Then the node dies hard.
        receiver.failing.store(true, Ordering::SeqCst);
        import(&db, d, a, "Story A, updated", "Lead A.").await;
        assert!(db.store.set_story_status(b, StoryStatus::Killed).await.expect("kill"));
        until(30, "failed attempts", d, || *receiver.refused.lock().expect("lock") >= 2).await;
        server.signal("-KILL").await;

        // Changes while no node runs, then a restart with a working receiver.
        receiver.failing.store(false, Ordering::SeqCst);
        assert!(db.store.set_story_status(c, StoryStatus::Unpublished).await.expect("unpublish"));
        db.store.mark_updated(a, chrono::Utc::now() + chrono::Duration::minutes(5)).await.expect("correction");
        let mut server = Server::start(&db, d).await;
        until(60, "the events kept over the crash", d, || count_unique(&receiver) >= 7).await;

        // A graceful stop right after a change: the event is sent before or after the restart.
        import(&db, d, e, "Story E", "Lead E.").await;
        server.signal("-TERM").await;
        let mut server = Server::start(&db, d).await;
        until(60, "the event across SIGTERM", d, || count_unique(&receiver) >= 8).await;
        // Nothing more comes.
        tokio::time::sleep(Duration::from_secs(2)).await;
        server.signal("-TERM").await;

        let got = receiver.got.lock().expect("lock").clone();
        assert!(got.iter().all(|r| r.signature_ok), "every signature verifies: {got:#?}");
        let stories = per_story(&got);
        let kinds = |id: i64| stories.get(&id).cloned().unwrap_or_default();
        assert_eq!(kinds(a), ["publish", "update", "correction"], "{got:#?}");
        assert_eq!(kinds(b), ["publish", "kill"], "{got:#?}");
        assert_eq!(kinds(c), ["publish", "unpublish"], "{got:#?}");
        assert_eq!(kinds(e), ["publish"], "{got:#?}");
        assert_eq!(stories.len(), 4, "the seed (section iran) is not for this subscriber: {got:#?}");
        // Versions only grow per story; retractions carry their pubstatus.
        for id in [a, b, c, e] {
            let versions: Vec<i64> = got.iter().filter(|r| r.news_id == id).map(|r| r.version).collect();
            assert!(versions.windows(2).all(|w| w[0] <= w[1]), "{id}: {versions:?}");
        }
        let status_of = |kind: &str| got.iter().find(|r| r.kind == kind).map(|r| r.pubstatus.clone());
        assert_eq!(status_of("kill").as_deref(), Some("canceled"));
        assert_eq!(status_of("unpublish").as_deref(), Some("withheld"));
        assert_eq!(status_of("publish").as_deref(), Some("usable"));
        // A duplicate delivery (at least once) repeats the same id, never a new one.
        assert_eq!(count_unique(&receiver), 8);
    }
}

/// The process id in the webhook lease holder's name (`{pid}-{random}`, see `webhooks::holder_id`).
async fn lease_holder_pid(db: &TestDb) -> Option<u32> {
    let holder = db.store.lease_holder("webhooks").await.expect("lease")?;
    holder.split('-').next()?.parse().ok()
}

/// One change of the newsroom script below and the event it is announced as.
async fn change(db: &TestDb, edition_id: i64, id: i64, step: usize) -> &'static str {
    let save = |headline: String| StoryInput {
        news_id: Some(id),
        edition_id,
        section: SectionRef::Names(vec!["World".into()]),
        slug: Some(format!("story-{id}")),
        headline,
        lead: "Lead.".into(),
        body_source: "Body.".into(),
        body_format: BodyFormat::Markdown,
        photo_id: None,
        gallery_id: None,
        status: StoryStatus::Published,
        published_at: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
        tags: vec![],
        authors: vec![],
        agency: None,
        actor: "test".into(),
    };
    let s = &db.store;
    match step % 6 {
        0 if step == 0 => {
            s.save_story(&save(format!("Story {id}, step {step}"))).await.expect("publish");
            "publish"
        }
        0 | 1 | 3 => {
            s.save_story(&save(format!("Story {id}, step {step}"))).await.expect("update");
            "update"
        }
        2 => {
            s.mark_updated(id, chrono::Utc::now() + chrono::Duration::minutes(step as i64)).await.expect("correct");
            "correction"
        }
        4 => {
            assert!(s.set_story_status(id, StoryStatus::Unpublished).await.expect("unpublish"));
            "unpublish"
        }
        _ => {
            // Republished by saving it as published.
            s.save_story(&save(format!("Story {id}, step {step}"))).await.expect("republish");
            "publish"
        }
    }
}

backend_test! {
    async fn every_change_is_announced_across_a_sigkill_of_the_dispatching_node(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let (receiver, port) = start_receiver().await;
        import(&db, d, 900001, "Story A", "Lead A.").await;
        newsdesk(&db, d, &["subscriber", "add", "Loopback Daily", "--sections", "world"]).await;
        let secret = newsdesk(&db, d, &["subscriber", "webhook", "add", "Loopback Daily",
            &format!("http://127.0.0.1:{port}/hook")]).await;
        *receiver.secret.lock().expect("lock") = secret;
        let edition_id = db.store.editions().await.expect("editions")[0].id;

        // Two nodes on PostgreSQL (the second takes the lease over); one on SQLite, restarted.
        let postgres = db.url.starts_with("postgres");
        let mut nodes = vec![Server::start(&db, d).await];
        if postgres {
            nodes.push(Server::start(&db, d).await);
        }
        until(30, "the first publish", d, || count_unique(&receiver) >= 1).await;
        let mut expected: HashMap<i64, Vec<&str>> = HashMap::from([(900001, vec!["publish"])]);

        // Changes to three stories, one every 50 ms; the dispatching node dies in the middle.
        let stories = [900011, 900012, 900013];
        let mut killed = false;
        for step in 0..12 {
            for id in stories {
                expected.entry(id).or_default().push(change(&db, edition_id, id, step).await);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if step == 5 && !killed {
                killed = true;
                let pid = lease_holder_pid(&db).await.expect("a node holds the lease");
                let i = nodes.iter().position(|n| n.child.id() == Some(pid)).expect("the holder is one of ours");
                nodes.remove(i).signal("-KILL").await;
                if !postgres {
                    nodes.push(Server::start(&db, d).await);
                }
            }
        }
        let total: usize = expected.values().map(Vec::len).sum();
        assert_eq!(total, 37);
        // The lease of the dead node expires after 20 s.
        until(90, "an event for every change", d, || count_unique(&receiver) >= total).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        for mut n in nodes {
            n.signal("-TERM").await;
        }

        let got = receiver.got.lock().expect("lock").clone();
        assert!(got.iter().all(|r| r.signature_ok), "every signature verifies");
        // A change delivered twice (at least once) keeps its event id.
        let mut ids: HashMap<i64, &str> = HashMap::new();
        for r in &got {
            assert_eq!(*ids.entry(r.change_id).or_insert(&r.id), r.id, "change {} has one event id", r.change_id);
        }
        assert_eq!(ids.len(), total, "one event per change, none missing: {got:#?}");
        let stories_got = per_story(&got);
        for (id, kinds) in &expected {
            assert_eq!(stories_got.get(id), Some(&kinds.iter().map(|k| k.to_string()).collect()), "story {id}");
            let mut seen = std::collections::HashSet::new();
            let changes: Vec<i64> =
                got.iter().filter(|r| r.news_id == *id && seen.insert(r.change_id)).map(|r| r.change_id).collect();
            assert!(changes.windows(2).all(|w| w[0] < w[1]), "story {id} in change order: {changes:?}");
        }
    }
}

/// Runs a newsdesk command expected to fail, without the loopback allow list; returns stderr.
async fn newsdesk_fails(db: &TestDb, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.display().to_string(), "--database-url", &db.url])
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .output()
        .await
        .expect("run newsdesk");
    assert!(!out.status.success(), "newsdesk {args:?} should fail");
    assert!(out.stdout.is_empty(), "nothing on stdout when refused");
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

backend_test! {
    async fn subscriber_commands_check_their_input_and_show_secrets_once(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        import(&db, d, 900001, "Story A", "Lead A.").await;
        let e = newsdesk_fails(&db, d, &["subscriber", "add", "X", "--sections", "nowhere"]).await;
        assert!(e.contains("no section `nowhere`"), "{e}");
        let e = newsdesk_fails(&db, d, &["subscriber", "add", "X", "--editions", "xx"]).await;
        assert!(e.contains("no edition `xx`"), "{e}");
        let e = newsdesk_fails(&db, d, &["subscriber", "add", "X", "--rate-limit", "0"]).await;
        assert!(e.contains("rate-limit"), "{e}");

        let key = newsdesk(&db, d, &["subscriber", "add", "X", "--sections", "world", "--rate-limit", "5"]).await;
        assert!(key.starts_with("nd_") && key.len() == 67, "{key}");
        let e = newsdesk_fails(&db, d, &["subscriber", "add", "X"]).await;
        assert!(e.contains("exists already"), "{e}");
        let e = newsdesk_fails(&db, d, &["subscriber", "webhook", "add", "X", "ftp://example.com/"]).await;
        assert!(e.contains("http://"), "{e}");
        let e = newsdesk_fails(&db, d, &["subscriber", "webhook", "add", "Nobody", "https://example.com/"]).await;
        assert!(e.contains("no subscriber named `Nobody`"), "{e}");
        newsdesk(&db, d, &["subscriber", "webhook", "add", "X", "https://example.com/hook"]).await;
        // Internal addresses are refused unless the operator allows them (`newsdesk` runs with 127.0.0.1 allowed).
        for url in ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://2130706433/"] {
            let e = newsdesk_fails(&db, d, &["subscriber", "webhook", "add", "X", url]).await;
            assert!(e.contains("public addresses only") && e.contains("wire.webhook_allow_hosts"), "{url}: {e}");
        }
        newsdesk(&db, d, &["subscriber", "webhook", "add", "X", "http://127.0.0.1:9/hook"]).await;

        let list = newsdesk(&db, d, &["subscriber", "list"]).await;
        assert!(list.contains("X\tactive\tsections: world\teditions: all\t5/min"), "{list}");
        assert!(list.contains(&format!("key {}…", &key[..11])), "{list}");
        assert!(!list.contains(&key), "the key is never shown again");
        assert!(list.contains("webhook https://example.com/hook\tactive"), "{list}");
        assert!(list.contains("webhook http://127.0.0.1:9/hook\tactive"), "{list}");

        newsdesk(&db, d, &["subscriber", "revoke", "X"]).await;
        assert!(db.store.authenticate_key(&key).await.expect("auth").is_none());
        let e = newsdesk_fails(&db, d, &["subscriber", "revoke", "Nobody"]).await;
        assert!(e.contains("no subscriber named `Nobody`"), "{e}");
    }
}
