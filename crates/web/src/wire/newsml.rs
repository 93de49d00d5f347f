//! The wire as IPTC NewsML-G2 2.35 (Power conformance): every item of the
//! ninjs wire as a `newsItem`, with the same keys, filters, sections and
//! editions of the subscriber, retraction rules and rate limit (the lookups
//! are `wire::list` and `wire::visible_story`; errors are the wire's JSON).
//!
//! - `GET /api/newsml-g2/items/{news_id}`: one `newsItem`
//!   (`application/vnd.iptc.g2.newsitem+xml`).
//! - `GET /api/newsml-g2/items`: a page as a `newsMessage` whose `itemSet`
//!   holds the `newsItem`s (`application/vnd.iptc.g2.newsmessage+xml`), the
//!   container NewsML-G2 defines for several items; the next page is in the
//!   `Link` header. The schema wants at least one item in an `itemSet`, so an
//!   empty page answers `204 No Content`.
//!
//! Each item is made from the story's ninjs item, so guid (= ninjs `uri`),
//! version, times, status and what a retraction leaves out agree on both
//! formats. The body is the sanitized HTML as XHTML in `contentSet/inlineXML`
//! (see [`xhtml`]); the lead photo is an `irel:associatedWith` link to the
//! image with hints (item class, caption, credit, creator, headline, and the
//! photo's own rights: copyright notice and usage terms). Sections and tags whose name
//! is a known IPTC Media Topic (`data/medtop.txt`) are `medtop:` subjects,
//! other tags keywords, other sections subjects naming their page.

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use newsdesk_domain::{Edition, Story, ninjs};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::{Authorized, ListPage, Mapper, WireError, list, next_link, visible_story};
use crate::AppState;

pub mod xhtml;

/// Path of the list.
const ITEMS: &str = "/api/newsml-g2/items";
/// The NewsML-G2 namespace (NAR).
pub const NAR_NS: &str = "http://iptc.org/std/nar/2006-10-01/";
/// The IPTC catalog of the schemes used (`ninat`, `stat`, `medtop`, `irel`, `drol`, `cpnat`).
pub const IPTC_CATALOG: &str = "http://www.iptc.org/std/catalog/catalog.IPTC-G2-Standards_32.xml";
/// Media type of one item.
pub const NEWS_ITEM_TYPE: &str = "application/vnd.iptc.g2.newsitem+xml; charset=utf-8";
/// Media type of a page of items.
pub const NEWS_MESSAGE_TYPE: &str = "application/vnd.iptc.g2.newsmessage+xml; charset=utf-8";

/// Routes of the NewsML-G2 wire.
pub fn router() -> Router<AppState> {
    Router::new().route(ITEMS, get(items)).route("/api/newsml-g2/items/{news_id}", get(item))
}

async fn item(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    Authorized(sub): Authorized,
) -> Result<Response, WireError> {
    let (story, mut mapper) = visible_story(&state, &sub, &raw_id).await?;
    let source = source(&mut mapper, &story).await?;
    let xml = render(|w| write_news_item(w, &source, &state.config.public_url)).map_err(xml_error)?;
    Ok(xml_response(NEWS_ITEM_TYPE, xml))
}

async fn items(
    State(state): State<AppState>,
    Authorized(sub): Authorized,
    RawQuery(raw): RawQuery,
) -> Result<Response, WireError> {
    let ListPage { stories, next, mut mapper } = list(&state, &sub, raw.as_deref(), ITEMS).await?;
    let mut sources = Vec::with_capacity(stories.len());
    for story in &stories {
        sources.push(source(&mut mapper, story).await?);
    }
    let mut res = if sources.is_empty() {
        (StatusCode::NO_CONTENT, [(header::CACHE_CONTROL, "private, no-cache")]).into_response()
    } else {
        let public_url = &state.config.public_url;
        let xml = render(|w| write_news_message(w, &sources, public_url, Utc::now())).map_err(xml_error)?;
        xml_response(NEWS_MESSAGE_TYPE, xml)
    };
    if let Some(link) = next_link(next.as_deref()) {
        res.headers_mut().insert(header::LINK, link);
    }
    Ok(res)
}

fn xml_response(content_type: &'static str, xml: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache")),
        ],
        xml,
    )
        .into_response()
}

/// The alias of our scheme of alternative ids (`ndaltid:sourceguid`, `ndaltid:sourceversion`).
const ALTID_SCHEME: &str = "ndaltid";

