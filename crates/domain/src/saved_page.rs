//! The seed's "saved page" text format: an agency article page saved as text.
//!
//! ```text
//! Updated in: <date>                     site chrome, ignored (optional)
//! most visited                           site chrome, ignored (optional)
//! <child> << <parent>                    section breadcrumb, innermost first
//!
//! <headline>
//!
//! <lead paragraph>
//! News ID: <integer>
//! Publish Date: <d Month yyyy - HH:MM>   ("15November" without a space is accepted)
//!
//! <headline><first body paragraph>       the lead photo's alt text glued to the body
//! <body paragraphs, blank-line separated>
//! your comment                           site chrome, ends the body
//! ```

use chrono::NaiveDateTime;

use crate::calendar::{self, Calendar};
use crate::dates;

/// A saved page, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedPage {
    /// Section names from the top level down. Adjacent levels that differ only
    /// in letter case (`iran << Iran`: the slug and the name of one section) are one level.
    pub sections: Vec<String>,
    /// Headline.
    pub headline: String,
    /// Lead paragraph.
    pub lead: String,
    /// The News ID.
    pub news_id: i64,
    /// Publish time as shown, in the edition's time zone.
    pub published_local: NaiveDateTime,
    /// Body paragraphs, without the photo's alt text.
    pub paragraphs: Vec<String>,
    /// Alt text of the lead photo, when the page had one glued to the body.
    pub photo_alt: Option<String>,
}

/// Why a saved page was refused: the 1-based line and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {expected}")]
pub struct ParseError {
    /// 1-based line number (the line after the last one at end of input).
    pub line: usize,
    /// What the reader expected to find.
    pub expected: String,
}

/// Labels of one language for the page's fixed lines.
struct Labels {
    updated_in: &'static str,
    most_visited: &'static str,
    news_id: &'static str,
    publish_date: &'static str,
    your_comment: &'static str,
}

const ENGLISH: Labels = Labels {
    updated_in: "Updated in:",
    most_visited: "most visited",
    news_id: "News ID:",
    publish_date: "Publish Date:",
    your_comment: "your comment",
};

/// The labels of a Persian agency's page («کد خبر», «تاریخ انتشار»).
const PERSIAN: Labels = Labels {
    updated_in: "به‌روز شده در:",
    most_visited: "پربازدیدترین‌ها",
    news_id: "کد خبر:",
    publish_date: "تاریخ انتشار:",
    your_comment: "نظر شما",
};

/// The labels of an Arabic agency's page («رقم الخبر», «تاريخ النشر»).
const ARABIC: Labels = Labels {
    updated_in: "آخر تحديث:",
    most_visited: "الأكثر قراءة",
    news_id: "رقم الخبر:",
    publish_date: "تاريخ النشر:",
    your_comment: "تعليقك",
};

/// The label set a page uses: the one whose `News ID` line it has (English when none).
fn labels_of(lines: &[&str]) -> &'static Labels {
    [&PERSIAN, &ARABIC]
        .into_iter()
        .find(|l| lines.iter().any(|line| normalize(line).trim_start().starts_with(l.news_id)))
        .unwrap_or(&ENGLISH)
}

/// Persian pages are written with and without the zero-width non-joiner
/// («به‌روز» / «بهروز»), with Arabic yeh and kaf («كد خبر»): one spelling for matching labels.
fn normalize(line: &str) -> String {
    line.chars()
        .filter_map(|c| match c {
            '\u{200C}' => None,
            '\u{064A}' | '\u{0649}' => Some('\u{06CC}'),
            '\u{0643}' => Some('\u{06A9}'),
            c => Some(c),
        })
        .collect()
}

