//! `newsdesk import feed` as a user runs it, on SQLite and on PostgreSQL:
//! an Atom archive's entries become published stories with their dates,
//! authors and categories, bodies sanitized, old links answer 301 through the
//! real router, the report says what was skipped; a second run, from a URL
//! served on this machine, changes nothing; bad input fails with where.

use std::path::Path;
use std::process::Output;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use newsdesk_domain::StoryStatus;
use newsdesk_storage::backend_test;
use newsdesk_storage::testing::TestDb;
use tower::ServiceExt;

const SOURCE: &str = "feed:https://old.example";

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Old Blog</title>
  <id>https://old.example/</id>
  <updated>2021-03-04T10:00:00Z</updated>
  <entry>
    <title>Budget passes parliament</title>
    <id>tag:old.example,2021:1</id>
    <link rel="alternate" href="https://old.example/2021/03/budget-passes/"/>
    <published>2021-03-04T09:30:00Z</published>
    <updated>2021-03-04T10:00:00Z</updated>
    <author><name>Sara Ahmadi</name></author>
    <author><name>Omid Karimi</name></author>
    <category term="politics" label="Politics"/>
    <category term="economy"/>
    <summary>The vote was close.</summary>
    <content type="html">&lt;p&gt;The budget passed &lt;b&gt;narrowly&lt;/b&gt;.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</content>
  </entry>
  <entry>
    <title>Rain expected</title>
    <id>tag:old.example,2021:2</id>
    <link href="https://old.example/2021/03/rain/"/>
    <published>2021-03-02T08:00:00Z</published>
    <content type="text">Clouds from the west.</content>
  </entry>
  <entry>
    <title>A title and nothing else</title>
    <id>tag:old.example,2021:3</id>
    <published>2021-03-01T08:00:00Z</published>
  </entry>
</feed>
"#;

fn newsdesk(db: &TestDb, dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.display().to_string(), "--database-url", &db.url])
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .output()
        .expect("run newsdesk")
}

/// Runs the command off the test's runtime, so a server on it can answer.
async fn newsdesk_async(db: &TestDb, dir: &Path, args: &[&str]) -> Output {
    let (url, dir) = (db.url.clone(), dir.to_path_buf());
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_newsdesk"))
            .args(["--data", &dir.display().to_string(), "--database-url", &url])
            .args(&args)
            .env_remove("NEWSDESK_CONFIG")
            .output()
            .expect("run newsdesk")
    })
    .await
    .expect("join")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let res = app.clone().oneshot(Request::get(uri).body(Body::empty()).expect("request")).await.expect("answer");
    let location = res.headers().get(header::LOCATION).map(|l| l.to_str().unwrap_or_default().to_string());
    (res.status(), location.unwrap_or_default())
}

backend_test! {
    async fn a_feed_archive_comes_over_published_with_redirects_and_again_from_a_url_unchanged(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("archive.atom");
        std::fs::write(&file, ATOM).expect("write feed");
        let file_arg = file.display().to_string();
        let first = newsdesk(&db, dir.path(), &["import", "feed", &file_arg]);
        let out = text(&first.stdout);
        assert!(first.status.success(), "{}\n{out}", text(&first.stderr));
        assert!(out.contains("stories: 2 of 3 entries (2 created, 0 updated, 0 unchanged)"), "{out}");
        assert!(out.contains("skipped entry \"A title and nothing else\": it has no text"), "{out}");
        assert!(out.contains("redirects: 2 old addresses"), "{out}");

        let id = db.store.imported_id(SOURCE, "post", "tag:old.example,2021:1").await.expect("map").expect("imported");
        let story = db.store.story(id).await.expect("load").expect("story");
        assert_eq!(story.status, StoryStatus::Published);
        assert_eq!(story.published_at.map(|t| t.to_rfc3339()), Some("2021-03-04T09:30:00+00:00".to_string()));
        let authors: Vec<&str> = story.authors.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(authors, vec!["Sara Ahmadi", "Omid Karimi"]);
        let tags: Vec<&str> = story.tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(tags, vec!["Politics", "economy"]);
        assert_eq!(story.lead, "The vote was close.");
        assert!(story.body_html.contains("<b>narrowly</b>") && !story.body_html.contains("script"), "{}", story.body_html);

        // The old links answer 301 through the real router, to the story's page.
        let state = newsdesk_web::AppState::new(db.store.clone(), newsdesk_web::WebConfig::default()).await.expect("state");
        let app = newsdesk_web::app(state);
        assert_eq!(get(&app, "/2021/03/budget-passes/").await, (StatusCode::MOVED_PERMANENTLY, story.path()));
        assert_eq!(get(&app, "/2021/03/budget-passes").await, (StatusCode::MOVED_PERMANENTLY, story.path()));
        assert_eq!(get(&app, &story.path()).await.0, StatusCode::OK);

        // The same archive from a URL (a server on this machine) maps to the same stories.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let feed = axum::Router::new()
            .route("/archive.atom", axum::routing::get(|| async { ([(header::CONTENT_TYPE, "application/atom+xml")], ATOM) }));
        let server = tokio::spawn(async move { axum::serve(listener, feed).await });
        let changes = db.store.last_change_id().await.expect("changes");
        let second = newsdesk_async(&db, dir.path(), &["import", "feed", &format!("http://{addr}/archive.atom")]).await;
        let out2 = text(&second.stdout);
        assert!(second.status.success(), "{}\n{out2}", text(&second.stderr));
        assert!(out2.contains("(0 created, 0 updated, 2 unchanged)"), "{out2}");
        assert_eq!(db.store.story_count().await.expect("count"), 2);
        assert_eq!(db.store.last_change_id().await.expect("changes"), changes, "no story changed");

        // A missing page, a missing file, a broken feed: refused with where, nothing stored.
        let missing = newsdesk_async(&db, dir.path(), &["import", "feed", &format!("http://{addr}/nope.xml")]).await;
        assert!(!missing.status.success());
        assert!(text(&missing.stderr).contains("404"), "{}", text(&missing.stderr));
        server.abort();
        let none = newsdesk(&db, dir.path(), &["import", "feed", "/no/such/feed.xml"]);
        assert!(!none.status.success());
        assert!(text(&none.stderr).contains("/no/such/feed.xml: cannot read"), "{}", text(&none.stderr));
        let broken = dir.path().join("broken.atom");
        std::fs::write(&broken, "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n<entry><title>x</title>\n</feed>").expect("write");
        let bad = newsdesk(&db, dir.path(), &["import", "feed", &broken.display().to_string()]);
        assert!(!bad.status.success());
        assert!(text(&bad.stderr).contains(&format!("{}:", broken.display())), "{}", text(&bad.stderr));
        assert_eq!(db.store.story_count().await.expect("count"), 2);
    }
}