fn xml_error(e: std::io::Error) -> WireError {
    tracing::error!(error = %e, "writing a NewsML-G2 document failed");
    WireError::Internal
}

/// What one `newsItem` is made of: the story, its ninjs item and its edition.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    /// The story (authors, photo caption and credit, page path).
    pub story: &'a Story,
    /// Its ninjs item: guid, version, times, status, rights, subjects, body.
    pub item: ninjs::Item,
    /// Its edition (name, language, URL prefix).
    pub edition: Edition,
}

async fn source<'s>(mapper: &mut Mapper<'_>, story: &'s Story) -> Result<Source<'s>, WireError> {
    let item = mapper.item(story).await?;
    let edition = match mapper.place(story).await? {
        Some((edition, _)) => edition,
        None => return Err(WireError::Internal),
    };
    Ok(Source { story, item, edition })
}

/// Writes a document (declaration, then what `body` writes) into a string,
/// dropping characters XML 1.0 cannot carry (see `text::xml_safe`).
pub fn render(body: impl FnOnce(&mut Writer<Vec<u8>>) -> std::io::Result<()>) -> std::io::Result<String> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    body(&mut w)?;
    w.get_mut().write_all(b"\n")?;
    let xml = String::from_utf8(w.into_inner()).map_err(std::io::Error::other)?;
    Ok(newsdesk_domain::text::xml_safe(&xml).into_owned())
}

/// Writes a `newsMessage` carrying `sources` as `newsItem`s, sent at `sent`.
pub fn write_news_message<W: Write>(
    w: &mut Writer<W>,
    sources: &[Source<'_>],
    public_url: &str,
    sent: DateTime<Utc>,
) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new("newsMessage").with_attributes([("xmlns", NAR_NS)])))?;
    start(w, "header", &[])?;
    text_element(w, "sent", &[], &ninjs::time(sent))?;
    empty(w, "catalogRef", &[("href", IPTC_CATALOG)])?;
    text_element(w, "sender", &[], host_of(public_url))?;
    end(w, "header")?;
    start(w, "itemSet", &[])?;
    for s in sources {
        write_item(w, s, public_url, false)?;
    }
    end(w, "itemSet")?;
    end(w, "newsMessage")
}

/// Writes one story as a stand-alone `newsItem` (the root of its document).
pub fn write_news_item<W: Write>(w: &mut Writer<W>, source: &Source<'_>, public_url: &str) -> std::io::Result<()> {
    write_item(w, source, public_url, true)
}

