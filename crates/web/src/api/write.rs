//! The newsroom's write API: create a draft, update a story (checked against
//! the version it was based on), and move it through the workflow — with the
//! same commands as the back office ([`crate::desk`]): the rules, the
//! validation and the audit entry live there. Every write goes through one
//! store transaction (with its audit entry) and is on disk before the 2xx.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::workflow::Action;
use newsdesk_domain::{BodyFormat, Edition, dates};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::read::{SectionRef, news_id_of};
use super::{ApiError, ApiUser, ErrorBody, ErrorCode};
use crate::AppState;
use crate::desk::{self, ActRequest, AgencyChanges, PublicChange, ScheduleAt, SectionChoice, StoryChanges};

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
    /// Urgency: 1 (flash), 2 (urgent) … 8 (lowest); a new story gets 4.
    #[schema(minimum = 1, maximum = 8, example = 2)]
    pub urgency: Option<i64>,
    /// Slugline: the desk's short name of the story (at most 80 characters).
    #[schema(max_length = 80, example = "IRAN-DEFENCE-EXPORTS")]
    pub slugline: Option<String>,
    /// The dateline's place (at most 80 characters), printed at the start of the body.
    #[schema(max_length = 80, example = "Tehran")]
    pub located: Option<String>,
    /// IPTC genres by code or English name (`genre:Analysis`, `Interview`); replace the story's.
    pub genres: Option<Vec<String>>,
    /// IPTC Media Topic qcodes (`medtop:11000000`); replace the story's. Retired topics are refused.
    pub subjects: Option<Vec<String>>,
    /// The editor's note to subscribers (ninjs `ednote`; at most 2,000 characters).
    #[schema(max_length = 2000)]
    pub ednote: Option<String>,
    /// Show the subjects as tags on the public page.
    pub subjects_public: Option<bool>,
    /// Lead photo: a photo id from the media library.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub photo_id: Option<i64>,
    /// Lead gallery: a gallery id (`/admin/galleries`), shown in the lead photo's place.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub gallery_id: Option<i64>,
    /// `true`: the story is a live blog (post its updates to `/api/v1/stories/{id}/updates`).
    #[serde(default)]
    pub live: Option<bool>,
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

/// How a change of a published story shows to readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A silent fix (a typo): no "Updated:" line, `dateModified` stays.
    Fix,
    /// An update: readers see "Updated:" and `dateModified` moves.
    Update,
}

impl From<ChangeKind> for PublicChange {
    fn from(c: ChangeKind) -> PublicChange {
        match c {
            ChangeKind::Fix => PublicChange::Fix,
            ChangeKind::Update => PublicChange::Update,
        }
    }
}

/// Fields saved together with a workflow step or a correction, in the same
/// transaction (what the user sees is what goes out); absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoryFields {
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
    /// Urgency: 1 (flash), 2 (urgent) … 8 (lowest); a new story gets 4.
    #[schema(minimum = 1, maximum = 8, example = 2)]
    pub urgency: Option<i64>,
    /// Slugline: the desk's short name of the story (at most 80 characters).
    #[schema(max_length = 80, example = "IRAN-DEFENCE-EXPORTS")]
    pub slugline: Option<String>,
    /// The dateline's place (at most 80 characters), printed at the start of the body.
    #[schema(max_length = 80, example = "Tehran")]
    pub located: Option<String>,
    /// IPTC genres by code or English name (`genre:Analysis`, `Interview`); replace the story's.
    pub genres: Option<Vec<String>>,
    /// IPTC Media Topic qcodes (`medtop:11000000`); replace the story's. Retired topics are refused.
    pub subjects: Option<Vec<String>>,
    /// The editor's note to subscribers (ninjs `ednote`; at most 2,000 characters).
    #[schema(max_length = 2000)]
    pub ednote: Option<String>,
    /// Show the subjects as tags on the public page.
    pub subjects_public: Option<bool>,
    /// Lead photo id; null removes the photo.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub photo_id: Option<Option<i64>>,
    /// Lead gallery id; null removes the gallery.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub gallery_id: Option<Option<i64>>,
}

