//! The site's edge, on SQLite and on PostgreSQL: redirects that stay on the
//! site, control characters kept out of stories and XML, HSTS, the CSRF token
//! out of query strings, the comment cookie under every edition, and the
//! server's defences against slow and greedy clients (a real server on an
//! ephemeral port).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use newsdesk_domain::roles::Role;
use newsdesk_domain::{Direction, saved_page};
use newsdesk_storage::{NewEdition, StoryInput, backend_test};
use newsdesk_web::comments::CommentSettings;
use newsdesk_web::server::ServerLimits;
use newsdesk_web::{AppState, WebConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common;

use common::{Answer, Person, SEED, SEED_HEADLINE, TestApp};

/// Adds the Persian edition at `/fa/` and lets the site see it.
async fn with_persian(app: &TestApp) -> i64 {
    let fa = app
        .db
        .store
        .upsert_edition(&NewEdition {
            lang: "fa".into(),
            name: "خبرگزاری آزمون".into(),
            direction: Direction::Rtl,
            time_zone: chrono_tz::Asia::Tehran,
            is_default: false,
        })
        .await
        .expect("Persian edition");
    app.state.editions.store(Arc::new(app.db.store.editions().await.expect("editions")));
    fa.id
}

fn location(a: &Answer) -> Option<&str> {
    a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
}

backend_test! {
    async fn redirects_built_from_the_path_never_leave_the_site(db) {
        let app = TestApp::new(db).await;
        with_persian(&app).await;
        // The default edition's own prefix is taken off with a 301: to this site only.
        for (uri, to) in [
            ("/en//evil.example/", "/evil.example/"),
            ("/en/\\evil.example/", "/evil.example/"),
            ("/en/\\/evil.example/", "/evil.example/"),
            ("/en//\\//evil.example/x?y=1", "/evil.example/x?y=1"),
            ("/en/%2F%2Fevil.example/", "/%2F%2Fevil.example/"),
            ("/en/a\\b", "/a%5Cb"),
        ] {
            let a = app.get(uri).await;
            assert_eq!(a.status, StatusCode::MOVED_PERMANENTLY, "{uri}");
            assert_eq!(location(&a), Some(to), "{uri}");
        }
        // Whatever else answers these, no Location names another host.
        for uri in [
            "//evil.example/",
            "/\\evil.example/",
            "/%2F%2Fevil.example/",
            "/%5Cevil.example/",
            "/fa//evil.example/",
            "/fa/\\evil.example/",
            "/fa/%2F%2Fevil.example/",
            "/fa//evil.example",
            "//evil.example/news/84427",
            "/fa//news/84427",
            "/en//news/84427",
        ] {
            let a = app.get(uri).await;
            if let Some(to) = location(&a) {
                assert!(to.starts_with('/'), "{uri} → {to}");
                assert!(!to.starts_with("//") && !to.starts_with("/\\"), "{uri} → {to}");
                assert!(!to.contains('\\'), "{uri} → {to}");
            }
        }
    }
}

backend_test! {
    async fn hsts_is_on_every_answer_of_an_https_site_and_absent_over_http(db) {
        let mut app = TestApp::new(db).await;
        let uris = ["/", common::SEED_PATH, "/nothing-here", "/en/", "/news/84427", "/feed.rss", "/api/v1/stories", "/admin/login"];
        for uri in uris {
            let a = app.get(uri).await;
            assert_eq!(
                a.headers.get(header::STRICT_TRANSPORT_SECURITY).and_then(|v| v.to_str().ok()),
                Some(newsdesk_web::HSTS),
                "{uri} ({})",
                a.status
            );
        }
        assert_eq!(newsdesk_web::HSTS, "max-age=31536000; includeSubDomains");
        let config = WebConfig { public_url: "http://news.example".into(), ..WebConfig::default() };
        app.state = AppState::new(app.db.store.clone(), config).await.expect("state");
        for uri in uris {
            assert!(!app.get(uri).await.headers.contains_key(header::STRICT_TRANSPORT_SECURITY), "{uri}");
        }
    }
}

async fn api(app: &TestApp, method: Method, uri: &str, token: &str, body: Value) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    app.request(req).await
}

/// A back-office form post from our own page; `csrf_in` says where the token goes.
async fn form_post(app: &TestApp, cookie: &str, uri: &str, fields: &[(&str, &str)]) -> Answer {
    let body = serde_urlencoded::to_string(fields).expect("form");
    let req = Request::post(uri)
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .expect("request");
    app.request(req).await
}

