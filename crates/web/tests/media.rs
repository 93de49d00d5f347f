//! Photos through the real router, on SQLite and on PostgreSQL: uploads
//! (type sniffed from the bytes, location removed, size limit), renditions
//! served with immutable caching, the media library, the editor's lead photo
//! and `srcset` on story pages.

use std::io::Cursor;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{Duration, Utc};
use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use http_body_util::BodyExt;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use img_parts::{ImageEXIF, jpeg::Jpeg};
use newsdesk_domain::roles::Role;
use newsdesk_storage::{NewUser, backend_test};
use newsdesk_web::WebConfig;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

mod common;
use common::{NewStory, TestApp, seed_time};

const BOUNDARY: &str = "newsdesk-test-boundary-5f2c9a";

/// A logged-in user: session cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn session(app: &TestApp, email: &str, role: Role) -> Session {
    let user = app
        .db
        .store
        .create_user(
            &NewUser { email: email.into(), name: "Photo Desk".into(), role, password_hash: String::new() },
            Utc::now(),
            &newsdesk_storage::AuditEntry::system("test", "user.create", "user", "", ""),
        )
        .await
        .expect("user");
    let token = format!("{:064x}", user.id as u128 * 7_919 + 13);
    let csrf = format!("{:064x}", user.id as u128 * 104_729 + 17);
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let now = Utc::now();
    app.db.store.create_session(&hash, user.id, &csrf, now, now + Duration::hours(1)).await.expect("session");
    Session { cookie: format!("nd_session={token}"), csrf }
}

/// A multipart body with a file and text fields.
fn multipart(file_name: &str, content_type: &str, file: &[u8], fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// An answer with its body as bytes.
struct Raw {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

async fn send(app: &TestApp, req: Request<Body>) -> Raw {
    let res = app.router().oneshot(req).await.expect("infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("body").to_bytes().to_vec();
    Raw { status, headers, body }
}

/// Uploads as the plain form does (CSRF in the query string), or as the script does (header, JSON).
async fn upload(app: &TestApp, s: Option<&Session>, name: &str, file: &[u8], caption: &str, script: bool) -> Raw {
    let body =
        multipart(name, "application/octet-stream", file, &[("caption", caption), ("credit", "Photo: Test Desk")]);
    let uri = match (s, script) {
        (Some(s), false) => format!("/admin/media?csrf={}", s.csrf),
        _ => "/admin/media".to_string(),
    };
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .header(header::CONTENT_LENGTH, body.len())
        .header("sec-fetch-site", "same-origin");
    if let Some(s) = s {
        b = b.header(header::COOKIE, &s.cookie);
        if script {
            b = b.header("x-csrf-token", &s.csrf).header(header::ACCEPT, "application/json");
        } else {
            b = b.header(header::ACCEPT, "text/html");
        }
    }
    send(app, b.body(Body::from(body)).expect("request")).await
}

async fn get_as(app: &TestApp, s: &Session, uri: &str, json: bool) -> Raw {
    let req = Request::builder()
        .uri(uri)
        .header(header::COOKIE, &s.cookie)
        .header(header::ACCEPT, if json { "application/json" } else { "text/html" })
        .body(Body::empty())
        .expect("request");
    send(app, req).await
}

async fn post_form(app: &TestApp, s: &Session, uri: &str, form: &[(&str, &str)]) -> Raw {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("csrf", &s.csrf));
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::COOKIE, &s.cookie)
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(serde_urlencoded::to_string(&fields).expect("form")))
        .expect("request");
    send(app, req).await
}

/// A picture with some structure (so the encoders have work to do).
fn picture(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, ((x ^ y) & 0xff) as u8]))
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut buf = Vec::new();
    img.write_to(&mut Cursor::new(&mut buf), format).expect("encode");
    buf
}

/// Latitude 35° 41' 22.43" — a value easy to look for in the stored bytes.
const LATITUDE: [Rational; 3] =
    [Rational { num: 35, denom: 1 }, Rational { num: 41, denom: 1 }, Rational { num: 2243, denom: 100 }];

