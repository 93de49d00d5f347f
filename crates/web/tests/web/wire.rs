//! The ninjs wire through the real router, and webhook dispatch, on SQLite
//! and on PostgreSQL.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::StoryStatus;
use newsdesk_storage::{NewSubscriber, backend_test};
use serde_json::Value;

use crate::common;

use common::{Answer, SEED_HEADLINE, TestApp};

async fn key(app: &TestApp, name: &str, sections: &[&str], rate_limit: i64) -> String {
    let s = app
        .db
        .store
        .add_subscriber(
            &NewSubscriber {
                name: name.into(),
                sections: sections.iter().map(|s| s.to_string()).collect(),
                editions: vec![],
                rate_limit,
            },
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

async fn get(app: &TestApp, uri: &str, key: &str) -> Answer {
    app.request(
        Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).expect("request"),
    )
    .await
}

fn json(a: &Answer) -> Value {
    serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("JSON ({e}): {}", a.body))
}

fn error_code(a: &Answer) -> String {
    json(a)["error"]["code"].as_str().expect("error code").to_string()
}

/// The News IDs of a page, as listed.
fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["altids"][0]["value"].as_str().expect("news id").parse().expect("number"))
        .collect()
}

/// Path and query of an absolute `next` URL.
fn path_of(url: &str) -> String {
    url.strip_prefix("https://news.example").expect("absolute URL on the public site").to_string()
}

backend_test! {
    async fn requests_without_a_valid_key_get_401_json(db) {
        let app = TestApp::new(db).await;
        let good = key(&app, "Planet", &[], 100).await;
        let no_header = app.get("/api/ninjs/v2/items").await;
        let wrong_scheme = app
            .request(Request::get("/api/ninjs/v2/items").header(header::AUTHORIZATION, format!("Basic {good}"))
                .body(Body::empty()).expect("request"))
            .await;
        let unknown = get(&app, "/api/ninjs/v2/items/84427", "nd_0123456789").await;
        for a in [&no_header, &wrong_scheme, &unknown] {
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
            assert!(a.content_type().starts_with("application/json"));
            assert!(a.headers[header::WWW_AUTHENTICATE].to_str().expect("ascii").starts_with("Bearer"));
            assert_eq!(error_code(a), "unauthorized");
        }
        assert_eq!(get(&app, "/api/ninjs/v2/items", &good).await.status, StatusCode::OK);
        app.db.store.revoke_subscriber("Planet", &newsdesk_storage::AuditEntry::system("test", "subscriber.revoke", "subscriber", "", "")).await.expect("revoke");
        assert_eq!(get(&app, "/api/ninjs/v2/items", &good).await.status, StatusCode::UNAUTHORIZED);
    }
}

backend_test! {
    async fn over_the_rate_limit_answers_429_with_retry_after(db) {
        let app = TestApp::new(db).await;
        let k = key(&app, "Busy", &[], 2).await;
        // Five requests span at most two minutes, so one minute sees three: one is refused.
        let mut limited = None;
        for _ in 0..5 {
            let a = get(&app, "/api/ninjs/v2/items", &k).await;
            if a.status == StatusCode::TOO_MANY_REQUESTS {
                limited = Some(a);
                break;
            }
            assert_eq!(a.status, StatusCode::OK);
        }
        let a = limited.expect("a request over the limit is refused");
        let retry: i64 = a.headers[header::RETRY_AFTER].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(error_code(&a), "rate_limited");
        let s = app.db.store.subscriber_by_name("Busy").await.expect("load").expect("exists");
        let key_id = app.db.store.api_keys(s.id).await.expect("keys")[0].id;
        let used: i64 = app.db.store.api_usage(key_id, 5).await.expect("usage").iter().map(|(_, n)| n).sum();
        assert!(used >= 3, "usage recorded: {used}");
    }
}

backend_test! {
    async fn items_are_newest_first_with_cursor_paging(db) {
        let app = TestApp::new(db).await;
        let mut added = Vec::new();
        for i in 0..5 {
            added.push(app.add_story(&["World"], &format!("World story {i}"), 10 + i).await);
        }
        let k = key(&app, "Pager", &[], 100).await;
        let first = get(&app, "/api/ninjs/v2/items?limit=2", &k).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        let mut page = json(&first);
        let mut seen = ids(&page);
        let link = first.headers[header::LINK].to_str().expect("ascii").to_string();
        let next = page["next"].as_str().expect("next link").to_string();
        assert_eq!(link, format!("<{next}>; rel=\"next\""));
        while let Some(next) = page["next"].as_str() {
            let a = get(&app, &path_of(next), &k).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            page = json(&a);
            seen.extend(ids(&page));
        }
        let mut want: Vec<i64> = added.iter().rev().copied().collect();
        want.push(84427);
        assert_eq!(seen, want, "newest first, each once");

        let one = json(&get(&app, "/api/ninjs/v2/items", &k).await);
        assert_eq!(ids(&one).len(), 6);
        assert!(one["next"].is_null());
    }
}

