//! Agency metadata of a story, named as in ninjs 2.2: `urgency` (1 flash …
//! 8 lowest), `slugline` (the desk's short name), `located` (the dateline's
//! place), `genres` (IPTC genre NewsCodes), `subjects` (IPTC Media Topics,
//! [`crate::mediatopic`]) and `ednote` (the note to subscribers). Also the
//! dateline agencies print at the start of the body.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;

use crate::Edition;
use crate::calendar::Calendar;

/// The urgency of a story nobody chose one for (ninjs: 1 highest … 9 lowest; we use 1–8).
pub const DEFAULT_URGENCY: i64 = 4;
/// The most urgent: a flash.
pub const MOST_URGENT: i64 = 1;
/// The least urgent.
pub const LEAST_URGENT: i64 = 8;
/// Longest slugline, in characters.
pub const MAX_SLUGLINE: usize = 80;
/// Longest dateline place, in characters.
pub const MAX_LOCATED: usize = 80;
/// Most genres or subjects on one story.
pub const MAX_CODES: usize = 20;

/// The agency metadata of a story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agency {
    /// 1 (flash) … 8 (lowest).
    pub urgency: i64,
    /// The desk's short internal name ("IRAN-DEFENCE-EXPORTS"); may be empty.
    pub slugline: String,
    /// The dateline's place as the editor typed it ("Tehran"); may be empty.
    pub located: String,
    /// IPTC genre qcodes (`genre:Current`), in order.
    pub genres: Vec<String>,
    /// IPTC Media Topic qcodes (`medtop:03000000`), in order.
    pub subjects: Vec<String>,
    /// The editor's note to subscribers (ninjs only; not the desk's internal note).
    pub ednote: String,
    /// Whether the subjects are shown as tags on the public page.
    pub subjects_public: bool,
}

impl Default for Agency {
    fn default() -> Agency {
        Agency {
            urgency: DEFAULT_URGENCY,
            slugline: String::new(),
            located: String::new(),
            genres: Vec::new(),
            subjects: Vec::new(),
            ednote: String::new(),
            subjects_public: false,
        }
    }
}

/// Whether `u` is an urgency newsdesk accepts.
pub fn urgency_is_valid(u: i64) -> bool {
    (MOST_URGENT..=LEAST_URGENT).contains(&u)
}

/// The newsroom's word for an urgency in `lang` (`1 Flash`, `2 Urgent`, …).
pub fn urgency_label(u: i64, lang: &str) -> &'static str {
    const EN: [&str; 8] = ["Flash", "Urgent", "High", "Normal", "Routine", "Low", "Lower", "Lowest"];
    const FA: [&str; 8] = ["فلش", "فوری", "مهم", "عادی", "روزمره", "کم", "کمتر", "کمترین"];
    const AR: [&str; 8] = ["عاجل جداً", "عاجل", "مهم", "عادي", "روتيني", "منخفض", "أدنى", "الأدنى"];
    let table = match lang {
        "fa" => &FA,
        "ar" => &AR,
        _ => &EN,
    };
    let i = usize::try_from(u.clamp(MOST_URGENT, LEAST_URGENT) - 1).unwrap_or(3);
    table[i]
}

/// The CSS class of an urgency's colour in newsroom lists: `urgency-1` … `urgency-8`.
pub fn urgency_class(u: i64) -> String {
    format!("urgency-{}", u.clamp(MOST_URGENT, LEAST_URGENT))
}

/// One IPTC genre (<http://cv.iptc.org/newscodes/genre/>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Genre {
    /// `genre:Current`.
    pub qcode: String,
    /// English name.
    pub name_en: String,
    /// Persian name.
    pub name_fa: String,
    /// Arabic name.
    pub name_ar: String,
}

impl Genre {
    /// `http://cv.iptc.org/newscodes/genre/Current`.
    pub fn uri(&self) -> String {
        format!("http://cv.iptc.org/newscodes/genre/{}", self.code())
    }

    /// The code without its scheme: `Current`.
    pub fn code(&self) -> &str {
        self.qcode.strip_prefix("genre:").unwrap_or(&self.qcode)
    }

