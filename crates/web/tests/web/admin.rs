//! The back office through the real router, on SQLite and on PostgreSQL:
//! the role matrix over every route, login and sessions, CSRF, the editor,
//! the workflow, corrections, scheduling and revisions.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use newsdesk_domain::roles::Role;
use newsdesk_storage::{NewUser, backend_test};
use sha2::{Digest, Sha256};

use crate::common;
use common::{Answer, SEED_PATH, TestApp};

/// A logged-in browser: its session cookie and CSRF token.
#[derive(Clone)]
struct Session {
    cookie: String,
    csrf: String,
    user_id: i64,
}

async fn user(app: &TestApp, email: &str, role: Role, password: &str) -> i64 {
    let hash = password_auth::generate_hash(password);
    app.db
        .store
        .create_user(
            &NewUser {
                email: email.into(),
                name: email.split('@').next().unwrap_or("x").into(),
                role,
                password_hash: hash,
            },
            Utc::now(),
            &newsdesk_storage::AuditEntry::system("test", "user.create", "user", "", ""),
        )
        .await
        .expect("user")
        .id
}

/// A session made directly in the store (the login form is tested separately).
async fn session_of(app: &TestApp, user_id: i64) -> Session {
    let token = format!("{:064x}", rand_u128(user_id));
    let csrf = format!("{:064x}", rand_u128(user_id + 1_000_000));
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let now = Utc::now();
    app.db.store.create_session(&hash, user_id, &csrf, now, now + Duration::hours(1)).await.expect("session");
    Session { cookie: format!("nd_session={token}"), csrf, user_id }
}

fn rand_u128(salt: i64) -> u128 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    nanos ^ ((salt as u128) << 64) ^ (std::process::id() as u128)
}

async fn get_as(app: &TestApp, s: Option<&Session>, uri: &str) -> Answer {
    let mut b = Request::builder().uri(uri).header(header::ACCEPT, "text/html");
    if let Some(s) = s {
        b = b.header(header::COOKIE, &s.cookie);
    }
    app.request(b.body(Body::empty()).expect("request")).await
}

/// A form post from our own page, with the session's CSRF token unless `csrf` is false.
async fn post_as(app: &TestApp, s: Option<&Session>, uri: &str, form: &[(&str, &str)], csrf: bool) -> Answer {
    let mut fields: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin");
    if let Some(s) = s {
        b = b.header(header::COOKIE, &s.cookie);
        if csrf {
            fields.push(("csrf".into(), s.csrf.clone()));
        }
    }
    let body = serde_urlencoded::to_string(&fields).expect("form");
    app.request(b.body(Body::from(body)).expect("request")).await
}

fn location(a: &Answer) -> &str {
    a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

struct Desk {
    app: TestApp,
    reporter: Session,
    editor: Session,
    admin: Session,
    section_id: i64,
}

async fn desk(db: newsdesk_storage::testing::TestDb) -> Desk {
    let app = TestApp::new(db).await;
    let r = user(&app, "reporter@example.org", Role::Reporter, "reporter password 1").await;
    let e = user(&app, "editor@example.org", Role::Editor, "editor password 12").await;
    let a = user(&app, "admin@example.org", Role::Admin, "admin password 123").await;
    let section_id = app.db.store.sections(app.edition_id).await.expect("sections")[0].id;
    let (reporter, editor, admin) = (session_of(&app, r).await, session_of(&app, e).await, session_of(&app, a).await);
    Desk { app, reporter, editor, admin, section_id }
}

/// Creates a draft through the editor as `s`; returns its News ID.
async fn create_draft(d: &Desk, s: &Session, headline: &str) -> i64 {
    let section = d.section_id.to_string();
    let a = post_as(
        &d.app,
        Some(s),
        "/admin/stories",
        &[
            ("headline", headline),
            ("lead", "A lead."),
            ("body", "First paragraph with **bold**.\n\nSecond paragraph."),
            ("section_id", &section),
            ("tags", "Oil, Exports"),
            ("authors", "Sam Reporter"),
            ("editorial_note", "check the figures"),
        ],
        true,
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let loc = location(&a).to_string();
    loc.trim_start_matches("/admin/stories/")
        .split('/')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("news id in location")
}

async fn version_of(d: &Desk, id: i64) -> String {
    d.app.db.store.story(id).await.expect("read").expect("story").version.to_string()
}

backend_test! {
    async fn every_route_answers_each_role_as_the_matrix_says(db) {
        let d = desk(db).await;
        let own_draft = create_draft(&d, &d.reporter, "Reporter's own draft").await;
        let specs = newsdesk_web::admin::route_specs();
        assert!(specs.len() >= 20, "the table holds the back office");
        let mut checked = 0;
        for spec in &specs {
            let path = spec
                .path
                .replace("{id}", &own_draft.to_string())
                .replace("{version}", "1")
                .replace("{token}", &"0".repeat(64));
            for role in [None, Some(Role::Reporter), Some(Role::Editor), Some(Role::Admin)] {
                // A fresh session per request: some routes (log out) end it.
                let session = match role {
                    None => None,
                    Some(Role::Reporter) => Some(session_of(&d.app, d.reporter.user_id).await),
                    Some(Role::Editor) => Some(session_of(&d.app, d.editor.user_id).await),
                    Some(Role::Admin) => Some(session_of(&d.app, d.admin.user_id).await),
                };
                let a = if spec.method == Method::GET {
                    get_as(&d.app, session.as_ref(), &path).await
                } else {
                    post_as(&d.app, session.as_ref(), &path, &[], true).await
                };
                let allowed = match (spec.permission, role) {
                    (None, _) => true,
                    (Some(_), None) => false,
                    (Some(p), Some(r)) => r.can(p),
                };
                let who = role.map(|r| r.as_str()).unwrap_or("anonymous");
                if allowed {
                    assert!(
                        a.status != StatusCode::UNAUTHORIZED && a.status != StatusCode::FORBIDDEN,
                        "{} {} as {who}: expected to be let in, got {}",
                        spec.method, spec.path, a.status
                    );
                } else if role.is_none() {
                    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{} {} as {who}", spec.method, spec.path);
                    assert!(a.body.contains("name=\"password\""), "401 shows the login form");
                } else {
                    assert_eq!(a.status, StatusCode::FORBIDDEN, "{} {} as {who}", spec.method, spec.path);
                }
                checked += 1;
            }
        }
        assert_eq!(checked, specs.len() * 4);
        // Every page the menu links to is a route of the table (so it has a declared permission).
        // (A fresh session: "log out everywhere" above ended the admin's others.)
        let admin = session_of(&d.app, d.admin.user_id).await;
        let home = get_as(&d.app, Some(&admin), "/admin").await;
        let nav = home.body.split("<nav aria-label=\"Back office\">").nth(1).and_then(|n| n.split("</nav>").next()).unwrap_or_else(|| panic!("nav in {}", home.body));
        for href in nav.split("href=\"").skip(1).filter_map(|h| h.split('"').next()) {
            assert!(specs.iter().any(|s| s.method == Method::GET && s.path == href), "{href} is not in the route table");
        }
        assert_eq!(get_as(&d.app, Some(&admin), "/admin/no-such-page").await.status, StatusCode::NOT_FOUND);
    }
}

backend_test! {
    async fn state_changes_need_the_csrf_token_and_our_origin(db) {
        let d = desk(db).await;
        let a = post_as(&d.app, Some(&d.editor), "/admin/logout", &[], false).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "no token");
        let a = post_as(&d.app, Some(&d.editor), "/admin/logout", &[("csrf", "0000")], false).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "wrong token");
        let req = Request::builder()
            .method(Method::POST)
            .uri("/admin/logout")
            .header(header::COOKIE, &d.editor.cookie)
            .header("sec-fetch-site", "cross-site")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={}", d.editor.csrf)))
            .expect("request");
        assert_eq!(d.app.request(req).await.status, StatusCode::FORBIDDEN, "cross-site, even with the token");
        // The session is still alive after the refused requests; with the token it ends.
        assert_eq!(get_as(&d.app, Some(&d.editor), "/admin").await.status, StatusCode::OK);
        let a = post_as(&d.app, Some(&d.editor), "/admin/logout", &[], true).await;
        assert_eq!((a.status, location(&a)), (StatusCode::SEE_OTHER, "/admin/login"));
        assert_eq!(get_as(&d.app, Some(&d.editor), "/admin").await.status, StatusCode::UNAUTHORIZED);
    }
}

