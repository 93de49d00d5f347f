//! Backups of a SQLite site, and the identity of a database.
//!
//! A backup is one SQLite file made with `VACUUM INTO` while the site serves:
//! a consistent snapshot of one read transaction, writers are not held up.
//! Everything of a site is in it, photos and their renditions included (they
//! are rows of `photo_originals`, `photo_renditions` and
//! `photo_crop_renditions`); the only other thing in the data directory is
//! each node's search index, which is derived and rebuilt.
//!
//! A restore checks the file before it touches the site (an SQLite database,
//! intact, with newsdesk's schema at a version this build can migrate), works
//! on a copy next to the database, and swaps that in with one `rename`: an
//! interrupted or failed restore leaves the old database as it was.
//!
//! Change ids restart lower after a restore, so whatever follows the change log
//! from outside the database (each node's search index) must notice that it
//! follows another database, or another point of one: every database has a
//! [`DatabaseIdentity`] (migration 15), whose incarnation a restore renews, and
//! [`ChangeMark`]s name one entry of the log so a follower can check that the
//! log it applied is still the one in the database.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use newsdesk_domain::NewsId;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Row};

use crate::{Backend, SQLITE_MIGRATOR, Store, StoreError};

/// Which database a follower of the change log follows, and which life of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseIdentity {
    /// Random, made with the database (migration 15); kept by backups and restores.
    pub database_id: String,
    /// Renewed by every restore. On PostgreSQL it also carries the OID of the
    /// change log table, which a `pg_restore` renews by recreating the table
    /// (the dump itself brings back the incarnation it was taken with).
    pub incarnation: String,
}

/// One entry of the change log, to check later that the log still holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeMark {
    /// The change id.
    pub id: i64,
    /// The story it names.
    pub news_id: NewsId,
    /// When it was made (Unix seconds).
    pub changed_at: i64,
}

/// What a backup or a restored database holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteSummary {
    /// Stories in any state.
    pub stories: i64,
    /// Photos in the library.
    pub photos: i64,
    /// Size of the database file in bytes.
    pub bytes: u64,
}

/// Why a backup or restore was refused or failed. The messages are meant for
/// an operator at the command line: one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Backups of PostgreSQL are made with its own tools.
    #[error(
        "this site's database is PostgreSQL: back it up with pg_dump and put it back with pg_restore \
         (see Backups in the README); newsdesk backup and restore work on SQLite sites"
    )]
    Postgres,
    /// The database URL names no file (an in-memory database).
    #[error("the database URL `{0}` names no SQLite file")]
    NoFile(String),
    /// There is nothing to back up.
    #[error("there is no database at {0}")]
    NoDatabase(PathBuf),
    /// The target of a backup exists.
    #[error("{0} exists already; add --force to replace it")]
    Exists(PathBuf),
    /// The file is not something a restore can use.
    #[error("{path} is not a newsdesk backup: {why}; nothing was changed")]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The backup's schema is newer than this build's.
    #[error(
        "{path} was made by a newer newsdesk (schema {found}, this one knows up to {known}); \
         restore it with that version; nothing was changed"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// The newest schema version in the backup.
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },
    /// The site has content and the operator did not say to replace it.
    #[error(
        "the site in {path} is not empty ({stories} stories, {users} users, {photos} photos); \
         restoring replaces all of it: add --force to do so"
    )]
    NotEmpty {
        /// The database file.
        path: PathBuf,
        /// Its stories.
        stories: i64,
        /// Its back-office users.
        users: i64,
        /// Its photos.
        photos: i64,
    },
    /// Another process has the database open.
    #[error(
        "the database {0} is in use (a running server or another newsdesk command): stop it before restoring; \
         nothing was changed"
    )]
    InUse(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_path_buf(), source }
}

fn db_error(e: sqlx::Error) -> BackupError {
    BackupError::Store(StoreError::Db(e))
}

/// The database's own words for an error (without sqlx's "error returned from database" wrapping).
fn db_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_string(),
        e => e.to_string(),
    }
}

