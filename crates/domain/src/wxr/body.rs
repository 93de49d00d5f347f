//! WordPress post content to a story body: shortcodes expanded (`[caption]`,
//! `[gallery]`, `[embed]`, `[audio]`, `[video]`, `[code]`; unknown ones
//! removed with their content kept), classic-editor text given its paragraphs
//! (WordPress adds them when it shows a post: `wpautop`), block markup left to
//! the sanitizer (its `<!-- wp:... -->` comments and wrapper `<div>`s go, the
//! text stays), images pointed at the photos that were stored and the others
//! removed. The result is stored as an HTML body, so it goes through the same
//! sanitizer as the newsroom's own copy. Every removal is noted.

use std::collections::HashMap;

use crate::html::escape;

/// What a body's images and galleries are resolved against.
#[derive(Debug)]
pub struct BodyContext<'a> {
    /// Attachments of the export by WordPress id: file URL and caption.
    pub attachments: &'a HashMap<i64, (String, String)>,
    /// Attachments whose parent is this post, in file order (a `[gallery]` without `ids`).
    pub children: &'a [i64],
    /// [`media_key`] of a file URL → the stored photo's path (`/media/...`), or why there is none.
    pub media: &'a HashMap<String, Result<String, String>>,
}

/// The key under which a file URL is resolved: host and path, without scheme,
/// query (`?w=300`) or fragment, so `http://` and `https://` links to one file meet.
pub fn media_key(url: &str) -> String {
    let url = url.trim();
    let rest = url.split_once("://").map_or(url, |(_, r)| r).trim_start_matches('/');
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    match rest.split_once('/') {
        Some((host, path)) => format!("{}/{}", host.to_ascii_lowercase(), percent_decode(path)),
        None => rest.to_ascii_lowercase(),
    }
}

/// The path of a file URL inside the old site's uploads folder
/// (`wp-content/uploads/2011/01/a.jpg` → `2011/01/a.jpg`; WordPress.com's
/// `*.files.wordpress.com/2011/01/a.jpg` too), or `None` for another site's
/// file or a path that leaves the folder (`..`).
pub fn upload_path(url: &str) -> Option<String> {
    let key = media_key(url);
    let (host, path) = key.split_once('/')?;
    let rel = if let Some((_, after)) = path.split_once("wp-content/uploads/") {
        after.to_string()
    } else if host.ends_with(".files.wordpress.com") {
        path.to_string()
    } else {
        return None;
    };
    let ok = !rel.is_empty()
        && rel.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && !rel.contains(['\\', '\0', ':']);
    ok.then_some(rel)
}

/// `%41` → `A` (invalid escapes and non-UTF-8 results are kept as written).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Every image URL written in `content` (`<img src>`), for the caller to look for the files.
pub fn image_urls(content: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_tag(content, "img", |attrs| {
        if let Some(src) = attr(attrs, "src") {
            out.push(src);
        }
        None
    });
    out
}

/// Converts post content to body HTML (not yet sanitized: the store does
/// that); what is removed or changed is pushed onto `notes`.
pub fn convert(content: &str, ctx: &BodyContext<'_>, notes: &mut Vec<String>) -> String {
    let content = crate::text::strip_forbidden(content);
    let blocks = content.contains("<!-- wp:");
    let expanded = shortcodes(&content, ctx, notes);
    let html = if blocks { linkify_bare_urls(&expanded) } else { autop(&expanded) };
    let html = images(&html, ctx, notes);
    note_dropped_elements(&html, notes);
    html
}

/// Known shortcodes; others are removed with their content kept.
const KNOWN: &[&str] = &["caption", "wp_caption", "gallery", "embed", "audio", "video", "code", "sourcecode"];

/// A shortcode's opening tag at the start of `s` (`[name attrs]`): its name,
/// attributes text, whether it closes itself, and its length.
fn opening(s: &str) -> Option<(String, String, bool, usize)> {
    let rest = s.strip_prefix('[')?;
    let name_len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))?;
    let name = &rest[..name_len];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let after = &rest[name_len..];
    if !(after.starts_with(']') || after.starts_with('/') || after.starts_with(char::is_whitespace)) {
        return None;
    }
    let close = after.find(']')?;
    let inner = &after[..close];
    if inner.contains(['[', '\n']) {
        return None;
    }
    let self_closing = inner.trim_end().ends_with('/');
    let attrs = inner.trim().trim_end_matches('/').trim().to_string();
    Some((name.to_ascii_lowercase(), attrs, self_closing, 1 + name_len + close + 1))
}

