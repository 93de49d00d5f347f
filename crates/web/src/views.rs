//! Counting story views for "most visited", on the server, without slowing
//! the page: each view is checked and added to an in-memory aggregate that a
//! background task flushes to the database in batches (every few seconds and
//! at shutdown). Nodes add their counts to the same hourly buckets.
//!
//! A view counts once per visitor per story per 30 minutes. The visitor is a
//! salted hash of the client address and user agent; the salt is random and
//! replaced every day, so no personal data is stored or kept. Since the user
//! agent is the client's to choose, one address (an IPv6 /64) counts at most
//! [`MAX_VIEWS_PER_ADDRESS`] views of a story per 30 minutes, whatever user
//! agents it sends: a few readers behind one office or home router still
//! count, one client rotating its user agent does not inflate "most
//! visited". Bots (by user agent, listed in `data/bots.txt`), prefetches and
//! `HEAD` requests are not counted.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;

use axum::http::{HeaderMap, Method, header};
use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::NewsId;
use newsdesk_storage::{Store, StoreError, ViewBucket, hour_of};
use sha2::{Digest, Sha256};

/// The default bot list.
pub const DEFAULT_BOTS: &str = include_str!("../data/bots.txt");

/// How long one visitor's views of one story count as one.
pub const DEDUP_WINDOW: Duration = Duration::minutes(30);

/// Most views of one story counted from one address (an IPv6 /64) within
/// [`DEDUP_WINDOW`], whatever user agents it sends.
pub const MAX_VIEWS_PER_ADDRESS: u32 = 3;

/// How long view buckets are kept (the longest ranking window is 30 days).
pub const KEEP: Duration = Duration::days(31);

/// One page view, as the handler saw it.
#[derive(Debug, Clone, Copy)]
pub struct Visit<'a> {
    /// The story viewed.
    pub news_id: NewsId,
    /// Its edition.
    pub edition_id: i64,
    /// Its section.
    pub section_id: i64,
    /// The client's address (see [`client_ip`]).
    pub ip: Option<IpAddr>,
    /// The request method.
    pub method: &'a Method,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

struct State {
    day: i64,
    salt: [u8; 32],
    seen: HashMap<(u64, NewsId), DateTime<Utc>>,
    /// Per (salted address, story): when its window started and the views counted in it.
    per_address: HashMap<(u64, NewsId), (DateTime<Utc>, u32)>,
    pending: HashMap<(NewsId, i64), ViewBucket>,
}

/// The in-memory aggregate of views not yet written.
pub struct ViewCounter {
    enabled: bool,
    bots: Vec<String>,
    state: Mutex<State>,
}

impl ViewCounter {
    /// A counter using the bot substrings in `bots` (the format of `data/bots.txt`).
    pub fn new(enabled: bool, bots: &str) -> ViewCounter {
        let bots = bots
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_ascii_lowercase)
            .collect();
        ViewCounter {
            enabled,
            bots,
            state: Mutex::new(State {
                day: i64::MIN,
                salt: [0; 32],
                seen: HashMap::new(),
                per_address: HashMap::new(),
                pending: HashMap::new(),
            }),
        }
    }

    /// Whether counting is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether `ua` is a bot, a crawler or a tool rather than a reader.
    pub fn is_bot(&self, ua: &str) -> bool {
        if ua.trim().is_empty() {
            return true;
        }
        let ua = ua.to_ascii_lowercase();
        self.bots.iter().any(|b| ua.contains(b.as_str()))
    }

    /// Counts `visit` at `now` if it is a reader's first view of the story in
    /// the window; returns whether it counted.
    pub fn record(&self, visit: &Visit<'_>, now: DateTime<Utc>) -> bool {
        if !self.enabled || visit.method != Method::GET || is_prefetch(visit.headers) {
            return false;
        }
        let ua = visit.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
        if self.is_bot(ua) {
            return false;
        }
        let Ok(mut st) = self.state.lock() else { return false };
        let day = now.timestamp().div_euclid(86_400);
        if st.day != day {
            // A new salt each day: yesterday's visitor keys cannot be linked to today's.
            st.day = day;
            st.salt = rand::random();
            st.seen.clear();
            st.per_address.clear();
        }
        let address = visit.ip.map(address_group);
        let visitor = salted(&st.salt, &[address.as_deref().unwrap_or("").as_bytes(), ua.as_bytes()]);
        match st.seen.get(&(visitor, visit.news_id)) {
            Some(last) if now - *last < DEDUP_WINDOW => return false,
            _ => {}
        }
        // Without an address (no peer recorded) there is nothing to cap by.
        if let Some(address) = &address {
            let key = (salted(&st.salt, &[address.as_bytes()]), visit.news_id);
            let entry = st.per_address.entry(key).or_insert((now, 0));
            if now - entry.0 >= DEDUP_WINDOW {
                *entry = (now, 0);
            }
            if entry.1 >= MAX_VIEWS_PER_ADDRESS {
                return false;
            }
            entry.1 += 1;
        }
        st.seen.insert((visitor, visit.news_id), now);
        let hour = hour_of(now);
        st.pending
            .entry((visit.news_id, hour))
            .or_insert(ViewBucket {
                news_id: visit.news_id,
                edition_id: visit.edition_id,
                section_id: visit.section_id,
                hour,
                views: 0,
            })
            .views += 1;
        true
    }

    /// Views counted in memory and not yet written (for metrics).
    pub fn buffered(&self) -> u64 {
        self.state.lock().map_or(0, |st| st.pending.values().map(|b| b.views.max(0) as u64).sum())
    }

    /// Takes the counted views out of memory and forgets visitors whose window has passed.
    pub fn take(&self, now: DateTime<Utc>) -> Vec<ViewBucket> {
        let Ok(mut st) = self.state.lock() else { return Vec::new() };
        st.seen.retain(|_, last| now - *last < DEDUP_WINDOW);
        st.per_address.retain(|_, (start, _)| now - *start < DEDUP_WINDOW);
        st.pending.drain().map(|(_, b)| b).collect()
    }

    fn put_back(&self, buckets: Vec<ViewBucket>) {
        let Ok(mut st) = self.state.lock() else { return };
        for b in buckets {
            st.pending.entry((b.news_id, b.hour)).or_insert(ViewBucket { views: 0, ..b }).views += b.views;
        }
    }

    /// Writes the counted views to the database; on failure they stay in
    /// memory for the next flush.
    pub async fn flush(&self, store: &Store, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let buckets = self.take(now);
        let n = buckets.len();
        if let Err(e) = store.add_views(&buckets).await {
            self.put_back(buckets);
            return Err(e);
        }
        Ok(n)
    }
}

