//! Galleries in the back office: the list, a new gallery, and the gallery's
//! page where its photos are picked from the media library, ordered (Move up
//! / Move down buttons: plain form buttons, usable from the keyboard and
//! without JavaScript) and given the caption and credit of this use.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use newsdesk_domain::gallery::{Gallery, MAX_GALLERY_CAPTION, MAX_GALLERY_CREDIT, MAX_GALLERY_TITLE};
use newsdesk_domain::roles::Permission;
use newsdesk_storage::{GalleryItemInput, Rendition};
use serde::{Deserialize, Serialize};

use super::notice::Notice;
use super::{AdminError, Staff, Table, page};
use crate::AppState;
use crate::desk::{self, DeskError};

/// Photos of the library offered on a gallery's page.
const LIBRARY: i64 = 24;

pub(super) fn routes(t: Table) -> Table {
    use Permission::*;
    t.get("/admin/galleries", UploadMedia, list)
        .post("/admin/galleries", UploadMedia, create)
        .get("/admin/galleries/{id}", UploadMedia, edit)
        .post("/admin/galleries/{id}", UploadMedia, save)
}

/// One photo of the gallery as its page shows it.
#[derive(Debug, Serialize)]
struct ItemView {
    photo_id: i64,
    caption: String,
    credit: String,
    /// The library's own caption and credit (shown when the use's are empty).
    photo_caption: String,
    photo_credit: String,
    thumb: String,
}

fn thumb_of(photo: &newsdesk_domain::Photo, renditions: &[Rendition]) -> String {
    renditions.iter().find(|r| r.mime == "image/jpeg").map(Rendition::path).unwrap_or_else(|| photo.path())
}

