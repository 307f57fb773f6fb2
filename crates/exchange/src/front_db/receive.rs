//! The steps and results the department's system put into `govhall_incoming_events` (with
//! files in `govhall_incoming_files`, by the event's idempotency key), oldest first, each
//! applied as the same message through the API would be (once by its key). Each row is marked
//! `done` with the case's step (and licence number), or `failed` with a code and the reason in
//! Chinese; a failure of the hall itself leaves the row `new` to be tried again, up to
//! [`MAX_ATTEMPTS`] times. The failed rows are listed for the department's managers, who can
//! have one taken again once the department has put it right.

use super::{china_text, failed};
use crate::events::{Applied, Incoming};
use crate::log::NewEntry;
use crate::{Caller, Exchange, ExchangeError};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_cases::files::NewFile;
use govhall_core::Coded;
use govhall_db::{Db, exec, run, sqlx};
use govhall_identity::{Access, DepartmentId};
use serde::Serialize;
use sm3::{Digest, Sm3};
use std::collections::{BTreeMap, HashMap};

/// Times a row is tried when the hall itself fails applying it.
pub const MAX_ATTEMPTS: i32 = 5;

/// Files one event may carry.
const MAX_FILES: i64 = 5;

/// The most bytes of files a part of a page holds in memory at once (a page of 100 steps with
/// five large result documents each would otherwise be read whole).
const PAGE_FILE_BYTES: i64 = 64 << 20;

/// The most characters a text column of a row may hold (a licence's fields as JSON are the
/// longest). Rows are read cut one character past it, so a department writing megabytes into a
/// column costs the hall no more than this, and the row is refused as too long.
const LONGEST_TEXT: usize = 20_000;

const NEW_ROWS: &str = "SELECT id, SUBSTR(idempotency_key, 1, 20001), SUBSTR(serial_number, 1, 20001),
        SUBSTR(action, 1, 20001), SUBSTR(note, 1, 20001), SUBSTR(handler, 1, 20001), SUBSTR(occurred_at, 1, 20001),
        SUBSTR(requested, 1, 20001), SUBSTR(licence, 1, 20001), attempts
     FROM govhall_incoming_events WHERE status = 'new' AND id > $1 ORDER BY id LIMIT $2";

/// The files of a page's events (their keys listed after `IN`), without their content.
const FILES: &str = "SELECT event_key, id, file_name, CAST(is_result AS BIGINT), CAST(LENGTH(content) AS BIGINT)
     FROM govhall_incoming_files WHERE event_key IN";

const MARK: &str =
    "UPDATE govhall_incoming_events SET status = $1, attempts = attempts + 1, error_code = $2, error = $3,
        step = $4, licence_number = $5, processed_at = $6
     WHERE id = $7";

const FAILED_ROWS: &str = "SELECT id, idempotency_key, serial_number, action, error_code, error, attempts, processed_at
     FROM govhall_incoming_events WHERE status = 'failed' ORDER BY id DESC LIMIT 50";

const RETRY: &str = "UPDATE govhall_incoming_events SET status = 'new', attempts = 0, error_code = NULL, error = NULL
     WHERE id = $1 AND status = 'failed'";

type EventRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i32,
);

/// A row the hall could not apply, as the managers' page lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FailedRow {
    /// The row's id in `govhall_incoming_events`.
    pub id: i64,
    /// Its idempotency key.
    pub idempotency_key: Option<String>,
    /// The case it names.
    pub serial_number: Option<String>,
    /// The move it asks for.
    pub action: Option<String>,
    /// Why not: the code.
    pub error_code: Option<String>,
    /// Why not, in Chinese.
    pub error: Option<String>,
    /// Times tried.
    pub attempts: i32,
    /// When last tried.
    pub processed_at: Option<String>,
}

/// How one row ended.
struct Marked {
    id: i64,
    status: &'static str,
    code: Option<&'static str>,
    error: Option<String>,
    step: Option<String>,
    licence: Option<String>,
}

