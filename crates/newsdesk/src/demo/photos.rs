//! The demo's drawn photos: a landscape in the colours and with the motif of
//! a top-level section, encoded as JPEG (deterministic: the same style and
//! variant give the same bytes).

use std::io::Cursor;
use std::sync::LazyLock;

use anyhow::Context;
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use newsdesk_storage::Store;
use newsdesk_web::media::{DEFAULT_MAX_PIXELS, ImageWork};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

use super::SECTION_TREE;

/// Size and quality of the drawn photos.
pub(super) const PHOTO_WIDTH: u32 = 1200;
pub(super) const PHOTO_HEIGHT: u32 = 675;
const JPEG_QUALITY: u8 = 80;

/// Variant of the seed story's photo (different from every section photo).
pub(super) const SEED_PHOTO_VARIANT: u64 = 1_000;

/// An encoded demo photo.
pub(super) struct DrawnPhoto {
    /// Index in [`SECTION_TREE`] of the section whose style it has.
    pub(super) style: usize,
    pub(super) bytes: Vec<u8>,
    pub(super) sha256: String,
    pub(super) caption: String,
}

/// Draws `per_section` photos for each top-level section, on blocking threads.
pub(super) async fn draw_section_photos(per_section: usize) -> anyhow::Result<Vec<DrawnPhoto>> {
    let specs: Vec<(usize, u64, String)> = SECTION_TREE
        .iter()
        .enumerate()
        .flat_map(|(style, (name, _))| {
            (0..per_section as u64).map(move |v| (style, v, format!("Illustration: {name} (drawn demo image)")))
        })
        .collect();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8);
    let chunk = specs.len().div_ceil(threads);
    let mut handles = Vec::new();
    for part in specs.chunks(chunk.max(1)) {
        let part = part.to_vec();
        handles.push(tokio::task::spawn_blocking(move || {
            part.into_iter()
                .map(|(style, variant, caption)| encode_photo(style, variant, caption))
                .collect::<anyhow::Result<Vec<_>>>()
        }));
    }
    let mut photos = Vec::with_capacity(specs.len());
    for h in handles {
        photos.extend(h.await.context("drawing demo photos")??);
    }
    Ok(photos)
}

/// Draws a photo in the style of top-level section `style` (index in the
/// section tree; `variant` picks the scene), stores it with `caption` and
/// `credit`, and returns its id (the demo's other editions use it).
pub(super) async fn store_drawn_photo(
    store: &Store,
    style: usize,
    variant: u64,
    caption: &str,
    credit: &str,
) -> anyhow::Result<i64> {
    let p = draw_photo_blocking(style, variant, caption.to_string()).await?;
    store_photo(store, &p, credit).await
}

/// Stores a drawn photo with `credit`, without its copies ([`make_copies`]);
/// returns its id.
pub(super) async fn store_photo(store: &Store, p: &DrawnPhoto, credit: &str) -> anyhow::Result<i64> {
    let stored = store
        .put_photo(
            &p.bytes,
            "image/jpeg",
            i64::from(PHOTO_WIDTH),
            i64::from(PHOTO_HEIGHT),
            &p.caption,
            credit,
            &p.sha256,
        )
        .await
        .context("storing a demo photo")?;
    Ok(stored.id)
}

/// The image work of the demo fill: as many slots as cores, as a server's.
static IMAGES: LazyLock<ImageWork> = LazyLock::new(|| ImageWork::for_this_machine(DEFAULT_MAX_PIXELS));

/// Makes stored photo `id`'s resized copies and crops now, before any story
/// shows it, as an upload does (see `COPIES_FIRST_FROM` for when the fill
/// does). Making them again changes nothing (both are kept once).
pub(super) async fn make_copies(store: &Store, id: i64, bytes: &[u8]) -> anyhow::Result<()> {
    let inspected = IMAGES.inspect(bytes.to_vec().into()).await.context("reading a demo photo")?;
    let renditions = IMAGES.renditions(&inspected).await.context("resizing a demo photo")?;
    store.add_renditions(id, &renditions).await.context("storing a demo photo's resized copies")?;
    let framing = store.photo_framing(id).await.context("reading a demo photo's framing")?;
    let crops = IMAGES.crop_renditions(&inspected, &framing).await.context("cropping a demo photo")?;
    store.add_crop_renditions(id, &crops).await.context("storing a demo photo's crops")?;
    Ok(())
}

