//! The catalogue on a real database: the bundled imports (exact counts, idempotent), the
//! navigations, versioning with review, and who may edit what.

#![expect(clippy::unwrap_used, reason = "test helpers unwrap: a failure there is the test failing")]

use govhall_audit::Actor;
use govhall_catalog::CatalogError;
use govhall_catalog::editing;
use govhall_catalog::import;
use govhall_catalog::store::{self, ItemFilter};
use govhall_catalog::taxonomy;
use govhall_db::testing::TestDatabase;
use govhall_db::{Db, run, sqlx};
use govhall_identity::{Access, DepartmentId, Permission, Scope};
use std::collections::BTreeMap;

async fn catalogue() -> (TestDatabase, Db) {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    govhall_identity::regions::ensure_imported(&db).await.unwrap();
    taxonomy::ensure_defaults(&db).await.unwrap();
    (t, db)
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    let mut conn = db.conn().await.unwrap();
    run!(conn, |c| sqlx::query_scalar(sql).fetch_one(&mut *c).await).unwrap()
}

fn editor(department: uuid::Uuid, permissions: &[Permission]) -> Access {
    Access {
        account: None,
        department: Some(DepartmentId::from_uuid(department)),
        region: None,
        subtree: Default::default(),
        grants: permissions.iter().map(|p| (*p, [Scope::Department].into())).collect::<BTreeMap<_, _>>(),
    }
}

#[tokio::test]
async fn the_bundled_catalogues_import_completely_once_and_their_navigations_list_exactly_their_items() {
    let (t, db) = catalogue().await;
    let mut seen = Vec::new();
    let gd = import::import_gd(&db, import::GD_BUNDLED, |done, total| seen.push((done, total))).await.unwrap();
    assert_eq!((gd.read, gd.created, gd.updated, gd.unchanged, gd.rejected.len()), (2262, 2262, 0, 0, 0));
    assert_eq!(seen.last(), Some(&(2262, 2262)), "progress reaches the end");
    let sc = import::import_sc(&db, import::SC_BUNDLED, |_, _| {}).await.unwrap();
    assert_eq!((sc.created, sc.rejected.len()), (1135, 0));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM items WHERE status = 'published'").await, 3397);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM departments").await, 177 + 34);

    // Twice changes nothing.
    let again = import::import_gd(&db, import::GD_BUNDLED, |_, _| {}).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 2262));
    assert_eq!(count(&db, "SELECT COUNT(*) FROM item_versions").await, 3397);

    // 结婚登记 lists exactly the items whose source themes are 结婚 or 婚姻登记.
    let expected =
        import::GD_BUNDLED.lines().filter(|l| l.contains("\"结婚\"") || l.contains("\"婚姻登记\"")).count() as i64;
    let tags = taxonomy::tags(&db, "life_event", None).await.unwrap();
    let marriage = tags.iter().find(|t| t.name == "结婚登记").unwrap();
    assert_eq!(marriage.items, expected);
    let filter = ItemFilter { tag: Some(marriage.id), ..ItemFilter::default() };
    let (total, items) = store::list(&db, &filter, 100, 0).await.unwrap();
    assert_eq!((total, items.len() as i64), (expected, expected));
    // Filters and paging.
    let filter = ItemFilter { region_prefix: Some("5116".into()), ..ItemFilter::default() };
    let (all, page) = store::list(&db, &filter, 20, 20).await.unwrap();
    assert_eq!((all, page.len()), (1135, 20));
    let guide = store::guide(&db, "11440000006939756B2440101007000").await.unwrap().unwrap();
    assert_eq!(guide.item.department, "广东省发展和改革委员会");
    assert_eq!(guide.content.promised_limit.label(), "7个工作日");
    t.cleanup().await;
}

