//! 差评整改: a 差评 (levels 1–2) becomes a task of the department that handled the case, due in
//! `rectify_working_days` working days on the official calendar. Staff whose `evaluation.handle`
//! reaches the department call the applicant back and answer (rectified, or explained); the
//! applicant is told and rates the answer; a task still open after its due date is escalated to
//! the supervisors whose `evaluation.supervise` reaches it, once. Every answer is tracked: how
//! many were answered, on time, after a call back.

use crate::model::{Checked, Level};
use crate::notify;
use crate::{EvaluationId, Feedback, FeedbackError, RectificationId, attachments, report, staff_notice};
use chrono::{DateTime, NaiveDate, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_cases::model::Case;
use govhall_core::clock::china_date;
use govhall_db::{Tx, exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::{Access, AccountId, DepartmentId, Permission, Target};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// A 差评 task as staff and the applicant see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Rectification {
    /// Id.
    pub id: Uuid,
    /// The evaluation.
    pub evaluation_id: Uuid,
    /// The case's serial number.
    pub serial_number: String,
    /// The item.
    pub item_name: String,
    /// The level given.
    pub overall: i16,
    /// The reasons (JSON list of codes).
    pub reasons: String,
    /// The comment.
    pub comment: String,
    /// The department.
    pub department_id: Uuid,
    /// Its name.
    pub department_name: String,
    /// Its region.
    pub region_code: String,
    /// The answer is due by.
    pub due_on: NaiveDate,
    /// `open`, `answered`, or `closed` (the evaluation was voided).
    pub state: String,
    /// Escalated to the supervisors.
    pub escalated_at: Option<DateTime<Utc>>,
    /// The applicant was called back.
    pub called_back: bool,
    /// The answer.
    pub answer: String,
    /// Who answered.
    pub answered_by_name: String,
    /// When.
    pub answered_at: Option<DateTime<Utc>>,
    /// Answered by the due date.
    pub on_time: Option<bool>,
    /// The applicant's rating of the answer.
    pub rerating: Option<i16>,
    /// When.
    pub rerated_at: Option<DateTime<Utc>>,
    /// Opened.
    pub created_at: DateTime<Utc>,
}

impl Rectification {
    /// The state in Chinese.
    pub fn state_label(&self, today: NaiveDate) -> &'static str {
        match self.state.as_str() {
            "answered" => "已回复",
            "closed" => "评价已作废",
            _ if self.due_on < today => "已超期",
            _ => "待整改",
        }
    }

    /// The level given, in Chinese.
    pub fn level_label(&self) -> &'static str {
        Level::try_from(self.overall).map(Level::label).unwrap_or("")
    }

    /// The applicant's rating of the answer, in Chinese.
    pub fn rerating_label(&self) -> &'static str {
        self.rerating.and_then(|r| Level::try_from(r).ok()).map(Level::label).unwrap_or("")
    }

    /// The reasons' texts.
    pub fn reason_labels(&self) -> Vec<&'static str> {
        let codes: Vec<String> = serde_json::from_str(&self.reasons).unwrap_or_default();
        codes.iter().filter_map(|c| crate::model::reason_label(c)).collect()
    }

    pub(crate) fn target(&self) -> Target {
        Target {
            owner: None,
            department: Some(DepartmentId::from_uuid(self.department_id)),
            region: Some(self.region_code.clone()),
        }
    }
}

const SELECT: &str = "SELECT r.id, r.evaluation_id, e.serial_number, e.item_name, e.overall, e.reasons, e.comment,
        r.department_id, d.name AS department_name, r.region_code, r.due_on, r.state, r.escalated_at, r.called_back,
        r.answer, r.answered_by_name, r.answered_at, r.on_time, r.rerating, r.rerated_at, r.created_at
     FROM rectifications r JOIN evaluations e ON e.id = r.evaluation_id JOIN departments d ON d.id = r.department_id";

/// Which tasks a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskFilter {
    /// Waiting for an answer (overdue ones first).
    Open,
    /// Waiting past their due date.
    Overdue,
    /// Answered.
    Answered,
}

