//! Photos for the back office: an upload with its renditions (resized WebP
//! and JPEG copies, made once), the media library with search by caption,
//! caption and credit edits.
//!
//! Originals and renditions are content-addressed by the SHA-256 of their
//! stored bytes and served from `/media/{sha256}.{ext}` ([`Store::photo_bytes`]).

use crate::sql::{like_escape, placeholders};
use std::collections::HashMap;

use newsdesk_domain::photo_meta::PhotoDetails;
use newsdesk_domain::{Photo, StoryStatus};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use crate::accounts::audit_in;
use crate::content::{now, record_photo_changes};
use crate::{AuditEntry, Result, Store, StoreError};

/// A photo to store: the original as kept (metadata already cleaned) and its text.
#[derive(Debug, Clone)]
pub struct NewPhoto {
    /// Hex SHA-256 of `bytes`.
    pub sha256: String,
    /// Sniffed media type.
    pub mime: String,
    /// Width in pixels, as displayed (after the EXIF orientation).
    pub width: i64,
    /// Height in pixels, as displayed.
    pub height: i64,
    /// The stored original.
    pub bytes: Vec<u8>,
    /// Caption (also the alt text).
    pub caption: String,
    /// Credit line.
    pub credit: String,
    /// Headline, creator, copyright notice, source, date created, keywords, usage terms.
    pub details: PhotoDetails,
}

/// A resized copy of a photo, made at upload.
#[derive(Debug, Clone)]
pub struct NewRendition {
    /// Hex SHA-256 of `bytes`.
    pub sha256: String,
    /// `image/webp` or `image/jpeg`.
    pub mime: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// The encoded image.
    pub bytes: Vec<u8>,
}

/// A stored rendition, without its bytes. Read from rows whose columns are
/// named like its fields.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Rendition {
    /// Photo it was made from.
    pub photo_id: i64,
    /// Hex SHA-256 of the bytes: its content address.
    pub sha256: String,
    /// Media type.
    pub mime: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// Size in bytes.
    pub size: i64,
}

impl Rendition {
    /// File extension matching the media type.
    pub fn extension(&self) -> &'static str {
        match self.mime.as_str() {
            "image/webp" => "webp",
            "image/png" => "png",
            _ => "jpg",
        }
    }

    /// Path under `/media/`, content-addressed so it can be cached forever.
    pub fn path(&self) -> String {
        format!("/media/{}.{}", self.sha256, self.extension())
    }
}

/// A story that shows a photo as its lead photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoUse {
    /// The story's News ID.
    pub news_id: i64,
    /// Its edition.
    pub edition_id: i64,
    /// Its section.
    pub section_id: i64,
    /// Its state: a published story's photo is published content.
    pub status: StoryStatus,
}

/// A photo as the media library lists it.
#[derive(Debug, Clone)]
pub struct MediaItem {
    /// The photo.
    pub photo: Photo,
    /// Size of the stored original in bytes.
    pub size: i64,
    /// Upload time, unix seconds.
    pub created_at: i64,
}

/// The photo's detail columns as [`details_of`] reads them, the photos table
/// named by the prefix (`"p."` in a join); the names say `photo_`, as stories
/// have a headline too.
#[rustfmt::skip]
macro_rules! photo_detail_columns {
    ($p:literal) => {
        concat!(
            $p, "headline AS photo_headline, ",
            $p, "creator AS photo_creator, ",
            $p, "copyright_notice AS photo_copyright, ",
            $p, "source AS photo_source, ",
            $p, "date_created AS photo_date_created, ",
            $p, "keywords AS photo_keywords, ",
            $p, "usage_terms AS photo_usage_terms"
        )
    };
}
pub(crate) use photo_detail_columns;

pub(crate) const PHOTO_COLUMNS: &str =
    concat!("id AS photo_id, sha256, mime, width, height, caption, credit, ", photo_detail_columns!(""),);