/// Logs in through the form; the session cookie on success.
async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Option<String>, String) {
    let page = get_as(app, None, "/admin/login").await;
    assert_eq!(page.status, StatusCode::OK);
    let login_cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("nd_login="))
        .and_then(|c| c.split(';').next())
        .expect("login cookie")
        .to_string();
    assert!(page.headers.get_all(header::SET_COOKIE).iter().any(|c| {
        let c = c.to_str().unwrap_or_default();
        c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure")
    }));
    let token = login_cookie.trim_start_matches("nd_login=").to_string();
    let body = serde_urlencoded::to_string([
        ("email", email),
        ("password", password),
        ("csrf", &token),
        ("next", "/admin/stories"),
    ])
    .expect("form");
    let req = Request::builder()
        .method(Method::POST)
        .uri("/admin/login")
        .header(header::COOKIE, &login_cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let a = app.request(req).await;
    let session = a
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("nd_session=") && !c.starts_with("nd_session=;"))
        .and_then(|c| c.split(';').next())
        .map(String::from);
    (a.status, session, a.body)
}

backend_test! {
    async fn login_works_and_is_throttled_per_account(db) {
        let app = TestApp::new(db).await;
        user(&app, "jane@example.org", Role::Editor, "a long enough password").await;
        let (status, session, body) = login(&app, "jane@example.org", "wrong password!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(session.is_none());
        assert!(body.contains("Wrong e-mail address or password."));
        let (status, session, _) = login(&app, "Jane@Example.org", "a long enough password").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "the address is not case-sensitive");
        let cookie = session.expect("session cookie");
        let req = Request::builder().uri("/admin/stories").header(header::COOKIE, &cookie).body(Body::empty()).expect("r");
        let a = app.request(req).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));

        for _ in 0..5 {
            assert_eq!(login(&app, "jane@example.org", "guessing wrong").await.0, StatusCode::UNAUTHORIZED);
        }
        let (status, session, body) = login(&app, "jane@example.org", "a long enough password").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits after 5 failures");
        assert!(session.is_none());
        assert!(body.contains("Too many failed logins"));
        let log = app.db.store.audit_log(None, 10).await.expect("audit");
        assert!(log.iter().any(|e| e.action == "login" && e.actor == "jane@example.org"));
    }
}

backend_test! {
    async fn reporters_write_and_submit_editors_publish(db) {
        let d = desk(db).await;
        let id = create_draft(&d, &d.reporter, "Oil exports rise").await;
        let story = d.app.db.store.story(id).await.expect("read").expect("story");
        assert_eq!(story.status.as_str(), "draft");
        assert_eq!(story.slug, "oil-exports-rise");
        assert!(story.body_html.contains("<strong>bold</strong>"));
        assert_eq!(d.app.get(&format!("/news/{id}")).await.status, StatusCode::NOT_FOUND, "drafts are not public");

        // Another reporter's draft is closed to a reporter.
        let other = user(&d.app, "other@example.org", Role::Reporter, "other password 1").await;
        let other = session_of(&d.app, other).await;
        assert_eq!(get_as(&d.app, Some(&other), &format!("/admin/stories/{id}/edit")).await.status, StatusCode::FORBIDDEN);

        let v = version_of(&d, id).await;
        let a = post_as(&d.app, Some(&d.reporter), &format!("/admin/stories/{id}/workflow"), &[("action", "publish"), ("version", &v)], true).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "reporters do not publish");
        let a = post_as(&d.app, Some(&d.reporter), &format!("/admin/stories/{id}/workflow"), &[("action", "submit"), ("version", &v)], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let v = version_of(&d, id).await;
        let a = post_as(&d.app, Some(&d.reporter), &format!("/admin/stories/{id}"), &[("headline", "Changed"), ("section_id", &d.section_id.to_string()), ("version", &v)], true).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "a submitted story is out of the reporter's hands");

        let a = post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/workflow"), &[("action", "publish"), ("version", &v)], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let public = d.app.get(&format!("/news/{id}/oil-exports-rise")).await;
        assert_eq!(public.status, StatusCode::OK);
        assert!(public.body.contains("Oil exports rise"));
        assert!(!public.body.contains("check the figures"), "the editorial note stays internal");

        // Unpublish: 410; republish: back.
        let v = version_of(&d, id).await;
        post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/workflow"), &[("action", "unpublish"), ("version", &v), ("reason", "Test takedown."), ("confirm", "yes")], true).await;
        assert_eq!(d.app.get(&format!("/news/{id}/oil-exports-rise")).await.status, StatusCode::GONE);
        let v = version_of(&d, id).await;
        let a = post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/workflow"), &[("action", "kill"), ("version", &v), ("public_note", ""), ("reason", "Test takedown."), ("confirm", "yes")], true).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "a kill needs a public note");
        let a = post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/workflow"), &[("action", "republish"), ("version", &v)], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert_eq!(d.app.get(&format!("/news/{id}/oil-exports-rise")).await.status, StatusCode::OK);
        let a = post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/workflow"), &[("action", "republish"), ("version", &version_of(&d, id).await)], true).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "a published story cannot be republished");

        let log = d.app.db.store.audit_log(Some(("story", &id.to_string())), 20).await.expect("audit");
        let actions: Vec<&str> = log.iter().rev().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["story.create", "story.submit", "story.publish", "story.unpublish", "story.republish"]);
    }
}

backend_test! {
    async fn a_save_based_on_an_old_version_is_refused_and_keeps_the_text(db) {
        let d = desk(db).await;
        let id = create_draft(&d, &d.editor, "Two editors").await;
        let v = version_of(&d, id).await;
        let section = d.section_id.to_string();
        let first = post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}"), &[("headline", "Two editors: first"), ("section_id", &section), ("version", &v), ("body", "mine")], true).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
        let second = post_as(&d.app, Some(&d.admin), &format!("/admin/stories/{id}"), &[("headline", "Two editors: second"), ("section_id", &section), ("version", &v), ("body", "theirs")], true).await;
        assert_eq!(second.status, StatusCode::CONFLICT);
        assert!(second.body.contains("Someone else saved this story meanwhile"));
        assert!(second.body.contains("Two editors: second"), "the refused text is still in the form");
        let stored = d.app.db.store.story(id).await.expect("read").expect("story");
        assert_eq!(stored.headline, "Two editors: first", "nothing was overwritten");
    }
}

backend_test! {
    async fn bad_input_is_refused_with_clear_messages(db) {
        let d = desk(db).await;
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories", &[("headline", "  "), ("section_id", "999999"), ("slug", "Not A Slug"), ("lead", "kept lead")], true).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        for msg in ["The headline is empty.", "Choose a section.", "The slug may hold only"] {
            assert!(a.body.contains(msg), "{msg}");
        }
        assert!(a.body.contains("kept lead"), "what was typed is kept");
        let a = get_as(&d.app, Some(&d.editor), "/admin/stories?status=bogus").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST);
        assert!(a.body.contains("unknown status `bogus`"));
        let a = get_as(&d.app, Some(&d.editor), "/admin/stories?from=yesterday").await;
        assert!(a.body.contains("from must be a date like 2026-11-27"));
        assert_eq!(get_as(&d.app, Some(&d.editor), "/admin/stories/abc/edit").await.status, StatusCode::NOT_FOUND);
    }
}

backend_test! {
    async fn the_desk_list_filters(db) {
        let d = desk(db).await;
        create_draft(&d, &d.reporter, "Wheat harvest").await;
        create_draft(&d, &d.editor, "Wheat prices").await;
        let a = get_as(&d.app, Some(&d.editor), "/admin/stories?q=wheat").await;
        assert!(a.body.contains("Wheat harvest") && a.body.contains("Wheat prices"));
        assert!(!a.body.contains("Defense Ministry"));
        let a = get_as(&d.app, Some(&d.editor), "/admin/stories?q=wheat&mine=1").await;
        assert!(!a.body.contains("Wheat harvest") && a.body.contains("Wheat prices"));
        let a = get_as(&d.app, Some(&d.editor), "/admin/stories?status=published").await;
        assert!(a.body.contains("Defense Ministry") && !a.body.contains("Wheat"));
        let a = get_as(&d.app, Some(&d.reporter), "/admin/stories").await;
        assert!(a.body.contains("Wheat harvest") && !a.body.contains("Wheat prices"), "reporters see their own");
    }
}

