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
fn serve_demo_answers_and_stops_cleanly_on_sigterm() {
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
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let mut server = Server(child);
    let start = Instant::now();
    while get(port, "/healthz").is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
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