/// A photo's details from a row with [`photo_detail_columns`]; keywords are stored one per line.
pub(crate) fn details_of(r: &AnyRow) -> Result<PhotoDetails> {
    let keywords: String = r.try_get("photo_keywords")?;
    Ok(PhotoDetails {
        headline: r.try_get("photo_headline")?,
        creator: r.try_get("photo_creator")?,
        copyright: r.try_get("photo_copyright")?,
        source: r.try_get("photo_source")?,
        date_created: r.try_get("photo_date_created")?,
        keywords: keywords.lines().filter(|k| !k.is_empty()).map(String::from).collect(),
        usage_terms: r.try_get("photo_usage_terms")?,
    })
}

pub(crate) fn photo_of(r: &AnyRow) -> Result<Photo> {
    Ok(Photo {
        id: r.try_get("photo_id")?,
        sha256: r.try_get("sha256")?,
        mime: r.try_get("mime")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        caption: r.try_get("caption")?,
        credit: r.try_get("credit")?,
        details: details_of(r)?,
    })
}

fn rendition_of(r: &AnyRow) -> Result<Rendition> {
    Ok(Rendition::from_row(r)?)
}

/// The length of `bytes` as the `size` columns hold it.
pub(crate) fn byte_size(bytes: &[u8]) -> i64 {
    i64::try_from(bytes.len()).unwrap_or(i64::MAX)
}

