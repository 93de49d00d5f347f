//! The descriptive metadata a photo file carries about itself: caption,
//! headline, credit line, creator, copyright notice, source, date created,
//! keywords and usage terms, read from its IPTC-IIM, XMP and EXIF blocks so the
//! media library can pre-fill its fields (people may change them).
//!
//! Where the blocks are found:
//! - JPEG: EXIF (`APP1` `Exif`), XMP (`APP1` `http://ns.adobe.com/xap/1.0/`,
//!   the main packet; extended XMP is not read) and IPTC-IIM (the `8BIM`
//!   resource `0x0404` of the Photoshop image resources in `APP13`, which may
//!   span several segments);
//! - PNG: EXIF (`eXIf`) and XMP (uncompressed `iTXt` `XML:com.adobe.xmp`);
//! - WebP: the `EXIF` and `XMP ` chunks.
//!
//! Which block wins when they disagree: XMP, then IIM, then EXIF, field by
//! field (the order of the IPTC Photo Metadata Standard and of the Metadata
//! Working Group's guidance for a file whose blocks are in sync). The IIM
//! digest (`8BIM` `0x0425`) that would tell a file whose IIM was changed by a
//! program unaware of XMP is not checked: such files are rare and the uploader
//! sees, and may change, every pre-filled field.
//!
//! IIM text is UTF-8 when record 1:90 (CodedCharacterSet) says `ESC % G`, or
//! when it is valid UTF-8 anyway (many tools write UTF-8 without saying so);
//! otherwise ISO-8859-1. XMP is UTF-8 (its standard's only encoding in files).
//!
//! Location is never read: GPS, IIM city, sublocation, province and country,
//! XMP `photoshop:City`, `Iptc4xmpCore:Location`, `Iptc4xmpExt:LocationShown`
//! and the creator's contact address are not in [`Embedded`] at all (and the
//! upload removes them from the stored file).
//!
//! Nothing here fails: a block that cannot be read is left out, and why is
//! said in [`Read::problems`] for the caller to log.

use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use serde::Serialize;

/// Most keywords kept from a file.
pub const MAX_KEYWORDS: usize = 50;
/// Longest keyword, in characters.
pub const MAX_KEYWORD: usize = 100;
/// Longest text of one field read from a file, in characters (the library's
/// own limits are shorter; this only bounds what is carried around).
const MAX_FIELD: usize = 4_000;
/// Largest XMP packet read (a packet with an embedded thumbnail is a few
/// hundred kilobytes; the whole JPEG segment is at most 64 KB anyway).
const MAX_XMP: usize = 1 << 20;
/// Deepest XML nesting read in an XMP packet.
const MAX_DEPTH: usize = 64;

/// The descriptive fields of a photo besides its caption and credit, as the
/// media library keeps them and the wire hands them on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PhotoDetails {
    /// A short synopsis of the picture (IPTC Headline).
    pub headline: String,
    /// Who took it (IPTC Creator / By-line, EXIF Artist); several names joined by ", ".
    pub creator: String,
    /// The copyright notice (IPTC Copyright Notice, EXIF Copyright).
    pub copyright: String,
    /// Who supplied it (IPTC Source: an agency, a photographer's own name).
    pub source: String,
    /// When it was taken: ISO 8601, a date (`2024-07-22`), a year or month
    /// (`2024`, `2024-07`) or a date and time with its offset when known
    /// (`2024-07-22T10:30:00+03:30`); empty when unknown. See [`normalize_date`].
    pub date_created: String,
    /// Keywords, in the file's order, each once.
    pub keywords: Vec<String>,
    /// Rights usage terms (XMP `xmpRights:UsageTerms`).
    pub usage_terms: String,
}

/// What a file says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Embedded {
    /// Caption / description (also the alt text in the library).
    pub caption: String,
    /// Credit line.
    pub credit: String,
    /// The other fields.
    pub details: PhotoDetails,
}

/// The result of reading a file: what was found, and why any block was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Read {
    /// The fields found (empty ones were not).
    pub embedded: Embedded,
    /// One line per block that could not be read, for the log.
    pub problems: Vec<String>,
}

/// Reads the descriptive metadata of a JPEG, PNG or WebP file. Never fails:
/// see [`Read::problems`].
pub fn read(bytes: &[u8]) -> Read {
    let mut problems = Vec::new();
    let blocks = match blocks(bytes) {
        Ok(b) => b,
        Err(e) => {
            problems.push(e);
            Blocks::default()
        }
    };
    let mut found: Vec<Fields> = Vec::new();
    for xmp in &blocks.xmp {
        match parse_xmp(xmp) {
            Ok(f) => found.push(f),
            Err(e) => problems.push(format!("XMP: {e}")),
        }
    }
    if !blocks.irb.is_empty() {
        match iim_of_irb(&blocks.irb).and_then(|iim| iim.map(parse_iim).transpose()) {
            Ok(Some(f)) => found.push(f),
            Ok(None) => {}
            Err(e) => problems.push(format!("IPTC-IIM: {e}")),
        }
    }
    if let Some(exif) = blocks.exif {
        match parse_exif(exif) {
            Ok(f) => found.push(f),
            Err(e) => problems.push(format!("EXIF: {e}")),
        }
    }
    Read { embedded: merge(found), problems }
}

