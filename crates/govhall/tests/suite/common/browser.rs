//! A headless Chromium driven through WebDriver (Debian's chromium and chromium-driver,
//! installed by scripts/test), for the tests that click through the portal as a person would.
//! Screenshots are saved under target/screenshots/ for a person to look at.

#![allow(dead_code, reason = "each browser test uses a part of these helpers")]

use super::TestApp;
use base64::Engine;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A WebDriver session on a chromedriver this test started.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    pub async fn start() -> Browser {
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

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let res: Value = self.http.request(method, url).json(&body).send().await.unwrap().json().await.unwrap();
        assert!(res["value"].get("error").is_none(), "{path}: {res}");
        res["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url })).await;
    }

    pub async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", json!({})).await.as_str().unwrap().to_owned()
    }

    /// Waits (up to 10 s) for the page after a click or a redirect to be the one titled `expected`.
    pub async fn wait_title(&self, expected: &str) {
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
    pub async fn console_errors(&self) -> Vec<String> {
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
    pub async fn element(&self, css: &str) -> String {
        let el = self.call(reqwest::Method::POST, "/element", json!({"using": "css selector", "value": css})).await;
        el.as_object().unwrap().values().next().unwrap().as_str().unwrap().to_owned()
    }

    pub async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), json!({})).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/clear"), json!({})).await;
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), json!({ "text": text })).await;
    }

    /// Chooses the file at `path` in a file input (as a person picking it would).
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let id = self.element(css).await;
        let text = path.to_str().unwrap();
        self.call(reqwest::Method::POST, &format!("/element/{id}/value"), json!({ "text": text })).await;
    }

    /// Sets a field's value as a date picker would (typing into one depends on the locale).
    pub async fn set_value(&self, css: &str, value: &str) {
        let script = "document.querySelector(arguments[0]).value = arguments[1];";
        self.call(reqwest::Method::POST, "/execute/sync", json!({"script": script, "args": [css, value]})).await;
    }

    /// Resizes the window (1366 × 768 for a laptop, 390 × 844 for a phone).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", json!({"width": width, "height": height})).await;
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", json!({"script": script, "args": []})).await
    }

    /// Whether the page is wider than the window (content people must scroll sideways for).
    pub async fn overflows(&self) -> bool {
        self.run("return document.documentElement.scrollWidth > window.innerWidth;").await.as_bool().unwrap_or(true)
    }

    /// The accessibility violations axe-core finds on the page (`id: nodes` each), when
    /// `AXE_JS` names axe.min.js (`npm install axe-core`); `None` without it.
    pub async fn axe(&self) -> Option<Vec<String>> {
        let path = std::env::var("AXE_JS").ok()?;
        let script = std::fs::read_to_string(&path).expect("AXE_JS names a readable axe.min.js");
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": format!("{script}; return true;"), "args": []}),
        )
        .await;
        let run = "const done = arguments[arguments.length - 1]; \
                   axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}) \
                   .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))));";
        let found = self.call(reqwest::Method::POST, "/execute/async", json!({"script": run, "args": []})).await;
        Some(found.as_array().unwrap().iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect())
    }

    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", json!({})).await.as_str().unwrap().to_owned()
    }

    /// Waits (up to 10 s) for the page to contain `needle`, and returns it.
    pub async fn wait_source(&self, needle: &str) -> String {
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

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", json!({})).await;
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap()).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    pub async fn quit(mut self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// A running hall and a browser, unless SKIP_BROWSER_TESTS=1.
pub async fn hall_and_browser() -> Option<(TestApp, Browser)> {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        eprintln!("SKIP_BROWSER_TESTS=1: browser test skipped");
        return None;
    }
    Some((TestApp::spawn().await, Browser::start().await))
}

/// Screenshots at a laptop's and a phone's width; the page must fit the phone; axe's findings,
/// each named with `name`.
pub async fn look(browser: &Browser, name: &str) -> Vec<String> {
    browser.resize(1366, 768).await;
    browser.screenshot(name).await;
    let found = browser.axe().await.unwrap_or_default().into_iter().map(|v| format!("{name}: {v}")).collect();
    browser.resize(390, 844).await;
    browser.screenshot(&format!("{name}-phone")).await;
    assert!(!browser.overflows().await, "{name} fits a phone");
    browser.resize(1366, 768).await;
    found
}
