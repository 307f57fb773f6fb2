//! Results by courier: staff send a granted case's result to the address the applicant chose,
//! the courier's tracking arrives by signed push (replayed, out of order, forged) and by query,
//! and the delivery takes the case's 送达 step. The built-in sandbox courier carries it over
//! real HTTP.

use crate::common;

use common::{APPLICANT_PHONE, CaseHall, PASSWORD};
use govhall_audit::Actor;
use govhall_cases::CaseId;
use govhall_logistics::courier::protocol::{EventStatus, Tracking, WireEvent};
use govhall_logistics::track::Applied;
use govhall_logistics::{LogisticsError, ShipmentState};
use govhall_messaging::signed::{self, Signer};
use reqwest::StatusCode;
use serde_json::{Value, json};

const RECIPIENT_PHONE: &str = "13900000777";

fn courier_form() -> Value {
    json!({
        "申请事由": "新办",
        "delivery_method": "快递送达",
        "delivery_recipient": "张三",
        "delivery_phone": RECIPIENT_PHONE,
        "delivery_address": {"province": "370000", "city": "370100", "county": "370102", "street": "经十路 100 号"},
    })
}

/// Submits a case with `form` and takes it to 办结 (granted), where 送达 is next.
async fn decided(h: &CaseHall, key: &str, form: Value) -> (CaseId, String) {
    common::licensing::granted(h, key, form).await
}

async fn case_step(h: &CaseHall, case: CaseId) -> (String, bool) {
    let access = h.access(h.worker).await;
    let c = h.t.app.cases().get(&access, case).await.unwrap();
    (c.step, c.is_open)
}

fn sandbox_key(h: &CaseHall) -> Vec<u8> {
    govhall::app::courier_sandbox_secret(h.t.app.identity())
}

async fn push(h: &CaseHall, body: &[u8], key: &[u8]) -> (StatusCode, String) {
    let s = Signer::HmacSm3(key.to_vec()).sign(body, chrono::Utc::now());
    let res =
        h.t.client
            .post(h.t.url("/api/v1/logistics/notifications"))
            .header("content-type", "application/json")
            .header(signed::TIMESTAMP, s.timestamp)
            .header(signed::NONCE, s.nonce)
            .header(signed::SIGNATURE, s.signature)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
    let status = res.status();
    let answer: Value = res.json().await.unwrap();
    (status, answer["code"].as_str().unwrap_or_default().to_owned())
}

fn tracking(waybill: &str, events: &[(&str, EventStatus, i64)]) -> Vec<u8> {
    let now = chrono::Utc::now();
    let t = Tracking {
        customer: "SANDBOX".into(),
        waybill_no: waybill.into(),
        events: events
            .iter()
            .map(|(id, status, minutes_ago)| WireEvent {
                event_id: (*id).into(),
                status: *status,
                description: format!("{}<script>alert(1)</script>\u{202e}", status.label()),
                location: "济南转运中心".into(),
                occurred_at: now - chrono::Duration::minutes(*minutes_ago),
            })
            .collect(),
    };
    serde_json::to_vec(&t).unwrap()
}

