//! 投诉 over HTTP, on SQLite and PostgreSQL: a complaint without signing in, its number proved by
//! an SMS code, routed to the item's department, accepted, answered, followed by number and query
//! password (guesses locked out), rated, published with personal data removed; a signed-in
//! complaint about one's own case through the API, escalated on the calendar when late, reopened
//! after the answer; routing rules; other departments see nothing.

use crate::common;

use common::space::Api;
use common::{APPLICANT_PHONE, CaseHall, PASSWORD, STRANGER_PHONE, SUPERVISOR_PHONE, TestApp, WORKER_PHONE};
use govhall_audit::Actor;
use govhall_identity::rbac::Grantee;
use govhall_identity::{Permission as P, Scope};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

const VISITOR_PHONE: &str = "13900000555";

async fn hall() -> CaseHall {
    let h = CaseHall::new().await;
    let identity = h.t.app.identity();
    let actor = Actor::system("test");
    let handle = identity.save_role(&actor, "complaint_handler", "办理投诉", &[P::ComplaintHandle]).await.unwrap();
    let supervise =
        identity.save_role(&actor, "complaint_supervisor", "投诉监督", &[P::ComplaintSupervise]).await.unwrap();
    for who in [h.worker, h.stranger] {
        identity.grant(&actor, handle, Grantee::Account(who), Scope::Department).await.unwrap();
    }
    identity.grant(&actor, supervise, Grantee::Account(h.supervisor), Scope::All).await.unwrap();
    h
}

/// A visitor's session on a public form: its cookie and CSRF token.
async fn visitor(t: &TestApp, path: &str) -> (String, String) {
    let page = t.get(path).await;
    let cookie = common::set_cookie(&page, "govhall_visitor").unwrap();
    (cookie, common::csrf_of(&page.text().await.unwrap()))
}

async fn post_as(
    t: &TestApp,
    (cookie, csrf): &(String, String),
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", csrf));
    t.client.post(t.url(path)).header("cookie", cookie).header("origin", t.app.url()).form(&form).send().await.unwrap()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    html.split(start).nth(1).unwrap().split(end).next().unwrap()
}

async fn count(t: &TestApp, sql: &'static str) -> i64 {
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(sql).fetch_one(&mut *c).await).unwrap()
}

