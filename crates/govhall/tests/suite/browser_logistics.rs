//! Results by courier as people meet them, in headless Chromium: the applicant's 结果送达方式
//! section of a draft, a request for more naming a material answered with a file for it, staff
//! sending the result from the case page and printing the waybill,
//! the sandbox courier's page pushing 已签收, and the applicant's case page with the tracking —
//! each at 1366 px and 390 px, checked with axe-core. Screenshots go to target/screenshots/.

use crate::common;

use common::applying::{ApplyHall, test_form};
use common::browser::{Browser, look};
use common::{APPLICANT_PHONE, PASSWORD, WORKER_PHONE};
use govhall_audit::Actor;
use govhall_cases::transition::{Action, By};

async fn sign_in(browser: &Browser, a: &ApplyHall, phone: &str) {
    browser.goto(&a.t().url("/login")).await;
    browser.type_into("#login", phone).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
}

#[tokio::test]
async fn a_result_goes_by_courier_and_the_applicant_follows_it_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let a = ApplyHall::new().await;
    let h = &a.hall;
    let mut content = h.item.content.clone();
    content.form = Some(serde_json::from_value(test_form()).unwrap());
    content.courier = true;
    a.publish(&content).await;
    let (draft, _) = h.t.app.applications().start(h.applicant, &a.code, None).await.unwrap();
    // A case at 办结 whose applicant chose the courier.
    let s = govhall_cases::submit::Submission {
        item_code: a.code.clone(),
        applicant: h.applicant,
        enterprise: None,
        form: serde_json::json!({
            "delivery_method": "快递送达",
            "delivery_recipient": "张三",
            "delivery_phone": "13900000777",
            "delivery_address": {"province": "370000", "city": "370100", "county": "370102", "street": "经十路 100 号"},
        }),
        materials: Vec::new(),
        idempotency_key: "browser-ship".into(),
    };
    let done = h.t.app.cases().submit(s).await.unwrap();
    let access = h.access(h.worker).await;
    let staff_moves = |steps: &'static [&'static str]| {
        let access = access.clone();
        async move {
            for step in steps {
                let action = Action { case: done.case_id, action: (*step).into(), ..Action::default() };
                h.t.app.cases().act(By::Staff(&access, &Actor::system("审批人")), action).await.unwrap();
            }
        }
    };
    staff_moves(&["start_prereview"]).await;

    let mut violations = Vec::new();
    let applicant = Browser::start().await;
    applicant.resize(1366, 768).await;
    sign_in(&applicant, &a, APPLICANT_PHONE).await;
    let staff = Browser::start().await;
    staff.resize(1366, 768).await;
    sign_in(&staff, &a, WORKER_PHONE).await;

    // Staff ask for more, naming the material; the applicant answers with a file for it.
    staff.goto(&a.t().url(&format!("/admin/cases/{}", done.case_id))).await;
    staff.wait_source("需要补正的材料").await;
    let asking = "form.action-form:has(input[value='request_supplement'])";
    staff.click(&format!("{asking} input[name='requested']")).await;
    staff.type_into("#n-request_supplement", "请补充材料原件扫描件").await;
    violations.extend(look(&staff, "supplement-request").await);
    staff.click(&format!("{asking} button[type='submit']")).await;
    // The page says 补齐补正 before the click too: wait for the case itself.
    let step_now = || async { h.t.app.cases().get(&access, done.case_id).await.unwrap().step };
    for _ in 0..200 {
        if step_now().await == "supplement" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(step_now().await, "supplement");
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("扫描件.pdf");
    std::fs::write(&scan, common::applying::pdf(3000)).unwrap();
    applicant.goto(&a.t().url(&format!("/account/cases/{}", done.serial_number))).await;
    applicant.wait_source("需要补正的材料").await;
    applicant.type_into("#f-resubmit-0", scan.to_str().unwrap()).await;
    violations.extend(look(&applicant, "supplement-answer").await);
    applicant.click("form.action-form:has(input[value='resubmit']) button[type='submit']").await;
    applicant.wait_source("：扫描件.pdf").await;
    staff_moves(&["accept", "start_review", "grant"]).await;
    // The draft asks how the result should reach them.
    applicant.goto(&a.t().url(&format!("/applications/{draft}/sections/delivery"))).await;
    applicant.wait_source("领取办理结果的方式").await;
    applicant.click("input[value='快递送达']").await;
    applicant.click("button[value='continue']").await;
    applicant.wait_source("field-message").await;
    violations.extend(look(&applicant, "delivery-section-errors").await);

    // Staff send it from the case page.
    staff.goto(&a.t().url(&format!("/admin/cases/{}", done.case_id))).await;
    staff.wait_source("快递寄送办理结果").await;
    violations.extend(look(&staff, "shipment-staff-before").await);
    staff.click(&format!("form[action='/admin/cases/{}/shipments'] button[type='submit']", done.case_id)).await;
    let html = staff.wait_source("打印快递运单").await;
    assert!(html.contains("已下单，待揽收"));
    violations.extend(look(&staff, "shipment-staff-sent").await);
    let fetched = staff
        .run(
            "const r = new XMLHttpRequest(); r.open('GET', document.querySelector(\"a[href$='waybill.pdf']\").href, false); \
             r.send(); return [r.status, r.getResponseHeader('content-type')];",
        )
        .await;
    assert_eq!(fetched, serde_json::json!([200, "application/pdf"]));
    let shipment = &h.t.app.logistics().for_staff(&access, done.case_id).await.unwrap()[0];
    let waybill = shipment.waybill_no.clone().unwrap();

    // The courier delivers it: the sandbox courier's page pushes 已签收.
    staff.goto(&a.t().url(&format!("/sandbox-courier/waybills/{waybill}"))).await;
    staff.wait_source("添加物流事件").await;
    staff.set_value("#status", "delivered").await;
    staff.click("button[type='submit']").await;
    staff.wait_source("已签收").await;
    violations.extend(look(&staff, "sandbox-courier-waybill").await);

    // The applicant sees the tracking on the case page; the case is 送达.
    applicant.goto(&a.t().url(&format!("/account/cases/{}", done.serial_number))).await;
    let html = applicant.wait_source(&waybill).await;
    assert!(html.contains("已签收") && html.contains("办理结果："));
    violations.extend(look(&applicant, "shipment-applicant").await);

    assert!(violations.is_empty(), "axe-core: {violations:#?}");
    // The section sent back with its mistakes answers 422, which Chromium logs; nothing else.
    let errors: Vec<String> =
        applicant.console_errors().await.into_iter().filter(|e| !e.contains("status of 422")).collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    applicant.quit().await;
    staff.quit().await;
    a.hall.t.stop().await;
}
