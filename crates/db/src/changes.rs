//! The change feed: an ordered log of changed records.
//!
//! A domain records a change with [`record`] in the transaction that makes it. Every node runs a
//! [`ChangeFollower`] that reads the log in order from where it stands and hands each change to
//! its subscribers (the node's caches and search index). On PostgreSQL the follower is woken by
//! `NOTIFY` as soon as a change commits anywhere, and polls as a fallback; on SQLite, where there
//! is one node, the committing transaction wakes it directly.
//!
//! Order: on PostgreSQL a sequence value is taken at insert but becomes visible at commit, so two
//! writers could commit out of order and a reader could skip the smaller one. Writers therefore
//! take a transaction-scoped advisory lock before inserting, which makes commit order equal `seq`
//! order. Recording a change is cheap, and the lock is held only to the end of that transaction.

use crate::{Backend, Db, DbError, Tx, exec, run};
use chrono::{DateTime, Utc};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Advisory lock key that serializes writers of the change feed on PostgreSQL ("GOVH").
const ADVISORY_LOCK_KEY: i64 = 0x474f_5648;

/// What happened to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeOp {
    /// Created.
    Insert,
    /// Changed.
    Update,
    /// Removed.
    Delete,
}

impl ChangeOp {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Insert => "insert",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
        }
    }

    fn from_stored(s: &str) -> Result<Self, DbError> {
        match s {
            "insert" => Ok(ChangeOp::Insert),
            "update" => Ok(ChangeOp::Update),
            "delete" => Ok(ChangeOp::Delete),
            other => Err(DbError::Decode(format!("未知的变更类型 {other}"))),
        }
    }
}

impl fmt::Display for ChangeOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the feed; strictly increasing in commit order.
    pub seq: i64,
    /// The kind of record (`item`, `department` …).
    pub entity: String,
    /// The record's id.
    pub entity_id: String,
    /// What happened to it.
    pub op: ChangeOp,
    /// When.
    pub changed_at: DateTime<Utc>,
}

/// Records that `entity` `entity_id` changed, in the transaction that changes it. Returns its seq.
pub async fn record(tx: &mut Tx, entity: &str, entity_id: &str, op: ChangeOp) -> Result<i64, DbError> {
    let now = tx.db().now();
    if tx.backend() == Backend::Postgres {
        exec!(tx, sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(ADVISORY_LOCK_KEY))?;
    }
    let seq: i64 = run!(tx, |c| {
        sqlx::query_scalar(
            "INSERT INTO changes (entity, entity_id, op, changed_at) VALUES ($1, $2, $3, $4) RETURNING seq",
        )
        .bind(entity)
        .bind(entity_id)
        .bind(op.as_str())
        .bind(now)
        .fetch_one(&mut *c)
        .await
    })?;
    if tx.backend() == Backend::Postgres {
        exec!(tx, sqlx::query("SELECT pg_notify('govhall_changes', '')"))?;
    }
    tx.mark_changed();
    Ok(seq)
}

/// Up to `limit` changes after `seq`, in order.
pub async fn after(db: &Db, seq: i64, limit: i64) -> Result<Vec<Change>, DbError> {
    let mut conn = db.conn().await?;
    let rows: Vec<(i64, String, String, String, DateTime<Utc>)> = run!(conn, |c| {
        sqlx::query_as(
            "SELECT seq, entity, entity_id, op, changed_at FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(seq)
        .bind(limit)
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter()
        .map(|(seq, entity, entity_id, op, changed_at)| {
            Ok(Change { seq, entity, entity_id, op: ChangeOp::from_stored(&op)?, changed_at })
        })
        .collect()
}

/// The newest seq, or 0 for an empty feed.
pub async fn latest_seq(db: &Db) -> Result<i64, DbError> {
    let mut conn = db.conn().await?;
    let seq: Option<i64> = run!(conn, |c| sqlx::query_scalar("SELECT MAX(seq) FROM changes").fetch_one(&mut *c).await)?;
    Ok(seq.unwrap_or(0))
}

/// Deletes changes older than `before`, keeping the newest so that the feed never looks empty to
/// a follower that starts from the end. Returns how many were deleted.
pub async fn prune(db: &Db, before: DateTime<Utc>) -> Result<u64, DbError> {
    let mut conn = db.conn().await?;
    let deleted = exec!(
        conn,
        sqlx::query("DELETE FROM changes WHERE changed_at < $1 AND seq < (SELECT MAX(seq) FROM changes)").bind(before)
    )?;
    Ok(deleted)
}

/// Where a follower starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// After the newest change at start (a node that has just rebuilt its caches from the tables).
    Latest,
    /// After `seq`.
    After(i64),
}

/// Follows the feed on this node and broadcasts each change to its subscribers.
#[derive(Debug, Clone)]
pub struct ChangeFollower {
    sender: broadcast::Sender<Change>,
    position: Arc<AtomicI64>,
}

impl ChangeFollower {
    /// Starts following; the task stops when `shutdown` is cancelled.
    pub async fn start(
        db: Db,
        start: StartAt,
        poll_interval: Duration,
        shutdown: CancellationToken,
    ) -> Result<ChangeFollower, DbError> {
        let from = match start {
            StartAt::Latest => latest_seq(&db).await?,
            StartAt::After(seq) => seq,
        };
        let (sender, _) = broadcast::channel(1024);
        let follower = ChangeFollower { sender, position: Arc::new(AtomicI64::new(from)) };
        let task = follower.clone();
        tokio::spawn(async move { task.follow(db, poll_interval, shutdown).await });
        Ok(follower)
    }

    /// Receives every change read from now on. A subscriber that falls more than 1,024 changes
    /// behind is told it lagged and should rebuild what it keeps.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }

    /// The seq of the last change this node has read.
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }

    async fn follow(&self, db: Db, poll_interval: Duration, shutdown: CancellationToken) {
        let mut wake = db.wakeups().changes.subscribe();
        loop {
            loop {
                match after(&db, self.position(), 500).await {
                    Ok(batch) if batch.is_empty() => break,
                    Ok(batch) => {
                        for change in batch {
                            self.position.store(change.seq, Ordering::Release);
                            // No subscriber is not an error.
                            let _ = self.sender.send(change);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the change feed failed");
                        break;
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = wake.changed() => {}
                () = tokio::time::sleep(poll_interval) => {}
            }
        }
    }
}
