//! Editions, sections, stories, tags, authors and photos.

use std::collections::HashMap;

use crate::sql::{like_escape, placeholders, published_before};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use newsdesk_domain::agency::Agency;
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::slug::slugify;
use newsdesk_domain::{
    Author, BodyFormat, Direction, Edition, NewsId, Photo, Section, Story, StoryLink, StoryStatus, StorySummary, Tag,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Result, Store, StoreError};

/// A new edition (or the settings of an existing one, matched by language).
#[derive(Debug, Clone)]
pub struct NewEdition {
    /// Language code, also the URL prefix of non-default editions.
    pub lang: String,
    /// Display name.
    pub name: String,
    /// Text direction.
    pub direction: Direction,
    /// Time zone in which times are shown.
    pub time_zone: Tz,
    /// Whether it is served at `/`.
    pub is_default: bool,
}

/// A story as written by an import or an editor, before it gets a News ID.
#[derive(Debug, Clone)]
pub struct StoryInput {
    /// Keep this News ID (imports); `None` takes the next in sequence.
    pub news_id: Option<NewsId>,
    /// Edition of the story.
    pub edition_id: i64,
    /// Section of the story.
    pub section: SectionRef,
    /// Slug; `None` derives it from the headline.
    pub slug: Option<String>,
    /// Headline.
    pub headline: String,
    /// Lead.
    pub lead: String,
    /// Body as written.
    pub body_source: String,
    /// Format of the body.
    pub body_format: BodyFormat,
    /// Lead photo.
    pub photo_id: Option<i64>,
    /// Lead gallery (shown in the lead photo's place on the story page).
    pub gallery_id: Option<i64>,
    /// Workflow state.
    pub status: StoryStatus,
    /// First publish time.
    pub published_at: Option<DateTime<Utc>>,
    /// Tag names, in order.
    pub tags: Vec<String>,
    /// Byline names, in order.
    pub authors: Vec<String>,
    /// Agency metadata (urgency, slugline, ...); `None` keeps the story's (a new story: the defaults).
    pub agency: Option<Agency>,
    /// Who saves (user email, `import`, `demo`), recorded in the revision.
    pub actor: String,
}

impl StoryInput {
    /// The published story a saved page describes, in `edition` (times in the
    /// page are in the edition's zone). No photo, tags or byline: the format has none.
    pub fn from_saved_page(page: &newsdesk_domain::saved_page::SavedPage, edition: &Edition) -> Result<StoryInput> {
        let published = newsdesk_domain::dates::local_to_utc(page.published_local, edition.time_zone)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        Ok(StoryInput {
            news_id: Some(page.news_id),
            edition_id: edition.id,
            section: SectionRef::Names(page.sections.clone()),
            slug: None,
            headline: page.headline.clone(),
            lead: page.lead.clone(),
            body_source: page.paragraphs.join("\n\n"),
            body_format: BodyFormat::Text,
            photo_id: None,
            gallery_id: None,
            status: StoryStatus::Published,
            published_at: Some(published),
            tags: Vec::new(),
            authors: Vec::new(),
            agency: None,
            actor: "import".into(),
        })
    }
}

/// How a story names its section.
#[derive(Debug, Clone)]
pub enum SectionRef {
    /// An existing section.
    Id(i64),
    /// Section names from the top down; missing ones are created in the same transaction.
    Names(Vec<String>),
}

/// What a save did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    /// A new story was stored.
    Created,
    /// An existing story was changed (a new revision).
    Updated,
    /// The story already had exactly this content; nothing was written.
    Unchanged,
}

/// Position in a newest-first list, for keyset paging: the site's story
/// lists, the JSON API and the ninjs wire all page with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Sort time (unix seconds) of the last item shown: its publish time in
    /// story lists, its version time on the wire.
    pub published_at: i64,
    /// Its News ID.
    pub news_id: NewsId,
}

impl Cursor {
    /// The cursor after `s`.
    pub fn after(s: &StorySummary) -> Cursor {
        Cursor { published_at: s.published_at.timestamp(), news_id: s.news_id }
    }

    /// URL form of the site's lists: `1700000000-84427`.
    pub fn encode(&self) -> String {
        format!("{}-{}", self.published_at, self.news_id)
    }

    /// Opaque form for the APIs (their documents promise lowercase hex): the
    /// hex of the URL form.
    pub fn encode_opaque(&self) -> String {
        hex::encode(self.encode())
    }

    /// Reads any form a cursor was ever handed out in, so old links keep
    /// working: the URL form, its hex (the API), and the hex of
    /// `v1:{time}:{id}` (the wire before both APIs shared one form).
    pub fn decode(s: &str) -> Option<Cursor> {
        if let Some(c) = Cursor::decode_plain(s) {
            return Some(c);
        }
        // The plain form has a `-`, so a string is one form or the other, never both.
        let raw = String::from_utf8(hex::decode(s).ok()?).ok()?;
        match raw.strip_prefix("v1:") {
            Some(rest) => {
                let (a, b) = rest.split_once(':')?;
                Cursor::new_checked(a.parse().ok()?, b)
            }
            None => Cursor::decode_plain(&raw),
        }
    }

    fn decode_plain(s: &str) -> Option<Cursor> {
        // A time before 1970 is negative (`-86400-84427`): the separator is
        // the first `-` after the time's first character.
        let at = s.get(1..)?.find('-')? + 1;
        Cursor::new_checked(s[..at].parse().ok()?, &s[at + 1..])
    }

    /// News IDs are positive; anything else was not handed out by us.
    fn new_checked(published_at: i64, news_id: &str) -> Option<Cursor> {
        Some(Cursor { published_at, news_id: news_id.parse().ok().filter(|n: &i64| *n > 0)? })
    }
}

/// Which published stories a list shows.
#[derive(Debug, Clone)]
pub enum StoryFilter {
    /// All of an edition.
    Edition(i64),
    /// A section and its descendants (by section path).
    Section {
        /// Edition of the section.
        edition_id: i64,
        /// Path of the section.
        path: String,
    },
    /// Stories with a tag.
    Tag(i64),
    /// Stories by an author, in an edition.
    Author {
        /// Edition.
        edition_id: i64,
        /// Author.
        author_id: i64,
    },
    /// Stories published in `[from, to)` in an edition.
    Between {
        /// Edition.
        edition_id: i64,
        /// Start (inclusive).
        from: DateTime<Utc>,
        /// End (exclusive).
        to: DateTime<Utc>,
    },
}

pub(crate) const SUMMARY_COLUMNS: &str = concat!(
    "s.news_id, s.slug, s.headline, s.lead, s.section_id, s.published_at, s.updated_at, \
     p.id AS photo_id, p.sha256, p.mime, p.width, p.height, p.caption, p.credit, ",
    crate::media::photo_detail_columns!("p."),
);

pub(crate) fn now() -> i64 {
    Utc::now().timestamp()
}

fn edition_from_row(r: &AnyRow) -> Result<Edition> {
    let tz_name: String = r.try_get("time_zone")?;
    Ok(Edition {
        id: r.try_get("id")?,
        lang: r.try_get("lang")?,
        name: r.try_get("name")?,
        direction: Direction::parse(&r.try_get::<String, _>("direction")?),
        time_zone: tz_name
            .parse()
            .map_err(|_| StoreError::Invalid(format!("edition has unknown time zone {tz_name}")))?,
        is_default: r.try_get::<i64, _>("is_default")? != 0,
        calendar: r
            .try_get::<String, _>("calendar")?
            .parse()
            .map_err(|e| StoreError::Invalid(format!("edition calendar: {e}")))?,
        digits: r
            .try_get::<String, _>("digits")?
            .parse()
            .map_err(|e| StoreError::Invalid(format!("edition digits: {e}")))?,
    })
}

pub(crate) fn section_from_row(r: &AnyRow) -> Result<Section> {
    Ok(Section {
        id: r.try_get("id")?,
        edition_id: r.try_get("edition_id")?,
        parent_id: r.try_get("parent_id")?,
        slug: r.try_get("slug")?,
        name: r.try_get("name")?,
        path: r.try_get("path")?,
        position: r.try_get("position")?,
    })
}

