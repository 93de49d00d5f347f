//! The newsroom's view of stories: the desk list, saves checked against the
//! version they were based on, workflow transitions, corrections, the
//! scheduler and revisions.

use crate::sql::{Args, like_escape};
use chrono::{DateTime, Utc};
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::{NewsId, StoryStatus};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::content::{now, record_change, save_story_in_as};
use crate::{AuditEntry, Result, SaveOutcome, Store, StoreError, StoryInput};

/// Newsroom fields of a story that the public model does not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoryExtras {
    /// User who created the story.
    pub created_by: Option<i64>,
    /// Internal note for the desk.
    pub editorial_note: String,
    /// Public note of the last correction.
    pub correction_note: String,
    /// Public note of a killed story.
    pub public_note: String,
    /// When a scheduled story goes out.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When the story was spiked, while it is (see [`Store::spike`]).
    pub spiked_at: Option<DateTime<Utc>>,
}

/// A story in the desk list.
#[derive(Debug, Clone, Serialize)]
pub struct DeskRow {
    /// News ID.
    pub news_id: NewsId,
    /// Headline.
    pub headline: String,
    /// Workflow state.
    pub status: String,
    /// Section path.
    pub section: String,
    /// Last change (unix seconds).
    pub modified_at: i64,
    /// Publish time, if published once (unix seconds).
    pub published_at: Option<i64>,
    /// Scheduled time (unix seconds).
    pub scheduled_at: Option<i64>,
    /// Name of the creator (the desk shows people, not their e-mail addresses).
    pub created_by: Option<String>,
    /// Version.
    pub version: i64,
    /// The edition the story belongs to.
    pub edition_id: i64,
    /// Urgency, 1 (flash) … 8.
    pub urgency: i64,
    /// The desk's short name of the story (may be empty).
    pub slugline: String,
}

/// Which stories the desk list shows.
#[derive(Debug, Clone, Default)]
pub struct DeskFilter {
    /// Only this state.
    pub status: Option<StoryStatus>,
    /// Only this section (and below).
    pub section_id: Option<i64>,
    /// Only stories created by this user.
    pub created_by: Option<i64>,
    /// Headline or slugline contains this text (case-insensitive).
    pub headline: Option<String>,
    /// Last changed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Last changed before.
    pub to: Option<DateTime<Utc>>,
    /// Only stories of this edition.
    pub edition_id: Option<i64>,
    /// The most urgent first (then last changed first), instead of last changed first.
    pub by_urgency: bool,
}

/// One saved version of a story.
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    /// Version number.
    pub version: i64,
    /// Section id.
    pub section_id: i64,
    /// Slug.
    pub slug: String,
    /// Headline.
    pub headline: String,
    /// Lead.
    pub lead: String,
    /// Body as written.
    pub body_source: String,
    /// Body format.
    pub body_format: String,
    /// Workflow state after this save.
    pub status: String,
    /// Who saved.
    pub actor: String,
    /// What happened (`publish`, `correction: ...`), empty for an edit.
    pub note: String,
    /// When (unix seconds).
    pub created_at: i64,
}

/// A workflow change to apply.
#[derive(Debug, Clone)]
pub struct Transition {
    /// The story.
    pub news_id: NewsId,
    /// The version the user saw; refused when the story has moved on.
    pub expected_version: i64,
    /// The state it must be in now.
    pub from: StoryStatus,
    /// The new state.
    pub to: StoryStatus,
    /// For a scheduled story: when it goes out.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// For a killed story: the public note.
    pub public_note: Option<String>,
    /// Who.
    pub actor: String,
    /// What, for the revision list.
    pub note: String,
}

/// The actor of scheduled publishes, in revisions and the audit log.
pub const SCHEDULER: &str = "scheduler";

/// A save of a story from the newsroom, checked against the version it was based on.
#[derive(Debug, Clone, Copy)]
pub struct CheckedSave<'a> {
    /// The story's fields.
    pub input: &'a StoryInput,
    /// The version the user saw; refused ([`StoreError::Stale`]) when the story has moved on.
    pub expected_version: i64,
    /// The internal note for the desk.
    pub editorial_note: &'a str,
    /// A silent fix of a published story: its public update time stays.
    pub quiet: bool,
    /// The audit entry of the save, written when something changed.
    pub audit: &'a AuditEntry,
}

