//! Editing with review: staff edit their departments' items as drafts (a new version; the
//! published one never changes), send them for review, and reviewers publish them or send them
//! back with a comment. Every step is audited; publishing feeds the change feed.

use crate::model::{ItemContent, ONLINE_DEPTHS, RELATION_KINDS};
use crate::store::{self, ItemSummary};
use crate::{CatalogError, taxonomy};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::sqlx;
use govhall_db::{Db, exec, run};
use govhall_identity::{Access, DepartmentId, Permission, Target};
use serde::Serialize;
use uuid::Uuid;

/// A version of an item as editors see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Version {
    /// Its number.
    pub version: i32,
    /// `draft`, `in_review`, `published`, `superseded`.
    pub status: String,
    /// The guide.
    pub content: ItemContent,
    /// The editor's note.
    pub note: String,
    /// The reviewer's comment when sent back.
    pub review_comment: String,
    /// Who made it.
    pub created_by: String,
    /// Their account, if a person made it.
    pub created_by_id: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i32,
    status: String,
    content: String,
    note: String,
    review_comment: String,
    created_by: String,
    created_by_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

/// The Chinese name of a version status.
pub fn status_label(status: &str) -> &'static str {
    match status {
        "draft" => "草稿",
        "in_review" => "待审核",
        "published" => "已发布",
        "superseded" => "历史版本",
        _ => "",
    }
}

fn target(item: &ItemSummary) -> Target {
    Target {
        owner: None,
        department: Some(DepartmentId::from_uuid(item.department_id)),
        region: Some(item.region_code.clone()),
    }
}

async fn item_for(db: &Db, access: &Access, code: &str, permission: Permission) -> Result<ItemSummary, CatalogError> {
    let item = store::summary(db, code).await?.ok_or(CatalogError::NotFound("事项"))?;
    if !access.covers(permission, &target(&item)) {
        return Err(CatalogError::Forbidden);
    }
    Ok(item)
}

/// Every version of an item, newest first (for its editors and reviewers).
pub async fn versions(db: &Db, access: &Access, code: &str) -> Result<(ItemSummary, Vec<Version>), CatalogError> {
    let item = store::summary(db, code).await?.ok_or(CatalogError::NotFound("事项"))?;
    if !access.covers(Permission::ItemEdit, &target(&item)) && !access.covers(Permission::ItemPublish, &target(&item)) {
        return Err(CatalogError::Forbidden);
    }
    let mut conn = db.conn().await?;
    let rows: Vec<VersionRow> = run!(conn, |c| {
        sqlx::query_as(
            "SELECT version, status, content, note, review_comment, created_by, created_by_id, created_at FROM item_versions
             WHERE item_id = $1 ORDER BY version DESC",
        )
        .bind(item.id)
        .fetch_all(&mut *c)
        .await
    })?;
    let versions = rows
        .into_iter()
        .map(|r| {
            let content = serde_json::from_str(&r.content).map_err(|e| CatalogError::Invalid(e.to_string()))?;
            Ok(Version {
                version: r.version,
                status: r.status,
                content,
                note: r.note,
                review_comment: r.review_comment,
                created_by: r.created_by,
                created_by_id: r.created_by_id,
                created_at: r.created_at,
            })
        })
        .collect::<Result<Vec<_>, CatalogError>>()?;
    Ok((item, versions))
}

