//! Image processing for photo uploads: the type is sniffed from the bytes,
//! location data is removed from the metadata, the original is otherwise kept
//! as sent, and resized renditions (WebP and JPEG) are made once.
//!
//! What "location removed" means: only metadata known to hold no position is
//! kept, every other block is dropped, whatever it holds.
//! - JPEG: the file is rewritten up to the end of the primary image (`EOI`):
//!   the other pictures of a multi-picture file (phones append a second JPEG,
//!   with its own EXIF, after an `APP2` `MPF` index) and any trailer are
//!   dropped. Of the metadata segments, only JFIF (`APP0`), the colour profile
//!   (`APP2` `ICC_PROFILE`), Adobe's colour transform (`APP14`) and the EXIF
//!   block (rewritten, below) stay; XMP, IPTC-IIM (`APP13` Photoshop `8BIM`),
//!   MPF, comments and vendor segments go.
//! - PNG: the image, colour, transparency, animation and resolution chunks stay,
//!   and text chunks with the standard keywords (Title, Author, Copyright, ...);
//!   XMP (`iTXt` `XML:com.adobe.xmp`), raw profiles (EXIF, IPTC), private
//!   chunks and anything after `IEND` go.
//! - WebP: the image, animation and colour profile chunks stay; `XMP ` and
//!   unknown chunks go.
//! - EXIF (JPEG `APP1`, PNG `eXIf`, WebP `EXIF`): rewritten from its primary
//!   image fields without the GPS directory, the maker note (vendor blobs may
//!   hold positions too), the embedded thumbnail and fields the EXIF reader does
//!   not know (such as embedded IPTC or XMP); if it cannot be rewritten it is
//!   dropped, keeping only the orientation. The photographer, copyright, date
//!   and orientation stay.
//!
//! Before cleaning, what the file says about itself (caption, credit, creator,
//! copyright, keywords, ...; never location) is read by
//! [`newsdesk_domain::photo_meta`] into [`Inspected::embedded`]: the library's
//! fields start from it.
//!
//! Pixel bombs: the picture's size is read from its header before anything is
//! decoded, and a picture over the limit ([`ImageWork`]'s `max_pixels`, and
//! [`MAX_SIDE`] on each side) is refused; decoders run with memory limits.
//! All work runs on the blocking thread pool through [`ImageWork`], a few
//! pictures at a time.

pub mod crops;

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use exif::experimental::Writer;
use exif::{Context, Field, In, Tag, Value};
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use img_parts::{ImageEXIF, png::Png, webp::WebP};
use newsdesk_domain::photo_meta;
use newsdesk_storage::{NewPhoto, NewRendition};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// Widths of the renditions; only those narrower than the original are made.
pub const RENDITION_WIDTHS: [u32; 4] = [320, 640, 1024, 1600];
/// Quality of the JPEG renditions (0–100).
const JPEG_QUALITY: u8 = 82;
/// Quality of the lossy WebP renditions (0–100).
const WEBP_QUALITY: f32 = 80.0;
/// Largest side accepted, in pixels (WebP itself stops at 16383).
pub const MAX_SIDE: u32 = 16_000;
/// Largest picture accepted by default, in pixels: 64 megapixels, above the
/// 61 MP of the largest common full-frame cameras. Decoding one takes up to
/// about 0.5 GB (RGBA at 16 bits a channel); resizing it about as much again.
pub const DEFAULT_MAX_PIXELS: u64 = 64_000_000;
/// Most bytes per pixel a decoded picture takes (RGBA, 16 bits a channel):
/// the decoders' memory limit is this times the pixel limit.
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// Why an upload was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    /// Not a JPEG, PNG or WebP file (by its bytes).
    #[error(
        "This file is not a JPEG, PNG or WebP image (its contents say {0}). Photos must be JPEG, PNG or WebP; \
         the file name does not matter."
    )]
    Unsupported(String),
    /// The file claims a supported type but cannot be read as an image.
    #[error("This {0} file cannot be read as an image ({1}). It may be damaged or cut off: export it again and retry.")]
    Undecodable(&'static str, String),
    /// The picture is too large in pixels (refused before it is decoded).
    #[error(
        "The image is {width}×{height} pixels ({}); the limit is {} and {MAX_SIDE} pixels on each side. \
         Export it smaller and retry.",
        megapixels(u64::from(*width) * u64::from(*height)),
        megapixels(*max_pixels)
    )]
    TooManyPixels {
        /// Width in the file's header.
        width: u32,
        /// Height in the file's header.
        height: u32,
        /// The limit, in pixels.
        max_pixels: u64,
    },
    /// The request that wanted the work is gone; what was left of it was not done.
    #[error("the upload was abandoned before its photo was processed")]
    Abandoned,
    /// An encoder failed (ours, not the user's).
    #[error("making a resized copy failed: {0}")]
    Encode(String),
}

