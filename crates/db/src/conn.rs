//! Opening the database, transactions and pooled connections, and migrations.

use crate::DbError;
use chrono::{DateTime, SubsecRound, Utc};
use govhall_core::{Clock, SystemClock};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// File name of the SQLite database inside the data folder.
pub const SQLITE_FILE: &str = "govhall.db";
/// File locked by the one node that may use a SQLite data folder.
const LOCK_FILE: &str = "govhall.lock";

/// Which database a [`Db`] is open on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One node, one file, zero set-up.
    Sqlite,
    /// Any number of nodes.
    Postgres,
}

impl Backend {
    /// Lowercase name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How to open the database. `Debug` leaves the URL out: it may hold a password.
#[derive(Clone)]
pub struct DbOptions {
    /// `postgres://…` for PostgreSQL, `sqlite:PATH` for a SQLite file elsewhere, or `None` for
    /// SQLite in the data folder.
    pub database_url: Option<String>,
    /// Where a SQLite hall keeps its database (and, elsewhere, its files and index).
    pub data_dir: PathBuf,
    /// Connections in the pool.
    pub max_connections: u32,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DbOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbOptions")
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field("data_dir", &self.data_dir)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl DbOptions {
    /// Defaults for `data_dir` with the system clock.
    pub fn new(database_url: Option<String>, data_dir: impl Into<PathBuf>) -> Self {
        Self { database_url, data_dir: data_dir.into(), max_connections: 10, clock: Arc::new(SystemClock) }
    }
}

enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Wakes every local worker and change follower at once instead of at their next poll. A
/// counter in a watch channel: each waiter keeps its own receiver, so no wake-up is lost while
/// it was busy and every waiter sees every wake-up.
#[derive(Debug)]
pub(crate) struct Wakeups {
    pub(crate) jobs: Wakeup,
    pub(crate) changes: Wakeup,
}

/// One kind of wake-up.
#[derive(Debug)]
pub(crate) struct Wakeup(watch::Sender<u64>);

impl Wakeup {
    fn new() -> Self {
        Self(watch::Sender::new(0))
    }

    /// Wakes every subscriber.
    pub(crate) fn wake(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees every wake after this call (`changed().await`).
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

impl Default for Wakeups {
    fn default() -> Self {
        Self { jobs: Wakeup::new(), changes: Wakeup::new() }
    }
}

struct Inner {
    pool: Pool,
    clock: Arc<dyn Clock>,
    wakeups: Wakeups,
    /// Notices to the other nodes, sent after commits.
    notices: crate::notices::Notices,
    /// Held for the life of the handle: the SQLite single-node guard.
    _lock: Option<File>,
    /// SQLite allows one writer at a time. Write transactions queue here, in order, instead of
    /// spinning in SQLite's busy handler (which sleeps up to 100 ms a turn under contention).
    write_gate: Arc<tokio::sync::Mutex<()>>,
}

/// The handle to the database, cheap to clone.
#[derive(Clone)]
pub struct Db(Arc<Inner>);

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend()).finish_non_exhaustive()
    }
}

/// Migrations the binary knows against those the database has applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Versions embedded in this binary but not yet applied.
    pub pending: Vec<i64>,
    /// Versions applied by a newer binary that this one does not know.
    pub unknown: Vec<i64>,
    /// The highest applied version.
    pub current: Option<i64>,
}

impl MigrationStatus {
    /// Whether every known migration is applied.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty()
    }
}