/// Checks a guide before it is saved: what a form can get wrong, in Chinese.
pub async fn validate(db: &Db, content: &ItemContent) -> Result<(), CatalogError> {
    let bad = |m: String| Err(CatalogError::Invalid(m));
    let name = content.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return bad("事项名称不能为空，且不超过 100 个字".to_owned());
    }
    if !ONLINE_DEPTHS.iter().any(|(d, _)| *d == content.online_depth) {
        return bad("网上办理深度应为 1 到 5 级".to_owned());
    }
    if !crate::model::LEVELS.iter().any(|(l, _)| *l == content.level) {
        return bad("事项层级应为省级、市级或县级".to_owned());
    }
    content.statutory_limit.check("法定办结时限").map_err(CatalogError::Invalid)?;
    content.promised_limit.check("承诺办结时限").map_err(CatalogError::Invalid)?;
    if content.visits > crate::model::MAX_VISITS {
        return bad(format!("最多跑动次数应为 0 到 {}", crate::model::MAX_VISITS));
    }
    if content.phrases.len() > 20 || content.phrases.iter().any(|p| p.chars().count() > 30) {
        return bad("公众语言最多 20 个，每个不超过 30 个字".to_owned());
    }
    if let Some(m) = content.materials.iter().find(|m| m.name.trim().is_empty() || m.name.chars().count() > 200) {
        return bad(format!("材料名称不能为空且不超过 200 个字（“{}”）", m.name));
    }
    if let Some(f) = content.fees.iter().find(|f| f.name.trim().is_empty()) {
        return bad(format!("金额为 {} 的收费缺少名称", f.amount));
    }
    let form = content.application_form();
    for fee in &content.fees {
        fee.check().map_err(CatalogError::Invalid)?;
        if let crate::fees::FeeRule::PerUnit { field } | crate::fees::FeeRule::Tiered { field, .. } = &fee.rule
            && !form.fields().any(|f| {
                &f.key == field
                    && f.kind == crate::form::FieldKind::Number
                    && f.required
                    && f.min.is_some_and(|m| m >= 1)
            })
        {
            return bad(format!(
                "收费“{}”按申请表的“{field}”计费，申请表须有这个必填的整数字段且最小值不小于 1（否则无法计算或可填 0 免费）",
                fee.name
            ));
        }
    }
    if let Some(Err(problems)) = content.form.as_ref().map(crate::form::FormSchema::check) {
        return bad(format!("申请表有误：{}", problems.join("；")));
    }
    if let Some(Err(problems)) = content.eligibility.as_ref().map(crate::form::Eligibility::check) {
        return bad(format!("条件自检有误：{}", problems.join("；")));
    }
    for r in &content.related {
        if !RELATION_KINDS.iter().any(|(k, _)| *k == r.kind) {
            return bad(format!("相关事项 {} 的关系“{}”无法识别", r.code, r.kind));
        }
        if store::summary(db, &r.code).await?.is_none() {
            return bad(format!("相关事项编码 {} 不存在", r.code));
        }
    }
    let known = taxonomy::all_tags(db).await?;
    if let Some(t) = content.tags.iter().find(|t| !known.iter().any(|k| k.kind == t.kind && k.name == t.name)) {
        return bad(format!("分类“{}”不存在", t.name));
    }
    Ok(())
}

