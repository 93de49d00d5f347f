//! How a reader's search finds its matches: the ones published in the
//! reader's edition by now (an embargoed story is not found before its time),
//! how many, and the best page of them by relevance — BM25 times a freshness
//! boost.
//!
//! The query holds the words alone. Whether a match is in the reader's scope
//! is a bit per story ([`EditionDocs`], read once per segment from the fast
//! field [`READERS_EDITION`]), its publish time a fast field read only when
//! an embargo, a date filter or the boost needs it. As clauses of the query,
//! "edition is en" and "is published" were two more posting lists holding
//! nearly every story, intersected with each match: a word in 400,000 of
//! 1,000,000 stories took 20 ms, 7 ms now.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use tantivy::columnar::ColumnValues;
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Query, Weight};
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentReader, Term};

/// A story published now scores this much more (×1.5); the boost halves every [`FRESH_HALF_LIFE_DAYS`].
const FRESH_BOOST: f32 = 0.5;
/// Days after which the freshness boost has halved.
const FRESH_HALF_LIFE_DAYS: f32 = 30.0;
/// The fast field holding the edition (language code) of a published story;
/// a story in any other state has none. Set by the index, read here.
pub(crate) const READERS_EDITION: &str = "readers_edition";

/// What a search admits besides its words.
pub(crate) struct Scope<'a> {
    /// The reader's edition (language code).
    pub edition: &'a str,
    /// Now, in Unix seconds: later publish times are embargoed.
    pub now: i64,
    /// Published at or after (Unix seconds).
    pub from: Option<i64>,
    /// Published before (Unix seconds).
    pub to: Option<i64>,
    /// The section's facet term (its subsections are indexed under it too).
    pub section: Option<Term>,
}

/// Which stories of a segment readers of an edition may find (the
/// published ones), read once from [`READERS_EDITION`] per segment and
/// edition: a segment's documents never change (its deletes are read apart,
/// at each search). Searches then test a bit per match instead of reading
/// two columns.
#[derive(Default)]
pub(crate) struct EditionDocs {
    built: std::sync::Mutex<HashMap<(SegmentId, String), Arc<Published>>>,
}

/// The published stories of one edition in one segment.
struct Published {
    /// A bit per document.
    docs: Box<[u64]>,
    /// The latest publish time among them: when a search admits it, the
    /// search need not read any of their times to check them.
    latest: i64,
}

impl Published {
    fn contains(&self, doc: DocId) -> bool {
        self.docs.get(doc as usize / 64).is_some_and(|word| word >> (doc % 64) & 1 == 1)
    }
}

impl EditionDocs {
    /// The published stories of `edition` in `reader`'s segment; `None` when it has none.
    fn of(&self, reader: &SegmentReader, edition: &str) -> tantivy::Result<Option<Arc<Published>>> {
        let key = (reader.segment_id(), edition.to_string());
        if let Some(found) = lock(&self.built).get(&key) {
            return Ok(Some(found.clone()));
        }
        let Some(editions) = reader.fast_fields().str(READERS_EDITION)? else { return Ok(None) };
        let Some(ord) = editions.dictionary().term_ord(edition.as_bytes())? else { return Ok(None) };
        let editions = editions.ords().clone().first_or_default_col(u64::MAX);
        let times = published_column(reader)?;
        let mut docs = vec![0u64; (reader.max_doc() as usize).div_ceil(64)].into_boxed_slice();
        let mut latest = i64::MIN;
        for doc in 0..reader.max_doc() {
            if editions.get_val(doc) == ord {
                docs[doc as usize / 64] |= 1 << (doc % 64);
                latest = latest.max(times.get_val(doc));
            }
        }
        let built = Arc::new(Published { docs, latest });
        lock(&self.built).insert(key, built.clone());
        Ok(Some(built))
    }

