//! Desks and stages (as in Superdesk): a desk has members and ordered stages,
//! and a story sits on at most one desk, in one of its stages, maybe assigned
//! to one of its members. Where a story is on the desks says nothing about
//! its public section. Every write commits with its audit entry; the rules of
//! who may do what are the newsroom core's (`newsdesk_web::desk::boards`).

use chrono::{DateTime, Utc};
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::{Direction, StoryStatus};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::sql::Args;
use crate::{AuditEntry, Result, Store, StoreError};

/// Most stories one board query returns (newest moves first).
pub const BOARD_LIMIT: i64 = 500;

/// A desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desk {
    /// Row id.
    pub id: i64,
    /// Unique name ("World", "Persian service").
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The urgency stories fetched onto it start with when their source
    /// gives none (`None`: the house default, 4).
    pub default_urgency: Option<i64>,
}

/// A desk in a list, with its sizes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskSummary {
    /// The desk.
    pub desk: Desk,
    /// How many members it has.
    pub members: i64,
    /// How many stories are on it.
    pub stories: i64,
}

/// One stage of a desk's workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskStage {
    /// Row id.
    pub id: i64,
    /// The desk.
    pub desk_id: i64,
    /// Name, unique on the desk ("Incoming").
    pub name: String,
    /// Order on the desk, smallest first.
    pub position: i64,
}

/// A member of a desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskMember {
    /// User id.
    pub user_id: i64,
    /// Display name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

/// Where a story is on the desks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryPlace {
    /// The story.
    pub news_id: i64,
    /// Its desk.
    pub desk_id: i64,
    /// Its stage on that desk.
    pub stage_id: i64,
    /// Who it is assigned to, if anyone.
    pub assignee_id: Option<i64>,
    /// When it last moved.
    pub moved_at: DateTime<Utc>,
    /// Who moved it last.
    pub moved_by: Option<i64>,
}

/// A story as a board shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardCard {
    /// Where it is.
    pub place: StoryPlace,
    /// The desk's name.
    pub desk_name: String,
    /// The stage's name.
    pub stage_name: String,
    /// Headline, in the edition's language.
    pub headline: String,
    /// The edition's language, for `lang`.
    pub lang: String,
    /// The edition's direction, for `dir`.
    pub direction: Direction,
    /// The story's public section (name).
    pub section: String,
    /// Workflow state.
    pub status: StoryStatus,
    /// Who created the story.
    pub created_by: Option<i64>,
    /// The assignee's name.
    pub assignee_name: Option<String>,
    /// When the story was last saved.
    pub modified_at: DateTime<Utc>,
    /// Urgency, 1 (flash) … 8: the board lists the most urgent first.
    pub urgency: i64,
    /// The desk's short name of the story (may be empty).
    pub slugline: String,
}

/// Which stories a board query returns.
#[derive(Debug, Clone, Default)]
pub struct BoardFilter {
    /// Only this desk's.
    pub desk_id: Option<i64>,
    /// Only those assigned to this user.
    pub assignee_id: Option<i64>,
    /// Only those in this state.
    pub status: Option<StoryStatus>,
}

fn desk_from_row(r: &AnyRow) -> Result<Desk> {
    Ok(Desk {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_at: from_unix(r.try_get("created_at")?),
        default_urgency: r.try_get("default_urgency")?,
    })
}

fn stage_from_row(r: &AnyRow) -> Result<DeskStage> {
    Ok(DeskStage {
        id: r.try_get("id")?,
        desk_id: r.try_get("desk_id")?,
        name: r.try_get("name")?,
        position: r.try_get("position")?,
    })
}

fn place_from_row(r: &AnyRow) -> Result<StoryPlace> {
    Ok(StoryPlace {
        news_id: r.try_get("news_id")?,
        desk_id: r.try_get("desk_id")?,
        stage_id: r.try_get("stage_id")?,
        assignee_id: r.try_get("assignee_id")?,
        moved_at: from_unix(r.try_get("moved_at")?),
        moved_by: r.try_get("moved_by")?,
    })
}

const STAGE_COLUMNS: &str = "id, desk_id, name, position";
const PLACE_COLUMNS: &str = "news_id, desk_id, stage_id, assignee_id, moved_at, moved_by";

/// A unique violation as the field it concerns; anything else as it is.
fn taken(e: sqlx::Error, field: &'static str) -> StoreError {
    if StoreError::is_unique_violation(&e) { StoreError::Conflict { field } } else { e.into() }
}