impl From<StoryFields> for StoryChanges {
    fn from(f: StoryFields) -> StoryChanges {
        StoryChanges {
            headline: f.headline,
            lead: f.lead,
            body: f.body,
            body_format: f.body_format.map(BodyFormat::from),
            section: f.section.map(SectionChoice::Path),
            tags: f.tags,
            authors: f.authors,
            slug: f.slug,
            editorial_note: f.editorial_note,
            photo_id: f.photo_id,
            gallery_id: f.gallery_id,
            change: None,
            unreadable: Vec::new(),
            agency: agency_changes(f.urgency, f.slugline, f.located, f.genres, f.subjects, f.ednote, f.subjects_public),
        }
    }
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
    /// Urgency: 1 (flash), 2 (urgent) … 8 (lowest); a new story gets 4.
    #[schema(minimum = 1, maximum = 8, example = 2)]
    pub urgency: Option<i64>,
    /// Slugline: the desk's short name of the story (at most 80 characters).
    #[schema(max_length = 80, example = "IRAN-DEFENCE-EXPORTS")]
    pub slugline: Option<String>,
    /// The dateline's place (at most 80 characters), printed at the start of the body.
    #[schema(max_length = 80, example = "Tehran")]
    pub located: Option<String>,
    /// IPTC genres by code or English name (`genre:Analysis`, `Interview`); replace the story's.
    pub genres: Option<Vec<String>>,
    /// IPTC Media Topic qcodes (`medtop:11000000`); replace the story's. Retired topics are refused.
    pub subjects: Option<Vec<String>>,
    /// The editor's note to subscribers (ninjs `ednote`; at most 2,000 characters).
    #[schema(max_length = 2000)]
    pub ednote: Option<String>,
    /// Show the subjects as tags on the public page.
    pub subjects_public: Option<bool>,
    /// Lead photo id; null removes the photo.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub photo_id: Option<Option<i64>>,
    /// Lead gallery id; null removes the gallery.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub gallery_id: Option<Option<i64>>,
    /// For a published story: `fix` (a silent fix: no "Updated:", `dateModified`
    /// stays) or `update` (readers see "Updated:"; the default).
    pub change: Option<ChangeKind>,
    /// `true` makes the story a live blog (or reopens its coverage); `false` ends its live coverage.
    #[serde(default)]
    pub live: Option<bool>,
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
    /// For `unpublish` and `kill`: why, for the newsroom's record (required; at most 2,000 characters).
    #[serde(default)]
    pub reason: Option<String>,
    /// Fields saved first, in the same transaction (e.g. the headline as it should go out).
    #[serde(default)]
    pub changes: Option<StoryFields>,
}

/// Publishing now.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// The version being published.
    #[serde(deserialize_with = "version_number")]
    pub version: i64,
    /// Fields saved first, in the same transaction: the story goes out with them.
    #[serde(default)]
    pub changes: Option<StoryFields>,
}

/// A public correction of a published story.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    /// The version being corrected.
    #[serde(deserialize_with = "version_number")]
    pub version: i64,
    /// The note readers see with "Updated:" (1 to 2,000 characters); every correction is kept.
    pub note: String,
    /// The corrected fields, saved in the same transaction.
    #[serde(default)]
    pub changes: Option<StoryFields>,
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
    /// Lead gallery id.
    pub gallery_id: Option<i64>,
    /// Internal note for the desk.
    pub editorial_note: String,
    /// Urgency, 1 (flash) … 8 (lowest).
    #[serde(default)]
    pub urgency: i64,
    /// Slugline.
    #[serde(default)]
    pub slugline: String,
    /// The dateline's place.
    #[serde(default)]
    pub located: String,
    /// IPTC genre qcodes (`genre:Analysis`).
    #[serde(default)]
    pub genres: Vec<String>,
    /// IPTC Media Topic qcodes (`medtop:11000000`).
    #[serde(default)]
    pub subjects: Vec<String>,
    /// The editor's note to subscribers.
    #[serde(default)]
    pub ednote: String,
    /// Whether the subjects show as tags on the public page.
    #[serde(default)]
    pub subjects_public: bool,
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
    /// A live blog whose coverage runs: updates may be posted to it.
    #[serde(default)]
    pub live: bool,
    /// When its live coverage started (a live blog) and ended (once it has).
    #[serde(default)]
    #[schema(format = DateTime)]
    pub live_since: Option<String>,
    /// When its live coverage ended.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub live_until: Option<String>,
}

// ----- helpers -----