/// Fields of one block, before they are merged.
#[derive(Debug, Default)]
struct Fields {
    caption: String,
    title: String,
    credit: String,
    headline: String,
    creator: Vec<String>,
    copyright: String,
    source: String,
    date_created: String,
    keywords: Vec<String>,
    usage_terms: String,
}

/// The first non-empty value of each field, blocks in order of precedence.
fn merge(found: Vec<Fields>) -> Embedded {
    fn first<'a>(found: &'a [Fields], get: impl Fn(&'a Fields) -> &'a str) -> String {
        found.iter().map(get).map(|v| one_line(v, MAX_FIELD)).find(|v| !v.is_empty()).unwrap_or_default()
    }
    let creator = found
        .iter()
        .map(|f| {
            let names: Vec<String> =
                f.creator.iter().map(|c| one_line(c, MAX_FIELD)).filter(|c| !c.is_empty()).collect();
            names.join(", ")
        })
        .find(|c| !c.is_empty())
        .unwrap_or_default();
    let keywords = found
        .iter()
        .map(|f| clean_keywords(f.keywords.iter().map(String::as_str)))
        .find(|k| !k.is_empty())
        .unwrap_or_default();
    let date_created = found.iter().find_map(|f| normalize_date(&f.date_created)).unwrap_or_default();
    // A title stands in for the headline when no block has one.
    let mut headline = first(&found, |f| &f.headline);
    if headline.is_empty() {
        headline = first(&found, |f| &f.title);
    }
    Embedded {
        caption: first(&found, |f| &f.caption),
        credit: first(&found, |f| &f.credit),
        details: PhotoDetails {
            headline,
            creator,
            copyright: first(&found, |f| &f.copyright),
            source: first(&found, |f| &f.source),
            date_created,
            keywords,
            usage_terms: first(&found, |f| &f.usage_terms),
        },
    }
}

/// `s` as one line: forbidden characters removed ([`crate::text::strip_forbidden`]),
/// whitespace runs made one space, trimmed, at most `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let s = crate::text::strip_forbidden(s);
    let mut out = String::with_capacity(s.len().min(max * 4));
    for (i, word) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    match out.char_indices().nth(max) {
        Some((cut, _)) => out[..cut].trim_end().to_string(),
        None => out,
    }
}

/// Keywords cleaned: each one line of at most [`MAX_KEYWORD`] characters,
/// empty ones and repeats (in any case) dropped, at most [`MAX_KEYWORDS`].
pub fn clean_keywords<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in words {
        let w = one_line(w, MAX_KEYWORD);
        if !w.is_empty() && !out.iter().any(|o| o.to_lowercase() == w.to_lowercase()) {
            out.push(w);
        }
        if out.len() == MAX_KEYWORDS {
            break;
        }
    }
    out
}

/// Keywords as people type them: separated by commas (`,`, the Arabic-script
/// `،`) or semicolons, cleaned by [`clean_keywords`].
pub fn split_keywords(typed: &str) -> Vec<String> {
    clean_keywords(typed.split([',', '،', ';', '\n']))
}

/// A date created in the form the library keeps: ISO 8601 `YYYY`, `YYYY-MM`,
/// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM[:SS]` with an optional offset (`Z` or
/// `±HH:MM`); fractions of seconds are dropped. Also accepts EXIF's
/// `YYYY:MM:DD HH:MM:SS`. `None` if it is none of these or not a real date.
pub fn normalize_date(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (date, rest) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split(['-', ':']).collect();
    let num = |p: &str, len: usize| {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse::<u32>().ok()).flatten()
    };
    let year = num(parts.first()?, 4).filter(|y| *y >= 1000)?;
    let month = match parts.get(1) {
        Some(m) => Some(num(m, 2).filter(|m| (1..=12).contains(m))?),
        None => None,
    };
    let day = match parts.get(2) {
        Some(d) => Some(num(d, 2)?),
        None => None,
    };
    if parts.len() > 3 {
        return None;
    }
    let Some(month) = month else {
        return rest.is_none().then(|| format!("{year:04}"));
    };
    let Some(day) = day else {
        return rest.is_none().then(|| format!("{year:04}-{month:02}"));
    };
    chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let date = format!("{year:04}-{month:02}-{day:02}");
    let Some(rest) = rest else { return Some(date) };
    // The time, then an optional offset.
    let (time, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    let time = time.split('.').next().unwrap_or_default();
    let t: Vec<&str> = time.split(':').collect();
    let (h, m) = (num(t.first()?, 2).filter(|h| *h < 24)?, num(t.get(1)?, 2).filter(|m| *m < 60)?);
    let sec = match t.get(2) {
        Some(s) => num(s, 2).filter(|s| *s < 60)?,
        None => 0,
    };
    if t.len() > 3 {
        return None;
    }
    let offset = match offset {
        None => String::new(),
        Some("Z" | "z") => "Z".into(),
        Some(o) => {
            let sign = &o[..1];
            let hm: Vec<&str> = o[1..].split(':').collect();
            let (oh, om) = match hm.as_slice() {
                [hhmm] if hhmm.len() == 4 && hhmm.is_ascii() => (num(&hhmm[..2], 2)?, num(&hhmm[2..], 2)?),
                [hh] => (num(hh, 2)?, 0),
                [hh, mm] => (num(hh, 2)?, num(mm, 2)?),
                _ => return None,
            };
            if oh > 14 || om > 59 {
                return None;
            }
            format!("{sign}{oh:02}:{om:02}")
        }
    };
    Some(format!("{date}T{h:02}:{m:02}:{sec:02}{offset}"))
}

