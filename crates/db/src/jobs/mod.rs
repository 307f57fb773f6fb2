//! The job queue: work that must not block a request (notifications, reminders, indexing,
//! reconciliation, deliveries, escalations).
//!
//! A job is written with [`enqueue`] inside the caller's transaction, so it exists exactly when
//! the change that caused it commits (the outbox pattern). Workers claim due jobs (with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so nodes never take the same job), run the handler
//! registered for the job's kind, and mark it done; a failure is retried with exponential
//! backoff until `max_attempts`, then the job is parked as dead for an administrator to see and
//! retry. A worker that dies mid-job loses its lease, and the job is claimed again.
//!
//! Delivery is at least once, so handlers are idempotent: an idempotency key on the job stops
//! the same event from being enqueued twice, and a handler checks what it already did before
//! doing it again.

mod queue;
mod worker;

pub use queue::{JobCounts, JobRecord, JobState, NewJob, count_by_state, enqueue, enqueue_all, get, list, retry_dead};
pub use worker::{JobContext, JobError, JobRegistry, JobSettings, Worker, backoff_delay};
