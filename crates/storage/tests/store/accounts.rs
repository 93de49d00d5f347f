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
        let u = db.store.create_user(&jane(), now, &AuditEntry::system("test", "user.create", "user", "", "")).await.expect("create");
        assert_eq!((u.email.as_str(), u.role, u.active), ("jane@example.org", Role::Editor, true));
        let again = db.store.create_user(&jane(), now, &AuditEntry::system("test", "user.create", "user", "", "")).await;
        assert!(matches!(again, Err(StoreError::Conflict { field: "email" })), "{again:?}");
        let (found, hash) = db.store.user_by_email("jane@example.org").await.expect("read").expect("found");
        assert_eq!((found.id, hash.as_str()), (u.id, "h1"));
        assert_eq!(db.store.user_count().await.expect("count"), 1);
        assert!(db.store.set_user_role(u.id, Role::Admin, &AuditEntry::system("test", "user.role", "user", "", "")).await.expect("role"));
        assert_eq!(db.store.user(u.id).await.expect("read").expect("found").role, Role::Admin);
    }
}

backend_test! {
    async fn sessions_expire_and_end_with_password_change_and_deactivation(db) {
        let now = Utc::now();
        let u = db.store.create_user(&jane(), now, &AuditEntry::system("test", "user.create", "user", "", "")).await.expect("create");
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

        db.store.set_password(u.id, "h2", now, &AuditEntry::system("test", "password_change", "user", "", "")).await.expect("password");
        assert!(db.store.session("b", now).await.expect("read").is_none(), "a password change ends all sessions");
        assert_eq!(db.store.password_hash(u.id).await.expect("hash").as_deref(), Some("h2"));

        db.store.create_session("c", u.id, "csrf-c", now, now + Duration::hours(1)).await.expect("c");
        assert!(db.store.set_user_active(u.id, false, &AuditEntry::system("test", "user.deactivate", "user", "", "")).await.expect("deactivate"));
        assert!(db.store.session("c", now).await.expect("read").is_none(), "deactivated users have no session");
        db.store.create_session("d", u.id, "csrf-d", now, now + Duration::hours(1)).await.expect("d");
        assert!(db.store.session("d", now).await.expect("read").is_none(), "inactive users cannot use a session");
    }
}

backend_test! {
    async fn login_attempts_are_counted_per_key_in_fixed_windows(db) {
        let now = Utc::now();
        let window = Duration::minutes(15);
        for n in 1..=3 {
            assert_eq!(db.store.count_login_attempt("ip:192.0.2.4", now, window).await.expect("count"), n);
        }
        assert_eq!(db.store.count_login_attempt("account:jane@example.org", now, window).await.expect("count"), 1, "per key");
        let later = now + Duration::minutes(14);
        assert_eq!(db.store.count_login_attempt("ip:192.0.2.4", later, window).await.expect("count"), 4, "same window");
        db.store.forgive_login_attempt("ip:192.0.2.4").await.expect("forgive");
        assert_eq!(db.store.count_login_attempt("ip:192.0.2.4", later, window).await.expect("count"), 4, "one taken back");
        let next = now + Duration::minutes(15);
        assert_eq!(db.store.count_login_attempt("ip:192.0.2.4", next, window).await.expect("count"), 1, "a new window");
        db.store.clear_login_attempts("account:jane@example.org").await.expect("clear");
        assert_eq!(db.store.count_login_attempt("account:jane@example.org", now, window).await.expect("count"), 1);
        // Pruning forgets a day-old window, not a live one.
        db.store.prune_sessions(now + Duration::days(2)).await.expect("prune");
        assert_eq!(db.store.count_login_attempt("ip:192.0.2.4", now + Duration::days(2), window).await.expect("count"), 1);
    }
}

backend_test! {
    async fn concurrent_login_attempts_each_get_their_own_count(db) {
        let now = Utc::now();
        let mut tasks = Vec::new();
        for _ in 0..30 {
            let store = db.store.clone();
            tasks.push(tokio::spawn(async move {
                store.count_login_attempt("account:jane@example.org", now, Duration::minutes(15)).await
            }));
        }
        let mut counts = Vec::new();
        for t in tasks {
            counts.push(t.await.expect("task").expect("count"));
        }
        counts.sort_unstable();
        assert_eq!(counts, (1..=30).collect::<Vec<i64>>(), "no two attempts saw the same count");
    }
}