impl Db {
    /// Opens the database `options` name. A URL that is neither `postgres://`, `postgresql://`
    /// nor `sqlite:` is an error, never a silently created empty database. A SQLite data folder
    /// is created when missing and locked against a second node.
    pub async fn connect(options: &DbOptions) -> Result<Db, DbError> {
        let url = options.database_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let (pool, lock) = match url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let connect = PgConnectOptions::from_str(url).map_err(|e| DbError::InvalidUrl(e.to_string()))?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(connect)
                    .await?;
                (Pool::Postgres(pool), None)
            }
            Some(url) if url.starts_with("sqlite:") => {
                let connect = SqliteConnectOptions::from_str(url).map_err(|e| DbError::InvalidUrl(e.to_string()))?;
                let folder = connect.get_filename().parent().map(Path::to_path_buf).unwrap_or_default();
                let lock = lock_data_dir(&folder)?;
                (Pool::Sqlite(open_sqlite(connect, options.max_connections).await?), Some(lock))
            }
            Some(other) => {
                let scheme = other.split(':').next().unwrap_or_default();
                return Err(DbError::InvalidUrl(format!(
                    "不支持“{scheme}”，请使用 postgres://用户@主机:端口/数据库 或 sqlite:文件路径"
                )));
            }
            None => {
                let lock = lock_data_dir(&options.data_dir)?;
                let connect = SqliteConnectOptions::new().filename(options.data_dir.join(SQLITE_FILE));
                (Pool::Sqlite(open_sqlite(connect, options.max_connections).await?), Some(lock))
            }
        };
        Ok(Db(Arc::new(Inner {
            pool,
            clock: options.clock.clone(),
            wakeups: Wakeups::default(),
            notices: crate::notices::Notices::default(),
            _lock: lock,
            write_gate: Arc::default(),
        })))
    }

    /// Opens another system's database (a department's front database, 前置库) at `url`: no
    /// migrations, no single-node lock (the other system uses the file too), a pool of two.
    /// Only `postgres://`, `postgresql://` and `sqlite:` URLs are taken.
    pub async fn connect_external(url: &str, clock: Arc<dyn Clock>) -> Result<Db, DbError> {
        let url = url.trim();
        let pool = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url).map_err(|e| DbError::InvalidUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(connect)
                .await?;
            Pool::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|e| DbError::InvalidUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10));
            Pool::Sqlite(SqlitePoolOptions::new().max_connections(2).connect_with(connect).await?)
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(DbError::InvalidUrl(format!(
                "不支持“{scheme}”，请使用 postgres://用户@主机:端口/数据库 或 sqlite:文件路径"
            )));
        };
        Ok(Db(Arc::new(Inner {
            pool,
            clock,
            wakeups: Wakeups::default(),
            notices: crate::notices::Notices::default(),
            _lock: None,
            write_gate: Arc::default(),
        })))
    }

    /// Which backend is open.
    pub fn backend(&self) -> Backend {
        match self.0.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The current time, to the microsecond (what both backends store).
    pub fn now(&self) -> DateTime<Utc> {
        self.0.clock.now().trunc_subsecs(6)
    }

    /// The clock this handle was opened with.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.0.clock.clone()
    }

    pub(crate) fn wakeups(&self) -> &Wakeups {
        &self.0.wakeups
    }

    pub(crate) fn notices(&self) -> &crate::notices::Notices {
        &self.0.notices
    }

    pub(crate) fn pg_pool(&self) -> Option<&PgPool> {
        match &self.0.pool {
            Pool::Postgres(pool) => Some(pool),
            Pool::Sqlite(_) => None,
        }
    }

    /// Begins a transaction. On SQLite it waits its turn at the node's write gate, then takes
    /// the write lock at once (`BEGIN IMMEDIATE`), so that two transactions never deadlock
    /// upgrading a read to a write. (A task must not begin a second transaction while it holds
    /// one: on SQLite it would wait for itself.)
    pub async fn begin(&self) -> Result<Tx, DbError> {
        let (inner, gate) = match &self.0.pool {
            Pool::Sqlite(pool) => {
                // Bounded, so that a task that begins while holding a transaction fails loudly
                // instead of waiting for itself forever.
                let gate = tokio::time::timeout(Duration::from_secs(30), self.0.write_gate.clone().lock_owned())
                    .await
                    .map_err(|_| DbError::Busy)?;
                (TxInner::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?), Some(gate))
            }
            Pool::Postgres(pool) => (TxInner::Postgres(pool.begin().await?), None),
        };
        Ok(Tx { inner, db: self.clone(), wake_jobs: false, changes: Vec::new(), audit_chain: None, _gate: gate })
    }

    /// A connection from the pool, for reads and single statements.
    pub async fn conn(&self) -> Result<PooledConn, DbError> {
        Ok(match &self.0.pool {
            Pool::Sqlite(pool) => PooledConn::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => PooledConn::Postgres(pool.acquire().await?),
        })
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        let mut conn = self.conn().await?;
        crate::exec!(conn, sqlx::query("SELECT 1"))?;
        Ok(())
    }

    /// Applies every pending migration (forward only). Safe to run from several nodes at once on
    /// PostgreSQL: sqlx holds an advisory lock while it migrates.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match &self.0.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Compares the migrations embedded in this binary with those applied.
    pub async fn migration_status(&self) -> Result<MigrationStatus, DbError> {
        let migrator = match self.backend() {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let mut conn = self.conn().await?;
        let applied: Vec<i64> = match crate::run!(conn, |c| {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&mut *c)
                .await
        }) {
            Ok(v) => v,
            // No migrations table yet: nothing applied.
            Err(sqlx::Error::Database(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let known: Vec<i64> =
            migrator.iter().filter(|m| m.migration_type.is_up_migration()).map(|m| m.version).collect();
        Ok(MigrationStatus {
            pending: known.iter().copied().filter(|v| !applied.contains(v)).collect(),
            unknown: applied.iter().copied().filter(|v| !known.contains(v)).collect(),
            current: applied.last().copied(),
        })
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match &self.0.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

async fn open_sqlite(connect: SqliteConnectOptions, max_connections: u32) -> Result<SqlitePool, DbError> {
    restrict_database_file(connect.get_filename())?;
    let connect = connect
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    Ok(SqlitePoolOptions::new().max_connections(max_connections.max(2)).connect_with(connect).await?)
}

/// Makes the database file (and its WAL and shared-memory files, which SQLite creates with the
/// database's mode) readable by its owner alone: it holds people's data.
fn restrict_database_file(path: &Path) -> Result<(), DbError> {
    if path.as_os_str().is_empty() || path.to_str() == Some(":memory:") {
        return Ok(());
    }
    let io = |source| DbError::DataDir { path: path.to_path_buf(), source };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        File::options().create(true).append(true).mode(0o600).open(path).map_err(io)?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
        }
    }
    #[cfg(not(unix))]
    File::options().create(true).append(true).open(path).map_err(io)?;
    Ok(())
}

/// Creates the folder (owner only: 0700) and takes an exclusive lock on a file in it, held while the returned file
/// stays open. The operating system releases it if the process dies.
fn lock_data_dir(dir: &Path) -> Result<File, DbError> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let io = |source| DbError::DataDir { path: dir.to_path_buf(), source };
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(io)?;
    }
    let file = File::options().create(true).truncate(false).write(true).open(dir.join(LOCK_FILE)).map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(DbError::DataDirLocked(dir.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(io(e)),
    }
}

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// A transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    inner: TxInner,
    db: Db,
    wake_jobs: bool,
    changes: Vec<crate::changes::PendingChange>,
    /// The audit chain whose head this transaction has locked (the audit log appends all of a
    /// transaction's entries to it, rather than locking one head per entry).
    audit_chain: Option<i32>,
    /// SQLite: this node's turn to write, released when the transaction ends.
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("backend", &self.db.backend()).finish_non_exhaustive()
    }
}

