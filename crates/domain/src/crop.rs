//! Crops of a photo for the slots pages show it in: 16:9 (the lead photo,
//! social cards), 4:3 and 1:1 (thumbnails, search engines). Each crop is the
//! largest rectangle of its ratio inside the picture, placed so the photo's
//! focal point sits as near its centre as the picture's edges allow; an editor
//! may instead set a crop rectangle by hand for any ratio ([`Rect::fitted`]).
//!
//! Pure arithmetic in pixels of the picture as displayed (after the EXIF
//! orientation), no I/O.

use serde::{Deserialize, Serialize};

/// A crop ratio offered to pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Ratio {
    /// 16:9: the story's lead photo, Open Graph and X cards.
    Wide,
    /// 4:3: teasers in lists.
    Standard,
    /// 1:1: square thumbnails.
    Square,
}

impl Ratio {
    /// Every ratio, widest first (the order JSON-LD lists them in).
    pub const ALL: [Ratio; 3] = [Ratio::Wide, Ratio::Standard, Ratio::Square];

    /// The stored key: `16x9`, `4x3`, `1x1`.
    pub fn key(self) -> &'static str {
        match self {
            Ratio::Wide => "16x9",
            Ratio::Standard => "4x3",
            Ratio::Square => "1x1",
        }
    }

    /// As people write it: `16:9`.
    pub fn label(self) -> &'static str {
        match self {
            Ratio::Wide => "16:9",
            Ratio::Standard => "4:3",
            Ratio::Square => "1:1",
        }
    }

    /// The ratio of a stored key.
    pub fn parse(key: &str) -> Option<Ratio> {
        Ratio::ALL.into_iter().find(|r| r.key() == key)
    }

    /// Width and height terms (16, 9).
    pub fn terms(self) -> (u32, u32) {
        match self {
            Ratio::Wide => (16, 9),
            Ratio::Standard => (4, 3),
            Ratio::Square => (1, 1),
        }
    }

    /// The height of a crop `width` pixels wide, rounded to the nearest pixel (at least 1).
    pub fn height_for(self, width: u32) -> u32 {
        let (rw, rh) = self.terms();
        let h = (u64::from(width) * u64::from(rh) * 2 + u64::from(rw)) / (u64::from(rw) * 2);
        u32::try_from(h).unwrap_or(u32::MAX).max(1)
    }
}

/// Units of a stored focal point coordinate: ten-thousandths of the side.
pub const FOCUS_UNITS: i64 = 10_000;

/// Where the subject of a photo is, as fractions of its width and height from
/// the top left corner (0..=1 each); the centre unless an editor set it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Focus {
    /// Across, 0 at the left edge, 1 at the right.
    pub x: f64,
    /// Down, 0 at the top, 1 at the bottom.
    pub y: f64,
}

impl Default for Focus {
    fn default() -> Focus {
        Focus::CENTRE
    }
}

impl Focus {
    /// The centre of the picture.
    pub const CENTRE: Focus = Focus { x: 0.5, y: 0.5 };

    /// A focal point from fractions; `None` unless both are numbers within 0..=1.
    pub fn new(x: f64, y: f64) -> Option<Focus> {
        let ok = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        (ok(x) && ok(y)).then_some(Focus { x, y })
    }

    /// From stored ten-thousandths ([`FOCUS_UNITS`]), clamped into the picture.
    pub fn from_units(x: i64, y: i64) -> Focus {
        let f = |v: i64| v.clamp(0, FOCUS_UNITS) as f64 / FOCUS_UNITS as f64;
        Focus { x: f(x), y: f(y) }
    }

    /// As stored: ten-thousandths of each side.
    pub fn to_units(self) -> (i64, i64) {
        let u = |v: f64| ((v.clamp(0.0, 1.0) * FOCUS_UNITS as f64).round() as i64).clamp(0, FOCUS_UNITS);
        (u(self.x), u(self.y))
    }

    /// As a percentage pair for people and CSS (`object-position`): `"30.0% 42.5%"`.
    pub fn percent(self) -> String {
        format!("{:.1}% {:.1}%", self.x * 100.0, self.y * 100.0)
    }
}

/// A rectangle in pixels of the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width (at least 1).
    pub width: u32,
    /// Height (at least 1).
    pub height: u32,
}

/// Smallest side of a crop set by hand, in pixels.
pub const MIN_CROP_SIDE: u32 = 16;

/// Why a hand-set crop was refused; the message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CropError {
    /// Narrower or lower than [`MIN_CROP_SIDE`].
    #[error("The {ratio} crop must be at least {MIN_CROP_SIDE} pixels wide and high (it is {width}×{height}).")]
    TooSmall {
        /// The ratio's label.
        ratio: &'static str,
        /// Asked width.
        width: u32,
        /// Height that width gives.
        height: u32,
    },
    /// Runs over the right or bottom edge of the picture.
    #[error(
        "The {ratio} crop ({width}×{height} at {x}, {y}) runs past the picture's {image_width}×{image_height} \
         pixels: move it or make it narrower."
    )]
    Outside {
        /// The ratio's label.
        ratio: &'static str,
        /// Left edge.
        x: u32,
        /// Top edge.
        y: u32,
        /// Asked width.
        width: u32,
        /// Height that width gives.
        height: u32,
        /// The picture's width.
        image_width: u32,
        /// The picture's height.
        image_height: u32,
    },
}

