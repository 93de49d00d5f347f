//! `newsdesk import wxr` as a user runs it, on SQLite and on PostgreSQL, with
//! WordPress's own theme test export (from `shared/` beside the clone): what
//! comes over is counted against the file (counted here, apart from the
//! importer), a second run changes nothing, and the old addresses answer 301
//! through the real router.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use newsdesk_domain::comments::CommentStatus;
use newsdesk_storage::backend_test;
use newsdesk_storage::testing::TestDb;
use tower::ServiceExt;

const SOURCE: &str = "https://wpthemetestdata.wordpress.com";

fn export_path() -> PathBuf {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/imports/wordpress/themeunittestdata.wordpress.xml");
    assert!(p.is_file(), "{}: shared/ must lie beside the clone", p.display());
    p
}

fn newsdesk(db: &TestDb, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.display().to_string(), "--database-url", &db.url])
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .output()
        .expect("run newsdesk")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The text of `<tag>` in `xml` (CDATA or not), read with plain string search.
fn field(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let Some(start) = xml.find(&open).map(|i| i + open.len()) else { return String::new() };
    let end = xml[start..].find(&format!("</{tag}>")).map_or(start, |e| start + e);
    let v = &xml[start..end];
    v.strip_prefix("<![CDATA[").and_then(|v| v.strip_suffix("]]>")).unwrap_or(v).trim().to_string()
}

/// What the file holds, counted by string search.
struct Counted {
    posts: BTreeMap<String, usize>,
    items: usize,
    categories: usize,
    /// Readers' comments on posts, by `wp:comment_approved`.
    comments: BTreeMap<String, usize>,
    /// (post id, link) of published posts.
    links: Vec<(String, String)>,
    thumbnail_761_post: String,
}

fn count(raw: &str) -> Counted {
    let items: Vec<&str> = raw.split("<item>").skip(1).map(|i| i.split("</item>").next().unwrap_or_default()).collect();
    let mut c = Counted {
        posts: BTreeMap::new(),
        items: items.len(),
        categories: raw.matches("<wp:category>").count(),
        comments: BTreeMap::new(),
        links: Vec::new(),
        thumbnail_761_post: String::new(),
    };
    for item in &items {
        if field(item, "wp:post_type") != "post" {
            continue;
        }
        let status = field(item, "wp:status");
        *c.posts.entry(status.clone()).or_default() += 1;
        if status == "publish" {
            c.links.push((field(item, "wp:post_id"), field(item, "link")));
        }
        if item.contains("<wp:meta_value><![CDATA[761]]>") {
            c.thumbnail_761_post = field(item, "wp:post_id");
        }
        for comment in item.split("<wp:comment>").skip(1) {
            if matches!(field(comment, "wp:comment_type").as_str(), "" | "comment") {
                *c.comments.entry(field(comment, "wp:comment_approved")).or_default() += 1;
            }
        }
    }
    c
}

/// A small JPEG at `path` (made here: nothing is fetched).
fn write_jpeg(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut std::io::Cursor::new(&mut bytes)).encode_image(&img).expect("encode");
    std::fs::write(path, bytes).expect("write");
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let res = app.clone().oneshot(Request::get(uri).body(Body::empty()).expect("request")).await.expect("answer");
    let location = res.headers().get(header::LOCATION).map(|l| l.to_str().unwrap_or_default().to_string());
    (res.status(), location.unwrap_or_default())
}