/// Shortcode attributes: `a="x" b='y' c=z bare`; bare values are listed under their position ("0", "1", ...).
fn shortcode_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    let mut pos = 0;
    while !rest.is_empty() {
        let key_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let key = &rest[..key_end];
        let after = rest[key_end..].trim_start();
        if let Some(v) = after.strip_prefix('=') {
            let v = v.trim_start();
            let (value, left) = match v.chars().next() {
                Some(q @ ('"' | '\'' | '“' | '”')) => {
                    let body = &v[q.len_utf8()..];
                    let end = body.find(['"', '\'', '“', '”']).unwrap_or(body.len());
                    let next = (end + 1).min(body.len());
                    (&body[..end], body.get(next..).unwrap_or_default())
                }
                _ => {
                    let end = v.find(char::is_whitespace).unwrap_or(v.len());
                    (&v[..end], &v[end..])
                }
            };
            out.push((key.to_ascii_lowercase(), value.to_string()));
            rest = left.trim_start();
        } else {
            let bare = key.trim_matches(['"', '\'']);
            if !bare.is_empty() {
                out.push((pos.to_string(), bare.to_string()));
                pos += 1;
            }
            rest = after;
            if key.is_empty() {
                // A lone `=` or quote: skip one character so the loop ends.
                rest = rest.get(1..).unwrap_or_default();
            }
        }
    }
    out
}

fn get<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.trim().is_empty())
}

/// Expands the shortcodes of `s`.
fn shortcodes(s: &str, ctx: &BodyContext<'_>, notes: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(off) = s[i..].find('[') {
        let at = i + off;
        out.push_str(&s[i..at]);
        let rest = &s[at..];
        // `[[name]]` is WordPress's way of writing a shortcode as text.
        if rest.starts_with("[[")
            && let Some(end) = rest.find("]]")
            && opening(&rest[1..]).is_some()
        {
            out.push_str(&rest[1..end + 1]);
            i = at + end + 2;
            continue;
        }
        let Some((name, attrs_text, self_closing, len)) = opening(rest) else {
            out.push('[');
            i = at + 1;
            continue;
        };
        let close_tag = format!("[/{name}]");
        let body_start = at + len;
        let enclosed = if self_closing {
            None
        } else {
            // Shortcode names are case-sensitive in WordPress: a plain search.
            s[body_start..].find(&close_tag).map(|e| (&s[body_start..body_start + e], body_start + e + close_tag.len()))
        };
        let known = KNOWN.contains(&name.as_str());
        if !known && enclosed.is_none() && attrs_text.is_empty() {
            // `[sic]`, `[1]`: brackets in text, which WordPress shows as written.
            out.push('[');
            i = at + 1;
            continue;
        }
        let attrs = shortcode_attrs(&attrs_text);
        let (inner, next) = match enclosed {
            Some((inner, next)) => (inner, next),
            None => ("", body_start),
        };
        out.push_str(&expand(&name, &attrs, inner, ctx, notes));
        i = next;
    }
    out.push_str(&s[i..]);
    out
}

fn link_paragraph(url: &str) -> String {
    let url = url.trim();
    format!("<p><a href=\"{0}\">{0}</a></p>", escape(url))
}

