//! Story commands: create, update, act (the workflow), correct, translate,
//! restore a revision.

use chrono::{DateTime, NaiveDateTime, Utc};
use newsdesk_domain::limits::{MAX_BODY, MAX_HEADLINE, MAX_LEAD, MAX_NAME, MAX_NOTE, MAX_TAGS};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::workflow::Action;
use newsdesk_domain::{BodyFormat, Edition, Story, StoryStatus, dates, slug::slugify, text};
use newsdesk_storage::{CheckedSave, SaveOutcome, SectionRef, StoryExtras, StoryInput, Then, Transition};

use super::{Actor, Changed, DeskError, FieldError, OwnDrafts, check_edit, check_scope, load};
use crate::AppState;

/// How a surface names a section: the back office by id, the API by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionChoice {
    /// A section id of the story's edition.
    Id(i64),
    /// A section path such as `iran/defense`.
    Path(String),
}

/// The fields of a story a command writes; `None` keeps the story's value
/// (for a new story: empty, Markdown, no photo, a slug from the headline).
#[derive(Debug, Clone, Default)]
pub struct StoryChanges {
    /// Headline (trimmed).
    pub headline: Option<String>,
    /// Lead (trimmed).
    pub lead: Option<String>,
    /// Body as written.
    pub body: Option<String>,
    /// Body format.
    pub body_format: Option<BodyFormat>,
    /// Section.
    pub section: Option<SectionChoice>,
    /// Tag names (replace the story's).
    pub tags: Option<Vec<String>>,
    /// Byline names (replace the story's).
    pub authors: Option<Vec<String>>,
    /// Slug; empty like absent. Fixed once the story has been published.
    pub slug: Option<String>,
    /// Internal note for the desk (trimmed).
    pub editorial_note: Option<String>,
    /// Lead photo: `Some(None)` removes it.
    pub photo_id: Option<Option<i64>>,
    /// Lead gallery: `Some(None)` removes it.
    pub gallery_id: Option<Option<i64>>,
    /// For a published story: a silent fix or an update readers see
    /// (`None`: an update, as before the choice existed).
    pub change: Option<PublicChange>,
    /// Problems the surface met while reading its input, reported with the others.
    pub unreadable: Vec<FieldError>,
    /// Agency metadata (urgency, slugline, dateline place, genres, subjects, note to subscribers).
    pub agency: super::AgencyChanges,
}

/// How a save of a published story shows to readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicChange {
    /// A silent fix (a typo): no "Updated:" line, dateModified stays.
    Fix,
    /// An update: readers see "Updated:" and dateModified moves.
    Update,
}

impl PublicChange {
    /// Reads `fix` or `update`.
    pub fn parse(s: &str) -> Option<PublicChange> {
        match s {
            "fix" => Some(PublicChange::Fix),
            "update" => Some(PublicChange::Update),
            _ => None,
        }
    }
}

/// When a `schedule` action publishes, as the surface received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleAt {
    /// `2026-11-27T14:30` in the edition's time zone (the back office's picker).
    Local(String),
    /// RFC 3339 with an offset (the API).
    Rfc3339(String),
}

/// A workflow step.
#[derive(Debug, Clone)]
pub struct ActRequest {
    /// What to do.
    pub action: Action,
    /// The version the step is based on.
    pub version: i64,
    /// For `schedule`: when.
    pub scheduled_at: Option<ScheduleAt>,
    /// For `kill`: the public note saying why.
    pub public_note: Option<String>,
    /// For `unpublish` and `kill`: why, for the newsroom (revisions and the
    /// audit log); required.
    pub reason: Option<String>,
    /// The fields on the user's screen, saved first in the same transaction
    /// (a publish acts on what the user sees, not on the last save).
    pub changes: Option<StoryChanges>,
}

/// The edition a story belongs to.
pub fn edition_of(state: &AppState, id: i64) -> Result<Edition, DeskError> {
    state
        .editions
        .load()
        .iter()
        .find(|e| e.id == id)
        .cloned()
        .ok_or_else(|| DeskError::Internal(format!("edition {id} is not loaded")))
}

