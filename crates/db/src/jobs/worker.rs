//! Workers: claim due jobs, run their handlers, record the outcome.

use super::queue::{self, Claimed, Outcome};
use crate::{Db, DbError, Tx, exec};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use govhall_core::ids::JobId;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How workers behave; part of the hall's configuration (`[jobs]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobSettings {
    /// Jobs one worker runs at the same time.
    pub concurrency: usize,
    /// Tries before a job is parked as dead (a job may set its own).
    pub max_attempts: i32,
    /// Delay before the first retry, in seconds; doubled for each further try.
    pub backoff_base_secs: u64,
    /// The longest delay between tries, in seconds.
    pub backoff_max_secs: u64,
    /// How often an idle worker looks for due jobs when nothing woke it, in milliseconds.
    pub poll_interval_ms: u64,
    /// How long a claimed job is held before another worker may take it over, in seconds.
    pub lease_secs: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            max_attempts: 8,
            backoff_base_secs: 10,
            backoff_max_secs: 3600,
            poll_interval_ms: 1000,
            lease_secs: 600,
        }
    }
}

/// The delay before try `attempt + 1`, after `attempt` failed tries: base × 2^(attempt−1),
/// capped, with ±20 % jitter so that jobs that failed together do not retry together.
pub fn backoff_delay(settings: &JobSettings, attempt: i32) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(30);
    let secs = settings.backoff_base_secs.saturating_mul(1u64 << exp).min(settings.backoff_max_secs);
    let jitter = rand::rng().random_range(0.8..=1.2);
    Duration::from_secs_f64(secs as f64 * jitter)
}

/// Why a try failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// A passing failure (a provider timed out): try again later.
    Retry(String),
    /// Trying again cannot help (a bad payload, a refused address): park the job at once.
    Permanent(String),
    /// Not now (quiet hours, a rate limit, a daily cap): run again at the given time. Not
    /// counted as a try.
    Defer(DateTime<Utc>),
}

impl JobError {
    /// A passing failure.
    pub fn retry(e: impl fmt::Display) -> Self {
        JobError::Retry(e.to_string())
    }

    /// A failure that trying again cannot fix.
    pub fn permanent(e: impl fmt::Display) -> Self {
        JobError::Permanent(e.to_string())
    }
}

impl From<DbError> for JobError {
    fn from(e: DbError) -> Self {
        JobError::Retry(e.to_string())
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::Retry(e) => write!(f, "temporary: {e}"),
            JobError::Permanent(e) => write!(f, "permanent: {e}"),
            JobError::Defer(at) => write!(f, "deferred to {at}"),
        }
    }
}

/// What a handler is given.
#[derive(Debug, Clone)]
pub struct JobContext {
    /// The job's id: a handler keys what it writes by it to stay idempotent.
    pub id: JobId,
    /// The job's kind.
    pub kind: String,
    /// The payload as enqueued.
    pub payload: serde_json::Value,
    /// Which try this is, from 1.
    pub attempt: i32,
    /// The database.
    pub db: Db,
    worker: String,
    completed: Arc<AtomicBool>,
}

impl JobContext {
    /// Marks the job done inside the handler's own transaction, saving the worker a write of
    /// its own: the job is done exactly when the handler's work commits. The handler must commit
    /// `tx` before it returns `Ok`; if `tx` rolls back, the handler returns an error as usual.
    pub async fn complete_in(&self, tx: &mut Tx) -> Result<(), DbError> {
        let now = tx.db().now();
        let done = exec!(
            tx,
            sqlx::query(
                "UPDATE jobs SET state = 'done', finished_at = $1, locked_until = NULL, updated_at = $1
                 WHERE id = $2 AND locked_by = $3 AND attempts = $4 AND state = 'running'"
            )
            .bind(now)
            .bind(self.id.as_uuid())
            .bind(&self.worker)
            .bind(self.attempt)
        )?;
        if done == 1 {
            self.completed.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// The payload as `T`; a payload that does not fit is a permanent failure.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.payload.clone())
            .map_err(|e| JobError::Permanent(format!("payload of {} does not fit: {e}", self.kind)))
    }
}

type Handler = Arc<dyn Fn(JobContext) -> BoxFuture<'static, Result<(), JobError>> + Send + Sync>;

/// Which handler runs each kind of job. Each domain registers its own at start-up.
#[derive(Clone, Default)]
pub struct JobRegistry {
    handlers: HashMap<String, Handler>,
}

impl fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kinds: Vec<_> = self.handlers.keys().collect();
        kinds.sort();
        f.debug_struct("JobRegistry").field("kinds", &kinds).finish()
    }
}

impl JobRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `handler` for jobs of `kind`.
    pub fn register<F, Fut>(&mut self, kind: impl Into<String>, handler: F) -> &mut Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.handlers.insert(kind.into(), Arc::new(move |ctx| Box::pin(handler(ctx))));
        self
    }

    /// Whether a handler is registered for `kind`.
    pub fn knows(&self, kind: &str) -> bool {
        self.handlers.contains_key(kind)
    }

    /// The kinds registered, sorted.
    pub fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

/// A worker: one loop per process that keeps up to `concurrency` jobs running.
#[derive(Debug)]
pub struct Worker {
    db: Db,
    registry: Arc<JobRegistry>,
    settings: JobSettings,
    id: String,
}

