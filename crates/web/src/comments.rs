//! Readers' comments on story pages: the thread and the "your comment" form
//! (rendered into the cached story page), the form post, its defenses, and
//! the moderation actions behind the back office.
//!
//! # Cached pages and per-reader answers
//!
//! The story page is cached whole, so nothing that belongs to one reader may
//! go into it. After a post the reader is sent back (303) to
//! `…?comment=pending#comments`; that URL is served from the *same* cached
//! page, with a notice filled in at the `<!--nd:comment-notice-->` marker of
//! the assembled bytes and `Cache-Control: no-store`. A refused post, or
//! `?reply=ID`, replaces the form between the `<!--nd:comment-form-->` markers
//! with one rendered for this reader (the error, what they typed, the comment
//! they answer). The cached bytes themselves never change.
//!
//! # CSRF and the form token
//!
//! A post must come from our own pages: `Sec-Fetch-Site` must say
//! `same-origin` and `Origin`, when sent, must be the site's. It must also
//! carry a form token signed with the site secret (HMAC-SHA256 over the story
//! and the time it was issued; the secret is made once and kept in the
//! database, so every node accepts every node's tokens). The cached page holds
//! a token issued when the page was rendered, so the form works without
//! JavaScript. With JavaScript, a small same-origin script fetches a fresh
//! token when the form is first focused; that token is also bound to a signed
//! `SameSite=Strict` cookie (double submit). The issue time is the start of
//! the minimum fill time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use minijinja::Value;
use newsdesk_domain::comments::{self as rules, CommentDraft, CommentRules, CommentStatus, ModerationMode};
use newsdesk_domain::{Edition, NewsId, Story, StoryStatus, dates, html};
use newsdesk_storage::{CommentTarget, NewComment, PostLimits, PostOutcome};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::cache::{CachedPage, Chrome};
use crate::render::Templates;
use crate::{AppError, AppState, http};

/// Marker in the story page where a per-reader notice goes.
pub const NOTICE_MARKER: &str = "<!--nd:comment-notice-->";
/// Markers around the comment form in the story page.
pub const FORM_START: &str = "<!--nd:comment-form-->";
/// End of the comment form.
pub const FORM_END: &str = "<!--/nd:comment-form-->";
/// Name of the double-submit cookie set by the token endpoint.
pub const COOKIE: &str = "nd_comment";
/// How long a form token is accepted.
pub const TOKEN_MAX_AGE: Duration = Duration::days(7);

const SCRIPT: &str = include_str!("../static/comments.js");

/// Comment settings of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentSettings {
    /// What a comment may contain.
    pub rules: CommentRules,
    /// Moderation of editions that do not choose their own.
    pub moderation: ModerationMode,
    /// Comments close this many days after a story's publication (0: never).
    pub close_after_days: u32,
    /// Comments one client address may post per window (0: no limit).
    pub rate_per_ip: u32,
    /// Comments one story may receive per window (0: no limit).
    pub rate_per_story: u32,
    /// Length of the rate window in seconds.
    pub rate_window_secs: u64,
    /// The same text is refused as a duplicate for this many hours.
    pub duplicate_hours: u32,
}

impl Default for CommentSettings {
    fn default() -> Self {
        CommentSettings {
            rules: CommentRules::default(),
            moderation: ModerationMode::Pre,
            close_after_days: 30,
            rate_per_ip: 5,
            rate_per_story: 60,
            rate_window_secs: 600,
            duplicate_hours: 24,
        }
    }
}

/// The comment settings and the signing key, shared by the handlers.
pub struct Comments {
    /// Settings.
    pub settings: CommentSettings,
    key: [u8; 32],
    /// The blank forms of story pages ([`blank_form`]) by edition and state;
    /// `None`: a theme's form does not keep the markers, rendered each time.
    blank_forms: RwLock<HashMap<BlankKey, Option<Arc<str>>>>,
}

