//! The application journey through the JSON API (bearer tokens), upload limits enforced while
//! streaming, idle drafts purged with a notice, and the form designer's checks and preview.

use crate::common;

use common::applying::{ApplyHall, EDITOR_PHONE, pdf, png};
use common::{APPLICANT_PHONE, PASSWORD};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn tmp_files(t: &common::TestApp) -> usize {
    std::fs::read_dir(t.app.applications().files().settings().dir.join("tmp")).unwrap().count()
}

#[tokio::test]
async fn the_journey_through_the_api_with_uploads_streamed_and_limited() {
    let a = ApplyHall::new().await;
    let t = a.t();
    let code = a.code.clone();
    let bearer = t.bearer(APPLICANT_PHONE).await;
    let api =
        |method: reqwest::Method, path: &str| t.client.request(method, t.url(path)).header("authorization", &bearer);

    // The item's form, self-check and slots, for the app to draw.
    let form: Value = t.get(&format!("/api/v1/items/{code}/application-form")).await.json().await.unwrap();
    assert_eq!(form["form"]["sections"][1]["fields"][5]["type"], "group");
    assert_eq!(form["materials"][0]["formats"], json!(["pdf", "jpg", "png"]));
    let outcome: Value = t
        .client
        .post(t.url(&format!("/api/v1/items/{code}/self-checks")))
        .json(&json!({"answers": {"resident": "是", "adult": "否"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        outcome,
        json!({"outcome": "ineligible", "reason": "申请人须年满18周岁", "instead": "请由监护人代为申请"})
    );

    // Start (twice: the same draft), save with mistakes: saved, errors listed.
    let res =
        api(reqwest::Method::POST, "/api/v1/applications").json(&json!({"item_code": code})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let draft: Value = res.json().await.unwrap();
    let id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!(draft["locked"]["id_number"], "来自实名认证信息");
    let res =
        api(reqwest::Method::POST, "/api/v1/applications").json(&json!({"item_code": code})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = api(reqwest::Method::POST, &format!("/api/v1/applications/{id}/answers"))
        .json(&json!({"answers": {"married": "否", "start": "2026-12-01", "end": "2026-11-01", "id_number": "110101199003070000"}}))
        .send()
        .await
        .unwrap();
    let saved: Value = res.json().await.unwrap();
    assert_eq!(saved["answers"]["id_number"], common::APPLICANT_ID, "a locked value cannot be changed");
    let errors: Vec<&str> = saved["errors"].as_array().unwrap().iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert_eq!(errors, ["address", "end", "promise"], "{saved}");
    let bad = api(reqwest::Method::POST, &format!("/api/v1/applications/{id}/answers"))
        .json(&json!({"answers": {"nope": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = api(reqwest::Method::POST, &format!("/api/v1/applications/{id}/answers"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.json::<Value>().await.unwrap()["code"], "invalid_json");

    // Submitting now: refused with what is missing.
    let res = api(reqwest::Method::POST, &format!("/api/v1/applications/{id}/submission")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "answers_invalid");

    // Uploads: the body is the file.
    let up = |slot: usize, name: &str, body: reqwest::Body| {
        api(reqwest::Method::POST, &format!("/api/v1/applications/{id}/materials/{slot}/files?name={name}")).body(body)
    };
    let res = up(0, "id.png", png(20).into()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let file: Value = res.json().await.unwrap();
    assert_eq!((file["file_name"].as_str(), file["content_type"].as_str()), (Some("id.png"), Some("image/png")));
    let mut elf = b"\x7fELF".to_vec();
    elf.resize(1000, 1);
    let res = up(0, "a.pdf", elf.into()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "file_type_refused");
    let res =
        up(0, "a.jpg", vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0].into()).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "file_corrupt");
    let res = up(5, "a.pdf", pdf(300).into()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // A declared 2 GB body: refused before a byte of it is read.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut socket = tokio::net::TcpStream::connect(t.app.addr()).await.unwrap();
        let head = format!(
            "POST /api/v1/applications/{id}/materials/0/files?name=big.pdf HTTP/1.1\r\nHost: {}\r\nAuthorization: {bearer}\r\nContent-Length: {}\r\n\r\n%PDF-1.7\n",
            t.app.addr(),
            2u64 << 30
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0; 4096];
        let n =
            tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut answer)).await.unwrap().unwrap();
        let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("file_too_large"), "{answer}");
    }
    // An endless stream without a length: stopped at the limit, nothing left on disk.
    let chunk = bytes::Bytes::from(pdf(64 * 1024));
    let endless = futures::stream::repeat(chunk).take(2 << 30 >> 16).map(Ok::<_, std::io::Error>);
    use futures::StreamExt;
    let res = up(0, "endless.pdf", reqwest::Body::wrap_stream(endless)).send().await;
    if let Ok(res) = res {
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = res.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("10 MB"), "{body}");
    }
    assert_eq!(tmp_files(t), 0, "no half-written upload left");

    // Fix the answers, submit: the serial number and password once; again: the same case.
    let res = api(reqwest::Method::POST, &format!("/api/v1/applications/{id}/answers"))
        .json(&json!({"answers": {"end": "2026-12-31", "promise": true,
            "address": {"province": "440000", "city": "440100", "county": "440106", "street": "天河路 2 号"}}}))
        .send()
        .await
        .unwrap();
    let saved: Value = res.json().await.unwrap();
    assert_eq!(saved["errors"], json!([]), "{saved}");
    assert_eq!((saved["done"].as_u64(), saved["total"].as_u64()), (Some(3), Some(3)));
    let res = api(reqwest::Method::POST, &format!("/api/v1/applications/{id}/submission")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["query_password"].as_str().unwrap().len(), 8);
    let second: Value = api(reqwest::Method::POST, &format!("/api/v1/applications/{id}/submission"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["serial_number"], first["serial_number"]);
    assert_eq!(second["query_password"], Value::Null);
    let res = api(reqwest::Method::DELETE, &format!("/api/v1/applications/{id}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // The file is still the owner's to fetch; not a stranger's.
    let fid = file["id"].as_str().unwrap();
    let res = api(reqwest::Method::GET, &format!("/api/v1/applications/{id}/files/{fid}")).send().await.unwrap();
    assert_eq!(res.bytes().await.unwrap().to_vec(), png(20));
    t.person("13800000178", &common::test_id_number(78)).await;
    let other = t.bearer("13800000178").await;
    for path in [format!("/api/v1/applications/{id}"), format!("/api/v1/applications/{id}/files/{fid}")] {
        let res = t.client.get(t.url(&path)).header("authorization", &other).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let res = t
        .client
        .delete(t.url(&format!("/api/v1/applications/{id}/files/{fid}")))
        .header("authorization", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // The OpenAPI document describes the journey.
    let doc: Value = t.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"]["/api/v1/applications/{id}/materials/{slot}/files"]["post"].is_object());
    let ApplyHall { hall, .. } = a;
    hall.t.stop().await;
}

#[tokio::test]
async fn idle_drafts_are_noticed_then_removed_with_their_files() {
    let a = ApplyHall::new().await;
    let t = a.t();
    let apps = t.app.applications();
    let (id, _) = apps.start(a.hall.applicant, &a.code, None).await.unwrap();
    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from(pdf(1000)))]);
    let file = apps.add_file(a.hall.applicant, id, 0, "x.pdf", None, body).await.unwrap();
    let now = t.app.db().now();
    let age = |days: i64| async move {
        let mut conn = t.app.db().conn().await.unwrap();
        govhall_db::exec!(
            conn,
            govhall_db::sqlx::query("UPDATE applications SET updated_at = $1 WHERE id = $2")
                .bind(now - chrono::Duration::days(days))
                .bind(id.as_uuid())
        )
        .unwrap();
    };
    // 20 days idle: nothing yet (30 days, notice 7 before).
    age(20).await;
    assert_eq!(apps.purge(now).await.unwrap(), govhall_applications::purge::Purged::default());
    // 24 days: told once, by inbox and SMS.
    age(24).await;
    assert_eq!(apps.purge(now).await.unwrap().noticed, 1);
    assert_eq!(apps.purge(now).await.unwrap().noticed, 0);
    let mut conn = t.app.db().conn().await.unwrap();
    let sent: Vec<String> = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
        "SELECT recipient FROM messages WHERE template_code = 'application.draft_expiring' ORDER BY recipient"
    )
    .fetch_all(&mut *c)
    .await)
    .unwrap();
    drop(conn);
    assert_eq!(sent.len(), 2, "{sent:?}");
    // Removed only a week after the notice, files and all.
    assert_eq!(apps.purge(now + chrono::Duration::days(3)).await.unwrap().removed, 0);
    let later = now + chrono::Duration::days(8);
    assert_eq!(apps.purge(later).await.unwrap().removed, 1);
    assert!(apps.get(a.hall.applicant, id).await.is_err());
    assert!(apps.files().read(&file.store_key).await.is_err());
    // An object stored by an upload that a crash cut off before it was recorded: its note stays,
    // and the sweep removes it once the note is an hour old; a recorded file's object stays.
    let (id, _) = apps.start(a.hall.applicant, &a.code, None).await.unwrap();
    let kept = apps
        .add_file(
            a.hall.applicant,
            id,
            0,
            "kept.pdf",
            None,
            futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from(pdf(900)))]),
        )
        .await
        .unwrap();
    let lost = uuid::Uuid::now_v7();
    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from(pdf(700)))]);
    let stored = apps.files().put_as(lost, body, &govhall_files::Kind::ALL, 1 << 20).await.unwrap();
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::exec!(
        conn,
        govhall_db::sqlx::query("INSERT INTO upload_intents (store_key, created_at) VALUES ($1, $2)")
            .bind(&stored.key)
            .bind(now - chrono::Duration::minutes(30))
    )
    .unwrap();
    drop(conn);
    assert_eq!(apps.purge(now).await.unwrap().orphans, 0, "not before an hour");
    assert_eq!(apps.purge(now + chrono::Duration::hours(1)).await.unwrap().orphans, 1);
    assert!(apps.files().read(&stored.key).await.is_err());
    assert!(apps.files().read(&kept.store_key).await.is_ok());
    let ApplyHall { hall, .. } = a;
    hall.t.stop().await;
}