#[tokio::test]
async fn a_complaint_without_signing_in_is_answered_rated_and_published_without_personal_data() {
    let h = hall().await;
    let t = &h.t;
    let code = h.item.item.code.clone();
    let form_path = format!("/complaints/new?subject=item&ref={code}");
    let v = visitor(t, &form_path).await;
    let body = format!("窗口工作人员态度生硬，我叫王小明，电话{VISITOR_PHONE}，请回电。");
    let fields = |code_typed: &'static str| {
        vec![
            ("subject", "item".to_owned()),
            ("subject_ref", code.clone()),
            ("category", "服务态度".to_owned()),
            ("body", body.clone()),
            ("publishable", "on".to_owned()),
            ("phone", VISITOR_PHONE.to_owned()),
            ("code", code_typed.to_owned()),
            ("action", "submit".to_owned()),
        ]
    };
    let as_refs = |f: &Vec<(&'static str, String)>| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();

    // The number first: a wrong code makes nothing.
    let res = post_as(t, &v, "/complaints", &[("action", "send_code"), ("phone", VISITOR_PHONE)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let sms = t.sms_code(VISITOR_PHONE, 1).await;
    let wrong = as_refs(&fields("000000"));
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = post_as(t, &v, "/complaints", &wrong).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(t, "SELECT COUNT(*) FROM complaints").await, 0);
    let mut right = as_refs(&fields("000000"));
    right.retain(|(k, _)| *k != "code");
    right.push(("code", sms));
    let right: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = post_as(t, &v, "/complaints", &right).await;
    assert_eq!(res.status(), StatusCode::OK);
    let made = res.text().await.unwrap();
    let number = between(&made, "id=\"complaint-number\">", "<").to_owned();
    let password = between(&made, "id=\"complaint-password\">", "<").to_owned();
    assert!(made.contains(&h.item.item.department), "routed to the item's department: {made}");

    // Staff of another department see nothing; the item's department accepts and answers.
    let stranger = t.sign_in(STRANGER_PHONE, PASSWORD).await;
    assert!(!stranger.get("/admin/complaints").await.text().await.unwrap().contains(&number));
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let list = worker.get("/admin/complaints").await.text().await.unwrap();
    let id = between(&list, "href=\"/admin/complaints/", "\"").to_owned();
    assert_eq!(stranger.get(&format!("/admin/complaints/{id}")).await.status(), StatusCode::NOT_FOUND);
    let res = stranger.post(&format!("/admin/complaints/{id}"), &[("decision", "accept")]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = worker
        .post(&format!("/admin/complaints/{id}"), &[("decision", "answer"), ("text", "已核实，对当事人批评教育。")])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "not accepted yet");
    assert_eq!(
        worker.post(&format!("/admin/complaints/{id}"), &[("decision", "accept")]).await.status(),
        StatusCode::SEE_OTHER
    );
    let answer = "经核实，窗口人员王某态度不当，已批评教育并调整岗位，联系电话0531-88881234。";
    let res = worker.post(&format!("/admin/complaints/{id}"), &[("decision", "answer"), ("text", answer)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for _ in 0..250 {
        if t.app.messaging().sandbox_outbox().unwrap().sent_to(VISITOR_PHONE).iter().any(|m| m.body.contains("已答复"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        t.app.messaging().sandbox_outbox().unwrap().sent_to(VISITOR_PHONE).iter().any(|m| m.body.contains(&number))
    );

    // Followed by number and password; guesses at once are counted before they are checked.
    let q = visitor(t, "/complaints/query").await;
    let wrong = [("number", number.as_str()), ("password", "WRONG234")];
    let guesses = (0..8).map(|_| post_as(t, &q, "/complaints/query", &wrong));
    let answers = futures::future::join_all(guesses).await;
    assert!(answers.iter().all(|r| r.status() == StatusCode::NOT_FOUND || r.status() == StatusCode::TOO_MANY_REQUESTS));
    let res = post_as(t, &q, "/complaints/query", &[("number", &number), ("password", &password)]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "locked after the failures, even with the right password");
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::exec!(conn, govhall_db::sqlx::query("DELETE FROM complaint_lookup_failures")).unwrap();
    drop(conn);
    let res = post_as(t, &q, "/complaints/query", &[("number", &number), ("password", &password)]).await;
    let page = res.text().await.unwrap();
    assert!(page.contains("已批评教育") && !page.contains("王某态度不当（工作人员"), "{page}");
    assert!(!page.contains(&h.worker.to_string()));
    let res = post_as(
        t,
        &q,
        "/complaints/query",
        &[("number", &number), ("password", &password), ("action", "rate"), ("level", "4")],
    )
    .await;
    assert!(res.text().await.unwrap().contains("感谢您的评价，投诉已办结"));

    // Published with what the text holds of personal data removed, after staff checked it.
    let page = worker.get(&format!("/admin/complaints/{id}")).await.text().await.unwrap();
    let proposed =
        between(&page, "id=\"pub-body\" name=\"body\" rows=\"5\" maxlength=\"2000\">", "</textarea>").to_owned();
    assert!(!proposed.contains(VISITOR_PHONE), "{proposed}");
    let res = worker.post(&format!("/admin/complaints/{id}/publish"), &[("body", &body), ("answer", "已处理")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a number left in is refused");
    let res = worker
        .post(
            &format!("/admin/complaints/{id}/publish"),
            &[("body", "窗口工作人员态度生硬。"), ("answer", "已批评教育并调整岗位。")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let public = t.get("/complaints/published?q=调整岗位").await.text().await.unwrap();
    assert!(public.contains(&number) && public.contains("已批评教育并调整岗位") && !public.contains(VISITOR_PHONE));
    assert!(!t.get("/complaints/published?q=不存在的词").await.text().await.unwrap().contains(&number));
    let audited = count(t, "SELECT COUNT(*) FROM audit_log WHERE action IN ('complaint.create', 'complaint.accepted', 'complaint.answered', 'complaint.rated', 'complaint.publish')").await;
    assert_eq!(audited, 5);
}

#[tokio::test]
async fn a_complaint_about_ones_case_is_escalated_when_late_reopened_and_routed_by_rules() {
    let h = hall().await;
    let t = &h.t;
    let (_, serial, _) = h.submit("complaint-case").await;
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let new = |subject: &str, reference: &str, category: &str| {
        json!({"subject": subject, "subject_ref": reference, "category": category,
               "body": "办理超过承诺时限仍没有结果，也没有人告知原因。", "publishable": false})
    };
    let (status, made) = me.json(Method::POST, "/api/v1/me/complaints", new("case", &serial, "办事效率")).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let number = made["number"].as_str().unwrap().to_owned();

    // Someone else's case is not theirs to complain about by number.
    t.person("13700000661", &common::test_id_number(61)).await;
    let other = Api { t, bearer: t.bearer("13700000661").await };
    let (status, _) = other.json(Method::POST, "/api/v1/me/complaints", new("case", &serial, "办事效率")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.get(&format!("/api/v1/me/complaints/{number}")).await.0, StatusCode::NOT_FOUND);

    // Not accepted within its working days: escalated to the supervisor, once.
    let feedback = t.app.feedback();
    assert_eq!(feedback.sweep_complaints(t.app.db().now()).await.unwrap(), 0);
    let later = t.app.db().now() + chrono::Duration::days(10);
    assert_eq!(feedback.sweep_complaints(later).await.unwrap(), 1);
    assert_eq!(feedback.sweep_complaints(later).await.unwrap(), 0);
    let supervisor = t.app.identity().find_account(SUPERVISOR_PHONE).await.unwrap().unwrap();
    let mut found = 0;
    for _ in 0..250 {
        let inbox = govhall_messaging::inbox::list(t.app.db(), supervisor.as_uuid(), 20, 0).await.unwrap();
        found = inbox.iter().filter(|m| m.subject.contains("投诉办理已超期")).count();
        if found > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(found, 1);

    // Accepted, answered, reopened (within ten days), information added, answered, rated.
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let id = between(&worker.get("/admin/complaints").await.text().await.unwrap(), "href=\"/admin/complaints/", "\"")
        .to_owned();
    worker.post(&format!("/admin/complaints/{id}"), &[("decision", "accept")]).await;
    worker
        .post(
            &format!("/admin/complaints/{id}"),
            &[("decision", "answer"), ("text", "已督促承办人加快办理，预计三日内办结。")],
        )
        .await;
    let act = format!("/api/v1/me/complaints/{number}/actions");
    let (status, body) = me.json(Method::POST, &act, json!({"action": "reopen", "note": "三日后仍未办结"})).await;
    assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("accepted")), "{body}");
    let (status, _) =
        me.json(Method::POST, &act, json!({"action": "info", "note": "今天又打电话问过，还是没有结果"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = me.json(Method::POST, &act, json!({"action": "rate", "level": 2})).await;
    assert_eq!(status, StatusCode::CONFLICT, "rated only after an answer");
    worker
        .post(&format!("/admin/complaints/{id}"), &[("decision", "answer"), ("text", "已办结并送达，向您致歉。")])
        .await;
    let (status, body) = me.json(Method::POST, &act, json!({"action": "rate", "level": 4})).await;
    assert_eq!((status, body["state"].as_str(), body["rating"].as_i64()), (StatusCode::OK, Some("closed"), Some(4)));
    let page = me.get(&format!("/api/v1/me/complaints/{number}")).await.1;
    assert_eq!(page["answer"], "已办结并送达，向您致歉。");

    // A rule sends 廉洁与作风 elsewhere; a hall needs a rule.
    let stranger_department = t.app.identity().account(h.stranger).await.unwrap().department_id.unwrap();
    let sup = t.sign_in(SUPERVISOR_PHONE, PASSWORD).await;
    let res = sup
        .post(
            "/admin/complaints/routes",
            &[("category", "廉洁与作风"), ("region_prefix", ""), ("department", &stranger_department.to_string())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, made) =
        me.json(Method::POST, "/api/v1/me/complaints", new("item", &h.item.item.code, "廉洁与作风")).await;
    assert_eq!(status, StatusCode::CREATED);
    let other_name = govhall_identity::departments::get(t.app.db(), stranger_department).await.unwrap().unwrap().name;
    assert_eq!(made["department_name"], other_name.as_str());
    let hall_id = uuid::Uuid::now_v7().to_string();
    let (status, body) = me.json(Method::POST, "/api/v1/me/complaints", new("hall", &hall_id, "服务态度")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")));
    let worker_view = t.sign_in(STRANGER_PHONE, PASSWORD).await.get("/admin/complaints").await.text().await.unwrap();
    assert!(worker_view.contains(made["number"].as_str().unwrap()), "the rule's department has it");
}
