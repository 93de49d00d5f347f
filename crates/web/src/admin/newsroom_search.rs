//! The newsroom search (`/admin/search`): every story in every state, by its
//! words and slugline through the node's tantivy index (the same analyzers,
//! so the same Persian and Arabic normalization, as readers' search), with
//! the desk's filters. Reporters find only the stories they created, as in
//! the stories list.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{NaiveDate, TimeZone, Utc};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{StoryStatus, dates};
use newsdesk_search::SearchError;
use newsdesk_search::newsroom::{NEWSROOM_MAX_PAGE, NewsroomOrder, NewsroomQuery, NewsroomResults};
use serde::{Deserialize, Serialize};

use super::stories::{list_edition, parse_day, text_dir};
use super::{AdminError, Staff, Table, page};
use crate::AppState;

pub(super) fn routes(t: Table) -> Table {
    t.get("/admin/search", Permission::WriteStories, search)
}

/// The form's fields, as typed (all optional).
#[derive(Debug, Deserialize, Serialize)]
struct SearchForm {
    q: Option<String>,
    edition: Option<String>,
    status: Option<String>,
    desk: Option<String>,
    urgency: Option<String>,
    mine: Option<String>,
    assigned: Option<String>,
    from: Option<String>,
    to: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn number(v: &Option<String>, field: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>, AdminError> {
    match given(v) {
        None => Ok(None),
        Some(s) => s.parse::<i64>().ok().filter(|n| range.contains(n)).map(Some).ok_or_else(|| {
            let shown: String = s.chars().take(20).collect();
            AdminError::BadRequest(format!(
                "{field} must be a number from {} to {}, not `{shown}`",
                range.start(),
                range.end()
            ))
        }),
    }
}

/// One row of the results, ready for the template.
#[derive(Debug, Serialize)]
struct Row {
    news_id: i64,
    lang: String,
    dir: &'static str,
    status: String,
    headline_html: String,
    snippet_html: String,
    slugline: String,
    urgency: Option<minijinja::Value>,
    spiked: bool,
    section: String,
    desk: Option<String>,
    modified: String,
}

async fn search(
    State(state): State<AppState>,
    staff: Staff,
    Query(form): Query<SearchForm>,
) -> Result<Html<String>, AdminError> {
    let text = given(&form.q).unwrap_or_default().to_string();
    if text.chars().count() > newsdesk_search::MAX_QUERY_CHARS {
        return Err(AdminError::BadRequest(format!(
            "the search text must be at most {} characters",
            newsdesk_search::MAX_QUERY_CHARS
        )));
    }
    let edition = list_edition(&state, form.edition.as_deref())?;
    // "spiked" is not a workflow state but a place the desk looks for stories.
    let spiked = (given(&form.status) == Some("spiked")).then_some(true);
    let status = match given(&form.status).filter(|s| *s != "spiked") {
        None => None,
        Some(s) => Some(StoryStatus::parse(s).ok_or_else(|| {
            let shown: String = s.chars().take(20).collect();
            AdminError::BadRequest(format!("there is no status `{shown}`"))
        })?),
    };
    let desks = state.store.desk_list(None).await?;
    let desk_id = number(&form.desk, "desk", 1..=i64::MAX)?;
    if let Some(d) = desk_id
        && !desks.iter().any(|s| s.desk.id == d)
    {
        return Err(AdminError::BadRequest(format!("there is no desk {d}")));
    }
    let urgency = number(&form.urgency, "urgency", 1..=8)?;
    let page_no = number(&form.page, "page", 1..=NEWSROOM_MAX_PAGE as i64)?.unwrap_or(1) as usize;
    let order = match given(&form.sort) {
        None | Some("relevance") => NewsroomOrder::Relevance,
        Some("modified") => NewsroomOrder::Modified,
        Some("urgency") => NewsroomOrder::Urgency,
        Some(other) => {
            let shown: String = other.chars().take(20).collect();
            return Err(AdminError::BadRequest(format!("sort must be relevance, modified or urgency, not `{shown}`")));
        }
    };
    // Days are the shown edition's (or the default edition's) calendar days.
    let tz = match &edition {
        Some(e) => e.time_zone,
        None => state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC),
    };
    let day_start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).earliest().map(|t| t.with_timezone(&Utc))
    };
    let from = parse_day(form.from.as_deref(), "from")?.and_then(day_start);
    let to = parse_day(form.to.as_deref(), "to")?.and_then(|d| d.succ_opt()).and_then(day_start);
    let sees_all = staff.can(Permission::EditAnyStory);
    let mine = !sees_all || given(&form.mine) == Some("1");
    let query = NewsroomQuery {
        text,
        edition: edition.as_ref().map(|e| e.lang.clone()),
        status,
        section: None,
        created_by: mine.then_some(staff.user_id),
        desk_id,
        stage_id: None,
        assignee_id: (given(&form.assigned) == Some("1")).then_some(staff.user_id),
        spiked,
        urgency_at_most: urgency,
        from,
        to,
        order,
        page: page_no,
    };
    let searched = !form.is_empty();
    let (results, available) = match (&state.search, searched) {
        (_, false) => (None, true),
        (None, true) => (None, false),
        (Some(index), true) => {
            let index = Arc::clone(index);
            let q = query.clone();
            let bodies = newsdesk_search::StoreBodies::new(state.store.clone());
            let found = tokio::task::spawn_blocking(move || index.newsroom_search(&q, &bodies))
                .await
                .map_err(|e| AdminError::Internal(format!("newsroom search task: {e}")))?;
            match found {
                Ok(r) => (Some(r), true),
                Err(SearchError::Invalid(m)) => return Err(AdminError::BadRequest(m)),
                Err(e) => return Err(AdminError::Internal(e.to_string())),
            }
        }
    };
    let desk_names: HashMap<i64, String> = desks.iter().map(|d| (d.desk.id, d.desk.name.clone())).collect();
    let rows = match &results {
        Some(r) => rows(&state, r, &desk_names, tz).await?,
        None => Vec::new(),
    };
    let pages = results.as_ref().map(|r| pager(&form, r)).unwrap_or_default();
    let editions = state.editions.load_full();
    let statuses = [
        StoryStatus::Draft,
        StoryStatus::Submitted,
        StoryStatus::Scheduled,
        StoryStatus::Published,
        StoryStatus::Unpublished,
        StoryStatus::Killed,
    ];
    page::render(
        &state,
        &staff,
        "admin/search.html",
        "Newsroom search",
        minijinja::context! {
            form => form,
            searched => searched,
            available => available,
            total => results.as_ref().map(|r| r.total),
            rows => rows,
            pages => pages,
            sees_all => sees_all,
            editions => editions.iter().map(text_dir).collect::<Vec<_>>(),
            statuses => statuses.iter().map(|s| s.as_str()).chain(["spiked"]).collect::<Vec<_>>(),
            desks => desks.iter().map(|d| minijinja::context! { id => d.desk.id, name => d.desk.name }).collect::<Vec<_>>(),
        },
    )
}

