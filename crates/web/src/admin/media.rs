//! Photos in the back office: upload (a plain multipart form, or the
//! editor's and library's drag and drop), the media library with search by
//! caption, and edits of a photo's caption, credit and details (headline,
//! creator, copyright notice, source, date created, keywords, usage terms).
//! An upload's empty fields are filled from the file's own metadata.

use axum::Form;
use axum::Json;
use axum::body::{Body, to_bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use newsdesk_domain::Photo;
use newsdesk_domain::roles::Permission;
use newsdesk_storage::Rendition;
use serde::{Deserialize, Serialize};

use super::{AdminError, ErrorMarker, Staff, Table, page};
use crate::AppState;
use crate::desk::{self, DeskError, MAX_CAPTION, MAX_CREDIT, PhotoForm, PhotoText};
use crate::media::{self, MediaError};

/// Photos per page of the library.
const PAGE: i64 = 30;
/// Room for the form's other fields and the multipart framing, beyond the file.
const FORM_SLACK: usize = 64 * 1024;

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/media", UploadMedia, library)
        // The configured limit is applied in the handler (it is a setting, the table is static).
        .post("/admin/media", UploadMedia, upload.layer(DefaultBodyLimit::disable()))
        .post("/admin/media/{id}", UploadMedia, edit_text)
}

/// A refusal with its own status (413, 415, 422), rendered like other back-office errors.
fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    let mut res = (status, message.clone()).into_response();
    res.extensions_mut().insert(ErrorMarker { login: false, message });
    res
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.starts_with("application/json"))
}

fn megabytes(n: usize) -> String {
    let mb = n as f64 / (1024.0 * 1024.0);
    if mb >= 10.0 || mb.fract() == 0.0 { format!("{mb:.0} MB") } else { format!("{mb:.1} MB") }
}

fn human_size(n: i64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!("{:.1} MB", n as f64 / (1024.0 * 1024.0)),
        n if n >= 1024 => format!("{} KB", (n + 512) / 1024),
        n => format!("{n} bytes"),
    }
}

/// Cleans a caption or credit with the desk's rule ([`desk::photo_text`]).
#[cfg(test)]
fn clean_text(field: &'static str, value: &str, max: usize) -> Result<String, String> {
    desk::photo_text(field, value, max).map_err(|e| e.message)
}

/// A photo as the library page and the editor's script see it.
#[derive(Debug, Serialize)]
struct Item {
    id: i64,
    caption: String,
    credit: String,
    width: i64,
    height: i64,
    mime: String,
    size: Option<String>,
    url: String,
    thumb: String,
    renditions: usize,
    /// Headline, creator, copyright notice, source, date created, keywords, usage terms.
    details: newsdesk_domain::photo_meta::PhotoDetails,
    /// The keywords as the edit form shows them: comma-separated.
    keywords: String,
}

fn item_of(photo: &Photo, renditions: &[Rendition], size: Option<i64>) -> Item {
    // The narrowest rendition as JPEG (every browser shows it); the original when there is none.
    let thumb = renditions.iter().find(|r| r.mime == "image/jpeg").map(Rendition::path).unwrap_or_else(|| photo.path());
    Item {
        id: photo.id,
        caption: photo.caption.clone(),
        credit: photo.credit.clone(),
        width: photo.width,
        height: photo.height,
        mime: photo.mime.clone(),
        size: size.map(human_size),
        url: photo.path(),
        thumb,
        renditions: renditions.len(),
        details: photo.details.clone(),
        keywords: photo.details.keywords.join(", "),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LibraryQuery {
    q: Option<String>,
    page: Option<String>,
    uploaded: Option<String>,
    saved: Option<String>,
    kept: Option<String>,
}

/// `GET /admin/media`: the library, newest first, searchable by caption; JSON for the editor's picker.
async fn library(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Query(q): Query<LibraryQuery>,
) -> Result<Response, AdminError> {
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(AdminError::BadRequest("the search text is longer than 200 characters".into()));
    }
    let page_no = match q.page.as_deref().filter(|s| !s.is_empty()) {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=10_000).contains(p))
            .ok_or_else(|| AdminError::BadRequest(format!("page must be a number from 1 to 10000, not `{p}`")))?,
    };
    let mut rows = state.store.media_library(search.as_deref(), (page_no - 1) * PAGE, PAGE + 1).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let ids: Vec<i64> = rows.iter().map(|r| r.photo.id).collect();
    let renditions = state.store.photo_renditions_of(&ids).await?;
    let items: Vec<Item> = rows
        .iter()
        .map(|r| item_of(&r.photo, renditions.get(&r.photo.id).map(Vec::as_slice).unwrap_or_default(), Some(r.size)))
        .collect();
    let query = serde_urlencoded::to_string([("q", search.clone().unwrap_or_default())]).unwrap_or_default();
    let prev = (page_no > 1).then(|| format!("/admin/media?{query}&page={}", page_no - 1));
    let next = more.then(|| format!("/admin/media?{query}&page={}", page_no + 1));
    if wants_json(&headers) {
        return Ok(Json(serde_json::json!({ "items": items, "page": page_no, "next": next })).into_response());
    }
    let notice = match (q.uploaded.as_deref(), q.saved.as_deref()) {
        (Some(id), _) if q.kept.is_some() => Some(format!(
            "Photo {id} was already in the library and a story you may not edit shows it: it kept its caption, \
             credit and details. An editor of that story can change them."
        )),
        (Some(id), _) => Some(format!("Photo {id} was uploaded; its resized copies are ready.")),
        (_, Some(id)) => Some(format!("The caption, credit and details of photo {id} were saved.")),
        _ => None,
    };
    let html = page::render(
        &state,
        &staff,
        "admin/media.html",
        "Media",
        minijinja::context! {
            items => items,
            q => search,
            page => page_no,
            prev => prev,
            next => next,
            notice => notice,
            max_upload => megabytes(state.config.media_max_upload_bytes),
            max_upload_bytes => state.config.media_max_upload_bytes,
            max_caption => MAX_CAPTION,
            max_credit => MAX_CREDIT,
            max_headline => desk::MAX_PHOTO_HEADLINE,
            max_creator => desk::MAX_CREATOR,
            max_copyright => desk::MAX_COPYRIGHT,
            max_source => desk::MAX_SOURCE,
            max_usage_terms => desk::MAX_USAGE_TERMS,
        },
    )?;
    Ok(html.into_response())
}

