//! Licences issued before GovHall, imported from a file with a row-by-row report (again: only
//! what is new), found by their holders by ID number, verified like issued ones; and a licence's
//! PDF uploaded for checking, on the page and through the API.

use crate::common;

use common::licensing::licence_hall;
use common::{APPLICANT_ID, PASSWORD};
use govhall_audit::Actor;
use govhall_licences::import::RowOutcome;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

fn csv(rows: &[&str]) -> Vec<u8> {
    let mut text = "\u{feff}证照编号,持证主体名称,持证主体证件号码,有效期起,有效期至,联系地址,备注\n".to_owned();
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    text.into_bytes()
}

#[tokio::test]
async fn existing_licences_import_row_by_row_and_their_holders_find_and_verify_them() {
    let h = licence_hall().await;
    let t = &h.t;
    let licences = t.app.licences();
    let actor = Actor::system("导入");
    let file = csv(&[
        &format!("A2019001,张三,{APPLICANT_ID},2019-05-01,长期,济南市历下区泉城路 1 号,存量"),
        "A2019002,李四,370102199003071239,2019-05-01,2029-04-30,济南市,",
        &format!("A2019003,张三,{APPLICANT_ID},2019-05-01,2018-01-01,济南市,"),
        &format!("A2019004,张三,{APPLICANT_ID},2020-01-01,,,"),
        &format!("A2019001,张三,{APPLICANT_ID},2019-05-01,长期,济南市,重复"),
        "A-2019,王五,370102199003071238,2019-05-01,,济南市,",
    ]);
    let report = licences.import_licences(None, &actor, "L001", "存量.csv", &file).await.unwrap();
    let outcomes: Vec<(usize, &RowOutcome)> = report.rows.iter().map(|r| (r.line, &r.outcome)).collect();
    assert!(matches!(outcomes[0], (2, RowOutcome::Imported { .. })), "{outcomes:?}");
    let message = |i: usize| match &report.rows[i].outcome {
        RowOutcome::Error { message } => message.clone(),
        other => panic!("row {i}: {other:?}"),
    };
    assert!(message(1).contains("身份证"), "a wrong check digit: {}", message(1));
    assert!(message(2).contains("早于"), "{}", message(2));
    assert!(message(3).contains("联系地址"), "a required field: {}", message(3));
    assert_eq!(report.rows[4].outcome, RowOutcome::Existing, "the same number again");
    assert!(message(5).contains("证照编号"), "{}", message(5));
    assert_eq!((report.imported, report.existing, report.errors), (1, 1, 4));
    // Again: nothing new.
    let again = licences.import_licences(None, &actor, "L001", "存量.csv", &file).await.unwrap();
    assert_eq!((again.imported, again.existing), (0, 2));

    // The holder (registered already, by ID number) finds it and anyone verifies it.
    let mine = licences.mine(h.applicant).await.unwrap();
    let imported = mine.iter().find(|l| l.number == "A2019001").expect("found by the holder's ID number");
    assert_eq!(imported.validity(), "2019-05-01 起长期有效");
    assert!(imported.case_id.is_none());
    let v = licences.verify(&imported.identifier).await.unwrap();
    assert!(v.usable, "{v:?}");
    // Nobody else's.
    let other = t.person("13800000107", &common::test_id_number(7)).await;
    assert!(licences.mine(other).await.unwrap().is_empty());
    assert!(licences.mine_by_id(other, imported.id).await.is_err());

    // A file that does not fit the type is refused whole, saying why.
    let wrong = "证照编号,持证人,持证主体证件号码,有效期起\nB1,张三,1,2020-01-01\n".as_bytes();
    let err = licences.import_licences(None, &actor, "L001", "错.csv", wrong).await.unwrap_err();
    assert!(govhall_core::Coded::message(&err).contains("无法识别的列“持证人”"), "{err}");
    let err = licences.import_licences(None, &actor, "L001", "a.txt", b"x").await.unwrap_err();
    assert!(govhall_core::Coded::message(&err).contains(".xlsx"));

    // Staff import through the page (an Excel workbook); another department's staff cannot.
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, title) in
        ["证照编号", "持证主体名称", "持证主体证件号码", "有效期起", "有效期至", "联系地址"].iter().enumerate()
    {
        sheet.write_string(0, col as u16, *title).unwrap();
    }
    for (col, value) in ["A2020009", "张三", APPLICANT_ID, "2020-02-02", "", "济南市"].iter().enumerate() {
        sheet.write_string(1, col as u16, *value).unwrap();
    }
    let xlsx = workbook.save_to_buffer().unwrap();
    let worker = t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    let page = worker.get("/admin/licences/import").await.text().await.unwrap();
    assert!(page.contains("测试许可证"));
    let upload = |agent: &common::Agent, bytes: Vec<u8>| {
        let form = Form::new().text("type", "L001").part("file", Part::bytes(bytes).file_name("存量.xlsx"));
        agent
            .client
            .post(format!("{}/admin/licences/import?csrf={}", agent.base, agent.csrf))
            .header("cookie", &agent.cookie)
            .header("origin", &agent.base)
            .multipart(form)
            .send()
    };
    let res = upload(&worker, xlsx.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("导入 1 个，已存在 0 个，有误 0 个"), "{html}");
    let stranger = t.sign_in(common::STRANGER_PHONE, PASSWORD).await;
    let res = upload(&stranger, xlsx).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "another department's type");
    h.t.stop().await;
}

