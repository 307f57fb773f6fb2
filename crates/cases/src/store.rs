//! Reading cases and their history.

use crate::deadline::Warning;
use crate::ids::{AccountId, CaseId, DepartmentId, EnterpriseId};
use crate::model::{
    CASE_COLUMNS, CASE_FROM, Case, CaseEvent, CaseEventRow, CaseRow, Outcome, SubmittedMaterial, mask_name, unit_from,
};
use crate::workflow::Workflow;
use crate::{CaseError, Cases};
use govhall_catalog::model::TimeLimit;
use govhall_db::{Target, run, sqlx, sqlx::AssertSqlSafe};

pub(crate) fn to_case(row: CaseRow) -> Result<(Case, CaseRow), CaseError> {
    // Checked when it was saved; read as stored, so that a later, stricter check never locks
    // old cases out of every list.
    let workflow: Workflow = serde_json::from_str(&row.workflow)
        .map_err(|e| CaseError::Internal(format!("办件 {} 的流程无法读取：{e}", row.serial_number)))?;
    let step_name = workflow.step(&row.step).map_or_else(|| row.step.clone(), |s| s.name.clone());
    let materials: Vec<SubmittedMaterial> = serde_json::from_str(&row.materials).unwrap_or_default();
    let case = Case {
        id: CaseId::from_uuid(row.id),
        serial_number: row.serial_number.clone(),
        item_code: row.item_code.clone(),
        item_version: row.item_version,
        item_name: row.item_name.clone(),
        department_id: DepartmentId::from_uuid(row.department_id),
        department_name: row.department_name.clone(),
        region_code: row.region_code.clone(),
        applicant_id: row.applicant_id.map(AccountId::from_uuid),
        enterprise_id: row.enterprise_id.map(EnterpriseId::from_uuid),
        applicant_masked: mask_name(&row.applicant_name, row.enterprise_id.is_some()),
        workflow,
        step: row.step.clone(),
        step_name,
        back_step: row.back_step.clone(),
        is_open: row.is_open,
        outcome: row.outcome.as_deref().and_then(Outcome::parse),
        limit: TimeLimit { amount: u32::try_from(row.limit_amount).unwrap_or(0), unit: unit_from(&row.limit_unit) },
        accepted_on: row.accepted_on,
        due_on: row.due_on,
        paused_on: row.paused_on,
        days_left: row.days_left,
        step_due_on: row.step_due_on,
        warning: Warning::parse(&row.warning).unwrap_or(Warning::None),
        escalated_at: row.escalated_at,
        assignee_id: row.assignee_id.map(AccountId::from_uuid),
        assignee_name: row.assignee_name.clone(),
        submitted_at: row.submitted_at,
        updated_at: row.updated_at,
        decided_at: row.decided_at,
        closed_at: row.closed_at,
        revision: row.revision,
        channel: crate::model::Channel::parse(&row.channel),
        materials,
    };
    Ok((case, row))
}

/// The cases of `rows` that can be read; one that cannot is logged and left out, so that one
/// damaged row never empties a whole list.
pub(crate) fn readable(rows: Vec<CaseRow>) -> Vec<Case> {
    rows.into_iter()
        .filter_map(|r| match to_case(r) {
            Ok((case, _)) => Some(case),
            Err(e) => {
                tracing::error!(error = %e, "a case left out of a list");
                None
            }
        })
        .collect()
}

/// The row of case `id`.
pub(crate) async fn row_by_id(conn: &mut impl Target, id: CaseId) -> Result<Option<CaseRow>, CaseError> {
    let sql = format!("SELECT {CASE_COLUMNS} {CASE_FROM} WHERE c.id = $1");
    Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(id.as_uuid()).fetch_optional(&mut *c).await)?)
}

/// The row of the case numbered `serial`.
pub(crate) async fn row_by_serial(conn: &mut impl Target, serial: &str) -> Result<Option<CaseRow>, CaseError> {
    let sql = format!("SELECT {CASE_COLUMNS} {CASE_FROM} WHERE c.serial_number = $1");
    Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(serial).fetch_optional(&mut *c).await)?)
}

impl Cases {
    pub(crate) async fn load(&self, id: CaseId) -> Result<(Case, CaseRow), CaseError> {
        let mut conn = self.db().conn().await?;
        let row = row_by_id(&mut conn, id).await?.ok_or(CaseError::NotFound)?;
        to_case(row)
    }

    pub(crate) async fn load_by_serial(&self, serial: &str) -> Result<Option<(Case, CaseRow)>, CaseError> {
        let mut conn = self.db().conn().await?;
        row_by_serial(&mut conn, serial).await?.map(to_case).transpose()
    }

    /// A case's history, oldest first.
    pub async fn history(&self, case: CaseId) -> Result<Vec<CaseEvent>, CaseError> {
        let mut conn = self.db().conn().await?;
        let rows: Vec<CaseEventRow> = run!(conn, |c| {
            sqlx::query_as(
            "SELECT id, seq, action, label, from_step, to_step, actor_kind, actor_id, actor_name, note, requested, at
             FROM case_events WHERE case_id = $1 ORDER BY seq"
        )
        .bind(case.as_uuid())
        .fetch_all(&mut *c)
        .await
        })?;
        Ok(rows.into_iter().map(CaseEvent::from).collect())
    }
}
