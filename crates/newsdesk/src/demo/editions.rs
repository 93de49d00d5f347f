//! The demo's Persian and Arabic editions: `/fa/` (right to left, Tehran time,
//! Solar Hijri calendar, Persian digits) and `/ar/` (right to left, Tehran
//! time, Gregorian calendar with Arabic month names and Arabic-Indic digits, or
//! Hijri when asked), each with a section tree and synthetic stories in its
//! language, plus a Persian translation of the seed story linked to it.
//!
//! Synthetic stories are marked as in English: a byline, a tag and a lead that
//! ends with a note, all in the edition's language, so nobody takes them for news.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::calendar::{Calendar, Digits};
use newsdesk_domain::{BodyFormat, Direction, NewsId, StoryStatus};
use newsdesk_storage::{AuditEntry, NewEdition, SectionRef, Store, StoryInput};

use super::data::{EditionText, arabic, persian};

/// Byline of the Persian synthetic stories.
pub const FA_AUTHOR: &str = "میز خبر نمایشی";
/// Tag of the Persian synthetic stories.
pub const FA_TAG: &str = "مصنوعی";
/// Text that ends the lead of every Persian synthetic story.
pub const FA_MARK: &str = " (متن نمایشی مصنوعی.)";
/// Byline of the Arabic synthetic stories.
pub const AR_AUTHOR: &str = "مكتب الأخبار التجريبي";
/// Tag of the Arabic synthetic stories.
pub const AR_TAG: &str = "مصطنع";
/// Text that ends the lead of every Arabic synthetic story.
pub const AR_MARK: &str = " (نص تجريبي مصطنع.)";

const ACTOR: &str = "demo";
/// Credit of the drawn photos, in the edition's language.
const FA_PHOTO_CREDIT: &str = "عکس نمایشی (کشیده‌شده با newsdesk)";
const AR_PHOTO_CREDIT: &str = "صورة تجريبية (رسمها newsdesk)";

/// How many synthetic stories each of the two editions gets.
pub const STORIES_PER_EDITION: usize = 36;

/// The Persian edition's settings.
pub fn persian_edition() -> NewEdition {
    NewEdition {
        lang: "fa".into(),
        name: "خبرگزاری نیوزدسک".into(),
        direction: Direction::Rtl,
        time_zone: chrono_tz::Asia::Tehran,
        is_default: false,
    }
}

/// The Arabic edition's settings.
pub fn arabic_edition() -> NewEdition {
    NewEdition {
        lang: "ar".into(),
        name: "وكالة نيوزدسك للأنباء".into(),
        direction: Direction::Rtl,
        time_zone: chrono_tz::Asia::Tehran,
        is_default: false,
    }
}

/// What [`fill`] made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditionsReport {
    /// The Persian edition.
    pub fa_edition: i64,
    /// The Arabic edition.
    pub ar_edition: i64,
    /// The Persian translation of the seed story.
    pub seed_translation: NewsId,
    /// Stories written in both editions, the translation included.
    pub created: usize,
}

