//! Items in the database: creating them, publishing a version, and reading what visitors see.

use crate::CatalogError;
use crate::model::{ItemContent, Related};
use chrono::{DateTime, Utc};
use govhall_audit::Actor;
use govhall_db::changes::{self, ChangeOp};
use govhall_db::sqlx::{self, AssertSqlSafe};
use govhall_db::{Db, Tx, exec, run};
use serde::Serialize;
use uuid::Uuid;

/// Inserts a new item, unpublished until [`publish`] gives it its listed facts, and returns its id.
pub(crate) async fn insert_item(
    tx: &mut Tx,
    code: &str,
    source: &str,
    department: Uuid,
    region: &str,
    content: &ItemContent,
) -> Result<Uuid, CatalogError> {
    let id = Uuid::now_v7();
    let now = tx.db().now();
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO items (id, code, source, department_id, region_code, published_version, name, level, audience,
                                type_code, type_text, nature_code, online_depth, online_apply, phrases, status,
                                created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, NULL, $6, '', '', '', '', '', 0, FALSE, '', 'draft', $7, $7)"
        )
        .bind(id)
        .bind(code)
        .bind(source)
        .bind(department)
        .bind(region)
        .bind(&content.name)
        .bind(now)
    )?;
    Ok(id)
}

/// Adds a version with `status` and returns its number.
pub(crate) async fn add_version(
    tx: &mut Tx,
    item: Uuid,
    content: &ItemContent,
    status: &str,
    by: &Actor,
    note: &str,
) -> Result<i32, CatalogError> {
    let last: Option<i32> =
        run!(tx, |c| sqlx::query_scalar("SELECT MAX(version) FROM item_versions WHERE item_id = $1")
            .bind(item)
            .fetch_one(&mut *c)
            .await)?;
    let version = last.unwrap_or(0) + 1;
    let now = tx.db().now();
    let json = serde_json::to_string(content).map_err(|e| CatalogError::Invalid(e.to_string()))?;
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO item_versions (item_id, version, status, content, note, created_by, created_by_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(item)
        .bind(version)
        .bind(status)
        .bind(json)
        .bind(note)
        .bind(&by.label)
        .bind(by.id.map(|a| a.as_uuid()))
        .bind(now)
    )?;
    Ok(version)
}

/// Publishes a version: the one before is superseded, the item's listed facts, tags and related
/// items become this version's, and the change feed tells every node.
pub(crate) async fn publish(
    tx: &mut Tx,
    item: Uuid,
    code: &str,
    version: i32,
    content: &ItemContent,
    by: &str,
) -> Result<(), CatalogError> {
    let now = tx.db().now();
    exec!(
        tx,
        sqlx::query("UPDATE item_versions SET status = 'superseded' WHERE item_id = $1 AND status = 'published'")
            .bind(item)
    )?;
    exec!(
        tx,
        sqlx::query(
            "UPDATE item_versions SET status = 'published', reviewed_by = $1, published_at = $2
             WHERE item_id = $3 AND version = $4"
        )
        .bind(by)
        .bind(now)
        .bind(item)
        .bind(version)
    )?;
    exec!(
        tx,
        sqlx::query(
            "UPDATE items SET published_version = $1, name = $2, level = $3, audience = $4, type_code = $5, type_text = $6,
                              nature_code = $7, online_depth = $8, online_apply = $9, phrases = $10, status = 'published',
                              updated_at = $11
             WHERE id = $12"
        )
        .bind(version)
        .bind(&content.name)
        .bind(&content.level)
        .bind(content.audience.as_str())
        .bind(&content.type_code)
        .bind(&content.type_text)
        .bind(&content.nature_code)
        .bind(i32::from(content.online_depth))
        .bind(content.online_apply)
        .bind(content.phrase_text())
        .bind(now)
        .bind(item)
    )?;
    exec!(tx, sqlx::query("DELETE FROM item_tags WHERE item_id = $1").bind(item))?;
    for tag in &content.tags {
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO item_tags (item_id, tag_id) SELECT $1, id FROM tags WHERE kind = $2 AND name = $3
                 ON CONFLICT DO NOTHING"
            )
            .bind(item)
            .bind(&tag.kind)
            .bind(&tag.name)
        )?;
    }
    set_relations(tx, item, &content.related).await?;
    changes::record(tx, "item", code, ChangeOp::Update);
    Ok(())
}