#[tokio::test]
async fn an_edit_waits_for_review_and_staff_edit_only_their_departments_items() {
    let (t, db) = catalogue().await;
    let lines: String = import::GD_BUNDLED.lines().take(40).collect::<Vec<_>>().join("\n");
    import::import_gd(&db, &lines, |_, _| {}).await.unwrap();
    let code = "11440000006939756B2440101007000";
    let item = store::summary(&db, code).await.unwrap().unwrap();
    let (_, all) = store::list(&db, &ItemFilter::default(), 100, 0).await.unwrap();
    let other = all.into_iter().find(|i| i.department_id != item.department_id).unwrap();
    let staff = editor(item.department_id, &[Permission::ItemEdit]);
    let reviewer = editor(item.department_id, &[Permission::ItemPublish]);
    let actor = Actor::system("测试");

    let mut content = store::guide(&db, code).await.unwrap().unwrap().content.clone();
    content.name = "临时价格干预提价申报（新）".into();
    let refused = editing::save_draft(&db, &actor, &staff, &other.code, &content, "").await;
    assert!(matches!(refused, Err(CatalogError::Forbidden)), "another department's item");
    let refused = editing::save_draft(&db, &actor, &reviewer, code, &content, "").await;
    assert!(matches!(refused, Err(CatalogError::Forbidden)), "a reviewer does not edit");
    let mut bad = content.clone();
    bad.online_depth = 9;
    let refused = editing::save_draft(&db, &actor, &staff, code, &bad, "").await.unwrap_err();
    assert!(refused.to_string().contains("深度"), "{refused}");
    // The catalogue's own rules, whoever saves (the web form, the Excel import, the API).
    let mut bad = content.clone();
    bad.promised_limit =
        govhall_catalog::model::TimeLimit { amount: 3651, unit: govhall_catalog::model::LimitUnit::WorkingDays };
    let refused = editing::save_draft(&db, &actor, &staff, code, &bad, "").await.unwrap_err();
    assert!(refused.to_string().contains("承诺办结时限应为 1 到 3650"), "{refused}");
    bad.promised_limit.amount = 0;
    bad.promised_limit.unit = govhall_catalog::model::LimitUnit::NaturalDays;
    assert!(editing::save_draft(&db, &actor, &staff, code, &bad, "").await.is_err(), "0 natural days");
    let mut bad = content.clone();
    bad.visits = 11;
    let refused = editing::save_draft(&db, &actor, &staff, code, &bad, "").await.unwrap_err();
    assert!(refused.to_string().contains("最多跑动次数应为 0 到 10"), "{refused}");

    assert_eq!(editing::save_draft(&db, &actor, &staff, code, &content, "改名").await.unwrap(), 2);
    let published = store::guide(&db, code).await.unwrap().unwrap();
    assert_eq!(published.content.name, "临时价格干预范围事项提价申报", "not before review");
    assert!(editing::approve(&db, &actor, &reviewer, code).await.is_err(), "a draft is not in review");
    editing::submit(&db, &actor, &staff, code).await.unwrap();
    assert!(editing::save_draft(&db, &actor, &staff, code, &content, "").await.is_err(), "frozen in review");
    assert!(editing::approve(&db, &actor, &staff, code).await.is_err(), "the editor does not publish");
    editing::send_back(&db, &actor, &reviewer, code, "名称请与权责清单一致").await.unwrap();
    let (_, versions) = editing::versions(&db, &staff, code).await.unwrap();
    assert_eq!((versions[0].status.as_str(), versions[0].review_comment.as_str()), ("draft", "名称请与权责清单一致"));
    editing::submit(&db, &actor, &staff, code).await.unwrap();
    assert_eq!(editing::review_queue(&db, &reviewer).await.unwrap().len(), 1);
    assert_eq!(editing::approve(&db, &actor, &reviewer, code).await.unwrap(), 2);
    let guide = store::guide(&db, code).await.unwrap().unwrap();
    assert_eq!((guide.version, guide.content.name.as_str()), (2, "临时价格干预提价申报（新）"));
    let (_, versions) = editing::versions(&db, &staff, code).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.status.as_str()).collect::<Vec<_>>(), ["published", "superseded"]);
    assert_eq!(versions[1].content.name, "临时价格干预范围事项提价申报", "the old version never changed");
    t.cleanup().await;
}