backend_test! {
    async fn new_passwords_and_log_out_everywhere_end_sessions_and_api_tokens(db) {
        let now = Utc::now();
        let by = |action: &str| AuditEntry::system("test", action, "user", "", "");
        let u = db.store.create_user(&jane(), now, &by("user.create")).await.expect("create");
        let token = |name: &'static str| {
            let store = db.store.clone();
            async move { store.create_api_token(u.id, name, now, &by("token.create")).await.expect("token").0 }
        };
        let works = |t: String| {
            let store = db.store.clone();
            async move { store.authenticate_api_token(&t, now).await.expect("auth").is_some() }
        };

        // A password change (the account page, the CLI).
        db.store.create_session("a", u.id, "c", now, now + Duration::hours(1)).await.expect("a");
        let t1 = token("phone").await;
        assert!(works(t1.clone()).await);
        db.store.set_password(u.id, "h2", now, &by("password_change")).await.expect("password");
        assert!(db.store.session("a", now).await.expect("read").is_none());
        assert!(!works(t1).await, "a password change revokes the API tokens");
        assert_eq!(db.store.audit_log(None, 1).await.expect("log")[0].detail, "1 sessions, 1 API tokens");

        // A reset through an invite link.
        db.store.create_session("b", u.id, "c", now, now + Duration::hours(1)).await.expect("b");
        let t2 = token("laptop").await;
        db.store.create_invite("invite-hash", u.id, now + Duration::days(1), None).await.expect("invite");
        assert_eq!(db.store.accept_invite("invite-hash", "h3", now, &by("user.accept_invite")).await.expect("accept"), Some(u.id));
        assert!(db.store.session("b", now).await.expect("read").is_none(), "a reset ends the old sessions");
        assert!(!works(t2).await, "a reset revokes the API tokens");

        // Log out everywhere.
        db.store.create_session("c", u.id, "c", now, now + Duration::hours(1)).await.expect("c");
        db.store.create_session("d", u.id, "c", now, now + Duration::hours(1)).await.expect("d");
        let t3 = token("ci").await;
        assert_eq!(db.store.sign_out_everywhere(u.id, now, &by("logout_everywhere")).await.expect("out"), (2, 1));
        assert!(db.store.session("c", now).await.expect("read").is_none());
        assert!(!works(t3).await, "log out everywhere revokes the API tokens");
        let tokens = db.store.api_tokens(u.id).await.expect("list");
        assert!(tokens.iter().all(|t| t.revoked_at.is_some()), "{tokens:?}");
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
        let u = db.store.create_user(&jane(), now, &AuditEntry::system("test", "user.create", "user", "", "")).await.expect("user");
        assert!(db.store.user_covers_section(u.id, world.id).await.expect("all"), "no assignment: every section");
        db.store.set_user_sections(u.id, &[iran.id], &AuditEntry::system("test", "user.sections", "user", "", "")).await.expect("assign");
        assert_eq!(db.store.user_sections(u.id).await.expect("read"), vec![iran.id]);
        assert!(db.store.user_covers_section(u.id, iran.id).await.expect("iran"));
        assert!(db.store.user_covers_section(u.id, defense.id).await.expect("child"));
        assert!(!db.store.user_covers_section(u.id, world.id).await.expect("world"));
        assert!(!db.store.user_covers_section(u.id, irani.id).await.expect("same prefix, other section"));
        db.store.set_user_sections(u.id, &[], &AuditEntry::system("test", "user.sections", "user", "", "")).await.expect("clear");
        assert!(db.store.user_covers_section(u.id, world.id).await.expect("all again"));
    }
}

backend_test! {
    async fn back_office_writes_commit_with_their_audit_entry_and_refused_ones_leave_none(db) {
        let now = Utc::now();
        let by = |action: &str, kind: &str, id: &str| AuditEntry::system("cli", action, kind, id, "");
        let actions = |log: Vec<AuditEntry>| log.into_iter().map(|e| (e.action, e.target_id, e.detail)).collect::<Vec<_>>();

        // A user created with an empty target id gets the new user's id.
        let u = db.store.create_user(&jane(), now, &by("user.create", "user", "")).await.expect("create");
        let uid = u.id.to_string();
        assert_eq!(
            actions(db.store.audit_log(Some(("user", &uid)), 10).await.expect("log")),
            vec![("user.create".to_string(), uid.clone(), String::new())]
        );
        // A taken address is refused and leaves no entry.
        let again = db.store.create_user(&jane(), now, &by("user.create", "user", "")).await;
        assert!(matches!(again, Err(StoreError::Conflict { field: "email" })), "{again:?}");
        assert_eq!(db.store.audit_log(None, 10).await.expect("log").len(), 1, "the refused create wrote no entry");

        // A role change, and one for a user who does not exist (no entry).
        assert!(db.store.set_user_role(u.id, Role::Admin, &by("user.role", "user", &uid)).await.expect("role"));
        assert!(!db.store.set_user_role(u.id + 1000, Role::Admin, &by("user.role", "user", "x")).await.expect("none"));
        assert!(!db.store.set_user_active(u.id + 1000, false, &by("user.deactivate", "user", "x")).await.expect("none"));
        assert_eq!(
            actions(db.store.audit_log(None, 10).await.expect("log")),
            vec![
                ("user.role".to_string(), uid.clone(), String::new()),
                ("user.create".to_string(), uid.clone(), String::new()),
            ]
        );

        // Log out everywhere: the entry says how many sessions ended.
        db.store.create_session("a", u.id, "c", now, now + Duration::hours(1)).await.expect("a");
        db.store.create_session("b", u.id, "c", now, now + Duration::hours(1)).await.expect("b");
        assert_eq!(db.store.sign_out_everywhere(u.id, now, &by("logout_everywhere", "user", &uid)).await.expect("out"), (2, 0));
        assert_eq!(db.store.audit_log(None, 1).await.expect("log")[0].detail, "2 sessions, 0 API tokens");

        // A section: the entry gets its id and path; a second one at the same
        // address is refused and leaves none.
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
        let edit = newsdesk_storage::SectionEdit { name: "Iran".into(), slug: None, parent_id: None, position: 0 };
        let s = db.store.create_section(e, &edit, &by("section.create", "section", "")).await.expect("section");
        let sid = s.id.to_string();
        assert_eq!(
            actions(db.store.audit_log(Some(("section", &sid)), 10).await.expect("log")),
            vec![("section.create".to_string(), sid.clone(), "iran".to_string())]
        );
        let taken = db.store.create_section(e, &edit, &by("section.create", "section", "")).await;
        assert!(matches!(taken, Err(StoreError::Invalid(_))), "{taken:?}");
        assert_eq!(db.store.audit_log(Some(("section", "")), 10).await.expect("log"), Vec::new());
        assert_eq!(db.store.audit_log(None, 10).await.expect("log").len(), 4, "the refused section wrote no entry");
    }
}