/// The metadata blocks of a file.
#[derive(Debug, Default)]
struct Blocks<'a> {
    /// EXIF as TIFF data (the first block).
    exif: Option<&'a [u8]>,
    /// XMP packets.
    xmp: Vec<&'a [u8]>,
    /// Photoshop image resources (JPEG `APP13`s, joined).
    irb: Vec<u8>,
}

const EXIF_PREFIX: &[u8] = b"Exif\0\0";
const XMP_PREFIX: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const PHOTOSHOP_PREFIX: &[u8] = b"Photoshop 3.0\0";
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn blocks(b: &[u8]) -> Result<Blocks<'_>, String> {
    if b.starts_with(&[0xFF, 0xD8]) {
        jpeg_blocks(b)
    } else if b.starts_with(PNG_SIGNATURE) {
        png_blocks(b)
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        webp_blocks(b)
    } else {
        Err("not a JPEG, PNG or WebP file".into())
    }
}

/// The metadata segments of a JPEG, up to its first scan. What was found
/// before a damaged segment is kept.
fn jpeg_blocks(b: &[u8]) -> Result<Blocks<'_>, String> {
    let mut out = Blocks::default();
    let mut pos = 2;
    loop {
        if b.get(pos) != Some(&0xFF) {
            return if out_is_empty(&out) { Err(format!("JPEG: no segment marker at byte {pos}")) } else { Ok(out) };
        }
        while b.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = b.get(pos + 1) else { return Ok(out) };
        match marker {
            // Start of scan, end of image: no metadata after them.
            0xDA | 0xD9 => return Ok(out),
            0x01 | 0xD0..=0xD7 => {
                pos += 2;
                continue;
            }
            _ => {}
        }
        let Some(len) = b.get(pos + 2..pos + 4).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) else {
            return Ok(out);
        };
        let Some(data) = b.get(pos + 4..pos + 2 + len.max(2)) else {
            return Err(format!("JPEG: the segment at byte {pos} runs past the end of the file"));
        };
        match marker {
            0xE1 if data.starts_with(EXIF_PREFIX) && out.exif.is_none() => out.exif = Some(&data[EXIF_PREFIX.len()..]),
            0xE1 if data.starts_with(XMP_PREFIX) => out.xmp.push(&data[XMP_PREFIX.len()..]),
            0xED if data.starts_with(PHOTOSHOP_PREFIX) => out.irb.extend_from_slice(&data[PHOTOSHOP_PREFIX.len()..]),
            _ => {}
        }
        pos += 2 + len.max(2);
    }
}

fn out_is_empty(b: &Blocks<'_>) -> bool {
    b.exif.is_none() && b.xmp.is_empty() && b.irb.is_empty()
}

/// The metadata chunks of a PNG, up to `IEND`.
fn png_blocks(b: &[u8]) -> Result<Blocks<'_>, String> {
    let mut out = Blocks::default();
    let mut pos = PNG_SIGNATURE.len();
    while let Some(head) = b.get(pos..pos + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = &head[4..8];
        let Some(data) = b.get(pos + 8..(pos + 8).saturating_add(len)) else {
            return Err(format!("PNG: the {} chunk runs past the end of the file", String::from_utf8_lossy(kind)));
        };
        match kind {
            b"IEND" => break,
            b"eXIf" if out.exif.is_none() => out.exif = Some(data.strip_prefix(EXIF_PREFIX).unwrap_or(data)),
            b"iTXt" => {
                // keyword \0 compression-flag method language \0 translated-keyword \0 text
                let mut fields = data.splitn(2, |&c| c == 0);
                if fields.next() == Some(b"XML:com.adobe.xmp".as_slice())
                    && let Some(rest) = fields.next()
                {
                    if rest.first() != Some(&0) {
                        return Err("PNG: the XMP is compressed, which is not read".into());
                    }
                    let text = rest.get(2..).unwrap_or_default();
                    let mut tail = text.splitn(3, |&c| c == 0);
                    let (_lang, _translated, xmp) = (tail.next(), tail.next(), tail.next());
                    if let Some(xmp) = xmp {
                        out.xmp.push(xmp);
                    }
                }
            }
            _ => {}
        }
        pos = pos + 12 + len;
    }
    Ok(out)
}

/// The `EXIF` and `XMP ` chunks of a WebP.
fn webp_blocks(b: &[u8]) -> Result<Blocks<'_>, String> {
    let mut out = Blocks::default();
    let mut pos = 12;
    while let Some(head) = b.get(pos..pos + 8) {
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let Some(data) = b.get(pos + 8..(pos + 8).saturating_add(len)) else {
            return Err(format!(
                "WebP: the {} chunk runs past the end of the file",
                String::from_utf8_lossy(&head[..4])
            ));
        };
        match &head[..4] {
            b"EXIF" if out.exif.is_none() => out.exif = Some(data.strip_prefix(EXIF_PREFIX).unwrap_or(data)),
            b"XMP " => out.xmp.push(data),
            _ => {}
        }
        pos = pos + 8 + len + (len & 1);
    }
    Ok(out)
}

