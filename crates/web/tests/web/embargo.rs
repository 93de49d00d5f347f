//! Embargoed pre-release on SQLite and PostgreSQL: an editor releases a
//! scheduled story to the wire ahead of its time (back office and write API,
//! role-checked and audited); subscribers that take embargoed copy get it by
//! pull (ninjs and NewsML-G2, with `embargoed`, valid against both schemas)
//! and by webhook, others nothing; every public surface shows nothing of it
//! until the scheduler publishes it; unscheduling it tells those who got it.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::roles::Role;
use newsdesk_domain::workflow::Action;
use newsdesk_storage::{AuditEntry, NewSubscriber, backend_test};
use newsdesk_web::desk::{self, ActRequest, ScheduleAt, SectionChoice, StoryChanges};
use serde_json::Value;

use crate::common;
use common::{Answer, Person, TestApp, check_newsml, check_ninjs};

const HEADLINE: &str = "Ministers sign the Caspian accord";

fn system(action: &str) -> AuditEntry {
    AuditEntry::system("test", action, "subscriber", "", "")
}

/// A subscriber with a key and a webhook; `embargo`: it takes embargoed copy.
async fn subscriber(app: &TestApp, name: &str, embargo: bool) -> (i64, String, i64) {
    let store = &app.db.store;
    let s = store
        .add_subscriber(
            &NewSubscriber { name: name.into(), sections: vec![], editions: vec![], rate_limit: 1000 },
            &system("subscriber.create"),
        )
        .await
        .expect("subscriber");
    assert!(store.set_subscriber_access(s.id, None, embargo, &system("subscriber.access")).await.expect("access"));
    let key = store.create_api_key(s.id, &system("subscriber.key")).await.expect("key").0;
    let hook = store
        .add_webhook(s.id, &format!("http://127.0.0.1:9/{name}"), &system("subscriber.webhook"))
        .await
        .expect("webhook");
    (s.id, key, hook.id)
}

async fn pull(app: &TestApp, uri: &str, key: &str) -> Answer {
    app.request(
        Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).expect("request"),
    )
    .await
}

fn json(a: &Answer) -> Value {
    serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("JSON ({e}): {}", a.body))
}

fn listed(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["altids"][0]["value"].as_str().expect("news id").parse().expect("number"))
        .collect()
}

