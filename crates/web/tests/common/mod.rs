//! The test site shared by the web crate's integration tests: a fresh
//! database (SQLite or PostgreSQL) with the seed story imported, and the real router.
#![allow(dead_code, reason = "each test file uses a part of these helpers")]

use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::{DateTime, Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use newsdesk_domain::{BodyFormat, Direction, StoryStatus, saved_page};
use newsdesk_storage::testing::TestDb;
use newsdesk_storage::{NewEdition, SectionRef, StoryInput};
use newsdesk_web::{AppState, WebConfig};
use tower::ServiceExt;

pub const SEED: &str = include_str!("../../../../demo/seed/000_ad66ece867d7ed05.txt");
pub const SEED_PATH: &str =
    "/news/84427/defense-ministry-iran-gaining-access-to-modern-military-technologies-as-exports";
pub const SEED_URL: &str =
    "https://news.example/news/84427/defense-ministry-iran-gaining-access-to-modern-military-technologies-as-exports";
pub const SEED_HEADLINE: &str =
    "Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports Booming";

/// A site on a fresh database with the seed story imported (tag Defense, byline Jane Reporter).
pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
    pub edition_id: i64,
    last_change: AtomicI64,
}

/// A back-office user of a test: who acts, a session (cookie and CSRF token)
/// and a personal API token.
pub struct Person {
    pub actor: newsdesk_web::desk::Actor,
    pub cookie: String,
    pub csrf: String,
    pub token: String,
}

/// A response, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The `Content-Type` header, or "".
    pub fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// What a test story looks like.
pub struct NewStory<'a> {
    pub sections: &'a [&'a str],
    pub headline: &'a str,
    pub published_at: DateTime<Utc>,
    pub tags: &'a [&'a str],
    pub photo_id: Option<i64>,
}

/// The `<main>` element of a page (lists without the sidebar).
pub fn main_of(body: &str) -> &str {
    let start = body.find("<main").expect("main");
    let end = body.find("</main>").expect("end of main");
    &body[start..end]
}

/// The seed's publish time, 2023-11-15 14:37 in Tehran.
pub fn seed_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 11, 15, 11, 7, 0).single().expect("time")
}

impl TestApp {
    /// A user named `name` (e-mail: the name in lower case, spaces as dots,
    /// `@example.org`) with `role`, a session and a personal API token.
    pub async fn person(&self, name: &str, role: newsdesk_domain::roles::Role) -> Person {
        use sha2::Digest;
        let email = format!("{}@example.org", name.to_lowercase().replace(' ', "."));
        let system = |action: &str| newsdesk_storage::AuditEntry::system("test", action, "user", "", "");
        let new =
            newsdesk_storage::NewUser { email: email.clone(), name: name.into(), role, password_hash: "x".into() };
        let u = self.db.store.create_user(&new, Utc::now(), &system("user.create")).await.expect("user");
        let session = format!("session-of-{}-{}", u.id, rand::random::<u64>());
        let csrf = format!("csrf-of-{}-{}", u.id, rand::random::<u64>());
        let hash = hex::encode(sha2::Sha256::digest(session.as_bytes()));
        let now = Utc::now();
        self.db.store.create_session(&hash, u.id, &csrf, now, now + Duration::hours(1)).await.expect("session");
        let token = self.db.store.create_api_token(u.id, "test", now, &system("token.create")).await.expect("token").0;
        Person {
            actor: newsdesk_web::desk::Actor { user_id: u.id, email, name: name.into(), role, token_id: None },
            cookie: format!("nd_session={session}"),
            csrf,
            token,
        }
    }

    pub async fn new(db: TestDb) -> TestApp {
        let edition = db
            .store
            .upsert_edition(&NewEdition {
                lang: "en".into(),
                name: "Test Agency".into(),
                direction: Direction::Ltr,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: true,
            })
            .await
            .expect("edition");
        let page = saved_page::parse(SEED).expect("seed");
        let mut seed = StoryInput::from_saved_page(&page, &edition).expect("seed story");
        seed.tags = vec!["Defense".into()];
        seed.authors = vec!["Jane Reporter".into()];
        db.store.save_story(&seed).await.expect("seed story");
        let config = WebConfig { public_url: "https://news.example".into(), ..WebConfig::default() };
        let state = AppState::new(db.store.clone(), config).await.expect("state");
        let last_change = db.store.last_change_id().await.expect("changes");
        TestApp { db, state, edition_id: edition.id, last_change: last_change.into() }
    }

    pub fn router(&self) -> Router {
        newsdesk_web::app(self.state.clone())
    }

