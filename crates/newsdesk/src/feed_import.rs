//! `newsdesk import feed URL|FILE`: an RSS, Atom or JSON Feed archive into an
//! edition, as `import wxr` does for WordPress. The feed is read by the
//! ingest's feed reader ([`newsdesk_domain::ingest::parse_feed`]: bodies
//! through the story sanitizer, categories as keywords); each entry becomes a
//! published story with the entry's date, its authors as bylines and its
//! categories as tags, and the path of the entry's old link redirects (301)
//! to the story. Stories are mapped by the entry's id ([`Store::import_story`]),
//! so a second run updates what changed and adds nothing twice. A URL is
//! fetched once with a time limit; nothing else is fetched. The report ends
//! the output: one line per entry skipped or changed, with why, then totals.

use std::time::Duration;

use anyhow::{Context, anyhow};
use newsdesk_domain::ingest::{self, IncomingItem, Position};
use newsdesk_domain::wxr::plan::old_path;
use newsdesk_domain::{BodyFormat, Edition, StoryStatus, limits};
use newsdesk_storage::{SaveOutcome, SectionRef, Store, StoryInput};

use crate::config::Config;

/// Largest feed read, from a file or a URL.
const MAX_FEED_BYTES: usize = 64 * 1024 * 1024;
/// How long fetching a feed may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// The section stories go into when the edition has none.
const DEFAULT_SECTION: &str = "News";

