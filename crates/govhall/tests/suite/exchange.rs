//! The exchange with a department's system over real HTTP, on SQLite and PostgreSQL. The
//! department's system is simulated here by a client that signs its requests as docs/exchange.md
//! says: it collects the cases submitted to its department (open cases queued when it was
//! connected, new ones as they are submitted), oldest first; what it does not acknowledge comes
//! again, what it acknowledges never does; it sends back every step up to delivery, each applied
//! once however often it is repeated or sent at once; steps out of order, another department's
//! case, forged signatures, old timestamps, replayed nonces and other addresses are refused;
//! every message is in the exchange log, the audit chain stays intact; managers are told when
//! the system is late.

use crate::common;

use common::browser::{Browser, look};
use common::process::{postgres_nodes, terminate};
use common::{APPLICANT_ID, APPLICANT_PHONE, CaseHall, PASSWORD, TestApp};
use govhall_audit::Actor;
use govhall_exchange::connect::Connection;
use govhall_exchange::signing;
use govhall_identity::rbac::Grantee;
use govhall_identity::{DepartmentId, Permission as P, Scope};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const MANAGER_PHONE: &str = "13600000291";

/// A department's system, as its developers would write it.
pub(crate) struct System<'a> {
    t: &'a TestApp,
    key: String,
    secret: Option<String>,
    /// The node it calls.
    base: String,
}

impl System<'_> {
    fn nonce() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    /// A request with the key and, when the system signs, the signature headers.
    fn request(&self, method: Method, path: &str, body: &[u8], nonce: &str, at: i64) -> reqwest::RequestBuilder {
        let mut r =
            self.t.client.request(method.clone(), format!("{}{path}", self.base)).header("x-api-key", &self.key);
        if let Some(secret) = &self.secret {
            let ts = at.to_string();
            let text = signing::canonical(method.as_str(), path, &ts, nonce, body);
            r = r
                .header(signing::TIMESTAMP, ts)
                .header(signing::NONCE, nonce)
                .header(signing::SIGNATURE, signing::sign(secret.as_bytes(), &text));
        }
        if !body.is_empty() {
            r = r.header("content-type", "application/json").body(body.to_vec());
        }
        r
    }

    pub(crate) async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default();
        let now = chrono::Utc::now().timestamp();
        let res = self.request(method, path, &bytes, &Self::nonce(), now).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn pull(&self, query: &str) -> Value {
        let (status, body) = self.send(Method::GET, &format!("/api/v1/exchange/cases{query}"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub(crate) async fn event(&self, key: &str, serial: &str, action: &str, note: &str) -> (StatusCode, Value) {
        self.send(Method::POST, "/api/v1/exchange/events", Some(step(key, serial, action, note))).await
    }
}

/// One step, as a department's system sends it.
pub(crate) fn step(key: &str, serial: &str, action: &str, note: &str) -> Value {
    json!({"idempotency_key": key, "serial_number": serial, "action": action, "note": note,
        "handler": "王审批", "occurred_at": "2026-12-07T09:30:00+08:00"})
}

pub(crate) fn serials(page: &Value) -> Vec<String> {
    page["cases"].as_array().unwrap().iter().map(|c| c["serial_number"].as_str().unwrap().to_owned()).collect()
}

pub(crate) async fn connect<'a>(
    h: &'a CaseHall,
    department: DepartmentId,
    name: &str,
    service: i32,
    ips: &str,
) -> System<'a> {
    let c = Connection {
        department,
        name: name.into(),
        service_number: service,
        allowed_ips: ips.into(),
        signed: true,
        alert_minutes: 30,
    };
    let done = h.t.app.exchange().connect(&Actor::system("test"), c).await.unwrap();
    System { t: &h.t, key: done.key, secret: done.signing_key, base: h.t.url("") }
}

/// Waits until `n` cases are queued (the `case.submitted` job queues them a moment after
/// submission), without collecting them.
async fn queued(t: &TestApp, n: i64) {
    for _ in 0..500 {
        if count(t, "SELECT COUNT(*) FROM exchange_outbox WHERE acked_at IS NULL").await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{n} cases never waited");
}

/// Waits until `n` cases are queued; then the first collection.
async fn waiting(system: &System<'_>, n: i64) -> Value {
    queued(system.t, n).await;
    system.pull("?limit=100").await
}

pub(crate) async fn count(t: &TestApp, sql: &'static str) -> i64 {
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(sql).fetch_one(&mut *c).await).unwrap()
}

