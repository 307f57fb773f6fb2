//! A person's view: the home page in headless Chromium, driven through WebDriver
//! (Debian's chromium and chromium-driver, installed by scripts/test).
//!
//! Screenshots are saved under target/screenshots/ for a person to look at.

use crate::common;

use common::browser::{Browser, hall_and_browser};

#[tokio::test]
async fn home_page_in_chromium() {
    let Some((t, browser)) = hall_and_browser().await else { return };

    browser.goto(&t.url("/")).await;
    browser.wait_title("首页 - 网上政务服务大厅").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors on the home page: {errors:?}");
    let shot = browser.screenshot("home").await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "a real page was drawn");

    // Follow the footer link to the API documentation.
    browser.click("footer a[href='/docs/api']").await;
    browser.wait_title("开放接口文档 - 网上政务服务大厅").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors on the API docs: {errors:?}");
    browser.screenshot("api-docs").await;

    // The console check sees real errors: a missing page logs its 404.
    browser.goto(&t.url("/no-such-page")).await;
    browser.wait_title("页面不存在 - 网上政务服务大厅").await;
    let errors = browser.console_errors().await;
    assert!(errors.iter().any(|e| e.contains("404")), "the 404 is logged: {errors:?}");
    browser.screenshot("not-found").await;

    browser.quit().await;
    t.stop().await;
}

#[tokio::test]
async fn a_person_registers_signs_in_sees_the_profile_and_signs_out_in_chromium() {
    let Some((t, browser)) = hall_and_browser().await else { return };
    browser.goto(&t.url("/")).await;
    browser.click(".header-account a[href='/register']").await;
    browser.wait_title("注册个人账号 - 网上政务服务大厅").await;
    browser.type_into("#phone", "13800138000").await;
    browser.type_into("#real_name", "王五").await;
    browser.click("button[value='send_code']").await;
    browser.wait_source("验证码已发送").await;
    let code = t.sms_code("13800138000", 1).await;
    browser.type_into("#code", &code).await;
    browser.type_into("#id_number", "370102199003071238").await;
    browser.type_into("#password", "Test-pass-123").await;
    browser.type_into("#password_again", "Test-pass-123").await;
    browser.screenshot("register").await;
    browser.click("button[value='register']").await;
    browser.wait_title("登录 - 网上政务服务大厅").await;
    assert!(browser.source().await.contains("注册成功"));
    browser.type_into("#login", "370102199003071238").await;
    browser.type_into("#password", "Test-pass-123").await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
    let html = browser.source().await;
    assert!(html.contains("138****8000") && html.contains("3701**********1238") && html.contains("本设备"));
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.screenshot("account").await;
    browser.click(".header-account button[type='submit']").await;
    browser.wait_title("首页 - 网上政务服务大厅").await;
    assert!(browser.source().await.contains("href=\"/login\""), "signed out");
    browser.goto(&t.url("/account")).await;
    browser.wait_title("登录 - 网上政务服务大厅").await;
    browser.quit().await;
    t.stop().await;
}

#[tokio::test]
async fn from_personal_services_through_a_life_event_to_a_guide_in_chromium() {
    let Some((t, browser)) = hall_and_browser().await else { return };
    let text: String = govhall_catalog::import::GD_BUNDLED.lines().take(400).collect::<Vec<_>>().join("\n");
    govhall_catalog::import::import_gd(t.app.db(), &text, |_, _| {}).await.unwrap();
    browser.goto(&t.url("/")).await;
    browser.click(".site-nav a[href='/personal']").await;
    browser.wait_title("个人办事 - 网上政务服务大厅").await;
    browser.screenshot("personal").await;
    browser.click(".tag-grid a").await;
    let list = browser.wait_source("item-list").await;
    assert!(list.contains("item-list") && list.contains("共 "), "a list of items");
    browser.screenshot("life-event").await;
    browser.click(".item-list a").await;
    let guide = browser.wait_source("申请材料").await;
    assert!(guide.contains("申请材料") && guide.contains("class=\"materials\""), "the guide with its materials table");
    assert!(guide.contains("<td>1</td>"), "at least one material row");
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.screenshot("guide").await;
    browser.quit().await;
    t.stop().await;
}

