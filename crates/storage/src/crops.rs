//! Focal points, hand-set crops and crop renditions of photos (migration 32).
//!
//! A photo's framing is its focal point plus the crops an editor set by hand;
//! each ratio's crop renditions are made from it ([`newsdesk_domain::crop`]).
//! Crop renditions are content-addressed like the others and served from
//! `/media/{sha256}.{ext}` ([`Store::photo_bytes`]).

use std::collections::HashMap;

use newsdesk_domain::crop::{Focus, Ratio, Rect};
use newsdesk_domain::{NewsId, Photo};
use sqlx::Row;

use crate::accounts::audit_in;
use crate::content::{now, record_photo_changes};
use crate::media::{PHOTO_COLUMNS, photo_of};
use crate::sql::placeholders;
use crate::{AuditEntry, NewRendition, Result, Store, StoreError};

/// Where a photo's subject is and the crops set by hand.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Framing {
    /// The focal point (the centre when nobody set it).
    pub focus: Focus,
    /// Crops set by hand, at most one per ratio; the other ratios are cropped around the focal point.
    pub crops: Vec<(Ratio, Rect)>,
}

impl Framing {
    /// The crop of `ratio` in a `width`×`height` picture: the one set by hand, else the one around the focal point.
    pub fn crop(&self, ratio: Ratio, width: u32, height: u32) -> Rect {
        self.crops
            .iter()
            .find(|(r, _)| *r == ratio)
            .map(|(_, c)| *c)
            .unwrap_or_else(|| Rect::around(width, height, ratio, self.focus))
    }

    /// The crop set by hand for `ratio`, if any.
    pub fn manual(&self, ratio: Ratio) -> Option<Rect> {
        self.crops.iter().find(|(r, _)| *r == ratio).map(|(_, c)| *c)
    }
}

/// A resized copy of one crop of a photo.
#[derive(Debug, Clone)]
pub struct NewCropRendition {
    /// The crop's ratio.
    pub ratio: Ratio,
    /// The encoded image.
    pub rendition: NewRendition,
}

/// A stored crop rendition, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CropRendition {
    /// Photo it was made from.
    pub photo_id: i64,
    /// The crop's ratio.
    pub ratio: Ratio,
    /// Hex SHA-256 of the bytes: its content address.
    pub sha256: String,
    /// `image/webp` or `image/jpeg`.
    pub mime: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
}

impl CropRendition {
    /// Path under `/media/`, content-addressed so it can be cached forever.
    pub fn path(&self) -> String {
        let ext = if self.mime == "image/webp" { "webp" } else { "jpg" };
        format!("/media/{}.{ext}", self.sha256)
    }
}

