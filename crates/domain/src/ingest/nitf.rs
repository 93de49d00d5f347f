//! IPTC NITF 3.x: `head/docdata` for the identity, urgency, dates and
//! keywords, `body.head` for the headline, byline, dateline and abstract,
//! `body.content` for the text. Also read inside NewsML-G2 `inlineXML`.

use super::xml::Element;
use super::{IncomingItem, IngestError, PubStatus, Subject, parse_time, parse_urgency, parse_version};

fn norm_time(el: &Element) -> Result<Option<chrono::DateTime<chrono::Utc>>, IngestError> {
    match el.attr("norm").map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse_time(v).map(Some).map_err(|r| el.error(format!("<{}> norm: {r}", el.name))),
    }
}

/// A whole NITF document.
pub(super) fn document(root: &Element) -> Result<IncomingItem, IngestError> {
    let mut item = IncomingItem::new(super::Format::Nitf);
    let lang = |e: Option<&Element>| e.and_then(|e| e.attr("xml:lang")).unwrap_or_default().trim().to_string();
    item.language = lang(Some(root));
    if let Some(head) = root.child("head") {
        if let Some(docdata) = head.child("docdata") {
            if let Some(status) = docdata.attr("management-status") {
                item.pub_status = PubStatus::parse(status).ok_or_else(|| {
                    docdata.error(format!("management-status `{status}` is not usable, withheld or canceled"))
                })?;
            }
            for el in docdata.elements() {
                match el.name.as_str() {
                    "doc-id" => item.guid = el.attr("id-string").unwrap_or_default().trim().to_string(),
                    "urgency" => {
                        if let Some(u) = el.attr("ed-urg") {
                            item.urgency = Some(parse_urgency(u).map_err(|r| el.error(r))?);
                        }
                    }
                    "du-key" => {
                        if let Some(v) = el.attr("version") {
                            item.version = parse_version(v).map_err(|r| el.error(r))?;
                        }
                    }
                    "date.issue" => item.version_created = norm_time(el)?,
                    "date.release" => item.embargoed = norm_time(el)?,
                    "key-list" => {
                        for k in el.all("keyword") {
                            let k = k.attr("key").unwrap_or_default().trim();
                            if !k.is_empty() {
                                item.keywords.push(k.to_string());
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        for tobject in head.all("tobject") {
            for s in tobject.all("tobject.subject") {
                let code = s.attr("tobject.subject.refnum").unwrap_or_default().trim().to_string();
                let name = ["tobject.subject.detail", "tobject.subject.matter", "tobject.subject.type"]
                    .iter()
                    .find_map(|k| s.attr(k).map(str::trim).filter(|v| !v.is_empty()))
                    .unwrap_or_default()
                    .to_string();
                if !(code.is_empty() && name.is_empty()) {
                    item.subjects.push(Subject { code, name });
                }
            }
        }
        if let Some(title) = head.child("title") {
            item.headline = title.clean_text();
        }
    }
    if item.guid.is_empty() {
        return Err(root.error("a NITF document without <doc-id id-string=\"...\"> in head/docdata: it has no guid"));
    }
    if item.language.is_empty() {
        item.language = lang(root.child("body"));
    }
    // The body's headline wins over head/title (a file name, often).
    let title = std::mem::take(&mut item.headline);
    fill_from_body(root, &mut item)?;
    if item.headline.is_empty() {
        item.headline = title;
    }
    Ok(item)
}

/// What `nitf/body` gives, where `item` has nothing yet: headline, byline,
/// dateline, abstract, and the body text.
pub(super) fn fill_from_body(nitf: &Element, item: &mut IncomingItem) -> Result<(), IngestError> {
    let Some(body) = nitf.child("body") else { return Ok(()) };
    if let Some(head) = body.child("body.head") {
        let text = |name: &str| head.child(name).map(Element::clean_text).unwrap_or_default();
        let hl1 = head.child("hedline").and_then(|h| h.child("hl1")).map(Element::clean_text).unwrap_or_default();
        for (field, value) in [
            (&mut item.headline, hl1),
            (&mut item.byline, text("byline")),
            (&mut item.dateline, text("dateline")),
            (&mut item.description, text("abstract")),
        ] {
            if field.is_empty() {
                *field = value;
            }
        }
    }
    if let Some(content) = body.child("body.content") {
        item.body_html = super::clean_html(&content.inner_html());
    }
    Ok(())
}
