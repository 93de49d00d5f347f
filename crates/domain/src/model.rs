//! The content model shared by storage, web and the binary.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// The public, stable numeric id of a story (`News ID: 84427`), also used in its URL.
pub type NewsId = i64;

/// Writing direction of an edition's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Left to right (English, ...).
    Ltr,
    /// Right to left (Persian, Arabic, ...).
    Rtl,
}

impl Direction {
    /// The value of the HTML `dir` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ltr => "ltr",
            Direction::Rtl => "rtl",
        }
    }

    /// Reads the stored form; anything but `rtl` is left to right.
    pub fn parse(s: &str) -> Direction {
        if s.eq_ignore_ascii_case("rtl") { Direction::Rtl } else { Direction::Ltr }
    }
}

/// One language edition of the site (the default one lives at `/`).
#[derive(Debug, Clone, Serialize)]
pub struct Edition {
    /// Database id.
    pub id: i64,
    /// BCP 47 language code, also the URL prefix of non-default editions.
    pub lang: String,
    /// Display name of the edition ("Tasnim News Agency", ...).
    pub name: String,
    /// Text direction of the edition's pages.
    pub direction: Direction,
    /// IANA time zone in which the edition shows times.
    #[serde(serialize_with = "serialize_tz")]
    pub time_zone: Tz,
    /// Whether this edition is served at `/`.
    pub is_default: bool,
    /// The calendar readers see dates in (machines always get ISO 8601).
    #[serde(serialize_with = "serialize_display")]
    pub calendar: crate::calendar::Calendar,
    /// The digits numbers and dates are written in.
    #[serde(serialize_with = "serialize_digits")]
    pub digits: crate::calendar::Digits,
}

impl Edition {
    /// The URL prefix of the edition's pages: empty for the default edition, `/fa` for the others.
    pub fn prefix(&self) -> String {
        if self.is_default { String::new() } else { format!("/{}", self.lang) }
    }

    /// `path` (`/`, `/news/1/x`, `/section/iran`) inside this edition: `/fa/`, `/fa/news/1/x`.
    pub fn url(&self, path: &str) -> String {
        if self.is_default {
            path.to_string()
        } else if path == "/" {
            format!("/{}/", self.lang)
        } else {
            format!("/{}{path}", self.lang)
        }
    }

    /// `15 November 2023 - 14:37` (or `۲۴ آبان ۱۴۰۲ - ۱۴:۳۷`) in the edition's zone, calendar and digits.
    pub fn format_long(&self, at: DateTime<Utc>) -> String {
        crate::calendar::format_local(
            at.with_timezone(&self.time_zone).naive_local(),
            self.calendar,
            &self.lang,
            self.digits,
        )
    }

    /// The calendar day of `at` in the edition's zone: `15 November 2023`, `۲۴ آبان ۱۴۰۲`.
    pub fn format_day(&self, at: DateTime<Utc>) -> String {
        let long = self.format_long(at);
        long.rsplit_once(" - ").map(|(day, _)| day.to_string()).unwrap_or(long)
    }

    /// The wall-clock time of `at` in the edition's zone and digits: `14:37`, `۱۴:۳۷`.
    pub fn format_time(&self, at: DateTime<Utc>) -> String {
        self.digits.apply(&crate::dates::format_time(at, self.time_zone))
    }

    /// Writes the ASCII digits of `text` (a News ID, a count) in the edition's digits.
    pub fn number(&self, text: &str) -> String {
        self.digits.apply(text)
    }
}

fn serialize_display<S: serde::Serializer, T: std::fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn serialize_digits<S: serde::Serializer>(v: &crate::calendar::Digits, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(digits_name(*v))
}

/// The stored and configured name of a digit style: `latin`, `persian` or `arabic`.
pub fn digits_name(d: crate::calendar::Digits) -> &'static str {
    match d {
        crate::calendar::Digits::Latin => "latin",
        crate::calendar::Digits::Persian => "persian",
        crate::calendar::Digits::ArabicIndic => "arabic",
    }
}

