//! The steps a department's system sends back (accepted, moved on, more materials asked for,
//! decided, delivered): each names a move of the case's workflow, as the pulled case lists them,
//! and is applied exactly once by its idempotency key. The move goes through the case engine as
//! the department's own staff would make it — the deadline clock, the applicant told, the
//! history — and a grant issues the item's licence in the same transaction. A repeated message
//! gets the first answer again; a move the case cannot take now (out of order, or taken
//! already under another key) is refused with the case engine's code; another department's
//! case is not found.

use crate::log::{self, Direction, NewEntry};
use crate::{Caller, Exchange, ExchangeError};
use chrono::{DateTime, Utc};
use govhall_audit::Actor;
use govhall_cases::files::NewFile;
use govhall_cases::transition::Action;
use govhall_core::text::clean;
use govhall_db::{exec, run, sqlx};
use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};
use std::collections::BTreeMap;

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

impl Exchange {
    /// Applies one step sent by `caller`; `content` is the message as received (its SM3 tells a
    /// repeated message from another one under the same key).
    pub async fn apply(&self, caller: &Caller, event: Incoming, content: &[u8]) -> Result<Applied, ExchangeError> {
        let digest = hex::encode(Sm3::digest(content));
        let serial: String = event.serial_number.trim().chars().take(40).collect();
        let key = event.idempotency_key.trim().to_owned();
        match self.try_apply(caller, event, content, &digest).await {
            Ok(applied) => Ok(applied),
            Err(e @ (ExchangeError::Db(_) | ExchangeError::Internal(_))) => Err(e),
            Err(e) => {
                // A copy sent at the same moment may have moved the case while this one was
                // checked against the step before: then this is that copy's answer.
                if key_ok(&key)
                    && let Ok(Some(answer)) = self.earlier_answer(caller, &key, &digest).await
                {
                    return Ok(answer);
                }
                self.log_event_refusal(caller, serial, content, &e).await;
                Err(e)
            }
        }
    }

    async fn try_apply(
        &self,
        caller: &Caller,
        event: Incoming,
        content: &[u8],
        digest: &str,
    ) -> Result<Applied, ExchangeError> {
        let key = event.idempotency_key.trim().to_owned();
        if !key_ok(&key) {
            return Err(ExchangeError::Invalid("idempotency_key 应为 1 到 100 个可见的英文字母、数字或符号".into()));
        }
        if let Some(answer) = self.earlier_answer(caller, &key, digest).await? {
            return Ok(answer);
        }
        let handler = clean(event.handler.trim()).into_owned();
        if handler.is_empty() || handler.chars().count() > LONGEST_HANDLER {
            return Err(ExchangeError::Invalid(format!("handler（经办人）不能为空，且不超过 {LONGEST_HANDLER} 个字")));
        }
        let serial = event.serial_number.trim();
        let case = self.cases().id_by_serial(serial).await?;
        // Another department's case answers as no case at all.
        let found = self.cases().get(&caller.access, case).await?;
        let actor = Actor {
            id: None,
            label: format!("接入系统：{}（经办人：{handler}）", caller.client.name),
            client_ip: caller.actor.client_ip.clone(),
        };
        let action = Action {
            case,
            action: event.action.trim().to_owned(),
            note: clean(&event.note).into_owned(),
            revision: None,
            files: event.files,
            requested: event.requested.iter().map(|m| clean(m).into_owned()).collect(),
            quiet: false,
        };
        let decision = self.licences().prepare_decision(&caller.access, &actor, action, &event.licence).await?;
        let now = self.db().now();
        let occurred = event.occurred_at.unwrap_or(now);
        let mut tx = self.db().begin().await?;
        let reserved = exec!(
            tx,
            sqlx::query(
                "INSERT INTO exchange_events (client_id, idempotency_key, case_id, action, handler, occurred_at, content_sm3,
                    answer, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8)
                 ON CONFLICT (client_id, idempotency_key) DO NOTHING"
            )
            .bind(caller.client.id)
            .bind(&key)
            .bind(case.as_uuid())
            .bind(event.action.trim())
            .bind(&handler)
            .bind(occurred)
            .bind(digest)
            .bind(now)
        )?;
        if reserved == 0 {
            // The same key, sent twice at once: the other copy has been applied meanwhile.
            tx.rollback().await?;
            return self.earlier_answer(caller, &key, digest).await?.ok_or(ExchangeError::KeyReused(key));
        }
        let (moved, licence) = self.licences().decide_in(&mut tx, decision).await?;
        let applied = Applied {
            serial_number: moved.serial_number.clone(),
            step: moved.step.clone(),
            step_name: moved.step_name.clone(),
            is_open: moved.is_open,
            outcome: moved.outcome.map(|o| o.as_str().to_owned()),
            licence_number: licence.map(|l| l.number),
            replayed: false,
        };
        exec!(
            tx,
            sqlx::query("UPDATE exchange_events SET answer = $1 WHERE client_id = $2 AND idempotency_key = $3")
                .bind(serde_json::to_string(&applied)?)
                .bind(caller.client.id)
                .bind(&key)
        )?;
        let mut entry = NewEntry::ok(Direction::In, "event", Some(found.serial_number.clone()), content.to_vec());
        entry.detail = format!(
            "{} → {}，经办人 {handler}，发生于 {}",
            event.action.trim(),
            moved.step_name,
            occurred.format("%Y-%m-%d %H:%M:%S")
        );
        log::write(
            &mut tx,
            &caller.actor,
            Some(caller.department),
            Some(caller.client.id),
            "exchange.event",
            vec![entry],
        )
        .await?;
        tx.commit().await?;
        Ok(applied)
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