/// `n` pixels as people say it: "256 megapixels", "0.3 megapixels".
fn megapixels(n: u64) -> String {
    if n.is_multiple_of(1_000_000) || n >= 10_000_000 {
        format!("{} megapixels", (n + 500_000) / 1_000_000)
    } else {
        format!("{:.1} megapixels", n as f64 / 1e6)
    }
}

/// A supported image type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// WebP.
    Webp,
}

impl Kind {
    /// The media type.
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Jpeg => "JPEG",
            Kind::Png => "PNG",
            Kind::Webp => "WebP",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            Kind::Jpeg => ImageFormat::Jpeg,
            Kind::Png => ImageFormat::Png,
            Kind::Webp => ImageFormat::WebP,
        }
    }
}

/// The type of an image by its first bytes; never by a file name.
pub fn sniff(bytes: &[u8]) -> Result<Kind, MediaError> {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Jpeg) => Ok(Kind::Jpeg),
        Ok(ImageFormat::Png) => Ok(Kind::Png),
        Ok(ImageFormat::WebP) => Ok(Kind::Webp),
        Ok(other) => Err(MediaError::Unsupported(format!("{other:?}"))),
        Err(_) if bytes.is_empty() => Err(MediaError::Unsupported("nothing: the file is empty".into())),
        Err(_) if std::str::from_utf8(&bytes[..bytes.len().min(512)]).is_ok() => {
            Err(MediaError::Unsupported("text".into()))
        }
        Err(_) => Err(MediaError::Unsupported("an unknown type".into())),
    }
}

/// SHA-256 of bytes, hex: the content address.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The server's image work, bounded. At most `slots` jobs (cleaning,
/// decoding, resizing, encoding) run at once, each on the blocking thread
/// pool; the others wait their turn. A job keeps its slot until it ends, even
/// when the request that started it is gone (a client that hangs up, the
/// request timeout), so abandoned work never adds up beyond the slots; and it
/// stops at its next step once it sees the request gone ([`Abandoned`]).
/// Pictures over `max_pixels` are refused from their header, before decoding.
#[derive(Debug, Clone)]
pub struct ImageWork {
    slots: Arc<Semaphore>,
    max_pixels: u64,
}

impl ImageWork {
    /// At most `slots` jobs at once (at least one), pictures of at most `max_pixels`.
    pub fn new(max_pixels: u64, slots: usize) -> ImageWork {
        ImageWork { slots: Arc::new(Semaphore::new(slots.max(1))), max_pixels }
    }

    /// As many slots as the machine has cores, at most four (each may take
    /// about a gigabyte at the largest pictures).
    pub fn for_this_machine(max_pixels: u64) -> ImageWork {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        ImageWork::new(max_pixels, cores.clamp(1, 4))
    }

    /// The largest picture accepted, in pixels.
    pub fn max_pixels(&self) -> u64 {
        self.max_pixels
    }

    /// Sniffs and cleans an upload and reads its size from its header
    /// (nothing is decoded): refused if too large.
    pub async fn inspect(&self, bytes: Bytes) -> Result<Inspected, MediaError> {
        let max_pixels = self.max_pixels;
        self.run(move |_| inspect(&bytes, max_pixels)).await
    }

    /// Decodes an inspected photo and makes its renditions.
    pub async fn renditions(&self, photo: &Inspected) -> Result<Vec<NewRendition>, MediaError> {
        let (photo, max_pixels) = (photo.clone(), self.max_pixels);
        self.run(move |abandoned| photo.renditions(max_pixels, abandoned)).await
    }

    /// Runs `job` on the blocking thread pool once a slot is free; the slot
    /// goes with the job, and the job's [`Abandoned`] turns true when this
    /// future is dropped before the job ended.
    async fn run<T, F>(&self, job: F) -> Result<T, MediaError>
    where
        T: Send + 'static,
        F: FnOnce(&Abandoned) -> Result<T, MediaError> + Send + 'static,
    {
        /// Marks the job abandoned when the caller's future is dropped.
        struct OnDrop(Arc<AtomicBool>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let slot = self.slots.clone().acquire_owned().await.map_err(|e| MediaError::Encode(e.to_string()))?;
        let abandoned = Abandoned(Arc::new(AtomicBool::new(false)));
        let _guard = OnDrop(abandoned.0.clone());
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            job(&abandoned)
        })
        .await
        .map_err(|e| MediaError::Encode(format!("the image task failed: {e}")))?
    }
}

