//! 好差评 over HTTP, on SQLite and PostgreSQL: a case ends and its applicant is invited; a 差评
//! with a reason becomes the department's task; the answer reaches the applicant, who rates it;
//! an overdue task is escalated on the calendar, once; an appeal voids an evaluation (out of the
//! counts, not the record); the statistics equal the rows; the upstream report is retried after a
//! failure and recorded once; nobody rates another's case; script in comments stays text; ratings
//! sent at once make one evaluation, changed at most once, counted once.

use crate::common;

use common::rating::{finished, hall, invited};

use common::space::Api;
use common::{APPLICANT_PHONE, CaseHall, PASSWORD, STRANGER_PHONE, SUPERVISOR_PHONE, WORKER_PHONE};
use govhall_audit::Actor;
use govhall_cases::transition::{Action, By};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

const OTHER_PHONE: &str = "13700000551";

/// How many of `account`'s inbox messages have `subject` in their subject, once delivered.
async fn inbox_with(h: &CaseHall, account: govhall_identity::AccountId, subject: &str) -> usize {
    let mut found = 0;
    for _ in 0..250 {
        let inbox = govhall_messaging::inbox::list(h.t.app.db(), account.as_uuid(), 50, 0).await.unwrap();
        found = inbox.iter().filter(|m| m.subject.contains(subject)).count();
        if found > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    found
}

async fn count(h: &CaseHall, sql: &'static str) -> i64 {
    let mut conn = h.t.app.db().conn().await.unwrap();
    govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(sql).fetch_one(&mut *c).await).unwrap()
}

