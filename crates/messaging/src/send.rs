//! The one entry point every domain uses: [`send`] in the caller's transaction (the outbox).

use crate::deliver::{DELIVER_JOB, DeliverPayload};
use crate::model::{Channel, MessageStatus, Recipient};
use crate::{Messaging, MessagingError, store, templates};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::jobs::{self, NewJob};
use govhall_db::sqlx;
use govhall_db::{Backend, Db, Tx, run};
use serde_json::Value;
use uuid::Uuid;

/// A message to send.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    template: String,
    to: Recipient,
    params: Value,
    idempotency_key: Option<String>,
    send_at: Option<DateTime<Utc>>,
    verification: bool,
}

impl OutgoingMessage {
    /// The newest version of template `template` for the recipient's channel, rendered with
    /// `params` (a JSON object of the placeholders' values).
    pub fn new(template: impl Into<String>, to: Recipient, params: Value) -> Self {
        Self { template: template.into(), to, params, idempotency_key: None, send_at: None, verification: false }
    }

    /// The same key again returns the first message instead of sending twice (e.g.
    /// `case:{id}:accepted:sms`).
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Not before `at` (a reminder); cancellable until then.
    pub fn send_at(mut self, at: DateTime<Utc>) -> Self {
        self.send_at = Some(at);
        self
    }

    /// Carries a verification code: goes out even in quiet hours.
    pub(crate) fn verification(mut self) -> Self {
        self.verification = true;
        self
    }
}

/// Renders and stores the message and enqueues its delivery, all in `tx`: it goes out exactly
/// when `tx` commits. Returns the message id (the first one's, for a repeated idempotency key).
///
/// On PostgreSQL this is two statements: the message with its first events, then its delivery
/// job. The template comes from this node's copy, which the insert checks against the database:
/// when a newer version exists, the template is read again.
pub async fn send(tx: &mut Tx, messaging: &Messaging, message: OutgoingMessage) -> Result<Uuid, MessagingError> {
    check_recipient(messaging, &message)?;
    let cache = &messaging.0.templates;
    // A stale copy costs one more try; more than a few means templates are being edited in a loop.
    for _ in 0..3 {
        let stored = prepare(tx, messaging, &message).await?;
        if let Some(id) = insert(tx, &stored).await? {
            enqueue_delivery(tx, messaging, id, stored.send_at, "first").await?;
            return Ok(id);
        }
        // Not inserted: the key was used (the first message stands) or the template changed.
        if let Some(key) = &message.idempotency_key
            && let Some(existing) = find_by_key(tx, key).await?
        {
            return Ok(existing);
        }
        cache.forget(&message.template, message.to.channel());
    }
    Err(MessagingError::Template("模板正在频繁修改，请稍后重试".to_owned()))
}

/// Tells a person with `template`: in their inbox (`account`) and, when given, by SMS to `phone`,
/// in `tx`; `key` makes each once (`{key}:inbox`, `{key}:sms`). What the domains that follow a
/// case say to its applicant.
pub async fn tell_person(
    tx: &mut Tx,
    messaging: &Messaging,
    template: &str,
    account: Uuid,
    phone: Option<&govhall_core::Phone>,
    params: Value,
    key: &str,
) -> Result<(), MessagingError> {
    let mut all = vec![
        OutgoingMessage::new(template, Recipient::Account(account), params.clone())
            .idempotency_key(format!("{key}:inbox")),
    ];
    if let Some(phone) = phone {
        all.push(
            OutgoingMessage::new(template, Recipient::Phone(phone.clone()), params)
                .idempotency_key(format!("{key}:sms")),
        );
    }
    send_all(tx, messaging, all).await?;
    Ok(())
}

/// Sends several messages in `tx`, as [`send`] does each: on PostgreSQL in two statements for
/// all of them (the messages with their events, then their delivery jobs). A message left out
/// by the batch (its key used, its template superseded) is sent on its own. Returns the ids in
/// order.
pub async fn send_all(
    tx: &mut Tx,
    messaging: &Messaging,
    messages: Vec<OutgoingMessage>,
) -> Result<Vec<Uuid>, MessagingError> {
    if tx.backend() == Backend::Sqlite || messages.len() < 2 {
        let mut ids = Vec::with_capacity(messages.len());
        for message in messages {
            ids.push(send(tx, messaging, message).await?);
        }
        return Ok(ids);
    }
    let mut prepared = Vec::with_capacity(messages.len());
    for message in &messages {
        check_recipient(messaging, message)?;
        prepared.push(prepare(tx, messaging, message).await?);
    }
    let inserted = insert_all(tx, &prepared).await?;
    let mut ids = Vec::with_capacity(messages.len());
    let mut jobs = Vec::new();
    for (message, stored) in messages.into_iter().zip(&prepared) {
        if inserted.contains(&stored.id) {
            jobs.push(delivery_job(messaging, stored.id, stored.send_at, "first")?);
            ids.push(stored.id);
        } else {
            ids.push(send(tx, messaging, message).await?);
        }
    }
    jobs::enqueue_all(tx, jobs).await?;
    Ok(ids)
}

