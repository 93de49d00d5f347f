//! The reader site: home, story, section, tag, author and archive pages,
//! media, the stylesheet and the health checks.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use minijinja::Value;
use newsdesk_domain::{Edition, Section, Story, StoryStatus, dates};
use newsdesk_storage::{Cursor, StoryFilter};
use serde::Deserialize;
use sha2::Digest;

use crate::cache::{CachedPage, Chrome, ChromeLookup, next_version};
use crate::error::ErrorPage;
use crate::render::{Link, Meta, PhotoView, Teaser, page_ctx, script_json, section_link};
use crate::{AppError, AppState, http, views};

/// Stories per list page.
const PAGE_SIZE: i64 = 20;
/// Stories in the "Latest" box.
const LATEST: i64 = 10;
/// Related stories under a story.
const RELATED: i64 = 5;

const CC_STORY: &str = "public, max-age=60, stale-while-revalidate=300";
const CC_LIST: &str = "public, max-age=30, stale-while-revalidate=120";

/// Routes of the reader site.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/news/{id}", get(story_short))
        .route("/news/{id}/{slug}", get(story))
        .route("/section/{*path}", get(section))
        .route("/tag/{slug}", get(tag))
        .route("/author/{slug}", get(author))
        .route("/archive/{y}/{m}/{d}", get(archive))
        .route("/most-visited", get(most_visited))
        .route("/media/{file}", get(media))
        .route("/static/site.css", get(stylesheet))
        .route("/static/logo.svg", get(logo))
        .route("/robots.txt", get(robots))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
}

/// Hex SHA-256 of `bytes`.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

use crate::editions::empty_edition;

/// The edition a request is for: the one its path prefix names (see [`crate::editions`]).
pub(crate) fn edition(state: &AppState) -> Edition {
    crate::editions::current(state)
}

/// The message `key` of the edition's catalog, placeholders filled.
fn tr(state: &AppState, edition: &Edition, key: &str, args: &[(&str, &str)]) -> String {
    state.templates.text(&edition.lang, key, args)
}

/// The edition's current fragments, built once per change and at least every
/// [`CHROME_TTL`](crate::cache::CHROME_TTL). While the database is unavailable
/// the last good fragments are served (or none, if a change dropped them just
/// before), so cached pages keep answering.
pub(crate) async fn chrome(state: &AppState, edition: &Edition) -> Result<Arc<Chrome>, AppError> {
    let expired = match state.chrome.lookup(edition.id) {
        ChromeLookup::Fresh(c) => return Ok(c),
        ChromeLookup::Expired(c) => Some(c),
        ChromeLookup::Missing => None,
    };
    match build_chrome(state, edition).await {
        Ok(c) => Ok(c),
        Err(e) if e.is_unavailable() => {
            newsdesk_storage::outage::log().failed("the edition's sidebar", &e);
            Ok(expired.unwrap_or_else(|| {
                // Nothing kept: the page without its sidebar fragments, rather than no page.
                let empty = Arc::new(Chrome {
                    version: next_version(),
                    updated_in: String::new(),
                    latest: String::new(),
                    most_visited: String::new(),
                    updated_at: None,
                });
                state.chrome.keep_while_unavailable(edition.id, empty.clone());
                empty
            }))
        }
        Err(e) => Err(e),
    }
}

/// Builds the edition's fragments from the database and caches them.
async fn build_chrome(state: &AppState, edition: &Edition) -> Result<Arc<Chrome>, AppError> {
    let generation = state.pages.generation();
    let updated_at = state.store.edition_updated_at(edition.id).await?;
    let latest = state.store.published(&StoryFilter::Edition(edition.id), None, LATEST).await?;
    let sections = state.store.sections(edition.id).await?;
    let teasers: Vec<Teaser> =
        latest.iter().map(|s| Teaser::new(s, edition, &sections, &state.config.public_url)).collect();
    let updated_in = match updated_at {
        Some(t) => format!(
            "<p class=\"updated\">{} <time datetime=\"{}\">{}</time></p>",
            newsdesk_domain::html::escape(&tr(state, edition, "site.updated_in", &[])),
            dates::iso8601(t, edition.time_zone),
            edition.format_long(t)
        ),
        None => String::new(),
    };
    let lang = edition.lang.clone();
    let latest = state.templates.render("latest.html", minijinja::context! { latest => teasers, lang => lang })?;
    let ranked = state.store.most_visited(edition.id, None, Utc::now() - Duration::hours(24), 10).await?;
    let ranked: Vec<Teaser> =
        ranked.iter().map(|(s, _)| Teaser::new(s, edition, &sections, &state.config.public_url)).collect();
    let most_visited = state.templates.render(
        "most_visited.html",
        minijinja::context! { items => ranked, lang => edition.lang.clone(), prefix => edition.prefix() },
    )?;
    let c = Arc::new(Chrome { version: next_version(), updated_in, latest, most_visited, updated_at });
    if state.pages.generation() == generation {
        state.chrome.insert(edition.id, c.clone());
    }
    Ok(c)
}