#[tokio::test]
async fn a_bad_review_goes_to_the_department_and_its_answer_is_rated() {
    let h = hall(|_| {}).await;
    let t = &h.t;
    let (_, serial) = finished(&h, "eval-1").await;
    let (_, open_serial, _) = h.submit("eval-open").await;
    let sms = invited(&h, &serial).await;
    assert!(sms.contains(&format!("/account/cases/{serial}/evaluation")), "{sms}");

    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let (_, pending) = me.get("/api/v1/me/evaluations/pending").await;
    assert_eq!(pending[0]["serial_number"], serial.as_str(), "{pending}");
    let path = format!("/api/v1/me/cases/{serial}/evaluation");

    // Another person's case is not found; an open case is not rated yet; a 差评 needs a reason.
    t.person(OTHER_PHONE, &common::test_id_number(55)).await;
    let other = Api { t, bearer: t.bearer(OTHER_PHONE).await };
    let (status, body) = other.json(Method::POST, &path, json!({"overall": 5})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("case_not_found")));
    let (status, body) =
        me.json(Method::POST, &format!("/api/v1/me/cases/{open_serial}/evaluation"), json!({"overall": 5})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("evaluation_state")), "{body}");
    let (status, body) = me.json(Method::POST, &path, json!({"overall": 1})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    let (status, _) = me.json(Method::POST, &path, json!({"overall": 7})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // A 差评 with a reason and a comment carrying script.
    let script = "<script>alert('差评')</script>\u{202E}跑了三次";
    let (status, body) = me
        .json(Method::POST, &path, json!({"overall": 2, "efficiency": 1, "reasons": ["many_trips"], "comment": script}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["evaluation"]["overall"], 2);
    assert_eq!(body["evaluation"]["channel"], "app");
    assert_eq!(body["rectification"]["state"], "open");
    assert!(!body["evaluation"]["comment"].as_str().unwrap().contains('\u{202E}'));

    // The department's handler sees the task, the comment as text; a handler of another
    // department does not.
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let list = worker.get("/admin/evaluations").await.text().await.unwrap();
    let task = list.split("/admin/evaluations/tasks/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let page = worker.get(&format!("/admin/evaluations/tasks/{task}")).await.text().await.unwrap();
    let shown = page.split("prewrap\">").nth(1).unwrap().split("</dd>").next().unwrap();
    assert_eq!(
        shown, "&#60;script&#62;alert(&#39;差评&#39;)&#60;/script&#62;跑了三次",
        "escaped, without the override"
    );
    assert!(page.contains("多次跑动"));
    let stranger = t.sign_in(STRANGER_PHONE, PASSWORD).await;
    assert!(!stranger.get("/admin/evaluations").await.text().await.unwrap().contains(&task));
    assert_eq!(stranger.get(&format!("/admin/evaluations/tasks/{task}")).await.status(), StatusCode::NOT_FOUND);
    let res = stranger
        .post(
            &format!("/admin/evaluations/tasks/{task}"),
            &[("answer", "我们不是办理部门但想回复一下"), ("called_back", "on")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The answer (after a call back) reaches the applicant, who rates it once.
    let res = worker.post(&format!("/admin/evaluations/tasks/{task}"), &[("answer", "太短")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer = "已电话回访，窗口已实行一次告知，材料清单已更新到办事指南。";
    let res =
        worker.post(&format!("/admin/evaluations/tasks/{task}"), &[("answer", answer), ("called_back", "on")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = worker.post(&format!("/admin/evaluations/tasks/{task}"), &[("answer", answer)]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "answered once");
    let outbox = t.app.messaging().sandbox_outbox().unwrap();
    for _ in 0..500 {
        if outbox.sent_to(APPLICANT_PHONE).iter().any(|s| s.body.contains("已对您办件")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(outbox.sent_to(APPLICANT_PHONE).iter().any(|s| s.body.contains("已对您办件")));
    let web = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let page = web.get(&format!("/account/cases/{serial}/evaluation")).await.text().await.unwrap();
    assert!(page.contains(answer) && page.contains("您对整改情况是否满意"), "{page}");
    let res = web.post(&format!("/account/cases/{serial}/evaluation/rectification"), &[("level", "4")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, body) = me.json(Method::POST, &format!("{path}/rectification"), json!({"level": 5})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("already_rated")));

    // Changed once (on the web), then no more; a terminal cannot rate it again.
    let res = web.post(&format!("/account/cases/{serial}/evaluation"), &[("overall", "4"), ("efficiency", "4")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = web.post(&format!("/account/cases/{serial}/evaluation"), &[("overall", "5")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let (_, body) = me.get(&path).await;
    assert_eq!(
        (body["evaluation"]["overall"].as_i64(), body["evaluation"]["channel"].as_str()),
        (Some(4), Some("web"))
    );
    assert_eq!(body["can_rate"], false);

    // The counts equal the rows: one evaluation, at level 4, on the web; the guide says so.
    assert_eq!(count(&h, "SELECT CAST(SUM(n) AS BIGINT) FROM evaluation_daily").await, 1);
    assert_eq!(count(&h, "SELECT CAST(SUM(n) AS BIGINT) FROM evaluation_monthly").await, 1);
    let level_four = "SELECT CAST(SUM(n) AS BIGINT) FROM evaluation_daily WHERE level = 4 AND channel = 'web'";
    assert_eq!(count(&h, level_four).await, 1, "moved from the first rating's level and channel");
    let satisfaction = t.app.feedback().item_satisfaction(&h.item.item.code).await.unwrap();
    assert_eq!(satisfaction.by_level, [0, 0, 0, 1, 0]);
    let guide = t.get(&format!("/items/{}", h.item.item.code)).await.text().await.unwrap();
    assert!(guide.contains("满意率 <strong>100.0%</strong>"), "the guide shows the item's satisfaction");
    let supervisor = t.sign_in(SUPERVISOR_PHONE, PASSWORD).await;
    let stats = supervisor.get("/admin/evaluations/statistics?by=channel").await.text().await.unwrap();
    assert!(stats.contains("网上大厅") && stats.contains("100.0%"), "{stats}");
}

#[tokio::test]
async fn an_overdue_task_is_escalated_once_and_an_appeal_voids_the_evaluation() {
    let h = hall(|_| {}).await;
    let t = &h.t;
    let (_, serial) = finished(&h, "eval-2").await;
    invited(&h, &serial).await;
    let feedback = t.app.feedback();
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let path = format!("/api/v1/me/cases/{serial}/evaluation");
    let (status, body) = me.json(Method::POST, &path, json!({"overall": 1, "reasons": ["attitude"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let due: chrono::NaiveDate = body["rectification"]["due_on"].as_str().unwrap().parse().unwrap();
    let today = govhall_core::clock::china_date(t.app.db().now());
    assert_eq!(due, t.app.cases().calendar().add_working_days(today, 5), "five working days on the calendar");

    // Not yet due: nothing; past due: escalated to the supervisor, once.
    assert_eq!(feedback.escalate(t.app.db().now()).await.unwrap(), 0);
    let later = t.app.db().now() + chrono::Duration::days(20);
    assert_eq!(feedback.escalate(later).await.unwrap(), 1);
    assert_eq!(feedback.escalate(later).await.unwrap(), 0);
    let supervisor_id = t.app.identity().find_account(SUPERVISOR_PHONE).await.unwrap().unwrap();
    assert_eq!(inbox_with(&h, supervisor_id, "差评整改已超期").await, 1);

    // The department appeals; a second appeal waits for the first; the supervisor upholds.
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let list = worker.get("/admin/evaluations").await.text().await.unwrap();
    let task = list.split("/admin/evaluations/tasks/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let reason = "申请人当日在窗口辱骂工作人员，有监控录像和大厅值班记录为证。";
    let res = worker.post(&format!("/admin/evaluations/tasks/{task}/appeal"), &[("reason", reason)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = worker.post(&format!("/admin/evaluations/tasks/{task}/appeal"), &[("reason", reason)]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let supervisor = t.sign_in(SUPERVISOR_PHONE, PASSWORD).await;
    let page = supervisor.get(&format!("/admin/evaluations/tasks/{task}")).await.text().await.unwrap();
    let appeal = page.split("/admin/evaluations/appeals/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    // The worker holds no supervision: the decision is not theirs.
    let res = worker
        .post(
            &format!("/admin/evaluations/appeals/{appeal}"),
            &[("decision", "uphold"), ("note", "成立"), ("task", &task)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = supervisor
        .post(
            &format!("/admin/evaluations/appeals/{appeal}"),
            &[("decision", "uphold"), ("note", "经核实录像，属恶意评价"), ("task", &task)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Out of the counts, not the record; the task closed; the applicant told.
    assert_eq!(count(&h, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM evaluation_daily").await, 0);
    assert_eq!(count(&h, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM evaluation_monthly").await, 0);
    assert_eq!(count(&h, "SELECT COUNT(*) FROM evaluations WHERE voided_at IS NOT NULL").await, 1);
    assert_eq!(count(&h, "SELECT COUNT(*) FROM rectifications WHERE state = 'closed'").await, 1);
    assert_eq!(inbox_with(&h, h.applicant, "已作废").await, 1, "the applicant is told");
    let (_, body) = me.get(&path).await;
    assert!(body["evaluation"]["voided_at"].is_string());
    let audit = count(&h, "SELECT COUNT(*) FROM audit_log WHERE action IN ('evaluation.appeal', 'evaluation.void', 'evaluation.escalate')").await;
    assert_eq!(audit, 3);
}

/// The upstream 好差评 system: refuses the first report, then accepts; records each id once.
async fn upstream(key: &'static [u8]) -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>) {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    let seen: std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>> = Default::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/reports",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let signed = govhall_messaging::signed::Signed {
                    timestamp: h(govhall_messaging::signed::TIMESTAMP),
                    nonce: h(govhall_messaging::signed::NONCE),
                    signature: h(govhall_messaging::signed::SIGNATURE),
                };
                let valid =
                    govhall_messaging::signed::Signer::HmacSm3(key.to_vec()).verify(&signed, &body, chrono::Utc::now());
                let mut seen = log.lock().unwrap();
                let first = seen.is_empty();
                seen.push((h(govhall_feedback::report::REPORT_ID), valid));
                if first { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/reports", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn the_upstream_report_is_retried_after_a_failure_and_recorded_once() {
    const KEY: &[u8] = b"upstream-test-secret";
    let (url, seen) = upstream(KEY).await;
    let h = hall(move |s| {
        s.feedback.upstream_url = url;
        s.feedback.upstream_secret = govhall_core::Secret::new("upstream-test-secret");
        s.jobs.backoff_base_secs = 1;
    })
    .await;
    let t = &h.t;
    let (_, serial) = finished(&h, "eval-3").await;
    invited(&h, &serial).await;
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let (status, _) =
        me.json(Method::POST, &format!("/api/v1/me/cases/{serial}/evaluation"), json!({"overall": 5})).await;
    assert_eq!(status, StatusCode::CREATED);
    for _ in 0..400 {
        if count(&h, "SELECT COUNT(*) FROM evaluation_reports WHERE state = 'sent'").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(&h, "SELECT COUNT(*) FROM evaluation_reports WHERE state = 'sent'").await, 1);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "refused once, then accepted: {seen:?}");
    assert_eq!(seen[0].0, seen[1].0, "the retry carries the same report id");
    assert!(seen.iter().all(|(_, valid)| *valid), "signed with the shared key");
    assert_eq!(count(&h, "SELECT CAST(attempts AS BIGINT) FROM evaluation_reports").await, 2);
}

#[tokio::test]
async fn a_hall_terminal_rates_by_number_and_password_without_signing_in() {
    let h = hall(|_| {}).await;
    let t = &h.t;
    let (case, serial, password) = h.submit("eval-4").await;
    let access = h.access(h.worker).await;
    let actor = Actor::system("审批人");
    for (step, note) in [("start_prereview", ""), ("reject", "材料不齐，当场退回")] {
        let action = Action { case, action: step.into(), note: note.into(), ..Action::default() };
        t.app.cases().act(By::Staff(&access, &actor), action).await.unwrap();
    }
    let page = t.get("/kiosk/evaluate").await;
    let visitor = common::set_cookie(&page, "govhall_visitor").unwrap();
    let csrf = common::csrf_of(&page.text().await.unwrap());
    let post = |fields: Vec<(&'static str, String)>| {
        let mut form = fields;
        form.push(("csrf", csrf.clone()));
        t.client
            .post(t.url("/kiosk/evaluate"))
            .header("cookie", &visitor)
            .header("origin", t.app.url())
            .form(&form)
            .send()
    };
    let res = post(vec![("serial", serial.clone()), ("query_password", "WRONG234".into()), ("overall", "5".into())])
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "a wrong password proves nothing");
    let res = post(vec![("serial", serial.clone()), ("query_password", password.clone()), ("overall", "3".into())])
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res =
        post(vec![("serial", serial.clone()), ("query_password", password), ("overall", "5".into())]).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT, "a second rating from the terminal is refused");
    let channel: String = {
        let mut conn = t.app.db().conn().await.unwrap();
        govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar("SELECT channel FROM evaluations")
            .fetch_one(&mut *c)
            .await)
        .unwrap()
    };
    assert_eq!(channel, "kiosk");
}

#[tokio::test]
async fn ratings_of_one_case_sent_at_once_make_one_evaluation_changed_at_most_once() {
    let h = hall(|_| {}).await;
    let t = &h.t;
    let (_, serial) = finished(&h, "eval-5").await;
    invited(&h, &serial).await;
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let path = format!("/api/v1/me/cases/{serial}/evaluation");
    // The same rating sent six times at once (a double click, an app's retries): one evaluation,
    // each answered with it, the one change not spent.
    let same = (0..6).map(|_| me.json(Method::POST, &path, json!({"overall": 4, "efficiency": 4})));
    let answers = futures::future::join_all(same).await;
    assert!(answers.iter().all(|(s, b)| *s == StatusCode::CREATED && b["evaluation"]["overall"] == 4), "{answers:?}");
    assert_eq!(count(&h, "SELECT COUNT(*) FROM evaluations WHERE changed_at IS NULL").await, 1);
    // Different ratings at once: one of them is the change, the others are refused.
    let ratings = [
        json!({"overall": 5}),
        json!({"overall": 3}),
        json!({"overall": 2, "reasons": ["many_trips"]}),
        json!({"overall": 1, "reasons": ["attitude"]}),
    ];
    let changes = ratings.iter().map(|r| me.json(Method::POST, &path, r.clone()));
    let answers = futures::future::join_all(changes).await;
    let kept = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    assert_eq!(kept, 1, "one change: {answers:?}");
    assert!(
        answers
            .iter()
            .filter(|(s, _)| *s != StatusCode::CREATED)
            .all(|(s, b)| *s == StatusCode::CONFLICT && b["code"] == "already_rated"),
        "{answers:?}"
    );
    assert_eq!(count(&h, "SELECT COUNT(*) FROM evaluations WHERE changed_at IS NOT NULL").await, 1);
    assert_eq!(count(&h, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM evaluation_daily").await, 1);
    assert_eq!(count(&h, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM evaluation_monthly").await, 1);
    let (_, body) = me.get(&path).await;
    let level = body["evaluation"]["overall"].as_i64().unwrap();
    let counted = {
        let mut conn = t.app.db().conn().await.unwrap();
        govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar::<_, i16>(
            "SELECT level FROM evaluation_daily GROUP BY level HAVING SUM(n) > 0"
        )
        .fetch_one(&mut *c)
        .await)
        .unwrap()
    };
    assert_eq!(i64::from(counted), level, "the count follows the change (summed over its shards)");
}