    /// Forgets the segments `searcher` does not hold (merged into others).
    fn keep_only(&self, searcher: &Searcher) {
        let live: Vec<SegmentId> = searcher.segment_readers().iter().map(SegmentReader::segment_id).collect();
        lock(&self.built).retain(|(segment, _), _| live.contains(segment));
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A segment's publish times; a story without one reads as "not yet" (never found).
fn published_column(reader: &SegmentReader) -> tantivy::Result<Arc<dyn ColumnValues<i64>>> {
    Ok(reader.fast_fields().i64("published")?.first_or_default_col(i64::MAX))
}

/// The number of `text`'s matches in `scope` and the `limit` best after the
/// `offset` best, best first (equal scores: the earlier address first).
///
/// One pass that scores every match (a count needs every match anyway). A
/// match whose BM25 times the largest boost cannot beat the page's last is
/// counted without reading its publish time or computing its boost (they
/// were a fifth of the time). tantivy's block-max WAND, which skips scoring,
/// made it slower: counting first was a second walk of the posting lists
/// (`minister`, 416,000 of 1,000,000 stories: 9.4 ms in two passes, 6.8 ms
/// in this one).
pub(crate) fn search(
    searcher: &Searcher,
    editions: &EditionDocs,
    text: &dyn Query,
    scope: &Scope,
    limit: usize,
    offset: usize,
) -> tantivy::Result<(usize, Vec<(Score, DocAddress)>)> {
    let weight = text.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let section = match &scope.section {
        Some(term) => Some(
            tantivy::query::TermQuery::new(term.clone(), tantivy::schema::IndexRecordOption::Basic)
                .weight(EnableScoring::disabled_from_searcher(searcher))?,
        ),
        None => None,
    };
    let mut total = 0;
    let mut best = Best::new(limit + offset);
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        let Some(published) = editions.of(reader, scope.edition)? else { continue };
        let segment = ord as u32;
        let mut admit = Admit::new(reader, &published, scope, section.as_deref())?;
        weight.for_each(reader, &mut |doc, score| {
            let may_enter = score > best.bar();
            if let Some(at) = admit.admits(doc, may_enter) {
                total += 1;
                if may_enter {
                    best.push(score * freshness(scope.now - at), DocAddress::new(segment, doc));
                }
            }
        })?;
    }
    editions.keep_only(searcher);
    Ok((total, best.into_sorted().into_iter().skip(offset).collect()))
}

/// Decides, match by match in increasing order, whether one segment's story
/// is in the scope, and when it was published.
struct Admit<'a> {
    edition: &'a Published,
    alive: Option<&'a tantivy::fastfield::AliveBitSet>,
    published: Arc<dyn ColumnValues<i64>>,
    /// Whether each match's publish time must be compared (a story of the
    /// segment is embargoed, or a date filter); else it is read only for a
    /// boost.
    check_time: bool,
    /// Earliest and latest publish time admitted.
    earliest: i64,
    latest: i64,
    section: Option<Box<dyn tantivy::query::Scorer>>,
}

impl<'a> Admit<'a> {
    fn new(
        reader: &'a SegmentReader,
        edition: &'a Published,
        scope: &Scope,
        section: Option<&dyn Weight>,
    ) -> tantivy::Result<Self> {
        let section = match section {
            Some(weight) => Some(weight.scorer(reader, 1.0)?),
            None => None,
        };
        let earliest = scope.from.unwrap_or(i64::MIN);
        let latest = scope.to.map_or(scope.now, |to| to.saturating_sub(1).min(scope.now));
        Ok(Admit {
            edition,
            alive: reader.alive_bitset(),
            published: published_column(reader)?,
            check_time: earliest > i64::MIN || edition.latest > latest,
            earliest,
            latest,
            section,
        })
    }

    /// `Some` if `doc` is in the scope: with its publish time, or with
    /// `i64::MIN` when that was not read (`with_time` false and no check
    /// needed it). Called with increasing `doc`s.
    fn admits(&mut self, doc: DocId, with_time: bool) -> Option<i64> {
        if !self.edition.contains(doc) || self.alive.is_some_and(|alive| alive.is_deleted(doc)) {
            return None;
        }
        let at = if self.check_time || with_time {
            let at = self.published.get_val(doc);
            if at < self.earliest || at > self.latest {
                return None;
            }
            at
        } else {
            i64::MIN
        };
        if let Some(section) = &mut self.section {
            if section.doc() < doc {
                section.seek(doc);
            }
            if section.doc() != doc {
                return None;
            }
        }
        Some(at)
    }
}