/// The edition a new story is written for: `lang`, or the default edition.
pub fn edition_for_new(state: &AppState, lang: Option<&str>) -> Result<Edition, DeskError> {
    match lang.map(str::trim).filter(|l| !l.is_empty()) {
        None => state.default_edition().ok_or_else(|| {
            DeskError::invalid("The site has no edition yet: run `newsdesk demo` or import a page first.")
        }),
        Some(l) => state
            .editions
            .load()
            .iter()
            .find(|e| e.lang == l)
            .cloned()
            .ok_or_else(|| DeskError::invalid(format!("There is no edition `{l}`."))),
    }
}

/// Checks a text field: at most `max` characters, no control characters
/// ([`newsdesk_domain::text`]; line ends are normalised before, by [`text_of`]).
fn check_text(errors: &mut Vec<FieldError>, field: &'static str, label: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.push(FieldError::new(field, format!("The {label} is longer than {max} characters.")));
    }
    if let Some(problem) = text::check(label, value) {
        errors.push(FieldError::new(field, problem));
    }
}

/// A text field as typed, trimmed, with CRLF and CR line ends made LF.
fn text_of(value: &str) -> String {
    text::normalize_newlines(value.trim()).into_owned()
}

/// Tag or byline names: whitespace folded, empty ones dropped, duplicates
/// (ignoring ASCII case) merged, each and their number within the limits.
pub(crate) fn clean_names(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    what: &str,
    names: &[String],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names.iter().map(|n| n.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|n| !n.is_empty()) {
        if n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
            errors.push(FieldError::new(
                field,
                format!("The {what} “{n}” is longer than {MAX_NAME} characters or holds control characters."),
            ));
        } else if !out.iter().any(|o| o.eq_ignore_ascii_case(&n)) {
            out.push(n);
        }
    }
    if out.len() > MAX_TAGS {
        errors.push(FieldError::new(field, format!("At most {MAX_TAGS} {what}s.")));
    }
    out
}

