//! Accounts through the real router, on SQLite and on PostgreSQL: where a
//! login may send the browser, login throttling under concurrent guesses and
//! per address (IPv6 per /64), the password rule on every form, and what a new
//! password or "log out everywhere" ends (sessions and API tokens).

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use newsdesk_domain::roles::Role;
use newsdesk_storage::{AuditEntry, NewUser, backend_test};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::common;
use common::{Answer, TestApp};

const PASSWORD: &str = "a long enough password";

async fn user(app: &TestApp, email: &str, role: Role) -> i64 {
    let u = NewUser {
        email: email.into(),
        name: email.split('@').next().unwrap_or("x").into(),
        role,
        password_hash: password_auth::generate_hash(PASSWORD),
    };
    let audit = AuditEntry::system("test", "user.create", "user", "", "");
    app.db.store.create_user(&u, Utc::now(), &audit).await.expect("user").id
}

/// A logged-in browser: its session cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

/// A session made directly in the store.
async fn session_of(app: &TestApp, user_id: i64, n: u8) -> Session {
    let token = format!("{:0>64}", format!("{user_id}{n}"));
    let csrf = format!("{:0>64}", format!("c{user_id}{n}"));
    let now = Utc::now();
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    app.db.store.create_session(&hash, user_id, &csrf, now, now + Duration::hours(1)).await.expect("session");
    Session { cookie: format!("nd_session={token}"), csrf }
}

async fn get_as(app: &TestApp, s: Option<&Session>, uri: &str) -> Answer {
    let mut b = Request::builder().uri(uri).header(header::ACCEPT, "text/html");
    if let Some(s) = s {
        b = b.header(header::COOKIE, &s.cookie);
    }
    app.request(b.body(Body::empty()).expect("request")).await
}

/// A form post from our own page, with the session's CSRF token when there is a session.
async fn post_as(app: &TestApp, s: Option<&Session>, uri: &str, form: &[(&str, &str)]) -> Answer {
    let mut fields: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin");
    if let Some(s) = s {
        b = b.header(header::COOKIE, &s.cookie);
        fields.push(("csrf".into(), s.csrf.clone()));
    }
    app.request(b.body(Body::from(serde_urlencoded::to_string(&fields).expect("form"))).expect("request")).await
}

fn location(a: &Answer) -> &str {
    a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The login form's POST, ready to send from `peer` (the login page's cookie and token included).
async fn login_request(app: &TestApp, email: &str, password: &str, next: &str, peer: &str) -> Request<Body> {
    let page = get_as(app, None, "/admin/login").await;
    let cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("nd_login="))
        .and_then(|c| c.split(';').next())
        .expect("login cookie")
        .to_string();
    let token = cookie.trim_start_matches("nd_login=").to_string();
    let body =
        serde_urlencoded::to_string([("email", email), ("password", password), ("csrf", &token), ("next", next)])
            .expect("form");
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/admin/login")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    let peer: SocketAddr = peer.parse().expect("peer");
    req.extensions_mut().insert(ConnectInfo(peer));
    req
}

async fn login(app: &TestApp, email: &str, password: &str, next: &str, peer: &str) -> Answer {
    let req = login_request(app, email, password, next, peer).await;
    app.request(req).await
}

backend_test! {
    async fn after_login_next_is_a_normalized_back_office_path(db) {
        let app = TestApp::new(db).await;
        let id = user(&app, "jane@example.org", Role::Editor).await;
        let a = login(&app, "jane@example.org", PASSWORD, "/admin/../../en//evil.example/", "192.0.2.1:4000").await;
        assert_eq!((a.status, location(&a)), (StatusCode::SEE_OTHER, "/admin"), "a login never leads off the back office");

        // Logged in, the login page sends `next` on at once: through the query, percent-encoded.
        let s = session_of(&app, id, 1).await;
        for (query, to) in [
            ("/admin/stories%3Fstatus%3Ddraft", "/admin/stories?status=draft"),
            ("/admin//stories/./x/..", "/admin/stories/"),
            ("/admin/../../en//evil.example/", "/admin"),
            ("/admin/%2e%2e/%2e%2e//evil.example/", "/admin"),
            ("/admin/%252e%252e//evil.example", "/admin"),
            ("//evil.example/admin", "/admin"),
            ("https://evil.example/admin", "/admin"),
            ("/%5Cevil.example/admin", "/admin"),
            ("/admin%0d%0aSet-Cookie:%20a=b", "/admin"),
            ("/admin/%09x", "/admin"),
            ("/admin/%C3%A9", "/admin/%C3%A9"),
        ] {
            let a = get_as(&app, Some(&s), &format!("/admin/login?next={query}")).await;
            assert_eq!((a.status, location(&a)), (StatusCode::SEE_OTHER, to), "{query}");
        }
    }
}

