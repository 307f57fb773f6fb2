//! A hall whose item has fees: 20.00 at submission, 5.00 per copy after a granting decision.

use super::Agent;
use super::applying::ApplyHall;
use govhall_audit::Actor;
use govhall_cases::CaseId;
use govhall_db::{run, sqlx};
use govhall_identity::rbac::Grantee;
use govhall_identity::{Permission as P, Scope};
use govhall_payments::gateway::protocol::{self, PaymentResult, Signer, WireReceipt, WireStatus};
use govhall_payments::{Order, OrderState};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// A hall whose item charges 20.00 at submission and 5.00 per copy after a granting decision.
pub async fn fee_hall() -> ApplyHall {
    fee_hall_with(|_| {}).await
}

/// The same on a node whose settings `change` changes.
pub async fn fee_hall_with(change: impl FnOnce(&mut govhall::Settings)) -> ApplyHall {
    let a = ApplyHall::from(super::CaseHall::with_settings(change).await).await;
    let mut content = a.hall.item.content.clone();
    let mut form: serde_json::Value = super::applying::test_form();
    form["sections"][1]["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "copies", "label": "证书份数", "type": "number", "required": true, "min": 1, "max": 10}));
    content.form = Some(serde_json::from_value(form).unwrap());
    content.fees = vec![
        govhall_catalog::model::Fee::parse_line("工本费|103001|20.00").unwrap(),
        govhall_catalog::model::Fee::parse_line("证书费|103002|5.00|按件:copies|先审后缴").unwrap(),
    ];
    a.publish(&content).await;
    let identity = a.t().app.identity();
    let actor = Actor::system("test");
    let role = identity.save_role(&actor, "cashier", "缴费管理", &[P::PaymentManage, P::PaymentRefund]).await.unwrap();
    identity.grant(&actor, role, Grantee::Account(a.hall.worker), Scope::Department).await.unwrap();
    a
}

pub async fn submit(a: &ApplyHall, key: &str, copies: &str) -> (CaseId, String) {
    let s = govhall_cases::submit::Submission {
        item_code: a.code.clone(),
        applicant: a.hall.applicant,
        enterprise: None,
        form: json!({"copies": copies}),
        materials: Vec::new(),
        idempotency_key: key.into(),
    };
    let done = a.t().app.cases().submit(s).await.unwrap();
    (done.case_id, done.serial_number)
}

/// Waits for the worker to issue the `nth` order (from 1) of a case.
pub async fn order_of(a: &ApplyHall, case: CaseId, nth: usize) -> Order {
    for _ in 0..400 {
        let orders = a.t().app.payments().case_orders_for_payer(a.hall.applicant, case).await.unwrap();
        if orders.len() >= nth {
            return orders[orders.len() - nth].clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("order {nth} of the case was not issued");
}

pub async fn order_now(a: &ApplyHall, order: &Order) -> Order {
    a.t().app.payments().payer_order(a.hall.applicant, order.id).await.unwrap()
}

pub async fn until_state(a: &ApplyHall, order: &Order, state: OrderState) -> Order {
    for _ in 0..400 {
        let now = order_now(a, order).await;
        if now.state == state {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("order {} never reached {state:?}", order.notice_number);
}

pub async fn case_step(a: &ApplyHall, case: CaseId) -> String {
    let mut conn = a.t().app.db().conn().await.unwrap();
    run!(conn, |c| sqlx::query_scalar("SELECT step FROM cases WHERE id = $1")
        .bind(case.as_uuid())
        .fetch_one(&mut *c)
        .await)
    .unwrap()
}

pub async fn count(a: &ApplyHall, sql: &'static str, notice: &str) -> i64 {
    let mut conn = a.t().app.db().conn().await.unwrap();
    run!(conn, |c| sqlx::query_scalar(sql).bind(notice).fetch_one(&mut *c).await).unwrap()
}

/// Pays on the sandbox's page as a person would: open it, choose a bank, confirm; returns
/// where the browser is sent back to.
pub async fn pay_on_sandbox(client: &reqwest::Client, pay_url: &str, outcome: &str, notify: &str) -> String {
    let page = client.get(pay_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("选择银行") && html.contains("中国建设银行"), "the banks: {html}");
    let res = client
        .post(pay_url)
        .form(&[("bank", "中国建设银行"), ("outcome", outcome), ("notify", notify)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    res.headers()["location"].to_str().unwrap().to_owned()
}

pub async fn start(agent: &Agent, order: &Order) -> String {
    let res = agent.post(&format!("/payments/{}/start", order.id), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap_or_default());
    res.headers()["location"].to_str().unwrap().to_owned()
}

pub fn sign(body: &[u8], key: &[u8]) -> protocol::Signed {
    Signer::HmacSm3(key.to_vec()).sign(body, chrono::Utc::now())
}

pub async fn post_notification(client: &reqwest::Client, base: &str, body: &[u8], key: &[u8]) -> (StatusCode, String) {
    let s = sign(body, key);
    let res = client
        .post(format!("{base}/api/v1/payments/notifications"))
        .header("content-type", "application/json")
        .header(protocol::TIMESTAMP, s.timestamp)
        .header(protocol::NONCE, s.nonce)
        .header(protocol::SIGNATURE, s.signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let answer: serde_json::Value = res.json().await.unwrap();
    (status, answer["code"].as_str().unwrap_or_default().to_owned())
}

pub fn success(order: &Order, amount_fen: i64, currency: &str) -> Vec<u8> {
    let result = PaymentResult {
        merchant: order.merchant.clone(),
        notice_number: order.notice_number.clone(),
        trade_no: "T20261206000001".into(),
        status: WireStatus::Success,
        amount_fen,
        currency: currency.into(),
        paid_at: Some(chrono::Utc::now()),
        bank: Some("中国银行".into()),
        receipt: Some(WireReceipt { code: "44010026".into(), number: "0000000001".into(), check: "8a1b2c".into() }),
    };
    serde_json::to_vec(&result).unwrap()
}
