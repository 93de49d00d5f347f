//! newsdesk's web layer: the reader site, its page cache and the HTTP
//! details (compression, conditional requests, security headers).

pub mod admin;
pub mod api;
pub mod cache;
pub mod comments;
pub mod desk;
mod editions;
pub mod embeds;
mod error;
mod feeds;
mod http;
pub mod ingest_sources;
mod legacy;
pub mod media;
pub mod metrics;
mod render;
pub mod scheduler;
pub mod search;
pub mod server;
mod site;
mod sitemaps;
pub mod views;
pub mod webhooks;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use newsdesk_domain::Edition;
use newsdesk_storage::Store;
use tower_http::compression::CompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use cache::PageCache;
pub use error::AppError;
pub use render::Templates;

/// Settings of the web layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Absolute base URL of the site as readers reach it (`https://news.example`),
    /// used for canonical links, Open Graph and JSON-LD. No trailing slash.
    pub public_url: String,
    /// Upper bound of the page cache in bytes.
    pub page_cache_bytes: u64,
    /// Folder whose templates override the embedded theme, if any.
    pub theme_dir: Option<PathBuf>,
    /// How often each node reads the change log to drop stale pages.
    pub change_poll: Duration,
    /// Longest time a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Whether story views are counted for "most visited".
    pub count_views: bool,
    /// How long an edition's shared fragments are used before they are rebuilt
    /// (default [`cache::CHROME_TTL`]).
    pub sidebar_refresh: std::time::Duration,
    /// Proxies whose `X-Forwarded-For` is believed; the TCP peer otherwise.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How often counted views are written to the database.
    pub views_flush: Duration,
    /// Stories per feed.
    pub feed_items: i64,
    /// Readers' comments: content rules, moderation, closing, rate limits.
    pub comments: comments::CommentSettings,
    /// The wire: ninjs rights statements and webhook timing.
    pub wire: wire::WireSettings,
    /// Largest photo upload accepted, in bytes.
    pub media_max_upload_bytes: usize,
    /// Largest photo accepted, in pixels (read from its header, before decoding).
    pub media_max_pixels: u64,
    /// Bearer token that `/metrics` on the site's address requires; `None`: not served there.
    pub metrics_token: Option<String>,
    /// Days a spiked story is kept before it is purged.
    pub spike_expiry_days: u32,
    /// Breaking news: default expiry and raising by urgency.
    pub breaking: desk::breaking::BreakingSettings,
    /// Embeds: where oEmbed is asked, how long it may take.
    pub embeds: embeds::EmbedSettings,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            public_url: "http://127.0.0.1:8080".into(),
            page_cache_bytes: 128 * 1024 * 1024,
            theme_dir: None,
            change_poll: Duration::from_millis(500),
            request_timeout: Duration::from_secs(30),
            count_views: true,
            sidebar_refresh: cache::CHROME_TTL,
            trusted_proxies: Vec::new(),
            views_flush: Duration::from_secs(5),
            feed_items: feeds::FEED_ITEMS,
            comments: comments::CommentSettings::default(),
            wire: wire::WireSettings::default(),
            media_max_upload_bytes: 20 * 1024 * 1024,
            media_max_pixels: media::DEFAULT_MAX_PIXELS,
            metrics_token: None,
            spike_expiry_days: desk::spike::SPIKE_EXPIRY_DAYS,
            breaking: desk::breaking::BreakingSettings::default(),
            embeds: embeds::EmbedSettings::default(),
        }
    }
}

/// Everything a handler needs: one shared [`AppStateInner`], so that the
/// clone each request, extractor and middleware layer makes is one reference
/// count, not one per part. Its parts are read through `Deref`; assigning one
/// (`state.config = ...`, as start-up and tests do before serving) changes
/// this state only, copying the parts first if another clone shares them.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut AppStateInner {
        Arc::make_mut(&mut self.0)
    }
}

