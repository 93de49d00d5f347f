//! The public read API: published stories (a filtered, cursor-paged list and
//! one by News ID), the section tree, tags and authors.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use newsdesk_domain::{Edition, Photo, Section, Story, StoryStatus, StorySummary, dates};
use newsdesk_storage::{ApiStoryQuery, Cursor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{ApiError, ErrorBody, parse_query};
use crate::AppState;

/// Stories per page unless `limit` says otherwise.
const DEFAULT_LIMIT: i64 = 20;
/// Most stories per page.
const MAX_LIMIT: i64 = 100;
/// Most tags or authors in one answer.
const MAX_NAMES: i64 = 1000;

// ----- response types -----

/// A section as a story names it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SectionRef {
    /// Path from the top section, e.g. `iran/defense`.
    pub path: String,
    /// Display name.
    pub name: String,
    /// URL of the section page.
    #[schema(format = "uri")]
    pub url: String,
}

/// A story's lead photo.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PhotoView {
    /// URL of the original (content-addressed, cached forever).
    #[schema(format = "uri")]
    pub url: String,
    /// Media type.
    pub mime: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// Caption.
    pub caption: String,
    /// Credit.
    pub credit: String,
}

/// A tag or an author as a story names them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NameRef {
    /// Slug, as used in filters and URLs.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// URL of its page.
    #[schema(format = "uri")]
    pub url: String,
}

/// A story in a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoryItem {
    /// News ID, stable forever.
    pub news_id: i64,
    /// Canonical URL of the story page.
    #[schema(format = "uri")]
    pub url: String,
    /// Headline.
    pub headline: String,
    /// Lead (standfirst), plain text.
    pub lead: String,
    /// Section.
    pub section: Option<SectionRef>,
    /// First publish time, ISO 8601 with the edition's offset.
    #[schema(format = DateTime)]
    pub published: String,
    /// Time of the last public update (correction), if any.
    #[schema(format = DateTime)]
    pub updated: Option<String>,
    /// Lead photo.
    pub photo: Option<PhotoView>,
}

/// A page of stories, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StoryList {
    /// The stories.
    pub items: Vec<StoryItem>,
    /// URL of the next page (same filters), or null on the last page.
    #[schema(format = "uri")]
    pub next: Option<String>,
}

/// One published story, whole.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StoryView {
    /// News ID, stable forever.
    pub news_id: i64,
    /// Canonical URL of the story page.
    #[schema(format = "uri")]
    pub url: String,
    /// Slug of the URL.
    pub slug: String,
    /// Language of the story's edition.
    pub edition: String,
    /// Headline.
    pub headline: String,
    /// Lead (standfirst), plain text.
    pub lead: String,
    /// Body as sanitized HTML.
    pub body_html: String,
    /// Section.
    pub section: Option<SectionRef>,
    /// Tags.
    pub tags: Vec<NameRef>,
    /// Byline.
    pub authors: Vec<NameRef>,
    /// Lead photo.
    pub photo: Option<PhotoView>,
    /// First publish time, ISO 8601 with the edition's offset.
    #[schema(format = DateTime)]
    pub published: String,
    /// Time of the last public update (correction), if any.
    #[schema(format = DateTime)]
    pub updated: Option<String>,
    /// Public note of the last correction, if any.
    pub correction: Option<String>,
    /// Revision number; grows with every change.
    pub version: i64,
    /// Urgency, 1 (flash) to 8 (lowest), as in ninjs.
    pub urgency: i64,
    /// The desk's short name of the story (`IRAN-DEFENCE-EXPORTS`); empty if none.
    pub slugline: String,
    /// The dateline's place (`Tehran`); empty if none.
    pub located: String,
    /// IPTC genres, in order.
    pub genres: Vec<Concept>,
    /// IPTC Media Topics, in order.
    pub subjects: Vec<Concept>,
}

/// A concept of an IPTC vocabulary (a genre or a Media Topic).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Concept {
    /// Its qcode: `genre:Analysis`, `medtop:11000000`.
    pub qcode: String,
    /// Its URI at the IPTC.
    #[schema(format = "uri")]
    pub uri: String,
    /// Its name in the story's language (English where there is none).
    pub name: String,
}

