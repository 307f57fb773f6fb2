//! 好差评 as people meet it, in headless Chromium: the applicant rates a finished case from its
//! page (a 差评 with a reason), the department's handler answers the task after a call back, the
//! applicant reads the answer and rates it, a supervisor reads the statistics, and the hall
//! terminal's page; a complaint from the guide answered, published and followed — each at
//! 1366 px and 390 px, checked with axe-core. Screenshots go to
//! target/screenshots/.

use crate::common;

use common::browser::{Browser, look};
use common::rating::{finished, hall, invited};
use common::{APPLICANT_PHONE, PASSWORD, SUPERVISOR_PHONE, TestApp, WORKER_PHONE};

async fn sign_in(browser: &Browser, t: &TestApp, phone: &str) {
    browser.goto(&t.url("/login")).await;
    browser.type_into("#login", phone).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
}

async fn sign_out(browser: &Browser) {
    browser.click(".header-account button[type='submit']").await;
    browser.wait_title("首页 - 网上政务服务大厅").await;
}

#[tokio::test]
async fn a_person_rates_a_finished_case_and_the_department_answers_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let h = hall(|_| {}).await;
    let t = &h.t;
    let (_, serial) = finished(&h, "browser-rate").await;
    invited(&h, &serial).await;
    let browser = Browser::start().await;
    let mut violations = Vec::new();

    // The case page asks for a rating; the form takes a 差评 with a reason and a comment.
    sign_in(&browser, t, APPLICANT_PHONE).await;
    browser.goto(&t.url(&format!("/account/cases/{serial}"))).await;
    browser.wait_source("办件已办结，欢迎评价").await;
    browser.click(&format!("a[href='/account/cases/{serial}/evaluation']")).await;
    browser.wait_source("您对这次办事满意吗？").await;
    violations.extend(look(&browser, "evaluation-form").await);
    browser.click("input[name='overall'][value='2']").await;
    browser.click("input[name='efficiency'][value='1']").await;
    browser.click("input[name='reason'][value='many_trips']").await;
    browser.type_into("#comment", "材料清单没写全，跑了三次。").await;
    browser.click("form[action$='/evaluation'] button[type='submit']").await;
    let html = browser.wait_source("感谢您的评价").await;
    assert!(html.contains("不满意") && html.contains("多次跑动") && html.contains("将在"), "{html}");
    violations.extend(look(&browser, "evaluation-given").await);
    sign_out(&browser).await;

    // The department's handler answers after calling back.
    sign_in(&browser, t, WORKER_PHONE).await;
    browser.goto(&t.url("/admin/evaluations")).await;
    browser.wait_source("差评整改任务列表").await;
    violations.extend(look(&browser, "evaluation-tasks").await);
    browser.click("a[href^='/admin/evaluations/tasks/']").await;
    browser.wait_source("回访并回复").await;
    browser.click("input[name='called_back']").await;
    browser.type_into("#answer", "已电话回访，办事指南的材料清单已补全，今后一次告知。").await;
    browser.click("form textarea#answer ~ button, form:has(#answer) button[type='submit']").await;
    browser.wait_source("已回复，申请人会收到通知").await;
    violations.extend(look(&browser, "evaluation-task").await);
    sign_out(&browser).await;

    // The applicant reads the answer and rates it.
    sign_in(&browser, t, APPLICANT_PHONE).await;
    browser.goto(&t.url(&format!("/account/cases/{serial}/evaluation"))).await;
    browser.wait_source("您对整改情况是否满意").await;
    browser.click("input[name='level'][value='4']").await;
    browser.click("form[action$='/rectification'] button[type='submit']").await;
    let html = browser.wait_source("已收到您对整改情况的评价").await;
    assert!(html.contains("您对整改情况的评价：<strong>满意</strong>"), "{html}");
    violations.extend(look(&browser, "evaluation-answered").await);
    sign_out(&browser).await;

    // A supervisor's statistics; the hall terminal's page.
    sign_in(&browser, t, SUPERVISOR_PHONE).await;
    browser.goto(&t.url("/admin/evaluations/statistics")).await;
    let html = browser.wait_source("好差评统计").await;
    assert!(html.contains("<svg") && html.contains("0.0%"), "one 差评: no one satisfied yet");
    violations.extend(look(&browser, "evaluation-statistics").await);
    sign_out(&browser).await;
    browser.goto(&t.url("/kiosk/evaluate")).await;
    browser.wait_source("请输入办件回执上的申办编号和查询密码").await;
    violations.extend(look(&browser, "evaluation-kiosk").await);
    assert!(violations.is_empty(), "axe: {violations:#?}");
    browser.quit().await;
    h.t.stop().await;
}

