//! Payments over HTTP, on SQLite and (with TEST_DATABASE_URL) PostgreSQL: fees on an item, a
//! case that waits at 待缴费, paying through the sandbox gateway (a real HTTP server speaking
//! the gateway protocol) with the browser's return answered from the gateway's query API, the
//! signed notification settling once however often it is replayed and on however many nodes,
//! forged and wrong notifications refused with stable codes, fees after the decision, expiry,
//! cancellation, re-issue and refunds that never exceed what was paid.

use crate::common;

use common::paying::{
    case_step, count, fee_hall, fee_hall_with, order_now, order_of, pay_on_sandbox, post_notification, start, submit,
    success, until_state,
};
use common::pdftotext;
use common::{APPLICANT_PHONE, PASSWORD, WORKER_PHONE};
use govhall_audit::Actor;
use govhall_cases::transition::{Action, By};
use govhall_core::Money;
use govhall_db::{run, sqlx};
use govhall_payments::gateway::protocol::{self, Signer};
use govhall_payments::{Order, OrderState};
use reqwest::StatusCode;
use std::time::Duration;

#[tokio::test]
async fn a_person_pays_on_the_gateway_and_the_case_moves_on_only_when_the_gateway_says_so() {
    let a = fee_hall().await;
    let t = a.t();
    let (case, serial) = submit(&a, "pay-1", "3").await;
    assert_eq!(case_step(&a, case).await, "pay_on_submission", "the case waits at 待缴费");

    // The order: 20.00 due at submission, a 20-digit notice number, three days to pay.
    let order = order_of(&a, case, 1).await;
    assert_eq!(order.total, Money::from_fen(2000).unwrap());
    assert_eq!(order.state, OrderState::Created);
    assert!(govhall_payments::notice::is_valid(&order.notice_number), "{}", order.notice_number);
    assert_eq!(order.lines.len(), 1);
    assert_eq!((order.lines[0].code.as_str(), order.lines[0].name.as_str()), ("103001", "工本费"));
    let hours = (order.expires_at - order.created_at).num_hours();
    assert_eq!(hours, 72);
    let outbox = t.app.messaging().sandbox_outbox().unwrap();
    for _ in 0..400 {
        if outbox.sent_to(APPLICANT_PHONE).iter().any(|m| m.body.contains(&order.notice_number)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        outbox
            .sent_to(APPLICANT_PHONE)
            .iter()
            .any(|m| m.body.contains(&order.notice_number) && m.body.contains("20.00"))
    );

    // The applicant finds it on the case page, confirms and goes to the gateway.
    let agent = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let page = agent.get("/account/cases").await.text().await.unwrap();
    assert!(page.contains("待缴费") && page.contains(&format!("/payments/{}", order.id)), "{page}");
    let page = agent.get(&format!("/account/cases/{serial}")).await.text().await.unwrap();
    assert!(page.contains("去缴费") && page.contains(&order.notice_number), "{page}");
    // The reminder waits for 24 hours before the expiry.
    let reminder = format!("payment:{}:reminder:sms", order.id.as_uuid());
    let mut conn = t.app.db().conn().await.unwrap();
    let (status, at): (String, chrono::DateTime<chrono::Utc>) =
        run!(conn, |c| sqlx::query_as("SELECT status, send_at FROM messages WHERE idempotency_key = $1")
            .bind(&reminder)
            .fetch_one(&mut *c)
            .await)
        .unwrap();
    drop(conn);
    assert_eq!((status.as_str(), at), ("created", order.expires_at - chrono::Duration::hours(24)));
    assert!(!page.contains("缴费完成"), "the applicant cannot take the payment step's own move");
    let page = agent.get(&format!("/payments/{}", order.id)).await.text().await.unwrap();
    assert!(page.contains("确认缴费 20.00 元"));
    let pay_url = start(&agent, &order).await;
    assert!(pay_url.starts_with(&format!("{}/sandbox-gateway/pay/", t.app.url())), "{pay_url}");
    assert_eq!(order_now(&a, &order).await.state, OrderState::Started);

    // The browser says nothing the hall believes: a forged return before paying changes nothing.
    let forged = agent.get(&format!("/payments/{}/return?status=success&amount_fen=2000", order.id)).await;
    assert!(forged.text().await.unwrap().contains("尚未收到支付结果"));
    assert_eq!(case_step(&a, case).await, "pay_on_submission");

    // Paid at the bank; the gateway never notifies: the return asks its query API.
    let back = pay_on_sandbox(&t.client, &pay_url, "pay", "never").await;
    assert_eq!(back, format!("{}/payments/{}/return", t.app.url(), order.id));
    let page = agent.get(&format!("/payments/{}/return", order.id)).await.text().await.unwrap();
    assert!(page.contains("缴费成功"), "{page}");
    let paid = order_now(&a, &order).await;
    assert_eq!(paid.state, OrderState::Success);
    let receipt = paid.receipt.clone().expect("an electronic receipt number");
    assert!(page.contains(&receipt.display()) && page.contains("中国建设银行"));
    assert_eq!(case_step(&a, case).await, "received", "the case moved on to 收件");
    let mut conn = t.app.db().conn().await.unwrap();
    let status: String = run!(conn, |c| sqlx::query_scalar("SELECT status FROM messages WHERE idempotency_key = $1")
        .bind(&reminder)
        .fetch_one(&mut *c)
        .await)
    .unwrap();
    drop(conn);
    assert_eq!(status, "cancelled", "no reminder once paid");
    // One SMS says it all (paid, the receipt, the step now): the case sends none of its own.
    for _ in 0..400 {
        if outbox.sent_to(APPLICANT_PHONE).iter().any(|m| m.body.contains(&receipt.display())) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let sms: Vec<_> = outbox.sent_to(APPLICANT_PHONE).into_iter().filter(|m| m.body.contains("缴纳")).collect();
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(sms[0].body.contains("办件已进入“收件”环节"), "{}", sms[0].body);
    assert!(!outbox.sent_to(APPLICANT_PHONE).iter().any(|m| m.body.contains("已缴费，进入")));
    let history = t.app.cases().history(case).await.unwrap();
    let moves: Vec<_> = history.iter().filter(|e| e.action == "paid").collect();
    assert_eq!(moves.len(), 1);
    assert!(moves[0].note.contains(&receipt.display()));
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'payment.paid' AND target_id = $1",
            &order.notice_number
        )
        .await,
        1
    );
    // The voucher: the receipt number, the lines and the total in capital numerals.
    let pdf = agent.get(&format!("/payments/{}/receipt.pdf", order.id)).await;
    if pdf.headers()["content-type"] != "application/pdf" {
        panic!("not a PDF: {}", pdf.text().await.unwrap());
    }
    let pdf = pdf.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    if let Ok(dir) = std::env::var("GOVHALL_SAVE_PRINTOUTS") {
        std::fs::write(std::path::Path::new(&dir).join("payment-voucher.pdf"), &pdf).unwrap();
    }
    if let Some(text) = pdftotext(&pdf) {
        for expected in
            [receipt.display().as_str(), &order.notice_number, "工本费", "贰拾元整", &serial, "中国建设银行"]
        {
            assert!(text.contains(expected), "{expected} in {text}");
        }
    } else {
        assert!(std::env::var("CI").is_err(), "CI installs pdftotext");
    }
    let unpaid_receipt = agent.get(&format!("/payments/{}/receipt.pdf", uuid::Uuid::now_v7())).await;
    assert_eq!(unpaid_receipt.status(), StatusCode::NOT_FOUND);
    // Paying again is refused: the order is paid.
    let again = agent.post(&format!("/payments/{}/start", order.id), &[]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // Staff decide; the per-copy fee falls due after the grant (3 × 5.00), notified this time.
    let worker = t.app.identity().access(a.hall.worker).await.unwrap();
    let actor = Actor { id: Some(a.hall.worker), label: "staff:审查员".into(), client_ip: String::new() };
    for step in ["start_prereview", "accept", "start_review", "grant"] {
        let action = Action { case, action: step.into(), ..Action::default() };
        t.app.cases().act(By::Staff(&worker, &actor), action).await.unwrap();
    }
    assert_eq!(case_step(&a, case).await, "pay_after_decision");
    let second = order_of(&a, case, 2).await;
    assert_eq!(second.total, Money::from_fen(1500).unwrap());
    assert_eq!(second.lines[0].code, "103002");
    let pay_url = start(&agent, &second).await;
    pay_on_sandbox(&t.client, &pay_url, "pay", "once").await;
    until_state(&a, &second, OrderState::Success).await;
    assert_eq!(case_step(&a, case).await, "decided", "办结 once the result is paid for");

    // Staff see both orders and refund, never beyond what was paid.
    let staff = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let page = staff.get(&format!("/admin/cases/{case}")).await.text().await.unwrap();
    assert!(page.contains(&order.notice_number) && page.contains(&second.notice_number) && page.contains("退款"));
    let too_much =
        staff.post(&format!("/admin/payments/{}/refund", order.id), &[("amount", "20.01"), ("reason", "多收")]).await;
    assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_much.text().await.unwrap().contains("20.00"));
    let no_reason =
        staff.post(&format!("/admin/payments/{}/refund", order.id), &[("amount", "5"), ("reason", " ")]).await;
    assert_eq!(no_reason.status(), StatusCode::BAD_REQUEST);
    let part = staff
        .post(&format!("/admin/payments/{}/refund", order.id), &[("amount", "5.00"), ("reason", "部分退费")])
        .await;
    assert_eq!(part.status(), StatusCode::SEE_OTHER);
    let o = order_now(&a, &order).await;
    assert_eq!((o.state, o.refunded.fen()), (OrderState::Success, 500));
    let rest =
        staff.post(&format!("/admin/payments/{}/refund", order.id), &[("amount", "15"), ("reason", "全部退费")]).await;
    assert_eq!(rest.status(), StatusCode::SEE_OTHER);
    let o = order_now(&a, &order).await;
    assert_eq!((o.state, o.refunded.fen()), (OrderState::Refunded, 2000));
    let page = staff.get(&format!("/admin/cases/{case}")).await.text().await.unwrap();
    assert!(
        page.contains("退款 5.00 元（部分退费）：已退款") && page.contains("退款 15.00 元（全部退费）：已退款"),
        "{page}"
    );
    let more =
        staff.post(&format!("/admin/payments/{}/refund", order.id), &[("amount", "0.01"), ("reason", "再退")]).await;
    assert_eq!(more.status(), StatusCode::CONFLICT);
    // Another department's staff and another person see nothing of it.
    let stranger = t.app.identity().access(a.hall.stranger).await.unwrap();
    let none = t.app.payments().case_orders_for_staff(&stranger, case).await;
    assert!(matches!(none, Err(govhall_payments::PaymentError::NotFound)));
    let other = t.person("13800000999", &common::test_id_number(9)).await;
    assert!(t.app.payments().payer_order(other, order.id).await.is_err());
    a.hall.t.stop().await;
}