fn write_item<W: Write>(w: &mut Writer<W>, s: &Source<'_>, public_url: &str, root: bool) -> std::io::Result<()> {
    let item = &s.item;
    let mut attrs: Vec<(&str, &str)> = Vec::new();
    if root {
        attrs.push(("xmlns", NAR_NS));
    }
    attrs.extend([
        ("guid", item.uri.as_str()),
        ("version", item.version.as_str()),
        ("standard", "NewsML-G2"),
        ("standardversion", "2.35"),
        ("conformance", "power"),
        ("xml:lang", item.language.as_str()),
    ]);
    start(w, "newsItem", &attrs)?;
    empty(w, "catalogRef", &[("href", IPTC_CATALOG)])?;
    if item.altids.iter().any(|a| a.role != "newsid") {
        // Our own scheme of alternative ids (the source item's guid and version).
        start(w, "catalog", &[])?;
        start(w, "scheme", &[("alias", ALTID_SCHEME), ("uri", &format!("{public_url}/newscodes/altid/"))])?;
        text_element(w, "name", &[("xml:lang", "en")], "Alternative identifiers of newsdesk items")?;
        end(w, "scheme")?;
        end(w, "catalog")?;
    }

    start(w, "rightsInfo", &[])?;
    start(w, "copyrightHolder", &[("uri", public_url)])?;
    text_element(w, "name", &[], &item.copyrightholder)?;
    end(w, "copyrightHolder")?;
    let year = item.firstcreated.get(..4).unwrap_or_default();
    text_element(w, "copyrightNotice", &[], &format!("Copyright {year} {}", item.copyrightholder))?;
    if !item.usageterms.is_empty() {
        text_element(w, "usageTerms", &[], &item.usageterms)?;
    }
    end(w, "rightsInfo")?;

    start(w, "itemMeta", &[])?;
    empty(w, "itemClass", &[("qcode", "ninat:text")])?;
    start(w, "provider", &[("uri", public_url)])?;
    text_element(w, "name", &[], &item.copyrightholder)?;
    end(w, "provider")?;
    text_element(w, "versionCreated", &[], &item.versioncreated)?;
    text_element(w, "firstCreated", &[], &item.firstcreated)?;
    if let Some(at) = &item.embargoed {
        text_element(w, "embargoed", &[], at)?;
    }
    empty(w, "pubStatus", &[("qcode", &format!("stat:{}", item.pubstatus))])?;
    let full = item.representationtype == "full";
    if full {
        let page = format!("{public_url}{}{}", edition_prefix(&s.edition), s.story.path());
        empty(w, "link", &[("rel", "irel:seeAlso"), ("href", &page), ("contenttype", "text/html")])?;
    }
    if let (Some(r), Some(photo)) = (item.renditions.first(), s.story.photo.as_ref()) {
        let title = if photo.caption.trim().is_empty() { item_headline(item) } else { photo.caption.as_str() };
        start(
            w,
            "link",
            &[("rel", "irel:associatedWith"), ("href", &r.href), ("contenttype", &r.contenttype), ("title", title)],
        )?;
        // Hints about the target: a picture, its caption, credit, creator and rights.
        empty(w, "itemClass", &[("qcode", "ninat:picture")])?;
        write_photo_hints(w, photo)?;
        end(w, "link")?;
    }
    // The photos of the story's galleries, in order, each a picture link with its use's caption and credit.
    for a in item.associations.iter().filter(|a| a.name.starts_with("gallery-")) {
        let Some(r) = a.renditions.first() else { continue };
        let caption = a.descriptions.iter().find(|d| d.role == "caption").map(|d| d.value.as_str());
        let title = caption.unwrap_or_else(|| item_headline(item));
        start(
            w,
            "link",
            &[("rel", "irel:associatedWith"), ("href", &r.href), ("contenttype", &r.contenttype), ("title", title)],
        )?;
        empty(w, "itemClass", &[("qcode", "ninat:picture")])?;
        write_association_hints(w, a)?;
        end(w, "link")?;
    }
    end(w, "itemMeta")?;

    start(w, "contentMeta", &[])?;
    text_element(w, "urgency", &[], &s.story.agency.urgency.to_string())?;
    text_element(w, "contentCreated", &[], &item.firstcreated)?;
    text_element(w, "contentModified", &[], &item.versioncreated)?;
    if item.by.is_some() {
        for a in &s.story.authors {
            let page = format!(
                "{public_url}{}/author/{}",
                edition_prefix(&s.edition),
                newsdesk_domain::slug::encode_path(&a.slug)
            );
            start(w, "creator", &[("uri", &page)])?;
            text_element(w, "name", &[], &a.name)?;
            end(w, "creator")?;
        }
    }
    let agency = &s.story.agency;
    if !agency.located.trim().is_empty() {
        start(w, "located", &[])?;
        text_element(w, "name", &[], &agency.located)?;
        end(w, "located")?;
    }
    // Provenance of a story fetched from another agency's item: the agency
    // as a content source (IPTC cpprole), the item's guid and version as altIds.
    for source in &item.infosources {
        start(w, "infoSource", &[("role", "cpprole:contentSource"), ("literal", &source.literal)])?;
        text_element(w, "name", &[], &source.name)?;
        end(w, "infoSource")?;
    }
    for alt in item.altids.iter().filter(|a| a.role != "newsid") {
        text_element(w, "altId", &[("type", &format!("{ALTID_SCHEME}:{}", alt.role))], &alt.value)?;
    }
    empty(w, "language", &[("tag", &item.language)])?;
    for g in agency.genres.iter().filter_map(|g| newsdesk_domain::agency::genre(g)) {
        start(w, "genre", &[("qcode", &g.qcode)])?;
        text_element(w, "name", &[], g.name(&s.edition.lang))?;
        end(w, "genre")?;
    }
    // A section and a tag may stand for the same topic: it is named once.
    let mut seen = std::collections::HashSet::new();
    for subject in &item.subjects {
        let concept = Concept::of(subject);
        if seen.insert(concept.clone()) {
            write_concept(w, &concept, &subject.name)?;
        }
    }
    if !agency.slugline.trim().is_empty() {
        text_element(w, "slugline", &[], &agency.slugline)?;
    }
    if let Some(h) = item.headlines.first() {
        text_element(w, "headline", &[], &h.value)?;
    }
    if let Some(d) = item.descriptions.iter().find(|d| d.role == "summary") {
        text_element(w, "description", &[("role", "drol:summary")], &d.value)?;
    }
    end(w, "contentMeta")?;

    if let Some(body) = item.bodies.first() {
        start(w, "contentSet", &[])?;
        let (words, chars) = (body.wordcount.to_string(), body.charcount.to_string());
        start(
            w,
            "inlineXML",
            &[("contenttype", "application/xhtml+xml"), ("wordcount", &words), ("charcount", &chars)],
        )?;
        // The XHTML goes in unindented: whitespace added between inline
        // elements would change the text.
        let mut x = Writer::new(Vec::new());
        x.write_event(Event::Start(BytesStart::new("html").with_attributes([
            ("xmlns", xhtml::XHTML_NS),
            ("xml:lang", item.language.as_str()),
            ("lang", item.language.as_str()),
            ("dir", s.edition.direction.as_str()),
        ])))?;
        x.write_event(Event::Start(BytesStart::new("head")))?;
        x.write_event(Event::Start(BytesStart::new("title")))?;
        x.write_event(Event::Text(BytesText::new(item_headline(item))))?;
        x.write_event(Event::End(BytesEnd::new("title")))?;
        x.write_event(Event::End(BytesEnd::new("head")))?;
        x.write_event(Event::Start(BytesStart::new("body")))?;
        xhtml::write_body(&mut x, &body.value)?;
        x.write_event(Event::End(BytesEnd::new("body")))?;
        x.write_event(Event::End(BytesEnd::new("html")))?;
        let fragment = String::from_utf8(x.into_inner()).map_err(std::io::Error::other)?;
        w.write_indent()?;
        // Written by quick-xml above, escaped and balanced: it goes in as it is.
        w.write_event(Event::Text(BytesText::from_escaped(fragment)))?;
        end(w, "inlineXML")?;
        end(w, "contentSet")?;
    }
    end(w, "newsItem")
}

