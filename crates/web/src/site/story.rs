//! The story page: the short link's redirect, the page itself (cached,
//! counted, decorated per reader for comments) and the newsroom's preview.
//! The page's view model (breadcrumb, meta tags, JSON-LD) is [`story_view`],
//! a pure function.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};
use minijinja::Value;
use newsdesk_domain::crop::Ratio;
use newsdesk_domain::{Edition, Section, Story, StoryStatus, dates};
use newsdesk_storage::{PageFacts, Reads};

use super::{Peer, Reader, Rendered, cache_key, cached_page, chrome, edition, render_page, story_deps};
use crate::cache::CachedPage;
use crate::editions::empty_edition;
use crate::render::{Link, Meta, PhotoView, script_json};
use crate::{AppError, AppState};

/// Related stories under a story.
const RELATED: i64 = 5;

/// `Cache-Control` of story pages.
const CC_STORY: &str = "public, max-age=60, stale-while-revalidate=300";

/// A 301 to `path` (permanent: the canonical URL of a story never changes).
fn moved(path: &str) -> Response {
    crate::editions::moved(path)
}

fn parse_news_id(id: &str) -> Result<i64, AppError> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AppError::NotFound)
}

async fn load_public_story(db: &mut Reads, id: i64) -> Result<Story, AppError> {
    let story = db.story(id).await?.ok_or(AppError::NotFound)?;
    publicly_shown(db, story).await
}

/// `story` when readers may see it; otherwise why not (not found, gone, or withdrawn with the newsroom's note).
async fn publicly_shown(db: &mut Reads, story: Story) -> Result<Story, AppError> {
    let id = story.news_id;
    match story.status {
        StoryStatus::Published if story.published_at.is_some() => Ok(story),
        StoryStatus::Killed => {
            let note = db.story_extras(id).await?.map(|e| e.public_note).unwrap_or_default();
            Err(if note.trim().is_empty() { AppError::Gone } else { AppError::Withdrawn(note) })
        }
        s if s.is_gone() => Err(AppError::Gone),
        _ => Err(AppError::NotFound),
    }
}

pub(super) async fn story_short(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    let id = parse_news_id(&id)?;
    let story = load_public_story(&mut state.store.reads().await?, id).await?;
    Ok(moved(&crate::editions::story_path(&state, story.edition_id, story.news_id, &story.slug)))
}

pub(super) async fn story(
    State(state): State<AppState>,
    Path((id, slug)): Path<(String, String)>,
    uri: Uri,
    method: Method,
    Peer(peer): Peer,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let id = parse_news_id(&id)?;
    let key = cache_key(&uri, None);
    // `?comment=…` and `?reply=…` answer from the same cached page, decorated for this reader.
    let deco = crate::comments::decoration(&state, id, raw.as_deref()).await?;
    story_response(&state, id, &slug, key, &headers, Some(Reader { method: &method, peer }), deco).await
}

/// The story page `id` (cached under `key`), decorated for one reader by `deco`
/// (the comment form's answers use it for errors).
pub(crate) async fn story_page(
    state: &AppState,
    id: i64,
    slug: &str,
    key: &str,
    headers: &HeaderMap,
    deco: crate::comments::Deco,
) -> Result<Response, AppError> {
    story_response(state, id, slug, key.to_string(), headers, None, deco).await
}

async fn story_response(
    state: &AppState,
    id: i64,
    slug: &str,
    key: String,
    headers: &HeaderMap,
    reader: Option<Reader<'_>>,
    deco: crate::comments::Deco,
) -> Result<Response, AppError> {
    let state = state.clone();
    cached_page(&state, key, headers, reader, deco, || async {
        // One connection for all the page's reads.
        let mut db = state.store.reads().await?;
        let (story, facts) = db.story_for_page(id, RELATED).await?.ok_or(AppError::NotFound)?;
        let story = publicly_shown(&mut db, story).await?;
        // A wrong slug, or a story asked for under another edition's prefix.
        if story.slug != slug || story.edition_id != edition(&state).id {
            return Ok(Rendered::Other(moved(&crate::editions::story_path(
                &state,
                story.edition_id,
                story.news_id,
                &story.slug,
            ))));
        }
        Ok(Rendered::Page(render_story(&state, db, &story, Some(&facts), false).await?))
    })
    .await
}

