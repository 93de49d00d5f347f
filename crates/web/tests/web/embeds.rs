//! Embeds and inline photos in story bodies (issue 17): a provider URL alone
//! on its line becomes a click-to-load placeholder whose title and thumbnail
//! the server learns once, at save, from oEmbed — here a local oEmbed server:
//! nothing leaves the machine. Pages allow exactly the embedded providers'
//! frames; feeds and ninjs keep a plain link to the original.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use newsdesk_domain::roles::Role;
use newsdesk_storage::{NewSubscriber, backend_test};
use newsdesk_web::WebConfig;
use newsdesk_web::embeds::EmbedSettings;
use serde_json::{Value, json};

use crate::common;
use common::{Person, TestApp};

const VIDEO: &str = "https://youtu.be/dQw4w9WgXcQ";
const VIDEO_URL: &str = "https://www.youtube.com/watch?v=dQw4w9WgXcQ";

/// A local oEmbed server: YouTube's path answers a title and a thumbnail (a
/// PNG it serves itself), Vimeo's path is down (503). Counts the requests.
struct OEmbed {
    base: String,
    documents: Arc<AtomicUsize>,
    thumbnails: Arc<AtomicUsize>,
}

async fn oembed_server() -> OEmbed {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let documents = Arc::new(AtomicUsize::new(0));
    let thumbnails = Arc::new(AtomicUsize::new(0));
    let mut png = Vec::new();
    image::RgbImage::from_pixel(32, 18, image::Rgb([200, 30, 30]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let (d, t, b) = (documents.clone(), thumbnails.clone(), base.clone());
    let app = Router::new()
        .route(
            "/oembed",
            get(move |Query(q): Query<std::collections::HashMap<String, String>>| {
                let (d, b) = (d.clone(), b.clone());
                async move {
                    d.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(q.get("url").map(String::as_str), Some(VIDEO_URL), "asked for the original");
                    axum::Json(json!({
                        "type": "video", "version": "1.0", "title": "Local <b>video</b> & title",
                        "thumbnail_url": format!("{b}/thumb.png"), "thumbnail_width": 32, "thumbnail_height": 18,
                    }))
                }
            }),
        )
        .route(
            "/thumb.png",
            get(move || {
                let (t, png) = (t.clone(), png.clone());
                async move {
                    t.fetch_add(1, Ordering::SeqCst);
                    ([(header::CONTENT_TYPE, "image/png")], png)
                }
            }),
        )
        .route("/api/oembed.json", get(|| async { StatusCode::SERVICE_UNAVAILABLE }));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    OEmbed { base, documents, thumbnails }
}

/// The test site with oEmbed pointed at `server`.
async fn app_with(db: newsdesk_storage::testing::TestDb, server: &OEmbed) -> TestApp {
    let mut app = TestApp::new(db).await;
    let config = WebConfig {
        embeds: EmbedSettings { oembed_url: Some(server.base.clone()), ..EmbedSettings::default() },
        ..(*app.state.config).clone()
    };
    app.state.config = Arc::new(config);
    app
}

async fn api(app: &TestApp, who: &Person, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {}", who.token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let a = app.request(req).await;
    (a.status, serde_json::from_str(&a.body).unwrap_or(Value::Null))
}

async fn version(app: &TestApp, id: i64) -> i64 {
    app.db.store.story(id).await.expect("read").expect("story").version
}

/// Creates and publishes a story with `body` through the write API.
async fn publish(app: &TestApp, who: &Person, headline: &str, body: &str) -> i64 {
    let (status, created) = api(
        app,
        who,
        "POST",
        "/api/v1/stories",
        json!({ "headline": headline, "section": "world", "body": body, "body_format": "markdown" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["news_id"].as_i64().expect("id");
    let v = version(app, id).await;
    let (status, out) = api(app, who, "POST", &format!("/api/v1/stories/{id}/publish"), json!({ "version": v })).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    id
}

fn csp(a: &common::Answer) -> String {
    a.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

backend_test! {
    async fn an_embed_is_looked_up_once_and_shown_as_a_click_to_load_placeholder(db) {
        let server = oembed_server().await;
        let app = app_with(db, &server).await;
        app.db.store.ensure_section_path(app.edition_id, &["World".to_string()]).await.expect("section");
        let editor = app.person("Eve Editor", Role::Editor).await;
        let body = format!("The launch, as filmed:\n\n{VIDEO}\n\nMore after the video.");
        let id = publish(&app, &editor, "Launch on video", &body).await;

        // Title and thumbnail learnt once, at save; the thumbnail is our own copy.
        let stored = app.db.store.embed(VIDEO_URL).await.expect("read").expect("stored");
        assert_eq!(stored.title, "Local video & title");
        assert!(stored.ok);
        let thumb = stored.thumbnail.clone().expect("thumbnail");
        assert_eq!((thumb.width, thumb.height), (32, 18));
        assert_eq!(server.documents.load(Ordering::SeqCst), 1);
        assert_eq!(server.thumbnails.load(Ordering::SeqCst), 1);
        let media = app.get(&thumb.src).await;
        assert_eq!(media.status, StatusCode::OK, "the thumbnail is served by us");
        assert_eq!(media.content_type(), "image/png");

        // A second save of the body (changed around the URL) asks nothing again.
        let v = version(&app, id).await;
        let (status, out) = api(&app, &editor, "PATCH", &format!("/api/v1/stories/{id}"),
            json!({ "version": v, "body": format!("{body}\n\nA last paragraph.") })).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        assert_eq!(server.documents.load(Ordering::SeqCst), 1, "no second lookup");
        assert_eq!(server.thumbnails.load(Ordering::SeqCst), 1);

        // The page: a placeholder with the link to the original, our thumbnail, no frame yet.
        app.sync().await;
        let path = app.db.store.story(id).await.expect("read").expect("story").path();
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("data-embed=\"youtube\""), "{}", page.body);
        assert!(page.body.contains(&format!("<a href=\"{VIDEO_URL}\"")), "link to the original");
        assert!(page.body.contains("Local video &amp; title</a>"), "the title, escaped");
        assert!(page.body.contains(&format!("src=\"{}\"", thumb.src)), "our thumbnail");
        assert!(!page.body.contains("<iframe"), "no frame before the click");
        assert!(!page.body.contains(" src=\"https://"), "nothing on the page is fetched from a third party");
        assert!(page.body.contains("/static/embeds.js?v="), "the click-to-load script");
        assert!(page.body.contains("data-load=\"Load content from {provider}\""));
        let policy = csp(&page);
        assert!(policy.contains("frame-src https://www.youtube-nocookie.com"), "{policy}");
        assert!(!policy.contains("vimeo") && !policy.contains("twitter"), "only the embedded provider: {policy}");
        assert!(policy.contains("script-src 'self'"), "the rest stays strict: {policy}");
        let script = app.get("/static/embeds.js").await;
        assert_eq!(script.status, StatusCode::OK);
        assert!(script.content_type().starts_with("text/javascript"));
        // Pages without embeds keep the strict policy.
        let home = app.get("/").await;
        assert!(!csp(&home).contains("frame-src"), "{}", csp(&home));
        let seed = app.get(common::SEED_PATH).await;
        assert!(!csp(&seed).contains("frame-src"));
        assert!(!seed.body.contains("embeds.js"));

        // Feeds and ninjs carry the link to the original.
        let feed = app.get("/feed.json").await;
        assert!(feed.body.contains(VIDEO_URL), "JSON Feed has the link");
        let rss = app.get("/feed.rss").await;
        assert!(rss.body.contains(VIDEO_URL), "RSS has the link");
        let audit = |a: &str| newsdesk_storage::AuditEntry::system("test", a, "subscriber", "", "");
        let s = app.db.store.add_subscriber(&NewSubscriber { name: "All".into(), sections: vec![], editions: vec![], rate_limit: 600 }, &audit("subscriber.create")).await.expect("subscriber");
        let key = app.db.store.create_api_key(s.id, &audit("subscriber.key")).await.expect("key").0;
        let ninjs = app.request(Request::get(format!("/api/ninjs/v2/items/{id}")).header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).expect("request")).await;
        assert_eq!(ninjs.status, StatusCode::OK, "{}", ninjs.body);
        assert!(ninjs.body.contains(VIDEO_URL), "ninjs has the link: {}", ninjs.body);
    }
}

backend_test! {
    async fn an_oembed_that_is_down_never_blocks_the_save(db) {
        let server = oembed_server().await;
        let app = app_with(db, &server).await;
        app.db.store.ensure_section_path(app.edition_id, &["World".to_string()]).await.expect("section");
        let editor = app.person("Eve Editor", Role::Editor).await;
        let id = publish(&app, &editor, "Vimeo is down", "Before.\n\nhttps://vimeo.com/76979871\n\nAfter.").await;
        let stored = app.db.store.embed("https://vimeo.com/76979871").await.expect("read").expect("remembered");
        assert!(!stored.ok, "the failure is remembered (tried again only an hour later)");
        app.sync().await;
        let path = app.db.store.story(id).await.expect("read").expect("story").path();
        let page = app.get(&path).await;
        assert!(page.body.contains(">https://vimeo.com/76979871</a>"), "the URL is the title");
        assert!(csp(&page).contains("frame-src https://player.vimeo.com"), "{}", csp(&page));
        // A provider without oEmbed (Telegram) in a live-blog update: saved, shown, allowed.
        let v = version(&app, id).await;
        let (status, out) = api(&app, &editor, "PATCH", &format!("/api/v1/stories/{id}"), json!({ "version": v, "live": true })).await;
        assert_eq!(status, StatusCode::OK, "{out}");
        let (status, out) = api(&app, &editor, "POST", &format!("/api/v1/stories/{id}/updates"), json!({ "body": "Posted:\n\nhttps://t.me/durov/142" })).await;
        assert_eq!(status, StatusCode::CREATED, "{out}");
        app.sync().await;
        let page = app.get(&path).await;
        assert!(page.body.contains("data-embed=\"telegram\""), "the update's placeholder");
        let policy = csp(&page);
        assert!(policy.contains("https://player.vimeo.com") && policy.contains("https://t.me"), "{policy}");
    }
}

backend_test! {
    async fn unknown_photos_are_refused_and_known_ones_render_inline(db) {
        let server = oembed_server().await;
        let app = app_with(db, &server).await;
        app.db.store.ensure_section_path(app.edition_id, &["World".to_string()]).await.expect("section");
        let editor = app.person("Eve Editor", Role::Editor).await;
        let before = app.db.store.last_change_id().await.expect("changes");
        let (status, out) = api(&app, &editor, "POST", "/api/v1/stories",
            json!({ "headline": "Missing photo", "section": "world", "body": "Text.\n\n![A caption](photo:424242 \"Credit\")" })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{out}");
        assert!(out.to_string().contains("photo 424242"), "{out}");
        assert_eq!(app.db.store.last_change_id().await.expect("changes"), before, "nothing saved");

        // The back office says the same at the body field.
        let section = app.db.store.sections(app.edition_id).await.expect("sections").into_iter().find(|s| s.path == "world").expect("world").id;
        let a = app.post_as(&editor, "/admin/stories", &[("headline", "Missing photo"), ("section_id", &section.to_string()), ("body", "![x](photo:424242)"), ("body_format", "markdown")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains("There is no photo 424242"), "{}", a.body);

        // A photo of the library, with this use's caption and credit.
        let mut jpeg = Vec::new();
        image::RgbImage::from_pixel(64, 48, image::Rgb([10, 120, 200]))
            .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .expect("jpeg");
        let photo = app.db.store.add_photo(&newsdesk_storage::NewPhoto {
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&jpeg)),
            mime: "image/jpeg".into(), width: 64, height: 48, bytes: jpeg,
            caption: "Library caption".into(), credit: "Library credit".into(),
            details: Default::default(),
        }, &[], &newsdesk_storage::AuditEntry::system("test", "photo.upload", "photo", "", "")).await.expect("photo");
        let body = format!("Text.\n\n![Crowd <at> the square](photo:{} \"Photo: Sara\")", photo.id);
        let id = publish(&app, &editor, "With a photo", &body).await;
        app.sync().await;
        let path = app.db.store.story(id).await.expect("read").expect("story").path();
        let page = app.get(&path).await;
        assert!(page.body.contains("<figure class=\"body-photo\">"), "{}", page.body);
        assert!(page.body.contains(&format!("src=\"{}\"", photo.path())));
        assert!(page.body.contains("<span dir=\"auto\">Crowd &lt;at&gt; the square</span>"));
        assert!(page.body.contains("Photo: Sara"));
        assert!(!csp(&page).contains("frame-src"), "a photo is no embed");
    }
}
