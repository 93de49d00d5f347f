//! Templates (minijinja) and the view models the pages are rendered from.

use std::collections::HashMap;
use std::path::Path;

use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior, Value};
use newsdesk_domain::calendar::Digits;
use newsdesk_domain::crop::Ratio;
use newsdesk_domain::i18n::Catalogs;
use newsdesk_domain::{Edition, Photo, Section, StorySummary, dates};
use serde::Serialize;

use crate::AppError;
use newsdesk_storage::CropRendition;

/// The embedded default theme: (template name, source).
const THEME: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("story.html", include_str!("../templates/story.html")),
    ("live_update.html", include_str!("../templates/live_update.html")),
    ("list.html", include_str!("../templates/list.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("latest.html", include_str!("../templates/latest.html")),
    ("breaking.html", include_str!("../templates/breaking.html")),
    ("most_visited.html", include_str!("../templates/most_visited.html")),
    ("most_visited_page.html", include_str!("../templates/most_visited_page.html")),
    ("corrections.html", include_str!("../templates/corrections.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("admin/base.html", include_str!("../templates/admin/base.html")),
    ("admin/login.html", include_str!("../templates/admin/login.html")),
    ("admin/message.html", include_str!("../templates/admin/message.html")),
    ("admin/dashboard.html", include_str!("../templates/admin/dashboard.html")),
    ("admin/account.html", include_str!("../templates/admin/account.html")),
    ("admin/tokens.html", include_str!("../templates/admin/tokens.html")),
    ("admin/stories.html", include_str!("../templates/admin/stories.html")),
    ("admin/editor.html", include_str!("../templates/admin/editor.html")),
    ("admin/live_panel.html", include_str!("../templates/admin/live_panel.html")),
    ("admin/story_flags.html", include_str!("../templates/admin/story_flags.html")),
    ("admin/spiked.html", include_str!("../templates/admin/spiked.html")),
    ("admin/breaking.html", include_str!("../templates/admin/breaking.html")),
    ("admin/revisions.html", include_str!("../templates/admin/revisions.html")),
    ("admin/revision.html", include_str!("../templates/admin/revision.html")),
    ("admin/users.html", include_str!("../templates/admin/users.html")),
    ("admin/photo.html", include_str!("../templates/admin/photo.html")),
    ("admin/audit.html", include_str!("../templates/admin/audit.html")),
    ("admin/invite.html", include_str!("../templates/admin/invite.html")),
    ("admin/subscribers.html", include_str!("../templates/admin/subscribers.html")),
    ("admin/deliveries.html", include_str!("../templates/admin/deliveries.html")),
    ("admin/sections.html", include_str!("../templates/admin/sections.html")),
    ("admin/tags.html", include_str!("../templates/admin/tags.html")),
    ("admin/editions.html", include_str!("../templates/admin/editions.html")),
    ("admin/media.html", include_str!("../templates/admin/media.html")),
    ("admin/galleries.html", include_str!("../templates/admin/galleries.html")),
    ("admin/gallery.html", include_str!("../templates/admin/gallery.html")),
    ("admin/media_details.html", include_str!("../templates/admin/media_details.html")),
    ("admin/comments.html", include_str!("../templates/admin/comments.html")),
    ("admin/desks.html", include_str!("../templates/admin/desks.html")),
    ("admin/fronts.html", include_str!("../templates/admin/fronts.html")),
    ("admin/desks_board.html", include_str!("../templates/admin/desks_board.html")),
    ("admin/search.html", include_str!("../templates/admin/search.html")),
    ("admin/ingest.html", include_str!("../templates/admin/ingest.html")),
    ("admin/ingest_item.html", include_str!("../templates/admin/ingest_item.html")),
    ("admin/ingest_source.html", include_str!("../templates/admin/ingest_source.html")),
    ("admin/ingest_source_fields.html", include_str!("../templates/admin/ingest_source_fields.html")),
    ("admin/ingest_sources.html", include_str!("../templates/admin/ingest_sources.html")),
    ("admin/routing.html", include_str!("../templates/admin/routing.html")),
    ("admin/routing_rule.html", include_str!("../templates/admin/routing_rule.html")),
    ("admin/routing_fields.html", include_str!("../templates/admin/routing_fields.html")),
    ("admin/ingest_changes.html", include_str!("../templates/admin/ingest_changes.html")),
    ("admin/desks_mine.html", include_str!("../templates/admin/desks_mine.html")),
    ("admin/desks_settings.html", include_str!("../templates/admin/desks_settings.html")),
    ("comments.html", include_str!("../templates/comments.html")),
    ("comment_form.html", include_str!("../templates/comment_form.html")),
    ("search.html", include_str!("../templates/search.html")),
];

/// The site stylesheet, embedded.
pub const SITE_CSS: &str = include_str!("../static/site.css");
/// The agency logo, embedded.
pub const LOGO_SVG: &str = include_str!("../static/logo.svg");

/// The message catalogs of the reader site, one per language (English is the reference).
const CATALOGS: &[(&str, &str)] = &[
    ("en", include_str!("../i18n/en.toml")),
    ("fa", include_str!("../i18n/fa.toml")),
    ("ar", include_str!("../i18n/ar.toml")),
];

/// The theme's compiled templates.
pub struct Templates {
    env: Environment<'static>,
    /// URL of the stylesheet, versioned by its content.
    pub css_href: String,
    /// The words of the reader site per language.
    pub catalogs: Arc<Catalogs>,
}

/// The language and digits a template writes in, found once per rendering
/// (see [`lang_of`]).
#[derive(Debug)]
struct PageLang {
    lang: String,
    digits: Digits,
    /// The messages of `lang` (else of English) as template values.
    words: Option<Arc<HashMap<String, Value>>>,
}

/// Each catalog's messages as template values, made once: a page's `t("…")`
/// without placeholders (most of its ~30 words) is then a lookup and a
/// reference count, not two copies of the text.
#[derive(Debug, Default)]
struct Words {
    by_lang: HashMap<String, Arc<HashMap<String, Value>>>,
}

impl Words {
    fn new(catalogs: &Catalogs) -> Words {
        let keys: Vec<&str> = catalogs.catalog("en").map(|en| en.keys().collect()).unwrap_or_default();
        let by_lang = catalogs
            .languages()
            .map(|lang| {
                let words = keys.iter().map(|k| (k.to_string(), Value::from(catalogs.text(lang, k)))).collect();
                (lang.to_string(), Arc::new(words))
            })
            .collect();
        Words { by_lang }
    }

    /// The messages shown in `lang`: its catalog's (a regional tag falls back
    /// to its language's, as [`Catalogs::text`] does), else English's.
    fn of(&self, lang: &str) -> Option<Arc<HashMap<String, Value>>> {
        let primary = lang.split(['-', '_']).next().unwrap_or(lang);
        self.by_lang.get(lang).or_else(|| self.by_lang.get(primary)).or_else(|| self.by_lang.get("en")).cloned()
    }
}

impl minijinja::value::Object for PageLang {}

/// The language and digits a template writes in ([`find_lang`]), kept for the
/// rest of the rendering: a page asks for them at each of its words.
fn lang_of(state: &minijinja::State, words: &Words) -> Arc<PageLang> {
    state.get_or_set_temp_object("newsdesk.page_lang", || {
        let (lang, digits) = find_lang(state);
        PageLang { words: words.of(&lang), lang, digits }
    })
}

/// The language and digits a template writes in: the page's `site` (or a
/// fragment's `lang`), else the edition of the request being served.
fn find_lang(state: &minijinja::State) -> (String, Digits) {
    let from = |v: Value| -> Option<(String, Digits)> {
        let lang = v.get_attr("lang").ok().filter(|l| !l.is_undefined())?.to_string();
        let digits = v.get_attr("digits").ok().and_then(|d| d.as_str().and_then(|d| d.parse().ok()));
        Some((lang.clone(), digits.unwrap_or_else(|| Digits::for_lang(&lang))))
    };
    if let Some(found) = state.lookup("site").and_then(from) {
        return found;
    }
    if let Some(lang) = state.lookup("lang").filter(|l| !l.is_undefined()) {
        let lang = lang.to_string();
        let digits = Digits::for_lang(&lang);
        return (lang, digits);
    }
    crate::editions::current_lang_digits().unwrap_or_else(|| ("en".into(), Digits::Latin))
}

impl Templates {
    /// Loads the embedded theme; a file of the same name in `theme_dir` replaces a template.
    pub fn load(theme_dir: Option<&Path>) -> Result<Templates, AppError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Escape the five HTML-significant characters only (minijinja also
        // escapes `/`, which makes every URL in the page unreadable).
        env.set_formatter(|out, state, value| {
            if value.is_none() || value.is_undefined() {
                return Ok(());
            }
            if value.is_safe() || state.auto_escape() == minijinja::AutoEscape::None {
                return write!(out, "{value}").map_err(minijinja::Error::from);
            }
            // Straight into the page: no copy of the text, escaped or not.
            match value.as_str() {
                Some(text) => newsdesk_domain::html::escape_into(out, text),
                None => newsdesk_domain::html::escape_into(out, &value.to_string()),
            }
            .map_err(minijinja::Error::from)
        });
        for (name, source) in THEME {
            let override_path = theme_dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let source = match override_path {
                Some(p) => std::fs::read_to_string(&p)
                    .map_err(|e| AppError::Internal(format!("cannot read theme file {}: {e}", p.display())))?,
                None => (*source).to_string(),
            };
            env.add_template_owned(*name, source)?;
        }
        let catalogs =
            Arc::new(Catalogs::load(CATALOGS).map_err(|e| AppError::Internal(format!("message catalogs: {e}")))?);
        // `t("story.news_id")`, `t("comments.title", n=3)`: a message in the page's language.
        let texts = catalogs.clone();
        let words = Arc::new(Words::new(&catalogs));
        let in_t = words.clone();
        env.add_function("t", move |state: &minijinja::State, key: &str, kwargs: minijinja::value::Kwargs| {
            let page = lang_of(state, &in_t);
            if kwargs.args().next().is_none()
                && let Some(word) = page.words.as_ref().and_then(|w| w.get(key))
            {
                return Ok(word.clone());
            }
            let mut text = texts.text(&page.lang, key).to_string();
            for name in kwargs.args() {
                let value: Value = kwargs.get(name)?;
                let value = if value.is_number() { page.digits.apply(&value.to_string()) } else { value.to_string() };
                text = text.replace(&format!("{{{name}}}"), &value);
            }
            Ok::<_, minijinja::Error>(Value::from(text))
        });
        // `{{ story.news_id|num }}`: a number in the page's digits.
        env.add_filter("num", move |state: &minijinja::State, value: Value| {
            lang_of(state, &words).digits.apply(&value.to_string())
        });
        let css_href = format!("/static/site.css?v={}", &crate::site::content_hash(SITE_CSS.as_bytes())[..12]);
        Ok(Templates { env, css_href, catalogs })
    }

    /// The message `key` in `lang` with its `{name}` placeholders filled.
    pub fn text(&self, lang: &str, key: &str, args: &[(&str, &str)]) -> String {
        self.catalogs.format(lang, key, args)
    }

    /// Renders template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, AppError> {
        Ok(self.env.get_template(name)?.render(ctx)?)
    }
}

/// A link with a label.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// Label.
    pub name: String,
    /// Path or URL.
    pub url: String,
}

/// A photo as a page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PhotoView {
    /// Path of the image.
    pub src: String,
    /// Absolute URL (Open Graph, JSON-LD).
    pub abs: String,
    /// Alt text: the caption, else the headline.
    pub alt: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// Caption.
    pub caption: String,
    /// Credit.
    pub credit: String,
    /// `srcset` of the WebP renditions (a `<source>`); empty when there are none.
    pub webp_srcset: String,
    /// `srcset` of the JPEG renditions and the original (the `<img>`); empty when there are no renditions.
    pub srcset: String,
    /// `sizes` for the lead photo: the story column's width.
    pub sizes: &'static str,
    /// The crop shown, when the photo's crop renditions for the slot exist
    /// (`16:9`); `None` shows the uncropped photo.
    pub crop: Option<&'static str>,
    /// The social card image (Open Graph, X): the 16:9 crop at 1200 pixels,
    /// else the widest 16:9 crop; `None` until the crops are made.
    pub card: Option<CardImage>,
    /// Absolute URLs of the widest JPEG of each crop, 16:9, 4:3, 1:1 (JSON-LD
    /// `image`, as Google recommends); empty until the crops are made.
    pub schema_images: Vec<String>,
}

