//! Galleries: ordered photos from the media library with the caption and
//! credit of each use, independent of editions. A story shows one as its lead
//! (`stories.gallery_id`) or inside its body (a `gallery:ID` line, rendered
//! into `body_html` at save; `story_body_galleries` remembers which). A
//! change of a gallery re-renders the bodies that show it, moves the version
//! of every story using it and writes the change log, so page caches, search
//! and the wire follow.

use std::collections::HashMap;

use newsdesk_domain::body;
use newsdesk_domain::gallery::{Gallery, GalleryItem, ViewerImage, viewer_html};
use newsdesk_domain::{BodyFormat, NewsId, Photo, StoryStatus};
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::content::{now, record_change};
use crate::media::photo_of;
use crate::sql::placeholders;
use crate::{AuditEntry, Rendition, Result, Store, StoreError};

/// One photo of a gallery as an editor sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GalleryItemInput {
    /// A photo of the media library.
    pub photo_id: i64,
    /// Caption of this use (empty: the photo's own).
    pub caption: String,
    /// Credit of this use (empty: the photo's own).
    pub credit: String,
}

/// A gallery as the back office lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GallerySummary {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// How many photos it holds.
    pub photos: i64,
    /// Its version.
    pub version: i64,
    /// Last change, unix seconds.
    pub modified_at: i64,
}

/// A story that shows a gallery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GalleryUse {
    /// The story's News ID.
    pub news_id: NewsId,
    /// Its edition.
    pub edition_id: i64,
    /// Its section.
    pub section_id: i64,
    /// Its state.
    pub status: StoryStatus,
    /// Shown as the story's lead (else inside its body).
    pub lead: bool,
}

const ITEM_COLUMNS: &str = concat!(
    "gi.gallery_id, gi.caption AS use_caption, gi.credit AS use_credit, \
     p.id AS photo_id, p.sha256, p.mime, p.width, p.height, p.caption, p.credit, ",
    crate::media::photo_detail_columns!("p."),
);

/// The galleries `ids` with their photos, by id (unknown ones left out).
pub(crate) async fn galleries_in(conn: &mut AnyConnection, ids: &[i64]) -> Result<HashMap<i64, Gallery>> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = placeholders(1, ids.len());
    let head = format!("SELECT id, title, version FROM galleries WHERE id IN ({list})");
    let mut q = sqlx::query(&head);
    for id in ids {
        q = q.bind(*id);
    }
    for r in q.fetch_all(&mut *conn).await? {
        let id: i64 = r.try_get("id")?;
        out.insert(id, Gallery { id, title: r.try_get("title")?, version: r.try_get("version")?, items: Vec::new() });
    }
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM gallery_items gi JOIN photos p ON p.id = gi.photo_id \
         WHERE gi.gallery_id IN ({list}) ORDER BY gi.gallery_id, gi.position"
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    for r in q.fetch_all(&mut *conn).await? {
        let gallery_id: i64 = r.try_get("gallery_id")?;
        if let Some(g) = out.get_mut(&gallery_id) {
            g.items.push(GalleryItem {
                photo: photo_of(&r)?,
                caption: r.try_get("use_caption")?,
                credit: r.try_get("use_credit")?,
            });
        }
    }
    Ok(out)
}

/// The renditions of `photo_ids` (uncropped: a gallery shows whole photos).
async fn renditions_in(conn: &mut AnyConnection, photo_ids: &[i64]) -> Result<HashMap<i64, Vec<Rendition>>> {
    let mut out: HashMap<i64, Vec<Rendition>> = HashMap::new();
    if photo_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT photo_id, sha256, mime, width, height, size \
         FROM photo_renditions WHERE photo_id IN ({}) ORDER BY photo_id, width, mime",
        placeholders(1, photo_ids.len())
    );
    let mut q = sqlx::query_as::<_, Rendition>(&sql);
    for id in photo_ids {
        q = q.bind(*id);
    }
    for r in q.fetch_all(&mut *conn).await? {
        out.entry(r.photo_id).or_default().push(r);
    }
    Ok(out)
}

