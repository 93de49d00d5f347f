//! Embeds at save time and on pages.
//!
//! A save (back office, write API, live-blog update) calls [`prepare`]
//! before the story is stored: each embed URL of the body that the site has
//! not learnt about yet is looked up once through its provider's oEmbed
//! endpoint (title, thumbnail), with a short timeout; the thumbnail is copied
//! into our own store so the page's placeholder asks nothing from the
//! provider before the reader's click. A failure never blocks the save: the
//! URL stands as the title, and the lookup is tried again at a save an hour
//! later at the earliest.
//!
//! On pages, [`frame_src_csp`] widens the strict Content-Security-Policy by
//! exactly the frames of the providers the page embeds.

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use newsdesk_domain::BodyFormat;
use newsdesk_domain::body::{self, Block, Embed, Provider};
use newsdesk_storage::{EmbedInput, EmbedThumbnail};
use sha2::{Digest, Sha256};

use crate::AppState;

/// How embeds are looked up.
#[derive(Debug, Clone)]
pub struct EmbedSettings {
    /// Replaces the scheme, host and port of every provider's oEmbed endpoint
    /// (`http://127.0.0.1:9000`: tests and sites behind a proxy); `None`: the providers' own.
    pub oembed_url: Option<String>,
    /// Longest wait for a provider's answer (each of the oEmbed document and the thumbnail).
    pub timeout: Duration,
}

impl Default for EmbedSettings {
    fn default() -> Self {
        EmbedSettings { oembed_url: None, timeout: Duration::from_secs(4) }
    }
}

/// A failed lookup is tried again after this long.
const RETRY_AFTER_SECS: i64 = 3600;
/// Largest oEmbed document read.
const MAX_DOCUMENT: usize = 256 * 1024;
/// Largest thumbnail copied.
const MAX_THUMBNAIL: usize = 2 * 1024 * 1024;
/// Longest title kept.
const MAX_TITLE: usize = 300;

/// The oEmbed endpoint of `provider` under `settings`, if it has one.
pub fn endpoint(settings: &EmbedSettings, provider: &Provider) -> Option<String> {
    let own = provider.oembed?;
    match settings.oembed_url.as_deref().map(|b| b.trim_end_matches('/')) {
        Some(base) => {
            let path = url::Url::parse(own).ok()?.path().to_string();
            Some(format!("{base}{path}"))
        }
        None => Some(own.to_string()),
    }
}

fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("newsdesk/", env!("CARGO_PKG_VERSION"), " (oEmbed)"))
        .build()
}

/// Reads at most `max` bytes of a successful answer.
async fn read_limited(resp: reqwest::Response, max: usize) -> Option<Vec<u8>> {
    if !resp.status().is_success() || resp.content_length().is_some_and(|l| l > max as u64) {
        return None;
    }
    let mut resp = resp;
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.ok()? {
        out.extend_from_slice(&chunk);
        if out.len() > max {
            return None;
        }
    }
    Some(out)
}

/// Looks up an embed through oEmbed; what it learnt (the URL alone when the
/// provider has no endpoint or does not answer).
pub async fn fetch(settings: &EmbedSettings, e: &Embed) -> EmbedInput {
    let mut out = EmbedInput {
        url: e.url.clone(),
        provider: e.provider.key.into(),
        title: String::new(),
        thumbnail: None,
        ok: false,
    };
    let Some(endpoint) = endpoint(settings, e.provider) else {
        // Nothing to ask: remembered as such, so saves do not try again and again.
        return out;
    };
    let Ok(client) = client(settings.timeout) else { return out };
    let doc = match client.get(&endpoint).query(&[("url", e.url.as_str()), ("format", "json")]).send().await {
        Ok(resp) => read_limited(resp, MAX_DOCUMENT).await,
        Err(err) => {
            tracing::warn!(url = %e.url, error = %err, "oEmbed lookup failed; the URL stands as the title");
            None
        }
    };
    let Some(doc) = doc.and_then(|d| serde_json::from_slice::<serde_json::Value>(&d).ok()) else { return out };
    out.ok = true;
    let title = doc.get("title").and_then(|t| t.as_str()).unwrap_or_default();
    out.title = newsdesk_domain::html::plain_text(title).chars().take(MAX_TITLE).collect();
    if let Some(thumb) = doc.get("thumbnail_url").and_then(|t| t.as_str()) {
        out.thumbnail = thumbnail(&client, settings, thumb).await;
    }
    out
}

