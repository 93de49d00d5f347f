//! Photo metadata through the real router, on SQLite and on PostgreSQL: files
//! written by `exiftool` (IPTC-IIM with a Persian caption, XMP, EXIF, each
//! with location) pre-fill the library's fields at upload, what the uploader
//! typed wins, location stays out of the stored and served bytes, damaged
//! metadata never refuses a photo, and the library's edit form changes the
//! details with clear errors.
//!
//! exiftool is required (CI installs `libimage-exiftool-perl`): without it
//! these tests fail, they do not skip.

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use newsdesk_domain::roles::Role;
use newsdesk_storage::backend_test;
use serde_json::Value;

use crate::common;
use common::{Answer, Person, TestApp};

const BOUNDARY: &str = "newsdesk-photo-metadata-7d1e";
const PERSIAN_CAPTION: &str = "نمای بندر انزلی در سپیده‌دم؛ قایق‌های ماهیگیری پیش از حرکت";

/// Runs exiftool; fails the test with the way to install it when it is missing.
fn exiftool(args: &[&str], file: &Path) -> String {
    let out = Command::new("exiftool").args(args).arg(file).output().unwrap_or_else(|e| {
        panic!("exiftool is missing ({e}): apt-get install libimage-exiftool-perl (CI installs it)")
    });
    assert!(out.status.success(), "exiftool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A small picture in `format`, with the tags `args` written by exiftool.
fn written_by_exiftool(format: ImageFormat, args: &[&str]) -> Vec<u8> {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(96, 64, |x, y| Rgb([(x * 2) as u8, (y * 3) as u8, 90])));
    let mut bytes = Vec::new();
    img.write_to(&mut Cursor::new(&mut bytes), format).expect("encode");
    let dir = tempfile::tempdir().expect("tempdir");
    let ext = format.extensions_str()[0];
    let path = dir.path().join(format!("photo.{ext}"));
    std::fs::write(&path, &bytes).expect("write");
    let mut all = vec!["-q", "-overwrite_original"];
    all.extend_from_slice(args);
    exiftool(&all, &path);
    std::fs::read(&path).expect("read back")
}

/// What exiftool finds in `bytes`, tag by tag (`Group:Tag` → value).
fn tags_of(bytes: &[u8]) -> serde_json::Map<String, Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("served");
    std::fs::write(&path, bytes).expect("write");
    let json = exiftool(&["-j", "-a", "-G1", "-n"], &path);
    let mut list: Vec<Value> = serde_json::from_str(&json).expect("exiftool JSON");
    match list.pop() {
        Some(Value::Object(map)) => map,
        other => panic!("exiftool answered {other:?}"),
    }
}

/// Fails when exiftool finds any location tag in `bytes`.
fn assert_no_location(what: &str, bytes: &[u8]) {
    let tags = tags_of(bytes);
    let location: Vec<&String> = tags
        .keys()
        .filter(|k| {
            let k = k.to_lowercase();
            ["gps", "city", "country", "location", "province", "state"].iter().any(|w| k.contains(w))
        })
        .collect();
    assert!(location.is_empty(), "{what}: exiftool finds location tags {location:?} in {tags:?}");
}

/// Location written in every block exiftool knows for a JPEG.
const LOCATION: &[&str] = &[
    "-GPSLatitude=37.4722",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=49.4622",
    "-GPSLongitudeRef=E",
    "-IPTC:City=Bandar Anzali",
    "-IPTC:Sub-location=Port",
    "-IPTC:Province-State=Gilan",
    "-IPTC:Country-PrimaryLocationName=Iran",
    "-XMP-photoshop:City=Bandar Anzali",
    "-XMP-iptcCore:Location=Port",
];

fn multipart(file: &[u8], fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Uploads as the editor's script does (JSON answer); `fields` are what the uploader typed.
async fn upload(app: &TestApp, p: &Person, file: &[u8], fields: &[(&str, &str)]) -> Answer {
    let body = multipart(file, fields);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/admin/media")
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::COOKIE, &p.cookie)
        .header("x-csrf-token", &p.csrf)
        .header(header::ACCEPT, "application/json")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .expect("request");
    app.request(req).await
}