/// Whether the request that wanted a job is gone; checked between its steps
/// (a decode itself runs to its end, bounded by the pixel limit).
#[derive(Debug, Clone)]
pub struct Abandoned(Arc<AtomicBool>);

impl Abandoned {
    /// `Err(Abandoned)` once the request is gone.
    pub fn check(&self) -> Result<(), MediaError> {
        if self.0.load(Ordering::Relaxed) { Err(MediaError::Abandoned) } else { Ok(()) }
    }
}

/// An upload checked and cleaned, its size read from its header; not decoded yet.
#[derive(Debug, Clone)]
pub struct Inspected {
    kind: Kind,
    /// The original as it will be stored (location removed).
    bytes: Bytes,
    /// Hex SHA-256 of `bytes`.
    pub sha256: String,
    /// Width as displayed (after the EXIF orientation).
    pub width: u32,
    /// Height as displayed.
    pub height: u32,
    orientation: Orientation,
    /// What the file says about itself (caption, credit, creator, ...; never
    /// location), read before cleaning: what the library's fields start with.
    pub embedded: photo_meta::Embedded,
}

/// Sniffs and cleans an upload, reads its size from its header and refuses
/// it if it is over `max_pixels` (or [`MAX_SIDE`] on a side). Nothing is decoded.
pub fn inspect(bytes: &[u8], max_pixels: u64) -> Result<Inspected, MediaError> {
    let kind = sniff(bytes)?;
    let bad = |e: &dyn std::fmt::Display| MediaError::Undecodable(kind.name(), e.to_string());
    let (cleaned, orientation) = strip_location(kind, bytes).map_err(|e| bad(&e))?;
    let (w, h) =
        ImageReader::with_format(Cursor::new(&cleaned), kind.format()).into_dimensions().map_err(|e| bad(&e))?;
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > max_pixels {
        return Err(MediaError::TooManyPixels { width: w, height: h, max_pixels });
    }
    let turned = matches!(
        orientation,
        Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH
    );
    let (width, height) = if turned { (h, w) } else { (w, h) };
    // Damaged metadata never refuses a photo: the block is left out, and said so in the log.
    let read = photo_meta::read(bytes);
    for problem in &read.problems {
        tracing::warn!(sha256 = %sha256_hex(&cleaned), problem = %problem, "a metadata block of an upload was left out");
    }
    Ok(Inspected {
        kind,
        sha256: sha256_hex(&cleaned),
        bytes: cleaned.into(),
        width,
        height,
        orientation,
        embedded: read.embedded,
    })
}

impl Inspected {
    /// The media type.
    pub fn mime(&self) -> &'static str {
        self.kind.mime()
    }

    /// The photo to store, with its caption and credit and the details the file gave.
    pub fn to_photo(&self, caption: &str, credit: &str) -> NewPhoto {
        NewPhoto {
            sha256: self.sha256.clone(),
            mime: self.kind.mime().into(),
            width: i64::from(self.width),
            height: i64::from(self.height),
            bytes: self.bytes.to_vec(),
            caption: caption.into(),
            credit: credit.into(),
            details: self.embedded.details.clone(),
        }
    }

    /// Decodes the picture (within the memory its size allows), upright.
    fn decode(&self, max_pixels: u64) -> Result<DynamicImage, MediaError> {
        let bad = |e: &dyn std::fmt::Display| MediaError::Undecodable(self.kind.name(), e.to_string());
        let mut reader = ImageReader::with_format(Cursor::new(&self.bytes[..]), self.kind.format());
        let mut limits = Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(max_pixels.saturating_mul(MAX_BYTES_PER_PIXEL));
        reader.limits(limits);
        let mut image = reader.decode().map_err(|e| bad(&e))?;
        image.apply_orientation(self.orientation);
        if (image.width(), image.height()) != (self.width, self.height) {
            return Err(bad(&format_args!(
                "its header says {}×{} pixels, its picture is {}×{}",
                self.width,
                self.height,
                image.width(),
                image.height()
            )));
        }
        Ok(image)
    }

    /// The renditions: each width of [`RENDITION_WIDTHS`] narrower than the
    /// original, as JPEG and as lossy WebP. Widest first, each made from the
    /// next wider one (quick, and as sharp at these ratios). Stops when the
    /// request is gone.
    fn renditions(&self, max_pixels: u64, abandoned: &Abandoned) -> Result<Vec<NewRendition>, MediaError> {
        abandoned.check()?;
        let image = self.decode(max_pixels)?;
        let (w, h) = (image.width(), image.height());
        let mut out = Vec::new();
        let mut source = image;
        for &width in RENDITION_WIDTHS.iter().rev().filter(|&&rw| rw < w) {
            abandoned.check()?;
            let height = ((u64::from(h) * u64::from(width) + u64::from(w) / 2) / u64::from(w)).max(1) as u32;
            let resized = resize(&source, width, height);
            // Reversed below: narrowest first, JPEG before WebP.
            out.push(encode_webp(&resized)?);
            out.push(encode_jpeg(&resized)?);
            source = resized;
        }
        out.reverse();
        Ok(out)
    }
}

