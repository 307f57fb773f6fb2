//! Payments: signed gateway notifications settled per second over HTTP (each one verifies its
//! signature, marks the order paid, moves the case out of 待缴费 and sends the payer's messages
//! in one transaction), 16 gateway connections at once against a node in this process (release
//! build); then the reconciliation of a 100,000-line statement streamed in 64 KB pieces against
//! 100,000 orders paid that day (1,000 of them never notified: settled by the run), with the
//! growth of the process's peak memory. SQLite, or PostgreSQL when TEST_DATABASE_URL names one.
//!
//!   cargo bench -p govhall --bench payments

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at the first failure")]

#[path = "../tests/suite/common/mod.rs"]
mod common;
#[path = "support/statements.rs"]
mod statements;

use common::paying::{fee_hall, submit};
use govhall_db::{run, sqlx};
use govhall_payments::Order;
use govhall_payments::gateway::protocol::{self, PaymentResult, Signer, WireReceipt, WireStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CASES: usize = 3000;
const CLIENTS: usize = 16;
const LINES: i64 = 100_000;
const UNNOTIFIED: i64 = 1_000;

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn notification(order: &Order, n: usize) -> Vec<u8> {
    serde_json::to_vec(&PaymentResult {
        merchant: order.merchant.clone(),
        notice_number: order.notice_number.clone(),
        trade_no: format!("BENCH{n:010}"),
        status: WireStatus::Success,
        amount_fen: order.total.fen(),
        currency: "CNY".into(),
        paid_at: Some(chrono::Utc::now()),
        bank: Some("中国银行".into()),
        receipt: Some(WireReceipt { code: "44010026".into(), number: format!("{n:010}"), check: "a1b2c3".into() }),
    })
    .unwrap()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    statements::install();
    let backend = if std::env::var("TEST_DATABASE_URL").is_ok() { "PostgreSQL" } else { "SQLite" };
    let a = fee_hall().await;
    let t = a.t();
    let payments = t.app.payments().clone();

    // Cases waiting at 待缴费, their orders issued by the worker.
    let mut cases = Vec::with_capacity(CASES);
    for i in 0..CASES {
        cases.push(submit(&a, &format!("bench-{i}"), "1").await.0);
    }
    let mut orders = Vec::with_capacity(CASES);
    for case in &cases {
        loop {
            let found = payments.case_orders_for_payer(a.hall.applicant, *case).await.unwrap();
            if let Some(o) = found.into_iter().next() {
                orders.push(o);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // Notifications: each order's, once, from 16 connections.
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(orders.iter().enumerate().map(|(i, o)| notification(o, i)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let url = t.url("/api/v1/payments/notifications");
    let started = Instant::now();
    let sandbox_key = govhall::app::sandbox_secret(t.app.identity());
    let workers = (0..CLIENTS).map(|_| {
        let (bodies, next, url, client) = (bodies.clone(), next.clone(), url.clone(), t.client.clone());
        let sandbox_key = sandbox_key.clone();
        tokio::spawn(async move {
            let key = Signer::HmacSm3(sandbox_key);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let s = key.sign(body, chrono::Utc::now());
                let res = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header(protocol::TIMESTAMP, s.timestamp)
                    .header(protocol::NONCE, s.nonce)
                    .header(protocol::SIGNATURE, s.signature)
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), reqwest::StatusCode::OK, "{}", res.text().await.unwrap());
            }
        })
    });
    futures::future::join_all(workers).await;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{backend}: {:.0} notifications/s ({CASES} orders paid, each with its case move and messages, {CLIENTS} connections, {elapsed:.1} s)",
        CASES as f64 / elapsed
    );
    let mut conn = t.app.db().conn().await.unwrap();
    let moved: i64 = run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM case_events WHERE action = 'paid'")
        .fetch_one(&mut *c)
        .await)
    .unwrap();
    assert_eq!(moved, CASES as i64, "every case moved once");
    drop(conn);

    // The statements of one settlement, alone (PostgreSQL: see support/statements.rs).
    if backend == "PostgreSQL" {
        let case = submit(&a, "bench-counted", "1").await.0;
        let order = loop {
            if let Some(o) = payments.case_orders_for_payer(a.hall.applicant, case).await.unwrap().into_iter().next() {
                break o;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let body = notification(&order, CASES);
        let signed = Signer::HmacSm3(sandbox_key.clone()).sign(&body, chrono::Utc::now());
        let (settled, n) = statements::count(payments.accept_notification(&signed, &body)).await;
        assert_eq!(settled.unwrap().effect, govhall_payments::Effect::Settled);
        println!("{backend}: {n} statements for one settlement (COMMIT included; BEGIN is not logged)");
        // Paid today like the others: the day's statement has it too (its trade number is the
        // one `notification` gave it, by its place).
        orders.push(order);
    }

    // Reconciliation: 100,000 orders paid today (made directly), 1,000 more never notified.
    let day = govhall_core::clock::china_date(t.app.db().now());
    let merchant = orders[0].merchant.clone();
    let case = cases[0].as_uuid();
    let payer = a.hall.applicant.as_uuid();
    let department = a.hall.item.item.department_id;
    let now = t.app.db().now();
    // The statement has the day's notified payments too.
    let mut statement = format!("{}\n", protocol::STATEMENT_HEADER);
    for (i, o) in orders.iter().enumerate() {
        statement.push_str(&format!(
            "{},BENCH{i:010},{},CNY,{},success,44010026,{i:010},a1b2c3\n",
            o.notice_number,
            o.total.fen(),
            now.to_rfc3339()
        ));
    }
    let number = |seq: i64| govhall_payments::notice::format("990000", day, seq).unwrap();
    for chunk in (1..=LINES + UNNOTIFIED).collect::<Vec<_>>().chunks(500) {
        let mut tx = t.app.db().begin().await.unwrap();
        for &seq in chunk {
            let paid = seq <= LINES;
            let state = if paid { "success" } else { "started" };
            govhall_db::exec!(
                tx,
                sqlx::query(
                    "INSERT INTO payment_orders (id, notice_number, case_id, step, payer_id, payer_name, department_id,
                        merchant, subject, total_fen, state, trade_no, paid_at, receipt_code, receipt_number, receipt_check,
                        expires_at, issued_by, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, '张*', $6, $7, '测试', 2000, $8, $9, $10, '44010026', $11, 'abc', $12,
                        'bench', $13, $13)"
                )
                .bind(uuid::Uuid::now_v7())
                .bind(number(seq))
                .bind(case)
                .bind(format!("bench_{seq}"))
                .bind(payer)
                .bind(department)
                .bind(&merchant)
                .bind(state)
                .bind(format!("TR{seq:012}"))
                .bind(paid.then_some(now))
                .bind(format!("{seq:010}"))
                .bind(now + chrono::Duration::days(3))
                .bind(now)
            )
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    for seq in 1..=LINES + UNNOTIFIED {
        statement.push_str(&format!(
            "{},TR{seq:012},2000,CNY,{},success,44010026,{seq:010},abc\n",
            number(seq),
            now.to_rfc3339()
        ));
    }
    let size = statement.len();
    let bytes = bytes::Bytes::from(statement.into_bytes());
    let pieces = || -> Vec<Result<Vec<u8>, govhall_payments::PaymentError>> {
        (0..bytes.len())
            .step_by(64 * 1024)
            .map(|i| Ok(bytes.slice(i..(i + 64 * 1024).min(bytes.len())).to_vec()))
            .collect()
    };
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = peak_rss_kb();
    let started = Instant::now();
    let actor = govhall_audit::Actor::system("bench");
    let rec = payments
        .reconcile_stream(day, &merchant, Box::pin(futures::stream::iter(pieces())), None, &actor)
        .await
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let after = peak_rss_kb();
    println!(
        "{backend}: reconciled a {}-line statement ({:.1} MB) in {elapsed:.1} s: {} matched, {} settled, {} discrepancies; peak RSS grew {:.1} MB",
        rec.statement_lines,
        size as f64 / 1e6,
        rec.matched,
        rec.settled,
        rec.discrepancies,
        (after.saturating_sub(before)) as f64 / 1024.0
    );
    if rec.discrepancies > 0 {
        let mut conn = t.app.db().conn().await.unwrap();
        let found: Vec<(String, String, String)> =
            govhall_db::run!(conn, |c| sqlx::query_as("SELECT kind, notice_number, detail FROM payment_discrepancies")
                .fetch_all(&mut *c)
                .await)
            .unwrap();
        drop(conn);
        println!("{backend}: discrepancies: {found:?}");
    }
    assert_eq!((rec.settled, rec.discrepancies), (UNNOTIFIED, 0));

    // The same day again: every line matches, nothing to settle (the matching alone).
    let started = Instant::now();
    let again = payments
        .reconcile_stream(day, &merchant, Box::pin(futures::stream::iter(pieces())), None, &actor)
        .await
        .unwrap();
    println!(
        "{backend}: reconciled the same day again in {:.1} s ({} matched, nothing to settle: the matching alone)",
        started.elapsed().as_secs_f64(),
        again.matched
    );
    assert_eq!((again.settled, again.discrepancies), (0, 0));
    a.hall.t.stop().await;
}
