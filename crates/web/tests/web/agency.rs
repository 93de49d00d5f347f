//! Agency metadata (urgency, slugline, dateline, genres, IPTC Media Topic
//! subjects, note to subscribers) through the write API, the back office and
//! out again (read API, ninjs, JSON-LD, the story page), on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use newsdesk_domain::roles::Role;
use newsdesk_storage::backend_test;
use serde_json::{Value, json};

use crate::common;
use common::{Answer, TestApp};

fn json_of(a: &Answer) -> Value {
    serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", a.body))
}

async fn send(app: &TestApp, method: Method, uri: &str, token: &str, body: Value) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    app.request(req).await
}

/// Asserts a 422 whose message names `field`'s problem (`needle`).
fn assert_refused(a: &Answer, needle: &str) {
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{needle}: {}", a.body);
    assert!(a.body.contains(needle), "{needle}: {}", a.body);
}

async fn section_of_seed(app: &TestApp) -> String {
    json_of(&app.get("/api/v1/stories/84427").await)["section"]["path"].as_str().expect("path").to_string()
}

backend_test! {
    async fn write_api_stores_agency_metadata_and_refuses_bad_values(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Ed", Role::Editor).await.token;
        let section = section_of_seed(&app).await;
        let created = send(&app, Method::POST, "/api/v1/stories", &editor, json!({
            "headline": "Iran's defence exports grow",
            "section": section,
            "body": "Exports grew.",
            "urgency": 2,
            "slugline": "IRAN-DEFENCE-EXPORTS",
            "located": "Tehran",
            "genres": ["Analysis", "genre:Interview", "analysis"],
            "subjects": ["medtop:11000000", "16000000"],
            "ednote": "Corrects the figure in the second paragraph.",
        })).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let s = json_of(&created);
        let id = s["news_id"].as_i64().expect("id");
        assert_eq!(s["urgency"], 2);
        assert_eq!(s["slugline"], "IRAN-DEFENCE-EXPORTS");
        assert_eq!(s["located"], "Tehran");
        assert_eq!(s["genres"], json!(["genre:Analysis", "genre:Interview"]));
        assert_eq!(s["subjects"], json!(["medtop:11000000", "medtop:16000000"]));
        assert_eq!(s["ednote"], "Corrects the figure in the second paragraph.");
        assert_eq!(s["subjects_public"], false);
        let stored = app.db.store.story(id).await.expect("load").expect("exists");
        assert_eq!(stored.agency.urgency, 2);
        assert_eq!(stored.agency.subjects, ["medtop:11000000", "medtop:16000000"]);

        // A story without agency fields gets urgency 4 and nothing else.
        let plain = json_of(&send(&app, Method::POST, "/api/v1/stories", &editor, json!({"headline": "Plain", "section": section})).await);
        assert_eq!((plain["urgency"].as_i64(), plain["slugline"].as_str()), (Some(4), Some("")));

        // A change of one field keeps the others; an unchanged value is no new version.
        let uri = format!("/api/v1/stories/{id}");
        let v = s["version"].as_i64().expect("version");
        let e = json_of(&send(&app, Method::PATCH, &uri, &editor, json!({"version": v, "urgency": 1})).await);
        assert_eq!((e["urgency"].as_i64(), e["slugline"].as_str()), (Some(1), Some("IRAN-DEFENCE-EXPORTS")));
        let v = e["version"].as_i64().expect("version");
        assert!(v > s["version"].as_i64().expect("version"), "an urgency change is a new version");
        let same = json_of(&send(&app, Method::PATCH, &uri, &editor, json!({"version": v, "urgency": 1, "located": "Tehran"})).await);
        assert_eq!(same["version"].as_i64(), Some(v), "nothing changed");
        // Stale versions are refused like any other field.
        let stale = send(&app, Method::PATCH, &uri, &editor, json!({"version": v - 1, "urgency": 3})).await;
        assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);

        // Bad values: 422 naming the field; unknown fields stay refused.
        let retired = newsdesk_domain::mediatopic::all().iter().find(|t| t.retired).expect("retired").qcode.clone();
        for (body, needle) in [
            (json!({"version": v, "urgency": 0}), "urgency"),
            (json!({"version": v, "urgency": 9}), "urgency"),
            (json!({"version": v, "genres": ["Gossip"]}), "not an IPTC genre"),
            (json!({"version": v, "subjects": ["medtop:99999999"]}), "not an IPTC Media Topic"),
            (json!({"version": v, "subjects": [retired]}), "retired"),
            (json!({"version": v, "slugline": "S".repeat(81)}), "slugline"),
            (json!({"version": v, "ednote": "n".repeat(2001)}), "note to subscribers"),
        ] {
            assert_refused(&send(&app, Method::PATCH, &uri, &editor, body.clone()).await, needle);
        }
        let unknown = send(&app, Method::PATCH, &uri, &editor, json!({"version": v, "priority": 1})).await;
        assert!(unknown.status.is_client_error(), "{}", unknown.body);
        assert!(unknown.body.contains("priority"), "{}", unknown.body);
        // Nothing of the refused changes was stored.
        let after = app.db.store.story(id).await.expect("load").expect("exists");
        assert_eq!((after.version, after.agency.urgency), (v, 1));
    }
}

