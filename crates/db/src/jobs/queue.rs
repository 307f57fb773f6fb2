//! The SQL of the queue: enqueue, claim, finish, list.

use crate::{Backend, Db, DbError, Tx, exec, run};
use chrono::{DateTime, Utc};
use govhall_core::ids::JobId;
use serde::Serialize;
use sqlx::types::Json;
use std::fmt;
use uuid::Uuid;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its `run_at` and a free worker.
    Queued,
    /// Claimed by a worker, until its lease ends.
    Running,
    /// Finished successfully.
    Done,
    /// Failed `max_attempts` times, or failed permanently: parked for an administrator.
    Dead,
}

impl JobState {
    /// Every state, in life order.
    pub const ALL: [JobState; 4] = [JobState::Queued, JobState::Running, JobState::Done, JobState::Dead];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    fn from_stored(s: &str) -> Result<Self, DbError> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| DbError::Decode(format!("未知的任务状态 {s}")))
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    kind: String,
    payload: serde_json::Value,
    idempotency_key: Option<String>,
    run_at: Option<DateTime<Utc>>,
    max_attempts: Option<i32>,
}

impl NewJob {
    /// A job of `kind` (registered with a handler, e.g. `messaging.deliver`) carrying `payload`.
    pub fn new(kind: impl Into<String>, payload: impl Serialize) -> Result<Self, DbError> {
        let payload = serde_json::to_value(payload).map_err(|e| DbError::Decode(e.to_string()))?;
        Ok(Self { kind: kind.into(), payload, idempotency_key: None, run_at: None, max_attempts: None })
    }

    /// Enqueueing again with the same key is a no-op that returns the first job's id.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Not before `at` (a reminder, a deadline check).
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Overrides the workers' `max_attempts` setting: tries before the job is parked as dead.
    pub fn max_attempts(mut self, n: i32) -> Self {
        self.max_attempts = Some(n.max(1));
        self
    }
}

/// Writes `job` in the caller's transaction; it runs only if the transaction commits. Returns
/// the job's id, or the id of the job already enqueued with the same idempotency key.
pub async fn enqueue(tx: &mut Tx, job: NewJob) -> Result<JobId, DbError> {
    let now = tx.db().now();
    let id = JobId::new();
    let run_at = job.run_at.unwrap_or(now);
    let payload = Json(&job.payload);
    // Other nodes are told after the commit (Tx::commit), not by a NOTIFY in this transaction.
    let inserted: Option<Uuid> = run!(tx, |c| {
        sqlx::query_scalar(
            "INSERT INTO jobs (id, kind, payload, idempotency_key, state, attempts, max_attempts, run_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7)
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING id",
        )
            .bind(id.as_uuid())
            .bind(&job.kind)
            .bind(payload)
            .bind(&job.idempotency_key)
            .bind(job.max_attempts)
            .bind(run_at)
            .bind(now)
            .fetch_optional(&mut *c)
            .await
    })?;
    let id = match inserted {
        Some(id) => JobId::from_uuid(id),
        None => {
            let existing: Uuid = run!(tx, |c| {
                sqlx::query_scalar("SELECT id FROM jobs WHERE idempotency_key = $1")
                    .bind(&job.idempotency_key)
                    .fetch_one(&mut *c)
                    .await
            })?;
            return Ok(JobId::from_uuid(existing));
        }
    };
    tx.mark_job_enqueued();
    Ok(id)
}

/// Writes several jobs in the caller's transaction: one statement on PostgreSQL (a job whose
/// idempotency key was used already is left out), one per job on SQLite.
pub async fn enqueue_all(tx: &mut Tx, jobs: Vec<NewJob>) -> Result<(), DbError> {
    if tx.backend() == Backend::Sqlite || jobs.len() < 2 {
        for job in jobs {
            enqueue(tx, job).await?;
        }
        return Ok(());
    }
    let now = tx.db().now();
    let rows: Vec<String> = (0..jobs.len())
        .map(|i| {
            let p = i * 6;
            format!("(${}, ${}, ${}, ${}, 'queued', 0, ${}, ${}, $1, $1)", p + 2, p + 3, p + 4, p + 5, p + 6, p + 7)
        })
        .collect();
    let sql = format!(
        "INSERT INTO jobs (id, kind, payload, idempotency_key, state, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES {} ON CONFLICT (idempotency_key) DO NOTHING",
        rows.join(", ")
    );
    exec!(tx, {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(now);
        for job in &jobs {
            q = q
                .bind(JobId::new().as_uuid())
                .bind(&job.kind)
                .bind(Json(&job.payload))
                .bind(&job.idempotency_key)
                .bind(job.max_attempts)
                .bind(job.run_at.unwrap_or(now));
        }
        q
    })?;
    tx.mark_job_enqueued();
    Ok(())
}

