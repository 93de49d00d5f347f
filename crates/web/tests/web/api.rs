//! The JSON API through the real router, on SQLite and on PostgreSQL: the
//! read API (lists with filters and cursors, one story, 404/410, parameter
//! errors), the write API with personal tokens and the back office's role
//! rules, and the OpenAPI document against the routes the router serves.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use newsdesk_domain::StoryStatus;
use newsdesk_domain::roles::Role;
use newsdesk_storage::{NewUser, backend_test};
use serde_json::{Value, json};

use crate::common;
use common::{Answer, SEED_URL, TestApp, seed_time};

fn json_of(a: &Answer) -> Value {
    serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", a.body))
}

/// Asserts a JSON error answer with `status` and `code`.
fn assert_error(a: &Answer, status: StatusCode, code: &str, what: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.body);
    assert!(a.content_type().starts_with("application/json"), "{what}: {}", a.content_type());
    let j = json_of(a);
    assert_eq!(j["error"]["code"], code, "{what}: {}", a.body);
    assert!(j["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {}", a.body);
}

async fn send(app: &TestApp, method: Method, uri: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    app.request(req.body(body).expect("request")).await
}

/// The path part of an absolute URL of the test site.
fn local(url: &str) -> &str {
    url.strip_prefix("https://news.example").unwrap_or_else(|| panic!("not a site URL: {url}"))
}

fn ids(list: &Value) -> Vec<i64> {
    list["items"].as_array().expect("items").iter().map(|i| i["news_id"].as_i64().expect("id")).collect()
}

backend_test! {
    async fn story_list_is_newest_first_filtered_and_paged_by_cursor(db) {
        let app = TestApp::new(db).await;
        let a = app.add_story(&["World"], "World one", 10).await;
        let b = app.add_story(&["World", "Asia"], "Asia two", 20).await;
        let c = app.add_story(&["Sports"], "Sports three", 30).await;

        let all = app.get("/api/v1/stories").await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.body);
        assert!(all.headers[header::CACHE_CONTROL].to_str().expect("cc").starts_with("public"));
        let j = json_of(&all);
        assert_eq!(ids(&j), [c, b, a, 84427]);
        assert!(j["next"].is_null());
        let first = &j["items"][3];
        assert_eq!(first["url"], SEED_URL);
        assert_eq!(first["published"], "2023-11-15T14:37:00+03:30", "ISO 8601 with the edition's offset");

        // Pages of two, following `next`.
        let p1 = json_of(&app.get("/api/v1/stories?limit=2").await);
        assert_eq!(ids(&p1), [c, b]);
        let next = p1["next"].as_str().expect("next link");
        assert!(next.contains("limit=2") && next.contains("cursor="), "{next}");
        let p2 = json_of(&app.get(local(next)).await);
        assert_eq!(ids(&p2), [a, 84427]);
        assert!(p2["next"].is_null(), "last page");

        // Filters, alone and together.
        let world = json_of(&app.get("/api/v1/stories?section=world").await);
        assert_eq!(ids(&world), [b, a], "a section includes its subsections");
        assert_eq!(world["items"][0]["section"]["path"], "world/asia");
        assert_eq!(ids(&json_of(&app.get("/api/v1/stories?tag=defense").await)), [84427]);
        assert_eq!(ids(&json_of(&app.get("/api/v1/stories?author=desk").await)), [c, b, a]);
        assert_eq!(ids(&json_of(&app.get("/api/v1/stories?author=desk&section=world&tag=synthetic").await)), [b, a]);
        let since = (seed_time() + Duration::minutes(15)).to_rfc3339();
        let until = (seed_time() + Duration::minutes(25)).to_rfc3339();
        let q = serde_urlencoded::to_string([("since", &since), ("until", &until)]).expect("qs");
        assert_eq!(ids(&json_of(&app.get(&format!("/api/v1/stories?{q}")).await)), [b]);

        // Drafts and unpublished stories are not listed.
        app.db.store.set_story_status(a, StoryStatus::Unpublished).await.expect("unpublish");
        assert_eq!(ids(&json_of(&app.get("/api/v1/stories?section=world").await)), [b]);
    }
}

