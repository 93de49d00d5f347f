//! Routing rules (`routing_rules`) and the routes they gave wire items
//! (`ingest_routes`). Storing a batch of items ([`Store::ingest_items`])
//! routes each new guid in the same transaction, so every caller (the
//! `ingest` command, the sources' pollers) routes the same way; the matching
//! itself is the domain's ([`newsdesk_domain::routing`]). Automatic fetches
//! are made afterwards by the newsroom core, which claims each pending route
//! once ([`Store::claim_auto_fetch`]) so two nodes never make two drafts.

use chrono::{DateTime, Utc};
use newsdesk_domain::ingest::IncomingItem;
use newsdesk_domain::routing::{Conditions, first_match};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::content::now;
use crate::sql::finish;
use crate::{AuditEntry, Result, Store, StoreError};

/// A routing rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRule {
    /// Row id.
    pub id: i64,
    /// Order: the first matching rule (smallest position) wins.
    pub position: i64,
    /// What it takes.
    pub conditions: Conditions,
    /// Where it sends.
    pub desk_id: i64,
    /// The desk's name.
    pub desk_name: String,
    /// Whether a draft is made on the desk at once.
    pub auto_fetch: bool,
    /// The section of automatic drafts.
    pub section_id: Option<i64>,
}

/// A rule as written (checked by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInput {
    /// What it takes.
    pub conditions: Conditions,
    /// Where it sends.
    pub desk_id: i64,
    /// Whether a draft is made on the desk at once.
    pub auto_fetch: bool,
    /// The section of automatic drafts (required with `auto_fetch`).
    pub section_id: Option<i64>,
}

/// Where routing sent an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestRoute {
    /// The item's source.
    pub source: String,
    /// The item's guid.
    pub guid: String,
    /// The desk.
    pub desk_id: i64,
    /// The desk's name.
    pub desk_name: String,
    /// The rule that matched (`None` once it is deleted).
    pub rule_id: Option<i64>,
    /// The section of an automatic draft.
    pub section_id: Option<i64>,
    /// When it was routed.
    pub routed_at: DateTime<Utc>,
    /// `none`, `pending`, `claimed`, `done` or `failed`.
    pub fetch: String,
    /// Why an automatic fetch failed.
    pub fetch_note: String,
    /// The automatic draft.
    pub news_id: Option<i64>,
}

fn strings(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn json(v: &[String]) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("cannot write JSON: {e}")))
}

const RULE_COLUMNS: &str = "r.id, r.position, r.source, r.subjects, r.keywords, r.max_urgency, r.desk_id, \
     d.name AS desk_name, r.auto_fetch, r.section_id";

fn rule_from_row(r: &AnyRow) -> Result<RoutingRule> {
    Ok(RoutingRule {
        id: r.try_get("id")?,
        position: r.try_get("position")?,
        conditions: Conditions {
            source: r.try_get("source")?,
            subjects: strings(&r.try_get::<String, _>("subjects")?),
            keywords: strings(&r.try_get::<String, _>("keywords")?),
            max_urgency: r.try_get::<Option<i64>, _>("max_urgency")?.and_then(|u| u8::try_from(u).ok()),
        },
        desk_id: r.try_get("desk_id")?,
        desk_name: r.try_get("desk_name")?,
        auto_fetch: r.try_get::<i64, _>("auto_fetch")? != 0,
        section_id: r.try_get("section_id")?,
    })
}

fn route_from_row(r: &AnyRow) -> Result<IngestRoute> {
    Ok(IngestRoute {
        source: r.try_get("source")?,
        guid: r.try_get("guid")?,
        desk_id: r.try_get("desk_id")?,
        desk_name: r.try_get("desk_name")?,
        rule_id: r.try_get("rule_id")?,
        section_id: r.try_get("section_id")?,
        routed_at: DateTime::from_timestamp(r.try_get("routed_at")?, 0).unwrap_or_default(),
        fetch: r.try_get("fetch_state")?,
        fetch_note: r.try_get("fetch_note")?,
        news_id: r.try_get("news_id")?,
    })
}

async fn rules_in(conn: &mut AnyConnection) -> Result<Vec<RoutingRule>> {
    let rows = sqlx::query(&format!(
        "SELECT {RULE_COLUMNS} FROM routing_rules r JOIN desks d ON d.id = r.desk_id ORDER BY r.position, r.id"
    ))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(rule_from_row).collect()
}