/// What an upload form sent.
struct UploadForm {
    file: Option<(Option<String>, bytes::Bytes)>,
    /// The typed text; empty fields are filled from the file.
    text: PhotoForm,
}

/// `POST /admin/media`: multipart `file`, and optionally `caption`, `credit`,
/// `headline`, `creator`, `copyright`, `source`, `date_created`, `keywords`
/// and `usage_terms` (each left empty is taken from the file's metadata). The
/// CSRF token comes in the `X-CSRF-Token` header or the `csrf` query parameter.
async fn upload(State(state): State<AppState>, staff: Staff, req: Request) -> Result<Response, AdminError> {
    let limit = state.config.media_max_upload_bytes;
    let json = wants_json(req.headers());
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The photo is larger than {}, the most this site accepts. Export it smaller and retry.",
                megabytes(limit)
            ),
        )
    };
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        return Ok(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the photo as a file upload (multipart/form-data with a `file` field).",
        ));
    }
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit + FORM_SLACK) {
        return Ok(too_large());
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, limit + FORM_SLACK).await else { return Ok(too_large()) };
    let form = match read_form(Request::from_parts(parts, Body::from(bytes)), &state).await {
        Ok(f) => f,
        Err(msg) => return Ok(refuse(StatusCode::BAD_REQUEST, msg)),
    };
    let Some((_name, file)) = form.file.filter(|(_, b)| !b.is_empty()) else {
        return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, "Choose a photo to upload: the file is missing or empty."));
    };
    if file.len() > limit {
        return Ok(too_large());
    }
    let typed = match form.text.clean(&PhotoText::default()) {
        Ok(t) => t,
        Err(errors) => return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, desk::join(&errors, " "))),
    };
    let Stored { photo, text_kept } = match store_upload(&state, &staff, file, typed).await? {
        Ok(p) => p,
        Err(e) => {
            let status = match e {
                MediaError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                MediaError::Undecodable(..) | MediaError::TooManyPixels { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                // Only seen when nobody waits for the answer any more.
                MediaError::Abandoned => StatusCode::SERVICE_UNAVAILABLE,
                MediaError::Encode(cause) => return Err(AdminError::Internal(cause)),
            };
            return Ok(refuse(status, e.to_string()));
        }
    };
    // Its crops for the page slots (16:9, 4:3, 1:1), around the centre until an
    // editor sets the focal point; the background job retries if this fails.
    if let Err(e) = media::crops::make_missing(&state, photo.id).await {
        e.warn("the crops of an uploaded photo could not be made");
    }
    if json {
        let renditions = state.store.photo_renditions(photo.id).await?;
        return Ok((StatusCode::CREATED, Json(item_of(&photo, &renditions, None))).into_response());
    }
    let kept = if text_kept { "&kept=1" } else { "" };
    Ok(Redirect::to(&format!("/admin/media?uploaded={}{kept}", photo.id)).into_response())
}

