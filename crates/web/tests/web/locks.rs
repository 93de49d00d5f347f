//! Edit locks, on SQLite and on PostgreSQL: opening a story in the editor
//! takes its lock; a second editor sees who holds it and gets the story
//! read-only, or takes it over after confirming, which the first editor's
//! heartbeat then reports; locks run out with their lease (a moved clock, no
//! sleeping), hold across nodes on one database, follow the edit rule, and
//! work the same through the write API.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use http_body_util::BodyExt;
use newsdesk_domain::roles::Role;
use newsdesk_storage::{LockOutcome, backend_test};
use newsdesk_web::desk::{self, DeskError, locks};
use newsdesk_web::{AppState, WebConfig};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common;
use common::{Answer, Person, TestApp};

/// The seed story, published, created by nobody in particular.
const SEED: i64 = 84427;

async fn send_to(node: &AppState, req: Request<Body>) -> Answer {
    let res = newsdesk_web::app(node.clone()).oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

/// The editor page of `id` as `p`, through `node`.
async fn open(node: &AppState, p: &Person, id: i64) -> Answer {
    page(node, p, &format!("/admin/stories/{id}/edit")).await
}

/// A back-office page as `p`, through `node`.
async fn page(node: &AppState, p: &Person, uri: &str) -> Answer {
    let req = Request::get(uri)
        .header(header::COOKIE, &p.cookie)
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .expect("request");
    send_to(node, req).await
}

/// A form post from our own page with `p`'s CSRF token.
async fn post(node: &AppState, p: &Person, uri: &str, form: &[(&str, &str)], accept: &str) -> Answer {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("csrf", &p.csrf));
    let req = Request::post(uri)
        .header(header::COOKIE, &p.cookie)
        .header(header::ACCEPT, accept)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(serde_urlencoded::to_string(&fields).expect("form")))
        .expect("request");
    send_to(node, req).await
}

/// The editor's heartbeat as its script sends it: no body, the token in a header.
async fn heartbeat(node: &AppState, p: &Person, id: i64) -> (StatusCode, Value) {
    let req = Request::post(format!("/admin/stories/{id}/lock/heartbeat"))
        .header(header::COOKIE, &p.cookie)
        .header(header::ACCEPT, "application/json")
        .header("x-csrf-token", &p.csrf)
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .expect("request");
    let a = send_to(node, req).await;
    (a.status, serde_json::from_str(&a.body).unwrap_or_else(|_| panic!("JSON: {}", a.body)))
}

async fn api(app: &TestApp, method: Method, uri: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let a = app.request(req.body(body).expect("request")).await;
    (a.status, if a.body.is_empty() { Value::Null } else { serde_json::from_str(&a.body).expect("JSON") })
}

fn read_only(page: &str) -> bool {
    page.contains("<fieldset disabled>")
}

fn holder_banner(page: &str) -> Option<&str> {
    let start = page.find("Being edited by <strong>")?;
    page[start..].split("</p>").next()
}

async fn holder(app: &TestApp, id: i64) -> Option<i64> {
    app.db.store.lock_of(id, Utc::now()).await.expect("lock").map(|l| l.user_id)
}

