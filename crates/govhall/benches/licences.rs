//! Electronic licences: issuing with the decision (staff grant a case and its licence is
//! written in the same transaction: the case's move, holder, fields, number, SM2 signature,
//! encryption, the holder's messages, audit) and drawing its PDF, each timed one at a time (per
//! second and p99); then public verifications over HTTP (each reads the licence, decrypts it,
//! rebuilds the canonical form and checks the SM2 signature) from 16 connections against a node
//! in this process (release build). SQLite, or PostgreSQL when TEST_DATABASE_URL names one.
//!
//!   cargo bench -p govhall --bench licences

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at the first failure")]

#[path = "../tests/suite/common/mod.rs"]
mod common;

use common::licensing::licence_hall;
use govhall_cases::transition::{Action, By};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CASES: usize = 300;
const VERIFICATIONS: usize = 20_000;
const CLIENTS: usize = 16;

/// Per second and the 99th percentile (ms) of `times`.
fn figures(times: &mut [Duration]) -> (f64, f64) {
    times.sort();
    let total: f64 = times.iter().map(Duration::as_secs_f64).sum();
    let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)].as_secs_f64() * 1000.0;
    (times.len() as f64 / total, p99)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let backend = if std::env::var("TEST_DATABASE_URL").is_ok() { "PostgreSQL" } else { "SQLite" };
    let h = licence_hall().await;
    let licences = h.t.app.licences().clone();
    let access = h.access(h.worker).await;
    let actor = govhall_audit::Actor::system("审批人");
    let mut cases = Vec::with_capacity(CASES);
    for i in 0..CASES {
        let s = govhall_cases::submit::Submission {
            item_code: h.item.item.code.clone(),
            applicant: h.applicant,
            enterprise: None,
            form: serde_json::json!({"联系地址": format!("济南市历下区泉城路 {i} 号")}),
            materials: Vec::new(),
            idempotency_key: format!("bench-lic-{i}"),
        };
        let case = h.t.app.cases().submit(s).await.unwrap().case_id;
        for step in ["start_prereview", "accept", "start_review"] {
            let action = Action { case, action: step.into(), ..Action::default() };
            h.t.app.cases().act(By::Staff(&access, &actor), action).await.unwrap();
        }
        cases.push(case);
    }

    // Granting with the licence, one at a time.
    let mut times = Vec::with_capacity(CASES);
    let mut issued = Vec::with_capacity(CASES);
    for (i, case) in cases.iter().enumerate() {
        let fields = [("address".to_owned(), format!("济南市历下区经十路 {i} 号"))].into_iter().collect();
        let action = Action { case: *case, action: "grant".into(), ..Action::default() };
        let started = Instant::now();
        let (_, licence) = licences.decide(&access, &actor, action, &fields).await.unwrap();
        times.push(started.elapsed());
        issued.push(licence.expect("a licence"));
    }
    let (per_second, p99) = figures(&mut times);
    println!(
        "{backend}: {per_second:.0} grants with their licence/s (p99 {p99:.1} ms; move, signature, encryption, messages, audit; {CASES} one at a time)"
    );

    // Their PDFs, one at a time.
    let font = h.t.app.applications().font().unwrap();
    let mut times = Vec::with_capacity(CASES);
    for l in &issued {
        let started = Instant::now();
        let pdf = licences.pdf(h.applicant, l.id, font).await.unwrap();
        times.push(started.elapsed());
        assert!(pdf.starts_with(b"%PDF"));
    }
    let (per_second, p99) = figures(&mut times);
    println!("{backend}: {per_second:.0} licence PDFs drawn/s (p99 {p99:.1} ms; CJK font subset, QR code)");

    // Verifications over HTTP from 16 connections.
    let urls: Arc<Vec<String>> =
        Arc::new(issued.iter().map(|l| h.t.url(&format!("/api/v1/licence-verifications/{}", l.identifier))).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers = (0..CLIENTS).map(|_| {
        let (urls, next, client) = (urls.clone(), next.clone(), h.t.client.clone());
        tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= VERIFICATIONS {
                    break;
                }
                let asked = Instant::now();
                let res = client.get(&urls[i % urls.len()]).send().await.unwrap();
                assert_eq!(res.status(), reqwest::StatusCode::OK);
                let body = res.bytes().await.unwrap();
                assert!(body.windows(9).any(|w| w == b"\"genuine\""), "{}", String::from_utf8_lossy(&body));
                times.push(asked.elapsed());
            }
            times
        })
    });
    let mut times: Vec<Duration> =
        futures::future::join_all(workers).await.into_iter().flat_map(|t| t.unwrap()).collect();
    let elapsed = started.elapsed().as_secs_f64();
    times.sort();
    let p99 = times[times.len() * 99 / 100].as_secs_f64() * 1000.0;
    println!(
        "{backend}: {:.0} verifications/s over HTTP (p99 {p99:.1} ms; {VERIFICATIONS} from {CLIENTS} connections, signature checked each time)",
        VERIFICATIONS as f64 / elapsed
    );
    h.t.stop().await;
}
