//! Live blogs on the reader site: the updates on the story page (newest
//! first, the pinned one on top, each at `#update-{id}`), their schema.org
//! `LiveBlogPosting` JSON-LD, and the small JSON document open pages poll for
//! new updates (`/news/{id}/updates.json?after={id}`).
//!
//! The page works without JavaScript: it lists every update. With it,
//! `/static/liveblog.js` asks the JSON document every few seconds and offers
//! the new updates behind a button ("3 new updates") rather than moving the
//! text under the reader's eyes. The document is cached like pages, under
//! the story's dependency key: each update is a change in the change log, so
//! every node drops it (and the page) as soon as it follows the log.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use minijinja::Value;
use newsdesk_domain::{Edition, Story, StoryStatus, dates};
use newsdesk_storage::LiveUpdate;

use super::{Rendered, cached, story_deps};
use crate::cache::CachedPage;
use crate::render::PhotoView;
use crate::{AppError, AppState};

/// The script that brings new updates into open pages.
const LIVE_JS: &str = include_str!("../../static/liveblog.js");

/// `Cache-Control` of the updates document: every poll revalidates (a 304
/// from the node's cache while nothing changed).
const CC_UPDATES: &str = "no-cache";

/// How long the script waits between two polls, in milliseconds.
pub(crate) const POLL_MS: u32 = 10_000;

/// What the story page shows of a live blog.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LiveInputs<'a> {
    /// When its coverage started: the later of becoming live and the first publish.
    pub(crate) start: DateTime<Utc>,
    /// When its coverage ended, if it has.
    pub(crate) end: Option<DateTime<Utc>>,
    /// The updates, pinned first, then newest first.
    pub(crate) updates: &'a [LiveUpdate],
}

