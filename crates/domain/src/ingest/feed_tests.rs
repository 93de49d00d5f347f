use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::super::{Document, Format, Position, parse};
use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../newsdesk/tests/fixtures/ingest/feeds/", $name))
    };
}

const RSS: &str = fixture!("rss2.xml");
const ATOM: &str = fixture!("atom.xml");
const JSON: &str = fixture!("feed.json");

fn time(s: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(s).expect("test time").with_timezone(&Utc))
}

#[test]
fn rss_items_with_content_sanitized_like_our_stories() {
    let items = parse_feed(RSS.as_bytes()).expect("parses");
    assert_eq!(items.len(), 2);
    let first = &items[0];
    assert_eq!(first.format, Format::Rss);
    assert_eq!(first.guid, "wire-example-20261203-0001");
    assert_eq!(first.version, 1);
    assert_eq!(first.headline, "Ceasefire agreed after talks in Geneva");
    assert_eq!(first.byline, "Jane Reporter");
    assert_eq!(first.language, "en-gb");
    assert_eq!(first.keywords, ["World", "Diplomacy"]);
    assert_eq!(first.description, "Both sides agreed to a ceasefire starting at midnight.");
    assert_eq!(first.first_created, time("2026-12-03T09:15:00Z"));
    assert!(
        first.body_html.starts_with("<p>GENEVA – Both sides agreed to a <strong>ceasefire</strong>"),
        "{}",
        first.body_html
    );
    assert!(!first.body_html.contains("script") && !first.body_html.contains("onclick"), "{}", first.body_html);
    assert!(!first.body_html.contains("javascript:"), "{}", first.body_html);
    assert_eq!(first.renditions.len(), 1);
    assert_eq!(first.renditions[0].href, "https://wire.example/photos/geneva.jpg");
    assert_eq!(first.renditions[0].mime, "image/jpeg");
}

#[test]
fn rss_item_without_guid_gets_a_stable_one_and_its_description_as_body() {
    let once = parse_feed(RSS.as_bytes()).expect("parses");
    let again = parse_feed(RSS.as_bytes()).expect("parses");
    let second = &once[1];
    assert!(!second.guid.is_empty());
    assert_eq!(second.guid, again[1].guid, "the same entry keeps its guid from poll to poll");
    assert_eq!(second.description, "Shares rose in early trading.");
    assert_eq!(second.body_html, "<p>Shares rose in <em>early</em> trading.</p>");
}

#[test]
fn atom_entry_with_html_title_and_content() {
    let items = parse_feed(ATOM.as_bytes()).expect("parses");
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item.format, Format::Atom);
    assert_eq!(item.guid, "tag:agence.example,2026-12-03:/accord");
    assert_eq!(item.headline, "Accord historique à Genève");
    assert_eq!(item.byline, "Marie Journaliste");
    assert_eq!(item.keywords, ["Monde"]);
    assert_eq!(item.first_created, time("2026-12-03T08:00:00Z"));
    assert_eq!(item.version_created, time("2026-12-03T10:30:02Z"));
    assert!(item.body_html.contains(r#"<img src="https://agence.example/a.jpg">"#), "{}", item.body_html);
    assert!(!item.body_html.contains("iframe") && !item.body_html.contains("onerror"), "{}", item.body_html);
}

#[test]
fn json_feed_items_with_html_and_text_content() {
    let items = parse_feed(JSON.as_bytes()).expect("parses");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].format, Format::JsonFeed);
    assert_eq!(items[0].guid, "https://json.example/items/42");
    assert_eq!(items[0].headline, "Lluvias en Valencia");
    assert_eq!(items[0].byline, "Redacción", "the feed's authors when the item has none");
    assert_eq!(items[0].language, "es");
    assert_eq!(items[0].keywords, ["tiempo", "Valencia"]);
    assert_eq!(items[0].body_html, "<p>Fuertes lluvias en <b>Valencia</b>.</p>");
    assert_eq!(items[1].headline, "Sin título: un texto corto. Segundo párrafo.", "no title: from the text");
    assert_eq!(items[1].body_html.matches("<p>").count(), 2);
}