fn expand(
    name: &str,
    attrs: &[(String, String)],
    inner: &str,
    ctx: &BodyContext<'_>,
    notes: &mut Vec<String>,
) -> String {
    match name {
        "caption" | "wp_caption" => {
            // The picture (an `<img>`, maybe in a link) comes first, the caption text after it.
            let split = inner.rfind("</a>").map(|e| e + 4).or_else(|| inner.find('>').map(|e| e + 1)).unwrap_or(0);
            let (picture, text) = inner.split_at(split);
            let caption = get(attrs, "caption").map(str::to_string).unwrap_or_else(|| text.trim().to_string());
            format!("<figure>{}<figcaption>{}</figcaption></figure>", picture.trim(), caption)
        }
        "gallery" => {
            let ids: Vec<i64> = match get(attrs, "ids").or_else(|| get(attrs, "include")) {
                Some(list) => list.split(',').filter_map(|x| x.trim().parse().ok()).collect(),
                None => ctx.children.to_vec(),
            };
            let mut html = String::new();
            for id in &ids {
                match ctx.attachments.get(id) {
                    Some((url, caption)) => html.push_str(&format!(
                        "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>",
                        escape(url),
                        escape(caption),
                        escape(caption)
                    )),
                    None => notes.push(format!("gallery: attachment {id} is not in the export")),
                }
            }
            if ids.is_empty() {
                notes.push("gallery: no attachments in the export, removed".into());
            }
            html
        }
        "embed" => {
            let url = if inner.trim().is_empty() { get(attrs, "src").unwrap_or_default() } else { inner };
            if url.trim().is_empty() {
                notes.push("embed without an address, removed".into());
                return String::new();
            }
            notes.push(format!("embed {}: kept as a link (embedded players are not allowed)", url.trim()));
            link_paragraph(url)
        }
        "audio" | "video" => {
            let src = ["src", "mp3", "m4a", "ogg", "wav", "mp4", "m4v", "webm", "ogv", "flv", "0"]
                .iter()
                .find_map(|k| get(attrs, k));
            match src {
                Some(src) => {
                    notes.push(format!("{name} {src}: kept as a link (newsdesk stores photos only)"));
                    link_paragraph(src)
                }
                None => {
                    notes.push(format!(
                        "{name} shortcode without a file (the post's own attachments are not played), removed"
                    ));
                    String::new()
                }
            }
        }
        "code" | "sourcecode" => format!("<pre><code>{}</code></pre>", escape(inner.trim_matches('\n'))),
        _ => {
            if inner.is_empty() {
                notes.push(format!("shortcode [{name}] removed (nothing of it can be shown)"));
            } else {
                notes.push(format!("shortcode [{name}] removed, its content kept"));
            }
            inner.to_string()
        }
    }
}

/// Elements that stand on their own: not wrapped in `<p>`.
const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "iframe",
    "li",
    "map",
    "nav",
    "object",
    "ol",
    "p",
    "pre",
    "script",
    "section",
    "style",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
    "video",
    "audio",
    "embed",
];

fn starts_with_block(chunk: &str) -> bool {
    let Some(rest) = chunk.strip_prefix('<') else { return false };
    let rest = rest.trim_start_matches('/');
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    rest.starts_with("!--") || BLOCK.contains(&name.as_str())
}

fn is_bare_url(line: &str) -> bool {
    let l = line.trim();
    (l.starts_with("http://") || l.starts_with("https://"))
        && !l.contains(char::is_whitespace)
        && !l.contains(['<', '"'])
}

/// A line holding only an address (WordPress embeds those) becomes a link.
fn linkify_bare_urls(html: &str) -> String {
    html.lines().map(|l| if is_bare_url(l) { link_paragraph(l) } else { l.to_string() }).collect::<Vec<_>>().join("\n")
}