impl Marked {
    /// Row `id`, tried `attempts` times before, answered with `answer`: done, failed, or (a
    /// failure of the hall itself) left new to be tried again up to [`MAX_ATTEMPTS`] times.
    fn of(id: i64, attempts: i32, answer: Result<Applied, ExchangeError>) -> Marked {
        match answer {
            Ok(done) => Marked {
                id,
                status: "done",
                code: None,
                error: None,
                step: Some(done.step),
                licence: done.licence_number,
            },
            Err(e @ (ExchangeError::Db(_) | ExchangeError::Internal(_))) => {
                tracing::warn!(row = id, error = %e, "a front database event could not be applied; tried again later");
                let status = if attempts + 1 >= MAX_ATTEMPTS { "failed" } else { "new" };
                Marked { id, status, code: Some(e.code()), error: Some(e.message()), step: None, licence: None }
            }
            Err(e) => Marked {
                id,
                status: "failed",
                code: Some(e.code()),
                error: Some(e.message().chars().take(300).collect()),
                step: None,
                licence: None,
            },
        }
    }
}

fn text(value: Option<String>) -> String {
    value.unwrap_or_default()
}

fn malformed(message: &str) -> ExchangeError {
    ExchangeError::Invalid(message.to_owned())
}

impl Exchange {
    /// Applies the new rows of `front`, a page at a time (a case's own rows in order, rows of
    /// different cases made together: [`Exchange::apply_all`]); how many were applied and how
    /// many marked failed.
    pub(super) async fn receive(&self, caller: &Caller, front: &Db) -> Result<(u64, u64), ExchangeError> {
        let page = i64::from(self.settings().max_page);
        let (mut after, mut applied, mut refused) = (0, 0, 0);
        loop {
            let mut conn = front.conn().await.map_err(failed)?;
            let rows: Vec<EventRow> =
                run!(conn, |c| sqlx::query_as(NEW_ROWS).bind(after).bind(page).fetch_all(&mut *c).await)
                    .map_err(failed)?;
            drop(conn);
            let Some(last) = rows.last() else { break };
            after = last.0;
            let full = i64::try_from(rows.len()).unwrap_or(0) == page;
            let keys: Vec<String> =
                rows.iter().filter_map(|r| r.1.as_deref().map(str::trim).map(str::to_owned)).collect();
            let listed = files_listed(front, &keys).await?;
            // A page's files are read before its steps are made: pages whose files would take
            // more than PAGE_FILE_BYTES are made in parts (in order: a case's rows stay in order).
            let most = i64::try_from(self.cases().settings().max_file_bytes).unwrap_or(i64::MAX);
            let mut parts: Vec<Vec<EventRow>> = Vec::new();
            let mut held = 0i64;
            for row in rows {
                let bytes: i64 = row
                    .1
                    .as_deref()
                    .and_then(|k| listed.get(k.trim()))
                    .map_or(0, |files| files.iter().map(|f| f.size.unwrap_or(0).clamp(0, most)).sum());
                match parts.last_mut() {
                    Some(part) if held.saturating_add(bytes) <= PAGE_FILE_BYTES => {
                        held = held.saturating_add(bytes);
                        part.push(row);
                    }
                    _ => {
                        held = bytes;
                        parts.push(vec![row]);
                    }
                }
            }
            for part in parts {
                let (done, failed) = self.receive_part(caller, front, part, &listed).await?;
                applied += done;
                refused += failed;
            }
            if !full {
                break;
            }
        }
        Ok((applied, refused))
    }

