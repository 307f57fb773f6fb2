//! 申诉: a department (staff whose `evaluation.handle` reaches the evaluation) asks a supervisor
//! to void an evaluation it holds malicious or mistaken, saying why and with what evidence; a
//! supervisor whose `evaluation.supervise` reaches it upholds (the evaluation is voided: it
//! leaves the statistics, not the record; its task closes; the applicant and the upstream system
//! are told) or rejects. One appeal waits per evaluation at a time; everything is audited.

use crate::evaluate::count;
use crate::notify;
use crate::{AppealId, EvaluationId, Feedback, FeedbackError, attachments, report};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::{Access, DepartmentId, Permission, Target};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// An appeal.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Appeal {
    /// Id.
    pub id: Uuid,
    /// The evaluation.
    pub evaluation_id: Uuid,
    /// The case's serial number.
    pub serial_number: String,
    /// The item.
    pub item_name: String,
    /// The level appealed against.
    pub overall: i16,
    /// The evaluation's comment.
    pub comment: String,
    /// The department.
    pub department_id: Uuid,
    /// Its name.
    pub department_name: String,
    /// Its region.
    pub region_code: String,
    /// Why, and the evidence.
    pub reason: String,
    /// Who asked.
    pub asked_by_name: String,
    /// `pending`, `upheld` or `rejected`.
    pub state: String,
    /// Who decided.
    pub decided_by_name: String,
    /// The decision's note.
    pub decision_note: String,
    /// Asked.
    pub created_at: DateTime<Utc>,
    /// Decided.
    pub decided_at: Option<DateTime<Utc>>,
}

impl Appeal {
    /// The state in Chinese.
    pub fn state_label(&self) -> &'static str {
        match self.state.as_str() {
            "upheld" => "申诉成立，评价已作废",
            "rejected" => "申诉不成立",
            _ => "待审核",
        }
    }

    fn target(&self) -> Target {
        Target {
            owner: None,
            department: Some(DepartmentId::from_uuid(self.department_id)),
            region: Some(self.region_code.clone()),
        }
    }
}

const SELECT: &str = "SELECT a.id, a.evaluation_id, e.serial_number, e.item_name, e.overall, e.comment,
        a.department_id, d.name AS department_name, e.region_code, a.reason, a.asked_by_name, a.state,
        a.decided_by_name, a.decision_note, a.created_at, a.decided_at
     FROM evaluation_appeals a JOIN evaluations e ON e.id = a.evaluation_id JOIN departments d ON d.id = a.department_id";

