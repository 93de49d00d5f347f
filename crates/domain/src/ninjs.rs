//! IPTC ninjs 2.2 ("News in JSON"): the form in which the wire hands stories
//! to subscribers, and the mapping from a [`Story`].
//!
//! Only the properties newsdesk fills are modelled; the schema
//! (`schemas/ninjs/ninjs-schema_2.2.json`) allows no others. Times are
//! RFC 3339 in UTC; URIs are absolute.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::{Edition, Section, Story, StoryStatus};

/// The ninjs version the wire speaks.
pub const NINJS_VERSION: &str = "2.2";
/// The schema URI of that version.
pub const NINJS_SCHEMA: &str = "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json";

/// One news item in ninjs 2.2.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Item {
    /// Globally unique, stable across versions: `{public_url}/news/{id}`.
    pub uri: String,
    /// Always `text` (a story).
    #[serde(rename = "type")]
    pub item_type: &'static str,
    /// `full`, or `partial` for a retraction (the content is left out).
    pub representationtype: &'static str,
    /// The standard and version followed.
    pub standard: Standard,
    /// The story's version number (grows with every save and status change).
    pub version: String,
    /// When the story was first created.
    pub firstcreated: String,
    /// When this version was made public (publish, public update, or take-down).
    pub versioncreated: String,
    /// Release time of a story scheduled for later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embargoed: Option<String>,
    /// `usable`, `withheld` (unpublished / not public) or `canceled` (killed).
    pub pubstatus: &'static str,
    /// BCP 47 language of the edition.
    pub language: String,
    /// Holder of the copyright.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub copyrightholder: String,
    /// Terms of use for subscribers.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub usageterms: String,
    /// The News ID, and for a story fetched from another agency's item that
    /// item's guid (`sourceguid`) and version (`sourceversion`).
    pub altids: Vec<AltId>,
    /// The agency a story fetched from a wire item came from (see [`add_provenance`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub infosources: Vec<InfoSource>,
    /// The headline (`role: main`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headlines: Vec<Text>,
    /// The lead (`role: summary`) and the public corrections (`role: correction`, oldest first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub descriptions: Vec<Text>,
    /// The body as sanitized HTML.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bodies: Vec<Body>,
    /// Byline: the authors' names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The section (each level) and the tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<Subject>,
    /// The lead photo.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub renditions: Vec<Rendition>,
    /// The lead photo as a picture of its own, with its creator and rights.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub associations: Vec<Association>,
    /// Editorial urgency: 1 (flash) … 8 (lowest).
    pub urgency: i64,
    /// The desk's short name of the story.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub slugline: String,
    /// The dateline's place.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub located: String,
    /// IPTC genres.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<GenreRef>,
    /// The editor's note to subscribers (not for publication).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ednote: String,
}

/// An IPTC genre of the item.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GenreRef {
    /// The genre's name in the item's language.
    pub name: String,
    /// `http://cv.iptc.org/newscodes/genre/Analysis`.
    pub uri: String,
    /// The qcode, `genre:Analysis`.
    pub literal: String,
}

/// `standard`: which specification the item follows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Standard {
    /// `ninjs`.
    pub name: &'static str,
    /// `2.2`.
    pub version: &'static str,
    /// The schema URI.
    pub schema: &'static str,
}

/// An identifier in another scheme.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AltId {
    /// Scheme of the id (`newsid`).
    pub role: &'static str,
    /// The id.
    pub value: String,
}

/// A party the content came from (ninjs `infosources`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InfoSource {
    /// Its name (the ingest source's name).
    pub name: String,
    /// Its role, as a URI: [`CONTENT_SOURCE_ROLE`].
    pub role: &'static str,
    /// Its identifier as free text (the ingest source's name).
    pub literal: String,
}

/// IPTC Content Production Party Role "Content Source" (`cpprole:contentSource`):
/// a party which contributed to the content as a source.
pub const CONTENT_SOURCE_ROLE: &str = "http://cv.iptc.org/newscodes/contentprodpartyrole/contentSource";