/// The IPTC-IIM data (resource `0x0404`) among Photoshop image resources.
fn iim_of_irb(b: &[u8]) -> Result<Option<&[u8]>, String> {
    let cut = || "the Photoshop image resources are cut off".to_string();
    let mut pos = 0;
    // Resources may be followed by padding.
    while pos + 12 <= b.len() && b[pos..].iter().any(|&x| x != 0) {
        let sig = &b[pos..pos + 4];
        if !matches!(sig, b"8BIM" | b"MeSa" | b"PHUT" | b"AgHg" | b"DCSR") {
            return Err(format!("no image resource signature at byte {pos}"));
        }
        let id = u16::from_be_bytes([b[pos + 4], b[pos + 5]]);
        // A Pascal string padded to an even length, its length byte included.
        let name_len = usize::from(*b.get(pos + 6).ok_or_else(cut)?);
        let after_name = pos + 6 + ((name_len + 2) & !1);
        let size = b.get(after_name..after_name + 4).ok_or_else(cut)?;
        let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize;
        let data_start = after_name + 4;
        let data = b.get(data_start..data_start.saturating_add(size)).ok_or_else(cut)?;
        if sig == b"8BIM" && id == 0x0404 {
            return Ok(Some(data));
        }
        pos = data_start + size + (size & 1);
    }
    Ok(None)
}

/// The IIM character set escape for UTF-8 (record 1:90).
const IIM_UTF8: &[u8] = b"\x1b%G";

/// The datasets of IPTC-IIM data, by record and number.
/// One IIM dataset: record, dataset number, data.
type Dataset<'a> = (u8, u8, &'a [u8]);

fn iim_datasets(b: &[u8]) -> Result<Vec<Dataset<'_>>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        if b[pos] != 0x1C {
            // Writers pad with zeros; anything else is damage, after what was read.
            if b[pos..].iter().all(|&x| x == 0) {
                break;
            }
            return Err(format!("no dataset tag at byte {pos}"));
        }
        let head = b.get(pos + 1..pos + 5).ok_or("a dataset header is cut off")?;
        let (record, number) = (head[0], head[1]);
        let len = u16::from_be_bytes([head[2], head[3]]);
        let (len, start) = if len & 0x8000 == 0 {
            (usize::from(len), pos + 5)
        } else {
            // An extended dataset: the next (len & 0x7FFF) bytes hold its length.
            let n = usize::from(len & 0x7FFF);
            if n == 0 || n > 4 {
                return Err(format!("an extended dataset length of {n} bytes"));
            }
            let bytes = b.get(pos + 5..pos + 5 + n).ok_or("a dataset length is cut off")?;
            (bytes.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x)), pos + 5 + n)
        };
        let data = b.get(start..start.saturating_add(len)).ok_or("a dataset runs past the end of the block")?;
        out.push((record, number, data));
        pos = start + len;
    }
    Ok(out)
}

/// The descriptive fields of IPTC-IIM data (record 2), never its location datasets.
fn parse_iim(b: &[u8]) -> Result<Fields, String> {
    let datasets = iim_datasets(b)?;
    let utf8 = datasets.iter().any(|(r, n, d)| *r == 1 && *n == 90 && d.starts_with(IIM_UTF8));
    let text = |d: &[u8]| -> String {
        if utf8 {
            return String::from_utf8_lossy(d).into_owned();
        }
        match std::str::from_utf8(d) {
            Ok(s) => s.to_string(),
            // ISO-8859-1: each byte is the code point.
            Err(_) => d.iter().map(|&c| char::from(c)).collect(),
        }
    };
    let mut f = Fields::default();
    let (mut date, mut time) = (String::new(), String::new());
    for (record, number, data) in datasets {
        if record != 2 {
            continue;
        }
        match number {
            5 => f.title = text(data),
            25 => f.keywords.push(text(data)),
            55 => date = text(data),
            60 => time = text(data),
            80 => f.creator.push(text(data)),
            105 => f.headline = text(data),
            110 => f.credit = text(data),
            115 => f.source = text(data),
            116 => f.copyright = text(data),
            120 => f.caption = text(data),
            // City (90), sublocation (92), province (95), country (100, 101) and the rest: not read.
            _ => {}
        }
    }
    f.date_created = iim_date(&date, &time);
    Ok(f)
}

/// IIM date `CCYYMMDD` and time `HHMMSS±HHMM` as ISO 8601 (empty if there is no date).
fn iim_date(date: &str, time: &str) -> String {
    let (date, time) = (date.trim(), time.trim());
    if date.len() != 8 || !date.is_ascii() {
        return String::new();
    }
    let day = format!("{}-{}-{}", &date[..4], &date[4..6], &date[6..]);
    // "00" month or day: not known.
    let day = match (&date[4..6], &date[6..]) {
        ("00", _) => date[..4].to_string(),
        (_, "00") => format!("{}-{}", &date[..4], &date[4..6]),
        _ => day,
    };
    if day.len() != 10 || time.len() < 6 || !time.is_ascii() {
        return day;
    }
    let offset = match time.get(6..) {
        Some(o) if o.len() == 5 => format!("{}:{}", &o[..3], &o[3..]),
        _ => String::new(),
    };
    format!("{day}T{}:{}:{}{offset}", &time[..2], &time[2..4], &time[4..6])
}

