//! Online applications over HTTP, on SQLite and PostgreSQL: the self-check, the form with
//! mistakes and their errors beside the fields, uploads (and the attacks on them), drafts kept
//! across sign-ins, check answers, submission with the serial number and password once, the
//! printouts, other people's drafts and files, staff access, and the designer's checks.

use crate::common;

use common::applying::{ApplyHall, pdf, png};
use common::{APPLICANT_PHONE, Agent, PASSWORD, STRANGER_PHONE, WORKER_PHONE, pdftotext};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Uploads files into slot `slot` as the materials page's form does.
async fn upload(agent: &Agent, id: &str, slot: usize, files: &[(&str, Vec<u8>)]) -> reqwest::Response {
    let mut form = Form::new();
    for (name, bytes) in files {
        form = form.part("files", Part::bytes(bytes.clone()).file_name((*name).to_owned()));
    }
    let token: String = agent.csrf.bytes().map(|b| format!("%{b:02X}")).collect();
    agent
        .client
        .post(format!("{}/applications/{id}/materials/{slot}?csrf={token}", agent.base))
        .header("cookie", &agent.cookie)
        .header("origin", &agent.base)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn start(agent: &Agent, code: &str) -> String {
    let res = agent.post(&format!("/items/{code}/apply"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
    location(&res).trim_start_matches("/applications/").to_owned()
}

#[tokio::test]
async fn the_whole_journey_over_http() {
    let a = ApplyHall::new().await;
    let t = a.t();
    let code = a.code.clone();
    let me = t.sign_in(APPLICANT_PHONE, PASSWORD).await;

    // The self-check: a rule says why not, and what instead; then eligible.
    let no = me.post(&format!("/items/{code}/check"), &[("q.resident", "否"), ("q.adult", "是")]).await;
    let html = no.text().await.unwrap();
    assert!(html.contains("本事项仅受理本省户籍居民") && html.contains("请向户籍所在地部门申请"), "{html}");
    let half = me.post(&format!("/items/{code}/check"), &[("q.resident", "是")]).await;
    assert_eq!(half.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let yes = me.post(&format!("/items/{code}/check"), &[("q.resident", "是"), ("q.adult", "是")]).await;
    assert!(yes.text().await.unwrap().contains("您可以申请"));

    // Start: the task list, nothing done; the profile fills and locks the applicant's fields.
    let id = start(&me, &code).await;
    let tasks = me.get(&format!("/applications/{id}")).await.text().await.unwrap();
    assert!(tasks.contains("已完成 0/3"), "{tasks}");
    let section = me.get(&format!("/applications/{id}/sections/applicant")).await.text().await.unwrap();
    assert!(section.contains("来自实名认证信息") && section.contains("370102199003071238"), "{section}");
    assert!(section.contains("readonly"));
    // A forged value for a locked field is ignored.
    let res = me
        .post(
            &format!("/applications/{id}/sections/applicant"),
            &[
                ("f.name", "李四"),
                ("f.address.province", "440000"),
                ("f.address.city", "440100"),
                ("f.address.county", "440106"),
                ("f.address.street", "体育西路 1 号"),
                ("action", "continue"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/applications/{id}/sections/details"));

    // Mistakes: each beside its field and in the summary, and what was typed kept.
    let script = "<script>alert(1)</script>";
    let res = me
        .post(
            &format!("/applications/{id}/sections/details"),
            &[
                ("f.married", "是"),
                ("f.start", "2026-12-10"),
                ("f.end", "2026-12-01"),
                ("f.amount", "12.345"),
                ("f.members.1.name", script),
                ("f.members.1.relation", "外星人"),
                ("action", "continue"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    for expected in ["有 5 处需要修改", "请填写配偶姓名", "结束日期应晚于开始日期", "请勾选", "家庭成员第1行关系"]
    {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    assert!(html.contains("value=\"2026-12-10\"") && html.contains("value=\"12.345\""), "typed values kept");
    assert!(
        !html.contains(script) && (html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;")),
        "script escaped"
    );
    assert!(html.contains("id=\"field-f-spouse\""), "the summary links to the field");

    // Save as a draft, sign out, sign in again: all still there.
    let res =
        me.post(&format!("/applications/{id}/sections/details"), &[("f.married", "是"), ("action", "save")]).await;
    assert_eq!(location(&res), format!("/applications/{id}?saved=1"));
    let res = me.post("/logout", &[]).await;
    assert!(res.status().is_redirection());
    let me = t.sign_in(APPLICANT_PHONE, PASSWORD).await;
    let mine = me.get("/account/cases").await.text().await.unwrap();
    assert!(mine.contains("未提交的申报") && mine.contains(&format!("/applications/{id}")), "{mine}");
    assert!(mine.contains("已完成 1/3"), "{mine}");

    let res = me
        .post(
            &format!("/applications/{id}/sections/details"),
            &[
                ("f.married", "是"),
                ("f.spouse", "王五"),
                ("f.start", "2026-12-01"),
                ("f.end", "2026-12-10"),
                ("f.amount", "1200.5"),
                ("f.members.1.name", "王五"),
                ("f.members.1.relation", "配偶"),
                ("f.promise", "是"),
                ("action", "continue"),
            ],
        )
        .await;
    assert_eq!(location(&res), format!("/applications/{id}/materials"));

    // Uploads: a renamed executable, HTML called .pdf, a corrupt image and a PNG where only
    // PDF is taken are refused with the reason; a path trick loses its path.
    let mut exe = b"MZ\x90\x00".to_vec();
    exe.resize(4096, 0);
    let res = upload(&me, &id, 0, &[("身份证.pdf", exe)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Windows 可执行程序"));
    let res = upload(&me, &id, 0, &[("scan.pdf", b"<html><body onload=alert(1)>".to_vec())]).await;
    assert!(res.text().await.unwrap().contains("网页"));
    let mut broken = png(16);
    broken.truncate(broken.len() - 30);
    let res = upload(&me, &id, 0, &[("photo.png", broken)]).await;
    assert!(res.text().await.unwrap().contains("已损坏"));
    let res = upload(&me, &id, 1, &[("other.png", png(8))]).await;
    assert!(res.text().await.unwrap().contains("只接受 PDF"));
    let res = upload(&me, &id, 0, &[("../../etc/passwd.pdf", pdf(2000)), ("正面.png", png(32))]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
    let page = me.get(&format!("/applications/{id}/materials")).await.text().await.unwrap();
    assert!(page.contains("passwd.pdf") && !page.contains("etc/passwd") && page.contains("正面.png"), "{page}");
    assert!(page.contains("下载空白模板"), "template link beside the slot");
    let app = t.app.applications().workspace(a.hall.applicant, id.parse().unwrap()).await.unwrap();
    let files = &app.slots[0].files;
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].sha256.len(), 64);
    // Delete one, then it is gone from the store too.
    let gone = files[1].clone();
    let res = me.post(&format!("/applications/{id}/files/{}/delete", gone.id), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(t.app.applications().files().read(&gone.store_key).await.is_err());
    let kept = files[0].clone();
    let res = me.get(&format!("/applications/{id}/files/{}", kept.id)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(res.bytes().await.unwrap().len(), pdf(2000).len());

    // Someone else: nothing of it, anywhere.
    t.person("13800000177", &common::test_id_number(77)).await;
    let stranger = t.sign_in("13800000177", PASSWORD).await;
    for path in [
        format!("/applications/{id}"),
        format!("/applications/{id}/sections/details"),
        format!("/applications/{id}/materials"),
        format!("/applications/{id}/files/{}", kept.id),
        format!("/applications/{id}/print.pdf"),
        format!("/applications/{id}/check"),
    ] {
        assert_eq!(stranger.get(&path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let res = upload(&stranger, &id, 0, &[("x.pdf", pdf(500))]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(stranger.post(&format!("/applications/{id}/submit"), &[]).await.status(), StatusCode::NOT_FOUND);

    // Check answers, then submit: the serial number and the password, once.
    let check = me.get(&format!("/applications/{id}/check")).await.text().await.unwrap();
    assert!(!check.contains("sections/applicant#field-f-id_number"), "no change link on a verified value");
    for expected in ["王五", "1200.50 元", "广东省广州市天河区体育西路 1 号", "passwd.pdf", "修改"] {
        assert!(check.contains(expected), "{expected} in {check}");
    }
    let res = me.post(&format!("/applications/{id}/submit"), &[]).await;
    assert_eq!(location(&res), format!("/applications/{id}/done"));
    let done = me.get(&format!("/applications/{id}/done")).await;
    assert_eq!(done.headers()["cache-control"], "no-store");
    let done = done.text().await.unwrap();
    let serial = done.split("id=\"serial\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let password = done.split("id=\"password\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(password.len(), 8);
    let again = me.get(&format!("/applications/{id}/done")).await.text().await.unwrap();
    assert!(!again.contains(&password) && again.contains(&serial), "the password is shown once");
    // Submitted: no more changes; its pages lead to the confirmation.
    let res = me.post(&format!("/applications/{id}/sections/details"), &[("f.spouse", "x")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = me.get(&format!("/applications/{id}/sections/details")).await;
    assert_eq!(location(&res), format!("/applications/{id}/done"));

    // The progress query with them.
    let progress = t
        .client
        .post(t.url("/api/v1/progress-queries"))
        .json(&serde_json::json!({"serial_number": serial, "query_password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(progress.status(), StatusCode::OK, "{}", progress.text().await.unwrap());

    // The printouts: the form with the serial number, the receipt with the password.
    let printed = me.get(&format!("/applications/{id}/print.pdf")).await;
    assert_eq!(printed.status(), StatusCode::OK);
    assert_eq!(printed.headers()["content-type"], "application/pdf");
    let printed = printed.bytes().await.unwrap();
    assert!(printed.starts_with(b"%PDF-"));
    let receipt =
        me.post(&format!("/applications/{id}/receipt.pdf"), &[("password", &password)]).await.bytes().await.unwrap();
    let forged =
        me.post(&format!("/applications/{id}/receipt.pdf"), &[("password", "ABCDEFGH")]).await.bytes().await.unwrap();
    if let (Some(form_text), Some(receipt_text), Some(forged_text)) =
        (pdftotext(&printed), pdftotext(&receipt), pdftotext(&forged))
    {
        assert!(
            form_text.contains(&serial) && form_text.contains("王五") && form_text.contains("passwd.pdf"),
            "{form_text}"
        );
        assert!(receipt_text.contains(&serial) && receipt_text.contains(&password), "{receipt_text}");
        assert!(!forged_text.contains("ABCDEFGH"), "a wrong password is not printed");
    } else {
        assert!(std::env::var("CI").is_err(), "CI installs pdftotext");
    }

    // Staff of the item's department see the files and print the form; others do not.
    let worker = t.sign_in(WORKER_PHONE, PASSWORD).await;
    let a2 = t.app.applications().get(a.hall.applicant, id.parse().unwrap()).await.unwrap();
    let case_id = a2.case_id.unwrap();
    let page = worker.get(&format!("/admin/cases/{case_id}")).await.text().await.unwrap();
    assert!(page.contains(&format!("/admin/cases/{case_id}/materials/{}", kept.id)), "{page}");
    assert_eq!(worker.get(&format!("/admin/cases/{case_id}/materials/{}", kept.id)).await.status(), StatusCode::OK);
    assert_eq!(worker.get(&format!("/admin/cases/{case_id}/application.pdf")).await.status(), StatusCode::OK);
    // Uploaded materials are personal data: viewing the case is not enough, and each opening is
    // in the audit log.
    let department = govhall_identity::DepartmentId::from_uuid(a.hall.item.item.department_id);
    let viewer_only = t.staff("13600000310", department).await;
    let identity = t.app.identity();
    let actor = govhall_audit::Actor::system("test");
    let role =
        identity.save_role(&actor, "case_viewer", "办件查看", &[govhall_identity::Permission::CaseView]).await.unwrap();
    identity
        .grant(&actor, role, govhall_identity::rbac::Grantee::Account(viewer_only), govhall_identity::Scope::Department)
        .await
        .unwrap();
    let glance = t.sign_in("13600000310", PASSWORD).await;
    assert_eq!(glance.get(&format!("/admin/cases/{case_id}")).await.status(), StatusCode::OK);
    assert_eq!(
        glance.get(&format!("/admin/cases/{case_id}/materials/{}", kept.id)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(glance.get(&format!("/admin/cases/{case_id}/application.pdf")).await.status(), StatusCode::FORBIDDEN);
    let mut conn = t.app.db().conn().await.unwrap();
    let opened: i64 = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'case.view_personal_data'"
    )
    .fetch_one(&mut *c)
    .await)
    .unwrap();
    drop(conn);
    assert!(opened >= 4, "openings and refusals audited: {opened}");
    let outsider = t.sign_in(STRANGER_PHONE, PASSWORD).await;
    assert_eq!(
        outsider.get(&format!("/admin/cases/{case_id}/materials/{}", kept.id)).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(outsider.get(&format!("/admin/cases/{case_id}/application.pdf")).await.status(), StatusCode::NOT_FOUND);
    // The case carries the form as staff read it, in order, with labels.
    let access = t.app.identity().access(a.hall.worker).await.unwrap();
    let actor = govhall_audit::Actor::system("test");
    let data = t.app.cases().personal_data(&access, &actor, case_id).await.unwrap();
    let lines = data.form["lines"].to_string();
    assert!(lines.contains("配偶姓名") && lines.contains("王五"), "{lines}");

    // Applying again brings the answers of this one (not the locked profile values).
    let again = start(&me, &code).await;
    assert_ne!(again, id);
    let w = t.app.applications().workspace(a.hall.applicant, again.parse().unwrap()).await.unwrap();
    assert_eq!(w.application.brought_from.as_deref(), Some(serial.as_str()));
    assert_eq!(w.application.answers["spouse"], "王五");
    assert_eq!(w.application.answers["name"], "张三");
    a.hall.t.stop().await;
}