/// The `altids` role of the guid of the item a story was fetched from.
pub const SOURCE_GUID_ROLE: &str = "sourceguid";
/// The `altids` role of the version of that item.
pub const SOURCE_VERSION_ROLE: &str = "sourceversion";

/// Marks `item` as made from version `version` of item `guid` of the
/// ingest source `source`: the guid and version as `altids`, the source as
/// an `infosources` party with the role [`CONTENT_SOURCE_ROLE`].
pub fn add_provenance(item: &mut Item, source: &str, guid: &str, version: u32) {
    item.altids.push(AltId { role: SOURCE_GUID_ROLE, value: guid.to_string() });
    item.altids.push(AltId { role: SOURCE_VERSION_ROLE, value: version.to_string() });
    item.infosources.push(InfoSource {
        name: source.to_string(),
        role: CONTENT_SOURCE_ROLE,
        literal: source.to_string(),
    });
}

/// A headline or description.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Text {
    /// `main` or `summary` (descriptions: also `correction`).
    pub role: &'static str,
    /// `text/plain`.
    pub contenttype: &'static str,
    /// The text.
    pub value: String,
}

/// A body.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Body {
    /// `main`.
    pub role: &'static str,
    /// `text/html`.
    pub contenttype: &'static str,
    /// Characters of the text without markup.
    pub charcount: usize,
    /// Words of the text without markup.
    pub wordcount: usize,
    /// Sanitized HTML.
    pub value: String,
}

/// A section or tag.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Subject {
    /// Display name.
    pub name: String,
    /// `section`, `tag` or `mediatopic` (an IPTC Media Topic).
    pub rel: &'static str,
    /// The section path, tag slug or Media Topic qcode.
    pub literal: String,
    /// The section's or tag's page.
    pub uri: String,
}

/// A rendition of the lead photo or of a gallery's photo.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rendition {
    /// `leadphoto` (a gallery's photo: `original`).
    pub name: &'static str,
    /// Absolute URL of the image.
    pub href: String,
    /// Media type.
    pub contenttype: String,
    /// Width in pixels, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    /// Height in pixels, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
}

/// An associated item (ninjs 2.2 `associations`): the lead photo as a
/// `picture`, with the photographer (`by`), its own copyright notice and usage
/// terms, caption and credit line (`descriptions`, roles `caption` and
/// `creditline`), headline, when it was taken, and its rendition.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Association {
    /// `leadphoto`, or `gallery-1`, `gallery-2`, … for the photos of the
    /// story's galleries in the order readers see them.
    pub name: String,
    /// The picture's URI: its content address (the original's absolute URL).
    pub uri: String,
    /// `picture`.
    #[serde(rename = "type")]
    pub item_type: &'static str,
    /// `full`.
    pub representationtype: &'static str,
    /// The photo's headline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headlines: Vec<Text>,
    /// Caption and credit line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub descriptions: Vec<Text>,
    /// The photographer (IPTC creator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The photo's copyright notice.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub copyrightnotice: String,
    /// The photo's usage terms.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub usageterms: String,
    /// When the photo was taken, when the file said so to the second with its offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contentcreated: Option<String>,
    /// The picture.
    pub renditions: Vec<Rendition>,
}

/// The association of a story's lead photo.
fn photo_association(photo: &crate::Photo, rendition: Rendition) -> Association {
    picture_association("leadphoto".into(), photo, &photo.caption, &photo.credit, rendition)
}

/// A photo as an associated picture named `name`, with the caption and credit of this use.
fn picture_association(
    name: String,
    photo: &crate::Photo,
    caption: &str,
    credit: &str,
    rendition: Rendition,
) -> Association {
    let d = &photo.details;
    let text = |role, value: &str| {
        (!value.trim().is_empty()).then(|| Text { role, contenttype: "text/plain", value: value.to_string() })
    };
    Association {
        name,
        uri: rendition.href.clone(),
        item_type: "picture",
        representationtype: "full",
        headlines: text("main", &d.headline).into_iter().collect(),
        descriptions: [text("caption", caption), text("creditline", credit)].into_iter().flatten().collect(),
        by: (!d.creator.trim().is_empty()).then(|| d.creator.clone()),
        copyrightnotice: d.copyright.clone(),
        usageterms: d.usage_terms.clone(),
        contentcreated: DateTime::parse_from_rfc3339(&d.date_created).ok().map(|_| d.date_created.clone()),
        renditions: vec![rendition],
    }
}