#[tokio::test]
async fn a_department_system_collects_its_cases_and_sends_back_every_step_once() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let (_, before, before_password) = h.submit("x-before").await;
    let system = connect(&h, department, "省厅审批系统", 31, "127.0.0.1, ::1").await;
    assert!(system.secret.as_deref().is_some_and(|s| s.starts_with("ghs_")));
    let (_, second, _) = h.submit("x-second").await;
    let (_, third, _) = h.submit("x-third").await;

    // Oldest first, with what the department needs to handle each.
    let page = waiting(&system, 3).await;
    assert_eq!(serials(&page), [before.clone(), second.clone(), third.clone()]);
    let first = &page["cases"][0];
    assert_eq!(first["applicant"]["number"], APPLICANT_ID);
    assert_eq!(first["applicant"]["kind"], "person");
    assert_eq!(first["form"]["申请事由"], "新办");
    assert_eq!(first["step"], "received");
    assert_eq!(first["redelivered"], false);
    let moves: Vec<&str> = first["moves"].as_array().unwrap().iter().map(|m| m["action"].as_str().unwrap()).collect();
    assert_eq!(moves, ["start_prereview"], "staff moves only: {first}");

    // Not acknowledged: handed over again, marked; paging within one collection.
    let again = system.pull("").await;
    assert_eq!(serials(&again), [before.clone(), second.clone(), third.clone()]);
    assert_eq!(again["cases"][0]["redelivered"], true);
    let one = system.pull("?limit=1").await;
    assert_eq!(serials(&one), std::slice::from_ref(&before));
    let cursor = one["next_after"].as_i64().unwrap();
    let next = system.pull(&format!("?limit=1&after={cursor}")).await;
    assert_eq!(serials(&next), std::slice::from_ref(&second));

    // Acknowledged: never again. Unknown numbers are listed, whoever's they are.
    let (status, ack) = system
        .send(Method::POST, "/api/v1/exchange/cases/ack", Some(json!({"serial_numbers": [before, second, "0000"]})))
        .await;
    assert_eq!(status, StatusCode::OK, "{ack}");
    assert_eq!(ack["acknowledged"], json!([before, second]));
    assert_eq!(ack["unknown"], json!(["0000"]));
    assert_eq!(serials(&system.pull("").await), std::slice::from_ref(&third));
    let (_, ack) =
        system.send(Method::POST, "/api/v1/exchange/cases/ack", Some(json!({"serial_numbers": [before]}))).await;
    assert_eq!(ack["acknowledged"], json!([before]), "acknowledging twice is fine");

    // Every step back to delivery, each applied once.
    let (status, body) = system.event("e-1", &before, "start_prereview", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["step"].as_str(), body["replayed"].as_bool()), (Some("prereview"), Some(false)));
    let (status, replay) = system.event("e-1", &before, "start_prereview", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((replay["step"].as_str(), replay["replayed"].as_bool()), (Some("prereview"), Some(true)));
    let (status, body) = system.event("e-1", &before, "accept", "").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key_reused")), "{body}");
    let (status, body) = system.event("e-2", &before, "grant", "").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("illegal_transition")), "{body}");
    let (status, body) = system.event("e-3", &before, "reject", "").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("note_required")), "{body}");
    for (key, action, note, step) in [
        ("e-4", "accept", "", "accepted"),
        ("e-5", "start_review", "", "review"),
        ("e-6", "grant", "材料齐全，准予许可", "decided"),
        ("e-7", "deliver", "窗口领取", "delivered"),
    ] {
        let (status, body) = system.event(key, &before, action, note).await;
        assert_eq!((status, body["step"].as_str()), (StatusCode::OK, Some(step)), "{action}: {body}");
    }
    let (_, done) = system.event("e-7", &before, "deliver", "窗口领取").await;
    assert_eq!((done["outcome"].as_str(), done["is_open"].as_bool()), (Some("granted"), Some(false)));

    // The applicant follows it as any case: the department's steps, in order, with their handler.
    let id = t.app.cases().id_by_serial(&before).await.unwrap();
    let history = t.app.cases().history(id).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["submit", "start_prereview", "accept", "start_review", "grant", "deliver"]);
    assert!(history[1].actor_name.contains("省厅审批系统") && history[1].actor_name.contains("王审批"));
    t.app.cases().progress(&before, &before_password, "127.0.0.1").await.unwrap();

    // Ten copies of one message at once: applied once, the others get its answer.
    let sends = (0..10).map(|_| system.event("e-burst", &third, "start_prereview", ""));
    let answers = futures::future::join_all(sends).await;
    let applied = answers.iter().filter(|(s, b)| *s == StatusCode::OK && b["replayed"] == false).count();
    assert_eq!(applied, 1, "{answers:?}");
    assert!(answers.iter().all(|(s, b)| *s == StatusCode::OK && b["step"] == "prereview"), "{answers:?}");
    let id = t.app.cases().id_by_serial(&third).await.unwrap();
    assert_eq!(t.app.cases().history(id).await.unwrap().len(), 2);

    // Every message is logged; the audit chain covering the log is intact.
    let logged = count(t, "SELECT COUNT(*) FROM exchange_log WHERE kind = 'event' AND outcome = 'ok'").await;
    assert_eq!(logged, 6, "start_prereview, accept, start_review, grant, deliver, the burst's one");
    let refused = count(t, "SELECT COUNT(*) FROM exchange_log WHERE kind = 'event' AND outcome = 'refused'").await;
    assert_eq!(refused, 3, "the reused key, the grant out of order, the reason missing");
    let key = t.app.identity().keys().checkpoint_key();
    assert!(govhall_audit::verify(t.app.db(), &key).await.unwrap().is_intact());
}