/// A job as stored.
#[derive(Debug, Clone)]
pub struct JobRecord {
    /// Its id.
    pub id: JobId,
    /// Which handler runs it.
    pub kind: String,
    /// The handler's input.
    pub payload: serde_json::Value,
    /// The deduplication key, if any.
    pub idempotency_key: Option<String>,
    /// Where it is.
    pub state: JobState,
    /// Tries so far (including a running one).
    pub attempts: i32,
    /// Tries allowed, when the job set its own; otherwise the workers' setting applies.
    pub max_attempts: Option<i32>,
    /// Not before.
    pub run_at: DateTime<Utc>,
    /// The worker holding it.
    pub locked_by: Option<String>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When enqueued.
    pub created_at: DateTime<Utc>,
    /// When done or parked.
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    kind: String,
    payload: Json<serde_json::Value>,
    idempotency_key: Option<String>,
    state: String,
    attempts: i32,
    max_attempts: Option<i32>,
    run_at: DateTime<Utc>,
    locked_by: Option<String>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<JobRow> for JobRecord {
    type Error = DbError;
    fn try_from(r: JobRow) -> Result<Self, DbError> {
        Ok(JobRecord {
            id: JobId::from_uuid(r.id),
            kind: r.kind,
            payload: r.payload.0,
            idempotency_key: r.idempotency_key,
            state: JobState::from_stored(&r.state)?,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            run_at: r.run_at,
            locked_by: r.locked_by,
            last_error: r.last_error,
            created_at: r.created_at,
            finished_at: r.finished_at,
        })
    }
}

const COLUMNS: &str = "id, kind, payload, idempotency_key, state, attempts, max_attempts, run_at, locked_by, last_error, created_at, finished_at";

/// One job by id.
pub async fn get(db: &Db, id: JobId) -> Result<Option<JobRecord>, DbError> {
    let mut conn = db.conn().await?;
    let row: Option<JobRow> = run!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM jobs WHERE id = $1")))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await
    })?;
    row.map(JobRecord::try_from).transpose()
}

/// Jobs in `state` (all when `None`), newest first, at most `limit`.
pub async fn list(db: &Db, state: Option<JobState>, limit: i64) -> Result<Vec<JobRecord>, DbError> {
    let mut conn = db.conn().await?;
    let rows: Vec<JobRow> = run!(conn, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM jobs WHERE ($1 IS NULL OR state = $1) ORDER BY created_at DESC, id DESC LIMIT $2"
        )))
        .bind(state.map(JobState::as_str))
        .bind(limit)
        .fetch_all(&mut *c)
        .await
    })?;
    rows.into_iter().map(JobRecord::try_from).collect()
}

/// How many jobs are in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobCounts(pub Vec<(JobState, i64)>);

impl JobCounts {
    /// The count for one state.
    pub fn get(&self, state: JobState) -> i64 {
        self.0.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n)
    }
}

/// Counts jobs by state (for /metrics and the admin view).
pub async fn count_by_state(db: &Db) -> Result<JobCounts, DbError> {
    let mut conn = db.conn().await?;
    let rows: Vec<(String, i64)> =
        run!(conn, |c| { sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetch_all(&mut *c).await })?;
    let mut counts = Vec::new();
    for state in JobState::ALL {
        let n = rows.iter().find(|(s, _)| s == state.as_str()).map_or(0, |(_, n)| *n);
        counts.push((state, n));
    }
    Ok(JobCounts(counts))
}

/// Puts a dead job back in the queue with a fresh set of tries. Returns whether it was dead.
pub async fn retry_dead(db: &Db, id: JobId) -> Result<bool, DbError> {
    let mut tx = db.begin().await?;
    let now = db.now();
    let done = exec!(
        tx,
        sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, updated_at = $1, finished_at = NULL
             WHERE id = $2 AND state = 'dead'",
        )
        .bind(now)
        .bind(id.as_uuid())
    )? == 1;
    if done {
        tx.mark_job_enqueued();
    }
    tx.commit().await?;
    Ok(done)
}

/// A job a worker has claimed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Claimed {
    pub(crate) id: Uuid,
    pub(crate) kind: String,
    pub(crate) payload: Json<serde_json::Value>,
    pub(crate) attempts: i32,
    pub(crate) max_attempts: i32,
}