/// Stores the original of photo `photo_id` (migration 36: apart from the
/// photo's row); kept when the photo has one already (the same bytes
/// uploaded again).
pub(crate) async fn store_original(conn: &mut sqlx::AnyConnection, photo_id: i64, bytes: &[u8]) -> Result<()> {
    sqlx::query("INSERT INTO photo_originals (photo_id, bytes) VALUES ($1, $2) ON CONFLICT (photo_id) DO NOTHING")
        .bind(photo_id)
        .bind(bytes.to_vec())
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    /// Stores an uploaded photo and its renditions in one transaction. The
    /// same bytes uploaded again give the same photo with its caption and
    /// credit unchanged: new text goes through [`Store::update_photo_text`],
    /// after the caller checked who may change the stories showing the photo.
    /// The audit entry is written in the same transaction (an empty target id
    /// gets the photo's id).
    pub async fn add_photo(&self, photo: &NewPhoto, renditions: &[NewRendition], audit: &AuditEntry) -> Result<Photo> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO photos (sha256, mime, width, height, size, caption, credit, created_at, \
             headline, creator, copyright_notice, source, date_created, keywords, usage_terms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (sha256) DO UPDATE SET sha256 = photos.sha256 \
             RETURNING {PHOTO_COLUMNS}"
        ))
        .bind(&photo.sha256)
        .bind(&photo.mime)
        .bind(photo.width)
        .bind(photo.height)
        .bind(byte_size(&photo.bytes))
        .bind(&photo.caption)
        .bind(&photo.credit)
        .bind(now())
        .bind(&photo.details.headline)
        .bind(&photo.details.creator)
        .bind(&photo.details.copyright)
        .bind(&photo.details.source)
        .bind(&photo.details.date_created)
        .bind(photo.details.keywords.join("\n"))
        .bind(&photo.details.usage_terms)
        .fetch_one(&mut *tx)
        .await?;
        let stored = photo_of(&row)?;
        store_original(&mut tx, stored.id, &photo.bytes).await?;
        for r in renditions {
            sqlx::query(
                "INSERT INTO photo_renditions (photo_id, width, height, mime, sha256, bytes, size, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (photo_id, width, mime) DO NOTHING",
            )
            .bind(stored.id)
            .bind(r.width)
            .bind(r.height)
            .bind(&r.mime)
            .bind(&r.sha256)
            .bind(r.bytes.clone())
            .bind(byte_size(&r.bytes))
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        let target_id = if audit.target_id.is_empty() { stored.id.to_string() } else { audit.target_id.clone() };
        audit_in(&mut tx, &AuditEntry { target_id, ..audit.clone() }).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// A photo by id.
    pub async fn photo(&self, id: i64) -> Result<Option<Photo>> {
        let row = sqlx::query(&format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(photo_of).transpose()
    }

    /// A photo by the content address of its original.
    pub async fn photo_by_sha256(&self, sha256: &str) -> Result<Option<Photo>> {
        let row = sqlx::query(&format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE sha256 = $1"))
            .bind(sha256)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(photo_of).transpose()
    }

    /// The renditions of a photo, narrowest first (JPEG before WebP at each width).
    pub async fn photo_renditions(&self, photo_id: i64) -> Result<Vec<Rendition>> {
        Ok(self.photo_renditions_of(&[photo_id]).await?.remove(&photo_id).unwrap_or_default())
    }

    /// The renditions of several photos, by photo id, narrowest first.
    pub async fn photo_renditions_of(&self, photo_ids: &[i64]) -> Result<HashMap<i64, Vec<Rendition>>> {
        let mut out: HashMap<i64, Vec<Rendition>> = HashMap::new();
        if photo_ids.is_empty() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT photo_id, sha256, mime, width, height, size \
             FROM photo_renditions WHERE photo_id IN ({}) ORDER BY photo_id, width, mime",
            placeholders(1, photo_ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in photo_ids {
            q = q.bind(*id);
        }
        for row in q.fetch_all(self.pool()).await? {
            let r = rendition_of(&row)?;
            out.entry(r.photo_id).or_default().push(r);
        }
        Ok(out)
    }

    /// The media library: photos whose caption contains `caption` (any case;
    /// all when `None`), newest first.
    pub async fn media_library(&self, caption: Option<&str>, offset: i64, limit: i64) -> Result<Vec<MediaItem>> {
        let filter = if caption.is_some() { "WHERE LOWER(caption) LIKE $3 ESCAPE '\\'" } else { "" };
        let sql = format!(
            "SELECT {PHOTO_COLUMNS}, created_at, size FROM photos {filter} \
             ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
        );
        let mut q = sqlx::query(&sql).bind(limit).bind(offset);
        if let Some(c) = caption {
            q = q.bind(format!("%{}%", like_escape(&c.to_lowercase())));
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(MediaItem { photo: photo_of(r)?, size: r.try_get("size")?, created_at: r.try_get("created_at")? })
            })
            .collect()
    }

    /// Changes the caption, credit and details of a photo; every story showing
    /// it is marked changed (so all nodes drop its cached page), with the audit
    /// entry in the same transaction. `None` if there is no such photo.
    pub async fn update_photo_text(
        &self,
        id: i64,
        caption: &str,
        credit: &str,
        details: &PhotoDetails,
        audit: &AuditEntry,
    ) -> Result<Option<Photo>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "UPDATE photos SET caption = $1, credit = $2, headline = $3, creator = $4, copyright_notice = $5, \
             source = $6, date_created = $7, keywords = $8, usage_terms = $9 WHERE id = $10 RETURNING {PHOTO_COLUMNS}"
        ))
        .bind(caption)
        .bind(credit)
        .bind(&details.headline)
        .bind(&details.creator)
        .bind(&details.copyright)
        .bind(&details.source)
        .bind(&details.date_created)
        .bind(details.keywords.join("\n"))
        .bind(&details.usage_terms)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let photo = photo_of(&row)?;
        record_photo_changes(&mut tx, id).await?;
        crate::galleries::touch_photo_users_in(&mut tx, id).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(photo))
    }

    /// Photos wider than `min_width` that have no rendition yet (stored
    /// before renditions existed, e.g. by the demo), after id `after`, by id.
    pub async fn photos_without_renditions(&self, min_width: i64, after: i64, limit: i64) -> Result<Vec<Photo>> {
        let rows = sqlx::query(&format!(
            "SELECT {PHOTO_COLUMNS} FROM photos p WHERE p.width > $1 AND p.id > $2 \
             AND NOT EXISTS (SELECT 1 FROM photo_renditions r WHERE r.photo_id = p.id) ORDER BY p.id LIMIT $3"
        ))
        .bind(min_width)
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(photo_of).collect()
    }

    /// Adds renditions to a stored photo (kept if they exist already); the
    /// stories showing it are marked changed so their pages pick them up.
    pub async fn add_renditions(&self, photo_id: i64, renditions: &[NewRendition]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for r in renditions {
            sqlx::query(
                "INSERT INTO photo_renditions (photo_id, width, height, mime, sha256, bytes, size, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (photo_id, width, mime) DO NOTHING",
            )
            .bind(photo_id)
            .bind(r.width)
            .bind(r.height)
            .bind(&r.mime)
            .bind(&r.sha256)
            .bind(r.bytes.clone())
            .bind(byte_size(&r.bytes))
            .bind(now())
            .execute(&mut *tx)
            .await?;
        }
        record_photo_changes(&mut tx, photo_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The stories whose lead photo is `photo_id`, with their section and
    /// state: what deciding who may change the photo's text needs.
    pub async fn photo_uses(&self, photo_id: i64) -> Result<Vec<PhotoUse>> {
        let rows = sqlx::query(
            "SELECT news_id, edition_id, section_id, status FROM stories WHERE photo_id = $1 ORDER BY news_id",
        )
        .bind(photo_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(PhotoUse {
                    news_id: r.try_get("news_id")?,
                    edition_id: r.try_get("edition_id")?,
                    section_id: r.try_get("section_id")?,
                    status: StoryStatus::parse(&status)
                        .ok_or_else(|| StoreError::Invalid(format!("unknown status {status}")))?,
                })
            })
            .collect()
    }

    /// News IDs and editions of the stories whose lead photo is `photo_id`.
    pub async fn stories_with_photo(&self, photo_id: i64) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query("SELECT news_id, edition_id FROM stories WHERE photo_id = $1 ORDER BY news_id")
            .bind(photo_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((r.try_get("news_id")?, r.try_get("edition_id")?))).collect()
    }
}

