//! The demo's text data: word lists, sentence templates and story patterns,
//! kept in TOML files under `crates/newsdesk/data/demo/` so a writer can change
//! the demo's language without reading the generator. The files are embedded
//! in the binary and parsed once, on first use.
//!
//! The generator draws from these lists with a seeded RNG, so the order and
//! length of every list is part of the demo's output: reordering a list
//! changes which stories the demo writes (the same seed no longer gives the
//! same site as before), which is fine on purpose and a surprise otherwise.

use std::sync::LazyLock;

use serde::Deserialize;

/// The English demo's vocabulary (`data/demo/english.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct English {
    /// Countries a story may name when its beat has none of its own.
    pub countries: Vec<String>,
    /// Iranian cities.
    pub cities: Vec<String>,
    /// Regions, written as inside a sentence ("the Persian Gulf").
    pub regions: Vec<String>,
    /// Football clubs.
    pub clubs: Vec<String>,
    /// Small numbers as a newswire writes them in text, from zero: `{n}` is one of them.
    pub number_words: Vec<String>,
    /// Weekday names from Monday: `{day}` is the publish day.
    pub weekdays: Vec<String>,
    /// Words kept capitalized when a headline-case phrase is used inside a sentence.
    pub proper_words: Vec<String>,
    /// Sentences any story may use between the beat's own facts.
    pub common_sentences: Vec<String>,
    /// How a quote paragraph attributes its quote (`{q}` is the quote).
    pub attributions: Vec<String>,
    /// Subheadings of Markdown stories.
    pub subheadings: Vec<String>,
    /// The vocabulary of each section.
    pub beats: Vec<Beat>,
}

/// The vocabulary of one section: headline, lead, body and quote templates
/// with `{slot}`s, and the word lists the slots are filled from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Beat {
    /// Section names from the top down.
    pub path: Vec<String>,
    /// Relative share of stories.
    pub weight: u32,
    /// Countries of the beat; empty means [`English::countries`].
    pub countries: Vec<String>,
    /// Topical tags (templates too, e.g. `{topic}`).
    pub tags: Vec<String>,
    /// Values of `{topic}`, in headline case.
    pub topics: Vec<String>,
    /// Values of `{thing}`, in headline case.
    pub things: Vec<String>,
    /// Values of `{event}`, in headline case.
    pub events: Vec<String>,
    /// Sentences of the lead (sometimes) and the body.
    pub facts: Vec<String>,
    /// Quotes, without quotation marks or final stop.
    pub quotes: Vec<String>,
    /// Officials who announce and are quoted.
    pub officials: Vec<Official>,
    /// Headline and lead templates that belong together.
    pub stories: Vec<StoryTemplate>,
}

/// An official's title, in a headline and inside a sentence.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Official {
    /// Title in headline case (`{official}`).
    pub headline: String,
    /// Title inside a sentence (`{official_lc}`).
    pub sentence: String,
}

/// A headline template and the lead template that goes with it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoryTemplate {
    /// Headline template.
    pub headline: String,
    /// Lead template.
    pub lead: String,
}

/// One Persian or Arabic edition's text (`data/demo/persian.toml`, `arabic.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EditionText {
    /// Values of `{place}`.
    pub places: Vec<String>,
    /// The story patterns, written in turn.
    pub patterns: Vec<Pattern>,
    /// A translation of the seed story, when the edition has one.
    pub seed_translation: Option<Translation>,
}

/// One story pattern: section path, headline, lead and body with `{place}` and `{n}` to fill.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Pattern {
    /// Section names from the top down.
    pub section: Vec<String>,
    /// Headline template.
    pub headline: String,
    /// Lead template (the edition's synthetic mark is added after it).
    pub lead: String,
    /// Paragraph templates of the body.
    pub body: Vec<String>,
    /// Topical tag.
    pub tag: String,
    /// Drawing style of its photo: the index of the English demo's top-level section it resembles.
    pub style: usize,
}

/// A demo translation of the seed story.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Translation {
    /// Headline.
    pub headline: String,
    /// Lead.
    pub lead: String,
    /// Paragraphs of the body.
    pub body: Vec<String>,
    /// Section names from the top down.
    pub section: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
}

const ENGLISH_FILE: &str = "crates/newsdesk/data/demo/english.toml";
const PERSIAN_FILE: &str = "crates/newsdesk/data/demo/persian.toml";
const ARABIC_FILE: &str = "crates/newsdesk/data/demo/arabic.toml";

static ENGLISH: LazyLock<English> =
    LazyLock::new(|| load(ENGLISH_FILE, include_str!("../../data/demo/english.toml"), check_english));
static PERSIAN: LazyLock<EditionText> =
    LazyLock::new(|| load(PERSIAN_FILE, include_str!("../../data/demo/persian.toml"), check_edition));
static ARABIC: LazyLock<EditionText> =
    LazyLock::new(|| load(ARABIC_FILE, include_str!("../../data/demo/arabic.toml"), check_edition));

