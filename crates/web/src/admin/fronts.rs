//! Curated fronts in the back office (`/admin/fronts`): per edition, the home
//! page and each section front; editors pin a top story, add featured
//! stories (picked from the edition's published stories by headline or News
//! ID), move them up and down, remove them, preview the draft on the real
//! public page and publish it. Each button is its own small form that
//! changes the stored draft (checked against the version the page showed),
//! so the editor works without JavaScript and from the keyboard. The rules
//! are the desk's ([`crate::desk::fronts`]).

use axum::Form;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::Value;
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{Edition, Section, dates};
use newsdesk_storage::{Arrangement, FrontCandidate};
use serde::Deserialize;
use tower::ServiceExt;

use super::{AdminError, Staff, Table, page};
use crate::AppState;
use crate::desk::{DeskError, fronts, join};

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/fronts", Publish, editor).post("/admin/fronts", Publish, change).get(
        "/admin/fronts/preview",
        Publish,
        preview,
    )
}

/// Which front a page or form is about.
#[derive(Debug, Deserialize)]
struct Which {
    /// Edition language (default: the default edition).
    #[serde(default)]
    edition: String,
    /// `home` or a section path.
    #[serde(default)]
    front: String,
    /// Words to find published stories by.
    #[serde(default)]
    q: String,
    /// A notice after a change.
    #[serde(default)]
    done: String,
}

fn edition_of(state: &AppState, lang: &str) -> Result<Edition, AdminError> {
    if lang.is_empty() {
        return state.default_edition().ok_or(AdminError::NotFound);
    }
    state.editions.load().iter().find(|e| e.lang == lang).cloned().ok_or(AdminError::NotFound)
}

fn front_key(section: Option<&Section>) -> String {
    section.map_or_else(|| "home".to_string(), |s| s.path.clone())
}