/// Uploads `file` and returns the stored photo (checked to be answered 201).
async fn uploaded(app: &TestApp, p: &Person, file: &[u8], fields: &[(&str, &str)]) -> newsdesk_domain::Photo {
    let a = upload(app, p, file, fields).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let item: Value = serde_json::from_str(&a.body).expect("JSON");
    let id = item["id"].as_i64().expect("id");
    app.db.store.photo(id).await.expect("read").expect("stored")
}

/// The bytes served for a photo's original.
async fn served(app: &TestApp, photo: &newsdesk_domain::Photo) -> Vec<u8> {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let res = app.router().oneshot(Request::get(photo.path()).body(Body::empty()).expect("request")).await.expect("ok");
    assert_eq!(res.status(), StatusCode::OK);
    res.into_body().collect().await.expect("body").to_bytes().to_vec()
}

backend_test! {
    async fn iptc_iim_with_a_persian_caption_prefills_the_library_and_no_location_is_served(db) {
        let app = TestApp::new(db).await;
        let desk = app.person("Photo Desk", Role::Reporter).await;
        let caption = format!("-IPTC:Caption-Abstract={PERSIAN_CAPTION}");
        let mut args = vec![
            "-IPTC:CodedCharacterSet=UTF8",
            caption.as_str(),
            "-IPTC:Headline=بندر انزلی",
            "-IPTC:By-line=مریم رحیمی",
            "-IPTC:Credit=Newsdesk / مریم رحیمی",
            "-IPTC:Source=Newsdesk",
            "-IPTC:CopyrightNotice=© 2024 Newsdesk",
            "-IPTC:Keywords=بندر",
            "-IPTC:Keywords=fishing",
            "-IPTC:DateCreated=2024:07:22",
            "-IPTC:TimeCreated=06:15:30+03:30",
        ];
        args.extend_from_slice(LOCATION);
        let file = written_by_exiftool(ImageFormat::Jpeg, &args);
        // The file holds what the test says it does.
        let written = tags_of(&file);
        assert_eq!(written.get("IPTC:Caption-Abstract").and_then(Value::as_str), Some(PERSIAN_CAPTION), "{written:?}");
        assert!(written.contains_key("GPS:GPSLatitude") && written.contains_key("IPTC:City"), "{written:?}");

        let photo = uploaded(&app, &desk, &file, &[]).await;
        assert_eq!(photo.caption, PERSIAN_CAPTION, "the Persian caption comes through intact");
        assert_eq!(photo.credit, "Newsdesk / مریم رحیمی");
        let d = &photo.details;
        assert_eq!(
            (d.headline.as_str(), d.creator.as_str(), d.source.as_str(), d.copyright.as_str()),
            ("بندر انزلی", "مریم رحیمی", "Newsdesk", "© 2024 Newsdesk")
        );
        assert_eq!(d.keywords, ["بندر", "fishing"]);
        assert_eq!(d.date_created, "2024-07-22T06:15:30+03:30");
        let everything = format!("{photo:?}");
        for place in ["Anzali", "Gilan", "Iran", "Port", "37.47"] {
            assert!(!everything.contains(place), "{place} was stored: {everything}");
        }
        assert_no_location("the served original", &served(&app, &photo).await);
        // The library shows the fields, ready to edit.
        let page = app.get_as(&desk, "/admin/media").await;
        assert_eq!(page.status, StatusCode::OK);
        for shown in ["name=\"creator\" value=\"مریم رحیمی\"", "name=\"keywords\" value=\"بندر, fishing\"", "value=\"2024-07-22T06:15:30+03:30\""] {
            assert!(page.body.contains(shown), "{shown} not in the library page");
        }
    }
}