/// A section with its subsections.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SectionNode {
    /// Slug of this level.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Path from the top section.
    pub path: String,
    /// URL of the section page.
    #[schema(format = "uri")]
    pub url: String,
    /// Subsections, in the site's order.
    #[schema(no_recursion)]
    pub children: Vec<SectionNode>,
}

/// The section tree of an edition.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SectionTree {
    /// Edition language.
    pub edition: String,
    /// Top sections, in the site's order.
    pub items: Vec<SectionNode>,
}

/// A tag or author with its number of published stories.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NameCount {
    /// Slug, as used in filters and URLs.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// URL of its page.
    #[schema(format = "uri")]
    pub url: String,
    /// Number of published stories.
    pub stories: i64,
}

/// Tags or authors, most stories first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NameList {
    /// Edition language.
    pub edition: String,
    /// The names.
    pub items: Vec<NameCount>,
}

// ----- helpers -----

/// A public, briefly cacheable JSON answer with a weak ETag; 304 when the
/// client's `If-None-Match` names it.
fn cached<T: Serialize>(headers: &HeaderMap, max_age: u32, body: T) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(&body).map_err(|e| {
        tracing::error!(error = %e, "cannot serialize an API answer");
        ApiError::internal()
    })?;
    let etag = format!("W/\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32]);
    let cache_control = format!("public, max-age={max_age}");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| inm.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == &etag[2..]));
    if matches {
        return Ok(
            (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cache_control)]).into_response()
        );
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache_control),
        ],
        bytes,
    )
        .into_response())
}

/// The edition named by `lang`, or the default one.
fn edition_named(state: &AppState, lang: Option<&str>) -> Result<Edition, ApiError> {
    match lang {
        None => state.default_edition().ok_or_else(|| ApiError::not_found("the site has no edition yet")),
        Some(lang) => state
            .editions
            .load()
            .iter()
            .find(|e| e.lang == lang)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("there is no edition `{lang}`"))),
    }
}

/// A query parameter's value, with an empty one (`?tag=`) taken as absent, as HTML forms send them.
fn given(v: Option<String>) -> Option<String> {
    v.filter(|v| !v.trim().is_empty())
}

fn limit_of(raw: Option<&str>, default: i64, max: i64) -> Result<i64, ApiError> {
    match raw {
        None => Ok(default),
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::bad_request(format!("limit must be an integer from 1 to {max}, found `{l}`"))),
    }
}

fn time_of(raw: Option<&str>, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|t| {
        DateTime::parse_from_rfc3339(t.trim()).map(|d| d.with_timezone(&Utc)).map_err(|_| {
            ApiError::bad_request(format!(
                "{name} must be an RFC 3339 time with an offset, like 2024-07-22T14:38:00+03:30, found `{t}`"
            ))
        })
    })
    .transpose()
}

fn decode_cursor(raw: &str) -> Result<Cursor, ApiError> {
    Cursor::decode(raw)
        .ok_or_else(|| ApiError::bad_request("cursor is not one this API gave out; take it from a `next` link"))
}

/// Absolute URL of a public page (`/news/1/x`, `/tag/y`) of `edition` (under `/fa/` for a non-default one).
/// Letters of every script are kept in slugs; on the wire they are percent-encoded (RFC 3986).
pub(super) fn page_url(state: &AppState, edition: &Edition, path: &str) -> String {
    crate::site::abs(state, &encode_path(&edition.url(path)))
}

/// Percent-encodes what may not stand in a URI path (non-ASCII, spaces, controls, `"<>\^`{|}`),
/// leaving `/`, existing `%XX` escapes and the other ASCII characters as they are.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for ch in path.chars() {
        if ch.is_ascii_graphic() && !matches!(ch, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}' | '#' | '?') {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn section_url(state: &AppState, edition: &Edition, path: &str) -> String {
    page_url(state, edition, &format!("/section/{path}"))
}

pub(super) fn section_ref(state: &AppState, edition: &Edition, sections: &[Section], id: i64) -> Option<SectionRef> {
    sections.iter().find(|s| s.id == id).map(|s| SectionRef {
        path: s.path.clone(),
        name: s.name.clone(),
        url: section_url(state, edition, &s.path),
    })
}

fn photo_view(state: &AppState, p: &Photo) -> PhotoView {
    PhotoView {
        url: crate::site::abs(state, &p.path()),
        mime: p.mime.clone(),
        width: p.width,
        height: p.height,
        caption: p.caption.clone(),
        credit: p.credit.clone(),
    }
}

