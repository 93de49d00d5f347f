//! `/metrics`: guarded by a token on the site's address, open on its own
//! listener, and moving with the requests, the page cache and the scheduler.
//!
//! Metrics are per process and the tests of this file run in parallel, so
//! they compare a scrape before with one after and ask for at least their own
//! requests.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::{AuditEntry, NewSubscriber, SectionRef, StoryInput, Transition, backend_test};
use newsdesk_web::WebConfig;
use newsdesk_web::webhooks::target::AllowHosts;

use crate::common;
use common::{Answer, SEED_PATH, TestApp};

pub(crate) const TOKEN: &str = "metrics-token-for-the-tests";

/// A site whose `/metrics` takes [`TOKEN`].
async fn with_token(db: newsdesk_storage::testing::TestDb) -> TestApp {
    let mut app = TestApp::new(db).await;
    app.state.config = Arc::new(WebConfig { metrics_token: Some(TOKEN.into()), ..(*app.state.config).clone() });
    app
}

/// Scrapes `app`. Gauges sampled at a scrape are process-wide while each test
/// has its own database: one scrape at a time, so a body shows its own samples
/// (every test that reads `/metrics` goes through here).
pub(crate) async fn scrape(app: &TestApp) -> String {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    let a = app
        .request(
            Request::get("/metrics")
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.content_type().starts_with("text/plain; version=0.0.4"), "{}", a.content_type());
    a.body
}

/// The value of the sample `name` whose labels include `labels` (0 when absent).
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, v) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
            if n != name {
                return None;
            }
            let has_all = labels.iter().all(|(k, want)| rest.contains(&format!("{k}=\"{want}\"")));
            has_all.then(|| v.parse::<f64>().expect("a number"))
        })
        .sum()
}

backend_test! {
    async fn metrics_on_the_site_address_need_the_token(db) {
        let plain = TestApp::new(db).await;
        // No token configured: not served on the public address at all.
        assert_eq!(plain.get("/metrics").await.status, StatusCode::NOT_FOUND);
        let bearer = |t: &str| Request::get("/metrics").header(header::AUTHORIZATION, format!("Bearer {t}")).body(Body::empty()).expect("request");
        assert_eq!(plain.request(bearer("anything")).await.status, StatusCode::NOT_FOUND);

        let mut app = plain;
        app.state.config = Arc::new(WebConfig { metrics_token: Some(TOKEN.into()), ..(*app.state.config).clone() });
        let a: Answer = app.get("/metrics").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert!(a.headers.get(header::WWW_AUTHENTICATE).is_some());
        assert!(!a.body.contains("newsdesk_"), "{}", a.body);
        assert_eq!(app.request(bearer("metrics-token-for-the-test")).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.request(bearer(&format!("{TOKEN}x"))).await.status, StatusCode::UNAUTHORIZED);
        let basic = Request::get("/metrics").header(header::AUTHORIZATION, format!("Basic {TOKEN}")).body(Body::empty()).expect("request");
        assert_eq!(app.request(basic).await.status, StatusCode::UNAUTHORIZED);
        let text = scrape(&app).await;
        assert!(text.contains("# TYPE newsdesk_http_requests_total counter"), "{text}");
        assert!(value(&text, "newsdesk_db_pool_max_connections", &[]) >= 1.0, "{text}");
        assert!(value(&text, "newsdesk_db_pool_connections", &[]) >= 1.0, "{text}");
    }
}

backend_test! {
    async fn requests_and_page_cache_lookups_are_counted(db) {
        let app = with_token(db).await;
        let story = [("route", "/news/{id}/{slug}"), ("status", "200")];
        let before = scrape(&app).await;
        assert_eq!(app.get(SEED_PATH).await.status, StatusCode::OK);
        assert_eq!(app.get(SEED_PATH).await.status, StatusCode::OK);
        assert_eq!(app.get("/no-such-page/at-all").await.status, StatusCode::NOT_FOUND);
        let after = scrape(&app).await;

        let delta = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
        assert!(delta("newsdesk_http_requests_total", &story) >= 2.0, "{after}");
        assert!(delta("newsdesk_http_request_duration_seconds_count", &[("route", "/news/{id}/{slug}")]) >= 2.0, "{after}");
        // A path that matches no route is counted under one fixed label, never by its path.
        assert!(delta("newsdesk_http_requests_total", &[("route", "unmatched"), ("status", "404")]) >= 1.0, "{after}");
        assert!(!after.contains("no-such-page"), "{after}");
        assert!(after.contains("newsdesk_http_request_duration_seconds_bucket{route=\"/news/{id}/{slug}\",le=\"0.005\"}"), "a histogram, not a summary: {after}");
        // The first view renders the page, the second is served from the cache.
        assert!(delta("newsdesk_page_cache_misses_total", &[]) >= 1.0, "{after}");
        assert!(delta("newsdesk_page_cache_hits_total", &[]) >= 1.0, "{after}");
        assert!(value(&after, "newsdesk_page_cache_entries", &[]) >= 1.0, "{after}");
        assert!(value(&after, "newsdesk_page_cache_bytes", &[]) > 1000.0, "{after}");
    }
}

