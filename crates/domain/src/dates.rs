//! Dates as the agency shows them: `15 November 2023 - 14:37` in the
//! edition's time zone, and ISO 8601 with offset for machines.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

const MONTHS: [&str; 12] = [
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

/// Why a date could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The text does not have the `d Month yyyy - HH:MM` shape.
    #[error("expected a date like `15 November 2023 - 14:37`, found `{0}`")]
    Shape(String),
    /// The shape is right but the date or time does not exist.
    #[error("`{0}` is not a real date and time")]
    Invalid(String),
    /// The local time falls into a daylight-saving gap of the time zone.
    #[error("`{0}` does not exist in time zone {1}")]
    Gap(String, String),
}

/// Formats a time in the agency's style, `15 November 2023 - 14:37`, in `tz`.
pub fn format_long(at: DateTime<Utc>, tz: Tz) -> String {
    let local = at.with_timezone(&tz);
    format_naive_long(local.naive_local())
}

/// Formats a local time in the agency's style.
pub fn format_naive_long(local: NaiveDateTime) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{} {} {} - {:02}:{:02}",
        local.day(),
        MONTHS[local.month0() as usize],
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// Formats the local calendar day of `at` in `tz` as `15 November 2023`.
pub fn format_day(at: DateTime<Utc>, tz: Tz) -> String {
    use chrono::Datelike;
    let local = at.with_timezone(&tz);
    format!("{} {} {}", local.day(), MONTHS[local.month0() as usize], local.year())
}

/// Formats only the local hour and minute, `14:37`.
pub fn format_time(at: DateTime<Utc>, tz: Tz) -> String {
    use chrono::Timelike;
    let local = at.with_timezone(&tz);
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// ISO 8601 with the zone's offset, to the second: `2023-11-15T14:37:00+03:30`
/// (chrono's `%Y-%m-%dT%H:%M:%S%:z`, without parsing that pattern at each
/// call: a page writes several).
pub fn iso8601(at: DateTime<Utc>, tz: Tz) -> String {
    use chrono::{Datelike, Offset, Timelike};
    let local = at.with_timezone(&tz);
    let offset = local.offset().fix().local_minus_utc();
    let (sign, offset) = if offset < 0 { ('-', -offset) } else { ('+', offset) };
    // In whole minutes, rounded as chrono's `%:z` does (+03:25:44 is +03:26).
    let minutes = (offset + 30) / 60;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        minutes / 60,
        minutes % 60
    )
}

/// Reads `15 November 2023 - 14:37`; also the seed's `15November 2023 - 14:37`
/// (no space after the day) and three-letter month names.
pub fn parse_long(text: &str) -> Result<NaiveDateTime, DateError> {
    let shape = || DateError::Shape(text.to_string());
    let (date_part, time_part) = text.split_once(" - ").ok_or_else(shape)?;
    let date_part = date_part.trim();
    let digits = date_part.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 2 {
        return Err(shape());
    }
    let day: u32 = date_part[..digits].parse().map_err(|_| shape())?;
    let mut rest = date_part[digits..].split_whitespace();
    let month_name = rest.next().ok_or_else(shape)?;
    let year_text = rest.next().ok_or_else(shape)?;
    if rest.next().is_some() || year_text.len() != 4 {
        return Err(shape());
    }
    let year: i32 = year_text.parse().map_err(|_| shape())?;
    let month = month_number(month_name).ok_or_else(shape)?;
    let (h, m) = time_part.trim().split_once(':').ok_or_else(shape)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(shape());
    }
    let hour: u32 = h.parse().map_err(|_| shape())?;
    let minute: u32 = m.parse().map_err(|_| shape())?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| DateError::Invalid(text.to_string()))?;
    let time = NaiveTime::from_hms_opt(hour, minute, 0).ok_or_else(|| DateError::Invalid(text.to_string()))?;
    Ok(NaiveDateTime::new(date, time))
}

fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| {
            let m = m.to_ascii_lowercase();
            m == lower || (lower.len() == 3 && m.starts_with(&lower))
        })
        .map(|i| i as u32 + 1)
}

/// Turns a wall-clock time in `tz` into UTC. An ambiguous time (clocks set back)
/// takes the earlier instant; a time in a gap (clocks set forward) is an error.
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, DateError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, _) => Ok(a.with_timezone(&Utc)),
        LocalResult::None => Err(DateError::Gap(format_naive_long(local), tz.name().to_string())),
    }
}

/// Converts stored unix seconds to a UTC time (out-of-range values clamp to the epoch).
pub fn from_unix(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_seed_date_without_space() {
        let t = parse_long("15November 2023 - 14:37").expect("seed date");
        assert_eq!(format_naive_long(t), "15 November 2023 - 14:37");
    }

    #[test]
    fn seed_time_in_tehran_has_plus_0330_offset() {
        let t = parse_long("15 November 2023 - 14:37").expect("date");
        let utc = local_to_utc(t, chrono_tz::Asia::Tehran).expect("tz");
        assert_eq!(iso8601(utc, chrono_tz::Asia::Tehran), "2023-11-15T14:37:00+03:30");
        assert_eq!(format_long(utc, chrono_tz::Asia::Tehran), "15 November 2023 - 14:37");
    }

    #[test]
    fn iso8601_and_time_write_what_chronos_patterns_write() {
        // Zones east and west of UTC, half hours, summer time, and offsets
        // with seconds (Tehran's local mean time before 1946: +03:25:44).
        let zones = [
            chrono_tz::Asia::Tehran,
            chrono_tz::America::St_Johns,
            chrono_tz::America::New_York,
            chrono_tz::Asia::Kathmandu,
            chrono_tz::Pacific::Marquesas,
            chrono_tz::UTC,
        ];
        let mut seconds = -2_208_988_800_i64; // 1900-01-01
        while seconds < 4_102_444_800 {
            let at = DateTime::from_timestamp(seconds, 0).expect("in range");
            for tz in zones {
                let local = at.with_timezone(&tz);
                assert_eq!(iso8601(at, tz), local.format("%Y-%m-%dT%H:%M:%S%:z").to_string(), "{at} in {tz}");
                assert_eq!(format_time(at, tz), local.format("%H:%M").to_string(), "{at} in {tz}");
            }
            seconds += 7_777_777; // about three months, never the same second of the minute
        }
    }

    #[test]
    fn rejects_bad_shapes_and_impossible_dates() {
        for bad in [
            "",
            "15 November 2023",
            "November 15 2023 - 14:37",
            "15 Novembr 2023 - 14:37",
            "15 November 23 - 14:37",
            "15 November 2023 - 1437",
        ] {
            assert!(matches!(parse_long(bad), Err(DateError::Shape(_))), "{bad}");
        }
        assert!(matches!(parse_long("31 February 2023 - 10:00"), Err(DateError::Invalid(_))));
        assert!(matches!(parse_long("1 March 2023 - 24:00"), Err(DateError::Invalid(_))));
    }

    #[test]
    fn gap_times_are_refused() {
        let t = parse_long("26 March 2023 - 02:30").expect("date");
        assert!(local_to_utc(t, chrono_tz::Europe::Berlin).is_err());
    }

    proptest! {
        #[test]
        fn long_format_roundtrips(secs in 0i64..4_000_000_000) {
            let at = from_unix(secs - secs % 60);
            let text = format_long(at, chrono_tz::Asia::Tehran);
            let back = parse_long(&text).expect("own format parses");
            let utc = local_to_utc(back, chrono_tz::Asia::Tehran).expect("no gap in own output");
            // Ambiguous local times map to the earlier instant; otherwise exact.
            prop_assert!(utc <= at && at - utc <= chrono::Duration::hours(1));
        }

        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = parse_long(&s);
        }
    }
}
