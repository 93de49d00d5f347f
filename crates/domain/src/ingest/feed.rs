//! Syndication feeds as wires: RSS (0.9x, 1.0, 2.0), Atom 1.0 and JSON Feed
//! 1.x, read with the `feed-rs` crate into [`IncomingItem`]s, one per entry.
//!
//! Feeds carry no versions: each entry is version 1, and its guid is the
//! entry's id (RSS `guid`, Atom `id`, JSON Feed `id`), else a stable hash of
//! its link and title (feed-rs's own). An entry without a title is headed by
//! the start of its summary or text. Bodies (`content:encoded`, Atom
//! `content`, `content_html`; else the summary) go through our story
//! sanitizer; categories become keywords; enclosures and Media RSS contents
//! become renditions (described, never fetched).
//!
//! A feed is taken whole or not at all: an XML or JSON error, or an entry that
//! cannot be told apart from the others (no id, link or title) or has no text
//! at all, refuses the document with `line:col` (XML) or a JSON path.

use feed_rs::model::{Content, Entry, Feed, FeedType, Text};
use feed_rs::parser::{self, ParseErrorKind, ParseFeedError};

use super::{Format, IncomingItem, IngestError, Rendition, clean_html, collapse, text_html, xml};

/// Longest headline made from a summary when an entry has no title.
const HEADLINE_FROM_SUMMARY: usize = 120;

/// Reads an RSS, Atom or JSON Feed document (bytes as fetched: the XML
/// encoding declaration is honoured) into its items, in document order.
pub fn parse_feed(bytes: &[u8]) -> Result<Vec<IncomingItem>, IngestError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).ok();
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let tree = match (first, text) {
        (None, _) => return Err(IngestError::text(1, 1, "empty file")),
        // Our own reader first: it names the line and column of an XML error.
        (Some(b'<'), Some(text)) => Some(xml::parse(text)?),
        (Some(b'<' | b'{'), _) => None,
        (Some(_), _) => return Err(IngestError::text(1, 1, "not a feed: neither XML nor JSON")),
    };
    if let Some(root) = &tree
        && !matches!(root.name.as_str(), "rss" | "RDF" | "feed")
    {
        return Err(root.error(format!(
            "not a feed: the root element is <{}> (expected RSS <rss> or <rdf:RDF>, or Atom <feed>)",
            root.name
        )));
    }
    let feed = parser::Builder::new()
        .sanitize_content(false)
        .id_generator(stable_id)
        .build()
        .parse(bytes)
        .map_err(|e| feed_error(bytes, e))?;
    let format = match feed.feed_type {
        FeedType::Atom => Format::Atom,
        FeedType::JSON => Format::JsonFeed,
        FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2 => Format::Rss,
    };
    let places = entry_places(tree.as_ref(), feed.entries.len(), format);
    feed.entries
        .iter()
        .zip(places)
        .map(|(entry, at)| item(&feed, entry, format).map_err(|reason| IngestError { at: at.clone(), reason }))
        .collect()
}

/// Entry ids where the feed gives none: feed-rs's hash of the first link and
/// the title, else of the title alone; never a random one (a poll would
/// then see a new item each time). Empty when there is neither.
fn stable_id(links: &[feed_rs::model::Link], title: &Option<Text>, uri: Option<&str>) -> String {
    match (links.first(), title) {
        (Some(link), _) => parser::generate_id_from_link_and_title(link, title),
        (None, Some(t)) if !t.content.trim().is_empty() => {
            parser::generate_id_from_uri_and_title(uri.unwrap_or_default(), t)
        }
        _ => String::new(),
    }
}

/// Where each entry starts: its element's line and column in an XML feed, its
/// JSON path in a JSON Feed.
fn entry_places(tree: Option<&xml::Element>, count: usize, format: Format) -> Vec<super::Position> {
    let from_tree: Vec<super::Position> = match tree {
        Some(root) if root.name == "rss" => {
            root.child("channel").into_iter().flat_map(|c| c.all("item")).map(place).collect()
        }
        Some(root) if root.name == "RDF" => root.all("item").map(place).collect(),
        Some(root) => root.all("entry").map(place).collect(),
        None => Vec::new(),
    };
    (0..count)
        .map(|i| match from_tree.get(i) {
            Some(p) => p.clone(),
            None if format == Format::JsonFeed => super::Position::Json(format!("$.items[{i}]")),
            None => super::Position::Text { line: 1, col: 1 },
        })
        .collect()
}

fn place(el: &xml::Element) -> super::Position {
    super::Position::Text { line: el.line, col: el.col }
}