    /// The name in `lang`, English where there is none.
    pub fn name(&self, lang: &str) -> &str {
        let local = match lang {
            "fa" => &self.name_fa,
            "ar" => &self.name_ar,
            _ => &self.name_en,
        };
        if local.is_empty() { &self.name_en } else { local }
    }
}

static GENRES: LazyLock<Vec<Genre>> = LazyLock::new(|| {
    crate::mediatopic::parse_csv(include_str!("../data/iptc-genre.csv"))
        .into_iter()
        .skip(1)
        .map(|r| {
            let col = |i: usize| r.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
            Genre { qcode: col(0), name_en: col(1), name_fa: col(2), name_ar: col(3) }
        })
        .collect()
});

/// The genres newsdesk offers, in the editor's order.
pub fn genres() -> &'static [Genre] {
    &GENRES
}

/// The genre `s` names: its qcode (`genre:Current`), code (`Current`,
/// `Special_Report`) or name in English, Persian or Arabic (case-insensitive).
pub fn genre(s: &str) -> Option<&'static Genre> {
    let s = s.trim();
    let bare = s.strip_prefix("genre:").unwrap_or(s);
    let spaced = bare.replace('_', " ");
    genres().iter().find(|g| {
        g.code().eq_ignore_ascii_case(bare)
            || g.name_en.eq_ignore_ascii_case(&spaced)
            || (!g.name_fa.is_empty() && g.name_fa == s)
            || (!g.name_ar.is_empty() && g.name_ar == s)
    })
}

/// English month abbreviations as agencies print them (AP style).
const AP_MONTHS: [&str; 12] =
    ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."];

/// The dateline printed at the start of the body: `TEHRAN, Nov. 15 (Newsdesk) –`
/// in English; in other languages the place as typed, the day and month in the
/// edition's calendar and digits, and the edition's name (`تهران، ۲۴ آبان
/// (خبرگزاری نیوزدسک) –`). `at` is the story's first publish time, shown in the
/// edition's zone. `None` without a place.
pub fn dateline(edition: &Edition, located: &str, at: DateTime<Utc>) -> Option<String> {
    let place = located.split_whitespace().collect::<Vec<_>>().join(" ");
    if place.is_empty() {
        return None;
    }
    let english_gregorian = edition.lang == "en" || edition.lang.starts_with("en-");
    let english_gregorian = english_gregorian && edition.calendar == Calendar::Gregorian;
    let (place, day) = if english_gregorian {
        let local = at.with_timezone(&edition.time_zone);
        let month = AP_MONTHS[local.month0() as usize];
        (place.to_uppercase(), edition.number(&format!("{month} {}", local.day())))
    } else {
        // `۲۴ آبان ۱۴۰۲` without the year.
        let day = edition.format_day(at);
        let day = day.rsplit_once(' ').map(|(d, _)| d.to_string()).unwrap_or(day);
        (place, day)
    };
    let comma = if edition.direction == crate::Direction::Rtl { "،" } else { "," };
    Some(format!("{place}{comma} {day} ({}) –", edition.name))
}