#[cfg(test)]
mod originals {
    use crate::Backend;
    use crate::testing::TestDb;

    /// Migration 36 moves each photo's original out of its row: what was
    /// stored before must still be served, with its size, and so must the
    /// copies' sizes.
    async fn originals_stored_before_migration_36_are_kept(backend: Backend) {
        let Some(db) = TestDb::migrated_to(backend, 20261204000035).await else { return };
        let original: Vec<u8> = (0..70_000_u32).map(|i| (i % 251) as u8).collect();
        let copy = vec![7_u8; 5_000];
        sqlx::query(
            "INSERT INTO photos (id, sha256, mime, width, height, bytes, caption, credit, created_at) \
             VALUES (1, 'aa', 'image/jpeg', 1600, 900, $1, 'A caption', 'A credit', 1)",
        )
        .bind(original.clone())
        .execute(db.store.pool())
        .await
        .expect("a photo as migration 35 stored it");
        sqlx::query(
            "INSERT INTO photo_renditions (photo_id, width, height, mime, sha256, bytes, created_at) \
             VALUES (1, 320, 180, 'image/webp', 'bb', $1, 1)",
        )
        .bind(copy.clone())
        .execute(db.store.pool())
        .await
        .expect("its copy");
        db.store.migrate().await.expect("migrate to the end");

        assert_eq!(db.store.photo_bytes("aa").await.expect("read"), Some(("image/jpeg".to_string(), original)));
        assert_eq!(db.store.photo_bytes("bb").await.expect("read"), Some(("image/webp".to_string(), copy)));
        assert_eq!(db.store.photo_sizes(&[1]).await.expect("sizes").get(&1), Some(&70_000));
        let copies = db.store.photo_renditions(1).await.expect("copies");
        assert_eq!(copies.iter().map(|r| (r.width, r.size)).collect::<Vec<_>>(), [(320, 5_000)]);
        let photo = db.store.photo(1).await.expect("read").expect("the photo");
        assert_eq!((photo.caption.as_str(), photo.credit.as_str()), ("A caption", "A credit"));
    }

    #[tokio::test]
    async fn originals_stored_before_migration_36_are_kept_on_sqlite() {
        originals_stored_before_migration_36_are_kept(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn originals_stored_before_migration_36_are_kept_on_postgres() {
        originals_stored_before_migration_36_are_kept(Backend::Postgres).await;
    }
}
