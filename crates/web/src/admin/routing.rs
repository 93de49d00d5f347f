//! Routing rules in the back office (`/admin/routing`, admins only): the
//! rules in the order they are tried, a form to add one, and per rule a form
//! to change it, move it earlier or later, or delete it. The rules are the
//! desk's ([`crate::desk::routing`]).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::Value;
use newsdesk_domain::mediatopic;
use newsdesk_domain::roles::Permission;
use newsdesk_storage::RoutingRule;
use serde::Deserialize;

use super::notice::Notice;
use super::stories::text_dir;
use super::{AdminError, Staff, Table, page};
use crate::AppState;
use crate::desk::routing::{self, RuleForm};
use crate::desk::{DeskError, FieldError};

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/routing", ManageDesks, list)
        .post("/admin/routing", ManageDesks, create)
        .get("/admin/routing/{id}", ManageDesks, edit)
        .post("/admin/routing/{id}", ManageDesks, change)
}

/// The form's fields as posted (all text, checked by the command).
#[derive(Debug, Default, Deserialize)]
struct RuleFields {
    #[serde(default)]
    source: String,
    #[serde(default)]
    subjects: String,
    #[serde(default)]
    keywords: String,
    #[serde(default)]
    max_urgency: String,
    #[serde(default)]
    desk: String,
    #[serde(default)]
    auto_fetch: Option<String>,
    #[serde(default)]
    section: String,
    #[serde(default)]
    action: String,
}

/// Topics are separated by spaces or commas; keywords by commas or lines.
fn rule_form(f: &RuleFields) -> Result<RuleForm, DeskError> {
    let mut errors = Vec::new();
    let mut number = |field: &'static str, label: &str, v: &str| match v.trim() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(field, format!("{label} must be a number, not “{v}”.")));
                None
            }
        },
    };
    let max_urgency = number("max_urgency", "The highest urgency", &f.max_urgency);
    let desk_id = number("desk", "The desk", &f.desk);
    let section_id = number("section", "The section", &f.section);
    if !errors.is_empty() {
        return Err(DeskError::Invalid(errors));
    }
    Ok(RuleForm {
        source: f.source.clone(),
        subjects: f.subjects.split([' ', ',', '\n', '\r', '\t']).map(String::from).collect(),
        keywords: f.keywords.split([',', '\n', '\r']).map(String::from).collect(),
        max_urgency,
        desk_id,
        auto_fetch: f.auto_fetch.is_some(),
        section_id,
    })
}

/// Every section's path by id, of all editions (`fa: سیاست` for a non-default edition's).
async fn section_paths(state: &AppState) -> Result<std::collections::HashMap<i64, String>, AdminError> {
    let mut paths = std::collections::HashMap::new();
    for e in state.editions.load_full().iter() {
        for s in state.store.sections(e.id).await? {
            paths.insert(s.id, if e.is_default { s.path } else { format!("{}: {}", e.lang, s.path) });
        }
    }
    Ok(paths)
}

fn rule_view(r: &RoutingRule, sections: &std::collections::HashMap<i64, String>) -> Value {
    let c = &r.conditions;
    minijinja::context! {
        id => r.id,
        source => c.source,
        subjects => c.subjects.iter().map(|q| minijinja::context! {
            qcode => q,
            name => mediatopic::get(q).map(|t| t.name_en.clone()).unwrap_or_default(),
        }).collect::<Vec<_>>(),
        keywords => c.keywords,
        max_urgency => c.max_urgency,
        desk_id => r.desk_id,
        desk => r.desk_name,
        auto_fetch => r.auto_fetch,
        section_id => r.section_id,
        section => r.section_id.and_then(|id| sections.get(&id).cloned()),
    }
}

/// The values a form shows: a rule's, or what was posted.
fn values(r: Option<&RoutingRule>, posted: Option<&RuleFields>) -> Value {
    match (posted, r) {
        (Some(f), _) => minijinja::context! {
            source => f.source, subjects => f.subjects, keywords => f.keywords, max_urgency => f.max_urgency,
            desk => f.desk, auto_fetch => f.auto_fetch.is_some(), section => f.section,
        },
        (None, Some(r)) => minijinja::context! {
            source => r.conditions.source,
            subjects => r.conditions.subjects.join(" "),
            keywords => r.conditions.keywords.join(", "),
            max_urgency => r.conditions.max_urgency.map(|u| u.to_string()).unwrap_or_default(),
            desk => r.desk_id.to_string(),
            auto_fetch => r.auto_fetch,
            section => r.section_id.map(|s| s.to_string()).unwrap_or_default(),
        },
        (None, None) => minijinja::context! {
            source => "", subjects => "", keywords => "", max_urgency => "", desk => "", auto_fetch => false,
            section => "",
        },
    }
}

