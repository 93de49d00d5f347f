//! The ingest list: other agencies' wire items as they arrived (newest
//! first, by source, with urgency, version and whether a story was made from
//! them), one item with its text and metadata, fetching an item into a
//! draft (on a desk), and what changed in the source since a story was
//! fetched from it.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{dates, html};
use newsdesk_storage::{IngestFilter, IngestedItem};
use serde::{Deserialize, Serialize};

use super::stories::{list_edition, text_dir, word_diff};
use super::{AdminError, Staff, Table, page};
use crate::AppState;
use crate::desk::fetch::{self, FetchRequest};
use crate::desk::{DeskError, boards, edition_for_new, join};

/// Items per page of the ingest list.
const PAGE: i64 = 50;

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/ingest", WriteStories, list)
        .get("/admin/ingest/item", WriteStories, item)
        .post("/admin/ingest/fetch", WriteStories, fetch_item)
        .get("/admin/stories/{id}/source", WriteStories, source_changes)
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A source or guid from a query string: at most 500 characters, no control characters.
fn key(v: &Option<String>, field: &str) -> Result<String, AdminError> {
    let s = given(v).ok_or_else(|| AdminError::BadRequest(format!("{field} is missing")))?;
    if s.chars().count() > 500 || s.chars().any(char::is_control) {
        return Err(AdminError::BadRequest(format!("{field} is not a valid identifier")));
    }
    Ok(s.to_string())
}

fn item_url(source: &str, guid: &str) -> String {
    format!(
        "/admin/ingest/item?{}",
        serde_urlencoded::to_string([("source", source), ("guid", guid)]).unwrap_or_default()
    )
}

/// An incoming item's urgency (1–9) as newsroom lists show ours: `2 Urgent`, `urgency-2`.
fn urgency_label(u: Option<u8>) -> Option<minijinja::Value> {
    u.map(|u| {
        let u = i64::from(u);
        let ours = u.clamp(1, 8);
        minijinja::context! {
            value => u,
            label => newsdesk_domain::agency::urgency_label(ours, "en"),
            class => newsdesk_domain::agency::urgency_class(ours),
        }
    })
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    source: Option<String>,
    unfetched: Option<String>,
    desk: Option<String>,
    page: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AdminError> {
    let page_no = match given(&q.page) {
        None => 1,
        Some(p) => p.parse::<i64>().ok().filter(|p| (1..=10_000).contains(p)).ok_or_else(|| {
            AdminError::BadRequest(format!(
                "page must be a number from 1 to 10000, not `{}`",
                p.chars().take(20).collect::<String>()
            ))
        })?,
    };
    let sources = state.store.ingest_sources().await?;
    let source = given(&q.source).map(String::from);
    if let Some(s) = &source
        && !sources.iter().any(|x| &x.name == s)
    {
        return Err(AdminError::BadRequest(format!("there is no source `{}`", s.chars().take(60).collect::<String>())));
    }
    let unfetched = given(&q.unfetched) == Some("1");
    // Every desk, so each person can see what routing sent where.
    let desks = state.store.desk_list(None).await?;
    let desk_id = match given(&q.desk) {
        None => None,
        Some(d) => Some(d.parse::<i64>().ok().filter(|d| desks.iter().any(|x| x.desk.id == *d)).ok_or_else(|| {
            AdminError::BadRequest(format!("there is no desk `{}`", d.chars().take(20).collect::<String>()))
        })?),
    };
    let filter = IngestFilter { source: source.clone(), unfetched, desk_id };
    let mut rows = state.store.ingest_list(&filter, (page_no - 1) * PAGE, PAGE + 1).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let tz = state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
    let now = chrono::Utc::now();
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            minijinja::context! {
                url => item_url(&r.source, &r.guid),
                source => r.source,
                guid => r.guid,
                version => r.version,
                kind => r.kind,
                urgency => r.urgency,
                urgency_label => urgency_label(r.urgency),
                headline => r.headline,
                slugline => r.slugline,
                lang => r.language,
                status => r.pub_status,
                embargoed => r.embargoed.filter(|t| *t > now).map(|t| dates::format_long(t, tz)),
                arrived => dates::format_long(r.updated_at, tz),
                stories => r.stories,
                desk => r.desk.as_ref().map(|(_, name)| name.clone()),
            }
        })
        .collect();
    let link = |page: i64| {
        let mut fields: Vec<(&str, String)> = Vec::new();
        if let Some(s) = &source {
            fields.push(("source", s.clone()));
        }
        if unfetched {
            fields.push(("unfetched", "1".into()));
        }
        if let Some(d) = desk_id {
            fields.push(("desk", d.to_string()));
        }
        fields.push(("page", page.to_string()));
        format!("/admin/ingest?{}", serde_urlencoded::to_string(&fields).unwrap_or_default())
    };
    page::render(
        &state,
        &staff,
        "admin/ingest.html",
        "Ingest",
        minijinja::context! {
            rows => rows,
            sources => sources.iter().map(|s| minijinja::context! {
                name => s.name,
                items => s.items,
                last => dates::format_long(s.last_item, tz),
                selected => source.as_deref() == Some(s.name.as_str()),
            }).collect::<Vec<_>>(),
            unfetched => unfetched,
            desks => desks.iter().map(|d| minijinja::context! {
                id => d.desk.id,
                name => d.desk.name,
                selected => desk_id == Some(d.desk.id),
            }).collect::<Vec<_>>(),
            page => page_no,
            prev => (page_no > 1).then(|| link(page_no - 1)),
            next => more.then(|| link(page_no + 1)),
        },
    )
}