/// `image` resized to exactly `width`×`height` with a Lanczos3 filter, by
/// `fast_image_resize` (SIMD; alpha is premultiplied while resizing, as it
/// should be). A pixel layout it lacks falls back to `image`'s own resize, the
/// same filter about four times slower.
pub(crate) fn resize(image: &DynamicImage, width: u32, height: u32) -> DynamicImage {
    let mut out = DynamicImage::new(width, height, image.color());
    match fast_image_resize::Resizer::new().resize(image, &mut out, None) {
        Ok(()) => out,
        Err(_) => image.resize_exact(width, height, FilterType::Lanczos3),
    }
}

fn rendition(mime: &str, image: &DynamicImage, bytes: Vec<u8>) -> NewRendition {
    NewRendition {
        sha256: sha256_hex(&bytes),
        mime: mime.into(),
        width: i64::from(image.width()),
        height: i64::from(image.height()),
        bytes,
    }
}

/// JPEG has no transparency: transparent parts become white.
fn flatten(image: &DynamicImage) -> image::RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u16::from(p[3]);
        let mix = |c: u8| ((u16::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
    })
}

fn encode_jpeg(image: &DynamicImage) -> Result<NewRendition, MediaError> {
    let rgb = flatten(image);
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| MediaError::Encode(format!("JPEG: {e}")))?;
    Ok(rendition("image/jpeg", image, buf))
}

/// Lossy WebP through libwebp (the `image` crate writes lossless WebP only).
fn encode_webp(image: &DynamicImage) -> Result<NewRendition, MediaError> {
    let (w, h) = (image.width(), image.height());
    let memory = if image.color().has_alpha() {
        let rgba = image.to_rgba8();
        webp::Encoder::from_rgba(rgba.as_raw(), w, h).encode_simple(false, WEBP_QUALITY)
    } else {
        let rgb = image.to_rgb8();
        webp::Encoder::from_rgb(rgb.as_raw(), w, h).encode_simple(false, WEBP_QUALITY)
    }
    .map_err(|e| MediaError::Encode(format!("WebP: {e:?}")))?;
    Ok(rendition("image/webp", image, memory.to_vec()))
}

/// The EXIF orientation of raw EXIF (TIFF) data; upright when absent.
fn orientation_of(exif: &exif::Exif) -> Orientation {
    exif.get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u8::try_from(v).ok())
        .and_then(Orientation::from_exif)
        .unwrap_or(Orientation::NoTransforms)
}

