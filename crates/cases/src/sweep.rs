//! 电子监察: an hourly job lights each open case yellow or red by its time limit, tells the
//! handler of a yellow case and escalates a red one to the supervisors whose `case.supervise`
//! reaches it (once per case), forgets old failed progress look-ups, and reminds applicants of
//! what their cases wait for ([`crate::tasks`]).

use crate::deadline::{self, Warning};
use crate::model::{CASE_COLUMNS, CASE_FROM, CaseRow};
use crate::queries::target;
use crate::{CaseError, Cases, notify, store};
use chrono::{DateTime, Duration, DurationRound, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::clock::china_date;
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Db, DbError, exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::{Access, AccountId, Permission};
use serde_json::json;

/// The job's kind.
pub const SWEEP_JOB: &str = "cases.sweep";

/// What one sweep changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Cases looked at.
    pub checked: usize,
    /// Cases that turned yellow.
    pub yellow: usize,
    /// Cases that turned red.
    pub red: usize,
    /// Supervisor messages sent.
    pub escalations: usize,
}

pub(crate) fn register(cases: Cases, registry: &mut JobRegistry) {
    registry.register(SWEEP_JOB, move |ctx: JobContext| {
        let cases = cases.clone();
        async move {
            let now = ctx.db.now();
            let swept = cases.sweep(now).await.map_err(JobError::retry)?;
            let reminded = cases.remind(now).await.map_err(JobError::retry)?;
            tracing::info!(?swept, reminded, "case deadlines swept, applicants reminded");
            let next = now.duration_trunc(Duration::hours(1)).unwrap_or(now) + Duration::hours(1);
            schedule(&ctx.db, next).await.map_err(JobError::from)
        }
    });
}

/// Makes sure one sweep is scheduled for the hour of `at` (one key per hour for all nodes).
pub async fn schedule(db: &Db, at: DateTime<Utc>) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let key = format!("{SWEEP_JOB}:{}", at.format("%Y-%m-%dT%H"));
    jobs::enqueue(&mut tx, NewJob::new(SWEEP_JOB, ())?.idempotency_key(key).run_at(at)).await?;
    tx.commit().await
}

impl Cases {
    /// Lights every open, undecided, running case by the date of `now` (China time) and sends
    /// what changed colours call for. The job passes the clock's time; tests pass theirs.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<Swept, CaseError> {
        let today = china_date(now);
        let sql = format!(
            "SELECT {CASE_COLUMNS} {CASE_FROM}
             WHERE c.is_open AND c.decided_at IS NULL AND c.paused_on IS NULL
               AND (c.due_on IS NOT NULL OR c.step_due_on IS NOT NULL)"
        );
        let mut conn = self.db().conn().await?;
        let rows: Vec<CaseRow> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).fetch_all(&mut *c).await)?;
        exec!(conn, sqlx::query("DELETE FROM progress_failures WHERE at < $1").bind(now - Duration::days(1)))?;
        drop(conn);
        let mut swept = Swept { checked: rows.len(), ..Swept::default() };
        let mut supervisors: Option<Vec<(AccountId, Access)>> = None;
        for row in rows {
            let light =
                deadline::warning(self.calendar(), today, row.due_on, row.step_due_on, self.settings().warn_days);
            let was = Warning::parse(&row.warning).unwrap_or(Warning::None);
            let escalate = light == Warning::Red && row.escalated_at.is_none();
            if light == was && !escalate {
                continue;
            }
            let (case, row) = match store::to_case(row) {
                Ok(read) => read,
                Err(e) => {
                    tracing::error!(error = %e, "a case the sweep cannot read");
                    continue;
                }
            };
            let params = json!({
                "item": case.item_name, "serial": case.serial_number, "step": case.step_name,
                "due": case.due_on.or(case.step_due_on).map(|d| d.format("%Y年%m月%d日").to_string()).unwrap_or_default(),
                "department": case.department_name, "handler": case.assignee_name.clone().unwrap_or_default(),
            });
            let mut tx = self.db().begin().await?;
            // Only the case as read: a case moved meanwhile keeps the light its move gave it.
            let changed = exec!(
                tx,
                sqlx::query(
                    "UPDATE cases SET warning = $1, escalated_at = COALESCE(escalated_at, $2)
                     WHERE id = $3 AND revision = $4 AND is_open AND decided_at IS NULL AND paused_on IS NULL"
                )
                .bind(light.as_str())
                .bind(if escalate { Some(now) } else { None })
                .bind(case.id.as_uuid())
                .bind(case.revision)
            )?;
            if changed == 0 {
                tx.rollback().await?;
                continue;
            }
            if light == Warning::Yellow && was == Warning::None {
                swept.yellow += 1;
                if let Some(handler) = case.assignee_id {
                    let key = format!("case:{}:yellow:{}", case.id, row.revision);
                    notify::staff(&mut tx, self.messaging(), notify::WARNING, handler, key, params.clone()).await?;
                }
            }
            if light == Warning::Red && was != Warning::Red {
                swept.red += 1;
            }
            if escalate {
                if supervisors.is_none() {
                    supervisors = Some(self.supervisors().await?);
                }
                let t = target(&case);
                for (account, access) in supervisors.iter().flatten() {
                    if access.covers(Permission::CaseSupervise, &t) {
                        let key = format!("case:{}:escalated:{}", case.id, account.as_uuid());
                        let to = *account;
                        notify::staff(&mut tx, self.messaging(), notify::ESCALATED, to, key, params.clone()).await?;
                        swept.escalations += 1;
                    }
                }
                let detail = format!("超过办结期限 {}，已向电子监察人员督办", params["due"].as_str().unwrap_or(""));
                let event = Event::success("case.escalate", "case", &case.serial_number).detail(detail);
                audit::record(&mut tx, &Actor::system("电子监察"), event).await?;
            }
            tx.commit().await?;
        }
        Ok(swept)
    }

    /// Active staff holding `case.supervise` somewhere, with what they may do.
    async fn supervisors(&self) -> Result<Vec<(AccountId, Access)>, CaseError> {
        Ok(self.identity().staff_holding(Permission::CaseSupervise).await?)
    }
}
