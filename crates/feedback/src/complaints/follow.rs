//! The complainant's side after making a complaint: 我的投诉, the look-up by number and query
//! password (counted before it is checked), the history, adding information, reopening within the
//! period after the answer, rating the answer.

use super::{Complaint, SELECT, Step, clean, step};
use crate::attachments::{self, AddedBy, Owner};
use crate::staff_notice::{self, Notice};
use crate::{Feedback, FeedbackError};
use chrono::Duration;
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::clock::china_date;
use govhall_db::{exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::AccountId;
use uuid::Uuid;

/// What a complainant does after making a complaint.
#[derive(Debug, Clone)]
pub enum FollowUp {
    /// Adds information, with files (at most [`crate::attachments::MAX_FILES`]).
    Info(String, Vec<govhall_cases::files::NewFile>),
    /// Asks for it to be handled again, saying why.
    Reopen(String),
    /// Rates the answer (1–5), which closes it.
    Rate(i64),
}

impl Feedback {
    /// The complaints `viewer` made signed in, newest first.
    pub async fn my_complaints(&self, viewer: AccountId) -> Result<Vec<Complaint>, FeedbackError> {
        let sql = format!("{SELECT} WHERE c.complainant_id = $1 ORDER BY c.created_at DESC LIMIT 100");
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(viewer.as_uuid()).fetch_all(&mut *c).await)?)
    }

    /// One of `viewer`'s complaints by number (another's: not found).
    pub async fn my_complaint(&self, viewer: AccountId, number: &str) -> Result<Complaint, FeedbackError> {
        let sql = format!("{SELECT} WHERE c.number = $1 AND c.complainant_id = $2");
        let mut conn = self.db().conn().await?;
        let row: Option<Complaint> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(number.trim())
            .bind(viewer.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.ok_or(FeedbackError::NotFound("投诉"))
    }

    /// A complaint by its number and query password (anyone holding them), counted like progress
    /// queries: every try is counted before it is checked (tries sent at once cannot pass the
    /// limit together) and forgotten when right; past the failures of a number or of `client`
    /// in half an hour, nothing is checked.
    pub async fn complaint_by_password(
        &self,
        number: &str,
        password: &str,
        client: &str,
    ) -> Result<Complaint, FeedbackError> {
        let number: String = number.chars().filter(|c| !c.is_whitespace()).take(30).collect();
        let now = self.db().now();
        let attempt = Uuid::now_v7();
        let mut conn = self.db().conn().await?;
        exec!(
            conn,
            sqlx::query("INSERT INTO complaint_lookup_failures (id, client, number, at) VALUES ($1, $2, $3, $4)")
                .bind(attempt)
                .bind(client)
                .bind(&number)
                .bind(now)
        )?;
        let (by_client, by_number): (i64, i64) = run!(conn, |c| sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM complaint_lookup_failures WHERE client = $1 AND at > $3),
                    (SELECT COUNT(*) FROM complaint_lookup_failures WHERE number = $2 AND at > $3)"
        )
        .bind(client)
        .bind(&number)
        .bind(now - Duration::minutes(30))
        .fetch_one(&mut *c)
        .await)?;
        if by_client > 20 || by_number > 5 {
            return Err(FeedbackError::TooMany("查询失败次数过多，请 30 分钟后再试".into()));
        }
        let found: Option<(Uuid, String)> =
            run!(conn, |c| sqlx::query_as("SELECT id, password_hash FROM complaints WHERE number = $1")
                .bind(&number)
                .fetch_optional(&mut *c)
                .await)?;
        let keys = self.identity().keys();
        match found {
            Some((id, hash)) if govhall_cases::password::verify(keys, &number, password, &hash) => {
                exec!(conn, sqlx::query("DELETE FROM complaint_lookup_failures WHERE id = $1").bind(attempt))?;
                drop(conn);
                self.complaint_row(id).await
            }
            _ => Err(FeedbackError::NotFound("投诉")),
        }
    }

    /// `complaint` as it is now (after a follow-up: read again by its id, not by its password,
    /// so that a look-up limit reached meanwhile does not hide what was just saved).
    pub async fn complaint_now(&self, complaint: &Complaint) -> Result<Complaint, FeedbackError> {
        self.complaint_row(complaint.id).await
    }

    /// A complaint's history, oldest first; staff names stay out of the complainant's view.
    pub async fn complaint_steps(&self, id: Uuid, for_staff: bool) -> Result<Vec<Step>, FeedbackError> {
        let mut conn = self.db().conn().await?;
        let mut steps: Vec<Step> = run!(conn, |c| {
            sqlx::query_as(
            "SELECT action, actor_kind, actor_name, note, at FROM complaint_events WHERE complaint_id = $1 ORDER BY at, id"
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await
        })?;
        if !for_staff {
            for s in steps.iter_mut().filter(|s| s.actor_kind == "staff") {
                s.actor_name = "承办部门".into();
            }
        }
        Ok(steps)
    }

    /// The complainant adds information, reopens an answered complaint (within the reopen
    /// period), or rates the answer (once).
    pub async fn follow_up(&self, actor: &Actor, complaint: &Complaint, action: FollowUp) -> Result<(), FeedbackError> {
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        let (event, note) = match &action {
            FollowUp::Info(text, files) => {
                if matches!(complaint.state.as_str(), "closed" | "rejected") {
                    return Err(FeedbackError::WrongState("投诉已办结，不能再补充".into()));
                }
                let text = clean(text, 2, 2000, "补充情况")?;
                let max_bytes = self.cases().settings().max_file_bytes;
                attachments::check_all(files, max_bytes)?;
                // Also without files: the complaint must still be open when this is written.
                attachments::count_complaint_files(&mut tx, complaint.id, files.len()).await?;
                let owner = Owner::Complaint(complaint.id);
                attachments::attach(&mut tx, owner, AddedBy::Complainant, files, max_bytes).await?;
                let note = match super::files_note(files.len()) {
                    n if n.is_empty() => text,
                    n => format!("{text}（{n}）"),
                };
                ("info", note)
            }
            FollowUp::Reopen(text) => {
                let days = i64::from(self.settings().complaint_reopen_days);
                let answered = complaint.answered_at.filter(|_| complaint.state == "answered");
                let Some(at) = answered else {
                    return Err(FeedbackError::WrongState("答复后才能申请重新办理".into()));
                };
                if now > at + Duration::days(days) {
                    return Err(FeedbackError::Expired(format!("答复 {days} 天后不能再申请重新办理")));
                }
                let reason = clean(text, 5, 2000, "重新办理的理由")?;
                let due = self
                    .cases()
                    .calendar()
                    .add_working_days(china_date(now), self.settings().complaint_answer_working_days);
                let reopened: Option<i32> = run!(tx, |c| sqlx::query_scalar(
                    "UPDATE complaints SET state = 'accepted', reopened = reopened + 1, due_on = $1,
                        escalated_at = NULL, updated_at = $2 WHERE id = $3 AND state = 'answered'
                     RETURNING reopened"
                )
                .bind(due)
                .bind(now)
                .bind(complaint.id)
                .fetch_optional(&mut *c)
                .await)?;
                let Some(reopened) = reopened else {
                    return Err(FeedbackError::WrongState("答复后才能申请重新办理".into()));
                };
                let notice = Notice::Complaint { complaint: complaint.id, reopened };
                staff_notice::enqueue(&mut tx, notice).await?;
                ("reopened", reason)
            }
            FollowUp::Rate(level) => {
                let level = crate::Level::new(*level)?;
                let changed = exec!(
                    tx,
                    sqlx::query(
                        "UPDATE complaints SET rating = $1, state = 'closed', updated_at = $2
                         WHERE id = $3 AND state = 'answered' AND rating IS NULL"
                    )
                    .bind(i16::from(level))
                    .bind(now)
                    .bind(complaint.id)
                )?;
                if changed == 0 {
                    return Err(FeedbackError::WrongState("答复后才能评价，且只能评价一次".into()));
                }
                ("rated", level.label().to_owned())
            }
        };
        step(&mut tx, complaint.id, event, "complainant", "投诉人", &note, now).await?;
        audit::record(&mut tx, actor, Event::success(&format!("complaint.{event}"), "complaint", &complaint.number))
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