backend_test! {
    async fn concurrent_wrong_passwords_are_checked_at_most_five_times(db) {
        let app = TestApp::new(db).await;
        user(&app, "jane@example.org", Role::Editor).await;
        let mut requests = Vec::new();
        for i in 0..30 {
            // Each from its own address: only the account's limit is in play.
            requests.push(login_request(&app, "jane@example.org", "guessing wrong", "/admin", &format!("192.0.2.{}:4000", i + 1)).await);
        }
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|req| {
                let router = app.router();
                tokio::spawn(async move { router.oneshot(req).await.expect("infallible").status() })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.expect("task"));
        }
        let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((checked, throttled), (5, 25), "{statuses:?}");

        let a = login(&app, "jane@example.org", PASSWORD, "/admin", "198.51.100.1:4000").await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "the right password waits too, from any address");
        assert!(a.body.contains("Too many failed logins"));
        assert!(!a.headers.get_all(header::SET_COOKIE).iter().any(|c| c.to_str().unwrap_or_default().starts_with("nd_session=")));
    }
}

backend_test! {
    async fn addresses_are_throttled_per_ipv6_64(db) {
        let app = TestApp::new(db).await;
        user(&app, "jane@example.org", Role::Editor).await;
        // 20 guesses at 20 accounts from 20 addresses of one /64.
        for i in 1..=20 {
            let a = login(&app, &format!("nobody{i}@example.org"), "guessing wrong", "/admin", &format!("[2001:db8:1:2::{i:x}]:4000")).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "guess {i}");
        }
        let a = login(&app, "jane@example.org", PASSWORD, "/admin", "[2001:db8:1:2:ffff:ffff:ffff:ffff]:4000").await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "another address of the same /64");
        let a = login(&app, "jane@example.org", PASSWORD, "/admin", "[2001:db8:1:3::1]:4000").await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "the next /64 is someone else");
        // Successful logins do not use up an address's allowance (an office behind one router).
        for _ in 0..25 {
            let a = login(&app, "jane@example.org", PASSWORD, "/admin", "192.0.2.77:4000").await;
            assert_eq!(a.status, StatusCode::SEE_OTHER);
        }
    }
}