impl Tx {
    /// The audit chain whose head this transaction holds, if it has written an audit entry.
    pub fn audit_chain(&self) -> Option<i32> {
        self.audit_chain
    }

    /// Notes that this transaction holds the head of audit chain `chain` until it ends.
    pub fn hold_audit_chain(&mut self, chain: i32) {
        self.audit_chain = Some(chain);
    }

    /// Commits, then wakes this node's worker or change follower if the transaction enqueued a
    /// job or recorded a change; other nodes hear of it through a NOTIFY sent after the commit
    /// (see `notices`) or their next poll.
    pub async fn commit(mut self) -> Result<(), DbError> {
        let changes = std::mem::take(&mut self.changes);
        if !changes.is_empty() {
            crate::changes::write_pending(&mut self, &changes).await?;
        }
        match self.inner {
            TxInner::Sqlite(tx) => tx.commit().await?,
            TxInner::Postgres(tx) => tx.commit().await?,
        }
        if self.wake_jobs {
            self.db.wakeups().jobs.wake();
            self.db.notify_committed(crate::notices::Channel::Jobs).await;
        }
        if !changes.is_empty() {
            self.db.wakeups().changes.wake();
            self.db.notify_committed(crate::notices::Channel::Changes).await;
        }
        Ok(())
    }

    /// Rolls back explicitly.
    pub async fn rollback(self) -> Result<(), DbError> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.rollback().await?,
            TxInner::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// The database this transaction runs on.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Which backend the transaction runs on.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    pub(crate) fn mark_job_enqueued(&mut self) {
        self.wake_jobs = true;
    }

    pub(crate) fn push_change(&mut self, change: crate::changes::PendingChange) {
        self.changes.push(change);
    }
}

/// A connection borrowed from the pool.
#[derive(Debug)]
pub enum PooledConn {
    /// On SQLite.
    Sqlite(PoolConnection<Sqlite>),
    /// On PostgreSQL.
    Postgres(PoolConnection<Postgres>),
}

/// A borrowed connection of either backend: what [`run!`](crate::run) matches on.
#[derive(Debug)]
pub enum ConnRef<'a> {
    /// SQLite.
    Sqlite(&'a mut SqliteConnection),
    /// PostgreSQL.
    Postgres(&'a mut PgConnection),
}

/// Anything a query can run on: a transaction or a pooled connection.
pub trait Target {
    /// The connection underneath.
    fn conn_ref(&mut self) -> ConnRef<'_>;
}

impl Target for Tx {
    fn conn_ref(&mut self) -> ConnRef<'_> {
        match &mut self.inner {
            TxInner::Sqlite(tx) => ConnRef::Sqlite(&mut *tx),
            TxInner::Postgres(tx) => ConnRef::Postgres(&mut *tx),
        }
    }
}

impl Target for PooledConn {
    fn conn_ref(&mut self) -> ConnRef<'_> {
        match self {
            PooledConn::Sqlite(c) => ConnRef::Sqlite(&mut *c),
            PooledConn::Postgres(c) => ConnRef::Postgres(&mut *c),
        }
    }
}

impl<T: Target + ?Sized> Target for &mut T {
    fn conn_ref(&mut self) -> ConnRef<'_> {
        (**self).conn_ref()
    }
}