/// A JPEG whose EXIF has an artist, an orientation (6: turn 90° clockwise to view) and a GPS position.
fn jpeg_with_gps(w: u32, h: u32) -> Vec<u8> {
    let plain = encode(&DynamicImage::ImageRgb8(picture(w, h)), ImageFormat::Jpeg);
    let fields = [
        Field { tag: Tag::Artist, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"Test Photographer".to_vec()]) },
        Field { tag: Tag::Orientation, ifd_num: In::PRIMARY, value: Value::Short(vec![6]) },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2026:11:27 10:00:00".to_vec()]),
        },
        Field { tag: Tag::GPSLatitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"N".to_vec()]) },
        Field { tag: Tag::GPSLatitude, ifd_num: In::PRIMARY, value: Value::Rational(LATITUDE.to_vec()) },
        Field { tag: Tag::GPSLongitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"E".to_vec()]) },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational { num: 51, denom: 1 },
                Rational { num: 23, denom: 1 },
                Rational { num: 4567, denom: 100 },
            ]),
        },
    ];
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut exif = Cursor::new(Vec::new());
    writer.write(&mut exif, false).expect("exif");
    let mut jpeg = Jpeg::from_bytes(plain.into()).expect("jpeg");
    jpeg.set_exif(Some(exif.into_inner().into()));
    let bytes = jpeg.encoder().bytes().to_vec();
    let check = exif::Reader::new().read_from_container(&mut Cursor::new(&bytes)).expect("test EXIF readable");
    assert!(check.get_field(Tag::GPSLatitude, In::PRIMARY).is_some(), "the test file has GPS");
    bytes
}

/// The id in a `/admin/media?uploaded=ID` redirect.
fn uploaded_id(a: &Raw) -> i64 {
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
    let loc = a.header(header::LOCATION);
    loc.strip_prefix("/admin/media?uploaded=").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("location {loc}"))
}

/// Every `needle` position in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

backend_test! {
    async fn a_jpeg_is_stored_without_gps_upright_with_renditions_served_immutable(db) {
        let app = TestApp::new(db).await;
        let reporter = session(&app, "reporter@example.org", Role::Reporter).await;
        let original = jpeg_with_gps(900, 600);
        let a = upload(&app, Some(&reporter), "holiday.jpg", &original, "Harbour at dawn", false).await;
        let id = uploaded_id(&a);
        let photo = app.db.store.photo(id).await.expect("read").expect("stored");
        assert_eq!((photo.mime.as_str(), photo.caption.as_str(), photo.credit.as_str()), ("image/jpeg", "Harbour at dawn", "Photo: Test Desk"));
        assert_eq!((photo.width, photo.height), (600, 900), "the EXIF orientation turns the picture upright");

        // The stored original: the same picture, EXIF without the position.
        let (mime, stored) = app.db.store.photo_bytes(&photo.sha256).await.expect("read").expect("bytes");
        assert_eq!(mime, "image/jpeg");
        assert_eq!(hex::encode(Sha256::digest(&stored)), photo.sha256, "content-addressed by the stored bytes");
        assert_ne!(stored, original);
        let exif = exif::Reader::new().read_from_container(&mut Cursor::new(&stored)).expect("EXIF kept");
        assert!(exif.fields().all(|f| f.tag.context() != exif::Context::Gps), "no GPS field left");
        assert!(exif.get_field(Tag::GPSInfoIFDPointer, In::PRIMARY).is_none());
        let artist = exif.get_field(Tag::Artist, In::PRIMARY).map(|f| f.display_value().to_string());
        assert_eq!(artist.as_deref(), Some("\"Test Photographer\""), "other EXIF fields are kept");
        assert_eq!(exif.get_field(Tag::Orientation, In::PRIMARY).and_then(|f| f.value.get_uint(0)), Some(6));
        let latitude_bytes: Vec<u8> = [35u32, 1, 41, 1, 2243, 100].iter().flat_map(|n| n.to_be_bytes()).collect();
        assert!(contains(&original, &latitude_bytes) && !contains(&stored, &latitude_bytes), "the latitude's bytes are gone");
        // The image data itself is untouched: the pixels decode the same.
        let before = image::load_from_memory(&original).expect("decode").to_rgb8();
        let after = image::load_from_memory(&stored).expect("decode").to_rgb8();
        assert_eq!(before.as_raw(), after.as_raw());

        // Renditions: 320 and 640 wide (the original is 600×900 upright, so only 320 is narrower).
        let renditions = app.db.store.photo_renditions(id).await.expect("renditions");
        let shape: Vec<(i64, i64, &str)> = renditions.iter().map(|r| (r.width, r.height, r.mime.as_str())).collect();
        assert_eq!(shape, vec![(320, 480, "image/jpeg"), (320, 480, "image/webp")]);
        for r in &renditions {
            let a = send(&app, Request::get(r.path()).body(Body::empty()).expect("request")).await;
            assert_eq!(a.status, StatusCode::OK, "{}", r.path());
            assert_eq!(a.header(header::CONTENT_TYPE), r.mime);
            assert_eq!(a.header(header::CACHE_CONTROL), "public, max-age=31536000, immutable");
            assert_eq!(hex::encode(Sha256::digest(&a.body)), r.sha256, "content-addressed");
            let decoded = image::load_from_memory(&a.body).expect("decodes");
            assert_eq!((decoded.width(), decoded.height()), (320, 480), "upright");
            if r.mime == "image/webp" {
                assert!(a.body.starts_with(b"RIFF") && contains(&a.body[..40], b"VP8 "), "lossy WebP");
            }
            assert!(!contains(&a.body, b"Exif\0\0"), "renditions carry no EXIF");
        }
        let a = send(&app, Request::get(photo.path()).body(Body::empty()).expect("request")).await;
        assert_eq!((a.status, a.header(header::CACHE_CONTROL)), (StatusCode::OK, "public, max-age=31536000, immutable"));
        assert_eq!(a.body, stored, "the original is served as stored");

        // The same file again is the same photo.
        let again = upload(&app, Some(&reporter), "copy.jpg", &original, "", false).await;
        assert_eq!(uploaded_id(&again), id);
        let audit = app.db.store.audit_log(Some(("photo", &id.to_string())), 50).await.expect("audit");
        assert!(audit.iter().any(|e| e.action == "media.upload" && e.target_id == id.to_string()));
    }
}

