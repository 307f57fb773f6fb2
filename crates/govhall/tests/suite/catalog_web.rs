//! The catalogue over HTTP: the navigations lead to exactly the items with a tag, the guide
//! shows its materials, the API filters and pages, and editing goes through review with each
//! department editing only its own items.

use crate::common;

use common::{PASSWORD, TestApp};
use govhall_audit::Actor;
use govhall_catalog::import;
use govhall_catalog::store::{self, ItemFilter};
use govhall_catalog::taxonomy;
use govhall_identity::rbac::Grantee;
use govhall_identity::{DepartmentId, Permission, Scope};
use reqwest::StatusCode;
use serde_json::Value;

const CODE: &str = "11440000006939756B2440101007000";

/// A hall with the first `lines` items of the Guangdong catalogue.
async fn hall(lines: usize) -> TestApp {
    let t = TestApp::spawn().await;
    let text: String = import::GD_BUNDLED.lines().take(lines).collect::<Vec<_>>().join("\n");
    let report = import::import_gd(t.app.db(), &text, |_, _| {}).await.unwrap();
    assert_eq!(report.created, lines);
    t.until_indexed(lines as u64).await;
    t
}

#[tokio::test]
async fn the_navigations_lead_to_exactly_the_items_with_a_tag_and_to_their_guides() {
    let t = hall(400).await;
    let html = t.get("/personal?nav=theme").await.text().await.unwrap();
    let tags = taxonomy::tags(t.app.db(), "theme", None).await.unwrap();
    let culture = tags.iter().find(|tag| tag.name == "文化体育").unwrap();
    assert!(html.contains(&format!("/tags/{}", culture.id)) && html.contains("文化体育"));
    // The list pages through exactly the items with the tag.
    let filter = ItemFilter { tag: Some(culture.id), ..ItemFilter::default() };
    let (total, expected) = store::list(t.app.db(), &filter, 1000, 0).await.unwrap();
    assert!(total > 20, "{total}");
    let mut listed = Vec::new();
    let mut offset = 0;
    while offset < total {
        let page = t.get(&format!("/tags/{}?offset={offset}", culture.id)).await.text().await.unwrap();
        assert!(page.contains(&format!("共 {total} 项")));
        listed.extend(page.split("<a href=\"/items/").skip(1).map(|s| s.split('"').next().unwrap().to_owned()));
        offset += 20;
    }
    let mut expected: Vec<String> = expected.into_iter().map(|i| i.code).collect();
    expected.sort();
    listed.sort();
    assert_eq!(listed, expected);
    // A filter narrows it; a nonsense filter is ignored, not an error.
    let page = t.get(&format!("/tags/{}?type=行政许可&depth=9&level=x", culture.id)).await;
    assert_eq!(page.status(), StatusCode::OK);

    let guide = t.get(&format!("/items/{CODE}")).await.text().await.unwrap();
    assert!(guide.contains("临时价格干预范围事项提价申报") && guide.contains("提价申报申请报告"));
    assert!(guide.contains("30个工作日") && guide.contains("7个工作日") && guide.contains("不收费"));
    assert!(guide.contains("class=\"materials\""));
    let print = t.get(&format!("/items/{CODE}/print")).await.text().await.unwrap();
    assert!(print.contains("提价申报申请报告") && !print.contains("site-header"), "the print version is bare");
    assert_eq!(t.get("/items/NO-SUCH").await.status(), StatusCode::NOT_FOUND);
    // 企业办事 counts only what enterprises can apply for.
    let enterprise = t.get("/enterprise?nav=theme").await.text().await.unwrap();
    let for_enterprises = taxonomy::tags(t.app.db(), "theme", Some("enterprise")).await.unwrap();
    let culture_e = for_enterprises.iter().find(|tag| tag.name == "文化体育").unwrap();
    assert!(culture_e.items < culture.items, "some culture items are for people only");
    assert!(enterprise.contains(&format!(
        "/tags/{}?for=enterprise\">文化体育 <span class=\"count\">{}<",
        culture.id, culture_e.items
    )));
    let list = t.get(&format!("/tags/{}?for=enterprise", culture.id)).await.text().await.unwrap();
    assert!(list.contains(&format!("共 {} 项", culture_e.items)));

    // The search box finds by name or everyday phrase, and hostile input is only text (more in
    // search_web.rs).
    let found = t.get("/search?q=临时价格").await.text().await.unwrap();
    assert!(found.contains(&format!("/items/{CODE}")) && found.contains("搜索：临时价格"));
    for hostile in ["%27%20OR%201=1--", "%3Cscript%3Ealert(1)%3C/script%3E", "%25%25%25", ""] {
        let res = t.get(&format!("/search?q={hostile}")).await;
        assert_eq!(res.status(), StatusCode::OK, "{hostile}");
        let html = res.text().await.unwrap();
        assert!(!html.contains("<script>alert"), "escaped");
    }
    let departments = t.get("/departments").await.text().await.unwrap();
    assert!(departments.contains("广东省发展和改革委员会"));
    t.stop().await;
}