/// The agency metadata fields of a request, for the desk's rules.
fn agency_changes(
    urgency: Option<i64>,
    slugline: Option<String>,
    located: Option<String>,
    genres: Option<Vec<String>>,
    subjects: Option<Vec<String>>,
    ednote: Option<String>,
    subjects_public: Option<bool>,
) -> AgencyChanges {
    AgencyChanges { urgency, slugline, located, genres, subjects, ednote, subjects_public }
}

/// Reads a JSON body: 413 when too large, 415 when not JSON, 400 when malformed.
pub(super) fn json_body<T: serde::de::DeserializeOwned>(
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
        gallery_id: story.gallery_id,
        editorial_note: extras.editorial_note,
        urgency: story.agency.urgency,
        slugline: story.agency.slugline.clone(),
        located: story.agency.located.clone(),
        genres: story.agency.genres.clone(),
        subjects: story.agency.subjects.clone(),
        ednote: story.agency.ednote.clone(),
        subjects_public: story.agency.subjects_public,
        created: dates::iso8601(story.created_at, tz),
        modified: dates::iso8601(story.modified_at, tz),
        published: story.published_at.map(|t| dates::iso8601(t, tz)),
        scheduled: extras.scheduled_at.map(|t| dates::iso8601(t, tz)),
        live: story.is_live_now(),
        live_since: story.live_since.map(|t| dates::iso8601(t, tz)),
        live_until: story.live_until.map(|t| dates::iso8601(t, tz)),
    })
}

fn no_store(status: StatusCode, body: NewsroomStory) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
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
    user.0.require(Permission::WriteStories)?;
    let req: NewStory = json_body(&headers, body)?;
    let edition = desk::edition_for_new(&state, None)?;
    let changes = StoryChanges {
        headline: Some(req.headline),
        lead: Some(req.lead),
        body: Some(req.body),
        body_format: req.body_format.map(BodyFormat::from),
        section: Some(SectionChoice::Path(req.section)),
        tags: Some(req.tags),
        authors: Some(req.authors),
        slug: req.slug,
        editorial_note: Some(req.editorial_note),
        photo_id: req.photo_id.map(Some),
        gallery_id: req.gallery_id.map(Some),
        change: None,
        unreadable: Vec::new(),
        agency: agency_changes(
            req.urgency,
            req.slugline,
            req.located,
            req.genres,
            req.subjects,
            req.ednote,
            req.subjects_public,
        ),
    };
    let id = desk::create(&state, &user.0, &edition, changes).await?;
    super::live::apply_live(&state, &user, id, req.live).await?;
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
    let req: StoryPatch = json_body(&headers, body)?;
    let changes = StoryChanges {
        headline: req.headline,
        lead: req.lead,
        body: req.body,
        body_format: req.body_format.map(BodyFormat::from),
        section: req.section.map(SectionChoice::Path),
        tags: req.tags,
        authors: req.authors,
        slug: req.slug,
        editorial_note: req.editorial_note,
        photo_id: req.photo_id,
        gallery_id: req.gallery_id,
        change: req.change.map(PublicChange::from),
        unreadable: Vec::new(),
        agency: agency_changes(
            req.urgency,
            req.slugline,
            req.located,
            req.genres,
            req.subjects,
            req.ednote,
            req.subjects_public,
        ),
    };
    let (_, changed) = desk::update(&state, &user.0, id, req.version, changes).await?;
    changed.drop_pages(&state).await?;
    super::live::apply_live(&state, &user, id, req.live).await?;
    Ok(no_store(StatusCode::OK, newsroom_view(&state, id).await?))
}

/// Applies a workflow action through the desk, exactly as the back office does.
async fn apply_action(state: &AppState, user: &ApiUser, id: i64, req: WorkflowRequest) -> Result<Response, ApiError> {
    let req = ActRequest {
        action: req.action.into(),
        version: req.version,
        scheduled_at: req.scheduled_at.map(ScheduleAt::Rfc3339),
        public_note: req.public_note,
        reason: req.reason,
        changes: req.changes.map(StoryChanges::from),
    };
    desk::act(state, &user.0, id, req).await?.drop_pages(state).await?;
    Ok(no_store(StatusCode::OK, newsroom_view(state, id).await?))
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

/// Publishes a story now (editors), with the `changes` sent saved first in the same
/// transaction; the same as the `publish` workflow action.
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
        (status = 422, description = "The `changes` are refused; the message lists why", body = ErrorBody),
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
        reason: None,
        changes: req.changes,
    };
    apply_action(&state, &user, id, req).await
}

