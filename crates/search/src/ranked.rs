//! How a reader's search collects its matches, in one pass over them: the
//! ones published by now (an embargoed story is not found before its time),
//! how many, and the best page of them by relevance — BM25 times a
//! freshness boost.
//!
//! One pass reads each match's publish time once; tantivy's pieces for the
//! same (a range query on the publish time, a filter, a counter and a score
//! tweak) read it twice or scan the whole column, and a common word matches
//! hundreds of thousands of stories.

use tantivy::collector::{Collector, SegmentCollector, TopNComputer};
use tantivy::columnar::ColumnValues;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// A story published now scores this much more (×1.5); the boost halves every [`FRESH_HALF_LIFE_DAYS`].
const FRESH_BOOST: f32 = 0.5;
/// Days after which the freshness boost has halved.
const FRESH_HALF_LIFE_DAYS: f32 = 30.0;

/// Collects matches published by `now`: their number and one page of the
/// best (score, address), best first.
pub(crate) struct Ranked {
    now: i64,
    limit: usize,
    offset: usize,
}

impl Ranked {
    /// `limit` matches after the `offset` best, as of `now`.
    pub(crate) fn new(now: chrono::DateTime<chrono::Utc>, limit: usize, offset: usize) -> Ranked {
        Ranked { now: now.timestamp(), limit, offset }
    }
}

type Fruit = (usize, Vec<(Score, DocAddress)>);

impl Collector for Ranked {
    type Fruit = Fruit;
    type Child = RankedSegment;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<RankedSegment> {
        // A story without a publish time is never found (it reads as "not yet").
        let published = reader.fast_fields().i64("published")?.first_or_default_col(i64::MAX);
        Ok(RankedSegment {
            segment,
            published,
            now: self.now,
            count: 0,
            top: TopNComputer::new(self.limit + self.offset),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Fruit>) -> tantivy::Result<Fruit> {
        let mut total = 0;
        let mut top: TopNComputer<Score, DocAddress> = TopNComputer::new(self.limit + self.offset);
        for (count, docs) in fruits {
            total += count;
            for (score, doc) in docs {
                top.push(score, doc);
            }
        }
        let best = top.into_sorted_vec().into_iter().skip(self.offset).map(|d| (d.feature, d.doc)).collect();
        Ok((total, best))
    }
}

/// [`Ranked`] in one segment.
pub(crate) struct RankedSegment {
    segment: SegmentOrdinal,
    published: std::sync::Arc<dyn ColumnValues<i64>>,
    now: i64,
    count: usize,
    top: TopNComputer<Score, DocId>,
}

impl SegmentCollector for RankedSegment {
    type Fruit = Fruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        let at = self.published.get_val(doc);
        if at > self.now {
            return;
        }
        self.count += 1;
        self.top.push(score * freshness(self.now - at), doc);
    }

    fn harvest(self) -> Fruit {
        let segment = self.segment;
        let best =
            self.top.into_sorted_vec().into_iter().map(|d| (d.feature, DocAddress::new(segment, d.doc))).collect();
        (self.count, best)
    }
}

/// The freshness factor for a story `age_secs` old: 1 + [`FRESH_BOOST`], halving every [`FRESH_HALF_LIFE_DAYS`].
/// Read from a table by the hour (linear between hours: within 1e-7 of the
/// formula): the formula's `exp2` was a tenth of the time of a search that
/// matched 400,000 stories.
fn freshness(age_secs: i64) -> f32 {
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