fn editor_url(edition: &Edition, section: Option<&Section>, done: &str) -> String {
    let key = front_key(section);
    let mut q = vec![("edition", edition.lang.as_str()), ("front", key.as_str())];
    if !done.is_empty() {
        q.push(("done", done));
    }
    format!("/admin/fronts?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
}

fn story_row(state: &AppState, edition: &Edition, c: &FrontCandidate) -> Value {
    let published = c.status == newsdesk_domain::StoryStatus::Published && c.edition_id == edition.id;
    minijinja::context! {
        news_id => c.news_id,
        headline => c.headline,
        published => published,
        status => c.status.as_str(),
        when => c.published_at.map(|t| dates::format_long(t, edition.time_zone)),
        url => crate::site::abs(state, &edition.url(&format!("/news/{}", c.news_id))),
    }
}

/// `GET /admin/fronts`: the fronts the user may arrange and the chosen one's editor.
async fn editor(State(state): State<AppState>, staff: Staff, Query(w): Query<Which>) -> Result<Response, AdminError> {
    let actor = staff.actor();
    let edition = edition_of(&state, &w.edition)?;
    let sections = state.store.sections(edition.id).await?;
    // The fronts this user arranges: home (unscoped editors and admins), then the sections they cover.
    let mut fronts_nav = Vec::new();
    if fronts::may_arrange(&state, &actor, None).await? {
        let href = editor_url(&edition, None, "");
        fronts_nav.push(minijinja::context! { key => "home", name => "Home page", depth => 0, href => href });
    }
    for s in &sections {
        if fronts::may_arrange(&state, &actor, Some(s)).await? {
            let depth = s.path.matches('/').count();
            let href = editor_url(&edition, Some(s), "");
            fronts_nav.push(
                minijinja::context! { key => s.path.clone(), name => s.name.clone(), depth => depth, href => href },
            );
        }
    }
    let chosen = if w.front.is_empty() {
        fronts_nav.first().and_then(|f| f.get_attr("key").ok()).and_then(|k| k.as_str().map(str::to_string))
    } else {
        Some(w.front.clone())
    };
    let editions: Vec<Value> = state
        .editions
        .load()
        .iter()
        .map(|e| {
            let href =
                format!("/admin/fronts?{}", serde_urlencoded::to_string([("edition", &e.lang)]).unwrap_or_default());
            minijinja::context! { lang => e.lang, name => e.name, current => e.id == edition.id, href => href }
        })
        .collect();
    let mut ctx = minijinja::context! {
        edition => minijinja::context! { lang => edition.lang, name => edition.name, dir => edition.direction.as_str() },
        editions => editions,
        fronts => fronts_nav,
        max_featured => fronts::MAX_FEATURED,
        done => match w.done.as_str() {
            "published" => "The front is published: readers see it now.",
            "saved" => "Draft saved. Preview it, then publish it.",
            "discarded" => "The draft is back to what readers see.",
            _ => "",
        },
    };
    if let Some(key) = chosen {
        let section = fronts::section_of(&state, &edition, Some(&key)).await.map_err(AdminError::from)?;
        let front = fronts::load(&state, &actor, &edition, section.as_ref()).await?;
        let draft_ids = front.draft.ids();
        let found = state.store.front_candidates(&draft_ids).await?;
        let row = |id: i64| found.iter().find(|c| c.news_id == id).map(|c| story_row(&state, &edition, c));
        let featured: Vec<Value> = front.draft.featured.iter().filter_map(|id| row(*id)).collect();
        let q = w.q.trim().to_string();
        let picks = state.store.find_published_for_front(edition.id, &q, 20).await?;
        let picks: Vec<Value> =
            picks.iter().filter(|c| !draft_ids.contains(&c.news_id)).map(|c| story_row(&state, &edition, c)).collect();
        let front_ctx = minijinja::context! {
            key => front_key(section.as_ref()),
            preview_url => editor_url(&edition, section.as_ref(), "").replacen("/admin/fronts?", "/admin/fronts/preview?", 1),
            name => section.as_ref().map_or_else(|| "Home page".to_string(), |s| s.name.clone()),
            public_url => crate::site::abs(&state, &edition.url(&section.as_ref().map_or_else(|| "/".to_string(), |s| format!("/section/{}", s.path)))),
            version => front.version,
            pinned => front.draft.pinned.and_then(row),
            featured => featured,
            unpublished_changes => front.draft != front.live,
            published => front.published_at.map(|t| dates::format_long(t, edition.time_zone)),
            published_by => front.published_by,
            picks => picks,
            q => q,
        };
        ctx = minijinja::context! { front => front_ctx, ..ctx };
    } else {
        ctx = minijinja::context! { front => Value::from(()), ..ctx };
    }
    let title = format!("Fronts · {}", edition.name);
    Ok(page::render(&state, &staff, "admin/fronts.html", &title, ctx)?.into_response())
}

/// One button of the fronts editor.
#[derive(Debug, Deserialize)]
struct ChangeForm {
    edition: String,
    front: String,
    version: String,
    /// `pin:ID`, `feature:ID`, `unpin`, `up:ID`, `down:ID`, `remove:ID`, `add`, `publish`, `discard`.
    op: String,
    /// For `add`: a News ID (or `84427 — headline` as the list suggests it).
    #[serde(default)]
    add: String,
    /// For `add`: `pinned` or `featured`.
    #[serde(default)]
    place: String,
}

fn id_in(s: &str) -> Result<i64, AdminError> {
    let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AdminError::BadRequest(format!("“{}” is not a News ID; pick a story from the list.", s.trim())))
}