fn message(a: &Answer) -> String {
    let j: Value = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", a.body));
    assert_eq!(j["error"]["code"], "invalid", "{}", a.body);
    j["error"]["message"].as_str().expect("message").to_string()
}

backend_test! {
    async fn control_characters_are_refused_in_every_story_field_with_the_field_named(db) {
        let app = TestApp::new(db).await;
        let Person { cookie, csrf, token, .. } = app.person("Ed", Role::Editor).await;
        let section = app.db.store.sections(app.edition_id).await.expect("sections")[0].clone();
        let draft = json!({ "headline": "Rain\u{b}in Tehran", "section": section.path, "lead": "Forecast.", "body": "Rain." });
        let a = api(&app, Method::POST, "/api/v1/stories", &token, draft).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        let m = message(&a);
        assert!(m.contains("headline") && m.contains("U+000B"), "{m}");

        // A clean draft is created (browsers' CRLF line ends become LF), then each field is checked on edit.
        let ok = json!({ "headline": "Rain in Tehran", "section": section.path, "lead": "Fore-\r\ncast.", "body": "One.\r\n\r\nTwo." });
        let a = api(&app, Method::POST, "/api/v1/stories", &token, ok).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        let s: Value = serde_json::from_str(&a.body).expect("json");
        let id = s["news_id"].as_i64().expect("id");
        let stored = app.db.store.story(id).await.expect("read").expect("story");
        assert_eq!((stored.lead.as_str(), stored.body_source.as_str()), ("Fore-\ncast.", "One.\n\nTwo."));
        let version = s["version"].as_i64().expect("version");
        for (field, value, label) in [
            ("lead", "A\u{1}lead", "lead"),
            ("body", "Body\u{0}text", "body"),
            ("body", "Body \u{1b}[31m red", "body"),
            ("editorial_note", "note\u{7f}", "editorial note"),
            ("headline", "Rain\u{85}fall", "headline"),
        ] {
            let a = api(&app, Method::PATCH, &format!("/api/v1/stories/{id}"), &token, json!({ "version": version, field: value })).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", a.body);
            assert!(message(&a).contains(&format!("The {label} contains")), "{field}: {}", a.body);
        }

        // The back office: the same rule, shown in the form with what was typed.
        let sid = section.id.to_string();
        let a = form_post(&app, &cookie, "/admin/stories", &[
            ("headline", "Storm\u{b} warning"), ("lead", "kept lead"), ("body", "Body."), ("section_id", &sid), ("csrf", &csrf),
        ]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert!(a.body.contains("The headline contains a control character (U+000B)"), "{}", a.body);
        assert!(a.body.contains("kept lead"));

        // Correction and kill notes, photo captions go through the same rule.
        let stored = app.db.store.story(84427).await.expect("read").expect("seed");
        let a = form_post(&app, &cookie, "/admin/stories/84427/correction", &[
            ("note", "Fixed\u{c} a date."), ("version", &stored.version.to_string()), ("csrf", &csrf),
        ]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
        assert!(a.body.contains("The correction note contains a control character (U+000C)"), "{}", a.body);
        let e = newsdesk_web::desk::photo_text("caption", "A\u{1}caption", 100).expect_err("refused");
        assert_eq!(e.field, "caption");
        assert!(e.message.contains("U+0001"), "{}", e.message);
    }
}

/// `body` parses as XML and holds no character XML 1.0 cannot carry.
fn assert_valid_xml(what: &str, body: &str) {
    let bad = body
        .chars()
        .find(|c| !matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..));
    assert_eq!(bad, None, "{what} holds a character XML cannot carry");
    let mut reader = quick_xml::Reader::from_str(body);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{what} is not well-formed XML: {e}"),
        }
    }
}

backend_test! {
    async fn imported_and_stored_control_characters_never_reach_feeds_or_sitemaps(db) {
        let app = TestApp::new(db).await;
        // An import: the page's control characters are dropped.
        let text = SEED
            .replace("Defense Ministry: Iran Gaining", "Defense\u{b} Ministry: Iran\u{1} Gaining")
            .replace("Mehdi Farahi", "Mehdi\u{c} Farahi");
        let edition = app.db.store.editions().await.expect("editions")[0].clone();
        let mut input = StoryInput::from_saved_page(&saved_page::parse(&text).expect("parses"), &edition).expect("input");
        // Published now, so the news sitemap lists it.
        input.published_at = Some(Utc::now() - chrono::Duration::minutes(5));
        app.db.store.save_story(&input).await.expect("import");
        let stored = app.db.store.story(84427).await.expect("read").expect("seed");
        assert_eq!(stored.headline, SEED_HEADLINE);
        assert!(!stored.body_source.contains('\u{c}'));
        // A row written before the rule (or by any other path) still gives valid XML.
        app.add_at(&["World"], "Old\u{b} row \u{1f}with controls", Utc::now() - chrono::Duration::minutes(1)).await;
        app.sync().await;
        for uri in ["/feed.rss", "/feed.atom", "/section/world/feed.rss", "/tag/synthetic/feed.atom", "/sitemap-news.xml", "/sitemaps/sections.xml"] {
            let a = app.get(uri).await;
            assert_eq!(a.status, StatusCode::OK, "{uri}");
            assert_valid_xml(uri, &a.body);
        }
        let rss = app.get("/feed.rss").await.body;
        assert!(rss.contains("Old row with controls"), "the text is kept, only the characters go");
        assert!(app.get("/sitemap-news.xml").await.body.contains("Old row with controls"));
    }
}