backend_test! {
    async fn a_second_editor_sees_who_is_editing_and_gets_the_story_read_only(db) {
        let app = TestApp::new(db).await;
        let ann = app.person("Ann Editor", Role::Editor).await;
        let bob = app.person("Bob Editor", Role::Editor).await;
        let first = open(&app.state, &ann, SEED).await;
        assert_eq!(first.status, StatusCode::OK);
        assert!(first.body.contains("data-heartbeat=\"/admin/stories/84427/lock/heartbeat\""), "the heartbeat is set up");
        assert!(first.body.contains("<script src=\"/admin/static/editlock.js?v="), "with its script");
        assert!(holder_banner(&first.body).is_none() && !read_only(&first.body));
        assert_eq!(holder(&app, SEED).await, Some(ann.actor.user_id));

        let second = open(&app.state, &bob, SEED).await;
        assert_eq!(second.status, StatusCode::OK);
        let banner = holder_banner(&second.body).unwrap_or_else(|| panic!("banner in {}", second.body));
        assert!(banner.contains("Ann Editor</strong> since "), "{banner}");
        assert!(read_only(&second.body), "Bob's fields are read-only");
        assert!(second.body.contains("action=\"/admin/stories/84427/lock\"") && second.body.contains("name=\"confirm\""), "a confirmed take-over is offered");
        assert!(!second.body.contains("data-heartbeat"), "Bob holds nothing to renew");
        assert_eq!(holder(&app, SEED).await, Some(ann.actor.user_id), "opening did not take Ann's lock");
        // Ann reloads: still hers, still editable. The script is served.
        assert!(!read_only(&open(&app.state, &ann, SEED).await.body));
        let js = send_to(&app.state, Request::get("/admin/static/editlock.js").header(header::COOKIE, &ann.cookie).body(Body::empty()).expect("req")).await;
        assert!(js.status == StatusCode::OK && js.body.contains("sendBeacon"), "{}", js.status);
        // A name with markup is shown as text.
        let eve = app.person("<b>Eve</b>", Role::Editor).await;
        let id = app.add_story(&["World"], "Another story", 10).await;
        open(&app.state, &eve, id).await;
        let page = open(&app.state, &bob, id).await;
        assert!(page.body.contains("&lt;b&gt;Eve&lt;/b&gt;") && !page.body.contains("<b>Eve</b>"));
    }
}

backend_test! {
    async fn of_ten_concurrent_editors_exactly_one_gets_the_lock(db) {
        let app = TestApp::new(db).await;
        let mut people = Vec::new();
        for i in 0..10 {
            people.push(app.person(&format!("Editor {i}"), Role::Editor).await);
        }
        let now = Utc::now();
        let tasks: Vec<_> = people
            .iter()
            .map(|p| {
                let (state, actor) = (app.state.clone(), p.actor.clone());
                tokio::spawn(async move { locks::take(&state, &actor, SEED, now, false).await })
            })
            .collect();
        let mut taken = Vec::new();
        let mut busy = Vec::new();
        for t in tasks {
            match t.await.expect("task").expect("take") {
                LockOutcome::Taken(l) => taken.push(l.user_id),
                LockOutcome::Busy(l) => busy.push(l.user_id),
                other => panic!("no take-over was asked: {other:?}"),
            }
        }
        assert_eq!(taken.len(), 1, "one holder: {taken:?}");
        assert_eq!(busy.len(), 9);
        assert!(busy.iter().all(|b| *b == taken[0]), "everyone else sees that holder");
        assert_eq!(holder(&app, SEED).await, Some(taken[0]));
    }
}

backend_test! {
    async fn a_lock_runs_out_when_its_heartbeat_stops(db) {
        let app = TestApp::new(db).await;
        let ann = app.person("Ann Editor", Role::Editor).await;
        let bob = app.person("Bob Editor", Role::Editor).await;
        // Ann opened the story 80 seconds ago, and her page never beat.
        let then = Utc::now() - Duration::seconds(80);
        assert!(matches!(locks::take(&app.state, &ann.actor, SEED, then, false).await.expect("take"), LockOutcome::Taken(_)));
        let page = open(&app.state, &bob, SEED).await;
        assert!(holder_banner(&page.body).is_some() && read_only(&page.body), "10 seconds of lease left");
        // 91 seconds after it was taken (no renewal): free for Bob, without a take-over.
        let later = then + locks::LEASE + Duration::seconds(1);
        assert_eq!(locks::lock_of(&app.state, SEED, later).await.expect("lock"), None);
        let out = locks::take(&app.state, &bob.actor, SEED, later, false).await.expect("take");
        assert!(matches!(out, LockOutcome::Taken(ref l) if l.user_id == bob.actor.user_id), "{out:?}");
        // Back to the real clock: a lock taken long ago is no lock; the editor opens editable.
        app.db.store.release_lock(SEED, bob.actor.user_id).await.expect("release");
        let long_ago = Utc::now() - Duration::minutes(10);
        locks::take(&app.state, &ann.actor, SEED, long_ago, false).await.expect("take");
        let page = open(&app.state, &bob, SEED).await;
        assert!(holder_banner(&page.body).is_none() && !read_only(&page.body), "expired: Bob edits");
        assert_eq!(holder(&app, SEED).await, Some(bob.actor.user_id));
        assert!(app.db.store.audit_log(Some(("story", "84427")), 10).await.expect("audit").iter().all(|e| e.action != "story.lock.takeover"), "taking an expired lock is no take-over");
    }
}