#[derive(Debug, Deserialize)]
struct ItemQuery {
    source: Option<String>,
    guid: Option<String>,
}

async fn load_item(state: &AppState, source: &str, guid: &str) -> Result<IngestedItem, AdminError> {
    state.store.ingested_item(source, guid).await?.ok_or(AdminError::NotFound)
}

/// The edition an item's language belongs to, else the default edition.
fn edition_for(state: &AppState, language: &str) -> Option<newsdesk_domain::Edition> {
    let primary = language.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    let editions = state.editions.load();
    editions.iter().find(|e| e.lang == primary).or_else(|| editions.iter().find(|e| e.is_default)).cloned()
}

async fn item_page(
    state: &AppState,
    staff: &Staff,
    item: &IngestedItem,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let tz = state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
    let chosen = edition_for(state, &item.language);
    let editions = state.editions.load_full();
    let mut section_groups = Vec::new();
    for e in editions.iter() {
        let sections = state.store.sections(e.id).await?;
        section_groups.push(minijinja::context! {
            edition => text_dir(e),
            sections => sections.iter().map(|s| minijinja::context! { id => s.id, label => s.path }).collect::<Vec<_>>(),
        });
    }
    let desks = boards::desks_of(state, &staff.actor()).await.map_err(AdminError::from)?;
    let stories = state.store.stories_from_item(&item.source, &item.guid).await?;
    let route = state.store.ingest_route(&item.source, &item.guid).await?;
    let subjects: Vec<serde_json::Value> = serde_json::from_str(&item.subjects).unwrap_or_default();
    let keywords: Vec<String> = serde_json::from_str(&item.keywords).unwrap_or_default();
    let dir = chosen.as_ref().map_or("auto", |e| e.direction.as_str());
    let body = html::sanitize(&item.body_html);
    let html = page::render(
        state,
        staff,
        "admin/ingest_item.html",
        &item.headline,
        minijinja::context! {
            item => minijinja::context! {
                source => item.source,
                guid => item.guid,
                version => item.version,
                previous_version => item.previous_version,
                format => item.format,
                kind => item.kind,
                urgency_label => urgency_label(item.urgency),
                headline => item.headline,
                slugline => item.slugline,
                byline => item.byline,
                dateline => item.dateline,
                located => item.located,
                lang => item.language,
                dir => dir,
                description => item.description,
                body_html => body,
                subjects => subjects.iter().map(|s| format!(
                    "{} {}",
                    s.get("code").and_then(|v| v.as_str()).unwrap_or_default(),
                    s.get("name").and_then(|v| v.as_str()).unwrap_or_default()
                ).trim().to_string()).collect::<Vec<_>>(),
                keywords => keywords,
                status => item.pub_status,
                embargoed => item.embargoed.map(|t| dates::format_long(t, tz)),
                created => item.version_created.map(|t| dates::format_long(t, tz)),
                arrived => dates::format_long(item.updated_at, tz),
                fetchable => item.pub_status == "usable",
            },
            error => error,
            route => route.map(|r| minijinja::context! {
                desk_id => r.desk_id,
                desk => r.desk_name,
                routed => dates::format_long(r.routed_at, tz),
                fetch => r.fetch,
                note => r.fetch_note,
                news_id => r.news_id,
            }),
            chosen_edition => chosen.as_ref().map(|e| e.lang.clone()),
            section_groups => section_groups,
            editions => editions.iter().map(text_dir).collect::<Vec<_>>(),
            desks => desks.iter().map(|d| minijinja::context! { id => d.desk.id, name => d.desk.name }).collect::<Vec<_>>(),
            stories => stories.iter().map(|s| minijinja::context! {
                news_id => s.news_id,
                version => s.version,
                updated => s.source_updated(),
            }).collect::<Vec<_>>(),
        },
    )?;
    Ok((status, html).into_response())
}

