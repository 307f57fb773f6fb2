//! The online application journey as a person makes it, in headless Chromium: the self-check,
//! the form with mistakes and their errors, an upload of the wrong kind refused, a draft kept
//! across signing out, check answers, submission, then the progress page with the number and
//! password. Screenshots go to target/screenshots/.

use crate::common;

use common::applying::{ApplyHall, pdf, png};
use common::browser::Browser;
use common::{APPLICANT_PHONE, PASSWORD};

async fn sign_in(browser: &Browser, t: &common::TestApp) {
    browser.goto(&t.url("/login")).await;
    browser.type_into("#login", APPLICANT_PHONE).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
}

#[tokio::test]
async fn a_person_applies_online_from_the_self_check_to_the_progress_page_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let a = ApplyHall::new().await;
    let t = a.t();
    let code = a.code.clone();
    let browser = Browser::start().await;
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("身份证.pdf");
    let mut bytes = b"MZ\x90\x00".to_vec();
    bytes.resize(2048, 0);
    std::fs::write(&exe, bytes).unwrap();
    let photo = dir.path().join("身份证正面.png");
    std::fs::write(&photo, png(64)).unwrap();
    let other = dir.path().join("说明.pdf");
    std::fs::write(&other, pdf(3000)).unwrap();

    sign_in(&browser, t).await;
    // From the guide: the self-check.
    browser.goto(&t.url(&format!("/items/{code}"))).await;
    browser.click(&format!("a[href='/items/{code}/check']")).await;
    browser.wait_source("您是否具有本省户籍").await;
    browser.click("input[name='q.resident'][value='是']").await;
    browser.click("input[name='q.adult'][value='是']").await;
    browser.click("form[action$='/check'] button[type='submit']").await;
    browser.wait_source("您可以申请").await;
    browser.screenshot("apply-self-check").await;
    browser.click(&format!("a.button[href='/items/{code}/apply']")).await;
    browser.wait_source("开始申报").await;
    browser.click("form[action$='/apply'] button[type='submit']").await;
    browser.wait_source("已完成 0/3").await;
    browser.screenshot("apply-tasks").await;

    // The applicant's section: the profile fills, the address cascades.
    browser.click("a[href$='/sections/applicant']").await;
    let html = browser.wait_source("来自实名认证信息").await;
    assert!(html.contains("370102199003071238"));
    // Choosing a province brings its cities at once (the script presses 更新地区选项).
    browser.click("select[name='f.address.province'] option[value='440000']").await;
    browser.wait_source("广州市").await;
    browser.click("select[name='f.address.city'] option[value='440100']").await;
    browser.wait_source("天河区").await;
    browser.click("select[name='f.address.county'] option[value='440106']").await;
    browser.type_into("input[name='f.address.street']", "体育西路 1 号").await;
    browser.screenshot("apply-applicant").await;
    browser.click("button[value='continue']").await;
    browser.wait_source("是否已婚").await;

    // Mistakes, then the errors beside the fields and in the summary.
    browser.click("input[name='f.married'][value='是']").await;
    browser.set_value("#f-start", "2026-12-10").await;
    browser.set_value("#f-end", "2026-12-01").await;
    browser.type_into("#f-amount", "一千元").await;
    browser.click("button[value='continue']").await;
    let html = browser.wait_source("处需要修改").await;
    for expected in ["请填写配偶姓名", "结束日期应晚于开始日期", "金额", "请勾选"] {
        assert!(html.contains(expected), "{expected}");
    }
    assert!(html.contains("一千元"), "what was typed is kept");
    browser.screenshot("apply-errors").await;
    browser.type_into("#f-spouse", "王五").await;
    browser.set_value("#f-end", "2026-12-31").await;
    browser.type_into("#f-amount", "1000").await;
    browser.type_into("input[name='f.members.1.name']", "王五").await;
    browser.click("#f-promise").await;
    browser.click("button[value='continue']").await;

    // Materials: the renamed executable refused with the reason, then real files.
    browser.wait_source("上传申请材料").await;
    browser.type_into("#files-0", exe.to_str().unwrap()).await;
    browser.click("#slot-0 form.upload-form button").await;
    browser.wait_source("Windows 可执行程序").await;
    browser.screenshot("apply-upload-refused").await;
    browser.type_into("#files-0", photo.to_str().unwrap()).await;
    browser.click("#slot-0 form.upload-form button").await;
    browser.wait_source("已上传 1 个文件").await;
    browser.type_into("#files-1", other.to_str().unwrap()).await;
    browser.click("#slot-1 form.upload-form button").await;
    browser.wait_source("说明.pdf").await;
    browser.screenshot("apply-materials").await;

    // Sign out, sign in again: the draft waits in 我的办件.
    browser.click(".header-account button[type='submit']").await;
    browser.wait_title("首页 - 网上政务服务大厅").await;
    sign_in(&browser, t).await;
    browser.goto(&t.url("/account/cases")).await;
    browser.wait_source("已完成 3/3").await;
    browser.click("a[href^='/applications/']").await;
    browser.wait_source("检查并提交").await;
    browser.click("a[href$='/check']").await;
    let html = browser.wait_source("检查您的申报").await;
    assert!(html.contains("广东省广州市天河区体育西路 1 号") && html.contains("身份证正面.png"));
    browser.screenshot("apply-check").await;
    browser.click("form[action$='/submit'] button").await;
    let html = browser.wait_source("申报已提交").await;
    let serial = html.split("id=\"serial\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let password = html.split("id=\"password\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    browser.screenshot("apply-done").await;
    // The form answered with its errors (422) on purpose; nothing else may fail.
    let errors: Vec<String> =
        browser.console_errors().await.into_iter().filter(|e| !e.contains("status of 422")).collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");

    // The progress page with them.
    browser.goto(&t.url("/progress")).await;
    browser.type_into("#p-serial", &serial).await;
    browser.type_into("#p-password", &password).await;
    browser.click("form[action='/progress'] button[type='submit']").await;
    let html = browser.wait_source("办理过程").await;
    assert!(html.contains(&a.hall.item.item.name));
    browser.screenshot("apply-progress").await;
    browser.quit().await;
    let ApplyHall { hall, .. } = a;
    hall.t.stop().await;
}