#[tokio::test]
async fn a_batch_of_steps_answers_each_as_if_it_were_sent_alone() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let system = connect(&h, department, "省厅审批系统", 34, "").await;
    let (_, a, _) = h.submit("b-a").await;
    let (_, b, _) = h.submit("b-b").await;
    let (_, c, _) = h.submit("b-c").await;
    let batch = json!({"events": [
        step("b-1", &a, "start_prereview", ""),
        step("b-2", &a, "accept", ""),
        step("b-3", &b, "start_prereview", ""),
        step("b-4", &b, "grant", ""),
        step("bad key", &c, "start_prereview", ""),
        step("b-5", "0000", "start_prereview", ""),
        {"idempotency_key": "b-6", "serial_number": c},
        step("b-7", &c, "start_prereview", ""),
    ]});
    let path = "/api/v1/exchange/events/batch";
    let (status, answer) = system.send(Method::POST, path, Some(batch.clone())).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["results"].as_array().unwrap();
    let seen: Vec<_> = results
        .iter()
        .map(|r| (r["ok"] == true, r["applied"]["step"].as_str(), r["code"].as_str(), r["status"].as_u64()))
        .collect();
    assert_eq!(
        seen,
        [
            (true, Some("prereview"), None, None),
            (true, Some("accepted"), None, None),
            (true, Some("prereview"), None, None),
            (false, None, Some("illegal_transition"), Some(409)),
            (false, None, Some("invalid_input"), Some(422)),
            (false, None, Some("case_not_found"), Some(404)),
            (false, None, Some("invalid_json"), Some(400)),
            (true, Some("prereview"), None, None),
        ],
        "{answer}"
    );

    // The same steps again, in a batch or alone: the first answers, nothing applied twice.
    let (_, again) = system.send(Method::POST, path, Some(batch.clone())).await;
    assert_eq!(again["results"][0]["applied"]["replayed"], true, "{again}");
    assert_eq!(again["results"][1]["applied"]["step"], "accepted", "{again}");
    let (status, alone) = system.event("b-3", &b, "start_prereview", "").await;
    assert_eq!((status, alone["replayed"].as_bool()), (StatusCode::OK, Some(true)), "{alone}");
    let (status, other) = system.event("b-7", &c, "start_prereview", "换了说明").await;
    assert_eq!((status, other["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_key_reused")));
    // Two copies of a batch at once: each step once.
    let next = json!({"events": [step("b-8", &a, "start_review", ""), step("b-9", &b, "accept", "")]});
    let (one, two) = tokio::join!(
        system.send(Method::POST, path, Some(next.clone())),
        system.send(Method::POST, path, Some(next.clone()))
    );
    for (status, answer) in [&one, &two] {
        assert_eq!(*status, StatusCode::OK, "{answer}");
        assert!(answer["results"].as_array().unwrap().iter().all(|r| r["ok"] == true), "{answer}");
    }
    for (serial, steps) in [(&a, 4), (&b, 3), (&c, 2)] {
        let id = t.app.cases().id_by_serial(serial).await.unwrap();
        assert_eq!(t.app.cases().history(id).await.unwrap().len(), steps, "{serial}");
    }

    // More than a hundred steps are refused whole.
    let many: Vec<Value> = (0..101).map(|i| step(&format!("m-{i}"), &c, "accept", "")).collect();
    let (status, body) = system.send(Method::POST, path, Some(json!({"events": many}))).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("too_many_events")));

    // Each step's log entry is named by the audit entry of its move; the chain is intact.
    let mut conn = t.app.db().conn().await.unwrap();
    let logged: Vec<uuid::Uuid> = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
        "SELECT id FROM exchange_log WHERE kind = 'event' AND outcome = 'ok'"
    )
    .fetch_all(&mut *c)
    .await)
    .unwrap();
    let details: Vec<String> = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action LIKE 'case.%'"
    )
    .fetch_all(&mut *c)
    .await)
    .unwrap();
    drop(conn);
    assert_eq!(logged.len(), 6, "a, a, b, c, then a and b");
    for id in logged {
        assert!(details.iter().any(|d| d.contains(&format!("交换日志 {id}"))), "{id} not covered: {details:?}");
    }
    let refused = count(t, "SELECT COUNT(*) FROM exchange_log WHERE kind = 'event' AND outcome = 'refused'").await;
    assert!(refused >= 4, "the grant out of order, the bad key, the unknown case, the reused key: {refused}");
    let key = t.app.identity().keys().checkpoint_key();
    assert!(govhall_audit::verify(t.app.db(), &key).await.unwrap().is_intact());
}