/// Reads a publish date as agencies write it: `15 November 2023 - 14:37`
/// (English, the seed's `15November` too), `۲۴ آبان ۱۴۰۲ - ۱۴:۳۷` (Solar Hijri,
/// Persian or Latin digits), `١٥ نوفمبر ٢٠٢٣ - ١٤:٣٧` (Gregorian, Arabic or Persian
/// month names) or `١ جمادى الأولى ١٤٤٥ - ١٤:٣٧` (Hijri).
pub fn parse_date(text: &str) -> Result<NaiveDateTime, dates::DateError> {
    let ascii = calendar::digits_to_ascii(text);
    match dates::parse_long(&ascii) {
        Err(dates::DateError::Shape(_)) => {}
        other => return other,
    }
    let shape = || dates::DateError::Shape(text.to_string());
    let (date_part, time_part) = ascii.split_once(" - ").ok_or_else(shape)?;
    let date_part = date_part.trim();
    let digits = date_part.chars().take_while(char::is_ascii_digit).count();
    let day: u32 = date_part[..digits].parse().map_err(|_| shape())?;
    let rest = date_part[digits..].trim();
    let (month_text, year_text) = rest.rsplit_once(' ').ok_or_else(shape)?;
    let year: i32 = year_text.trim().parse().map_err(|_| shape())?;
    let month_text = normalize(month_text.trim());
    let mut found = None;
    'search: for cal in [Calendar::SolarHijri, Calendar::Gregorian, Calendar::Hijri] {
        for lang in ["fa", "ar"] {
            for m in 1..=12 {
                if calendar::month_name(cal, lang, m).is_some_and(|name| normalize(name) == month_text) {
                    found = Some((cal, m));
                    break 'search;
                }
            }
        }
    }
    let (cal, month) = found.ok_or_else(shape)?;
    let invalid = || dates::DateError::Invalid(text.to_string());
    let date = match cal {
        Calendar::Gregorian => chrono::NaiveDate::from_ymd_opt(year, month, day),
        Calendar::SolarHijri => calendar::gregorian_from_solar_hijri(year, month, day),
        Calendar::Hijri => calendar::gregorian_from_hijri(year, month, day),
    }
    .ok_or_else(invalid)?;
    let (h, m) = time_part.trim().split_once(':').ok_or_else(shape)?;
    let time = chrono::NaiveTime::from_hms_opt(h.parse().map_err(|_| shape())?, m.parse().map_err(|_| shape())?, 0)
        .ok_or_else(invalid)?;
    Ok(NaiveDateTime::new(date, time))
}

fn err(line: usize, expected: impl Into<String>) -> ParseError {
    ParseError { line, expected: expected.into() }
}

