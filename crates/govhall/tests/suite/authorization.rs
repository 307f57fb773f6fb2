//! The authorization matrix: every route of the route table, called by every kind of viewer,
//! is allowed exactly when its guard says so.

use crate::common;

use common::{Agent, PASSWORD, TestApp, csrf_of, set_cookie};
use govhall_audit::Actor;
use govhall_identity::rbac::Grantee;
use govhall_identity::{AdminRole, Permission, Scope};
use govhall_web::auth::Guard;
use reqwest::StatusCode;
use reqwest::header::LOCATION;

/// Every route, called by every kind of viewer: allowed exactly when the guard says so.
#[tokio::test]
async fn every_route_allows_exactly_the_viewers_its_guard_names() {
    let t = TestApp::spawn().await;
    t.person("13800138006", "370102199003071238").await;
    let jinan = t.department("济南市行政审批服务局", "370100", None).await;
    let clerk = t.staff("13600000003", jinan).await;
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let role = identity
        .save_role(&actor, "reviewer", "审查", &[Permission::CaseReview, Permission::PersonView])
        .await
        .unwrap();
    identity.grant(&actor, role, Grantee::Account(clerk), Scope::Department).await.unwrap();

    let login_page = t.get("/login").await;
    let anonymous = Agent {
        cookie: set_cookie(&login_page, "govhall_visitor").unwrap(),
        csrf: csrf_of(&login_page.text().await.unwrap()),
        base: t.app.url(),
        client: t.client.clone(),
    };
    let viewers: Vec<(&str, Option<Agent>)> = vec![
        ("anonymous", None),
        ("person", Some(t.sign_in("13800138006", PASSWORD).await)),
        ("staff", Some(t.sign_in("13600000003", PASSWORD).await)),
        ("system", Some(t.admin(AdminRole::System, "13700000011").await)),
        ("security", Some(t.admin(AdminRole::Security, "13700000012").await)),
        ("audit", Some(t.admin(AdminRole::Audit, "13700000013").await)),
    ];
    let holds = |who: &str, p: Permission| match who {
        "staff" => matches!(p, Permission::CaseReview | Permission::PersonView),
        "system" => p.admin_role() == Some(AdminRole::System),
        "security" => p.admin_role() == Some(AdminRole::Security),
        "audit" => p.admin_role() == Some(AdminRole::Audit),
        _ => false,
    };
    let mut checked = 0;
    for spec in govhall_web::route_table() {
        if spec.path.starts_with("/api/") || spec.path == "/logout" {
            continue; // the API is checked with bearer tokens below; signing out would end the session
        }
        let path = spec
            .path
            .replace("{id}", &uuid::Uuid::now_v7().to_string())
            .replace("{file}", "none.css")
            .replace("{date}", "2026-10-01")
            .replace("{code}", "NO-SUCH-ITEM")
            .replace("{action}", "submit");
        for (who, agent) in &viewers {
            let allowed = match spec.guard {
                Guard::Public => true,
                Guard::SignedIn => agent.is_some(),
                Guard::Permission(p) => holds(who, p),
                Guard::AnyOf(ps) => ps.iter().any(|p| holds(who, *p)),
            };
            let agent = agent.as_ref().unwrap_or(&anonymous);
            let res = if spec.method == "POST" { agent.post(&path, &[]).await } else { agent.get(&path).await };
            let status = res.status();
            let denied = status == StatusCode::FORBIDDEN
                || status == StatusCode::UNAUTHORIZED
                || (status == StatusCode::SEE_OTHER
                    && res.headers()[LOCATION].to_str().unwrap().starts_with("/login?next="));
            assert_eq!(!denied, allowed, "{who} {} {path}: {status}", spec.method);
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked}");
    t.stop().await;
}

/// Who is told as holding a permission: staff given it on their own, through a group or through
/// their department, while active; nobody else.
#[tokio::test]
async fn staff_holding_a_permission_are_found_by_every_kind_of_grant() {
    let t = TestApp::spawn().await;
    let jinan = t.department("济南市行政审批服务局", "370100", None).await;
    let qingdao = t.department("青岛市行政审批服务局", "370200", None).await;
    let own = t.staff("13600000011", jinan).await;
    let grouped = t.staff("13600000012", jinan).await;
    let by_department = t.staff("13600000013", qingdao).await;
    let left = t.staff("13600000014", jinan).await;
    let without = t.staff("13600000015", jinan).await;
    t.person("13800138016", "370102199003071238").await;
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let role = identity.save_role(&actor, "supervisor", "监督", &[Permission::CaseSupervise]).await.unwrap();
    let other = identity.save_role(&actor, "reviewer", "审查", &[Permission::CaseReview]).await.unwrap();
    identity.grant(&actor, role, Grantee::Account(own), Scope::Department).await.unwrap();
    identity.grant(&actor, role, Grantee::Account(left), Scope::Department).await.unwrap();
    identity.grant(&actor, other, Grantee::Account(without), Scope::All).await.unwrap();
    let group = identity.create_group(&actor, "督查组").await.unwrap();
    identity.add_to_group(&actor, group, grouped).await.unwrap();
    identity.grant(&actor, role, Grantee::Group(group), Scope::Region).await.unwrap();
    identity.grant(&actor, role, Grantee::Department(qingdao), Scope::Department).await.unwrap();
    identity.set_active(&actor, left, false).await.unwrap();

    let mut found: Vec<_> =
        identity.staff_holding(Permission::CaseSupervise).await.unwrap().into_iter().map(|(a, _)| a).collect();
    found.sort();
    let mut expected = vec![own, grouped, by_department];
    expected.sort();
    assert_eq!(found, expected);
    let access = identity.staff_holding(Permission::CaseSupervise).await.unwrap();
    assert!(access.iter().all(|(_, a)| a.has(Permission::CaseSupervise)));
}
