//! Demo content: the demo edition, its section tree, the seed story (News ID
//! 84427, imported from the saved page in `demo/seed/`) and any number of
//! synthetic stories with drawn lead photos.
//!
//! Synthetic stories are marked three ways so nobody mistakes them for news:
//! the byline [`SYNTHETIC_AUTHOR`], the tag [`SYNTHETIC_TAG`] and a lead that
//! ends with [`SYNTHETIC_MARK`]. Everything is deterministic (seeded RNG), so
//! two demo sites built at the same `now` are identical; the same generator
//! makes the large data sets used by benchmarks.

use std::borrow::Cow;

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use newsdesk_domain::{BodyFormat, Direction, NewsId, StoryStatus, dates, saved_page};
use newsdesk_storage::{NewEdition, SaveOutcome, SectionRef, Store, StoryInput};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use photos::{PHOTO_HEIGHT, PHOTO_WIDTH, SEED_PHOTO_VARIANT, draw_photo_blocking, draw_section_photos};

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
/// 10,000 stories take 30-40 s on SQLite (one transaction and fsync per story).
///
/// When the store already has stories it writes nothing and reports
/// `created: 0`; the caller decides when a demo fill is wanted.
pub async fn fill(store: &Store, count: usize, now: DateTime<Utc>) -> anyhow::Result<DemoReport> {
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
    let mut beat_sections = Vec::with_capacity(BEATS.len());
    for beat in BEATS {
        let id = sections
            .iter()
            .find(|(path, _)| path.as_slice() == beat.path)
            .map(|(_, id)| *id)
            .with_context(|| format!("no demo section for beat {:?}", beat.path))?;
        beat_sections.push(id);
    }

    let per_section = (count / STORIES_PER_PHOTO).clamp(1, PHOTOS_PER_SECTION);
    let photos = draw_section_photos(per_section).await?;
    // Photo ids by drawing style (top-level section).
    let mut photo_ids: Vec<Vec<i64>> = vec![Vec::new(); SECTION_TREE.len()];
    for p in &photos {
        let stored = store
            .put_photo(
                &p.bytes,
                "image/jpeg",
                i64::from(PHOTO_WIDTH),
                i64::from(PHOTO_HEIGHT),
                &p.caption,
                PHOTO_CREDIT,
                &p.sha256,
            )
            .await
            .context("storing a demo photo")?;
        if let Some(ids) = photo_ids.get_mut(p.style) {
            ids.push(stored.id);
        }
    }
    drop(photos);

    let tz = demo_edition().time_zone;
    let mut rng = StdRng::seed_from_u64(RNG_SEED);
    let times = PublishTimes::new(now, count);
    for i in 0..count {
        let published_at = times.at(i, &mut rng);
        let beat_index = pick_beat(&mut rng);
        let beat = &BEATS[beat_index];
        let story = write_story(&mut rng, beat, published_at.with_timezone(&tz).weekday());
        let photo_id = if rng.random_bool(PHOTO_SHARE) {
            photo_ids.get(top_level_index(beat)).and_then(|ids| ids.choose(&mut rng).copied())
        } else {
            None
        };
        let input = StoryInput {
            news_id: None,
            edition_id: edition.id,
            section: SectionRef::Id(beat_sections[beat_index]),
            slug: None,
            headline: story.headline,
            lead: story.lead,
            body_source: story.body,
            body_format: story.format,
            photo_id,
            status: StoryStatus::Published,
            published_at: Some(published_at),
            tags: story.tags,
            authors: vec![SYNTHETIC_AUTHOR.to_string()],
            actor: ACTOR.to_string(),
        };
        let (_, outcome) =
            store.save_story(&input).await.with_context(|| format!("saving synthetic story {} of {count}", i + 1))?;
        if outcome == SaveOutcome::Created {
            created += 1;
        }
    }
    Ok(DemoReport { created, edition_id: edition.id })
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
    }
    Ok(report)
}

/// `newsdesk demo`: [`fill_site`] with `stories` synthetic stories, now.
pub async fn run(config: &crate::config::Config, stories: usize) -> anyhow::Result<()> {
    let store = crate::startup::open_store(config).await?;
    let report = fill_site(&store, stories, Utc::now(), config.demo_arabic_calendar()?).await;
    store.close().await;
    let report = report?;
    if report.created == 0 {
        println!("the site already has stories; nothing was added");
    } else {
        println!("created {} stories", report.created);
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
    let photo = draw_photo_blocking(0, SEED_PHOTO_VARIANT, caption).await?;
    let stored = store
        .put_photo(
            &photo.bytes,
            "image/jpeg",
            i64::from(PHOTO_WIDTH),
            i64::from(PHOTO_HEIGHT),
            &photo.caption,
            PHOTO_CREDIT,
            &photo.sha256,
        )
        .await
        .context("storing the seed photo")?;
    input.photo_id = Some(stored.id);
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

/// The vocabulary of one section: headline, lead, body and quote templates
/// with `{slot}`s, and the word lists the slots are filled from.
struct Beat {
    /// Section names from the top down.
    path: &'static [&'static str],
    /// Relative share of stories.
    weight: u32,
    /// Headline and lead templates that belong together.
    stories: &'static [(&'static str, &'static str)],
    facts: &'static [&'static str],
    quotes: &'static [&'static str],
    /// Topical tags (templates too, e.g. `{topic}`).
    tags: &'static [&'static str],
    /// Officials as (title in a headline, title inside a sentence).
    officials: &'static [(&'static str, &'static str)],
    topics: &'static [&'static str],
    things: &'static [&'static str],
    events: &'static [&'static str],
    /// Countries of the beat; empty means [`COUNTRIES`].
    countries: &'static [&'static str],
}

