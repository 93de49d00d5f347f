//! Calendars and digits of the editions: the Solar Hijri (Jalali) calendar of
//! Iran, the tabular Hijri calendar (islamic-civil) for Arabic editions that
//! want it, Gregorian dates with Arabic or Persian month names, and the
//! Persian and Arabic-Indic digits. `format_long` writes the story page's
//! `Publish Date:` line in any of them; English Gregorian output is exactly
//! the one of [`crate::dates::format_long`].
//!
//! The Solar Hijri conversion is the arithmetic algorithm of Borkowski as used
//! by jalaali-js: 33-year cycles between tabulated break years, which matches
//! the official calendar of Iran (based on the vernal equinox at Tehran) for
//! the years this product will ever show. It is checked against ICU4X's Persian
//! calendar (a 33-year rule with corrections) for every day of 1178–1501 AP
//! (1799–2123 CE); the two arithmetic approximations first part in 1502 AP.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use chrono_tz::Tz;

/// The calendar in which an edition shows dates to readers (machines always get ISO 8601).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Calendar {
    /// The proleptic Gregorian calendar.
    #[default]
    Gregorian,
    /// The Solar Hijri (Jalali, Persian) calendar, official in Iran and Afghanistan.
    SolarHijri,
    /// The tabular Hijri (lunar) calendar, "islamic-civil": Friday epoch, leap years of type II.
    Hijri,
}

impl Calendar {
    /// The calendar readers of a language expect when the edition names none:
    /// Solar Hijri for Persian, Gregorian otherwise (Arabic editions choose Hijri explicitly).
    pub fn for_lang(lang: &str) -> Calendar {
        match Lang::of(lang) {
            Lang::Persian => Calendar::SolarHijri,
            Lang::English | Lang::Arabic => Calendar::Gregorian,
        }
    }

    /// The stored and configured form: `gregorian`, `solar_hijri` or `hijri`.
    pub fn as_str(self) -> &'static str {
        match self {
            Calendar::Gregorian => "gregorian",
            Calendar::SolarHijri => "solar_hijri",
            Calendar::Hijri => "hijri",
        }
    }
}

impl fmt::Display for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A calendar or digit style name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not one of the calendar names.
    #[error("unknown calendar `{0}`: expected gregorian, solar_hijri or hijri")]
    UnknownCalendar(String),
    /// Not one of the digit style names.
    #[error("unknown digits `{0}`: expected latin, arabic or persian")]
    UnknownDigits(String),
}

impl FromStr for Calendar {
    type Err = CalendarError;

    /// Reads `gregorian`, `solar_hijri` (also `solar-hijri`, `persian`, `jalali`)
    /// or `hijri` (also `islamic-civil`), in any letter case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "gregorian" => Ok(Calendar::Gregorian),
            "solar_hijri" | "persian" | "jalali" => Ok(Calendar::SolarHijri),
            "hijri" | "islamic_civil" | "islamic" => Ok(Calendar::Hijri),
            _ => Err(CalendarError::UnknownCalendar(s.to_string())),
        }
    }
}

/// The digits in which numbers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Digits {
    /// 0123456789
    #[default]
    Latin,
    /// Arabic-Indic digits ٠١٢٣٤٥٦٧٨٩ (U+0660–U+0669), used in Arabic.
    ArabicIndic,
    /// Extended Arabic-Indic digits ۰۱۲۳۴۵۶۷۸۹ (U+06F0–U+06F9), used in Persian and Urdu.
    Persian,
}

impl Digits {
    /// The usual digits of a language (`fa` → Persian, `ar` → Arabic-Indic, others Latin).
    pub fn for_lang(lang: &str) -> Digits {
        match Lang::of(lang) {
            Lang::Persian => Digits::Persian,
            Lang::Arabic => Digits::ArabicIndic,
            Lang::English => Digits::Latin,
        }
    }

    /// The digit zero of this style; the other nine follow it in Unicode.
    fn zero(self) -> char {
        match self {
            Digits::Latin => '0',
            Digits::ArabicIndic => '\u{0660}',
            Digits::Persian => '\u{06F0}',
        }
    }

