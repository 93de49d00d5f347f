//! `newsdesk serve` as a process: demo content, answers, graceful shutdown.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A plain HTTP/1.1 GET; returns the status line and headers, and the body.
fn get(port: u16, path: &str) -> Option<(String, String)> {
    get_with(port, path, "")
}

/// A GET with more header lines (each ending in CRLF).
fn get_with(port: u16, path: &str, headers: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n").ok()?;
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

/// `newsdesk serve --demo` on a free port with `env`, once it answers.
fn serve_demo(dir: &std::path::Path, env: &[(&str, &str)]) -> (Server, u16) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}"), "--data", &dir.display().to_string()])
        .env_remove("NEWSDESK_DATABASE_URL")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let server = Server(child);
    let start = Instant::now();
    while get(port, "/healthz").is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port)
}

#[test]
fn serve_demo_answers_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut server, port) = serve_demo(dir.path(), &[]);
    let (head, _) = get(port, "/news/84427").expect("answer");
    assert!(head.starts_with("HTTP/1.1 301"), "{head}");
    assert!(head.to_lowercase().contains("location: /news/84427/defense-ministry-iran-gaining-access"), "{head}");
    let (head, body) =
        get(port, "/news/84427/defense-ministry-iran-gaining-access-to-modern-military-technologies-as-exports")
            .expect("story");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("<h1>Defense Ministry: Iran Gaining Access"));
    let (head, body) = get(port, "/").expect("home");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        body.contains("class=\"top-story\"") && body.contains("(Synthetic demo text.)"),
        "demo stories on the home page"
    );

    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let start = Instant::now();
    loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            assert!(status.success(), "exit status after SIGTERM: {status}");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "server did not stop within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `/metrics` of the binary reports its allocator's figures: memory the
/// program holds, and what the allocator keeps in memory.
#[test]
fn metrics_report_the_allocator() {
    let dir = tempfile::tempdir().expect("tmp");
    let token = "a-token-for-the-allocator-test";
    let (_server, port) = serve_demo(dir.path(), &[("NEWSDESK_METRICS_TOKEN", token)]);
    let (head, body) = get_with(port, "/metrics", &format!("Authorization: Bearer {token}\r\n")).expect("metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let value = |name: &str| -> f64 {
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{body}"))
    };
    let allocated = value("newsdesk_allocator_allocated_bytes");
    let active = value("newsdesk_allocator_active_bytes");
    let resident = value("newsdesk_allocator_resident_bytes");
    assert!(allocated > 1e6, "a serving process holds more than a megabyte: {allocated}");
    assert!(
        allocated <= active && active <= resident,
        "allocated {allocated} <= active {active} <= resident {resident}"
    );
    assert!(value("newsdesk_allocator_metadata_bytes") > 0.0);
    assert!(body.contains("# HELP newsdesk_allocator_retained_bytes"), "{body}");
}