/// Reads one saved page. Accepts a UTF-8 byte-order mark and CRLF line ends;
/// control characters (other than tabs) are dropped, as invisible debris of
/// the system that saved the page (see [`crate::text`]).
pub fn parse(text: &str) -> Result<SavedPage, ParseError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let text = crate::text::strip_forbidden(text);
    let lines: Vec<&str> = text.lines().collect();
    let labels = labels_of(&lines);
    let mut i = 0;
    let skip_blank = |i: &mut usize| {
        while *i < lines.len() && lines[*i].trim().is_empty() {
            *i += 1;
        }
    };

    skip_blank(&mut i);
    // Site chrome is skipped in any language (pages mixing label languages exist).
    let all = [&ENGLISH, &PERSIAN, &ARABIC];
    if i < lines.len() && all.iter().any(|l| has_label(lines[i], l.updated_in)) {
        i += 1;
        skip_blank(&mut i);
    }
    if i < lines.len() && all.iter().any(|l| is_line(lines[i], l.most_visited)) {
        i += 1;
        skip_blank(&mut i);
    }

    // Breadcrumb.
    let Some(crumb) = lines.get(i) else {
        return Err(err(i + 1, "a section breadcrumb like `child << parent`, found the end of the file"));
    };
    if !crumb.contains("<<") {
        return Err(err(i + 1, format!("a section breadcrumb like `child << parent`, found `{}`", crumb.trim())));
    }
    let mut levels: Vec<String> = Vec::new();
    for part in crumb.rsplit("<<") {
        let name = part.trim();
        if name.is_empty() {
            return Err(err(i + 1, "a section name on each side of `<<`"));
        }
        match levels.last_mut() {
            Some(last) if last.to_lowercase() == name.to_lowercase() => {
                // Keep the form with capitals as the display name.
                if name.chars().any(char::is_uppercase) && !last.chars().any(char::is_uppercase) {
                    *last = name.to_string();
                }
            }
            _ => levels.push(name.to_string()),
        }
    }
    i += 1;

    // Headline.
    if i >= lines.len() || !lines[i].trim().is_empty() {
        return Err(err(i + 1, "a blank line after the breadcrumb"));
    }
    skip_blank(&mut i);
    let headline = match lines.get(i) {
        Some(l) if !is_label(l, labels) => l.trim().to_string(),
        Some(l) => return Err(err(i + 1, format!("the headline, found `{}`", l.trim()))),
        None => return Err(err(i + 1, "the headline, found the end of the file")),
    };
    i += 1;
    if i >= lines.len() || !lines[i].trim().is_empty() {
        return Err(err(i + 1, "a blank line after the headline"));
    }
    skip_blank(&mut i);

    // Lead: every line up to `News ID:`.
    let lead_start = i;
    let mut lead_lines = Vec::new();
    while i < lines.len() && !has_label(lines[i], labels.news_id) {
        let l = lines[i].trim();
        if has_label(l, labels.publish_date) {
            return Err(err(i + 1, format!("`{}` before `{}`", labels.news_id, labels.publish_date)));
        }
        if l.is_empty() {
            return Err(err(i + 1, format!("the lead paragraph followed directly by `{} <integer>`", labels.news_id)));
        }
        lead_lines.push(l);
        i += 1;
    }
    if lead_lines.is_empty() {
        return Err(err(lead_start + 1, "the lead paragraph"));
    }
    if i >= lines.len() {
        return Err(err(i + 1, format!("`{} <integer>`, found the end of the file", labels.news_id)));
    }
    let lead = lead_lines.join(" ");

    // News ID.
    let id_text = after_label(lines[i]);
    let news_id: i64 = match calendar::digits_to_ascii(id_text).parse() {
        Ok(n) if n > 0 => n,
        _ => return Err(err(i + 1, format!("a positive integer after `{}`, found `{id_text}`", labels.news_id))),
    };
    i += 1;

    // Publish date.
    let Some(date_line) = lines.get(i).map(|l| l.trim()) else {
        return Err(err(i + 1, format!("`{} <d Month yyyy - HH:MM>`, found the end of the file", labels.publish_date)));
    };
    let Some(date_text) = has_label(date_line, labels.publish_date).then(|| after_label(date_line)) else {
        return Err(err(i + 1, format!("`{} <d Month yyyy - HH:MM>`, found `{date_line}`", labels.publish_date)));
    };
    let published_local = parse_date(date_text.trim()).map_err(|e| err(i + 1, e.to_string()))?;
    i += 1;

    // Body up to `your comment` (or the end of the file).
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let body_start = i;
    while i < lines.len() {
        let l = lines[i].trim();
        if all.iter().any(|labels| is_line(l, labels.your_comment)) {
            break;
        }
        if l.is_empty() {
            if !current.is_empty() {
                paragraphs.push(current.join(" "));
                current.clear();
            }
        } else {
            current.push(l);
        }
        i += 1;
    }
    if !current.is_empty() {
        paragraphs.push(current.join(" "));
    }

    let mut photo_alt = None;
    if let Some(first) = paragraphs.first_mut()
        && let Some(rest) = first.strip_prefix(headline.as_str())
    {
        photo_alt = Some(headline.clone());
        let rest = rest.trim().to_string();
        if rest.is_empty() {
            paragraphs.remove(0);
        } else {
            *first = rest;
        }
    }
    if paragraphs.is_empty() {
        return Err(err(body_start + 1, "at least one body paragraph after the publish date"));
    }

    Ok(SavedPage { sections: levels, headline, lead, news_id, published_local, paragraphs, photo_alt })
}

fn is_label(line: &str, labels: &Labels) -> bool {
    let l = line.trim();
    l.is_empty() || has_label(l, labels.news_id) || has_label(l, labels.publish_date)
}