/// The lead photo's properties as hints of its link: caption, credit line,
/// creator, headline, and its own `rightsInfo` (copyright notice, usage terms),
/// which are the photographer's, not the agency's of the story.
fn write_photo_hints<W: Write>(w: &mut Writer<W>, photo: &newsdesk_domain::Photo) -> std::io::Result<()> {
    let d = &photo.details;
    if !d.copyright.trim().is_empty() || !d.usage_terms.trim().is_empty() {
        start(w, "rightsInfo", &[])?;
        if !d.copyright.trim().is_empty() {
            text_element(w, "copyrightNotice", &[], &d.copyright)?;
        }
        if !d.usage_terms.trim().is_empty() {
            text_element(w, "usageTerms", &[], &d.usage_terms)?;
        }
        end(w, "rightsInfo")?;
    }
    if !d.creator.trim().is_empty() {
        start(w, "creator", &[])?;
        text_element(w, "name", &[], &d.creator)?;
        end(w, "creator")?;
    }
    if !d.headline.trim().is_empty() {
        text_element(w, "headline", &[], &d.headline)?;
    }
    if !photo.caption.trim().is_empty() {
        text_element(w, "description", &[("role", "drol:caption")], &photo.caption)?;
    }
    if !photo.credit.trim().is_empty() {
        text_element(w, "creditline", &[], &photo.credit)?;
    }
    Ok(())
}

/// A gallery photo's properties as hints of its link, from its ninjs
/// association (the same order and elements as [`write_photo_hints`]).
fn write_association_hints<W: Write>(w: &mut Writer<W>, a: &ninjs::Association) -> std::io::Result<()> {
    if !a.copyrightnotice.trim().is_empty() || !a.usageterms.trim().is_empty() {
        start(w, "rightsInfo", &[])?;
        if !a.copyrightnotice.trim().is_empty() {
            text_element(w, "copyrightNotice", &[], &a.copyrightnotice)?;
        }
        if !a.usageterms.trim().is_empty() {
            text_element(w, "usageTerms", &[], &a.usageterms)?;
        }
        end(w, "rightsInfo")?;
    }
    if let Some(by) = a.by.as_deref().filter(|b| !b.trim().is_empty()) {
        start(w, "creator", &[])?;
        text_element(w, "name", &[], by)?;
        end(w, "creator")?;
    }
    if let Some(h) = a.headlines.first() {
        text_element(w, "headline", &[], &h.value)?;
    }
    for d in &a.descriptions {
        match d.role {
            "caption" => text_element(w, "description", &[("role", "drol:caption")], &d.value)?,
            "creditline" => text_element(w, "creditline", &[], &d.value)?,
            _ => {}
        }
    }
    Ok(())
}

