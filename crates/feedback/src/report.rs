//! The report to the upstream 好差评 system (the national or provincial platform): every
//! evaluation, change, rectification and voiding is posted as JSON, signed with HMAC-SM3 over
//! time, nonce and body (the hall's signed-message scheme), by a job enqueued in the same
//! transaction as the change. The report's id travels as its idempotency key, so a retry after a
//! lost answer is recorded upstream once. A failure is retried by the job queue with backoff;
//! the report's state and last error show to staff on the evaluation. Nothing is reported when
//! `[feedback] upstream_url` is empty. No personal data leaves: no names, numbers or accounts.

use crate::model::INDICATORS;
use crate::{EvaluationId, Feedback, FeedbackError};
use chrono::{DateTime, Utc};
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Tx, exec, run, sqlx};
use govhall_messaging::signed::{self, Signer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// The job's kind.
pub const JOB: &str = "feedback.report";
/// Tries before a report is given up as failed (the queue's backoff spreads them over hours).
pub const TRIES: i32 = 12;
/// The header carrying the report's id (the upstream system's idempotency key).
pub const REPORT_ID: &str = "x-govhall-report-id";

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An evaluation given or changed.
    Evaluation,
    /// The department's answer to a 差评, or the applicant's rating of it.
    Rectification,
    /// An evaluation voided after an appeal.
    Void,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Evaluation => "evaluation",
            Kind::Rectification => "rectification",
            Kind::Void => "void",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    report: Uuid,
}

/// A report as staff see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Report {
    /// Id (the idempotency key upstream).
    pub id: Uuid,
    /// `evaluation`, `rectification` or `void`.
    pub kind: String,
    /// `pending`, `sent` or `failed` (given up after the queue's tries).
    pub state: String,
    /// Tries so far.
    pub attempts: i32,
    /// The last failure.
    pub last_error: String,
    /// Made.
    pub created_at: DateTime<Utc>,
    /// Accepted upstream.
    pub sent_at: Option<DateTime<Utc>>,
}

impl Report {
    /// The state in Chinese.
    pub fn state_label(&self) -> &'static str {
        match self.state.as_str() {
            "sent" => "已上报",
            "failed" => "上报失败",
            _ if self.attempts > 0 => "上报失败，等待重试",
            _ => "等待上报",
        }
    }

    /// What it reports, in Chinese.
    pub fn kind_label(&self) -> &'static str {
        match self.kind.as_str() {
            "rectification" => "差评整改",
            "void" => "评价作废",
            _ => "评价",
        }
    }
}

/// Records a report of `evaluation` and enqueues its sending in `tx` (nothing when no upstream
/// system is configured).
pub(crate) async fn enqueue(
    feedback: &Feedback,
    tx: &mut Tx,
    evaluation: EvaluationId,
    kind: Kind,
) -> Result<(), FeedbackError> {
    if feedback.settings().upstream_url.trim().is_empty() {
        return Ok(());
    }
    let id = Uuid::now_v7();
    let now = feedback.db().now();
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO evaluation_reports (id, evaluation_id, kind, state, attempts, last_error, created_at)
             VALUES ($1, $2, $3, 'pending', 0, '', $4)"
        )
        .bind(id)
        .bind(evaluation.as_uuid())
        .bind(kind.as_str())
        .bind(now)
    )?;
    let job = NewJob::new(JOB, &Payload { report: id })
        .map_err(FeedbackError::Db)?
        .idempotency_key(format!("{JOB}:{id}"))
        .max_attempts(TRIES);
    jobs::enqueue(tx, job).await?;
    Ok(())
}

pub(crate) fn register(f: &Feedback, registry: &mut JobRegistry) {
    let feedback = f.clone();
    registry.register(JOB, move |ctx: JobContext| {
        let feedback = feedback.clone();
        async move {
            let payload: Payload = ctx.payload()?;
            feedback.send_report(payload.report, &ctx).await
        }
    });
}