fn serialize_tz<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// A node of an edition's section tree.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Section {
    /// Database id.
    pub id: i64,
    /// Edition the section belongs to.
    pub edition_id: i64,
    /// Parent section, `None` for a top-level section.
    pub parent_id: Option<i64>,
    /// URL segment, unique among siblings.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Slash-joined slugs from the top level down ("iran/defense"); the section's URL path.
    pub path: String,
    /// Order among siblings (navigation order).
    pub position: i64,
}

/// Where a story stands in the newsroom workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoryStatus {
    /// Being written; not public.
    Draft,
    /// Sent for review; not public.
    Submitted,
    /// Approved and waiting for its publish time; not public.
    Scheduled,
    /// Public.
    Published,
    /// Taken down; its URL answers 410 Gone.
    Unpublished,
    /// Withdrawn for legal reasons; its URL answers 410 Gone with a public note.
    Killed,
}

impl StoryStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            StoryStatus::Draft => "draft",
            StoryStatus::Submitted => "submitted",
            StoryStatus::Scheduled => "scheduled",
            StoryStatus::Published => "published",
            StoryStatus::Unpublished => "unpublished",
            StoryStatus::Killed => "killed",
        }
    }

    /// Reads the stored form.
    pub fn parse(s: &str) -> Option<StoryStatus> {
        Some(match s {
            "draft" => StoryStatus::Draft,
            "submitted" => StoryStatus::Submitted,
            "scheduled" => StoryStatus::Scheduled,
            "published" => StoryStatus::Published,
            "unpublished" => StoryStatus::Unpublished,
            "killed" => StoryStatus::Killed,
            _ => return None,
        })
    }

    /// Whether a story in this state was public once and now answers 410 Gone.
    pub fn is_gone(self) -> bool {
        matches!(self, StoryStatus::Unpublished | StoryStatus::Killed)
    }
}

/// How a story body's source is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    /// Plain paragraphs separated by blank lines (imported pages).
    Text,
    /// CommonMark.
    Markdown,
    /// HTML (sanitized on the way in).
    Html,
}

impl BodyFormat {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyFormat::Text => "text",
            BodyFormat::Markdown => "markdown",
            BodyFormat::Html => "html",
        }
    }

    /// Reads the stored form.
    pub fn parse(s: &str) -> Option<BodyFormat> {
        Some(match s {
            "text" => BodyFormat::Text,
            "markdown" => BodyFormat::Markdown,
            "html" => BodyFormat::Html,
            _ => return None,
        })
    }

    /// Renders a body source in this format to sanitized HTML, without what
    /// its blocks name (embeds show their URL as title, photos and galleries a
    /// comment): saves render with [`crate::body::render`] and a context.
    pub fn render(self, source: &str) -> String {
        crate::body::render(self, source, &crate::body::Context::default())
    }
}

/// A stored image (the lead photo of stories).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Photo {
    /// Database id.
    pub id: i64,
    /// Hex SHA-256 of the original bytes; the photo's content address.
    pub sha256: String,
    /// Sniffed media type (`image/jpeg`, `image/png`, `image/webp`).
    pub mime: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// Caption shown under the photo (also its alt text when set).
    pub caption: String,
    /// Credit line ("Photo: ...").
    pub credit: String,
    /// Headline, creator, copyright notice, source, date created, keywords, usage terms.
    pub details: crate::photo_meta::PhotoDetails,
}

impl Photo {
    /// File extension matching the media type.
    pub fn extension(&self) -> &'static str {
        match self.mime.as_str() {
            "image/png" => "png",
            "image/webp" => "webp",
            _ => "jpg",
        }
    }

    /// Path of the original under `/media/`, content-addressed so it can be cached forever.
    pub fn path(&self) -> String {
        format!("/media/{}.{}", self.sha256, self.extension())
    }
}

/// A tag (keyword) of an edition.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Tag {
    /// Database id.
    pub id: i64,
    /// URL segment.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A byline author.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Author {
    /// Database id.
    pub id: i64,
    /// URL segment.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A story with everything a page needs to show it.