/// Checks `c` against the story it changes (`None`: a new story); the input
/// to save with its editorial note, or every problem found.
async fn validate(
    state: &AppState,
    actor: &Actor,
    edition: &Edition,
    existing: Option<(&Story, &StoryExtras)>,
    c: StoryChanges,
) -> Result<(StoryInput, String), DeskError> {
    let story = existing.map(|(s, _)| s);
    let mut errors = c.unreadable;
    let headline = c.headline.map(|h| text_of(&h)).or_else(|| story.map(|s| s.headline.clone()));
    let headline = headline.unwrap_or_default();
    if headline.is_empty() {
        errors.push(FieldError::new("headline", "The headline is empty."));
    }
    check_text(&mut errors, "headline", "headline", &headline, MAX_HEADLINE);
    let lead = c.lead.map(|l| text_of(&l)).or_else(|| story.map(|s| s.lead.clone())).unwrap_or_default();
    check_text(&mut errors, "lead", "lead", &lead, MAX_LEAD);
    let body = c.body.map(|b| text::normalize_newlines(&b).into_owned());
    let body = body.or_else(|| story.map(|s| s.body_source.clone())).unwrap_or_default();
    check_text(&mut errors, "body", "body", &body, MAX_BODY);
    let note = c.editorial_note.map(|n| text_of(&n));
    let note = note.or_else(|| existing.map(|(_, e)| e.editorial_note.clone())).unwrap_or_default();
    check_text(&mut errors, "editorial_note", "editorial note", &note, MAX_NOTE);
    let sections = state.store.sections(edition.id).await?;
    let section_id = match (&c.section, story) {
        (Some(SectionChoice::Id(id)), _) => sections.iter().find(|s| s.id == *id).map(|s| s.id),
        (Some(SectionChoice::Path(p)), _) => {
            let p = p.trim().trim_matches('/');
            let found = sections.iter().find(|s| s.path == p).map(|s| s.id);
            if found.is_none() {
                errors.push(FieldError::new("section", format!("There is no section `{p}`.")));
                Some(0)
            } else {
                found
            }
        }
        (None, Some(s)) => Some(s.section_id),
        (None, None) => None,
    };
    if section_id.is_none() {
        errors.push(FieldError::new("section", "Choose a section."));
    }
    let tags = match &c.tags {
        Some(t) => clean_names(&mut errors, "tags", "tag", t),
        None => story.map(|s| s.tags.iter().map(|t| t.name.clone()).collect()).unwrap_or_default(),
    };
    let authors = match &c.authors {
        Some(a) => clean_names(&mut errors, "authors", "byline", a),
        None => story.map(|s| s.authors.iter().map(|a| a.name.clone()).collect()).unwrap_or_default(),
    };
    let photo_id = match c.photo_id {
        Some(Some(id)) => {
            if id < 1 || state.store.photo(id).await?.is_none() {
                errors.push(FieldError::new(
                    "photo_id",
                    format!("There is no photo {id} in the media library: upload it or choose another."),
                ));
            }
            Some(id)
        }
        Some(None) => None,
        None => story.and_then(|s| s.photo.as_ref().map(|p| p.id)),
    };
    let gallery_id = match c.gallery_id {
        Some(Some(id)) => {
            if id < 1 || state.store.gallery(id).await?.is_none() {
                errors.push(FieldError::new(
                    "gallery_id",
                    format!("There is no gallery {id}: make it under Galleries or choose another."),
                ));
            }
            Some(id)
        }
        Some(None) => None,
        None => story.and_then(|s| s.gallery_id),
    };
    // The slug is the story's address: editable until the first publish, then fixed.
    let wanted = c.slug.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let slug = match (story, wanted) {
        (Some(s), Some(w)) if s.published_at.is_some() && w != s.slug => {
            errors.push(FieldError::new("slug", "The slug is fixed once the story has been published."));
            s.slug.clone()
        }
        (Some(s), _) if s.published_at.is_some() => s.slug.clone(),
        (_, Some(w)) => {
            let clean = slugify(w);
            if clean != w {
                errors.push(FieldError::new(
                    "slug",
                    format!("The slug may hold only lower-case letters, digits and hyphens (for example “{clean}”)."),
                ));
            }
            clean
        }
        (Some(s), None) => s.slug.clone(),
        (None, None) => slugify(&headline),
    };
    let agency = super::agency::validate(&mut errors, story.map(|s| &s.agency), c.agency);
    let body_format = c.body_format.or(story.map(|s| s.body_format)).unwrap_or(BodyFormat::Markdown);
    check_blocks(state, &mut errors, body_format, &body).await?;
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    // Once the rest is valid: what the body's embeds are (oEmbed, once per URL; never blocks the save).
    crate::embeds::prepare(state, body_format, &body).await;
    let input = StoryInput {
        news_id: story.map(|s| s.news_id),
        edition_id: edition.id,
        section: SectionRef::Id(section_id.unwrap_or_default()),
        slug: Some(if slug.is_empty() { "story".into() } else { slug }),
        headline,
        lead,
        body_source: body,
        body_format,
        photo_id,
        gallery_id,
        status: story.map(|s| s.status).unwrap_or(StoryStatus::Draft),
        published_at: story.and_then(|s| s.published_at),
        tags,
        authors,
        agency: Some(agency),
        actor: actor.email.clone(),
    };
    Ok((input, note))
}

/// Refuses a body whose photo or gallery blocks name what does not exist (field `body`).
pub(crate) async fn check_blocks(
    state: &AppState,
    errors: &mut Vec<FieldError>,
    format: BodyFormat,
    body: &str,
) -> Result<(), DeskError> {
    for m in state.store.body_missing(format, body).await? {
        errors.push(FieldError::new("body", m.to_string()));
    }
    Ok(())
}

fn section_of(input: &StoryInput) -> Option<i64> {
    match input.section {
        SectionRef::Id(id) => Some(id),
        SectionRef::Names(_) => None,
    }
}

/// Creates a draft in `edition`; the actor becomes its creator. Returns its News ID
/// (a draft has no public page, so nothing cached changes).
pub async fn create(state: &AppState, actor: &Actor, edition: &Edition, c: StoryChanges) -> Result<i64, DeskError> {
    actor.require(Permission::WriteStories)?;
    let (input, note) = validate(state, actor, edition, None, c).await?;
    // An empty target id is the new story's News ID, filled in by the store.
    let audit = actor.audit("story.create", "story", "", &input.headline);
    let (id, _) = state.store.save_story_checked(&input, None, &note, actor.user(), &audit, false).await?;
    Ok(id)
}

