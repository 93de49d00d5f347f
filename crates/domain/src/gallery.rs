//! Galleries: an ordered set of photos from the media library, each with the
//! caption and credit of this use, shown as a story's lead (in the lead
//! photo's place) or inside its body (a line `gallery:ID` alone).

use serde::Serialize;

use crate::Photo;

/// Most photos one gallery holds.
pub const MAX_GALLERY_ITEMS: usize = 100;
/// Longest title of a gallery, in characters.
pub const MAX_GALLERY_TITLE: usize = 300;
/// Longest caption of a photo in a gallery, in characters.
pub const MAX_GALLERY_CAPTION: usize = 2000;
/// Longest credit of a photo in a gallery, in characters.
pub const MAX_GALLERY_CREDIT: usize = 300;

/// A gallery with its photos, in order.
#[derive(Debug, Clone, Serialize)]
pub struct Gallery {
    /// Database id (what `gallery:ID` and a story's lead gallery name).
    pub id: i64,
    /// Title (for the newsroom, and the viewer's label).
    pub title: String,
    /// Grows by one with each change.
    pub version: i64,
    /// The photos, in the order readers see them.
    pub items: Vec<GalleryItem>,
}

/// One photo of a gallery.
#[derive(Debug, Clone, Serialize)]
pub struct GalleryItem {
    /// The photo as the media library has it.
    pub photo: Photo,
    /// Caption of this use (empty: the photo's own caption).
    pub caption: String,
    /// Credit of this use (empty: the photo's own credit).
    pub credit: String,
}

impl GalleryItem {
    /// The caption readers see: this use's, else the photo's own.
    pub fn shown_caption(&self) -> &str {
        if self.caption.trim().is_empty() { &self.photo.caption } else { &self.caption }
    }

    /// The credit readers see: this use's, else the photo's own.
    pub fn shown_credit(&self) -> &str {
        if self.credit.trim().is_empty() { &self.photo.credit } else { &self.credit }
    }
}

/// How wide the viewer's large photo is shown: the story column, or the
/// screen on narrow ones (the lead photo's `sizes`).
pub const VIEWER_SIZES: &str = "(max-width: 860px) calc(100vw - 32px), 816px";
/// How wide a thumbnail is shown.
const THUMB_SIZES: &str = "96px";

/// The picture of one gallery photo as the viewer shows it: its path and
/// size, and the responsive candidates of its renditions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewerImage {
    /// Path of the fallback image (the original, or a rendition).
    pub src: String,
    /// Width in pixels of the picture as displayed.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// `srcset` of the JPEG renditions and the original; empty without renditions.
    pub srcset: String,
    /// `srcset` of the WebP renditions; empty without them.
    pub webp_srcset: String,
}

