//! Every parser of outside input in the domain crate, fed arbitrary text:
//! none panics, and what it accepts is well formed. Outside input here means
//! imported files (saved pages), story bodies (Markdown and HTML from the
//! editor or the write API), readers' comments, URL parts (slugs, dates) and
//! settings (calendar and digit names).
//!
//! Case counts stay modest (256) so the suite stays fast; the regression
//! files proptest writes are kept next to this file.

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use newsdesk_domain::calendar::{self, Calendar, Digits};
use newsdesk_domain::comments::{self, CommentDraft, CommentRules};
use newsdesk_domain::{BodyFormat, dates, html, saved_page, slug};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, ..ProptestConfig::default() }
}

/// Text that is sometimes plain, sometimes any Unicode, sometimes lossy bytes.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,300}",
        ".{0,300}",
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

/// Lines a saved page is made of, in any order and number: the parser meets
/// its own labels in wrong places, not only noise.
fn saved_page_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("Updated in: 22 July 2024 - 14:38".to_string()),
        Just("most visited".to_string()),
        Just("iran << Iran".to_string()),
        "[a-z]{1,8} << [A-Za-z]{1,8}( << [A-Za-z]{1,8})?",
        "News ID: -?[0-9]{0,25}",
        "Publish Date: [0-9]{0,3} ?[A-Za-z]{0,10} [0-9]{0,6} - [0-9]{0,3}:[0-9]{0,3}",
        "Publish Date: \\PC{0,20}",
        Just("your comment".to_string()),
        Just("به‌روزرسانی".to_string()),
        "\\PC{0,80}",
    ]
}

fn draft() -> impl Strategy<Value = CommentDraft> {
    (any_text(), any_text(), any_text(), any_text(), any::<i64>())
        .prop_map(|(name, email, text, honeypot, fill_secs)| CommentDraft { name, email, text, honeypot, fill_secs })
}

/// Tags the story sanitizer lets through (see `html.rs`).
const ALLOWED: &str = "a abbr b blockquote br caption cite code em figcaption figure h2 h3 h4 hr i img li ol p pre q s \
                       small strong sub sup table tbody td th thead tr u ul";

/// The first unsafe thing in sanitized HTML, if any: a tag outside the allowed
/// set, an event handler or style attribute, or a link to a script. Text is
/// escaped by the sanitizer, so every `<` left starts a real tag.
fn unsafe_markup(html: &str) -> Option<String> {
    unsafe_markup_in(html, ALLOWED)
}

/// [`unsafe_markup`] with the tags of rendered body blocks allowed too
/// (placeholders' `span`, photos' `picture`/`source`); HTML comments (a block
/// naming nothing) left out first.
fn unsafe_block_markup(html: &str) -> Option<String> {
    let mut clean = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        clean.push_str(&rest[..start]);
        rest = rest[start..].find("-->").map_or("", |e| &rest[start + e + 3..]);
    }
    clean.push_str(rest);
    unsafe_markup_in(&clean, &format!("{ALLOWED} span picture source"))
}