/// The `n` best (score, address) seen so far.
struct Best {
    n: usize,
    /// The worst of the best on top.
    heap: BinaryHeap<Worst>,
}

/// Orders (score, address) worst first: lower score, then later address.
#[derive(Clone, Copy)]
struct Worst(Score, DocAddress);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        // The max-heap's top is the worst: the lowest score, the latest address.
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl Best {
    fn new(n: usize) -> Best {
        Best { n, heap: BinaryHeap::with_capacity(n + 1) }
    }

    fn push(&mut self, score: Score, doc: DocAddress) {
        let candidate = Worst(score, doc);
        if self.heap.len() < self.n {
            self.heap.push(candidate);
        } else if let Some(mut worst) = self.heap.peek_mut()
            && candidate < *worst
        {
            *worst = candidate;
        }
    }

    /// The BM25 a match needs to enter: below it, even the largest boost
    /// cannot lift it past the page's last. Shaved by a millionth so that
    /// rounding in the product never drops a match that would enter.
    fn bar(&self) -> Score {
        if self.heap.len() < self.n {
            return Score::MIN;
        }
        self.heap.peek().map_or(Score::MIN, |w| w.0 / (1.0 + FRESH_BOOST) * (1.0 - 1e-6))
    }

    /// Best first.
    fn into_sorted(self) -> Vec<(Score, DocAddress)> {
        self.heap.into_sorted_vec().into_iter().map(|w| (w.0, w.1)).collect()
    }
}

/// The freshness factor for a story `age_secs` old: 1 + [`FRESH_BOOST`], halving every [`FRESH_HALF_LIFE_DAYS`].
/// Read from a table by the hour (linear between hours: within 1e-7 of the
/// formula): the formula's `exp2` was a tenth of the time of a search that
/// matched 400,000 stories.
pub(crate) fn freshness(age_secs: i64) -> f32 {
    let hours = age_secs.max(0) as f64 / 3600.0;
    let table = &*FRESHNESS_BY_HOUR;
    // Past the table the boost is below what an f32 near 1.0 can hold.
    if hours >= (table.len() - 1) as f64 {
        return 1.0;
    }
    let i = hours as usize;
    let frac = (hours - i as f64) as f32;
    table[i] + (table[i + 1] - table[i]) * frac
}

/// [`freshness`] by whole hour of age, for 24 half-lives (after which
/// 1 + boost rounds to 1.0 in an f32).
static FRESHNESS_BY_HOUR: std::sync::LazyLock<Box<[f32]>> = std::sync::LazyLock::new(|| {
    let hours = (24.0 * FRESH_HALF_LIFE_DAYS * 24.0) as usize;
    (0..=hours).map(|h| freshness_exact(h as f64 * 3600.0)).collect()
});

fn freshness_exact(age_secs: f64) -> f32 {
    let days = age_secs.max(0.0) / 86_400.0;
    (1.0 + f64::from(FRESH_BOOST) * 0.5f64.powf(days / f64::from(FRESH_HALF_LIFE_DAYS))) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_halves_with_age() {
        assert!((freshness(0) - 1.5).abs() < 1e-6);
        assert!((freshness(30 * 86_400) - 1.25).abs() < 1e-6);
        assert!((freshness(-100) - 1.5).abs() < 1e-6);
        assert!(freshness(3650 * 86_400) < 1.001);
        // The table gives the formula, between its hours too and at its end.
        for age in (0..800 * 86_400).step_by(7_919) {
            let (table, exact) = (freshness(age), freshness_exact(age as f64));
            assert!((table - exact).abs() < 2e-7, "{age}: {table} vs {exact}");
        }
        assert_eq!(freshness(i64::MAX), 1.0);
    }
}
