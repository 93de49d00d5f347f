//! Logging in and out, sessions, CSRF, and the account page.
//!
//! Sessions live in the database (so they survive restarts and work across
//! nodes); the browser holds a random token in an `HttpOnly`, `SameSite=Lax`
//! cookie (`Secure` when the site is served over HTTPS), the database only its
//! SHA-256. Every state-changing request must come from our own origin
//! (`Sec-Fetch-Site`/`Origin`) and carry the session's CSRF token, checked
//! here for all routes at once: a handler cannot forget it.

use std::net::SocketAddr;

use axum::Form;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::{DateTime, Duration, Utc};
use newsdesk_domain::roles::{self, Permission, Role};
use newsdesk_storage::AuditEntry;
use rand::Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{AdminError, page};
use crate::AppState;
use crate::desk::Actor;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "nd_session";
/// Name of the cookie that protects the login form itself.
const LOGIN_COOKIE: &str = "nd_login";
/// A session unused for this long ends.
const IDLE: Duration = Duration::hours(12);
/// Login attempts checked per account, and per address (an IPv6 /64), within
/// [`THROTTLE_WINDOW`]; a successful login gives its attempt back.
const MAX_ATTEMPTS_ACCOUNT: i64 = 5;
const MAX_ATTEMPTS_IP: i64 = 20;
const THROTTLE_WINDOW: Duration = Duration::minutes(15);
/// Largest form body read for the CSRF check (story bodies are long).
const MAX_FORM_BYTES: usize = 8 * 1024 * 1024;

/// The logged-in back-office user of a request.
#[derive(Debug, Clone)]
pub struct Staff {
    /// User id.
    pub user_id: i64,
    /// E-mail address (login name).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The session's CSRF token, to put in forms as the `csrf` field.
    pub csrf: String,
    /// The confirmation this page shows (`?notice=KEY` after a save).
    pub notice: Option<super::notice::Notice>,
    token_hash: String,
}

impl Staff {
    /// The newsroom's view of this user, for the desk's commands.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id,
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role,
            token_id: None,
        }
    }

    /// Refuses with 403 unless the role has `p` (the desk's rule, [`Actor::require`]).
    pub fn require(&self, p: Permission) -> Result<(), AdminError> {
        Ok(self.actor().require(p)?)
    }

    /// Whether the role has `p`.
    pub fn can(&self, p: Permission) -> bool {
        self.role.can(p)
    }

    /// An audit entry by this user ([`Actor::audit`]), for back-office writes
    /// outside the newsroom (users, sections, subscribers).
    pub fn audit(
        &self,
        action: &str,
        target_kind: &str,
        target_id: impl ToString,
        detail: impl Into<String>,
    ) -> AuditEntry {
        self.actor().audit(action, target_kind, target_id, detail)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Staff>().cloned().ok_or(AdminError::LoginRequired)
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Staff {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Staff>().cloned())
    }
}

/// The TCP peer of a request, when the server records it.
pub(crate) struct PeerAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

/// SHA-256 of a token, hex.
fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random token (32 bytes, hex).
pub(crate) fn random_token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// A short random id (8 bytes, hex), e.g. to name a node.
pub fn random_token_short() -> String {
    let bytes: [u8; 8] = rand::rng().random();
    hex::encode(bytes)
}

/// Compares secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a state-changing request comes from our own pages: `Sec-Fetch-Site`
/// when the browser sends it, else `Origin` against the public URL or the Host.
/// Clients that send neither (scripts, curl) still need the CSRF token.
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    if origin == public_url.trim_end_matches('/') {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    !host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}"))
}

/// Loads the session of every back-office request and checks the origin and
/// CSRF token of every state-changing one.
pub async fn session_layer(State(state): State<AppState>, jar: CookieJar, req: Request, next: Next) -> Response {
    match check_request(&state, &jar, req).await {
        Ok(req) => {
            let staff = req.extensions().get::<Staff>().cloned();
            let mut res = next.run(req).await;
            if let Some(staff) = staff {
                res.extensions_mut().insert(staff);
            }
            res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            res.headers_mut().insert("x-robots-tag", header::HeaderValue::from_static("noindex, nofollow"));
            res
        }
        Err(e) => e.into_response(),
    }
}