/// The story body with its dateline at the start, the way agencies print it:
/// inside the first paragraph when the body opens with one, else a paragraph
/// of its own. `dateline` is plain text (escaped here); `body_html` is sanitized HTML.
pub fn body_with_dateline(body_html: &str, dateline: &str) -> String {
    let line = format!("<span class=\"dateline\">{}</span>", crate::html::escape(dateline));
    let trimmed = body_html.trim_start();
    match trimmed.strip_prefix("<p>") {
        Some(rest) => format!("<p>{line} {rest}"),
        None => format!("<p class=\"dateline-line\">{line}</p>\n{trimmed}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Direction;
    use crate::calendar::Digits;

    fn edition(lang: &str, name: &str, calendar: Calendar, digits: Digits) -> Edition {
        Edition {
            id: 1,
            lang: lang.into(),
            name: name.into(),
            direction: if lang == "en" { Direction::Ltr } else { Direction::Rtl },
            time_zone: chrono_tz::Asia::Tehran,
            is_default: lang == "en",
            calendar,
            digits,
        }
    }

    #[test]
    fn urgency_bounds_labels_and_classes() {
        assert!(!urgency_is_valid(0) && urgency_is_valid(1) && urgency_is_valid(8) && !urgency_is_valid(9));
        assert_eq!(urgency_label(1, "en"), "Flash");
        assert_eq!(urgency_label(2, "fa"), "فوری");
        assert_eq!(urgency_label(DEFAULT_URGENCY, "en"), "Normal");
        assert_eq!(urgency_class(12), "urgency-8");
        assert_eq!(Agency::default().urgency, 4);
    }

    #[test]
    fn genres_resolve_by_code_name_and_translation() {
        assert_eq!(genre("genre:Current").map(|g| g.qcode.as_str()), Some("genre:Current"));
        assert_eq!(genre("analysis").map(|g| g.qcode.as_str()), Some("genre:Analysis"));
        assert_eq!(genre("Special Report").map(|g| g.qcode.as_str()), Some("genre:Special_Report"));
        assert_eq!(genre("special_report").map(|g| g.qcode.as_str()), Some("genre:Special_Report"));
        assert_eq!(genre("گفت‌وگو").map(|g| g.qcode.as_str()), Some("genre:Interview"));
        assert_eq!(genre("نعي").map(|g| g.qcode.as_str()), Some("genre:Obituary"));
        assert!(genre("gossip").is_none());
        let g = genre("Obituary").expect("obituary");
        assert_eq!(g.uri(), "http://cv.iptc.org/newscodes/genre/Obituary");
        assert!(
            genres().iter().all(|g| g.qcode.starts_with("genre:") && !g.name_fa.is_empty() && !g.name_ar.is_empty())
        );
    }

    #[test]
    fn datelines_follow_the_editions_language_calendar_and_digits() {
        // 15 November 2023, 10:00 in Tehran.
        let at = DateTime::parse_from_rfc3339("2023-11-15T06:30:00Z").expect("time").with_timezone(&Utc);
        let en = edition("en", "Newsdesk", Calendar::Gregorian, Digits::Latin);
        assert_eq!(dateline(&en, " Tehran ", at).as_deref(), Some("TEHRAN, Nov. 15 (Newsdesk) –"));
        let fa = edition("fa", "خبرگزاری نیوزدسک", Calendar::SolarHijri, Digits::Persian);
        assert_eq!(dateline(&fa, "تهران", at).as_deref(), Some("تهران، ۲۴ آبان (خبرگزاری نیوزدسک) –"));
        let ar = edition("ar", "وكالة نيوزدسك للأنباء", Calendar::Gregorian, Digits::ArabicIndic);
        let line = dateline(&ar, "طهران", at).expect("dateline");
        assert!(line.starts_with("طهران، ١٥ "), "{line}");
        assert!(line.ends_with("(وكالة نيوزدسك للأنباء) –"), "{line}");
        assert_eq!(dateline(&en, "  ", at), None);
        // Late in the evening UTC is the next day in Tehran.
        let late = DateTime::parse_from_rfc3339("2023-09-30T21:00:00Z").expect("time").with_timezone(&Utc);
        assert_eq!(dateline(&en, "Tehran", late).as_deref(), Some("TEHRAN, Oct. 1 (Newsdesk) –"));
    }

    #[test]
    fn the_dateline_opens_the_first_paragraph_escaped() {
        assert_eq!(
            body_with_dateline("<p>The ministry said.</p>\n<p>More.</p>", "A&B, Nov. 15 (<Desk>) –"),
            "<p><span class=\"dateline\">A&amp;B, Nov. 15 (&lt;Desk&gt;) –</span> The ministry said.</p>\n<p>More.</p>"
        );
        assert_eq!(
            body_with_dateline("<h2>Sub</h2>", "TEHRAN, Nov. 15 (Newsdesk) –"),
            "<p class=\"dateline-line\"><span class=\"dateline\">TEHRAN, Nov. 15 (Newsdesk) –</span></p>\n<h2>Sub</h2>"
        );
    }
}
