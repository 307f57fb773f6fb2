//! Workers: leases and takeover, graceful shutdown, exactly-once claiming across workers,
//! polling, housekeeping, completing a job in the handler's transaction.

#![expect(clippy::unwrap_used, reason = "test helpers unwrap: a failure there is the test failing")]

mod support;

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use govhall_core::ManualClock;
use govhall_core::ids::JobId;
use govhall_db::Backend;
use govhall_db::housekeeping;
use govhall_db::jobs::{self, JobError, JobRegistry, JobSettings, JobState, NewJob};
use govhall_db::testing::TestDatabase;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{enqueue, fast, open, start, wait_for};

#[tokio::test]
async fn a_job_whose_worker_stalls_is_taken_over_after_its_lease() {
    let t = TestDatabase::new().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap());
    let db = open(&t, Some(clock.clone())).await;
    let release = Arc::new(tokio::sync::Notify::new());
    let runs = Arc::new(Mutex::new(Vec::new()));
    let mut stalling = JobRegistry::new();
    let (r, n) = (runs.clone(), release.clone());
    stalling.register("test.stall", move |ctx| {
        let (r, n) = (r.clone(), n.clone());
        async move {
            r.lock().unwrap().push(("stalling", ctx.attempt));
            n.notified().await;
            Ok(())
        }
    });
    let settings = JobSettings { lease_secs: 60, ..fast() };
    // One job at a time: busy with the stalled job, this worker cannot claim it again itself.
    let (stop_a, a) = start(&db, stalling, JobSettings { concurrency: 1, ..settings.clone() });
    let id = enqueue(&db, NewJob::new("test.stall", ()).unwrap()).await;
    wait_for(&db, id, JobState::Running).await;

    let mut healthy = JobRegistry::new();
    let r = runs.clone();
    healthy.register("test.stall", move |ctx| {
        let r = r.clone();
        async move {
            r.lock().unwrap().push(("healthy", ctx.attempt));
            Ok(())
        }
    });
    let (stop_b, b) = start(&db, healthy, settings);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(runs.lock().unwrap().len(), 1, "the lease still holds");
    clock.advance(ChronoDuration::seconds(61));
    let job = wait_for(&db, id, JobState::Done).await;
    assert_eq!(job.attempts, 2);
    // The stalled worker wakes up late: its outcome is not recorded over the new one.
    release.notify_one();
    stop_a.cancel();
    a.await.unwrap();
    assert_eq!(jobs::get(&db, id).await.unwrap().unwrap().attempts, 2);
    assert_eq!(*runs.lock().unwrap(), vec![("stalling", 1), ("healthy", 2)]);
    stop_b.cancel();
    b.await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn shutdown_waits_for_running_jobs() {
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    let started = Arc::new(tokio::sync::Notify::new());
    let mut registry = JobRegistry::new();
    let s = started.clone();
    registry.register("test.slow", move |_ctx| {
        let s = s.clone();
        async move {
            s.notify_one();
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(())
        }
    });
    let (shutdown, handle) = start(&db, registry, fast());
    let id = enqueue(&db, NewJob::new("test.slow", ()).unwrap()).await;
    started.notified().await;
    shutdown.cancel();
    handle.await.unwrap();
    assert_eq!(jobs::get(&db, id).await.unwrap().unwrap().state, JobState::Done, "finished before the worker stopped");
    t.cleanup().await;
}

#[tokio::test]
async fn concurrent_workers_run_each_job_exactly_once() {
    // Meaningful on PostgreSQL, where two pools stand for two nodes racing for the same rows; on
    // SQLite it checks that one node's concurrent claims never overlap.
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    // On PostgreSQL the workers use separate pools, as separate nodes would.
    let other = if db.backend() == Backend::Postgres { open(&t, None).await } else { db.clone() };
    let counts: Arc<Mutex<HashMap<JobId, u32>>> = Arc::default();
    let registry = |name: &'static str| {
        let mut r = JobRegistry::new();
        let c = counts.clone();
        r.register("test.count", move |ctx| {
            let c = c.clone();
            async move {
                *c.lock().unwrap().entry(ctx.id).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
                let _ = name;
                Ok(())
            }
        });
        r
    };
    let settings = JobSettings { concurrency: 8, ..fast() };
    let (stop_a, a) = start(&db, registry("a"), settings.clone());
    let (stop_b, b) = start(&other, registry("b"), settings);
    let mut ids = Vec::new();
    for i in 0..200 {
        ids.push(enqueue(&db, NewJob::new("test.count", i).unwrap()).await);
    }
    for id in &ids {
        let job = wait_for(&db, *id, JobState::Done).await;
        assert_eq!(job.attempts, 1);
    }
    stop_a.cancel();
    stop_b.cancel();
    a.await.unwrap();
    b.await.unwrap();
    {
        let counts = counts.lock().unwrap();
        assert_eq!(counts.len(), 200);
        assert!(counts.values().all(|n| *n == 1), "a job ran twice");
    }
    t.cleanup().await;
}