#[test]
fn any_format_reader_tells_feeds_from_their_content() {
    for (text, format) in [(RSS, Format::Rss), (ATOM, Format::Atom), (JSON, Format::JsonFeed)] {
        let Document { format: found, items } = parse(text.as_bytes()).expect("parses");
        assert_eq!(found, format);
        assert!(items.iter().all(Result::is_ok));
    }
}

#[test]
fn latin1_rss_is_read_as_its_declaration_says() {
    let mut bytes = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><channel><title>t</title><item><guid>g1</guid><title>Caf".to_vec();
    bytes.push(0xE9);
    bytes.extend_from_slice(b"</title></item></channel></rss>");
    let items = parse(&bytes).expect("read").items;
    assert_eq!(items[0].as_ref().expect("taken").headline, "Café");
}

#[test]
fn broken_xml_names_its_line() {
    let broken = RSS.replace("<title>Markets open higher</title>", "<title>Markets open higher</titel>");
    let e = parse_feed(broken.as_bytes()).expect_err("refused");
    let Position::Text { line, .. } = e.at else { panic!("a line: {e}") };
    assert_eq!(line, 21, "{e}");
}

#[test]
fn an_entry_that_cannot_be_told_apart_refuses_the_feed_at_its_line() {
    let feed = "<rss version=\"2.0\"><channel><title>t</title>\n<item><guid>a</guid><title>A</title></item>\n<item><description>no id, link or title</description></item>\n</channel></rss>";
    let e = parse_feed(feed.as_bytes()).expect_err("refused");
    assert_eq!(e.at, Position::Text { line: 3, col: 1 }, "{e}");
    assert!(e.reason.contains("no id, link or title"), "{e}");
}

#[test]
fn an_empty_entry_is_refused_with_its_json_path() {
    let feed = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1", "title": "One"}, {"id": "2"}]}"#;
    let e = parse_feed(feed.as_bytes()).expect_err("refused");
    assert_eq!(e.at, Position::Json("$.items[1]".into()), "{e}");
    assert!(e.reason.contains("no title, summary or content"), "{e}");
}

#[test]
fn not_a_feed_is_refused_with_a_reason() {
    for (doc, why) in [
        ("", "empty"),
        ("hello", "neither XML nor JSON"),
        ("<html><body/></html>", "root element is <html>"),
        (r#"{"version": "https://jsonfeed.org/version/9", "title": "t", "items": []}"#, "not a JSON Feed version"),
        (r#"{"version": "https://jsonfeed.org/version/1.1", "items": "#, "JSON"),
    ] {
        let e = parse_feed(doc.as_bytes()).expect_err(doc);
        assert!(e.to_string().contains(why), "{doc}: {e}");
    }
}

proptest! {
    #[test]
    fn any_bytes_give_a_feed_or_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = parse_feed(&bytes);
    }

    #[test]
    fn any_text_inside_a_feed_gives_an_answer(tail in "[<>/a-zA-Z=\"&;#0-9 \n{}\\[\\]:,]{0,400}") {
        let _ = parse_feed(format!("<rss version=\"2.0\"><channel><item>{tail}").as_bytes());
        let _ = parse_feed(format!("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>{tail}").as_bytes());
        let _ = parse_feed(format!("{{\"version\": \"https://jsonfeed.org/version/1.1\", \"items\": [{tail}").as_bytes());
    }

    #[test]
    fn damaged_real_feeds_are_refused_or_read_never_a_panic(
        which in 0usize..3,
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let doc = [RSS, ATOM, JSON][which].as_bytes();
        let _ = parse_feed(&doc[..cut.index(doc.len() + 1)]);
        let mut changed = doc.to_vec();
        let i = at.index(changed.len());
        changed[i] = byte;
        let _ = parse_feed(&changed);
    }
}