impl Worker {
    /// A worker named after its host and process, so an administrator can tell who holds a job.
    pub fn new(db: Db, registry: JobRegistry, settings: JobSettings) -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".to_owned());
        let id = format!("{host}:{}:{}", std::process::id(), &uuid::Uuid::now_v7().simple().to_string()[24..]);
        Self { db, registry: Arc::new(registry), settings, id }
    }

    /// The name this worker leases jobs under.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` is cancelled, then stops claiming and waits for the jobs it is
    /// running to finish.
    pub async fn run(self, shutdown: CancellationToken) {
        let me = Arc::new(self);
        let mut running: JoinSet<()> = JoinSet::new();
        let poll = Duration::from_millis(me.settings.poll_interval_ms.max(10));
        let concurrency = me.settings.concurrency.max(1);
        tracing::info!(worker = %me.id, concurrency, "job worker started");
        let mut wake = me.db.wakeups().jobs.subscribe();
        // Only kinds this worker can run: during a rolling upgrade an older node leaves new kinds
        // to the nodes that know them instead of using up their tries.
        let kinds = me.registry.kinds();
        loop {
            // Refill in batches (once half the slots are free): one claim serves several jobs.
            while running.len() <= concurrency / 2 && !shutdown.is_cancelled() {
                let free = (concurrency - running.len()) as i64;
                match queue::claim(&me.db, &me.id, &kinds, free, me.lease_until(), me.settings.max_attempts.max(1))
                    .await
                {
                    Ok(jobs) if jobs.is_empty() => break,
                    Ok(jobs) => {
                        for job in jobs {
                            let worker = me.clone();
                            let span = tracing::info_span!("job", job.id = %job.id, job.kind = %job.kind, job.attempt = job.attempts);
                            running.spawn(async move { worker.run_one(job).await }.instrument(span));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming jobs failed");
                        break;
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = wake.changed() => {}
                () = tokio::time::sleep(poll) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        if !running.is_empty() {
            tracing::info!(running = running.len(), "waiting for running jobs before stopping");
        }
        while running.join_next().await.is_some() {}
        tracing::info!(worker = %me.id, "job worker stopped");
    }

    fn lease_until(&self) -> DateTime<Utc> {
        self.db.now() + chrono::Duration::seconds(i64::try_from(self.settings.lease_secs).unwrap_or(i64::MAX / 2))
    }

    /// Runs the handler while renewing the lease every third of it, so that a long job is not
    /// taken over by another worker while it is still running.
    async fn call_with_lease(&self, job: &Claimed, completed: Arc<AtomicBool>) -> Result<(), JobError> {
        let every = Duration::from_secs((self.settings.lease_secs / 3).max(1));
        let handler = self.call_handler(job, completed);
        tokio::pin!(handler);
        loop {
            tokio::select! {
                result = &mut handler => return result,
                () = tokio::time::sleep(every) => {
                    match queue::renew_lease(&self.db, job, &self.id, self.lease_until()).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!("lost the lease of a running job"),
                        Err(e) => tracing::warn!(error = %e, "renewing a job lease failed"),
                    }
                }
            }
        }
    }

    async fn run_one(&self, job: Claimed) {
        let completed = Arc::new(AtomicBool::new(false));
        let outcome = if job.attempts > job.max_attempts {
            // Its worker died on the last try: do not run it again.
            Outcome::Dead { error: "worker stopped during the last try".to_owned() }
        } else {
            match self.call_with_lease(&job, completed.clone()).await {
                // The handler recorded it in its own transaction.
                Ok(()) if completed.load(Ordering::Acquire) => return,
                Ok(()) => Outcome::Done,
                Err(JobError::Permanent(error)) => Outcome::Dead { error },
                Err(JobError::Defer(at)) => Outcome::Defer { at },
                Err(JobError::Retry(error)) if job.attempts >= job.max_attempts => Outcome::Dead { error },
                Err(JobError::Retry(error)) => {
                    let at: DateTime<Utc> = self.db.now() + backoff_delay(&self.settings, job.attempts);
                    Outcome::Retry { at, error }
                }
            }
        };
        match &outcome {
            Outcome::Done => tracing::debug!("job done"),
            Outcome::Retry { at, error } => tracing::warn!(%error, retry_at = %at, "job failed, will retry"),
            Outcome::Dead { error } => tracing::error!(%error, "job parked as dead"),
            Outcome::Defer { at } => tracing::debug!(run_at = %at, "job deferred"),
        }
        match queue::finish(&self.db, &job, &self.id, outcome).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("job was taken over by another worker after its lease ended"),
            Err(e) => tracing::error!(error = %e, "recording the job outcome failed; the lease will expire"),
        }
    }

    async fn call_handler(&self, job: &Claimed, completed: Arc<AtomicBool>) -> Result<(), JobError> {
        let Some(handler) = self.registry.handlers.get(&job.kind).cloned() else {
            // Another node (a newer version) may know it: retry rather than park at once.
            return Err(JobError::Retry(format!("no handler for job kind {}", job.kind)));
        };
        let ctx = JobContext {
            id: JobId::from_uuid(job.id),
            kind: job.kind.clone(),
            payload: job.payload.0.clone(),
            attempt: job.attempts,
            db: self.db.clone(),
            worker: self.id.clone(),
            completed,
        };
        // A panicking handler fails the try instead of the worker.
        match tokio::spawn(handler(ctx)).await {
            Ok(result) => result,
            Err(e) => Err(JobError::Retry(format!("handler panicked: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = JobSettings { backoff_base_secs: 10, backoff_max_secs: 100, ..JobSettings::default() };
        for (attempt, expected) in [(1, 10.0), (2, 20.0), (3, 40.0), (4, 80.0), (5, 100.0), (40, 100.0)] {
            let d = backoff_delay(&s, attempt).as_secs_f64();
            assert!(d >= expected * 0.8 - 1e-9 && d <= expected * 1.2 + 1e-9, "attempt {attempt}: {d}");
        }
    }
}