/// What the mapping needs besides the story.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Absolute base URL of the site, no trailing slash.
    pub public_url: &'a str,
    /// The story's edition.
    pub edition: &'a Edition,
    /// The story's section and its ancestors, top-down (may be empty if unknown).
    pub section_trail: &'a [Section],
    /// Copyright holder (empty: the edition's name).
    pub copyright_holder: &'a str,
    /// Terms of use.
    pub usage_terms: &'a str,
}

/// A time as ninjs writes it: RFC 3339 in UTC, seconds.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The stable URI of a story on the wire.
pub fn story_uri(public_url: &str, news_id: crate::NewsId) -> String {
    format!("{public_url}/news/{news_id}")
}

/// The ninjs `pubstatus` of a workflow state.
pub fn pubstatus(status: StoryStatus) -> &'static str {
    match status {
        StoryStatus::Published => "usable",
        StoryStatus::Killed => "canceled",
        StoryStatus::Unpublished | StoryStatus::Draft | StoryStatus::Submitted | StoryStatus::Scheduled => "withheld",
    }
}

/// When the current version of a story became what it is: the public update or
/// publish time while published, else the last change (the take-down).
pub fn version_time(story: &Story) -> DateTime<Utc> {
    match story.status {
        StoryStatus::Published => story.public_modified().unwrap_or(story.modified_at),
        _ => story.modified_at,
    }
}