/// Routes a new item (a guid not seen before from `source`) by the first
/// matching rule of `rules`; records nothing when none matches.
pub(crate) async fn route_in(
    conn: &mut AnyConnection,
    rules: &[RoutingRule],
    source: &str,
    item: &IncomingItem,
) -> Result<()> {
    let Some(i) = first_match(rules.iter().map(|r| &r.conditions), source, item) else { return Ok(()) };
    let rule = &rules[i];
    sqlx::query(
        "INSERT INTO ingest_routes (source, guid, desk_id, rule_id, section_id, routed_at, fetch_state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source, guid) DO NOTHING",
    )
    .bind(source)
    .bind(&item.guid)
    .bind(rule.desk_id)
    .bind(rule.id)
    .bind(rule.section_id)
    .bind(now())
    .bind(if rule.auto_fetch { "pending" } else { "none" })
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The rules a batch of items is routed by (read once per batch).
pub(crate) async fn rules_for_batch(conn: &mut AnyConnection) -> Result<Vec<RoutingRule>> {
    rules_in(conn).await
}

async fn check_refs(conn: &mut AnyConnection, input: &RuleInput) -> Result<()> {
    if sqlx::query("SELECT id FROM desks WHERE id = $1").bind(input.desk_id).fetch_optional(&mut *conn).await?.is_none()
    {
        return Err(StoreError::Invalid(format!("There is no desk {}.", input.desk_id)));
    }
    if let Some(s) = input.section_id
        && sqlx::query("SELECT id FROM sections WHERE id = $1").bind(s).fetch_optional(&mut *conn).await?.is_none()
    {
        return Err(StoreError::Invalid(format!("There is no section {s}.")));
    }
    if input.auto_fetch && input.section_id.is_none() {
        return Err(StoreError::Invalid("A rule that fetches needs the drafts' section.".into()));
    }
    Ok(())
}

fn describe(input: &RuleInput) -> String {
    let c = &input.conditions;
    format!(
        "source “{}”, topics [{}], keywords [{}], urgency ≤ {} → desk {}{}",
        c.source,
        c.subjects.join(", "),
        c.keywords.join(", "),
        c.max_urgency.map_or("any".to_string(), |u| u.to_string()),
        input.desk_id,
        if input.auto_fetch { ", fetch" } else { "" }
    )
}

async fn write_rule(tx: &mut AnyConnection, id: Option<i64>, input: &RuleInput, audit: &AuditEntry) -> Result<i64> {
    check_refs(tx, input).await?;
    let c = &input.conditions;
    let at = now();
    let id = match id {
        None => {
            let row = sqlx::query(
                "INSERT INTO routing_rules (position, source, subjects, keywords, max_urgency, desk_id, auto_fetch, \
                 section_id, created_at, updated_at) \
                 VALUES ((SELECT COALESCE(MAX(position), 0) + 1 FROM routing_rules), $1, $2, $3, $4, $5, $6, $7, \
                 $8, $8) RETURNING id",
            )
            .bind(&c.source)
            .bind(json(&c.subjects)?)
            .bind(json(&c.keywords)?)
            .bind(c.max_urgency.map(i64::from))
            .bind(input.desk_id)
            .bind(i64::from(input.auto_fetch))
            .bind(input.section_id)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            row.try_get("id")?
        }
        Some(id) => {
            let done = sqlx::query(
                "UPDATE routing_rules SET source = $2, subjects = $3, keywords = $4, max_urgency = $5, desk_id = $6, \
                 auto_fetch = $7, section_id = $8, updated_at = $9 WHERE id = $1",
            )
            .bind(id)
            .bind(&c.source)
            .bind(json(&c.subjects)?)
            .bind(json(&c.keywords)?)
            .bind(c.max_urgency.map(i64::from))
            .bind(input.desk_id)
            .bind(i64::from(input.auto_fetch))
            .bind(input.section_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Invalid(format!("There is no routing rule {id}.")));
            }
            id
        }
    };
    let entry = AuditEntry { target_id: id.to_string(), detail: describe(input), ..audit.clone() };
    audit_in(tx, &entry).await?;
    Ok(id)
}

impl Store {
    /// Every routing rule, in the order they are tried.
    pub async fn routing_rules(&self) -> Result<Vec<RoutingRule>> {
        let mut conn = self.pool().acquire().await?;
        rules_in(&mut conn).await
    }

    /// Rule `id`, if there is one.
    pub async fn routing_rule(&self, id: i64) -> Result<Option<RoutingRule>> {
        let row = sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM routing_rules r JOIN desks d ON d.id = r.desk_id WHERE r.id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(rule_from_row).transpose()
    }

