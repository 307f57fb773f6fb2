//! Where complaints go: the subject's own department, unless a rule says otherwise. A rule names a
//! category (or every one) and a region prefix (or everywhere) and the department that takes such
//! complaints (a hall's complaints, or 廉洁与作风 to a supervising department); the most specific
//! matching rule wins (a category beats none, a longer region prefix beats a shorter). Rules are
//! kept by staff with `complaint.supervise`, audited.

use crate::{Feedback, FeedbackError};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{exec, run, sqlx};
use govhall_identity::{Access, DepartmentId, Permission};
use serde::Serialize;
use uuid::Uuid;

/// A routing rule.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Rule {
    /// Id.
    pub id: Uuid,
    /// The category it matches ('' every one).
    pub category: String,
    /// The region prefix it matches ('' everywhere).
    pub region_prefix: String,
    /// The department that takes the complaints.
    pub department_id: Uuid,
    /// Its name.
    pub department_name: String,
}

impl Feedback {
    /// Every rule, the most specific first.
    pub async fn complaint_rules(&self) -> Result<Vec<Rule>, FeedbackError> {
        let mut conn = self.db().conn().await?;
        let mut rules: Vec<Rule> = run!(conn, |c| sqlx::query_as(
            "SELECT r.id, r.category, r.region_prefix, r.department_id, d.name AS department_name
             FROM complaint_routes r JOIN departments d ON d.id = r.department_id"
        )
        .fetch_all(&mut *c)
        .await)?;
        rules.sort_by_key(|r| (r.category.is_empty(), std::cmp::Reverse(r.region_prefix.len()), r.id));
        Ok(rules)
    }

    /// The department a complaint of `category` from `region` goes to: the most specific rule's,
    /// else `subject`'s own.
    pub(crate) async fn route(
        &self,
        category: &str,
        region: &str,
        subject: Option<DepartmentId>,
    ) -> Result<DepartmentId, FeedbackError> {
        let rule = self.complaint_rules().await?.into_iter().find(|r| {
            (r.category.is_empty() || r.category == category) && region.starts_with(r.region_prefix.as_str())
        });
        match (rule, subject) {
            (Some(r), _) => Ok(DepartmentId::from_uuid(r.department_id)),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(FeedbackError::Invalid(
                "该服务大厅尚未设置投诉受理部门，请选择具体的事项或部门投诉，或拨打服务热线".into(),
            )),
        }
    }

    /// Adds a rule (staff with `complaint.supervise` anywhere).
    pub async fn add_complaint_rule(
        &self,
        access: &Access,
        actor: &Actor,
        category: &str,
        region_prefix: &str,
        department: Uuid,
    ) -> Result<Uuid, FeedbackError> {
        if !access.has(Permission::ComplaintSupervise) {
            return Err(FeedbackError::Forbidden("您没有设置投诉分派规则的权限".into()));
        }
        let category = category.trim();
        if !category.is_empty() && !super::CATEGORIES.contains(&category) {
            return Err(FeedbackError::Invalid("投诉类别不在可选类别中".into()));
        }
        let prefix = region_prefix.trim();
        if prefix.len() > 6 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FeedbackError::Invalid("地区应为行政区划代码的前几位数字（如 4401），或留空表示全部".into()));
        }
        let d = govhall_identity::departments::get(self.db(), DepartmentId::from_uuid(department))
            .await?
            .ok_or(FeedbackError::NotFound("部门"))?;
        let id = Uuid::now_v7();
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO complaint_routes (id, category, region_prefix, department_id, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)"
            )
            .bind(id)
            .bind(category)
            .bind(prefix)
            .bind(department)
            .bind(&actor.label)
            .bind(self.db().now())
        )?;
        let detail = format!("{} / {} → {}", if category.is_empty() { "全部类别" } else { category }, prefix, d.name);
        audit::record(&mut tx, actor, Event::success("complaint.route_add", "complaint_route", id).detail(detail))
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Removes a rule (staff with `complaint.supervise` anywhere).
    pub async fn remove_complaint_rule(&self, access: &Access, actor: &Actor, id: Uuid) -> Result<(), FeedbackError> {
        if !access.has(Permission::ComplaintSupervise) {
            return Err(FeedbackError::Forbidden("您没有设置投诉分派规则的权限".into()));
        }
        let mut tx = self.db().begin().await?;
        let removed = exec!(tx, sqlx::query("DELETE FROM complaint_routes WHERE id = $1").bind(id))?;
        if removed == 0 {
            return Err(FeedbackError::NotFound("分派规则"));
        }
        audit::record(&mut tx, actor, Event::success("complaint.route_remove", "complaint_route", id)).await?;
        tx.commit().await?;
        Ok(())
    }
}