/// `audit` with `target_id` when it names none and `detail` when it has none.
fn completed(audit: &AuditEntry, target_id: impl ToString, detail: String) -> AuditEntry {
    AuditEntry {
        target_id: if audit.target_id.is_empty() { target_id.to_string() } else { audit.target_id.clone() },
        detail: if audit.detail.is_empty() { detail } else { audit.detail.clone() },
        ..audit.clone()
    }
}

async fn stage_in(conn: &mut AnyConnection, stage_id: i64) -> Result<Option<DeskStage>> {
    let row = sqlx::query(&format!("SELECT {STAGE_COLUMNS} FROM desk_stages WHERE id = $1"))
        .bind(stage_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(stage_from_row).transpose()
}

/// Records a move on the desks in the change log, so that each node's
/// newsroom search (which filters by desk, stage and assignee) follows it.
/// Pages and webhooks see no change in the story itself.
async fn desk_change(conn: &mut sqlx::AnyConnection, news_id: i64) -> Result<()> {
    let edition_id: Option<i64> = sqlx::query_scalar("SELECT edition_id FROM stories WHERE news_id = $1")
        .bind(news_id)
        .fetch_optional(&mut *conn)
        .await?;
    match edition_id {
        Some(e) => crate::content::record_change(conn, news_id, e).await,
        None => Ok(()),
    }
}

async fn desk_name_in(conn: &mut AnyConnection, desk_id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT name FROM desks WHERE id = $1").bind(desk_id).fetch_optional(&mut *conn).await?)
}

async fn is_member_in(conn: &mut AnyConnection, desk_id: i64, user_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM desk_members WHERE desk_id = $1 AND user_id = $2")
        .bind(desk_id)
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n > 0)
}