/// Copies a thumbnail: `https` (or, with a configured endpoint, the same
/// scheme as it), at most 2 MB, a JPEG, PNG or WebP image.
async fn thumbnail(client: &reqwest::Client, settings: &EmbedSettings, raw: &str) -> Option<EmbedThumbnail> {
    let u = url::Url::parse(raw).ok()?;
    let allowed = u.scheme() == "https" || (settings.oembed_url.is_some() && u.scheme() == "http");
    if !allowed {
        return None;
    }
    let bytes = read_limited(client.get(u).send().await.ok()?, MAX_THUMBNAIL).await?;
    let mime = match image::guess_format(&bytes).ok()? {
        image::ImageFormat::Jpeg => "image/jpeg",
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::WebP => "image/webp",
        _ => return None,
    };
    let (width, height) =
        image::ImageReader::new(std::io::Cursor::new(&bytes)).with_guessed_format().ok()?.into_dimensions().ok()?;
    Some(EmbedThumbnail {
        sha256: hex::encode(Sha256::digest(&bytes)),
        mime: mime.into(),
        width: i64::from(width),
        height: i64::from(height),
        bytes,
    })
}

/// Looks up the embeds of a body the site does not know yet (or whose last
/// lookup failed over an hour ago) and stores what it learns. Never fails a
/// save: problems are logged.
pub async fn prepare(state: &AppState, format: BodyFormat, source: &str) {
    let settings = &state.config.embeds;
    let mut seen = Vec::new();
    for b in body::blocks(format, source) {
        let Block::Embed(e) = b else { continue };
        if seen.contains(&e.url) {
            continue;
        }
        seen.push(e.url.clone());
        match state.store.embed(&e.url).await {
            Ok(Some(stored))
                if stored.ok
                    || stored.fetched_at > chrono::Utc::now().timestamp() - RETRY_AFTER_SECS
                    || e.provider.oembed.is_none() =>
            {
                continue;
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(url = %e.url, error = %err, "cannot read the stored embed");
                continue;
            }
        }
        let found = fetch(settings, &e).await;
        if let Err(err) = state.store.save_embed(&found).await {
            tracing::warn!(url = %e.url, error = %err, "cannot store the embed's metadata");
        }
    }
}

/// The click-to-load script, embedded in the binary.
const SCRIPT: &str = include_str!("../static/embeds.js");

/// The script's address, with its hash so it can be cached for a year.
pub fn script_path() -> String {
    format!("/static/embeds.js?v={}", &crate::site::content_hash(SCRIPT.as_bytes())[..12])
}

/// `GET /static/embeds.js`.
pub fn router() -> Router<AppState> {
    Router::new().route("/static/embeds.js", get(script))
}

async fn script() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// Whether rendered HTML holds an embed's placeholder.
pub fn has_embeds(html: &str) -> bool {
    !body::providers_in(html).is_empty()
}

/// The page's Content-Security-Policy for `html` (its body and updates): the
/// strict `base` when it embeds nothing, else `base` with a `frame-src` of
/// exactly the providers' player origins.
pub fn frame_src_csp(base: &str, html: &str) -> Option<String> {
    let providers = body::providers_in(html);
    if providers.is_empty() {
        return None;
    }
    let origins = providers.iter().map(|p| p.frame_origin).collect::<Vec<_>>().join(" ");
    Some(format!("{base}; frame-src {origins}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_endpoint_keeps_the_providers_path() {
        let yt = body::provider("youtube").expect("youtube");
        let local = EmbedSettings { oembed_url: Some("http://127.0.0.1:9/".into()), ..EmbedSettings::default() };
        assert_eq!(endpoint(&local, yt).as_deref(), Some("http://127.0.0.1:9/oembed"));
        assert_eq!(endpoint(&EmbedSettings::default(), yt).as_deref(), Some("https://www.youtube.com/oembed"));
        assert_eq!(endpoint(&local, body::provider("telegram").expect("telegram")), None);
    }

    #[test]
    fn csp_names_exactly_the_embedded_frames() {
        assert_eq!(frame_src_csp("default-src 'self'", "<p>x</p>"), None);
        let html = "<figure class=\"embed\" data-embed=\"vimeo\"></figure><figure data-embed=\"soundcloud\"></figure>";
        assert_eq!(
            frame_src_csp("default-src 'self'", html).as_deref(),
            Some("default-src 'self'; frame-src https://player.vimeo.com https://w.soundcloud.com")
        );
    }
}