backend_test! {
    async fn a_confirmed_take_over_moves_the_lock_and_the_first_heartbeat_says_so(db) {
        let app = TestApp::new(db).await;
        let ann = app.person("Ann Editor", Role::Editor).await;
        let bob = app.person("Bob Editor", Role::Editor).await;
        open(&app.state, &ann, SEED).await;
        let (status, beat) = heartbeat(&app.state, &ann, SEED).await;
        assert_eq!((status, &beat["held"]), (StatusCode::OK, &json!(true)), "{beat}");
        // Without the confirmation nothing moves.
        let refused = post(&app.state, &bob, "/admin/stories/84427/lock", &[("takeover", "1")], "text/html").await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.body.contains("Confirm the take-over"));
        let plain = post(&app.state, &bob, "/admin/stories/84427/lock", &[], "text/html").await;
        assert_eq!(plain.status, StatusCode::CONFLICT, "a plain lock request finds Ann's");
        assert!(plain.body.contains("being edited by Ann Editor since"));
        assert_eq!(holder(&app, SEED).await, Some(ann.actor.user_id));
        // Confirmed: Bob holds it, and the take-over is in the audit log.
        let taken = post(&app.state, &bob, "/admin/stories/84427/lock", &[("takeover", "1"), ("confirm", "yes")], "text/html").await;
        assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
        assert_eq!(taken.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/admin/stories/84427/edit?saved=takeover"));
        assert_eq!(holder(&app, SEED).await, Some(bob.actor.user_id));
        let audit = app.db.store.audit_log(Some(("story", "84427")), 10).await.expect("audit");
        let entry = audit.iter().find(|e| e.action == "story.lock.takeover").expect("take-over audited");
        assert_eq!(entry.user_id, Some(bob.actor.user_id));
        assert!(entry.detail.contains("taken over from Ann Editor"), "{}", entry.detail);
        let after = page(&app.state, &bob, "/admin/stories/84427/edit?saved=takeover").await;
        assert!(after.body.contains("You took over editing") && !read_only(&after.body));
        // Ann's next heartbeat: taken over by Bob, her text stays in her page.
        let (status, beat) = heartbeat(&app.state, &ann, SEED).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(beat["held"], json!(false));
        let message = beat["message"].as_str().expect("message");
        assert!(message.starts_with("Bob Editor took over editing at ") && message.contains("your unsaved text is kept in this page"), "{message}");
        assert_eq!(holder(&app, SEED).await, Some(bob.actor.user_id), "Ann's heartbeat took nothing back");
        let (status, _) = heartbeat(&app.state, &bob, SEED).await;
        assert_eq!(status, StatusCode::OK);
        // Ann reopens the story: read-only, Bob named.
        let again = open(&app.state, &ann, SEED).await;
        assert!(holder_banner(&again.body).is_some_and(|b| b.contains("Bob Editor")) && read_only(&again.body));
        // Bob leaves (the page's beacon): the lock is free; Ann's release of it earlier did nothing.
        let gone = post(&app.state, &ann, "/admin/stories/84427/lock/release", &[], "application/json").await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
        assert_eq!(holder(&app, SEED).await, Some(bob.actor.user_id), "nobody releases another's lock");
        let gone = post(&app.state, &bob, "/admin/stories/84427/lock/release", &[], "application/json").await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT);
        assert_eq!(holder(&app, SEED).await, None);
        // The release needs the CSRF token like every other post.
        let req = Request::post("/admin/stories/84427/lock/release")
            .header(header::COOKIE, &bob.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::empty())
            .expect("request");
        assert_eq!(send_to(&app.state, req).await.status, StatusCode::FORBIDDEN);
    }
}

