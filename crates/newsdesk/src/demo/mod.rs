//! Demo content: the demo edition, its section tree, the seed story (News ID
//! 84427, imported from the saved page in `demo/seed/`) and any number of
//! synthetic stories with drawn lead photos.
//!
//! Synthetic stories are marked three ways so nobody mistakes them for news:
//! the byline [`SYNTHETIC_AUTHOR`], the tag [`SYNTHETIC_TAG`] and a lead that
//! ends with [`SYNTHETIC_MARK`]. Everything is deterministic (seeded RNG), so
//! two demo sites built at the same `now` are identical; the same generator
//! makes the large data sets used by benchmarks. The words and templates the
//! stories are written from live in `data/demo/` (see [`data`]).

use std::borrow::Cow;

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use newsdesk_domain::{BodyFormat, Direction, NewsId, StoryStatus, dates, saved_page};
use newsdesk_storage::{NewEdition, SaveOutcome, SectionRef, Store, StoryInput};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use data::{Beat, english};
use photos::{SEED_PHOTO_VARIANT, draw_section_photos};

mod data;
mod editions;
mod photos;

/// The saved page the seed story comes from.
const SEED_PAGE: &str = include_str!("../../../../demo/seed/000_ad66ece867d7ed05.txt");
/// Tags of the seed story (the page has none).
const SEED_TAGS: [&str; 2] = ["Defense", "Military industry"];

/// Byline of every synthetic story.
pub const SYNTHETIC_AUTHOR: &str = "Synthetic Desk";
/// Tag carried by every synthetic story.
pub const SYNTHETIC_TAG: &str = "Synthetic";
/// Text that ends the lead of every synthetic story.
pub const SYNTHETIC_MARK: &str = " (Synthetic demo text.)";
/// Credit line of the drawn photos.
const PHOTO_CREDIT: &str = "Demo photo (drawn by newsdesk)";
/// Who the revisions of demo stories name as their author.
const ACTOR: &str = "demo";
/// Seed of the generator: the same seed gives the same site.
const RNG_SEED: u64 = 84_427;

/// Most distinct photos drawn per top-level section (encoding costs time; photos are reused).
const PHOTOS_PER_SECTION: usize = 3;
/// Stories per distinct section photo below which fewer photos are drawn.
const STORIES_PER_PHOTO: usize = 40;
/// Synthetic stories stored per transaction on PostgreSQL.
const BATCH: usize = 1_000;
/// Synthetic stories stored per transaction on SQLite. Its one writer takes
/// turns with the commit's sync of the WAL and with the next statement's
/// making (a fill left half the machine idle): fewer, larger commits
/// (300,000 stories by hand: 1,000 a batch 18.6–19.3 s, 2,000 17.0–17.9 s,
/// 4,000 16.0–16.6 s, 8,000 15.6–15.7 s). PostgreSQL's two transactions at
/// once gained nothing from 4,000 (19.9–20.2 s vs 20.3–20.5 s). A batch of
/// 8,000 holds ~60 MB of stories and their pages while it is stored.
const SQLITE_BATCH: usize = 8_000;

/// How many batches a fill on PostgreSQL stores at once.
const STORED_SIDE_BY_SIDE: usize = 2;
/// Share of synthetic stories that get a lead photo.
const PHOTO_SHARE: f64 = 0.85;
/// Share of synthetic stories written in Markdown (subheading and block quote).
const MARKDOWN_SHARE: f64 = 0.3;

/// The demo section tree: top-level sections in navigation order, with their children.
const SECTION_TREE: [(&str, &[&str]); 7] = [
    ("Iran", &["Defense", "Provinces"]),
    ("World", &["Middle East", "Asia"]),
    ("Politics", &[]),
    ("Economy", &["Energy"]),
    ("Sports", &["Football"]),
    ("Culture", &["Cinema"]),
    ("Science", &["Space"]),
];

/// What [`fill`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoReport {
    /// Stories written, the seed story included (0 when the store already had stories).
    pub created: usize,
    /// The demo edition (or, when nothing was written, the store's default edition).
    pub edition_id: i64,
}

/// The demo edition's settings: English, left to right, Tehran time, served at `/`.
pub fn demo_edition() -> NewEdition {
    NewEdition {
        lang: "en".to_string(),
        name: "Newsdesk News Agency".to_string(),
        direction: Direction::Ltr,
        time_zone: chrono_tz::Asia::Tehran,
        is_default: true,
    }
}

/// Fills an empty store with the demo site: the demo edition, the section
/// tree, the seed story and `count` synthetic stories published over the 30
/// days before `now` (the newest a few minutes before `now`, News IDs in
/// publish order after the seed's), each with 2-3 tags (one of them
/// [`SYNTHETIC_TAG`]), the [`SYNTHETIC_AUTHOR`] byline and, on most of them, a
/// drawn lead photo (one to three drawings per top-level section, reused).
/// Stories are stored [`BATCH`] ([`SQLITE_BATCH`] on SQLite) to a
/// transaction while the next batch is written (on PostgreSQL
/// [`STORED_SIDE_BY_SIDE`] batches at once): a million take about 35 s on
/// SQLite (through a rollback journal, see [`run`]) and a minute or more on
/// PostgreSQL, on two cores (see `bench/README.md`).
///
/// When the store already has stories it writes nothing and reports
/// `created: 0`; the caller decides when a demo fill is wanted.
pub async fn fill(store: &Store, count: usize, now: DateTime<Utc>) -> anyhow::Result<DemoReport> {
    let batch = match store.backend() {
        newsdesk_storage::Backend::Postgres => BATCH,
        newsdesk_storage::Backend::Sqlite => SQLITE_BATCH,
    };
    fill_with(store, count, now, Writes::Batched(batch), COPIES_FIRST_FROM).await
}

