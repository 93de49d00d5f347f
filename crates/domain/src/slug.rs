//! URL slugs. Letters of every script are kept (a Persian headline gives a
//! Persian slug, percent-encoded on the wire), never transliterated.

/// Longest slug we make, in characters.
pub const MAX_SLUG_CHARS: usize = 80;

/// Makes a slug: lowercase letters and digits of any script, words joined by
/// `-`, apostrophes dropped ("Iran’s" → "irans"), at most [`MAX_SLUG_CHARS`]
/// characters cut at a word boundary. Empty input gives `"story"`.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    let mut pending_dash = false;
    for ch in text.chars() {
        if matches!(ch, '\'' | '’' | '‘' | '`') {
            continue;
        }
        if ch.is_alphanumeric() || is_joining_mark(ch) {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            // Lowercasing may add a combining mark ("İ" → "i̇"): keep only letters and digits.
            out.extend(ch.to_lowercase().filter(|c| c.is_alphanumeric() || is_joining_mark(*c)));
        } else {
            pending_dash = true;
        }
    }
    if out.chars().count() > MAX_SLUG_CHARS {
        let cut: String = out.chars().take(MAX_SLUG_CHARS).collect();
        out = match cut.rfind('-') {
            Some(i) if i > 0 => cut[..i].to_string(),
            _ => cut,
        };
    }
    if out.is_empty() { "story".to_string() } else { out }
}

/// Zero-width non-joiner inside Persian words is part of the word.
fn is_joining_mark(ch: char) -> bool {
    ch == '\u{200C}'
}

/// Whether `s` is a slug that [`slugify`] could have made (used to validate input).
pub fn is_valid(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= MAX_SLUG_CHARS
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.chars()
            .all(|c| c == '-' || is_joining_mark(c) || (c.is_alphanumeric() && c.to_lowercase().eq(std::iter::once(c))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn seed_headline_slug() {
        assert_eq!(
            slugify("Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports Booming"),
            "defense-ministry-iran-gaining-access-to-modern-military-technologies-as-exports"
        );
        assert_eq!(slugify("Iran’s defense"), "irans-defense");
    }

    #[test]
    fn persian_letters_are_kept() {
        assert_eq!(slugify("سلام دنیا"), "سلام-دنیا");
        assert_eq!(slugify("می‌روم به خانه"), "می\u{200C}روم-به-خانه", "the ZWNJ stays inside the word");
        assert_eq!(slugify("قمة اقتصادية في طهران"), "قمة-اقتصادية-في-طهران");
        assert_eq!(slugify("İstanbul"), "istanbul");
    }

    proptest! {
        #[test]
        fn slugs_are_valid_and_stable(s in "\\PC{0,200}") {
            let slug = slugify(&s);
            prop_assert!(is_valid(&slug), "{slug:?}");
            prop_assert_eq!(slugify(&slug), slug.clone());
        }
    }
}

/// A URL path (slugs joined with `/`) with everything but unreserved ASCII
/// and `/` percent-encoded, as URIs must be (`/section/ایران` →
/// `/section/%D8%A7%DB%8C%D8%B1%D8%A7%D9%86`).
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod encode_tests {
    #[test]
    fn paths_are_percent_encoded_outside_ascii() {
        assert_eq!(super::encode_path("iran/defense"), "iran/defense");
        assert_eq!(super::encode_path("ایران"), "%D8%A7%DB%8C%D8%B1%D8%A7%D9%86");
        assert_eq!(super::encode_path("a b?"), "a%20b%3F");
    }
}
