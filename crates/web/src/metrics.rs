//! Prometheus metrics: the process-wide recorder, the per-request middleware
//! and the `/metrics` endpoint.
//!
//! Code anywhere in the workspace records with the `metrics` facade
//! (`metrics::counter!`, `gauge!`, `histogram!`); names start with
//! `newsdesk_`, carry their unit (`_seconds`, `_bytes`, `_total`) and only
//! labels with a small, fixed set of values (route patterns, never paths).
//! Values that live elsewhere (page cache size, pool use, views in memory,
//! webhook backlog, the allocator's figures) are sampled when Prometheus
//! scrapes.
//!
//! `/metrics` on the site's address needs `Authorization: Bearer <metrics_token>`
//! and is not there at all without a configured token; [`listener_app`] serves
//! it without a token on an address of its own (`metrics_listen`), meant to be
//! reachable only from the monitoring network.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, OriginalUri, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{Counter, Histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::{AppError, AppState};

/// Requests answered, by route pattern and status code.
pub const HTTP_REQUESTS: &str = "newsdesk_http_requests_total";
/// Time from receiving a request to sending its response head, by route pattern.
pub const HTTP_DURATION: &str = "newsdesk_http_request_duration_seconds";
/// How long a webhook delivery took, by subscriber.
pub const WEBHOOK_DURATION: &str = "newsdesk_webhook_delivery_duration_seconds";
/// How late the scheduler published a story after its due time.
pub const SCHEDULER_LATENESS: &str = "newsdesk_scheduler_lateness_seconds";

/// The route label of a request that matched no route (bounded: never the path).
const UNMATCHED: &str = "unmatched";

/// Request latencies: a cached page takes well under a millisecond, a
/// timeout is 30 s.
const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Webhook deliveries go over the network to receivers we do not control.
const DELIVERY_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
/// The scheduler ticks every second; a node that was down publishes minutes late.
const LATENESS_BUCKETS: &[f64] = &[0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0];
/// Longest wait for a value read from the database at a scrape.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often histograms are compacted when nobody scrapes.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The process's recorder, installed on first use. Idempotent: a test binary
/// builds many apps and they all share it (metrics are per process anyway).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(install)
}

fn builder() -> Result<PrometheusBuilder, metrics_exporter_prometheus::BuildError> {
    PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(WEBHOOK_DURATION.into()), DELIVERY_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(SCHEDULER_LATENESS.into()), LATENESS_BUCKETS)
}

fn install() -> PrometheusHandle {
    let builder = builder().unwrap_or_else(|e| {
        // Only empty bucket lists fail, and ours are constants; summaries are still valid output.
        tracing::warn!(error = %e, "metrics: histogram buckets refused; latencies are reported as summaries");
        PrometheusBuilder::new()
    });
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if let Err(e) = metrics::set_global_recorder(recorder) {
        tracing::warn!(error = %e, "metrics: another recorder is installed; /metrics will stay empty");
    }
    // Histograms keep raw samples until compacted; without scrapes they would grow.
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP_EVERY);
            upkeep.run_upkeep();
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "metrics: cannot start the upkeep thread; histograms are compacted at scrapes only");
    }
    process_collector().describe();
    describe();
    if ALLOCATOR_STATS.get().is_some() {
        describe_allocator();
    }
    handle
}

/// What the process's memory allocator holds, in bytes (jemalloc's
/// `stats.*`): `allocated` is in use by the program, `active` the pages those
/// allocations sit on, `resident` the allocator's pages in memory (active
/// ones, its own bookkeeping, and freed pages not yet given back), `metadata`
/// its bookkeeping, `retained` address space given back but kept mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocatorStats {
    pub allocated: u64,
    pub active: u64,
    pub resident: u64,
    pub metadata: u64,
    pub retained: u64,
}

static ALLOCATOR_STATS: OnceLock<fn() -> Option<AllocatorStats>> = OnceLock::new();

/// Has every scrape report `read`'s figures as `newsdesk_allocator_*_bytes`
/// (the binary knows its allocator; the web layer does not). `None` from
/// `read` leaves the gauges at their last values. The first call wins; call
/// it before or after the recorder is installed.
pub fn report_allocator(read: fn() -> Option<AllocatorStats>) {
    if ALLOCATOR_STATS.set(read).is_ok() {
        describe_allocator();
    }
}