/// Changes a story, checked against the version the change is based on.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    version: i64,
    c: StoryChanges,
) -> Result<(SaveOutcome, Changed), DeskError> {
    actor.require(Permission::WriteStories)?;
    let (story, extras) = load(state, news_id).await?;
    check_edit(actor, &story, &extras)?;
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Exempt).await?;
    let edition = edition_of(state, story.edition_id)?;
    let c_change = c.change;
    let (input, note) = validate(state, actor, &edition, Some((&story, &extras)), c).await?;
    check_scope(state, actor, (&story, &extras), section_of(&input), OwnDrafts::Exempt).await?;
    let quiet = c_change == Some(PublicChange::Fix) && story.status == StoryStatus::Published;
    let action = if quiet { "story.fix" } else { "story.edit" };
    let audit = actor.audit(action, "story", news_id, &input.headline);
    let (_, outcome) = state.store.save_story_checked(&input, Some(version), &note, None, &audit, quiet).await?;
    let changed =
        if outcome == SaveOutcome::Unchanged { Changed::default() } else { Changed::story(news_id, story.edition_id) };
    Ok((outcome, changed))
}

fn parse_schedule(at: Option<&ScheduleAt>, edition: &Edition) -> Result<DateTime<Utc>, DeskError> {
    match at {
        Some(ScheduleAt::Local(s)) => {
            let s = s.trim();
            let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
                .map_err(|_| {
                    DeskError::Invalid(vec![FieldError::new(
                        "scheduled_at",
                        format!("The time must look like 2026-11-27T14:30, not “{s}”."),
                    )])
                })?;
            dates::local_to_utc(naive, edition.time_zone)
                .map_err(|e| DeskError::Invalid(vec![FieldError::new("scheduled_at", e.to_string())]))
        }
        Some(ScheduleAt::Rfc3339(s)) => {
            let s = s.trim();
            DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).map_err(|_| {
                DeskError::Invalid(vec![FieldError::new(
                    "scheduled_at",
                    format!(
                        "scheduled_at must be an RFC 3339 time with an offset, like 2026-11-27T14:30:00+03:30, not “{s}”."
                    ),
                )])
            })
        }
        None => Err(DeskError::Invalid(vec![FieldError::new("scheduled_at", "Say when to publish the story.")])),
    }
}

