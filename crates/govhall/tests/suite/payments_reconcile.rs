//! Daily reconciliation over HTTP and in the domain, on SQLite and PostgreSQL: the sandbox's
//! statement settling a payment the hall was never told of, discrepancies listed, exported and
//! resolved by province-wide finance staff, idempotent re-runs; crafted statements with every
//! kind of discrepancy, broken files named by line, and a statement whose signature fails.

use crate::common;

use common::applying::ApplyHall;
use common::paying::{
    case_step, fee_hall, order_now, order_of, pay_on_sandbox, post_notification, start, submit, success, until_state,
};
use common::{APPLICANT_PHONE, Agent, PASSWORD, WORKER_PHONE};
use govhall_audit::Actor;
use govhall_db::{run, sqlx};
use govhall_identity::rbac::Grantee;
use govhall_identity::{Permission as P, Scope};
use govhall_payments::OrderState;
use govhall_payments::gateway::protocol::{self, Signer};
use reqwest::StatusCode;

const FINANCE_PHONE: &str = "13600000401";

/// A staff member with `payment.manage` over the whole province (reconciliation).
async fn finance(a: &ApplyHall) -> (Agent, govhall_identity::AccountId) {
    let t = a.t();
    let department = govhall_identity::DepartmentId::from_uuid(a.hall.item.item.department_id);
    let who = t.staff(FINANCE_PHONE, department).await;
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let role = identity.save_role(&actor, "finance", "财务对账", &[P::PaymentManage]).await.unwrap();
    identity.grant(&actor, role, Grantee::Account(who), Scope::All).await.unwrap();
    (t.sign_in(FINANCE_PHONE, PASSWORD).await, who)
}

