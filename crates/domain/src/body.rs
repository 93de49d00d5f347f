//! Story bodies as text and blocks: embeds, inline photos and galleries that
//! stand as blocks of their own inside a body.
//!
//! # Syntax
//!
//! In **Markdown** and **Text** bodies a block is a paragraph of one line
//! standing alone (a blank line, or the start or end of the body, before
//! and after it; in Markdown never inside a fenced code block, and indented
//! by at most three spaces):
//!
//! | line | block |
//! |---|---|
//! | `https://www.youtube.com/watch?v=dQw4w9WgXcQ` | an **embed**: the bare `https` URL of an allowed provider (see [`PROVIDERS`] and [`recognize`]), as WordPress and Ghost do |
//! | `![Caption](photo:123 "Credit")` | an **inline photo** of the media library (id 123) with the caption and credit of this use; both optional (`![](photo:123)`): empty ones fall back to the library's |
//! | `gallery:45` | a **gallery** (id 45) |
//!
//! Anything else (a URL of another site, `http://`, a URL inside a sentence
//! or a list item) stays text and is rendered as before.
//!
//! In **HTML** bodies an `<iframe>` whose `src` is a provider's player on the
//! allowed list ([`recognize_player`]) becomes the same embed; any other
//! iframe is dropped by the sanitizer as before. A `<p>` holding only one of
//! the lines above (`<p>gallery:45</p>`, `<p>https://youtu.be/…</p>`) is that
//! block too.
//!
//! # Rendering
//!
//! The domain does no I/O, so what blocks name is gathered first: [`blocks`]
//! lists them, the caller (storage, at save) reads the photos, embed
//! metadata and galleries into a [`Context`], [`missing`] says which ids are
//! unknown (a save refuses those: field `body`), and [`render`] makes the
//! self-contained, sanitized HTML stored as `body_html` (what pages, feeds,
//! ninjs, NewsML-G2 and the API reuse):
//!
//! - an embed is a click-to-load placeholder that requests nothing from the
//!   third party: `<figure class="embed embed-video" data-embed="youtube"
//!   data-embed-src="PLAYER">`, our own copy of its thumbnail if any, and a
//!   `<figcaption>` with the provider's name and a plain link to the original
//!   whose text is the title. The site's script (`/static/embeds.js`) adds a
//!   "Load content from PROVIDER" button that swaps in the iframe; feeds and
//!   readers without JavaScript keep the link. [`providers_in`] finds the
//!   providers of rendered HTML (the page's `frame-src`).
//! - a photo is `<figure class="body-photo">` with a `<picture>` of its
//!   renditions (like the lead photo), `src` under `/media/`, caption
//!   (`dir="auto"`) and credit escaped.
//! - a gallery is whatever its renderer put in [`Context::galleries`] (the
//!   galleries module fills it); an id missing there is unknown.

use std::collections::HashMap;

use crate::BodyFormat;
use crate::html::escape;

/// How a provider's player is framed (the placeholder's shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A 16:9 video player.
    Video,
    /// A post (tweet, Instagram, Facebook, TikTok, Telegram): tall, fixed height.
    Post,
    /// An audio player, a short strip.
    Audio,
}

impl Frame {
    /// CSS class of the placeholder.
    pub fn class(self) -> &'static str {
        match self {
            Frame::Video => "embed-video",
            Frame::Post => "embed-post",
            Frame::Audio => "embed-audio",
        }
    }
}

/// A third party whose content may be embedded.
#[derive(Debug, PartialEq, Eq)]
pub struct Provider {
    /// Stable key (`youtube`, `vimeo`, `x`, ...), in `data-embed`.
    pub key: &'static str,
    /// Its name for readers ("YouTube").
    pub name: &'static str,
    /// Its oEmbed endpoint (JSON), when it offers one without an access token.
    pub oembed: Option<&'static str>,
    /// The origin of its player's frame: the page's `frame-src` allows this once embedded.
    pub frame_origin: &'static str,
    /// How its player is framed.
    pub frame: Frame,
}

