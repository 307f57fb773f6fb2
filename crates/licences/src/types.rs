//! Licence types, imported from a TOML file (`govhall licences types FILE`): each names its
//! issuing department, the issuing authority's credit code, who holds it, how long it is valid,
//! the fields it carries and where each comes from, and the items whose grant issues it. An
//! import is all or nothing; an error names the type and what is wrong with it.

use crate::model::{FieldSpec, HolderKind, LicenceType};
use crate::{LicenceError, Licences};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::CreditCode;
use govhall_db::{Db, Target, Tx, exec, run, sqlx};
use serde::Deserialize;
use std::collections::BTreeSet;
use uuid::Uuid;

/// The case facts a field may come from, besides the application's answers.
pub const CASE_SOURCES: [&str; 3] = ["@serial_number", "@item_name", "@decided_on"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeFile {
    #[serde(rename = "type", default)]
    types: Vec<TypeEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TypeEntry {
    code: String,
    name: String,
    department: String,
    issuer_code: String,
    holder: String,
    valid_years: Option<i32>,
    #[serde(default)]
    items: Vec<String>,
    #[serde(rename = "field", default)]
    fields: Vec<FieldSpec>,
}

fn is_key(s: &str) -> bool {
    !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_text(s: &str, max: usize) -> bool {
    let s = s.trim();
    !s.is_empty() && s.chars().count() <= max && !s.chars().any(|c| c.is_control() || govhall_core::text::is_hidden(c))
}

impl TypeEntry {
    /// What is wrong with the entry, if anything.
    fn check(&self) -> Result<HolderKind, String> {
        if self.code.is_empty() || self.code.len() > 20 || !self.code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("code 应为不超过 20 位的字母和数字".into());
        }
        if !is_text(&self.name, 60) {
            return Err("name 不能为空，不超过 60 字，且不能含控制字符".into());
        }
        CreditCode::parse(&self.issuer_code)
            .map_err(|e| format!("issuer_code 应为颁发机构的统一社会信用代码：{}", govhall_core::Coded::message(&e)))?;
        let kind = HolderKind::parse(&self.holder).ok_or("holder 应为 person（个人）或 enterprise（企业）")?;
        if self.valid_years.is_some_and(|y| !(1..=100).contains(&y)) {
            return Err("valid_years 应为 1 到 100；长期有效的证照不写 valid_years".into());
        }
        if self.fields.is_empty() || self.fields.len() > 40 {
            return Err("应有 1 到 40 个 [[type.field]]".into());
        }
        let mut keys = BTreeSet::new();
        for f in &self.fields {
            if !is_key(&f.key) || !keys.insert(f.key.as_str()) {
                return Err(format!("字段 key“{}”应为字母、数字或下划线，且不能重复", f.key));
            }
            if !is_text(&f.label, 30) {
                return Err(format!("字段 {} 的 label 不能为空，不超过 30 字", f.key));
            }
            let from_case = f.from.starts_with('@');
            if (from_case && !CASE_SOURCES.contains(&f.from.as_str())) || (!from_case && !is_text(&f.from, 40)) {
                return Err(format!(
                    "字段 {} 的 from 应为申请表中的字段名，或 {} 之一",
                    f.key,
                    CASE_SOURCES.join("、")
                ));
            }
        }
        if self.items.iter().any(|i| i.trim().is_empty() || i.len() > 64) {
            return Err("items 中的事项编码不能为空".into());
        }
        Ok(kind)
    }
}

impl Licences {
    /// Imports the licence types in `text`: see [`import`].
    pub async fn import_types(&self, text: &str, actor: &Actor) -> Result<usize, LicenceError> {
        import(self.db(), text, actor).await
    }

    /// All licence types, by code.
    pub async fn types(&self) -> Result<Vec<LicenceType>, LicenceError> {
        let sql = format!("{TYPE_SELECT_BASE} ORDER BY t.code");
        let mut conn = self.db().conn().await?;
        let rows: Vec<TypeRow> =
            run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(&mut *c).await)?;
        rows.into_iter().map(TypeRow::into_type).collect()
    }

    /// The type a grant of item `item_code` issues, if any.
    pub async fn type_for_item(
        &self,
        target: &mut impl Target,
        item_code: &str,
    ) -> Result<Option<LicenceType>, LicenceError> {
        let sql = format!(
            "{TYPE_SELECT_BASE} WHERE t.code = (SELECT type_code FROM licence_type_items WHERE item_code = $1)"
        );
        let row: Option<TypeRow> = run!(target, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(item_code)
            .fetch_optional(&mut *c)
            .await)?;
        row.map(TypeRow::into_type).transpose()
    }
}

/// Imports the licence types in `text` (TOML), replacing types of the same code and their
/// items; returns how many. Nothing is written when any entry is wrong.
pub async fn import(db: &Db, text: &str, actor: &Actor) -> Result<usize, LicenceError> {
    let file: TypeFile = toml::from_str(text).map_err(|e| LicenceError::BadTypeFile(e.to_string()))?;
    if file.types.is_empty() {
        return Err(LicenceError::BadTypeFile("文件中没有 [[type]]".into()));
    }
    let departments = govhall_identity::departments::list(db).await?;
    let mut conn = db.conn().await?;
    let mut codes = BTreeSet::new();
    let mut items = BTreeSet::new();
    let mut checked = Vec::new();
    for (n, entry) in file.types.iter().enumerate() {
        let at = |why: String| LicenceError::BadTypeFile(format!("第 {} 个类型（{}）：{why}", n + 1, entry.code));
        let kind = entry.check().map_err(at)?;
        if !codes.insert(entry.code.as_str()) {
            return Err(at("code 与前面的类型重复".into()));
        }
        let named: Vec<_> = departments.iter().filter(|d| d.name == entry.department).collect();
        let department = match named.as_slice() {
            [one] => one.id,
            [] => return Err(at(format!("部门“{}”不存在", entry.department))),
            _ => return Err(at(format!("有多个部门名为“{}”", entry.department))),
        };
        for item in &entry.items {
            if !items.insert(item.as_str()) {
                return Err(at(format!("事项 {item} 已属于另一证照类型")));
            }
            let known: i64 = run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM items WHERE code = $1")
                .bind(item)
                .fetch_one(&mut *c)
                .await)?;
            if known == 0 {
                return Err(at(format!("事项 {item} 不在事项目录中")));
            }
        }
        checked.push((entry, kind, department));
    }
    drop(conn);
    let mut tx = db.begin().await?;
    for (entry, kind, department) in &checked {
        write_type(&mut tx, entry, *kind, *department).await?;
    }
    let detail = checked.iter().map(|(e, _, _)| e.code.as_str()).collect::<Vec<_>>().join("、");
    audit::record(&mut tx, actor, Event::success("licence.types", "licence_type", "import").detail(detail)).await?;
    tx.commit().await?;
    Ok(checked.len())
}