/// An image for social cards, with its size.
#[derive(Debug, Clone, Serialize)]
pub struct CardImage {
    /// Absolute URL.
    pub url: String,
    /// Width in pixels.
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
}

/// How wide the lead photo is shown: the story column (the page is at most
/// 1180px, less 32px padding, a 300px sidebar and a 32px gap) or the screen on narrow ones.
const LEAD_PHOTO_SIZES: &str = "(max-width: 860px) calc(100vw - 32px), 816px";

impl PhotoView {
    /// Adds the responsive candidates: WebP renditions for a `<source>`, JPEG
    /// renditions plus the original for the `<img>`.
    pub fn with_renditions(mut self, renditions: &[newsdesk_storage::Rendition]) -> PhotoView {
        if renditions.is_empty() {
            return self;
        }
        let list = |mime: &str| -> Vec<String> {
            renditions.iter().filter(|r| r.mime == mime).map(|r| format!("{} {}w", r.path(), r.width)).collect()
        };
        let original = format!("{} {}w", self.src, self.width);
        let mut webp = list("image/webp");
        if self.src.ends_with(".webp") {
            webp.push(original.clone());
        }
        let mut jpeg = list("image/jpeg");
        jpeg.push(original);
        self.webp_srcset = webp.join(", ");
        self.srcset = jpeg.join(", ");
        self
    }

