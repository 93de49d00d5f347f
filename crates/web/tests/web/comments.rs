//! Readers' comments through the real router, on SQLite and on PostgreSQL:
//! posting, every defense, moderation modes, threading, escaping, cache
//! invalidation and closed stories.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use newsdesk_domain::comments::{CommentStatus, ModerationMode};
use newsdesk_storage::{AuditEntry, QueueFilter, backend_test};
use newsdesk_web::comments::CommentSettings;
use newsdesk_web::{AppState, WebConfig};

use crate::common;

use common::{Answer, SEED_PATH, TestApp};

const ORIGIN: &str = "https://news.example";

/// The test site with `settings`, and a story published an hour ago (open for comments).
async fn site(db: newsdesk_storage::testing::TestDb, settings: CommentSettings) -> (TestApp, i64, String) {
    let mut app = TestApp::new(db).await;
    let config = WebConfig { public_url: ORIGIN.into(), comments: settings, ..WebConfig::default() };
    app.state = AppState::new(app.db.store.clone(), config).await.expect("state");
    let id = app.add_at(&["World"], "Fresh story", Utc::now() - Duration::hours(1)).await;
    let path = app.db.store.story(id).await.expect("load").expect("story").path();
    (app, id, path)
}

fn open_settings() -> CommentSettings {
    CommentSettings { rate_per_ip: 100, rate_per_story: 100, ..CommentSettings::default() }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A token as the page would carry, issued `secs_ago`.
fn token(app: &TestApp, id: i64, secs_ago: i64) -> String {
    app.state.comments.form_token(id, Utc::now() - Duration::seconds(secs_ago), None)
}

async fn post_with(app: &TestApp, id: i64, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Answer {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let mut req =
        Request::post(format!("/news/{id}/comments")).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.request(req.body(Body::from(body.join("&"))).expect("request")).await
}

/// Posts as a browser on our page would (same origin, a token issued 10 s ago).
async fn post(app: &TestApp, id: i64, name: &str, text: &str) -> Answer {
    let t = token(app, id, 10);
    post_with(
        app,
        id,
        &[("name", name), ("email", ""), ("text", text), ("website", ""), ("token", &t)],
        &[("origin", ORIGIN), ("sec-fetch-site", "same-origin")],
    )
    .await
}

async fn approve_all(app: &TestApp) {
    let queue = app
        .db
        .store
        .comment_queue(&QueueFilter {
            status: Some(CommentStatus::Pending),
            news_id: None,
            before_id: None,
            limit: 100,
        })
        .await
        .expect("queue");
    let ids: Vec<i64> = queue.iter().map(|q| q.comment.id).collect();
    if ids.is_empty() {
        return;
    }
    newsdesk_web::desk::moderate_comments(&app.state, &editor(), &ids, CommentStatus::Approved)
        .await
        .expect("approve")
        .drop_pages(&app.state)
        .await
        .expect("pages dropped");
}

/// The moderator of these tests: an admin, whom no section scope limits.
fn editor() -> newsdesk_web::desk::Actor {
    newsdesk_web::desk::Actor {
        user_id: 1,
        email: "editor@example.org".into(),
        name: "Editor".into(),
        role: newsdesk_domain::roles::Role::Admin,
        token_id: None,
    }
}

/// A GET on another node's router.
async fn get_on(router: axum::Router, path: &str) -> String {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let res = router.oneshot(Request::get(path).body(Body::empty()).expect("request")).await.expect("infallible");
    String::from_utf8_lossy(&res.into_body().collect().await.expect("body").to_bytes()).into_owned()
}

/// A refused post: what, the fields changed, the headers sent, the answer's status and message.
type Case<'a> = (&'a str, Vec<(&'a str, String)>, Vec<(&'a str, &'a str)>, StatusCode, &'a str);

fn textarea(body: &str) -> &str {
    let start = body.find("<textarea").expect("textarea");
    let open_end = body[start..].find('>').expect("tag end") + start + 1;
    let end = body[open_end..].find("</textarea>").expect("textarea end") + open_end;
    &body[open_end..end]
}

backend_test! {
    async fn a_comment_in_pre_moderation_waits_for_an_editor(db) {
        let (app, id, path) = site(db, open_settings()).await;
        let page = app.get(&path).await;
        assert!(page.body.contains("<h2 id=\"comments-h\">Comments (0)</h2>"));
        assert!(page.body.contains("<form id=\"comment-form\""));
        assert!(page.body.contains("Comments are read by an editor before they appear."));

        let a = post(&app, id, "Sara", "A thoughtful remark.").await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(a.headers[header::LOCATION], format!("{path}?comment=pending#comments"));
        // Committed before the answer.
        assert_eq!(app.db.store.count_comments_with_body("A thoughtful remark.").await.expect("count"), 1);

        let back = app.get(&format!("{path}?comment=pending")).await;
        assert_eq!(back.status, StatusCode::OK);
        assert!(back.body.contains("Your comment awaits moderation"), "the notice is shown");
        assert_eq!(back.headers[header::CACHE_CONTROL], "no-store", "the notice is not cached");
        assert!(!back.body.contains("A thoughtful remark."), "a pending comment is not shown");
        let plain = app.get(&path).await;
        assert!(!plain.body.contains("awaits moderation"), "the cached page carries no notice");
        assert!(plain.headers.contains_key(header::ETAG), "the plain page is still the cached one");
    }
}

backend_test! {
    async fn approving_drops_the_cached_page_here_and_on_other_nodes(db) {
        let (app, id, path) = site(db, open_settings()).await;
        let other = AppState::new(app.db.store.clone(), WebConfig { public_url: ORIGIN.into(), ..WebConfig::default() })
            .await
            .expect("second node");
        let last = app.db.store.last_change_id().await.expect("changes");
        assert_eq!(post(&app, id, "Sara", "Worth reading.").await.status, StatusCode::SEE_OTHER);
        // Both nodes cache the page without the comment.
        assert!(app.get(&path).await.body.contains("Comments (0)"));
        let other_router = newsdesk_web::app(other.clone());
        assert!(get_on(other_router.clone(), &path).await.contains("Comments (0)"));

        approve_all(&app).await;
        let page = app.get(&path).await;
        assert!(page.body.contains("Comments (1)"), "this node drops its page at once");
        assert!(page.body.contains("<span class=\"comment-author\">Sara</span>"));
        assert!(page.body.contains("<p>Worth reading.</p>"));
        assert!(get_on(other_router.clone(), &path).await.contains("Comments (0)"), "the other node has not read the log yet");
        other.apply_changes(last).await.expect("follow the change log");
        assert!(get_on(other_router, &path).await.contains("Comments (1)"), "the change log drops it on the other node");
    }
}

backend_test! {
    async fn post_moderation_shows_the_comment_at_once(db) {
        let (app, id, path) = site(db, open_settings()).await;
        app.db.store.set_comment_moderation(app.edition_id, Some(ModerationMode::Post)).await.expect("mode");
        assert!(app.get(&path).await.body.contains("Comments (0)"), "page cached before the post");
        let a = post(&app, id, "Omid", "Straight to the page.").await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let location = a.headers[header::LOCATION].to_str().expect("location").to_string();
        assert!(location.starts_with(&format!("{path}?comment=published#comment-")), "{location}");
        let back = app.get(location.split('#').next().expect("path")).await;
        assert!(back.body.contains("Your comment is published."));
        let page = app.get(&path).await;
        assert!(page.body.contains("Comments (1)") && page.body.contains("Straight to the page."));
        assert!(page.body.contains("editors remove those that break the rules"));
    }
}

backend_test! {
    async fn a_script_in_a_comment_is_shown_as_text_with_its_line_breaks(db) {
        let (app, id, path) = site(db, open_settings()).await;
        let text = "<script>alert('x')</script>\nsecond line & more\n\nnew paragraph http://spam.example/x";
        assert_eq!(post(&app, id, "<b>Eve</b>", text).await.status, StatusCode::SEE_OTHER);
        let stored = app.db.store.count_comments_with_body(text).await.expect("count");
        assert_eq!(stored, 1, "stored exactly as typed");
        approve_all(&app).await;
        let page = app.get(&path).await.body;
        assert!(page.contains("<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;<br>\nsecond line &amp; more</p>"), "{page}");
        assert!(page.contains("<p>new paragraph http://spam.example/x</p>"), "links are not clickable by default");
        assert!(page.contains("<span class=\"comment-author\">&lt;b&gt;Eve&lt;/b&gt;</span>"));
        assert!(!page.contains("<script>alert"));
    }
}

backend_test! {
    async fn links_become_clickable_with_nofollow_ugc_only_when_allowed(db) {
        let mut settings = open_settings();
        settings.rules.links_clickable = true;
        let (app, id, path) = site(db, settings).await;
        assert_eq!(post(&app, id, "Ali", "see https://ok.example/a").await.status, StatusCode::SEE_OTHER);
        approve_all(&app).await;
        let page = app.get(&path).await.body;
        assert!(page.contains("<a href=\"https://ok.example/a\" rel=\"nofollow ugc\">https://ok.example/a</a>"));
    }
}

backend_test! {
    async fn every_defense_refuses_with_its_message_and_keeps_the_text(db) {
        let mut settings = open_settings();
        settings.rules.blocklist = vec!["casino".into()];
        let (app, id, _) = site(db, settings).await;
        let typed = "Typed with care <3\nline two";
        let fresh = token(&app, id, 10);
        let same = [("origin", ORIGIN), ("sec-fetch-site", "same-origin")];
        let cases: Vec<Case> = vec![
            ("honeypot", vec![("website", "http://bot.example".into())], same.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "looks automated"),
            ("too fast", vec![("token", token(&app, id, 0))], same.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "very fast"),
            ("no name", vec![("name", " ".into())], same.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "give a name"),
            ("bad email", vec![("email", "nope".into())], same.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "email address does not look right"),
            ("too long", vec![("text", "x".repeat(5001))], same.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "at most 5000 are allowed"),
            ("links", vec![("text", "a http://1.example b http://2.example c http://3.example".into())], same.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "has 3 links; at most 2"),
            ("blocklist", vec![("text", "Visit my CASINO today".into())], same.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "which is not allowed here"),
            (
                "control characters",
                vec![("text", "nul \u{0} byte".into())],
                same.to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invisible control characters",
            ),
            ("cross site", vec![], vec![("sec-fetch-site", "cross-site")], StatusCode::FORBIDDEN, "must be sent from this site"),
            ("other origin", vec![], vec![("origin", "https://evil.example")], StatusCode::FORBIDDEN, "must be sent from this site"),
            ("forged token", vec![("token", format!("{}.-.{}", Utc::now().timestamp() - 60, "0".repeat(32)))], same.to_vec(), StatusCode::FORBIDDEN, "could not be verified"),
            ("old token", vec![("token", token(&app, id, 8 * 86_400))], same.to_vec(), StatusCode::FORBIDDEN, "could not be verified"),
            ("other story's token", vec![("token", token(&app, 84427, 10))], same.to_vec(), StatusCode::FORBIDDEN, "could not be verified"),
            ("bad reply", vec![("parent_id", "abc".into())], same.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "could not be matched"),
            ("reply elsewhere", vec![("parent_id", "999999".into())], same.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "not on this story"),
        ];
        for (what, overrides, headers, status, message) in cases {
            let mut fields: Vec<(&str, String)> = vec![
                ("name", "Reza".into()),
                ("email", "reza@example.org".into()),
                ("text", typed.into()),
                ("website", String::new()),
                ("token", fresh.clone()),
            ];
            for (k, v) in overrides {
                match fields.iter_mut().find(|(f, _)| *f == k) {
                    Some(f) => f.1 = v,
                    None => fields.push((k, v)),
                }
            }
            let text = fields.iter().find(|(k, _)| *k == "text").map(|(_, v)| v.clone()).unwrap_or_default();
            let name = fields.iter().find(|(k, _)| *k == "name").map(|(_, v)| v.clone()).unwrap_or_default();
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let a = post_with(&app, id, &pairs, &headers).await;
            assert_eq!(a.status, status, "{what}: {}", a.body);
            assert!(a.body.contains(message), "{what}: message `{message}` missing");
            assert!(a.body.contains("role=\"alert\""), "{what}");
            assert_eq!(a.headers[header::CACHE_CONTROL], "no-store", "{what}");
            assert_eq!(textarea(&a.body), format!("\n{}", newsdesk_domain::html::escape(&text)), "{what}: the text is kept");
            assert!(a.body.contains(&format!("value=\"{}\"", newsdesk_domain::html::escape(&name))), "{what}: the name is kept");
            assert!(a.body.contains("<h1>Fresh story</h1>"), "{what}: the story page around the form");
        }
        assert!(app.db.store.comment_queue(&QueueFilter { limit: 100, ..QueueFilter::default() }).await.expect("queue").is_empty());

        // Duplicates: the same text (any case and spacing) again on the story.
        assert_eq!(post(&app, id, "Reza", "Same words.").await.status, StatusCode::SEE_OTHER);
        let dup = post(&app, id, "Reza", "same   WORDS").await;
        assert_eq!(dup.status, StatusCode::CONFLICT);
        assert!(dup.body.contains("already been received") && dup.body.contains("same   WORDS"));
    }
}

backend_test! {
    async fn the_rate_limit_per_address_is_kept_in_the_database(db) {
        let settings = CommentSettings { rate_per_ip: 2, rate_per_story: 100, ..CommentSettings::default() };
        let (app, id, _) = site(db, settings).await;
        assert_eq!(post(&app, id, "A", "first").await.status, StatusCode::SEE_OTHER);
        assert_eq!(post(&app, id, "A", "second").await.status, StatusCode::SEE_OTHER);
        let third = post(&app, id, "A", "third").await;
        assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(third.body.contains("several comments in a short time") && third.body.contains("third"));
        // A second node on the same database sees the same counters.
        let mut app = app;
        app.state = AppState::new(
            app.db.store.clone(),
            WebConfig { public_url: ORIGIN.into(), comments: CommentSettings { rate_per_ip: 2, ..CommentSettings::default() }, ..WebConfig::default() },
        )
        .await
        .expect("node");
        assert_eq!(post(&app, id, "A", "fourth").await.status, StatusCode::TOO_MANY_REQUESTS);

        let per_story = CommentSettings { rate_per_ip: 100, rate_per_story: 1, ..CommentSettings::default() };
        let (app, id, _) = site(newsdesk_storage::testing::TestDb::sqlite().await, per_story).await;
        assert_eq!(post(&app, id, "A", "one").await.status, StatusCode::SEE_OTHER);
        let busy = post(&app, id, "B", "two").await;
        assert_eq!(busy.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(busy.body.contains("very many comments"));
    }
}

backend_test! {
    async fn replies_are_threaded_one_level_deep(db) {
        let (app, id, path) = site(db, open_settings()).await;
        post(&app, id, "Top", "Top-level comment.").await;
        approve_all(&app).await;
        let top = app.db.store.published_comments(id).await.expect("list")[0].id;

        let form = app.get(&format!("{path}?reply={top}")).await;
        assert_eq!(form.status, StatusCode::OK);
        assert!(form.body.contains("Replying to Top"));
        assert!(form.body.contains(&format!("<input type=\"hidden\" name=\"parent_id\" value=\"{top}\">")));
        assert!(!app.get(&path).await.body.contains("Replying to"), "the cached page is untouched");

        let t = token(&app, id, 10);
        let same = [("origin", ORIGIN), ("sec-fetch-site", "same-origin")];
        let top_s = top.to_string();
        let a = post_with(&app, id, &[("name", "R1"), ("text", "First reply."), ("parent_id", &top_s), ("token", &t)], &same).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        approve_all(&app).await;
        let reply = app.db.store.published_comments(id).await.expect("list")[1].id;
        let reply_s = reply.to_string();
        let a = post_with(&app, id, &[("name", "R2"), ("text", "Reply to the reply."), ("parent_id", &reply_s), ("token", &t)], &same).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        approve_all(&app).await;
        let all = app.db.store.published_comments(id).await.expect("list");
        assert_eq!(all.iter().map(|c| c.parent_id).collect::<Vec<_>>(), [None, Some(top), Some(top)]);

        let page = app.get(&path).await.body;
        assert!(page.contains("Comments (3)"));
        let top_at = page.find(&format!("id=\"comment-{top}\"")).expect("top");
        let replies_at = page.find("<ol class=\"comment-replies\">").expect("replies list");
        let r1 = page.find("First reply.").expect("r1");
        let r2 = page.find("Reply to the reply.").expect("r2");
        assert!(top_at < replies_at && replies_at < r1 && r1 < r2, "replies under their comment, oldest first");
        assert_eq!(page.matches("<ol class=\"comment-replies\">").count(), 1, "one level only");
    }
}

backend_test! {
    async fn closed_stories_refuse_comments(db) {
        let (app, id, path) = site(db, open_settings()).await;
        app.db.store.set_comments_closed(id, true, &AuditEntry::system("test", "comment.story", "story", id, "closed")).await.expect("close");
        app.sync().await;
        let page = app.get(&path).await.body;
        assert!(page.contains("Comments on this story are closed.") && !page.contains("<form id=\"comment-form\""));
        let a = post(&app, id, "Late", "Too late?").await;
        assert_eq!(a.status, StatusCode::FORBIDDEN);
        assert!(a.body.contains("Comments on this story are closed."));
        assert_eq!(app.db.store.count_comments_with_body("Too late?").await.expect("count"), 0);

        // The seed story is from 2023: closed after 30 days by default, open when closing is off.
        let seed = app.get(SEED_PATH).await.body;
        assert!(seed.contains("Comments on this story are closed."));
        assert_eq!(post(&app, 84427, "Old", "On an old story").await.status, StatusCode::FORBIDDEN);
        let never = CommentSettings { close_after_days: 0, ..open_settings() };
        let (app, _, _) = site(newsdesk_storage::testing::TestDb::sqlite().await, never).await;
        assert_eq!(post(&app, 84427, "Old", "On an old story").await.status, StatusCode::SEE_OTHER);
    }
}

backend_test! {
    async fn the_script_token_is_bound_to_its_cookie(db) {
        let (app, id, _) = site(db, open_settings()).await;
        let a = app.get(&format!("/news/{id}/comments/token")).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.headers[header::CACHE_CONTROL], "no-store");
        let cookie = a.headers[header::SET_COOKIE].to_str().expect("cookie").to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Secure"));
        let pair = cookie.split(';').next().expect("pair").to_string();
        let t: serde_json::Value = serde_json::from_str(&a.body).expect("json");
        let t = t["token"].as_str().expect("token").to_string();
        // A script token is issued now: wait out the minimum fill time.
        tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
        let fields = [("name", "Js"), ("text", "Sent with the script's token."), ("token", t.as_str())];
        let without = post_with(&app, id, &fields, &[("sec-fetch-site", "same-origin")]).await;
        assert_eq!(without.status, StatusCode::FORBIDDEN);
        assert!(without.body.contains("did not send back this form"));
        let with = post_with(&app, id, &fields, &[("sec-fetch-site", "same-origin"), ("cookie", &pair)]).await;
        assert_eq!(with.status, StatusCode::SEE_OTHER, "{}", with.body);
        // A returning browser keeps its cookie.
        let again = app
            .request(
                Request::get(format!("/news/{id}/comments/token")).header("cookie", &pair).body(Body::empty()).expect("req"),
            )
            .await;
        assert!(!again.headers.contains_key(header::SET_COOKIE));
        assert_eq!(app.get("/static/comments.js").await.status, StatusCode::OK);
    }
}

/// A back-office session made in the store: (cookie, csrf, email).
async fn staff_session(app: &TestApp, email: &str, role: newsdesk_domain::roles::Role) -> (String, String) {
    use sha2::Digest;
    let user = app
        .db
        .store
        .create_user(
            &newsdesk_storage::NewUser {
                email: email.into(),
                name: "Staff".into(),
                role,
                password_hash: String::new(),
            },
            Utc::now(),
            &newsdesk_storage::AuditEntry::system("test", "user.create", "user", "", ""),
        )
        .await
        .expect("user");
    let token = hex::encode(rand::random::<[u8; 32]>());
    let csrf = hex::encode(rand::random::<[u8; 32]>());
    let hash = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    let now = Utc::now();
    app.db.store.create_session(&hash, user.id, &csrf, now, now + Duration::hours(1)).await.expect("session");
    (format!("nd_session={token}"), csrf)
}

async fn admin_get(app: &TestApp, cookie: &str, uri: &str) -> Answer {
    app.request(
        Request::get(uri)
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .expect("req"),
    )
    .await
}

async fn admin_post(app: &TestApp, cookie: &str, uri: &str, fields: &[(&str, &str)]) -> Answer {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    app.request(
        Request::post(uri)
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body.join("&")))
            .expect("req"),
    )
    .await
}

