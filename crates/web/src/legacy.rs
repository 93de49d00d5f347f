//! Old addresses of imported sites (a WordPress blog moved here): a request
//! for one answers a 301 to where its content lives now. The addresses are
//! those `newsdesk import wxr` stored (`redirects` of kind `path`): the
//! permalinks whatever their structure (`/slug/`, `/2011/01/slug/`), the
//! query forms (`/?p=12`, `/?cat=3`, `/?tag=x`), `/category/...`, `/tag/...`
//! and `/author/...`.
//!
//! Query forms are asked on `/` itself, which is the home page: they are
//! looked up before the routes run. Every other old address is only looked up
//! when no route answered it (a 404), so the site's own pages never cost a lookup.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use newsdesk_domain::wxr::plan::old_path;

use crate::AppState;

/// Query keys of WordPress's own addresses for items.
const QUERY_KEYS: &[&str] = &["p", "page_id", "cat", "tag", "attachment_id", "author"];

fn wordpress_query(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            QUERY_KEYS.contains(&k) && !v.is_empty()
        })
    })
}

async fn lookup(state: &AppState, path_and_query: &str) -> Option<Response> {
    let old = old_path(path_and_query)?;
    match state.store.path_redirect(&old).await {
        Ok(Some(to)) => Some(crate::editions::moved(&to)),
        Ok(None) => None,
        Err(e) => {
            // The answer stays what the routes said (a 404 or the home page).
            tracing::warn!(error = %e, "looking up an old address");
            None
        }
    }
}

/// Redirects old addresses of imported sites (see the module documentation).
pub(crate) async fn old_addresses(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    // A shared handle on the request's address, not a copy (this runs for every page).
    let uri = req.uri().clone();
    if wordpress_query(uri.query())
        && let Some(moved) = lookup(&state, uri.path_and_query().map_or("/", |pq| pq.as_str())).await
    {
        return moved;
    }
    let res = next.run(req).await;
    let path = uri.path();
    if res.status() != StatusCode::NOT_FOUND || path.starts_with("/api/") || path.starts_with("/admin") {
        return res;
    }
    lookup(&state, path).await.unwrap_or(res)
}
