//! The enterprise's space home (`GET /account/home?enterprise=`: counts, tasks, the latest cases,
//! the project dossiers, and the counts of messages, materials, licences) for an enterprise with
//! 10,000 cases among 50,000, 8 signed-in clients at once for 10 seconds against a node in this
//! process (release build). First the plans of the home's statements are read (EXPLAIN): none
//! may scan the whole cases table. SQLite, or PostgreSQL when TEST_DATABASE_URL names one.
//!
//!   cargo bench -p govhall --bench space

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a benchmark stops at the first failure")]

#[path = "support/cloning.rs"]
mod cloning;
#[path = "../tests/suite/common/mod.rs"]
mod common;

use common::{APPLICANT_PHONE, CaseHall, PASSWORD};
use govhall_audit::Actor;
use govhall_cases::tasks::Whose;
use govhall_db::{Backend, exec, run, sqlx, sqlx::AssertSqlSafe};
use std::time::{Duration, Instant};

/// The enterprise's cases.
const CASES: i64 = 10_000;
/// Everyone else's.
const OTHERS: i64 = 40_000;
/// One in this many of the clones is open (the rest granted and closed).
const OPEN_EVERY: i64 = 10;
/// Real cases submitted first (their clones make up the rest); this many wait for 补齐补正.
const REAL: usize = 40;
const SUPPLEMENTS: usize = 10;
const PROJECTS: usize = 20;
const CLIENTS: usize = 8;
const SECONDS: u64 = 10;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let db = t.app.db();
    let backend = if db.backend() == Backend::Postgres { "PostgreSQL" } else { "SQLite" };
    let identity = t.app.identity();
    let cases = t.app.cases();
    let actor = Actor::system("bench");
    let enterprise = identity
        .register_enterprise(&actor, h.applicant, "91350100M000100Y43", "福州测试科技有限公司", "张三")
        .await
        .unwrap();
    let started = Instant::now();
    let submit = |key: String, for_enterprise: bool| {
        let s = govhall_cases::submit::Submission {
            item_code: h.item.item.code.clone(),
            applicant: h.applicant,
            enterprise: for_enterprise.then_some(enterprise),
            form: serde_json::json!({"申请事由": "新建厂房"}),
            materials: Vec::new(),
            idempotency_key: key,
        };
        async move { cases.submit(s).await.unwrap() }
    };
    let mut real = Vec::new();
    for i in 0..REAL {
        real.push(submit(format!("bench-{i}"), true).await);
    }
    let personal = submit("bench-personal".into(), false).await;
    let access = h.access(h.worker).await;
    for done in real.iter().take(SUPPLEMENTS) {
        for (step, note) in [("start_prereview", ""), ("request_supplement", "请补交营业执照副本")] {
            let action = govhall_cases::transition::Action {
                case: done.case_id,
                action: step.into(),
                note: note.into(),
                ..Default::default()
            };
            cases.act(govhall_cases::transition::By::Staff(&access, &actor), action).await.unwrap();
        }
    }
    // The bulk: the enterprise's, and everyone else's (the person's own cases stand for them).
    let per_template = (CASES - REAL as i64) / 4;
    for (n, done) in real.iter().skip(SUPPLEMENTS).take(4).enumerate() {
        cloning::clone_cases(db, done.case_id.as_uuid(), &format!("e{n}"), per_template, Some(OPEN_EVERY), None).await;
    }
    let someone = t.person("13700000991", &common::test_id_number(991)).await;
    cloning::clone_cases(db, personal.case_id.as_uuid(), "o", OTHERS, Some(OPEN_EVERY), Some(someone.as_uuid())).await;
    // Dossiers, each holding some of the real cases.
    let me = h.applicant;
    for p in 0..PROJECTS {
        let input = govhall_cases::projects::ProjectInput {
            name: format!("投资项目 {p}"),
            code: String::new(),
            scale_wan: "1000".into(),
            land_m2: "2000".into(),
            stage: String::new(),
        };
        let id = cases.create_project(&actor, me, enterprise, &input).await.unwrap();
        if let Some(done) = real.get(SUPPLEMENTS + 4 + p) {
            cases.add_project_case(&actor, me, id, &done.serial_number, "立项").await.unwrap();
        }
    }
    let mut conn = db.conn().await.unwrap();
    let analyze = if db.backend() == Backend::Postgres { "VACUUM ANALYZE" } else { "ANALYZE" };
    exec!(conn, sqlx::query(analyze)).unwrap();
    let counted: i64 = run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE enterprise_id = $1")
        .bind(enterprise.as_uuid())
        .fetch_one(&mut *c)
        .await)
    .unwrap();
    let all: i64 = run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(&mut *c).await).unwrap();
    println!(
        "{backend}: {counted} cases of the enterprise among {all}, made in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The plans: every statement of the home reads cases through an index.
    for whose in [Whose::Enterprise(enterprise), Whose::Person(me)] {
        for statement in govhall_cases::Cases::home_statements(whose) {
            let explain = if db.backend() == Backend::Postgres {
                format!("EXPLAIN {statement}")
            } else {
                format!("EXPLAIN QUERY PLAN {statement}")
            };
            let plan: Vec<String> = if db.backend() == Backend::Postgres {
                run!(conn, |c| sqlx::query_scalar(AssertSqlSafe(explain.clone())).fetch_all(&mut *c).await).unwrap()
            } else {
                let rows: Vec<(i64, i64, i64, String)> =
                    run!(conn, |c| sqlx::query_as(AssertSqlSafe(explain.clone())).fetch_all(&mut *c).await).unwrap();
                rows.into_iter().map(|r| r.3).collect()
            };
            let plan = plan.join("\n");
            let whole_table = plan.contains("Seq Scan on cases") || plan.lines().any(|l| l.trim() == "SCAN c");
            assert!(!whole_table, "a home statement scans every case:\n{statement}\n{plan}");
        }
    }
    println!("{backend}: the home's statements read cases through indexes (EXPLAIN)");
    drop(conn);

    let web = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let path = format!("/account/home?enterprise={enterprise}");
    let first = web.get(&path).await;
    assert_eq!(first.status(), reqwest::StatusCode::OK);
    let page = first.text().await.unwrap();
    assert!(page.contains(&format!("共 {counted} 件")), "the home counts every case");
    let until = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (web, path) = (web.clone(), path.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < until {
                let t0 = Instant::now();
                let res = web.get(&path).await;
                assert_eq!(res.status(), reqwest::StatusCode::OK);
                res.bytes().await.unwrap();
                latencies.push(t0.elapsed());
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
        "{backend}: enterprise home with {counted} cases: {:.0} pages/s ({CLIENTS} clients, {SECONDS} s); p50 {:.1} ms, p99 {:.1} ms",
        all.len() as f64 / SECONDS as f64,
        pct(0.50),
        pct(0.99)
    );
    // One client alone: the page's own time, without waiting for the others.
    let mut alone = Vec::new();
    for _ in 0..200 {
        let t0 = Instant::now();
        web.get(&path).await.bytes().await.unwrap();
        alone.push(t0.elapsed());
    }
    alone.sort();
    let at = |p: f64| alone[((alone.len() as f64 * p) as usize).min(alone.len() - 1)].as_secs_f64() * 1000.0;
    println!("{backend}: one client alone: p50 {:.1} ms, p99 {:.1} ms", at(0.50), at(0.99));
    h.t.stop().await;
}