/// What a section or tag is in NewsML-G2.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Concept {
    /// A Media Topic: a `subject` with its `medtop:` qcode.
    MediaTopic(&'static str),
    /// A tag that is none: a `keyword`.
    Keyword(String),
    /// A section that is none: a `subject` naming the section's page.
    Page(String),
}

impl Concept {
    fn of(subject: &ninjs::Subject) -> Concept {
        // A Media Topic the editor chose carries its qcode.
        if subject.rel == "mediatopic"
            && let Some(t) = newsdesk_domain::mediatopic::get(&subject.literal)
        {
            return Concept::MediaTopic(t.qcode.strip_prefix("medtop:").unwrap_or(&t.qcode));
        }
        let last_segment = subject.literal.rsplit('/').next().unwrap_or_default();
        match media_topic(&subject.name).or_else(|| media_topic(last_segment)) {
            Some(code) => Concept::MediaTopic(code),
            None if subject.rel == "tag" => Concept::Keyword(subject.name.clone()),
            None => Concept::Page(subject.uri.clone()),
        }
    }
}

fn write_concept<W: Write>(w: &mut Writer<W>, concept: &Concept, name: &str) -> std::io::Result<()> {
    match concept {
        Concept::Keyword(word) => text_element(w, "keyword", &[], word),
        Concept::MediaTopic(code) => {
            start(w, "subject", &[("type", "cpnat:abstract"), ("qcode", &format!("medtop:{code}"))])?;
            text_element(w, "name", &[], name)?;
            end(w, "subject")
        }
        Concept::Page(uri) => {
            start(w, "subject", &[("type", "cpnat:abstract"), ("uri", uri)])?;
            text_element(w, "name", &[], name)?;
            end(w, "subject")
        }
    }
}

/// The Media Topic code (`11000000`) a section or tag name or slug stands for, if known.
pub fn media_topic(word: &str) -> Option<&'static str> {
    static TOPICS: OnceLock<HashMap<String, &'static str>> = OnceLock::new();
    let topics = TOPICS.get_or_init(|| {
        include_str!("../../data/medtop.txt")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let mut parts = l.split('|').map(str::trim);
                Some((normalize(parts.next()?), parts.next()?))
            })
            .collect()
    });
    topics.get(&normalize(word)).copied()
}

fn normalize(word: &str) -> String {
    word.trim().to_lowercase().replace('-', " ")
}

fn item_headline(item: &ninjs::Item) -> &str {
    item.headlines.first().map(|h| h.value.as_str()).unwrap_or_default()
}

fn edition_prefix(edition: &Edition) -> String {
    if edition.is_default { String::new() } else { format!("/{}", edition.lang) }
}

/// The host (and port) of a URL, for `sender`.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

fn start<W: Write>(w: &mut Writer<W>, name: &str, attrs: &[(&str, &str)]) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name).with_attributes(attrs.iter().copied())))
}

fn end<W: Write>(w: &mut Writer<W>, name: &str) -> std::io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn empty<W: Write>(w: &mut Writer<W>, name: &str, attrs: &[(&str, &str)]) -> std::io::Result<()> {
    w.write_event(Event::Empty(BytesStart::new(name).with_attributes(attrs.iter().copied())))
}

fn text_element<W: Write>(w: &mut Writer<W>, name: &str, attrs: &[(&str, &str)], text: &str) -> std::io::Result<()> {
    start(w, name, attrs)?;
    w.write_event(Event::Text(BytesText::new(text)))?;
    end(w, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_topics_are_found_by_name_or_slug_in_any_case() {
        assert_eq!(media_topic("Politics"), Some("11000000"));
        assert_eq!(media_topic("human-interest"), Some("08000000"));
        assert_eq!(media_topic("ورزش"), Some("15000000"));
        assert_eq!(media_topic("Defense"), None);
        assert_eq!(media_topic(""), None);
    }

    #[test]
    fn sender_is_the_host() {
        assert_eq!(host_of("https://news.example"), "news.example");
        assert_eq!(host_of("http://127.0.0.1:8080/base"), "127.0.0.1:8080");
    }
}