/// The descriptive fields of EXIF (TIFF) data: description, artist, copyright
/// and the original date; never the GPS directory.
fn parse_exif(raw: &[u8]) -> Result<Fields, String> {
    use exif::{In, Tag, Value};
    let exif = exif::Reader::new().read_raw(raw.to_vec()).map_err(|e| e.to_string())?;
    let ascii = |tag: Tag| -> String {
        match exif.get_field(tag, In::PRIMARY).map(|f| &f.value) {
            // Several strings (Copyright: photographer, then editor): the first non-empty.
            Some(Value::Ascii(parts)) => parts
                .iter()
                .map(|p| String::from_utf8_lossy(p).trim_end_matches('\0').trim().to_string())
                .find(|p| !p.is_empty())
                .unwrap_or_default(),
            _ => String::new(),
        }
    };
    let mut f = Fields { caption: ascii(Tag::ImageDescription), copyright: ascii(Tag::Copyright), ..Fields::default() };
    let artist = ascii(Tag::Artist);
    // Several artists are separated by semicolons.
    f.creator = artist.split(';').map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
    let date = ascii(Tag::DateTimeOriginal);
    if !date.is_empty() {
        f.date_created = format!("{date}{}", ascii(Tag::OffsetTimeOriginal));
    }
    Ok(f)
}

const RDF: &[u8] = b"http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const DC: &[u8] = b"http://purl.org/dc/elements/1.1/";
const PHOTOSHOP: &[u8] = b"http://ns.adobe.com/photoshop/1.0/";
const XMP_RIGHTS: &[u8] = b"http://ns.adobe.com/xap/1.0/rights/";
const IPTC_CORE: &[u8] = b"http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/";

/// The XMP properties read, by namespace and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prop {
    Description,
    Title,
    Creator,
    Rights,
    Subject,
    Headline,
    Credit,
    Source,
    DateCreated,
    UsageTerms,
    AltText,
}

fn prop(ns: &[u8], name: &[u8]) -> Option<Prop> {
    Some(match (ns, name) {
        (DC, b"description") => Prop::Description,
        (DC, b"title") => Prop::Title,
        (DC, b"creator") => Prop::Creator,
        (DC, b"rights") => Prop::Rights,
        (DC, b"subject") => Prop::Subject,
        (PHOTOSHOP, b"Headline") => Prop::Headline,
        (PHOTOSHOP, b"Credit") => Prop::Credit,
        (PHOTOSHOP, b"Source") => Prop::Source,
        (PHOTOSHOP, b"DateCreated") => Prop::DateCreated,
        (XMP_RIGHTS, b"UsageTerms") => Prop::UsageTerms,
        (IPTC_CORE, b"AltTextAccessibility") => Prop::AltText,
        // photoshop:City, State, Country, Iptc4xmpCore:Location,
        // CreatorContactInfo, Iptc4xmpExt:LocationShown/Created, ...: not read.
        _ => return None,
    })
}

/// A property's value: its text, or its `rdf:li` items with their language.
#[derive(Debug, Default)]
struct Value {
    text: String,
    items: Vec<(Option<String>, String)>,
}

impl Value {
    /// A language alternative's default (`x-default`, else the first), or the simple text.
    fn alt(&self) -> String {
        if self.items.is_empty() {
            return self.text.clone();
        }
        self.items
            .iter()
            .find(|(lang, _)| lang.as_deref() == Some("x-default"))
            .or_else(|| self.items.first())
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// A list's items, or the simple text as one.
    fn list(&self) -> Vec<String> {
        if self.items.is_empty() {
            vec![self.text.clone()]
        } else {
            self.items.iter().map(|(_, v)| v.clone()).collect()
        }
    }
}

fn set(f: &mut Fields, prop: Prop, v: &Value) {
    match prop {
        Prop::Description => f.caption = v.alt(),
        Prop::AltText if f.caption.trim().is_empty() => f.caption = v.alt(),
        Prop::AltText => {}
        Prop::Title => f.title = v.alt(),
        Prop::Creator => f.creator = v.list(),
        Prop::Rights => f.copyright = v.alt(),
        Prop::Subject => f.keywords = v.list(),
        Prop::Headline => f.headline = v.alt(),
        Prop::Credit => f.credit = v.alt(),
        Prop::Source => f.source = v.alt(),
        Prop::DateCreated => f.date_created = v.alt(),
        Prop::UsageTerms => f.usage_terms = v.alt(),
    }
}

/// An element's expanded name, as the stack remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name {
    ns: Vec<u8>,
    local: Vec<u8>,
}

impl Name {
    fn is_rdf(&self, local: &[u8]) -> bool {
        self.ns == RDF && self.local == local
    }
}