/// The viewer of `gallery`: every photo in the page (a scroll-snap strip and
/// thumbnail links to each, so all are reachable without JavaScript), which
/// `/static/gallery.js` turns into one photo at a time with previous/next
/// buttons, arrow keys and a live position. `images` are the pictures of
/// `gallery.items`, in the same order; `key` tells apart two viewers of one
/// page (`lead`, `body`). Language-neutral: the words the script adds come
/// from the page (`data-gallery-*` on an ancestor). Captions and credits are
/// escaped and marked `dir="auto"` (a Persian caption in an English page).
pub fn viewer_html(gallery: &Gallery, images: &[ViewerImage], key: &str) -> String {
    use crate::html::escape;
    use std::fmt::Write;
    let uid = format!("gallery-{key}-{}", gallery.id);
    let title = escape(&gallery.title);
    let mut out = String::new();
    let _ = write!(
        out,
        "<section class=\"gallery\" id=\"{uid}\" data-gallery=\"{}\" aria-roledescription=\"gallery\" aria-label=\"{title}\">\n\
         <ol class=\"gallery-slides\" tabindex=\"0\" aria-label=\"{title}\">\n",
        gallery.id
    );
    let empty = ViewerImage::default();
    for (n, item) in gallery.items.iter().enumerate() {
        let img = images.get(n).unwrap_or(&empty);
        let caption = item.shown_caption();
        let credit = item.shown_credit();
        let alt = if caption.trim().is_empty() { escape(&gallery.title) } else { escape(caption) };
        let lazy = if n == 0 { "" } else { " loading=\"lazy\"" };
        let _ = write!(out, "<li class=\"gallery-slide\" id=\"{uid}-{}\"><figure>", n + 1);
        if img.srcset.is_empty() {
            let _ = write!(
                out,
                "<img src=\"{}\" alt=\"{alt}\" width=\"{}\" height=\"{}\"{lazy}>",
                escape(&img.src),
                img.width,
                img.height
            );
        } else {
            out.push_str("<picture>");
            if !img.webp_srcset.is_empty() {
                let _ = write!(
                    out,
                    "<source type=\"image/webp\" srcset=\"{}\" sizes=\"{VIEWER_SIZES}\">",
                    escape(&img.webp_srcset)
                );
            }
            let _ = write!(
                out,
                "<img src=\"{}\" srcset=\"{}\" sizes=\"{VIEWER_SIZES}\" alt=\"{alt}\" width=\"{}\" height=\"{}\"{lazy}></picture>",
                escape(&img.src),
                escape(&img.srcset),
                img.width,
                img.height
            );
        }
        if !caption.trim().is_empty() || !credit.trim().is_empty() {
            out.push_str("<figcaption>");
            if !caption.trim().is_empty() {
                let _ = write!(out, "<span class=\"gallery-caption\" dir=\"auto\">{}</span>", escape(caption));
            }
            if !credit.trim().is_empty() {
                let _ = write!(out, " <span class=\"credit\" dir=\"auto\">{}</span>", escape(credit));
            }
            out.push_str("</figcaption>");
        }
        out.push_str("</figure></li>\n");
    }
    out.push_str("</ol>\n<ol class=\"gallery-thumbs\">\n");
    for (n, item) in gallery.items.iter().enumerate() {
        let img = images.get(n).unwrap_or(&empty);
        let caption = item.shown_caption();
        let label = if caption.trim().is_empty() { format!("{}", n + 1) } else { format!("{}. {caption}", n + 1) };
        let srcset = if img.srcset.is_empty() {
            String::new()
        } else {
            format!(" srcset=\"{}\" sizes=\"{THUMB_SIZES}\"", escape(&img.srcset))
        };
        let _ = writeln!(
            out,
            "<li><a class=\"gallery-thumb\" href=\"#{uid}-{}\"><img src=\"{}\"{srcset} alt=\"{}\" width=\"{}\" height=\"{}\" loading=\"lazy\"></a></li>",
            n + 1,
            escape(&img.src),
            escape(&label),
            img.width,
            img.height
        );
    }
    out.push_str("</ol>\n</section>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(id: i64, caption: &str) -> Photo {
        Photo {
            id,
            sha256: "ab".repeat(32),
            mime: "image/jpeg".into(),
            width: 1600,
            height: 900,
            caption: caption.into(),
            credit: "Library credit".into(),
            details: Default::default(),
        }
    }

    #[test]
    fn the_viewer_shows_every_photo_with_escaped_captions_and_thumbnail_links() {
        let g = Gallery {
            id: 7,
            title: "Floods <north>".into(),
            version: 1,
            items: vec![
                GalleryItem {
                    photo: photo(1, "Own caption"),
                    caption: "Use <b>caption</b>".into(),
                    credit: String::new(),
                },
                GalleryItem { photo: photo(2, "عکس دوم"), caption: String::new(), credit: "Reuters".into() },
            ],
        };
        let images = vec![
            ViewerImage {
                src: "/media/a.jpg".into(),
                width: 1600,
                height: 900,
                srcset: "/media/a1.jpg 320w, /media/a.jpg 1600w".into(),
                webp_srcset: "/media/a1.webp 320w".into(),
            },
            ViewerImage { src: "/media/b.jpg".into(), width: 1600, height: 900, ..ViewerImage::default() },
        ];
        let html = viewer_html(&g, &images, "lead");
        assert!(html.contains(r#"id="gallery-lead-7""#), "{html}");
        assert!(html.contains(r#"aria-label="Floods &lt;north&gt;""#), "{html}");
        assert!(
            html.contains(r#"<span class="gallery-caption" dir="auto">Use &lt;b&gt;caption&lt;/b&gt;</span>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="credit" dir="auto">Library credit</span>"#),
            "the photo's own credit: {html}"
        );
        assert!(
            html.contains(r#"<span class="gallery-caption" dir="auto">عکس دوم</span>"#),
            "the photo's own caption: {html}"
        );
        assert!(html.contains(r#"<source type="image/webp" srcset="/media/a1.webp 320w""#), "{html}");
        assert!(
            html.contains(r##"href="#gallery-lead-7-1""##) && html.contains(r##"href="#gallery-lead-7-2""##),
            "{html}"
        );
        assert!(html.contains(r#"id="gallery-lead-7-2""#), "{html}");
        assert_eq!(html.matches("<figure>").count(), 2);
        assert!(!html.contains("<b>"));
    }
}