/// Creates the Persian and Arabic demo editions with their sections and
/// [`STORIES_PER_EDITION`] synthetic stories each, published over the 30 days
/// before `now`, and links a Persian translation to the English seed story
/// `seed`. `arabic_calendar` is the Arabic edition's calendar (Gregorian or Hijri).
pub async fn fill(
    store: &Store,
    seed: NewsId,
    now: DateTime<Utc>,
    arabic_calendar: Calendar,
) -> anyhow::Result<EditionsReport> {
    let fa = store.upsert_edition(&persian_edition()).await.context("creating the Persian demo edition")?;
    store
        .set_edition_locale(fa.id, Calendar::SolarHijri, Digits::Persian)
        .await
        .context("setting the Persian edition's calendar")?;
    let ar = store.upsert_edition(&arabic_edition()).await.context("creating the Arabic demo edition")?;
    store
        .set_edition_locale(ar.id, arabic_calendar, Digits::ArabicIndic)
        .await
        .context("setting the Arabic edition's calendar")?;

    let mut created = 0;
    let fa_marks = [FA_AUTHOR, FA_TAG, FA_MARK, FA_PHOTO_CREDIT];
    created += write(store, fa.id, persian(), Digits::Persian, 2_000, fa_marks, now).await?;
    let ar_marks = [AR_AUTHOR, AR_TAG, AR_MARK, AR_PHOTO_CREDIT];
    created += write(store, ar.id, arabic(), Digits::ArabicIndic, 3_000, ar_marks, now).await?;
    let seed_fa = persian().seed_translation.as_ref().context("data/demo/persian.toml has no seed_translation")?;
    let photo = super::photos::store_drawn_photo(store, 0, 1_001, &seed_fa.headline, FA_PHOTO_CREDIT).await?;

    let seed_story = store.story(seed).await?.with_context(|| format!("the seed story {seed} is missing"))?;
    let (translation, _) = store
        .save_story(&StoryInput {
            news_id: None,
            edition_id: fa.id,
            section: SectionRef::Names(seed_fa.section.clone()),
            slug: None,
            headline: seed_fa.headline.clone(),
            lead: seed_fa.lead.clone(),
            body_source: seed_fa.body.join("\n\n"),
            body_format: BodyFormat::Text,
            photo_id: Some(photo),
            gallery_id: None,
            status: StoryStatus::Published,
            published_at: seed_story.published_at,
            tags: seed_fa.tags.clone(),
            authors: Vec::new(),
            agency: None,
            actor: ACTOR.into(),
        })
        .await
        .context("saving the Persian translation of the seed story")?;
    let audit = AuditEntry::system(ACTOR, "story.translation", "story", translation, &format!("translation of {seed}"));
    store.set_translation_of(translation, Some(seed), &audit).await.context("linking the seed's translation")?;
    created += 1;
    Ok(EditionsReport { fa_edition: fa.id, ar_edition: ar.id, seed_translation: translation, created })
}

/// Writes the synthetic stories of one edition from its `text`, numbers in
/// `digits`; `marks` are its byline, tag, lead mark and photo credit, and
/// `variant_base` keeps its drawings apart from the other edition's.
async fn write(
    store: &Store,
    edition_id: i64,
    text: &EditionText,
    digits: Digits,
    variant_base: u64,
    marks: [&str; 4],
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let (patterns, places) = (&text.patterns, &text.places);
    let [author, tag, mark, credit] = marks;
    // One drawing per pattern, shared by its stories; no caption, so each story's
    // headline is its alt text (a caption naming one city would be wrong on the others).
    let mut photos = Vec::with_capacity(patterns.len());
    // Oldest first, so News IDs grow with time; the newest a few minutes before `now`.
    let step = Duration::days(30).num_seconds() / STORIES_PER_EDITION as i64;
    for (k, p) in patterns.iter().enumerate() {
        photos.push(super::photos::store_drawn_photo(store, p.style, variant_base + k as u64, "", credit).await?);
    }
    for i in 0..STORIES_PER_EDITION {
        let p = &patterns[i % patterns.len()];
        let place = places[(i * 7 + i / patterns.len()) % places.len()].as_str();
        let n = digits.apply(&(3 + (i * 13) % 47).to_string());
        let fill = |s: &str| s.replace("{place}", place).replace("{n}", &n);
        let published = now - Duration::minutes(6) - Duration::seconds(step * (STORIES_PER_EDITION - 1 - i) as i64);
        let input = StoryInput {
            news_id: None,
            edition_id,
            section: SectionRef::Names(p.section.clone()),
            slug: None,
            headline: fill(&p.headline),
            lead: format!("{}{mark}", fill(&p.lead)),
            body_source: p.body.iter().map(|b| fill(b)).collect::<Vec<_>>().join("\n\n"),
            body_format: BodyFormat::Text,
            // Two stories in three get the pattern's drawing, the newest (the top story) among them.
            photo_id: ((STORIES_PER_EDITION - 1 - i) % 3 != 2).then(|| photos[i % patterns.len()]),
            gallery_id: None,
            status: StoryStatus::Published,
            published_at: Some(published),
            tags: vec![p.tag.clone(), tag.to_string()],
            authors: vec![author.to_string()],
            agency: None,
            actor: ACTOR.into(),
        };
        store
            .save_story(&input)
            .await
            .with_context(|| format!("saving synthetic story {} of edition {edition_id}", i + 1))?;
    }
    Ok(STORIES_PER_EDITION)
}

