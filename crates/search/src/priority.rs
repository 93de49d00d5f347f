//! The index's own threads yield the CPU to the site's readers.
//!
//! tantivy indexes, merges and compresses on threads of its own (two indexing
//! threads, a merge pool, a compressor per segment written). During a rebuild
//! they keep every CPU of a small server busy, and a page that hands its work
//! between a few threads (the web workers, the database's connection threads)
//! waited for the CPU at each hand-off: pages served during a rebuild of a
//! million stories answered in a quarter of a second at the 99th percentile.
//! Those threads run at a lower priority (nice [`NICE`]) on Linux: they get
//! the CPU the readers leave, and the whole of it when there are none. So does
//! the thread a rebuild turns stories into documents on (the text taken out
//! of each body's HTML), which before ran on the async runtime's blocking
//! threads at the readers' priority.

/// The nice value of the index's threads (0 is the default, 19 the lowest).
pub(crate) const NICE: i32 = 10;

/// The names (as the kernel keeps them: 15 bytes) tantivy gives its threads.
const INDEX_THREADS: [&str; 4] = ["thrd-tantivy-in", "merge_thread_", "docstore-compre", "segment_update"];

/// The name of the thread a rebuild makes documents on (`crate::reindex_all`);
/// it lowers its own priority ([`lower_this_thread`]).
pub(crate) const REBUILD_THREAD: &str = "search-rebuild";

/// Whether a thread named `comm` is one of tantivy's.
fn is_index_thread(comm: &str) -> bool {
    INDEX_THREADS.iter().any(|prefix| comm.starts_with(prefix))
}

/// Lowers the priority of tantivy's threads that run now (new ones are made
/// as segments are written: called again as a rebuild goes on). Returns how
/// many threads were found; a failure to lower one is logged, not an error.
#[cfg(target_os = "linux")]
pub(crate) fn lower_index_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    let nice = target_nice();
    let mut found = 0;
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse::<i32>().ok()) else { continue };
        let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) else { continue };
        if !is_index_thread(comm.trim_end()) {
            continue;
        }
        found += 1;
        // On Linux, PRIO_PROCESS with a thread id sets that thread's nice value.
        if let Err(e) = rustix::process::setpriority_process(rustix::process::Pid::from_raw(tid), nice) {
            tracing::debug!(tid, error = %e, "could not lower the priority of a search index thread");
        }
    }
    found
}

/// Lowers the calling thread's priority to the index threads' (for a thread
/// made for index work only: it cannot be raised again without privileges).
#[cfg(target_os = "linux")]
pub(crate) fn lower_this_thread() {
    if let Err(e) = rustix::process::setpriority_process(None, target_nice()) {
        tracing::debug!(error = %e, "could not lower the priority of a search index thread");
    }
}

/// Elsewhere the thread keeps its priority.
#[cfg(not(target_os = "linux"))]
pub(crate) fn lower_this_thread() {}

/// [`NICE`], or the calling thread's own when it runs lower already (a
/// server started with `nice`): never higher than the rest of the server.
#[cfg(target_os = "linux")]
pub(crate) fn target_nice() -> i32 {
    // PRIO_PROCESS with no id: the calling thread on Linux.
    NICE.max(rustix::process::getpriority_process(None).unwrap_or(0))
}

/// Elsewhere the threads keep their priority.
#[cfg(not(target_os = "linux"))]
pub(crate) fn lower_index_threads() -> usize {
    0
}

/// The nice value of thread `tid` of this process, if it can be read.
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn nice_of(tid: &str) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // Fields after the command's closing parenthesis; nice is the 19th field overall.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(16)?.parse().ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn tantivys_threads_are_told_apart_from_the_sites() {
        for name in ["thrd-tantivy-in", "merge_thread_0", "docstore-compre", "segment_updater"] {
            assert!(is_index_thread(name), "{name}");
        }
        for name in ["tokio-runtime-w", "sqlx-sqlite-wor", "newsdesk", "jemalloc_bg_thd"] {
            assert!(!is_index_thread(name), "{name}");
        }
    }

    /// An index's writer threads run at the lower priority; the caller's thread does not.
    #[test]
    fn an_open_index_runs_its_threads_at_a_lower_priority() {
        let me = std::fs::read_link("/proc/thread-self").expect("thread-self");
        let me = me.file_name().expect("tid").to_string_lossy().into_owned();
        let before = nice_of(&me);
        let dir = tempfile::tempdir().expect("dir");
        let _index = crate::SearchIndex::open_or_create(&dir.path().join("search")).expect("index");
        // Other tests of this process open and write indexes too: a thread of
        // theirs made between the lowering and the check is lowered at the
        // next try, and a listing of /proc/self/task made while threads start
        // and end can miss one.
        let (mut found, mut last) = (0, Vec::new());
        for _ in 0..20 {
            found = lower_index_threads();
            last = std::fs::read_dir("/proc/self/task")
                .expect("tasks")
                .flatten()
                .filter_map(|task| {
                    let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                    let nice = nice_of(&task.file_name().to_string_lossy());
                    (is_index_thread(comm.trim_end()) && nice != Some(target_nice())).then_some((comm, nice))
                })
                .collect();
            if found >= 2 && last.is_empty() {
                break;
            }
            // Give threads being started meanwhile (other tests' indexes) time to get their names.
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        assert!(found >= 2, "tantivy's indexing threads run");
        assert!(last.is_empty(), "not lowered: {last:?}");
        assert_eq!(nice_of(&me), before, "the caller keeps its priority");
        assert!(target_nice() >= NICE);
    }
}
