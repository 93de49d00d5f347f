//! Live blogs (issue 17): a story covered live with short updates, through
//! the write API and the back office alike; the page, its JSON-LD, the JSON
//! document open pages poll, feeds and webhooks follow each update, on every node.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use newsdesk_domain::roles::Role;
use newsdesk_storage::{NewSubscriber, backend_test};
use newsdesk_web::{AppState, WebConfig};
use serde_json::{Value, json};

use crate::common;
use common::{Answer, Person, TestApp};

/// `method` `uri` with `body` as JSON, as `who` (API token).
async fn api(app: &TestApp, who: &Person, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", who.token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map(|b| Body::from(b.to_string())).unwrap_or_else(Body::empty))
        .expect("request");
    let a = app.request(req).await;
    let v = if a.body.is_empty() { Value::Null } else { serde_json::from_str(&a.body).unwrap_or(Value::Null) };
    (a.status, v)
}

/// The story's current version.
async fn version(app: &TestApp, id: i64) -> i64 {
    app.db.store.story(id).await.expect("read").expect("story").version
}

/// Makes story `id` a live blog through the API, as `who`.
async fn go_live(app: &TestApp, who: &Person, id: i64) -> Value {
    let v = version(app, id).await;
    let (status, body) =
        api(app, who, "PATCH", &format!("/api/v1/stories/{id}"), Some(json!({ "version": v, "live": true }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Posts an update; returns its id.
async fn post(app: &TestApp, who: &Person, id: i64, update: Value) -> i64 {
    let (status, body) = api(app, who, "POST", &format!("/api/v1/stories/{id}/updates"), Some(update)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().expect("update id")
}

/// The JSON-LD of a page.
fn jsonld(page: &str) -> Value {
    let start = page.find("<script type=\"application/ld+json\">").expect("json-ld") + 35;
    let end = start + page[start..].find("</script>").expect("end of json-ld");
    serde_json::from_str(&page[start..end]).expect("json-ld parses")
}

/// Where `needle` starts in `page` (panics when absent).
fn at(page: &str, needle: &str) -> usize {
    page.find(needle).unwrap_or_else(|| panic!("{needle} is on the page"))
}

/// A subscriber of section World with a webhook (never delivered here: the
/// test reads the outbox the dispatcher fills).
async fn subscriber(app: &TestApp) -> i64 {
    let audit = |a: &str| newsdesk_storage::AuditEntry::system("test", a, "subscriber", "", "");
    let s = app
        .db
        .store
        .add_subscriber(
            &NewSubscriber {
                name: "Live desk".into(),
                sections: vec!["world".into()],
                editions: vec![],
                rate_limit: 60,
            },
            &audit("subscriber.create"),
        )
        .await
        .expect("subscriber");
    app.db.store.add_webhook(s.id, "https://hooks.example/live", &audit("subscriber.webhook")).await.expect("webhook");
    s.id
}

backend_test! {
    async fn a_live_blog_lists_its_updates_and_every_update_is_a_public_change(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Eve Editor", Role::Editor).await;
        let id = app.add_at(&["World"], "Storm makes landfall", chrono::Utc::now() - chrono::Duration::hours(1)).await;
        let subscriber = subscriber(&app).await;
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch the publish");
        let outbox = |app: &TestApp| {
            let store = app.db.store.clone();
            async move { store.outbox_of(subscriber, 100).await.expect("outbox") }
        };
        let before = outbox(&app).await.len();
        let feed_before: Value = serde_json::from_str(&app.get("/feed.json").await.body).expect("feed");
        let path = app.db.store.story(id).await.expect("read").expect("story").path();
        let (status, _) = api(&app, &editor, "POST", &format!("/api/v1/stories/{id}/updates"), Some(json!({ "body": "x" }))).await;
        assert_eq!(status, StatusCode::CONFLICT, "a story that is not a live blog takes no updates");

        let live = go_live(&app, &editor, id).await;
        assert_eq!(live["live"], true);
        assert!(live["live_since"].is_string() && live["live_until"].is_null());
        let v0 = version(&app, id).await;
        let first = post(&app, &editor, id, json!({ "body": "Winds reach **150 km/h**.", "headline": "Landfall" })).await;
        let (status, second) = api(&app, &editor, "POST", &format!("/api/v1/stories/{id}/updates"),
            Some(json!({ "body": "Evacuation ordered <script>alert(1)</script>", "pinned": true }))).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(second["pinned"], true);
        assert_eq!(second["body_format"], "markdown", "an update is written in the story's body format");
        assert!(!second["body_html"].as_str().unwrap_or_default().contains("<script"), "sanitized like story bodies");
        assert!(second["url"].as_str().unwrap_or_default().ends_with(&format!("{path}#update-{}", second["id"])));
        let second = second["id"].as_i64().expect("id");
        let third = post(&app, &editor, id, json!({ "body": "Power is out in the port." })).await;
        assert_eq!(version(&app, id).await, v0 + 3, "each update is a new version of the story");

        // The page: the pinned update first, then newest first; anchors; times in the edition's zone.
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        let body = &page.body;
        let (p2, p3, p1) = (at(body, &format!("id=\"update-{second}\"")), at(body, &format!("id=\"update-{third}\"")),
            at(body, &format!("id=\"update-{first}\"")));
        assert!(p2 < p3 && p3 < p1, "pinned first, then newest first");
        assert!(body.contains(&format!("href=\"#update-{first}\"")), "each update links to its anchor");
        assert!(body.contains("<strong>150 km/h</strong>") && body.contains("<h3>Landfall</h3>"));
        assert!(!body.contains("<script>alert"), "update bodies are sanitized");
        assert!(body.contains("/static/liveblog.js?v="), "open pages poll for new updates");
        let made = app.db.store.live_update(id, first).await.expect("read").expect("update").created_at;
        let tehran = made.with_timezone(&chrono_tz::Asia::Tehran).format("%H:%M").to_string();
        assert!(body.contains(&format!("<span class=\"live-clock\">{tehran}</span>")), "time in the edition's zone");

        // JSON-LD: a LiveBlogPosting with one BlogPosting per update, newest first.
        let ld = jsonld(body);
        assert_eq!(ld["@type"], "LiveBlogPosting");
        assert!(ld["coverageStartTime"].is_string());
        assert!(ld.get("coverageEndTime").is_none(), "the coverage runs");
        let updates = ld["liveBlogUpdate"].as_array().expect("updates");
        assert_eq!(updates.len(), 3);
        assert_eq!(updates[0]["@type"], "BlogPosting");
        assert!(updates[0]["url"].as_str().unwrap_or_default().ends_with(&format!("#update-{third}")));
        assert_eq!(updates[2]["headline"], "Landfall");
        assert_eq!(updates[2]["articleBody"], "Winds reach 150 km/h.");
        assert!(updates[1]["datePublished"].as_str().unwrap_or_default().ends_with("+03:30"));

        // One webhook event per update, each with the story's new version.
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        let rows = outbox(&app).await;
        assert_eq!(rows.len() - before, 4, "one event when it went live and one per update");
        let mut versions: Vec<i64> = rows.iter().take(4).map(|r| r.version).collect();
        versions.reverse();
        assert_eq!(versions, vec![v0, v0 + 1, v0 + 2, v0 + 3], "the ninjs version grows with each update");

        // The feed shows the story once, updated.
        let feed: Value = serde_json::from_str(&app.get("/feed.json").await.body).expect("feed");
        let mine = |f: &Value| -> Vec<Value> {
            f["items"].as_array().expect("items").iter().filter(|i| i["url"].as_str().unwrap_or_default().contains(&format!("/news/{id}/"))).cloned().collect()
        };
        assert_eq!(mine(&feed).len(), 1, "the story is in the feed once");
        assert_ne!(mine(&feed)[0]["date_modified"], mine(&feed_before)[0]["date_modified"], "its updated time moved");

        // Edit, pin another, delete: each a new version; the page follows.
        let (status, edited) = api(&app, &editor, "PATCH", &format!("/api/v1/stories/{id}/updates/{first}"),
            Some(json!({ "pinned": true, "headline": "" }))).await;
        assert_eq!(status, StatusCode::OK, "{edited}");
        assert_eq!(edited["pinned"], true);
        assert_eq!(edited["body"], "Winds reach **150 km/h**.", "absent fields stay");
        let pinned: Vec<i64> = app.db.store.live_updates(id).await.expect("read").iter().filter(|u| u.pinned).map(|u| u.id).collect();
        assert_eq!(pinned, vec![first], "pinning one unpins the other");
        let (status, _) = api(&app, &editor, "DELETE", &format!("/api/v1/stories/{id}/updates/{third}"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(version(&app, id).await, v0 + 5);
        let page = app.get(&path).await.body;
        assert!(!page.contains(&format!("id=\"update-{third}\"")), "the cached page dropped the removed update");
        assert!(at(&page, &format!("id=\"update-{first}\"")) < at(&page, &format!("id=\"update-{second}\"")));

        // The JSON document open pages poll.
        let doc = app.get(&format!("/news/{id}/updates.json?after={first}")).await;
        assert_eq!(doc.status, StatusCode::OK);
        assert!(doc.content_type().starts_with("application/json"));
        let doc: Value = serde_json::from_str(&doc.body).expect("json");
        assert_eq!(doc["live"], true);
        assert_eq!(doc["ids"], json!([first, second]));
        let news: Vec<i64> = doc["updates"].as_array().expect("updates").iter().filter_map(|u| u["id"].as_i64()).collect();
        assert_eq!(news, vec![second], "only the updates after the newest one shown");
        assert!(doc["updates"][0]["html"].as_str().unwrap_or_default().starts_with(&format!("<article class=\"live-update\" id=\"update-{second}\"")));
        assert_eq!(app.get(&format!("/news/{id}/updates.json?after=x")).await.status, StatusCode::BAD_REQUEST);
        assert_eq!(app.get("/news/1/updates.json").await.status, StatusCode::NOT_FOUND, "not a live blog");

        // Ending the coverage: coverageEndTime, no more updates, no more polling.
        let v = version(&app, id).await;
        let (status, ended) = api(&app, &editor, "PATCH", &format!("/api/v1/stories/{id}"), Some(json!({ "version": v, "live": false }))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ended["live"], false);
        assert!(ended["live_until"].is_string());
        let page = app.get(&path).await.body;
        let ld = jsonld(&page);
        assert_eq!(ld["@type"], "LiveBlogPosting");
        assert!(ld["coverageEndTime"].is_string(), "coverageEndTime once ended");
        assert!(!page.contains("liveblog.js"), "an ended live blog is not polled");
        let (status, _) = api(&app, &editor, "POST", &format!("/api/v1/stories/{id}/updates"), Some(json!({ "body": "More" }))).await;
        assert_eq!(status, StatusCode::CONFLICT, "no updates after the coverage ended");
        let doc: Value = serde_json::from_str(&app.get(&format!("/news/{id}/updates.json")).await.body).expect("json");
        assert_eq!(doc["live"], false, "open pages stop polling");
    }
}

backend_test! {
    async fn updates_are_validated_and_follow_the_edit_rules(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Eve Editor", Role::Editor).await;
        let reporter = app.person("Rey Reporter", Role::Reporter).await;
        let other = app.person("Otto Reporter", Role::Reporter).await;
        let id = app.add_at(&["World"], "Election night", chrono::Utc::now() - chrono::Duration::hours(1)).await;
        go_live(&app, &editor, id).await;
        let url = format!("/api/v1/stories/{id}/updates");
        for (body, why) in [
            (json!({ "body": "   " }), "an empty body"),
            (json!({ "body": "x", "headline": "h".repeat(301) }), "a headline too long"),
            (json!({ "body": "x".repeat(20_001) }), "a body too long"),
            (json!({ "body": "x", "photo_id": 999_999 }), "an unknown photo"),
        ] {
            let (status, err) = api(&app, &editor, "POST", &url, Some(body)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {err}");
        }
        let (status, _) = api(&app, &editor, "POST", &url, Some(json!({ "body": "x", "color": "red" }))).await;
        assert!(status.is_client_error(), "unknown fields are refused");
        let (status, _) = api(&app, &editor, "PATCH", &format!("{url}/999999"), Some(json!({ "body": "x" }))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "an unknown update");
        let (status, _) = api(&app, &editor, "DELETE", &format!("{url}/999999"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = api(&app, &editor, "POST", "/api/v1/stories/999999/updates", Some(json!({ "body": "x" }))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "an unknown story");
        let update = post(&app, &editor, id, json!({ "body": "Polls closed." })).await;
        let (status, _) = api(&app, &editor, "PATCH", &format!("/api/v1/stories/1/updates/{update}"), Some(json!({ "body": "x" }))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "an update of another story");

        // Reporters: not on a published story (that is publishing) ...
        let (status, _) = api(&app, &reporter, "POST", &url, Some(json!({ "body": "Turnout is high." }))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = api(&app, &reporter, "DELETE", &format!("{url}/{update}"), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // ... but on their own draft, which collects updates before it is published.
        let (status, draft) = api(&app, &reporter, "POST", "/api/v1/stories",
            Some(json!({ "headline": "Count under way", "section": "world", "live": true }))).await;
        assert_eq!(status, StatusCode::CREATED, "{draft}");
        assert_eq!(draft["live"], true, "created as a live blog");
        let draft = draft["news_id"].as_i64().expect("id");
        let v = version(&app, draft).await;
        post(&app, &reporter, draft, json!({ "body": "First results in." })).await;
        assert_eq!(version(&app, draft).await, v, "a draft's updates are no public change");
        let (status, _) = api(&app, &other, "POST", &format!("/api/v1/stories/{draft}/updates"), Some(json!({ "body": "Mine" }))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "not on someone else's draft");
        let (status, _) = api(&app, &reporter, "POST", &format!("/api/v1/stories/{draft}/updates"), None).await;
        assert!(status.is_client_error(), "no body");
        let audit = app.db.store.audit_log(Some(("story", &draft.to_string())), 50).await.expect("audit");
        assert!(audit.iter().any(|e| e.action == "story.live_update" && e.actor == "rey.reporter@example.org"), "audited");
    }
}

backend_test! {
    async fn a_new_update_reaches_the_pages_and_documents_cached_on_another_node_within_two_seconds(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Eve Editor", Role::Editor).await;
        let id = app.add_at(&["World"], "Quake", chrono::Utc::now() - chrono::Duration::hours(1)).await;
        go_live(&app, &editor, id).await;
        let first = post(&app, &editor, id, json!({ "body": "Shaking felt downtown." })).await;
        let path = app.db.store.story(id).await.expect("read").expect("story").path();
        let config = WebConfig { public_url: "https://news.example".into(), ..WebConfig::default() };
        let node_b = AppState::new(app.db.store.clone(), config).await.expect("node B");
        let follower = tokio::spawn(newsdesk_web::follow_changes(node_b.clone()));
        let get = |node: &AppState, uri: String| {
            let node = node.clone();
            async move {
                use http_body_util::BodyExt;
                use tower::ServiceExt;
                let res = newsdesk_web::app(node).oneshot(Request::get(uri).body(Body::empty()).expect("req")).await.expect("infallible");
                let status = res.status();
                let body = res.into_body().collect().await.expect("body").to_bytes();
                Answer { status, headers: Default::default(), body: String::from_utf8_lossy(&body).into_owned() }
            }
        };
        let doc_uri = format!("/news/{id}/updates.json?after={first}");
        // Node B caches the page and the document.
        assert!(get(&node_b, path.clone()).await.body.contains(&format!("update-{first}")));
        assert_eq!(get(&node_b, doc_uri.clone()).await.status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(600)).await;
        let posted = Instant::now();
        let second = post(&app, &editor, id, json!({ "body": "Aftershock." })).await;
        let (mut page_seen, mut doc_seen) = (None, None);
        while posted.elapsed() < Duration::from_secs(2) && (page_seen.is_none() || doc_seen.is_none()) {
            if page_seen.is_none() && get(&node_b, path.clone()).await.body.contains(&format!("id=\"update-{second}\"")) {
                page_seen = Some(posted.elapsed());
            }
            if doc_seen.is_none() && get(&node_b, doc_uri.clone()).await.body.contains(&format!("\"id\":{second}")) {
                doc_seen = Some(posted.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        follower.abort();
        assert!(page_seen.is_some(), "node B's cached page shows the update within 2 s");
        assert!(doc_seen.is_some(), "node B's cached document lists the update within 2 s");
    }
}

backend_test! {
    async fn the_back_office_runs_a_live_blog(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Eve Editor", Role::Editor).await;
        let id = app.add_at(&["World"], "Summit", chrono::Utc::now() - chrono::Duration::hours(1)).await;
        let form = |uri: String, body: String, who: &Person, csrf: bool| {
            let body = if csrf { format!("csrf={}&{body}", who.csrf) } else { body };
            Request::post(uri)
                .header(header::COOKIE, who.cookie.clone())
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ORIGIN, "https://news.example")
                .body(Body::from(body))
                .expect("request")
        };
        let editor_page = app.request(Request::get(format!("/admin/stories/{id}/edit")).header(header::COOKIE, editor.cookie.clone()).body(Body::empty()).expect("req")).await;
        assert!(editor_page.body.contains("name=\"live\""), "the editor has the Live switch");
        let refused = app.request(form(format!("/admin/stories/{id}/live"), "live=1".into(), &editor, false)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "CSRF");
        let res = app.request(form(format!("/admin/stories/{id}/live"), "live=1".into(), &editor, true)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert!(app.db.store.story(id).await.expect("read").expect("story").is_live_now());
        let res = app.request(form(format!("/admin/stories/{id}/updates"), "headline=Arrivals&body=Leaders+arrive.&pinned=1".into(), &editor, true)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let updates = app.db.store.live_updates(id).await.expect("read");
        assert_eq!(updates.len(), 1);
        assert!(updates[0].pinned);
        let uid = updates[0].id;
        let empty = app.request(form(format!("/admin/stories/{id}/updates"), "body=+".into(), &editor, true)).await;
        assert!(empty.status.is_client_error(), "an empty update is refused");
        let res = app.request(form(format!("/admin/stories/{id}/updates/{uid}"), "headline=&body=Leaders+arrived.".into(), &editor, true)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let u = app.db.store.live_update(id, uid).await.expect("read").expect("update");
        assert_eq!((u.body_source.as_str(), u.pinned, u.headline.as_str()), ("Leaders arrived.", false, ""));
        let page = app.request(Request::get(format!("/admin/stories/{id}/edit")).header(header::COOKIE, editor.cookie.clone()).body(Body::empty()).expect("req")).await;
        assert!(page.body.contains("Leaders arrived.") && page.body.contains(&format!("/admin/stories/{id}/updates/{uid}/delete")));
        let res = app.request(form(format!("/admin/stories/{id}/updates/{uid}/delete"), "confirm=yes".into(), &editor, true)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert!(app.db.store.live_updates(id).await.expect("read").is_empty());
        let res = app.request(form(format!("/admin/stories/{id}/live"), String::new(), &editor, true)).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        let story = app.db.store.story(id).await.expect("read").expect("story");
        assert!(story.is_live_blog() && !story.is_live_now(), "unchecked: the coverage ended");
    }
}