/// Renders the page of `story` (any state when `preview`: the back office
/// shows unpublished stories this way, marked and kept out of search engines),
/// reading what it shows on `db`, which it lets go before the rendering;
/// what `facts` says the story has not (corrections, translations, comments)
/// is not read, and the photo's copies and crops and the section's stories
/// before it come from `facts` when given.
pub(crate) async fn render_story(
    state: &AppState,
    db: Reads,
    story: &Story,
    facts: Option<&PageFacts>,
    preview: bool,
) -> Result<CachedPage, AppError> {
    let edition =
        state.editions.load().iter().find(|e| e.id == story.edition_id).cloned().unwrap_or_else(empty_edition);
    // Links and dates in the story's own edition, whoever asks (the back office's preview too).
    crate::editions::scope(edition.clone(), render_story_in(state, db, story, facts, preview, edition, None)).await
}

/// A story before this one in its section, as the page lists it: a headline
/// linked, and its date.
#[derive(serde::Serialize)]
struct RelatedLink {
    news_id: i64,
    url: String,
    headline: String,
    /// `15 November 2023 - 14:37` in the edition's zone.
    date: String,
    /// ISO 8601 with offset.
    iso: String,
}

impl RelatedLink {
    fn new(s: &newsdesk_domain::StoryLink, edition: &Edition) -> RelatedLink {
        RelatedLink {
            news_id: s.news_id,
            url: edition.url(&s.path()),
            headline: s.headline.clone(),
            date: edition.format_long(s.published_at),
            iso: dates::iso8601(s.published_at, edition.time_zone),
        }
    }
}