impl Store {
    /// Creates desk `name` with `stages` in that order; `audit` (its empty
    /// target id becomes the desk's id) commits with it. A taken name is
    /// [`StoreError::Conflict`] on `name`.
    pub async fn create_desk(
        &self,
        name: &str,
        stages: &[&str],
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<Desk> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "INSERT INTO desks (name, created_at) VALUES ($1, $2) RETURNING id, name, created_at, default_urgency",
        )
        .bind(name)
        .bind(now.timestamp())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| taken(e, "name"))?;
        let desk = desk_from_row(&row)?;
        for (i, stage) in stages.iter().enumerate() {
            sqlx::query("INSERT INTO desk_stages (desk_id, name, position) VALUES ($1, $2, $3)")
                .bind(desk.id)
                .bind(*stage)
                .bind(i as i64 + 1)
                .execute(&mut *tx)
                .await
                .map_err(|e| taken(e, "stage name"))?;
        }
        audit_in(&mut tx, &completed(audit, desk.id, format!("{} ({})", desk.name, stages.join(", ")))).await?;
        tx.commit().await?;
        Ok(desk)
    }

    /// Sets the urgency stories fetched onto desk `desk_id` start with
    /// (`None`: the house default); 1–8, else [`StoreError::Invalid`].
    pub async fn set_desk_default_urgency(&self, desk_id: i64, urgency: Option<i64>, audit: &AuditEntry) -> Result<()> {
        if urgency.is_some_and(|u| !(1..=8).contains(&u)) {
            return Err(StoreError::Invalid("The default urgency must be from 1 to 8.".into()));
        }
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE desks SET default_urgency = $2 WHERE id = $1")
            .bind(desk_id)
            .bind(urgency)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(StoreError::Invalid(format!("There is no desk {desk_id}.")));
        }
        let detail =
            urgency.map_or("default urgency: the house default".to_string(), |u| format!("default urgency: {u}"));
        audit_in(&mut tx, &completed(audit, desk_id, detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The desk with id `id`.
    pub async fn desk(&self, id: i64) -> Result<Option<Desk>> {
        let row = sqlx::query("SELECT id, name, created_at, default_urgency FROM desks WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(desk_from_row).transpose()
    }

    /// Every desk by name, or only those `member_of` is a member of.
    pub async fn desk_list(&self, member_of: Option<i64>) -> Result<Vec<DeskSummary>> {
        let mut args = Args::new();
        let filter = match member_of {
            Some(u) => format!("WHERE d.id IN (SELECT desk_id FROM desk_members WHERE user_id = {})", args.push(u)),
            None => String::new(),
        };
        let sql = format!(
            "SELECT d.id, d.name, d.created_at, d.default_urgency, \
             (SELECT COUNT(*) FROM desk_members m WHERE m.desk_id = d.id) AS members, \
             (SELECT COUNT(*) FROM story_desks s WHERE s.desk_id = d.id) AS stories \
             FROM desks d {filter} ORDER BY d.name, d.id"
        );
        let rows = args.bind_to(sqlx::query(&sql)).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(DeskSummary {
                    desk: desk_from_row(r)?,
                    members: r.try_get("members")?,
                    stories: r.try_get("stories")?,
                })
            })
            .collect()
    }

    /// A desk's stages in order.
    pub async fn desk_stages(&self, desk_id: i64) -> Result<Vec<DeskStage>> {
        let rows =
            sqlx::query(&format!("SELECT {STAGE_COLUMNS} FROM desk_stages WHERE desk_id = $1 ORDER BY position, id"))
                .bind(desk_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(stage_from_row).collect()
    }

    /// The stage with id `id`.
    pub async fn desk_stage(&self, id: i64) -> Result<Option<DeskStage>> {
        let mut conn = self.pool().acquire().await?;
        stage_in(&mut conn, id).await
    }

    /// A desk's members by name.
    pub async fn desk_members(&self, desk_id: i64) -> Result<Vec<DeskMember>> {
        let rows = sqlx::query(
            "SELECT u.id, u.name, u.email FROM desk_members m JOIN users u ON u.id = m.user_id \
             WHERE m.desk_id = $1 ORDER BY u.name, u.id",
        )
        .bind(desk_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(DeskMember { user_id: r.try_get("id")?, name: r.try_get("name")?, email: r.try_get("email")? }))
            .collect()
    }

    /// Whether `user_id` is a member of desk `desk_id`.
    pub async fn is_desk_member(&self, desk_id: i64, user_id: i64) -> Result<bool> {
        let mut conn = self.pool().acquire().await?;
        is_member_in(&mut conn, desk_id, user_id).await
    }

    /// Makes `user_id` a member of desk `desk_id` (`member`) or not. Leaving a
    /// desk leaves its stories unassigned where they were the user's. Returns
    /// whether anything changed; the audit entry is written only then.
    pub async fn set_desk_member(&self, desk_id: i64, user_id: i64, member: bool, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let changed = if member {
            sqlx::query("INSERT INTO desk_members (desk_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(desk_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        } else {
            let n = sqlx::query("DELETE FROM desk_members WHERE desk_id = $1 AND user_id = $2")
                .bind(desk_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("UPDATE story_desks SET assignee_id = NULL WHERE desk_id = $1 AND assignee_id = $2")
                .bind(desk_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            n
        };
        if changed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        audit_in(&mut tx, &completed(audit, desk_id, format!("user {user_id}"))).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Adds stage `name` at the end of desk `desk_id`.
    pub async fn add_desk_stage(&self, desk_id: i64, name: &str, audit: &AuditEntry) -> Result<DeskStage> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO desk_stages (desk_id, name, position) \
             SELECT $1, $2, COALESCE(MAX(position), 0) + 1 FROM desk_stages WHERE desk_id = $1 \
             RETURNING {STAGE_COLUMNS}"
        ))
        .bind(desk_id)
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| taken(e, "stage name"))?;
        let stage = stage_from_row(&row)?;
        audit_in(&mut tx, &completed(audit, desk_id, format!("stage {} added", stage.name))).await?;
        tx.commit().await?;
        Ok(stage)
    }

    /// Renames stage `stage_id`.
    pub async fn rename_desk_stage(&self, stage_id: i64, name: &str, audit: &AuditEntry) -> Result<DeskStage> {
        let mut tx = self.begin_write().await?;
        let before = stage_in(&mut tx, stage_id).await?.ok_or_else(|| no_stage(stage_id))?;
        let row = sqlx::query(&format!("UPDATE desk_stages SET name = $2 WHERE id = $1 RETURNING {STAGE_COLUMNS}"))
            .bind(stage_id)
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| taken(e, "stage name"))?;
        let stage = stage_from_row(&row)?;
        let detail = format!("stage {} renamed to {}", before.name, stage.name);
        audit_in(&mut tx, &completed(audit, stage.desk_id, detail)).await?;
        tx.commit().await?;
        Ok(stage)
    }

    /// Swaps stage `stage_id` with the stage before it (`earlier`) or after
    /// it; whether it moved (the first stage cannot move earlier).
    pub async fn move_desk_stage(&self, stage_id: i64, earlier: bool, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let stage = stage_in(&mut tx, stage_id).await?.ok_or_else(|| no_stage(stage_id))?;
        let (cmp, order) = if earlier { ("<", "DESC") } else { (">", "ASC") };
        let neighbour = sqlx::query(&format!(
            "SELECT {STAGE_COLUMNS} FROM desk_stages WHERE desk_id = $1 AND (position {cmp} $2 OR (position = $2 AND id {cmp} $3)) \
             ORDER BY position {order}, id {order} LIMIT 1"
        ))
        .bind(stage.desk_id)
        .bind(stage.position)
        .bind(stage.id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(other) = neighbour.as_ref().map(stage_from_row).transpose()? else {
            tx.rollback().await?;
            return Ok(false);
        };
        // Equal positions (never written by us) still swap into a strict order.
        let (mine, theirs) = if other.position == stage.position {
            if earlier { (stage.position - 1, stage.position) } else { (stage.position + 1, stage.position) }
        } else {
            (other.position, stage.position)
        };
        for (id, pos) in [(stage.id, mine), (other.id, theirs)] {
            sqlx::query("UPDATE desk_stages SET position = $2 WHERE id = $1")
                .bind(id)
                .bind(pos)
                .execute(&mut *tx)
                .await?;
        }
        let detail = format!("stage {} moved {} {}", stage.name, if earlier { "before" } else { "after" }, other.name);
        audit_in(&mut tx, &completed(audit, stage.desk_id, detail)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes stage `stage_id`: refused ([`StoreError::Invalid`]) while a
    /// story is in it or when it is its desk's last stage.
    pub async fn delete_desk_stage(&self, stage_id: i64, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let stage = stage_in(&mut tx, stage_id).await?.ok_or_else(|| no_stage(stage_id))?;
        let stories: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM story_desks WHERE stage_id = $1")
            .bind(stage_id)
            .fetch_one(&mut *tx)
            .await?;
        let stages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM desk_stages WHERE desk_id = $1")
            .bind(stage.desk_id)
            .fetch_one(&mut *tx)
            .await?;
        if stories > 0 {
            tx.rollback().await?;
            return Err(StoreError::Invalid(format!(
                "The stage “{}” still holds {stories} stor{}; move {} to another stage first.",
                stage.name,
                if stories == 1 { "y" } else { "ies" },
                if stories == 1 { "it" } else { "them" }
            )));
        }
        if stages <= 1 {
            tx.rollback().await?;
            return Err(StoreError::Invalid(format!("“{}” is the desk's only stage; a desk needs one.", stage.name)));
        }
        sqlx::query("DELETE FROM desk_stages WHERE id = $1").bind(stage_id).execute(&mut *tx).await?;
        audit_in(&mut tx, &completed(audit, stage.desk_id, format!("stage {} deleted", stage.name))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where story `news_id` is on the desks, if on one.
    pub async fn story_place(&self, news_id: i64) -> Result<Option<StoryPlace>> {
        let row = sqlx::query(&format!("SELECT {PLACE_COLUMNS} FROM story_desks WHERE news_id = $1"))
            .bind(news_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(place_from_row).transpose()
    }

    /// Puts story `news_id` on desk `desk_id`, in stage `stage_id` (its first
    /// stage when `None`), moved by `by` at `now`. A stage of another desk is
    /// refused ([`StoreError::Invalid`]). The assignee stays while they are a
    /// member of the desk the story is on now. The audit entry's empty detail
    /// becomes where it went from and to.
    pub async fn place_story(
        &self,
        news_id: i64,
        desk_id: i64,
        stage_id: Option<i64>,
        by: i64,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<StoryPlace> {
        self.place_story_by(news_id, desk_id, stage_id, Some(by), now, audit).await
    }

    /// [`Store::place_story`], moved by user `by` or (`None`) by the
    /// newsroom itself (routing's automatic fetches).
    pub async fn place_story_by(
        &self,
        news_id: i64,
        desk_id: i64,
        stage_id: Option<i64>,
        by: Option<i64>,
        now: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<StoryPlace> {
        let mut tx = self.begin_write().await?;
        let desk = desk_name_in(&mut tx, desk_id)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("There is no desk {desk_id}.")))?;
        let stage = match stage_id {
            Some(s) => stage_in(&mut tx, s).await?.ok_or_else(|| no_stage(s))?,
            None => {
                let row = sqlx::query(&format!(
                    "SELECT {STAGE_COLUMNS} FROM desk_stages WHERE desk_id = $1 ORDER BY position, id LIMIT 1"
                ))
                .bind(desk_id)
                .fetch_optional(&mut *tx)
                .await?;
                row.as_ref()
                    .map(stage_from_row)
                    .transpose()?
                    .ok_or_else(|| StoreError::Invalid(format!("The desk “{desk}” has no stage.")))?
            }
        };
        if stage.desk_id != desk_id {
            tx.rollback().await?;
            return Err(StoreError::Invalid(format!(
                "The stage “{}” belongs to another desk than “{desk}”; choose one of this desk's stages.",
                stage.name
            )));
        }
        let before = sqlx::query(
            "SELECT d.name AS desk, s.name AS stage FROM story_desks p \
             JOIN desks d ON d.id = p.desk_id JOIN desk_stages s ON s.id = p.stage_id WHERE p.news_id = $1",
        )
        .bind(news_id)
        .fetch_optional(&mut *tx)
        .await?;
        let from = match before {
            Some(r) => format!("{} › {}", r.try_get::<String, _>("desk")?, r.try_get::<String, _>("stage")?),
            None => "no desk".to_string(),
        };
        let row = sqlx::query(&format!(
            "INSERT INTO story_desks ({PLACE_COLUMNS}) VALUES ($1, $2, $3, NULL, $4, $5) \
             ON CONFLICT (news_id) DO UPDATE SET desk_id = excluded.desk_id, stage_id = excluded.stage_id, \
             moved_at = excluded.moved_at, moved_by = excluded.moved_by, \
             assignee_id = CASE WHEN EXISTS (SELECT 1 FROM desk_members m \
                 WHERE m.desk_id = excluded.desk_id AND m.user_id = story_desks.assignee_id) \
                 THEN story_desks.assignee_id ELSE NULL END \
             RETURNING {PLACE_COLUMNS}"
        ))
        .bind(news_id)
        .bind(desk_id)
        .bind(stage.id)
        .bind(now.timestamp())
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
        let place = place_from_row(&row)?;
        desk_change(&mut tx, news_id).await?;
        audit_in(&mut tx, &completed(audit, news_id, format!("{from} → {desk} › {}", stage.name))).await?;
        tx.commit().await?;
        Ok(place)
    }

    /// Assigns story `news_id` (on a desk) to `assignee` (a member of that
    /// desk), or to nobody.
    pub async fn assign_story(&self, news_id: i64, assignee: Option<i64>, audit: &AuditEntry) -> Result<StoryPlace> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!("SELECT {PLACE_COLUMNS} FROM story_desks WHERE news_id = $1"))
            .bind(news_id)
            .fetch_optional(&mut *tx)
            .await?;
        let place = row
            .as_ref()
            .map(place_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::Invalid(format!("Story {news_id} is on no desk; put it on one first.")))?;
        let detail = match assignee {
            Some(user) => {
                if !is_member_in(&mut tx, place.desk_id, user).await? {
                    tx.rollback().await?;
                    return Err(StoreError::Invalid(format!(
                        "User {user} is not a member of the story's desk; only members can be assigned."
                    )));
                }
                let name: String =
                    sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(user).fetch_one(&mut *tx).await?;
                format!("assigned to {name}")
            }
            None => "unassigned".to_string(),
        };
        let row = sqlx::query(&format!(
            "UPDATE story_desks SET assignee_id = $2 WHERE news_id = $1 RETURNING {PLACE_COLUMNS}"
        ))
        .bind(news_id)
        .bind(assignee)
        .fetch_one(&mut *tx)
        .await?;
        let place = place_from_row(&row)?;
        desk_change(&mut tx, news_id).await?;
        audit_in(&mut tx, &completed(audit, news_id, detail)).await?;
        tx.commit().await?;
        Ok(place)
    }

    /// Takes story `news_id` off its desk; whether it was on one.
    pub async fn remove_story_from_desk(&self, news_id: i64, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM story_desks WHERE news_id = $1").bind(news_id).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        desk_change(&mut tx, news_id).await?;
        audit_in(&mut tx, &completed(audit, news_id, "taken off its desk".into())).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The stories on the desks that `filter` selects, the most urgent first
    /// and among equally urgent ones the most recently moved (at most [`BOARD_LIMIT`]).
    pub async fn board_cards(&self, filter: &BoardFilter) -> Result<Vec<BoardCard>> {
        let mut args = Args::new();
        let mut clauses = Vec::new();
        if let Some(d) = filter.desk_id {
            clauses.push(format!("p.desk_id = {}", args.push(d)));
        }
        if let Some(a) = filter.assignee_id {
            clauses.push(format!("p.assignee_id = {}", args.push(a)));
        }
        if let Some(s) = filter.status {
            clauses.push(format!("s.status = {}", args.push(s.as_str())));
        }
        let filter = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
        let sql = format!(
            "SELECT p.news_id, p.desk_id, p.stage_id, p.assignee_id, p.moved_at, p.moved_by, \
             d.name AS desk_name, st.name AS stage_name, s.headline, s.status, s.created_by, s.modified_at, \
             s.urgency, s.slugline, \
             e.lang, e.direction, sec.name AS section, u.name AS assignee_name \
             FROM story_desks p \
             JOIN stories s ON s.news_id = p.news_id \
             JOIN editions e ON e.id = s.edition_id \
             JOIN sections sec ON sec.id = s.section_id \
             JOIN desks d ON d.id = p.desk_id \
             JOIN desk_stages st ON st.id = p.stage_id \
             LEFT JOIN users u ON u.id = p.assignee_id \
             {filter} ORDER BY s.urgency, p.moved_at DESC, p.news_id DESC LIMIT {BOARD_LIMIT}"
        );
        let rows = args.bind_to(sqlx::query(&sql)).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(BoardCard {
                    place: place_from_row(r)?,
                    desk_name: r.try_get("desk_name")?,
                    stage_name: r.try_get("stage_name")?,
                    headline: r.try_get("headline")?,
                    lang: r.try_get("lang")?,
                    direction: Direction::parse(&r.try_get::<String, _>("direction")?),
                    section: r.try_get("section")?,
                    status: StoryStatus::parse(&status)
                        .ok_or_else(|| StoreError::Invalid(format!("unknown story status `{status}`")))?,
                    created_by: r.try_get("created_by")?,
                    assignee_name: r.try_get("assignee_name")?,
                    modified_at: from_unix(r.try_get("modified_at")?),
                    urgency: r.try_get("urgency")?,
                    slugline: r.try_get("slugline")?,
                })
            })
            .collect()
    }

    /// How many stories each stage of desk `desk_id` holds, as `(stage_id, n)`.
    pub async fn desk_stage_counts(&self, desk_id: i64) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query("SELECT stage_id, COUNT(*) AS n FROM story_desks WHERE desk_id = $1 GROUP BY stage_id")
            .bind(desk_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((r.try_get("stage_id")?, r.try_get("n")?))).collect()
    }
}

fn no_stage(id: i64) -> StoreError {
    StoreError::Invalid(format!("There is no stage {id}."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;

    backend_test!(
        async fn stages_are_added_reordered_and_only_empty_ones_deleted(db) {
            let audit = AuditEntry::system("test", "desk.create", "desk", "", "");
            let desk = db.store.create_desk("World", &["Incoming", "Working", "Ready"], Utc::now(), &audit).await.expect("desk");
            let again = db.store.create_desk("World", &["Incoming"], Utc::now(), &audit).await;
            assert!(matches!(again, Err(StoreError::Conflict { field: "name" })), "{again:?}");
            let names = |v: Vec<DeskStage>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
            let stages = db.store.desk_stages(desk.id).await.expect("stages");
            assert_eq!(names(stages.clone()), ["Incoming", "Working", "Ready"]);
            let edit = AuditEntry::system("test", "desk.stage", "desk", "", "");
            db.store.add_desk_stage(desk.id, "Legal", &edit).await.expect("add");
            assert!(matches!(db.store.add_desk_stage(desk.id, "Legal", &edit).await, Err(StoreError::Conflict { .. })));
            assert!(db.store.move_desk_stage(stages[2].id, true, &edit).await.expect("move"));
            assert!(!db.store.move_desk_stage(stages[0].id, true, &edit).await.expect("first stays"));
            db.store.rename_desk_stage(stages[1].id, "Editing", &edit).await.expect("rename");
            assert_eq!(names(db.store.desk_stages(desk.id).await.expect("stages")), ["Incoming", "Ready", "Editing", "Legal"]);
            db.store.delete_desk_stage(stages[1].id, &edit).await.expect("an empty stage goes");
            assert_eq!(names(db.store.desk_stages(desk.id).await.expect("stages")), ["Incoming", "Ready", "Legal"]);
            // Each write left its audit line, the failed ones none.
            let log = db.store.audit_log(Some(("desk", &desk.id.to_string())), 20).await.expect("audit");
            assert_eq!(log.len(), 5, "{log:?}");
        }
    );
}
