//! The newsroom's write API: create a draft, update a story (checked against
//! the version it was based on), and move it through the workflow — with the
//! same role rules as the back office ([`may_edit`], [`Action::permission`]).
//! Every write goes through one store transaction and is on disk before the 2xx.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::workflow::{Action, may_edit};
use newsdesk_domain::{BodyFormat, Edition, Story, StoryStatus, dates, slug::slugify};
use newsdesk_storage::{SaveOutcome, SectionRef as StoreSection, StoryExtras, StoryInput, Transition};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::read::{SectionRef, news_id_of};
use super::{ApiError, ApiUser, ErrorBody, ErrorCode};
use crate::AppState;

use newsdesk_domain::limits::{MAX_BODY, MAX_HEADLINE, MAX_LEAD, MAX_NAME, MAX_NOTE, MAX_TAGS};

// ----- bodies -----

/// How a body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormatName {
    /// CommonMark.
    Markdown,
    /// HTML (sanitized on the way in).
    Html,
    /// Plain paragraphs separated by blank lines.
    Text,
}

impl From<BodyFormatName> for BodyFormat {
    fn from(f: BodyFormatName) -> BodyFormat {
        match f {
            BodyFormatName::Markdown => BodyFormat::Markdown,
            BodyFormatName::Html => BodyFormat::Html,
            BodyFormatName::Text => BodyFormat::Text,
        }
    }
}

/// A new draft.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStory {
    /// Headline (1 to 300 characters).
    #[schema(min_length = 1, max_length = 300)]
    pub headline: String,
    /// Section path, e.g. `iran/defense` (must exist).
    #[schema(example = "world")]
    pub section: String,
    /// Lead (at most 2,000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub lead: String,
    /// Body source (at most 500,000 characters).
    #[serde(default)]
    #[schema(max_length = 500000)]
    pub body: String,
    /// Body format (default `markdown`).
    #[serde(default)]
    pub body_format: Option<BodyFormatName>,
    /// Tags (at most 30, each at most 80 characters).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Byline names (at most 30, each at most 80 characters).
    #[serde(default)]
    pub authors: Vec<String>,
    /// URL slug (lower-case letters, digits, hyphens; default: from the headline).
    #[serde(default)]
    pub slug: Option<String>,
    /// Internal note for the desk (at most 2,000 characters).
    #[serde(default)]
    pub editorial_note: String,
    /// Lead photo: a photo id from the media library.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub photo_id: Option<i64>,
}

/// Reads a version number: a JSON integer, also written as `3.0` (JSON does not tell the two apart).
fn version_number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64))
        .ok_or_else(|| serde::de::Error::custom(format!("version must be an integer, found {n}")))
}

/// Reads a field that may be absent (keep), null (clear) or a value.
fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to a story; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoryPatch {
    /// The version the change is based on; refused with 409 `conflict` when the story has moved on.
    #[serde(deserialize_with = "version_number")]
    pub version: i64,
    /// Headline.
    #[schema(min_length = 1, max_length = 300)]
    pub headline: Option<String>,
    /// Section path.
    pub section: Option<String>,
    /// Lead.
    #[schema(max_length = 2000)]
    pub lead: Option<String>,
    /// Body source.
    #[schema(max_length = 500000)]
    pub body: Option<String>,
    /// Body format.
    pub body_format: Option<BodyFormatName>,
    /// Tags (replace the story's).
    pub tags: Option<Vec<String>>,
    /// Byline names (replace the story's).
    pub authors: Option<Vec<String>>,
    /// URL slug; fixed once the story has been published.
    pub slug: Option<String>,
    /// Internal note for the desk.
    pub editorial_note: Option<String>,
    /// Lead photo id; null removes the photo.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub photo_id: Option<Option<i64>>,
}

/// A workflow action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkflowAction {
    /// Send a draft for review (reporters: own drafts).
    Submit,
    /// Send a submitted story back to draft (editors).
    Return,
    /// Publish now (editors).
    Publish,
    /// Publish at `scheduled_at` (editors).
    Schedule,
    /// Take a scheduled story off the schedule (editors).
    Unschedule,
    /// Take a published story down; its URL answers 410 (editors).
    Unpublish,
    /// Put an unpublished story back (editors).
    Republish,
    /// Withdraw for legal reasons with a `public_note` (editors).
    Kill,
}

