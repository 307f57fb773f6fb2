//! Departments (部门): each in a region, possibly under another department.

use crate::IdentityError;
use crate::ids::DepartmentId;
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::sqlx::{self, AssertSqlSafe};
use govhall_db::{Db, exec, run};
use std::collections::BTreeSet;
use uuid::Uuid;

/// A department with its region's name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Department {
    /// Id.
    pub id: Uuid,
    /// Name (济南市市场监督管理局).
    pub name: String,
    /// The region's division code.
    pub region_code: String,
    /// The region's full name.
    pub region_name: String,
    /// The department above, if any.
    pub parent_id: Option<Uuid>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT d.id, d.name, d.region_code, r.full_name AS region_name, d.parent_id, d.created_at
                      FROM departments d JOIN regions r ON r.code = d.region_code";

/// Creates a department.
pub async fn create(
    db: &Db,
    actor: &Actor,
    name: &str,
    region_code: &str,
    parent: Option<DepartmentId>,
) -> Result<DepartmentId, IdentityError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(|c| c.is_control() || "<>".contains(c)) {
        return Err(IdentityError::field("invalid_department_name", "部门名称不能为空，不超过 100 个字，且不含尖括号"));
    }
    if crate::regions::get(db, region_code).await?.is_none() {
        return Err(IdentityError::field("unknown_region", format!("行政区划代码“{region_code}”不存在")));
    }
    if let Some(parent) = parent
        && get(db, parent).await?.is_none()
    {
        return Err(IdentityError::NotFound("上级部门"));
    }
    let id = DepartmentId::new();
    let mut tx = db.begin().await?;
    let inserted = exec!(
        tx,
        sqlx::query(
            "INSERT INTO departments (id, name, region_code, parent_id, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (region_code, name) DO NOTHING"
        )
        .bind(id.as_uuid())
        .bind(name)
        .bind(region_code)
        .bind(parent.map(|p| p.as_uuid()))
        .bind(db.now())
    )?;
    if inserted == 0 {
        return Err(IdentityError::Conflict(format!("该行政区划下已有名为“{name}”的部门")));
    }
    audit::record(&mut tx, actor, Event::success("department.create", "department", id).detail(name)).await?;
    tx.commit().await?;
    Ok(id)
}

/// One department.
pub async fn get(db: &Db, id: DepartmentId) -> Result<Option<Department>, IdentityError> {
    let mut conn = db.conn().await?;
    let sql = format!("{SELECT} WHERE d.id = $1");
    Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(id.as_uuid()).fetch_optional(&mut *c).await)?)
}

/// Every department, by region then name.
pub async fn list(db: &Db) -> Result<Vec<Department>, IdentityError> {
    let mut conn = db.conn().await?;
    let sql = format!("{SELECT} ORDER BY d.region_code, d.name");
    Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).fetch_all(&mut *c).await)?)
}

/// `id` and every department below it.
pub async fn subtree(db: &Db, id: DepartmentId) -> Result<BTreeSet<DepartmentId>, IdentityError> {
    let mut conn = db.conn().await?;
    let ids: Vec<Uuid> = run!(conn, |c| {
        sqlx::query_scalar(
            "WITH RECURSIVE sub(id) AS (
                 SELECT id FROM departments WHERE id = $1
                 UNION SELECT d.id FROM departments d JOIN sub ON d.parent_id = sub.id)
             SELECT id FROM sub",
        )
        .bind(id.as_uuid())
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(ids.into_iter().map(DepartmentId::from_uuid).collect())
}

/// The department called `name` in `region`, created if missing, inside the caller's
/// transaction (for importers, whose whole run commits or nothing does).
pub async fn ensure_in(tx: &mut govhall_db::Tx, name: &str, region_code: &str) -> Result<DepartmentId, IdentityError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(IdentityError::field("invalid_department_name", "部门名称不能为空，且不超过 100 个字"));
    }
    let now = tx.db().now();
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO departments (id, name, region_code, parent_id, created_at) VALUES ($1, $2, $3, NULL, $4)
             ON CONFLICT (region_code, name) DO NOTHING"
        )
        .bind(Uuid::now_v7())
        .bind(name)
        .bind(region_code)
        .bind(now)
    )?;
    let id: Uuid = run!(tx, |c| {
        sqlx::query_scalar("SELECT id FROM departments WHERE region_code = $1 AND name = $2")
            .bind(region_code)
            .bind(name)
            .fetch_one(&mut *c)
            .await
    })?;
    Ok(DepartmentId::from_uuid(id))
}
