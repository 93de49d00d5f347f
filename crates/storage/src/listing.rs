//! Whole-edition listings for machines: the months that have stories and
//! each month's stories (sitemaps), tags in use, photo sizes (feed
//! enclosures).
//!
//! Every query here walks the index on `(edition_id, status, published_at,
//! news_id)` by range, so a month of a million-story site costs what the month
//! holds, not what the site holds. Months are computed in Rust (UTC) and
//! queried as ranges of unix seconds: no engine-specific date functions.

use crate::sql::placeholders;
use std::collections::HashMap;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::{NewsId, Tag, story_path};
use sqlx::Row;

use crate::{Cursor, Result, Store, StoreError};

/// A calendar month in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Year, e.g. 2023.
    pub year: i32,
    /// Month of the year, 1 to 12.
    pub month: u32,
}

impl Month {
    /// The month (UTC) that `t` falls in.
    pub fn of(t: DateTime<Utc>) -> Month {
        Month { year: t.year(), month: t.month() }
    }

    /// The month `year`-`month`, if `month` is 1 to 12 and the year is representable.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        let m = Month { year, month };
        ((1..=12).contains(&month) && Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single().is_some()).then_some(m)
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        if self.month == 12 { Month { year: self.year + 1, month: 1 } } else { Month { month: self.month + 1, ..self } }
    }

    /// First instant of the month (UTC).
    pub fn start(self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(self.year, self.month, 1, 0, 0, 0).single().unwrap_or_default()
    }

    /// `[start, end)` of the month, as unix seconds.
    pub fn range(self) -> (i64, i64) {
        (self.start().timestamp(), self.next().start().timestamp())
    }
}

/// A month that has published stories, and how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthCount {
    /// The month (UTC).
    pub month: Month,
    /// Published stories in it.
    pub stories: i64,
}

/// A published story as a sitemap lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitemapEntry {
    /// Public id.
    pub news_id: NewsId,
    /// URL slug.
    pub slug: String,
    /// First publish time (UTC).
    pub published_at: DateTime<Utc>,
    /// Last public update (UTC), if any.
    pub updated_at: Option<DateTime<Utc>>,
}

impl SitemapEntry {
    /// Canonical path of the story page.
    pub fn path(&self) -> String {
        story_path(self.news_id, &self.slug)
    }

    /// When the story last changed in public: its update if later than the publish, else the publish.
    pub fn modified(&self) -> DateTime<Utc> {
        self.updated_at.map_or(self.published_at, |u| u.max(self.published_at))
    }
}

const PUBLISHED_IN: &str = "edition_id = $1 AND status = 'published' AND published_at >= $2 AND published_at < $3";

impl Store {
    /// The months (UTC) with published stories in an edition, oldest first, with their counts.
    ///
    /// Two index lookups per month that has stories: the first publish at or
    /// after a point, then the count of that month's range.
    pub async fn published_months(&self, edition_id: i64) -> Result<Vec<MonthCount>> {
        let mut out = Vec::new();
        let mut from = i64::MIN;
        loop {
            let row = sqlx::query(
                "SELECT published_at FROM stories WHERE edition_id = $1 AND status = 'published' \
                 AND published_at >= $2 ORDER BY published_at LIMIT 1",
            )
            .bind(edition_id)
            .bind(from)
            .fetch_optional(self.pool())
            .await?;
            let Some(row) = row else { return Ok(out) };
            let first: i64 = row.try_get("published_at")?;
            let month = Month::of(from_unix(first));
            let (start, end) = month.range();
            if end <= start {
                return Err(StoreError::Invalid(format!("publish time {first} is out of range")));
            }
            let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM stories WHERE {PUBLISHED_IN}"))
                .bind(edition_id)
                .bind(start)
                .bind(end)
                .fetch_one(self.pool())
                .await?
                .try_get("n")?;
            out.push(MonthCount { month, stories: n });
            from = end;
        }
    }