backend_test! {
    async fn weak_passwords_are_refused_on_every_form_with_advice(db) {
        let app = TestApp::new(db).await;
        let admin = user(&app, "admin@example.org", Role::Admin).await;
        let admin = session_of(&app, admin, 1).await;
        let a = post_as(&app, Some(&admin), "/admin/users", &[("email", "jane.doe@example.org"), ("name", "Jane Doe"), ("role", "reporter")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let invite = format!("/admin/invite/{}", location(&a).split("invite=").nth(1).expect("token"));
        for weak in ["aaaaaaaaaaaa", "password1234", "jane.doe@example.org"] {
            let a = post_as(&app, None, &invite, &[("new", weak), ("confirm", weak)]).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
            assert!(a.body.contains("Refused: the password is too easy to guess."), "{weak}: {}", a.body);
        }
        let a = post_as(&app, None, &invite, &[("new", "aaaaaaaaaaaa"), ("confirm", "aaaaaaaaaaaa")]).await;
        assert!(a.body.contains("Repeats like"), "zxcvbn's advice is shown: {}", a.body);

        let a = post_as(&app, Some(&admin), "/admin/account/password", &[("current", PASSWORD), ("new", "password1234"), ("confirm", "password1234")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains("The new password is refused: the password is too easy to guess."), "{}", a.body);
        assert_eq!(get_as(&app, Some(&admin), "/admin").await.status, StatusCode::OK, "a refused change keeps the session");
    }
}

/// Whether `token` still opens the API.
async fn token_works(app: &TestApp, token: &str) -> bool {
    app.db.store.authenticate_api_token(token, Utc::now()).await.expect("auth").is_some()
}

async fn api_token(app: &TestApp, user_id: i64) -> String {
    let audit = AuditEntry::system("test", "token.create", "user", user_id, "");
    app.db.store.create_api_token(user_id, "phone", Utc::now(), &audit).await.expect("token").0
}

backend_test! {
    async fn a_new_password_and_log_out_everywhere_end_every_session_and_api_token(db) {
        let app = TestApp::new(db).await;
        let jane = user(&app, "jane@example.org", Role::Editor).await;

        // Changing the password: the other session and the token end, this one is renewed.
        let (here, there) = (session_of(&app, jane, 1).await, session_of(&app, jane, 2).await);
        let token = api_token(&app, jane).await;
        let new = "a different long passphrase";
        let a = post_as(&app, Some(&here), "/admin/account/password", &[("current", PASSWORD), ("new", new), ("confirm", new)]).await;
        assert_eq!((a.status, location(&a)), (StatusCode::SEE_OTHER, "/admin/account?done=password"), "{}", a.body);
        let renewed = a
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("nd_session="))
            .and_then(|c| c.split(';').next())
            .expect("a new session cookie")
            .to_string();
        assert_eq!(get_as(&app, Some(&there), "/admin").await.status, StatusCode::UNAUTHORIZED, "other sessions end");
        assert_eq!(get_as(&app, Some(&here), "/admin").await.status, StatusCode::UNAUTHORIZED, "the old cookie is replaced");
        let renewed = Session { cookie: renewed, csrf: String::new() };
        assert_eq!(get_as(&app, Some(&renewed), "/admin").await.status, StatusCode::OK);
        assert!(!token_works(&app, &token).await, "a password change revokes API tokens");

        // Log out everywhere.
        let (one, two) = (session_of(&app, jane, 3).await, session_of(&app, jane, 4).await);
        let token = api_token(&app, jane).await;
        let a = post_as(&app, Some(&one), "/admin/logout-everywhere", &[]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert_eq!(get_as(&app, Some(&two), "/admin").await.status, StatusCode::UNAUTHORIZED);
        assert!(!token_works(&app, &token).await, "log out everywhere revokes API tokens");

        // A reset through a new invite link (an admin's "reset password"), which also lifts the throttle.
        let admin = user(&app, "admin@example.org", Role::Admin).await;
        let admin = session_of(&app, admin, 1).await;
        let old = session_of(&app, jane, 5).await;
        let token = api_token(&app, jane).await;
        for _ in 0..6 {
            login(&app, "jane@example.org", "guessing wrong", "/admin", "192.0.2.9:4000").await;
        }
        let a = post_as(&app, Some(&admin), &format!("/admin/users/{jane}/invite"), &[]).await;
        let invite = format!("/admin/invite/{}", location(&a).split("invite=").nth(1).expect("token"));
        let reset = "yet another long passphrase";
        let a = post_as(&app, None, &invite, &[("new", reset), ("confirm", reset)]).await;
        assert_eq!((a.status, location(&a)), (StatusCode::SEE_OTHER, "/admin?welcome=1"), "{}", a.body);
        assert_eq!(get_as(&app, Some(&old), "/admin").await.status, StatusCode::UNAUTHORIZED, "a reset ends old sessions");
        assert_eq!(get_as(&app, Some(&renewed), "/admin").await.status, StatusCode::UNAUTHORIZED);
        assert!(!token_works(&app, &token).await, "a reset revokes API tokens");
        let a = login(&app, "jane@example.org", reset, "/admin", "198.51.100.2:4000").await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "the new password logs in at once");
    }
}