/// `GET /admin/galleries`: every gallery, most recently changed first, and the form for a new one.
async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, AdminError> {
    let galleries = state.store.galleries(0, 200).await?;
    let html = page::render(
        &state,
        &staff,
        "admin/galleries.html",
        "Galleries",
        minijinja::context! { galleries => galleries, max_title => MAX_GALLERY_TITLE, errors => Vec::<String>::new() },
    )?;
    Ok(html.into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct NewGallery {
    #[serde(default)]
    title: String,
}

/// `POST /admin/galleries`: a new, empty gallery; its page opens to add photos.
async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<NewGallery>,
) -> Result<Response, AdminError> {
    match desk::galleries::create_gallery(&state, &staff.actor(), &form.title, &[]).await {
        Ok(g) => Ok(Notice::GalleryCreated.redirect(&format!("/admin/galleries/{}", g.id)).into_response()),
        Err(DeskError::Invalid(errors)) => {
            let galleries = state.store.galleries(0, 200).await?;
            let html = page::render(
                &state,
                &staff,
                "admin/galleries.html",
                "Galleries",
                minijinja::context! {
                    galleries => galleries,
                    max_title => MAX_GALLERY_TITLE,
                    errors => errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>(),
                },
            )?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct EditQuery {
    q: Option<String>,
}

fn gallery_id(raw: &str) -> Result<i64, AdminError> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AdminError::NotFound)
}

/// What the gallery's page shows: the gallery as stored or as the form sent it.
struct EditorPage {
    id: i64,
    version: i64,
    title: String,
    items: Vec<GalleryItemInput>,
    errors: Vec<String>,
    q: Option<String>,
    status: StatusCode,
}

async fn render_editor(state: &AppState, staff: &Staff, p: EditorPage) -> Result<Response, AdminError> {
    let ids: Vec<i64> = p.items.iter().map(|i| i.photo_id).collect();
    let renditions = state.store.photo_renditions_of(&ids).await?;
    let mut items = Vec::with_capacity(p.items.len());
    for it in &p.items {
        let Some(photo) = state.store.photo(it.photo_id).await? else { continue };
        items.push(ItemView {
            photo_id: it.photo_id,
            caption: it.caption.clone(),
            credit: it.credit.clone(),
            thumb: thumb_of(&photo, renditions.get(&photo.id).map(Vec::as_slice).unwrap_or_default()),
            photo_caption: photo.caption,
            photo_credit: photo.credit,
        });
    }
    let search = p.q.as_deref().map(str::trim).filter(|s| !s.is_empty() && s.chars().count() <= 200);
    let library = state.store.media_library(search, 0, LIBRARY).await?;
    let lib_ids: Vec<i64> = library.iter().map(|m| m.photo.id).collect();
    let lib_renditions = state.store.photo_renditions_of(&lib_ids).await?;
    let library: Vec<_> = library
        .iter()
        .map(|m| {
            minijinja::context! {
                id => m.photo.id,
                caption => m.photo.caption,
                credit => m.photo.credit,
                thumb => thumb_of(&m.photo, lib_renditions.get(&m.photo.id).map(Vec::as_slice).unwrap_or_default()),
                added => ids.contains(&m.photo.id),
            }
        })
        .collect();
    let uses: Vec<_> = state
        .store
        .gallery_uses(p.id)
        .await?
        .into_iter()
        .map(|u| {
            minijinja::context! {
                news_id => u.news_id, status => u.status.as_str(), lead => u.lead,
                edit_url => format!("/admin/stories/{}/edit", u.news_id),
            }
        })
        .collect();
    let html = page::render(
        state,
        staff,
        "admin/gallery.html",
        &format!("Gallery: \u{2068}{}\u{2069}", p.title),
        minijinja::context! {
            gallery => minijinja::context! { id => p.id, version => p.version, title => p.title },
            items => items,
            library => library,
            q => search,
            uses => uses,
            errors => p.errors,
            max_title => MAX_GALLERY_TITLE,
            max_caption => MAX_GALLERY_CAPTION,
            max_credit => MAX_GALLERY_CREDIT,
        },
    )?;
    Ok((p.status, html).into_response())
}

fn inputs_of(g: &Gallery) -> Vec<GalleryItemInput> {
    g.items
        .iter()
        .map(|i| GalleryItemInput { photo_id: i.photo.id, caption: i.caption.clone(), credit: i.credit.clone() })
        .collect()
}

/// `GET /admin/galleries/{id}`: the gallery's photos and the library to add from.
async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<EditQuery>,
) -> Result<Response, AdminError> {
    let id = gallery_id(&id)?;
    let g = state.store.gallery(id).await?.ok_or(AdminError::NotFound)?;
    let page = EditorPage {
        id,
        version: g.version,
        title: g.title.clone(),
        items: inputs_of(&g),
        errors: Vec::new(),
        q: q.q,
        status: StatusCode::OK,
    };
    render_editor(&state, &staff, page).await
}

/// What the gallery form sent: its fields in order (photos, captions and
/// credits repeat, one of each per photo).
struct SentForm {
    title: String,
    version: Option<i64>,
    items: Vec<GalleryItemInput>,
    /// Photo ids to append (library checkboxes, or typed numbers).
    add: Vec<String>,
    /// The button pressed: `save`, `up-N`, `down-N`, `remove-N` (N from 1).
    op: String,
}

fn read_form(pairs: Vec<(String, String)>) -> Result<SentForm, AdminError> {
    let mut f = SentForm { title: String::new(), version: None, items: Vec::new(), add: Vec::new(), op: String::new() };
    let (mut photos, mut captions, mut credits) = (Vec::new(), Vec::new(), Vec::new());
    for (k, v) in pairs {
        match k.as_str() {
            "title" => f.title = v,
            "version" => f.version = v.trim().parse().ok(),
            "photo_id" => photos.push(v),
            "caption" => captions.push(v),
            "credit" => credits.push(v),
            "add" => f.add.push(v),
            "add_ids" => f.add.extend(v.split([',', ' ']).filter(|s| !s.trim().is_empty()).map(String::from)),
            "op" => f.op = v,
            _ => {}
        }
    }
    if captions.len() != photos.len() || credits.len() != photos.len() {
        return Err(AdminError::BadRequest("each photo of the gallery needs its caption and credit field".into()));
    }
    for ((p, c), r) in photos.iter().zip(captions).zip(credits) {
        let photo_id = p
            .trim()
            .parse::<i64>()
            .map_err(|_| AdminError::BadRequest(format!("a photo of the gallery must be a photo number, not “{p}”")))?;
        f.items.push(GalleryItemInput { photo_id, caption: c, credit: r });
    }
    Ok(f)
}

/// Applies the button pressed to the photos: a move or a removal; returns the
/// position (from 1) to show afterwards.
fn apply_op(items: &mut Vec<GalleryItemInput>, op: &str) -> Option<usize> {
    let (what, n) = op.split_once('-')?;
    let n: usize = n.parse().ok().filter(|n| *n >= 1 && *n <= items.len())?;
    let i = n - 1;
    match what {
        "up" if i > 0 => {
            items.swap(i, i - 1);
            Some(n - 1)
        }
        "down" if i + 1 < items.len() => {
            items.swap(i, i + 1);
            Some(n + 1)
        }
        "remove" => {
            items.remove(i);
            Some(n.min(items.len()).max(1))
        }
        _ => Some(n),
    }
}

/// `POST /admin/galleries/{id}`: saves the title and photos as sent, after
/// the button's move, removal or additions.
async fn save(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AdminError> {
    let id = gallery_id(&id)?;
    let mut f = read_form(pairs)?;
    let version = f.version.ok_or_else(|| AdminError::BadRequest("the form lacks the gallery's version".into()))?;
    let mut errors = Vec::new();
    for raw in &f.add {
        match raw.trim().parse::<i64>() {
            Ok(photo_id) if !f.items.iter().any(|i| i.photo_id == photo_id) => {
                f.items.push(GalleryItemInput { photo_id, caption: String::new(), credit: String::new() })
            }
            Ok(_) => {}
            Err(_) => errors.push(format!("“{raw}” is not a photo number.")),
        }
    }
    let at = apply_op(&mut f.items, &f.op);
    if errors.is_empty() {
        match desk::galleries::save_gallery(&state, &staff.actor(), id, version, &f.title, &f.items).await {
            Ok((_, changed)) => {
                changed.drop_pages(&state).await?;
                let to = match at {
                    Some(n) => format!("/admin/galleries/{id}#item-{n}"),
                    None => format!("/admin/galleries/{id}"),
                };
                return Ok(Notice::GallerySaved.redirect(&to).into_response());
            }
            Err(DeskError::Invalid(e)) => errors.extend(e.into_iter().map(|e| e.message)),
            Err(e) => return Err(e.into()),
        }
    }
    let page = EditorPage {
        id,
        version,
        title: f.title,
        items: f.items,
        errors,
        q: None,
        status: StatusCode::UNPROCESSABLE_ENTITY,
    };
    render_editor(&state, &staff, page).await
}

/// The galleries the story editor offers as its lead: `(id, title)`, most recent first.
pub(super) async fn editor_choices(state: &AppState) -> Result<Vec<(i64, String)>, AdminError> {
    Ok(state.store.galleries(0, 200).await?.into_iter().map(|g| (g.id, g.title)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(ids: &[i64]) -> Vec<GalleryItemInput> {
        ids.iter()
            .map(|&photo_id| GalleryItemInput { photo_id, caption: String::new(), credit: String::new() })
            .collect()
    }

    #[test]
    fn buttons_move_and_remove_photos() {
        let ids = |v: &[GalleryItemInput]| v.iter().map(|i| i.photo_id).collect::<Vec<_>>();
        let mut v = items(&[1, 2, 3]);
        assert_eq!(apply_op(&mut v, "up-2"), Some(1));
        assert_eq!(ids(&v), [2, 1, 3]);
        assert_eq!(apply_op(&mut v, "down-2"), Some(3));
        assert_eq!(ids(&v), [2, 3, 1]);
        assert_eq!(apply_op(&mut v, "up-1"), Some(1), "the first cannot move up");
        assert_eq!(apply_op(&mut v, "down-3"), Some(3), "the last cannot move down");
        assert_eq!(apply_op(&mut v, "remove-3"), Some(2));
        assert_eq!(ids(&v), [2, 3]);
        assert_eq!(apply_op(&mut v, "remove-9"), None);
        assert_eq!(apply_op(&mut v, "save"), None);
        assert_eq!(ids(&v), [2, 3]);
    }
}