#[tokio::test]
async fn the_daily_statement_settles_what_was_never_notified_and_lists_discrepancies() {
    let a = fee_hall().await;
    let t = a.t();
    let agent = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    // A: paid and notified. B: paid at the bank, the hall never told and nobody came back.
    // C: the hall was told of a payment the gateway has no record of.
    let (case_a, _) = submit(&a, "rec-a", "1").await;
    let (case_b, _) = submit(&a, "rec-b", "1").await;
    let (case_c, _) = submit(&a, "rec-c", "1").await;
    let (a1, b1, c1) = (order_of(&a, case_a, 1).await, order_of(&a, case_b, 1).await, order_of(&a, case_c, 1).await);
    let url = start(&agent, &a1).await;
    pay_on_sandbox(&t.client, &url, "pay", "once").await;
    until_state(&a, &a1, OrderState::Success).await;
    let url = start(&agent, &b1).await;
    pay_on_sandbox(&t.client, &url, "pay", "never").await;
    let (status, _) = post_notification(
        &t.client,
        &t.app.url(),
        &success(&c1, 2000, "CNY"),
        &govhall::app::sandbox_secret(t.app.identity()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(order_now(&a, &b1).await.state, OrderState::Started);

    // Reconciling the day (the job does it for yesterday at 03:00; here today's, directly).
    let today = govhall_core::clock::china_date(t.app.db().now());
    let actor = Actor::system("test");
    let rec = t.app.payments().reconcile(today, &actor).await.unwrap();
    assert_eq!((rec.statement_lines, rec.statement_fen), (2, 4000));
    assert_eq!((rec.hall_orders, rec.hall_fen), (2, 4000), "A and C were paid here before the run");
    assert_eq!((rec.matched, rec.settled, rec.discrepancies), (1, 1, 1));
    assert_eq!(order_now(&a, &b1).await.state, OrderState::Success, "B settled from the statement");
    assert_eq!(case_step(&a, case_b).await, "received");

    // Finance staff see the day, export it and resolve the discrepancy; others may not.
    let (finance, finance_id) = finance(&a).await;
    let page = finance.get("/admin/payments/reconciliation").await.text().await.unwrap();
    assert!(page.contains(&today.to_string()) && page.contains("缴费对账"));
    let page = finance.get(&format!("/admin/payments/reconciliation/{}", rec.id)).await.text().await.unwrap();
    assert!(page.contains(&c1.notice_number) && page.contains("大厅已入账、网关无记录"), "{page}");
    let xlsx = finance.get(&format!("/admin/payments/reconciliation/{}/export.xlsx", rec.id)).await;
    assert_eq!(xlsx.status(), StatusCode::OK);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let denied = worker.get(&format!("/admin/payments/reconciliation/{}", rec.id)).await;
    assert_eq!(
        denied.status(),
        StatusCode::FORBIDDEN,
        "a department's payment manager does not reconcile the province"
    );
    let finance_access = t.app.identity().access(finance_id).await.unwrap();
    let (_, items) = t.app.payments().reconciliation(&finance_access, rec.id).await.unwrap();
    let item = &items[0];
    let empty = finance
        .post(
            &format!("/admin/payments/discrepancies/{}/resolve", item.id),
            &[("note", " "), ("reconciliation", &rec.id.to_string())],
        )
        .await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let done = finance
        .post(
            &format!("/admin/payments/discrepancies/{}/resolve", item.id),
            &[("note", "已与网关核实，退款处理"), ("reconciliation", &rec.id.to_string())],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);

    // Running the day again changes nothing but the count of runs; the resolution stays.
    let again = t.app.payments().reconcile(today, &actor).await.unwrap();
    assert_eq!(again.id, rec.id);
    assert_eq!((again.matched, again.settled, again.discrepancies, again.runs), (2, 0, 1, 2));
    let page = finance.get(&format!("/admin/payments/reconciliation/{}", rec.id)).await.text().await.unwrap();
    assert!(page.contains("已与网关核实，退款处理"));
    assert!(!page.contains("标记已处理"), "no open discrepancy left");
    // Today cannot be run from the page (its statement is not complete); a bad date is named.
    let res = finance.post("/admin/payments/reconciliation", &[("day", &today.to_string())]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = finance.post("/admin/payments/reconciliation", &[("day", "昨天")]).await;
    assert!(res.text().await.unwrap().contains("YYYY-MM-DD"));
    let yesterday = (today - chrono::Duration::days(1)).to_string();
    let res = finance.post("/admin/payments/reconciliation", &[("day", &yesterday)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    a.hall.t.stop().await;
}

fn pieces(text: String) -> futures::stream::BoxStream<'static, Result<Vec<u8>, govhall_payments::PaymentError>> {
    // In small pieces, lines cut anywhere.
    let bytes = text.into_bytes();
    let chunks: Vec<Result<Vec<u8>, _>> = bytes.chunks(7).map(|c| Ok(c.to_vec())).collect();
    Box::pin(futures::stream::iter(chunks))
}

#[tokio::test]
async fn statements_are_read_strictly_and_every_kind_of_discrepancy_is_found() {
    let a = fee_hall().await;
    let t = a.t();
    let payments = t.app.payments();
    let actor = Actor::system("test");
    let (case_1, _) = submit(&a, "kind-1", "1").await;
    let (case_2, _) = submit(&a, "kind-2", "1").await;
    let (case_3, _) = submit(&a, "kind-3", "1").await;
    let (o1, o2, o3) = (order_of(&a, case_1, 1).await, order_of(&a, case_2, 1).await, order_of(&a, case_3, 1).await);
    // o1 paid here (trade T20261206000001); o2 cancelled; o3 payable.
    post_notification(
        &t.client,
        &t.app.url(),
        &success(&o1, 2000, "CNY"),
        &govhall::app::sandbox_secret(t.app.identity()),
    )
    .await;
    let agent = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    agent.post(&format!("/payments/{}/cancel", o2.id), &[]).await;
    let today = govhall_core::clock::china_date(t.app.db().now());
    let at = chrono::Utc::now().to_rfc3339();
    let unknown =
        govhall_payments::notice::format("440100", chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(), 5).unwrap();
    let line =
        |n: &str, trade: &str, fen: i64| format!("{n},{trade},{fen},CNY,{at},success,44010026,0000000009,ab12cd\n");
    let statement = format!(
        "{}\n{}{}{}{}{}{n1},R1,500,CNY,{at},refund,,,\n",
        protocol::STATEMENT_HEADER,
        line(&o1.notice_number, "T20261206000001", 2000),
        line(&o1.notice_number, "T-SECOND", 2000),
        line(&o2.notice_number, "T-CLOSED", 2000),
        line(&o3.notice_number, "T-WRONG", 1999),
        line(&unknown, "T-UNKNOWN", 100),
        n1 = o1.notice_number
    );
    let merchant = o1.merchant.clone();
    let rec = payments.reconcile_stream(today, &merchant, pieces(statement.clone()), None, &actor).await.unwrap();
    let access = govhall_identity::Access::default();
    assert!(payments.reconciliation(&access, rec.id).await.is_err(), "nobody without the permission");
    let mut conn = t.app.db().conn().await.unwrap();
    let kinds: Vec<(String, String)> = run!(conn, |c| sqlx::query_as(
        "SELECT notice_number, kind FROM payment_discrepancies WHERE reconciliation_id = $1 ORDER BY kind"
    )
    .bind(rec.id)
    .fetch_all(&mut *c)
    .await)
    .unwrap();
    drop(conn);
    let kinds: Vec<(&str, &str)> = kinds.iter().map(|(n, k)| (n.as_str(), k.as_str())).collect();
    assert_eq!(
        kinds,
        vec![
            (o3.notice_number.as_str(), "amount_mismatch"),
            (o2.notice_number.as_str(), "closed_order"),
            (o1.notice_number.as_str(), "duplicate"),
            (unknown.as_str(), "unknown_order"),
        ]
    );
    assert_eq!((rec.statement_lines, rec.matched, rec.settled), (5, 1, 0), "the refund line is not a payment");
    assert_eq!(order_now(&a, &o3).await.state, OrderState::Created, "a wrong amount settles nothing");

    // Broken files: named by line, nothing written.
    let broken = [
        ("", "缺少表头"),
        ("a,b,c\n", "第 1 行应为表头"),
        (&*format!("{}\n{}", protocol::STATEMENT_HEADER, "x,y\n"), "第 2 行应有 9 列"),
        (
            &*format!(
                "{}\n{}",
                protocol::STATEMENT_HEADER,
                line(&o3.notice_number, "T", 2000).replace("success", "paid")
            ),
            "第 2 行的状态",
        ),
        (&*format!("{}\n{}", protocol::STATEMENT_HEADER, "9".repeat(5000)), "字节"),
    ];
    for (text, expected) in broken {
        let e = payments.reconcile_stream(today, &merchant, pieces(text.to_owned()), None, &actor).await.unwrap_err();
        assert!(govhall_core::Coded::message(&e).contains(expected), "{expected}: {e}");
        assert_eq!(govhall_core::Coded::code(&e), "bad_gateway_message");
    }
    // A statement whose signature does not verify counts for nothing.
    let signed = Signer::HmacSm3(b"other".to_vec()).sign(statement.as_bytes(), chrono::Utc::now());
    let verifier =
        Signer::HmacSm3(govhall::app::sandbox_secret(t.app.identity())).verifier(&signed, chrono::Utc::now());
    let e = payments.reconcile_stream(today, &merchant, pieces(statement), Some(verifier), &actor).await.unwrap_err();
    assert_eq!(govhall_core::Coded::code(&e), "bad_signature");
    let runs: i64 = {
        let mut conn = t.app.db().conn().await.unwrap();
        run!(conn, |c| sqlx::query_scalar("SELECT CAST(runs AS BIGINT) FROM payment_reconciliations")
            .fetch_one(&mut *c)
            .await)
        .unwrap()
    };
    assert_eq!(runs, 1, "only the good statement was recorded");
    a.hall.t.stop().await;
}
