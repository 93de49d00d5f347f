//! WordPress exports (WXR 1.0 to 1.2): read with a streaming XML reader
//! ([`parse`]), turned into stories, sections, tags, bylines, photos,
//! comments and redirects ([`plan`]), with bodies cleaned of block markup and
//! shortcodes ([`body`]). Everything not carried over is named with its
//! reason, so nothing is lost silently. No I/O: the caller reads the file and
//! the media, and stores what the plan says.

pub mod body;
pub mod plan;

use chrono::{DateTime, NaiveDateTime, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

/// Why a file is not a readable WordPress export, and on which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}: {reason}")]
pub struct WxrError {
    /// 1-based line of the file.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// A WordPress user named in the export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WxrAuthor {
    /// Login (what items name in `dc:creator`).
    pub login: String,
    /// Name shown on the old site.
    pub display_name: String,
}

/// A category (with its parent, by nicename).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WxrCategory {
    /// WordPress term id.
    pub term_id: i64,
    /// URL slug on the old site.
    pub nicename: String,
    /// Nicename of the parent category, empty at the top.
    pub parent: String,
    /// Display name.
    pub name: String,
}

/// A tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WxrTag {
    /// WordPress term id.
    pub term_id: i64,
    /// URL slug on the old site.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A term an item is filed under (`<category domain="..." nicename="...">`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemTerm {
    /// Taxonomy: `category`, `post_tag`, `post_format`, `nav_menu`, ...
    pub domain: String,
    /// Slug.
    pub nicename: String,
    /// Display name.
    pub name: String,
}

/// A comment on an item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WxrComment {
    /// WordPress comment id (unique on the old site).
    pub id: i64,
    /// Name given.
    pub author: String,
    /// E-mail given.
    pub author_email: String,
    /// When (UTC), if the export says.
    pub date_gmt: Option<DateTime<Utc>>,
    /// Text (WordPress allows a little HTML).
    pub content: String,
    /// `1`, `0`, `spam`, `trash`, ...
    pub approved: String,
    /// Empty or `comment` for readers' comments; `pingback`, `trackback`, ...
    pub comment_type: String,
    /// The comment it answers (0: none).
    pub parent: i64,
}

/// One `<item>`: a post, page, attachment, menu item, ...
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WxrItem {
    /// Line of the file where the item starts.
    pub line: usize,
    /// Title (may hold markup and entities).
    pub title: String,
    /// Permalink on the old site.
    pub link: String,
    /// GUID.
    pub guid: String,
    /// Login of the author.
    pub creator: String,
    /// Content (HTML, block markup, shortcodes).
    pub content: String,
    /// Excerpt.
    pub excerpt: String,
    /// WordPress post id.
    pub post_id: i64,
    /// Publish time (UTC), `None` for `0000-00-00 00:00:00` (drafts).
    pub date_gmt: Option<DateTime<Utc>>,
    /// Slug.
    pub post_name: String,
    /// `publish`, `draft`, `pending`, `future`, `private`, `trash`, `inherit`, ...
    pub status: String,
    /// Parent item (0: none).
    pub post_parent: i64,
    /// `post`, `page`, `attachment`, `nav_menu_item`, ...
    pub post_type: String,
    /// Non-empty for password-protected items.
    pub post_password: String,
    /// Sticky post.
    pub is_sticky: bool,
    /// URL of the file (attachments).
    pub attachment_url: String,
    /// Categories, tags and other terms.
    pub terms: Vec<ItemTerm>,
    /// Custom fields.
    pub meta: Vec<(String, String)>,
    /// Comments, in file order.
    pub comments: Vec<WxrComment>,
}

impl WxrItem {
    /// The value of custom field `key`, if set.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A whole export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Export {
    /// WXR version (`1.0`, `1.1`, `1.2`).
    pub version: String,
    /// Site title.
    pub title: String,
    /// The blog's address (`wp:base_blog_url`, else the channel link).
    pub site_url: String,
    /// Users.
    pub authors: Vec<WxrAuthor>,
    /// Categories, in file order.
    pub categories: Vec<WxrCategory>,
    /// Tags, in file order.
    pub tags: Vec<WxrTag>,
    /// Items, in file order.
    pub items: Vec<WxrItem>,
}

/// 1-based line of byte offset `at` in `bytes`.
fn line_at(bytes: &[u8], at: u64) -> usize {
    let at = usize::try_from(at).unwrap_or(usize::MAX).min(bytes.len());
    bytes[..at].iter().filter(|b| **b == b'\n').count() + 1
}