/// Cache key of a request: its path and the query parameters a page reads.
pub(crate) fn cache_key(uri: &Uri, before: Option<&str>) -> String {
    match before {
        Some(b) => format!("{}?before={b}", uri.path()),
        None => uri.path().to_string(),
    }
}

/// What a page handler produces on a cache miss.
pub(crate) enum Rendered {
    /// A page to cache and serve.
    Page(CachedPage),
    /// Any other answer (redirect, ...), not cached.
    Other(Response),
}

/// Serves `key` from the cache, or renders it with `render` and caches it.
pub(crate) async fn cached<F, Fut>(
    state: &AppState,
    key: String,
    headers: &HeaderMap,
    render: F,
) -> Result<Response, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Rendered, AppError>>,
{
    cached_page(state, key, headers, None, crate::comments::Deco::None, render).await
}

/// Who asked, for counting views of pages that count them.
pub(crate) struct Reader<'a> {
    method: &'a Method,
    peer: Option<SocketAddr>,
}

/// [`cached`], counting a view for pages that carry a view target.
async fn cached_page<F, Fut>(
    state: &AppState,
    key: String,
    headers: &HeaderMap,
    reader: Option<Reader<'_>>,
    deco: crate::comments::Deco,
    render: F,
) -> Result<Response, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Rendered, AppError>>,
{
    let edition = edition(state);
    // `/` of the Persian edition is cached as `/fa/`: one entry per edition.
    let key = crate::editions::url(&key);
    let page = match state.pages.get(&key) {
        Some(page) => {
            crate::metrics::page_cache_hit();
            page
        }
        None => {
            crate::metrics::page_cache_miss();
            let generation = state.pages.generation();
            match render().await {
                Ok(Rendered::Page(page)) => {
                    let page = Arc::new(page);
                    state.pages.insert(key, page.clone(), generation);
                    page
                }
                Ok(Rendered::Other(res)) => return Ok(res),
                // Stale if error: the rendering from before a list gained a story.
                Err(e) if e.is_unavailable() => match state.pages.last_good(&key) {
                    Some(page) => {
                        newsdesk_storage::outage::log().failed("a page (its last good rendering is served)", &e);
                        page
                    }
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    };
    if let (Some(reader), Some((news_id, edition_id, section_id))) = (reader, page.view) {
        let ip = views::client_ip(reader.peer, headers, &state.config.trusted_proxies);
        let visit = views::Visit { news_id, edition_id, section_id, ip, method: reader.method, headers };
        state.views.record(&visit, Utc::now());
    }
    let chrome = chrome(state, &edition).await?;
    Ok(crate::comments::serve(&page, &chrome, headers, deco))
}

/// The TCP peer of the request, when the server provides it.
pub(crate) struct Peer(pub(crate) Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

pub(crate) fn list_dep_edition(edition_id: i64) -> String {
    format!("list:edition:{edition_id}")
}

pub(crate) fn list_dep_section(edition_id: i64, path: &str) -> String {
    format!("list:section:{edition_id}:{path}")
}

pub(crate) fn list_dep_day(edition_id: i64, day: NaiveDate) -> String {
    format!("list:day:{edition_id}:{day}")
}

/// The list pages a published story appears in (edition, each section level,
/// tags, authors, its day), as cache dependency keys.
pub async fn list_deps_of(state: &AppState, story: &Story) -> Result<Vec<String>, AppError> {
    let editions = state.editions.load();
    let tz = editions.iter().find(|e| e.id == story.edition_id).map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
    let mut deps = vec![list_dep_edition(story.edition_id)];
    let sections = state.store.sections(story.edition_id).await?;
    if let Some(s) = sections.iter().find(|s| s.id == story.section_id) {
        let mut path = String::new();
        for seg in s.path.split('/') {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(seg);
            deps.push(list_dep_section(story.edition_id, &path));
        }
    }
    deps.extend(story.tags.iter().map(|t| format!("list:tag:{}", t.id)));
    deps.extend(story.authors.iter().map(|a| format!("list:author:{}", a.id)));
    if let Some(p) = story.published_at {
        deps.push(list_dep_day(story.edition_id, p.with_timezone(&tz).date_naive()));
    }
    Ok(deps)
}

pub(crate) fn story_deps(ids: impl IntoIterator<Item = i64>) -> Vec<String> {
    ids.into_iter().map(|id| format!("story:{id}")).collect()
}

fn render_page(
    state: &AppState,
    edition: &Edition,
    sections: &[Section],
    template: &str,
    meta: &Meta,
    main: Value,
) -> Result<String, AppError> {
    // The language switcher (`editions`), beside what the page itself says.
    let main = minijinja::context! { editions => crate::editions::edition_links(state, edition), ..main };
    let ctx = page_ctx(edition, sections, &state.templates, meta, &state.config.public_url, main);
    state.templates.render(template, ctx)
}

pub(crate) fn abs(state: &AppState, path: &str) -> String {
    // Percent-encoded: Persian and Arabic slugs go into headers, sitemaps and feeds as well.
    crate::editions::encode_location(&format!("{}{}", state.config.public_url, crate::editions::url(path)))
}

// ----- home -----

async fn home(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Result<Response, AppError> {
    let key = cache_key(&uri, None);
    cached(&state, key, &headers, || async {
        let edition = edition(&state);
        let sections = state.store.sections(edition.id).await?;
        let latest = state.store.published(&StoryFilter::Edition(edition.id), None, 25).await?;
        let public_url = &state.config.public_url;
        let mut teasers: Vec<Teaser> = latest.iter().map(|s| Teaser::new(s, &edition, &sections, public_url)).collect();
        with_thumbnails(&state, &mut teasers).await?;
        let mut shown: Vec<i64> = teasers.iter().map(|t| t.news_id).collect();
        let mut blocks = Vec::new();
        for s in sections.iter().filter(|s| s.parent_id.is_none()) {
            let items = state
                .store
                .published(&StoryFilter::Section { edition_id: edition.id, path: s.path.clone() }, None, 5)
                .await?;
            if items.is_empty() {
                continue;
            }
            shown.extend(items.iter().map(|i| i.news_id));
            let mut items: Vec<Teaser> =
                items.iter().map(|i| Teaser::new(i, &edition, &sections, public_url)).collect();
            with_thumbnails(&state, &mut items).await?;
            blocks.push(minijinja::context! { section => section_link(s), items => items });
        }
        let top = teasers.first().cloned();
        let next: Vec<Teaser> = teasers.iter().skip(1).take(4).cloned().collect();
        let rest: Vec<Teaser> = teasers.iter().skip(5).cloned().collect();
        let description = tr(&state, &edition, "site.home_description", &[("edition", &edition.name)]);
        let meta = Meta {
            title: edition.name.clone(),
            description,
            canonical: abs(&state, "/"),
            og_type: "website",
            image: top.as_ref().and_then(|t| t.photo.as_ref().map(|p| p.abs.clone())),
            image_alt: top.as_ref().and_then(|t| t.photo.as_ref().map(|p| p.alt.clone())),
            jsonld: Some(script_json(&serde_json::json!({
                "@context": "https://schema.org",
                "@type": "WebSite",
                "name": edition.name,
                "url": abs(&state, "/"),
                "inLanguage": edition.lang,
            }))),
            noindex: false,
        };
        let html = render_page(
            &state,
            &edition,
            &sections,
            "home.html",
            &meta,
            minijinja::context! { top => top, next => next, rest => rest, blocks => blocks },
        )?;
        let mut deps = story_deps(shown);
        deps.push(list_dep_edition(edition.id));
        let modified = latest.first().map(|s| s.updated_at.unwrap_or(s.published_at).max(s.published_at));
        Ok(Rendered::Page(CachedPage::new(&html, CC_LIST, modified, deps)))
    })
    .await
}

// ----- story -----

/// A 301 to `path` (permanent: the canonical URL of a story never changes).
fn moved(path: &str) -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [
            (header::LOCATION, crate::editions::encode_location(path)),
            (header::CACHE_CONTROL, "public, max-age=3600".to_string()),
        ],
    )
        .into_response()
}

fn parse_news_id(id: &str) -> Result<i64, AppError> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AppError::NotFound)
}

async fn load_public_story(state: &AppState, id: i64) -> Result<Story, AppError> {
    let story = state.store.story(id).await?.ok_or(AppError::NotFound)?;
    match story.status {
        StoryStatus::Published if story.published_at.is_some() => Ok(story),
        StoryStatus::Killed => {
            let note = state.store.story_extras(id).await?.map(|e| e.public_note).unwrap_or_default();
            Err(if note.trim().is_empty() { AppError::Gone } else { AppError::Withdrawn(note) })
        }
        s if s.is_gone() => Err(AppError::Gone),
        _ => Err(AppError::NotFound),
    }
}

async fn story_short(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    let id = parse_news_id(&id)?;
    let story = load_public_story(&state, id).await?;
    Ok(moved(&crate::editions::story_path(&state, story.edition_id, story.news_id, &story.slug)))
}

async fn story(
    State(state): State<AppState>,
    Path((id, slug)): Path<(String, String)>,
    uri: Uri,
    method: Method,
    Peer(peer): Peer,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let id = parse_news_id(&id)?;
    let key = cache_key(&uri, None);
    // `?comment=…` and `?reply=…` answer from the same cached page, decorated for this reader.
    let deco = crate::comments::decoration(&state, id, raw.as_deref()).await?;
    story_response(&state, id, &slug, key, &headers, Some(Reader { method: &method, peer }), deco).await
}

/// The story page `id` (cached under `key`), decorated for one reader by `deco`
/// (the comment form's answers use it for errors).
pub(crate) async fn story_page(
    state: &AppState,
    id: i64,
    slug: &str,
    key: &str,
    headers: &HeaderMap,
    deco: crate::comments::Deco,
) -> Result<Response, AppError> {
    story_response(state, id, slug, key.to_string(), headers, None, deco).await
}

async fn story_response(
    state: &AppState,
    id: i64,
    slug: &str,
    key: String,
    headers: &HeaderMap,
    reader: Option<Reader<'_>>,
    deco: crate::comments::Deco,
) -> Result<Response, AppError> {
    let state = state.clone();
    cached_page(&state, key, headers, reader, deco, || async {
        let story = load_public_story(&state, id).await?;
        // A wrong slug, or a story asked for under another edition's prefix.
        if story.slug != slug || story.edition_id != edition(&state).id {
            return Ok(Rendered::Other(moved(&crate::editions::story_path(
                &state,
                story.edition_id,
                story.news_id,
                &story.slug,
            ))));
        }
        Ok(Rendered::Page(render_story(&state, &story, false).await?))
    })
    .await
}

/// Renders the page of `story` (any state when `preview`: the back office
/// shows unpublished stories this way, marked and kept out of search engines).
pub(crate) async fn render_story(state: &AppState, story: &Story, preview: bool) -> Result<CachedPage, AppError> {
    let edition =
        state.editions.load().iter().find(|e| e.id == story.edition_id).cloned().unwrap_or_else(empty_edition);
    // Links and dates in the story's own edition, whoever asks (the back office's preview too).
    crate::editions::scope(edition.clone(), render_story_in(state, story, preview, edition)).await
}

async fn render_story_in(
    state: &AppState,
    story: &Story,
    preview: bool,
    edition: Edition,
) -> Result<CachedPage, AppError> {
    let tz = edition.time_zone;
    let sections = state.store.sections(edition.id).await?;
    let related = state.store.related(story, RELATED).await?;
    let public_url = &state.config.public_url;
    let related: Vec<Teaser> = related.iter().map(|s| Teaser::new(s, &edition, &sections, public_url)).collect();
    let mut breadcrumb = Vec::new();
    let mut section_name = String::new();
    if let Some(s) = sections.iter().find(|s| s.id == story.section_id) {
        section_name = s.name.clone();
        let mut cur = Some(s);
        while let Some(c) = cur {
            breadcrumb.push(section_link(c));
            cur = c.parent_id.and_then(|p| sections.iter().find(|x| x.id == p));
        }
        breadcrumb.reverse();
    }
    let published = story.published_at.unwrap_or(story.created_at);
    let correction_note =
        state.store.story_extras(story.news_id).await?.map(|e| e.correction_note).filter(|n| !n.trim().is_empty());
    // A correction is always shown as an update, even one made in the second the story went out.
    let updated = story.updated_at.filter(|u| *u > published || (correction_note.is_some() && *u >= published));
    let correction = correction_note.filter(|_| updated.is_some());
    let modified = updated.unwrap_or(published);
    let canonical = abs(state, &story.path());
    // The other languages of this story, for readers and for `hreflang`.
    let mut translations = Vec::new();
    for t in state.store.translations(story.news_id).await? {
        if t.status != StoryStatus::Published {
            continue;
        }
        let path = crate::editions::story_path(state, t.edition_id, t.news_id, &t.slug);
        translations.push(minijinja::context! {
            lang => t.lang,
            label => crate::editions::endonym(&t.lang),
            headline => t.headline,
            url => path.clone(),
            href => crate::editions::encode_location(&format!("{}{path}", state.config.public_url)),
        });
    }
    let photo = match story.photo.as_ref() {
        Some(p) => Some(
            PhotoView::new(p, &story.headline, public_url).with_renditions(&state.store.photo_renditions(p.id).await?),
        ),
        None => None,
    };
    let authors: Vec<Link> = story
        .authors
        .iter()
        .map(|a| Link { name: a.name.clone(), url: crate::editions::url(&format!("/author/{}", a.slug)) })
        .collect();
    let tags: Vec<Link> = story
        .tags
        .iter()
        .map(|t| Link { name: t.name.clone(), url: crate::editions::url(&format!("/tag/{}", t.slug)) })
        .collect();
    let jsonld_authors: Vec<serde_json::Value> = if authors.is_empty() {
        vec![serde_json::json!({ "@type": "Organization", "name": edition.name, "url": abs(state, "/") })]
    } else {
        authors
            .iter()
            .map(|a| serde_json::json!({ "@type": "Person", "name": a.name, "url": abs(state, &a.url) }))
            .collect()
    };
    let jsonld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": { "@type": "WebPage", "@id": canonical },
        "url": canonical,
        "headline": story.headline,
        "description": story.lead,
        "identifier": story.news_id.to_string(),
        "datePublished": dates::iso8601(published, tz),
        "dateModified": dates::iso8601(modified, tz),
        "author": jsonld_authors,
        "image": photo.as_ref().map(|p| vec![p.abs.clone()]).unwrap_or_else(|| vec![abs(state, "/static/logo.svg")]),
        "articleSection": section_name,
        "keywords": story.tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
        "inLanguage": edition.lang,
        "publisher": {
            "@type": "Organization",
            "name": edition.name,
            "url": abs(state, "/"),
            "logo": { "@type": "ImageObject", "url": abs(state, "/static/logo.svg") },
        },
    });
    let meta = Meta {
        title: format!("{} - {}", story.headline, edition.name),
        description: story.lead.clone(),
        canonical: canonical.clone(),
        og_type: "article",
        image: photo.as_ref().map(|p| p.abs.clone()),
        image_alt: photo.as_ref().map(|p| p.alt.clone()),
        jsonld: Some(script_json(&jsonld)),
        noindex: preview,
    };
    let share_url = canonical.clone();
    let view = minijinja::context! {
        story => minijinja::context! {
            news_id => story.news_id,
            headline => story.headline,
            lead => story.lead,
            body_html => Value::from_safe_string(story.body_html.clone()),
            published => edition.format_long(published),
            published_iso => dates::iso8601(published, tz),
            updated => updated.map(|u| edition.format_long(u)),
            updated_iso => updated.map(|u| dates::iso8601(u, tz)),
            correction => correction,
            modified_iso => dates::iso8601(modified, tz),
            photo => photo,
            authors => authors,
            tags => tags,
            section => section_name,
        },
        breadcrumb => breadcrumb,
        preview => preview,
        related => related,
        translations => translations,
        share => share_links(&share_url, &story.headline),
        comments => crate::comments::story_ctx(state, story, &edition).await?,
    };
    let html = render_page(state, &edition, &sections, "story.html", &meta, view)?;
    let deps = story_deps(std::iter::once(story.news_id).chain(related.iter().map(|r| r.news_id)));
    let mut page = CachedPage::new(&html, CC_STORY, Some(story.modified_at), deps);
    page.view = Some((story.news_id, story.edition_id, story.section_id));
    Ok(page)
}