backend_test! {
    async fn png_and_webp_are_accepted_and_answered_as_json_to_the_script(db) {
        let app = TestApp::new(db).await;
        let editor = session(&app, "editor@example.org", Role::Editor).await;
        let png = encode(
            &DynamicImage::ImageRgba8(RgbaImage::from_fn(700, 350, |x, _| Rgba([200, 30, 30, (x % 256) as u8]))),
            ImageFormat::Png,
        );
        let a = upload(&app, Some(&editor), "chart.webp", &png, "A chart", true).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        let item: serde_json::Value = serde_json::from_slice(&a.body).expect("json");
        assert_eq!(item["mime"], "image/png", "sniffed from the bytes, not the name");
        assert_eq!((item["width"].as_i64(), item["height"].as_i64(), item["renditions"].as_i64()), (Some(700), Some(350), Some(4)));
        assert!(item["url"].as_str().is_some_and(|u| u.ends_with(".png")));
        let thumb = item["thumb"].as_str().expect("thumb");
        let t = send(&app, Request::get(thumb).body(Body::empty()).expect("request")).await;
        assert_eq!((t.status, t.header(header::CONTENT_TYPE)), (StatusCode::OK, "image/jpeg"));

        let mut webp = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
            .encode(picture(500, 250).as_raw(), 500, 250, image::ExtendedColorType::Rgb8)
            .expect("webp");
        let a = upload(&app, Some(&editor), "photo.png", &webp, "A square", true).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        let item: serde_json::Value = serde_json::from_slice(&a.body).expect("json");
        assert_eq!((item["mime"].as_str(), item["renditions"].as_i64()), (Some("image/webp"), Some(2)));
        let id = item["id"].as_i64().expect("id");
        let r = app.db.store.photo_renditions(id).await.expect("renditions");
        assert_eq!(r.iter().map(|r| (r.width, r.height)).collect::<Vec<_>>(), vec![(320, 160), (320, 160)]);
    }
}

