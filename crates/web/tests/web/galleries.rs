//! Galleries through the real router, on SQLite and on PostgreSQL: the
//! viewer on story pages (lead and body, every photo reachable without
//! JavaScript), JSON-LD, ninjs associations and NewsML-G2 picture links
//! (valid against the shipped schemas), 422 for an unknown gallery, who may
//! make and change galleries, and pages that follow a gallery's change.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use newsdesk_domain::roles::Role;
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::{AuditEntry, GalleryItemInput, NewSubscriber, SectionRef, StoryInput, backend_test};
use serde_json::Value;

use crate::common;

use common::{Answer, TestApp, check_newsml, check_ninjs};

/// Two photos and a gallery of them (the second with the caption and credit of this use).
async fn gallery(app: &TestApp) -> (i64, [i64; 2]) {
    let mut ids = [0; 2];
    for (n, caption) in ["Water in the square", "Boats at dawn"].iter().enumerate() {
        let sha = format!("{:02x}", n + 10).repeat(32);
        let p = app
            .db
            .store
            .put_photo(&[n as u8; 64], "image/jpeg", 1600, 900, caption, "Library credit", &sha)
            .await
            .expect("photo");
        ids[n] = p.id;
    }
    let items = [
        GalleryItemInput { photo_id: ids[0], caption: String::new(), credit: String::new() },
        GalleryItemInput {
            photo_id: ids[1],
            caption: "قایق‌ها در سپیده‌دم".into(),
            credit: "Photo: Rescue <Team>".into(),
        },
    ];
    let g = app
        .db
        .store
        .create_gallery("Floods in the north", &items, &AuditEntry::system("test", "gallery.create", "gallery", "", ""))
        .await
        .expect("gallery");
    (g.id, ids)
}

async fn story(app: &TestApp, headline: &str, body: &str, gallery_id: Option<i64>) -> i64 {
    app.db
        .store
        .save_story(&StoryInput {
            news_id: None,
            edition_id: app.edition_id,
            section: SectionRef::Names(vec!["World".into()]),
            slug: None,
            headline: headline.into(),
            lead: "Lead.".into(),
            body_source: body.into(),
            body_format: BodyFormat::Markdown,
            photo_id: None,
            gallery_id,
            status: StoryStatus::Published,
            published_at: Some(chrono::Utc::now() - chrono::Duration::minutes(5)),
            tags: vec![],
            authors: vec!["Desk".into()],
            agency: None,
            actor: "test".into(),
        })
        .await
        .expect("story")
        .0
}

async fn page(app: &TestApp, id: i64) -> String {
    let short = app.get(&format!("/news/{id}")).await;
    let to = short.headers[header::LOCATION].to_str().expect("location").to_string();
    let a = app.get(&to).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body
}

fn json_ld(html: &str) -> Value {
    let start = html.find("application/ld+json\">").expect("json-ld") + "application/ld+json\">".len();
    let end = start + html[start..].find("</script>").expect("end");
    serde_json::from_str(&html[start..end]).expect("json")
}

async fn wire_key(app: &TestApp) -> String {
    let audit = |a: &str| AuditEntry::system("test", a, "subscriber", "", "");
    let s = app
        .db
        .store
        .add_subscriber(
            &NewSubscriber { name: "Daily".into(), sections: vec![], editions: vec![], rate_limit: 1000 },
            &audit("subscriber.create"),
        )
        .await
        .expect("subscriber");
    app.db.store.create_api_key(s.id, &audit("subscriber.key")).await.expect("key").0
}

async fn wire_get(app: &TestApp, uri: &str, key: &str) -> Answer {
    app.request(
        Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).expect("request"),
    )
    .await
}

