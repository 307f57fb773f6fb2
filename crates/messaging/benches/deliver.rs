//! Throughput of the message center: enqueue 10,000 messages to the sandbox SMS channel and
//! deliver them with one worker, on SQLite (or on PostgreSQL when BENCH_DATABASE_URL is set).
//! Prints messages per second and the database rows written per message.
//!
//! `cargo bench -p govhall-messaging --bench deliver` (MESSAGES=n to change the count).
//! The target is at least 1,000 messages/s on SQLite on a 2-core machine.

#![expect(clippy::unwrap_used, reason = "a benchmark: failing loudly is right")]

use chrono::TimeZone;
use govhall_core::{ManualClock, Phone};
use govhall_db::jobs::{JobRegistry, JobSettings, Worker};
use govhall_db::{Backend, Db, DbOptions, exec, run};
use govhall_messaging::templates::{self, NewTemplate};
use govhall_messaging::{Channel, Messaging, MessagingSettings, OutgoingMessage, Recipient, send};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const TABLES: [&str; 3] = ["messages", "message_events", "jobs"];

fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn open(dir: &std::path::Path) -> Db {
    let noon = govhall_core::clock::CHINA.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    let mut options = DbOptions::new(std::env::var("BENCH_DATABASE_URL").ok(), dir.join("data"));
    options.clock = Arc::new(ManualClock::new(noon.with_timezone(&chrono::Utc)));
    options.max_connections = env_or("POOL", 16);
    let db = Db::connect(&options).await.unwrap();
    if db.backend() == Backend::Postgres {
        // A clean slate in the bench database.
        let mut conn = db.conn().await.unwrap();
        for table in [
            "message_events",
            "messages",
            "verification_codes",
            "message_templates",
            "jobs",
            "changes",
            "_sqlx_migrations",
        ] {
            let _ = exec!(
                conn,
                govhall_db::sqlx::query(govhall_db::sqlx::AssertSqlSafe(format!(
                    "DROP TABLE IF EXISTS {table} CASCADE"
                )))
            );
        }
    }
    db.migrate().await.unwrap();
    templates::create_version(
        &db,
        NewTemplate {
            code: "bench".into(),
            channel: Channel::Sms,
            subject: String::new(),
            body: "【政务服务】您的办件 {{ n }} 已受理。".into(),
            note: String::new(),
            created_by: "bench".into(),
        },
        &govhall_audit::Actor::system("bench"),
    )
    .await
    .unwrap();
    db
}

/// On SQLite, counts every row inserted, updated or deleted in the message tables with triggers
/// (used only in the small counting pass, so that they do not slow the timed one).
async fn install_counters(db: &Db) {
    let mut conn = db.conn().await.unwrap();
    exec!(conn, govhall_db::sqlx::query("CREATE TABLE bench_writes (n INTEGER NOT NULL)")).unwrap();
    exec!(conn, govhall_db::sqlx::query("INSERT INTO bench_writes VALUES (0)")).unwrap();
    for table in TABLES {
        for op in ["INSERT", "UPDATE", "DELETE"] {
            let sql = format!(
                "CREATE TRIGGER bench_{table}_{op} AFTER {op} ON {table} BEGIN UPDATE bench_writes SET n = n + 1; END"
            );
            exec!(conn, govhall_db::sqlx::query(govhall_db::sqlx::AssertSqlSafe(sql))).unwrap();
        }
    }
}

async fn delivered(db: &Db) -> i64 {
    let mut conn = db.conn().await.unwrap();
    run!(conn, |c| govhall_db::sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE status = 'delivered'")
        .fetch_one(&mut *c)
        .await)
    .unwrap()
}

/// Enqueues `n` messages in batches of 100 and delivers them; returns (enqueue, delivery) times.
async fn pass(db: &Db, n: usize) -> (Duration, Duration) {
    let mut settings = MessagingSettings::default();
    settings.sms.limits.rate_per_second = 0.0;
    let messaging = Messaging::new(settings).unwrap();
    let phone = Recipient::Phone(Phone::parse("13912345678").unwrap());
    let started = Instant::now();
    for batch in 0..n.div_ceil(100) {
        let mut tx = db.begin().await.unwrap();
        for i in batch * 100..((batch + 1) * 100).min(n) {
            let message = OutgoingMessage::new("bench", phone.clone(), serde_json::json!({ "n": i }));
            send(&mut tx, &messaging, message).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let enqueued = started.elapsed();
    let mut registry = JobRegistry::new();
    messaging.register_jobs(&mut registry);
    let jobs =
        JobSettings { concurrency: env_or("CONCURRENCY", 32) as usize, poll_interval_ms: 5, ..JobSettings::default() };
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(Worker::new(db.clone(), registry, jobs).run(shutdown.clone()));
    let started = Instant::now();
    while delivered(db).await < n as i64 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivery = started.elapsed();
    shutdown.cancel();
    worker.await.unwrap();
    (enqueued, delivery)
}

fn main() {
    let n: usize = std::env::var("MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path()).await;
        let backend = db.backend().name();
        let (enqueue, delivery) = pass(&db, n).await;
        let mut conn = db.conn().await.unwrap();
        let mut stored = 0i64;
        for table in TABLES {
            let count: i64 = run!(conn, |c| {
                govhall_db::sqlx::query_scalar(govhall_db::sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&mut *c)
                    .await
            })
            .unwrap();
            stored += count;
        }
        drop(conn);
        let per_sec = |d: Duration| n as f64 / d.as_secs_f64();
        println!(
            "backend: {backend}, messages: {n}, channel: sms (sandbox), worker concurrency: {}, pool: {}",
            env_or("CONCURRENCY", 32),
            env_or("POOL", 16)
        );
        println!("enqueue:     {:>8.0} messages/s ({:.2} s)", per_sec(enqueue), enqueue.as_secs_f64());
        println!("delivery:    {:>8.0} messages/s ({:.2} s)", per_sec(delivery), delivery.as_secs_f64());
        println!("end to end:  {:>8.0} messages/s", per_sec(enqueue + delivery));
        println!("rows stored per message: {:.2} (messages, message_events, jobs)", stored as f64 / n as f64);
        db.close().await;

        if backend == "sqlite" {
            // A small counting pass with triggers: every insert, update and delete.
            let count_dir = tempfile::tempdir().unwrap();
            let db = open(count_dir.path()).await;
            install_counters(&db).await;
            let sample = 500;
            pass(&db, sample).await;
            let mut conn = db.conn().await.unwrap();
            let writes: i64 =
                run!(conn, |c| govhall_db::sqlx::query_scalar("SELECT n FROM bench_writes").fetch_one(&mut *c).await)
                    .unwrap();
            println!(
                "rows written per message: {:.2} (inserts, updates and deletes, counted over {sample})",
                writes as f64 / sample as f64
            );
            drop(conn);
            db.close().await;
        }
    });
}
