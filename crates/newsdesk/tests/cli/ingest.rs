//! `newsdesk ingest` as a user runs it, on SQLite and on PostgreSQL, with
//! IPTC's own NewsML-G2 examples and our NITF and ninjs fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use newsdesk_storage::backend_test;
use newsdesk_storage::testing::TestDb;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ingest").join(name)
}

fn arg(p: &Path) -> String {
    p.display().to_string()
}

fn newsdesk(db: &TestDb, dir: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.display().to_string(), "--database-url", &db.url, "ingest"])
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .output()
        .expect("run newsdesk")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const IPTC: &[&str] = &[
    "iptc/LISTING_1_A_NewsML-G2_News_Item.xml",
    "iptc/LISTING_2_NewsML-G2_Text_Document.xml",
    "iptc/LISTING_3_Photo_in_NewsML-G2.xml",
    "iptc/LISTING_25_An_NITF_marked-up_article_conveyed_in_inlineXML.xml",
    "iptc/LISTING_26_Embedded_photo_metadata_fields_mapped_to_NewsML-G2.xml",
    "iptc/LISTING_28_Illustrating_Located_Subject_and_Dateline.xml",
];

backend_test! {
    async fn iptc_examples_are_taken_in_and_their_fragments_refused(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let files: Vec<String> = IPTC.iter().map(|f| arg(&fixture(f))).collect();
        let out = newsdesk(&db, dir.path(), &files);
        assert!(!out.status.success(), "two fragments are refused");
        let stdout = text(&out.stdout);
        assert_eq!(
            stdout,
            "urn:newsml:acmenews.com:20161018:US-FINANCE-FED\t11\tFed to halt QE to avert \"bubble\"\tcreated\n\
             urn:newsml:acmenews.com:20161121:US-FINANCE-FED\t11\tFed to halt QE to avert \"bubble\"\tcreated\n\
             tag:gettyimages.com,2010:GYI0062134533\t11\tVariety Of Recessionary Forces Leave Las Vegas Economy Scarred\tcreated\n\
             tag:acmenews.com,2008:WORLD-NEWS:USA20081208098658\t11\tA firefighter walks past the remains of a military jet that crashed into homes in the University City neighborhood of San Bernardino\tcreated\n"
        );
        let err = text(&out.stderr);
        assert!(err.contains(&format!("{}:1:1: not a news document: the root element is <contentSet>", files[3])), "{err}");
        assert!(err.contains(&format!("{}:1:1: not a news document: the root element is <contentMeta>", files[5])), "{err}");
        assert_eq!(db.store.ingested_count().await.expect("count"), 4);
        let photo = db.store.ingested_item("cli", "tag:gettyimages.com,2010:GYI0062134533").await.expect("load").expect("stored");
        assert_eq!((photo.kind.as_str(), photo.format.as_str(), photo.version, photo.previous_version), ("picture", "newsml-g2", 11, None));
        assert!(photo.renditions.contains(r#"{"name":"highRes","href":"./GYI0062134533.jpg","width":1500,"height":1001,"mime":"image/jpeg"}"#), "{}", photo.renditions);
        let text_item = db.store.ingested_item("cli", "urn:newsml:acmenews.com:20161121:US-FINANCE-FED").await.expect("load").expect("stored");
        assert!(text_item.body_html.starts_with("<p>(New York, NY - October 21)"), "{}", text_item.body_html);
        assert_eq!(text_item.language, "en-US");
        assert!(text_item.subjects.contains(r#"{"code":"medtop:20000350","name":"central bank"}"#));
        assert_eq!(text_item.version_created.map(|t| t.to_rfc3339()), Some("2018-11-21T21:25:32+00:00".into()));
    }
}

backend_test! {
    async fn a_new_version_updates_the_row_and_the_same_version_is_unchanged(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let files = vec![arg(&fixture("nitf.xml")), arg(&fixture("ninjs1.json")), arg(&fixture("ninjs2.json")), arg(&fixture("ninjs3.json"))];
        let first = newsdesk(&db, dir.path(), &files);
        assert!(first.status.success(), "{}", text(&first.stderr));
        let stdout = text(&first.stdout);
        assert!(stdout.contains("urn:example:wire:storm-2026-001\t3\tStorm & floods close the coast road\tcreated\n"), "{stdout}");
        assert!(stdout.contains("https://wire.example/items/ninjs2-item\t2\tعنوان اصلی خبر\tcreated\n"), "{stdout}");
        assert_eq!(stdout.lines().count(), 4);

        let again = newsdesk(&db, dir.path(), &files);
        assert!(again.status.success(), "{}", text(&again.stderr));
        assert_eq!(text(&again.stdout).lines().filter(|l| l.ends_with("\tunchanged")).count(), 4, "{}", text(&again.stdout));

        let v4 = dir.path().join("storm-v4.xml");
        let nitf = std::fs::read_to_string(fixture("nitf.xml")).expect("read");
        std::fs::write(&v4, nitf.replace("version=\"3\"", "version=\"4\"").replace("close the coast road", "keep the coast road shut")).expect("write");
        let update = newsdesk(&db, dir.path(), &[arg(&v4)]);
        assert!(update.status.success(), "{}", text(&update.stderr));
        assert_eq!(text(&update.stdout), "urn:example:wire:storm-2026-001\t4\tStorm & floods keep the coast road shut\tupdated from version 3\n");
        let row = db.store.ingested_item("cli", "urn:example:wire:storm-2026-001").await.expect("load").expect("stored");
        assert_eq!((row.version, row.previous_version), (4, Some(3)));
        assert_eq!(row.headline, "Storm & floods keep the coast road shut");
        assert_eq!((row.urgency, row.format.as_str(), row.byline.as_str()), (Some(2), "nitf", "By Jo Reporter"));
        assert!(!row.body_html.contains("script"), "{}", row.body_html);

        let old = newsdesk(&db, dir.path(), &[arg(&fixture("nitf.xml"))]);
        assert!(old.status.success());
        assert!(text(&old.stdout).ends_with("\tunchanged: version 4 is stored, newer\n"), "{}", text(&old.stdout));
        assert_eq!(db.store.ingested_item("cli", "urn:example:wire:storm-2026-001").await.expect("load").expect("row").version, 4);

        let elsewhere = newsdesk(&db, dir.path(), &["--source".into(), "other-agency".into(), arg(&fixture("nitf.xml"))]);
        assert!(elsewhere.status.success());
        assert!(text(&elsewhere.stdout).ends_with("\tcreated\n"), "a guid is unique per source");
        let pic = db.store.ingested_item("cli", "https://wire.example/items/ninjs3-pic").await.expect("load").expect("stored");
        assert_eq!((pic.format.as_str(), pic.kind.as_str()), ("ninjs3", "picture"));
        assert_eq!(pic.embargoed.map(|t| t.to_rfc3339()), Some("2026-12-03T18:00:00+00:00".into()));
        assert_eq!(db.store.ingested_count().await.expect("count"), 5);
    }
}

backend_test! {
    async fn a_malformed_file_is_refused_with_file_and_line_and_nothing_of_it_is_stored(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let message = std::fs::read_to_string(fixture("newsmessage.xml")).expect("read");
        let bad = dir.path().join("bad.xml");
        std::fs::write(&bad, message.replace("<urgency>3</urgency>", "<urgency>3</urgency></contentMeta>")).expect("write");
        let bad_json = dir.path().join("bad.json");
        std::fs::write(&bad_json, "{\"uri\": \"u\", \"urgency\": \"soon\"}").expect("write");
        let out = newsdesk(&db, dir.path(), &[arg(&bad), arg(&bad_json)]);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(err.contains(&format!("{}:17:", bad.display())), "{err}");
        assert!(err.contains(&format!("{}: $.urgency: urgency `soon` is not a number from 1 to 9", bad_json.display())), "{err}");
        assert_eq!(text(&out.stdout), "");
        assert_eq!(db.store.ingested_count().await.expect("count"), 0, "nothing of a malformed file");

        let good = newsdesk(&db, dir.path(), &[arg(&fixture("newsmessage.xml"))]);
        assert!(!good.status.success(), "the package item is refused");
        assert_eq!(
            text(&good.stdout),
            "urn:example:wire:msg-1\t2\tPremier article\tcreated\nurn:example:wire:msg-2\t1\tSecond item, killed\tcreated\n"
        );
        assert!(text(&good.stderr).contains(&format!("{}:25:5: a NewsML-G2 packageItem", fixture("newsmessage.xml").display())), "{}", text(&good.stderr));
        let killed = db.store.ingested_item("cli", "urn:example:wire:msg-2").await.expect("load").expect("stored");
        assert_eq!(killed.pub_status, "canceled");
    }
}

backend_test! {
    async fn new_items_are_routed_by_the_first_matching_rule_and_said_so(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let audit = newsdesk_storage::AuditEntry::system("test", "desk.create", "desk", "", "");
        let weather = db.store.create_desk("Weather", &["Incoming"], chrono::Utc::now(), &audit).await.expect("desk");
        let finance = db.store.create_desk("Finance", &["Incoming"], chrono::Utc::now(), &audit).await.expect("desk");
        let rule = |desk_id: i64, keywords: &[&str]| newsdesk_storage::RuleInput {
            conditions: newsdesk_domain::routing::Conditions {
                keywords: keywords.iter().map(|k| k.to_string()).collect(),
                ..Default::default()
            },
            desk_id,
            auto_fetch: false,
            section_id: None,
        };
        let audit = newsdesk_storage::AuditEntry::system("test", "routing.create", "routing_rule", "", "");
        db.store.create_routing_rule(&rule(weather.id, &["floods"]), &audit).await.expect("rule");
        db.store.create_routing_rule(&rule(finance.id, &[]), &audit).await.expect("rule");
        let out = newsdesk(&db, dir.path(), &[arg(&fixture("nitf.xml")), arg(&fixture(IPTC[0]))]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            "urn:example:wire:storm-2026-001\t3\tStorm & floods close the coast road\tcreated, routed to Weather\n\
             urn:newsml:acmenews.com:20161018:US-FINANCE-FED\t11\tFed to halt QE to avert \"bubble\"\tcreated, routed to Finance\n"
        );
        // Again: nothing new, nothing routed again.
        let again = newsdesk(&db, dir.path(), &[arg(&fixture("nitf.xml"))]);
        assert!(text(&again.stdout).ends_with("\tunchanged\n"), "{}", text(&again.stdout));
    }
}