/// What a blank form's text depends on besides the story: the current
/// edition's language, digits and prefix, whether comments are open, whether
/// they are moderated before they show.
type BlankKey = (Option<(String, newsdesk_domain::calendar::Digits, String)>, bool, bool);

impl Comments {
    /// Loads the site secret from the database (made on first use, then shared by all nodes).
    pub async fn load(store: &newsdesk_storage::Store, settings: CommentSettings) -> Result<Comments, AppError> {
        let secret = store.site_secret("comment_form_secret", || hex::encode(rand::random::<[u8; 32]>())).await?;
        let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        Ok(Comments { settings, key, blank_forms: RwLock::default() })
    }

    fn sign(&self, msg: &str) -> String {
        hex::encode(&hmac_sha256(&self.key, msg.as_bytes())[..16])
    }

    /// A form token for story `news_id`, issued at `issued`, bound to the
    /// cookie nonce if given.
    pub fn form_token(&self, news_id: NewsId, issued: DateTime<Utc>, nonce: Option<&str>) -> String {
        let nonce = nonce.unwrap_or("-");
        let issued = issued.timestamp();
        format!("{issued}.{nonce}.{}", self.sign(&format!("form|{news_id}|{issued}|{nonce}")))
    }

    fn cookie_value(&self, nonce: &str) -> String {
        format!("{nonce}.{}", self.sign(&format!("cookie|{nonce}")))
    }

    /// The nonce of a well-signed cookie value.
    fn cookie_nonce(&self, value: &str) -> Option<String> {
        let (nonce, sig) = value.split_once('.')?;
        (is_nonce(nonce) && same(&self.sign(&format!("cookie|{nonce}")), sig)).then(|| nonce.to_string())
    }

    /// Checks a form token; returns its issue time.
    fn verify(
        &self,
        news_id: NewsId,
        token: &str,
        cookie: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, &'static str> {
        const BAD: &str = "This form could not be verified (it was not sent from our page, or it is too old). \
                           Your text is kept below: please send it again.";
        let mut parts = token.splitn(3, '.');
        let (Some(issued), Some(nonce), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(BAD);
        };
        let issued_secs: i64 = issued.parse().map_err(|_| BAD)?;
        if !(nonce == "-" || is_nonce(nonce)) || !same(&self.sign(&format!("form|{news_id}|{issued}|{nonce}")), sig) {
            return Err(BAD);
        }
        let issued = dates::from_unix(issued_secs);
        if now - issued > TOKEN_MAX_AGE || issued - now > Duration::minutes(5) {
            return Err(BAD);
        }
        if nonce != "-" && cookie.and_then(|c| self.cookie_nonce(c)).as_deref() != Some(nonce) {
            return Err(
                "Your browser did not send back this form's cookie. Your text is kept below: please send it again.",
            );
        }
        Ok(issued)
    }

    /// A keyed hash of the client address: enough to rate-limit and to spot
    /// repeats, without storing the address.
    fn ip_key(&self, ip: Option<IpAddr>) -> String {
        match ip {
            Some(ip) => self.sign(&format!("ip|{ip}")),
            None => "unknown".into(),
        }
    }

    fn limits(&self) -> PostLimits {
        let s = &self.settings;
        PostLimits {
            per_ip: i64::from(s.rate_per_ip),
            per_story: i64::from(s.rate_per_story),
            window_secs: i64::try_from(s.rate_window_secs).unwrap_or(i64::MAX).max(1),
            duplicate_secs: i64::from(s.duplicate_hours) * 3600,
        }
    }

    /// Whether a story takes comments at `now`: published, not closed by an
    /// editor, and not older than the configured number of days.
    pub fn is_open(&self, target: &CommentTarget, now: DateTime<Utc>) -> bool {
        let days = self.settings.close_after_days;
        target.status == StoryStatus::Published
            && !target.closed
            && (days == 0 || target.published_at.is_none_or(|p| now - p <= Duration::days(i64::from(days))))
    }

