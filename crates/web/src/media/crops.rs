//! Crop renditions: for each slot ratio ([`Ratio`]: 16:9, 4:3, 1:1) the crop
//! of the photo's framing ([`Framing`]: the focal point, or a crop an editor
//! set by hand) is resized to the widths pages use, as JPEG and lossy WebP.
//! Made at upload and when the framing changes; photos stored before crops
//! existed get them from [`run_backfill`], a few at a time under a lease so
//! two nodes do not make the same ones. Until a photo has them, pages show its
//! uncropped renditions.

use std::time::Duration;

use newsdesk_domain::crop::{self, Ratio};
use newsdesk_storage::{Framing, NewCropRendition};

use super::{Abandoned, ImageWork, Inspected, MediaError, encode_jpeg, encode_webp};
use crate::AppState;

/// Widths of crop renditions: those of the uncropped ones and 1200, the
/// width social cards and search engines ask for. Never above the crop's own width.
pub const CROP_WIDTHS: [u32; 5] = [320, 640, 1024, 1200, 1600];
/// Width of the Open Graph / X card image (a 16:9 crop).
pub const CARD_WIDTH: i64 = 1200;
/// Photos per batch of the background job.
const BATCH: i64 = 3;
/// How long the job waits after it found nothing to do (or failed).
const IDLE: Duration = Duration::from_secs(60);
/// How long a node holds the job's lease without renewing it.
const LEASE_SECS: i64 = 60;

impl ImageWork {
    /// Decodes a photo and makes the renditions of each ratio's crop of `framing`.
    pub async fn crop_renditions(
        &self,
        photo: &Inspected,
        framing: &Framing,
    ) -> Result<Vec<NewCropRendition>, MediaError> {
        let (photo, framing, max_pixels) = (photo.clone(), framing.clone(), self.max_pixels);
        self.run(move |abandoned| photo.crop_renditions(&framing, max_pixels, abandoned)).await
    }
}

impl Inspected {
    /// For each ratio, its crop resized to each width of [`CROP_WIDTHS`] the
    /// crop reaches (and to its own width when narrower than the widest), as
    /// JPEG and WebP; narrowest first within a ratio. Stops when the request is gone.
    fn crop_renditions(
        &self,
        framing: &Framing,
        max_pixels: u64,
        abandoned: &Abandoned,
    ) -> Result<Vec<NewCropRendition>, MediaError> {
        abandoned.check()?;
        let image = self.decode(max_pixels)?;
        let mut out = Vec::new();
        for ratio in Ratio::ALL {
            let c = framing.crop(ratio, image.width(), image.height());
            // A hand-set crop was checked against this picture's size; clamp anyway, never panic.
            let x = c.x.min(image.width() - 1);
            let y = c.y.min(image.height() - 1);
            let (cw, ch) = (c.width.min(image.width() - x).max(1), c.height.min(image.height() - y).max(1));
            let mut source = image.crop_imm(x, y, cw, ch);
            let mut made = Vec::new();
            for &width in crop::rendition_widths(cw, &CROP_WIDTHS).iter().rev() {
                abandoned.check()?;
                let height = if width == cw { ch } else { ratio.height_for(width).min(ch) };
                if (width, height) != (source.width(), source.height()) {
                    source = super::resize(&source, width, height);
                }
                made.push(NewCropRendition { ratio, rendition: encode_webp(&source)? });
                made.push(NewCropRendition { ratio, rendition: encode_jpeg(&source)? });
            }
            made.reverse();
            out.extend(made);
        }
        Ok(out)
    }
}

/// Makes and stores the crop renditions of stored photo `photo_id` if it has
/// none (a photo just uploaded, or one from before crops existed). Errors are
/// the photo's own (unreadable) or the store's.
pub async fn make_missing(state: &AppState, photo_id: i64) -> Result<(), crate::AppError> {
    if !state.store.photo_crop_renditions(photo_id).await?.is_empty() {
        return Ok(());
    }
    let Some(photo) = state.store.photo(photo_id).await? else { return Ok(()) };
    let Some((_, bytes)) = state.store.photo_bytes(&photo.sha256).await? else { return Ok(()) };
    let framing = state.store.photo_framing(photo_id).await?;
    let made = match state.images.inspect(bytes.into()).await {
        Ok(inspected) => state.images.crop_renditions(&inspected, &framing).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(renditions) => {
            state.store.add_crop_renditions(photo_id, &renditions).await?;
            for (news_id, edition_id) in state.store.stories_with_photo(photo_id).await? {
                state.story_changed(news_id, edition_id).await?;
            }
            Ok(())
        }
        Err(e) => Err(crate::AppError::Internal(format!("photo {photo_id}: cannot make its crops: {e}"))),
    }
}

