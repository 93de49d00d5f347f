//! Wire items into the newsroom, through the back office, on SQLite and on
//! PostgreSQL: the ingest list shows IPTC's own NewsML-G2 example as it
//! arrived; fetching it makes a draft that keeps the item's metadata and its
//! provenance; a newer version of the item flags the story with a word diff;
//! canceled and withheld items are refused; bad input changes nothing.

use axum::http::{StatusCode, header};
use newsdesk_domain::ingest::{self, IncomingItem, PubStatus};
use newsdesk_domain::roles::Role;
use newsdesk_domain::{BodyFormat, StoryStatus};
use newsdesk_storage::backend_test;

use crate::common;
use common::{TestApp, main_of};

const LISTING_1: &[u8] =
    include_bytes!("../../../newsdesk/tests/fixtures/ingest/iptc/LISTING_1_A_NewsML-G2_News_Item.xml");
const GUID: &str = "urn:newsml:acmenews.com:20161018:US-FINANCE-FED";
const SOURCE: &str = "iptc-examples";

fn listing_1() -> IncomingItem {
    let doc = ingest::parse(LISTING_1).expect("IPTC's example parses");
    doc.items.into_iter().next().expect("one item").expect("a news item")
}

fn item_uri(guid: &str) -> String {
    format!("/admin/ingest/item?{}", serde_urlencoded::to_string([("source", SOURCE), ("guid", guid)]).expect("query"))
}

async fn story_count(app: &TestApp) -> usize {
    app.db.store.desk_stories(&Default::default(), 0, 1000).await.expect("stories").len()
}