#[tokio::test]
async fn a_licence_pdf_uploaded_is_checked_against_the_registry() {
    let h = licence_hall().await;
    let t = &h.t;
    let (case, _) = common::licensing::granted(&h, "pdf-check", serde_json::json!({"联系地址": "济南市历下区"})).await;
    let licence = common::licensing::licence_of(&h, case).await;
    let applicant = t.sign_in(common::APPLICANT_PHONE, PASSWORD).await;
    let pdf =
        applicant.get(&format!("/account/licences/{}/licence.pdf", licence.id)).await.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"));

    let check = |bytes: Vec<u8>| {
        let form = Form::new().part("file", Part::bytes(bytes).file_name("证照.pdf"));
        t.client.post(t.url("/api/v1/licence-checks")).multipart(form).send()
    };
    let res = check(pdf.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["verdict"], "genuine");
    assert_eq!(v["licence"]["identifier"], licence.identifier.as_str());
    assert_eq!(v["usable"], true);
    // Any other PDF, or not a PDF: said so.
    let res = check(common::applying::pdf(900)).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("没有电子证照标识"), "{body}");
    assert_eq!(check(b"hello".to_vec()).await.unwrap().status(), StatusCode::BAD_REQUEST);

    // The page: revoked since, it says so.
    let worker_access = h.access(h.worker).await;
    t.app.licences().revoke(&worker_access, &Actor::system("审批人"), licence.id, "换发新证").await.unwrap();
    let page = t.get("/verify").await;
    let visitor = common::set_cookie(&page, "govhall_visitor").unwrap();
    let csrf = common::csrf_of(&page.text().await.unwrap());
    let form = Form::new().part("file", Part::bytes(pdf).file_name("证照.pdf"));
    let res = t
        .client
        .post(t.url(&format!("/verify/pdf?csrf={csrf}")))
        .header("cookie", &visitor)
        .header("origin", t.app.url())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("已注销") && html.contains(&licence.number), "{html}");
    h.t.stop().await;
}