/// From this many synthetic stories on, the fill makes its photos' resized
/// copies and crops before it stores the stories (as an upload does). Left to
/// the first start's background jobs, each photo's copies mark every story
/// showing it changed: at 1,000,000 stories about 69,000 a photo, millions of
/// change-log entries for the page cache and the search index. A small demo
/// (`serve --demo`: 200) leaves them to those jobs and listens at once (making
/// them first takes ~10 s on two cores); its photos show ~10 stories each.
const COPIES_FIRST_FROM: usize = 5_000;

/// How [`fill_with`] stores the synthetic stories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writes {
    /// This many stories per transaction ([`Store::create_stories`]).
    Batched(usize),
    /// One [`Store::save_story`] each, as an editor's save; the batched
    /// path must leave the same data (a test compares the two).
    #[cfg_attr(not(test), expect(dead_code, reason = "the reference the tests compare the batched fill with"))]
    OneByOne,
}

/// [`fill`], storing the synthetic stories as `writes` says.
async fn fill_with(
    store: &Store,
    count: usize,
    now: DateTime<Utc>,
    writes: Writes,
    copies_first_from: usize,
) -> anyhow::Result<DemoReport> {
    if store.story_count().await.context("counting stories")? > 0 {
        let edition = store
            .default_edition()
            .await
            .context("reading the default edition")?
            .context("the store has stories but no edition")?;
        return Ok(DemoReport { created: 0, edition_id: edition.id });
    }

    let edition = store.upsert_edition(&demo_edition()).await.context("creating the demo edition")?;
    let mut sections = Vec::new();
    for (top, children) in SECTION_TREE {
        let top_section = store
            .ensure_section_path(edition.id, &[top.to_string()])
            .await
            .with_context(|| format!("creating section {top}"))?;
        sections.push((vec![top], top_section.id));
        for child in children {
            let path = [top.to_string(), child.to_string()];
            let section = store
                .ensure_section_path(edition.id, &path)
                .await
                .with_context(|| format!("creating section {top} > {child}"))?;
            sections.push((vec![top, child], section.id));
        }
    }

    // The store is empty, so the seed is new.
    import_seed(store, edition.id).await?;
    let mut created = 1;
    if count == 0 {
        return Ok(DemoReport { created, edition_id: edition.id });
    }

    // Beats are matched to sections by their path of names.
    let beats: &'static [Beat] = &english().beats;
    let mut beat_sections = Vec::with_capacity(beats.len());
    for beat in beats {
        let id = sections
            .iter()
            .find(|(path, _)| path.as_slice() == beat.path.as_slice())
            .map(|(_, id)| *id)
            .with_context(|| format!("no demo section for beat {:?}", beat.path))?;
        beat_sections.push(id);
    }

    let per_section = (count / STORIES_PER_PHOTO).clamp(1, PHOTOS_PER_SECTION);
    let photos = draw_section_photos(per_section).await?;
    // Photo ids by drawing style (top-level section).
    let mut photo_ids: Vec<Vec<i64>> = vec![Vec::new(); SECTION_TREE.len()];
    let mut stored = Vec::with_capacity(photos.len());
    for p in &photos {
        let id = photos::store_photo(store, p, PHOTO_CREDIT).await?;
        stored.push(id);
        if let Some(ids) = photo_ids.get_mut(p.style) {
            ids.push(id);
        }
    }
    // Their copies and crops, made while the first stories are written and
    // rendered, and stored before any story is: storing a photo's copies marks
    // every story showing it changed (change-log entries the page cache and
    // the search index would follow at the first start). Done before the fill
    // returns: a server started on the filled site has them from its first
    // page. (A task of its own, dropped and so stopped if the fill fails.)
    let mut copies = tokio::task::JoinSet::new();
    if count >= copies_first_from {
        tracing::info!(photos = stored.len(), "making the demo photos' resized copies and crops");
        let jobs: Vec<(i64, Vec<u8>)> = stored.iter().zip(&photos).map(|(&id, p)| (id, p.bytes.clone())).collect();
        let store = store.clone();
        copies.spawn(async move {
            futures::future::try_join_all(jobs.iter().map(|(id, bytes)| photos::make_copies(&store, *id, bytes)))
                .await
                .map(|_| ())
        });
    }

    // The stories are written (on a blocking thread) while the database stores
    // the batch before: the two CPUs of a small server both work.
    let edition_id = edition.id;
    let per_batch = match writes {
        Writes::Batched(n) => n.max(1),
        Writes::OneByOne => BATCH,
    };
    let (batches, mut received) = tokio::sync::mpsc::channel::<Vec<StoryInput>>(2);
    let writer = tokio::task::spawn_blocking(move || {
        let tz = demo_edition().time_zone;
        let mut rng = StdRng::seed_from_u64(RNG_SEED);
        let times = PublishTimes::new(now, count);
        let mut batch = Vec::with_capacity(per_batch.min(count));
        for i in 0..count {
            let published_at = times.at(i, &mut rng);
            let beat_index = pick_beat(&mut rng);
            let beat = &beats[beat_index];
            let story = write_story(&mut rng, beat, published_at.with_timezone(&tz).weekday());
            let photo_id = if rng.random_bool(PHOTO_SHARE) {
                photo_ids.get(top_level_index(beat)).and_then(|ids| ids.choose(&mut rng).copied())
            } else {
                None
            };
            batch.push(StoryInput {
                news_id: None,
                edition_id,
                section: SectionRef::Id(beat_sections[beat_index]),
                slug: None,
                headline: story.headline,
                lead: story.lead,
                body_source: story.body,
                body_format: story.format,
                photo_id,
                gallery_id: None,
                status: StoryStatus::Published,
                published_at: Some(published_at),
                tags: story.tags,
                authors: vec![SYNTHETIC_AUTHOR.to_string()],
                agency: Some(demo_agency(i, &beat.path)),
                actor: ACTOR.to_string(),
            });
            if batch.len() == per_batch || i + 1 == count {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(per_batch.min(count - i - 1)));
                if batches.blocking_send(full).is_err() {
                    // The saving side stopped (an error it reports).
                    return;
                }
            }
        }
    });
    // On PostgreSQL two batches are stored side by side (the server's work
    // takes one CPU per transaction);
    // SQLite has one writer at a time.
    let side_by_side = match store.backend() {
        newsdesk_storage::Backend::Postgres => STORED_SIDE_BY_SIDE,
        newsdesk_storage::Backend::Sqlite => 1,
    };
    let key_checks = store.bulk_key_checks().await.context("finding out how to check the stories' keys")?;
    tracing::info!(?key_checks, "storing {count} synthetic stories");
    let stories = async {
        let mut created = 0;
        let mut done = 0;
        // Batches being stored; each gives the number of its stories.
        let mut storing: tokio::task::JoinSet<anyhow::Result<usize>> = tokio::task::JoinSet::new();
        let finished = |result: Option<Result<anyhow::Result<usize>, tokio::task::JoinError>>| match result {
            Some(Ok(n)) => n,
            Some(Err(e)) => Err(anyhow::Error::new(e).context("storing synthetic stories")),
            None => Ok(0),
        };
        while let Some(batch) = received.recv().await {
            let n = batch.len();
            // The first batch was made meanwhile (and the next ones are).
            while let Some(made) = copies.join_next().await {
                made.context("making the demo photos' copies")??;
            }
            match writes {
                Writes::Batched(_) => {
                    // The next batch's bodies are rendered while the database stores the ones before.
                    let mut prepared = store.prepare_stories(batch).await.with_context(|| {
                        format!("rendering synthetic stories {} to {} of {count}", done + 1, done + n)
                    })?;
                    while storing.len() >= side_by_side {
                        created += finished(storing.join_next().await)?;
                    }
                    if side_by_side > 1 {
                        // Numbered in order here, stored in any order.
                        store.number_prepared(&mut prepared).await.context("numbering synthetic stories")?;
                    }
                    let store = store.clone();
                    storing.spawn(async move {
                        store.create_prepared(&prepared).await.with_context(|| {
                            format!("saving synthetic stories {} to {} of {count}", done + 1, done + n)
                        })?;
                        anyhow::Ok(n)
                    });
                }
                Writes::OneByOne => {
                    for (k, input) in batch.iter().enumerate() {
                        let (_, outcome) = store
                            .save_story(input)
                            .await
                            .with_context(|| format!("saving synthetic story {} of {count}", done + k + 1))?;
                        if outcome == SaveOutcome::Created {
                            created += 1;
                        }
                    }
                }
            }
            done += n;
        }
        while !storing.is_empty() {
            created += finished(storing.join_next().await)?;
        }
        anyhow::Ok(created)
    };
    // The first error stops both (the story writer stops when its channel closes).
    created += stories.await?;
    writer.await.context("writing the synthetic stories")?;
    Ok(DemoReport { created, edition_id: edition.id })
}