/// The parts of [`AppState`].
#[derive(Clone)]
pub struct AppStateInner {
    /// The database.
    pub store: Store,
    /// Compiled templates of the theme.
    pub templates: Arc<Templates>,
    /// Rendered pages.
    pub pages: Arc<PageCache>,
    /// Edition-wide fragments ("Updated in", "Latest", "Most visited"), by
    /// edition id; rebuilt on a change and at least every minute (for the ranking),
    /// the last good ones kept for when the database is unavailable.
    pub chrome: Arc<cache::ChromeCache>,
    /// Story views counted in memory, not yet written.
    pub views: Arc<views::ViewCounter>,
    /// The editions' sections, for the public pages (see [`AppState::sections`]).
    pub sections: Arc<cache::SectionCache>,
    /// The editions, default first; reloaded when the database says they changed.
    pub editions: Arc<ArcSwap<Vec<Edition>>>,
    /// Web settings.
    pub config: Arc<WebConfig>,
    /// Comment settings and the key that signs comment forms (shared by all nodes through the database).
    pub comments: Arc<comments::Comments>,
    /// This node's full-text index; `None` until the binary opens one (search then answers 503).
    pub search: Option<Arc<newsdesk_search::SearchIndex>>,
    /// Photo decoding and resizing: a few at a time, within the pixel limit.
    pub images: media::ImageWork,
}

impl AppState {
    /// Builds the state: loads templates and editions.
    pub async fn new(store: Store, config: WebConfig) -> Result<AppState, AppError> {
        let templates = Templates::load(config.theme_dir.as_deref())?;
        let editions = store.editions().await?;
        let comments = comments::Comments::load(&store, config.comments.clone()).await?;
        let images = media::ImageWork::for_this_machine(config.media_max_pixels);
        Ok(AppState(Arc::new(AppStateInner {
            store,
            templates: Arc::new(templates),
            pages: Arc::new(PageCache::new(config.page_cache_bytes)),
            chrome: Arc::new(cache::ChromeCache::with_lifetime(config.sidebar_refresh)),
            views: Arc::new(views::ViewCounter::new(config.count_views, views::DEFAULT_BOTS)),
            sections: Arc::default(),
            editions: Arc::new(ArcSwap::from_pointee(editions)),
            config: Arc::new(config),
            comments: Arc::new(comments),
            search: None,
            images,
        })))
    }

    /// Serves search from `index`, whose rebuilds read their next stories
    /// only once no reader waits for a page being made on this node (or
    /// 100 ms on: [`newsdesk_search::SearchIndex::yield_to`]).
    pub fn use_search(&mut self, index: Arc<newsdesk_search::SearchIndex>) {
        let pages = self.pages.clone();
        index.yield_to(move || pages.renders_in_flight() > 0);
        self.search = Some(index);
    }

    /// The edition served at `/`, if the site has one.
    pub fn default_edition(&self) -> Option<Edition> {
        self.editions.load().first().cloned()
    }

    /// The sections of `edition_id` for a public page, from memory (read from
    /// the database once per change applied from the log). The back office
    /// reads them from the database.
    pub async fn sections(&self, edition_id: i64) -> Result<Arc<Vec<newsdesk_domain::Section>>, AppError> {
        match self.sections.get(edition_id) {
            Some(held) => Ok(held),
            None => self.read_sections(edition_id, None).await,
        }
    }

    /// [`AppState::sections`], read again from the database when none is
    /// `wanted`: a section made moments ago (with a story, on this node)
    /// before the change log told this node's cache.
    pub async fn sections_with(
        &self,
        edition_id: i64,
        wanted: impl Fn(&newsdesk_domain::Section) -> bool,
    ) -> Result<Arc<Vec<newsdesk_domain::Section>>, AppError> {
        match self.held_sections(edition_id, wanted) {
            Some(held) => Ok(held),
            None => self.read_sections(edition_id, None).await,
        }
    }

    /// [`AppState::sections_with`], read on `db` when read at all: a render
    /// that holds a connection must not wait for a second one (were every
    /// connection held by such renders, none would come).
    pub async fn sections_with_on(
        &self,
        db: &mut newsdesk_storage::Reads,
        edition_id: i64,
        wanted: impl Fn(&newsdesk_domain::Section) -> bool,
    ) -> Result<Arc<Vec<newsdesk_domain::Section>>, AppError> {
        match self.held_sections(edition_id, wanted) {
            Some(held) => Ok(held),
            None => self.read_sections(edition_id, Some(db)).await,
        }
    }