#[tokio::test]
async fn a_job_whose_worker_died_on_its_last_try_is_parked_not_rerun() {
    let t = TestDatabase::new().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap());
    let db = open(&t, Some(clock.clone())).await;
    let runs = Arc::new(AtomicU32::new(0));
    let release = Arc::new(tokio::sync::Notify::new());
    let registry = || {
        let mut r = JobRegistry::new();
        let (n, rel) = (runs.clone(), release.clone());
        r.register("test.once", move |_ctx| {
            let (n, rel) = (n.clone(), rel.clone());
            async move {
                n.fetch_add(1, Ordering::SeqCst);
                rel.notified().await;
                Ok(())
            }
        });
        r
    };
    let settings = JobSettings { lease_secs: 60, concurrency: 1, ..fast() };
    let (stop_a, a) = start(&db, registry(), settings.clone());
    let id = enqueue(&db, NewJob::new("test.once", ()).unwrap().max_attempts(1)).await;
    wait_for(&db, id, JobState::Running).await;
    clock.advance(ChronoDuration::seconds(61));
    let (stop_b, b) = start(&db, registry(), settings);
    let job = wait_for(&db, id, JobState::Dead).await;
    assert_eq!(job.last_error.as_deref(), Some("worker stopped during the last try"));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "not run a second time");
    release.notify_one();
    for (stop, h) in [(stop_a, a), (stop_b, b)] {
        stop.cancel();
        h.await.unwrap();
    }
    t.cleanup().await;
}

#[tokio::test]
async fn an_idle_worker_finds_jobs_by_polling_when_nothing_wakes_it() {
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    let mut registry = JobRegistry::new();
    registry.register("test.noop", |_ctx| async { Ok(()) });
    let (shutdown, handle) = start(&db, registry, fast());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Written behind the queue's back: no commit wake-up, no NOTIFY.
    let id = JobId::new();
    let mut conn = db.conn().await.unwrap();
    govhall_db::exec!(
        conn,
        govhall_db::sqlx::query(
            "INSERT INTO jobs (id, kind, payload, state, attempts, run_at, created_at, updated_at)
             VALUES ($1, 'test.noop', $2, 'queued', 0, $3, $3, $3)"
        )
        .bind(id.as_uuid())
        .bind(govhall_db::sqlx::types::Json(serde_json::json!(null)))
        .bind(db.now())
    )
    .unwrap();
    drop(conn);
    wait_for(&db, id, JobState::Done).await;
    shutdown.cancel();
    handle.await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn housekeeping_prunes_once_a_day() {
    let t = TestDatabase::new().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap());
    let db = open(&t, Some(clock.clone())).await;
    // An old finished job and an old change.
    let old = enqueue(&db, NewJob::new("test.noop", ()).unwrap()).await;
    let mut noop = JobRegistry::new();
    noop.register("test.noop", |_ctx| async { Ok(()) });
    let (stop, h) = start(&db, noop, fast());
    wait_for(&db, old, JobState::Done).await;
    stop.cancel();
    h.await.unwrap();
    for id in ["a", "b"] {
        let mut tx = db.begin().await.unwrap();
        govhall_db::changes::record(&mut tx, "item", id, govhall_db::changes::ChangeOp::Update);
        tx.commit().await.unwrap();
    }
    clock.advance(ChronoDuration::days(40));

    housekeeping::schedule(&db, db.now()).await.unwrap();
    housekeeping::schedule(&db, db.now()).await.unwrap();
    let scheduled = jobs::list(&db, Some(JobState::Queued), 10).await.unwrap();
    assert_eq!(scheduled.len(), 1, "one clean-up a day, however many nodes ask");

    let mut registry = JobRegistry::new();
    housekeeping::register(&mut registry, housekeeping::RetentionSettings::default());
    let (stop, h) = start(&db, registry, fast());
    wait_for(&db, scheduled[0].id, JobState::Done).await;
    stop.cancel();
    h.await.unwrap();
    assert!(jobs::get(&db, old).await.unwrap().is_none(), "the old finished job is gone");
    assert_eq!(govhall_db::changes::after(&db, 0, 10).await.unwrap().len(), 1, "the newest change is kept");
    let next = jobs::list(&db, Some(JobState::Queued), 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].run_at, db.now() + ChronoDuration::days(1), "tomorrow's is scheduled");
    t.cleanup().await;
}

#[tokio::test]
async fn a_handler_can_complete_its_job_in_its_own_transaction() {
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    let mut registry = JobRegistry::new();
    registry.register("test.in_tx", |ctx| async move {
        let mut tx = ctx.db.begin().await?;
        ctx.complete_in(&mut tx).await?;
        if ctx.attempt == 1 {
            // The work fails: the completion rolls back with it.
            tx.rollback().await?;
            return Err(JobError::retry("first try fails"));
        }
        tx.commit().await?;
        Ok(())
    });
    let (shutdown, handle) = start(&db, registry, fast());
    let id = enqueue(&db, NewJob::new("test.in_tx", ()).unwrap()).await;
    let job = wait_for(&db, id, JobState::Done).await;
    assert_eq!(job.attempts, 2, "the rolled-back completion did not count");
    assert!(job.finished_at.is_some());
    shutdown.cancel();
    handle.await.unwrap();
    t.cleanup().await;
}
