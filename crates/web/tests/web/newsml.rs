//! The wire as NewsML-G2 2.35 through the real router, on SQLite and on
//! PostgreSQL: documents valid against IPTC's schema (xmllint), the story's
//! metadata in them, and the same keys, scopes and limits as ninjs.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, Utc};
use newsdesk_domain::{BodyFormat, StoryStatus, ninjs};
use newsdesk_storage::{AuditEntry, NewSubscriber, SectionRef, StoryInput, backend_test};
use newsdesk_web::wire::newsml;
use serde_json::Value;

use crate::common;

use common::{Answer, NewStory, SEED_HEADLINE, TestApp, check_ninjs};

const ITEM_TYPE: &str = "application/vnd.iptc.g2.newsitem+xml; charset=utf-8";
const MESSAGE_TYPE: &str = "application/vnd.iptc.g2.newsmessage+xml; charset=utf-8";

async fn key(app: &TestApp, name: &str, sections: &[&str], rate_limit: i64) -> String {
    let s = app
        .db
        .store
        .add_subscriber(
            &NewSubscriber {
                name: name.into(),
                sections: sections.iter().map(|s| s.to_string()).collect(),
                editions: vec![],
                rate_limit,
            },
            &AuditEntry::system("test", "subscriber.create", "subscriber", "", ""),
        )
        .await
        .expect("subscriber");
    app.db
        .store
        .create_api_key(s.id, &AuditEntry::system("test", "subscriber.key", "subscriber", "", ""))
        .await
        .expect("key")
        .0
}

async fn get(app: &TestApp, uri: &str, key: &str) -> Answer {
    app.request(
        Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).expect("request"),
    )
    .await
}

fn error_code(a: &Answer) -> String {
    let v: Value = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("JSON ({e}): {}", a.body));
    v["error"]["code"].as_str().expect("error code").to_string()
}