/// Publishes a correction of a published story (editors): the note is kept
/// with the earlier ones and shown on the page with "Updated:"; `changes`
/// are saved with it, in the same transaction.
#[utoipa::path(
    post,
    path = "/api/v1/stories/{id}/corrections",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    request_body = CorrectionRequest,
    responses(
        (status = 200, description = "The corrected story", body = NewsroomStory),
        (status = 400, description = "The body is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not publish", body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
        (status = 409, description = "The story changed since `version`", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "No note, or the story is not published, or values refused", body = ErrorBody),
    )
)]
pub(super) async fn correct_story(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    let req: CorrectionRequest = json_body(&headers, body)?;
    let changes = req.changes.map(StoryChanges::from);
    desk::correct_with(&state, &user.0, id, req.version, &req.note, changes).await?.drop_pages(&state).await?;
    Ok(no_store(StatusCode::OK, newsroom_view(&state, id).await?))
}

// ----- edit locks -----

/// Asking for a story's edit lock (the body may also be empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockRequest {
    /// Take the lock even from someone else who holds it (they learn it at their next heartbeat).
    #[serde(default)]
    pub takeover: bool,
}

/// A story's edit lock: who is editing it, until when unless renewed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EditLock {
    /// News ID.
    pub news_id: i64,
    /// The holder's user id.
    pub user_id: i64,
    /// The holder's display name.
    pub name: String,
    /// When the holder took it (a renewal keeps the time).
    #[schema(format = DateTime)]
    pub taken_at: String,
    /// When it runs out unless renewed.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// How long a lock lasts without renewal, in seconds: send the request again before then.
    pub lease_seconds: i64,
    /// Whoever held the lock when this request took it over.
    pub taken_over_from: Option<String>,
}

/// Takes (or renews) the edit lock of a story, as opening it in the back-office editor does.
#[utoipa::path(
    post,
    path = "/api/v1/stories/{id}/lock",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    request_body(content = Option<LockRequest>, description = "Optional; `{\"takeover\": true}` takes the lock from \
        its holder (audited)"),
    responses(
        (status = 200, description = "The caller holds the lock", body = EditLock),
        (status = 400, description = "The body is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller may not edit this story", body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
        (status = 409, description = "Someone else is editing the story; the message says who and since when",
            body = ErrorBody),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
    )
)]
pub(super) async fn lock_story(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    use newsdesk_storage::LockOutcome as Outcome;
    let id = news_id_of(path)?;
    let req: LockRequest = match &body {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => LockRequest::default(),
        _ => json_body(&headers, body)?,
    };
    let story = state.store.story(id).await?.ok_or_else(|| ApiError::not_found(format!("There is no story {id}.")))?;
    let tz = edition_of(&state, story.edition_id)?.time_zone;
    let (lock, from) = match desk::locks::take(&state, &user.0, id, chrono::Utc::now(), req.takeover).await? {
        Outcome::Taken(lock) => (lock, None),
        Outcome::TookOver { lock, from } => (lock, Some(from.name)),
        Outcome::Busy(other) => {
            return Err(ApiError::conflict(format!(
                "Story {id} is being edited by {} since {}; send {{\"takeover\": true}} to take it over.",
                other.name,
                dates::iso8601(other.taken_at, tz)
            )));
        }
    };
    let body = EditLock {
        news_id: lock.news_id,
        user_id: lock.user_id,
        name: lock.name,
        taken_at: dates::iso8601(lock.taken_at, tz),
        expires_at: dates::iso8601(lock.expires_at, tz),
        lease_seconds: desk::locks::LEASE.num_seconds(),
        taken_over_from: from,
    };
    Ok((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// Gives up the caller's edit lock of a story (someone else's lock stays).
#[utoipa::path(
    delete,
    path = "/api/v1/stories/{id}/lock",
    tag = "write",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "News ID", minimum = 1, example = 84427)),
    responses(
        (status = 204, description = "The caller holds no lock on the story now"),
        (status = 400, description = "The path is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The role may not write stories", body = ErrorBody),
        (status = 404, description = "No such story", body = ErrorBody),
    )
)]
pub(super) async fn unlock_story(
    State(state): State<AppState>,
    user: ApiUser,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = news_id_of(path)?;
    desk::locks::release(&state, &user.0, id).await?;
    Ok((StatusCode::NO_CONTENT, [(header::CACHE_CONTROL, "no-store")]).into_response())
}