backend_test! {
    async fn corrections_show_on_the_page_and_in_json_ld(db) {
        let d = desk(db).await;
        let before = d.app.get(SEED_PATH).await;
        assert!(!before.body.contains("Correction:"));
        let v = version_of(&d, 84427).await;
        let a = post_as(&d.app, Some(&d.reporter), "/admin/stories/84427/correction", &[("version", &v), ("note", "x")], true).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories/84427/correction", &[("version", &v), ("note", "An earlier version misstated the export figure.")], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let after = d.app.get(SEED_PATH).await;
        assert!(after.body.contains("<p class=\"correction\"><strong>Correction:</strong> <time datetime="), "{}", common::main_of(&after.body));
        assert!(after.body.contains("An earlier version misstated the export figure.</p>"), "{}", common::main_of(&after.body));
        assert!(after.body.contains("Updated:"));
        let modified = |b: &str| b.split("\"dateModified\":\"").nth(1).and_then(|s| s.split('"').next()).map(String::from);
        assert_ne!(modified(&before.body), modified(&after.body), "dateModified moves");
    }
}

backend_test! {
    async fn kill_shows_the_public_note_with_410(db) {
        let d = desk(db).await;
        let v = version_of(&d, 84427).await;
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories/84427/workflow", &[("action", "kill"), ("version", &v), ("public_note", "Withdrawn by court order."), ("reason", "Test takedown."), ("confirm", "yes")], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let page = d.app.get(SEED_PATH).await;
        assert_eq!(page.status, StatusCode::GONE);
        assert!(page.body.contains("Withdrawn by court order."));
        let v = version_of(&d, 84427).await;
        let a = post_as(&d.app, Some(&d.admin), "/admin/stories/84427", &[("headline", "x"), ("section_id", &d.section_id.to_string()), ("version", &v)], true).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "killed stories are not edited");
    }
}

backend_test! {
    async fn scheduled_stories_go_out_once_on_time(db) {
        let d = desk(db).await;
        let id = create_draft(&d, &d.editor, "Embargoed report").await;
        let v = version_of(&d, id).await;
        let tz = chrono_tz::Asia::Tehran;
        let past = (Utc::now() - Duration::hours(1)).with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string();
        let a = post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/workflow"), &[("action", "schedule"), ("version", &v), ("scheduled_at", &past)], true).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        let at = (Utc::now() + Duration::hours(2)).with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string();
        let a = post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/workflow"), &[("action", "schedule"), ("version", &v), ("scheduled_at", &at)], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let extras = d.app.db.store.story_extras(id).await.expect("extras").expect("story");
        let due = extras.scheduled_at.expect("scheduled");
        assert!((due - (Utc::now() + Duration::hours(2))).num_seconds().abs() < 61, "the time is read in the edition's zone");

        // Not public before its time: no page, feed or sitemap.
        assert_eq!(d.app.get(&format!("/news/{id}")).await.status, StatusCode::NOT_FOUND);
        assert!(!d.app.get("/feed.rss").await.body.contains("Embargoed report"));
        assert!(d.app.db.store.publish_due(Utc::now()).await.expect("tick").is_empty());

        // Two nodes ticking at the due time: the story goes out once.
        let (a, b) = tokio::join!(d.app.db.store.publish_due(due), d.app.db.store.publish_due(due));
        let mut all = a.expect("node a");
        all.extend(b.expect("node b"));
        assert_eq!(all, vec![id]);
        d.app.sync().await;
        assert_eq!(d.app.get(&format!("/news/{id}")).await.status, StatusCode::MOVED_PERMANENTLY);
        let revs = d.app.db.store.revisions(id).await.expect("revisions");
        assert_eq!(revs.iter().filter(|r| r.note == "publish (scheduled)").count(), 1);
    }
}

backend_test! {
    async fn revisions_are_listed_compared_and_restored(db) {
        let d = desk(db).await;
        let id = create_draft(&d, &d.editor, "The quick brown fox").await;
        let v = version_of(&d, id).await;
        let section = d.section_id.to_string();
        post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}"), &[("headline", "The slow brown fox"), ("section_id", &section), ("version", &v), ("body", "new body")], true).await;
        let list = get_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/revisions")).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.body.contains("The quick brown fox") && list.body.contains("The slow brown fox"));
        let one = get_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/revisions/1")).await;
        assert!(one.body.contains("<del>quick</del>") && one.body.contains("<ins>slow</ins>"), "word-level diff");
        let current = version_of(&d, id).await;
        let a = post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/revisions/1/restore"), &[("current", &current)], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let story = d.app.db.store.story(id).await.expect("read").expect("story");
        assert_eq!(story.headline, "The quick brown fox");
        assert!(story.version > current.parse::<i64>().expect("n"), "restored as a new revision");
    }
}

backend_test! {
    async fn admins_invite_users_who_set_their_password_once(db) {
        let d = desk(db).await;
        let a = post_as(&d.app, Some(&d.admin), "/admin/users", &[("email", "new@example.org"), ("name", "New Person"), ("role", "reporter")], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let token = location(&a).split("invite=").nth(1).expect("token").to_string();
        let shown = get_as(&d.app, Some(&d.admin), location(&a)).await;
        assert!(shown.body.contains(&format!("https://news.example/admin/invite/{token}")));
        let a = post_as(&d.app, Some(&d.admin), "/admin/users", &[("email", "new@example.org"), ("role", "reporter")], true).await;
        assert!(a.body.contains("There is already a user new@example.org."));
        let a = post_as(&d.app, Some(&d.admin), "/admin/users", &[("email", "not an address"), ("role", "reporter")], true).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);

        let invite = format!("/admin/invite/{token}");
        assert_eq!(get_as(&d.app, None, &invite).await.status, StatusCode::OK);
        let a = post_as(&d.app, None, &invite, &[("new", "short"), ("confirm", "short")], false).await;
        assert!(a.body.contains("at least 12 characters"));
        let a = post_as(&d.app, None, &invite, &[("new", "a brand new password"), ("confirm", "a brand new password")], false).await;
        // Accepting signs the new user in and lands on the dashboard, welcomed.
        assert_eq!((a.status, location(&a)), (StatusCode::SEE_OTHER, "/admin?welcome=1"));
        let cookie = a.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with("nd_session=")).expect("a session cookie").split(';').next().expect("pair").to_string();
        let welcome = d.app.request(Request::get("/admin?welcome=1").header(header::COOKIE, &cookie).body(Body::empty()).expect("request")).await;
        assert_eq!(welcome.status, StatusCode::OK);
        assert!(welcome.body.contains("your password is set and you are signed in"), "{}", welcome.body);
        assert_eq!(login(&d.app, "new@example.org", "a brand new password").await.0, StatusCode::SEE_OTHER);
        let again = post_as(&d.app, None, &invite, &[("new", "another password!"), ("confirm", "another password!")], false).await;
        assert_eq!(again.status, StatusCode::GONE, "an invite works once");

        // Deactivating ends the user's sessions at once.
        let (u, _) = d.app.db.store.user_by_email("new@example.org").await.expect("read").expect("user");
        let s = session_of(&d.app, u.id).await;
        assert_eq!(get_as(&d.app, Some(&s), "/admin").await.status, StatusCode::OK);
        post_as(&d.app, Some(&d.admin), &format!("/admin/users/{}/active", u.id), &[("active", "0")], true).await;
        assert_eq!(get_as(&d.app, Some(&s), "/admin").await.status, StatusCode::UNAUTHORIZED);
        let audit = get_as(&d.app, Some(&d.admin), "/admin/audit").await;
        assert!(audit.body.contains("user.deactivate") && audit.body.contains("user.create"));
    }
}

backend_test! {
    async fn drafts_are_previewed_as_the_public_page_behind_the_login(db) {
        let d = desk(db).await;
        let id = create_draft(&d, &d.reporter, "Preview me").await;
        let a = get_as(&d.app, Some(&d.reporter), &format!("/admin/stories/{id}/preview")).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.body.contains("<h1>Preview me</h1>"));
        assert!(a.body.contains("Preview: this story is not public."));
        assert!(a.body.contains("noindex"));
        assert!(a.body.contains("<strong>bold</strong>"), "the body is rendered by the public page's code");
        assert_eq!(get_as(&d.app, None, &format!("/admin/stories/{id}/preview")).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(d.app.get(&format!("/news/{id}")).await.status, StatusCode::NOT_FOUND);
        // The live preview of the editor uses the same renderer.
        let a = post_as(&d.app, Some(&d.reporter), "/admin/preview", &[("body", "Hello <script>x</script>*there*")], true).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.body.contains("<em>there</em>") && !a.body.contains("<script>"), "{}", a.body);
    }
}

