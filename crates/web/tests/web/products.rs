//! Subscriber products on SQLite and PostgreSQL: a product (editions,
//! sections, Media Topics with their narrower topics, minimum urgency,
//! genres) limits what its subscribers take, alike on ninjs and NewsML-G2
//! pulls (lists and items) and webhooks; a subscriber without one takes
//! everything; admins edit products and assignments in the back office, and
//! unknown codes are refused by name.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use newsdesk_domain::agency::Agency;
use newsdesk_domain::roles::Role;
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::{AuditEntry, NewSubscriber, ProductFilters, SectionRef, StoryInput, backend_test};
use newsdesk_web::wire::access::{FiltersInput, check_filters};
use serde_json::Value;

use crate::common;
use common::{Answer, TestApp, seed_time};

fn system(action: &str) -> AuditEntry {
    AuditEntry::system("test", action, "subscriber", "", "")
}

/// A published story with agency metadata; returns its News ID.
async fn story(app: &TestApp, section: &str, headline: &str, urgency: i64, subjects: &[&str], genres: &[&str]) -> i64 {
    let agency = Agency {
        urgency,
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        genres: genres.iter().map(|s| s.to_string()).collect(),
        ..Agency::default()
    };
    app.db
        .store
        .save_story(&StoryInput {
            news_id: None,
            edition_id: app.edition_id,
            section: SectionRef::Names(vec![section.into()]),
            slug: None,
            headline: headline.into(),
            lead: "A lead.".into(),
            body_source: "A body.".into(),
            body_format: BodyFormat::Markdown,
            photo_id: None,
            gallery_id: None,
            status: StoryStatus::Published,
            published_at: Some(seed_time() + chrono::Duration::minutes(urgency)),
            tags: vec![],
            authors: vec![],
            agency: Some(agency),
            actor: "test".into(),
        })
        .await
        .expect("story")
        .0
}

/// A subscriber with a key and a webhook, and `product` (by id) if any.
async fn subscriber(app: &TestApp, name: &str, product: Option<i64>) -> (i64, String, i64) {
    let store = &app.db.store;
    let s = store
        .add_subscriber(
            &NewSubscriber { name: name.into(), sections: vec![], editions: vec![], rate_limit: 1000 },
            &system("subscriber.create"),
        )
        .await
        .expect("subscriber");
    store.set_subscriber_access(s.id, product, false, &system("subscriber.access")).await.expect("access");
    let key = store.create_api_key(s.id, &system("subscriber.key")).await.expect("key").0;
    let hook = store
        .add_webhook(s.id, &format!("http://127.0.0.1:9/{name}"), &system("subscriber.webhook"))
        .await
        .expect("hook");
    (s.id, key, hook.id)
}

async fn pull(app: &TestApp, uri: &str, key: &str) -> Answer {
    app.request(
        Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).expect("request"),
    )
    .await
}

fn listed(a: &Answer) -> Vec<i64> {
    let page: Value = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("JSON ({e}): {}", a.body));
    let mut ids: Vec<i64> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["altids"][0]["value"].as_str().expect("news id").parse().expect("number"))
        .collect();
    ids.sort_unstable();
    ids
}

async fn product(app: &TestApp, name: &str, input: FiltersInput) -> i64 {
    let filters = check_filters(&app.db.store, &input).await.expect("store").expect("valid filters");
    app.db.store.save_product(None, name, &filters, &system("product.create")).await.expect("product").id
}