fn unsafe_markup_in(html: &str, allowed: &str) -> Option<String> {
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let tag_text = &rest[start + 1..];
        let mut end = tag_text.len();
        let mut quote = None;
        for (i, c) in tag_text.char_indices() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '>') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let tag = &tag_text[..end];
        rest = &tag_text[end.min(tag_text.len())..];
        let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        if !allowed.split_whitespace().any(|t| t.eq_ignore_ascii_case(&name)) {
            return Some(format!("tag <{tag}>"));
        }
        // Attributes: name="value" pairs after the tag name.
        let mut attrs = &tag[tag.find(|c: char| c.is_whitespace()).unwrap_or(tag.len())..];
        while let Some(eq) = attrs.find('=') {
            let attr = attrs[..eq].trim().to_ascii_lowercase();
            let after = attrs[eq + 1..].trim_start();
            let (value, next) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let close = after[1..].find(q).map_or(after.len(), |i| i + 1);
                    (&after[1..close], &after[(close + 1).min(after.len())..])
                }
                _ => after.split_at(after.find(char::is_whitespace).unwrap_or(after.len())),
            };
            let squeezed: String = value.chars().filter(|c| !c.is_whitespace() && !c.is_control()).collect();
            let scheme = squeezed.to_ascii_lowercase();
            if attr.starts_with("on") || attr == "style" || attr == "formaction" {
                return Some(format!("attribute {attr} in <{tag}>"));
            }
            if (attr == "href" || attr == "src")
                && ["javascript:", "vbscript:", "data:"].iter().any(|s| scheme.starts_with(s))
            {
                return Some(format!("{attr}={value} in <{tag}>"));
            }
            attrs = next;
        }
    }
    None
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn saved_pages_of_any_text_never_panic(s in any_text()) {
        let _ = saved_page::parse(&s);
        let _ = saved_page::parse_date(&s);
    }

    #[test]
    fn saved_pages_of_shuffled_lines_parse_or_name_a_line(lines in proptest::collection::vec(saved_page_line(), 0..40)) {
        let text = lines.join("\n");
        match saved_page::parse(&text) {
            Ok(page) => {
                prop_assert!(page.news_id > 0, "{page:?}");
                prop_assert!(!page.headline.trim().is_empty(), "{page:?}");
            }
            Err(e) => prop_assert!(e.line >= 1 && e.line <= lines.len() + 1, "{e} of {} lines", lines.len()),
        }
    }

    #[test]
    fn bodies_in_every_format_render_to_safe_markup(s in any_text()) {
        for format in [BodyFormat::Text, BodyFormat::Markdown, BodyFormat::Html] {
            let out = format.render(&s);
            prop_assert_eq!(unsafe_markup(&out), None, "{:?} of {:?}: {}", format, s, out);
        }
    }

    #[test]
    fn body_blocks_with_arbitrary_text_render_to_safe_markup(s in any_text(), caption in any_text(), credit in any_text()) {
        use newsdesk_domain::body::{self, Context, EmbedMeta, Image, PhotoData};
        let mut ctx = Context::default();
        ctx.photos.insert(1, PhotoData {
            image: Image { src: "/media/p.jpg".into(), width: 10, height: 10 },
            caption: caption.clone(), credit: credit.clone(), srcset: String::new(), webp_srcset: String::new(),
        });
        ctx.embeds.insert("https://www.youtube.com/watch?v=dQw4w9WgXcQ".into(), EmbedMeta { title: caption.clone(), thumbnail: None });
        let one_line = |t: &str| t.replace(['\n', '\r'], " ");
        let source = format!(
            "{s}\n\nhttps://youtu.be/dQw4w9WgXcQ\n\n![{}](photo:1 \"{}\")\n\n![](photo:1)\n\ngallery:9\n\n{s}",
            one_line(&caption), one_line(&credit)
        );
        for format in [BodyFormat::Text, BodyFormat::Markdown, BodyFormat::Html] {
            let out = body::render(format, &source, &ctx);
            prop_assert_eq!(unsafe_block_markup(&out), None, "{:?} of {:?}: {}", format, source, out);
        }
    }

    #[test]
    fn markup_around_arbitrary_text_is_sanitized(
        s in any_text(),
        tag in "(script|img|a|iframe|svg|style|p|object|math)",
        attr in "(onerror|onclick|href|src|style|formaction)",
        scheme in "(javascript|JaVaScRiPt|data|vbscript| javascript|http)",
    ) {
        let dirty = format!("<{tag} {attr}=\"{scheme}:{s}\">{s}</{tag}>");
        for out in [html::sanitize(&dirty), html::markdown_to_html(&dirty), html::markdown_to_html(&format!("[x]({scheme}:{s})"))] {
            prop_assert_eq!(unsafe_markup(&out), None, "{}", out);
        }
        prop_assert!(!html::escape(&s).contains(['<', '>', '"', '\'']));
    }

    #[test]
    fn slugs_of_any_text_are_valid(s in any_text()) {
        let made = slug::slugify(&s);
        prop_assert!(made.is_empty() || slug::is_valid(&made), "{made:?}");
        let _ = slug::is_valid(&s);
        let _ = slug::encode_path(&s);
    }

    #[test]
    fn dates_of_any_text_never_panic(s in any_text()) {
        let _ = dates::parse_long(&s);
        let _ = s.parse::<Calendar>();
        let _ = s.parse::<Digits>();
        let ascii = calendar::digits_to_ascii(&s);
        prop_assert!(!ascii.chars().any(|c| calendar::digit_value(c).is_some() && !c.is_ascii_digit()));
        for d in [Digits::Latin, Digits::ArabicIndic, Digits::Persian] {
            prop_assert_eq!(calendar::digits_to_ascii(&d.apply(&ascii)), ascii.clone());
        }
    }

    #[test]
    fn long_dates_with_any_digits_and_numbers_parse_or_fail_cleanly(
        day in any::<i64>(), month in "[A-Za-z]{0,12}", year in any::<i64>(), hour in any::<i64>(), minute in any::<i64>(),
        digits in prop_oneof![Just(Digits::Latin), Just(Digits::ArabicIndic), Just(Digits::Persian)],
    ) {
        let text = digits.apply(&format!("{day} {month} {year} - {hour}:{minute}"));
        if let Ok(local) = dates::parse_long(&text) {
            prop_assert!(local.and_utc().timestamp() > i64::MIN);
        }
        let _ = saved_page::parse_date(&text);
    }

    #[test]
    fn calendar_conversions_take_any_numbers(year in any::<i32>(), month in any::<u32>(), day in any::<u32>()) {
        let _ = calendar::is_solar_hijri_leap_year(year);
        let _ = calendar::solar_hijri_month_length(year, month);
        let _ = calendar::hijri_month_length(year, month);
        let _ = calendar::is_hijri_leap_year(year);
        if let Some(g) = calendar::gregorian_from_solar_hijri(year, month, day) {
            prop_assert_eq!(calendar::solar_hijri_from_gregorian(g), Some(calendar::CalendarDate { year, month, day }));
        }
        if let Some(g) = calendar::gregorian_from_hijri(year, month, day) {
            prop_assert_eq!(calendar::hijri_from_gregorian(g), calendar::CalendarDate { year, month, day });
        }
        for cal in [Calendar::Gregorian, Calendar::SolarHijri, Calendar::Hijri] {
            for lang in ["en", "fa", "ar", "x-unknown", ""] {
                let _ = calendar::month_name(cal, lang, month);
            }
        }
    }

    #[test]
    fn every_representable_day_formats_in_every_calendar(
        secs in NaiveDate::MIN.and_hms_opt(0, 0, 0).map_or(0, |d: NaiveDateTime| d.and_utc().timestamp())
            ..NaiveDate::MAX.and_hms_opt(0, 0, 0).map_or(1, |d: NaiveDateTime| d.and_utc().timestamp()),
        lang in "(en|fa|ar|fa-IR|ar_EG|de|)",
    ) {
        let at = Utc.timestamp_opt(secs, 0).single().expect("in range");
        for cal in [Calendar::Gregorian, Calendar::SolarHijri, Calendar::Hijri] {
            let local = at.naive_utc();
            prop_assert!(!calendar::format_local(local, cal, &lang, Digits::for_lang(&lang)).is_empty());
        }
    }

    #[test]
    fn comment_checks_take_any_draft(d in draft(), blocklist in proptest::collection::vec(any_text(), 0..4), links in any::<bool>()) {
        let rules = CommentRules { blocklist, links_clickable: links, ..CommentRules::default() };
        if let Ok(ok) = comments::check(&rules, &d) {
            prop_assert!(ok.text.chars().count() <= rules.max_length);
            prop_assert!(!ok.name.trim().is_empty());
        }
        let _ = comments::normalize(&d.text);
        let _ = comments::duplicate_key(&d.text);
        let _ = comments::blocked_word(&rules.blocklist, &d.text);
        let _ = comments::count_links(&d.text);
        let html = comments::render(&d.text, links);
        prop_assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
    }
}

#[test]
fn the_markup_check_sees_what_it_looks_for() {
    assert_eq!(unsafe_markup("<p>a &lt;script&gt; <a href=\"https://x\" rel=\"noopener\">x</a></p>"), None);
    for bad in [
        "<script>x</script>",
        "<p onclick=\"x\">",
        "<a href=\" javascript:alert(1)\">",
        "<img src='data:text/html,x'>",
        "<p style=\"x\">",
        "<iframe>",
    ] {
        assert!(unsafe_markup(bad).is_some(), "{bad}");
    }
}
