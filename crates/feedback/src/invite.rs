//! The invitation to rate: when a case ends (the case engine's `case.closed` job, enqueued in
//! the move that ends it), its applicant is asked by inbox and SMS with a link, once; a second
//! invitation goes after `remind_days` if it is still unrated; where a province's rules count an
//! unrated case as rated, the sweep records `default_level` when the period ends, as a default
//! (kept apart in every count). Withdrawn cases are not rated.

use crate::evaluate::Rater;
use crate::model::{Channel, Checked, Level};
use crate::notify;
use crate::{Feedback, FeedbackError};
use chrono::{DateTime, Duration, Utc};
use govhall_audit::Actor;
use govhall_cases::CaseId;
use govhall_cases::closed::{Closed, JOB};
use govhall_cases::model::Outcome;
use govhall_cases::tasks::Whose;
use govhall_core::clock::china_date;
use govhall_db::jobs::{JobContext, JobError, JobRegistry};
use govhall_db::{exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::AccountId;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

pub(crate) fn register(f: &Feedback, registry: &mut JobRegistry) {
    let feedback = f.clone();
    registry.register(JOB, move |ctx: JobContext| {
        let feedback = feedback.clone();
        async move {
            let closed: Closed = ctx.payload()?;
            match feedback.invite(closed.case).await {
                Ok(_) => Ok(()),
                Err(e @ FeedbackError::NotFound(_)) => Err(JobError::permanent(e)),
                Err(e) => Err(JobError::retry(e)),
            }
        }
    });
}

/// A finished case waiting for its rating (a task of 我的待办).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ToRate {
    /// Its serial number.
    pub serial_number: String,
    /// The item.
    pub item_name: String,
    /// When it ended.
    pub closed_at: DateTime<Utc>,
    /// Rateable until.
    pub expires_at: DateTime<Utc>,
}

fn until(at: DateTime<Utc>) -> String {
    china_date(at).format("%Y年%m月%d日").to_string()
}

