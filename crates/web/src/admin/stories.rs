//! The story desk: the list, the editor (with live preview and autosave),
//! workflow actions, corrections and revisions.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::{NaiveDate, TimeZone, Utc};
use newsdesk_domain::limits::MAX_BODY;
use newsdesk_domain::roles::Permission;
use newsdesk_domain::workflow::{Action, may_edit};
use newsdesk_domain::{BodyFormat, Edition, Section, Story, StoryStatus, dates};
use newsdesk_storage::{DeskFilter, SaveOutcome, StoryExtras};
use serde::{Deserialize, Serialize};

use super::{AdminError, Staff, Table, page};
use crate::AppState;
use crate::desk::{self, ActRequest, DeskError, FieldError, PublicChange, ScheduleAt, SectionChoice, StoryChanges};

/// Stories per page of the desk list.
const PAGE: i64 = 50;

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/stories", WriteStories, list)
        .get("/admin/stories/new", WriteStories, new_story)
        .post("/admin/stories", WriteStories, create)
        .post("/admin/preview", WriteStories, preview_body)
        .get("/admin/stories/{id}/edit", WriteStories, edit)
        .get("/admin/stories/{id}/preview", WriteStories, preview_page)
        .post("/admin/stories/{id}", WriteStories, save)
        .post("/admin/stories/{id}/autosave", WriteStories, autosave)
        .post("/admin/stories/{id}/workflow", WriteStories, workflow)
        .post("/admin/stories/{id}/correction", Publish, correction)
        .post("/admin/stories/{id}/translation", Publish, translation)
        .get("/admin/stories/{id}/revisions", WriteStories, revisions)
        .get("/admin/stories/{id}/revisions/{version}", WriteStories, revision)
        .post("/admin/stories/{id}/revisions/{version}/restore", WriteStories, restore)
}

fn edition_of(state: &AppState, id: i64) -> Result<Edition, AdminError> {
    Ok(desk::edition_of(state, id)?)
}

fn parse_id(id: &str) -> Result<i64, AdminError> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)
}

async fn load(state: &AppState, id: &str) -> Result<(Story, StoryExtras), AdminError> {
    Ok(desk::load(state, parse_id(id)?).await?)
}

/// Refuses a user who may not see this story in the back office (reporters see their own).
fn check_open(staff: &Staff, extras: &StoryExtras) -> Result<(), AdminError> {
    if staff.can(Permission::EditAnyStory) || staff.actor().owns(extras) {
        Ok(())
    } else {
        Err(AdminError::Forbidden(format!("Your role ({}) may open only your own stories.", staff.role)))
    }
}

// ----- list -----

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    section: Option<String>,
    mine: Option<String>,
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
    /// Language of the edition to list (`fa`); empty: every edition.
    edition: Option<String>,
    /// `urgency`: the most urgent first; otherwise last changed first.
    sort: Option<String>,
}

/// The edition the list is filtered by: `lang` must name a loaded edition.
pub(super) fn list_edition(state: &AppState, lang: Option<&str>) -> Result<Option<Edition>, AdminError> {
    let Some(lang) = lang.map(str::trim).filter(|l| !l.is_empty()) else { return Ok(None) };
    let editions = state.editions.load();
    editions.iter().find(|e| e.lang == lang).cloned().map(Some).ok_or_else(|| {
        let known: Vec<&str> = editions.iter().map(|e| e.lang.as_str()).collect();
        let shown: String = lang.chars().take(20).collect();
        AdminError::BadRequest(format!("There is no edition `{shown}`; the editions are {}.", known.join(", ")))
    })
}

/// `lang` and `dir` of text written in an edition, for the templates.
pub(super) fn text_dir(e: &Edition) -> minijinja::Value {
    minijinja::context! { lang => e.lang, dir => e.direction.as_str(), name => e.name }
}

pub(super) fn parse_day(s: Option<&str>, field: &str) -> Result<Option<NaiveDate>, AdminError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AdminError::BadRequest(format!("{field} must be a date like 2026-11-27, not `{d}`"))),
    }
}

