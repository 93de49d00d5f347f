//! Focal points and crops through the real router, on SQLite and on
//! PostgreSQL: an upload gets its 16:9, 4:3 and 1:1 crops, an editor moves the
//! focal point on the photo's page (the crops are made again, the old ones
//! go), the story page shows the 16:9 crop, names it as its card image and
//! lists the three crops in JSON-LD; older photos get their crops from the
//! background job, and pages show the uncropped photo until then.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use newsdesk_domain::crop::Ratio;
use newsdesk_domain::roles::Role;
use newsdesk_storage::backend_test;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use crate::common;
use common::{NewStory, Person, TestApp, seed_time};

const BOUNDARY: &str = "newsdesk-crops-boundary-7d1e";

/// Red on the left half, blue on the right.
fn two_halves(w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, _| if x < w / 2 { Rgb([220, 20, 20]) } else { Rgb([20, 20, 220]) });
    let mut buf = Vec::new();
    DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut buf), ImageFormat::Jpeg).expect("encode");
    buf
}

/// Uploads as the library's plain form does; returns the photo's id.
async fn upload(app: &TestApp, p: &Person, file: &[u8]) -> i64 {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"caption\"\r\n\r\nTwo halves\r\n--{BOUNDARY}\r\n\
         Content-Disposition: form-data; name=\"file\"; filename=\"halves.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/admin/media?csrf={}", p.csrf))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .header(header::COOKIE, &p.cookie)
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .expect("request");
    let a = app.request(req).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let location = a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).expect("location");
    location.split("uploaded=").nth(1).and_then(|s| s.split('&').next()).and_then(|s| s.parse().ok()).expect("id")
}

/// The bytes served at `path`, decoded.
async fn served(app: &TestApp, path: &str) -> DynamicImage {
    let res = app.router().oneshot(Request::get(path).body(Body::empty()).expect("request")).await.expect("answer");
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    image::load_from_memory(&bytes).expect("decodes")
}

/// A published story's page (following the redirect to its canonical path).
async fn story_page(app: &TestApp, news_id: i64) -> String {
    let a = app.get(&format!("/news/{news_id}")).await;
    let path = a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).expect("canonical").to_string();
    let page = app.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    page.body
}

fn jsonld(page: &str) -> serde_json::Value {
    let start = page.find("<script type=\"application/ld+json\">").expect("JSON-LD") + 35;
    let end = start + page[start..].find("</script>").expect("end");
    serde_json::from_str(&page[start..end]).expect("JSON")
}

fn meta(page: &str, property: &str) -> Option<String> {
    let at = page.find(&format!("<meta property=\"{property}\" content=\""))?;
    let rest = &page[at + property.len() + 27..];
    Some(rest[..rest.find('"')?].to_string())
}

