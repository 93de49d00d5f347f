//! Several reads in a row on one pooled connection.

use newsdesk_domain::{NewsId, Story};
use sqlx::pool::PoolConnection;
use sqlx::{Any, Row};

use crate::{CommentTarget, Result, Store};

/// One connection of the pool, held for several reads in a row.
///
/// Each query made on the pool takes a connection and gives it back, and sqlx
/// tests a connection as it comes back (one more round trip: to SQLite's
/// connection thread, or to the PostgreSQL server) from a task of its own. A
/// story page not yet cached makes about eight reads; made on one `Reads`,
/// it pays for that once instead of eight times. Hold it for the reads only,
/// not while rendering or waiting on anything else: the pool is small.
#[derive(Debug)]
pub struct Reads {
    pub(crate) conn: PoolConnection<Any>,
}

impl Store {
    /// A connection held for several reads ([`Reads`]).
    pub async fn reads(&self) -> Result<Reads> {
        Ok(Reads { conn: self.pool().acquire().await? })
    }
}

/// What a story's public page needs to know about it besides the story, read
/// in the story's own query ([`Reads::story_for_page`]): most stories have no
/// corrections, no translations and no comments, and their page then makes
/// no query for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFacts {
    /// It has at least one correction.
    pub corrections: bool,
    /// It has a translation in another edition.
    pub translations: bool,
    /// It has at least one approved comment.
    pub comments: bool,
    /// What the comment form needs to know about it.
    pub comment_target: CommentTarget,
}

/// The columns [`PageFacts`] is read from, beside the story's own.
const FACTS_COLUMNS: &str = "CAST(CASE WHEN EXISTS (SELECT 1 FROM story_corrections x \
     WHERE x.news_id = s.news_id) THEN 1 ELSE 0 END AS BIGINT) AS has_corrections, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM story_translations me JOIN story_translations t \
     ON t.group_id = me.group_id AND t.news_id <> me.news_id WHERE me.news_id = s.news_id) \
     THEN 1 ELSE 0 END AS BIGINT) AS has_translations, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM comments c WHERE c.news_id = s.news_id AND c.status = 'approved') \
     THEN 1 ELSE 0 END AS BIGINT) AS has_comments";

impl Reads {
    /// The story `news_id` (any state) with its [`PageFacts`], in one query
    /// (and the byline's).
    pub async fn story_for_page(&mut self, news_id: NewsId) -> Result<Option<(Story, PageFacts)>> {
        let columns = format!(", {}, {FACTS_COLUMNS}", crate::comments::TARGET_COLUMNS);
        let found = self
            .stories_with(&[news_id], &columns, "JOIN editions e ON e.id = s.edition_id", |r| {
                Ok(PageFacts {
                    corrections: r.try_get::<i64, _>("has_corrections")? != 0,
                    translations: r.try_get::<i64, _>("has_translations")? != 0,
                    comments: r.try_get::<i64, _>("has_comments")? != 0,
                    comment_target: crate::comments::target_from_row(r)?,
                })
            })
            .await?;
        Ok(found.into_iter().next())
    }
}
