//! The cases waiting for a department's system. A case submitted to a connected department is
//! queued by the case engine's `case.submitted` job (and a department's open cases when it is
//! connected); its system collects them oldest first and acknowledges what it stored. A case
//! collected and not acknowledged comes again (marked so); an acknowledged one never does; so
//! nothing is lost when either side stops half-way, and a system that repeats a pull sees no
//! case twice once it has acknowledged it.

use crate::log::{self, Direction, NewEntry};
use crate::{Caller, Exchange, ExchangeError};
use chrono::{DateTime, NaiveDate, Utc};
use govhall_cases::submitted::{JOB, NewCase};
use govhall_cases::{Case, CaseError, CaseId};
use govhall_db::jobs::{JobContext, JobError, JobRegistry};
use govhall_db::{Tx, exec, run, sqlx};
use govhall_identity::DepartmentId;
use serde::Serialize;
use uuid::Uuid;

/// A step the department's system may take now.
#[derive(Debug, Clone, Serialize)]
pub struct Move {
    /// The action's code (`accept`).
    pub action: String,
    /// Its name (受理).
    pub label: String,
    /// Whether a note (the reason) must come with it.
    pub note_required: bool,
    /// Whether it decides the case in the applicant's favour (a licence is issued with it).
    pub grants: bool,
}

/// The applicant, as the department handles the case.
#[derive(Debug, Clone, Serialize)]
pub struct Applicant {
    /// `person` or `enterprise`.
    pub kind: &'static str,
    /// Name (the enterprise's for an enterprise).
    pub name: String,
    /// Resident ID number or unified social credit code.
    pub number: String,
    /// Contact mobile.
    pub phone: String,
}

/// A case as a department's system receives it.
#[derive(Debug, Clone, Serialize)]
pub struct Outgoing {
    /// The place in the department's queue (for `after`, to page within one collection).
    pub cursor: i64,
    /// Handed over before and not acknowledged.
    pub redelivered: bool,
    /// The unified serial number.
    pub serial_number: String,
    /// The item's code.
    pub item_code: String,
    /// The item's version the case was submitted under.
    pub item_version: i32,
    /// The item's name.
    pub item_name: String,
    /// The handling department's region.
    pub region_code: String,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// Who applied.
    pub applicant: Applicant,
    /// The answers of the form.
    pub form: serde_json::Value,
    /// The materials as submitted: name, and the files' names.
    pub materials: Vec<govhall_cases::model::SubmittedMaterial>,
    /// The current step's code.
    pub step: String,
    /// Its name.
    pub step_name: String,
    /// Whether the case is still being handled.
    pub is_open: bool,
    /// The legal deadline (while the clock runs).
    pub due_on: Option<NaiveDate>,
    /// The steps the department's system may take now.
    pub moves: Vec<Move>,
    /// The case's id in the hall (the download links name it).
    #[serde(skip)]
    pub case_id: CaseId,
}

/// What a pull answers.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    /// The cases, oldest first.
    pub cases: Vec<Outgoing>,
    /// The cursor to ask for the next page with (`after`), when there may be more.
    pub next_after: Option<i64>,
}

/// What an acknowledgment answers.
#[derive(Debug, Clone, Serialize)]
pub struct Acknowledged {
    /// The serial numbers now acknowledged (or acknowledged before).
    pub acknowledged: Vec<String>,
    /// Serial numbers that are not among the department's handed-over cases.
    pub unknown: Vec<String>,
}

const QUEUE_ONE: &str = "INSERT INTO exchange_outbox (case_id, department_id, queued_at)
     SELECT c.id, c.department_id, $1 FROM cases c
     JOIN exchange_links l ON l.department_id = c.department_id AND l.active = TRUE
     WHERE c.id = $2
     ON CONFLICT (case_id) DO NOTHING";

const QUEUE_OPEN: &str = "INSERT INTO exchange_outbox (case_id, department_id, queued_at)
     SELECT c.id, c.department_id, $1 FROM cases c WHERE c.department_id = $2 AND c.is_open = TRUE
     ORDER BY c.submitted_at, c.id
     ON CONFLICT (case_id) DO NOTHING";

const PENDING: &str = "SELECT o.seq, o.case_id, o.deliveries FROM exchange_outbox o
     WHERE o.department_id = $1 AND o.acked_at IS NULL AND o.seq > $2
     ORDER BY o.seq LIMIT $3";