fn item_of(state: &AppState, edition: &Edition, sections: &[Section], s: &StorySummary) -> StoryItem {
    StoryItem {
        news_id: s.news_id,
        url: page_url(state, edition, &s.path()),
        headline: s.headline.clone(),
        lead: s.lead.clone(),
        section: section_ref(state, edition, sections, s.section_id),
        published: dates::iso8601(s.published_at, edition.time_zone),
        updated: s.updated_at.map(|u| dates::iso8601(u, edition.time_zone)),
        photo: s.photo.as_ref().map(|p| photo_view(state, p)),
    }
}

/// A published story, or the API's answer for one that is not (404 or 410).
pub(super) async fn public_story(state: &AppState, id: i64) -> Result<Story, ApiError> {
    let unknown = || ApiError::not_found(format!("there is no story {id}"));
    let story = state.store.story(id).await?.ok_or_else(unknown)?;
    match story.status {
        StoryStatus::Published if story.published_at.is_some() => Ok(story),
        StoryStatus::Killed => {
            let note = state.store.story_extras(id).await?.map(|e| e.public_note).unwrap_or_default();
            let note = note.trim();
            Err(ApiError::gone(if note.is_empty() {
                format!("story {id} has been withdrawn")
            } else {
                format!("story {id} has been withdrawn: {note}")
            }))
        }
        StoryStatus::Unpublished => Err(ApiError::gone(format!("story {id} has been unpublished"))),
        // Drafts and stories on the desk are not public: nobody outside may learn they exist.
        _ => Err(unknown()),
    }
}

/// Reads a News ID from the path.
pub(super) fn news_id_of(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(raw) = path.map_err(|e| ApiError::bad_request(format!("malformed path: {}", e.body_text())))?;
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::bad_request(format!("a News ID is a positive integer, found `{raw}`")))
}

/// The full public form of a published story.
pub(super) async fn story_view(state: &AppState, story: &Story) -> Result<StoryView, ApiError> {
    let edition = state
        .editions
        .load()
        .iter()
        .find(|e| e.id == story.edition_id)
        .cloned()
        .unwrap_or_else(|| crate::site::edition(state));
    let sections = state.store.sections(edition.id).await?;
    let correction = state.store.story_extras(story.news_id).await?.map(|e| e.correction_note).unwrap_or_default();
    let tz = edition.time_zone;
    Ok(StoryView {
        news_id: story.news_id,
        url: page_url(state, &edition, &story.path()),
        slug: story.slug.clone(),
        edition: edition.lang.clone(),
        headline: story.headline.clone(),
        lead: story.lead.clone(),
        body_html: story.body_html.clone(),
        section: section_ref(state, &edition, &sections, story.section_id),
        tags: story
            .tags
            .iter()
            .map(|t| NameRef {
                slug: t.slug.clone(),
                name: t.name.clone(),
                url: page_url(state, &edition, &format!("/tag/{}", t.slug)),
            })
            .collect(),
        authors: story
            .authors
            .iter()
            .map(|a| NameRef {
                slug: a.slug.clone(),
                name: a.name.clone(),
                url: page_url(state, &edition, &format!("/author/{}", a.slug)),
            })
            .collect(),
        photo: story.photo.as_ref().map(|p| photo_view(state, p)),
        published: story.published_at.map(|t| dates::iso8601(t, tz)).unwrap_or_default(),
        updated: story.updated_at.map(|t| dates::iso8601(t, tz)),
        correction: Some(correction).filter(|c| !c.trim().is_empty()),
        version: story.version,
        urgency: story.agency.urgency,
        slugline: story.agency.slugline.clone(),
        located: story.agency.located.clone(),
        genres: story
            .agency
            .genres
            .iter()
            .filter_map(|g| newsdesk_domain::agency::genre(g))
            .map(|g| Concept { qcode: g.qcode.clone(), uri: g.uri(), name: g.name(&edition.lang).to_string() })
            .collect(),
        subjects: story
            .agency
            .subjects
            .iter()
            .filter_map(|s| newsdesk_domain::mediatopic::get(s))
            .map(|t| Concept { qcode: t.qcode.clone(), uri: t.uri.clone(), name: t.name(&edition.lang).to_string() })
            .collect(),
    })
}