impl Rect {
    /// The largest rectangle of `ratio` inside a `width`×`height` picture,
    /// centred on `focus` as far as the edges allow.
    pub fn around(width: u32, height: u32, ratio: Ratio, focus: Focus) -> Rect {
        let (w, h) = (width.max(1), height.max(1));
        let (rw, rh) = ratio.terms();
        let (cw, ch) = if u64::from(w) * u64::from(rh) >= u64::from(h) * u64::from(rw) {
            // Wider than the ratio: the full height, the width it gives.
            let cw = ((u64::from(h) * u64::from(rw) * 2 + u64::from(rh)) / (u64::from(rh) * 2)) as u32;
            (cw.clamp(1, w), h)
        } else {
            (w, ratio.height_for(w).min(h))
        };
        let place = |side: u32, crop: u32, at: f64| -> u32 {
            let start = (at.clamp(0.0, 1.0) * f64::from(side) - f64::from(crop) / 2.0).round();
            start.clamp(0.0, f64::from(side - crop)) as u32
        };
        Rect { x: place(w, cw, focus.x), y: place(h, ch, focus.y), width: cw, height: ch }
    }

    /// A crop set by hand: its top left corner and width, the height following
    /// from the ratio; refused unless it lies inside the picture.
    pub fn fitted(
        ratio: Ratio,
        x: u32,
        y: u32,
        width: u32,
        image_width: u32,
        image_height: u32,
    ) -> Result<Rect, CropError> {
        let height = ratio.height_for(width);
        if width < MIN_CROP_SIDE || height < MIN_CROP_SIDE {
            return Err(CropError::TooSmall { ratio: ratio.label(), width, height });
        }
        let past = |start: u32, len: u32, side: u32| u64::from(start) + u64::from(len) > u64::from(side);
        if past(x, width, image_width) || past(y, height, image_height) {
            return Err(CropError::Outside { ratio: ratio.label(), x, y, width, height, image_width, image_height });
        }
        Ok(Rect { x, y, width, height })
    }

    /// Whether the point `focus` of a `width`×`height` picture lies in this rectangle (edges included).
    pub fn contains(&self, width: u32, height: u32, focus: Focus) -> bool {
        let (fx, fy) = (focus.x * f64::from(width), focus.y * f64::from(height));
        f64::from(self.x) <= fx
            && fx <= f64::from(self.x + self.width)
            && f64::from(self.y) <= fy
            && fy <= f64::from(self.y + self.height)
    }
}