/// The viewer's picture of `photo` from its renditions: WebP candidates for
/// a `<source>`, JPEG ones plus the original for the `<img>`.
pub fn viewer_image(photo: &Photo, renditions: &[Rendition]) -> ViewerImage {
    let mut image =
        ViewerImage { src: photo.path(), width: photo.width, height: photo.height, ..ViewerImage::default() };
    if renditions.is_empty() {
        return image;
    }
    let list = |mime: &str| -> Vec<String> {
        renditions.iter().filter(|r| r.mime == mime).map(|r| format!("{} {}w", r.path(), r.width)).collect()
    };
    let original = format!("{} {}w", image.src, photo.width);
    let mut webp = list("image/webp");
    if image.src.ends_with(".webp") {
        webp.push(original.clone());
    }
    let mut jpeg = list("image/jpeg");
    jpeg.push(original);
    image.webp_srcset = webp.join(", ");
    image.srcset = jpeg.join(", ");
    image
}

async fn viewer_images_in(conn: &mut AnyConnection, gallery: &Gallery) -> Result<Vec<ViewerImage>> {
    let ids: Vec<i64> = gallery.items.iter().map(|i| i.photo.id).collect();
    let renditions = renditions_in(conn, &ids).await?;
    Ok(gallery
        .items
        .iter()
        .map(|i| viewer_image(&i.photo, renditions.get(&i.photo.id).map(Vec::as_slice).unwrap_or_default()))
        .collect())
}

/// The viewers of the galleries `ids` as self-contained HTML by id, for
/// bodies (the body blocks' resolver, [`crate::body`]); unknown ids are left out.
pub(crate) async fn rendered_in(conn: &mut AnyConnection, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let galleries = galleries_in(conn, ids).await?;
    let mut out = HashMap::with_capacity(galleries.len());
    for (id, g) in &galleries {
        let images = viewer_images_in(conn, g).await?;
        out.insert(*id, viewer_html(g, &images, "body"));
    }
    Ok(out)
}

