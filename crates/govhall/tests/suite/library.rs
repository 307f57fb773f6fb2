//! The materials library (材料库), on SQLite and PostgreSQL: a document given with one item's
//! application is offered, first among its kind, for another item's differently named
//! material, given by reference, and shown to staff with its provenance; deleting it is refused
//! while that case is in progress; other people's and other enterprises' files are never
//! reachable by id; an enterprise's agent uses its library and loses it when removed; the quota
//! holds under uploads at once; typed text is checked; result documents are kept. (Project
//! dossiers: projects.rs.)

use crate::common;

use common::space::{Api, materials};

use common::applying::{ApplyHall, pdf, png};
use common::{APPLICANT_PHONE, PASSWORD, WORKER_PHONE};
use govhall_audit::Actor;
use govhall_catalog::model::Material;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_document_given_for_one_item_is_given_again_for_another() {
    let a = ApplyHall::new().await;
    let t = a.t();
    let b = a
        .other_item(vec![
            Material {
                name: "申请人居民身份证复印件".into(),
                required: true,
                formats: "pdf、jpg、png".into(),
                ..Material::default()
            },
            Material { name: "户口本".into(), required: false, formats: "pdf".into(), ..Material::default() },
        ])
        .await;
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };

    // Item B: the ID card uploaded and submitted; it is in the library, of kind 身份证明.
    let first = me.draft(&b, None).await;
    let id_card = png(24);
    me.upload(&first, 0, "身份证.png", id_card.clone()).await;
    let done_b = me.submit(&first).await;
    let serial_b = done_b["serial_number"].as_str().unwrap().to_owned();
    let (_, libraries) = me.get("/api/v1/me/materials").await;
    let mine = materials(&libraries, "me");
    assert_eq!(mine.len(), 1, "{libraries}");
    assert_eq!((mine[0]["kind"].as_str(), mine[0]["source"].as_str()), (Some("身份证明"), Some("application")));
    assert_eq!(mine[0]["from_serial"], serial_b.as_str());
    let material = mine[0]["id"].as_str().unwrap().to_owned();

    // Item A asks for 身份证明: the library's file is offered first among its kind; its PDF-only
    // material is not offered a PNG.
    let second = me.draft(&a.code, None).await;
    let (status, offered) = me.get(&format!("/api/v1/applications/{second}/materials/0/library")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(offered.as_array().unwrap().len(), 1, "{offered}");
    assert_eq!((offered[0]["id"].as_str(), offered[0]["matching"].as_bool()), (Some(material.as_str()), Some(true)));
    let (_, pdf_only) = me.get(&format!("/api/v1/applications/{second}/materials/1/library")).await;
    assert_eq!(pdf_only, json!([]), "a PNG is not offered where only PDF is taken");
    let (status, refused) = me
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/applications/{second}/materials/1/library"),
            json!({"material_id": material}),
        )
        .await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")));

    // Given by reference: the same object, with its provenance; not twice in one slot.
    let (status, given) = me
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/applications/{second}/materials/0/library"),
            json!({"material_id": material}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{given}");
    let provenance = given["provenance"].as_str().unwrap().to_owned();
    assert!(provenance.contains("取自材料库") && provenance.contains(&serial_b), "{provenance}");
    let (status, _) = me
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/applications/{second}/materials/0/library"),
            json!({"material_id": material}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the same file once per material");
    let downloaded = me
        .req(reqwest::Method::GET, &format!("/api/v1/applications/{second}/files/{}", given["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), id_card, "the library's file, as given");
    let done_a = me.submit(&second).await;
    let (_, libraries) = me.get("/api/v1/me/materials").await;
    assert_eq!(materials(&libraries, "me").len(), 1, "a file given from the library is not kept twice");

    // Staff of item A's department see where it came from.
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let case = done_a["case_id"].as_str().unwrap();
    let page = worker.get(&format!("/admin/cases/{case}")).await.text().await.unwrap();
    assert!(page.contains("取自材料库") && page.contains(&serial_b), "{page}");

    // Deleting it while that case is in progress: refused, and nothing lost.
    let res = me.req(reqwest::Method::DELETE, &format!("/api/v1/me/materials/files/{material}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "library_material_in_use");
    // Both cases were given it; the message names the first.
    assert!(body["message"].as_str().unwrap().contains(&format!("正用于办理中的办件 {serial_b}")), "{body}");
    let res = me.req(reqwest::Method::GET, &format!("/api/v1/me/materials/files/{material}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Another person reaches none of it by id, and answers are the same as for no such file.
    let other_phone = "13800000555";
    t.person(other_phone, &common::test_id_number(55)).await;
    let other = Api { t, bearer: t.bearer(other_phone).await };
    let nobody = uuid::Uuid::now_v7();
    for id in [material.clone(), nobody.to_string()] {
        let (status, body) = other.get(&format!("/api/v1/me/materials/files/{id}")).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("library_material_not_found")));
        let res = other.req(reqwest::Method::DELETE, &format!("/api/v1/me/materials/files/{id}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let (status, _) = other
            .json(
                reqwest::Method::POST,
                &format!("/api/v1/me/materials/files/{id}/description"),
                json!({"title": "改名"}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let theirs = other.draft(&a.code, None).await;
    let (status, body) = other
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/applications/{theirs}/materials/0/library"),
            json!({"material_id": material}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("library_material_not_found")));
    let (_, theirs_offered) = other.get(&format!("/api/v1/applications/{theirs}/materials/0/library")).await;
    assert_eq!(theirs_offered, json!([]));
    let (status, _) = other.add(&a.hall.applicant.to_string(), "x", "", "a.pdf", pdf(300)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nobody adds to another's library");

    // Closed, the cases let it go: deleted from the library, still in both applications.
    let mut conn = t.app.db().conn().await.unwrap();
    for done in [&done_a, &done_b] {
        let closed = uuid::Uuid::parse_str(done["case_id"].as_str().unwrap()).unwrap();
        govhall_db::exec!(
            conn,
            govhall_db::sqlx::query("UPDATE cases SET closed_at = $1 WHERE id = $2")
                .bind(t.app.db().now())
                .bind(closed)
        )
        .unwrap();
    }
    drop(conn);
    let res = me.req(reqwest::Method::DELETE, &format!("/api/v1/me/materials/files/{material}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (_, libraries) = me.get("/api/v1/me/materials").await;
    assert!(materials(&libraries, "me").is_empty());
    let res = worker.get(&format!("/admin/cases/{case}/materials/{}", given["id"].as_str().unwrap())).await;
    assert_eq!(res.bytes().await.unwrap().to_vec(), id_card, "the case keeps its file");
    a.hall.t.stop().await;
}

#[tokio::test]
async fn an_enterprises_library_is_shared_by_role_and_lost_on_removal() {
    let a = ApplyHall::new().await;
    let t = a.t();
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let enterprise = identity
        .register_enterprise(&actor, a.hall.applicant, "91350100M000100Y43", "福州测试科技有限公司", "张三")
        .await
        .unwrap();
    let agent_phone = "13800000777";
    let agent_id = t.person(agent_phone, &common::test_id_number(7)).await;
    identity.invite_member(&actor, enterprise, a.hall.applicant, agent_phone, "agent").await.unwrap();
    identity.accept_invitation(&actor, enterprise, agent_id).await.unwrap();
    let admin = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let agent = Api { t, bearer: t.bearer(agent_phone).await };
    let owner = enterprise.to_string();

    // The administrator adds the business licence; the agent sees it, may use it, not manage it.
    let (status, added) = admin.add(&owner, "营业执照副本", "2030-12-31", "执照.pdf", pdf(2000)).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!((added["kind"].as_str(), added["source"].as_str()), (Some("营业执照"), Some("added")));
    let material = added["id"].as_str().unwrap().to_owned();
    let (_, libraries) = agent.get("/api/v1/me/materials").await;
    let shared = libraries.as_array().unwrap().iter().find(|l| l["owner"] == owner.as_str()).unwrap().clone();
    assert_eq!((shared["role"].as_str(), shared["materials"].as_array().unwrap().len()), (Some("use"), 1));
    let (status, body) = agent.add(&owner, "章程", "", "章程.pdf", pdf(1500)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let res =
        agent.req(reqwest::Method::DELETE, &format!("/api/v1/me/materials/files/{material}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // An enterprise's file goes into the enterprise's applications only.
    let personal = agent.draft(&a.code, None).await;
    let (status, body) = agent
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/applications/{personal}/materials/0/library"),
            json!({"material_id": material}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")), "{body}");
    let for_enterprise = agent.draft(&a.code, Some(&owner)).await;
    let (status, given) = agent
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/applications/{for_enterprise}/materials/1/library"),
            json!({"material_id": material}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{given}");

    // An agent reads the enterprise's name and code, not its contact number (administrators do).
    let (_, mine) = agent.get("/api/v1/me/enterprises").await;
    assert_eq!(mine[0]["details"], Value::Null, "{mine}");

    // Removed from the enterprise: its library is gone for them at once.
    let res = identity.remove_member(&actor, enterprise, agent_id, a.hall.applicant).await;
    assert!(res.is_err(), "an agent removes nobody");
    identity.remove_member(&actor, enterprise, a.hall.applicant, agent_id).await.unwrap();
    let (status, _) = agent.get(&format!("/api/v1/me/materials/files/{material}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, libraries) = agent.get("/api/v1/me/materials").await;
    assert_eq!(libraries.as_array().unwrap().len(), 1, "their own library only: {libraries}");
    let (status, _) = agent
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/applications/{for_enterprise}/materials/0/library"),
            json!({"material_id": material}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not given from a library they left");
    let (status, _) = agent.get(&format!("/api/v1/applications/{for_enterprise}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor the enterprise's draft they started");
    let (status, _) = agent.get(&format!("/api/v1/applications/{personal}")).await;
    assert_eq!(status, StatusCode::OK, "their own draft stays theirs");
    // The last administrator stays.
    let res = identity.remove_member(&actor, enterprise, a.hall.applicant, a.hall.applicant).await;
    assert!(matches!(res, Err(govhall_identity::IdentityError::Conflict(_))), "{res:?}");
    a.hall.t.stop().await;
}

/// A PDF of about `size` bytes whose content differs by `n`.
fn distinct_pdf(size: usize, n: u8) -> Vec<u8> {
    let mut bytes = pdf(size);
    let at = bytes.iter().position(|b| *b == b'x').unwrap();
    bytes[at] = b'a' + n % 26;
    bytes[at + 1] = b'a' + n / 26;
    bytes
}

#[tokio::test]
async fn the_quota_holds_under_uploads_at_once_and_text_is_checked() {
    let hall = common::CaseHall::with_settings(|s| {
        s.applications.max_file_bytes = 100 * 1024;
        s.applications.library_quota_bytes = 250 * 1024;
    })
    .await;
    let a = ApplyHall::from(hall).await;
    let t = a.t();
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };

    // Eight 60 KB files at once against 250 KB: four kept, the rest refused as over the quota.
    let titles: Vec<String> = (0..8).map(|n| format!("材料{n}")).collect();
    let uploads = (0..8u8).map(|n| me.add("me", &titles[usize::from(n)], "", "a.pdf", distinct_pdf(60 * 1024, n)));
    let answers = futures::future::join_all(uploads).await;
    let kept = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    assert_eq!(kept, 4, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(
            (*status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("library_quota_exceeded"))
        );
        assert!(body["message"].as_str().unwrap().contains("材料库空间已满"));
    }
    let (_, libraries) = me.get("/api/v1/me/materials").await;
    let library = &libraries[0];
    assert_eq!(
        library["used_bytes"].as_i64(),
        Some(library["materials"].as_array().unwrap().iter().map(|m| m["size"].as_i64().unwrap()).sum())
    );
    let files = t.app.applications().files().settings().dir.clone();
    let objects = || walk(&files).into_iter().filter(|p| !p.starts_with(files.join("tmp"))).count();
    assert_eq!(objects(), 4, "the refused uploads left nothing in the store");

    // Deleting one never used frees its space and its object.
    let first = library["materials"][0]["id"].as_str().unwrap().to_owned();
    let res = me.req(reqwest::Method::DELETE, &format!("/api/v1/me/materials/files/{first}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(objects(), 3);
    let (status, _) = me.add("me", "再来一份", "", "b.pdf", distinct_pdf(60 * 1024, 30)).await;
    assert_eq!(status, StatusCode::CREATED);

    // Typed text: direction overrides, script, a bad date, an unknown field — refused, clearly.
    for (title, valid) in [("身份证\u{202E}fdp.exe", ""), ("<script>alert(1)</script>", ""), ("合同", "2026-13-01")]
    {
        let (status, body) = me.add("me", title, valid, "c.pdf", distinct_pdf(1000, 40)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_input")),
            "{title}"
        );
        assert!(body["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
    }
    let (status, body) = me.add("me", "", "", "run.exe", b"MZ\x90\x00 not a document".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, libraries) = me.get("/api/v1/me/materials").await;
    let second = libraries[0]["materials"][0]["id"].as_str().unwrap().to_owned();
    let (status, described) = me
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/me/materials/files/{second}/description"),
            json!({"title": "居民身份证", "category": "证件", "valid_until": "2026-01-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{described}");
    assert_eq!(
        (described["category"].as_str(), described["category_label"].as_str()),
        (Some("custom:证件"), Some("证件"))
    );
    // Past its validity, it is not offered and cannot be given.
    let draft = me.draft(&a.code, None).await;
    let (_, offered) = me.get(&format!("/api/v1/applications/{draft}/materials/0/library")).await;
    assert!(!offered.as_array().unwrap().iter().any(|m| m["id"] == second.as_str()), "{offered}");
    let (status, body) = me
        .json(
            reqwest::Method::POST,
            &format!("/api/v1/applications/{draft}/materials/0/library"),
            json!({"material_id": second}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"].as_str().unwrap().contains("已过有效期"), "{body}");
    a.hall.t.stop().await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

#[tokio::test]
async fn a_result_document_filed_by_staff_is_kept_in_the_applicants_library() {
    let a = ApplyHall::new().await;
    let t = a.t();
    let cases = t.app.cases();
    let (case, serial, _) = a.hall.submit("result-1").await;
    let worker = a.hall.access(a.hall.worker).await;
    let wa = Actor { id: None, label: "工作人员".into(), client_ip: String::new() };
    let decision = pdf(2200);
    for step in ["start_prereview", "accept", "start_review", "grant"] {
        let files = if step == "grant" {
            vec![govhall_cases::files::NewFile {
                file_name: "准予许可决定书.pdf".into(),
                bytes: decision.clone(),
                result: true,
                material: String::new(),
            }]
        } else {
            Vec::new()
        };
        let action = govhall_cases::transition::Action { case, action: step.into(), files, ..Default::default() };
        cases.act(govhall_cases::transition::By::Staff(&worker, &wa), action).await.unwrap();
    }
    let me = Api { t, bearer: t.bearer(APPLICANT_PHONE).await };
    let mut kept = Vec::new();
    for _ in 0..200 {
        let (_, libraries) = me.get("/api/v1/me/materials").await;
        kept = materials(&libraries, "me");
        if !kept.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(kept.len(), 1, "the worker kept the decision");
    let m = &kept[0];
    assert_eq!((m["source"].as_str(), m["category"].as_str()), (Some("result"), Some("result")), "{m}");
    assert_eq!(m["from_serial"], serial.as_str());
    let id = m["id"].as_str().unwrap();
    let res = me.req(reqwest::Method::GET, &format!("/api/v1/me/materials/files/{id}")).send().await.unwrap();
    assert_eq!(res.bytes().await.unwrap().to_vec(), decision);

    // Announced again (at least once): nothing more is kept.
    let mut conn = t.app.db().conn().await.unwrap();
    let file: uuid::Uuid = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
        "SELECT id FROM case_files WHERE case_id = $1 AND kind = 'result'"
    )
    .bind(case.as_uuid())
    .fetch_one(&mut *c)
    .await)
    .unwrap();
    drop(conn);
    let filed =
        govhall_cases::files::ResultFiled { case_id: case, file_id: govhall_cases::CaseFileId::from_uuid(file) };
    t.app.applications().keep_result(&filed).await.unwrap();
    let (_, libraries) = me.get("/api/v1/me/materials").await;
    assert_eq!(materials(&libraries, "me").len(), 1);
    a.hall.t.stop().await;
}
