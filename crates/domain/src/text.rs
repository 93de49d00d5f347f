//! Which characters stored text may hold. Headlines, leads, bodies, notes,
//! captions and names end up in RSS, Atom, sitemaps and NewsML-G2, and XML 1.0
//! cannot carry most control characters: one vertical tab (U+000B) pasted into a
//! headline made every feed listing it unreadable. So text is refused with a
//! control character other than line feed and tab (a carriage return is
//! normalised to a line feed first) when people type it, stripped when it comes
//! from files written elsewhere, and [`xml_safe`] is applied by the XML writers
//! in case older rows still hold one.

use std::borrow::Cow;

/// Whether `c` may not be stored in text: a control character (C0, DEL, C1)
/// other than line feed and tab, or one of the noncharacters U+FFFE and U+FFFF
/// (which XML cannot carry either). A carriage return counts: normalise line
/// ends with [`normalize_newlines`] first.
pub fn is_forbidden(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// `s` with CRLF and lone CR line ends turned into LF (browsers send text areas with CRLF).
pub fn normalize_newlines(s: &str) -> Cow<'_, str> {
    if s.contains('\r') { Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n")) } else { Cow::Borrowed(s) }
}

/// Why `value` may not be stored as the field people call `label`
/// (`headline`, `correction note`): the first forbidden character, named by its
/// code point and position. `None` when the text is fine.
pub fn check(label: &str, value: &str) -> Option<String> {
    let (at, c) = value.chars().enumerate().find(|(_, c)| is_forbidden(*c))?;
    let what =
        if c == '\0' { "a NUL character".to_string() } else { format!("a control character (U+{:04X})", c as u32) };
    Some(format!("The {label} contains {what} at character {}; remove it.", at + 1))
}

/// `s` with line ends normalised and every forbidden character removed: for
/// text read from files written by other systems, where refusing the whole
/// story for an invisible character would help nobody.
pub fn strip_forbidden(s: &str) -> Cow<'_, str> {
    let s = normalize_newlines(s);
    if s.chars().any(is_forbidden) { Cow::Owned(s.chars().filter(|c| !is_forbidden(*c)).collect()) } else { s }
}

/// Whether XML 1.0 can carry `c` (its `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` without the characters XML 1.0 cannot carry, for the writers of feeds,
/// sitemaps and wire items (applied to the whole document they write).
pub fn xml_safe(s: &str) -> Cow<'_, str> {
    if s.chars().all(is_xml_char) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().filter(|c| is_xml_char(*c)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_named_with_their_field() {
        assert_eq!(check("headline", "Rain in Tehran"), None);
        assert_eq!(check("body", "Line one\nline\ttwo"), None);
        assert_eq!(check("headline", "فارسی و عربي"), None);
        assert_eq!(
            check("headline", "Rain\u{b}in Tehran").as_deref(),
            Some("The headline contains a control character (U+000B) at character 5; remove it.")
        );
        assert_eq!(
            check("lead", "a\0b").as_deref(),
            Some("The lead contains a NUL character at character 2; remove it.")
        );
        assert!(check("body", "a\u{85}b").is_some(), "C1 controls too");
        assert!(check("body", "a\u{FFFF}").is_some());
        assert!(check("body", "a\rb").is_some(), "normalise line ends first");
        assert_eq!(check("body", &normalize_newlines("a\r\nb\rc")), None);
    }

    #[test]
    fn imports_lose_control_characters_and_keep_line_ends() {
        assert_eq!(normalize_newlines("a\r\nb\rc\n"), "a\nb\nc\n");
        assert_eq!(strip_forbidden("Rain\u{b} in\u{1} Tehran\r\nnext\tline"), "Rain in Tehran\nnext\tline");
        assert!(matches!(strip_forbidden("clean text"), Cow::Borrowed(_)));
    }

    #[test]
    fn xml_safe_drops_only_what_xml_cannot_carry() {
        assert_eq!(xml_safe("<t>a\u{b}b\u{1f}c\u{FFFE}</t>"), "<t>abc</t>");
        assert_eq!(xml_safe("tab\tcr\rlf\n\u{85}ok 😀"), "tab\tcr\rlf\n\u{85}ok 😀");
        assert!(matches!(xml_safe("plain"), Cow::Borrowed(_)));
    }
}
