//! Polling the ingest sources (`/admin/ingest/sources`): a directory drop
//! or an HTTP pull each, read as NewsML-G2, NITF, ninjs, a feed (RSS, Atom,
//! JSON Feed) or whatever each document is (`auto`). Items are stored by
//! [`newsdesk_storage::Store::ingest_items`], the one function the CLI uses
//! too, one transaction per file or answer.
//!
//! The scheduler runs [`run`]: every few seconds it takes the sources that
//! are due and polls each under a lease of its own (`ingest-source:{id}`),
//! so with several nodes on one PostgreSQL each source is polled by one node
//! at a time; the node re-reads the source after taking the lease and skips
//! it when another node polled it meanwhile.
//!
//! - Directory drop: the folder's files whose last change is at least
//!   [`SETTLE`] old and whose name does not start with `.` or end in `.tmp`
//!   or `.part` (write a file under such a name, then rename it: renames are
//!   atomic). Each file is read and its items committed, then it is moved to
//!   `done/`; a file that cannot be read goes to `failed/` with an entry in
//!   the source's error list, and nothing of it is stored.
//! - HTTP pull: a conditional GET (`If-None-Match`, `If-Modified-Since` from
//!   the last 200 answer), [`HTTP_TIMEOUT`], answers up to [`MAX_BODY`]; the
//!   API key, when there is one, as `Authorization: Bearer KEY` (how our own
//!   `/api/ninjs/v2/items` takes it). A ninjs API page (`{"items": [...]}`)
//!   is read as its items. A failure (network, status, malformed answer)
//!   is an error entry and waits [`backoff`] before the next try: the
//!   interval doubled per failure in a row, at most [`MAX_BACKOFF_SECS`] (a
//!   `Retry-After` asking for longer is honoured up to that cap).
//!
//! An item refused inside a readable document (a NewsML-G2 package in a
//! `newsMessage`, ...) is an error entry with its place; the document's
//! other items are stored.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use newsdesk_domain::ingest::{self, Format, IncomingItem, IngestError, Position};
use newsdesk_storage::{InboundSource, StoreError};
use reqwest::header;

use crate::AppState;

/// How long a file in a drop folder must be left unchanged before it is read.
pub const SETTLE: Duration = Duration::from_secs(5);
/// Longest wait for an HTTP source's whole answer.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer or file read (bytes).
pub const MAX_BODY: usize = 50 * 1024 * 1024;
/// The longest wait after failures.
pub const MAX_BACKOFF_SECS: i64 = 3600;
/// Files read from one folder in one poll (the rest wait for the next).
const FILES_PER_POLL: usize = 200;
/// How long a node holds a source's lease (longer than a poll can take).
const LEASE_SECS: i64 = 300;
/// How often due sources are looked for.
pub const TICK: Duration = Duration::from_secs(5);

/// The wait before the next try after `failures` failed polls in a row
/// (1 or more): the interval doubled per failure, at most [`MAX_BACKOFF_SECS`].
pub fn backoff(interval_secs: i64, failures: i64) -> i64 {
    let doublings = u32::try_from(failures.clamp(1, 20) - 1).unwrap_or(0);
    interval_secs.max(1).saturating_mul(1 << doublings).min(MAX_BACKOFF_SECS)
}

/// What one poll of one source did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    /// Items stored (created or updated).
    pub items: usize,
    /// Error entries added.
    pub errors: usize,
    /// The answer was 304 Not Modified (HTTP).
    pub not_modified: bool,
    /// The poll failed as a whole (and backs off).
    pub failed: bool,
}

/// Runs the ingest polling until the task is dropped (part of the scheduler).
pub async fn run(state: AppState, node: String) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "ingest sources: cannot make the HTTP client; HTTP sources are not polled");
            return;
        }
    };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = poll_due(&state, &node, &client).await {
            newsdesk_storage::outage::warn("ingest sources: polling failed; retrying", &e);
        }
    }
}

