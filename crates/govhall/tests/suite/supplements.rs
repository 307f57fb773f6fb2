//! Supplements per requested material: staff list the materials a request for more asks for;
//! the applicant answers with one upload per material, on the web and through the API with a
//! bearer token, and downloads the case's files through the API; a file for a material nobody
//! asked for, or for none when some were asked for, is refused and nothing is lost.

use crate::common;

use common::{CaseHall, PASSWORD};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

#[tokio::test]
async fn an_applicant_answers_each_requested_material_through_the_api() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let (id, serial, _) = h.submit("supp-materials").await;
    let worker = t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    let staff_act = |action: &str, extra: Vec<(&'static str, String)>| {
        let mut form =
            Form::new().text("csrf", worker.csrf.clone()).text("action", action.to_owned()).text("note", "请补充");
        for (k, v) in extra {
            form = form.text(k, v);
        }
        worker
            .client
            .post(format!("{}/admin/cases/{id}/act", worker.base))
            .header("cookie", &worker.cookie)
            .header("origin", &worker.base)
            .multipart(form)
            .send()
    };
    assert_eq!(staff_act("start_prereview", vec![]).await.unwrap().status(), StatusCode::SEE_OTHER);
    // The page offers the case's materials to ask for.
    let page = worker.get(&format!("/admin/cases/{id}")).await.text().await.unwrap();
    assert!(page.contains("name=\"requested\" value=\"申请书\""), "the given material is offered");
    let asked = vec![
        ("requested", "申请书".to_owned()),
        ("requested", "申请书".to_owned()),
        ("requested_other", "户口簿\n\n身份证明\u{202e}".to_owned()),
    ];
    assert_eq!(staff_act("request_supplement", asked).await.unwrap().status(), StatusCode::SEE_OTHER);

    // The applicant reads what is asked for, in the API and on the page.
    let bearer = t.bearer(common::APPLICANT_PHONE).await;
    let get = |path: String, token: String| t.client.get(t.url(&path)).header("authorization", token).send();
    let timeline: Value =
        get(format!("/api/v1/me/cases/{serial}"), bearer.clone()).await.unwrap().json().await.unwrap();
    let last = timeline["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["requested"], serde_json::json!(["申请书", "户口簿", "身份证明"]), "{last}");
    let applicant = t.sign_in(common::APPLICANT_PHONE, PASSWORD).await;
    let page = applicant.get(&format!("/account/cases/{serial}")).await.text().await.unwrap();
    assert!(
        page.contains("name=\"material.0\"") && page.contains("name=\"material.2\"") && !page.contains("name=\"file\"")
    );
    assert!(page.contains("需要补正的材料：申请书、户口簿、身份证明"));

    let answer = |parts: Vec<(&'static str, &'static str, Vec<u8>)>, token: String| {
        let mut form = Form::new().text("action", "resubmit").text("note", "已补充");
        for (field, name, bytes) in parts {
            form = form.part(field, Part::bytes(bytes).file_name(name));
        }
        t.client
            .post(t.url(&format!("/api/v1/me/cases/{serial}/actions")))
            .header("authorization", token)
            .multipart(form)
            .send()
    };
    let pdf = || common::applying::pdf(800);
    let code = |res: reqwest::Response| async move {
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        (status, body["code"].as_str().unwrap_or_default().to_owned())
    };
    let access = h.access(h.worker).await;
    // A material that was not asked for, a file for none, another person: refused, nothing moves.
    let res = answer(vec![("material.3", "多余.pdf", pdf())], bearer.clone()).await.unwrap();
    assert_eq!(code(res).await, (StatusCode::BAD_REQUEST, "invalid_material".into()));
    let res = answer(vec![("file", "哪一项.pdf", pdf())], bearer.clone()).await.unwrap();
    assert_eq!(code(res).await, (StatusCode::BAD_REQUEST, "invalid_input".into()));
    t.person("13800000108", &common::test_id_number(8)).await;
    let other = t.bearer("13800000108").await;
    let res = answer(vec![("material.0", "申请书.pdf", pdf())], other.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(t.app.cases().get(&access, id).await.unwrap().step, "supplement");

    // Each file for its material: the case goes back to the step that asked.
    let png = b"\x89PNG\r\n\x1a\n0000".to_vec();
    let res =
        answer(vec![("material.0", "申请书.pdf", pdf()), ("material.2", "身份证.png", png.clone())], bearer.clone())
            .await
            .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let moved: Value = res.json().await.unwrap();
    assert_eq!(moved["step"], "预审");
    let files = t.app.cases().files(&access, id).await.unwrap();
    let given: Vec<(&str, &str)> = files.iter().map(|f| (f.material.as_str(), f.file_name.as_str())).collect();
    assert_eq!(given, [("申请书", "申请书.pdf"), ("身份证明", "身份证.png")]);
    let staff_page = worker.get(&format!("/admin/cases/{id}")).await.text().await.unwrap();
    assert!(staff_page.contains("身份证明：身份证.png"));

    // The files through the API, with the bearer token; nobody else's token.
    let list: Value =
        get(format!("/api/v1/me/cases/{serial}/files"), bearer.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[1]["material"], "身份证明");
    let url = list[1]["download_url"].as_str().unwrap().to_owned();
    let res = get(url.clone(), bearer.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), png);
    assert_eq!(get(url, other.clone()).await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(get(format!("/api/v1/me/cases/{serial}/files"), other).await.unwrap().status(), StatusCode::NOT_FOUND);

    // Withdrawing through the API takes JSON.
    let res = t
        .client
        .post(t.url(&format!("/api/v1/me/cases/{serial}/actions")))
        .header("authorization", &bearer)
        .json(&serde_json::json!({"action": "withdraw", "note": "不办了"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(t.app.cases().get(&access, id).await.unwrap().step, "withdrawn");
    h.t.stop().await;
}