async fn insert_crop_renditions(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    photo_id: i64,
    renditions: &[NewCropRendition],
) -> Result<()> {
    for c in renditions {
        let r = &c.rendition;
        sqlx::query(
            "INSERT INTO photo_crop_renditions (photo_id, ratio, width, height, mime, sha256, bytes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (photo_id, ratio, width, mime) DO NOTHING",
        )
        .bind(photo_id)
        .bind(c.ratio.key())
        .bind(r.width)
        .bind(r.height)
        .bind(&r.mime)
        .bind(&r.sha256)
        .bind(r.bytes.clone())
        .bind(now())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The framing of photo `photo_id`: the centre and no hand-set crop unless an editor set them.
    pub async fn photo_framing(&self, photo_id: i64) -> Result<Framing> {
        let focus = sqlx::query("SELECT focus_x, focus_y FROM photo_focus WHERE photo_id = $1")
            .bind(photo_id)
            .fetch_optional(self.pool())
            .await?
            .map(|r| Ok::<_, StoreError>(Focus::from_units(r.try_get("focus_x")?, r.try_get("focus_y")?)))
            .transpose()?
            .unwrap_or_default();
        let rows = sqlx::query("SELECT ratio, x, y, width, height FROM photo_crops WHERE photo_id = $1 ORDER BY ratio")
            .bind(photo_id)
            .fetch_all(self.pool())
            .await?;
        let mut crops = Vec::new();
        for r in &rows {
            let key: String = r.try_get("ratio")?;
            let ratio = Ratio::parse(&key).ok_or_else(|| StoreError::Invalid(format!("unknown crop ratio {key}")))?;
            let side = |name: &str| -> Result<u32> {
                let v: i64 = r.try_get(name)?;
                u32::try_from(v).map_err(|_| StoreError::Invalid(format!("crop {name} {v} out of range")))
            };
            crops.push((ratio, Rect { x: side("x")?, y: side("y")?, width: side("width")?, height: side("height")? }));
        }
        crops.sort_by_key(|(r, _)| *r);
        Ok(Framing { focus, crops })
    }

    /// Gives photo `photo_id` a new framing and the crop renditions made from
    /// it (the old ones are replaced), marks the stories showing it changed
    /// and writes `audit`, in one transaction. Returns those stories as
    /// (News ID, edition); `None` if there is no such photo.
    pub async fn set_photo_framing(
        &self,
        photo_id: i64,
        framing: &Framing,
        renditions: &[NewCropRendition],
        audit: &AuditEntry,
    ) -> Result<Option<Vec<(NewsId, i64)>>> {
        let mut tx = self.begin_write().await?;
        let exists = sqlx::query("SELECT id FROM photos WHERE id = $1").bind(photo_id).fetch_optional(&mut *tx).await?;
        if exists.is_none() {
            return Ok(None);
        }
        let (x, y) = framing.focus.to_units();
        sqlx::query(
            "INSERT INTO photo_focus (photo_id, focus_x, focus_y, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (photo_id) DO UPDATE SET focus_x = excluded.focus_x, focus_y = excluded.focus_y, \
             updated_at = excluded.updated_at",
        )
        .bind(photo_id)
        .bind(x)
        .bind(y)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM photo_crops WHERE photo_id = $1").bind(photo_id).execute(&mut *tx).await?;
        for (ratio, c) in &framing.crops {
            sqlx::query(
                "INSERT INTO photo_crops (photo_id, ratio, x, y, width, height) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(photo_id)
            .bind(ratio.key())
            .bind(i64::from(c.x))
            .bind(i64::from(c.y))
            .bind(i64::from(c.width))
            .bind(i64::from(c.height))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM photo_crop_renditions WHERE photo_id = $1").bind(photo_id).execute(&mut *tx).await?;
        insert_crop_renditions(&mut tx, photo_id, renditions).await?;
        let stories = record_photo_changes(&mut tx, photo_id).await?;
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(Some(stories))
    }

    /// Adds crop renditions to a photo that has none yet (at upload, or by
    /// the background job for older photos); kept once if two nodes make them,
    /// and ignored if the photo got renditions from a new framing meanwhile.
    /// The stories showing it are marked changed so their pages pick them up.
    pub async fn add_crop_renditions(&self, photo_id: i64, renditions: &[NewCropRendition]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let had = sqlx::query("SELECT 1 AS one FROM photo_crop_renditions WHERE photo_id = $1 LIMIT 1")
            .bind(photo_id)
            .fetch_optional(&mut *tx)
            .await?;
        if had.is_some() {
            return Ok(());
        }
        insert_crop_renditions(&mut tx, photo_id, renditions).await?;
        record_photo_changes(&mut tx, photo_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The renditions ([`Store::photo_renditions_of`]) and the crop renditions
    /// ([`Store::photo_crop_renditions_of`]) of several photos, in one query:
    /// a story page not yet cached needs both for its photo.
    pub async fn photo_all_renditions_of(
        &self,
        photo_ids: &[i64],
    ) -> Result<(HashMap<i64, Vec<crate::Rendition>>, HashMap<i64, Vec<CropRendition>>)> {
        if photo_ids.is_empty() {
            return Ok((HashMap::new(), HashMap::new()));
        }
        self.reads().await?.photo_all_renditions_of(photo_ids).await
    }

    /// The crop renditions of several photos, by photo id; each photo's by
    /// ratio (widest ratio first), then width (narrowest first), JPEG before WebP.
    pub async fn photo_crop_renditions_of(&self, photo_ids: &[i64]) -> Result<HashMap<i64, Vec<CropRendition>>> {
        let mut out: HashMap<i64, Vec<CropRendition>> = HashMap::new();
        if photo_ids.is_empty() {
            return Ok(out);
        }
        let sql = format!(
            "SELECT photo_id, ratio, sha256, mime, width, height FROM photo_crop_renditions \
             WHERE photo_id IN ({}) ORDER BY photo_id, width, mime",
            placeholders(1, photo_ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in photo_ids {
            q = q.bind(*id);
        }
        for row in q.fetch_all(self.pool()).await? {
            let Some(r) = crop_rendition(&row)? else { continue };
            out.entry(r.photo_id).or_default().push(r);
        }
        for list in out.values_mut() {
            list.sort_by_key(|r| r.ratio);
        }
        Ok(out)
    }

    /// The crop renditions of one photo (see [`Store::photo_crop_renditions_of`]).
    pub async fn photo_crop_renditions(&self, photo_id: i64) -> Result<Vec<CropRendition>> {
        Ok(self.photo_crop_renditions_of(&[photo_id]).await?.remove(&photo_id).unwrap_or_default())
    }

    /// Photos without crop renditions (stored before crops existed), after id `after`, by id.
    pub async fn photos_without_crop_renditions(&self, after: i64, limit: i64) -> Result<Vec<Photo>> {
        let rows = sqlx::query(&format!(
            "SELECT {PHOTO_COLUMNS} FROM photos p WHERE p.id > $1 \
             AND NOT EXISTS (SELECT 1 FROM photo_crop_renditions r WHERE r.photo_id = p.id) ORDER BY p.id LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(photo_of).collect()
    }

    /// The bytes of a crop rendition by its content address.
    pub async fn crop_rendition_bytes(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>> {
        let row = sqlx::query("SELECT mime, bytes FROM photo_crop_renditions WHERE sha256 = $1 LIMIT 1")
            .bind(sha256)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.try_get("mime")?, r.try_get("bytes")?))).transpose()
    }
}

/// A crop rendition from a row of `photo_crop_renditions`; `None` for a ratio this version does not know.
fn crop_rendition(row: &sqlx::any::AnyRow) -> Result<Option<CropRendition>> {
    let key: String = row.try_get("ratio")?;
    let Some(ratio) = Ratio::parse(&key) else { return Ok(None) };
    Ok(Some(CropRendition {
        photo_id: row.try_get("photo_id")?,
        ratio,
        sha256: row.try_get("sha256")?,
        mime: row.try_get("mime")?,
        width: row.try_get("width")?,
        height: row.try_get("height")?,
    }))
}

/// The copies and crops of photo `photo_id` from its list in `photos.renditions`
/// (kept by triggers, migration 39: a JSON array of `[kind, ratio, sha256, mime,
/// width, height, size]` in no particular order), in the order
/// [`Store::photo_all_renditions_of`] gives them.
pub(crate) fn renditions_from_json(photo_id: i64, text: &str) -> Result<(Vec<crate::Rendition>, Vec<CropRendition>)> {
    let rows: Vec<(i64, String, String, String, i64, i64, i64)> = serde_json::from_str(text)
        .map_err(|e| StoreError::Invalid(format!("the copies of photo {photo_id} did not read back: {e}")))?;
    let (mut plain, mut crops) = (Vec::new(), Vec::new());
    for (kind, ratio, sha256, mime, width, height, size) in rows {
        if kind == 0 {
            plain.push(crate::Rendition { photo_id, sha256, mime, width, height, size });
        } else if let Some(ratio) = Ratio::parse(&ratio) {
            crops.push(CropRendition { photo_id, ratio, sha256, mime, width, height });
        }
    }
    plain.sort_by(|a, b| (a.width, &a.mime).cmp(&(b.width, &b.mime)));
    crops.sort_by(|a, b| (a.ratio, a.width, &a.mime).cmp(&(b.ratio, b.width, &b.mime)));
    Ok((plain, crops))
}

/// The resized copies (kind 0) and crop renditions (kind 1) of the photos
/// whose `photo_id` matches `filter` (`IN ($1, $2)`). Each
/// part is read from an index that holds every column it reads (migration
/// 36), not from the rows, whose bytes fill a page each.
fn renditions_union(filter: &str) -> String {
    format!(
        "SELECT CAST(0 AS BIGINT) AS kind, photo_id, '' AS ratio, sha256, mime, width, height, size \
         FROM photo_renditions WHERE photo_id {filter} \
         UNION ALL \
         SELECT CAST(1 AS BIGINT) AS kind, photo_id, ratio, sha256, mime, width, height, CAST(0 AS BIGINT) AS size \
         FROM photo_crop_renditions WHERE photo_id {filter}"
    )
}

/// The resized copies and crop renditions of `n` photos (`$1`…), copies first.
fn all_renditions_sql(n: usize) -> String {
    format!("{} ORDER BY kind, photo_id, width, mime", renditions_union(&format!("IN ({})", placeholders(1, n))))
}

impl crate::Reads {
    /// [`Store::photo_all_renditions_of`] on this connection.
    pub async fn photo_all_renditions_of(
        &mut self,
        photo_ids: &[i64],
    ) -> Result<(HashMap<i64, Vec<crate::Rendition>>, HashMap<i64, Vec<CropRendition>>)> {
        let mut plain: HashMap<i64, Vec<crate::Rendition>> = HashMap::new();
        let mut crops: HashMap<i64, Vec<CropRendition>> = HashMap::new();
        if photo_ids.is_empty() {
            return Ok((plain, crops));
        }
        let sql = all_renditions_sql(photo_ids.len());
        let mut q = sqlx::query(&sql);
        for id in photo_ids {
            q = q.bind(*id);
        }
        let rows = self.fetch_all(q).await?;
        for row in rows {
            if row.try_get::<i64, _>("kind")? == 0 {
                let r = <crate::Rendition as sqlx::FromRow<_>>::from_row(&row)?;
                plain.entry(r.photo_id).or_default().push(r);
                continue;
            }
            let Some(r) = crop_rendition(&row)? else { continue };
            crops.entry(r.photo_id).or_default().push(r);
        }
        for list in crops.values_mut() {
            list.sort_by_key(|r| r.ratio);
        }
        Ok((plain, crops))
    }
}

#[cfg(test)]
mod plans {
    use super::all_renditions_sql;

    crate::backend_test! {
        async fn a_photos_renditions_are_listed_from_indexes_alone(db) {
            // Every story page with a photo lists its copies and crops. Their
            // rows hold the image bytes, a page or more each in SQLite's table:
            // read from the rows, one photo's list was ~26 page reads. SQLite
            // must answer from the indexes alone; PostgreSQL keeps long values
            // out of its rows (TOAST) and may read the short rows, by the index.
            let sqlite = db.store.backend() == crate::Backend::Sqlite;
            let mut args = crate::sql::Args::new();
            args.push(7_i64);
            let plan = db.plan(&all_renditions_sql(1), args).await;
            let text = plan.join("\n");
            for (table, index) in
                [("photo_renditions", "photo_renditions_list"), ("photo_crop_renditions", "photo_crop_renditions_list")]
            {
                let read = plan.iter().any(|line| line.contains(index) && (!sqlite || line.contains("COVERING INDEX")));
                assert!(read, "{table} is not read from {index}: {text}");
            }
        }
    }
}

#[cfg(test)]
mod lists {
    use super::renditions_from_json;
    use crate::Backend;
    use crate::testing::TestDb;
    use newsdesk_domain::crop::Ratio;
    use sqlx::Row;

    /// Migration 39 fills the list in the row of every photo stored before it
    /// (story pages read the list from there): equal to the tables, and empty
    /// for a photo with no copies.
    async fn photos_stored_before_migration_39_get_their_lists(backend: Backend) {
        let Some(db) = TestDb::migrated_to(backend, 20261206000038).await else { return };
        let pool = db.store.pool();
        for (id, sha) in [(1_i64, "aa"), (2, "bb")] {
            sqlx::query(
                "INSERT INTO photos (id, sha256, mime, width, height, size, caption, credit, created_at) \
                 VALUES ($1, $2, 'image/jpeg', 1600, 900, 70000, '', '', 1)",
            )
            .bind(id)
            .bind(sha)
            .execute(pool)
            .await
            .expect("a photo as migration 38 stored it");
        }
        for (width, mime) in [(640_i64, "image/webp"), (320, "image/jpeg")] {
            sqlx::query(
                "INSERT INTO photo_renditions (photo_id, width, height, mime, sha256, bytes, size, created_at) \
                 VALUES (1, $1, $2, $3, $4, $5, 5000, 1)",
            )
            .bind(width)
            .bind(width / 2)
            .bind(mime)
            .bind(format!("copy-{width}"))
            .bind(vec![1_u8; 10])
            .execute(pool)
            .await
            .expect("a copy");
        }
        sqlx::query(
            "INSERT INTO photo_crop_renditions (photo_id, ratio, width, height, mime, sha256, bytes, created_at) \
             VALUES (1, $1, 640, 360, 'image/jpeg', 'crop-640', $2, 1)",
        )
        .bind(Ratio::Wide.key())
        .bind(vec![2_u8; 10])
        .execute(pool)
        .await
        .expect("a crop");
        db.store.migrate().await.expect("migrate to the end");

        for id in [1_i64, 2] {
            let text: String = sqlx::query("SELECT renditions FROM photos WHERE id = $1")
                .bind(id)
                .fetch_one(db.store.pool())
                .await
                .expect("the list")
                .get(0);
            let listed = renditions_from_json(id, &text).expect("a list");
            let (mut plain, mut crops) = db.store.photo_all_renditions_of(&[id]).await.expect("the tables");
            let tables = (plain.remove(&id).unwrap_or_default(), crops.remove(&id).unwrap_or_default());
            assert_eq!(listed, tables, "photo {id}");
        }
        let text: String = sqlx::query("SELECT renditions FROM photos WHERE id = 1")
            .fetch_one(db.store.pool())
            .await
            .expect("list")
            .get(0);
        assert_eq!(renditions_from_json(1, &text).expect("list").0.len(), 2);
    }

    #[tokio::test]
    async fn photos_stored_before_migration_39_get_their_lists_on_sqlite() {
        photos_stored_before_migration_39_get_their_lists(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn photos_stored_before_migration_39_get_their_lists_on_postgres() {
        photos_stored_before_migration_39_get_their_lists(Backend::Postgres).await;
    }

    crate::backend_test! {
        async fn the_triggers_make_one_photos_list_from_its_own_rows(db) {
            // Each copy or crop written makes its photo's list again: that
            // must find the photo by its key and its copies and crops by
            // their indexes, never scan all photos or all copies (an agency
            // has hundreds of thousands).
            let mut args = crate::sql::Args::new();
            args.push(7_i64);
            let plan = db.plan("SELECT l.list FROM photo_rendition_lists l WHERE l.photo_id = $1", args).await;
            let text = plan.join("\n");
            // SQLite's `SCAN r` reads the rows the two searches gave, not a table.
            let scans = plan.iter().any(|l| l.contains("Seq Scan") || (l.starts_with("SCAN ") && l != "SCAN r"));
            assert!(!scans, "a scan: {text}");
            let reads = match db.store.backend() {
                crate::Backend::Sqlite => [
                    "SEARCH p USING INTEGER PRIMARY KEY",
                    "SEARCH photo_renditions USING COVERING INDEX",
                    "SEARCH photo_crop_renditions USING COVERING INDEX",
                ],
                crate::Backend::Postgres => ["photos_pkey on photos", "on photo_renditions", "on photo_crop_renditions"],
            };
            for read in reads {
                assert!(plan.iter().any(|line| line.contains(read)), "no {read:?}: {text}");
            }
        }
    }
}
