//! The exchange with a department's system: cases collected per second (`GET
//! /api/v1/exchange/cases`, pages of 100, each page acknowledged, signed as docs/exchange.md
//! says, until 20,000 open cases are taken), then steps applied per second (`POST
//! /api/v1/exchange/events`, 16 senders at once for 10 s, one case each; then `POST
//! /api/v1/exchange/events/batch`, 4 senders, a hundred cases a batch), with p50 and p99.
//! Then the same department connected through a front database (a SQLite file, or a schema of
//! its own on PostgreSQL): the 20,000 cases written there per second, and 3,000 rows of steps
//! the department put in applied per second, by the worker's visits.
//! Release build, a node in this process; SQLite, or PostgreSQL when TEST_DATABASE_URL names one.
//!
//!   cargo bench -p govhall --bench exchange

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at the first failure")]

#[path = "support/cloning.rs"]
mod cloning;
#[path = "../tests/suite/common/mod.rs"]
mod common;

use common::CaseHall;
use govhall_audit::Actor;
use govhall_db::Backend;
use govhall_exchange::connect::{Connection, FrontDbConnection};
use govhall_exchange::signing;
use govhall_identity::DepartmentId;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CASES: i64 = 20_000;
const SENDERS: usize = 16;
const SECONDS: u64 = 10;
const FRONT_EVENTS: usize = 3_000;
const BATCH: usize = 100;
const BATCH_SENDERS: usize = 4;

/// A department's system: its key and signing key.
#[derive(Clone)]
struct System {
    client: reqwest::Client,
    base: String,
    key: String,
    secret: String,
}