backend_test! {
    async fn the_csrf_token_counts_in_the_body_or_header_not_in_the_query(db) {
        let app = TestApp::new(db).await;
        let Person { cookie, csrf, .. } = app.person("Admin", Role::Admin).await;
        let fields = [("name", "Weather"), ("slug", ""), ("parent_id", ""), ("position", "0")];
        let in_query = form_post(&app, &cookie, &format!("/admin/sections?csrf={csrf}"), &fields).await;
        assert_eq!(in_query.status, StatusCode::FORBIDDEN, "{}", in_query.body);
        let in_query = form_post(&app, &cookie, &format!("/admin/sections?x=1&%63srf={csrf}"), &fields).await;
        assert_eq!(in_query.status, StatusCode::FORBIDDEN, "an encoded name is the same parameter");
        let mut with = fields.to_vec();
        with.push(("csrf", &csrf));
        let in_body = form_post(&app, &cookie, "/admin/sections", &with).await;
        assert_eq!(in_body.status, StatusCode::SEE_OTHER, "{}", in_body.body);
        let req = Request::post("/admin/sections")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .header(header::COOKIE, &cookie)
            .header("x-csrf-token", &csrf)
            .body(Body::from("name=Climate&slug=&parent_id=&position=1"))
            .expect("request");
        assert_eq!(app.request(req).await.status, StatusCode::SEE_OTHER, "the header still works");
    }
}

backend_test! {
    async fn section_names_with_control_characters_are_refused(db) {
        let app = TestApp::new(db).await;
        let Person { cookie, csrf, .. } = app.person("Admin", Role::Admin).await;
        let fields = [("name", "Wea\u{1}ther"), ("slug", "weather"), ("parent_id", ""), ("position", "2"), ("csrf", &csrf)];
        let a = form_post(&app, &cookie, "/admin/sections", &fields).await;
        assert!(a.status.is_client_error(), "{}: {}", a.status, a.body);
        assert!(a.body.contains("The section name contains a control character (U+0001)"), "{}", a.body);
    }
}

/// Whether a cookie with `Path=path` is sent with a request for `uri` (RFC 6265 path-match).
fn path_matches(path: &str, uri: &str) -> bool {
    let uri = uri.split('?').next().unwrap_or(uri);
    uri == path || (uri.starts_with(path) && (path.ends_with('/') || uri[path.len()..].starts_with('/')))
}