backend_test! {
    async fn files_that_are_not_photos_are_refused_with_a_clear_message(db) {
        let app = TestApp::new(db).await;
        let reporter = session(&app, "reporter@example.org", Role::Reporter).await;
        let a = upload(&app, Some(&reporter), "x.jpg", b"This is a text file pretending to be a photo.\n", "", false).await;
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(a.text().contains("not a JPEG, PNG or WebP image"), "{}", a.text());
        // The smallest GIF: a real image, of a type photos may not have.
        let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
        let a = upload(&app, Some(&reporter), "x.png", gif, "", true).await;
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let answer: serde_json::Value = serde_json::from_slice(&a.body).expect("json error");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("Gif")), "{answer}");
        let mut cut = encode(&DynamicImage::ImageRgb8(picture(200, 200)), ImageFormat::Jpeg);
        cut.truncate(300);
        let a = upload(&app, Some(&reporter), "cut.jpg", &cut, "", false).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.text().contains("cannot be read as an image"), "{}", a.text());
        let a = upload(&app, Some(&reporter), "empty.jpg", b"", "", false).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.text().contains("Choose a photo"), "{}", a.text());
        assert!(app.db.store.media_library(None, 0, 10).await.expect("library").is_empty(), "nothing stored");
    }
}

backend_test! {
    async fn uploads_over_the_configured_limit_answer_413(db) {
        let mut app = TestApp::new(db).await;
        app.state.config = Arc::new(WebConfig {
            public_url: "https://news.example".into(),
            media_max_upload_bytes: 40_000,
            ..WebConfig::default()
        });
        let reporter = session(&app, "reporter@example.org", Role::Reporter).await;
        let noise = RgbImage::from_fn(300, 300, |x, y| Rgb([(x * 7919 + y * 104_729) as u8, (x * y) as u8, (x + 3 * y) as u8]));
        let big = encode(&DynamicImage::ImageRgb8(noise), ImageFormat::Png);
        assert!(big.len() > 40_000, "{}", big.len());
        let a = upload(&app, Some(&reporter), "big.png", &big, "", false).await;
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(a.text().contains("larger than"), "{}", a.text());
        // Without a declared length too (chunked upload), and just over the limit.
        let just_over = [big[..8].to_vec(), vec![0u8; 40_001 - 8]].concat();
        let body = multipart("x.png", "image/png", &just_over, &[]);
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/admin/media?csrf={}", reporter.csrf))
            .header(header::COOKIE, &reporter.cookie)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(Body::from(body))
            .expect("request");
        assert_eq!(send(&app, req).await.status, StatusCode::PAYLOAD_TOO_LARGE);
        let small = encode(&DynamicImage::ImageRgb8(picture(100, 100)), ImageFormat::Jpeg);
        uploaded_id(&upload(&app, Some(&reporter), "small.jpg", &small, "", false).await);
    }
}

backend_test! {
    async fn uploads_need_a_login_and_the_csrf_token(db) {
        let app = TestApp::new(db).await;
        let jpeg = encode(&DynamicImage::ImageRgb8(picture(50, 50)), ImageFormat::Jpeg);
        assert_eq!(upload(&app, None, "a.jpg", &jpeg, "", false).await.status, StatusCode::UNAUTHORIZED);
        let reporter = session(&app, "reporter@example.org", Role::Reporter).await;
        let body = multipart("a.jpg", "image/jpeg", &jpeg, &[]);
        let req = Request::builder()
            .method(Method::POST)
            .uri("/admin/media")
            .header(header::COOKIE, &reporter.cookie)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(Body::from(body))
            .expect("request");
        assert_eq!(send(&app, req).await.status, StatusCode::FORBIDDEN, "no CSRF token");
        let a = get_as(&app, &reporter, "/admin/media", false).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.text().contains(&format!("action=\"/admin/media?csrf={}\"", reporter.csrf)), "the plain form carries the token");
        assert!(a.text().contains("enctype=\"multipart/form-data\""));
    }
}

