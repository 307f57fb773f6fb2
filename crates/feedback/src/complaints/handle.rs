//! The staff's side of complaints: the complaints `complaint.handle` reaches (waiting, overdue,
//! answered), accepting or rejecting with a reason within `complaint_accept_working_days`,
//! answering within `complaint_answer_working_days` of acceptance; the complainant is told by SMS
//! at each answer; a stage past its deadline is escalated once to the supervisors whose
//! `complaint.supervise` reaches the department. Answered complaints close after the reopen
//! period unless the complainant reopened them.

use super::{Complaint, SELECT, step};
use crate::{Feedback, FeedbackError, notify};
use chrono::{DateTime, Duration, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::Phone;
use govhall_core::clock::china_date;
use govhall_db::{exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::{Access, DepartmentId, Permission, Target};
use serde_json::json;
use uuid::Uuid;

/// Which complaints a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComplaintFilter {
    /// Waiting for acceptance or an answer.
    Open,
    /// Past their stage's deadline.
    Overdue,
    /// Answered, rejected or closed.
    Done,
}

/// What staff decide.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Accept it for handling.
    Accept,
    /// Refuse it, saying why.
    Reject(String),
    /// Answer it.
    Answer(String),
}

pub(crate) fn target(c: &Complaint) -> Target {
    Target {
        owner: None,
        department: Some(DepartmentId::from_uuid(c.department_id)),
        region: Some(c.region_code.clone()),
    }
}

