//! Paying a fee as a person does, in headless Chromium: apply for an item with a fee, find the
//! order in 我的办件, confirm, choose a bank on the sandbox gateway's page, pay, come back to the
//! hall's answer (asked of the gateway), download the voucher, and see the case at 收件; the
//! order and gateway pages at a laptop's 1366 px and a phone's 390 px. Screenshots go to
//! target/screenshots/.

use crate::common;

use common::browser::Browser;
use common::paying::fee_hall;
use common::{APPLICANT_PHONE, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn a_person_applies_pays_on_the_gateway_and_downloads_the_voucher_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let a = fee_hall().await;
    let t = a.t();
    // The item asks only for the number of copies (the fee per copy falls due after the grant).
    let mut content = govhall_catalog::store::guide(t.app.db(), &a.code).await.unwrap().unwrap().content;
    content.form = Some(
        serde_json::from_value(json!({"sections": [{"key": "details", "title": "申请内容", "fields": [
            {"key": "copies", "label": "证书份数", "type": "number", "required": true, "min": 1, "max": 10}]}]}))
        .unwrap(),
    );
    content.materials = Vec::new();
    content.eligibility = None;
    content.conditions = Vec::new();
    a.publish(&content).await;
    let code = a.code.clone();
    let browser = Browser::start().await;
    browser.resize(1366, 768).await;

    browser.goto(&t.url("/login")).await;
    browser.type_into("#login", APPLICANT_PHONE).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;

    // The guide says what it costs and when.
    browser.goto(&t.url(&format!("/items/{code}"))).await;
    let html = browser.wait_source("工本费").await;
    assert!(html.contains("20.00 元") && html.contains("提交后缴费") && html.contains("先审后缴"));
    // Apply.
    browser.goto(&t.url(&format!("/items/{code}/apply"))).await;
    browser.click("form[action$='/apply'] button[type='submit']").await;
    browser.wait_source("已完成 0/").await;
    browser.click("a[href$='/sections/details']").await;
    browser.wait_source("证书份数").await;
    browser.type_into("#f-copies", "2").await;
    browser.click("button[value='continue']").await;
    // The last section leads straight to checking the answers.
    let html = browser.wait_source("/submit").await;
    assert!(html.contains("证书份数"));
    browser.click("form[action$='/submit'] button").await;
    browser.wait_source("申报已提交").await;

    // 我的办件: the order to pay (issued by the worker a moment later).
    let mut html = String::new();
    for _ in 0..100 {
        browser.goto(&t.url("/account/cases")).await;
        html = browser.source().await;
        if html.contains("去缴费") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(html.contains("待缴费") && html.contains("20.00"), "{html}");
    browser.screenshot("pay-my-cases").await;
    browser.click("a[href^='/payments/']").await;
    browser.wait_source("确认缴费 20.00 元").await;
    browser.screenshot("pay-order").await;
    assert!(!browser.overflows().await);
    let mut violations = Vec::new();
    violations.extend(browser.axe().await.unwrap_or_default().into_iter().map(|v| format!("order page: {v}")));

    // The gateway's page: banks, then pay.
    browser.click("form[action$='/start'] button[type='submit']").await;
    let html = browser.wait_source("测试选项").await;
    assert!(html.contains("模拟") && html.contains("中国工商银行"));
    browser.screenshot("pay-gateway").await;
    violations.extend(browser.axe().await.unwrap_or_default().into_iter().map(|v| format!("gateway page: {v}")));
    browser.resize(390, 844).await;
    browser.screenshot("pay-gateway-phone").await;
    assert!(!browser.overflows().await, "the gateway page fits a phone");
    browser.resize(1366, 768).await;
    browser.click("input[name='bank'][value='中国工商银行']").await;
    browser.click("button[value='pay']").await;

    // Back at the hall, which asked the gateway.
    let html = browser.wait_source("缴费成功").await;
    assert!(html.contains("电子票据号") && html.contains("中国工商银行"));
    assert!(html.contains("receipt.pdf"));
    browser.screenshot("pay-done").await;
    violations.extend(browser.axe().await.unwrap_or_default().into_iter().map(|v| format!("result page: {v}")));
    browser.resize(390, 844).await;
    browser.screenshot("pay-done-phone").await;
    assert!(!browser.overflows().await, "the result fits a phone");
    browser.resize(1366, 768).await;
    // The voucher opens from the page (fetched with the page's own session).
    let fetched = browser
        .run(
            "const r = new XMLHttpRequest(); r.open('GET', document.querySelector(\"a[href$='receipt.pdf']\").href, false); \
             r.send(); return [r.status, r.getResponseHeader('content-type')];",
        )
        .await;
    assert_eq!(fetched, json!([200, "application/pdf"]));

    // The case went on to 收件.
    browser.goto(&t.url("/account/cases")).await;
    let html = browser.wait_source("收件").await;
    assert!(!html.contains("去缴费"));
    browser.click("a[href^='/account/cases/']").await;
    let html = browser.wait_source("缴费完成").await;
    assert!(html.contains("缴费电子凭证"));
    browser.screenshot("pay-case").await;
    violations.extend(browser.axe().await.unwrap_or_default().into_iter().map(|v| format!("case page: {v}")));
    assert!(violations.is_empty(), "axe-core: {violations:#?}");
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.quit().await;
    a.hall.t.stop().await;
}