    /// Rewrites every ASCII digit of `text` in this style; other characters are kept.
    pub fn apply(self, text: &str) -> String {
        if self == Digits::Latin {
            return text.to_string();
        }
        let zero = self.zero() as u32;
        text.chars()
            .map(|c| match c.to_digit(10) {
                Some(d) if c.is_ascii_digit() => char::from_u32(zero + d).unwrap_or(c),
                _ => c,
            })
            .collect()
    }
}

impl FromStr for Digits {
    type Err = CalendarError;

    /// Reads `latin`, `arabic` (also `arabic_indic`) or `persian` (also `extended_arabic_indic`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "latin" | "ascii" => Ok(Digits::Latin),
            "arabic" | "arabic_indic" => Ok(Digits::ArabicIndic),
            "persian" | "extended_arabic_indic" => Ok(Digits::Persian),
            _ => Err(CalendarError::UnknownDigits(s.to_string())),
        }
    }
}

/// Writes the ASCII digits of `text` as Persian digits (۰–۹).
pub fn to_persian_digits(text: &str) -> String {
    Digits::Persian.apply(text)
}

/// Writes the ASCII digits of `text` as Arabic-Indic digits (٠–٩).
pub fn to_arabic_indic_digits(text: &str) -> String {
    Digits::ArabicIndic.apply(text)
}

/// The value of a decimal digit in Latin, Arabic-Indic or Persian script.
pub fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '\u{0660}'..='\u{0669}' => Some(c as u32 - 0x0660),
        '\u{06F0}'..='\u{06F9}' => Some(c as u32 - 0x06F0),
        _ => None,
    }
}

/// Rewrites Arabic-Indic and Persian digits of `text` as ASCII digits (for parsing and search).
pub fn digits_to_ascii(text: &str) -> String {
    text.chars()
        .map(|c| match digit_value(c) {
            Some(d) => char::from_digit(d, 10).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// The languages whose month names we know; anything else is shown in English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    English,
    Persian,
    Arabic,
}

impl Lang {
    /// By the primary subtag of a BCP 47 code: `fa`, `fa-IR` → Persian; `ar`, `ar-EG` → Arabic.
    fn of(lang: &str) -> Lang {
        let primary = lang.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "fa" | "prs" | "pes" => Lang::Persian,
            "ar" => Lang::Arabic,
            _ => Lang::English,
        }
    }
}

const GREGORIAN_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const GREGORIAN_AR: [&str; 12] =
    ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"];
const GREGORIAN_FA: [&str; 12] =
    ["ژانویه", "فوریه", "مارس", "آوریل", "مه", "ژوئن", "ژوئیه", "اوت", "سپتامبر", "اکتبر", "نوامبر", "دسامبر"];
/// The Solar Hijri months in Persian (also written so in Arabic).
pub const SOLAR_HIJRI_MONTHS_FA: [&str; 12] =
    ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"];
const SOLAR_HIJRI_EN: [&str; 12] = [
    "Farvardin",
    "Ordibehesht",
    "Khordad",
    "Tir",
    "Mordad",
    "Shahrivar",
    "Mehr",
    "Aban",
    "Azar",
    "Dey",
    "Bahman",
    "Esfand",
];
/// The Hijri months in Arabic.
pub const HIJRI_MONTHS_AR: [&str; 12] = [
    "محرم",
    "صفر",
    "ربيع الأول",
    "ربيع الآخر",
    "جمادى الأولى",
    "جمادى الآخرة",
    "رجب",
    "شعبان",
    "رمضان",
    "شوال",
    "ذو القعدة",
    "ذو الحجة",
];
const HIJRI_FA: [&str; 12] = [
    "محرم",
    "صفر",
    "ربیع‌الاول",
    "ربیع‌الثانی",
    "جمادی‌الاول",
    "جمادی‌الثانی",
    "رجب",
    "شعبان",
    "رمضان",
    "شوال",
    "ذی‌القعده",
    "ذی‌الحجه",
];
const HIJRI_EN: [&str; 12] = [
    "Muharram",
    "Safar",
    "Rabi al-Awwal",
    "Rabi al-Thani",
    "Jumada al-Ula",
    "Jumada al-Akhirah",
    "Rajab",
    "Shaban",
    "Ramadan",
    "Shawwal",
    "Dhu al-Qadah",
    "Dhu al-Hijjah",
];

/// The name of `month` (1–12) of `calendar` in `lang` (`en`, `fa`, `ar`; others get English).
/// Returns `None` for a month outside 1–12.
pub fn month_name(calendar: Calendar, lang: &str, month: u32) -> Option<&'static str> {
    let names = match (calendar, Lang::of(lang)) {
        (Calendar::Gregorian, Lang::English) => &GREGORIAN_EN,
        (Calendar::Gregorian, Lang::Arabic) => &GREGORIAN_AR,
        (Calendar::Gregorian, Lang::Persian) => &GREGORIAN_FA,
        (Calendar::SolarHijri, Lang::English) => &SOLAR_HIJRI_EN,
        (Calendar::SolarHijri, Lang::Persian | Lang::Arabic) => &SOLAR_HIJRI_MONTHS_FA,
        (Calendar::Hijri, Lang::English) => &HIJRI_EN,
        (Calendar::Hijri, Lang::Arabic) => &HIJRI_MONTHS_AR,
        (Calendar::Hijri, Lang::Persian) => &HIJRI_FA,
    };
    names.get(usize::try_from(month).ok()?.checked_sub(1)?).copied()
}