    fn mode(&self, target: &CommentTarget) -> ModerationMode {
        target.moderation.unwrap_or(self.settings.moderation)
    }
}

fn is_nonce(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares two strings in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA256 (RFC 2104) with a 32-byte key.
fn hmac_sha256(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Whether a state-changing request comes from our own pages.
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let public_origin = match public_url.find("://") {
        Some(i) => &public_url[..public_url[i + 3..].find('/').map_or(public_url.len(), |j| i + 3 + j)],
        None => public_url,
    };
    if origin == public_origin {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    !host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}"))
}

fn cookie_from(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Routes: the form post, the token endpoint and the form script.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/news/{id}/comments", post(post_comment))
        .route("/news/{id}/comments/token", get(token))
        .route("/static/comments.js", get(script))
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        SCRIPT,
    )
        .into_response()
}

fn parse_id(id: &str) -> Result<NewsId, AppError> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or(AppError::NotFound)
}

async fn open_target(state: &AppState, id: NewsId) -> Result<CommentTarget, AppError> {
    let target = state.store.comment_target(id).await?.ok_or(AppError::NotFound)?;
    match target.status {
        StoryStatus::Published => Ok(target),
        s if s.is_gone() => Err(AppError::Gone),
        _ => Err(AppError::NotFound),
    }
}

