//! The exchange log: every message between the hall and a department's system — each case
//! handed over, each acknowledgment, each event, each refusal — with who, when, the SM3 of its
//! content and how it ended. The entries a request writes are covered by one audit entry in the
//! same transaction, carrying their ids and hashes: the audit chain (and its checkpoints)
//! shows any entry removed or changed afterwards.

use crate::{Caller, Exchange, ExchangeError, caller::Request};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::Coded;
use govhall_db::{Tx, run, sqlx};
use govhall_identity::clients::ApiClient;
use govhall_identity::{Access, DepartmentId, Permission};
use serde::Serialize;
use sm3::{Digest, Sm3};
use uuid::Uuid;

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the department's system to the hall.
    In,
    /// From the hall to the department's system.
    Out,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// How a message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Taken.
    Ok,
    /// Refused (what was sent was wrong, or not allowed).
    Refused,
    /// The hall failed with it.
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

/// One message to record.
#[derive(Debug, Clone)]
pub(crate) struct NewEntry {
    pub direction: Direction,
    /// `case` (a case handed over), `ack`, `event`, `refused` …
    pub kind: &'static str,
    pub serial: Option<String>,
    /// What was sent or received (hashed, not kept).
    pub content: Vec<u8>,
    /// How it ended.
    pub outcome: Outcome,
    pub error_code: Option<&'static str>,
    pub detail: String,
}

impl NewEntry {
    pub(crate) fn ok(direction: Direction, kind: &'static str, serial: Option<String>, content: Vec<u8>) -> Self {
        NewEntry { direction, kind, serial, content, outcome: Outcome::Ok, error_code: None, detail: String::new() }
    }

    /// A message from a department's system refused with `e` (its code and Chinese reason).
    pub(crate) fn refused(kind: &'static str, serial: Option<String>, content: Vec<u8>, e: &ExchangeError) -> Self {
        NewEntry {
            direction: Direction::In,
            kind,
            serial,
            content,
            outcome: Outcome::Refused,
            error_code: Some(e.code()),
            detail: Coded::message(e).chars().take(200).collect(),
        }
    }
}

/// A recorded message, as the admin page shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LogEntry {
    /// Id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// The department's name.
    pub department_name: Option<String>,
    /// The client's name.
    pub client_name: Option<String>,
    /// `in` or `out`.
    pub direction: String,
    /// What it was.
    pub kind: String,
    /// The case concerned.
    pub serial_number: Option<String>,
    /// SM3 of its content.
    pub content_sm3: String,
    /// `ok`, `refused` or `failed`.
    pub outcome: String,
    /// The error's code, if refused or failed.
    pub error_code: Option<String>,
    /// What else was noted.
    pub detail: String,
}

impl LogEntry {
    /// The kind in Chinese.
    pub fn kind_label(&self) -> &'static str {
        match self.kind.as_str() {
            "case" => "交付办件",
            "ack" => "确认接收",
            "file" => "下载材料",
            "event" => "回传办理过程",
            "register" => "登记部门办件",
            "refused" => "拒绝请求",
            _ => "其他",
        }
    }

    /// The outcome in Chinese.
    pub fn outcome_label(&self) -> &'static str {
        match self.outcome.as_str() {
            "ok" => "成功",
            "refused" => "拒绝",
            _ => "失败",
        }
    }
}

/// What the log page searches by.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// One case.
    pub serial: Option<String>,
    /// One department.
    pub department: Option<DepartmentId>,
    /// Only refused or failed messages.
    pub problems_only: bool,
    /// Entries older than this one (its id, a UUIDv7: the next page).
    pub before: Option<Uuid>,
    /// How many.
    pub limit: i64,
}

const INSERT: &str =
    "INSERT INTO exchange_log (id, at, department_id, client_id, direction, kind, serial_number, content_sm3,
        outcome, error_code, detail) VALUES";

/// Entries per statement (11 parameters each: well under both backends' limits).
const ROWS_PER_INSERT: usize = 100;

/// An entry with the id it is written under and the SM3 of its content, known before it is
/// written (so that an audit entry written first can name them).
#[derive(Debug, Clone)]
pub(crate) struct Identified {
    pub id: Uuid,
    pub hash: String,
    pub entry: NewEntry,
}

impl Identified {
    pub(crate) fn new(entry: NewEntry) -> Self {
        Identified { id: Uuid::now_v7(), hash: hex::encode(Sm3::digest(&entry.content)), entry }
    }
}

/// What an audit entry covering `rows` says of them: how many, and the SM3 over their ids and
/// hashes.
fn covering(rows: &[Identified]) -> String {
    let mut covered = Sm3::new();
    for r in rows {
        covered.update(format!("{}:{};", r.id, r.hash).as_bytes());
    }
    format!("{} 条消息，摘要 SM3 {}", rows.len(), hex::encode(covered.finalize()))
}

/// Writes `entries` in `tx`, and one audit entry covering them all.
pub(crate) async fn write(
    tx: &mut Tx,
    actor: &Actor,
    department: Option<DepartmentId>,
    client: Option<Uuid>,
    action: &str,
    entries: Vec<NewEntry>,
) -> Result<(), ExchangeError> {
    if entries.is_empty() {
        return Ok(());
    }
    let refused = entries.iter().any(|e| e.outcome != Outcome::Ok);
    let rows: Vec<Identified> = entries.into_iter().map(Identified::new).collect();
    insert(tx, department, client, &rows).await?;
    let mut event = Event::success(action, "exchange_log", rows[0].id).detail(covering(&rows));
    if refused {
        event = event.outcome(audit::Outcome::Denied);
    }
    audit::record(tx, actor, event).await?;
    Ok(())
}

