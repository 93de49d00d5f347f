//! Where webhooks may go: public addresses only.
//!
//! A webhook URL is typed by whoever manages subscribers, and its delivery log
//! shows how each attempt went; pointed at `127.0.0.1:5432`, at the cloud's
//! metadata service or at the office network, it would turn the server into a
//! port scanner and a proxy. So a webhook host must be a public address, or a
//! name whose addresses are all public:
//!
//! - at registration ([`check_url`]), with a clear error;
//! - at every delivery, since DNS answers change: the delivery client resolves
//!   names with [`PublicResolver`], which checks every address a name has and
//!   hands only checked addresses to the connector (nothing is looked up
//!   twice, so a name cannot switch to an internal address between the check
//!   and the connection), and [`check_literal`] checks URLs whose host is an
//!   address (those are never resolved).
//!
//! URLs are read by the same parser as the HTTP client's (`url`, the WHATWG
//! rules), so `0x7f000001`, `2130706433`, `0177.0.0.1` and `127.1` are all
//! 127.0.0.1 here as they are to the client.
//!
//! The operator may allow internal hosts in `wire.webhook_allow_hosts`
//! ([`AllowHosts`]): a receiver on the same machine or network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What the delivery log says of an attempt to an address that is not public.
/// The same words whatever the address and whether anything listens there:
/// nothing was sent and nothing about the target is told.
pub const REFUSED: &str = "refused: the webhook's host is not a public address (see wire.webhook_allow_hosts)";

/// Longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2000;

/// Internal hosts the operator lets webhooks reach (`wire.webhook_allow_hosts`):
/// host names (as written in the URL, any case) and IP addresses (the URL's
/// own address or any address a name resolves to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowHosts {
    names: Vec<String>,
    addrs: Vec<IpAddr>,
}

impl AllowHosts {
    /// The allow list from its configured entries: each a host name or an IP
    /// address (`127.0.0.1`, `::1` or `[::1]`). Fails with the first entry
    /// that is neither.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowHosts, String> {
        let mut allow = AllowHosts::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            let host = normalize_host(entry).ok_or_else(|| {
                format!("`{entry}` is not a host name or an IP address (e.g. 127.0.0.1 or receiver.internal)")
            })?;
            match host {
                Host::Addr(ip) => allow.addrs.push(ip),
                Host::Name(name) => allow.names.push(name),
            }
        }
        Ok(allow)
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.addrs.is_empty()
    }

    fn allows_name(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.');
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    fn allows_addr(&self, ip: IpAddr) -> bool {
        self.addrs.contains(&ip) || unmapped(ip).is_some_and(|v4| self.addrs.contains(&IpAddr::V4(v4)))
    }
}

/// Why a webhook URL is refused at registration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute http(s) URL with a host, or too long.
    #[error("The webhook URL must start with http:// or https:// and name a host, not “{0}”.")]
    NotUrl(String),
    /// The host is, or resolves to, an address that is not public.
    #[error(
        "The webhook URL’s host “{host}” is {kind}; webhooks go to public addresses only (an operator can allow an internal host with the setting wire.webhook_allow_hosts)."
    )]
    Internal {
        /// The host as the URL names it.
        host: String,
        /// What the address is, with its article ("a loopback address", ...).
        kind: String,
    },
}

/// A URL's host after the WHATWG rules: an address or a (lower-case) name.
enum Host {
    Addr(IpAddr),
    Name(String),
}

fn host_of(url: &Url) -> Option<Host> {
    let host = url.host_str().filter(|h| !h.is_empty())?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    Some(match bare.parse::<IpAddr>() {
        Ok(ip) => Host::Addr(ip),
        Err(_) => Host::Name(host.to_ascii_lowercase()),
    })
}

