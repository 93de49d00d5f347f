//! Routing rules: which desk a newly ingested wire item goes to. The rules
//! are tried in their order and the **first** that matches wins; an item no
//! rule matches goes to no desk (it stays in the ingest list). No I/O.
//!
//! A rule's conditions are all optional, and an empty one matches any item;
//! the item must meet every condition the rule has:
//! - the source's name (exactly, ignoring case);
//! - IPTC Media Topics: any of the item's subjects is one of them, or
//!   narrower than one of them (`medtop:11000000` politics takes
//!   `medtop:20000621` government policy);
//! - keywords: any of them is in the headline, slugline or text as a whole
//!   word or phrase, ignoring case;
//! - a highest urgency: the item's urgency is at or below it (1 is the most
//!   urgent); an item without an urgency does not match such a rule.

use crate::ingest::IncomingItem;
use crate::mediatopic;

/// Longest list of topics or keywords on one rule.
pub const MAX_TERMS: usize = 50;
/// Longest keyword, in characters.
pub const MAX_KEYWORD: usize = 100;
/// Longest source name, in characters (as `newsdesk ingest --source` takes).
pub const MAX_SOURCE: usize = 100;

/// The conditions of one rule (what it takes; where it sends is the caller's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// Only items from this source (empty: any source).
    pub source: String,
    /// Media Topic qcodes (`medtop:…`); empty: any subject.
    pub subjects: Vec<String>,
    /// Words or phrases; empty: any text.
    pub keywords: Vec<String>,
    /// Only items with an urgency at or below this (1 flash … 9).
    pub max_urgency: Option<u8>,
}

impl Conditions {
    /// Whether an item from `source` meets every condition.
    pub fn matches(&self, source: &str, item: &IncomingItem) -> bool {
        if !self.source.trim().is_empty() && !self.source.trim().eq_ignore_ascii_case(source.trim()) {
            return false;
        }
        if let Some(max) = self.max_urgency
            && item.urgency.is_none_or(|u| u > max)
        {
            return false;
        }
        if !self.subjects.is_empty() && !item.subjects.iter().any(|s| self.covers_subject(&s.code)) {
            return false;
        }
        if !self.keywords.is_empty() {
            // One space between words, so a phrase matches across lines and tags.
            let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
            let text = format!(
                "{} \n {} \n {}",
                words(&item.headline),
                words(&item.slugline),
                words(&crate::html::plain_text(&item.body_html))
            );
            if !self.keywords.iter().any(|k| has_phrase(&text, &words(k))) {
                return false;
            }
        }
        true
    }

    /// Whether `code` (a qcode or URI) is one of the rule's topics or narrower.
    fn covers_subject(&self, code: &str) -> bool {
        let wanted: Vec<String> = self.subjects.iter().map(|s| mediatopic::normalize(s)).collect();
        let mut at = mediatopic::get(code).map(|t| t.qcode.clone());
        // The tree is a few levels deep; the bound only guards against a cycle.
        for _ in 0..16 {
            let Some(qcode) = at else { return false };
            if wanted.contains(&qcode) {
                return true;
            }
            at = mediatopic::get(&qcode).and_then(|t| t.parent.clone());
        }
        false
    }
}

/// The index of the first rule in `rules` that takes an item from `source`.
pub fn first_match<'a>(
    rules: impl IntoIterator<Item = &'a Conditions>,
    source: &str,
    item: &IncomingItem,
) -> Option<usize> {
    rules.into_iter().position(|r| r.matches(source, item))
}

