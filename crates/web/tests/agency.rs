//! Agency metadata (urgency, slugline, dateline, genres, IPTC Media Topic
//! subjects, note to subscribers) through the write API, the back office and
//! out again (read API, ninjs, JSON-LD, the story page), on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use newsdesk_domain::roles::Role;
use newsdesk_storage::backend_test;
use serde_json::{Value, json};

mod common;
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