backend_test! {
    async fn one_story_is_whole_and_gone_or_unknown_ones_answer_410_or_404(db) {
        let app = TestApp::new(db).await;
        let a = app.get("/api/v1/stories/84427").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let s = json_of(&a);
        assert_eq!(s["news_id"], 84427);
        assert_eq!(s["url"], SEED_URL);
        assert!(s["headline"].as_str().expect("headline").starts_with("Defense Ministry"));
        assert!(s["body_html"].as_str().expect("body").contains("<p>"));
        assert_eq!(s["tags"][0]["slug"], "defense");
        assert_eq!(s["tags"][0]["url"], "https://news.example/tag/defense");
        assert_eq!(s["authors"][0]["name"], "Jane Reporter");
        assert_eq!(s["published"], "2023-11-15T14:37:00+03:30");
        assert_eq!(s["edition"], "en");
        assert!(s["section"]["path"].is_string());
        // Conditional GET: the ETag answers 304 until the story changes.
        let etag = a.headers[header::ETAG].to_str().expect("etag").to_string();
        let again = app.request(Request::get("/api/v1/stories/84427").header(header::IF_NONE_MATCH, &etag).body(Body::empty()).expect("request")).await;
        assert_eq!((again.status, again.body.as_str()), (StatusCode::NOT_MODIFIED, ""));
        app.db.store.mark_updated(84427, Utc::now()).await.expect("update");
        let changed = app.request(Request::get("/api/v1/stories/84427").header(header::IF_NONE_MATCH, &etag).body(Body::empty()).expect("request")).await;
        assert_eq!(changed.status, StatusCode::OK);
        assert_ne!(changed.headers[header::ETAG], etag.as_str());

        assert_error(&app.get("/api/v1/stories/999999").await, StatusCode::NOT_FOUND, "not_found", "unknown");
        let draft = app.add_story(&["World"], "Soon", 5).await;
        app.db.store.set_story_status(draft, StoryStatus::Draft).await.expect("draft");
        assert_error(&app.get(&format!("/api/v1/stories/{draft}")).await, StatusCode::NOT_FOUND, "not_found", "draft");
        app.db.store.set_story_status(84427, StoryStatus::Unpublished).await.expect("unpublish");
        assert_error(&app.get("/api/v1/stories/84427").await, StatusCode::GONE, "gone", "unpublished");
        app.db.store.set_story_status(84427, StoryStatus::Killed).await.expect("kill");
        assert_error(&app.get("/api/v1/stories/84427").await, StatusCode::GONE, "gone", "killed");
    }
}

backend_test! {
    async fn sections_tags_and_authors_list_what_is_published(db) {
        let app = TestApp::new(db).await;
        app.add_story(&["World", "Asia"], "Asia one", 10).await;
        app.add_story(&["World"], "World two", 20).await;
        let tree = json_of(&app.get("/api/v1/sections").await);
        let world = tree["items"].as_array().expect("items").iter().find(|s| s["slug"] == "world").expect("world");
        assert_eq!(world["children"][0]["path"], "world/asia");
        assert_eq!(world["url"], "https://news.example/section/world");

        let tags = json_of(&app.get("/api/v1/tags").await);
        assert_eq!(tags["items"][0]["slug"], "synthetic");
        assert_eq!(tags["items"][0]["stories"], 2);
        assert_eq!(tags["items"][1]["slug"], "defense");
        let authors = json_of(&app.get("/api/v1/authors?limit=1").await);
        assert_eq!(authors["items"].as_array().expect("items").len(), 1);
        assert_eq!((&authors["items"][0]["slug"], &authors["items"][0]["stories"]), (&json!("desk"), &json!(2)));
    }
}

backend_test! {
    async fn bad_parameters_answer_400_json_and_unknown_names_404(db) {
        let app = TestApp::new(db).await;
        for uri in [
            "/api/v1/stories?limit=0",
            "/api/v1/stories?limit=101",
            "/api/v1/stories?limit=ten",
            "/api/v1/stories?since=yesterday",
            "/api/v1/stories?since=2024-01-01",
            "/api/v1/stories?since=2024-02-01T00:00:00Z&until=2024-01-01T00:00:00Z",
            "/api/v1/stories?cursor=zz",
            "/api/v1/stories?cursor=31",
            "/api/v1/stories?bogus=1",
            "/api/v1/stories/abc",
            "/api/v1/stories/-3",
            "/api/v1/stories/84427?x=1",
            "/api/v1/sections?x=1",
            "/api/v1/tags?limit=5000",
            "/api/v1/authors?limit=-1",
        ] {
            assert_error(&app.get(uri).await, StatusCode::BAD_REQUEST, "bad_request", uri);
        }
        for uri in [
            "/api/v1/stories?section=nowhere",
            "/api/v1/stories?tag=nope",
            "/api/v1/stories?author=nobody",
            "/api/v1/stories?edition=xx",
            "/api/v1/sections?edition=xx",
        ] {
            assert_error(&app.get(uri).await, StatusCode::NOT_FOUND, "not_found", uri);
        }
    }
}