impl Feedback {
    /// The complaints `access` reaches (`complaint.handle` or `complaint.supervise`).
    pub async fn complaints_for_staff(
        &self,
        access: &Access,
        filter: ComplaintFilter,
        limit: i64,
    ) -> Result<Vec<Complaint>, FeedbackError> {
        let backend = self.db().backend();
        let scopes: Vec<String> = [Permission::ComplaintHandle, Permission::ComplaintSupervise]
            .into_iter()
            .filter_map(|p| access.filter(p).sql(backend, None, "c.department_id", "c.region_code"))
            .collect();
        if scopes.is_empty() {
            return Ok(Vec::new());
        }
        let state = match filter {
            ComplaintFilter::Open => "c.state IN ('received', 'accepted')",
            ComplaintFilter::Overdue => "c.state IN ('received', 'accepted') AND c.due_on < $1",
            ComplaintFilter::Done => "c.state IN ('answered', 'rejected', 'closed')",
        };
        let order = if filter == ComplaintFilter::Done { "c.updated_at DESC" } else { "c.due_on, c.created_at" };
        let sql = format!("{SELECT} WHERE {state} AND ({}) ORDER BY {order} LIMIT $2", scopes.join(" OR "));
        let today = china_date(self.db().now());
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(today).bind(limit).fetch_all(&mut *c).await)?)
    }

    /// One complaint for staff whose `complaint.handle` or `complaint.supervise` reaches it
    /// (others: not found).
    pub async fn complaint_for_staff(&self, access: &Access, id: Uuid) -> Result<Complaint, FeedbackError> {
        let c = self.complaint_row(id).await?;
        let t = target(&c);
        if !access.covers(Permission::ComplaintHandle, &t) && !access.covers(Permission::ComplaintSupervise, &t) {
            return Err(FeedbackError::NotFound("投诉"));
        }
        Ok(c)
    }

    /// Whether `access` may handle complaint `c`.
    pub fn handles_complaint(&self, access: &Access, c: &Complaint) -> bool {
        access.covers(Permission::ComplaintHandle, &target(c))
    }

    /// The complainant's number, for staff who handle the complaint (to call back).
    pub async fn complainant_phone(&self, access: &Access, actor: &Actor, id: Uuid) -> Result<String, FeedbackError> {
        let c = self.complaint_for_staff(access, id).await?;
        if !self.handles_complaint(access, &c) {
            return Err(FeedbackError::Forbidden("您没有处理该投诉的权限".into()));
        }
        let phone = self.phone_of(id).await?;
        audit::record_alone(self.db(), actor, Event::success("complaint.view_phone", "complaint", &c.number)).await?;
        Ok(phone.map(|p| p.as_str().to_owned()).unwrap_or_default())
    }

    async fn phone_of(&self, id: Uuid) -> Result<Option<Phone>, FeedbackError> {
        let mut conn = self.db().conn().await?;
        let sealed: String = run!(conn, |c| sqlx::query_scalar("SELECT phone_enc FROM complaints WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *c)
            .await)?;
        let plain = self.identity().keys().decrypt(&sealed).map_err(|e| FeedbackError::Internal(e.to_string()))?;
        Ok(Phone::parse(&plain).ok())
    }

    /// Accepts, rejects or answers complaint `id` (staff whose `complaint.handle` reaches it).
    pub async fn decide_complaint(
        &self,
        access: &Access,
        actor: &Actor,
        id: Uuid,
        decision: Decision,
    ) -> Result<Complaint, FeedbackError> {
        let c = self.complaint_for_staff(access, id).await?;
        if !self.handles_complaint(access, &c) {
            return Err(FeedbackError::Forbidden("您没有处理该投诉的权限".into()));
        }
        let now = self.db().now();
        let today = china_date(now);
        let answer_days = self.settings().complaint_answer_working_days;
        let (event, text) = match &decision {
            Decision::Accept => ("accepted", String::new()),
            Decision::Reject(reason) => ("rejected", super::clean(reason, 5, 1000, "不予受理的理由")?),
            Decision::Answer(answer) => ("answered", super::clean(answer, 10, 4000, "答复")?),
        };
        let due = self.cases().calendar().add_working_days(today, answer_days);
        let phone = self.phone_of(id).await?;
        let mut tx = self.db().begin().await?;
        let changed = match decision {
            Decision::Accept => exec!(
                tx,
                sqlx::query(
                    "UPDATE complaints SET state = 'accepted', due_on = $1, escalated_at = NULL, updated_at = $2
                     WHERE id = $3 AND state = 'received'"
                )
                .bind(due)
                .bind(now)
                .bind(id)
            )?,
            Decision::Reject(_) | Decision::Answer(_) => exec!(
                tx,
                sqlx::query(
                    "UPDATE complaints SET state = $1, answer = $2, answered_at = $3, updated_at = $3
                     WHERE id = $4 AND state = $5"
                )
                .bind(event)
                .bind(&text)
                .bind(now)
                .bind(id)
                .bind(if event == "rejected" { "received" } else { "accepted" })
            )?,
        };
        if changed == 0 {
            return Err(FeedbackError::WrongState(format!("该投诉{}，不能这样处理", c.state_label())));
        }
        step(&mut tx, id, event, "staff", &actor.label, &text, now).await?;
        if event != "accepted" {
            let params = json!({"number": c.number, "department": c.department_name,
                "what": if event == "answered" { "已答复" } else { "不予受理" }});
            if let Some(phone) = phone {
                let m = govhall_messaging::OutgoingMessage::new(
                    notify::COMPLAINT_ANSWERED,
                    govhall_messaging::Recipient::Phone(phone),
                    params.clone(),
                )
                .idempotency_key(format!("complaint:{id}:{event}:{}", c.reopened));
                govhall_messaging::send(&mut tx, self.messaging(), m).await?;
            }
            if let Some(account) = c.complainant_id {
                let m = govhall_messaging::OutgoingMessage::new(
                    notify::COMPLAINT_ANSWERED,
                    govhall_messaging::Recipient::Account(account),
                    params,
                )
                .idempotency_key(format!("complaint:{id}:{event}:{}:inbox", c.reopened));
                govhall_messaging::send(&mut tx, self.messaging(), m).await?;
            }
        }
        audit::record(&mut tx, actor, Event::success(&format!("complaint.{event}"), "complaint", &c.number)).await?;
        tx.commit().await?;
        self.complaint_row(id).await
    }

    /// Escalates every complaint whose stage is past its deadline (by `now`) to the supervisors,
    /// once per stage; closes answered complaints whose reopen period ended. Returns how many
    /// were escalated.
    pub async fn sweep_complaints(&self, now: DateTime<Utc>) -> Result<usize, FeedbackError> {
        let today = china_date(now);
        let mut conn = self.db().conn().await?;
        let reopen = Duration::days(i64::from(self.settings().complaint_reopen_days));
        let ended: Vec<Uuid> = run!(conn, |c| sqlx::query_scalar(
            "SELECT id FROM complaints WHERE state = 'answered' AND answered_at < $1 LIMIT 500"
        )
        .bind(now - reopen)
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        for id in ended {
            let mut tx = self.db().begin().await?;
            let closed = exec!(
                tx,
                sqlx::query(
                    "UPDATE complaints SET state = 'closed', updated_at = $1 WHERE id = $2 AND state = 'answered'"
                )
                .bind(now)
                .bind(id)
            )?;
            if closed == 1 {
                step(&mut tx, id, "closed", "system", "系统", "答复后未申请重新办理，自动办结", now).await?;
            }
            tx.commit().await?;
        }
        let sql = format!(
            "{SELECT} WHERE c.state IN ('received', 'accepted') AND c.due_on < $1 AND c.escalated_at IS NULL LIMIT 500"
        );
        let mut conn = self.db().conn().await?;
        let overdue: Vec<Complaint> =
            run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(today).fetch_all(&mut *c).await)?;
        drop(conn);
        if overdue.is_empty() {
            return Ok(0);
        }
        let supervisors = self.identity().staff_holding(Permission::ComplaintSupervise).await?;
        let mut escalated = 0;
        for c in overdue {
            let mut tx = self.db().begin().await?;
            let changed = exec!(
                tx,
                sqlx::query(
                    "UPDATE complaints SET escalated_at = $1 WHERE id = $2 AND escalated_at IS NULL AND due_on < $3"
                )
                .bind(now)
                .bind(c.id)
                .bind(today)
            )?;
            if changed == 0 {
                tx.rollback().await?;
                continue;
            }
            let params = json!({"number": c.number, "department": c.department_name, "state": c.state_label(),
                "due": c.due_on.format("%Y年%m月%d日").to_string()});
            for (account, access) in &supervisors {
                if access.covers(Permission::ComplaintSupervise, &target(&c)) {
                    let m = govhall_messaging::OutgoingMessage::new(
                        notify::COMPLAINT_OVERDUE,
                        govhall_messaging::Recipient::Account(account.as_uuid()),
                        params.clone(),
                    )
                    .idempotency_key(format!(
                        "complaint:{}:overdue:{}:{}",
                        c.id,
                        c.reopened,
                        account.as_uuid()
                    ));
                    govhall_messaging::send(&mut tx, self.messaging(), m).await?;
                }
            }
            step(
                &mut tx,
                c.id,
                "escalated",
                "system",
                "系统",
                &format!("超过期限 {}，已转监督部门督办", c.due_on),
                now,
            )
            .await?;
            audit::record(
                &mut tx,
                &Actor::system("投诉督办"),
                Event::success("complaint.escalate", "complaint", &c.number),
            )
            .await?;
            tx.commit().await?;
            escalated += 1;
        }
        Ok(escalated)
    }
}
