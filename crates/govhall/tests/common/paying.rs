//! A hall whose item has fees: 20.00 at submission, 5.00 per copy after a granting decision.

use super::applying::ApplyHall;
use govhall_audit::Actor;
use govhall_cases::CaseId;
use govhall_identity::rbac::Grantee;
use govhall_identity::{Permission as P, Scope};
use govhall_payments::Order;
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