/// Whether `phrase` (lower case) is in `text` (lower case) with no letter or
/// digit right before or after it.
fn has_phrase(text: &str, phrase: &str) -> bool {
    let phrase = phrase.trim();
    if phrase.is_empty() {
        return false;
    }
    text.match_indices(phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Checks a rule's conditions as a person typed them: the source name, the
/// topics (each a current IPTC Media Topic, kept as its qcode), the keywords
/// (trimmed, empty ones dropped) and the highest urgency (1–9). Returns the
/// cleaned conditions, or each problem with its field (`source`, `subjects`,
/// `keywords`, `max_urgency`).
pub fn check(
    source: &str,
    subjects: &[String],
    keywords: &[String],
    max_urgency: Option<i64>,
) -> Result<Conditions, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let source = source.trim().to_string();
    if source.chars().count() > MAX_SOURCE || source.chars().any(char::is_control) {
        errors.push((
            "source",
            format!("A source name has at most {MAX_SOURCE} characters, without control characters."),
        ));
    }
    let mut topics = Vec::new();
    for s in subjects.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match mediatopic::choose(s) {
            Ok(t) if !topics.contains(&t.qcode) => topics.push(t.qcode.clone()),
            Ok(_) => {}
            Err(e) => errors.push(("subjects", e)),
        }
    }
    if topics.len() > MAX_TERMS {
        errors.push(("subjects", format!("A rule has at most {MAX_TERMS} topics.")));
    }
    let mut words: Vec<String> = Vec::new();
    for k in keywords.iter().map(|k| k.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|k| !k.is_empty()) {
        if k.chars().count() > MAX_KEYWORD || k.chars().any(char::is_control) {
            errors.push(("keywords", format!("“{k}” is longer than {MAX_KEYWORD} characters.")));
        } else if !words.iter().any(|w| w.to_lowercase() == k.to_lowercase()) {
            words.push(k);
        }
    }
    if words.len() > MAX_TERMS {
        errors.push(("keywords", format!("A rule has at most {MAX_TERMS} keywords.")));
    }
    let max_urgency = match max_urgency {
        None => None,
        Some(u) => match u8::try_from(u).ok().filter(|u| (1..=9).contains(u)) {
            Some(u) => Some(u),
            None => {
                errors.push(("max_urgency", format!("The highest urgency is a number from 1 (flash) to 9, not {u}.")));
                None
            }
        },
    };
    if errors.is_empty() {
        Ok(Conditions { source, subjects: topics, keywords: words, max_urgency })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Format, Subject};

    fn item() -> IncomingItem {
        let mut i = crate::ingest::parse(br#"{"uri": "urn:x:1", "headline": "h"}"#)
            .expect("a minimal ninjs item parses")
            .items
            .remove(0)
            .expect("and is an item");
        i.format = Format::Ninjs(2);
        i.headline = "Parliament votes on the budget".into();
        i.slugline = "IRAN-POLITICS".into();
        i.body_html = "<p>TEHRAN &amp; Isfahan: the <b>Majlis</b> met.</p>".into();
        i.subjects = vec![Subject { code: "medtop:20000621".into(), name: String::new() }];
        i.urgency = Some(3);
        i
    }

    fn rule() -> Conditions {
        Conditions::default()
    }

    #[test]
    fn an_empty_rule_takes_everything() {
        assert!(rule().matches("afp", &item()));
    }

    #[test]
    fn source_is_compared_ignoring_case() {
        let r = Conditions { source: "AFP".into(), ..rule() };
        assert!(r.matches("afp", &item()));
        assert!(!r.matches("reuters", &item()));
    }

    #[test]
    fn a_broader_topic_takes_narrower_subjects() {
        // 20000621 (government policy) sits under 11000000 (politics and government).
        let r = Conditions { subjects: vec!["medtop:11000000".into()], ..rule() };
        assert!(r.matches("afp", &item()));
        let sport = Conditions { subjects: vec!["medtop:15000000".into()], ..rule() };
        assert!(!sport.matches("afp", &item()));
        let uri = Conditions { subjects: vec!["http://cv.iptc.org/newscodes/mediatopic/20000621".into()], ..rule() };
        assert!(uri.matches("afp", &item()));
        let mut bare = item();
        bare.subjects.clear();
        assert!(!r.matches("afp", &bare), "an item without subjects does not meet a topic condition");
    }

    #[test]
    fn keywords_are_whole_words_in_headline_slugline_or_text() {
        let k = |w: &str| Conditions { keywords: vec!["nothing".into(), w.into()], ..rule() };
        assert!(k("BUDGET").matches("afp", &item()), "headline, any case");
        assert!(k("iran").matches("afp", &item()), "slugline");
        assert!(k("majlis met").matches("afp", &item()), "a phrase across a tag in the text");
        assert!(k("tehran & isfahan").matches("afp", &item()), "entities decoded");
        assert!(!k("parlia").matches("afp", &item()), "part of a word is no match");
        assert!(!k("span").matches("afp", &item()), "tag names are not text");
    }

    #[test]
    fn urgency_is_at_or_below_the_highest() {
        let r = |u| Conditions { max_urgency: Some(u), ..rule() };
        assert!(r(3).matches("afp", &item()));
        assert!(!r(2).matches("afp", &item()));
        let mut none = item();
        none.urgency = None;
        assert!(!r(9).matches("afp", &none));
    }

    #[test]
    fn every_condition_must_hold_and_the_first_rule_wins() {
        let both = Conditions { source: "afp".into(), max_urgency: Some(1), ..rule() };
        let urgent = Conditions { max_urgency: Some(4), ..rule() };
        let all = rule();
        assert!(!both.matches("afp", &item()));
        assert_eq!(first_match([&both, &urgent, &all], "afp", &item()), Some(1));
        assert_eq!(first_match([&both], "afp", &item()), None);
    }

    #[test]
    fn check_keeps_qcodes_and_names_each_bad_field() {
        let c = check(" afp ", &["03000000".into(), "medtop:03000000".into(), " ".into()], &[" a  b ".into()], Some(2))
            .expect("valid");
        assert_eq!(c.source, "afp");
        assert_eq!(c.subjects, vec!["medtop:03000000".to_string()]);
        assert_eq!(c.keywords, vec!["a b".to_string()]);
        assert_eq!(c.max_urgency, Some(2));
        let e = check("a\u{7}", &["medtop:99999999".into()], &["x".repeat(101)], Some(0)).expect_err("invalid");
        let fields: Vec<&str> = e.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, vec!["source", "subjects", "keywords", "max_urgency"]);
        assert!(e[1].1.contains("medtop:99999999"), "{}", e[1].1);
    }
}