backend_test! {
    async fn the_theme_test_export_comes_over_counted_and_a_second_run_changes_nothing(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let export = export_path();
        let raw = std::fs::read_to_string(&export).expect("read export");
        let counted = count(&raw);
        // One attachment's file is there (the featured image of a post); the others are not.
        let media = dir.path().join("uploads");
        write_jpeg(&media.join("2008/06/dsc20050102_192118_51.jpg"));
        let args = ["import", "wxr", &export.display().to_string(), "--media-dir", &media.display().to_string()];
        let first = newsdesk(&db, dir.path(), &args);
        assert!(first.status.success(), "{}", text(&first.stderr));
        let out = text(&first.stdout);

        // Posts: every one but the trashed, with its state (private ones would be drafts).
        let posts: usize = counted.posts.iter().filter(|(s, _)| *s != "trash").map(|(_, n)| n).sum();
        assert_eq!(db.store.story_count().await.expect("count") as usize, posts);
        let states: BTreeMap<String, i64> = db.store.desk_counts().await.expect("states").into_iter().collect();
        let published = counted.posts.get("publish").copied().unwrap_or_default() as i64;
        // The password-protected post is published on WordPress and a draft here.
        assert_eq!(states.get("published").copied(), Some(published - 1), "{states:?}");
        assert_eq!(states.get("scheduled").copied(), counted.posts.get("future").map(|n| *n as i64), "{states:?}");
        assert_eq!(states.get("draft").copied(), Some(counted.posts.get("draft").copied().unwrap_or_default() as i64 + 1));
        assert!(out.contains(&format!("stories: {posts} of {} items", counted.items)), "{out}");

        // Categories are sections, with their tree.
        let edition = db.store.default_edition().await.expect("edition").expect("made by the import");
        let sections = db.store.sections(edition.id).await.expect("sections");
        assert_eq!(sections.len(), counted.categories);
        let child = sections.iter().find(|s| s.name == "Child 2").expect("Child 2");
        assert_eq!(child.path, "parent/child-1/child-2");

        // Comments keep their states; pingbacks and trackbacks are reported, not stored.
        let states: HashMap<CommentStatus, i64> =
            db.store.comment_counts(None).await.expect("comments").into_iter().collect();
        let want = |k: &str| counted.comments.get(k).copied().unwrap_or_default() as i64;
        assert_eq!(states[&CommentStatus::Approved], want("1"));
        assert_eq!(states[&CommentStatus::Pending], want("0"));
        assert_eq!(states[&CommentStatus::Spam], want("spam"));
        assert!(out.contains("a pingback, not a reader's comment"), "{out}");

        // The one file found became the photo of the post it features; the others are reported.
        let featured = db.store.imported_id(SOURCE, "post", &counted.thumbnail_761_post).await.expect("map").expect("imported");
        let story = db.store.story(featured).await.expect("load").expect("story");
        assert!(story.photo.is_some(), "featured image stored");
        assert!(out.contains("photos: 1 of 37 attachments (1 new)"), "{out}");
        assert!(out.contains("skipped attachment 611 \"canola2\": 2008/06/canola2.jpg not found under --media-dir"), "{out}");

        // The report names what was skipped and why.
        for want in [
            "skipped page 2 \"About The Tests\": newsdesk has no standalone pages",
            "skipped menu item 1100 \"Pages\": menus are not carried over",
            "sticky: newsdesk has no pinned stories",
            "password-protected: imported as a draft",
            "total skipped or changed: ",
        ] {
            assert!(out.contains(want), "{want} in:\n{out}");
        }

        // A second run updates nothing and adds nothing.
        let changes = db.store.last_change_id().await.expect("changes");
        let second = newsdesk(&db, dir.path(), &args);
        assert!(second.status.success(), "{}", text(&second.stderr));
        let out2 = text(&second.stdout);
        assert!(out2.contains(&format!("0 created, 0 updated, {posts} unchanged")), "{out2}");
        assert!(out2.contains("photos: 1 of 37 attachments (0 new)"), "{out2}");
        assert!(out2.contains("0 new, "), "{out2}");
        assert_eq!(db.store.story_count().await.expect("count") as usize, posts);
        assert_eq!(db.store.last_change_id().await.expect("changes"), changes, "no story changed");
        let again: HashMap<CommentStatus, i64> = db.store.comment_counts(None).await.expect("comments").into_iter().collect();
        assert_eq!(again, states);
        assert_eq!(db.store.sections(edition.id).await.expect("sections").len(), counted.categories);

        // The old addresses answer 301 through the real router.
        let state = newsdesk_web::AppState::new(db.store.clone(), newsdesk_web::WebConfig::default()).await.expect("state");
        let app = newsdesk_web::app(state);
        let (post_id, link) = counted.links.iter().find(|(_, l)| l.contains("/2010/")).expect("a /YYYY/MM/DD/slug/ link");
        let news_id = db.store.imported_id(SOURCE, "post", post_id).await.expect("map").expect("imported");
        let story = db.store.story(news_id).await.expect("load").expect("story");
        let path = link.trim_start_matches(SOURCE);
        assert!(path.starts_with("/2010/") && path.ends_with('/'), "{path}");
        assert_eq!(get(&app, path).await, (StatusCode::MOVED_PERMANENTLY, story.path()));
        assert_eq!(get(&app, path.trim_end_matches('/')).await, (StatusCode::MOVED_PERMANENTLY, story.path()));
        assert_eq!(get(&app, &format!("/?p={post_id}")).await, (StatusCode::MOVED_PERMANENTLY, story.path()));
        assert_eq!(get(&app, &story.path()).await.0, StatusCode::OK);
        assert_eq!(
            get(&app, "/category/parent/child-1/child-2/").await,
            (StatusCode::MOVED_PERMANENTLY, "/section/parent/child-1/child-2".to_string())
        );
        assert_eq!(get(&app, "/category/child-2/").await.1, "/section/parent/child-1/child-2");
        assert_eq!(get(&app, "/tag/8bit/").await, (StatusCode::MOVED_PERMANENTLY, "/tag/8bit".to_string()));
        assert_eq!(get(&app, "/tag/8bit").await.0, StatusCode::OK);
        // Other addresses are untouched: the home page, and a 404 stays a 404.
        assert_eq!(get(&app, "/?p=999999").await.0, StatusCode::OK);
        assert_eq!(get(&app, "/2010/01/no-such-post/").await.0, StatusCode::NOT_FOUND);
    }
}

