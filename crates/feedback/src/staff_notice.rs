//! Telling a department's staff of new work, by inbox: a 差评 task opened (those whose
//! `evaluation.handle` reaches it) and a complaint received or reopened (those whose
//! `complaint.handle` reaches it). The opening transaction enqueues a job; the job finds who holds
//! the permission (every staff account's access is read, which stays out of the rating's and the
//! complaint's transactions) and writes the messages, each keyed so that a retried job sends it
//! once.

use crate::complaints::handle::target as complaint_target;
use crate::{Feedback, FeedbackError, RectificationId, notify};
use govhall_db::Tx;
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_identity::Permission;
use govhall_messaging::{OutgoingMessage, Recipient};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

const JOB: &str = "feedback.staff_notice";

/// New work for a department.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) enum Notice {
    /// A 差评 task was opened.
    BadReview {
        /// The task.
        task: Uuid,
    },
    /// A complaint arrived (`reopened` 0), or its complainant had it handled again.
    Complaint {
        /// The complaint.
        complaint: Uuid,
        /// How many times it has been reopened.
        reopened: i32,
    },
}

impl Notice {
    fn key(self) -> String {
        match self {
            Notice::BadReview { task } => format!("{JOB}:task:{task}"),
            Notice::Complaint { complaint, reopened } => format!("{JOB}:complaint:{complaint}:{reopened}"),
        }
    }
}

/// Enqueues `notice` in `tx` (once per notice).
pub(crate) async fn enqueue(tx: &mut Tx, notice: Notice) -> Result<(), FeedbackError> {
    let job = NewJob::new(JOB, notice).map_err(FeedbackError::Db)?.idempotency_key(notice.key());
    jobs::enqueue(tx, job).await?;
    Ok(())
}

pub(crate) fn register(f: &Feedback, registry: &mut JobRegistry) {
    let feedback = f.clone();
    registry.register(JOB, move |ctx: JobContext| {
        let feedback = feedback.clone();
        async move {
            let notice: Notice = ctx.payload()?;
            match feedback.tell_staff(notice).await {
                Ok(_) => Ok(()),
                Err(e @ FeedbackError::NotFound(_)) => Err(JobError::permanent(e)),
                Err(e) => Err(JobError::retry(e)),
            }
        }
    });
}

impl Feedback {
    /// Tells the staff who handle `notice`'s department of it. Returns how many were told.
    pub(crate) async fn tell_staff(&self, notice: Notice) -> Result<usize, FeedbackError> {
        let (permission, target, template, params, key) = match notice {
            Notice::BadReview { task } => {
                let r = self.rectification_row(RectificationId::from_uuid(task)).await?;
                if r.state != "open" {
                    return Ok(0);
                }
                let params = json!({
                    "serial": r.serial_number, "item": r.item_name, "level": r.level_label(),
                    "reasons": r.reason_labels().join("；"), "due": r.due_on.format("%Y年%m月%d日").to_string(),
                });
                (
                    Permission::EvaluationHandle,
                    r.target(),
                    notify::BAD_REVIEW,
                    params,
                    format!("rectification:{task}:new"),
                )
            }
            Notice::Complaint { complaint, reopened } => {
                let c = self.complaint_row(complaint).await?;
                if !c.open() {
                    return Ok(0);
                }
                let what = if reopened == 0 { "收到投诉" } else { "投诉人申请重新办理投诉" };
                let params = json!({
                    "number": c.number, "department": c.department_name, "what": what, "subject": c.subject_label,
                    "category": c.category, "due": c.due_on.format("%Y年%m月%d日").to_string(),
                });
                let key = format!("complaint:{complaint}:received:{reopened}");
                (Permission::ComplaintHandle, complaint_target(&c), notify::COMPLAINT_RECEIVED, params, key)
            }
        };
        let staff = self.identity().staff_holding(permission).await?;
        let mut tx = self.db().begin().await?;
        let mut told = 0;
        for (account, _) in staff.iter().filter(|(_, a)| a.covers(permission, &target)) {
            let m = OutgoingMessage::new(template, Recipient::Account(account.as_uuid()), params.clone())
                .idempotency_key(format!("{key}:{}", account.as_uuid()));
            govhall_messaging::send(&mut tx, self.messaging(), m).await?;
            told += 1;
        }
        tx.commit().await?;
        Ok(told)
    }
}
