//! The comment moderation queue at `/admin/comments`: list with filters
//! (status, story), approve / reject / mark as spam one comment or many at
//! once, and open or close a story for comments. Every action records who did
//! it (on the comment and in the audit log) and drops the story's cached page
//! on every node.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minijinja::Value;
use newsdesk_domain::comments::CommentStatus;
use newsdesk_domain::dates;
use newsdesk_domain::roles::Permission;
use newsdesk_storage::QueueFilter;
use serde::Deserialize;

use super::notice::Notice;
use super::{AdminError, Staff, Table, page};
use crate::{AppState, desk};

/// Comments per queue page.
const PAGE: i64 = 50;

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/comments", ModerateComments, queue).post("/admin/comments/moderate", ModerateComments, moderate).post(
        "/admin/comments/story/{id}/closed",
        ModerateComments,
        set_closed,
    )
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct QueueQuery {
    status: Option<String>,
    story: Option<String>,
    before: Option<String>,
    done: Option<String>,
}

/// The filters of the queue, checked.
struct Filters {
    status: Option<CommentStatus>,
    story: Option<i64>,
}

impl Filters {
    fn parse(status: Option<&str>, story: Option<&str>) -> Result<Filters, AdminError> {
        let status = match status.map(str::trim) {
            None | Some("") => Some(CommentStatus::Pending),
            Some("all") => None,
            Some(s) => Some(CommentStatus::parse(s).ok_or_else(|| {
                AdminError::BadRequest(format!("status must be pending, approved, rejected, spam or all, found `{s}`"))
            })?),
        };
        let story = match story.map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                AdminError::BadRequest(format!("story must be a News ID (a positive number), found `{s}`"))
            })?),
        };
        Ok(Filters { status, story })
    }

    /// The query string that shows this queue again.
    fn query(&self) -> String {
        let mut q = format!("status={}", self.status.map(CommentStatus::as_str).unwrap_or("all"));
        if let Some(s) = self.story {
            q.push_str(&format!("&story={s}"));
        }
        q
    }
}

async fn queue(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<QueueQuery>,
) -> Result<Response, AdminError> {
    let f = Filters::parse(q.status.as_deref(), q.story.as_deref())?;
    let before = match q.before.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(b) => Some(
            b.parse::<i64>().map_err(|_| AdminError::BadRequest(format!("before must be a number, found `{b}`")))?,
        ),
    };
    let items = state
        .store
        .comment_queue(&QueueFilter { status: f.status, news_id: f.story, before_id: before, limit: PAGE })
        .await?;
    let tz = state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
    let editions = state.editions.load_full();
    let rows: Vec<Value> = items
        .iter()
        .map(|i| {
            let c = &i.comment;
            // The headline is in its edition's language; the comment in whatever its author wrote.
            let edition = editions.iter().find(|e| e.id == c.edition_id);
            minijinja::context! {
                lang => edition.map(|e| e.lang.clone()),
                dir => edition.map(|e| e.direction.as_str()),
                id => c.id,
                status => c.status.as_str(),
                name => c.name,
                email => c.email,
                body_html => Value::from_safe_string(newsdesk_domain::comments::render(&c.body, false)),
                at => dates::format_long(c.created_at, tz),
                reply => c.parent_id,
                news_id => c.news_id,
                headline => i.headline,
                url => {
                    let path = format!("/news/{}/{}#comment-{}", c.news_id, i.slug, c.id);
                    edition.map(|e| e.url(&path)).unwrap_or(path)
                },
                moderated_by => c.moderated_by,
                moderated_at => c.moderated_at.map(|t| dates::format_long(t, tz)),
            }
        })
        .collect();
    let counts: Vec<Value> = state
        .store
        .comment_counts(f.story)
        .await?
        .into_iter()
        .map(|(s, n)| {
            let query = Filters { status: Some(s), story: f.story }.query();
            minijinja::context! { status => s.as_str(), n => n, url => format!("/admin/comments?{query}"), current => f.status == Some(s) }
        })
        .collect();
    let story = match f.story {
        Some(id) => state.store.comment_target(id).await?.map(|t| {
            minijinja::context! { news_id => id, closed => t.closed, open => state.comments.is_open(&t, Utc::now()) }
        }),
        None => None,
    };
    let next = (items.len() as i64 == PAGE)
        .then(|| items.last().map(|i| format!("/admin/comments?{}&before={}", f.query(), i.comment.id)))
        .flatten();
    let done = q.done.as_deref().and_then(|d| d.parse::<usize>().ok());
    let html = page::render(
        &state,
        &staff,
        "admin/comments.html",
        "Comments",
        minijinja::context! {
            rows => rows,
            counts => counts,
            status => f.status.map(CommentStatus::as_str).unwrap_or("all"),
            story_filter => f.story,
            story => story,
            query => f.query(),
            next => next,
            done => done,
        },
    )?;
    Ok((StatusCode::OK, html).into_response())
}

/// Approve, reject or mark as spam: the checked comments (`id`, repeated) with
/// the `action` button, or one comment with its own row button (`one=ID:action`).
async fn moderate(State(state): State<AppState>, staff: Staff, body: Bytes) -> Result<Response, AdminError> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|e| AdminError::BadRequest(format!("the form could not be read: {e}")))?;
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    let (action, ids) = match get("one") {
        Some(one) => {
            let (id, action) = one
                .split_once(':')
                .ok_or_else(|| AdminError::BadRequest(format!("one must look like 12:approve, found `{one}`")))?;
            let id = id.parse::<i64>().map_err(|_| AdminError::BadRequest(format!("`{id}` is not a comment id")))?;
            (action.to_string(), vec![id])
        }
        None => {
            let action = get("action").unwrap_or_default().to_string();
            let mut ids = Vec::new();
            for (_, v) in fields.iter().filter(|(k, _)| k == "id") {
                ids.push(v.parse::<i64>().map_err(|_| AdminError::BadRequest(format!("`{v}` is not a comment id")))?);
            }
            (action, ids)
        }
    };
    let status = match action.as_str() {
        "approve" => CommentStatus::Approved,
        "reject" => CommentStatus::Rejected,
        "spam" => CommentStatus::Spam,
        "pending" => CommentStatus::Pending,
        other => {
            return Err(AdminError::BadRequest(format!("Choose approve, reject or spam (the action was `{other}`).")));
        }
    };
    // The pages of the stories whose thread changed drop here at once, on other nodes through the change log.
    desk::moderate_comments(&state, &staff.actor(), &ids, status).await?.drop_pages(&state).await?;
    let back =
        Filters::parse(get("return_status"), get("return_story")).unwrap_or(Filters { status: None, story: None });
    Ok(Redirect::to(&format!("/admin/comments?{}&done={}", back.query(), ids.len())).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ClosedForm {
    closed: Option<String>,
}

/// Opens (`closed=0`) or closes (`closed=1`) a story for comments.
async fn set_closed(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<ClosedForm>,
) -> Result<Response, AdminError> {
    let id = id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)?;
    let closed = match form.closed.as_deref() {
        Some("1") => true,
        Some("0") => false,
        other => {
            return Err(AdminError::BadRequest(format!("closed must be 1 or 0, found `{}`", other.unwrap_or(""))));
        }
    };
    desk::close_comments(&state, &staff.actor(), id, closed).await?.drop_pages(&state).await?;
    Ok(Notice::CommentsSwitched.redirect(&format!("/admin/comments?status=all&story={id}")).into_response())
}
