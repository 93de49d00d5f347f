use proptest::prelude::*;

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../newsdesk/tests/fixtures/ingest/", $name))
    };
}

/// IPTC's own examples (NewsML-G2 guidelines), as shipped in shared/schemas/newsml-g2/examples.
const IPTC: &[(&str, &str)] = &[
    ("LISTING_1", fixture!("iptc/LISTING_1_A_NewsML-G2_News_Item.xml")),
    ("LISTING_2", fixture!("iptc/LISTING_2_NewsML-G2_Text_Document.xml")),
    ("LISTING_3", fixture!("iptc/LISTING_3_Photo_in_NewsML-G2.xml")),
    ("LISTING_25", fixture!("iptc/LISTING_25_An_NITF_marked-up_article_conveyed_in_inlineXML.xml")),
    ("LISTING_26", fixture!("iptc/LISTING_26_Embedded_photo_metadata_fields_mapped_to_NewsML-G2.xml")),
    ("LISTING_28", fixture!("iptc/LISTING_28_Illustrating_Located_Subject_and_Dateline.xml")),
];

const NITF: &str = fixture!("nitf.xml");
const MESSAGE: &str = fixture!("newsmessage.xml");
const NINJS1: &str = fixture!("ninjs1.json");
const NINJS2: &str = fixture!("ninjs2.json");
const NINJS3: &str = fixture!("ninjs3.json");

fn one(text: &str) -> IncomingItem {
    let doc = parse(text.as_bytes()).expect("parses");
    assert_eq!(doc.items.len(), 1);
    doc.items.into_iter().next().expect("one").expect("taken in")
}

fn time(s: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(s).expect("test time").with_timezone(&Utc))
}

#[test]
fn iptc_text_item_with_nitf_body() {
    let item = one(IPTC[1].1);
    assert_eq!(item.format, Format::NewsmlG2);
    assert_eq!(item.guid, "urn:newsml:acmenews.com:20161121:US-FINANCE-FED");
    assert_eq!(item.version, 11);
    assert_eq!(item.kind, "text");
    assert_eq!(item.headline, "Fed to halt QE to avert \"bubble\"");
    assert_eq!(item.slugline, "US-Finance-Fed");
    assert_eq!(item.language, "en-US");
    assert_eq!(item.located, "New York, NY");
    assert_eq!(item.byline, "By Meredith Jameson, Staff Reporter", "the NITF byline before the creators");
    assert_eq!(item.version_created, time("2018-11-21T21:25:32Z"));
    assert_eq!(item.pub_status, PubStatus::Usable);
    assert_eq!(item.subjects.len(), 3);
    assert_eq!(item.subjects[1], Subject { code: "medtop:20000350".into(), name: "central bank".into() });
    assert!(item.body_html.starts_with("<p>(New York, NY - October 21) Et, sent luptat"), "{}", item.body_html);
    assert_eq!(item.body_html.matches("<p>").count(), 2);
}

#[test]
fn iptc_item_with_embargo_and_empty_inline_xml() {
    let item = one(IPTC[0].1);
    assert_eq!(item.guid, "urn:newsml:acmenews.com:20161018:US-FINANCE-FED");
    assert_eq!(item.first_created, time("2016-10-18T18:12:21Z"));
    assert_eq!(item.embargoed, time("2018-10-23T12:00:00Z"));
    assert_eq!(item.located, "Berlin");
    assert_eq!(item.language, "en-GB");
    assert_eq!(item.subjects[1].name, "labour market", "the name in the item's language");
    assert_eq!(item.body_html, "");
}

