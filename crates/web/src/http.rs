//! Serving cached pages: content negotiation of the precompressed forms and
//! conditional requests (`ETag` / `If-None-Match`, `Last-Modified` /
//! `If-Modified-Since`).

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
        let name = it.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = it.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok())).unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        match name.as_str() {
            "br" => br = true,
            "gzip" | "x-gzip" => gzip = true,
            "*" => {
                br = true;
                gzip = true;
            }
            _ => {}
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
}

impl PageHeaders {
    fn of(page: &CachedPage, assembled: &Assembled) -> PageHeaders {
        let base = assembled.etag.trim_end_matches('"');
        PageHeaders {
            etags: Encoding::ALL.map(|e| HeaderValue::from_str(&format!("{base}{}\"", e.suffix())).ok()),
            last_modified: assembled.last_modified.and_then(|lm| HeaderValue::from_str(&http_date(lm)).ok()),
            csp: page.csp.as_deref().and_then(|c| HeaderValue::from_str(c).ok()),
        }
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
/// current, otherwise the page in the best accepted encoding.
pub fn serve_page(page: &CachedPage, chrome: &Chrome, headers: &HeaderMap) -> Response {
    let assembled = page.assemble(chrome);
    let made = assembled.headers.get_or_init(|| PageHeaders::of(page, &assembled));
    let encoding = negotiate(headers);
    let mut res = if not_modified(headers, &assembled, made) {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        let body = match encoding {
            Encoding::Identity => assembled.identity.clone(),
            Encoding::Gzip => assembled.gzip().clone(),
            Encoding::Brotli => assembled.brotli().clone(),
        };
        let mut r = Response::new(Body::from(body));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(page.content_type));
        match encoding {
            Encoding::Gzip => {
                r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            Encoding::Brotli => {
                r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            }
            Encoding::Identity => {}
        }
        r
    };
    let h = res.headers_mut();
    if let Some(v) = &made.etags[encoding.index()] {
        h.insert(header::ETAG, v.clone());
    }
    if let Some(v) = &made.last_modified {
        h.insert(header::LAST_MODIFIED, v.clone());
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(page.cache_control));
    if let Some(csp) = &made.csp {
        h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    res
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
