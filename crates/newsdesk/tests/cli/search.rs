//! `newsdesk search reindex`, and a running server's search following imports
//! made by another process.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use newsdesk_storage::backend_test;

const SEED: &str = include_str!("../../../../demo/seed/000_ad66ece867d7ed05.txt");
const SEED_HEADLINE: &str = "Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports Booming";

fn newsdesk(db_url: Option<&str>, dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsdesk"));
    cmd.args(["--data", &dir.display().to_string()]);
    if let Some(url) = db_url {
        cmd.args(["--database-url", url]);
    }
    cmd.args(args).env_remove("NEWSDESK_CONFIG").env_remove("NEWSDESK_DATABASE_URL").output().expect("run newsdesk")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The seed page turned into another story.
fn other_page(news_id: u32, headline: &str) -> String {
    SEED.replace("News ID: 84427", &format!("News ID: {news_id}")).replace(SEED_HEADLINE, headline)
}

backend_test! {
    async fn reindex_rebuilds_from_the_database_and_refuses_an_index_in_use(db) {
        let dir = tempfile::tempdir().expect("tmp");
        let seed = dir.path().join("seed.txt");
        std::fs::write(&seed, SEED).expect("write");
        let import = newsdesk(Some(&db.url), dir.path(), &["import", "page", &seed.display().to_string()]);
        assert!(import.status.success(), "{}", text(&import.stderr));

        let out = newsdesk(Some(&db.url), dir.path(), &["search", "reindex"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.starts_with("indexed 1 stories (every state; readers find the published ones) into "), "{stdout}");

        let index = newsdesk_search::SearchIndex::open_or_create(&dir.path().join("search")).expect("open");
        let hits = index
            .search("en", "military technologies", &Default::default(), 1, &newsdesk_search::NoBodies)
            .expect("search");
        assert_eq!(hits.hits.iter().map(|h| h.news_id).collect::<Vec<_>>(), vec![84427]);

        // While another process holds the index, reindex says so and fails.
        let busy = newsdesk(Some(&db.url), dir.path(), &["search", "reindex"]);
        assert!(!busy.status.success());
        let stderr = text(&busy.stderr);
        assert!(stderr.contains("in use by another process"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        drop(index);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn get(port: u16, path: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    Some((head.to_string(), body.to_string()))
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_running_server_finds_stories_imported_by_another_process() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args([
            "serve",
            "--demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data",
            &dir.path().display().to_string(),
        ])
        .env_remove("NEWSDESK_DATABASE_URL")
        .env_remove("NEWSDESK_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let _server = Server(child);
    let start = Instant::now();
    // The server builds its index from the demo content on start.
    loop {
        if let Some((head, body)) = get(port, "/search?q=military+technologies")
            && head.starts_with("HTTP/1.1 200")
            && body.contains("/news/84427/")
        {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the seed story never became searchable");
        std::thread::sleep(Duration::from_millis(100));
    }

    let page = dir.path().join("windfarm.txt");
    std::fs::write(&page, other_page(90001, "Zanjan windfarm opens with forty turbines")).expect("write");
    let import = newsdesk(None, dir.path(), &["import", "page", &page.display().to_string()]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    let imported = Instant::now();
    loop {
        let (_, body) = get(port, "/api/v1/search?q=windfarm+turbines").expect("api answers");
        if body.contains("\"news_id\":90001") {
            break;
        }
        assert!(imported.elapsed() < Duration::from_secs(3), "the import was not searchable within 3 s: {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