/// Replaces an item's related items (codes that name no item are left out).
pub(crate) async fn set_relations(tx: &mut Tx, item: Uuid, related: &[Related]) -> Result<(), CatalogError> {
    exec!(tx, sqlx::query("DELETE FROM item_relations WHERE item_id = $1").bind(item))?;
    for r in related {
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO item_relations (item_id, related_id, kind) SELECT $1, id, $2 FROM items WHERE code = $3 AND id <> $1
                 ON CONFLICT DO NOTHING"
            )
            .bind(item)
            .bind(&r.kind)
            .bind(&r.code)
        )?;
    }
    Ok(())
}

/// An item as lists show it (the published version's facts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ItemSummary {
    /// Id.
    #[serde(skip)]
    pub id: Uuid,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Implementing department's id.
    pub department_id: Uuid,
    /// Its name.
    pub department: String,
    /// Region code.
    pub region_code: String,
    /// Region name.
    pub region: String,
    /// `province`, `city`, `county`.
    pub level: String,
    /// `person`, `enterprise`, `both`.
    pub audience: String,
    /// Item type as the source gives it.
    pub type_text: String,
    /// Online depth 1–5.
    pub online_depth: i32,
    /// Whether it can be applied for online.
    pub online_apply: bool,
    /// Short name and everyday phrases.
    pub phrases: String,
    /// `draft`, `published`, `suspended`.
    pub status: String,
}

const SUMMARY: &str = "SELECT i.id, i.code, i.name, i.department_id, d.name AS department, i.region_code, r.full_name AS region,
                              i.level, i.audience, i.type_text, i.online_depth, i.online_apply, i.phrases, i.status
                       FROM items i JOIN departments d ON d.id = i.department_id JOIN regions r ON r.code = i.region_code";

/// What a list of published items is narrowed by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ItemFilter {
    /// Carrying this tag.
    pub tag: Option<Uuid>,
    /// Of this department.
    pub department: Option<Uuid>,
    /// In this region or below (a division-code prefix).
    pub region_prefix: Option<String>,
    /// For `person` or `enterprise` (items for both are included).
    pub audience: Option<String>,
    /// Of this item type (text).
    pub type_text: Option<String>,
    /// At least this online depth.
    pub min_depth: Option<i32>,
    /// At this level.
    pub level: Option<String>,
    /// Name or phrase containing this.
    pub text: Option<String>,
}

/// Published items matching `filter`, by name: the total and one page.
pub async fn list(
    db: &Db,
    filter: &ItemFilter,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<ItemSummary>), CatalogError> {
    let conditions = "i.status = 'published'
        AND ($1 IS NULL OR EXISTS (SELECT 1 FROM item_tags it WHERE it.item_id = i.id AND it.tag_id = $1))
        AND ($2 IS NULL OR i.department_id = $2)
        AND ($3 IS NULL OR i.region_code LIKE $3)
        AND ($4 IS NULL OR i.audience = $4 OR i.audience = 'both')
        AND ($5 IS NULL OR i.type_text = $5)
        AND ($6 IS NULL OR i.online_depth >= $6)
        AND ($7 IS NULL OR i.level = $7)
        AND ($8 IS NULL OR i.name LIKE $8 OR i.phrases LIKE $8)";
    let prefix = filter.region_prefix.as_ref().map(|p| format!("{p}%"));
    let text = filter.text.as_ref().map(|t| format!("%{}%", t.replace(['%', '_'], "")));
    let count_sql = format!("SELECT COUNT(*) FROM items i WHERE {conditions}");
    let list_sql = format!("{SUMMARY} WHERE {conditions} ORDER BY i.name, i.code LIMIT $9 OFFSET $10");
    let mut conn = db.conn().await?;
    let total: i64 = run!(conn, |c| {
        sqlx::query_scalar(AssertSqlSafe(count_sql.clone()))
            .bind(filter.tag)
            .bind(filter.department)
            .bind(&prefix)
            .bind(&filter.audience)
            .bind(&filter.type_text)
            .bind(filter.min_depth)
            .bind(&filter.level)
            .bind(&text)
            .fetch_one(&mut *c)
            .await
    })?;
    let rows = run!(conn, |c| {
        sqlx::query_as(AssertSqlSafe(list_sql.clone()))
            .bind(filter.tag)
            .bind(filter.department)
            .bind(&prefix)
            .bind(&filter.audience)
            .bind(&filter.type_text)
            .bind(filter.min_depth)
            .bind(&filter.level)
            .bind(&text)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *c)
            .await
    })?;
    Ok((total, rows))
}

