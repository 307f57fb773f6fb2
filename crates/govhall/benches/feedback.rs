//! 好差评: evaluations submitted per second over the API (`POST /api/v1/me/cases/{serial}/
//! evaluation`, one finished case each, 32 clients at once for 10 s, one in twenty a 差评 that
//! opens a department's task), then the statistics pages over 1,000,000 evaluations spread over a
//! year (counts made in the database as the evaluations would make them): the department, item
//! and month breakdowns for the year and the guide page's satisfaction, p50 and p99. Release
//! build, a node in this process; SQLite, or PostgreSQL when TEST_DATABASE_URL names one.
//!
//!   cargo bench -p govhall --bench feedback

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at the first failure")]

#[path = "support/cloning.rs"]
mod cloning;
#[path = "../tests/suite/common/mod.rs"]
mod common;

use chrono::Datelike;
use common::{APPLICANT_PHONE, CaseHall, PASSWORD};
use govhall_audit::Actor;
use govhall_cases::transition::{Action, By};
use govhall_db::{Backend, exec, run, sqlx, sqlx::AssertSqlSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CASES: i64 = 40_000;
const CLIENTS: usize = 32;
const SECONDS: u64 = 10;
const EVALUATIONS: i64 = 1_000_000;
const ITEMS: i64 = 300;
const DEPARTMENTS: usize = 60;

fn percentiles(mut all: Vec<Duration>) -> (f64, f64) {
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    (pct(0.50), pct(0.99))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let h = CaseHall::with_settings(|s| s.database_max_connections = 40).await;
    let t = &h.t;
    let db = t.app.db();
    let backend = if db.backend() == Backend::Postgres { "PostgreSQL" } else { "SQLite" };
    let identity = t.app.identity();
    let system = Actor::system("bench");
    let supervise = identity
        .save_role(&system, "evaluation_supervisor", "好差评监督", &[govhall_identity::Permission::EvaluationSupervise])
        .await
        .unwrap();
    let everywhere = govhall_identity::rbac::Grantee::Account(h.supervisor);
    identity.grant(&system, supervise, everywhere, govhall_identity::Scope::All).await.unwrap();

    // A finished case, and its copies: every one waits for its rating.
    let (case, _, _) = h.submit("bench-template").await;
    let access = h.access(h.worker).await;
    let actor = Actor::system("审批人");
    for (step, note) in [("start_prereview", ""), ("accept", ""), ("grant_now", ""), ("deliver", "窗口领取")] {
        let action = Action { case, action: step.into(), note: note.into(), ..Action::default() };
        t.app.cases().act(By::Staff(&access, &actor), action).await.unwrap();
    }
    cloning::clone_cases(db, case.as_uuid(), "f", CASES, None, None).await;
    let mut conn = db.conn().await.unwrap();
    let serials: Vec<String> =
        run!(conn, |c| sqlx::query_scalar("SELECT serial_number FROM cases WHERE NOT is_open ORDER BY serial_number")
            .fetch_all(&mut *c)
            .await)
        .unwrap();
    drop(conn);
    println!("{backend}: {} finished cases to rate", serials.len());

    // Ratings over the API, each case once.
    let bearer = t.bearer(APPLICANT_PHONE).await;
    let serials = Arc::new(serials);
    let next = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (serials, next, bearer, client, base) =
            (serials.clone(), next.clone(), bearer.clone(), t.client.clone(), t.url(""));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(serial) = serials.get(i) else { break };
                let body = if i % 20 == 0 {
                    serde_json::json!({"overall": 2, "reasons": ["too_slow"]})
                } else {
                    serde_json::json!({"overall": 5, "efficiency": 5})
                };
                let t0 = Instant::now();
                let res = client
                    .post(format!("{base}/api/v1/me/cases/{serial}/evaluation"))
                    .header("authorization", &bearer)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), reqwest::StatusCode::CREATED, "{}", res.text().await.unwrap());
                res.bytes().await.unwrap();
                latencies.push(t0.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let n = all.len();
    let (p50, p99) = percentiles(all);
    println!(
        "{backend}: {:.0} evaluations/s over the API ({CLIENTS} clients, {SECONDS} s, {n} in all); p50 {p50:.1} ms, p99 {p99:.1} ms",
        n as f64 / SECONDS as f64
    );

    // 1,000,000 evaluations of a year, as counts (what the evaluations' transactions keep).
    let started = Instant::now();
    let mut conn = db.conn().await.unwrap();
    exec!(conn, sqlx::query("DELETE FROM evaluation_daily")).unwrap();
    exec!(conn, sqlx::query("DELETE FROM evaluation_monthly")).unwrap();
    let departments: Vec<uuid::Uuid> =
        run!(conn, |c| sqlx::query_scalar("SELECT id FROM departments").fetch_all(&mut *c).await).unwrap();
    drop(conn);
    let departments: Vec<uuid::Uuid> = departments.into_iter().cycle().take(DEPARTMENTS).collect();
    let today = govhall_core::clock::china_date(db.now());
    let first = today - chrono::Duration::days(364);
    // Per item and day, `share` evaluations: levels 5/4/3/2/1 at 80/12/5/2/1 %, channels web 50 %,
    // app 40 %, kiosk 10 %.
    let per_day_item = EVALUATIONS / (365 * ITEMS);
    let mix: [(i16, &str, i64); 6] =
        [(5, "web", 4), (5, "app", 3), (4, "web", 1), (3, "kiosk", 1), (2, "app", 0), (1, "web", 0)];
    let spread: i64 = mix.iter().map(|m| m.2).sum();
    let mut rows: Vec<(chrono::NaiveDate, String, uuid::Uuid, String, &str, i16, i64)> = Vec::new();
    let mut total = 0;
    for d in 0..365 {
        let day = first + chrono::Duration::days(d);
        for item in 0..ITEMS {
            let department = departments[(item as usize) % departments.len()];
            let region = format!("4401{:02}", item % 20);
            for (k, (level, channel, weight)) in mix.iter().enumerate() {
                // The rare levels come on some days only.
                let n = if *weight > 0 {
                    per_day_item * weight / spread
                } else {
                    i64::from((d + item + k as i64) % 7 == 0)
                };
                if n > 0 {
                    rows.push((day, format!("BENCH{item:04}"), department, region.clone(), *channel, *level, n));
                    total += n;
                }
            }
        }
    }
    for chunk in rows.chunks(1000) {
        for (table, at_month) in [("evaluation_daily", false), ("evaluation_monthly", true)] {
            let mut sql = format!(
                "INSERT INTO {table} ({}, item_code, department_id, region_code, channel, level, shard, n) VALUES ",
                if at_month { "month" } else { "day" }
            );
            for (i, _) in chunk.iter().enumerate() {
                let b = i * 7;
                sql.push_str(&format!(
                    "{}(${}, ${}, ${}, ${}, ${}, ${}, 0, ${})",
                    if i == 0 { "" } else { ", " },
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7
                ));
            }
            sql.push_str(&format!(
                " ON CONFLICT ({}, item_code, department_id, region_code, channel, level, shard) DO UPDATE SET n = {table}.n + EXCLUDED.n",
                if at_month { "month" } else { "day" }
            ));
            let mut conn = db.conn().await.unwrap();
            run!(conn, |c| {
                let mut q = sqlx::query(AssertSqlSafe(sql.clone()));
                for (day, item, department, region, channel, level, n) in chunk {
                    let at = if at_month { day.with_day(1).unwrap() } else { *day };
                    q = q.bind(at).bind(item).bind(department).bind(region).bind(*channel).bind(*level).bind(*n);
                }
                q.execute(&mut *c).await.map(|r| r.rows_affected())
            })
            .unwrap();
        }
    }
    let mut conn = db.conn().await.unwrap();
    let analyze = if db.backend() == Backend::Postgres { "VACUUM ANALYZE" } else { "ANALYZE" };
    exec!(conn, sqlx::query(analyze)).unwrap();
    let daily_rows: i64 =
        run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM evaluation_daily").fetch_one(&mut *c).await).unwrap();
    drop(conn);
    println!(
        "{backend}: {total} evaluations of a year as {daily_rows} daily count rows, made in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The pages: a supervisor's breakdowns of the year, and a guide's satisfaction.
    let supervisor = t.sign_in(common::SUPERVISOR_PHONE, PASSWORD).await;
    let year = format!("from={first}&to={today}");
    let current = format!("from={}&to={today}", today.with_day(1).unwrap_or(today));
    let pages = [
        ("部门（全年）", format!("/admin/evaluations/statistics?by=department&{year}")),
        ("事项（全年）", format!("/admin/evaluations/statistics?by=item&{year}")),
        ("月份（全年）", format!("/admin/evaluations/statistics?by=month&{year}")),
        ("部门（本月）", format!("/admin/evaluations/statistics?by=department&{current}")),
    ];
    for (name, path) in pages {
        let first = supervisor.get(&path).await;
        assert_eq!(first.status(), reqwest::StatusCode::OK);
        let mut times = Vec::new();
        for _ in 0..50 {
            let t0 = Instant::now();
            supervisor.get(&path).await.bytes().await.unwrap();
            times.push(t0.elapsed());
        }
        let (p50, p99) = percentiles(times);
        println!("{backend}: statistics by {name}: p50 {p50:.1} ms, p99 {p99:.1} ms");
    }
    let mut conn = db.conn().await.unwrap();
    let t0 = Instant::now();
    let mut times = Vec::new();
    for i in 0..200 {
        let code = format!("BENCH{:04}", i % ITEMS);
        let t1 = Instant::now();
        let _: Vec<(i16, i64)> = run!(conn, |c| sqlx::query_as(
            "SELECT level, CAST(SUM(n) AS BIGINT) FROM evaluation_monthly WHERE item_code = $1 GROUP BY level"
        )
        .bind(&code)
        .fetch_all(&mut *c)
        .await)
        .unwrap();
        times.push(t1.elapsed());
    }
    let (p50, p99) = percentiles(times);
    println!(
        "{backend}: an item's satisfaction (the guide page's query): p50 {p50:.2} ms, p99 {p99:.2} ms ({:.0} ms for 200)",
        t0.elapsed().as_secs_f64() * 1000.0
    );
    drop(conn);
    h.t.stop().await;
}
