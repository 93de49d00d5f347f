//! Plain text out of the sanitized story HTML, for indexing and snippets.

/// Elements after which a word ends even without whitespace in the markup.
const BLOCKS: &[&str] = &[
    "p",
    "br",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "figure",
    "figcaption",
    "tr",
    "td",
    "th",
    "table",
    "hr",
    "pre",
    "section",
    "article",
];

/// The text of an HTML fragment: tags dropped (block elements become line
/// breaks), character references decoded, the contents of `script` and
/// `style` skipped, runs of whitespace collapsed.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let mut skip_until: Option<&str> = None;
    while let Some(lt) = rest.find('<') {
        if skip_until.is_none() {
            push_decoded(&mut out, &rest[..lt]);
        }
        let after = &rest[lt + 1..];
        let Some(gt) = after.find('>') else {
            // A stray `<`: text, as a browser would show it.
            if skip_until.is_none() {
                out.push('<');
            }
            rest = after;
            continue;
        };
        let tag = &after[..gt];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match skip_until {
            Some(end) if closing && name == end => skip_until = None,
            Some(_) => {}
            None if !closing && (name == "script" || name == "style") => {
                skip_until = Some(if name == "script" { "script" } else { "style" });
            }
            None if BLOCKS.contains(&name.as_str()) => out.push('\n'),
            None => {}
        }
        rest = &after[gt + 1..];
    }
    if skip_until.is_none() {
        push_decoded(&mut out, rest);
    }
    collapse_whitespace(&out)
}

fn push_decoded(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| decode_entity(&after[..e]));
        match (end, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "zwnj" => '\u{200C}',
        "zwj" => '\u{200D}',
        "laquo" => '«',
        "raquo" => '»',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        _ => return None,
    })
}

/// Collapses whitespace runs to one space, keeping one line break where a run had one.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending: Option<char> = None;
    for c in text.chars() {
        if c.is_whitespace() {
            if c == '\n' || pending.is_none() {
                pending = Some(if c == '\n' { '\n' } else { ' ' });
            }
        } else {
            if let Some(p) = pending.take()
                && !out.is_empty()
            {
                out.push(p);
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_and_decodes_references() {
        assert_eq!(
            html_to_text("<p>Oil &amp; gas</p><p>price&nbsp;rose <a href=\"/x\">5%</a></p>"),
            "Oil & gas\nprice rose 5%"
        );
        assert_eq!(html_to_text("<p>می&zwnj;روم &#1605;&#x0646;</p>"), "می\u{200C}روم من");
    }

    #[test]
    fn skips_scripts_and_keeps_stray_brackets() {
        assert_eq!(html_to_text("a<script>var x = '<b>';</script> b"), "a b");
        assert_eq!(html_to_text("1 < 2 &unknown; & 3"), "1 < 2 &unknown; & 3");
    }

    #[test]
    fn words_do_not_glue_across_blocks() {
        assert_eq!(html_to_text("<h2>Title</h2><p>Body</p>"), "Title\nBody");
    }
}
