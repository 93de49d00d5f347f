//! Other agencies' wires coming in: IPTC NewsML-G2 news items (alone or in a
//! `newsMessage`), NITF 3.x documents, ninjs 1.x, 2.x and 3.x JSON, and
//! syndication feeds (RSS, Atom, JSON Feed: [`parse_feed`]), each read into
//! one source-independent [`IncomingItem`]. The format is told
//! from the content (root element, JSON), never from a file name. Bodies are
//! cleaned by the same sanitizer as our own stories ([`crate::html::sanitize`]);
//! pictures are described by their renditions, nothing is fetched. No I/O.
//!
//! A malformed document is an [`IngestError`] naming where (`line:col` in XML,
//! a JSON path in ninjs); items that are well-formed but not news items
//! (NewsML-G2 package, concept, planning items) are refused one by one with
//! their reason.

mod feed;
mod newsml;
mod ninjs;
mod nitf;
mod xml;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

pub use feed::parse_feed;

/// Where in the input a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// 1-based line and column (in characters) of an XML document.
    Text {
        /// Line.
        line: usize,
        /// Column.
        col: usize,
    },
    /// A JSON path (`$.headlines[0].value`) of a ninjs document.
    Json(String),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Text { line, col } => write!(f, "{line}:{col}"),
            Position::Json(path) => f.write_str(path),
        }
    }
}

/// Why a document or an item is not taken in, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {reason}")]
pub struct IngestError {
    /// Where.
    pub at: Position,
    /// What is wrong.
    pub reason: String,
}

impl IngestError {
    pub(crate) fn text(line: usize, col: usize, reason: impl Into<String>) -> IngestError {
        IngestError { at: Position::Text { line, col }, reason: reason.into() }
    }

    pub(crate) fn json(path: &str, reason: impl Into<String>) -> IngestError {
        IngestError { at: Position::Json(path.to_string()), reason: reason.into() }
    }
}

/// The format a document came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Format {
    /// IPTC NewsML-G2 (`newsItem`, `newsMessage`).
    NewsmlG2,
    /// IPTC NITF 3.x.
    Nitf,
    /// IPTC ninjs, with its major version (1, 2 or 3).
    Ninjs(u8),
    /// RSS 0.9x, 1.0 or 2.0.
    Rss,
    /// Atom 1.0.
    Atom,
    /// JSON Feed 1.x.
    JsonFeed,
}

impl Format {
    /// A short stable name: `newsml-g2`, `nitf`, `ninjs1`, `ninjs2`, `ninjs3`,
    /// `rss`, `atom`, `jsonfeed`.
    pub fn code(self) -> String {
        match self {
            Format::NewsmlG2 => "newsml-g2".into(),
            Format::Nitf => "nitf".into(),
            Format::Ninjs(v) => format!("ninjs{v}"),
            Format::Rss => "rss".into(),
            Format::Atom => "atom".into(),
            Format::JsonFeed => "jsonfeed".into(),
        }
    }
}

/// Whether the item may be used (IPTC publishing status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PubStatus {
    /// May be published.
    #[default]
    Usable,
    /// Must not be used for now.
    Withheld,
    /// Killed: must not be used, and taken down where it was.
    Canceled,
}

impl PubStatus {
    /// `usable`, `withheld` or `canceled`.
    pub fn as_str(self) -> &'static str {
        match self {
            PubStatus::Usable => "usable",
            PubStatus::Withheld => "withheld",
            PubStatus::Canceled => "canceled",
        }
    }

    /// From a ninjs value or the code part of a NewsML-G2 QCode (`stat:usable`);
    /// `stat:cancelled` and `canceled` both mean [`PubStatus::Canceled`].
    pub fn parse(s: &str) -> Option<PubStatus> {
        let code = s.trim().rsplit(':').next().unwrap_or_default().to_ascii_lowercase();
        match code.as_str() {
            "usable" => Some(PubStatus::Usable),
            "withheld" => Some(PubStatus::Withheld),
            "canceled" | "cancelled" => Some(PubStatus::Canceled),
            _ => None,
        }
    }
}