/// EXIF without location: the primary image's fields the EXIF reader knows,
/// minus the GPS directory and the maker note; at most `max_len` bytes.
/// `None` when nothing is left to keep.
fn exif_without_location(raw: &[u8], max_len: usize) -> (Option<Vec<u8>>, Orientation) {
    let Ok(parsed) = exif::Reader::new().read_raw(raw.to_vec()) else {
        // Unreadable: keep nothing of it (it might hold a position), read the
        // orientation the simple way.
        return (None, Orientation::from_exif_chunk(raw).unwrap_or(Orientation::NoTransforms));
    };
    let orientation = orientation_of(&parsed);
    let keep: Vec<&Field> = parsed
        .fields()
        .filter(|f| {
            f.ifd_num == In::PRIMARY
                && f.tag.context() != Context::Gps
                && f.tag != Tag::MakerNote
                && f.tag != Tag::GPSInfoIFDPointer
                // Unknown tags may be anything: IPTC (0x83BB), XMP (0x02BC), Photoshop resources (0x8649).
                && f.tag.description().is_some()
                && !matches!(f.value, Value::Unknown(..))
        })
        .collect();
    let write = |fields: &[&Field]| -> Option<Vec<u8>> {
        if fields.is_empty() {
            return None;
        }
        let mut writer = Writer::new();
        for f in fields {
            writer.push_field(f);
        }
        let mut buf = Cursor::new(Vec::new());
        writer.write(&mut buf, parsed.little_endian()).ok()?;
        let bytes = buf.into_inner();
        // Check what was written: readable, short enough, and without a GPS field.
        let again = exif::Reader::new().read_raw(bytes.clone()).ok()?;
        (bytes.len() <= max_len && !again.fields().any(|f| f.tag.context() == Context::Gps)).then_some(bytes)
    };
    let rewritten = write(&keep).or_else(|| {
        let only_orientation: Vec<&Field> = keep.iter().copied().filter(|f| f.tag == Tag::Orientation).collect();
        write(&only_orientation)
    });
    (rewritten, orientation)
}

/// The upload with location data removed, and the EXIF orientation.
fn strip_location(kind: Kind, bytes: &[u8]) -> Result<(Vec<u8>, Orientation), String> {
    match kind {
        Kind::Jpeg => clean_jpeg(bytes),
        Kind::Png => {
            let mut png = Png::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|e| e.to_string())?;
            let (exif, orientation) = clean_exif(png.exif());
            // Reading stops at IEND: nothing after it is kept.
            png.chunks_mut().retain(|c| png_chunk_kept(c.kind(), c.contents()));
            png.set_exif(exif);
            Ok((png.encoder().bytes().to_vec(), orientation))
        }
        Kind::Webp => {
            let mut webp = WebP::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|e| e.to_string())?;
            let (exif, orientation) = clean_exif(webp.exif());
            webp.chunks_mut()
                .retain(|c| matches!(&c.id(), b"VP8 " | b"VP8L" | b"VP8X" | b"ALPH" | b"ANIM" | b"ANMF" | b"ICCP"));
            // Also updates the VP8X flags of EXIF and ICC, not that of XMP:
            // cleared below, or decoders look for the XMP chunk.
            webp.set_exif(exif);
            if let Some(vp8x) = webp.chunks_mut().iter_mut().find(|c| &c.id() == b"VP8X")
                && let img_parts::riff::RiffContent::Data(data) = vp8x.content_mut()
                && let Some(&flags) = data.first()
            {
                let mut cleared = data.to_vec();
                cleared[0] = flags & !WEBP_XMP_FLAG;
                *data = cleared.into();
            }
            Ok((webp.encoder().bytes().to_vec(), orientation))
        }
    }
}

fn clean_exif(exif: Option<Bytes>) -> (Option<Bytes>, Orientation) {
    match exif {
        None => (None, Orientation::NoTransforms),
        Some(raw) => {
            let (kept, orientation) = exif_without_location(&raw, usize::MAX);
            (kept.map(Bytes::from), orientation)
        }
    }
}

/// The PNG chunks kept: image data, colour, transparency, animation, resolution,
/// and text under the keywords the PNG standard defines (not XMP, not raw profiles).
fn png_chunk_kept(kind: [u8; 4], contents: &[u8]) -> bool {
    const KEYWORDS: [&[u8]; 10] = [
        b"Title",
        b"Author",
        b"Description",
        b"Copyright",
        b"Creation Time",
        b"Software",
        b"Disclaimer",
        b"Warning",
        b"Source",
        b"Comment",
    ];
    match &kind {
        b"IHDR" | b"PLTE" | b"IDAT" | b"IEND" | b"tRNS" | b"cHRM" | b"gAMA" | b"iCCP" | b"sBIT" | b"sRGB" | b"cICP"
        | b"mDCV" | b"cLLI" | b"bKGD" | b"hIST" | b"pHYs" | b"tIME" | b"acTL" | b"fcTL" | b"fdAT" => true,
        b"tEXt" | b"zTXt" | b"iTXt" => {
            let keyword = contents.split(|b| *b == 0).next().unwrap_or_default();
            KEYWORDS.contains(&keyword)
        }
        // eXIf is put back rewritten; private and unknown chunks may hold anything.
        _ => false,
    }
}

/// The VP8X flag saying an XMP chunk follows.
const WEBP_XMP_FLAG: u8 = 0x04;