/// A fresh form token bound to a cookie (set here when missing), as JSON.
async fn token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    open_target(&state, id).await?;
    let c = &state.comments;
    let existing = cookie_from(&headers, COOKIE).and_then(|v| c.cookie_nonce(&v));
    let nonce = existing.clone().unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let body = serde_json::json!({ "token": c.form_token(id, Utc::now(), Some(&nonce)) }).to_string();
    let mut res =
        ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response();
    if existing.is_none() {
        let secure = if state.config.public_url.starts_with("https://") { "; Secure" } else { "" };
        // The edition's story paths (`/news`, `/fa/news`): the form posts next to its page.
        let path = crate::editions::url("/news");
        let cookie = format!(
            "{COOKIE}={}; Path={path}; Max-Age=604800; HttpOnly; SameSite=Strict{secure}",
            c.cookie_value(&nonce)
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    Ok(res)
}

/// The comment form as posted. Every field is optional here so that a missing
/// one is answered with the form and a message, not a bare 400.
#[derive(Debug, Default, Deserialize)]
pub struct CommentForm {
    name: Option<String>,
    email: Option<String>,
    text: Option<String>,
    /// The honeypot.
    website: Option<String>,
    parent_id: Option<String>,
    token: Option<String>,
}

/// What the form shows.
#[derive(Debug, Default, Clone)]
struct FormView {
    name: String,
    email: String,
    text: String,
    parent_id: Option<i64>,
    reply_to: Option<String>,
    error: Option<(String, &'static str)>,
    /// Put the cursor in the text (errors and replies).
    focus: bool,
}

async fn post_comment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    crate::site::Peer(peer): crate::site::Peer,
    headers: HeaderMap,
    form: Result<Form<CommentForm>, FormRejection>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let Form(form) = form.map_err(|e| AppError::BadRequest(format!("the comment form could not be read: {e}")))?;
    let target = open_target(&state, id).await?;
    let story = state.store.story(id).await?.ok_or(AppError::NotFound)?;
    let now = Utc::now();
    let c = &state.comments;
    let mut view = FormView {
        name: form.name.clone().unwrap_or_default(),
        email: form.email.clone().unwrap_or_default(),
        text: form.text.clone().unwrap_or_default(),
        parent_id: None,
        reply_to: None,
        error: None,
        focus: true,
    };
    let parent_id = match form.parent_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => match p.parse::<i64>() {
            Ok(p) if p > 0 => Some(p),
            _ => {
                return refuse(
                    &state,
                    &story,
                    view,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "The reply could not be matched to a comment.",
                    "text",
                )
                .await;
            }
        },
    };
    view.parent_id = parent_id;
    if let Some(p) = parent_id
        && let Some(parent) = state.store.comment(p).await?
        && parent.news_id == id
        && parent.status == CommentStatus::Approved
    {
        // Only a published comment's author is named; the store refuses replies to the others.
        view.reply_to = Some(parent.name);
    }
    if !same_origin(&headers, &state.config.public_url) {
        let msg = "This form must be sent from this site's own page. Your text is kept below: please send it again.";
        return refuse(&state, &story, view, StatusCode::FORBIDDEN, msg, "text").await;
    }
    let cookie = cookie_from(&headers, COOKIE);
    let issued = match c.verify(id, form.token.as_deref().unwrap_or_default(), cookie.as_deref(), now) {
        Ok(t) => t,
        Err(msg) => return refuse(&state, &story, view, StatusCode::FORBIDDEN, msg, "text").await,
    };
    if !c.is_open(&target, now) {
        return refuse(&state, &story, view, StatusCode::FORBIDDEN, "Comments on this story are closed.", "text").await;
    }
    let draft = CommentDraft {
        name: view.name.clone(),
        email: view.email.clone(),
        text: view.text.clone(),
        honeypot: form.website.unwrap_or_default(),
        fill_secs: (now - issued).num_seconds(),
    };
    let checked = match rules::check(&c.settings.rules, &draft) {
        Ok(ok) => ok,
        Err(r) => {
            let msg = refusal_words(&state, &r);
            return refuse(&state, &story, view, StatusCode::UNPROCESSABLE_ENTITY, &msg, r.field()).await;
        }
    };
    let ip = crate::views::client_ip(peer, &headers, &state.config.trusted_proxies);
    let new = NewComment {
        news_id: id,
        parent_id,
        name: checked.name,
        email: checked.email,
        body: checked.text,
        body_key: checked.duplicate_key,
        ip_key: c.ip_key(ip),
        status: c.mode(&target).initial_status(),
    };
    let (status, msg) = match state.store.post_comment(&new, &c.limits(), now).await? {
        PostOutcome::Stored(comment) => {
            let (flag, anchor) = if comment.status == CommentStatus::Approved {
                // This node shows it at once; other nodes learn it from the change log.
                state.story_changed(id, target.edition_id).await?;
                ("published", format!("comment-{}", comment.id))
            } else {
                ("pending", "comments".to_string())
            };
            let path = crate::editions::story_path(&state, story.edition_id, story.news_id, &story.slug);
            let location = format!("{path}?comment={flag}#{anchor}");
            return Ok((
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, crate::editions::local_location(&location)),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
            )
                .into_response());
        }
        PostOutcome::RateLimitedIp => (
            StatusCode::TOO_MANY_REQUESTS,
            "You have sent several comments in a short time. Please wait a few minutes, then send this one again.",
        ),
        PostOutcome::RateLimitedStory => (
            StatusCode::TOO_MANY_REQUESTS,
            "This story is receiving very many comments right now. Please send yours again in a few minutes.",
        ),
        PostOutcome::Duplicate => {
            (StatusCode::CONFLICT, "This comment has already been received (the same text was sent recently).")
        }
        PostOutcome::BadParent => {
            (StatusCode::UNPROCESSABLE_ENTITY, "The comment you are replying to is not on this story.")
        }
    };
    refuse(&state, &story, view, status, msg, "text").await
}