impl System {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (reqwest::StatusCode, Value) {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
        let ts = chrono::Utc::now().timestamp().to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let text = signing::canonical(method.as_str(), path, &ts, &nonce, &bytes);
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("x-api-key", &self.key)
            .header(signing::TIMESTAMP, ts)
            .header(signing::NONCE, nonce)
            .header(signing::SIGNATURE, signing::sign(self.secret.as_bytes(), &text));
        if !bytes.is_empty() {
            r = r.header("content-type", "application/json").body(bytes);
        }
        let res = r.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

fn percentiles(mut all: Vec<Duration>) -> (f64, f64) {
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    (pct(0.50), pct(0.99))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let h = CaseHall::with_settings(|s| {
        s.database_max_connections = 40;
        s.exchange.max_page = 100;
        // The bench measures the exchange, not the guard against a runaway system.
        s.exchange.requests_per_minute = 100_000;
    })
    .await;
    let t = &h.t;
    let db = t.app.db();
    let backend = if db.backend() == Backend::Postgres { "PostgreSQL" } else { "SQLite" };

    // Open cases of one department, submitted before its system was connected.
    let (case, _, _) = h.submit("bench-template").await;
    cloning::clone_cases(db, case.as_uuid(), "x", CASES - 1, Some(1), None).await;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let connection = Connection {
        department,
        name: "压测部门系统".into(),
        service_number: 41,
        allowed_ips: String::new(),
        signed: true,
        alert_minutes: 0,
    };
    let started = Instant::now();
    let connected = t.app.exchange().connect(&Actor::system("bench"), connection).await.unwrap();
    println!(
        "{backend}: {} open cases queued at connection in {:.2} s",
        connected.queued,
        started.elapsed().as_secs_f64()
    );
    let system = System {
        client: t.client.clone(),
        base: t.url(""),
        key: connected.key,
        secret: connected.signing_key.unwrap(),
    };

    // Collecting: a page, then its acknowledgment, until nothing waits.
    let started = Instant::now();
    let mut serials = Vec::new();
    let mut pages = Vec::new();
    loop {
        let page_started = Instant::now();
        let (status, page) = system.send(reqwest::Method::GET, "/api/v1/exchange/cases?limit=100", None).await;
        assert!(status.is_success(), "{page}");
        let taken: Vec<String> =
            page["cases"].as_array().unwrap().iter().map(|c| c["serial_number"].as_str().unwrap().to_owned()).collect();
        if taken.is_empty() {
            break;
        }
        let (status, ack) = system
            .send(reqwest::Method::POST, "/api/v1/exchange/cases/ack", Some(&json!({"serial_numbers": taken})))
            .await;
        assert!(status.is_success(), "{ack}");
        pages.push(page_started.elapsed());
        serials.extend(taken);
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(serials.len() as i64, CASES, "every case collected once");
    let (p50, p99) = percentiles(pages);
    println!(
        "{backend}: collected {} cases in {seconds:.1} s: {:.0} cases/s (a page of 100 and its acknowledgment: p50 {p50:.0} ms, p99 {p99:.0} ms)",
        serials.len(),
        serials.len() as f64 / seconds
    );

    // Steps: each sender takes the next case and starts its pre-review.
    let serials = Arc::new(serials);
    let next = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(SECONDS);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..SENDERS {
        let (serials, next, system) = (serials.clone(), next.clone(), system.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while Instant::now() < until {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(serial) = serials.get(i) else { break };
                let body = json!({"idempotency_key": format!("bench-{i}"), "serial_number": serial,
                    "action": "start_prereview", "handler": "压测"});
                let one = Instant::now();
                let (status, answer) = system.send(reqwest::Method::POST, "/api/v1/exchange/events", Some(&body)).await;
                assert!(status.is_success(), "{answer}");
                times.push(one.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    let (p50, p99) = percentiles(times.clone());
    println!(
        "{backend}: {} steps applied in {seconds:.1} s by {SENDERS} senders: {:.0} events/s (p50 {p50:.0} ms, p99 {p99:.0} ms)",
        times.len(),
        times.len() as f64 / seconds
    );

    // Batches: each sender takes the next hundred cases and starts their pre-reviews in one
    // request, leaving enough for the front database.
    let reserve = serials.len().saturating_sub(FRONT_EVENTS);
    let until = Instant::now() + Duration::from_secs(SECONDS);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..BATCH_SENDERS {
        let (serials, next, system) = (serials.clone(), next.clone(), system.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while Instant::now() < until {
                let from = next.fetch_add(BATCH, Ordering::Relaxed);
                if from + BATCH > reserve {
                    break;
                }
                let events: Vec<Value> = (from..from + BATCH)
                    .map(|i| {
                        json!({"idempotency_key": format!("bench-{i}"), "serial_number": serials[i],
                            "action": "start_prereview", "handler": "压测"})
                    })
                    .collect();
                let one = Instant::now();
                let (status, answer) = system
                    .send(reqwest::Method::POST, "/api/v1/exchange/events/batch", Some(&json!({"events": events})))
                    .await;
                assert!(status.is_success(), "{answer}");
                let results = answer["results"].as_array().unwrap();
                assert!(results.iter().all(|r| r["ok"] == true), "{answer}");
                times.push(one.elapsed());
            }
            times
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    let (p50, p99) = percentiles(times.clone());
    println!(
        "{backend}: {} steps applied in batches of {BATCH} in {seconds:.1} s by {BATCH_SENDERS} senders: {:.0} events/s (a batch: p50 {p50:.0} ms, p99 {p99:.0} ms)",
        times.len() * BATCH,
        (times.len() * BATCH) as f64 / seconds
    );

    front_database(&h, department, &serials, next.load(Ordering::Relaxed).min(reserve)).await;
}

/// The front database's figures: the department reconnected through tables, every open case
/// written there, then rows of steps applied.
async fn front_database(h: &CaseHall, department: DepartmentId, serials: &[String], used: usize) {
    let t = &h.t;
    let db = t.app.db();
    let backend = if db.backend() == Backend::Postgres { "PostgreSQL" } else { "SQLite" };
    let actor = Actor::system("bench");
    t.app.exchange().disconnect(&actor, department).await.unwrap();
    // The queue starts afresh for the new connection (the API's system took every case).
    let mut tx = db.begin().await.unwrap();
    govhall_db::exec!(tx, govhall_db::sqlx::query("DELETE FROM exchange_outbox")).unwrap();
    tx.commit().await.unwrap();
    let location = govhall_db::testing::TestDatabase::new().await;
    std::fs::create_dir_all(location.data_dir()).unwrap();
    let url = location_url(&location);
    let c = FrontDbConnection { department, name: "压测前置库".into(), service_number: 42, url, alert_minutes: 0 };
    let queued = t.app.exchange().connect_front_db(&actor, c).await.unwrap();
    let started = Instant::now();
    let mut delivered = 0;
    while delivered < queued {
        let done = t.app.exchange().sync(department).await.unwrap();
        delivered += done.delivered;
        if done.skipped {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{backend}: wrote {delivered} cases into the front database in {seconds:.1} s: {:.0} cases/s",
        delivered as f64 / seconds
    );

    // The department's rows: a pre-review started on cases no step has moved yet.
    let front = govhall_db::Db::connect_external(&location_url(&location), db.clock()).await.unwrap();
    let mut tx = front.begin().await.unwrap();
    for (i, serial) in serials.iter().skip(used).take(FRONT_EVENTS).enumerate() {
        govhall_db::exec!(
            tx,
            govhall_db::sqlx::query(
                "INSERT INTO govhall_incoming_events (idempotency_key, serial_number, action, handler)
                 VALUES ($1, $2, 'start_prereview', '压测')"
            )
            .bind(format!("front-{i}"))
            .bind(serial)
        )
        .unwrap();
    }
    tx.commit().await.unwrap();
    let rows = serials.len().saturating_sub(used).min(FRONT_EVENTS) as u64;
    let started = Instant::now();
    let (mut applied, mut failed) = (0, 0);
    while applied + failed < rows {
        let done = t.app.exchange().sync(department).await.unwrap();
        applied += done.applied;
        failed += done.failed;
        if done.skipped {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(failed, 0, "every row applies");
    println!(
        "{backend}: applied {applied} rows of steps from the front database in {seconds:.1} s: {:.0} events/s",
        applied as f64 / seconds
    );
    location.cleanup().await;
}

fn location_url(location: &govhall_db::testing::TestDatabase) -> String {
    match &location.database_url {
        Some(url) => url.clone(),
        None => format!("sqlite:{}", location.data_dir().join("front.db").display()),
    }
}