/// The first bytes of every SQLite 3 database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The database file a `sqlite:` URL names (`None` for an in-memory database
/// or another engine).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

impl Store {
    /// This database's identity (see [`DatabaseIdentity`]).
    pub async fn database_identity(&self) -> crate::Result<DatabaseIdentity> {
        let row = match self.backend {
            Backend::Sqlite => {
                sqlx::query("SELECT database_id, incarnation FROM site_identity WHERE singleton = 1")
                    .fetch_one(self.pool())
                    .await?
            }
            Backend::Postgres => {
                sqlx::query(
                    "SELECT database_id, incarnation || '.' || CAST(CAST(CAST('story_changes' AS regclass) AS oid) \
                     AS TEXT) AS incarnation FROM site_identity WHERE singleton = 1",
                )
                .fetch_one(self.pool())
                .await?
            }
        };
        Ok(DatabaseIdentity { database_id: row.try_get("database_id")?, incarnation: row.try_get("incarnation")? })
    }

    /// Gives the database a new incarnation: every follower of its change log
    /// starts over (a restore does it; so may an operator after restoring by hand).
    pub async fn renew_incarnation(&self) -> crate::Result<DatabaseIdentity> {
        sqlx::query("UPDATE site_identity SET incarnation = $1, renewed_at = $2 WHERE singleton = 1")
            .bind(random_hex())
            .bind(chrono::Utc::now().timestamp())
            .execute(self.pool())
            .await?;
        self.database_identity().await
    }

    /// The change with this id, if the log holds it.
    pub async fn change_mark(&self, id: i64) -> crate::Result<Option<ChangeMark>> {
        let row = sqlx::query("SELECT id, news_id, changed_at FROM story_changes WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| mark_of(&r)).transpose()
    }

    /// The newest change at or below `id` (ids of rolled-back transactions never appear in the log).
    pub async fn change_mark_at_or_below(&self, id: i64) -> crate::Result<Option<ChangeMark>> {
        let row =
            sqlx::query("SELECT id, news_id, changed_at FROM story_changes WHERE id <= $1 ORDER BY id DESC LIMIT 1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| mark_of(&r)).transpose()
    }

    /// Writes a consistent copy of the whole site to `file` while it serves
    /// (SQLite only): `VACUUM INTO` a file next to it, fsync, rename, fsync the
    /// directory. An existing `file` is refused unless `replace`.
    pub async fn backup_to(&self, file: &Path, replace: bool) -> Result<SiteSummary, BackupError> {
        if self.backend != Backend::Sqlite {
            return Err(BackupError::Postgres);
        }
        if !replace && file.exists() {
            return Err(BackupError::Exists(file.to_path_buf()));
        }
        let partial = sibling(file, "partial");
        remove_if_exists(&partial)?;
        let made = async {
            let target = partial.to_str().ok_or_else(|| BackupError::Io {
                path: partial.clone(),
                source: std::io::Error::other("the path is not valid UTF-8"),
            })?;
            sqlx::query("VACUUM INTO $1").bind(target).execute(self.pool()).await.map_err(StoreError::Db)?;
            let summary = summarize(&partial).await?;
            sync_file(&partial)?;
            Ok::<_, BackupError>(summary)
        }
        .await;
        let summary = match made {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        std::fs::rename(&partial, file).map_err(io_error(file))?;
        sync_dir_of(file)?;
        Ok(summary)
    }
}

fn mark_of(r: &sqlx::any::AnyRow) -> crate::Result<ChangeMark> {
    Ok(ChangeMark { id: r.try_get("id")?, news_id: r.try_get("news_id")?, changed_at: r.try_get("changed_at")? })
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// `file` with `.{suffix}` appended to its name, in the same directory (so a rename is atomic).
fn sibling(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{suffix}"));
    file.with_file_name(name)
}

fn remove_if_exists(path: &Path) -> Result<(), BackupError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(path)(e)),
        _ => Ok(()),
    }
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(io_error(path))
}

/// Makes a rename in the directory of `path` durable.
fn sync_dir_of(path: &Path) -> Result<(), BackupError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_error(dir))
}