async fn read_form(req: Request, state: &AppState) -> Result<UploadForm, String> {
    let bad = |e: axum::extract::multipart::MultipartError| format!("The upload could not be read: {}", e.body_text());
    let mut multipart = Multipart::from_request(req, state)
        .await
        .map_err(|e| format!("The upload could not be read: {}", e.body_text()))?;
    let mut form = UploadForm { file: None, text: PhotoForm::default() };
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let t = &mut form.text;
        let slot = match field.name() {
            Some("file") => {
                let name = field.file_name().map(String::from);
                form.file = Some((name, field.bytes().await.map_err(bad)?));
                continue;
            }
            Some("caption") => &mut t.caption,
            Some("credit") => &mut t.credit,
            Some("headline") => &mut t.headline,
            Some("creator") => &mut t.creator,
            Some("copyright") => &mut t.copyright,
            Some("source") => &mut t.source,
            Some("date_created") => &mut t.date_created,
            Some("keywords") => &mut t.keywords,
            Some("usage_terms") => &mut t.usage_terms,
            _ => continue,
        };
        *slot = Some(field.text().await.map_err(bad)?);
    }
    Ok(form)
}

/// What an upload left in the library.
struct Stored {
    /// The photo, new or the one with the same bytes.
    photo: Photo,
    /// The same bytes were in the library, shown by a story the uploader may
    /// not edit: the photo kept its text.
    text_kept: bool,
}

/// Checks, cleans and stores an upload with its renditions (made once,
/// through the server's bounded image work). Each field of `typed` left empty
/// is taken from the file's metadata. The same bytes again are the same
/// photo, keeping its text where nothing was typed; new text for it is an
/// edit of the photo, which needs the right to edit the stories showing it
/// ([`desk::check_photo_text`]): without that right the photo keeps its text.
async fn store_upload(
    state: &AppState,
    staff: &Staff,
    file: bytes::Bytes,
    typed: PhotoText,
) -> Result<Result<Stored, MediaError>, AdminError> {
    let inspected = match state.images.inspect(file).await {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let existing = state.store.photo_by_sha256(&inspected.sha256).await?;
    let ready = match &existing {
        Some(p) => {
            p.width <= i64::from(media::RENDITION_WIDTHS[0]) || !state.store.photo_renditions(p.id).await?.is_empty()
        }
        None => false,
    };
    let photo = match existing {
        Some(p) if ready => p,
        _ => {
            let renditions = match state.images.renditions(&inspected).await {
                Ok(r) => r,
                Err(e) => return Ok(Err(e)),
            };
            let text = typed.clone().or(&PhotoText::from_file(&inspected.embedded));
            let mut new = inspected.to_photo(&text.caption, &text.credit);
            new.details = text.details;
            desk::add_photo(state, &staff.actor(), &new, &renditions).await?
        }
    };
    let stored = PhotoText::of(&photo);
    let wanted = typed.or(&stored);
    if wanted == stored {
        return Ok(Ok(Stored { photo, text_kept: false }));
    }
    match desk::set_photo_text(state, &staff.actor(), photo.id, &wanted).await {
        Ok((updated, changed)) => {
            changed.drop_pages(state).await?;
            Ok(Ok(Stored { photo: updated, text_kept: false }))
        }
        Err(DeskError::Forbidden(_)) => Ok(Ok(Stored { photo, text_kept: true })),
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/media/{id}`: a new caption, credit and details; a field the
/// form does not send keeps its value.
async fn edit_text(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<PhotoForm>,
) -> Result<Response, AdminError> {
    let id = id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)?;
    let (photo, changed) = match desk::edit_photo(&state, &staff.actor(), id, &form).await {
        Ok(done) => done,
        Err(DeskError::Invalid(errors)) => {
            return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, desk::join(&errors, " ")));
        }
        Err(e) => return Err(e.into()),
    };
    changed.drop_pages(&state).await?;
    if wants_json(&headers) {
        let renditions = state.store.photo_renditions(id).await?;
        return Ok(Json(item_of(&photo, &renditions, None)).into_response());
    }
    Ok(Redirect::to(&format!("/admin/media?saved={id}")).into_response())
}

/// The view of the lead photo in the editor: `None` when there is none or it is gone.
pub(super) async fn editor_photo(state: &AppState, id: Option<i64>) -> Result<Option<serde_json::Value>, AdminError> {
    let Some(id) = id else { return Ok(None) };
    let Some(photo) = state.store.photo(id).await? else { return Ok(None) };
    let renditions = state.store.photo_renditions(id).await?;
    Ok(Some(serde_json::to_value(item_of(&photo, &renditions, None)).map_err(|e| AdminError::Internal(e.to_string()))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(megabytes(20 * 1024 * 1024), "20 MB");
        assert_eq!(megabytes(1536 * 1024), "1.5 MB");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(2048), "2 KB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MB");
    }

    #[test]
    fn text_is_one_trimmed_line_within_its_limit() {
        assert_eq!(clean_text("caption", "  A\n  harbour\tat dawn ", 100), Ok("A harbour at dawn".into()));
        assert!(clean_text("credit", &"x".repeat(201), 200).is_err());
    }
}