#[tokio::test]
async fn searching_in_everyday_words_and_pinyin_narrowing_by_facets_in_chromium() {
    let Some((t, browser)) = hall_and_browser().await else { return };
    let text: String = govhall_catalog::import::GD_BUNDLED.lines().take(400).collect::<Vec<_>>().join("\n");
    govhall_catalog::import::import_gd(t.app.db(), &text, |_, _| {}).await.unwrap();
    t.until_indexed(400).await;
    browser.goto(&t.url("/")).await;
    // As-you-type: pinyin brings names in characters under the box.
    browser.type_into("#header-q", "linshi").await;
    let suggested = browser.wait_source("suggest-0-0").await;
    assert!(suggested.contains("临时价格干预范围事项提价申报"), "a suggestion for linshi");
    browser.screenshot("search-suggest").await;
    browser.goto(&t.url("/")).await;
    browser.type_into("#header-q", "xuke").await;
    browser.click(".header-search button").await;
    browser.wait_title("搜索：xuke - 网上政务服务大厅").await;
    let page = browser.wait_source("search-hits").await;
    assert!(page.contains("您是不是要找") && page.contains("<em>许可</em>"), "pinyin is read as 许可");
    browser.screenshot("search").await;
    browser.click(".facets a").await;
    let narrowed = browser.wait_source("active-filters").await;
    assert!(narrowed.contains("active-filters"), "the chosen facet is shown as a removable filter");
    browser.screenshot("search-facet").await;
    browser.goto(&t.url("/search?q=%E7%81%AB%E6%98%9F%E7%A7%BB%E6%B0%91")).await;
    let nothing = browser.wait_source("no-results").await;
    assert!(nothing.contains("换一种说法") && nothing.contains("个人办事"));
    browser.screenshot("search-nothing").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.quit().await;
    t.stop().await;
}

#[tokio::test]
async fn a_case_is_handled_in_the_workbench_and_followed_on_the_progress_page_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let h = common::CaseHall::new().await;
    let browser = Browser::start().await;
    let (id, serial, password) = h.submit("browser-1").await;
    let t = &h.t;
    browser.goto(&t.url("/login")).await;
    browser.type_into("#login", common::WORKER_PHONE).await;
    browser.type_into("#password", common::PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
    browser.goto(&t.url("/admin/cases")).await;
    browser.wait_title("办件工作台 - 网上政务服务大厅").await;
    browser.screenshot("workbench").await;
    browser.click(&format!("a[href='/admin/cases/{id}']")).await;
    browser.wait_source("开始预审").await;
    browser.click("form.action-form button[type='submit']").await;
    browser.wait_source("要求补齐补正").await;
    browser.type_into("#n-request_supplement", "请补充营业执照副本").await;
    browser.click("#n-request_supplement ~ button, form.action-form:nth-of-type(3) button").await;
    let html = browser.wait_source("请补充营业执照副本").await;
    assert!(html.contains("补齐补正"));
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.screenshot("case").await;

    browser.goto(&t.url("/progress")).await;
    browser.type_into("#p-serial", &serial).await;
    browser.type_into("#p-password", &password).await;
    browser.click("form[action='/progress'] button[type='submit']").await;
    let html = browser.wait_source("办理过程").await;
    assert!(html.contains("补齐补正") && !html.contains("请补充营业执照副本"), "no notes on the public page");
    browser.screenshot("progress").await;
    browser.quit().await;
    h.t.stop().await;
}

#[tokio::test]
async fn a_person_books_a_visit_and_cancels_it_in_chromium() {
    let Some((t, browser)) = hall_and_browser().await else { return };
    let code = t.booking_hall(2, &common::weekday_rule(9, 12, 30, 5)).await.items[0].clone();
    t.person("13800000701", "370102199003071238").await;

    browser.goto(&t.url("/login")).await;
    browser.type_into("#login", "13800000701").await;
    browser.type_into("#password", common::PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
    browser.goto(&t.url(&format!("/items/{code}/book"))).await;
    browser.wait_source("余 5").await;
    browser.screenshot("booking-table").await;
    browser.click(".slot-button").await;
    let html = browser.wait_source("预约凭证").await;
    assert!(html.contains("qr.svg") && html.contains("广州市天河区天府路1号"));
    browser.screenshot("booking").await;
    browser.goto(&t.url("/account/bookings")).await;
    browser.wait_source("取消预约").await;
    browser.click("form[action$='/cancel'] button").await;
    browser.wait_source("已取消").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.screenshot("booking-cancelled").await;
    browser.quit().await;
    t.stop().await;
}