/// Draws one photo on a blocking thread.
pub(super) async fn draw_photo_blocking(style: usize, variant: u64, caption: String) -> anyhow::Result<DrawnPhoto> {
    tokio::task::spawn_blocking(move || encode_photo(style, variant, caption)).await.context("drawing a demo photo")?
}

pub(super) fn encode_photo(style: usize, variant: u64, caption: String) -> anyhow::Result<DrawnPhoto> {
    let img = draw_scene(style, variant);
    let mut bytes = Vec::with_capacity(96 * 1024);
    JpegEncoder::new_with_quality(Cursor::new(&mut bytes), JPEG_QUALITY)
        .encode_image(&img)
        .context("encoding a demo photo")?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(DrawnPhoto { style, bytes, sha256, caption })
}

/// Colours of one section's pictures.
struct Palette {
    sky_top: [u8; 3],
    sky_horizon: [u8; 3],
    sun: [u8; 3],
    far: [u8; 3],
    near: [u8; 3],
    accent: [u8; 3],
    night: bool,
    motif: Motif,
}

/// What stands in the foreground.
#[derive(Clone, Copy)]
enum Motif {
    Dome,
    Globe,
    Columns,
    Towers,
    Stadium,
    Arches,
    Planet,
}

/// One palette per top-level section, in [`SECTION_TREE`] order.
const PALETTES: [Palette; 7] = [
    // Iran: dusk over mountains, a turquoise dome.
    Palette {
        sky_top: [38, 52, 110],
        sky_horizon: [246, 158, 90],
        sun: [255, 214, 140],
        far: [118, 86, 110],
        near: [70, 52, 66],
        accent: [40, 170, 180],
        night: false,
        motif: Motif::Dome,
    },
    // World: clear blue day, a globe.
    Palette {
        sky_top: [40, 110, 190],
        sky_horizon: [180, 220, 245],
        sun: [255, 250, 220],
        far: [90, 140, 170],
        near: [40, 90, 120],
        accent: [60, 150, 90],
        night: false,
        motif: Motif::Globe,
    },
    // Politics: violet evening, a columned building.
    Palette {
        sky_top: [52, 30, 90],
        sky_horizon: [200, 120, 160],
        sun: [255, 220, 200],
        far: [96, 70, 120],
        near: [50, 40, 70],
        accent: [230, 225, 210],
        night: false,
        motif: Motif::Columns,
    },
    // Economy: teal morning, towers.
    Palette {
        sky_top: [20, 90, 110],
        sky_horizon: [170, 225, 215],
        sun: [255, 245, 200],
        far: [70, 130, 130],
        near: [30, 70, 80],
        accent: [220, 190, 90],
        night: false,
        motif: Motif::Towers,
    },
    // Sports: bright day, a pitch.
    Palette {
        sky_top: [60, 140, 220],
        sky_horizon: [200, 230, 250],
        sun: [255, 250, 230],
        far: [60, 120, 70],
        near: [50, 150, 60],
        accent: [250, 250, 250],
        night: false,
        motif: Motif::Stadium,
    },
    // Culture: warm amber and magenta, arches.
    Palette {
        sky_top: [120, 30, 80],
        sky_horizon: [250, 190, 100],
        sun: [255, 235, 170],
        far: [150, 80, 70],
        near: [110, 60, 50],
        accent: [230, 170, 90],
        night: false,
        motif: Motif::Arches,
    },
    // Science: night sky, a ringed planet.
    Palette {
        sky_top: [6, 10, 30],
        sky_horizon: [30, 50, 100],
        sun: [230, 235, 255],
        far: [30, 40, 70],
        near: [15, 20, 40],
        accent: [200, 160, 110],
        night: true,
        motif: Motif::Planet,
    },
];