impl Feedback {
    /// Invites the applicant of the ended `case` to rate it, once. Returns whether an
    /// invitation went out.
    pub async fn invite(&self, case: CaseId) -> Result<bool, FeedbackError> {
        let (c, _) = self.cases().for_reckoning(case).await?;
        // A person without an account rates at the hall's evaluation device, not online.
        let Some(applicant) = c.applicant_id else { return Ok(false) };
        if c.is_open || c.outcome == Some(Outcome::Withdrawn) {
            return Ok(false);
        }
        let now = self.db().now();
        let closed_at = c.closed_at.unwrap_or(now);
        let expires_at = closed_at + Duration::days(i64::from(self.settings().rate_days));
        if expires_at <= now {
            return Ok(false);
        }
        let phone = self.identity().account(applicant).await.ok().map(|a| a.phone);
        let mut tx = self.db().begin().await?;
        let inserted = exec!(
            tx,
            sqlx::query(
                "INSERT INTO evaluation_invitations (case_id, applicant_id, enterprise_id, serial_number, item_name,
                    closed_at, expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (case_id) DO NOTHING"
            )
            .bind(c.id.as_uuid())
            .bind(applicant.as_uuid())
            .bind(c.enterprise_id.map(|e| e.as_uuid()))
            .bind(&c.serial_number)
            .bind(&c.item_name)
            .bind(closed_at)
            .bind(expires_at)
            .bind(now)
        )?;
        if inserted == 0 {
            return Ok(false);
        }
        let params = json!({
            "serial": c.serial_number, "item": c.item_name, "link": self.link(&c.serial_number),
            "until": until(expires_at),
        });
        let key = format!("evaluation:{}:invite", c.id.as_uuid());
        govhall_messaging::tell_person(
            &mut tx,
            self.messaging(),
            notify::INVITE,
            applicant.as_uuid(),
            phone.as_ref(),
            params,
            &key,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sends the second invitation for every case still unrated `remind_days` after the first
    /// (once each). Returns how many.
    pub async fn remind(&self, now: DateTime<Utc>) -> Result<usize, FeedbackError> {
        let days = self.settings().remind_days;
        if days == 0 {
            return Ok(0);
        }
        let mut conn = self.db().conn().await?;
        let due: Vec<(Uuid, Uuid, String, String, DateTime<Utc>)> = run!(conn, |c| {
            sqlx::query_as(
            "SELECT i.case_id, i.applicant_id, i.serial_number, i.item_name, i.expires_at FROM evaluation_invitations i
             WHERE i.reminded_at IS NULL AND i.created_at <= $1 AND i.expires_at > $2
               AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.case_id = i.case_id)
             ORDER BY i.created_at LIMIT 500"
        )
        .bind(now - Duration::days(i64::from(days)))
        .bind(now)
        .fetch_all(&mut *c)
        .await
        })?;
        drop(conn);
        let mut sent = 0;
        for (case, applicant, serial, item, expires_at) in due {
            let phone = self.identity().account(AccountId::from_uuid(applicant)).await.ok().map(|a| a.phone);
            let mut tx = self.db().begin().await?;
            let marked = exec!(
                tx,
                sqlx::query(
                    "UPDATE evaluation_invitations SET reminded_at = $1 WHERE case_id = $2 AND reminded_at IS NULL"
                )
                .bind(now)
                .bind(case)
            )?;
            if marked == 0 {
                tx.rollback().await?;
                continue;
            }
            let params =
                json!({"serial": serial, "item": item, "link": self.link(&serial), "until": until(expires_at)});
            let key = format!("evaluation:{case}:remind");
            govhall_messaging::tell_person(
                &mut tx,
                self.messaging(),
                notify::REMIND,
                applicant,
                phone.as_ref(),
                params,
                &key,
            )
            .await?;
            tx.commit().await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Where `default_level` is set, records it for every case whose rating period ended
    /// unrated (channel 默认, kept apart). Returns how many.
    pub async fn record_defaults(&self, now: DateTime<Utc>) -> Result<usize, FeedbackError> {
        let level = self.settings().default_level;
        if level == 0 {
            return Ok(0);
        }
        let overall = Level::new(i64::from(level))?;
        let mut conn = self.db().conn().await?;
        let due: Vec<Uuid> = run!(conn, |c| sqlx::query_scalar(
            "SELECT i.case_id FROM evaluation_invitations i
             WHERE i.defaulted_at IS NULL AND i.expires_at <= $1
               AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.case_id = i.case_id)
             ORDER BY i.expires_at LIMIT 500"
        )
        .bind(now)
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        let actor = Actor::system("逾期默认评价");
        let checked = Checked { overall, indicators: [None; 4], reasons: Vec::new(), comment: String::new() };
        let mut recorded = 0;
        for case in due {
            let (c, _) = self.cases().for_reckoning(CaseId::from_uuid(case)).await?;
            match self.record(&actor, Rater::Terminal, &c, Channel::Default, &checked, true, now).await {
                Ok(_) | Err(FeedbackError::AlreadyRated(_)) => {}
                Err(e) => return Err(e),
            }
            let mut conn = self.db().conn().await?;
            exec!(
                conn,
                sqlx::query("UPDATE evaluation_invitations SET defaulted_at = $1 WHERE case_id = $2")
                    .bind(now)
                    .bind(case)
            )?;
            recorded += 1;
        }
        Ok(recorded)
    }

    /// The finished cases of `whose` waiting for a rating, for `viewer` (an enterprise's for its
    /// active members), the soonest to expire first.
    pub async fn to_rate(&self, viewer: AccountId, whose: Whose) -> Result<Vec<ToRate>, FeedbackError> {
        self.cases().check_whose(viewer, whose).await?;
        let (filter, id) = match whose {
            Whose::Person(a) => ("i.applicant_id = $1 AND i.enterprise_id IS NULL", a.as_uuid()),
            Whose::Enterprise(e) => ("i.enterprise_id = $1", e.as_uuid()),
        };
        let sql = format!(
            "SELECT i.serial_number, i.item_name, i.closed_at, i.expires_at FROM evaluation_invitations i
             WHERE {filter} AND i.expires_at > $2
               AND NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.case_id = i.case_id)
             ORDER BY i.expires_at LIMIT 200"
        );
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(id)
            .bind(self.db().now())
            .fetch_all(&mut *c)
            .await)?)
    }
}
