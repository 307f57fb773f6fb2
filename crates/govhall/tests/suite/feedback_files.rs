//! Files with complaints, 差评 answers and appeals, on SQLite and PostgreSQL: a complaint made
//! through the API without an account (a challenge, an SMS code), its files checked by content
//! (a refused file keeps nothing), followed by number and query password with more files, the
//! limit of a complaint's files held under additions sent at once, staff of the department
//! downloading them and nobody else; a signed-in complaint on the web with a file whose name
//! hides its type; a department's answer and its appeal with their evidence, seen by its staff
//! and the supervisor, not by another department. The department's handlers are told of a new
//! complaint and a new 差评 task by inbox; another department's are not.

use crate::common;

use base64::Engine as _;
use common::applying::{pdf, png};
use common::rating::{finished, hall as rating_hall, invited};
use common::space::Api;
use common::{APPLICANT_PHONE, PASSWORD, STRANGER_PHONE, SUPERVISOR_PHONE, WORKER_PHONE};
use govhall_audit::Actor;
use govhall_identity::rbac::Grantee;
use govhall_identity::{Permission as P, Scope};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const VISITOR_PHONE: &str = "13900000556";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn post_json(t: &common::TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let res = t.client.post(t.url(path)).json(&body).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The subjects of `account`'s inbox once a message with `subject` in it has been delivered (or
/// after five seconds).
async fn inbox(t: &common::TestApp, account: govhall_identity::AccountId, subject: &str) -> Vec<String> {
    let mut subjects = Vec::new();
    for _ in 0..250 {
        let list = govhall_messaging::inbox::list(t.app.db(), account.as_uuid(), 50, 0).await.unwrap();
        subjects = list.into_iter().map(|m| m.subject).collect::<Vec<_>>();
        if subjects.iter().any(|s| s.contains(subject)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    subjects
}

async fn count(t: &common::TestApp, sql: &'static str) -> i64 {
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(sql).fetch_one(&mut *c).await).unwrap()
}

#[tokio::test]
async fn a_complaint_through_the_api_without_an_account_carries_files_seen_by_its_department_only() {
    let h = rating_hall(|_| {}).await;
    let t = &h.t;
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let handle = identity.save_role(&actor, "complaint_handler", "办理投诉", &[P::ComplaintHandle]).await.unwrap();
    for who in [h.worker, h.stranger] {
        identity.grant(&actor, handle, Grantee::Account(who), Scope::Department).await.unwrap();
    }
    let code = h.item.item.code.clone();

    // A challenge to solve when codes are asked for often; the code proves the number.
    let res = t.client.get(t.url("/api/v1/challenge")).send().await.unwrap();
    let challenge: Value = res.json().await.unwrap();
    assert!(challenge["bits"].as_u64().unwrap() >= 1 && challenge["challenge"].is_string());
    let (status, body) = post_json(t, "/api/v1/complaints/code", json!({"phone": "123"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    let (status, body) = post_json(t, "/api/v1/complaints/code", json!({"phone": VISITOR_PHONE})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let sms = t.sms_code(VISITOR_PHONE, 1).await;

    let complaint = |files: Value, code_typed: &str| {
        json!({"subject": "item", "subject_ref": code, "category": "办事效率", "body": "材料交了三次还说不全，窗口也说不清缺什么。",
            "phone": VISITOR_PHONE, "code": code_typed, "files": files})
    };
    // A wrong code, a file that is not what its name says, six files: nothing is kept.
    let good = json!([{"name": "现场照片.png", "content_base64": b64(&png(8))}]);
    let (status, body) = post_json(t, "/api/v1/complaints", complaint(good.clone(), "000000")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let script = json!([{"name": "说明.pdf", "content_base64": b64(b"<script>alert(1)</script>")}]);
    let (status, body) = post_json(t, "/api/v1/complaints", complaint(script, &sms)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_attachment")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("说明.pdf"), "the file is named: {body}");
    let six: Vec<Value> =
        (0..6).map(|i| json!({"name": format!("{i}.pdf"), "content_base64": b64(&pdf(400))})).collect();
    let (status, body) = post_json(t, "/api/v1/complaints", complaint(json!(six), &sms)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("too_many_files")));
    let (status, body) =
        post_json(t, "/api/v1/complaints", complaint(json!([{"name": "a.pdf", "content_base64": "不是"}]), &sms)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_attachment")));
    assert_eq!(count(t, "SELECT COUNT(*) FROM complaints").await, 0);
    assert_eq!(count(t, "SELECT COUNT(*) FROM feedback_files").await, 0);

    // Made with one photo (a name hiding its type is cleaned and given the type it is).
    let hidden = json!([{"name": "照片\u{202E}gnp.exe", "content_base64": b64(&png(8))}]);
    let (status, made) = post_json(t, "/api/v1/complaints", complaint(hidden, &sms)).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let number = made["number"].as_str().unwrap().to_owned();
    let password = made["query_password"].as_str().unwrap().to_owned();
    let lookup = format!("/api/v1/complaints/{number}/lookup");
    let (status, _) = post_json(t, &lookup, json!({"password": "WRONG234"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, seen) = post_json(t, &lookup, json!({"password": password})).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    let files = seen["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    let name = files[0]["name"].as_str().unwrap();
    assert!(!name.contains('\u{202E}') && name.ends_with(".png"), "{name}");
    let file = files[0]["id"].as_str().unwrap().to_owned();
    let download = format!("/api/v1/complaints/{number}/files/{file}");
    let res = t.client.post(t.url(&download)).json(&json!({"password": password})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(res.bytes().await.unwrap().to_vec(), png(8));
    let res = t.client.post(t.url(&download)).json(&json!({"password": "WRONG234"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // More information with files; additions sent at once never pass twenty files. (The two
    // wrong passwords above still count against the number: forgotten here, as half an hour would.)
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::exec!(conn, govhall_db::sqlx::query("DELETE FROM complaint_lookup_failures")).unwrap();
    drop(conn);
    let act = format!("/api/v1/complaints/{number}/actions");
    let five: Vec<Value> =
        (0..5).map(|i| json!({"name": format!("补充{i}.pdf"), "content_base64": b64(&pdf(300))})).collect();
    let add = json!({"password": password, "action": "info", "note": "补充窗口的收件回执照片。", "files": five});
    let (status, body) = post_json(t, &act, add.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["files"].as_array().unwrap().len(), 6);
    let at_once = (0..4).map(|_| post_json(t, &act, add.clone()));
    let answers = futures::future::join_all(at_once).await;
    let accepted = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(accepted, 2, "6 + 5 + 5 = 16, a third would make 21: {answers:?}");
    assert!(answers.iter().any(|(_, b)| b["message"].as_str().is_some_and(|m| m.contains("最多附 20 个文件"))));
    assert_eq!(count(t, "SELECT COUNT(*) FROM feedback_files").await, 16);
    assert_eq!(count(t, "SELECT CAST(MAX(file_count) AS BIGINT) FROM complaints").await, 16);

    // The department's handlers are told of it, once; another department's are not.
    let told = inbox(t, h.worker, "新的投诉待办理").await;
    assert_eq!(told.iter().filter(|s| s.contains(&number)).count(), 1, "{told:?}");
    assert!(inbox(t, h.stranger, "新的投诉待办理").await.is_empty());

    // The department's staff see and download them; another department's do not.
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let list = worker.get("/admin/complaints").await.text().await.unwrap();
    let id = list.split("href=\"/admin/complaints/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let page = worker.get(&format!("/admin/complaints/{id}")).await.text().await.unwrap();
    assert!(page.contains("投诉人提供的附件") && page.contains(&format!("/admin/complaints/{id}/files/{file}")));
    let res = worker.get(&format!("/admin/complaints/{id}/files/{file}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), png(8));
    let stranger = t.sign_in(STRANGER_PHONE, PASSWORD).await;
    assert_eq!(stranger.get(&format!("/admin/complaints/{id}/files/{file}")).await.status(), StatusCode::NOT_FOUND);
    // A file of another complaint through this complaint's address: not found.
    let other = uuid::Uuid::now_v7();
    assert_eq!(worker.get(&format!("/admin/complaints/{id}/files/{other}")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_signed_in_complaint_on_the_web_keeps_its_file_for_its_complainant_alone() {
    let h = rating_hall(|_| {}).await;
    let t = &h.t;
    let me = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let page = me.get(&format!("/complaints/new?subject=item&ref={}", h.item.item.code)).await.text().await.unwrap();
    assert!(page.contains("enctype=\"multipart/form-data\"") && page.contains("name=\"file\""));
    let csrf = common::csrf_of(&page);
    let form = |bytes: Vec<u8>| {
        Form::new()
            .text("subject", "item")
            .text("subject_ref", h.item.item.code.clone())
            .text("category", "服务态度")
            .text("body", "<script>alert('投诉')</script>窗口人员不耐烦。")
            .text("action", "submit")
            .part("file", Part::bytes(bytes).file_name("录音说明.pdf"))
    };
    let post = |form: Form, token: &str| {
        t.client
            .post(t.url(&format!("/complaints?csrf={token}")))
            .header("cookie", &me.cookie)
            .header("origin", t.app.url())
            .multipart(form)
            .send()
    };
    // Without the token in the address: refused before anything is read.
    let res = post(form(pdf(500)), "forged").await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(form(b"MZ\x90\x00 not a pdf".to_vec()), &csrf).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let text = res.text().await.unwrap();
    assert!(text.contains("录音说明.pdf") && text.contains("不是 PDF"), "{text}");
    assert_eq!(count(t, "SELECT COUNT(*) FROM complaints").await, 0);
    let res = post(form(pdf(500)), &csrf).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let made = res.text().await.unwrap();
    let number = made.split("id=\"complaint-number\">").nth(1).unwrap().split('<').next().unwrap().to_owned();

    let mine = me.get(&format!("/account/complaints/{number}")).await.text().await.unwrap();
    assert!(!mine.contains("<script>alert"), "script stays text");
    let file = mine
        .split(&format!("/account/complaints/{number}/files/"))
        .nth(1)
        .expect("the file is listed")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let res = me.get(&format!("/account/complaints/{number}/files/{file}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf(500));
    // Information added with a file larger than a plain form may be (3 MB): kept whole.
    let big = pdf(3 * 1024 * 1024);
    let add = Form::new()
        .text("action", "info")
        .text("note", "补充窗口收件回执的扫描件。")
        .part("file", Part::bytes(big.clone()).file_name("回执.pdf"));
    let res = t
        .client
        .post(t.url(&format!("/account/complaints/{number}/act?csrf={csrf}")))
        .header("cookie", &me.cookie)
        .header("origin", t.app.url())
        .multipart(add)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
    let mine = me.get(&format!("/account/complaints/{number}")).await.text().await.unwrap();
    assert!(mine.contains("回执.pdf") && mine.contains("附件 1 个"), "{mine}");
    assert_eq!(count(t, "SELECT CAST(MAX(size) AS BIGINT) FROM feedback_files").await, big.len() as i64);

    // Through the API with the same person's token; another person's token: not found.
    let api = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let res = api.req(Method::GET, &format!("/api/v1/me/complaints/{number}/files/{file}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, one) = api.get(&format!("/api/v1/me/complaints/{number}")).await;
    assert_eq!(one["files"][0]["id"], file.as_str());
    // Files through the API in Base64, larger than a plain request may be.
    let (status, body) = api
        .json(
            Method::POST,
            &format!("/api/v1/me/complaints/{number}/actions"),
            json!({"action": "info", "note": "再补充一份说明。", "files": [{"name": "说明.pdf", "content_base64": b64(&big)}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["files"].as_array().unwrap().len(), 3);
    t.person("13700000557", &common::test_id_number(57)).await;
    let other = Api { t, bearer: t.bearer("13700000557").await };
    let res = other.req(Method::GET, &format!("/api/v1/me/complaints/{number}/files/{file}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let stranger = t.sign_in("13700000557", PASSWORD).await;
    assert_eq!(
        stranger.get(&format!("/account/complaints/{number}/files/{file}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_departments_answer_and_appeal_carry_evidence_for_its_staff_and_supervisor() {
    let h = rating_hall(|_| {}).await;
    let t = &h.t;
    let (_, serial) = finished(&h, "eval-files").await;
    invited(&h, &serial).await;
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let path = format!("/api/v1/me/cases/{serial}/evaluation");
    let (status, body) = me.json(Method::POST, &path, json!({"overall": 1, "reasons": ["attitude"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The department's handlers are told of the task; another department's are not.
    let told = inbox(t, h.worker, "新的差评待整改").await;
    assert_eq!(told.iter().filter(|s| s.contains("新的差评待整改")).count(), 1, "{told:?}");
    assert!(inbox(t, h.stranger, "新的差评待整改").await.is_empty());
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let list = worker.get("/admin/evaluations").await.text().await.unwrap();
    let task = list.split("/admin/evaluations/tasks/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let page = worker.get(&format!("/admin/evaluations/tasks/{task}")).await.text().await.unwrap();
    assert!(page.contains(&format!("/admin/evaluations/tasks/{task}?csrf=")), "the answer form carries its token");
    let send = |path: String, form: Form| {
        t.client
            .post(t.url(&format!("{path}?csrf={}", worker.csrf)))
            .header("cookie", &worker.cookie)
            .header("origin", t.app.url())
            .multipart(form)
            .send()
    };
    let answer = |files: Vec<Vec<u8>>| {
        let mut form =
            Form::new().text("answer", "已电话回访申请人并致歉，窗口人员已接受批评教育。").text("called_back", "on");
        for (i, f) in files.into_iter().enumerate() {
            form = form.part("file", Part::bytes(f).file_name(format!("整改报告{i}.pdf")));
        }
        form
    };
    let tasks = format!("/admin/evaluations/tasks/{task}");
    let res = send(tasks.clone(), answer(vec![pdf(300); 6])).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "six files at once");
    let res = send(tasks.clone(), answer(vec![b"plain text".to_vec()])).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(count(t, "SELECT COUNT(*) FROM rectifications WHERE state = 'answered'").await, 0, "nothing kept");
    let res = send(tasks.clone(), answer(vec![pdf(300)])).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let appeal = Form::new()
        .text("reason", "申请人当日在窗口辱骂工作人员，有监控录像截图和值班记录为证。")
        .part("file", Part::bytes(png(12)).file_name("监控截图.png"));
    let res = send(format!("{tasks}/appeal"), appeal).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(t, "SELECT COUNT(*) FROM feedback_files WHERE added_by = 'staff'").await, 2);

    // The supervisor sees the task with both files and downloads the evidence.
    let supervisor = t.sign_in(SUPERVISOR_PHONE, PASSWORD).await;
    let page = supervisor.get(&tasks).await.text().await.unwrap();
    assert!(page.contains("整改报告0.pdf") && page.contains("监控截图.png"), "{page}");
    let links: Vec<String> =
        page.split(&format!("{tasks}/files/")).skip(1).map(|s| s.split('"').next().unwrap().to_owned()).collect();
    assert_eq!(links.len(), 2);
    for link in &links {
        let res = supervisor.get(&format!("{tasks}/files/{link}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let stranger = t.sign_in(STRANGER_PHONE, PASSWORD).await;
        assert_eq!(stranger.get(&format!("{tasks}/files/{link}")).await.status(), StatusCode::NOT_FOUND);
    }
    let res = supervisor.get(&format!("{tasks}/files/{}", links[1])).await;
    assert_eq!(res.bytes().await.unwrap().to_vec(), png(12));
    // The applicant has no way to these files.
    let applicant = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    assert_ne!(applicant.get(&format!("{tasks}/files/{}", links[0])).await.status(), StatusCode::OK);
}