#[derive(Debug, Clone, Serialize)]
pub struct Story {
    /// Public id.
    pub news_id: NewsId,
    /// Edition of the story.
    pub edition_id: i64,
    /// Section of the story.
    pub section_id: i64,
    /// URL slug (`/news/{id}/{slug}`).
    pub slug: String,
    /// Headline.
    pub headline: String,
    /// Lead (standfirst), shown apart from the body.
    pub lead: String,
    /// Body as sanitized HTML, ready to show.
    pub body_html: String,
    /// Body as written.
    pub body_source: String,
    /// Format of `body_source`.
    pub body_format: BodyFormat,
    /// Workflow state.
    pub status: StoryStatus,
    /// First publish time (UTC), once published.
    pub published_at: Option<DateTime<Utc>>,
    /// Time of the last public update after publishing (UTC), if any.
    pub updated_at: Option<DateTime<Utc>>,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
    /// Time of the last change of any kind (UTC); drives `Last-Modified`.
    pub modified_at: DateTime<Utc>,
    /// Optimistic-locking version, incremented on each save.
    pub version: i64,
    /// Lead photo, if any.
    pub photo: Option<Photo>,
    /// Lead gallery, if any (shown in the lead photo's place on the page;
    /// the photo stays the story's picture in lists and previews).
    pub gallery_id: Option<i64>,
    /// Tags, in order.
    pub tags: Vec<Tag>,
    /// Byline authors, in order.
    pub authors: Vec<Author>,
    /// When the story became a live blog (its coverage starts then, or at
    /// its first publish if later); `None`: not a live blog.
    pub live_since: Option<DateTime<Utc>>,
    /// When its live coverage ended, if it has.
    pub live_until: Option<DateTime<Utc>>,
    /// Agency metadata: urgency, slugline, dateline place, genres, subjects, note to subscribers.
    pub agency: crate::agency::Agency,
}

impl Story {
    /// Whether the story is a live blog (covered live now, or once).
    pub fn is_live_blog(&self) -> bool {
        self.live_since.is_some()
    }

    /// Whether the story is covered live now: a live blog whose coverage has not ended.
    pub fn is_live_now(&self) -> bool {
        self.live_since.is_some() && self.live_until.is_none()
    }

    /// Canonical path of the story page.
    pub fn path(&self) -> String {
        story_path(self.news_id, &self.slug)
    }

    /// The time the story was last changed in public: the update if any, else the publish time.
    pub fn public_modified(&self) -> Option<DateTime<Utc>> {
        self.updated_at.or(self.published_at)
    }
}

/// Canonical path of a story page.
pub fn story_path(news_id: NewsId, slug: &str) -> String {
    format!("/news/{news_id}/{slug}")
}

/// A story in a list (home, section, tag pages): what a teaser shows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StorySummary {
    /// Public id.
    pub news_id: NewsId,
    /// URL slug.
    pub slug: String,
    /// Headline.
    pub headline: String,
    /// Lead.
    pub lead: String,
    /// Section of the story.
    pub section_id: i64,
    /// First publish time (UTC).
    pub published_at: DateTime<Utc>,
    /// Last public update (UTC), if any.
    pub updated_at: Option<DateTime<Utc>>,
    /// Lead photo, if any.
    pub photo: Option<Photo>,
}

impl StorySummary {
    /// Canonical path of the story page.
    pub fn path(&self) -> String {
        story_path(self.news_id, &self.slug)
    }
}

/// A link to a story in a list of headlines (the stories before a story in
/// its section, under the story's page): what such a link shows, no more.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StoryLink {
    /// Public id.
    pub news_id: NewsId,
    /// URL slug.
    pub slug: String,
    /// Headline.
    pub headline: String,
    /// First publish time (UTC).
    pub published_at: DateTime<Utc>,
}

impl StoryLink {
    /// Canonical path of the story page.
    pub fn path(&self) -> String {
        story_path(self.news_id, &self.slug)
    }
}