/// A 64-bit key from the day's salt and `parts` (kept apart by a separator).
fn salted(salt: &[u8; 32], parts: &[&[u8]]) -> u64 {
    let mut h = Sha256::new();
    h.update(salt);
    for part in parts {
        h.update([0xff]);
        h.update(part);
    }
    let digest = h.finalize();
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(key)
}

fn is_prefetch(headers: &HeaderMap) -> bool {
    ["sec-purpose", "purpose", "x-purpose", "x-moz"].iter().any(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("prefetch") || v.to_ascii_lowercase().contains("preview"))
    })
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy,
/// in which case the right-most `X-Forwarded-For` address that is not a trusted proxy.
pub fn client_ip(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer.map(|p| p.ip());
    match peer {
        Some(ip) if trusted.contains(&ip) => {
            let forwarded: Vec<IpAddr> = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse().ok())
                .collect();
            forwarded.into_iter().rev().find(|ip| !trusted.contains(ip)).or(Some(ip))
        }
        other => other,
    }
}

/// The address a client is known by for throttling and counting: the
/// address itself for IPv4 (and IPv4-mapped IPv6), its /64 network for IPv6,
/// since one subscriber usually has a whole /64 and can rotate through it.
pub fn address_group(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => format!("{}/64", Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use chrono::TimeZone;

    const BROWSER: &str =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36";

    fn headers(ua: &str, extra: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::USER_AGENT, HeaderValue::from_str(ua).expect("ua"));
        for (k, v) in extra {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    /// Replays a known sequence of views and checks the exact counts.
    #[test]
    fn replayed_views_count_exactly() {
        let c = ViewCounter::new(true, DEFAULT_BOTS);
        let t0 = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).single().expect("time");
        let get = Method::GET;
        let head = Method::HEAD;
        let alice: IpAddr = "203.0.113.5".parse().expect("ip");
        let bob: IpAddr = "2001:db8::7".parse().expect("ip");
        let plain = headers(BROWSER, &[]);
        let other_browser = headers("Mozilla/5.0 (iPhone) Safari", &[]);
        let googlebot = headers("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", &[]);
        let prefetch = headers(BROWSER, &[("sec-purpose", "prefetch")]);
        let visit =
            |news_id, ip, method, h| Visit { news_id, edition_id: 1, section_id: 9, ip: Some(ip), method, headers: h };
        let m = |mins: i64| t0 + Duration::minutes(mins);
        let counted: Vec<bool> = vec![
            c.record(&visit(1, alice, &get, &plain), m(0)),           // counted
            c.record(&visit(1, alice, &get, &plain), m(10)),          // repeat inside 30 min
            c.record(&visit(1, alice, &get, &plain), m(29)),          // still inside
            c.record(&visit(1, alice, &get, &plain), m(41)),          // 41 min after the counted one: counted
            c.record(&visit(1, alice, &get, &other_browser), m(42)),  // same address, other browser: another visitor
            c.record(&visit(1, bob, &get, &plain), m(43)),            // another address
            c.record(&visit(1, bob, &get, &googlebot), m(44)),        // bot
            c.record(&visit(2, bob, &get, &prefetch), m(45)),         // prefetch
            c.record(&visit(2, bob, &head, &plain), m(46)),           // HEAD
            c.record(&visit(2, bob, &get, &headers("", &[])), m(47)), // no user agent
            c.record(&visit(2, bob, &get, &plain), m(48)),            // counted
            c.record(&visit(2, alice, &get, &plain), m(70)),          // next hour bucket
        ];
        assert_eq!(counted, [true, false, false, true, true, true, false, false, false, false, true, true]);
        let mut buckets = c.take(m(71));
        buckets.sort_by_key(|b| (b.news_id, b.hour));
        let got: Vec<(i64, i64, i64)> = buckets.iter().map(|b| (b.news_id, b.hour, b.views)).collect();
        let h10 = hour_of(t0);
        assert_eq!(got, [(1, h10, 4), (2, h10, 1), (2, h10 + 3600, 1)]);
        assert!(c.take(m(72)).is_empty(), "taken views are gone from memory");
    }

    #[test]
    fn one_address_rotating_its_user_agent_counts_at_most_the_cap() {
        let c = ViewCounter::new(true, DEFAULT_BOTS);
        let t0 = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).single().expect("time");
        let ip: IpAddr = "203.0.113.5".parse().expect("ip");
        let agents: Vec<HeaderMap> = (0..30).map(|i| headers(&format!("{BROWSER} build/{i}"), &[])).collect();
        let visit = |news_id, ip, h| Visit {
            news_id,
            edition_id: 1,
            section_id: 9,
            ip: Some(ip),
            method: &Method::GET,
            headers: h,
        };
        let counted = agents
            .iter()
            .enumerate()
            .filter(|(i, h)| c.record(&visit(1, ip, h), t0 + Duration::seconds(*i as i64)))
            .count();
        assert_eq!(counted, MAX_VIEWS_PER_ADDRESS as usize, "30 user agents from one address");
        // Another story, another address, and the same address after the window still count.
        assert!(c.record(&visit(2, ip, &agents[0]), t0 + Duration::minutes(1)));
        assert!(c.record(&visit(1, "198.51.100.7".parse().expect("ip"), &agents[0]), t0 + Duration::minutes(1)));
        assert!(c.record(&visit(1, ip, &agents[29]), t0 + DEDUP_WINDOW + Duration::minutes(1)));
        // IPv6: one /64 is one address, whatever the interface id.
        let counted = (0..30u16)
            .filter(|i| {
                let ip: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().expect("ip");
                c.record(&visit(3, ip, &agents[*i as usize]), t0)
            })
            .count();
        assert_eq!(counted, MAX_VIEWS_PER_ADDRESS as usize, "30 addresses of one /64");
        assert!(
            c.record(&visit(3, "2001:db8:1:3::1".parse().expect("ip"), &agents[0]), t0),
            "the next /64 is another address"
        );
        let views: i64 = c.take(t0 + Duration::hours(2)).iter().map(|b| b.views).sum();
        assert_eq!(views, 3 + 1 + 1 + 1 + 3 + 1);
    }

    #[test]
    fn addresses_group_ipv6_by_64() {
        let group = |s: &str| address_group(s.parse().expect("ip"));
        assert_eq!(group("203.0.113.5"), "203.0.113.5");
        assert_eq!(group("::ffff:203.0.113.5"), "203.0.113.5");
        assert_eq!(group("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
        assert_eq!(group("2001:db8:1:2::1"), group("2001:db8:1:2:ffff::9"));
        assert_ne!(group("2001:db8:1:2::1"), group("2001:db8:1:3::1"));
    }

    #[test]
    fn counting_off_counts_nothing() {
        let c = ViewCounter::new(false, DEFAULT_BOTS);
        let h = headers(BROWSER, &[]);
        let v = Visit { news_id: 1, edition_id: 1, section_id: 1, ip: None, method: &Method::GET, headers: &h };
        assert!(!c.record(&v, Utc::now()));
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let h = headers(BROWSER, &[("x-forwarded-for", "198.51.100.9, 10.0.0.1")]);
        let from_proxy = SocketAddr::new(proxy, 4000);
        let direct: SocketAddr = "192.0.2.1:4000".parse().expect("addr");
        assert_eq!(client_ip(Some(from_proxy), &h, &[proxy]), "198.51.100.9".parse().ok());
        assert_eq!(client_ip(Some(direct), &h, &[proxy]), Some(direct.ip()));
        assert_eq!(client_ip(Some(from_proxy), &h, &[]), Some(proxy));
    }
}
