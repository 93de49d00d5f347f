//! The editor's full preview: the story's public page as readers will see it
//! (headline, lead, lead photo, dateline, body, in its edition's language and
//! direction), built from the text on the screen. Nothing is saved: the form
//! is laid over the stored story and rendered by the public page's own code.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use newsdesk_domain::limits::{MAX_BODY, MAX_HEADLINE, MAX_LEAD, MAX_NAME, MAX_TAGS};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{Author, BodyFormat, Story, StoryStatus, Tag};
use serde::Deserialize;

use super::{AdminError, Staff, Table};
use crate::AppState;
use crate::desk;

pub(super) fn routes(t: Table) -> Table {
    t.post("/admin/stories/{id}/preview", Permission::WriteStories, preview).post(
        "/admin/stories/preview",
        Permission::WriteStories,
        preview_new,
    )
}

/// The editor form's fields a page shows; the others (notes, slugline, ...)
/// are ignored. An absent field keeps the stored value.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PreviewForm {
    headline: Option<String>,
    lead: Option<String>,
    body: Option<String>,
    body_format: Option<String>,
    section_id: Option<String>,
    tags: Option<String>,
    authors: Option<String>,
    photo_id: Option<String>,
    gallery_id: Option<String>,
    located: Option<String>,
    /// A new story's edition (its language); empty: the default edition.
    edition: Option<String>,
}

/// `POST /admin/stories/{id}/preview`: the public page of the story with the
/// form's text, for whoever may open the story (reporters: their own).
async fn preview(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<PreviewForm>,
) -> Result<Response, AdminError> {
    let id = id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)?;
    let (story, extras) = desk::load(&state, id).await?;
    if !(staff.can(Permission::EditAnyStory) || staff.actor().owns(&extras)) {
        return Err(AdminError::Forbidden(format!("Your role ({}) may open only your own stories.", staff.role)));
    }
    let shown = overlay(&state, story, form).await?;
    Ok(Html(crate::site::preview_story_html(&state, &shown).await?).into_response())
}

/// `POST /admin/stories/preview`: the page a new story's form would make,
/// before its first save (no News ID yet, no publish date).
async fn preview_new(
    State(state): State<AppState>,
    _staff: Staff,
    Form(form): Form<PreviewForm>,
) -> Result<Response, AdminError> {
    let edition = desk::edition_for_new(&state, form.edition.as_deref())?;
    let now = Utc::now();
    let blank = Story {
        news_id: 0,
        edition_id: edition.id,
        section_id: 0,
        slug: "preview".into(),
        headline: String::new(),
        lead: String::new(),
        body_html: String::new(),
        body_source: String::new(),
        body_format: BodyFormat::Markdown,
        status: StoryStatus::Draft,
        published_at: None,
        updated_at: None,
        created_at: now,
        modified_at: now,
        version: 0,
        photo: None,
        gallery_id: None,
        tags: Vec::new(),
        authors: Vec::new(),
        live_since: None,
        live_until: None,
        agency: Default::default(),
    };
    let shown = overlay(&state, blank, form).await?;
    Ok(Html(crate::site::preview_story_html(&state, &shown).await?).into_response())
}

/// Refuses a field longer than the desk would save.
fn within(field: &str, value: &str, max: usize) -> Result<(), AdminError> {
    if value.chars().count() > max {
        return Err(AdminError::BadRequest(format!("The {field} is longer than {max} characters.")));
    }
    Ok(())
}

/// Comma-separated names as the page lists them (folded, deduplicated, within the limits).
fn names(field: &str, text: &str) -> Result<Vec<(String, String)>, AdminError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for n in text.split([',', '،']).map(|n| n.split_whitespace().collect::<Vec<_>>().join(" ")) {
        if n.is_empty() || out.iter().any(|(_, o)| o.eq_ignore_ascii_case(&n)) {
            continue;
        }
        within(field, &n, MAX_NAME)?;
        out.push((newsdesk_domain::slug::slugify(&n), n));
    }
    if out.len() > MAX_TAGS {
        return Err(AdminError::BadRequest(format!("At most {MAX_TAGS} {field}s.")));
    }
    Ok(out)
}

/// `story` with the form's fields laid over it.
async fn overlay(state: &AppState, mut story: Story, form: PreviewForm) -> Result<Story, AdminError> {
    if let Some(h) = form.headline {
        within("headline", &h, MAX_HEADLINE)?;
        story.headline = h.trim().to_string();
    }
    if let Some(l) = form.lead {
        within("lead", &l, MAX_LEAD)?;
        story.lead = l.trim().to_string();
    }
    if let Some(f) = form.body_format.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        story.body_format =
            BodyFormat::parse(f).ok_or_else(|| AdminError::BadRequest(format!("Unknown body format `{f}`.")))?;
    }
    if let Some(b) = form.body {
        within("body", &b, MAX_BODY)?;
        story.body_source = newsdesk_domain::text::normalize_newlines(&b).into_owned();
    }
    // Rendered as a save renders it: inline photos, embeds and galleries with what they name.
    story.body_html = state.store.render_body(story.body_format, &story.body_source).await?;
    if let Some(s) = form.section_id.as_deref().and_then(|s| s.trim().parse::<i64>().ok()) {
        // Only a section of the story's edition (the breadcrumb walks its tree).
        if state.store.sections(story.edition_id).await?.iter().any(|x| x.id == s) {
            story.section_id = s;
        }
    }
    if let Some(t) = form.tags {
        story.tags = names("tag", &t)?.into_iter().map(|(slug, name)| Tag { id: 0, slug, name }).collect();
    }
    if let Some(a) = form.authors {
        story.authors = names("byline", &a)?.into_iter().map(|(slug, name)| Author { id: 0, slug, name }).collect();
    }
    if let Some(p) = form.photo_id.as_deref().map(str::trim) {
        story.photo = match p.parse::<i64>().ok().filter(|n| *n > 0) {
            Some(id) => state.store.photo(id).await?,
            None => None,
        };
    }
    if let Some(g) = form.gallery_id.as_deref().map(str::trim) {
        story.gallery_id = match g.parse::<i64>().ok().filter(|n| *n > 0) {
            Some(id) if state.store.gallery(id).await?.is_some() => Some(id),
            Some(id) => return Err(AdminError::BadRequest(format!("There is no gallery {id}."))),
            None => None,
        };
    }
    if let Some(l) = form.located {
        within("dateline place", &l, 80)?;
        story.agency.located = l.trim().to_string();
    }
    Ok(story)
}