/// Whether `line` starts with `label` (compared in [`normalize`]d spelling, English case-sensitively as before).
fn has_label(line: &str, label: &str) -> bool {
    normalize(line.trim_start()).starts_with(&normalize(label))
}

/// Whether `line` is `label` alone (letter case ignored).
fn is_line(line: &str, label: &str) -> bool {
    normalize(line.trim()).to_lowercase() == normalize(label).to_lowercase()
}

/// What follows a `Label:` line's colon, trimmed.
fn after_label(line: &str) -> &str {
    line.split_once(':').map(|(_, rest)| rest).unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) const SEED: &str = include_str!("../../../demo/seed/000_ad66ece867d7ed05.txt");

    const PERSIAN_PAGE: &str = include_str!("../../../demo/pages/fa-90001.txt");

    #[test]
    fn reads_a_page_with_persian_labels_and_a_solar_hijri_date() {
        let page = parse(PERSIAN_PAGE).expect("Persian page parses");
        assert_eq!(page.sections, vec!["ایران".to_string(), "دفاعی".to_string()]);
        assert_eq!(page.news_id, 90001);
        assert!(page.headline.starts_with("وزارت دفاع:"));
        assert!(page.lead.ends_with("اعلام کرد."));
        // ۲۴ آبان ۱۴۰۲ is 15 November 2023, the seed's day.
        assert_eq!(dates::format_naive_long(page.published_local), "15 November 2023 - 14:37");
        assert_eq!(page.photo_alt.as_deref(), Some(page.headline.as_str()));
        assert_eq!(page.paragraphs.len(), 4);
        assert!(page.paragraphs[0].starts_with("سردار سرتیپ"));
        assert!(page.paragraphs.iter().all(|p| !p.contains("نظر شما")));
        // The ZWNJ of the text is kept as written.
        assert!(page.paragraphs[1].contains("می\u{200C}دارند") || page.paragraphs[1].contains("برمی\u{200C}دارند"));
        // Written with Arabic yeh/kaf and without the ZWNJ, the labels still read.
        let arabic_letters = PERSIAN_PAGE.replace("کد خبر", "كد خبر").replace("به‌روز", "بهروز");
        assert_eq!(parse(&arabic_letters).expect("variant spelling parses").news_id, 90001);
        // English labels in the same page still work (mixed exports).
        let english = PERSIAN_PAGE.replace("کد خبر:", "News ID:").replace("تاریخ انتشار:", "Publish Date:");
        assert_eq!(parse(&english).expect("English labels").news_id, 90001);
    }

    #[test]
    fn reads_localized_dates() {
        let d = |s: &str| dates::format_naive_long(parse_date(s).expect(s));
        assert_eq!(d("۲۴ آبان ۱۴۰۲ - ۱۴:۳۷"), "15 November 2023 - 14:37");
        assert_eq!(d("24 آبان 1402 - 14:37"), "15 November 2023 - 14:37");
        assert_eq!(d("١٥ نوفمبر ٢٠٢٣ - ١٤:٣٧"), "15 November 2023 - 14:37");
        assert_eq!(d("15November 2023 - 14:37"), "15 November 2023 - 14:37");
        // A Hijri date reads back to the day it was written for.
        let day = chrono::NaiveDate::from_ymd_opt(2023, 11, 15).expect("date");
        let h = calendar::hijri_from_gregorian(day);
        let name = calendar::month_name(Calendar::Hijri, "ar", h.month).expect("month");
        let text = calendar::to_arabic_indic_digits(&format!("{} {name} {} - 14:37", h.day, h.year));
        assert_eq!(d(&text), "15 November 2023 - 14:37");
        assert!(matches!(parse_date("۳۱ اسفند ۱۴۰۲ - ۱۰:۰۰"), Err(dates::DateError::Invalid(_))), "1402 is not leap");
        assert!(matches!(parse_date("۲۴ آبانی ۱۴۰۲ - ۱۴:۳۷"), Err(dates::DateError::Shape(_))));
        assert!(matches!(parse_date("31 February 2023 - 10:00"), Err(dates::DateError::Invalid(_))));
    }

    #[test]
    fn reads_the_seed() {
        let page = parse(SEED).expect("seed parses");
        assert_eq!(page.sections, vec!["Iran".to_string()]);
        assert_eq!(
            page.headline,
            "Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports Booming"
        );
        assert!(page.lead.starts_with("Iran’s Defense Ministry is moving towards"));
        assert_eq!(page.news_id, 84427);
        assert_eq!(dates::format_naive_long(page.published_local), "15 November 2023 - 14:37");
        assert_eq!(page.photo_alt.as_deref(), Some(page.headline.as_str()));
        assert!(page.paragraphs[0].starts_with("Iranian Deputy Defense Minister Brigadier General Mehdi Farahi"));
        assert_eq!(page.paragraphs.len(), 9);
        assert!(page.paragraphs.last().is_some_and(|p| p.ends_with("will never be subject to negotiation.")));
        assert!(page.paragraphs.iter().all(|p| !p.contains("your comment")));
    }

    #[test]
    fn nested_breadcrumb_is_read_top_down() {
        let text = SEED.replace("iran << Iran", "Defense << Iran");
        assert_eq!(parse(&text).expect("parses").sections, vec!["Iran", "Defense"]);
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let text = format!("\u{FEFF}{}", SEED.replace('\n', "\r\n"));
        assert_eq!(parse(&text).expect("parses"), parse(SEED).expect("parses"));
    }

    #[test]
    fn control_characters_are_dropped_from_every_field() {
        let text = SEED
            .replace("Defense Ministry: Iran", "Defense\u{b} Ministry:\u{1} Iran")
            .replace("Iran’s Defense Ministry is moving", "Iran’s\u{c} Defense Ministry is\u{7f} moving")
            .replace("Mehdi Farahi", "Mehdi\u{1b} Farahi");
        let page = parse(&text).expect("parses");
        assert_eq!(page, parse(SEED).expect("parses"));
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).expect("needle") + 1
    }

    #[test]
    fn malformed_pages_name_the_line_and_the_expectation() {
        let cases: Vec<(String, usize, &str)> = vec![
            (SEED.replace("iran << Iran", "Iran"), 3, "breadcrumb"),
            (SEED.replace("iran << Iran", "iran << "), 3, "section name"),
            (SEED.replace("News ID: 84427", "News ID: 84x27"), line_of(SEED, "News ID"), "positive integer"),
            (SEED.replace("News ID: 84427\n", ""), line_of(SEED, "News ID"), "News ID"),
            (SEED.replace("15November 2023", "15 Nov 2023x"), line_of(SEED, "Publish Date"), "15 November 2023"),
            (SEED.replace("15November 2023", "31February 2023"), line_of(SEED, "Publish Date"), "not a real date"),
            (SEED.replace("Publish Date:", "Published:"), line_of(SEED, "Publish Date"), "Publish Date"),
            (SEED.split("News ID").next().expect("head").to_string(), line_of(SEED, "News ID"), "end of the file"),
            (String::new(), 1, "breadcrumb"),
        ];
        for (text, line, expected) in cases {
            let e = parse(&text).expect_err("must be refused");
            assert_eq!(e.line, line, "{e}");
            assert!(e.expected.contains(expected), "{e} should mention {expected}");
        }
    }

    #[test]
    fn page_without_body_is_refused() {
        let cut = SEED
            .find("Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports BoomingIranian")
            .expect("body");
        let text = format!("{}your comment\n", &SEED[..cut]);
        let e = parse(&text).expect_err("no body");
        assert!(e.expected.contains("body paragraph"), "{e}");
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC*") {
            let _ = parse(&s);
        }

        #[test]
        fn parser_survives_damaged_seed(cut in 0usize..2000, junk in "\\PC{0,20}") {
            let mut text = SEED.to_string();
            let at = (0..=cut.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
            text.insert_str(at, &junk);
            let _ = parse(&text);
        }
    }
}