/// The refusals of a post (not of its content), by their English text and catalog key.
const POST_REFUSALS: &[(&str, &str)] = &[
    (
        "Your browser did not send back this form's cookie. Your text is kept below: please send it again.",
        "comments.errors.cookie",
    ),
    ("The reply could not be matched to a comment.", "comments.errors.reply"),
    (
        "This form must be sent from this site's own page. Your text is kept below: please send it again.",
        "comments.errors.origin",
    ),
    ("Comments on this story are closed.", "comments.closed"),
    (
        "You have sent several comments in a short time. Please wait a few minutes, then send this one again.",
        "comments.errors.rate_ip",
    ),
    (
        "This story is receiving very many comments right now. Please send yours again in a few minutes.",
        "comments.errors.rate_story",
    ),
    ("This comment has already been received (the same text was sent recently).", "comments.errors.duplicate"),
    ("The comment you are replying to is not on this story.", "comments.errors.bad_parent"),
];

/// `message` in the words of the edition being served, when it is one of [`POST_REFUSALS`].
fn post_words(state: &AppState, message: &str) -> String {
    let lang = crate::editions::current(state).lang;
    match POST_REFUSALS.iter().find(|(english, _)| *english == message) {
        Some((_, key)) if lang != "en" => state.templates.text(&lang, key, &[]),
        _ => message.to_string(),
    }
}

/// Why the comment's content was refused, in the words and digits of the edition being served.
fn refusal_words(state: &AppState, r: &rules::Refusal) -> String {
    use rules::Refusal;
    let edition = crate::editions::current(state);
    if edition.lang == "en" {
        return r.to_string();
    }
    let n = |v: &usize| edition.number(&v.to_string());
    let t = |key: &str, args: &[(&str, &str)]| state.templates.text(&edition.lang, key, args);
    match r {
        Refusal::NameMissing => t("comments.errors.name_missing", &[]),
        Refusal::NameTooLong(max) => t("comments.errors.name_too_long", &[("max", &n(max))]),
        Refusal::BadEmail => t("comments.errors.bad_email", &[]),
        Refusal::TextMissing => t("comments.errors.text_missing", &[]),
        Refusal::TooLong { got, max } => t("comments.errors.too_long", &[("got", &n(got)), ("max", &n(max))]),
        Refusal::TooManyLinks { got, max } => {
            t("comments.errors.too_many_links", &[("got", &n(got)), ("max", &n(max))])
        }
        Refusal::Blocked(word) => t("comments.errors.blocked", &[("word", word)]),
        Refusal::Honeypot => t("comments.errors.honeypot", &[]),
        Refusal::TooFast => t("comments.errors.too_fast", &[]),
        Refusal::ControlCharacters(field) => {
            let label = t(if *field == "name" { "comments.name" } else { "comments.comment" }, &[]);
            t("comments.errors.control_characters", &[("field", &label)])
        }
    }
}

/// Answers a refused post: the story page with the form, the message and
/// everything the reader typed (uncached).
async fn refuse(
    state: &AppState,
    story: &Story,
    mut view: FormView,
    status: StatusCode,
    message: &str,
    field: &'static str,
) -> Result<Response, AppError> {
    view.error = Some((post_words(state, message), field));
    let target = open_target(state, story.news_id).await?;
    let premoderated = state.comments.mode(&target) == ModerationMode::Pre;
    let form = render_form(state, story, &view, true, premoderated)?;
    crate::site::story_page(
        state,
        story.news_id,
        &story.slug,
        &story.path(),
        &HeaderMap::new(),
        Deco::Form { status, html: form },
    )
    .await
}

fn render_form(
    state: &AppState,
    story: &Story,
    view: &FormView,
    open: bool,
    premoderated: bool,
) -> Result<String, AppError> {
    let c = &state.comments;
    let cancel_url =
        format!("{}#your-comment", crate::editions::story_path(state, story.edition_id, story.news_id, &story.slug));
    let token = c.form_token(story.news_id, Utc::now(), None);
    form_html(&state.templates, c, &story.news_id.to_string(), &token, &cancel_url, view, open, premoderated)
}