    /// The held sections of `edition_id`, if one of them is `wanted`.
    fn held_sections(
        &self,
        edition_id: i64,
        wanted: impl Fn(&newsdesk_domain::Section) -> bool,
    ) -> Option<Arc<Vec<newsdesk_domain::Section>>> {
        self.sections.get(edition_id).filter(|held| held.iter().any(wanted))
    }

    async fn read_sections(
        &self,
        edition_id: i64,
        db: Option<&mut newsdesk_storage::Reads>,
    ) -> Result<Arc<Vec<newsdesk_domain::Section>>, AppError> {
        let generation = self.sections.generation();
        let fresh = Arc::new(match db {
            Some(db) => db.sections(edition_id).await?,
            None => self.store.sections(edition_id).await?,
        });
        self.sections.insert(edition_id, fresh.clone(), generation);
        Ok(fresh)
    }

    /// Drops cached pages that show story `news_id` or would now list it.
    pub async fn story_changed(&self, news_id: i64, edition_id: i64) -> Result<(), AppError> {
        let mut deps = vec![format!("story:{news_id}")];
        if let Some(story) = self.store.story(news_id).await?
            && story.status == newsdesk_domain::StoryStatus::Published
        {
            deps.extend(site::list_deps_of(self, &story).await?);
        }
        // The corrections page lists stories with corrections (a new one, a new headline, a take-down).
        if self.store.has_corrections(news_id).await? {
            deps.push(site::corrections_dep(edition_id));
        }
        self.pages.invalidate(&deps);
        self.chrome.invalidate(&edition_id);
        Ok(())
    }

    /// Drops every cached page and fragment after a site-wide change made on
    /// this node (other nodes see it in the change log).
    pub fn apply_site_change(&self) {
        self.sections.clear();
        self.pages.clear();
        self.chrome.invalidate_all();
    }

    /// Applies the database's change log after `after` at once (for tests and
    /// one-shot tools; the server follows it with [`follow_changes`]); returns
    /// the last change id seen.
    pub async fn apply_changes(&self, after: i64) -> Result<i64, AppError> {
        let mut last = after;
        loop {
            let changes = self.store.changes_after(last, 500).await?;
            let Some(newest) = changes.last() else { return Ok(last) };
            last = newest.id;
            self.apply(&changes).await?;
        }
    }

    /// Drops what `changes` make stale in this node's caches. Applying a
    /// change twice is harmless (it re-reads the story).
    pub async fn apply(&self, changes: &[newsdesk_storage::Change]) -> Result<(), AppError> {
        if changes.is_empty() {
            return Ok(());
        }
        // Editions may have been added or changed along with the stories, and
        // sections (a story's new section, a rename): read again when next
        // needed, and dropped before the pages that show them.
        self.sections.clear();
        self.editions.store(Arc::new(self.store.editions().await?));
        if changes.iter().any(|c| c.news_id == newsdesk_storage::SITE_CHANGE && !c.front) {
            // Sections or tags were renamed, moved or merged, or an edition's
            // settings changed: every page may show them.
            self.pages.clear();
            self.chrome.invalidate_all();
        }
        // A curated front was published: only the edition's fronts are stale.
        let fronts: Vec<String> = changes.iter().filter(|c| c.front).map(|c| site::front_dep(c.edition_id)).collect();
        if !fronts.is_empty() {
            self.pages.invalidate(&fronts);
        }
        // A breaking-news banner was raised or cleared: only the edition's shared fragments.
        for c in changes.iter().filter(|c| c.chrome_only) {
            self.chrome.invalidate(&c.edition_id);
        }
        let mut done = std::collections::HashSet::new();
        for c in changes {
            if c.news_id != newsdesk_storage::SITE_CHANGE && !c.chrome_only && done.insert(c.news_id) {
                self.story_changed(c.news_id, c.edition_id).await?;
            }
        }
        Ok(())
    }
}

/// Builds every edition's shared page fragments (the menus' latest stories,
/// most visited, the breaking-news banner), so that the first readers after
/// a start do not wait for them (every page shows them, and the first
/// readers would queue for one build). Pages themselves are not rendered
/// ahead. A failure is logged; readers then build them as usual.
pub async fn warm_fragments(state: &AppState) {
    let editions = state.editions.load_full();
    for edition in editions.iter() {
        if let Err(e) = editions::scope(edition.clone(), site::chrome(state, edition)).await {
            tracing::warn!(edition = %edition.lang, error = %e, "cannot build the page fragments ahead of readers");
        }
    }
}