#[test]
fn iptc_pictures_give_their_renditions() {
    let item = one(IPTC[2].1);
    assert_eq!(item.kind, "picture");
    assert_eq!(item.guid, "tag:gettyimages.com,2010:GYI0062134533");
    assert_eq!(item.headline, "Variety Of Recessionary Forces Leave Las Vegas Economy Scarred");
    assert_eq!(item.version_created, time("2018-10-12T06:42:04Z"), "trailing space tolerated");
    assert_eq!(item.keywords.len(), 7);
    assert!(item.description.starts_with("A general view of part of downtown, including"));
    assert_eq!(item.byline, "Spencer Platt");
    assert_eq!(item.renditions.len(), 3);
    assert_eq!(
        item.renditions[0],
        Rendition {
            name: "highRes".into(),
            href: "./GYI0062134533.jpg".into(),
            width: Some(1500),
            height: Some(1001),
            mime: "image/jpeg".into()
        }
    );
    assert_eq!(item.renditions[2].mime, "image/gif");
    let item = one(IPTC[4].1);
    assert_eq!(item.urgency, Some(4));
    assert_eq!(item.slugline, "USA-CRASH/MILITARY");
    assert_eq!(item.subjects, vec![Subject { code: "int001".into(), name: String::new() }]);
    assert_eq!(item.renditions[0].width, Some(2500));
}

#[test]
fn iptc_fragments_are_refused_with_the_reason() {
    for (name, text) in &IPTC[3..] {
        let doc = parse(text.as_bytes());
        if *name == "LISTING_26" {
            assert!(doc.is_ok(), "{name}");
            continue;
        }
        let e = doc.expect_err(name);
        assert_eq!(e.at, Position::Text { line: 1, col: 1 }, "{name}");
        assert!(e.reason.starts_with("not a news document: the root element is <"), "{name}: {e}");
    }
}

#[test]
fn package_and_concept_items_are_refused() {
    let pkg = IPTC[1].1.replace("<newsItem", "<packageItem").replace("</newsItem>", "</packageItem>");
    let e = parse(pkg.as_bytes()).expect_err("package");
    assert!(e.reason.contains("packageItem"), "{e}");
    assert_eq!(e.to_string(), format!("2:1: {}", e.reason));
    let concept = "<conceptItem guid=\"x\"/>";
    assert!(parse(concept.as_bytes()).expect_err("concept").reason.contains("concepts"));
}

#[test]
fn a_news_message_gives_each_item_and_refuses_its_package() {
    let doc = parse(MESSAGE.as_bytes()).expect("parses");
    assert_eq!(doc.items.len(), 3);
    let first = doc.items[0].as_ref().expect("news item");
    assert_eq!((first.guid.as_str(), first.version, first.urgency), ("urn:example:wire:msg-1", 2, Some(3)));
    assert_eq!(first.language, "fr");
    assert_eq!(first.body_html, "<h2>Titre</h2><p>Texte <b>gras</b>.</p><p>Fin</p>");
    let refused = doc.items[1].as_ref().expect_err("package");
    assert_eq!(refused.at, Position::Text { line: 25, col: 5 });
    let second = doc.items[2].as_ref().expect("news item");
    assert_eq!(second.pub_status, PubStatus::Canceled);
    assert!(second.body_html.starts_with("<p>Line one of the first paragraph.</p>"), "{}", second.body_html);
    assert!(second.body_html.ends_with("<p>Second paragraph.</p>"), "{}", second.body_html);
}

#[test]
fn nitf_document() {
    let item = one(NITF);
    assert_eq!(item.format, Format::Nitf);
    assert_eq!(item.guid, "urn:example:wire:storm-2026-001");
    assert_eq!((item.version, item.urgency), (3, Some(2)));
    assert_eq!(item.headline, "Storm & floods close the coast road");
    assert_eq!(item.byline, "By Jo Reporter");
    assert_eq!(item.dateline, "HARBOURTOWN, Dec. 3");
    assert_eq!(item.description, "The coast road is closed.");
    assert_eq!(item.language, "en");
    assert_eq!(item.keywords, ["storm", "coast"]);
    assert_eq!(item.subjects, vec![Subject { code: "17000000".into(), name: "weather".into() }]);
    assert_eq!(item.version_created, time("2026-12-03T10:15:00Z"));
    assert_eq!(item.embargoed, time("2026-12-03T11:00:00Z"));
    assert!(item.body_html.contains("<p>Rain fell all night <em>along</em> the coast.</p>"), "{}", item.body_html);
    assert!(item.body_html.contains("href=\"https://example.org/road\""));
    assert!(!item.body_html.contains("script") && !item.body_html.contains("javascript"), "{}", item.body_html);
    assert_eq!(item.body_html, crate::html::sanitize(&item.body_html), "the story sanitizer's output");
}

