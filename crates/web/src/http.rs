//! Serving cached pages: content negotiation of the precompressed forms and
//! conditional requests (`ETag` / `If-None-Match`, `Last-Modified` /
//! `If-Modified-Since`).

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};

use crate::cache::{Assembled, CachedPage, Chrome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    const ALL: [Encoding; 3] = [Encoding::Identity, Encoding::Gzip, Encoding::Brotli];

    /// Its place in [`Encoding::ALL`] (the declaration order).
    fn index(self) -> usize {
        self as usize
    }

    fn suffix(self) -> &'static str {
        match self {
            Encoding::Identity => "",
            Encoding::Gzip => "-gz",
            Encoding::Brotli => "-br",
        }
    }
}

/// Picks the best encoding the client accepts: brotli, then gzip, else none.
fn negotiate(headers: &HeaderMap) -> Encoding {
    let Some(accept) = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else {
        return Encoding::Identity;
    };
    let mut br = false;
    let mut gzip = false;
    for item in accept.split(',') {
        let mut it = item.split(';');
        let name = it.next().unwrap_or_default().trim();
        let q = it.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok())).unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("br") {
            br = true;
        } else if is("gzip") || is("x-gzip") {
            gzip = true;
        } else if name == "*" {
            br = true;
            gzip = true;
        }
    }
    if br {
        Encoding::Brotli
    } else if gzip {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn http_date(t: DateTime<Utc>) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t.timestamp().max(0) as u64))
}

/// The headers of one assembled page that do not depend on the request,
/// made at its first request rather than formatted again for each.
#[derive(Debug)]
pub struct PageHeaders {
    /// `ETag` for each encoding ([`Encoding::index`]).
    etags: [Option<HeaderValue>; 3],
    last_modified: Option<HeaderValue>,
    csp: Option<HeaderValue>,
    /// Every header of the answer with the page in each encoding, made at the
    /// first such answer: each later one copies them rather than inserting
    /// them one by one.
    full: [OnceLock<HeaderMap>; 3],
    /// Every header of the 304 answer for each encoding, likewise.
    unchanged: [OnceLock<HeaderMap>; 3],
}

impl PageHeaders {
    fn of(page: &CachedPage, assembled: &Assembled) -> PageHeaders {
        let base = assembled.etag.trim_end_matches('"');
        PageHeaders {
            etags: Encoding::ALL.map(|e| HeaderValue::from_str(&format!("{base}{}\"", e.suffix())).ok()),
            last_modified: assembled.last_modified.and_then(|lm| HeaderValue::from_str(&http_date(lm)).ok()),
            csp: page.csp.as_deref().and_then(|c| HeaderValue::from_str(c).ok()),
            full: Default::default(),
            unchanged: Default::default(),
        }
    }

    /// The headers of the answer in `encoding`: with the page (`body` bytes
    /// long) or, for `None`, a 304. They are what the router's layers would
    /// add too (the security headers, `Content-Length`), so that an answer
    /// before routing needs nothing added.
    fn answer(&self, page: &CachedPage, encoding: Encoding, body: Option<usize>) -> HeaderMap {
        let mut h = HeaderMap::with_capacity(16);
        if body.is_some() {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(page.content_type));
            match encoding {
                Encoding::Gzip => {
                    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                Encoding::Brotli => {
                    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
                }
                Encoding::Identity => {}
            }
        }
        if let Some(v) = &self.etags[encoding.index()] {
            h.insert(header::ETAG, v.clone());
        }
        if let Some(v) = &self.last_modified {
            h.insert(header::LAST_MODIFIED, v.clone());
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(page.cache_control));
        if let Some(csp) = &self.csp {
            h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
        }
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        crate::add_security_headers(&mut h);
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.unwrap_or(0)));
        h
    }
}

/// Whether the client's validators say it already has this page.
fn not_modified(headers: &HeaderMap, page: &Assembled, made: &PageHeaders) -> bool {
    if let Some(inm) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        return inm.split(',').map(str::trim).any(|tag| {
            let tag = tag.strip_prefix("W/").unwrap_or(tag);
            tag == "*" || made.etags.iter().flatten().any(|e| e.as_bytes() == tag.as_bytes())
        });
    }
    if let (Some(ims), Some(lm)) = (
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| httpdate::parse_http_date(s).ok()),
        page.last_modified,
    ) {
        let ims = ims.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        return lm.timestamp() <= ims;
    }
    false
}

/// Answers a request with a cached page: 304 when the client's copy is
/// current, otherwise the page in the best accepted encoding. The answer has
/// every header it goes out with (but `Date` and HSTS), the security headers
/// and `Content-Length` included.
pub fn serve_page(page: &CachedPage, chrome: &Chrome, headers: &HeaderMap) -> Response {
    let assembled = page.assemble(chrome);
    let made = assembled.headers.get_or_init(|| Box::new(PageHeaders::of(page, &assembled)));
    let encoding = negotiate(headers);
    let i = encoding.index();
    if not_modified(headers, &assembled, made) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        *r.headers_mut() = made.unchanged[i].get_or_init(|| made.answer(page, encoding, None)).clone();
        return r;
    }
    let body = match encoding {
        Encoding::Identity => assembled.identity.clone(),
        Encoding::Gzip => assembled.gzip().clone(),
        Encoding::Brotli => assembled.brotli().clone(),
    };
    let answer = made.full[i].get_or_init(|| made.answer(page, encoding, Some(body.len()))).clone();
    let mut r = Response::new(Body::from(body));
    *r.headers_mut() = answer;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(k.clone(), HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn negotiation_honours_q_zero() {
        assert_eq!(negotiate(&headers(&[(header::ACCEPT_ENCODING, "gzip, deflate, br")])), Encoding::Brotli);
        assert_eq!(negotiate(&headers(&[(header::ACCEPT_ENCODING, "gzip, br;q=0")])), Encoding::Gzip);
        assert_eq!(negotiate(&headers(&[(header::ACCEPT_ENCODING, "identity")])), Encoding::Identity);
        assert_eq!(negotiate(&HeaderMap::new()), Encoding::Identity);
    }
}