impl From<WorkflowAction> for Action {
    fn from(a: WorkflowAction) -> Action {
        match a {
            WorkflowAction::Submit => Action::Submit,
            WorkflowAction::Return => Action::Return,
            WorkflowAction::Publish => Action::Publish,
            WorkflowAction::Schedule => Action::Schedule,
            WorkflowAction::Unschedule => Action::Unschedule,
            WorkflowAction::Unpublish => Action::Unpublish,
            WorkflowAction::Republish => Action::Republish,
            WorkflowAction::Kill => Action::Kill,
        }
    }
}

/// A workflow step.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowRequest {
    /// What to do.
    pub action: WorkflowAction,
    /// The version the step is based on.
    #[serde(deserialize_with = "version_number")]
    pub version: i64,
    /// For `schedule`: when to publish (RFC 3339 with offset, in the future).
    #[serde(default)]
    #[schema(format = DateTime)]
    pub scheduled_at: Option<String>,
    /// For `kill`: the public note saying why (at most 2,000 characters).
    #[serde(default)]
    pub public_note: Option<String>,
}

/// Publishing now.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The version being published.
    #[serde(deserialize_with = "version_number")]
    pub version: i64,
}

/// A story as the newsroom sees it, in any state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewsroomStory {
    /// News ID.
    pub news_id: i64,
    /// Workflow state: draft, submitted, scheduled, published, unpublished or killed.
    pub status: String,
    /// Version; send it back with the next change.
    #[serde(deserialize_with = "version_number")]
    pub version: i64,
    /// Canonical URL (answers only while published).
    #[schema(format = "uri")]
    pub url: String,
    /// Slug.
    pub slug: String,
    /// Headline.
    pub headline: String,
    /// Lead.
    pub lead: String,
    /// Body as written.
    pub body: String,
    /// Body format.
    pub body_format: BodyFormatName,
    /// Body as sanitized HTML.
    pub body_html: String,
    /// Section.
    pub section: Option<SectionRef>,
    /// Tag names.
    pub tags: Vec<String>,
    /// Byline names.
    pub authors: Vec<String>,
    /// Lead photo id.
    pub photo_id: Option<i64>,
    /// Internal note for the desk.
    pub editorial_note: String,
    /// Created, ISO 8601 with the edition's offset.
    #[schema(format = DateTime)]
    pub created: String,
    /// Last changed.
    #[schema(format = DateTime)]
    pub modified: String,
    /// First published, if ever.
    #[schema(format = DateTime)]
    pub published: Option<String>,
    /// When a scheduled story goes out.
    #[schema(format = DateTime)]
    pub scheduled: Option<String>,
}

// ----- helpers -----

/// Reads a JSON body: 413 when too large, 415 when not JSON, 400 when malformed.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge, "the body is too large")
        } else {
            ApiError::bad_request(format!("cannot read the body: {}", e.body_text()))
        }
    })?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "send the body as JSON with `Content-Type: application/json`",
        ));
    }
    serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("the body is not valid: {e}")))
}

fn edition_of(state: &AppState, id: i64) -> Result<Edition, ApiError> {
    state.editions.load().iter().find(|e| e.id == id).cloned().ok_or_else(ApiError::internal)
}

fn check_text(errors: &mut Vec<String>, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.push(format!("{field} is longer than {max} characters"));
    }
    if value.chars().any(|c| c == '\0') {
        errors.push(format!("{field} contains a NUL character"));
    }
}

fn clean_names(errors: &mut Vec<String>, field: &str, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names.iter().map(|n| n.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|n| !n.is_empty()) {
        if n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
            errors.push(format!("{field}: “{n}” is longer than {MAX_NAME} characters or contains control characters"));
        } else if !out.iter().any(|o| o.eq_ignore_ascii_case(&n)) {
            out.push(n);
        }
    }
    if out.len() > MAX_TAGS {
        errors.push(format!("{field}: at most {MAX_TAGS}"));
    }
    out
}