    /// Adds a rule at the end of the order, with its audit entry; returns its id.
    pub async fn create_routing_rule(&self, input: &RuleInput, audit: &AuditEntry) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let r = write_rule(&mut tx, None, input, audit).await;
        finish(tx, r).await
    }

    /// Changes rule `id` (keeping its place), with its audit entry.
    pub async fn update_routing_rule(&self, id: i64, input: &RuleInput, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let r = write_rule(&mut tx, Some(id), input, audit).await.map(|_| ());
        finish(tx, r).await
    }

    /// Deletes rule `id` with its audit entry; whether there was one. Items
    /// it routed stay on their desks.
    pub async fn delete_routing_rule(&self, id: i64, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let r = async {
            let done = sqlx::query("DELETE FROM routing_rules WHERE id = $1").bind(id).execute(&mut *tx).await?;
            if done.rows_affected() > 0 {
                audit_in(&mut tx, &AuditEntry { target_id: id.to_string(), ..audit.clone() }).await?;
            }
            Ok(done.rows_affected() > 0)
        }
        .await;
        finish(tx, r).await
    }

    /// Moves rule `id` one place earlier (`up`) or later, swapping with its
    /// neighbour, with its audit entry; whether it moved.
    pub async fn move_routing_rule(&self, id: i64, up: bool, audit: &AuditEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let r = async {
            let rules = rules_in(&mut tx).await?;
            let Some(i) = rules.iter().position(|r| r.id == id) else {
                return Err(StoreError::Invalid(format!("There is no routing rule {id}.")));
            };
            let j = if up { i.checked_sub(1) } else { Some(i + 1).filter(|j| *j < rules.len()) };
            let Some(j) = j else { return Ok(false) };
            // Positions are renumbered 1..n in the new order, so equal positions cannot tie.
            let mut order: Vec<i64> = rules.iter().map(|r| r.id).collect();
            order.swap(i, j);
            for (n, rid) in order.iter().enumerate() {
                sqlx::query("UPDATE routing_rules SET position = $2 WHERE id = $1")
                    .bind(*rid)
                    .bind(n as i64 + 1)
                    .execute(&mut *tx)
                    .await?;
            }
            audit_in(&mut tx, &AuditEntry { target_id: id.to_string(), ..audit.clone() }).await?;
            Ok(true)
        }
        .await;
        finish(tx, r).await
    }

    /// Where routing sent item `guid` of `source`, if anywhere.
    pub async fn ingest_route(&self, source: &str, guid: &str) -> Result<Option<IngestRoute>> {
        let row = sqlx::query(
            "SELECT r.*, d.name AS desk_name FROM ingest_routes r JOIN desks d ON d.id = r.desk_id \
             WHERE r.source = $1 AND r.guid = $2",
        )
        .bind(source)
        .bind(guid)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(route_from_row).transpose()
    }

    /// Routes waiting for their automatic draft, oldest first.
    pub async fn pending_auto_fetches(&self, limit: i64) -> Result<Vec<IngestRoute>> {
        let rows = sqlx::query(
            "SELECT r.*, d.name AS desk_name FROM ingest_routes r JOIN desks d ON d.id = r.desk_id \
             WHERE r.fetch_state = 'pending' ORDER BY r.routed_at, r.source, r.guid LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(route_from_row).collect()
    }

    /// Takes the pending automatic fetch of item `guid` of `source` for this
    /// caller: true for exactly one caller, however many try at once.
    pub async fn claim_auto_fetch(&self, source: &str, guid: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE ingest_routes SET fetch_state = 'claimed' WHERE source = $1 AND guid = $2 AND fetch_state = 'pending'",
        )
        .bind(source)
        .bind(guid)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives every claimed automatic fetch back (claims left by a node that
    /// stopped mid-fetch; the caller makes sure no pass is running); how many.
    pub async fn reclaim_auto_fetches(&self) -> Result<u64> {
        let done = sqlx::query("UPDATE ingest_routes SET fetch_state = 'pending' WHERE fetch_state = 'claimed'")
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Gives a claimed automatic fetch back (the database went away
    /// meanwhile): the next pass tries it again.
    pub async fn unclaim_auto_fetch(&self, source: &str, guid: &str) -> Result<()> {
        sqlx::query("UPDATE ingest_routes SET fetch_state = 'pending' WHERE source = $1 AND guid = $2 AND fetch_state = 'claimed'")
            .bind(source)
            .bind(guid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records how a claimed automatic fetch ended: the draft, or why not.
    pub async fn finish_auto_fetch(
        &self,
        source: &str,
        guid: &str,
        outcome: std::result::Result<i64, String>,
    ) -> Result<()> {
        let (fetch, news_id, note) = match outcome {
            Ok(id) => ("done", Some(id), String::new()),
            Err(why) => ("failed", None, why),
        };
        sqlx::query(
            "UPDATE ingest_routes SET fetch_state = $3, news_id = $4, fetch_note = $5 WHERE source = $1 AND guid = $2",
        )
        .bind(source)
        .bind(guid)
        .bind(fetch)
        .bind(news_id)
        .bind(note)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
