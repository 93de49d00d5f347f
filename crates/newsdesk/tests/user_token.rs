//! `newsdesk user token` as a user runs it, on SQLite and on PostgreSQL.

use std::path::Path;
use std::process::{Command, Output};

use newsdesk_storage::backend_test;
use newsdesk_storage::testing::TestDb;

fn newsdesk(db: &TestDb, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.display().to_string(), "--database-url", &db.url])
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .output()
        .expect("run newsdesk")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

backend_test! {
    async fn user_token_prints_a_token_once_that_authenticates_the_user(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let add = newsdesk(&db, dir.path(), &["user", "add", "rita@example.org", "--role", "reporter"]);
        assert!(add.status.success(), "{}", text(&add.stderr));
        let out = newsdesk(&db, dir.path(), &["user", "token", "Rita@Example.org", "--name", "phone app"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let token = text(&out.stdout).trim().to_string();
        assert!(token.starts_with("ndt_") && !token.contains(char::is_whitespace), "stdout is the token alone: {token}");
        let (user, _) = db.store.authenticate_api_token(&token, chrono::Utc::now()).await.expect("auth").expect("valid");
        assert_eq!(user.email, "rita@example.org");
        let stored = db.store.api_tokens(user.id).await.expect("tokens");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].name, "phone app");
        let log = db.store.audit_log(Some(("user", &user.id.to_string())), 10).await.expect("audit");
        assert!(log.iter().any(|e| e.action == "token.create" && !e.detail.contains(&token)), "{log:?}");

        for (args, msg) in [
            (vec!["user", "token", "nobody@example.org"], "there is no user nobody@example.org"),
            (vec!["user", "token", "rita@example.org", "--name", " "], "the token name must not be empty"),
        ] {
            let out = newsdesk(&db, dir.path(), &args);
            assert!(!out.status.success(), "{args:?}");
            assert!(text(&out.stderr).contains(msg), "{args:?}: {}", text(&out.stderr));
        }
    }
}