async fn check_request(state: &AppState, jar: &CookieJar, mut req: Request) -> Result<Request, AdminError> {
    let now = Utc::now();
    let staff = match jar.get(SESSION_COOKIE) {
        Some(c) => {
            let token_hash = hash_token(c.value());
            match state.store.session(&token_hash, now).await? {
                Some(s) => {
                    if now - s.last_seen_at > Duration::minutes(5) {
                        state.store.touch_session(&token_hash, now, now + IDLE).await?;
                    }
                    Some(Staff {
                        user_id: s.user.id,
                        email: s.user.email,
                        name: s.user.name,
                        role: s.user.role,
                        csrf: s.csrf,
                        notice: super::notice::Notice::from_query(req.uri().query()),
                        token_hash,
                    })
                }
                None => None,
            }
        }
        None => None,
    };
    if !is_safe(req.method()) {
        if !same_origin(req.headers(), &state.config.public_url) {
            return Err(AdminError::Csrf);
        }
        // The login form has no session yet; its handler checks its own token.
        if let Some(staff) = &staff
            && req.uri().path() != "/admin/login"
        {
            let (token, rebuilt) = csrf_token_of(req).await?;
            req = rebuilt;
            if !token.is_some_and(|t| same_secret(&t, &staff.csrf)) {
                return Err(AdminError::Csrf);
            }
        }
    }
    if let Some(staff) = staff {
        req.extensions_mut().insert(staff);
    }
    Ok(req)
}

/// The CSRF token of a request: the `X-CSRF-Token` header, a `csrf` query
/// parameter (multipart uploads), or the `csrf` field of a urlencoded form
/// (the body is read and put back).
async fn csrf_token_of(req: Request) -> Result<(Option<String>, Request), AdminError> {
    if let Some(t) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        let t = t.to_string();
        return Ok((Some(t), req));
    }
    // In the query string only for multipart uploads, whose body this check does not
    // read: elsewhere an address with the token ends up in logs, proxies and
    // `Referer` headers, and a form posting to it would carry a token it did not get
    // from its own page.
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    if multipart {
        let from_query = req.uri().query().and_then(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()
                .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v))
        });
        return Ok((from_query, req));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((None, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| AdminError::BadRequest(format!("the form is larger than {} MB", MAX_FORM_BYTES >> 20)))?;
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
    Ok((token, Request::from_parts(parts, Body::from(bytes))))
}

/// A browser-session cookie: gone when the browser closes; the session row expires on its own.
fn cookie<'c>(state: &AppState, name: &'c str, value: String) -> Cookie<'c> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.public_url.starts_with("https://"))
        .build()
}

fn removal(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new());
    c.make_removal();
    c
}

/// Where to go after logging in: `next` as a normalized back-office path
/// (see [`back_office_path`]), else `/admin`.
pub(super) fn safe_next(next: Option<&str>) -> String {
    next.and_then(back_office_path).unwrap_or_else(|| "/admin".to_string())
}

/// Longest `next` followed; a longer one is not a link of ours.
const MAX_NEXT: usize = 2048;

