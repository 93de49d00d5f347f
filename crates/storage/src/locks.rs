//! Edit locks: who has a story open in the editor. A lock is a lease in the
//! database (so every node on one database sees it) that the editor's
//! heartbeat renews; when the heartbeat stops the lease runs out and the
//! lock is free again. Locks only say who is editing: saves are still checked
//! against the version they were based on.

use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::dates::from_unix;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::accounts::audit_in;
use crate::{AuditEntry, Backend, Result, Store};

/// A story's edit lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryLock {
    /// The story.
    pub news_id: i64,
    /// Who holds it.
    pub user_id: i64,
    /// Their display name, as others see it ("being edited by NAME").
    pub name: String,
    /// When they took it (a renewal keeps the time).
    pub taken_at: DateTime<Utc>,
    /// When the lease runs out unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// Who asks for a lock.
#[derive(Debug, Clone, Copy)]
pub struct LockUser<'a> {
    /// User id.
    pub user_id: i64,
    /// Display name.
    pub name: &'a str,
}

/// What [`Store::take_lock`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// The caller holds the lock now: it was free, had run out, or was theirs already (renewed).
    Taken(StoryLock),
    /// The caller took the lock over from someone else's live lock (`from`).
    TookOver {
        /// The caller's lock.
        lock: StoryLock,
        /// The lock taken over.
        from: StoryLock,
    },
    /// Someone else holds a live lock; nothing changed.
    Busy(StoryLock),
}

/// What [`Store::heartbeat_lock`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heartbeat {
    /// The caller's lock, renewed.
    Renewed(StoryLock),
    /// The caller holds no lock on the story any more: someone else's live lock
    /// (a take-over, or a lock taken after the caller's ran out), or none.
    Lost(Option<StoryLock>),
}

const COLUMNS: &str = "news_id, user_id, name, taken_at, expires_at";

fn lock_from_row(r: &AnyRow) -> Result<StoryLock> {
    Ok(StoryLock {
        news_id: r.try_get("news_id")?,
        user_id: r.try_get("user_id")?,
        name: r.try_get("name")?,
        taken_at: from_unix(r.try_get("taken_at")?),
        expires_at: from_unix(r.try_get("expires_at")?),
    })
}