async fn render_story_in(
    state: &AppState,
    mut db: Reads,
    story: &Story,
    facts: Option<&PageFacts>,
    preview: bool,
    edition: Edition,
    scheduled: Option<DateTime<Utc>>,
) -> Result<CachedPage, AppError> {
    let tz = edition.time_zone;
    let sections = state.sections_with_on(&mut db, edition.id, |s| s.id == story.section_id).await?;
    let related_read;
    let related = match facts {
        Some(f) => &f.related,
        None => {
            related_read = db.related(story, RELATED).await?;
            &related_read
        }
    };
    let public_url = &state.config.public_url;
    let related: Vec<RelatedLink> = related.iter().map(|s| RelatedLink::new(s, &edition)).collect();
    let has = |f: fn(&PageFacts) -> bool| facts.is_none_or(f);
    let corrections = if has(|f| f.corrections) { db.corrections(story.news_id).await? } else { Vec::new() };
    let corrections: Vec<(DateTime<Utc>, String)> =
        corrections.into_iter().filter(|c| !c.note.trim().is_empty()).map(|c| (c.at, c.note)).collect();
    // The other languages of this story, for readers and for `hreflang`.
    let mut translations = Vec::new();
    let others = if has(|f| f.translations) { db.translations(story.news_id).await? } else { Vec::new() };
    for t in others {
        if t.status != StoryStatus::Published {
            continue;
        }
        let path = crate::editions::story_path(state, t.edition_id, t.news_id, &t.slug);
        translations.push(minijinja::context! {
            lang => t.lang,
            label => crate::editions::endonym(&t.lang),
            headline => t.headline,
            url => path.clone(),
            href => crate::editions::encode_location(&format!("{}{path}", state.config.public_url)),
        });
    }
    let photo = match story.photo.as_ref() {
        Some(p) => {
            // The 16:9 crop in the lead slot and on cards once made; the uncropped photo until then.
            let read;
            let (renditions, crops) = match facts {
                Some(f) => (&f.photo_renditions.0, &f.photo_renditions.1),
                None => {
                    let (mut renditions, mut crops) = db.photo_all_renditions_of(&[p.id]).await?;
                    read = (renditions.remove(&p.id).unwrap_or_default(), crops.remove(&p.id).unwrap_or_default());
                    (&read.0, &read.1)
                }
            };
            Some(
                PhotoView::new(p, &story.headline, public_url)
                    .with_renditions(renditions)
                    .with_crop(Ratio::Wide, crops)
                    .with_card(crops, public_url),
            )
        }
        None => None,
    };
    let updates = if story.is_live_blog() { db.live_updates(story.news_id).await? } else { Vec::new() };
    let live = super::live::LiveInputs::of(story, &updates);
    let galleries = super::gallery::for_story(state, &mut db, story).await?;
    // A new story previewed before its first save has no News ID, and no comments yet.
    let thread = match facts {
        _ if story.news_id <= 0 => None,
        Some(f) if !f.comments => Some(Some((f.comment_target.clone(), Vec::new()))),
        _ => Some(db.comment_thread(story.news_id).await?),
    };
    // The reads are done: the connection goes back before the rendering.
    drop(db);
    let v = story_view(StoryInputs {
        story,
        edition: &edition,
        sections: &sections,
        public_url,
        photo,
        gallery_images: galleries.images.clone(),
        corrections,
        preview,
        live,
    });
    let view = minijinja::context! {
        story => minijinja::context! {
            news_id => story.news_id,
            headline => story.headline,
            lead => story.lead,
            body_html => Value::from_safe_string(match &v.dateline {
                Some(d) => newsdesk_domain::agency::body_with_dateline(&story.body_html, d),
                None => story.body_html.clone(),
            }),
            topics => v.topics,
            published => edition.format_long(v.published),
            published_iso => dates::iso8601(v.published, tz),
            // A preview of a story never published: no publish date (it would read "now").
            unpublished => preview && story.published_at.is_none(),
            scheduled => scheduled.map(|at| edition.format_long(at)),
            scheduled_iso => scheduled.map(|at| dates::iso8601(at, tz)),
            updated => v.updated.map(|u| edition.format_long(u)),
            updated_iso => v.updated.map(|u| dates::iso8601(u, tz)),
            corrections => v
                .corrections
                .iter()
                .map(|(at, note)| minijinja::context! {
                    note => note, at => edition.format_long(*at), at_iso => dates::iso8601(*at, tz),
                })
                .collect::<Vec<_>>(),
            modified_iso => dates::iso8601(v.modified, tz),
            photo => v.photo,
            gallery_html => galleries.lead_html.map(Value::from_safe_string),
            authors => v.authors,
            tags => v.tags,
            section => v.section_name,
        },
        breadcrumb => v.breadcrumb,
        preview => preview,
        related => related,
        translations => translations,
        share => v.share,
        comments => match thread {
            Some(thread) => Some(crate::comments::story_ctx(state, story, &edition, thread)?),
            None => None,
        },
        live => super::live::page_ctx(live.as_ref(), story, &edition, public_url),
        gallery_script => galleries.any.then(super::gallery::script_url),
        // The click-to-load script, on pages with embeds only.
        embeds => (crate::embeds::has_embeds(&story.body_html)
            || updates.iter().any(|u| crate::embeds::has_embeds(&u.body_html)))
        .then(crate::embeds::script_path),
    };
    let html = render_page(state, &edition, &sections, "story.html", &v.meta, view)?;
    let deps = story_deps(std::iter::once(story.news_id).chain(related.iter().map(|r| r.news_id)));
    let mut page = CachedPage::new(&html, CC_STORY, Some(story.modified_at), deps);
    page.csp = crate::embeds::frame_src_csp(crate::CSP, &html);
    page.view = Some((story.news_id, story.edition_id, story.section_id));
    Ok(page)
}