/// Claims up to `limit` due jobs of the `kinds` this worker can run, leasing them until
/// `lease_until`. A running job whose lease has ended (its worker died) is due again. A job that
/// did not set its own `max_attempts` gets `default_max_attempts`.
pub(crate) async fn claim(
    db: &Db,
    worker: &str,
    kinds: &[String],
    limit: i64,
    lease_until: DateTime<Utc>,
    default_max_attempts: i32,
) -> Result<Vec<Claimed>, DbError> {
    if kinds.is_empty() {
        return Ok(Vec::new());
    }
    // One placeholder per kind: `kind IN ($6, $7, …)` works the same on both backends.
    let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 6)).collect();
    let lock = match db.backend() {
        Backend::Sqlite => "",
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    };
    // Two scans, each in the index's order and stopped at the limit: queued jobs that are due,
    // and running jobs whose lease has ended. (One scan with `OR` read every due job and sorted
    // them all, a cost that grew with the backlog: 20 ms a claim behind 25,000 messages.)
    let listed = placeholders.join(", ");
    let sql = format!(
        "WITH due AS (
             SELECT id, run_at FROM (SELECT id, run_at FROM jobs
                 WHERE state = 'queued' AND run_at <= $3 AND kind IN ({listed})
                 ORDER BY run_at, id LIMIT $4 {lock}) AS queued
             UNION ALL
             SELECT id, run_at FROM (SELECT id, run_at FROM jobs
                 WHERE state = 'running' AND locked_until < $3 AND kind IN ({listed})
                 ORDER BY run_at, id LIMIT $4 {lock}) AS lapsed)
         UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3
         WHERE id IN (SELECT id FROM due ORDER BY run_at, id LIMIT $4)
         RETURNING id, kind, payload, attempts, COALESCE(max_attempts, $5) AS max_attempts"
    );
    let now = db.now();
    let mut tx = db.begin().await?;
    let claimed: Vec<Claimed> = run!(tx, |c| {
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(worker)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .bind(default_max_attempts);
        for kind in kinds {
            query = query.bind(kind);
        }
        query.fetch_all(&mut *c).await
    })?;
    tx.commit().await?;
    Ok(claimed)
}

/// Extends the lease of a job this worker still holds. Returns whether it still holds it.
pub(crate) async fn renew_lease(
    db: &Db,
    job: &Claimed,
    worker: &str,
    lease_until: DateTime<Utc>,
) -> Result<bool, DbError> {
    let mut conn = db.begin().await?;
    let updated = exec!(
        conn,
        sqlx::query(
            "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND locked_by = $3 AND attempts = $4 AND state = 'running'"
        )
        .bind(lease_until)
        .bind(job.id)
        .bind(worker)
        .bind(job.attempts)
    )?;
    conn.commit().await?;
    Ok(updated == 1)
}

/// How a claimed try ended.
pub(crate) enum Outcome {
    Done,
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    Dead {
        error: String,
    },
    /// Not now: back to the queue at `at`, the try not counted.
    Defer {
        at: DateTime<Utc>,
    },
}

/// Records the end of a try, if the worker still holds the job (a job whose lease ended and
/// that another worker claimed is left to that worker). Returns whether it was recorded.
pub(crate) async fn finish(db: &Db, job: &Claimed, worker: &str, outcome: Outcome) -> Result<bool, DbError> {
    let now = db.now();
    // A transaction, so that on SQLite it queues at the write gate instead of busy-waiting.
    let mut conn = db.begin().await?;
    let (state, run_at, error, finished_at, uncount) = match outcome {
        Outcome::Done => ("done", None, None, Some(now), 0),
        Outcome::Retry { at, error } => ("queued", Some(at), Some(error), None, 0),
        Outcome::Dead { error } => ("dead", None, Some(error), Some(now), 0),
        Outcome::Defer { at } => ("queued", Some(at), None, None, 1),
    };
    let updated = exec!(
        conn,
        sqlx::query(
            "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), last_error = COALESCE($3, last_error),
                    finished_at = $4, locked_until = NULL, updated_at = $5, attempts = attempts - $9
             WHERE id = $6 AND locked_by = $7 AND attempts = $8 AND state = 'running'",
        )
        .bind(state)
        .bind(run_at)
        .bind(error)
        .bind(finished_at)
        .bind(now)
        .bind(job.id)
        .bind(worker)
        .bind(job.attempts)
        .bind(uncount)
    )?;
    conn.commit().await?;
    Ok(updated == 1)
}