backend_test! {
    async fn write_api_follows_the_newsroom_roles_and_versions(db) {
        let app = TestApp::new(db).await;
        let reporter = app.person("Rita", Role::Reporter).await.token;
        let editor = app.person("Ed", Role::Editor).await.token;
        let section = json_of(&app.get("/api/v1/stories/84427").await)["section"]["path"].as_str().expect("path").to_string();
        let draft = json!({
            "headline": "Rain expected in Tehran",
            "section": section,
            "lead": "Forecasters say so.",
            "body": "It will **rain**.",
            "tags": ["Weather", " weather ", "Tehran"],
            "authors": ["Rita"],
        });

        // No token, a malformed one, an unknown one: 401 with a JSON error.
        assert_error(&send(&app, Method::POST, "/api/v1/stories", None, Some(draft.clone())).await,
            StatusCode::UNAUTHORIZED, "unauthorized", "no token");
        let a = send(&app, Method::POST, "/api/v1/stories", Some("ndt_0000"), Some(draft.clone())).await;
        assert_error(&a, StatusCode::UNAUTHORIZED, "unauthorized", "unknown token");
        assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");

        // A reporter creates a draft and edits it.
        let created = send(&app, Method::POST, "/api/v1/stories", Some(&reporter), Some(draft.clone())).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let s = json_of(&created);
        let id = s["news_id"].as_i64().expect("id");
        assert_eq!(created.headers[header::LOCATION], format!("/api/v1/stories/{id}"));
        assert_eq!((s["status"].as_str(), s["tags"].clone()), (Some("draft"), json!(["Weather", "Tehran"])));
        assert!(s["body_html"].as_str().expect("html").contains("<strong>rain</strong>"));
        let v1 = s["version"].as_i64().expect("version");
        assert_error(&app.get(&format!("/api/v1/stories/{id}")).await, StatusCode::NOT_FOUND, "not_found", "drafts are private");

        let uri = format!("/api/v1/stories/{id}");
        let edited = send(&app, Method::PATCH, &uri, Some(&reporter), Some(json!({"version": v1, "headline": "Heavy rain in Tehran"}))).await;
        assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
        let e = json_of(&edited);
        assert_eq!((e["headline"].as_str(), e["lead"].as_str()), (Some("Heavy rain in Tehran"), Some("Forecasters say so.")));
        let v2 = e["version"].as_i64().expect("version");
        assert!(v2 > v1);

        // A save based on the old version is refused: nobody overwrites anybody silently.
        let stale = send(&app, Method::PATCH, &uri, Some(&editor), Some(json!({"version": v1, "lead": "Lost"}))).await;
        assert_error(&stale, StatusCode::CONFLICT, "conflict", "stale version");

        // Bodies are checked like the editor's form.
        for (body, status, code) in [
            (json!({"version": v2, "headline": "  "}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            (json!({"version": v2, "headline": "x".repeat(301)}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            (json!({"version": v2, "section": "nowhere"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            (json!({"version": v2, "slug": "Not A Slug"}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            (json!({"version": v2, "photo_id": 424242}), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            (json!({"version": v2, "body_format": "docx"}), StatusCode::BAD_REQUEST, "bad_request"),
            (json!({"version": v2, "colour": "red"}), StatusCode::BAD_REQUEST, "bad_request"),
            (json!({"headline": "no version"}), StatusCode::BAD_REQUEST, "bad_request"),
        ] {
            let what = body.to_string();
            assert_error(&send(&app, Method::PATCH, &uri, Some(&reporter), Some(body)).await, status, code, &what);
        }
        let not_json = app
            .request(Request::patch(&uri).header(header::AUTHORIZATION, format!("Bearer {reporter}"))
                .header(header::CONTENT_TYPE, "text/plain").body(Body::from("version=1")).expect("request"))
            .await;
        assert_error(&not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "text body");

        // A reporter may not publish; may submit own draft, then no longer edit it.
        let publish = format!("/api/v1/stories/{id}/publish");
        assert_error(&send(&app, Method::POST, &publish, Some(&reporter), Some(json!({"version": v2}))).await,
            StatusCode::FORBIDDEN, "forbidden", "reporter publishes");
        let workflow = format!("/api/v1/stories/{id}/workflow");
        let submitted = send(&app, Method::POST, &workflow, Some(&reporter), Some(json!({"action": "submit", "version": v2}))).await;
        assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
        let v3 = json_of(&submitted)["version"].as_i64().expect("version");
        assert_eq!(json_of(&submitted)["status"], "submitted");
        assert_error(&send(&app, Method::PATCH, &uri, Some(&reporter), Some(json!({"version": v3, "lead": "x"}))).await,
            StatusCode::FORBIDDEN, "forbidden", "reporter edits a submitted story");
        assert_error(&send(&app, Method::POST, &workflow, Some(&reporter), Some(json!({"action": "explode", "version": v3}))).await,
            StatusCode::BAD_REQUEST, "bad_request", "unknown action");

        // An editor publishes (a stale version first): the public page and the read API show it.
        assert_error(&send(&app, Method::POST, &publish, Some(&editor), Some(json!({"version": v2}))).await,
            StatusCode::CONFLICT, "conflict", "stale publish");
        let published = send(&app, Method::POST, &publish, Some(&editor), Some(json!({"version": v3}))).await;
        assert_eq!(published.status, StatusCode::OK, "{}", published.body);
        let p = json_of(&published);
        assert_eq!(p["status"], "published");
        assert!(p["published"].is_string());
        let page = app.get(local(p["url"].as_str().expect("url"))).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Heavy rain in Tehran"));
        assert_eq!(json_of(&app.get(&uri).await)["headline"], "Heavy rain in Tehran");
        // Publishing again is not a transition the workflow allows.
        let v4 = p["version"].as_i64().expect("version");
        assert_error(&send(&app, Method::POST, &publish, Some(&editor), Some(json!({"version": v4}))).await,
            StatusCode::CONFLICT, "conflict", "published twice");
        // A kill needs its public note; then the story is gone.
        assert_error(&send(&app, Method::POST, &workflow, Some(&editor), Some(json!({"action": "kill", "version": v4, "reason": "Court order."}))).await,
            StatusCode::UNPROCESSABLE_ENTITY, "invalid", "kill without note");
        let killed = send(&app, Method::POST, &workflow, Some(&editor),
            Some(json!({"action": "kill", "version": v4, "public_note": "Legal reasons.", "reason": "Court order."}))).await;
        assert_eq!(killed.status, StatusCode::OK, "{}", killed.body);
        let gone = app.get(&uri).await;
        assert_error(&gone, StatusCode::GONE, "gone", "killed");
        assert!(gone.body.contains("Legal reasons."));

        // Every write is in the audit log under the user who made it.
        let log = app.db.store.audit_log(Some(("story", &id.to_string())), 50).await.expect("audit");
        let mut seen: Vec<(String, String)> = log.iter().map(|e| (e.action.clone(), e.actor.clone())).collect();
        seen.sort();
        assert_eq!(seen, [
            ("story.create".to_string(), "rita@example.org".to_string()),
            ("story.edit".into(), "rita@example.org".into()),
            ("story.kill".into(), "ed@example.org".into()),
            ("story.publish".into(), "ed@example.org".into()),
            ("story.submit".into(), "rita@example.org".into()),
        ]);
    }
}

backend_test! {
    async fn reporters_edit_only_their_own_drafts(db) {
        let app = TestApp::new(db).await;
        let rita = app.person("Rita", Role::Reporter).await.token;
        let rob = app.person("Rob", Role::Reporter).await.token;
        let section = json_of(&app.get("/api/v1/sections").await)["items"][0]["path"].as_str().expect("path").to_string();
        let s = json_of(&send(&app, Method::POST, "/api/v1/stories", Some(&rita), Some(json!({"headline": "Mine", "section": section}))).await);
        let uri = format!("/api/v1/stories/{}", s["news_id"]);
        let v = s["version"].clone();
        assert_error(&send(&app, Method::PATCH, &uri, Some(&rob), Some(json!({"version": v, "lead": "x"}))).await,
            StatusCode::FORBIDDEN, "forbidden", "someone else's draft");
        assert_error(&send(&app, Method::POST, &format!("{uri}/workflow"), Some(&rob), Some(json!({"action": "submit", "version": v}))).await,
            StatusCode::FORBIDDEN, "forbidden", "submit someone else's draft");
        assert_error(&send(&app, Method::PATCH, "/api/v1/stories/84427", Some(&rob), Some(json!({"version": 1, "lead": "x"}))).await,
            StatusCode::FORBIDDEN, "forbidden", "a published story");
        assert_error(&send(&app, Method::PATCH, "/api/v1/stories/999999", Some(&rob), Some(json!({"version": 1}))).await,
            StatusCode::NOT_FOUND, "not_found", "unknown story");
        // A revoked token no longer works.
        let user = app.db.store.user_by_email("rob@example.org").await.expect("user").expect("rob").0;
        let t = app.db.store.api_tokens(user.id).await.expect("tokens");
        app.db.store.revoke_api_token(user.id, t[0].id, Utc::now(), &newsdesk_storage::AuditEntry::system("test", "token.revoke", "user", "", "")).await.expect("revoke");
        assert_error(&send(&app, Method::PATCH, &uri, Some(&rob), Some(json!({"version": v}))).await,
            StatusCode::UNAUTHORIZED, "unauthorized", "revoked");
    }
}

/// Every route of `/api/v1` with its methods, as the README and clients know them.
const ROUTES: &[(&str, &[&str])] = &[
    ("/api/v1/stories", &["get", "post"]),
    ("/api/v1/stories/{id}", &["get", "patch"]),
    ("/api/v1/stories/{id}/publish", &["post"]),
    ("/api/v1/stories/{id}/workflow", &["post"]),
    ("/api/v1/stories/{id}/corrections", &["post"]),
    ("/api/v1/stories/{id}/lock", &["post", "delete"]),
    ("/api/v1/stories/{id}/spike", &["post"]),
    ("/api/v1/stories/{id}/unspike", &["post"]),
    ("/api/v1/stories/{id}/breaking", &["post", "delete"]),
    ("/api/v1/stories/{id}/release", &["post"]),
    ("/api/v1/stories/{id}/updates", &["post"]),
    ("/api/v1/stories/{id}/updates/{update_id}", &["patch", "delete"]),
    ("/api/v1/sections", &["get"]),
    ("/api/v1/tags", &["get"]),
    ("/api/v1/authors", &["get"]),
    ("/api/v1/most-visited", &["get"]),
    ("/api/v1/fronts/{edition}", &["get", "put"]),
    ("/api/v1/search", &["get"]),
];

backend_test! {
    async fn openapi_document_is_3_1_and_describes_every_route_the_router_serves(db) {
        let app = TestApp::new(db).await;
        let a = app.get("/api/v1/openapi.json").await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.content_type().starts_with("application/json"));
        let doc = json_of(&a);
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "{}", doc["openapi"]);
        let paths = doc["paths"].as_object().expect("paths");
        let mut documented: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(p, ops)| ops.as_object().expect("ops").keys().map(move |m| (p.clone(), m.clone())))
            .filter(|(_, m)| m != "parameters")
            .collect();
        documented.sort();
        let mut expected: Vec<(String, String)> =
            ROUTES.iter().flat_map(|(p, ms)| ms.iter().map(|m| (p.to_string(), m.to_string()))).collect();
        expected.sort();
        assert_eq!(documented, expected);

        // Each documented operation is served by the router with a JSON answer (the
        // fallback would answer an HTML 404 page, a missing method an HTML 405).
        for (path, method) in &documented {
            let uri = path.replace("{id}", "84427");
            let m: Method = method.to_uppercase().parse().expect("method");
            let res = send(&app, m.clone(), &uri, None, (m != Method::GET).then(|| json!({}))).await;
            assert!(res.content_type().starts_with("application/json"), "{method} {path}: {} {}", res.status, res.body);
            assert_ne!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            let op = &paths[path][method];
            assert!(op["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
                .as_str().is_some_and(|r| r.ends_with("/ErrorBody")), "{method} {path}: errors use the shared schema");
            // A front's GET shows the newsroom's draft too: it needs a token like the writes.
            if m == Method::GET && !path.starts_with("/api/v1/fronts/") {
                assert!(op.get("security").is_none(), "{method} {path} is public");
                assert!(res.status != StatusCode::UNAUTHORIZED);
            } else {
                assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
                assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{method} {path} needs a token");
            }
        }
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        for schema in ["ErrorBody", "StoryList", "StoryView", "NewsroomStory", "MostVisited", "SectionTree"] {
            assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
        }
    }
}

/// A back-office session made directly in the store; returns the cookie and the CSRF token.
async fn session(app: &TestApp, email: &str, role: Role) -> (String, String) {
    use sha2::{Digest, Sha256};
    let u = app
        .db
        .store
        .create_user(
            &NewUser { email: email.into(), name: email.into(), role, password_hash: "x".into() },
            Utc::now(),
            &newsdesk_storage::AuditEntry::system("test", "user.create", "user", "", ""),
        )
        .await
        .expect("user");
    let token = format!("session-token-of-{email}");
    let csrf = format!("csrf-of-{email}");
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let now = Utc::now();
    app.db.store.create_session(&hash, u.id, &csrf, now, now + Duration::hours(1)).await.expect("session");
    (format!("nd_session={token}"), csrf)
}

async fn form_post(app: &TestApp, cookie: &str, uri: &str, fields: &[(&str, &str)]) -> Answer {
    let body = serde_urlencoded::to_string(fields).expect("form");
    app.request(
        Request::post(uri)
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body))
            .expect("request"),
    )
    .await
}

backend_test! {
    async fn tokens_are_made_and_revoked_on_the_account_page(db) {
        let app = TestApp::new(db).await;
        let (cookie, csrf) = session(&app, "rita@example.org", Role::Reporter).await;
        let (other_cookie, other_csrf) = session(&app, "rob@example.org", Role::Reporter).await;
        let page = app
            .request(Request::get("/admin/account/tokens").header(header::COOKIE, &cookie).body(Body::empty()).expect("req"))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("No tokens yet."));

        let refused = form_post(&app, &cookie, "/admin/account/tokens", &[("name", "phone")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "no CSRF token");
        let empty = form_post(&app, &cookie, "/admin/account/tokens", &[("name", " "), ("csrf", &csrf)]).await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(empty.body.contains("must not be empty"));

        let made = form_post(&app, &cookie, "/admin/account/tokens", &[("name", "phone <app>"), ("csrf", &csrf)]).await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.body);
        assert_eq!(made.headers[header::CACHE_CONTROL], "no-store");
        assert!(made.body.contains("phone &lt;app&gt;") && !made.body.contains("phone <app>"), "escaped");
        let start = made.body.find("ndt_").expect("the token is shown");
        let token: String = made.body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        assert_eq!(token.len(), 4 + 64);
        let section = json_of(&app.get("/api/v1/sections").await)["items"][0]["path"].as_str().expect("path").to_string();
        let create = json!({"headline": "Via the page's token", "section": section});
        let a = send(&app, Method::POST, "/api/v1/stories", Some(&token), Some(create.clone())).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        let listed = app
            .request(Request::get("/admin/account/tokens").header(header::COOKIE, &cookie).body(Body::empty()).expect("req"))
            .await;
        assert!(!listed.body.contains(&token), "shown only once");
        assert!(listed.body.contains(&token[..12]), "listed by prefix");

        let user = app.db.store.user_by_email("rita@example.org").await.expect("user").expect("rita").0;
        let id = app.db.store.api_tokens(user.id).await.expect("tokens")[0].id;
        let uri = format!("/admin/account/tokens/{id}/revoke");
        let theirs = form_post(&app, &other_cookie, &uri, &[("csrf", &other_csrf)]).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "another user's token");
        let revoked = form_post(&app, &cookie, &uri, &[("csrf", &csrf)]).await;
        assert_eq!(revoked.status, StatusCode::SEE_OTHER);
        let a = send(&app, Method::POST, "/api/v1/stories", Some(&token), Some(create)).await;
        assert_error(&a, StatusCode::UNAUTHORIZED, "unauthorized", "revoked on the page");
        let log = app.db.store.audit_log(Some(("user", &user.id.to_string())), 10).await.expect("audit");
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert!(actions.contains(&"token.create") && actions.contains(&"token.revoke"), "{actions:?}");
    }
}

backend_test! {
    async fn stories_of_other_editions_have_their_addresses(db) {
        use newsdesk_domain::{BodyFormat, Direction};
        use newsdesk_storage::{NewEdition, SectionRef, StoryInput};
        let app = TestApp::new(db).await;
        let fa = app
            .db
            .store
            .upsert_edition(&NewEdition {
                lang: "fa".into(),
                name: "خبرگزاری".into(),
                direction: Direction::Rtl,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: false,
            })
            .await
            .expect("edition");
        let (id, _) = app
            .db
            .store
            .save_story(&StoryInput {
                news_id: None,
                edition_id: fa.id,
                section: SectionRef::Names(vec!["ایران".into()]),
                slug: None,
                headline: "خبر".into(),
                lead: "لید".into(),
                body_source: "متن".into(),
                body_format: BodyFormat::Markdown,
                photo_id: None,
                gallery_id: None,
                status: StoryStatus::Published,
                published_at: Some(seed_time()),
                tags: vec!["سیاست".into()],
                authors: vec!["دبیر".into()],
                agency: None,
                actor: "test".into(),
            })
            .await
            .expect("story");
        app.sync().await;
        let list = json_of(&app.get("/api/v1/stories?edition=fa").await);
        assert_eq!(ids(&list), [id]);
        let url = list["items"][0]["url"].as_str().expect("url");
        assert!(url.starts_with(&format!("https://news.example/fa/news/{id}/")), "{url}");
        assert!(list["items"][0]["section"]["url"].as_str().expect("section").starts_with("https://news.example/fa/section/"));
        let one = json_of(&app.get(&format!("/api/v1/stories/{id}")).await);
        assert_eq!((one["edition"].as_str(), one["url"].as_str()), (Some("fa"), Some(url)));
        let tag_url = one["tags"][0]["url"].as_str().expect("tag");
        assert_eq!(tag_url, "https://news.example/fa/tag/%D8%B3%DB%8C%D8%A7%D8%B3%D8%AA", "percent-encoded");
        assert!(url.is_ascii() && list["items"][0]["section"]["url"].as_str().is_some_and(str::is_ascii));
        assert_eq!(ids(&json_of(&app.get("/api/v1/stories").await))[..1], [84427], "the default edition stays apart");
    }
}

backend_test! {
    async fn a_wrong_method_on_the_api_answers_json(db) {
        let app = TestApp::new(db).await;
        let req = Request::builder().method(Method::DELETE).uri("/api/v1/most-visited").body(Body::empty()).expect("r");
        let a = app.request(req).await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(a.content_type().starts_with("application/json"), "{}", a.content_type());
        let v: Value = serde_json::from_str(&a.body).expect("json");
        assert_eq!(v["error"]["code"], "method_not_allowed");
        assert!(a.headers.get(header::ALLOW).is_some());
        let page = app.request(Request::builder().method(Method::DELETE).uri(common::SEED_PATH).body(Body::empty()).expect("r")).await;
        assert!(page.content_type().starts_with("text/html"), "the site keeps its HTML error page");
    }
}

/// An editor's token, the editor assigned to `sections`.
async fn scoped_editor(app: &TestApp, name: &str, sections: &[i64]) -> String {
    let editor = app.person(name, Role::Editor).await;
    let audit = newsdesk_storage::AuditEntry::system("test", "user.sections", "user", "", "");
    app.db.store.set_user_sections(editor.actor.user_id, sections, &audit).await.expect("sections");
    editor.token
}

backend_test! {
    async fn a_scoped_editor_moves_no_story_across_sections_through_the_api(db) {
        let app = TestApp::new(db).await;
        let world = app.db.store.ensure_section_path(app.edition_id, &["World".to_string()]).await.expect("world").id;
        let admin = app.person("Admin", Role::Admin).await.token;
        let editor = scoped_editor(&app, "World-desk", &[world]).await;
        let create = |token: String, headline: &'static str, section: &'static str| {
            let app = &app;
            async move {
                let a = send(app, Method::POST, "/api/v1/stories", Some(&token), Some(json!({"headline": headline, "section": section}))).await;
                assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
                let s = json_of(&a);
                (s["news_id"].as_i64().expect("id"), s["version"].as_i64().expect("version"))
            }
        };
        let publish = |token: String, id: i64, version: i64| {
            let app = &app;
            async move { send(app, Method::POST, &format!("/api/v1/stories/{id}/publish"), Some(&token), Some(json!({"version": version}))).await }
        };
        let (in_world, v) = create(admin.clone(), "A World story", "world").await;
        let p = publish(admin.clone(), in_world, v).await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        let v = json_of(&p)["version"].as_i64().expect("version");

        // Out of World, into World: both refused, nothing saved.
        let a = send(&app, Method::PATCH, &format!("/api/v1/stories/{in_world}"), Some(&editor), Some(json!({"version": v, "section": "iran"}))).await;
        assert_error(&a, StatusCode::FORBIDDEN, "forbidden", "World → Iran");
        let seed = json_of(&app.get("/api/v1/stories/84427").await)["version"].as_i64().expect("version");
        let a = send(&app, Method::PATCH, "/api/v1/stories/84427", Some(&editor), Some(json!({"version": seed, "section": "world"}))).await;
        assert_error(&a, StatusCode::FORBIDDEN, "forbidden", "Iran → World");
        assert_eq!(json_of(&app.get("/api/v1/stories/84427").await)["section"]["path"], "iran");

        // Publish in World, then move to Iran.
        let (own, v) = create(editor.clone(), "Own story", "world").await;
        let p = publish(editor.clone(), own, v).await;
        assert_eq!(p.status, StatusCode::OK, "published in World: {}", p.body);
        let v = json_of(&p)["version"].as_i64().expect("version");
        let a = send(&app, Method::PATCH, &format!("/api/v1/stories/{own}"), Some(&editor), Some(json!({"version": v, "section": "iran"}))).await;
        assert_error(&a, StatusCode::FORBIDDEN, "forbidden", "publish then move");
        // An own draft written in Iran is not published there.
        let (draft, v) = create(editor.clone(), "Own draft in Iran", "iran").await;
        assert_error(&publish(editor.clone(), draft, v).await, StatusCode::FORBIDDEN, "forbidden", "publish into Iran");

        // The admin's allowed move is in the audit log as soon as the call answered, with the token.
        let v = json_of(&app.get(&format!("/api/v1/stories/{in_world}")).await)["version"].as_i64().expect("version");
        let a = send(&app, Method::PATCH, &format!("/api/v1/stories/{in_world}"), Some(&admin), Some(json!({"version": v, "section": "iran"}))).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let log = app.db.store.audit_log(Some(("story", &in_world.to_string())), 10).await.expect("audit");
        assert_eq!(log[0].action, "story.edit");
        assert!(log[0].actor == "admin@example.org" && log[0].detail.contains("(API token"), "{:?}", log[0]);
        assert!(log.iter().any(|e| e.action == "story.create") && log.iter().any(|e| e.action == "story.publish"));
    }
}

backend_test! {
    async fn publish_with_changes_publishes_what_was_sent(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Editor", Role::Editor).await.token;
        let created = send(&app, Method::POST, "/api/v1/stories", Some(&editor),
            Some(json!({"headline": "Old headline", "section": "iran", "lead": "Lead."}))).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = json_of(&created)["news_id"].as_i64().expect("id");
        let v = json_of(&created)["version"].as_i64().expect("version");
        let publish = format!("/api/v1/stories/{id}/publish");
        // A stale version: 409 and nothing saved or published.
        assert_error(&send(&app, Method::POST, &publish, Some(&editor),
            Some(json!({"version": v - 1, "changes": {"headline": "New headline"}}))).await,
            StatusCode::CONFLICT, "conflict", "stale publish with changes");
        // Refused values: 422 and nothing published.
        assert_error(&send(&app, Method::POST, &publish, Some(&editor),
            Some(json!({"version": v, "changes": {"headline": " "}}))).await,
            StatusCode::UNPROCESSABLE_ENTITY, "invalid", "empty headline");
        assert_error(&send(&app, Method::POST, &publish, Some(&editor),
            Some(json!({"version": v, "changes": {"headline": "x", "colour": "red"}}))).await,
            StatusCode::BAD_REQUEST, "bad_request", "unknown field");
        let story = app.db.store.story(id).await.expect("read").expect("story");
        assert_eq!((story.status, story.headline.as_str()), (StoryStatus::Draft, "Old headline"));

        let published = send(&app, Method::POST, &publish, Some(&editor),
            Some(json!({"version": v, "changes": {"headline": "New headline"}}))).await;
        assert_eq!(published.status, StatusCode::OK, "{}", published.body);
        let p = json_of(&published);
        assert_eq!((p["status"].as_str(), p["headline"].as_str()), (Some("published"), Some("New headline")));
        let page = app.get(local(p["url"].as_str().expect("url"))).await;
        assert!(page.body.contains("<h1>New headline</h1>"));
        // A step refused after the save (published twice) rolls the save back with it.
        let v = p["version"].as_i64().expect("version");
        assert_error(&send(&app, Method::POST, &publish, Some(&editor),
            Some(json!({"version": v, "changes": {"headline": "Never saved"}}))).await,
            StatusCode::CONFLICT, "conflict", "published twice");
        let story = app.db.store.story(id).await.expect("read").expect("story");
        assert_eq!((story.headline.as_str(), story.version), ("New headline", v));

        // The workflow endpoint takes the same `changes` (here: republish with a new lead).
        let workflow = format!("/api/v1/stories/{id}/workflow");
        let v = p["version"].as_i64().expect("version");
        assert_error(&send(&app, Method::POST, &workflow, Some(&editor), Some(json!({"action": "unpublish", "version": v}))).await,
            StatusCode::UNPROCESSABLE_ENTITY, "invalid", "unpublish without a reason");
        assert_eq!(app.db.store.story(id).await.expect("read").expect("story").status, StoryStatus::Published);
        let down = send(&app, Method::POST, &workflow, Some(&editor),
            Some(json!({"action": "unpublish", "version": v, "reason": "Wrong photo."}))).await;
        assert_eq!(down.status, StatusCode::OK, "{}", down.body);
        let v = json_of(&down)["version"].as_i64().expect("version");
        let up = send(&app, Method::POST, &workflow, Some(&editor),
            Some(json!({"action": "republish", "version": v, "changes": {"lead": "Republished lead."}}))).await;
        assert_eq!(up.status, StatusCode::OK, "{}", up.body);
        assert_eq!((json_of(&up)["status"].as_str(), json_of(&up)["lead"].as_str()), (Some("published"), Some("Republished lead.")));
    }
}

backend_test! {
    async fn a_quiet_fix_and_corrections_through_the_api(db) {
        let app = TestApp::new(db).await;
        let editor = app.person("Editor", Role::Editor).await.token;
        let uri = "/api/v1/stories/84427";
        let before = app.db.store.story(84427).await.expect("read").expect("story");
        let fixed = send(&app, Method::PATCH, uri, Some(&editor),
            Some(json!({"version": before.version, "headline": "A typo fixed", "change": "fix"}))).await;
        assert_eq!(fixed.status, StatusCode::OK, "{}", fixed.body);
        let after = app.db.store.story(84427).await.expect("read").expect("story");
        assert_eq!((after.headline.as_str(), after.updated_at), ("A typo fixed", before.updated_at));
        assert_error(&send(&app, Method::PATCH, uri, Some(&editor),
            Some(json!({"version": after.version, "lead": "x", "change": "silently"}))).await,
            StatusCode::BAD_REQUEST, "bad_request", "unknown kind of change");
        let updated = send(&app, Method::PATCH, uri, Some(&editor),
            Some(json!({"version": after.version, "lead": "New lead.", "change": "update"}))).await;
        assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
        let after = app.db.store.story(84427).await.expect("read").expect("story");
        assert!(after.updated_at.is_some() && after.updated_at != before.updated_at, "an update moves dateModified");

        let corrections = "/api/v1/stories/84427/corrections";
        assert_error(&send(&app, Method::POST, corrections, Some(&editor), Some(json!({"version": after.version, "note": ""}))).await,
            StatusCode::UNPROCESSABLE_ENTITY, "invalid", "empty note");
        let first = send(&app, Method::POST, corrections, Some(&editor), Some(json!({"version": after.version, "note": "First."}))).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        let v = json_of(&first)["version"].as_i64().expect("version");
        let second = send(&app, Method::POST, corrections, Some(&editor),
            Some(json!({"version": v, "note": "Second.", "changes": {"lead": "Corrected lead."}}))).await;
        assert_eq!(second.status, StatusCode::OK, "{}", second.body);
        assert_eq!(json_of(&second)["lead"], "Corrected lead.");
        let kept: Vec<String> = app.db.store.corrections(84427).await.expect("corrections").into_iter().map(|c| c.note).collect();
        assert_eq!(kept, ["First.", "Second."]);
        let page = app.get(local(SEED_URL)).await;
        assert!(page.body.contains("First.") && page.body.contains("Second.") && page.body.contains("Corrected lead."));
    }
}
