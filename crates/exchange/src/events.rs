//! The steps a department's system sends back (accepted, moved on, more materials asked for,
//! decided, delivered): each names a move of the case's workflow, as the pulled case lists them,
//! and is applied exactly once by its idempotency key. The move goes through the case engine as
//! the department's own staff would make it — the deadline clock, the applicant told, the
//! history — and a grant issues the item's licence in the same transaction. A repeated message
//! gets the first answer again; a move the case cannot take now (out of order, or taken
//! already under another key) is refused with the case engine's code; another department's
//! case is not found.

use crate::log::{self, Direction, Identified, NewEntry};
use crate::{Caller, Exchange, ExchangeError};
use chrono::{DateTime, Utc};
use govhall_audit::Actor;
use govhall_cases::CaseId;
use govhall_cases::files::NewFile;
use govhall_cases::transition::{Action, By};
use govhall_core::text::clean;
use govhall_db::{Tx, exec, run, sqlx};
use govhall_licences::decide::Decision;
use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};
use std::collections::{BTreeMap, HashMap};

/// One step from a department's system.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    /// The same key again gives the same answer (1 to 100 visible ASCII characters).
    pub idempotency_key: String,
    /// The case.
    pub serial_number: String,
    /// The move's code, as the pulled case's `moves` list it.
    pub action: String,
    /// The reason or note (required by some moves).
    pub note: String,
    /// Who handled it in the department's system.
    pub handler: String,
    /// When it happened there.
    pub occurred_at: Option<DateTime<Utc>>,
    /// With a request for more (补齐补正): the materials asked for.
    pub requested: Vec<String>,
    /// With a grant of an item that issues a licence: the licence's fields.
    pub licence: BTreeMap<String, String>,
    /// Files with the move; `result` ones are the result documents the applicant receives.
    pub files: Vec<NewFile>,
}

/// What the hall answers (and answers again to a repeated message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The case.
    pub serial_number: String,
    /// Its step now.
    pub step: String,
    /// The step's name.
    pub step_name: String,
    /// Whether it is still being handled.
    pub is_open: bool,
    /// How it ended, if it has (`granted`, `refused`, `rejected`, `withdrawn`).
    pub outcome: Option<String>,
    /// The licence issued with a grant, if one was.
    pub licence_number: Option<String>,
    /// This is the answer to an earlier copy of the same message.
    #[serde(default)]
    pub replayed: bool,
}

const LONGEST_HANDLER: usize = 50;

fn key_ok(key: &str) -> bool {
    (1..=100).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A step checked and ready to be made in a transaction: the decision (the move, and the
/// licence a grant issues) with what the exchange keeps of the message.
pub(crate) struct Ready<'a> {
    pub key: String,
    pub digest: String,
    action: String,
    handler: String,
    occurred: DateTime<Utc>,
    decision: Decision<'a>,
    /// The message's log entry, covered by the move's own audit entry.
    logged: Identified,
}

/// A step made in a transaction: the answer, and its rows still to write.
pub(crate) struct Made {
    pub applied: Applied,
    case: CaseId,
    ready_key: String,
    digest: String,
    action: String,
    handler: String,
    occurred: DateTime<Utc>,
    pub logged: Identified,
}

/// The checks a step passes before anything is read: its key and its handler.
pub(crate) fn screen(event: &Incoming) -> Result<(String, String), ExchangeError> {
    let key = event.idempotency_key.trim().to_owned();
    if !key_ok(&key) {
        return Err(ExchangeError::Invalid("idempotency_key 应为 1 到 100 个可见的英文字母、数字或符号".into()));
    }
    let handler = clean(event.handler.trim()).into_owned();
    if handler.is_empty() || handler.chars().count() > LONGEST_HANDLER {
        return Err(ExchangeError::Invalid(format!("handler（经办人）不能为空，且不超过 {LONGEST_HANDLER} 个字")));
    }
    Ok((key, handler))
}

/// How the audit log names a department's system acting through `handler`.
pub(crate) fn actor_of(caller: &Caller, handler: &str) -> Actor {
    Actor {
        id: None,
        label: format!("接入系统：{}（经办人：{handler}）", caller.client.name),
        client_ip: caller.actor.client_ip.clone(),
    }
}

const RECORD: &str = "INSERT INTO exchange_events (client_id, idempotency_key, case_id, action, handler, occurred_at,
        content_sm3, answer, created_at) VALUES";