const JPEG_SOI: [u8; 2] = [0xFF, 0xD8];
const JPEG_EOI: [u8; 2] = [0xFF, 0xD9];
const JPEG_SOS: u8 = 0xDA;
const JPEG_APP0: u8 = 0xE0;
const JPEG_APP1: u8 = 0xE1;
const JPEG_APP2: u8 = 0xE2;
const JPEG_APP14: u8 = 0xEE;
const JPEG_APP15: u8 = 0xEF;
const JPEG_COM: u8 = 0xFE;
const EXIF_PREFIX: &[u8] = b"Exif\0\0";
/// Most EXIF data one segment holds (its length field counts itself and the prefix).
const JPEG_EXIF_MAX: usize = 65535 - 2 - EXIF_PREFIX.len();

/// A JPEG rewritten up to the end of its primary image with only the
/// metadata segments known to hold no location (see the module's doc), and
/// its EXIF orientation. The compressed picture is copied byte for byte.
fn clean_jpeg(b: &[u8]) -> Result<(Vec<u8>, Orientation), String> {
    let cut = || "the file ends before the end of the image".to_string();
    if !b.starts_with(&JPEG_SOI) {
        return Err("it does not start like a JPEG".into());
    }
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut exif: Option<&[u8]> = None;
    let mut pos = JPEG_SOI.len();
    loop {
        if b.get(pos) != Some(&0xFF) {
            return Err(format!("no segment marker at byte {pos}"));
        }
        // Markers may be preceded by fill bytes.
        while b.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *b.get(pos + 1).ok_or_else(cut)?;
        match marker {
            // The end of the primary image: the other pictures of a
            // multi-picture file, and any trailer, are not kept.
            0xD9 => break,
            0xD8 => return Err("a second image starts inside the first".into()),
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                kept.push(&b[pos..pos + 2]);
                pos += 2;
                continue;
            }
            _ => {}
        }
        let len = b.get(pos + 2..pos + 4).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))).ok_or_else(cut)?;
        if len < 2 {
            return Err(format!("a segment at byte {pos} has a length of {len}"));
        }
        let end = pos + 2 + len;
        let segment = b.get(pos..end).ok_or_else(cut)?;
        let data = &segment[4..];
        match marker {
            JPEG_SOS => {
                // The scan header, then its compressed data up to the next marker.
                let data_end = scan_end(b, end).ok_or_else(cut)?;
                kept.push(&b[pos..data_end]);
                pos = data_end;
                continue;
            }
            JPEG_APP1 if data.starts_with(EXIF_PREFIX) => {
                // Rewritten below; only the first EXIF block counts, as for readers.
                if exif.is_none() {
                    exif = Some(&data[EXIF_PREFIX.len()..]);
                }
            }
            JPEG_APP0 if data.starts_with(b"JFIF\0") => kept.push(segment),
            JPEG_APP2 if data.starts_with(b"ICC_PROFILE\0") => kept.push(segment),
            JPEG_APP14 if data.starts_with(b"Adobe") => kept.push(segment),
            // XMP, IPTC (APP13), MPF (APP2), vendor blocks and comments: dropped.
            JPEG_APP0..=JPEG_APP15 | JPEG_COM => {}
            _ => kept.push(segment),
        }
        pos = end;
    }
    let (exif, orientation) = match exif {
        Some(raw) => exif_without_location(raw, JPEG_EXIF_MAX),
        None => (None, Orientation::NoTransforms),
    };
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&JPEG_SOI);
    // JFIF comes first when there is one, then EXIF.
    let jfif = kept.iter().take_while(|s| s[1] == JPEG_APP0).count();
    for s in &kept[..jfif] {
        out.extend_from_slice(s);
    }
    if let Some(exif) = exif {
        let len = u16::try_from(2 + EXIF_PREFIX.len() + exif.len()).map_err(|_| "the EXIF block is too long")?;
        out.extend_from_slice(&[0xFF, JPEG_APP1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(EXIF_PREFIX);
        out.extend_from_slice(&exif);
    }
    for s in &kept[jfif..] {
        out.extend_from_slice(s);
    }
    out.extend_from_slice(&JPEG_EOI);
    Ok((out, orientation))
}

/// Where the compressed data of a scan starting at `from` ends: at the next
/// marker (`0xFF` followed by anything but a stuffed zero or a restart marker).
fn scan_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let ff = i + b.get(i..)?.iter().position(|&x| x == 0xFF)?;
        match b.get(ff + 1)? {
            0x00 | 0xD0..=0xD7 => i = ff + 2,
            _ => return Some(ff),
        }
    }
}