#[cfg(test)]
mod tests {
    use super::*;
    use newsdesk_storage::StoryFilter;
    use newsdesk_storage::testing::TestDb;

    async fn fills_persian_and_arabic_editions(db: TestDb) {
        let store = &db.store;
        let now = newsdesk_domain::dates::from_unix(Utc::now().timestamp());
        let report = crate::demo::fill_site(store, 3, now, Calendar::Hijri).await.expect("demo site");
        assert_eq!(report.created, 4 + 2 * STORIES_PER_EDITION + 1, "English, Persian, Arabic and the translation");
        let editions = store.editions().await.expect("editions");
        assert_eq!(editions.iter().map(|e| e.lang.as_str()).collect::<Vec<_>>(), vec!["en", "fa", "ar"]);
        let fa = &editions[1];
        assert_eq!((fa.direction, fa.calendar, fa.digits), (Direction::Rtl, Calendar::SolarHijri, Digits::Persian));
        assert_eq!(fa.time_zone, chrono_tz::Asia::Tehran);
        let ar = &editions[2];
        assert_eq!((ar.direction, ar.calendar, ar.digits), (Direction::Rtl, Calendar::Hijri, Digits::ArabicIndic));
        for (e, tag, mark, author) in [(fa, FA_TAG, FA_MARK, FA_AUTHOR), (ar, AR_TAG, AR_MARK, AR_AUTHOR)] {
            let stories = store.published(&StoryFilter::Edition(e.id), None, 100).await.expect("list");
            // The Persian edition also has the seed's translation.
            let synthetic: Vec<_> = stories.iter().filter(|s| s.lead.ends_with(mark)).collect();
            assert_eq!(synthetic.len(), STORIES_PER_EDITION, "{}", e.lang);
            let newest = store.story(stories[0].news_id).await.expect("read").expect("story");
            assert!(newest.photo.is_some(), "the top story of {} has a photo", e.lang);
            for s in synthetic {
                let s = store.story(s.news_id).await.expect("read").expect("story");
                assert!(s.tags.iter().any(|t| t.name == tag), "{} is tagged {tag}", s.headline);
                assert_eq!(s.authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), vec![author]);
                assert!(s.news_id > 84_427 + 3, "News IDs follow the English ones");
                assert!(!s.headline.contains('{') && !s.body_html.contains('{'));
            }
        }
        let links = store.translations(84_427).await.expect("translations");
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].lang, "fa");
        let seed_fa = persian().seed_translation.as_ref().expect("seed translation");
        assert_eq!(links[0].headline, seed_fa.headline);
        let translation = store.story(links[0].news_id).await.expect("read").expect("translation");
        let seed = store.story(84_427).await.expect("read").expect("seed");
        assert_eq!(translation.published_at, seed.published_at);
        assert_eq!(fa.format_long(translation.published_at.expect("published")), "۲۴ آبان ۱۴۰۲ - ۱۴:۳۷");
    }

    #[tokio::test]
    async fn fill_site_builds_the_persian_and_arabic_editions_on_sqlite() {
        fills_persian_and_arabic_editions(TestDb::sqlite().await).await;
    }

    #[tokio::test]
    async fn fill_site_builds_the_persian_and_arabic_editions_on_postgres() {
        if let Some(db) = TestDb::postgres().await {
            fills_persian_and_arabic_editions(db).await;
        }
    }

    #[test]
    fn every_story_pattern_fills_to_clean_text() {
        for p in persian().patterns.iter().chain(&arabic().patterns) {
            for text in std::iter::once(&p.headline).chain([&p.lead]).chain(&p.body) {
                let filled = text.replace("{place}", "x").replace("{n}", "1");
                assert!(!filled.contains('{') && !filled.contains('}'), "{text}");
                assert!(!filled.trim().is_empty());
            }
            assert!(!p.section.is_empty());
        }
    }
}