/// The widths renditions of a crop `crop_width` pixels wide are made at: each
/// of `widths` it reaches (never upscaled), and the crop's own width when it
/// is narrower than the widest of them (so a small picture still has its
/// sharpest copy). Narrowest first, without repeats.
pub fn rendition_widths(crop_width: u32, widths: &[u32]) -> Vec<u32> {
    let mut out: Vec<u32> = widths.iter().copied().filter(|&w| w <= crop_width).collect();
    if widths.iter().max().is_some_and(|&max| crop_width < max) {
        out.push(crop_width);
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_landscape_photo_gives_full_height_crops_centred_by_default() {
        let r = Rect::around(4000, 2000, Ratio::Wide, Focus::CENTRE);
        assert_eq!(r, Rect { x: 222, y: 0, width: 3556, height: 2000 });
        let sq = Rect::around(4000, 2000, Ratio::Square, Focus::CENTRE);
        assert_eq!(sq, Rect { x: 1000, y: 0, width: 2000, height: 2000 });
    }

    #[test]
    fn the_focal_point_moves_the_crop_until_it_meets_the_edge() {
        let left = Rect::around(4000, 2000, Ratio::Square, Focus { x: 0.1, y: 0.5 });
        assert_eq!(left.x, 0, "400 - 1000 is past the left edge");
        let right = Rect::around(4000, 2000, Ratio::Square, Focus { x: 0.6, y: 0.5 });
        assert_eq!(right.x, 1400, "centred on 2400");
        let edge = Rect::around(4000, 2000, Ratio::Square, Focus { x: 0.8, y: 0.5 });
        assert_eq!(edge.x, 2000, "3200 - 1000 would leave the right edge inside");
        let portrait = Rect::around(1000, 3000, Ratio::Wide, Focus { x: 0.5, y: 0.2 });
        assert_eq!(portrait, Rect { x: 0, y: 319, width: 1000, height: 563 });
    }

    #[test]
    fn a_picture_already_at_the_ratio_is_kept_whole() {
        assert_eq!(
            Rect::around(1600, 900, Ratio::Wide, Focus { x: 0.0, y: 1.0 }),
            Rect { x: 0, y: 0, width: 1600, height: 900 }
        );
        assert_eq!(Rect::around(1, 1, Ratio::Wide, Focus::CENTRE), Rect { x: 0, y: 0, width: 1, height: 1 });
    }

    #[test]
    fn crops_set_by_hand_must_lie_inside_the_picture() {
        assert_eq!(
            Rect::fitted(Ratio::Standard, 10, 20, 400, 1000, 800),
            Ok(Rect { x: 10, y: 20, width: 400, height: 300 })
        );
        let e = Rect::fitted(Ratio::Wide, 700, 0, 400, 1000, 800).expect_err("past the right edge");
        assert_eq!(
            e.to_string(),
            "The 16:9 crop (400×225 at 700, 0) runs past the picture's 1000×800 pixels: move it or make it narrower."
        );
        assert!(matches!(Rect::fitted(Ratio::Square, 0, 0, 8, 100, 100), Err(CropError::TooSmall { .. })));
        assert!(Rect::fitted(Ratio::Square, u32::MAX, 0, 100, 100, 100).is_err(), "no overflow");
    }

    #[test]
    fn focal_points_are_fractions_stored_in_ten_thousandths() {
        assert_eq!(Focus::new(0.25, 1.0), Some(Focus { x: 0.25, y: 1.0 }));
        assert_eq!(Focus::new(1.01, 0.5), None);
        assert_eq!(Focus::new(f64::NAN, 0.5), None);
        assert_eq!(Focus { x: 0.3333, y: 0.5 }.to_units(), (3333, 5000));
        assert_eq!(Focus::from_units(2500, 12_000), Focus { x: 0.25, y: 1.0 });
        assert_eq!(Focus { x: 0.3, y: 0.425 }.percent(), "30.0% 42.5%");
        assert_eq!(Ratio::parse("4x3"), Some(Ratio::Standard));
        assert_eq!(Ratio::parse("4:3"), None);
    }

    #[test]
    fn renditions_are_never_wider_than_the_crop() {
        let widths = [320, 640, 1024, 1200, 1600];
        assert_eq!(rendition_widths(3556, &widths), vec![320, 640, 1024, 1200, 1600]);
        assert_eq!(rendition_widths(1000, &widths), vec![320, 640, 1000]);
        assert_eq!(rendition_widths(1600, &widths), vec![320, 640, 1024, 1200, 1600]);
        assert_eq!(rendition_widths(200, &widths), vec![200]);
    }

    fn ratio() -> impl Strategy<Value = Ratio> {
        prop_oneof![Just(Ratio::Wide), Just(Ratio::Standard), Just(Ratio::Square)]
    }

    proptest! {
        #[test]
        fn crops_lie_inside_have_the_ratio_and_hold_the_focal_point(
            w in 1u32..20_000, h in 1u32..20_000, r in ratio(), fx in 0.0f64..=1.0, fy in 0.0f64..=1.0,
        ) {
            let focus = Focus { x: fx, y: fy };
            let c = Rect::around(w, h, r, focus);
            prop_assert!(c.width >= 1 && c.height >= 1);
            prop_assert!(c.x + c.width <= w && c.y + c.height <= h, "{c:?} inside {w}×{h}");
            let (rw, rh) = r.terms();
            // Exact within a pixel: the height is within one pixel of width × rh / rw.
            let ideal = f64::from(c.width) * f64::from(rh) / f64::from(rw);
            let tiny = c.width < rw || c.height < rh;
            prop_assert!(tiny || (f64::from(c.height) - ideal).abs() <= 1.0, "{c:?} for {r:?}");
            // The largest such crop: it spans the picture's width or height.
            prop_assert!(c.width == w || c.height == h, "{c:?} in {w}×{h}");
            prop_assert!(c.contains(w, h, focus), "{c:?} holds ({fx}, {fy}) of {w}×{h}");
        }

        #[test]
        fn crops_set_by_hand_are_inside_and_at_the_ratio(
            w in 1u32..10_000, h in 1u32..10_000, r in ratio(), x in 0u32..12_000, y in 0u32..12_000,
            cw in 0u32..12_000,
        ) {
            if let Ok(c) = Rect::fitted(r, x, y, cw, w, h) {
                prop_assert!(c.x + c.width <= w && c.y + c.height <= h);
                prop_assert!(c.width >= MIN_CROP_SIDE && c.height >= MIN_CROP_SIDE);
                let (rw, rh) = r.terms();
                prop_assert!((f64::from(c.height) - f64::from(c.width) * f64::from(rh) / f64::from(rw)).abs() <= 0.5);
            }
        }

        #[test]
        fn focal_points_survive_storage(x in 0i64..=FOCUS_UNITS, y in 0i64..=FOCUS_UNITS) {
            prop_assert_eq!(Focus::from_units(x, y).to_units(), (x, y));
        }
    }
}