/// Agency metadata for synthetic story `i` of the beat at `path` (section
/// names from the top), so the wire and the newsroom show every field: a
/// slugline from the beat, a dateline in Tehran for Iran's beats, the beat's
/// IPTC Media Topic, a genre, an urgency that is sometimes higher, and now and
/// then a note to subscribers. Derived from `i`, not drawn, so the stories'
/// text is the same as without it.
fn demo_agency(i: usize, path: &[String]) -> newsdesk_domain::agency::Agency {
    let top = path.first().map(String::as_str).unwrap_or_default();
    let topic = match top {
        "Iran" | "Politics" => "medtop:11000000",
        "World" => "medtop:11000000",
        "Economy" => "medtop:04000000",
        "Sports" => "medtop:15000000",
        "Culture" => "medtop:01000000",
        "Science" => "medtop:13000000",
        _ => "",
    };
    newsdesk_domain::agency::Agency {
        urgency: if i.is_multiple_of(41) {
            2
        } else if i.is_multiple_of(13) {
            3
        } else {
            4
        },
        slugline: path.iter().map(|p| p.to_uppercase().replace(' ', "")).collect::<Vec<_>>().join("-"),
        located: if top == "Iran" { "Tehran".into() } else { String::new() },
        genres: vec![if i.is_multiple_of(9) { "genre:Analysis" } else { "genre:Current" }.to_string()],
        subjects: if topic.is_empty() { Vec::new() } else { vec![topic.to_string()] },
        ednote: if i.is_multiple_of(25) { "Photos to follow.".into() } else { String::new() },
        subjects_public: false,
    }
}

/// The whole demo site: [`fill`] (English), then, when it wrote anything, the
/// Persian and Arabic editions with their stories and the seed's Persian
/// translation ([`editions`]), whose News IDs follow the English ones.
pub async fn fill_site(
    store: &Store,
    count: usize,
    now: DateTime<Utc>,
    arabic_calendar: newsdesk_domain::calendar::Calendar,
) -> anyhow::Result<DemoReport> {
    let mut report = fill(store, count, now).await?;
    if report.created > 0 {
        let seed = saved_page::parse(SEED_PAGE).context("reading the seed page")?.news_id;
        report.created += editions::fill(store, seed, now, arabic_calendar).await?.created;
        store.refresh_statistics().await.context("updating the database's statistics after the fill")?;
    }
    Ok(report)
}

