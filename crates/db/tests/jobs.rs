//! The job queue: outbox semantics, idempotency, retries with backoff, dead jobs, schedules,
//! deferral.

#![expect(clippy::unwrap_used, reason = "test helpers unwrap: a failure there is the test failing")]

mod support;

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use govhall_core::{Clock, ManualClock};
use govhall_db::jobs::{self, JobError, JobRegistry, JobSettings, JobState, NewJob};
use govhall_db::testing::TestDatabase;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{enqueue, fast, open, start, wait_for};

#[tokio::test]
async fn a_job_exists_only_if_its_transaction_commits() {
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    let mut tx = db.begin().await.unwrap();
    let id = jobs::enqueue(&mut tx, NewJob::new("test.noop", ()).unwrap()).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(jobs::get(&db, id).await.unwrap().is_none());
    let id = enqueue(&db, NewJob::new("test.noop", ()).unwrap()).await;
    assert_eq!(jobs::get(&db, id).await.unwrap().unwrap().state, JobState::Queued);
    t.cleanup().await;
}

#[tokio::test]
async fn the_same_idempotency_key_enqueues_once() {
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    let a = enqueue(&db, NewJob::new("test.noop", 1).unwrap().idempotency_key("case-1:received")).await;
    let b = enqueue(&db, NewJob::new("test.noop", 2).unwrap().idempotency_key("case-1:received")).await;
    assert_eq!(a, b);
    let all = jobs::list(&db, None, 10).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].payload, serde_json::json!(1), "the first job stands");
    t.cleanup().await;
}

