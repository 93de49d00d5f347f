//! `newsdesk user token` and `user add`/`user password` with `--password-stdin`
//! as a user runs them, on SQLite and on PostgreSQL.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

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

/// Runs newsdesk with `stdin` as its standard input.
fn newsdesk_with_stdin(db: &TestDb, dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.display().to_string(), "--database-url", &db.url])
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run newsdesk");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
}

backend_test! {
    async fn passwords_from_stdin_must_be_hard_to_guess_and_a_new_one_revokes_api_tokens(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let add = ["user", "add", "rita@example.org", "--role", "reporter", "--name", "Rita Reporter", "--password-stdin"];
        for weak in ["aaaaaaaaaaaa\n", "password1234\n", "rita@example.org\n"] {
            let out = newsdesk_with_stdin(&db, dir.path(), &add, weak);
            assert!(!out.status.success(), "{weak:?} was accepted");
            let err = text(&out.stderr);
            assert!(err.contains("the password from stdin is refused: the password is too easy to guess."), "{weak:?}: {err}");
        }
        assert!(db.store.user_by_email("rita@example.org").await.expect("read").is_none(), "no user made");
        let out = newsdesk_with_stdin(&db, dir.path(), &add, "reporter pass 000\n");
        assert!(out.status.success(), "{}", text(&out.stderr));

        let token = text(&newsdesk(&db, dir.path(), &["user", "token", "rita@example.org"]).stdout).trim().to_string();
        assert!(db.store.authenticate_api_token(&token, chrono::Utc::now()).await.expect("auth").is_some());
        let password = ["user", "password", "rita@example.org", "--password-stdin"];
        let out = newsdesk_with_stdin(&db, dir.path(), &password, "password1234\n");
        assert!(!out.status.success() && text(&out.stderr).contains("too easy to guess"), "{}", text(&out.stderr));
        assert!(db.store.authenticate_api_token(&token, chrono::Utc::now()).await.expect("auth").is_some(), "refused: nothing changed");
        let out = newsdesk_with_stdin(&db, dir.path(), &password, "another uncommon phrase\n");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("API tokens revoked"), "{}", text(&out.stdout));
        assert!(db.store.authenticate_api_token(&token, chrono::Utc::now()).await.expect("auth").is_none(), "revoked");
    }
}