/// One connection to a database file (no pool: a journal-mode change needs
/// to be the only connection, and a restore works on files, not on a site).
async fn open_file(path: &Path) -> Result<SqliteConnection, BackupError> {
    open_file_with(path, false).await
}

/// [`open_file`], read only when `read_only`: such a connection never
/// checkpoints the write-ahead log into the file when it closes, so looking
/// at a site changes none of its bytes.
async fn open_file_with(path: &Path, read_only: bool) -> Result<SqliteConnection, BackupError> {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        // Short: a restore should say "in use" rather than wait.
        .busy_timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(db_error)
}

async fn table_exists(conn: &mut SqliteConnection, table: &str) -> Result<bool, BackupError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1")
        .bind(table)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(n > 0)
}

/// Rows of `table`, 0 when the table does not exist (a database never migrated).
async fn count_rows(conn: &mut SqliteConnection, table: &'static str) -> Result<i64, BackupError> {
    if !table_exists(conn, table).await? {
        return Ok(0);
    }
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut *conn).await.map_err(db_error)
}

async fn summarize(path: &Path) -> Result<SiteSummary, BackupError> {
    let mut conn = open_file(path).await?;
    let stories = count_rows(&mut conn, "stories").await?;
    let photos = count_rows(&mut conn, "photos").await?;
    conn.close().await.map_err(db_error)?;
    let bytes = std::fs::metadata(path).map_err(io_error(path))?.len();
    Ok(SiteSummary { stories, photos, bytes })
}

/// Puts the backup `backup` in place of the SQLite database `db_file`.
///
/// Refuses, before changing anything: a file that is not an intact newsdesk
/// database of a schema this build can migrate; a site with stories, users or
/// photos unless `force`; a database another process has open. The backup is
/// copied next to the database, migrated and given a new incarnation (so every
/// search index following the database rebuilds), made durable, and renamed
/// over the database. The backup file itself is only read.
pub async fn restore_sqlite(backup: &Path, db_file: &Path, force: bool) -> Result<SiteSummary, BackupError> {
    check_header(backup)?;
    if db_file.exists() && !force {
        let mut conn = open_file_with(db_file, true).await?;
        let stories = count_rows(&mut conn, "stories").await?;
        let users = count_rows(&mut conn, "users").await?;
        let photos = count_rows(&mut conn, "photos").await?;
        conn.close().await.map_err(db_error)?;
        if stories + users + photos > 0 {
            return Err(BackupError::NotEmpty { path: db_file.to_path_buf(), stories, users, photos });
        }
    }
    let staged = sibling(db_file, "restoring");
    remove_if_exists(&staged)?;
    // A staged copy left by an interrupted restore is garbage: never used.
    let prepared = async {
        std::fs::copy(backup, &staged).map_err(io_error(&staged))?;
        prepare(backup, &staged).await?;
        sync_file(&staged)?;
        Ok::<_, BackupError>(())
    }
    .await;
    if let Err(e) = prepared {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    if let Err(e) = take_over(db_file).await {
        let _ = std::fs::remove_file(&staged);
        return Err(e);
    }
    std::fs::rename(&staged, db_file).map_err(io_error(db_file))?;
    sync_dir_of(db_file)?;
    let summary = summarize(db_file).await?;
    Ok(summary)
}

fn check_header(path: &Path) -> Result<(), BackupError> {
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header));
    match read {
        Ok(()) if &header == SQLITE_HEADER => Ok(()),
        Ok(()) => Err(BackupError::NotABackup { path: path.to_path_buf(), why: "not an SQLite database".into() }),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(BackupError::NotABackup { path: path.to_path_buf(), why: "too short for an SQLite database".into() })
        }
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Checks the staged copy of `backup`, migrates it, renews its incarnation and
/// leaves it in rollback-journal mode (no WAL file to carry along).
async fn prepare(backup: &Path, staged: &Path) -> Result<(), BackupError> {
    let not_ours = |why: String| BackupError::NotABackup { path: backup.to_path_buf(), why };
    let mut conn = match open_file(staged).await {
        Ok(c) => c,
        Err(BackupError::Store(StoreError::Db(e))) => {
            return Err(not_ours(format!("it cannot be opened ({})", db_message(&e))));
        }
        Err(e) => return Err(e),
    };
    let result = async {
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| not_ours(format!("it is damaged ({})", db_message(&e))))?;
        if check != "ok" {
            return Err(not_ours(format!("it is damaged ({check})")));
        }
        for table in ["_sqlx_migrations", "stories", "story_changes", "editions"] {
            if !table_exists(&mut conn, table).await? {
                return Err(not_ours(format!("it has no {table} table")));
            }
        }
        let versions: Vec<(i64, bool)> = sqlx::query_as("SELECT version, success FROM _sqlx_migrations")
            .fetch_all(&mut conn)
            .await
            .map_err(db_error)?;
        let known = SQLITE_MIGRATOR.iter().map(|m| m.version).max().unwrap_or_default();
        if let Some(found) = versions.iter().map(|&(v, _)| v).filter(|&v| v > known).max() {
            return Err(BackupError::Newer { path: backup.to_path_buf(), found, known });
        }
        if let Some((v, _)) = versions.iter().find(|(_, ok)| !ok) {
            return Err(not_ours(format!("its schema migration {v} did not finish")));
        }
        SQLITE_MIGRATOR.run(&mut conn).await.map_err(|e| not_ours(format!("its schema cannot be migrated ({e})")))?;
        sqlx::query("UPDATE site_identity SET incarnation = $1, renewed_at = $2 WHERE singleton = 1")
            .bind(random_hex())
            .bind(chrono::Utc::now().timestamp())
            .execute(&mut conn)
            .await
            .map_err(db_error)?;
        // The database's own mode is WAL (the store sets it on connect); a
        // staged file without one needs no -wal file beside it when renamed.
        sqlx::query("PRAGMA journal_mode = DELETE").execute(&mut conn).await.map_err(db_error)?;
        Ok(())
    }
    .await;
    conn.close().await.map_err(db_error)?;
    result
}

