//! 现场申报 at a window, on SQLite and PostgreSQL: a member of staff finds the department's item,
//! takes down a walk-in applicant without an account and the paper materials, registers the
//! case (the same engine as online: history, SMS, the progress query), sees the serial number
//! and query password once and prints the receipt (pdftotext finds both); Chromium at 1366 and
//! 390 px with axe-core. Bad numbers, a repeated form, another department's item, a wrong
//! password on the receipt and an applicant's session are refused.

use crate::common;

use common::browser::{Browser, look};
use common::{APPLICANT_PHONE, CaseHall, PASSWORD, STRANGER_PHONE, WORKER_PHONE, csrf_of, pdftotext, test_id_number};
use govhall_cases::Channel;
use reqwest::StatusCode;

#[tokio::test]
async fn a_window_takes_in_a_walk_in_case_and_prints_its_receipt() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let h = CaseHall::new().await;
    let t = &h.t;
    let walk_in = test_id_number(717);
    let item = h.item.item.name.clone();
    let code = h.item.item.code.clone();

    let browser = Browser::start().await;
    browser.resize(1366, 768).await;
    browser.goto(&t.url("/login")).await;
    browser.type_into("#login", WORKER_PHONE).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
    browser.goto(&t.url("/admin/intake")).await;
    browser.wait_source("窗口收件").await;
    let keyword: String = item.chars().take(4).collect();
    browser.type_into("#q", &keyword).await;
    browser.click("form[action='/admin/intake'] button[type='submit']").await;
    browser.wait_source(&code).await;
    let mut violations = look(&browser, "intake-items").await;
    browser.goto(&t.url(&format!("/admin/intake/{code}"))).await;
    browser.wait_source("申请人类型").await;
    violations.extend(look(&browser, "intake-form").await);
    browser.type_into("#applicant_name", "赵七").await;
    browser.type_into("#applicant_number", &walk_in).await;
    browser.type_into("#applicant_phone", "13800000718").await;
    // The item's own required fields, whatever they are: a value each, the first option.
    browser
        .run(
            "document.querySelectorAll('[name^=f_][required]').forEach(e => {
               if (e.tagName == 'SELECT') { e.selectedIndex = 1; } else if (!e.value) { e.value = e.type == 'date' ? '2026-12-01' : '窗口填写'; }
             });
             document.querySelectorAll('input[name=material]').forEach(e => e.checked = true);
             return true;",
        )
        .await;
    // A scan of the first material.
    let scans = tempfile::tempdir().unwrap();
    let scan = scans.path().join("身份证扫描件.pdf");
    std::fs::write(&scan, b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n").unwrap();
    browser.type_into("#scan-0", scan.to_str().unwrap()).await;
    browser.click("form[action^='/admin/intake/'] button[type='submit']").await;
    browser.wait_source("已登记").await;
    let text = |id: &str| format!("return document.getElementById('{id}').textContent.trim();");
    let serial = browser.run(&text("serial")).await.as_str().unwrap().to_owned();
    let password = browser.run(&text("password")).await.as_str().unwrap().to_owned();
    assert!(govhall_core::SerialNumber::parse(&serial).is_ok(), "{serial}");
    violations.extend(look(&browser, "intake-done").await);
    assert!(violations.is_empty(), "axe-core: {violations:#?}");
    browser.quit().await;

    // The case: taken in at the counter, for a person without an account, moving as any case.
    let id = t.app.cases().id_by_serial(&serial).await.unwrap();
    let access = h.access(h.worker).await;
    let case = t.app.cases().get(&access, id).await.unwrap();
    assert_eq!((case.channel, case.applicant_id), (Channel::Counter, None));
    assert_eq!(case.materials[0].files, ["窗口收取纸质材料", "身份证扫描件.pdf"], "{:?}", case.materials);
    assert!(case.materials[1..].iter().all(|m| m.files == ["窗口收取纸质材料"]), "{:?}", case.materials);
    let files = t.app.cases().files(&access, id).await.unwrap();
    assert_eq!(files.len(), 1, "the scan kept with the case");
    let history = t.app.cases().history(id).await.unwrap();
    assert_eq!(history[0].action, "register_counter");
    assert!(history[0].actor_name.contains("李四"), "{}", history[0].actor_name);
    t.app.cases().progress(&serial, &password, "127.0.0.1").await.unwrap();

    // The receipt, with the number and the password; only with the right password.
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let page = worker.get("/admin/intake").await.text().await.unwrap();
    let csrf = csrf_of(&page);
    let res = worker
        .post("/admin/intake/receipt", &[("csrf", csrf.as_str()), ("serial", &serial), ("password", &password)])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let pdf = res.bytes().await.unwrap();
    // Kept beside the screenshots, to be looked at.
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("intake-receipt.pdf"), &pdf).unwrap();
    let text = pdftotext(&pdf).expect("pdftotext (poppler-utils) is installed");
    assert!(text.contains(&serial) && text.contains(&password) && text.contains("受理回执"), "{text}");
    assert!(text.contains("窗口申报") && !text.contains(&walk_in), "the ID number masked: {text}");
    let res = worker
        .post("/admin/intake/receipt", &[("csrf", csrf.as_str()), ("serial", &serial), ("password", "WRONG234")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("查询密码与该办件不符"));
}