/// The lease under which one node at a time makes the missing renditions.
const RENDITIONS_LEASE: &str = "renditions";
/// How long a node holds that lease without renewing it (it renews it for each photo).
const RENDITIONS_LEASE_SECS: i64 = 120;
/// How long a node that does not hold the lease waits before looking again.
const RENDITIONS_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Makes the missing renditions of photos stored before renditions existed
/// (the demo's, or a site's from before this version), one photo at a time
/// off the async threads; ends when none is left. A photo that cannot be
/// read is logged and skipped. One node at a time does it (the lease
/// `renditions`, held by `node`): the others wait, take over if it stops,
/// and end when no photo is left. A database error is retried after a while.
pub async fn complete_renditions(store: newsdesk_storage::Store, images: ImageWork, node: String) {
    let mut after = 0;
    let mut done = 0;
    loop {
        match renditions_step(&store, &images, &node, &mut after, &mut done).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                newsdesk_storage::outage::warn("cannot make the resized copies of older photos; retrying", &e);
                tokio::time::sleep(RENDITIONS_WAIT).await;
            }
        }
    }
}

/// One step of [`complete_renditions`]: a photo made if this node holds the
/// lease, else a wait. False when no photo is left to do.
async fn renditions_step(
    store: &newsdesk_storage::Store,
    images: &ImageWork,
    node: &str,
    after: &mut i64,
    done: &mut usize,
) -> newsdesk_storage::Result<bool> {
    let smallest = i64::from(RENDITION_WIDTHS[0]);
    if !store.try_lease(RENDITIONS_LEASE, node, RENDITIONS_LEASE_SECS).await? {
        tokio::time::sleep(RENDITIONS_WAIT).await;
        // Whoever holds it may have finished meanwhile.
        return Ok(!store.photos_without_renditions(smallest, 0, 1).await?.is_empty());
    }
    let Some(photo) = store.photos_without_renditions(smallest, *after, 1).await?.pop() else {
        store.release_lease(RENDITIONS_LEASE, node).await?;
        if *done > 0 {
            tracing::info!(photos = *done, "resized copies made for older photos");
        }
        return Ok(false);
    };
    // A database error leaves `after` where it was: the photo is tried again
    // after the wait. A photo that cannot be read is passed over.
    let Some((_, bytes)) = store.photo_bytes(&photo.sha256).await? else {
        *after = photo.id;
        return Ok(true);
    };
    let made = match images.inspect(bytes.into()).await {
        Ok(inspected) => images.renditions(&inspected).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(renditions) => {
            store.add_renditions(photo.id, &renditions).await?;
            *done += 1;
        }
        Err(e) => tracing::warn!(photo = photo.id, error = %e, "cannot make resized copies"),
    }
    *after = photo.id;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_sniffed_from_the_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Ok(Kind::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Ok(Kind::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Ok(Kind::Webp));
        assert!(matches!(sniff(b"GIF89a......"), Err(MediaError::Unsupported(t)) if t == "Gif"));
        assert!(matches!(sniff(b"hello, I am a text file"), Err(MediaError::Unsupported(t)) if t == "text"));
        assert!(matches!(sniff(b""), Err(MediaError::Unsupported(_))));
    }

    #[test]
    fn a_cut_off_jpeg_is_refused_with_a_clear_message() {
        let mut buf = Vec::new();
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(64, 64, image::Rgb([200, 10, 10])));
        img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Jpeg).expect("encode");
        buf.truncate(buf.len() / 3);
        let e = inspect(&buf, DEFAULT_MAX_PIXELS).expect_err("refused");
        assert!(matches!(e, MediaError::Undecodable("JPEG", _)), "{e}");
        assert!(e.to_string().contains("damaged"), "{e}");
    }

    /// A picture with detail: gradients and a hard edge, with the alpha given.
    fn test_picture(alpha: bool) -> DynamicImage {
        let rgba = image::RgbaImage::from_fn(400, 300, |x, y| {
            let edge = if x > 200 { 255 } else { 0 };
            let a = if alpha { (y * 255 / 299) as u8 } else { 255 };
            image::Rgba([(x * 255 / 399) as u8, (y * 255 / 299) as u8, edge, a])
        });
        if alpha {
            DynamicImage::ImageRgba8(rgba)
        } else {
            DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).to_rgb8())
        }
    }

    #[test]
    fn resizing_gives_the_picture_image_s_own_lanczos3_gives() {
        for alpha in [false, true] {
            let picture = test_picture(alpha);
            let ours = resize(&picture, 160, 120);
            let theirs = picture.resize_exact(160, 120, FilterType::Lanczos3);
            assert_eq!((ours.width(), ours.height(), ours.color()), (160, 120, picture.color()));
            let (a, b) = (ours.to_rgba8(), theirs.to_rgba8());
            let differ = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| u64::from(x.abs_diff(*y))).sum::<u64>();
            // Same filter, different rounding (and premultiplied alpha): off by little on average.
            let mean = differ as f64 / a.as_raw().len() as f64;
            assert!(mean < 2.0, "alpha {alpha}: mean difference {mean}");
        }
    }

    fn running() -> Abandoned {
        Abandoned(Arc::new(AtomicBool::new(false)))
    }

    #[test]
    fn renditions_are_made_for_widths_below_the_original_keeping_the_ratio() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(1100, 550, image::Rgba([0, 0, 255, 128])));
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Png).expect("encode");
        let p = inspect(&buf, DEFAULT_MAX_PIXELS).expect("inspect");
        let r = p.renditions(DEFAULT_MAX_PIXELS, &running()).expect("renditions");
        let shape: Vec<(i64, i64, &str)> = r.iter().map(|r| (r.width, r.height, r.mime.as_str())).collect();
        assert_eq!(
            shape,
            vec![
                (320, 160, "image/jpeg"),
                (320, 160, "image/webp"),
                (640, 320, "image/jpeg"),
                (640, 320, "image/webp"),
                (1024, 512, "image/jpeg"),
                (1024, 512, "image/webp"),
            ]
        );
        for r in &r {
            let decoded = image::load_from_memory(&r.bytes).expect("decodes");
            assert_eq!((i64::from(decoded.width()), i64::from(decoded.height())), (r.width, r.height));
        }
        // Half-transparent blue on white, in the JPEG.
        let jpeg = image::load_from_memory(&r[0].bytes).expect("jpeg").to_rgb8();
        let px = jpeg.get_pixel(100, 80).0;
        assert!(px[0] > 100 && px[2] > 240, "{px:?}");
        // Work whose request is gone stops before decoding.
        let gone = Abandoned(Arc::new(AtomicBool::new(true)));
        assert_eq!(p.renditions(DEFAULT_MAX_PIXELS, &gone).err(), Some(MediaError::Abandoned));
    }

    #[test]
    fn pictures_over_the_pixel_limit_are_refused_from_their_header() {
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(1200, 1000, image::Rgb([1, 2, 3])));
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Png).expect("encode");
        let e = inspect(&buf, 1_000_000).expect_err("refused");
        assert_eq!(e, MediaError::TooManyPixels { width: 1200, height: 1000, max_pixels: 1_000_000 });
        assert_eq!(
            e.to_string(),
            "The image is 1200×1000 pixels (1.2 megapixels); the limit is 1 megapixels and 16000 pixels on each \
             side. Export it smaller and retry."
        );
        assert_eq!(inspect(&buf, 1_200_000).map(|p| (p.width, p.height)), Ok((1200, 1000)));
        assert_eq!(megapixels(256_000_000), "256 megapixels");
        assert_eq!(megapixels(300_000), "0.3 megapixels");
    }

    #[tokio::test]
    async fn a_dropped_request_abandons_its_job_which_keeps_its_slot_until_it_stops() {
        use std::time::{Duration, Instant};
        let work = ImageWork::new(DEFAULT_MAX_PIXELS, 1);
        let (tx, rx) = std::sync::mpsc::channel();
        let first = work.run(move |abandoned| {
            let start = Instant::now();
            while abandoned.check().is_ok() && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(5));
            }
            // Still busy for a moment after seeing it: the slot stays taken until the job ends.
            std::thread::sleep(Duration::from_millis(100));
            tx.send((abandoned.check(), Instant::now())).ok();
            Ok(())
        });
        assert!(tokio::time::timeout(Duration::from_millis(100), first).await.is_err(), "dropped while running");
        let second_started = work.run(|_| Ok(Instant::now())).await.expect("runs");
        let (seen, first_ended) = rx.recv_timeout(Duration::from_secs(5)).expect("the first job ended");
        assert_eq!(seen, Err(MediaError::Abandoned), "the first job saw its request gone");
        assert!(second_started >= first_ended, "the second job waited for the slot");
    }
}