fn photo_from_row(r: &AnyRow) -> Result<Option<Photo>> {
    let Some(id) = r.try_get::<Option<i64>, _>("photo_id")? else { return Ok(None) };
    Ok(Some(Photo {
        id,
        sha256: r.try_get("sha256")?,
        mime: r.try_get("mime")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        caption: r.try_get("caption")?,
        credit: r.try_get("credit")?,
        details: crate::media::details_of(r)?,
    }))
}

pub(crate) fn summary_from_row(r: &AnyRow) -> Result<StorySummary> {
    Ok(StorySummary {
        news_id: r.try_get("news_id")?,
        slug: r.try_get("slug")?,
        headline: r.try_get("headline")?,
        lead: r.try_get("lead")?,
        section_id: r.try_get("section_id")?,
        published_at: from_unix(r.try_get::<Option<i64>, _>("published_at")?.unwrap_or_default()),
        updated_at: r.try_get::<Option<i64>, _>("updated_at")?.map(from_unix),
        photo: photo_from_row(r)?,
    })
}

impl Store {
    // ----- editions -----

    /// Creates the edition, or updates the one with the same language.
    pub async fn upsert_edition(&self, e: &NewEdition) -> Result<Edition> {
        let mut tx = self.begin_write().await?;
        if e.is_default {
            sqlx::query("UPDATE editions SET is_default = 0 WHERE lang <> $1").bind(&e.lang).execute(&mut *tx).await?;
        }
        let row = sqlx::query(
            "INSERT INTO editions (lang, name, direction, time_zone, is_default, created_at, calendar, digits) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (lang) DO UPDATE SET name = excluded.name, direction = excluded.direction, \
             time_zone = excluded.time_zone, is_default = excluded.is_default \
             RETURNING id, lang, name, direction, time_zone, is_default, calendar, digits",
        )
        .bind(&e.lang)
        .bind(&e.name)
        .bind(e.direction.as_str())
        .bind(e.time_zone.name())
        .bind(i64::from(e.is_default))
        .bind(now())
        // A new edition shows the calendar and digits of its language until set otherwise.
        .bind(newsdesk_domain::calendar::Calendar::for_lang(&e.lang).as_str())
        .bind(newsdesk_domain::digits_name(newsdesk_domain::calendar::Digits::for_lang(&e.lang)))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        edition_from_row(&row)
    }