/// A day in a calendar other than the Gregorian: year, month 1–12, day 1–31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalendarDate {
    /// The year (Anno Persico for Solar Hijri, Anno Hegirae for Hijri).
    pub year: i32,
    /// The month, 1–12.
    pub month: u32,
    /// The day of the month, from 1.
    pub day: u32,
}

/// The first and last Solar Hijri years the conversion supports (about 560–3798 CE).
pub const SOLAR_HIJRI_YEARS: std::ops::RangeInclusive<i32> = -61..=3177;

/// Years (AP) at which the 33-year leap cycle is re-anchored (Borkowski; jalaali-js).
const BREAKS: [i32; 20] =
    [-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456, 3178];

/// What the leap-year arithmetic knows of a Solar Hijri year.
struct JalaliYear {
    /// Years since the last leap year; 0 means this year is a leap year.
    leap: i32,
    /// The Gregorian year in which this year begins.
    gy: i32,
    /// The day of March on which 1 Farvardin falls.
    march: i32,
}

/// The jalaali-js `jalCal`: leap status and the start day of Solar Hijri year `jy`.
/// Division and remainder truncate toward zero on purpose, exactly as the reference does.
fn jal_cal(jy: i32) -> Option<JalaliYear> {
    if !SOLAR_HIJRI_YEARS.contains(&jy) {
        return None;
    }
    let gy = jy + 621;
    let mut leap_j = -14;
    let mut jp = BREAKS[0];
    let mut jump = 0;
    for &jm in &BREAKS[1..] {
        jump = jm - jp;
        if jy < jm {
            break;
        }
        leap_j += jump / 33 * 8 + jump % 33 / 4;
        jp = jm;
    }
    let mut n = jy - jp;
    leap_j += n / 33 * 8 + (n % 33 + 3) / 4;
    if jump % 33 == 4 && jump - n == 4 {
        leap_j += 1;
    }
    let leap_g = gy / 4 - (gy / 100 + 1) * 3 / 4 - 150;
    let march = 20 + leap_j - leap_g;
    if jump - n < 6 {
        n = n - jump + (jump + 4) / 33 * 33;
    }
    let mut leap = ((n + 1) % 33 - 1) % 4;
    if leap == -1 {
        leap = 4;
    }
    Some(JalaliYear { leap, gy, march })
}

/// Whether Solar Hijri year `year` has 366 days (Esfand has 30 days); `None` outside [`SOLAR_HIJRI_YEARS`].
pub fn is_solar_hijri_leap_year(year: i32) -> Option<bool> {
    jal_cal(year).map(|y| y.leap == 0)
}

/// The number of days of `month` (1–12) in Solar Hijri `year`.
pub fn solar_hijri_month_length(year: i32, month: u32) -> Option<u32> {
    match month {
        1..=6 => Some(31),
        7..=11 => Some(30),
        12 => Some(if is_solar_hijri_leap_year(year)? { 30 } else { 29 }),
        _ => None,
    }
}

