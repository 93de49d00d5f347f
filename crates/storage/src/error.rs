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
    /// Any other database error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the error is a unique-constraint violation reported by the database.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
    }
}