impl Store {
    /// Takes the edit lock of story `news_id` for `user` at `now`, for `lease`.
    /// It is taken when it is free, has run out, or is the user's already
    /// (renewed, keeping its `taken_at`); with `takeover` also from someone
    /// else's live lock, and then that audit entry (its detail completed with
    /// the previous holder) is written in the same transaction. One upsert
    /// decides, so of concurrent callers on any node exactly one gets a lock.
    pub async fn take_lock(
        &self,
        news_id: i64,
        user: LockUser<'_>,
        now: DateTime<Utc>,
        lease: Duration,
        takeover: Option<&AuditEntry>,
    ) -> Result<LockOutcome> {
        let at = now.timestamp();
        let mut tx = self.begin_write().await?;
        // The lock before, to tell a take-over from a renewal (on SQLite the
        // transaction already holds the write lock; on PostgreSQL the row is locked).
        let for_update = if self.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
        let before = sqlx::query(&format!("SELECT {COLUMNS} FROM story_locks WHERE news_id = $1{for_update}"))
            .bind(news_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| lock_from_row(&r))
            .transpose()?;
        let taken = sqlx::query(&format!(
            "INSERT INTO story_locks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (news_id) DO UPDATE SET \
             taken_at = CASE WHEN story_locks.user_id = excluded.user_id AND story_locks.expires_at > $4 \
                        THEN story_locks.taken_at ELSE excluded.taken_at END, \
             user_id = excluded.user_id, name = excluded.name, expires_at = excluded.expires_at \
             WHERE story_locks.expires_at <= $4 OR story_locks.user_id = $2 OR $6 = 1 \
             RETURNING {COLUMNS}"
        ))
        .bind(news_id)
        .bind(user.user_id)
        .bind(user.name)
        .bind(at)
        .bind((now + lease).timestamp())
        .bind(i64::from(takeover.is_some()))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = taken else {
            // Someone else's live lock. Read it again: on PostgreSQL a concurrent
            // first insert is visible only to a statement after the upsert.
            let holder = sqlx::query(&format!("SELECT {COLUMNS} FROM story_locks WHERE news_id = $1"))
                .bind(news_id)
                .fetch_one(&mut *tx)
                .await?;
            let holder = lock_from_row(&holder)?;
            tx.rollback().await?;
            return Ok(LockOutcome::Busy(holder));
        };
        let lock = lock_from_row(&row)?;
        let outcome = match (before, takeover) {
            (Some(from), Some(audit)) if from.user_id != user.user_id && from.expires_at.timestamp() > at => {
                let detail = format!(
                    "{} (taken over from {}, editing since {})",
                    audit.detail,
                    from.name,
                    from.taken_at.to_rfc3339()
                );
                audit_in(&mut tx, &AuditEntry { detail: detail.trim_start().to_string(), ..audit.clone() }).await?;
                LockOutcome::TookOver { lock, from }
            }
            _ => LockOutcome::Taken(lock),
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Renews `user_id`'s lock of story `news_id` until `now + lease`; when the
    /// user holds none any more, says who does (if anyone, live at `now`).
    pub async fn heartbeat_lock(
        &self,
        news_id: i64,
        user_id: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Heartbeat> {
        let row = sqlx::query(&format!(
            "UPDATE story_locks SET expires_at = $3 WHERE news_id = $1 AND user_id = $2 RETURNING {COLUMNS}"
        ))
        .bind(news_id)
        .bind(user_id)
        .bind((now + lease).timestamp())
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => Ok(Heartbeat::Renewed(lock_from_row(&r)?)),
            None => Ok(Heartbeat::Lost(self.lock_of(news_id, now).await?)),
        }
    }

    /// Gives up `user_id`'s lock of story `news_id`; whether there was one.
    /// Someone else's lock stays.
    pub async fn release_lock(&self, news_id: i64, user_id: i64) -> Result<bool> {
        let done = sqlx::query("DELETE FROM story_locks WHERE news_id = $1 AND user_id = $2")
            .bind(news_id)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The live lock of story `news_id` at `now`, if any.
    pub async fn lock_of(&self, news_id: i64, now: DateTime<Utc>) -> Result<Option<StoryLock>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM story_locks WHERE news_id = $1 AND expires_at > $2"))
            .bind(news_id)
            .bind(now.timestamp())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| lock_from_row(&r)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend_test;
    use crate::{NewUser, SectionRef, StoryInput};
    use newsdesk_domain::StoryStatus;

    const LEASE: Duration = Duration::seconds(90);

    async fn user(db: &crate::testing::TestDb, name: &str) -> i64 {
        let u = NewUser {
            email: format!("{name}@example.org"),
            name: name.into(),
            role: newsdesk_domain::roles::Role::Editor,
            password_hash: "x".into(),
        };
        db.store
            .create_user(&u, Utc::now(), &AuditEntry::system("test", "user.create", "user", "", ""))
            .await
            .expect("user")
            .id
    }

    async fn story(db: &crate::testing::TestDb) -> i64 {
        let edition = crate::testing::english_edition(&db.store).await;
        let input = StoryInput {
            news_id: None,
            edition_id: edition,
            section: SectionRef::Names(vec!["World".into()]),
            slug: None,
            headline: "Locked".into(),
            lead: String::new(),
            body_source: String::new(),
            body_format: newsdesk_domain::BodyFormat::Markdown,
            photo_id: None,
            gallery_id: None,
            status: StoryStatus::Draft,
            published_at: None,
            tags: vec![],
            authors: vec![],
            agency: None,
            actor: "test".into(),
        };
        db.store.save_story(&input).await.expect("story").0
    }

    backend_test!(
        async fn a_lock_is_held_renewed_lost_and_released(db) {
            let (ann, bob) = (user(&db, "Ann").await, user(&db, "Bob").await);
            let id = story(&db).await;
            let t0 = Utc::now();
            let ann_user = LockUser { user_id: ann, name: "Ann" };
            let bob_user = LockUser { user_id: bob, name: "Bob" };
            let LockOutcome::Taken(l) = db.store.take_lock(id, ann_user, t0, LEASE, None).await.expect("take") else { panic!("free lock") };
            assert_eq!((l.user_id, l.taken_at.timestamp(), l.expires_at.timestamp()), (ann, t0.timestamp(), (t0 + LEASE).timestamp()));
            // Bob is refused while the lease lasts, and gets it once it ran out.
            let busy = db.store.take_lock(id, bob_user, t0 + Duration::seconds(89), LEASE, None).await.expect("busy");
            assert!(matches!(busy, LockOutcome::Busy(ref h) if h.user_id == ann), "{busy:?}");
            // Ann renews (the taking time stays), then her heartbeat stops.
            let t1 = t0 + Duration::seconds(30);
            assert!(matches!(db.store.take_lock(id, ann_user, t1, LEASE, None).await.expect("renew"), LockOutcome::Taken(ref l) if l.taken_at.timestamp() == t0.timestamp()));
            assert!(matches!(db.store.heartbeat_lock(id, ann, t1, LEASE).await.expect("beat"), Heartbeat::Renewed(_)));
            assert!(db.store.lock_of(id, t1 + LEASE - Duration::seconds(1)).await.expect("lock").is_some());
            let t2 = t1 + LEASE;
            assert_eq!(db.store.lock_of(id, t2).await.expect("lock"), None, "expired");
            let LockOutcome::Taken(l) = db.store.take_lock(id, bob_user, t2, LEASE, None).await.expect("take") else { panic!("expired lock") };
            assert_eq!((l.user_id, l.name.as_str(), l.taken_at.timestamp()), (bob, "Bob", t2.timestamp()));
            assert!(matches!(db.store.heartbeat_lock(id, ann, t2, LEASE).await.expect("beat"), Heartbeat::Lost(Some(ref h)) if h.user_id == bob));
            // Ann cannot release Bob's lock; Bob can.
            assert!(!db.store.release_lock(id, ann).await.expect("release"));
            assert!(db.store.release_lock(id, bob).await.expect("release"));
            assert_eq!(db.store.lock_of(id, t2).await.expect("lock"), None);
        }
    );

    backend_test!(
        async fn a_takeover_is_audited_with_the_previous_holder(db) {
            let (ann, bob) = (user(&db, "Ann").await, user(&db, "Bob").await);
            let id = story(&db).await;
            let t0 = Utc::now();
            db.store.take_lock(id, LockUser { user_id: ann, name: "Ann" }, t0, LEASE, None).await.expect("take");
            let audit = AuditEntry::system("bob@example.org", "story.lock.takeover", "story", id, "");
            let out = db.store.take_lock(id, LockUser { user_id: bob, name: "Bob" }, t0, LEASE, Some(&audit)).await.expect("takeover");
            let LockOutcome::TookOver { lock, from } = out else { panic!("{out:?}") };
            assert_eq!((lock.user_id, from.user_id), (bob, ann));
            let log = db.store.audit_log(Some(("story", &id.to_string())), 10).await.expect("audit");
            assert_eq!(log.len(), 1);
            assert!(log[0].detail.contains("taken over from Ann"), "{}", log[0].detail);
            // Forcing one's own or a free lock is no take-over and writes nothing.
            let again = db.store.take_lock(id, LockUser { user_id: bob, name: "Bob" }, t0, LEASE, Some(&audit)).await.expect("again");
            assert!(matches!(again, LockOutcome::Taken(_)));
            assert_eq!(db.store.audit_log(Some(("story", &id.to_string())), 10).await.expect("audit").len(), 1);
        }
    );
}
