//! IPTC Media Topics: the IPTC's subject vocabulary (1,387 concepts in a
//! tree, English and Arabic names), embedded from `data/iptc-mediatopic.csv`
//! (IPTC NewsCodes, CC BY 4.0), with Persian names for the 17 top-level
//! topics from `data/mediatopic-fa.csv` (the IPTC gives none).
//!
//! A subject is stored and sent by its qcode (`medtop:03000000`); ninjs
//! carries its URI (`http://cv.iptc.org/newscodes/mediatopic/03000000`).
//! Retired concepts still resolve (old stories keep them) but are never
//! offered and never accepted in a new save.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;

const TOPICS_CSV: &str = include_str!("../data/iptc-mediatopic.csv");
const PERSIAN_CSV: &str = include_str!("../data/mediatopic-fa.csv");

/// The URI of a concept is this and its number.
pub const URI_BASE: &str = "http://cv.iptc.org/newscodes/mediatopic/";

/// The qcode prefix of the vocabulary.
pub const SCHEME: &str = "medtop";

/// One Media Topic concept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topic {
    /// `medtop:03000000`.
    pub qcode: String,
    /// `http://cv.iptc.org/newscodes/mediatopic/03000000`.
    pub uri: String,
    /// The broader concept's qcode; `None` at the top level.
    pub parent: Option<String>,
    /// Depth in the tree, 1 at the top.
    pub level: u8,
    /// Whether the IPTC retired the concept.
    pub retired: bool,
    /// English name.
    pub name_en: String,
    /// Arabic name (may be empty).
    pub name_ar: String,
    /// Persian name (only the top-level topics have one).
    pub name_fa: String,
}

impl Topic {
    /// The name in `lang` (`en`, `fa`, `ar`), English where the vocabulary has none.
    pub fn name(&self, lang: &str) -> &str {
        let local = match lang {
            "fa" => &self.name_fa,
            "ar" => &self.name_ar,
            _ => &self.name_en,
        };
        if local.is_empty() { &self.name_en } else { local }
    }
}

struct Vocabulary {
    topics: Vec<Topic>,
    by_qcode: HashMap<String, usize>,
}

static VOCABULARY: LazyLock<Vocabulary> = LazyLock::new(|| {
    let persian: HashMap<String, String> = parse_csv(PERSIAN_CSV)
        .into_iter()
        .skip(1)
        .filter_map(|r| Some((r.first()?.clone(), r.get(1)?.clone())))
        .collect();
    let mut topics = Vec::new();
    for row in parse_csv(TOPICS_CSV).into_iter().skip(1) {
        let col = |i: usize| row.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
        let qcode = col(0);
        if qcode.is_empty() {
            continue;
        }
        topics.push(Topic {
            name_fa: persian.get(&qcode).cloned().unwrap_or_default(),
            // Retired concepts' URIs carry a " (retired)" remark in the file.
            uri: format!("{URI_BASE}{}", qcode.strip_prefix("medtop:").unwrap_or(&qcode)),
            parent: Some(col(2)).filter(|p| !p.is_empty()),
            level: col(3).parse().unwrap_or(1),
            retired: !col(4).is_empty(),
            name_en: col(5),
            name_ar: col(7),
            qcode,
        });
    }
    let by_qcode = topics.iter().enumerate().map(|(i, t)| (t.qcode.clone(), i)).collect();
    Vocabulary { topics, by_qcode }
});

/// Every concept, retired ones included, in the file's (tree) order.
pub fn all() -> &'static [Topic] {
    &VOCABULARY.topics
}

/// The qcode form of `code`: `medtop:03000000` as given, the bare number, or
/// the concept's URI.
pub fn normalize(code: &str) -> String {
    let code = code.trim();
    let tail = code
        .strip_prefix(URI_BASE)
        .or_else(|| code.strip_prefix("https://cv.iptc.org/newscodes/mediatopic/"))
        .or_else(|| code.strip_prefix("medtop:"))
        .unwrap_or(code);
    format!("{SCHEME}:{tail}")
}

/// The concept with this qcode (also a bare number or the URI), retired or not.
pub fn get(code: &str) -> Option<&'static Topic> {
    let v = &*VOCABULARY;
    v.by_qcode.get(&normalize(code)).map(|&i| &v.topics[i])
}

/// Why `code` cannot be chosen for a story, or the concept.
pub fn choose(code: &str) -> Result<&'static Topic, String> {
    match get(code) {
        None => Err(format!("“{}” is not an IPTC Media Topic (write a qcode like medtop:03000000).", code.trim())),
        Some(t) if t.retired => {
            Err(format!("{} ({}) was retired by the IPTC; choose a current topic.", t.qcode, t.name_en))
        }
        Some(t) => Ok(t),
    }
}