    /// Reads, makes and marks `rows` of a page; how many were applied and how many marked failed.
    async fn receive_part(
        &self,
        caller: &Caller,
        front: &Db,
        rows: Vec<EventRow>,
        listed: &HashMap<String, Vec<Listed>>,
    ) -> Result<(u64, u64), ExchangeError> {
        let mut marks = Vec::with_capacity(rows.len());
        let mut malformed_rows = Vec::new();
        let mut events = Vec::with_capacity(rows.len());
        let mut places = Vec::with_capacity(rows.len());
        for (id, key, serial, action, note, handler, occurred, requested, licence, attempts) in rows {
            let files = key.as_deref().map(str::trim).and_then(|k| listed.get(k).cloned()).unwrap_or_default();
            let serial_text: String = text(serial.clone()).trim().chars().take(40).collect();
            let columns = [&key, &serial, &action, &note, &handler, &occurred, &requested, &licence];
            let too_long = columns.iter().any(|c| c.as_deref().is_some_and(|v| v.chars().count() > LONGEST_TEXT));
            let fields = (key, serial, action, note, handler, occurred, requested, licence);
            let parsed = if too_long {
                Err(malformed(&format!("有字段超过 {LONGEST_TEXT} 个字符")))
            } else {
                self.event_of(front, fields, files).await
            };
            match parsed {
                Ok(parsed) => {
                    events.push(parsed);
                    places.push((id, attempts));
                }
                Err(e @ ExchangeError::FrontDb(_)) => return Err(e),
                Err(e) => {
                    // The row does not say what the hall needs: refused before it reaches the case.
                    let content = format!("govhall_incoming_events#{id}").into_bytes();
                    let serial = (!serial_text.is_empty()).then_some(serial_text);
                    malformed_rows.push(NewEntry::refused("event", serial, content, &e));
                    marks.push(Marked::of(id, attempts, Err(e)));
                }
            }
        }
        if !malformed_rows.is_empty() {
            let (department, client) = (Some(caller.department), Some(caller.client.id));
            if let Err(err) = self.record(&caller.actor, department, client, "exchange.event", malformed_rows).await {
                tracing::warn!(error = %err, "the exchange log could not record refused rows");
            }
        }
        let answers = self.apply_all(caller, events).await;
        for ((id, attempts), answer) in places.into_iter().zip(answers) {
            marks.push(Marked::of(id, attempts, answer));
        }
        let (mut applied, mut refused) = (0, 0);
        for mark in &marks {
            match mark.status {
                "done" => applied += 1,
                "failed" => refused += 1,
                _ => {}
            }
        }
        mark_all(front, &marks).await?;
        Ok((applied, refused))
    }

