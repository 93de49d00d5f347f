//! Stories that are translations of each other (one per edition in a group).

use newsdesk_domain::{NewsId, StoryStatus};
use sqlx::{AnyConnection, Row};

use crate::accounts::audit_in;
use crate::content::record_change;
use crate::{AuditEntry, Result, Store, StoreError};

/// Another language's version of a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// Its News ID.
    pub news_id: NewsId,
    /// Its edition.
    pub edition_id: i64,
    /// The edition's language.
    pub lang: String,
    /// Its slug.
    pub slug: String,
    /// Its headline.
    pub headline: String,
    /// Its state (only published ones are shown to readers).
    pub status: StoryStatus,
}

async fn group_of(conn: &mut AnyConnection, news_id: NewsId) -> Result<Option<NewsId>> {
    let row = sqlx::query("SELECT group_id FROM story_translations WHERE news_id = $1")
        .bind(news_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("group_id")).transpose()?)
}

async fn edition_of(conn: &mut AnyConnection, news_id: NewsId) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT edition_id FROM stories WHERE news_id = $1")
        .bind(news_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get("edition_id")).transpose()?)
}

/// Every story of `group` with its edition.
async fn members(conn: &mut AnyConnection, group: NewsId) -> Result<Vec<(NewsId, i64)>> {
    let rows = sqlx::query(
        "SELECT t.news_id, s.edition_id FROM story_translations t JOIN stories s ON s.news_id = t.news_id \
         WHERE t.group_id = $1 ORDER BY t.news_id",
    )
    .bind(group)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(|r| Ok((r.try_get("news_id")?, r.try_get("edition_id")?))).collect()
}

/// Takes `news_id` out of its group (a group left with one story is dissolved);
/// marks the stories whose language list changed.
async fn leave(conn: &mut AnyConnection, news_id: NewsId) -> Result<()> {
    let Some(group) = group_of(conn, news_id).await? else { return Ok(()) };
    sqlx::query("DELETE FROM story_translations WHERE news_id = $1").bind(news_id).execute(&mut *conn).await?;
    let rest = members(conn, group).await?;
    if rest.len() == 1 {
        sqlx::query("DELETE FROM story_translations WHERE group_id = $1").bind(group).execute(&mut *conn).await?;
    }
    for (id, edition_id) in rest {
        record_change(conn, id, edition_id).await?;
    }
    Ok(())
}

impl Store {
    /// The other language versions of `news_id`, in News ID order.
    pub async fn translations(&self, news_id: NewsId) -> Result<Vec<Translation>> {
        self.reads().await?.translations(news_id).await
    }

