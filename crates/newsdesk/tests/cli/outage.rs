//! A database outage as an operator sees it: the real binary serves from its
//! own PostgreSQL database, which then refuses connections (and loses the ones
//! it had) for 25 s — longer than the edition fragments' lifetime (set to 10 s
//! here, 60 s by default, with `sidebar_refresh_secs`). Cached
//! pages keep answering 200, and so does search (this node's index, with the
//! edition's sections the pages read before); uncached pages and the JSON APIs
//! answer 503 with `Retry-After`; the log says so a handful of times, not per
//! request; and everything answers again, a new publish included, within
//! seconds of the database coming back. Needs `NEWSDESK_TEST_POSTGRES_URL`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use newsdesk_storage::testing::POSTGRES_ENV;

const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/seed/000_ad66ece867d7ed05.txt");
const STORY: &str = "/news/84427/defense-ministry-iran-gaining-access-to-modern-military-technologies-as-exports";
const HEADLINE: &str = "Defense Ministry: Iran Gaining Access to Modern Military Technologies as Exports Booming";
const OUTAGE: Duration = Duration::from_secs(25);
/// The edition fragments' lifetime the server runs with.
const SIDEBAR_REFRESH_SECS: u64 = 10;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// One answer: status, headers (lower-cased names) and body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn get(port: u16, path: &str, extra: &str) -> Option<Answer> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n").ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(Answer { status, head: head.to_string(), body: body.to_string() })
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A database of this test's own on the test server, dropped at the end.
struct OwnDatabase {
    admin: sqlx::PgPool,
    name: String,
    url: String,
}

impl OwnDatabase {
    async fn create(base: &str) -> OwnDatabase {
        let admin = sqlx::PgPool::connect(base).await.expect("connect to the test PostgreSQL server");
        let name = format!("newsdesk_outage_{:016x}", rand_id());
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create the database");
        let (server, _) = base.split('?').next().and_then(|b| b.rsplit_once('/')).expect("the URL names a database");
        OwnDatabase { admin, url: format!("{server}/{name}"), name }
    }

    /// Refuses new connections and ends the open ones, as a database going away does.
    async fn go_down(&self) {
        sqlx::query(&format!("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false", self.name))
            .execute(&self.admin)
            .await
            .expect("refuse");
        sqlx::query(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
            self.name
        ))
        .execute(&self.admin)
        .await
        .expect("terminate");
    }

    async fn come_back(&self) {
        sqlx::query(&format!("ALTER DATABASE {} WITH ALLOW_CONNECTIONS true", self.name))
            .execute(&self.admin)
            .await
            .expect("allow");
    }

    async fn drop_it(self) {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&self.admin).await;
        self.admin.close().await;
    }
}

fn rand_id() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    t.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
}

fn newsdesk(dir: &Path, database_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsdesk"));
    cmd.args(["--data", &dir.display().to_string()])
        .env_remove("NEWSDESK_CONFIG")
        .env_remove("RUST_LOG")
        .env("NEWSDESK_DATABASE_URL", database_url)
        .env("NEWSDESK_SIDEBAR_REFRESH_SECS", SIDEBAR_REFRESH_SECS.to_string())
        .stdout(Stdio::null());
    cmd
}

/// The seed story as another one (News ID 84428, a day later, its own headline).
fn second_story(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(SEED)
        .expect("seed")
        .replace("84427", "84428")
        .replace("15November 2023", "16November 2023")
        .replace(HEADLINE, "The Desk Publishes Again After the Outage");
    let path = dir.join("second.txt");
    std::fs::write(&path, text).expect("write the second story");
    path
}