/// The Gregorian day of 1 Farvardin of `year`.
fn farvardin_first(year: &JalaliYear) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year.gy, 3, 1)?.checked_add_days(chrono::Days::new(u64::try_from(year.march - 1).ok()?))
}

/// The Gregorian day of a Solar Hijri date; `None` if the date does not exist or is out of range.
pub fn gregorian_from_solar_hijri(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    if day == 0 || day > solar_hijri_month_length(year, month)? {
        return None;
    }
    let first = farvardin_first(&jal_cal(year)?)?;
    // Months 1–6 have 31 days, months 7–11 have 30.
    let before_month = if month <= 7 { (month - 1) * 31 } else { 186 + (month - 7) * 30 };
    first.checked_add_days(chrono::Days::new(u64::from(before_month + day - 1)))
}

/// The Solar Hijri date of a Gregorian day; `None` outside [`SOLAR_HIJRI_YEARS`].
pub fn solar_hijri_from_gregorian(date: NaiveDate) -> Option<CalendarDate> {
    let mut jy = date.year() - 621;
    let mut info = jal_cal(jy)?;
    let mut first = farvardin_first(&info)?;
    if date < first {
        jy -= 1;
        info = jal_cal(jy)?;
        first = farvardin_first(&info)?;
    }
    let k = u32::try_from((date - first).num_days()).ok()?;
    let (month, day) = if k < 186 { (1 + k / 31, 1 + k % 31) } else { (7 + (k - 186) / 30, 1 + (k - 186) % 30) };
    Some(CalendarDate { year: jy, month, day })
}

/// Rata die (days from 0001-01-01 = 1, proleptic Gregorian) of 1 Muharram 1 AH in the
/// civil reckoning: Friday 16 July 622 Julian, 19 July 622 proleptic Gregorian.
const HIJRI_EPOCH_RD: i64 = 227_015;

/// Whether tabular Hijri `year` has 355 days (Dhu al-Hijjah has 30 days): years 2, 5, 7, 10,
/// 13, 16, 18, 21, 24, 26 and 29 of each 30-year cycle.
pub fn is_hijri_leap_year(year: i32) -> bool {
    (14 + 11 * i64::from(year)).rem_euclid(30) < 11
}

/// The number of days of `month` (1–12) in tabular Hijri `year`: odd months 30, even 29,
/// Dhu al-Hijjah 30 in leap years.
pub fn hijri_month_length(year: i32, month: u32) -> Option<u32> {
    match month {
        12 if is_hijri_leap_year(year) => Some(30),
        1..=12 => Some(if month % 2 == 1 { 30 } else { 29 }),
        _ => None,
    }
}

/// Rata die of a tabular Hijri date (Calendrical Calculations, `fixed-from-islamic`).
fn hijri_rd(year: i32, month: u32, day: u32) -> i64 {
    let (y, m, d) = (i64::from(year), i64::from(month), i64::from(day));
    HIJRI_EPOCH_RD - 1 + (y - 1) * 354 + (3 + 11 * y).div_euclid(30) + 29 * (m - 1) + m / 2 + d
}

/// The Gregorian day of a tabular Hijri date; `None` if the date does not exist.
pub fn gregorian_from_hijri(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    if day == 0 || day > hijri_month_length(year, month)? {
        return None;
    }
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(hijri_rd(year, month, day)).ok()?)
}

/// The tabular Hijri (islamic-civil) date of a Gregorian day.
pub fn hijri_from_gregorian(date: NaiveDate) -> CalendarDate {
    let rd = i64::from(date.num_days_from_ce());
    let year = (30 * (rd - HIJRI_EPOCH_RD) + 10_646).div_euclid(10_631);
    // The year estimate is exact for the tabular calendar, but the month and day are
    // found by walking the (at most 12) month starts, which leaves no room for rounding.
    let year = i32::try_from(year).unwrap_or(if year < 0 { i32::MIN / 32 } else { i32::MAX / 32 });
    let mut month = 12;
    while month > 1 && hijri_rd(year, month, 1) > rd {
        month -= 1;
    }
    let day = u32::try_from(rd - hijri_rd(year, month, 1) + 1).unwrap_or(1);
    CalendarDate { year, month, day }
}

