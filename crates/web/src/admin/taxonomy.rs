//! Sections (create, rename, move, reorder; old addresses redirect) and tags (merge).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use newsdesk_domain::roles::Permission;
use newsdesk_domain::{Edition, Section};
use newsdesk_storage::{SectionEdit, StoreError};
use serde::{Deserialize, Serialize};

use super::notice::Notice;
use super::{AdminError, Staff, Table, page};
use crate::AppState;

pub(super) fn routes(t: Table) -> Table {
    use Permission::ManageSections as M;
    t.get("/admin/sections", M, sections)
        .post("/admin/sections", M, create_section)
        .post("/admin/sections/{id}", M, update_section)
        .get("/admin/tags", M, tags)
        .post("/admin/tags/merge", M, merge_tags)
}

fn edition(state: &AppState) -> Result<Edition, AdminError> {
    state.default_edition().ok_or_else(|| AdminError::BadRequest("The site has no edition yet.".into()))
}

#[derive(Debug, Serialize)]
struct Row {
    id: i64,
    name: String,
    slug: String,
    path: String,
    depth: usize,
    parent_id: Option<i64>,
    position: i64,
}

/// The tree in reading order: each section followed by its subsections, by position.
fn tree(sections: &[Section]) -> Vec<Row> {
    fn walk(all: &[Section], parent: Option<i64>, depth: usize, out: &mut Vec<Row>) {
        let mut kids: Vec<&Section> = all.iter().filter(|s| s.parent_id == parent).collect();
        kids.sort_by(|a, b| (a.position, &a.name).cmp(&(b.position, &b.name)));
        for s in kids {
            out.push(Row {
                id: s.id,
                name: s.name.clone(),
                slug: s.slug.clone(),
                path: s.path.clone(),
                depth,
                parent_id: s.parent_id,
                position: s.position,
            });
            walk(all, Some(s.id), depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(sections, None, 0, &mut out);
    out
}

async fn render_sections(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let e = edition(state)?;
    let rows = tree(&state.store.sections(e.id).await?);
    let html = page::render(
        state,
        staff,
        "admin/sections.html",
        "Sections",
        minijinja::context! {
            rows => rows, edition => e.name, error => error,
        },
    )?;
    Ok((status, html).into_response())
}

async fn sections(State(state): State<AppState>, staff: Staff) -> Result<Response, AdminError> {
    render_sections(&state, &staff, StatusCode::OK, None).await
}

#[derive(Debug, Deserialize)]
pub(super) struct SectionForm {
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    position: String,
}

fn edit_of(form: &SectionForm) -> Result<SectionEdit, String> {
    let parent_id = match form.parent_id.trim() {
        "" => None,
        p => Some(p.parse::<i64>().map_err(|_| format!("unknown parent section `{p}`"))?),
    };
    let position = match form.position.trim() {
        "" => 0,
        p => p
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=10_000).contains(n))
            .ok_or_else(|| format!("the position must be a number from 0 to 10000, not `{p}`"))?,
    };
    Ok(SectionEdit { name: form.name.clone(), slug: Some(form.slug.clone()), parent_id, position })
}

async fn create_section(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<SectionForm>,
) -> Result<Response, AdminError> {
    let e = edition(&state)?;
    let edit = match edit_of(&form) {
        Ok(x) => x,
        Err(m) => {
            return render_sections(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(format!("Not created: {m}.")),
            )
            .await;
        }
    };
    // The store fills in the new section's id and path.
    match state.store.create_section(e.id, &edit, &staff.audit("section.create", "section", "", "")).await {
        Ok(_) => {
            state.apply_site_change();
            Ok(Notice::SectionCreated.redirect("/admin/sections").into_response())
        }
        Err(StoreError::Invalid(m)) => {
            render_sections(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(format!("Not created: {m}."))).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn update_section(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<SectionForm>,
) -> Result<Response, AdminError> {
    let id = id.parse::<i64>().map_err(|_| AdminError::NotFound)?;
    let edit = match edit_of(&form) {
        Ok(x) => x,
        Err(m) => {
            return render_sections(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(format!("Not saved: {m}.")))
                .await;
        }
    };
    // The store fills in the section's new path.
    match state.store.update_section(id, &edit, &staff.audit("section.update", "section", id, "")).await {
        Ok(_) => {
            state.apply_site_change();
            Ok(Notice::SectionSaved.redirect("/admin/sections").into_response())
        }
        Err(StoreError::Invalid(m)) => {
            render_sections(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(format!("Not saved: {m}."))).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn render_tags(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let e = edition(state)?;
    let rows: Vec<_> = state
        .store
        .tags_with_counts(e.id)
        .await?
        .into_iter()
        .map(|(t, n)| minijinja::context! { id => t.id, slug => t.slug, name => t.name, stories => n })
        .collect();
    let html =
        page::render(state, staff, "admin/tags.html", "Tags", minijinja::context! { rows => rows, error => error })?;
    Ok((status, html).into_response())
}

async fn tags(State(state): State<AppState>, staff: Staff) -> Result<Response, AdminError> {
    render_tags(&state, &staff, StatusCode::OK, None).await
}

#[derive(Debug, Deserialize)]
pub(super) struct MergeForm {
    from: String,
    into: String,
}

async fn merge_tags(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<MergeForm>,
) -> Result<Response, AdminError> {
    let e = edition(&state)?;
    let (Ok(from), Ok(into)) = (form.from.parse::<i64>(), form.into.parse::<i64>()) else {
        return render_tags(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some("Choose both tags.".into())).await;
    };
    // The store appends how many stories moved to the detail.
    match state
        .store
        .merge_tags(e.id, from, into, &staff.audit("tag.merge", "tag", into, format!("tag {from} merged")))
        .await
    {
        Ok(_) => {
            state.apply_site_change();
            Ok(Notice::TagsMerged.redirect("/admin/tags").into_response())
        }
        Err(StoreError::Invalid(m)) => {
            render_tags(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(format!("Not merged: {m}."))).await
        }
        Err(e) => Err(e.into()),
    }
}