/// One batch of the background job: if this node holds the `crops` lease,
/// makes the crop renditions of up to a few photos without them, after id
/// `after` (moved past them). Returns how many photos it looked at (0 when
/// none is left after `after`), or `None` when another node holds the lease.
pub async fn backfill_batch(state: &AppState, node: &str, after: &mut i64) -> Result<Option<usize>, crate::AppError> {
    if !state.store.try_lease("crops", node, LEASE_SECS).await? {
        return Ok(None);
    }
    let batch = state.store.photos_without_crop_renditions(*after, BATCH).await?;
    for photo in &batch {
        *after = photo.id;
        if let Err(e) = make_missing(state, photo.id).await {
            // Skipped until the next pass; pages keep the uncropped renditions.
            e.warn("a photo's crops could not be made");
        }
    }
    Ok(Some(batch.len()))
}

/// Runs the background job until the task is dropped: batch after batch
/// while photos lack crops, then a pass a minute.
pub async fn run_backfill(state: AppState, node: String) {
    let mut after = 0;
    loop {
        match backfill_batch(&state, &node, &mut after).await {
            Ok(Some(n)) if n > 0 => tokio::time::sleep(Duration::from_millis(100)).await,
            Ok(_) => {
                after = 0;
                tokio::time::sleep(IDLE).await;
            }
            Err(e) => {
                e.warn("making crops of older photos failed; retrying");
                tokio::time::sleep(IDLE).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use newsdesk_domain::crop::{Focus, Rect};
    use std::io::Cursor;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img =
            image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, _| image::Rgb([(x % 256) as u8, 0, 0])));
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), image::ImageFormat::Png).expect("encode");
        buf
    }

    #[test]
    fn each_ratio_gets_its_crop_at_every_width_it_reaches() {
        let p = super::super::inspect(&png(2000, 1000), super::super::DEFAULT_MAX_PIXELS).expect("inspect");
        let running = Abandoned(Arc::new(AtomicBool::new(false)));
        let r = p.crop_renditions(&Framing::default(), super::super::DEFAULT_MAX_PIXELS, &running).expect("crops");
        let shape = |ratio: Ratio| -> Vec<(i64, i64)> {
            r.iter()
                .filter(|c| c.ratio == ratio && c.rendition.mime == "image/jpeg")
                .map(|c| (c.rendition.width, c.rendition.height))
                .collect()
        };
        assert_eq!(shape(Ratio::Wide), vec![(320, 180), (640, 360), (1024, 576), (1200, 675), (1600, 900)]);
        assert_eq!(shape(Ratio::Standard), vec![(320, 240), (640, 480), (1024, 768), (1200, 900), (1333, 1000)]);
        assert_eq!(shape(Ratio::Square), vec![(320, 320), (640, 640), (1000, 1000)]);
        for c in &r {
            let d = image::load_from_memory(&c.rendition.bytes).expect("decodes");
            assert_eq!((i64::from(d.width()), i64::from(d.height())), (c.rendition.width, c.rendition.height));
        }
        // A hand-set square crop at the left edge: its copies come from there (dark red, x < 256).
        let framing = Framing {
            focus: Focus::CENTRE,
            crops: vec![(Ratio::Square, Rect { x: 0, y: 0, width: 200, height: 200 })],
        };
        let r = p.crop_renditions(&framing, super::super::DEFAULT_MAX_PIXELS, &running).expect("crops");
        let sq: Vec<_> = r.iter().filter(|c| c.ratio == Ratio::Square).collect();
        assert_eq!(sq.len(), 2, "one width (its own, 200), two formats");
        let px = image::load_from_memory(&sq[0].rendition.bytes).expect("jpeg").to_rgb8().get_pixel(190, 100).0;
        assert!(px[0] < 215, "{px:?} comes from the left of the picture");
    }
}