backend_test! {
    async fn two_nodes_on_one_database_see_the_same_lock(db) {
        let app = TestApp::new(db).await;
        let config = WebConfig { public_url: "https://news.example".into(), ..WebConfig::default() };
        let node_b = AppState::new(app.db.store.clone(), config).await.expect("second node");
        let ann = app.person("Ann Editor", Role::Editor).await;
        let bob = app.person("Bob Editor", Role::Editor).await;
        assert!(!read_only(&open(&app.state, &ann, SEED).await.body), "Ann opens the story on node A");
        let on_b = open(&node_b, &bob, SEED).await;
        assert!(holder_banner(&on_b.body).is_some_and(|b| b.contains("Ann Editor")) && read_only(&on_b.body), "node B sees Ann's lock");
        let out = locks::take(&node_b, &bob.actor, SEED, Utc::now(), false).await.expect("take");
        assert!(matches!(out, LockOutcome::Busy(ref l) if l.user_id == ann.actor.user_id));
        // Bob takes over on node B; Ann's heartbeat on node A learns it.
        let taken = post(&node_b, &bob, "/admin/stories/84427/lock", &[("takeover", "1"), ("confirm", "yes")], "text/html").await;
        assert_eq!(taken.status, StatusCode::SEE_OTHER);
        let (status, beat) = heartbeat(&app.state, &ann, SEED).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(beat["message"].as_str().is_some_and(|m| m.starts_with("Bob Editor took over")));
    }
}

backend_test! {
    async fn only_those_who_may_edit_a_story_may_lock_it(db) {
        let app = TestApp::new(db).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let ann = app.person("Ann Editor", Role::Editor).await;
        // The seed is published and not Rita's: neither the desk, the back office nor the API lets her lock it.
        let r = locks::take(&app.state, &rita.actor, SEED, Utc::now(), false).await;
        assert!(matches!(r, Err(DeskError::Forbidden(_))), "{r:?}");
        let r = locks::take(&app.state, &rita.actor, SEED, Utc::now(), true).await;
        assert!(matches!(r, Err(DeskError::Forbidden(_))), "not even by taking over");
        assert_eq!(post(&app.state, &rita, "/admin/stories/84427/lock", &[], "text/html").await.status, StatusCode::FORBIDDEN);
        assert_eq!(heartbeat(&app.state, &rita, SEED).await.0, StatusCode::FORBIDDEN);
        assert_eq!(api(&app, Method::POST, "/api/v1/stories/84427/lock", &rita.token, None).await.0, StatusCode::FORBIDDEN);
        assert_eq!(holder(&app, SEED).await, None);
        // Her own draft she locks; an editor finds it locked.
        let edition = desk::edition_for_new(&app.state, None).expect("edition");
        let section = app.db.store.sections(app.edition_id).await.expect("sections")[0].id;
        let changes = desk::StoryChanges { headline: Some("Rita's draft".into()), section: Some(desk::SectionChoice::Id(section)), ..Default::default() };
        let draft = desk::create(&app.state, &rita.actor, &edition, changes).await.expect("draft");
        assert!(matches!(locks::take(&app.state, &rita.actor, draft, Utc::now(), false).await.expect("own"), LockOutcome::Taken(_)));
        let page = open(&app.state, &ann, draft).await;
        assert!(holder_banner(&page.body).is_some_and(|b| b.contains("Rita Reporter")));
        // Once she submitted it she may not edit it: her heartbeat is refused and gives the lock up...
        let v = app.db.store.story(draft).await.expect("read").expect("draft").version;
        let submitted = post(&app.state, &rita, &format!("/admin/stories/{draft}/workflow"), &[("action", "submit"), ("version", &v.to_string())], "text/html").await;
        assert_eq!(submitted.status, StatusCode::SEE_OTHER, "{}", submitted.body);
        assert_eq!(heartbeat(&app.state, &rita, draft).await.0, StatusCode::FORBIDDEN);
        assert_eq!(holder(&app, draft).await, None);
        // ...and so does opening it again (the page after "Submit"): the editor finds it free.
        locks::take(&app.state, &ann.actor, draft, Utc::now(), false).await.expect("take");
        locks::release(&app.state, &ann.actor, draft).await.expect("release");
        app.db.store.take_lock(draft, newsdesk_storage::LockUser { user_id: rita.actor.user_id, name: "Rita Reporter" }, Utc::now(), locks::LEASE, None).await.expect("stale lock");
        let mine = open(&app.state, &rita, draft).await;
        assert!(read_only(&mine.body) && holder_banner(&mine.body).is_none(), "read-only for her, without a banner");
        assert_eq!(holder(&app, draft).await, None);
        assert!(!read_only(&open(&app.state, &ann, draft).await.body));
        // No such story.
        assert!(matches!(locks::take(&app.state, &ann.actor, 999_999, Utc::now(), false).await, Err(DeskError::NotFound(_))));
        assert_eq!(post(&app.state, &ann, "/admin/stories/999999/lock", &[], "text/html").await.status, StatusCode::NOT_FOUND);
    }
}