/// What the story page is built from: the story and what was read about it
/// beforehand, so that [`story_view`] needs neither the database nor the
/// application state.
pub(crate) struct StoryInputs<'a> {
    /// The story shown.
    pub(crate) story: &'a Story,
    /// Its edition (links, dates, language, the publisher's name).
    pub(crate) edition: &'a Edition,
    /// The edition's sections (the breadcrumb walks up from the story's).
    pub(crate) sections: &'a [Section],
    /// The site's public URL, without a trailing slash.
    pub(crate) public_url: &'a str,
    /// The story's photo with its renditions, if it has one.
    pub(crate) photo: Option<PhotoView>,
    /// Absolute URLs of the photos of the story's galleries (lead first, then its body's).
    pub(crate) gallery_images: Vec<String>,
    /// The public corrections (time, note), oldest first.
    pub(crate) corrections: Vec<(DateTime<Utc>, String)>,
    /// A newsroom preview: kept out of search engines.
    pub(crate) preview: bool,
    /// The live blog, when the story is one.
    pub(crate) live: Option<super::live::LiveInputs<'a>>,
}

/// The story page's view model: what it says about itself in the page, in
/// its `<head>` and to search engines.
#[derive(Debug)]
pub(crate) struct StoryView {
    /// The section path from the top level down to the story's section.
    pub(crate) breadcrumb: Vec<Link>,
    /// The name of the story's section (empty when the section is unknown).
    pub(crate) section_name: String,
    /// The story's authors, linked to their pages.
    pub(crate) authors: Vec<Link>,
    /// The story's tags, linked to their pages.
    pub(crate) tags: Vec<Link>,
    /// When it went out (its creation time for a preview of an unpublished story).
    pub(crate) published: DateTime<Utc>,
    /// When it was updated in public, if later than it went out (or corrected).
    pub(crate) updated: Option<DateTime<Utc>>,
    /// The corrections (time, note), oldest first, shown only with an update.
    pub(crate) corrections: Vec<(DateTime<Utc>, String)>,
    /// The update if any, else the publish time.
    pub(crate) modified: DateTime<Utc>,
    /// The photo, as given.
    pub(crate) photo: Option<PhotoView>,
    /// Links to share the story.
    pub(crate) share: Vec<Link>,
    /// The agency dateline printed at the start of the body (`TEHRAN, Nov. 15 (Newsdesk) –`), if the story has a place.
    pub(crate) dateline: Option<String>,
    /// IPTC Media Topic names shown with the tags, when the editor chose to show them.
    pub(crate) topics: Vec<String>,
    /// Title, description, canonical URL, card image and the JSON-LD (a
    /// schema.org `NewsArticle`), for `<head>`.
    pub(crate) meta: Meta,
}

/// JSON-LD `image`: the lead photo's (its crops when made), then every photo
/// of the story's galleries, each once; the site's logo when there is none.
fn schema_images(photo: Option<&PhotoView>, gallery: &[String], logo: impl FnOnce() -> String) -> Vec<String> {
    let mut out: Vec<String> = photo.map(PhotoView::schema_image).unwrap_or_default();
    for u in gallery {
        if !out.contains(u) {
            out.push(u.clone());
        }
    }
    if out.is_empty() {
        out.push(logo());
    }
    out
}

