//! What the search index reads of stories: one at a time when the change log
//! names a story, and page by page (by News ID) when the index is rebuilt.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use newsdesk_domain::dates::from_unix;
use newsdesk_domain::{NewsId, StoryStatus};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Result, Store, StoreError};

/// A story with what search indexes and shows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexableStory {
    /// Public id.
    pub news_id: NewsId,
    /// Language code of the story's edition (`en`, `fa`, `ar`, ...).
    pub edition_lang: String,
    /// Slash-joined section slugs from the top (`iran/politics`).
    pub section_path: String,
    /// Display name of the story's own section.
    pub section_name: String,
    /// URL slug.
    pub slug: String,
    /// Headline.
    pub headline: String,
    /// Lead.
    pub lead: String,
    /// Sanitized body HTML.
    pub body_html: String,
    /// Workflow state: only published stories are searchable.
    pub status: StoryStatus,
    /// First publish time.
    pub published_at: Option<DateTime<Utc>>,
    /// Last public update.
    pub updated_at: Option<DateTime<Utc>>,
    /// Tag names, in order.
    pub tags: Vec<String>,
    /// Byline names, in order.
    pub authors: Vec<String>,
    /// What only the newsroom searches by.
    pub newsroom: NewsroomFacts,
}

/// What the newsroom search knows of a story besides its text: who wrote it,
/// when it last changed and where it is on the desks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewsroomFacts {
    /// The user who created it.
    pub created_by: Option<i64>,
    /// When it was last saved.
    pub modified_at: Option<DateTime<Utc>>,
    /// The desk it is on.
    pub desk_id: Option<i64>,
    /// Its stage on that desk.
    pub stage_id: Option<i64>,
    /// Who it is assigned to.
    pub assignee_id: Option<i64>,
    /// The desk's short name for it (`IRAN-DEFENCE-EXPORTS`), empty if none.
    pub slugline: String,
    /// 1 (flash) to 8 (lowest); `None` where the story has none.
    pub urgency: Option<i64>,
    /// Whether it is spiked (off every desk and list until unspiked or purged).
    pub spiked: bool,
}

const COLUMNS: &str = "s.news_id, e.lang, sec.path, sec.name, s.slug, s.headline, s.lead, s.body_html, s.status, \
     s.published_at, s.updated_at, s.created_by, s.modified_at, sd.desk_id, sd.stage_id, sd.assignee_id, s.slugline, s.urgency, \
     sp.spiked_at";
/// The tables [`COLUMNS`] come from.
const FROM: &str = "stories s JOIN editions e ON e.id = s.edition_id JOIN sections sec ON sec.id = s.section_id \
     LEFT JOIN story_desks sd ON sd.news_id = s.news_id LEFT JOIN story_spikes sp ON sp.news_id = s.news_id";

fn from_row(r: &AnyRow) -> Result<IndexableStory> {
    let status: String = r.try_get("status")?;
    Ok(IndexableStory {
        news_id: r.try_get("news_id")?,
        edition_lang: r.try_get("lang")?,
        section_path: r.try_get("path")?,
        section_name: r.try_get("name")?,
        slug: r.try_get("slug")?,
        headline: r.try_get("headline")?,
        lead: r.try_get("lead")?,
        body_html: r.try_get("body_html")?,
        status: StoryStatus::parse(&status).ok_or_else(|| StoreError::Invalid(format!("unknown status {status}")))?,
        published_at: r.try_get::<Option<i64>, _>("published_at")?.map(from_unix),
        updated_at: r.try_get::<Option<i64>, _>("updated_at")?.map(from_unix),
        tags: Vec::new(),
        authors: Vec::new(),
        newsroom: NewsroomFacts {
            created_by: r.try_get("created_by")?,
            modified_at: r.try_get::<Option<i64>, _>("modified_at")?.map(from_unix),
            desk_id: r.try_get("desk_id")?,
            stage_id: r.try_get("stage_id")?,
            assignee_id: r.try_get("assignee_id")?,
            slugline: r.try_get("slugline")?,
            urgency: Some(r.try_get("urgency")?),
            spiked: r.try_get::<Option<i64>, _>("spiked_at")?.is_some(),
        },
    })
}

impl Store {
    /// One story as search sees it, in any state (`None` if there is no such story).
    pub async fn indexable_story(&self, news_id: NewsId) -> Result<Option<IndexableStory>> {
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE s.news_id = $1");
        let Some(row) = sqlx::query(&sql).bind(news_id).fetch_optional(self.pool()).await? else {
            return Ok(None);
        };
        let mut stories = vec![from_row(&row)?];
        self.attach_names(&mut stories, news_id - 1, news_id).await?;
        Ok(stories.pop())
    }

