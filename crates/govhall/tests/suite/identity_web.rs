//! Identity and access over HTTP: registration with an SMS code, sign-in, sessions, CSRF,
//! lockout and throttling, enterprises, data scopes and personal data, bearer tokens. The
//! authorization matrix is in authorization.rs, the audit chain in audit_chain.rs.

use crate::common;

use common::{PASSWORD, TestApp, csrf_of, set_cookie};
use govhall_audit::{self as audit, Actor};
use govhall_db::{run, sqlx};
use govhall_identity::rbac::Grantee;
use govhall_identity::sessions::{Credentials, SessionKind};
use govhall_identity::{AdminRole, IdentityError, Permission, Scope};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

#[tokio::test]
async fn a_person_registers_with_an_sms_code_signs_in_sees_a_masked_profile_and_signs_out() {
    let t = TestApp::spawn().await;
    let page = t.get("/register").await;
    let visitor = set_cookie(&page, "govhall_visitor").unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let post = |fields: Vec<(&'static str, String)>| {
        let (client, url, visitor, csrf, origin) =
            (t.client.clone(), t.url("/register"), visitor.clone(), csrf.clone(), t.app.url());
        async move {
            let mut form = fields;
            form.push(("csrf", csrf));
            client.post(url).header("cookie", visitor).header("origin", origin).form(&form).send().await.unwrap()
        }
    };
    let res = post(vec![("action", "send_code".into()), ("phone", "1380013800".into())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("手机号码"), "the field is named");
    let res =
        post(vec![("action", "send_code".into()), ("phone", "13800138000".into()), ("real_name", "王五".into())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("验证码已发送") && html.contains("value=\"王五\""), "what was typed is kept");
    let code = t.sms_code("13800138000", 1).await;
    let full = |code: &str, id: &str, pw: &str| {
        vec![
            ("action", "register".to_owned()),
            ("phone", "13800138000".to_owned()),
            ("code", code.to_owned()),
            ("real_name", "王五".to_owned()),
            ("id_number", id.to_owned()),
            ("password", pw.to_owned()),
            ("password_again", pw.to_owned()),
        ]
    };
    let res = post(full(&code, "370102199003071235", PASSWORD)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a wrong check digit");
    let html = res.text().await.unwrap();
    assert!(html.contains("身份证") && html.contains("value=\"370102199003071235\""), "{html}");
    let res = post(full(&code, "370102199003071238", "short")).await;
    assert!(res.text().await.unwrap().contains("密码长度"));
    let res = post(full("000000", "370102199003071238", PASSWORD)).await;
    assert!(res.text().await.unwrap().contains("验证码"));
    let res = post(full(&code, "370102199003071238", PASSWORD)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/login?done=registered");

    // Stored encrypted, found by keyed hash.
    let mut conn = t.app.db().conn().await.unwrap();
    let (phone_enc, id_enc): (String, String) = run!(conn, |c| {
        sqlx::query_as("SELECT phone_enc, id_number_enc FROM accounts WHERE kind = 'person'").fetch_one(&mut *c).await
    })
    .unwrap();
    drop(conn);
    assert!(!phone_enc.contains("13800138000") && !id_enc.contains("3701021990"));

    let me = t.sign_in("370102199003071238", PASSWORD).await;
    let html = me.get("/account").await.text().await.unwrap();
    assert!(html.contains("138****8000") && html.contains("3701**********1238") && html.contains("王五"));
    assert!(!html.contains("13800138000") && !html.contains("370102199003071238"), "masked");
    let res = me.post("/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&res, "govhall_session").unwrap().ends_with('='), "cookie cleared");
    let res = me.get("/account").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the session is gone on the server too");
    t.stop().await;
}

#[tokio::test]
async fn forms_without_a_valid_csrf_token_or_from_another_site_are_refused() {
    let t = TestApp::spawn().await;
    t.person("13800138001", "370102199003071238").await;
    let me = t.sign_in("13800138001", PASSWORD).await;
    let bare = |token: Option<&str>, origin: &str| {
        let mut req = t
            .client
            .post(t.url("/account/sessions/revoke-others"))
            .header("cookie", &me.cookie)
            .header("origin", origin);
        req = match token {
            Some(tok) => req.form(&[("csrf", tok)]),
            None => req.form(&[("x", "y")]),
        };
        req.send()
    };
    let res = bare(None, &t.app.url()).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("页面已过期"));
    assert_eq!(bare(Some("forged"), &t.app.url()).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(bare(Some(&me.csrf), "https://evil.example").await.unwrap().status(), StatusCode::FORBIDDEN);
    // Another visitor's token does not work for this session.
    let other = csrf_of(&t.get("/login").await.text().await.unwrap());
    assert_eq!(bare(Some(&other), &t.app.url()).await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(bare(Some(&me.csrf), &t.app.url()).await.unwrap().status(), StatusCode::SEE_OTHER);
    // Login itself needs the visitor's token.
    let res = t
        .client
        .post(t.url("/login"))
        .header("origin", t.app.url())
        .form(&[("login", "13800138001"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    t.stop().await;
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_and_a_reset_by_sms_unlocks_it() {
    let t = TestApp::spawn_with(|s| s.messaging.code_min_interval_secs = 0).await;
    t.person("13800138002", "370102199003071238").await;
    let page = t.get("/login").await;
    let visitor = set_cookie(&page, "govhall_visitor").unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let try_login = |password: &'static str| {
        let (client, url, visitor, csrf, origin) =
            (t.client.clone(), t.url("/login"), visitor.clone(), csrf.clone(), t.app.url());
        async move {
            client
                .post(url)
                .header("cookie", visitor)
                .header("origin", origin)
                .form(&[("login", "13800138002"), ("password", password), ("csrf", &csrf)])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..4 {
        let res = try_login("wrong-pass-1").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.text().await.unwrap().contains("账号或密码不正确"));
    }
    let res = try_login("wrong-pass-1").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "the fifth failure locks");
    let res = try_login(PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(res.text().await.unwrap().contains("临时锁定"));

    let identity = t.app.identity();
    identity.send_reset_code("13800138002", &common::code_request("13800138002", identity)).await.unwrap();
    let code = t.sms_code("13800138002", 2).await;
    identity.reset_password("13800138002", &code, "New-pass-456", "127.0.0.1").await.unwrap();
    t.sign_in("13800138002", "New-pass-456").await;

    // Administrators are never reset by SMS: they are told so instead of getting a code, and a
    // guessed code does not work; an operator resets them from the command line.
    t.admin(AdminRole::Audit, "13700000009").await;
    identity.send_reset_code("13700000009", &common::code_request("13700000009", identity)).await.unwrap();
    let outbox = t.app.messaging().sandbox_outbox().unwrap();
    for _ in 0..200 {
        if !outbox.sent_to("13700000009").is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let sent = outbox.sent_to("13700000009");
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.contains("管理员账号不能通过短信") && !sent[0].body.contains("验证码为"), "{}", sent[0].body);
    assert!(identity.reset_password("13700000009", "123456", "Other-pass-789", "127.0.0.1").await.is_err());
    identity.set_password(&Actor::system("test"), "13700000009", "Other-pass-789").await.unwrap();
    t.sign_in("13700000009", "Other-pass-789").await;

    // An address that fails too often waits, whatever account it tries.
    let many = TestApp::spawn_with(|s| s.identity.address_failures = 3).await;
    let from_one_address = async |login: &str| {
        let creds = Credentials {
            login: login.into(),
            password: "x".into(),
            client_ip: "10.0.0.9".into(),
            ..Credentials::default()
        };
        many.app.identity().login(&creds, SessionKind::Web).await.unwrap_err()
    };
    for login in ["13900000001", "13900000002", "13900000003"] {
        let err = from_one_address(login).await;
        assert!(matches!(err, IdentityError::BadCredentials), "{err:?}");
    }
    let err = from_one_address("13900000004").await;
    assert!(matches!(err, IdentityError::Throttled), "{err:?}");
    many.stop().await;
    t.stop().await;
}

#[tokio::test]
async fn people_see_and_end_only_their_own_sessions_and_enterprises() {
    let t = TestApp::spawn().await;
    t.person("13800138003", "370102199003071238").await;
    t.person("13800138004", "11010519491231002X").await;
    let a = t.sign_in("13800138003", PASSWORD).await;
    let a_phone = t.sign_in("13800138003", PASSWORD).await;
    let b = t.sign_in("13800138004", PASSWORD).await;
    let sessions_of_a = t
        .app
        .identity()
        .sessions_of(t.app.identity().find_account("13800138003").await.unwrap().unwrap())
        .await
        .unwrap();
    assert_eq!(sessions_of_a.len(), 2);
    for s in &sessions_of_a {
        let res = b.post(&format!("/account/sessions/{}/revoke", s.id), &[]).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "B cannot end A's session by its id");
    }
    assert_eq!(a.get("/account").await.status(), StatusCode::OK);
    // "Log out everywhere" ends A's other session, not this one.
    assert_eq!(a.post("/account/sessions/revoke-others", &[]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(a.get("/account").await.status(), StatusCode::OK);
    assert_eq!(a_phone.get("/account").await.status(), StatusCode::SEE_OTHER);

    // Enterprises: A registers one and invites B as an agent; B accepts and acts for it.
    let res = a
        .post(
            "/account/enterprises",
            &[("credit_code", "91350100M000100Y40"), ("name", "测试公司"), ("legal_representative", "张三")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a wrong check character is named");
    let res = a
        .post(
            "/account/enterprises",
            &[("credit_code", "91350100M000100Y43"), ("name", "测试公司"), ("legal_representative", "张三")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = a.get("/account/enterprises").await.text().await.unwrap();
    let enterprise = html.split("/account/enterprises/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let res = b
        .post(&format!("/account/enterprises/{enterprise}/invite"), &[("phone", "13800138003"), ("role", "admin")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "only the enterprise's administrators invite");
    let res = b.post(&format!("/account/enterprises/{enterprise}/accept"), &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "no invitation yet");
    let res = a
        .post(&format!("/account/enterprises/{enterprise}/invite"), &[("phone", "13800138004"), ("role", "agent")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = b.post("/account/acting", &[("enterprise", &enterprise)]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "not a member until accepted");
    assert_eq!(b.post(&format!("/account/enterprises/{enterprise}/accept"), &[]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.post("/account/acting", &[("enterprise", &enterprise)]).await.status(), StatusCode::SEE_OTHER);
    let html = b.get("/account").await.text().await.unwrap();
    assert!(html.contains("测试公司"), "B acts for the enterprise");

    // 企业信息维护: administrators only, checked, audited with what changed.
    let details = |name: &'static str, phone: &'static str| {
        vec![
            ("name", name),
            ("legal_representative", "张三"),
            ("address", "福州市鼓楼区五四路 1 号"),
            ("contact_name", "李四"),
            ("contact_phone", phone),
        ]
    };
    let path = format!("/account/enterprises/{enterprise}/details");
    assert_eq!(b.post(&path, &details("改名公司", "")).await.status(), StatusCode::FORBIDDEN);
    // A direction override never reaches the record (the web layer takes it out of every form).
    assert_eq!(a.post(&path, &details("测试\u{202e}公司", "")).await.status(), StatusCode::SEE_OTHER);
    let kept =
        t.app.identity().enterprise(govhall_identity::EnterpriseId::from_uuid(enterprise.parse().unwrap())).await;
    assert_eq!(kept.unwrap().name, "测试公司");
    let res = a.post(&path, &details("<b>公司</b>", "")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("企业名称不能为空，不超过 100 个字，且不含尖括号"));
    assert_eq!(a.post(&path, &details("新测试公司", "1380013")).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.post(&path, &details("新测试公司", "13800138009")).await.status(), StatusCode::SEE_OTHER);
    let html = a.get("/account/enterprises").await.text().await.unwrap();
    assert!(html.contains("企业信息已保存") || html.contains("福州市鼓楼区五四路 1 号"), "{html}");
    let mut conn = t.app.db().conn().await.unwrap();
    let detail: String = run!(conn, |c| sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'enterprise.update' ORDER BY seq DESC LIMIT 1"
    )
    .fetch_one(&mut *c)
    .await)
    .unwrap();
    drop(conn);
    assert!(detail.contains("企业名称：测试公司 → 新测试公司") && detail.contains("联系电话"), "{detail}");
    assert!(!detail.contains("13800138009"), "the number itself stays out of the log");

    // The same through the API, for the app.
    let bearer = t.bearer("13800138003").await;
    let mine: Value = t
        .client
        .get(t.url("/api/v1/me/enterprises"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine[0]["details"]["contact_phone"], "13800138009", "{mine}");
    let res = t
        .client
        .post(t.url(&format!("/api/v1/me/enterprises/{enterprise}/details")))
        .header("authorization", &bearer)
        .json(&json!({"name": "新测试公司", "legal_representative": "王五", "contact_phone": "12345"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = t
        .client
        .post(t.url(&format!("/api/v1/me/enterprises/{enterprise}/details")))
        .header("authorization", &bearer)
        .json(&json!({"name": "新测试公司", "legal_representative": "王五"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["legal_representative"], "王五");

    // Removed by the administrator, B can no longer act for it.
    let b_id = t.app.identity().find_account("13800138004").await.unwrap().unwrap();
    let res = a.post(&format!("/account/enterprises/{enterprise}/members/{}/remove", b_id.as_uuid()), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.post("/account/acting", &[("enterprise", &enterprise)]).await.status(), StatusCode::FORBIDDEN);
    t.stop().await;
}

#[tokio::test]
async fn data_scopes_limit_staff_and_every_view_of_personal_data_is_audited() {
    let t = TestApp::spawn().await;
    let identity = t.app.identity();
    let province = t.department("山东省政务服务管理办公室", "370000", None).await;
    let jinan = t.department("济南市行政审批服务局", "370100", Some(province)).await;
    let qingdao = t.department("青岛市行政审批服务局", "370200", Some(province)).await;
    let clerk = t.staff("13600000001", jinan).await;
    let other = t.staff("13600000002", qingdao).await;
    let citizen = t.person("13800138005", "370102199003071238").await;
    let actor = Actor::system("test");
    let role = identity
        .save_role(&actor, "registry", "户籍窗口", &[Permission::PersonView, Permission::PersonViewPersonalData])
        .await
        .unwrap();
    // Administrators' permissions cannot be put in a business role.
    assert!(identity.save_role(&actor, "sneaky", "越权", &[Permission::AuditView]).await.is_err());

    let system = identity.roles().await.unwrap().into_iter().find(|r| r.admin_role == Some(AdminRole::System)).unwrap();
    assert!(
        identity.grant(&actor, system.id, Grantee::Account(clerk), Scope::All).await.is_err(),
        "admin roles are not granted"
    );
    assert!(
        identity.grant(&actor, role, Grantee::Account(citizen), Scope::All).await.is_err(),
        "business roles go to staff, never to the people who use the hall"
    );
    identity.grant(&actor, role, Grantee::Department(jinan), Scope::Own).await.unwrap();
    let access = identity.access(clerk).await.unwrap();
    assert!(access.has(Permission::PersonView) && !access.has(Permission::AuditView));
    let me = t.sign_in("13600000001", PASSWORD).await;
    // With scope "own", the clerk sees only records they own: not the citizen's numbers.
    let res = me.post(&format!("/admin/people/{citizen}/reveal"), &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Staff management is the system administrator's, never a business role's.
    let res = me.post(&format!("/admin/staff/{other}/status"), &[("active", "false")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    identity.grant(&actor, role, Grantee::Account(clerk), Scope::All).await.unwrap();
    let res = me.post(&format!("/admin/people/{citizen}/reveal"), &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("370102199003071238"));
    let html = me.get("/admin/people").await.text().await.unwrap();
    assert!(html.contains("3701**********1238") && !html.contains("370102199003071238"), "lists stay masked");

    let views = audit::search(
        t.app.db(),
        &audit::Filter { action: Some("person.view_personal_data".into()), ..Default::default() },
        10,
        0,
    )
    .await
    .unwrap();
    assert_eq!(views.iter().map(|e| e.result.as_str()).collect::<Vec<_>>(), ["success", "denied"]);
    assert!(views.iter().all(|e| e.target_id == citizen.to_string() && e.actor_id == Some(clerk.as_uuid())));
    t.stop().await;
}

#[tokio::test]
async fn the_app_signs_in_with_bearer_tokens_that_can_be_revoked() {
    let t = TestApp::spawn().await;
    t.person("13800138007", "370102199003071238").await;
    let res = t
        .client
        .post(t.url("/api/v1/sessions"))
        .json(&json!({"login": "13800138007", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "bad_credentials");
    let res = t
        .client
        .post(t.url("/api/v1/sessions"))
        .body("not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = t
        .client
        .post(t.url("/api/v1/sessions"))
        .json(&json!({"login": "13800138007", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["account"]["phone"], "138****8007");
    let me = |token: String| t.client.get(t.url("/api/v1/me")).bearer_auth(token).send();
    let res = me(token.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["id_number"], "3701**********1238");
    assert_eq!(me("forged".into()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // A token is not a cookie, and a cookie is not a token.
    let res =
        t.client.get(t.url("/account")).header("cookie", format!("govhall_session={token}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut conn = t.app.db().conn().await.unwrap();
    let stored: i64 = run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = $1")
        .bind(&token)
        .fetch_one(&mut *c)
        .await)
    .unwrap();
    drop(conn);
    assert_eq!(stored, 0, "tokens are stored hashed");
    // A disabled account's token opens nothing, and stays revoked when the account is enabled
    // again: it signs in anew.
    let account = t.app.identity().find_account("13800138007").await.unwrap().unwrap();
    let actor = govhall_audit::Actor::system("test");
    t.app.identity().set_active(&actor, account, false).await.unwrap();
    assert_eq!(me(token.clone()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    t.app.identity().set_active(&actor, account, true).await.unwrap();
    assert_eq!(me(token.clone()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let token = t.bearer("13800138007").await.trim_start_matches("Bearer ").to_owned();
    assert_eq!(me(token.clone()).await.unwrap().status(), StatusCode::OK);
    // A token left unused past the idle time opens nothing.
    let mut conn = t.app.db().conn().await.unwrap();
    let long_ago = t.app.db().now() - chrono::Duration::days(400);
    govhall_db::exec!(conn, sqlx::query("UPDATE sessions SET last_seen_at = $1").bind(long_ago)).unwrap();
    drop(conn);
    assert_eq!(me(token.clone()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::exec!(conn, sqlx::query("UPDATE sessions SET last_seen_at = $1").bind(t.app.db().now())).unwrap();
    drop(conn);
    let res = t.client.delete(t.url("/api/v1/sessions/current")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(token).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    t.stop().await;
}
