//! `newsdesk backup FILE` and `newsdesk restore FILE` for SQLite sites (the
//! work is in `newsdesk_storage::backup`). A PostgreSQL site is backed up
//! with `pg_dump` and restored with `pg_restore`; both commands say so.

use std::path::PathBuf;

use clap::Args;
use newsdesk_storage::backup::{BackupError, restore_sqlite, sqlite_file};
use newsdesk_storage::{Backend, SiteSummary, Store};

use crate::config::Config;

/// Arguments of `newsdesk backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file to write (one SQLite file: stories, photos, users, settings, everything).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `newsdesk restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file made by `newsdesk backup`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Replace a site that has stories, users or photos.
    #[arg(long)]
    pub force: bool,
}

/// The SQLite database file of the configured site, or why there is none.
fn database_file(config: &Config) -> Result<PathBuf, BackupError> {
    let url = config.database_url();
    if url.parse::<Backend>()? == Backend::Postgres {
        return Err(BackupError::Postgres);
    }
    sqlite_file(&url).ok_or(BackupError::NoFile(url))
}

/// `newsdesk backup FILE`: a consistent copy of the site while it serves.
pub async fn backup(config: &Config, args: &BackupArgs) -> anyhow::Result<()> {
    let db = database_file(config)?;
    if !db.exists() {
        return Err(BackupError::NoDatabase(db).into());
    }
    // The store (not a file copy): a running server keeps writing, and the
    // copy must be one transaction's view of the database.
    let store = Store::connect(&config.database_url()).await?;
    let result = store.backup_to(&args.file, args.force).await;
    store.close().await;
    let summary = result?;
    println!("backed up {} to {}", describe(&summary), args.file.display());
    Ok(())
}

/// `newsdesk restore FILE`: puts a backup in place of the site's database.
pub async fn restore(config: &Config, args: &RestoreArgs) -> anyhow::Result<()> {
    let db = database_file(config)?;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| BackupError::Io { path: dir.to_path_buf(), source })?;
    }
    let summary = restore_sqlite(&args.file, &db, args.force).await?;
    println!(
        "restored {} from {} into {}; the search index rebuilds when the server starts",
        describe(&summary),
        args.file.display(),
        db.display()
    );
    Ok(())
}

/// "237 stories, 12 photos (14.2 MB)".
fn describe(s: &SiteSummary) -> String {
    format!("{} stories, {} photos ({})", s.stories, s.photos, size(s.bytes))
}

fn size(bytes: u64) -> String {
    // Shown with one decimal: the precision f64 loses above 2^53 bytes does not matter.
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn sizes_read_in_megabytes() {
        assert_eq!(size(0), "0.0 MB");
        assert_eq!(size(15 * 1024 * 1024 + 200 * 1024), "15.2 MB");
    }

    #[test]
    fn the_database_file_comes_from_the_data_directory_or_the_url() {
        let config = Config { data: PathBuf::from("/srv/news"), ..Config::default() };
        assert_eq!(database_file(&config).expect("sqlite"), Path::new("/srv/news/newsdesk.db"));
        let pg = Config { database_url: "postgres://db/news".into(), ..Config::default() };
        let err = database_file(&pg).expect_err("postgres");
        assert!(err.to_string().contains("pg_dump"), "{err}");
    }
}