/// Lines of offsets that only grow, counted once each (an item's line is
/// asked for at every element; counting from the start each time was quadratic).
struct Lines<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
}

impl Lines<'_> {
    fn line(&mut self, at: u64) -> usize {
        let at = usize::try_from(at).unwrap_or(usize::MAX).min(self.bytes.len());
        if at < self.at {
            return line_at(self.bytes, at as u64);
        }
        self.line += self.bytes[self.at..at].iter().filter(|b| **b == b'\n').count();
        self.at = at;
        self.line
    }
}

/// The text of one of the five XML entities, or of a character reference.
fn entity(name: &str) -> Option<String> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).map(String::from);
    }
    Some(
        match name {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "quot" => "\"",
            "apos" => "'",
            _ => return None,
        }
        .to_string(),
    )
}

/// `2011-01-07 12:00:00` (UTC); `None` for the empty and zero dates WordPress writes for drafts.
fn parse_gmt(s: &str) -> Result<Option<DateTime<Utc>>, String> {
    let s = s.trim();
    if s.is_empty() || s.starts_with("0000-00-00") {
        return Ok(None);
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .map(|d| Some(d.and_utc()))
        .map_err(|_| format!("`{s}` is not a date (expected YYYY-MM-DD HH:MM:SS)"))
}

fn parse_id(what: &str, s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| format!("{what} `{s}` is not a number"))
}

/// Where the reader is: which of the export's records is being filled.
#[derive(Default)]
struct State {
    export: Export,
    author: Option<WxrAuthor>,
    category: Option<WxrCategory>,
    tag: Option<WxrTag>,
    item: Option<WxrItem>,
    term: Option<ItemTerm>,
    meta: Option<(String, String)>,
    comment: Option<WxrComment>,
    seen_channel: bool,
}

/// Reads a WordPress export. The file is read as a stream of XML events (no
/// tree is built); the first problem ends the reading with its line.
pub fn parse(bytes: &[u8]) -> Result<Export, WxrError> {
    let mut reader = Reader::from_reader(bytes);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut st = State::default();
    let mut buf = Vec::new();
    let mut lines = Lines { bytes, at: 0, line: 1 };
    let err = |at: u64, reason: String| WxrError { line: line_at(bytes, at), reason };
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => return Err(err(reader.error_position(), e.to_string())),
        };
        let here = reader.buffer_position();
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if path.is_empty() && name != "rss" {
                    return Err(err(here, format!("expected an <rss> document (a WordPress export), found <{name}>")));
                }
                if path.len() > 64 {
                    return Err(err(here, "elements nested too deep".into()));
                }
                text.clear();
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| err(here, e.to_string()))?;
                    let value =
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| err(here, e.to_string()))?;
                    attrs.push((String::from_utf8_lossy(a.key.as_ref()).into_owned(), value.into_owned()));
                }
                open(&mut st, &path, &name, &attrs, lines.line(here)).map_err(|r| err(here, r))?;
                path.push(name);
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if path.is_empty() {
                    return Err(err(here, format!("expected an <rss> document (a WordPress export), found <{name}/>")));
                }
                open(&mut st, &path, &name, &[], lines.line(here)).map_err(|r| err(here, r))?;
                path.push(name);
                close(&mut st, &path, "").map_err(|r| err(here, r))?;
                path.pop();
            }
            Event::End(_) => {
                close(&mut st, &path, &text).map_err(|r| err(here, r))?;
                text.clear();
                path.pop();
            }
            Event::Text(t) => {
                text.push_str(&t.xml10_content().map_err(|e| err(here, e.to_string()))?);
            }
            Event::CData(t) => {
                text.push_str(&t.decode().map_err(|e| err(here, e.to_string()))?);
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| err(here, e.to_string()))?;
                match entity(&name) {
                    Some(s) => text.push_str(&s),
                    None => return Err(err(here, format!("unknown entity `&{name};`"))),
                }
            }
            Event::Eof => {
                if let Some(open) = path.last() {
                    return Err(err(here, format!("the file ends inside <{open}>")));
                }
                break;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
    let end = bytes.len() as u64;
    if !st.seen_channel {
        return Err(err(end, "not a WordPress export: no <channel>".into()));
    }
    let version = st.export.version.trim().to_string();
    if version.is_empty() {
        return Err(WxrError { line: 1, reason: "not a WordPress export: no <wp:wxr_version>".into() });
    }
    if !matches!(version.as_str(), "1.0" | "1.1" | "1.2") {
        return Err(WxrError { line: 1, reason: format!("WXR version {version} is not supported (1.0 to 1.2 are)") });
    }
    st.export.version = version;
    Ok(st.export)
}