/// The providers whose URLs become embeds.
pub static PROVIDERS: [Provider; 8] = [
    Provider {
        key: "youtube",
        name: "YouTube",
        oembed: Some("https://www.youtube.com/oembed"),
        frame_origin: "https://www.youtube-nocookie.com",
        frame: Frame::Video,
    },
    Provider {
        key: "vimeo",
        name: "Vimeo",
        oembed: Some("https://vimeo.com/api/oembed.json"),
        frame_origin: "https://player.vimeo.com",
        frame: Frame::Video,
    },
    Provider {
        key: "x",
        name: "X",
        oembed: Some("https://publish.twitter.com/oembed"),
        frame_origin: "https://platform.twitter.com",
        frame: Frame::Post,
    },
    // Instagram's and Facebook's oEmbed need an app's access token: their placeholders use the URL.
    Provider {
        key: "instagram",
        name: "Instagram",
        oembed: None,
        frame_origin: "https://www.instagram.com",
        frame: Frame::Post,
    },
    Provider {
        key: "facebook",
        name: "Facebook",
        oembed: None,
        frame_origin: "https://www.facebook.com",
        frame: Frame::Post,
    },
    Provider {
        key: "tiktok",
        name: "TikTok",
        oembed: Some("https://www.tiktok.com/oembed"),
        frame_origin: "https://www.tiktok.com",
        frame: Frame::Post,
    },
    Provider { key: "telegram", name: "Telegram", oembed: None, frame_origin: "https://t.me", frame: Frame::Post },
    Provider {
        key: "soundcloud",
        name: "SoundCloud",
        oembed: Some("https://soundcloud.com/oembed"),
        frame_origin: "https://w.soundcloud.com",
        frame: Frame::Audio,
    },
];

/// The provider with `key`.
pub fn provider(key: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.key == key)
}

/// A recognised embed: whose, the original's address and the player's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embed {
    /// The provider.
    pub provider: &'static Provider,
    /// The original's URL (`https`, normalised, no fragment): the link for
    /// readers and feeds and the key of its stored metadata.
    pub url: String,
    /// The player's URL, framed after the reader's click.
    pub player: String,
}

/// An inline photo: a library photo with the caption and credit of this use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoUse {
    /// The media library's photo id.
    pub id: i64,
    /// Caption of this use (empty: the library's).
    pub caption: String,
    /// Credit of this use (empty: the library's).
    pub credit: String,
}

/// A block standing alone in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A third party's content behind a click-to-load placeholder.
    Embed(Embed),
    /// A photo of the media library.
    Photo(PhotoUse),
    /// A gallery, by id (rendered by the galleries module through [`Context::galleries`]).
    Gallery(i64),
}

/// A piece of a body: source text in the body's format, or a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Source text, rendered by the body's format.
    Text(String),
    /// A block.
    Block(Block),
}

/// An image of ours (under `/media/`) with its size.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Image {
    /// Path under `/media/`.
    pub src: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
}

/// What the server learnt about an embed at save time (oEmbed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EmbedMeta {
    /// Title (empty: the URL stands for it).
    pub title: String,
    /// Our own copy of its thumbnail, if one was fetched.
    pub thumbnail: Option<Image>,
}

/// A library photo as an inline photo shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoData {
    /// The original (or a rendition near 1024 pixels): the `<img>`'s `src`.
    pub image: Image,
    /// The library's caption (used when the block has none).
    pub caption: String,
    /// The library's credit (used when the block has none).
    pub credit: String,
    /// `srcset` of the JPEG renditions and the original; empty when there are none.
    pub srcset: String,
    /// `srcset` of the WebP renditions; empty when there are none.
    pub webp_srcset: String,
}

/// What the blocks of a body name, read beforehand by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Photos by id.
    pub photos: HashMap<i64, PhotoData>,
    /// Embed metadata by [`Embed::url`]; a missing one renders with the URL as title.
    pub embeds: HashMap<String, EmbedMeta>,
    /// Galleries' rendered, self-contained HTML by id (the galleries
    /// module's resolver fills it); a missing id is unknown.
    pub galleries: HashMap<i64, String>,
}

/// A block naming something that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    /// No such photo.
    #[error("There is no photo {0} in the media library (the body's photo:{0}): upload it or choose another.")]
    Photo(i64),
    /// No such gallery.
    #[error("There is no gallery {0} (the body's gallery:{0}).")]
    Gallery(i64),
}

/// How wide an inline photo is shown: the story column (as the lead photo).
pub const PHOTO_SIZES: &str = "(max-width: 860px) calc(100vw - 32px), 816px";

// ----- recognising URLs -----