/// Moves a story through the workflow (submit, return, publish, schedule,
/// unschedule, unpublish, republish, kill).
pub async fn act(state: &AppState, actor: &Actor, news_id: i64, req: ActRequest) -> Result<Changed, DeskError> {
    let (story, extras) = load(state, news_id).await?;
    let action = req.action;
    actor.require(action.permission())?;
    super::spike::refuse_spiked(&story, &extras)?;
    if action == Action::Submit && !actor.owns(&extras) && !actor.can(Permission::EditAnyStory) {
        return Err(DeskError::Forbidden("Reporters submit only their own drafts.".into()));
    }
    let own_drafts = if action == Action::Submit { OwnDrafts::Exempt } else { OwnDrafts::Scoped };
    check_scope(state, actor, (&story, &extras), None, own_drafts).await?;
    let to = action.apply(story.status).map_err(DeskError::conflict)?;
    let edition = edition_of(state, story.edition_id)?;
    let scheduled_at = if action == Action::Schedule {
        let at = parse_schedule(req.scheduled_at.as_ref(), &edition)?;
        if at <= Utc::now() {
            return Err(DeskError::Invalid(vec![FieldError::new(
                "scheduled_at",
                "The scheduled time is in the past; use Publish now instead.",
            )]));
        }
        Some(at)
    } else {
        None
    };
    let public_note = if action == Action::Kill {
        let note = text_of(req.public_note.as_deref().unwrap_or_default());
        if note.is_empty() {
            return Err(DeskError::Invalid(vec![FieldError::new(
                "public_note",
                "A killed story needs a public note saying why it was withdrawn.",
            )]));
        }
        let mut errors = Vec::new();
        check_text(&mut errors, "public_note", "public note", &note, MAX_NOTE);
        if !errors.is_empty() {
            return Err(DeskError::Invalid(errors));
        }
        Some(note)
    } else {
        None
    };
    let reason = if matches!(action, Action::Unpublish | Action::Kill) {
        let reason = text_of(req.reason.as_deref().unwrap_or_default());
        let mut errors = Vec::new();
        if reason.is_empty() {
            errors.push(FieldError::new(
                "reason",
                format!("Say why the story is taken down (“{}” needs a reason).", action.label()),
            ));
        }
        check_text(&mut errors, "reason", "reason", &reason, MAX_NOTE);
        if !errors.is_empty() {
            return Err(DeskError::Invalid(errors));
        }
        Some(reason)
    } else {
        None
    };
    let note = match (scheduled_at, &reason) {
        (Some(at), _) => format!("schedule for {}", dates::format_long(at, edition.time_zone)),
        (None, Some(r)) => format!("{action}: {r}"),
        (None, None) => action.as_str().to_string(),
    };
    let audit = actor.audit(&format!("story.{action}"), "story", news_id, note.clone());
    let transition = Transition {
        news_id,
        expected_version: req.version,
        from: story.status,
        to,
        scheduled_at,
        public_note,
        actor: actor.email.clone(),
        note,
    };
    match req.changes {
        None => state.store.transition(&transition, &audit).await?,
        Some(c) => {
            let (input, editorial_note) = validate_edit(state, actor, (&story, &extras), &edition, c).await?;
            let save_audit = actor.audit("story.edit", "story", news_id, &input.headline);
            let save = CheckedSave {
                input: &input,
                expected_version: req.version,
                editorial_note: &editorial_note,
                quiet: false,
                audit: &save_audit,
            };
            state.store.save_then(&save, Then::Transition(&transition), &audit).await?;
        }
    }
    if to == StoryStatus::Published {
        super::breaking::auto_raise(state, news_id, Utc::now()).await;
    }
    Ok(Changed::story(news_id, story.edition_id))
}

/// The checks of [`update`] for fields saved along with a workflow step or a
/// correction: the edit rule, the scope of the old and new section, the values.
async fn validate_edit(
    state: &AppState,
    actor: &Actor,
    (story, extras): (&Story, &StoryExtras),
    edition: &Edition,
    c: StoryChanges,
) -> Result<(StoryInput, String), DeskError> {
    actor.require(Permission::WriteStories)?;
    check_edit(actor, story, extras)?;
    let (input, note) = validate(state, actor, edition, Some((story, extras)), c).await?;
    check_scope(state, actor, (story, extras), section_of(&input), OwnDrafts::Exempt).await?;
    Ok((input, note))
}

/// Publishes a correction of a published story: the note readers see, and "Updated:".
pub async fn correct(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    version: i64,
    note: &str,
) -> Result<Changed, DeskError> {
    correct_with(state, actor, news_id, version, note, None).await
}

/// [`correct`], saving the fields on the user's screen (`changes`) first, in
/// the same transaction: the correction and the corrected text go out together.
pub async fn correct_with(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    version: i64,
    note: &str,
    changes: Option<StoryChanges>,
) -> Result<Changed, DeskError> {
    actor.require(Permission::Publish)?;
    let (story, extras) = load(state, news_id).await?;
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Scoped).await?;
    let note = text_of(note);
    if note.is_empty() {
        return Err(DeskError::Invalid(vec![FieldError::new("note", "Write the correction note readers will see.")]));
    }
    let mut errors = Vec::new();
    check_text(&mut errors, "note", "correction note", &note, MAX_NOTE);
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    let audit = actor.audit("story.correction", "story", news_id, &note);
    match changes {
        None => state.store.add_correction(news_id, version, &note, &audit).await?,
        Some(c) => {
            let edition = edition_of(state, story.edition_id)?;
            let (input, editorial_note) = validate_edit(state, actor, (&story, &extras), &edition, c).await?;
            let save_audit = actor.audit("story.edit", "story", news_id, &input.headline);
            // Quiet: the correction itself is the public update.
            let save = CheckedSave {
                input: &input,
                expected_version: version,
                editorial_note: &editorial_note,
                quiet: true,
                audit: &save_audit,
            };
            state.store.save_then(&save, Then::Correction(&note), &audit).await?;
        }
    }
    Ok(Changed::story(news_id, story.edition_id))
}