backend_test! {
    async fn a_focal_point_moves_the_crops_and_the_story_page_offers_them(db) {
        let app = TestApp::new(db).await;
        let admin = app.person("Photo Admin", Role::Admin).await;
        let id = upload(&app, &admin, &two_halves(2000, 1000)).await;

        // Made at upload, around the centre, never wider than the crop.
        let crops = app.db.store.photo_crop_renditions(id).await.expect("crops");
        let jpeg = |ratio: Ratio| -> Vec<(i64, i64)> {
            crops.iter().filter(|c| c.ratio == ratio && c.mime == "image/jpeg").map(|c| (c.width, c.height)).collect()
        };
        assert_eq!(jpeg(Ratio::Wide), vec![(320, 180), (640, 360), (1024, 576), (1200, 675), (1600, 900)]);
        assert_eq!(jpeg(Ratio::Standard), vec![(320, 240), (640, 480), (1024, 768), (1200, 900), (1333, 1000)]);
        assert_eq!(jpeg(Ratio::Square), vec![(320, 320), (640, 640), (1000, 1000)]);
        for c in &crops {
            let d = served(&app, &c.path()).await;
            assert_eq!((i64::from(d.width()), i64::from(d.height())), (c.width, c.height), "{}", c.path());
        }

        // The story page: the 16:9 crop in the lead slot, as its card and, with 4:3 and 1:1, in JSON-LD.
        let news_id = app.add(NewStory { sections: &["World"], headline: "Halves", published_at: seed_time(), tags: &[], photo_id: Some(id) }).await;
        let page = story_page(&app, news_id).await;
        let path_of = |ratio: Ratio, width: i64, mime: &str| -> String {
            crops.iter().find(|c| c.ratio == ratio && c.width == width && c.mime == mime).expect("crop").path()
        };
        let wide_webp: Vec<String> = crops.iter().filter(|c| c.ratio == Ratio::Wide && c.mime == "image/webp").map(|c| format!("{} {}w", c.path(), c.width)).collect();
        assert!(page.contains(&format!("<source type=\"image/webp\" srcset=\"{}\"", wide_webp.join(", "))), "{page}");
        assert!(page.contains(&format!("<img src=\"{}\" srcset=\"{} 320w,", path_of(Ratio::Wide, 1024, "image/jpeg"), path_of(Ratio::Wide, 320, "image/jpeg"))), "{page}");
        assert!(page.contains("alt=\"Two halves\" width=\"1600\" height=\"900\">"), "{page}");
        let card = format!("https://news.example{}", path_of(Ratio::Wide, 1200, "image/jpeg"));
        assert_eq!(meta(&page, "og:image"), Some(card.clone()));
        assert_eq!(meta(&page, "og:image:width").as_deref(), Some("1200"));
        assert_eq!(meta(&page, "og:image:height").as_deref(), Some("675"));
        let images: Vec<String> = [(Ratio::Wide, 1600), (Ratio::Standard, 1333), (Ratio::Square, 1000)]
            .iter()
            .map(|(r, w)| format!("https://news.example{}", path_of(*r, *w, "image/jpeg")))
            .collect();
        assert_eq!(jsonld(&page)["image"], serde_json::json!(images));
        // The section list shows the 4:3 crop.
        let list = app.get("/section/world").await.body;
        assert!(list.contains(&path_of(Ratio::Standard, 320, "image/jpeg")), "{list}");

        // The photo's page: the focal point's inputs, and the crops as previews.
        let a = app.get_as(&admin, &format!("/admin/media/{id}")).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.body.contains("name=\"focus_x\" value=\"50.0\""), "{}", a.body);
        assert!(a.body.contains(&path_of(Ratio::Square, 640, "image/jpeg")), "the 1:1 preview");

        // Bad input: a clear message by field, nothing changed.
        let a = app.post_as(&admin, &format!("/admin/media/{id}/framing"), &[("focus_x", "150"), ("focus_y", "50")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains("The focal point&#39;s left–right position must be from 0 to 100 (it is 150)."), "{}", a.body);
        let outside = [("focus_x", "50"), ("focus_y", "50"), ("crop_1x1_x", "1500"), ("crop_1x1_y", "0"), ("crop_1x1_w", "800")];
        let a = app.post_as(&admin, &format!("/admin/media/{id}/framing"), &outside).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(a.body.contains("runs past the picture&#39;s 2000×1000 pixels"), "{}", a.body);
        assert_eq!(app.db.store.photo_crop_renditions(id).await.expect("crops"), crops);

        // A reporter may not reframe a photo a published story shows.
        let reporter = app.person("Photo Reporter", Role::Reporter).await;
        let a = app.post_as(&reporter, &format!("/admin/media/{id}/framing"), &[("focus_x", "90"), ("focus_y", "50")]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);

        // The focal point on the blue half: the crops are made again there, the old ones go.
        let a = app.post_as(&admin, &format!("/admin/media/{id}/framing"), &[("focus_x", "90"), ("focus_y", "50")]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        assert_eq!(a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()), Some(format!("/admin/media/{id}?saved=1").as_str()));
        let log = app.db.store.audit_log(Some(("photo", &id.to_string())), 5).await.expect("audit");
        assert_eq!(log.first().map(|e| (e.action.as_str(), e.detail.as_str())), Some(("media.framing", "focal point 90.0% 50.0%")));
        let new = app.db.store.photo_crop_renditions(id).await.expect("crops");
        let square = new.iter().find(|c| c.ratio == Ratio::Square && c.width == 1000 && c.mime == "image/jpeg").expect("1:1");
        let px = served(&app, &square.path()).await.to_rgb8().get_pixel(100, 500).0;
        assert!(px[2] > 150 && px[0] < 100, "the 1:1 crop is on the blue half: {px:?}");
        let old = path_of(Ratio::Square, 1000, "image/jpeg");
        assert_eq!(app.get(&old).await.status, StatusCode::NOT_FOUND, "the old crop is gone");
        let page = story_page(&app, news_id).await;
        // The 16:9 crop already reached the right edge (it is the full height), so only the 1:1 moved.
        assert_eq!(jsonld(&page)["image"][2].as_str(), Some(format!("https://news.example{}", square.path()).as_str()), "the page was dropped from the cache");
        assert!(!page.contains(&old), "{page}");

        // A crop set by hand for 4:3.
        let by_hand = [("focus_x", "90"), ("focus_y", "50"), ("crop_4x3_x", "0"), ("crop_4x3_y", "100"), ("crop_4x3_w", "800")];
        let a = app.post_as(&admin, &format!("/admin/media/{id}/framing"), &by_hand).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let new = app.db.store.photo_crop_renditions(id).await.expect("crops");
        let standard: Vec<(i64, i64)> = new.iter().filter(|c| c.ratio == Ratio::Standard && c.mime == "image/jpeg").map(|c| (c.width, c.height)).collect();
        assert_eq!(standard, vec![(320, 240), (640, 480), (800, 600)]);
        let widest = new.iter().find(|c| c.ratio == Ratio::Standard && c.width == 800 && c.mime == "image/jpeg").expect("4:3");
        let px = served(&app, &widest.path()).await.to_rgb8().get_pixel(400, 300).0;
        assert!(px[0] > 150, "the hand-set crop is on the red half: {px:?}");
        let a = app.get_as(&admin, &format!("/admin/media/{id}")).await;
        assert!(a.body.contains("name=\"crop_4x3_w\" value=\"800\""), "{}", a.body);
    }
}