#[tokio::test]
async fn notifications_are_verified_refused_with_codes_and_settle_once_across_nodes() {
    let a = fee_hall().await;
    let t = a.t();
    let (case, _) = submit(&a, "pay-2", "1").await;
    let order = order_of(&a, case, 1).await;
    let key = &govhall::app::sandbox_secret(t.app.identity());
    let base = t.app.url();

    // Forged or wrong: refused with a stable code, logged and audited, nothing changed.
    let (status, code) = post_notification(&t.client, &base, &success(&order, 2000, "CNY"), b"not-the-key").await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "bad_signature"));
    let mut unknown = order.clone();
    unknown.notice_number =
        govhall_payments::notice::format("440100", chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), 9).unwrap();
    let (status, code) = post_notification(&t.client, &base, &success(&unknown, 2000, "CNY"), key).await;
    assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "unknown_order"));
    let (status, code) = post_notification(&t.client, &base, &success(&order, 1999, "CNY"), key).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "amount_mismatch"));
    let (status, code) = post_notification(&t.client, &base, &success(&order, 2000, "USD"), key).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "currency_not_cny"));
    let garbage = t
        .client
        .post(format!("{base}/api/v1/payments/notifications"))
        .body("<xml>not json</xml>")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::FORBIDDEN, "unsigned");
    assert_eq!(order_now(&a, &order).await.state, OrderState::Created);
    assert_eq!(case_step(&a, case).await, "pay_on_submission");
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM payment_messages WHERE outcome = 'refused' AND notice_number = $1",
            &order.notice_number
        )
        .await,
        2,
        "the refusals about this order are logged (the unknown one under its own number; a bad signature in the server log only)"
    );
    assert!(
        count(
            &a,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'payment.notification_refused' AND result = $1",
            "failure"
        )
        .await
            == 3
    );

    // The right one, 100 times at once, spread over three nodes on PostgreSQL: one payment,
    // one move of the case, one message.
    let mut extra = Vec::new();
    if t.db.database_url.is_some() {
        for _ in 0..2 {
            extra.push(govhall::App::build(common::settings(&t.db)).await.unwrap());
        }
    }
    let bases: Vec<String> = std::iter::once(base.clone()).chain(extra.iter().map(|n| n.url())).collect();
    let body = success(&order, 2000, "CNY");
    let sandbox_key = govhall::app::sandbox_secret(t.app.identity());
    let sends = (0..100).map(|i| {
        let (client, base, body, key) =
            (t.client.clone(), bases[i % bases.len()].clone(), body.clone(), sandbox_key.clone());
        tokio::spawn(async move { post_notification(&client, &base, &body, &key).await })
    });
    for answer in futures::future::join_all(sends).await {
        assert_eq!(answer.unwrap(), (StatusCode::OK, "ok".to_owned()));
    }
    let paid = order_now(&a, &order).await;
    assert_eq!(paid.state, OrderState::Success);
    assert_eq!(paid.receipt.unwrap().display(), "44010026-0000000001-8a1b2c");
    assert_eq!(case_step(&a, case).await, "received");
    let moves = t.app.cases().history(case).await.unwrap().iter().filter(|e| e.action == "paid").count();
    assert_eq!(moves, 1, "one move of the case");
    let n = |sql| count(&a, sql, &order.notice_number);
    assert_eq!(n("SELECT COUNT(*) FROM payment_messages WHERE outcome = 'settled' AND notice_number = $1").await, 1);
    assert_eq!(n("SELECT COUNT(*) FROM payment_messages WHERE outcome = 'duplicate' AND notice_number = $1").await, 99);
    assert_eq!(n("SELECT COUNT(*) FROM audit_log WHERE action = 'payment.paid' AND target_id = $1").await, 1);
    let key = format!("payment:{}:paid:%", order.id.as_uuid());
    let paid_messages = count(&a, "SELECT COUNT(*) FROM messages WHERE idempotency_key LIKE $1", &key).await;
    assert_eq!(paid_messages, 2, "one inbox message and one SMS");
    for node in extra {
        node.stop().await.unwrap();
    }
    // A refund the gateway refuses (it never took this payment: the notification was the
    // test's) gives the amount back.
    let cashier = t.app.identity().access(a.hall.worker).await.unwrap();
    let actor = Actor { id: Some(a.hall.worker), label: "staff:审查员".into(), client_ip: String::new() };
    let (after, outcome) =
        t.app.payments().refund(&cashier, &actor, order.id, Money::from_fen(500).unwrap(), "测试").await.unwrap();
    assert_eq!(
        (outcome, after.refunded.fen(), after.state),
        (govhall_payments::RefundOutcome::Refused, 0, OrderState::Success)
    );
    a.hall.t.stop().await;
}