backend_test! {
    async fn the_write_api_takes_renews_takes_over_and_releases_locks(db) {
        let app = TestApp::new(db).await;
        let ann = app.person("Ann Editor", Role::Editor).await;
        let bob = app.person("Bob Editor", Role::Editor).await;
        let (status, lock) = api(&app, Method::POST, "/api/v1/stories/84427/lock", &ann.token, None).await;
        assert_eq!(status, StatusCode::OK, "{lock}");
        assert_eq!((lock["news_id"].as_i64(), lock["name"].as_str()), (Some(SEED), Some("Ann Editor")));
        assert_eq!(lock["lease_seconds"], json!(90));
        assert_eq!(lock["taken_over_from"], Value::Null);
        assert!(lock["expires_at"].as_str().is_some_and(|t| t.ends_with("+03:30")), "in the edition's time zone: {lock}");
        // Renewing (the API's heartbeat) keeps the taking time; the back office sees the lock.
        let (status, again) = api(&app, Method::POST, "/api/v1/stories/84427/lock", &ann.token, Some(json!({}))).await;
        assert_eq!((status, &again["taken_at"]), (StatusCode::OK, &lock["taken_at"]));
        assert!(read_only(&open(&app.state, &bob, SEED).await.body));
        // Bob is refused, then takes over.
        let (status, err) = api(&app, Method::POST, "/api/v1/stories/84427/lock", &bob.token, Some(json!({"takeover": false}))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(err["error"]["code"], "conflict");
        assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("being edited by Ann Editor since")), "{err}");
        let (status, took) = api(&app, Method::POST, "/api/v1/stories/84427/lock", &bob.token, Some(json!({"takeover": true}))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((took["name"].as_str(), took["taken_over_from"].as_str()), (Some("Bob Editor"), Some("Ann Editor")));
        let audit = app.db.store.audit_log(Some(("story", "84427")), 10).await.expect("audit");
        assert!(audit.iter().any(|e| e.action == "story.lock.takeover" && e.detail.contains("API token")), "audited as an API take-over");
        // Ann's DELETE leaves Bob's lock; Bob's frees it.
        assert_eq!(api(&app, Method::DELETE, "/api/v1/stories/84427/lock", &ann.token, None).await.0, StatusCode::NO_CONTENT);
        assert_eq!(holder(&app, SEED).await, Some(bob.actor.user_id));
        assert_eq!(api(&app, Method::DELETE, "/api/v1/stories/84427/lock", &bob.token, None).await.0, StatusCode::NO_CONTENT);
        assert_eq!(holder(&app, SEED).await, None);
        // Refusals: unknown fields, no such story, not a News ID, no token.
        let (status, err) = api(&app, Method::POST, "/api/v1/stories/84427/lock", &ann.token, Some(json!({"force": true}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert_eq!(api(&app, Method::POST, "/api/v1/stories/999999/lock", &ann.token, None).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api(&app, Method::DELETE, "/api/v1/stories/999999/lock", &ann.token, None).await.0, StatusCode::NOT_FOUND);
        assert_eq!(api(&app, Method::POST, "/api/v1/stories/abc/lock", &ann.token, None).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(api(&app, Method::POST, "/api/v1/stories/84427/lock", "ndt_nonsense", None).await.0, StatusCode::UNAUTHORIZED);
    }
}