async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AdminError> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(StoryStatus::parse(s).ok_or_else(|| AdminError::BadRequest(format!("unknown status `{s}`")))?),
    };
    let section_id = match q.section.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse::<i64>().map_err(|_| AdminError::BadRequest(format!("unknown section `{s}`")))?),
    };
    let page_no = match q.page.as_deref().filter(|s| !s.is_empty()) {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=10_000).contains(p))
            .ok_or_else(|| AdminError::BadRequest(format!("page must be a number from 1 to 10000, not `{p}`")))?,
    };
    let only = list_edition(&state, q.edition.as_deref())?;
    let edition = match &only {
        Some(e) => e.clone(),
        None => desk::edition_for_new(&state, None)?,
    };
    let tz = edition.time_zone;
    let day_start = |d: NaiveDate| tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).earliest();
    let from = parse_day(q.from.as_deref(), "from")?.and_then(day_start).map(|d| d.with_timezone(&Utc));
    let to =
        parse_day(q.to.as_deref(), "to")?.and_then(|d| d.succ_opt()).and_then(day_start).map(|d| d.with_timezone(&Utc));
    let headline = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    if headline.as_ref().is_some_and(|h| h.chars().count() > 200) {
        return Err(AdminError::BadRequest("the search text is longer than 200 characters".into()));
    }
    let mine = q.mine.as_deref() == Some("1") || !staff.can(Permission::EditAnyStory);
    let filter = DeskFilter {
        status,
        section_id,
        created_by: mine.then_some(staff.user_id),
        headline,
        from,
        to,
        edition_id: only.as_ref().map(|e| e.id),
        by_urgency: q.sort.as_deref() == Some("urgency"),
    };
    let mut rows = state.store.desk_stories(&filter, (page_no - 1) * PAGE, PAGE + 1).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    #[derive(Serialize)]
    struct Row {
        news_id: i64,
        headline: String,
        status: String,
        section: String,
        modified: String,
        scheduled: Option<String>,
        created_by: Option<String>,
        /// The story's edition: the language and direction of its text.
        edition: Option<minijinja::Value>,
        /// Urgency, its label (`Flash`) and its colour class (`urgency-1`).
        urgency: minijinja::Value,
        /// The desk's short name of the story.
        slugline: String,
    }
    let editions = state.editions.load_full();
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|r| Row {
            edition: editions.iter().find(|e| e.id == r.edition_id).map(text_dir),
            news_id: r.news_id,
            headline: r.headline,
            status: r.status,
            section: r.section,
            modified: dates::format_long(dates::from_unix(r.modified_at), tz),
            scheduled: r.scheduled_at.map(|t| dates::format_long(dates::from_unix(t), tz)),
            created_by: r.created_by,
            urgency: urgency_view(r.urgency),
            slugline: r.slugline,
        })
        .collect();
    // The section filter offers the listed edition's sections, or every edition's, grouped.
    let mut section_groups = Vec::new();
    for e in editions.iter().filter(|e| only.as_ref().is_none_or(|o| o.id == e.id)) {
        let sections = state.store.sections(e.id).await?;
        section_groups.push(minijinja::context! { edition => text_dir(e), sections => section_options(&sections) });
    }
    let query_without_page = serde_urlencoded::to_string([
        ("edition", q.edition.clone().unwrap_or_default()),
        ("status", q.status.clone().unwrap_or_default()),
        ("section", q.section.clone().unwrap_or_default()),
        ("mine", q.mine.clone().unwrap_or_default()),
        ("q", q.q.clone().unwrap_or_default()),
        ("from", q.from.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
        ("sort", q.sort.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    page::render(
        &state,
        &staff,
        "admin/stories.html",
        "Stories",
        minijinja::context! {
            rows => rows,
            section_groups => section_groups,
            editions => editions.iter().map(text_dir).collect::<Vec<_>>(),
            statuses => ["draft", "submitted", "scheduled", "published", "unpublished", "killed"],
            q => minijinja::context! {
                status => q.status, section => q.section, mine => mine, q => q.q, from => q.from, to => q.to,
                edition => only.as_ref().map(|e| e.lang.clone()),
                sort => q.sort,
            },
            page => page_no,
            prev => (page_no > 1).then(|| format!("/admin/stories?{query_without_page}&page={}", page_no - 1)),
            next => more.then(|| format!("/admin/stories?{query_without_page}&page={}", page_no + 1)),
            can_see_all => staff.can(Permission::EditAnyStory),
        },
    )
}

/// An urgency as newsroom lists show it: `2`, `Urgent`, `urgency-2`.
pub(super) fn urgency_view(u: i64) -> minijinja::Value {
    use newsdesk_domain::agency::{urgency_class, urgency_label};
    minijinja::context! { value => u, label => urgency_label(u, "en"), class => urgency_class(u) }
}

#[derive(Debug, Serialize)]
struct SectionOption {
    id: i64,
    label: String,
}

fn section_options(sections: &[Section]) -> Vec<SectionOption> {
    let mut v: Vec<SectionOption> = sections
        .iter()
        .map(|s| {
            let depth = s.path.matches('/').count();
            SectionOption { id: s.id, label: format!("{}{}", "— ".repeat(depth), s.name) }
        })
        .collect();
    // Keep the tree order: parents before children.
    let paths: std::collections::HashMap<i64, &str> = sections.iter().map(|s| (s.id, s.path.as_str())).collect();
    v.sort_by(|a, b| paths.get(&a.id).cmp(&paths.get(&b.id)));
    v
}

// ----- the editor -----

/// What the editor form sends.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(super) struct StoryForm {
    #[serde(default)]
    headline: String,
    #[serde(default)]
    lead: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    body_format: Option<String>,
    #[serde(default)]
    section_id: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    authors: String,
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    editorial_note: String,
    /// Urgency, `1` … `8`; absent: unchanged.
    #[serde(default)]
    urgency: Option<String>,
    /// Slugline; absent: unchanged.
    #[serde(default)]
    slugline: Option<String>,
    /// The dateline's place; absent: unchanged.
    #[serde(default)]
    located: Option<String>,
    /// Genre names or codes, comma-separated; absent: unchanged.
    #[serde(default)]
    genres: Option<String>,
    /// Media Topic qcodes, separated by commas or spaces; absent: unchanged.
    #[serde(default)]
    subjects: Option<String>,
    /// The note to subscribers; absent: unchanged.
    #[serde(default)]
    ednote: Option<String>,
    /// `1`: show the subjects as tags on the public page (with `agency_form`, absent is no).
    #[serde(default)]
    subjects_public: Option<String>,
    /// Present when the form carries the agency fields (an unticked checkbox sends nothing).
    #[serde(default)]
    agency_form: Option<String>,
    #[serde(default)]
    version: Option<String>,
    /// Language of the edition a new story is written for (empty: the default edition).
    #[serde(default)]
    edition: Option<String>,
    /// Lead photo id; empty: none; absent: unchanged.
    #[serde(default)]
    photo_id: Option<String>,
    /// Lead gallery id; empty: none; absent: unchanged.
    #[serde(default)]
    gallery_id: Option<String>,
    /// The button pressed: empty or `save`, or a step taken on what is on the
    /// screen: `submit`, `publish`, `schedule`, `republish`, `correct`.
    #[serde(default)]
    action: Option<String>,
    /// For a published story: `fix` (quietly) or `update` (readers see "Updated:").
    #[serde(default)]
    change: Option<String>,
    /// For `schedule`: when, in the edition's time zone.
    #[serde(default)]
    scheduled_at: Option<String>,
    /// For `correct`: the public note.
    #[serde(default)]
    correction_note: Option<String>,
}

/// Comma-separated names; the desk folds, checks and deduplicates them.
fn split_names(s: &str) -> Vec<String> {
    s.split(',').map(String::from).collect()
}

/// The editor form as changes for the desk: the form carries every field.
fn changes_of(form: &StoryForm) -> StoryChanges {
    let mut unreadable = Vec::new();
    let body_format = match form.body_format.as_deref() {
        None | Some("") => None,
        Some(f) => BodyFormat::parse(f).or_else(|| {
            unreadable.push(FieldError::new("body_format", format!("Unknown body format `{f}`.")));
            None
        }),
    };
    // Absent: keep the story's photo; empty: none.
    let photo_id = match form.photo_id.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(raw) => match raw.parse::<i64>().ok().filter(|n| *n > 0) {
            Some(id) => Some(Some(id)),
            None => {
                unreadable.push(FieldError::new(
                    "photo_id",
                    format!("The lead photo must be a photo number from the media library, not “{raw}”."),
                ));
                None
            }
        },
    };
    // Absent: keep the story's gallery; empty: none.
    let gallery_id = match form.gallery_id.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(raw) => match raw.parse::<i64>().ok().filter(|n| *n > 0) {
            Some(id) => Some(Some(id)),
            None => {
                unreadable.push(FieldError::new(
                    "gallery_id",
                    format!("The lead gallery must be a gallery number, not “{raw}”."),
                ));
                None
            }
        },
    };
    let change = match form.change.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => PublicChange::parse(c).or_else(|| {
            unreadable.push(FieldError::new("change", format!("Unknown kind of change `{c}`: fix or update.")));
            None
        }),
    };
    StoryChanges {
        headline: Some(form.headline.clone()),
        lead: Some(form.lead.clone()),
        body: Some(form.body.clone()),
        body_format,
        section: Some(SectionChoice::Id(form.section_id.trim().parse::<i64>().unwrap_or(0))),
        tags: Some(split_names(&form.tags)),
        authors: Some(split_names(&form.authors)),
        slug: form.slug.clone(),
        editorial_note: Some(form.editorial_note.clone()),
        photo_id,
        gallery_id,
        change,
        agency: agency_of(form, &mut unreadable),
        unreadable,
    }
}

