//! Curated fronts, on SQLite and on PostgreSQL: a pinned top story and
//! featured stories lead the home page (and a section's first page) whatever
//! is published after them, in the editors' order; a curated story taken
//! down drops out by itself; the draft and its preview leave the live page
//! alone; a published front reaches a second node's cached page through the
//! change log; only editors who cover a front arrange it, never over a
//! newer version, and only with published stories of the edition.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use newsdesk_domain::roles::Role;
use newsdesk_storage::backend_test;
use newsdesk_web::{AppState, WebConfig};

use crate::common;
use common::{Answer, Person, TestApp, main_of};

async fn api(app: &TestApp, p: &Person, method: &str, uri: &str, body: serde_json::Value) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", p.token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    app.request(req).await
}

async fn put_front(app: &TestApp, p: &Person, uri: &str, body: serde_json::Value) -> Answer {
    api(app, p, "PUT", uri, body).await
}

async fn post(app: &TestApp, p: &Person, form: &[(&str, &str)]) -> Answer {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("csrf", &p.csrf));
    let req = Request::post("/admin/fronts")
        .header(header::COOKIE, &p.cookie)
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(serde_urlencoded::to_string(&fields).expect("form")))
        .expect("request");
    app.request(req).await
}

/// The headline of the home page's top story.
fn top_of(page: &str) -> &str {
    let start = page.find("class=\"top-story\"").expect("a top story");
    let rest = &page[start..];
    &rest[..rest.find("</section>").expect("end of the top story")]
}

/// Where each headline first appears in the page's main column (panics when one is missing).
fn order(page: &str, headlines: &[&str]) -> Vec<usize> {
    let main = main_of(page);
    headlines.iter().map(|h| main.find(h).unwrap_or_else(|| panic!("{h} is not on the page"))).collect()
}