#[tokio::test]
async fn the_form_designer_previews_while_the_editor_types_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let a = ApplyHall::new().await;
    let t = a.t();
    let browser = Browser::start().await;
    browser.goto(&t.url("/login")).await;
    browser.type_into("#login", common::applying::EDITOR_PHONE).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
    browser.goto(&t.url(&format!("/admin/forms/{}", a.code))).await;
    browser.wait_source("家庭成员").await;
    let form = r#"{"sections": [{"key": "shop", "title": "经营信息", "fields": [
        {"key": "name", "label": "店铺名称", "type": "text", "required": true}]}]}"#;
    browser.type_into("#form-json", form).await;
    browser.wait_source("店铺名称").await;
    browser.type_into("#form-json", r#"{"sections": [{"key": "shop", "title": "经营信息", "fields": [{"key": "x", "label": "类别", "type": "dropdown"}]}]}"#).await;
    let html = browser.wait_source("类型“dropdown”不存在").await;
    assert!(html.contains("#form-json") || html.contains("form-json"), "still the same page");
    browser.screenshot("designer-live-preview").await;
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    browser.quit().await;
    let ApplyHall { hall, .. } = a;
    hall.t.stop().await;
}

#[tokio::test]
async fn a_person_gives_a_document_again_from_the_materials_library_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let a = ApplyHall::new().await;
    let t = a.t();
    let materials = vec![govhall_catalog::model::Material {
        name: "申请人居民身份证复印件".into(),
        required: true,
        formats: "pdf、jpg、png".into(),
        ..Default::default()
    }];
    let other = a.other_item(materials).await;

    // An earlier application for another item, made through the API, gave the ID card.
    let bearer = t.bearer(APPLICANT_PHONE).await;
    let api = |m: reqwest::Method, path: &str| t.client.request(m, t.url(path)).header("authorization", &bearer);
    let draft: serde_json::Value = api(reqwest::Method::POST, "/api/v1/applications")
        .json(&serde_json::json!({"item_code": other}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = draft["id"].as_str().unwrap();
    let answers = serde_json::json!({"answers": {"married": "否", "start": "2026-12-01", "end": "2026-12-31",
        "promise": true, "address": {"province": "440000", "city": "440100", "county": "440106", "street": "天河路 2 号"}}});
    api(reqwest::Method::POST, &format!("/api/v1/applications/{first}/answers")).json(&answers).send().await.unwrap();
    let res = api(reqwest::Method::POST, &format!("/api/v1/applications/{first}/materials/0/files?name=身份证.png"))
        .body(png(48))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    let res = api(reqwest::Method::POST, &format!("/api/v1/applications/{first}/submission")).send().await.unwrap();
    assert!(res.status().is_success());

    let browser = Browser::start().await;
    let dir = tempfile::tempdir().unwrap();
    let letter = dir.path().join("委托书.pdf");
    std::fs::write(&letter, pdf(4000)).unwrap();
    sign_in(&browser, t).await;
    let mut violations = Vec::new();

    // 我的材料: the ID card kept from that application; a letter added by hand.
    browser.click("a[href='/account/materials']").await;
    let html = browser.wait_source("个人材料库").await;
    assert!(
        html.contains("申请人居民身份证复印件") && html.contains("身份证明") && html.contains("办件提交"),
        "{html}"
    );
    browser.type_into("#new-title-1", "授权委托书").await;
    browser.type_into("#new-file-1", letter.to_str().unwrap()).await;
    browser.click("#library-me form[enctype='multipart/form-data'] button").await;
    let html = browser.wait_source("材料已保存到材料库").await;
    assert!(html.contains("授权委托书") && html.contains("自行上传"));
    violations.extend(common::browser::look(&browser, "library").await);

    // Applying for this item: its 身份证明 offers the ID card first, marked as of its kind.
    browser.goto(&t.url(&format!("/items/{}/apply", a.code))).await;
    browser.click("form[action$='/apply'] button[type='submit']").await;
    browser.wait_source("已完成 0/3").await;
    browser.click("a[href^='/applications/'][href$='/materials']").await;
    let html = browser.wait_source("从我的材料选择").await;
    let slot = html.split("id=\"slot-0\"").nth(1).unwrap().split("id=\"slot-1\"").next().unwrap();
    assert!(slot.contains("同类材料") && slot.contains("申请人居民身份证复印件"), "{slot}");
    violations.extend(common::browser::look(&browser, "library-choice").await);
    browser.click("#slot-0 .library-choice button[type='submit']").await;
    let html = browser.wait_source("已从材料库选用该材料").await;
    assert!(html.contains("取自材料库：申请人居民身份证复印件"), "{html}");
    violations.extend(common::browser::look(&browser, "library-reused").await);

    // The personal center's other new pages: tasks, statistics with their charts, messages.
    browser.click("a[href='/account/tasks']").await;
    browser.wait_source("我的待办").await;
    violations.extend(common::browser::look(&browser, "tasks").await);
    browser.click("a[href='/account/statistics']").await;
    let html = browser.wait_source("近 12 个月提交的办件").await;
    assert!(html.contains("<svg") && html.contains("办理中：1"), "{html}");
    violations.extend(common::browser::look(&browser, "statistics").await);
    browser.click("a[href='/account/messages']").await;
    browser.wait_source("我的消息").await;
    violations.extend(common::browser::look(&browser, "messages").await);

    // An enterprise's project dossier.
    let actor = govhall_audit::Actor::system("test");
    let enterprise = t
        .app
        .identity()
        .register_enterprise(&actor, a.hall.applicant, "91350100M000100Y43", "福州测试科技有限公司", "张三")
        .await
        .unwrap();
    let input = govhall_cases::projects::ProjectInput {
        name: "新建厂房项目".into(),
        scale_wan: "1200".into(),
        land_m2: "3000.5".into(),
        ..Default::default()
    };
    let project = t.app.cases().create_project(&actor, a.hall.applicant, enterprise, &input).await.unwrap();
    browser.goto(&t.url("/account/projects")).await;
    browser.wait_source("各阶段的项目、投资规模和用地面积").await;
    violations.extend(common::browser::look(&browser, "projects").await);
    browser.click(&format!("a[href='/account/projects/{project}']")).await;
    browser.wait_source("3000.5 平方米").await;
    violations.extend(common::browser::look(&browser, "project").await);
    assert!(violations.is_empty(), "axe: {violations:#?}");
    browser.quit().await;
    let ApplyHall { hall, .. } = a;
    hall.t.stop().await;
}

#[tokio::test]
async fn an_enterprise_agent_reuses_the_business_licence_and_follows_the_project_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    const AGENT_PHONE: &str = "13700000881";
    let a = ApplyHall::new().await;
    let t = a.t();
    let licence = |name: &str| govhall_catalog::model::Material {
        name: name.into(),
        required: true,
        formats: "pdf、jpg、png".into(),
        ..Default::default()
    };
    // Item A asks for 营业执照副本, item B (a.code) for 企业法人营业执照: two names, one kind.
    let item_a = a.other_item(vec![licence("营业执照副本")]).await;
    let mut content = a.hall.item.content.clone();
    content.form = Some(serde_json::from_value(common::applying::test_form()).unwrap());
    content.materials = vec![licence("企业法人营业执照")];
    content.eligibility = None;
    a.publish(&content).await;
    let identity = t.app.identity();
    let actor = govhall_audit::Actor::system("test");
    let agent = t.person(AGENT_PHONE, &common::test_id_number(81)).await;
    let enterprise = identity
        .register_enterprise(&actor, a.hall.applicant, "91350100M000100Y43", "福州测试科技有限公司", "张三")
        .await
        .unwrap();
    identity.invite_member(&actor, enterprise, a.hall.applicant, AGENT_PHONE, "agent").await.unwrap();
    identity.accept_invitation(&actor, enterprise, agent).await.unwrap();

    // The agent applied for item A for the enterprise (through the app), giving the licence.
    let api = common::space::Api { t, bearer: t.bearer(AGENT_PHONE).await };
    let first = api.draft(&item_a, Some(&enterprise.to_string())).await;
    api.upload(&first, 0, "营业执照.png", png(48)).await;
    api.submit(&first).await;

    let browser = Browser::start().await;
    browser.goto(&t.url("/login")).await;
    browser.type_into("#login", AGENT_PHONE).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
    let mut violations = Vec::new();

    // Item B for the enterprise: its licence is offered from the enterprise's library.
    browser.goto(&t.url(&format!("/items/{}/apply", a.code))).await;
    browser.click(&format!("input[name='enterprise'][value='{enterprise}']")).await;
    browser.click("form[action$='/apply'] button[type='submit']").await;
    browser.wait_source("已完成 0/").await;
    browser.click("a[href^='/applications/'][href$='/materials']").await;
    let html = browser.wait_source("从我的材料选择").await;
    let slot = html.split("id=\"slot-0\"").nth(1).unwrap();
    assert!(slot.contains("同类材料") && slot.contains("营业执照副本"), "{slot}");
    browser.click("#slot-0 .library-choice button[type='submit']").await;
    let html = browser.wait_source("已从材料库选用该材料").await;
    assert!(html.contains("取自材料库：营业执照副本"), "{html}");
    violations.extend(common::browser::look(&browser, "enterprise-reuse").await);
    // The answers through the app, then checked and submitted on the page.
    let (_, drafts) = api.get("/api/v1/applications").await;
    let second = drafts.as_array().unwrap().iter().find(|d| d["item_code"] == a.code.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = api
        .json(reqwest::Method::POST, &format!("/api/v1/applications/{second}/answers"), common::space::answers())
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    browser.goto(&t.url(&format!("/applications/{second}/check"))).await;
    browser.wait_source("检查您的申报").await;
    browser.click("form[action$='/submit'] button").await;
    let html = browser.wait_source("申报已提交").await;
    let serial = html.split("id=\"serial\">").nth(1).unwrap().split('<').next().unwrap().to_owned();

    // The project dossier: made on the page, the case put into its first stage.
    browser.goto(&t.url("/account/projects")).await;
    browser.wait_source("新建项目档案").await;
    browser
        .run("document.querySelector(\"form[action='/account/projects']\").closest('details').open = true; return 1")
        .await;
    browser.type_into("#p-name-1", "新建厂房项目").await;
    browser.type_into("#p-scale-1", "1200").await;
    browser.click("form[action='/account/projects'] button[type='submit']").await;
    browser.wait_source("加入").await;
    browser.run("document.querySelectorAll('details').forEach(d => d.open = true); return 1").await;
    browser.type_into("#c-serial", &serial).await;
    browser.click("form[action$='/cases'] button[type='submit']").await;
    let html = browser.wait_source(&format!("{serial}</")).await;
    assert!(html.contains("新建厂房项目") && html.contains(&a.hall.item.item.name), "{html}");
    violations.extend(common::browser::look(&browser, "enterprise-project").await);

    // The enterprise's statistics and its space's home.
    browser.goto(&t.url(&format!("/account/statistics?enterprise={enterprise}"))).await;
    let html = browser.wait_source("近 12 个月提交的办件").await;
    assert!(html.contains("<svg") && html.contains("办理中：2"), "{html}");
    violations.extend(common::browser::look(&browser, "enterprise-statistics").await);
    browser.goto(&t.url("/account/home")).await;
    browser.wait_source("我的空间").await;
    browser.click(&format!("a[href='/account/home?enterprise={enterprise}']")).await;
    let html = browser.wait_source("企业空间：福州测试科技有限公司").await;
    assert!(html.contains("共 2 件") && html.contains("新建厂房项目") && html.contains(&serial), "{html}");
    violations.extend(common::browser::look(&browser, "enterprise-home").await);

    // The personal center's other new pages: payments, the address book, the account's number.
    browser.goto(&t.url("/account/payments")).await;
    browser.wait_source("缴费记录").await;
    violations.extend(common::browser::look(&browser, "payments-history").await);
    browser.goto(&t.url("/account/addresses")).await;
    browser.wait_source("新增地址").await;
    browser.type_into("#recipient", "李四").await;
    browser.type_into("#phone", "13900000777").await;
    browser.set_value("select[name='province']", "370000").await;
    browser.click("button[value='refresh']").await;
    browser.wait_source("济南市").await;
    browser.set_value("select[name='city']", "370100").await;
    browser.click("button[value='refresh']").await;
    browser.wait_source("历下区").await;
    browser.set_value("select[name='county']", "370102").await;
    browser.type_into("input[name='street']", "经十路 100 号").await;
    browser.click("button[value='save']").await;
    let html = browser.wait_source("地址已保存").await;
    assert!(html.contains("山东省济南市历下区经十路 100 号") && html.contains("139****0777"), "{html}");
    violations.extend(common::browser::look(&browser, "addresses").await);
    browser.goto(&t.url("/account")).await;
    browser.wait_source("更换手机号码").await;
    violations.extend(common::browser::look(&browser, "account-phone").await);
    assert!(violations.is_empty(), "axe: {violations:#?}");
    browser.quit().await;
    let ApplyHall { hall, .. } = a;
    hall.t.stop().await;
}
