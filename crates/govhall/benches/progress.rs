//! The progress query over HTTP: `POST /api/v1/progress-queries` with right passwords for 200
//! cases, 32 concurrent clients for 10 seconds, against a node in this process (release build).
//! Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL names one. Prints queries per second
//! and latency percentiles; a query verifies an Argon2id hash, which is most of its cost.
//!
//!   cargo bench -p govhall --bench progress

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at the first failure")]

#[path = "../tests/suite/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

const CASES: usize = 200;
const CLIENTS: usize = 32;
const SECONDS: u64 = 10;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let backend = if std::env::var("TEST_DATABASE_URL").is_ok() { "PostgreSQL" } else { "SQLite" };
    let h = common::CaseHall::new().await;
    let started = Instant::now();
    let mut cases = Vec::with_capacity(CASES);
    for i in 0..CASES {
        let (_, serial, password) = h.submit(&format!("bench-{i}")).await;
        cases.push((serial, password));
    }
    let submit_secs = started.elapsed().as_secs_f64();
    println!(
        "{backend}: {CASES} cases submitted in {submit_secs:.1} s ({:.0}/s, one at a time)",
        CASES as f64 / submit_secs
    );
    let cases = Arc::new(cases);
    let url = h.t.url("/api/v1/progress-queries");
    let until = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (cases, url, client) = (cases.clone(), url.clone(), h.t.client.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = c;
            while Instant::now() < until {
                let (serial, password) = &cases[i % cases.len()];
                let body = serde_json::json!({"serial_number": serial, "query_password": password});
                let t = Instant::now();
                let res = client.post(&url).json(&body).send().await.unwrap();
                assert_eq!(res.status(), reqwest::StatusCode::OK);
                res.bytes().await.unwrap();
                latencies.push(t.elapsed());
                i += CLIENTS;
            }
            latencies
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "{backend}: {:.0} progress queries/s over HTTP ({CLIENTS} clients, {SECONDS} s); latency p50 {:.1} ms, p99 {:.1} ms",
        all.len() as f64 / SECONDS as f64,
        pct(0.50),
        pct(0.99)
    );
    h.t.stop().await;
}
