//! `newsdesk subscriber product ...` and `newsdesk subscriber access ...` on
//! SQLite and PostgreSQL: products are made and replaced from the command
//! line, bad codes are refused by name with nothing saved, and a subscriber's
//! product and embargo permission are set (and shown by `list`).

use std::path::Path;

use newsdesk_storage::backend_test;
use newsdesk_storage::testing::TestDb;
use tokio::process::Command;

const SEED: &str = include_str!("../../../../demo/seed/000_ad66ece867d7ed05.txt");

async fn run(db: &TestDb, dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.display().to_string(), "--database-url", &db.url])
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .output()
        .await
        .expect("run newsdesk")
}

/// Runs a command that must succeed; its stdout and stderr.
async fn ok(db: &TestDb, dir: &Path, args: &[&str]) -> (String, String) {
    let out = run(db, dir, args).await;
    assert!(out.status.success(), "newsdesk {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).trim().to_string(), String::from_utf8_lossy(&out.stderr).trim().to_string())
}

/// Runs a command that must fail; its stderr.
async fn fails(db: &TestDb, dir: &Path, args: &[&str]) -> String {
    let out = run(db, dir, args).await;
    assert!(!out.status.success(), "newsdesk {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

backend_test! {
    async fn products_and_access_are_set_from_the_command_line(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let seed = d.join("seed.txt");
        std::fs::write(&seed, SEED).expect("seed");
        ok(&db, d, &["import", "page", &seed.display().to_string()]).await;

        for (args, says) in [
            (vec!["--sections", "nowhere"], "--sections: There is no section “nowhere”"),
            (vec!["--subjects", "medtop:99999999"], "is not an IPTC Media Topic"),
            (vec!["--genres", "Gossip"], "“Gossip” is not an IPTC genre"),
            (vec!["--min-urgency", "0"], "--min-urgency: The minimum urgency must be a whole number from 1"),
            (vec!["--editions", "xx"], "There is no edition “xx”"),
        ] {
            let mut all = vec!["subscriber", "product", "add", "Bad"];
            all.extend(args);
            let e = fails(&db, d, &all).await;
            assert!(e.contains(says), "{e}");
        }
        let (out, _) = ok(&db, d, &["subscriber", "product", "list"]).await;
        assert!(out.is_empty(), "nothing saved: {out}");

        ok(&db, d, &["subscriber", "product", "add", "Iran flash", "--sections", "iran", "--min-urgency", "2",
            "--subjects", "medtop:11000000,medtop:16000000", "--genres", "Current"]).await;
        let e = fails(&db, d, &["subscriber", "product", "add", "Iran flash"]).await;
        assert!(e.contains("exists already"), "{e}");
        let (out, _) = ok(&db, d, &["subscriber", "product", "list"]).await;
        assert!(out.contains("Iran flash") && out.contains("sections: iran") && out.contains("urgency: 1–2")
            && out.contains("medtop:11000000, medtop:16000000") && out.contains("genre:Current"), "{out}");
        ok(&db, d, &["subscriber", "product", "set", "Iran flash", "--sections", "iran"]).await;
        let (out, _) = ok(&db, d, &["subscriber", "product", "list"]).await;
        assert!(out.contains("urgency: any") && out.contains("genres: any"), "set replaces every filter: {out}");
        let e = fails(&db, d, &["subscriber", "product", "set", "Nothing"]).await;
        assert!(e.contains("no product named `Nothing`"), "{e}");

        let e = fails(&db, d, &["subscriber", "add", "Gazette", "--product", "Nothing"]).await;
        assert!(e.contains("no product named `Nothing`"), "{e}");
        let (key, _) = ok(&db, d, &["subscriber", "add", "Gazette", "--product", "Iran flash", "--embargo"]).await;
        assert!(key.starts_with("nd_"), "{key}");
        ok(&db, d, &["subscriber", "add", "Herald"]).await;
        let (out, _) = ok(&db, d, &["subscriber", "list"]).await;
        assert!(out.lines().any(|l| l.starts_with("Gazette") && l.contains("product: Iran flash") && l.contains("embargoed copy: yes")), "{out}");
        assert!(out.lines().any(|l| l.starts_with("Herald") && l.contains("product: none") && l.contains("embargoed copy: no")), "{out}");

        ok(&db, d, &["subscriber", "access", "Gazette", "--product", "none"]).await;
        ok(&db, d, &["subscriber", "access", "Herald", "--embargo", "true", "--product", "Iran flash"]).await;
        let (out, _) = ok(&db, d, &["subscriber", "list"]).await;
        assert!(out.lines().any(|l| l.starts_with("Gazette") && l.contains("product: none") && l.contains("embargoed copy: yes")), "{out}");
        assert!(out.lines().any(|l| l.starts_with("Herald") && l.contains("product: Iran flash") && l.contains("embargoed copy: yes")), "{out}");
        let e = fails(&db, d, &["subscriber", "access", "Herald", "--embargo", "maybe"]).await;
        assert!(e.contains("maybe"), "{e}");
    }
}