/// The properties of an XMP packet: those of every top-level `rdf:Description`
/// (as elements or as attributes), simple, language alternatives or lists.
fn parse_xmp(packet: &[u8]) -> Result<Fields, String> {
    if packet.len() > MAX_XMP {
        return Err(format!("the packet is {} bytes, more than the {MAX_XMP} read", packet.len()));
    }
    let text = std::str::from_utf8(packet).map_err(|e| format!("not UTF-8: {e}"))?;
    // A UTF-8 byte order mark may start the packet.
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut f = Fields::default();
    let mut stack: Vec<Name> = Vec::new();
    // The property being read: which, at what depth, its value, and the open rdf:li.
    let mut current: Option<(Prop, usize, Value)> = None;
    let mut li: Option<(Option<String>, String)> = None;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(e) => {
                let ns = match ns {
                    ResolveResult::Bound(n) => n.into_inner().to_vec(),
                    _ => Vec::new(),
                };
                let name = Name { ns, local: e.local_name().into_inner().to_vec() };
                let depth = stack.len();
                if depth >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                let parent = stack.last();
                let grandparent = depth.checked_sub(2).and_then(|i| stack.get(i));
                let top_description = |p: Option<&Name>, g: Option<&Name>| {
                    p.is_some_and(|p| p.is_rdf(b"Description")) && g.is_some_and(|g| g.is_rdf(b"RDF"))
                };
                if name.is_rdf(b"Description") && parent.is_some_and(|p| p.is_rdf(b"RDF")) {
                    description_attributes(&reader, &e, &mut f)?;
                } else if top_description(parent, grandparent) {
                    current = prop(&name.ns, &name.local).map(|p| (p, depth, Value::default()));
                } else if name.is_rdf(b"li")
                    && let Some((_, prop_depth, _)) = &current
                    // rdf:li of the property's own container (not of a nested structure).
                    && depth == prop_depth + 2
                {
                    let lang =
                        e.attributes().flatten().find(|a| a.key.as_ref() == b"xml:lang").and_then(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(Cow::into_owned)
                        });
                    li = Some((lang, String::new()));
                }
                stack.push(name);
            }
            Event::End(_) => {
                let Some(_) = stack.pop() else { return Err("an end tag without its start".into()) };
                let depth = stack.len();
                match &mut current {
                    Some((_, prop_depth, value)) if depth == *prop_depth + 2 => {
                        if let Some(item) = li.take() {
                            value.items.push(item);
                        }
                    }
                    Some((p, prop_depth, value)) if depth == *prop_depth => {
                        set(&mut f, *p, value);
                        current = None;
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|e| e.to_string())?;
                push_text(&mut current, &mut li, stack.len(), &s);
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                push_text(&mut current, &mut li, stack.len(), &s);
            }
            Event::GeneralRef(r) => {
                let s = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| e.to_string())?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("unknown entity `&{name};`"))?
                            .to_string()
                    }
                };
                push_text(&mut current, &mut li, stack.len(), &s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(f)
}

/// Text inside the property being read: its `rdf:li`'s, or its own when it is simple.
fn push_text(
    current: &mut Option<(Prop, usize, Value)>,
    li: &mut Option<(Option<String>, String)>,
    depth: usize,
    s: &str,
) {
    if let Some((_, text)) = li {
        text.push_str(s);
    } else if let Some((_, prop_depth, value)) = current
        && depth == *prop_depth + 1
    {
        value.text.push_str(s);
    }
}