/// Maps a story to a ninjs item.
pub fn from_story(story: &Story, cx: &Context<'_>) -> Item {
    let base = cx.public_url;
    let prefix = if cx.edition.is_default { String::new() } else { format!("/{}", cx.edition.lang) };
    let first = story.published_at.map_or(story.created_at, |p| p.min(story.created_at));
    let embargoed = match (story.status, story.published_at) {
        (StoryStatus::Scheduled, Some(at)) => Some(time(at)),
        _ => None,
    };
    let mut subjects: Vec<Subject> = cx
        .section_trail
        .iter()
        .map(|s| Subject {
            name: s.name.clone(),
            rel: "section",
            literal: s.path.clone(),
            uri: format!("{base}{prefix}/section/{}", crate::slug::encode_path(&s.path)),
        })
        .collect();
    subjects.extend(story.tags.iter().map(|t| Subject {
        name: t.name.clone(),
        rel: "tag",
        literal: t.slug.clone(),
        uri: format!("{base}{prefix}/tag/{}", crate::slug::encode_path(&t.slug)),
    }));
    let lang = cx.edition.lang.as_str();
    subjects.extend(story.agency.subjects.iter().filter_map(|q| crate::mediatopic::get(q)).map(|t| Subject {
        name: t.name(lang).to_string(),
        rel: "mediatopic",
        literal: t.qcode.clone(),
        uri: t.uri.clone(),
    }));
    let genres = story
        .agency
        .genres
        .iter()
        .filter_map(|g| crate::agency::genre(g))
        .map(|g| GenreRef { name: g.name(lang).to_string(), uri: g.uri(), literal: g.qcode.clone() })
        .collect();
    let body_html = absolute_links(&story.body_html, base);
    let text = strip_tags(&body_html);
    let bodies = if body_html.trim().is_empty() {
        Vec::new()
    } else {
        vec![Body {
            role: "main",
            contenttype: "text/html",
            charcount: text.chars().count(),
            wordcount: text.split_whitespace().count(),
            value: body_html,
        }]
    };
    let by = (!story.authors.is_empty())
        .then(|| story.authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "));
    let renditions: Vec<Rendition> = story
        .photo
        .iter()
        .map(|p| Rendition {
            name: "leadphoto",
            href: format!("{base}{}", p.path()),
            contenttype: p.mime.clone(),
            width: (p.width > 0).then_some(p.width),
            height: (p.height > 0).then_some(p.height),
        })
        .collect();
    let associations =
        story.photo.iter().zip(renditions.iter().cloned()).map(|(p, r)| photo_association(p, r)).collect();
    let mut item = Item {
        uri: story_uri(base, story.news_id),
        item_type: "text",
        representationtype: "full",
        standard: Standard { name: "ninjs", version: NINJS_VERSION, schema: NINJS_SCHEMA },
        version: story.version.to_string(),
        firstcreated: time(first),
        versioncreated: time(version_time(story)),
        embargoed,
        pubstatus: pubstatus(story.status),
        language: cx.edition.lang.clone(),
        copyrightholder: if cx.copyright_holder.is_empty() {
            cx.edition.name.clone()
        } else {
            cx.copyright_holder.to_string()
        },
        usageterms: cx.usage_terms.to_string(),
        altids: vec![AltId { role: "newsid", value: story.news_id.to_string() }],
        infosources: Vec::new(),
        headlines: vec![Text { role: "main", contenttype: "text/plain", value: story.headline.clone() }],
        descriptions: if story.lead.trim().is_empty() {
            Vec::new()
        } else {
            vec![Text { role: "summary", contenttype: "text/plain", value: story.lead.clone() }]
        },
        bodies,
        by,
        subjects,
        renditions,
        associations,
        urgency: story.agency.urgency,
        slugline: story.agency.slugline.clone(),
        located: story.agency.located.clone(),
        genres,
        ednote: story.agency.ednote.clone(),
    };
    if matches!(
        story.status,
        StoryStatus::Unpublished | StoryStatus::Killed | StoryStatus::Draft | StoryStatus::Submitted
    ) {
        // A retraction names the item but does not hand out its content again
        // (a kill is often for legal reasons); subjects stay for routing.
        item.representationtype = "partial";
        item.headlines.clear();
        item.descriptions.clear();
        item.bodies.clear();
        item.by = None;
        item.renditions.clear();
        item.associations.clear();
    }
    item
}

/// Adds the photos of a story's galleries (its lead gallery first, then those
/// of its body, in order) to a full item as associated pictures `gallery-1`,
/// `gallery-2`, … with the caption and credit of each use. A retraction hands
/// out no photo.
pub fn add_gallery_photos(item: &mut Item, galleries: &[crate::gallery::Gallery], public_url: &str) {
    if item.representationtype != "full" {
        return;
    }
    let items = galleries.iter().flat_map(|g| g.items.iter());
    for (n, it) in items.enumerate() {
        let p = &it.photo;
        let rendition = Rendition {
            name: "original",
            href: format!("{public_url}{}", p.path()),
            contenttype: p.mime.clone(),
            width: (p.width > 0).then_some(p.width),
            height: (p.height > 0).then_some(p.height),
        };
        let name = format!("gallery-{}", n + 1);
        item.associations.push(picture_association(name, p, it.shown_caption(), it.shown_credit(), rendition));
    }
}

/// Adds a story's public corrections (oldest first) to a full item, as
/// descriptions with the role `correction` (ninjs 2.2 has no field of its own
/// for them). A retraction carries no content, so no corrections either.
pub fn add_corrections<'a>(item: &mut Item, notes: impl IntoIterator<Item = &'a str>) {
    if item.representationtype != "full" {
        return;
    }
    item.descriptions.extend(notes.into_iter().filter(|n| !n.trim().is_empty()).map(|n| Text {
        role: "correction",
        contenttype: "text/plain",
        value: n.to_string(),
    }));
}

/// Makes site-relative `src` and `href` values absolute, so the HTML works
/// where subscribers show it. The body was serialized by the sanitizer, which
/// always double-quotes attribute values.
fn absolute_links(html: &str, base: &str) -> String {
    html.replace("src=\"/", &format!("src=\"{base}/")).replace("href=\"/", &format!("href=\"{base}/"))
}