fn is_id(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 25 && s.bytes().all(|b| b.is_ascii_digit())
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Parses an `https` URL on the default port without user or password.
fn https(raw: &str) -> Option<url::Url> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 2048 || raw.chars().any(char::is_whitespace) {
        return None;
    }
    let u = url::Url::parse(raw).ok()?;
    (u.scheme() == "https" && u.port().is_none() && u.username().is_empty() && u.password().is_none()).then_some(())?;
    u.host_str()?;
    Some(u)
}

fn segments(u: &url::Url) -> Vec<&str> {
    u.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default()
}

fn query(u: &url::Url, key: &str) -> Option<String> {
    u.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

fn embed(key: &str, url: String, player: String) -> Option<Embed> {
    Some(Embed { provider: provider(key)?, url, player })
}

fn youtube(id: &str) -> Option<Embed> {
    is_id(id, 11, 11).then_some(())?;
    embed(
        "youtube",
        format!("https://www.youtube.com/watch?v={id}"),
        format!("https://www.youtube-nocookie.com/embed/{id}"),
    )
}

fn vimeo(id: &str) -> Option<Embed> {
    is_digits(id).then_some(())?;
    embed("vimeo", format!("https://vimeo.com/{id}"), format!("https://player.vimeo.com/video/{id}?dnt=1"))
}

fn tweet(user: &str, id: &str) -> Option<Embed> {
    (is_id(user, 1, 15) && is_digits(id)).then_some(())?;
    embed(
        "x",
        format!("https://x.com/{user}/status/{id}"),
        format!("https://platform.twitter.com/embed/Tweet.html?id={id}&dnt=true"),
    )
}

fn instagram(kind: &str, code: &str) -> Option<Embed> {
    (matches!(kind, "p" | "reel" | "tv") && is_id(code, 5, 40)).then_some(())?;
    embed(
        "instagram",
        format!("https://www.instagram.com/{kind}/{code}/"),
        format!("https://www.instagram.com/{kind}/{code}/embed/"),
    )
}

fn facebook_page(u: &url::Url) -> Option<Embed> {
    let s = segments(u);
    let video = match s.as_slice() {
        [page, "posts", id] | [page, "videos", id] if is_id(page, 1, 80) && is_id(id, 1, 80) => s[1] == "videos",
        ["watch"] => is_digits(&query(u, "v")?),
        ["reel", id] if is_digits(id) => true,
        ["permalink.php" | "story.php"] => is_digits(&query(u, "story_fbid")?) && is_digits(&query(u, "id")?),
        ["photo" | "photo.php"] => is_digits(&query(u, "fbid")?),
        _ => return None,
    };
    let mut original = u.clone();
    original.set_fragment(None);
    let _ = original.set_host(Some("www.facebook.com"));
    if !matches!(s.first(), Some(&("watch" | "permalink.php" | "story.php" | "photo" | "photo.php"))) {
        original.set_query(None);
    }
    let url = original.to_string();
    let plugin = if video { "video" } else { "post" };
    let player = format!("https://www.facebook.com/plugins/{plugin}.php?href={}", encode(&url));
    embed("facebook", url, player)
}

fn tiktok(id: &str, user: Option<&str>) -> Option<Embed> {
    is_digits(id).then_some(())?;
    let url = match user {
        Some(u) => {
            let name = u.strip_prefix('@')?;
            (is_id(name, 1, 40) || name.split('.').all(|p| is_id(p, 1, 40))).then_some(())?;
            format!("https://www.tiktok.com/{u}/video/{id}")
        }
        None => format!("https://www.tiktok.com/embed/v2/{id}"),
    };
    embed("tiktok", url, format!("https://www.tiktok.com/embed/v2/{id}"))
}

fn telegram(channel: &str, post: &str) -> Option<Embed> {
    (is_id(channel, 4, 32) && !channel.contains('-') && is_digits(post)).then_some(())?;
    embed("telegram", format!("https://t.me/{channel}/{post}"), format!("https://t.me/{channel}/{post}?embed=1"))
}

/// SoundCloud paths that are the site's own pages, not a user's.
const SOUNDCLOUD_RESERVED: [&str; 9] =
    ["discover", "search", "stream", "upload", "you", "settings", "charts", "pages", "mobile"];

fn soundcloud(u: &url::Url) -> Option<Embed> {
    let s = segments(u);
    let ok = match s.as_slice() {
        [user, track] => !SOUNDCLOUD_RESERVED.contains(user) && *track != "sets" && is_id(track, 1, 255),
        [user, "sets", set] => !SOUNDCLOUD_RESERVED.contains(user) && is_id(set, 1, 255),
        _ => false,
    };
    (ok && s.iter().all(|p| is_id(p, 1, 255))).then_some(())?;
    let url = format!("https://soundcloud.com/{}", s.join("/"));
    let player = format!("https://w.soundcloud.com/player/?url={}", encode(&url));
    embed("soundcloud", url, player)
}

/// The embed a pasted URL names: `https` only, the providers' own hosts only
/// (no lookalikes, no other port, no user in the address) and a path that is
/// a post, video or track — otherwise `None`, and the URL stays a link.
pub fn recognize(raw: &str) -> Option<Embed> {
    let u = https(raw)?;
    let host = u.host_str()?.to_ascii_lowercase();
    let s = segments(&u);
    match host.as_str() {
        "www.youtube.com" | "youtube.com" | "m.youtube.com" => match s.as_slice() {
            ["watch"] => youtube(&query(&u, "v")?),
            ["shorts" | "embed" | "live", id] => youtube(id),
            _ => None,
        },
        "youtu.be" => match s.as_slice() {
            [id] => youtube(id),
            _ => None,
        },
        "vimeo.com" | "www.vimeo.com" => match s.as_slice() {
            [id] | [id, _] | ["channels", _, id] => vimeo(id),
            _ => None,
        },
        "x.com" | "www.x.com" | "twitter.com" | "www.twitter.com" | "mobile.twitter.com" | "mobile.x.com" => {
            match s.as_slice() {
                [user, "status", id, ..] => tweet(user, id),
                _ => None,
            }
        }
        "www.instagram.com" | "instagram.com" => match s.as_slice() {
            [kind, code] | [kind, code, "embed"] => instagram(kind, code),
            _ => None,
        },
        "www.facebook.com" | "facebook.com" | "m.facebook.com" | "web.facebook.com" => facebook_page(&u),
        "www.tiktok.com" | "tiktok.com" | "m.tiktok.com" => match s.as_slice() {
            [user, "video", id] => tiktok(id, Some(user)),
            _ => None,
        },
        "t.me" | "telegram.me" => match s.as_slice() {
            ["s", channel, post] | [channel, post] => telegram(channel, post),
            _ => None,
        },
        "soundcloud.com" | "www.soundcloud.com" | "m.soundcloud.com" => soundcloud(&u),
        _ => None,
    }
}

/// The embed an `<iframe src>` of an HTML body names, when the source is a
/// provider's player on the allowed list (YouTube's `/embed/`, Vimeo's
/// player, X's `Tweet.html`, Instagram's `/embed/`, Facebook's plugins,
/// TikTok's `/embed/v2/`, Telegram's `?embed=1`, SoundCloud's widget).
pub fn recognize_player(raw: &str) -> Option<Embed> {
    let raw = raw.trim();
    // Protocol-relative players (`//www.youtube.com/embed/…`) as pasted from old embed codes.
    let full;
    let raw = if let Some(rest) = raw.strip_prefix("//") {
        full = format!("https://{rest}");
        full.as_str()
    } else {
        raw
    };
    let u = https(raw)?;
    let host = u.host_str()?.to_ascii_lowercase();
    let s = segments(&u);
    match (host.as_str(), s.as_slice()) {
        ("www.youtube.com" | "youtube.com" | "www.youtube-nocookie.com" | "youtube-nocookie.com", ["embed", id]) => {
            youtube(id)
        }
        ("player.vimeo.com", ["video", id]) => vimeo(id),
        ("platform.twitter.com", ["embed", "Tweet.html"]) => {
            let id = query(&u, "id")?;
            tweet("i", &id)
        }
        ("www.instagram.com" | "instagram.com", [kind, code, "embed", ..]) => instagram(kind, code),
        ("www.facebook.com" | "facebook.com", ["plugins", "post.php" | "video.php"]) => {
            let href = query(&u, "href")?;
            recognize(&href).filter(|e| e.provider.key == "facebook")
        }
        ("www.tiktok.com" | "tiktok.com", ["embed", "v2", id] | ["embed", id]) => tiktok(id, None),
        ("t.me" | "telegram.me", [channel, post]) if query(&u, "embed").is_some() => telegram(channel, post),
        ("w.soundcloud.com", ["player"]) => {
            let target = query(&u, "url")?;
            if let Some(e) = recognize(&target).filter(|e| e.provider.key == "soundcloud") {
                return Some(e);
            }
            // The widget's API form: https://api.soundcloud.com/tracks/123.
            let t = https(&target)?;
            let ts = segments(&t);
            match (t.host_str()?, ts.as_slice()) {
                ("api.soundcloud.com", ["tracks" | "playlists", id]) if is_digits(id) => {
                    let url = format!("https://api.soundcloud.com/{}/{id}", ts[0]);
                    let player = format!("https://w.soundcloud.com/player/?url={}", encode(&url));
                    embed("soundcloud", url, player)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

// ----- splitting a body -----

/// The block a line standing alone names, if any.
pub fn block_of_line(line: &str) -> Option<Block> {
    let line = line.trim();
    if let Some(id) = line.strip_prefix("gallery:") {
        return is_digits(id).then(|| id.parse().ok().map(Block::Gallery)).flatten();
    }
    if line.starts_with("![") {
        return photo_use(line).map(Block::Photo);
    }
    if line.starts_with("https://") {
        return recognize(line).map(Block::Embed);
    }
    None
}

/// Reads `![Caption](photo:123 "Credit")`.
fn photo_use(line: &str) -> Option<PhotoUse> {
    let inner = line.strip_prefix("![")?.strip_suffix(')')?;
    let at = inner.rfind("](photo:")?;
    let caption = unescape(&inner[..at]);
    let target = &inner[at + "](photo:".len()..];
    let (id, credit) = match target.find(|c: char| c.is_whitespace()) {
        Some(space) => {
            let title = target[space..].trim();
            let credit = title.strip_prefix('"')?.strip_suffix('"')?;
            (&target[..space], unescape(credit))
        }
        None => (target, String::new()),
    };
    if !is_digits(id) {
        return None;
    }
    let id: i64 = id.parse().ok()?;
    (id > 0).then(|| PhotoUse { id, caption: caption.trim().to_string(), credit: credit.trim().to_string() })
}

/// Markdown's backslash escapes of punctuation (`\]`, `\"`, `\\`).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&n) = chars.peek()
            && n.is_ascii_punctuation()
        {
            out.push(n);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

/// A Markdown fence opening (```` ``` ```` or `~~~`, up to three spaces in): its character and length.
fn fence_of(line: &str) -> Option<(char, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let t = &line[indent..];
    let c = t.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let n = t.chars().take_while(|x| *x == c).count();
    (n >= 3).then_some((c, n))
}

/// Splits a body source into text (in its format) and blocks, in order.
pub fn split(format: BodyFormat, source: &str) -> Vec<Part> {
    match format {
        BodyFormat::Html => split_html(source),
        BodyFormat::Markdown | BodyFormat::Text => split_lines(format, source),
    }
}

fn push_text(parts: &mut Vec<Part>, text: &mut String) {
    if !text.trim().is_empty() {
        parts.push(Part::Text(std::mem::take(text)));
    }
    text.clear();
}

fn split_lines(format: BodyFormat, source: &str) -> Vec<Part> {
    let lines: Vec<&str> = source.lines().collect();
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut fence: Option<(char, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        if format == BodyFormat::Markdown {
            if let Some((c, n)) = fence {
                if fence_of(line).is_some_and(|(c2, n2)| c2 == c && n2 >= n && line.trim().chars().all(|x| x == c)) {
                    fence = None;
                }
                text.push_str(line);
                text.push('\n');
                continue;
            }
            if let Some(f) = fence_of(line) {
                fence = Some(f);
                text.push_str(line);
                text.push('\n');
                continue;
            }
        }
        let alone = (i == 0 || lines[i - 1].trim().is_empty())
            && (i + 1 == lines.len() || lines[i + 1].trim().is_empty())
            && line.len() - line.trim_start_matches(' ').len() <= 3
            && !line.starts_with('\t');
        if alone && let Some(block) = block_of_line(line) {
            push_text(&mut parts, &mut text);
            parts.push(Part::Block(block));
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    push_text(&mut parts, &mut text);
    parts
}

/// Finds `<tag` in `lower` (the source in ASCII lower case: same byte
/// offsets) from `from`, at a tag boundary.
fn find_tag(lower: &str, tag: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = lower[at..].find(tag) {
        let start = at + i;
        let next = lower.as_bytes().get(start + tag.len()).copied();
        if matches!(next, Some(b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/')) {
            return Some(start);
        }
        at = start + tag.len();
    }
    None
}

/// The value of attribute `name` in an opening tag's text.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find(name) {
        let start = at + i;
        let before = lower.as_bytes().get(start.wrapping_sub(1)).copied();
        at = start + name.len();
        if !matches!(before, Some(b' ' | b'\t' | b'\n' | b'\r')) {
            continue;
        }
        let rest = tag[at..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else { continue };
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
            _ => rest.split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or(""),
        };
        return Some(value.replace("&amp;", "&"));
    }
    None
}

fn split_html(source: &str) -> Vec<Part> {
    let lower = source.to_ascii_lowercase();
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut at = 0;
    // The next iframe, looked up again only once passed: the body is read once however many paragraphs it has.
    let mut next_iframe: Option<Option<usize>> = None;
    loop {
        let iframe = match next_iframe {
            Some(found) if found.is_none_or(|i| i >= at) => found,
            _ => {
                let found = find_tag(&lower, "<iframe", at);
                next_iframe = Some(found);
                found
            }
        };
        let para = find_tag(&lower, "<p", at);
        let next = match (iframe, para) {
            (Some(i), Some(p)) => Some((i.min(p), i < p)),
            (Some(i), None) => Some((i, true)),
            (None, Some(p)) => Some((p, false)),
            (None, None) => None,
        };
        let Some((start, is_iframe)) = next else { break };
        let Some(open_end) = source[start..].find('>').map(|e| start + e + 1) else { break };
        if is_iframe {
            let end = lower[open_end..].find("</iframe>").map_or(open_end, |e| open_end + e + "</iframe>".len());
            let src = attribute(&source[start..open_end], "src");
            text.push_str(&source[at..start]);
            if let Some(e) = src.as_deref().and_then(recognize_player) {
                push_text(&mut parts, &mut text);
                parts.push(Part::Block(Block::Embed(e)));
            }
            at = end;
        } else {
            let close = lower[open_end..].find("</p>").map(|e| open_end + e);
            let block = close.and_then(|c| block_of_line(&decode_basic(&source[open_end..c])));
            match (block, close) {
                (Some(b), Some(c)) => {
                    text.push_str(&source[at..start]);
                    push_text(&mut parts, &mut text);
                    parts.push(Part::Block(b));
                    at = c + "</p>".len();
                }
                _ => {
                    text.push_str(&source[at..open_end]);
                    at = open_end;
                }
            }
        }
    }
    text.push_str(&source[at..]);
    push_text(&mut parts, &mut text);
    parts
}

/// The entities an editor writes into a URL or caption in HTML.
fn decode_basic(s: &str) -> String {
    if s.contains('<') {
        // Markup inside (a link around the URL, emphasis): not a block line.
        return String::new();
    }
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The blocks of a body, in order (what the caller reads into a [`Context`]).
pub fn blocks(format: BodyFormat, source: &str) -> Vec<Block> {
    split(format, source)
        .into_iter()
        .filter_map(|p| match p {
            Part::Block(b) => Some(b),
            Part::Text(_) => None,
        })
        .collect()
}

/// The blocks of a body whose photo or gallery `ctx` does not know, each once.
pub fn missing(format: BodyFormat, source: &str, ctx: &Context) -> Vec<Missing> {
    let mut out = Vec::new();
    for b in blocks(format, source) {
        let m = match b {
            Block::Photo(p) if !ctx.photos.contains_key(&p.id) => Missing::Photo(p.id),
            Block::Gallery(g) if !ctx.galleries.contains_key(&g) => Missing::Gallery(g),
            _ => continue,
        };
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

// ----- rendering -----

/// Renders a body to sanitized HTML: text by its format, blocks from `ctx`.
/// A block `ctx` does not know renders as an HTML comment (check [`missing`]
/// first where that must be refused); an embed without metadata shows its URL.
pub fn render(format: BodyFormat, source: &str, ctx: &Context) -> String {
    let mut out = Vec::new();
    for part in split(format, source) {
        match part {
            Part::Text(t) => out.push(render_text(format, &t)),
            Part::Block(Block::Embed(e)) => out.push(render_embed(&e, ctx.embeds.get(&e.url))),
            Part::Block(Block::Photo(p)) => out.push(match ctx.photos.get(&p.id) {
                Some(d) => render_photo(&p, d),
                None => format!("<!-- photo:{} -->", p.id),
            }),
            Part::Block(Block::Gallery(g)) => out.push(match ctx.galleries.get(&g) {
                Some(html) => html.clone(),
                None => format!("<!-- gallery:{g} -->"),
            }),
        }
    }
    out.retain(|s| !s.trim().is_empty());
    if out.len() == 1 {
        return out.remove(0);
    }
    out.iter().map(|s| s.trim_end()).collect::<Vec<_>>().join("\n")
}

fn render_text(format: BodyFormat, text: &str) -> String {
    match format {
        BodyFormat::Text => crate::html::text_to_html(text),
        BodyFormat::Markdown => crate::html::markdown_to_html(text),
        BodyFormat::Html => crate::html::sanitize(text),
    }
}

/// The click-to-load placeholder of an embed (see the module's documentation).
pub fn render_embed(e: &Embed, meta: Option<&EmbedMeta>) -> String {
    let p = e.provider;
    let title = meta.map(|m| m.title.trim()).filter(|t| !t.is_empty()).unwrap_or(&e.url);
    let thumb = meta.and_then(|m| m.thumbnail.as_ref()).map_or_else(String::new, |t| {
        format!(
            "<img class=\"embed-thumb\" src=\"{}\" alt=\"\" width=\"{}\" height=\"{}\" loading=\"lazy\">",
            escape(&t.src),
            t.width,
            t.height
        )
    });
    format!(
        "<figure class=\"embed {class}\" data-embed=\"{key}\" data-embed-src=\"{player}\">{thumb}\
         <figcaption><span class=\"embed-provider\">{name}</span> \
         <a href=\"{url}\" dir=\"auto\" rel=\"noopener noreferrer\">{title}</a></figcaption></figure>",
        class = p.frame.class(),
        key = p.key,
        player = escape(&e.player),
        name = escape(p.name),
        url = escape(&e.url),
        title = escape(title),
    )
}

fn render_photo(p: &PhotoUse, d: &PhotoData) -> String {
    let caption = if p.caption.is_empty() { &d.caption } else { &p.caption };
    let credit = if p.credit.is_empty() { &d.credit } else { &p.credit };
    let img = |srcset: &str| {
        let set = if srcset.is_empty() {
            String::new()
        } else {
            format!(" srcset=\"{}\" sizes=\"{PHOTO_SIZES}\"", escape(srcset))
        };
        format!(
            "<img src=\"{}\"{set} alt=\"{}\" width=\"{}\" height=\"{}\" loading=\"lazy\">",
            escape(&d.image.src),
            escape(caption),
            d.image.width,
            d.image.height
        )
    };
    let media = if d.webp_srcset.is_empty() {
        img(&d.srcset)
    } else {
        format!(
            "<picture><source type=\"image/webp\" srcset=\"{}\" sizes=\"{PHOTO_SIZES}\">{}</picture>",
            escape(&d.webp_srcset),
            img(&d.srcset)
        )
    };
    let figcaption = match (caption.is_empty(), credit.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("<figcaption><span dir=\"auto\">{}</span></figcaption>", escape(caption)),
        (true, false) => {
            format!("<figcaption><span class=\"credit\" dir=\"auto\">{}</span></figcaption>", escape(credit))
        }
        (false, false) => format!(
            "<figcaption><span dir=\"auto\">{}</span> <span class=\"credit\" dir=\"auto\">{}</span></figcaption>",
            escape(caption),
            escape(credit)
        ),
    };
    format!("<figure class=\"body-photo\">{media}{figcaption}</figure>")
}

/// The providers whose placeholders rendered HTML holds (`data-embed="KEY"`),
/// each once, in [`PROVIDERS`] order: the page's `frame-src`.
pub fn providers_in(html: &str) -> Vec<&'static Provider> {
    // One pass over the page (every story page not cached asks), not one per
    // provider; memchr's searcher (SIMD) rather than `str::match_indices`.
    const MARK: &str = "data-embed=\"";
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(MARK));
    let keys: Vec<&str> = FINDER
        .find_iter(html.as_bytes())
        .filter_map(|at| html[at + MARK.len()..].split_once('"').map(|(key, _)| key))
        .collect();
    PROVIDERS.iter().filter(|p| keys.contains(&p.key)).collect()
}

#[cfg(test)]
mod tests;