/// Keeps this node's caches in step with the database: follows the change
/// log (woken at once by PostgreSQL notifications, polling every
/// `config.change_poll` as a fallback, and waiting for changes that commit
/// late), so writes on other nodes and from the command line drop stale pages
/// too. Runs until the task is dropped.
pub async fn follow_changes(state: AppState) {
    let start = loop {
        match state.store.last_change_id().await {
            Ok(id) => break id,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the change log yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    let mut follower = newsdesk_storage::Follower::new("cache", state.store.clone(), start, state.config.change_poll);
    let mut failing = false;
    loop {
        follower.wait().await;
        match follow_once(&state, &mut follower).await {
            Ok(()) if failing => {
                tracing::info!("reading the change log works again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "reading the change log failed; retrying");
                    failing = true;
                }
                tokio::time::sleep(state.config.change_poll).await;
            }
        }
    }
}

/// Applies what the follower has not applied yet.
async fn follow_once(state: &AppState, follower: &mut newsdesk_storage::Follower) -> Result<(), AppError> {
    loop {
        let changes = follower.fetch(500).await?;
        if changes.is_empty() {
            follower.tick();
            return Ok(());
        }
        state.apply(&changes).await?;
        follower.mark_applied(changes.iter().map(|c| c.id));
    }
}

/// Writes counted views to the database every `config.views_flush` and
/// prunes old buckets hourly. Runs until the task is dropped; call
/// [`flush_views_now`] at shutdown for the last batch.
pub async fn flush_views(state: AppState) {
    let mut tick = tokio::time::interval(state.config.views_flush);
    let mut last_prune = std::time::Instant::now() - Duration::from_secs(3600);
    loop {
        tick.tick().await;
        flush_views_now(&state).await;
        if last_prune.elapsed() >= Duration::from_secs(3600) {
            last_prune = std::time::Instant::now();
            if let Err(e) = state.store.prune_views(chrono::Utc::now() - views::KEEP).await {
                tracing::warn!(error = %e, "pruning old view buckets failed");
            }
        }
    }
}

/// Cached pages go unread this long before they are packed (see [`cache::CachedPage::pack_if_unused`]).
pub const PACK_IDLE: Duration = Duration::from_secs(10);

/// Packs the cached pages not served for [`PACK_IDLE`], every few seconds,
/// and every [`PACK_IDLE`] tidies the database connections ([`tidy_connections`]).
/// Runs until the task is dropped.
pub async fn pack_cold_pages(state: AppState) {
    let mut tick = tokio::time::interval(PACK_IDLE / 2);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reads_before = state.store.page_reads();
    for round in 0u64.. {
        tick.tick().await;
        if round % 2 == 1 {
            reads_before = tidy_connections(&state.store, reads_before).await;
        }
        let pages = state.pages.clone();
        // Compressing takes CPU: off the threads that answer requests.
        match tokio::task::spawn_blocking(move || pages.pack_cold(PACK_IDLE)).await {
            Ok(n) if n > 0 => {
                crate::metrics::page_cache_packed(n);
                tracing::debug!(pages = n, "packed cached pages unread for a while");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "packing cold cached pages failed"),
        }
    }
}

/// Gives the connections kept for page reads back to the pool and, when no
/// page was read since the last tidy (`reads_before`, the store's
/// [`newsdesk_storage::Store::page_reads`] then), closes SQLite's idle
/// connections ([`newsdesk_storage::Store::release_memory`]): an idle server
/// holds no connection memory it does not use. A server reading pages keeps
/// them: closed under load, every reader would open one again at once (the
/// file, the schema, the statements), and pages waited meanwhile. Returns the
/// count to pass to the next tidy.
pub async fn tidy_connections(store: &newsdesk_storage::Store, reads_before: u64) -> u64 {
    let reads = store.page_reads();
    if reads != reads_before {
        store.give_back_kept();
        return reads;
    }
    match store.release_memory().await {
        Ok(n) => tracing::trace!(connections = n, "idle database connections closed"),
        Err(e) => tracing::debug!(error = %e, "idle database connections could not be closed"),
    }
    store.page_reads()
}

/// Writes the views counted so far (kept in memory for the next try on failure).
pub async fn flush_views_now(state: &AppState) {
    if let Err(e) = state.views.flush(&state.store, chrono::Utc::now()).await {
        newsdesk_storage::outage::warn("writing view counts failed; keeping them for the next flush", &e);
    }
}

/// Logs a request that failed inside the service (not an error status, which is logged where it arises).
fn log_service_error(class: tower_http::classify::ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    if let tower_http::classify::ServerErrorsFailureClass::Error(error) = class {
        tracing::error!(%error, latency_ms = latency.as_millis(), "request failed");
    }
}

/// Marks an answer (in its extensions) that came from the page cache before
/// routing, in the router's first layer: a GET of a cached page whose address
/// a GET rendered. Tests tell the two ways apart by it; the answer is the same
/// either way. The server's [`front`] answers such pages before the router
/// without the mark (it would cost each answer an allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeforeRouting;

/// `Strict-Transport-Security` of every answer when the site's `public_url` is
/// https: browsers then use https only, for a year, on this host and its
/// subdomains. A site served over plain http sends none (browsers ignore it there,
/// and it would lock out a site that is not on https yet).
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// The Content-Security-Policy of every answer that sets none (a story page with embeds adds their frames).
pub(crate) const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The security headers of every answer: no framing, no MIME sniffing, the
/// origin only as referrer, and [`CSP`] unless the answer set its own. One
/// layer for the four (each layer costs every request a move of the response).
pub(crate) fn security_headers<B>(mut res: axum::http::Response<B>) -> axum::http::Response<B> {
    add_security_headers(res.headers_mut());
    res
}

/// What [`security_headers`] adds, added to `h`.
pub(crate) fn add_security_headers(h: &mut axum::http::HeaderMap) {
    h.insert(HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
}

/// What the server ([`server::serve`]) answers before [`app`]'s router: a GET
/// of a page in the page cache, with the same answer the router would give
/// (the view counted, the route's metrics, the security headers and HSTS on
/// an https site), without the router and its layers around it.
pub fn front(state: AppState) -> server::Front {
    let https = state.config.public_url.starts_with("https://");
    std::sync::Arc::new(move |req, peer| {
        let mut res = editions::before_routing(&state, req, peer)?;
        if https {
            res.headers_mut().insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
        }
        Some(res)
    })
}

/// The whole application: every feature's router merged, with the HTTP layers.
pub fn app(state: AppState) -> Router {
    metrics::handle();
    let timeout = state.config.request_timeout;
    let routes = Router::new()
        .merge(site::router())
        .merge(comments::router())
        .merge(feeds::router())
        .merge(sitemaps::router())
        .merge(api::router())
        .merge(search::router())
        .merge(admin::router(state.clone()))
        .merge(wire::router())
        .merge(metrics::router())
        .merge(embeds::router())
        .fallback(|| async { AppError::NotFound })
        // One stack, applied once: `Router::layer` boxes each layer it is
        // given around every route, and each box costs every request an
        // allocation and a clone of the service inside it. Outermost first.
        .layer(
            tower::ServiceBuilder::new()
                // It sees the matched route and times all the others.
                .layer(axum::middleware::from_fn(metrics::track_requests))
                // 5xx answers are logged where they arise: a failure of ours with its
                // cause, a database outage once per interval (not once per request).
                .layer(TraceLayer::new_for_http().on_failure(log_service_error))
                .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
                .map_response(security_headers)
                .layer(CompressionLayer::new())
                // Old addresses of imported sites: after the error pages, so it sees their 404s.
                .layer(axum::middleware::from_fn_with_state(state.clone(), legacy::old_addresses))
                .layer(axum::middleware::from_fn_with_state(state.clone(), error::render_error_pages)),
        )
        .with_state(state.clone());
    let https = state.config.public_url.starts_with("https://");
    // The edition prefix (`/fa/…`) is taken off before the routes see the path, so
    // this runs around the whole router rather than as a route layer.
    let app =
        Router::new().fallback_service(routes).layer(axum::middleware::from_fn_with_state(state, editions::resolve));
    if https {
        // Outermost, so the edition redirects carry it too.
        app.layer(SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS)))
    } else {
        app
    }
}