/// What [`Store::save_then`] does after the save, in the same transaction.
#[derive(Debug, Clone, Copy)]
pub enum Then<'a> {
    /// A workflow transition (its `expected_version` is ignored: the save's result counts).
    Transition(&'a Transition),
    /// A public correction with this note.
    Correction(&'a str),
}

/// One public correction of a story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    /// Id (corrections of a story are shown in the order of their time, then id).
    pub id: i64,
    /// The story.
    pub news_id: NewsId,
    /// The note readers see.
    pub note: String,
    /// Who wrote it (an e-mail address: never shown to readers).
    pub actor: String,
    /// When it was published.
    pub at: DateTime<Utc>,
}

/// A correction with the story it corrects, for the edition's `/corrections` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EditionCorrection {
    /// The correction.
    pub correction: Correction,
    /// The story's slug (its page is `/news/{news_id}/{slug}`).
    pub slug: String,
    /// The story's headline.
    pub headline: String,
}

/// Copies the story's current row into its revisions.
pub(crate) async fn snapshot(conn: &mut AnyConnection, news_id: NewsId, actor: &str, note: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO story_revisions (news_id, version, section_id, slug, headline, lead, body_source, body_format, \
         status, actor, created_at, note) \
         SELECT news_id, version, section_id, slug, headline, lead, body_source, body_format, status, $2, $3, $4 \
         FROM stories WHERE news_id = $1",
    )
    .bind(news_id)
    .bind(actor)
    .bind(now())
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// Saves a story from the editor. With `expected_version`, the save is
    /// refused ([`StoreError::Stale`]) when the story has changed since that
    /// version: two people never silently overwrite each other. `audit` is
    /// written in the same transaction when something changed (an entry with
    /// an empty target id gets the new story's News ID). A `quiet` save of a
    /// published story (a silent fix) keeps its public update time.
    pub async fn save_story_checked(
        &self,
        input: &StoryInput,
        expected_version: Option<i64>,
        editorial_note: &str,
        created_by: Option<i64>,
        audit: &AuditEntry,
        quiet: bool,
    ) -> Result<(NewsId, SaveOutcome)> {
        let mut tx = self.begin_write().await?;
        let save = SaveIn { input, expected_version, editorial_note, created_by, audit, quiet };
        match save_checked_in(&mut tx, &save).await {
            Ok((news_id, outcome, wrote)) => {
                if wrote {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok((news_id, outcome))
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }

    /// Saves what is on the editor's screen and then, in the same
    /// transaction, applies `then` (publish, schedule, a correction, ...):
    /// both happen or neither does. `then_audit` is the second step's audit
    /// entry. Returns the outcome of the save.
    pub async fn save_then(
        &self,
        save: &CheckedSave<'_>,
        then: Then<'_>,
        then_audit: &AuditEntry,
    ) -> Result<SaveOutcome> {
        let news_id = save
            .input
            .news_id
            .ok_or_else(|| StoreError::Invalid("a story must exist before a workflow step".into()))?;
        let mut tx = self.begin_write().await?;
        let checked = SaveIn {
            input: save.input,
            expected_version: Some(save.expected_version),
            editorial_note: save.editorial_note,
            created_by: None,
            audit: save.audit,
            quiet: save.quiet,
        };
        let result = async {
            let (_, outcome, _) = save_checked_in(&mut tx, &checked).await?;
            let version: i64 = sqlx::query("SELECT version FROM stories WHERE news_id = $1")
                .bind(news_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("version")?;
            match then {
                Then::Transition(t) => transition_in(&mut tx, t, version).await?,
                Then::Correction(note) => correction_in(&mut tx, news_id, version, note, &then_audit.actor).await?,
            }
            audit_in(&mut tx, then_audit).await?;
            Ok::<_, StoreError>(outcome)
        }
        .await;
        match result {
            Ok(outcome) => {
                tx.commit().await?;
                Ok(outcome)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }

    /// The newsroom fields of a story.
    pub async fn story_extras(&self, news_id: NewsId) -> Result<Option<StoryExtras>> {
        self.reads().await?.story_extras(news_id).await
    }

    /// Applies a workflow transition, checked against the version and state
    /// the user saw, with its audit entry in the same transaction.
    pub async fn transition(&self, t: &Transition, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Err(e) = transition_in(&mut tx, t, t.expected_version).await {
            tx.rollback().await?;
            return Err(e);
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a public correction of a published story: the note (kept with
    /// every earlier one, see [`Store::corrections`]), and `updated_at` (shown
    /// as "Updated:" and as dateModified), with its audit entry.
    pub async fn add_correction(
        &self,
        news_id: NewsId,
        expected_version: i64,
        note: &str,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if let Err(e) = correction_in(&mut tx, news_id, expected_version, note, &audit.actor).await {
            tx.rollback().await?;
            return Err(e);
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The public corrections of a story, oldest first.
    pub async fn corrections(&self, news_id: NewsId) -> Result<Vec<Correction>> {
        self.reads().await?.corrections(news_id).await
    }

    /// The public corrections of the stories `ids`, each story's oldest first,
    /// in one query (a wire page of fifty items reads them at once).
    pub async fn corrections_of(&self, ids: &[NewsId]) -> Result<Vec<Correction>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, news_id, note, actor, created_at FROM story_corrections WHERE news_id IN ({}) \
             ORDER BY news_id, created_at, id",
            crate::sql::placeholders(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(self.pool()).await?.iter().map(correction_from).collect()
    }

    /// Whether the story has any public correction (its changes then drop the `/corrections` page).
    pub async fn has_corrections(&self, news_id: NewsId) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM story_corrections WHERE news_id = $1 LIMIT 1")
            .bind(news_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// The edition's newest corrections of stories published now, newest first.
    pub async fn recent_corrections(&self, edition_id: i64, limit: i64) -> Result<Vec<EditionCorrection>> {
        let rows = sqlx::query(
            "SELECT c.id, c.news_id, c.note, c.actor, c.created_at, s.slug, s.headline FROM story_corrections c \
             JOIN stories s ON s.news_id = c.news_id \
             WHERE c.edition_id = $1 AND s.status = 'published' ORDER BY c.created_at DESC, c.id DESC LIMIT $2",
        )
        .bind(edition_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EditionCorrection {
                    correction: correction_from(r)?,
                    slug: r.try_get("slug")?,
                    headline: r.try_get("headline")?,
                })
            })
            .collect()
    }

    /// Scheduled stories whose time has come, with that time (the scheduler
    /// reports how late it publishes them).
    pub async fn due_times(&self, now_at: DateTime<Utc>) -> Result<Vec<(NewsId, DateTime<Utc>)>> {
        let rows =
            sqlx::query("SELECT news_id, scheduled_at FROM stories WHERE status = 'scheduled' AND scheduled_at <= $1")
                .bind(now_at.timestamp())
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(|r| Ok((r.try_get("news_id")?, from_unix(r.try_get("scheduled_at")?)))).collect()
    }

    /// Publishes every scheduled story whose time has come; returns their News IDs.
    /// Each story goes out once: the update only matches stories still scheduled.
    /// Each gets its audit entry (actor `scheduler`) in the same transaction.
    pub async fn publish_due(&self, now_at: DateTime<Utc>) -> Result<Vec<NewsId>> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "UPDATE stories SET status = 'published', version = version + 1, modified_at = $1, \
             published_at = COALESCE(published_at, $1), scheduled_at = NULL \
             WHERE status = 'scheduled' AND scheduled_at <= $1 RETURNING news_id, edition_id",
        )
        .bind(now_at.timestamp())
        .fetch_all(&mut *tx)
        .await?;
        let mut ids = Vec::with_capacity(rows.len());
        for r in &rows {
            let news_id: NewsId = r.try_get("news_id")?;
            snapshot(&mut tx, news_id, SCHEDULER, "publish (scheduled)").await?;
            crate::wire_access::end_release(&mut tx, news_id).await?;
            record_change(&mut tx, news_id, r.try_get("edition_id")?).await?;
            audit_in(&mut tx, &AuditEntry::system(SCHEDULER, "story.publish", "story", news_id, "publish (scheduled)"))
                .await?;
            ids.push(news_id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Story counts by state, for the desk (spiked stories are not counted).
    pub async fn desk_counts(&self) -> Result<Vec<(String, i64)>> {
        let sql = format!(
            "SELECT status, COUNT(*) AS n FROM stories s WHERE {} GROUP BY status ORDER BY status",
            crate::spikes::NOT_SPIKED
        );
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("status")?, r.try_get("n")?))).collect()
    }

    /// The desk list: stories matching `f`, last changed first (or the most urgent first).
    pub async fn desk_stories(&self, f: &DeskFilter, offset: i64, limit: i64) -> Result<Vec<DeskRow>> {
        let mut sql = String::from(
            "SELECT s.news_id, s.headline, s.status, sec.path AS section, s.modified_at, s.published_at, \
             s.scheduled_at, u.name AS created_by, s.version, s.edition_id, s.urgency, s.slugline FROM stories s \
             JOIN sections sec ON sec.id = s.section_id LEFT JOIN users u ON u.id = s.created_by WHERE 1 = 1",
        );
        // Spiked stories are listed only under "Spiked".
        sql += &format!(" AND {}", crate::spikes::NOT_SPIKED);
        let mut args = Args::new();
        if let Some(st) = f.status {
            sql += &format!(" AND s.status = {}", args.push(st.as_str()));
        }
        if let Some(id) = f.section_id {
            let (a, b) = (args.push(id), args.push(id));
            sql += &format!(
                " AND s.section_id IN (SELECT id FROM sections WHERE id = {a} OR path LIKE \
                 (SELECT path FROM sections WHERE id = {b}) || '/%')"
            );
        }
        if let Some(e) = f.edition_id {
            sql += &format!(" AND s.edition_id = {}", args.push(e));
        }
        if let Some(u) = f.created_by {
            sql += &format!(" AND s.created_by = {}", args.push(u));
        }
        if let Some(h) = &f.headline {
            let p = args.push(format!("%{}%", like_escape(&h.to_lowercase())));
            let q = args.push(format!("%{}%", like_escape(&h.to_lowercase())));
            sql += &format!(" AND (LOWER(s.headline) LIKE {p} ESCAPE '\\' OR LOWER(s.slugline) LIKE {q} ESCAPE '\\')");
        }
        if let Some(t) = f.from {
            sql += &format!(" AND s.modified_at >= {}", args.push(t.timestamp()));
        }
        if let Some(t) = f.to {
            sql += &format!(" AND s.modified_at < {}", args.push(t.timestamp()));
        }
        let (l, o) = (args.push(limit), args.push(offset));
        let urgent_first = if f.by_urgency { "s.urgency, " } else { "" };
        sql += &format!(" ORDER BY {urgent_first}s.modified_at DESC, s.news_id DESC LIMIT {l} OFFSET {o}");
        let rows = args.bind_to(sqlx::query(&sql)).fetch_all(self.pool()).await?;
        rows.iter().map(desk_row).collect()
    }

    /// All revisions of a story, newest first.
    pub async fn revisions(&self, news_id: NewsId) -> Result<Vec<Revision>> {
        let rows = sqlx::query(&format!("{REVISION_SELECT} WHERE news_id = $1 ORDER BY version DESC, id DESC"))
            .bind(news_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(revision_from).collect()
    }

    /// One revision of a story (the last one saved with that version).
    pub async fn revision(&self, news_id: NewsId, version: i64) -> Result<Option<Revision>> {
        let row =
            sqlx::query(&format!("{REVISION_SELECT} WHERE news_id = $1 AND version = $2 ORDER BY id DESC LIMIT 1"))
                .bind(news_id)
                .bind(version)
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(revision_from).transpose()
    }
}

/// What [`save_checked_in`] saves.
struct SaveIn<'a> {
    input: &'a StoryInput,
    expected_version: Option<i64>,
    editorial_note: &'a str,
    created_by: Option<i64>,
    audit: &'a AuditEntry,
    quiet: bool,
}

/// The checked save inside a transaction: the News ID, the outcome, and
/// whether anything was written (else the caller may roll back).
async fn save_checked_in(conn: &mut AnyConnection, s: &SaveIn<'_>) -> Result<(NewsId, SaveOutcome, bool)> {
    let input = s.input;
    if input.headline.trim().is_empty() {
        return Err(StoreError::Invalid("headline must not be empty".into()));
    }
    if let (Some(id), Some(expected)) = (input.news_id, s.expected_version) {
        let row =
            sqlx::query("SELECT version FROM stories WHERE news_id = $1").bind(id).fetch_optional(&mut *conn).await?;
        let current: i64 = match row {
            Some(r) => r.try_get("version")?,
            None => return Err(StoreError::Invalid(format!("there is no story {id}"))),
        };
        if current != expected {
            return Err(StoreError::Stale { current });
        }
    }
    let (news_id, outcome) = save_story_in_as(conn, input, s.quiet).await?;
    let note_changed = sqlx::query(
        "UPDATE stories SET editorial_note = $2, created_by = COALESCE(created_by, $3) \
         WHERE news_id = $1 AND (editorial_note <> $2 OR (created_by IS NULL AND $3 IS NOT NULL))",
    )
    .bind(news_id)
    .bind(s.editorial_note)
    .bind(s.created_by)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    let wrote = outcome != SaveOutcome::Unchanged || note_changed;
    if wrote {
        if s.audit.target_id.is_empty() {
            audit_in(conn, &AuditEntry { target_id: news_id.to_string(), ..s.audit.clone() }).await?;
        } else {
            audit_in(conn, s.audit).await?;
        }
    }
    Ok((news_id, if outcome == SaveOutcome::Unchanged && note_changed { SaveOutcome::Updated } else { outcome }, wrote))
}

/// A workflow transition inside a transaction, checked against `expected_version` and `t.from`.
async fn transition_in(conn: &mut AnyConnection, t: &Transition, expected_version: i64) -> Result<()> {
    let row = sqlx::query("SELECT version, status, edition_id FROM stories WHERE news_id = $1")
        .bind(t.news_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Err(StoreError::Invalid(format!("there is no story {}", t.news_id)));
    };
    let (version, status): (i64, String) = (row.try_get("version")?, row.try_get("status")?);
    if version != expected_version || status != t.from.as_str() {
        return Err(StoreError::Stale { current: version });
    }
    let edition_id: i64 = row.try_get("edition_id")?;
    let at = now();
    sqlx::query(
        "UPDATE stories SET status = $2, version = version + 1, modified_at = $3, \
         published_at = CASE WHEN $2 = 'published' AND published_at IS NULL THEN $3 ELSE published_at END, \
         scheduled_at = $4, public_note = COALESCE($5, public_note) WHERE news_id = $1",
    )
    .bind(t.news_id)
    .bind(t.to.as_str())
    .bind(at)
    .bind(t.scheduled_at.map(|d| d.timestamp()))
    .bind(t.public_note.clone())
    .execute(&mut *conn)
    .await?;
    snapshot(conn, t.news_id, &t.actor, &t.note).await?;
    if t.to != StoryStatus::Scheduled {
        crate::wire_access::end_release(conn, t.news_id).await?;
    }
    record_change(conn, t.news_id, edition_id).await
}

/// A public correction inside a transaction: kept in `story_corrections`
/// (and as the story's last note), the story's public update time moves.
async fn correction_in(
    conn: &mut AnyConnection,
    news_id: NewsId,
    expected_version: i64,
    note: &str,
    actor: &str,
) -> Result<()> {
    let row = sqlx::query("SELECT version, status, edition_id FROM stories WHERE news_id = $1")
        .bind(news_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("there is no story {news_id}")))?;
    let version: i64 = row.try_get("version")?;
    if version != expected_version {
        return Err(StoreError::Stale { current: version });
    }
    if row.try_get::<String, _>("status")? != "published" {
        return Err(StoreError::Invalid("only a published story can be corrected".into()));
    }
    let edition_id: i64 = row.try_get("edition_id")?;
    let at = now();
    sqlx::query(
        "UPDATE stories SET correction_note = $2, updated_at = $3, modified_at = $3, version = version + 1 \
         WHERE news_id = $1",
    )
    .bind(news_id)
    .bind(note)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO story_corrections (news_id, edition_id, note, actor, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(news_id)
    .bind(edition_id)
    .bind(note)
    .bind(actor)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    snapshot(conn, news_id, actor, &format!("correction: {note}")).await?;
    record_change(conn, news_id, edition_id).await
}

fn correction_from(r: &AnyRow) -> Result<Correction> {
    Ok(Correction {
        id: r.try_get("id")?,
        news_id: r.try_get("news_id")?,
        note: r.try_get("note")?,
        actor: r.try_get("actor")?,
        at: from_unix(r.try_get("created_at")?),
    })
}

pub(crate) const REVISION_SELECT: &str = "SELECT version, section_id, slug, headline, lead, body_source, body_format, status, \
                               actor, note, created_at FROM story_revisions";

pub(crate) fn revision_from(r: &AnyRow) -> Result<Revision> {
    Ok(Revision {
        version: r.try_get("version")?,
        section_id: r.try_get("section_id")?,
        slug: r.try_get("slug")?,
        headline: r.try_get("headline")?,
        lead: r.try_get("lead")?,
        body_source: r.try_get("body_source")?,
        body_format: r.try_get("body_format")?,
        status: r.try_get("status")?,
        actor: r.try_get("actor")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
    })
}

fn desk_row(r: &AnyRow) -> Result<DeskRow> {
    Ok(DeskRow {
        news_id: r.try_get("news_id")?,
        headline: r.try_get("headline")?,
        status: r.try_get("status")?,
        section: r.try_get("section")?,
        modified_at: r.try_get("modified_at")?,
        published_at: r.try_get("published_at")?,
        scheduled_at: r.try_get("scheduled_at")?,
        created_by: r.try_get("created_by")?,
        version: r.try_get("version")?,
        edition_id: r.try_get("edition_id")?,
        urgency: r.try_get("urgency")?,
        slugline: r.try_get("slugline")?,
    })
}

impl crate::Reads {
    /// [`Store::corrections`] on this connection.
    pub async fn corrections(&mut self, news_id: NewsId) -> Result<Vec<Correction>> {
        let rows = self
            .fetch_all(
                sqlx::query(
                    "SELECT id, news_id, note, actor, created_at FROM story_corrections WHERE news_id = $1 \
             ORDER BY created_at, id",
                )
                .bind(news_id),
            )
            .await?;
        rows.iter().map(correction_from).collect()
    }

    /// [`Store::story_extras`] on this connection.
    pub async fn story_extras(&mut self, news_id: NewsId) -> Result<Option<StoryExtras>> {
        let row = self
            .fetch_optional(
                sqlx::query(
                    "SELECT created_by, editorial_note, correction_note, public_note, scheduled_at, \
             (SELECT sp.spiked_at FROM story_spikes sp WHERE sp.news_id = stories.news_id) AS spiked_at \
             FROM stories WHERE news_id = $1",
                )
                .bind(news_id),
            )
            .await?;
        row.map(|r| {
            Ok(StoryExtras {
                created_by: r.try_get("created_by")?,
                editorial_note: r.try_get("editorial_note")?,
                correction_note: r.try_get("correction_note")?,
                public_note: r.try_get("public_note")?,
                scheduled_at: r.try_get::<Option<i64>, _>("scheduled_at")?.map(from_unix),
                spiked_at: r.try_get::<Option<i64>, _>("spiked_at")?.map(from_unix),
            })
        })
        .transpose()
    }
}
