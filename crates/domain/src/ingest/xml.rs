//! A small element tree read with quick-xml's streaming reader: names
//! without their namespace prefix, attributes, text, and where each element
//! starts. The documents are news items (kilobytes); a tree lets the format
//! readers look around (NITF inside NewsML-G2) without a state machine each.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::IngestError;

/// Deepest nesting accepted (real items nest about ten levels).
const MAX_DEPTH: usize = 100;

/// A node of the tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    El(Element),
    Text(String),
}

/// An element.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    /// Local name (`newsItem`, not `nar:newsItem`).
    pub name: String,
    /// Attributes by local name; `xml:lang` keeps its prefix; no `xmlns`.
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    pub line: usize,
    pub col: usize,
}

impl Element {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::El(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.elements().filter(move |e| e.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// All text inside, as written.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.push_text(&mut out);
        out
    }

    fn push_text(&self, out: &mut String) {
        for n in &self.children {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::El(e) => {
                    // Separate block elements' text (paragraphs of an abstract).
                    if !out.is_empty() && !out.ends_with(char::is_whitespace) {
                        out.push(' ');
                    }
                    e.push_text(out);
                }
            }
        }
    }

    /// All text inside, whitespace collapsed.
    pub fn clean_text(&self) -> String {
        super::collapse(&self.text())
    }

    /// An error at this element's start.
    pub fn error(&self, reason: impl Into<String>) -> IngestError {
        IngestError::text(self.line, self.col, reason)
    }

    /// The markup inside, as HTML (for the sanitizer): namespace prefixes
    /// dropped, NITF's headings as HTML headings, text escaped.
    pub fn inner_html(&self) -> String {
        let mut out = String::new();
        for n in &self.children {
            write_html(n, &mut out);
        }
        out
    }
}

fn write_html(node: &Node, out: &mut String) {
    match node {
        Node::Text(t) => out.push_str(&crate::html::escape(t)),
        Node::El(e) => {
            let tag = match e.name.as_str() {
                "hl1" | "hl2" => "h2",
                "hedline" => "h2",
                // NITF containers and anything unknown: the sanitizer keeps their content.
                other => other,
            };
            if matches!(tag, "script" | "style") {
                return;
            }
            out.push('<');
            out.push_str(tag);
            for (k, v) in &e.attrs {
                if k.contains(':') {
                    continue;
                }
                out.push(' ');
                out.push_str(k);
                out.push_str("=\"");
                out.push_str(&crate::html::escape(v));
                out.push('"');
            }
            out.push('>');
            if matches!(tag, "br" | "hr" | "img") {
                return;
            }
            for n in &e.children {
                write_html(n, out);
            }
            out.push_str("</");
            out.push_str(tag);
            out.push('>');
        }
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub(crate) fn line_col(bytes: &[u8], at: usize) -> (usize, usize) {
    let at = at.min(bytes.len());
    let before = &bytes[..at];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let start = before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
    // Characters, not bytes: count the bytes that start a UTF-8 sequence.
    let col = before[start..].iter().filter(|b| (**b & 0xC0) != 0x80).count() + 1;
    (line, col)
}

/// Line and column of offsets that only grow, each byte counted once (asking
/// [`line_col`] at every element of a large newsMessage was quadratic).
struct Lines<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
    col: usize,
}

impl Lines<'_> {
    fn at(&mut self, pos: u64) -> (usize, usize) {
        let pos = usize::try_from(pos).unwrap_or(usize::MAX).min(self.bytes.len());
        if pos < self.at {
            return line_col(self.bytes, pos);
        }
        for b in &self.bytes[self.at..pos] {
            if *b == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if (*b & 0xC0) != 0x80 {
                self.col += 1;
            }
        }
        self.at = pos;
        (self.line, self.col)
    }
}

/// The text of one of the five XML entities, or of a character reference.
fn entity(name: &str) -> Option<String> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).map(String::from);
    }
    let s = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return None,
    };
    Some(s.to_string())
}

fn local(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    match name.rsplit_once(':') {
        Some(("xml", _)) => name.into_owned(),
        Some((_, l)) => l.to_string(),
        None => name.into_owned(),
    }
}

fn element(e: &BytesStart<'_>, line: usize, col: usize) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let key = a.key.as_ref();
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| e.to_string())?;
        attrs.push((local(key), value.into_owned()));
    }
    Ok(Element { name: local(e.name().as_ref()), attrs, children: Vec::new(), line, col })
}

fn push_text(stack: &mut [Element], s: &str) {
    if let Some(top) = stack.last_mut() {
        if let Some(Node::Text(t)) = top.children.last_mut() {
            t.push_str(s);
        } else {
            top.children.push(Node::Text(s.to_string()));
        }
    }
}

/// Reads a whole document into its root element; the first problem ends the
/// reading with its line and column.
pub(crate) fn parse(text: &str) -> Result<Element, IngestError> {
    let bytes = text.as_bytes();
    let mut reader = Reader::from_reader(bytes);
    let mut buf = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut lines = Lines { bytes, at: 0, line: 1, col: 1 };
    // Positions are worked out only for an error: counting lines at every
    // event would be quadratic.
    let at = |pos: u64| {
        move |reason: String| {
            let (line, col) = line_col(bytes, usize::try_from(pos).unwrap_or(usize::MAX));
            IngestError::text(line, col, reason)
        }
    };
    loop {
        let start = reader.buffer_position();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => return Err(at(reader.error_position())(e.to_string())),
        };
        let here = at(start);
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(here("content after the end of the root element".into()));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(here(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let (line, col) = lines.at(start);
                stack.push(element(&e, line, col).map_err(&here)?);
            }
            Event::Empty(e) => {
                let (line, col) = lines.at(start);
                let el = element(&e, line, col).map_err(&here)?;
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::El(el)),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(here("an end tag without its start".into()));
                };
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::El(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|e| here(e.to_string()))?;
                if stack.is_empty() {
                    if !s.trim().is_empty() {
                        return Err(here("text outside the root element".into()));
                    }
                } else {
                    push_text(&mut stack, &s);
                }
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| here(e.to_string()))?;
                if stack.is_empty() {
                    return Err(here("text outside the root element".into()));
                }
                push_text(&mut stack, &s);
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| here(e.to_string()))?;
                let Some(s) = entity(&name) else {
                    return Err(here(format!("unknown entity `&{name};`")));
                };
                if stack.is_empty() {
                    return Err(here("text outside the root element".into()));
                }
                push_text(&mut stack, &s);
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(at(bytes.len() as u64)(format!(
                        "the file ends inside <{}> (opened at {}:{})",
                        open.name, open.line, open.col
                    )));
                }
                break;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
    root.ok_or_else(|| at(bytes.len() as u64)("no XML element in the file".into()))
}
