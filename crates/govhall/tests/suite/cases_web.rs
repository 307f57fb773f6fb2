//! Cases over HTTP: the workbench with its data scope, actions as multipart forms, personal data
//! opened on purpose, the Excel export, 电子监察, workflow configuration, the public progress
//! page and API with their throttling, and 我的办件 for the applicant.

use crate::common;

use common::{Agent, CaseHall, PASSWORD, csrf_of, set_cookie};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn act(
    agent: &Agent,
    id: govhall_cases::CaseId,
    action: &str,
    note: &str,
    file: Option<(&str, Vec<u8>)>,
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().text("csrf", agent.csrf.clone()).text("action", action.to_owned());
    form = form.text("note", note.to_owned());
    if let Some((name, bytes)) = file {
        form = form.text("result", "1").part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    }
    agent
        .client
        .post(format!("{}/admin/cases/{id}/act", agent.base))
        .header("cookie", &agent.cookie)
        .header("origin", &agent.base)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn staff_handle_cases_of_their_department_only_through_the_workbench() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let (id, serial, _) = h.submit("web-1").await;
    let worker = t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    let stranger = t.sign_in(common::STRANGER_PHONE, PASSWORD).await;

    let inbox = worker.get("/admin/cases").await.text().await.unwrap();
    assert!(inbox.contains(&serial) && inbox.contains("收件") && inbox.contains("张*"), "{inbox}");
    assert!(!inbox.contains(common::APPLICANT_ID));
    let other = stranger.get("/admin/cases").await.text().await.unwrap();
    assert!(!other.contains(&serial) && other.contains("没有符合条件的办件"));
    assert_eq!(stranger.get(&format!("/admin/cases/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(act(&stranger, id, "start_prereview", "", None).await.status(), StatusCode::NOT_FOUND);
    let res = worker.get("/admin/cases?warning=purple").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("预警"));

    // Illegal moves are refused with the reason on the case page; legal ones go through.
    let res = act(&worker, id, "accept", "", None).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("当前环节“收件”不能执行“accept”"));
    assert_eq!(act(&worker, id, "start_prereview", "", None).await.status(), StatusCode::SEE_OTHER);
    let res = act(&worker, id, "reject", "", None).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("请填写“不予受理”的理由"));
    let note = "<script>alert(1)</script>缺身份证";
    assert_eq!(act(&worker, id, "request_supplement", note, None).await.status(), StatusCode::SEE_OTHER);
    let page = worker.get(&format!("/admin/cases/{id}")).await.text().await.unwrap();
    assert!(page.contains("&#60;script&#62;alert(1)&#60;/script&#62;缺身份证") || page.contains("&lt;script&gt;"));
    assert!(!page.contains("<script>alert(1)"));
    assert!(!page.contains(common::APPLICANT_ID), "personal data only on purpose");

    // Opening personal data is a POST, shown once, audited.
    let res = worker.post(&format!("/admin/cases/{id}/personal-data"), &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains(common::APPLICANT_ID) && page.contains("济南市历下区") && page.contains("审计日志"));

    // The Excel export of the inbox.
    let res = worker.get("/admin/cases/export.xlsx?state=all").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx (zip)");

    // The supervisor's view and the worker's lack of it.
    let supervisor = t.sign_in(common::SUPERVISOR_PHONE, PASSWORD).await;
    let page = supervisor.get("/admin/supervision").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains(&h.item.item.department));
    assert_eq!(worker.get("/admin/supervision").await.status(), StatusCode::FORBIDDEN);

    // The applicant answers the request in 我的办件, then staff decide with a result document.
    let applicant = t.sign_in(common::APPLICANT_PHONE, PASSWORD).await;
    let mine = applicant.get("/account/cases").await.text().await.unwrap();
    assert!(mine.contains(&serial) && mine.contains("待您补正"));
    let page = applicant.get(&format!("/account/cases/{serial}")).await.text().await.unwrap();
    assert!(page.contains("请补齐补正") && page.contains("缺身份证") && page.contains("提交补正材料"));
    assert!(!page.contains("<script>alert(1)"));
    let res =
        applicant.post(&format!("/account/cases/{serial}/act"), &[("action", "resubmit"), ("note", "已补")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = applicant.post(&format!("/account/cases/{serial}/act"), &[("action", "accept")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "staff's step");
    for step in ["accept", "start_review"] {
        assert_eq!(act(&worker, id, step, "", None).await.status(), StatusCode::SEE_OTHER, "{step}");
    }
    let exe = b"MZ\x90\x00\x03\x00\x00\x00".to_vec();
    let res = act(&worker, id, "grant", "", Some(("决定书.pdf", exe))).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("不是 PDF"));
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n".to_vec();
    assert_eq!(
        act(&worker, id, "grant", "准予", Some(("准予许可决定书.pdf", pdf.clone()))).await.status(),
        StatusCode::SEE_OTHER
    );
    let page = applicant.get(&format!("/account/cases/{serial}")).await.text().await.unwrap();
    let link = page
        .split(&format!("/account/cases/{serial}/files/"))
        .nth(1)
        .expect("a result link")
        .split('"')
        .next()
        .unwrap();
    let res = applicant.get(&format!("/account/cases/{serial}/files/{link}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf);

    // Another person sees nothing of it.
    t.person("13800000102", "11010519491231002X").await;
    let other = t.sign_in("13800000102", PASSWORD).await;
    assert_eq!(other.get(&format!("/account/cases/{serial}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.get(&format!("/account/cases/{serial}/files/{link}")).await.status(), StatusCode::NOT_FOUND);
    // The mobile app's API, with a bearer token.
    let token = |login: &'static str| {
        let client = t.client.clone();
        let url = t.url("/api/v1/sessions");
        async move {
            let body: Value = client
                .post(url)
                .json(&json!({"login": login, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["token"].as_str().unwrap().to_owned()
        }
    };
    let mine = |token: String, path: String| t.client.get(t.url(&path)).bearer_auth(token).send();
    let list: Value = mine(token("13800000102").await, "/api/v1/me/cases".into()).await.unwrap().json().await.unwrap();
    assert_eq!(list, json!([]));
    let own = token(common::APPLICANT_PHONE).await;
    let list: Value = mine(own.clone(), "/api/v1/me/cases".into()).await.unwrap().json().await.unwrap();
    assert_eq!(list[0]["serial_number"], serial.as_str());
    assert_eq!(list[0]["outcome"], "准予");
    let one: Value = mine(own, format!("/api/v1/me/cases/{serial}")).await.unwrap().json().await.unwrap();
    assert!(one["entries"].as_array().unwrap().iter().any(|e| e["note"] == "已补"), "{one}");
    h.t.stop().await;
}

#[tokio::test]
async fn the_progress_page_and_api_answer_by_number_and_password_and_lock_after_failures() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let (_, serial, password) = h.submit("web-2").await;
    let query = |serial: String, password: String| {
        let url = t.url("/api/v1/progress-queries");
        let client = t.client.clone();
        async move {
            client.post(url).json(&json!({"serial_number": serial, "query_password": password})).send().await.unwrap()
        }
    };
    let res = query(serial.clone(), password.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["step"], "收件");
    assert_eq!(body["milestones"][0]["name"], "收件");
    assert!(!body.to_string().contains("张三"));
    let wrong: Value = query(serial.clone(), "XXXXXXXX".into()).await.json().await.unwrap();
    let unknown: Value = query("010201999999".into(), password.clone()).await.json().await.unwrap();
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["code"], "progress_not_found");
    let res =
        t.client.post(t.url("/api/v1/progress-queries")).json(&json!({"serial_number": serial})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    for _ in 0..4 {
        query(serial.clone(), "YYYYYYYY".into()).await;
    }
    let res = query(serial.clone(), password.clone()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "progress_locked");
    assert!(body["message"].as_str().unwrap().contains("分钟后再试"));

    // The page: a visitor's form with its CSRF token; another case answers normally.
    let (_, serial2, password2) = h.submit("web-3").await;
    let page = t.get("/progress").await;
    let visitor = set_cookie(&page, "govhall_visitor").unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    let post = |fields: Vec<(&'static str, String)>| {
        let mut fields = fields;
        fields.push(("csrf", csrf.clone()));
        t.client.post(t.url("/progress")).header("cookie", &visitor).header("origin", t.app.url()).form(&fields).send()
    };
    let res =
        post(vec![("serial_number", serial2.clone()), ("query_password", password2.to_lowercase())]).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains(&serial2) && html.contains("收件") && html.contains(&h.item.item.department));
    let res = post(vec![("serial_number", serial2.clone()), ("query_password", "<b>x</b>".into())]).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("申办编号或查询密码不正确"));
    h.t.stop().await;
}

#[tokio::test]
async fn an_items_workflow_is_configured_checked_and_followed_by_new_cases() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let supervisor = t.sign_in(common::SUPERVISOR_PHONE, PASSWORD).await;
    let code = h.item.item.code.clone();
    let page = supervisor.get(&format!("/admin/workflows?item={code}")).await.text().await.unwrap();
    assert!(page.contains("该事项使用标准流程") && page.contains("补齐补正"));
    let res = supervisor.post(&format!("/admin/workflows/{code}"), &[("definition", "{not json")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(html.contains("不是有效的 JSON") && html.contains("{not json"), "what was typed is kept");
    // A short workflow: 收件 → 办结 directly, with one step.
    let mut w = govhall_cases::Workflow::standard();
    w.transitions.push(govhall_cases::workflow::Transition {
        from: "received".into(),
        action: "grant_at_once".into(),
        label: "当场办结".into(),
        to: "decided".into(),
        note_required: false,
        effect: Some(govhall_cases::workflow::Effect::Grant),
        by_applicant: false,
    });
    let res = supervisor.post(&format!("/admin/workflows/{code}"), &[("definition", &w.to_json())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (id, _, _) = h.submit("web-4").await;
    let worker = t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    assert_eq!(act(&worker, id, "grant_at_once", "", None).await.status(), StatusCode::SEE_OTHER);
    let case = t.app.cases().get(&h.access(h.worker).await, id).await.unwrap();
    assert_eq!(case.step, "decided");
    // The worker may not configure workflows; the stranger's department item is not the supervisor's.
    assert_eq!(worker.get("/admin/workflows").await.status(), StatusCode::FORBIDDEN);
    h.t.stop().await;
}

#[tokio::test]
async fn the_applicant_answers_a_supplement_request_with_files_and_only_files_that_are_what_they_say() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let (id, serial, _) = h.submit("supp-files").await;
    let worker = t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    assert_eq!(act(&worker, id, "start_prereview", "", None).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(act(&worker, id, "request_supplement", "请补充营业执照", None).await.status(), StatusCode::SEE_OTHER);
    let applicant = t.sign_in(common::APPLICANT_PHONE, PASSWORD).await;
    let page = applicant.get(&format!("/account/cases/{serial}")).await.text().await.unwrap();
    assert!(page.contains("请补充营业执照") && page.contains("name=\"file\""), "{page}");
    let resubmit = |files: Vec<(&'static str, Vec<u8>)>| {
        let mut form = reqwest::multipart::Form::new()
            .text("csrf", applicant.csrf.clone())
            .text("action", "resubmit")
            .text("note", "已补充");
        for (name, bytes) in files {
            form = form.part("file", reqwest::multipart::Part::bytes(bytes).file_name(name));
        }
        applicant
            .client
            .post(format!("{}/account/cases/{serial}/act", applicant.base))
            .header("cookie", &applicant.cookie)
            .header("origin", &applicant.base)
            .multipart(form)
            .send()
    };
    let access = h.access(h.worker).await;
    // A program named like a PDF is refused, and the case still waits for the supplement.
    let mut exe = b"MZ\x90\x00".to_vec();
    exe.resize(2048, 0);
    let res = resubmit(vec![("营业执照.pdf", exe)]).await.unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(t.app.cases().get(&access, id).await.unwrap().step, "supplement");
    // A file over the limit is refused without being read whole.
    let max = t.app.cases().settings().max_file_bytes;
    let res = resubmit(vec![("大文件.pdf", common::applying::pdf(max + 1024))]).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(t.app.cases().get(&access, id).await.unwrap().step, "supplement");
    // More files than a supplement takes.
    let eleven = (0..11).map(|_| ("页.pdf", common::applying::pdf(600))).collect();
    let res = resubmit(eleven).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("一次最多提交 10 个文件"));
    // Two PDFs: the case goes back to the step that asked, with the files beside the event.
    let res = resubmit(vec![("营业执照.pdf", common::applying::pdf(900)), ("说明.pdf", common::applying::pdf(700))])
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let case = t.app.cases().get(&access, id).await.unwrap();
    assert_eq!(case.step, "prereview");
    let files = t.app.cases().files(&access, id).await.unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.file_name.as_str()).collect();
    assert_eq!(names, ["营业执照.pdf", "说明.pdf"]);
    // The applicant downloads what they gave; staff's page lists it.
    let own = applicant.get(&format!("/account/cases/{serial}/files/{}", files[0].id)).await;
    assert_eq!(own.status(), StatusCode::OK);
    let staff_page = worker.get(&format!("/admin/cases/{id}")).await.text().await.unwrap();
    assert!(staff_page.contains("营业执照.pdf"));
    // Nobody else does.
    t.person("13800000109", &common::test_id_number(9)).await;
    let other = t.sign_in("13800000109", PASSWORD).await;
    let res = other.get(&format!("/account/cases/{serial}/files/{}", files[0].id)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    h.t.stop().await;
}
