//! `newsdesk serve`: the site, with graceful shutdown.

use anyhow::Context;
use newsdesk_web::{AppState, WebConfig};
use tokio::net::TcpListener;

use crate::config::Config;

/// The log filter when `RUST_LOG` is not set: tantivy logs every index commit
/// at INFO (hundreds of lines at a start), so only its warnings show; sqlx's
/// pool says each dead connection it drops (at INFO when the test before use
/// fails, at WARN when the one as it comes back does: a line per connection
/// when the database goes away, which the outage log reports once), so only
/// its errors show.
const DEFAULT_LOG_FILTER: &str = "info,tantivy=warn,sqlx_core::pool=error";

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    // Colours only on a terminal: logs redirected to a file stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = if format == "json" { builder.json().try_init() } else { builder.try_init() };
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    init_tracing(&config.log_format);
    let store = crate::startup::open_store(&config).await?;
    if demo && store.story_count().await? == 0 {
        let report = crate::demo::fill_site(&store, 200, chrono::Utc::now(), config.demo_arabic_calendar()?)
            .await
            .context("cannot create the demo content")?;
        tracing::info!(stories = report.created, "demo content created");
    }
    crate::startup::ensure_default_edition(&store, &config).await?;
    // The config file's [[ingest.sources]], upserted by name (read-only in the back office).
    let audit = newsdesk_storage::AuditEntry::system("config", "ingest.source.config", "ingest_source", "", "");
    store.sync_config_sources(&config.ingest.sources()?, &audit).await.context("cannot store [[ingest.sources]]")?;
    let web = WebConfig {
        public_url: config.public_url(),
        page_cache_bytes: config.page_cache_mb * 1024 * 1024,
        theme_dir: config.theme_dir.clone(),
        request_timeout: std::time::Duration::from_secs(config.request_timeout_secs),
        count_views: config.count_views,
        sidebar_refresh: std::time::Duration::from_secs(config.sidebar_refresh_secs),
        trusted_proxies: config.trusted_proxies.clone(),
        feed_items: i64::from(config.feed_items),
        wire: config.wire.settings()?,
        comments: config.comments.settings(),
        media_max_upload_bytes: usize::try_from(config.media.max_upload_mb * 1024 * 1024).unwrap_or(usize::MAX),
        media_max_pixels: config.media.max_megapixels * 1_000_000,
        metrics_token: config.metrics_token.as_deref().map(str::trim).map(str::to_string),
        spike_expiry_days: config.spike_expiry_days,
        breaking: config.breaking.settings(),
        embeds: config.embeds.settings(),
        ..WebConfig::default()
    };
    let mut state = AppState::new(store.clone(), web).await?;
    // Search is this node's own index, kept current from the change log; without it the site still serves.
    let search = match crate::search::open_index(&config) {
        Ok(index) => {
            // A rebuild reads its next stories once no reader waits for a page being made (or 100 ms on).
            state.use_search(index.clone());
            Some((index.clone(), tokio::spawn(newsdesk_search::follow(index, store.clone(), state.config.change_poll))))
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "search is off");
            None
        }
    };
    let follower = tokio::spawn(newsdesk_web::follow_changes(state.clone()));
    let flusher = tokio::spawn(newsdesk_web::flush_views(state.clone()));
    // Cached pages unread for a while are kept compressed.
    let packer = tokio::spawn(newsdesk_web::pack_cold_pages(state.clone()));
    let webhook_holder = newsdesk_web::webhooks::holder_id();
    let webhooks = tokio::spawn(newsdesk_web::webhooks::run_webhooks(state.clone(), webhook_holder.clone()));
    let scheduler = tokio::spawn(newsdesk_web::scheduler::run(state.clone()));
    // Photos stored without resized copies (a small demo's, a site from an older version) get them, once,
    // in the background, by one node at a time (a lease).
    let renditions = tokio::spawn(newsdesk_web::media::complete_renditions(
        store.clone(),
        state.images.clone(),
        format!("renditions-{webhook_holder}"),
    ));
    // And their crops (16:9, 4:3, 1:1), a few at a time, by one node at a time (a lease).
    let crops_holder = format!("crops-{webhook_holder}");
    let crops = tokio::spawn(newsdesk_web::media::crops::run_backfill(state.clone(), crops_holder));
    if store.user_count().await? == 0 {
        tracing::info!(
            "the back office has no users yet: create the first admin with \
             `newsdesk user add you@example.org --role admin`, then log in at {}/admin",
            config.public_url()
        );
    }
    // The fragments every page shows, before the first reader asks.
    newsdesk_web::warm_fragments(&state).await;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {} (is another server running there?)", config.listen))?;
    // Bound before serving, so a taken metrics port stops the start with a clear error.
    let metrics = match config.metrics_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for metrics (metrics_listen)"))?;
            tracing::info!(url = %format!("http://{addr}/metrics"), "metrics are served without a token");
            let app = newsdesk_web::metrics::listener_app(state.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            }))
        }
        None => None,
    };
    tracing::info!(url = %config.public_url(), "newsdesk is serving");
    newsdesk_web::server::serve(
        listener,
        newsdesk_web::app(state.clone()),
        Some(newsdesk_web::front(state.clone())),
        config.server_limits(),
        shutdown_signal(),
    )
    .await;
    follower.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    if let Some((index, follower)) = search {
        follower.abort();
        // What the index committed since its last checkpoint, on disk before the process ends.
        if let Err(e) = index.checkpoint() {
            tracing::warn!(error = %e, "could not sync the search index to disk");
        }
    }
    flusher.abort();
    packer.abort();
    webhooks.abort();
    // Another node (or this one after a restart) takes over the webhooks at once.
    newsdesk_web::webhooks::release_lease(&state, &webhook_holder).await;
    scheduler.abort();
    renditions.abort();
    crops.abort();
    // The views counted since the last flush.
    newsdesk_web::flush_views_now(&state).await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