/// States the real export does not hold: private, pending and trashed posts, spam and trashed comments.
const STATES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>States</title>
<link>https://states.example</link>
<wp:wxr_version>1.1</wp:wxr_version>
<item><title>Private</title><link>https://states.example/private/</link><wp:post_id>1</wp:post_id><wp:status>private</wp:status><wp:post_type>post</wp:post_type>
<content:encoded><![CDATA[Secret <script>alert(1)</script>[unknown a="b"]]]></content:encoded>
<wp:comment><wp:comment_id>10</wp:comment_id><wp:comment_author>Spammer</wp:comment_author><wp:comment_date_gmt>2020-01-01 00:00:00</wp:comment_date_gmt><wp:comment_content>Buy</wp:comment_content><wp:comment_approved>spam</wp:comment_approved></wp:comment>
<wp:comment><wp:comment_id>11</wp:comment_id><wp:comment_author>Troll</wp:comment_author><wp:comment_date_gmt>2020-01-01 00:00:00</wp:comment_date_gmt><wp:comment_content>Meh</wp:comment_content><wp:comment_approved>trash</wp:comment_approved></wp:comment>
</item>
<item><title>Pending</title><link>https://states.example/?p=2</link><wp:post_id>2</wp:post_id><wp:status>pending</wp:status><wp:post_type>post</wp:post_type></item>
<item><title>Binned</title><link>https://states.example/binned/</link><wp:post_id>3</wp:post_id><wp:status>trash</wp:status><wp:post_type>post</wp:post_type></item>
</channel>
</rss>"#;

backend_test! {
    async fn private_pending_trash_spam_and_unsafe_markup_are_mapped_and_reported(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("states.xml");
        std::fs::write(&file, STATES).expect("write");
        let out = newsdesk(&db, dir.path(), &["import", "wxr", &file.display().to_string()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let private = db.store.imported_id("https://states.example", "post", "1").await.expect("map").expect("private");
        let story = db.store.story(private).await.expect("load").expect("story");
        assert_eq!(story.status.as_str(), "draft");
        assert!(story.body_html.contains("Secret") && !story.body_html.contains("script"), "{}", story.body_html);
        let pending = db.store.imported_id("https://states.example", "post", "2").await.expect("map").expect("pending");
        assert_eq!(db.store.story(pending).await.expect("load").expect("story").status.as_str(), "submitted");
        assert_eq!(db.store.imported_id("https://states.example", "post", "3").await.expect("map"), None);
        let states: HashMap<CommentStatus, i64> = db.store.comment_counts(None).await.expect("comments").into_iter().collect();
        assert_eq!((states[&CommentStatus::Spam], states[&CommentStatus::Rejected]), (1, 1));
        for want in [
            "skipped post 1 \"Private\": private: imported as a draft",
            "skipped post 1 \"Private\": <script> removed",
            "skipped post 1 \"Private\": shortcode [unknown] removed",
            "skipped post 3 \"Binned\": in WordPress's trash",
        ] {
            assert!(stdout.contains(want), "{want} in:\n{stdout}");
        }
    }
}

backend_test! {
    async fn a_malformed_export_is_refused_with_file_and_line_and_nothing_is_stored(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let raw = std::fs::read_to_string(export_path()).expect("read");
        // The 20th item loses its closing tag.
        let at = raw.match_indices("</item>").nth(19).expect("20 items").0;
        let line = raw[..at].matches('\n').count() + 1;
        let bad = format!("{}</itm>{}", &raw[..at], &raw[at + "</item>".len()..]);
        let file = dir.path().join("bad.xml");
        std::fs::write(&file, bad).expect("write");
        let out = newsdesk(&db, dir.path(), &["import", "wxr", &file.display().to_string()]);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(err.contains(&format!("{}:{line}: ", file.display())), "line {line} in: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert_eq!(db.store.story_count().await.expect("count"), 0);
        let out = newsdesk(&db, dir.path(), &["import", "wxr", &export_path().display().to_string(), "--media-dir", "/no/such/dir"]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("--media-dir /no/such/dir: cannot open"), "{}", text(&out.stderr));
    }
}