fn is_increasing(v: &[usize]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

async fn second_node(app: &TestApp) -> AppState {
    let config = WebConfig { public_url: "https://news.example".into(), ..WebConfig::default() };
    AppState::new(app.db.store.clone(), config).await.expect("second node")
}

async fn home_on(node: &AppState) -> String {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let res = newsdesk_web::app(node.clone())
        .oneshot(Request::get("/").body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes()).into_owned()
}

backend_test! {
    async fn a_pinned_front_survives_newer_stories_and_reaches_a_second_node(db) {
        let app = TestApp::new(db).await;
        let node_b = second_node(&app).await;
        let editor = app.person("Eve Editor", Role::Editor).await;
        let old = app.add_story(&["World"], "Old but important", 10).await;
        let second = app.add_story(&["World"], "Second feature", 20).await;
        let first = app.add_story(&["Iran"], "First feature", 30).await;
        app.sync().await;
        let since = app.db.store.last_change_id().await.expect("changes");
        let before = home_on(&node_b).await;
        assert!(top_of(&before).contains("First feature"), "newest first before any front");

        let a = put_front(&app, &editor, "/api/v1/fronts/en", serde_json::json!({
            "version": 0, "pinned": old, "featured": [first, second]
        })).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let v: serde_json::Value = serde_json::from_str(&a.body).expect("json");
        assert_eq!(v["version"], 1);
        assert_eq!(v["live"]["pinned"]["news_id"], old);
        assert_eq!(v["live"]["featured"][0]["news_id"], first);

        // Newer stories go below the curated ones.
        app.add_story(&["World"], "Brand new story", 60).await;
        app.sync().await;
        let page = app.get("/").await.body;
        assert!(top_of(&page).contains("Old but important"), "the pinned story stays on top");
        assert!(is_increasing(&order(&page, &["Old but important", "First feature", "Second feature", "Brand new story"])),
            "pinned, featured in the editors' order, then newest first");
        let before_blocks = &main_of(&page)[..main_of(&page).find("class=\"blocks\"").expect("section blocks")];
        assert_eq!(before_blocks.matches("Second feature</a>").count(), 1, "a curated story is not repeated below");

        // Node B serves its cached home page until it reads the change log, then the front.
        assert!(top_of(&home_on(&node_b).await).contains("First feature"), "node B's cached page");
        node_b.apply_changes(since).await.expect("follow");
        let on_b = home_on(&node_b).await;
        assert!(top_of(&on_b).contains("Old but important"), "the front reached node B");
        assert!(is_increasing(&order(&on_b, &["Old but important", "First feature", "Second feature"])));

        // Feeds stay newest first: a front is a page layout, not a feed.
        let feed = app.get("/feed.rss").await.body;
        assert!(feed.find("Brand new story").expect("new") < feed.find("Old but important").expect("old"));
    }
}

backend_test! {
    async fn a_draft_is_previewed_without_changing_the_live_page_and_a_taken_down_story_drops_out(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Eve Editor", Role::Editor).await;
        let featured = app.add_story(&["World"], "Featured later", 10).await;
        app.add_story(&["World"], "Newest story", 50).await;
        app.sync().await;
        let id = featured.to_string();
        let pin = format!("pin:{id}");
        let a = post(&app, &editor, &[("edition", "en"), ("front", "home"), ("version", "0"), ("op", &pin)]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let live = app.get("/").await.body;
        assert!(top_of(&live).contains("Newest story"), "a draft does not change the live page");
        assert!(!live.contains("preview-banner"));

        let preview = app.get_as(&editor, "/admin/fronts/preview?edition=en&front=home").await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert!(top_of(&preview.body).contains("Featured later"), "the preview shows the draft");
        assert!(preview.body.contains("preview-banner") && preview.body.contains("noindex"), "marked, not indexed");
        assert_eq!(preview.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
        assert!(top_of(&app.get("/").await.body).contains("Newest story"), "the preview was not cached as the page");
        let reader = app.get("/admin/fronts/preview?edition=en&front=home").await;
        assert_ne!(reader.status, StatusCode::OK, "readers cannot see the preview");

        // The editor page shows the draft; publishing makes it live.
        let page = app.get_as(&editor, "/admin/fronts?edition=en&front=home").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Featured later") && page.body.contains("Publish front"));
        let a = post(&app, &editor, &[("edition", "en"), ("front", "home"), ("version", "1"), ("op", "publish")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert!(top_of(&app.get("/").await.body).contains("Featured later"), "published: readers see it");
        let log = app.db.store.audit_log(Some(("front", "en:home")), 10).await.expect("audit");
        assert_eq!(log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["front.publish", "front.draft"]);

        // The curated story is taken down: the front goes on without it, no error, no dead link.
        let v = app.db.store.story(featured).await.expect("read").expect("story").version;
        let a = api(&app, &editor, "POST", &format!("/api/v1/stories/{featured}/workflow"), serde_json::json!({
            "action": "unpublish", "version": v, "reason": "Legal asked."
        })).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        app.sync().await;
        let page = app.get("/").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("Featured later"), "the taken-down story left the front");
        assert!(top_of(&page.body).contains("Newest story"));
        // The editor page and the API still answer, and the draft drops it on the next change.
        assert_eq!(app.get_as(&editor, "/admin/fronts?edition=en&front=home").await.status, StatusCode::OK);
        let a = post(&app, &editor, &[("edition", "en"), ("front", "home"), ("version", "2"), ("op", "publish")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let front = app.db.store.front(app.edition_id, None).await.expect("front");
        assert_eq!(front.live.pinned, None);
    }
}

backend_test! {
    async fn fronts_check_roles_versions_and_the_stories_placed(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Eve Editor", Role::Editor).await;
        let reporter = app.person("Rita Reporter", Role::Reporter).await;
        let scoped = app.person("Sam Scoped", Role::Editor).await;
        let world_story = app.add_story(&["World"], "World feature", 10).await;
        app.add_story(&["World"], "World newest", 40).await;
        let sections = app.db.store.sections(app.edition_id).await.expect("sections");
        let world = sections.iter().find(|s| s.path == "world").expect("world").id;
        let audit = newsdesk_storage::AuditEntry::system("test", "user.sections", "user", scoped.actor.user_id, "");
        app.db.store.set_user_sections(scoped.actor.user_id, &[world], &audit).await.expect("scope");

        // Reporters arrange nothing; scoped editors only their sections' fronts.
        let body = serde_json::json!({ "version": 0, "featured": [world_story] });
        assert_eq!(put_front(&app, &reporter, "/api/v1/fronts/en", body.clone()).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get_as(&reporter, "/admin/fronts").await.status, StatusCode::FORBIDDEN);
        assert_eq!(put_front(&app, &scoped, "/api/v1/fronts/en", body.clone()).await.status, StatusCode::FORBIDDEN);
        assert_eq!(put_front(&app, &scoped, "/api/v1/fronts/en?section=iran", body.clone()).await.status, StatusCode::FORBIDDEN);
        let a = put_front(&app, &scoped, "/api/v1/fronts/en?section=world", body.clone()).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let page = app.get("/section/world").await.body;
        assert!(is_increasing(&order(&page, &["World feature", "World newest"])), "the section front leads its page");
        let editor_page = app.get_as(&scoped, "/admin/fronts").await;
        assert_eq!(editor_page.status, StatusCode::OK, "{}", editor_page.body);
        assert!(!editor_page.body.contains("Home page"), "no home front for a scoped editor");

        // A stale version is refused with the version now.
        let a = put_front(&app, &editor, "/api/v1/fronts/en?section=world", body.clone()).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
        assert!(a.body.contains("version 1"), "{}", a.body);
        let form = post(&app, &editor, &[("edition", "en"), ("front", "world"), ("version", "0"), ("op", "publish")]).await;
        assert_eq!(form.status, StatusCode::CONFLICT, "{}", form.body);

        // Only published stories of the edition, each once, at most eight featured.
        let a = api(&app, &editor, "POST", "/api/v1/stories", serde_json::json!({ "headline": "Only a draft", "section": "world" })).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        let draft = serde_json::from_str::<serde_json::Value>(&a.body).expect("json")["news_id"].as_i64().expect("id");
        for (body, field) in [
            (serde_json::json!({ "version": 1, "pinned": draft }), "pinned"),
            (serde_json::json!({ "version": 1, "featured": [world_story, 424_242] }), "featured"),
            (serde_json::json!({ "version": 1, "pinned": world_story, "featured": [world_story] }), "featured"),
            (serde_json::json!({ "version": 1, "featured": [1, 2, 3, 4, 5, 6, 7, 8, 9] }), "featured"),
        ] {
            let a = put_front(&app, &editor, "/api/v1/fronts/en", body.clone()).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", a.body);
            assert!(a.body.contains(field), "{body}: {}", a.body);
        }
        let a = put_front(&app, &editor, "/api/v1/fronts/en", serde_json::json!({ "version": 0, "pinnned": 1 })).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "unknown fields are refused: {}", a.body);
        assert_eq!(put_front(&app, &editor, "/api/v1/fronts/xx", body.clone()).await.status, StatusCode::NOT_FOUND);
        assert_eq!(put_front(&app, &editor, "/api/v1/fronts/en?section=nowhere", body.clone()).await.status, StatusCode::NOT_FOUND);

        // A draft through the API leaves the page alone; GET shows both.
        let a = put_front(&app, &editor, "/api/v1/fronts/en", serde_json::json!({ "version": 0, "pinned": world_story, "draft": true })).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let v: serde_json::Value = serde_json::from_str(&api(&app, &editor, "GET", "/api/v1/fronts/en", serde_json::Value::Null).await.body).expect("json");
        assert_eq!((v["draft"]["pinned"]["news_id"].as_i64(), v["live"]["pinned"].is_null()), (Some(world_story), true));
        assert!(top_of(&app.get("/").await.body).contains("World newest"));
    }
}