backend_test! {
    async fn the_lead_gallery_shows_every_photo_without_javascript_and_in_json_ld(db) {
        let app = TestApp::new(db).await;
        let (g, [a, b]) = gallery(&app).await;
        let id = story(&app, "Floods", "Intro.", Some(g)).await;
        let html = page(&app, id).await;
        let viewer = format!(r#"<section class="gallery" id="gallery-lead-{g}""#);
        assert!(html.contains(&viewer), "{html}");
        // Both photos are in the page, each reachable by a thumbnail link to its slide.
        for n in 1..=2 {
            assert!(html.contains(&format!(r#"<li class="gallery-slide" id="gallery-lead-{g}-{n}">"#)), "{html}");
            assert!(html.contains(&format!(r##"<a class="gallery-thumb" href="#gallery-lead-{g}-{n}">"##)), "{html}");
        }
        // Per-use caption and credit, escaped, in their own direction; the library's where the use has none.
        assert!(html.contains(r#"<span class="gallery-caption" dir="auto">قایق‌ها در سپیده‌دم</span>"#), "{html}");
        assert!(html.contains(r#"<span class="credit" dir="auto">Photo: Rescue &lt;Team&gt;</span>"#), "{html}");
        assert!(html.contains(r#"<span class="gallery-caption" dir="auto">Water in the square</span>"#), "{html}");
        // The slides scroll from the keyboard without the script (a focusable region).
        assert!(html.contains(r#"<ol class="gallery-slides" tabindex="0" aria-label="Floods in the north">"#), "{html}");
        // The script and its words; no inline script.
        assert!(html.contains(r#"data-gallery-prev="Previous photo" data-gallery-next="Next photo" data-gallery-position="Photo {n} of {total}""#), "{html}");
        let script = html.split("<script src=\"/static/gallery.js?v=").nth(1).and_then(|r| r.split('"').next()).expect("script tag");
        let js = app.get(&format!("/static/gallery.js?v={script}")).await;
        assert_eq!(js.status, StatusCode::OK);
        assert!(js.content_type().starts_with("text/javascript"));
        assert!(js.body.contains("ArrowRight") && js.body.contains("aria-live"));
        // JSON-LD lists every photo; with no lead photo, the first gallery photo is the card image.
        let mut urls = Vec::new();
        for p in [a, b] {
            let p = app.db.store.photo(p).await.expect("read").expect("photo");
            urls.push(format!("https://news.example{}", p.path()));
        }
        let (ua, ub) = (urls[0].clone(), urls[1].clone());
        assert_eq!(json_ld(&html)["image"], serde_json::json!([ua, ub]));
        assert!(html.contains(&format!(r#"<meta property="og:image" content="{ua}">"#)), "{html}");
        // A story without galleries loads no gallery script.
        let plain = page(&app, story(&app, "Plain", "Nothing.", None).await).await;
        assert!(!plain.contains("gallery.js") && !plain.contains("data-gallery-prev"));
    }
}

backend_test! {
    async fn a_body_gallery_is_rendered_in_place_and_counted_in_json_ld(db) {
        let app = TestApp::new(db).await;
        let (g, _) = gallery(&app).await;
        let id = story(&app, "In the body", &format!("Before.\n\ngallery:{g}\n\nAfter."), None).await;
        let html = page(&app, id).await;
        let before = html.find("<p>Before.</p>").expect("before");
        let viewer = html.find(&format!(r#"id="gallery-body-{g}""#)).expect("viewer in the body");
        let after = html.find("<p>After.</p>").expect("after");
        assert!(before < viewer && viewer < after, "in place");
        assert!(html.contains("/static/gallery.js?v="), "the script comes with a body gallery");
        assert_eq!(json_ld(&html)["image"].as_array().expect("images").len(), 2);
    }
}

backend_test! {
    async fn ninjs_and_newsml_carry_every_gallery_photo(db) {
        let app = TestApp::new(db).await;
        let (g, _) = gallery(&app).await;
        let id = story(&app, "Wire gallery", "Intro.", Some(g)).await;
        let key = wire_key(&app).await;
        let a = wire_get(&app, &format!("/api/ninjs/v2/items/{id}"), &key).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let item: Value = serde_json::from_str(&a.body).expect("json");
        check_ninjs(&item);
        let assoc = item["associations"].as_array().expect("associations");
        let names: Vec<&str> = assoc.iter().map(|x| x["name"].as_str().expect("name")).collect();
        assert_eq!(names, ["gallery-1", "gallery-2"]);
        assert_eq!(assoc[1]["type"], "picture");
        let texts: Vec<(&str, &str)> = assoc[1]["descriptions"].as_array().expect("descriptions").iter()
            .map(|d| (d["role"].as_str().expect("role"), d["value"].as_str().expect("value"))).collect();
        assert_eq!(texts, [("caption", "قایق‌ها در سپیده‌دم"), ("creditline", "Photo: Rescue <Team>")]);
        assert_eq!(assoc[0]["descriptions"][0]["value"], "Water in the square", "the library's caption");

        let x = wire_get(&app, &format!("/api/newsml-g2/items/{id}"), &key).await;
        assert_eq!(x.status, StatusCode::OK, "{}", x.body);
        check_newsml(&x.body);
        assert_eq!(x.body.matches(r#"rel="irel:associatedWith""#).count(), 2, "{}", x.body);
        assert_eq!(x.body.matches(r#"<itemClass qcode="ninat:picture"/>"#).count(), 2, "{}", x.body);
        assert!(x.body.contains("Photo: Rescue &lt;Team&gt;"), "{}", x.body);
    }
}

backend_test! {
    async fn an_unknown_gallery_is_refused_with_422_on_its_field(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Eve Editor", Role::Editor).await;
        let section = app.db.store.sections(app.edition_id).await.expect("sections")[0].id.to_string();
        let a = app.post_as(&editor, "/admin/stories", &[
            ("headline", "With a missing gallery"), ("lead", ""), ("body", "Text."), ("section_id", &section),
            ("tags", ""), ("authors", ""), ("editorial_note", ""), ("gallery_id", "987654"),
        ]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert!(a.body.contains("There is no gallery 987654"), "{}", a.body);
        // The write API names the field.
        let path = app.db.store.sections(app.edition_id).await.expect("sections")[0].path.clone();
        let req = Request::post("/api/v1/stories")
            .header(header::AUTHORIZATION, format!("Bearer {}", editor.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::json!({"headline": "API", "section": path, "body": "x", "gallery_id": 987654}).to_string()))
            .expect("request");
        let r = app.request(req).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("There is no gallery 987654"), "{}", r.body);
        // So does a body naming one.
        let req = Request::post("/api/v1/stories")
            .header(header::AUTHORIZATION, format!("Bearer {}", editor.token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::json!({"headline": "API", "section": path, "body": "gallery:987654"}).to_string()))
            .expect("request");
        let r = app.request(req).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        // A gallery that exists is taken, through the editor.
        let (g, _) = gallery(&app).await;
        let a = app.post_as(&editor, "/admin/stories", &[
            ("headline", "With a gallery"), ("lead", ""), ("body", "Text."), ("section_id", &section),
            ("tags", ""), ("authors", ""), ("editorial_note", ""), ("gallery_id", &g.to_string()),
        ]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(app.db.store.gallery_uses(g).await.expect("uses").len(), 1);
    }
}

backend_test! {
    async fn the_back_office_makes_and_orders_galleries_for_those_allowed(db) {
        let app = TestApp::new(db).await;
        let reporter = app.person("Rita Reporter", Role::Reporter).await;
        let editor = app.person("Eve Editor", Role::Editor).await;
        // Nobody logged in: no gallery page.
        let anon = app.get("/admin/galleries").await;
        assert_ne!(anon.status, StatusCode::OK);
        // Without the CSRF token: refused.
        let req = Request::post("/admin/galleries")
            .header(header::COOKIE, &reporter.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("title=Forged")).expect("request");
        assert_eq!(app.request(req).await.status, StatusCode::FORBIDDEN);
        assert!(app.db.store.galleries(0, 10).await.expect("list").is_empty());

        let (_, [a, b]) = gallery(&app).await;
        let made = app.post_as(&reporter, "/admin/galleries", &[("title", "Quake")]).await;
        assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
        let to = made.headers[header::LOCATION].to_str().expect("location").to_string();
        assert!(to.ends_with("notice=gallery-created"), "{to}");
        let id: i64 = to.trim_start_matches("/admin/galleries/").split('?').next().and_then(|n| n.parse().ok()).expect("id");
        let shown = app.get_as(&reporter, &to).await;
        assert!(shown.body.contains("Gallery created."), "{}", shown.body);
        // Add both photos (a checkbox and a typed number), then move the second up.
        let (sa, sb) = (a.to_string(), b.to_string());
        let r = app.post_as(&reporter, &format!("/admin/galleries/{id}"), &[
            ("title", "Quake"), ("version", "1"), ("add", &sa), ("add_ids", &sb), ("op", "save"),
        ]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", common::main_of(&r.body));
        let r = app.post_as(&reporter, &format!("/admin/galleries/{id}"), &[
            ("title", "Quake"), ("version", "2"),
            ("photo_id", &sa), ("caption", "First"), ("credit", ""),
            ("photo_id", &sb), ("caption", "Second, moved up"), ("credit", "AP"),
            ("op", "up-2"),
        ]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(r.headers[header::LOCATION].to_str().expect("loc").ends_with("notice=gallery#item-1"));
        let g = app.db.store.gallery(id).await.expect("read").expect("gallery");
        assert_eq!(g.items.iter().map(|i| (i.photo.id, i.caption.as_str())).collect::<Vec<_>>(), [(b, "Second, moved up"), (a, "First")]);
        let form = app.get_as(&reporter, &format!("/admin/galleries/{id}")).await;
        assert!(form.body.contains(r#"name="caption" value="Second, moved up" maxlength="2000" dir="auto""#), "{}", form.body);
        assert!(form.body.contains(r#"value="up-1" disabled"#), "{}", form.body);
        // An unknown photo: 422 and nothing saved.
        let r = app.post_as(&reporter, &format!("/admin/galleries/{id}"), &[("title", "Quake"), ("version", "3"), ("add_ids", "9999999"), ("op", "save")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        // Once a published story shows it, a reporter may not change it; an editor may.
        story(&app, "Quake story", "Text.", Some(id)).await;
        let keep = [("title", "Quake!"), ("version", "3"), ("photo_id", &sb), ("caption", ""), ("credit", ""), ("op", "save")];
        assert_eq!(app.post_as(&reporter, &format!("/admin/galleries/{id}"), &keep).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.post_as(&editor, &format!("/admin/galleries/{id}"), &keep).await.status, StatusCode::SEE_OTHER);
        // A change based on an old version is a conflict.
        assert_eq!(app.post_as(&editor, &format!("/admin/galleries/{id}"), &keep).await.status, StatusCode::CONFLICT);
        let log = app.db.store.audit_log(Some(("gallery", &id.to_string())), 10).await.expect("audit");
        assert!(log.iter().any(|e| e.action == "gallery.edit" && e.actor == "eve.editor@example.org"), "{log:?}");
    }
}

backend_test! {
    async fn pages_follow_a_change_of_the_gallery_they_show(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Eve Editor", Role::Editor).await;
        let (g, [a, b]) = gallery(&app).await;
        let lead = story(&app, "Lead gallery", "Intro.", Some(g)).await;
        let body = story(&app, "Body gallery", &format!("gallery:{g}"), None).await;
        assert!(page(&app, lead).await.contains("Water in the square"));
        assert!(page(&app, body).await.contains("Water in the square"), "cached now");
        let version = app.db.store.gallery(g).await.expect("read").expect("gallery").version.to_string();
        let r = app.post_as(&editor, &format!("/admin/galleries/{g}"), &[
            ("title", "Floods in the north"), ("version", &version),
            ("photo_id", &b.to_string()), ("caption", "Boats"), ("credit", ""),
            ("photo_id", &a.to_string()), ("caption", "Streets under water"), ("credit", ""),
            ("op", "save"),
        ]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        app.sync().await;
        for id in [lead, body] {
            let html = page(&app, id).await;
            assert!(html.contains("Streets under water") && !html.contains("Water in the square"), "story {id}: {html}");
            let boats = html.find("Boats").expect("boats");
            assert!(boats < html.find("Streets under water").expect("streets"), "the new order");
        }
    }
}