/// The draft after `op`.
fn apply(mut a: Arrangement, live: &Arrangement, form: &ChangeForm) -> Result<Arrangement, AdminError> {
    let (op, arg) = form.op.split_once(':').unwrap_or((form.op.as_str(), ""));
    let take_out = |a: &mut Arrangement, id: i64| {
        if a.pinned == Some(id) {
            a.pinned = None;
        }
        a.featured.retain(|x| *x != id);
    };
    match op {
        "pin" | "feature" | "add" => {
            let (id, pin) =
                if op == "add" { (id_in(&form.add)?, form.place == "pinned") } else { (id_in(arg)?, op == "pin") };
            take_out(&mut a, id);
            if pin {
                // The story pinned before becomes the first featured one.
                if let Some(old) = a.pinned.replace(id) {
                    a.featured.insert(0, old);
                }
            } else {
                a.featured.push(id);
            }
        }
        "unpin" => {
            if let Some(old) = a.pinned.take() {
                a.featured.insert(0, old);
            }
        }
        "remove" => take_out(&mut a, id_in(arg)?),
        "up" | "down" => {
            let id = id_in(arg)?;
            if let Some(i) = a.featured.iter().position(|x| *x == id) {
                let j = if op == "up" { i.checked_sub(1) } else { Some(i + 1).filter(|j| *j < a.featured.len()) };
                if let Some(j) = j {
                    a.featured.swap(i, j);
                }
            }
        }
        "publish" | "save" => {}
        "discard" => a = live.clone(),
        other => return Err(AdminError::BadRequest(format!("unknown action “{other}”"))),
    }
    Ok(a)
}

/// `POST /admin/fronts`: one change of the draft (or its publication).
async fn change(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ChangeForm>,
) -> Result<Response, AdminError> {
    let actor = staff.actor();
    let edition = edition_of(&state, &form.edition)?;
    let section = fronts::section_of(&state, &edition, Some(&form.front)).await?;
    let version = form
        .version
        .trim()
        .parse::<i64>()
        .map_err(|_| AdminError::BadRequest(format!("version must be a number, found “{}”", form.version)))?;
    let front = fronts::load(&state, &actor, &edition, section.as_ref()).await?;
    // Stories taken down since they were placed leave the draft by themselves.
    let published: Vec<i64> =
        state.store.front_stories(edition.id, &front.draft).await?.iter().map(|s| s.news_id).collect();
    let mut draft = front.draft.clone();
    draft.pinned = draft.pinned.filter(|p| published.contains(p));
    draft.featured.retain(|f| published.contains(f));
    let draft = apply(draft, &front.live, &form)?;
    let publish = form.op == "publish";
    match fronts::save(&state, &actor, &edition, section.as_ref(), version, &draft, publish).await {
        Ok(_) => {
            let done = match form.op.as_str() {
                "publish" => "published",
                "discard" => "discarded",
                _ => "saved",
            };
            Ok(Redirect::to(&editor_url(&edition, section.as_ref(), done)).into_response())
        }
        Err(DeskError::Invalid(errors)) => {
            page::message(&state, Some(&staff), StatusCode::UNPROCESSABLE_ENTITY, "Not saved", &join(&errors, " "))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /admin/fronts/preview`: the public page with the draft arrangement
/// (rendered for this request only, marked as a preview, not indexed).
async fn preview(State(state): State<AppState>, staff: Staff, Query(w): Query<Which>) -> Result<Response, AdminError> {
    let actor = staff.actor();
    let edition = edition_of(&state, &w.edition)?;
    let section = fronts::section_of(&state, &edition, Some(&w.front)).await?;
    let front = fronts::load(&state, &actor, &edition, section.as_ref()).await?;
    let path = edition.url(&section.as_ref().map_or_else(|| "/".to_string(), |s| format!("/section/{}", s.path)));
    let uri = crate::editions::encode_location(&path);
    let req = Request::get(uri).body(Body::empty()).map_err(|e| AdminError::Internal(e.to_string()))?;
    let p = crate::site::fronts::Preview {
        edition_id: edition.id,
        section_id: section.as_ref().map(|s| s.id),
        arrangement: front.draft,
    };
    let res = crate::site::fronts::preview(p, crate::app(state.clone()).oneshot(req))
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let (mut parts, body) = res.into_parts();
    parts.headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    parts.headers.insert("x-robots-tag", header::HeaderValue::from_static("noindex"));
    parts.headers.remove(header::ETAG);
    Ok(Response::from_parts(parts, body))
}
