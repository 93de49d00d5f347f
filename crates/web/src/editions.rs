//! Which edition a request is for. The default edition lives at `/`; every
//! other one at `/{lang}/` (`/fa/`, `/ar/`). A middleware in front of the
//! router reads the prefix, takes it off the path (so one set of routes serves
//! every edition) and runs the request inside a task-local scope that names its
//! edition. Handlers ask [`current`]; the page cache keys, canonical URLs and
//! links are written inside the edition by [`url`], so `/fa/` and `/` are two
//! pages with two cache entries.
//!
//! Story pages: a story's canonical URL is `/news/{id}/{slug}` inside its own
//! edition (`/fa/news/{id}/{slug}` for a Persian story). `/news/{id}` under any
//! prefix, or a story asked for under another edition's prefix, answers a 301
//! to the canonical URL, so News IDs stay global and old links keep working.

use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use newsdesk_domain::calendar::{Calendar, Digits};
use newsdesk_domain::{Direction, Edition};

use crate::AppState;

tokio::task_local! {
    static CURRENT: Edition;
}

/// Paths that exist once for the whole site, never under an edition prefix.
const SITE_WIDE: &[&str] = &["admin", "api", "media", "static", "healthz", "readyz", "metrics", "robots.txt"];

/// A placeholder edition for a site that has none yet.
pub(crate) fn empty_edition() -> Edition {
    Edition {
        id: 0,
        lang: "en".into(),
        name: "newsdesk".into(),
        direction: Direction::Ltr,
        time_zone: chrono_tz::UTC,
        is_default: true,
        calendar: Calendar::Gregorian,
        digits: Digits::Latin,
    }
}

/// The edition of the request being served: the one its path prefix names, else the default.
pub(crate) fn current(state: &AppState) -> Edition {
    CURRENT.try_with(Clone::clone).ok().unwrap_or_else(|| state.default_edition().unwrap_or_else(empty_edition))
}

/// Runs `f` inside `edition` (links, cache keys and words are that edition's).
pub(crate) async fn scope<F: std::future::Future>(edition: Edition, f: F) -> F::Output {
    CURRENT.scope(edition, f).await
}

/// The language of the request being served, when inside one (templates use it for words and digits).
pub(crate) fn current_lang_digits() -> Option<(String, Digits)> {
    CURRENT.try_with(|e| (e.lang.clone(), e.digits)).ok()
}

/// The current edition's language, digits and prefix, when inside one: what
/// a fragment rendered in it depends on.
pub(crate) fn current_words_and_prefix() -> Option<(String, Digits, String)> {
    CURRENT.try_with(|e| (e.lang.clone(), e.digits, e.prefix())).ok()
}

/// `path` inside the current edition (`/news/1/x` → `/fa/news/1/x`). Site-wide
/// paths (`/media/…`, `/static/…`, `/api/…`) and paths already inside the edition are kept.
pub(crate) fn url(path: &str) -> String {
    match CURRENT.try_with(|e| within(e, path)) {
        Ok(p) => p,
        Err(_) => path.to_string(),
    }
}

/// `path` inside `edition` (see [`url`]).
pub(crate) fn within(edition: &Edition, path: &str) -> String {
    let prefix = edition.prefix();
    if prefix.is_empty() || is_site_wide(path) || path == prefix || path.starts_with(&format!("{prefix}/")) {
        return path.to_string();
    }
    edition.url(path)
}

fn is_site_wide(path: &str) -> bool {
    let first = path.trim_start_matches('/').split(['/', '?']).next().unwrap_or_default();
    SITE_WIDE.contains(&first)
}

/// The canonical path of story `news_id` with `slug` in the edition `edition_id`.
pub(crate) fn story_path(state: &AppState, edition_id: i64, news_id: i64, slug: &str) -> String {
    let path = newsdesk_domain::story_path(news_id, slug);
    match state.editions.load().iter().find(|e| e.id == edition_id) {
        Some(e) => e.url(&path),
        None => path,
    }
}

/// The edition the first segment of `path` names, if any, and where the rest of the path starts.
fn named_edition<'a>(editions: &'a [Edition], path: &str) -> (Option<&'a Edition>, usize) {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or_default();
    (editions.iter().find(|e| !first.is_empty() && e.lang == first), 1 + first.len())
}

/// The edition whose cached pages may answer a request before routing: the
/// default edition for an address without an edition's prefix, the edition
/// `named` for an address inside its prefix (`rest`, not empty and not
/// site-wide); `None` for the rest (redirects, site-wide addresses).
fn hot_edition(editions: &[Edition], named: Option<&Edition>, rest: &str) -> Option<i64> {
    match named {
        None => Some(editions.first().map_or(0, |e| e.id)),
        Some(e) => (!e.is_default && !rest.is_empty() && !is_site_wide(rest)).then_some(e.id),
    }
}

/// A cached page answering `req` before the router and its layers, as
/// [`resolve`] would answer it (see [`crate::site::hot_page`]); `None` when the
/// request must be routed. `peer` is the TCP peer.
pub(crate) fn before_routing<B>(
    state: &AppState,
    req: &axum::http::Request<B>,
    peer: std::net::SocketAddr,
) -> Option<Response> {
    let editions = state.editions.load();
    let path = req.uri().path();
    let (named, rest_at) = named_edition(&editions, path);
    let edition_id = hot_edition(&editions, named, path.get(rest_at..).unwrap_or_default())?;
    crate::site::hot_page(state, edition_id, req, Some(peer))
}

