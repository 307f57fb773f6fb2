//! Appointments: bookings per second (3,000 people booking at once, 32 at a time, through the
//! engine into the database: what capacity enforcement costs), then availability tables per second
//! over HTTP (`GET /api/v1/booking/services/{id}/availability`, 32 clients, 10 s). A node in this
//! process, release build; PostgreSQL when TEST_DATABASE_URL names one (scripts/bench-booking runs
//! it beside `pgbench -N`).
//!
//! On PostgreSQL it then books with one, two and three nodes on the same database (each node
//! its own pool and engine, 32 in flight in all), while a sampler reads `pg_stat_activity` every
//! few milliseconds and counts the sessions waiting for a lock, by kind: audited writes no
//! longer wait for one another (no advisory lock; the chains' heads are taken with SKIP LOCKED).
//!
//! Last, the statements one booking sends to the database, counted from sqlx's statement log
//! on PostgreSQL (`sqlx::query` events; COMMIT included, BEGIN is not logged) while one person
//! books alone.
//!
//! (`SHOW_STATEMENTS=1` prints them.)
//!
//!   cargo bench -p govhall --bench booking

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at the first failure")]

#[path = "../tests/suite/common/mod.rs"]
mod common;
#[path = "support/statements.rs"]
mod statements;

use chrono::Weekday;
use govhall_audit::Actor;
use govhall_booking::SlotId;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const PEOPLE: u32 = 3_000;
const AT_ONCE: usize = 32;
const SECONDS: u64 = 10;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    statements::install();
    let backend = if std::env::var("TEST_DATABASE_URL").is_ok() { "PostgreSQL" } else { "SQLite" };
    let t = common::TestApp::spawn().await;
    let all = vec![Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];
    let rule = govhall_booking::setup::Rule { weekdays: all, ..common::weekday_rule(9, 17, 30, 10_000) };
    let hall = t.booking_hall(1, &rule).await;
    let item = hall.items[0].clone();
    let booking = t.app.booking().clone();
    let service = hall.service;
    let table = booking.availability(service, t.app.db().now()).await.unwrap();
    let slots: Vec<_> = table.cells.iter().flatten().flatten().map(|s| s.id).collect();
    let mut people = Vec::new();
    for n in 0..PEOPLE {
        people.push(t.insert_person(n).await);
    }

    // Bookings: everyone at once, AT_ONCE in flight, spread over the slots of a week.
    let queue = Arc::new(std::sync::Mutex::new(people));
    let slots = Arc::new(slots);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..AT_ONCE {
        let (queue, slots, booking, item) = (queue.clone(), slots.clone(), booking.clone(), item.clone());
        workers.push(tokio::spawn(async move {
            let mut i = w;
            loop {
                let Some(person) = queue.lock().unwrap().pop() else { break };
                let actor = Actor { id: Some(person), label: "个人用户".into(), client_ip: String::new() };
                booking.book(person, &actor, slots[i % slots.len()], &item).await.unwrap();
                i += AT_ONCE;
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{backend}: {PEOPLE} bookings in {secs:.1} s = {:.0} bookings/s ({AT_ONCE} at once)",
        f64::from(PEOPLE) / secs
    );

    // Availability tables over HTTP.
    let url = t.url(&format!("/api/v1/booking/services/{service}/availability"));
    let until = Instant::now() + Duration::from_secs(SECONDS);
    let mut clients = Vec::new();
    for _ in 0..AT_ONCE {
        let (url, client) = (url.clone(), t.client.clone());
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let at = Instant::now();
                let res = client.get(&url).send().await.unwrap();
                assert!(res.status().is_success());
                res.bytes().await.unwrap();
                latencies.push(at.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.await.unwrap());
    }
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "{backend}: {:.0} availability tables/s over HTTP ({AT_ONCE} clients, {SECONDS} s, {} slots each); p50 {:.1} ms, p99 {:.1} ms",
        all.len() as f64 / SECONDS as f64,
        table.cells.iter().flatten().flatten().count(),
        pct(0.5),
        pct(0.99)
    );
    if backend == "PostgreSQL" {
        nodes(&t, &item, &slots).await;
    }

    // The statements of one booking, made alone (PostgreSQL: SQLite's statements are logged on
    // its connection's own thread, outside the counting task).
    if backend == "PostgreSQL" {
        let person = t.insert_person(PEOPLE * 3).await;
        let actor = Actor { id: Some(person), label: "个人用户".into(), client_ip: String::new() };
        let (booked, n) = statements::count(booking.book(person, &actor, slots[0], &item)).await;
        booked.unwrap();
        println!(
            "{backend}: {n} statements for one booking (COMMIT and the notice after it included; BEGIN is not logged)"
        );
    }
    t.stop().await;
}

/// Bookings with one, two and three nodes on this PostgreSQL, and the lock waits seen meanwhile.
async fn nodes(t: &common::TestApp, item: &str, slots: &Arc<Vec<SlotId>>) {
    const ROUND: u32 = 1_500;
    let mut extra = Vec::new();
    let mut next_person = PEOPLE;
    for n in 1..=3usize {
        while extra.len() + 1 < n {
            let dir = tempfile::tempdir().unwrap();
            let mut settings = common::settings(&t.db);
            settings.data_dir = dir.path().to_path_buf();
            settings.run_worker = false;
            let node = govhall::app::App::build(settings).await.unwrap();
            extra.push((node, dir));
        }
        let engines: Vec<_> = std::iter::once(t.app.booking().clone())
            .chain(extra.iter().map(|(node, _)| node.booking().clone()))
            .collect();
        let mut people = Vec::new();
        for p in next_person..next_person + ROUND {
            people.push(t.insert_person(p).await);
        }
        next_person += ROUND;
        let queue = Arc::new(std::sync::Mutex::new(people));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = tokio::spawn(sample_lock_waits(t.app.db().clone(), done.clone()));
        let started = Instant::now();
        let mut workers = Vec::new();
        for w in 0..AT_ONCE {
            let engine = engines[w % engines.len()].clone();
            let (queue, slots, item) = (queue.clone(), slots.clone(), item.to_owned());
            workers.push(tokio::spawn(async move {
                let mut i = w;
                loop {
                    let Some(person) = queue.lock().unwrap().pop() else { break };
                    let actor = Actor { id: Some(person), label: "个人用户".into(), client_ip: String::new() };
                    engine.book(person, &actor, slots[i % slots.len()], &item).await.unwrap();
                    i += AT_ONCE;
                }
            }));
        }
        for w in workers {
            w.await.unwrap();
        }
        let secs = started.elapsed().as_secs_f64();
        done.store(true, Ordering::Relaxed);
        let (samples, waits) = sampler.await.unwrap();
        let per_kind: Vec<String> =
            waits.iter().map(|(kind, count)| format!("{kind} {:.2}", *count as f64 / samples.max(1) as f64)).collect();
        println!(
            "PostgreSQL, {n} node(s) on one database: {ROUND} bookings in {secs:.1} s = {:.0} bookings/s; \
             sessions waiting for a lock per sample ({samples} samples): {}",
            f64::from(ROUND) / secs,
            if per_kind.is_empty() { "none".to_owned() } else { per_kind.join(", ") }
        );
    }
    for (node, dir) in extra {
        node.stop().await.unwrap();
        drop(dir);
    }
}

/// Samples `pg_stat_activity` until `done`: how many samples, and per lock kind (advisory,
/// tuple, transactionid, …) the sessions found waiting in all of them.
async fn sample_lock_waits(
    db: govhall_db::Db,
    done: Arc<std::sync::atomic::AtomicBool>,
) -> (u64, std::collections::BTreeMap<String, u64>) {
    let mut waits = std::collections::BTreeMap::new();
    let mut samples = 0;
    let mut conn = db.conn().await.unwrap();
    while !done.load(Ordering::Relaxed) {
        let rows: Vec<(String, i64)> = govhall_db::run!(conn, |c| govhall_db::sqlx::query_as(
            "SELECT wait_event, COUNT(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock' GROUP BY wait_event"
        )
        .fetch_all(&mut *c)
        .await)
        .unwrap();
        samples += 1;
        for (kind, count) in rows {
            *waits.entry(kind).or_insert(0) += u64::try_from(count).unwrap_or(0);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (samples, waits)
}