/// Validates documents with xmllint against the shipped NewsML-G2 2.35 schema.
/// Fails (does not skip) when xmllint or the schema is missing: the wire's
/// contract is this schema (CI installs libxml2-utils before the tests).
struct Validator {
    schema: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl Validator {
    fn new() -> Validator {
        // As in .ci/run: SHARED (relative to the repository) or the shared/ folder beside it.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let shared = std::env::var_os("SHARED").map_or_else(|| root.join("../shared"), |s| root.join(s));
        let schema = shared.join("schemas/newsml-g2/NewsML-G2_2.35-spec-All-Power.xsd");
        assert!(
            schema.is_file(),
            "the NewsML-G2 schema is missing at {} (set SHARED to the shared/ folder)",
            schema.display()
        );
        let version = std::process::Command::new("xmllint").arg("--version").output();
        assert!(
            version.is_ok_and(|o| o.status.success()),
            "xmllint is missing: apt-get install libxml2-utils (the NewsML-G2 output is checked with it)"
        );
        Validator { schema, dir: tempfile::tempdir().expect("tempdir") }
    }

    fn check(&self, name: &str, xml: &str) {
        let file = self.dir.path().join(format!("{name}.xml"));
        std::fs::write(&file, xml).expect("write");
        let out = std::process::Command::new("xmllint")
            .args(["--nonet", "--noout", "--schema"])
            .arg(&self.schema)
            .arg(&file)
            .output()
            .expect("run xmllint");
        assert!(
            out.status.success(),
            "{name} is not valid NewsML-G2 2.35: {}\n{xml}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The text of the first `<name ...>text</name>` in `xml`.
fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{name}> in {xml}"));
    let content = start + xml[start..].find('>').expect("end of tag") + 1;
    let end = content + xml[content..].find(&format!("</{name}>")).unwrap_or_else(|| panic!("no </{name}>"));
    &xml[content..end]
}

/// A published story with a photo, tags (one a Media Topic) and a body with
/// what HTML has and XML has not: void elements, `&nbsp;`, named entities.
async fn photo_story(app: &TestApp) -> i64 {
    let sha = "cd".repeat(32);
    let photo = app
        .db
        .store
        .put_photo(&[0xFF; 64], "image/jpeg", 800, 600, "Leaders <meet> & talk", "Photo: Agency", &sha)
        .await
        .expect("photo");
    app.db
        .store
        .save_story(&StoryInput {
            news_id: None,
            edition_id: app.edition_id,
            section: SectionRef::Names(vec!["Politics".into()]),
            slug: None,
            headline: "Talks \"resume\" & <go on>".into(),
            lead: "A lead with < and & in it.".into(),
            body_source: "<p>One&nbsp;two<br>three &amp; &eacute;t&eacute; <b>bold <i>both</b></p>\
                          <hr><p><img src=\"/media/x.jpg\" alt=\"a &quot;b&quot;\"> <a href=\"/news/84427\">seed</a></p>"
                .into(),
            body_format: BodyFormat::Html,
            photo_id: Some(photo.id),
            gallery_id: None,
            status: StoryStatus::Published,
            published_at: Some(Utc::now() - Duration::minutes(5)),
            tags: vec!["Politics".into(), "Tag & Co".into()],
            authors: vec!["Jane Reporter".into()],
            agency: None,
            actor: "test".into(),
        })
        .await
        .expect("story")
        .0
}

backend_test! {
    async fn items_and_pages_validate_against_the_newsml_g2_schema(db) {
        let validator = Validator::new();
        let app = TestApp::new(db).await;
        let pictured = photo_story(&app).await;
        let killed = app.add_story(&["World"], "Withdrawn later", 10).await;
        let before = Utc::now() - Duration::seconds(2);
        assert!(app.db.store.set_story_status(killed, StoryStatus::Killed).await.expect("kill"));
        let k = key(&app, "Validator", &[], 100).await;

        for id in [84427, pictured, killed] {
            let a = get(&app, &format!("/api/newsml-g2/items/{id}"), &k).await;
            assert_eq!(a.status, StatusCode::OK, "{id}: {}", a.body);
            assert_eq!(a.content_type(), ITEM_TYPE);
            validator.check(&format!("item-{id}"), &a.body);
        }
        let since = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for (name, uri) in [
            ("page", "/api/newsml-g2/items?limit=100".to_string()),
            ("retractions", format!("/api/newsml-g2/items?since={since}")),
        ] {
            let a = get(&app, &uri, &k).await;
            assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
            assert_eq!(a.content_type(), MESSAGE_TYPE);
            validator.check(name, &a.body);
        }

        // The wire serves no scheduled story, but its mapping carries the embargo: rendered directly.
        let later = Utc::now() + Duration::hours(3);
        let (scheduled, _) = app.db.store.save_story(&StoryInput {
            news_id: None,
            edition_id: app.edition_id,
            section: SectionRef::Names(vec!["World".into()]),
            slug: None,
            headline: "Embargoed statement".into(),
            lead: "Out at noon.".into(),
            body_source: "Text.".into(),
            body_format: BodyFormat::Markdown,
            photo_id: None,
            gallery_id: None,
            status: StoryStatus::Scheduled,
            published_at: Some(later),
            tags: vec![],
            authors: vec![],
            agency: None,
            actor: "test".into(),
        }).await.expect("scheduled");
        let story = app.db.store.story(scheduled).await.expect("load").expect("exists");
        let edition = app.db.store.editions().await.expect("editions").into_iter().next().expect("edition");
        let item = ninjs::from_story(&story, &ninjs::Context {
            public_url: "https://news.example",
            edition: &edition,
            section_trail: &[],
            copyright_holder: "",
            usage_terms: "Subscribers only.",
        });
        let source = newsml::Source { story: &story, item, edition };
        let xml = newsml::render(|w| newsml::write_news_item(w, &source, "https://news.example")).expect("render");
        assert_eq!(element(&xml, "embargoed"), ninjs::time(later));
        assert!(xml.contains("<pubStatus qcode=\"stat:withheld\"/>"), "{xml}");
        validator.check("scheduled", &xml);
    }
}

backend_test! {
    async fn an_item_carries_the_story_as_ninjs_does(db) {
        let app = TestApp::new(db).await;
        let pictured = photo_story(&app).await;
        let k = key(&app, "Reader", &[], 100).await;
        let ninjs: Value = serde_json::from_str(&get(&app, &format!("/api/ninjs/v2/items/{pictured}"), &k).await.body).expect("ninjs");
        let a = get(&app, &format!("/api/newsml-g2/items/{pictured}"), &k).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let xml = &a.body;
        let version = ninjs["version"].as_str().expect("version");
        assert!(xml.contains(&format!("guid=\"https://news.example/news/{pictured}\" version=\"{version}\"")), "{xml}");
        assert!(xml.contains("standardversion=\"2.35\" conformance=\"power\" xml:lang=\"en\""), "{xml}");
        assert_eq!(element(xml, "versionCreated"), ninjs["versioncreated"].as_str().expect("time"));
        assert_eq!(element(xml, "firstCreated"), ninjs["firstcreated"].as_str().expect("time"));
        assert!(xml.contains("<pubStatus qcode=\"stat:usable\"/>"), "{xml}");
        assert!(!xml.contains("<embargoed"), "not embargoed");
        assert_eq!(element(xml, "urgency"), "4");
        assert_eq!(element(element(xml, "copyrightHolder"), "name"), "Test Agency");
        assert!(!element(xml, "usageTerms").is_empty());
        // User text is escaped.
        assert_eq!(element(xml, "headline"), "Talks &quot;resume&quot; &amp; &lt;go on&gt;");
        assert!(xml.contains("<description role=\"drol:summary\">A lead with &lt; and &amp; in it.</description>"), "{xml}");
        assert!(xml.contains("<creator uri=\"https://news.example/author/jane-reporter\">"), "{xml}");
        // Sections and tags: a Media Topic where known, else a keyword.
        // Section Politics and tag Politics are one topic, named once.
        assert_eq!(xml.matches("<subject type=\"cpnat:abstract\" qcode=\"medtop:11000000\">").count(), 1, "{xml}");
        assert_eq!(element(xml, "keyword"), "Tag &amp; Co");
        // The lead photo is linked, with its caption and credit as hints.
        let href = format!("https://news.example/media/{}.jpg", "cd".repeat(32));
        assert!(xml.contains(&format!("<link rel=\"irel:associatedWith\" href=\"{href}\" contenttype=\"image/jpeg\" title=\"Leaders &lt;meet&gt; &amp; talk\">")), "{xml}");
        assert_eq!(element(xml, "creditline"), "Photo: Agency");
        // The body is XHTML: void elements closed, entities as characters, links absolute.
        let body = element(xml, "body");
        assert!(body.starts_with("<p>One\u{a0}two<br/>three &amp; \u{e9}t\u{e9} <b>bold <i>both</i></b></p><hr/>"), "{body}");
        assert!(body.contains("src=\"https://news.example/media/x.jpg\" alt=\"a &quot;b&quot;\"/>"), "{body}");
        assert!(body.contains("href=\"https://news.example/news/84427\""), "{body}");
        assert!(xml.contains("<inlineXML contenttype=\"application/xhtml+xml\""), "{xml}");

        let seed = get(&app, "/api/newsml-g2/items/84427", &k).await;
        assert_eq!(element(&seed.body, "headline"), SEED_HEADLINE);
        assert!(seed.body.contains("<subject type=\"cpnat:abstract\" uri=\"https://news.example/section/iran\">"), "{}", seed.body);
        assert_eq!(element(&seed.body, "keyword"), "Defense");
        assert!(!seed.body.contains("irel:associatedWith"), "the seed has no photo");
    }
}

backend_test! {
    async fn a_killed_story_is_canceled_without_its_content(db) {
        let app = TestApp::new(db).await;
        let k = key(&app, "Retract", &[], 100).await;
        let before = Utc::now() - Duration::seconds(2);
        assert!(app.db.store.set_story_status(84427, StoryStatus::Killed).await.expect("kill"));
        let a = get(&app, "/api/newsml-g2/items/84427", &k).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(a.body.contains("<pubStatus qcode=\"stat:canceled\"/>"), "{}", a.body);
        assert!(a.body.contains("version=\"2\""), "{}", a.body);
        for gone in ["<headline", "<description", "<contentSet", "<creator", "irel:seeAlso"] {
            assert!(!a.body.contains(gone), "a retraction carries no {gone}: {}", a.body);
        }
        // Without `since` the list has usable stories only (none here: 204); with it, the retraction.
        let empty = get(&app, "/api/newsml-g2/items", &k).await;
        assert_eq!(empty.status, StatusCode::NO_CONTENT, "{}", empty.body);
        assert!(empty.body.is_empty());
        let since = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let page = get(&app, &format!("/api/newsml-g2/items?since={since}"), &k).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.body.matches("<newsItem ").count(), 1);
        assert!(page.body.contains("guid=\"https://news.example/news/84427\""), "{}", page.body);
        assert!(page.body.contains("stat:canceled"));
    }
}

backend_test! {
    async fn pages_are_news_messages_with_next_links(db) {
        let app = TestApp::new(db).await;
        let mut added = Vec::new();
        for i in 0..3 {
            added.push(app.add_story(&["World"], &format!("World story {i}"), 10 + i).await);
        }
        let k = key(&app, "Pager", &[], 100).await;
        let first = get(&app, "/api/newsml-g2/items?limit=2", &k).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        assert!(first.body.contains("<newsMessage xmlns=\"http://iptc.org/std/nar/2006-10-01/\">"), "{}", first.body);
        assert_eq!(element(&first.body, "sender"), "news.example");
        let guids = |xml: &str| -> Vec<String> {
            xml.split("<newsItem guid=\"").skip(1).map(|s| s[..s.find('"').expect("end")].to_string()).collect()
        };
        let mut seen = guids(&first.body);
        let link = first.headers[header::LINK].to_str().expect("ascii").to_string();
        let next = link.strip_prefix("<https://news.example").and_then(|l| l.strip_suffix(">; rel=\"next\"")).expect("next link");
        assert!(next.starts_with("/api/newsml-g2/items?limit=2&cursor="), "{next}");
        let second = get(&app, next, &k).await;
        assert_eq!(second.status, StatusCode::OK);
        assert!(second.headers.get(header::LINK).is_none(), "last page");
        seen.extend(guids(&second.body));
        let want: Vec<String> = added.iter().rev().chain([&84427]).map(|id| format!("https://news.example/news/{id}")).collect();
        assert_eq!(seen, want, "newest first, each once, as ninjs");
        // Filters are the ninjs ones.
        let world = get(&app, "/api/newsml-g2/items?section=world&limit=100", &k).await;
        assert_eq!(guids(&world.body).len(), 3);
        assert_eq!(get(&app, "/api/newsml-g2/items?section=iran&since=2100-01-01T00:00:00Z", &k).await.status, StatusCode::NO_CONTENT);
        for query in ["limit=0", "since=yesterday", "cursor=nonsense", "section=nowhere", "colour=blue"] {
            let a = get(&app, &format!("/api/newsml-g2/items?{query}"), &k).await;
            assert_eq!((a.status, error_code(&a).as_str()), (StatusCode::BAD_REQUEST, "bad_request"), "{query}");
        }
        let bad = get(&app, "/api/newsml-g2/items/abc", &k).await;
        assert_eq!((bad.status, error_code(&bad).as_str()), (StatusCode::BAD_REQUEST, "bad_request"));
    }
}

backend_test! {
    async fn keys_scopes_and_limits_are_the_ninjs_ones(db) {
        let app = TestApp::new(db).await;
        let world = app.add(NewStory { sections: &["World"], headline: "World story", published_at: Utc::now() - Duration::minutes(1), tags: &[], photo_id: None }).await;
        let later = Utc::now() + Duration::hours(2);
        let (scheduled, _) = app.db.store.save_story(&StoryInput {
            news_id: None,
            edition_id: app.edition_id,
            section: SectionRef::Names(vec!["World".into()]),
            slug: None,
            headline: "Not yet".into(),
            lead: String::new(),
            body_source: "Text.".into(),
            body_format: BodyFormat::Markdown,
            photo_id: None,
            gallery_id: None,
            status: StoryStatus::Scheduled,
            published_at: Some(later),
            tags: vec![],
            authors: vec![],
            agency: None,
            actor: "test".into(),
        }).await.expect("scheduled");

        for uri in ["/api/newsml-g2/items", "/api/newsml-g2/items/84427"] {
            let a = app.get(uri).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{uri}");
            assert!(a.headers[header::WWW_AUTHENTICATE].to_str().expect("ascii").starts_with("Bearer"));
            assert_eq!(error_code(&a), "unauthorized");
            assert_eq!(get(&app, uri, "nd_0123456789").await.status, StatusCode::UNAUTHORIZED);
        }

        let k = key(&app, "World only", &["world"], 100).await;
        let hidden = get(&app, "/api/newsml-g2/items/84427", &k).await;
        assert_eq!((hidden.status, error_code(&hidden).as_str()), (StatusCode::NOT_FOUND, "not_found"));
        assert_eq!(get(&app, &format!("/api/newsml-g2/items/{world}"), &k).await.status, StatusCode::OK);
        let page = get(&app, "/api/newsml-g2/items", &k).await;
        assert_eq!(page.body.matches("<newsItem ").count(), 1, "{}", page.body);
        assert!(page.body.contains(&format!("/news/{world}\"")));
        // A scheduled (embargoed) story is not on the wire before its time, as on ninjs.
        let all = key(&app, "All", &[], 100).await;
        assert_eq!(get(&app, &format!("/api/newsml-g2/items/{scheduled}"), &all).await.status, StatusCode::NOT_FOUND);
        assert_eq!(get(&app, &format!("/api/ninjs/v2/items/{scheduled}"), &all).await.status, StatusCode::NOT_FOUND);
        assert!(!get(&app, "/api/newsml-g2/items", &all).await.body.contains("Not yet"));

        // One rate limit per key across both formats.
        let busy = key(&app, "Busy", &[], 2).await;
        let mut limited = None;
        for i in 0..6 {
            let uri = if i % 2 == 0 { "/api/ninjs/v2/items" } else { "/api/newsml-g2/items" };
            let a = get(&app, uri, &busy).await;
            if a.status == StatusCode::TOO_MANY_REQUESTS {
                limited = Some(a);
                break;
            }
            assert_eq!(a.status, StatusCode::OK);
        }
        let a = limited.expect("a request over the limit is refused");
        assert!(a.headers.contains_key(header::RETRY_AFTER));
        assert_eq!(error_code(&a), "rate_limited");
    }
}

backend_test! {
    async fn a_story_fetched_from_a_wire_item_carries_its_provenance(db) {
        let validator = Validator::new();
        let app = TestApp::new(db).await;
        let listing = include_bytes!("../../../newsdesk/tests/fixtures/ingest/iptc/LISTING_1_A_NewsML-G2_News_Item.xml");
        let item = newsdesk_domain::ingest::parse(listing).expect("parses").items.remove(0).expect("item");
        app.db.store.ingest_items("acme-wire", std::slice::from_ref(&item)).await.expect("ingest");
        let stored = app.db.store.ingested_item("acme-wire", &item.guid).await.expect("read").expect("stored");
        let id = app.add_story(&["World"], "Fed to halt QE", 5).await;
        app.db.store.record_story_source(id, &stored, None).await.expect("provenance");
        let k = key(&app, "Provenance", &[], 100).await;

        let a = get(&app, &format!("/api/ninjs/v2/items/{id}"), &k).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let json: Value = serde_json::from_str(&a.body).expect("json");
        check_ninjs(&json);
        assert_eq!(
            json["infosources"],
            serde_json::json!([{"name": "acme-wire", "role": ninjs::CONTENT_SOURCE_ROLE, "literal": "acme-wire"}])
        );
        let altids = json["altids"].as_array().expect("altids");
        assert!(altids.contains(&serde_json::json!({"role": "sourceguid", "value": item.guid})), "{altids:?}");
        assert!(altids.contains(&serde_json::json!({"role": "sourceversion", "value": item.version.to_string()})), "{altids:?}");

        let a = get(&app, &format!("/api/newsml-g2/items/{id}"), &k).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        validator.check("provenance", &a.body);
        assert!(a.body.contains("<infoSource role=\"cpprole:contentSource\" literal=\"acme-wire\">"), "{}", a.body);
        assert!(a.body.contains(&format!("<altId type=\"ndaltid:sourceguid\">{}</altId>", item.guid)), "{}", a.body);
        assert!(a.body.contains("<scheme alias=\"ndaltid\""), "{}", a.body);
        // A story of our own names no other source.
        let own = get(&app, "/api/newsml-g2/items/84427", &k).await;
        assert!(!own.body.contains("infoSource") && !own.body.contains("ndaltid"), "{}", own.body);
        let page = get(&app, "/api/newsml-g2/items?limit=100", &k).await;
        validator.check("provenance-page", &page.body);
    }
}

backend_test! {
    async fn the_lead_photo_carries_its_creator_and_rights_in_both_formats(db) {
        let validator = Validator::new();
        let app = TestApp::new(db).await;
        let pictured = photo_story(&app).await;
        let photo = app.db.store.story(pictured).await.expect("story").expect("exists").photo.expect("photo");
        let details = newsdesk_domain::photo_meta::PhotoDetails {
            headline: "Leaders meet".into(),
            creator: "مریم رحیمی".into(),
            copyright: "© 2024 Maryam Rahimi & Co".into(),
            source: "Agency".into(),
            date_created: "2024-07-22T06:15:30+03:30".into(),
            keywords: vec!["talks".into()],
            usage_terms: "Editorial use only".into(),
        };
        let audit = AuditEntry::system("test", "media.edit", "photo", photo.id, "");
        app.db.store.update_photo_text(photo.id, &photo.caption, &photo.credit, &details, &audit).await.expect("edit").expect("photo");
        let k = key(&app, "Photo rights", &[], 100).await;

        let ninjs: Value = serde_json::from_str(&get(&app, &format!("/api/ninjs/v2/items/{pictured}"), &k).await.body).expect("ninjs");
        check_ninjs(&ninjs);
        let a = &ninjs["associations"][0];
        assert_eq!((a["name"].as_str(), a["type"].as_str()), (Some("leadphoto"), Some("picture")), "{ninjs}");
        assert_eq!(a["by"], "مریم رحیمی");
        assert_eq!(a["copyrightnotice"], "© 2024 Maryam Rahimi & Co");
        assert_eq!(a["usageterms"], "Editorial use only");
        assert_eq!(a["contentcreated"], "2024-07-22T06:15:30+03:30");
        assert_eq!(ninjs["copyrightholder"], "Test Agency", "the story's rights stay the agency's");

        let xml = get(&app, &format!("/api/newsml-g2/items/{pictured}"), &k).await.body;
        validator.check("item-with-photo-rights", &xml);
        let at = xml.find("<link rel=\"irel:associatedWith\"").expect("the photo's link");
        let link = &xml[at..at + xml[at..].find("</link>").expect("its end")];
        assert_eq!(element(link, "copyrightNotice"), "© 2024 Maryam Rahimi &amp; Co", "{link}");
        assert_eq!(element(link, "usageTerms"), "Editorial use only");
        assert_eq!(element(element(link, "creator"), "name"), "مریم رحیمی");
        assert_eq!(element(link, "headline"), "Leaders meet");
        // The item's own rights are the agency's.
        assert_eq!(element(element(&xml, "copyrightHolder"), "name"), "Test Agency");
        let messages = get(&app, "/api/newsml-g2/items", &k).await;
        assert_eq!(messages.status, StatusCode::OK);
        validator.check("page-with-photo-rights", &messages.body);
    }
}