const COUNTRIES: &[&str] = &[
    "Russia",
    "China",
    "India",
    "Turkey",
    "Iraq",
    "Pakistan",
    "Oman",
    "Qatar",
    "Armenia",
    "Azerbaijan",
    "Kazakhstan",
    "Venezuela",
    "Brazil",
    "South Africa",
    "Indonesia",
    "Malaysia",
    "Belarus",
    "Tajikistan",
    "Uzbekistan",
    "Algeria",
    "Kenya",
    "Serbia",
    "Cuba",
    "Nicaragua",
];

const CITIES: &[&str] = &[
    "Tehran",
    "Mashhad",
    "Isfahan",
    "Shiraz",
    "Tabriz",
    "Kerman",
    "Yazd",
    "Rasht",
    "Ahvaz",
    "Kermanshah",
    "Bandar Abbas",
    "Zahedan",
    "Hamedan",
    "Qazvin",
    "Urmia",
    "Bushehr",
    "Sari",
    "Arak",
    "Zanjan",
    "Semnan",
];

const REGIONS: &[&str] =
    &["the Persian Gulf", "the Sea of Oman", "the Central Desert", "the Northwest", "the Caspian Sea", "the Southeast"];

const CLUBS: &[&str] = &[
    "Persepolis",
    "Esteghlal",
    "Sepahan",
    "Tractor",
    "Foolad",
    "Zob Ahan",
    "Gol Gohar",
    "Mes Rafsanjan",
    "Malavan",
    "Aluminum Arak",
    "Havadar",
    "Nassaji",
];

/// Small numbers as a newswire writes them in text.
const NUMBER_WORDS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

const WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Sentences any story may use between the beat's own facts.
const COMMON_SENTENCES: &[&str] = &[
    "Officials said further details would be announced in the coming weeks.",
    "The announcement was welcomed by experts, who described it as a step in the right direction.",
    "The plan is due to be reviewed again before the end of the Iranian calendar year in March.",
    "Reporters were briefed on the details at a press conference on {day}.",
    "Several analysts said more such steps were needed to keep up the momentum.",
    "The figures were published on the official website of the organization on {day}.",
    "Critics, however, said the timetable was ambitious and would need close monitoring.",
    "A report on the results is expected to be presented to the authorities within {n} weeks.",
    "The initiative is part of a broader program announced at the start of the year.",
    "Delegations from {country} and several other countries attended the ceremony.",
    "Experts say the next {n} months will show whether the approach works.",
    "Those involved said they hoped to build on the results in the future.",
    "Preparations had been under way for weeks, according to people involved in the work.",
    "Similar measures were taken last year, with mixed results.",
    "The move follows months of consultations with the institutions concerned.",
    "Another meeting on the subject is planned for next month in {city}.",
];

/// How a quote paragraph attributes its quote (`{q}` is the quote).
const ATTRIBUTIONS: &[&str] = &[
    "“{q},” the {official_lc} said.",
    "“{q},” the {official_lc} told reporters.",
    "“{q},” the {official_lc} said, adding that more details would follow.",
    "“{q},” the {official_lc} stressed.",
];

const SUBHEADINGS: &[&str] = &["Background", "What comes next", "Reactions", "The details", "By the numbers"];