    /// Sets the calendar and digits an edition shows dates and numbers in.
    pub async fn set_edition_locale(
        &self,
        edition_id: i64,
        calendar: newsdesk_domain::calendar::Calendar,
        digits: newsdesk_domain::calendar::Digits,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE editions SET calendar = $1, digits = $2 WHERE id = $3")
            .bind(calendar.as_str())
            .bind(newsdesk_domain::digits_name(digits))
            .bind(edition_id)
            .execute(&mut *tx)
            .await?;
        // Every page of the edition shows dates: every node drops them.
        record_change(&mut tx, crate::SITE_CHANGE, edition_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets an edition's calendar, digits and comment moderation (`None`: the
    /// site's default) with the audit entry `audit`, in one transaction;
    /// `false` when there is no such edition (nothing is written).
    pub async fn update_edition_settings(
        &self,
        edition_id: i64,
        calendar: newsdesk_domain::calendar::Calendar,
        digits: newsdesk_domain::calendar::Digits,
        moderation: Option<newsdesk_domain::comments::ModerationMode>,
        audit: &crate::AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE editions SET calendar = $1, digits = $2, comment_moderation = $3 WHERE id = $4")
            .bind(calendar.as_str())
            .bind(newsdesk_domain::digits_name(digits))
            .bind(moderation.map(newsdesk_domain::comments::ModerationMode::as_str))
            .bind(edition_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        crate::accounts::audit_in(&mut tx, audit).await?;
        // Every page of the edition shows dates and comment forms: every node drops them.
        record_change(&mut tx, crate::SITE_CHANGE, edition_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// All editions, the default first.
    pub async fn editions(&self) -> Result<Vec<Edition>> {
        let rows = sqlx::query(
            "SELECT id, lang, name, direction, time_zone, is_default, calendar, digits FROM editions ORDER BY is_default DESC, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(edition_from_row).collect()
    }

    /// The edition for a language code.
    pub async fn edition_by_lang(&self, lang: &str) -> Result<Option<Edition>> {
        let row = sqlx::query(
            "SELECT id, lang, name, direction, time_zone, is_default, calendar, digits FROM editions WHERE lang = $1",
        )
        .bind(lang)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(edition_from_row).transpose()
    }

    /// The edition served at `/`.
    pub async fn default_edition(&self) -> Result<Option<Edition>> {
        Ok(self.editions().await?.into_iter().next())
    }

    /// The time of the edition's newest publish or public update (two index lookups).
    pub async fn edition_updated_at(&self, edition_id: i64) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query(
            "SELECT (SELECT MAX(published_at) FROM stories WHERE edition_id = $1 AND status = 'published') AS p, \
             (SELECT MAX(updated_at) FROM stories WHERE edition_id = $1 AND status = 'published') AS u",
        )
        .bind(edition_id)
        .fetch_one(self.pool())
        .await?;
        let p = row.try_get::<Option<i64>, _>("p")?;
        let u = row.try_get::<Option<i64>, _>("u")?;
        Ok(p.max(u).map(from_unix))
    }

    // ----- sections -----

    /// All sections of an edition, in tree order (parents before children, by position).
    pub async fn sections(&self, edition_id: i64) -> Result<Vec<Section>> {
        self.reads().await?.sections(edition_id).await
    }

    /// Finds or creates the sections named top-down in `names`; returns the innermost.
    pub async fn ensure_section_path(&self, edition_id: i64, names: &[String]) -> Result<Section> {
        let mut tx = self.begin_write().await?;
        let section = ensure_section_path(&mut tx, edition_id, names).await?;
        tx.commit().await?;
        Ok(section)
    }

    // ----- stories -----

    /// Stores a story: creates it, or (same News ID) updates it as a new revision.
    /// Tags and authors are created as needed. A save with nothing changed writes nothing.
    pub async fn save_story(&self, input: &StoryInput) -> Result<(NewsId, SaveOutcome)> {
        for attempt in 0..5 {
            match self.try_save_story(input).await {
                Err(StoreError::Db(e))
                    if attempt < 4 && input.news_id.is_none() && StoreError::is_unique_violation(&e) =>
                {
                    // Two writers took the same next News ID; the loser tries again.
                    continue;
                }
                other => return other,
            }
        }
        Err(StoreError::Conflict { field: "news_id" })
    }

    async fn try_save_story(&self, input: &StoryInput) -> Result<(NewsId, SaveOutcome)> {
        if input.headline.trim().is_empty() {
            return Err(StoreError::Invalid("headline must not be empty".into()));
        }
        let mut tx = self.begin_write().await?;
        let result = save_story_in(&mut tx, input).await;
        // Roll back explicitly: a dropped transaction is only rolled back when
        // its connection is next used, and holds its locks until then.
        match result {
            Ok((_, SaveOutcome::Unchanged)) | Err(_) => tx.rollback().await?,
            Ok(_) => tx.commit().await?,
        }
        result
    }

    /// Sets a story's workflow state (publish, unpublish, kill); `updated_at` marks a public update.
    pub async fn set_story_status(&self, news_id: NewsId, status: StoryStatus) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let t = now();
        let row = sqlx::query(
            "UPDATE stories SET status = $2, published_at = CASE WHEN $2 = 'published' AND published_at IS NULL THEN $3 ELSE published_at END, \
             modified_at = $3, version = version + 1 WHERE news_id = $1 RETURNING edition_id",
        )
        .bind(news_id)
        .bind(status.as_str())
        .bind(t)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        record_change(&mut tx, news_id, row.try_get("edition_id")?).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Marks a published story as publicly updated at `at` (a correction).
    pub async fn mark_updated(&self, news_id: NewsId, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let row =
            sqlx::query("UPDATE stories SET updated_at = $2, modified_at = $3 WHERE news_id = $1 RETURNING edition_id")
                .bind(news_id)
                .bind(at.timestamp())
                .bind(now())
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(row) = row {
            record_change(&mut tx, news_id, row.try_get("edition_id")?).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One story with its photo, tags and authors, in any state.
    pub async fn story(&self, news_id: NewsId) -> Result<Option<Story>> {
        Ok(self.stories(&[news_id]).await?.pop())
    }

    /// The stories `ids` (in that order; unknown ones left out), each with its
    /// photo, tags and authors, in two queries whatever their number (the
    /// stories, then their tags and authors together): the feeds show fifty
    /// full stories, and fifty round trips of three queries each made a feed
    /// slow to render on a busy database; every story page not yet cached
    /// reads one story this way.
    pub async fn stories(&self, ids: &[NewsId]) -> Result<Vec<Story>> {
        // None asked, no connection taken (nor failed for during an outage).
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.reads().await?.stories(ids).await
    }

    /// Published stories matching `filter`, newest first, after `cursor`.
    pub async fn published(
        &self,
        filter: &StoryFilter,
        cursor: Option<Cursor>,
        limit: i64,
    ) -> Result<Vec<StorySummary>> {
        let (join, cond) = match filter {
            StoryFilter::Edition(_) => ("", "s.edition_id = $1"),
            StoryFilter::Section { .. } => (
                "",
                "s.edition_id = $1 AND s.section_id IN (SELECT id FROM sections WHERE edition_id = $1 AND (path = $2 OR path LIKE $3 ESCAPE '\\'))",
            ),
            StoryFilter::Tag(_) => ("JOIN story_tags st ON st.news_id = s.news_id", "st.tag_id = $1"),
            StoryFilter::Author { .. } => {
                ("JOIN story_authors sa ON sa.news_id = s.news_id", "s.edition_id = $1 AND sa.author_id = $2")
            }
            StoryFilter::Between { .. } => ("", "s.edition_id = $1 AND s.published_at >= $2 AND s.published_at < $3"),
        };
        let n = match filter {
            StoryFilter::Edition(_) | StoryFilter::Tag(_) => 1,
            StoryFilter::Author { .. } => 2,
            StoryFilter::Section { .. } | StoryFilter::Between { .. } => 3,
        };
        let keyset = if cursor.is_some() {
            published_before(&format!("${}", n + 1), &format!("${}", n + 2))
        } else {
            String::new()
        };
        let limit_param = if cursor.is_some() { n + 3 } else { n + 1 };
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM stories s {join} LEFT JOIN photos p ON p.id = s.photo_id \
             WHERE {cond} AND s.status = 'published'{keyset} \
             ORDER BY s.published_at DESC, s.news_id DESC LIMIT ${limit_param}"
        );
        let mut q = sqlx::query(&sql);
        q = match filter {
            StoryFilter::Edition(e) => q.bind(*e),
            StoryFilter::Section { edition_id, path } => {
                q.bind(*edition_id).bind(path.clone()).bind(format!("{}/%", like_escape(path)))
            }
            StoryFilter::Tag(t) => q.bind(*t),
            StoryFilter::Author { edition_id, author_id } => q.bind(*edition_id).bind(*author_id),
            StoryFilter::Between { edition_id, from, to } => {
                q.bind(*edition_id).bind(from.timestamp()).bind(to.timestamp())
            }
        };
        if let Some(c) = cursor {
            q = q.bind(c.published_at).bind(c.news_id);
        }
        let rows = q.bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// The body HTML of each of `news_ids` that exists, in any state (search
    /// snippets read them: the index does not keep bodies). At most 1,000 IDs.
    pub async fn bodies_html(&self, news_ids: &[NewsId]) -> Result<Vec<(NewsId, String)>> {
        if news_ids.is_empty() {
            return Ok(Vec::new());
        }
        if news_ids.len() > 1000 {
            return Err(StoreError::Invalid(format!("at most 1000 bodies at once, asked for {}", news_ids.len())));
        }
        let sql = format!(
            "SELECT news_id, body_html FROM stories WHERE news_id IN ({})",
            crate::sql::placeholders(1, news_ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in news_ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("news_id")?, r.try_get("body_html")?))).collect()
    }

    /// Published stories of the same section published before `story`, newest first.
    /// (Older neighbours: a new story never changes an existing page's list.)
    pub async fn related(&self, story: &Story, limit: i64) -> Result<Vec<StoryLink>> {
        self.reads().await?.related(story, limit).await
    }

    /// Brings the query planner's statistics up to date after a bulk load
    /// (a demo fill, an import). PostgreSQL plans from them: right after a
    /// million stories were written, before autovacuum got to them, a section
    /// list on the home page took 5 s instead of 0.2 ms (a sort of every story
    /// instead of a walk down the index). SQLite keeps none unless asked, and
    /// plans well without: nothing to do there.
    pub async fn refresh_statistics(&self) -> Result<()> {
        if self.backend() == crate::Backend::Postgres {
            sqlx::raw_sql("ANALYZE").execute(self.pool()).await?;
        }
        Ok(())
    }

    /// Number of stories in the database.
    pub async fn story_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM stories").fetch_one(self.pool()).await?.try_get("n")?)
    }

    // ----- tags and authors -----

    /// A tag of an edition by slug, if a published story carries it. A tag
    /// used only by drafts or scheduled stories is not public yet: naming it
    /// on a page would tell what an embargoed story is about.
    pub async fn tag_by_slug(&self, edition_id: i64, slug: &str) -> Result<Option<Tag>> {
        let row = sqlx::query(
            "SELECT t.id, t.slug, t.name FROM tags t WHERE t.edition_id = $1 AND t.slug = $2 \
             AND EXISTS (SELECT 1 FROM story_tags st JOIN stories s ON s.news_id = st.news_id \
                         WHERE st.tag_id = t.id AND s.status = 'published')",
        )
        .bind(edition_id)
        .bind(slug)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok(Tag { id: r.try_get("id")?, slug: r.try_get("slug")?, name: r.try_get("name")? })).transpose()
    }

    /// An author by slug, if a published story (of any edition) carries
    /// their byline: a byline only on drafts or scheduled stories is not public yet.
    pub async fn author_by_slug(&self, slug: &str) -> Result<Option<Author>> {
        let row = sqlx::query(
            "SELECT a.id, a.slug, a.name FROM authors a WHERE a.slug = $1 \
             AND EXISTS (SELECT 1 FROM story_authors sa JOIN stories s ON s.news_id = sa.news_id \
                         WHERE sa.author_id = a.id AND s.status = 'published')",
        )
        .bind(slug)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok(Author { id: r.try_get("id")?, slug: r.try_get("slug")?, name: r.try_get("name")? })).transpose()
    }

    // ----- photos -----

    /// Stores an image (deduplicated by content); caption and credit are updated if given.
    #[expect(
        clippy::too_many_arguments,
        reason = "one plain column per argument; a NewPhoto struct comes with uploads"
    )]
    pub async fn put_photo(
        &self,
        bytes: &[u8],
        mime: &str,
        width: i64,
        height: i64,
        caption: &str,
        credit: &str,
        sha256: &str,
    ) -> Result<Photo> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO photos (sha256, mime, width, height, size, caption, credit, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (sha256) DO UPDATE SET caption = excluded.caption, credit = excluded.credit \
             RETURNING {}",
            crate::media::PHOTO_COLUMNS
        ))
        .bind(sha256)
        .bind(mime)
        .bind(width)
        .bind(height)
        .bind(crate::media::byte_size(bytes))
        .bind(caption)
        .bind(credit)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        let photo = photo_from_row(&row)?.ok_or_else(|| StoreError::Invalid("photo insert returned nothing".into()))?;
        crate::media::store_original(&mut tx, photo.id, bytes).await?;
        tx.commit().await?;
        Ok(photo)
    }

    /// The bytes and media type of a photo or one of its renditions by content address.
    pub async fn photo_bytes(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>> {
        let mut row = sqlx::query(
            "SELECT p.mime, o.bytes FROM photos p JOIN photo_originals o ON o.photo_id = p.id WHERE p.sha256 = $1",
        )
        .bind(sha256)
        .fetch_optional(self.pool())
        .await?;
        if row.is_none() {
            row = sqlx::query("SELECT mime, bytes FROM photo_renditions WHERE sha256 = $1 LIMIT 1")
                .bind(sha256)
                .fetch_optional(self.pool())
                .await?;
        }
        if row.is_none() {
            // A crop rendition, else an embed's thumbnail (our own copy, fetched at save).
            return match self.crop_rendition_bytes(sha256).await? {
                Some(found) => Ok(Some(found)),
                None => self.embed_thumbnail_bytes(sha256).await,
            };
        }
        row.map(|r| Ok((r.try_get("mime")?, r.try_get("bytes")?))).transpose()
    }

    // ----- change log -----

    /// Story changes after change id `after`, oldest first: `(change id, news id, edition id)`.
    pub async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<(i64, NewsId, i64)>> {
        let rows = sqlx::query("SELECT id, news_id, edition_id FROM story_changes WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("news_id")?, r.try_get("edition_id")?))).collect()
    }

    /// The newest change id (0 when there is none).
    pub async fn last_change_id(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM story_changes").fetch_one(self.pool()).await?;
        Ok(row.try_get("id")?)
    }
}

pub(crate) async fn save_story_in(conn: &mut AnyConnection, input: &StoryInput) -> Result<(NewsId, SaveOutcome)> {
    save_story_in_as(conn, input, false).await
}

/// [`save_story_in`]; a `quiet` save of a published story (a silent fix of a
/// typo) keeps its public update time (`updated_at`: "Updated:", dateModified).
pub(crate) async fn save_story_in_as(
    conn: &mut AnyConnection,
    input: &StoryInput,
    quiet: bool,
) -> Result<(NewsId, SaveOutcome)> {
    let section_id = match &input.section {
        SectionRef::Id(id) => {
            let ok = sqlx::query("SELECT 1 FROM sections WHERE id = $1 AND edition_id = $2")
                .bind(*id)
                .bind(input.edition_id)
                .fetch_optional(&mut *conn)
                .await?;
            if ok.is_none() {
                return Err(StoreError::Invalid(format!("section {id} is not in edition {}", input.edition_id)));
            }
            *id
        }
        SectionRef::Names(names) => ensure_section_path(conn, input.edition_id, names).await?.id,
    };
    let slug = input.slug.clone().unwrap_or_else(|| slugify(&input.headline));
    let body_html = crate::body::render_body_in(conn, input.body_format, &input.body_source).await?;
    let t = now();

    let existing = match input.news_id {
        Some(id) => sqlx::query(
            "SELECT edition_id, section_id, slug, headline, lead, body_source, body_format, photo_id, gallery_id, status, published_at, version, \
             urgency, slugline, located, genres, subjects, ednote, subjects_public FROM stories WHERE news_id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?,
        None => None,
    };

    let (news_id, version, outcome) = if let Some(row) = existing {
        let news_id = input.news_id.unwrap_or_default();
        let same = row.try_get::<i64, _>("edition_id")? == input.edition_id
            && row.try_get::<i64, _>("section_id")? == section_id
            && row.try_get::<String, _>("slug")? == slug
            && row.try_get::<String, _>("headline")? == input.headline
            && row.try_get::<String, _>("lead")? == input.lead
            && row.try_get::<String, _>("body_source")? == input.body_source
            && row.try_get::<String, _>("body_format")? == input.body_format.as_str()
            && row.try_get::<Option<i64>, _>("photo_id")? == input.photo_id
            && row.try_get::<Option<i64>, _>("gallery_id")? == input.gallery_id
            && row.try_get::<String, _>("status")? == input.status.as_str()
            && row.try_get::<Option<i64>, _>("published_at")? == input.published_at.map(|d| d.timestamp())
            && story_tag_names(conn, news_id).await? == input.tags
            && story_author_names(conn, news_id).await? == input.authors
            && input.agency.as_ref().is_none_or(|a| agency_from_row(&row).is_ok_and(|stored| stored == *a));
        if same {
            return Ok((news_id, SaveOutcome::Unchanged));
        }
        let version: i64 = row.try_get::<i64, _>("version")? + 1;
        let q = sqlx::query(
            "UPDATE stories SET edition_id = $2, section_id = $3, slug = $4, headline = $5, lead = $6, \
             body_source = $7, body_format = $8, body_html = $9, photo_id = $10, status = $11, \
             published_at = $12, modified_at = $13, version = $14, \
             updated_at = CASE WHEN $15 = 0 AND status = 'published' AND $11 = 'published' THEN $13 ELSE updated_at END, \
             gallery_id = $16 WHERE news_id = $1",
        );
        bind_story(q, news_id, section_id, &slug, &body_html, input, t)
            .bind(version)
            .bind(i64::from(quiet))
            .bind(input.gallery_id)
            .execute(&mut *conn)
            .await?;
        if let Some(agency) = &input.agency {
            set_agency(conn, news_id, agency).await?;
        }
        (news_id, version, SaveOutcome::Updated)
    } else {
        let news_id = match input.news_id {
            Some(id) => {
                if id <= 0 {
                    return Err(StoreError::Invalid(format!("News ID must be positive, got {id}")));
                }
                sqlx::query(
                    "UPDATE counters SET value = CASE WHEN value < $1 THEN $1 ELSE value END WHERE name = 'news_id'",
                )
                .bind(id)
                .execute(&mut *conn)
                .await?;
                id
            }
            None => sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'news_id' RETURNING value")
                .fetch_one(&mut *conn)
                .await?
                .try_get::<i64, _>("value")?,
        };
        let q = sqlx::query(
            "INSERT INTO stories (news_id, edition_id, section_id, slug, headline, lead, body_source, body_format, \
             body_html, photo_id, status, published_at, updated_at, created_at, modified_at, version, gallery_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, $13, $13, 1, $14)",
        );
        bind_story(q, news_id, section_id, &slug, &body_html, input, t)
            .bind(input.gallery_id)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                if StoreError::is_unique_violation(&e) && input.news_id.is_some() {
                    StoreError::Conflict { field: "news_id" }
                } else {
                    StoreError::Db(e)
                }
            })?;
        if let Some(agency) = &input.agency {
            set_agency(conn, news_id, agency).await?;
        }
        (news_id, 1, SaveOutcome::Created)
    };

    let tags = set_story_tags(conn, news_id, input.edition_id, &input.tags).await?;
    let authors = set_story_authors(conn, news_id, &input.authors).await?;
    set_byline(conn, news_id, &tags, &authors).await?;
    crate::galleries::set_body_galleries_in(conn, news_id, input.body_format, &input.body_source).await?;
    sqlx::query(
        "INSERT INTO story_revisions (news_id, version, section_id, slug, headline, lead, body_source, body_format, status, actor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(news_id)
    .bind(version)
    .bind(section_id)
    .bind(&slug)
    .bind(&input.headline)
    .bind(&input.lead)
    .bind(&input.body_source)
    .bind(input.body_format.as_str())
    .bind(input.status.as_str())
    .bind(&input.actor)
    .bind(t)
    .execute(&mut *conn)
    .await?;
    record_change(conn, news_id, input.edition_id).await?;
    Ok((news_id, outcome))
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds `$1`..`$13` shared by the story INSERT and UPDATE: News ID, edition,
/// section, slug, headline, lead, body source, format, body HTML, photo,
/// status, publish time, and the time of the save.
fn bind_story<'q>(
    q: AnyQuery<'q>,
    news_id: NewsId,
    section_id: i64,
    slug: &str,
    body_html: &str,
    input: &StoryInput,
    t: i64,
) -> AnyQuery<'q> {
    q.bind(news_id)
        .bind(input.edition_id)
        .bind(section_id)
        .bind(slug.to_string())
        .bind(input.headline.clone())
        .bind(input.lead.clone())
        .bind(input.body_source.clone())
        .bind(input.body_format.as_str())
        .bind(body_html.to_string())
        .bind(input.photo_id)
        .bind(input.status.as_str())
        .bind(input.published_at.map(|d| d.timestamp()))
        .bind(t)
}