#[test]
fn ninjs_1_2_and_3() {
    let one1 = one(NINJS1);
    assert_eq!(one1.format, Format::Ninjs(1));
    assert_eq!((one1.guid.as_str(), one1.version, one1.urgency), ("urn:example:wire:ninjs1-item", 4, Some(5)));
    assert_eq!(one1.body_html, "<p>Body <strong>one</strong>.</p>");
    assert_eq!(one1.subjects[0].code, "medtop:04000000");
    assert_eq!(one1.keywords, ["economy", "oil"]);
    assert_eq!(
        one1.associations,
        vec![Association { name: "featuremedia".into(), guid: "urn:example:wire:pic-9".into() }]
    );
    assert_eq!(one1.renditions[0].width, Some(1200));
    assert_eq!(one1.embargoed, time("2026-12-04T00:00:00Z"));

    let two = one(NINJS2);
    assert_eq!(two.format, Format::Ninjs(2));
    assert_eq!((two.guid.as_str(), two.version), ("https://wire.example/items/ninjs2-item", 2));
    assert_eq!(two.headline, "عنوان اصلی خبر");
    assert_eq!(two.description, "خلاصه خبر");
    assert_eq!(two.body_html, "<p>متن <em>خبر</em></p>");
    assert_eq!(two.pub_status, PubStatus::Withheld);
    assert_eq!(two.subjects[1], Subject { code: "local-news".into(), name: "local".into() });
    assert_eq!(two.associations[0].guid, "https://wire.example/items/pic-7");

    let three = one(NINJS3);
    assert_eq!(three.format, Format::Ninjs(3));
    assert_eq!(three.kind, "picture");
    assert_eq!(three.embargoed, time("2026-12-03T18:00:00Z"));
    assert_eq!(three.description, "سفن في الميناء");
    assert_eq!(three.renditions.len(), 2);
    assert_eq!(three.renditions[1].mime, "image/jpeg");
    assert_eq!(three.renditions[1].height, Some(200));
}

