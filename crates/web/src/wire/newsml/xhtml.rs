//! A story body (sanitized HTML) as well-formed XHTML, for NewsML-G2's
//! `inlineXML`.
//!
//! HTML is not XML: void elements have no end tag (`<br>`), entities such as
//! `&nbsp;` are not declared in XML, and attributes or tags may be unbalanced
//! in HTML that came from elsewhere. The body is read with html5ever's
//! tokenizer (the same HTML parser the sanitizer uses), which decodes every
//! character reference, and written back with quick-xml, which escapes: void
//! elements become empty elements, end tags without a matching open element are
//! dropped, elements left open are closed, and names XML cannot carry
//! (attributes like `xml:lang` or `a$b`) are left out with their values.

use std::cell::RefCell;
use std::io::Write;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts};
use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};

/// The XHTML namespace.
pub const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// HTML's void elements: never an end tag, written as `<br/>`.
const VOID: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"];

/// Elements of a document's frame, not of a body: their tags are left out (their content stays).
const FRAME: &[&str] = &["html", "head", "body"];

/// One piece of the body as XML will carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// A start tag with its attributes; `empty` for a void or self-closed element.
    Open { name: String, attrs: Vec<(String, String)>, empty: bool },
    /// An end tag.
    Close(String),
    /// Text, unescaped.
    Text(String),
}

#[derive(Default)]
struct Collect {
    pieces: RefCell<Vec<Piece>>,
}

impl TokenSink for Collect {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut pieces = self.pieces.borrow_mut();
        match token {
            Token::TagToken(tag) => {
                let name = tag.name.to_string();
                if !is_xml_name(&name) || FRAME.contains(&name.as_str()) {
                    return TokenSinkResult::Continue;
                }
                match tag.kind {
                    TagKind::StartTag => {
                        let mut attrs: Vec<(String, String)> = Vec::new();
                        for a in &tag.attrs {
                            let key = a.name.local.to_string();
                            if is_xml_name(&key) && !attrs.iter().any(|(k, _)| *k == key) {
                                attrs.push((key, a.value.to_string()));
                            }
                        }
                        let empty = tag.self_closing || VOID.contains(&name.as_str());
                        pieces.push(Piece::Open { name, attrs, empty });
                    }
                    TagKind::EndTag => pieces.push(Piece::Close(name)),
                }
            }
            Token::CharacterTokens(text) => match pieces.last_mut() {
                Some(Piece::Text(t)) => t.push_str(&text),
                _ => pieces.push(Piece::Text(text.to_string())),
            },
            // Comments, doctypes, NUL characters and parse errors carry no content.
            Token::CommentToken(_)
            | Token::DoctypeToken(_)
            | Token::NullCharacterToken
            | Token::EOFToken
            | Token::ParseError(_) => {}
        }
        TokenSinkResult::Continue
    }
}

/// A name XML 1.0 accepts without a namespace: ASCII letters first, then
/// letters, digits, `-`, `_` or `.`; nothing starting with `xml` (reserved).
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("xml"))
}

/// The pieces of `html`, balanced: every element open is closed, in order.
fn pieces(html: &str) -> Vec<Piece> {
    let tokenizer = Tokenizer::new(Collect::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // The sink never asks the tokenizer to stop for a script: feeding reads everything.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let raw = tokenizer.sink.pieces.take();
    let mut out = Vec::with_capacity(raw.len());
    let mut open: Vec<String> = Vec::new();
    for piece in raw {
        match piece {
            Piece::Open { ref name, empty, .. } => {
                if !empty {
                    open.push(name.clone());
                }
                out.push(piece);
            }
            Piece::Close(name) => {
                // `</p>` without its `<p>` (or `</br>`) is dropped; one that closes an
                // outer element closes the inner ones first.
                if let Some(at) = open.iter().rposition(|n| *n == name) {
                    while open.len() > at {
                        out.extend(open.pop().map(Piece::Close));
                    }
                }
            }
            Piece::Text(_) => out.push(piece),
        }
    }
    while let Some(name) = open.pop() {
        out.push(Piece::Close(name));
    }
    out
}

/// Writes `html` as the content of an XHTML `body` element (the caller writes
/// the `html`, `head` and `body` frame with the XHTML namespace).
pub fn write_body<W: Write>(w: &mut Writer<W>, html: &str) -> std::io::Result<()> {
    for piece in pieces(html) {
        match piece {
            Piece::Open { name, attrs, empty } => {
                let mut start = BytesStart::new(name.as_str());
                for (k, v) in &attrs {
                    start.push_attribute((k.as_str(), v.as_str()));
                }
                w.write_event(if empty { Event::Empty(start) } else { Event::Start(start) })?;
            }
            Piece::Close(name) => w.write_event(Event::End(BytesEnd::new(name.as_str())))?,
            Piece::Text(text) => w.write_event(Event::Text(BytesText::new(&text)))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xhtml(html: &str) -> String {
        let mut w = Writer::new(Vec::new());
        write_body(&mut w, html).expect("write");
        String::from_utf8(w.into_inner()).expect("utf-8")
    }

    #[test]
    fn void_elements_close_and_entities_become_characters() {
        assert_eq!(
            xhtml(
                "<p>One&nbsp;two<br>three &amp; four &lt;5&gt; &eacute;</p><hr><img src=\"/a.jpg\" alt=\"x &quot;y&quot;\">"
            ),
            "<p>One\u{a0}two<br/>three &amp; four &lt;5&gt; \u{e9}</p><hr/><img src=\"/a.jpg\" alt=\"x &quot;y&quot;\"/>"
        );
    }

    #[test]
    fn unbalanced_markup_is_balanced() {
        assert_eq!(xhtml("<p>a <b>b <i>c</b> d</p></p></br>"), "<p>a <b>b <i>c</i></b> d</p>");
        assert_eq!(xhtml("<ul><li>open"), "<ul><li>open</li></ul>");
        assert_eq!(xhtml("text</div> only"), "text only");
    }

    #[test]
    fn names_xml_cannot_carry_are_left_out() {
        assert_eq!(
            xhtml(
                "<p xml:lang=\"en\" a$b=\"1\" title=\"t\" title=\"again\" data-x=\"2\">x</p><html><body>y</body></html>"
            ),
            "<p title=\"t\" data-x=\"2\">x</p>y"
        );
        assert_eq!(xhtml("<!-- note --><!DOCTYPE html>\u{0}z"), "z");
    }
}