    /// The view of `photo` on a story with `headline`.
    pub fn new(photo: &Photo, headline: &str, public_url: &str) -> PhotoView {
        let alt = if photo.caption.trim().is_empty() { headline.to_string() } else { photo.caption.clone() };
        PhotoView {
            src: photo.path(),
            abs: format!("{public_url}{}", photo.path()),
            alt,
            width: photo.width,
            height: photo.height,
            caption: photo.caption.clone(),
            credit: photo.credit.clone(),
            webp_srcset: String::new(),
            srcset: String::new(),
            sizes: LEAD_PHOTO_SIZES,
            crop: None,
            card: None,
            schema_images: Vec::new(),
        }
    }

    /// Shows the photo's `ratio` crop when its renditions exist (`src` the
    /// JPEG nearest 1024 pixels, `srcset`s of every width, the size of the
    /// widest for the layout); otherwise keeps the uncropped photo as it is.
    pub fn with_crop(mut self, ratio: Ratio, crops: &[CropRendition]) -> PhotoView {
        let of = |mime: &str| -> Vec<&CropRendition> {
            crops.iter().filter(|c| c.ratio == ratio && c.mime == mime).collect()
        };
        let jpeg = of("image/jpeg");
        let Some(widest) = jpeg.iter().max_by_key(|c| c.width) else { return self };
        let srcset = |list: &[&CropRendition]| -> String {
            list.iter().map(|c| format!("{} {}w", c.path(), c.width)).collect::<Vec<_>>().join(", ")
        };
        let fallback = jpeg.iter().filter(|c| c.width <= 1024).max_by_key(|c| c.width).unwrap_or(widest);
        self.src = fallback.path();
        self.width = widest.width;
        self.height = widest.height;
        self.srcset = srcset(&jpeg);
        self.webp_srcset = srcset(&of("image/webp"));
        self.crop = Some(ratio.label());
        self
    }