/// A workbook with only the columns the rows use (an editor may delete the others).
fn workbook(rows: &[&[(&str, &str)]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let mut titles: Vec<&str> = Vec::new();
    for (title, _) in rows.iter().flat_map(|r| r.iter()) {
        if !titles.contains(title) {
            titles.push(title);
        }
    }
    for (col, title) in (0u16..).zip(&titles) {
        sheet.write_string(0, col, *title).unwrap();
    }
    for (row, cells) in (1u32..).zip(rows) {
        for (title, value) in cells.iter() {
            let col = titles.iter().position(|c| c == title).unwrap() as u16;
            sheet.write_string(row, col, *value).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn the_excel_export_reads_back_unchanged_and_edits_become_drafts_for_review() {
    use govhall_catalog::sheet;
    let (t, db) = catalogue().await;
    let lines: String = import::GD_BUNDLED.lines().take(40).collect::<Vec<_>>().join("\n");
    import::import_gd(&db, &lines, |_, _| {}).await.unwrap();
    let code = "11440000006939756B2440101007000";
    let item = store::summary(&db, code).await.unwrap().unwrap();
    let (_, all) = store::list(&db, &ItemFilter::default(), 100, 0).await.unwrap();
    let other = all.iter().find(|i| i.department_id != item.department_id).unwrap();
    let everyone = Access { grants: [(Permission::ItemEdit, [Scope::All].into())].into(), ..Access::default() };

    // What was exported reads back as no change at all.
    let exported = sheet::export(&db, &everyone).await.unwrap();
    let rows = sheet::read(&exported).unwrap();
    assert_eq!(rows.len(), 40);
    assert!(sheet::preview(&db, &everyone, &rows).await.unwrap().is_empty(), "a round trip changes nothing");

    let staff = editor(item.department_id, &[Permission::ItemEdit]);
    let edited = workbook(&[
        &[
            ("事项编码", code),
            ("事项名称", "提价申报"),
            ("申请材料", "提价申报申请报告|必要\n价格测算表|非必要"),
            ("承诺办结时限", "5(工作日)"),
        ],
        &[("事项编码", "NO-SUCH"), ("事项名称", "x")],
        &[("事项编码", other.code.as_str()), ("事项名称", "越权")],
        &[("事项编码", code), ("事项名称", "重复")],
    ]);
    let rows = sheet::read(&edited).unwrap();
    let preview = sheet::preview(&db, &staff, &rows).await.unwrap();
    let problems: Vec<Option<&str>> = preview.iter().map(|(c, _)| c.problem.as_deref()).collect();
    assert_eq!(problems[0], None);
    assert_eq!(
        preview[0].0.fields.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        ["事项名称", "申请材料", "承诺办结时限"]
    );
    assert!(problems[1].unwrap().contains("没有该编码"));
    assert!(problems[2].unwrap().contains("不属于您可以编辑"));
    assert!(problems[3].unwrap().contains("重复"));
    let (applied, refused) = sheet::apply(&db, &Actor::system("测试"), &staff, &rows).await.unwrap();
    assert_eq!((applied, refused), (1, 3));
    let (_, versions) = editing::versions(&db, &staff, code).await.unwrap();
    assert_eq!((versions[0].status.as_str(), versions[0].content.materials.len()), ("in_review", 2));
    let published = store::guide(&db, code).await.unwrap().unwrap();
    assert_eq!(published.content.name, "临时价格干预范围事项提价申报", "published only after review");

    // A bad row names itself; a foreign column or a non-workbook is refused whole.
    let bad = workbook(&[&[("事项编码", other.code.as_str()), ("网上办理深度", "9")]]);
    let preview = sheet::preview(&db, &everyone, &sheet::read(&bad).unwrap()).await.unwrap();
    assert!(preview[0].0.problem.as_deref().unwrap().contains("网上办理深度"));
    assert!(sheet::read(b"not a workbook").unwrap_err().to_string().contains("Excel"));
    let mut book = rust_xlsxwriter::Workbook::new();
    book.add_worksheet().write_string(0, 0, "事项编码").unwrap().write_string(0, 1, "备注").unwrap();
    let err = sheet::read(&book.save_to_buffer().unwrap()).unwrap_err();
    assert!(err.to_string().contains("备注"), "{err}");
    t.cleanup().await;
}
