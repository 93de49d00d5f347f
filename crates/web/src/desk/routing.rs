//! Routing rules: admins say which desk new wire items go to (by source,
//! IPTC Media Topics, keywords and urgency; the first matching rule wins, see
//! [`newsdesk_domain::routing`]), and whether a draft is made there at once.
//! Items are routed when they are stored ([`newsdesk_storage::Store::ingest_items`],
//! the one function every ingest path uses: the `ingest` command and the
//! sources' pollers); the site's scheduler then makes the automatic drafts
//! ([`auto_fetch_now`], within a second, on one node at a time) by the same
//! [`fetch`] as a person's Fetch, acting as [`ROUTING`]
//! (the system), with the same provenance.

use newsdesk_domain::roles::Permission;
use newsdesk_domain::routing;
use newsdesk_storage::{RoutingRule, RuleInput};

use super::fetch::{FetchRequest, fetch};
use super::{Actor, DeskError, FieldError};
use crate::AppState;

/// The actor of automatic fetches in the audit log and revisions.
pub const ROUTING: &str = "routing";

/// Most automatic fetches made in one pass.
const FETCH_BATCH: i64 = 50;
/// How long one node holds the automatic fetches without renewing.
const LEASE_SECS: i64 = 10;
/// A pass claims nothing new after this, well within the lease.
const MAX_PASS: std::time::Duration = std::time::Duration::from_secs(4);

/// A rule as a person wrote it (the back-office form).
#[derive(Debug, Clone, Default)]
pub struct RuleForm {
    /// Source name; empty: any source.
    pub source: String,
    /// Media Topic qcodes (or numbers or URIs).
    pub subjects: Vec<String>,
    /// Keywords or phrases.
    pub keywords: Vec<String>,
    /// Highest urgency (1–9); `None`: any.
    pub max_urgency: Option<i64>,
    /// Target desk.
    pub desk_id: Option<i64>,
    /// Make a draft at once.
    pub auto_fetch: bool,
    /// Section of the automatic drafts.
    pub section_id: Option<i64>,
}

/// Checks `form`: the conditions (each bad field named), a desk that
/// exists, and a section of some edition when the rule fetches.
async fn check(state: &AppState, form: &RuleForm) -> Result<RuleInput, DeskError> {
    let mut errors = Vec::new();
    let conditions = match routing::check(&form.source, &form.subjects, &form.keywords, form.max_urgency) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.extend(e.into_iter().map(|(f, m)| FieldError::new(f, m)));
            None
        }
    };
    let desk_id = match form.desk_id {
        None => {
            errors.push(FieldError::new("desk", "Choose the desk the rule sends items to."));
            None
        }
        Some(d) if state.store.desk(d).await?.is_none() => {
            errors.push(FieldError::new("desk", format!("There is no desk {d}.")));
            None
        }
        Some(d) => Some(d),
    };
    let section_id = match form.section_id {
        Some(s) if section_edition(state, s).await?.is_none() => {
            errors.push(FieldError::new("section", format!("There is no section {s}.")));
            None
        }
        s => s,
    };
    if form.auto_fetch && form.section_id.is_none() {
        errors.push(FieldError::new("section", "A rule that makes drafts needs their section."));
    }
    match (conditions, desk_id) {
        (Some(conditions), Some(desk_id)) if errors.is_empty() => {
            Ok(RuleInput { conditions, desk_id, auto_fetch: form.auto_fetch, section_id })
        }
        _ => Err(DeskError::Invalid(errors)),
    }
}