/// `newsdesk demo`: [`fill_site`] with `stories` synthetic stories, now.
///
/// On SQLite a new database is filled by a store opened for a bulk load
/// ([`Store::connect_for_bulk_load`]: a rollback journal instead of the
/// write-ahead log), then returned to the log; if another process has the
/// database open, the fill goes through the log as a server's writes do.
pub async fn run(config: &crate::config::Config, stories: usize) -> anyhow::Result<()> {
    let mut store = crate::startup::open_store(config).await?;
    let bulk = store.backend() == newsdesk_storage::Backend::Sqlite
        && store.story_count().await.context("counting stories")? == 0;
    if bulk {
        store.close().await;
        store = match Store::connect_for_bulk_load(&config.database_url()).await {
            Ok(bulk) => bulk,
            Err(e) => {
                // `demo` logs nothing else; a person running it should know why it is slower.
                eprintln!("newsdesk: filling through the write-ahead log (slower): {e}");
                crate::startup::open_store(config).await?
            }
        };
    }
    let report = fill_site(&store, stories, Utc::now(), config.demo_arabic_calendar()?).await;
    let checks = match store.backend() {
        newsdesk_storage::Backend::Postgres => Some(store.bulk_key_checks().await),
        newsdesk_storage::Backend::Sqlite => None,
    };
    store.close().await;
    // The first connection switches the database back to the log (and fails if it cannot).
    let returned = if bulk { Store::connect(&config.database_url()).await.map(Some) } else { Ok(None) };
    if let Ok(Some(s)) = &returned {
        s.close().await;
    }
    let report = report?;
    returned.context("returning the database to write-ahead logging after the fill")?;
    if report.created == 0 {
        println!("the site already has stories; nothing was added");
    } else {
        println!("created {} stories", report.created);
        match checks.transpose().context("finding out how the stories' keys were checked")? {
            Some(newsdesk_storage::KeyChecks::PerBatch) => println!("foreign keys checked once a batch"),
            Some(newsdesk_storage::KeyChecks::PerRow) => println!(
                "foreign keys checked row by row by the server (a role that may set \
                 session_replication_role checks them once a batch: see README, PostgreSQL)"
            ),
            None => {}
        }
    }
    Ok(())
}

/// Imports the seed story (News ID 84427) into an edition exactly as `newsdesk
/// import page` would (publish time read in the edition's time zone), then
/// adds its tags and a drawn lead photo captioned with the headline.
/// Importing it again changes nothing. Returns the News ID.
pub async fn import_seed(store: &Store, edition_id: i64) -> anyhow::Result<NewsId> {
    let page = saved_page::parse(SEED_PAGE).context("reading the seed page demo/seed/000_ad66ece867d7ed05.txt")?;
    let edition = store
        .editions()
        .await
        .context("reading the editions")?
        .into_iter()
        .find(|e| e.id == edition_id)
        .with_context(|| format!("there is no edition {edition_id}"))?;
    let mut input = StoryInput::from_saved_page(&page, &edition).context("the seed page")?;
    let caption = page.photo_alt.unwrap_or(page.headline);
    let photo = photos::store_drawn_photo(store, 0, SEED_PHOTO_VARIANT, &caption, PHOTO_CREDIT)
        .await
        .context("storing the seed photo")?;
    input.photo_id = Some(photo);
    input.tags = SEED_TAGS.iter().map(|t| t.to_string()).collect();
    input.actor = ACTOR.to_string();
    let (news_id, _) = store.save_story(&input).await.context("saving the seed story")?;
    Ok(news_id)
}

// ----- publish times -----

/// Publish times spread evenly over the 30 days before `now`, oldest first
/// (so News IDs grow with time), with a little jitter; the newest lands a few
/// minutes before `now`.
struct PublishTimes {
    start: i64,
    end: i64,
    count: usize,
}

impl PublishTimes {
    fn new(now: DateTime<Utc>, count: usize) -> PublishTimes {
        let end = (now - Duration::minutes(4)).timestamp();
        let start = (now - Duration::days(30) + Duration::minutes(30)).timestamp();
        PublishTimes { start, end, count }
    }

    fn at(&self, i: usize, rng: &mut StdRng) -> DateTime<Utc> {
        let steps = self.count.saturating_sub(1).max(1) as i64;
        let span = self.end - self.start;
        let base = if self.count <= 1 { self.end } else { self.start + span * i as i64 / steps };
        // Less than half a step either way keeps the order; never past the ends.
        let half_step = (span / steps / 2).min(20 * 60);
        let jitter = if half_step > 1 && i + 1 < self.count { rng.random_range(-half_step + 1..half_step) } else { 0 };
        let t = (base + jitter).clamp(self.start, self.end);
        dates::from_unix(t)
    }
}

// ----- story text -----

/// A synthetic story's text.
struct Written {
    headline: String,
    lead: String,
    body: String,
    format: BodyFormat,
    tags: Vec<String>,
}

/// Picks a beat by weight.
fn pick_beat(rng: &mut StdRng) -> usize {
    let beats = &english().beats;
    let total: u32 = beats.iter().map(|b| b.weight).sum();
    let mut r = rng.random_range(0..total.max(1));
    for (i, b) in beats.iter().enumerate() {
        if r < b.weight {
            return i;
        }
        r -= b.weight;
    }
    0
}

/// Index of the beat's top-level section in [`SECTION_TREE`] (drawing style of its photos).
fn top_level_index(beat: &Beat) -> usize {
    let top = beat.path.first().map(String::as_str).unwrap_or_default();
    SECTION_TREE.iter().position(|(name, _)| *name == top).unwrap_or(0)
}

fn pick(rng: &mut StdRng, list: &'static [String]) -> &'static str {
    list.choose(rng).map(String::as_str).unwrap_or_default()
}

/// Picks from `list` a value other than `not` (when the list allows it).
fn pick_other(rng: &mut StdRng, list: &'static [String], not: &'static str) -> &'static str {
    for _ in 0..8 {
        let v = pick(rng, list);
        if v != not {
            return v;
        }
    }
    list.iter().map(String::as_str).find(|v| *v != not).unwrap_or(not)
}

