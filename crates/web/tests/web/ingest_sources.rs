//! Ingest sources on SQLite and on PostgreSQL: a directory drop takes IPTC's
//! own example files and moves them to done/, a malformed file goes to
//! failed/ with its line in the error list and nothing of it stored; an HTTP
//! feed is pulled with conditional GETs (the second poll sends If-None-Match
//! and gets 304), a 500 backs off, a ninjs API page is read with its key, a
//! source leased by another node is left alone; the back-office pages are
//! for admins only and the health is in /metrics.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use newsdesk_domain::roles::Role;
use newsdesk_storage::{AuditEntry, InboundSource, InboundSourceInput, backend_test};
use newsdesk_web::ingest_sources::{self, backoff};

use crate::common;
use common::TestApp;

const IPTC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../newsdesk/tests/fixtures/ingest/iptc");
const RSS: &str = include_str!("../../../newsdesk/tests/fixtures/ingest/feeds/rss2.xml");
const NINJS2: &str = include_str!("../../../newsdesk/tests/fixtures/ingest/ninjs2.json");
const KEY: &str = "nd_test_key_for_the_ninjs_api";

async fn source(app: &TestApp, name: &str, kind: &str, format: &str, location: &str, key: &str) -> InboundSource {
    let input = InboundSourceInput {
        name: name.into(),
        kind: kind.into(),
        format: format.into(),
        location: location.into(),
        api_key: Some(key.into()),
        interval_secs: 60,
        enabled: true,
    };
    let audit = AuditEntry::system("test", "ingest.source.create", "ingest_source", "", "");
    app.db.store.create_inbound_source(&input, &audit).await.expect("source")
}

async fn reload(app: &TestApp, id: i64) -> InboundSource {
    app.db.store.inbound_source(id).await.expect("load").expect("there")
}

/// Writes a file as a finished drop: its last change a minute ago.
fn drop_file(folder: &Path, name: &str, bytes: &[u8]) {
    let path = folder.join(name);
    std::fs::write(&path, bytes).expect("write");
    let old = SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options().write(true).open(&path).expect("open").set_modified(old).expect("mtime");
}

fn names(folder: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(folder)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

backend_test! {
    async fn a_directory_drop_takes_iptc_files_and_fails_a_malformed_one(db) {
        let app = TestApp::new(db).await;
        let drop = tempfile::tempdir().expect("folder");
        let iptc = [
            "LISTING_1_A_NewsML-G2_News_Item.xml",
            "LISTING_2_NewsML-G2_Text_Document.xml",
            "LISTING_3_Photo_in_NewsML-G2.xml",
            "LISTING_26_Embedded_photo_metadata_fields_mapped_to_NewsML-G2.xml",
        ];
        for name in iptc {
            drop_file(drop.path(), name, &std::fs::read(Path::new(IPTC).join(name)).expect("IPTC example"));
        }
        let broken = "<?xml version=\"1.0\"?>\n<newsItem guid=\"urn:broken\" version=\"1\">\n  <itemMeta>\n</newsItem>\n";
        drop_file(drop.path(), "broken.xml", broken.as_bytes());
        drop_file(drop.path(), "half.xml.tmp", b"<newsItem");
        // Just written: left for the next poll.
        std::fs::write(drop.path().join("fresh.xml"), RSS).expect("write");
        let s = source(&app, "Drop", "dir", "auto", &drop.path().display().to_string(), "").await;
        let client = ingest_sources::client().expect("client");

        let report = ingest_sources::poll(&app.state, &client, &s).await.expect("poll");
        let errors = app.db.store.source_errors(s.id, 10).await.expect("errors");
        assert_eq!((report.items, report.errors, report.failed), (4, 1, false), "{report:?} {errors:?}");
        assert_eq!(app.db.store.ingested_count().await.expect("count"), 4, "nothing of the broken file");
        let item = app.db.store.ingested_item("Drop", "tag:gettyimages.com,2010:GYI0062134533").await.expect("read");
        assert_eq!(item.expect("the photo").kind, "picture");
        assert!(app.db.store.ingested_item("Drop", "urn:broken").await.expect("read").is_none());
        assert_eq!(names(&drop.path().join("done")), { let mut v = iptc.map(String::from).to_vec(); v.sort(); v });
        assert_eq!(names(&drop.path().join("failed")), ["broken.xml"]);
        assert_eq!(names(drop.path()), ["fresh.xml", "half.xml.tmp"], "files being written wait");
        let errors = app.db.store.source_errors(s.id, 10).await.expect("errors");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].place.starts_with("broken.xml:4:"), "{:?}", errors[0]);
        let after = reload(&app, s.id).await;
        assert_eq!((after.items_total, after.errors_total, after.failures), (4, 1, 0));
        assert!(after.last_success_at.is_some());

        // The same files again change nothing; a missing folder is an error that backs off.
        for name in iptc {
            drop_file(drop.path(), name, &std::fs::read(Path::new(IPTC).join(name)).expect("IPTC example"));
        }
        let again = ingest_sources::poll(&app.state, &client, &reload(&app, s.id).await).await.expect("poll");
        assert_eq!((again.items, again.errors), (0, 0), "{again:?}");
        assert_eq!(names(&drop.path().join("done")).len(), 8, "moved beside the first ones, not over them");
        let gone = source(&app, "Gone", "dir", "auto", "/nonexistent/newsdesk-drop", "").await;
        let r = ingest_sources::poll(&app.state, &client, &gone).await.expect("poll");
        assert!(r.failed);
        assert_eq!(reload(&app, gone.id).await.failures, 1);
    }
}