/// The desk's view of a story, read back after a write.
async fn newsroom_view(state: &AppState, news_id: i64) -> Result<NewsroomStory, ApiError> {
    let story = state.store.story(news_id).await?.ok_or_else(ApiError::internal)?;
    let extras = state.store.story_extras(news_id).await?.unwrap_or_default();
    let edition = edition_of(state, story.edition_id)?;
    let sections = state.store.sections(edition.id).await?;
    let tz = edition.time_zone;
    Ok(NewsroomStory {
        news_id: story.news_id,
        status: story.status.as_str().into(),
        version: story.version,
        url: super::read::page_url(state, &edition, &story.path()),
        slug: story.slug.clone(),
        headline: story.headline.clone(),
        lead: story.lead.clone(),
        body: story.body_source.clone(),
        body_format: match story.body_format {
            BodyFormat::Markdown => BodyFormatName::Markdown,
            BodyFormat::Html => BodyFormatName::Html,
            BodyFormat::Text => BodyFormatName::Text,
        },
        body_html: story.body_html.clone(),
        section: super::read::section_ref(state, &edition, &sections, story.section_id),
        tags: story.tags.iter().map(|t| t.name.clone()).collect(),
        authors: story.authors.iter().map(|a| a.name.clone()).collect(),
        photo_id: story.photo.as_ref().map(|p| p.id),
        editorial_note: extras.editorial_note,
        created: dates::iso8601(story.created_at, tz),
        modified: dates::iso8601(story.modified_at, tz),
        published: story.published_at.map(|t| dates::iso8601(t, tz)),
        scheduled: extras.scheduled_at.map(|t| dates::iso8601(t, tz)),
    })
}

fn no_store(status: StatusCode, body: NewsroomStory) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

async fn load(state: &AppState, id: i64) -> Result<(Story, StoryExtras), ApiError> {
    let story = state.store.story(id).await?.ok_or_else(|| ApiError::not_found(format!("there is no story {id}")))?;
    let extras = state.store.story_extras(id).await?.unwrap_or_default();
    Ok((story, extras))
}

fn own(user: &ApiUser, extras: &StoryExtras) -> bool {
    extras.created_by == Some(user.user_id)
}

/// The back office's scope rule: editors act only in their assigned sections.
async fn check_scope(state: &AppState, user: &ApiUser, section_id: i64, own_story: bool) -> Result<(), ApiError> {
    if own_story || crate::admin::covers_section(state, user.user_id, user.role, section_id).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("story's section {section_id} is outside the sections you are assigned to")))
    }
}

/// The back office's edit rule: reporters edit their own drafts, editors anything not killed.
fn check_edit(user: &ApiUser, story: &Story, extras: &StoryExtras) -> Result<(), ApiError> {
    if may_edit(user.role, story.status, own(user, extras)) {
        Ok(())
    } else if story.status == StoryStatus::Killed {
        Err(ApiError::conflict("a killed story cannot be edited"))
    } else {
        Err(ApiError::forbidden(format!(
            "your role ({}) may edit only your own drafts; story {} is {} and {}",
            user.role,
            story.news_id,
            story.status.as_str(),
            if own(user, extras) { "yours" } else { "not yours" }
        )))
    }
}

async fn section_id(
    state: &AppState,
    edition: &Edition,
    path: &str,
    errors: &mut Vec<String>,
) -> Result<i64, ApiError> {
    let path = path.trim().trim_matches('/');
    let sections = state.store.sections(edition.id).await?;
    match sections.iter().find(|s| s.path == path) {
        Some(s) => Ok(s.id),
        None => {
            errors.push(format!("there is no section `{path}`"));
            Ok(0)
        }
    }
}

async fn check_photo(state: &AppState, id: Option<i64>, errors: &mut Vec<String>) -> Result<(), ApiError> {
    if let Some(id) = id
        && (id < 1 || state.store.photo(id).await?.is_none())
    {
        errors.push(format!("there is no photo {id} in the media library"));
    }
    Ok(())
}

fn check_slug(wanted: &str, errors: &mut Vec<String>) -> String {
    let clean = slugify(wanted);
    if clean != wanted || clean.is_empty() {
        errors.push(format!("the slug may hold only lower-case letters, digits and hyphens (for example “{clean}”)"));
    }
    clean
}

// ----- handlers -----