const ACK: &str = "UPDATE exchange_outbox SET acked_at = $1
     WHERE department_id = $2 AND delivered_at IS NOT NULL AND acked_at IS NULL
       AND case_id = (SELECT id FROM cases WHERE serial_number = $3)";

const ACKED_BEFORE: &str = "SELECT COUNT(*) FROM exchange_outbox o JOIN cases c ON c.id = o.case_id
     WHERE o.department_id = $1 AND c.serial_number = $2 AND o.acked_at IS NOT NULL";

pub(crate) fn register(exchange: Exchange, registry: &mut JobRegistry) {
    registry.register(JOB, move |ctx: JobContext| {
        let exchange = exchange.clone();
        async move {
            let submitted: NewCase = ctx.payload()?;
            let mut tx = ctx.db.begin().await.map_err(JobError::from)?;
            exchange.queue_in(&mut tx, submitted.case).await.map_err(JobError::retry)?;
            tx.commit().await.map_err(JobError::from)
        }
    });
}

impl Exchange {
    /// Queues `case` for its department's system, if its department is connected (once).
    pub async fn queue_in(&self, tx: &mut Tx, case: CaseId) -> Result<(), ExchangeError> {
        let now = tx.db().now();
        exec!(tx, sqlx::query(QUEUE_ONE).bind(now).bind(case.as_uuid()))?;
        Ok(())
    }

    /// Queues every open case of `department` (when it is connected).
    pub(crate) async fn queue_open_in(&self, tx: &mut Tx, department: DepartmentId) -> Result<u64, ExchangeError> {
        let now = tx.db().now();
        Ok(exec!(tx, sqlx::query(QUEUE_OPEN).bind(now).bind(department.as_uuid()))?)
    }

    /// Hands the department's system its waiting cases, oldest first, after `after` (within one
    /// collection), at most `limit` (and the setting's most). Each is logged; the whole pull is
    /// covered by one audit entry.
    pub async fn pull(&self, caller: &Caller, after: Option<i64>, limit: u32) -> Result<Page, ExchangeError> {
        let limit = i64::from(limit.clamp(1, self.settings().max_page));
        let rows = self.pending(caller.department, after.unwrap_or(0), limit).await?;
        let (cases, unreadable) = self.outgoing(caller, &rows).await?;
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        let mut entries = Vec::with_capacity(cases.len());
        if !cases.is_empty() {
            // One statement for the page; the cursors are the queue's own integers.
            let seqs: Vec<String> = cases.iter().map(|c| c.cursor.to_string()).collect();
            let mark = format!(
                "UPDATE exchange_outbox SET deliveries = deliveries + 1, delivered_at = COALESCE(delivered_at, $1)
                 WHERE seq IN ({})",
                seqs.join(", ")
            );
            exec!(tx, sqlx::query(sqlx::AssertSqlSafe(mark.clone())).bind(now))?;
        }
        for case in &cases {
            let content = serde_json::to_vec(case)?;
            entries.push(NewEntry::ok(Direction::Out, "case", Some(case.serial_number.clone()), content));
        }
        entries.extend(unreadable);
        log::write(&mut tx, &caller.actor, Some(caller.department), Some(caller.client.id), "exchange.pull", entries)
            .await?;
        tx.commit().await?;
        let next_after = (i64::try_from(rows.len()).unwrap_or(0) == limit).then(|| rows.last().map(|r| r.0)).flatten();
        Ok(Page { cases, next_after })
    }

