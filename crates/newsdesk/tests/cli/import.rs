//! `newsdesk import page` as a user runs it, on SQLite and on PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use newsdesk_storage::backend_test;
use newsdesk_storage::testing::TestDb;

const SEED: &str = include_str!("../../../../demo/seed/000_ad66ece867d7ed05.txt");

fn newsdesk(db: &TestDb, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.display().to_string(), "--database-url", &db.url])
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .output()
        .expect("run newsdesk")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

backend_test! {
    async fn importing_the_seed_twice_creates_one_story(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let seed = write(dir.path(), "seed.txt", SEED);
        let first = newsdesk(&db, dir.path(), &["import", "page", &seed.display().to_string()]);
        assert!(first.status.success(), "{}", text(&first.stderr));
        assert_eq!(
            text(&first.stdout).trim(),
            "84427 http://127.0.0.1:8080/news/84427/defense-ministry-iran-gaining-access-to-modern-military-technologies-as-exports (created)"
        );
        let second = newsdesk(&db, dir.path(), &["import", "page", &seed.display().to_string()]);
        assert!(second.status.success());
        assert!(text(&second.stdout).ends_with("(unchanged)\n"));
        assert_eq!(db.store.story_count().await.expect("count"), 1);
        let story = db.store.story(84427).await.expect("load").expect("imported");
        assert_eq!(story.headline, "Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports Booming");
        assert_eq!(story.version, 1);
        let edition = db.store.default_edition().await.expect("edition").expect("created from config");
        assert_eq!(edition.time_zone, chrono_tz::Asia::Tehran);
        assert_eq!(
            newsdesk_domain::dates::iso8601(story.published_at.expect("published"), edition.time_zone),
            "2023-11-15T14:37:00+03:30"
        );
    }
}

backend_test! {
    async fn a_malformed_file_is_refused_with_file_line_and_expectation_and_nothing_is_stored(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let bad = write(dir.path(), "bad.txt", &SEED.replace("News ID: 84427", "News ID: eighty"));
        let out = newsdesk(&db, dir.path(), &["import", "page", &bad.display().to_string()]);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(err.contains(&format!("{}:8: expected a positive integer after `News ID:`, found `eighty`", bad.display())), "{err}");
        assert_eq!(db.store.story_count().await.expect("count"), 0);
        let edition = db.store.default_edition().await.expect("edition").expect("edition");
        assert!(db.store.sections(edition.id).await.expect("sections").is_empty(), "no section from a refused file");
    }
}

backend_test! {
    async fn good_files_are_imported_and_bad_ones_reported(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let good = write(dir.path(), "good.txt", SEED);
        let other = write(dir.path(), "other.txt", &SEED.replace("84427", "84428").replace("iran << Iran", "Defense << Iran"));
        let bad = write(dir.path(), "bad.txt", "just some text\n");
        let out = newsdesk(&db, dir.path(), &["import", "page", &good.display().to_string(), &bad.display().to_string(), &other.display().to_string()]);
        assert!(!out.status.success());
        let stdout = text(&out.stdout);
        assert!(stdout.contains("84427 ") && stdout.contains("84428 "), "{stdout}");
        let err = text(&out.stderr);
        assert!(err.contains("bad.txt:1: expected a section breadcrumb"), "{err}");
        assert!(err.contains("1 of 3 files not imported"), "{err}");
        let other = db.store.story(84428).await.expect("load").expect("imported");
        let edition = db.store.default_edition().await.expect("edition").expect("edition");
        let sections = db.store.sections(edition.id).await.expect("sections");
        let section = sections.iter().find(|s| s.id == other.section_id).expect("section");
        assert_eq!(section.path, "iran/defense");
    }
}

backend_test! {
    async fn an_unknown_edition_is_refused(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let seed = write(dir.path(), "seed.txt", SEED);
        let out = newsdesk(&db, dir.path(), &["import", "page", "--edition", "xx", &seed.display().to_string()]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("there is no edition `xx`"));
    }
}

#[test]
fn a_bad_setting_fails_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.path().display().to_string(), "migrate"])
        .env("NEWSDESK_PAGE_CACHE_MB", "many")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.to_lowercase().contains("page_cache_mb"), "{err}");
}

#[test]
fn migrate_creates_the_sqlite_database_in_the_data_dir() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("site");
    let out = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["migrate", "--data", &data.display().to_string()])
        .env_remove("NEWSDESK_DATABASE_URL")
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(data.join("newsdesk.db").is_file());
}

const PERSIAN_PAGE: &str = include_str!("../../../../demo/pages/fa-90001.txt");

backend_test! {
    async fn a_page_with_persian_labels_imports_into_the_persian_edition(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let page = write(dir.path(), "fa.txt", PERSIAN_PAGE);
        let out = newsdesk(&db, dir.path(), &["import", "page", "--edition", "fa", &page.display().to_string()]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.starts_with("90001 http://127.0.0.1:8080/fa/news/90001/وزارت-دفاع"), "{stdout}");
        assert!(stdout.trim_end().ends_with("(created)"), "{stdout}");
        let story = db.store.story(90001).await.expect("load").expect("imported");
        let fa = db.store.edition_by_lang("fa").await.expect("read").expect("created on first import");
        assert_eq!(story.edition_id, fa.id);
        assert_eq!(fa.direction, newsdesk_domain::Direction::Rtl);
        assert_eq!(fa.calendar, newsdesk_domain::calendar::Calendar::SolarHijri);
        assert!(!fa.is_default, "the default edition stays the configured one");
        // ۲۴ آبان ۱۴۰۲ - ۱۴:۳۷ in Tehran.
        assert_eq!(
            newsdesk_domain::dates::iso8601(story.published_at.expect("published"), fa.time_zone),
            "2023-11-15T14:37:00+03:30"
        );
        assert_eq!(fa.format_long(story.published_at.expect("published")), "۲۴ آبان ۱۴۰۲ - ۱۴:۳۷");
        let again = newsdesk(&db, dir.path(), &["import", "page", "--edition", "fa", &page.display().to_string()]);
        assert!(text(&again.stdout).trim_end().ends_with("(unchanged)"));
        let bad = newsdesk(&db, dir.path(), &["import", "page", "--edition", "F A", &page.display().to_string()]);
        assert!(!bad.status.success());
        assert!(text(&bad.stderr).contains("there is no edition `F A`"), "{}", text(&bad.stderr));
    }
}

backend_test! {
    /// `newsdesk demo` fills an empty site and, on PostgreSQL, says how the
    /// stories' foreign keys were checked (the test server's role may turn
    /// the key triggers off: once a batch).
    async fn demo_fills_an_empty_site_and_says_how_its_keys_were_checked(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let out = newsdesk(&db, dir.path(), &["demo", "--stories", "40"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let said = text(&out.stdout);
        assert!(said.starts_with("created "), "{said}");
        match db.store.backend() {
            newsdesk_storage::Backend::Postgres => assert!(said.contains("\nforeign keys checked once a batch\n"), "{said}"),
            newsdesk_storage::Backend::Sqlite => assert!(!said.contains("foreign keys"), "{said}"),
        }
        assert!(db.store.story_count().await.expect("count") > 40);
        let again = newsdesk(&db, dir.path(), &["demo", "--stories", "40"]);
        assert_eq!(text(&again.stdout), "the site already has stories; nothing was added\n");
    }
}