/// A subject the item is about: a code of a controlled vocabulary (QCode,
/// URI or literal) and its name when the source gives one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// `medtop:04000000`, a URI, or a free literal.
    pub code: String,
    /// Human-readable name (may be empty).
    pub name: String,
}

/// One rendition of a picture (or other media) item: where it is and what it
/// is. Only described; never fetched here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rendition {
    /// Rendition name (`highRes`, `web`, `thumb`, ...).
    pub name: String,
    /// Its address as the source gives it.
    pub href: String,
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// Media type (`image/jpeg`).
    pub mime: String,
}

/// Another item this one refers to (ninjs associations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Association {
    /// Name of the association (`featuremedia`, ...).
    pub name: String,
    /// Identifier of the associated item.
    pub guid: String,
}

/// One news item from another agency, whatever format it came in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncomingItem {
    /// The format it came in.
    pub format: Format,
    /// Globally unique identifier, the same for every version.
    pub guid: String,
    /// Version number (1 when the source gives none).
    pub version: u32,
    /// `text`, `picture`, `video`, ... (IPTC news item nature; `text` when not said).
    pub kind: String,
    /// 1 (most urgent) to 9.
    pub urgency: Option<u8>,
    /// Headline (whitespace collapsed).
    pub headline: String,
    /// Slugline.
    pub slugline: String,
    /// Byline.
    pub byline: String,
    /// Dateline as written (`MOSCOW, Monday (Reuters)`).
    pub dateline: String,
    /// Where the story happened (a place name, else its code).
    pub located: String,
    /// BCP 47 language tag.
    pub language: String,
    /// Subjects.
    pub subjects: Vec<Subject>,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Summary, lead or caption, as plain text.
    pub description: String,
    /// Body as sanitized HTML (empty for pictures without text).
    pub body_html: String,
    /// When the first version was created.
    pub first_created: Option<DateTime<Utc>>,
    /// When this version was created.
    pub version_created: Option<DateTime<Utc>>,
    /// Publishing status.
    pub pub_status: PubStatus,
    /// Not to be published before this time.
    pub embargoed: Option<DateTime<Utc>>,
    /// Renditions of a picture (or other media) item.
    pub renditions: Vec<Rendition>,
    /// Associated items.
    pub associations: Vec<Association>,
    /// The item's own web page, when the source gives one (a feed entry's
    /// link); `newsdesk import feed` redirects its path to the new story.
    pub link: String,
}

impl IncomingItem {
    fn new(format: Format) -> IncomingItem {
        IncomingItem {
            format,
            guid: String::new(),
            version: 1,
            kind: "text".into(),
            urgency: None,
            headline: String::new(),
            slugline: String::new(),
            byline: String::new(),
            dateline: String::new(),
            located: String::new(),
            language: String::new(),
            subjects: Vec::new(),
            keywords: Vec::new(),
            description: String::new(),
            body_html: String::new(),
            first_created: None,
            version_created: None,
            pub_status: PubStatus::Usable,
            embargoed: None,
            renditions: Vec::new(),
            associations: Vec::new(),
            link: String::new(),
        }
    }
}

/// An item of a document: taken in, or refused with its reason (a package
/// item inside a `newsMessage`, ...).
pub type Entry = Result<IncomingItem, IngestError>;

/// What a document holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its format.
    pub format: Format,
    /// Its items, in document order.
    pub items: Vec<Entry>,
}

/// Reads a document of any supported format, told from its content. A feed
/// in another encoding than UTF-8 is read as its XML declaration says.
pub fn parse(bytes: &[u8]) -> Result<Document, IngestError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            if let Ok(items) = parse_feed(bytes) {
                return Ok(feed_document(items));
            }
            let (line, col) = xml::line_col(bytes, e.valid_up_to());
            return Err(IngestError::text(line, col, "not UTF-8 text"));
        }
    };
    match text.trim_start().chars().next() {
        Some('{') if is_json_feed(text) => parse_feed(bytes).map(feed_document),
        Some('{' | '[') => ninjs::parse(text),
        Some('<') => xml_document(text),
        Some(_) => Err(IngestError::text(1, 1, "not a news document: neither XML nor JSON")),
        None => Err(IngestError::text(1, 1, "empty file")),
    }
}

