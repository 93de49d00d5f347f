//! Story views for "most visited": hourly buckets that every node adds to.

use crate::sql::like_escape;
use chrono::{DateTime, Utc};
use newsdesk_domain::{NewsId, StorySummary};
use sqlx::Row;

use crate::content::{SUMMARY_COLUMNS, summary_from_row};
use crate::{Result, Store};

/// Views of one story in one hour, as a node counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewBucket {
    /// The story.
    pub news_id: NewsId,
    /// Its edition.
    pub edition_id: i64,
    /// Its section.
    pub section_id: i64,
    /// Start of the hour, unix seconds (a multiple of 3600).
    pub hour: i64,
    /// Views counted.
    pub views: i64,
}

/// Start of the hour containing `t`, in unix seconds.
pub fn hour_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3600) * 3600
}

impl Store {
    /// Adds counted views to their buckets, in one transaction.
    pub async fn add_views(&self, buckets: &[ViewBucket]) -> Result<()> {
        if buckets.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for b in buckets {
            sqlx::query(
                "INSERT INTO story_views (news_id, edition_id, section_id, hour, views) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (news_id, hour) DO UPDATE SET views = story_views.views + excluded.views",
            )
            .bind(b.news_id)
            .bind(b.edition_id)
            .bind(b.section_id)
            .bind(b.hour)
            .bind(b.views)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The most viewed published stories of an edition (or of a section and
    /// its subsections, by path) since `since`, most views first.
    pub async fn most_visited(
        &self,
        edition_id: i64,
        section_path: Option<&str>,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(StorySummary, i64)>> {
        let sql = most_visited_sql(section_path.is_some());
        let mut q = sqlx::query(&sql).bind(edition_id).bind(hour_of(since)).bind(limit);
        if let Some(path) = section_path {
            q = q.bind(path.to_string()).bind(format!("{}/%", like_escape(path)));
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((summary_from_row(r)?, r.try_get::<i64, _>("views")?))).collect()
    }

    /// Deletes buckets older than `before`; returns how many.
    pub async fn prune_views(&self, before: DateTime<Utc>) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM story_views WHERE hour < $1").bind(hour_of(before)).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}

/// The query of [`Store::most_visited`]: `$1` edition, `$2` first hour, `$3`
/// limit, and with `in_section` `$4` the section's path and `$5` its
/// subsections' `LIKE` pattern. The stories are looked up by the views'
/// News IDs (`CROSS JOIN`: SQLite keeps the order written; without it, and
/// without statistics, it read every story and looked each up in the
/// views, 55–140 ms at a million stories for a list with nothing in it).
fn most_visited_sql(in_section: bool) -> String {
    let section_cond = if in_section {
        "AND v.section_id IN (SELECT id FROM sections WHERE edition_id = $1 AND (path = $4 OR path LIKE $5 ESCAPE '\\'))"
    } else {
        ""
    };
    format!(
        "SELECT {SUMMARY_COLUMNS}, t.views AS views FROM \
         (SELECT v.news_id, CAST(SUM(v.views) AS BIGINT) AS views FROM story_views v \
          WHERE v.edition_id = $1 AND v.hour >= $2 {section_cond} GROUP BY v.news_id) t \
         CROSS JOIN stories s LEFT JOIN photos p ON p.id = s.photo_id \
         WHERE s.news_id = t.news_id AND s.status = 'published' ORDER BY t.views DESC, s.news_id DESC LIMIT $3"
    )
}

#[cfg(test)]
mod plans {
    use super::most_visited_sql;
    use crate::Backend;
    use crate::sql::Args;

    crate::backend_test! {
        async fn most_visited_starts_from_the_views_not_from_every_story(db) {
            // "Most visited" is in every page's sidebar and built again after
            // each change. Read from the stories side, it visits every story.
            for in_section in [false, true] {
                let sql = most_visited_sql(in_section);
                let mut args = Args::new();
                for n in [1_i64, 490_000, 10] {
                    args.push(n);
                }
                if in_section {
                    args.push("iran");
                    args.push("iran/%");
                }
                let plan = db.plan(&sql, args).await;
                // SQLite, without statistics here as on a filled site, follows
                // the join order written; PostgreSQL plans by its statistics.
                if db.store.backend() == Backend::Sqlite {
                    let by_key = plan.iter().any(|l| l.starts_with("SEARCH s USING INTEGER PRIMARY KEY"));
                    assert!(by_key, "the stories are not looked up by the views' News IDs: {plan:?}");
                } else {
                    assert!(!plan.is_empty());
                }
            }
        }
    }
}
