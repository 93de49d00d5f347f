//! Story bodies rendered at save with what their blocks name (see
//! `newsdesk_domain::body`): library photos with their renditions, the
//! embeds' stored metadata (`embeds`, one row per URL: oEmbed title and our
//! own copy of the thumbnail) and galleries.

use std::collections::HashMap;

use newsdesk_domain::BodyFormat;
use newsdesk_domain::body::{self, Block, Context, EmbedMeta, Image, Missing, PhotoData};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::content::now;
use crate::media::{PHOTO_COLUMNS, photo_of};
use crate::sql::placeholders;
use crate::{Result, Store, StoreError};

/// What is stored about an embed's URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEmbed {
    /// The original's URL (the key).
    pub url: String,
    /// Provider key (`youtube`, ...).
    pub provider: String,
    /// Title from oEmbed; empty when none was learnt.
    pub title: String,
    /// Our copy of the thumbnail, served under `/media/`.
    pub thumbnail: Option<Image>,
    /// Whether the provider answered (a failed fetch is tried again later).
    pub ok: bool,
    /// When it was fetched (Unix seconds).
    pub fetched_at: i64,
}

/// A thumbnail fetched for an embed: bytes already checked to be an image.
#[derive(Debug, Clone)]
pub struct EmbedThumbnail {
    /// Hex SHA-256 of the bytes: the content address under `/media/`.
    pub sha256: String,
    /// Media type (`image/jpeg`, `image/png`, `image/webp`).
    pub mime: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// The image.
    pub bytes: Vec<u8>,
}

/// What a save learnt about an embed.
#[derive(Debug, Clone)]
pub struct EmbedInput {
    /// The original's URL (the key).
    pub url: String,
    /// Provider key.
    pub provider: String,
    /// Title (empty: unknown).
    pub title: String,
    /// The thumbnail, if one was fetched.
    pub thumbnail: Option<EmbedThumbnail>,
    /// Whether the provider answered.
    pub ok: bool,
}

fn extension(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/webp" => "webp",
        _ => "jpg",
    }
}

/// The galleries a body shows, as rendered HTML by id — the galleries
/// module's resolver: an id missing from the answer is unknown and the save
/// refuses it.
async fn galleries_in(conn: &mut AnyConnection, ids: &[i64]) -> Result<HashMap<i64, String>> {
    crate::galleries::rendered_in(conn, ids).await
}

/// What the blocks of a body name in the database, each once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Named {
    photo_ids: Vec<i64>,
    urls: Vec<String>,
    gallery_ids: Vec<i64>,
}

impl Named {
    /// The photos, embeds and galleries the body's blocks name.
    pub(crate) fn of(format: BodyFormat, source: &str) -> Named {
        let mut n = Named::default();
        for b in body::blocks(format, source) {
            match b {
                Block::Photo(p) if !n.photo_ids.contains(&p.id) => n.photo_ids.push(p.id),
                Block::Embed(e) if !n.urls.contains(&e.url) => n.urls.push(e.url),
                Block::Gallery(g) if !n.gallery_ids.contains(&g) => n.gallery_ids.push(g),
                _ => {}
            }
        }
        n
    }

    /// Whether the body shows a gallery (its blocks name one).
    pub(crate) fn has_galleries(&self) -> bool {
        !self.gallery_ids.is_empty()
    }

    /// Whether the body names nothing: it renders the same whatever the database holds.
    pub(crate) fn is_empty(&self) -> bool {
        self.photo_ids.is_empty() && self.urls.is_empty() && self.gallery_ids.is_empty()
    }
}

/// Reads what the blocks of a body name.
pub(crate) async fn context_in(conn: &mut AnyConnection, format: BodyFormat, source: &str) -> Result<Context> {
    context_of(conn, &Named::of(format, source)).await
}