/// The form of story `news_id` with `token`, in the current edition.
#[expect(clippy::too_many_arguments, reason = "the form's inputs, passed through once")]
fn form_html(
    templates: &Templates,
    c: &Comments,
    news_id: &str,
    token: &str,
    cancel_url: &str,
    view: &FormView,
    open: bool,
    premoderated: bool,
) -> Result<String, AppError> {
    templates.render(
        "comment_form.html",
        minijinja::context! {
            open => open,
            premoderated => premoderated,
            action => crate::editions::url(&format!("/news/{news_id}/comments")),
            token_url => crate::editions::url(&format!("/news/{news_id}/comments/token")),
            token => token,
            name => view.name,
            email => view.email,
            text => view.text,
            parent_id => view.parent_id,
            reply_to => view.reply_to,
            error => view.error.as_ref().map(|(m, _)| m.clone()),
            error_field => view.error.as_ref().map(|(_, f)| *f),
            focus => view.focus,
            max_length => c.settings.rules.max_length,
            cancel_url => cancel_url,
        },
    )
}

/// Where a blank form's News ID and token go (control characters: no text
/// of a template or a catalog has them, and escaping keeps them).
const ID_MARK: &str = "\u{1}news_id\u{1}";
const TOKEN_MARK: &str = "\u{1}token\u{1}";
const CANCEL_MARK: &str = "\u{1}cancel_url\u{1}";

/// The form with nothing typed in, as every story page shows it: the same
/// text as [`form_html`] with a blank [`FormView`], but rendered once per
/// edition and state with markers where the News ID and the token go, then
/// filled in for each story.
fn blank_form(
    templates: &Templates,
    c: &Comments,
    news_id: NewsId,
    cancel_url: &str,
    issued: DateTime<Utc>,
    open: bool,
    premoderated: bool,
) -> Result<String, AppError> {
    let token = c.form_token(news_id, issued, None);
    let key: BlankKey = (crate::editions::current_words_and_prefix(), open, premoderated);
    let known = c.blank_forms.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key).cloned();
    let shell = match known {
        Some(shell) => shell,
        None => {
            let html =
                form_html(templates, c, ID_MARK, TOKEN_MARK, CANCEL_MARK, &FormView::default(), open, premoderated)?;
            // A theme that changes the values it prints (a filter) loses the
            // markers: its form is rendered for each story instead.
            let kept = html.replace(ID_MARK, "").replace(TOKEN_MARK, "").replace(CANCEL_MARK, "");
            let shell = (!kept.contains('\u{1}')).then(|| Arc::from(html));
            c.blank_forms.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, shell.clone());
            shell
        }
    };
    match shell {
        Some(shell) => Ok(shell
            .replace(ID_MARK, &news_id.to_string())
            .replace(TOKEN_MARK, &html::escape(&token))
            .replace(CANCEL_MARK, &html::escape(cancel_url))),
        None => {
            form_html(templates, c, &news_id.to_string(), &token, cancel_url, &FormView::default(), open, premoderated)
        }
    }
}

/// The comments part of a story page's context: the thread (approved
/// comments, oldest first, replies under their comment), the count and the form.
pub(crate) fn story_ctx(
    state: &AppState,
    story: &Story,
    edition: &Edition,
    thread: Option<(newsdesk_storage::CommentTarget, Vec<newsdesk_storage::Comment>)>,
) -> Result<Value, AppError> {
    let (target, all) = thread.ok_or(AppError::NotFound)?;
    let c = &state.comments;
    let tz = edition.time_zone;
    let links = c.settings.rules.links_clickable;
    let path = crate::editions::story_path(state, story.edition_id, story.news_id, &story.slug);
    let item = |cm: &newsdesk_storage::Comment| {
        minijinja::context! {
            id => cm.id,
            name => cm.name,
            date => edition.format_long(cm.created_at),
            iso => dates::iso8601(cm.created_at, tz),
            body_html => Value::from_safe_string(rules::render(&cm.body, links)),
            reply_url => format!("{path}?reply={}#your-comment", cm.id),
        }
    };
    let mut items = Vec::new();
    for top in all.iter().filter(|cm| cm.parent_id.is_none()) {
        let replies: Vec<Value> = all.iter().filter(|r| r.parent_id == Some(top.id)).map(item).collect();
        items.push(minijinja::context! { replies => replies, ..item(top) });
    }
    let open = c.is_open(&target, Utc::now());
    let premoderated = c.mode(&target) == ModerationMode::Pre;
    let cancel_url = format!("{path}#your-comment");
    let form = blank_form(&state.templates, c, story.news_id, &cancel_url, Utc::now(), open, premoderated)?;
    Ok(minijinja::context! {
        count => all.len(),
        items => items,
        form_html => Value::from_safe_string(form),
        notice_marker => Value::from_safe_string(NOTICE_MARKER.to_string()),
        form_start => Value::from_safe_string(FORM_START.to_string()),
        form_end => Value::from_safe_string(FORM_END.to_string()),
    })
}

