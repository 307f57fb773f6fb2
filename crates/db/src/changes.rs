//! The change feed: an ordered log of changed records.
//!
//! A domain records a change with [`record`] in the transaction that makes it. Every node runs a
//! [`ChangeFollower`] that reads the log in order from where it stands and hands each change to
//! its subscribers (the node's caches and search index). On PostgreSQL the follower is woken by
//! `NOTIFY` as soon as a change commits anywhere, and polls as a fallback; on SQLite, where there
//! is one node, the committing transaction wakes it directly.
//!
//! Order: on PostgreSQL a sequence value is taken at insert but becomes visible at commit, so two
//! writers could commit out of order and a reader could skip the smaller one. The entries of a
//! transaction are therefore written at its commit, after taking a transaction-scoped advisory
//! lock, which makes commit order equal `seq` order. The lock is held only from those inserts to
//! the commit, and is taken after all the transaction's other locks, so it cannot deadlock.

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

/// Records that `entity` `entity_id` changed, as part of `tx`. The entry is written when the
/// transaction commits, under the feed's lock, so that the lock is held only for that moment.
pub fn record(tx: &mut Tx, entity: &str, entity_id: &str, op: ChangeOp) {
    tx.push_change(PendingChange { entity: entity.to_owned(), entity_id: entity_id.to_owned(), op });
}

/// A change waiting for its transaction to commit.
#[derive(Debug, Clone)]
pub(crate) struct PendingChange {
    entity: String,
    entity_id: String,
    op: ChangeOp,
}

/// Writes a transaction's changes just before it commits (called by `Tx::commit`).
pub(crate) async fn write_pending(tx: &mut Tx, pending: &[PendingChange]) -> Result<(), DbError> {
    let now = tx.db().now();
    if tx.backend() == Backend::Postgres {
        exec!(tx, sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(ADVISORY_LOCK_KEY))?;
    }
    for change in pending {
        exec!(
            tx,
            sqlx::query("INSERT INTO changes (entity, entity_id, op, changed_at) VALUES ($1, $2, $3, $4)")
                .bind(&change.entity)
                .bind(&change.entity_id)
                .bind(change.op.as_str())
                .bind(now)
        )?;
    }
    // Other nodes are told after the commit (Tx::commit), not by a NOTIFY in this transaction.
    Ok(())
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

/// The oldest seq the feed still holds, if any: a follower behind it has missed changes.
pub async fn oldest_seq(db: &Db) -> Result<Option<i64>, DbError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| sqlx::query_scalar("SELECT MIN(seq) FROM changes").fetch_one(&mut *c).await)?)
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

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// A record changed.
    Change(Change),
    /// Changes were lost to this node (it was behind further than the feed keeps, or the
    /// subscriber fell behind): rebuild everything kept from the tables.
    Resync,
}

/// Follows the feed on this node and broadcasts each change to its subscribers.
#[derive(Debug, Clone)]
pub struct ChangeFollower {
    db: Db,
    sender: broadcast::Sender<FeedEvent>,
    position: Arc<AtomicI64>,
}

impl ChangeFollower {
    /// A follower positioned at `start`. Subscribe, then [`ChangeFollower::run`] it: nothing is
    /// read before it runs, so no subscriber misses a change.
    pub async fn new(db: Db, start: StartAt) -> Result<ChangeFollower, DbError> {
        let from = match start {
            StartAt::Latest => latest_seq(&db).await?,
            StartAt::After(seq) => seq,
        };
        let (sender, _) = broadcast::channel(1024);
        Ok(ChangeFollower { db, sender, position: Arc::new(AtomicI64::new(from)) })
    }

    /// Receives every event read from now on. A subscriber that falls more than 1,024 events
    /// behind gets `RecvError::Lagged` and should rebuild, as for [`FeedEvent::Resync`].
    pub fn subscribe(&self) -> broadcast::Receiver<FeedEvent> {
        self.sender.subscribe()
    }

    /// The seq of the last change this node has read.
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }

    /// Starts reading in a task until `shutdown`.
    pub fn run(&self, poll_interval: Duration, shutdown: CancellationToken) {
        let follower = self.clone();
        tokio::spawn(async move { follower.follow(poll_interval, shutdown).await });
    }

    async fn follow(&self, poll_interval: Duration, shutdown: CancellationToken) {
        let mut wake = self.db.wakeups().changes.subscribe();
        if let Err(e) = self.check_gap().await {
            tracing::warn!(error = %e, "checking the change feed failed");
        }
        loop {
            loop {
                match after(&self.db, self.position(), 500).await {
                    Ok(batch) if batch.is_empty() => break,
                    Ok(batch) => {
                        for change in batch {
                            self.position.store(change.seq, Ordering::Release);
                            // No subscriber is not an error.
                            let _ = self.sender.send(FeedEvent::Change(change));
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

    /// Tells subscribers to rebuild when changes after our position were already pruned.
    async fn check_gap(&self) -> Result<(), DbError> {
        let mut conn = self.db.conn().await?;
        let oldest: Option<i64> =
            run!(conn, |c| sqlx::query_scalar("SELECT MIN(seq) FROM changes").fetch_one(&mut *c).await)?;
        if let Some(oldest) = oldest
            && oldest > self.position() + 1
        {
            tracing::warn!(position = self.position(), oldest, "changes were pruned past this node; resyncing");
            let _ = self.sender.send(FeedEvent::Resync);
        }
        Ok(())
    }
}