#[tokio::test]
async fn the_window_refuses_what_is_wrong_and_keeps_what_was_typed() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let code = h.item.item.code.clone();
    let path = format!("/admin/intake/{code}");
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let page = worker.get(&path).await.text().await.unwrap();
    let csrf = csrf_of(&page);
    let key_start = page.find("name=\"key\" value=\"").unwrap() + 18;
    let key = page[key_start..].split('"').next().unwrap().to_owned();
    // Every required field of the item's form, and the applicant.
    let mut fields: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("key".into(), key.clone()),
        ("applicant_kind".into(), "person".into()),
        ("applicant_name".into(), "赵七".into()),
        ("applicant_number".into(), "110101199001011230".into()),
        ("applicant_phone".into(), "13800000718".into()),
        ("material".into(), "0".into()),
    ];
    for name in page.split("name=\"f_").skip(1).filter_map(|s| s.split('"').next()) {
        fields.push((format!("f_{name}"), "窗口填写".into()));
    }
    let post = |fields: Vec<(String, String)>| {
        let worker = &worker;
        let path = path.clone();
        async move {
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let res = worker.post(&path, &pairs).await;
            (res.status(), res.text().await.unwrap())
        }
    };

    // A wrong ID number: said, and what was typed is still there.
    let (status, html) = post(fields.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(html.contains("身份证号码") && html.contains("赵七") && html.contains("110101199001011230"), "{html}");
    let number = test_id_number(718);
    for f in &mut fields {
        if f.0 == "applicant_number" {
            f.1 = number.clone();
        }
    }
    let (status, html) = post(fields.clone()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("已登记"));
    // The same form again (a double click): the same case, not a second one.
    let (status, html) = post(fields.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{html}");
    let cases = {
        let mut conn = t.app.db().conn().await.unwrap();
        let n: i64 = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
            "SELECT COUNT(*) FROM cases WHERE channel = 'counter'"
        )
        .fetch_one(&mut *c)
        .await)
        .unwrap();
        n
    };
    assert_eq!(cases, 1);

    // Another department's staff cannot take in this item; an applicant may not use the page.
    let stranger = t.sign_in(STRANGER_PHONE, PASSWORD).await;
    let res = stranger.get(&path).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "not offered");
    let page = stranger.get("/admin/intake").await.text().await.unwrap();
    let mut theirs = fields.clone();
    theirs[0].1 = csrf_of(&page);
    theirs[1].1 = "otherkey1".into();
    let pairs: Vec<(&str, &str)> = theirs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = stranger.post(&path, &pairs).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("不是本部门办理的事项"));
    let applicant = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    assert_eq!(applicant.get("/admin/intake").await.status(), StatusCode::FORBIDDEN);
}