impl<'a> LiveInputs<'a> {
    /// The live blog of `story` with its `updates`; `None` when it is not a live blog.
    pub(crate) fn of(story: &Story, updates: &'a [LiveUpdate]) -> Option<LiveInputs<'a>> {
        let since = story.live_since?;
        let start = story.published_at.map_or(since, |p| p.max(since));
        Some(LiveInputs { start, end: story.live_until, updates })
    }
}

/// The text of sanitized HTML: tags dropped (block ends become spaces), the
/// entities the sanitizer writes decoded, spaces folded.
pub(crate) fn plain_text(html: &str) -> String {
    const BLOCKS: [&str; 14] =
        ["p", "br", "li", "ul", "ol", "div", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "figure"];
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim_start_matches('/');
        let name: String = tag.chars().take_while(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
        if BLOCKS.contains(&name.as_str()) {
            out.push(' ');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The headline of an update for machines: its own, else the start of its text.
fn update_headline(u: &LiveUpdate) -> String {
    if !u.headline.trim().is_empty() {
        return u.headline.clone();
    }
    let text = plain_text(&u.body_html);
    if text.chars().count() <= 110 {
        return text;
    }
    let mut cut: String = text.chars().take(109).collect();
    cut.push('…');
    cut
}

/// Turns the story's `NewsArticle` JSON-LD into a `LiveBlogPosting` with its
/// coverage times and one `BlogPosting` per update (`canonical` is the page's URL).
pub(crate) fn decorate_jsonld(
    jsonld: &mut serde_json::Value,
    live: &LiveInputs<'_>,
    canonical: &str,
    tz: chrono_tz::Tz,
    public_url: &str,
) {
    jsonld["@type"] = "LiveBlogPosting".into();
    jsonld["coverageStartTime"] = dates::iso8601(live.start, tz).into();
    if let Some(end) = live.end {
        jsonld["coverageEndTime"] = dates::iso8601(end, tz).into();
    }
    let mut updates: Vec<&LiveUpdate> = live.updates.iter().collect();
    // Machines read them newest first, whatever is pinned.
    updates.sort_by_key(|u| std::cmp::Reverse(u.id));
    jsonld["liveBlogUpdate"] = updates
        .iter()
        .map(|u| {
            let mut post = serde_json::json!({
                "@type": "BlogPosting",
                "headline": update_headline(u),
                "articleBody": plain_text(&u.body_html),
                "datePublished": dates::iso8601(u.created_at, tz),
                "dateModified": dates::iso8601(u.modified_at, tz),
                "url": format!("{canonical}#update-{}", u.id),
            });
            if let Some(p) = &u.photo {
                post["image"] = format!("{public_url}{}", p.path()).into();
            }
            post
        })
        .collect();
}

/// One update as the template `live_update.html` shows it.
fn update_ctx(u: &LiveUpdate, edition: &Edition, public_url: &str) -> Value {
    let tz = edition.time_zone;
    minijinja::context! {
        id => u.id,
        headline => u.headline,
        body_html => Value::from_safe_string(u.body_html.clone()),
        pinned => u.pinned,
        time => edition.format_time(u.created_at),
        day => edition.format_day(u.created_at),
        iso => dates::iso8601(u.created_at, tz),
        edited => (u.modified_at > u.created_at).then(|| edition.format_long(u.modified_at)),
        photo => u.photo.as_ref().map(|p| {
            let headline = if u.headline.is_empty() { String::new() } else { u.headline.clone() };
            PhotoView::new(p, &headline, public_url)
        }),
    }
}

/// The live blog's part of the story page's view (`None`: not a live blog).
pub(crate) fn page_ctx(live: Option<&LiveInputs<'_>>, story: &Story, edition: &Edition, public_url: &str) -> Value {
    let Some(live) = live else { return Value::from(()) };
    let tz = edition.time_zone;
    minijinja::context! {
        now => live.end.is_none(),
        start => edition.format_long(live.start),
        start_iso => dates::iso8601(live.start, tz),
        end => live.end.map(|e| edition.format_long(e)),
        end_iso => live.end.map(|e| dates::iso8601(e, tz)),
        updates => live.updates.iter().map(|u| update_ctx(u, edition, public_url)).collect::<Vec<_>>(),
        newest => live.updates.iter().map(|u| u.id).max().unwrap_or(0),
        json => crate::editions::within(edition, &format!("/news/{}/updates.json", story.news_id)),
        script => format!("/static/liveblog.js?v={}", &super::content_hash(LIVE_JS.as_bytes())[..12]),
        poll_ms => POLL_MS,
    }
}

/// `GET /news/{id}/updates.json?after={update id}`: what an open page of a
/// live blog lacks — the updates newer than `after` (newest first, as HTML
/// ready to insert), the ids of all current updates (so removed ones can go),
/// and whether the coverage still runs.
pub(super) async fn updates_json(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let id = id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AppError::NotFound)?;
    let after = after_of(raw.as_deref())?;
    let key = format!("/news/{id}/updates.json?after={after}");
    let st = state.clone();
    cached(&state, key, &headers, || async move {
        let story = st.store.story(id).await?.ok_or(AppError::NotFound)?;
        let edition = super::edition(&st);
        if story.status != StoryStatus::Published || story.live_since.is_none() || story.edition_id != edition.id {
            return Err(AppError::NotFound);
        }
        let updates = st.store.live_updates(id).await?;
        let public_url = &st.config.public_url;
        let mut newest: Vec<&LiveUpdate> = updates.iter().filter(|u| u.id > after).collect();
        newest.sort_by_key(|u| std::cmp::Reverse(u.id));
        let mut items = Vec::with_capacity(newest.len());
        for u in newest {
            let site =
                minijinja::context! { lang => edition.lang, digits => newsdesk_domain::digits_name(edition.digits) };
            let html = st.templates.render(
                "live_update.html",
                minijinja::context! { u => update_ctx(u, &edition, public_url), site => site },
            )?;
            items.push(serde_json::json!({ "id": u.id, "pinned": u.pinned, "html": html.trim() }));
        }
        let body = serde_json::json!({
            "news_id": story.news_id,
            "version": story.version,
            "live": story.is_live_now(),
            "newest": updates.iter().map(|u| u.id).max().unwrap_or(0),
            "ids": updates.iter().map(|u| u.id).collect::<Vec<_>>(),
            "updates": items,
        });
        let page = CachedPage::document(
            body.to_string(),
            "application/json",
            CC_UPDATES,
            Some(story.modified_at),
            story_deps([id]),
        );
        Ok(Rendered::Page(page))
    })
    .await
}

/// Reads `after={id}` (absent: 0; anything else is refused).
fn after_of(raw: Option<&str>) -> Result<i64, AppError> {
    let mut after = 0;
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "after" {
            after = v
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or(AppError::BadRequest("after must be the id of an update (a whole number)".into()))?;
        }
    }
    Ok(after)
}

/// `GET /static/liveblog.js`: cached for a year (its URL carries its hash).
pub(super) async fn script() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        LIVE_JS,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_drops_tags_and_decodes_entities() {
        assert_eq!(plain_text("<p>Tom &amp; Jerry</p><p>a &lt;b&gt;</p>"), "Tom & Jerry a <b>");
        assert_eq!(plain_text("<p>Winds <strong>150</strong>.<br>Rain</p>"), "Winds 150. Rain");
    }

    #[test]
    fn after_is_a_whole_number() {
        assert_eq!(after_of(None).ok(), Some(0));
        assert_eq!(after_of(Some("after=12")).ok(), Some(12));
        assert!(after_of(Some("after=x")).is_err());
        assert!(after_of(Some("after=-1")).is_err());
    }
}