/// Builds the story page's view model (pure: the same inputs give the same view).
pub(crate) fn story_view(input: StoryInputs<'_>) -> StoryView {
    let StoryInputs { story, edition, sections, public_url, photo, gallery_images, corrections, preview, live } = input;
    let tz = edition.time_zone;
    // Links inside the story's own edition, whoever asks (the back office's preview too).
    let url = |path: &str| crate::editions::within(edition, path);
    let abs = |path: &str| crate::editions::encode_location(&format!("{public_url}{}", url(path)));
    let section_link = |s: &Section| Link { name: s.name.clone(), url: url(&format!("/section/{}", s.path)) };
    let mut breadcrumb = Vec::new();
    let mut section_name = String::new();
    if let Some(s) = sections.iter().find(|s| s.id == story.section_id) {
        section_name = s.name.clone();
        let mut cur = Some(s);
        while let Some(c) = cur {
            breadcrumb.push(section_link(c));
            cur = c.parent_id.and_then(|p| sections.iter().find(|x| x.id == p));
        }
        breadcrumb.reverse();
    }
    let published = story.published_at.unwrap_or(story.created_at);
    // A correction is always shown as an update, even one made in the second the story went out.
    let updated = story.updated_at.filter(|u| *u > published || (!corrections.is_empty() && *u >= published));
    let corrections = if updated.is_some() { corrections } else { Vec::new() };
    let modified = updated.unwrap_or(published);
    let canonical = abs(&story.path());
    let authors: Vec<Link> =
        story.authors.iter().map(|a| Link { name: a.name.clone(), url: url(&format!("/author/{}", a.slug)) }).collect();
    let tags: Vec<Link> =
        story.tags.iter().map(|t| Link { name: t.name.clone(), url: url(&format!("/tag/{}", t.slug)) }).collect();
    let dateline = newsdesk_domain::agency::dateline(edition, &story.agency.located, published);
    let topics: Vec<String> = if story.agency.subjects_public {
        let topics = story.agency.subjects.iter().filter_map(|q| newsdesk_domain::mediatopic::get(q));
        topics.map(|t| t.name(&edition.lang).to_string()).collect()
    } else {
        Vec::new()
    };
    let jsonld_authors: Vec<serde_json::Value> = if authors.is_empty() {
        vec![serde_json::json!({ "@type": "Organization", "name": edition.name, "url": abs("/") })]
    } else {
        authors.iter().map(|a| serde_json::json!({ "@type": "Person", "name": a.name, "url": abs(&a.url) })).collect()
    };
    let mut jsonld = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": { "@type": "WebPage", "@id": canonical },
        "url": canonical,
        "headline": story.headline,
        "description": story.lead,
        "identifier": story.news_id.to_string(),
        "datePublished": dates::iso8601(published, tz),
        "dateModified": dates::iso8601(modified, tz),
        "author": jsonld_authors,
        "image": schema_images(photo.as_ref(), &gallery_images, || abs("/static/logo.svg")),
        "articleSection": section_name,
        "keywords": story.tags.iter().map(|t| t.name.clone()).chain(topics.iter().cloned()).collect::<Vec<_>>(),
        "inLanguage": edition.lang,
        "publisher": {
            "@type": "Organization",
            "name": edition.name,
            "url": abs("/"),
            "logo": { "@type": "ImageObject", "url": abs("/static/logo.svg") },
        },
    });
    if let Some(d) = &dateline {
        jsonld["dateline"] = serde_json::Value::from(d.as_str());
    }
    if !corrections.is_empty() {
        // schema.org: each correction as a CorrectionComment, oldest first.
        jsonld["correction"] = corrections
            .iter()
            .map(|(at, note)| {
                serde_json::json!({ "@type": "CorrectionComment", "text": note, "datePublished": dates::iso8601(*at, tz) })
            })
            .collect();
    }
    if let Some(live) = &live {
        super::live::decorate_jsonld(&mut jsonld, live, &canonical, tz, public_url);
    }
    let meta = Meta {
        title: format!("{} - {}", story.headline, edition.name),
        og_title: Some(story.headline.clone()),
        description: story.lead.clone(),
        canonical: canonical.clone(),
        og_type: "article",
        image: photo.as_ref().map(PhotoView::card_url).or_else(|| gallery_images.first().cloned()),
        image_alt: photo
            .as_ref()
            .map(|p| p.alt.clone())
            .or_else(|| gallery_images.first().map(|_| story.headline.clone())),
        jsonld: Some(script_json(&jsonld)),
        noindex: preview,
    };
    let share = share_links(&canonical, &story.headline);
    StoryView {
        breadcrumb,
        section_name,
        authors,
        tags,
        published,
        updated,
        corrections,
        modified,
        photo,
        share,
        meta,
        dateline,
        topics,
    }
}

