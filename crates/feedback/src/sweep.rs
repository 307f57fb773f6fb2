//! The hourly job of 好差评: second invitations, default ratings where the rules ask for them,
//! escalation of 差评 tasks and complaints past their due date, complaints closed after the
//! reopen period.

use crate::Feedback;
use chrono::{DateTime, Duration, DurationRound, Utc};
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Db, DbError};

/// The job's kind.
pub const SWEEP_JOB: &str = "feedback.sweep";

pub(crate) fn register(feedback: Feedback, registry: &mut JobRegistry) {
    registry.register(SWEEP_JOB, move |ctx: JobContext| {
        let feedback = feedback.clone();
        async move {
            let now = ctx.db.now();
            let reminded = feedback.remind(now).await.map_err(JobError::retry)?;
            let defaulted = feedback.record_defaults(now).await.map_err(JobError::retry)?;
            let escalated = feedback.escalate(now).await.map_err(JobError::retry)?;
            let complaints = feedback.sweep_complaints(now).await.map_err(JobError::retry)?;
            tracing::info!(reminded, defaulted, escalated, complaints, "好差评 and complaints swept");
            let next = now.duration_trunc(Duration::hours(1)).unwrap_or(now) + Duration::hours(1);
            schedule(&ctx.db, next).await.map_err(JobError::from)
        }
    });
}

/// Makes sure one sweep is scheduled for the hour of `at` (one key per hour for all nodes).
pub async fn schedule(db: &Db, at: DateTime<Utc>) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let key = format!("{SWEEP_JOB}:{}", at.format("%Y-%m-%dT%H"));
    jobs::enqueue(&mut tx, NewJob::new(SWEEP_JOB, ())?.idempotency_key(key).run_at(at)).await?;
    tx.commit().await
}
