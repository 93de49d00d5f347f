//! Several nodes on one database (PostgreSQL in production, SQLite here too):
//! views counted on each node add up, and a change made through one node
//! drops the cached pages of the others through the change log.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use http_body_util::BodyExt;
use newsdesk_storage::{AuditEntry, backend_test};
use newsdesk_web::{AppState, WebConfig};
use tower::ServiceExt;

use crate::common;
use common::TestApp;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36";

/// GET `path` on `node` as a reader at address `ip`.
async fn visit(node: &AppState, path: &str, ip: &str) -> (StatusCode, String) {
    let mut req = Request::get(path).header(header::USER_AGENT, BROWSER).body(Body::empty()).expect("request");
    let addr: SocketAddr = format!("{ip}:40000").parse().expect("address");
    req.extensions_mut().insert(ConnectInfo(addr));
    let res = newsdesk_web::app(node.clone()).oneshot(req).await.expect("infallible");
    let status = res.status();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn second_node(app: &TestApp) -> AppState {
    let config = WebConfig { public_url: "https://news.example".into(), ..WebConfig::default() };
    AppState::new(app.db.store.clone(), config).await.expect("second node")
}

backend_test! {
    async fn views_counted_on_every_node_add_up(db) {
        let app = TestApp::new(db).await;
        let node_b = second_node(&app).await;
        let recent = Utc::now() - Duration::hours(2);
        let one = app.add_at(&["World"], "Story one", recent).await;
        let two = app.add_at(&["World"], "Story two", recent).await;
        let p1 = app.db.store.story(one).await.expect("read").expect("story").path();
        let p2 = app.db.store.story(two).await.expect("read").expect("story").path();
        // Node A: three readers of story one. Node B: two more of story one, four of story two,
        // and one of story two again (the same reader within 30 minutes: not counted twice).
        for ip in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
            assert_eq!(visit(&app.state, &p1, ip).await.0, StatusCode::OK);
        }
        for ip in ["198.51.100.4", "198.51.100.5"] {
            visit(&node_b, &p1, ip).await;
        }
        for ip in ["198.51.100.6", "198.51.100.7", "198.51.100.8", "198.51.100.9", "198.51.100.9"] {
            visit(&node_b, &p2, ip).await;
        }
        newsdesk_web::flush_views_now(&app.state).await;
        newsdesk_web::flush_views_now(&node_b).await;
        for node in [&app.state, &node_b] {
            let (status, body) = visit(node, "/api/v1/most-visited?window=24h", "198.51.100.10").await;
            assert_eq!(status, StatusCode::OK);
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            let got: Vec<(i64, i64)> = v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| (i["news_id"].as_i64().unwrap_or(0), i["views"].as_i64().unwrap_or(0)))
                .collect();
            assert_eq!(got, vec![(one, 5), (two, 4)], "both nodes see the sum, in order");
        }
        let (status, page) = visit(&node_b, "/most-visited?window=7d&section=world", "198.51.100.10").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Most visited in World in the last 7 days") && page.contains("5 views"), "per section");
        let (_, iran) = visit(&node_b, "/most-visited?section=iran", "198.51.100.10").await;
        assert!(!common::main_of(&iran).contains("Story one"), "another section's ranking");
        assert_eq!(visit(&node_b, "/most-visited?section=nowhere", "198.51.100.10").await.0, StatusCode::BAD_REQUEST);
    }
}

backend_test! {
    async fn a_change_through_one_node_refreshes_the_others(db) {
        let app = TestApp::new(db).await;
        let node_b = second_node(&app).await;
        let since = app.db.store.last_change_id().await.expect("changes");
        let (status, before) = visit(&node_b, common::SEED_PATH, "198.51.100.20").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!before.contains("Figures fixed."));
        let (_, list_before) = visit(&node_b, "/corrections", "198.51.100.20").await;
        assert!(!list_before.contains("Figures fixed."));
        // Node A (here: the store, as any node's back office would) corrects the story.
        let v = app.db.store.story(84427).await.expect("read").expect("seed").version;
        app.db.store.add_correction(84427, v, "Figures fixed.", &AuditEntry::system("editor@example.org", "story.correction", "story", 84427, "Figures fixed.")).await.expect("correction");
        let (_, stale) = visit(&node_b, common::SEED_PATH, "198.51.100.20").await;
        assert!(!stale.contains("Figures fixed."), "node B serves its cached page until it reads the change log");
        node_b.apply_changes(since).await.expect("follow");
        let (_, fresh) = visit(&node_b, common::SEED_PATH, "198.51.100.20").await;
        assert!(fresh.contains("Figures fixed."), "after reading the change log node B shows the correction");
        let (_, list) = visit(&node_b, "/corrections", "198.51.100.20").await;
        assert!(list.contains("Figures fixed."), "node B's cached corrections page follows the change log too");
    }
}

backend_test! {
    async fn edition_settings_changed_through_one_node_reach_the_others(db) {
        let app = TestApp::new(db).await;
        let node_b = second_node(&app).await;
        let since = app.db.store.last_change_id().await.expect("changes");
        let (_, before) = visit(&node_b, common::SEED_PATH, "198.51.100.30").await;
        assert!(before.contains("15 November 2023 - 14:37"));
        app.db
            .store
            .set_edition_locale(
                app.edition_id,
                newsdesk_domain::calendar::Calendar::SolarHijri,
                newsdesk_domain::calendar::Digits::Persian,
            )
            .await
            .expect("locale");
        node_b.apply_changes(since).await.expect("follow");
        let (_, after) = visit(&node_b, common::SEED_PATH, "198.51.100.30").await;
        assert!(after.contains("۱۴۰۲") && !after.contains("15 November 2023 - 14:37"), "node B shows the new calendar");
    }
}
