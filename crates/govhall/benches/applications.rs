//! Full online applications over the JSON API: start a draft, save the answers, upload two 1 MB
//! PDFs (each streamed, sniffed, parsed and hashed), submit (the case with its serial number and
//! password). 16 applicants in parallel for 15 seconds against a node in this process (release
//! build); SQLite, or PostgreSQL when TEST_DATABASE_URL names one. First, the memory a single
//! upload at the size limit (10 MB) costs: the process's peak RSS is reset, the file streamed
//! from a generator, and the growth of the peak printed (it must stay far below the file).
//!
//!   cargo bench -p govhall --bench applications

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at the first failure")]

#[path = "../tests/suite/common/mod.rs"]
mod common;

use common::applying::{ApplyHall, pdf};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;
const SECONDS: u64 = 15;

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn answers() -> Value {
    json!({"answers": {"married": "否", "start": "2026-12-01", "end": "2026-12-31", "amount": "1000",
        "members": [{"name": "王五", "relation": "配偶"}], "promise": true,
        "address": {"province": "440000", "city": "440100", "county": "440106", "street": "体育西路 1 号"}}})
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let backend = if std::env::var("TEST_DATABASE_URL").is_ok() { "PostgreSQL" } else { "SQLite" };
    let a = ApplyHall::new().await;
    let t = a.t();
    let code = a.code.clone();
    let mut bearers = Vec::new();
    for i in 0..CLIENTS {
        let phone = format!("1370000{i:04}");
        t.person(&phone, &common::test_id_number(500 + i as u32)).await;
        bearers.push(t.bearer(&phone).await);
    }

    // Memory: one 10 MB upload, streamed in 64 KB chunks from a generator.
    let start: Value = t
        .client
        .post(t.url("/api/v1/applications"))
        .header("authorization", &bearers[0])
        .json(&json!({"item_code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = start["id"].as_str().unwrap().to_owned();
    let size = 10 * 1024 * 1024 - 1024;
    let file = bytes::Bytes::from(pdf(size));
    let chunks: Vec<Result<bytes::Bytes, std::io::Error>> =
        (0..file.len()).step_by(64 * 1024).map(|i| Ok(file.slice(i..(i + 64 * 1024).min(file.len())))).collect();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = peak_rss_kb();
    let res = t
        .client
        .post(t.url(&format!("/api/v1/applications/{id}/materials/0/files?name=big.pdf")))
        .header("authorization", &bearers[0])
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED, "{}", res.text().await.unwrap());
    let after = peak_rss_kb();
    println!(
        "{backend}: uploading a {:.1} MB file raised the peak RSS by {:.1} MB (the file itself is held once by this benchmark's client)",
        size as f64 / 1048576.0,
        after.saturating_sub(before) as f64 / 1024.0
    );
    t.client
        .delete(t.url(&format!("/api/v1/applications/{id}")))
        .header("authorization", &bearers[0])
        .send()
        .await
        .unwrap();

    // Throughput: whole applications, 16 at a time.
    let one_mb = bytes::Bytes::from(pdf(1 << 20));
    let until = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for bearer in bearers {
        let (client, base, code, one_mb) = (t.client.clone(), t.url(""), code.clone(), one_mb.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let began = Instant::now();
                let draft: Value = client
                    .post(format!("{base}/api/v1/applications"))
                    .header("authorization", &bearer)
                    .json(&json!({"item_code": code}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let id = draft["id"].as_str().unwrap().to_owned();
                let saved = client
                    .post(format!("{base}/api/v1/applications/{id}/answers"))
                    .header("authorization", &bearer)
                    .json(&answers())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(saved.status(), reqwest::StatusCode::OK);
                for slot in [0, 1] {
                    let res = client
                        .post(format!("{base}/api/v1/applications/{id}/materials/{slot}/files?name=m{slot}.pdf"))
                        .header("authorization", &bearer)
                        .body(one_mb.clone())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), reqwest::StatusCode::CREATED, "{}", res.text().await.unwrap());
                }
                let res = client
                    .post(format!("{base}/api/v1/applications/{id}/submission"))
                    .header("authorization", &bearer)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), reqwest::StatusCode::CREATED, "{}", res.text().await.unwrap());
                latencies.push(began.elapsed());
            }
            latencies
        }));
    }
    let mut all: Vec<Duration> = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "{backend}: {:.1} full applications/s (form + two 1 MB PDFs + submission, {CLIENTS} applicants, {SECONDS} s); p50 {:.0} ms, p99 {:.0} ms",
        all.len() as f64 / SECONDS as f64,
        pct(0.50),
        pct(0.99)
    );
    let ApplyHall { hall, .. } = a;
    hall.t.stop().await;
}