backend_test! {
    async fn a_product_limits_pulls_and_webhooks_alike(db) {
        let app = TestApp::new(db).await;
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        // Economy (04000000) with a narrower topic of it, and one outside it.
        let narrower = newsdesk_domain::mediatopic::all()
            .iter()
            .find(|t| t.parent.as_deref() == Some("medtop:04000000") && !t.retired)
            .expect("a narrower topic of economy")
            .qcode
            .clone();
        let urgent_economy = story(&app, "World", "Markets fall", 2, &[&narrower], &["genre:Current"]).await;
        let slow_economy = story(&app, "World", "Markets drift", 5, &["medtop:04000000"], &["genre:Analysis"]).await;
        let urgent_sport = story(&app, "Sport", "Final won", 1, &["medtop:15000000"], &[]).await;
        let world_analysis = story(&app, "World", "Why the talks failed", 4, &[], &["genre:Analysis"]).await;
        let economy = product(&app, "Economy flash", FiltersInput {
            subjects: "medtop:04000000".into(),
            min_urgency: "3".into(),
            ..FiltersInput::default()
        }).await;
        let analysis = product(&app, "World analysis", FiltersInput {
            sections: "world".into(),
            genres: "Analysis".into(),
            editions: "en".into(),
            ..FiltersInput::default()
        }).await;
        let (econ_sub, econ_key, _) = subscriber(&app, "econ", Some(economy)).await;
        let (world_sub, world_key, _) = subscriber(&app, "world", Some(analysis)).await;
        let (all_sub, all_key, _) = subscriber(&app, "everything", None).await;


        // Pull, ninjs: lists and items.
        let mut seed_and_all = vec![84427, urgent_economy, slow_economy, urgent_sport, world_analysis];
        seed_and_all.sort_unstable();
        assert_eq!(listed(&pull(&app, "/api/ninjs/v2/items", &all_key).await), seed_and_all, "no product: everything");
        assert_eq!(listed(&pull(&app, "/api/ninjs/v2/items", &econ_key).await), [urgent_economy], "economy, urgency 1-3, narrower topics too");
        let mut world = vec![slow_economy, world_analysis];
        world.sort_unstable();
        assert_eq!(listed(&pull(&app, "/api/ninjs/v2/items", &world_key).await), world);
        // A page filled past refused stories: limit 1 still finds the one story, then ends.
        let one = pull(&app, "/api/ninjs/v2/items?limit=1", &econ_key).await;
        assert_eq!(listed(&one), [urgent_economy]);
        assert!(serde_json::from_str::<Value>(&one.body).expect("JSON")["next"].is_null(), "{}", one.body);
        for (key, id, status) in [
            (&econ_key, urgent_economy, StatusCode::OK),
            (&econ_key, slow_economy, StatusCode::NOT_FOUND),
            (&econ_key, urgent_sport, StatusCode::NOT_FOUND),
            (&econ_key, 84427, StatusCode::NOT_FOUND),
            (&world_key, world_analysis, StatusCode::OK),
            (&world_key, urgent_economy, StatusCode::NOT_FOUND),
            (&all_key, urgent_sport, StatusCode::OK),
        ] {
            assert_eq!(pull(&app, &format!("/api/ninjs/v2/items/{id}"), key).await.status, status, "ninjs item {id}");
            assert_eq!(pull(&app, &format!("/api/newsml-g2/items/{id}"), key).await.status, status, "NewsML-G2 item {id}");
        }
        // Pull, NewsML-G2 list.
        let xml = pull(&app, "/api/newsml-g2/items", &econ_key).await.body;
        assert!(xml.contains("Markets fall") && !xml.contains("Markets drift") && !xml.contains("Final won"), "{xml}");

        // Webhooks: the same judgement.
        newsdesk_web::webhooks::dispatch_once(&app.state).await.expect("dispatch");
        let got = |sub: i64| {
            let store = app.db.store.clone();
            async move {
                let mut ids: Vec<i64> = store.outbox_of(sub, 100).await.expect("outbox").into_iter().map(|e| e.news_id).collect();
                ids.sort_unstable();
                ids
            }
        };
        assert_eq!(got(econ_sub).await, [urgent_economy]);
        assert_eq!(got(world_sub).await, world);
        let mut four = vec![urgent_economy, slow_economy, urgent_sport, world_analysis];
        four.sort_unstable();
        assert_eq!(got(all_sub).await, four);

        // A product edited applies to the next request: urgency up to 5 now.
        let mut filters = app.db.store.product(economy).await.expect("read").expect("product").filters;
        filters.min_urgency = Some(5);
        app.db.store.save_product(Some(economy), "Economy flash", &filters, &system("product.update")).await.expect("update");
        let mut both = vec![urgent_economy, slow_economy];
        both.sort_unstable();
        assert_eq!(listed(&pull(&app, "/api/ninjs/v2/items", &econ_key).await), both);
    }
}