/// Folds text for matching: lower case, Arabic letters as Persian writes
/// them, no diacritics, tatweel or ZWNJ.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' | '\u{200C}'))
        .map(|c| match c {
            'ي' | 'ى' => 'ی',
            'ك' => 'ک',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Current (not retired) concepts matching `query` by code (`03`, `medtop:0300`)
/// or by a word of their English, Arabic or Persian name; the best first
/// (names starting with the query, then shallow concepts), at most `limit`.
pub fn search(query: &str, limit: usize) -> Vec<&'static Topic> {
    let q = fold(query.trim());
    if q.is_empty() {
        return Vec::new();
    }
    let code = q.strip_prefix("medtop:").unwrap_or(&q);
    let is_code = code.chars().all(|c| c.is_ascii_digit());
    let mut hits: Vec<(u8, u8, &'static Topic)> = Vec::new();
    for t in all().iter().filter(|t| !t.retired) {
        let rank = if is_code {
            t.qcode[SCHEME.len() + 1..].starts_with(code).then_some(0)
        } else {
            [&t.name_en, &t.name_fa, &t.name_ar]
                .iter()
                .map(|n| fold(n))
                .filter_map(|n| {
                    if n.starts_with(&q) {
                        Some(0)
                    } else if n.split(|c: char| !c.is_alphanumeric()).any(|w| w.starts_with(&q)) {
                        Some(1)
                    } else if n.contains(&q) {
                        Some(2)
                    } else {
                        None
                    }
                })
                .min()
        };
        if let Some(rank) = rank {
            hits.push((rank, t.level, t));
        }
    }
    hits.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| a.2.name_en.cmp(&b.2.name_en)));
    hits.into_iter().take(limit).map(|(_, _, t)| t).collect()
}

/// Rows of comma-separated values (RFC 4180: fields in double quotes may hold
/// commas, line breaks and doubled quotes). Blank lines are skipped.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f| !f.is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
            }
            c => field.push(c),
        }
    }
    row.push(field);
    if row.iter().any(|f| !f.is_empty()) {
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_vocabulary_is_read() {
        assert_eq!(all().len(), 1387);
        assert!(all().iter().all(|t| t.uri.ends_with(&t.qcode[7..]) && !t.name_en.is_empty()));
        let top: Vec<_> = all().iter().filter(|t| t.level == 1).collect();
        assert_eq!(top.len(), 17);
        assert!(
            top.iter().all(|t| !t.name_fa.is_empty() && t.parent.is_none()),
            "every top-level topic has a Persian name"
        );
        let cartoon = get("medtop:20000004").expect("cartoon");
        assert_eq!(cartoon.parent.as_deref(), Some("medtop:20000002"));
        assert_eq!(cartoon.level, 3);
        assert_eq!(cartoon.name("ar"), "كرتون");
        assert_eq!(cartoon.name("fa"), "cartoon", "Persian falls back to English");
        assert_eq!(get("03000000").map(|t| t.name("fa")), Some("فاجعه، حادثه و رخداد اضطراری"));
        assert_eq!(
            get("http://cv.iptc.org/newscodes/mediatopic/03000000").map(|t| t.qcode.as_str()),
            Some("medtop:03000000")
        );
        assert!(get("medtop:99999999").is_none());
    }

    #[test]
    fn retired_topics_resolve_but_are_neither_offered_nor_chosen() {
        let retired = all().iter().find(|t| t.retired).expect("the vocabulary has retired concepts");
        assert!(get(&retired.qcode).is_some());
        assert!(choose(&retired.qcode).expect_err("retired").contains("retired"));
        assert!(choose("medtop:nope").expect_err("unknown").contains("not an IPTC Media Topic"));
        assert!(choose("medtop:03000000").is_ok());
        let code = &retired.qcode[7..];
        assert!(search(code, 50).iter().all(|t| !t.retired));
        assert!(search(&retired.name_en, 50).iter().all(|t| t.qcode != retired.qcode));
    }

    #[test]
    fn search_finds_by_code_and_by_name_in_three_languages() {
        let by_code = search("medtop:0300", 5);
        assert_eq!(by_code.first().map(|t| t.qcode.as_str()), Some("medtop:03000000"));
        assert!(search("0300", 100).iter().all(|t| t.qcode.starts_with("medtop:0300")));
        assert_eq!(search("Sport", 3).first().map(|t| t.qcode.as_str()), Some("medtop:15000000"));
        assert_eq!(search("ورزش", 3).first().map(|t| t.qcode.as_str()), Some("medtop:15000000"));
        // Arabic spelling with Arabic kaf and yeh still finds the Arabic name.
        let ar = search("كرتون", 3);
        assert_eq!(ar.first().map(|t| t.qcode.as_str()), Some("medtop:20000004"));
        assert!(search("", 5).is_empty());
        assert!(search("election", 20).iter().any(|t| t.name_en.contains("election")));
        assert_eq!(search("a", 7).len(), 7);
    }

    #[test]
    fn csv_handles_quotes_commas_and_line_breaks() {
        let rows = parse_csv("a,b\n\"x, y\",\"say \"\"hi\"\"\"\r\n\n\"multi\nline\",\n");
        assert_eq!(
            rows,
            vec![
                vec!["a".to_string(), "b".into()],
                vec!["x, y".into(), "say \"hi\"".into()],
                vec!["multi\nline".into(), String::new()],
            ]
        );
    }
}
