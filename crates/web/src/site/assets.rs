//! Media, the stylesheet, the logo, robots.txt and the readiness check.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::{AppError, AppState};

pub(super) async fn media(
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

pub(super) async fn stylesheet(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
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

pub(super) async fn logo() -> Response {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")],
        crate::render::LOGO_SVG,
    )
        .into_response()
}

pub(super) async fn robots(State(state): State<AppState>) -> Response {
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
pub(super) async fn readyz(State(state): State<AppState>) -> Response {
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
