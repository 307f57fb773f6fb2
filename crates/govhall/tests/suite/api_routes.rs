//! The API's routes: every `/api/` route of the route table is in the OpenAPI document and
//! every operation of the document is a route; and every API route, called with a bearer token
//! of each kind of account (a person, an enterprise's agent, staff with and without a
//! permission, each administrator; and with none, and with a forged one), is allowed exactly when its
//! guard says so.

use crate::common;

use common::TestApp;
use govhall_audit::Actor;
use govhall_identity::rbac::Grantee;
use govhall_identity::{AdminRole, Permission, Scope};
use govhall_web::auth::Guard;
use reqwest::StatusCode;
use std::collections::BTreeSet;

/// Routes that check credentials of their own (an API key, a provider's signature, a password)
/// instead of a session; their own tests cover them (serial_numbers_web.rs, messaging_web.rs,
/// identity_web.rs, exchange.rs). Signing out with the token would end it for the rest of the matrix.
const OWN_CREDENTIALS: &[&str] = &[
    "POST /api/v1/serial-numbers",
    "GET /api/v1/serial-numbers/{number}",
    "POST /api/v1/messaging/sms-receipts",
    "POST /api/v1/payments/notifications",
    "POST /api/v1/logistics/notifications",
    "GET /api/v1/exchange/cases",
    "POST /api/v1/exchange/cases",
    "POST /api/v1/exchange/cases/ack",
    "GET /api/v1/exchange/cases/{serial}/files/{file}",
    "POST /api/v1/exchange/events",
    "POST /api/v1/exchange/events/batch",
    "POST /api/v1/sessions",
    "DELETE /api/v1/sessions/current",
];

fn concrete(path: &str) -> String {
    path.replace("{id}", &uuid::Uuid::now_v7().to_string())
        .replace("{file}", &uuid::Uuid::now_v7().to_string())
        .replace("{slot}", "no-such-slot")
        .replace("{serial}", "370100010100000001")
        .replace("{number}", "370100010100000001")
        .replace("{date}", "2026-10-01")
        .replace("{code}", "NO-SUCH-ITEM")
}

#[tokio::test]
async fn every_api_route_is_documented_and_every_documented_operation_is_a_route() {
    let t = TestApp::spawn().await;
    let doc: serde_json::Value = t.get("/api/v1/openapi.json").await.json().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for method in operations.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let routes: BTreeSet<String> =
        govhall_web::route_table().into_iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    // Every API operation but the document itself is documented (the probes are too).
    let undocumented: Vec<_> = routes
        .iter()
        .filter(|r| r.contains(" /api/") && *r != "GET /api/v1/openapi.json" && !documented.contains(*r))
        .collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(undocumented.is_empty(), "routes missing from the OpenAPI document: {undocumented:?}");
    assert!(unrouted.is_empty(), "documented operations without a route: {unrouted:?}");
    t.stop().await;
}

#[tokio::test]
async fn every_api_route_allows_exactly_the_bearers_its_guard_names() {
    let t = TestApp::spawn().await;
    t.person("13800138006", "370102199003071238").await;
    // An enterprise's agent: a person who registered an enterprise and acts for it.
    let agent = t.person("13800138016", &common::test_id_number(16)).await;
    let jinan = t.department("济南市行政审批服务局", "370100", None).await;
    let reviewer = t.staff("13600000003", jinan).await;
    t.staff("13600000004", jinan).await;
    let identity = t.app.identity();
    let actor = Actor::system("test");
    identity.register_enterprise(&actor, agent, "91350100M000100Y43", "福州测试科技有限公司", "张三").await.unwrap();
    let role = identity.save_role(&actor, "reviewer", "审查", &[Permission::CaseReview]).await.unwrap();
    identity.grant(&actor, role, Grantee::Account(reviewer), Scope::Department).await.unwrap();
    t.admin(AdminRole::System, "13700000011").await;
    t.admin(AdminRole::Security, "13700000012").await;
    t.admin(AdminRole::Audit, "13700000013").await;

    let viewers: Vec<(&str, Option<String>)> = vec![
        ("anonymous", None),
        ("forged token", Some("Bearer not-a-token-at-all".to_owned())),
        ("person", Some(t.bearer("13800138006").await)),
        ("enterprise agent", Some(t.bearer("13800138016").await)),
        ("staff with a permission", Some(t.bearer("13600000003").await)),
        ("staff without one", Some(t.bearer("13600000004").await)),
        ("system administrator", Some(t.bearer("13700000011").await)),
        ("security administrator", Some(t.bearer("13700000012").await)),
        ("audit administrator", Some(t.bearer("13700000013").await)),
    ];
    let mut checked = 0;
    for spec in govhall_web::route_table() {
        let route = format!("{} {}", spec.method, spec.path);
        if !spec.path.starts_with("/api/") || OWN_CREDENTIALS.contains(&route.as_str()) {
            continue;
        }
        let path = concrete(spec.path);
        for (who, token) in &viewers {
            let signed_in = token.is_some() && *who != "forged token";
            let allowed = match spec.guard {
                Guard::Public => true,
                Guard::SignedIn => signed_in,
                // No API route needs a permission today; if one does, name who holds it here.
                Guard::Permission(_) | Guard::AnyOf(_) => panic!("{route}: add its holders to this test"),
            };
            let url = t.url(&path);
            let mut request = match spec.method {
                "POST" => t.client.post(&url).json(&serde_json::json!({})),
                "DELETE" => t.client.delete(&url),
                _ => t.client.get(&url),
            };
            if let Some(token) = token {
                request = request.header("authorization", token);
            }
            let res = request.send().await.unwrap();
            let status = res.status();
            assert!(status.as_u16() < 500, "{who} {route}: {status}");
            let denied = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
            assert_eq!(!denied, allowed, "{who} {route} ({path}): {status}");
            if denied {
                let body: serde_json::Value = res.json().await.unwrap();
                assert!(body["code"].is_string(), "{who} {route}: a stable code in {body}");
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked}");
    t.stop().await;
}