/// `next` as a path on this site under `/admin`, the way a browser would
/// resolve it, or `None`. Dot segments (also percent-encoded ones, which
/// browsers resolve too) are resolved and empty segments dropped, so no
/// `//host` or `/..//host` survives; a scheme, a relative path, a backslash,
/// an encoded slash or backslash, a control character (raw or encoded) or
/// bytes that are not UTF-8 refuse it. The answer is percent-encoded, so it
/// is always a valid `Location`.
fn back_office_path(next: &str) -> Option<String> {
    if next.len() > MAX_NEXT || next.chars().any(char::is_control) || next.contains('\\') {
        return None;
    }
    // The fragment is the browser's own; it never reaches a server anyway.
    let next = next.split('#').next().unwrap_or_default();
    let (path, query) = match next.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (next, None),
    };
    let rest = path.strip_prefix('/')?;
    let mut segments: Vec<String> = Vec::new();
    let mut trailing_slash = false;
    for raw in rest.split('/') {
        let seg = percent_decode(raw)?;
        if seg.contains(['/', '\\']) || seg.chars().any(char::is_control) {
            return None;
        }
        trailing_slash = matches!(seg.as_str(), "" | "." | "..");
        match seg.as_str() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(seg),
        }
    }
    if segments.first().map(String::as_str) != Some("admin") {
        return None;
    }
    let mut out = String::new();
    for seg in &segments {
        out.push('/');
        percent_encode_into(&mut out, seg.as_bytes(), b"-._~!$&'()*+,;=:@");
    }
    if trailing_slash {
        out.push('/');
    }
    if let Some(q) = query {
        if percent_decode(q)?.chars().any(char::is_control) {
            return None;
        }
        out.push('?');
        // Escapes already in the query stay as they are; anything else unsafe is escaped.
        let b = q.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            let escape = c == b'%' && b.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if escape || (c.is_ascii_graphic() && c != b'%') {
                out.push(char::from(c));
            } else {
                percent_encode_into(&mut out, &[c], b"");
            }
        }
    }
    Some(out)
}

/// Decodes `%XX` escapes; `None` if the result is not UTF-8. A `%` not
/// followed by two hex digits stays as it is.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(byte) if b[i] == b'%' => {
                out.push(byte);
                i += 3;
            }
            _ => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Appends `bytes`, keeping ASCII letters, digits and `keep`, escaping the rest as `%XX`.
