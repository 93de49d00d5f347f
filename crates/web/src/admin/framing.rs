//! A photo's page in the media library: its focal point (a click on the
//! picture with the back office's script, or two number inputs without it),
//! crops set by hand per ratio, and previews of the crops readers get.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use newsdesk_domain::crop::{Ratio, Rect};
use newsdesk_domain::roles::Permission;
use newsdesk_storage::{CropRendition, Framing};
use serde::Deserialize;

use super::{AdminError, Staff, Table, page};
use crate::AppState;
use crate::desk::framing::{FramingInput, set_framing};
use crate::desk::{DeskError, FieldError};

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/media/{id}", UploadMedia, photo_page).post("/admin/media/{id}/framing", UploadMedia, save)
}

fn photo_id(id: &str) -> Result<i64, AdminError> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)
}

/// The picture shown to click on: the widest JPEG rendition up to 1024 pixels, else the original.
fn picture_src(photo: &newsdesk_domain::Photo, renditions: &[newsdesk_storage::Rendition]) -> String {
    renditions
        .iter()
        .filter(|r| r.mime == "image/jpeg" && r.width <= 1024)
        .max_by_key(|r| r.width)
        .map(newsdesk_storage::Rendition::path)
        .unwrap_or_else(|| photo.path())
}

/// A ratio's preview: its widest JPEG crop up to 640 pixels, and the largest size made.
fn preview(ratio: Ratio, crops: &[CropRendition]) -> Option<(String, String)> {
    let jpeg = crops.iter().filter(|c| c.ratio == ratio && c.mime == "image/jpeg");
    let shown = jpeg.clone().filter(|c| c.width <= 640).max_by_key(|c| c.width)?;
    let largest = jpeg.max_by_key(|c| c.width)?;
    Some((shown.path(), format!("{}×{}", largest.width, largest.height)))
}

fn field_key(ratio: Ratio) -> &'static str {
    match ratio {
        Ratio::Wide => "16x9",
        Ratio::Standard => "4x3",
        Ratio::Square => "1x1",
    }
}

async fn render(
    state: &AppState,
    staff: &Staff,
    id: i64,
    input: Option<&FramingInput>,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Result<Response, AdminError> {
    let photo = state.store.photo(id).await?.ok_or(AdminError::NotFound)?;
    let renditions = state.store.photo_renditions(id).await?;
    let crops = state.store.photo_crop_renditions(id).await?;
    let framing: Framing = state.store.photo_framing(id).await?;
    let (w, h) = (u32::try_from(photo.width).unwrap_or(1), u32::try_from(photo.height).unwrap_or(1));
    let (fx, fy) = match input {
        Some(i) => (i.focus_x.clone(), i.focus_y.clone()),
        None => (format!("{:.1}", framing.focus.x * 100.0), format!("{:.1}", framing.focus.y * 100.0)),
    };
    let ratios: Vec<minijinja::Value> = Ratio::ALL
        .into_iter()
        .map(|ratio| {
            let current: Rect = framing.crop(ratio, w, h);
            let typed = input.and_then(|i| i.crops.iter().find(|(r, _)| *r == ratio)).map(|(_, v)| v.clone());
            let manual = framing.manual(ratio);
            let values = typed.unwrap_or_else(|| match manual {
                Some(c) => [c.x.to_string(), c.y.to_string(), c.width.to_string()],
                None => Default::default(),
            });
            let (src, largest) = preview(ratio, &crops).unzip();
            let key = field_key(ratio);
            minijinja::context! {
                key => key,
                label => ratio.label(),
                manual => manual.is_some(),
                current => format!("{}×{} at {}, {}", current.width, current.height, current.x, current.y),
                placeholder => [current.x, current.y, current.width],
                values => values,
                preview => src,
                largest => largest,
                error => errors.iter().find(|e| e.field == format!("crop_{key}")).map(|e| e.message.clone()),
            }
        })
        .collect();
    let error_of = |f: &str| errors.iter().find(|e| e.field == f).map(|e| e.message.clone());
    let html = page::render(
        state,
        staff,
        "admin/photo.html",
        &format!("Photo {id}"),
        minijinja::context! {
            photo => minijinja::context! {
                id => photo.id,
                caption => photo.caption,
                credit => photo.credit,
                width => photo.width,
                height => photo.height,
                url => photo.path(),
                src => picture_src(&photo, &renditions),
            },
            focus_x => fx,
            focus_y => fy,
            focus_x_error => error_of("focus_x"),
            focus_y_error => error_of("focus_y"),
            ratios => ratios,
            crops_ready => !crops.is_empty(),
            crops_open => !framing.crops.is_empty() || errors.iter().any(|e| e.field.starts_with("crop_")),
            notice => notice,
            errors => errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>(),
        },
    )?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, html).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    saved: Option<String>,
}

/// `GET /admin/media/{id}`: the photo's framing and crop previews.
async fn photo_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AdminError> {
    let id = photo_id(&id)?;
    let notice = q.saved.is_some().then_some("The focal point and crops were saved; the crops below are new.");
    render(&state, &staff, id, None, &[], notice).await
}

/// The framing form: focal point in percent, and per ratio left, top and width in pixels.
#[derive(Debug, Default, Deserialize)]
pub(super) struct FramingForm {
    #[serde(default)]
    focus_x: String,
    #[serde(default)]
    focus_y: String,
    #[serde(default)]
    crop_16x9_x: String,
    #[serde(default)]
    crop_16x9_y: String,
    #[serde(default)]
    crop_16x9_w: String,
    #[serde(default)]
    crop_4x3_x: String,
    #[serde(default)]
    crop_4x3_y: String,
    #[serde(default)]
    crop_4x3_w: String,
    #[serde(default)]
    crop_1x1_x: String,
    #[serde(default)]
    crop_1x1_y: String,
    #[serde(default)]
    crop_1x1_w: String,
}

impl FramingForm {
    fn input(self) -> FramingInput {
        FramingInput {
            focus_x: self.focus_x,
            focus_y: self.focus_y,
            crops: vec![
                (Ratio::Wide, [self.crop_16x9_x, self.crop_16x9_y, self.crop_16x9_w]),
                (Ratio::Standard, [self.crop_4x3_x, self.crop_4x3_y, self.crop_4x3_w]),
                (Ratio::Square, [self.crop_1x1_x, self.crop_1x1_y, self.crop_1x1_w]),
            ],
        }
    }
}

/// `POST /admin/media/{id}/framing`: a new focal point and crops; the crops are made again.
async fn save(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<FramingForm>,
) -> Result<Response, AdminError> {
    let id = photo_id(&id)?;
    let input = form.input();
    match set_framing(&state, &staff.actor(), id, &input).await {
        Ok((_, changed)) => {
            changed.drop_pages(&state).await?;
            Ok(Redirect::to(&format!("/admin/media/{id}?saved=1")).into_response())
        }
        Err(DeskError::Invalid(errors)) => render(&state, &staff, id, Some(&input), &errors, None).await,
        Err(e) => Err(e.into()),
    }
}