impl Feedback {
    /// The reports of `evaluation`, oldest first.
    pub async fn reports_of(&self, evaluation: EvaluationId) -> Result<Vec<Report>, FeedbackError> {
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(
            "SELECT id, kind, state, attempts, last_error, created_at, sent_at FROM evaluation_reports
             WHERE evaluation_id = $1 ORDER BY created_at, id"
        )
        .bind(evaluation.as_uuid())
        .fetch_all(&mut *c)
        .await)?)
    }

    /// What report `id` says: the evaluation as it is now, its task, and what happened.
    async fn report_body(&self, id: Uuid) -> Result<Option<(String, serde_json::Value)>, FeedbackError> {
        let mut conn = self.db().conn().await?;
        let found: Option<(Uuid, String, String)> =
            run!(conn, |c| sqlx::query_as("SELECT evaluation_id, kind, state FROM evaluation_reports WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await)?;
        drop(conn);
        let Some((evaluation, kind, state)) = found else { return Ok(None) };
        if state == "sent" {
            return Ok(None);
        }
        let e = self.evaluation(EvaluationId::from_uuid(evaluation)).await?;
        let r = self.task_of(e.id).await?;
        let indicators: serde_json::Map<String, serde_json::Value> = INDICATORS
            .iter()
            .zip(e.indicators)
            .filter_map(|((key, _), level)| level.map(|l| ((*key).to_owned(), json!(l.get()))))
            .collect();
        let body = json!({
            "report_id": id,
            "source": self.settings().upstream_source,
            "kind": kind,
            "evaluation": {
                "id": e.id,
                "serial_number": e.serial_number,
                "item_code": e.item_code,
                "item_name": e.item_name,
                "department_id": e.department_id,
                "region_code": e.region_code,
                "channel": e.channel.as_str(),
                "overall": e.overall.get(),
                "indicators": indicators,
                "reasons": e.reasons,
                "comment": e.comment,
                "is_default": e.is_default,
                "rated_at": e.created_at,
                "changed_at": e.changed_at,
                "voided_at": e.voided_at,
                "void_reason": e.void_reason,
            },
            "rectification": r.map(|r| json!({
                "due_on": r.due_on,
                "state": r.state,
                "called_back": r.called_back,
                "answer": r.answer,
                "answered_at": r.answered_at,
                "on_time": r.on_time,
                "rerating": r.rerating,
            })),
        });
        Ok(Some((kind, body)))
    }

    async fn send_report(&self, id: Uuid, ctx: &JobContext) -> Result<(), JobError> {
        let Some((_, body)) = self.report_body(id).await.map_err(JobError::retry)? else { return Ok(()) };
        let bytes = serde_json::to_vec(&body).map_err(JobError::permanent)?;
        let signer = Signer::HmacSm3(self.settings().upstream_secret.expose().as_bytes().to_vec());
        let s = signer.sign(&bytes, self.db().now());
        let sent = self
            .http()
            .post(self.settings().upstream_url.trim())
            .header("content-type", "application/json")
            .header(signed::TIMESTAMP, s.timestamp)
            .header(signed::NONCE, s.nonce)
            .header(signed::SIGNATURE, s.signature)
            .header(REPORT_ID, id.to_string())
            .body(bytes)
            .send()
            .await;
        let failure = match sent {
            Ok(res) if res.status().is_success() => None,
            Ok(res) => Some(format!("上报系统返回 {}", res.status().as_u16())),
            Err(e) => Some(format!("无法连接上报系统：{}", if e.is_timeout() { "超时" } else { "连接失败" })),
        };
        let mut conn = self.db().conn().await.map_err(JobError::retry)?;
        let now = self.db().now();
        match failure {
            None => {
                exec!(
                    conn,
                    sqlx::query(
                        "UPDATE evaluation_reports SET state = 'sent', attempts = attempts + 1, sent_at = $1 WHERE id = $2"
                    )
                    .bind(now)
                    .bind(id)
                )
                .map_err(|e| JobError::retry(govhall_db::DbError::from(e)))?;
                Ok(())
            }
            Some(why) => {
                let last = ctx.attempt >= TRIES;
                exec!(
                    conn,
                    sqlx::query(
                        "UPDATE evaluation_reports SET state = $1, attempts = attempts + 1, last_error = $2 WHERE id = $3"
                    )
                    .bind(if last { "failed" } else { "pending" })
                    .bind(&why)
                    .bind(id)
                )
                .map_err(|e| JobError::retry(govhall_db::DbError::from(e)))?;
                tracing::warn!(report = %id, attempt = ctx.attempt, error = %why, "好差评 report not accepted upstream");
                Err(JobError::retry(FeedbackError::Internal(why)))
            }
        }
    }
}
