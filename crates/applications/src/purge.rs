//! Idle drafts: `notice_days` before a draft untouched for `draft_days` is removed, the
//! applicant is told (inbox and SMS); then it goes, files and all. Saving the draft again
//! starts the count afresh. A daily job, which also clears uploads that broke off.

use crate::ids::{AccountId, ApplicationId};
use crate::{ApplicationError, Applications};
use chrono::{DateTime, Duration, DurationRound, Utc};
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Db, DbError, exec, run, sqlx};
use govhall_messaging::{Channel, OutgoingMessage, Recipient, send, templates};
use serde_json::json;
use uuid::Uuid;

/// The job's name.
pub const PURGE_JOB: &str = "applications.purge";
const NOTICE: &str = "application.draft_expiring";

pub(crate) async fn install_templates(db: &Db) -> Result<(), ApplicationError> {
    let defaults = [
        (
            Channel::Sms,
            "",
            "您在网上办事大厅填写的“{{ item }}”申报草稿已{{ idle }}天未更新，将于{{ date }}删除。如需继续办理，请登录“我的办件”继续填写。",
        ),
        (
            Channel::Inbox,
            "申报草稿将于 {{ date }} 删除：{{ item }}",
            "您填写的“{{ item }}”申报草稿已{{ idle }}天未更新，按规定将于{{ date }}删除（含已上传的材料）。\n如需继续办理，请在“我的办件”中继续填写并提交；保存一次即可重新计时。",
        ),
    ];
    for (channel, subject, body) in defaults {
        templates::install_default(db, NOTICE, channel, subject, body)
            .await
            .map_err(|e| ApplicationError::Internal(e.to_string()))?;
    }
    Ok(())
}

/// Enqueues the purge at `at` (once per day).
pub async fn schedule(db: &Db, at: DateTime<Utc>) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let key = format!("{PURGE_JOB}:{}", at.format("%Y-%m-%d"));
    jobs::enqueue(&mut tx, NewJob::new(PURGE_JOB, ())?.idempotency_key(key).run_at(at)).await?;
    tx.commit().await
}

pub(crate) fn register(applications: Applications, registry: &mut JobRegistry) {
    registry.register(PURGE_JOB, move |ctx: JobContext| {
        let applications = applications.clone();
        async move {
            let now = ctx.db.now();
            let purged = applications.purge(now).await.map_err(JobError::retry)?;
            tracing::info!(?purged, "idle drafts purged");
            let next = now.duration_trunc(Duration::days(1)).unwrap_or(now) + Duration::days(1);
            schedule(&ctx.db, next).await.map_err(JobError::from)
        }
    });
}

/// What a purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Applicants told.
    pub noticed: usize,
    /// Drafts removed.
    pub removed: usize,
    /// Stored objects no file row described, removed.
    pub orphans: usize,
}

impl Applications {
    /// Tells the applicants of drafts soon to go, and removes those whose time is up.
    pub async fn purge(&self, now: DateTime<Utc>) -> Result<Purged, ApplicationError> {
        let s = self.settings();
        let mut purged = Purged::default();
        let notice_before = now - Duration::days(s.draft_days - s.notice_days);
        let mut conn = self.db().conn().await?;
        let due: Vec<(Uuid, Uuid, String, DateTime<Utc>)> = run!(conn, |c| sqlx::query_as(
            "SELECT id, applicant_id, item_name, updated_at FROM applications
             WHERE state = 'draft' AND purge_noticed_at IS NULL AND updated_at < $1"
        )
        .bind(notice_before)
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        for (id, applicant, item, updated_at) in due {
            let (id, applicant) = (ApplicationId::from_uuid(id), AccountId::from_uuid(applicant));
            match self.notice(now, id, applicant, &item, updated_at).await {
                Ok(true) => purged.noticed += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, %id, "an idle draft's notice failed; next time"),
            }
        }
        let mut conn = self.db().conn().await?;
        let expired: Vec<Uuid> = run!(conn, |c| sqlx::query_scalar(
            "SELECT id FROM applications WHERE state = 'draft' AND updated_at < $1
               AND purge_noticed_at IS NOT NULL AND purge_noticed_at <= $2"
        )
        .bind(now - Duration::days(s.draft_days))
        .bind(now - Duration::days(s.notice_days))
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        for id in expired.into_iter().map(ApplicationId::from_uuid) {
            match self.remove(id, Some(now - Duration::days(s.draft_days))).await {
                Ok(true) => purged.removed += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, %id, "an idle draft could not be removed; next time"),
            }
        }
        if let Err(e) = self.files().sweep_temporary().await {
            tracing::warn!(error = %e, "temporary uploads not swept");
        }
        match self.sweep_objects(now).await {
            Ok(n) => purged.orphans = n,
            Err(e) => tracing::warn!(error = %e, "objects without a file row not swept"),
        }
        Ok(purged)
    }

    /// Tells the applicant their draft will go; `false` when it changed meanwhile.
    async fn notice(
        &self,
        now: DateTime<Utc>,
        id: ApplicationId,
        applicant: AccountId,
        item: &str,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, ApplicationError> {
        let s = self.settings();
        {
            let account = self.identity().account(applicant).await?;
            let removal = std::cmp::max(updated_at + Duration::days(s.draft_days), now + Duration::days(s.notice_days));
            let date = govhall_core::clock::china_date(removal).format("%Y年%m月%d日").to_string();
            let params = json!({ "item": item, "date": date, "idle": (now - updated_at).num_days() });
            let mut tx = self.db().begin().await?;
            let marked = exec!(
                tx,
                sqlx::query(
                    "UPDATE applications SET purge_noticed_at = $1
                     WHERE id = $2 AND state = 'draft' AND purge_noticed_at IS NULL AND updated_at = $3"
                )
                .bind(now)
                .bind(id.as_uuid())
                .bind(updated_at)
            )?;
            if marked == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            let key = format!("{NOTICE}:{id}:{}", updated_at.timestamp());
            for (recipient, suffix) in
                [(Recipient::Account(applicant.as_uuid()), "inbox"), (Recipient::Phone(account.phone.clone()), "sms")]
            {
                let m =
                    OutgoingMessage::new(NOTICE, recipient, params.clone()).idempotency_key(format!("{key}:{suffix}"));
                send(&mut tx, self.messaging(), m).await.map_err(|e| ApplicationError::Internal(e.to_string()))?;
            }
            tx.commit().await?;
            Ok(true)
        }
    }
}