fn share_links(url: &str, title: &str) -> Vec<Link> {
    let u = urlencode(url);
    let t = urlencode(title);
    vec![
        Link { name: "X".into(), url: format!("https://x.com/intent/post?url={u}&text={t}") },
        Link { name: "Facebook".into(), url: format!("https://www.facebook.com/sharer/sharer.php?u={u}") },
        Link { name: "Telegram".into(), url: format!("https://t.me/share/url?url={u}&text={t}") },
        Link { name: "WhatsApp".into(), url: format!("https://wa.me/?text={t}%20{u}") },
        Link { name: "Email".into(), url: format!("mailto:?subject={t}&body={u}") },
    ]
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

// ----- lists -----

#[derive(Debug, Deserialize)]
struct ListQuery {
    before: Option<String>,
}

fn cursor_of(q: &ListQuery) -> Result<Option<Cursor>, AppError> {
    match q.before.as_deref() {
        None | Some("") => Ok(None),
        Some(b) => Cursor::decode(b)
            .map(Some)
            .ok_or_else(|| AppError::BadRequest(format!("`before` must look like 1700000000-84427, found `{b}`"))),
    }
}

fn parse_list_query(raw: Option<String>) -> Result<ListQuery, AppError> {
    let raw = raw.unwrap_or_default();
    Query::<ListQuery>::try_from_uri(
        &format!("/?{raw}").parse::<Uri>().map_err(|_| AppError::BadRequest("malformed query string".into()))?,
    )
    .map(|q| q.0)
    .map_err(|e| AppError::BadRequest(format!("malformed query string: {e}")))
}

/// What a list page shows.
struct ListSpec {
    title: String,
    kicker: String,
    description: String,
    filter: StoryFilter,
    dep: String,
    children: Vec<Link>,
    breadcrumb: Vec<Link>,
    extra_nav: Vec<Link>,
    noindex: bool,
}

async fn list_page(
    state: &AppState,
    uri: &Uri,
    raw: Option<String>,
    headers: &HeaderMap,
    spec: impl Future<Output = Result<ListSpec, AppError>>,
) -> Result<Response, AppError> {
    let q = parse_list_query(raw)?;
    let cursor = cursor_of(&q)?;
    let key = cache_key(uri, cursor.map(|c| c.encode()).as_deref());
    // Pager links stay inside the edition (`/fa/section/iran?before=…`).
    let path = crate::editions::url(uri.path());
    cached(state, key, headers, || async move {
        let spec = spec.await?;
        let edition = edition(state);
        let sections = state.store.sections(edition.id).await?;
        let mut items = state.store.published(&spec.filter, cursor, PAGE_SIZE + 1).await?;
        let more = items.len() as i64 > PAGE_SIZE;
        items.truncate(PAGE_SIZE as usize);
        let next =
            if more { items.last().map(|s| format!("{path}?before={}", Cursor::after(s).encode())) } else { None };
        let public_url = &state.config.public_url;
        let mut teasers: Vec<Teaser> = items.iter().map(|s| Teaser::new(s, &edition, &sections, public_url)).collect();
        with_thumbnails(state, &mut teasers).await?;
        let canonical = match cursor {
            Some(c) => abs(state, &format!("{path}?before={}", c.encode())),
            None => abs(state, &path),
        };
        let meta = Meta {
            title: format!("{} - {}", spec.title, edition.name),
            description: spec.description.clone(),
            canonical,
            og_type: "website",
            image: None,
            image_alt: None,
            jsonld: None,
            noindex: spec.noindex,
        };
        let html = render_page(
            state,
            &edition,
            &sections,
            "list.html",
            &meta,
            minijinja::context! {
                title => spec.title,
                kicker => spec.kicker,
                items => teasers,
                next => next,
                first => cursor.map(|_| path.clone()),
                children => spec.children,
                breadcrumb => spec.breadcrumb,
                extra_nav => spec.extra_nav,
            },
        )?;
        let mut deps = story_deps(items.iter().map(|s| s.news_id));
        deps.push(spec.dep);
        let modified = items.iter().map(|s| s.updated_at.unwrap_or(s.published_at).max(s.published_at)).max();
        Ok(Rendered::Page(CachedPage::new(&html, CC_LIST, modified, deps)))
    })
    .await
}

async fn section(
    State(state): State<AppState>,
    Path(path): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let path = path.trim_end_matches('/').to_string();
    if let Some((section, format)) = crate::feeds::split_section_feed(&path) {
        return crate::feeds::section_feed(&state, section, format, &uri, &headers).await;
    }
    let st = state.clone();
    list_page(&state, &uri, raw, &headers, async move {
        let edition = edition(&st);
        let sections = st.store.sections(edition.id).await?;
        let Some(s) = sections.iter().find(|s| s.path == path) else {
            return Err(match st.store.section_redirect(edition.id, &path).await? {
                Some(to) => AppError::Moved(crate::editions::url(&format!("/section/{to}"))),
                None => AppError::NotFound,
            });
        };
        let children = sections.iter().filter(|c| c.parent_id == Some(s.id)).map(section_link).collect();
        let mut breadcrumb = Vec::new();
        let mut cur = s.parent_id.and_then(|p| sections.iter().find(|x| x.id == p));
        while let Some(c) = cur {
            breadcrumb.push(section_link(c));
            cur = c.parent_id.and_then(|p| sections.iter().find(|x| x.id == p));
        }
        breadcrumb.reverse();
        Ok(ListSpec {
            title: s.name.clone(),
            kicker: tr(&st, &edition, "list.section", &[]),
            description: tr(
                &st,
                &edition,
                "list.section_description",
                &[("section", &s.name), ("edition", &edition.name)],
            ),
            filter: StoryFilter::Section { edition_id: edition.id, path: s.path.clone() },
            dep: list_dep_section(edition.id, &s.path),
            children,
            breadcrumb,
            extra_nav: Vec::new(),
            noindex: false,
        })
    })
    .await
}

async fn tag(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let st = state.clone();
    list_page(&state, &uri, raw, &headers, async move {
        let edition = edition(&st);
        let Some(t) = st.store.tag_by_slug(edition.id, &slug).await? else {
            return Err(match st.store.tag_redirect(edition.id, &slug).await? {
                Some(to) => AppError::Moved(crate::editions::url(&format!("/tag/{to}"))),
                None => AppError::NotFound,
            });
        };
        Ok(ListSpec {
            title: t.name.clone(),
            kicker: tr(&st, &edition, "list.tag", &[]),
            description: tr(&st, &edition, "list.tag_description", &[("tag", &t.name), ("edition", &edition.name)]),
            filter: StoryFilter::Tag(t.id),
            dep: format!("list:tag:{}", t.id),
            children: Vec::new(),
            breadcrumb: Vec::new(),
            extra_nav: Vec::new(),
            noindex: false,
        })
    })
    .await
}

async fn author(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    uri: Uri,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let st = state.clone();
    list_page(&state, &uri, raw, &headers, async move {
        let edition = edition(&st);
        let a = st.store.author_by_slug(&slug).await?.ok_or(AppError::NotFound)?;
        Ok(ListSpec {
            title: a.name.clone(),
            kicker: tr(&st, &edition, "list.author", &[]),
            description: tr(
                &st,
                &edition,
                "list.author_description",
                &[("author", &a.name), ("edition", &edition.name)],
            ),
            filter: StoryFilter::Author { edition_id: edition.id, author_id: a.id },
            dep: format!("list:author:{}", a.id),
            children: Vec::new(),
            breadcrumb: Vec::new(),
            extra_nav: Vec::new(),
            noindex: false,
        })
    })
    .await
}

async fn archive(
    State(state): State<AppState>,
    Path((y, m, d)): Path<(String, String, String)>,
    uri: Uri,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let bad = || AppError::NotFound;
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let day = NaiveDate::from_ymd_opt(
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    )
    .ok_or_else(bad)?;
    let st = state.clone();
    list_page(&state, &uri, raw, &headers, async move {
        let edition = edition(&st);
        let tz = edition.time_zone;
        let start = |day: NaiveDate| {
            dates::local_to_utc(day.and_hms_opt(0, 0, 0).unwrap_or_default(), tz).map_err(|_| AppError::NotFound)
        };
        let from = start(day)?;
        let to = start(day + Duration::days(1))?;
        let link = |day: NaiveDate, label: &str| Link {
            name: format!("{label} {}", edition.format_day(start(day).unwrap_or(from))),
            url: crate::editions::url(&format!("/archive/{:04}/{:02}/{:02}", day.year(), day.month(), day.day())),
        };
        let mut extra_nav = vec![link(day - Duration::days(1), "←")];
        if to <= Utc::now() {
            extra_nav.push(link(day + Duration::days(1), "→"));
        }
        Ok(ListSpec {
            title: tr(&st, &edition, "list.archive_title", &[("day", &edition.format_day(from))]),
            kicker: tr(&st, &edition, "list.archive", &[]),
            description: tr(
                &st,
                &edition,
                "list.archive_description",
                &[("day", &edition.format_day(from)), ("edition", &edition.name)],
            ),
            filter: StoryFilter::Between { edition_id: edition.id, from, to },
            dep: list_dep_day(edition.id, day),
            children: Vec::new(),
            breadcrumb: Vec::new(),
            extra_nav,
            noindex: false,
        })
    })
    .await
}

// ----- most visited -----

#[derive(Debug, Deserialize)]
struct WindowQuery {
    window: Option<String>,
    section: Option<String>,
}

/// The ranking of a window (24 hours, 7 or 30 days) with view counts; not cached
/// (it changes with every flush), but cheap: one indexed aggregate.
async fn most_visited(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, AppError> {
    let uri: Uri = format!("/?{}", raw.unwrap_or_default())
        .parse()
        .map_err(|_| AppError::BadRequest("malformed query string".into()))?;
    let q = Query::<WindowQuery>::try_from_uri(&uri)
        .map_err(|e| AppError::BadRequest(format!("malformed query string: {}", e.body_text())))?
        .0;
    let window = match q.window.as_deref() {
        None | Some("") => crate::api::Window::Day,
        Some(w) => crate::api::Window::parse(w)
            .ok_or_else(|| AppError::BadRequest(format!("window must be 24h, 7d or 30d, found `{w}`")))?,
    };
    let edition = edition(&state);
    let sections = state.store.sections(edition.id).await?;
    let section = match q.section.as_deref().map(|s| s.trim_matches('/')).filter(|s| !s.is_empty()) {
        None => None,
        Some(p) => Some(
            sections
                .iter()
                .find(|s| s.path == p)
                .ok_or_else(|| AppError::BadRequest(format!("there is no section `{p}`")))?,
        ),
    };
    let ranked = state
        .store
        .most_visited(edition.id, section.map(|s| s.path.as_str()), Utc::now() - window.duration(), 30)
        .await?;
    let section_q = section.map(|s| format!("&section={}", s.path)).unwrap_or_default();
    let public_url = &state.config.public_url;
    let items: Vec<Value> = ranked
        .iter()
        .map(|(s, views)| minijinja::context! { t => Teaser::new(s, &edition, &sections, public_url), views => views })
        .collect();
    let label = tr(
        &state,
        &edition,
        match window {
            crate::api::Window::Day => "most_visited.in_day",
            crate::api::Window::Week => "most_visited.in_week",
            crate::api::Window::Month => "most_visited.in_month",
        },
        &[],
    );
    let label = match section {
        Some(s) => format!("{} in {label}", s.name),
        None => label.to_string(),
    };
    let meta = Meta {
        title: format!("{} - {}", tr(&state, &edition, "most_visited.heading", &[("label", &label)]), edition.name),
        description: tr(&state, &edition, "most_visited.description", &[("edition", &edition.name), ("label", &label)]),
        canonical: abs(&state, &format!("/most-visited?window={}{section_q}", window.as_str())),
        og_type: "website",
        image: None,
        image_alt: None,
        jsonld: None,
        noindex: true,
    };
    let windows: Vec<Value> = [crate::api::Window::Day, crate::api::Window::Week, crate::api::Window::Month]
        .iter()
        .map(|w| {
            minijinja::context! {
                url => crate::editions::url(&format!("/most-visited?window={}{section_q}", w.as_str())),
                name => tr(&state, &edition, match w {
                    crate::api::Window::Day => "most_visited.day",
                    crate::api::Window::Week => "most_visited.week",
                    crate::api::Window::Month => "most_visited.month",
                }, &[]),
                current => *w == window,
            }
        })
        .collect();
    let html = render_page(
        &state,
        &edition,
        &sections,
        "most_visited_page.html",
        &meta,
        minijinja::context! {
            label => label,
            items => items,
            windows => windows,
            scopes => std::iter::once(minijinja::context! {
                url => crate::editions::url(&format!("/most-visited?window={}", window.as_str())),
                name => tr(&state, &edition, "search.all_sections", &[]),
                current => section.is_none(),
            })
            .chain(sections.iter().filter(|s| s.parent_id.is_none()).map(|s| minijinja::context! {
                url => crate::editions::url(&format!("/most-visited?window={}&section={}", window.as_str(), s.path)),
                name => s.name,
                current => section.is_some_and(|c| c.id == s.id),
            }))
            .collect::<Vec<_>>(),
        },
    )?;
    let chrome = chrome(&state, &edition).await?;
    let page = CachedPage::new(&html, "public, max-age=30", None, Vec::new());
    let mut res = http::serve_page(&page, &chrome, &HeaderMap::new());
    res.headers_mut().remove(header::ETAG);
    Ok(res)
}

// ----- error pages -----

/// Renders the error page for `status` (called by the error middleware).
pub async fn error_page(state: &AppState, status: StatusCode, page: &ErrorPage) -> Result<String, AppError> {
    let edition = edition(state);
    // During an outage the navigation is left out rather than tried once more.
    let sections = match page.code {
        "unavailable" => Vec::new(),
        _ => state.store.sections(edition.id).await.unwrap_or_default(),
    };
    let key = match page.code {
        "not_found" | "gone" | "bad_request" | "method_not_allowed" | "unavailable" => page.code,
        _ => "other",
    };
    let title = tr(state, &edition, &format!("error.{key}"), &[]);
    // Editions in other languages say what happened in their words; the English
    // message (which may name the exact fault) stays on English pages.
    let message = match (edition.lang.as_str(), key) {
        ("en", _) | (_, "bad_request" | "method_not_allowed") => page.message.clone(),
        // A withdrawal's public note is kept after the edition's own sentence.
        (_, "gone") => match page.message.strip_prefix("This story has been withdrawn. ") {
            Some(note) => format!("{} {note}", tr(state, &edition, "error.gone_message", &[])),
            None => tr(state, &edition, "error.gone_message", &[]),
        },
        (_, k) => tr(state, &edition, &format!("error.{k}_message"), &[]),
    };
    let meta = Meta {
        title: format!("{title} - {}", edition.name),
        description: message.clone(),
        canonical: abs(state, "/"),
        og_type: "website",
        image: None,
        image_alt: None,
        jsonld: None,
        noindex: true,
    };
    let html = render_page(
        state,
        &edition,
        &sections,
        "error.html",
        &meta,
        minijinja::context! { status => status.as_u16(), title => title, message => message, code => page.code },
    )?;
    let chrome = match chrome(state, &edition).await {
        Ok(c) => c,
        Err(_) => Arc::new(Chrome {
            version: 0,
            updated_in: String::new(),
            latest: String::new(),
            most_visited: String::new(),
            updated_at: None,
        }),
    };
    // The same slot filling as cached pages, without caching the result.
    let page = CachedPage::new(&html, "no-store", None, Vec::new());
    Ok(String::from_utf8_lossy(&page.assemble(&chrome).identity).into_owned())
}

// ----- assets and operations -----

async fn media(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (sha, _ext) = file.split_once('.').ok_or(AppError::NotFound)?;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return Err(AppError::NotFound);
    }
    let etag = format!("\"{sha}\"");
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains(sha)) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let (mime, bytes) = state.store.photo_bytes(sha).await?.ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable".to_string()),
            (header::ETAG, etag),
        ],
        bytes,
    )
        .into_response())
}