impl SearchForm {
    /// Whether anything was asked (the first visit shows the form alone).
    fn is_empty(&self) -> bool {
        [
            &self.q,
            &self.edition,
            &self.status,
            &self.desk,
            &self.urgency,
            &self.mine,
            &self.assigned,
            &self.from,
            &self.to,
        ]
        .into_iter()
        .all(|v| given(v).is_none())
    }
}

async fn rows(
    state: &AppState,
    r: &NewsroomResults,
    desk_names: &HashMap<i64, String>,
    tz: chrono_tz::Tz,
) -> Result<Vec<Row>, AdminError> {
    let editions = state.editions.load_full();
    let mut stage_names: HashMap<i64, String> = HashMap::new();
    for stage_id in r.hits.iter().filter_map(|h| h.stage_id) {
        if let std::collections::hash_map::Entry::Vacant(v) = stage_names.entry(stage_id)
            && let Some(s) = state.store.desk_stage(stage_id).await?
        {
            v.insert(s.name);
        }
    }
    Ok(r.hits
        .iter()
        .map(|h| {
            let dir = editions.iter().find(|e| e.lang == h.lang).map_or("auto", |e| e.direction.as_str());
            let desk = h.desk_id.and_then(|d| desk_names.get(&d)).map(|name| {
                match h.stage_id.and_then(|s| stage_names.get(&s)) {
                    Some(stage) => format!("{name} › {stage}"),
                    None => name.clone(),
                }
            });
            Row {
                news_id: h.news_id,
                lang: h.lang.clone(),
                dir,
                status: h.status.clone(),
                headline_html: h.headline_html.clone(),
                snippet_html: h.snippet_html.clone(),
                slugline: h.slugline.clone(),
                urgency: h.urgency.map(super::stories::urgency_view),
                spiked: h.spiked,
                section: h.section_name.clone(),
                desk,
                modified: dates::format_long(h.modified_at, tz),
            }
        })
        .collect())
}

/// Links to the previous and next pages, keeping the form.
fn pager(form: &SearchForm, r: &NewsroomResults) -> minijinja::Value {
    let link = |page: usize| {
        let mut fields: Vec<(&str, String)> = Vec::new();
        for (name, v) in [
            ("q", &form.q),
            ("edition", &form.edition),
            ("status", &form.status),
            ("desk", &form.desk),
            ("urgency", &form.urgency),
            ("mine", &form.mine),
            ("assigned", &form.assigned),
            ("from", &form.from),
            ("to", &form.to),
            ("sort", &form.sort),
        ] {
            if let Some(v) = given(v) {
                fields.push((name, v.to_string()));
            }
        }
        fields.push(("page", page.to_string()));
        format!("/admin/search?{}", serde_urlencoded::to_string(&fields).unwrap_or_default())
    };
    minijinja::context! {
        page => r.page,
        count => r.pages(),
        prev => (r.page > 1).then(|| link(r.page - 1)),
        next => (r.page < r.pages()).then(|| link(r.page + 1)),
    }
}