/// `POST /api/v1/stories/{id}/release` with a personal API token.
async fn release(app: &TestApp, id: i64, token: &str) -> Answer {
    app.request(
        Request::post(format!("/api/v1/stories/{id}/release"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request"),
    )
    .await
}

/// A draft in the seed's section, with a tag and an author of its own, scheduled for `at`.
async fn scheduled(app: &TestApp, editor: &Person, at: DateTime<Utc>) -> i64 {
    let seed = app.db.store.story(84427).await.expect("seed").expect("seed exists");
    let edition = desk::edition_for_new(&app.state, None).expect("edition");
    let changes = StoryChanges {
        headline: Some(HEADLINE.into()),
        lead: Some("Five states agree on the sea's status.".into()),
        body: Some("The accord was signed in Aktau.".into()),
        section: Some(SectionChoice::Id(seed.section_id)),
        tags: Some(vec!["Caspian Accord".into()]),
        authors: Some(vec!["Mina Embargo".into()]),
        ..StoryChanges::default()
    };
    let id = desk::create(&app.state, &editor.actor, &edition, changes).await.expect("draft");
    let version = app.db.store.story(id).await.expect("story").expect("exists").version;
    let req = ActRequest {
        action: Action::Schedule,
        version,
        scheduled_at: Some(ScheduleAt::Rfc3339(at.to_rfc3339())),
        public_note: None,
        reason: None,
        changes: None,
    };
    desk::act(&app.state, &editor.actor, id, req).await.expect("scheduled");
    id
}

/// The outbox of a subscriber: `(news id, event type)`, oldest first.
async fn events(app: &TestApp, subscriber: i64) -> Vec<(i64, String)> {
    let mut log: Vec<(i64, String)> = app
        .db
        .store
        .outbox_of(subscriber, 100)
        .await
        .expect("outbox")
        .into_iter()
        .map(|e| (e.news_id, e.kind))
        .collect();
    log.reverse();
    log
}

/// Every public surface of the edition: none may show the story.
async fn assert_not_public(app: &TestApp, id: i64, when: &str) {
    app.sync().await;
    assert_eq!(app.get(&format!("/news/{id}")).await.status, StatusCode::NOT_FOUND, "{when}: the page");
    assert_eq!(app.get(&format!("/api/v1/stories/{id}")).await.status, StatusCode::NOT_FOUND, "{when}: the JSON API");
    for uri in [
        "/",
        "/feed.rss",
        "/feed.atom",
        "/feed.json",
        "/sitemap.xml",
        "/sitemap-news.xml",
        "/search?q=Caspian",
        "/api/v1/stories",
        "/api/v1/search?q=Caspian",
        "/api/v1/most-visited",
        "/tag/caspian-accord",
        "/author/mina-embargo",
        "/section/iran",
        "/section/iran/feed.rss",
    ] {
        let a = app.get(uri).await;
        assert!(a.status != StatusCode::INTERNAL_SERVER_ERROR, "{when}: {uri} answers {}", a.status);
        assert!(!a.body.contains("Caspian accord"), "{when}: {uri} shows the embargoed story:\n{}", a.body);
        assert!(!a.body.contains(&format!("/news/{id}")), "{when}: {uri} links the embargoed story");
    }
}

backend_test! {
    async fn released_copy_reaches_only_subscribers_that_take_it(db) {
        let app = TestApp::new(db).await;
        // The seed's publish is dispatched before the subscribers exist (marked, no event).
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        let editor = app.person("Ed Itor", Role::Editor).await;
        let reporter = app.person("Rita Porter", Role::Reporter).await;
        let (plain, plain_key, _) = subscriber(&app, "plain", false).await;
        let (early, early_key, _) = subscriber(&app, "early", true).await;
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        let due = Utc::now() + Duration::hours(3);
        let id = scheduled(&app, &editor, due).await;
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        let item_uri = format!("/api/ninjs/v2/items/{id}");
        assert_eq!(pull(&app, &item_uri, &early_key).await.status, StatusCode::NOT_FOUND, "not released yet");
        assert!(events(&app, early).await.is_empty(), "scheduling tells nobody");

        // The write API: reporters may not release; editors may, once.
        assert_eq!(release(&app, id, &reporter.token).await.status, StatusCode::FORBIDDEN);
        let a = release(&app, id, &editor.token).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let until: DateTime<Utc> = json(&a)["embargoed_until"].as_str().expect("embargoed_until").parse().expect("time");
        assert!((until - due).num_seconds().abs() <= 1);
        assert_eq!(release(&app, id, &editor.token).await.status, StatusCode::CONFLICT, "released already");
        let audit = app.db.store.audit_log(Some(("story", &id.to_string())), 50).await.expect("audit");
        assert!(audit.iter().any(|e| e.action == "story.release" && e.target_id == id.to_string() && e.actor == editor.actor.email));
        let release_none = release(&app, 84427, &editor.token).await;
        assert_eq!(release_none.status, StatusCode::CONFLICT, "a published story is not released: {}", release_none.body);

        // Pull: embargoed copy for `early`, nothing for `plain`.
        let item = json(&pull(&app, &item_uri, &early_key).await);
        let embargoed: DateTime<Utc> = item["embargoed"].as_str().expect("embargoed").parse().expect("time");
        assert!((embargoed - due).num_seconds().abs() <= 1, "the embargo is the scheduled time");
        assert_eq!(item["pubstatus"], "usable");
        assert_eq!(item["headlines"][0]["value"], HEADLINE);
        check_ninjs(&item);
        let page = json(&pull(&app, "/api/ninjs/v2/items", &early_key).await);
        assert!(listed(&page).contains(&id), "{page}");
        let since = (Utc::now() - Duration::minutes(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let page = json(&pull(&app, &format!("/api/ninjs/v2/items?since={since}"), &early_key).await);
        assert!(listed(&page).contains(&id), "pulls since the release see it: {page}");
        let xml = pull(&app, &format!("/api/newsml-g2/items/{id}"), &early_key).await;
        assert_eq!(xml.status, StatusCode::OK, "{}", xml.body);
        assert!(xml.body.contains("<embargoed>") && xml.body.contains("stat:usable"), "{}", xml.body);
        check_newsml(&xml.body);
        assert!(pull(&app, "/api/newsml-g2/items", &early_key).await.body.contains(&format!("/news/{id}")));

        assert_eq!(pull(&app, &item_uri, &plain_key).await.status, StatusCode::NOT_FOUND);
        assert_eq!(pull(&app, &format!("/api/newsml-g2/items/{id}"), &plain_key).await.status, StatusCode::NOT_FOUND);
        assert!(!listed(&json(&pull(&app, "/api/ninjs/v2/items", &plain_key).await)).contains(&id));
        assert!(!pull(&app, "/api/newsml-g2/items", &plain_key).await.body.contains(HEADLINE));

        // Webhooks: the release goes to `early` only, with the embargo in the item.
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        assert_eq!(events(&app, early).await, [(id, "publish".to_string())]);
        assert!(events(&app, plain).await.is_empty());
        let due_rows = app.db.store.due_deliveries(Utc::now() + Duration::seconds(5), 50).await.expect("due");
        let d = due_rows.iter().find(|d| d.news_id == id).expect("the release event");
        let body: Value = serde_json::from_str(&d.payload).expect("payload");
        assert_eq!(body["item"]["embargoed"], item["embargoed"]);
        check_ninjs(&body["item"]);

        // An edit of the released story is an update for `early` alone.
        let v = app.db.store.story(id).await.expect("story").expect("exists").version;
        desk::update(&app.state, &editor.actor, id, v, StoryChanges { lead: Some("Five states agree.".into()), ..StoryChanges::default() }).await.expect("edit");
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        assert_eq!(events(&app, early).await.last(), Some(&(id, "update".to_string())));
        assert!(events(&app, plain).await.is_empty());

        // Readers see nothing of it.
        assert_not_public(&app, id, "released").await;

        // At its time it is published as usual, for everyone.
        assert_eq!(app.db.store.publish_due(due + Duration::seconds(1)).await.expect("tick"), vec![id]);
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        assert_eq!(events(&app, plain).await, [(id, "publish".to_string())]);
        assert_eq!(events(&app, early).await.last(), Some(&(id, "publish".to_string())));
        let item = json(&pull(&app, &item_uri, &plain_key).await);
        assert_eq!(item["pubstatus"], "usable");
        assert!(item.get("embargoed").is_none(), "published: no embargo any more: {item}");
        app.sync().await;
        assert_eq!(app.get(&format!("/news/{id}")).await.status, StatusCode::MOVED_PERMANENTLY);
        assert!(app.db.store.wire_release(id).await.expect("release").is_none(), "the release ended");
    }
}

backend_test! {
    async fn unscheduling_a_released_story_withdraws_it_from_those_who_got_it(db) {
        let app = TestApp::new(db).await;
        // The seed's publish is dispatched before the subscribers exist (marked, no event).
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        let editor = app.person("Ed Itor", Role::Editor).await;
        let (plain, plain_key, _) = subscriber(&app, "plain", false).await;
        let (early, early_key, _) = subscriber(&app, "early", true).await;
        let id = scheduled(&app, &editor, Utc::now() + Duration::hours(1)).await;
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");

        // The back office: the editor's button, refused to reporters.
        let reporter = app.person("Rita Porter", Role::Reporter).await;
        let page = app.get_as(&editor, &format!("/admin/stories/{id}/edit")).await;
        assert!(page.body.contains(&format!("action=\"/admin/stories/{id}/release\"")), "the Release button");
        assert_eq!(app.post_as(&reporter, &format!("/admin/stories/{id}/release"), &[]).await.status, StatusCode::FORBIDDEN);
        let a = app.post_as(&editor, &format!("/admin/stories/{id}/release"), &[]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let page = app.get_as(&editor, &format!("/admin/stories/{id}/edit?saved=released")).await;
        assert!(page.body.contains("Released to the wire on"), "{}", page.body);
        assert!(!page.body.contains(&format!("action=\"/admin/stories/{id}/release\"")), "no second release");
        assert_eq!(pull(&app, &format!("/api/ninjs/v2/items/{id}"), &early_key).await.status, StatusCode::OK);
        assert_not_public(&app, id, "released from the back office").await;

        // Unscheduled: `early` is told it is withheld, `plain` never heard of it.
        let version = app.db.store.story(id).await.expect("story").expect("exists").version;
        let req = ActRequest { action: Action::Unschedule, version, scheduled_at: None, public_note: None, reason: None, changes: None };
        desk::act(&app.state, &editor.actor, id, req).await.expect("unscheduled");
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        assert_eq!(events(&app, early).await, [(id, "publish".to_string()), (id, "unpublish".to_string())]);
        assert!(events(&app, plain).await.is_empty());
        let due_rows = app.db.store.due_deliveries(Utc::now() + Duration::seconds(5), 50).await.expect("due");
        assert!(due_rows.iter().all(|d| d.news_id != id || d.kind != "unpublish" || d.payload.contains("\"withheld\"")));
        assert_eq!(pull(&app, &format!("/api/ninjs/v2/items/{id}"), &early_key).await.status, StatusCode::NOT_FOUND);
        assert_eq!(pull(&app, &format!("/api/ninjs/v2/items/{id}"), &plain_key).await.status, StatusCode::NOT_FOUND);

        // Scheduled again, it is not on the wire until released again.
        let version = app.db.store.story(id).await.expect("story").expect("exists").version;
        let req = ActRequest {
            action: Action::Schedule,
            version,
            scheduled_at: Some(ScheduleAt::Rfc3339((Utc::now() + Duration::hours(2)).to_rfc3339())),
            public_note: None,
            reason: None,
            changes: None,
        };
        desk::act(&app.state, &editor.actor, id, req).await.expect("scheduled again");
        assert_eq!(pull(&app, &format!("/api/ninjs/v2/items/{id}"), &early_key).await.status, StatusCode::NOT_FOUND);
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        assert_eq!(events(&app, early).await.len(), 2, "nothing new for a schedule without release");
    }
}