impl Exchange {
    /// Applies one step sent by `caller`; `content` is the message as received (its SM3 tells a
    /// repeated message from another one under the same key).
    pub async fn apply(&self, caller: &Caller, event: Incoming, content: &[u8]) -> Result<Applied, ExchangeError> {
        let digest = hex::encode(Sm3::digest(content));
        let serial: String = event.serial_number.trim().chars().take(40).collect();
        let key = event.idempotency_key.trim().to_owned();
        match self.try_apply(caller, event, content, &digest).await {
            Ok(applied) => Ok(applied),
            Err(e) => match self.after_refusal(caller, &key, &digest, e).await {
                Ok(answer) => Ok(answer),
                Err(e) => {
                    if !matches!(e, ExchangeError::Db(_) | ExchangeError::Internal(_)) {
                        self.log_event_refusal(caller, serial, content, &e).await;
                    }
                    Err(e)
                }
            },
        }
    }

    /// A step refused with `e`: a copy sent at the same moment may have moved the case while
    /// this one was checked against the step before, and then this is that copy's answer.
    pub(crate) async fn after_refusal(
        &self,
        caller: &Caller,
        key: &str,
        digest: &str,
        e: ExchangeError,
    ) -> Result<Applied, ExchangeError> {
        if matches!(e, ExchangeError::Db(_) | ExchangeError::Internal(_)) || !key_ok(key) {
            return Err(e);
        }
        match self.earlier_answer(caller, key, digest).await {
            Ok(Some(answer)) => Ok(answer),
            _ => Err(e),
        }
    }