/// An item by code, whatever its status.
pub async fn summary(db: &Db, code: &str) -> Result<Option<ItemSummary>, CatalogError> {
    let mut conn = db.conn().await?;
    let sql = format!("{SUMMARY} WHERE i.code = $1");
    Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(code).fetch_optional(&mut *c).await)?)
}

/// A related item as the guide shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RelatedItem {
    /// Its code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// The relation.
    pub kind: String,
}

/// A published guide: the item, its published version, related items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guide {
    /// The item's listed facts.
    pub item: ItemSummary,
    /// The published version.
    pub version: i32,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// The guide.
    pub content: ItemContent,
    /// Related published items.
    pub related: Vec<RelatedItem>,
}

/// The published guide of an item.
pub async fn guide(db: &Db, code: &str) -> Result<Option<Guide>, CatalogError> {
    let Some(item) = summary(db, code).await? else { return Ok(None) };
    if item.status != "published" {
        return Ok(None);
    }
    let mut conn = db.conn().await?;
    let version: Option<(i32, String, Option<DateTime<Utc>>)> = run!(conn, |c| {
        sqlx::query_as(
            "SELECT version, content, published_at FROM item_versions WHERE item_id = $1 AND status = 'published'",
        )
        .bind(item.id)
        .fetch_optional(&mut *c)
        .await
    })?;
    let Some((version, content, published_at)) = version else { return Ok(None) };
    let content: ItemContent = serde_json::from_str(&content).map_err(|e| CatalogError::Invalid(e.to_string()))?;
    let related = run!(conn, |c| {
        sqlx::query_as(
            "SELECT i.code, i.name, r.kind FROM item_relations r JOIN items i ON i.id = r.related_id
             WHERE r.item_id = $1 AND i.status = 'published' ORDER BY r.kind, i.name",
        )
        .bind(item.id)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(Some(Guide { item, version, published_at, content, related }))
}

/// The guide of version `version` of item `code` as it was published (cases read the fees,
/// forms and materials they were submitted under, whatever was published since).
pub async fn content_at(db: &Db, code: &str, version: i32) -> Result<Option<ItemContent>, CatalogError> {
    let mut conn = db.conn().await?;
    let content: Option<String> = run!(conn, |c| {
        sqlx::query_scalar(
            "SELECT v.content FROM item_versions v JOIN items i ON i.id = v.item_id WHERE i.code = $1 AND v.version = $2",
        )
            .bind(code)
            .bind(version)
            .fetch_optional(&mut *c)
            .await
    })?;
    content.map(|t| serde_json::from_str(&t).map_err(|e| CatalogError::Invalid(e.to_string()))).transpose()
}

/// A department with its count of published items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DepartmentCount {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Region code.
    pub region_code: String,
    /// Region name.
    pub region: String,
    /// Published items.
    pub items: i64,
}

/// Departments that implement published items, by region then name.
pub async fn departments(db: &Db) -> Result<Vec<DepartmentCount>, CatalogError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_as(
            "SELECT d.id, d.name, d.region_code, r.full_name AS region, COUNT(i.id) AS items
             FROM departments d JOIN regions r ON r.code = d.region_code
             JOIN items i ON i.department_id = d.id AND i.status = 'published'
             GROUP BY d.id, d.name, d.region_code, r.full_name ORDER BY d.region_code, d.name",
        )
        .fetch_all(&mut *c)
        .await
    })?)
}

