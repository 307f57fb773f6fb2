//! The database layer of GovHall: one handle over SQLite or PostgreSQL.
//!
//! It owns the connection ([`Db`]), transactions ([`Tx`]), the embedded migrations of both
//! backends, the job queue ([`jobs`]) that carries every side effect out of a request, and the
//! change feed ([`changes`]) that keeps each node's caches and search index current.
//!
//! Each query is written once, as portable SQL (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`), and run on whichever backend is open through the [`run!`] macro, which expands
//! the same code once per backend so that sqlx types each arm for its own database. Only the few
//! places that must differ (claiming jobs with `SKIP LOCKED`, `LISTEN`/`NOTIFY`) branch by hand.

pub mod changes;
mod conn;
mod error;
pub mod housekeeping;
pub mod jobs;
mod listener;
mod notices;
#[cfg(feature = "test-support")]
pub mod testing;

pub use conn::{Backend, ConnRef, Db, DbOptions, MigrationStatus, PooledConn, Target, Tx};
pub use error::DbError;

#[doc(hidden)]
pub use sqlx;

/// Runs `body` on whichever backend `target` (a [`Tx`] or a [`PooledConn`]) is open on, with
/// `$c` bound to `&mut SqliteConnection` or `&mut PgConnection`.
///
/// ```ignore
/// let n: i64 = run!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM jobs").fetch_one(&mut *c).await)?;
/// ```
#[macro_export]
macro_rules! run {
    ($target:expr, |$c:ident| $body:expr) => {
        match {
            use $crate::Target as _;
            $target.conn_ref()
        } {
            $crate::ConnRef::Sqlite($c) => $body,
            $crate::ConnRef::Postgres($c) => $body,
        }
    };
}

/// Executes the statement `query` (built with `$c` in scope, though it rarely needs it) on
/// `target` and returns the number of rows it affected, the same type on both backends.
///
/// ```ignore
/// let n: u64 = exec!(tx, sqlx::query("DELETE FROM jobs WHERE state = 'done'"))?;
/// ```
#[macro_export]
macro_rules! exec {
    ($target:expr, $query:expr) => {
        $crate::run!($target, |c| ($query).execute(&mut *c).await.map(|r| r.rows_affected()))
    };
}
