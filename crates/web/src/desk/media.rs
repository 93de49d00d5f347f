//! Photo commands: an upload, a new caption, credit and details.

use newsdesk_domain::photo_meta::{self, Embedded, PhotoDetails};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{Photo, StoryStatus};
use newsdesk_storage::{NewPhoto, NewRendition};
use serde::Deserialize;

use super::{Actor, Changed, DeskError, FieldError};
use crate::AppState;

/// Longest caption, in characters.
pub const MAX_CAPTION: usize = 1_000;
/// Longest credit, in characters.
pub const MAX_CREDIT: usize = 200;
/// Longest photo headline, in characters.
pub const MAX_PHOTO_HEADLINE: usize = 300;
/// Longest creator (byline), in characters.
pub const MAX_CREATOR: usize = 200;
/// Longest copyright notice, in characters.
pub const MAX_COPYRIGHT: usize = 300;
/// Longest source, in characters.
pub const MAX_SOURCE: usize = 200;
/// Longest usage terms, in characters.
pub const MAX_USAGE_TERMS: usize = 1_000;

/// A photo's caption, credit and details, cleaned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhotoText {
    /// Caption (also the alt text).
    pub caption: String,
    /// Credit line.
    pub credit: String,
    /// Headline, creator, copyright notice, source, date created, keywords, usage terms.
    pub details: PhotoDetails,
}

impl PhotoText {
    /// The text of a stored photo.
    pub fn of(photo: &Photo) -> PhotoText {
        PhotoText { caption: photo.caption.clone(), credit: photo.credit.clone(), details: photo.details.clone() }
    }

    /// What a file says about itself, each field cut to the library's limit.
    pub fn from_file(e: &Embedded) -> PhotoText {
        let d = &e.details;
        let cut = photo_meta::one_line;
        PhotoText {
            caption: cut(&e.caption, MAX_CAPTION),
            credit: cut(&e.credit, MAX_CREDIT),
            details: PhotoDetails {
                headline: cut(&d.headline, MAX_PHOTO_HEADLINE),
                creator: cut(&d.creator, MAX_CREATOR),
                copyright: cut(&d.copyright, MAX_COPYRIGHT),
                source: cut(&d.source, MAX_SOURCE),
                date_created: photo_meta::normalize_date(&d.date_created).unwrap_or_default(),
                keywords: photo_meta::clean_keywords(d.keywords.iter().map(String::as_str)),
                usage_terms: cut(&d.usage_terms, MAX_USAGE_TERMS),
            },
        }
    }

    /// Each empty field of `self` (no keywords: the keywords) taken from `other`:
    /// what the uploader typed wins over what the file says.
    pub fn or(self, other: &PhotoText) -> PhotoText {
        fn pick(mine: String, theirs: &str) -> String {
            if mine.is_empty() { theirs.to_string() } else { mine }
        }
        let (d, o) = (self.details, &other.details);
        PhotoText {
            caption: pick(self.caption, &other.caption),
            credit: pick(self.credit, &other.credit),
            details: PhotoDetails {
                headline: pick(d.headline, &o.headline),
                creator: pick(d.creator, &o.creator),
                copyright: pick(d.copyright, &o.copyright),
                source: pick(d.source, &o.source),
                date_created: pick(d.date_created, &o.date_created),
                keywords: if d.keywords.is_empty() { o.keywords.clone() } else { d.keywords },
                usage_terms: pick(d.usage_terms, &o.usage_terms),
            },
        }
    }
}

/// A photo's text as a form sends it; a field the form does not send is `None`
/// (on an edit it keeps its stored value). Keywords are one text, separated by
/// commas (`,` or `،`) or semicolons.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PhotoForm {
    /// Caption.
    pub caption: Option<String>,
    /// Credit line.
    pub credit: Option<String>,
    /// Headline.
    pub headline: Option<String>,
    /// Creator (byline).
    pub creator: Option<String>,
    /// Copyright notice.
    pub copyright: Option<String>,
    /// Source.
    pub source: Option<String>,
    /// Date created (ISO 8601: a year, a date, or a date and time).
    pub date_created: Option<String>,
    /// Keywords, comma-separated.
    pub keywords: Option<String>,
    /// Usage terms.
    pub usage_terms: Option<String>,
}

impl PhotoForm {
    /// The form's fields cleaned and checked, the fields it did not send taken
    /// from `base`; every problem, by field.
    pub fn clean(&self, base: &PhotoText) -> Result<PhotoText, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut text = |field: &'static str, value: &Option<String>, max: usize, stored: &str| match value {
            None => stored.to_string(),
            Some(v) => photo_text(field, v, max).unwrap_or_else(|e| {
                errors.push(e);
                String::new()
            }),
        };
        let b = &base.details;
        let caption = text("caption", &self.caption, MAX_CAPTION, &base.caption);
        let credit = text("credit", &self.credit, MAX_CREDIT, &base.credit);
        let headline = text("headline", &self.headline, MAX_PHOTO_HEADLINE, &b.headline);
        let creator = text("creator", &self.creator, MAX_CREATOR, &b.creator);
        let copyright = text("copyright", &self.copyright, MAX_COPYRIGHT, &b.copyright);
        let source = text("source", &self.source, MAX_SOURCE, &b.source);
        let usage_terms = text("usage terms", &self.usage_terms, MAX_USAGE_TERMS, &b.usage_terms);
        let date_created = match self.date_created.as_deref().map(str::trim) {
            None => b.date_created.clone(),
            Some("") => String::new(),
            Some(d) => photo_meta::normalize_date(d).unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "date_created",
                    format!(
                        "The date created “{d}” is not a date: write it like 2024-07-22, or 2024-07-22T06:15+03:30 \
                         with the time, or only the year (2024) or month (2024-07)."
                    ),
                ));
                String::new()
            }),
        };
        let keywords = match &self.keywords {
            None => b.keywords.clone(),
            Some(typed) => keywords(typed).unwrap_or_else(|e| {
                errors.push(e);
                Vec::new()
            }),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PhotoText {
            caption,
            credit,
            details: PhotoDetails { headline, creator, copyright, source, date_created, keywords, usage_terms },
        })
    }
}