    /// Sets the card image and the JSON-LD images from the photo's crops, when
    /// they exist (otherwise pages name the uncropped photo, [`PhotoView::abs`]).
    pub fn with_card(mut self, crops: &[CropRendition], public_url: &str) -> PhotoView {
        let jpeg = |ratio: Ratio| crops.iter().filter(move |c| c.ratio == ratio && c.mime == "image/jpeg");
        let card = jpeg(Ratio::Wide)
            .find(|c| c.width == crate::media::crops::CARD_WIDTH)
            .or_else(|| jpeg(Ratio::Wide).max_by_key(|c| c.width));
        self.card =
            card.map(|c| CardImage { url: format!("{public_url}{}", c.path()), width: c.width, height: c.height });
        self.schema_images = Ratio::ALL
            .into_iter()
            .filter_map(|r| jpeg(r).max_by_key(|c| c.width))
            .map(|c| format!("{public_url}{}", c.path()))
            .collect();
        self
    }

    /// The social card's image URL: the 16:9 crop when made, else the photo.
    pub fn card_url(&self) -> String {
        self.card.as_ref().map_or_else(|| self.abs.clone(), |c| c.url.clone())
    }

    /// JSON-LD `image`: the three crops when made, else the photo.
    pub fn schema_image(&self) -> Vec<String> {
        if self.schema_images.is_empty() { vec![self.abs.clone()] } else { self.schema_images.clone() }
    }
}

/// A story in a list.
#[derive(Debug, Clone, Serialize)]
pub struct Teaser {
    /// News ID.
    pub news_id: i64,
    /// Canonical path.
    pub url: String,
    /// Headline.
    pub headline: String,
    /// Lead.
    pub lead: String,
    /// `14:37` in the edition's zone.
    pub time: String,
    /// `15 November 2023 - 14:37` in the edition's zone.
    pub date: String,
    /// ISO 8601 with offset.
    pub iso: String,
    /// Section link, if known.
    pub section: Option<Link>,
    /// Photo, if any.
    pub photo: Option<PhotoView>,
    /// The photo's id, to look up its renditions.
    #[serde(skip)]
    pub photo_id: Option<i64>,
}