/// A local wall-clock time in `calendar`: (year, month, day), or `None` where the
/// calendar does not reach (Solar Hijri outside [`SOLAR_HIJRI_YEARS`]).
fn date_in(calendar: Calendar, local: NaiveDate) -> Option<CalendarDate> {
    match calendar {
        Calendar::Gregorian => Some(CalendarDate { year: local.year(), month: local.month(), day: local.day() }),
        Calendar::SolarHijri => solar_hijri_from_gregorian(local),
        Calendar::Hijri => Some(hijri_from_gregorian(local)),
    }
}

/// The day part, `24 آبان 1402`, before digits are applied; falls back to the
/// Gregorian calendar where the chosen one does not reach.
fn day_text(local: NaiveDate, calendar: Calendar, lang: &str) -> String {
    let (calendar, date) = match date_in(calendar, local) {
        Some(date) => (calendar, date),
        None => (Calendar::Gregorian, CalendarDate { year: local.year(), month: local.month(), day: local.day() }),
    };
    let month = month_name(calendar, lang, date.month).unwrap_or_default();
    format!("{} {} {}", date.day, month, date.year)
}

/// Formats a local time as the story page does, `24 آبان 1402 - 14:37` in
/// `calendar` with month names of `lang`, then writes its digits in `digits`.
pub fn format_local(local: NaiveDateTime, calendar: Calendar, lang: &str, digits: Digits) -> String {
    let text = format!("{} - {:02}:{:02}", day_text(local.date(), calendar, lang), local.hour(), local.minute());
    digits.apply(&text)
}

/// Formats `at` in `tz` for an edition: `۲۴ آبان ۱۴۰۲ - ۱۴:۳۷` for Persian and the
/// Solar Hijri calendar, `١٥ نوفمبر ٢٠٢٣ - ١٤:٣٧` for Arabic and the Gregorian one,
/// `15 November 2023 - 14:37` for English. Digits follow the language ([`Digits::for_lang`]).
pub fn format_long(at: DateTime<Utc>, tz: Tz, calendar: Calendar, lang: &str) -> String {
    format_local(at.with_timezone(&tz).naive_local(), calendar, lang, Digits::for_lang(lang))
}

