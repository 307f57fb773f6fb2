//! The catalogue on a real database: the bundled imports (exact counts, idempotent), the
//! navigations, versioning with review, and who may edit what.

#![expect(clippy::unwrap_used, reason = "test helpers unwrap: a failure there is the test failing")]

use govhall_catalog::CatalogError;
use govhall_catalog::editing;
use govhall_catalog::import;
use govhall_catalog::store::{self, ItemFilter};
use govhall_catalog::taxonomy;
use govhall_db::testing::TestDatabase;
use govhall_db::{Db, run, sqlx};
use govhall_identity::audit::Actor;
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
    let tags = taxonomy::tags(&db, "life_event").await.unwrap();
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
