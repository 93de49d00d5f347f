//! The reader site: home, story, section, tag, author and archive pages,
//! media, the stylesheet and the health checks.
//!
//! This module holds the router and what every page shares: the page cache
//! in front of each handler ([`cached`], with the last good rendering served
//! during an outage), the edition's sidebar fragments ([`chrome`]) and the
//! cache dependency keys a change drops pages by. Each kind of page has its
//! own file: [`home`], [`story`] (its view model is a pure function,
//! [`story::story_view`]), [`lists`] (section, tag, author, archive),
//! [`most_visited`], [`corrections`], [`error_page`] and [`assets`] (media, stylesheet, robots,
//! health checks).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::get;
use chrono::{Duration, NaiveDate, Utc};
use minijinja::Value;
use newsdesk_domain::crop::Ratio;
use newsdesk_domain::{Edition, Section, Story, dates};
use newsdesk_storage::StoryFilter;
use sha2::Digest;

use crate::cache::{CachedPage, Chrome, ChromeLookup, next_version};
use crate::render::{Meta, Teaser, page_ctx};
use crate::{AppError, AppState, views};

mod assets;
mod corrections;
mod error_page;
pub(crate) mod fronts;
mod gallery;
mod home;
mod lists;
mod live;
mod most_visited;
mod story;

pub(crate) use corrections::{CORRECTIONS, corrections_dep};
pub use error_page::error_page;
pub(crate) use fronts::front_dep;
pub(crate) use story::{preview_story_html, story_page};

/// Stories in the "Latest" box.
const LATEST: i64 = 10;

/// `Cache-Control` of list pages (home, sections, tags, authors, days).
const CC_LIST: &str = "public, max-age=30, stale-while-revalidate=120";

/// Routes of the reader site.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/news/{id}", get(story::story_short))
        .route("/news/{id}/{slug}", get(story::story))
        .route("/news/{id}/updates.json", get(live::updates_json))
        .route("/static/liveblog.js", get(live::script))
        .route("/static/gallery.js", get(gallery::script))
        .route("/section/{*path}", get(lists::section))
        .route("/tag/{slug}", get(lists::tag))
        .route("/author/{slug}", get(lists::author))
        .route("/archive/{y}/{m}/{d}", get(lists::archive))
        .route("/most-visited", get(most_visited::most_visited))
        .route("/corrections", get(corrections::corrections))
        .route("/corrections/feed.rss", get(crate::feeds::corrections_rss))
        .route("/media/{file}", get(assets::media))
        .route("/static/site.css", get(assets::stylesheet))
        .route("/static/logo.svg", get(assets::logo))
        .route("/robots.txt", get(assets::robots))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(assets::readyz))
}

/// Hex SHA-256 of `bytes`.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

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
        ChromeLookup::Expired(c) => Some(without_expired_breaking(state, edition, c)),
        ChromeLookup::Missing => None,
    };
    // Missing: one reader at a time builds them (32 readers of a cold start
    // built them side by side, each a few store reads and two templates, and
    // the slowest waited a second on the two CPUs they shared).
    let _turn = match expired {
        None => {
            let turn = state.chrome.build_turn().await;
            if let Some(c) = state.chrome.get(&edition.id) {
                return Ok(c);
            }
            Some(turn)
        }
        Some(_) => None,
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
                    breaking: String::new(),
                    breaking_until: None,
                });
                state.chrome.keep_while_unavailable(edition.id, empty.clone());
                empty
            }))
        }
        Err(e) => Err(e),
    }
}

/// `chrome` without its breaking-news banner once that has expired (the
/// last good fragments served while the database is unavailable must not
/// keep a banner past its time).
fn without_expired_breaking(state: &AppState, edition: &Edition, chrome: Arc<Chrome>) -> Arc<Chrome> {
    if !chrome.breaking_expired() {
        return chrome;
    }
    let stripped = Arc::new(Chrome {
        version: next_version(),
        updated_in: chrome.updated_in.clone(),
        latest: chrome.latest.clone(),
        most_visited: chrome.most_visited.clone(),
        updated_at: chrome.updated_at,
        breaking: String::new(),
        breaking_until: None,
    });
    state.chrome.keep_while_unavailable(edition.id, stripped.clone());
    stripped
}

