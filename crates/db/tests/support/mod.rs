//! Helpers of the job queue tests: a migrated database, enqueueing, waiting, a running worker.

#![allow(dead_code, reason = "each test file uses a part of these helpers")]

use govhall_core::ManualClock;
use govhall_core::ids::JobId;
use govhall_db::Db;
use govhall_db::jobs::{self, JobRegistry, JobSettings, JobState, NewJob, Worker};
use govhall_db::testing::TestDatabase;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub fn fast() -> JobSettings {
    JobSettings { backoff_base_secs: 0, backoff_max_secs: 0, poll_interval_ms: 20, ..JobSettings::default() }
}

pub async fn open(t: &TestDatabase, clock: Option<ManualClock>) -> Db {
    let mut opts = t.options();
    if let Some(clock) = clock {
        opts.clock = Arc::new(clock);
    }
    let db = Db::connect(&opts).await.unwrap();
    db.migrate().await.unwrap();
    db
}

pub async fn enqueue(db: &Db, job: NewJob) -> JobId {
    let mut tx = db.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, job).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// Waits (up to 20 s) until the job reaches `state`.
pub async fn wait_for(db: &Db, id: JobId, state: JobState) -> jobs::JobRecord {
    for _ in 0..2000 {
        let job = jobs::get(db, id).await.unwrap().unwrap();
        if job.state == state {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {id} never reached {state}: {:?}", jobs::get(db, id).await.unwrap());
}

pub fn start(
    db: &Db,
    registry: JobRegistry,
    settings: JobSettings,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let worker = Worker::new(db.clone(), registry, settings);
    let handle = tokio::spawn(worker.run(shutdown.clone()));
    (shutdown, handle)
}
