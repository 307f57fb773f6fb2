//! Electronic licences end to end: a granted case issues a signed licence; anyone verifies it
//! by its identifier (the holder masked); a record changed behind the registry's back is
//! caught; revocation shows; the holder downloads the printout and nobody else can; a type
//! file with a mistake imports nothing and says where.

use crate::common;

use common::licensing::{ISSUER, granted, licence_hall, licence_of, types_file};
use common::{APPLICANT_ID, APPLICANT_PHONE, CaseHall, PASSWORD, STRANGER_PHONE, pdftotext};
use govhall_audit::Actor;
use govhall_db::{exec, run, sqlx};
use govhall_licences::{LicenceError, Status};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// Waits for the message center to deliver an inbox message whose subject says `what`.
async fn told(h: &CaseHall, what: &str) {
    for _ in 0..400 {
        let inbox = govhall_messaging::inbox::list(h.t.app.db(), h.applicant.as_uuid(), 50, 0).await.unwrap();
        if inbox.iter().any(|m| m.subject.contains(what)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the holder was not told “{what}”");
}

async fn verification(h: &CaseHall, identifier: &str) -> (StatusCode, Value) {
    let res = h.t.get(&format!("/api/v1/licence-verifications/{identifier}")).await;
    let status = res.status();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn a_granted_case_issues_a_signed_licence_that_anyone_verifies_and_a_changed_record_is_caught() {
    let h = licence_hall().await;
    let form = serde_json::json!({"联系地址": "济南市历下区\u{202e}泉城路 1 号", "申请事由": "新办"});
    let (case, serial) = granted(&h, "lic-1", form).await;
    let licence = licence_of(&h, case).await;

    // What was issued: the holder from the account, the fields from the answers and the case.
    assert_eq!((licence.holder_name.as_str(), licence.holder_number.as_str()), ("张三", APPLICANT_ID));
    assert_eq!(licence.type_name, "测试许可证");
    assert!(licence.identifier.starts_with(&format!("1.2.156.3005.2.L001.{ISSUER}.")));
    assert!(govhall_licences::identifier::is_well_formed(&licence.identifier));
    let fields: Vec<(&str, &str)> = licence.fields.iter().map(|(_, l, v)| (l.as_str(), v.as_str())).collect();
    assert_eq!(
        fields,
        [("联系地址", "济南市历下区泉城路 1 号"), ("办件编号", serial.as_str())],
        "no 备注 was given; the override is gone"
    );
    let until = licence.valid_until.unwrap();
    assert_eq!(until, licence.valid_from.checked_add_months(chrono::Months::new(60)).unwrap().pred_opt().unwrap());
    // The holder's data are stored encrypted.
    let db = h.t.app.db();
    let mut conn = db.conn().await.unwrap();
    let stored: String =
        run!(conn, |c| sqlx::query_scalar("SELECT holder_number_enc FROM licences").fetch_one(&mut *c).await).unwrap();
    drop(conn);
    assert!(!stored.contains(APPLICANT_ID));
    // The holder was told.
    told(&h, "电子证照已签发").await;
    // The job running again issues nothing more.
    assert!(h.t.app.licences().issue_for_case(case, None).await.unwrap().is_none());

    // Anyone verifies it: genuine, usable, the holder masked.
    let (status, body) = verification(&h, &licence.identifier).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["verdict"].as_str(), body["usable"].as_bool()), (Some("genuine"), Some(true)), "{body}");
    assert_eq!(body["licence"]["holder_name"], "张*");
    assert_eq!(body["licence"]["holder_number"], "3701**********1238");
    assert_eq!(body["licence"]["status"], "valid");
    let text = body.to_string();
    assert!(!text.contains(APPLICANT_ID) && !text.contains("张三") && !text.contains("泉城路"), "{text}");
    // Lower case works (people type it); the page says the same.
    let (status, _) = verification(&h, &licence.identifier.to_lowercase()).await;
    assert_eq!(status, StatusCode::OK);
    let page = h.t.get(&format!("/verify/{}", licence.identifier)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("证照有效") && html.contains("3701**********1238") && !html.contains(APPLICANT_ID));
    // The form sends people on to the answer.
    let asked = h.t.get(&format!("/verify?id=%20{}%20", licence.identifier)).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(asked.headers()["location"], format!("/verify/{}", licence.identifier).as_str());

    // The same by POST, with the identifier or what the QR code holds (the verification address).
    for given in [licence.identifier.clone(), format!("{}/verify/{}", h.t.app.url(), licence.identifier)] {
        let res =
            h.t.client.post(h.t.url("/api/v1/licence-checks")).json(&serde_json::json!({"identifier": given})).send();
        let res = res.await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.json::<Value>().await.unwrap()["verdict"], "genuine");
    }
    let res = h.t.client.post(h.t.url("/api/v1/licence-checks")).json(&serde_json::json!({"identifier": "x"})).send();
    let res = res.await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["verdict"], "malformed");
    let res = h.t.client.post(h.t.url("/api/v1/licence-checks")).body("{").header("content-type", "application/json");
    assert_eq!(res.send().await.unwrap().status(), StatusCode::BAD_REQUEST, "broken JSON: an error, not a crash");
    // A mistyped identifier is told apart from an unknown one.
    let mistyped =
        licence.identifier.replace(&licence.number, &format!("{}9", &licence.number[..licence.number.len() - 1]));
    let (status, body) = verification(&h, &mistyped).await;
    assert_eq!((status, body["verdict"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed")));
    let unknown = govhall_licences::identifier::make("L001", ISSUER, "2026999999", 1);
    let (status, body) = verification(&h, &unknown).await;
    assert_eq!((status, body["verdict"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, _) = verification(&h, "%3Cscript%3E").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A record changed behind the registry's back no longer matches its signature.
    let id = licence.id.as_uuid();
    let mut conn = db.conn().await.unwrap();
    exec!(conn, sqlx::query("UPDATE licences SET valid_until = '2099-12-31' WHERE id = $1").bind(id)).unwrap();
    let (_, body) = verification(&h, &licence.identifier).await;
    assert_eq!((body["verdict"].as_str(), body["licence"].is_null()), (Some("tampered"), true), "{body}");
    exec!(conn, sqlx::query("UPDATE licences SET valid_until = $1 WHERE id = $2").bind(until.to_string()).bind(id))
        .unwrap();
    assert_eq!(verification(&h, &licence.identifier).await.1["verdict"], "genuine");
    // Fields re-encrypted with the hall's own key, so they decrypt, but changed.
    let forged =
        serde_json::to_string(&[("address", "联系地址", "别处"), ("serial", "办件编号", serial.as_str())]).unwrap();
    let sealed = h.t.app.identity().keys().encrypt(&forged);
    exec!(conn, sqlx::query("UPDATE licences SET fields_enc = $1 WHERE id = $2").bind(&sealed).bind(id)).unwrap();
    assert_eq!(verification(&h, &licence.identifier).await.1["verdict"], "tampered");
    // Unreadable data are tampered too, never a server error.
    exec!(conn, sqlx::query("UPDATE licences SET fields_enc = 'garbage' WHERE id = $1").bind(id)).unwrap();
    assert_eq!(verification(&h, &licence.identifier).await.1["verdict"], "tampered");
    let sealed = h.t.app.identity().keys().encrypt(&serde_json::to_string(&licence.fields).unwrap());
    exec!(conn, sqlx::query("UPDATE licences SET fields_enc = $1 WHERE id = $2").bind(&sealed).bind(id)).unwrap();
    assert_eq!(verification(&h, &licence.identifier).await.1["verdict"], "genuine");
    drop(conn);

    // Anyone can fetch the public key and check the signature offline.
    let key: Value = h.t.get("/api/v1/licence-key").await.json().await.unwrap();
    assert_eq!(key["key_id"], licence.key_id);
    assert!(key["public_key_pem"].as_str().unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
    h.t.stop().await;
}

#[tokio::test]
async fn the_holder_downloads_the_licence_nobody_else_does_and_a_revoked_one_says_so() {
    let h = licence_hall().await;
    let (case, _) =
        granted(&h, "lic-2", serde_json::json!({"联系地址": "济南市历下区", "备注": "<script>alert(1)</script>"}))
            .await;
    let licence = licence_of(&h, case).await;

    // 我的证照 and the printout, with the QR code's address and the holder in full.
    let holder = h.t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let page = holder.get("/account/licences").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("测试许可证") && html.contains(&licence.number));
    assert!(!html.contains("<script>alert(1)") && html.contains("alert(1)"), "answers are escaped");
    // The materials library lists it too, as the person's, valid.
    let library = holder.get("/account/materials").await.text().await.unwrap();
    let personal = library.split("个人材料库").nth(1).unwrap();
    assert!(
        personal.contains("测试许可证") && personal.contains(&licence.number) && personal.contains("有效"),
        "{personal}"
    );
    let pdf = holder.get(&format!("/account/licences/{}/licence.pdf", licence.id)).await;
    assert_eq!(pdf.status(), StatusCode::OK);
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    if let Some(text) = pdftotext(&pdf.bytes().await.unwrap()) {
        let flat: String = text.split_whitespace().collect();
        assert!(
            flat.contains("测试许可证") && flat.contains(APPLICANT_ID) && flat.contains("扫描二维码核验真伪"),
            "{text}"
        );
    }
    let token = h.t.bearer(APPLICANT_PHONE).await;
    let api: Value =
        h.t.client
            .get(h.t.url("/api/v1/me/licences"))
            .header("authorization", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(api[0]["number"], licence.number.as_str(), "{api}");
    assert!(api[0]["verify_url"].as_str().unwrap().ends_with(&format!("/verify/{}", licence.identifier)));
    // The mobile app downloads it with its bearer token.
    let pdf_url = h.t.url(&format!("/api/v1/me/licences/{}/licence.pdf", licence.id));
    let res = h.t.client.get(&pdf_url).header("authorization", &token).send().await.unwrap();
    assert_eq!((res.status(), res.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "application/pdf"));

    // Someone else, by id: not found, never the licence.
    let other = h.t.person("13800000102", &common::test_id_number(7)).await;
    let nosy = h.t.sign_in("13800000102", PASSWORD).await;
    let res = nosy.get(&format!("/account/licences/{}/licence.pdf", licence.id)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(h.t.app.licences().mine(other).await.unwrap().is_empty());
    assert!(matches!(h.t.app.licences().mine_by_id(other, licence.id).await, Err(LicenceError::NotFound)));

    // Staff of another department cannot see or revoke it; its own department's can.
    let stranger = h.access(h.stranger).await;
    let actor = Actor::system("工作人员");
    assert!(matches!(
        h.t.app.licences().revoke(&stranger, &actor, licence.id, "错发").await,
        Err(LicenceError::NotFound)
    ));
    let staff = h.t.sign_in(STRANGER_PHONE, PASSWORD).await;
    assert_eq!(staff.get(&format!("/admin/licences/{}", licence.id)).await.status(), StatusCode::NOT_FOUND);
    let worker = h.t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    let page = worker.get(&format!("/admin/licences/{}", licence.id)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let res = worker.post(&format!("/admin/licences/{}/revoke", licence.id), &[("reason", "  ")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("请填写注销原因"));
    let res = worker.post(&format!("/admin/licences/{}/revoke", licence.id), &[("reason", "申请人申请注销")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let again = worker.post(&format!("/admin/licences/{}/revoke", licence.id), &[("reason", "再次注销")]).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // Still genuine (the issuer's own record), but not usable, and the holder was told.
    let (status, body) = verification(&h, &licence.identifier).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["verdict"].as_str(), body["usable"].as_bool()), (Some("genuine"), Some(false)));
    assert_eq!(
        (body["licence"]["status"].as_str(), body["licence"]["revoked_reason"].as_str()),
        (Some("revoked"), Some("申请人申请注销"))
    );
    let now = h.t.app.licences().mine_by_id(h.applicant, licence.id).await.unwrap();
    assert_eq!(now.status_on(now.valid_from), Status::Revoked);
    told(&h, "电子证照已注销").await;
    h.t.stop().await;
}

#[tokio::test]
async fn a_case_lacking_a_required_field_gets_no_licence_and_the_reason_is_audited() {
    let h = licence_hall().await;
    let (case, serial) = granted(&h, "lic-3", serde_json::json!({"申请事由": "新办"})).await;
    let err = h.t.app.licences().issue_for_case(case, None).await.unwrap_err();
    assert_eq!(govhall_core::Coded::code(&err), "invalid_input");
    assert!(
        govhall_core::Coded::message(&err).contains("联系地址") && govhall_core::Coded::message(&err).contains(&serial)
    );
    // The worker's job gives up at once and says why in the audit log.
    let db = h.t.app.db();
    let mut found = false;
    for _ in 0..400 {
        let mut conn = db.conn().await.unwrap();
        let n: i64 = run!(conn, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'licence.issue' AND result = 'failure'"
        )
        .fetch_one(&mut *c)
        .await)
        .unwrap();
        if n > 0 {
            found = true;
            break;
        }
        drop(conn);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(found, "the failure was audited");
    assert!(h.t.app.licences().mine(h.applicant).await.unwrap().is_empty());
    h.t.stop().await;
}

#[tokio::test]
async fn a_type_file_with_a_mistake_imports_nothing_and_says_where() {
    let h = CaseHall::new().await;
    let db = h.t.app.db();
    let actor = Actor::system("test");
    let department =
        govhall_identity::departments::get(db, govhall_identity::DepartmentId::from_uuid(h.item.item.department_id))
            .await
            .unwrap()
            .unwrap();
    let good = types_file(&department.name, &h.item.item.code);
    let cases = [
        (good.replace(ISSUER, "12345"), "统一社会信用代码"),
        (good.replace(&department.name, "不存在的局"), "不存在的局"),
        (good.replace(&h.item.item.code, "NO-SUCH-ITEM"), "NO-SUCH-ITEM"),
        (good.replace("holder = \"person\"", "holder = \"cat\""), "holder"),
        (good.replace("from = \"@serial_number\"", "from = \"@password\""), "from"),
        (good.replace("valid_years = 5", "valid_years = 0"), "valid_years"),
        (format!("{good}\n{}", good.replace("L001", "L002")), "已属于另一证照类型"),
        ("[[type]]\ncode = 1".to_owned(), "证照类型文件有误"),
        (String::new(), "没有 [[type]]"),
    ];
    for (text, says) in cases {
        let err = govhall_licences::types::import(db, &text, &actor).await.unwrap_err();
        assert_eq!(govhall_core::Coded::code(&err), "invalid_licence_type_file");
        assert!(govhall_core::Coded::message(&err).contains(says), "{says}: {}", govhall_core::Coded::message(&err));
    }
    let mut conn = db.conn().await.unwrap();
    let n: i64 =
        run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM licence_types").fetch_one(&mut *c).await).unwrap();
    assert_eq!(n, 0, "nothing was imported");
    drop(conn);
    h.t.stop().await;
}

#[tokio::test]
async fn a_licence_stands_in_for_a_material_and_the_case_records_it() {
    use govhall_applications::drafts::Scope;
    use govhall_catalog::model::Material;
    let a = common::applying::ApplyHall::from(licence_hall().await).await;
    let h = &a.hall;
    let (case, _) = granted(h, "lic-4", serde_json::json!({"联系地址": "济南市历下区"})).await;
    let licence = licence_of(h, case).await;
    // The guide: the licence's copy may come from the registry (可免交，自动调取).
    let mut content = h.item.content.clone();
    content.form = Some(serde_json::from_value(common::applying::test_form()).unwrap());
    content.materials = vec![Material {
        name: "测试许可证（副本）".into(),
        required: true,
        formats: "pdf".into(),
        from_license: true,
        ..Material::default()
    }];
    a.publish(&content).await;
    let apps = h.t.app.applications();
    let (id, _) = apps.start(h.applicant, &a.code, None).await.unwrap();
    let answers = serde_json::json!({"married": "否", "start": "2026-12-01", "end": "2026-12-31", "promise": true,
        "address": {"province": "440000", "city": "440100", "street": "天河路 1 号"}});
    assert!(apps.save(h.applicant, id, Scope::Merge, answers.as_object().unwrap()).await.unwrap().is_empty());
    let w = apps.workspace(h.applicant, id).await.unwrap();
    assert_eq!(apps.blockers(&w).missing_materials, ["测试许可证（副本）"]);

    // The materials page offers the licence; choosing it gives the material.
    let holder = h.t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let page = holder.get(&format!("/applications/{id}/materials")).await.text().await.unwrap();
    assert!(page.contains("此项材料可免交") && page.contains(&licence.number), "{page}");
    let res = holder.post(&format!("/applications/{id}/materials/0/licence"), &[("licence", "not-an-id")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("请选择要使用的电子证照"));
    // Someone else's licence by id is refused, as is a licence for a material that takes none.
    let other = h.t.person("13800000103", &common::test_id_number(8)).await;
    assert!(h.t.app.licences().mine(other).await.unwrap().is_empty());
    let err = apps.use_licence(other, id, 0, licence.id).await.unwrap_err();
    assert_eq!(err.code(), "application_not_found", "another person's draft");
    let forged = govhall_licences::LicenceId::new();
    let err = apps.use_licence(h.applicant, id, 0, forged).await.unwrap_err();
    assert!(err.to_string().contains("不存在或不属于您"));
    let res =
        holder.post(&format!("/applications/{id}/materials/0/licence"), &[("licence", &licence.id.to_string())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let w = apps.workspace(h.applicant, id).await.unwrap();
    assert!(apps.blockers(&w).is_empty(), "{:?}", apps.blockers(&w));
    let check = holder.get(&format!("/applications/{id}/check")).await.text().await.unwrap();
    assert!(check.contains(&licence.identifier));
    let done = apps.submit(h.applicant, id).await.unwrap();
    let access = h.access(h.worker).await;
    let submitted = h.t.app.cases().get(&access, done.case_id).await.unwrap();
    let given = &submitted.materials[0];
    assert_eq!(given.name, "测试许可证（副本）");
    assert!(
        given.files[0].contains(&licence.identifier) && given.files[0].starts_with("电子证照 测试许可证"),
        "{given:?}"
    );

    // A licence revoked after it was chosen no longer counts, and the page says so.
    let (second, _) = apps.start(h.applicant, &a.code, None).await.unwrap();
    apps.use_licence(h.applicant, second, 0, licence.id).await.unwrap();
    let stranger_free = h.access(h.worker).await;
    h.t.app.licences().revoke(&stranger_free, &Actor::system("工作人员"), licence.id, "错误签发").await.unwrap();
    let w = apps.workspace(h.applicant, second).await.unwrap();
    assert_eq!(apps.blockers(&w).missing_materials, ["测试许可证（副本）"]);
    let page = holder.get(&format!("/applications/{second}/materials")).await.text().await.unwrap();
    assert!(page.contains("所选电子证照已注销"), "{page}");
    let err = apps.use_licence(h.applicant, second, 0, licence.id).await.unwrap_err();
    assert!(err.to_string().contains("已注销"));
    let res = holder.post(&format!("/applications/{second}/materials/0/licence/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(apps.workspace(h.applicant, second).await.unwrap().slots[0].licence.is_none());
    a.hall.t.stop().await;
}

#[tokio::test]
async fn staff_fill_the_licence_with_the_decision_and_a_missing_field_stops_both() {
    let h = licence_hall().await;
    let s = govhall_cases::submit::Submission {
        item_code: h.item.item.code.clone(),
        applicant: h.applicant,
        enterprise: None,
        form: serde_json::json!({"联系地址": "济南市历下区"}),
        materials: Vec::new(),
        idempotency_key: "lic-5".into(),
    };
    let case = h.t.app.cases().submit(s).await.unwrap().case_id;
    let access = h.access(h.worker).await;
    let actor = Actor::system("审批人");
    for step in ["start_prereview", "accept", "start_review"] {
        let action = govhall_cases::transition::Action { case, action: step.into(), ..Default::default() };
        h.t.app.cases().act(govhall_cases::transition::By::Staff(&access, &actor), action).await.unwrap();
    }
    // The case page asks for the licence with the grant, prefilled from the application.
    let worker = h.t.sign_in(common::WORKER_PHONE, PASSWORD).await;
    let page = worker.get(&format!("/admin/cases/{case}")).await.text().await.unwrap();
    assert!(page.contains("准予后签发：测试许可证") && page.contains("value=\"济南市历下区\""), "{page}");
    let grant = |address: &str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", worker.csrf.clone())
            .text("action", "grant")
            .text("note", "")
            .text("licence.address", address.to_owned());
        worker
            .client
            .post(format!("{}/admin/cases/{case}/act", worker.base))
            .header("cookie", &worker.cookie)
            .header("origin", &worker.base)
            .multipart(form)
            .send()
    };
    // A required field left empty stops the decision as well as the licence.
    let res = grant("  ").await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("请填写测试许可证的证照信息：联系地址"));
    assert_eq!(h.t.app.cases().get(&access, case).await.unwrap().step, "review");
    let res = grant(&"长".repeat(201)).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(h.t.app.cases().get(&access, case).await.unwrap().step, "review");
    // Given, the decision and the licence commit together: the licence is there at once.
    let res = grant("济南市历下区经十路 100 号").await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let decided = h.t.app.cases().get(&access, case).await.unwrap();
    assert_eq!(decided.step, "decided");
    let mine = h.t.app.licences().mine(h.applicant).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].fields[0].2, "济南市历下区经十路 100 号", "staff's value, not the application's");
    assert_eq!(mine[0].case_id, Some(case.as_uuid()));
    // The granted job that follows issues nothing more.
    assert!(h.t.app.licences().issue_for_case(case, None).await.unwrap().is_none());
    let page = worker.get(&format!("/admin/cases/{case}")).await.text().await.unwrap();
    assert!(page.contains("本办件已签发") && !page.contains("准予后签发"));
    h.t.stop().await;
}