/// The allocator's gauges, name and help, in the order of [`AllocatorStats::values`].
const ALLOCATOR_GAUGES: [(&str, &str); 5] = [
    ("newsdesk_allocator_allocated_bytes", "Memory the program has allocated and not freed."),
    ("newsdesk_allocator_active_bytes", "The allocator's pages that hold allocations."),
    (
        "newsdesk_allocator_resident_bytes",
        "The allocator's pages in memory: active ones, its bookkeeping, freed pages not yet given back.",
    ),
    ("newsdesk_allocator_metadata_bytes", "The allocator's own bookkeeping."),
    (
        "newsdesk_allocator_retained_bytes",
        "Address space the allocator gave back to the system and keeps mapped for reuse (not in memory).",
    ),
];

impl AllocatorStats {
    /// The figures in the order of [`ALLOCATOR_GAUGES`].
    fn values(&self) -> [u64; 5] {
        [self.allocated, self.active, self.resident, self.metadata, self.retained]
    }
}

/// The help text of the allocator's gauges (a no-op before the recorder is
/// installed: `install` describes them again).
fn describe_allocator() {
    for (name, help) in ALLOCATOR_GAUGES {
        metrics::describe_gauge!(name, Unit::Bytes, help);
    }
}

fn sample_allocator() {
    let Some(stats) = ALLOCATOR_STATS.get().and_then(|read| read()) else { return };
    for ((name, _), value) in ALLOCATOR_GAUGES.into_iter().zip(stats.values()) {
        metrics::gauge!(name).set(value as f64);
    }
}

fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// The help text of every metric newsdesk records (Prometheus shows it as `# HELP`).
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS, Unit::Count, "HTTP requests answered, by route pattern and status code.");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to the response head, by route pattern.");
    describe_counter!("newsdesk_page_cache_hits_total", Unit::Count, "Pages served from the page cache.");
    describe_counter!("newsdesk_page_cache_misses_total", Unit::Count, "Cacheable pages rendered because not cached.");
    describe_counter!("newsdesk_page_cache_evictions_total", Unit::Count, "Pages dropped from the cache, by cause.");
    describe_counter!(
        "newsdesk_page_cache_packed_total",
        Unit::Count,
        "Cached pages packed (gzip or Zstandard) after going unread a while."
    );
    describe_gauge!(
        "newsdesk_page_cache_bytes",
        Unit::Bytes,
        "Size of the cached pages as counted against page_cache_mb (unpacked, with room for compressed forms)."
    );
    describe_gauge!("newsdesk_page_cache_entries", Unit::Count, "Pages in the page cache.");
    describe_gauge!("newsdesk_changes_lag", Unit::Count, "Changes in the change log a follower has yet to apply.");
    describe_counter!("newsdesk_changes_applied_total", Unit::Count, "Changes applied, by follower.");
    describe_histogram!(
        "newsdesk_search_commit_seconds",
        Unit::Seconds,
        "Time a commit of the search index took (changes are searchable at its end)."
    );
    describe_histogram!(
        "newsdesk_search_checkpoint_seconds",
        Unit::Seconds,
        "Time syncing the search index's newest commits to disk took."
    );
    describe_gauge!("newsdesk_webhook_backlog", Unit::Count, "Webhook events not yet delivered.");
    describe_counter!(
        "newsdesk_webhook_deliveries_total",
        Unit::Count,
        "Webhook deliveries tried, by subscriber and outcome."
    );
    describe_histogram!(WEBHOOK_DURATION, Unit::Seconds, "Time a webhook delivery took, by subscriber.");
    describe_counter!("newsdesk_scheduler_runs_total", Unit::Count, "Scheduler ticks, by outcome.");
    describe_counter!("newsdesk_scheduler_published_total", Unit::Count, "Stories published by the scheduler.");
    describe_histogram!(SCHEDULER_LATENESS, Unit::Seconds, "Delay between a story's due time and its publication.");
    describe_gauge!("newsdesk_db_pool_connections", Unit::Count, "Open database connections.");
    describe_gauge!("newsdesk_db_pool_idle_connections", Unit::Count, "Idle database connections.");
    describe_gauge!("newsdesk_db_pool_max_connections", Unit::Count, "Most database connections the pool opens.");
    describe_counter!("newsdesk_db_errors_total", Unit::Count, "Database errors, by kind.");
    describe_gauge!("newsdesk_views_buffered", Unit::Count, "Story views counted in memory, not yet written.");
    describe_gauge!(
        "newsdesk_ingest_source_last_success_timestamp_seconds",
        Unit::Seconds,
        "When each ingest source was last polled successfully (Unix time; 0: never)."
    );
    describe_counter!("newsdesk_ingest_source_items_total", Unit::Count, "Items stored from each ingest source.");
    describe_counter!("newsdesk_ingest_source_errors_total", Unit::Count, "Errors noted for each ingest source.");
    describe_counter!("newsdesk_ingest_polls_total", Unit::Count, "Polls of ingest sources by this node, by outcome.");
}