    /// The event a row asks for, with the bytes its digest is taken over (the row's fields and
    /// its files' SM3), or what is wrong with it.
    #[expect(clippy::type_complexity, reason = "the row's columns, as read")]
    async fn event_of(
        &self,
        front: &Db,
        (key, serial, action, note, handler, occurred, requested, licence): (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        ),
        listed: Vec<Listed>,
    ) -> Result<(Incoming, Vec<u8>), ExchangeError> {
        let key = text(key);
        if key.trim().is_empty() {
            return Err(malformed("idempotency_key（幂等键）不能为空"));
        }
        let serial = text(serial);
        if serial.trim().is_empty() {
            return Err(malformed("serial_number（申办编号）不能为空"));
        }
        let action = text(action);
        if action.trim().is_empty() {
            return Err(malformed("action（办理动作）不能为空，取自 govhall_outgoing_cases.moves"));
        }
        let occurred_at =
            match occurred.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => None,
                Some(at) => Some(DateTime::parse_from_rfc3339(at).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                    malformed("occurred_at（发生时间）应为 RFC 3339 时间，如 2026-12-07T09:30:00+08:00")
                })?),
            };
        let requested: Vec<String> = match requested.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Vec::new(),
            Some(json) => serde_json::from_str(json)
                .map_err(|_| malformed("requested（需补的材料）应为 JSON 字符串数组，如 [\"身份证复印件\"]"))?,
        };
        let licence: BTreeMap<String, String> = match licence.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => BTreeMap::new(),
            Some(json) => serde_json::from_str(json).map_err(|_| {
                malformed("licence（证照字段）应为 JSON 对象，值为字符串，如 {\"有效期至\": \"2031-12-31\"}")
            })?,
        };
        let files = self.files_of_event(front, listed).await?;
        let digests: Vec<String> = files
            .iter()
            .map(|f| format!("{}:{}:{}", f.file_name, f.result, hex::encode(Sm3::digest(&f.bytes))))
            .collect();
        let content = serde_json::to_vec(&serde_json::json!({
            "idempotency_key": key, "serial_number": serial, "action": action, "note": note, "handler": handler,
            "occurred_at": occurred, "requested": requested, "licence": licence, "files": digests,
        }))?;
        let event = Incoming {
            idempotency_key: key,
            serial_number: serial,
            action,
            note: text(note),
            handler: text(handler),
            occurred_at,
            requested,
            licence,
            files,
        };
        Ok((event, content))
    }

    /// The files put in with an event (as [`files_listed`] found them), each checked for size
    /// before it is read.
    async fn files_of_event(&self, front: &Db, listed: Vec<Listed>) -> Result<Vec<NewFile>, ExchangeError> {
        if listed.is_empty() {
            return Ok(Vec::new());
        }
        if i64::try_from(listed.len()).unwrap_or(i64::MAX) > MAX_FILES {
            return Err(malformed(&format!("一个办理动作至多附 {MAX_FILES} 个文件（govhall_incoming_files）")));
        }
        let most = self.cases().settings().max_file_bytes;
        let mut conn = front.conn().await.map_err(failed)?;
        let mut files = Vec::with_capacity(listed.len());
        for Listed { id, name, is_result, size } in listed {
            if usize::try_from(size.unwrap_or(0)).unwrap_or(usize::MAX) > most {
                return Err(malformed(&format!(
                    "文件“{}”超过 {} MB",
                    name.chars().take(50).collect::<String>(),
                    most / 1024 / 1024
                )));
            }
            let bytes: Vec<u8> =
                run!(conn, |c| sqlx::query_scalar("SELECT content FROM govhall_incoming_files WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *c)
                    .await)
                .map_err(failed)?;
            files.push(NewFile { file_name: name, bytes, result: is_result != 0, material: String::new() });
        }
        Ok(files)
    }

    /// The rows of `department`'s front database that could not be applied, newest first (50).
    pub async fn failed_rows(
        &self,
        access: &Access,
        department: DepartmentId,
    ) -> Result<Vec<FailedRow>, ExchangeError> {
        let front = self.managed_front_db(access, department).await?;
        let mut conn = front.conn().await.map_err(failed)?;
        run!(conn, |c| sqlx::query_as(FAILED_ROWS).fetch_all(&mut *c).await).map_err(failed)
    }

    /// Has failed row `id` of `department`'s front database taken again at the next visit (the
    /// department has put it right); refused for a row that has not failed.
    pub async fn retry_row(
        &self,
        access: &Access,
        actor: &Actor,
        department: DepartmentId,
        id: i64,
    ) -> Result<(), ExchangeError> {
        let front = self.managed_front_db(access, department).await?;
        let mut tx = front.begin().await.map_err(failed)?;
        let changed = exec!(tx, sqlx::query(RETRY).bind(id)).map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        if changed == 0 {
            return Err(ExchangeError::NotFound("失败的前置库记录"));
        }
        let mut tx = self.db().begin().await?;
        let event = Event::success("exchange.front_db.retry", "department", department.as_uuid())
            .detail(format!("govhall_incoming_events#{id} 重新处理"));
        audit::record(&mut tx, actor, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `department`'s front database, when `access` manages its connection.
    async fn managed_front_db(&self, access: &Access, department: DepartmentId) -> Result<Db, ExchangeError> {
        let managed = self.states(access).await?.into_iter().any(|s| s.department_id == department.as_uuid());
        let link = self.front_links(Some(department)).await?.into_iter().next();
        match link {
            Some(link) if managed => self.front_db(&link).await,
            _ => Err(ExchangeError::NotFound("前置库对接")),
        }
    }
}

/// Marks a page of rows, in one transaction.
async fn mark_all(front: &Db, marks: &[Marked]) -> Result<(), ExchangeError> {
    let now = china_text(front.now());
    let mut tx = front.begin().await.map_err(failed)?;
    for m in marks {
        exec!(
            tx,
            sqlx::query(MARK)
                .bind(m.status)
                .bind(m.code)
                .bind(m.error.as_deref())
                .bind(m.step.as_deref())
                .bind(m.licence.as_deref())
                .bind(&now)
                .bind(m.id)
        )
        .map_err(failed)?;
    }
    tx.commit().await.map_err(failed)
}

/// A file put in with an event, before its content is read.
#[derive(Clone)]
struct Listed {
    id: i64,
    name: String,
    is_result: i64,
    size: Option<i64>,
}

/// The files of the events keyed `keys`, by key, in the order they were put in.
async fn files_listed(front: &Db, keys: &[String]) -> Result<HashMap<String, Vec<Listed>>, ExchangeError> {
    let mut found: HashMap<String, Vec<Listed>> = HashMap::new();
    if keys.is_empty() {
        return Ok(found);
    }
    let listed: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
    let sql = format!("{FILES} ({}) ORDER BY id", listed.join(", "));
    let mut conn = front.conn().await.map_err(failed)?;
    let rows: Vec<(String, i64, String, i64, Option<i64>)> = run!(conn, |c| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for key in keys {
            q = q.bind(key.clone());
        }
        q.fetch_all(&mut *c).await
    })
    .map_err(failed)?;
    for (key, id, name, is_result, size) in rows {
        found.entry(key.trim().to_owned()).or_default().push(Listed { id, name, is_result, size });
    }
    Ok(found)
}
