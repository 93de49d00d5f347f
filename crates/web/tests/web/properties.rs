//! What readers, apps and subscribers can put in a URL, arbitrary: query
//! strings on every public page, feed and API (parsed into each handler's
//! query struct, cursors and dates included) and path segments where a route
//! takes one. Through the real router, on both engines; nothing may panic or
//! answer a server error: malformed input is a 4xx with a message.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, Uri, header};
use newsdesk_storage::testing::TestDb;
use newsdesk_storage::{AuditEntry, Cursor, NewSubscriber};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::common;
use common::TestApp;

/// Pages that read a query string (`{key}` is a wire API key).
const QUERY_PAGES: &[&str] = &[
    "/",
    "/search",
    "/section/iran",
    "/tag/defense",
    "/author/jane-reporter",
    "/archive/2023/11/15",
    "/most-visited",
    "/feed.rss",
    "/feed.atom",
    "/feed.json",
    "/sitemap.xml",
    "/sitemap-news.xml",
    "/corrections",
    "/fa/search",
    "/api/v1/stories",
    "/api/v1/stories/84427",
    "/api/v1/search",
    "/api/v1/sections",
    "/api/v1/tags",
    "/api/v1/authors",
    "/api/v1/most-visited",
    "/api/ninjs/v2/items",
    "/api/ninjs/v2/items/84427",
    "/admin/login",
];

/// Routes with a path parameter; `{}` is replaced by an arbitrary segment.
const PATH_PAGES: &[&str] = &[
    "/news/{}",
    "/news/84427/{}",
    "/section/{}",
    "/section/iran/{}",
    "/tag/{}",
    "/author/{}",
    "/archive/{}/11/15",
    "/archive/2023/{}/15",
    "/archive/2023/11/{}",
    "/sitemaps/{}",
    "/media/{}",
    "/tag/{}/feed.rss",
    "/api/v1/stories/{}",
    "/api/ninjs/v2/items/{}",
    "/{}/",
    "/{}/search",
];

/// Parameter names the handlers know, and a few they do not.
const KEYS: &[&str] = &[
    "q", "section", "from", "to", "page", "edition", "before", "cursor", "limit", "since", "until", "tag", "author",
    "window", "language", "next", "lang", "x", "",
];

/// Bytes as a URL carries them: unreserved characters as they are, the rest
/// percent-encoded (including invalid UTF-8), sometimes with a stray `%`.
fn encoded(bytes: &[u8], stray: bool) -> String {
    let mut out = String::new();
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(b) {
            out.push(char::from(*b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if stray {
        out.push('%');
    }
    out
}

/// Values that look like what the handlers expect, and nonsense.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (proptest::collection::vec(any::<u8>(), 0..40), any::<bool>()).prop_map(|(b, s)| encoded(&b, s)),
        (any::<i64>(), any::<i64>()).prop_map(|(t, id)| Cursor { published_at: t, news_id: id }.encode()),
        (any::<i64>(), any::<i64>()).prop_map(|(t, id)| Cursor { published_at: t, news_id: id }.encode_opaque()),
        "[0-9a-f]{0,64}",
        "-?[0-9]{1,25}",
        "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|%2B[0-9]{2}:[0-9]{2}))?",
        "(24h|7d|30d|day|week|en|fa|ar|iran|world|%2F%2Fevil.example|%2Fadmin%2F..%2F..|https:%2F%2Fx)",
        "[a-zA-Z0-9%+=&;,._~-]{0,30}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    let pair = (prop::sample::select(KEYS), value(), any::<bool>())
        .prop_map(|(k, v, bare)| if bare { k.to_string() } else { format!("{k}={v}") });
    proptest::collection::vec(pair, 0..6).prop_map(|pairs| pairs.join("&"))
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        (proptest::collection::vec(any::<u8>(), 1..40), any::<bool>()).prop_map(|(b, s)| encoded(&b, s)),
        "-?[0-9]{1,25}",
        "[0-9]{1,12}\\.(jpg|webp|png|xml|exe)",
        "(\\.\\.|\\.|%2E%2E|%2F|%5C|0|00|84427|fa|ar|en|stories-2023-11\\.xml|stories-9999-99\\.xml)",
        "[a-z0-9-]{1,30}",
    ]
}

/// A request somewhere a reader can send one.
fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        (prop::sample::select(QUERY_PAGES), query()).prop_map(|(p, q)| format!("{p}?{q}")),
        (prop::sample::select(PATH_PAGES), segment(), prop::option::of(query())).prop_map(|(p, s, q)| {
            let path = p.replace("{}", &s);
            q.map_or(path.clone(), |q| format!("{path}?{q}"))
        }),
    ]
}