#[tokio::test]
async fn runs_a_job_with_its_payload() {
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut registry = JobRegistry::new();
    let s = seen.clone();
    registry.register("test.greet", move |ctx| {
        let s = s.clone();
        async move {
            let name: String = ctx.payload()?;
            s.lock().unwrap().push(format!("{name}@{}", ctx.attempt));
            Ok(())
        }
    });
    let (shutdown, handle) = start(&db, registry, fast());
    let id = enqueue(&db, NewJob::new("test.greet", "张三").unwrap()).await;
    let job = wait_for(&db, id, JobState::Done).await;
    assert_eq!(job.attempts, 1);
    assert!(job.finished_at.is_some());
    assert_eq!(*seen.lock().unwrap(), vec!["张三@1".to_owned()]);
    shutdown.cancel();
    handle.await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn failures_are_retried_until_they_succeed() {
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    let tries = Arc::new(AtomicU32::new(0));
    let mut registry = JobRegistry::new();
    let n = tries.clone();
    registry.register("test.flaky", move |_ctx| {
        let n = n.clone();
        async move { if n.fetch_add(1, Ordering::SeqCst) < 2 { Err(JobError::retry("短信网关超时")) } else { Ok(()) } }
    });
    let (shutdown, handle) = start(&db, registry, fast());
    let id = enqueue(&db, NewJob::new("test.flaky", ()).unwrap()).await;
    let job = wait_for(&db, id, JobState::Done).await;
    assert_eq!(job.attempts, 3);
    assert_eq!(tries.load(Ordering::SeqCst), 3);
    shutdown.cancel();
    handle.await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn retries_wait_out_the_backoff() {
    let t = TestDatabase::new().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap());
    let db = open(&t, Some(clock.clone())).await;
    let mut registry = JobRegistry::new();
    registry.register("test.fail", |_ctx| async { Err(JobError::retry("down")) });
    let settings =
        JobSettings { backoff_base_secs: 60, backoff_max_secs: 3600, poll_interval_ms: 20, ..JobSettings::default() };
    let (shutdown, handle) = start(&db, registry, settings);
    let id = enqueue(&db, NewJob::new("test.fail", ()).unwrap().max_attempts(5)).await;
    // First try at once; the second waits about a minute (±20 %), which this clock never reaches.
    let mut job = jobs::get(&db, id).await.unwrap().unwrap();
    for _ in 0..500 {
        job = jobs::get(&db, id).await.unwrap().unwrap();
        if job.attempts == 1 && job.state == JobState::Queued {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!((job.attempts, job.state), (1, JobState::Queued));
    let delay = job.run_at - clock.now();
    assert!(delay >= ChronoDuration::seconds(47) && delay <= ChronoDuration::seconds(73), "{delay}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(jobs::get(&db, id).await.unwrap().unwrap().attempts, 1, "not before its time");
    clock.advance(ChronoDuration::seconds(80));
    for _ in 0..500 {
        let job = jobs::get(&db, id).await.unwrap().unwrap();
        if job.attempts == 2 && job.state == JobState::Queued {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let job = jobs::get(&db, id).await.unwrap().unwrap();
    assert_eq!((job.attempts, job.state), (2, JobState::Queued));
    let delay = job.run_at - clock.now();
    assert!(delay >= ChronoDuration::seconds(95) && delay <= ChronoDuration::seconds(145), "doubled: {delay}");
    shutdown.cancel();
    handle.await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_parked_as_dead_and_can_be_retried() {
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    let fixed = Arc::new(AtomicU32::new(0));
    let mut registry = JobRegistry::new();
    let f = fixed.clone();
    registry.register("test.broken", move |_ctx| {
        let f = f.clone();
        async move {
            if f.load(Ordering::SeqCst) == 0 { Err(JobError::retry("邮件服务器拒绝连接")) } else { Ok(()) }
        }
    });
    let (shutdown, handle) = start(&db, registry, fast());
    let id = enqueue(&db, NewJob::new("test.broken", ()).unwrap().max_attempts(3)).await;
    let job = wait_for(&db, id, JobState::Dead).await;
    assert_eq!(job.attempts, 3);
    assert_eq!(job.last_error.as_deref(), Some("邮件服务器拒绝连接"));
    assert_eq!(jobs::count_by_state(&db).await.unwrap().get(JobState::Dead), 1);
    fixed.store(1, Ordering::SeqCst);
    assert!(jobs::retry_dead(&db, id).await.unwrap());
    assert!(!jobs::retry_dead(&db, id).await.unwrap(), "only a dead job can be retried");
    let job = wait_for(&db, id, JobState::Done).await;
    assert_eq!(job.attempts, 1);
    shutdown.cancel();
    handle.await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn permanent_failures_bad_payloads_and_panics() {
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    let mut registry = JobRegistry::new();
    registry.register("test.permanent", |_ctx| async { Err(JobError::permanent("号码不存在")) });
    registry.register("test.typed", |ctx| async move {
        let _n: u32 = ctx.payload()?;
        Ok(())
    });
    registry.register("test.panics", |ctx| async move {
        assert!(ctx.attempt > 1, "first try panics");
        Ok(())
    });
    let (shutdown, handle) = start(&db, registry, fast());
    let permanent = enqueue(&db, NewJob::new("test.permanent", ()).unwrap()).await;
    let typed = enqueue(&db, NewJob::new("test.typed", "not a number").unwrap()).await;
    let panics = enqueue(&db, NewJob::new("test.panics", ()).unwrap()).await;
    let job = wait_for(&db, permanent, JobState::Dead).await;
    assert_eq!((job.attempts, job.last_error.as_deref()), (1, Some("号码不存在")));
    let job = wait_for(&db, typed, JobState::Dead).await;
    assert_eq!(job.attempts, 1);
    assert!(job.last_error.unwrap().contains("does not fit"));
    let job = wait_for(&db, panics, JobState::Done).await;
    assert_eq!(job.attempts, 2, "a panic fails the try, not the worker");
    shutdown.cancel();
    handle.await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn scheduled_jobs_wait_for_their_time() {
    let t = TestDatabase::new().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap());
    let db = open(&t, Some(clock.clone())).await;
    let mut registry = JobRegistry::new();
    registry.register("test.reminder", |_ctx| async { Ok(()) });
    let (shutdown, handle) = start(&db, registry, fast());
    let at = clock.now() + ChronoDuration::hours(23);
    let id = enqueue(&db, NewJob::new("test.reminder", ()).unwrap().run_at(at)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(jobs::get(&db, id).await.unwrap().unwrap().state, JobState::Queued);
    clock.set(at);
    let job = wait_for(&db, id, JobState::Done).await;
    assert_eq!(job.run_at, at);
    shutdown.cancel();
    handle.await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn a_deferred_job_waits_without_using_a_try() {
    let t = TestDatabase::new().await;
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 14, 30, 0).unwrap());
    let db = open(&t, Some(clock.clone())).await;
    let morning = Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap();
    let mut registry = JobRegistry::new();
    registry.register("test.quiet", move |ctx| async move {
        if ctx.db.now() < morning { Err(JobError::Defer(morning)) } else { Ok(()) }
    });
    let (shutdown, handle) = start(&db, registry, fast());
    let id = enqueue(&db, NewJob::new("test.quiet", ()).unwrap().max_attempts(1)).await;
    let mut job = jobs::get(&db, id).await.unwrap().unwrap();
    for _ in 0..500 {
        job = jobs::get(&db, id).await.unwrap().unwrap();
        if job.run_at == morning && job.state == JobState::Queued {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!((job.state, job.attempts, job.run_at), (JobState::Queued, 0, morning), "deferred, no try used");
    clock.set(morning);
    let job = wait_for(&db, id, JobState::Done).await;
    assert_eq!(job.attempts, 1, "one try allowed, one used");
    shutdown.cancel();
    handle.await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn the_workers_max_attempts_applies_to_jobs_that_set_none() {
    let t = TestDatabase::new().await;
    let db = open(&t, None).await;
    let mut registry = JobRegistry::new();
    registry.register("test.fail", |_ctx| async { Err(JobError::retry("down")) });
    let (shutdown, handle) = start(&db, registry, JobSettings { max_attempts: 2, ..fast() });
    let id = enqueue(&db, NewJob::new("test.fail", ()).unwrap()).await;
    let job = wait_for(&db, id, JobState::Dead).await;
    assert_eq!((job.attempts, job.max_attempts), (2, None));
    shutdown.cancel();
    handle.await.unwrap();
    t.cleanup().await;
}