/// Makes sure no other process has `db_file` open, and that no write-ahead
/// log of it is left that SQLite would apply to the database renamed in.
/// Leaving WAL mode needs the only connection and does not wait, so it both
/// checks and checkpoints. A store closed just before may still be closing
/// its file: it tries again for [`crate::LEAVE_WAL_PATIENCE`], as leaving WAL
/// for a bulk load does.
async fn take_over(db_file: &Path) -> Result<(), BackupError> {
    if db_file.exists() {
        let mut conn = open_file(db_file).await?;
        let started = std::time::Instant::now();
        let taken = loop {
            let mode: Result<String, _> = sqlx::query_scalar("PRAGMA journal_mode = DELETE").fetch_one(&mut conn).await;
            let tried = match mode {
                Ok(m) if m.eq_ignore_ascii_case("delete") => Ok(()),
                Ok(_) => Err(BackupError::InUse(db_file.to_path_buf())),
                Err(sqlx::Error::Database(d)) if d.message().contains("locked") || d.message().contains("busy") => {
                    Err(BackupError::InUse(db_file.to_path_buf()))
                }
                Err(e) => break Err(db_error(e)),
            };
            if tried.is_ok() || started.elapsed() >= crate::LEAVE_WAL_PATIENCE {
                break tried;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let _ = conn.close().await;
        taken?;
    }
    for suffix in ["wal", "shm"] {
        let mut name = db_file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(format!("-{suffix}"));
        remove_if_exists(&db_file.with_file_name(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_file_is_read_from_the_url() {
        assert_eq!(sqlite_file("sqlite://data/newsdesk.db?mode=rwc"), Some(PathBuf::from("data/newsdesk.db")));
        assert_eq!(sqlite_file("sqlite:///srv/n.db"), Some(PathBuf::from("/srv/n.db")));
        assert_eq!(sqlite_file("sqlite:n.db"), Some(PathBuf::from("n.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x.db?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://db/x"), None);
    }
}