#[test]
fn ninjs_version_from_the_shape_when_not_declared() {
    let v3 = r#"{"uri": "u", "versionCreated": "2026-01-01T00:00:00Z", "headlines": [{"value": "h"}]}"#;
    assert_eq!(one(v3).format, Format::Ninjs(3));
    assert_eq!(one(v3).headline, "h");
    let v2 = r#"{"uri": "u", "headlines": [{"value": "h"}]}"#;
    assert_eq!(one(v2).format, Format::Ninjs(2));
    let v1 = r#"{"guid": "g", "headline": "h"}"#;
    assert_eq!(one(v1).format, Format::Ninjs(1));
    let schema = r#"{"$schema": "http://www.iptc.org/std/ninjs/ninjs-schema_1.3.json", "uri": "u", "headline": "h"}"#;
    assert_eq!(one(schema).format, Format::Ninjs(1));
    let e = parse(br#"{"uri": "u", "standard": {"version": "4.0"}}"#).expect_err("v4");
    assert_eq!(e.to_string(), "$.standard.version: ninjs version `4.0` is not supported (1.x, 2.x and 3.x are)");
}

#[test]
fn bad_values_are_refused_with_where() {
    let e = parse(NINJS2.replace("\"urgency\": 1", "\"urgency\": 12").as_bytes()).expect_err("urgency");
    assert_eq!(e.to_string(), "$.urgency: urgency `12` is not a number from 1 to 9");
    let e = parse(NINJS3.replace("\"width\": 300,", "\"width\": \"wide\",").as_bytes()).expect_err("width");
    assert_eq!(e.to_string(), "$.renditions[1].width: `wide` is not a whole number of pixels");
    let e =
        parse(NINJS2.replace("\"uri\": \"https://wire.example/items/ninjs2-item\",", "").as_bytes()).expect_err("uri");
    assert_eq!(e.to_string(), "$.uri: missing: a ninjs item needs its uri (or guid)");
    let e = parse(b"{\"uri\": \"u\",\n  \"headlines\": [}").expect_err("json");
    assert!(matches!(e.at, Position::Text { line: 2, .. }), "{e}");
    let e = parse(IPTC[1].1.replace("2018-11-21T16:25:32-05:00", "yesterday").as_bytes()).expect_err("date");
    assert_eq!(e.at, Position::Text { line: 25, col: 9 });
    assert!(e.reason.contains("`yesterday` is not a date"), "{e}");
    let e = parse(IPTC[1].1.replace("</headline>", "</hedline>").as_bytes()).expect_err("tags");
    assert!(matches!(e.at, Position::Text { line: 51, .. }), "{e}");
    let e =
        parse(NITF.replace("<doc-id id-string=\"urn:example:wire:storm-2026-001\"/>", "").as_bytes()).expect_err("id");
    assert!(e.reason.contains("no guid"), "{e}");
    let cut = NITF.find("<body.content>").expect("body");
    let e = parse(&NITF.as_bytes()[..cut]).expect_err("cut");
    assert!(e.reason.starts_with("the file ends inside <body> (opened at 20:3)"), "{e}");
    let e = parse(&NITF.as_bytes()[..400]).expect_err("cut in a tag");
    assert!(matches!(e.at, Position::Text { line: 9, .. }), "{e}");
    assert_eq!(parse(b"\xff\xfe<a/>").expect_err("utf8").reason, "not UTF-8 text");
    assert_eq!(parse(b"  ").expect_err("empty").reason, "empty file");
}

/// The fixtures, real and ours, cut and changed anywhere.
fn samples() -> Vec<&'static str> {
    let mut all: Vec<&str> = IPTC.iter().map(|(_, t)| *t).collect();
    all.extend([NITF, MESSAGE, NINJS1, NINJS2, NINJS3]);
    all
}

proptest! {
    #[test]
    fn any_bytes_give_an_answer_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn any_text_behind_a_root_gives_an_answer(tail in "[<>/a-zA-Z=\"&;#0-9 \n{}\\[\\]:,]{0,400}") {
        let _ = parse(format!("<newsItem guid=\"g\">{tail}").as_bytes());
        let _ = parse(format!("<nitf>{tail}").as_bytes());
        let _ = parse(format!("{{\"uri\": \"u\", {tail}").as_bytes());
    }

    #[test]
    fn damaged_real_documents_are_refused_or_read_never_a_panic(
        which in 0usize..11,
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        drop_len in 0usize..20,
    ) {
        let doc = samples()[which].as_bytes();
        let _ = parse(&doc[..cut.index(doc.len() + 1)]);
        let mut changed = doc.to_vec();
        let i = at.index(changed.len());
        changed[i] = byte;
        if let Err(e) = parse(&changed) {
            prop_assert!(!e.reason.is_empty());
        }
        let mut dropped = doc.to_vec();
        let end = (i + drop_len).min(dropped.len());
        dropped.drain(i..end);
        let _ = parse(&dropped);
    }
}

#[test]
fn a_large_news_message_is_read_in_linear_time() {
    let item = "<newsItem guid=\"g{n}\" version=\"1\"><contentMeta><headline>H {n}</headline></contentMeta>\n<contentSet><inlineXML><html><body><p>text</p></body></html></inlineXML></contentSet></newsItem>\n";
    let items: String = (0..20_000).map(|n| item.replace("{n}", &n.to_string())).collect();
    let doc = format!("<newsMessage><itemSet>\n{items}</itemSet></newsMessage>");
    let started = std::time::Instant::now();
    let parsed = parse(doc.as_bytes()).expect("parses");
    assert_eq!(parsed.items.len(), 20_000);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    let last = parsed.items.last().expect("last").as_ref().expect("item");
    assert_eq!(last.headline, "H 19999");
}