#[tokio::test]
async fn a_person_complains_and_staff_answer_and_publish_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let h = hall(|_| {}).await;
    let t = &h.t;
    let identity = t.app.identity();
    let actor = govhall_audit::Actor::system("test");
    let handle = identity
        .save_role(&actor, "complaint_handler", "办理投诉", &[govhall_identity::Permission::ComplaintHandle])
        .await
        .unwrap();
    let grantee = govhall_identity::rbac::Grantee::Account(h.worker);
    identity.grant(&actor, handle, grantee, govhall_identity::Scope::Department).await.unwrap();
    let browser = Browser::start().await;
    let mut violations = Vec::new();

    // From the guide, signed in: the complaint form, then the number and password.
    sign_in(&browser, t, APPLICANT_PHONE).await;
    browser.goto(&t.url(&format!("/items/{}", h.item.item.code))).await;
    browser.wait_source("投诉该事项").await;
    browser.click("a[href^='/complaints/new?subject=item']").await;
    browser.wait_source("投诉类别").await;
    violations.extend(look(&browser, "complaint-form").await);
    browser.set_value("#category", "办事效率").await;
    browser.type_into("#body", "网上申报后五个工作日没有人预审，电话也打不通。").await;
    browser.click("input[name='publishable']").await;
    let evidence = std::env::temp_dir().join(format!("govhall-evidence-{}.pdf", uuid::Uuid::now_v7()));
    std::fs::write(&evidence, crate::common::applying::pdf(800)).unwrap();
    browser.choose_file("#complaint-files", &evidence).await;
    browser.click("button[value='submit']").await;
    let html = browser.wait_source("投诉已提交").await;
    let _ = std::fs::remove_file(&evidence);
    assert!(html.contains("complaint-password"), "{html}");
    violations.extend(look(&browser, "complaint-made").await);
    sign_out(&browser).await;

    // The department accepts, answers and publishes.
    sign_in(&browser, t, WORKER_PHONE).await;
    browser.goto(&t.url("/admin/complaints")).await;
    browser.wait_source("投诉列表").await;
    violations.extend(look(&browser, "complaints-admin").await);
    browser.click("a[href^='/admin/complaints/']:not([href$='routes'])").await;
    let html = browser.wait_source("不予受理的理由").await;
    assert!(html.contains("投诉人提供的附件") && html.contains("govhall-evidence-"), "the file chosen in the browser");
    browser.click("button[value='accept']").await;
    browser.wait_source("已受理").await;
    browser.type_into("#answer-text", "已安排专人预审，今天内联系您补正材料。").await;
    browser.click("button[value='answer']").await;
    browser.wait_source("已答复，投诉人会收到通知").await;
    violations.extend(look(&browser, "complaint-admin").await);
    browser.click("form[action$='/publish'] button[type='submit']").await;
    browser.wait_source("已公开").await;
    sign_out(&browser).await;

    // The published list; the applicant's 我的投诉.
    browser.goto(&t.url("/complaints/published")).await;
    let html = browser.wait_source("投诉答复公开").await;
    assert!(html.contains("已安排专人预审"), "{html}");
    violations.extend(look(&browser, "complaints-published").await);
    sign_in(&browser, t, APPLICANT_PHONE).await;
    browser.goto(&t.url("/account/complaints")).await;
    browser.wait_source("我的投诉列表").await;
    browser.click("a[href^='/account/complaints/TS']").await;
    browser.wait_source("您对答复是否满意").await;
    violations.extend(look(&browser, "complaint").await);
    assert!(violations.is_empty(), "axe: {violations:#?}");
    browser.quit().await;
    h.t.stop().await;
}
