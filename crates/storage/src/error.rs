use thiserror::Error;

/// What can go wrong in the store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The configuration names no usable database.
    #[error("{0}")]
    Config(String),
    /// The database could not be reached.
    #[error("cannot connect to {0}: {1}")]
    Connect(String, #[source] sqlx::Error),
    /// A schema migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique value is already taken; `field` names it for forms.
    #[error("{field} is already taken")]
    Conflict {
        /// The field (column) whose value is taken.
        field: &'static str,
    },
    /// The story changed since the version an editor based a change on.
    #[error(
        "this story was changed by someone else meanwhile (it is now at version {current}); \
         reload it to see their changes"
    )]
    Stale {
        /// The story's version now.
        current: i64,
    },
    /// Input that the store refuses (unknown section, bad reference, ...).
    #[error("{0}")]
    Invalid(String),
    /// The database cannot be reached now (connection refused or lost, no
    /// connection free in time, the server shutting down or refusing
    /// connections, the SQLite file unreadable). The same operation may
    /// succeed later: the web layer answers 503 with `Retry-After`.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        // Every database error passes here: the one place to count them (labels: two fixed kinds).
        if is_outage(&e) {
            metrics::counter!("newsdesk_db_errors_total", "kind" => "unavailable").increment(1);
            StoreError::Unavailable(e)
        } else {
            metrics::counter!("newsdesk_db_errors_total", "kind" => "query").increment(1);
            StoreError::Db(e)
        }
    }
}

impl StoreError {
    /// Whether the error is a unique-constraint violation reported by the database.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
    }

    /// Whether the database was unreachable: retrying later may succeed, and
    /// readers should be told so (503) rather than shown a failure of ours.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            // Built by hand in a few places (after checking for a unique violation).
            StoreError::Db(e) | StoreError::Connect(_, e) => is_outage(e),
            _ => false,
        }
    }
}

/// PostgreSQL SQLSTATEs that mean the server cannot serve us now.
const POSTGRES_OUTAGE: [&str; 6] = [
    "57P01", // admin_shutdown: our backend was terminated (pg_terminate_backend, fast shutdown)
    "57P02", // crash_shutdown
    "57P03", // cannot_connect_now: starting up or shutting down
    "53300", // too_many_connections
    "53100", // disk_full
    "53200", // out_of_memory
];

/// SQLite primary result codes that mean the file cannot be used now.
const SQLITE_IOERR: u32 = 10;
const SQLITE_CANTOPEN: u32 = 14;

/// Whether `e` says that the database is unreachable rather than that the
/// statement is wrong.
pub(crate) fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        // No connection became free in time, the pool is shutting down, the
        // SQLite worker thread died, or the socket failed (refused, reset,
        // closed by the server, unreachable).
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(d) => {
            let Some(code) = d.code() else { return false };
            if let Ok(n) = code.parse::<u32>()
                && code.len() < 5
            {
                // SQLite: an extended result code; its low byte is the primary code.
                return matches!(n & 0xff, SQLITE_IOERR | SQLITE_CANTOPEN);
            }
            // PostgreSQL: class 08 is "connection exception".
            code.starts_with("08")
                || POSTGRES_OUTAGE.contains(&code.as_ref())
                // object_not_in_prerequisite_state, as said by a database that
                // is `ALLOW_CONNECTIONS false` (the code is shared with ordinary
                // statement errors, so the message decides).
                || (code == "55000" && d.message().contains("not currently accepting connections"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use crate::testing::TestDb;

    #[test]
    fn socket_and_pool_failures_are_outages() {
        for kind in [
            std::io::ErrorKind::ConnectionRefused,
            std::io::ErrorKind::ConnectionReset,
            std::io::ErrorKind::BrokenPipe,
            std::io::ErrorKind::UnexpectedEof,
        ] {
            let e = StoreError::from(sqlx::Error::Io(kind.into()));
            assert!(matches!(e, StoreError::Unavailable(_)), "{kind:?}: {e}");
            assert!(e.is_unavailable());
        }
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(StoreError::from(sqlx::Error::PoolClosed).is_unavailable());
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::Invalid("x".into()).is_unavailable());
        // Made by hand from a classified cause, as a few store functions do.
        assert!(StoreError::Db(sqlx::Error::PoolTimedOut).is_unavailable());
    }

    /// A server that refuses connections (nothing listens on the port).
    #[tokio::test]
    async fn a_refused_connection_is_an_outage() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        // The listener is dropped: the port refuses connections now.
        let e = Store::connect(&format!("postgres://postgres@127.0.0.1:{port}/x?connect_timeout=2"))
            .await
            .expect_err("nothing listens there");
        assert!(e.is_unavailable(), "{e:?}");
    }

    #[tokio::test]
    async fn statement_errors_are_not_outages_on_sqlite() {
        let db = TestDb::sqlite().await;
        let e: StoreError = sqlx::query("SELEC 1").execute(db.store.pool()).await.expect_err("syntax").into();
        assert!(!e.is_unavailable(), "{e:?}");
        let e: StoreError =
            sqlx::query("SELECT * FROM no_such_table").execute(db.store.pool()).await.expect_err("no table").into();
        assert!(!e.is_unavailable(), "{e:?}");
    }

    /// A database file that cannot be opened (its folder does not exist) is
    /// SQLITE_CANTOPEN: an outage, not a bug.
    #[tokio::test]
    async fn an_unopenable_sqlite_file_is_an_outage() {
        let dir = tempfile::tempdir().expect("tmp");
        let url = format!("sqlite://{}?mode=rw", dir.path().join("missing/newsdesk.db").display());
        let e = Store::connect(&url).await.expect_err("cannot open");
        assert!(e.is_unavailable(), "{e:?}");
    }

    /// On PostgreSQL: a terminated backend (57P01), a database that refuses
    /// connections (55000 "not currently accepting connections") and the
    /// broken connections left behind are outages; a statement error is not.
    #[tokio::test]
    async fn terminated_and_refused_connections_are_outages_on_postgres() {
        let Some(db) = TestDb::postgres().await else { return };
        let e: StoreError = sqlx::query("SELEC 1").execute(db.store.pool()).await.expect_err("syntax").into();
        assert!(!e.is_unavailable(), "{e:?}");

        // Our own backend is terminated while it runs a statement.
        let mut conn = db.store.pool().acquire().await.expect("conn");
        let e: StoreError = sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
            .execute(&mut *conn)
            .await
            .expect_err("terminated")
            .into();
        assert!(e.is_unavailable(), "{e:?}");
        let e: StoreError = sqlx::query("SELECT 1").execute(&mut *conn).await.expect_err("connection is gone").into();
        assert!(e.is_unavailable(), "{e:?}");
        drop(conn);

        // A database of our own that refuses connections.
        let base = std::env::var(crate::testing::POSTGRES_ENV).expect("set when TestDb::postgres answered");
        let name = format!("newsdesk_refuse_{:016x}", rand::random::<u64>());
        let admin = Store::connect(&base).await.expect("admin");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.expect("create");
        sqlx::query(&format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"))
            .execute(admin.pool())
            .await
            .expect("refuse");
        let url = match base.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("the test URL names a database: {base}"),
        };
        let refused = Store::connect(&url).await.expect_err("refused");
        sqlx::query(&format!("DROP DATABASE {name}")).execute(admin.pool()).await.expect("drop");
        admin.close().await;
        assert!(refused.is_unavailable(), "{refused:?}");
    }
}