/// The choices of the forms: desks, sections by edition, urgencies.
async fn choices(state: &AppState) -> Result<Value, AdminError> {
    let desks = state.store.desk_list(None).await?;
    let mut groups = Vec::new();
    for e in state.editions.load_full().iter() {
        let sections = state.store.sections(e.id).await?;
        groups.push(minijinja::context! {
            edition => text_dir(e),
            sections => sections.iter().map(|s| minijinja::context! { id => s.id.to_string(), label => s.path }).collect::<Vec<_>>(),
        });
    }
    Ok(minijinja::context! {
        desks => desks.iter().map(|d| minijinja::context! { id => d.desk.id.to_string(), name => d.desk.name }).collect::<Vec<_>>(),
        section_groups => groups,
        urgencies => (1..=9).map(|u| u.to_string()).collect::<Vec<_>>(),
    })
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    posted: Option<&RuleFields>,
    errors: Vec<FieldError>,
) -> Result<Response, AdminError> {
    let rules = routing::rules(state, &staff.actor()).await?;
    let sections = section_paths(state).await?;
    let html = page::render(
        state,
        staff,
        "admin/routing.html",
        "Routing",
        minijinja::context! {
            rules => rules.iter().map(|r| rule_view(r, &sections)).collect::<Vec<_>>(),
            form => values(None, posted),
            errors => errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>(),
            choices => choices(state).await?,
        },
    )?;
    Ok((status, html).into_response())
}

async fn edit_page(
    state: &AppState,
    staff: &Staff,
    rule: &RoutingRule,
    status: StatusCode,
    posted: Option<&RuleFields>,
    errors: Vec<FieldError>,
) -> Result<Response, AdminError> {
    let html = page::render(
        state,
        staff,
        "admin/routing_rule.html",
        "Routing rule",
        minijinja::context! {
            rule => rule_view(rule, &section_paths(state).await?),
            form => values(Some(rule), posted),
            errors => errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>(),
            choices => choices(state).await?,
        },
    )?;
    Ok((status, html).into_response())
}

fn parse_id(id: &str) -> Result<i64, AdminError> {
    id.trim().parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)
}

/// `GET /admin/routing`.
async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, AdminError> {
    list_page(&state, &staff, StatusCode::OK, None, Vec::new()).await
}

/// `POST /admin/routing`: a new rule at the end.
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<RuleFields>,
) -> Result<Response, AdminError> {
    let made = match rule_form(&f) {
        Ok(form) => routing::create_rule(&state, &staff.actor(), &form).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(_) => Ok(Notice::RoutingSaved.redirect("/admin/routing").into_response()),
        Err(DeskError::Invalid(errors)) => {
            list_page(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(&f), errors).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/routing/{id}`.
async fn edit(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, AdminError> {
    let rule = routing::rule(&state, &staff.actor(), parse_id(&id)?).await?;
    edit_page(&state, &staff, &rule, StatusCode::OK, None, Vec::new()).await
}

/// `POST /admin/routing/{id}`: `action` save, up, down or delete.
async fn change(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<RuleFields>,
) -> Result<Response, AdminError> {
    let id = parse_id(&id)?;
    let actor = staff.actor();
    let rule = routing::rule(&state, &actor, id).await?;
    match f.action.as_str() {
        "up" | "down" => {
            routing::move_rule(&state, &actor, id, f.action == "up").await?;
            Ok(Notice::RoutingSaved.redirect("/admin/routing").into_response())
        }
        "delete" => {
            routing::delete_rule(&state, &actor, id).await?;
            Ok(Notice::RoutingSaved.redirect("/admin/routing").into_response())
        }
        "save" => {
            let saved = match rule_form(&f) {
                Ok(form) => routing::update_rule(&state, &actor, id, &form).await,
                Err(e) => Err(e),
            };
            match saved {
                Ok(()) => Ok(Notice::RoutingSaved.redirect("/admin/routing").into_response()),
                Err(DeskError::Invalid(errors)) => {
                    edit_page(&state, &staff, &rule, StatusCode::UNPROCESSABLE_ENTITY, Some(&f), errors).await
                }
                Err(e) => Err(e.into()),
            }
        }
        other => Err(AdminError::BadRequest(format!(
            "action must be save, up, down or delete, not “{}”",
            other.chars().take(20).collect::<String>()
        ))),
    }
}
