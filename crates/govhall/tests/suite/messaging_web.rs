//! The message center on the web: the admin pages for the system administrator, and the
//! provider's receipt callback.

use crate::common;

use common::{Agent, TestApp};
use govhall_core::{Phone, Secret};
use govhall_identity::AdminRole;
use govhall_messaging::channels::SANDBOX_PERMANENT_FAILURE_PHONE;
use govhall_messaging::{Channel, MessageStatus, Messaging, OutgoingMessage, Recipient, send, store, templates};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;
use uuid::Uuid;

async fn hall() -> TestApp {
    govhall_messaging::install_crypto();
    TestApp::spawn_with(|s| {
        s.messaging.sms.receipts.secret = Secret::new("receipt-secret");
    })
    .await
}

/// Signs in as the system administrator, who runs the message center.
async fn login(t: &TestApp) -> Agent {
    t.admin(AdminRole::System, "13700000001").await
}

/// An SMS template `notice` with one placeholder, `text`.
async fn notice_template(t: &TestApp) {
    let new = templates::NewTemplate {
        code: "notice".into(),
        channel: Channel::Sms,
        subject: String::new(),
        body: "{{ text }}".into(),
        note: String::new(),
        created_by: "test".into(),
    };
    templates::create_version(t.app.db(), new, &govhall_audit::Actor::system("test")).await.unwrap();
}

/// The message center's settings for sending from a test: quiet hours off, so that the tests pass
/// at any hour.
fn any_hour() -> govhall_messaging::MessagingSettings {
    govhall_messaging::MessagingSettings { quiet_hours_start: 0, quiet_hours_end: 0, ..Default::default() }
}

