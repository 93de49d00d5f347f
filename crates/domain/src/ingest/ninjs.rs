//! IPTC ninjs ("News in JSON") 1.x, 2.x and 3.x. The version is told by
//! `standard.version`, else `$schema`, else the shape: 3.x writes its
//! properties in camelCase (`versionCreated`), 2.x has arrays of `headlines`
//! and `bodies`, 1.x single `headline` and `body_html`. A file may hold one
//! item or an array of items.

use serde_json::{Map, Value};

use super::{
    Association, Document, Format, IncomingItem, IngestError, PubStatus, Rendition, Subject, collapse, parse_time,
    parse_urgency, parse_version,
};

type Obj = Map<String, Value>;

const V3_KEYS: &[&str] = &[
    "firstCreated",
    "versionCreated",
    "contentCreated",
    "pubStatus",
    "embargoedUntil",
    "altIds",
    "copyrightHolder",
    "copyrightNotice",
    "usageTerms",
    "edNote",
    "infoSources",
    "representationType",
    "trustIndicators",
    "rightsInfo",
];
const V1_KEYS: &[&str] = &[
    "guid",
    "headline",
    "body_html",
    "body_text",
    "body_xhtml",
    "subject",
    "byline",
    "description_text",
    "description_html",
    "place",
    "person",
    "organisation",
    "mimetype",
];

/// Reads a ninjs document: one item or an array of items.
pub(super) fn parse(text: &str) -> Result<Document, IngestError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        let (line, col) = (e.line(), e.column());
        let reason = e.to_string();
        let reason = reason.strip_suffix(&format!(" at line {line} column {col}")).unwrap_or(&reason);
        IngestError::text(line, col, format!("not valid JSON: {reason}"))
    })?;
    match value {
        Value::Object(obj) => {
            let (major, item) = item(&obj, "$")?;
            Ok(Document { format: Format::Ninjs(major), items: vec![Ok(item)] })
        }
        Value::Array(list) => {
            if list.is_empty() {
                return Err(IngestError::json("$", "an empty array: no ninjs item"));
            }
            let mut items = Vec::new();
            let mut format = Format::Ninjs(2);
            for (i, v) in list.iter().enumerate() {
                let path = format!("$[{i}]");
                let Value::Object(obj) = v else {
                    return Err(IngestError::json(&path, "expected a ninjs object"));
                };
                let (major, item) = item(obj, &path)?;
                format = Format::Ninjs(major);
                items.push(Ok(item));
            }
            Ok(Document { format, items })
        }
        _ => Err(IngestError::json("$", "expected a ninjs object (or an array of them)")),
    }
}

/// The major version of `obj`'s ninjs.
fn major(obj: &Obj, path: &str) -> Result<u8, IngestError> {
    let from = |s: &str, at: &str| -> Result<u8, IngestError> {
        match s.trim().chars().next().and_then(|c| c.to_digit(10)) {
            Some(d @ 1..=3) => Ok(d as u8),
            _ => Err(IngestError::json(at, format!("ninjs version `{s}` is not supported (1.x, 2.x and 3.x are)"))),
        }
    };
    if let Some(Value::String(v)) = obj.get("standard").and_then(|s| s.get("version")) {
        return from(v, &format!("{path}.standard.version"));
    }
    if let Some(Value::String(schema)) = obj.get("$schema")
        && let Some(at) = schema.find("ninjs-schema_")
    {
        return from(&schema[at + "ninjs-schema_".len()..], &format!("{path}.$schema"));
    }
    if V3_KEYS.iter().any(|k| obj.contains_key(*k)) {
        Ok(3)
    } else if V1_KEYS.iter().any(|k| obj.contains_key(*k)) {
        Ok(1)
    } else {
        Ok(2)
    }
}

/// Typed access to an object's properties, with the path in each error.
struct At<'a> {
    obj: &'a Obj,
    path: &'a str,
}

impl<'a> At<'a> {
    fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn err(&self, key: &str, reason: impl Into<String>) -> IngestError {
        IngestError::json(&self.path(key), reason)
    }