impl Feedback {
    /// Asks to void `evaluation` (staff whose `evaluation.handle` reaches it).
    pub async fn appeal(
        &self,
        access: &Access,
        actor: &Actor,
        evaluation: EvaluationId,
        reason: &str,
        evidence: &[govhall_cases::files::NewFile],
    ) -> Result<Appeal, FeedbackError> {
        let e = self.evaluation(evaluation).await?;
        let target = Target {
            owner: None,
            department: Some(DepartmentId::from_uuid(e.department_id)),
            region: Some(e.region_code.clone()),
        };
        if !access.covers(Permission::EvaluationHandle, &target) {
            return Err(FeedbackError::NotFound("评价"));
        }
        if e.voided_at.is_some() {
            return Err(FeedbackError::WrongState("该评价已作废".into()));
        }
        let reason = govhall_core::text::clean(reason.trim()).into_owned();
        if !(10..=2000).contains(&reason.chars().count()) {
            return Err(FeedbackError::Invalid("申诉理由和证据说明应为 10 到 2000 个字".into()));
        }
        let max_bytes = self.cases().settings().max_file_bytes;
        attachments::check_all(evidence, max_bytes)?;
        let id = AppealId::new();
        let mut tx = self.db().begin().await?;
        let inserted = exec!(
            tx,
            sqlx::query(
                "INSERT INTO evaluation_appeals (id, evaluation_id, department_id, reason, asked_by, asked_by_name,
                    state, created_at)
                 SELECT $1, $2, $3, $4, $5, $6, 'pending', $7
                 WHERE NOT EXISTS (SELECT 1 FROM evaluation_appeals WHERE evaluation_id = $2 AND state = 'pending')"
            )
            .bind(id.as_uuid())
            .bind(e.id.as_uuid())
            .bind(e.department_id)
            .bind(&reason)
            .bind(actor.id.map(|a| a.as_uuid()))
            .bind(&actor.label)
            .bind(self.db().now())
        )
        .map_err(|err| match govhall_db::DbError::from(err) {
            d if d.is_unique_violation() => FeedbackError::WrongState("该评价已有待审核的申诉".into()),
            d => FeedbackError::Db(d),
        })?;
        if inserted == 0 {
            return Err(FeedbackError::WrongState("该评价已有待审核的申诉".into()));
        }
        let owner = attachments::Owner::Appeal(id.as_uuid());
        attachments::attach(&mut tx, owner, attachments::AddedBy::Staff, evidence, max_bytes).await?;
        audit::record(&mut tx, actor, Event::success("evaluation.appeal", "case", &e.serial_number).detail(&reason))
            .await?;
        tx.commit().await?;
        self.appeal_row(id).await
    }

    async fn appeal_row(&self, id: AppealId) -> Result<Appeal, FeedbackError> {
        let sql = format!("{SELECT} WHERE a.id = $1");
        let mut conn = self.db().conn().await?;
        let row: Option<Appeal> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.ok_or(FeedbackError::NotFound("申诉"))
    }

    /// The appeals about `evaluation`, newest first (for staff who may see it).
    pub async fn appeals_of(&self, evaluation: EvaluationId) -> Result<Vec<Appeal>, FeedbackError> {
        let sql = format!("{SELECT} WHERE a.evaluation_id = $1 ORDER BY a.created_at DESC");
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(evaluation.as_uuid())
            .fetch_all(&mut *c)
            .await)?)
    }

    /// The appeals waiting for a supervisor whose `evaluation.supervise` reaches them, oldest
    /// first.
    pub async fn pending_appeals(&self, access: &Access, limit: i64) -> Result<Vec<Appeal>, FeedbackError> {
        let scope = access.filter(Permission::EvaluationSupervise).sql(
            self.db().backend(),
            None,
            "a.department_id",
            "e.region_code",
        );
        let Some(scope) = scope else { return Ok(Vec::new()) };
        let sql = format!("{SELECT} WHERE a.state = 'pending' AND {scope} ORDER BY a.created_at LIMIT $1");
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(limit).fetch_all(&mut *c).await)?)
    }

    /// Decides an appeal (a supervisor whose `evaluation.supervise` reaches it).
    pub async fn decide_appeal(
        &self,
        access: &Access,
        actor: &Actor,
        id: AppealId,
        uphold: bool,
        note: &str,
    ) -> Result<Appeal, FeedbackError> {
        let a = self.appeal_row(id).await?;
        if !access.covers(Permission::EvaluationSupervise, &a.target()) {
            return Err(FeedbackError::NotFound("申诉"));
        }
        let note = govhall_core::text::clean(note.trim()).into_owned();
        if !(2..=1000).contains(&note.chars().count()) {
            return Err(FeedbackError::Invalid("审核意见应为 2 到 1000 个字".into()));
        }
        let e = self.evaluation(EvaluationId::from_uuid(a.evaluation_id)).await?;
        let case = self.cases().for_reckoning(govhall_cases::CaseId::from_uuid(e.case_id)).await?.0;
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        let changed = exec!(
            tx,
            sqlx::query(
                "UPDATE evaluation_appeals SET state = $1, decided_by = $2, decided_by_name = $3, decision_note = $4,
                    decided_at = $5 WHERE id = $6 AND state = 'pending'"
            )
            .bind(if uphold { "upheld" } else { "rejected" })
            .bind(actor.id.map(|x| x.as_uuid()))
            .bind(&actor.label)
            .bind(&note)
            .bind(now)
            .bind(a.id)
        )?;
        if changed == 0 {
            return Err(FeedbackError::WrongState("该申诉已审核".into()));
        }
        if uphold {
            let voided = exec!(
                tx,
                sqlx::query(
                    "UPDATE evaluations SET voided_at = $1, void_reason = $2 WHERE id = $3 AND voided_at IS NULL"
                )
                .bind(now)
                .bind(&note)
                .bind(e.id.as_uuid())
            )?;
            if voided == 1 {
                count(&mut tx, &e.counted(), -1).await?;
                exec!(
                    tx,
                    sqlx::query(
                        "UPDATE rectifications SET state = 'closed' WHERE evaluation_id = $1 AND state = 'open'"
                    )
                    .bind(e.id.as_uuid())
                )?;
                report::enqueue(self, &mut tx, e.id, report::Kind::Void).await?;
                let params = json!({
                    "serial": e.serial_number, "item": e.item_name, "department": a.department_name, "note": note,
                });
                let key = format!("evaluation:{}:voided", e.id.as_uuid());
                if let Some(account) = case.applicant_id {
                    govhall_messaging::tell_person(
                        &mut tx,
                        self.messaging(),
                        notify::VOIDED,
                        account.as_uuid(),
                        None,
                        params,
                        &key,
                    )
                    .await?;
                }
            }
        }
        let action = if uphold { "evaluation.void" } else { "evaluation.appeal_rejected" };
        audit::record(&mut tx, actor, Event::success(action, "case", &e.serial_number).detail(&note)).await?;
        tx.commit().await?;
        self.appeal_row(id).await
    }
}
