//! Story bodies as HTML: rendered from their source and sanitized once, on
//! the way in, so pages can show them as they are.

use std::collections::HashSet;
use std::sync::OnceLock;

fn cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let tags: HashSet<&'static str> = [
            "a",
            "abbr",
            "b",
            "blockquote",
            "br",
            "caption",
            "cite",
            "code",
            "em",
            "figcaption",
            "figure",
            "h2",
            "h3",
            "h4",
            "hr",
            "i",
            "img",
            "li",
            "ol",
            "p",
            "pre",
            "q",
            "s",
            "small",
            "strong",
            "sub",
            "sup",
            "table",
            "tbody",
            "td",
            "th",
            "thead",
            "tr",
            "u",
            "ul",
        ]
        .into_iter()
        .collect();
        let mut b = ammonia::Builder::default();
        b.tags(tags)
            .add_tag_attributes("img", ["src", "alt", "width", "height"])
            .add_tag_attributes("a", ["href", "title"])
            .add_tag_attributes("td", ["colspan", "rowspan"])
            .add_tag_attributes("th", ["colspan", "rowspan", "scope"])
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(Some("noopener noreferrer"));
        b
    })
}

/// Removes everything from `html` that is not safe, plain article markup.
pub fn sanitize(html: &str) -> String {
    cleaner().clean(html).to_string()
}

/// Escapes text for use inside HTML elements and attribute values.
/// Copies the runs between the five characters it replaces (all ASCII, so
/// never inside a multi-byte character) instead of a character at a time.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    // Writing to a String cannot fail.
    let _ = escape_into(&mut out, text);
    out
}

/// [`escape`], written to `out` (a page being rendered) instead of a new string.
pub fn escape_into(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&text[start..i])?;
        out.write_str(entity)?;
        start = i + 1;
    }
    out.write_str(&text[start..])
}

/// Plain paragraphs (blank-line separated) to `<p>` elements; lines inside a
/// paragraph are joined with a space.
pub fn text_to_html(text: &str) -> String {
    paragraphs(text).map(|p| format!("<p>{}</p>", escape(&p))).collect::<Vec<_>>().join("\n")
}

/// Splits plain text into paragraphs at blank lines, joining the lines of each.
pub fn paragraphs(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split("\n\n")
        .map(|block| block.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
}

/// CommonMark to sanitized HTML (raw HTML inside the Markdown is sanitized too).
pub fn markdown_to_html(markdown: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(
        markdown,
        pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
    );
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    sanitize(&html)
}

/// Text of an HTML fragment (imports, wire items, routing keywords): tags removed, entities decoded, white space collapsed.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let text = decode_html_entities(&out);
    let text = crate::text::strip_forbidden(&text);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decode_html_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let end = tail.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|e| {
            let name = &tail[1..e];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => '\u{a0}',
                "hellip" => '…',
                "ndash" => '–',
                "mdash" => '—',
                "lsquo" => '‘',
                "rsquo" => '’',
                "ldquo" => '“',
                "rdquo" => '”',
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &tail[e + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed() {
        let dirty = r#"<p onclick="x()">Hi<script>alert(1)</script> <a href="javascript:alert(1)">x</a></p>"#;
        let clean = sanitize(dirty);
        assert!(!clean.contains("script"));
        assert!(!clean.contains("onclick"));
        assert!(!clean.contains("javascript"));
        assert!(clean.contains("<p>Hi"));
    }

    #[test]
    fn escape_replaces_the_five_characters_and_keeps_every_other_one() {
        assert_eq!(escape(""), "");
        assert_eq!(escape("plain"), "plain");
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("&&"), "&amp;&amp;");
        assert_eq!(escape("وزیر «نفت» <گفت>"), "وزیر «نفت» &lt;گفت&gt;");
        assert_eq!(escape("<\u{1F600}>"), "&lt;\u{1F600}&gt;");
        // The same as a character at a time, on text of every kind.
        let sample = "a<b>&\"'c ی\u{200C}ك ۱۲ \u{1F600} <<>> &amp;";
        let slow: String = sample
            .chars()
            .map(|c| match c {
                '&' => "&amp;".to_string(),
                '<' => "&lt;".to_string(),
                '>' => "&gt;".to_string(),
                '"' => "&quot;".to_string(),
                '\'' => "&#39;".to_string(),
                c => c.to_string(),
            })
            .collect();
        assert_eq!(escape(sample), slow);
    }

    #[test]
    fn text_paragraphs_are_escaped() {
        assert_eq!(text_to_html("a < b\nc\n\n“q”"), "<p>a &lt; b c</p>\n<p>“q”</p>");
    }

    #[test]
    fn markdown_raw_html_is_sanitized() {
        let html = markdown_to_html("# T\n\n**b** <img src=x onerror=alert(1)>");
        assert!(html.contains("<strong>b</strong>"));
        assert!(!html.contains("onerror"));
    }
}