#[tokio::test]
async fn editors_design_forms_with_a_preview_and_every_mistake_named() {
    let a = ApplyHall::new().await;
    let t = a.t();
    let code = a.code.clone();
    let editor = t.sign_in(EDITOR_PHONE, PASSWORD).await;
    let page = editor.get(&format!("/admin/forms/{code}")).await.text().await.unwrap();
    assert!(page.contains("申请表设计") && page.contains("家庭成员") && page.contains("resident_id"), "{page}");

    // Broken JSON and a schema with mistakes: each named, nothing saved, the text kept.
    let broken = r#"{"sections": [ {"key": "a", "title": "x", "fields": [ }"#;
    let res = editor
        .post(&format!("/admin/forms/{code}"), &[("form", broken), ("self_check", "{}"), ("action", "save")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("不是有效的 JSON") && html.contains("第 1 行"), "{html}");
    let wrong = json!({"sections": [{"key": "a", "title": "信息", "fields": [
        {"key": "kind", "label": "类别", "type": "choice"},
        {"key": "later", "label": "说明", "type": "text", "show_if": {"field": "nowhere", "equals": ["是"]}}]}]})
    .to_string();
    let res = editor
        .post(&format!("/admin/forms/{code}"), &[("form", &wrong), ("self_check", "{}"), ("action", "preview")])
        .await;
    let html = res.text().await.unwrap();
    assert!(html.contains("单选“类别”需要选项") && html.contains("不存在的字段“nowhere”"), "{html}");
    let res = editor
        .post(&format!("/admin/forms/{code}"), &[("form", &wrong), ("self_check", "{}"), ("action", "save")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A good one: previewed as applicants see it, saved into the item's draft for review.
    let good = json!({"sections": [{"key": "a", "title": "经营信息", "fields": [
        {"key": "shop", "label": "店铺名称", "type": "text", "required": true, "help": "与营业执照一致"},
        {"key": "code", "label": "统一社会信用代码", "type": "credit_code", "required": true}]}]})
    .to_string();
    let res = editor
        .post(&format!("/admin/forms/{code}"), &[("form", &good), ("self_check", "{}"), ("action", "preview")])
        .await;
    let html = res.text().await.unwrap();
    assert!(html.contains("店铺名称") && html.contains("与营业执照一致") && !html.contains("需要修改"), "{html}");
    let res = editor
        .post(&format!("/admin/forms/{code}"), &[("form", &good), ("self_check", "{}"), ("action", "save")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
    // Not live until reviewed: applicants still get the published form.
    let published: Value = t.get(&format!("/api/v1/items/{code}/application-form")).await.json().await.unwrap();
    assert_eq!(published["form"]["sections"][0]["key"], "applicant");
    let publisher_access = t.app.identity().access(a.publisher).await.unwrap();
    let editor_access = t.app.identity().access(a.editor).await.unwrap();
    let actor = |id| govhall_audit::Actor { id: Some(id), label: "测试".into(), client_ip: String::new() };
    govhall_catalog::editing::submit(t.app.db(), &actor(a.editor), &editor_access, &code).await.unwrap();
    govhall_catalog::editing::approve(t.app.db(), &actor(a.publisher), &publisher_access, &code).await.unwrap();
    t.app.catalog().forget(&code);
    let published: Value = t.get(&format!("/api/v1/items/{code}/application-form")).await.json().await.unwrap();
    assert_eq!(published["form"]["sections"][0]["fields"][1]["type"], "credit_code");
    // A citizen cannot reach the designer.
    let citizen = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    assert_eq!(citizen.get(&format!("/admin/forms/{code}")).await.status(), StatusCode::FORBIDDEN);
    let ApplyHall { hall, .. } = a;
    hall.t.stop().await;
}

#[tokio::test]
async fn an_agent_applies_for_their_enterprise_with_its_verified_name_and_code() {
    use govhall_applications::drafts::Scope;
    let a = ApplyHall::new().await;
    let t = a.t();
    // The item's form asks for the enterprise's name and code, filled from its registration.
    let mut content = govhall_catalog::store::guide(t.app.db(), &a.code).await.unwrap().unwrap().content;
    let mut form: govhall_catalog::form::FormSchema = serde_json::from_value(common::applying::test_form()).unwrap();
    let company =
        json!({"key": "company", "label": "单位名称", "type": "text", "required": true, "prefill": "enterprise_name"});
    let uscc = json!({"key": "uscc", "label": "统一社会信用代码", "type": "credit_code", "required": true, "prefill": "credit_code"});
    form.sections[0].fields.insert(0, serde_json::from_value(company).unwrap());
    form.sections[0].fields.insert(1, serde_json::from_value(uscc).unwrap());
    content.form = Some(form);
    a.publish(&content).await;
    let actor = govhall_audit::Actor::system("test");
    let enterprise = t
        .app
        .identity()
        .register_enterprise(&actor, a.hall.applicant, "91350100M000100Y43", "福州测试科技有限公司", "张三")
        .await
        .unwrap();
    let apps = t.app.applications();
    let (own, _) = apps.start(a.hall.applicant, &a.code, None).await.unwrap();
    let (firm, _) = apps.start(a.hall.applicant, &a.code, Some(enterprise)).await.unwrap();
    assert_ne!(own, firm, "one draft for oneself, one for the enterprise");
    let w = apps.workspace(a.hall.applicant, firm).await.unwrap();
    assert_eq!(w.application.answers["company"], "福州测试科技有限公司");
    assert_eq!(w.application.answers["uscc"], "91350100M000100Y43");
    assert_eq!(w.locked["uscc"].1, "来自企业认证信息");
    // One's own draft has nothing to fill the enterprise's fields from.
    assert!(!apps.workspace(a.hall.applicant, own).await.unwrap().locked.contains_key("company"));
    // Someone who is not its agent cannot apply for it.
    let other = t.person("13800000179", &common::test_id_number(79)).await;
    assert_eq!(apps.start(other, &a.code, Some(enterprise)).await.unwrap_err().code(), "forbidden");
    // Fill, upload, submit: the case is the enterprise's.
    let answers = json!({"married": "否", "start": "2026-12-01", "end": "2026-12-31", "promise": true,
        "address": {"province": "440000", "city": "440100", "street": "天河路 1 号"}});
    let errors = apps.save(a.hall.applicant, firm, Scope::Merge, answers.as_object().unwrap()).await.unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from(pdf(800)))]);
    apps.add_file(a.hall.applicant, firm, 0, "执照.pdf", None, body).await.unwrap();
    let done = apps.submit(a.hall.applicant, firm).await.unwrap();
    let case = t.app.cases().mine_by_serial(a.hall.applicant, &done.serial_number).await.unwrap();
    assert_eq!(case.enterprise_id, Some(enterprise));
    assert_eq!(case.applicant_masked, "福州测试科技有限公司");
    let ApplyHall { hall, .. } = a;
    hall.t.stop().await;
}

/// `size` zero bytes deflated by hand, in a zlib wrapper: one block of fixed Huffman codes
/// (RFC 1951 §3.2.6), a zero then copies of 258 bytes from one back, 13 bits each.
fn deflated_zeros(size: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        held: u64,
        count: u32,
    }
    impl Bits {
        /// `len` bits of `value`, least significant first (Huffman codes are given reversed).
        fn put(&mut self, value: u64, len: u32) {
            self.held |= value << self.count;
            self.count += len;
            while self.count >= 8 {
                self.out.push(self.held as u8);
                self.held >>= 8;
                self.count -= 8;
            }
        }
        fn code(&mut self, code: u64, len: u32) {
            let reversed = (0..len).fold(0, |r, i| r << 1 | (code >> i & 1));
            self.put(reversed, len);
        }
    }
    let mut b = Bits { out: vec![0x78, 0x01], held: 0, count: 0 };
    b.put(1, 1); // the last block
    b.put(1, 2); // fixed codes
    b.code(0x30, 8); // the literal 0
    for _ in 0..(size - 1) / 258 {
        b.code(0xC5, 8); // length 258
        b.code(0, 5); // distance 1
    }
    b.code(0, 7); // end of block
    b.put(0, 7);
    b.out.extend_from_slice(&[0, 0, 0, 0]);
    b.out
}

/// A one-page PDF with an object stream that unpacks to `size` zero bytes.
fn pdf_bomb(size: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n".to_vec();
    let mut offsets = Vec::new();
    for o in [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ] {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", offsets.len()).bytes());
    }
    let zeros = deflated_zeros(size);
    offsets.push(out.len());
    out.extend(
        format!("4 0 obj\n<< /Type /ObjStm /N 0 /First 0 /Filter /FlateDecode /Length {} >>\nstream\n", zeros.len())
            .bytes(),
    );
    out.extend_from_slice(&zeros);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    let xref = out.len();
    out.extend(b"xref\n0 5\n0000000000 65535 f \n");
    for off in offsets {
        out.extend(format!("{off:010} 00000 n \n").bytes());
    }
    out.extend(format!("trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").bytes());
    out
}

#[tokio::test]
async fn a_pdf_that_unpacks_to_gigabytes_is_refused_as_too_complex() {
    let a = ApplyHall::new().await;
    let t = a.t();
    let bearer = t.bearer(APPLICANT_PHONE).await;
    let api =
        |method: reqwest::Method, path: &str| t.client.request(method, t.url(path)).header("authorization", &bearer);
    let res =
        api(reqwest::Method::POST, "/api/v1/applications").json(&json!({"item_code": a.code})).send().await.unwrap();
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let upload = |name: &str, body: Vec<u8>| {
        api(reqwest::Method::POST, &format!("/api/v1/applications/{id}/materials/0/files?name={name}")).body(body)
    };

    // 2 GiB of zeros in 13 MB would be over the upload limit; 256 MiB in 1.7 MB is not.
    let bomb = pdf_bomb(256 << 20);
    assert!(bomb.len() < 2 << 20, "{}", bomb.len());
    let started = std::time::Instant::now();
    let res = upload("bomb.pdf", bomb).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "file_too_complex", "{body}");
    assert!(body["message"].as_str().unwrap().contains("过于复杂"), "{body}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
    assert_eq!(tmp_files(t), 0, "nothing of the refused upload is left");

    // The same file without the bomb is taken.
    let res = upload("fine.pdf", pdf_bomb(1000)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn blockers_are_listed_at_once_and_an_interrupted_submission_is_finished() {
    use govhall_applications::ApplicationState;
    use govhall_applications::drafts::Scope;
    let a = ApplyHall::new().await;
    let t = a.t();
    let apps = t.app.applications();
    let (id, _) = apps.start(a.hall.applicant, &a.code, None).await.unwrap();
    // Nothing filled: the answers' problems and the missing material, together.
    let w = apps.workspace(a.hall.applicant, id).await.unwrap();
    let blockers = apps.blockers(&w);
    assert!(!blockers.answers.is_empty());
    assert_eq!(blockers.materials_message().as_deref(), Some("请上传必要材料：身份证明"), "{blockers:?}");
    assert_eq!(apps.submit(a.hall.applicant, id).await.unwrap_err().code(), "answers_invalid");
    let answers = json!({"married": "否", "start": "2026-12-01", "end": "2026-12-31", "promise": true,
        "address": {"province": "440000", "city": "440100", "street": "天河路 1 号"}});
    let errors = apps.save(a.hall.applicant, id, Scope::Merge, answers.as_object().unwrap()).await.unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let w = apps.workspace(a.hall.applicant, id).await.unwrap();
    assert!(apps.blockers(&w).answers.is_empty());
    assert_eq!(apps.submit(a.hall.applicant, id).await.unwrap_err().code(), "materials_incomplete");
    let body = futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from(pdf(800)))]);
    apps.add_file(a.hall.applicant, id, 0, "证明.pdf", None, body).await.unwrap();
    let w = apps.workspace(a.hall.applicant, id).await.unwrap();
    assert!(apps.blockers(&w).is_empty(), "{:?}", apps.blockers(&w));
    // A submission that claimed the draft and went away before making the case.
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::exec!(
        conn,
        govhall_db::sqlx::query("UPDATE applications SET state = 'submitting' WHERE id = $1").bind(id.as_uuid())
    )
    .unwrap();
    drop(conn);
    let w = apps.workspace(a.hall.applicant, id).await.unwrap();
    assert_eq!(w.application.state, ApplicationState::Submitting);
    // The confirmation page finishes it: one case, its password shown once.
    let w = apps.finish_submission(a.hall.applicant, id).await.unwrap();
    assert_eq!(w.application.state, ApplicationState::Submitted);
    let serial = w.application.serial_number.clone().unwrap();
    assert_eq!(apps.finish_submission(a.hall.applicant, id).await.unwrap().application.serial_number, Some(serial));
    assert_eq!(apps.reveal_password(a.hall.applicant, id).await.unwrap().map(|p| p.len()), Some(8));
    assert_eq!(apps.reveal_password(a.hall.applicant, id).await.unwrap(), None);
    let ApplyHall { hall, .. } = a;
    hall.t.stop().await;
}