    pub async fn request(&self, req: Request<Body>) -> Answer {
        let res = self.router().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.request(Request::get(uri).body(Body::empty()).expect("request")).await
    }

    /// A back-office page as `p` sees it (their session cookie, HTML wanted).
    pub async fn get_as(&self, p: &Person, uri: &str) -> Answer {
        let req = Request::get(uri)
            .header(header::COOKIE, &p.cookie)
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
            .expect("request");
        self.request(req).await
    }

    /// A back-office form posted by `p` from our own page, with their CSRF token.
    pub async fn post_as(&self, p: &Person, uri: &str, form: &[(&str, &str)]) -> Answer {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &p.csrf));
        let req = Request::post(uri)
            .header(header::COOKIE, &p.cookie)
            .header(header::ACCEPT, "text/html")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(serde_urlencoded::to_string(&fields).expect("form")))
            .expect("request");
        self.request(req).await
    }

    /// Publishes a story; returns its News ID.
    pub async fn add(&self, s: NewStory<'_>) -> i64 {
        self.db
            .store
            .save_story(&StoryInput {
                news_id: None,
                edition_id: self.edition_id,
                section: SectionRef::Names(s.sections.iter().map(|x| x.to_string()).collect()),
                slug: None,
                headline: s.headline.into(),
                lead: format!("Lead of {} & more.", s.headline),
                body_source: "Body text.".into(),
                body_format: BodyFormat::Markdown,
                photo_id: s.photo_id,
                gallery_id: None,
                status: StoryStatus::Published,
                published_at: Some(s.published_at),
                tags: s.tags.iter().map(|t| t.to_string()).collect(),
                authors: vec!["Desk".into()],
                agency: None,
                actor: "test".into(),
            })
            .await
            .expect("story")
            .0
    }

    /// Publishes a story tagged Synthetic at `published_at`.
    pub async fn add_at(&self, sections: &[&str], headline: &str, published_at: DateTime<Utc>) -> i64 {
        self.add(NewStory { sections, headline, published_at, tags: &["Synthetic"], photo_id: None }).await
    }

    /// Publishes a story tagged Synthetic, `minutes` after the seed story.
    pub async fn add_story(&self, sections: &[&str], headline: &str, minutes: i64) -> i64 {
        self.add_at(sections, headline, seed_time() + Duration::minutes(minutes)).await
    }

    /// Applies the change log as the background follower would.
    pub async fn sync(&self) {
        let last = self.state.apply_changes(self.last_change.load(Ordering::SeqCst)).await.expect("apply changes");
        self.last_change.store(last, Ordering::SeqCst);
    }
}

/// A file of the shared folder (`../shared`, or `$SHARED` from the workspace root);
/// fails when it is missing.
pub fn shared_schema(rel: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared = std::env::var_os("SHARED").map_or_else(|| root.join("../shared"), |s| root.join(s));
    let schema = shared.join(rel);
    assert!(schema.is_file(), "the schema is missing at {} (set SHARED)", schema.display());
    schema
}

/// Validates a ninjs item with Python `jsonschema` against the shipped ninjs 2.2 schema.
pub fn check_ninjs(doc: &serde_json::Value) {
    let schema = shared_schema("schemas/ninjs/ninjs-schema_2.2.json");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("item.json");
    std::fs::write(&file, doc.to_string()).expect("write");
    let script = "import json, sys\nfrom jsonschema import Draft202012Validator\n\
                  schema = json.load(open(sys.argv[1]))\nitem = json.load(open(sys.argv[2]))\n\
                  errors = [e.message for e in Draft202012Validator(schema).iter_errors(item)]\n\
                  print('\\n'.join(errors))\nsys.exit(1 if errors else 0)\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("python3 (with jsonschema) checks ninjs");
    assert!(
        out.status.success(),
        "not valid ninjs 2.2 (or python3 jsonschema is missing): {}{}\n{doc}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Validates NewsML-G2 with xmllint against the shipped 2.35 schema.
pub fn check_newsml(xml: &str) {
    let schema = shared_schema("schemas/newsml-g2/NewsML-G2_2.35-spec-All-Power.xsd");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("item.xml");
    std::fs::write(&file, xml).expect("write");
    let out = std::process::Command::new("xmllint")
        .args(["--nonet", "--noout", "--schema"])
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint (libxml2-utils) checks NewsML-G2");
    assert!(out.status.success(), "not valid NewsML-G2 2.35: {}\n{xml}", String::from_utf8_lossy(&out.stderr));
}