/// The HTTP client of the HTTP sources.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("newsdesk/", env!("CARGO_PKG_VERSION"), " (ingest)"))
        .build()
}

/// Polls every source that is due and whose lease this node gets; returns
/// how many it polled.
pub async fn poll_due(state: &AppState, node: &str, client: &reqwest::Client) -> Result<usize, StoreError> {
    let mut polled = 0;
    for due in state.store.due_inbound_sources(Utc::now()).await? {
        let lease = format!("ingest-source:{}", due.id);
        if !state.store.try_lease(&lease, node, LEASE_SECS).await? {
            continue;
        }
        // Another node may have polled it between the list and the lease.
        let now = Utc::now();
        if let Some(source) = state.store.inbound_source(due.id).await?
            && source.enabled
            && source.next_poll_at <= now
        {
            poll(state, client, &source).await?;
            polled += 1;
        }
        state.store.release_lease(&lease, node).await?;
    }
    Ok(polled)
}

/// Polls one source now, whatever its schedule.
pub async fn poll(
    state: &AppState,
    client: &reqwest::Client,
    source: &InboundSource,
) -> Result<PollReport, StoreError> {
    let report = match source.kind.as_str() {
        "dir" => poll_dir(state, source).await?,
        _ => poll_http(state, client, source).await?,
    };
    metrics::counter!("newsdesk_ingest_polls_total", "outcome" => if report.failed { "failed" } else { "ok" })
        .increment(1);
    Ok(report)
}

/// A document's items and the refusals inside it, or why it cannot be read at all.
type Read = Result<(Vec<IncomingItem>, Vec<IngestError>), IngestError>;

/// Reads a document as `format` says.
fn read(format: &str, bytes: &[u8]) -> Read {
    if format == "feed" {
        return ingest::parse_feed(bytes).map(|items| (items, Vec::new()));
    }
    let doc = ingest::parse(bytes)?;
    let expected = match format {
        "newsml-g2" => Some(matches!(doc.format, Format::NewsmlG2)),
        "nitf" => Some(matches!(doc.format, Format::Nitf)),
        "ninjs" => Some(matches!(doc.format, Format::Ninjs(_))),
        _ => None,
    };
    if expected == Some(false) {
        return Err(IngestError {
            at: Position::Text { line: 1, col: 1 },
            reason: format!("this source reads {format}, and this document is {}", doc.format.code()),
        });
    }
    let mut items = Vec::new();
    let mut refused = Vec::new();
    for entry in doc.items {
        match entry {
            Ok(item) => items.push(item),
            Err(e) => refused.push(e),
        }
    }
    Ok((items, refused))
}

/// `{"items": [...], ...}` (a page of a ninjs API such as ours) as the array
/// of its items; anything else as it is.
fn unwrap_ninjs_page(bytes: &[u8]) -> Option<Vec<u8>> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    let mut page: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes).ok()?;
    match page.remove("items")? {
        items @ serde_json::Value::Array(_) => serde_json::to_vec(&items).ok(),
        _ => None,
    }
}

/// `where:line:col` for a text position, `where: $.path` for a JSON one.
fn place(at: &str, e: &IngestError) -> String {
    match &e.at {
        Position::Text { .. } => format!("{at}:{}", e.at),
        Position::Json(_) => format!("{at}: {}", e.at),
    }
}

/// Stores what a document held, and notes its refused items; returns the
/// number of items stored and of errors noted.
async fn take_in(
    state: &AppState,
    source: &InboundSource,
    at: &str,
    items: &[IncomingItem],
    refused: &[IngestError],
) -> Result<(usize, usize), StoreError> {
    let now = Utc::now();
    for e in refused {
        state.store.record_source_error(source.id, now, &place(at, e), &e.reason, None).await?;
    }
    if items.is_empty() {
        return Ok((0, refused.len()));
    }
    let outcomes = state.store.ingest_items(&source.name, items).await?;
    let stored = outcomes
        .iter()
        .filter(|o| {
            matches!(o, newsdesk_storage::IngestOutcome::Created | newsdesk_storage::IngestOutcome::Updated { .. })
        })
        .count();
    Ok((stored, refused.len()))
}