/// Lowercases a headline-case phrase for use inside a sentence, keeping
/// proper nouns and acronyms.
fn lower_phrase(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let upper = w.chars().filter(|c| c.is_uppercase()).count();
            if english().proper_words.iter().any(|p| p == w) || upper > 1 && !w.contains('-') {
                w.to_string()
            } else {
                w.to_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The facts one story is written from: picked once, so headline, lead and
/// body agree with each other.
struct Facts {
    country: &'static str,
    country2: &'static str,
    city: &'static str,
    region: &'static str,
    team: &'static str,
    team2: &'static str,
    official: &'static str,
    official_lc: &'static str,
    topic: &'static str,
    topic_lc: String,
    thing: &'static str,
    thing_lc: String,
    event: &'static str,
    event_lc: String,
    day: &'static str,
    n: u32,
    num: u32,
    pct: u32,
    big: u32,
    score_a: u32,
    score_b: u32,
    votes: u32,
}

impl Facts {
    fn pick(rng: &mut StdRng, beat: &'static Beat, weekday: Weekday) -> Facts {
        let words = english();
        let countries = if beat.countries.is_empty() { &words.countries } else { &beat.countries };
        let country = pick(rng, countries);
        let country2 = pick_other(rng, countries, country);
        let team = pick(rng, &words.clubs);
        let team2 = pick_other(rng, &words.clubs, team);
        let (official, official_lc) =
            beat.officials.choose(rng).map_or(("Official", "official"), |o| (o.headline.as_str(), o.sentence.as_str()));
        let topic = pick(rng, &beat.topics);
        let thing = pick(rng, &beat.things);
        let event = pick(rng, &beat.events);
        let score_a = rng.random_range(1..=5);
        Facts {
            country,
            country2,
            city: pick(rng, &words.cities),
            region: pick(rng, &words.regions),
            team,
            team2,
            official,
            official_lc,
            topic,
            topic_lc: lower_phrase(topic),
            thing,
            thing_lc: lower_phrase(thing),
            event,
            event_lc: lower_phrase(event),
            // data::check_english makes sure there are seven weekdays.
            day: &words.weekdays[weekday.num_days_from_monday() as usize],
            n: rng.random_range(3..=9),
            num: rng.random_range(12..=96),
            pct: rng.random_range(4..=38),
            big: rng.random_range(120..=980),
            score_a,
            score_b: rng.random_range(0..score_a),
            votes: rng.random_range(150..=230),
        }
    }

    fn slot(&self, name: &str) -> Option<Cow<'_, str>> {
        Some(match name {
            "country" => Cow::Borrowed(self.country),
            "country2" => Cow::Borrowed(self.country2),
            "city" => Cow::Borrowed(self.city),
            "region" => Cow::Borrowed(self.region),
            "team" => Cow::Borrowed(self.team),
            "team2" => Cow::Borrowed(self.team2),
            "official" => Cow::Borrowed(self.official),
            "official_lc" => Cow::Borrowed(self.official_lc),
            "topic" => Cow::Borrowed(self.topic),
            "topic_lc" => Cow::Borrowed(self.topic_lc.as_str()),
            "thing" => Cow::Borrowed(self.thing),
            "thing_lc" => Cow::Borrowed(self.thing_lc.as_str()),
            "event" => Cow::Borrowed(self.event),
            "event_lc" => Cow::Borrowed(self.event_lc.as_str()),
            "day" => Cow::Borrowed(self.day),
            "n" => Cow::Borrowed(number_word(self.n)),
            "N" => Cow::Owned(capitalize_first(number_word(self.n).to_string())),
            "num" => Cow::Owned(self.num.to_string()),
            "pct" => Cow::Owned(self.pct.to_string()),
            "big" => Cow::Owned(self.big.to_string()),
            "score_a" => Cow::Owned(self.score_a.to_string()),
            "score_b" => Cow::Owned(self.score_b.to_string()),
            "votes" => Cow::Owned(self.votes.to_string()),
            _ => return None,
        })
    }

    /// Fills the `{slot}`s of a template; an unknown slot is left as written.
    fn render(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    match self.slot(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push('{');
                            out.push_str(name);
                            out.push('}');
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        capitalize_first(out)
    }
}

/// A small number as a word (the data file has at least zero to nine; `n` is 3 to 9).
fn number_word(n: u32) -> &'static str {
    let words = &english().number_words;
    &words[n as usize % words.len()]
}

fn capitalize_first(s: String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_lowercase() => c.to_uppercase().chain(chars).collect(),
        _ => s,
    }
}

