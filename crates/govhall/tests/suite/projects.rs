//! 项目档案 over HTTP, on SQLite and PostgreSQL: an enterprise's investment project groups its
//! cases across departments by stage, with approvals added on the page with their files; what is
//! done and what comes next; staff see a dossier holding a case they may see; others nothing.

use crate::common;

use common::applying::{ApplyHall, pdf};
use common::space::Api;
use common::{APPLICANT_PHONE, PASSWORD, WORKER_PHONE};
use govhall_audit::Actor;
use govhall_catalog::model::Material;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::json;

#[tokio::test]
async fn an_enterprise_follows_an_investment_project_across_departments() {
    let a = ApplyHall::new().await;
    let t = a.t();
    let identity = t.app.identity();
    let cases = t.app.cases();
    let actor = Actor::system("test");
    let enterprise = identity
        .register_enterprise(&actor, a.hall.applicant, "91350100M000100Y43", "福州测试科技有限公司", "张三")
        .await
        .unwrap();
    let b = a.other_item(vec![Material { name: "用地申请书".into(), ..Material::default() }]).await;
    let submit = |code: String, key: &'static str, for_enterprise: bool| {
        let s = govhall_cases::submit::Submission {
            item_code: code,
            applicant: a.hall.applicant,
            enterprise: for_enterprise.then_some(enterprise),
            form: json!({"申请事由": "新建厂房"}),
            materials: Vec::new(),
            idempotency_key: key.into(),
        };
        async move { cases.submit(s).await.unwrap() }
    };
    let first = submit(a.code.clone(), "project-1", true).await;
    let second = submit(b.clone(), "project-2", true).await;
    let personal = submit(a.code.clone(), "project-3", false).await;
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };

    // The dossier: created, its cases put into stages; the wrong ones refused with why.
    let (status, created) = me
        .json(
            reqwest::Method::POST,
            "/api/v1/me/projects",
            json!({"enterprise_id": enterprise, "name": "新建厂房项目", "code": "2026-350100-34-01-000001",
                   "scale_wan": "1200.5", "land_m2": "3000"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let project = created["id"].as_str().unwrap().to_owned();
    let (status, body) = me
        .json(
            reqwest::Method::POST,
            "/api/v1/me/projects",
            json!({"enterprise_id": enterprise, "name": "x", "scale_wan": "-3"}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_input")));
    let cases_path = format!("/api/v1/me/projects/{project}/cases");
    let add = |serial: String, stage: &'static str| {
        me.json(reqwest::Method::POST, &cases_path, json!({"serial_number": serial, "stage": stage}))
    };
    assert_eq!(add(first.serial_number.clone(), "立项").await.0, StatusCode::NO_CONTENT);
    assert_eq!(add(second.serial_number.clone(), "用地").await.0, StatusCode::NO_CONTENT);
    let (status, body) = add(first.serial_number.clone(), "规划").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "one dossier per case");
    assert!(body["message"].as_str().unwrap().contains("已在一个项目档案中"));
    let (status, body) = add(personal.serial_number.clone(), "规划").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("以本企业名义"), "{body}");
    assert_eq!(add(first.serial_number.clone(), "拆迁").await.0, StatusCode::BAD_REQUEST);

    // An approval given before the hall, added on the page with its file.
    let web = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let token: String = web.csrf.bytes().map(|b| format!("%{b:02X}")).collect();
    let letter = pdf(1500);
    let form = Form::new()
        .text("stage", "规划")
        .text("title", "建设用地规划许可证")
        .text("number", "地字第350100202600001号")
        .text("issuer", "福州市自然资源和规划局")
        .text("issued_on", "2026-06-01")
        .part("file", Part::bytes(letter.clone()).file_name("许可证.pdf"));
    let res = web
        .client
        .post(format!("{}/account/projects/{project}/approvals?csrf={token}", web.base))
        .header("cookie", &web.cookie)
        .header("origin", &web.base)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());

    // The dossier: 立项 waits for its case; 规划 is done by its approval; what comes next.
    let (status, dossier) = me.get(&format!("/api/v1/me/projects/{project}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dossier["next_stage"], "立项", "{dossier}");
    assert_eq!(dossier["stages"][2]["done"], true);
    let approval = dossier["stages"][2]["approvals"][0]["id"].as_str().unwrap().to_owned();
    let file = web.get(&format!("/account/projects/{project}/approvals/{approval}")).await;
    assert_eq!(file.bytes().await.unwrap().to_vec(), letter);
    let page = web.get(&format!("/account/projects/{project}")).await.text().await.unwrap();
    assert!(
        page.contains("1200.5 万元") && page.contains("3000 平方米") && page.contains(&first.serial_number),
        "{page}"
    );

    // Granted, 立项 is done and 用地 comes next.
    let worker = a.hall.access(a.hall.worker).await;
    let wa = Actor { id: None, label: "工作人员".into(), client_ip: String::new() };
    for step in ["start_prereview", "accept", "start_review", "grant"] {
        let action =
            govhall_cases::transition::Action { case: first.case_id, action: step.into(), ..Default::default() };
        cases.act(govhall_cases::transition::By::Staff(&worker, &wa), action).await.unwrap();
    }
    let (_, dossier) = me.get(&format!("/api/v1/me/projects/{project}")).await;
    assert_eq!(dossier["next_stage"], "用地", "{dossier}");

    // Staff see a dossier holding a case they may see, the others counted only; outsiders nothing.
    let staff = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let page = staff.get(&format!("/admin/projects/{project}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains(&first.serial_number), "{page}");
    let b_department = t.app.catalog().guide(&b).await.unwrap().unwrap().item.department_id;
    let same = b_department == a.hall.item.item.department_id;
    assert_eq!(page.contains(&second.serial_number), same, "another department's case only counted");
    let case_page = staff.get(&format!("/admin/cases/{}", first.case_id)).await.text().await.unwrap();
    assert!(case_page.contains(&format!("/admin/projects/{project}")), "the case links to its dossier");
    let stranger = t.sign_in(common::STRANGER_PHONE, PASSWORD).await;
    let res = stranger.get(&format!("/admin/projects/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let outsider_phone = "13800000556";
    t.person(outsider_phone, &common::test_id_number(56)).await;
    let outsider = Api { t, bearer: t.bearer(outsider_phone).await };
    assert_eq!(outsider.get(&format!("/api/v1/me/projects/{project}")).await.0, StatusCode::NOT_FOUND);
    a.hall.t.stop().await;
}