fn percent_encode_into(out: &mut String, bytes: &[u8], keep: &[u8]) {
    for &c in bytes {
        if c.is_ascii_alphanumeric() || keep.contains(&c) {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
}

/// The throttling key of an account.
pub(super) fn account_key(email: &str) -> String {
    format!("account:{email}")
}

#[derive(Debug, Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

/// The login page (also shown with 401 for anonymous back-office requests).
pub(super) async fn login_page(
    State(state): State<AppState>,
    jar: CookieJar,
    staff: Option<Staff>,
    Query(q): Query<NextQuery>,
) -> Result<Response, AdminError> {
    let next = safe_next(q.next.as_deref());
    if staff.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    login_form(&state, jar, axum::http::StatusCode::OK, &next, "", None)
}

/// Renders the login form with a fresh login token.
pub(super) fn login_form(
    state: &AppState,
    jar: CookieJar,
    status: axum::http::StatusCode,
    next: &str,
    email: &str,
    error: Option<&str>,
) -> Result<Response, AdminError> {
    let token = random_token();
    let html = page::render_anonymous(
        state,
        "admin/login.html",
        "Log in",
        minijinja::context! { next => next, email => email, error => error, csrf => token },
    )?;
    let jar = jar.add(cookie(state, LOGIN_COOKIE, token));
    Ok((status, jar, html).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// Checks a password against a stored Argon2id hash, off the async threads.
pub(crate) async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || password_auth::verify_password(password, &hash).is_ok()).await.unwrap_or(false)
}

/// Hashes a password with Argon2id, off the async threads.
pub async fn hash_password(password: String) -> Result<String, AdminError> {
    tokio::task::spawn_blocking(move || password_auth::generate_hash(password))
        .await
        .map_err(|e| AdminError::Internal(format!("hashing task failed: {e}")))
}

/// A hash of a random password, checked when the account does not exist so
/// that the answer takes as long as for a real one.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password_auth::generate_hash(random_token()));

/// Logs in: throttled per account and per address (counted before the
/// password is checked); a new session on success.
pub(super) async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AdminError> {
    let next = safe_next(form.next.as_deref());
    let login_token = jar.get(LOGIN_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    if login_token.is_empty() || !same_secret(&login_token, &form.csrf) {
        return login_form(
            &state,
            jar,
            axum::http::StatusCode::FORBIDDEN,
            &next,
            &form.email,
            Some("The login form expired. Please try again."),
        );
    }
    let email = roles::normalize_email(&form.email).unwrap_or_else(|_| form.email.trim().to_lowercase());
    let ip = crate::views::client_ip(peer, &headers, &state.config.trusted_proxies);
    let ip_text = ip.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into());
    let now = Utc::now();
    let ip_key = format!("ip:{}", ip.map(crate::views::address_group).unwrap_or_else(|| "unknown".into()));
    let account_key = account_key(&email);
    // Counted before the password is checked, in one statement each: of many
    // concurrent guesses, only the first MAX_ATTEMPTS_ACCOUNT get checked.
    let account_attempts = state.store.count_login_attempt(&account_key, now, THROTTLE_WINDOW).await?;
    let ip_attempts = state.store.count_login_attempt(&ip_key, now, THROTTLE_WINDOW).await?;
    if account_attempts > MAX_ATTEMPTS_ACCOUNT || ip_attempts > MAX_ATTEMPTS_IP {
        return login_form(
            &state,
            jar,
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            &next,
            &form.email,
            Some("Too many failed logins. Wait 15 minutes and try again, or ask an admin to reset your password."),
        );
    }
    let found = state.store.user_by_email(&email).await?;
    let (user, hash) = match found {
        Some((u, h)) if u.active && !h.is_empty() => (Some(u), h),
        _ => (None, DUMMY_HASH.clone()),
    };
    let ok = verify_password(form.password.clone(), hash).await;
    let Some(user) = user.filter(|_| ok) else {
        return login_form(
            &state,
            jar,
            axum::http::StatusCode::UNAUTHORIZED,
            &next,
            &form.email,
            Some("Wrong e-mail address or password."),
        );
    };
    state.store.clear_login_attempts(&account_key).await?;
    state.store.forgive_login_attempt(&ip_key).await?;
    let jar = start_session(&state, jar.remove(removal(&state, LOGIN_COOKIE)), user.id, now).await?;
    state
        .store
        .audit(&AuditEntry {
            at: now,
            actor: user.email.clone(),
            user_id: Some(user.id),
            action: "login".into(),
            target_kind: "user".into(),
            target_id: user.id.to_string(),
            detail: format!("from {ip_text}"),
        })
        .await?;
    Ok((jar, Redirect::to(&next)).into_response())
}

/// Creates a session for `user_id` and sets its cookie.
pub(super) async fn start_session(
    state: &AppState,
    jar: CookieJar,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<CookieJar, AdminError> {
    let token = random_token();
    state.store.create_session(&hash_token(&token), user_id, &random_token(), now, now + IDLE).await?;
    Ok(jar.add(cookie(state, SESSION_COOKIE, token)))
}

/// Ends this session.
pub(super) async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    staff: Staff,
) -> Result<Response, AdminError> {
    state.store.delete_session(&staff.token_hash).await?;
    state.store.audit(&staff.audit("logout", "user", staff.user_id, "")).await?;
    Ok((jar.remove(removal(&state, SESSION_COOKIE)), Redirect::to("/admin/login")).into_response())
}

/// Ends every session of this user, on every device, and revokes their API tokens.
pub(super) async fn logout_everywhere(
    State(state): State<AppState>,
    jar: CookieJar,
    staff: Staff,
) -> Result<Response, AdminError> {
    // The store appends how many sessions and tokens ended to the (empty) detail.
    let audit = staff.audit("logout_everywhere", "user", staff.user_id, "");
    state.store.sign_out_everywhere(staff.user_id, Utc::now(), &audit).await?;
    Ok((jar.remove(removal(&state, SESSION_COOKIE)), Redirect::to("/admin/login")).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

/// The account page: who you are, password change, log out everywhere.
pub(super) async fn account_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Response, AdminError> {
    let notice = (q.done.as_deref() == Some("password"))
        .then_some("Your password was changed. Your other sessions were ended and your API tokens revoked.");
    account_form(&state, &staff, axum::http::StatusCode::OK, notice, None)
}

fn account_form(
    state: &AppState,
    staff: &Staff,
    status: axum::http::StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<Response, AdminError> {
    let html = page::render(
        state,
        staff,
        "admin/account.html",
        "Your account",
        minijinja::context! {
            notice => notice, error => error, min_password => roles::MIN_PASSWORD_CHARS,
        },
    )?;
    Ok((status, html).into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

/// Changes the password; every session ends and every API token is revoked,
/// this session is renewed.
pub(super) async fn change_password(
    State(state): State<AppState>,
    jar: CookieJar,
    staff: Staff,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AdminError> {
    let bad = |msg: &str| account_form(&state, &staff, axum::http::StatusCode::UNPROCESSABLE_ENTITY, None, Some(msg));
    let hash = state.store.password_hash(staff.user_id).await?.unwrap_or_default();
    if !verify_password(form.current, hash).await {
        return bad("The current password is wrong.");
    }
    if form.new != form.confirm {
        return bad("The new password and its confirmation differ.");
    }
    if let Err(msg) = roles::check_password(&form.new, &[&staff.email, &staff.name]) {
        return bad(&format!("The new password is refused: {msg}."));
    }
    let now = Utc::now();
    let audit = staff.audit("password_change", "user", staff.user_id, "");
    state.store.set_password(staff.user_id, &hash_password(form.new).await?, now, &audit).await?;
    let jar = start_session(&state, jar, staff.user_id, now).await?;
    Ok((jar, Redirect::to("/admin/account?done=password")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_in_the_back_office() {
        for (next, to) in [
            ("/admin/stories?status=draft", "/admin/stories?status=draft"),
            ("/admin", "/admin"),
            ("/admin/", "/admin/"),
            ("/admin//stories", "/admin/stories"),
            ("/admin/./users/../stories/", "/admin/stories/"),
            ("/admin/users/..", "/admin/"),
            ("/admin/%2e/stories", "/admin/stories"),
            ("/admin/stories/%C3%A9t%C3%A9", "/admin/stories/%C3%A9t%C3%A9"),
            ("/admin/stories/été?q=a b&x=%25", "/admin/stories/%C3%A9t%C3%A9?q=a%20b&x=%25"),
            ("/admin/stories#top", "/admin/stories"),
        ] {
            assert_eq!(safe_next(Some(next)), to, "{next}");
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/admin",
            "/news/1",
            "/administrator",
            "admin/stories",
            "",
            "/admin\\@evil",
            "/\\evil.example/admin",
            // Resolved and collapsed, these leave the back office.
            "/admin/../../en//evil.example/",
            "/admin/..//evil.example/",
            "/admin/%2e%2e/%2E%2E//evil.example",
            "/admin/.%2e//evil.example",
            // Encoded separators and controls.
            "/admin/%2f%2fevil.example",
            "/admin/%5Cevil.example",
            "/admin/%0d%0aSet-Cookie:%20x=1",
            "/admin/stories?x=%0a",
            "/admin/\n",
            "/admin/\tstories",
            "/admin/\u{7f}",
            "/admin/%ff%fe",
            "javascript:alert(1)//admin",
        ] {
            assert_eq!(safe_next(Some(bad)), "/admin", "{bad:?}");
        }
        assert_eq!(safe_next(Some(&format!("/admin/{}", "a".repeat(MAX_NEXT)))), "/admin", "too long");
        assert_eq!(safe_next(None), "/admin");
    }

    #[test]
    fn origin_check() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, "https://news.example"), "no header: token decides");
        h.insert("sec-fetch-site", "cross-site".parse().expect("value"));
        assert!(!same_origin(&h, "https://news.example"));
        h.insert("sec-fetch-site", "same-origin".parse().expect("value"));
        assert!(same_origin(&h, "https://news.example"));
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, "https://evil.example".parse().expect("value"));
        h.insert(header::HOST, "news.example".parse().expect("value"));
        assert!(!same_origin(&h, "https://news.example"));
        h.insert(header::ORIGIN, "https://news.example".parse().expect("value"));
        assert!(same_origin(&h, "http://127.0.0.1:8080"));
    }

    #[test]
    fn secrets_compare() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