backend_test! {
    async fn an_item_maps_the_story_to_ninjs(db) {
        let app = TestApp::new(db).await;
        let k = key(&app, "Reader", &[], 100).await;
        let a = get(&app, "/api/ninjs/v2/items/84427", &k).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(a.content_type().starts_with("application/json"));
        let item = json(&a);
        assert_eq!(item["uri"], "https://news.example/news/84427");
        assert_eq!(item["pubstatus"], "usable");
        assert_eq!(item["language"], "en");
        assert_eq!(item["headlines"][0]["value"], SEED_HEADLINE);
        assert_eq!(item["firstcreated"], "2023-11-15T11:07:00Z");
        assert_eq!(item["versioncreated"], "2023-11-15T11:07:00Z");
        assert_eq!(item["by"], "Jane Reporter");
        assert_eq!(item["copyrightholder"], "Test Agency");
        assert!(item["usageterms"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(item["bodies"][0]["value"].as_str().expect("body").starts_with("<p>"));
        assert!(item["descriptions"][0]["value"].as_str().expect("lead").len() > 20);
        let subjects: Vec<&str> = item["subjects"].as_array().expect("subjects").iter()
            .map(|s| s["uri"].as_str().expect("uri")).collect();
        assert_eq!(subjects, ["https://news.example/section/iran", "https://news.example/tag/defense"]);

        assert_eq!(get(&app, "/api/ninjs/v2/items/99999", &k).await.status, StatusCode::NOT_FOUND);
        let bad = get(&app, "/api/ninjs/v2/items/abc", &k).await;
        assert_eq!((bad.status, error_code(&bad).as_str()), (StatusCode::BAD_REQUEST, "bad_request"));
    }
}

backend_test! {
    async fn filters_and_bad_parameters(db) {
        let app = TestApp::new(db).await;
        let world = app.add_story(&["World", "Asia"], "Asia story", 10).await;
        let _sport = app.add_story(&["Sport"], "Sport story", 20).await;
        let k = key(&app, "Filter", &[], 100).await;
        let page = json(&get(&app, "/api/ninjs/v2/items?section=world", &k).await);
        assert_eq!(ids(&page), [world], "a section lists its subsections");
        let page = json(&get(&app, "/api/ninjs/v2/items?language=en&limit=100", &k).await);
        assert_eq!(ids(&page).len(), 3);
        // `since` is a version time: the seed (2023-11-15 11:07 UTC) is older than 11:15.
        let page = json(&get(&app, "/api/ninjs/v2/items?since=2023-11-15T14:45:00%2B03:30", &k).await);
        assert_eq!(ids(&page).len(), 2);
        for (query, what) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=ten", "limit"),
            ("since=yesterday", "since"),
            ("cursor=nonsense", "cursor"),
            ("section=nowhere", "section"),
            ("language=xx", "language"),
            ("colour=blue", "colour"),
        ] {
            let a = get(&app, &format!("/api/ninjs/v2/items?{query}"), &k).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{query}: {}", a.body);
            assert_eq!(error_code(&a), "bad_request");
            let message = json(&a)["error"]["message"].as_str().expect("message").to_string();
            assert!(message.contains(what), "{query}: {message}");
        }
    }
}

backend_test! {
    async fn subscribers_see_only_their_sections(db) {
        let app = TestApp::new(db).await;
        let world = app.add_story(&["World"], "World story", 10).await;
        let k = key(&app, "World only", &["world"], 100).await;
        let page = json(&get(&app, "/api/ninjs/v2/items", &k).await);
        assert_eq!(ids(&page), [world]);
        assert_eq!(get(&app, &format!("/api/ninjs/v2/items/{world}"), &k).await.status, StatusCode::OK);
        let hidden = get(&app, "/api/ninjs/v2/items/84427", &k).await;
        assert_eq!((hidden.status, error_code(&hidden).as_str()), (StatusCode::NOT_FOUND, "not_found"));
        let page = json(&get(&app, "/api/ninjs/v2/items?section=iran", &k).await);
        assert!(ids(&page).is_empty());
    }
}

backend_test! {
    async fn a_killed_story_is_retracted_on_the_wire(db) {
        let app = TestApp::new(db).await;
        let other = app.add_story(&["World"], "Stays", 10).await;
        let k = key(&app, "Retract", &[], 100).await;
        let before: DateTime<Utc> = Utc::now() - Duration::seconds(2);
        assert!(app.db.store.set_story_status(84427, StoryStatus::Killed).await.expect("kill"));

        let page = json(&get(&app, "/api/ninjs/v2/items", &k).await);
        assert_eq!(ids(&page), [other], "without since: usable stories only");
        let since = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let page = json(&get(&app, &format!("/api/ninjs/v2/items?since={since}"), &k).await);
        assert_eq!(ids(&page), [84427], "with since: the retraction");
        assert_eq!(page["items"][0]["pubstatus"], "canceled");
        let item = json(&get(&app, "/api/ninjs/v2/items/84427", &k).await);
        assert_eq!(item["pubstatus"], "canceled");
        assert_eq!(item["version"], "2");
        assert_eq!(item["representationtype"], "partial");
        assert!(item.get("bodies").is_none() && item.get("headlines").is_none(), "no content in a retraction: {item}");

        app.db.store.set_story_status(other, StoryStatus::Unpublished).await.expect("unpublish");
        let item = json(&get(&app, &format!("/api/ninjs/v2/items/{other}"), &k).await);
        assert_eq!(item["pubstatus"], "withheld");
    }
}

backend_test! {
    async fn changes_become_webhook_events_for_matching_subscribers(db) {
        let app = TestApp::new(db).await;
        let store = &app.db.store;
        // The seed was published before any webhook: no event (it would reach
        // no one), but its mark moved on, so its change below is a correction.
        assert_eq!(newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch"), 0);
        let all = store.add_subscriber(&NewSubscriber {
            name: "All".into(), sections: vec![], editions: vec![], rate_limit: 60,
        }, &newsdesk_storage::AuditEntry::system("test", "subscriber.create", "subscriber", "", "")).await.expect("subscriber");
        let world_only = store.add_subscriber(&NewSubscriber {
            name: "World".into(), sections: vec!["world".into()], editions: vec![], rate_limit: 60,
        }, &newsdesk_storage::AuditEntry::system("test", "subscriber.create", "subscriber", "", "")).await.expect("subscriber");
        let h_all = store.add_webhook(all.id, "http://127.0.0.1:9/all", &newsdesk_storage::AuditEntry::system("test", "subscriber.webhook", "subscriber", "", "")).await.expect("hook").id;
        let h_world = store.add_webhook(world_only.id, "http://127.0.0.1:9/world", &newsdesk_storage::AuditEntry::system("test", "subscriber.webhook", "subscriber", "", "")).await.expect("hook").id;

        let world = app.add_story(&["World"], "World story", 10).await;
        store.mark_updated(84427, Utc::now()).await.expect("correction");
        assert_eq!(newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch"), 2);
        assert!(store.set_story_status(world, StoryStatus::Killed).await.expect("kill"));
        assert_eq!(newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch"), 1);
        // Nothing new: nothing sent.
        assert_eq!(newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch"), 0);

        let log = store.outbox_of(all.id, 10).await.expect("log");
        let mut got: Vec<(i64, String)> = log.iter().map(|e| (e.news_id, e.kind.clone())).collect();
        got.reverse();
        assert_eq!(
            got,
[(world, "publish".into()), (84427, "correction".into()), (world, "kill".into())]
        );
        assert!(log.iter().all(|e| e.webhook_id == h_all));
        let log = store.outbox_of(world_only.id, 10).await.expect("log");
        let got: Vec<(i64, String, i64)> = log.iter().map(|e| (e.news_id, e.kind.clone(), e.webhook_id)).collect();
        assert_eq!(got, [(world, "kill".into(), h_world), (world, "publish".into(), h_world)]);

        // The payload is the envelope around the ninjs item.
        let due = store.due_deliveries(Utc::now() + Duration::seconds(5), 10).await.expect("due");
        let d = due.iter().find(|d| d.webhook_id == h_all && d.news_id == world).expect("publish of world");
        let body: Value = serde_json::from_str(&d.payload).expect("payload");
        assert_eq!(body["id"], d.event_id.as_str());
        assert_eq!((body["type"].as_str(), body["news_id"].as_i64()), (Some("publish"), Some(world)));
        assert_eq!(body["item"]["pubstatus"], "usable");
        assert!(body["occurred_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
}