backend_test! {
    async fn a_wire_item_is_fetched_into_a_draft_that_remembers_its_source(db) {
        let app = TestApp::new(db).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let item = listing_1();
        app.db.store.ingest_items(SOURCE, std::slice::from_ref(&item)).await.expect("ingest");
        let seed = app.db.store.story(84427).await.expect("read").expect("seed");
        let section = seed.section_id.to_string();

        // The list shows the item with its source, version and slugline.
        let list = app.get_as(&rita, "/admin/ingest").await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let main = main_of(&list.body);
        assert!(main.contains("Fed to halt QE to avert &quot;bubble&quot;") || main.contains("Fed to halt QE to avert &#34;bubble&#34;"), "{main}");
        assert!(main.contains("US-Finance-Fed") && main.contains(">11<") && main.contains(SOURCE), "{main}");
        assert!(main.contains(&item_uri(GUID).replace('&', "&amp;")), "{main}");
        let page = app.get_as(&rita, &item_uri(GUID)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(main_of(&page.body).contains("Meredith Jameson") || main_of(&page.body).contains("Berlin"));
        assert!(main_of(&page.body).contains("action=\"/admin/ingest/fetch\""));

        // No section: 422 saying so, and no draft.
        let before = story_count(&app).await;
        let a = app.post_as(&rita, "/admin/ingest/fetch", &[("source", SOURCE), ("guid", GUID), ("section", "")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert!(a.body.contains("Choose the draft"), "{}", a.body);
        // A section of no edition, an unknown item, a desk Rita is not on: refused, nothing made.
        let a = app.post_as(&rita, "/admin/ingest/fetch", &[("source", SOURCE), ("guid", GUID), ("section", "999999")]).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        let a = app.post_as(&rita, "/admin/ingest/fetch", &[("source", SOURCE), ("guid", "nope"), ("section", &section)]).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        let admin = app.person("Ada Admin", Role::Admin).await;
        let audit = newsdesk_storage::AuditEntry {
            at: chrono::Utc::now(),
            actor: admin.actor.email.clone(),
            user_id: Some(admin.actor.user_id),
            action: "desk.create".into(),
            target_kind: "desk".into(),
            target_id: String::new(),
            detail: String::new(),
        };
        let world = app.db.store.create_desk("World", &["Incoming", "Working"], chrono::Utc::now(), &audit).await.expect("desk");
        let desk = world.id.to_string();
        let a = app.post_as(&rita, "/admin/ingest/fetch", &[("source", SOURCE), ("guid", GUID), ("section", &section), ("desk", &desk)]).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
        assert_eq!(story_count(&app).await, before, "nothing made by a refused fetch");
        // The desk's default urgency: admins only, 1 to 8.
        let uri = format!("/admin/desks/{desk}/urgency");
        assert_eq!(app.post_as(&rita, &uri, &[("default_urgency", "3")]).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.post_as(&admin, &uri, &[("default_urgency", "9")]).await.status, StatusCode::BAD_REQUEST);
        assert_eq!(app.post_as(&admin, &uri, &[("default_urgency", "3")]).await.status, StatusCode::SEE_OTHER);
        assert_eq!(app.db.store.desk(world.id).await.expect("read").expect("desk").default_urgency, Some(3));
        // A member of the desk fetches onto it: the draft is on the desk's first
        // stage, with the desk's urgency (IPTC's example gives none).
        let a = app.post_as(&admin, "/admin/ingest/fetch", &[("source", SOURCE), ("guid", GUID), ("section", &section), ("desk", &desk)]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let id: i64 = a.headers[header::LOCATION].to_str().expect("location")
            .trim_start_matches("/admin/stories/").trim_end_matches("/edit").parse().expect("news id");
        assert_eq!(app.db.store.story_place(id).await.expect("place").expect("on a desk").desk_id, world.id);
        assert_eq!(app.db.store.story(id).await.expect("read").expect("draft").agency.urgency, 3);
        assert_eq!(story_count(&app).await, before + 1);
    }
}

backend_test! {
    async fn fetching_keeps_the_metadata_and_a_new_version_flags_the_story(db) {
        let app = TestApp::new(db).await;
        let rita = app.person("Rita Reporter", Role::Reporter).await;
        let otto = app.person("Otto Reporter", Role::Reporter).await;
        let mut item = listing_1();
        // IPTC's example leaves its inline NITF empty: give it a paragraph.
        item.body_html = "<p>The Federal Reserve will stop buying bonds.</p>".into();
        app.db.store.ingest_items(SOURCE, std::slice::from_ref(&item)).await.expect("ingest");
        let seed = app.db.store.story(84427).await.expect("read").expect("seed");
        let section = seed.section_id.to_string();

        let a = app.post_as(&rita, "/admin/ingest/fetch", &[("source", SOURCE), ("guid", GUID), ("section", &section)]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
        let editor = a.headers[header::LOCATION].to_str().expect("location").to_string();
        let id: i64 = editor.trim_start_matches("/admin/stories/").trim_end_matches("/edit").parse().expect("news id");
        let story = app.db.store.story(id).await.expect("read").expect("draft");
        assert_eq!(story.status, StoryStatus::Draft);
        assert_eq!(story.headline, "Fed to halt QE to avert \"bubble\"");
        assert_eq!(story.body_format, BodyFormat::Html);
        assert!(story.body_html.contains("<p>"), "{}", story.body_html);
        assert_eq!(story.agency.slugline, "US-Finance-Fed");
        assert_eq!(story.agency.located, "Berlin");
        assert_eq!(story.agency.subjects, vec!["medtop:04000000".to_string(), "medtop:20000523".to_string()]);
        assert_eq!(story.authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), vec!["Meredith Jameson"]);
        let source = app.db.store.story_source(id).await.expect("read").expect("provenance");
        assert_eq!((source.source.as_str(), source.guid.as_str(), source.version), (SOURCE, GUID, 11));
        assert!(!source.source_updated());
        assert!(main_of(&app.get_as(&rita, "/admin/ingest").await.body).contains("1 fetched"));

        // Version 12 arrives with a new headline: the story is flagged with the difference.
        item.version = 12;
        item.headline = "Fed halts QE to avert a bubble".into();
        item.body_html = item.body_html.replacen("<p>", "<p>Update: rates unchanged. ", 1);
        app.db.store.ingest_items(SOURCE, std::slice::from_ref(&item)).await.expect("new version");
        assert!(app.db.store.story_source(id).await.expect("read").expect("provenance").source_updated());
        let page = main_of(&app.get_as(&rita, &item_uri(GUID)).await.body).to_string();
        assert!(page.contains("source updated to version 12"), "{page}");
        let changes = app.get_as(&rita, &format!("/admin/stories/{id}/source")).await;
        assert_eq!(changes.status, StatusCode::OK, "{}", changes.body);
        let main = main_of(&changes.body);
        assert!(main.contains("<ins>") && main.contains("<del>"), "{main}");
        assert!(main.contains("Update:"), "{main}");
        let edit = main_of(&app.get_as(&rita, &editor).await.body).to_string();
        assert!(edit.contains("Source updated to version 12"), "{edit}");
        assert!(edit.contains(&format!("href=\"/admin/stories/{id}/source\"")), "{edit}");
        // Only the author and editors see a story's source.
        assert_eq!(app.get_as(&otto, &format!("/admin/stories/{id}/source")).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get_as(&rita, "/admin/stories/84427/source").await.status, StatusCode::FORBIDDEN);

        // Canceled and withheld items are not fetched.
        for (status, says) in [(PubStatus::Canceled, "canceled"), (PubStatus::Withheld, "withholds")] {
            let mut other = listing_1();
            other.guid = format!("urn:test:{says}");
            other.pub_status = status;
            other.body_html = "<p>text</p><script>alert(1)</script>".into();
            app.db.store.ingest_items(SOURCE, &[other]).await.expect("ingest");
            let page = app.get_as(&rita, &item_uri(&format!("urn:test:{says}"))).await;
            assert!(!page.body.contains("<script>alert"), "the item's body is sanitized");
            let a = app.post_as(&rita, "/admin/ingest/fetch", &[("source", SOURCE), ("guid", &format!("urn:test:{says}")), ("section", &section)]).await;
            assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
            assert!(a.body.contains(says), "{}", a.body);
        }
        // Bad query strings are a 400, unknown sources too.
        assert_eq!(app.get_as(&rita, "/admin/ingest?page=0").await.status, StatusCode::BAD_REQUEST);
        assert_eq!(app.get_as(&rita, "/admin/ingest?source=nobody").await.status, StatusCode::BAD_REQUEST);
        assert_eq!(app.get_as(&rita, "/admin/ingest/item?source=x").await.status, StatusCode::BAD_REQUEST);
        assert_eq!(app.get("/admin/ingest").await.status, StatusCode::UNAUTHORIZED);
    }
}