#[tokio::test]
async fn a_material_takes_a_licence_through_the_api() {
    use govhall_applications::drafts::Scope;
    use govhall_catalog::model::Material;
    let a = common::applying::ApplyHall::from(licence_hall().await).await;
    let h = &a.hall;
    let t = &h.t;
    let (case, _) = common::licensing::granted(h, "api-lic", serde_json::json!({"联系地址": "济南市历下区"})).await;
    let licence = common::licensing::licence_of(h, case).await;
    let mut content = h.item.content.clone();
    content.form = Some(serde_json::from_value(common::applying::test_form()).unwrap());
    content.materials = vec![
        Material {
            name: "测试许可证（副本）".into(),
            required: true,
            formats: "pdf".into(),
            from_license: true,
            ..Material::default()
        },
        Material { name: "照片".into(), required: false, formats: "jpg".into(), ..Material::default() },
    ];
    a.publish(&content).await;
    let apps = t.app.applications();
    let (id, _) = apps.start(h.applicant, &a.code, None).await.unwrap();
    let answers = serde_json::json!({"married": "否", "start": "2026-12-01", "end": "2026-12-31", "promise": true,
        "address": {"province": "440000", "city": "440100", "street": "天河路 1 号"}});
    assert!(apps.save(h.applicant, id, Scope::Merge, answers.as_object().unwrap()).await.unwrap().is_empty());

    let bearer = t.bearer(common::APPLICANT_PHONE).await;
    let get = |path: String, token: &str| t.client.get(t.url(&path)).header("authorization", token.to_owned()).send();
    let usable: Value =
        get(format!("/api/v1/applications/{id}/materials/0/licences"), &bearer).await.unwrap().json().await.unwrap();
    assert_eq!(usable[0]["identifier"], licence.identifier.as_str());
    let none: Value =
        get(format!("/api/v1/applications/{id}/materials/1/licences"), &bearer).await.unwrap().json().await.unwrap();
    assert_eq!(none, serde_json::json!([]), "a material that takes no licence");
    let use_it = |slot: usize, licence_id: String, token: String| {
        t.client
            .post(t.url(&format!("/api/v1/applications/{id}/materials/{slot}/licence")))
            .header("authorization", token)
            .json(&serde_json::json!({"licence_id": licence_id}))
            .send()
    };
    // Another person cannot use it on their draft, nor touch this one; a forged id is refused.
    t.person("13800000106", &common::test_id_number(6)).await;
    let other = t.bearer("13800000106").await;
    assert_eq!(use_it(0, licence.id.to_string(), other).await.unwrap().status(), StatusCode::NOT_FOUND);
    let forged = uuid::Uuid::now_v7().to_string();
    assert_eq!(use_it(0, forged, bearer.clone()).await.unwrap().status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        use_it(1, licence.id.to_string(), bearer.clone()).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Chosen: the draft shows it and has nothing missing.
    assert_eq!(use_it(0, licence.id.to_string(), bearer.clone()).await.unwrap().status(), StatusCode::NO_CONTENT);
    let draft: Value = get(format!("/api/v1/applications/{id}"), &bearer).await.unwrap().json().await.unwrap();
    let shown = draft.to_string();
    assert!(shown.contains(&licence.identifier), "{shown}");
    let w = apps.workspace(h.applicant, id).await.unwrap();
    assert!(apps.blockers(&w).is_empty(), "{:?}", apps.blockers(&w));
    // Taken back.
    let res = t
        .client
        .delete(t.url(&format!("/api/v1/applications/{id}/materials/0/licence")))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let w = apps.workspace(h.applicant, id).await.unwrap();
    assert_eq!(apps.blockers(&w).missing_materials, ["测试许可证（副本）"]);
    a.hall.t.stop().await;
}

#[tokio::test]
async fn licences_signed_before_a_key_rotation_verify_and_a_withdrawn_key_vouches_for_nothing() {
    let h = licence_hall().await;
    let t = &h.t;
    let before = t.app.licences();
    let actor = Actor::system("导入");
    let row = |n: &str| csv(&[&format!("{n},张三,{APPLICANT_ID},2019-05-01,长期,济南市,")]);
    before.import_licences(None, &actor, "L001", "a.csv", &row("K1001")).await.unwrap();
    // Rotate: a new key file; the node signs with it from now on.
    let dir = tempfile::tempdir().unwrap();
    let new_key = govhall_licences::LicenceKey::load(&dir.path().join("new.pem"), "1234567812345678", true).unwrap();
    assert_ne!(new_key.id(), before.key().id());
    let after = before.with_key(new_key.clone());
    after.prepare().await.unwrap();
    after.import_licences(None, &actor, "L001", "b.csv", &row("K2001")).await.unwrap();
    let mine = after.mine(h.applicant).await.unwrap();
    let old = mine.iter().find(|l| l.number == "K1001").unwrap().clone();
    let new = mine.iter().find(|l| l.number == "K2001").unwrap().clone();
    assert_eq!(new.key_id, new_key.id());
    // Both verify on both: the old key is on record, the new one too.
    for registry in [before, &after] {
        for l in [&old, &new] {
            let v = registry.verify(&l.identifier).await.unwrap();
            assert_eq!(v.verdict, govhall_licences::Verdict::Genuine, "{} on {}", l.number, registry.key().id());
        }
    }
    let keys: Value = t.client.get(t.url("/api/v1/licence-key")).send().await.unwrap().json().await.unwrap();
    assert_eq!(keys["keys"].as_array().unwrap().len(), 2, "{keys}");
    // The key signing now cannot be withdrawn; the old one, leaked, can: what it signed no longer counts.
    let err = after.withdraw_key(&actor, new_key.id(), "测试").await.unwrap_err();
    assert!(govhall_core::Coded::message(&err).contains("先轮换"));
    after.withdraw_key(&actor, &old.key_id, "私钥泄露").await.unwrap();
    let v = after.verify(&old.identifier).await.unwrap();
    assert_eq!(v.verdict, govhall_licences::Verdict::WithdrawnKey);
    assert!(!v.usable);
    assert_eq!(after.verify(&new.identifier).await.unwrap().verdict, govhall_licences::Verdict::Genuine);
    assert!(after.withdraw_key(&actor, &old.key_id, "再次").await.is_err(), "once");
    // Each licence keeps its history; staff see it.
    let worker_access = h.access(h.worker).await;
    after.revoke(&worker_access, &Actor::system("审批人"), new.id, "换发").await.unwrap();
    let history = after.history(&worker_access, new.id).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["imported", "revoked"]);
    assert!(history[0].detail.contains(new_key.id()));
    let worker = t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    let page = worker.get(&format!("/admin/licences/{}", new.id)).await.text().await.unwrap();
    assert!(page.contains("证照历史") && page.contains("注销：换发"), "{page}");
    h.t.stop().await;
}