/// Creates a draft; the caller becomes its creator.
#[utoipa::path(
    post,
    path = "/api/v1/stories",
    tag = "write",
    security(("bearer" = [])),
    request_body = NewStory,
    responses(
        (status = 201, description = "The draft, with its News ID and version", body = NewsroomStory,
            headers(("Location" = String, description = "The story's API URL"))),
        (status = 400, description = "The body is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not write stories", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "Values refused; the message lists why", body = ErrorBody),
    )
)]
pub(super) async fn create_story(
    State(state): State<AppState>,
    user: ApiUser,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    user.require(Permission::WriteStories)?;
    let req: NewStory = json_body(&headers, body)?;
    let edition = state.default_edition().ok_or_else(|| ApiError::invalid("the site has no edition yet"))?;
    let mut errors = Vec::new();
    let headline = req.headline.trim().to_string();
    if headline.is_empty() {
        errors.push("headline is empty".into());
    }
    check_text(&mut errors, "headline", &headline, MAX_HEADLINE);
    check_text(&mut errors, "lead", &req.lead, MAX_LEAD);
    check_text(&mut errors, "body", &req.body, MAX_BODY);
    check_text(&mut errors, "editorial_note", &req.editorial_note, MAX_NOTE);
    let section = section_id(&state, &edition, &req.section, &mut errors).await?;
    let tags = clean_names(&mut errors, "tags", &req.tags);
    let authors = clean_names(&mut errors, "authors", &req.authors);
    check_photo(&state, req.photo_id, &mut errors).await?;
    let slug = match req.slug.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(wanted) => check_slug(wanted, &mut errors),
        None => slugify(&headline),
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors.join("; ")));
    }
    let input = StoryInput {
        news_id: None,
        edition_id: edition.id,
        section: StoreSection::Id(section),
        slug: Some(if slug.is_empty() { "story".into() } else { slug }),
        headline,
        lead: req.lead.trim().to_string(),
        body_source: req.body,
        body_format: req.body_format.map(BodyFormat::from).unwrap_or(BodyFormat::Markdown),
        photo_id: req.photo_id,
        status: StoryStatus::Draft,
        published_at: None,
        tags,
        authors,
        actor: user.email.clone(),
    };
    let note = req.editorial_note.trim();
    let (id, _) = state.store.save_story_checked(&input, None, note, Some(user.user_id)).await?;
    state.store.audit(&user.audit("story.create", "story", id, &input.headline)).await?;
    let view = newsroom_view(&state, id).await?;
    let mut res = no_store(StatusCode::CREATED, view);
    if let Ok(loc) = header::HeaderValue::from_str(&format!("/api/v1/stories/{id}")) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(res)
}

/// Changes a story, checked against the version the change is based on.
#[utoipa::path(
    patch,
    path = "/api/v1/stories/{id}",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    request_body = StoryPatch,
    responses(
        (status = 200, description = "The story as stored now", body = NewsroomStory),
        (status = 400, description = "The body is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not edit this story", body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
        (status = 409, description = "The story changed since `version`, or is killed", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "Values refused; the message lists why", body = ErrorBody),
    )
)]
pub(super) async fn update_story(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    let (story, extras) = load(&state, id).await?;
    check_edit(&user, &story, &extras)?;
    check_scope(&state, &user, story.section_id, own(&user, &extras)).await?;
    let req: StoryPatch = json_body(&headers, body)?;
    let edition = edition_of(&state, story.edition_id)?;
    let mut errors = Vec::new();
    let headline = req.headline.as_deref().map(str::trim).unwrap_or(&story.headline).to_string();
    if headline.is_empty() {
        errors.push("headline is empty".into());
    }
    check_text(&mut errors, "headline", &headline, MAX_HEADLINE);
    let lead = req.lead.as_deref().map(str::trim).unwrap_or(&story.lead).to_string();
    check_text(&mut errors, "lead", &lead, MAX_LEAD);
    let body_source = req.body.clone().unwrap_or_else(|| story.body_source.clone());
    check_text(&mut errors, "body", &body_source, MAX_BODY);
    let note = req.editorial_note.as_deref().map(str::trim).unwrap_or(&extras.editorial_note).to_string();
    check_text(&mut errors, "editorial_note", &note, MAX_NOTE);
    let section = match &req.section {
        Some(p) => section_id(&state, &edition, p, &mut errors).await?,
        None => story.section_id,
    };
    let tags = match &req.tags {
        Some(t) => clean_names(&mut errors, "tags", t),
        None => story.tags.iter().map(|t| t.name.clone()).collect(),
    };
    let authors = match &req.authors {
        Some(a) => clean_names(&mut errors, "authors", a),
        None => story.authors.iter().map(|a| a.name.clone()).collect(),
    };
    let photo_id = match req.photo_id {
        Some(chosen) => {
            check_photo(&state, chosen, &mut errors).await?;
            chosen
        }
        None => story.photo.as_ref().map(|p| p.id),
    };
    // The slug is the story's address: editable until the first publish, then fixed.
    let slug = match req.slug.as_deref().map(str::trim) {
        Some(wanted) if wanted != story.slug && story.published_at.is_some() => {
            errors.push("the slug is fixed once the story has been published".into());
            story.slug.clone()
        }
        Some(wanted) => check_slug(wanted, &mut errors),
        None => story.slug.clone(),
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors.join("; ")));
    }
    let input = StoryInput {
        news_id: Some(story.news_id),
        edition_id: story.edition_id,
        section: StoreSection::Id(section),
        slug: Some(slug),
        headline,
        lead,
        body_source,
        body_format: req.body_format.map(BodyFormat::from).unwrap_or(story.body_format),
        photo_id,
        status: story.status,
        published_at: story.published_at,
        tags,
        authors,
        actor: user.email.clone(),
    };
    let (_, outcome) = state.store.save_story_checked(&input, Some(req.version), &note, None).await?;
    if outcome != SaveOutcome::Unchanged {
        state.store.audit(&user.audit("story.edit", "story", story.news_id, &input.headline)).await?;
        state.story_changed(story.news_id, story.edition_id).await?;
    }
    Ok(no_store(StatusCode::OK, newsroom_view(&state, story.news_id).await?))
}