    fn string(&self, key: &str) -> Result<Option<&'a str>, IngestError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.err(key, "expected a string")),
        }
    }

    fn text(&self, key: &str) -> Result<String, IngestError> {
        Ok(self.string(key)?.map(collapse).unwrap_or_default())
    }

    fn array(&self, key: &str) -> Result<&'a [Value], IngestError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.err(key, "expected an array")),
        }
    }

    fn object(&self, key: &str) -> Result<Option<&'a Obj>, IngestError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(o)) => Ok(Some(o)),
            Some(_) => Err(self.err(key, "expected an object")),
        }
    }

    fn time(&self, key: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, IngestError> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => parse_time(s).map(Some).map_err(|r| self.err(key, r)),
        }
    }

    /// A whole number that the JSON may write as a number or a string.
    fn number(&self, key: &str) -> Result<Option<String>, IngestError> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.err(key, "expected a number")),
        }
    }

    fn pixels(&self, key: &str) -> Result<Option<u32>, IngestError> {
        match self.number(key)? {
            None => Ok(None),
            Some(n) => {
                n.parse::<u32>().map(Some).map_err(|_| self.err(key, format!("`{n}` is not a whole number of pixels")))
            }
        }
    }
}

/// The objects of an array, each with its path.
fn objects<'a>(at: &At<'a>, key: &str) -> Result<Vec<(String, &'a Obj)>, IngestError> {
    let mut out = Vec::new();
    for (i, v) in at.array(key)?.iter().enumerate() {
        let path = format!("{}[{i}]", at.path(key));
        match v {
            Value::Object(o) => out.push((path, o)),
            _ => return Err(IngestError::json(&path, "expected an object")),
        }
    }
    Ok(out)
}

pub(super) use crate::html::plain_text as html_text;

/// One role-tagged text of an array (`headlines`, `descriptions`, `bodies`):
/// the one with `role`, else the first; with whether it is HTML.
fn pick(at: &At<'_>, key: &str, role: &str) -> Result<Option<(String, bool)>, IngestError> {
    let mut chosen: Option<(String, bool)> = None;
    for (path, o) in objects(at, key)? {
        let it = At { obj: o, path: &path };
        let value = it.string("value")?.unwrap_or_default().to_string();
        let ct = match it.string("contenttype")? {
            Some(ct) => Some(ct),
            None => it.string("contentType")?,
        };
        let html = ct.is_some_and(|c| c.contains("html"));
        let is_role = it.string("role")? == Some(role);
        if chosen.is_none() || is_role {
            chosen = Some((value, html));
            if is_role {
                break;
            }
        }
    }
    Ok(chosen)
}