fn lerp(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    let t = t.clamp(0.0, 1.0);
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    [mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2])]
}

/// Shifts a colour a little, so photos of one section differ.
fn vary(c: [u8; 3], rng: &mut StdRng) -> [u8; 3] {
    let d: i16 = rng.random_range(-18..=18);
    c.map(|x| (i16::from(x) + d).clamp(0, 255) as u8)
}

/// A canvas with the few shapes the scenes need.
struct Canvas {
    img: RgbImage,
}

impl Canvas {
    fn w(&self) -> i32 {
        self.img.width() as i32
    }

    fn h(&self) -> i32 {
        self.img.height() as i32
    }

    fn set(&mut self, x: i32, y: i32, c: [u8; 3]) {
        if x >= 0 && y >= 0 && x < self.w() && y < self.h() {
            self.img.put_pixel(x as u32, y as u32, Rgb(c));
        }
    }

    fn blend(&mut self, x: i32, y: i32, c: [u8; 3], alpha: f32) {
        if x >= 0 && y >= 0 && x < self.w() && y < self.h() {
            let p = self.img.get_pixel_mut(x as u32, y as u32);
            p.0 = lerp(p.0, c, alpha);
        }
    }

    /// Fills `[x0, x1)` of row `y` (clipped).
    fn span(&mut self, y: i32, x0: i32, x1: i32, c: [u8; 3]) {
        let (w, h) = (self.w(), self.h());
        let (x0, x1) = (x0.max(0), x1.min(w));
        if y < 0 || y >= h || x0 >= x1 {
            return;
        }
        let start = (y as usize * w as usize + x0 as usize) * 3;
        let end = (y as usize * w as usize + x1 as usize) * 3;
        let buf: &mut [u8] = &mut self.img;
        for px in buf[start..end].chunks_exact_mut(3) {
            px.copy_from_slice(&c);
        }
    }

    fn rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: [u8; 3]) {
        for y in y0.max(0)..y1.min(self.h()) {
            self.span(y, x0, x1, c);
        }
    }

    /// A filled disc, cut off below row `max_y` when given (a dome).
    fn disc(&mut self, cx: i32, cy: i32, r: i32, c: [u8; 3], max_y: Option<i32>) {
        let bottom = max_y.unwrap_or(cy + r).min(cy + r);
        for y in (cy - r)..=bottom {
            let dy = y - cy;
            let half = f64::from(r * r - dy * dy).max(0.0).sqrt() as i32;
            self.span(y, cx - half, cx + half + 1, c);
        }
    }

    /// A soft glow around a point.
    fn glow(&mut self, cx: i32, cy: i32, r: i32, c: [u8; 3], strength: f32) {
        for y in (cy - r).max(0)..(cy + r).min(self.h()) {
            for x in (cx - r).max(0)..(cx + r).min(self.w()) {
                let d = (((x - cx) * (x - cx) + (y - cy) * (y - cy)) as f32).sqrt() / r as f32;
                if d < 1.0 {
                    self.blend(x, y, c, strength * (1.0 - d) * (1.0 - d));
                }
            }
        }
    }

    /// Fills from a wavy ridge line down to the bottom, shading from `top` to `bottom`.
    fn ridge(&mut self, base: i32, amp: f32, freq: f32, phase: f32, top: [u8; 3], bottom: [u8; 3]) {
        let (w, h) = (self.w(), self.h());
        let highest = (base as f32 - amp) as i32;
        let shades: Vec<[u8; 3]> =
            (0..h).map(|y| lerp(top, bottom, (y - highest) as f32 / (h - highest).max(1) as f32)).collect();
        for x in 0..w {
            let xf = x as f32;
            let wave = (xf * freq + phase).sin() * 0.6
                + (xf * freq * 2.3 + phase * 1.7).sin() * 0.3
                + (xf * freq * 5.1).sin() * 0.1;
            let y0 = (base as f32 - amp * (wave + 1.0) / 2.0) as i32;
            for y in y0.max(0)..h {
                self.img.put_pixel(x as u32, y as u32, Rgb(shades[y as usize]));
            }
        }
    }
}

