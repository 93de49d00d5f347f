//! IPTC NewsML-G2: a `newsItem` (text with XHTML or NITF in `inlineXML`,
//! plain text in `inlineData`, pictures as `remoteContent` renditions) or a
//! `newsMessage` carrying several items.

use super::xml::Element;
use super::{
    IncomingItem, IngestError, PubStatus, Rendition, Subject, parse_time, parse_urgency, parse_version, qcode_code,
};

/// NewsML-G2 items that are not news items: refused with [`refusal`].
pub(super) const OTHER_ITEMS: &[&str] = &["packageItem", "conceptItem", "knowledgeItem", "planningItem", "catalog"];

/// Why an item of kind `name` is not taken in.
pub(super) fn refusal(name: &str) -> String {
    match name {
        "packageItem" => {
            "a NewsML-G2 packageItem (a package of other items) is not taken in: send its news items".into()
        }
        "conceptItem" | "knowledgeItem" => {
            format!("a NewsML-G2 {name} describes concepts (a vocabulary), not news: not taken in")
        }
        "planningItem" => "a NewsML-G2 planningItem (news coverage planning) is not taken in".into(),
        other => format!("a NewsML-G2 {other} is not a news item: not taken in"),
    }
}

/// The items of a `newsMessage`, in order: news items read, others refused.
pub(super) fn news_message(root: &Element) -> Result<Vec<super::Entry>, IngestError> {
    let Some(set) = root.child("itemSet") else {
        return Err(root.error("a newsMessage without <itemSet>"));
    };
    let mut items = Vec::new();
    for el in set.elements() {
        match el.name.as_str() {
            "newsItem" => items.push(Ok(news_item(el)?)),
            name => items.push(Err(el.error(if OTHER_ITEMS.contains(&name) {
                refusal(name)
            } else {
                format!("<{name}> in an itemSet is not a NewsML-G2 item")
            }))),
        }
    }
    if items.is_empty() {
        return Err(set.error("the newsMessage carries no item"));
    }
    Ok(items)
}

fn time_of(el: &Element) -> Result<chrono::DateTime<chrono::Utc>, IngestError> {
    parse_time(&el.text()).map_err(|r| el.error(format!("<{}>: {r}", el.name)))
}

/// The code of a concept: its QCode, else its URI, else its literal.
fn concept_code(el: &Element) -> String {
    el.attr("qcode").or_else(|| el.attr("uri")).or_else(|| el.attr("literal")).unwrap_or_default().trim().to_string()
}

/// The concept's name: in `lang` when it has one, else the first.
fn concept_name(el: &Element, lang: &str) -> String {
    let mut names = el.all("name");
    let first = names.next();
    let in_lang = el.all("name").find(|n| !lang.is_empty() && n.attr("xml:lang") == Some(lang));
    in_lang.or(first).map(Element::clean_text).unwrap_or_default()
}

