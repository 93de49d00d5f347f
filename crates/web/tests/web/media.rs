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

use crate::common;
use common::{NewStory, TestApp, seed_time};

const BOUNDARY: &str = "newsdesk-test-boundary-5f2c9a";

/// A logged-in user: session cookie and CSRF token.
struct Session {
    user_id: i64,
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
    Session { user_id: user.id, cookie: format!("nd_session={token}"), csrf }
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
    let mut jpeg = Jpeg::from_bytes(plain.into()).expect("jpeg");
    jpeg.set_exif(Some(gps_exif(6, LATITUDE, false).into()));
    let bytes = jpeg.encoder().bytes().to_vec();
    let check = exif::Reader::new().read_from_container(&mut Cursor::new(&bytes)).expect("test EXIF readable");
    assert!(check.get_field(Tag::GPSLatitude, In::PRIMARY).is_some(), "the test file has GPS");
    bytes
}

/// Raw EXIF (TIFF) with an artist, a copyright, an orientation, a date and a GPS position at `latitude`.
fn gps_exif(orientation: u16, latitude: [Rational; 3], little_endian: bool) -> Vec<u8> {
    let fields = [
        Field { tag: Tag::Artist, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"Test Photographer".to_vec()]) },
        Field { tag: Tag::Copyright, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"Test Agency".to_vec()]) },
        Field { tag: Tag::Orientation, ifd_num: In::PRIMARY, value: Value::Short(vec![orientation]) },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"2026:11:27 10:00:00".to_vec()]),
        },
        Field { tag: Tag::GPSLatitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"N".to_vec()]) },
        Field { tag: Tag::GPSLatitude, ifd_num: In::PRIMARY, value: Value::Rational(latitude.to_vec()) },
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
    writer.write(&mut exif, little_endian).expect("exif");
    exif.into_inner()
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
        // The lead slot shows the 16:9 crop made at upload (around the centre); lists their slot's crop.
        let crops = app.db.store.photo_crop_renditions(photo_id).await.expect("crops");
        let webp_of = |ratio: newsdesk_domain::crop::Ratio| -> String {
            crops.iter().filter(|c| c.ratio == ratio && c.mime == "image/webp").map(|c| format!("{} {}w", c.path(), c.width)).collect::<Vec<_>>().join(", ")
        };
        assert!(body.contains("<picture>"), "{body}");
        assert!(body.contains(&format!("<source type=\"image/webp\" srcset=\"{}\"", webp_of(newsdesk_domain::crop::Ratio::Wide))), "{body}");
        let original = app.db.store.photo(photo_id).await.expect("read").expect("photo");
        assert!(body.contains("sizes=\"(max-width: 860px) calc(100vw - 32px), 816px\""));
        assert!(body.contains("alt=\"Minister at the podium\" width=\"1600\" height=\"900\">"), "the widest 16:9 crop: {body}");
        // Home (16:9 slots) and section lists (4:3) offer the crops too, sized for a teaser.
        for (list, ratio) in [("/", newsdesk_domain::crop::Ratio::Wide), ("/section/world", newsdesk_domain::crop::Ratio::Standard)] {
            let body = app.get(list).await.body;
            assert!(body.contains(&format!("<source type=\"image/webp\" srcset=\"{}\"", webp_of(ratio))), "{list}: {body}");
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
        // Another node holds the job: this one waits, and does nothing meanwhile.
        assert!(app.db.store.try_lease("renditions", "other-node", 60).await.expect("lease"));
        let job = tokio::spawn(newsdesk_web::media::complete_renditions(app.db.store.clone(), app.state.images.clone(), "this-node".into()));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(app.db.store.photo_renditions(legacy.id).await.expect("renditions").is_empty(), "left to the lease holder");
        // It stops (without finishing): this node takes over once the lease is free.
        app.db.store.release_lease("renditions", "other-node").await.expect("release");
        job.abort();
        newsdesk_web::media::complete_renditions(app.db.store.clone(), app.state.images.clone(), "this-node".into()).await;
        assert_eq!(app.db.store.lease_holder("renditions").await.expect("holder"), None, "given back when done");
        let r = app.db.store.photo_renditions(legacy.id).await.expect("renditions");
        assert_eq!(r.iter().map(|r| (r.width, r.height)).collect::<Vec<_>>(), vec![(320, 160), (320, 160), (640, 320), (640, 320)]);
        assert!(app.db.store.photo_renditions(broken.id).await.expect("renditions").is_empty(), "skipped, logged");
        app.sync().await;
        let body = app.get(&path).await.body;
        assert!(body.contains(&format!("{} 640w", r[3].path())), "{body}");
    }
}