/// Builds the edition's fragments from the database and caches them.
async fn build_chrome(state: &AppState, edition: &Edition) -> Result<Arc<Chrome>, AppError> {
    state.chrome.note_build();
    let generation = state.pages.generation();
    let chrome_generation = state.chrome.generation();
    let updated_at = state.store.edition_updated_at(edition.id).await?;
    let latest = state.store.published(&StoryFilter::Edition(edition.id), None, LATEST).await?;
    let sections = state.sections(edition.id).await?;
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
    let (breaking, breaking_until) = breaking_banner(state, edition).await?;
    let c = Arc::new(Chrome {
        version: next_version(),
        updated_in,
        latest,
        most_visited,
        updated_at,
        breaking,
        breaking_until,
    });
    if state.pages.generation() == generation {
        state.chrome.insert_since(edition.id, c.clone(), chrome_generation);
    }
    Ok(c)
}

/// Most stories the breaking-news banner shows at once (the newest).
const BREAKING_SHOWN: usize = 3;

/// The edition's breaking-news banner (empty without breaking news) and when
/// its first story expires.
async fn breaking_banner(
    state: &AppState,
    edition: &Edition,
) -> Result<(String, Option<chrono::DateTime<Utc>>), AppError> {
    let mut items = state.store.active_breaking(Some(edition.id), Utc::now()).await?;
    items.truncate(BREAKING_SHOWN);
    if items.is_empty() {
        return Ok((String::new(), None));
    }
    let until = items.iter().map(|i| i.expires_at).min();
    let links: Vec<Value> = items
        .iter()
        .map(|i| {
            minijinja::context! {
                headline => i.headline,
                url => edition.url(&format!("/news/{}/{}", i.news_id, i.slug)),
            }
        })
        .collect();
    let html = state.templates.render(
        "breaking.html",
        minijinja::context! { items => links, lang => edition.lang.clone(), dir => edition.direction.as_str() },
    )?;
    Ok((html, until))
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
    if fronts::previewing() {
        // A newsroom preview of a draft front: rendered for this request only.
        return match render().await? {
            Rendered::Page(page) => serve_cached(state, &edition, Arc::new(page), None, headers, deco).await,
            Rendered::Other(res) => Ok(res),
        };
    }
    // `/` of the Persian edition is cached as `/fa/`: one entry per edition.
    let key = crate::editions::url(&key);
    let page = match state.pages.get(&key) {
        Some(page) => {
            crate::metrics::page_cache_hit();
            page
        }
        None => {
            // One rendering per page at a time: readers that miss it together wait for the first.
            let turn = state.pages.render_turn(&key).await;
            if let Some(page) = state.pages.get(&key) {
                drop(turn);
                crate::metrics::page_cache_hit();
                return serve_cached(state, &edition, page, reader, headers, deco).await;
            }
            // After a failed rendering, readers render side by side (as without turns).
            let turn = if turn.previous_failed() { None } else { Some(turn) };
            crate::metrics::page_cache_miss();
            let generation = state.pages.generation();
            let rendered = render().await;
            if let Some(turn) = turn {
                turn.finish(matches!(rendered, Ok(Rendered::Page(_))));
            }
            match rendered {
                Ok(Rendered::Page(mut page)) => {
                    page.route = crate::metrics::answering_route(&key);
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
    serve_cached(state, &edition, page, reader, headers, deco).await
}

/// A GET answered from the page cache before routing, when `req` asks for
/// a page a GET of the same address rendered ([`CachedPage::route`]), without
/// a query string, outside a front's preview, and the edition's chrome
/// (`edition_id`) is fresh: what the
/// page's handler would answer through [`cached_page`] (the view counted, the
/// conditional request honoured, the route's metrics counted, the security
/// headers set), without the router and the layers around it. `peer` is the
/// TCP peer, when known. `None`: the request goes the whole way.
pub(crate) fn hot_page<B>(
    state: &AppState,
    edition_id: i64,
    req: &axum::http::Request<B>,
    peer: Option<SocketAddr>,
) -> Option<Response> {
    // A newsroom preview of a front asks for `/` too; it is rendered apart.
    if req.method() != Method::GET || req.uri().query().is_some() || fronts::previewing() {
        return None;
    }
    let start = std::time::Instant::now();
    let page = state.pages.get(req.uri().path())?;
    let route = page.route.as_ref()?;
    // Fresh fragments only (without taking the turn to rebuild expired ones, which `chrome` takes).
    let chrome = state.chrome.get(&edition_id)?;
    crate::metrics::page_cache_hit();
    let headers = req.headers();
    if let Some((news_id, edition_id, section_id)) = page.view {
        let ip = views::client_ip(peer, headers, &state.config.trusted_proxies);
        let visit = views::Visit { news_id, edition_id, section_id, ip, method: req.method(), headers };
        state.views.record(&visit, Utc::now());
    }
    // With every header the router's layers would add (`serve_page`).
    let res = crate::http::serve_page(&page, &chrome, headers);
    route.record(res.status(), start.elapsed());
    Some(res)
}

/// Counts the view (pages that carry a view target) and serves `page` with the edition's chrome.
async fn serve_cached(
    state: &AppState,
    edition: &Edition,
    page: Arc<CachedPage>,
    reader: Option<Reader<'_>>,
    headers: &HeaderMap,
    deco: crate::comments::Deco,
) -> Result<Response, AppError> {
    if let (Some(reader), Some((news_id, edition_id, section_id))) = (reader, page.view) {
        let ip = views::client_ip(reader.peer, headers, &state.config.trusted_proxies);
        let visit = views::Visit { news_id, edition_id, section_id, ip, method: reader.method, headers };
        state.views.record(&visit, Utc::now());
    }
    let chrome = chrome(state, edition).await?;
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

/// Renders `template` as a whole page of `edition` (navigation, `<head>`, language switcher).
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

/// `path` inside the current edition as an absolute, percent-encoded URL.
pub(crate) fn abs(state: &AppState, path: &str) -> String {
    // Percent-encoded: Persian and Arabic slugs go into headers, sitemaps and feeds as well.
    crate::editions::encode_location(&format!("{}{}", state.config.public_url, crate::editions::url(path)))
}

/// How wide a teaser's photo is shown at most: the top story's column on
/// home, the whole screen on phones.
const TEASER_PHOTO_SIZES: &str = "(max-width: 640px) calc(100vw - 32px), 480px";

/// Gives the teasers' photos their resized renditions (one query for all), so
/// list pages load small images instead of the originals, cropped 16:9 (the
/// front page's slots) where the photo's crops are made.
async fn with_thumbnails(state: &AppState, teasers: &mut [Teaser]) -> Result<(), AppError> {
    with_thumbnails_at(state, teasers, Ratio::Wide).await
}

/// [`with_thumbnails`] with the crop of `ratio` (list pages show 4:3).
async fn with_thumbnails_at(state: &AppState, teasers: &mut [Teaser], ratio: Ratio) -> Result<(), AppError> {
    let ids: Vec<i64> = teasers.iter().filter_map(|t| t.photo_id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let (renditions, crops) = state.store.photo_all_renditions_of(&ids).await?;
    for t in teasers.iter_mut() {
        if let (Some(id), Some(photo)) = (t.photo_id, t.photo.take()) {
            let mut p = photo
                .with_renditions(renditions.get(&id).map(Vec::as_slice).unwrap_or_default())
                .with_crop(ratio, crops.get(&id).map(Vec::as_slice).unwrap_or_default());
            p.sizes = TEASER_PHOTO_SIZES;
            t.photo = Some(p);
        }
    }
    Ok(())
}