/// The agency fields of the editor form, for the desk's rules.
fn agency_of(form: &StoryForm, unreadable: &mut Vec<FieldError>) -> desk::AgencyChanges {
    let urgency = match form.urgency.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(u) => u.parse::<i64>().ok().or_else(|| {
            unreadable.push(FieldError::new("urgency", format!("The urgency is a number from 1 to 8, not “{u}”.")));
            None
        }),
    };
    let list = |v: &Option<String>, sep: &[char]| -> Option<Vec<String>> {
        v.as_ref().map(|v| v.split(sep).map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
    };
    desk::AgencyChanges {
        urgency,
        slugline: form.slugline.clone(),
        located: form.located.clone(),
        genres: list(&form.genres, &[',', '،']),
        subjects: list(&form.subjects, &[',', '،', ' ', '\n']),
        ednote: form.ednote.clone(),
        subjects_public: form.agency_form.is_some().then(|| form.subjects_public.as_deref() == Some("1")),
    }
}

/// The messages of a refused form, for the editor.
fn messages(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(|e| e.message.clone()).collect()
}

/// Genre codes as the editor shows them: their English names, comma-separated.
fn agency_genre_names(codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| newsdesk_domain::agency::genre(c).map_or(c.as_str(), |g| g.name_en.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn form_of(story: &Story, extras: &StoryExtras) -> StoryForm {
    StoryForm {
        headline: story.headline.clone(),
        lead: story.lead.clone(),
        body: story.body_source.clone(),
        body_format: Some(story.body_format.as_str().to_string()),
        section_id: story.section_id.to_string(),
        tags: story.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", "),
        authors: story.authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "),
        slug: Some(story.slug.clone()),
        editorial_note: extras.editorial_note.clone(),
        urgency: Some(story.agency.urgency.to_string()),
        slugline: Some(story.agency.slugline.clone()),
        located: Some(story.agency.located.clone()),
        genres: Some(agency_genre_names(&story.agency.genres)),
        subjects: Some(story.agency.subjects.join(" ")),
        ednote: Some(story.agency.ednote.clone()),
        subjects_public: story.agency.subjects_public.then(|| "1".to_string()),
        agency_form: Some("1".into()),
        version: Some(story.version.to_string()),
        photo_id: Some(story.photo.as_ref().map(|p| p.id.to_string()).unwrap_or_default()),
        gallery_id: Some(story.gallery_id.map(|g| g.to_string()).unwrap_or_default()),
        edition: None,
        ..StoryForm::default()
    }
}

struct EditorPage<'a> {
    story: Option<&'a Story>,
    extras: Option<&'a StoryExtras>,
    form: StoryForm,
    errors: Vec<String>,
    notice: Option<String>,
    status: StatusCode,
}