/// An allow-list entry read as a URL's host would be, so `127.1` and
/// `127.0.0.1` are one entry; `None` if it is not a bare host.
fn normalize_host(entry: &str) -> Option<Host> {
    if entry.is_empty() || entry.contains(['/', '?', '#', '@']) {
        return None;
    }
    let bare = entry.trim_start_matches('[').trim_end_matches(']');
    let bracketed = match bare.parse::<Ipv6Addr>() {
        Ok(_) => format!("[{bare}]"),
        // A port (`127.0.0.1:80`): not a host.
        Err(_) if entry.contains(':') => return None,
        Err(_) => entry.to_string(),
    };
    let url = Url::parse(&format!("http://{bracketed}/")).ok()?;
    if url.port().is_some() {
        return None;
    }
    match host_of(&url)? {
        Host::Name(name) => Some(Host::Name(name.trim_end_matches('.').to_string())),
        addr => Some(addr),
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`) IPv6 address.
fn unmapped(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        IpAddr::V4(_) => None,
    }
}

/// What `ip` is when it is not a public unicast address (with its article,
/// for messages); `None` for a public one.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "an unspecified address",
        (127, _, _) => "a loopback address",
        (10, _, _) | (192, 168, _) => "a private address",
        (172, 16..=31, _) => "a private address",
        // 169.254.169.254 is the metadata service of most clouds.
        (169, 254, _) => "a link-local (cloud metadata) address",
        // Carrier-grade NAT; 100.100.100.200 is a cloud metadata service too.
        (100, 64..=127, _) => "a shared (carrier-grade NAT) address",
        // IETF protocol assignments (192.0.0.192 is a metadata service), documentation, benchmarking, 6to4 relays.
        (192, 0, 0 | 2) | (198, 51, 100) | (203, 0, 113) | (198, 18..=19, _) | (192, 88, 99) => "a reserved address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved address",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    // NAT64 (64:ff9b::/96): the IPv4 address it stands for decides.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return non_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    Some(match s[0] {
        0xfc00..=0xfdff => "a private (unique local) address",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        0xff00..=0xffff => "a multicast address",
        // 6to4: the IPv4 address inside decides.
        0x2002 => {
            let [a, b] = s[1].to_be_bytes();
            let [c, d] = s[2].to_be_bytes();
            return non_public_v4(Ipv4Addr::new(a, b, c, d));
        }
        // IETF protocol assignments (Teredo, ...) and documentation.
        0x2001 if s[1] < 0x0200 || s[1] == 0x0db8 => "a reserved address",
        // Global unicast.
        0x2000..=0x3fff => return None,
        _ => "a reserved address",
    })
}

/// Parses a webhook URL: absolute http(s) with a host, at most [`MAX_URL_LEN`] bytes.
fn parse_url(url: &str) -> Result<(Url, Host), TargetError> {
    let not_url = || TargetError::NotUrl(url.to_string());
    if url.len() > MAX_URL_LEN {
        return Err(not_url());
    }
    let parsed = Url::parse(url).map_err(|_| not_url())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(not_url());
    }
    let host = host_of(&parsed).ok_or_else(not_url)?;
    Ok((parsed, host))
}

/// Checks a webhook URL before it is registered: an absolute http(s) URL
/// whose host is a public address, or a name all of whose addresses are
/// public, unless `allow` lists it. A name that does not resolve now is
/// accepted (every delivery checks again).
pub async fn check_url(url: &str, allow: &AllowHosts) -> Result<(), TargetError> {
    let (parsed, host) = parse_url(url)?;
    let internal = |kind: &str| TargetError::Internal {
        host: parsed.host_str().unwrap_or_default().to_string(),
        kind: kind.to_string(),
    };
    match host {
        Host::Addr(ip) => match non_public(ip) {
            Some(kind) if !allow.allows_addr(ip) => Err(internal(kind)),
            _ => Ok(()),
        },
        Host::Name(name) => {
            if allow.allows_name(&name) {
                return Ok(());
            }
            let Ok(addrs) = tokio::net::lookup_host((name.as_str(), 0)).await else { return Ok(()) };
            for a in addrs {
                if let Some(kind) = non_public(a.ip())
                    && !allow.allows_addr(a.ip())
                {
                    return Err(internal(&format!("a name for {kind}")));
                }
            }
            Ok(())
        }
    }
}

/// Checks a URL at delivery when its host is an address (the client connects
/// to it without resolving anything); names are checked by [`PublicResolver`].
/// `Err` holds what the delivery log says.
pub fn check_literal(url: &str, allow: &AllowHosts) -> Result<(), &'static str> {
    match parse_url(url) {
        Err(_) => Err("the webhook URL is not an absolute http(s) URL"),
        Ok((_, Host::Addr(ip))) if non_public(ip).is_some() && !allow.allows_addr(ip) => Err(REFUSED),
        Ok(_) => Ok(()),
    }
}

/// The error of a resolution refused by [`PublicResolver`]; says [`REFUSED`].
#[derive(Debug, thiserror::Error)]
#[error("{REFUSED}")]
pub struct Refused;

/// Resolves host names for webhook deliveries and refuses a name any of whose
/// addresses is not public (unless the allow list has the name or the
/// address). The connector gets exactly the addresses that were checked.
#[derive(Debug, Clone, Default)]
pub struct PublicResolver {
    allow: Arc<AllowHosts>,
}

impl PublicResolver {
    /// A resolver that lets `allow` through.
    pub fn new(allow: AllowHosts) -> PublicResolver {
        PublicResolver { allow: Arc::new(allow) }
    }
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if !allow.allows_name(&name)
                && addrs.iter().any(|a| non_public(a.ip()).is_some() && !allow.allows_addr(a.ip()))
            {
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form of an internal address a URL can take, with what it is.
    const INTERNAL: &[&str] = &[
        "http://127.0.0.1/hook",
        "http://127.0.0.1:5432/",
        "http://127.255.255.254/",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://10.255.255.255:22/",
        "http://172.16.0.1/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://[fc00::1]/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://100.64.0.1/",
        "http://100.100.100.200/",
        "http://0.0.0.0/",
        "http://0.0.0.0:8080/",
        "http://[::]/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://0x7f.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://224.0.0.1/",
        "http://[ff02::1]/",
        "http://255.255.255.255/",
        "http://192.0.0.192/",
        "https://127.0.0.1/",
        "HTTP://LocalHost:8080/",
    ];

    #[tokio::test]
    async fn every_form_of_an_internal_address_is_refused_at_registration() {
        let none = AllowHosts::default();
        for url in INTERNAL {
            let e = check_url(url, &none).await.expect_err(url);
            assert!(matches!(e, TargetError::Internal { .. }), "{url}: {e:?}");
            assert!(e.to_string().contains("wire.webhook_allow_hosts"), "{e}");
            if !url.contains("LocalHost") {
                assert_eq!(check_literal(url, &none), Err(REFUSED), "{url} at delivery");
            }
        }
        let e = check_url("http://0x7f000001:9/x", &none).await.expect_err("hex");
        assert_eq!(e.to_string().split('”').next(), Some("The webhook URL’s host “127.0.0.1"), "{e}");
    }

    #[tokio::test]
    async fn public_addresses_and_names_pass() {
        let none = AllowHosts::default();
        for url in [
            "https://93.184.215.14/hook",
            "http://172.15.255.255/",
            "http://172.32.0.1/",
            "http://100.63.255.255/",
            "http://100.128.0.1/",
            "http://169.253.0.1/",
            "http://[2606:4700:4700::1111]/",
            "http://[::ffff:93.184.215.14]/",
            "http://[64:ff9b::5db8:d70e]/",
            // Not resolvable here: accepted, checked again at each delivery.
            "https://planet.invalid/hook",
        ] {
            assert_eq!(check_url(url, &none).await, Ok(()), "{url}");
            assert_eq!(check_literal(url, &none), Ok(()), "{url}");
        }
    }

    #[tokio::test]
    async fn what_is_not_an_http_url_is_refused() {
        let none = AllowHosts::default();
        for url in
            ["ftp://example.com/", "/relative", "javascript:alert(1)", "not a url", "http://", "file:///etc/passwd"]
        {
            assert!(matches!(check_url(url, &none).await, Err(TargetError::NotUrl(_))), "{url}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(check_url(&long, &none).await, Err(TargetError::NotUrl(_))));
    }

    #[tokio::test]
    async fn the_allow_list_lets_listed_internal_hosts_through() {
        let allow = AllowHosts::parse(&["127.0.0.1", "[::1]", "Receiver.Internal", "fd00::5"]).expect("allow list");
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://2130706433:9000/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::1]/",
            "http://receiver.internal/hook",
            "http://[fd00::5]/",
        ] {
            assert_eq!(check_url(url, &allow).await, Ok(()), "{url}");
            assert_eq!(check_literal(url, &allow), Ok(()), "{url}");
        }
        for url in ["http://127.0.0.2/", "http://10.0.0.1/", "http://[fd00::6]/", "http://169.254.169.254/"] {
            assert!(check_url(url, &allow).await.is_err(), "{url}");
            assert_eq!(check_literal(url, &allow), Err(REFUSED), "{url}");
        }
        assert_eq!(AllowHosts::parse(&["127.1"]), AllowHosts::parse(&["127.0.0.1"]), "read as a URL's host is");
        for bad in ["", "http://x/", "a b", "127.0.0.1:80", "x/y", "user@host"] {
            assert!(AllowHosts::parse(&[bad]).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_inside_is_refused_by_the_resolver() {
        let name: Name = "localhost".parse().expect("name");
        let e = PublicResolver::default().resolve(name).await.err().expect("refused");
        assert!(e.downcast_ref::<Refused>().is_some(), "{e}");
        let allowed = PublicResolver::new(AllowHosts::parse(&["127.0.0.1", "::1"]).expect("allow"));
        let addrs: Vec<SocketAddr> =
            allowed.resolve("localhost".parse().expect("name")).await.expect("allowed").collect();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        let by_name = PublicResolver::new(AllowHosts::parse(&["LOCALHOST"]).expect("allow"));
        assert!(by_name.resolve("localhost".parse().expect("name")).await.is_ok());
    }
}