pub(crate) async fn record_change(conn: &mut AnyConnection, news_id: NewsId, edition_id: i64) -> Result<()> {
    // The story's state this change leaves, for the webhook dispatcher. The no-op
    // UPDATE locks the story's row until commit (most callers updated it already):
    // another change of the same story waits here, so a story's changes get ids in
    // commit order and each records the state its transaction left.
    let state = if news_id == crate::SITE_CHANGE {
        None
    } else {
        sqlx::query("UPDATE stories SET version = version WHERE news_id = $1 RETURNING status, version, updated_at")
            .bind(news_id)
            .fetch_optional(&mut *conn)
            .await?
    };
    let (status, version, updated_at) = match &state {
        Some(r) => (
            Some(r.try_get::<String, _>("status")?),
            Some(r.try_get::<i64, _>("version")?),
            r.try_get::<Option<i64>, _>("updated_at")?,
        ),
        None => (None, None, None),
    };
    // A scheduled story released to the wire: the dispatcher tells only subscribers that take embargoed copy.
    let embargoed = status.as_deref() == Some("scheduled") && crate::wire_access::is_embargoed(conn, news_id).await?;
    sqlx::query(
        "INSERT INTO story_changes (news_id, edition_id, changed_at, kind, status, version, updated_at, embargoed) \
         VALUES ($1, $2, $3, 'story', $4, $5, $6, $7)",
    )
    .bind(news_id)
    .bind(edition_id)
    .bind(now())
    .bind(status)
    .bind(version)
    .bind(updated_at)
    .bind(i64::from(embargoed))
    .execute(&mut *conn)
    .await?;
    crate::changes::notify_change(conn).await
}