/// The galleries a body names (`gallery:ID` blocks), each once, in order.
pub(crate) fn body_gallery_ids(format: BodyFormat, source: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for b in body::blocks(format, source) {
        if let body::Block::Gallery(id) = b
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}

/// Records which galleries the body of `news_id` shows.
pub(crate) async fn set_body_galleries_in(
    conn: &mut AnyConnection,
    news_id: NewsId,
    format: BodyFormat,
    source: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM story_body_galleries WHERE news_id = $1").bind(news_id).execute(&mut *conn).await?;
    let ids = body_gallery_ids(format, source);
    if ids.is_empty() {
        return Ok(());
    }
    let known = galleries_in(conn, &ids).await?;
    for id in ids.into_iter().filter(|id| known.contains_key(id)) {
        sqlx::query("INSERT INTO story_body_galleries (news_id, gallery_id) VALUES ($1, $2)")
            .bind(news_id)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Checks a gallery's title and photos; writes its items.
async fn write_items(conn: &mut AnyConnection, id: i64, items: &[GalleryItemInput]) -> Result<()> {
    sqlx::query("DELETE FROM gallery_items WHERE gallery_id = $1").bind(id).execute(&mut *conn).await?;
    for (n, item) in items.iter().enumerate() {
        let exists = sqlx::query("SELECT 1 FROM photos WHERE id = $1").bind(item.photo_id).fetch_optional(&mut *conn);
        if exists.await?.is_none() {
            return Err(StoreError::Invalid(format!("there is no photo {}", item.photo_id)));
        }
        sqlx::query(
            "INSERT INTO gallery_items (gallery_id, position, photo_id, caption, credit) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(n as i64 + 1)
        .bind(item.photo_id)
        .bind(item.caption.trim())
        .bind(item.credit.trim())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn check(title: &str) -> Result<()> {
    if title.trim().is_empty() {
        return Err(StoreError::Invalid("a gallery needs a title".into()));
    }
    Ok(())
}

/// Re-renders the bodies showing gallery `id`, moves the version of every
/// story using it and records their changes (caches, search, the wire).
async fn touch_users_in(conn: &mut AnyConnection, id: i64) -> Result<Vec<NewsId>> {
    let rows = sqlx::query(
        "SELECT news_id, edition_id, body_format, body_source FROM stories WHERE gallery_id = $1 \
         OR news_id IN (SELECT news_id FROM story_body_galleries WHERE gallery_id = $1) ORDER BY news_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut touched = Vec::new();
    for r in &rows {
        let news_id: NewsId = r.try_get("news_id")?;
        let format: String = r.try_get("body_format")?;
        let format =
            BodyFormat::parse(&format).ok_or_else(|| StoreError::Invalid(format!("unknown body format {format}")))?;
        let source: String = r.try_get("body_source")?;
        let html = crate::body::render_body_in(conn, format, &source).await?;
        sqlx::query("UPDATE stories SET body_html = $2, version = version + 1, modified_at = $3 WHERE news_id = $1")
            .bind(news_id)
            .bind(html)
            .bind(now())
            .execute(&mut *conn)
            .await?;
        record_change(conn, news_id, r.try_get("edition_id")?).await?;
        touched.push(news_id);
    }
    Ok(touched)
}

/// After a change of photo `photo_id` (its caption, credit or renditions):
/// the stories showing a gallery that holds it follow, as for a change of
/// the gallery ([`touch_users_in`]; a use without its own caption shows the photo's).
pub(crate) async fn touch_photo_users_in(conn: &mut AnyConnection, photo_id: i64) -> Result<()> {
    let rows = sqlx::query("SELECT DISTINCT gallery_id FROM gallery_items WHERE photo_id = $1 ORDER BY gallery_id")
        .bind(photo_id)
        .fetch_all(&mut *conn)
        .await?;
    for r in &rows {
        touch_users_in(conn, r.try_get("gallery_id")?).await?;
    }
    Ok(())
}

impl Store {
    /// Creates a gallery of `items` (photos of the media library, in order),
    /// with the audit entry in the same transaction (an empty target id gets
    /// the gallery's id).
    pub async fn create_gallery(&self, title: &str, items: &[GalleryItemInput], audit: &AuditEntry) -> Result<Gallery> {
        check(title)?;
        let mut tx = self.begin_write().await?;
        let t = now();
        let id: i64 = sqlx::query(
            "INSERT INTO galleries (title, version, created_at, modified_at) VALUES ($1, 1, $2, $2) RETURNING id",
        )
        .bind(title.trim())
        .bind(t)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        if let Err(e) = write_items(&mut tx, id, items).await {
            tx.rollback().await?;
            return Err(e);
        }
        let target_id = if audit.target_id.is_empty() { id.to_string() } else { audit.target_id.clone() };
        audit_in(&mut tx, &AuditEntry { target_id, ..audit.clone() }).await?;
        let gallery = galleries_in(&mut tx, &[id]).await?.remove(&id);
        tx.commit().await?;
        gallery.ok_or_else(|| StoreError::Invalid(format!("gallery {id} vanished")))
    }

    /// Changes a gallery's title and photos, checked against the version the
    /// change is based on ([`StoreError::Stale`] when it moved on). Every
    /// story showing it is re-rendered and marked changed in the same
    /// transaction. `None` when there is no such gallery.
    pub async fn update_gallery(
        &self,
        id: i64,
        expected_version: i64,
        title: &str,
        items: &[GalleryItemInput],
        audit: &AuditEntry,
    ) -> Result<Option<Gallery>> {
        check(title)?;
        let mut tx = self.begin_write().await?;
        let result = async {
            let Some(row) =
                sqlx::query("SELECT version FROM galleries WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?
            else {
                return Ok(None);
            };
            let current: i64 = row.try_get("version")?;
            if current != expected_version {
                return Err(StoreError::Stale { current });
            }
            sqlx::query("UPDATE galleries SET title = $2, version = version + 1, modified_at = $3 WHERE id = $1")
                .bind(id)
                .bind(title.trim())
                .bind(now())
                .execute(&mut *tx)
                .await?;
            write_items(&mut tx, id, items).await?;
            touch_users_in(&mut tx, id).await?;
            audit_in(&mut tx, audit).await?;
            Ok(galleries_in(&mut tx, &[id]).await?.remove(&id))
        }
        .await;
        match result {
            Ok(Some(g)) => {
                tx.commit().await?;
                Ok(Some(g))
            }
            other => {
                tx.rollback().await?;
                other
            }
        }
    }

    /// A gallery with its photos.
    pub async fn gallery(&self, id: i64) -> Result<Option<Gallery>> {
        let mut conn = self.pool().acquire().await?;
        Ok(galleries_in(&mut conn, &[id]).await?.remove(&id))
    }

    /// The galleries a story shows: its lead gallery first, then those of its
    /// body in order, each once.
    pub async fn story_galleries(&self, story: &newsdesk_domain::Story) -> Result<Vec<Gallery>> {
        if story_gallery_ids(story).is_empty() {
            return Ok(Vec::new());
        }
        self.reads().await?.story_galleries(story).await
    }

    /// The galleries, most recently changed first.
    pub async fn galleries(&self, offset: i64, limit: i64) -> Result<Vec<GallerySummary>> {
        let rows = sqlx::query(
            "SELECT g.id, g.title, g.version, g.modified_at, \
             (SELECT COUNT(*) FROM gallery_items gi WHERE gi.gallery_id = g.id) AS photos \
             FROM galleries g ORDER BY g.modified_at DESC, g.id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GallerySummary {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    photos: r.try_get("photos")?,
                    version: r.try_get("version")?,
                    modified_at: r.try_get("modified_at")?,
                })
            })
            .collect()
    }

    /// The stories showing gallery `id` (as their lead or in their body), by News ID.
    pub async fn gallery_uses(&self, id: i64) -> Result<Vec<GalleryUse>> {
        let rows = sqlx::query(
            "SELECT news_id, edition_id, section_id, status, CASE WHEN gallery_id = $1 THEN 1 ELSE 0 END AS lead \
             FROM stories WHERE gallery_id = $1 \
             OR news_id IN (SELECT news_id FROM story_body_galleries WHERE gallery_id = $1) ORDER BY news_id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(GalleryUse {
                    news_id: r.try_get("news_id")?,
                    edition_id: r.try_get("edition_id")?,
                    section_id: r.try_get("section_id")?,
                    status: StoryStatus::parse(&status)
                        .ok_or_else(|| StoreError::Invalid(format!("unknown status {status}")))?,
                    lead: r.try_get::<i64, _>("lead")? != 0,
                })
            })
            .collect()
    }
}

/// The galleries a story shows, by id: its lead gallery, then those of its body, each once.
fn story_gallery_ids(story: &newsdesk_domain::Story) -> Vec<i64> {
    let mut ids: Vec<i64> = story.gallery_id.into_iter().collect();
    for id in body_gallery_ids(story.body_format, &story.body_source) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

impl crate::Reads {
    /// [`Store::story_galleries`] on this connection.
    pub async fn story_galleries(&mut self, story: &newsdesk_domain::Story) -> Result<Vec<Gallery>> {
        let ids = story_gallery_ids(story);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = galleries_in(self.conn()?, &ids).await?;
        self.settle(());
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// The viewer pictures of a gallery's photos, in its order.
    pub async fn gallery_images(&mut self, gallery: &Gallery) -> Result<Vec<ViewerImage>> {
        let images = viewer_images_in(self.conn()?, gallery).await?;
        Ok(self.settle(images))
    }
}