const BEATS: &[Beat] = &[
    Beat {
        path: &["Iran"],
        weight: 12,
        stories: &[
            (
                "{official}: {topic} Plan to Reach {N} More Provinces",
                "The {official_lc} announced on {day} that the country’s {topic_lc} plan will be extended to {n} more provinces before the end of the year.",
            ),
            (
                "Iran Opens New {thing} in {city}",
                "A new {thing_lc} went into operation in {city} on {day}, part of a government drive to improve services outside the capital.",
            ),
            (
                "{official} Outlines Priorities for {topic}",
                "The {official_lc} set out the government’s priorities for {topic_lc} on {day}, promising faster work on projects in {n} provinces.",
            ),
            (
                "Government Approves {big} Projects under {topic} Plan",
                "The government has approved {big} projects linked to its {topic_lc} plan, with work on most of them due to start within months, the {official_lc} said.",
            ),
            (
                "{thing} Worth {big} Million Dollars Inaugurated in {city}",
                "A {thing_lc} built with an investment of {big} million dollars was inaugurated in {city} on {day}.",
            ),
            (
                "{city} to Host {event} Next Week",
                "{city} will host the {event_lc} next week, with {topic_lc} expected to top the agenda, the {official_lc} said on {day}.",
            ),
        ],
        facts: &[
            "The {thing_lc} in {city} is expected to serve about {big} thousand people once it reaches full capacity.",
            "According to the {official_lc}, {pct} percent of the funding has already been allocated from the national development budget.",
            "Officials in {city} said local contractors had carried out most of the work, creating around {big} jobs.",
            "The {topic_lc} plan was one of the main items on the agenda of the latest {event_lc}.",
            "Provincial authorities have been asked to report on progress every {n} weeks.",
            "Engineers said the first phase had been completed {n} months ahead of schedule.",
        ],
        quotes: &[
            "We are determined to bring the same quality of services to every province",
            "The people of {city} have waited a long time for this project, and today it is a reality",
            "Domestic companies have shown that they can deliver large projects on time",
        ],
        tags: &["Infrastructure", "Government", "Development", "Public services", "{city}"],
        officials: &[
            ("Government Spokeswoman", "government spokeswoman"),
            ("Interior Minister", "interior minister"),
            ("Roads Minister", "roads minister"),
            ("Health Minister", "health minister"),
            ("Vice President", "vice president for executive affairs"),
            ("Labor Minister", "labor minister"),
        ],
        topics: &[
            "Water Management",
            "Housing",
            "Rail Network",
            "Public Health",
            "Road Safety",
            "Rural Development",
            "Disaster Relief",
        ],
        things: &[
            "Desalination Plant",
            "Freight Railway",
            "Hospital Complex",
            "Solar Farm",
            "Metro Line",
            "Highway Section",
        ],
        events: &["Cabinet Session", "National Planning Conference", "Meeting of Provincial Governors"],
        countries: &[],
    },
    Beat {
        path: &["Iran", "Defense"],
        weight: 8,
        stories: &[
            (
                "Iran Unveils Homegrown {thing}",
                "Iranian defense experts unveiled a new domestically built {thing_lc} on {day}, the {official_lc} said.",
            ),
            (
                "{official}: Iran’s {topic} at Highest Level",
                "The {official_lc} said on {day} that the country’s {topic_lc} had reached a new level despite years of sanctions.",
            ),
            (
                "Iranian Forces Stage {event} in {region}",
                "Units of Iran’s armed forces began a {event_lc} in {region} on {day}, the {official_lc} said.",
            ),
            (
                "New {thing} Delivered to Iranian Armed Forces",
                "Iran’s armed forces took delivery of a new domestically built {thing_lc} on {day}, the {official_lc} said.",
            ),
            (
                "{official} Says Defense Capabilities Not Negotiable",
                "The {official_lc} said on {day} that Iran’s defense capabilities would never be subject to negotiation.",
            ),
        ],
        facts: &[
            "The {thing_lc} was designed and built by engineers at the Defense Ministry’s research centers, the {official_lc} said.",
            "Military officials said the system had been tested under different weather conditions over {n} months.",
            "The {event_lc} involves ground, air and naval units and is scheduled to last {n} days.",
            "Iranian officials say the country’s military capabilities are purely defensive.",
            "Defense exports have risen in recent years, according to figures cited by the ministry.",
            "Units from {num} bases took part in the final phase of the tests.",
        ],
        quotes: &[
            "Our defense industry relies on the knowledge of young Iranian experts",
            "The armed forces are ready to protect the country’s borders at any moment",
            "This achievement shows that sanctions have not stopped our progress",
        ],
        tags: &["Military industry", "Armed forces", "Drones", "Navy", "Air defense"],
        officials: &[
            ("Army Commander", "army commander"),
            ("Navy Commander", "navy commander"),
            ("Deputy Defense Minister", "deputy defense minister"),
            ("Air Defense Chief", "air defense chief"),
            ("Armed Forces Spokesman", "armed forces spokesman"),
        ],
        topics: &["Military Readiness", "Air Defense Capability", "Naval Power", "Drone Program", "Defense Industry"],
        things: &[
            "Air Defense System",
            "Reconnaissance Drone",
            "Naval Destroyer",
            "Radar Network",
            "Training Aircraft",
            "Coastal Missile Battery",
        ],
        events: &["Joint Military Drill", "Air Defense Exercise", "Naval Drill"],
        countries: &[],
    },
    Beat {
        path: &["Iran", "Provinces"],
        weight: 6,
        stories: &[
            (
                "{city} Gets New {thing}",
                "A new {thing_lc} opened in {city} on {day}, the {official_lc} said, describing it as a turning point for the province.",
            ),
            (
                "{official} of {city}: {topic} Plan Ahead of Schedule",
                "The {official_lc} of {city} said on {day} that the {topic_lc} plan was running ahead of schedule.",
            ),
            (
                "{city} Launches {topic} Campaign",
                "Authorities in {city} launched a {topic_lc} campaign on {day} with a budget approved by the provincial council.",
            ),
            (
                "{event} Draws {num},000 Visitors in {city}",
                "About {num},000 people visited the {event_lc} in {city} in its first {n} days, organizers said.",
            ),
        ],
        facts: &[
            "The {thing_lc} was financed jointly by the provincial government and private investors.",
            "Residents of {n} neighboring towns are also expected to benefit from the project.",
            "The provincial council approved the {topic_lc} budget earlier this year after a long debate.",
            "Local officials said {pct} percent of the workforce on the project came from the province itself.",
            "The province has seen a rise in domestic visitors, particularly during the holidays.",
        ],
        quotes: &[
            "This project was the top demand of the people of {city}",
            "We will not stop until every district has the same facilities",
            "The support of local people made this possible",
        ],
        tags: &["Provinces", "Urban development", "Tourism", "Water", "{city}"],
        officials: &[("Governor", "governor"), ("Mayor", "mayor"), ("City Council Head", "head of the city council")],
        topics: &["Urban Renewal", "Drought Relief", "Flood Prevention", "Local Tourism", "Public Transport"],
        things: &[
            "Bus Rapid Transit Line",
            "Water Pipeline",
            "Cultural Center",
            "Bridge",
            "Sports Complex",
            "Industrial Park",
        ],
        events: &["Handicrafts Fair", "Local Food Festival", "Tourism Week"],
        countries: &[],
    },
    Beat {
        path: &["World"],
        weight: 9,
        stories: &[
            (
                "{country} and {country2} Sign {thing}",
                "{country} and {country2} signed a {thing_lc} on {day}, pledging to expand cooperation over the next {n} years.",
            ),
            (
                "{country}’s {official} Travels to {country2} for Talks on {topic}",
                "{country}’s {official_lc} arrived in {country2} on {day} for talks expected to focus on {topic_lc}.",
            ),
            (
                "UN Calls for Urgent Action on {topic}",
                "The United Nations on {day} called for urgent international action on {topic_lc}, warning that time was running out.",
            ),
            (
                "{topic} Dominates Agenda at {event}",
                "Leaders meeting at the {event} on {day} called for joint action on {topic_lc}, according to a final statement.",
            ),
            (
                "{country} Ready to Mediate on {topic}, {official} Says",
                "{country}’s {official_lc} said on {day} that {country} was ready to mediate on {topic_lc}.",
            ),
        ],
        facts: &[
            "The two sides also discussed ways to settle payments in their national currencies.",
            "Diplomats said the talks had been prepared over several rounds of meetings at expert level.",
            "Trade between {country} and {country2} reached {big} million dollars last year, according to official figures.",
            "Delegations from more than {num} countries are taking part in the talks.",
            "A joint committee will meet within {n} months to follow up on the agreements.",
            "The United Nations has repeatedly called for a coordinated response on {topic_lc}.",
        ],
        quotes: &[
            "Our countries share the view that dialogue is the only way forward",
            "Unilateral measures have failed and will continue to fail",
            "We are ready to deepen our cooperation in every field",
        ],
        tags: &["Diplomacy", "United Nations", "Trade", "{country}", "{country2}"],
        officials: &[
            ("Foreign Minister", "foreign minister"),
            ("Prime Minister", "prime minister"),
            ("Trade Minister", "trade minister"),
            ("President", "president"),
        ],
        topics: &[
            "Climate Change",
            "Grain Exports",
            "Refugee Crisis",
            "Energy Security",
            "Trade Disputes",
            "Food Security",
        ],
        things: &["Cooperation Agreement", "Trade Pact", "Memorandum of Understanding", "Visa Waiver Deal"],
        events: &[
            "UN General Assembly",
            "BRICS Summit",
            "Shanghai Cooperation Organization Summit",
            "Climate Conference",
        ],
        countries: &[],
    },
    Beat {
        path: &["World", "Middle East"],
        weight: 8,
        stories: &[
            (
                "Iranian {thing} Arrives in {country}",
                "An Iranian {thing_lc} arrived in {country} on {day} as part of regional efforts on {topic_lc}, officials said.",
            ),
            (
                "{country}’s {official} Meets Iranian Envoy on {topic}",
                "{country}’s {official_lc} met the Iranian ambassador on {day} to discuss {topic_lc}, the ministry said in a statement.",
            ),
            (
                "Regional Ministers Discuss {topic} at {event}",
                "Ministers from across the region gathered for the {event_lc} on {day} with {topic_lc} at the top of the agenda.",
            ),
            (
                "{country} and Iran Agree on {topic} Mechanism",
                "{country} and Iran agreed on {day} to set up a joint mechanism on {topic_lc}, according to a joint statement.",
            ),
        ],
        facts: &[
            "Iran has repeatedly said the security of the region must be ensured by the countries of the region.",
            "It was one of {n} such missions organized this year, according to humanitarian groups.",
            "Officials in {country} said {pct} percent of the planned work had been completed.",
            "The two sides agreed to set up a joint working group that will meet every {n} months.",
            "Regional trade has grown steadily, with border crossings handling about {big} trucks a day.",
        ],
        quotes: &[
            "The nations of the region are able to solve their problems without foreign interference",
            "Our priority is the well-being of ordinary people",
            "Cooperation among neighbors is the key to lasting security",
        ],
        tags: &["Middle East", "Humanitarian aid", "Regional security", "{country}", "Diplomacy"],
        officials: &[
            ("Foreign Minister", "foreign minister"),
            ("Prime Minister", "prime minister"),
            ("Energy Minister", "energy minister"),
            ("Interior Minister", "interior minister"),
        ],
        topics: &[
            "Humanitarian Aid",
            "Reconstruction",
            "Regional Security",
            "Water Sharing",
            "Border Trade",
            "Pilgrim Traffic",
        ],
        things: &["Aid Convoy", "Medical Team", "Trade Delegation", "Relief Shipment"],
        events: &["Regional Security Conference", "Ministerial Meeting", "Neighbors’ Summit"],
        countries: &["Iraq", "Syria", "Lebanon", "Oman", "Qatar", "Kuwait", "Jordan", "Bahrain", "Egypt", "Yemen"],
    },
    Beat {
        path: &["World", "Asia"],
        weight: 5,
        stories: &[
            (
                "{country} Hosts {event} on {topic}",
                "{country} opened the {event_lc} on {topic_lc} on {day} with delegations from {num} countries in attendance.",
            ),
            (
                "Iran, {country} Sign {thing} on {topic}",
                "Officials from {country} and Iran signed a {thing_lc} on {topic_lc} on {day}, state media in both countries reported.",
            ),
            (
                "{country}’s {official} Calls for Stronger Ties with Tehran",
                "{country}’s {official_lc} called on {day} for stronger ties with Iran, particularly in {topic_lc}.",
            ),
        ],
        facts: &[
            "The North-South Transport Corridor is expected to cut transit times between {country} and Europe.",
            "Officials said rail freight between the two countries had grown by {pct} percent.",
            "The forum is held every {n} years and rotates among member states.",
            "Both sides agreed to simplify visa procedures for business travelers.",
            "A direct flight between {city} and the capital of {country} is due to start next month.",
        ],
        quotes: &[
            "Asia is becoming the center of the world economy",
            "Our ties are based on mutual respect and common interests",
        ],
        tags: &["Asia", "Transit", "Diplomacy", "{country}"],
        officials: &[
            ("Foreign Minister", "foreign minister"),
            ("Transport Minister", "transport minister"),
            ("Ambassador", "ambassador to Tehran"),
        ],
        topics: &["Transit Corridors", "Rail Freight", "Energy Cooperation", "Tourism", "Agriculture"],
        things: &["Cooperation Document", "Transit Agreement", "Memorandum of Understanding"],
        events: &["Economic Forum", "Transport Ministers’ Meeting", "Trade Fair"],
        countries: &[
            "China",
            "India",
            "Pakistan",
            "Kazakhstan",
            "Uzbekistan",
            "Tajikistan",
            "Turkmenistan",
            "Indonesia",
            "Malaysia",
            "Afghanistan",
        ],
    },
    Beat {
        path: &["Politics"],
        weight: 10,
        stories: &[
            (
                "Parliament Approves Outlines of {topic} Bill",
                "Iranian lawmakers on {day} approved the outlines of the {topic_lc} bill, with {votes} votes in favor.",
            ),
            (
                "{official}: Iran Open to Dialogue with {country}",
                "The {official_lc} said on {day} that Tehran was open to broader dialogue with {country}, provided its interests were respected.",
            ),
            (
                "{official} Meets {country} Envoy in Tehran",
                "The {official_lc} received the new ambassador of {country} in Tehran on {day}, calling for broader political ties.",
            ),
            (
                "Lawmakers Debate {topic} Bill in Open Session",
                "Iranian lawmakers debated the {topic_lc} bill in an open session of parliament on {day}.",
            ),
            (
                "{official}: {topic} Bill a Priority",
                "The {official_lc} said on {day} that the {topic_lc} bill was a priority for the coming months.",
            ),
        ],
        facts: &[
            "The bill will now be sent to the Guardian Council for review.",
            "{num} lawmakers voted against the bill, and several abstained.",
            "The parliament’s committee spent {n} months preparing the final text.",
            "The {official_lc} made the remarks during the {event_lc}.",
            "Iran and {country} have held regular political consultations in recent years.",
            "Opponents of the plan said it needed more expert review before a final vote.",
        ],
        quotes: &[
            "The Islamic Republic has always favored dialogue based on mutual respect",
            "Parliament will not approve any measure that ignores the people’s interests",
            "Pressure and threats will get nowhere",
        ],
        tags: &["Parliament", "Diplomacy", "Government", "Foreign policy", "{country}"],
        officials: &[
            ("Parliament Speaker", "parliament speaker"),
            ("Foreign Ministry Spokesman", "foreign ministry spokesman"),
            ("Foreign Minister", "foreign minister"),
            ("First Vice President", "first vice president"),
            ("Judiciary Spokesman", "judiciary spokesman"),
        ],
        topics: &["Budget", "Election", "Tax", "Customs", "Civil Service", "Anti-Corruption"],
        things: &["Bill"],
        events: &["Open Session of Parliament", "Weekly Press Conference", "Cabinet Meeting"],
        countries: &[],
    },
    Beat {
        path: &["Economy"],
        weight: 10,
        stories: &[
            (
                "Iran’s {topic} Up {pct} Percent",
                "Iran’s {topic_lc} rose {pct} percent in the first {n} months of the year compared with the same period last year, the {official_lc} said.",
            ),
            (
                "{official}: {topic} to Be Boosted This Year",
                "The {official_lc} said on {day} that the government would take new steps to boost {topic_lc} this year.",
            ),
            (
                "Iran, {country} Agree to Expand Trade at {event}",
                "Iran and {country} agreed on {day} to expand trade and remove barriers to investment at a meeting of their {event_lc}.",
            ),
            (
                "Trade with {country} Tops {big} Million Dollars",
                "Iran’s trade with {country} topped {big} million dollars in the first {n} months of the year, the {official_lc} said.",
            ),
            (
                "New {thing} Opens in {city}",
                "A new {thing_lc} opened in {city} on {day}, with an investment of {big} million dollars.",
            ),
        ],
        facts: &[
            "Non-oil exports to neighboring countries accounted for {pct} percent of the total.",
            "The {official_lc} said customs procedures had been cut from {n} days to a few hours.",
            "Officials expect trade with {country} to reach {big} million dollars by the end of the year.",
            "The {thing_lc} is expected to create about {big} direct jobs.",
            "Private companies accounted for most of the growth, according to the report.",
            "The central bank said it would continue to support producers with credit lines.",
        ],
        quotes: &[
            "Our economy has shown that it can grow despite sanctions",
            "Exporters will have our full support",
            "Neighboring countries are our first priority in trade",
        ],
        tags: &["Trade", "Exports", "Industry", "Investment", "{country}"],
        officials: &[
            ("Economy Minister", "economy minister"),
            ("Central Bank Governor", "central bank governor"),
            ("Trade Promotion Chief", "head of the Trade Promotion Organization"),
            ("Customs Chief", "customs chief"),
            ("Industry Minister", "industry minister"),
        ],
        topics: &[
            "Non-Oil Exports",
            "Foreign Investment",
            "Transit Trade",
            "Steel Production",
            "Car Production",
            "Mining Output",
        ],
        things: &["Steel Mill", "Free Trade Zone Terminal", "Car Assembly Line", "Logistics Hub"],
        events: &["Joint Economic Commission", "Business Forum", "Joint Trade Committee"],
        countries: &[],
    },
    Beat {
        path: &["Economy", "Energy"],
        weight: 6,
        stories: &[
            (
                "Iran’s {topic} Hits New Record",
                "Iran’s {topic_lc} reached a new record on {day}, the {official_lc} said.",
            ),
            (
                "{official}: {N} New Energy Projects to Come on Stream",
                "The {official_lc} said on {day} that {n} new energy projects, including a {thing_lc}, would come on stream before the end of the year.",
            ),
            (
                "New {thing} Inaugurated in {city}",
                "A new {thing_lc} with an investment of {big} million dollars was inaugurated in {city} on {day}.",
            ),
            (
                "Iran, {country} Discuss {topic} at {event}",
                "Energy officials from Iran and {country} met at the {event} on {day} to discuss cooperation in {topic_lc}.",
            ),
        ],
        facts: &[
            "The {thing_lc} will add about {big} megawatts to the national grid.",
            "Domestic contractors supplied {pct} percent of the equipment, the {official_lc} said.",
            "Gas consumption usually peaks in the cold months, straining supply to industry.",
            "The ministry plans to raise renewable capacity substantially over the next {n} years.",
            "South Pars, the world’s largest gas field, provides most of Iran’s gas output.",
        ],
        quotes: &[
            "Energy security is a red line for us",
            "Our engineers have mastered the whole chain of production",
            "We are ready to export more gas and electricity to our neighbors",
        ],
        tags: &["Oil", "Gas", "Electricity", "Renewables", "Petrochemicals"],
        officials: &[
            ("Oil Minister", "oil minister"),
            ("Energy Minister", "energy minister"),
            ("NIGC Chief", "head of the National Iranian Gas Company"),
            ("NIOC Chief", "managing director of the National Iranian Oil Company"),
        ],
        topics: &["Gas Output", "Refining Capacity", "Power Generation", "Solar Capacity", "Gasoline Production"],
        things: &["Gas Refinery", "Solar Power Plant", "Pipeline", "Wind Farm", "Petrochemical Plant"],
        events: &["Iran Oil Show", "Gas Exporting Countries Forum", "Caspian Energy Forum"],
        countries: &[],
    },
    Beat {
        path: &["Sports"],
        weight: 7,
        stories: &[
            (
                "Iran Beat {country} {score_a}-{score_b} in {topic} {event}",
                "Iran’s national {topic_lc} team beat {country} {score_a}-{score_b} at the {event} on {day}.",
            ),
            (
                "Iranian {topic} Team Wins Gold at {event}",
                "Iran’s {topic_lc} team won the gold medal at the {event} on {day}, ending a strong week for the squad.",
            ),
            (
                "Iran Finish Second in {topic} {event}",
                "Iran’s {topic_lc} team finished second at the {event} on {day}, behind {country}.",
            ),
            (
                "{official}: Iran Ready for {event}",
                "The {official_lc} said on {day} that the national {topic_lc} team was ready for the {event}.",
            ),
        ],
        facts: &[
            "Iran will face the winner of the match between {country2} and the hosts in the next round.",
            "The team has won {n} of its last {num} matches.",
            "More than {big} spectators watched the final in a packed arena.",
            "The head coach made {n} changes to the starting lineup.",
            "The national team will hold a training camp in {city} before the next tournament.",
        ],
        quotes: &[
            "The players gave everything today",
            "We came here for gold and we will fight for it until the last second",
            "This result belongs to the people of Iran",
        ],
        tags: &["{topic}", "National team", "Championships", "{country}"],
        officials: &[
            ("Sports Minister", "sports minister"),
            ("Head Coach", "head coach"),
            ("Olympic Committee President", "president of the National Olympic Committee"),
            ("Team Captain", "team captain"),
        ],
        topics: &["Volleyball", "Wrestling", "Weightlifting", "Taekwondo", "Futsal", "Basketball"],
        things: &["Medal"],
        events: &["Asian Championships", "World Championships", "Asian Games", "Nations League"],
        countries: &[],
    },
    Beat {
        path: &["Sports", "Football"],
        weight: 6,
        stories: &[
            (
                "{team} Beat {team2} {score_a}-{score_b} in Persian Gulf Pro League",
                "{team} beat {team2} {score_a}-{score_b} on {day} in the Persian Gulf Pro League.",
            ),
            (
                "{team} Held to Goalless Draw by {team2}",
                "{team} were held to a goalless draw by {team2} in the Persian Gulf Pro League on {day}.",
            ),
            (
                "Iran Coach Names Squad for {event}",
                "Iran’s head coach on {day} named the squad for the {event}, with {n} new faces.",
            ),
            (
                "{team} Appoint New Head Coach",
                "{team} appointed a new head coach on {day} after a run of poor results.",
            ),
        ],
        facts: &[
            "{team} are currently {n} points behind the league leaders.",
            "{team}’s last home match drew about {num},000 fans.",
            "{team} and {team2} meet again in the Hazfi Cup next month.",
            "The national team will gather in Tehran for a {n}-day training camp.",
            "Several players are recovering from injuries and may miss the next round.",
        ],
        quotes: &[
            "We played well but we must take our chances",
            "The league is long and we are not giving up",
            "The fans deserve a trophy this season",
        ],
        tags: &["Football", "Persian Gulf Pro League", "{team}", "{team2}"],
        officials: &[
            ("Head Coach", "head coach"),
            ("Club Chairman", "club chairman"),
            ("Team Captain", "team captain"),
        ],
        topics: &["Football"],
        things: &["Match"],
        events: &["World Cup Qualifiers", "Asian Cup", "CAFA Nations Cup"],
        countries: &[],
    },
    Beat {
        path: &["Culture"],
        weight: 6,
        stories: &[
            (
                "{event} Opens in Tehran with {num} Countries Taking Part",
                "The {event} opened in Tehran on {day} with artists and guests from {num} countries.",
            ),
            (
                "Iranian {topic} Showcased at Exhibition in {country}",
                "An exhibition of Iranian {topic_lc} opened in {country} on {day}, organized by the Iranian cultural attaché’s office.",
            ),
            (
                "Historic Site in {city} Reopens after Restoration",
                "A historic site in {city} reopened to visitors on {day} after {n} years of restoration work.",
            ),
            (
                "{official}: {num},000 Visitors Expected at {event}",
                "The {official_lc} said on {day} that about {num},000 visitors were expected at the {event}.",
            ),
        ],
        facts: &[
            "Visitors can see more than {big} works during the {n}-day event.",
            "The restoration was carried out by local craftsmen under the supervision of heritage experts.",
            "Iran has more than two dozen sites on UNESCO’s World Heritage List.",
            "Workshops on {topic_lc} will be held on the sidelines of the event.",
            "Organizers said {pct} percent of the tickets had been sold before the opening.",
        ],
        quotes: &[
            "Culture is the language that all nations understand",
            "Our heritage belongs to all of humanity",
            "Young artists are the future of Iranian culture",
        ],
        tags: &["Art", "Heritage", "Festivals", "{topic}", "{city}"],
        officials: &[
            ("Culture Minister", "culture minister"),
            ("Festival Director", "festival director"),
            ("Heritage Chief", "head of the Cultural Heritage Organization"),
        ],
        topics: &["Calligraphy", "Handicrafts", "Miniature Painting", "Carpets", "Pottery", "Tilework"],
        things: &["Exhibition"],
        events: &["Fajr Music Festival", "Tehran International Book Fair", "Handicrafts Week", "Fajr Theater Festival"],
        countries: &[],
    },
    Beat {
        path: &["Culture", "Cinema"],
        weight: 4,
        stories: &[
            (
                "Iranian {topic} Wins Top Award at Festival in {country}",
                "An Iranian {topic_lc} won the top prize at a film festival in {country} on {day}, organizers said.",
            ),
            (
                "Fajr Film Festival Announces {num} Films in Competition",
                "The Fajr Film Festival on {day} announced {num} films selected for its main competition.",
            ),
            (
                "{topic} by Young Iranian Director Premieres in {city}",
                "A new {topic_lc} by a young Iranian director premiered in {city} on {day} to a full house.",
            ),
        ],
        facts: &[
            "The jury praised the film for its simple storytelling and strong performances.",
            "Iranian films have won {big} international awards over the past decade, according to the Farabi Cinema Foundation.",
            "The film was shot in {n} weeks in and around {city}.",
            "Screenings will continue in {n} cities across the country.",
        ],
        quotes: &[
            "This award belongs to everyone who worked on the film",
            "Iranian cinema speaks to audiences everywhere",
        ],
        tags: &["Cinema", "Film festivals", "Awards", "{country}"],
        officials: &[("Festival Director", "festival director"), ("Cinema Chief", "head of the Cinema Organization")],
        topics: &["Documentary", "Animated Film", "Short Film", "Feature Film"],
        things: &["Film"],
        events: &["Fajr Film Festival", "Children’s Film Festival"],
        countries: &[],
    },
    Beat {
        path: &["Science"],
        weight: 6,
        stories: &[
            (
                "Iranian Researchers Develop New {thing}",
                "Researchers at a university in {city} have developed a new {thing_lc}, the {official_lc} said on {day}.",
            ),
            (
                "Iran Ranks among Top {N} Countries in {topic}",
                "Iran ranks among the top {n} countries in the world in {topic_lc}, according to a report released on {day}.",
            ),
            (
                "University in {city} Opens {topic} Center",
                "A university in {city} opened a new {topic_lc} research center on {day}.",
            ),
            (
                "{official}: Knowledge-Based Firms Export {thing}s to {num} Countries",
                "Knowledge-based companies have exported {thing_lc}s to {num} countries, the {official_lc} announced on {day}.",
            ),
        ],
        facts: &[
            "The {thing_lc} was developed over {n} years with the support of the science ministry.",
            "Iran’s share of the world’s scientific publications has grown steadily over the past two decades.",
            "The research team included {num} young scientists from several universities.",
            "Domestic production will reduce imports by about {big} million dollars a year, officials said.",
            "Mass production is expected to begin within {n} months.",
        ],
        quotes: &[
            "Our young scientists have proved that nothing is impossible",
            "Science is the foundation of national independence",
            "We will soon see this technology in daily life",
        ],
        tags: &["Technology", "Research", "Universities", "{topic}", "Knowledge-based companies"],
        officials: &[
            ("Science Minister", "science minister"),
            ("Vice President for Science", "vice president for science and technology"),
            ("University Chancellor", "university chancellor"),
        ],
        topics: &[
            "Nanotechnology",
            "Stem Cell Research",
            "Artificial Intelligence",
            "Biotechnology",
            "Nuclear Medicine",
        ],
        things: &["Medical Device", "Diagnostic Kit", "Vaccine", "Supercomputer", "Industrial Robot"],
        events: &["Technology Exhibition", "Science Week"],
        countries: &[],
    },
    Beat {
        path: &["Science", "Space"],
        weight: 3,
        stories: &[
            (
                "Iran Successfully Launches {thing} into Orbit",
                "Iran successfully placed a domestically built {thing_lc} into orbit on {day}, the {official_lc} said.",
            ),
            (
                "{official}: {N} Satellites to Be Launched This Year",
                "The {official_lc} said on {day} that {n} satellites would be launched before the end of the year.",
            ),
            (
                "Iranian-Made {thing} Sends First Images",
                "A new Iranian {thing_lc} sent its first images back to ground stations on {day}.",
            ),
        ],
        facts: &[
            "The satellite was placed in an orbit about {num}0 kilometers above the Earth.",
            "Ground stations in {city} received the first signals shortly after launch.",
            "Iran’s space program is focused on communications and remote sensing, officials say.",
            "The device weighs about {num} kilograms and is designed to work for {n} years.",
        ],
        quotes: &[
            "Space is no longer out of reach for Iranian engineers",
            "Every launch brings us closer to a complete space industry",
        ],
        tags: &["Space", "Satellites", "Technology"],
        officials: &[
            ("Space Agency Chief", "head of the Iranian Space Agency"),
            ("Communications Minister", "communications minister"),
        ],
        topics: &["Space Technology"],
        things: &["Research Satellite", "Remote-Sensing Satellite", "Communications Satellite", "Space Capsule"],
        events: &["National Space Technology Day"],
        countries: &[],
    },
];