    /// The position (publish time, News ID) of the `offset`-th (from 0) published
    /// story of `month`, oldest first: where a part of a split month sitemap starts.
    pub async fn month_key_at(&self, edition_id: i64, month: Month, offset: i64) -> Result<Option<Cursor>> {
        let (start, end) = month.range();
        let row = sqlx::query(&format!(
            "SELECT published_at, news_id FROM stories WHERE {PUBLISHED_IN} \
             ORDER BY published_at, news_id LIMIT 1 OFFSET $4"
        ))
        .bind(edition_id)
        .bind(start)
        .bind(end)
        .bind(offset)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok(Cursor { published_at: r.try_get("published_at")?, news_id: r.try_get("news_id")? })).transpose()
    }

    /// Published stories of `month`, oldest first, from `start` (inclusive) on, at most `limit`.
    pub async fn month_stories(
        &self,
        edition_id: i64,
        month: Month,
        start: Option<Cursor>,
        limit: i64,
    ) -> Result<Vec<SitemapEntry>> {
        let (from, to) = month.range();
        let start = start.unwrap_or(Cursor { published_at: from, news_id: i64::MIN });
        let rows = sqlx::query(&format!(
            "SELECT news_id, slug, published_at, updated_at FROM stories WHERE {PUBLISHED_IN} \
             AND (published_at > $4 OR (published_at = $4 AND news_id >= $5)) \
             ORDER BY published_at, news_id LIMIT $6"
        ))
        .bind(edition_id)
        .bind(from)
        .bind(to)
        .bind(start.published_at)
        .bind(start.news_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SitemapEntry {
                    news_id: r.try_get("news_id")?,
                    slug: r.try_get("slug")?,
                    published_at: from_unix(r.try_get("published_at")?),
                    updated_at: r.try_get::<Option<i64>, _>("updated_at")?.map(from_unix),
                })
            })
            .collect()
    }

    /// Tags of an edition that have at least one published story, by id, at most `limit`.
    pub async fn tags_in_use(&self, edition_id: i64, limit: i64) -> Result<Vec<Tag>> {
        let rows = sqlx::query(
            "SELECT t.id, t.slug, t.name FROM tags t WHERE t.edition_id = $1 AND EXISTS \
             (SELECT 1 FROM story_tags st JOIN stories s ON s.news_id = st.news_id \
              WHERE st.tag_id = t.id AND s.status = 'published') \
             ORDER BY t.id LIMIT $2",
        )
        .bind(edition_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(Tag { id: r.try_get("id")?, slug: r.try_get("slug")?, name: r.try_get("name")? }))
            .collect()
    }

    /// Size in bytes of each photo in `ids` that exists (feed enclosures need it).
    pub async fn photo_sizes(&self, ids: &[i64]) -> Result<HashMap<i64, i64>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!("SELECT id, size FROM photos WHERE id IN ({})", placeholders(1, ids.len()));
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("size")?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_roll_over_the_year() {
        let dec = Month::new(2023, 12).expect("month");
        assert_eq!(dec.next(), Month { year: 2024, month: 1 });
        let (a, b) = dec.range();
        assert_eq!(b - a, 31 * 86_400);
        assert_eq!(Month::of(from_unix(a)), dec);
        assert_eq!(Month::of(from_unix(b - 1)), dec);
        assert!(Month::new(2023, 13).is_none());
        assert!(Month::new(2023, 0).is_none());
    }

    async fn fixture(store: &Store) -> i64 {
        use newsdesk_domain::{BodyFormat, Direction, StoryStatus};

        use crate::{NewEdition, SectionRef, StoryInput};
        let e = store
            .upsert_edition(&NewEdition {
                lang: "en".into(),
                name: "Agency".into(),
                direction: Direction::Ltr,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: true,
            })
            .await
            .expect("edition")
            .id;
        // Five stories in November 2023 (the last one at the month's final second), two in January 2024.
        let times = [
            (2023, 11, 1, 0, 0, 0),
            (2023, 11, 15, 11, 7, 0),
            (2023, 11, 15, 11, 7, 0),
            (2023, 11, 20, 8, 0, 0),
            (2023, 11, 30, 23, 59, 59),
            (2024, 1, 1, 0, 0, 0),
            (2024, 1, 9, 12, 0, 0),
        ];
        for (i, (y, mo, d, h, mi, se)) in times.into_iter().enumerate() {
            let published = Utc.with_ymd_and_hms(y, mo, d, h, mi, se).single().expect("time");
            store
                .save_story(&StoryInput {
                    news_id: Some(100 + i as i64),
                    edition_id: e,
                    section: SectionRef::Names(vec!["World".into()]),
                    slug: None,
                    headline: format!("Story {i}"),
                    lead: "Lead.".into(),
                    body_source: "Body.".into(),
                    body_format: BodyFormat::Text,
                    photo_id: None,
                    gallery_id: None,
                    status: StoryStatus::Published,
                    published_at: Some(published),
                    tags: if i == 0 { vec!["Rare".into()] } else { vec!["Common".into()] },
                    authors: vec![],
                    agency: None,
                    actor: "test".into(),
                })
                .await
                .expect("story");
        }
        // A draft in December counts nowhere.
        store
            .save_story(&StoryInput {
                news_id: Some(200),
                edition_id: e,
                section: SectionRef::Names(vec!["World".into()]),
                slug: None,
                headline: "Draft".into(),
                lead: "Lead.".into(),
                body_source: "Body.".into(),
                body_format: BodyFormat::Text,
                photo_id: None,
                gallery_id: None,
                status: StoryStatus::Draft,
                published_at: Some(Utc.with_ymd_and_hms(2023, 12, 5, 0, 0, 0).single().expect("time")),
                tags: vec!["Hidden".into()],
                authors: vec![],
                agency: None,
                actor: "test".into(),
            })
            .await
            .expect("draft");
        e
    }

    crate::backend_test! {
        async fn months_count_published_stories_and_page_by_key(db) {
            let e = fixture(&db.store).await;
            let months = db.store.published_months(e).await.expect("months");
            assert_eq!(
                months,
                vec![
                    MonthCount { month: Month { year: 2023, month: 11 }, stories: 5 },
                    MonthCount { month: Month { year: 2024, month: 1 }, stories: 2 },
                ]
            );
            let nov = Month { year: 2023, month: 11 };
            let all = db.store.month_stories(e, nov, None, 100).await.expect("stories");
            assert_eq!(all.iter().map(|s| s.news_id).collect::<Vec<_>>(), [100, 101, 102, 103, 104]);
            // Parts of two: each part starts at the key of its first story, ties on time broken by News ID.
            let key = db.store.month_key_at(e, nov, 2).await.expect("key").expect("exists");
            assert_eq!(key.news_id, 102);
            let part = db.store.month_stories(e, nov, Some(key), 2).await.expect("part");
            assert_eq!(part.iter().map(|s| s.news_id).collect::<Vec<_>>(), [102, 103]);
            assert!(db.store.month_key_at(e, nov, 5).await.expect("key").is_none());
            assert!(db.store.month_stories(e, Month { year: 2023, month: 12 }, None, 10).await.expect("dec").is_empty());
            let tags = db.store.tags_in_use(e, 10).await.expect("tags");
            assert_eq!(tags.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(), ["rare", "common"]);
            assert_eq!(db.store.tags_in_use(e, 1).await.expect("tags").len(), 1);
        }
    }

    crate::backend_test! {
        async fn photo_sizes_are_byte_lengths(db) {
            let bytes = vec![7u8; 1234];
            let p = db.store.put_photo(&bytes, "image/jpeg", 10, 10, "", "", "ab").await.expect("photo");
            let sizes = db.store.photo_sizes(&[p.id, p.id + 99]).await.expect("sizes");
            assert_eq!(sizes.get(&p.id), Some(&1234));
            assert_eq!(sizes.len(), 1);
            assert!(db.store.photo_sizes(&[]).await.expect("none").is_empty());
        }
    }
}