async fn get_as(app: &TestApp, cookie: &str, uri: &str) -> Answer {
    let req = Request::get(uri).header(header::COOKIE, cookie).header(header::ACCEPT, "text/html").body(Body::empty());
    app.request(req.expect("request")).await
}

async fn post_form(app: &TestApp, p: &common::Person, uri: &str, form: &[(&str, &str)]) -> Answer {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("csrf", &p.csrf));
    let req = Request::post(uri)
        .header(header::COOKIE, &p.cookie)
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(serde_urlencoded::to_string(&fields).expect("form")))
        .expect("request");
    app.request(req).await
}

async fn ninjs(app: &TestApp, id: i64) -> Value {
    serde_json::from_str(&wire(app, id, &format!("/api/ninjs/v2/items/{id}")).await).expect("json")
}

/// The answer of the wire at `uri`, with a new subscriber's key.
async fn wire(app: &TestApp, id: i64, uri: &str) -> String {
    let s = app
        .db
        .store
        .add_subscriber(
            &newsdesk_storage::NewSubscriber {
                name: format!("Wire {id} {}", if uri.contains("newsml") { "NewsML-G2" } else { "ninjs" }),
                sections: vec![],
                editions: vec![],
                rate_limit: 1000,
            },
            &newsdesk_storage::AuditEntry::system("test", "subscriber.create", "subscriber", "", ""),
        )
        .await
        .expect("subscriber");
    let key = app
        .db
        .store
        .create_api_key(s.id, &newsdesk_storage::AuditEntry::system("test", "subscriber.key", "subscriber", "", ""))
        .await
        .expect("key")
        .0;
    let req = Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {key}"));
    let a = app.request(req.body(Body::empty()).expect("request")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body
}

backend_test! {
    async fn back_office_metadata_goes_out_in_ninjs_json_ld_and_the_page(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Eda Editor", Role::Editor).await;
        let seed = app.db.store.story(84427).await.expect("load").expect("seed");
        let section = seed.section_id.to_string();
        // The editor's form carries the agency fields; a bad one is refused by name and nothing is stored.
        let mut form = vec![
            ("headline", "Exports grow"),
            ("section_id", section.as_str()),
            ("body", "The ministry said exports grew."),
            ("agency_form", "1"),
            ("urgency", "2"),
            ("slugline", "IRAN-DEFENCE-EXPORTS"),
            ("located", "Tehran"),
            ("genres", "Analysis, Interview"),
            ("subjects", "medtop:11000000 medtop:04000000"),
            ("subjects_public", "1"),
            ("ednote", "Figures from the ministry."),
        ];
        let bad: Vec<_> = form.iter().map(|&(k, v)| if k == "subjects" { (k, "medtop:99999999") } else { (k, v) }).collect();
        let refused = post_form(&app, &editor, "/admin/stories", &bad).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert!(refused.body.contains("not an IPTC Media Topic"), "{}", refused.body);
        assert!(refused.body.contains("IRAN-DEFENCE-EXPORTS"), "what was typed is kept");
        let created = post_form(&app, &editor, "/admin/stories", &form).await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        let id: i64 = created.headers[header::LOCATION].to_str().expect("location")
            .trim_start_matches("/admin/stories/").split('/').next().expect("id").parse().expect("news id");
        let s = app.db.store.story(id).await.expect("load").expect("story");
        assert_eq!(s.agency.urgency, 2);
        assert_eq!(s.agency.genres, ["genre:Analysis", "genre:Interview"]);
        assert_eq!(s.agency.subjects, ["medtop:11000000", "medtop:04000000"]);
        assert!(s.agency.subjects_public);
        assert_eq!(s.agency.ednote, "Figures from the ministry.");

        // The editor shows them back, with the subjects' names; the list shows the urgency label.
        let page = get_as(&app, &editor.cookie, &format!("/admin/stories/{id}/edit")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for needle in ["value=\"IRAN-DEFENCE-EXPORTS\"", "<option value=\"2\" selected>2 · Urgent</option>", "politics and government", "Analysis, Interview", "Figures from the ministry.", "name=\"subjects_public\" value=\"1\" checked"] {
            assert!(page.body.contains(needle), "editor shows {needle}");
        }
        let list = get_as(&app, &editor.cookie, "/admin/stories?sort=urgency").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let first = list.body.find("Exports grow").expect("listed");
        assert!(first < list.body.find("Defense Ministry").expect("seed listed"), "the urgent story comes first");
        assert!(list.body.contains("urgency-2\" title=\"Urgency 2\">2 Urgent</span>"), "label and colour");
        // The slugline finds the story in the list's search.
        let found = get_as(&app, &editor.cookie, "/admin/stories?q=defence-exports").await;
        assert!(found.body.contains("Exports grow"), "slugline search");

        // An unticked checkbox in the full form turns public subjects off; the rest stays.
        form.retain(|(k, _)| *k != "subjects_public");
        let version = s.version.to_string();
        form.push(("version", version.as_str()));
        let saved = post_form(&app, &editor, &format!("/admin/stories/{id}"), &form).await;
        assert!(saved.status.is_redirection(), "{}: {}", saved.status, saved.body);
        let s = app.db.store.story(id).await.expect("load").expect("story");
        assert!(!s.agency.subjects_public);
        assert_eq!(s.agency.urgency, 2);

        // Published through the API with the subjects shown as tags again.
        let publish = send(&app, Method::POST, &format!("/api/v1/stories/{id}/publish"), &editor.token,
            json!({"version": s.version, "changes": {"subjects_public": true}})).await;
        assert_eq!(publish.status, StatusCode::OK, "{}", publish.body);
        app.sync().await;

        let item = ninjs(&app, id).await;
        assert_eq!(item["urgency"], 2);
        assert_eq!(item["slugline"], "IRAN-DEFENCE-EXPORTS");
        assert_eq!(item["located"], "Tehran");
        assert_eq!(item["ednote"], "Figures from the ministry.");
        assert_eq!(item["genres"][0]["uri"], "http://cv.iptc.org/newscodes/genre/Analysis");
        let topics: Vec<&str> = item["subjects"].as_array().expect("subjects").iter()
            .filter(|s| s["rel"] == "mediatopic").map(|s| s["uri"].as_str().expect("uri")).collect();
        assert_eq!(topics, ["http://cv.iptc.org/newscodes/mediatopic/11000000", "http://cv.iptc.org/newscodes/mediatopic/04000000"]);

        // The public read API shows them too (not the note to subscribers).
        let public = json_of(&app.get(&format!("/api/v1/stories/{id}")).await);
        assert_eq!((public["urgency"].as_i64(), public["located"].as_str()), (Some(2), Some("Tehran")));
        assert_eq!(public["slugline"], "IRAN-DEFENCE-EXPORTS");
        assert_eq!(public["genres"][0]["qcode"], "genre:Analysis");
        assert_eq!(public["subjects"][1]["uri"], "http://cv.iptc.org/newscodes/mediatopic/04000000");
        assert!(public["subjects"][0]["name"].as_str().is_some_and(|n| n.contains("politics")), "{public}");
        assert!(public.get("ednote").is_none(), "the note to subscribers is not public");

        // NewsML-G2 carries the urgency and the chosen topics by qcode.
        let g2 = wire(&app, id, &format!("/api/newsml-g2/items/{id}")).await;
        assert!(g2.contains("<urgency>2</urgency>"), "{g2}");
        assert!(g2.contains("<slugline>IRAN-DEFENCE-EXPORTS</slugline>"), "{g2}");
        assert!(g2.contains("<located>") && g2.contains("<name>Tehran</name>"), "{g2}");
        assert!(g2.contains("<genre qcode=\"genre:Analysis\">"), "{g2}");
        assert!(g2.contains("<subject type=\"cpnat:abstract\" qcode=\"medtop:04000000\">"), "{g2}");

        let story = app.db.store.story(id).await.expect("load").expect("story");
        let page = app.get(&story.path()).await;
        assert_eq!(page.status, StatusCode::OK);
        // The dateline opens the body, in the edition's zone (Tehran), with the edition's name.
        let local = story.published_at.expect("published").with_timezone(&chrono_tz::Asia::Tehran);
        let months = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."];
        let dateline = format!("TEHRAN, {} {} (Test Agency) –", months[chrono::Datelike::month0(&local) as usize], chrono::Datelike::day(&local));
        assert!(page.body.contains(&format!("<p><span class=\"dateline\">{dateline}</span> The ministry said")), "{}", page.body);
        assert!(page.body.contains(&format!("\"dateline\":\"{dateline}\"")), "JSON-LD dateline");
        assert!(page.body.contains("<span class=\"topic\">politics and government</span>"), "public subjects");
        assert!(page.body.contains("\"keywords\":[\"politics and government\",\"economy, business and finance\"]"), "{}", page.body);
        assert!(!page.body.contains("Figures from the ministry."), "the note to subscribers is not published");
        assert!(!page.body.contains("IRAN-DEFENCE-EXPORTS"), "nor the slugline");
    }
}

backend_test! {
    async fn the_media_topic_picker_suggests_current_topics_in_the_story_language(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Eda Editor", Role::Editor).await;
        let a = get_as(&app, &editor.cookie, "/admin/mediatopics?q=%D9%88%D8%B1%D8%B2%D8%B4&lang=fa").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let j = json_of(&a);
        assert_eq!(j["items"][0]["qcode"], "medtop:15000000");
        assert_eq!(j["items"][0]["name"], "ورزش");
        let by_code = json_of(&get_as(&app, &editor.cookie, "/admin/mediatopics?q=medtop:0300&lang=en").await);
        assert_eq!(by_code["items"][0]["name"], "disaster, accident and emergency incident");
        let retired = newsdesk_domain::mediatopic::all().iter().find(|t| t.retired).expect("retired");
        let q = retired.qcode.trim_start_matches("medtop:");
        let offered = json_of(&get_as(&app, &editor.cookie, &format!("/admin/mediatopics?q={q}")).await);
        assert!(offered["items"].as_array().expect("items").iter().all(|i| i["qcode"] != retired.qcode.as_str()));
        // Only the newsroom may ask.
        assert_eq!(app.get("/admin/mediatopics?q=sport").await.status, StatusCode::UNAUTHORIZED);
    }
}

backend_test! {
    async fn the_desk_board_puts_urgent_stories_first(db) {
        let app = TestApp::new(db).await;
        let admin = app.person("Ada Admin", Role::Admin).await;
        let section = section_of_seed(&app).await;
        let desk = post_form(&app, &admin, "/admin/desks", &[("name", "World")]).await;
        let desk_id: i64 = desk.headers[header::LOCATION].to_str().expect("location")
            .trim_end_matches("?notice=desk-created").trim_start_matches("/admin/desks/").trim_end_matches("/settings").parse().expect("desk id");
        let mut ids = Vec::new();
        for (headline, urgency) in [("Routine one", 5), ("Flash one", 1), ("Normal one", 4)] {
            let s = json_of(&send(&app, Method::POST, "/api/v1/stories", &admin.token,
                json!({"headline": headline, "section": section, "urgency": urgency})).await);
            let id = s["news_id"].as_i64().expect("id");
            let a = post_form(&app, &admin, &format!("/admin/desks/{desk_id}/stories"), &[("news_id", &id.to_string())]).await;
            assert!(a.status.is_redirection(), "{}", a.body);
            ids.push(id);
        }
        let board = get_as(&app, &admin.cookie, &format!("/admin/desks/{desk_id}")).await;
        assert_eq!(board.status, StatusCode::OK, "{}", board.body);
        let at = |h: &str| board.body.find(h).unwrap_or_else(|| panic!("{h} on the board"));
        assert!(at("Flash one") < at("Normal one") && at("Normal one") < at("Routine one"), "most urgent first");
        assert!(board.body.contains("urgency-1\" title=\"Urgency 1\">1 Flash</span>"));
    }
}