/// Picks a beat by weight.
fn pick_beat(rng: &mut StdRng) -> usize {
    let total: u32 = BEATS.iter().map(|b| b.weight).sum();
    let mut r = rng.random_range(0..total.max(1));
    for (i, b) in BEATS.iter().enumerate() {
        if r < b.weight {
            return i;
        }
        r -= b.weight;
    }
    0
}

/// Index of the beat's top-level section in [`SECTION_TREE`] (drawing style of its photos).
fn top_level_index(beat: &Beat) -> usize {
    let top = beat.path.first().copied().unwrap_or_default();
    SECTION_TREE.iter().position(|(name, _)| *name == top).unwrap_or(0)
}

fn pick(rng: &mut StdRng, list: &'static [&'static str]) -> &'static str {
    list.choose(rng).copied().unwrap_or_default()
}

/// Picks from `list` a value other than `not` (when the list allows it).
fn pick_other(rng: &mut StdRng, list: &'static [&'static str], not: &'static str) -> &'static str {
    for _ in 0..8 {
        let v = pick(rng, list);
        if v != not {
            return v;
        }
    }
    list.iter().copied().find(|v| *v != not).unwrap_or(not)
}

/// Words kept capitalized inside a sentence.
const PROPER_WORDS: &[&str] = &["Iran", "Iranian", "Persian", "Gulf", "Tehran", "Fajr", "UN", "Pro", "League"];