    /// Links `news_id` as a translation of `of` (joining `of`'s group), or takes it
    /// out of its group when `of` is `None`. Refuses a story of the same edition as
    /// one already in the group, and unknown stories. The pages of every story whose
    /// language list changes are marked changed. The audit entry is written in
    /// the same transaction when the links change.
    pub async fn set_translation_of(&self, news_id: NewsId, of: Option<NewsId>, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let edition = edition_of(&mut tx, news_id)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("there is no story with News ID {news_id}")))?;
        let Some(of) = of else {
            leave(&mut tx, news_id).await?;
            record_change(&mut tx, news_id, edition).await?;
            audit_in(&mut tx, audit).await?;
            tx.commit().await?;
            return Ok(());
        };
        if of == news_id {
            return Err(StoreError::Invalid("a story cannot be a translation of itself".into()));
        }
        let of_edition = edition_of(&mut tx, of)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("there is no story with News ID {of}")))?;
        let group = group_of(&mut tx, of).await?.unwrap_or(of);
        if group_of(&mut tx, news_id).await? == Some(group) {
            return Ok(());
        }
        let mut existing = members(&mut tx, group).await?;
        if existing.is_empty() {
            existing.push((of, of_edition));
        }
        if existing.iter().any(|(_, e)| *e == edition) {
            return Err(StoreError::Invalid(format!("News ID {of} already has a translation in this story's edition")));
        }
        leave(&mut tx, news_id).await?;
        sqlx::query(
            "INSERT INTO story_translations (news_id, group_id) VALUES ($1, $1) ON CONFLICT (news_id) DO NOTHING",
        )
        .bind(group)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO story_translations (news_id, group_id) VALUES ($1, $2)")
            .bind(news_id)
            .bind(group)
            .execute(&mut *tx)
            .await?;
        record_change(&mut tx, news_id, edition).await?;
        for (id, e) in existing {
            record_change(&mut tx, id, e).await?;
        }
        audit_in(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl crate::Reads {
    /// [`Store::translations`] on this connection.
    pub async fn translations(&mut self, news_id: NewsId) -> Result<Vec<Translation>> {
        let rows = self
            .fetch_all(
                sqlx::query(
                    "SELECT s.news_id, s.edition_id, e.lang, s.slug, s.headline, s.status \
             FROM story_translations me \
             JOIN story_translations t ON t.group_id = me.group_id AND t.news_id <> me.news_id \
             JOIN stories s ON s.news_id = t.news_id JOIN editions e ON e.id = s.edition_id \
             WHERE me.news_id = $1 ORDER BY s.news_id",
                )
                .bind(news_id),
            )
            .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                Ok(Translation {
                    news_id: r.try_get("news_id")?,
                    edition_id: r.try_get("edition_id")?,
                    lang: r.try_get("lang")?,
                    slug: r.try_get("slug")?,
                    headline: r.try_get("headline")?,
                    status: StoryStatus::parse(&status)
                        .ok_or_else(|| StoreError::Invalid(format!("story has unknown status {status}")))?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use newsdesk_domain::{BodyFormat, Direction, StoryStatus};

    use crate::testing::TestDb;
    use crate::{AuditEntry, NewEdition, SectionRef, StoryInput};

    fn link() -> AuditEntry {
        AuditEntry::system("test", "story.translation", "story", 0, "")
    }

    async fn story(db: &TestDb, edition_id: i64, id: i64) {
        db.store
            .save_story(&StoryInput {
                news_id: Some(id),
                edition_id,
                section: SectionRef::Names(vec!["World".into()]),
                slug: None,
                headline: format!("Story {id}"),
                lead: "Lead.".into(),
                body_source: "Body.".into(),
                body_format: BodyFormat::Text,
                photo_id: None,
                gallery_id: None,
                status: StoryStatus::Published,
                published_at: Some(chrono::Utc::now()),
                tags: Vec::new(),
                authors: Vec::new(),
                agency: None,
                actor: "test".into(),
            })
            .await
            .expect("story saved");
    }

    async fn edition(db: &TestDb, lang: &str, default: bool) -> i64 {
        db.store
            .upsert_edition(&NewEdition {
                lang: lang.into(),
                name: lang.into(),
                direction: if lang == "en" { Direction::Ltr } else { Direction::Rtl },
                time_zone: chrono_tz::Asia::Tehran,
                is_default: default,
            })
            .await
            .expect("edition")
            .id
    }

    crate::backend_test! {
        async fn translations_link_both_ways_one_per_edition(db) {
            let en = edition(&db, "en", true).await;
            let fa = edition(&db, "fa", false).await;
            let ar = edition(&db, "ar", false).await;
            story(&db, en, 1).await;
            story(&db, fa, 2).await;
            story(&db, ar, 3).await;
            story(&db, fa, 4).await;
            db.store.set_translation_of(2, Some(1), &link()).await.expect("linked");
            db.store.set_translation_of(3, Some(2), &link()).await.expect("linked through the group");
            let of1: Vec<i64> = db.store.translations(1).await.expect("list").iter().map(|t| t.news_id).collect();
            assert_eq!(of1, vec![2, 3]);
            let of3 = db.store.translations(3).await.expect("list");
            assert_eq!(of3.iter().map(|t| t.lang.as_str()).collect::<Vec<_>>(), vec!["en", "fa"]);
            assert!(db.store.set_translation_of(4, Some(1), &link()).await.is_err(), "a second Persian version is refused");
            assert!(db.store.set_translation_of(1, Some(1), &link()).await.is_err());
            assert!(db.store.set_translation_of(1, Some(999), &link()).await.is_err());
            db.store.set_translation_of(3, None, &link()).await.expect("unlinked");
            assert!(db.store.translations(3).await.expect("list").is_empty());
            db.store.set_translation_of(2, None, &link()).await.expect("unlinked");
            assert!(db.store.translations(1).await.expect("list").is_empty(), "a group of one is dissolved");
        }
    }

    crate::backend_test! {
        async fn new_editions_take_their_language_calendar(db) {
            use newsdesk_domain::calendar::{Calendar, Digits};
            edition(&db, "en", true).await;
            let fa = db.store.edition_by_lang("fa").await.expect("read");
            assert!(fa.is_none());
            let fa = edition(&db, "fa", false).await;
            let ar = edition(&db, "ar", false).await;
            let eds = db.store.editions().await.expect("editions");
            let fa_e = eds.iter().find(|e| e.id == fa).expect("fa");
            assert_eq!((fa_e.calendar, fa_e.digits), (Calendar::SolarHijri, Digits::Persian));
            assert_eq!(eds[0].calendar, Calendar::Gregorian);
            db.store.set_edition_locale(ar, Calendar::Hijri, Digits::ArabicIndic).await.expect("set");
            let ar_e = db.store.edition_by_lang("ar").await.expect("read").expect("ar");
            assert_eq!((ar_e.calendar, ar_e.digits), (Calendar::Hijri, Digits::ArabicIndic));
        }
    }
}
