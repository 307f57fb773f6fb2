//! The web skeleton over HTTP, against the real router and a fresh database.

use crate::common;

use common::TestApp;
use reqwest::StatusCode;
use reqwest::header::{ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};
use serde_json::Value;

#[tokio::test]
async fn home_page_is_chinese_and_has_the_site_layout() {
    let t = TestApp::spawn().await;
    let res = t.get("/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"<html lang="zh-CN">"#));
    assert!(html.contains("<title>首页 - 网上政务服务大厅</title>"));
    for nav in ["个人办事", "企业办事", "部门服务"] {
        assert!(html.contains(nav), "header lacks {nav}");
    }
    assert!(html.contains(r#"action="/search""#), "search box");
    assert!(html.contains("政务服务热线"), "footer");
    assert!(!html.contains("<script>") && !html.contains("style=\""), "nothing inline: the CSP forbids it");
    t.stop().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_a_request_id() {
    let t = TestApp::spawn().await;
    for path in ["/", "/no-such-page", "/api/v1/nothing", "/healthz"] {
        let res = t.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(!h["x-request-id"].is_empty());
    }
    // A request id from the proxy is kept.
    let res = t.client.get(t.url("/healthz")).header("x-request-id", "lb-42").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "lb-42");
    t.stop().await;
}

#[tokio::test]
async fn errors_are_a_chinese_page_for_people_and_json_for_programs() {
    let t = TestApp::spawn().await;
    let res = t.get("/no-such-page").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    let html = res.text().await.unwrap();
    assert!(html.contains("<title>页面不存在 - 网上政务服务大厅</title>"));
    assert!(html.contains("您访问的页面不存在") && html.contains("not_found") && html.contains("返回首页"));

    let res = t.get("/api/v1/no-such-thing").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert!(body["message"].as_str().unwrap().contains("不存在"));

    // Errors axum raises itself are rendered the same way.
    let res = t.client.post(t.url("/api/v1/calendar/deadline")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(res.headers()[ALLOW].to_str().unwrap().contains("GET"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
    assert_eq!(body["message"], "不支持此请求方式");

    let res = t
        .client
        .post(t.url("/api/v1/calendar/deadline"))
        .header(CONTENT_TYPE, "application/json")
        .body(vec![b' '; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "payload_too_large");
    t.stop().await;
}

#[tokio::test]
async fn probes_report_the_node() {
    let t = TestApp::spawn().await;
    let res = t.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");

    let body: Value = t.get("/readyz").await.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], true);
    assert_eq!(body["migrations_current"], true);
    let backend = if t.db.database_url.is_some() { "postgres" } else { "sqlite" };
    assert_eq!(body["backend"], backend);

    // A database behind this binary's migrations is not ready, and says why.
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::exec!(
        conn,
        govhall_db::sqlx::query(
            "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)"
        )
    )
    .unwrap();
    drop(conn);
    let res = t.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["migrations_current"], false);
    assert_eq!(body["pending_migrations"].as_array().unwrap().len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_jobs_by_state() {
    let t = TestApp::spawn().await;
    t.get("/").await;
    t.get("/api/v1/calendar/days/2026-10-01").await;
    t.get("/api/v1/calendar/days/2026-10-02").await;
    let res = t.get("/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.contains(r#"govhall_http_requests_total{method="GET",route="/",status="200"} 1"#), "{text}");
    // By route pattern, never by raw path.
    assert!(
        text.contains(
            r#"govhall_http_requests_total{method="GET",route="/api/v1/calendar/days/{date}",status="200"} 2"#
        )
    );
    assert!(text.contains("govhall_http_request_duration_seconds_bucket"));
    for state in ["queued", "running", "done", "dead"] {
        assert!(text.contains(&format!("govhall_jobs{{state=\"{state}\"}}")), "jobs by state: {state}");
    }
    assert!(text.contains("govhall_change_feed_position"));
    assert!(text.trim_end().ends_with("# EOF"));
    t.stop().await;
}

#[tokio::test]
async fn openapi_document_is_3_1_and_describes_the_api() {
    let t = TestApp::spawn().await;
    let doc: Value = t.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in
        ["/api/v1/calendar/deadline", "/api/v1/calendar/days/{date}", "/healthz", "/readyz", "/api/v1/openapi.json"]
    {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert_eq!(doc["paths"]["/api/v1/calendar/deadline"]["get"]["summary"], "计算办结期限");
    let html = t.get("/docs/api").await.text().await.unwrap();
    assert!(
        html.contains("开放接口文档") && html.contains("/api/v1/calendar/deadline") && html.contains("计算办结期限")
    );
    t.stop().await;
}

#[tokio::test]
async fn static_assets_have_hashed_names_and_long_caching() {
    let t = TestApp::spawn().await;
    let html = t.get("/").await.text().await.unwrap();
    let css =
        html.split("href=\"").find_map(|s| s.split('"').next().filter(|u| u.ends_with(".css"))).unwrap().to_owned();
    assert!(css.starts_with("/static/app.") && css.len() > "/static/app.css".len(), "{css}");
    let res = t.client.get(t.url(&css)).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(res.headers()[CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(res.headers()[CONTENT_ENCODING], "gzip", "compressed");
    assert_eq!(t.get("/static/app.css").await.status(), StatusCode::NOT_FOUND, "only hashed names");
    assert_eq!(t.get("/static/..%2f..%2fCargo.toml").await.status(), StatusCode::NOT_FOUND);
    t.stop().await;
}

#[tokio::test]
async fn working_day_api_follows_the_official_calendar() {
    let t = TestApp::spawn().await;
    let day: Value = t.get("/api/v1/calendar/days/2026-10-10").await.json().await.unwrap();
    assert_eq!(day["working_day"], true);
    assert_eq!(day["kind"], "workday");
    assert_eq!(day["occasion"], "国庆节");
    let day: Value = t.get("/api/v1/calendar/days/2026-10-05").await.json().await.unwrap();
    assert_eq!((day["working_day"].as_bool(), day["kind"].as_str()), (Some(false), Some("holiday")));

    let d: Value = t.get("/api/v1/calendar/deadline?from=2026-09-30&days=4").await.json().await.unwrap();
    assert_eq!(d["due"], "2026-10-12");
    assert_eq!(d["covered"], true);

    for (query, code) in [
        ("from=2026-02-30&days=1", "invalid_date"),
        ("days=1", "invalid_date"),
        ("from=2026-09-30&days=-1", "invalid_days"),
        ("from=2026-09-30&days=99999", "invalid_days"),
        ("from=2026-09-30", "invalid_days"),
    ] {
        let res = t.get(&format!("/api/v1/calendar/deadline?{query}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], code, "{query}");
        assert!(!body["message"].as_str().unwrap().is_ascii(), "a Chinese message: {body}");
    }
    let res = t.get("/api/v1/calendar/days/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    t.stop().await;
}

#[tokio::test]
async fn a_failure_inside_is_a_chinese_500_page_that_says_nothing_internal() {
    let t = TestApp::spawn().await;
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::exec!(conn, govhall_db::sqlx::query("DROP TABLE jobs")).unwrap();
    drop(conn);
    let res = t.get("/metrics").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let html = res.text().await.unwrap();
    assert!(html.contains("系统繁忙") && html.contains("internal_error"), "{html}");
    assert!(html.contains(&request_id), "the page shows the request id to quote to the hotline");
    for leak in ["jobs", "sqlx", "no such table", "does not exist", "SELECT"] {
        assert!(!html.contains(leak), "the page leaks {leak:?}");
    }
    t.stop().await;
}

#[tokio::test]
async fn request_ids_from_clients_are_kept_only_when_plain() {
    let t = TestApp::spawn().await;
    for bad in ["<script>alert(1)</script>", &"x".repeat(200), "请告诉热线这个编号"] {
        let res = t.client.get(t.url("/no-such-page")).header("x-request-id", bad).send().await;
        let Ok(res) = res else { continue }; // a header reqwest refuses to send is fine too
        let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, bad);
        assert!(id.len() <= 64);
        let html = res.text().await.unwrap();
        assert!(!html.contains("<script>alert"), "never echoed");
    }
    t.stop().await;
}

#[tokio::test]
async fn metrics_can_require_a_token_and_never_grow_a_series_per_method() {
    let t = TestApp::spawn_with(|s| s.web.metrics_token = govhall_core::Secret::new("scrape-me")).await;
    assert_eq!(t.get("/metrics").await.status(), StatusCode::UNAUTHORIZED);
    let wrong = t.client.get(t.url("/metrics")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    for method in ["FOO", "BAR", "BAZ"] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        t.client.request(m, t.url("/")).send().await.unwrap();
    }
    let res = t.client.get(t.url("/metrics")).bearer_auth("scrape-me").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(!text.contains("FOO") && text.contains(r#"method="OTHER""#), "{text}");
    t.stop().await;
}

#[tokio::test]
async fn absurd_dates_are_refused_not_crashed_on() {
    let t = TestApp::spawn().await;
    for query in ["from=%2B262142-12-31&days=1", "from=9999-12-31&days=1000", "from=0001-01-01&days=1"] {
        let res = t.get(&format!("/api/v1/calendar/deadline?{query}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_date");
    }
    t.stop().await;
}
