//! Feeds of the edition, of each section and of each tag, in RSS 2.0, Atom 1.0
//! and JSON Feed 1.1: the newest stories with their full (sanitized) body,
//! the lead as summary, authors, categories and the lead photo. Feeds go
//! through the page cache, so conditional GET, ETags and compression work as
//! they do for pages, and a change to a story drops every feed that shows it.
//!
//! URLs: `/feed.{rss,atom,json}`, `/section/{path}/feed.{rss,atom,json}` (served
//! through the section route, see [`split_section_feed`]) and
//! `/tag/{slug}/feed.{rss,atom,json}`.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use newsdesk_domain::{Section, Story, StoryStatus, dates, html, text};
use newsdesk_storage::StoryFilter;
use serde::Serialize;

use crate::cache::CachedPage;
use crate::site::{Rendered, abs, cached, edition, list_dep_edition, list_dep_section, story_deps};
use crate::{AppError, AppState};

/// Stories in a feed, newest first, unless configured (`feed_items`).
pub const FEED_ITEMS: i64 = 50;

const CC_FEED: &str = "public, max-age=60, stale-while-revalidate=300";
const GENERATOR: &str = "newsdesk";

/// A feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// RSS 2.0.
    Rss,
    /// Atom 1.0.
    Atom,
    /// JSON Feed 1.1.
    Json,
}

impl FeedFormat {
    /// Every format, in the order pages announce them.
    pub const ALL: [FeedFormat; 3] = [FeedFormat::Rss, FeedFormat::Atom, FeedFormat::Json];

    /// Last path segment of the feed's URL.
    pub const fn file(self) -> &'static str {
        match self {
            FeedFormat::Rss => "feed.rss",
            FeedFormat::Atom => "feed.atom",
            FeedFormat::Json => "feed.json",
        }
    }

    /// Media type, as `<link rel="alternate" type>` names it.
    pub const fn mime(self) -> &'static str {
        match self {
            FeedFormat::Rss => "application/rss+xml",
            FeedFormat::Atom => "application/atom+xml",
            FeedFormat::Json => "application/feed+json",
        }
    }

    /// `Content-Type` of the document.
    pub const fn content_type(self) -> &'static str {
        match self {
            FeedFormat::Rss => "application/rss+xml; charset=utf-8",
            FeedFormat::Atom => "application/atom+xml; charset=utf-8",
            FeedFormat::Json => "application/feed+json; charset=utf-8",
        }
    }

    /// Name for readers.
    pub const fn label(self) -> &'static str {
        match self {
            FeedFormat::Rss => "RSS",
            FeedFormat::Atom => "Atom",
            FeedFormat::Json => "JSON Feed",
        }
    }
}

/// Which stories a feed carries.
#[derive(Debug, Clone)]
enum Scope {
    /// The whole edition.
    Edition,
    /// A section and its subsections, by path.
    Section(String),
    /// A tag, by slug.
    Tag(String),
}

/// Routes of the edition and tag feeds (section feeds come through the section route).
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for format in FeedFormat::ALL {
        router = router
            .route(&format!("/{}", format.file()), edition_route(format))
            .route(&format!("/tag/{{slug}}/{}", format.file()), tag_route(format));
    }
    router
}

fn edition_route(format: FeedFormat) -> MethodRouter<AppState> {
    get(move |State(state): State<AppState>, uri: Uri, headers: HeaderMap| async move {
        serve(&state, Scope::Edition, format, &uri, &headers).await
    })
}

fn tag_route(format: FeedFormat) -> MethodRouter<AppState> {
    get(move |State(state): State<AppState>, Path(slug): Path<String>, uri: Uri, headers: HeaderMap| async move {
        serve(&state, Scope::Tag(slug), format, &uri, &headers).await
    })
}

/// Splits a section route's path `iran/defense/feed.rss` into the section
/// path and the format; `None` when the path names no feed.
pub(crate) fn split_section_feed(path: &str) -> Option<(&str, FeedFormat)> {
    FeedFormat::ALL.into_iter().find_map(|f| {
        let section = path.strip_suffix(f.file())?.strip_suffix('/')?;
        (!section.is_empty()).then_some((section, f))
    })
}

/// Answers the feed of the section at `path` (called by the section route).
pub(crate) async fn section_feed(
    state: &AppState,
    path: &str,
    format: FeedFormat,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    serve(state, Scope::Section(path.to_string()), format, uri, headers).await
}