backend_test! {
    async fn the_scheduler_reports_runs_and_lateness(db) {
        let app = with_token(db).await;
        let (id, _) = app
            .db
            .store
            .save_story(&StoryInput {
                news_id: None,
                edition_id: app.edition_id,
                section: SectionRef::Names(vec!["Iran".into()]),
                slug: None,
                headline: "Late scheduled report".into(),
                lead: "Lead.".into(),
                body_source: "Body.".into(),
                body_format: BodyFormat::Markdown,
                photo_id: None,
                gallery_id: None,
                status: StoryStatus::Draft,
                published_at: None,
                tags: vec![],
                authors: vec!["Desk".into()],
                agency: None,
                actor: "test".into(),
            })
            .await
            .expect("draft");
        let version = app.db.store.story(id).await.expect("story").expect("exists").version;
        app.db
            .store
            .transition(&Transition {
                news_id: id,
                expected_version: version,
                from: StoryStatus::Draft,
                to: StoryStatus::Scheduled,
                scheduled_at: Some(Utc::now() - Duration::seconds(30)),
                public_note: None,
                actor: "test".into(),
                note: "schedule".into(),
            }, &AuditEntry::system("test", "story.schedule", "story", id, ""))
            .await
            .expect("schedule");
        let before = scrape(&app).await;
        let published = newsdesk_web::scheduler::publish_due_now(&app.state, "metrics-test").await.expect("tick");
        assert_eq!(published, vec![id]);
        let after = scrape(&app).await;
        let delta = |name: &str| value(&after, name, &[]) - value(&before, name, &[]);
        assert!(delta("newsdesk_scheduler_published_total") >= 1.0, "{after}");
        assert!(delta("newsdesk_scheduler_lateness_seconds_count") >= 1.0, "{after}");
        assert!(delta("newsdesk_scheduler_lateness_seconds_sum") >= 29.0, "{after}");
    }
}

backend_test! {
    async fn the_metrics_listener_serves_without_a_token_and_nothing_else(db) {
        let app = TestApp::new(db).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = tokio::spawn(axum::serve(listener, newsdesk_web::metrics::listener_app(app.state.clone())).into_future());
        // A request on the site shows on the other listener.
        assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
        let client = reqwest::Client::new();
        let res = client.get(format!("http://{addr}/metrics")).send().await.expect("scrape");
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.expect("body");
        assert!(value(&text, "newsdesk_http_requests_total", &[("route", "/healthz"), ("status", "200")]) >= 1.0, "{text}");
        assert!(value(&text, "process_resident_memory_bytes", &[]) > 0.0, "{text}");
        let res = client.get(format!("http://{addr}/")).send().await.expect("home");
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        server.abort();
    }
}

backend_test! {
    async fn webhook_deliveries_failures_and_backlog_are_reported(db) {
        let mut app = with_token(db).await;
        // The receivers are on loopback, which webhooks reach only when the operator allows it.
        let mut config = (*app.state.config).clone();
        config.wire.webhook_allow_hosts = AllowHosts::parse(&["127.0.0.1"]).expect("allow list");
        app.state.config = Arc::new(config);
        // Receivers: one answers 204, the other 500 (so its events stay in the backlog).
        let receiver = axum::Router::new()
            .route("/ok", axum::routing::post(|| async { StatusCode::NO_CONTENT }))
            .route("/fail", axum::routing::post(|| async { StatusCode::INTERNAL_SERVER_ERROR }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let receiver = tokio::spawn(axum::serve(listener, receiver).into_future());
        // Names per engine: both engines' tests share the process's metrics.
        let engine = format!("{:?}", app.db.store.backend());
        let (good, bad) = (format!("Metrics OK {engine}"), format!("Metrics Failing {engine}"));
        for (name, path) in [(&good, "ok"), (&bad, "fail")] {
            let s = app
                .db
                .store
                .add_subscriber(&NewSubscriber { name: name.clone(), sections: vec![], editions: vec![], rate_limit: 60 }, &newsdesk_storage::AuditEntry::system("test", "subscriber.create", "subscriber", "", ""))
                .await
                .expect("subscriber");
            app.db.store.add_webhook(s.id, &format!("{base}/{path}"), &newsdesk_storage::AuditEntry::system("test", "subscriber.webhook", "subscriber", "", "")).await.expect("webhook");
        }
        let dispatcher = tokio::spawn(newsdesk_web::webhooks::run_webhooks(app.state.clone(), newsdesk_web::webhooks::holder_id()));
        app.add_story(&["World"], "Metrics webhook story", 5).await;

        let delivered = [("subscriber", good.as_str()), ("outcome", "delivered")];
        let failed = [("subscriber", bad.as_str()), ("outcome", "failed")];
        let start = Instant::now();
        let text = loop {
            let text = scrape(&app).await;
            if value(&text, "newsdesk_webhook_deliveries_total", &delivered) >= 1.0
                && value(&text, "newsdesk_webhook_deliveries_total", &failed) >= 1.0
            {
                break text;
            }
            assert!(start.elapsed() < StdDuration::from_secs(30), "no deliveries reported: {text}");
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        };
        dispatcher.abort();
        let _ = dispatcher.await;
        receiver.abort();
        assert_eq!(value(&text, "newsdesk_webhook_deliveries_total", &[("subscriber", good.as_str()), ("outcome", "failed")]), 0.0, "{text}");
        assert!(value(&text, "newsdesk_webhook_delivery_duration_seconds_count", &[("subscriber", good.as_str())]) >= 1.0, "{text}");
        assert!(text.contains(&format!("newsdesk_webhook_delivery_duration_seconds_bucket{{subscriber=\"{good}\",le=\"0.01\"}}")), "{text}");
        // The failing receiver's event waits for its retry; the delivered one
        // is gone. The gauge is read from the store at each scrape: once the
        // dispatcher is stopped (a write it had sent may still land), a
        // scrape says what the store says.
        let start = Instant::now();
        loop {
            let text = scrape(&app).await;
            let backlog = value(&text, "newsdesk_webhook_backlog", &[]);
            assert!(backlog >= 1.0, "{text}");
            let stored = app.db.store.webhook_backlog().await.expect("backlog") as f64;
            if backlog == stored {
                break;
            }
            assert!(start.elapsed() < StdDuration::from_secs(10), "the gauge says {backlog}, the store {stored}");
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
    }
}