#[tokio::test]
async fn the_api_filters_pages_and_says_what_is_wrong() {
    let t = hall(200).await;
    let api = |q: &str| {
        let url = t.url(&format!("/api/v1/items{q}"));
        let client = t.client.clone();
        async move { client.get(url).send().await.unwrap() }
    };
    let all: Value = api("?limit=5").await.json().await.unwrap();
    assert_eq!(all["total"], 200);
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    let permits: Value = api("?type=行政许可&limit=100").await.json().await.unwrap();
    assert!(permits["items"].as_array().unwrap().iter().all(|i| i["type_text"] == "行政许可"));
    for bad in [
        "?audience=robot",
        "?region=44",
        "?depth=7",
        "?depth=abc",
        "?limit=1000",
        "?limit=x",
        "?level=zzz",
        "?offset=-1",
        "?tag=x",
    ] {
        let res = api(bad).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid_filter", "{bad}");
    }
    let guide: Value = t.get(&format!("/api/v1/items/{CODE}")).await.json().await.unwrap();
    assert_eq!(guide["content"]["materials"][0]["name"], "提价申报申请报告");
    assert_eq!(guide["content"]["statutory_limit"]["amount"], 30);
    let res = t.get("/api/v1/items/NO-SUCH").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "not_found");
    assert!(body["message"].as_str().unwrap().contains("NO-SUCH"), "{body}");
    let taxonomies: Value = t.get("/api/v1/taxonomies").await.json().await.unwrap();
    assert_eq!(taxonomies.as_array().unwrap().len(), 6);
    let departments: Value = t.get("/api/v1/departments").await.json().await.unwrap();
    assert!(departments.as_array().unwrap().iter().any(|d| d["name"] == "广东省发展和改革委员会"));
    t.stop().await;
}