async fn stylesheet(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let versioned = q.is_some_and(|q| state.templates.css_href.ends_with(&format!("?{q}")));
    let cc = if versioned { "public, max-age=31536000, immutable" } else { "public, max-age=300" };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static(cc)),
        ],
        crate::render::SITE_CSS,
    )
        .into_response()
}

async fn logo() -> Response {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")],
        crate::render::LOGO_SVG,
    )
        .into_response()
}

async fn robots(State(state): State<AppState>) -> Response {
    let mut body = format!(
        "User-agent: *\nAllow: /\nDisallow: /admin/\n\nSitemap: {0}/sitemap.xml\nSitemap: {0}/sitemap-news.xml\n",
        state.config.public_url
    );
    // The index lists every edition's files; each edition has its own news sitemap.
    for e in state.editions.load().iter().filter(|e| !e.is_default) {
        body.push_str(&format!("Sitemap: {}/{}/sitemap-news.xml\n", state.config.public_url, e.lang));
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// Ready when the database answers; while it does not, a load balancer should
/// prefer other nodes (this one still serves its cached pages).
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], "ready").into_response(),
        Err(e) => {
            newsdesk_storage::outage::warn("readiness check failed", &e);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [
                    (header::CACHE_CONTROL, "no-store".to_string()),
                    (header::RETRY_AFTER, crate::error::RETRY_AFTER_SECS.to_string()),
                ],
                "not ready: the database is unavailable",
            )
                .into_response()
        }
    }
}