backend_test! {
    async fn xmp_and_exif_prefill_too_and_what_the_uploader_typed_wins(db) {
        let app = TestApp::new(db).await;
        let desk = app.person("Photo Desk", Role::Reporter).await;
        let mut args = vec![
            "-XMP-dc:Description=Fishing boats at dawn",
            "-XMP-dc:Creator=Jane Roe",
            "-XMP-dc:Creator=Joe Bloggs",
            "-XMP-dc:Rights=© 2024 Jane Roe",
            "-XMP-dc:Subject=harbour",
            "-XMP-dc:Subject=dawn",
            "-XMP-photoshop:Headline=Dawn at the harbour",
            "-XMP-photoshop:Credit=Jane Roe / Newsdesk",
            "-XMP-photoshop:Source=Newsdesk",
            "-XMP-photoshop:DateCreated=2024:07:22 06:15:30+03:30",
            "-XMP-xmpRights:UsageTerms=Editorial use only",
            // EXIF and IIM say otherwise: XMP wins where it has a value.
            "-EXIF:ImageDescription=EXIF description",
            "-EXIF:Artist=EXIF Artist",
            "-IPTC:Headline=IIM headline",
        ];
        args.extend_from_slice(LOCATION);
        let file = written_by_exiftool(ImageFormat::Jpeg, &args);
        let photo = uploaded(&app, &desk, &file, &[]).await;
        assert_eq!(photo.caption, "Fishing boats at dawn");
        assert_eq!(photo.credit, "Jane Roe / Newsdesk");
        let d = &photo.details;
        assert_eq!((d.headline.as_str(), d.creator.as_str()), ("Dawn at the harbour", "Jane Roe, Joe Bloggs"));
        assert_eq!((d.copyright.as_str(), d.usage_terms.as_str()), ("© 2024 Jane Roe", "Editorial use only"));
        assert_eq!(d.keywords, ["harbour", "dawn"]);
        assert_eq!(d.date_created, "2024-07-22T06:15:30+03:30");
        assert_no_location("the served original", &served(&app, &photo).await);

        // EXIF alone, and typed fields win over the file's.
        let mut args = vec![
            "-EXIF:ImageDescription=Harbour from the pier",
            "-EXIF:Artist=Sam Lee",
            "-EXIF:Copyright=(c) Sam Lee",
            "-EXIF:DateTimeOriginal=2023:01:02 03:04:05",
            "-EXIF:OffsetTimeOriginal=+01:00",
        ];
        args.extend_from_slice(&LOCATION[..4]);
        let file = written_by_exiftool(ImageFormat::Jpeg, &args);
        let typed = [("caption", "A typed caption"), ("creator", "Typed Creator"), ("keywords", "one, دو")];
        let photo = uploaded(&app, &desk, &file, &typed).await;
        assert_eq!(photo.caption, "A typed caption");
        assert_eq!(photo.details.creator, "Typed Creator");
        assert_eq!(photo.details.keywords, ["one", "دو"]);
        assert_eq!(photo.details.copyright, "(c) Sam Lee", "not typed: from the file");
        assert_eq!(photo.details.date_created, "2023-01-02T03:04:05+01:00");
        let served_bytes = served(&app, &photo).await;
        assert_no_location("the served original", &served_bytes);
        // The photographer and copyright stay in the served file's EXIF.
        let tags = tags_of(&served_bytes);
        assert_eq!(tags.get("IFD0:Artist").and_then(Value::as_str), Some("Sam Lee"), "{tags:?}");

        // PNG and WebP carry XMP too.
        for format in [ImageFormat::Png, ImageFormat::WebP] {
            let file = written_by_exiftool(
                format,
                &["-XMP-dc:Description=Harbour in a PNG or WebP", "-XMP-dc:Creator=Ana Diaz", "-XMP-photoshop:City=Anzali"],
            );
            let photo = uploaded(&app, &desk, &file, &[]).await;
            assert_eq!((photo.caption.as_str(), photo.details.creator.as_str()), ("Harbour in a PNG or WebP", "Ana Diaz"), "{format:?}");
            assert_no_location(&format!("the served {format:?}"), &served(&app, &photo).await);
        }
    }
}

