//! Database outages in the log: one warning when the database becomes
//! unreachable, one every [`REPORT_EVERY`] while it stays so (with the number
//! of failed operations), and one when it is back — instead of a line for each
//! request and each poll of every background task.
//!
//! The record is process-wide, like the log it writes to: every part of a
//! node (requests, the change followers, the scheduler, webhooks) reports
//! into it. The store marks the outage over when it opens a connection again.

use std::fmt::Display;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::StoreError;

/// How often a continuing outage is reported.
pub const REPORT_EVERY: Duration = Duration::from_secs(15);

/// What the log has said about the current outage.
#[derive(Debug)]
struct Outage {
    since: Instant,
    reported: Instant,
    /// Failures since the last report.
    failures: u64,
    /// Failures since the outage began.
    total: u64,
}

/// A process-wide record of the current outage, if any.
#[derive(Debug)]
pub struct OutageLog {
    down: AtomicBool,
    current: Mutex<Option<Outage>>,
}

static LOG: OutageLog = OutageLog::new();

/// The process's outage record.
pub fn log() -> &'static OutageLog {
    &LOG
}

impl OutageLog {
    /// A record with no outage (for tests; the process uses [`log`]).
    pub const fn new() -> OutageLog {
        OutageLog { down: AtomicBool::new(false), current: Mutex::new(None) }
    }

    /// Whether an operation failed for an outage since the database was last reached.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// Counts one operation (`what`) that failed because the database is
    /// unreachable; logs at the start of the outage and once per
    /// [`REPORT_EVERY`] after that. Returns whether it logged.
    pub fn failed(&self, what: &str, cause: &dyn Display) -> bool {
        let Ok(mut current) = self.current.lock() else { return false };
        let now = Instant::now();
        self.down.store(true, Ordering::Release);
        match current.as_mut() {
            None => {
                *current = Some(Outage { since: now, reported: now, failures: 0, total: 1 });
                tracing::warn!(
                    %cause,
                    first_failure = what,
                    "the database is unavailable: serving cached pages, answering 503 otherwise \
                     (reported again every {} s while it lasts)",
                    REPORT_EVERY.as_secs()
                );
                true
            }
            Some(o) => {
                o.failures += 1;
                o.total += 1;
                if now.duration_since(o.reported) < REPORT_EVERY {
                    return false;
                }
                tracing::warn!(
                    %cause,
                    failures = o.failures,
                    for_secs = now.duration_since(o.since).as_secs(),
                    "the database is still unavailable"
                );
                o.reported = now;
                o.failures = 0;
                true
            }
        }
    }

    /// The database answered again: ends the outage (logged once). Cheap when
    /// there is none, so it can be called on every new connection.
    pub fn recovered(&self) {
        if !self.down.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut current) = self.current.lock() else { return };
        self.down.store(false, Ordering::Release);
        if let Some(o) = current.take() {
            tracing::info!(
                after_secs = o.since.elapsed().as_secs(),
                failures = o.total,
                "the database is available again"
            );
        }
    }
}

impl Default for OutageLog {
    fn default() -> Self {
        OutageLog::new()
    }
}

/// Whether `e`, or an error it was caused by, says the database is unreachable.
pub fn caused_by_outage(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if let Some(s) = e.downcast_ref::<StoreError>() {
            return s.is_unavailable();
        }
        if let Some(s) = e.downcast_ref::<sqlx::Error>() {
            return crate::error::is_outage(s);
        }
        cause = e.source();
    }
    false
}

/// Counts `e` in the process's [`OutageLog`] if it comes from an outage, and
/// says whether it did; the caller logs other errors as it sees fit.
pub fn counted(what: &str, e: &(dyn std::error::Error + 'static)) -> bool {
    caused_by_outage(e) && {
        log().failed(what, &e);
        true
    }
}

/// Logs a failure of a background task or request: an outage is counted in the
/// process's [`OutageLog`] (logged once per interval), anything else is logged
/// at once as a warning that `what` happened.
pub fn warn(what: &str, e: &(dyn std::error::Error + 'static)) {
    if !counted(what, e) {
        tracing::warn!(error = %e, "{what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_logged_once_per_interval_and_its_end_once() {
        let log = OutageLog::new();
        assert!(!log.is_down());
        log.recovered();
        assert!(log.failed("GET /", &"connection refused"), "the first failure is logged");
        let logged = (0..1000).filter(|_| log.failed("GET /", &"connection refused")).count();
        assert_eq!(logged, 0, "failures within the interval are counted, not logged");
        assert!(log.is_down());
        if let Ok(mut c) = log.current.lock()
            && let Some(o) = c.as_mut()
        {
            assert_eq!(o.failures, 1000);
            o.reported = o.reported.checked_sub(REPORT_EVERY).expect("the machine is up longer than that");
        }
        assert!(log.failed("GET /", &"connection refused"), "one line per interval");
        assert!(!log.failed("GET /", &"connection refused"));
        log.recovered();
        assert!(!log.is_down());
        assert!(log.failed("GET /", &"refused again"), "a new outage is logged at once");
    }
}