// ----- stories -----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    edition: Option<String>,
    section: Option<String>,
    tag: Option<String>,
    author: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
}

/// Published stories, newest first, with filters and cursor paging.
#[utoipa::path(
    get,
    path = "/api/v1/stories",
    tag = "read",
    params(
        ("edition" = Option<String>, Query, description = "Edition language (default: the default edition)"),
        ("section" = Option<String>, Query, description = "A section path (`iran/defense`); its subsections count too",
            example = "world"),
        ("tag" = Option<String>, Query, description = "A tag slug"),
        ("author" = Option<String>, Query, description = "An author slug"),
        ("since" = Option<String>, Query, format = DateTime,
            description = "Published at or after this time (RFC 3339 with offset)"),
        ("until" = Option<String>, Query, format = DateTime,
            description = "Published before this time (RFC 3339 with offset)"),
        ("cursor" = Option<String>, Query, description = "Opaque position from a `next` link", pattern = "^[0-9a-f]*$"),
        ("limit" = Option<i64>, Query, description = "Stories per page, 1 to 100 (default 20)", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, description = "A page of stories", body = StoryList),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current"),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 404, description = "No such edition, section, tag or author", body = ErrorBody),
    )
)]
pub(super) async fn list_stories(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: ListQuery = parse_query(raw.as_deref())?;
    let q = ListQuery {
        edition: given(q.edition),
        section: given(q.section),
        tag: given(q.tag),
        author: given(q.author),
        since: given(q.since),
        until: given(q.until),
        cursor: given(q.cursor),
        limit: given(q.limit),
    };
    let limit = limit_of(q.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let since = time_of(q.since.as_deref(), "since")?;
    let until = time_of(q.until.as_deref(), "until")?;
    if let (Some(s), Some(u)) = (since, until)
        && s >= u
    {
        return Err(ApiError::bad_request("since must be before until"));
    }
    let cursor = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let edition = edition_named(&state, q.edition.as_deref())?;
    let sections = state.store.sections(edition.id).await?;
    let section_path = match q.section.as_deref() {
        None => None,
        Some(p) => {
            let p = p.trim_matches('/');
            if !sections.iter().any(|s| s.path == p) {
                return Err(ApiError::not_found(format!("there is no section `{p}`")));
            }
            Some(p.to_string())
        }
    };
    let tag_id = match q.tag.as_deref() {
        None => None,
        Some(slug) => Some(
            state
                .store
                .tag_by_slug(edition.id, slug)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("there is no tag `{slug}`")))?
                .id,
        ),
    };
    let author_id = match q.author.as_deref() {
        None => None,
        Some(slug) => Some(
            state
                .store
                .author_by_slug(slug)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("there is no author `{slug}`")))?
                .id,
        ),
    };
    let query = ApiStoryQuery {
        edition_id: edition.id,
        section_path,
        tag_id,
        author_id,
        since,
        until,
        cursor,
        limit: limit + 1,
    };
    let mut found = state.store.api_stories(&query).await?;
    let more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let next = match found.last() {
        Some(last) if more => {
            let mut params: Vec<(&str, String)> = Vec::new();
            for (k, v) in [
                ("edition", &q.edition),
                ("section", &q.section),
                ("tag", &q.tag),
                ("author", &q.author),
                ("since", &q.since),
                ("until", &q.until),
                ("limit", &q.limit),
            ] {
                if let Some(v) = v {
                    params.push((k, v.clone()));
                }
            }
            params.push(("cursor", Cursor::after(last).encode_opaque()));
            let qs = serde_urlencoded::to_string(&params).map_err(|_| ApiError::internal())?;
            Some(crate::site::abs(&state, &format!("/api/v1/stories?{qs}")))
        }
        _ => None,
    };
    let items = found.iter().map(|s| item_of(&state, &edition, &sections, s)).collect();
    cached(&headers, 30, StoryList { items, next })
}