async fn item(State(state): State<AppState>, staff: Staff, Query(q): Query<ItemQuery>) -> Result<Response, AdminError> {
    let (source, guid) = (key(&q.source, "source")?, key(&q.guid, "guid")?);
    let item = load_item(&state, &source, &guid).await?;
    item_page(&state, &staff, &item, StatusCode::OK, None).await
}

#[derive(Debug, Deserialize, Serialize)]
struct FetchForm {
    source: Option<String>,
    guid: Option<String>,
    edition: Option<String>,
    section: Option<String>,
    desk: Option<String>,
}

fn id_field(v: &Option<String>, field: &str) -> Result<Option<i64>, AdminError> {
    match given(v) {
        None => Ok(None),
        Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
            AdminError::BadRequest(format!(
                "{field} must be a number, not `{}`",
                s.chars().take(20).collect::<String>()
            ))
        }),
    }
}

/// `POST /admin/ingest/fetch`: a draft from the item, then its editor.
async fn fetch_item(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<FetchForm>,
) -> Result<Response, AdminError> {
    let (source, guid) = (key(&form.source, "source")?, key(&form.guid, "guid")?);
    let item = load_item(&state, &source, &guid).await?;
    let edition = match list_edition(&state, form.edition.as_deref())? {
        Some(e) => e,
        None => edition_for_new(&state, None).map_err(AdminError::from)?,
    };
    let section_id = id_field(&form.section, "section")?;
    if let Some(s) = section_id
        && !state.store.sections(edition.id).await?.iter().any(|x| x.id == s)
    {
        let msg = format!("Section {s} is not a section of the {} edition; choose one of its own.", edition.lang);
        return item_page(&state, &staff, &item, StatusCode::UNPROCESSABLE_ENTITY, Some(msg)).await;
    }
    let req = FetchRequest { source, guid, edition, section_id, desk_id: id_field(&form.desk, "desk")? };
    match fetch::fetch(&state, &staff.actor(), req).await {
        Ok(news_id) => Ok(Redirect::to(&format!("/admin/stories/{news_id}/edit")).into_response()),
        Err(DeskError::Invalid(errors)) => {
            item_page(&state, &staff, &item, StatusCode::UNPROCESSABLE_ENTITY, Some(join(&errors, " "))).await
        }
        Err(DeskError::Conflict { message, .. }) => {
            item_page(&state, &staff, &item, StatusCode::CONFLICT, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/stories/{id}/source`: the story's source item, the version it
/// was made from against the item's version now, word by word.
async fn source_changes(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let news_id: i64 = id.parse().map_err(|_| AdminError::NotFound)?;
    let story = state.store.story(news_id).await?.ok_or(AdminError::NotFound)?;
    let extras = state.store.story_extras(news_id).await?;
    // Who may open the story's editor may see where it came from.
    if !staff.can(Permission::EditAnyStory) && extras.as_ref().and_then(|e| e.created_by) != Some(staff.user_id) {
        return Err(AdminError::Forbidden("only the story's author and editors see its source".into()));
    }
    let source = fetch::source_of(&state, news_id).await.map_err(AdminError::from)?.ok_or(AdminError::NotFound)?;
    let current = state.store.ingested_item(&source.source, &source.guid).await?;
    let text = |h: &str| newsdesk_search::html_to_text(h);
    let fields: Vec<_> = match &current {
        Some(now) => [
            ("Headline", source.headline.clone(), now.headline.clone()),
            ("Body", text(&source.body_html), text(&now.body_html)),
        ]
        .into_iter()
        .map(|(name, old, new)| {
            minijinja::context! { name => name, same => old == new, diff => word_diff(&old, &new) }
        })
        .collect(),
        None => Vec::new(),
    };
    let edition = state.editions.load().iter().find(|e| e.id == story.edition_id).cloned();
    let html = page::render(
        &state,
        &staff,
        "admin/ingest_changes.html",
        "Source changes",
        minijinja::context! {
            story => minijinja::context! { news_id => news_id, headline => story.headline },
            text => edition.as_ref().map(text_dir),
            source => minijinja::context! {
                source => source.source,
                guid => source.guid,
                version => source.version,
                current_version => source.current_version,
                url => item_url(&source.source, &source.guid),
            },
            fields => fields,
        },
    )?;
    Ok(html.into_response())
}

/// The editor's "Source" box for a story fetched from a wire item.
pub(super) async fn editor_provenance(
    state: &AppState,
    story: Option<&newsdesk_domain::Story>,
) -> Result<Option<minijinja::Value>, AdminError> {
    let Some(story) = story else { return Ok(None) };
    let Some(s) = fetch::source_of(state, story.news_id).await.map_err(AdminError::from)? else { return Ok(None) };
    Ok(Some(minijinja::context! {
        news_id => s.news_id,
        source => s.source,
        guid => s.guid,
        version => s.version,
        current_version => s.current_version,
        updated => s.source_updated(),
        url => item_url(&s.source, &s.guid),
    }))
}
