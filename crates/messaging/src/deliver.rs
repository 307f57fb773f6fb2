//! The delivery job: walks one message through its lifecycle.

use crate::channels::{Adapters, ChannelError, Outgoing};
use crate::model::{Channel, MessageStatus};
use crate::policy::{QuietHours, RateLimiter, china_day_start, china_time_text};
use crate::{MessagingError, MessagingSettings, store};
use chrono::{Duration, Utc};
use govhall_db::jobs::{JobContext, JobError};
use govhall_db::{exec, sqlx};
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
        Ok(Self { settings, adapters, limiters })
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
    /// cancelled is left as it is.
    pub(crate) async fn deliver(&self, ctx: JobContext) -> Result<(), JobError> {
        let DeliverPayload { message_id } = ctx.payload()?;
        let db = &ctx.db;
        let mut conn = db.conn().await?;
        let Some(message) = store::get(&mut conn, message_id).await.map_err(JobError::retry)? else {
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
        let quiet = self.quiet_hours();
        if message.channel == Channel::Sms && !message.is_verification && quiet.contains(now) {
            let until = quiet.end_after(now);
            store::add_event(
                &mut conn,
                message_id,
                "held",
                &format!("夜间免打扰，将于 {} 发送", china_time_text(until)),
                now,
            )
            .await
            .map_err(JobError::retry)?;
            return Err(JobError::Defer(until));
        }
        let cap = self.daily_cap(message.channel);
        if cap > 0 && !message.is_verification {
            let sent = store::sent_since(db, message.channel, china_day_start(now)).await.map_err(JobError::retry)?;
            if sent >= cap {
                let tomorrow = china_day_start(now) + Duration::days(1);
                store::add_event(&mut conn, message_id, "held", &format!("已达每日发送上限 {cap} 条，顺延至次日"), now)
                    .await
                    .map_err(JobError::retry)?;
                return Err(JobError::Defer(tomorrow));
            }
        }
        if let Some(limiter) = self.limiters.get(&message.channel)
            && let Err(at) = limiter.try_take(now)
        {
            return Err(JobError::Defer(at));
        }
        let adapter = self.adapters.get(message.channel);
        let from = [MessageStatus::Created, MessageStatus::Sending];
        let detail = format!("第{}次提交至 {}", ctx.attempt, adapter.provider());
        if !store::transition(&mut conn, message_id, &from, MessageStatus::Sending, &detail, now)
            .await
            .map_err(JobError::retry)?
        {
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
        let now = db.now();
        let sending = [MessageStatus::Sending];
        let record = async |conn: &mut govhall_db::PooledConn, to: MessageStatus, detail: &str| {
            store::transition(conn, message_id, &sending, to, detail, now).await.map_err(JobError::retry)
        };
        match result {
            Ok(sent) => {
                exec!(
                    conn,
                    sqlx::query("UPDATE messages SET provider = $1, provider_message_id = $2 WHERE id = $3")
                        .bind(adapter.provider())
                        .bind(&sent.provider_message_id)
                        .bind(message_id)
                )
                .map_err(JobError::retry)?;
                if sent.delivered {
                    record(&mut conn, MessageStatus::Delivered, "已送达").await?;
                } else {
                    store::add_event(&mut conn, message_id, "accepted", "服务商已受理，等待送达回执", now)
                        .await
                        .map_err(JobError::retry)?;
                }
                Ok(())
            }
            Err(ChannelError::Temporary(error)) if ctx.attempt < self.settings.max_attempts.max(1) => {
                record(&mut conn, MessageStatus::Created, &format!("暂时失败：{error}，稍后重试")).await?;
                Err(JobError::Retry(error))
            }
            Err(ChannelError::Temporary(error)) => {
                record(&mut conn, MessageStatus::TemporaryFailure, &format!("多次重试仍失败：{error}")).await?;
                Ok(())
            }
            Err(ChannelError::Permanent(error)) => {
                record(&mut conn, MessageStatus::PermanentFailure, &error).await?;
                Ok(())
            }
            Err(ChannelError::Technical(error)) => {
                record(&mut conn, MessageStatus::TechnicalFailure, &error).await?;
                Ok(())
            }
        }
    }
}