/// The English demo's vocabulary.
pub(super) fn english() -> &'static English {
    &ENGLISH
}

/// The Persian edition's text.
pub(super) fn persian() -> &'static EditionText {
    &PERSIAN
}

/// The Arabic edition's text.
pub(super) fn arabic() -> &'static EditionText {
    &ARABIC
}

/// Parses and checks an embedded data file. The files are part of the binary
/// and `every_data_file_parses_and_checks` parses each one, so a malformed file
/// fails the tests before it can reach a demo run: panicking here, naming the
/// file, is the clearest report for a build that skipped them.
fn load<T: serde::de::DeserializeOwned>(file: &str, text: &str, check: fn(&T) -> Result<(), String>) -> T {
    match parse(text, check) {
        Ok(data) => data,
        Err(e) => panic!("the embedded demo data file {file} is malformed: {e}"),
    }
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, check: fn(&T) -> Result<(), String>) -> Result<T, String> {
    let data: T = toml::from_str(text).map_err(|e| e.to_string())?;
    check(&data)?;
    Ok(data)
}

/// What the generator relies on beyond the file's shape.
fn check_english(e: &English) -> Result<(), String> {
    if e.weekdays.len() != 7 {
        return Err(format!("weekdays has {} names, not 7", e.weekdays.len()));
    }
    if e.number_words.len() < 10 {
        return Err(format!("number_words has {} words, not the 10 from zero to nine", e.number_words.len()));
    }
    let lists = [
        ("countries", &e.countries),
        ("cities", &e.cities),
        ("regions", &e.regions),
        ("common_sentences", &e.common_sentences),
        ("attributions", &e.attributions),
        ("subheadings", &e.subheadings),
    ];
    // Two distinct clubs and countries are drawn for one story.
    if e.clubs.len() < 2 || e.countries.len() < 2 {
        return Err("clubs and countries need at least two names each".into());
    }
    for (name, list) in lists {
        if list.is_empty() {
            return Err(format!("{name} is empty"));
        }
    }
    if e.beats.is_empty() {
        return Err("there are no beats".into());
    }
    for b in &e.beats {
        let lists = [
            ("tags", &b.tags),
            ("topics", &b.topics),
            ("things", &b.things),
            ("events", &b.events),
            ("facts", &b.facts),
            ("quotes", &b.quotes),
        ];
        for (name, list) in lists {
            if list.is_empty() {
                return Err(format!("beat {:?}: {name} is empty", b.path));
            }
        }
        if b.path.is_empty() || b.stories.is_empty() || b.officials.is_empty() || b.weight == 0 {
            return Err(format!("beat {:?} needs a path, stories, officials and a weight above 0", b.path));
        }
    }
    Ok(())
}

/// What the Persian and Arabic writers rely on beyond the file's shape.
fn check_edition(e: &EditionText) -> Result<(), String> {
    if e.places.is_empty() || e.patterns.is_empty() {
        return Err("places and patterns must not be empty".into());
    }
    for p in &e.patterns {
        if p.section.is_empty() || p.body.is_empty() {
            return Err(format!("pattern {:?} needs a section and a body", p.headline));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_file_parses_and_checks() {
        // Parsed here without the LazyLocks, so each file's error is reported as such.
        let english = parse::<English>(include_str!("../../data/demo/english.toml"), check_english)
            .unwrap_or_else(|e| panic!("{ENGLISH_FILE}: {e}"));
        assert!(english.beats.len() > 10, "{} beats", english.beats.len());
        for (file, text) in [
            (PERSIAN_FILE, include_str!("../../data/demo/persian.toml")),
            (ARABIC_FILE, include_str!("../../data/demo/arabic.toml")),
        ] {
            let edition = parse::<EditionText>(text, check_edition).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert!(edition.patterns.len() >= 10, "{file}: {} patterns", edition.patterns.len());
        }
        assert!(persian().seed_translation.is_some(), "the Persian edition translates the seed story");
        assert!(arabic().seed_translation.is_none());
    }

    #[test]
    fn a_malformed_file_is_an_error_naming_the_problem() {
        let unknown_key = parse::<EditionText>("places = [\"x\"]\npaterns = []\n", check_edition);
        assert!(unknown_key.expect_err("unknown key").contains("paterns"));
        let empty = parse::<EditionText>("places = []\npatterns = []\n", check_edition);
        assert!(empty.expect_err("empty lists").contains("must not be empty"));
        let mut six_days = english_parsed();
        six_days.weekdays.pop();
        assert!(check_english(&six_days).expect_err("six weekdays").contains("weekdays"));
        let mut no_quotes = english_parsed();
        no_quotes.beats[0].quotes.clear();
        assert!(check_english(&no_quotes).expect_err("no quotes").contains("quotes is empty"));
    }

    fn english_parsed() -> English {
        toml::from_str(include_str!("../../data/demo/english.toml")).expect("english.toml")
    }
}