backend_test! {
    async fn admins_manage_subscribers_whose_keys_open_the_wire(db) {
        let d = desk(db).await;
        let a = post_as(&d.app, Some(&d.admin), "/admin/subscribers", &[("name", "Daily Planet"), ("rate_limit", "60"), ("sections", "iran")], true).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let key = a.body.split("<code class=\"invite\">").nth(1).and_then(|s| s.split('<').next()).expect("key shown").to_string();
        assert!(key.starts_with("nd_"), "{key}");
        let again = get_as(&d.app, Some(&d.admin), "/admin/subscribers").await;
        assert!(again.body.contains("Daily Planet") && !again.body.contains(&key), "the key is shown once only");
        let req = Request::builder()
            .uri("/api/ninjs/v2/items/84427")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .expect("request");
        assert_eq!(d.app.request(req).await.status, StatusCode::OK, "the key works on the wire");

        let a = post_as(&d.app, Some(&d.admin), "/admin/subscribers", &[("name", "Daily Planet"), ("rate_limit", "60")], true).await;
        assert!(a.body.contains("exists already"));
        let a = post_as(&d.app, Some(&d.admin), "/admin/subscribers", &[("name", "X"), ("rate_limit", "0")], true).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        let a = post_as(&d.app, Some(&d.admin), "/admin/subscribers", &[("name", "Y"), ("rate_limit", "5"), ("sections", "nowhere")], true).await;
        assert!(a.body.contains("There is no section `nowhere`."));

        let s = d.app.db.store.subscriber_by_name("Daily Planet").await.expect("read").expect("subscriber");
        let a = post_as(&d.app, Some(&d.admin), &format!("/admin/subscribers/{}/webhooks", s.id), &[("url", "ftp://x")], true).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        let a = post_as(&d.app, Some(&d.admin), &format!("/admin/subscribers/{}/webhooks", s.id), &[("url", "https://planet.example/hook")], true).await;
        assert!(a.body.contains("webhook signing secret"));
        assert_eq!(get_as(&d.app, Some(&d.admin), &format!("/admin/subscribers/{}/deliveries", s.id)).await.status, StatusCode::OK);
        assert_eq!(get_as(&d.app, Some(&d.editor), "/admin/subscribers").await.status, StatusCode::FORBIDDEN);

        post_as(&d.app, Some(&d.admin), &format!("/admin/subscribers/{}/revoke", s.id), &[], true).await;
        let req = Request::builder()
            .uri("/api/ninjs/v2/items/84427")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .expect("request");
        assert_eq!(d.app.request(req).await.status, StatusCode::UNAUTHORIZED, "revoked keys stop working");
    }
}