#[tokio::test]
async fn staff_edit_their_departments_items_and_the_guide_changes_only_when_a_reviewer_publishes() {
    let t = hall(60).await;
    let identity = t.app.identity();
    let item = store::summary(t.app.db(), CODE).await.unwrap().unwrap();
    let (_, all) = store::list(t.app.db(), &ItemFilter::default(), 100, 0).await.unwrap();
    let other = all.into_iter().find(|i| i.department_id != item.department_id).unwrap();
    let department = DepartmentId::from_uuid(item.department_id);
    let editor = t.staff("13600000021", department).await;
    let reviewer = t.staff("13600000022", department).await;
    let actor = Actor::system("test");
    let edit = identity.save_role(&actor, "item_editor", "事项编辑", &[Permission::ItemEdit]).await.unwrap();
    let review = identity.save_role(&actor, "item_reviewer", "事项审核", &[Permission::ItemPublish]).await.unwrap();
    identity.grant(&actor, edit, Grantee::Account(editor), Scope::Department).await.unwrap();
    identity.grant(&actor, review, Grantee::Account(reviewer), Scope::Department).await.unwrap();
    let e = t.sign_in("13600000021", PASSWORD).await;
    let r = t.sign_in("13600000022", PASSWORD).await;

    let page = e.get(&format!("/admin/items/{CODE}")).await.text().await.unwrap();
    assert!(page.contains("编辑办事指南") && page.contains("提价申报申请报告|必要"));
    assert_eq!(e.get(&format!("/admin/items/{}", other.code)).await.status(), StatusCode::FORBIDDEN);
    let form = |name: &'static str, materials: &'static str| {
        vec![
            ("name", name),
            ("type_text", "行政许可"),
            ("level", "province"),
            ("audience", "both"),
            ("materials", materials),
            ("statutory_amount", "30"),
            ("statutory_unit", "working_days"),
            ("promised_amount", "5"),
            ("promised_unit", "working_days"),
            ("fees", ""),
            ("online_depth", "4"),
            ("online_apply", "on"),
            ("visits", "1"),
            ("tag", "theme:其他"),
        ]
    };
    let res = e.post(&format!("/admin/items/{}", other.code), &form("越权", "材料")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "another department's item");
    let res = e.post(&format!("/admin/items/{CODE}"), &form("提价申报", "申请报告|可能")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("材料第 1 行") && html.contains("value=\"提价申报\""), "the error, and what was typed");
    let res = e
        .post(
            &format!("/admin/items/{CODE}"),
            &form("提价申报（修订）", "提价申报申请报告|必要|原件1份\n价格测算表|非必要"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        !t.get(&format!("/items/{CODE}")).await.text().await.unwrap().contains("价格测算表"),
        "a draft is not public"
    );
    assert_eq!(
        r.post(&format!("/admin/items/{CODE}/approve"), &[]).await.status(),
        StatusCode::CONFLICT,
        "not in review"
    );
    assert_eq!(e.post(&format!("/admin/items/{CODE}/submit"), &[]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(e.post(&format!("/admin/items/{CODE}/approve"), &[]).await.status(), StatusCode::FORBIDDEN);
    // Even holding both rights, nobody reviews their own edit.
    identity.grant(&actor, review, Grantee::Account(editor), Scope::Department).await.unwrap();
    let page = e.get(&format!("/admin/items/{CODE}")).await.text().await.unwrap();
    assert!(page.contains("需由其他审核人员审核") && !page.contains("审核通过并发布"));
    assert_eq!(e.post(&format!("/admin/items/{CODE}/approve"), &[]).await.status(), StatusCode::CONFLICT);
    let queue = r.get("/admin/items").await.text().await.unwrap();
    assert!(queue.contains("待审核") && queue.contains("第2版"));
    assert_eq!(r.post(&format!("/admin/items/{CODE}/approve"), &[]).await.status(), StatusCode::SEE_OTHER);
    let guide = t.get(&format!("/items/{CODE}")).await.text().await.unwrap();
    assert!(guide.contains("提价申报（修订）") && guide.contains("价格测算表") && guide.contains("5个工作日"));
    assert!(guide.contains("第 2 版"));
    let audit = govhall_audit::search(
        t.app.db(),
        &govhall_audit::Filter { target_id: Some(CODE.into()), ..Default::default() },
        10,
        0,
    )
    .await
    .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["item.publish", "item.submit", "item.save_draft"]);
    t.stop().await;
}

#[tokio::test]
async fn an_edited_workbook_is_previewed_then_sent_for_review() {
    let t = hall(30).await;
    let identity = t.app.identity();
    let item = store::summary(t.app.db(), CODE).await.unwrap().unwrap();
    let editor = t.staff("13600000031", DepartmentId::from_uuid(item.department_id)).await;
    let actor = Actor::system("test");
    let edit = identity.save_role(&actor, "item_editor", "事项编辑", &[Permission::ItemEdit]).await.unwrap();
    identity.grant(&actor, edit, Grantee::Account(editor), Scope::Department).await.unwrap();
    let e = t.sign_in("13600000031", PASSWORD).await;

    let res = e.get("/admin/items/export.xlsx").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    assert!(res.bytes().await.unwrap().starts_with(b"PK"), "an xlsx is a zip");

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "事项编码").unwrap().write_string(0, 1, "事项名称").unwrap();
    sheet.write_string(1, 0, CODE).unwrap().write_string(1, 1, "提价申报（表格修订）").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let upload = |csrf: String, bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name("edited.xlsx"));
        e.client
            .post(t.url("/admin/items/import"))
            .header("cookie", &e.cookie)
            .header("origin", t.app.url())
            .multipart(form)
            .send()
    };
    assert_eq!(upload("forged".into(), bytes.clone()).await.unwrap().status(), StatusCode::FORBIDDEN);
    let res = upload(e.csrf.clone(), b"not a workbook".to_vec()).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("不是有效的 Excel"));
    let res = upload(e.csrf.clone(), bytes).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("提价申报（表格修订）") && html.contains("确认导入 1 个事项"), "{html}");
    let id = html.split("/admin/items/import/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let res = e.post(&format!("/admin/items/import/{id}/apply"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(e.get(&location).await.text().await.unwrap().contains("已导入 1 个事项的修改"));
    assert_eq!(e.post(&format!("/admin/items/import/{id}/apply"), &[]).await.status(), StatusCode::NOT_FOUND, "once");
    let page = e.get(&format!("/admin/items/{CODE}")).await.text().await.unwrap();
    assert!(page.contains("待审核"));
    t.stop().await;
}
