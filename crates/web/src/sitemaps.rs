//! Sitemaps for search engines, valid against the sitemaps.org and Google News
//! schemas:
//!
//! - `/sitemap.xml`: the index, pointing at one story sitemap per month (UTC)
//!   that has stories, `/sitemaps/stories-YYYY-MM.xml` (a month of more than
//!   50,000 stories continues in `stories-YYYY-MM-2.xml`, ...), and at
//!   `/sitemaps/sections.xml` (home, sections and tags);
//! - `/sitemap-news.xml`: Google News, the stories of the last 48 hours (at most 1,000).
//!
//! Every query walks the publish-time index by range, so the index and a
//! month's sitemap cost what they list, not the size of the archive. They are
//! cached like pages: a publish drops the index and the sitemap of the
//! story's month, and a change to a listed story drops the sitemaps that list it.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use newsdesk_domain::dates;
use newsdesk_storage::StoryFilter;
use newsdesk_storage::listing::Month;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::cache::CachedPage;
use crate::site::{Rendered, abs, cached, edition, list_dep_day, list_dep_edition, story_deps};
use crate::{AppError, AppState};

/// URLs in one sitemap file (the protocol's limit).
pub const URLS_PER_SITEMAP: i64 = 50_000;
/// Stories in the news sitemap at most (Google News' limit).
pub const NEWS_MAX: i64 = 1_000;
/// How far back the news sitemap reaches.
pub const NEWS_WINDOW: Duration = Duration::hours(48);

const SITEMAP_NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";
const NEWS_NS: &str = "http://www.google.com/schemas/sitemap-news/0.9";
const CONTENT_TYPE: &str = "application/xml; charset=utf-8";
const CC_SITEMAP: &str = "public, max-age=300";
const CC_NEWS: &str = "public, max-age=60";
/// The news sitemap is cached per window of this many seconds, so stories
/// leave it as they age past 48 hours even when nothing is published.
const NEWS_CACHE_SECS: i64 = 300;

/// Routes of the sitemaps.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sitemap.xml", get(index))
        .route("/sitemap-news.xml", get(news))
        .route("/sitemaps/{file}", get(sitemap_file))
}

/// A sitemap file below `/sitemaps/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SitemapFile {
    /// Home, sections and tags.
    Sections,
    /// Part `part` (from 1) of a month's stories.
    Stories { month: Month, part: i64 },
}

impl SitemapFile {
    /// Reads `sections.xml`, `stories-2023-11.xml`, `stories-2023-11-2.xml`.
    fn parse(name: &str) -> Option<SitemapFile> {
        let stem = name.strip_suffix(".xml")?;
        if stem == "sections" {
            return Some(SitemapFile::Sections);
        }
        let mut it = stem.strip_prefix("stories-")?.split('-');
        let (y, m, part) = (it.next()?, it.next()?, it.next());
        if it.next().is_some()
            || y.len() != 4
            || m.len() != 2
            || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let part = match part {
            None => 1,
            // Part 1 has one name only; parts are written without leading zeros.
            Some(p) if !p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().ok().filter(|n| *n >= 2)?
            }
            Some(_) => return None,
        };
        Some(SitemapFile::Stories { month: Month::new(y.parse().ok()?, m.parse().ok()?)?, part })
    }

    /// Path of the file.
    fn path(self) -> String {
        match self {
            SitemapFile::Sections => "/sitemaps/sections.xml".into(),
            SitemapFile::Stories { month, part: 1 } => {
                format!("/sitemaps/stories-{:04}-{:02}.xml", month.year, month.month)
            }
            SitemapFile::Stories { month, part } => {
                format!("/sitemaps/stories-{:04}-{:02}-{part}.xml", month.year, month.month)
            }
        }
    }
}

/// Builds an XML document; writing into memory cannot fail, but errors are carried, not unwrapped.
struct Xml {
    w: Writer<Vec<u8>>,
}

type XmlResult = std::io::Result<()>;

impl Xml {
    fn new() -> Result<Xml, AppError> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 1);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).map_err(xml_error)?;
        Ok(Xml { w })
    }

    fn finish(self) -> Result<String, AppError> {
        let xml = String::from_utf8(self.w.into_inner())
            .map_err(|e| AppError::Internal(format!("sitemap is not UTF-8: {e}")))?;
        // quick-xml passes control characters through; XML cannot carry them.
        Ok(newsdesk_domain::text::xml_safe(&xml).into_owned())
    }
}

fn xml_error(e: std::io::Error) -> AppError {
    AppError::Internal(format!("writing a sitemap: {e}"))
}