backend_test! {
    async fn the_comment_cookie_reaches_the_form_of_every_edition(db) {
        let mut app = TestApp::new(db).await;
        let mut settings = CommentSettings { rate_per_ip: 100, rate_per_story: 100, ..CommentSettings::default() };
        settings.rules.min_fill_secs = 0;
        let config = WebConfig { public_url: "https://news.example".into(), comments: settings, ..WebConfig::default() };
        app.state = AppState::new(app.db.store.clone(), config).await.expect("state");
        let fa = with_persian(&app).await;
        let mut input = StoryInput::from_saved_page(&saved_page::parse(SEED).expect("seed"), &app.db.store.editions().await.expect("e")[0]).expect("input");
        input.news_id = None;
        input.edition_id = fa;
        input.section = newsdesk_storage::SectionRef::Names(vec!["ایران".into()]);
        input.headline = "خبر تازه".into();
        input.slug = None;
        input.published_at = Some(Utc::now() - chrono::Duration::hours(1));
        let id = app.db.store.save_story(&input).await.expect("Persian story").0;
        let page_path = app.db.store.story(id).await.expect("read").expect("story").path();
        let page_path = format!("/fa{page_path}");
        let page = app.get(&page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{page_path}");
        let action = format!("/fa/news/{id}/comments");
        assert!(page.body.contains(&format!("action=\"{action}\"")), "the form posts inside the edition");
        assert!(page.body.contains(&format!("data-token-url=\"{action}/token\"")));

        let t = app.get(&format!("{action}/token")).await;
        assert_eq!(t.status, StatusCode::OK);
        let set = t.headers[header::SET_COOKIE].to_str().expect("cookie").to_string();
        let path = set.split(';').find_map(|a| a.trim().strip_prefix("Path=")).expect("a Path").to_string();
        assert!(path_matches(&path, &action), "the browser sends the cookie ({set}) with the form's post to {action}");
        let pair = set.split(';').next().expect("pair").to_string();
        let token: Value = serde_json::from_str(&t.body).expect("json");
        let body = serde_urlencoded::to_string([
            ("name", "Sara"), ("email", ""), ("text", "نظر من"), ("website", ""), ("token", token["token"].as_str().expect("token")),
        ]).expect("form");
        let req = Request::post(&action)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .header(header::COOKIE, &pair)
            .body(Body::from(body))
            .expect("request");
        let a = app.request(req).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert!(location(&a).is_some_and(|l| l.starts_with("/fa/news/")), "{:?}", location(&a));
        // The default edition's cookie stays on its own story paths.
        let en = app.get("/news/84427/comments/token").await;
        let set = en.headers[header::SET_COOKIE].to_str().expect("cookie");
        assert!(set.contains("Path=/news;"), "{set}");
    }
}

/// The test site served by the real server on an ephemeral port.
async fn server(limits: ServerLimits) -> (TestApp, std::net::SocketAddr) {
    let app = TestApp::new(newsdesk_storage::testing::TestDb::sqlite().await).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(newsdesk_web::server::serve(
        listener,
        app.router(),
        Some(newsdesk_web::front(app.state.clone())),
        limits,
        std::future::pending(),
    ));
    (app, addr)
}

/// Reads until the server closes the connection (or `limit` passes); what it sent.
async fn read_to_close(conn: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline.into(), conn.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn get_over(conn: &mut TcpStream, path: &str) -> String {
    let req = format!("GET {path} HTTP/1.1\r\nHost: news.example\r\nConnection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).await.expect("send");
    read_to_close(conn, Duration::from_secs(10)).await.expect("an answer")
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off_at_the_header_timeout() {
    let (_app, addr) =
        server(ServerLimits { header_read_timeout: Duration::from_secs(1), ..ServerLimits::default() }).await;
    // A slow-loris client: half a request head, then a header line now and then.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    let started = Instant::now();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: news.example\r\n").await.expect("send");
    let mut buf = [0u8; 1024];
    let mut cut_off = None;
    for i in 0..20 {
        match tokio::time::timeout(Duration::from_millis(300), slow.read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0)) | Ok(Err(_)) => {
                cut_off = Some(started.elapsed());
                break;
            }
            Ok(Ok(n)) => panic!("an answer to half a request: {}", String::from_utf8_lossy(&buf[..n])),
        }
        if slow.write_all(format!("X-Slow-{i}: x\r\n").as_bytes()).await.is_err() {
            cut_off = Some(started.elapsed());
            break;
        }
    }
    let cut_off = cut_off.expect("the slow client is disconnected");
    assert!(cut_off < Duration::from_secs(3), "within the timeout: {cut_off:?}");
    // A client that connects and says nothing is disconnected too.
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let started = Instant::now();
    assert!(read_to_close(&mut silent, Duration::from_secs(5)).await.is_some(), "closed");
    assert!(started.elapsed() < Duration::from_secs(3), "within the timeout: {:?}", started.elapsed());
    // A normal client is served.
    let mut ok = TcpStream::connect(addr).await.expect("connect");
    let answer = get_over(&mut ok, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn one_address_may_hold_only_so_many_connections() {
    let limits = ServerLimits {
        max_connections_per_ip: 3,
        header_read_timeout: Duration::from_secs(30),
        ..ServerLimits::default()
    };
    let (_app, addr) = server(limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.expect("connect"));
    }
    // The fourth is closed at once, without an answer.
    let mut extra = TcpStream::connect(addr).await.expect("the kernel accepts it");
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: news.example\r\n\r\n").await;
    let answer = read_to_close(&mut extra, Duration::from_secs(5)).await;
    assert_eq!(answer.as_deref(), Some(""), "the connection over the limit is closed");
    // The held ones still work.
    let answer = get_over(&mut held[0], "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // A closed connection gives its place back.
    drop(held.remove(0));
    drop(held.remove(0));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut again = TcpStream::connect(addr).await.expect("connect");
    let answer = get_over(&mut again, common::SEED_PATH).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
