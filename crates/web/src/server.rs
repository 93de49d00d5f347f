//! The HTTP server: hyper's HTTP/1 connections serving the app, with two
//! defences `axum::serve` does not have. A client must send each request head
//! within [`ServerLimits::header_read_timeout`] (a slow-loris client that
//! dribbles a header every few seconds, or opens a connection and says nothing,
//! is disconnected; kept-alive connections that stay idle that long are closed
//! too), and one client address may hold at most
//! [`ServerLimits::max_connections_per_ip`] connections at once: the next one is
//! closed as soon as it is accepted, while the others keep working. The peer
//! address reaches handlers as `ConnectInfo<SocketAddr>`, as with
//! `into_make_service_with_connect_info`. A [`Front`] may answer a request
//! before the router sees it (the page cache's pages: [`crate::front`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// Answers a request, given its TCP peer, before the router, or leaves it to
/// the router (`None`). It runs on the connection's task and must not block:
/// the page cache's lookup, not a database read.
pub type Front = Arc<dyn Fn(&Request<Incoming>, SocketAddr) -> Option<Response> + Send + Sync>;

/// Limits of the server's connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Longest time a client may take to send a request head, from the moment
    /// the server waits for it (a new connection, or a kept-alive one after an answer).
    pub header_read_timeout: Duration,
    /// Most connections one IP address may hold open at once (at least 1).
    pub max_connections_per_ip: usize,
    /// Addresses the per-address limit does not apply to: the trusted reverse
    /// proxies, whose connections carry many readers.
    pub unlimited: Vec<IpAddr>,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Duration::from_secs(10),
            max_connections_per_ip: 256,
            unlimited: Vec::new(),
        }
    }
}

/// Open connections per client address.
#[derive(Debug, Default)]
struct Counts(Mutex<HashMap<IpAddr, usize>>);

/// One counted connection; uncounted when dropped (the connection ended).
struct Slot {
    counts: Arc<Counts>,
    ip: Option<IpAddr>,
}

impl Counts {
    /// A slot for a connection from `ip`, or `None` when it holds `max` already.
    fn take(self: &Arc<Self>, ip: IpAddr, limits: &ServerLimits) -> Option<Slot> {
        if limits.unlimited.contains(&ip) {
            return Some(Slot { counts: self.clone(), ip: None });
        }
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if *n >= limits.max_connections_per_ip.max(1) {
            return None;
        }
        *n += 1;
        Some(Slot { counts: self.clone(), ip: Some(ip) })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(ip) = self.ip else { return };
        let mut map = self.counts.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&ip);
            }
        }
    }
}

/// Whether an `accept` error concerns one connection only (the client went
/// away before it was accepted): the next `accept` may be tried at once.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes, then
/// stops accepting, lets the connections finish the requests in flight and returns.
/// `front`, when given, answers what it can before `app` sees the request.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    front: Option<Front>,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let counts = Arc::new(Counts::default());
    // Connections watch `signal`: its receiver is dropped at shutdown.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(signal_rx);
    });
    // Each connection holds a receiver of `close`: the sender's `closed()` says all ended.
    let (close_tx, close_rx) = watch::channel(());
    let mut refused_logged = std::time::Instant::now() - Duration::from_secs(60);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::error!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
            () = signal_tx.closed() => break,
        };
        let Some(slot) = counts.take(peer.ip(), &limits) else {
            if refused_logged.elapsed() >= Duration::from_secs(60) {
                refused_logged = std::time::Instant::now();
                tracing::warn!(
                    client = %peer.ip(),
                    limit = limits.max_connections_per_ip,
                    "a client holds too many connections; closing its new ones (logged once a minute)"
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (app, front) = (app.clone(), front.clone());
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            let answered = front.as_ref().and_then(|front| front(&req, peer));
            let app = app.clone();
            async move {
                if let Some(res) = answered {
                    return Ok::<_, std::convert::Infallible>(res);
                }
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                app.oneshot(req.map(Body::new)).await
            }
        });
        let timeout = limits.header_read_timeout;
        let signal = signal_tx.clone();
        let close = close_rx.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
            let mut conn = std::pin::pin!(conn);
            let mut stopping = std::pin::pin!(signal.closed());
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(error = %e, client = %peer, "connection ended with an error");
                        }
                        break;
                    }
                    () = &mut stopping => conn.as_mut().graceful_shutdown(),
                }
            }
            drop(close);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GET of `path` on the connection `conn` (closed after): the answer's body.
    async fn get(conn: &mut tokio::net::TcpStream, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        conn.write_all(req.as_bytes()).await.expect("write");
        let mut got = String::new();
        conn.read_to_string(&mut got).await.expect("read");
        got.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
    }

    #[tokio::test]
    async fn a_front_answers_before_the_router_and_both_see_the_peer() {
        let router = Router::new().route(
            "/routed",
            axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { format!("router {peer}") }),
        );
        let front: Front = Arc::new(|req, peer| {
            (req.uri().path() != "/routed").then(|| Response::new(Body::from(format!("front {peer}"))))
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server =
            tokio::spawn(serve(listener, router, Some(front), ServerLimits::default(), std::future::pending()));
        for (path, by) in [("/page", "front"), ("/routed", "router")] {
            let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let me = conn.local_addr().expect("local");
            assert_eq!(get(&mut conn, path).await, format!("{by} {me}"), "{path}");
        }
        server.abort();
    }

    #[test]
    fn slots_are_counted_per_address_and_given_back() {
        let counts = Arc::new(Counts::default());
        let limits =
            ServerLimits { max_connections_per_ip: 2, unlimited: vec![[10, 0, 0, 9].into()], ..Default::default() };
        let a: IpAddr = [10, 0, 0, 1].into();
        let one = counts.take(a, &limits).expect("first");
        let two = counts.take(a, &limits).expect("second");
        assert!(counts.take(a, &limits).is_none(), "the third from one address");
        assert!(counts.take([10, 0, 0, 2].into(), &limits).is_some(), "another address");
        let proxies: Vec<Slot> = (0..5).filter_map(|_| counts.take([10, 0, 0, 9].into(), &limits)).collect();
        assert_eq!(proxies.len(), 5, "trusted proxies are not limited");
        drop(one);
        let three = counts.take(a, &limits).expect("a slot came back");
        drop((two, three));
        assert!(counts.0.lock().expect("lock").get(&a).is_none(), "no entry left behind");
    }
}