backend_test! {
    async fn the_moderation_queue_approves_rejects_and_marks_spam_in_bulk(db) {
        use newsdesk_domain::roles::Role;
        let (app, id, path) = site(db, open_settings()).await;
        for (name, text) in [("One", "First words."), ("Two", "Second words."), ("Three", "Buy pills now.")] {
            assert_eq!(post(&app, id, name, text).await.status, StatusCode::SEE_OTHER);
        }
        let (editor, csrf) = staff_session(&app, "editor@example.org", Role::Editor).await;
        let (reporter, _) = staff_session(&app, "reporter@example.org", Role::Reporter).await;
        assert_eq!(admin_get(&app, &reporter, "/admin/comments").await.status, StatusCode::FORBIDDEN);
        assert_eq!(admin_get(&app, "", "/admin/comments").await.status, StatusCode::UNAUTHORIZED);

        let q = admin_get(&app, &editor, "/admin/comments").await;
        assert_eq!(q.status, StatusCode::OK);
        assert!(q.body.contains("pending (3)") && q.body.contains("First words.") && q.body.contains("Fresh story"));
        let ids: Vec<i64> = app.db.store.published_comments(id).await.expect("list").iter().map(|c| c.id).collect();
        assert!(ids.is_empty());
        let pending = app
            .db
            .store
            .comment_queue(&QueueFilter { status: Some(CommentStatus::Pending), news_id: Some(id), before_id: None, limit: 10 })
            .await
            .expect("queue");
        let by_text = |t: &str| pending.iter().find(|q| q.comment.body == t).expect("comment").comment.id.to_string();
        let (one, two, three) = (by_text("First words."), by_text("Second words."), by_text("Buy pills now."));

        // The story page is cached with no comments.
        assert!(app.get(&path).await.body.contains("Comments (0)"));
        // Without the session's CSRF token nothing happens.
        let refused = admin_post(&app, &editor, "/admin/comments/moderate", &[("action", "approve"), ("id", &one)]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        // Bulk: tick two, press Approve.
        let a = admin_post(
            &app,
            &editor,
            "/admin/comments/moderate",
            &[("csrf", &csrf), ("return_status", "pending"), ("return_story", ""), ("action", "approve"), ("id", &one), ("id", &two)],
        )
        .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(a.headers[header::LOCATION], "/admin/comments?status=pending&done=2");
        let page = app.get(&path).await.body;
        assert!(page.contains("Comments (2)") && page.contains("First words.") && page.contains("Second words."));
        // One row's own button: spam.
        let spam = format!("{three}:spam");
        let a = admin_post(&app, &editor, "/admin/comments/moderate", &[("csrf", &csrf), ("one", &spam)]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let two_spam = format!("{two}:reject");
        admin_post(&app, &editor, "/admin/comments/moderate", &[("csrf", &csrf), ("one", &two_spam)]).await;
        let page = app.get(&path).await.body;
        assert!(page.contains("Comments (1)") && !page.contains("Second words."), "a rejected comment leaves the page");

        let c = app.db.store.comment(three.parse().expect("id")).await.expect("load").expect("comment");
        assert_eq!((c.status, c.moderated_by.as_deref()), (CommentStatus::Spam, Some("editor@example.org")));
        let audit = app.db.store.audit_log(None, 10).await.expect("audit");
        assert!(audit.iter().any(|e| e.action == "comment.moderate" && e.actor == "editor@example.org"));

        let filtered = admin_get(&app, &editor, &format!("/admin/comments?status=spam&story={id}")).await;
        assert!(filtered.body.contains("Buy pills now.") && !filtered.body.contains("First words."));
        let bad = admin_get(&app, &editor, "/admin/comments?status=maybe").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let none = admin_post(&app, &editor, "/admin/comments/moderate", &[("csrf", &csrf), ("action", "approve")]).await;
        assert_eq!(none.status, StatusCode::BAD_REQUEST);
        assert!(none.body.contains("Tick at least one comment"));

        // Closing a story from the queue refuses new comments.
        let a = admin_post(&app, &editor, &format!("/admin/comments/story/{id}/closed"), &[("csrf", &csrf), ("closed", "1")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert!(app.get(&path).await.body.contains("Comments on this story are closed."));
        assert_eq!(post(&app, id, "Late", "After closing.").await.status, StatusCode::FORBIDDEN);
    }
}

backend_test! {
    async fn a_reply_to_an_unpublished_comment_names_nobody_and_is_refused(db) {
        let (app, id, path) = site(db, open_settings()).await;
        let same = [("origin", ORIGIN), ("sec-fetch-site", "same-origin")];
        post(&app, id, "Pending Person", "Waits for an editor.").await;
        post(&app, id, "Spam Sender", "Buy things.").await;
        post(&app, id, "Rejected Writer", "Off topic.").await;
        let queue = app
            .db
            .store
            .comment_queue(&QueueFilter { status: Some(CommentStatus::Pending), news_id: Some(id), before_id: None, limit: 10 })
            .await
            .expect("queue");
        let id_of = |name: &str| queue.iter().find(|q| q.comment.name == name).expect("posted").comment.id;
        let (pending, spam, rejected) = (id_of("Pending Person"), id_of("Spam Sender"), id_of("Rejected Writer"));
        for (c, status) in [(spam, CommentStatus::Spam), (rejected, CommentStatus::Rejected)] {
            newsdesk_web::desk::moderate_comments(&app.state, &editor(), &[c], status).await.expect("moderated");
        }
        for (parent, name) in [(pending, "Pending Person"), (spam, "Spam Sender"), (rejected, "Rejected Writer")] {
            let t = token(&app, id, 10);
            let p = parent.to_string();
            // A refusal of the reply's content (too short) shows the form again: it must not name the parent.
            let shown = post_with(&app, id, &[("name", "R"), ("text", ""), ("parent_id", &p), ("token", &t)], &same).await;
            assert!(!shown.body.contains(name), "{name} named in a refused reply's form");
            let a = post_with(&app, id, &[("name", "R"), ("text", "A reply."), ("parent_id", &p), ("token", &t)], &same).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "reply to {name}: {}", a.body);
            assert!(!a.body.contains(name), "{name} named in the refusal");
            // Nor does the reply link of the page.
            let page = app.get(&format!("{path}?reply={parent}")).await;
            assert!(!page.body.contains(name), "{name} named by ?reply=");
        }
        // The pending comment, once approved, can be answered.
        newsdesk_web::desk::moderate_comments(&app.state, &editor(), &[pending], CommentStatus::Approved).await.expect("approved");
        let t = token(&app, id, 10);
        let p = pending.to_string();
        let a = post_with(&app, id, &[("name", "R"), ("text", "A reply."), ("parent_id", &p), ("token", &t)], &same).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    }
}