async fn site(db: TestDb) -> (TestApp, String) {
    let mut app = TestApp::new(db).await;
    let dir = tempfile::tempdir().expect("tmp");
    let index = Arc::new(newsdesk_search::SearchIndex::open_or_create(&dir.path().join("search")).expect("index"));
    newsdesk_search::reindex_all(&index, &app.db.store).await.expect("index the seed");
    app.state.search = Some(index);
    // The index lives in the directory until the test ends.
    std::mem::forget(dir);
    let audit = AuditEntry::system("test", "subscriber.create", "subscriber", "", "");
    let new = NewSubscriber { name: "Wire".into(), sections: vec![], editions: vec![], rate_limit: 1_000_000 };
    let s = app.db.store.add_subscriber(&new, &audit).await.expect("subscriber");
    let audit = AuditEntry::system("test", "subscriber.key", "subscriber", "", "");
    let (key, _) = app.db.store.create_api_key(s.id, &audit).await.expect("key");
    (app, key)
}

/// Sends `cases` arbitrary requests to a fresh site on `db`.
fn no_input_is_a_server_error<F: Future<Output = Option<TestDb>>>(make_db: impl FnOnce() -> F, cases: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let Some(db) = rt.block_on(make_db()) else { return };
    let (app, key) = rt.block_on(site(db));
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<u16, usize>::new());
    let result = runner.run(&target(), |uri| {
        // Only what an HTTP client can send: a request target that parses.
        let Ok(parsed) = uri.parse::<Uri>() else { return Ok(()) };
        let req = Request::builder()
            .uri(parsed)
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::ACCEPT, "text/html,application/json")
            .body(Body::empty())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let answer = rt.block_on(app.request(req));
        *seen.borrow_mut().entry(answer.status.as_u16()).or_default() += 1;
        prop_assert!(!answer.status.is_server_error(), "GET {uri} answered {}: {}", answer.status, answer.body);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The inputs reach the parsers: some pass them, some are refused by them.
    let seen = seen.into_inner();
    eprintln!("answers by status: {seen:?}");
    assert!(seen.contains_key(&200) && seen.contains_key(&400), "{seen:?}");
}

#[test]
fn no_url_input_is_a_server_error_sqlite() {
    no_input_is_a_server_error(|| async { Some(TestDb::sqlite().await) }, 256);
}

#[test]
fn no_url_input_is_a_server_error_postgres() {
    no_input_is_a_server_error(TestDb::postgres, 128);
}

/// A small real picture of each kind the library takes, encoded by `image`.
fn real_picture(kind: usize) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(24, 16, |x, y| {
        image::Rgb([(x * 10) as u8, (y * 15) as u8, 128])
    }));
    let format = [image::ImageFormat::Jpeg, image::ImageFormat::Png, image::ImageFormat::WebP][kind % 3];
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Uploads: any bytes, also behind each format's magic number, are refused
    /// with a message or inspected (sniffed, metadata stripped, size read), never a panic.
    #[test]
    fn any_upload_is_refused_or_inspected_without_panic(magic in 0usize..5, rest in prop::collection::vec(any::<u8>(), 0..4096)) {
        let mut bytes: Vec<u8> = match magic {
            0 => Vec::new(),
            1 => b"\xFF\xD8\xFF\xE1\x00\x10Exif\x00\x00MM\x00\x2A".to_vec(),
            2 => b"\xFF\xD8\xFF\xE2\x00\x20MPF\x00II\x2A\x00".to_vec(),
            3 => b"\x89PNG\r\n\x1a\n".to_vec(),
            _ => b"RIFF\x00\x10\x00\x00WEBPVP8X".to_vec(),
        };
        bytes.extend(rest);
        let _ = newsdesk_web::media::inspect(&bytes, 64_000_000);
    }

    /// Real pictures cut short or with bytes changed anywhere: refused or inspected, never a panic,
    /// and what is kept still sniffs as the kind it was.
    #[test]
    fn damaged_real_pictures_never_panic(kind in 0usize..3, cut in any::<prop::sample::Index>(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6)) {
        let mut bytes = real_picture(kind);
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let keep = cut.index(bytes.len()).max(1);
        bytes.truncate(keep);
        if let Ok(inspected) = newsdesk_web::media::inspect(&bytes, 64_000_000) {
            prop_assert!(newsdesk_web::media::sniff(&inspected.to_photo("", "").bytes).is_ok());
            // What passed inspection is decoded and resized (or refused) without a panic too.
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            let work = newsdesk_web::media::ImageWork::new(64_000_000, 1);
            let _ = rt.block_on(work.renditions(&inspected));
        }
    }
}

#[test]
fn real_pictures_of_each_kind_are_inspected() {
    for kind in 0..3 {
        let inspected = newsdesk_web::media::inspect(&real_picture(kind), 64_000_000).expect("a real picture");
        assert_eq!((inspected.width, inspected.height), (24, 16));
    }
}