/// Lowercases a headline-case phrase for use inside a sentence, keeping
/// proper nouns and acronyms.
fn lower_phrase(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let upper = w.chars().filter(|c| c.is_uppercase()).count();
            if PROPER_WORDS.contains(&w) || upper > 1 && !w.contains('-') { w.to_string() } else { w.to_lowercase() }
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
        let countries = if beat.countries.is_empty() { COUNTRIES } else { beat.countries };
        let country = pick(rng, countries);
        let country2 = pick_other(rng, countries, country);
        let team = pick(rng, CLUBS);
        let team2 = pick_other(rng, CLUBS, team);
        let (official, official_lc) = beat.officials.choose(rng).copied().unwrap_or(("Official", "official"));
        let topic = pick(rng, beat.topics);
        let thing = pick(rng, beat.things);
        let event = pick(rng, beat.events);
        let score_a = rng.random_range(1..=5);
        Facts {
            country,
            country2,
            city: pick(rng, CITIES),
            region: pick(rng, REGIONS),
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
            day: WEEKDAYS[weekday.num_days_from_monday() as usize],
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
            "n" => Cow::Borrowed(NUMBER_WORDS[self.n as usize % NUMBER_WORDS.len()]),
            "N" => Cow::Owned(capitalize_first(NUMBER_WORDS[self.n as usize % NUMBER_WORDS.len()].to_string())),
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
    let (headline, lead) = beat.stories.choose(rng).copied().unwrap_or(("{topic}", "{topic}."));
    let headline = f.render(headline);

    // Sentences for lead and body, without repeats: the beat's facts first, then common ones.
    let mut facts: Vec<&str> = beat.facts.to_vec();
    facts.shuffle(rng);
    let mut common: Vec<&str> = COMMON_SENTENCES.to_vec();
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
    let mut quotes: Vec<&str> = beat.quotes.to_vec();
    quotes.shuffle(rng);

    let mut body = String::with_capacity(paragraphs * 220);
    for i in 0..paragraphs {
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        if markdown && i == subheading_at {
            body.push_str("## ");
            body.push_str(pick(rng, SUBHEADINGS));
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
                body.push_str(&pick(rng, ATTRIBUTIONS).replace("{q}", &q).replace("{official_lc}", f.official_lc));
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
    let mut tag_templates: Vec<&str> = beat.tags.to_vec();
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
    use newsdesk_domain::StoryStatus;
    use newsdesk_storage::StoryFilter;
    use newsdesk_storage::testing::TestDb;

    const SEED_HEADLINE: &str =
        "Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports Booming";

    fn now() -> DateTime<Utc> {
        dates::from_unix(Utc::now().timestamp())
    }

    #[test]
    fn beats_cover_the_section_tree_and_every_slot_is_known() {
        for beat in BEATS {
            let known = SECTION_TREE.iter().any(|(top, children)| match beat.path {
                [t] => t == top,
                [t, c] => t == top && children.contains(c),
                _ => false,
            });
            assert!(known, "beat {:?} has no section", beat.path);
            assert!(!beat.stories.is_empty(), "beat {:?} has no stories", beat.path);
            for list in [beat.facts, beat.quotes, beat.tags, beat.topics, beat.things, beat.events] {
                assert!(!list.is_empty(), "beat {:?} has an empty list", beat.path);
            }
            assert!(!beat.officials.is_empty());
        }
        let mut rng = StdRng::seed_from_u64(7);
        for i in 0..2_000 {
            let beat = &BEATS[i % BEATS.len()];
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
                    let beat = &BEATS[pick_beat(&mut rng)];
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