/// Draws the scene of a section's style; `variant` moves the sun, the hills and the shapes.
fn draw_scene(style: usize, variant: u64) -> RgbImage {
    let p = &PALETTES[style % PALETTES.len()];
    let mut rng = StdRng::seed_from_u64(0x5EED_0000 ^ ((style as u64) << 16) ^ variant);
    let mut c = Canvas { img: RgbImage::new(PHOTO_WIDTH, PHOTO_HEIGHT) };
    let (w, h) = (c.w(), c.h());
    let horizon = h * rng.random_range(58..70) / 100;

    let sky_top = vary(p.sky_top, &mut rng);
    let sky_horizon = vary(p.sky_horizon, &mut rng);
    for y in 0..h {
        let col = lerp(sky_top, sky_horizon, (y as f32 / horizon as f32).powf(1.4));
        c.span(y, 0, w, col);
    }
    if p.night {
        for _ in 0..260 {
            let (x, y) = (rng.random_range(0..w), rng.random_range(0..horizon));
            let b = rng.random_range(150..=255u8);
            c.set(x, y, [b, b, b]);
            if rng.random_bool(0.2) {
                c.set(x + 1, y, [b, b, b]);
                c.set(x, y + 1, [b, b, b]);
            }
        }
    }

    let sun_x = rng.random_range(w / 8..w * 7 / 8);
    let sun_y = rng.random_range(horizon / 5..horizon * 3 / 4);
    let sun_r = rng.random_range(34..70);
    c.glow(sun_x, sun_y, sun_r * 3, p.sun, 0.55);
    c.disc(sun_x, sun_y, sun_r, p.sun, None);

    let far = vary(p.far, &mut rng);
    let near = vary(p.near, &mut rng);
    c.ridge(
        horizon,
        h as f32 * 0.16,
        rng.random_range(0.004..0.009),
        rng.random_range(0.0..std::f32::consts::TAU),
        far,
        lerp(far, near, 0.5),
    );
    c.ridge(
        horizon + h / 8,
        h as f32 * 0.10,
        rng.random_range(0.006..0.012),
        rng.random_range(0.0..std::f32::consts::TAU),
        near,
        lerp(near, [0, 0, 0], 0.4),
    );

    let accent = vary(p.accent, &mut rng);
    let shade = lerp(near, [0, 0, 0], 0.35);
    let cx = rng.random_range(w / 3..w * 2 / 3);
    let ground = horizon + h / 8;
    match p.motif {
        Motif::Dome => {
            let r = rng.random_range(70..110);
            let body_w = r * 2 + 60;
            c.rect(cx - body_w / 2, ground - 90, cx + body_w / 2, h, lerp(p.far, [230, 220, 200], 0.6));
            c.rect(cx - r - 6, ground - 110, cx + r + 6, ground - 90, lerp(p.far, [230, 220, 200], 0.5));
            c.disc(cx, ground - 110, r, accent, Some(ground - 110));
            c.rect(cx - 4, ground - 110 - r - 40, cx + 4, ground - 110 - r, [235, 200, 90]);
            for side in [-1, 1] {
                let mx = cx + side * (body_w / 2 + 40);
                c.rect(mx - 14, ground - 290, mx + 14, h, lerp(p.far, [230, 220, 200], 0.55));
                c.disc(mx, ground - 290, 14, accent, Some(ground - 290));
            }
        }
        Motif::Globe => {
            let r = rng.random_range(110..150);
            let cy = ground - r / 2;
            c.disc(cx, cy, r, [40, 110, 190], None);
            let land = accent;
            for _ in 0..6 {
                let (lx, ly) = (cx + rng.random_range(-r / 2..r / 2), cy + rng.random_range(-r / 2..r / 2));
                let lr = rng.random_range(r / 6..r / 3);
                for y in ly - lr..ly + lr {
                    for x in lx - lr..lx + lr {
                        let inside_land = (x - lx).pow(2) + (y - ly).pow(2) < lr * lr;
                        let inside_globe = (x - cx).pow(2) + (y - cy).pow(2) < (r - 4).pow(2);
                        if inside_land && inside_globe {
                            c.set(x, y, land);
                        }
                    }
                }
            }
            // Meridians and parallels.
            for y in cy - r..cy + r {
                for x in cx - r..cx + r {
                    let (dx, dy) = ((x - cx) as f32 / r as f32, (y - cy) as f32 / r as f32);
                    let d2 = dx * dx + dy * dy;
                    if d2 >= 1.0 {
                        continue;
                    }
                    let on_parallel = ((dy * 4.0).fract().abs() < 0.02) && dy.abs() > 0.05;
                    let width = (1.0 - dy * dy).sqrt();
                    let on_meridian = [0.0f32, 0.5, 0.87].iter().any(|k| (dx.abs() - k * width).abs() < 0.012);
                    if on_parallel || on_meridian {
                        c.blend(x, y, [240, 245, 255], 0.7);
                    }
                }
            }
        }
        Motif::Columns => {
            let width = rng.random_range(360..480);
            let (x0, x1) = (cx - width / 2, cx + width / 2);
            let top = ground - 200;
            let stone = lerp(accent, near, 0.1);
            c.rect(x0 - 30, ground - 10, x1 + 30, h, lerp(stone, shade, 0.3));
            c.rect(x0 - 16, ground - 26, x1 + 16, ground - 10, stone);
            let n = rng.random_range(5..8);
            let step = width / n;
            for i in 0..n {
                let x = x0 + i * step + step / 2;
                c.rect(x - 14, top + 30, x + 14, ground - 26, stone);
                c.rect(x - 6, top + 30, x - 2, ground - 26, lerp(stone, shade, 0.25));
            }
            c.rect(x0 - 16, top + 10, x1 + 16, top + 30, stone);
            for y in top - 70..top + 10 {
                let half = (width / 2 + 16) * (y - (top - 70)) / 80;
                c.span(y, cx - half, cx + half, stone);
            }
            c.rect(cx - 3, top - 130, cx + 3, top - 70, [70, 70, 70]);
            c.rect(cx + 3, top - 130, cx + 45, top - 104, [40, 140, 70]);
            c.rect(cx + 3, top - 112, cx + 45, top - 104, [210, 40, 40]);
            c.rect(cx + 3, top - 121, cx + 45, top - 113, [245, 245, 245]);
        }
        Motif::Towers => {
            let mut x = rng.random_range(20..80);
            while x < w - 40 {
                let tw = rng.random_range(50..110);
                let th = rng.random_range(h / 6..h / 2);
                let col = lerp(near, accent, rng.random_range(0.0..0.35));
                c.rect(x, ground - th, x + tw, h, col);
                let window = lerp(accent, [255, 250, 230], 0.5);
                let mut wy = ground - th + 12;
                while wy < h - 12 {
                    let mut wx = x + 8;
                    while wx + 8 < x + tw - 4 {
                        if rng.random_bool(0.55) {
                            c.rect(wx, wy, wx + 8, wy + 10, window);
                        }
                        wx += 16;
                    }
                    wy += 22;
                }
                x += tw + rng.random_range(6..30);
            }
        }
        Motif::Stadium => {
            let pitch_top = horizon + 20;
            for y in pitch_top..h {
                let stripe = ((y - pitch_top) / 40) % 2 == 0;
                let col = if stripe { [48, 150, 62] } else { [56, 166, 70] };
                c.span(y, 0, w, col);
            }
            c.rect(0, pitch_top - 60, w, pitch_top, lerp(p.far, [0, 0, 0], 0.3));
            for _ in 0..900 {
                let (x, y) = (rng.random_range(0..w), rng.random_range(pitch_top - 58..pitch_top - 4));
                let col = [[220, 40, 40], [250, 250, 250], [40, 120, 220], [240, 200, 40]][rng.random_range(0..4)];
                c.rect(x, y, x + 4, y + 4, col);
            }
            let line = accent;
            c.rect(0, pitch_top + 8, w, pitch_top + 12, line);
            c.rect(cx - 2, pitch_top + 8, cx + 2, h, line);
            let (ccy, cr) = (pitch_top + (h - pitch_top) / 2, 90);
            for y in ccy - cr - 3..ccy + cr + 3 {
                for x in cx - cr - 3..cx + cr + 3 {
                    let d = ((((x - cx) * (x - cx) + (y - ccy) * (y - ccy)) as f32).sqrt() - cr as f32).abs();
                    if d < 2.5 {
                        c.set(x, y, line);
                    }
                }
            }
            let (bx, by) = (cx + rng.random_range(-300..300), h - rng.random_range(50..110));
            c.disc(bx, by, 22, [250, 250, 250], None);
            c.disc(bx, by, 7, [30, 30, 30], None);
        }
        Motif::Arches => {
            let n = rng.random_range(4..7);
            let aw = 120;
            let total = n * aw;
            let x0 = cx - total / 2;
            let top = ground - 230;
            let wall = lerp(accent, [240, 220, 180], 0.4);
            c.rect(x0 - 20, top - 30, x0 + total + 20, h, wall);
            for i in 0..n {
                let ax = x0 + i * aw + 18;
                let r = (aw - 36) / 2;
                let inner = lerp(shade, p.accent, 0.15);
                c.rect(ax, top + r + 10, ax + 2 * r, ground + 40, inner);
                c.disc(ax + r, top + r + 10, r, inner, Some(top + r + 10));
                c.rect(ax - 4, top - 14, ax + 2 * r + 4, top - 8, [40, 120, 160]);
            }
        }
        Motif::Planet => {
            let r = rng.random_range(90..130);
            let (px, py) = (cx, horizon - r - 20);
            let ring = accent;
            let ring_band = |x: i32, y: i32| {
                let (dx, dy) = ((x - px) as f32 / (r as f32 * 1.9), (y - py) as f32 / (r as f32 * 0.45));
                let d = dx * dx + dy * dy;
                (0.72..1.0).contains(&d)
            };
            for y in py - r..py {
                for x in px - 2 * r..px + 2 * r {
                    if ring_band(x, y) {
                        c.set(x, y, lerp(ring, [0, 0, 0], 0.3));
                    }
                }
            }
            for y in py - r..=py + r {
                for x in px - r..=px + r {
                    let d2 = (x - px).pow(2) + (y - py).pow(2);
                    if d2 <= r * r {
                        let light = 1.0 - ((x - px + r / 2) as f32 / (2 * r) as f32).clamp(0.0, 1.0);
                        c.set(x, y, lerp([60, 70, 140], [200, 170, 150], light));
                    }
                }
            }
            for y in py..py + r {
                for x in px - 2 * r..px + 2 * r {
                    if ring_band(x, y) {
                        c.set(x, y, ring);
                    }
                }
            }
            c.rect(cx + 260, ground - 140, cx + 268, ground, [160, 165, 180]);
            c.disc(cx + 264, ground - 150, 30, [190, 195, 210], Some(ground - 140));
        }
    }
    c.img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_jpegs_of_the_promised_size_and_differ() {
        let a = encode_photo(0, 0, "a".into()).expect("draws");
        let b = encode_photo(0, 1, "b".into()).expect("draws");
        assert!(a.bytes.starts_with(&[0xFF, 0xD8]));
        assert_ne!(a.sha256, b.sha256);
        let img = image::load_from_memory(&a.bytes).expect("decodes");
        assert_eq!((img.width(), img.height()), (PHOTO_WIDTH, PHOTO_HEIGHT));
    }
}
