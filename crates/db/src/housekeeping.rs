//! Housekeeping jobs the database layer needs for itself: finished jobs and old change-feed
//! entries are deleted daily so that the tables stay small.

use crate::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use crate::{Db, DbError, changes, exec};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The job kind of the daily clean-up.
pub const PRUNE_JOB: &str = "housekeeping.prune";

/// How long finished records are kept; part of the hall's configuration (`[retention]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Days a successfully finished job is kept (dead jobs stay until an administrator acts).
    pub finished_jobs_days: i64,
    /// Days a change-feed entry is kept; a node that was down longer rebuilds its caches.
    pub changes_days: i64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { finished_jobs_days: 30, changes_days: 7 }
    }
}

/// Deletes jobs that finished successfully before `before`. Returns how many.
pub async fn prune_finished_jobs(db: &Db, before: DateTime<Utc>) -> Result<u64, DbError> {
    let mut conn = db.conn().await?;
    Ok(exec!(conn, sqlx::query("DELETE FROM jobs WHERE state = 'done' AND finished_at < $1").bind(before))?)
}

/// Registers the clean-up job.
pub fn register(registry: &mut JobRegistry, retention: RetentionSettings) {
    registry.register(PRUNE_JOB, move |ctx: JobContext| {
        let retention = retention.clone();
        async move {
            let now = ctx.db.now();
            let jobs = prune_finished_jobs(&ctx.db, now - Duration::days(retention.finished_jobs_days)).await?;
            let feed = changes::prune(&ctx.db, now - Duration::days(retention.changes_days)).await?;
            tracing::info!(jobs, changes = feed, "housekeeping done");
            schedule(&ctx.db, now + Duration::days(1)).await.map_err(JobError::from)
        }
    });
}

/// Makes sure one clean-up is scheduled for the day of `at` (an idempotency key per day keeps
/// every node from adding its own).
pub async fn schedule(db: &Db, at: DateTime<Utc>) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let key = format!("{PRUNE_JOB}:{}", at.format("%Y-%m-%d"));
    jobs::enqueue(&mut tx, NewJob::new(PRUNE_JOB, ())?.idempotency_key(key).run_at(at)).await?;
    tx.commit().await
}