/// One `newsItem`.
pub(super) fn news_item(root: &Element) -> Result<IncomingItem, IngestError> {
    let mut item = IncomingItem::new(super::Format::NewsmlG2);
    item.guid = root.attr("guid").unwrap_or_default().trim().to_string();
    if item.guid.is_empty() {
        return Err(root.error("a newsItem without its guid attribute"));
    }
    if let Some(v) = root.attr("version") {
        item.version = parse_version(v).map_err(|r| root.error(r))?;
    }
    item.language = root.attr("xml:lang").unwrap_or_default().trim().to_string();
    if let Some(meta) = root.child("itemMeta") {
        for el in meta.elements() {
            match el.name.as_str() {
                "itemClass" => item.kind = qcode_code(el.attr("qcode").unwrap_or("text")).to_string(),
                "versionCreated" => item.version_created = Some(time_of(el)?),
                "firstCreated" => item.first_created = Some(time_of(el)?),
                "embargoed" if !el.text().trim().is_empty() => item.embargoed = Some(time_of(el)?),
                "pubStatus" => {
                    let q = el.attr("qcode").unwrap_or_default();
                    item.pub_status = PubStatus::parse(q)
                        .ok_or_else(|| el.error(format!("pubStatus `{q}` is not usable, withheld or canceled")))?;
                }
                _ => {}
            }
        }
    }
    let mut creators = Vec::new();
    if let Some(cm) = root.child("contentMeta") {
        if let Some(lang) = cm.child("language").and_then(|l| l.attr("tag")) {
            item.language = lang.trim().to_string();
        }
        let lang = item.language.clone();
        let mut description: Option<(bool, String)> = None;
        for el in cm.elements() {
            match el.name.as_str() {
                "urgency" => item.urgency = Some(parse_urgency(&el.text()).map_err(|r| el.error(r))?),
                "headline" if item.headline.is_empty() => item.headline = el.clean_text(),
                "slugline" if item.slugline.is_empty() => item.slugline = el.clean_text(),
                "dateline" => item.dateline = el.clean_text(),
                "by" => item.byline = el.clean_text(),
                "located" if item.located.is_empty() => {
                    let name = concept_name(el, &lang);
                    item.located = if name.is_empty() { concept_code(el) } else { name };
                }
                "creator" => {
                    let name = concept_name(el, &lang);
                    if !name.is_empty() {
                        creators.push(name);
                    }
                }
                "subject" => {
                    let subject = Subject { code: concept_code(el), name: concept_name(el, &lang) };
                    if !(subject.code.is_empty() && subject.name.is_empty()) {
                        item.subjects.push(subject);
                    }
                }
                "keyword" => {
                    let k = el.clean_text();
                    if !k.is_empty() {
                        item.keywords.push(k);
                    }
                }
                "description" => {
                    let summary = matches!(el.attr("role").map(qcode_code), Some("summary"));
                    if description.as_ref().is_none_or(|(s, _)| !s && summary) {
                        description = Some((summary, el.clean_text()));
                    }
                }
                _ => {}
            }
        }
        item.description = description.map(|(_, d)| d).unwrap_or_default();
    }
    if let Some(set) = root.child("contentSet") {
        content_set(set, &mut item)?;
    }
    if item.byline.is_empty() {
        item.byline = creators.join(", ");
    }
    Ok(item)
}

fn dimension(el: &Element, key: &str) -> Result<Option<u32>, IngestError> {
    match el.attr(key).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<u32>()
            .map(Some)
            .map_err(|_| el.error(format!("{key} `{v}` of a rendition is not a whole number of pixels"))),
    }
}

fn content_set(set: &Element, item: &mut IncomingItem) -> Result<(), IngestError> {
    for el in set.elements() {
        match el.name.as_str() {
            "inlineXML" if item.body_html.is_empty() => {
                if let Some(nitf) = el.child("nitf") {
                    super::nitf::fill_from_body(nitf, item)?;
                } else if let Some(html) = el.child("html") {
                    item.body_html = super::clean_html(&html.child("body").unwrap_or(html).inner_html());
                } else {
                    item.body_html = super::clean_html(&el.inner_html());
                }
            }
            "inlineData" if item.body_html.is_empty() => {
                let text = el.text();
                let ct = el.attr("contenttype").unwrap_or("text/plain");
                item.body_html = if ct.starts_with("text/html") || ct.starts_with("application/xhtml") {
                    super::clean_html(&text)
                } else {
                    super::text_html(&text)
                };
            }
            "remoteContent" => {
                let href = el.attr("href").or_else(|| el.attr("residref")).unwrap_or_default().trim().to_string();
                if href.is_empty() {
                    return Err(el.error("a remoteContent without href or residref"));
                }
                item.renditions.push(Rendition {
                    name: qcode_code(el.attr("rendition").unwrap_or_default()).to_string(),
                    href,
                    width: dimension(el, "width")?,
                    height: dimension(el, "height")?,
                    mime: el.attr("contenttype").unwrap_or_default().trim().to_string(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}