fn is_url(from: &str) -> bool {
    let lower = from.trim().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The feed's bytes, from `from` (an http(s) URL, else a file).
async fn read(from: &str) -> anyhow::Result<Vec<u8>> {
    if !is_url(from) {
        let meta = std::fs::metadata(from).with_context(|| format!("{from}: cannot read"))?;
        if meta.len() > MAX_FEED_BYTES as u64 {
            return Err(anyhow!("{from}: larger than {} MB", MAX_FEED_BYTES / 1024 / 1024));
        }
        return std::fs::read(from).with_context(|| format!("{from}: cannot read"));
    }
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .user_agent(concat!("newsdesk/", env!("CARGO_PKG_VERSION"), " (import feed)"))
        .build()
        .context("cannot start an HTTP client")?;
    let mut res = client.get(from.trim()).send().await.with_context(|| format!("{from}: cannot fetch"))?;
    if !res.status().is_success() {
        return Err(anyhow!("{from}: the server answered {}", res.status()));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = res.chunk().await.with_context(|| format!("{from}: the answer broke off"))? {
        if bytes.len() + chunk.len() > MAX_FEED_BYTES {
            return Err(anyhow!("{from}: larger than {} MB", MAX_FEED_BYTES / 1024 / 1024));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// `from:line:col: reason`, or `from: $.path: reason` for JSON.
fn located(from: &str, at: &Position, reason: &str) -> String {
    match at {
        Position::Text { .. } => format!("{from}:{at}: {reason}"),
        Position::Json(_) => format!("{from}: {at}: {reason}"),
    }
}

/// The first `max` characters of `s`, and whether it was cut.
fn clip(s: &str, max: usize) -> (String, bool) {
    let s = s.trim();
    if s.chars().count() <= max { (s.to_string(), false) } else { (s.chars().take(max).collect(), true) }
}

/// Where the stories are mapped from: the site of the entries' links (so a
/// file saved from a URL maps as the URL did), else the argument.
fn source_of(from: &str, items: &[IncomingItem]) -> String {
    let site = items.iter().find_map(|i| {
        let (scheme, rest) = i.link.split_once("://")?;
        let host = rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())?;
        Some(format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
    });
    format!("feed:{}", site.unwrap_or_else(|| from.trim().to_string()))
}

/// The section of imported stories: the edition's first, else [`DEFAULT_SECTION`].
async fn section(store: &Store, edition: &Edition) -> anyhow::Result<SectionRef> {
    Ok(match store.sections(edition.id).await?.into_iter().find(|s| s.parent_id.is_none()) {
        Some(s) => SectionRef::Id(s.id),
        None => SectionRef::Names(vec![DEFAULT_SECTION.into()]),
    })
}

/// The story an entry becomes, and what had to change (for the report).
fn story_of(item: &IncomingItem, edition_id: i64, section: &SectionRef, notes: &mut Vec<String>) -> StoryInput {
    let (headline, cut) = clip(&item.headline, limits::MAX_HEADLINE);
    if cut {
        notes.push(format!("headline cut to {} characters", limits::MAX_HEADLINE));
    }
    let (lead, cut) = clip(&item.description, limits::MAX_LEAD);
    if cut {
        notes.push(format!("summary cut to {} characters", limits::MAX_LEAD));
    }
    let mut tags: Vec<String> =
        item.keywords.iter().map(|k| clip(k, limits::MAX_NAME).0).filter(|k| !k.is_empty()).collect();
    if tags.len() > limits::MAX_TAGS {
        notes.push(format!(
            "{} categories left out (at most {} tags)",
            tags.len() - limits::MAX_TAGS,
            limits::MAX_TAGS
        ));
        tags.truncate(limits::MAX_TAGS);
    }
    let authors: Vec<String> =
        item.byline.split(", ").map(|a| clip(a, limits::MAX_NAME).0).filter(|a| !a.is_empty()).collect();
    let published_at = item.first_created.or(item.version_created);
    if published_at.is_none() {
        notes.push("the entry has no date: published at the time of import".into());
    }
    StoryInput {
        news_id: None,
        edition_id,
        section: section.clone(),
        slug: None,
        headline,
        lead,
        body_source: item.body_html.clone(),
        body_format: BodyFormat::Html,
        photo_id: None,
        gallery_id: None,
        status: StoryStatus::Published,
        published_at: Some(published_at.unwrap_or_else(chrono::Utc::now)),
        tags,
        authors,
        agency: None,
        actor: "import".into(),
    }
}

/// Imports the feed at `from` (URL or file) into the edition `lang` (default: the default edition).
pub async fn import_feed(config: &Config, lang: Option<&str>, from: &str) -> anyhow::Result<()> {
    let bytes = read(from).await?;
    let items = ingest::parse_feed(&bytes).map_err(|e| anyhow!("{}", located(from, &e.at, &e.reason)))?;
    let store = crate::startup::open_store(config).await?;
    let result = import(&store, config, lang, from, &items).await;
    store.close().await;
    result
}

async fn import(
    store: &Store,
    config: &Config,
    lang: Option<&str>,
    from: &str,
    items: &[IncomingItem],
) -> anyhow::Result<()> {
    let edition = crate::import::target_edition(store, config, lang).await?;
    let section = section(store, &edition).await?;
    let source = source_of(from, items);
    let (mut created, mut updated, mut unchanged, mut redirects) = (0usize, 0usize, 0usize, 0usize);
    let mut report = Vec::new();
    for item in items {
        let name = if item.headline.is_empty() { item.guid.clone() } else { format!("\"{}\"", item.headline) };
        if item.body_html.trim().is_empty() {
            report.push(format!("skipped entry {name}: it has no text (no content or summary)"));
            continue;
        }
        let mut notes = Vec::new();
        let input = story_of(item, edition.id, &section, &mut notes);
        let old_paths: Vec<String> = old_path(&item.link).into_iter().collect();
        if item.link.trim().is_empty() {
            notes.push("no link: no redirect from an old address".into());
        }
        let (news_id, outcome) = store
            .import_story(&source, &item.guid, &input, None, &old_paths, &edition)
            .await
            .with_context(|| format!("entry {name}: cannot store"))?;
        match outcome {
            SaveOutcome::Created => created += 1,
            SaveOutcome::Updated => updated += 1,
            SaveOutcome::Unchanged => unchanged += 1,
        }
        redirects += old_paths.len();
        report.extend(notes.into_iter().map(|n| format!("changed entry {name}: {n}")));
        let what = match outcome {
            SaveOutcome::Created => "created",
            SaveOutcome::Updated => "updated",
            SaveOutcome::Unchanged => "unchanged",
        };
        println!("{news_id} {}{} ({what})", config.public_url(), edition.url(&format!("/news/{news_id}")));
    }
    for line in &report {
        println!("{line}");
    }
    println!(
        "stories: {} of {} entries ({created} created, {updated} updated, {unchanged} unchanged)",
        created + updated + unchanged,
        items.len()
    );
    println!("redirects: {redirects} old addresses");
    println!("total skipped or changed: {} (listed above)", report.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(link: &str) -> IncomingItem {
        let mut i = ingest::parse_feed(
            br#"{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1", "content_text": "x"}]}"#,
        )
        .expect("a JSON Feed")
        .remove(0);
        i.link = link.into();
        i
    }

    #[test]
    fn the_source_is_the_site_of_the_links_else_the_argument() {
        assert_eq!(
            source_of("a.json", &[item(""), item("HTTPS://Blog.Example/2020/01/x/")]),
            "feed:https://blog.example"
        );
        assert_eq!(source_of(" a.json ", &[item("")]), "feed:a.json");
        assert!(is_url("HTTP://x") && !is_url("/tmp/http://x"));
    }

    #[test]
    fn long_fields_are_cut_and_said() {
        let mut i = item("");
        i.headline = "h".repeat(limits::MAX_HEADLINE + 1);
        i.keywords = (0..40).map(|n| format!("k{n}")).collect();
        i.byline = "Ann, Bob".into();
        let mut notes = Vec::new();
        let s = story_of(&i, 1, &SectionRef::Id(1), &mut notes);
        assert_eq!(s.headline.chars().count(), limits::MAX_HEADLINE);
        assert_eq!(s.tags.len(), limits::MAX_TAGS);
        assert_eq!(s.authors, vec!["Ann".to_string(), "Bob".to_string()]);
        assert_eq!(s.status, StoryStatus::Published);
        assert_eq!(notes.len(), 3, "{notes:?}");
    }
}
