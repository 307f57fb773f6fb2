//! The front database (前置库): for a department whose system can only read and write tables.
//! The hall keeps the database's address (sealed) with the connection; every
//! `front_db_interval_secs` the worker visits each such database: it writes the department's
//! waiting cases (and their materials' files) into `govhall_outgoing_cases`, then applies the
//! steps and results the department's system put into `govhall_incoming_events`, marking each
//! row done with the case's step, or failed with a code and the reason (transient failures are
//! tried again). A node holds a lease on the department while it visits, so nodes running the
//! exchange at once take turns; and since a case's row is keyed by its serial number and every
//! event by its idempotency key, a visit cut off half-way and repeated writes nothing twice.
//!
//! - [`schema`]: the tables, created when missing.
//! - [`deliver`]: the cases written out.
//! - [`receive`]: the events read in; the failed rows for the admin page, and taking one again.

mod deliver;
mod receive;
mod schema;

pub use receive::FailedRow;

use crate::caller::department_access;
use crate::{Caller, Exchange, ExchangeError};
use chrono::{DateTime, Duration, DurationRound, Utc};
use govhall_audit::Actor;
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Db, DbError, exec, run, sqlx};
use govhall_identity::DepartmentId;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// The job's kind.
pub const SYNC_JOB: &str = "exchange.front_db";

/// How long a node may hold a department before another may take over (a node that stopped
/// half-way does not hold it for ever).
const LEASE_SECS: i64 = 300;

/// The front databases opened, by department, with the sealed address each was opened at.
#[derive(Debug, Default)]
pub struct Pools(Mutex<HashMap<Uuid, (String, Db)>>);

/// What one visit to a department's front database did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Synced {
    /// Cases written out.
    pub delivered: u64,
    /// Events applied (rows marked done).
    pub applied: u64,
    /// Rows marked failed.
    pub failed: u64,
    /// Another node was visiting the department: nothing was done.
    pub skipped: bool,
}

/// A front database's failure, as the department's managers read it.
pub(crate) fn failed(e: impl std::fmt::Display) -> ExchangeError {
    ExchangeError::FrontDb(e.to_string().chars().take(300).collect())
}

pub(crate) fn register(exchange: Exchange, registry: &mut JobRegistry) {
    registry.register(SYNC_JOB, move |ctx: JobContext| {
        let exchange = exchange.clone();
        async move {
            let now = ctx.db.now();
            for (department, result) in exchange.sync_all().await.map_err(JobError::retry)? {
                match result {
                    Ok(done) if done.delivered + done.applied + done.failed > 0 => {
                        tracing::info!(%department, delivered = done.delivered, applied = done.applied,
                            failed = done.failed, "front database visited");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(%department, error = %e, "a front database could not be visited"),
                }
            }
            let step = Duration::seconds(i64::from(exchange.settings().front_db_interval_secs));
            schedule(&ctx.db, now.duration_trunc(step).unwrap_or(now) + step).await.map_err(JobError::from)
        }
    });
}

/// Makes sure one visit is scheduled at `at` (one key per time for all nodes).
pub async fn schedule(db: &Db, at: DateTime<Utc>) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let key = format!("{SYNC_JOB}:{}", at.format("%Y-%m-%dT%H:%M:%S"));
    jobs::enqueue(&mut tx, NewJob::new(SYNC_JOB, ())?.idempotency_key(key).run_at(at)).await?;
    tx.commit().await
}

/// A department connected through its front database.
struct FrontLink {
    department: DepartmentId,
    department_name: String,
    client: Uuid,
    url_enc: String,
}

const FRONT_LINKS: &str = "SELECT l.department_id, d.name, l.client_id, l.front_db_url_enc
     FROM exchange_links l JOIN departments d ON d.id = l.department_id
     WHERE l.mode = 'front_db' AND l.active = TRUE AND l.client_id IS NOT NULL AND l.front_db_url_enc IS NOT NULL";

const TAKE_LEASE: &str = "UPDATE exchange_links SET lease_owner = $1, lease_until = $2
     WHERE department_id = $3 AND (lease_until IS NULL OR lease_until < $4)";

const END_VISIT: &str = "UPDATE exchange_links SET lease_owner = NULL, lease_until = NULL, last_sync_at = $1,
        last_sync_error = $2, last_contact_at = CASE WHEN $2 IS NULL THEN $1 ELSE last_contact_at END
     WHERE department_id = $3 AND lease_owner = $4";