/// Published items that have everyday phrases, for the 公众语言 navigation: (phrases, code, name).
pub async fn phrases(
    db: &Db,
    audience: &str,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<(String, String, String)>), CatalogError> {
    let mut conn = db.conn().await?;
    let total: i64 = run!(conn, |c| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM items WHERE status = 'published' AND phrases <> '' AND (audience = $1 OR audience = 'both')",
        )
        .bind(audience)
        .fetch_one(&mut *c)
        .await
    })?;
    let rows = run!(conn, |c| {
        sqlx::query_as(
            "SELECT phrases, code, name FROM items WHERE status = 'published' AND phrases <> ''
               AND (audience = $1 OR audience = 'both') ORDER BY phrases, code LIMIT $2 OFFSET $3",
        )
        .bind(audience)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok((total, rows))
}

/// The item types of published items, with counts (for filters).
pub async fn item_types(db: &Db) -> Result<Vec<(String, i64)>, CatalogError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_as("SELECT type_text, COUNT(*) FROM items WHERE status = 'published' GROUP BY type_text ORDER BY COUNT(*) DESC")
            .fetch_all(&mut *c)
            .await
    })?)
}

/// A published item with everything the search index holds of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Indexable {
    /// The listed facts.
    pub item: ItemSummary,
    /// The published guide.
    pub content: ItemContent,
    /// When the published version was published.
    pub published_at: Option<DateTime<Utc>>,
    /// The ids of its tags.
    pub tags: Vec<Uuid>,
}

/// Published items in code order after `after` (all of them from `""`), at most `limit`: what
/// the search index is built from. `only` narrows to one code.
pub async fn indexable(db: &Db, after: &str, only: Option<&str>, limit: i64) -> Result<Vec<Indexable>, CatalogError> {
    let sql = format!(
        "{SUMMARY} WHERE i.status = 'published' AND i.code > $1 AND ($2 IS NULL OR i.code = $2) ORDER BY i.code LIMIT $3"
    );
    let mut conn = db.conn().await?;
    let items: Vec<ItemSummary> = run!(conn, |c| {
        sqlx::query_as(AssertSqlSafe(sql.clone())).bind(after).bind(only).bind(limit).fetch_all(&mut *c).await
    })?;
    let (Some(first), Some(last)) = (items.first(), items.last()) else { return Ok(Vec::new()) };
    let (first, last) = (first.code.clone(), last.code.clone());
    let versions: Vec<(Uuid, String, Option<DateTime<Utc>>)> = run!(conn, |c| {
        sqlx::query_as(
            "SELECT v.item_id, v.content, v.published_at FROM item_versions v JOIN items i ON i.id = v.item_id
             WHERE v.status = 'published' AND i.code >= $1 AND i.code <= $2",
        )
        .bind(&first)
        .bind(&last)
        .fetch_all(&mut *c)
        .await
    })?;
    let tags: Vec<(Uuid, Uuid)> = run!(conn, |c| {
        sqlx::query_as(
            "SELECT t.item_id, t.tag_id FROM item_tags t JOIN items i ON i.id = t.item_id WHERE i.code >= $1 AND i.code <= $2",
        )
        .bind(&first)
        .bind(&last)
        .fetch_all(&mut *c)
        .await
    })?;
    let mut contents = std::collections::HashMap::with_capacity(versions.len());
    for (id, json, at) in versions {
        let content: ItemContent = serde_json::from_str(&json).map_err(|e| CatalogError::Invalid(e.to_string()))?;
        contents.insert(id, (content, at));
    }
    let mut by_item: std::collections::HashMap<Uuid, Vec<Uuid>> = std::collections::HashMap::new();
    for (item, tag) in tags {
        by_item.entry(item).or_default().push(tag);
    }
    Ok(items
        .into_iter()
        .filter_map(|item| {
            let (content, published_at) = contents.remove(&item.id)?;
            let tags = by_item.remove(&item.id).unwrap_or_default();
            Some(Indexable { item, content, published_at, tags })
        })
        .collect())
}

/// A tag with its kind, for labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TagLabel {
    /// Id.
    pub id: Uuid,
    /// Kind (`life_event`, `theme` …).
    pub kind: String,
    /// Name.
    pub name: String,
}

/// Every tag, by kind and order.
pub async fn tag_labels(db: &Db) -> Result<Vec<TagLabel>, CatalogError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| sqlx::query_as("SELECT id, kind, name FROM tags ORDER BY kind, sort, name")
        .fetch_all(&mut *c)
        .await)?)
}
