//! Durability of comments: clients post comments to the real binary, the
//! server is killed with SIGKILL in the middle, and after a restart every
//! comment that was answered 303 is in the database. On SQLite always, and on
//! PostgreSQL when `NEWSDESK_TEST_POSTGRES_URL` is set.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use newsdesk_storage::testing::TestDb;

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/seed/000_ad66ece867d7ed05.txt");
const CLIENTS: usize = 8;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// One HTTP/1.1 exchange; returns the status code and the body.
fn exchange(port: u16, request: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    exchange(port, &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"))
}

fn post_comment(port: u16, token: &str, text: &str) -> Option<u16> {
    let body = format!("name=Reader&email=&website=&token={}&text={}", encode(token), encode(text));
    let req = format!(
        "POST /news/84427/comments HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Origin: http://127.0.0.1:{port}\r\nSec-Fetch-Site: same-origin\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(port, &req).map(|(status, _)| status)
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn newsdesk(dir: &Path, database_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsdesk"));
    cmd.args(["--data", &dir.display().to_string()])
        .env_remove("NEWSDESK_CONFIG")
        .env("NEWSDESK_DATABASE_URL", database_url)
        // Loosened so the clients are not throttled; the seed story is from 2023.
        .env("NEWSDESK_COMMENTS__RATE_PER_IP", "0")
        .env("NEWSDESK_COMMENTS__RATE_PER_STORY", "0")
        .env("NEWSDESK_COMMENTS__CLOSE_AFTER_DAYS", "0")
        .env("NEWSDESK_COUNT_VIEWS", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn start(dir: &Path, database_url: &str, port: u16) -> Server {
    let child = newsdesk(dir, database_url)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .expect("start serve");
    let server = Server(child);
    let start = Instant::now();
    while get(port, "/healthz").is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn token_in(page: &str) -> String {
    let at = page.find("name=\"token\" value=\"").expect("the story page carries a form token") + 20;
    page[at..at + page[at..].find('"').expect("end of token")].to_string()
}

fn acknowledged_comments_survive_sigkill(db: TestDb) {
    let dir = tempfile::tempdir().expect("tmp");
    let status = newsdesk(dir.path(), &db.url).args(["import", "page", SEED]).status().expect("import");
    assert!(status.success(), "import the seed story");
    let port = free_port();
    let mut server = start(dir.path(), &db.url, port);
    let (status, page) =
        get(port, "/news/84427/defense-ministry-iran-gaining-access-to-modern-military-technologies-as-exports")
            .expect("story page");
    assert_eq!(status, 200);
    let token = token_in(&page);
    // The token's issue time starts the minimum fill time (3 s).
    std::thread::sleep(Duration::from_millis(3200));

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (acknowledged, stop, token) = (acknowledged.clone(), stop.clone(), token.clone());
            std::thread::spawn(move || {
                let mut refused = 0;
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let text = format!("kill test comment {c}-{i}");
                    match post_comment(port, &token, &text) {
                        Some(303) => acknowledged.lock().expect("lock").push(text),
                        Some(other) => {
                            refused += 1;
                            assert!(refused < 5, "posts refused with {other} while the server was up");
                        }
                        None => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        })
        .collect();
    // Let the clients write for a while, then kill the server in the middle of it.
    let began = Instant::now();
    while acknowledged.lock().expect("lock").len() < 40 && began.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.0.kill().expect("SIGKILL");
    server.0.wait().expect("reap");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(acknowledged.len() >= 40, "only {} comments acknowledged before the kill", acknowledged.len());

    // Restart on the same data: it comes up, and every acknowledged comment is there, once.
    let _server = start(dir.path(), &db.url, port);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let store = newsdesk_storage::Store::connect(&db.url).await.expect("open the database");
        let mut missing = Vec::new();
        for text in &acknowledged {
            match store.count_comments_with_body(text).await.expect("count") {
                1 => {}
                n => missing.push(format!("{text}: {n} rows")),
            }
        }
        assert!(missing.is_empty(), "acknowledged but not stored exactly once: {missing:?}");
        store.close().await;
    });
}

#[test]
fn acknowledged_comments_survive_sigkill_on_sqlite() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let db = rt.block_on(TestDb::sqlite());
    // The server opens the database file itself.
    rt.block_on(db.store.close());
    acknowledged_comments_survive_sigkill(db);
}

#[test]
fn acknowledged_comments_survive_sigkill_on_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let Some(db) = rt.block_on(TestDb::postgres()) else { return };
    acknowledged_comments_survive_sigkill(db);
}