/// WordPress's `wpautop`, simplified: blank lines separate paragraphs, a
/// single line break inside one is a `<br>`, block elements are left as they
/// are, and `<pre>` keeps its lines.
pub fn autop(text: &str) -> String {
    // Keep preformatted blocks whole.
    let mut kept: Vec<String> = Vec::new();
    let mut s = String::with_capacity(text.len());
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` hold in `text`.
    let lower = text.to_ascii_lowercase();
    let mut i = 0;
    while let Some(start) = lower[i..].find("<pre").map(|o| i + o) {
        let end = lower[start..].find("</pre>").map_or(text.len(), |e| start + e + 6);
        s.push_str(&text[i..start]);
        s.push_str(&format!("\n\n\u{1}{}\u{1}\n\n", kept.len()));
        kept.push(text[start..end].to_string());
        i = end;
    }
    s.push_str(&text[i..]);
    let mut out = Vec::new();
    for chunk in s.split("\n\n").map(str::trim).filter(|c| !c.is_empty()) {
        if let Some(n) = chunk.strip_prefix('\u{1}').and_then(|c| c.strip_suffix('\u{1}'))
            && let Some(pre) = n.parse::<usize>().ok().and_then(|n| kept.get(n))
        {
            out.push(pre.clone());
            continue;
        }
        if is_bare_url(chunk) {
            out.push(link_paragraph(chunk));
        } else if starts_with_block(chunk) {
            out.push(chunk.to_string());
        } else {
            let lines: Vec<&str> = chunk.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            out.push(format!("<p>{}</p>", lines.join("<br>\n")));
        }
    }
    out.join("\n")
}

/// Tag attributes: `a="x" b='y' c=z flag`.
fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let key = s[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                i = vs;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                value = s[vs..i].to_string();
                i = (i + 1).min(b.len());
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = s[vs..i].to_string();
            }
        }
        if !key.is_empty() {
            out.push((key, decode_entities(&value)));
        } else if i == start {
            i += 1;
        }
    }
    out
}

fn attr(attrs: &[(String, String)], key: &str) -> Option<String> {
    attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// Calls `f` with the attributes of each `<name ...>` tag; `Some(text)` replaces the tag.
fn for_each_tag(html: &str, name: &str, mut f: impl FnMut(&[(String, String)]) -> Option<String>) -> String {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{name}");
    let mut out = String::with_capacity(html.len());
    let mut i = 0;
    while let Some(off) = lower[i..].find(&open) {
        let at = i + off;
        let after = at + open.len();
        let next = lower[after..].chars().next();
        if !matches!(next, Some(c) if c.is_whitespace() || c == '/' || c == '>') {
            out.push_str(&html[i..after]);
            i = after;
            continue;
        }
        // The tag ends at the first `>` outside quotes.
        let mut quote = None;
        let mut end = None;
        for (j, c) in html[after..].char_indices() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => {
                    end = Some(after + j);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        out.push_str(&html[i..at]);
        let attrs = parse_attrs(&html[after..end]);
        match f(&attrs) {
            Some(replacement) => out.push_str(&replacement),
            None => out.push_str(&html[at..=end]),
        }
        i = end + 1;
    }
    out.push_str(&html[i..]);
    out
}

/// `&amp;` and the other common entities in attribute values.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Points each `<img>` at its stored photo, or removes it (noted).
fn images(html: &str, ctx: &BodyContext<'_>, notes: &mut Vec<String>) -> String {
    for_each_tag(html, "img", |attrs| {
        let Some(src) = attr(attrs, "src").filter(|s| !s.trim().is_empty()) else {
            notes.push("image without an address, removed".into());
            return Some(String::new());
        };
        match ctx.media.get(&media_key(&src)) {
            Some(Ok(path)) => {
                let mut tag = format!("<img src=\"{}\"", escape(path));
                for key in ["alt", "width", "height"] {
                    if let Some(v) = attr(attrs, key) {
                        tag.push_str(&format!(" {key}=\"{}\"", escape(&v)));
                    }
                }
                tag.push('>');
                Some(tag)
            }
            Some(Err(reason)) => {
                notes.push(format!("image {src}: {reason}, removed"));
                Some(String::new())
            }
            None => {
                notes.push(format!(
                    "image {src}: not a file of the old site's uploads (images are never fetched from the internet), removed"
                ));
                Some(String::new())
            }
        }
    })
}

/// Elements the sanitizer drops with what they show.
const DROPPED: &[&str] = &[
    "script", "style", "iframe", "object", "embed", "form", "input", "button", "select", "textarea", "video", "audio",
    "svg", "canvas", "math", "frame", "frameset", "applet",
];

fn note_dropped_elements(html: &str, notes: &mut Vec<String>) {
    let lower = html.to_ascii_lowercase();
    for name in DROPPED {
        let open = format!("<{name}");
        let found = lower.match_indices(&open).any(|(at, _)| {
            matches!(lower[at + open.len()..].chars().next(), Some(c) if c.is_whitespace() || c == '>' || c == '/')
        });
        if found {
            notes.push(format!("<{name}> removed (not allowed in story bodies)"));
        }
    }
    if lower.contains("javascript:") {
        notes.push("javascript: links removed".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert_plain(content: &str) -> (String, Vec<String>) {
        let attachments =
            HashMap::from([(5, ("https://x.files.wordpress.com/2011/01/a.jpg".to_string(), "A cat".to_string()))]);
        let media = HashMap::from([(
            media_key("https://x.files.wordpress.com/2011/01/a.jpg"),
            Ok("/media/abc.jpg".to_string()),
        )]);
        let children = [5];
        let ctx = BodyContext { attachments: &attachments, children: &children, media: &media };
        let mut notes = Vec::new();
        let html = convert(content, &ctx, &mut notes);
        (crate::html::sanitize(&html), notes)
    }

    #[test]
    fn classic_text_gets_paragraphs_and_line_breaks() {
        let (html, _) = convert_plain("One\nline two\n\n<ul><li>x</li></ul>\n\nThree");
        assert_eq!(html, "<p>One<br>\nline two</p>\n<ul><li>x</li></ul>\n<p>Three</p>");
    }

    #[test]
    fn block_markup_leaves_clean_html() {
        let (html, notes) = convert_plain(
            "<!-- wp:paragraph -->\n<p class=\"x\" style=\"color:red\">Hi</p>\n<!-- /wp:paragraph -->\n<!-- wp:group --><div class=\"wp-block-group\"><p>In</p></div><!-- /wp:group -->",
        );
        assert_eq!(html, "\n<p>Hi</p>\n\n<p>In</p>");
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn captions_galleries_embeds_and_unknown_shortcodes() {
        let (html, notes) = convert_plain(
            "[caption id=\"attachment_5\" width=\"300\"]<a href=\"https://x.files.wordpress.com/2011/01/a.jpg\"><img src=\"http://x.files.wordpress.com/2011/01/a.jpg?w=300\" alt=\"cat\" /></a> A cat on a mat[/caption]\n\n[gallery]\n\n[embed]https://www.youtube.com/watch?v=1[/embed]\n\n[contact-form to=\"x\"]\n\n[box]Inside[/box] and [sic] and [[gallery]]",
        );
        assert!(html.contains("<figure><a href=\"https://x.files.wordpress.com/2011/01/a.jpg\" rel=\"noopener noreferrer\"><img src=\"/media/abc.jpg\" alt=\"cat\"></a><figcaption>A cat on a mat</figcaption></figure>"), "{html}");
        assert!(
            html.contains("<figure><img src=\"/media/abc.jpg\" alt=\"A cat\"><figcaption>A cat</figcaption></figure>"),
            "{html}"
        );
        assert!(html.contains("<a href=\"https://www.youtube.com/watch?v=1\" rel=\"noopener noreferrer\">"), "{html}");
        assert!(html.contains("Inside and [sic] and [gallery]"), "{html}");
        assert!(!html.contains("contact-form"), "{html}");
        assert!(notes.iter().any(|n| n.contains("[contact-form] removed")), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("[box] removed, its content kept")), "{notes:?}");
    }

    #[test]
    fn unreachable_images_and_unsafe_markup_are_removed_and_noted() {
        let (html, notes) = convert_plain(
            "<img src=\"https://elsewhere.example/b.png\"> text <script>alert(1)</script><iframe src=\"https://evil\"></iframe> <a href=\"javascript:alert(1)\">x</a>",
        );
        assert!(
            !html.contains("img")
                && !html.contains("script")
                && !html.contains("iframe")
                && !html.contains("javascript"),
            "{html}"
        );
        for want in [
            "image https://elsewhere.example/b.png",
            "<script> removed",
            "<iframe> removed",
            "javascript: links removed",
        ] {
            assert!(notes.iter().any(|n| n.contains(want)), "{want} in {notes:?}");
        }
    }

    #[test]
    fn upload_paths_stay_inside_the_folder() {
        assert_eq!(
            upload_path("https://ex.org/wp-content/uploads/2011/01/a%20b.jpg?x=1").as_deref(),
            Some("2011/01/a b.jpg")
        );
        assert_eq!(upload_path("https://t.files.wordpress.com/2008/06/c.jpg").as_deref(), Some("2008/06/c.jpg"));
        assert_eq!(upload_path("https://ex.org/wp-content/uploads/../../etc/passwd"), None);
        assert_eq!(upload_path("https://ex.org/wp-content/uploads/%2e%2e/x"), None);
        assert_eq!(upload_path("https://other.example/a.jpg"), None);
    }
}