/// The text of sanitized HTML without tags (entities left as they are; only for counting).
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Author, BodyFormat, Direction, Photo, Tag};
    use chrono::TimeZone;

    fn utc(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 7, 22, h, 0, 0).single().expect("time")
    }

    fn edition(default: bool) -> Edition {
        Edition {
            id: 1,
            lang: if default { "en".into() } else { "fa".into() },
            name: "Test Agency".into(),
            direction: Direction::Ltr,
            time_zone: chrono_tz::Asia::Tehran,
            is_default: default,
            calendar: crate::calendar::Calendar::Gregorian,
            digits: crate::calendar::Digits::Latin,
        }
    }

    fn section(id: i64, parent: Option<i64>, slug: &str, name: &str, path: &str) -> Section {
        Section {
            id,
            edition_id: 1,
            parent_id: parent,
            slug: slug.into(),
            name: name.into(),
            path: path.into(),
            position: 1,
        }
    }

    fn story(status: StoryStatus) -> Story {
        Story {
            news_id: 84427,
            edition_id: 1,
            section_id: 2,
            slug: "a-story".into(),
            headline: "Head & line".into(),
            lead: "The lead.".into(),
            body_html: "<p>One two <a href=\"/news/1\">three</a></p><img src=\"/media/x.jpg\" alt=\"\">".into(),
            body_source: String::new(),
            body_format: BodyFormat::Html,
            status,
            published_at: Some(utc(10)),
            updated_at: Some(utc(12)),
            created_at: utc(9),
            modified_at: utc(14),
            version: 4,
            agency: Default::default(),
            photo: Some(Photo {
                id: 1,
                sha256: "ab".repeat(32),
                mime: "image/png".into(),
                width: 800,
                height: 600,
                caption: String::new(),
                credit: String::new(),
                details: Default::default(),
            }),
            tags: vec![Tag { id: 1, slug: "defense".into(), name: "Defense".into() }],
            authors: vec![
                Author { id: 1, slug: "jane".into(), name: "Jane".into() },
                Author { id: 2, slug: "joe".into(), name: "Joe".into() },
            ],
            live_since: None,
            live_until: None,
            gallery_id: None,
        }
    }

    fn map(s: &Story, default: bool) -> Item {
        let e = edition(default);
        let trail =
            [section(1, None, "iran", "Iran", "iran"), section(2, Some(1), "defense", "Defense", "iran/defense")];
        from_story(
            s,
            &Context {
                public_url: "https://news.example",
                edition: &e,
                section_trail: &trail,
                copyright_holder: "",
                usage_terms: "Subscribers only.",
            },
        )
    }

    #[test]
    fn a_published_story_maps_every_field() {
        let item = map(&story(StoryStatus::Published), true);
        assert_eq!(item.uri, "https://news.example/news/84427");
        assert_eq!(item.version, "4");
        assert_eq!(item.pubstatus, "usable");
        assert_eq!(item.firstcreated, "2024-07-22T09:00:00Z");
        assert_eq!(item.versioncreated, "2024-07-22T12:00:00Z");
        assert_eq!(item.embargoed, None);
        assert_eq!(item.language, "en");
        assert_eq!(item.copyrightholder, "Test Agency");
        assert_eq!(item.usageterms, "Subscribers only.");
        assert_eq!(item.headlines[0].value, "Head & line");
        assert_eq!(item.descriptions[0].value, "The lead.");
        assert_eq!(item.by.as_deref(), Some("Jane, Joe"));
        let body = &item.bodies[0];
        assert!(body.value.contains("href=\"https://news.example/news/1\""), "{}", body.value);
        assert!(body.value.contains("src=\"https://news.example/media/x.jpg\""), "{}", body.value);
        assert_eq!(body.wordcount, 3);
        let subjects: Vec<(&str, &str, &str)> =
            item.subjects.iter().map(|s| (s.rel, s.literal.as_str(), s.uri.as_str())).collect();
        assert_eq!(
            subjects,
            [
                ("section", "iran", "https://news.example/section/iran"),
                ("section", "iran/defense", "https://news.example/section/iran/defense"),
                ("tag", "defense", "https://news.example/tag/defense"),
            ]
        );
        let r = &item.renditions[0];
        assert_eq!(r.href, format!("https://news.example/media/{}.png", "ab".repeat(32)));
        assert_eq!((r.contenttype.as_str(), r.width, r.height), ("image/png", Some(800), Some(600)));
    }

    #[test]
    fn the_lead_photo_is_an_associated_picture_with_its_creator_and_rights() {
        let mut s = story(StoryStatus::Published);
        let json = serde_json::to_value(map(&s, true)).expect("json");
        assert_eq!(
            json["associations"],
            serde_json::json!([{
                "name": "leadphoto",
                "uri": format!("https://news.example/media/{}.png", "ab".repeat(32)),
                "type": "picture",
                "representationtype": "full",
                "renditions": [{"name": "leadphoto", "href": format!("https://news.example/media/{}.png", "ab".repeat(32)),
                    "contenttype": "image/png", "width": 800, "height": 600}]
            }]),
            "a photo without text is still associated"
        );
        let photo = s.photo.as_mut().expect("photo");
        photo.caption = "زیرنویس عکس".into();
        photo.credit = "Photo: Jane Roe / Agency".into();
        photo.details = crate::photo_meta::PhotoDetails {
            headline: "Dawn".into(),
            creator: "Jane Roe".into(),
            copyright: "© 2024 Jane Roe".into(),
            source: "Agency".into(),
            date_created: "2024-07-22T06:15:30+03:30".into(),
            keywords: vec!["harbour".into()],
            usage_terms: "Editorial use only".into(),
        };
        let json = serde_json::to_value(map(&s, true)).expect("json");
        let a = &json["associations"][0];
        assert_eq!(a["by"], "Jane Roe");
        assert_eq!(a["copyrightnotice"], "© 2024 Jane Roe");
        assert_eq!(a["usageterms"], "Editorial use only");
        assert_eq!(a["contentcreated"], "2024-07-22T06:15:30+03:30");
        assert_eq!(a["headlines"], serde_json::json!([{"role": "main", "contenttype": "text/plain", "value": "Dawn"}]));
        assert_eq!(
            a["descriptions"],
            serde_json::json!([
                {"role": "caption", "contenttype": "text/plain", "value": "زیرنویس عکس"},
                {"role": "creditline", "contenttype": "text/plain", "value": "Photo: Jane Roe / Agency"}
            ])
        );
        assert_eq!(json["copyrightholder"], "Test Agency", "the story's own rights are the agency's");
        // A date without a time or offset is no ninjs date-time: left out.
        s.photo.as_mut().expect("photo").details.date_created = "2024-07-22".into();
        assert!(serde_json::to_value(map(&s, true)).expect("json")["associations"][0].get("contentcreated").is_none());
        // A retraction hands out no photo.
        assert!(map(&story(StoryStatus::Killed), true).associations.is_empty());
    }

    #[test]
    fn status_maps_to_pubstatus_and_takedown_time() {
        let killed = map(&story(StoryStatus::Killed), true);
        assert_eq!(killed.pubstatus, "canceled");
        assert_eq!(killed.versioncreated, "2024-07-22T14:00:00Z");
        // A retraction does not hand the content out again.
        assert_eq!(killed.representationtype, "partial");
        assert!(killed.headlines.is_empty() && killed.bodies.is_empty() && killed.descriptions.is_empty());
        assert!(killed.renditions.is_empty() && killed.by.is_none());
        assert_eq!(killed.uri, "https://news.example/news/84427");
        assert_eq!(map(&story(StoryStatus::Published), true).representationtype, "full");
        assert_eq!(map(&story(StoryStatus::Unpublished), true).pubstatus, "withheld");
        let scheduled = map(&story(StoryStatus::Scheduled), true);
        assert_eq!(scheduled.pubstatus, "withheld");
        assert_eq!(scheduled.embargoed.as_deref(), Some("2024-07-22T10:00:00Z"));
    }

    #[test]
    fn uri_is_stable_across_edits_and_other_editions_prefix_their_pages() {
        let mut s = story(StoryStatus::Published);
        let before = map(&s, true).uri;
        s.slug = "another-slug".into();
        s.headline = "Changed".into();
        s.version += 1;
        assert_eq!(map(&s, true).uri, before);
        let fa = map(&s, false);
        assert_eq!(fa.language, "fa");
        assert_eq!(fa.subjects[0].uri, "https://news.example/fa/section/iran");
    }

    #[test]
    fn empty_parts_are_left_out_of_the_json() {
        let mut s = story(StoryStatus::Published);
        s.photo = None;
        s.authors.clear();
        s.lead.clear();
        let json = serde_json::to_value(map(&s, true)).expect("json");
        for key in ["renditions", "by", "descriptions", "embargoed", "infosources"] {
            assert!(json.get(key).is_none(), "{key} should be absent: {json}");
        }
        assert_eq!(json["type"], "text");
        assert_eq!(json["standard"]["version"], "2.2");
    }

    #[test]
    fn provenance_is_carried_as_altids_and_an_infosource() {
        let mut item = map(&story(StoryStatus::Published), true);
        add_provenance(&mut item, "afp", "urn:newsml:afp.com:1", 3);
        let json = serde_json::to_value(&item).expect("json");
        assert_eq!(
            json["altids"],
            serde_json::json!([
                {"role": "newsid", "value": item.altids[0].value},
                {"role": "sourceguid", "value": "urn:newsml:afp.com:1"},
                {"role": "sourceversion", "value": "3"},
            ])
        );
        assert_eq!(
            json["infosources"],
            serde_json::json!([{"name": "afp", "role": CONTENT_SOURCE_ROLE, "literal": "afp"}])
        );
    }

    #[test]
    fn agency_metadata_maps_to_ninjs_fields_and_media_topic_subjects() {
        let mut s = story(StoryStatus::Published);
        let json = serde_json::to_value(map(&s, true)).expect("json");
        assert_eq!(json["urgency"], 4, "the default urgency is always sent");
        for key in ["slugline", "located", "genres", "ednote"] {
            assert!(json.get(key).is_none(), "{key} should be absent: {json}");
        }
        s.agency = crate::agency::Agency {
            urgency: 2,
            slugline: "IRAN-DEFENCE-EXPORTS".into(),
            located: "Tehran".into(),
            genres: vec!["genre:Analysis".into()],
            subjects: vec!["medtop:11000000".into()],
            ednote: "Embargoed until 10:00.".into(),
            subjects_public: false,
        };
        let json = serde_json::to_value(map(&s, true)).expect("json");
        assert_eq!(json["urgency"], 2);
        assert_eq!(json["slugline"], "IRAN-DEFENCE-EXPORTS");
        assert_eq!(json["located"], "Tehran");
        assert_eq!(json["ednote"], "Embargoed until 10:00.");
        assert_eq!(
            json["genres"],
            serde_json::json!([{"name": "Analysis", "uri": "http://cv.iptc.org/newscodes/genre/Analysis", "literal": "genre:Analysis"}])
        );
        let topic = json["subjects"].as_array().expect("subjects").iter().find(|s| s["rel"] == "mediatopic").cloned();
        assert_eq!(
            topic,
            Some(serde_json::json!({
                "name": "politics and government",
                "rel": "mediatopic",
                "literal": "medtop:11000000",
                "uri": "http://cv.iptc.org/newscodes/mediatopic/11000000"
            }))
        );
        // A retraction keeps the routing metadata and the note to subscribers.
        s.status = StoryStatus::Killed;
        let json = serde_json::to_value(map(&s, true)).expect("json");
        assert_eq!(
            (json["urgency"].clone(), json["ednote"].clone()),
            (serde_json::json!(2), serde_json::json!("Embargoed until 10:00."))
        );
    }
}