#[tokio::test]
async fn forged_replayed_late_and_foreign_requests_are_refused() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let system = connect(&h, department, "省厅审批系统", 32, "").await;
    let (_, serial, _) = h.submit("f-1").await;
    waiting(&system, 1).await;
    let path = "/api/v1/exchange/cases";
    let now = chrono::Utc::now().timestamp();
    let code = |v: &Value| v["code"].as_str().map(str::to_owned);

    // No key, a wrong key, no signature, a wrong signature, an old time, a replayed nonce.
    let res = t.client.get(t.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let wrong = System { t, key: "ghk_wrong".into(), secret: system.secret.clone(), base: t.url("") };
    let (status, body) = wrong.send(Method::GET, path, None).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("invalid_api_key".into())));
    let unsigned = System { t, key: system.key.clone(), secret: None, base: t.url("") };
    let (status, body) = unsigned.send(Method::GET, path, None).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("signature_required".into())));
    let forged = System { t, key: system.key.clone(), secret: Some("ghs_forged".into()), base: t.url("") };
    let (status, body) = forged.send(Method::GET, path, None).await;
    assert_eq!((status, code(&body)), (StatusCode::UNAUTHORIZED, Some("bad_signature".into())));
    let res = system.request(Method::GET, path, b"", &System::nonce(), now - 3600).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let nonce = System::nonce();
    let res = system.request(Method::GET, path, b"", &nonce, now).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = system.request(Method::GET, path, b"", &nonce, now).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "the same nonce again");

    // A body changed after signing (the signature covers the bytes).
    let body = serde_json::to_vec(&json!({"serial_numbers": [serial]})).unwrap();
    let text = signing::canonical("POST", "/api/v1/exchange/cases/ack", &now.to_string(), &nonce, &body);
    let res = t
        .client
        .post(t.url("/api/v1/exchange/cases/ack"))
        .header("x-api-key", &system.key)
        .header(signing::TIMESTAMP, now.to_string())
        .header(signing::NONCE, System::nonce())
        .header(signing::SIGNATURE, signing::sign(system.secret.as_ref().unwrap().as_bytes(), &text))
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&json!({"serial_numbers": ["0"]})).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // A system held to other addresses; a system of another department sees none of these.
    let stranger_department = t.app.identity().account(h.stranger).await.unwrap().department_id.unwrap();
    let other = connect(&h, stranger_department, "另一部门系统", 33, "10.0.0.0/8").await;
    let (status, body) = other.send(Method::GET, path, None).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, Some("address_not_allowed".into())));
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::exec!(
        conn,
        govhall_db::sqlx::query("UPDATE api_clients SET allowed_ips = '' WHERE name = '另一部门系统'")
    )
    .unwrap();
    drop(conn);
    assert!(serials(&other.pull("").await).is_empty());
    let (status, body) = other.event("o-1", &serial, "start_prereview", "").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, Some("case_not_found".into())), "{body}");
    let (_, ack) =
        other.send(Method::POST, "/api/v1/exchange/cases/ack", Some(json!({"serial_numbers": [serial]}))).await;
    assert_eq!(ack["unknown"], json!([serial]));
    let file = format!("/api/v1/exchange/cases/{serial}/files/{}", uuid::Uuid::now_v7());
    assert_eq!(other.send(Method::GET, &file, None).await.0, StatusCode::NOT_FOUND);

    // Bad bodies say what is wrong.
    let (status, body) = system.send(Method::POST, "/api/v1/exchange/events", Some(json!({"serial_number": 1}))).await;
    assert_eq!((status, code(&body)), (StatusCode::BAD_REQUEST, Some("invalid_json".into())), "{body}");
    let (status, body) = system.event("bad key with spaces", &serial, "start_prereview", "").await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input".into())), "{body}");
    let body = json!({"idempotency_key": "h-1", "serial_number": serial, "action": "start_prereview",
        "handler": "\u{202E}\u{200B}"});
    let (status, body) = system.send(Method::POST, "/api/v1/exchange/events", Some(body)).await;
    assert_eq!((status, code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input".into())), "{body}");

    // A result file past the extractors' 2 MB reaches the check of files (the route's own limit).
    let big = "A".repeat(3 << 20);
    let body = json!({"idempotency_key": "big-1", "serial_number": serial, "action": "start_prereview",
        "handler": "王审批", "files": [{"name": "结果.pdf", "content_base64": big, "result": true}]});
    let (status, body) = system.send(Method::POST, "/api/v1/exchange/events", Some(body)).await;
    assert_ne!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(status.is_client_error(), "not a PDF: {status} {body}");

    // A connection without signatures must be held to its addresses.
    let unsigned = Connection {
        department: stranger_department,
        name: "不签名系统".into(),
        service_number: 35,
        allowed_ips: String::new(),
        signed: false,
        alert_minutes: 0,
    };
    let refused = t.app.exchange().connect(&Actor::system("test"), unsigned).await.unwrap_err();
    assert_eq!(govhall_core::Coded::code(&refused), "invalid_input");
    assert!(govhall_core::Coded::message(&refused).contains("限定其调用地址"), "{refused}");

    // The refusals of known systems are logged; the disconnected system's key stops working.
    let refused = count(t, "SELECT COUNT(*) FROM exchange_log WHERE kind = 'refused'").await;
    assert!(refused >= 5, "{refused}");
    t.app.exchange().disconnect(&Actor::system("test"), department).await.unwrap();
    let (status, _) = system.send(Method::GET, path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn managers_see_the_connection_and_are_told_when_cases_wait_too_long() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let system = connect(&h, department, "省厅审批系统", 34, "").await;
    let (_, serial, _) = h.submit("m-1").await;
    waiting(&system, 1).await;
    let manager = t.staff(MANAGER_PHONE, department).await;
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let role = identity.save_role(&actor, "exchange_manager", "对接管理", &[P::ExchangeManage]).await.unwrap();
    identity.grant(&actor, role, Grantee::Account(manager), Scope::Department).await.unwrap();

    // The page: the connection, its backlog, the log by case.
    let agent = t.sign_in(MANAGER_PHONE, PASSWORD).await;
    let html = agent.get("/admin/exchange").await.text().await.unwrap();
    assert!(html.contains("省厅审批系统") && html.contains("请求签名"), "{html}");
    let html = agent.get(&format!("/admin/exchange?serial={serial}")).await.text().await.unwrap();
    assert!(html.contains("交付办件") && html.contains(&serial), "{html}");
    // The applicant's page is not theirs.
    let applicant = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    assert_eq!(applicant.get("/admin/exchange").await.status(), StatusCode::FORBIDDEN);

    // Late: told once, until the system acknowledges cases again (calling alone does not reset it).
    let later = t.app.db().now() + chrono::Duration::hours(2);
    assert_eq!(t.app.exchange().alert_late(later).await.unwrap(), 1);
    assert_eq!(t.app.exchange().alert_late(later).await.unwrap(), 0);
    system.pull("").await;
    assert_eq!(t.app.exchange().alert_late(later).await.unwrap(), 0, "a call that takes nothing");
    let mut told = 0;
    for _ in 0..250 {
        let inbox = govhall_messaging::inbox::list(t.app.db(), manager.as_uuid(), 20, 0).await.unwrap();
        told = inbox.iter().filter(|m| m.subject.contains("部门系统未及时接收办件")).count();
        if told > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(told, 1);
    let html = agent.get("/admin/exchange").await.text().await.unwrap();
    assert!(html.contains("正常") || html.contains("超时未接收"));
}

/// The managers' page in Chromium at 1366 and 390 px, checked with axe-core: the connection, and
/// the log of one case.
#[tokio::test]
async fn the_managers_page_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let system = connect(&h, department, "省厅审批系统", 36, "127.0.0.1").await;
    let (_, serial, _) = h.submit("b-1").await;
    waiting(&system, 1).await;
    system.event("b-e1", &serial, "start_prereview", "").await;
    system.event("b-e2", &serial, "grant", "").await;
    let manager = t.staff(MANAGER_PHONE, department).await;
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let role = identity.save_role(&actor, "exchange_manager", "对接管理", &[P::ExchangeManage]).await.unwrap();
    identity.grant(&actor, role, Grantee::Account(manager), Scope::Department).await.unwrap();

    let browser = Browser::start().await;
    browser.resize(1366, 768).await;
    browser.goto(&t.url("/login")).await;
    browser.type_into("#login", MANAGER_PHONE).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
    browser.goto(&t.url("/admin/exchange")).await;
    browser.wait_source("省厅审批系统").await;
    let mut violations = look(&browser, "exchange-admin").await;
    browser.goto(&t.url(&format!("/admin/exchange?serial={serial}"))).await;
    let html = browser.wait_source("回传办理过程").await;
    assert!(html.contains("拒绝"), "the grant out of order is in the log: {html}");
    violations.extend(look(&browser, "exchange-admin-case").await);
    assert!(violations.is_empty(), "axe-core: {violations:#?}");
    browser.quit().await;
}

/// Three `govhall serve` nodes on one PostgreSQL beside this one: every submitted case is queued
/// once, whichever node's worker takes its job; a collection cut off by a node stopping loses
/// nothing (what was not acknowledged comes again from another node), and nothing acknowledged
/// comes again.
#[tokio::test]
async fn three_nodes_queue_each_case_once_and_a_stopped_node_loses_nothing() {
    if std::env::var(govhall_db::testing::TEST_DATABASE_URL).is_err() {
        return; // One node only on SQLite.
    }
    let h = CaseHall::new().await;
    let t = &h.t;
    let database_url = t.db.database_url.clone().unwrap();
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let system = connect(&h, department, "省厅审批系统", 37, "").await;
    let (_dirs, mut nodes) = postgres_nodes(3, &database_url);
    govhall_messaging::install_crypto();
    let mut submitted = std::collections::BTreeSet::new();
    for n in 0..60 {
        submitted.insert(h.submit(&format!("n-{n}")).await.1);
    }
    queued(t, 60).await;
    let urls: Vec<String> = nodes.iter().map(|(_, url)| url.clone()).collect();
    let via = |n: usize| System { t, key: system.key.clone(), secret: system.secret.clone(), base: urls[n].clone() };

    // 25 collected through the first node, which then stops before they are acknowledged.
    let taken = serials(&via(0).pull("?limit=25").await);
    assert_eq!(taken.len(), 25);
    assert!(terminate(&mut nodes[0].0).success());
    let again = via(1).pull("?limit=100").await;
    let all = serials(&again);
    assert_eq!(all.len(), 60, "each queued case once: {all:?}");
    assert_eq!(all.iter().cloned().collect::<std::collections::BTreeSet<_>>(), submitted);
    for case in again["cases"].as_array().unwrap() {
        let serial = case["serial_number"].as_str().unwrap().to_owned();
        assert_eq!(case["redelivered"].as_bool(), Some(taken.contains(&serial)), "{serial}");
    }

    // Acknowledged through the third node: none comes again through any.
    let (first, rest) = all.split_at(30);
    for part in [first, rest] {
        let (status, ack) =
            via(2).send(Method::POST, "/api/v1/exchange/cases/ack", Some(json!({"serial_numbers": part}))).await;
        assert_eq!((status, ack["acknowledged"].as_array().map(Vec::len)), (StatusCode::OK, Some(part.len())), "{ack}");
    }
    assert!(serials(&via(1).pull("").await).is_empty());
    assert!(serials(&via(2).pull("").await).is_empty());
    assert_eq!(count(t, "SELECT COUNT(*) FROM exchange_outbox").await, 60);
    for (child, _) in nodes.iter_mut().skip(1) {
        assert!(terminate(child).success());
    }
}

/// A queued case that cannot be read (its sealed personal data damaged) is reported on the log
/// and skipped: the department's other cases are still handed over.
#[tokio::test]
async fn an_unreadable_case_is_reported_and_the_others_still_handed_over() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let system = connect(&h, department, "省厅审批系统", 38, "").await;
    let (damaged, damaged_serial, _) = h.submit("u-1").await;
    let (_, fine, _) = h.submit("u-2").await;
    queued(t, 2).await;
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::exec!(
        conn,
        govhall_db::sqlx::query("UPDATE cases SET applicant_number_enc = 'damaged' WHERE id = $1")
            .bind(damaged.as_uuid())
    )
    .unwrap();
    drop(conn);

    let page = system.pull("").await;
    assert_eq!(serials(&page), std::slice::from_ref(&fine));
    let failed =
        count(t, "SELECT COUNT(*) FROM exchange_log WHERE outcome = 'failed' AND error_code = 'case_unreadable'").await;
    assert_eq!(failed, 1);
    let mut conn = t.app.db().conn().await.unwrap();
    let serial: Option<String> = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
        "SELECT serial_number FROM exchange_log WHERE error_code = 'case_unreadable'"
    )
    .fetch_one(&mut *c)
    .await)
    .unwrap();
    assert_eq!(serial, Some(damaged_serial));
}