backend_test! {
    async fn older_photos_get_their_crops_in_the_background_and_pages_fall_back_until_then(db) {
        let app = TestApp::new(db).await;
        let jpeg = two_halves(1000, 500);
        let sha = hex::encode(Sha256::digest(&jpeg));
        let legacy = app.db.store.put_photo(&jpeg, "image/jpeg", 1000, 500, "Old photo", "", &sha).await.expect("put");
        let broken = app.db.store.put_photo(b"not an image", "image/jpeg", 900, 500, "Broken", "", &"b".repeat(64)).await.expect("put");
        let news_id = app.add(NewStory { sections: &["World"], headline: "Old story", published_at: seed_time(), tags: &[], photo_id: Some(legacy.id) }).await;
        // Until the crops are made: the uncropped photo, never an error.
        let page = story_page(&app, news_id).await;
        let original = format!("https://news.example/media/{sha}.jpg");
        assert_eq!(meta(&page, "og:image"), Some(original.clone()));
        assert_eq!(meta(&page, "og:image:width"), None);
        assert_eq!(jsonld(&page)["image"], serde_json::json!([original]));
        assert!(page.contains("width=\"1000\" height=\"500\""), "{page}");

        // One node at a time, a few photos a batch, past the one it cannot read.
        let mut after = 0;
        let mut other = 0;
        assert!(newsdesk_web::media::crops::backfill_batch(&app.state, "node-a", &mut after).await.expect("batch").is_some());
        assert_eq!(newsdesk_web::media::crops::backfill_batch(&app.state, "node-b", &mut other).await.expect("batch"), None, "node b waits for the lease");
        while newsdesk_web::media::crops::backfill_batch(&app.state, "node-a", &mut after).await.expect("batch") != Some(0) {}
        let crops = app.db.store.photo_crop_renditions(legacy.id).await.expect("crops");
        let wide: Vec<(i64, i64)> = crops.iter().filter(|c| c.ratio == Ratio::Wide && c.mime == "image/jpeg").map(|c| (c.width, c.height)).collect();
        assert_eq!(wide, vec![(320, 180), (640, 360), (889, 500)], "never upscaled");
        assert!(app.db.store.photo_crop_renditions(broken.id).await.expect("crops").is_empty(), "skipped, logged");
        app.sync().await;
        let page = story_page(&app, news_id).await;
        let card = crops.iter().find(|c| c.ratio == Ratio::Wide && c.width == 889 && c.mime == "image/jpeg").expect("card");
        assert_eq!(meta(&page, "og:image"), Some(format!("https://news.example{}", card.path())));
        assert_eq!(meta(&page, "og:image:height").as_deref(), Some("500"));
        assert_eq!(jsonld(&page)["image"].as_array().map(Vec::len), Some(3));
    }
}