impl Teaser {
    /// The teaser of `s` in `edition`.
    pub fn new(s: &StorySummary, edition: &Edition, sections: &[Section], public_url: &str) -> Teaser {
        let tz = edition.time_zone;
        Teaser {
            news_id: s.news_id,
            url: edition.url(&s.path()),
            headline: s.headline.clone(),
            lead: s.lead.clone(),
            time: edition.format_time(s.published_at),
            date: edition.format_long(s.published_at),
            iso: dates::iso8601(s.published_at, tz),
            section: sections.iter().find(|x| x.id == s.section_id).map(section_link),
            photo: s.photo.as_ref().map(|p| PhotoView::new(p, &s.headline, public_url)),
            photo_id: s.photo.as_ref().map(|p| p.id),
        }
    }
}

/// Link to a section page (inside the edition being served).
pub fn section_link(s: &Section) -> Link {
    Link { name: s.name.clone(), url: crate::editions::url(&format!("/section/{}", s.path)) }
}

/// What every page's `<head>` says about it.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    /// `<title>`, and `og:title` / `twitter:title` unless [`Meta::og_title`] is set.
    pub title: String,
    /// `og:title` and `twitter:title` when they differ from the `<title>`: a
    /// story's cards carry the headline alone (`og:site_name` names the site).
    pub og_title: Option<String>,
    /// Meta description.
    pub description: String,
    /// Absolute canonical URL.
    pub canonical: String,
    /// `og:type` (`website`, `article`).
    pub og_type: &'static str,
    /// Absolute image URL for cards.
    pub image: Option<String>,
    /// Alt text of the card image.
    pub image_alt: Option<String>,
    /// JSON-LD, already serialized and safe to embed in `<script>`.
    pub jsonld: Option<String>,
    /// `noindex` for pages search engines should not keep.
    pub noindex: bool,
}

/// Serializes JSON for a `<script>` element: `<` is escaped so no `</script>` can occur.
pub fn script_json(v: &serde_json::Value) -> String {
    let json = v.to_string();
    if json.contains('<') { json.replace('<', "\\u003c") } else { json }
}

/// The context shared by every page.
pub fn page_ctx(
    edition: &Edition,
    nav: &[Section],
    templates: &Templates,
    meta: &Meta,
    public_url: &str,
    main: Value,
) -> Value {
    let nav: Vec<Link> = nav.iter().filter(|s| s.parent_id.is_none()).map(section_link).collect();
    let edition_url = format!("{public_url}{}", edition.prefix());
    minijinja::context! {
        site => minijinja::context! {
            lang => edition.lang,
            dir => edition.direction.as_str(),
            digits => newsdesk_domain::digits_name(edition.digits),
            name => edition.name,
            home => edition.url("/"),
            search => edition.url("/search"),
            nav => nav,
            css_href => templates.css_href,
            public_url => public_url,
            feeds => crate::feeds::alternates(&edition_url, &edition.name, &meta.canonical, &meta.title),
        },
        meta => meta,
        ..main
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(templates: &Templates, lang: &str, source: &str) -> String {
        let ctx = minijinja::context! { site => minijinja::context! { lang => lang } };
        templates.env.render_str(source, ctx).expect("renders")
    }

    #[test]
    fn words_are_in_the_page_s_language_else_its_region_s_else_english() {
        let templates = Templates::load(None).expect("the theme");
        let home = |lang: &str| say(&templates, lang, r#"{{ t("site.home") }}"#);
        let fa = templates.catalogs.text("fa", "site.home");
        assert_ne!(fa, "Home");
        assert_eq!(home("fa"), fa);
        assert_eq!(home("fa-IR"), fa);
        assert_eq!(home("en"), "Home");
        assert_eq!(home("de"), "Home");
        // Placeholders filled (numbers in the page's digits), a missing key shown as itself.
        assert_eq!(
            say(&templates, "en", r#"{{ t("site.home_description", edition="Newsdesk") }}"#),
            "Newsdesk: the latest news, as it happens."
        );
        assert_eq!(say(&templates, "en", r#"{{ t("no.such.key") }}"#), "no.such.key");
        assert_eq!(say(&templates, "fa", r#"{{ 2024|num }}"#), "۲۰۲۴");
    }
}