/// [`record_change`] for every story whose lead photo is `photo_id` (its
/// caption, copies or crops changed), in a few statements however many there
/// are: an agency's file photo can lead thousands of stories, and the demo
/// fill makes its photos' copies while stories showing them are stored (one
/// change at a time, 11,000–33,000 of them halved what the first 12 s of a
/// 1,000,000-story fill stored on PostgreSQL). The stories' rows are locked
/// as `record_change` locks one, in News ID order (as the loop this replaced
/// did), and their changes get ids in that order. Returns them as (News ID,
/// edition), in that order.
pub(crate) async fn record_photo_changes(conn: &mut AnyConnection, photo_id: i64) -> Result<Vec<(NewsId, i64)>> {
    if crate::Backend::of(conn) == crate::Backend::Postgres {
        // The UPDATE locks rows in the order it finds them; locked here first,
        // in News ID order. (SQLite has one writer at a time.)
        sqlx::query("SELECT news_id FROM stories WHERE photo_id = $1 ORDER BY news_id FOR NO KEY UPDATE")
            .bind(photo_id)
            .execute(&mut *conn)
            .await?;
    }
    let rows = sqlx::query(
        "UPDATE stories SET version = version WHERE photo_id = $1 \
         RETURNING news_id, edition_id, status, version, updated_at",
    )
    .bind(photo_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut states = Vec::with_capacity(rows.len());
    for r in &rows {
        let news_id: NewsId = r.try_get("news_id")?;
        let status: String = r.try_get("status")?;
        // A scheduled story released to the wire: as in `record_change`.
        let embargoed = status == "scheduled" && crate::wire_access::is_embargoed(conn, news_id).await?;
        states.push((
            news_id,
            r.try_get::<i64, _>("edition_id")?,
            status,
            r.try_get::<i64, _>("version")?,
            r.try_get::<Option<i64>, _>("updated_at")?,
            embargoed,
        ));
    }
    if states.is_empty() {
        return Ok(Vec::new());
    }
    states.sort_unstable_by_key(|s| s.0);
    let values: Vec<Vec<crate::bulk::V<'_>>> = states
        .iter()
        .map(|(news_id, edition_id, status, version, updated_at, embargoed)| {
            use crate::bulk::V;
            vec![
                V::Int(*news_id),
                V::Int(*edition_id),
                V::Text(status),
                V::Int(*version),
                V::OptInt(*updated_at),
                V::Int(i64::from(*embargoed)),
            ]
        })
        .collect();
    crate::bulk::insert(
        conn,
        "INSERT INTO story_changes (news_id, edition_id, changed_at, kind, status, version, updated_at, embargoed) VALUES ",
        "(?, ?, #, 'story', ?, ?, ?, ?)",
        now(),
        &values,
        "",
    )
    .await?;
    crate::changes::notify_change(conn).await?;
    Ok(states.into_iter().map(|s| (s.0, s.1)).collect())
}

pub(crate) async fn ensure_section_path(
    conn: &mut AnyConnection,
    edition_id: i64,
    names: &[String],
) -> Result<Section> {
    if names.is_empty() {
        return Err(StoreError::Invalid("a story needs a section".into()));
    }
    let mut parent: Option<Section> = None;
    for name in names {
        let slug = slugify(name);
        let path = match &parent {
            Some(p) => format!("{}/{slug}", p.path),
            None => slug.clone(),
        };
        let found = sqlx::query(
            "SELECT id, edition_id, parent_id, slug, name, path, position FROM sections WHERE edition_id = $1 AND path = $2",
        )
        .bind(edition_id)
        .bind(&path)
        .fetch_optional(&mut *conn)
        .await?;
        let section = match found {
            Some(r) => section_from_row(&r)?,
            None => {
                let position: i64 = sqlx::query(
                    "SELECT COALESCE(MAX(position), 0) + 1 AS p FROM sections WHERE edition_id = $1 AND \
                     ((parent_id IS NULL AND $2 IS NULL) OR parent_id = $2)",
                )
                .bind(edition_id)
                .bind(parent.as_ref().map(|p| p.id))
                .fetch_one(&mut *conn)
                .await?
                .try_get("p")?;
                let r = sqlx::query(
                    "INSERT INTO sections (edition_id, parent_id, slug, name, path, position) VALUES ($1, $2, $3, $4, $5, $6) \
                     RETURNING id, edition_id, parent_id, slug, name, path, position",
                )
                .bind(edition_id)
                .bind(parent.as_ref().map(|p| p.id))
                .bind(&slug)
                .bind(name.trim())
                .bind(&path)
                .bind(position)
                .fetch_one(&mut *conn)
                .await?;
                section_from_row(&r)?
            }
        };
        parent = Some(section);
    }
    parent.ok_or_else(|| StoreError::Invalid("a story needs a section".into()))
}

/// The columns [`story_from_row`] reads: a story with its photo, from [`STORY_FROM`].
pub(crate) const STORY_COLUMNS: &str = concat!(
    "s.news_id, s.edition_id, s.section_id, s.slug, s.headline, s.lead, s.body_html, \
     s.body_source, s.body_format, s.status, s.published_at, s.updated_at, s.created_at, s.modified_at, s.version, \
     s.live_since, s.live_until, s.gallery_id AS lead_gallery_id, \
     s.urgency, s.slugline, s.located, s.genres, s.subjects, s.ednote, s.subjects_public, \
     p.id AS photo_id, p.sha256, p.mime, p.width, p.height, p.caption, p.credit, ",
    crate::media::photo_detail_columns!("p."),
);

/// The tables [`STORY_COLUMNS`] come from.
pub(crate) const STORY_FROM: &str = "FROM stories s LEFT JOIN photos p ON p.id = s.photo_id";

/// A story from a row of [`STORY_COLUMNS`], with its tags and authors.
pub(crate) fn story_from_row(r: &AnyRow, tags: Vec<Tag>, authors: Vec<Author>) -> Result<Story> {
    let status: String = r.try_get("status")?;
    let format: String = r.try_get("body_format")?;
    Ok(Story {
        news_id: r.try_get("news_id")?,
        edition_id: r.try_get("edition_id")?,
        section_id: r.try_get("section_id")?,
        slug: r.try_get("slug")?,
        headline: r.try_get("headline")?,
        lead: r.try_get("lead")?,
        body_html: r.try_get("body_html")?,
        body_source: r.try_get("body_source")?,
        body_format: BodyFormat::parse(&format)
            .ok_or_else(|| StoreError::Invalid(format!("unknown body format {format}")))?,
        status: StoryStatus::parse(&status).ok_or_else(|| StoreError::Invalid(format!("unknown status {status}")))?,
        published_at: r.try_get::<Option<i64>, _>("published_at")?.map(from_unix),
        updated_at: r.try_get::<Option<i64>, _>("updated_at")?.map(from_unix),
        created_at: from_unix(r.try_get("created_at")?),
        modified_at: from_unix(r.try_get("modified_at")?),
        version: r.try_get("version")?,
        agency: agency_from_row(r)?,
        photo: photo_from_row(r)?,
        tags,
        authors,
        live_since: r.try_get::<Option<i64>, _>("live_since")?.map(from_unix),
        live_until: r.try_get::<Option<i64>, _>("live_until")?.map(from_unix),
        gallery_id: r.try_get("lead_gallery_id")?,
    })
}

/// The agency metadata of a story row (columns `urgency` … `subjects_public`).
fn agency_from_row(r: &AnyRow) -> Result<Agency> {
    let codes = |col: &str| -> Result<Vec<String>> {
        Ok(r.try_get::<String, _>(col)?.split_whitespace().map(str::to_string).collect())
    };
    Ok(Agency {
        urgency: r.try_get("urgency")?,
        slugline: r.try_get("slugline")?,
        located: r.try_get("located")?,
        genres: codes("genres")?,
        subjects: codes("subjects")?,
        ednote: r.try_get("ednote")?,
        subjects_public: r.try_get::<i64, _>("subjects_public")? != 0,
    })
}

/// Stores a story's agency metadata (checked by the caller: urgency 1–8, known codes).
async fn set_agency(conn: &mut AnyConnection, news_id: NewsId, a: &Agency) -> Result<()> {
    if !newsdesk_domain::agency::urgency_is_valid(a.urgency) {
        return Err(StoreError::Invalid(format!("urgency must be 1 to 8, got {}", a.urgency)));
    }
    sqlx::query(
        "UPDATE stories SET urgency = $2, slugline = $3, located = $4, genres = $5, subjects = $6, ednote = $7, \
         subjects_public = $8 WHERE news_id = $1",
    )
    .bind(news_id)
    .bind(a.urgency)
    .bind(&a.slugline)
    .bind(&a.located)
    .bind(a.genres.join(" "))
    .bind(a.subjects.join(" "))
    .bind(&a.ednote)
    .bind(i64::from(a.subjects_public))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn story_tags(conn: &mut AnyConnection, news_id: NewsId) -> Result<Vec<Tag>> {
    let rows = sqlx::query(
        "SELECT t.id, t.slug, t.name FROM story_tags st JOIN tags t ON t.id = st.tag_id WHERE st.news_id = $1 ORDER BY st.position",
    )
    .bind(news_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| Ok(Tag { id: r.try_get("id")?, slug: r.try_get("slug")?, name: r.try_get("name")? })).collect()
}

async fn story_authors(conn: &mut AnyConnection, news_id: NewsId) -> Result<Vec<Author>> {
    let rows = sqlx::query(
        "SELECT a.id, a.slug, a.name FROM story_authors sa JOIN authors a ON a.id = sa.author_id WHERE sa.news_id = $1 ORDER BY sa.position",
    )
    .bind(news_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok(Author { id: r.try_get("id")?, slug: r.try_get("slug")?, name: r.try_get("name")? }))
        .collect()
}

async fn story_tag_names(conn: &mut AnyConnection, news_id: NewsId) -> Result<Vec<String>> {
    Ok(story_tags(conn, news_id).await?.into_iter().map(|t| t.name).collect())
}

async fn story_author_names(conn: &mut AnyConnection, news_id: NewsId) -> Result<Vec<String>> {
    Ok(story_authors(conn, news_id).await?.into_iter().map(|a| a.name).collect())
}

/// Sets the story's tags to `names` (the first of each slug, in order) and
/// returns them as stored (a tag's name is the one it was first made with).
async fn set_story_tags(
    conn: &mut AnyConnection,
    news_id: NewsId,
    edition_id: i64,
    names: &[String],
) -> Result<Vec<Tag>> {
    sqlx::query("DELETE FROM story_tags WHERE news_id = $1").bind(news_id).execute(&mut *conn).await?;
    let mut seen = std::collections::HashSet::new();
    let mut tags = Vec::new();
    for (pos, name) in names.iter().enumerate() {
        let slug = slugify(name);
        if !seen.insert(slug.clone()) {
            continue;
        }
        let row = sqlx::query(
            "INSERT INTO tags (edition_id, slug, name) VALUES ($1, $2, $3) \
             ON CONFLICT (edition_id, slug) DO UPDATE SET name = tags.name RETURNING id, name",
        )
        .bind(edition_id)
        .bind(&slug)
        .bind(name.trim())
        .fetch_one(&mut *conn)
        .await?;
        let tag = Tag { id: row.try_get("id")?, slug, name: row.try_get("name")? };
        sqlx::query("INSERT INTO story_tags (news_id, tag_id, position) VALUES ($1, $2, $3)")
            .bind(news_id)
            .bind(tag.id)
            .bind(pos as i64)
            .execute(&mut *conn)
            .await?;
        tags.push(tag);
    }
    Ok(tags)
}

/// Sets the story's authors to `names` (the first of each slug, in order)
/// and returns them as stored (an author's name is the one first made with).
async fn set_story_authors(conn: &mut AnyConnection, news_id: NewsId, names: &[String]) -> Result<Vec<Author>> {
    sqlx::query("DELETE FROM story_authors WHERE news_id = $1").bind(news_id).execute(&mut *conn).await?;
    let mut seen = std::collections::HashSet::new();
    let mut authors = Vec::new();
    for (pos, name) in names.iter().enumerate() {
        let slug = slugify(name);
        if !seen.insert(slug.clone()) {
            continue;
        }
        let row = sqlx::query(
            "INSERT INTO authors (slug, name) VALUES ($1, $2) \
             ON CONFLICT (slug) DO UPDATE SET name = authors.name RETURNING id, name",
        )
        .bind(&slug)
        .bind(name.trim())
        .fetch_one(&mut *conn)
        .await?;
        let author = Author { id: row.try_get("id")?, slug, name: row.try_get("name")? };
        sqlx::query("INSERT INTO story_authors (news_id, author_id, position) VALUES ($1, $2, $3)")
            .bind(news_id)
            .bind(author.id)
            .bind(pos as i64)
            .execute(&mut *conn)
            .await?;
        authors.push(author);
    }
    Ok(authors)
}

/// A story's byline as its row keeps it (`stories.byline`, migration 40): a
/// JSON array of `[kind, id, slug, name]`, kind 0 a tag and 1 an author, tags
/// then authors, each in its order. The story page reads it back with
/// [`byline_from_json`]; the view `story_bylines` gives the same list as the
/// link tables have it.
pub(crate) fn byline_json<'a>(
    tags: impl IntoIterator<Item = (i64, &'a str, &'a str)>,
    authors: impl IntoIterator<Item = (i64, &'a str, &'a str)>,
) -> Result<String> {
    let entries: Vec<(u8, i64, &str, &str)> = tags
        .into_iter()
        .map(|(id, slug, name)| (0, id, slug, name))
        .chain(authors.into_iter().map(|(id, slug, name)| (1, id, slug, name)))
        .collect();
    serde_json::to_string(&entries).map_err(|e| StoreError::Invalid(format!("a byline did not write: {e}")))
}

/// The tags and authors of a byline written by [`byline_json`] (or by the
/// view `story_bylines`), of story `news_id`.
pub(crate) fn byline_from_json(news_id: NewsId, json: &str) -> Result<(Vec<Tag>, Vec<Author>)> {
    let entries: Vec<(i64, i64, String, String)> = serde_json::from_str(json)
        .map_err(|e| StoreError::Invalid(format!("the byline of story {news_id} did not read back: {e}")))?;
    let (mut tags, mut authors) = (Vec::new(), Vec::new());
    for (kind, id, slug, name) in entries {
        match kind {
            0 => tags.push(Tag { id, slug, name }),
            _ => authors.push(Author { id, slug, name }),
        }
    }
    Ok((tags, authors))
}

/// Writes the byline of story `news_id` kept in its row.
async fn set_byline(conn: &mut AnyConnection, news_id: NewsId, tags: &[Tag], authors: &[Author]) -> Result<()> {
    let byline = byline_json(
        tags.iter().map(|t| (t.id, t.slug.as_str(), t.name.as_str())),
        authors.iter().map(|a| (a.id, a.slug.as_str(), a.name.as_str())),
    )?;
    sqlx::query("UPDATE stories SET byline = $2 WHERE news_id = $1").bind(news_id).bind(byline).execute(conn).await?;
    Ok(())
}

/// The columns of a [`StoryLink`] of story `r`, in the order of
/// [`LinkJson`]'s fields.
const LINK_FIELDS: [&str; 4] = ["r.news_id", "r.slug", "r.headline", "r.published_at"];

/// The query of [`Store::related`]: section `$1`, before story `$2` published at `$3`, `$4` of them.
fn related_sql() -> String {
    format!("SELECT {} {} LIMIT $4", LINK_FIELDS.join(", "), before_in_section("r", "$1", "$2", "$3"))
}

/// From the stories `s` of section `section`, those published before story
/// `news_id` published at `at`, newest first (SQL expressions: bound values,
/// or the columns of an outer query). Its callers select a [`StoryLink`]'s
/// columns only: `stories_section_published` holds those beside the ones
/// filtered and ordered on, so the stories' rows are not read.
fn before_in_section(s: &str, section: &str, news_id: &str, at: &str) -> String {
    format!(
        "FROM stories {s} \
         WHERE {s}.section_id = {section} AND {s}.status = 'published' AND {s}.news_id <> {news_id} \
         AND {s}.published_at <= {at} AND ({s}.published_at < {at} OR ({s}.published_at = {at} AND {s}.news_id < {news_id})) \
         ORDER BY {s}.published_at DESC, {s}.news_id DESC"
    )
}

/// What [`Store::related`] gives for the story `s` of an outer query (its
/// section's `limit` stories before it) as one JSON text column `related`,
/// so that the story page reads them in the story's own query.
pub(crate) fn related_column(sqlite: bool, limit: i64) -> String {
    let named: Vec<String> = LINK_FIELDS.iter().enumerate().map(|(i, f)| format!("{f} AS c{i}")).collect();
    let fields: Vec<String> = (0..LINK_FIELDS.len()).map(|i| format!("x.c{i}")).collect();
    let (named, fields) = (named.join(", "), fields.join(", "));
    let rows = format!(
        "SELECT {named} {} LIMIT {limit}",
        before_in_section("r", "s.section_id", "s.news_id", "s.published_at")
    );
    if sqlite {
        // SQLite aggregates the rows in the order its subquery gives them.
        format!("(SELECT json_group_array(json_array({fields})) FROM ({rows}) x) AS related")
    } else {
        // c3, c0: the publish time and the News ID.
        format!(
            "(SELECT COALESCE(json_agg(json_build_array({fields}) ORDER BY x.c3 DESC, x.c0 DESC), '[]')::text \
             FROM ({rows}) x) AS related"
        )
    }
}

/// One story of [`related_column`]'s array.
#[derive(serde::Deserialize)]
struct LinkJson(NewsId, String, String, i64);

/// The stories of [`related_column`]'s text, as [`Store::related`] gives them.
pub(crate) fn related_from_json(news_id: NewsId, text: &str) -> Result<Vec<StoryLink>> {
    let rows: Vec<LinkJson> = serde_json::from_str(text)
        .map_err(|e| StoreError::Invalid(format!("the stories before story {news_id} did not read back: {e}")))?;
    Ok(rows
        .into_iter()
        .map(|LinkJson(news_id, slug, headline, published_at)| StoryLink {
            news_id,
            slug,
            headline,
            published_at: from_unix(published_at),
        })
        .collect())
}

fn link_from_row(r: &AnyRow) -> Result<StoryLink> {
    Ok(StoryLink {
        news_id: r.try_get("news_id")?,
        slug: r.try_get("slug")?,
        headline: r.try_get("headline")?,
        published_at: from_unix(r.try_get("published_at")?),
    })
}

impl crate::Reads {
    /// [`Store::sections`] on this connection.
    pub async fn sections(&mut self, edition_id: i64) -> Result<Vec<Section>> {
        let rows = self
            .fetch_all(
                sqlx::query(
                    "SELECT id, edition_id, parent_id, slug, name, path, position FROM sections \
             WHERE edition_id = $1 ORDER BY position, id",
                )
                .bind(edition_id),
            )
            .await?;
        rows.iter().map(section_from_row).collect()
    }

    /// [`Store::story`] on this connection.
    pub async fn story(&mut self, news_id: NewsId) -> Result<Option<Story>> {
        Ok(self.stories(&[news_id]).await?.pop())
    }

    /// [`Store::stories`] on this connection.
    pub async fn stories(&mut self, ids: &[NewsId]) -> Result<Vec<Story>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(1, ids.len());
        let story_sql = format!("SELECT {STORY_COLUMNS} {STORY_FROM} WHERE s.news_id IN ({list})");
        // Tags (kind 0) and authors (kind 1), each in its story's order.
        let byline_sql = format!(
            "SELECT CAST(0 AS BIGINT) AS kind, st.news_id, st.position, t.id, t.slug, t.name \
             FROM story_tags st JOIN tags t ON t.id = st.tag_id WHERE st.news_id IN ({list}) \
             UNION ALL \
             SELECT CAST(1 AS BIGINT) AS kind, sa.news_id, sa.position, a.id, a.slug, a.name \
             FROM story_authors sa JOIN authors a ON a.id = sa.author_id WHERE sa.news_id IN ({list}) \
             ORDER BY kind, news_id, position"
        );
        let [rows, byline_rows] = {
            let mut out: [Vec<AnyRow>; 2] = Default::default();
            for (sql, rows) in [&story_sql, &byline_sql].into_iter().zip(out.iter_mut()) {
                let mut q = sqlx::query(sql);
                for id in ids {
                    q = q.bind(*id);
                }
                *rows = self.fetch_all(q).await?;
            }
            out
        };
        let mut tags: HashMap<NewsId, Vec<Tag>> = HashMap::new();
        let mut authors: HashMap<NewsId, Vec<Author>> = HashMap::new();
        for r in &byline_rows {
            let (id, slug, name) = (r.try_get("id")?, r.try_get("slug")?, r.try_get("name")?);
            let news_id: NewsId = r.try_get("news_id")?;
            if r.try_get::<i64, _>("kind")? == 0 {
                tags.entry(news_id).or_default().push(Tag { id, slug, name });
            } else {
                authors.entry(news_id).or_default().push(Author { id, slug, name });
            }
        }
        let mut by_id: HashMap<NewsId, Story> = HashMap::with_capacity(rows.len());
        for r in &rows {
            let id: NewsId = r.try_get("news_id")?;
            let story =
                story_from_row(r, tags.remove(&id).unwrap_or_default(), authors.remove(&id).unwrap_or_default())?;
            by_id.insert(id, story);
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// [`Store::related`] on this connection.
    pub async fn related(&mut self, story: &Story, limit: i64) -> Result<Vec<StoryLink>> {
        let Some(published) = story.published_at else { return Ok(Vec::new()) };
        let sql = related_sql();
        let rows = self
            .fetch_all(
                sqlx::query(&sql).bind(story.section_id).bind(story.news_id).bind(published.timestamp()).bind(limit),
            )
            .await?;
        rows.iter().map(link_from_row).collect()
    }
}

#[cfg(test)]
mod plans {
    use super::{related_column, related_sql};

    crate::backend_test! {
        async fn the_stories_before_a_story_are_read_from_its_position_in_the_index(db) {
            // Every story page not cached asks for its section's stories before
            // it. The plan must bound the index by the publish time. Without the
            // `published_at <=` PostgreSQL only filters by it (this fails), and
            // SQLite, which bounds it by itself on a small table, read a
            // section's index from its newest story down at 1,000,000 stories.
            let mut args = crate::sql::Args::new();
            for n in [1_i64, 84_427, 1_700_000_000, 5] {
                args.push(n);
            }
            let plan = db.plan(&related_sql(), args).await;
            assert_bounded(&plan);
        }
    }

    crate::backend_test! {
        async fn the_story_pages_query_reads_the_stories_before_it_from_its_position_in_the_index(db) {
            // The same list as a column of the story's own query (the story page's).
            let sql = format!("SELECT {} FROM stories s WHERE s.news_id = $1", related_column(db.store.backend() == crate::Backend::Sqlite, 5));
            let mut args = crate::sql::Args::new();
            args.push(84_427_i64);
            assert_bounded(&db.plan(&sql, args).await);
        }
    }

    /// The plan walks the section's index from the story's publish time down,
    /// and reads the stories' links from the index alone, not their rows.
    fn assert_bounded(plan: &[String]) {
        assert!(
            plan.iter().any(|line| line.contains("COVERING INDEX stories_section_published")
                || line.contains("Index Only Scan using stories_section_published")),
            "the stories' rows are read, not only the index: {plan:?}"
        );
        let bounded = |line: &String| {
            line.contains("stories_section_published")
                && (line.contains("published_at<?") || line.contains("published_at <= "))
        };
        let index_cond =
            plan.windows(2).any(|w| w[0].contains("stories_section_published") && w[1].contains("published_at <="));
        assert!(plan.iter().any(bounded) || index_cond, "the index is not bounded by the publish time: {plan:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    const C: Cursor = Cursor { published_at: 1_700_000_000, news_id: 84427 };

    #[test]
    fn cursors_round_trip_in_both_forms() {
        assert_eq!(C.encode(), "1700000000-84427");
        assert_eq!(Cursor::decode(&C.encode()), Some(C));
        assert_eq!(Cursor::decode(&C.encode_opaque()), Some(C));
        assert!(C.encode_opaque().chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }

    #[test]
    fn every_form_handed_out_before_still_decodes() {
        // The site's `?before=`.
        assert_eq!(Cursor::decode("1700000000-84427"), Some(C));
        // The JSON API's `cursor=`: the hex of the site form.
        assert_eq!(Cursor::decode("313730303030303030302d3834343237"), Some(C));
        // The wire's `cursor=`: the hex of `v1:{time}:{id}`.
        assert_eq!(Cursor::decode(&hex::encode("v1:1700000000:84427")), Some(C));
    }

    #[test]
    fn forgeries_are_refused() {
        for s in ["", "zz", "31", "1700000000-0", "1700000000-x", "x-1", "1-2-3"] {
            assert_eq!(Cursor::decode(s), None, "{s}");
        }
        for raw in ["v1:1:0", "v1:1:2:3", "v2:1:2", "v1:1", "1-0"] {
            assert_eq!(Cursor::decode(&hex::encode(raw)), None, "{raw}");
        }
    }
}

#[cfg(test)]
mod bylines {
    use crate::Backend;
    use crate::testing::TestDb;

    /// Migration 40 fills the byline kept in the row of every story stored
    /// before it (story pages read it from there), in order and with the
    /// stored names; a story without tags or authors keeps an empty one.
    async fn stories_stored_before_migration_40_get_their_bylines(backend: Backend) {
        let Some(db) = TestDb::migrated_to(backend, 20261207000039).await else { return };
        let edition = crate::testing::english_edition(&db.store).await;
        let pool = db.store.pool();
        let run = |sql: &'static str| async move { sqlx::query(sql).execute(pool).await.expect(sql) };
        sqlx::query(
            "INSERT INTO sections (id, edition_id, parent_id, slug, name, path, position) VALUES (5, $1, NULL, 'world', 'World', 'world', 0)",
        )
        .bind(edition)
        .execute(pool)
        .await
        .expect("section");
        for news_id in [101_i64, 102] {
            sqlx::query(
                "INSERT INTO stories (news_id, edition_id, section_id, slug, headline, lead, body_source, body_format, \
                 body_html, photo_id, status, published_at, updated_at, created_at, modified_at, version, gallery_id) \
                 VALUES ($1, $2, 5, 's', 'Headline', '', '', 'text', '', NULL, 'published', 1, NULL, 1, 1, 1, NULL)",
            )
            .bind(news_id)
            .bind(edition)
            .execute(pool)
            .await
            .expect("a story as migration 39 stored it");
        }
        sqlx::query(
            "INSERT INTO tags (id, edition_id, slug, name) VALUES (7, $1, 'oil', 'Oil'), (8, $1, 'iran', 'Iran')",
        )
        .bind(edition)
        .execute(pool)
        .await
        .expect("tags");
        run("INSERT INTO authors (id, slug, name) VALUES (3, 'jane-doe', 'Jane Doe')").await;
        // Tag 8 first: the list follows the positions, not the ids.
        run("INSERT INTO story_tags (news_id, tag_id, position) VALUES (101, 7, 1), (101, 8, 0)").await;
        run("INSERT INTO story_authors (news_id, author_id, position) VALUES (101, 3, 0)").await;
        db.store.migrate().await.expect("migrate to the end");

        let (page, _) =
            db.store.reads().await.expect("reads").story_for_page(101, 5).await.expect("read").expect("found");
        let tags: Vec<(i64, &str, &str)> = page.tags.iter().map(|t| (t.id, t.slug.as_str(), t.name.as_str())).collect();
        assert_eq!(tags, [(8, "iran", "Iran"), (7, "oil", "Oil")]);
        let authors: Vec<(i64, &str, &str)> =
            page.authors.iter().map(|a| (a.id, a.slug.as_str(), a.name.as_str())).collect();
        assert_eq!(authors, [(3, "jane-doe", "Jane Doe")]);
        let (page, _) =
            db.store.reads().await.expect("reads").story_for_page(102, 5).await.expect("read").expect("found");
        assert!(page.tags.is_empty() && page.authors.is_empty(), "{page:?}");
        let (compared, stale) = crate::testing::stale_bylines(&db.store).await;
        assert_eq!((compared, stale), (2, Vec::new()));
    }

    #[tokio::test]
    async fn stories_stored_before_migration_40_get_their_bylines_on_sqlite() {
        stories_stored_before_migration_40_get_their_bylines(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn stories_stored_before_migration_40_get_their_bylines_on_postgres() {
        stories_stored_before_migration_40_get_their_bylines(Backend::Postgres).await;
    }

    /// The list the save writes and the one the view gives are the same JSON
    /// (the view's is the engine's spelling).
    #[test]
    fn a_byline_is_kind_id_slug_name_tags_first() {
        let json = super::byline_json([(8, "iran", "Iran \"quoted\"")], [(3, "jane-doe", "Jane Doe")]).expect("json");
        assert_eq!(json, r#"[[0,8,"iran","Iran \"quoted\""],[1,3,"jane-doe","Jane Doe"]]"#);
        let (tags, authors) = super::byline_from_json(1, &json).expect("read back");
        assert_eq!((tags[0].name.as_str(), authors[0].slug.as_str()), ("Iran \"quoted\"", "jane-doe"));
        assert!(super::byline_from_json(1, "[[0, 8]]").is_err());
    }
}
