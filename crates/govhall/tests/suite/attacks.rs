//! What an attacker tried (issue 16), over HTTP against a real node, on both backends: guesses
//! sent at once, password checks that would eat the memory, who is registered, SMS flooding,
//! an administrator using a staff account, locks anyone could set, hidden direction
//! characters, made-up division codes, world-readable data, public metrics.

use crate::common;

use common::{Agent, PASSWORD, TestApp, csrf_of, set_cookie};
use govhall_audit::Actor;
use govhall_db::{exec, run, sqlx};
use govhall_identity::AdminRole;
use govhall_identity::codes::{Challenge, solve};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PHONE: &str = "13800138010";
const ID: &str = "370102199003071238";

async fn api_login(
    t: &TestApp,
    login: impl AsRef<str>,
    password: impl AsRef<str>,
    from: impl AsRef<str>,
) -> (StatusCode, Value) {
    let res = t
        .client
        .post(t.url("/api/v1/sessions"))
        .header("x-real-ip", from.as_ref())
        .json(&json!({"login": login.as_ref(), "password": password.as_ref()}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn guesses_sent_at_once_are_counted_before_they_are_checked() {
    let t = TestApp::spawn_with(|s| s.web.behind_proxy = true).await;
    t.person(PHONE, ID).await;

    // Sixty wrong passwords at once from one address: at most five are ever checked.
    let tries: Vec<_> = (0..60).map(|i| api_login(&t, PHONE, format!("Wrong-pass-{i}"), "203.0.113.5")).collect();
    let answers = futures::future::join_all(tries).await;
    let bad = answers.iter().filter(|(_, b)| b["code"] == "bad_credentials").count();
    let refused =
        answers.iter().filter(|(_, b)| b["code"] == "account_locked" || b["code"] == "login_throttled").count();
    assert!(bad <= 5, "{bad} guesses were checked");
    assert_eq!(bad + refused, 60, "every other guess is refused (locked, or the address throttled): {answers:?}");
    // The right password from that address now waits too; the owner elsewhere signs in.
    let (status, body) = api_login(&t, PHONE, PASSWORD, "203.0.113.5").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.get("token").is_none());
    let (status, body) = api_login(&t, PHONE, PASSWORD, "198.51.100.7").await;
    assert_eq!(status, StatusCode::CREATED, "the owner is not locked out from another address: {body}");

    // A login that names nobody is locked the same way: the lock tells nothing.
    let tries: Vec<_> = (0..12).map(|_| api_login(&t, "13900000099", "Wrong-pass-1", "203.0.113.6")).collect();
    let answers = futures::future::join_all(tries).await;
    assert!(answers.iter().filter(|(_, b)| b["code"] == "bad_credentials").count() <= 5);
    assert!(answers.iter().any(|(_, b)| b["code"] == "account_locked"), "{answers:?}");

    // Many different logins at once from one address: the address limit holds whatever they name.
    let tries: Vec<_> =
        (0..60).map(|i| api_login(&t, format!("139{:08}", 1000 + i), "Wrong-pass-1", "203.0.113.7")).collect();
    let answers = futures::future::join_all(tries).await;
    let checked = answers.iter().filter(|(_, b)| b["code"] == "bad_credentials").count();
    assert!(checked <= 30, "{checked} checked past the address limit of 30");
    assert!(answers.iter().any(|(_, b)| b["code"] == "login_throttled"));
    t.stop().await;
}

#[tokio::test]
async fn password_checks_at_once_are_bounded_and_locks_grow_and_can_be_lifted() {
    let t = TestApp::spawn_with(|s| {
        s.web.behind_proxy = true;
        s.identity.password_checks = 1;
        s.identity.password_wait_ms = 1;
    })
    .await;
    t.person(PHONE, ID).await;
    // One check at a time, no waiting: logins at once from many addresses are told to retry.
    let tries: Vec<_> =
        (0..20).map(|i| api_login(&t, format!("139{:08}", i), "Wrong-pass-1", format!("192.0.2.{i}"))).collect();
    let answers = futures::future::join_all(tries).await;
    assert!(answers.iter().any(|(s, b)| *s == StatusCode::SERVICE_UNAVAILABLE && b["code"] == "busy"), "{answers:?}");
    assert!(answers.iter().all(|(_, b)| b["code"] == "busy" || b["code"] == "bad_credentials"), "{answers:?}");
    t.stop().await;

    let t = TestApp::spawn_with(|s| s.web.behind_proxy = true).await;
    let person = t.person(PHONE, ID).await;
    let fail_five = async || {
        let mut last = (StatusCode::OK, Value::Null);
        for _ in 0..5 {
            last = api_login(&t, PHONE, "Wrong-pass-1", "203.0.113.9").await;
        }
        last
    };
    let (status, body) = fail_five().await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body["message"].as_str().unwrap().contains("15 分钟"), "{body}");
    // The lock runs out (moved into the past here); the next lock lasts twice as long.
    let expire = async || {
        let mut conn = t.app.db().conn().await.unwrap();
        let past = t.app.db().now() - chrono::Duration::minutes(1);
        exec!(conn, sqlx::query("UPDATE login_locks SET locked_until = $1 WHERE locked_until IS NOT NULL").bind(past))
            .unwrap();
    };
    expire().await;
    let (_, body) = fail_five().await;
    assert!(body["message"].as_str().unwrap().contains("30 分钟"), "{body}");
    expire().await;
    let (_, body) = fail_five().await;
    assert!(body["message"].as_str().unwrap().contains("60 分钟"), "{body}");

    // The security administrator sees the lock and lifts it; the system administrator cannot.
    let system = t.admin(AdminRole::System, "13700000001").await;
    assert_eq!(system.get("/admin/locks").await.status(), StatusCode::FORBIDDEN);
    let security = t.admin(AdminRole::Security, "13700000002").await;
    let html = security.get("/admin/locks").await.text().await.unwrap();
    assert!(html.contains("203.0.113.9") && html.contains("张三"), "{html}");
    let res = security.post(&format!("/admin/locks/{person}/unlock"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, _) = api_login(&t, PHONE, PASSWORD, "203.0.113.9").await;
    assert_eq!(status, StatusCode::CREATED);
    t.stop().await;
}

/// A visitor's form session: its cookie and CSRF token.
async fn visitor(t: &TestApp, path: &str) -> (String, String) {
    let page = t.get(path).await;
    let cookie = set_cookie(&page, "govhall_visitor").unwrap();
    (cookie, csrf_of(&page.text().await.unwrap()))
}

async fn post_form(
    t: &TestApp,
    path: &str,
    (cookie, csrf): &(String, String),
    fields: &[(&str, &str)],
    from: &str,
) -> (StatusCode, String) {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", csrf));
    let res = t
        .client
        .post(t.url(path))
        .header("cookie", cookie)
        .header("origin", t.app.url())
        .header("x-real-ip", from)
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

/// The challenge a page carries.
fn challenge_of(html: &str) -> Challenge {
    let attr = |name: &str| {
        let start = html.find(&format!("{name}=\"")).expect("a challenge on the page") + name.len() + 2;
        html[start..].split('"').next().unwrap().to_owned()
    };
    Challenge { challenge: attr("data-challenge"), bits: attr("data-bits").parse().unwrap() }
}

/// The notice or error a form page shows (up to the end of its box).
fn message_of(html: &str) -> String {
    let at = html.find("role=\"status\">").or_else(|| html.find("role=\"alert\">")).expect("a message");
    html[at..].split("</div>").next().unwrap().to_owned()
}

/// Forgets every code sent so far, as if long ago (the interval between sends no longer applies).
async fn forget_codes(t: &TestApp) {
    let mut conn = t.app.db().conn().await.unwrap();
    exec!(conn, sqlx::query("DELETE FROM verification_codes")).unwrap();
}

#[tokio::test]
async fn forms_do_not_tell_who_is_registered() {
    let t = TestApp::spawn_with(|s| s.web.behind_proxy = true).await;
    t.person(PHONE, ID).await;
    // The registration's own code was sent long ago, as for anyone registered.
    forget_codes(&t).await;
    let department = t.department("测试局", "440100", None).await;
    t.staff("13600000001", department).await;
    t.app
        .identity()
        .create_admin(&Actor::system("test"), AdminRole::Audit, "13700000003", "审计员", PASSWORD)
        .await
        .unwrap();

    // Registration: a registered number and a new one get the same answer, and the same
    // answer again when asked too soon; the registered one is told by SMS how to reset.
    let form = visitor(&t, "/register").await;
    let mut answers = Vec::new();
    for phone in [PHONE, "13800138011"] {
        let first =
            post_form(&t, "/register", &form, &[("action", "send_code"), ("phone", phone)], "203.0.113.20").await;
        let again =
            post_form(&t, "/register", &form, &[("action", "send_code"), ("phone", phone)], "203.0.113.20").await;
        answers.push((first.0, message_of(&first.1), again.0));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].2, StatusCode::TOO_MANY_REQUESTS);
    let outbox = t.app.messaging().sandbox_outbox().unwrap();
    let wait_for = async |phone: &str, n: usize| {
        for _ in 0..500 {
            if outbox.sent_to(phone).len() >= n {
                return outbox.sent_to(phone);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no SMS to {phone}");
    };
    let told = wait_for(PHONE, 2).await;
    assert!(told[1].body.contains("已注册") && !told[1].body.contains("验证码为"), "{}", told[1].body);
    // The registered number cannot register again with a code it never got.
    let (status, html) = post_form(
        &t,
        "/register",
        &form,
        &[
            ("action", "register"),
            ("phone", PHONE),
            ("code", "123456"),
            ("real_name", "王五"),
            ("id_number", "110101199003074514"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ],
        "203.0.113.20",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!html.contains("已注册"), "the number is not said to be taken");

    // Password reset: a person, a staff member, an administrator and an unknown number (the
    // codes above long forgotten).
    forget_codes(&t).await;
    let form = visitor(&t, "/password/reset").await;
    let mut answers = Vec::new();
    for phone in [PHONE, "13600000001", "13700000003", "13800138012"] {
        let first =
            post_form(&t, "/password/reset", &form, &[("action", "send_code"), ("phone", phone)], "203.0.113.21").await;
        let again =
            post_form(&t, "/password/reset", &form, &[("action", "send_code"), ("phone", phone)], "203.0.113.22").await;
        answers.push((first.0, message_of(&first.1), again.0));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0].2, StatusCode::TOO_MANY_REQUESTS);
    assert!(wait_for("13800138012", 1).await[0].body.contains("尚未注册"));

    // Invitations to an enterprise: the same answer whoever the number is.
    let owner = t.sign_in(PHONE, PASSWORD).await;
    let res = owner
        .post(
            "/account/enterprises",
            &[("credit_code", "91350100M000100Y43"), ("name", "测试公司"), ("legal_representative", "张三")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = owner.get("/account/enterprises").await.text().await.unwrap();
    let enterprise = html.split("/account/enterprises/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let invite = async |agent: &Agent, phone: &str| {
        let res = agent
            .post(&format!("/account/enterprises/{enterprise}/invite"), &[("phone", phone), ("role", "agent")])
            .await;
        (res.status(), res.headers().get("location").map(|v| v.to_str().unwrap().to_owned()))
    };
    let answers =
        [invite(&owner, "13600000001").await, invite(&owner, "13700000003").await, invite(&owner, "13800138013").await];
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    // A number invited before its owner registers: the invitation waits for them.
    let newcomer = t.person("13800138013", "110101199003074514").await;
    let mut conn = t.app.db().conn().await.unwrap();
    let invited: i64 = run!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM enterprise_members WHERE account_id = $1 AND status = 'invited'"
    )
    .bind(newcomer.as_uuid())
    .fetch_one(&mut *c)
    .await)
    .unwrap();
    drop(conn);
    assert_eq!(invited, 1);
    t.stop().await;
}

#[tokio::test]
async fn codes_asked_for_too_often_need_proof_of_work_and_stop_at_the_daily_cap() {
    let t = TestApp::spawn_with(|s| {
        s.web.behind_proxy = true;
        s.identity.code_address_daily = 9;
        s.identity.challenge_bits = 12;
    })
    .await;
    let form = visitor(&t, "/register").await;
    let send_from = async |from: &str, phone: &str, proof: &str| {
        post_form(&t, "/register", &form, &[("action", "send_code"), ("phone", phone), ("proof", proof)], from).await
    };
    // Forty numbers at once from one address: at most five codes go out, the rest need a
    // challenge (each request is counted before it is judged).
    let phones: Vec<String> = (0..40).map(|i| format!("138{:08}", 20_000 + i)).collect();
    let answers = futures::future::join_all(phones.iter().map(|p| send_from("203.0.113.30", p, ""))).await;
    let sent = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert!(sent <= 5, "{sent} codes sent");
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS));
    let mut conn = t.app.db().conn().await.unwrap();
    let codes: i64 =
        run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM verification_codes").fetch_one(&mut *c).await).unwrap();
    assert_eq!(usize::try_from(codes).unwrap(), sent);
    drop(conn);

    // One by one from another network: five go out, the sixth asks for proof of work.
    let from = "198.51.100.31";
    for i in 0..5 {
        assert_eq!(send_from(from, &format!("1380004000{i}"), "").await.0, StatusCode::OK);
    }
    let (status, html) = send_from(from, "13800040005", "").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(html.contains("安全验证") && html.contains("/static/challenge."), "the page carries its script");
    // A solved challenge lets one more through; the same answer again does not.
    let proof = solve(&challenge_of(&html));
    assert_eq!(send_from(from, "13800040006", &proof).await.0, StatusCode::OK);
    let (status, html) = send_from(from, "13800040007", &proof).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "a spent answer");
    assert!(html.contains("data-challenge"));
    // A forged challenge is refused.
    let forged = proof.replacen("v1.", "v1.9", 1);
    assert_eq!(send_from(from, "13800040008", &forged).await.0, StatusCode::TOO_MANY_REQUESTS);
    // The daily cap of the address (9 here) holds even with proof.
    let fresh = solve(&t.app.identity().challenge());
    let (status, html) = send_from(from, "13800040009", &fresh).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(html.contains("上限"), "{html}");
    // Another address in another network is not affected.
    assert_eq!(send_from("192.0.2.30", "13800040010", "").await.0, StatusCode::OK);
    t.stop().await;
}

#[tokio::test]
async fn administrators_never_know_a_staff_password_and_a_suspicious_first_sign_in_is_flagged() {
    let t = TestApp::spawn().await;
    let department = t.department("测试局", "440100", None).await;
    let system = t.admin(AdminRole::System, "13700000001").await;
    let security_id = {
        t.app
            .identity()
            .create_admin(&Actor::system("test"), AdminRole::Security, "13700000002", "安全员", PASSWORD)
            .await
            .unwrap()
    };
    // The form has no password; one slipped in is ignored.
    let html = system.get("/admin/staff").await.text().await.unwrap();
    assert!(!html.contains("name=\"password\""));
    let dept = department.to_string();
    let res = system
        .post(
            "/admin/staff",
            &[("real_name", "赵六"), ("phone", "13600000009"), ("department", &dept), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(system.get("/admin/staff").await.text().await.unwrap().contains("待本人激活"));
    let (status, body) = api_login(&t, "13600000009", PASSWORD, "").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("bad_credentials")));

    // The owner activates it with a code to their own phone (from the administrator's address).
    let form = visitor(&t, "/password/reset").await;
    let (status, _) =
        post_form(&t, "/password/reset", &form, &[("action", "send_code"), ("phone", "13600000009")], "").await;
    assert_eq!(status, StatusCode::OK);
    let code = t.sms_code("13600000009", 1).await;
    let sms = t.app.messaging().sandbox_outbox().unwrap().sent_to("13600000009");
    assert!(sms[0].body.contains("激活账号"), "{}", sms[0].body);
    let (status, _) = post_form(
        &t,
        "/password/reset",
        &form,
        &[
            ("action", "reset"),
            ("phone", "13600000009"),
            ("code", &code),
            ("password", "Own-pass-789"),
            ("password_again", "Own-pass-789"),
        ],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    t.sign_in("13600000009", "Own-pass-789").await;

    // That first sign-in came from the address the system administrator uses: flagged.
    let mut conn = t.app.db().conn().await.unwrap();
    let flagged: i64 = run!(conn, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'login.flagged' AND result = 'denied'"
    )
    .fetch_one(&mut *c)
    .await)
    .unwrap();
    assert_eq!(flagged, 1);
    drop(conn);
    let mut inbox = Vec::new();
    for _ in 0..300 {
        inbox = govhall_messaging::inbox::list(t.app.db(), security_id.as_uuid(), 10, 0).await.unwrap();
        if !inbox.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(inbox.iter().any(|m| m.subject.contains("首次登录")), "the security administrator is told");
    t.stop().await;
}

#[tokio::test]
async fn hidden_direction_characters_never_reach_the_database() {
    let t = TestApp::spawn().await;
    let form = visitor(&t, "/register").await;
    let (status, _) = post_form(&t, "/register", &form, &[("action", "send_code"), ("phone", PHONE)], "").await;
    assert_eq!(status, StatusCode::OK);
    let code = t.sms_code(PHONE, 1).await;
    let (status, html) = post_form(
        &t,
        "/register",
        &form,
        &[
            ("action", "register"),
            ("phone", PHONE),
            ("code", &code),
            ("real_name", "张\u{202E}三\u{2066}"),
            ("id_number", ID),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    let owner = t.sign_in(PHONE, PASSWORD).await;
    owner
        .post(
            "/account/enterprises",
            &[
                ("credit_code", "91350100M000100Y43"),
                ("name", "测试\u{200F}公司\u{202B}"),
                ("legal_representative", "张三"),
            ],
        )
        .await;
    let mut conn = t.app.db().conn().await.unwrap();
    let names: Vec<String> =
        run!(conn, |c| sqlx::query_scalar("SELECT real_name FROM accounts UNION ALL SELECT name FROM enterprises")
            .fetch_all(&mut *c)
            .await)
        .unwrap();
    drop(conn);
    let mut names = names;
    names.sort();
    assert_eq!(names, vec!["张三".to_owned(), "测试公司".to_owned()]);
    // JSON bodies too: the API's answer echoes what it was sent, cleaned.
    let res = t
        .client
        .post(t.url("/api/v1/progress-queries"))
        .json(&json!({"serial_number": "0102\u{202E}01000001", "query_password": "ABCD\u{2069}EFGH"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "looked up, cleaned, and not found");
    t.stop().await;
}

#[tokio::test]
async fn serial_numbers_name_real_divisions_and_metrics_stay_on_this_machine() {
    let t = TestApp::spawn_with(|s| s.web.behind_proxy = true).await;
    let actor = Actor::system("test");
    let (_, key) =
        govhall_identity::clients::create(t.app.db(), &actor, "现场大厅系统", 2, &["serial_numbers"]).await.unwrap();
    for (region, expected) in
        [("000000", StatusCode::BAD_REQUEST), ("990000", StatusCode::BAD_REQUEST), ("440100", StatusCode::CREATED)]
    {
        let res = t
            .client
            .post(t.url("/api/v1/serial-numbers"))
            .header("x-api-key", &key)
            .json(&json!({"region_code": region, "nature": "01"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), expected, "{region}");
        if expected == StatusCode::BAD_REQUEST {
            assert_eq!(res.json::<Value>().await.unwrap()["code"], "unknown_region_code");
        }
    }

    // Without a token, /metrics answers this machine only.
    let from = async |ip: &str| t.client.get(t.url("/metrics")).header("x-real-ip", ip).send().await.unwrap().status();
    assert_eq!(from("127.0.0.1").await, StatusCode::OK);
    assert_eq!(from("203.0.113.40").await, StatusCode::FORBIDDEN);
    t.stop().await;

    // The data folder and the database are the owner's alone (SQLite keeps them there).
    #[cfg(unix)]
    if std::env::var("TEST_DATABASE_URL").is_err() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("fresh");
        let mut settings = common::settings(&govhall_db::testing::TestDatabase::new().await);
        settings.data_dir = data.clone();
        settings.database_url = None;
        let app = govhall::App::build(settings).await.unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("govhall.db")), 0o600);
        for extra in ["govhall.db-wal", "govhall.db-shm"] {
            if data.join(extra).exists() {
                assert_eq!(mode(&data.join(extra)), 0o600, "{extra}");
            }
        }
        app.stop().await.unwrap();
    }
}