    /// Stories in every state (the newsroom searches drafts too) with a News ID
    /// above `after`, lowest first, at most `limit`: a rebuild pages through all
    /// of them by passing the last News ID it got.
    pub async fn indexable_stories(&self, after: NewsId, limit: i64) -> Result<Vec<IndexableStory>> {
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE s.news_id > $1 ORDER BY s.news_id LIMIT $2");
        let rows = sqlx::query(&sql).bind(after).bind(limit).fetch_all(self.pool()).await?;
        let mut stories = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        if let Some(last) = stories.last().map(|s| s.news_id) {
            self.attach_names(&mut stories, after, last).await?;
        }
        Ok(stories)
    }

    /// Fills in tag and author names of `stories`, whose News IDs lie in `(after, last]`.
    async fn attach_names(&self, stories: &mut [IndexableStory], after: NewsId, last: NewsId) -> Result<()> {
        let mut tags = names_by_story(
            self,
            "SELECT st.news_id, t.name FROM story_tags st JOIN tags t ON t.id = st.tag_id \
             WHERE st.news_id > $1 AND st.news_id <= $2 ORDER BY st.news_id, st.position",
            after,
            last,
        )
        .await?;
        let mut authors = names_by_story(
            self,
            "SELECT sa.news_id, a.name FROM story_authors sa JOIN authors a ON a.id = sa.author_id \
             WHERE sa.news_id > $1 AND sa.news_id <= $2 ORDER BY sa.news_id, sa.position",
            after,
            last,
        )
        .await?;
        for s in stories {
            s.tags = tags.remove(&s.news_id).unwrap_or_default();
            s.authors = authors.remove(&s.news_id).unwrap_or_default();
        }
        Ok(())
    }
}

async fn names_by_story(store: &Store, sql: &str, after: NewsId, last: NewsId) -> Result<HashMap<NewsId, Vec<String>>> {
    let rows = sqlx::query(sql).bind(after).bind(last).fetch_all(store.pool()).await?;
    let mut out: HashMap<NewsId, Vec<String>> = HashMap::new();
    for r in rows {
        out.entry(r.try_get("news_id")?).or_default().push(r.try_get("name")?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;
    use crate::testing::TestDb;
    use crate::{NewEdition, SectionRef, StoryInput};
    use newsdesk_domain::{BodyFormat, Direction};

    async fn seed(db: &TestDb) -> i64 {
        let e = db
            .store
            .upsert_edition(&NewEdition {
                lang: "fa".into(),
                name: "Persian".into(),
                direction: Direction::Rtl,
                time_zone: chrono_tz::Asia::Tehran,
                is_default: true,
            })
            .await
            .expect("edition");
        for (id, status) in [(10, StoryStatus::Published), (11, StoryStatus::Draft), (12, StoryStatus::Published)] {
            db.store
                .save_story(&StoryInput {
                    news_id: Some(id),
                    edition_id: e.id,
                    section: SectionRef::Names(vec!["Iran".into(), "Politics".into()]),
                    slug: None,
                    headline: format!("Story {id}"),
                    lead: "lead".into(),
                    body_source: "first\n\nsecond".into(),
                    body_format: BodyFormat::Text,
                    photo_id: None,
                    gallery_id: None,
                    status,
                    published_at: Some(from_unix(1_700_000_000 + id)),
                    tags: vec![format!("tag {id}"), "common".into()],
                    authors: vec!["Reza".into()],
                    agency: None,
                    actor: "test".into(),
                })
                .await
                .expect("save");
        }
        e.id
    }

    backend_test!(
        async fn pages_through_stories_in_every_state_with_names(db) {
        seed(&db).await;
        let first = db.store.indexable_stories(0, 1).await.expect("page 1");
        assert_eq!(first.len(), 1);
        let s = &first[0];
        assert_eq!((s.news_id, s.edition_lang.as_str(), s.section_path.as_str()), (10, "fa", "iran/politics"));
        assert_eq!(s.section_name, "Politics");
        assert_eq!(s.tags, vec!["tag 10".to_string(), "common".to_string()]);
        assert_eq!(s.authors, vec!["Reza".to_string()]);
        assert!(s.body_html.contains("second"));
        // The draft (11) comes too (the newsroom searches drafts); paging goes
        // on after the last News ID.
        let rest = db.store.indexable_stories(10, 10).await.expect("page 2");
        assert_eq!(rest.iter().map(|s| s.news_id).collect::<Vec<_>>(), vec![11, 12]);
        assert_eq!(rest[0].status, StoryStatus::Draft);
        assert_eq!(rest[1].tags, vec!["tag 12".to_string(), "common".to_string()]);
        assert!(rest[1].newsroom.modified_at.is_some());
        assert_eq!(rest[1].newsroom.desk_id, None);
        assert!(db.store.indexable_stories(12, 10).await.expect("end").is_empty());
    }
    );

    backend_test!(
        async fn one_story_in_any_state(db) {
        seed(&db).await;
        let draft = db.store.indexable_story(11).await.expect("query").expect("exists");
        assert_eq!(draft.status, StoryStatus::Draft);
        assert_eq!(draft.tags, vec!["tag 11".to_string(), "common".to_string()]);
        assert!(db.store.indexable_story(99).await.expect("query").is_none());
    }
    );
}