#[tokio::test]
async fn a_reissued_licence_points_from_the_old_identifier_to_the_new() {
    let h = licence_hall().await;
    let t = &h.t;
    let (case, _) = common::licensing::granted(&h, "reissue", serde_json::json!({"联系地址": "济南市历下区"})).await;
    let old = common::licensing::licence_of(&h, case).await;
    let licences = t.app.licences();
    // Staff correct the address: a new licence, the old one replaced.
    let worker = t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    let page = worker.get(&format!("/admin/licences/{}", old.id)).await.text().await.unwrap();
    assert!(page.contains("换发证照") && page.contains("name=\"field.address\""), "{page}");
    let res = worker
        .post(&format!("/admin/licences/{}/reissue", old.id), &[("field.address", ""), ("reason", "地址变更")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "a required field left empty");
    let res = worker
        .post(
            &format!("/admin/licences/{}/reissue", old.id),
            &[("field.address", "济南市市中区经四路 5 号"), ("reason", "地址变更")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mine = licences.mine(h.applicant).await.unwrap();
    let new = mine.iter().find(|l| l.id != old.id).expect("the new licence").clone();
    assert!(new.fields.iter().any(|(k, _, v)| k == "address" && v == "济南市市中区经四路 5 号"));
    assert_ne!(new.number, old.number);
    // The old identifier says 已换发 and where to; the new one is valid.
    let v: Value = t.get(&format!("/api/v1/licence-verifications/{}", old.identifier)).await.json().await.unwrap();
    assert_eq!(v["verdict"], "genuine");
    assert_eq!(v["licence"]["status"], "replaced");
    assert_eq!(v["licence"]["replaced_by"], new.identifier.as_str());
    assert_eq!(v["usable"], false);
    let html = t.get(&format!("/verify/{}", old.identifier)).await.text().await.unwrap();
    assert!(html.contains("已换发") && html.contains(&new.identifier));
    assert!(licences.verify(&new.identifier).await.unwrap().usable);
    // Once; and only by staff who manage it.
    let access = h.access(h.worker).await;
    let changes = std::collections::BTreeMap::new();
    assert!(licences.reissue(&access, &Actor::system("t"), old.id, &changes, "再次").await.is_err());
    let stranger = h.access(h.stranger).await;
    let err = licences.reissue(&stranger, &Actor::system("t"), new.id, &changes, "越权").await.unwrap_err();
    assert_eq!(govhall_core::Coded::code(&err), "licence_not_found");
    let history = licences.history(&access, old.id).await.unwrap();
    assert_eq!(history.last().unwrap().action, "replaced");
    h.t.stop().await;
}
