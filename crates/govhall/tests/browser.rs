//! A person's view: the home page in headless Chromium, driven through WebDriver
//! (Debian's chromium and chromium-driver, installed by scripts/test).
//!
//! Screenshots are saved under target/screenshots/ for a person to look at.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers unwrap: a failure there is the test failing"
)]

mod common;

use base64::Engine;
use common::TestApp;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A WebDriver session on a chromedriver this test started.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (scripts/test installs Debian's chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=zh-CN"]
            },
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let res: Value = http.post(format!("{base}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session = res["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {res}")).to_owned();
        Browser { driver, base, session, http }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let res: Value = self.http.request(method, url).json(&body).send().await.unwrap().json().await.unwrap();
        assert!(res["value"].get("error").is_none(), "{path}: {res}");
        res["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url })).await;
    }

    async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", json!({})).await.as_str().unwrap().to_owned()
    }

    /// Waits (up to 10 s) for the page after a click or a redirect to be the one titled `expected`.
    async fn wait_title(&self, expected: &str) {
        let mut title = String::new();
        for _ in 0..200 {
            title = self.title().await;
            if title == expected {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the page is {title:?}, not {expected:?}");
    }

    /// Console messages of level SEVERE since the last call (errors, failed loads, CSP refusals).
    async fn console_errors(&self) -> Vec<String> {
        let entries = self.call(reqwest::Method::POST, "/se/log", json!({"type": "browser"})).await;
        entries
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The WebDriver id of the first element matching `css`.
    async fn element(&self, css: &str) -> String {
        let el = self.call(reqwest::Method::POST, "/element", json!({"using": "css selector", "value": css})).await;
        el.as_object().unwrap().values().next().unwrap().as_str().unwrap().to_owned()
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), json!({})).await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), json!({})).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), json!({ "text": text })).await;
    }

    async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", json!({})).await.as_str().unwrap().to_owned()
    }

    /// Waits (up to 10 s) for the page to contain `needle`, and returns it.
    async fn wait_source(&self, needle: &str) -> String {
        let mut html = String::new();
        for _ in 0..200 {
            html = self.source().await;
            if html.contains(needle) {
                return html;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the page never showed {needle:?}: {html}");
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", json!({})).await;
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    async fn quit(mut self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A running hall and a browser, unless SKIP_BROWSER_TESTS=1.
async fn hall_and_browser() -> Option<(TestApp, Browser)> {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("SKIP_BROWSER_TESTS=1: browser test skipped");
        return None;
    }
    Some((TestApp::spawn().await, Browser::start().await))
}

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