async fn write_type(tx: &mut Tx, e: &TypeEntry, kind: HolderKind, department: Uuid) -> Result<(), LicenceError> {
    let now = tx.db().now();
    let fields = serde_json::to_string(&e.fields).map_err(|e| LicenceError::Internal(e.to_string()))?;
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO licence_types (code, name, department_id, issuer_code, holder_kind, valid_years, fields, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, department_id = excluded.department_id,
                issuer_code = excluded.issuer_code, holder_kind = excluded.holder_kind,
                valid_years = excluded.valid_years, fields = excluded.fields, updated_at = excluded.updated_at"
        )
        .bind(&e.code)
        .bind(e.name.trim())
        .bind(department)
        .bind(e.issuer_code.to_ascii_uppercase())
        .bind(kind.as_str())
        .bind(e.valid_years)
        .bind(&fields)
        .bind(now)
    )?;
    exec!(tx, sqlx::query("DELETE FROM licence_type_items WHERE type_code = $1").bind(&e.code))?;
    for item in &e.items {
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO licence_type_items (item_code, type_code) VALUES ($1, $2)
                 ON CONFLICT (item_code) DO UPDATE SET type_code = excluded.type_code"
            )
            .bind(item)
            .bind(&e.code)
        )?;
    }
    Ok(())
}

const TYPE_SELECT_BASE: &str = "SELECT t.code, t.name, t.department_id, d.name AS department_name, d.region_code, t.issuer_code, \
    t.holder_kind, t.valid_years, t.fields FROM licence_types t JOIN departments d ON d.id = t.department_id";
#[derive(Debug, sqlx::FromRow)]
struct TypeRow {
    code: String,
    name: String,
    department_id: Uuid,
    department_name: String,
    region_code: String,
    issuer_code: String,
    holder_kind: String,
    valid_years: Option<i32>,
    fields: String,
}

impl TypeRow {
    fn into_type(self) -> Result<LicenceType, LicenceError> {
        Ok(LicenceType {
            holder_kind: HolderKind::parse(&self.holder_kind)
                .ok_or_else(|| LicenceError::Internal(format!("证照类型 {} 的持证主体无效", self.code)))?,
            fields: serde_json::from_str(&self.fields).map_err(|e| LicenceError::Internal(e.to_string()))?,
            code: self.code,
            name: self.name,
            department_id: self.department_id,
            department_name: self.department_name,
            region_code: self.region_code,
            issuer_code: self.issuer_code,
            valid_years: self.valid_years,
        })
    }
}
