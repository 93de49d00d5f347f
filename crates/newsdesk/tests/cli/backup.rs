//! The restore drill, as an operator runs it with the real binary: back up a
//! serving site while editors write and readers read, change things (a new
//! story, a kill, a new headline), stop, restore, start: story pages, home,
//! search, feeds and sitemaps show exactly the backed-up state. Restores that
//! must be refused (a site with content without --force, a foreign or damaged
//! file, a running server) change nothing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const SEED_ID: i64 = 84427;
/// Words of the seed story's body, to find it by search.
const SEED_QUERY: &str = "military+technologies";

fn newsdesk(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["--data", &dir.display().to_string()])
        .args(args)
        .env_remove("NEWSDESK_CONFIG")
        .env_remove("NEWSDESK_DATABASE_URL")
        .output()
        .expect("run newsdesk")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// One HTTP/1.1 exchange: status, head, body.
fn exchange(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> Option<(u16, String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = json.unwrap_or_default();
    if json.is_some() {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, head.to_string(), body.to_string()))
}

fn get(port: u16, path: &str) -> (u16, String) {
    let (status, _, body) = exchange(port, "GET", path, None, None).unwrap_or_else(|| panic!("GET {path} answers"));
    (status, body)
}

fn json(port: u16, method: &str, path: &str, token: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let (status, _, body) = exchange(port, method, path, Some(token), Some(&body.to_string()))
        .unwrap_or_else(|| panic!("{method} {path} answers"));
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

/// The story page, following the redirect from `/news/{id}` to its canonical URL.
fn story_page(port: u16, news_id: i64) -> (u16, String) {
    let path = format!("/news/{news_id}");
    let (status, head, body) = exchange(port, "GET", &path, None, None).expect("story answers");
    if status != 301 {
        return (status, body);
    }
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: ").or_else(|| l.strip_prefix("Location: ")))
        .expect("a redirect has a location")
        .trim()
        .to_string();
    let local = location.split_once("://").map_or(location.as_str(), |(_, rest)| &rest[rest.find('/').unwrap_or(0)..]);
    get(port, local)
}

/// News IDs found by the JSON search (first page) and the total.
fn search(port: u16, q: &str) -> (u64, Vec<i64>) {
    let (status, body) = get(port, &format!("/api/v1/search?q={q}"));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("search JSON");
    let ids = v["items"].as_array().expect("items").iter().filter_map(|i| i["news_id"].as_i64()).collect();
    (v["total"].as_u64().expect("total"), ids)
}

/// Every story sitemap of the site, concatenated.
fn sitemaps(port: u16) -> String {
    let (status, index) = get(port, "/sitemap.xml");
    assert_eq!(status, 200);
    let mut all = String::new();
    for loc in index.split("<loc>").skip(1).filter_map(|s| s.split("</loc>").next()) {
        let path = &loc[loc.find("://").map_or(0, |i| i + 3)..];
        let path = &path[path.find('/').unwrap_or(0)..];
        let (status, body) = get(port, path);
        assert_eq!(status, 200, "{path}");
        all.push_str(&body);
    }
    let (_, news) = get(port, "/sitemap-news.xml");
    all + &news
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data", &dir.display().to_string()])
            .env_remove("NEWSDESK_DATABASE_URL")
            .env_remove("NEWSDESK_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start serve");
        let server = Server { child, port };
        let start = Instant::now();
        // Up, and its search index built (the seed story is published in every state of this test).
        loop {
            if let Some((200, _, body)) = exchange(port, "GET", &format!("/api/v1/search?q={SEED_QUERY}"), None, None)
                && body.contains(&format!("\"news_id\":{SEED_ID}"))
            {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(90), "the server did not come up with its search index");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// SIGTERM, as an operator stops it, and wait for the exit.
    fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let start = Instant::now();
        while self.child.try_wait().ok().flatten().is_none() {
            assert!(start.elapsed() < Duration::from_secs(30), "the server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn digest(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read")))
}

/// What the test expects a site to show of the stories it changes.
fn headline_of(port: u16, token: &str, news_id: i64) -> (String, i64) {
    let (status, v) = json(port, "GET", &format!("/api/v1/stories/{news_id}"), token, &serde_json::Value::Null);
    assert_eq!(status, 200, "{v}");
    (v["headline"].as_str().expect("headline").to_string(), v["version"].as_i64().expect("version"))
}

#[test]
fn restore_drill_brings_back_exactly_the_backed_up_site() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let out = newsdesk(&data, &["demo", "--stories", "30"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = newsdesk(&data, &["user", "add", "ed@example.org", "--role", "editor"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = newsdesk(&data, &["user", "token", "ed@example.org"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();

    let server = Server::start(&data);
    let port = server.port;
    let (_, seed) = json(port, "GET", &format!("/api/v1/stories/{SEED_ID}"), &token, &serde_json::Value::Null);
    let section = seed["section"]["path"].as_str().expect("section path").to_string();
    let (status, list) = json(port, "GET", "/api/v1/stories?limit=5", &token, &serde_json::Value::Null);
    assert_eq!(status, 200);
    let edited = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["news_id"].as_i64())
        .find(|&id| id != SEED_ID)
        .expect("a synthetic story");
    let (old_headline, _) = headline_of(port, &token, edited);

    // Editors publish stories and readers read while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let published = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, published, token, section) = (stop.clone(), published.clone(), token.clone(), section.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let (status, v) = json(
                    port,
                    "POST",
                    "/api/v1/stories",
                    &token,
                    &serde_json::json!({"headline": format!("Concurrent wombat report {n}"), "section": section,
                        "body": "Written while the backup ran."}),
                );
                assert_eq!(status, 201, "{v}");
                let id = v["news_id"].as_i64().expect("id");
                let version = v["version"].as_i64().expect("version");
                let (status, v) = json(
                    port,
                    "POST",
                    &format!("/api/v1/stories/{id}/publish"),
                    &token,
                    &serde_json::json!({"version": version}),
                );
                assert_eq!(status, 200, "{v}");
                published.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(get(port, "/").0, 200);
                }
            })
        })
        .collect();
    while published.load(Ordering::Relaxed) < 3 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let backup = dir.path().join("site.backup");
    let out = newsdesk(&data, &["backup", &backup.display().to_string()]);
    let during = published.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    writer.join().expect("writer");
    for r in readers {
        r.join().expect("reader");
    }
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(
        line.starts_with("backed up ") && line.contains(" stories, ") && line.trim().ends_with("site.backup"),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1, "{line}");
    let after = published.load(Ordering::Relaxed);
    assert!(after > during, "writers kept writing after the backup ({during} then {after})");
    // How many of the concurrent stories the backup caught: its stdout counts all stories.
    let in_backup: u64 = line["backed up ".len()..].split(' ').next().and_then(|n| n.parse().ok()).expect("count");

    // After the backup: a new story, the seed killed, a headline changed.
    let (status, v) = json(
        port,
        "POST",
        "/api/v1/stories",
        &token,
        &serde_json::json!({"headline": "Zeppelin service resumes over the capital", "section": section, "body": "Airships return."}),
    );
    assert_eq!(status, 201, "{v}");
    let new_id = v["news_id"].as_i64().expect("id");
    let (status, v) = json(
        port,
        "POST",
        &format!("/api/v1/stories/{new_id}/publish"),
        &token,
        &serde_json::json!({"version": v["version"]}),
    );
    assert_eq!(status, 200, "{v}");
    let (_, seed_version) = headline_of(port, &token, SEED_ID);
    let (status, v) = json(
        port,
        "POST",
        &format!("/api/v1/stories/{SEED_ID}/workflow"),
        &token,
        &serde_json::json!({"action": "kill", "version": seed_version, "public_note": "Withdrawn for the drill.", "reason": "A backup drill."}),
    );
    assert_eq!(status, 200, "{v}");
    let (_, version) = headline_of(port, &token, edited);
    let (status, v) = json(
        port,
        "PATCH",
        &format!("/api/v1/stories/{edited}"),
        &token,
        &serde_json::json!({"version": version, "headline": "Quokka census finds record numbers"}),
    );
    assert_eq!(status, 200, "{v}");
    // The running site (and its search index) took all of it in.
    let start = Instant::now();
    while !(search(port, "zeppelin").1 == vec![new_id]
        && search(port, SEED_QUERY).0 == 0
        && search(port, "quokka").1 == vec![edited])
    {
        assert!(start.elapsed() < Duration::from_secs(10), "the live index did not follow the changes");
        std::thread::sleep(Duration::from_millis(50));
    }
    let total_before_restore = search(port, "wombat").0;
    assert_eq!(total_before_restore, after as u64);

    // A restore over a running site is refused, and so is one without --force over a site with content.
    let db = data.join("newsdesk.db");
    let out = newsdesk(&data, &["restore", "--force", &backup.display().to_string()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("in use"), "{}", text(&out.stderr));
    server.stop();
    let untouched = digest(&db);
    let out = newsdesk(&data, &["restore", &backup.display().to_string()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("is not empty") && err.contains("--force"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // A foreign file and a damaged backup are refused, with nothing changed.
    let foreign = dir.path().join("photo.jpg");
    std::fs::write(&foreign, [0xFF, 0xD8, 0xFF, 0xE0].repeat(100)).expect("write");
    let damaged = dir.path().join("damaged.backup");
    let mut bytes = std::fs::read(&backup).expect("read");
    let cut = bytes.len() / 2;
    bytes.truncate(cut);
    std::fs::write(&damaged, &bytes).expect("write");
    for (file, why) in [(&foreign, "not an SQLite database"), (&damaged, "damaged")] {
        let out = newsdesk(&data, &["restore", "--force", &file.display().to_string()]);
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(err.contains("is not a newsdesk backup") && err.contains(why), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert_eq!(digest(&db), untouched, "refused restores leave the database alone");

    let backup_digest = digest(&backup);
    let out = newsdesk(&data, &["restore", "--force", &backup.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(line.starts_with(&format!("restored {in_backup} stories, ")), "{line}");
    assert_eq!(line.lines().count(), 1, "{line}");
    assert_eq!(digest(&backup), backup_digest, "the backup file is only read");

    // The site restarted shows the backed-up state everywhere.
    let server = Server::start(&data);
    let port = server.port;
    assert_eq!(story_page(port, new_id).0, 404, "the story published after the backup is gone");
    assert_eq!(search(port, "zeppelin"), (0, vec![]));
    let (status, page) = story_page(port, SEED_ID);
    assert_eq!(status, 200, "the killed story is back");
    assert!(!page.contains("Withdrawn for the drill."));
    assert_eq!(search(port, SEED_QUERY).1, vec![SEED_ID]);
    let (status, page) = story_page(port, edited);
    assert_eq!(status, 200);
    // The headline up to the first character HTML escapes.
    let plain_old = old_headline.split(['\'', '&', '"', '<', '>']).next().expect("text");
    assert!(plain_old.len() >= 10 && page.contains(plain_old) && !page.contains("Quokka"), "the old headline is back");
    assert_eq!(headline_of(port, &token, edited).0, old_headline);
    assert_eq!(search(port, "quokka"), (0, vec![]));
    let (_, home) = get(port, "/");
    assert!(!home.contains("Zeppelin") && !home.contains("Quokka"), "home shows the backed-up stories");
    let (_, rss) = get(port, "/feed.rss");
    assert!(!rss.contains("Zeppelin") && !rss.contains("Quokka"), "the feed shows the backed-up stories");
    let maps = sitemaps(port);
    assert!(!maps.contains(&format!("/news/{new_id}/")), "sitemaps no longer list the new story");
    assert!(maps.contains(&format!("/news/{SEED_ID}/")), "sitemaps list the killed story again");
    // The concurrent stories: exactly those the backup caught (every story but them was there before).
    let caught = search(port, "wombat").0;
    assert!(caught >= 3 && caught < after as u64, "{caught} of {after}");
    let (status, list) = json(port, "GET", "/api/v1/stories?limit=100", &token, &serde_json::Value::Null);
    assert_eq!(status, 200);
    let listed = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["headline"].as_str().is_some_and(|h| h.contains("wombat")))
        .count();
    assert_eq!(listed as u64, caught, "search and the site agree on the restored stories");
    server.stop();
}
