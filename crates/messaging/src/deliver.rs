//! The delivery job: walks one message through its lifecycle.

use crate::channels::{Adapters, ChannelError, Outgoing, SandboxOutbox};
use crate::model::{Channel, MessageStatus};
use crate::policy::{QuietHours, RateLimiter, china_day_start, china_time_text};
use crate::{MessagingError, MessagingSettings, store};
use chrono::{Duration, Utc};
use govhall_db::jobs::{JobContext, JobError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// The job kind that delivers one message.
pub const DELIVER_JOB: &str = "messaging.deliver";

/// The job's payload.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DeliverPayload {
    pub(crate) message_id: Uuid,
}

/// Settings, adapters and this node's rate limiters.
#[derive(Debug)]
pub(crate) struct Deliverer {
    settings: MessagingSettings,
    adapters: Adapters,
    limiters: HashMap<Channel, RateLimiter>,
    /// What the sandbox channels "sent", for tests and demonstrations.
    pub(crate) sandbox: Option<SandboxOutbox>,
    /// The newest version of each template seen by this node (checked against the database by
    /// every insert that uses it, so a newer version made on any node is never missed).
    pub(crate) templates: crate::templates::TemplateCache,
}

impl Deliverer {
    pub(crate) fn new(settings: MessagingSettings) -> Result<Self, MessagingError> {
        let adapters = Adapters::from_settings(&settings)?;
        let now = Utc::now();
        let limiters = [
            (Channel::Sms, &settings.sms.limits),
            (Channel::Email, &settings.email.limits),
            (Channel::Wechat, &settings.wechat.limits),
        ]
        .into_iter()
        .map(|(channel, limits)| (channel, RateLimiter::new(limits, now)))
        .collect();
        Ok(Self {
            settings,
            adapters,
            limiters,
            sandbox: Some(SandboxOutbox::default()),
            templates: crate::templates::TemplateCache::default(),
        })
    }

    pub(crate) fn settings(&self) -> &MessagingSettings {
        &self.settings
    }