impl Exchange {
    /// Visits every department connected through a front database; each department's result.
    pub async fn sync_all(&self) -> Result<Vec<(DepartmentId, Result<Synced, ExchangeError>)>, ExchangeError> {
        let mut done = Vec::new();
        for link in self.front_links(None).await? {
            let department = link.department;
            done.push((department, self.visit(link).await));
        }
        Ok(done)
    }

    /// Visits `department`'s front database now.
    pub async fn sync(&self, department: DepartmentId) -> Result<Synced, ExchangeError> {
        let link = self.front_links(Some(department)).await?.into_iter().next();
        let link = link.ok_or(ExchangeError::NotFound("前置库对接"))?;
        self.visit(link).await
    }

    async fn front_links(&self, only: Option<DepartmentId>) -> Result<Vec<FrontLink>, ExchangeError> {
        let mut conn = self.db().conn().await?;
        let rows: Vec<(Uuid, String, Uuid, String)> =
            run!(conn, |c| sqlx::query_as(FRONT_LINKS).fetch_all(&mut *c).await)?;
        Ok(rows
            .into_iter()
            .filter(|r| only.is_none_or(|d| d.as_uuid() == r.0))
            .map(|(department, department_name, client, url_enc)| FrontLink {
                department: DepartmentId::from_uuid(department),
                department_name,
                client,
                url_enc,
            })
            .collect())
    }

    async fn visit(&self, link: FrontLink) -> Result<Synced, ExchangeError> {
        if !self.take_lease(link.department).await? {
            return Ok(Synced { skipped: true, ..Synced::default() });
        }
        let result = async {
            let caller = self.front_caller(&link).await?;
            let front = self.front_db(&link).await?;
            let delivered = self.deliver(&caller, &front).await?;
            let (applied, failed) = self.receive(&caller, &front).await?;
            Ok(Synced { delivered, applied, failed, skipped: false })
        }
        .await;
        let error =
            result.as_ref().err().map(|e| govhall_core::Coded::message(e).chars().take(300).collect::<String>());
        if result.is_err() {
            // The next visit opens the database afresh (its address or server may have changed).
            self.forget_front_db(link.department);
        }
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        exec!(tx, sqlx::query(END_VISIT).bind(now).bind(error).bind(link.department.as_uuid()).bind(self.node()))?;
        tx.commit().await?;
        result
    }

    async fn take_lease(&self, department: DepartmentId) -> Result<bool, ExchangeError> {
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        let taken = exec!(
            tx,
            sqlx::query(TAKE_LEASE)
                .bind(self.node())
                .bind(now + Duration::seconds(LEASE_SECS))
                .bind(department.as_uuid())
                .bind(now)
        )?;
        tx.commit().await?;
        Ok(taken > 0)
    }

    /// The department's system as the exchange names it when it works on its tables.
    async fn front_caller(&self, link: &FrontLink) -> Result<Caller, ExchangeError> {
        let client = govhall_identity::clients::get(self.db(), link.client)
            .await?
            .ok_or_else(|| ExchangeError::Internal("前置库对接的接入系统已不存在".into()))?;
        let actor = Actor { id: None, label: format!("前置库：{}", client.name), client_ip: String::new() };
        Ok(Caller {
            client,
            department: link.department,
            department_name: link.department_name.clone(),
            access: department_access(link.department),
            actor,
        })
    }

    /// The department's front database, opened once (and again when its address changed), its
    /// tables created when missing.
    async fn front_db(&self, link: &FrontLink) -> Result<Db, ExchangeError> {
        let key = link.department.as_uuid();
        if let Some((url_enc, db)) = self.front_dbs().0.lock().map_err(failed)?.get(&key)
            && *url_enc == link.url_enc
        {
            return Ok(db.clone());
        }
        let url = self.identity().keys().decrypt(&link.url_enc).map_err(|e| ExchangeError::Internal(e.to_string()))?;
        let front = Db::connect_external(&url, self.db().clock()).await.map_err(failed)?;
        schema::ensure(&front).await?;
        self.front_dbs().0.lock().map_err(failed)?.insert(key, (link.url_enc.clone(), front.clone()));
        Ok(front)
    }

    pub(crate) fn forget_front_db(&self, department: DepartmentId) {
        if let Ok(mut pools) = self.front_dbs().0.lock() {
            pools.remove(&department.as_uuid());
        }
    }
}

/// Makes `front` ready to be a front database: its tables created when missing.
pub(crate) async fn prepare(front: &Db) -> Result<(), ExchangeError> {
    schema::ensure(front).await
}

/// A time as the front database's tables hold it.
pub(crate) fn china_text(at: DateTime<Utc>) -> String {
    at.with_timezone(&govhall_core::clock::CHINA).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}
