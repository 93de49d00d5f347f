//! Users, sessions, login throttling and the audit log, on SQLite and on PostgreSQL.

use chrono::{Duration, Utc};
use newsdesk_domain::roles::Role;
use newsdesk_storage::{AuditEntry, NewUser, StoreError, backend_test};

fn jane() -> NewUser {
    NewUser { email: "jane@example.org".into(), name: "Jane".into(), role: Role::Editor, password_hash: "h1".into() }
}

backend_test! {
    async fn users_are_unique_by_email(db) {
        let now = Utc::now();
        let u = db.store.create_user(&jane(), now).await.expect("create");
        assert_eq!((u.email.as_str(), u.role, u.active), ("jane@example.org", Role::Editor, true));
        let again = db.store.create_user(&jane(), now).await;
        assert!(matches!(again, Err(StoreError::Conflict { field: "email" })), "{again:?}");
        let (found, hash) = db.store.user_by_email("jane@example.org").await.expect("read").expect("found");
        assert_eq!((found.id, hash.as_str()), (u.id, "h1"));
        assert_eq!(db.store.user_count().await.expect("count"), 1);
        assert!(db.store.set_user_role(u.id, Role::Admin).await.expect("role"));
        assert_eq!(db.store.user(u.id).await.expect("read").expect("found").role, Role::Admin);
    }
}

backend_test! {
    async fn sessions_expire_and_end_with_password_change_and_deactivation(db) {
        let now = Utc::now();
        let u = db.store.create_user(&jane(), now).await.expect("create");
        db.store.create_session("a", u.id, "csrf-a", now, now + Duration::hours(1)).await.expect("a");
        db.store.create_session("b", u.id, "csrf-b", now, now + Duration::hours(1)).await.expect("b");
        let s = db.store.session("a", now).await.expect("read").expect("live");
        assert_eq!((s.user.id, s.csrf.as_str()), (u.id, "csrf-a"));
        assert!(db.store.session("a", now + Duration::hours(2)).await.expect("read").is_none(), "expired");
        db.store.touch_session("a", now, now + Duration::hours(3)).await.expect("touch");
        assert!(db.store.session("a", now + Duration::hours(2)).await.expect("read").is_some(), "extended");

        db.store.delete_session("a").await.expect("logout");
        assert!(db.store.session("a", now).await.expect("read").is_none());
        assert!(db.store.session("b", now).await.expect("read").is_some());

        db.store.set_password(u.id, "h2", now).await.expect("password");
        assert!(db.store.session("b", now).await.expect("read").is_none(), "a password change ends all sessions");
        assert_eq!(db.store.password_hash(u.id).await.expect("hash").as_deref(), Some("h2"));

        db.store.create_session("c", u.id, "csrf-c", now, now + Duration::hours(1)).await.expect("c");
        assert!(db.store.set_user_active(u.id, false).await.expect("deactivate"));
        assert!(db.store.session("c", now).await.expect("read").is_none(), "deactivated users have no session");
        db.store.create_session("d", u.id, "csrf-d", now, now + Duration::hours(1)).await.expect("d");
        assert!(db.store.session("d", now).await.expect("read").is_none(), "inactive users cannot use a session");
    }
}

backend_test! {
    async fn login_failures_are_counted_per_key(db) {
        let now = Utc::now();
        let keys = vec!["ip:1.2.3.4".to_string(), "account:jane@example.org".to_string()];
        for _ in 0..3 {
            db.store.add_login_failure(&keys, now).await.expect("add");
        }
        db.store.add_login_failure(&keys[..1], now - Duration::minutes(30)).await.expect("old");
        assert_eq!(db.store.login_failures("ip:1.2.3.4", now - Duration::minutes(15)).await.expect("n"), 3);
        assert_eq!(db.store.login_failures("ip:1.2.3.4", now - Duration::hours(1)).await.expect("n"), 4);
        db.store.clear_login_failures("account:jane@example.org").await.expect("clear");
        assert_eq!(db.store.login_failures("account:jane@example.org", now - Duration::hours(1)).await.expect("n"), 0);
    }
}

backend_test! {
    async fn audit_log_is_newest_first_and_filters_by_target(db) {
        let now = Utc::now();
        for (i, kind) in ["story", "user", "story"].into_iter().enumerate() {
            db.store
                .audit(&AuditEntry {
                    at: now,
                    actor: "jane@example.org".into(),
                    user_id: None,
                    action: format!("act{i}"),
                    target_kind: kind.into(),
                    target_id: "7".into(),
                    detail: String::new(),
                })
                .await
                .expect("audit");
        }
        let all = db.store.audit_log(None, 10).await.expect("log");
        assert_eq!(all.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["act2", "act1", "act0"]);
        let stories = db.store.audit_log(Some(("story", "7")), 10).await.expect("log");
        assert_eq!(stories.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["act2", "act0"]);
    }
}

backend_test! {
    async fn editors_can_be_assigned_to_sections_with_their_subsections(db) {
        let now = Utc::now();
        let e = db
            .store
            .upsert_edition(&newsdesk_storage::NewEdition {
                lang: "en".into(),
                name: "A".into(),
                direction: newsdesk_domain::Direction::Ltr,
                time_zone: chrono_tz::UTC,
                is_default: true,
            })
            .await
            .expect("edition")
            .id;
        let iran = db.store.ensure_section_path(e, &["Iran".into()]).await.expect("iran");
        let defense = db.store.ensure_section_path(e, &["Iran".into(), "Defense".into()]).await.expect("defense");
        let world = db.store.ensure_section_path(e, &["World".into()]).await.expect("world");
        let irani = db.store.ensure_section_path(e, &["Iranian".into()]).await.expect("prefix, not a child");
        let u = db.store.create_user(&jane(), now).await.expect("user");
        assert!(db.store.user_covers_section(u.id, world.id).await.expect("all"), "no assignment: every section");
        db.store.set_user_sections(u.id, &[iran.id]).await.expect("assign");
        assert_eq!(db.store.user_sections(u.id).await.expect("read"), vec![iran.id]);
        assert!(db.store.user_covers_section(u.id, iran.id).await.expect("iran"));
        assert!(db.store.user_covers_section(u.id, defense.id).await.expect("child"));
        assert!(!db.store.user_covers_section(u.id, world.id).await.expect("world"));
        assert!(!db.store.user_covers_section(u.id, irani.id).await.expect("same prefix, other section"));
        db.store.set_user_sections(u.id, &[]).await.expect("clear");
        assert!(db.store.user_covers_section(u.id, world.id).await.expect("all again"));
    }
}
