//! Appointments: bookings per second (3,000 people booking at once, 32 at a time, through the
//! engine into the database: what capacity enforcement costs), then availability tables per second
//! over HTTP (`GET /api/v1/booking/services/{id}/availability`, 32 clients, 10 s). A node in this
//! process, release build; PostgreSQL when TEST_DATABASE_URL names one (scripts/bench-booking runs
//! it beside `pgbench -N`).
//!
//!   cargo bench -p govhall --bench booking

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at the first failure")]

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::Weekday;
use govhall_audit::Actor;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PEOPLE: u32 = 3_000;
const AT_ONCE: usize = 32;
const SECONDS: u64 = 10;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
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
    t.stop().await;
}