async fn sms_to(h: &CaseHall, phone: &str, containing: &str) -> usize {
    let outbox = h.t.app.messaging().sandbox_outbox().unwrap();
    let mut found = 0;
    for _ in 0..400 {
        found = outbox.sent_to(phone).iter().filter(|m| m.body.contains(containing)).count();
        if found > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    found
}

#[tokio::test]
async fn a_couriered_result_is_tracked_through_replays_and_disorder_and_its_delivery_ends_the_case() {
    let h = CaseHall::new().await;
    let (case, serial) = decided(&h, "ship-1", courier_form()).await;
    let logistics = h.t.app.logistics();

    // Staff send it from the case page.
    let worker = h.t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    let page = worker.get(&format!("/admin/cases/{case}")).await.text().await.unwrap();
    assert!(
        page.contains("快递送达：张三 13900000777 山东省济南市历下区经十路 100 号"),
        "the choice, in full for this worker"
    );
    assert!(page.contains("快递寄送办理结果"));
    let res = worker.post(&format!("/admin/cases/{case}/shipments"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let shipments = logistics.for_staff(&h.access(h.worker).await, case).await.unwrap();
    assert_eq!(shipments.len(), 1);
    let s = &shipments[0];
    assert_eq!(s.state, ShipmentState::Created);
    let waybill = s.waybill_no.clone().expect("a waybill number");
    assert_eq!(s.recipient.address, "山东省济南市历下区经十路 100 号");
    // A second click does not send a second parcel.
    let res = worker.post(&format!("/admin/cases/{case}/shipments"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains(&waybill));
    // The recipient is told, with the waybill.
    assert_eq!(sms_to(&h, RECIPIENT_PHONE, &waybill).await, 1);
    // The waybill prints.
    let pdf = worker.get(&format!("/admin/shipments/{}/waybill.pdf", s.id)).await;
    assert_eq!(pdf.status(), StatusCode::OK);
    if let Some(text) = common::pdftotext(&pdf.bytes().await.unwrap()) {
        assert!(text.contains(&waybill) && text.contains("张三"), "{text}");
    }
    // The case waits at 办结 until the parcel arrives.
    assert_eq!(case_step(&h, case).await, ("decided".into(), true));

    // The courier picks it up: the sandbox's page pushes the event to the hall.
    let res =
        h.t.client
            .post(h.t.url(&format!("/sandbox-courier/waybills/{waybill}")))
            .form(&[("status", "picked_up"), ("location", "历下营业部"), ("push", "once")])
            .send()
            .await
            .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let s = &logistics.for_staff(&h.access(h.worker).await, case).await.unwrap()[0];
    assert_eq!(s.state, ShipmentState::Tracked(EventStatus::PickedUp));

    let key = sandbox_key(&h);
    // A forged push (another key) is refused and changes nothing.
    let delivered = tracking(&waybill, &[("D1", EventStatus::Delivered, 5)]);
    assert_eq!(push(&h, &delivered, b"not the key").await, (StatusCode::FORBIDDEN, "bad_signature".into()));
    // So is one for a waybill the hall never sent, or for another customer.
    let unknown = tracking("SB000000000", &[("X1", EventStatus::Delivered, 5)]);
    assert_eq!(push(&h, &unknown, &key).await, (StatusCode::NOT_FOUND, "unknown_waybill".into()));
    let mut other: Tracking = serde_json::from_slice(&delivered).unwrap();
    other.customer = "OTHER".into();
    assert_eq!(push(&h, &serde_json::to_vec(&other).unwrap(), &key).await.1, "bad_message");
    assert_eq!(case_step(&h, case).await, ("decided".into(), true));

    // Delivered arrives first, twice at once; the older transit event after it.
    let (a, b) = tokio::join!(push(&h, &delivered, &key), push(&h, &delivered, &key));
    assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
    let late = tracking(&waybill, &[("T1", EventStatus::InTransit, 120), ("O1", EventStatus::OutForDelivery, 30)]);
    assert_eq!(push(&h, &late, &key).await, (StatusCode::OK, "ok".into()));
    assert_eq!(push(&h, &late, &key).await, (StatusCode::OK, "ok".into()));
    let s = &logistics.for_staff(&h.access(h.worker).await, case).await.unwrap()[0];
    assert_eq!(s.state, ShipmentState::Tracked(EventStatus::Delivered), "an ended shipment stays ended");
    assert_eq!(s.events.len(), 4, "each event once: {:?}", s.events);
    assert!(s.delivered_at.is_some());
    assert!(s.events.iter().all(|e| !e.description.contains('\u{202e}')), "direction overrides are removed");
    // The delivery took the case's 送达 step, once.
    assert_eq!(case_step(&h, case).await, ("delivered".into(), false));
    let history = h.t.app.cases().history(case).await.unwrap();
    assert_eq!(history.iter().filter(|e| e.to_step == "delivered").count(), 1);
    assert!(history.iter().any(|e| e.note.contains(&waybill)));
    assert_eq!(sms_to(&h, RECIPIENT_PHONE, "已签收").await, 1, "told once of the delivery");

    // The applicant follows it on the case page and in the API; nobody else can.
    let applicant = h.t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let mine = applicant.get(&format!("/account/cases/{serial}")).await.text().await.unwrap();
    assert!(mine.contains(&waybill) && mine.contains("已签收"));
    assert!(!mine.contains("<script>alert(1)"), "the courier's text is escaped");
    let bearer = h.t.bearer(APPLICANT_PHONE).await;
    let res =
        h.t.client
            .get(h.t.url(&format!("/api/v1/me/cases/{serial}/shipments")))
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list[0]["waybill_no"], waybill.as_str());
    assert_eq!(list[0]["state"], "delivered");
    assert_eq!(list[0]["events"].as_array().unwrap().len(), 4);
    h.t.person("13800000102", &common::test_id_number(7)).await;
    let other = h.t.bearer("13800000102").await;
    let res =
        h.t.client
            .get(h.t.url(&format!("/api/v1/me/cases/{serial}/shipments")))
            .header("authorization", &other)
            .send()
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another person's case is not found");
    // A stranger on staff (another department) neither sees nor prints it.
    let stranger = h.t.sign_in(common::STRANGER_PHONE, PASSWORD).await;
    assert_eq!(stranger.get(&format!("/admin/shipments/{}/waybill.pdf", s.id)).await.status(), StatusCode::NOT_FOUND);
    h.t.stop().await;
}

#[tokio::test]
async fn a_lost_push_is_caught_by_the_query_and_a_returned_parcel_can_be_sent_again() {
    let h = CaseHall::new().await;
    let logistics = h.t.app.logistics();
    let access = h.access(h.worker).await;
    let actor = Actor::system("寄件人");

    // Only a case at 送达 whose applicant chose the courier, by staff who may deliver it.
    let (pickup, _) = decided(&h, "ship-pickup", json!({"delivery_method": "窗口领取"})).await;
    let err = logistics.send_result(&access, &actor, pickup).await.unwrap_err();
    assert!(matches!(err, LogisticsError::WrongState(ref m) if m.contains("窗口领取")), "{err:?}");
    let (early, _, _) = h.submit("ship-early").await;
    assert!(matches!(logistics.send_result(&access, &actor, early).await, Err(LogisticsError::WrongState(_))));
    let (case, _) = decided(&h, "ship-2", courier_form()).await;
    let stranger = h.access(h.stranger).await;
    assert!(logistics.send_result(&stranger, &actor, case).await.is_err(), "another department's staff");
    assert!(logistics.for_staff(&stranger, case).await.is_err());

    // Returned to the sender: the applicant is told, staff may send it again.
    let first = logistics.send_result(&access, &actor, case).await.unwrap();
    let waybill = first.waybill_no.clone().unwrap();
    let body = tracking(&waybill, &[("R1", EventStatus::Returned, 1)]);
    assert_eq!(push(&h, &body, &sandbox_key(&h)).await.0, StatusCode::OK);
    assert_eq!(case_step(&h, case).await, ("decided".into(), true), "not delivered");
    assert_eq!(sms_to(&h, RECIPIENT_PHONE, "已退回").await, 1);
    let second = logistics.send_result(&access, &actor, case).await.unwrap();
    assert_ne!(second.waybill_no, first.waybill_no);

    // The courier's push never comes: the hall's query finds the delivery.
    let second_waybill = second.waybill_no.clone().unwrap();
    let res =
        h.t.client
            .post(h.t.url(&format!("/sandbox-courier/waybills/{second_waybill}")))
            .form(&[("status", "delivered"), ("push", "never")])
            .send()
            .await
            .unwrap();
    assert!(res.status().is_redirection() || res.status().is_success());
    assert_eq!(case_step(&h, case).await, ("decided".into(), true));
    assert_eq!(
        logistics.refresh(second.id).await.unwrap(),
        Applied::Changed(ShipmentState::Tracked(EventStatus::Delivered))
    );
    assert_eq!(logistics.refresh(second.id).await.unwrap(), Applied::Duplicate);
    assert_eq!(case_step(&h, case).await, ("delivered".into(), false));
    h.t.stop().await;
}

#[tokio::test]
async fn an_applicant_books_a_courier_for_their_paper_materials() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let mut form = courier_form();
    form["materials_method"] = "快递上门取件".into();
    let s = govhall_cases::submit::Submission {
        item_code: h.item.item.code.clone(),
        applicant: h.applicant,
        enterprise: None,
        form,
        materials: Vec::new(),
        idempotency_key: "pickup".into(),
    };
    let done = t.app.cases().submit(s).await.unwrap();
    let serial = done.serial_number.clone();
    let bearer = t.bearer(APPLICANT_PHONE).await;
    let book = |token: String, serial: String| {
        t.client.post(t.url(&format!("/api/v1/me/cases/{serial}/shipments"))).header("authorization", token).send()
    };
    // The page offers it.
    let applicant = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let page = applicant.get(&format!("/account/cases/{serial}")).await.text().await.unwrap();
    assert!(page.contains("预约快递上门取件"), "{page}");
    // Booked: from the applicant's address to the department.
    let res = book(bearer.clone(), serial.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let booked: Value = res.json().await.unwrap();
    assert_eq!(booked["direction"], "materials");
    assert_eq!(booked["sender_name"], "张三");
    let waybill = booked["waybill_no"].as_str().unwrap().to_owned();
    assert_eq!(sms_to(&h, RECIPIENT_PHONE, "纸质材料已交").await, 1);
    // Once; nobody else; not for an applicant who chose to hand them in.
    let res = book(bearer.clone(), serial.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    t.person("13800000105", &common::test_id_number(5)).await;
    let other = t.bearer("13800000105").await;
    assert_eq!(book(other, serial.clone()).await.unwrap().status(), StatusCode::NOT_FOUND);
    let (_, own_serial, _) = h.submit("hand-in").await;
    let res = book(bearer.clone(), own_serial).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let page = applicant.get(&format!("/account/cases/{serial}")).await.text().await.unwrap();
    assert!(page.contains("纸质材料：") && page.contains(&waybill) && !page.contains("预约快递上门取件"));

    // Delivered to the department: the case does not move; the applicant is told.
    let body = tracking(&waybill, &[("M1", EventStatus::Delivered, 1)]);
    assert_eq!(push(&h, &body, &sandbox_key(&h)).await.0, StatusCode::OK);
    let access = h.access(h.worker).await;
    let c = t.app.cases().get(&access, done.case_id).await.unwrap();
    assert!(c.is_open && c.step == "received", "{}", c.step);
    assert_eq!(sms_to(&h, RECIPIENT_PHONE, "纸质材料已签收").await, 1);
    // Staff see it with the case (the applicant's address shown to those who may see it).
    let worker = t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    let staff_page = worker.get(&format!("/admin/cases/{}", done.case_id)).await.text().await.unwrap();
    assert!(staff_page.contains("纸质材料") && staff_page.contains(&waybill), "{staff_page}");
    h.t.stop().await;
}