/// Opens the task for evaluation `evaluation` of `case` in `tx`, unless it has one.
pub(crate) async fn open_in(
    feedback: &Feedback,
    tx: &mut Tx,
    evaluation: EvaluationId,
    case: &Case,
    _checked: &Checked,
    now: DateTime<Utc>,
) -> Result<(), FeedbackError> {
    let today = china_date(now);
    let due = feedback.cases().calendar().add_working_days(today, feedback.settings().rectify_working_days);
    let id = RectificationId::new();
    let opened = exec!(
        tx,
        sqlx::query(
            "INSERT INTO rectifications (id, evaluation_id, department_id, region_code, due_on, state, created_at)
             VALUES ($1, $2, $3, $4, $5, 'open', $6) ON CONFLICT (evaluation_id) DO NOTHING"
        )
        .bind(id.as_uuid())
        .bind(evaluation.as_uuid())
        .bind(case.department_id.as_uuid())
        .bind(&case.region_code)
        .bind(due)
        .bind(now)
    )?;
    if opened == 1 {
        staff_notice::enqueue(tx, staff_notice::Notice::BadReview { task: id.as_uuid() }).await?;
    }
    Ok(())
}

impl Feedback {
    /// The tasks `access`'s `evaluation.handle` (or `evaluation.supervise`) reaches, soonest due
    /// first.
    pub async fn rectifications(
        &self,
        access: &Access,
        filter: TaskFilter,
        limit: i64,
    ) -> Result<Vec<Rectification>, FeedbackError> {
        let backend = self.db().backend();
        let scopes: Vec<String> = [Permission::EvaluationHandle, Permission::EvaluationSupervise]
            .into_iter()
            .filter_map(|p| access.filter(p).sql(backend, None, "r.department_id", "r.region_code"))
            .collect();
        if scopes.is_empty() {
            return Ok(Vec::new());
        }
        let today = china_date(self.db().now());
        let state = match filter {
            TaskFilter::Open => "r.state = 'open'",
            TaskFilter::Overdue => "r.state = 'open' AND r.due_on < $1",
            TaskFilter::Answered => "r.state = 'answered'",
        };
        let order = if filter == TaskFilter::Answered { "r.answered_at DESC" } else { "r.due_on, r.created_at" };
        let sql = format!("{SELECT} WHERE {state} AND ({}) ORDER BY {order} LIMIT $2", scopes.join(" OR "));
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(today).bind(limit).fetch_all(&mut *c).await)?)
    }

    pub(crate) async fn rectification_row(&self, id: RectificationId) -> Result<Rectification, FeedbackError> {
        let sql = format!("{SELECT} WHERE r.id = $1");
        let mut conn = self.db().conn().await?;
        let row: Option<Rectification> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.ok_or(FeedbackError::NotFound("整改任务"))
    }

    /// One task, for staff whose `evaluation.handle` or `evaluation.supervise` reaches it
    /// (others: not found).
    pub async fn rectification(&self, access: &Access, id: RectificationId) -> Result<Rectification, FeedbackError> {
        let r = self.rectification_row(id).await?;
        let t = r.target();
        if !access.covers(Permission::EvaluationHandle, &t) && !access.covers(Permission::EvaluationSupervise, &t) {
            return Err(FeedbackError::NotFound("整改任务"));
        }
        Ok(r)
    }

    /// Whether `access` may answer task `r` (its `evaluation.handle` reaches the department).
    pub fn handles(&self, access: &Access, r: &Rectification) -> bool {
        access.covers(Permission::EvaluationHandle, &r.target())
    }

    /// Whether `access` may decide appeals about task `r`'s evaluation.
    pub fn supervises(&self, access: &Access, r: &Rectification) -> bool {
        access.covers(Permission::EvaluationSupervise, &r.target())
    }

    /// An evaluation, for staff whose `evaluation.handle` or `evaluation.supervise` reaches its
    /// department (others: not found).
    pub async fn evaluation_for_staff(
        &self,
        access: &Access,
        id: EvaluationId,
    ) -> Result<crate::Evaluation, FeedbackError> {
        let e = self.evaluation(id).await?;
        let t = Target {
            owner: None,
            department: Some(DepartmentId::from_uuid(e.department_id)),
            region: Some(e.region_code.clone()),
        };
        if !access.covers(Permission::EvaluationHandle, &t) && !access.covers(Permission::EvaluationSupervise, &t) {
            return Err(FeedbackError::NotFound("评价"));
        }
        Ok(e)
    }

    /// The task of `evaluation`, if it has one.
    pub async fn task_of(&self, evaluation: EvaluationId) -> Result<Option<Rectification>, FeedbackError> {
        let sql = format!("{SELECT} WHERE r.evaluation_id = $1");
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(evaluation.as_uuid())
            .fetch_optional(&mut *c)
            .await)?)
    }

    /// Answers a task (staff whose `evaluation.handle` reaches it): what was done or why, and
    /// whether the applicant was called back. The applicant is told and asked to rate it.
    pub async fn answer(
        &self,
        access: &Access,
        actor: &Actor,
        id: RectificationId,
        called_back: bool,
        answer: &str,
        files: &[govhall_cases::files::NewFile],
    ) -> Result<Rectification, FeedbackError> {
        let r = self.rectification(access, id).await?;
        if !access.covers(Permission::EvaluationHandle, &r.target()) {
            return Err(FeedbackError::Forbidden("您没有处理该部门差评整改的权限".into()));
        }
        let answer = govhall_core::text::clean(answer.trim()).into_owned();
        let n = answer.chars().count();
        if !(10..=2000).contains(&n) {
            return Err(FeedbackError::Invalid("整改情况或说明应为 10 到 2000 个字".into()));
        }
        let max_bytes = self.cases().settings().max_file_bytes;
        attachments::check_all(files, max_bytes)?;
        let now = self.db().now();
        let on_time = china_date(now) <= r.due_on;
        let evaluation = self.evaluation(EvaluationId::from_uuid(r.evaluation_id)).await?;
        let case = self.cases().for_reckoning(govhall_cases::CaseId::from_uuid(evaluation.case_id)).await?.0;
        let phone = match case.applicant_id {
            Some(a) => self.identity().account(a).await.ok().map(|a| a.phone),
            None => None,
        };
        let mut tx = self.db().begin().await?;
        let changed = exec!(
            tx,
            sqlx::query(
                "UPDATE rectifications SET state = 'answered', called_back = $1, answer = $2, answered_by = $3,
                    answered_by_name = $4, answered_at = $5, on_time = $6
                 WHERE id = $7 AND state = 'open'"
            )
            .bind(called_back)
            .bind(&answer)
            .bind(actor.id.map(|a| a.as_uuid()))
            .bind(&actor.label)
            .bind(now)
            .bind(on_time)
            .bind(id.as_uuid())
        )?;
        if changed == 0 {
            return Err(FeedbackError::WrongState("该差评已回复或评价已作废".into()));
        }
        let owner = attachments::Owner::Rectification(id.as_uuid());
        attachments::attach(&mut tx, owner, attachments::AddedBy::Staff, files, max_bytes).await?;
        let params = json!({
            "serial": case.serial_number, "item": case.item_name, "department": r.department_name,
            "answer": answer, "link": self.link(&case.serial_number),
        });
        let key = format!("rectification:{}:answered", id.as_uuid());
        if let Some(account) = case.applicant_id {
            govhall_messaging::tell_person(
                &mut tx,
                self.messaging(),
                notify::ANSWERED,
                account.as_uuid(),
                phone.as_ref(),
                params,
                &key,
            )
            .await?;
        }
        report::enqueue(self, &mut tx, evaluation.id, report::Kind::Rectification).await?;
        let detail =
            format!("{}{}", if called_back { "已回访；" } else { "未回访；" }, if on_time { "按期" } else { "超期" });
        audit::record(&mut tx, actor, Event::success("evaluation.rectify", "case", &case.serial_number).detail(detail))
            .await?;
        tx.commit().await?;
        self.rectification_row(id).await
    }

    /// The applicant's rating of the department's answer to their 差评: once, after the answer.
    pub async fn rate_answer(
        &self,
        actor: &Actor,
        viewer: AccountId,
        serial: &str,
        level: i64,
    ) -> Result<Rectification, FeedbackError> {
        let level = Level::new(level)?;
        let (case, evaluation) = self.mine(viewer, serial).await?;
        let evaluation = evaluation.ok_or(FeedbackError::NotFound("评价"))?;
        let r = self.task_of(evaluation.id).await?.ok_or(FeedbackError::NotFound("整改任务"))?;
        if r.state != "answered" {
            return Err(FeedbackError::WrongState("部门回复后才能评价整改情况".into()));
        }
        let mut tx = self.db().begin().await?;
        let changed = exec!(
            tx,
            sqlx::query("UPDATE rectifications SET rerating = $1, rerated_at = $2 WHERE id = $3 AND rerating IS NULL")
                .bind(i16::from(level))
                .bind(self.db().now())
                .bind(r.id)
        )?;
        if changed == 0 {
            return Err(FeedbackError::AlreadyRated("已评价过整改情况".into()));
        }
        report::enqueue(self, &mut tx, evaluation.id, report::Kind::Rectification).await?;
        let event = Event::success("evaluation.rate_rectification", "case", &case.serial_number).detail(level.label());
        audit::record(&mut tx, actor, event).await?;
        tx.commit().await?;
        self.rectification_row(RectificationId::from_uuid(r.id)).await
    }

    /// Where the applicant rates `serial`.
    pub(crate) fn link(&self, serial: &str) -> String {
        format!("{}/account/cases/{serial}/evaluation", self.public_url())
    }

    /// Escalates every task still open after its due date (by `now`, China time) to the
    /// supervisors whose `evaluation.supervise` reaches it, once each. Returns how many.
    pub async fn escalate(&self, now: DateTime<Utc>) -> Result<usize, FeedbackError> {
        let today = china_date(now);
        let sql = format!("{SELECT} WHERE r.state = 'open' AND r.due_on < $1 AND r.escalated_at IS NULL LIMIT 500");
        let mut conn = self.db().conn().await?;
        let overdue: Vec<Rectification> =
            run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(today).fetch_all(&mut *c).await)?;
        drop(conn);
        if overdue.is_empty() {
            return Ok(0);
        }
        let supervisors = self.identity().staff_holding(Permission::EvaluationSupervise).await?;
        let mut escalated = 0;
        for r in overdue {
            let mut tx = self.db().begin().await?;
            let changed = exec!(
                tx,
                sqlx::query(
                    "UPDATE rectifications SET escalated_at = $1 WHERE id = $2 AND state = 'open' AND escalated_at IS NULL"
                )
                .bind(now)
                .bind(r.id)
            )?;
            if changed == 0 {
                tx.rollback().await?;
                continue;
            }
            let params = json!({
                "serial": r.serial_number, "item": r.item_name, "department": r.department_name,
                "due": r.due_on.format("%Y年%m月%d日").to_string(),
            });
            let t = r.target();
            for (account, access) in &supervisors {
                if access.covers(Permission::EvaluationSupervise, &t) {
                    let key = format!("rectification:{}:overdue:{}", r.id, account.as_uuid());
                    let m = govhall_messaging::OutgoingMessage::new(
                        notify::OVERDUE,
                        govhall_messaging::Recipient::Account(account.as_uuid()),
                        params.clone(),
                    )
                    .idempotency_key(key);
                    govhall_messaging::send(&mut tx, self.messaging(), m).await?;
                }
            }
            let event = Event::success("evaluation.escalate", "case", &r.serial_number)
                .detail(format!("差评整改超过期限 {}，已向监督人员督办", r.due_on));
            audit::record(&mut tx, &Actor::system("好差评督办"), event).await?;
            tx.commit().await?;
            escalated += 1;
        }
        Ok(escalated)
    }
}