fn share_links(url: &str, title: &str) -> Vec<Link> {
    let u = urlencode(url);
    let t = urlencode(title);
    vec![
        Link { name: "X".into(), url: format!("https://x.com/intent/post?url={u}&text={t}") },
        Link { name: "Facebook".into(), url: format!("https://www.facebook.com/sharer/sharer.php?u={u}") },
        Link { name: "Telegram".into(), url: format!("https://t.me/share/url?url={u}&text={t}") },
        Link { name: "WhatsApp".into(), url: format!("https://wa.me/?text={t}%20{u}") },
        Link { name: "Email".into(), url: format!("mailto:?subject={t}&body={u}") },
    ]
}

/// Everything but RFC 3986's unreserved characters, percent-encoded.
const NOT_UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// The public page of `story` in any state, for the newsroom's preview (not
/// cached). A story never published shows no publish date, or the time it is
/// scheduled for.
pub(crate) async fn preview_story_html(state: &AppState, story: &Story) -> Result<String, AppError> {
    let scheduled = match story.status {
        StoryStatus::Scheduled => state.store.story_extras(story.news_id).await?.and_then(|e| e.scheduled_at),
        _ => None,
    };
    let edition =
        state.editions.load().iter().find(|e| e.id == story.edition_id).cloned().unwrap_or_else(empty_edition);
    let db = state.store.reads().await?;
    let page = crate::editions::scope(
        edition.clone(),
        render_story_in(state, db, story, None, true, edition.clone(), scheduled),
    )
    .await?;
    let chrome = chrome(state, &edition).await?;
    Ok(String::from_utf8_lossy(&page.assemble(&chrome).identity).into_owned())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use newsdesk_domain::calendar::{Calendar, Digits};
    use newsdesk_domain::{Author, BodyFormat, Direction, Photo, Tag};

    use super::*;

    const URL: &str = "https://news.example";

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 1, hour, 30, 0).single().expect("a valid time")
    }

    fn edition(lang: &str, is_default: bool) -> Edition {
        Edition {
            id: 1,
            lang: lang.into(),
            name: "Example News".into(),
            direction: Direction::Ltr,
            time_zone: chrono_tz::Asia::Tehran,
            is_default,
            calendar: Calendar::Gregorian,
            digits: Digits::Latin,
        }
    }

    fn section(id: i64, parent_id: Option<i64>, name: &str, path: &str) -> Section {
        let slug = path.rsplit('/').next().unwrap_or(path).to_string();
        Section { id, edition_id: 1, parent_id, slug, name: name.into(), path: path.into(), position: 1 }
    }

    /// Iran, Iran › Defense, Iran › Defense › Navy, and World.
    fn sections() -> Vec<Section> {
        vec![
            section(1, None, "Iran", "iran"),
            section(2, Some(1), "Defense", "iran/defense"),
            section(3, Some(2), "Navy", "iran/defense/navy"),
            section(4, None, "World", "world"),
        ]
    }

    fn story(section_id: i64) -> Story {
        Story {
            news_id: 84427,
            edition_id: 1,
            section_id,
            slug: "a-story".into(),
            headline: "Head & line".into(),
            lead: "The lead.".into(),
            body_html: "<p>Body</p>".into(),
            body_source: String::new(),
            body_format: BodyFormat::Html,
            status: StoryStatus::Published,
            agency: Default::default(),
            published_at: Some(at(10)),
            updated_at: None,
            created_at: at(9),
            modified_at: at(10),
            version: 2,
            photo: None,
            tags: vec![Tag { id: 7, slug: "defense".into(), name: "Defense".into() }],
            authors: vec![Author { id: 3, slug: "jane-doe".into(), name: "Jane Doe".into() }],
            live_since: None,
            live_until: None,
            gallery_id: None,
        }
    }

    fn view(story: &Story, edition: &Edition, photo: Option<PhotoView>, note: Option<&str>) -> StoryView {
        story_view(StoryInputs {
            story,
            edition,
            sections: &sections(),
            public_url: URL,
            photo,
            gallery_images: Vec::new(),
            corrections: note.map(|n| vec![(at(12), n.to_string())]).unwrap_or_default(),
            preview: false,
            live: None,
        })
    }

    /// The JSON-LD the page embeds, parsed back.
    fn ld(v: &StoryView) -> serde_json::Value {
        serde_json::from_str(v.meta.jsonld.as_deref().expect("a story page has JSON-LD")).expect("valid JSON")
    }

    fn names_and_urls(links: &[Link]) -> Vec<(&str, &str)> {
        links.iter().map(|l| (l.name.as_str(), l.url.as_str())).collect()
    }

    #[test]
    fn breadcrumb_walks_from_the_top_section_down_to_the_story_s() {
        let en = edition("en", true);
        let top = view(&story(1), &en, None, None);
        assert_eq!(names_and_urls(&top.breadcrumb), [("Iran", "/section/iran")]);
        assert_eq!(top.section_name, "Iran");
        let third = view(&story(3), &en, None, None);
        assert_eq!(
            names_and_urls(&third.breadcrumb),
            [("Iran", "/section/iran"), ("Defense", "/section/iran/defense"), ("Navy", "/section/iran/defense/navy")]
        );
        assert_eq!(third.section_name, "Navy");
        assert_eq!(ld(&third)["articleSection"], "Navy");
        // A story whose section is gone has no breadcrumb rather than a wrong one.
        let lost = view(&story(99), &en, None, None);
        assert!(lost.breadcrumb.is_empty());
        assert_eq!(lost.section_name, "");
    }

    #[test]
    fn share_links_carry_the_address_and_headline_percent_encoded() {
        let mut s = story(1);
        s.headline = "Tehran & Co: «خبر» 50%".into();
        let v = view(&s, &edition("en", true), None, None);
        let x = &v.share.iter().find(|l| l.name == "X").expect("an X link").url;
        assert_eq!(
            x,
            "https://x.com/intent/post?url=https%3A%2F%2Fnews.example%2Fnews%2F84427%2Fa-story\
             &text=Tehran%20%26%20Co%3A%20%C2%AB%D8%AE%D8%A8%D8%B1%C2%BB%2050%25"
        );
        assert_eq!(urlencode("a-Z_0.~"), "a-Z_0.~");
    }

    #[test]
    fn links_stay_inside_a_non_default_edition() {
        let fa = edition("fa", false);
        let v = view(&story(2), &fa, None, None);
        assert_eq!(
            names_and_urls(&v.breadcrumb),
            [("Iran", "/fa/section/iran"), ("Defense", "/fa/section/iran/defense")]
        );
        assert_eq!(names_and_urls(&v.authors), [("Jane Doe", "/fa/author/jane-doe")]);
        assert_eq!(names_and_urls(&v.tags), [("Defense", "/fa/tag/defense")]);
        assert_eq!(v.meta.canonical, "https://news.example/fa/news/84427/a-story");
        assert_eq!(ld(&v)["publisher"]["url"], "https://news.example/fa/");
        assert_eq!(ld(&v)["inLanguage"], "fa");
    }

    #[test]
    fn json_ld_describes_the_news_article() {
        let en = edition("en", true);
        let v = view(&story(2), &en, None, None);
        let ld = &ld(&v);
        assert_eq!(ld["@type"], "NewsArticle");
        assert_eq!(ld["headline"], "Head & line");
        assert_eq!(ld["description"], "The lead.");
        assert_eq!(ld["identifier"], "84427");
        assert_eq!(ld["url"], "https://news.example/news/84427/a-story");
        assert_eq!(ld["mainEntityOfPage"]["@id"], "https://news.example/news/84427/a-story");
        // In the edition's time zone (Tehran is UTC+03:30).
        assert_eq!(ld["datePublished"], "2024-03-01T14:00:00+03:30");
        assert_eq!(ld["dateModified"], "2024-03-01T14:00:00+03:30");
        assert_eq!(
            ld["author"],
            serde_json::json!([{ "@type": "Person", "name": "Jane Doe", "url": "https://news.example/author/jane-doe" }])
        );
        assert_eq!(ld["image"], serde_json::json!(["https://news.example/static/logo.svg"]));
        assert_eq!(ld["keywords"], serde_json::json!(["Defense"]));
        assert_eq!(
            ld["publisher"],
            serde_json::json!({
                "@type": "Organization",
                "name": "Example News",
                "url": "https://news.example/",
                "logo": { "@type": "ImageObject", "url": "https://news.example/static/logo.svg" },
            })
        );
        // The `<script>` form cannot close its element.
        let mut s = story(2);
        s.headline = "</script><b>".into();
        let script = view(&s, &en, None, None).meta.jsonld.expect("a story page has JSON-LD");
        assert!(!script.contains("</script>"), "{script}");
    }

    #[test]
    fn json_ld_without_authors_names_the_edition_and_uses_the_photo() {
        let en = edition("en", true);
        let mut s = story(1);
        s.authors.clear();
        let photo = Photo {
            id: 5,
            sha256: "ab".repeat(32),
            mime: "image/png".into(),
            width: 800,
            height: 600,
            caption: String::new(),
            credit: String::new(),
            details: Default::default(),
        };
        let v = view(&s, &en, Some(PhotoView::new(&photo, &s.headline, URL)), None);
        assert_eq!(
            ld(&v)["author"],
            serde_json::json!([{ "@type": "Organization", "name": "Example News", "url": "https://news.example/" }])
        );
        let image = format!("https://news.example/media/{}.png", "ab".repeat(32));
        assert_eq!(ld(&v)["image"], serde_json::json!([image]));
        assert_eq!(v.meta.image.as_deref(), Some(image.as_str()));
        // A photo without a caption is described by the headline.
        assert_eq!(v.meta.image_alt.as_deref(), Some("Head & line"));
    }

    #[test]
    fn meta_tags_carry_title_description_and_canonical() {
        let en = edition("en", true);
        let v = view(&story(1), &en, None, None);
        assert_eq!(v.meta.title, "Head & line - Example News");
        assert_eq!(v.meta.og_title.as_deref(), Some("Head & line"), "cards carry the headline alone");
        assert_eq!(v.meta.description, "The lead.");
        assert_eq!(v.meta.canonical, "https://news.example/news/84427/a-story");
        assert_eq!(v.meta.og_type, "article");
        assert!(!v.meta.noindex);
        assert!(v.meta.image.is_none());
        let preview = story_view(StoryInputs {
            story: &story(1),
            edition: &en,
            sections: &sections(),
            public_url: URL,
            photo: None,
            gallery_images: Vec::new(),
            corrections: Vec::new(),
            preview: true,
            live: None,
        });
        assert!(preview.meta.noindex, "a preview is kept out of search engines");
    }

    #[test]
    fn an_update_moves_date_modified_and_shows_the_correction() {
        let en = edition("en", true);
        let mut s = story(1);
        s.updated_at = Some(at(12));
        let v = view(&s, &en, None, Some("The minister's name was misspelt."));
        assert_eq!(v.updated, Some(at(12)));
        assert_eq!(v.modified, at(12));
        assert_eq!(ld(&v)["dateModified"], "2024-03-01T16:00:00+03:30");
        assert_eq!(ld(&v)["datePublished"], "2024-03-01T14:00:00+03:30");
        assert_eq!(v.corrections, vec![(at(12), "The minister's name was misspelt.".to_string())]);
        assert_eq!(
            ld(&v)["correction"],
            serde_json::json!([{
                "@type": "CorrectionComment",
                "text": "The minister's name was misspelt.",
                "datePublished": "2024-03-01T16:00:00+03:30",
            }])
        );
        // A correction made in the second the story went out still shows as an update;
        // the same time without a correction does not.
        s.updated_at = s.published_at;
        assert_eq!(view(&s, &en, None, Some("Fixed.")).updated, Some(at(10)));
        let plain = view(&s, &en, None, None);
        assert_eq!(plain.updated, None);
        assert_eq!(plain.modified, at(10));
        assert!(plain.corrections.is_empty());
        assert!(ld(&plain).get("correction").is_none());
    }
}