// ----- who may change a photo that published stories show -----

/// Publishes a story in `section` showing photo `photo_id`; returns its News ID and public path.
async fn published_with(app: &TestApp, section: &str, photo_id: i64) -> (i64, String) {
    let news_id = app
        .add(NewStory {
            sections: &[section],
            headline: "Pictured story",
            published_at: seed_time(),
            tags: &[],
            photo_id: Some(photo_id),
        })
        .await;
    let page = app.get(&format!("/news/{news_id}")).await;
    let path = page.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).expect("canonical").to_string();
    (news_id, path)
}

async fn section_id(app: &TestApp, path: &str) -> i64 {
    app.db
        .store
        .sections(app.edition_id)
        .await
        .expect("sections")
        .iter()
        .find(|s| s.path == path)
        .map(|s| s.id)
        .expect("section")
}

async fn text_of(app: &TestApp, id: i64) -> (String, String) {
    let p = app.db.store.photo(id).await.expect("read").expect("photo");
    (p.caption, p.credit)
}

backend_test! {
    async fn a_reporter_cannot_rewrite_a_photo_that_a_published_story_shows(db) {
        let app = TestApp::new(db).await;
        let reporter = session(&app, "reporter@example.org", Role::Reporter).await;
        let jpeg = encode(&DynamicImage::ImageRgb8(picture(700, 400)), ImageFormat::Jpeg);
        let id = uploaded_id(&upload(&app, Some(&reporter), "p.jpg", &jpeg, "Minister at the podium", false).await);
        let (news_id, path) = published_with(&app, "World", id).await;
        assert!(app.get(&path).await.body.contains("Minister at the podium"));

        // The library's form: refused with a clear 403, nothing changes.
        let a = post_form(&app, &reporter, &format!("/admin/media/{id}"), &[("caption", "Fake caption"), ("credit", "Nobody")]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text());
        assert!(a.text().contains(&format!("Photo {id} is the lead photo of story {news_id} (published)")), "{}", a.text());
        assert_eq!(text_of(&app, id).await, ("Minister at the podium".into(), "Photo: Test Desk".into()));
        // The same bytes uploaded again with new text: the same photo, its text kept.
        let a = upload(&app, Some(&reporter), "again.jpg", &jpeg, "Fake caption", false).await;
        assert_eq!(a.header(header::LOCATION), format!("/admin/media?uploaded={id}&kept=1"));
        assert!(get_as(&app, &reporter, &format!("/admin/media?uploaded={id}&kept=1"), false).await.text().contains("it kept its caption"));
        let a = upload(&app, Some(&reporter), "again.jpg", &jpeg, "Fake caption", true).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        let item: serde_json::Value = serde_json::from_slice(&a.body).expect("json");
        assert_eq!((item["id"].as_i64(), item["caption"].as_str()), (Some(id), Some("Minister at the podium")));
        assert_eq!(text_of(&app, id).await.0, "Minister at the podium");
        app.sync().await;
        let page = app.get(&path).await.body;
        assert!(page.contains("Minister at the podium") && !page.contains("Fake caption"), "{page}");
        let audit = app.db.store.audit_log(Some(("photo", &id.to_string())), 50).await.expect("audit");
        assert!(audit.iter().all(|e| e.action != "media.edit"), "no edit was made");

        // An editor outside the story's section may not either; one whose sections cover it may.
        app.add_story(&["Politics"], "Another story", 5).await;
        let politics = section_id(&app, "politics").await;
        let world = section_id(&app, "world").await;
        let outside = session(&app, "outside@example.org", Role::Editor).await;
        let audit = newsdesk_storage::AuditEntry::system("test", "user.sections", "user", outside.user_id, "");
        app.db.store.set_user_sections(outside.user_id, &[politics], &audit).await.expect("sections");
        let a = post_form(&app, &outside, &format!("/admin/media/{id}"), &[("caption", "Outside caption"), ("credit", "")]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text());
        assert_eq!(text_of(&app, id).await.0, "Minister at the podium");
        let editor = session(&app, "editor@example.org", Role::Editor).await;
        let audit = newsdesk_storage::AuditEntry::system("test", "user.sections", "user", editor.user_id, "");
        app.db.store.set_user_sections(editor.user_id, &[world], &audit).await.expect("sections");
        let a = post_form(&app, &editor, &format!("/admin/media/{id}"), &[("caption", "Minister speaks"), ("credit", "Agency")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
        assert_eq!(text_of(&app, id).await, ("Minister speaks".into(), "Agency".into()));
        let a = upload(&app, Some(&editor), "again.jpg", &jpeg, "Minister speaks to parliament", false).await;
        assert_eq!(a.header(header::LOCATION), format!("/admin/media?uploaded={id}"));
        assert_eq!(text_of(&app, id).await.0, "Minister speaks to parliament");
        app.sync().await;
        assert!(app.get(&path).await.body.contains("Minister speaks to parliament"));
    }
}

backend_test! {
    async fn a_photo_only_a_draft_shows_stays_editable_by_the_reporter(db) {
        let app = TestApp::new(db).await;
        let reporter = session(&app, "reporter@example.org", Role::Reporter).await;
        let jpeg = encode(&DynamicImage::ImageRgb8(picture(500, 300)), ImageFormat::Jpeg);
        let id = uploaded_id(&upload(&app, Some(&reporter), "p.jpg", &jpeg, "First caption", false).await);
        app.add_story(&["World"], "Another story", 5).await;
        let section = section_id(&app, "world").await.to_string();
        let id_text = id.to_string();
        let draft = [("headline", "Draft with a photo"), ("lead", "Lead."), ("body", "Body."), ("section_id", section.as_str()), ("photo_id", id_text.as_str())];
        let a = post_form(&app, &reporter, "/admin/stories", &draft).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
        let a = post_form(&app, &reporter, &format!("/admin/media/{id}"), &[("caption", "Better caption"), ("credit", "Agency")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
        assert_eq!(text_of(&app, id).await, ("Better caption".into(), "Agency".into()));
        let a = upload(&app, Some(&reporter), "again.jpg", &jpeg, "Best caption", false).await;
        assert_eq!(a.header(header::LOCATION), format!("/admin/media?uploaded={id}"));
        assert_eq!(text_of(&app, id).await.0, "Best caption");
    }
}

// ----- where a photo was taken -----

/// A second latitude, the one of the picture after the first (29° 36' 59.99").
const LATITUDE_2: [Rational; 3] =
    [Rational { num: 29, denom: 1 }, Rational { num: 36, denom: 1 }, Rational { num: 5999, denom: 100 }];

/// The place names the test files carry, in IPTC-IIM, XMP and PNG text.
const PLACES: [&str; 7] =
    ["Tabriz", "Grand Bazaar", "East Azarbaijan", "Isfahan", "Naqsh-e Jahan Square", "Esfahan Province", "Shiraz"];

/// A JPEG marker segment.
fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(data.len() + 2).expect("short segment").to_be_bytes());
    s.extend_from_slice(data);
    s
}

/// An APP13 Photoshop block with an IPTC-IIM resource (8BIM 0x0404): City,
/// Sub-location, Province/State and Country.
fn iptc_app13() -> Vec<u8> {
    let mut iim = Vec::new();
    for (dataset, value) in
        [(90u8, "Tabriz"), (92, "Grand Bazaar"), (95, "East Azarbaijan"), (101, "Iran"), (116, "Test Agency")]
    {
        iim.extend_from_slice(&[0x1C, 2, dataset]);
        iim.extend_from_slice(&u16::try_from(value.len()).expect("short").to_be_bytes());
        iim.extend_from_slice(value.as_bytes());
    }
    let mut irb = b"Photoshop 3.0\0".to_vec();
    irb.extend_from_slice(b"8BIM");
    irb.extend_from_slice(&0x0404u16.to_be_bytes());
    irb.extend_from_slice(&[0, 0]); // empty name, padded to even
    irb.extend_from_slice(&u32::try_from(iim.len()).expect("short").to_be_bytes());
    irb.extend_from_slice(&iim);
    if iim.len() % 2 == 1 {
        irb.push(0);
    }
    segment(0xED, &irb)
}

/// An XMP packet naming where the photo was taken (photoshop:City/State/Country, Iptc4xmpCore:Location).
fn xmp_packet(with_location_element: bool) -> String {
    let location =
        if with_location_element { "<Iptc4xmpCore:Location>Naqsh-e Jahan Square</Iptc4xmpCore:Location>" } else { "" };
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" \
         xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\" xmlns:Iptc4xmpCore=\"http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/\" \
         photoshop:City=\"Isfahan\" photoshop:State=\"Esfahan Province\" photoshop:Country=\"Iran\">{location}\
         </rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    )
}

/// What a phone writes: the photo with EXIF GPS, an MPF index (APP2) of the
/// two pictures in the file, IPTC-IIM (APP13) and XMP with place names, then
/// a second JPEG after the first one's end, with its own EXIF GPS.
fn phone_jpeg() -> (Vec<u8>, Vec<u8>) {
    let primary = encode(&DynamicImage::ImageRgb8(picture(900, 600)), ImageFormat::Jpeg);
    let second = encode(&DynamicImage::ImageRgb8(picture(320, 240)), ImageFormat::Jpeg);
    let second = [
        vec![0xFF, 0xD8],
        segment(0xE1, &[b"Exif\0\0".as_slice(), &gps_exif(1, LATITUDE_2, true)].concat()),
        second[2..].to_vec(),
    ]
    .concat();
    let exif = segment(0xE1, &[b"Exif\0\0".as_slice(), &gps_exif(1, LATITUDE, false)].concat());
    let xmp = segment(0xE1, &[b"http://ns.adobe.com/xap/1.0/\0".as_slice(), xmp_packet(true).as_bytes()].concat());
    // MPF: a TIFF-style index whose entries give each picture's size and offset
    // (from the index's byte-order mark); filled in once the sizes are known.
    let mpf = |first_size: u32, second_offset: u32| -> Vec<u8> {
        let mut m = b"MPF\0".to_vec();
        m.extend_from_slice(b"MM\0\x2A\0\0\0\x08");
        m.extend_from_slice(&3u16.to_be_bytes());
        m.extend_from_slice(&[0xB0, 0x00, 0, 7, 0, 0, 0, 4, b'0', b'1', b'0', b'0']);
        m.extend_from_slice(&[0xB0, 0x01, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2]);
        m.extend_from_slice(&[0xB0, 0x02, 0, 7, 0, 0, 0, 32, 0, 0, 0, 50]);
        m.extend_from_slice(&0u32.to_be_bytes());
        m.extend_from_slice(&[0x20, 0x03, 0, 0]);
        m.extend_from_slice(&first_size.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(&[0x00, 0x01, 0, 0]);
        m.extend_from_slice(&u32::try_from(second.len()).expect("size").to_be_bytes());
        m.extend_from_slice(&second_offset.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        segment(0xE2, &m)
    };
    let build = |mpf: &[u8]| {
        [vec![0xFF, 0xD8], exif.clone(), mpf.to_vec(), iptc_app13(), xmp.clone(), primary[2..].to_vec()].concat()
    };
    let draft = build(&mpf(0, 0));
    let mpf_start = 2 + exif.len() + 4 + 4; // the byte-order mark inside the APP2 segment
    let file =
        build(&mpf(u32::try_from(draft.len()).expect("size"), u32::try_from(draft.len() - mpf_start).expect("offset")));
    (file.clone(), [file, second].concat())
}

/// Big- and little-endian bytes of a GPS latitude as the EXIF writer stores it.
fn latitude_bytes(l: [Rational; 3], little_endian: bool) -> Vec<u8> {
    l.iter()
        .flat_map(|r| [r.num, r.denom])
        .flat_map(|n| if little_endian { n.to_le_bytes() } else { n.to_be_bytes() })
        .collect()
}

/// Fails if `bytes` holds a place name, a GPS latitude of the test files, or
/// a metadata block that may carry a location.
fn assert_no_location(what: &str, bytes: &[u8]) {
    for place in PLACES {
        assert!(!contains(bytes, place.as_bytes()), "{what}: “{place}” is still there");
    }
    for (l, little) in [(LATITUDE, false), (LATITUDE_2, true)] {
        assert!(!contains(bytes, &latitude_bytes(l, little)), "{what}: a GPS latitude is still there");
    }
    for block in
        [&b"MPF\0"[..], b"8BIM", b"Photoshop 3.0", b"http://ns.adobe.com/xap/1.0/", b"Iptc4xmpCore", b"photoshop:"]
    {
        assert!(!contains(bytes, block), "{what}: {} is still there", String::from_utf8_lossy(block));
    }
    if let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) {
        assert!(exif.fields().all(|f| f.tag.context() != exif::Context::Gps), "{what}: EXIF GPS left");
    }
}

/// Every byte served for photo `id`: the original and each rendition; each checked.
async fn served_without_location(app: &TestApp, id: i64) -> Vec<u8> {
    let photo = app.db.store.photo(id).await.expect("read").expect("photo");
    let original = send(app, Request::get(photo.path()).body(Body::empty()).expect("request")).await;
    assert_eq!(original.status, StatusCode::OK);
    assert_no_location("the original", &original.body);
    let renditions = app.db.store.photo_renditions(id).await.expect("renditions");
    assert!(!renditions.is_empty());
    for r in renditions {
        let a = send(app, Request::get(r.path()).body(Body::empty()).expect("request")).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_no_location(&r.path(), &a.body);
    }
    original.body
}

backend_test! {
    async fn a_phone_jpeg_keeps_no_location_in_any_of_its_pictures_or_blocks(db) {
        let app = TestApp::new(db).await;
        let reporter = session(&app, "reporter@example.org", Role::Reporter).await;
        let (primary, file) = phone_jpeg();
        for place in ["Tabriz", "Isfahan", "Naqsh-e Jahan Square"] {
            assert!(contains(&file, place.as_bytes()), "the test file names {place}");
        }
        assert!(contains(&file, &latitude_bytes(LATITUDE_2, true)), "the second picture has GPS");
        let id = uploaded_id(&upload(&app, Some(&reporter), "phone.jpg", &file, "Bazaar", false).await);
        let stored = served_without_location(&app, id).await;
        // One picture, ending at its end-of-image marker; the picture data as it was.
        assert!(stored.starts_with(&[0xFF, 0xD8]) && stored.ends_with(&[0xFF, 0xD9]));
        assert!(!contains(&stored[2..], &[0xFF, 0xD8, 0xFF]), "no second picture");
        let before = image::load_from_memory(&primary).expect("decode").to_rgb8();
        let after = image::load_from_memory(&stored).expect("decode").to_rgb8();
        assert_eq!(before.as_raw(), after.as_raw());
        // The photographer and the copyright stay.
        let exif = exif::Reader::new().read_from_container(&mut Cursor::new(&stored)).expect("EXIF kept");
        assert_eq!(exif.get_field(Tag::Artist, In::PRIMARY).map(|f| f.display_value().to_string()).as_deref(), Some("\"Test Photographer\""));
        assert!(exif.get_field(Tag::Copyright, In::PRIMARY).is_some());
        // The photo without its trailing picture is the same photo.
        assert_eq!(uploaded_id(&upload(&app, Some(&reporter), "phone.jpg", &primary, "", false).await), id);
    }
}

backend_test! {
    async fn png_and_webp_keep_no_location_in_their_chunks(db) {
        use img_parts::png::{Png, PngChunk};
        use img_parts::webp::WebP;
        use img_parts::riff::{RiffChunk, RiffContent};
        let app = TestApp::new(db).await;
        let editor = session(&app, "editor@example.org", Role::Editor).await;

        let plain = encode(&DynamicImage::ImageRgb8(picture(700, 350)), ImageFormat::Png);
        let mut png = Png::from_bytes(plain.into()).expect("png");
        let itxt = [b"XML:com.adobe.xmp\0\0\0\0\0".as_slice(), xmp_packet(false).as_bytes()].concat();
        png.chunks_mut().insert(1, PngChunk::new(*b"iTXt", itxt.into()));
        png.chunks_mut().insert(1, PngChunk::new(*b"tEXt", b"City\0Shiraz".to_vec().into()));
        png.chunks_mut().insert(1, PngChunk::new(*b"tEXt", b"Copyright\0Test Agency".to_vec().into()));
        png.set_exif(Some(gps_exif(1, LATITUDE, false).into()));
        let png = [png.encoder().bytes().to_vec(), b"trailing Tabriz".to_vec()].concat();
        assert!(image::load_from_memory(&png).is_ok(), "the test PNG decodes");
        let a = upload(&app, Some(&editor), "chart.png", &png, "Chart", true).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        let id = serde_json::from_slice::<serde_json::Value>(&a.body).expect("json")["id"].as_i64().expect("id");
        let stored = served_without_location(&app, id).await;
        assert!(contains(&stored, b"Copyright\0Test Agency"), "the copyright stays");
        assert!(contains(&stored, b"Test Photographer"), "EXIF without GPS stays");

        let mut lossless = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut lossless)
            .encode(picture(500, 250).as_raw(), 500, 250, image::ExtendedColorType::Rgb8)
            .expect("webp");
        let mut webp = WebP::from_bytes(lossless.into()).expect("webp");
        webp.chunks_mut().push(RiffChunk::new(*b"XMP ", RiffContent::Data(xmp_packet(false).into_bytes().into())));
        webp.chunks_mut().push(RiffChunk::new(*b"LOCA", RiffContent::Data(b"Grand Bazaar".to_vec().into())));
        webp.set_exif(Some(gps_exif(1, LATITUDE, false).into()));
        let webp = webp.encoder().bytes().to_vec();
        assert!(image::load_from_memory(&webp).is_ok(), "the test WebP decodes");
        let a = upload(&app, Some(&editor), "photo.webp", &webp, "Square", true).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        let id = serde_json::from_slice::<serde_json::Value>(&a.body).expect("json")["id"].as_i64().expect("id");
        let stored = served_without_location(&app, id).await;
        assert!(image::load_from_memory(&stored).is_ok(), "the cleaned WebP decodes");
    }
}

// ----- pixel bombs -----

/// A PNG of `side`×`side` pixels of one colour: about a megabyte on disk,
/// `side`² × 3 bytes decoded. Every row after the first repeats it (filter
/// "up", all zeros), so each compresses to the same few bytes and the file
/// is built row by row without ever holding the picture.
fn png_bomb(side: u32) -> Vec<u8> {
    use flate2::{Compress, Compression, Crc, FlushCompress};
    let row = side as usize * 3;
    let mut first = vec![0u8];
    first.extend([200u8, 30, 30].repeat(side as usize));
    let mut rest = vec![2u8];
    rest.resize(row + 1, 0);
    // Each piece from a fresh compressor, flushed to a byte boundary with no
    // reference to earlier data: the pieces chain into one deflate stream.
    let deflate = |data: &[u8], flush: FlushCompress| {
        let mut out = Vec::with_capacity(data.len() + 1024);
        Compress::new(Compression::best(), false).compress_vec(data, &mut out, flush).expect("deflate");
        out
    };
    let (head, repeated, end) = (
        deflate(&first, FlushCompress::Full),
        deflate(&rest, FlushCompress::Full),
        deflate(&[], FlushCompress::Finish),
    );
    let (mut a, mut b) = (1u64, 0u64);
    for &byte in &first {
        a = (a + u64::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    let mut zlib = vec![0x78, 0x9C];
    zlib.extend_from_slice(&head);
    for _ in 1..side {
        zlib.extend_from_slice(&repeated);
        a = (a + 2) % 65521;
        b = (b + a + (row as u64 % 65521) * a) % 65521;
    }
    zlib.extend_from_slice(&end);
    zlib.extend_from_slice(&u32::try_from((b << 16) | a).expect("adler").to_be_bytes());
    let chunk = |kind: &[u8; 4], data: &[u8]| {
        let mut crc = Crc::new();
        crc.update(kind);
        crc.update(data);
        [&u32::try_from(data.len()).expect("len").to_be_bytes()[..], kind, data, &crc.sum().to_be_bytes()].concat()
    };
    let ihdr = [&side.to_be_bytes()[..], &side.to_be_bytes(), &[8, 2, 0, 0, 0]].concat();
    [&b"\x89PNG\r\n\x1a\n"[..], &chunk(b"IHDR", &ihdr), &chunk(b"IDAT", &zlib), &chunk(b"IEND", &[])].concat()
}

/// The process's resident memory now and at its peak since `reset_peak`, in kB (Linux).
fn memory_kb() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field =
        |name: &str| status.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse::<u64>().ok();
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

backend_test! {
    async fn a_pixel_bomb_is_refused_from_its_header_quickly_without_decoding(db) {
        let mut app = TestApp::new(db).await;
        let reporter = session(&app, "reporter@example.org", Role::Reporter).await;
        let bomb = png_bomb(16_000);
        assert!(bomb.len() < 2 * 1024 * 1024, "a small file: {} bytes", bomb.len());
        // The test file is a real PNG of that size (its header, at least; decoding it is what must not happen).
        let reader = image::ImageReader::with_format(Cursor::new(&bomb), ImageFormat::Png);
        assert_eq!(reader.into_dimensions().expect("header"), (16_000, 16_000));
        let measured = reset_peak();
        let before = memory_kb();
        let started = std::time::Instant::now();
        let a = upload(&app, Some(&reporter), "bomb.png", &bomb, "", false).await;
        let took = started.elapsed();
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
        assert!(
            a.text().contains("The image is 16000×16000 pixels (256 megapixels); the limit is 64 megapixels"),
            "{}",
            a.text()
        );
        assert!(took < std::time::Duration::from_secs(5), "refused in {took:?}");
        if let (true, Some((rss, _)), Some((_, peak))) = (measured, before, memory_kb()) {
            // Decoding would take 768 MB; other tests of this binary run alongside, hence the margin.
            assert!(peak.saturating_sub(rss) < 300 * 1024, "the memory grew by {} MB", peak.saturating_sub(rss) / 1024);
        }
        assert!(app.db.store.media_library(None, 0, 10).await.expect("library").is_empty(), "nothing stored");

        // The limit is a setting: a smaller one refuses a photo the default accepts.
        let photo = encode(&DynamicImage::ImageRgb8(picture(600, 400)), ImageFormat::Jpeg);
        uploaded_id(&upload(&app, Some(&reporter), "p.jpg", &photo, "", false).await);
        app.state.images = newsdesk_web::media::ImageWork::new(100_000, 1);
        let photo = encode(&DynamicImage::ImageRgb8(picture(600, 401)), ImageFormat::Jpeg);
        let a = upload(&app, Some(&reporter), "p.jpg", &photo, "", false).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
        assert!(a.text().contains("600×401 pixels (0.2 megapixels); the limit is 0.1 megapixels"), "{}", a.text());
    }
}
