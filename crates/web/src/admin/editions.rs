//! Edition settings for admins: the calendar and digits dates are shown in,
//! and how readers' comments are moderated.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use newsdesk_domain::calendar::{Calendar, Digits};
use newsdesk_domain::comments::ModerationMode;
use newsdesk_domain::roles::Permission;
use serde::Deserialize;

use super::notice::Notice;
use super::{AdminError, Staff, Table, page};
use crate::AppState;

pub(super) fn routes(t: Table) -> Table {
    t.get("/admin/editions", Permission::ManageEditions, list).post(
        "/admin/editions/{id}",
        Permission::ManageEditions,
        update,
    )
}

async fn render(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, AdminError> {
    let mut rows = Vec::new();
    for e in state.store.editions().await? {
        let moderation = state.store.edition_comment_moderation(e.id).await?;
        rows.push(minijinja::context! {
            id => e.id, lang => e.lang, name => e.name, direction => e.direction.as_str(),
            time_zone => e.time_zone.name(), is_default => e.is_default,
            calendar => e.calendar.as_str(), digits => newsdesk_domain::digits_name(e.digits),
            sample => e.format_long(chrono::Utc::now()),
            moderation => moderation.unwrap_or_default(),
        });
    }
    let html = page::render(
        state,
        staff,
        "admin/editions.html",
        "Editions",
        minijinja::context! {
            rows => rows, error => error,
            calendars => ["gregorian", "solar_hijri", "hijri"],
            digit_styles => ["latin", "arabic", "persian"],
            default_moderation => state.config.comments.moderation.as_str(),
        },
    )?;
    Ok((status, html).into_response())
}

async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, AdminError> {
    render(&state, &staff, StatusCode::OK, None).await
}

#[derive(Debug, Deserialize)]
pub(super) struct EditionForm {
    calendar: String,
    digits: String,
    #[serde(default)]
    moderation: String,
}

async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<EditionForm>,
) -> Result<Response, AdminError> {
    let id = id.parse::<i64>().map_err(|_| AdminError::NotFound)?;
    let edition = state.store.editions().await?.into_iter().find(|e| e.id == id).ok_or(AdminError::NotFound)?;
    let bad = |m: String| render(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(m));
    let calendar: Calendar = match form.calendar.parse() {
        Ok(c) => c,
        Err(e) => return bad(format!("{e}.")).await,
    };
    let digits: Digits = match form.digits.parse() {
        Ok(d) => d,
        Err(e) => return bad(format!("{e}.")).await,
    };
    let moderation = match form.moderation.trim() {
        "" => None,
        m => match ModerationMode::parse(m) {
            Some(m) => Some(m),
            None => return bad(format!("Unknown moderation mode `{m}`: expected pre or post.")).await,
        },
    };
    let audit = staff.audit(
        "edition.update",
        "edition",
        &edition.lang,
        format!(
            "{calendar}, {} digits, moderation {}",
            newsdesk_domain::digits_name(digits),
            moderation.map_or("default", |m| m.as_str())
        ),
    );
    if !state.store.update_edition_settings(edition.id, calendar, digits, moderation, &audit).await? {
        return Err(AdminError::NotFound);
    }
    state.editions.store(std::sync::Arc::new(state.store.editions().await?));
    state.apply_site_change();
    Ok(Notice::EditionSaved.redirect("/admin/editions").into_response())
}