fn item(obj: &Obj, path: &str) -> Result<(u8, IncomingItem), IngestError> {
    let major = major(obj, path)?;
    let at = At { obj, path };
    let mut item = IncomingItem::new(Format::Ninjs(major));
    let (first, second) = if major == 1 { ("guid", "uri") } else { ("uri", "guid") };
    item.guid = match at.string(first)? {
        Some(g) if !g.trim().is_empty() => g.trim().to_string(),
        _ => at.string(second)?.unwrap_or_default().trim().to_string(),
    };
    if item.guid.is_empty() {
        return Err(IngestError::json(&at.path("uri"), "missing: a ninjs item needs its uri (or guid)"));
    }
    if let Some(v) = at.number("version")? {
        item.version = parse_version(&v).map_err(|r| at.err("version", r))?;
    }
    if let Some(t) = at.string("type")? {
        item.kind = t.trim().to_string();
    }
    if let Some(u) = at.number("urgency")? {
        item.urgency = Some(parse_urgency(&u).map_err(|r| at.err("urgency", r))?);
    }
    item.slugline = at.text("slugline")?;
    item.located = at.text("located")?;
    item.language = at.text("language")?;
    let camel = major == 3;
    let key = |lower: &'static str, upper: &'static str| if camel { upper } else { lower };
    item.first_created = at.time(key("firstcreated", "firstCreated"))?;
    item.version_created = at.time(key("versioncreated", "versionCreated"))?;
    item.embargoed = at.time(key("embargoed", "embargoedUntil"))?;
    let status_key = key("pubstatus", "pubStatus");
    if let Some(s) = at.string(status_key)? {
        item.pub_status = PubStatus::parse(s)
            .ok_or_else(|| at.err(status_key, format!("`{s}` is not usable, withheld or canceled")))?;
    }
    if major == 1 {
        item.headline = at.text("headline")?;
        item.byline = at.text("byline")?;
        item.description = match at.string("description_text")? {
            Some(t) => collapse(t),
            None => at.string("description_html")?.map(html_text).unwrap_or_default(),
        };
        item.body_html = if let Some(h) = at.string("body_html")? {
            super::clean_html(h)
        } else if let Some(h) = at.string("body_xhtml")? {
            super::clean_html(h)
        } else {
            at.string("body_text")?.map(super::text_html).unwrap_or_default()
        };
        for (p, o) in objects(&at, "subject")? {
            let s = At { obj: o, path: &p };
            let code = s.text("code")?;
            let scheme = s.text("scheme")?;
            let code = if scheme.is_empty() || code.is_empty() { code } else { format!("{scheme}:{code}") };
            item.subjects.push(Subject { code, name: s.text("name")? });
        }
        for (i, k) in at.array("keywords")?.iter().enumerate() {
            match k {
                Value::String(k) if !k.trim().is_empty() => item.keywords.push(collapse(k)),
                Value::String(_) => {}
                _ => return Err(IngestError::json(&format!("{}[{i}]", at.path("keywords")), "expected a string")),
            }
        }
        if let Some(map) = at.object("renditions")? {
            for (name, v) in map {
                let p = format!("{}.{name}", at.path("renditions"));
                let Value::Object(o) = v else { return Err(IngestError::json(&p, "expected an object")) };
                item.renditions.push(rendition(&At { obj: o, path: &p }, name, "mimetype")?);
            }
        }
        if let Some(map) = at.object("associations")? {
            for (name, v) in map {
                let p = format!("{}.{name}", at.path("associations"));
                let Value::Object(o) = v else { return Err(IngestError::json(&p, "expected an object")) };
                let a = At { obj: o, path: &p };
                let guid = match a.string("guid")? {
                    Some(g) => g.trim().to_string(),
                    None => a.text("uri")?,
                };
                item.associations.push(Association { name: name.clone(), guid });
            }
        }
    } else {
        item.headline = pick(&at, "headlines", "main")?
            .map(|(h, html)| if html { html_text(&h) } else { collapse(&h) })
            .unwrap_or_default();
        item.byline = at.text("by")?;
        item.description = pick(&at, "descriptions", "summary")?
            .map(|(d, html)| if html { html_text(&d) } else { collapse(&d) })
            .unwrap_or_default();
        item.body_html = pick(&at, "bodies", "main")?
            .map(|(b, html)| if html { super::clean_html(&b) } else { super::text_html(&b) })
            .unwrap_or_default();
        for (p, o) in objects(&at, "subjects")? {
            let s = At { obj: o, path: &p };
            let code = match s.string("uri")? {
                Some(u) => u.trim().to_string(),
                None => s.text("literal")?,
            };
            item.subjects.push(Subject { code, name: s.text("name")? });
        }
        for (p, o) in objects(&at, "renditions")? {
            let r = At { obj: o, path: &p };
            let name = r.text("name")?;
            item.renditions.push(rendition(&r, &name, key("contenttype", "contentType"))?);
        }
        for (p, o) in objects(&at, "associations")? {
            let a = At { obj: o, path: &p };
            item.associations.push(Association { name: a.text("name")?, guid: a.text("uri")? });
        }
    }
    Ok((major, item))
}

fn rendition(r: &At<'_>, name: &str, mime_key: &str) -> Result<Rendition, IngestError> {
    let href = r.text("href")?;
    if href.is_empty() {
        return Err(r.err("href", "missing: a rendition needs its href"));
    }
    Ok(Rendition {
        name: name.to_string(),
        href,
        width: r.pixels("width")?,
        height: r.pixels("height")?,
        mime: r.text(mime_key)?,
    })
}
