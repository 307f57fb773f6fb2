//! The one entry point every domain uses: [`send`] in the caller's transaction (the outbox).

use crate::deliver::{DELIVER_JOB, DeliverPayload};
use crate::model::{Channel, MessageStatus, Recipient};
use crate::{Messaging, MessagingError, store, templates};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::jobs::{self, NewJob};
use govhall_db::sqlx;
use govhall_db::{Db, Tx, run};
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
pub async fn send(tx: &mut Tx, messaging: &Messaging, message: OutgoingMessage) -> Result<Uuid, MessagingError> {
    let channel = message.to.channel();
    if let Recipient::Endpoint(name) = &message.to
        && !messaging.settings().webhooks.iter().any(|e| &e.name == name)
    {
        return Err(MessagingError::UnknownEndpoint(name.clone()));
    }
    if let Some(key) = &message.idempotency_key
        && let Some(existing) = find_by_key(tx, key).await?
    {
        return Ok(existing);
    }
    let template = templates::latest(tx, &message.template, channel).await?.ok_or_else(|| {
        MessagingError::TemplateNotFound { code: message.template.clone(), channel: channel.label().to_owned() }
    })?;
    let (subject, body) = templates::render(&template, &message.params)?;
    let now = tx.db().now();
    let mut send_at = message.send_at.unwrap_or(now).max(now);
    let mut held = None;
    let quiet = messaging.0.quiet_hours();
    if channel == Channel::Sms && !message.verification && quiet.contains(send_at) {
        send_at = quiet.end_after(send_at);
        held = Some(format!("夜间免打扰，将于 {} 发送", crate::policy::china_time_text(send_at)));
    }
    let id = Uuid::now_v7();
    let inserted: Option<Uuid> = run!(tx, |c| {
        sqlx::query_scalar(
            "INSERT INTO messages (id, template_code, template_version, channel, recipient, subject, body,
                                   idempotency_key, is_verification, status, attempts, send_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'created', 0, $10, $11, $11)
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING id",
        )
        .bind(id)
        .bind(&template.code)
        .bind(template.version)
        .bind(channel.as_str())
        .bind(message.to.as_stored())
        .bind(&subject)
        .bind(&body)
        .bind(&message.idempotency_key)
        .bind(message.verification)
        .bind(send_at)
        .bind(now)
        .fetch_optional(&mut *c)
        .await
    })?;
    if inserted.is_none() {
        // Another transaction with the same key committed first.
        let key = message.idempotency_key.unwrap_or_default();
        return find_by_key(tx, &key).await?.ok_or(MessagingError::NotFound);
    }
    store::add_event(
        tx,
        id,
        MessageStatus::Created.as_str(),
        &format!("使用模板 {} 第{}版", template.code, template.version),
        now,
    )
    .await?;
    if let Some(detail) = held {
        store::add_event(tx, id, "held", &detail, now).await?;
    }
    enqueue_delivery(tx, messaging, id, send_at, "first").await?;
    Ok(id)
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
    let job = NewJob::new(DELIVER_JOB, DeliverPayload { message_id: id })?
        .idempotency_key(format!("{DELIVER_JOB}:{id}:{round}"))
        .run_at(at)
        .max_attempts(messaging.settings().max_attempts.max(1));
    jobs::enqueue(tx, job).await?;
    Ok(())
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
