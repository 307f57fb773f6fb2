//! The serial number service over HTTP, as the on-site hall and department systems call it:
//! their own keys and service numbers, idempotent retries, many concurrent calls, clear errors,
//! parsing, disabled keys, and every issue audited.

use crate::common;

use common::TestApp;
use govhall_audit::Actor;
use govhall_identity::clients;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

async fn post(t: &TestApp, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = t.client.post(t.url("/api/v1/serial-numbers")).json(&body);
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.json().await.unwrap())
}

#[tokio::test]
async fn systems_get_unique_numbers_under_their_own_service_number() {
    let t = TestApp::spawn().await;
    let actor = Actor::system("test");
    let (_, hall) = clients::create(t.app.db(), &actor, "现场大厅系统", 2, &["serial_numbers"]).await.unwrap();
    let (_, police) = clients::create(t.app.db(), &actor, "公安审批系统", 31, &["serial_numbers"]).await.unwrap();

    let (status, body) = post(&t, Some(&hall), json!({"region_code": "370100", "nature": "01"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["serial_number"], "010201000001");
    let (_, body) = post(&t, Some(&police), json!({"region_code": "370100", "nature": "01"})).await;
    assert_eq!(body["serial_number"], "013101000001", "its own service number");

    // A retry with the same key (in the body or the Idempotency-Key header) gets the same number.
    let (_, first) =
        post(&t, Some(&hall), json!({"region_code": "370200", "nature": "7", "idempotency_key": "A-1"})).await;
    let (_, again) =
        post(&t, Some(&hall), json!({"region_code": "370200", "nature": "7", "idempotency_key": "A-1"})).await;
    assert_eq!(first, again);
    let res = t
        .client
        .post(t.url("/api/v1/serial-numbers"))
        .header("x-api-key", &hall)
        .header("idempotency-key", "A-1")
        .json(&json!({"region_code": "370200", "nature": "7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), first);

    // Many calls at once: no number twice, none skipped.
    let calls: Vec<_> = (0..40)
        .map(|_| {
            let client = t.client.clone();
            let url = t.url("/api/v1/serial-numbers");
            let key = hall.clone();
            tokio::spawn(async move {
                let res = client
                    .post(url)
                    .header("x-api-key", key)
                    .json(&json!({"region_code": "370300", "nature": "11"}))
                    .send()
                    .await
                    .unwrap();
                res.json::<Value>().await.unwrap()["serial_number"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let numbers: BTreeSet<String> = futures::future::join_all(calls).await.into_iter().map(|r| r.unwrap()).collect();
    let expected: BTreeSet<String> = (1..=40).map(|n| format!("030211{n:06}")).collect();
    assert_eq!(numbers, expected);

    // Parsing says what a number is and whether it was issued.
    let res =
        t.client.get(t.url("/api/v1/serial-numbers/010201000001")).header("x-api-key", &police).send().await.unwrap();
    let parsed: Value = res.json().await.unwrap();
    assert_eq!(
        (parsed["region"].as_str(), parsed["service"].as_str(), parsed["nature"].as_str()),
        (Some("01"), Some("02"), Some("01"))
    );
    assert_eq!((parsed["issued"].as_bool(), parsed["issuer"].as_str()), (Some(true), Some("现场大厅系统")));
    let res =
        t.client.get(t.url("/api/v1/serial-numbers/010201999999")).header("x-api-key", &police).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["issued"], false);
    let res = t.client.get(t.url("/api/v1/serial-numbers/12345")).header("x-api-key", &police).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "invalid_serial_number");

    // Every issue is audited under the calling system's name.
    let audit = govhall_audit::search(t.app.db(), &Default::default(), 200, 0).await.unwrap();
    let issued = audit.iter().filter(|e| e.action == "serial_number.issue").count();
    assert!(issued >= 44, "{issued}");
    assert!(audit.iter().any(|e| e.action == "serial_number.issue" && e.actor_label == "接入系统：公安审批系统"));
    t.stop().await;
}

#[tokio::test]
async fn without_a_valid_key_or_with_bad_input_the_answer_says_what_is_wrong() {
    let t = TestApp::spawn().await;
    let actor = Actor::system("test");
    let (_, key) = clients::create(t.app.db(), &actor, "现场大厅系统", 2, &["serial_numbers"]).await.unwrap();
    let ok = json!({"region_code": "370100", "nature": "01"});
    let (status, body) = post(&t, None, ok.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("api_key_required")));
    let (status, body) = post(&t, Some("ghk_forged"), ok.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_api_key")));
    for (bad, code) in [
        (json!({"region_code": "3701", "nature": "01"}), "invalid_region"),
        (json!({"region_code": "370100", "nature": "0"}), "invalid_nature_code"),
        (json!({"region_code": "370100", "nature": "abc"}), "invalid_nature_code"),
        (json!({"region_code": "370100", "nature": "01", "idempotency_key": "含中文"}), "invalid_idempotency_key"),
    ] {
        let (status, body) = post(&t, Some(&key), bad.clone()).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{bad}");
        assert!(body["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
    }
    let res = t
        .client
        .post(t.url("/api/v1/serial-numbers"))
        .header("x-api-key", &key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // A disabled system's key stops working at once.
    clients::set_active(t.app.db(), &actor, "现场大厅系统", false).await.unwrap();
    let (status, _) = post(&t, Some(&key), ok).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    t.stop().await;
}