// ----- directory drop -----

/// Whether `name` is being written (by convention) and must be left alone.
fn in_progress(name: &str) -> bool {
    name.starts_with('.') || name.ends_with(".tmp") || name.ends_with(".part")
}

/// The drop folder's files ready to read, by name.
fn ready_files(folder: &Path, now: SystemTime) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.metadata()?;
        if !meta.is_file() || in_progress(&name) {
            continue;
        }
        let settled = meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age >= SETTLE);
        if settled {
            files.push(entry.path());
        }
    }
    files.sort();
    files.truncate(FILES_PER_POLL);
    Ok(files)
}

/// Moves `file` into `folder/sub/` (made when missing), under a new name if
/// one of its name is there already.
fn move_into(file: &Path, folder: &Path, sub: &str) -> std::io::Result<PathBuf> {
    let target_dir = folder.join(sub);
    std::fs::create_dir_all(&target_dir)?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut target = target_dir.join(&name);
    let mut n = 1;
    while target.exists() {
        target = target_dir.join(format!("{name}.{n}"));
        n += 1;
    }
    std::fs::rename(file, &target)?;
    Ok(target)
}

async fn poll_dir(state: &AppState, source: &InboundSource) -> Result<PollReport, StoreError> {
    let folder = PathBuf::from(&source.location);
    let mut report = PollReport::default();
    let listed = {
        let folder = folder.clone();
        tokio::task::spawn_blocking(move || ready_files(&folder, SystemTime::now())).await
    };
    let files = match listed {
        Ok(Ok(files)) => files,
        Ok(Err(e)) => {
            return fail(state, source, &source.location, &format!("cannot read the folder: {e}"), None).await;
        }
        Err(e) => return fail(state, source, &source.location, &format!("cannot read the folder: {e}"), None).await,
    };
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = match read_file(&file).await {
            Ok(b) => b,
            Err(e) => {
                state.store.record_source_error(source.id, Utc::now(), &name, &e, None).await?;
                report.errors += 1;
                continue;
            }
        };
        match read(&source.format, &bytes) {
            Ok((items, refused)) => {
                let (stored, errors) = match take_in(state, source, &name, &items, &refused).await {
                    Ok(done) => done,
                    // A refusal of the store (an item it cannot take): the file fails; an outage: it waits.
                    Err(StoreError::Invalid(reason)) => {
                        state.store.record_source_error(source.id, Utc::now(), &name, &reason, None).await?;
                        report.errors += 1;
                        moved(state, source, &file, &folder, "failed").await?;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                report.items += stored;
                report.errors += errors;
                moved(state, source, &file, &folder, "done").await?;
            }
            Err(e) => {
                state.store.record_source_error(source.id, Utc::now(), &place(&name, &e), &e.reason, None).await?;
                report.errors += 1;
                moved(state, source, &file, &folder, "failed").await?;
            }
        }
    }
    state.store.record_source_success(source.id, Utc::now(), report.items as i64, None).await?;
    Ok(report)
}

async fn read_file(file: &Path) -> Result<Vec<u8>, String> {
    let meta = tokio::fs::metadata(file).await.map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > MAX_BODY as u64 {
        return Err(format!("larger than {} MB", MAX_BODY / 1024 / 1024));
    }
    tokio::fs::read(file).await.map_err(|e| format!("cannot read: {e}"))
}

/// Moves a file after its items are committed; a move that fails is noted
/// (the file would be read again, which changes nothing stored).
async fn moved(
    state: &AppState,
    source: &InboundSource,
    file: &Path,
    folder: &Path,
    sub: &str,
) -> Result<(), StoreError> {
    if let Err(e) = move_into(file, folder, sub) {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        state
            .store
            .record_source_error(source.id, Utc::now(), &name, &format!("cannot move it to {sub}/: {e}"), None)
            .await?;
    }
    Ok(())
}

// ----- HTTP pull -----

/// Notes a failed poll and backs off (at least `retry_after` seconds when the server asked for that).
async fn fail(
    state: &AppState,
    source: &InboundSource,
    at: &str,
    reason: &str,
    retry_after: Option<i64>,
) -> Result<PollReport, StoreError> {
    let now = Utc::now();
    let wait = backoff(source.interval_secs, source.failures + 1).max(retry_after.unwrap_or(0).min(MAX_BACKOFF_SECS));
    let retry_at = now + chrono::Duration::seconds(wait);
    state.store.record_source_error(source.id, now, at, reason, Some(retry_at)).await?;
    tracing::warn!(source = %source.name, %reason, retry_in_secs = wait, "ingest source failed");
    Ok(PollReport { errors: 1, failed: true, ..PollReport::default() })
}

fn header_text(res: &reqwest::Response, name: header::HeaderName) -> Option<String> {
    res.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Seconds a `Retry-After` asks for (seconds or an HTTP date).
fn retry_after(res: &reqwest::Response, now: DateTime<Utc>) -> Option<i64> {
    let v = header_text(res, header::RETRY_AFTER)?;
    if let Ok(secs) = v.trim().parse::<i64>() {
        return Some(secs.max(0));
    }
    let at = httpdate::parse_http_date(v.trim()).ok()?;
    Some((DateTime::<Utc>::from(at) - now).num_seconds().max(0))
}

fn accept(format: &str) -> &'static str {
    match format {
        "ninjs" => "application/json",
        "feed" => "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, */*;q=0.5",
        "newsml-g2" | "nitf" => "application/xml, text/xml;q=0.9, */*;q=0.5",
        _ => "*/*",
    }
}

async fn body(mut res: reqwest::Response) -> Result<Vec<u8>, String> {
    if res.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(format!("the answer is larger than {} MB", MAX_BODY / 1024 / 1024));
    }
    let mut out = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| format!("reading the answer failed: {e}"))? {
        if out.len() + chunk.len() > MAX_BODY {
            return Err(format!("the answer is larger than {} MB", MAX_BODY / 1024 / 1024));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn poll_http(
    state: &AppState,
    client: &reqwest::Client,
    source: &InboundSource,
) -> Result<PollReport, StoreError> {
    let url = source.location.as_str();
    let mut req = client.get(url).header(header::ACCEPT, accept(&source.format));
    if !source.etag.is_empty() {
        req = req.header(header::IF_NONE_MATCH, &source.etag);
    }
    if !source.last_modified.is_empty() {
        req = req.header(header::IF_MODIFIED_SINCE, &source.last_modified);
    }
    if !source.api_key.is_empty() {
        req = req.bearer_auth(&source.api_key);
    }
    let res = match req.send().await {
        Ok(res) => res,
        Err(e) => return fail(state, source, url, &format!("the request failed: {}", describe(&e)), None).await,
    };
    let status = res.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        state.store.record_source_success(source.id, Utc::now(), 0, None).await?;
        return Ok(PollReport { not_modified: true, ..PollReport::default() });
    }
    if !status.is_success() {
        let wait = retry_after(&res, Utc::now());
        return fail(state, source, url, &format!("HTTP {status}"), wait).await;
    }
    let etag = header_text(&res, header::ETAG).unwrap_or_default();
    let modified = header_text(&res, header::LAST_MODIFIED).unwrap_or_default();
    let bytes = match body(res).await {
        Ok(b) => b,
        Err(e) => return fail(state, source, url, &e, None).await,
    };
    let page = if matches!(source.format.as_str(), "ninjs" | "auto") { unwrap_ninjs_page(&bytes) } else { None };
    let (items, refused) = match read(&source.format, page.as_deref().unwrap_or(&bytes)) {
        Ok(read) => read,
        Err(e) => {
            let e = match (&e.at, page.is_some()) {
                (Position::Json(p), true) => {
                    IngestError { at: Position::Json(p.replacen('$', "$.items", 1)), reason: e.reason }
                }
                _ => e,
            };
            return fail(state, source, &place(url, &e), &e.reason, None).await;
        }
    };
    let (stored, errors) = match take_in(state, source, url, &items, &refused).await {
        Ok(done) => done,
        Err(StoreError::Invalid(reason)) => return fail(state, source, url, &reason, None).await,
        Err(e) => return Err(e),
    };
    state.store.record_source_success(source.id, Utc::now(), stored as i64, Some((&etag, &modified))).await?;
    Ok(PollReport { items: stored, errors, ..PollReport::default() })
}

/// A reqwest error with its causes (`error sending request` alone says little).
fn describe(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_failure_up_to_an_hour() {
        assert_eq!(backoff(60, 1), 60);
        assert_eq!(backoff(60, 2), 120);
        assert_eq!(backoff(60, 3), 240);
        assert_eq!(backoff(60, 7), 3600);
        assert_eq!(backoff(60, 1000), 3600);
        assert_eq!(backoff(7200, 1), 3600);
    }

    #[test]
    fn files_being_written_are_left_alone() {
        assert!(in_progress("item.xml.tmp") && in_progress(".item.xml") && in_progress("item.xml.part"));
        assert!(!in_progress("item.xml"));
    }

    #[test]
    fn a_ninjs_api_page_is_read_as_its_items() {
        let page = br#"{"items": [{"uri": "a"}], "next": null}"#;
        assert_eq!(unwrap_ninjs_page(page).as_deref(), Some(&br#"[{"uri":"a"}]"#[..]));
        assert_eq!(unwrap_ninjs_page(br#"{"uri": "a"}"#), None);
        assert_eq!(unwrap_ninjs_page(b"<rss/>"), None);
    }
}

// ----- commands (the back office; the config file syncs through the store) -----

/// The most seconds between polls an admin may set (a day).
pub const MAX_INTERVAL_SECS: i64 = 86_400;

/// A source's settings as a form or the config file gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceForm {
    /// Name.
    pub name: String,
    /// `dir` or `http`.
    pub kind: String,
    /// `auto`, `newsml-g2`, `nitf`, `ninjs` or `feed`.
    pub format: String,
    /// Folder or URL.
    pub location: String,
    /// A new API key (empty: keep the one stored).
    pub api_key: String,
    /// Remove the stored API key.
    pub remove_key: bool,
    /// Seconds between polls, as typed.
    pub interval_secs: String,
    /// Whether it is polled.
    pub enabled: bool,
}

/// Checks a source's settings; every problem as a field error.
pub fn validate(form: &SourceForm) -> Result<newsdesk_storage::InboundSourceInput, Vec<crate::desk::FieldError>> {
    use crate::desk::FieldError;
    let mut errors = Vec::new();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        errors.push(FieldError::new("name", "The name must be 1 to 100 characters, without control characters."));
    }
    let kind = form.kind.trim();
    if !matches!(kind, "dir" | "http") {
        errors.push(FieldError::new("kind", "The kind must be dir (a directory drop) or http (an HTTP pull)."));
    }
    let format = form.format.trim();
    if !newsdesk_storage::SOURCE_FORMATS.contains(&format) {
        errors.push(FieldError::new(
            "format",
            format!("The format must be one of {}.", newsdesk_storage::SOURCE_FORMATS.join(", ")),
        ));
    }
    let location = form.location.trim();
    match kind {
        "http" => match reqwest::Url::parse(location) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => errors.push(FieldError::new("location", "The URL must be an http:// or https:// address.")),
        },
        "dir" if !Path::new(location).is_absolute() => {
            errors.push(FieldError::new("location", "The folder must be an absolute path (e.g. /srv/wires/afp)."));
        }
        _ => {}
    }
    if location.chars().any(char::is_control) || location.chars().count() > 2000 {
        errors.push(FieldError::new("location", "The folder or URL must be at most 2000 characters, on one line."));
    }
    let interval = form.interval_secs.trim().parse::<i64>().ok();
    let min = newsdesk_storage::MIN_INTERVAL_SECS;
    if !interval.is_some_and(|i| (min..=MAX_INTERVAL_SECS).contains(&i)) {
        errors.push(FieldError::new(
            "interval_secs",
            format!("The interval must be {min} to {MAX_INTERVAL_SECS} seconds."),
        ));
    }
    let key = form.api_key.trim();
    if key.chars().any(|c| c.is_control() || c == ' ') || key.len() > 500 {
        errors.push(FieldError::new("api_key", "The API key must be at most 500 characters, without spaces."));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(newsdesk_storage::InboundSourceInput {
        name: name.to_string(),
        kind: kind.to_string(),
        format: format.to_string(),
        location: location.to_string(),
        api_key: if form.remove_key { Some(String::new()) } else { Some(key.to_string()).filter(|k| !k.is_empty()) },
        interval_secs: interval.unwrap_or(min),
        enabled: form.enabled,
    })
}

fn refused(e: StoreError) -> crate::desk::DeskError {
    match e {
        StoreError::Conflict { .. } => crate::desk::DeskError::Invalid(vec![crate::desk::FieldError::new(
            "name",
            "There is a source of that name already.",
        )]),
        StoreError::Invalid(m) => crate::desk::DeskError::Invalid(vec![crate::desk::FieldError::new("", m)]),
        other => other.into(),
    }
}

/// Makes a source (admins).
pub async fn create_source(
    state: &AppState,
    actor: &crate::desk::Actor,
    form: &SourceForm,
) -> Result<InboundSource, crate::desk::DeskError> {
    actor.require(newsdesk_domain::roles::Permission::ManageSubscribers)?;
    let input = validate(form).map_err(crate::desk::DeskError::Invalid)?;
    let audit = actor.audit("ingest.source.create", "ingest_source", "", "");
    state.store.create_inbound_source(&input, &audit).await.map_err(refused)
}

/// Changes a source's settings (admins; not a source of the config file).
pub async fn update_source(
    state: &AppState,
    actor: &crate::desk::Actor,
    id: i64,
    form: &SourceForm,
) -> Result<(), crate::desk::DeskError> {
    actor.require(newsdesk_domain::roles::Permission::ManageSubscribers)?;
    source(state, id).await?;
    let mut input = validate(form).map_err(crate::desk::DeskError::Invalid)?;
    if !form.remove_key && form.api_key.trim().is_empty() {
        input.api_key = None;
    }
    let audit = actor.audit("ingest.source.update", "ingest_source", id, "");
    state.store.update_inbound_source(id, &input, &audit).await.map_err(refused)
}

/// Deletes a source (admins; its items stay).
pub async fn delete_source(
    state: &AppState,
    actor: &crate::desk::Actor,
    id: i64,
) -> Result<(), crate::desk::DeskError> {
    actor.require(newsdesk_domain::roles::Permission::ManageSubscribers)?;
    source(state, id).await?;
    let audit = actor.audit("ingest.source.delete", "ingest_source", id, "");
    state.store.delete_inbound_source(id, &audit).await.map_err(refused)
}

/// Makes a source due now: the scheduler polls it within [`TICK`] (admins).
pub async fn poll_now(state: &AppState, actor: &crate::desk::Actor, id: i64) -> Result<(), crate::desk::DeskError> {
    actor.require(newsdesk_domain::roles::Permission::ManageSubscribers)?;
    let s = source(state, id).await?;
    let audit = actor.audit("ingest.source.poll", "ingest_source", id, s.name);
    state.store.poll_inbound_source_now(id, &audit).await.map_err(refused)
}

/// Source `id`, or not found.
pub async fn source(state: &AppState, id: i64) -> Result<InboundSource, crate::desk::DeskError> {
    state
        .store
        .inbound_source(id)
        .await?
        .ok_or_else(|| crate::desk::DeskError::NotFound(format!("There is no ingest source {id}.")))
}