/// Applies a workflow action exactly as the back office does.
async fn apply_action(state: &AppState, user: &ApiUser, id: i64, req: WorkflowRequest) -> Result<Response, ApiError> {
    let (story, extras) = load(state, id).await?;
    let action: Action = req.action.into();
    user.require(action.permission())?;
    if action == Action::Submit && !own(user, &extras) && !user.can(Permission::EditAnyStory) {
        return Err(ApiError::forbidden("reporters submit only their own drafts"));
    }
    if action != Action::Submit {
        check_scope(state, user, story.section_id, false).await?;
    }
    let to = action.apply(story.status).map_err(ApiError::conflict)?;
    let edition = edition_of(state, story.edition_id)?;
    let scheduled_at = if action == Action::Schedule {
        let raw = req.scheduled_at.as_deref().map(str::trim).unwrap_or_default();
        let at = DateTime::parse_from_rfc3339(raw).map(|d| d.with_timezone(&Utc)).map_err(|_| {
            ApiError::invalid(format!(
                "scheduled_at must be an RFC 3339 time with an offset, like 2026-11-27T14:30:00+03:30, found `{raw}`"
            ))
        })?;
        if at <= Utc::now() {
            return Err(ApiError::invalid("scheduled_at is in the past; use the publish action instead"));
        }
        Some(at)
    } else {
        None
    };
    let public_note = if action == Action::Kill {
        let note = req.public_note.as_deref().map(str::trim).unwrap_or_default();
        if note.is_empty() {
            return Err(ApiError::invalid("a killed story needs a public_note saying why it was withdrawn"));
        }
        let mut errors = Vec::new();
        check_text(&mut errors, "public_note", note, MAX_NOTE);
        if !errors.is_empty() {
            return Err(ApiError::invalid(errors.join("; ")));
        }
        Some(note.to_string())
    } else {
        None
    };
    let note = match scheduled_at {
        Some(at) => format!("schedule for {}", dates::format_long(at, edition.time_zone)),
        None => action.as_str().to_string(),
    };
    let transition = Transition {
        news_id: story.news_id,
        expected_version: req.version,
        from: story.status,
        to,
        scheduled_at,
        public_note,
        actor: user.email.clone(),
        note: note.clone(),
    };
    state.store.transition(&transition).await?;
    state.store.audit(&user.audit(&format!("story.{action}"), "story", story.news_id, note)).await?;
    state.story_changed(story.news_id, story.edition_id).await?;
    Ok(no_store(StatusCode::OK, newsroom_view(state, story.news_id).await?))
}

/// Moves a story through the workflow (submit, publish, schedule, unpublish, kill, ...).
#[utoipa::path(
    post,
    path = "/api/v1/stories/{id}/workflow",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    request_body = WorkflowRequest,
    responses(
        (status = 200, description = "The story in its new state", body = NewsroomStory),
        (status = 400, description = "The body is malformed or names an unknown action", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not take this action", body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
        (status = 409, description = "The story changed since `version`, or its state does not allow the action",
            body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "Values refused; the message says why", body = ErrorBody),
    )
)]
pub(super) async fn story_workflow(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    let req: WorkflowRequest = json_body(&headers, body)?;
    apply_action(&state, &user, id, req).await
}

/// Publishes a story now (editors); the same as the `publish` workflow action.
#[utoipa::path(
    post,
    path = "/api/v1/stories/{id}/publish",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    request_body = PublishRequest,
    responses(
        (status = 200, description = "The published story", body = NewsroomStory),
        (status = 400, description = "The body is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not publish", body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
        (status = 409, description = "The story changed since `version`, or cannot be published from its state",
            body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
    )
)]
pub(super) async fn publish_story(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    let req: PublishRequest = json_body(&headers, body)?;
    let req = WorkflowRequest {
        action: WorkflowAction::Publish,
        version: req.version,
        scheduled_at: None,
        public_note: None,
    };
    apply_action(&state, &user, id, req).await
}