/// `bytes` with the data of its first APP13 segment overwritten from its 20th
/// byte on (the IPTC resource inside is no longer readable).
fn damage_app13(mut bytes: Vec<u8>) -> Vec<u8> {
    let at = bytes.windows(2).position(|w| w == [0xFF, 0xED]).expect("an APP13 segment");
    let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
    for b in &mut bytes[at + 4 + 20..at + 2 + len] {
        *b = 0xA5;
    }
    bytes
}

backend_test! {
    async fn damaged_metadata_never_refuses_a_photo(db) {
        let app = TestApp::new(db).await;
        let desk = app.person("Photo Desk", Role::Reporter).await;
        let file = written_by_exiftool(
            ImageFormat::Jpeg,
            &["-IPTC:Caption-Abstract=Lost in the damage", "-EXIF:Artist=Still read", "-GPSLatitude=37.4", "-GPSLatitudeRef=N"],
        );
        let photo = uploaded(&app, &desk, &damage_app13(file), &[]).await;
        assert_eq!(photo.caption, "", "the damaged IPTC block is left out");
        assert_eq!(photo.details.creator, "Still read", "the other blocks are read");
        assert_no_location("the served original", &served(&app, &photo).await);
    }
}

backend_test! {
    async fn the_library_edits_the_details_and_says_what_is_wrong(db) {
        let app = TestApp::new(db).await;
        let desk = app.person("Photo Desk", Role::Reporter).await;
        let file = written_by_exiftool(ImageFormat::Jpeg, &["-EXIF:Artist=Sam Lee", "-EXIF:Copyright=(c) Sam Lee"]);
        let photo = uploaded(&app, &desk, &file, &[("caption", "Harbour")]).await;
        let uri = format!("/admin/media/{}", photo.id);
        let form = [
            ("caption", "Harbour at dawn"),
            ("credit", "Photo: Sam Lee"),
            ("headline", "Dawn"),
            ("creator", "Sam Lee"),
            ("copyright", "© 2024 Sam Lee"),
            ("source", "Newsdesk"),
            ("date_created", "2024-07-22"),
            ("keywords", "harbour، dawn, harbour"),
            ("usage_terms", "Editorial use only"),
        ];
        let a = app.post_as(&desk, &uri, &form).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let saved = app.db.store.photo(photo.id).await.expect("read").expect("photo");
        assert_eq!(saved.details.keywords, ["harbour", "dawn"]);
        assert_eq!((saved.details.headline.as_str(), saved.details.date_created.as_str()), ("Dawn", "2024-07-22"));
        assert_eq!(saved.details.usage_terms, "Editorial use only");
        // A form that sends only the caption and credit keeps the details.
        let a = app.post_as(&desk, &uri, &[("caption", "Harbour"), ("credit", "Photo: Sam Lee")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(app.db.store.photo(photo.id).await.expect("read").expect("photo").details, saved.details);
        // Bad input: a clear message, nothing changed.
        let long = "x".repeat(101);
        for (field, value, says) in [
            ("date_created", "22/07/2024", "is not a date"),
            ("date_created", "2024-02-30", "is not a date"),
            ("keywords", long.as_str(), "longer than 100 characters"),
            ("creator", "Sam\u{7}Lee", "control character"),
        ] {
            let a = app.post_as(&desk, &uri, &[(field, value)]).await;
            assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}={value}");
            assert!(a.body.contains(says), "{field}={value}: {}", a.body);
        }
        assert_eq!(app.db.store.photo(photo.id).await.expect("read").expect("photo").details, saved.details);
        // The upload form's fields are checked the same way.
        let a = upload(&app, &desk, &file, &[("date_created", "yesterday")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains("is not a date"), "{}", a.body);
    }
}
