//! The exchange's sweep, every five minutes: the managers of a department whose system has left
//! cases uncollected longer than its alert time are told (once, until the system calls again),
//! and nonces older than the signature window are forgotten (a request that old is refused by
//! its time anyway), with the calls counted in minutes long past.

use crate::{Exchange, ExchangeError};
use chrono::{DateTime, Duration, DurationRound, Utc};
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Db, DbError, exec, sqlx};
use govhall_identity::{DepartmentId, Permission, Target};
use govhall_messaging::{Channel, OutgoingMessage, Recipient, templates};
use serde_json::json;

/// The job's kind.
pub const SWEEP_JOB: &str = "exchange.sweep";

/// The message to a department's managers.
pub const UNCOLLECTED: &str = "exchange.uncollected";

const EVERY_MINUTES: i64 = 5;

pub(crate) fn register(exchange: Exchange, registry: &mut JobRegistry) {
    registry.register(SWEEP_JOB, move |ctx: JobContext| {
        let exchange = exchange.clone();
        async move {
            let now = ctx.db.now();
            let alerted = exchange.alert_late(now).await.map_err(JobError::retry)?;
            let forgotten = exchange.forget_nonces(now).await.map_err(JobError::retry)?;
            if alerted > 0 {
                tracing::warn!(alerted, "department systems late collecting their cases");
            }
            tracing::debug!(forgotten, "exchange swept");
            let step = Duration::minutes(EVERY_MINUTES);
            schedule(&ctx.db, now.duration_trunc(step).unwrap_or(now) + step).await.map_err(JobError::from)
        }
    });
}

/// Makes sure one sweep is scheduled at `at` (one key per time for all nodes).
pub async fn schedule(db: &Db, at: DateTime<Utc>) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let key = format!("{SWEEP_JOB}:{}", at.format("%Y-%m-%dT%H:%M"));
    jobs::enqueue(&mut tx, NewJob::new(SWEEP_JOB, ())?.idempotency_key(key).run_at(at)).await?;
    tx.commit().await
}

/// Installs the alert's template (never over an edited one).
pub(crate) async fn install_templates(db: &Db) -> Result<(), ExchangeError> {
    templates::install_default(
        db,
        UNCOLLECTED,
        Channel::Inbox,
        "部门系统未及时接收办件：{{ department }}",
        "{{ department }}的业务系统（{{ client }}）有 {{ backlog }} 件办件未接收，最早的自 {{ since }} 起等待，超过了 {{ minutes }} 分钟。\n最近一次联系：{{ contact }}。请检查该系统与大厅的对接（部门系统对接 → 对接状态）。",
    )
    .await?;
    Ok(())
}

impl Exchange {
    /// Installs the message templates the exchange sends.
    pub async fn prepare(&self) -> Result<(), ExchangeError> {
        install_templates(self.db()).await
    }

    /// Tells the managers of each late department; returns how many departments.
    pub async fn alert_late(&self, now: DateTime<Utc>) -> Result<usize, ExchangeError> {
        let late: Vec<_> = self.all_states().await?.into_iter().filter(|s| s.late(now)).collect();
        if late.is_empty() {
            return Ok(0);
        }
        let managers = self.identity().staff_holding(Permission::ExchangeManage).await?;
        let mut alerted = 0;
        for s in late {
            let mut tx = self.db().begin().await?;
            let changed = exec!(
                tx,
                sqlx::query(
                    "UPDATE exchange_links SET alerted_at = $1 WHERE department_id = $2 AND alerted_at IS NULL"
                )
                .bind(now)
                .bind(s.department_id)
            )?;
            if changed == 0 {
                tx.rollback().await?;
                continue;
            }
            let time = |t: Option<DateTime<Utc>>| {
                t.map(|t| govhall_core::clock::china_time(t).format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "从未联系".into())
            };
            let params = json!({
                "department": s.department_name, "client": s.client_name.clone().unwrap_or_default(),
                "backlog": s.backlog, "since": time(s.oldest_waiting), "minutes": s.alert_minutes,
                "contact": time(s.last_contact_at),
            });
            let target = Target {
                owner: None,
                department: Some(DepartmentId::from_uuid(s.department_id)),
                region: Some(s.region_code.clone()),
            };
            for (account, access) in &managers {
                if access.covers(Permission::ExchangeManage, &target) {
                    let key = format!("exchange:{}:late:{}:{}", s.department_id, now.timestamp(), account.as_uuid());
                    let m = OutgoingMessage::new(UNCOLLECTED, Recipient::Account(account.as_uuid()), params.clone())
                        .idempotency_key(key);
                    govhall_messaging::send(&mut tx, self.messaging(), m).await?;
                }
            }
            tx.commit().await?;
            alerted += 1;
        }
        Ok(alerted)
    }

    /// Forgets nonces older than twice the signature window.
    pub async fn forget_nonces(&self, now: DateTime<Utc>) -> Result<u64, ExchangeError> {
        // A nonce is needed while its request's time is within the window of the hall's clock: at
        // most twice the window after it was seen; a minute more for seconds cut off.
        let before = now - Duration::seconds(2 * self.settings().signature_window_secs + 60);
        let mut tx = self.db().begin().await?;
        let n = exec!(tx, sqlx::query("DELETE FROM exchange_nonces WHERE seen_at < $1").bind(before))?;
        // The calls counted per minute are needed for the minute they count.
        exec!(tx, sqlx::query("DELETE FROM exchange_rates WHERE minute < $1").bind(now - Duration::minutes(10)))?;
        tx.commit().await?;
        Ok(n)
    }
}