backend_test! {
    async fn the_library_lists_searches_pages_and_edits_captions(db) {
        let app = TestApp::new(db).await;
        let reporter = session(&app, "reporter@example.org", Role::Reporter).await;
        let mut ids = Vec::new();
        for (i, caption) in ["Oil tanker <b>in</b> the Gulf", "Parliament in session", "Refinery & oil workers"].iter().enumerate() {
            let jpeg = encode(&DynamicImage::ImageRgb8(picture(400 + i as u32, 300)), ImageFormat::Jpeg);
            ids.push(uploaded_id(&upload(&app, Some(&reporter), "p.jpg", &jpeg, caption, false).await));
        }
        let a = get_as(&app, &reporter, "/admin/media?q=OIL", false).await;
        assert_eq!(a.status, StatusCode::OK);
        let page = a.text();
        assert!(page.contains("Oil tanker &lt;b&gt;in&lt;/b&gt; the Gulf"), "captions are escaped");
        assert!(page.contains("Refinery &amp; oil workers") && !page.contains("Parliament"));
        let thumb = app.db.store.photo_renditions(ids[0]).await.expect("renditions")[0].path();
        assert!(page.contains(&format!("src=\"{thumb}\"")), "thumbnails are the 320 rendition");
        let a = get_as(&app, &reporter, "/admin/media", true).await;
        let json: serde_json::Value = serde_json::from_slice(&a.body).expect("json");
        assert_eq!(json["items"].as_array().map(Vec::len), Some(3));
        assert_eq!(json["items"][0]["id"].as_i64(), Some(ids[2]), "newest first");
        assert_eq!(get_as(&app, &reporter, "/admin/media?page=0", false).await.status, StatusCode::BAD_REQUEST);
        assert!(get_as(&app, &reporter, "/admin/media?page=2", false).await.text().contains("No photo has been uploaded yet"));

        let a = post_form(&app, &reporter, &format!("/admin/media/{}", ids[1]), &[("caption", "  Parliament\nvotes "), ("credit", "Agency")]).await;
        assert_eq!((a.status, a.header(header::LOCATION)), (StatusCode::SEE_OTHER, format!("/admin/media?saved={}", ids[1]).as_str()));
        let p = app.db.store.photo(ids[1]).await.expect("read").expect("photo");
        assert_eq!((p.caption.as_str(), p.credit.as_str()), ("Parliament votes", "Agency"));
        assert!(get_as(&app, &reporter, "/admin/media?q=votes", false).await.text().contains("Parliament votes"));
        let long = "x".repeat(1001);
        assert_eq!(post_form(&app, &reporter, &format!("/admin/media/{}", ids[1]), &[("caption", &long)]).await.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(post_form(&app, &reporter, "/admin/media/999999", &[("caption", "x")]).await.status, StatusCode::NOT_FOUND);
    }
}

backend_test! {
    async fn the_editor_sets_a_checked_lead_photo_and_the_story_page_has_srcset(db) {
        let app = TestApp::new(db).await;
        let reporter = session(&app, "reporter@example.org", Role::Reporter).await;
        let jpeg = encode(&DynamicImage::ImageRgb8(picture(1800, 1200)), ImageFormat::Jpeg);
        let photo_id = uploaded_id(&upload(&app, Some(&reporter), "big.jpg", &jpeg, "Minister at the podium", false).await);
        let section = app.db.store.sections(app.edition_id).await.expect("sections")[0].id.to_string();
        let refused = [("headline", "Story with a photo"), ("lead", "Lead."), ("body", "Body."), ("section_id", section.as_str()), ("photo_id", "999999")];
        let a = post_form(&app, &reporter, "/admin/stories", &refused).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.text().contains("There is no photo 999999 in the media library"), "{}", a.text());
        let id_text = photo_id.to_string();
        let ok = [("headline", "Story with a photo"), ("lead", "Lead."), ("body", "Body."), ("section_id", section.as_str()), ("photo_id", id_text.as_str())];
        let a = post_form(&app, &reporter, "/admin/stories", &ok).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
        let news_id: i64 = a.header(header::LOCATION).trim_start_matches("/admin/stories/").split('/').next().and_then(|n| n.parse().ok()).expect("id");
        let story = app.db.store.story(news_id).await.expect("read").expect("story");
        assert_eq!(story.photo.as_ref().map(|p| p.id), Some(photo_id));
        let editor = get_as(&app, &reporter, &format!("/admin/stories/{news_id}/edit"), false).await.text();
        assert!(editor.contains(&format!("name=\"photo_id\" value=\"{photo_id}\"")), "the field shows the photo");
        assert!(editor.contains("Minister at the podium"), "with its caption");

        // A published story with the photo: the page offers the renditions.
        let published = app.add(NewStory { sections: &["World"], headline: "Pictured", published_at: seed_time(), tags: &[], photo_id: Some(photo_id) }).await;
        let page = app.get(&format!("/news/{published}")).await;
        let page = app.get(page.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).expect("canonical")).await;
        assert_eq!(page.status, StatusCode::OK);
        let body = page.body;
        let renditions = app.db.store.photo_renditions(photo_id).await.expect("renditions");
        assert_eq!(renditions.iter().map(|r| r.width).collect::<Vec<_>>(), vec![320, 320, 640, 640, 1024, 1024, 1600, 1600]);
        let webp: Vec<String> = renditions.iter().filter(|r| r.mime == "image/webp").map(|r| format!("{} {}w", r.path(), r.width)).collect();
        assert!(body.contains("<picture>"), "{body}");
        assert!(body.contains(&format!("<source type=\"image/webp\" srcset=\"{}\"", webp.join(", "))), "{body}");
        let original = app.db.store.photo(photo_id).await.expect("read").expect("photo");
        assert!(body.contains(&format!("{} 1800w\" sizes=\"", original.path())), "the original is the widest JPEG candidate");
        assert!(body.contains("sizes=\"(max-width: 860px) calc(100vw - 32px), 816px\""));
        assert!(body.contains(&format!("<img src=\"{}\" srcset=", original.path())));
        assert!(body.contains("alt=\"Minister at the podium\" width=\"1800\" height=\"1200\">"));
        // Home and section lists offer the renditions too, sized for a teaser.
        for list in ["/", "/section/world"] {
            let body = app.get(list).await.body;
            assert!(body.contains(&format!("<source type=\"image/webp\" srcset=\"{}\"", webp.join(", "))), "{list}: {body}");
            assert!(body.contains("sizes=\"(max-width: 640px) calc(100vw - 32px), 480px\""), "{list}");
        }
        // Feeds keep the original.
        let feed = app.get("/feed.rss").await;
        assert!(feed.body.contains(&format!("https://news.example{}", original.path())), "{}", feed.body);
    }
}