/// A feed-rs error with the place it names, if any.
fn feed_error(bytes: &[u8], e: ParseFeedError) -> IngestError {
    let at = |pos: u64, reason: String| {
        let (line, col) = xml::line_col(bytes, usize::try_from(pos).unwrap_or(usize::MAX));
        IngestError::text(line, col, reason)
    };
    match e {
        ParseFeedError::JsonSerde(e) => IngestError::text(e.line().max(1), e.column().max(1), format!("JSON: {e}")),
        ParseFeedError::JsonUnsupportedVersion(v) => IngestError::json(
            "$.version",
            format!("`{v}` is not a JSON Feed version (expected https://jsonfeed.org/version/1 or 1.1)"),
        ),
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => IngestError::text(
            1,
            1,
            "not a feed: expected RSS (<rss version=\"2.0\">, <rdf:RDF>), Atom (<feed>) or JSON Feed",
        ),
        ParseFeedError::ParseError(
            ParseErrorKind::UnknownMimeType { position, .. }
            | ParseErrorKind::MissingContent { position, .. }
            | ParseErrorKind::UnknownEnumVariant { position, .. }
            | ParseErrorKind::IllegalState { position, .. },
        ) => at(position, e.to_string()),
        ParseFeedError::IoError(_) | ParseFeedError::XmlReader(_) => IngestError::text(1, 1, e.to_string()),
    }
}

/// HTML or XHTML (`text/html`, `application/xhtml+xml`), not plain text.
fn markup(media_type: &impl AsRef<str>) -> bool {
    let essence = media_type.as_ref().split(';').next().unwrap_or_default().to_ascii_lowercase();
    essence.contains("html") || essence.contains("xml")
}

/// A text as plain text, whatever its type.
fn plain(t: &Text) -> String {
    if markup(&t.content_type) { super::ninjs::html_text(&t.content) } else { collapse(&t.content) }
}

/// A text as sanitized HTML.
fn html(t: &Text) -> String {
    if markup(&t.content_type) { clean_html(&t.content) } else { text_html(&t.content) }
}

fn content_html(c: &Content) -> String {
    let Some(body) = c.body.as_deref() else { return String::new() };
    if markup(&c.content_type) { clean_html(body) } else { text_html(body) }
}

/// The first `max` characters of `s`, cut at a word, with an ellipsis when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end())
}

fn item(feed: &Feed, entry: &Entry, format: Format) -> Result<IncomingItem, String> {
    let mut item = IncomingItem::new(format);
    item.guid = entry.id.trim().to_string();
    if item.guid.is_empty() {
        return Err("the entry has no id, link or title, so it cannot be told apart from the others".into());
    }
    item.description = entry.summary.as_ref().map(plain).unwrap_or_default();
    item.body_html = entry.content.as_ref().map(content_html).unwrap_or_default();
    if item.body_html.is_empty() {
        item.body_html = entry.summary.as_ref().map(html).unwrap_or_default();
    }
    item.headline = entry.title.as_ref().map(plain).unwrap_or_default();
    if item.headline.is_empty() {
        let text = if item.description.is_empty() {
            super::ninjs::html_text(&item.body_html)
        } else {
            item.description.clone()
        };
        item.headline = shorten(&text, HEADLINE_FROM_SUMMARY);
    }
    if item.headline.is_empty() && item.body_html.is_empty() {
        return Err("the entry has no title, summary or content".into());
    }
    let authors = if entry.authors.is_empty() { &feed.authors } else { &entry.authors };
    item.byline = authors
        .iter()
        .map(|p| {
            collapse(p.name.as_deref().filter(|n| !n.trim().is_empty()).or(p.email.as_deref()).unwrap_or_default())
        })
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    item.language = entry.language.clone().or_else(|| feed.language.clone()).unwrap_or_default().trim().to_string();
    for c in &entry.categories {
        let word = collapse(c.label.as_deref().filter(|l| !l.trim().is_empty()).unwrap_or(&c.term));
        if !word.is_empty() && !item.keywords.contains(&word) {
            item.keywords.push(word);
        }
    }
    // The entry's page: RSS <link>, Atom rel="alternate" (or no rel), JSON Feed url.
    item.link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .map(|l| l.href.trim().to_string())
        .unwrap_or_default();
    item.first_created = entry.published.or(entry.updated);
    item.version_created = entry.updated.or(entry.published);
    for link in entry.links.iter().filter(|l| l.rel.as_deref() == Some("enclosure")) {
        item.renditions.push(Rendition {
            name: "enclosure".into(),
            href: link.href.clone(),
            mime: link.media_type.clone().unwrap_or_default(),
            ..Rendition::default()
        });
    }
    for media in &entry.media {
        for c in &media.content {
            let Some(url) = &c.url else { continue };
            if item.renditions.iter().any(|r| r.href == url.as_str()) {
                continue;
            }
            item.renditions.push(Rendition {
                name: "media".into(),
                href: url.to_string(),
                width: c.width,
                height: c.height,
                mime: c.content_type.as_ref().map(|m| m.to_string()).unwrap_or_default(),
            });
        }
        for t in &media.thumbnails {
            item.renditions.push(Rendition {
                name: "thumbnail".into(),
                href: t.image.uri.clone(),
                width: t.image.width,
                height: t.image.height,
                mime: String::new(),
            });
        }
    }
    Ok(item)
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