/// Formats the local calendar day of `at` in `tz` for an edition: `۲۴ آبان ۱۴۰۲`.
pub fn format_day(at: DateTime<Utc>, tz: Tz, calendar: Calendar, lang: &str) -> String {
    let local = at.with_timezone(&tz).date_naive();
    Digits::for_lang(lang).apply(&day_text(local, calendar, lang))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates;
    use icu_calendar::Date;
    use icu_calendar::cal::hijri::{TabularAlgorithmEpoch, TabularAlgorithmLeapYears};
    use icu_calendar::cal::{Hijri, Persian};
    use proptest::prelude::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn sh(year: i32, month: u32, day: u32) -> CalendarDate {
        CalendarDate { year, month, day }
    }

    fn seed_time() -> DateTime<Utc> {
        let local = dates::parse_long("15 November 2023 - 14:37").expect("seed date");
        dates::local_to_utc(local, chrono_tz::Asia::Tehran).expect("seed time exists")
    }

    /// icu_calendar's Persian calendar, a second implementation to check ours against.
    fn icu_persian(date: NaiveDate) -> CalendarDate {
        let iso = Date::try_new_iso(date.year(), date.month() as u8, date.day() as u8).expect("iso date");
        let p = iso.to_calendar(Persian);
        sh(p.year().extended_year(), u32::from(p.month().ordinal), u32::from(p.day_of_month().0))
    }

    fn icu_civil() -> Hijri<icu_calendar::cal::hijri::TabularAlgorithm> {
        Hijri::new_tabular(TabularAlgorithmLeapYears::TypeII, TabularAlgorithmEpoch::Friday)
    }

    fn icu_hijri(date: NaiveDate) -> CalendarDate {
        let iso = Date::try_new_iso(date.year(), date.month() as u8, date.day() as u8).expect("iso date");
        let h = iso.to_calendar(icu_civil());
        sh(h.year().extended_year(), u32::from(h.month().ordinal), u32::from(h.day_of_month().0))
    }

    #[test]
    fn nowruz_fixed_points() {
        assert_eq!(gregorian_from_solar_hijri(1403, 1, 1), Some(ymd(2024, 3, 20)));
        assert_eq!(gregorian_from_solar_hijri(1404, 1, 1), Some(ymd(2025, 3, 21)));
        assert_eq!(gregorian_from_solar_hijri(1402, 1, 1), Some(ymd(2023, 3, 21)));
        assert_eq!(gregorian_from_solar_hijri(1300, 1, 1), Some(ymd(1921, 3, 21)));
        assert_eq!(solar_hijri_from_gregorian(ymd(2024, 3, 20)), Some(sh(1403, 1, 1)));
        assert_eq!(solar_hijri_from_gregorian(ymd(2024, 3, 19)), Some(sh(1402, 12, 29)));
        assert_eq!(solar_hijri_from_gregorian(ymd(2025, 3, 20)), Some(sh(1403, 12, 30)));
        assert_eq!(solar_hijri_from_gregorian(ymd(2025, 3, 21)), Some(sh(1404, 1, 1)));
        // The Islamic Revolution's anniversary, 22 Bahman 1357.
        assert_eq!(solar_hijri_from_gregorian(ymd(1979, 2, 11)), Some(sh(1357, 11, 22)));
    }

    #[test]
    fn leap_years() {
        for leap in [1399, 1403, 1408, 1375, 1379, 1383, 1387, 1391, 1395, 1412] {
            assert_eq!(is_solar_hijri_leap_year(leap), Some(true), "{leap}");
            assert!(gregorian_from_solar_hijri(leap, 12, 30).is_some(), "{leap}");
        }
        for common in [1400, 1401, 1402, 1404, 1405, 1406, 1407, 1409] {
            assert_eq!(is_solar_hijri_leap_year(common), Some(false), "{common}");
            assert_eq!(gregorian_from_solar_hijri(common, 12, 30), None, "{common}");
        }
    }

    #[test]
    fn impossible_and_out_of_range_dates_are_none() {
        assert_eq!(gregorian_from_solar_hijri(1402, 0, 1), None);
        assert_eq!(gregorian_from_solar_hijri(1402, 13, 1), None);
        assert_eq!(gregorian_from_solar_hijri(1402, 7, 31), None);
        assert_eq!(gregorian_from_solar_hijri(1402, 1, 0), None);
        assert_eq!(gregorian_from_solar_hijri(3178, 1, 1), None);
        assert_eq!(solar_hijri_from_gregorian(ymd(4000, 1, 1)), None);
        assert_eq!(gregorian_from_hijri(1445, 2, 30), None);
        assert_eq!(gregorian_from_hijri(1445, 13, 1), None);
    }

    #[test]
    fn hijri_fixed_points() {
        // Epoch: 1 Muharram 1 AH, Friday 16 July 622 Julian.
        assert_eq!(gregorian_from_hijri(1, 1, 1), Some(ymd(622, 7, 19)));
        assert_eq!(hijri_from_gregorian(ymd(622, 7, 19)), sh(1, 1, 1));
        assert_eq!(hijri_from_gregorian(ymd(622, 7, 18)), sh(0, 12, 29));
        assert_eq!(gregorian_from_hijri(1445, 1, 1), Some(ymd(2023, 7, 19)));
        // The tabular calendar runs a day ahead of Umm al-Qura here (1 Jumada al-Ula).
        assert_eq!(hijri_from_gregorian(ymd(2023, 11, 15)), sh(1445, 5, 2));
        assert!(is_hijri_leap_year(1445) && !is_hijri_leap_year(1444));
    }

    #[test]
    fn seed_time_in_each_edition_style() {
        let at = seed_time();
        let tz = chrono_tz::Asia::Tehran;
        assert_eq!(format_long(at, tz, Calendar::SolarHijri, "fa"), "۲۴ آبان ۱۴۰۲ - ۱۴:۳۷");
        assert_eq!(format_long(at, tz, Calendar::Gregorian, "en"), "15 November 2023 - 14:37");
        assert_eq!(format_long(at, tz, Calendar::Gregorian, "ar"), "١٥ نوفمبر ٢٠٢٣ - ١٤:٣٧");
        assert_eq!(format_long(at, tz, Calendar::Hijri, "ar"), "٢ جمادى الأولى ١٤٤٥ - ١٤:٣٧");
        assert_eq!(format_long(at, tz, Calendar::SolarHijri, "en"), "24 Aban 1402 - 14:37");
        assert_eq!(format_long(at, tz, Calendar::Gregorian, "fa-IR"), "۱۵ نوامبر ۲۰۲۳ - ۱۴:۳۷");
        assert_eq!(format_day(at, tz, Calendar::SolarHijri, "fa"), "۲۴ آبان ۱۴۰۲");
        assert_eq!(
            format_local(at.with_timezone(&tz).naive_local(), Calendar::SolarHijri, "fa", Digits::Latin),
            "24 آبان 1402 - 14:37"
        );
    }

    #[test]
    fn month_names() {
        assert_eq!(month_name(Calendar::SolarHijri, "fa", 1), Some("فروردین"));
        assert_eq!(month_name(Calendar::SolarHijri, "fa", 12), Some("اسفند"));
        assert_eq!(month_name(Calendar::Gregorian, "ar", 1), Some("يناير"));
        assert_eq!(month_name(Calendar::Hijri, "ar", 9), Some("رمضان"));
        assert_eq!(month_name(Calendar::Gregorian, "en", 0), None);
        assert_eq!(month_name(Calendar::Gregorian, "en", 13), None);
    }

    #[test]
    fn digits() {
        assert_eq!(to_persian_digits("1402-08-24 14:37"), "۱۴۰۲-۰۸-۲۴ ۱۴:۳۷");
        assert_eq!(to_arabic_indic_digits("2023"), "٢٠٢٣");
        assert_eq!(digits_to_ascii("۱۴۰۲ و ٢٠٢٣ and 42"), "1402 و 2023 and 42");
        assert_eq!(Digits::for_lang("fa"), Digits::Persian);
        assert_eq!(Digits::for_lang("ar-EG"), Digits::ArabicIndic);
        assert_eq!(Digits::for_lang("en"), Digits::Latin);
        assert_eq!("persian".parse::<Digits>(), Ok(Digits::Persian));
        assert!("roman".parse::<Digits>().is_err());
    }

    #[test]
    fn calendar_names_parse() {
        for c in [Calendar::Gregorian, Calendar::SolarHijri, Calendar::Hijri] {
            assert_eq!(c.as_str().parse::<Calendar>(), Ok(c));
        }
        assert_eq!("Jalali".parse::<Calendar>(), Ok(Calendar::SolarHijri));
        assert_eq!(Calendar::for_lang("fa"), Calendar::SolarHijri);
        assert_eq!(Calendar::for_lang("ar"), Calendar::Gregorian);
        assert_eq!(Calendar::for_lang("en"), Calendar::Gregorian);
        assert_eq!("islamic-civil".parse::<Calendar>(), Ok(Calendar::Hijri));
        let err = "julian".parse::<Calendar>().expect_err("unknown");
        assert!(err.to_string().contains("julian"));
    }

    /// Days from 1 Farvardin 1178 to 29 Esfand 1501 (1799–2123 CE). Beyond them, ICU's
    /// 33-year rule with corrections and Borkowski's break years disagree about single
    /// leap years (1176, 1502, 1601, ...), so ICU cannot serve as the reference there.
    fn wide_day() -> impl Strategy<Value = NaiveDate> {
        let lo = ymd(1799, 3, 21).num_days_from_ce();
        let hi = ymd(2123, 3, 20).num_days_from_ce();
        (lo..=hi).prop_map(|rd| NaiveDate::from_num_days_from_ce_opt(rd).expect("in range"))
    }

    #[test]
    fn agrees_with_icu_on_every_day_1799_to_2123() {
        let mut day = ymd(1799, 3, 21);
        while day <= ymd(2123, 3, 20) {
            let ours = solar_hijri_from_gregorian(day).expect("in range");
            assert_eq!(ours, icu_persian(day), "{day}");
            assert_eq!(gregorian_from_solar_hijri(ours.year, ours.month, ours.day), Some(day));
            assert_eq!(hijri_from_gregorian(day), icu_hijri(day), "{day}");
            day = day.succ_opt().expect("next day");
        }
    }

    proptest! {
        #[test]
        fn solar_hijri_matches_icu_and_round_trips(day in wide_day()) {
            let ours = solar_hijri_from_gregorian(day).expect("in range");
            prop_assert_eq!(ours, icu_persian(day));
            prop_assert_eq!(gregorian_from_solar_hijri(ours.year, ours.month, ours.day), Some(day));
        }

        #[test]
        fn solar_hijri_dates_round_trip(year in -61i32..3177, month in 1u32..=12, day in 1u32..=31) {
            match gregorian_from_solar_hijri(year, month, day) {
                Some(g) => prop_assert_eq!(solar_hijri_from_gregorian(g), Some(sh(year, month, day))),
                None => prop_assert!(day > solar_hijri_month_length(year, month).expect("month")),
            }
        }

        #[test]
        fn solar_hijri_years_have_365_or_366_days(year in -61i32..3177) {
            let start = gregorian_from_solar_hijri(year, 1, 1).expect("start");
            let next = gregorian_from_solar_hijri(year + 1, 1, 1).expect("next start");
            let leap = is_solar_hijri_leap_year(year).expect("in range");
            prop_assert_eq!((next - start).num_days(), if leap { 366 } else { 365 });
        }

        #[test]
        fn hijri_matches_icu_and_round_trips(rd in 227_015i32..1_200_000) {
            let day = NaiveDate::from_num_days_from_ce_opt(rd).expect("in range");
            let ours = hijri_from_gregorian(day);
            prop_assert_eq!(ours, icu_hijri(day));
            prop_assert_eq!(gregorian_from_hijri(ours.year, ours.month, ours.day), Some(day));
        }

        #[test]
        fn hijri_dates_round_trip(year in 1i32..3000, month in 1u32..=12, day in 1u32..=30) {
            match gregorian_from_hijri(year, month, day) {
                Some(g) => prop_assert_eq!(hijri_from_gregorian(g), sh(year, month, day)),
                None => prop_assert!(day > hijri_month_length(year, month).expect("month")),
            }
        }

        #[test]
        fn english_gregorian_output_is_unchanged(secs in 0i64..8_000_000_000) {
            let at = dates::from_unix(secs);
            for tz in [chrono_tz::Asia::Tehran, chrono_tz::UTC, chrono_tz::America::New_York] {
                prop_assert_eq!(format_long(at, tz, Calendar::Gregorian, "en"), dates::format_long(at, tz));
            }
        }

        #[test]
        fn persian_format_reads_back(secs in 0i64..4_000_000_000) {
            let at = dates::from_unix(secs);
            let tz = chrono_tz::Asia::Tehran;
            let text = digits_to_ascii(&format_long(at, tz, Calendar::SolarHijri, "fa"));
            let (day_part, time) = text.split_once(" - ").expect("separator");
            let parts: Vec<&str> = day_part.split(' ').collect();
            prop_assert_eq!(parts.len(), 3);
            let month = SOLAR_HIJRI_MONTHS_FA.iter().position(|m| *m == parts[1]).expect("month name") as u32 + 1;
            let g = gregorian_from_solar_hijri(parts[2].parse().expect("year"), month, parts[0].parse().expect("day"));
            let local = at.with_timezone(&tz).naive_local();
            prop_assert_eq!(g, Some(local.date()));
            prop_assert_eq!(time, local.format("%H:%M").to_string());
        }

        #[test]
        fn digits_round_trip(s in "\\PC*") {
            let ascii = digits_to_ascii(&s);
            prop_assert_eq!(digits_to_ascii(&to_persian_digits(&ascii)), ascii.clone());
            prop_assert_eq!(digits_to_ascii(&to_arabic_indic_digits(&ascii)), ascii.clone());
            prop_assert!(!to_persian_digits(&ascii).chars().any(|c| c.is_ascii_digit()));
        }
    }
}