    /// The department's waiting cases after `after`, oldest first, at most `limit`: their places
    /// in the queue, ids and how often each was handed over.
    pub(crate) async fn pending(
        &self,
        department: DepartmentId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Uuid, i32)>, ExchangeError> {
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(PENDING)
            .bind(department.as_uuid())
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *c)
            .await)?)
    }

    /// The queued cases `rows` as the department's system receives them; a case that cannot be
    /// read (its personal data does not decrypt) is left out, with the log entry saying so.
    pub(crate) async fn outgoing(
        &self,
        caller: &Caller,
        rows: &[(i64, Uuid, i32)],
    ) -> Result<(Vec<Outgoing>, Vec<NewEntry>), ExchangeError> {
        let mut cases = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for (seq, id, deliveries) in rows {
            let id = CaseId::from_uuid(*id);
            let (case, data) = match self.cases().handed_over(&caller.access, id).await {
                Ok(found) => found,
                // One case that cannot be read must not stop the department's collection: it is
                // reported on the log, and skipped.
                Err(CaseError::Internal(reason)) => {
                    tracing::error!(case = %id, %reason, "a queued case could not be read for its department's system");
                    let serial = self.cases().serial_of(id).await.ok();
                    let mut entry = NewEntry::ok(Direction::Out, "case", serial, id.to_string().into_bytes());
                    entry.outcome = log::Outcome::Failed;
                    entry.error_code = Some("case_unreadable");
                    entry.detail = "办件数据无法读取，已跳过；请运维人员检查".into();
                    unreadable.push(entry);
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let moves = self.moves(caller, &case).await?;
            cases.push(Outgoing {
                cursor: *seq,
                redelivered: *deliveries > 0,
                serial_number: case.serial_number.clone(),
                item_code: case.item_code.clone(),
                item_version: case.item_version,
                item_name: case.item_name.clone(),
                region_code: case.region_code.clone(),
                submitted_at: case.submitted_at,
                applicant: Applicant {
                    kind: if case.enterprise_id.is_some() { "enterprise" } else { "person" },
                    name: data.applicant_name,
                    number: data.applicant_number,
                    phone: data.contact_phone,
                },
                form: data.form,
                materials: case.materials.clone(),
                step: case.step.clone(),
                step_name: case.step_name.clone(),
                is_open: case.is_open,
                due_on: case.due_on,
                moves,
                case_id: case.id,
            });
        }
        Ok((cases, unreadable))
    }

    /// The moves the department's system may take on `case` now.
    pub(crate) async fn moves(&self, caller: &Caller, case: &Case) -> Result<Vec<Move>, ExchangeError> {
        Ok(self
            .cases()
            .staff_actions(&caller.access, case)
            .await?
            .into_iter()
            .map(|t| Move {
                grants: t.effect == Some(govhall_cases::workflow::Effect::Grant),
                action: t.action,
                label: t.label,
                note_required: t.note_required,
            })
            .collect())
    }

    /// Acknowledges cases the department's system has stored: they are not handed over again.
    /// A serial number that is not one of the department's handed-over cases is listed as
    /// unknown (the same for another department's case as for no case at all).
    pub async fn ack(&self, caller: &Caller, serials: &[String]) -> Result<Acknowledged, ExchangeError> {
        if serials.is_empty() || serials.len() > 1000 {
            return Err(ExchangeError::Invalid("serial_numbers 应列出 1 到 1000 个已接收的申办编号".into()));
        }
        let now = self.db().now();
        let mut done = Acknowledged { acknowledged: Vec::new(), unknown: Vec::new() };
        let mut tx = self.db().begin().await?;
        let mut entries = Vec::with_capacity(serials.len());
        let mut took_any = false;
        for serial in serials {
            let serial = serial.trim();
            let changed = exec!(tx, sqlx::query(ACK).bind(now).bind(caller.department.as_uuid()).bind(serial))?;
            let before: i64 = if changed == 0 {
                run!(tx, |c| sqlx::query_scalar(ACKED_BEFORE)
                    .bind(caller.department.as_uuid())
                    .bind(serial)
                    .fetch_one(&mut *c)
                    .await)?
            } else {
                0
            };
            took_any |= changed > 0;
            let known = changed > 0 || before > 0;
            let mut entry =
                NewEntry::ok(Direction::In, "ack", known.then(|| serial.to_owned()), serial.as_bytes().to_vec());
            if known {
                done.acknowledged.push(serial.to_owned());
            } else {
                entry.outcome = log::Outcome::Refused;
                entry.error_code = Some("case_not_found");
                entry.detail = "不是交付给该部门的办件".into();
                done.unknown.push(serial.chars().take(40).collect());
            }
            entries.push(entry);
        }
        if took_any {
            // Cases moved: a later backlog is a new delay, worth a new alert.
            exec!(
                tx,
                sqlx::query("UPDATE exchange_links SET alerted_at = NULL WHERE department_id = $1")
                    .bind(caller.department.as_uuid())
            )?;
        }
        log::write(&mut tx, &caller.actor, Some(caller.department), Some(caller.client.id), "exchange.ack", entries)
            .await?;
        tx.commit().await?;
        Ok(done)
    }
}