fn attr(attrs: &[(String, String)], key: &str) -> String {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// An element starts inside `path`.
fn open(st: &mut State, path: &[String], name: &str, attrs: &[(String, String)], line: usize) -> Result<(), String> {
    let parent = path.last().map(String::as_str);
    match (parent, name) {
        (Some("rss"), "channel") => st.seen_channel = true,
        (Some("channel"), "wp:author") => st.author = Some(WxrAuthor::default()),
        (Some("channel"), "wp:category") => st.category = Some(WxrCategory::default()),
        (Some("channel"), "wp:tag") => st.tag = Some(WxrTag::default()),
        (Some("channel"), "item") => st.item = Some(WxrItem { line, ..WxrItem::default() }),
        (Some("item"), "category") => {
            st.term =
                Some(ItemTerm { domain: attr(attrs, "domain"), nicename: attr(attrs, "nicename"), name: String::new() })
        }
        (Some("item"), "wp:postmeta") => st.meta = Some(Default::default()),
        (Some("item"), "wp:comment") => st.comment = Some(WxrComment::default()),
        _ => {}
    }
    Ok(())
}

/// The innermost element of `path` ends with `text`.
fn close(st: &mut State, path: &[String], text: &str) -> Result<(), String> {
    let Some(name) = path.last().map(String::as_str) else { return Ok(()) };
    let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
    let t = || text.to_string();
    match parent {
        Some("channel") => match name {
            "title" => st.export.title = t(),
            "link" if st.export.site_url.is_empty() => st.export.site_url = t().trim().to_string(),
            "wp:base_blog_url" => st.export.site_url = t().trim().to_string(),
            "wp:wxr_version" => st.export.version = t(),
            "wp:author" => st.export.authors.extend(st.author.take()),
            "wp:category" => st.export.categories.extend(st.category.take()),
            "wp:tag" => st.export.tags.extend(st.tag.take()),
            "item" => st.export.items.extend(st.item.take()),
            _ => {}
        },
        Some("wp:author") => {
            if let Some(a) = st.author.as_mut() {
                match name {
                    "wp:author_login" => a.login = t(),
                    "wp:author_display_name" => a.display_name = t(),
                    _ => {}
                }
            }
        }
        Some("wp:category") if path.len() == 4 => {
            if let Some(c) = st.category.as_mut() {
                match name {
                    "wp:term_id" => c.term_id = parse_id("wp:term_id", text)?,
                    "wp:category_nicename" => c.nicename = t(),
                    "wp:category_parent" => c.parent = t(),
                    "wp:cat_name" => c.name = t(),
                    _ => {}
                }
            }
        }
        Some("wp:tag") => {
            if let Some(c) = st.tag.as_mut() {
                match name {
                    "wp:term_id" => c.term_id = parse_id("wp:term_id", text)?,
                    "wp:tag_slug" => c.slug = t(),
                    "wp:tag_name" => c.name = t(),
                    _ => {}
                }
            }
        }
        Some("item") => {
            let Some(item) = st.item.as_mut() else { return Ok(()) };
            match name {
                "title" => item.title = t(),
                "link" => item.link = t().trim().to_string(),
                "guid" => item.guid = t().trim().to_string(),
                "dc:creator" => item.creator = t().trim().to_string(),
                "content:encoded" => item.content = t(),
                "excerpt:encoded" => item.excerpt = t(),
                "wp:post_id" => item.post_id = parse_id("wp:post_id", text)?,
                "wp:post_date_gmt" => item.date_gmt = parse_gmt(text)?,
                "wp:post_name" => item.post_name = t().trim().to_string(),
                "wp:status" => item.status = t().trim().to_string(),
                "wp:post_parent" => item.post_parent = parse_id("wp:post_parent", text)?,
                "wp:post_type" => item.post_type = t().trim().to_string(),
                "wp:post_password" => item.post_password = t(),
                "wp:is_sticky" => item.is_sticky = text.trim() == "1",
                "wp:attachment_url" => item.attachment_url = t().trim().to_string(),
                "category" => {
                    if let Some(mut term) = st.term.take() {
                        term.name = t();
                        item.terms.push(term);
                    }
                }
                "wp:postmeta" => item.meta.extend(st.meta.take()),
                "wp:comment" => item.comments.extend(st.comment.take()),
                _ => {}
            }
        }
        Some("wp:postmeta") => {
            if let Some(m) = st.meta.as_mut() {
                match name {
                    "wp:meta_key" => m.0 = t(),
                    "wp:meta_value" => m.1 = t(),
                    _ => {}
                }
            }
        }
        Some("wp:comment") => {
            if let Some(c) = st.comment.as_mut() {
                match name {
                    "wp:comment_id" => c.id = parse_id("wp:comment_id", text)?,
                    "wp:comment_author" => c.author = t(),
                    "wp:comment_author_email" => c.author_email = t().trim().to_string(),
                    "wp:comment_date_gmt" => c.date_gmt = parse_gmt(text)?,
                    "wp:comment_content" => c.content = t(),
                    "wp:comment_approved" => c.approved = t().trim().to_string(),
                    "wp:comment_type" => c.comment_type = t().trim().to_string(),
                    "wp:comment_parent" => c.parent = parse_id("wp:comment_parent", text)?,
                    _ => {}
                }
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>Site &amp; Co</title>
<link>https://example.org</link>
<wp:wxr_version>1.2</wp:wxr_version>
<wp:category><wp:term_id>3</wp:term_id><wp:category_nicename>world</wp:category_nicename><wp:category_parent/><wp:cat_name><![CDATA[World]]></wp:cat_name></wp:category>
<item>
<title>A &lt;b&gt;bold&lt;/b&gt; title &#8211; ok</title>
<link>https://example.org/2020/01/a/</link>
<wp:post_id>7</wp:post_id>
<wp:post_date_gmt>2020-01-02 03:04:05</wp:post_date_gmt>
<wp:status>publish</wp:status>
<wp:post_type>post</wp:post_type>
<category domain="category" nicename="world"><![CDATA[World]]></category>
<wp:comment><wp:comment_id>9</wp:comment_id><wp:comment_approved>spam</wp:comment_approved><wp:comment_date_gmt>0000-00-00 00:00:00</wp:comment_date_gmt></wp:comment>
</item>
</channel>
</rss>"#;

    #[test]
    fn reads_channel_items_terms_and_comments() {
        let e = parse(SMALL.as_bytes()).expect("parses");
        assert_eq!(e.title, "Site & Co");
        assert_eq!(e.site_url, "https://example.org");
        assert_eq!(e.categories[0].name, "World");
        let item = &e.items[0];
        assert_eq!(item.line, 8);
        assert_eq!(item.title, "A <b>bold</b> title – ok");
        assert_eq!(item.post_id, 7);
        assert_eq!(item.date_gmt.map(|d| d.to_rfc3339()), Some("2020-01-02T03:04:05+00:00".into()));
        assert_eq!(item.terms[0].nicename, "world");
        assert_eq!(item.comments[0].approved, "spam");
        assert_eq!(item.comments[0].date_gmt, None);
    }

    #[test]
    fn errors_name_the_line() {
        let bad = SMALL.replace("<wp:post_id>7</wp:post_id>", "<wp:post_id>seven</wp:post_id>");
        let e = parse(bad.as_bytes()).expect_err("refused");
        assert_eq!(e.line, 11);
        assert!(e.reason.contains("wp:post_id `seven`"), "{e}");
        let bad = SMALL.replace("</item>", "</itm>");
        assert_eq!(parse(bad.as_bytes()).expect_err("refused").line, 17);
        let e = parse(&SMALL.as_bytes()[..300]).expect_err("cut");
        assert!(e.reason.contains("ends inside") || e.line > 1, "{e}");
        let e = parse(b"<html></html>").expect_err("not rss");
        assert!(e.reason.contains("expected an <rss>"), "{e}");
        let e = parse(SMALL.replace("1.2</wp:wxr", "2.0</wp:wxr").as_bytes()).expect_err("version");
        assert!(e.reason.contains("version 2.0"), "{e}");
        let e = parse(SMALL.replace("&amp; Co", "&nbsp; Co").as_bytes()).expect_err("entity");
        assert_eq!((e.line, e.reason.as_str()), (4, "unknown entity `&nbsp;`"));
    }
}