/// Writes one synthetic story of `beat`, published on `weekday` (edition time).
fn write_story(rng: &mut StdRng, beat: &'static Beat, weekday: Weekday) -> Written {
    let f = Facts::pick(rng, beat, weekday);
    let (headline, lead) =
        beat.stories.choose(rng).map_or(("{topic}", "{topic}."), |s| (s.headline.as_str(), s.lead.as_str()));
    let headline = f.render(headline);

    // Sentences for lead and body, without repeats: the beat's facts first, then common ones.
    let mut facts: Vec<&str> = beat.facts.iter().map(String::as_str).collect();
    facts.shuffle(rng);
    let mut common: Vec<&str> = english().common_sentences.iter().map(String::as_str).collect();
    common.shuffle(rng);

    let mut lead = f.render(lead);
    let second = if rng.random_bool(0.4) { facts.pop() } else { None };
    if let Some(s) = second {
        lead.push(' ');
        lead.push_str(&f.render(s));
    }
    lead.push_str(SYNTHETIC_MARK);

    let markdown = rng.random_bool(MARKDOWN_SHARE);
    let paragraphs = rng.random_range(4..=8usize);
    let quote_at = rng.random_range(1..=2usize);
    let subheading_at = paragraphs / 2 + 1;
    let mut quotes: Vec<&str> = beat.quotes.iter().map(String::as_str).collect();
    quotes.shuffle(rng);

    let mut body = String::with_capacity(paragraphs * 220);
    for i in 0..paragraphs {
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        if markdown && i == subheading_at {
            body.push_str("## ");
            body.push_str(pick(rng, &english().subheadings));
            body.push_str("\n\n");
        }
        let quote = if i == quote_at || (i + 2 == paragraphs && rng.random_bool(0.5)) { quotes.pop() } else { None };
        if let Some(q) = quote {
            let q = f.render(q);
            if markdown {
                body.push_str(&f.render("Speaking on {day}, the {official_lc} said:"));
                body.push_str("\n\n> “");
                body.push_str(&q);
                body.push_str(".”");
            } else {
                body.push_str(
                    &pick(rng, &english().attributions).replace("{q}", &q).replace("{official_lc}", f.official_lc),
                );
            }
            continue;
        }
        let sentences = if i == 0 { 1 } else { rng.random_range(1..=2) };
        for k in 0..sentences {
            let next = if i == 0 || k == 0 && rng.random_bool(0.6) {
                facts.pop().or_else(|| common.pop())
            } else {
                common.pop().or_else(|| facts.pop())
            };
            let Some(s) = next else { break };
            if k > 0 {
                body.push(' ');
            }
            body.push_str(&f.render(s));
        }
    }
    if body.ends_with("\n\n") {
        body.truncate(body.len() - 2);
    }

    let mut tags = Vec::with_capacity(3);
    let topical = rng.random_range(1..=2usize);
    let mut tag_templates: Vec<&str> = beat.tags.iter().map(String::as_str).collect();
    tag_templates.shuffle(rng);
    for t in tag_templates {
        if tags.len() == topical {
            break;
        }
        let t = f.render(t);
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    tags.push(SYNTHETIC_TAG.to_string());

    Written { headline, lead, body, format: if markdown { BodyFormat::Markdown } else { BodyFormat::Text }, tags }
}

#[cfg(test)]
mod tests {
    use super::*;
    use newsdesk_domain::{Story, StoryStatus};
    use newsdesk_storage::StoryFilter;
    use newsdesk_storage::testing::TestDb;

    const SEED_HEADLINE: &str =
        "Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports Booming";

    fn now() -> DateTime<Utc> {
        dates::from_unix(Utc::now().timestamp())
    }

    #[test]
    fn beats_cover_the_section_tree_and_every_slot_is_known() {
        let beats = &english().beats;
        for beat in beats {
            let known = SECTION_TREE.iter().any(|(top, children)| match beat.path.as_slice() {
                [t] => t == top,
                [t, c] => t == top && children.contains(&c.as_str()),
                _ => false,
            });
            assert!(known, "beat {:?} has no section", beat.path);
            assert!(!beat.stories.is_empty(), "beat {:?} has no stories", beat.path);
            for list in [&beat.facts, &beat.quotes, &beat.tags, &beat.topics, &beat.things, &beat.events] {
                assert!(!list.is_empty(), "beat {:?} has an empty list", beat.path);
            }
            assert!(!beat.officials.is_empty());
        }
        let mut rng = StdRng::seed_from_u64(7);
        for i in 0..2_000 {
            let beat = &beats[i % beats.len()];
            let w = write_story(&mut rng, beat, Weekday::Sat);
            for text in [&w.headline, &w.lead, &w.body] {
                assert!(!text.contains('{') && !text.contains('}'), "unfilled slot in {text}");
            }
            assert!(w.lead.ends_with(SYNTHETIC_MARK));
            assert!(!w.lead.contains("\n"));
            let paragraphs = w.body.split("\n\n").filter(|p| !p.starts_with("## ") && !p.starts_with("> ")).count();
            assert!((4..=8).contains(&paragraphs), "{paragraphs} paragraphs: {}", w.body);
            assert!((2..=3).contains(&w.tags.len()), "{:?}", w.tags);
            assert_eq!(w.tags.last().map(String::as_str), Some(SYNTHETIC_TAG));
            if w.format == BodyFormat::Markdown {
                assert!(w.body.contains("\n## ") && w.body.contains("\n> “"), "{}", w.body);
            }
        }
    }

    #[test]
    fn generator_is_deterministic_and_varied() {
        let run = || {
            let mut rng = StdRng::seed_from_u64(RNG_SEED);
            (0..200)
                .map(|_| {
                    let beat = &english().beats[pick_beat(&mut rng)];
                    write_story(&mut rng, beat, Weekday::Mon).headline
                })
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let distinct: std::collections::HashSet<_> = a.iter().collect();
        assert!(distinct.len() > 150, "only {} distinct headlines of 200", distinct.len());
    }

    #[test]
    fn phrases_keep_proper_nouns() {
        assert_eq!(lower_phrase("Non-Oil Exports"), "non-oil exports");
        assert_eq!(lower_phrase("Persian Literature"), "Persian literature");
        assert_eq!(lower_phrase("UN General Assembly"), "UN general assembly");
    }

    #[test]
    fn publish_times_are_ordered_and_inside_the_window() {
        let now = now();
        let mut rng = StdRng::seed_from_u64(1);
        for count in [1, 2, 3, 50, 10_000] {
            let t = PublishTimes::new(now, count);
            let all: Vec<_> = (0..count).map(|i| t.at(i, &mut rng)).collect();
            assert!(all.windows(2).all(|w| w[0] <= w[1]), "not ordered for {count}");
            let newest = all[count - 1];
            assert!(newest < now && newest > now - Duration::minutes(10));
            assert!(all[0] >= now - Duration::days(30));
        }
    }

    async fn fills_the_demo_site(db: TestDb) {
        let store = &db.store;
        let now = now();
        let count = 40;
        let report = fill(store, count, now).await.expect("fill");
        assert_eq!(report.created, count + 1);
        assert_eq!(store.story_count().await.expect("count"), count as i64 + 1);

        let edition = store.default_edition().await.expect("editions").expect("default edition");
        assert_eq!(edition.id, report.edition_id);
        assert_eq!(edition.time_zone, chrono_tz::Asia::Tehran);
        let sections = store.sections(edition.id).await.expect("sections");
        let paths: Vec<&str> = sections.iter().map(|s| s.path.as_str()).collect();
        for p in [
            "iran",
            "iran/defense",
            "world",
            "world/middle-east",
            "politics",
            "economy",
            "economy/energy",
            "sports",
            "culture",
            "science",
        ] {
            assert!(paths.contains(&p), "missing section {p} in {paths:?}");
        }

        let seed = store.story(84_427).await.expect("read").expect("seed story");
        assert_eq!(seed.headline, SEED_HEADLINE);
        assert!(seed.lead.starts_with("Iran’s Defense Ministry is moving towards"));
        assert!(seed.body_source.starts_with("Iranian Deputy Defense Minister Brigadier General Mehdi Farahi"));
        assert_eq!(seed.body_format, BodyFormat::Text);
        assert_eq!(seed.status, StoryStatus::Published);
        assert!(seed.authors.is_empty());
        assert_eq!(
            dates::format_long(seed.published_at.expect("published"), chrono_tz::Asia::Tehran),
            "15 November 2023 - 14:37"
        );
        let photo = seed.photo.expect("seed photo");
        assert_eq!(photo.caption, SEED_HEADLINE);
        assert_eq!(photo.credit, PHOTO_CREDIT);
        let seed_section = sections.iter().find(|s| s.id == seed.section_id).expect("seed section");
        assert_eq!(seed_section.path, "iran");

        let mut with_photo = 0;
        let mut markdown = 0;
        let mut oldest = now;
        for news_id in 84_428..84_428 + count as i64 {
            let s = store.story(news_id).await.expect("read").expect("synthetic story");
            assert!(s.tags.iter().any(|t| t.name == SYNTHETIC_TAG), "{} lacks the tag", s.news_id);
            assert!((2..=3).contains(&s.tags.len()));
            assert_eq!(s.authors.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), [SYNTHETIC_AUTHOR]);
            assert!(s.lead.ends_with(SYNTHETIC_MARK));
            assert_eq!(s.status, StoryStatus::Published);
            let published = s.published_at.expect("published");
            assert!(published <= now && published >= now - Duration::days(30));
            oldest = oldest.min(published);
            with_photo += usize::from(s.photo.is_some());
            if s.body_format == BodyFormat::Markdown {
                markdown += 1;
                assert!(s.body_html.contains("<h2>") && s.body_html.contains("<blockquote>"), "{}", s.body_html);
            }
        }
        assert!(oldest < now - Duration::days(25), "stories should spread over the month");
        assert!(with_photo > count / 2, "only {with_photo} of {count} have a photo");
        assert!(markdown > 0 && markdown < count);

        let tag = store.tag_by_slug(edition.id, "synthetic").await.expect("tag").expect("synthetic tag");
        let tagged = store.published(&StoryFilter::Tag(tag.id), None, 1_000).await.expect("list");
        assert_eq!(tagged.len(), count);
        let newest = store.published(&StoryFilter::Edition(edition.id), None, 1).await.expect("list");
        let newest = newest.first().expect("a story");
        assert!(newest.published_at <= now && newest.published_at > now - Duration::hours(1));
        assert!(newest.news_id > 84_427, "News IDs follow the seed's");

        let again = fill(store, count, now).await.expect("second fill");
        assert_eq!(again, DemoReport { created: 0, edition_id: edition.id });
        assert_eq!(store.story_count().await.expect("count"), count as i64 + 1);
    }

    newsdesk_storage::backend_test! {
        /// A fill at least `COPIES_FIRST_FROM` large makes its photos' copies
        /// and crops before its stories exist (here with the bar at 0): no
        /// story is marked changed by them, each is in the change log once.
        async fn a_large_fill_makes_its_photo_copies_first(db) {
            let store = &db.store;
            let count = 40;
            fill_with(store, count, now(), Writes::Batched(10), 0).await.expect("fill");
            let mut logged = std::collections::BTreeMap::<i64, usize>::new();
            for c in store.changes_after(0, 10_000).await.expect("change log") {
                *logged.entry(c.news_id).or_default() += 1;
            }
            assert_eq!(logged.len(), count + 1, "the seed and each synthetic story: {logged:?}");
            assert!(logged.values().all(|&n| n == 1), "a story was marked changed again: {logged:?}");
            let mut photos = std::collections::BTreeSet::new();
            for news_id in 84_428..84_428 + count as i64 {
                if let Some(p) = store.story(news_id).await.expect("read").and_then(|s| s.photo) {
                    photos.insert(p.id);
                }
            }
            assert!(!photos.is_empty());
            for id in photos {
                assert!(store.photo_renditions(id).await.expect("copies").len() >= 6, "photo {id} has no resized copies");
                assert!(!store.photo_crop_renditions(id).await.expect("crops").is_empty(), "photo {id} has no crops");
            }
        }
    }

    #[tokio::test]
    async fn fill_builds_the_demo_site_on_sqlite() {
        fills_the_demo_site(TestDb::sqlite().await).await;
    }

    #[tokio::test]
    async fn fill_builds_the_demo_site_on_postgres() {
        if let Some(db) = TestDb::postgres().await {
            fills_the_demo_site(db).await;
        }
    }

    /// The batched fill leaves the very database the one-by-one fill (an
    /// editor's save per story) leaves: every row of every table, times of
    /// saving aside. Tags and authors are compared by what the stories carry
    /// (slug, name, order), not by row id: an upsert that finds the tag
    /// already there uses up an id on one path and not the other. Seven
    /// stories a batch cross batch boundaries.
    async fn batched_fill_writes_what_saving_one_by_one_writes(one_by_one: TestDb, batched: TestDb) {
        let now = now();
        let from = Utc::now().timestamp() - 1;
        let count = 40;
        let a = fill_with(&one_by_one.store, count, now, Writes::OneByOne, COPIES_FIRST_FROM)
            .await
            .expect("one-by-one fill");
        let b =
            fill_with(&batched.store, count, now, Writes::Batched(7), COPIES_FIRST_FROM).await.expect("batched fill");
        assert_eq!(a, b);
        assert_eq!(b.created, count + 1);
        let window = from..=Utc::now().timestamp() + 1;
        // The database's identity is its own by design; SQLite's sequences
        // remember the ids used up (see above).
        let skip = ["site_identity", "sqlite_sequence", "tags", "authors", "story_tags", "story_authors"];
        let mut expected = newsdesk_storage::testing::dump(&one_by_one.store, &skip, window.clone()).await;
        let mut got = newsdesk_storage::testing::dump(&batched.store, &skip, window.clone()).await;
        // A story's byline kept in its row names its tags' and authors' ids,
        // which are each database's own (as above): compared without them.
        for dump in [&mut expected, &mut got] {
            for (table, rows) in dump.iter_mut().filter(|(t, _)| t.starts_with("stories (")) {
                let columns: Vec<&str> =
                    table.trim_start_matches("stories (").trim_end_matches(')').split(", ").collect();
                let at = columns.iter().position(|c| *c == "byline").expect("a byline column");
                for row in rows.iter_mut() {
                    let text = row[at].as_deref().expect("a byline");
                    let mut entries: Vec<serde_json::Value> = serde_json::from_str(text).expect("a byline is JSON");
                    for e in &mut entries {
                        e[1] = serde_json::Value::Null;
                    }
                    row[at] = Some(serde_json::to_string(&entries).expect("JSON"));
                }
            }
        }
        for (table, rows) in &expected {
            let written = ["stories", "story_revisions", "story_changes"];
            if written.iter().any(|t| table.starts_with(&format!("{t} ("))) {
                assert!(!rows.is_empty(), "{table} is empty: the comparison would prove nothing");
            }
            if ["story_changes", "story_revisions"].iter().any(|t| table.starts_with(&format!("{t} (id, "))) {
                // Batches stored side by side (PostgreSQL) take these rows'
                // ids from their sequences as they go: the same rows, the
                // same ids, not always in News ID order.
                let unordered = |rows: &Vec<Vec<Option<String>>>| {
                    let mut ids: Vec<_> = rows.iter().map(|r| r[0].clone()).collect();
                    let mut rest: Vec<_> = rows.iter().map(|r| r[1..].to_vec()).collect();
                    ids.sort();
                    rest.sort();
                    (ids, rest)
                };
                let got = got.get(table).unwrap_or_else(|| panic!("{table} missing"));
                assert_eq!(unordered(got), unordered(rows), "{table} differs");
                continue;
            }
            assert_eq!(got.get(table), Some(rows), "{table} differs");
        }
        assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());

        // Every story as the store returns it, tags and bylines included.
        let story = |s: Story| {
            for t in [s.created_at, s.modified_at] {
                assert!(window.contains(&t.timestamp()), "story {} saved at {t}", s.news_id);
            }
            let mut v = serde_json::to_value(&s).expect("story as JSON");
            for key in ["created_at", "modified_at"] {
                v[key] = serde_json::Value::Null;
            }
            for list in ["tags", "authors"] {
                for item in v[list].as_array_mut().expect("a list") {
                    item["id"] = serde_json::Value::Null;
                }
            }
            v
        };
        let mut tags = 0;
        for news_id in 84_427..84_428 + count as i64 {
            let want = one_by_one.store.story(news_id).await.expect("read").expect("story");
            tags += want.tags.len();
            let have = batched.store.story(news_id).await.expect("read").expect("story");
            assert_eq!(story(have), story(want), "story {news_id} differs");
        }
        assert!(tags > 2 * count, "only {tags} tags on {count} stories");
        assert!(batched.store.story(84_428 + count as i64).await.expect("read").is_none());
    }

    #[tokio::test]
    async fn batched_fill_writes_what_saving_one_by_one_writes_on_sqlite() {
        batched_fill_writes_what_saving_one_by_one_writes(TestDb::sqlite().await, TestDb::sqlite().await).await;
    }

    #[tokio::test]
    async fn batched_fill_writes_what_saving_one_by_one_writes_on_postgres() {
        if let (Some(a), Some(b)) = (TestDb::postgres().await, TestDb::postgres().await) {
            batched_fill_writes_what_saving_one_by_one_writes(a, b).await;
        }
    }

    #[tokio::test]
    async fn seed_import_is_idempotent() {
        let db = TestDb::sqlite().await;
        let edition = db.store.upsert_edition(&demo_edition()).await.expect("edition");
        assert_eq!(import_seed(&db.store, edition.id).await.expect("import"), 84_427);
        assert_eq!(import_seed(&db.store, edition.id).await.expect("again"), 84_427);
        let seed = db.store.story(84_427).await.expect("read").expect("seed");
        assert_eq!(seed.version, 1);
        assert_eq!(seed.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), SEED_TAGS);
    }

    #[tokio::test]
    async fn empty_fill_writes_only_the_seed() {
        let db = TestDb::sqlite().await;
        let report = fill(&db.store, 0, now()).await.expect("fill");
        assert_eq!(report.created, 1);
        assert_eq!(db.store.story_count().await.expect("count"), 1);
    }
}