/// The public page of `story` in any state, for the newsroom's preview (not cached).
pub(crate) async fn preview_story_html(state: &AppState, story: &Story) -> Result<String, AppError> {
    let page = render_story(state, story, true).await?;
    let edition =
        state.editions.load().iter().find(|e| e.id == story.edition_id).cloned().unwrap_or_else(empty_edition);
    let chrome = chrome(state, &edition).await?;
    Ok(String::from_utf8_lossy(&page.assemble(&chrome).identity).into_owned())
}

/// How wide a teaser's photo is shown at most: the top story's column on
/// home, the whole screen on phones.
const TEASER_PHOTO_SIZES: &str = "(max-width: 640px) calc(100vw - 32px), 480px";

/// Gives the teasers' photos their resized renditions (one query for all), so
/// list pages load small images instead of the originals.
async fn with_thumbnails(state: &AppState, teasers: &mut [Teaser]) -> Result<(), AppError> {
    let ids: Vec<i64> = teasers.iter().filter_map(|t| t.photo_id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let renditions = state.store.photo_renditions_of(&ids).await?;
    for t in teasers.iter_mut() {
        if let (Some(id), Some(photo)) = (t.photo_id, t.photo.take()) {
            let mut p = photo.with_renditions(renditions.get(&id).map(Vec::as_slice).unwrap_or_default());
            p.sizes = TEASER_PHOTO_SIZES;
            t.photo = Some(p);
        }
    }
    Ok(())
}
