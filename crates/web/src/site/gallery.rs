//! The gallery viewer on story pages: a story's lead gallery in the lead
//! photo's place, galleries inside bodies (rendered into `body_html` at
//! save, see `newsdesk_storage` galleries), the words the viewer's script
//! shows, and the script itself (`/static/gallery.js`, our own, no third party).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use newsdesk_domain::Story;
use newsdesk_domain::gallery::{Gallery, viewer_html};

use crate::{AppError, AppState};

/// The viewer's script.
const GALLERY_JS: &str = include_str!("../../static/gallery.js");

/// The script's URL, carrying its hash (cached for a year).
pub(crate) fn script_url() -> String {
    format!("/static/gallery.js?v={}", &super::content_hash(GALLERY_JS.as_bytes())[..12])
}

/// `GET /static/gallery.js`: cached for a year (its URL carries its hash).
pub(super) async fn script() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        GALLERY_JS,
    )
        .into_response()
}

/// What a story page shows of galleries.
#[derive(Debug, Default)]
pub(crate) struct StoryGalleries {
    /// The lead gallery's viewer, when the story has one.
    pub(crate) lead_html: Option<String>,
    /// Absolute URLs of every gallery photo, lead gallery first (JSON-LD `image`).
    pub(crate) images: Vec<String>,
    /// Whether the page shows a viewer (lead or body): it loads the script.
    pub(crate) any: bool,
}

/// The galleries of `story` for its page.
pub(crate) async fn for_story(
    state: &AppState,
    db: &mut newsdesk_storage::Reads,
    story: &Story,
) -> Result<StoryGalleries, AppError> {
    let galleries: Vec<Gallery> = db.story_galleries(story).await?;
    let lead = story.gallery_id.and_then(|id| galleries.iter().find(|g| g.id == id && !g.items.is_empty()));
    let lead_html = match lead {
        Some(g) => Some(viewer_html(g, &db.gallery_images(g).await?, "lead")),
        None => None,
    };
    let public_url = &state.config.public_url;
    let images: Vec<String> = galleries
        .iter()
        .flat_map(|g| g.items.iter())
        .map(|i| format!("{public_url}{}", i.photo.path()))
        .fold(Vec::new(), |mut out, u| {
            if !out.contains(&u) {
                out.push(u);
            }
            out
        });
    let any = lead_html.is_some() || story.body_html.contains("<section class=\"gallery\"");
    Ok(StoryGalleries { lead_html, images, any })
}