/// Links the story as a translation of News ID `of` (or unlinks it with
/// `None`); every story whose language list changes is in the answer.
pub async fn translate(state: &AppState, actor: &Actor, news_id: i64, of: Option<i64>) -> Result<Changed, DeskError> {
    actor.require(Permission::Publish)?;
    let (story, extras) = load(state, news_id).await?;
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Scoped).await?;
    // Linking changes the other story's page too (its language links): the actor must cover it as well.
    if let Some(of) = of {
        let (other, other_extras) = load(state, of).await.map_err(|e| match e {
            DeskError::NotFound(_) => {
                DeskError::Invalid(vec![FieldError::new("translation_of", format!("There is no story {of}."))])
            }
            e => e,
        })?;
        check_scope(state, actor, (&other, &other_extras), None, OwnDrafts::Scoped).await?;
    }
    let before = state.store.translations(news_id).await?;
    let detail = match of {
        Some(n) => format!("translation of {n}"),
        None => "no longer a translation".to_string(),
    };
    state.store.set_translation_of(news_id, of, &actor.audit("story.translation", "story", news_id, detail)).await?;
    let after = state.store.translations(news_id).await?;
    let mut changed = Changed::story(news_id, story.edition_id);
    for t in before.iter().chain(after.iter()) {
        changed.add(t.news_id, t.edition_id);
    }
    Ok(changed)
}

/// Saves revision `version` of the story as its newest version (`current`
/// is the version the user saw). The address never changes after the first publish.
pub async fn restore(
    state: &AppState,
    actor: &Actor,
    news_id: i64,
    version: i64,
    current: i64,
) -> Result<Changed, DeskError> {
    actor.require(Permission::WriteStories)?;
    let (story, extras) = load(state, news_id).await?;
    check_edit(actor, &story, &extras)?;
    check_scope(state, actor, (&story, &extras), None, OwnDrafts::Exempt).await?;
    let rev = state
        .store
        .revision(news_id, version)
        .await?
        .ok_or_else(|| DeskError::NotFound(format!("Story {news_id} has no version {version}.")))?;
    // The revision may be of another section: it is a move like any other.
    check_scope(state, actor, (&story, &extras), Some(rev.section_id), OwnDrafts::Exempt).await?;
    let input = StoryInput {
        news_id: Some(news_id),
        edition_id: story.edition_id,
        section: SectionRef::Id(rev.section_id),
        slug: Some(if story.published_at.is_some() { story.slug.clone() } else { rev.slug.clone() }),
        headline: rev.headline.clone(),
        lead: rev.lead.clone(),
        body_source: rev.body_source.clone(),
        body_format: BodyFormat::parse(&rev.body_format).unwrap_or(story.body_format),
        photo_id: story.photo.as_ref().map(|p| p.id),
        gallery_id: story.gallery_id,
        status: story.status,
        published_at: story.published_at,
        tags: story.tags.iter().map(|t| t.name.clone()).collect(),
        authors: story.authors.iter().map(|a| a.name.clone()).collect(),
        agency: None,
        actor: actor.email.clone(),
    };
    let audit = actor.audit("story.restore", "story", news_id, format!("version {version}"));
    state.store.save_story_checked(&input, Some(current), &extras.editorial_note, None, &audit, false).await?;
    Ok(Changed::story(news_id, story.edition_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folded_deduplicated_and_limited() {
        let mut errors = Vec::new();
        let names = [" Iran ", "  oil  exports", "iran", "", " "].map(String::from);
        assert_eq!(clean_names(&mut errors, "tags", "tag", &names), vec!["Iran".to_string(), "oil exports".into()]);
        assert!(errors.is_empty());
        clean_names(&mut errors, "tags", "tag", &["x".repeat(81)]);
        assert_eq!(errors.len(), 1);
        let many: Vec<String> = (0..31).map(|i| format!("t{i}")).collect();
        clean_names(&mut errors, "tags", "tag", &many);
        assert_eq!(errors.len(), 2);
    }
}