/// A counter registered once, after the recorder is installed (a handle taken
/// before would stay a no-op): counting is then one atomic add.
macro_rules! static_counter {
    ($name:expr $(, $label:literal => $value:literal)*) => {{
        static COUNTER: std::sync::LazyLock<Counter> = std::sync::LazyLock::new(|| {
            handle();
            metrics::counter!($name $(, $label => $value)*)
        });
        &*COUNTER
    }};
}

/// A page was served from the page cache.
pub(crate) fn page_cache_hit() {
    static_counter!("newsdesk_page_cache_hits_total").increment(1);
}

/// A cacheable page was not in the cache and is rendered.
pub(crate) fn page_cache_miss() {
    static_counter!("newsdesk_page_cache_misses_total").increment(1);
}

/// Cached pages packed by [`crate::pack_cold_pages`].
pub(crate) fn page_cache_packed(n: usize) {
    static_counter!("newsdesk_page_cache_packed_total").increment(n as u64);
}

/// A page left the cache: pushed out for room (`size`), dropped by an
/// invalidation (`invalidated`), or replaced by a newer rendering (`replaced`).
pub(crate) fn page_cache_evicted(cause: moka::notification::RemovalCause) {
    use moka::notification::RemovalCause;
    const NAME: &str = "newsdesk_page_cache_evictions_total";
    match cause {
        RemovalCause::Size => static_counter!(NAME, "cause" => "size"),
        RemovalCause::Explicit => static_counter!(NAME, "cause" => "invalidated"),
        RemovalCause::Replaced => static_counter!(NAME, "cause" => "replaced"),
        RemovalCause::Expired => static_counter!(NAME, "cause" => "expired"),
    }
    .increment(1);
}

/// Counters and the latency histogram of one route, made once: the request
/// path then only looks them up (no label strings built per request).
pub(crate) struct RouteMetrics {
    route: Arc<str>,
    duration: Histogram,
    by_status: RwLock<Vec<(u16, Counter)>>,
}

impl RouteMetrics {
    fn new(route: &str) -> RouteMetrics {
        handle();
        let route: Arc<str> = route.into();
        RouteMetrics {
            duration: metrics::histogram!(HTTP_DURATION, "route" => route.clone()),
            route,
            by_status: RwLock::new(Vec::new()),
        }
    }

    /// Counts one answer of this route.
    pub(crate) fn record(&self, status: StatusCode, elapsed: Duration) {
        self.duration.record(elapsed.as_secs_f64());
        let code = status.as_u16();
        if let Ok(known) = self.by_status.read()
            && let Some((_, counter)) = known.iter().find(|(c, _)| *c == code)
        {
            counter.increment(1);
            return;
        }
        let counter =
            metrics::counter!(HTTP_REQUESTS, "route" => self.route.clone(), "status" => status.as_str().to_owned());
        counter.increment(1);
        if let Ok(mut known) = self.by_status.write()
            && !known.iter().any(|(c, _)| *c == code)
        {
            known.push((code, counter));
        }
    }
}

impl std::fmt::Debug for RouteMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMetrics").field("route", &self.route).finish_non_exhaustive()
    }
}

/// The route answering a GET or HEAD request, and the address the request
/// asked for (before the edition's prefix was taken off).
struct Answering {
    route: Arc<RouteMetrics>,
    asked: Uri,
}

tokio::task_local! {
    static ANSWERING: Answering;
}

/// The route of the GET or HEAD request being answered when it asked for
/// `path` itself: a page it renders and caches under `path` may then be
/// answered before routing ([`crate::site::hot_page`]), counted as this route.
pub(crate) fn answering_route(path: &str) -> Option<Arc<RouteMetrics>> {
    ANSWERING.try_with(|a| (a.asked.path() == path).then(|| a.route.clone())).ok().flatten()
}