/// Typed keywords, checked: at most [`photo_meta::MAX_KEYWORDS`] of at most
/// [`photo_meta::MAX_KEYWORD`] characters, without control characters.
fn keywords(typed: &str) -> Result<Vec<String>, FieldError> {
    let mut count = 0;
    for word in typed.split([',', '،', ';', '\n']).map(str::trim).filter(|w| !w.is_empty()) {
        count += 1;
        photo_text("keywords", word, photo_meta::MAX_KEYWORD).map_err(|_| {
            FieldError::new(
                "keywords",
                format!(
                    "The keyword “{}” is longer than {} characters or holds a control character.",
                    word.chars().take(40).collect::<String>(),
                    photo_meta::MAX_KEYWORD
                ),
            )
        })?;
    }
    if count > photo_meta::MAX_KEYWORDS {
        return Err(FieldError::new(
            "keywords",
            format!("There are {count} keywords; a photo has at most {}.", photo_meta::MAX_KEYWORDS),
        ));
    }
    Ok(photo_meta::split_keywords(typed))
}

/// Cleans a caption or credit: one line, trimmed, within `max` characters,
/// without control characters ([`newsdesk_domain::text`]).
pub fn photo_text(field: &'static str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.chars().count() > max {
        return Err(FieldError::new(field, format!("The {field} is longer than {max} characters.")));
    }
    if let Some(problem) = newsdesk_domain::text::check(field, &v) {
        return Err(FieldError::new(field, problem));
    }
    Ok(v)
}

/// Stores an upload (decoded, cleaned and rendered by [`crate::media`]) with
/// its renditions; the same bytes again give the same photo.
pub async fn add_photo(
    state: &AppState,
    actor: &Actor,
    photo: &NewPhoto,
    renditions: &[NewRendition],
) -> Result<Photo, DeskError> {
    actor.require(Permission::UploadMedia)?;
    // An empty target id is the photo's id, filled in by the store.
    let audit = actor.audit("media.upload", "photo", "", &photo.caption);
    Ok(state.store.add_photo(photo, renditions, &audit).await?)
}

/// Who may change the caption and credit of photo `id`: anyone who uploads
/// while only drafts (or killed stories) show it; once a story that readers
/// see, or will see, shows it, only who may edit that story: an editor whose
/// sections cover it, or an admin.
pub async fn check_photo_text(state: &AppState, actor: &Actor, id: i64) -> Result<(), DeskError> {
    for story in state.store.photo_uses(id).await? {
        if matches!(story.status, StoryStatus::Draft | StoryStatus::Killed) {
            continue;
        }
        if !actor.can(Permission::EditAnyStory) || !actor.covers(state, story.section_id).await? {
            return Err(DeskError::Forbidden(format!(
                "Photo {id} is the lead photo of story {} ({}); only those who may edit that story can change \
                 the photo's caption and credit. Ask an editor of its section.",
                story.news_id,
                story.status.as_str()
            )));
        }
    }
    Ok(())
}

/// Gives photo `id` a new caption, credit and details: the fields `form`
/// sends replace the stored ones ([`check_photo_text`] decides who may);
/// every story showing it changes.
pub async fn edit_photo(
    state: &AppState,
    actor: &Actor,
    id: i64,
    form: &PhotoForm,
) -> Result<(Photo, Changed), DeskError> {
    actor.require(Permission::UploadMedia)?;
    let stored = state.store.photo(id).await?.ok_or_else(|| DeskError::NotFound(format!("There is no photo {id}.")))?;
    let text = form.clean(&PhotoText::of(&stored)).map_err(DeskError::Invalid)?;
    set_photo_text(state, actor, id, &text).await
}

/// Gives photo `id` the text `text`, already cleaned ([`check_photo_text`]
/// decides who may); every story showing it changes.
pub async fn set_photo_text(
    state: &AppState,
    actor: &Actor,
    id: i64,
    text: &PhotoText,
) -> Result<(Photo, Changed), DeskError> {
    actor.require(Permission::UploadMedia)?;
    check_photo_text(state, actor, id).await?;
    let audit = actor.audit("media.edit", "photo", id, &text.caption);
    let photo = state
        .store
        .update_photo_text(id, &text.caption, &text.credit, &text.details, &audit)
        .await?
        .ok_or_else(|| DeskError::NotFound(format!("There is no photo {id}.")))?;
    let stories = state.store.stories_with_photo(id).await?;
    Ok((photo, Changed { stories }))
}
