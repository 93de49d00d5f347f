//! Snapshots of the documents other programs read: a ninjs item, the feeds,
//! the news sitemap, the seed story's JSON-LD, the OpenAPI document and the
//! JSON error bodies. Any change to them shows in review as a changed file
//! under `tests/web/snapshots/`; CI refuses a snapshot that does not match
//! (`INSTA_UPDATE=no` in `.ci/run`). To accept an intended change, run the
//! test with `INSTA_UPDATE=always` (or `cargo insta review`) and commit the
//! `.snap` files.
//!
//! Each test runs on SQLite and on PostgreSQL against the same snapshot: both
//! engines must give the same bytes. Everything goes through the public
//! router; what varies between runs (times relative to now) is replaced by a
//! placeholder before the comparison.

use axum::body::Body;
use axum::http::{Method, Request, header};
use chrono::{Duration, Utc};
use newsdesk_domain::roles::Role;
use newsdesk_storage::{NewSubscriber, NewUser, backend_test};
use serde_json::Value;

use crate::common;
use common::{Answer, SEED_PATH, TestApp};

/// The answer as reviewers read it: status, content type, then the body
/// (JSON pretty-printed with sorted keys, so a changed field is one changed
/// line; XML exactly as served).
fn document(a: &Answer) -> String {
    let body = match serde_json::from_str::<Value>(&a.body) {
        Ok(json) if a.content_type().contains("json") => pretty(&json),
        _ => a.body.clone(),
    };
    format!("{} {}\n\n{body}", a.status.as_u16(), a.content_type())
}

fn pretty(json: &Value) -> String {
    serde_json::to_string_pretty(json).expect("a JSON value serializes")
}

/// `text` with what stands between every `open` and the next `close` replaced by `placeholder`.
fn redact_between(text: &str, open: &str, close: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        let inner = start + open.len();
        let Some(len) = rest[inner..].find(close) else { break };
        out.push_str(&rest[..inner]);
        out.push_str(placeholder);
        rest = &rest[inner + len..];
    }
    out.push_str(rest);
    out
}

/// A ninjs subscriber key that sees every section.
async fn wire_key(app: &TestApp) -> String {
    let s = app
        .db
        .store
        .add_subscriber(
            &NewSubscriber { name: "Snapshot".into(), sections: vec![], editions: vec![], rate_limit: 1000 },
            &newsdesk_storage::AuditEntry::system("test", "subscriber.create", "subscriber", "", ""),
        )
        .await
        .expect("subscriber");
    app.db
        .store
        .create_api_key(s.id, &newsdesk_storage::AuditEntry::system("test", "subscriber.key", "subscriber", "", ""))
        .await
        .expect("key")
        .0
}

async fn with_bearer(app: &TestApp, method: Method, uri: &str, token: &str, body: Option<Value>) -> Answer {
    let req = Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    app.request(req.expect("request")).await
}

backend_test! {
    async fn ninjs_item_of_the_seed_story(db) {
        let app = TestApp::new(db).await;
        let key = wire_key(&app).await;
        let item = with_bearer(&app, Method::GET, "/api/ninjs/v2/items/84427", &key, None).await;
        insta::assert_snapshot!("ninjs_item", document(&item));
    }
}

backend_test! {
    async fn feeds_of_the_edition(db) {
        let app = TestApp::new(db).await;
        insta::assert_snapshot!("feed_rss", document(&app.get("/feed.rss").await));
        insta::assert_snapshot!("feed_atom", document(&app.get("/feed.atom").await));
        insta::assert_snapshot!("feed_json", document(&app.get("/feed.json").await));
    }
}

backend_test! {
    async fn news_sitemap(db) {
        let app = TestApp::new(db).await;
        // The news sitemap lists the last 48 hours only, so this story's time follows the clock.
        app.add_at(&["World", "Asia"], "Rain returns to Tehran", Utc::now() - Duration::hours(1)).await;
        app.sync().await;
        let answer = document(&app.get("/sitemap-news.xml").await);
        let answer = redact_between(&answer, "<news:publication_date>", "</news:publication_date>", "[an hour ago]");
        insta::assert_snapshot!("sitemap_news", answer);
    }
}

backend_test! {
    async fn json_ld_of_the_seed_story(db) {
        let app = TestApp::new(db).await;
        let page = app.get(SEED_PATH).await;
        let open = "<script type=\"application/ld+json\">";
        let start = page.body.find(open).expect("the story page has JSON-LD") + open.len();
        let len = page.body[start..].find("</script>").expect("end of JSON-LD");
        let json: Value = serde_json::from_str(&page.body[start..start + len]).expect("JSON-LD parses");
        insta::assert_snapshot!("json_ld_seed_story", pretty(&json));
    }
}

backend_test! {
    async fn openapi_document(db) {
        let app = TestApp::new(db).await;
        insta::assert_snapshot!("openapi", document(&app.get("/api/v1/openapi.json").await));
    }
}

backend_test! {
    async fn json_error_bodies(db) {
        let app = TestApp::new(db).await;
        insta::assert_snapshot!("api_404", document(&app.get("/api/v1/stories/999999").await));
        insta::assert_snapshot!("api_400", document(&app.get("/api/v1/stories?limit=101").await));

        let user = NewUser {
            email: "reporter@news.example".into(),
            name: "Rita Reporter".into(),
            role: Role::Reporter,
            password_hash: "x".into(),
        };
        let user = app.db.store.create_user(&user, Utc::now(), &newsdesk_storage::AuditEntry::system("test", "user.create", "user", "", "")).await.expect("user");
        let token = app.db.store.create_api_token(user.id, "snapshot", Utc::now(), &newsdesk_storage::AuditEntry::system("test", "token.create", "user", "", "")).await.expect("token").0;
        let blank = serde_json::json!({"section": "iran", "headline": " "});
        let invalid = with_bearer(&app, Method::POST, "/api/v1/stories", &token, Some(blank)).await;
        insta::assert_snapshot!("api_422", document(&invalid));

        let key = wire_key(&app).await;
        let unknown = with_bearer(&app, Method::GET, "/api/ninjs/v2/items/99999", &key, None).await;
        insta::assert_snapshot!("ninjs_404", document(&unknown));
        insta::assert_snapshot!("ninjs_401", document(&app.get("/api/ninjs/v2/items").await));

        // The database goes away: the API answers 503 with its JSON body.
        app.db.store.close().await;
        insta::assert_snapshot!("api_503", document(&app.get("/api/v1/stories").await));
    }
}
