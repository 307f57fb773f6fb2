//! Electronic licences as people meet them, in headless Chromium: the holder's 我的证照, the
//! public verification page reached from it (and the form), a draft whose material the
//! licence stands in for, and staff's licence page — each at 1366 px and 390 px, checked with
//! axe-core. Screenshots go to target/screenshots/.

use crate::common;

use common::applying::{ApplyHall, test_form};
use common::browser::{Browser, look};
use common::licensing::{granted, licence_hall, licence_of};
use common::{APPLICANT_PHONE, PASSWORD, WORKER_PHONE};
use govhall_catalog::model::Material;

async fn sign_in(browser: &Browser, a: &ApplyHall, phone: &str, title: &str) {
    browser.goto(&a.t().url("/login")).await;
    browser.type_into("#login", phone).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title(title).await;
}

#[tokio::test]
async fn a_holder_sees_downloads_verifies_and_uses_a_licence_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let a = ApplyHall::from(licence_hall().await).await;
    let h = &a.hall;
    let (case, _) = granted(h, "browser-lic", serde_json::json!({"联系地址": "济南市历下区泉城路 1 号"})).await;
    let licence = licence_of(h, case).await;
    let mut content = h.item.content.clone();
    content.form = Some(serde_json::from_value(test_form()).unwrap());
    content.materials = vec![Material {
        name: "测试许可证".into(),
        required: true,
        formats: "pdf".into(),
        from_license: true,
        ..Material::default()
    }];
    a.publish(&content).await;
    let (draft, _) = h.t.app.applications().start(h.applicant, &a.code, None).await.unwrap();

    let browser = Browser::start().await;
    browser.resize(1366, 768).await;
    let mut violations = Vec::new();
    sign_in(&browser, &a, APPLICANT_PHONE, "我的账号 - 网上政务服务大厅").await;

    // 我的证照, from the header.
    browser.click("a[href='/account/licences']").await;
    let html = browser.wait_source(&licence.number).await;
    assert!(html.contains("测试许可证") && html.contains("济南市历下区泉城路 1 号") && html.contains("有效"));
    violations.extend(look(&browser, "licence-mine").await);
    // The printout opens from the page.
    let fetched = browser
        .run(
            "const r = new XMLHttpRequest(); r.open('GET', document.querySelector(\"a[href$='licence.pdf']\").href, false); \
             r.send(); return [r.status, r.getResponseHeader('content-type')];",
        )
        .await;
    assert_eq!(fetched, serde_json::json!([200, "application/pdf"]));

    // Verifying it, as anyone would from the QR code.
    browser.click("a[href^='/verify/']").await;
    let html = browser.wait_source("核验结果").await;
    assert!(html.contains("证照有效") && html.contains("张*"));
    violations.extend(look(&browser, "licence-verify").await);
    // The form, with a mistyped identifier.
    browser.goto(&a.t().url("/verify")).await;
    browser.type_into("#licence-id", &licence.identifier.replace(".001.", ".002.")).await;
    browser.click("form[action='/verify'] button[type='submit']").await;
    browser.wait_source("证照标识格式不正确").await;
    violations.extend(look(&browser, "licence-verify-mistyped").await);

    // A draft whose material the licence stands in for.
    browser.goto(&a.t().url(&format!("/applications/{draft}/materials"))).await;
    browser.wait_source("此项材料可免交").await;
    violations.extend(look(&browser, "licence-material-choice").await);
    browser.click("form[action$='/materials/0/licence'] button[type='submit']").await;
    let html = browser.wait_source("已使用电子证照，免于上传").await;
    assert!(html.contains(&licence.number));
    violations.extend(look(&browser, "licence-material-used").await);

    // Staff's page of the licence.
    let staff = Browser::start().await;
    staff.resize(1366, 768).await;
    sign_in(&staff, &a, WORKER_PHONE, "我的账号 - 网上政务服务大厅").await;
    staff.goto(&a.t().url(&format!("/admin/licences/{}", licence.id))).await;
    staff.wait_source("注销证照").await;
    violations.extend(look(&staff, "licence-staff").await);

    assert!(violations.is_empty(), "axe-core: {violations:#?}");
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.quit().await;
    staff.quit().await;
    a.hall.t.stop().await;
}