/// Writes `rows` in `tx`, without an audit entry: the caller's own audit entry in the same
/// transaction covers them (naming each entry's id and SM3).
pub(crate) async fn insert(
    tx: &mut Tx,
    department: Option<DepartmentId>,
    client: Option<Uuid>,
    rows: &[Identified],
) -> Result<(), ExchangeError> {
    let now = tx.db().now();
    // A page of a pull is one statement, not a hundred.
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = i * 11;
                let p: Vec<String> = (1..=11).map(|k| format!("${}", n + k)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!("{INSERT} {}", values.join(", "));
        run!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for r in chunk {
                let e = &r.entry;
                q = q
                    .bind(r.id)
                    .bind(now)
                    .bind(department.map(|d| d.as_uuid()))
                    .bind(client)
                    .bind(e.direction.as_str())
                    .bind(e.kind)
                    .bind(e.serial.clone())
                    .bind(r.hash.clone())
                    .bind(e.outcome.as_str())
                    .bind(e.error_code)
                    .bind(e.detail.clone());
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

impl Exchange {
    /// Records that the department's system downloaded a file of a case (its id and SHA-256).
    pub async fn log_download(
        &self,
        caller: &Caller,
        serial: &str,
        file: Uuid,
        sha256: &str,
    ) -> Result<(), ExchangeError> {
        let entry =
            NewEntry::ok(Direction::Out, "file", Some(serial.to_owned()), format!("{file}:{sha256}").into_bytes());
        let (department, client) = (Some(caller.department), Some(caller.client.id));
        self.record(&caller.actor, department, client, "exchange.file", vec![entry]).await
    }

    /// Records a refused request of a known client (best effort: a refusal is answered even if
    /// the log cannot be written).
    /// Writes `entries` in a transaction of their own, covered by one audit entry `action`.
    pub(crate) async fn record(
        &self,
        actor: &Actor,
        department: Option<DepartmentId>,
        client: Option<Uuid>,
        action: &str,
        entries: Vec<NewEntry>,
    ) -> Result<(), ExchangeError> {
        let mut tx = self.db().begin().await?;
        write(&mut tx, actor, department, client, action, entries).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`Exchange::record`] for a refusal: the refusal is answered whether or not its record
    /// could be written (a failure to write it is logged).
    pub(crate) async fn record_refusal(&self, caller: &Caller, action: &str, entry: NewEntry) {
        let (department, client) = (Some(caller.department), Some(caller.client.id));
        if let Err(err) = self.record(&caller.actor, department, client, action, vec![entry]).await {
            tracing::warn!(error = %err, action, "the exchange log could not record a refusal");
        }
    }

    pub(crate) async fn log_refusal(
        &self,
        client: &ApiClient,
        department: Option<DepartmentId>,
        r: Request<'_>,
        e: &ExchangeError,
    ) {
        let entry = NewEntry {
            direction: Direction::In,
            kind: "refused",
            serial: None,
            content: r.body.to_vec(),
            outcome: Outcome::Refused,
            error_code: Some(e.code()),
            detail: format!("{} {}", r.method, r.path_and_query.chars().take(200).collect::<String>()),
        };
        let actor = client.actor(r.client_ip);
        if let Err(err) = self.record(&actor, department, Some(client.id), "exchange.refused", vec![entry]).await {
            tracing::warn!(error = %err, "the exchange log could not record a refusal");
        }
    }

    /// The log, newest first, as far as `access` reaches (`exchange.manage` over departments).
    pub async fn log(&self, access: &Access, filter: &LogFilter) -> Result<Vec<LogEntry>, ExchangeError> {
        let scope = access.filter(Permission::ExchangeManage);
        let Some(allowed) = scope.sql(self.db().backend(), None, "l.department_id", "d.region_code") else {
            return Ok(Vec::new());
        };
        let mut sql = format!(
            "SELECT l.id, l.at, d.name AS department_name, k.name AS client_name, l.direction, l.kind, l.serial_number,
                l.content_sm3, l.outcome, l.error_code, l.detail
             FROM exchange_log l LEFT JOIN departments d ON d.id = l.department_id
             LEFT JOIN api_clients k ON k.id = l.client_id
             WHERE {allowed}"
        );
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.serial.is_some() {
            sql.push_str(&format!(" AND l.serial_number = {}", next()));
        }
        if filter.department.is_some() {
            sql.push_str(&format!(" AND l.department_id = {}", next()));
        }
        if filter.before.is_some() {
            sql.push_str(&format!(" AND l.id < {}", next()));
        }
        if filter.problems_only {
            sql.push_str(" AND l.outcome <> 'ok'");
        }
        sql.push_str(&format!(" ORDER BY l.id DESC LIMIT {}", filter.limit.clamp(1, 500)));
        let mut conn = self.db().conn().await?;
        let rows: Vec<LogEntry> = run!(conn, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            if let Some(s) = &filter.serial {
                q = q.bind(s.clone());
            }
            if let Some(d) = filter.department {
                q = q.bind(d.as_uuid());
            }
            if let Some(b) = filter.before {
                q = q.bind(b);
            }
            q.fetch_all(&mut *c).await
        })?;
        Ok(rows)
    }
}