/// What the test wire server saw.
#[derive(Default)]
struct Seen {
    if_none_match: Vec<Option<String>>,
    authorization: Vec<Option<String>>,
}

async fn wire_server(seen: Arc<Mutex<Seen>>) -> String {
    let feed_seen = seen.clone();
    let ninjs_seen = seen;
    let app = Router::new()
        .route(
            "/feed.xml",
            get(move |headers: HeaderMap| {
                let seen = feed_seen.clone();
                async move {
                    let inm = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(String::from);
                    seen.lock().expect("seen").if_none_match.push(inm.clone());
                    if inm.as_deref() == Some("\"v1\"") {
                        return StatusCode::NOT_MODIFIED.into_response();
                    }
                    ([(header::ETAG, "\"v1\""), (header::CONTENT_TYPE, "application/rss+xml")], RSS).into_response()
                }
            }),
        )
        .route("/broken", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response() }))
        .route("/not-a-feed", get(|| async { "<html><body>hello</body></html>" }))
        .route(
            "/api/ninjs/v2/items",
            get(move |headers: HeaderMap| {
                let seen = ninjs_seen.clone();
                async move {
                    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(String::from);
                    seen.lock().expect("seen").authorization.push(auth.clone());
                    if auth.as_deref() != Some(&format!("Bearer {KEY}")) {
                        return StatusCode::UNAUTHORIZED.into_response();
                    }
                    ([(header::CONTENT_TYPE, "application/json")], format!("{{\"items\": [{NINJS2}], \"next\": null}}"))
                        .into_response()
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

backend_test! {
    async fn http_sources_are_pulled_politely(db) {
        let app = TestApp::new(db).await;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let base = wire_server(seen.clone()).await;
        let client = ingest_sources::client().expect("client");

        // A feed with an ETag: stored once; the second poll asks If-None-Match and gets 304.
        let feed = source(&app, "Feed", "http", "feed", &format!("{base}/feed.xml"), "").await;
        let first = ingest_sources::poll(&app.state, &client, &feed).await.expect("poll");
        assert_eq!((first.items, first.errors, first.not_modified), (2, 0, false), "{first:?}");
        let after = reload(&app, feed.id).await;
        assert_eq!(after.etag, "\"v1\"");
        let second = ingest_sources::poll(&app.state, &client, &after).await.expect("poll");
        assert!(second.not_modified, "{second:?}");
        assert_eq!(seen.lock().expect("seen").if_none_match, [None, Some("\"v1\"".to_string())]);
        assert_eq!(reload(&app, feed.id).await.items_total, 2);
        assert!(app.db.store.ingested_item("Feed", "wire-example-20261203-0001").await.expect("read").is_some());

        // A 500: an error entry and the backoff, doubling per failure.
        let broken = source(&app, "Broken", "http", "auto", &format!("{base}/broken"), "").await;
        let t0 = chrono::Utc::now();
        let r = ingest_sources::poll(&app.state, &client, &broken).await.expect("poll");
        assert!(r.failed);
        let b1 = reload(&app, broken.id).await;
        assert_eq!(b1.failures, 1);
        assert!((b1.next_poll_at - t0).num_seconds() >= backoff(60, 1) - 1, "{b1:?}");
        assert!(b1.last_error.contains("HTTP 500"), "{}", b1.last_error);
        ingest_sources::poll(&app.state, &client, &b1).await.expect("poll");
        let b2 = reload(&app, broken.id).await;
        assert_eq!(b2.failures, 2);
        assert!((b2.next_poll_at - t0).num_seconds() >= backoff(60, 2) - 1, "{b2:?}");
        assert!(app.db.store.due_inbound_sources(chrono::Utc::now()).await.expect("due").iter().all(|s| s.id != broken.id));

        // Not a feed: refused with the reason, nothing stored.
        let wrong = source(&app, "Wrong", "http", "feed", &format!("{base}/not-a-feed"), "").await;
        ingest_sources::poll(&app.state, &client, &wrong).await.expect("poll");
        let w = reload(&app, wrong.id).await;
        assert!(w.last_error.contains("not a feed"), "{}", w.last_error);
        assert_eq!(app.db.store.source_items_since("Wrong", t0 - chrono::Duration::hours(1)).await.expect("n"), 0);

        // Another newsdesk's ninjs API, with its key.
        let ninjs = source(&app, "Peer", "http", "ninjs", &format!("{base}/api/ninjs/v2/items"), KEY).await;
        let r = ingest_sources::poll(&app.state, &client, &ninjs).await.expect("poll");
        assert_eq!(r.items, 1, "{r:?}");
        assert!(app.db.store.ingested_item("Peer", "https://wire.example/items/ninjs2-item").await.expect("read").is_some());
        assert_eq!(seen.lock().expect("seen").authorization, [Some(format!("Bearer {KEY}"))]);

        // Two nodes: the one without the source's lease leaves it alone.
        app.db.store.poll_inbound_source_now(feed.id, &AuditEntry::system("test", "ingest.source.poll", "ingest_source", "", "")).await.expect("due");
        assert!(app.db.store.try_lease(&format!("ingest-source:{}", feed.id), "node-a", 300).await.expect("lease"));
        let before = seen.lock().expect("seen").if_none_match.len();
        ingest_sources::poll_due(&app.state, "node-b", &client).await.expect("poll due");
        assert_eq!(seen.lock().expect("seen").if_none_match.len(), before, "node B did not poll the leased source");
        app.db.store.release_lease(&format!("ingest-source:{}", feed.id), "node-a").await.expect("release");
        ingest_sources::poll_due(&app.state, "node-b", &client).await.expect("poll due");
        assert_eq!(seen.lock().expect("seen").if_none_match.len(), before + 1);
    }
}

backend_test! {
    async fn source_pages_are_for_admins_and_keep_the_key_secret(db) {
        let app = TestApp::new(db).await;
        let ada = app.person("Ada Admin", Role::Admin).await;
        let eve = app.person("Eve Editor", Role::Editor).await;
        assert_eq!(app.get_as(&eve, "/admin/ingest/sources").await.status, StatusCode::FORBIDDEN);
        let form = [
            ("name", "AFP"),
            ("kind", "http"),
            ("format", "ninjs"),
            ("location", "https://peer.example/api/ninjs/v2/items"),
            ("api_key", "secret-key-123"),
            ("interval_secs", "120"),
            ("enabled", "1"),
        ];
        assert_eq!(app.post_as(&eve, "/admin/ingest/sources", &form).await.status, StatusCode::FORBIDDEN);
        assert!(app.db.store.inbound_sources().await.expect("list").is_empty());

        // Bad input: 422 saying why, nothing made.
        let mut bad = form;
        bad[5] = ("interval_secs", "10");
        bad[3] = ("location", "ftp://peer.example/");
        let a = app.post_as(&ada, "/admin/ingest/sources", &bad).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert!(a.body.contains("interval must be 30") && a.body.contains("http:// or https://"), "{}", a.body);
        assert!(app.db.store.inbound_sources().await.expect("list").is_empty());

        let a = app.post_as(&ada, "/admin/ingest/sources", &form).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", common::main_of(&a.body));
        let s = app.db.store.inbound_sources().await.expect("list").remove(0);
        assert_eq!(a.headers["location"], format!("/admin/ingest/sources/{}?notice=source", s.id).as_str());
        assert_eq!((s.api_key.as_str(), s.interval_secs), ("secret-key-123", 120));
        let again = app.post_as(&ada, "/admin/ingest/sources", &form).await;
        assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", again.body);
        assert!(again.body.contains("source of that name already"), "{}", again.body);

        let uri = format!("/admin/ingest/sources/{}", s.id);
        let list = app.get_as(&ada, "/admin/ingest/sources").await;
        assert_eq!(list.status, StatusCode::OK, "{}", common::main_of(&list.body));
        assert!(list.body.contains(&uri) && list.body.contains("AFP"), "{}", list.body);
        app.db.store.record_source_error(s.id, chrono::Utc::now(), "items.json: $.items[2]", "no guid <b>", None).await.expect("error");
        let page = app.get_as(&ada, &uri).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(!page.body.contains("secret-key-123"), "the key is never shown back");
        assert!(page.body.contains("items.json: $.items[2]") && page.body.contains("no guid &lt;b&gt;"), "{}", page.body);
        assert_eq!(app.get_as(&eve, &uri).await.status, StatusCode::FORBIDDEN);

        // Saving without a key keeps it; poll now makes it due; both audited.
        let mut edit = form.to_vec();
        edit[4] = ("api_key", "");
        edit.push(("action", "save"));
        assert_eq!(app.post_as(&ada, &uri, &edit).await.status, StatusCode::SEE_OTHER);
        assert_eq!(app.db.store.inbound_source(s.id).await.expect("load").expect("there").api_key, "secret-key-123");
        assert_eq!(app.post_as(&eve, &format!("{uri}/poll"), &[]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.post_as(&ada, &format!("{uri}/poll"), &[]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(app.db.store.inbound_source(s.id).await.expect("load").expect("there").next_poll_at.timestamp(), 0);
        let log = app.db.store.audit_log(Some(("ingest_source", &s.id.to_string())), 10).await.expect("audit");
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        for a in ["ingest.source.create", "ingest.source.update", "ingest.source.poll"] {
            assert!(actions.contains(&a), "{actions:?}");
        }
        assert!(log.iter().all(|e| e.actor == ada.actor.email && !e.detail.contains("secret-key-123")), "{log:?}");

        // A source of the config file is shown read-only and refused an edit.
        let cfg = InboundSourceInput { name: "Config wire".into(), ..newsdesk_storage::InboundSourceInput {
            name: String::new(), kind: "dir".into(), format: "auto".into(), location: "/srv/wires".into(),
            api_key: None, interval_secs: 60, enabled: true } };
        app.db.store.sync_config_sources(&[cfg], &AuditEntry::system("config", "ingest.source.config", "ingest_source", "", "")).await.expect("sync");
        let c = app.db.store.inbound_sources().await.expect("list").into_iter().find(|s| s.from_config).expect("config source");
        let page = app.get_as(&ada, &format!("/admin/ingest/sources/{}", c.id)).await;
        assert!(page.body.contains("defined in the config file") && !page.body.contains("value=\"save\""), "{}", page.body);
        let refused = app.post_as(&ada, &format!("/admin/ingest/sources/{}", c.id), &edit).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);

        // Health in /metrics.
        app.db.store.record_source_success(s.id, chrono::Utc::now(), 3, None).await.expect("ok");
        let mut app = app;
        app.state.config = Arc::new(newsdesk_web::WebConfig { metrics_token: Some(crate::metrics::TOKEN.into()), ..(*app.state.config).clone() });
        let m = crate::metrics::scrape(&app).await;
        assert!(m.contains("newsdesk_ingest_source_items_total{source=\"AFP\"}"), "{m}");
        assert!(m.contains("newsdesk_ingest_source_errors_total{source=\"AFP\"}"), "{m}");
        assert!(m.contains("newsdesk_ingest_source_last_success_timestamp_seconds{source=\"AFP\"}"), "{m}");
    }
}
