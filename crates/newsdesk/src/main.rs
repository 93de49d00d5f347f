//! The `newsdesk` binary: one command with subcommands that serve the site,
//! migrate the database, import saved pages and make demo content.

mod backup;
mod cli;
mod config;
mod demo;
mod feed_import;
mod import;
mod ingest;
mod search;
mod serve;
mod startup;
mod subscriber;
mod users;
mod wxr;

use clap::Parser;

/// jemalloc rather than glibc's malloc: glibc kept hundreds of megabytes of
/// freed memory in its per-thread arenas after a first start on a large site.
/// jemalloc gives unused memory back after it has been unused for about ten
/// seconds (its background thread purges it), so memory a search-index commit
/// frees is reused by the next one instead of being faulted in again.
/// It is C's `malloc` too (`unprefixed_malloc_on_supported_platforms`): the
/// bundled SQLite allocates for every page it reads and every row it returns,
/// and glibc's malloc took ~4.5 % of the CPU of a walk of pages never cached.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    // Without it, freed memory is given back only when the allocator is busy.
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!("newsdesk: jemalloc's background thread did not start ({e}); memory is given back less promptly");
    }
    newsdesk_web::metrics::report_allocator(allocator_stats);
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("newsdesk: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line, with the chain of causes.
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("newsdesk: {msg}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// jemalloc's own figures, for `/metrics` (`newsdesk_allocator_*_bytes`):
/// they tell memory the program holds from freed memory not yet given back.
fn allocator_stats() -> Option<newsdesk_web::metrics::AllocatorStats> {
    use tikv_jemalloc_ctl::{epoch, stats};
    // The figures are a snapshot taken when the epoch advances.
    epoch::advance().ok()?;
    Some(newsdesk_web::metrics::AllocatorStats {
        allocated: stats::allocated::read().ok()? as u64,
        active: stats::active::read().ok()? as u64,
        resident: stats::resident::read().ok()? as u64,
        metadata: stats::metadata::read().ok()? as u64,
        retained: stats::retained::read().ok()? as u64,
    })
}

#[cfg(test)]
mod tests {
    /// The binary's jemalloc has the settings of `.cargo/config.toml`
    /// (`JEMALLOC_SYS_WITH_MALLOC_CONF`), read before `main`.
    #[test]
    fn the_allocator_has_its_settings() {
        if std::env::var_os("MALLOC_CONF").is_some() {
            return; // the environment's settings win; nothing to check
        }
        assert_eq!(tikv_jemalloc_ctl::opt::tcache_max::read().expect("opt.tcache_max"), 4096);
        let narenas = tikv_jemalloc_ctl::opt::narenas::read().expect("opt.narenas") as usize;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert!(narenas < 4 * cpus, "{narenas} arenas for {cpus} CPUs: one per CPU, not four");
    }

    /// jemalloc is built with its statistics (`/metrics` reports them), and
    /// they move with what the program allocates.
    #[test]
    fn the_allocator_keeps_statistics() {
        let before = super::allocator_stats().expect("jemalloc built with its statistics (feature `stats`)");
        assert!(before.allocated > 0 && before.active >= before.allocated, "{before:?}");
        assert!(before.resident >= before.active && before.metadata > 0, "{before:?}");
        let block = vec![1u8; 64 << 20];
        let during = super::allocator_stats().expect("statistics");
        assert!(during.allocated >= 64 << 20, "64 MB held: {during:?}");
        drop(std::hint::black_box(block));
    }
}