/// A feed a page announces in its `<head>`.
#[derive(Debug, Clone, Serialize)]
pub struct FeedLink {
    /// Title of the link (the feed's name and format).
    pub title: String,
    /// Media type.
    pub mime: &'static str,
    /// Absolute URL of the feed.
    pub href: String,
}

/// The feeds a page announces: the edition's always, and a section's or a
/// tag's on that section's or tag's pages (recognised by their canonical URL).
pub fn alternates(public_url: &str, site_name: &str, canonical: &str, page_title: &str) -> Vec<FeedLink> {
    let mut links: Vec<FeedLink> = FeedFormat::ALL
        .iter()
        .map(|f| FeedLink {
            title: format!("{site_name} ({})", f.label()),
            mime: f.mime(),
            href: format!("{public_url}/{}", f.file()),
        })
        .collect();
    let path = canonical.strip_prefix(public_url).unwrap_or_default();
    let path = path.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    let is_list = |prefix: &str| path.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty());
    if is_list("/section/") || is_list("/tag/") {
        links.extend(FeedFormat::ALL.iter().map(|f| FeedLink {
            title: format!("{page_title} ({})", f.label()),
            mime: f.mime(),
            href: format!("{public_url}{path}/{}", f.file()),
        }));
    }
    links
}

/// A person named in a feed.
#[derive(Debug, Clone)]
struct Person {
    name: String,
    url: String,
}

/// A category of an item: a section or a tag.
#[derive(Debug, Clone)]
struct Category {
    /// Identifier within its scheme: section path or tag slug.
    term: String,
    /// Name for readers.
    label: String,
    /// The taxonomy: `{public_url}/section` or `{public_url}/tag`.
    scheme: String,
}

/// The lead photo as an enclosure.
#[derive(Debug, Clone)]
struct Image {
    url: String,
    mime: String,
    length: Option<i64>,
}

/// One story of a feed, in the terms all three formats share.
#[derive(Debug, Clone)]
struct Item {
    news_id: i64,
    /// Stable id: the story's short permalink, `{public_url}/news/{id}`.
    guid: String,
    /// Canonical URL.
    url: String,
    title: String,
    summary: String,
    content_html: String,
    published: DateTime<Utc>,
    modified: DateTime<Utc>,
    authors: Vec<Person>,
    categories: Vec<Category>,
    image: Option<Image>,
}

/// A feed, ready to write in any format.
#[derive(Debug, Clone)]
struct Feed {
    title: String,
    description: String,
    /// The HTML page the feed follows.
    home: String,
    /// Absolute URL the feed files hang under (`{public_url}/section/iran`); no trailing slash.
    base: String,
    lang: String,
    tz: Tz,
    publisher: Person,
    updated: DateTime<Utc>,
    dep: String,
    items: Vec<Item>,
}

impl Feed {
    fn self_url(&self, format: FeedFormat) -> String {
        format!("{}/{}", self.base, format.file())
    }
}

async fn serve(
    state: &AppState,
    scope: Scope,
    format: FeedFormat,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let key = uri.path().to_string();
    cached(state, key, headers, || async move {
        let feed = load(state, &scope).await?;
        let body = match format {
            FeedFormat::Rss => write_rss(&feed)?,
            FeedFormat::Atom => write_atom(&feed)?,
            FeedFormat::Json => write_json(&feed)?,
        };
        let modified = feed.items.iter().map(|i| i.modified).max();
        let mut deps = story_deps(feed.items.iter().map(|i| i.news_id));
        deps.push(feed.dep.clone());
        Ok(Rendered::Page(CachedPage::document(body, format.content_type(), CC_FEED, modified, deps)))
    })
    .await
}

