//! Image processing for photo uploads: the type is sniffed from the bytes,
//! location data is removed from the metadata, the original is otherwise kept
//! as sent, and resized renditions (WebP and JPEG) are made once.
//!
//! What "location removed" means, per container:
//! - EXIF (JPEG APP1, PNG `eXIf`, WebP `EXIF`): rewritten from its primary
//!   image fields without the GPS directory, the maker note (vendor blobs may
//!   hold positions too) and the embedded thumbnail; if it cannot be rewritten
//!   it is dropped, keeping only the orientation.
//! - XMP packets (JPEG APP1, PNG `iTXt`, WebP `XMP `) that mention GPS are
//!   dropped, and so are PNG text chunks that carry a raw EXIF copy.
//!
//! The processing is CPU-bound and blocking: call it from
//! `tokio::task::spawn_blocking` ([`complete_renditions`] does so itself).

use std::io::Cursor;

use bytes::Bytes;
use exif::experimental::Writer;
use exif::{Context, Field, In, Tag, Value};
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use img_parts::{ImageEXIF, jpeg::Jpeg, png::Png, webp::WebP};
use newsdesk_storage::{NewPhoto, NewRendition};
use sha2::{Digest, Sha256};

/// Widths of the renditions; only those narrower than the original are made.
pub const RENDITION_WIDTHS: [u32; 4] = [320, 640, 1024, 1600];
/// Quality of the JPEG renditions (0–100).
const JPEG_QUALITY: u8 = 82;
/// Quality of the lossy WebP renditions (0–100).
const WEBP_QUALITY: f32 = 80.0;
/// Largest side accepted, in pixels (WebP itself stops at 16383).
pub const MAX_SIDE: u32 = 16_000;
/// Most memory one decode may take (bounds decompression bombs).
const MAX_DECODE_BYTES: u64 = 1 << 30;

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
    /// The picture is too large in pixels.
    #[error("The image is {0}×{1} pixels; at most {MAX_SIDE} pixels on each side are accepted.")]
    TooManyPixels(u32, u32),
    /// An encoder failed (ours, not the user's).
    #[error("making a resized copy failed: {0}")]
    Encode(String),
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

/// An upload checked, cleaned and decoded, ready to store.
pub struct Prepared {
    /// The original as it will be stored (location removed).
    pub photo: NewPhoto,
    /// The decoded picture, upright.
    image: DynamicImage,
}

/// Sniffs, cleans and decodes an upload.
pub fn prepare(bytes: &[u8], caption: &str, credit: &str) -> Result<Prepared, MediaError> {
    let kind = sniff(bytes)?;
    let bad = |e: &dyn std::fmt::Display| MediaError::Undecodable(kind.name(), e.to_string());
    let (cleaned, orientation) = strip_location(kind, bytes).map_err(|e| bad(&e))?;
    let mut reader = ImageReader::with_format(Cursor::new(&cleaned), kind.format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let (w, h) = reader.into_dimensions().map_err(|e| bad(&e))?;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(MediaError::TooManyPixels(w, h));
    }
    let mut reader = ImageReader::with_format(Cursor::new(&cleaned), kind.format());
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut image = reader.decode().map_err(|e| bad(&e))?;
    image.apply_orientation(orientation);
    let photo = NewPhoto {
        sha256: sha256_hex(&cleaned),
        mime: kind.mime().into(),
        width: i64::from(image.width()),
        height: i64::from(image.height()),
        bytes: cleaned,
        caption: caption.into(),
        credit: credit.into(),
    };
    Ok(Prepared { photo, image })
}