/// What a story page answer adds for one reader, on top of the cached page.
pub(crate) enum Deco {
    /// Nothing: the cached page as it is.
    None,
    /// A notice after a post, in the edition's words.
    Notice(String),
    /// The form rendered for this reader (an error, a reply), with the answer's status.
    Form {
        /// Status of the answer.
        status: StatusCode,
        /// The form's HTML.
        html: String,
    },
}

#[derive(Debug, Deserialize)]
struct StoryQuery {
    comment: Option<String>,
    reply: Option<String>,
}

/// The decoration a story page's query asks for (`?comment=pending|published`,
/// `?reply=ID`); anything else is ignored (the plain cached page).
pub(crate) async fn decoration(state: &AppState, news_id: NewsId, raw: Option<&str>) -> Result<Deco, AppError> {
    let Some(raw) = raw.filter(|r| !r.is_empty()) else { return Ok(Deco::None) };
    let Ok(uri) = format!("/?{raw}").parse::<Uri>() else { return Ok(Deco::None) };
    let Ok(Query(q)) = Query::<StoryQuery>::try_from_uri(&uri) else { return Ok(Deco::None) };
    let lang = crate::editions::current(state).lang;
    match q.comment.as_deref() {
        Some("pending") => return Ok(Deco::Notice(state.templates.text(&lang, "comments.pending", &[]))),
        Some("published") => return Ok(Deco::Notice(state.templates.text(&lang, "comments.published", &[]))),
        _ => {}
    }
    let Some(parent) = q.reply.as_deref().and_then(|r| r.parse::<i64>().ok()) else { return Ok(Deco::None) };
    let Some(parent) = state.store.comment(parent).await? else { return Ok(Deco::None) };
    if parent.news_id != news_id || parent.status != CommentStatus::Approved {
        return Ok(Deco::None);
    }
    let Some(story) = state.store.story(news_id).await? else { return Ok(Deco::None) };
    let target = open_target(state, news_id).await?;
    let c = &state.comments;
    if !c.is_open(&target, Utc::now()) {
        return Ok(Deco::None);
    }
    let view = FormView {
        parent_id: Some(parent.parent_id.unwrap_or(parent.id)),
        reply_to: Some(parent.name),
        focus: true,
        ..FormView::default()
    };
    let html = render_form(state, &story, &view, true, c.mode(&target) == ModerationMode::Pre)?;
    Ok(Deco::Form { status: StatusCode::OK, html })
}

