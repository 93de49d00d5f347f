//! Several reads in a row on one pooled connection.

use sqlx::Any;
use sqlx::pool::PoolConnection;

use crate::{Result, Store};

/// One connection of the pool, held for several reads in a row.
///
/// Each query made on the pool takes a connection and gives it back, and sqlx
/// tests a connection as it comes back (one more round trip: to SQLite's
/// connection thread, or to the PostgreSQL server) from a task of its own. A
/// story page not yet cached makes about eight reads; made on one `Reads`,
/// it pays for that once instead of eight times. Hold it for the reads only,
/// not while rendering or waiting on anything else: the pool is small.
#[derive(Debug)]
pub struct Reads {
    pub(crate) conn: PoolConnection<Any>,
}

impl Store {
    /// A connection held for several reads ([`Reads`]).
    pub async fn reads(&self) -> Result<Reads> {
        Ok(Reads { conn: self.pool().acquire().await? })
    }
}