backend_test! {
    async fn renamed_sections_and_merged_tags_keep_old_addresses_working(db) {
        let d = desk(db).await;
        let seed = d.app.get(SEED_PATH).await;
        assert!(seed.body.contains("<li><a href=\"/section/iran\">Iran</a></li>"));
        let sections = d.app.db.store.sections(d.app.edition_id).await.expect("sections");
        let iran = sections.iter().find(|s| s.path == "iran").expect("iran");
        let a = post_as(&d.app, Some(&d.admin), "/admin/sections", &[("name", "Nuclear Talks"), ("parent_id", &iran.id.to_string())], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let a = post_as(&d.app, Some(&d.admin), "/admin/sections", &[("name", "Nuclear Talks"), ("parent_id", &iran.id.to_string())], true).await;
        assert!(a.body.contains("there is already a section at /section/iran/nuclear-talks"));

        let a = post_as(&d.app, Some(&d.admin), &format!("/admin/sections/{}", iran.id), &[("name", "Iran News"), ("slug", "iran-news"), ("position", "1")], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let old = d.app.get("/section/iran").await;
        assert_eq!(old.status, StatusCode::MOVED_PERMANENTLY);
        assert_eq!(location(&old), "/section/iran-news");
        let sub = d.app.get("/section/iran/nuclear-talks").await;
        assert_eq!(location(&sub), "/section/iran-news/nuclear-talks", "subsections move along");
        assert_eq!(d.app.get("/section/iran-news").await.status, StatusCode::OK);
        let seed = d.app.get(SEED_PATH).await;
        assert!(seed.body.contains("<li><a href=\"/section/iran-news\">Iran News</a></li>"), "cached pages were dropped");

        let a = post_as(&d.app, Some(&d.admin), &format!("/admin/sections/{}", iran.id), &[("name", "Iran News"), ("slug", "Bad Slug!")], true).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        let sub_id = d.app.db.store.sections(d.app.edition_id).await.expect("s").into_iter().find(|s| s.slug == "nuclear-talks").expect("sub").id;
        let a = post_as(&d.app, Some(&d.admin), &format!("/admin/sections/{}", iran.id), &[("name", "Iran News"), ("parent_id", &sub_id.to_string())], true).await;
        assert!(a.body.contains("cannot move into itself"), "no cycles");
        assert_eq!(post_as(&d.app, Some(&d.editor), "/admin/sections", &[("name", "X")], true).await.status, StatusCode::FORBIDDEN);

        // Tags: the seed has Defense; a draft-free published story gets "Defence".
        let id = create_draft(&d, &d.editor, "Spelling").await;
        let mut input = newsdesk_storage::StoryInput::from_saved_page(
            &newsdesk_domain::saved_page::parse(common::SEED).expect("seed"),
            &d.app.db.store.default_edition().await.expect("e").expect("edition"),
        )
        .expect("input");
        input.news_id = Some(id);
        input.headline = "Spelling".into();
        input.tags = vec!["Defence".into()];
        d.app.db.store.save_story(&input).await.expect("save");
        let tags = d.app.db.store.tags_with_counts(d.app.edition_id).await.expect("tags");
        let from = tags.iter().find(|(t, _)| t.slug == "defence").expect("defence").0.id;
        let into = tags.iter().find(|(t, _)| t.slug == "defense").expect("defense").0.id;
        let a = post_as(&d.app, Some(&d.admin), "/admin/tags/merge", &[("from", &from.to_string()), ("into", &into.to_string())], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(location(&d.app.get("/tag/defence").await), "/tag/defense");
        let list = d.app.get("/tag/defense").await;
        assert!(list.body.contains("Spelling") && list.body.contains("Defense Ministry"), "both stories under the kept tag");
        let a = post_as(&d.app, Some(&d.admin), "/admin/tags/merge", &[("from", &into.to_string()), ("into", &into.to_string())], true).await;
        assert!(a.body.contains("cannot be merged into itself"));
    }
}

/// Everything a subscriber or reader can see of the seed story, at one moment.
struct Seen {
    page_status: StatusCode,
    page: String,
    rss: String,
    sitemap: String,
    ninjs: serde_json::Value,
}

async fn seen(d: &Desk, key: &str) -> Seen {
    let page = d.app.get(SEED_PATH).await;
    let rss = d.app.get("/feed.rss").await.body;
    let sitemap = d.app.get("/sitemaps/stories-2023-11.xml").await.body;
    let req = Request::builder()
        .uri("/api/ninjs/v2/items/84427")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::empty())
        .expect("request");
    let ninjs = serde_json::from_str(&d.app.request(req).await.body).unwrap_or(serde_json::Value::Null);
    Seen { page_status: page.status, page: page.body, rss, sitemap, ninjs }
}

/// The event kinds queued for the subscriber's webhook, oldest first.
async fn events(d: &Desk, subscriber: i64) -> Vec<String> {
    newsdesk_web::webhooks::dispatch_once(&d.app.state).await.expect("dispatch");
    let mut out: Vec<(i64, String)> = d
        .app
        .db
        .store
        .outbox_of(subscriber, 100)
        .await
        .expect("outbox")
        .into_iter()
        .map(|e| (e.outbox_id, e.kind))
        .collect();
    out.sort();
    out.into_iter().map(|(_, k)| k).collect()
}

backend_test! {
    async fn corrections_unpublish_and_kill_reach_every_channel_at_once(db) {
        let d = desk(db).await;
        let s = d
            .app
            .db
            .store
            .add_subscriber(&newsdesk_storage::NewSubscriber { name: "Wire".into(), sections: vec![], editions: vec![], rate_limit: 1000 }, &newsdesk_storage::AuditEntry::system("test", "subscriber.create", "subscriber", "", ""))
            .await
            .expect("subscriber");
        let (key, _) = d.app.db.store.create_api_key(s.id, &newsdesk_storage::AuditEntry::system("test", "subscriber.key", "subscriber", "", "")).await.expect("key");
        d.app.db.store.add_webhook(s.id, "http://127.0.0.1:9/hook", &newsdesk_storage::AuditEntry::system("test", "subscriber.webhook", "subscriber", "", "")).await.expect("webhook");
        // The seed story was published after the wire started: announced first.
        assert_eq!(events(&d, s.id).await, ["publish"]);
        let before = seen(&d, &key).await;
        assert_eq!(before.page_status, StatusCode::OK);
        assert!(before.rss.contains(SEED_PATH) && before.sitemap.contains(SEED_PATH));
        assert_eq!(before.ninjs["pubstatus"], "usable");

        // A correction: page, JSON-LD, feed, sitemap and ninjs move; a webhook event is queued.
        let v = version_of(&d, 84427).await;
        post_as(&d.app, Some(&d.editor), "/admin/stories/84427/correction", &[("version", &v), ("note", "Figures fixed.")], true).await;
        let after = seen(&d, &key).await;
        assert!(after.page.contains("Figures fixed.") && after.page.contains("Updated:"));
        let modified = |b: &str| b.split("\"dateModified\":\"").nth(1).and_then(|s| s.split('"').next()).map(String::from);
        assert_ne!(modified(&before.page), modified(&after.page), "JSON-LD dateModified");
        let lastmod = |b: &str| b.split(SEED_PATH).nth(1).and_then(|s| s.split("<lastmod>").nth(1)).and_then(|s| s.split('<').next()).map(String::from);
        assert_ne!(lastmod(&before.sitemap), lastmod(&after.sitemap), "sitemap lastmod");
        assert_ne!(before.ninjs["versioncreated"], after.ninjs["versioncreated"], "ninjs versioncreated");
        assert_ne!(after.ninjs["version"], before.ninjs["version"], "ninjs version");
        assert_eq!(events(&d, s.id).await, ["publish", "correction"]);

        // Unpublish: 410, gone from feed and sitemap, ninjs withheld, webhook.
        let v = version_of(&d, 84427).await;
        post_as(&d.app, Some(&d.editor), "/admin/stories/84427/workflow", &[("action", "unpublish"), ("version", &v), ("reason", "Test takedown."), ("confirm", "yes")], true).await;
        let now = seen(&d, &key).await;
        assert_eq!(now.page_status, StatusCode::GONE);
        assert!(!now.rss.contains(SEED_PATH) && !now.sitemap.contains(SEED_PATH));
        assert_eq!(now.ninjs["pubstatus"], "withheld");
        assert_eq!(events(&d, s.id).await, ["publish", "correction", "unpublish"]);

        // Republish, then kill: 410 with the note, canceled on the wire.
        let v = version_of(&d, 84427).await;
        post_as(&d.app, Some(&d.editor), "/admin/stories/84427/workflow", &[("action", "republish"), ("version", &v)], true).await;
        assert_eq!(seen(&d, &key).await.page_status, StatusCode::OK);
        assert_eq!(events(&d, s.id).await, ["publish", "correction", "unpublish", "publish"]);
        let v = version_of(&d, 84427).await;
        post_as(&d.app, Some(&d.editor), "/admin/stories/84427/workflow", &[("action", "kill"), ("version", &v), ("public_note", "Legal takedown."), ("reason", "Test takedown."), ("confirm", "yes")], true).await;
        let now = seen(&d, &key).await;
        assert_eq!(now.page_status, StatusCode::GONE);
        assert!(now.page.contains("Legal takedown."));
        assert!(!now.rss.contains(SEED_PATH) && !now.sitemap.contains(SEED_PATH));
        assert_eq!(now.ninjs["pubstatus"], "canceled");
        assert_eq!(events(&d, s.id).await, ["publish", "correction", "unpublish", "publish", "kill"]);
    }
}

backend_test! {
    async fn the_editor_links_a_story_to_its_translation(db) {
        let d = desk(db).await;
        let fa = d
            .app
            .db
            .store
            .upsert_edition(&newsdesk_storage::NewEdition {
                lang: "fa".into(),
                name: "خبرگزاری آزمون".into(),
                direction: newsdesk_domain::Direction::Rtl,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: false,
            })
            .await
            .expect("Persian edition");
        let (fa_id, _) = d
            .app
            .db
            .store
            .save_story(&newsdesk_storage::StoryInput {
                news_id: None,
                edition_id: fa.id,
                section: newsdesk_storage::SectionRef::Names(vec!["ایران".into()]),
                slug: None,
                headline: "ترجمه خبر".into(),
                lead: "خلاصه.".into(),
                body_source: "متن.".into(),
                body_format: newsdesk_domain::BodyFormat::Text,
                photo_id: None,
                gallery_id: None,
                status: newsdesk_domain::StoryStatus::Published,
                published_at: Some(common::seed_time()),
                tags: Vec::new(),
                authors: Vec::new(),
                agency: None,
                actor: "test".into(),
            })
            .await
            .expect("Persian story");
        d.app.sync().await;
        let url = format!("/admin/stories/{fa_id}/translation");
        // Reporters may not link; a malformed or unknown News ID is refused with a message.
        let reporter = post_as(&d.app, Some(&d.reporter), &url, &[("translation_of", "84427")], true).await;
        assert_eq!(reporter.status, StatusCode::FORBIDDEN);
        let bad = post_as(&d.app, Some(&d.editor), &url, &[("translation_of", "84x27")], true).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("must be a News ID"), "{}", bad.body);
        let unknown = post_as(&d.app, Some(&d.editor), &url, &[("translation_of", "999999")], true).await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        // Persian digits are read as the News ID.
        let ok = post_as(&d.app, Some(&d.editor), &url, &[("translation_of", "۸۴۴۲۷")], true).await;
        let edit = format!("/admin/stories/{fa_id}/edit?saved=translation");
        assert_eq!((ok.status, location(&ok)), (StatusCode::SEE_OTHER, edit.as_str()));
        let editor = get_as(&d.app, Some(&d.editor), &edit).await;
        assert!(editor.body.contains("The translation links were saved."));
        let listed = "<a href=\"/admin/stories/84427/edit\">News ID 84427</a>";
        assert!(editor.body.contains(listed), "the editor lists the link");
        assert!(editor.body.contains("name=\"translation_of\""));
        let seed_editor = get_as(&d.app, Some(&d.editor), "/admin/stories/84427/edit").await;
        assert!(seed_editor.body.contains(&format!("News ID {fa_id}</a>")), "and on the other side");
        // The public page of the seed now points at the translation.
        let page = d.app.get(common::SEED_PATH).await;
        assert!(page.body.contains("hreflang=\"fa\" href=\"https://news.example/fa/news/"), "hreflang after linking");
        // Empty unlinks.
        post_as(&d.app, Some(&d.editor), &url, &[("translation_of", "")], true).await;
        assert!(d.app.db.store.translations(84427).await.expect("read").is_empty());
        let page = d.app.get(common::SEED_PATH).await;
        assert!(!page.body.contains("hreflang=\"fa\" href=\"https://news.example/fa/news/"));
    }
}

backend_test! {
    async fn stories_are_written_for_any_edition(db) {
        let d = desk(db).await;
        let fa = d
            .app
            .db
            .store
            .upsert_edition(&newsdesk_storage::NewEdition {
                lang: "fa".into(),
                name: "خبرگزاری".into(),
                direction: newsdesk_domain::Direction::Rtl,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: false,
            })
            .await
            .expect("fa");
        let section = d.app.db.store.ensure_section_path(fa.id, &["ایران".to_string()]).await.expect("section");
        d.app.state.editions.store(std::sync::Arc::new(d.app.db.store.editions().await.expect("editions")));
        let form = get_as(&d.app, Some(&d.editor), "/admin/stories/new?edition=fa").await;
        assert!(form.body.contains("name=\"edition\" value=\"fa\"") && form.body.contains("ایران"), "the fa sections");
        assert_eq!(get_as(&d.app, Some(&d.editor), "/admin/stories/new?edition=xx").await.status, StatusCode::BAD_REQUEST);
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories", &[("headline", "خبر تازه"), ("section_id", &section.id.to_string()), ("edition", "fa")], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let id: i64 = location(&a).trim_start_matches("/admin/stories/").split('/').next().and_then(|n| n.parse().ok()).expect("id");
        let story = d.app.db.store.story(id).await.expect("read").expect("story");
        assert_eq!(story.edition_id, fa.id);
        // An English section is refused for a Persian story.
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories", &[("headline", "x"), ("section_id", &d.section_id.to_string()), ("edition", "fa")], true).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

backend_test! {
    async fn admins_set_an_editions_calendar_digits_and_comment_moderation(db) {
        let d = desk(db).await;
        let e = d.app.edition_id;
        let page = get_as(&d.app, Some(&d.admin), "/admin/editions").await;
        assert!(page.body.contains("Asia/Tehran"));
        let a = post_as(&d.app, Some(&d.admin), &format!("/admin/editions/{e}"), &[("calendar", "solar_hijri"), ("digits", "persian"), ("moderation", "post")], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let seed = d.app.get(SEED_PATH).await;
        let date = seed.body.split("Publish Date: <time").nth(1).and_then(|s| s.split("</time>").next()).unwrap_or_default().to_string();
        assert!(date.contains("۱۴۰۲") && date.contains("۱۴:۳۷"), "the page follows the new calendar at once: {date}");
        assert_eq!(d.app.db.store.edition_comment_moderation(e).await.expect("read").as_deref(), Some("post"));
        let audited = |log: Vec<newsdesk_storage::AuditEntry>| log.iter().filter(|x| x.action == "edition.update").count();
        let log = d.app.db.store.audit_log(None, 50).await.expect("audit");
        assert_eq!(audited(log), 1, "the change committed with its audit entry");
        let a = post_as(&d.app, Some(&d.admin), &format!("/admin/editions/{e}"), &[("calendar", "mayan"), ("digits", "latin")], true).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains("unknown calendar `mayan`"));
        let log = d.app.db.store.audit_log(None, 50).await.expect("audit");
        assert_eq!(audited(log), 1, "a refused change leaves no entry");
        assert_eq!(post_as(&d.app, Some(&d.editor), &format!("/admin/editions/{e}"), &[("calendar", "gregorian"), ("digits", "latin")], true).await.status, StatusCode::FORBIDDEN);
    }
}

backend_test! {
    async fn a_correction_in_the_second_of_publication_still_shows_as_an_update(db) {
        let d = desk(db).await;
        let id = create_draft(&d, &d.editor, "Quick fix").await;
        let v = version_of(&d, id).await;
        post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/workflow"), &[("action", "publish"), ("version", &v)], true).await;
        let v = version_of(&d, id).await;
        post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/correction"), &[("version", &v), ("note", "Name spelled right.")], true).await;
        // The same second as the publication (fast hands, or a fast machine).
        let published = d.app.db.store.story(id).await.expect("read").expect("story").published_at.expect("published");
        d.app.db.store.mark_updated(id, published).await.expect("updated");
        d.app.sync().await;
        let page = d.app.get(&format!("/news/{id}/quick-fix")).await;
        assert!(page.body.contains("Updated:") && page.body.contains("Name spelled right."), "{}", common::main_of(&page.body));
    }
}

backend_test! {
    async fn editors_assigned_to_sections_act_only_there(db) {
        let d = desk(db).await;
        let sections = d.app.db.store.sections(d.app.edition_id).await.expect("sections");
        let iran = sections.iter().find(|s| s.path == "iran").expect("iran").id;
        let world = d.app.db.store.ensure_section_path(d.app.edition_id, &["World".to_string()]).await.expect("world").id;
        // The admin assigns the editor to World only.
        let a = post_as(&d.app, Some(&d.admin), &format!("/admin/users/{}/sections", d.editor.user_id), &[("sections", &world.to_string())], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        // The users page confirms the save and shows the assignment as a ticked box in the section tree.
        assert_eq!(location(&a), "/admin/users?notice=sections");
        let page = get_as(&d.app, Some(&d.admin), location(&a)).await.body;
        assert!(page.contains(r#"<p class="notice saved" role="status">Sections saved.</p>"#), "{page}");
        assert!(page.contains(&format!(r#"name="sections" value="{world}" checked>"#)), "{page}");
        assert!(page.contains(&format!(r#"name="sections" value="{iran}">"#)), "{page}");
        let page = get_as(&d.app, Some(&d.admin), "/admin/users?notice=%3Cscript%3E").await.body;
        assert!(!page.contains("notice saved"), "unknown notices are not shown");
        let a = post_as(&d.app, Some(&d.admin), &format!("/admin/users/{}/sections", d.editor.user_id), &[("sections", &world.to_string()), ("sections", "999999")], true).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "unknown sections are refused");

        // The seed story is in Iran: the editor may not correct, unpublish or edit it.
        let v = version_of(&d, 84427).await;
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories/84427/correction", &[("version", &v), ("note", "x")], true).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert!(a.body.contains("assigned to other sections"));
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories/84427/workflow", &[("action", "unpublish"), ("version", &v), ("reason", "Test takedown."), ("confirm", "yes")], true).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories/84427", &[("headline", "x"), ("section_id", &iran.to_string()), ("version", &v)], true).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        // A reporter's submitted story in World: the editor publishes it.
        for (section, allowed) in [(world, true), (iran, false)] {
            let a = post_as(&d.app, Some(&d.reporter), "/admin/stories", &[("headline", "Desk story"), ("section_id", &section.to_string())], true).await;
            let id: i64 = location(&a).trim_start_matches("/admin/stories/").split('/').next().and_then(|n| n.parse().ok()).expect("id");
            let v = version_of(&d, id).await;
            post_as(&d.app, Some(&d.reporter), &format!("/admin/stories/{id}/workflow"), &[("action", "submit"), ("version", &v)], true).await;
            let v = version_of(&d, id).await;
            let a = post_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/workflow"), &[("action", "publish"), ("version", &v)], true).await;
            let want = if allowed { StatusCode::SEE_OTHER } else { StatusCode::FORBIDDEN };
            assert_eq!(a.status, want, "section {section}: {}", a.body);
        }
        // Admins are never limited; clearing the assignment frees the editor.
        post_as(&d.app, Some(&d.admin), &format!("/admin/users/{}/sections", d.editor.user_id), &[], true).await;
        let v = version_of(&d, 84427).await;
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories/84427/correction", &[("version", &v), ("note", "Fixed.")], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
    }
}

backend_test! {
    async fn a_scoped_editor_moves_no_story_and_touches_no_comment_outside_the_scope(db) {
        let d = desk(db).await;
        let sections = d.app.db.store.sections(d.app.edition_id).await.expect("sections");
        let iran = sections.iter().find(|s| s.path == "iran").expect("iran").id.to_string();
        let world = d.app.db.store.ensure_section_path(d.app.edition_id, &["World".to_string()]).await.expect("world").id.to_string();
        let a = post_as(&d.app, Some(&d.admin), &format!("/admin/users/{}/sections", d.editor.user_id), &[("sections", &world)], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let create = |s: Session, headline: &'static str, section: String| {
            let app = &d.app;
            async move {
                let a = post_as(app, Some(&s), "/admin/stories", &[("headline", headline), ("section_id", &section)], true).await;
                assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
                location(&a).trim_start_matches("/admin/stories/").split('/').next().and_then(|n| n.parse::<i64>().ok()).expect("id")
            }
        };
        let act = |s: Session, id: i64, action: &'static str| {
            let d = &d;
            async move {
                let v = version_of(d, id).await;
                post_as(&d.app, Some(&s), &format!("/admin/stories/{id}/workflow"), &[("action", action), ("version", &v), ("reason", "Test takedown."), ("confirm", "yes")], true).await.status
            }
        };
        let save = |s: Session, id: i64, section: String| {
            let d = &d;
            async move {
                let v = version_of(d, id).await;
                let fields = [("headline", "Moved"), ("section_id", section.as_str()), ("version", v.as_str()), ("change", "update")];
                post_as(&d.app, Some(&s), &format!("/admin/stories/{id}"), &fields, true).await.status
            }
        };
        let in_world = create(d.admin.clone(), "A World story", world.clone()).await;
        assert_eq!(act(d.admin.clone(), in_world, "publish").await, StatusCode::SEE_OTHER);

        // Out of World, into World: both refused.
        assert_eq!(save(d.editor.clone(), in_world, iran.clone()).await, StatusCode::FORBIDDEN, "World → Iran");
        assert_eq!(save(d.editor.clone(), 84427, world.clone()).await, StatusCode::FORBIDDEN, "Iran → World");
        // Publish in World, then move to Iran.
        let own = create(d.editor.clone(), "Own story", world.clone()).await;
        assert_eq!(act(d.editor.clone(), own, "publish").await, StatusCode::SEE_OTHER);
        assert_eq!(save(d.editor.clone(), own, iran.clone()).await, StatusCode::FORBIDDEN, "publish then move");
        assert_eq!(d.app.db.store.story(own).await.expect("read").expect("story").section_id.to_string(), world);
        // An own draft in Iran is not published there.
        let draft = create(d.editor.clone(), "Own draft in Iran", iran.clone()).await;
        assert_eq!(act(d.editor.clone(), draft, "publish").await, StatusCode::FORBIDDEN, "publish into Iran");

        // Comments and translations of a story in Iran.
        let a = post_as(&d.app, Some(&d.editor), "/admin/comments/story/84427/closed", &[("closed", "1")], true).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "close comments: {}", a.body);
        let comment = newsdesk_storage::NewComment {
            news_id: 84427,
            parent_id: None,
            name: "Reader".into(),
            email: String::new(),
            body: "A comment".into(),
            body_key: "a comment".into(),
            ip_key: "ip".into(),
            status: newsdesk_domain::comments::CommentStatus::Pending,
        };
        let limits = newsdesk_storage::PostLimits { per_ip: 0, per_story: 0, window_secs: 60, duplicate_secs: 0 };
        let id = match d.app.db.store.post_comment(&comment, &limits, Utc::now()).await.expect("comment") {
            newsdesk_storage::PostOutcome::Stored(c) => c.id,
            other => panic!("{other:?}"),
        };
        let a = post_as(&d.app, Some(&d.editor), "/admin/comments/moderate", &[("one", &format!("{id}:approve"))], true).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "moderate: {}", a.body);
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories/84427/translation", &[("translation_of", &in_world.to_string())], true).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "translation: {}", a.body);
        // The admin may do all of it.
        let a = post_as(&d.app, Some(&d.admin), "/admin/comments/moderate", &[("one", &format!("{id}:approve"))], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    }
}

/// The editor form's fields of story `id` as stored, with `changes` over them.
async fn editor_form(d: &Desk, id: i64, changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let story = d.app.db.store.story(id).await.expect("read").expect("story");
    let mut form: Vec<(&'static str, String)> = vec![
        ("headline", story.headline.clone()),
        ("lead", story.lead.clone()),
        ("body", story.body_source.clone()),
        ("section_id", story.section_id.to_string()),
        ("tags", story.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")),
        ("authors", story.authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")),
        ("slug", story.slug.clone()),
        ("version", story.version.to_string()),
    ];
    for (k, v) in changes {
        form.retain(|(f, _)| f != k);
        form.push((k, v.to_string()));
    }
    form
}

async fn post_form(d: &Desk, s: &Session, uri: &str, form: &[(&'static str, String)]) -> Answer {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_as(&d.app, Some(s), uri, &fields, true).await
}

/// The JSON-LD `dateModified` of a page.
fn date_modified(body: &str) -> Option<String> {
    body.split("\"dateModified\":\"").nth(1).and_then(|s| s.split('"').next()).map(String::from)
}

backend_test! {
    async fn publish_from_the_editor_publishes_what_is_on_the_screen(db) {
        let d = desk(db).await;
        let id = create_draft(&d, &d.editor, "Old headline").await;
        // The editor shows the publish bar with the step buttons inside the form.
        let page = get_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/edit")).await;
        assert!(page.body.contains("class=\"publish-bar\""), "{}", page.body);
        assert!(page.body.contains(&format!("name=\"action\" value=\"publish\" formaction=\"/admin/stories/{id}\"")), "{}", page.body);

        // A stale version: 409, nothing published, the typed headline kept in the form.
        let mut stale = editor_form(&d, id, &[("headline", "Typed while someone saved"), ("action", "publish")]).await;
        let v = version_of(&d, id).await;
        stale.retain(|(k, _)| *k != "version");
        stale.push(("version", (v.parse::<i64>().expect("version") - 1).to_string()));
        let a = post_form(&d, &d.editor, &format!("/admin/stories/{id}"), &stale).await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
        assert!(a.body.contains("value=\"Typed while someone saved\""), "the typed text is kept");
        assert_eq!(d.app.db.store.story(id).await.expect("read").expect("story").status.as_str(), "draft");

        // Publish with an unsaved headline: the new headline goes out, in one step.
        let form = editor_form(&d, id, &[("headline", "New headline"), ("action", "publish")]).await;
        let a = post_form(&d, &d.editor, &format!("/admin/stories/{id}"), &form).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(location(&a), format!("/admin/stories/{id}/edit?saved=publish"));
        let story = d.app.db.store.story(id).await.expect("read").expect("story");
        assert_eq!((story.status.as_str(), story.headline.as_str()), ("published", "New headline"));
        let public = d.app.get(&format!("/news/{id}/old-headline")).await;
        assert_eq!(public.status, StatusCode::OK);
        assert!(public.body.contains("<h1>New headline</h1>"), "{}", common::main_of(&public.body));
        // Now the editor says Update and offers the choice of a quiet fix.
        let page = get_as(&d.app, Some(&d.editor), &format!("/admin/stories/{id}/edit")).await;
        assert!(page.body.contains(">Update</button>") && page.body.contains("Fix quietly (typo)"), "{}", page.body);
    }
}

backend_test! {
    async fn schedule_from_the_editor_saves_the_fields_too(db) {
        let d = desk(db).await;
        let id = create_draft(&d, &d.editor, "To be scheduled").await;
        let at = (Utc::now() + Duration::days(2)).with_timezone(&chrono_tz::Asia::Tehran).format("%Y-%m-%dT%H:%M").to_string();
        let at: &'static str = Box::leak(at.into_boxed_str());
        let form = editor_form(&d, id, &[("headline", "Scheduled headline"), ("action", "schedule"), ("scheduled_at", at)]).await;
        let a = post_form(&d, &d.editor, &format!("/admin/stories/{id}"), &form).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let story = d.app.db.store.story(id).await.expect("read").expect("story");
        assert_eq!((story.status.as_str(), story.headline.as_str()), ("scheduled", "Scheduled headline"));
        // A step the form does not take (kill) is refused there.
        let form = editor_form(&d, id, &[("action", "kill")]).await;
        assert_eq!(post_form(&d, &d.editor, &format!("/admin/stories/{id}"), &form).await.status, StatusCode::BAD_REQUEST);
    }
}

backend_test! {
    async fn unpublish_and_kill_need_a_reason_and_a_confirmation(db) {
        let d = desk(db).await;
        let page = get_as(&d.app, Some(&d.editor), "/admin/stories/84427/edit").await;
        assert!(page.body.contains("name=\"reason\"") && page.body.contains("name=\"confirm\""), "{}", page.body);
        let v = version_of(&d, 84427).await;
        for (action, form) in [
            ("unpublish", vec![("action", "unpublish"), ("version", v.as_str()), ("confirm", "yes")]),
            ("unpublish", vec![("action", "unpublish"), ("version", v.as_str()), ("reason", "Wrong story."), ("confirm", "")]),
            ("kill", vec![("action", "kill"), ("version", v.as_str()), ("public_note", "Withdrawn."), ("reason", " "), ("confirm", "yes")]),
            ("kill", vec![("action", "kill"), ("version", v.as_str()), ("public_note", "Withdrawn."), ("reason", "Court order.")]),
        ] {
            let a = post_as(&d.app, Some(&d.editor), "/admin/stories/84427/workflow", &form, true).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{action} {form:?}: {}", a.body);
            assert!(a.body.contains("class=\"error\""), "{}", a.body);
            assert_eq!(version_of(&d, 84427).await, v, "nothing changed");
            assert_eq!(d.app.get(SEED_PATH).await.status, StatusCode::OK);
        }
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories/84427/workflow", &[("action", "unpublish"), ("version", &v), ("reason", "Wrong story."), ("confirm", "yes")], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(d.app.get(SEED_PATH).await.status, StatusCode::GONE);
        let revs = d.app.db.store.revisions(84427).await.expect("revisions");
        assert_eq!(revs[0].note, "unpublish: Wrong story.", "the reason is on record");
        let log = d.app.db.store.audit_log(Some(("story", "84427")), 1).await.expect("audit");
        assert!(log[0].detail.contains("Wrong story."), "{:?}", log[0]);
    }
}

backend_test! {
    async fn a_quiet_fix_keeps_date_modified_and_an_update_moves_it(db) {
        let d = desk(db).await;
        let before = d.app.get(SEED_PATH).await;
        assert!(!before.body.contains("Updated:"));
        let updated_before = d.app.db.store.story(84427).await.expect("read").expect("story").updated_at;
        // A published story's save needs the choice.
        let form = editor_form(&d, 84427, &[("headline", "Defense Ministry: a typo fixed")]).await;
        let a = post_form(&d, &d.editor, "/admin/stories/84427", &form).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert!(a.body.contains("Fix quietly") && a.body.contains("value=\"Defense Ministry: a typo fixed\""));
        // Fix quietly: the text changes, dateModified and "Updated:" do not.
        let form = editor_form(&d, 84427, &[("headline", "Defense Ministry: a typo fixed"), ("change", "fix")]).await;
        let a = post_form(&d, &d.editor, "/admin/stories/84427", &form).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let fixed = d.app.get(SEED_PATH).await;
        assert!(fixed.body.contains("Defense Ministry: a typo fixed"));
        assert!(!fixed.body.contains("Updated:"), "{}", common::main_of(&fixed.body));
        assert_eq!(date_modified(&fixed.body), date_modified(&before.body));
        assert_eq!(d.app.db.store.story(84427).await.expect("read").expect("story").updated_at, updated_before);
        // Update: readers see "Updated:" and dateModified moves.
        let form = editor_form(&d, 84427, &[("lead", "A new paragraph of news."), ("change", "update")]).await;
        let a = post_form(&d, &d.editor, "/admin/stories/84427", &form).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let updated = d.app.get(SEED_PATH).await;
        assert!(updated.body.contains("Updated:"), "{}", common::main_of(&updated.body));
        assert_ne!(date_modified(&updated.body), date_modified(&before.body));
        assert_ne!(d.app.db.store.story(84427).await.expect("read").expect("story").updated_at, updated_before);
    }
}

backend_test! {
    async fn every_correction_is_kept_and_listed(db) {
        let d = desk(db).await;
        // Cached before: the corrections page and feed must follow the new corrections.
        let empty = d.app.get("/corrections").await;
        assert!(empty.body.contains("No corrections have been published."), "{}: {}", empty.status, empty.body);
        assert!(!d.app.get("/corrections/feed.rss").await.body.contains("<item>"));
        let s = d
            .app
            .db
            .store
            .add_subscriber(&newsdesk_storage::NewSubscriber { name: "Wire".into(), sections: vec![], editions: vec![], rate_limit: 1000 }, &newsdesk_storage::AuditEntry::system("test", "subscriber.create", "subscriber", "", ""))
            .await
            .expect("subscriber");
        let (key, _) = d.app.db.store.create_api_key(s.id, &newsdesk_storage::AuditEntry::system("test", "subscriber.key", "subscriber", "", "")).await.expect("key");

        // The first through the old correction form, the second from the editor with a changed lead.
        let v = version_of(&d, 84427).await;
        let a = post_as(&d.app, Some(&d.editor), "/admin/stories/84427/correction", &[("version", &v), ("note", "The first figure was wrong.")], true).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let form = editor_form(&d, 84427, &[("lead", "The corrected lead."), ("action", "correct"), ("correction_note", "The second figure was wrong too.")]).await;
        let a = post_form(&d, &d.editor, "/admin/stories/84427", &form).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(location(&a), "/admin/stories/84427/edit?saved=correction");
        // An empty note is refused from the editor, the text kept.
        let form = editor_form(&d, 84427, &[("lead", "Kept lead."), ("action", "correct"), ("correction_note", " ")]).await;
        let a = post_form(&d, &d.editor, "/admin/stories/84427", &form).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert!(a.body.contains("Kept lead."));

        let page = d.app.get(SEED_PATH).await;
        let main = common::main_of(&page.body);
        assert!(main.contains("The corrected lead."), "{main}");
        let first = main.find("The first figure was wrong.").expect("the first correction stays");
        let second = main.find("The second figure was wrong too.").expect("the second correction");
        assert!(first < second, "in order");
        let ld = page.body.split("application/ld+json\">").nth(1).and_then(|s| s.split("</script>").next()).expect("JSON-LD");
        let ld: serde_json::Value = serde_json::from_str(ld).expect("JSON-LD parses");
        let notes: Vec<(&str, &str)> = ld["correction"]
            .as_array()
            .expect("correction list")
            .iter()
            .map(|c| (c["@type"].as_str().unwrap_or_default(), c["text"].as_str().unwrap_or_default()))
            .collect();
        assert_eq!(notes, [("CorrectionComment", "The first figure was wrong."), ("CorrectionComment", "The second figure was wrong too.")]);
        assert!(ld["correction"][0]["datePublished"].as_str().is_some_and(|d| d.len() >= 20));

        // The edition's corrections page and feed, newest first, without waiting for a cache to expire.
        let list = d.app.get("/corrections").await;
        assert_eq!(list.status, StatusCode::OK);
        let main = common::main_of(&list.body);
        let newer = main.find("The second figure was wrong too.").expect("listed");
        let older = main.find("The first figure was wrong.").expect("listed");
        assert!(newer < older, "newest first: {main}");
        assert!(main.contains(&format!("href=\"{SEED_PATH}\"")), "{main}");
        let rss = d.app.get("/corrections/feed.rss").await;
        assert!(rss.content_type().starts_with("application/rss+xml"));
        assert_eq!(rss.body.matches("<item>").count(), 2, "{}", rss.body);
        assert!(rss.body.contains("The first figure was wrong."));

        // The wire carries both, as descriptions with the role `correction`.
        let req = Request::builder().uri("/api/ninjs/v2/items/84427").header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).expect("request");
        let item: serde_json::Value = serde_json::from_str(&d.app.request(req).await.body).expect("ninjs");
        let corrections: Vec<&str> = item["descriptions"]
            .as_array()
            .expect("descriptions")
            .iter()
            .filter(|d| d["role"] == "correction")
            .map(|d| d["value"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(corrections, ["The first figure was wrong.", "The second figure was wrong too."]);
        // And so does a page of the item list (its corrections are read for the whole page at once).
        let req = Request::builder().uri("/api/ninjs/v2/items?limit=100").header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).expect("request");
        let page: serde_json::Value = serde_json::from_str(&d.app.request(req).await.body).expect("ninjs page");
        let listed = page["items"].as_array().expect("items").iter().find(|i| i["uri"] == item["uri"]).expect("the seed is listed");
        assert_eq!(listed["descriptions"], item["descriptions"], "the list carries the same corrections");
        let others = page["items"].as_array().expect("items").iter().filter(|i| i["uri"] != item["uri"]);
        assert!(others.flat_map(|i| i["descriptions"].as_array().cloned().unwrap_or_default()).all(|d| d["role"] != "correction"), "no other item has corrections");

        // The back office lists them, with who wrote them.
        let page = get_as(&d.app, Some(&d.editor), "/admin/stories/84427/edit").await;
        assert!(page.body.contains("(editor@example.org): <bdi"), "{}", page.body);

        // Taken down: the story leaves the corrections page at once.
        let v = version_of(&d, 84427).await;
        post_as(&d.app, Some(&d.editor), "/admin/stories/84427/workflow", &[("action", "unpublish"), ("version", &v), ("reason", "Test takedown."), ("confirm", "yes")], true).await;
        assert!(d.app.get("/corrections").await.body.contains("No corrections have been published."));
    }
}