/// Serves a story page: the cached answer, or, decorated for one reader, an uncached copy.
pub(crate) fn serve(page: &CachedPage, chrome: &Chrome, headers: &HeaderMap, deco: Deco) -> Response {
    let status = match &deco {
        Deco::None => return http::serve_page(page, chrome, headers),
        Deco::Notice(_) => StatusCode::OK,
        Deco::Form { status, .. } => *status,
    };
    let assembled = page.assemble(chrome);
    let cached = String::from_utf8_lossy(&assembled.identity);
    let body = match deco {
        Deco::Notice(msg) => cached.replacen(
            NOTICE_MARKER,
            &format!("<p class=\"notice\" role=\"status\">{}</p>", html::escape(&msg)),
            1,
        ),
        Deco::Form { html: form, .. } => splice_form(&cached, &form),
        Deco::None => cached.into_owned(),
    };
    (status, [(header::CONTENT_TYPE, page.content_type), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

fn splice_form(page: &str, form: &str) -> String {
    match (page.find(FORM_START), page.find(FORM_END)) {
        (Some(a), Some(b)) if a < b => format!("{}{FORM_START}{form}{}", &page[..a], &page[b..]),
        _ => page.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_blank_form_is_the_form_rendered_for_its_story() {
        // Story pages fill in a form rendered once per edition and state; it
        // must be the very text the form renders for the story itself.
        let templates = Templates::load(None).expect("templates");
        let c = Comments { settings: CommentSettings::default(), key: [7; 32], blank_forms: RwLock::default() };
        let issued = Utc::now();
        let english = crate::editions::empty_edition();
        let persian = Edition {
            id: 2,
            lang: "fa".into(),
            direction: newsdesk_domain::Direction::Rtl,
            is_default: false,
            digits: newsdesk_domain::calendar::Digits::Persian,
            ..crate::editions::empty_edition()
        };
        let mut forms = Vec::new();
        for edition in [english, persian] {
            let prefix = edition.prefix();
            crate::editions::scope(edition, async {
                for (open, premoderated) in [(true, true), (true, false), (false, false)] {
                    for news_id in [1, 84_427, 1_000_074] {
                        let cancel = format!("{prefix}/news/{news_id}/a-story-\"quoted\"#your-comment");
                        let token = c.form_token(news_id, issued, None);
                        let view = FormView::default();
                        let direct =
                            form_html(&templates, &c, &news_id.to_string(), &token, &cancel, &view, open, premoderated)
                                .expect("form");
                        let blank =
                            blank_form(&templates, &c, news_id, &cancel, issued, open, premoderated).expect("blank");
                        assert_eq!(blank, direct, "{prefix} {news_id} open {open} pre {premoderated}");
                        assert!(!blank.contains('\u{1}'));
                        if open {
                            assert!(blank.contains(&format!("{prefix}/news/{news_id}/comments\"")), "{blank}");
                            assert!(blank.contains(&token));
                        }
                        forms.push(blank);
                    }
                }
            })
            .await;
        }
        // One shell per edition and state, each kept.
        let shells = c.blank_forms.read().expect("lock");
        assert_eq!(shells.len(), 6);
        assert!(shells.values().all(Option::is_some));
        assert_ne!(forms[0], forms[9], "the Persian form is in Persian");
    }

    #[test]
    fn hmac_matches_rfc_4231_shape() {
        // RFC 4231 test case 2 uses a 4-byte key; with our fixed 32-byte key,
        // check against a key zero-padded to 32 bytes (HMAC pads keys with zeros).
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn origins_from_elsewhere_are_refused() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        let url = "https://news.example";
        assert!(same_origin(&h(&[]), url), "no headers: old clients rely on the token");
        assert!(same_origin(&h(&[("sec-fetch-site", "same-origin"), ("origin", "https://news.example")]), url));
        assert!(!same_origin(&h(&[("sec-fetch-site", "cross-site")]), url));
        assert!(!same_origin(&h(&[("sec-fetch-site", "same-site")]), url));
        assert!(!same_origin(&h(&[("origin", "https://evil.example")]), url));
        assert!(!same_origin(&h(&[("origin", "null")]), url));
        assert!(same_origin(&h(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")]), url));
    }

    #[test]
    fn form_splice_replaces_only_the_form() {
        let page = format!("a{FORM_START}old{FORM_END}b");
        assert_eq!(splice_form(&page, "new"), format!("a{FORM_START}new{FORM_END}b"));
    }
}
