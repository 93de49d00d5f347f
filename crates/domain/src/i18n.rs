//! Message catalogs: the words of the reader site ("News ID", "Publish Date",
//! "most visited", navigation, errors, ...) per language, read from one TOML
//! file per language (`key = "text"`, `{name}` placeholders). English is the
//! reference: every other catalog may only use its keys and its placeholders,
//! and a key a catalog lacks is shown in English.

use std::collections::{BTreeMap, BTreeSet};

/// A catalog that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum I18nError {
    /// Not TOML of the expected shape.
    #[error("message catalog `{lang}`: {message}")]
    Syntax {
        /// The catalog's language.
        lang: String,
        /// What is wrong.
        message: String,
    },
    /// A key English does not have (a typo, or a message removed from the reference).
    #[error("message catalog `{lang}`: unknown key `{key}` (not in the English catalog)")]
    UnknownKey {
        /// The catalog's language.
        lang: String,
        /// The key.
        key: String,
    },
    /// A placeholder the English message does not have.
    #[error("message catalog `{lang}`: `{key}` uses placeholders {found:?}, English has {expected:?}")]
    Placeholders {
        /// The catalog's language.
        lang: String,
        /// The key.
        key: String,
        /// The English placeholders.
        expected: Vec<String>,
        /// This catalog's placeholders.
        found: Vec<String>,
    },
    /// No English catalog was given.
    #[error("message catalogs: the English (`en`) catalog is required")]
    NoEnglish,
}

/// One language's messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    messages: BTreeMap<String, String>,
}

impl Catalog {
    /// Reads a catalog: a TOML table of strings (nested tables join their keys with `.`).
    pub fn parse(lang: &str, source: &str) -> Result<Catalog, I18nError> {
        let table: toml::Table = source
            .parse()
            .map_err(|e: toml::de::Error| I18nError::Syntax { lang: lang.into(), message: e.to_string() })?;
        let mut messages = BTreeMap::new();
        flatten(lang, "", &table, &mut messages)?;
        Ok(Catalog { messages })
    }

    /// The message for `key`, if this catalog has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.messages.get(key).map(String::as_str)
    }

    /// The keys of this catalog.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether the catalog has no messages.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

fn flatten(lang: &str, prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, String>) -> Result<(), I18nError> {
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => flatten(lang, &key, t, out)?,
            _ => {
                return Err(I18nError::Syntax { lang: lang.into(), message: format!("`{key}` must be a string") });
            }
        }
    }
    Ok(())
}

/// The `{name}` placeholders of a message, sorted.
pub fn placeholders(message: &str) -> Vec<String> {
    let mut found = BTreeSet::new();
    let mut rest = message;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if after[..end].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && end > 0 => {
                found.insert(after[..end].to_string());
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    found.into_iter().collect()
}

/// Replaces each `{name}` of `message` with its value in `args` (unknown ones are left as they are).
pub fn fill(message: &str, args: &[(&str, &str)]) -> String {
    let mut out = message.to_string();
    for (name, value) in args {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The catalogs of every language, checked against English.
#[derive(Debug, Clone, Default)]
pub struct Catalogs {
    by_lang: BTreeMap<String, Catalog>,
}

impl Catalogs {
    /// Reads and checks `(lang, TOML source)` pairs; `en` must be among them.
    pub fn load(sources: &[(&str, &str)]) -> Result<Catalogs, I18nError> {
        let mut by_lang = BTreeMap::new();
        for (lang, source) in sources {
            by_lang.insert(lang.to_string(), Catalog::parse(lang, source)?);
        }
        let en = by_lang.get("en").ok_or(I18nError::NoEnglish)?;
        for (lang, catalog) in &by_lang {
            for (key, message) in &catalog.messages {
                let Some(reference) = en.get(key) else {
                    return Err(I18nError::UnknownKey { lang: lang.clone(), key: key.clone() });
                };
                let (expected, found) = (placeholders(reference), placeholders(message));
                if expected != found {
                    return Err(I18nError::Placeholders { lang: lang.clone(), key: key.clone(), expected, found });
                }
            }
        }
        Ok(Catalogs { by_lang })
    }

    /// The catalog of `lang` (by its primary subtag: `fa-IR` uses `fa`), if there is one.
    pub fn catalog(&self, lang: &str) -> Option<&Catalog> {
        self.by_lang.get(lang).or_else(|| self.by_lang.get(primary(lang)))
    }

    /// The message `key` in `lang`, else in English, else the key itself (so a
    /// missing message shows up on the page instead of breaking it).
    pub fn text<'a>(&'a self, lang: &str, key: &'a str) -> &'a str {
        self.catalog(lang)
            .and_then(|c| c.get(key))
            .or_else(|| self.by_lang.get("en").and_then(|c| c.get(key)))
            .unwrap_or(key)
    }

    /// [`Catalogs::text`] with its `{name}` placeholders filled.
    pub fn format(&self, lang: &str, key: &str, args: &[(&str, &str)]) -> String {
        fill(self.text(lang, key), args)
    }

    /// The keys English has and `lang` lacks (shown in English on that edition's pages).
    pub fn missing(&self, lang: &str) -> Vec<&str> {
        let Some(en) = self.by_lang.get("en") else { return Vec::new() };
        let catalog = self.catalog(lang);
        en.keys().filter(|k| catalog.is_none_or(|c| c.get(k).is_none())).collect()
    }

    /// The languages that have a catalog.
    pub fn languages(&self) -> impl Iterator<Item = &str> {
        self.by_lang.keys().map(String::as_str)
    }
}

fn primary(lang: &str) -> &str {
    lang.split(['-', '_']).next().unwrap_or(lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EN: &str = "news_id = \"News ID\"\ncomments = \"Comments ({n})\"\n[nav]\nhome = \"Home\"\n";

    #[test]
    fn falls_back_to_english_then_to_the_key() {
        let c = Catalogs::load(&[("en", EN), ("fa", "news_id = \"کد خبر\"\n")]).expect("loads");
        assert_eq!(c.text("fa", "news_id"), "کد خبر");
        assert_eq!(c.text("fa-IR", "news_id"), "کد خبر");
        assert_eq!(c.text("fa", "nav.home"), "Home");
        assert_eq!(c.text("de", "nav.home"), "Home");
        assert_eq!(c.text("fa", "nope"), "nope");
        assert_eq!(c.format("en", "comments", &[("n", "3")]), "Comments (3)");
        assert_eq!(c.missing("fa"), vec!["comments", "nav.home"]);
    }

    #[test]
    fn refuses_unknown_keys_placeholders_and_shapes() {
        let e = Catalogs::load(&[("en", EN), ("fa", "newsid = \"x\"\n")]).expect_err("typo");
        assert!(e.to_string().contains("unknown key `newsid`"), "{e}");
        let e = Catalogs::load(&[("en", EN), ("fa", "comments = \"نظرها ({count})\"\n")]).expect_err("placeholder");
        assert!(e.to_string().contains("placeholders"), "{e}");
        let e = Catalogs::load(&[("en", "a = 1\n")]).expect_err("not a string");
        assert!(e.to_string().contains("`a` must be a string"), "{e}");
        assert_eq!(Catalogs::load(&[("fa", EN)]).expect_err("no en"), I18nError::NoEnglish);
    }

    #[test]
    fn placeholders_are_found() {
        assert_eq!(placeholders("{n} of {total}, {n} {not a name}"), vec!["n", "total"]);
        assert_eq!(fill("{a}-{b}", &[("a", "1")]), "1-{b}");
    }
}