/// The edition section `section_id` belongs to, if it exists.
async fn section_edition(state: &AppState, section_id: i64) -> Result<Option<newsdesk_domain::Edition>, DeskError> {
    let editions: Vec<_> = state.editions.load().iter().cloned().collect();
    for e in editions {
        if state.store.sections(e.id).await?.iter().any(|s| s.id == section_id) {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// Every rule in the order they are tried (admins).
pub async fn rules(state: &AppState, actor: &Actor) -> Result<Vec<RoutingRule>, DeskError> {
    actor.require(Permission::ManageDesks)?;
    Ok(state.store.routing_rules().await?)
}

/// Rule `id` (admins).
pub async fn rule(state: &AppState, actor: &Actor, id: i64) -> Result<RoutingRule, DeskError> {
    actor.require(Permission::ManageDesks)?;
    state.store.routing_rule(id).await?.ok_or_else(|| DeskError::NotFound(format!("There is no routing rule {id}.")))
}

/// Adds a rule at the end of the order (admins); returns its id.
pub async fn create_rule(state: &AppState, actor: &Actor, form: &RuleForm) -> Result<i64, DeskError> {
    actor.require(Permission::ManageDesks)?;
    let input = check(state, form).await?;
    Ok(state.store.create_routing_rule(&input, &actor.audit("routing.create", "routing_rule", "", "")).await?)
}

/// Changes rule `id` (admins).
pub async fn update_rule(state: &AppState, actor: &Actor, id: i64, form: &RuleForm) -> Result<(), DeskError> {
    rule(state, actor, id).await?;
    let input = check(state, form).await?;
    Ok(state.store.update_routing_rule(id, &input, &actor.audit("routing.edit", "routing_rule", id, "")).await?)
}

/// Deletes rule `id` (admins); items it routed stay on their desks.
pub async fn delete_rule(state: &AppState, actor: &Actor, id: i64) -> Result<(), DeskError> {
    let r = rule(state, actor, id).await?;
    let detail = format!("→ {}", r.desk_name);
    state.store.delete_routing_rule(id, &actor.audit("routing.delete", "routing_rule", id, detail)).await?;
    Ok(())
}

/// Moves rule `id` one place earlier (`up`) or later (admins).
pub async fn move_rule(state: &AppState, actor: &Actor, id: i64, up: bool) -> Result<bool, DeskError> {
    rule(state, actor, id).await?;
    let audit = actor.audit("routing.move", "routing_rule", id, if up { "up" } else { "down" });
    Ok(state.store.move_routing_rule(id, up, &audit).await?)
}

/// Makes the drafts of routes waiting for an automatic fetch, on the node
/// `node` that holds the `routing` lease: each claimed once, fetched into the
/// rule's section on its desk as [`ROUTING`], and marked done (with the
/// draft) or failed (with why: a canceled item, a deleted section, ...).
/// Returns the drafts made.
///
/// Only the lease holder claims, and a pass stops claiming well within the
/// lease, so a claim still open when a pass starts was left by a node that
/// stopped mid-fetch: it is tried again.
pub async fn auto_fetch_now(state: &AppState, node: &str) -> Result<Vec<i64>, DeskError> {
    if !state.store.try_lease("routing", node, LEASE_SECS).await? {
        return Ok(Vec::new());
    }
    state.store.reclaim_auto_fetches().await?;
    let started = std::time::Instant::now();
    let actor = Actor::system(ROUTING);
    let mut made = Vec::new();
    for route in state.store.pending_auto_fetches(FETCH_BATCH).await? {
        if started.elapsed() > MAX_PASS {
            break;
        }
        if !state.store.claim_auto_fetch(&route.source, &route.guid).await? {
            continue;
        }
        let outcome = async {
            let section_id = route.section_id.ok_or_else(|| {
                DeskError::Invalid(vec![FieldError::new("section", "The rule's section was deleted.")])
            })?;
            let edition = section_edition(state, section_id).await?.ok_or_else(|| {
                DeskError::Invalid(vec![FieldError::new("section", format!("There is no section {section_id}."))])
            })?;
            let req = FetchRequest {
                source: route.source.clone(),
                guid: route.guid.clone(),
                edition,
                section_id: Some(section_id),
                desk_id: Some(route.desk_id),
            };
            fetch(state, &actor, req).await
        }
        .await;
        match outcome {
            Ok(news_id) => {
                tracing::info!(source = route.source, guid = route.guid, news_id, "routed item fetched");
                state.store.finish_auto_fetch(&route.source, &route.guid, Ok(news_id)).await?;
                made.push(news_id);
            }
            Err(DeskError::Unavailable(e)) => {
                // Tried again at the next pass: the claim is given back.
                state.store.unclaim_auto_fetch(&route.source, &route.guid).await?;
                return Err(DeskError::Unavailable(e));
            }
            Err(e) => {
                tracing::warn!(source = route.source, guid = route.guid, error = %e, "routed item not fetched");
                state.store.finish_auto_fetch(&route.source, &route.guid, Err(e.to_string())).await?;
            }
        }
    }
    Ok(made)
}