/// Reads what a feed shows; `NotFound` for an unknown section or tag.
async fn load(state: &AppState, scope: &Scope) -> Result<Feed, AppError> {
    let edition = edition(state);
    let sections = state.sections(edition.id).await?;
    let (title, description, page, filter, dep) = match scope {
        Scope::Edition => (
            edition.name.clone(),
            format!("{}: the latest news, as it happens.", edition.name),
            String::new(),
            StoryFilter::Edition(edition.id),
            list_dep_edition(edition.id),
        ),
        Scope::Section(path) => {
            let s = sections.iter().find(|s| &s.path == path).ok_or(AppError::NotFound)?;
            (
                format!("{} - {}", s.name, edition.name),
                format!("{} news from {}, newest first.", s.name, edition.name),
                format!("/section/{}", s.path),
                StoryFilter::Section { edition_id: edition.id, path: s.path.clone() },
                list_dep_section(edition.id, &s.path),
            )
        }
        Scope::Tag(slug) => {
            let t = state.store.tag_by_slug(edition.id, slug).await?.ok_or(AppError::NotFound)?;
            (
                format!("{} - {}", t.name, edition.name),
                format!("Stories tagged {} on {}.", t.name, edition.name),
                format!("/tag/{}", t.slug),
                StoryFilter::Tag(t.id),
                format!("list:tag:{}", t.id),
            )
        }
    };
    let summaries = state.store.published(&filter, None, state.config.feed_items).await?;
    let ids: Vec<i64> = summaries.iter().map(|s| s.news_id).collect();
    let mut stories = state.store.stories(&ids).await?;
    stories.retain(|s| s.status == StoryStatus::Published && s.published_at.is_some());
    let photo_ids: Vec<i64> = stories.iter().filter_map(|s| s.photo.as_ref().map(|p| p.id)).collect();
    let sizes = state.store.photo_sizes(&photo_ids).await?;
    let items: Vec<Item> = stories.iter().map(|s| item(state, s, &sections, &sizes)).collect();
    Ok(Feed {
        title,
        description,
        home: abs(state, if page.is_empty() { "/" } else { &page }),
        base: abs(state, &page),
        lang: edition.lang.clone(),
        tz: edition.time_zone,
        publisher: Person { name: edition.name.clone(), url: abs(state, "/") },
        updated: items.iter().map(|i| i.modified).max().unwrap_or_else(Utc::now),
        dep,
        items,
    })
}

fn item(state: &AppState, story: &Story, sections: &[Section], sizes: &HashMap<i64, i64>) -> Item {
    let published = story.published_at.unwrap_or(story.created_at);
    let modified = story.updated_at.filter(|u| *u > published).unwrap_or(published);
    let mut categories = Vec::new();
    if let Some(s) = sections.iter().find(|s| s.id == story.section_id) {
        categories.push(Category { term: s.path.clone(), label: s.name.clone(), scheme: abs(state, "/section") });
    }
    categories.extend(story.tags.iter().map(|t| Category {
        term: t.slug.clone(),
        label: t.name.clone(),
        scheme: abs(state, "/tag"),
    }));
    Item {
        news_id: story.news_id,
        guid: abs(state, &format!("/news/{}", story.news_id)),
        url: abs(state, &story.path()),
        title: story.headline.clone(),
        summary: story.lead.clone(),
        content_html: story.body_html.clone(),
        published,
        modified,
        authors: story
            .authors
            .iter()
            .map(|a| Person { name: a.name.clone(), url: abs(state, &format!("/author/{}", a.slug)) })
            .collect(),
        categories,
        image: story.photo.as_ref().map(|p| Image {
            url: abs(state, &p.path()),
            mime: p.mime.clone(),
            length: sizes.get(&p.id).copied(),
        }),
    }
}

fn internal(what: &str) -> impl FnOnce(String) -> AppError + '_ {
    move |e| AppError::Internal(format!("writing the {what} feed: {e}"))
}

fn rfc2822(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).to_rfc2822()
}

fn fixed(t: DateTime<Utc>, tz: Tz) -> DateTime<chrono::FixedOffset> {
    t.with_timezone(&tz).fixed_offset()
}