backend_test! {
    async fn admins_edit_products_and_bad_codes_are_refused_by_name(db) {
        let app = TestApp::new(db).await;
        let admin = app.person("Ada Min", Role::Admin).await;
        let editor = app.person("Ed Itor", Role::Editor).await;
        let form = [("name", "Iran desk"), ("sections", "iran"), ("subjects", "medtop:11000000"), ("min_urgency", "4"), ("genres", "genre:Current"), ("editions", "en")];
        assert_eq!(app.post_as(&editor, "/admin/wire-products", &form).await.status, StatusCode::FORBIDDEN);
        let a = app.post_as(&admin, "/admin/wire-products", &form).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let p = app.db.store.product_by_name("Iran desk").await.expect("read").expect("created");
        assert_eq!(p.filters, ProductFilters {
            editions: vec!["en".into()],
            sections: vec!["iran".into()],
            subjects: vec!["medtop:11000000".into()],
            min_urgency: Some(4),
            genres: vec!["genre:Current".into()],
        });
        for (field, value, says) in [
            ("sections", "nowhere", "There is no section “nowhere”"),
            ("editions", "xx", "There is no edition “xx”"),
            ("subjects", "medtop:99999999", "is not an IPTC Media Topic"),
            ("genres", "Gossip", "“Gossip” is not an IPTC genre"),
            ("min_urgency", "9", "minimum urgency must be a whole number from 1"),
        ] {
            let a = app.post_as(&admin, "/admin/wire-products", &[("name", "Bad"), (field, value)]).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
            assert!(a.body.contains(says), "{field}: {}", a.body);
        }
        assert!(app.db.store.product_by_name("Bad").await.expect("read").is_none(), "nothing saved");
        let a = app.post_as(&admin, "/admin/wire-products", &[("name", "Iran desk")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "a taken name");

        // Assign it (and embargoed copy) on the subscribers page; the page shows it.
        let s = app.db.store.add_subscriber(
            &NewSubscriber { name: "Gazette".into(), sections: vec![], editions: vec![], rate_limit: 60 },
            &system("subscriber.create"),
        ).await.expect("subscriber");
        let pid = p.id.to_string();
        let a = app.post_as(&admin, &format!("/admin/subscribers/{}/access", s.id), &[("product", &pid), ("embargo", "on")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(a.headers["location"], "/admin/subscribers?notice=subscriber");
        let s2 = app.db.store.subscriber_by_name("Gazette").await.expect("read").expect("exists");
        assert_eq!((s2.product_id, s2.embargo), (Some(p.id), true));
        let page = app.get_as(&admin, "/admin/subscribers").await;
        assert!(page.body.contains("product <span dir=\"auto\">Iran desk</span>") && page.body.contains("embargoed copy"));
        let a = app.post_as(&admin, &format!("/admin/subscribers/{}/access", s.id), &[("product", "999999")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        let a = app.post_as(&admin, &format!("/admin/subscribers/{}/access", s.id), &[("product", "")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        let s3 = app.db.store.subscriber_by_name("Gazette").await.expect("read").expect("exists");
        assert_eq!((s3.product_id, s3.embargo), (None, false), "no product, no embargo: back to full access");
        let log = app.db.store.audit_log(Some(("subscriber", &s.id.to_string())), 10).await.expect("audit");
        assert!(log.iter().filter(|e| e.action == "subscriber.access").count() >= 2);
    }
}