async fn send_sms(t: &TestApp, phone: &str, text: &str) -> Uuid {
    let messaging = Messaging::new(any_hour()).unwrap();
    let mut tx = t.app.db().begin().await.unwrap();
    let to = Recipient::Phone(Phone::parse(phone).unwrap());
    let id = send(&mut tx, &messaging, OutgoingMessage::new("notice", to, json!({ "text": text }))).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn wait_status(t: &TestApp, id: Uuid, status: MessageStatus) {
    for _ in 0..2000 {
        let mut conn = t.app.db().conn().await.unwrap();
        if store::get(&mut conn, id).await.unwrap().unwrap().status == status {
            return;
        }
        drop(conn);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("message {id} never reached {status:?}");
}

#[tokio::test]
async fn the_message_center_is_for_its_administrators_only() {
    let t = hall().await;
    let res = t.get("/admin/messages?status=delivered").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/login?next=/admin/messages%3Fstatus%3Ddelivered");
    let res = t.client.get(t.url("/admin/messages")).header("cookie", "govhall_session=forged").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a forged session is no session");
    let auditor = t.admin(AdminRole::Audit, "13700000002").await;
    assert_eq!(auditor.get("/admin/messages").await.status(), StatusCode::FORBIDDEN, "the auditor does not send");
    assert_eq!(login(&t).await.get("/admin/messages").await.status(), StatusCode::OK);
    t.stop().await;
}

#[tokio::test]
async fn the_delivery_log_masks_recipients_finds_them_and_retries_failures() {
    let t = hall().await;
    let cookie = login(&t).await;
    notice_template(&t).await;
    let ok = send_sms(&t, "13912345678", "您的办件已受理").await;
    let email = {
        let messaging = Messaging::new(any_hour()).unwrap();
        let to = Recipient::Email(govhall_core::EmailAddress::parse("zhangsan@example.com").unwrap());
        govhall_messaging::verification::issue(t.app.db(), &messaging, "register", "注册账号", &to)
            .await
            .unwrap()
            .message_id
    };
    let failed = send_sms(&t, SANDBOX_PERMANENT_FAILURE_PHONE, "<script>alert(1)</script>").await;
    wait_status(&t, ok, MessageStatus::Delivered).await;
    wait_status(&t, failed, MessageStatus::PermanentFailure).await;

    let page = |path: String| {
        let agent = cookie.clone();
        async move { agent.get(&path).await }
    };
    let html = page("/admin/messages".into()).await.text().await.unwrap();
    assert!(html.contains("139****5678") && !html.contains("13912345678"), "phones are masked in lists");
    assert!(html.contains("z***@example.com") && !html.contains("zhangsan@"), "emails too");
    let detail = page(format!("/admin/messages/{email}")).await.text().await.unwrap();
    assert!(detail.contains("验证码内容不予显示"), "administrators do not see codes");
    assert!(html.contains("沙箱") && html.contains("已送达") && html.contains("永久失败"));
    let html = page("/admin/messages?recipient=139+1234+5678".into()).await.text().await.unwrap();
    assert!(html.contains("139****5678") && !html.contains("138****0001"), "found by the number as people type it");
    let html = page("/admin/messages?status=permanent_failure".into()).await.text().await.unwrap();
    assert!(html.contains("138****0001") && !html.contains("139****5678"));
    let res = page("/admin/messages?from=2026-13-01".into()).await;
    assert!(res.text().await.unwrap().contains("起始日期应为 YYYY-MM-DD 格式的日期"));

    let html = page(format!("/admin/messages/{failed}")).await.text().await.unwrap();
    assert!(html.contains("重新发送") && html.contains("号码不存在"));
    assert!(html.contains("alert(1)") && !html.contains("<script>alert"), "content is escaped");
    let res = t
        .client
        .post(t.url(&format!("/admin/messages/{failed}/retry")))
        .header("cookie", &cookie.cookie)
        .form(&[("csrf", &cookie.csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no Origin, no retry");
    let res = cookie.post(&format!("/admin/messages/{failed}/retry"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let events = store::events(t.app.db(), failed).await.unwrap();
    assert!(events.iter().any(|e| e.detail.contains("系统管理员:测试管理员 重新发送")), "{events:?}");
    let res = cookie.post(&format!("/admin/messages/{ok}/retry"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "a delivered message is not sent again");
    assert_eq!(page(format!("/admin/messages/{}", Uuid::now_v7())).await.status(), StatusCode::NOT_FOUND);
    t.stop().await;
}

#[tokio::test]
async fn templates_are_edited_previewed_and_versioned_in_the_admin() {
    let t = hall().await;
    let cookie = login(&t).await;
    let post = |form: Vec<(&'static str, &'static str)>| {
        let agent = cookie.clone();
        async move { agent.post("/admin/templates", &form).await }
    };
    let res = post(vec![("code", "verification_code"), ("channel", "sms"), ("body", "您好"), ("action", "save")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("必须包含"), "a code template without the code is refused");
    let res = post(vec![("code", "case.accepted"), ("channel", ""), ("body", "x"), ("action", "save")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("请选择渠道"));
    let res =
        post(vec![("code", "case.accepted"), ("channel", "inbox"), ("body", "{{ name "), ("action", "save")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("消息模板有误") && html.contains("{{ name "), "the error, and what was typed is kept");
    let body = "{{ name }}，您的办件 {{ serial }} 已受理。";
    let res = post(vec![
        ("code", "case.accepted"),
        ("channel", "inbox"),
        ("subject", "办件已受理"),
        ("body", body),
        ("sample", r#"{"name": "<b>张三</b>"}"#),
        ("action", "preview"),
    ])
    .await;
    let html = res.text().await.unwrap();
    assert!(html.contains("消息模板缺少参数：serial"), "preview names the missing placeholder");
    let res = post(vec![
        ("code", "case.accepted"),
        ("channel", "inbox"),
        ("subject", "办件已受理"),
        ("body", body),
        ("sample", r#"{"name": "<b>张三</b>", "serial": "370101000001"}"#),
        ("action", "preview"),
    ])
    .await;
    let html = res.text().await.unwrap();
    assert!(html.contains("张三") && html.contains("，您的办件 370101000001 已受理。"), "a preview");
    assert!(!html.contains("<b>张三</b>"), "escaped");
    for note in ["初版", "改版"] {
        let res = cookie
            .post(
                "/admin/templates",
                &[
                    ("code", "case.accepted"),
                    ("channel", "inbox"),
                    ("subject", "办件已受理"),
                    ("body", body),
                    ("note", note),
                    ("action", "save"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    let versions = templates::versions(t.app.db(), "case.accepted", Channel::Inbox).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);
    let html = cookie.get("/admin/templates").await.text().await.unwrap();
    assert!(html.contains("case.accepted") && html.contains("第2版") && html.contains("verification_code"));
    t.stop().await;
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"receipt-secret").unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn sms_receipts_need_the_providers_signature() {
    let t = hall().await;
    let url = t.url("/api/v1/messaging/sms-receipts");
    let body = br#"{"message_id": "unknown", "status": "DELIVRD"}"#.to_vec();
    let res = t.client.post(&url).body(body.clone()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_signature");
    let res = t.client.post(&url).header("X-Signature", "00ff").body(body.clone()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = t.client.post(&url).header("X-Signature", sign(&body)).body(body.clone()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "an id not known yet: the provider should send it again");
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "unknown_message");
    let junk = b"[1, 2".to_vec();
    let res = t.client.post(&url).header("X-Signature", sign(&junk)).body(junk).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_receipt");
    assert!(body["message"].as_str().unwrap().starts_with("回执格式不正确"));
    t.stop().await;
}

#[tokio::test]
async fn a_receipt_through_the_callback_settles_a_real_message() {
    govhall_messaging::install_crypto();
    let provider = axum::Router::new().route(
        "/send",
        axum::routing::post(|body: String| async move {
            let request: Value = serde_json::from_str(&body).unwrap();
            axum::Json(json!({"code": 0, "message_id": format!("gw-{}", request["ref"].as_str().unwrap())}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let provider_url = format!("http://{}/send", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, provider).await.unwrap() });
    let t = TestApp::spawn_with(|s| {
        s.messaging.sms.provider = "http".into();
        s.messaging.sms.url = provider_url;
        s.messaging.sms.receipts.secret = Secret::new("receipt-secret");
    })
    .await;
    notice_template(&t).await;
    let mut settings = any_hour();
    settings.sms.provider = "http".into();
    settings.sms.url = "http://127.0.0.1:9/unused".into();
    let messaging = Messaging::new(settings).unwrap();
    let mut tx = t.app.db().begin().await.unwrap();
    let to = Recipient::Phone(Phone::parse("13912345678").unwrap());
    let id =
        send(&mut tx, &messaging, OutgoingMessage::new("notice", to, json!({"text": "您的办件已办结"}))).await.unwrap();
    tx.commit().await.unwrap();
    let mut provider_id = None;
    for _ in 0..2000 {
        let mut conn = t.app.db().conn().await.unwrap();
        let m = store::get(&mut conn, id).await.unwrap().unwrap();
        if m.status == MessageStatus::Sending && m.provider_message_id.is_some() {
            provider_id = m.provider_message_id;
            break;
        }
        drop(conn);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let provider_id = provider_id.expect("handed to the provider");
    assert_eq!(provider_id, format!("gw-{id}"));
    let body = serde_json::to_vec(&json!([{"message_id": provider_id, "status": "DELIVRD"}])).unwrap();
    let res = t
        .client
        .post(t.url("/api/v1/messaging/sms-receipts"))
        .header("X-Signature", format!("sha256={}", sign(&body)))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"updated": 1, "ignored": 0, "unknown": 0}));
    wait_status(&t, id, MessageStatus::Delivered).await;
    t.stop().await;
}

#[tokio::test]
async fn a_persons_inbox_has_a_page_an_api_and_an_unread_count_on_every_page() {
    let t = hall().await;
    let me = t.person(common::APPLICANT_PHONE, common::APPLICANT_ID).await;
    let other = t.person("13800000555", &common::test_id_number(55)).await;
    let new = templates::NewTemplate {
        code: "notice".into(),
        channel: Channel::Inbox,
        subject: "{{ text }}".into(),
        body: "正文：{{ text }}".into(),
        note: String::new(),
        created_by: "test".into(),
    };
    templates::create_version(t.app.db(), new, &govhall_audit::Actor::system("test")).await.unwrap();
    let messaging = Messaging::new(any_hour()).unwrap();
    let mut ids = Vec::new();
    for (to, text) in
        [(me, "办件已受理"), (me, "请补正材料<script>alert(1)</script>"), (me, "办件已办结"), (other, "他人的消息")]
    {
        let mut tx = t.app.db().begin().await.unwrap();
        let message = OutgoingMessage::new("notice", Recipient::Account(to.as_uuid()), json!({ "text": text }));
        ids.push(send(&mut tx, &messaging, message).await.unwrap());
        tx.commit().await.unwrap();
    }
    for id in &ids {
        wait_status(&t, *id, MessageStatus::Delivered).await;
    }

    // The header of any page counts the unread; the inbox lists them, script escaped.
    let web = t.sign_in(common::APPLICANT_PHONE, common::PASSWORD).await;
    let home = web.get("/").await.text().await.unwrap();
    assert!(home.contains("<span class=\"unread-count\">3</span>"), "{home}");
    let page = web.get("/account/messages").await.text().await.unwrap();
    assert!(page.contains("3 条未读") && page.contains("办件已受理") && !page.contains("他人的消息"), "{page}");
    assert!(!page.contains("<script>alert(1)</script>"));

    // Another's message by id: not found, and nothing changes.
    let res = web.post(&format!("/account/messages/{}/read", ids[3]), &[]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = web.post(&format!("/account/messages/{}/read", ids[0]), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let home = web.get("/").await.text().await.unwrap();
    assert!(home.contains("<span class=\"unread-count\">2</span>"), "{home}");

    // The API: a page with the unread count; one read, then all.
    let bearer = t.bearer(common::APPLICANT_PHONE).await;
    let api = |m: reqwest::Method, path: &str| t.client.request(m, t.url(path)).header("authorization", &bearer);
    let listed: Value = api(reqwest::Method::GET, "/api/v1/me/messages").send().await.unwrap().json().await.unwrap();
    assert_eq!((listed["unread"].as_i64(), listed["messages"].as_array().unwrap().len()), (Some(2), 3), "{listed}");
    let res = api(reqwest::Method::POST, &format!("/api/v1/me/messages/{}/read", ids[3])).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = api(reqwest::Method::POST, &format!("/api/v1/me/messages/{}/read", ids[1])).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let all: Value =
        api(reqwest::Method::POST, "/api/v1/me/messages/read-all").send().await.unwrap().json().await.unwrap();
    assert_eq!(all["marked"], 1);
    let home = web.get("/").await.text().await.unwrap();
    assert!(!home.contains("unread-count"), "none unread");
    let theirs = govhall_messaging::inbox::unread_count(t.app.db(), other.as_uuid()).await.unwrap();
    assert_eq!(theirs, 1, "another's messages untouched");
    t.stop().await;
}