/// A system calling more often than its minute allows: the calls past the limit are refused
/// (429 rate_limited) however many arrive at once, and the log notes it once.
#[tokio::test]
async fn a_system_calling_too_often_is_held_to_its_minute() {
    let h = CaseHall::with_settings(|s| s.exchange.requests_per_minute = 10).await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let system = connect(&h, department, "省厅审批系统", 39, "").await;
    let calls = (0..30).map(|_| system.send(Method::GET, "/api/v1/exchange/cases", None));
    let answers = futures::future::join_all(calls).await;
    let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    let limited: Vec<_> = answers.iter().filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS).collect();
    // Thirty at once fall in one minute, or at most two.
    assert!((10..=20).contains(&ok), "{answers:?}");
    assert_eq!(ok + limited.len(), 30, "{answers:?}");
    assert!(limited.iter().all(|(_, b)| b["code"] == "rate_limited"), "{limited:?}");
    let logged = count(t, "SELECT COUNT(*) FROM exchange_log WHERE error_code = 'rate_limited'").await;
    assert!((1..=2).contains(&logged), "{logged}");
}

/// Behind a proxy, `X-Real-IP` is believed only from the trusted proxies: a caller reaching the
/// port directly cannot name an allowed address.
#[tokio::test]
async fn an_address_is_taken_from_trusted_proxies_only() {
    for (trusted, expected) in [("", StatusCode::OK), ("10.0.0.1", StatusCode::FORBIDDEN)] {
        let h = CaseHall::with_settings(|s| {
            s.web.behind_proxy = true;
            s.web.trusted_proxies = trusted.into();
        })
        .await;
        let department = DepartmentId::from_uuid(h.item.item.department_id);
        let system = connect(&h, department, "省厅审批系统", 40, "10.9.9.9").await;
        let now = chrono::Utc::now().timestamp();
        let path = "/api/v1/exchange/cases";
        let res = system.request(Method::GET, path, b"", &System::nonce(), now).header("x-real-ip", "10.9.9.9");
        let res = res.send().await.unwrap();
        assert_eq!(res.status(), expected, "trusted {trusted:?}");
    }
}