    /// The provider name SMS messages are stored under (receipts look them up by it).
    pub(crate) fn sms_provider(&self) -> &'static str {
        self.adapters.get(Channel::Sms).provider()
    }

    pub(crate) fn quiet_hours(&self) -> QuietHours {
        QuietHours { start: self.settings.quiet_hours_start % 24, end: self.settings.quiet_hours_end % 24 }
    }

    fn daily_cap(&self, channel: Channel) -> i64 {
        match channel {
            Channel::Sms => self.settings.sms.limits.daily_cap,
            Channel::Email => self.settings.email.limits.daily_cap,
            Channel::Wechat => self.settings.wechat.limits.daily_cap,
            Channel::Inbox | Channel::Webhook => 0,
        }
    }

    /// Delivers one message. Idempotent: a message already handed over, delivered, failed or
    /// cancelled is left as it is. The hand-over and the outcome are each one transaction.
    pub(crate) async fn deliver(&self, ctx: JobContext) -> Result<(), JobError> {
        let DeliverPayload { message_id } = ctx.payload()?;
        let db = &ctx.db;
        let message = {
            let mut conn = db.conn().await?;
            store::get(&mut conn, message_id).await.map_err(JobError::retry)?
        };
        let Some(message) = message else {
            return Err(JobError::permanent(format!("message {message_id} does not exist")));
        };
        match message.status {
            MessageStatus::Created => {}
            // Handed over already, waiting for a receipt: never send twice.
            MessageStatus::Sending if message.provider_message_id.is_some() => return Ok(()),
            // A worker died mid-send: the provider may or may not have it; sending again is
            // better than losing it.
            MessageStatus::Sending => {}
            _ => return Ok(()),
        }
        let now = db.now();
        if message.send_at > now {
            return Err(JobError::Defer(message.send_at));
        }
        if let Some((until, why)) = self.hold(&message, db, now).await? {
            let mut tx = db.begin().await?;
            store::add_event(&mut tx, message_id, "held", &why, now).await.map_err(JobError::retry)?;
            tx.commit().await?;
            return Err(JobError::Defer(until));
        }
        if let Some(limiter) = self.limiters.get(&message.channel)
            && let Err(at) = limiter.try_take(now)
        {
            return Err(JobError::Defer(at));
        }
        let adapter = self.adapters.get(message.channel);
        let mut tx = db.begin().await?;
        let from = [MessageStatus::Created, MessageStatus::Sending];
        let detail = format!("第{}次提交至 {}", ctx.attempt, adapter.provider());
        let handed = store::transition(&mut tx, message_id, &from, MessageStatus::Sending, &detail, now)
            .await
            .map_err(JobError::retry)?;
        tx.commit().await?;
        if !handed {
            // Cancelled in the meantime.
            return Ok(());
        }
        let outgoing = Outgoing {
            id: message.id,
            template_code: message.template_code.clone(),
            recipient: message.recipient.clone(),
            subject: message.subject.clone(),
            body: message.body.clone(),
        };
        let result = adapter.send(&outgoing).await;
        if let (Some(outbox), Ok(_)) = (&self.sandbox, &result)
            && adapter.provider() == "sandbox"
        {
            outbox.keep(&outgoing, message.channel);
        }
        let now = db.now();
        let sending = [MessageStatus::Sending];
        let mut tx = db.begin().await?;
        let outcome = match result {
            Ok(sent) => store::record_sent(
                &mut tx,
                message_id,
                adapter.provider(),
                sent.provider_message_id.as_deref(),
                sent.delivered,
                now,
            )
            .await
            .map(|()| Ok(())),
            Err(ChannelError::Temporary(error)) if ctx.attempt < self.settings.max_attempts.max(1) => {
                let detail = format!("暂时失败：{error}，稍后重试");
                store::transition(&mut tx, message_id, &sending, MessageStatus::Created, &detail, now)
                    .await
                    .map(|_| Err(JobError::Retry(error)))
            }
            Err(ChannelError::Temporary(error)) => {
                let detail = format!("多次重试仍失败：{error}");
                store::transition(&mut tx, message_id, &sending, MessageStatus::TemporaryFailure, &detail, now)
                    .await
                    .map(|_| Ok(()))
            }
            Err(ChannelError::Permanent(error)) => {
                store::transition(&mut tx, message_id, &sending, MessageStatus::PermanentFailure, &error, now)
                    .await
                    .map(|_| Ok(()))
            }
            Err(ChannelError::Technical(error)) => {
                store::transition(&mut tx, message_id, &sending, MessageStatus::TechnicalFailure, &error, now)
                    .await
                    .map(|_| Ok(()))
            }
        }
        .map_err(JobError::retry)?;
        if outcome.is_ok() {
            // The job is done exactly when its outcome commits: one write fewer per message.
            ctx.complete_in(&mut tx).await?;
        }
        tx.commit().await?;
        outcome
    }

    /// Whether the message must wait (quiet hours, the daily cap), until when and why.
    async fn hold(
        &self,
        message: &crate::Message,
        db: &govhall_db::Db,
        now: chrono::DateTime<Utc>,
    ) -> Result<Option<(chrono::DateTime<Utc>, String)>, JobError> {
        let quiet = self.quiet_hours();
        if message.channel == Channel::Sms && !message.is_verification && quiet.contains(now) {
            let until = quiet.end_after(now);
            return Ok(Some((until, format!("夜间免打扰，将于 {} 发送", china_time_text(until)))));
        }
        let cap = self.daily_cap(message.channel);
        if cap > 0 && !message.is_verification {
            let sent = store::sent_since(db, message.channel, china_day_start(now)).await.map_err(JobError::retry)?;
            if sent >= cap {
                let tomorrow = china_day_start(now) + Duration::days(1);
                return Ok(Some((tomorrow, format!("已达每日发送上限 {cap} 条，顺延至次日"))));
            }
        }
        Ok(None)
    }
}

/// Gives up on SMS that never got a receipt (GOV.UK Notify waits 72 hours), then schedules its
/// next run in an hour.
pub(crate) async fn expire_sending(ctx: JobContext) -> Result<(), JobError> {
    let now = ctx.db.now();
    let expired = store::expire_sending(&ctx.db, now - Duration::hours(72), "72小时内未收到送达回执")
        .await
        .map_err(JobError::retry)?;
    if expired > 0 {
        tracing::warn!(expired, "messages without a receipt for 72 hours marked as failed");
    }
    schedule_expiry(&ctx.db, now + Duration::hours(1)).await.map_err(JobError::retry)
}

/// The job kind of [`expire_sending`].
pub const EXPIRE_JOB: &str = "messaging.expire_sending";

/// Makes sure one expiry run is scheduled for the hour of `at` (one per hour across nodes).
pub async fn schedule_expiry(db: &govhall_db::Db, at: chrono::DateTime<Utc>) -> Result<(), MessagingError> {
    let mut tx = db.begin().await?;
    let job = govhall_db::jobs::NewJob::new(EXPIRE_JOB, ())?
        .idempotency_key(format!("{EXPIRE_JOB}:{}", at.format("%Y-%m-%dT%H")))
        .run_at(at);
    govhall_db::jobs::enqueue(&mut tx, job).await?;
    tx.commit().await?;
    Ok(())
}