/// One published story by News ID, whole.
#[utoipa::path(
    get,
    path = "/api/v1/stories/{id}",
    tag = "read",
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    responses(
        (status = 200, description = "The story", body = StoryView),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current"),
        (status = 400, description = "The News ID is malformed", body = ErrorBody),
        (status = 404, description = "No such published story", body = ErrorBody),
        (status = 410, description = "The story was unpublished or withdrawn", body = ErrorBody),
    )
)]
pub(super) async fn one_story(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoParams {}
    let _: NoParams = parse_query(raw.as_deref())?;
    let story = public_story(&state, id).await?;
    cached(&headers, 60, story_view(&state, &story).await?)
}

// ----- sections, tags, authors -----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EditionQuery {
    edition: Option<String>,
}

/// Builds the tree of `parent`'s children.
fn subtree(
    state: &AppState,
    edition: &Edition,
    sections: &[Section],
    parent: Option<i64>,
    depth: usize,
) -> Vec<SectionNode> {
    if depth > 32 {
        return Vec::new();
    }
    let mut children: Vec<&Section> = sections.iter().filter(|s| s.parent_id == parent).collect();
    children.sort_by(|a, b| (a.position, &a.name).cmp(&(b.position, &b.name)));
    children
        .into_iter()
        .map(|s| SectionNode {
            slug: s.slug.clone(),
            name: s.name.clone(),
            path: s.path.clone(),
            url: section_url(state, edition, &s.path),
            children: subtree(state, edition, sections, Some(s.id), depth + 1),
        })
        .collect()
}

/// The section tree of an edition.
#[utoipa::path(
    get,
    path = "/api/v1/sections",
    tag = "read",
    params(("edition" = Option<String>, Query, description = "Edition language (default: the default edition)")),
    responses(
        (status = 200, description = "The tree", body = SectionTree),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current"),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 404, description = "No such edition", body = ErrorBody),
    )
)]
pub(super) async fn sections(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: EditionQuery = parse_query(raw.as_deref())?;
    let edition = edition_named(&state, given(q.edition).as_deref())?;
    let sections = state.store.sections(edition.id).await?;
    cached(
        &headers,
        60,
        SectionTree { edition: edition.lang.clone(), items: subtree(&state, &edition, &sections, None, 0) },
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamesQuery {
    edition: Option<String>,
    limit: Option<String>,
}

/// Tags with published stories, most used first.
#[utoipa::path(
    get,
    path = "/api/v1/tags",
    tag = "read",
    params(
        ("edition" = Option<String>, Query, description = "Edition language (default: the default edition)"),
        ("limit" = Option<i64>, Query, description = "How many, 1 to 1000 (default 100)", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The tags", body = NameList),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current"),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 404, description = "No such edition", body = ErrorBody),
    )
)]
pub(super) async fn tags(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: NamesQuery = parse_query(raw.as_deref())?;
    let limit = limit_of(given(q.limit).as_deref(), 100, MAX_NAMES)?;
    let edition = edition_named(&state, given(q.edition).as_deref())?;
    let items = state
        .store
        .api_tags(edition.id, limit)
        .await?
        .into_iter()
        .map(|(t, n)| NameCount {
            url: page_url(&state, &edition, &format!("/tag/{}", t.slug)),
            slug: t.slug,
            name: t.name,
            stories: n,
        })
        .collect();
    cached(&headers, 60, NameList { edition: edition.lang.clone(), items })
}

/// Authors with published stories, most stories first.
#[utoipa::path(
    get,
    path = "/api/v1/authors",
    tag = "read",
    params(
        ("edition" = Option<String>, Query, description = "Edition language (default: the default edition)"),
        ("limit" = Option<i64>, Query, description = "How many, 1 to 1000 (default 100)", minimum = 1, maximum = 1000),
    ),
    responses(
        (status = 200, description = "The authors", body = NameList),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is current"),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 404, description = "No such edition", body = ErrorBody),
    )
)]
pub(super) async fn authors(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q: NamesQuery = parse_query(raw.as_deref())?;
    let limit = limit_of(given(q.limit).as_deref(), 100, MAX_NAMES)?;
    let edition = edition_named(&state, given(q.edition).as_deref())?;
    let items = state
        .store
        .api_authors(edition.id, limit)
        .await?
        .into_iter()
        .map(|(a, n)| NameCount {
            url: page_url(&state, &edition, &format!("/author/{}", a.slug)),
            slug: a.slug,
            name: a.name,
            stories: n,
        })
        .collect();
    cached(&headers, 60, NameList { edition: edition.lang.clone(), items })
}