/// Saves an editor's guide as the open draft (a new version after the published one).
pub async fn save_draft(
    db: &Db,
    actor: &Actor,
    access: &Access,
    code: &str,
    content: &ItemContent,
    note: &str,
) -> Result<i32, CatalogError> {
    let item = item_for(db, access, code, Permission::ItemEdit).await?;
    validate(db, content).await?;
    let mut tx = db.begin().await?;
    let open: Option<(i32, String)> = run!(tx, |c| {
        sqlx::query_as(
            "SELECT version, status FROM item_versions WHERE item_id = $1 AND status IN ('draft', 'in_review')
             ORDER BY version DESC LIMIT 1",
        )
        .bind(item.id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let json = serde_json::to_string(content).map_err(|e| CatalogError::Invalid(e.to_string()))?;
    let now = db.now();
    let version = match open {
        Some((_, status)) if status == "in_review" => {
            return Err(CatalogError::WrongState("该事项有待审核的版本，审核完成前不能修改".to_owned()));
        }
        Some((version, _)) => {
            exec!(
                tx,
                sqlx::query(
                    "UPDATE item_versions SET content = $1, note = $2, created_by = $3, created_by_id = $4, created_at = $5
                     WHERE item_id = $6 AND version = $7 AND status = 'draft'"
                )
                .bind(&json)
                .bind(note)
                .bind(&actor.label)
                .bind(actor.id.map(|a| a.as_uuid()))
                .bind(now)
                .bind(item.id)
                .bind(version)
            )?;
            version
        }
        None => store::add_version(&mut tx, item.id, content, "draft", actor, note).await?,
    };
    audit::record(&mut tx, actor, Event::success("item.save_draft", "item", code).detail(format!("第{version}版")))
        .await?;
    tx.commit().await?;
    Ok(version)
}

async fn transition(
    db: &Db,
    actor: &Actor,
    access: &Access,
    code: &str,
    permission: Permission,
    from: &str,
    action: &str,
) -> Result<(ItemSummary, i32, ItemContent, govhall_db::Tx), CatalogError> {
    let item = item_for(db, access, code, permission).await?;
    let mut tx = db.begin().await?;
    let open: Option<(i32, String, Option<Uuid>)> = run!(tx, |c| {
        sqlx::query_as(
            "SELECT version, content, created_by_id FROM item_versions WHERE item_id = $1 AND status = $2
             ORDER BY version DESC LIMIT 1",
        )
        .bind(item.id)
        .bind(from)
        .fetch_optional(&mut *c)
        .await
    })?;
    let Some((version, content, editor)) = open else {
        return Err(CatalogError::WrongState(format!("该事项没有{}的版本", status_label(from))));
    };
    if permission == Permission::ItemPublish && editor.is_some() && editor == actor.id.map(|a| a.as_uuid()) {
        return Err(CatalogError::WrongState("不能审核自己编辑的版本，请由其他审核人员审核".to_owned()));
    }
    let content = serde_json::from_str(&content).map_err(|e| CatalogError::Invalid(e.to_string()))?;
    audit::record(&mut tx, actor, Event::success(action, "item", code).detail(format!("第{version}版"))).await?;
    Ok((item, version, content, tx))
}

/// Sends the open draft for review.
pub async fn submit(db: &Db, actor: &Actor, access: &Access, code: &str) -> Result<i32, CatalogError> {
    let (item, version, _, mut tx) =
        transition(db, actor, access, code, Permission::ItemEdit, "draft", "item.submit").await?;
    exec!(
        tx,
        sqlx::query(
            "UPDATE item_versions SET status = 'in_review', review_comment = '' WHERE item_id = $1 AND version = $2"
        )
        .bind(item.id)
        .bind(version)
    )?;
    tx.commit().await?;
    Ok(version)
}

/// Publishes the version in review.
pub async fn approve(db: &Db, actor: &Actor, access: &Access, code: &str) -> Result<i32, CatalogError> {
    let (item, version, content, mut tx) =
        transition(db, actor, access, code, Permission::ItemPublish, "in_review", "item.publish").await?;
    store::publish(&mut tx, item.id, code, version, &content, &actor.label).await?;
    tx.commit().await?;
    Ok(version)
}

/// Sends the version in review back to its editors with a comment.
pub async fn send_back(
    db: &Db,
    actor: &Actor,
    access: &Access,
    code: &str,
    comment: &str,
) -> Result<i32, CatalogError> {
    let comment = comment.trim();
    if comment.is_empty() || comment.chars().count() > 500 {
        return Err(CatalogError::Invalid("退回时请填写意见（不超过 500 字）".to_owned()));
    }
    let (item, version, _, mut tx) =
        transition(db, actor, access, code, Permission::ItemPublish, "in_review", "item.send_back").await?;
    exec!(
        tx,
        sqlx::query(
            "UPDATE item_versions SET status = 'draft', review_comment = $1, reviewed_by = $2 WHERE item_id = $3 AND version = $4"
        )
        .bind(comment)
        .bind(&actor.label)
        .bind(item.id)
        .bind(version)
    )?;
    tx.commit().await?;
    Ok(version)
}

/// An item waiting for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Pending {
    /// Code.
    pub code: String,
    /// Published name.
    pub name: String,
    /// Department.
    pub department_id: Uuid,
    /// Region.
    pub region_code: String,
    /// Version in review.
    pub version: i32,
    /// Who edited it.
    pub created_by: String,
}

/// Versions waiting for review that `access` may decide.
pub async fn review_queue(db: &Db, access: &Access) -> Result<Vec<Pending>, CatalogError> {
    let mut conn = db.conn().await?;
    let rows: Vec<Pending> = run!(conn, |c| {
        sqlx::query_as(
            "SELECT i.code, i.name, i.department_id, i.region_code, v.version, v.created_by
             FROM item_versions v JOIN items i ON i.id = v.item_id WHERE v.status = 'in_review' ORDER BY v.created_at",
        )
        .fetch_all(&mut *c)
        .await
    })?;
    let filter = access.filter(Permission::ItemPublish);
    Ok(rows
        .into_iter()
        .filter(|p| filter.allows(None, Some(DepartmentId::from_uuid(p.department_id)), Some(&p.region_code)))
        .collect())
}

/// Items `access` may edit, by name (optionally containing `text`), at most `limit`.
pub async fn editable(db: &Db, access: &Access, text: &str, limit: usize) -> Result<Vec<ItemSummary>, CatalogError> {
    let filter = access.filter(Permission::ItemEdit);
    let mut conn = db.conn().await?;
    let pattern = format!("%{}%", text.trim().replace(['%', '_'], ""));
    let rows: Vec<ItemSummary> = run!(conn, |c| {
        sqlx::query_as(
            "SELECT i.id, i.code, i.name, i.department_id, d.name AS department, i.region_code, r.full_name AS region,
                    i.level, i.audience, i.type_text, i.online_depth, i.online_apply, i.phrases, i.status
             FROM items i JOIN departments d ON d.id = i.department_id JOIN regions r ON r.code = i.region_code
             WHERE i.name LIKE $1 OR i.code LIKE $1 ORDER BY i.name",
        )
        .bind(&pattern)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(rows
        .into_iter()
        .filter(|i| filter.allows(None, Some(DepartmentId::from_uuid(i.department_id)), Some(&i.region_code)))
        .take(limit)
        .collect())
}