    async fn try_apply(
        &self,
        caller: &Caller,
        event: Incoming,
        content: &[u8],
        digest: &str,
    ) -> Result<Applied, ExchangeError> {
        let (key, handler) = screen(&event)?;
        if let Some(answer) = self.earlier_answer(caller, &key, digest).await? {
            return Ok(answer);
        }
        let actor = actor_of(caller, &handler);
        let ready = self.ready(caller, &actor, event, content, (key, digest.to_owned(), handler)).await?;
        let mut tx = self.db().begin().await?;
        let made = self.make(&mut tx, ready).await?;
        let key = made.ready_key.clone();
        if record(&mut tx, caller, std::slice::from_ref(&made)).await? == 0 {
            // The same key, sent twice at once: the other copy was applied meanwhile, and this
            // one's move is undone.
            tx.rollback().await?;
            return self.earlier_answer(caller, &key, digest).await?.ok_or(ExchangeError::KeyReused(key));
        }
        let Made { applied, logged, .. } = made;
        log::insert(&mut tx, Some(caller.department), Some(caller.client.id), &[logged]).await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// Checks a step that passed [`screen`] against its case (read once, by number; another
    /// department's case answers as no case at all) and prepares its decision.
    pub(crate) async fn ready<'a>(
        &self,
        caller: &'a Caller,
        actor: &'a Actor,
        event: Incoming,
        content: &[u8],
        (key, digest, handler): (String, String, String),
    ) -> Result<Ready<'a>, ExchangeError> {
        let mut action = Action {
            action: event.action.trim().to_owned(),
            note: clean(&event.note).into_owned(),
            files: event.files,
            requested: event.requested.iter().map(|m| clean(m).into_owned()).collect(),
            ..Action::default()
        };
        let serial = event.serial_number.trim();
        let checked = self.cases().check_move_by_serial(By::Staff(&caller.access, actor), serial, &mut action).await?;
        let logged = Identified::new(NewEntry::ok(
            Direction::In,
            "event",
            Some(checked.case().serial_number.clone()),
            content.to_vec(),
        ));
        action.covers = Some(format!("交换日志 {}，内容 SM3 {}", logged.id, logged.hash));
        let decision = self.licences().prepare_checked(&caller.access, actor, action, checked, &event.licence).await?;
        Ok(Ready {
            key,
            digest,
            action: event.action.trim().to_owned(),
            handler,
            occurred: event.occurred_at.unwrap_or_else(|| self.db().now()),
            decision,
            logged,
        })
    }

    /// Makes a step in `tx`: the move (and licence), its answer and its log entry's detail.
    pub(crate) async fn make(&self, tx: &mut Tx, ready: Ready<'_>) -> Result<Made, ExchangeError> {
        let Ready { key, digest, action, handler, occurred, decision, mut logged } = ready;
        let (moved, licence) = self.licences().decide_in(tx, decision).await?;
        logged.entry.detail = format!(
            "{action} → {}，经办人 {handler}，发生于 {}",
            moved.step_name,
            occurred.format("%Y-%m-%d %H:%M:%S")
        );
        let applied = Applied {
            serial_number: moved.serial_number.clone(),
            step: moved.step.clone(),
            step_name: moved.step_name.clone(),
            is_open: moved.is_open,
            outcome: moved.outcome.map(|o| o.as_str().to_owned()),
            licence_number: licence.map(|l| l.number),
            replayed: false,
        };
        Ok(Made { applied, case: moved.id, ready_key: key, digest, action, handler, occurred, logged })
    }

    /// The earlier messages under `keys`: each key's digest and answer.
    pub(crate) async fn earlier_answers(
        &self,
        caller: &Caller,
        keys: &[&str],
    ) -> Result<HashMap<String, (String, Applied)>, ExchangeError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let listed: Vec<String> = (0..keys.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT idempotency_key, content_sm3, answer FROM exchange_events
             WHERE client_id = $1 AND idempotency_key IN ({})",
            listed.join(", ")
        );
        let mut conn = self.db().conn().await?;
        let rows: Vec<(String, String, String)> = run!(conn, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(caller.client.id);
            for key in keys {
                q = q.bind(*key);
            }
            q.fetch_all(&mut *c).await
        })?;
        let mut found = HashMap::with_capacity(rows.len());
        for (key, digest, answer) in rows {
            found.insert(key, (digest, serde_json::from_str(&answer)?));
        }
        Ok(found)
    }

    /// The answer given to an earlier message under `key`: again, if it had the same content;
    /// refused if it had another.
    async fn earlier_answer(&self, caller: &Caller, key: &str, digest: &str) -> Result<Option<Applied>, ExchangeError> {
        let mut conn = self.db().conn().await?;
        let earlier: Option<(String, String)> = run!(conn, |c| sqlx::query_as(
            "SELECT content_sm3, answer FROM exchange_events WHERE client_id = $1 AND idempotency_key = $2"
        )
        .bind(caller.client.id)
        .bind(key)
        .fetch_optional(&mut *c)
        .await)?;
        let Some((earlier_digest, answer)) = earlier else { return Ok(None) };
        if earlier_digest != digest {
            return Err(ExchangeError::KeyReused(key.to_owned()));
        }
        let mut applied: Applied = serde_json::from_str(&answer)?;
        applied.replayed = true;
        Ok(Some(applied))
    }

    pub(crate) async fn log_event_refusal(&self, caller: &Caller, serial: String, content: &[u8], e: &ExchangeError) {
        let entry = NewEntry::refused("event", (!serial.is_empty()).then_some(serial), content.to_vec(), e);
        self.record_refusal(caller, "exchange.event", entry).await;
    }
}

/// Records the steps made in `tx` under their keys, with their answers, in one statement; how
/// many were recorded (fewer: a key was taken meanwhile by a copy sent at the same moment).
pub(crate) async fn record(tx: &mut Tx, caller: &Caller, made: &[Made]) -> Result<usize, ExchangeError> {
    let now = tx.db().now();
    let values: Vec<String> = (0..made.len())
        .map(|i| {
            let p: Vec<String> = (1..=9).map(|k| format!("${}", i * 9 + k)).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    let sql = format!("{RECORD} {} ON CONFLICT (client_id, idempotency_key) DO NOTHING", values.join(", "));
    let answers: Vec<String> = made.iter().map(|m| serde_json::to_string(&m.applied)).collect::<Result<_, _>>()?;
    let recorded = exec!(tx, {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
        for (m, answer) in made.iter().zip(&answers) {
            q = q
                .bind(caller.client.id)
                .bind(m.ready_key.clone())
                .bind(m.case.as_uuid())
                .bind(m.action.clone())
                .bind(m.handler.clone())
                .bind(m.occurred)
                .bind(m.digest.clone())
                .bind(answer.clone())
                .bind(now);
        }
        q
    })?;
    Ok(usize::try_from(recorded).unwrap_or(0))
}