/// Middleware: resolves the edition from the path prefix, strips it, and runs
/// the rest of the stack inside that edition. `/fa` is redirected to `/fa/`;
/// the default edition's own prefix (`/en/…`) to the path without it.
pub(crate) async fn resolve(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let editions = state.editions.load_full();
    let (named, rest_at) = named_edition(&editions, req.uri().path());
    // A page in the cache is answered here, before the router (see `hot_page`);
    // the server tries it before this too (`before_routing`).
    if let Some(edition_id) = hot_edition(&editions, named, req.uri().path().get(rest_at..).unwrap_or_default()) {
        let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
        if let Some(mut res) = crate::site::hot_page(&state, edition_id, &req, peer) {
            res.extensions_mut().insert(crate::BeforeRouting);
            return res;
        }
    }
    let Some(edition) = named.cloned() else {
        let default = editions.first().cloned().unwrap_or_else(empty_edition);
        return CURRENT.scope(default, next.run(req)).await;
    };
    let path = req.uri().path().to_string();
    let rest = &path[rest_at..];
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    if edition.is_default {
        let to = if rest.is_empty() { "/".to_string() } else { rest.to_string() };
        return moved(&format!("{to}{query}"));
    }
    if rest.is_empty() {
        return moved(&format!("/{}/{query}", edition.lang));
    }
    if is_site_wide(rest) {
        // Not part of an edition: left as it is, so the router answers the edition's 404 page.
        return CURRENT.scope(edition, next.run(req)).await;
    }
    let Ok(uri) = format!("{rest}{query}").parse::<Uri>() else {
        return (StatusCode::BAD_REQUEST, "malformed path").into_response();
    };
    *req.uri_mut() = uri;
    CURRENT.scope(edition, next.run(req)).await
}

/// A path or URL as an HTTP header may carry it: bytes outside visible ASCII
/// (the letters of a Persian slug, spaces) percent-encoded; the rest kept.
pub(crate) fn encode_location(location: &str) -> String {
    let mut out = String::with_capacity(location.len());
    for b in location.bytes() {
        if b.is_ascii_graphic() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A path of this site as a `Location` header may carry it, never naming
/// another host: leading slashes and backslashes collapse into one `/` (a
/// browser reads `//evil.example/` and `/\evil.example/` as another site), every
/// other backslash is percent-encoded, the rest is as [`encode_location`] writes it.
/// Every redirect built from a request path goes through here.
pub(crate) fn local_location(path: &str) -> String {
    let rest = path.trim_start_matches(['/', '\\']);
    encode_location(&format!("/{rest}")).replace('\\', "%5C")
}

/// A 301 to `path` on this site (see [`local_location`]), cacheable for an hour.
pub(crate) fn moved(path: &str) -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, local_location(path)), (header::CACHE_CONTROL, "public, max-age=3600".to_string())],
    )
        .into_response()
}

/// An edition as the page header's language switcher and `hreflang` links show it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct EditionLink {
    /// BCP 47 language.
    pub lang: String,
    /// Its own name for itself ("فارسی").
    pub label: String,
    /// Absolute URL of its home page.
    pub href: String,
    /// Path of its home page.
    pub url: String,
    /// Whether it is the edition of this page.
    pub current: bool,
}

/// The name a language calls itself, for the switcher.
pub(crate) fn endonym(lang: &str) -> &str {
    match lang.split(['-', '_']).next().unwrap_or(lang) {
        "en" => "English",
        "fa" => "فارسی",
        "ar" => "العربية",
        "ur" => "اردو",
        "tr" => "Türkçe",
        "fr" => "Français",
        "de" => "Deutsch",
        "es" => "Español",
        "ru" => "Русский",
        "zh" => "中文",
        _ => lang,
    }
}

/// Every edition's home page, for the switcher and the home pages' `hreflang` links.
pub(crate) fn edition_links(state: &AppState, current: &Edition) -> Vec<EditionLink> {
    state
        .editions
        .load()
        .iter()
        .map(|e| {
            let url = e.url("/");
            EditionLink {
                lang: e.lang.clone(),
                label: endonym(&e.lang).to_string(),
                href: format!("{}{url}", state.config.public_url),
                url,
                current: e.id == current.id,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_stay_on_the_site() {
        for (path, location) in [
            ("//evil.example/", "/evil.example/"),
            ("/\\evil.example/", "/evil.example/"),
            ("\\\\evil.example", "/evil.example"),
            ("/\\/\\//evil.example/x?y#z", "/evil.example/x?y#z"),
            ("evil.example", "/evil.example"),
            ("/section/a\\b", "/section/a%5Cb"),
            ("/fa/news/1/سلام", "/fa/news/1/%D8%B3%D9%84%D8%A7%D9%85"),
            ("/news/84427/x?comment=pending#comments", "/news/84427/x?comment=pending#comments"),
            ("", "/"),
        ] {
            assert_eq!(local_location(path), location, "{path}");
        }
    }
}
