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

/// A case to insert, in its workflow's first step.
pub(crate) struct NewCaseRow<'a> {
    pub id: CaseId,
    pub serial: &'a str,
    pub password_hash: &'a str,
    pub guide: &'a govhall_catalog::store::Guide,
    pub applicant: Option<AccountId>,
    pub enterprise: Option<EnterpriseId>,
    pub applicant_name: &'a str,
    /// The applicant's number, mobile and the form, sealed.
    pub sealed: (String, String, String),
    pub materials: &'a str,
    pub workflow: &'a Workflow,
    pub limit: TimeLimit,
    pub step_due: Option<chrono::NaiveDate>,
    pub channel: crate::model::Channel,
    pub applicant_key: Option<&'a str>,
}

/// Inserts a new case (a submission or a registration), submitted now.
pub(crate) async fn insert_case(tx: &mut govhall_db::Tx, c: NewCaseRow<'_>) -> Result<(), CaseError> {
    let now = tx.db().now();
    let (number, phone, form) = &c.sealed;
    govhall_db::exec!(
        tx,
        sqlx::query(
            "INSERT INTO cases (id, serial_number, query_password_hash, item_id, item_code, item_version, item_name,
                department_id, region_code, applicant_id, enterprise_id, applicant_name, applicant_number_enc,
                contact_phone_enc, form_enc, materials, workflow, step, is_open, limit_unit, limit_amount,
                step_due_on, submitted_at, updated_at, channel, applicant_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, TRUE, $19,
                $20, $21, $22, $22, $23, $24)"
        )
        .bind(c.id.as_uuid())
        .bind(c.serial)
        .bind(c.password_hash)
        .bind(c.guide.item.id)
        .bind(&c.guide.item.code)
        .bind(c.guide.version)
        .bind(&c.guide.item.name)
        .bind(c.guide.item.department_id)
        .bind(&c.guide.item.region_code)
        .bind(c.applicant.map(|a| a.as_uuid()))
        .bind(c.enterprise.map(|e| e.as_uuid()))
        .bind(c.applicant_name)
        .bind(number)
        .bind(phone)
        .bind(form)
        .bind(c.materials)
        .bind(c.workflow.to_json())
        .bind(&c.workflow.first().code)
        .bind(crate::model::unit_name(c.limit.unit))
        .bind(i32::try_from(c.limit.amount).unwrap_or(i32::MAX))
        .bind(c.step_due)
        .bind(now)
        .bind(c.channel.as_str())
        .bind(c.applicant_key)
    )?;
    Ok(())
}