/// Simple properties written as attributes of `rdf:Description`.
fn description_attributes(reader: &NsReader<&[u8]>, e: &BytesStart<'_>, f: &mut Fields) -> Result<(), String> {
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let (ns, local) = reader.resolver().resolve_attribute(a.key);
        let ResolveResult::Bound(ns) = ns else { continue };
        if let Some(p) = prop(ns.into_inner(), local.into_inner()) {
            let text = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| e.to_string())?.into_owned();
            set(f, p, &Value { text, items: Vec::new() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A JPEG with only the given segments (marker, data) and no picture.
    fn jpeg(segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        for (marker, data) in segments {
            out.extend_from_slice(&[0xFF, *marker]);
            out.extend_from_slice(&u16::try_from(data.len() + 2).expect("short").to_be_bytes());
            out.extend_from_slice(data);
        }
        out.extend_from_slice(&[0xFF, 0xD9]);
        out
    }

    fn dataset(record: u8, number: u8, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1C, record, number];
        out.extend_from_slice(&u16::try_from(data.len()).expect("short").to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    /// An APP13 segment's data holding `iim` as resource 0x0404.
    fn app13(iim: &[u8]) -> Vec<u8> {
        let mut out = PHOTOSHOP_PREFIX.to_vec();
        // Another resource first, with an odd-sized name and data (both padded).
        out.extend_from_slice(b"8BIM\x04\x0c\x03abc");
        out.extend_from_slice(&3u32.to_be_bytes());
        out.extend_from_slice(b"xyz\0");
        out.extend_from_slice(b"8BIM\x04\x04\0\0");
        out.extend_from_slice(&u32::try_from(iim.len()).expect("short").to_be_bytes());
        out.extend_from_slice(iim);
        if iim.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    fn app1_xmp(xmp: &str) -> Vec<u8> {
        let mut out = XMP_PREFIX.to_vec();
        out.extend_from_slice(xmp.as_bytes());
        out
    }

    const XMP: &str = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
   xmlns:ps="http://ns.adobe.com/photoshop/1.0/" xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"
   ps:Credit="Agency &amp; Co" ps:City="Tehran">
  <dc:description><rdf:Alt><rdf:li xml:lang="fa">زیرنویس</rdf:li><rdf:li xml:lang="x-default">Harbour at dawn</rdf:li></rdf:Alt></dc:description>
  <dc:creator><rdf:Seq><rdf:li>Jane Roe</rdf:li><rdf:li>Joe Bloggs</rdf:li></rdf:Seq></dc:creator>
  <dc:subject><rdf:Bag><rdf:li>harbour</rdf:li><rdf:li>dawn</rdf:li><rdf:li>Harbour</rdf:li></rdf:Bag></dc:subject>
  <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© 2024 Jane Roe</rdf:li></rdf:Alt></dc:rights>
  <ps:Headline>Dawn</ps:Headline>
  <ps:DateCreated>2024-07-22T06:15:30.25+03:30</ps:DateCreated>
  <xmpRights:UsageTerms><rdf:Alt><rdf:li xml:lang="x-default">Editorial use only</rdf:li></rdf:Alt></xmpRights:UsageTerms>
  <Iptc4xmpCore:Location xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/">Port</Iptc4xmpCore:Location>
 </rdf:Description>
</rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;

    #[test]
    fn xmp_alternatives_lists_and_attributes_are_read_and_location_is_not() {
        let r = read(&jpeg(&[(0xE1, app1_xmp(XMP))]));
        assert_eq!(r.problems, Vec::<String>::new());
        let e = r.embedded;
        assert_eq!(e.caption, "Harbour at dawn", "x-default wins over the first item");
        assert_eq!(e.credit, "Agency & Co");
        assert_eq!(e.details.creator, "Jane Roe, Joe Bloggs");
        assert_eq!(e.details.keywords, ["harbour", "dawn"], "repeats in another case are dropped");
        assert_eq!(e.details.copyright, "© 2024 Jane Roe");
        assert_eq!(e.details.headline, "Dawn");
        assert_eq!(e.details.date_created, "2024-07-22T06:15:30+03:30");
        assert_eq!(e.details.usage_terms, "Editorial use only");
        let all = format!("{e:?}");
        assert!(!all.contains("Tehran") && !all.contains("Port"), "{all}");
    }

    #[test]
    fn iim_is_read_as_utf8_when_record_1_90_says_so_else_as_latin1() {
        let mut utf8 = dataset(1, 90, IIM_UTF8);
        utf8.extend(dataset(2, 120, "عکس روز: بندر در سپیده‌دم".as_bytes()));
        utf8.extend(dataset(2, 80, b"Jane Roe"));
        utf8.extend(dataset(2, 25, b"one"));
        utf8.extend(dataset(2, 25, b"two"));
        utf8.extend(dataset(2, 55, b"20240722"));
        utf8.extend(dataset(2, 60, b"061530+0330"));
        utf8.extend(dataset(2, 90, b"Tehran"));
        utf8.extend(dataset(2, 116, b"(c) Jane"));
        let e = read(&jpeg(&[(0xED, app13(&utf8))])).embedded;
        assert_eq!(e.caption, "عکس روز: بندر در سپیده‌دم");
        assert_eq!(e.details.creator, "Jane Roe");
        assert_eq!(e.details.keywords, ["one", "two"]);
        assert_eq!(e.details.date_created, "2024-07-22T06:15:30+03:30");
        assert_eq!(e.details.copyright, "(c) Jane");
        assert!(!format!("{e:?}").contains("Tehran"));
        // Without 1:90, bytes that are not UTF-8 are ISO-8859-1.
        let latin = dataset(2, 110, b"Caf\xe9 Photo");
        assert_eq!(read(&jpeg(&[(0xED, app13(&latin))])).embedded.credit, "Café Photo");
    }

    #[test]
    fn xmp_wins_over_iim_which_wins_over_exif_field_by_field() {
        let mut iim = dataset(2, 120, b"IIM caption");
        iim.extend(dataset(2, 105, b"IIM headline"));
        iim.extend(dataset(2, 115, b"IIM source"));
        let xmp = XMP.replace("<ps:Headline>Dawn</ps:Headline>", "");
        let r = read(&jpeg(&[(0xE1, app1_xmp(&xmp)), (0xED, app13(&iim))]));
        assert_eq!(r.embedded.caption, "Harbour at dawn");
        assert_eq!(r.embedded.details.headline, "IIM headline", "XMP has none");
        assert_eq!(r.embedded.details.source, "IIM source");
    }

    #[test]
    fn a_damaged_block_is_left_out_and_the_others_are_read() {
        let mut iim = dataset(2, 120, b"caption");
        iim.extend([0x1C, 2, 80, 0x00, 0x40, b'x']);
        let r = read(&jpeg(&[(0xE1, app1_xmp("<x:xmpmeta><unclosed")), (0xED, app13(&iim))]));
        assert_eq!(r.embedded, Embedded::default());
        assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
        assert!(r.problems[0].starts_with("XMP: "), "{:?}", r.problems);
        assert!(r.problems[1].starts_with("IPTC-IIM: "), "{:?}", r.problems);
        assert_eq!(read(b"GIF89a").problems, ["not a JPEG, PNG or WebP file"]);
    }

    #[test]
    fn png_and_webp_blocks_are_found() {
        let packet = XMP.as_bytes();
        let mut itxt = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
        itxt.extend_from_slice(packet);
        let mut png = PNG_SIGNATURE.to_vec();
        for (kind, data) in [(b"iTXt", itxt.as_slice()), (b"IEND", &[][..])] {
            png.extend_from_slice(&u32::try_from(data.len()).expect("short").to_be_bytes());
            png.extend_from_slice(kind);
            png.extend_from_slice(data);
            png.extend_from_slice(&[0; 4]);
        }
        assert_eq!(read(&png).embedded.details.headline, "Dawn");
        let mut webp = b"RIFF\0\0\0\0WEBP".to_vec();
        let mut chunk = packet.to_vec();
        chunk.push(b' ');
        webp.extend_from_slice(b"XMP ");
        webp.extend_from_slice(&u32::try_from(chunk.len()).expect("short").to_le_bytes());
        webp.extend_from_slice(&chunk);
        assert_eq!(read(&webp).embedded.caption, "Harbour at dawn");
    }

    /// EXIF (TIFF) with the given ASCII fields of the primary image and a GPS latitude.
    fn exif(fields: &[(exif::Tag, Vec<Vec<u8>>)]) -> Vec<u8> {
        use exif::{Field, In, Rational, Tag, Value};
        let owned: Vec<Field> = fields
            .iter()
            .map(|(tag, parts)| Field { tag: *tag, ifd_num: In::PRIMARY, value: Value::Ascii(parts.clone()) })
            .chain([Field {
                tag: Tag::GPSLatitude,
                ifd_num: In::PRIMARY,
                value: Value::Rational(vec![Rational { num: 37, denom: 1 }; 3]),
            }])
            .collect();
        let mut w = exif::experimental::Writer::new();
        for f in &owned {
            w.push_field(f);
        }
        let mut out = std::io::Cursor::new(Vec::new());
        w.write(&mut out, false).expect("write EXIF");
        out.into_inner()
    }

    #[test]
    fn exif_description_artists_copyright_and_date_are_read_never_gps() {
        use exif::Tag;
        let raw = exif(&[
            (Tag::ImageDescription, vec![b"Harbour at dawn".to_vec()]),
            (Tag::Artist, vec![b"Jane Roe; Joe Bloggs".to_vec()]),
            // Photographer's copyright, then the editor's.
            (Tag::Copyright, vec![b"(c) Jane Roe".to_vec(), b"(c) Editor".to_vec()]),
            (Tag::DateTimeOriginal, vec![b"2024:07:22 06:15:30".to_vec()]),
            (Tag::OffsetTimeOriginal, vec![b"+03:30".to_vec()]),
        ]);
        let mut app1 = EXIF_PREFIX.to_vec();
        app1.extend_from_slice(&raw);
        let r = read(&jpeg(&[(0xE1, app1)]));
        assert_eq!(r.problems, Vec::<String>::new());
        let e = r.embedded;
        assert_eq!(e.caption, "Harbour at dawn");
        assert_eq!(e.details.creator, "Jane Roe, Joe Bloggs");
        assert_eq!(e.details.copyright, "(c) Jane Roe");
        assert_eq!(e.details.date_created, "2024-07-22T06:15:30+03:30");
        assert!(!format!("{e:?}").contains("37"), "{e:?}");
        // The same block in a WebP chunk (with or without the JPEG prefix) and a PNG eXIf.
        let mut webp = b"RIFF\0\0\0\0WEBPEXIF".to_vec();
        webp.extend_from_slice(&u32::try_from(raw.len()).expect("short").to_le_bytes());
        webp.extend_from_slice(&raw);
        assert_eq!(read(&webp).embedded.caption, "Harbour at dawn");
        // Damaged EXIF is left out and named.
        let r = read(&jpeg(&[(0xE1, b"Exif\0\0MM\0*garbage".to_vec())]));
        assert_eq!(r.embedded, Embedded::default());
        assert!(r.problems[0].starts_with("EXIF: "), "{:?}", r.problems);
    }

    #[test]
    fn dates_are_normalized_or_refused() {
        let n = |s: &str| normalize_date(s);
        assert_eq!(n("2024-07-22").as_deref(), Some("2024-07-22"));
        assert_eq!(n("2024").as_deref(), Some("2024"));
        assert_eq!(n("2024-07").as_deref(), Some("2024-07"));
        assert_eq!(n("2024:07:22 06:15:30").as_deref(), Some("2024-07-22T06:15:30"));
        assert_eq!(n("2024:07:22 06:15:30+03:30").as_deref(), Some("2024-07-22T06:15:30+03:30"));
        assert_eq!(n("2024-07-22T06:15Z").as_deref(), Some("2024-07-22T06:15:00Z"));
        assert_eq!(n("2024-07-22T06:15:00-0500").as_deref(), Some("2024-07-22T06:15:00-05:00"));
        for bad in ["", "yesterday", "2024-02-30", "2024-13", "24-07-22", "2024-07-22T25:00", "2024-07-22T06:15+99:00"]
        {
            assert_eq!(n(bad), None, "{bad}");
        }
        assert_eq!(iim_date("20240700", ""), "2024-07");
    }

    #[test]
    fn keywords_are_split_on_latin_and_arabic_commas() {
        assert_eq!(split_keywords("tehran, بندر، dawn; ,Dawn"), ["tehran", "بندر", "dawn"]);
        assert_eq!(one_line("  a\u{1}b \n c ", 10), "ab c");
        assert_eq!(one_line("abcdef", 3), "abc");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600), kind in 0..4u8) {
            let mut bytes = match kind {
                0 => vec![0xFF, 0xD8],
                1 => PNG_SIGNATURE.to_vec(),
                2 => b"RIFF\0\0\0\0WEBP".to_vec(),
                _ => Vec::new(),
            };
            bytes.extend(&body);
            let _ = read(&bytes);
            let _ = iim_datasets(&body);
            let _ = iim_of_irb(&body);
            let _ = parse_xmp(&body);
        }

        #[test]
        fn arbitrary_segments_never_panic(
            marker in prop_oneof![Just(0xE1u8), Just(0xEDu8)],
            body in proptest::collection::vec(any::<u8>(), 0..400),
            prefix in 0..3u8,
        ) {
            let mut data = match prefix {
                0 => PHOTOSHOP_PREFIX.to_vec(),
                1 => XMP_PREFIX.to_vec(),
                _ => EXIF_PREFIX.to_vec(),
            };
            data.extend(&body);
            let _ = read(&jpeg(&[(marker, data)]));
        }

        #[test]
        fn dates_never_panic(s in "\\PC{0,30}") {
            let _ = normalize_date(&s);
        }
    }
}
