//! What a subscriber may take from the wire, in one place for ninjs and
//! NewsML-G2 pulls (lists and items) and webhook deliveries: its own editions
//! and sections, its product ([`Product`]: editions, sections, IPTC Media
//! Topics with their narrower topics, urgency 1 up to the product's minimum,
//! IPTC genres) and, for a scheduled story released to the wire, whether it
//! takes embargoed copy. A subscriber without a product takes everything its
//! editions and sections allow.
//!
//! Also the checks of a product's filters as people type them (back office
//! and command line): unknown editions, sections, Media Topics or genres are
//! refused by name.

use newsdesk_domain::{Story, StoryStatus, agency, mediatopic};
use newsdesk_storage::{Product, ProductFilters, Store, StoreError, Subscriber};

/// A subscriber with its product: the one judge of what it may take.
#[derive(Debug, Clone)]
pub struct Access {
    /// The subscriber.
    pub subscriber: Subscriber,
    /// Its product, if it has one.
    pub product: Option<Product>,
}

impl Access {
    /// The access of `subscriber` (reads its product).
    pub async fn of(store: &Store, subscriber: Subscriber) -> Result<Access, StoreError> {
        let product = match subscriber.product_id {
            Some(id) => store.product(id).await?,
            None => None,
        };
        Ok(Access { subscriber, product })
    }

    /// Whether the subscriber may take `story` (of edition `lang`, in the
    /// section at `section_path`). A scheduled story is only ever on the wire
    /// when it is released, and only for subscribers that take embargoed
    /// copy: callers pass scheduled stories only when they are released.
    pub fn allows(&self, story: &Story, lang: &str, section_path: &str) -> bool {
        if story.status == StoryStatus::Scheduled && !self.subscriber.embargo {
            return false;
        }
        self.subscriber.allows(lang, section_path)
            && self.product.as_ref().is_none_or(|p| product_allows(&p.filters, story, lang, section_path))
    }
}

/// Whether `path` is `prefix` or one of its subsections.
fn in_section(path: &str, prefix: &str) -> bool {
    path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
}

/// Whether the Media Topic `code` is `wanted` or narrower than it.
fn topic_within(code: &str, wanted: &str) -> bool {
    let mut next = Some(mediatopic::normalize(code));
    let mut depth = 0;
    while let Some(q) = next {
        if q == wanted {
            return true;
        }
        depth += 1;
        if depth > 16 {
            return false;
        }
        next = mediatopic::get(&q).and_then(|t| t.parent.clone());
    }
    false
}

/// Whether a product's filters let `story` through. Each filter that is set
/// must match: its edition, its section (or a parent), one of its Media Topics
/// (or a broader one), its urgency at most the minimum, one of its genres.
pub fn product_allows(f: &ProductFilters, story: &Story, lang: &str, section_path: &str) -> bool {
    let a = &story.agency;
    (f.editions.is_empty() || f.editions.iter().any(|e| e == lang))
        && (f.sections.is_empty() || f.sections.iter().any(|p| in_section(section_path, p)))
        && f.min_urgency.is_none_or(|u| a.urgency <= u)
        && (f.genres.is_empty() || a.genres.iter().any(|g| f.genres.contains(g)))
        && (f.subjects.is_empty() || a.subjects.iter().any(|s| f.subjects.iter().any(|w| topic_within(s, w))))
}

/// A product's filters as people type them: codes separated by commas or spaces.
#[derive(Debug, Clone, Default)]
pub struct FiltersInput {
    /// Edition languages.
    pub editions: String,
    /// Section paths.
    pub sections: String,
    /// Media Topic qcodes (`medtop:04000000`, the bare number or the URI).
    pub subjects: String,
    /// 1 to 8, or empty for any.
    pub min_urgency: String,
    /// Genre qcodes, codes or names.
    pub genres: String,
}

fn items(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', ' ', '\n', '\r', '\t']).map(str::trim).filter(|x| !x.is_empty())
}

/// Checks typed filters against the site (editions, sections) and the IPTC
/// vocabularies; returns them in their stored form (qcodes) or every problem,
/// as `(field, message)`.
pub async fn check_filters(
    store: &Store,
    input: &FiltersInput,
) -> Result<Result<ProductFilters, Vec<(&'static str, String)>>, StoreError> {
    let mut errors = Vec::new();
    let mut out = ProductFilters::default();
    let editions = store.editions().await?;
    for lang in items(&input.editions) {
        if editions.iter().any(|e| e.lang == lang) {
            push_unique(&mut out.editions, lang.to_string());
        } else {
            let known: Vec<&str> = editions.iter().map(|e| e.lang.as_str()).collect();
            errors.push(("editions", format!("There is no edition “{lang}” (editions: {}).", known.join(", "))));
        }
    }
    let mut paths = Vec::new();
    for e in &editions {
        paths.extend(store.sections(e.id).await?.into_iter().map(|s| s.path));
    }
    for path in items(&input.sections) {
        let path = path.trim_matches('/');
        if paths.iter().any(|p| p == path) {
            push_unique(&mut out.sections, path.to_string());
        } else {
            errors.push(("sections", format!("There is no section “{path}”.")));
        }
    }
    for code in items(&input.subjects) {
        match mediatopic::choose(code) {
            Ok(t) => push_unique(&mut out.subjects, t.qcode.clone()),
            Err(m) => errors.push(("subjects", m)),
        }
    }
    for g in items(&input.genres) {
        match agency::genre(g) {
            Some(g) => push_unique(&mut out.genres, g.qcode.clone()),
            None => errors.push((
                "genres",
                format!(
                    "“{g}” is not an IPTC genre; use one of {}.",
                    agency::genres().iter().map(|g| g.qcode.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
    let u = input.min_urgency.trim();
    if !u.is_empty() {
        match u.parse::<i64>() {
            Ok(n) if agency::urgency_is_valid(n) => out.min_urgency = Some(n),
            _ => errors.push((
                "min_urgency",
                format!(
                    "The minimum urgency must be a whole number from {} (most urgent) to {}, found “{u}”.",
                    agency::MOST_URGENT,
                    agency::LEAST_URGENT
                ),
            )),
        }
    }
    Ok(if errors.is_empty() { Ok(out) } else { Err(errors) })
}

fn push_unique(list: &mut Vec<String>, v: String) {
    if !list.contains(&v) {
        list.push(v);
    }
}

/// A product's filters in words, for lists (`any` for an empty one).
pub fn describe(f: &ProductFilters) -> String {
    let list = |v: &[String]| if v.is_empty() { "any".to_string() } else { v.join(", ") };
    format!(
        "editions: {}; sections: {}; subjects: {}; urgency: {}; genres: {}",
        list(&f.editions),
        list(&f.sections),
        list(&f.subjects),
        f.min_urgency.map_or("any".to_string(), |u| format!("1–{u}")),
        list(&f.genres)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broader_topic_takes_its_narrower_ones() {
        // 04000000 is economy, business and finance.
        let narrower = mediatopic::all()
            .iter()
            .find(|t| t.parent.as_deref() == Some("medtop:04000000"))
            .expect("a narrower topic of economy");
        assert!(topic_within(&narrower.qcode, "medtop:04000000"));
        assert!(topic_within("medtop:04000000", "medtop:04000000"));
        assert!(!topic_within("medtop:04000000", &narrower.qcode), "not the other way round");
        assert!(!topic_within("medtop:15000000", "medtop:04000000"));
    }

    #[test]
    fn sections_include_their_subsections_only() {
        assert!(in_section("iran/defense", "iran"));
        assert!(in_section("iran", "iran"));
        assert!(!in_section("iranian", "iran"));
    }
}