backend_test! {
    async fn photos_stored_before_renditions_get_them_and_their_pages_use_them(db) {
        let app = TestApp::new(db).await;
        let jpeg = encode(&DynamicImage::ImageRgb8(picture(1000, 500)), ImageFormat::Jpeg);
        let sha = hex::encode(Sha256::digest(&jpeg));
        let legacy = app.db.store.put_photo(&jpeg, "image/jpeg", 1000, 500, "Old photo", "", &sha).await.expect("put");
        let broken = app.db.store.put_photo(b"not an image", "image/jpeg", 900, 500, "Broken", "", &"b".repeat(64)).await.expect("put");
        let id = app.add(NewStory { sections: &["World"], headline: "Old story", published_at: seed_time(), tags: &[], photo_id: Some(legacy.id) }).await;
        let page = app.get(&format!("/news/{id}")).await;
        let path = page.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).expect("canonical").to_string();
        assert!(!app.get(&path).await.body.contains("srcset"), "no renditions yet");
        newsdesk_web::media::complete_renditions(app.db.store.clone()).await;
        let r = app.db.store.photo_renditions(legacy.id).await.expect("renditions");
        assert_eq!(r.iter().map(|r| (r.width, r.height)).collect::<Vec<_>>(), vec![(320, 160), (320, 160), (640, 320), (640, 320)]);
        assert!(app.db.store.photo_renditions(broken.id).await.expect("renditions").is_empty(), "skipped, logged");
        app.sync().await;
        let body = app.get(&path).await.body;
        assert!(body.contains(&format!("{} 640w", r[3].path())), "{body}");
    }
}