/// A JSON object whose `version` is a JSON Feed version URL.
fn is_json_feed(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Version {
        version: Option<serde_json::Value>,
    }
    serde_json::from_str::<Version>(text)
        .ok()
        .and_then(|v| v.version)
        .is_some_and(|v| v.as_str().is_some_and(|s| s.contains("jsonfeed.org/version/")))
}

fn feed_document(items: Vec<IncomingItem>) -> Document {
    let format = items.first().map_or(Format::Rss, |i| i.format);
    Document { format, items: items.into_iter().map(Ok).collect() }
}

fn xml_document(text: &str) -> Result<Document, IngestError> {
    let root = xml::parse(text)?;
    match root.name.as_str() {
        "rss" | "RDF" | "feed" => parse_feed(text.as_bytes()).map(feed_document),
        "newsItem" => Ok(Document { format: Format::NewsmlG2, items: vec![Ok(newsml::news_item(&root)?)] }),
        "newsMessage" => Ok(Document { format: Format::NewsmlG2, items: newsml::news_message(&root)? }),
        "nitf" => Ok(Document { format: Format::Nitf, items: vec![Ok(nitf::document(&root)?)] }),
        name if newsml::OTHER_ITEMS.contains(&name) => Err(root.error(newsml::refusal(name))),
        name => Err(root.error(format!(
            "not a news document: the root element is <{name}> (expected a NewsML-G2 newsItem or newsMessage, or NITF)"
        ))),
    }
}

/// Outside HTML as our own stories' bodies are: through the story sanitizer
/// ([`crate::html::sanitize`]), without surrounding whitespace.
pub(crate) fn clean_html(html: &str) -> String {
    crate::html::sanitize(html).trim().to_string()
}

/// Plain text as HTML paragraphs.
pub(crate) fn text_html(text: &str) -> String {
    crate::html::text_to_html(text).trim().to_string()
}

/// Whitespace runs as one space, trimmed.
pub(crate) fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A time as the formats write it: RFC 3339 / ISO 8601 extended
/// (`2018-10-21T16:25:32-05:00`), ISO 8601 basic as in NITF
/// (`20181021T162532-0500`, `...Z`), or a date alone (midnight UTC). A time
/// without a zone is taken as UTC.
pub(crate) fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y%m%dT%H%M%S%z", "%Y%m%dT%H%M%S%#z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(s, f) {
            return Ok(t.with_timezone(&Utc));
        }
    }
    let bare = s.strip_suffix('Z').unwrap_or(s);
    for f in ["%Y%m%dT%H%M%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y%m%dT%H%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(bare, f) {
            return Ok(t.and_utc());
        }
    }
    for f in ["%Y-%m-%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(bare, f) {
            return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
        }
    }
    Err(format!("`{s}` is not a date and time (expected ISO 8601, e.g. 2018-10-21T16:25:32-05:00)"))
}

/// A version number: a positive integer.
pub(crate) fn parse_version(s: &str) -> Result<u32, String> {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("version `{}` is not a positive whole number", s.trim()))
}

/// An urgency: 1 (most urgent) to 9.
pub(crate) fn parse_urgency(s: &str) -> Result<u8, String> {
    s.trim()
        .parse::<u8>()
        .ok()
        .filter(|u| (1..=9).contains(u))
        .ok_or_else(|| format!("urgency `{}` is not a number from 1 to 9", s.trim()))
}

/// The code part of a QCode (`ninat:picture` → `picture`).
pub(crate) fn qcode_code(s: &str) -> &str {
    let s = s.trim();
    s.rsplit_once(':').map_or(s, |(_, c)| c)
}

#[cfg(test)]
mod tests;