impl Prepared {
    /// The renditions: each width of [`RENDITION_WIDTHS`] narrower than the
    /// original, as JPEG and as lossy WebP. Widest first, each made from the
    /// next wider one (quick, and as sharp at these ratios).
    pub fn renditions(&self) -> Result<Vec<NewRendition>, MediaError> {
        let (w, h) = (self.image.width(), self.image.height());
        let mut out = Vec::new();
        let mut source = self.image.clone();
        for &width in RENDITION_WIDTHS.iter().rev().filter(|&&rw| rw < w) {
            let height = ((u64::from(h) * u64::from(width) + u64::from(w) / 2) / u64::from(w)).max(1) as u32;
            let resized = source.resize_exact(width, height, FilterType::Lanczos3);
            // Reversed below: narrowest first, JPEG before WebP.
            out.push(encode_webp(&resized)?);
            out.push(encode_jpeg(&resized)?);
            source = resized;
        }
        out.reverse();
        Ok(out)
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

/// EXIF without location: the primary image's fields minus the GPS
/// directory and the maker note. `None` when nothing is left to keep.
fn exif_without_location(raw: &[u8]) -> (Option<Vec<u8>>, Orientation) {
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
        // Check what was written: readable, and without a GPS field.
        let again = exif::Reader::new().read_raw(bytes.clone()).ok()?;
        (!again.fields().any(|f| f.tag.context() == Context::Gps)).then_some(bytes)
    };
    let rewritten = write(&keep).or_else(|| {
        let only_orientation: Vec<&Field> = keep.iter().copied().filter(|f| f.tag == Tag::Orientation).collect();
        write(&only_orientation)
    });
    (rewritten, orientation)
}

/// Whether an XMP packet may say where the photo was taken.
fn xmp_has_location(packet: &[u8]) -> bool {
    packet.windows(3).any(|w| w == b"GPS") || packet.windows(8).any(|w| w.eq_ignore_ascii_case(b"location"))
}

const XMP_JPEG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_JPEG_EXTENDED: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
const JPEG_APP1: u8 = 0xE1;

/// The upload with location data removed, and the EXIF orientation.
fn strip_location(kind: Kind, bytes: &[u8]) -> Result<(Vec<u8>, Orientation), img_parts::Error> {
    let input = Bytes::copy_from_slice(bytes);
    let (orientation, out) = match kind {
        Kind::Jpeg => {
            let mut jpeg = Jpeg::from_bytes(input)?;
            let (exif, orientation) = clean_exif(jpeg.exif());
            let is_xmp = |s: &img_parts::jpeg::JpegSegment| {
                s.marker() == JPEG_APP1
                    && (s.contents().starts_with(XMP_JPEG) || s.contents().starts_with(XMP_JPEG_EXTENDED))
            };
            // Extended XMP continues the main packet: drop all of it if any part tells a location.
            if jpeg.segments().iter().any(|s| is_xmp(s) && xmp_has_location(s.contents())) {
                jpeg.segments_mut().retain(|s| !is_xmp(s));
            }
            jpeg.set_exif(exif);
            (orientation, jpeg.encoder().bytes())
        }
        Kind::Png => {
            let mut png = Png::from_bytes(input)?;
            let (exif, orientation) = clean_exif(png.exif());
            png.chunks_mut().retain(|c| !png_text_with_location(c.kind(), c.contents()));
            png.set_exif(exif);
            (orientation, png.encoder().bytes())
        }
        Kind::Webp => {
            let mut webp = WebP::from_bytes(input)?;
            let (exif, orientation) = clean_exif(webp.exif());
            let xmp_id = *b"XMP ";
            if webp.chunks_by_id(xmp_id).any(|c| c.content().data().is_some_and(|d| xmp_has_location(d))) {
                webp.remove_chunks_by_id(xmp_id);
            }
            // Also updates the VP8X flags for the chunks now present.
            webp.set_exif(exif);
            (orientation, webp.encoder().bytes())
        }
    };
    Ok((out.to_vec(), orientation))
}

fn clean_exif(exif: Option<Bytes>) -> (Option<Bytes>, Orientation) {
    match exif {
        None => (None, Orientation::NoTransforms),
        Some(raw) => {
            let (kept, orientation) = exif_without_location(&raw);
            (kept.map(Bytes::from), orientation)
        }
    }
}

/// PNG text chunks that carry EXIF (ImageMagick's raw profiles) or an XMP packet with a location.
fn png_text_with_location(kind: [u8; 4], contents: &[u8]) -> bool {
    if !matches!(&kind, b"tEXt" | b"zTXt" | b"iTXt") {
        return false;
    }
    let keyword = contents.split(|b| *b == 0).next().unwrap_or_default();
    match keyword {
        b"Raw profile type exif" | b"Raw profile type APP1" => true,
        // An iTXt packet may be compressed (flag right after the keyword): drop it unseen.
        b"XML:com.adobe.xmp" => contents.get(keyword.len() + 1) != Some(&0) || xmp_has_location(contents),
        _ => false,
    }
}

/// Makes the missing renditions of photos stored before renditions existed
/// (the demo's, or a site's from before this version), one photo at a time
/// off the async threads; ends when none is left. A photo that cannot be
/// read is logged and skipped. Several nodes may run it at once: the rows
/// they both make are kept once.
pub async fn complete_renditions(store: newsdesk_storage::Store) {
    let mut after = 0;
    let mut done = 0;
    loop {
        let batch = match store.photos_without_renditions(i64::from(RENDITION_WIDTHS[0]), after, 20).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for photos without resized copies");
                return;
            }
        };
        if batch.is_empty() {
            if done > 0 {
                tracing::info!(photos = done, "resized copies made for older photos");
            }
            return;
        }
        for photo in batch {
            after = photo.id;
            let bytes = match store.photo_bytes(&photo.sha256).await {
                Ok(Some((_, bytes))) => bytes,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read a photo to resize");
                    return;
                }
            };
            let made = tokio::task::spawn_blocking(move || prepare(&bytes, "", "").and_then(|p| p.renditions())).await;
            match made {
                Ok(Ok(renditions)) => match store.add_renditions(photo.id, &renditions).await {
                    Ok(()) => done += 1,
                    Err(e) => tracing::warn!(photo = photo.id, error = %e, "cannot store resized copies"),
                },
                Ok(Err(e)) => tracing::warn!(photo = photo.id, error = %e, "cannot make resized copies"),
                Err(e) => tracing::warn!(photo = photo.id, error = %e, "the resizing task failed"),
            }
        }
    }
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
        let e = prepare(&buf, "", "").err().expect("refused");
        assert!(matches!(e, MediaError::Undecodable("JPEG", _)), "{e}");
        assert!(e.to_string().contains("damaged"), "{e}");
    }

    #[test]
    fn renditions_are_made_for_widths_below_the_original_keeping_the_ratio() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(1100, 550, image::Rgba([0, 0, 255, 128])));
        let mut buf = Vec::new();
        img.write_to(&mut Cursor::new(&mut buf), ImageFormat::Png).expect("encode");
        let p = prepare(&buf, "c", "").expect("prepare");
        let r = p.renditions().expect("renditions");
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
    }

    #[test]
    fn xmp_with_a_location_is_recognised() {
        assert!(xmp_has_location(b"<exif:GPSLatitude>35,41.5N</exif:GPSLatitude>"));
        assert!(xmp_has_location(b"<Iptc4xmpCore:Location>Tehran</Iptc4xmpCore:Location>"));
        assert!(!xmp_has_location(b"<dc:creator>Jane</dc:creator>"));
    }
}