fn check_recipient(messaging: &Messaging, message: &OutgoingMessage) -> Result<(), MessagingError> {
    if let Recipient::Endpoint(name) = &message.to
        && !messaging.settings().webhooks.iter().any(|e| &e.name == name)
    {
        return Err(MessagingError::UnknownEndpoint(name.clone()));
    }
    Ok(())
}

/// The message rendered with this node's copy of its template, its time set (quiet hours hold
/// an SMS until morning).
async fn prepare(tx: &mut Tx, messaging: &Messaging, message: &OutgoingMessage) -> Result<Stored, MessagingError> {
    let channel = message.to.channel();
    let now = tx.db().now();
    let mut send_at = message.send_at.unwrap_or(now).max(now);
    let mut held = String::new();
    let quiet = messaging.0.quiet_hours();
    if channel == Channel::Sms && !message.verification && quiet.contains(send_at) {
        send_at = quiet.end_after(send_at);
        held = format!("夜间免打扰，将于 {} 发送", crate::policy::china_time_text(send_at));
    }
    let template = messaging.0.templates.latest(tx, &message.template, channel).await?.ok_or_else(|| {
        MessagingError::TemplateNotFound { code: message.template.clone(), channel: channel.label().to_owned() }
    })?;
    let (subject, body) = templates::render(&template, &message.params)?;
    Ok(Stored {
        id: Uuid::now_v7(),
        created: format!("使用模板 {} 第{}版", template.code, template.version),
        template,
        recipient: message.to.as_stored(),
        subject,
        body,
        key: message.idempotency_key.clone(),
        verification: message.verification,
        send_at,
        now,
        held,
    })
}

/// A rendered message to store.
struct Stored {
    id: Uuid,
    template: templates::Template,
    recipient: String,
    subject: String,
    body: String,
    key: Option<String>,
    verification: bool,
    send_at: DateTime<Utc>,
    now: DateTime<Utc>,
    /// The detail of the "created" event.
    created: String,
    /// The detail of a "held" event (quiet hours), if any.
    held: String,
}

/// Stores messages with their first events in one statement (PostgreSQL only), leaving out those
/// whose key was used or whose template has a newer version. Returns the ids stored.
async fn insert_all(tx: &mut Tx, all: &[Stored]) -> Result<Vec<Uuid>, MessagingError> {
    let rows: Vec<String> = (0..all.len())
        .map(|i| {
            let p: Vec<String> = (2 + i * 12..2 + (i + 1) * 12).map(|n| format!("${n}")).collect();
            format!("({})", p.join(", "))
        })
        .collect();
    let sql = format!(
        "WITH v (id, template_code, template_version, channel, recipient, subject, body, idempotency_key,
                 is_verification, send_at, created, held) AS (VALUES {}),
         m AS (INSERT INTO messages (id, template_code, template_version, channel, recipient, subject, body,
                                     idempotency_key, is_verification, status, attempts, send_at, created_at, updated_at)
               SELECT v.id, v.template_code, v.template_version, v.channel, v.recipient, v.subject, v.body,
                      v.idempotency_key, v.is_verification, 'created', 0, v.send_at, $1, $1 FROM v
               WHERE NOT EXISTS (SELECT 1 FROM message_templates t WHERE t.code = v.template_code
                                 AND t.channel = v.channel AND t.version > v.template_version)
               ON CONFLICT (idempotency_key) DO NOTHING
               RETURNING id),
         e AS (INSERT INTO message_events (message_id, status, detail, at)
               SELECT m.id, 'created', v.created, $1 FROM m JOIN v ON v.id = m.id
               UNION ALL SELECT m.id, 'held', v.held, $1 FROM m JOIN v ON v.id = m.id WHERE v.held <> '')
         SELECT id FROM m",
        rows.join(", ")
    );
    let now = all.first().map(|m| m.now).unwrap_or_else(|| tx.db().now());
    Ok(run!(tx, |c| {
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).bind(now);
        for m in all {
            q = q
                .bind(m.id)
                .bind(&m.template.code)
                .bind(m.template.version)
                .bind(m.template.channel.as_str())
                .bind(&m.recipient)
                .bind(&m.subject)
                .bind(&m.body)
                .bind(&m.key)
                .bind(m.verification)
                .bind(m.send_at)
                .bind(&m.created)
                .bind(&m.held);
        }
        q.fetch_all(&mut *c).await
    })?)
}