#[tokio::test]
async fn unpaid_orders_expire_and_are_reissued_cancelled_orders_refuse_late_payments() {
    let a = fee_hall().await;
    let t = a.t();
    let (case, _) = submit(&a, "pay-3", "1").await;
    let order = order_of(&a, case, 1).await;

    // Three days pass (the order's expiry and its job moved back).
    let past = t.app.db().now() - chrono::Duration::minutes(1);
    let mut conn = t.app.db().conn().await.unwrap();
    run!(conn, |c| sqlx::query("UPDATE payment_orders SET expires_at = $1 WHERE id = $2")
        .bind(past)
        .bind(order.id.as_uuid())
        .execute(&mut *c)
        .await
        .map(|_| ()))
    .unwrap();
    run!(conn, |c| sqlx::query("UPDATE jobs SET run_at = $1 WHERE kind = 'payment.expire' AND state = 'queued'")
        .bind(past)
        .execute(&mut *c)
        .await
        .map(|_| ()))
    .unwrap();
    drop(conn);
    let expired = until_state(&a, &order, OrderState::Expired).await;
    assert_eq!(expired.closed_note, "超过缴费期限未缴费");
    // A payment arriving now is refused; the gateway's query side of it is reconciliation's.
    let (status, code) = post_notification(
        &t.client,
        &t.app.url(),
        &success(&order, 2000, "CNY"),
        &govhall::app::sandbox_secret(t.app.identity()),
    )
    .await;
    assert_eq!((status, code.as_str()), (StatusCode::CONFLICT, "payment_order_expired"));
    let agent = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let res = agent.post(&format!("/payments/{}/start", order.id), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(case_step(&a, case).await, "pay_on_submission");

    // Staff re-issue: a new number; the applicant cancels it; staff re-issue again.
    let staff = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let page = staff.get(&format!("/admin/cases/{case}")).await.text().await.unwrap();
    assert!(page.contains("重新开具缴款单"), "{page}");
    let res = staff.post(&format!("/admin/cases/{case}/payment-orders"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let second = order_of(&a, case, 2).await;
    assert_ne!(second.notice_number, order.notice_number);
    assert_eq!(second.state, OrderState::Created);
    let twice = staff.post(&format!("/admin/cases/{case}/payment-orders"), &[]).await;
    assert_eq!(twice.status(), StatusCode::CONFLICT, "one payable order at a time");
    let res = agent.post(&format!("/payments/{}/cancel", second.id), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(order_now(&a, &second).await.state, OrderState::Cancelled);
    let (status, _) = post_notification(
        &t.client,
        &t.app.url(),
        &success(&second, 2000, "CNY"),
        &govhall::app::sandbox_secret(t.app.identity()),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let res = staff.post(&format!("/admin/cases/{case}/payment-orders"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let third = order_of(&a, case, 3).await;
    // A failed attempt can be paid again.
    let pay_url = start(&agent, &third).await;
    let back = pay_on_sandbox(&t.client, &pay_url, "fail", "once").await;
    until_state(&a, &third, OrderState::Failed).await;
    let page = agent.get(&back.replace(&t.app.url(), "")).await.text().await.unwrap();
    assert!(page.contains("支付未成功"), "{page}");
    let pay_url = start(&agent, &third).await;
    pay_on_sandbox(&t.client, &pay_url, "pay", "twice").await;
    until_state(&a, &third, OrderState::Success).await;
    assert_eq!(case_step(&a, case).await, "received");
    a.hall.t.stop().await;
}

#[tokio::test]
async fn only_a_payment_moves_a_case_out_of_its_payment_step_and_withdrawing_voids_the_order() {
    let a = fee_hall().await;
    let t = a.t();
    let (case, serial) = submit(&a, "void-1", "1").await;
    let order = order_of(&a, case, 1).await;
    let agent = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    // The applicant cannot take the payment step's own move, whatever the form says.
    let res = agent.post(&format!("/account/cases/{serial}/act"), &[("action", "paid"), ("note", "")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(case_step(&a, case).await, "pay_on_submission");
    // The sandbox takes payments for this hall only: no other address to post to or return to.
    let gateway = govhall_payments::gateway::HttpGateway::new(
        &format!("{}/sandbox-gateway", t.app.url()),
        Signer::HmacSm3(govhall::app::sandbox_secret(t.app.identity())),
    )
    .unwrap();
    use govhall_payments::gateway::Gateway as _;
    for (notify, back) in [
        ("http://203.0.113.5/steal".to_owned(), t.url("/ok")),
        (t.url("/api/v1/payments/notifications"), "javascript:alert(1)".to_owned()),
    ] {
        let request = protocol::CreatePayment {
            merchant: order.merchant.clone(),
            notice_number: order.notice_number.clone(),
            amount_fen: 2000,
            currency: "CNY".into(),
            items: Vec::new(),
            payer: "张*".into(),
            subject: "测试".into(),
            notify_url: notify,
            return_url: back,
            expires_at: order.expires_at,
        };
        let refused = gateway.create(&request).await.unwrap_err();
        assert_eq!(govhall_core::Coded::code(&refused), "gateway_unavailable", "{refused}");
    }
    // Withdrawing voids the order: it cannot be paid, and it says why.
    let res = agent.post(&format!("/account/cases/{serial}/act"), &[("action", "withdraw"), ("note", "")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let void = until_state(&a, &order, OrderState::Cancelled).await;
    assert_eq!(void.closed_note, "办件已撤回，缴款单作废");
    let res = agent.post(&format!("/payments/{}/start", order.id), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    a.hall.t.stop().await;
}

#[tokio::test]
async fn the_payments_api_lists_starts_and_reports_orders() {
    let a = fee_hall().await;
    let t = a.t();
    let (case, serial) = submit(&a, "pay-4", "2").await;
    let order = order_of(&a, case, 1).await;
    let bearer = t.bearer(APPLICANT_PHONE).await;
    let list: serde_json::Value = t
        .client
        .get(t.url(&format!("/api/v1/me/cases/{serial}/payment-orders")))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["notice_number"], order.notice_number.as_str());
    assert_eq!((list[0]["total_fen"].as_i64(), list[0]["state"].as_str()), (Some(2000), Some("created")));
    let started: serde_json::Value = t
        .client
        .post(t.url(&format!("/api/v1/payment-orders/{}/start", order.id)))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pay_url = started["pay_url"].as_str().unwrap().to_owned();
    pay_on_sandbox(&t.client, &pay_url, "pay", "never").await;
    let status: serde_json::Value = t
        .client
        .get(t.url(&format!("/api/v1/payment-orders/{}", order.id)))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "success", "asked the gateway: {status}");
    assert!(status["receipt_number"].as_str().is_some_and(|r| r.len() > 10));
    // Someone else's order: not found.
    t.person("13800000998", &common::test_id_number(8)).await;
    let stranger = t.bearer("13800000998").await;
    let res = t
        .client
        .get(t.url(&format!("/api/v1/payment-orders/{}", order.id)))
        .header("authorization", &stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    a.hall.t.stop().await;
}

#[tokio::test]
async fn a_gateway_signing_with_sm2_is_trusted_by_its_public_key_alone() {
    use govhall_payments::gateway::protocol::{SM2_DEFAULT_ID, new_sm2_key_pem};
    let (hall_private, hall_public) = new_sm2_key_pem().unwrap();
    let (gateway_private, gateway_public) = new_sm2_key_pem().unwrap();
    // The gateway: a sandbox of its own, signing with SM2, over real HTTP.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let signer = Signer::sm2_from_pem(&gateway_private, &hall_public, SM2_DEFAULT_ID).unwrap();
    let sandbox = govhall_web::sandbox_gateway::SandboxGateway::with_signer(signer, &base, None);
    let server = tokio::spawn(async move { axum::serve(listener, sandbox.router()).await });
    let keys = tempfile::tempdir().unwrap();
    let (private_file, public_file) = (keys.path().join("hall.pem"), keys.path().join("gateway.pub.pem"));
    std::fs::write(&private_file, &hall_private).unwrap();
    std::fs::write(&public_file, &gateway_public).unwrap();
    let a = fee_hall_with(|s| {
        s.payments.gateway_url = base.clone();
        s.payments.gateway_signature = "sm2".into();
        s.payments.hall_private_key = private_file.display().to_string();
        s.payments.gateway_public_key = public_file.display().to_string();
    })
    .await;
    let t = a.t();
    let (case, _) = submit(&a, "sm2-1", "1").await;
    let order = order_of(&a, case, 1).await;
    let agent = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let pay_url = start(&agent, &order).await;
    assert!(pay_url.starts_with(&base), "the configured gateway: {pay_url}");
    // A notification signed with the old shared key is refused; the gateway's SM2 one pays.
    let (status, code) = post_notification(
        &t.client,
        &t.app.url(),
        &success(&order, 2000, "CNY"),
        &govhall::app::sandbox_secret(t.app.identity()),
    )
    .await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "bad_signature"));
    pay_on_sandbox(&t.client, &pay_url, "pay", "once").await;
    let paid = until_state(&a, &order, OrderState::Success).await;
    assert!(paid.receipt.is_some());
    assert_eq!(case_step(&a, case).await, "received");
    // The statement, signed with SM2 over its digest, reconciles.
    let today = govhall_core::clock::china_date(t.app.db().now());
    let rec = t.app.payments().reconcile(today, &Actor::system("test")).await.unwrap();
    assert_eq!((rec.statement_lines, rec.matched, rec.discrepancies), (1, 1, 0));
    // The gateway goes away in the middle of a refund: the refund waits for its answer and the
    // amount stays reserved (a lost answer never frees it for a second refund).
    server.abort();
    let _ = server.await;
    let cashier = t.app.identity().access(a.hall.worker).await.unwrap();
    let actor = Actor { id: Some(a.hall.worker), label: "staff:审查员".into(), client_ip: String::new() };
    let (after, outcome) =
        t.app.payments().refund(&cashier, &actor, order.id, Money::from_fen(1000).unwrap(), "测试").await.unwrap();
    assert_eq!(outcome, govhall_payments::RefundOutcome::Pending);
    assert_eq!((after.refunded.fen(), after.refundable().fen()), (1000, 1000));
    let too_much = t.app.payments().refund(&cashier, &actor, order.id, Money::from_fen(1001).unwrap(), "再退").await;
    assert!(matches!(too_much, Err(govhall_payments::PaymentError::RefundTooLarge(_))));
    a.hall.t.stop().await;
}

#[test]
fn payment_settings_name_what_is_wrong() {
    let mut s = govhall_payments::PaymentSettings::default();
    assert!(s.check().is_ok(), "the sandbox needs nothing");
    s.gateway_url = "https://pay.example.gov.cn".into();
    assert!(govhall_core::Coded::message(&s.check().unwrap_err()).contains("gateway_secret"));
    s.gateway_signature = "sm2".into();
    assert!(govhall_core::Coded::message(&s.check().unwrap_err()).contains("hall_private_key"));
    s.hall_private_key = "/nonexistent/hall.pem".into();
    s.gateway_public_key = "/nonexistent/gw.pem".into();
    assert!(govhall_core::Coded::message(&s.signer(b"sandbox").unwrap_err()).contains("/nonexistent/hall.pem"));
    s.gateway_signature = "rsa".into();
    assert!(govhall_core::Coded::message(&s.check().unwrap_err()).contains("hmac-sm3 或 sm2"));
}

#[tokio::test]
async fn an_enterprises_orders_wait_in_every_active_members_list() {
    let a = fee_hall().await;
    let t = a.t();
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let enterprise = identity
        .register_enterprise(&actor, a.hall.applicant, "91350100M000100Y43", "福州测试科技有限公司", "张三")
        .await
        .unwrap();
    let colleague = t.person("13800000777", &common::test_id_number(7)).await;
    let outsider = t.person("13800000778", &common::test_id_number(17)).await;
    identity.invite_member(&actor, enterprise, a.hall.applicant, "13800000777", "agent").await.unwrap();
    identity.accept_invitation(&actor, enterprise, colleague).await.unwrap();
    let s = govhall_cases::submit::Submission {
        item_code: a.code.clone(),
        applicant: a.hall.applicant,
        enterprise: Some(enterprise),
        form: serde_json::json!({"copies": "1"}),
        materials: Vec::new(),
        idempotency_key: "enterprise-1".into(),
    };
    let case = t.app.cases().submit(s).await.unwrap().case_id;
    let order = order_of(&a, case, 1).await;
    let payments = t.app.payments();
    let listed = |orders: Vec<Order>| orders.iter().any(|o| o.id == order.id);
    assert!(listed(payments.payable_for(a.hall.applicant).await.unwrap()));
    assert!(listed(payments.payable_for(colleague).await.unwrap()), "an active member of the enterprise");
    assert!(!listed(payments.payable_for(outsider).await.unwrap()));
    assert!(payments.payer_order(colleague, order.id).await.is_ok());
    assert!(payments.payer_order(outsider, order.id).await.is_err());
    a.hall.t.stop().await;
}