async fn render_editor(
    state: &AppState,
    staff: &Staff,
    edition: &Edition,
    p: EditorPage<'_>,
) -> Result<Response, AdminError> {
    let sections = state.store.sections(edition.id).await?;
    let known_tags: Vec<String> =
        state.store.tags_in_use(edition.id, 2000).await?.into_iter().map(|t| t.name).collect();
    let tz = edition.time_zone;
    let corrections = match p.story {
        Some(s) => state.store.corrections(s.news_id).await?,
        None => Vec::new(),
    };
    // The edit lock: taken by whoever may edit; read-only while someone else holds it.
    let lock = super::locks::editor_lock(state, staff, p.story, p.extras).await?;
    let story = p.story.map(|s| {
        let own = p.extras.is_some_and(|e| staff.actor().owns(e));
        minijinja::context! {
            news_id => s.news_id,
            status => s.status.as_str(),
            version => s.version,
            path => s.path(),
            published => s.published_at.map(|t| dates::format_long(t, tz)),
            updated => s.updated_at.map(|t| dates::format_long(t, tz)),
            saved => dates::format_long(s.modified_at, tz),
            is_published => s.status == StoryStatus::Published,
            scheduled => p.extras.and_then(|e| e.scheduled_at).map(|t| dates::format_long(t, tz)),
            correction_note => p.extras.map(|e| e.correction_note.clone()),
            corrections => corrections
                .iter()
                .map(|c| minijinja::context! { note => c.note, actor => c.actor, at => dates::format_long(c.at, tz) })
                .collect::<Vec<_>>(),
            public_note => p.extras.map(|e| e.public_note.clone()),
            editable => may_edit(staff.role, s.status, own) && !lock.read_only
                && p.extras.is_none_or(|e| e.spiked_at.is_none()),
            slug_fixed => s.published_at.is_some(),
            actions => Action::available(staff.role, s.status)
                .into_iter()
                .filter(|a| *a != Action::Submit || own || staff.can(Permission::EditAnyStory))
                .map(|a| minijinja::context! { name => a.as_str(), label => a.label() })
                .collect::<Vec<_>>(),
            can_correct => s.status == StoryStatus::Published && staff.can(Permission::Publish),
        }
    });
    // The story's versions in other editions ("translation of News ID").
    let mut translations = Vec::new();
    if let Some(s) = p.story {
        for t in state.store.translations(s.news_id).await? {
            translations.push(minijinja::context! {
                news_id => t.news_id,
                lang => t.lang,
                headline => t.headline,
                status => t.status.as_str(),
                edit_url => format!("/admin/stories/{}/edit", t.news_id),
            });
        }
    }
    // The headline isolated (FSI … PDI): a right-to-left one must not reorder the English around it.
    let title = p.story.map(|s| format!("Edit: \u{2068}{}\u{2069}", s.headline)).unwrap_or_else(|| "New story".into());
    let agency = super::agency::editor_vocabularies(&edition.lang, p.form.subjects.as_deref().unwrap_or_default());
    let photo_id = p.form.photo_id.as_deref().and_then(|v| v.trim().parse::<i64>().ok());
    let photo = super::media::editor_photo(state, photo_id).await?;
    let live = super::live::editor_panel(state, staff, p.story, p.extras, edition).await?;
    let html = page::render(
        state,
        staff,
        "admin/editor.html",
        &title,
        minijinja::context! {
            story => story,
            flags => super::flags::editor_flags(state, staff, p.story, p.extras).await?,
            provenance => super::ingest::editor_provenance(state, p.story).await?,
            lock => lock.view,
            translations => translations,
            can_link_translations => staff.can(Permission::Publish),
            photo => photo,
            galleries => super::galleries::editor_choices(state).await?,
            live => live,
            form => p.form,
            errors => p.errors,
            notice => p.notice,
            sections => section_options(&sections),
            known_tags => known_tags,
            agency => agency,
            edition => minijinja::context! { lang => edition.lang, name => edition.name },
            text => text_dir(edition),
            editions => state
                .editions
                .load()
                .iter()
                .map(|e| minijinja::context! { lang => e.lang, name => e.name, current => e.id == edition.id })
                .collect::<Vec<_>>(),
            time_zone => tz.name(),
            now_local => Utc::now().with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S").to_string(),
        },
    )?;
    Ok((p.status, html).into_response())
}