/// Stores the message with its first events, unless its key was used or a newer version of its
/// template exists. Returns its id when stored. On PostgreSQL this is [`insert_all`] of one.
async fn insert(tx: &mut Tx, m: &Stored) -> Result<Option<Uuid>, MessagingError> {
    if tx.backend() == Backend::Postgres {
        return Ok(insert_all(tx, std::slice::from_ref(m)).await?.into_iter().next());
    }
    let inserted: Option<Uuid> = run!(tx, |c| {
        sqlx::query_scalar(
            "INSERT INTO messages (id, template_code, template_version, channel, recipient, subject, body,
                                   idempotency_key, is_verification, status, attempts, send_at, created_at, updated_at)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, 'created', 0, $10, $11, $11
             WHERE NOT EXISTS (SELECT 1 FROM message_templates WHERE code = $2 AND channel = $4 AND version > $3)
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING id",
        )
        .bind(m.id)
        .bind(&m.template.code)
        .bind(m.template.version)
        .bind(m.template.channel.as_str())
        .bind(&m.recipient)
        .bind(&m.subject)
        .bind(&m.body)
        .bind(&m.key)
        .bind(m.verification)
        .bind(m.send_at)
        .bind(m.now)
        .fetch_optional(&mut *c)
        .await
    })?;
    if let Some(id) = inserted {
        store::add_event(tx, id, MessageStatus::Created.as_str(), &m.created, m.now).await?;
        if !m.held.is_empty() {
            store::add_event(tx, id, "held", &m.held, m.now).await?;
        }
    }
    Ok(inserted)
}

async fn find_by_key(tx: &mut Tx, key: &str) -> Result<Option<Uuid>, MessagingError> {
    Ok(run!(tx, |c| {
        sqlx::query_scalar("SELECT id FROM messages WHERE idempotency_key = $1").bind(key).fetch_optional(&mut *c).await
    })?)
}

async fn enqueue_delivery(
    tx: &mut Tx,
    messaging: &Messaging,
    id: Uuid,
    at: DateTime<Utc>,
    round: &str,
) -> Result<(), MessagingError> {
    jobs::enqueue(tx, delivery_job(messaging, id, at, round)?).await?;
    Ok(())
}

fn delivery_job(messaging: &Messaging, id: Uuid, at: DateTime<Utc>, round: &str) -> Result<NewJob, MessagingError> {
    Ok(NewJob::new(DELIVER_JOB, DeliverPayload { message_id: id })?
        .idempotency_key(format!("{DELIVER_JOB}:{id}:{round}"))
        .run_at(at)
        .max_attempts(messaging.settings().max_attempts.max(1)))
}

/// Cancels a message that has not gone yet (an administrator's button), audited.
pub async fn cancel(db: &Db, id: Uuid, reason: &str, actor: &Actor) -> Result<(), MessagingError> {
    let mut tx = db.begin().await?;
    let message = store::get(&mut tx, id).await?.ok_or(MessagingError::NotFound)?;
    let now = db.now();
    if !store::transition(&mut tx, id, &[MessageStatus::Created], MessageStatus::Cancelled, reason, now).await? {
        return Err(MessagingError::WrongState(message.status.label()));
    }
    audit::record(&mut tx, actor, Event::success("message.cancel", "message", id).detail(reason)).await?;
    tx.commit().await?;
    Ok(())
}

/// Cancels, in the caller's transaction, a message that has not gone yet; one that went (or was
/// cancelled) already is left as it is. Returns whether it was cancelled.
pub async fn cancel_in(tx: &mut Tx, id: Uuid, reason: &str) -> Result<bool, MessagingError> {
    let now = tx.db().now();
    store::transition(tx, id, &[MessageStatus::Created], MessageStatus::Cancelled, reason, now).await
}

/// Cancels, in the caller's transaction, the messages sent with these idempotency keys that
/// have not gone yet (a reminder called off). Returns how many were cancelled.
pub async fn cancel_keys_in(tx: &mut Tx, keys: &[String], reason: &str) -> Result<usize, MessagingError> {
    let mut cancelled = 0;
    for key in keys {
        if let Some(id) = find_by_key(tx, key).await?
            && cancel_in(tx, id, reason).await?
        {
            cancelled += 1;
        }
    }
    Ok(cancelled)
}

/// Sends a failed message again, with a fresh set of tries (the admin's retry button), audited.
pub async fn retry(db: &Db, messaging: &Messaging, id: Uuid, actor: &Actor) -> Result<(), MessagingError> {
    let by = &actor.label;
    let mut tx = db.begin().await?;
    let message = store::get(&mut tx, id).await?.ok_or(MessagingError::NotFound)?;
    if !message.status.is_failure() {
        return Err(MessagingError::WrongState(message.status.label()));
    }
    if message.is_verification {
        // Its code is not kept, and a new code is what the person needs.
        return Err(MessagingError::VerificationNotRetried);
    }
    let now = db.now();
    let from = [MessageStatus::TemporaryFailure, MessageStatus::PermanentFailure, MessageStatus::TechnicalFailure];
    if !store::transition(&mut tx, id, &from, MessageStatus::Created, &format!("{by} 重新发送"), now).await? {
        // Another retry got there first.
        return Err(MessagingError::WrongState(MessageStatus::Created.label()));
    }
    enqueue_delivery(&mut tx, messaging, id, now, &format!("retry-{}", Uuid::now_v7().simple())).await?;
    audit::record(&mut tx, actor, Event::success("message.retry", "message", id)).await?;
    tx.commit().await?;
    Ok(())
}