fn write_rss(feed: &Feed) -> Result<String, AppError> {
    use rss::extension::atom::{AtomExtension, Link};
    use rss::extension::dublincore::DublinCoreExtension;

    let items = feed
        .items
        .iter()
        .map(|i| rss::Item {
            title: Some(i.title.clone()),
            link: Some(i.url.clone()),
            // RSS descriptions are HTML: the plain-text lead is escaped once for it.
            description: Some(html::escape(&i.summary)),
            categories: i
                .categories
                .iter()
                .map(|c| rss::Category { name: c.label.clone(), domain: Some(c.scheme.clone()) })
                .collect(),
            enclosure: i.image.as_ref().map(|im| rss::Enclosure {
                url: im.url.clone(),
                length: im.length.unwrap_or(0).to_string(),
                mime_type: im.mime.clone(),
            }),
            guid: Some(rss::Guid { value: i.guid.clone(), permalink: true }),
            pub_date: Some(rfc2822(i.published, feed.tz)),
            content: Some(i.content_html.clone()),
            dublin_core_ext: (!i.authors.is_empty()).then(|| DublinCoreExtension {
                creators: i.authors.iter().map(|a| a.name.clone()).collect(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let channel = rss::Channel {
        title: feed.title.clone(),
        link: feed.home.clone(),
        description: feed.description.clone(),
        language: Some(feed.lang.clone()),
        last_build_date: Some(rfc2822(feed.updated, feed.tz)),
        generator: Some(GENERATOR.into()),
        ttl: Some("5".into()),
        items,
        atom_ext: Some(AtomExtension {
            links: vec![Link {
                href: feed.self_url(FeedFormat::Rss),
                rel: "self".into(),
                mime_type: Some(FeedFormat::Rss.mime().into()),
                ..Default::default()
            }],
        }),
        ..Default::default()
    };
    let bytes = channel.write_to(Vec::new()).map_err(|e| e.to_string()).map_err(internal("RSS"))?;
    let xml = String::from_utf8(bytes).map_err(|e| e.to_string()).map_err(internal("RSS"))?;
    // The writer passes control characters through; XML cannot carry them (see `text::xml_safe`).
    Ok(text::xml_safe(&xml).into_owned())
}

fn write_atom(feed: &Feed) -> Result<String, AppError> {
    use atom_syndication::{Content, Entry, Feed as AtomFeed, Generator, Link, Person as AtomPerson, Text};

    let person = |p: &Person| AtomPerson { name: p.name.clone(), uri: Some(p.url.clone()), ..Default::default() };
    let entries = feed
        .items
        .iter()
        .map(|i| {
            let mut links = vec![Link {
                href: i.url.clone(),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            }];
            if let Some(im) = &i.image {
                links.push(Link {
                    href: im.url.clone(),
                    rel: "enclosure".into(),
                    mime_type: Some(im.mime.clone()),
                    length: im.length.map(|n| n.to_string()),
                    ..Default::default()
                });
            }
            Entry {
                title: Text::plain(i.title.clone()),
                id: i.guid.clone(),
                updated: fixed(i.modified, feed.tz),
                published: Some(fixed(i.published, feed.tz)),
                authors: i.authors.iter().map(person).collect(),
                categories: i
                    .categories
                    .iter()
                    .map(|c| atom_syndication::Category {
                        term: c.term.clone(),
                        scheme: Some(c.scheme.clone()),
                        label: Some(c.label.clone()),
                    })
                    .collect(),
                links,
                summary: Some(Text::plain(i.summary.clone())),
                content: Some(Content {
                    value: Some(i.content_html.clone()),
                    content_type: Some("html".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let atom = AtomFeed {
        title: Text::plain(feed.title.clone()),
        id: feed.self_url(FeedFormat::Atom),
        updated: fixed(feed.updated, feed.tz),
        // Entries without a byline are the agency's.
        authors: vec![person(&feed.publisher)],
        generator: Some(Generator { value: GENERATOR.into(), ..Default::default() }),
        links: vec![
            Link {
                href: feed.self_url(FeedFormat::Atom),
                rel: "self".into(),
                mime_type: Some(FeedFormat::Atom.mime().into()),
                ..Default::default()
            },
            Link {
                href: feed.home.clone(),
                rel: "alternate".into(),
                mime_type: Some("text/html".into()),
                ..Default::default()
            },
        ],
        subtitle: Some(Text::plain(feed.description.clone())),
        lang: Some(feed.lang.clone()),
        entries,
        ..Default::default()
    };
    let bytes = atom.write_to(Vec::new()).map_err(|e| e.to_string()).map_err(internal("Atom"))?;
    let xml = String::from_utf8(bytes).map_err(|e| e.to_string()).map_err(internal("Atom"))?;
    // The writer passes control characters through; XML cannot carry them (see `text::xml_safe`).
    Ok(text::xml_safe(&xml).into_owned())
}

fn write_json(feed: &Feed) -> Result<String, AppError> {
    let person = |p: &Person| serde_json::json!({ "name": p.name, "url": p.url });
    let items: Vec<serde_json::Value> = feed
        .items
        .iter()
        .map(|i| {
            let mut item = serde_json::json!({
                "id": i.guid,
                "url": i.url,
                "title": i.title,
                "content_html": i.content_html,
                "summary": i.summary,
                "date_published": dates::iso8601(i.published, feed.tz),
                "date_modified": dates::iso8601(i.modified, feed.tz),
                "tags": i.categories.iter().map(|c| c.label.clone()).collect::<Vec<_>>(),
                "language": feed.lang,
            });
            if !i.authors.is_empty() {
                item["authors"] = i.authors.iter().map(person).collect();
            }
            if let Some(im) = &i.image {
                item["image"] = im.url.clone().into();
                let mut attachment = serde_json::json!({ "url": im.url, "mime_type": im.mime });
                if let Some(n) = im.length {
                    attachment["size_in_bytes"] = n.into();
                }
                item["attachments"] = serde_json::json!([attachment]);
            }
            item
        })
        .collect();
    let doc = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": feed.home,
        "feed_url": feed.self_url(FeedFormat::Json),
        "description": feed.description,
        "language": feed.lang,
        "authors": [person(&feed.publisher)],
        "items": items,
    });
    serde_json::to_string_pretty(&doc).map_err(|e| e.to_string()).map_err(internal("JSON"))
}

/// The edition's newest public corrections as RSS 2.0 (`/corrections/feed.rss`),
/// one item per correction (its guid names the correction); cached with the
/// corrections page's dependency.
pub(crate) async fn corrections_rss(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let key = uri.path().to_string();
    let st = state.clone();
    cached(&state, key, &headers, || async move {
        let state = &st;
        let edition = edition(state);
        let list = state.store.recent_corrections(edition.id, crate::site::CORRECTIONS).await?;
        let items: Vec<Item> = list
            .iter()
            .map(|c| {
                let news_id = c.correction.news_id;
                Item {
                    news_id,
                    guid: format!("{}#correction-{}", abs(state, &format!("/news/{news_id}")), c.correction.id),
                    url: abs(state, &format!("/news/{news_id}/{}", c.slug)),
                    title: c.headline.clone(),
                    summary: c.correction.note.clone(),
                    content_html: format!("<p>{}</p>", html::escape(&c.correction.note)),
                    published: c.correction.at,
                    modified: c.correction.at,
                    authors: Vec::new(),
                    categories: Vec::new(),
                    image: None,
                }
            })
            .collect();
        let dep = crate::site::corrections_dep(edition.id);
        let feed = Feed {
            title: format!("{} - {}", state.templates.text(&edition.lang, "corrections.title", &[]), edition.name),
            description: state.templates.text(
                &edition.lang,
                "corrections.description",
                &[("edition", edition.name.as_str())],
            ),
            home: abs(state, "/corrections"),
            base: abs(state, "/corrections"),
            lang: edition.lang.clone(),
            tz: edition.time_zone,
            publisher: Person { name: edition.name.clone(), url: abs(state, "/") },
            updated: items.iter().map(|i| i.modified).max().unwrap_or_else(Utc::now),
            dep: dep.clone(),
            items,
        };
        let body = write_rss(&feed)?;
        let modified = feed.items.iter().map(|i| i.modified).max();
        Ok(Rendered::Page(CachedPage::document(body, FeedFormat::Rss.content_type(), CC_FEED, modified, vec![dep])))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_feed_paths_are_recognised() {
        assert_eq!(split_section_feed("iran/feed.rss"), Some(("iran", FeedFormat::Rss)));
        assert_eq!(split_section_feed("iran/defense/feed.atom"), Some(("iran/defense", FeedFormat::Atom)));
        assert_eq!(split_section_feed("iran/feed.json"), Some(("iran", FeedFormat::Json)));
        assert_eq!(split_section_feed("feed.rss"), None);
        assert_eq!(split_section_feed("iran"), None);
        assert_eq!(split_section_feed("iranfeed.rss"), None);
    }

    #[test]
    fn pages_announce_their_feeds() {
        let p = "https://news.example";
        let home = alternates(p, "Agency", "https://news.example/", "Agency");
        assert_eq!(home.len(), 3);
        assert_eq!(home[0].href, "https://news.example/feed.rss");
        assert_eq!(home[2].mime, "application/feed+json");
        let section = alternates(p, "Agency", "https://news.example/section/iran?before=1-2", "Iran - Agency");
        assert_eq!(section.len(), 6);
        assert_eq!(section[4].href, "https://news.example/section/iran/feed.atom");
        assert_eq!(section[4].title, "Iran - Agency (Atom)");
        let tag = alternates(p, "Agency", "https://news.example/tag/defense", "Defense - Agency");
        assert_eq!(tag[3].href, "https://news.example/tag/defense/feed.rss");
        assert_eq!(alternates(p, "Agency", "https://news.example/news/1/x", "X").len(), 3);
    }
}