/// Counts of statuses by kind of request.
#[derive(Default)]
struct Tally(BTreeMap<(&'static str, u16), u32>);

impl Tally {
    fn add(&mut self, kind: &'static str, status: u16) {
        *self.0.entry((kind, status)).or_default() += 1;
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for ((kind, status), n) in &self.0 {
            write!(f, "{kind} {status}: {n}; ")?;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_pages_survive_a_database_outage_and_everything_recovers() {
    let Ok(base) = std::env::var(POSTGRES_ENV) else {
        eprintln!("{POSTGRES_ENV} is not set: the outage test is skipped");
        return;
    };
    let db = OwnDatabase::create(&base).await;
    let dir = tempfile::tempdir().expect("tmp");
    let status = newsdesk(dir.path(), &db.url).args(["import", "page", SEED]).status().expect("import");
    assert!(status.success(), "import the seed story");

    let port = free_port();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let child = newsdesk(dir.path(), &db.url)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start serve");
    let server = Server(child);
    let start = Instant::now();
    while get(port, "/healthz", "").is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Warm the pages readers keep reading.
    let cached = ["/", STORY, "/section/iran"];
    for path in cached {
        let a = get(port, path, "").expect("answer");
        assert_eq!(a.status, 200, "{path} before the outage");
    }
    let home = get(port, "/", "").expect("home");
    assert!(home.body.contains(HEADLINE));
    assert_eq!(get(port, "/api/v1/stories", "").expect("api").status, 200);

    // The start's own work (the search index filled from the database) is
    // done before the outage, so its log lines are not counted as the outage's.
    let start = Instant::now();
    while !std::fs::read_to_string(&log_path).expect("log").contains("search index rebuilt") {
        assert!(start.elapsed() < Duration::from_secs(60), "the search index was not filled at start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let log_before = std::fs::read_to_string(&log_path).expect("log").lines().count();
    db.go_down().await;
    let down_at = Instant::now();
    let mut tally = Tally::default();
    let mut slowest_503 = Duration::ZERO;
    let mut cached_after_ttl = 0;
    while down_at.elapsed() < OUTAGE {
        for path in cached {
            let a = get(port, path, "").expect("a cached page answers");
            tally.add("cached", a.status);
            assert_eq!(a.status, 200, "{path} at {:?} of the outage", down_at.elapsed());
            assert!(a.body.contains("<h1") || a.body.contains(HEADLINE), "{path} is the page");
            if down_at.elapsed() > Duration::from_secs(SIDEBAR_REFRESH_SECS + 2) {
                cached_after_ttl += 1;
            }
        }
        // Search needs only this node's index (and the sections held in memory).
        let search = get(port, "/search?q=defense", "").expect("search answers");
        tally.add("search", search.status);
        assert_eq!(search.status, 200, "search during the outage: {}", search.body);
        assert!(search.body.contains("1 story found."), "the seed is found: {}", search.body);
        let uncached: [(&'static str, &str, &str); 4] = [
            ("uncached page", "/archive/2023/11/14", ""),
            ("api", "/api/v1/sections", ""),
            ("api", "/api/v1/stories/84427", ""),
            ("ninjs", "/api/ninjs/v2/items", "Authorization: Bearer nd_wire_not_a_real_key\r\n"),
        ];
        for (kind, path, extra) in uncached {
            let t = Instant::now();
            let a = get(port, path, extra).expect("an uncached address answers");
            tally.add(kind, a.status);
            assert_eq!(a.status, 503, "{path} during the outage: {}", a.body);
            slowest_503 = slowest_503.max(t.elapsed());
            assert!(a.header("retry-after").is_some_and(|v| v.parse::<u32>().is_ok()), "{path}: {}", a.head);
            if path.starts_with("/api/") {
                let body: serde_json::Value = serde_json::from_str(&a.body).expect("JSON error body");
                assert_eq!(body["error"]["code"], "unavailable", "{path}: {body}");
            } else {
                assert!(
                    a.body.contains("Temporarily unavailable") || a.body.contains("unavailable"),
                    "{path}: {}",
                    a.body
                );
            }
        }
        let ready = get(port, "/readyz", "").expect("readyz");
        tally.add("readyz", ready.status);
        assert_eq!(ready.status, 503, "not ready during the outage");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(cached_after_ttl > 0, "cached pages were asked past the fragments' lifetime");
    let outage_log: Vec<String> =
        std::fs::read_to_string(&log_path).expect("log").lines().skip(log_before).map(str::to_string).collect();

    db.come_back().await;
    let back_at = Instant::now();
    let recovered = loop {
        let ok = ["/archive/2023/11/14", "/api/v1/sections", "/search?q=defense", "/readyz"]
            .iter()
            .all(|p| get(port, p, "").is_some_and(|a| a.status == 200));
        if ok {
            break back_at.elapsed();
        }
        assert!(back_at.elapsed() < Duration::from_secs(15), "not recovered 15 s after the database came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // A publish after the outage shows on the home page (the change follower resumed).
    let second = second_story(dir.path());
    let status =
        newsdesk(dir.path(), &db.url).args(["import", "page", &second.display().to_string()]).status().expect("import");
    assert!(status.success(), "import after the outage");
    let published = Instant::now();
    loop {
        let home = get(port, "/", "").expect("home");
        if home.status == 200 && home.body.contains("The Desk Publishes Again After the Outage") {
            break;
        }
        assert!(published.elapsed() < Duration::from_secs(10), "the new story is not on the home page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shown_after = published.elapsed();

    eprintln!("outage figures: {tally}");
    eprintln!(
        "slowest 503: {slowest_503:?}; recovered {recovered:?} after the database came back; publish shown after {shown_after:?}"
    );
    eprintln!("server log during the {OUTAGE:?} outage ({} lines):", outage_log.len());
    for l in &outage_log {
        eprintln!("  {l}");
    }
    let after: Vec<String> = std::fs::read_to_string(&log_path)
        .expect("log")
        .lines()
        .skip(log_before + outage_log.len())
        .map(str::to_string)
        .collect();
    eprintln!("server log after the database came back:");
    for l in &after {
        eprintln!("  {l}");
    }
    assert!(after.iter().any(|l| l.contains("the database is available again")), "the recovery is logged");
    assert!(outage_log.len() <= 12, "the log repeats itself during the outage: {} lines", outage_log.len());
    assert!(slowest_503 < Duration::from_secs(5), "a 503 took {slowest_503:?}");
    drop(server);
    db.drop_it().await;
}