/// Reads `named` from the database.
pub(crate) async fn context_of(conn: &mut AnyConnection, named: &Named) -> Result<Context> {
    let Named { photo_ids, urls, gallery_ids } = named;
    let mut ctx = Context::default();
    if named.is_empty() {
        return Ok(ctx);
    }
    if !photo_ids.is_empty() {
        let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id IN ({})", placeholders(1, photo_ids.len()));
        let mut q = sqlx::query(&sql);
        for id in photo_ids {
            q = q.bind(*id);
        }
        let photos = q.fetch_all(&mut *conn).await?.iter().map(photo_of).collect::<Result<Vec<_>>>()?;
        let sql = format!(
            "SELECT photo_id, sha256, mime, width FROM photo_renditions WHERE photo_id IN ({}) \
             ORDER BY photo_id, width, mime",
            placeholders(1, photo_ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in photo_ids {
            q = q.bind(*id);
        }
        let mut renditions: HashMap<i64, Vec<(String, String, i64)>> = HashMap::new();
        for r in q.fetch_all(&mut *conn).await? {
            let mime: String = r.try_get("mime")?;
            let path = format!("/media/{}.{}", r.try_get::<String, _>("sha256")?, extension(&mime));
            renditions.entry(r.try_get("photo_id")?).or_default().push((mime, path, r.try_get("width")?));
        }
        for p in photos {
            // The candidates as the lead photo has them: WebP renditions, JPEG renditions plus the original.
            let list = renditions.remove(&p.id).unwrap_or_default();
            let (mut srcset, mut webp_srcset) = (String::new(), String::new());
            if !list.is_empty() {
                let of = |mime: &str| -> Vec<String> {
                    list.iter().filter(|r| r.0 == mime).map(|r| format!("{} {}w", r.1, r.2)).collect()
                };
                let original = format!("{} {}w", p.path(), p.width);
                let mut webp = of("image/webp");
                if p.mime == "image/webp" {
                    webp.push(original.clone());
                }
                let mut jpeg = of("image/jpeg");
                jpeg.push(original);
                srcset = jpeg.join(", ");
                webp_srcset = webp.join(", ");
            }
            ctx.photos.insert(
                p.id,
                PhotoData {
                    image: Image { src: p.path(), width: p.width, height: p.height },
                    caption: p.caption.clone(),
                    credit: p.credit.clone(),
                    srcset,
                    webp_srcset,
                },
            );
        }
    }
    for url in urls {
        if let Some(e) = embed_in(conn, url).await? {
            ctx.embeds.insert(url.clone(), EmbedMeta { title: e.title, thumbnail: e.thumbnail });
        }
    }
    if !gallery_ids.is_empty() {
        ctx.galleries = galleries_in(conn, gallery_ids).await?;
    }
    Ok(ctx)
}

/// `source` rendered with `ctx`; a photo or gallery it names that `ctx` lacks
/// refuses it ([`StoreError::Invalid`]), as a save does.
pub(crate) fn render_with(format: BodyFormat, source: &str, ctx: &Context) -> Result<String> {
    let missing = body::missing(format, source, ctx);
    if !missing.is_empty() {
        return Err(StoreError::Invalid(missing.iter().map(Missing::to_string).collect::<Vec<_>>().join(" ")));
    }
    Ok(body::render(format, source, ctx))
}

/// A body's HTML for storing; a photo or gallery it names that does not
/// exist refuses the save ([`StoreError::Invalid`]).
pub(crate) async fn render_body_in(conn: &mut AnyConnection, format: BodyFormat, source: &str) -> Result<String> {
    let ctx = context_in(conn, format, source).await?;
    render_with(format, source, &ctx)
}

async fn embed_in(conn: &mut AnyConnection, url: &str) -> Result<Option<StoredEmbed>> {
    let row = sqlx::query(
        "SELECT url, provider, title, thumb_sha256, thumb_mime, thumb_width, thumb_height, ok, fetched_at \
         FROM embeds WHERE url = $1",
    )
    .bind(url)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let sha: Option<String> = r.try_get("thumb_sha256")?;
    let mime: Option<String> = r.try_get("thumb_mime")?;
    let thumbnail = match (sha, mime) {
        (Some(sha), Some(mime)) => Some(Image {
            src: format!("/media/{sha}.{}", extension(&mime)),
            width: r.try_get::<Option<i64>, _>("thumb_width")?.unwrap_or_default(),
            height: r.try_get::<Option<i64>, _>("thumb_height")?.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(Some(StoredEmbed {
        url: r.try_get("url")?,
        provider: r.try_get("provider")?,
        title: r.try_get("title")?,
        thumbnail,
        ok: r.try_get::<i64, _>("ok")? != 0,
        fetched_at: r.try_get("fetched_at")?,
    }))
}

impl Store {
    /// Renders a body as a save would (previews, revisions): blocks from the
    /// database; an unknown photo or gallery is [`StoreError::Invalid`].
    pub async fn render_body(&self, format: BodyFormat, source: &str) -> Result<String> {
        let mut conn = self.pool().acquire().await?;
        render_body_in(&mut conn, format, source).await
    }

    /// The photos and galleries a body names that do not exist (a save
    /// refuses them; forms say so at the `body` field).
    pub async fn body_missing(&self, format: BodyFormat, source: &str) -> Result<Vec<Missing>> {
        let mut conn = self.pool().acquire().await?;
        let ctx = context_in(&mut conn, format, source).await?;
        Ok(body::missing(format, source, &ctx))
    }

    /// What is stored about an embed's URL.
    pub async fn embed(&self, url: &str) -> Result<Option<StoredEmbed>> {
        let mut conn = self.pool().acquire().await?;
        embed_in(&mut conn, url).await
    }

    /// Stores (or replaces) what a save learnt about an embed. A failed fetch
    /// never replaces a good one (another node may have fetched it meanwhile).
    pub async fn save_embed(&self, e: &EmbedInput) -> Result<()> {
        let t = e.thumbnail.as_ref();
        sqlx::query(
            "INSERT INTO embeds (url, provider, title, thumb_sha256, thumb_mime, thumb_width, thumb_height, \
             thumb_bytes, ok, fetched_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (url) DO UPDATE SET provider = excluded.provider, title = excluded.title, \
             thumb_sha256 = excluded.thumb_sha256, thumb_mime = excluded.thumb_mime, \
             thumb_width = excluded.thumb_width, thumb_height = excluded.thumb_height, \
             thumb_bytes = excluded.thumb_bytes, ok = excluded.ok, fetched_at = excluded.fetched_at \
             WHERE excluded.ok = 1 OR embeds.ok = 0",
        )
        .bind(&e.url)
        .bind(&e.provider)
        .bind(&e.title)
        .bind(t.map(|t| t.sha256.clone()))
        .bind(t.map(|t| t.mime.clone()))
        .bind(t.map(|t| t.width))
        .bind(t.map(|t| t.height))
        .bind(t.map(|t| t.bytes.clone()))
        .bind(i64::from(e.ok))
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// An embed thumbnail's bytes by content address: `(mime, bytes)`.
    pub async fn embed_thumbnail_bytes(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>> {
        let row = sqlx::query("SELECT thumb_mime, thumb_bytes FROM embeds WHERE thumb_sha256 = $1 LIMIT 1")
            .bind(sha256)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.try_get("thumb_mime")?, r.try_get("thumb_bytes")?))).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;

    backend_test! {
    async fn embeds_are_stored_once_per_url_and_rendered(db) {
        let store = &db.store;
        let url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ";
        assert_eq!(store.embed(url).await.expect("read"), None);
        let thumb = EmbedThumbnail {
            sha256: "ab".repeat(32),
            mime: "image/jpeg".into(),
            width: 480,
            height: 360,
            bytes: vec![0xff, 0xd8, 0xff],
        };
        let input = EmbedInput {
            url: url.into(),
            provider: "youtube".into(),
            title: "A <video>".into(),
            thumbnail: Some(thumb),
            ok: true,
        };
        store.save_embed(&input).await.expect("save");
        store.save_embed(&EmbedInput { title: "Renamed".into(), ..input }).await.expect("save again");
        // A failed fetch (a second node timing out) does not replace the good one.
        let failed = EmbedInput { url: url.into(), provider: "youtube".into(), title: url.into(), thumbnail: None, ok: false };
        store.save_embed(&failed).await.expect("save a failure");
        let e = store.embed(url).await.expect("read").expect("stored");
        assert_eq!(e.title, "Renamed");
        assert!(e.ok);
        let src = format!("/media/{}.jpg", "ab".repeat(32));
        assert_eq!(e.thumbnail.as_ref().map(|t| t.src.clone()), Some(src.clone()));
        let bytes = store.embed_thumbnail_bytes(&"ab".repeat(32)).await.expect("bytes").expect("thumb");
        assert_eq!(bytes, ("image/jpeg".to_string(), vec![0xff, 0xd8, 0xff]));
        let html = store.render_body(BodyFormat::Markdown, "Intro\n\nhttps://youtu.be/dQw4w9WgXcQ").await.expect("render");
        assert!(html.contains(">Renamed</a>"), "{html}");
        assert!(html.contains(&format!("src=\"{src}\"")), "{html}");
        let refused = store.render_body(BodyFormat::Markdown, "![x](photo:424242)").await;
        assert!(matches!(refused, Err(StoreError::Invalid(m)) if m.contains("photo 424242")));
        let missing = store.body_missing(BodyFormat::Text, "![x](photo:7)").await.expect("missing");
        assert_eq!(missing, [Missing::Photo(7)]);
    }
    }
}
