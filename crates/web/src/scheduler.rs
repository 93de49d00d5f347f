//! Publishes scheduled stories when their time comes. One node at a time does
//! it (a lease in the database), and each story goes out once: the store only
//! publishes stories that are still scheduled, in one statement, and writes
//! each one's audit entry (actor `scheduler`) in the same transaction. A node
//! that was down at the due time publishes at its next tick after start.

use std::time::Duration;

use chrono::Utc;

use crate::AppState;

/// How often the scheduler looks for due stories.
pub const TICK: Duration = Duration::from_secs(1);
/// How long a node holds the scheduler lease without renewing it.
const LEASE_SECS: i64 = 10;
/// How often spiked stories past `spike_expiry_days` are looked for.
pub const PURGE_EVERY: Duration = Duration::from_secs(60);

/// Purges the spiked stories whose time has come (if this node holds the
/// purge lease; the purge itself deletes each story once even without it).
pub async fn purge_spiked_now(
    state: &AppState,
    node: &str,
    now: chrono::DateTime<Utc>,
) -> Result<Vec<i64>, crate::AppError> {
    if !state.store.try_lease("purge", node, LEASE_SECS).await? {
        return Ok(Vec::new());
    }
    Ok(crate::desk::spike::purge_due(state, now).await?)
}

/// Publishes due stories now (if this node holds the lease); returns their News IDs.
pub async fn publish_due_now(state: &AppState, node: &str) -> Result<Vec<i64>, crate::AppError> {
    if !state.store.try_lease("scheduler", node, LEASE_SECS).await? {
        return Ok(Vec::new());
    }
    let due = state.store.due_times(Utc::now()).await?;
    let ids = state.store.publish_due(Utc::now()).await?;
    let published_at = Utc::now();
    for id in &ids {
        if let Some((_, at)) = due.iter().find(|(due_id, _)| due_id == id) {
            let late = (published_at - *at).to_std().unwrap_or_default();
            metrics::histogram!(crate::metrics::SCHEDULER_LATENESS).record(late.as_secs_f64());
        }
        metrics::counter!("newsdesk_scheduler_published_total").increment(1);
        if let Some(story) = state.store.story(*id).await? {
            state.story_changed(*id, story.edition_id).await?;
        }
        crate::desk::breaking::auto_raise(state, *id, published_at).await;
        tracing::info!(news_id = id, "scheduled story published");
    }
    Ok(ids)
}

/// Runs the scheduler until the task is dropped: due stories, the spike
/// purge, and (beside them, so a slow source never delays a publication) the
/// ingest sources ([`crate::ingest_sources::run`]).
pub async fn run(state: AppState) {
    let node = format!("{}-{}", std::process::id(), crate::admin::auth::random_token_short());
    tokio::join!(publish_loop(state.clone(), node.clone()), crate::ingest_sources::run(state, node));
}

async fn publish_loop(state: AppState, node: String) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge: Option<std::time::Instant> = None;
    loop {
        tick.tick().await;
        if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
            last_purge = Some(std::time::Instant::now());
            if let Err(e) = purge_spiked_now(&state, &node, Utc::now()).await {
                e.warn("purging spiked stories failed; retrying");
            }
        }
        // Drafts that routing rules ask for, of items stored by any ingest path.
        if let Err(e) = crate::desk::routing::auto_fetch_now(&state, &node).await {
            // An outage is reported once per interval by the outage log, not once a second here.
            let what = "automatic fetches of routed items failed; retrying";
            match e {
                crate::desk::DeskError::Unavailable(cause) => {
                    newsdesk_storage::outage::log().failed(what, &cause);
                }
                e => tracing::warn!(error = %e, "{what}"),
            }
        }
        if let Err(e) = publish_due_now(&state, &node).await {
            metrics::counter!("newsdesk_scheduler_runs_total", "outcome" => "failed").increment(1);
            e.warn("the scheduler failed; retrying");
        } else {
            metrics::counter!("newsdesk_scheduler_runs_total", "outcome" => "ok").increment(1);
        }
    }
}