fn text(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> XmlResult {
    w.create_element(name).write_text_content(BytesText::new(value)).map(|_| ())
}

/// One `<url>` of a url set.
struct UrlEntry {
    loc: String,
    lastmod: Option<String>,
    changefreq: Option<&'static str>,
}

fn urlset(entries: &[UrlEntry]) -> Result<String, AppError> {
    let mut x = Xml::new()?;
    x.w.create_element("urlset")
        .with_attribute(("xmlns", SITEMAP_NS))
        .write_inner_content(|w| {
            for e in entries {
                w.create_element("url").write_inner_content(|w| {
                    text(w, "loc", &e.loc)?;
                    if let Some(m) = &e.lastmod {
                        text(w, "lastmod", m)?;
                    }
                    if let Some(c) = e.changefreq {
                        text(w, "changefreq", c)?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })
        .map_err(xml_error)?;
    x.finish()
}

fn document(body: String, cache_control: &'static str, modified: Option<DateTime<Utc>>, deps: Vec<String>) -> Rendered {
    Rendered::Page(CachedPage::document(body, CONTENT_TYPE, cache_control, modified, deps))
}

// ----- the index -----

async fn index(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Result<Response, AppError> {
    let st = &state;
    cached(st, uri.path().to_string(), &headers, || async move {
        // The default edition's index lists the files of every edition (`/fa/sitemaps/…` too);
        // another edition's own index lists its files.
        let current = edition(st);
        let editions: Vec<_> = if current.is_default && !st.editions.load().is_empty() {
            st.editions.load().iter().cloned().collect()
        } else {
            vec![current]
        };
        let mut locs = Vec::new();
        let mut deps = Vec::new();
        for e in &editions {
            let months = st.store.published_months(e.id).await?;
            let mut files = vec![SitemapFile::Sections];
            for m in &months {
                let parts = (m.stories + URLS_PER_SITEMAP - 1) / URLS_PER_SITEMAP;
                files.extend((1..=parts).map(|part| SitemapFile::Stories { month: m.month, part }));
            }
            locs.extend(files.iter().map(|f| {
                let path = crate::editions::within(e, &f.path());
                crate::editions::encode_location(&format!("{}{path}", st.config.public_url))
            }));
            deps.push(list_dep_edition(e.id));
        }
        let mut x = Xml::new()?;
        x.w.create_element("sitemapindex")
            .with_attribute(("xmlns", SITEMAP_NS))
            .write_inner_content(|w| {
                for loc in &locs {
                    w.create_element("sitemap").write_inner_content(|w| text(w, "loc", loc))?;
                }
                Ok(())
            })
            .map_err(xml_error)?;
        // Any publish may open a month or split one: the index follows the editions' lists.
        Ok(document(x.finish()?, CC_SITEMAP, None, deps))
    })
    .await
}

// ----- files below /sitemaps/ -----

async fn sitemap_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let file = SitemapFile::parse(&file).ok_or(AppError::NotFound)?;
    let st = &state;
    cached(st, uri.path().to_string(), &headers, || async move {
        match file {
            SitemapFile::Sections => sections_sitemap(st).await,
            SitemapFile::Stories { month, part } => month_sitemap(st, month, part).await,
        }
    })
    .await
}

async fn sections_sitemap(state: &AppState) -> Result<Rendered, AppError> {
    let edition = edition(state);
    let sections = state.sections(edition.id).await?;
    let room = URLS_PER_SITEMAP - 1 - sections.len() as i64;
    let tags = if room > 0 { state.store.tags_in_use(edition.id, room).await? } else { Vec::new() };
    let mut entries = vec![UrlEntry { loc: abs(state, "/"), lastmod: None, changefreq: Some("always") }];
    entries.extend(sections.iter().take(URLS_PER_SITEMAP as usize - 1).map(|s| UrlEntry {
        loc: abs(state, &format!("/section/{}", s.path)),
        lastmod: None,
        changefreq: Some("hourly"),
    }));
    entries.extend(tags.iter().map(|t| UrlEntry {
        loc: abs(state, &format!("/tag/{}", t.slug)),
        lastmod: None,
        changefreq: Some("daily"),
    }));
    Ok(document(urlset(&entries)?, CC_SITEMAP, None, vec![list_dep_edition(edition.id)]))
}

async fn month_sitemap(state: &AppState, month: Month, part: i64) -> Result<Rendered, AppError> {
    let edition = edition(state);
    let tz = edition.time_zone;
    let start = if part > 1 {
        let key = state.store.month_key_at(edition.id, month, (part - 1) * URLS_PER_SITEMAP).await?;
        Some(key.ok_or(AppError::NotFound)?)
    } else {
        None
    };
    let stories = state.store.month_stories(edition.id, month, start, URLS_PER_SITEMAP).await?;
    if stories.is_empty() {
        // A url set needs at least one URL; a month without stories has no sitemap.
        return Err(AppError::NotFound);
    }
    let entries: Vec<UrlEntry> = stories
        .iter()
        .map(|s| UrlEntry {
            loc: abs(state, &s.path()),
            lastmod: Some(dates::iso8601(s.modified(), tz)),
            changefreq: None,
        })
        .collect();
    let modified = stories.iter().map(|s| s.modified()).max();
    let mut deps = story_deps(stories.iter().map(|s| s.news_id));
    deps.extend(month_day_deps(edition.id, month, tz));
    Ok(document(urlset(&entries)?, CC_SITEMAP, modified, deps))
}

/// The list keys of every day (in the edition's zone) that overlaps `month`
/// (UTC): a story published into the month drops its sitemap.
fn month_day_deps(edition_id: i64, month: Month, tz: Tz) -> Vec<String> {
    let (from, to) = month.range();
    let first = dates::from_unix(from).with_timezone(&tz).date_naive();
    let last = dates::from_unix(to - 1).with_timezone(&tz).date_naive();
    first.iter_days().take_while(|d| *d <= last).map(|d| list_dep_day(edition_id, d)).collect()
}

// ----- Google News -----

async fn news(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Result<Response, AppError> {
    let st = &state;
    let window = Utc::now().timestamp().div_euclid(NEWS_CACHE_SECS);
    let key = format!("{}#{window}", uri.path());
    cached(st, key, &headers, || async move {
        let edition = edition(st);
        let now = Utc::now();
        let filter = StoryFilter::Between {
            edition_id: edition.id,
            from: now - NEWS_WINDOW,
            // Published stories are never in the future; the bound only closes the range.
            to: now + Duration::days(1),
        };
        let stories = st.store.published(&filter, None, NEWS_MAX).await?;
        let mut x = Xml::new()?;
        x.w.create_element("urlset")
            .with_attribute(("xmlns", SITEMAP_NS))
            .with_attribute(("xmlns:news", NEWS_NS))
            .write_inner_content(|w| {
                if stories.is_empty() {
                    // The schema wants at least one URL: the home page, without news data.
                    w.create_element("url").write_inner_content(|w| text(w, "loc", &abs(st, "/")))?;
                }
                for s in &stories {
                    w.create_element("url").write_inner_content(|w| {
                        text(w, "loc", &abs(st, &s.path()))?;
                        w.create_element("news:news").write_inner_content(|w| {
                            w.create_element("news:publication").write_inner_content(|w| {
                                text(w, "news:name", &edition.name)?;
                                text(w, "news:language", &news_language(&edition.lang))
                            })?;
                            text(w, "news:publication_date", &dates::iso8601(s.published_at, edition.time_zone))?;
                            text(w, "news:title", &s.headline)
                        })?;
                        Ok(())
                    })?;
                }
                Ok(())
            })
            .map_err(xml_error)?;
        let modified = stories.iter().map(|s| s.updated_at.unwrap_or(s.published_at).max(s.published_at)).max();
        let mut deps = story_deps(stories.iter().map(|s| s.news_id));
        deps.push(list_dep_edition(edition.id));
        Ok(document(x.finish()?, CC_NEWS, modified, deps))
    })
    .await
}

/// The language code Google News accepts: ISO 639 in lower case (`zh-cn` and `zh-tw` kept).
fn news_language(lang: &str) -> String {
    let lang = lang.to_ascii_lowercase().replace('_', "-");
    match lang.as_str() {
        "zh-cn" | "zh-tw" => lang,
        _ => lang.split('-').next().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemap_file_names_round_trip() {
        let nov = Month::new(2023, 11).expect("month");
        assert_eq!(SitemapFile::parse("sections.xml"), Some(SitemapFile::Sections));
        assert_eq!(SitemapFile::parse("stories-2023-11.xml"), Some(SitemapFile::Stories { month: nov, part: 1 }));
        assert_eq!(SitemapFile::parse("stories-2023-11-2.xml"), Some(SitemapFile::Stories { month: nov, part: 2 }));
        for f in [
            SitemapFile::Sections,
            SitemapFile::Stories { month: nov, part: 1 },
            SitemapFile::Stories { month: nov, part: 3 },
        ] {
            let path = f.path();
            assert_eq!(SitemapFile::parse(path.trim_start_matches("/sitemaps/")), Some(f), "{path}");
        }
        for bad in [
            "stories-2023-13.xml",
            "stories-2023-11-1.xml",
            "stories-2023-11-02.xml",
            "stories-23-11.xml",
            "stories-2023-1.xml",
            "stories-2023-11",
            "x.xml",
            "stories-2023-11-2-3.xml",
            "stories-+023-11.xml",
        ] {
            assert_eq!(SitemapFile::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn news_languages_are_iso_639() {
        assert_eq!(news_language("en"), "en");
        assert_eq!(news_language("fa-IR"), "fa");
        assert_eq!(news_language("zh-TW"), "zh-tw");
    }

    #[test]
    fn a_month_depends_on_every_local_day_it_touches() {
        let deps = month_day_deps(1, Month::new(2023, 11).expect("month"), chrono_tz::Asia::Tehran);
        // 1 November 00:00 UTC is 03:30 in Tehran; 30 November 23:59 UTC is already 1 December there.
        assert_eq!(deps.first().map(String::as_str), Some("list:day:1:2023-11-01"));
        assert_eq!(deps.last().map(String::as_str), Some("list:day:1:2023-12-01"));
        assert_eq!(deps.len(), 31);
    }
}