/// The edition a new story is written for: `lang`, or the default edition.
fn edition_for_new(state: &AppState, lang: Option<&str>) -> Result<Edition, AdminError> {
    Ok(desk::edition_for_new(state, lang)?)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct NewQuery {
    edition: Option<String>,
}

async fn new_story(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<NewQuery>,
) -> Result<Response, AdminError> {
    let edition = edition_for_new(&state, q.edition.as_deref())?;
    let form = StoryForm {
        authors: staff.name.clone(),
        body_format: Some("markdown".into()),
        edition: Some(edition.lang.clone()),
        ..StoryForm::default()
    };
    render_editor(
        &state,
        &staff,
        &edition,
        EditorPage { story: None, extras: None, form, errors: Vec::new(), notice: None, status: StatusCode::OK },
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<StoryForm>,
) -> Result<Response, AdminError> {
    let edition = edition_for_new(&state, form.edition.as_deref())?;
    match desk::create(&state, &staff.actor(), &edition, changes_of(&form)).await {
        Ok(id) => Ok(Redirect::to(&format!("/admin/stories/{id}/edit?saved=created")).into_response()),
        Err(DeskError::Invalid(errors)) => {
            let page = EditorPage {
                story: None,
                extras: None,
                form,
                errors: messages(&errors),
                notice: None,
                status: StatusCode::UNPROCESSABLE_ENTITY,
            };
            render_editor(&state, &staff, &edition, page).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct EditQuery {
    saved: Option<String>,
}

async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<EditQuery>,
) -> Result<Response, AdminError> {
    let (story, extras) = load(&state, &id).await?;
    check_open(&staff, &extras)?;
    let edition = edition_of(&state, story.edition_id)?;
    let notice = q.saved.as_deref().map(|s| match s {
        "created" => "The story was created.".to_string(),
        "unchanged" => "Nothing had changed.".to_string(),
        "restored" => "The revision was restored as a new version.".to_string(),
        "correction" => "The correction was published.".to_string(),
        "translation" => "The translation links were saved.".to_string(),
        "takeover" => "You took over editing; the previous editor is told within half a minute.".to_string(),
        "unspiked" => "The story was unspiked: it is back on its desk and in the lists.".to_string(),
        "breaking" => "The story is breaking news: the banner shows on every page of its edition.".to_string(),
        "breaking_cleared" => "The breaking-news banner was cleared.".to_string(),
        "released" => "The story was released to the wire: subscribers that take embargoed copy have it now, \
                       with its embargo; readers see nothing of it until its time."
            .to_string(),
        other => match other.parse::<Action>() {
            Ok(a) => format!("Done: {}.", a.label()),
            Err(_) => "Saved.".to_string(),
        },
    });
    let form = form_of(&story, &extras);
    render_editor(
        &state,
        &staff,
        &edition,
        EditorPage {
            story: Some(&story),
            extras: Some(&extras),
            form,
            errors: Vec::new(),
            notice,
            status: StatusCode::OK,
        },
    )
    .await
}

fn expected_version(form: &StoryForm) -> Result<i64, AdminError> {
    parse_version(form.version.as_deref().unwrap_or_default())
}

/// The story version a form was based on (hidden field), for optimistic locking.
fn parse_version(text: &str) -> Result<i64, AdminError> {
    text.parse::<i64>()
        .map_err(|_| AdminError::BadRequest("the form lacks the story's version; reload the editor".into()))
}

/// The steps the editor form's own buttons take on what is on the screen
/// (the others are in the workflow section and take no text).
const FORM_ACTIONS: [Action; 4] = [Action::Submit, Action::Publish, Action::Schedule, Action::Republish];

async fn save(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<StoryForm>,
) -> Result<Response, AdminError> {
    let (story, extras) = load(&state, &id).await?;
    let version = expected_version(&form)?;
    let page = |errors: Vec<String>, status: StatusCode, form: StoryForm| EditorPage {
        story: Some(&story),
        extras: Some(&extras),
        form,
        errors,
        notice: None,
        status,
    };
    let edition = edition_of(&state, story.edition_id)?;
    let actor = staff.actor();
    let step = form.action.as_deref().map(str::trim).filter(|a| !a.is_empty() && *a != "save");
    let result = match step {
        None => {
            let mut changes = changes_of(&form);
            // A published story's save is a choice: a silent fix or an update readers see
            // (reported with the other problems, after the desk's permission checks).
            if story.status == StoryStatus::Published && changes.change.is_none() {
                changes.unreadable.push(FieldError::new(
                    "change",
                    "The story is published: choose “Fix quietly” (a typo: readers see no “Updated:”) or \
                     “Update” (readers see “Updated:”).",
                ));
            }
            desk::update(&state, &actor, story.news_id, version, changes).await.map(|(outcome, changed)| {
                (changed, if outcome == SaveOutcome::Unchanged { "unchanged" } else { "saved" }.to_string())
            })
        }
        Some("correct") => {
            let note = form.correction_note.clone().unwrap_or_default();
            desk::correct_with(&state, &actor, story.news_id, version, &note, Some(changes_of(&form)))
                .await
                .map(|changed| (changed, "correction".to_string()))
        }
        Some(a) => {
            let action: Action = a.parse().map_err(AdminError::BadRequest)?;
            if !FORM_ACTIONS.contains(&action) {
                return Err(AdminError::BadRequest(format!("“{}” is not taken from the editor form", action.label())));
            }
            let req = ActRequest {
                action,
                version,
                scheduled_at: Some(ScheduleAt::Local(form.scheduled_at.clone().unwrap_or_default())),
                public_note: None,
                reason: None,
                changes: Some(changes_of(&form)),
            };
            desk::act(&state, &actor, story.news_id, req).await.map(|changed| (changed, action.as_str().to_string()))
        }
    };
    match result {
        Ok((changed, saved)) => {
            changed.drop_pages(&state).await?;
            Ok(Redirect::to(&format!("/admin/stories/{}/edit?saved={saved}", story.news_id)).into_response())
        }
        Err(DeskError::Invalid(errors)) => {
            render_editor(&state, &staff, &edition, page(messages(&errors), StatusCode::UNPROCESSABLE_ENTITY, form))
                .await
        }
        Err(DeskError::Conflict { current_version: Some(current), .. }) => {
            // Keep what this user typed, and show how it differs from what is stored now.
            let msg = format!(
                "Someone else saved this story meanwhile (it is now at version {current}, you started from version \
                 {version}). Your text is kept below; the differences to the stored version are shown. Copy what \
                 you need, reload, and save again."
            );
            let diff = diff_summary(&story, &form);
            render_editor(&state, &staff, &edition, page(vec![msg, diff], StatusCode::CONFLICT, form.clone())).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A plain-text word diff of the stored story against a form, for a refused save.
fn diff_summary(stored: &Story, form: &StoryForm) -> String {
    let mut out = String::new();
    for (field, a, b) in [
        ("Headline", stored.headline.as_str(), form.headline.as_str()),
        ("Lead", stored.lead.as_str(), form.lead.as_str()),
        ("Body", stored.body_source.as_str(), form.body.as_str()),
    ] {
        if a != b {
            let ops = word_diff(a, b);
            let removed: Vec<&str> = ops.iter().filter(|o| o.kind == "del").map(|o| o.text.as_str()).collect();
            let added: Vec<&str> = ops.iter().filter(|o| o.kind == "ins").map(|o| o.text.as_str()).collect();
            out += &format!(
                "{field}: stored version has “{}”, yours has “{}”. ",
                removed.join(" … ").trim(),
                added.join(" … ").trim()
            );
        }
    }
    if out.is_empty() { "Your text and the stored version have the same headline, lead and body.".into() } else { out }
}

/// Autosave from the editor's script: JSON in, JSON out; never loses the draft silently.
async fn autosave(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<StoryForm>,
) -> Result<Response, AdminError> {
    let (story, _) = load(&state, &id).await?;
    if story.status != StoryStatus::Draft {
        return Ok((
            StatusCode::CONFLICT,
            Json(serde_json::json!({ "saved": false, "message": "Only drafts are saved automatically; use Save." })),
        )
            .into_response());
    }
    let version = expected_version(&form)?;
    let refused = |status: StatusCode, message: String| {
        (status, Json(serde_json::json!({ "saved": false, "message": message }))).into_response()
    };
    match desk::update(&state, &staff.actor(), story.news_id, version, changes_of(&form)).await {
        Ok((_, changed)) => {
            changed.drop_pages(&state).await?;
            let now = state.store.story(story.news_id).await?.map(|s| s.version).unwrap_or(version);
            Ok(Json(serde_json::json!({ "saved": true, "version": now })).into_response())
        }
        Err(DeskError::Invalid(errors)) => Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, desk::join(&errors, " "))),
        Err(DeskError::Conflict { current_version: Some(_), message }) => Ok(refused(StatusCode::CONFLICT, message)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct PreviewForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    body_format: Option<String>,
}

/// The body rendered by the same code as the public page (live preview).
async fn preview_body(State(state): State<AppState>, Form(form): Form<PreviewForm>) -> Result<Response, AdminError> {
    if form.body.chars().count() > MAX_BODY {
        return Err(AdminError::BadRequest(format!("The body is longer than {MAX_BODY} characters.")));
    }
    let format = BodyFormat::parse(form.body_format.as_deref().unwrap_or("markdown")).unwrap_or(BodyFormat::Markdown);
    // Photos and embeds as the saved page shows them; one naming nothing (refused at save) shows without it.
    let html = match state.store.render_body(format, &form.body).await {
        Ok(html) => html,
        Err(_) => format.render(&form.body),
    };
    Ok(Html(html).into_response())
}

/// The public page of the story as it would look, at a private URL (behind the login).
async fn preview_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let (story, extras) = load(&state, &id).await?;
    check_open(&staff, &extras)?;
    let html = crate::site::preview_story_html(&state, &story).await?;
    Ok(Html(html).into_response())
}

// ----- workflow -----

#[derive(Debug, Deserialize)]
pub(super) struct WorkflowForm {
    action: String,
    version: String,
    #[serde(default)]
    scheduled_at: String,
    #[serde(default)]
    public_note: String,
    /// For unpublish and kill: why (for the newsroom's record).
    #[serde(default)]
    reason: String,
    /// For unpublish and kill: the box “Yes, take it down” ticked.
    #[serde(default)]
    confirm: Option<String>,
}

async fn workflow(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<WorkflowForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let action: Action = form.action.parse().map_err(AdminError::BadRequest)?;
    let mut refused = Vec::new();
    if matches!(action, Action::Unpublish | Action::Kill) && form.confirm.as_deref().is_none_or(str::is_empty) {
        refused.push(FieldError::new(
            "confirm",
            format!("Tick the box to confirm “{}”: readers lose the story's page.", action.label()),
        ));
    }
    let req = ActRequest {
        action,
        version: parse_version(&form.version)?,
        scheduled_at: Some(ScheduleAt::Local(form.scheduled_at)),
        public_note: Some(form.public_note),
        reason: Some(form.reason),
        changes: None,
    };
    let result = if refused.is_empty() {
        desk::act(&state, &staff.actor(), id, req).await
    } else {
        Err(DeskError::Invalid(refused))
    };
    match result {
        Ok(changed) => {
            changed.drop_pages(&state).await?;
            Ok(Redirect::to(&format!("/admin/stories/{id}/edit?saved={action}")).into_response())
        }
        // The editor again, saying what is missing (nothing was changed).
        Err(DeskError::Invalid(errors)) => {
            let (story, extras) = desk::load(&state, id).await?;
            check_open(&staff, &extras)?;
            let edition = edition_of(&state, story.edition_id)?;
            let page = EditorPage {
                story: Some(&story),
                extras: Some(&extras),
                form: form_of(&story, &extras),
                errors: messages(&errors),
                notice: None,
                status: StatusCode::UNPROCESSABLE_ENTITY,
            };
            render_editor(&state, &staff, &edition, page).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TranslationForm {
    /// News ID of a story in another edition this one translates; empty to unlink.
    translation_of: String,
}

/// Links the story as a translation of another News ID (or unlinks it); the
/// pages of every story whose language list changes are refreshed.
async fn translation(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<TranslationForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let text = newsdesk_domain::calendar::digits_to_ascii(form.translation_of.trim());
    let of = match text.as_str() {
        "" => None,
        t => Some(t.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            AdminError::BadRequest(format!("“Translation of” must be a News ID such as 84427, not “{t}”."))
        })?),
    };
    desk::translate(&state, &staff.actor(), id, of).await?.drop_pages(&state).await?;
    Ok(Redirect::to(&format!("/admin/stories/{id}/edit?saved=translation")).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct CorrectionForm {
    version: String,
    note: String,
}

async fn correction(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<CorrectionForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let version = parse_version(&form.version)?;
    desk::correct(&state, &staff.actor(), id, version, &form.note).await?.drop_pages(&state).await?;
    Ok(Redirect::to(&format!("/admin/stories/{id}/edit?saved=correction")).into_response())
}

// ----- revisions -----

async fn revisions(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, AdminError> {
    let (story, extras) = load(&state, &id).await?;
    check_open(&staff, &extras)?;
    let edition = edition_of(&state, story.edition_id)?;
    let tz = edition.time_zone;
    let revs = state.store.revisions(story.news_id).await?;
    let rows: Vec<_> = revs
        .iter()
        .map(|r| {
            minijinja::context! {
                version => r.version, status => r.status, actor => r.actor, note => r.note,
                headline => r.headline, at => dates::format_long(dates::from_unix(r.created_at), tz),
            }
        })
        .collect();
    page::render(
        &state,
        &staff,
        "admin/revisions.html",
        "Revisions",
        minijinja::context! {
            story => minijinja::context! { news_id => story.news_id, headline => story.headline, version => story.version },
            rows => rows,
            text => text_dir(&edition),
        },
    )
}

/// One piece of a word diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DiffOp {
    /// `eq`, `del` or `ins`.
    pub kind: &'static str,
    /// The words.
    pub text: String,
}

/// A word-level diff of `old` against `new`.
pub(crate) fn word_diff(old: &str, new: &str) -> Vec<DiffOp> {
    let diff = similar::TextDiff::from_words(old, new);
    let mut ops: Vec<DiffOp> = Vec::new();
    for change in diff.iter_all_changes() {
        let kind = match change.tag() {
            similar::ChangeTag::Equal => "eq",
            similar::ChangeTag::Delete => "del",
            similar::ChangeTag::Insert => "ins",
        };
        match ops.last_mut() {
            Some(last) if last.kind == kind => last.text.push_str(change.value()),
            _ => ops.push(DiffOp { kind, text: change.value().to_string() }),
        }
    }
    ops
}

async fn revision(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, version)): Path<(String, String)>,
) -> Result<Html<String>, AdminError> {
    let (story, extras) = load(&state, &id).await?;
    check_open(&staff, &extras)?;
    let version = version.parse::<i64>().map_err(|_| AdminError::NotFound)?;
    let rev = state.store.revision(story.news_id, version).await?.ok_or(AdminError::NotFound)?;
    let edition = edition_of(&state, story.edition_id)?;
    let tz = edition.time_zone;
    let fields: Vec<_> = [
        ("Headline", rev.headline.as_str(), story.headline.as_str()),
        ("Lead", rev.lead.as_str(), story.lead.as_str()),
        ("Body", rev.body_source.as_str(), story.body_source.as_str()),
    ]
    .into_iter()
    .map(|(name, old, new)| {
        minijinja::context! { name => name, old => old, new => new, diff => word_diff(old, new), same => old == new }
    })
    .collect();
    page::render(
        &state,
        &staff,
        "admin/revision.html",
        &format!("Version {version}"),
        minijinja::context! {
            story => minijinja::context! {
                news_id => story.news_id, headline => story.headline, version => story.version,
                editable => may_edit(staff.role, story.status, staff.actor().owns(&extras)),
            },
            rev => minijinja::context! {
                version => rev.version, actor => rev.actor, status => rev.status, note => rev.note,
                at => dates::format_long(dates::from_unix(rev.created_at), tz),
            },
            fields => fields,
            text => text_dir(&edition),
        },
    )
}

#[derive(Debug, Deserialize)]
pub(super) struct RestoreForm {
    current: String,
}

async fn restore(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, version)): Path<(String, String)>,
    Form(form): Form<RestoreForm>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let version = version.parse::<i64>().map_err(|_| AdminError::NotFound)?;
    let current = parse_version(&form.current)?;
    desk::restore(&state, &staff.actor(), id, version, current).await?.drop_pages(&state).await?;
    Ok(Redirect::to(&format!("/admin/stories/{id}/edit?saved=restored")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_diff_marks_changed_words() {
        let ops = word_diff("the quick brown fox", "the slow brown fox");
        let kinds: Vec<(&str, &str)> = ops.iter().map(|o| (o.kind, o.text.as_str())).collect();
        assert_eq!(kinds, vec![("eq", "the "), ("del", "quick"), ("ins", "slow"), ("eq", " brown fox")]);
    }
}
