//! Personal API tokens, on SQLite and on PostgreSQL.

use chrono::{Duration, Utc};
use newsdesk_domain::roles::Role;
use newsdesk_storage::{NewUser, StoreError, TOKEN_PREFIX, backend_test, hash_key};

fn reporter() -> NewUser {
    NewUser { email: "rita@example.org".into(), name: "Rita".into(), role: Role::Reporter, password_hash: "h".into() }
}

backend_test! {
    async fn tokens_authenticate_their_user_until_revoked(db) {
        let now = Utc::now();
        let u = db.store.create_user(&reporter(), now, &newsdesk_storage::AuditEntry::system("test", "user.create", "user", "", "")).await.expect("user");
        let (token, stored) = db.store.create_api_token(u.id, "  phone app ", now, &newsdesk_storage::AuditEntry::system("test", "token.create", "user", "", "")).await.expect("token");
        assert!(token.starts_with(TOKEN_PREFIX), "{token}");
        assert_eq!((stored.user_id, stored.name.as_str()), (u.id, "phone app"));
        assert!(token.starts_with(&stored.prefix));
        assert!(stored.last_used_at.is_none());

        let (found, id) = db.store.authenticate_api_token(&token, now).await.expect("auth").expect("valid");
        assert_eq!((found.id, id), (u.id, stored.id));
        let listed = db.store.api_tokens(u.id).await.expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].last_used_at.map(|t| t.timestamp()), Some(now.timestamp()), "use is recorded");

        for wrong in ["", "ndt_", "nd_abc", &format!("{token}x"), &hash_key(&token)] {
            assert!(db.store.authenticate_api_token(wrong, now).await.expect("auth").is_none(), "{wrong}");
        }

        assert!(db.store.revoke_api_token(u.id, stored.id, now + Duration::seconds(1), &newsdesk_storage::AuditEntry::system("test", "token.revoke", "user", "", "")).await.expect("revoke"));
        assert!(!db.store.revoke_api_token(u.id, stored.id, now, &newsdesk_storage::AuditEntry::system("test", "token.revoke", "user", "", "")).await.expect("again"), "already revoked");
        assert!(db.store.authenticate_api_token(&token, now).await.expect("auth").is_none(), "revoked");
    }
}

backend_test! {
    async fn tokens_of_deactivated_users_do_not_work(db) {
        let now = Utc::now();
        let u = db.store.create_user(&reporter(), now, &newsdesk_storage::AuditEntry::system("test", "user.create", "user", "", "")).await.expect("user");
        let (token, _) = db.store.create_api_token(u.id, "ci", now, &newsdesk_storage::AuditEntry::system("test", "token.create", "user", "", "")).await.expect("token");
        assert!(db.store.set_user_active(u.id, false, &newsdesk_storage::AuditEntry::system("test", "user.deactivate", "user", "", "")).await.expect("deactivate"));
        assert!(db.store.authenticate_api_token(&token, now).await.expect("auth").is_none());
    }
}

backend_test! {
    async fn token_names_are_checked(db) {
        let now = Utc::now();
        let u = db.store.create_user(&reporter(), now, &newsdesk_storage::AuditEntry::system("test", "user.create", "user", "", "")).await.expect("user");
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(101)] {
            let r = db.store.create_api_token(u.id, bad, now, &newsdesk_storage::AuditEntry::system("test", "token.create", "user", "", "")).await;
            assert!(matches!(r, Err(StoreError::Invalid(_))), "{bad:?}: {r:?}");
        }
        assert!(db.store.api_tokens(u.id).await.expect("list").is_empty());
    }
}
