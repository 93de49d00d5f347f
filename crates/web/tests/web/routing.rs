//! Routing rules, on SQLite and on PostgreSQL: admins write them in the back
//! office (others are refused, bad input answers 422 with why); IPTC's own
//! example files (and a NITF story), stored as every ingest path stores them, go to the desk
//! of the first matching rule, and a rule that fetches makes a draft on the
//! desk (once, as `routing`, with the item's provenance); a newer version of
//! a routed item is not routed again.

use axum::http::StatusCode;
use newsdesk_domain::ingest::{self, IncomingItem};
use newsdesk_domain::roles::Role;
use newsdesk_storage::{IngestFilter, backend_test};
use newsdesk_web::desk::routing::auto_fetch_now;

use crate::common;
use common::{TestApp, main_of};

const SOURCE: &str = "iptc-examples";
const FILES: [&[u8]; 4] = [
    include_bytes!("../../../newsdesk/tests/fixtures/ingest/iptc/LISTING_1_A_NewsML-G2_News_Item.xml"),
    include_bytes!("../../../newsdesk/tests/fixtures/ingest/iptc/LISTING_2_NewsML-G2_Text_Document.xml"),
    include_bytes!("../../../newsdesk/tests/fixtures/ingest/nitf.xml"),
    include_bytes!(
        "../../../newsdesk/tests/fixtures/ingest/iptc/LISTING_26_Embedded_photo_metadata_fields_mapped_to_NewsML-G2.xml"
    ),
];
const FED_1: &str = "urn:newsml:acmenews.com:20161018:US-FINANCE-FED";
const FED_2: &str = "urn:newsml:acmenews.com:20161121:US-FINANCE-FED";
const PHOTO: &str = "tag:acmenews.com,2008:WORLD-NEWS:USA20081208098658";
const STORM: &str = "urn:example:wire:storm-2026-001";
const NODE: &str = "test-node";

fn items(bytes: &[u8]) -> Vec<IncomingItem> {
    ingest::parse(bytes).expect("IPTC's example parses").items.into_iter().map(|i| i.expect("a news item")).collect()
}

async fn desk(app: &TestApp, name: &str) -> i64 {
    let audit = newsdesk_storage::AuditEntry::system("test", "desk.create", "desk", "", "");
    app.db.store.create_desk(name, &["Incoming", "Working"], chrono::Utc::now(), &audit).await.expect("desk").id
}