/// The metrics of `route`, made on its first request.
fn route_metrics(route: &str) -> Arc<RouteMetrics> {
    static ROUTES: OnceLock<RwLock<HashMap<Box<str>, Arc<RouteMetrics>>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(Default::default);
    if let Ok(known) = routes.read()
        && let Some(m) = known.get(route)
    {
        return m.clone();
    }
    let made = Arc::new(RouteMetrics::new(route));
    match routes.write() {
        Ok(mut known) => known.entry(route.into()).or_insert(made).clone(),
        Err(_) => made,
    }
}

/// Middleware (a `Router::layer`, so the matched route is known): counts each
/// request by route pattern and status, and times it to the response head.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = route_metrics(req.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str));
    let asked = matches!(*req.method(), Method::GET | Method::HEAD)
        .then(|| req.extensions().get::<OriginalUri>().map(|u| u.0.clone()))
        .flatten();
    let res = match asked {
        Some(asked) => ANSWERING.scope(Answering { route: route.clone(), asked }, next.run(req)).await,
        None => next.run(req).await,
    };
    route.record(res.status(), start.elapsed());
    res
}

/// The `/metrics` route of the site's address: needs the configured token.
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape_with_token))
}

/// The app of the separate metrics address (`metrics_listen`): `/metrics`
/// without a token, nothing else.
pub fn listener_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(|State(state): State<AppState>| async move { scrape(&state).await }))
        .with_state(state)
}

async fn scrape_with_token(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let Some(token) = state.config.metrics_token.as_deref() else {
        // Not offered on the public address unless the operator chose a token.
        return Err(AppError::NotFound);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !given.is_some_and(|given| same_secret(given.as_bytes(), token.as_bytes())) {
        return Ok((
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""), (header::CACHE_CONTROL, "no-store")],
            "/metrics needs Authorization: Bearer <metrics_token>\n",
        )
            .into_response());
    }
    Ok(scrape(&state).await)
}

/// Compares without an early exit, so the answer time does not tell how much of a guess was right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn scrape(state: &AppState) -> Response {
    sample(state).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        handle().render(),
    )
        .into_response()
}

/// Reads the gauges whose values live elsewhere.
async fn sample(state: &AppState) {
    process_collector().collect();
    sample_allocator();
    // `len` first: it applies the cache's pending bookkeeping, which the byte count reads.
    metrics::gauge!("newsdesk_page_cache_entries").set(state.pages.len() as f64);
    metrics::gauge!("newsdesk_page_cache_bytes").set(state.pages.bytes() as f64);
    let pool = state.store.pool_stats();
    metrics::gauge!("newsdesk_db_pool_connections").set(f64::from(pool.size));
    metrics::gauge!("newsdesk_db_pool_idle_connections").set(pool.idle as f64);
    metrics::gauge!("newsdesk_db_pool_max_connections").set(f64::from(pool.max));
    metrics::gauge!("newsdesk_views_buffered").set(state.views.buffered() as f64);
    // A scrape must answer during a database outage too: then the backlog keeps its last value.
    if let Ok(Ok(backlog)) = tokio::time::timeout(SAMPLE_TIMEOUT, state.store.webhook_backlog()).await {
        metrics::gauge!("newsdesk_webhook_backlog").set(backlog as f64);
    }
    // Ingest sources, from the database: every node reports the same values,
    // whichever node polled (one label value per source an admin made).
    if let Ok(Ok(sources)) = tokio::time::timeout(SAMPLE_TIMEOUT, state.store.inbound_sources()).await {
        for s in sources {
            let name = s.name.clone();
            let last = s.last_success_at.map_or(0.0, |t| t.timestamp() as f64);
            metrics::gauge!("newsdesk_ingest_source_last_success_timestamp_seconds", "source" => name.clone())
                .set(last);
            metrics::counter!("newsdesk_ingest_source_items_total", "source" => name.clone())
                .absolute(u64::try_from(s.items_total).unwrap_or(0));
            metrics::counter!("newsdesk_ingest_source_errors_total", "source" => name)
                .absolute(u64::try_from(s.errors_total).unwrap_or(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cret", b"s3creT"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
    }

    #[test]
    fn bucket_lists_are_accepted() {
        assert!(builder().is_ok());
    }
}
