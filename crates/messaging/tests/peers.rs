//! Every real channel adapter against a real local peer started by the test: an HTTP server
//! playing the SMS provider (and posting signed receipts), a webhook receiver that checks the
//! signature, an SMTP sink (aiosmtpd), and a server playing the WeChat API.

#![expect(clippy::unwrap_used, reason = "test helpers unwrap: a failure there is the test failing")]

mod common;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine;
use common::{Hall, phone, serve};
use govhall_core::{EmailAddress, Secret};
use govhall_messaging::channels::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_webhook};
use govhall_messaging::receipts::{self, ReceiptError};
use govhall_messaging::{
    Channel, MessageStatus, MessagingSettings, OutgoingMessage, Recipient, WebhookEndpoint, retry,
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

fn receipt_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn sms_through_an_http_provider_with_signed_receipts() {
    let seen: Seen = Arc::default();
    let calls = Arc::new(AtomicU32::new(0));
    let provider = axum::Router::new()
        .route(
            "/send",
            post(|State((seen, calls)): State<(Seen, Arc<AtomicU32>)>, headers: HeaderMap, body: String| async move {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let request: Value = serde_json::from_str(&body).unwrap();
                seen.lock().unwrap().push((headers, body));
                match request["phone"].as_str().unwrap() {
                    "13900000000" => (StatusCode::OK, Json(json!({"code": "E_NUMBER", "msg": "空号"}))),
                    "13911111111" if n < 10 => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"code": "BUSY"}))),
                    _ => (
                        StatusCode::OK,
                        Json(json!({"code": 0, "message_id": format!("p-{}", request["ref"].as_str().unwrap())})),
                    ),
                }
            }),
        )
        .with_state((seen.clone(), calls.clone()));
    let url = serve(provider).await;
    let mut settings = MessagingSettings { max_attempts: 2, ..MessagingSettings::default() };
    settings.sms.provider = "http".into();
    settings.sms.url = format!("{url}/send");
    settings.sms.headers.insert("Authorization".into(), Secret::new("Bearer sms-key"));
    settings.sms.permanent_error_codes = vec!["E_NUMBER".into()];
    settings.sms.receipts.secret = Secret::new("receipt-secret");
    let hall = Hall::start(settings).await;
    hall.template("notice", Channel::Sms, "", "您的\"办件\"已受理：{{ serial }}").await;

    let ok = hall.send(OutgoingMessage::new("notice", phone("13912345678"), json!({"serial": "01"}))).await;
    hall.wait_for(ok, MessageStatus::Sending).await;
    for _ in 0..200 {
        if hall.message(ok).await.provider_message_id.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let m = hall.message(ok).await;
    let provider_id = m.provider_message_id.clone().expect("the provider's id is kept");
    assert_eq!(provider_id, format!("p-{}", ok));
    {
        let seen = seen.lock().unwrap();
        let (headers, body) = &seen[0];
        assert_eq!(headers["authorization"], "Bearer sms-key");
        let request: Value = serde_json::from_str(body).unwrap();
        assert_eq!(request["text"], "您的\"办件\"已受理：01", "the body template JSON-escapes");
        assert_eq!(request["phone"], "13912345678");
    }

    // Receipts: forged ones change nothing; a signed one delivers; a replay is ignored.
    let body = serde_json::to_vec(&json!([{"message_id": provider_id, "status": "DELIVRD"}])).unwrap();
    let forged = receipts::apply(&hall.db, &hall.messaging, &body, Some(&receipt_signature("guess", &body))).await;
    assert!(matches!(forged, Err(ReceiptError::BadSignature)));
    assert!(matches!(receipts::apply(&hall.db, &hall.messaging, &body, None).await, Err(ReceiptError::BadSignature)));
    assert_eq!(hall.message(ok).await.status, MessageStatus::Sending);
    let signature = receipt_signature("receipt-secret", &body);
    let outcome = receipts::apply(&hall.db, &hall.messaging, &body, Some(&signature)).await.unwrap();
    assert_eq!((outcome.updated, outcome.ignored, outcome.unknown), (1, 0, 0));
    assert_eq!(hall.message(ok).await.status, MessageStatus::Delivered);
    let outcome = receipts::apply(&hall.db, &hall.messaging, &body, Some(&signature)).await.unwrap();
    assert_eq!((outcome.updated, outcome.ignored, outcome.unknown), (0, 1, 0), "a replay changes nothing");
    let early = serde_json::to_vec(&json!({"message_id": "p-not-yet", "status": "DELIVRD"})).unwrap();
    let outcome =
        receipts::apply(&hall.db, &hall.messaging, &early, Some(&receipt_signature("receipt-secret", &early)))
            .await
            .unwrap();
    assert_eq!(outcome.unknown, 1, "an id not known yet is reported, so the provider sends it again");
    let junk = b"not json";
    assert!(matches!(
        receipts::apply(&hall.db, &hall.messaging, junk, Some(&receipt_signature("receipt-secret", junk))).await,
        Err(ReceiptError::Malformed(_))
    ));

    // A number the provider calls unreachable is not retried; a busy provider is, to the limit.
    let empty = hall.send(OutgoingMessage::new("notice", phone("13900000000"), json!({"serial": "02"}))).await;
    let busy = hall.send(OutgoingMessage::new("notice", phone("13911111111"), json!({"serial": "03"}))).await;
    let m = hall.wait_for(empty, MessageStatus::PermanentFailure).await;
    assert_eq!(m.attempts, 1);
    assert!(m.last_error.unwrap().contains("E_NUMBER"));
    let m = hall.wait_for(busy, MessageStatus::TemporaryFailure).await;
    assert_eq!(m.attempts, 2);
    hall.stop().await;
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_refused_for_good_on_4xx() {
    let seen: Seen = Arc::default();
    let failures_left = Arc::new(AtomicU32::new(1));
    let receiver = axum::Router::new()
        .route(
            "/hook",
            post(|State((seen, left)): State<(Seen, Arc<AtomicU32>)>, headers: HeaderMap, body: String| async move {
                let ts: i64 = headers[TIMESTAMP_HEADER].to_str().unwrap().parse().unwrap();
                if headers[SIGNATURE_HEADER].to_str().unwrap() != sign_webhook("hook-secret", ts, &body) {
                    return StatusCode::UNAUTHORIZED;
                }
                seen.lock().unwrap().push((headers, body));
                if left.load(Ordering::SeqCst) > 0 {
                    left.fetch_sub(1, Ordering::SeqCst);
                    return StatusCode::BAD_GATEWAY;
                }
                StatusCode::NO_CONTENT
            }),
        )
        .route("/gone", post(|| async { StatusCode::NOT_FOUND }))
        .with_state((seen.clone(), failures_left.clone()));
    let url = serve(receiver).await;
    let settings = MessagingSettings {
        webhooks: vec![
            WebhookEndpoint {
                name: "big-screen".into(),
                url: format!("{url}/hook"),
                secret: Secret::new("hook-secret"),
            },
            WebhookEndpoint { name: "old-system".into(), url: format!("{url}/gone"), secret: Secret::new("x") },
            WebhookEndpoint {
                name: "wrong-key".into(),
                url: format!("{url}/hook"),
                secret: Secret::new("not-the-key"),
            },
        ],
        ..MessagingSettings::default()
    };
    let hall = Hall::start(settings).await;
    hall.template("case.accepted", Channel::Webhook, "", r#"{"serial": {{ serial }}, "dept": {{ dept }}}"#).await;
    let to = |name: &str| Recipient::Endpoint(name.into());
    let params = json!({"serial": "370101000001", "dept": "市场监管局"});
    let id = hall.send(OutgoingMessage::new("case.accepted", to("big-screen"), params.clone())).await;
    let m = hall.wait_for(id, MessageStatus::Delivered).await;
    assert_eq!(m.attempts, 2, "a 502 is retried");
    {
        let seen = seen.lock().unwrap();
        let (headers, body) = seen.last().unwrap();
        assert_eq!(headers["x-govhall-event"], "case.accepted");
        assert_eq!(headers["x-govhall-message-id"], id.to_string());
        assert_eq!(serde_json::from_str::<Value>(body).unwrap(), params);
    }
    let gone = hall.send(OutgoingMessage::new("case.accepted", to("old-system"), params.clone())).await;
    let m = hall.wait_for(gone, MessageStatus::PermanentFailure).await;
    assert_eq!(m.attempts, 1, "a 404 is not retried");
    let unsigned = hall.send(OutgoingMessage::new("case.accepted", to("wrong-key"), params.clone())).await;
    hall.wait_for(unsigned, MessageStatus::PermanentFailure).await;

    let mut tx = hall.db.begin().await.unwrap();
    let err =
        govhall_messaging::send(&mut tx, &hall.messaging, OutgoingMessage::new("case.accepted", to("nobody"), params))
            .await
            .unwrap_err();
    assert_eq!(govhall_core::Coded::code(&err), "unknown_webhook_endpoint");
    tx.rollback().await.unwrap();
    hall.stop().await;
}

#[tokio::test]
async fn email_over_smtp_to_a_local_sink() {
    let maildir = tempfile::tempdir().unwrap();
    // A free port can be taken by another test between choosing it and the sink binding it: the
    // sink then exits, and a new port is tried. Python starts slowly on a busy machine: up to 30 s.
    let mut started = None;
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut sink = std::process::Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .spawn()
            .expect("aiosmtpd is installed (scripts/test installs Debian's python3-aiosmtpd)");
        let mut ok = false;
        for _ in 0..600 {
            if sink.try_wait().unwrap().is_some() {
                break;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                // Listening, and still the sink's own after a moment.
                tokio::time::sleep(Duration::from_millis(200)).await;
                ok = sink.try_wait().unwrap().is_none();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if ok {
            started = Some((sink, port));
            break;
        }
        let _ = sink.kill();
        let _ = sink.wait();
    }
    let (mut sink, port) = started.expect("aiosmtpd started listening");
    let mut settings = MessagingSettings::default();
    settings.email.provider = "smtp".into();
    settings.email.host = "127.0.0.1".into();
    settings.email.port = port;
    settings.email.starttls = false;
    settings.email.from = "网上政务服务大厅 <noreply@hall.example>".into();
    let hall = Hall::start(settings).await;
    let to = Recipient::Email(EmailAddress::parse("lisi@example.com").unwrap());
    let code =
        govhall_messaging::verification::issue(&hall.db, &hall.messaging, "register", "注册账号", &to).await.unwrap();
    let m = hall.wait_for(code.message_id, MessageStatus::Delivered).await;
    assert_eq!(m.provider.as_deref(), Some("smtp"));
    assert!(!m.subject.chars().any(|c| c.is_ascii_digit()), "the settled message keeps no code");
    let mut mail = String::new();
    for _ in 0..100 {
        if let Ok(entries) = std::fs::read_dir(maildir.path().join("box/new"))
            && let Some(entry) = entries.flatten().next()
        {
            mail = std::fs::read_to_string(entry.path()).unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = sink.kill();
    let _ = sink.wait();
    assert!(mail.contains("To: lisi@example.com"), "{mail}");
    // The body is base64 (UTF-8 Chinese text): decode it.
    let (_, encoded) = mail.split_once("\n\n").or_else(|| mail.split_once("\r\n\r\n")).unwrap();
    let encoded: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    let text = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
    let digits: String =
        text.split("验证码为").nth(1).unwrap_or_default().chars().skip_while(|c| !c.is_ascii_digit()).take(6).collect();
    assert_eq!(digits.len(), 6, "the code is in the mail: {text}");
    assert!(text.contains("注册账号"));
    govhall_messaging::verification::check(&hall.db, &hall.messaging, "register", &to, &digits).await.unwrap();
    assert!(mail.contains(&format!("Message-ID: <{}@govhall>", code.message_id)));
    hall.stop().await;
}

#[tokio::test]
async fn wechat_template_messages_through_the_official_api_shape() {
    let seen: Seen = Arc::default();
    let token_calls = Arc::new(AtomicU32::new(0));
    let api = axum::Router::new()
        .route(
            "/cgi-bin/token",
            get(|State((_, n)): State<(Seen, Arc<AtomicU32>)>, Query(q): Query<HashMap<String, String>>| async move {
                n.fetch_add(1, Ordering::SeqCst);
                if q.get("appid").map(String::as_str) != Some("wx-app")
                    || q.get("secret").map(String::as_str) != Some("wx-secret")
                {
                    return Json(json!({"errcode": 40125, "errmsg": "invalid appsecret"}));
                }
                Json(json!({"access_token": "TOKEN-1", "expires_in": 7200}))
            }),
        )
        .route(
            "/cgi-bin/message/template/send",
            post(
                |State((seen, _)): State<(Seen, Arc<AtomicU32>)>,
                 Query(q): Query<HashMap<String, String>>,
                 headers: HeaderMap,
                 body: String| async move {
                    if q.get("access_token").map(String::as_str) != Some("TOKEN-1") {
                        return Json(json!({"errcode": 40001, "errmsg": "invalid credential"}));
                    }
                    let request: Value = serde_json::from_str(&body).unwrap();
                    seen.lock().unwrap().push((headers, body));
                    if request["touser"] == "oUnsubscribed123" {
                        return Json(json!({"errcode": 43004, "errmsg": "require subscribe"}));
                    }
                    Json(json!({"errcode": 0, "errmsg": "ok", "msgid": 200228332}))
                },
            ),
        )
        .with_state((seen.clone(), token_calls.clone()));
    let url = serve(api).await;
    let mut settings = MessagingSettings::default();
    settings.wechat.provider = "api".into();
    settings.wechat.api_base = url;
    settings.wechat.app_id = "wx-app".into();
    settings.wechat.app_secret = Secret::new("wx-secret");
    let hall = Hall::start(settings).await;
    hall.template(
        "case.accepted",
        Channel::Wechat,
        "",
        r#"{"template_id": "TPL-ACCEPTED", "url": {{ "https://hall.example/cases/" ~ serial }}, "data": {"thing1": {{ item }}, "character_string2": {{ serial }}}}"#,
    )
    .await;
    let to = |openid: &str| Recipient::parse(Channel::Wechat, openid).unwrap();
    let params = json!({"item": "食品经营许可", "serial": "370101000001"});
    let first = hall.send(OutgoingMessage::new("case.accepted", to("oAbCdEf123456"), params.clone())).await;
    let second = hall.send(OutgoingMessage::new("case.accepted", to("oAbCdEf654321"), params.clone())).await;
    let m = hall.wait_for(first, MessageStatus::Delivered).await;
    assert_eq!(m.provider_message_id.as_deref(), Some("200228332"));
    hall.wait_for(second, MessageStatus::Delivered).await;
    assert_eq!(token_calls.load(Ordering::SeqCst), 1, "the access token is cached");
    {
        let seen = seen.lock().unwrap();
        let request: Value = serde_json::from_str(&seen[0].1).unwrap();
        assert_eq!(request["template_id"], "TPL-ACCEPTED");
        assert_eq!(request["url"], "https://hall.example/cases/370101000001");
        assert_eq!(request["data"]["thing1"]["value"], "食品经营许可");
        assert!(request["touser"].as_str().unwrap().starts_with("oAbCdEf"));
    }
    let gone = hall.send(OutgoingMessage::new("case.accepted", to("oUnsubscribed123"), params)).await;
    hall.wait_for(gone, MessageStatus::PermanentFailure).await;
    retry(&hall.db, &hall.messaging, gone, &govhall_audit::Actor::system("管理员")).await.unwrap();
    hall.wait_for(gone, MessageStatus::PermanentFailure).await;
    hall.stop().await;
}

/// Runs openssl with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "openssl {args:?}");
}

#[tokio::test]
async fn email_over_starttls_trusts_an_internal_ca_and_nothing_else() {
    // A CA and a certificate for localhost signed by it, as a department's mail server may have.
    let pki = tempfile::tempdir().unwrap();
    let dir = pki.path();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=GovHall Test CA",
        ],
    );
    openssl(
        dir,
        &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let maildir = tempfile::tempdir().unwrap();
    let mut sink = std::process::Command::new("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("localhost:{port}"), "--tlscert"])
        .arg(dir.join("leaf.pem"))
        .arg("--tlskey")
        .arg(dir.join("leaf.key"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir.path().join("box"))
        .spawn()
        .unwrap();
    // Python starts slowly on a busy machine: wait for the sink, up to 30 s.
    let mut listening = false;
    for _ in 0..600 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            listening = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listening, "aiosmtpd did not start listening on port {port}");
    let settings = |ca_file: String| {
        let mut s = MessagingSettings { max_attempts: 1, ..MessagingSettings::default() };
        s.email.provider = "smtp".into();
        s.email.host = "localhost".into();
        s.email.port = port;
        s.email.starttls = true;
        s.email.ca_file = ca_file;
        s
    };
    let to = || Recipient::Email(EmailAddress::parse("wangwu@example.com").unwrap());

    let hall = Hall::start(settings(dir.join("ca.pem").to_string_lossy().into_owned())).await;
    let code =
        govhall_messaging::verification::issue(&hall.db, &hall.messaging, "register", "注册账号", &to()).await.unwrap();
    hall.wait_for(code.message_id, MessageStatus::Delivered).await;
    hall.stop().await;
    let mut arrived = false;
    for _ in 0..100 {
        if std::fs::read_dir(maildir.path().join("box/new")).is_ok_and(|mut d| d.next().is_some()) {
            arrived = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(arrived, "the mail went through STARTTLS");

    // Without the internal CA the server's certificate is not trusted: nothing is sent in clear.
    let hall = Hall::start(settings(String::new())).await;
    let code =
        govhall_messaging::verification::issue(&hall.db, &hall.messaging, "register", "注册账号", &to()).await.unwrap();
    let mut failed = None;
    for _ in 0..2000 {
        let m = hall.message(code.message_id).await;
        if m.status.is_final() {
            failed = Some(m);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let m = failed.expect("the send settled");
    assert_ne!(m.status, MessageStatus::Delivered, "an untrusted certificate must not deliver");
    assert!(m.last_error.is_some_and(|e| !e.is_empty()), "the failure says why");
    hall.stop().await;
    let _ = sink.kill();
    let _ = sink.wait();
}