backend_test! {
    async fn only_admins_write_rules_and_bad_ones_are_refused_with_why(db) {
        let app = TestApp::new(db).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let eddie = app.person("Eddie Editor", Role::Editor).await;
        let ada = app.person("Ada Admin", Role::Admin).await;
        let world = desk(&app, "World").await.to_string();
        let rule = [("source", "afp"), ("subjects", "medtop:11000000"), ("keywords", "Tehran, nuclear talks"), ("max_urgency", "3"), ("desk", world.as_str())];
        for p in [&rita, &eddie] {
            assert_eq!(app.get_as(p, "/admin/routing").await.status, StatusCode::FORBIDDEN);
            assert_eq!(app.post_as(p, "/admin/routing", &rule).await.status, StatusCode::FORBIDDEN);
        }
        assert!(app.db.store.routing_rules().await.expect("rules").is_empty());
        // An admin's form without the CSRF token is refused too.
        let fields = serde_urlencoded::to_string(rule).expect("form");
        let forged = axum::http::Request::post("/admin/routing")
            .header(axum::http::header::COOKIE, &ada.cookie)
            .header(axum::http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(fields))
            .expect("request");
        assert_eq!(app.request(forged).await.status, StatusCode::FORBIDDEN);
        assert!(app.db.store.routing_rules().await.expect("rules").is_empty());

        // Unknown desk, unknown or retired topic, fetching without a section: 422 saying so, nothing saved.
        let bad = [
            (vec![("desk", "999999")], "There is no desk 999999"),
            (vec![("desk", world.as_str()), ("subjects", "medtop:99999999")], "medtop:99999999"),
            (vec![("desk", world.as_str()), ("max_urgency", "x")], "must be a number"),
            (vec![("desk", world.as_str()), ("auto_fetch", "1")], "needs their section"),
            (vec![("desk", "")], "Choose the desk"),
        ];
        for (form, why) in bad {
            let a = app.post_as(&ada, "/admin/routing", &form).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {}", a.body);
            assert!(main_of(&a.body).contains(why), "{form:?}: {}", main_of(&a.body));
        }
        assert!(app.db.store.routing_rules().await.expect("rules").is_empty());

        // A good rule, shown in the list with its conditions, audited.
        let a = app.post_as(&ada, "/admin/routing", &rule).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(a.headers["location"], "/admin/routing?notice=routing", "the list says the rule was saved");
        assert!(app.get_as(&ada, "/admin/routing?notice=routing").await.body.contains("Routing rules saved."));
        let rules = app.db.store.routing_rules().await.expect("rules");
        assert_eq!(rules.len(), 1);
        let r = &rules[0];
        assert_eq!(r.conditions.keywords, vec!["Tehran".to_string(), "nuclear talks".to_string()]);
        assert_eq!((r.conditions.max_urgency, r.auto_fetch, r.desk_name.as_str()), (Some(3), false, "World"));
        let edit = app.get_as(&ada, &format!("/admin/routing/{}", r.id)).await;
        assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
        assert!(main_of(&edit.body).contains("nuclear talks") && main_of(&edit.body).contains("value=\"3\" selected"), "{}", edit.body);
        let list = app.get_as(&ada, "/admin/routing").await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(main_of(&list.body).contains("medtop:11000000") && main_of(&list.body).contains("politics"), "{}", list.body);
        let log = app.db.store.audit_log(Some(("routing_rule", &r.id.to_string())), 10).await.expect("audit");
        assert!(log.iter().any(|e| e.action == "routing.create" && e.actor == ada.actor.email), "{log:?}");

        // Editing checks the same way; a second rule, moved above the first, then deleted.
        let uri = format!("/admin/routing/{}", r.id);
        let a = app.post_as(&ada, &uri, &[("action", "save"), ("desk", world.as_str()), ("subjects", "nope")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.post_as(&rita, &uri, &[("action", "delete")]).await.status, StatusCode::FORBIDDEN);
        let a = app.post_as(&ada, "/admin/routing", &[("desk", world.as_str()), ("max_urgency", "1")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        let second = app.db.store.routing_rules().await.expect("rules")[1].id;
        let a = app.post_as(&ada, &format!("/admin/routing/{second}"), &[("action", "up")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        let order: Vec<i64> = app.db.store.routing_rules().await.expect("rules").iter().map(|r| r.id).collect();
        assert_eq!(order, vec![second, r.id]);
        let a = app.post_as(&ada, &format!("/admin/routing/{second}"), &[("action", "delete")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert_eq!(app.db.store.routing_rules().await.expect("rules").len(), 1);
        assert_eq!(app.get_as(&ada, &format!("/admin/routing/{second}")).await.status, StatusCode::NOT_FOUND);
    }
}

backend_test! {
    async fn iptc_examples_go_to_the_first_matching_desk_and_fetching_rules_make_drafts(db) {
        let app = TestApp::new(db).await;
        let ada = app.person("Ada Admin", Role::Admin).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let economy = desk(&app, "Economy").await;
        let weather = desk(&app, "Weather").await;
        let pictures = desk(&app, "Pictures").await;
        let seed = app.db.store.story(84427).await.expect("read").expect("seed");
        let section = seed.section_id.to_string();
        let (economy_s, weather_s, pictures_s) = (economy.to_string(), weather.to_string(), pictures.to_string());
        // Economy takes IPTC's Fed stories (medtop:04000000, economy) and makes drafts;
        // Weather takes the storm story (NITF, urgency 2) by a keyword before Pictures, which takes
        // the rest at urgency 4 or more urgent: the first matching rule wins.
        for form in [
            vec![("source", SOURCE), ("subjects", "medtop:04000000"), ("desk", economy_s.as_str()), ("auto_fetch", "1"), ("section", section.as_str())],
            vec![("keywords", "hurricane, FLOODS"), ("desk", weather_s.as_str())],
            vec![("max_urgency", "4"), ("desk", pictures_s.as_str())],
            vec![("desk", economy_s.as_str())],
        ] {
            let a = app.post_as(&ada, "/admin/routing", &form).await;
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{form:?}: {}", a.body);
        }

        let path = app.db.store.section_path(seed.section_id).await.expect("path").expect("section");
        let list = app.get_as(&ada, "/admin/routing").await;
        assert!(main_of(&list.body).contains(&format!("made at once in {path}")), "{}", main_of(&list.body));

        for file in FILES {
            app.db.store.ingest_items(SOURCE, &items(file)).await.expect("ingest");
        }
        let store = app.db.store.clone();
        let route = |guid: String| {
            let store = store.clone();
            async move { store.ingest_route(SOURCE, &guid).await.expect("route").expect("routed") }
        };
        assert_eq!(route(FED_1.into()).await.desk_id, economy);
        assert_eq!(route(FED_2.into()).await.desk_id, economy);
        assert_eq!(route(PHOTO.into()).await.desk_id, pictures, "the photo has urgency 4 and no economy topic");
        assert_eq!(route(STORM.into()).await.desk_id, weather);
        assert_eq!(route(FED_1.into()).await.fetch, "pending");

        // The desk filter of the ingest list shows what went where.
        let economy_items = app.db.store.ingest_list(&IngestFilter { desk_id: Some(economy), ..IngestFilter::default() }, 0, 50).await.expect("list");
        assert_eq!(economy_items.len(), 2);
        let page = app.get_as(&rita, &format!("/admin/ingest?desk={weather}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(main_of(&page.body).contains("Storm &amp; floods") && !main_of(&page.body).contains("Fed to halt"), "{}", main_of(&page.body));
        assert_eq!(app.get_as(&rita, "/admin/ingest?desk=999999").await.status, StatusCode::BAD_REQUEST);

        // The scheduler's pass makes the two drafts, on the desk, once.
        let mut made = auto_fetch_now(&app.state, NODE).await.expect("auto fetch");
        made.sort_unstable();
        assert_eq!(made.len(), 2, "{made:?}");
        assert!(auto_fetch_now(&app.state, NODE).await.expect("again").is_empty(), "each route is fetched once");
        for id in &made {
            let story = app.db.store.story(*id).await.expect("read").expect("draft");
            assert_eq!(story.status, newsdesk_domain::StoryStatus::Draft);
            assert!(story.headline.contains("Fed to halt QE"), "{}", story.headline);
            assert_eq!(app.db.store.story_place(*id).await.expect("place").expect("on a desk").desk_id, economy);
            let source = app.db.store.story_source(*id).await.expect("source").expect("provenance");
            assert_eq!(source.source, SOURCE);
            let log = app.db.store.audit_log(Some(("story", &id.to_string())), 10).await.expect("audit");
            assert!(log.iter().any(|e| e.action == "story.create" && e.actor == "routing" && e.user_id.is_none()), "{log:?}");
        }
        let fed_1 = route(FED_1.into()).await;
        assert_eq!(fed_1.fetch, "done");
        assert!(made.contains(&fed_1.news_id.expect("draft")));
        assert_eq!(route(PHOTO.into()).await.fetch, "none");
        let item_page = app.get_as(&rita, &format!(
            "/admin/ingest/item?{}",
            serde_urlencoded::to_string([("source", SOURCE), ("guid", FED_1)]).expect("query")
        )).await;
        assert!(main_of(&item_page.body).contains("made by routing"), "{}", main_of(&item_page.body));

        // Only the node holding the lease fetches; a claim left by a node that
        // stopped mid-fetch is taken up again by the next pass.
        let mut crashed = items(FILES[0]).remove(0);
        crashed.guid = format!("{FED_1}-2");
        app.db.store.ingest_items(SOURCE, std::slice::from_ref(&crashed)).await.expect("ingest");
        assert!(app.db.store.claim_auto_fetch(SOURCE, &crashed.guid).await.expect("claim"));
        assert!(auto_fetch_now(&app.state, "other-node").await.expect("pass").is_empty(), "the lease is held");
        assert_eq!(auto_fetch_now(&app.state, NODE).await.expect("pass").len(), 1);
        assert_eq!(route(crashed.guid.clone()).await.fetch, "done");

        // A newer version of a routed item is not routed again: the story is flagged instead.
        let mut v2 = items(FILES[0]).remove(0);
        v2.version += 1;
        v2.headline = "Fed halts QE".into();
        app.db.store.ingest_items(SOURCE, &[v2]).await.expect("ingest v2");
        assert!(auto_fetch_now(&app.state, NODE).await.expect("pass").is_empty());
        let flagged = app.db.store.story_source(fed_1.news_id.expect("draft")).await.expect("source").expect("provenance");
        assert!(flagged.source_updated());
        assert_eq!(route(FED_1.into()).await.routed_at, fed_1.routed_at);
    }
}
