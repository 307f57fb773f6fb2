//! The words of the message center: channels, statuses, recipients, messages.

use crate::MessagingError;
use chrono::{DateTime, Utc};
use govhall_core::{EmailAddress, Phone, ValueError};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// How a message reaches its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The in-site inbox (站内信) of a GovHall account.
    Inbox,
    /// A text message to a mainland mobile number.
    Sms,
    /// An email.
    Email,
    /// A signed JSON POST to an outside system (big screens, department systems).
    Webhook,
    /// A WeChat official account template message.
    Wechat,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 5] = [Channel::Inbox, Channel::Sms, Channel::Email, Channel::Webhook, Channel::Wechat];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Inbox => "inbox",
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Webhook => "webhook",
            Channel::Wechat => "wechat",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Inbox => "站内信",
            Channel::Sms => "短信",
            Channel::Email => "电子邮件",
            Channel::Webhook => "推送接口",
            Channel::Wechat => "微信",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Channel> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a message is in its life (the GOV.UK Notify lifecycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Stored, waiting for its time (and, for SMS in quiet hours, for the morning).
    Created,
    /// Handed to the channel; for SMS, waiting for the provider's delivery receipt.
    Sending,
    /// The channel confirmed delivery.
    Delivered,
    /// The channel kept failing for a passing reason until the retries ran out.
    TemporaryFailure,
    /// The recipient cannot be reached (a bad number or address): not retried.
    PermanentFailure,
    /// GovHall could not send it (a misconfigured channel, a broken template).
    TechnicalFailure,
    /// Cancelled before it went.
    Cancelled,
}

impl MessageStatus {
    /// Every status.
    pub const ALL: [MessageStatus; 7] = [
        MessageStatus::Created,
        MessageStatus::Sending,
        MessageStatus::Delivered,
        MessageStatus::TemporaryFailure,
        MessageStatus::PermanentFailure,
        MessageStatus::TechnicalFailure,
        MessageStatus::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Created => "created",
            MessageStatus::Sending => "sending",
            MessageStatus::Delivered => "delivered",
            MessageStatus::TemporaryFailure => "temporary_failure",
            MessageStatus::PermanentFailure => "permanent_failure",
            MessageStatus::TechnicalFailure => "technical_failure",
            MessageStatus::Cancelled => "cancelled",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            MessageStatus::Created => "待发送",
            MessageStatus::Sending => "发送中",
            MessageStatus::Delivered => "已送达",
            MessageStatus::TemporaryFailure => "暂时失败",
            MessageStatus::PermanentFailure => "永久失败",
            MessageStatus::TechnicalFailure => "技术故障",
            MessageStatus::Cancelled => "已取消",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<MessageStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether nothing more will happen to the message by itself.
    pub fn is_final(self) -> bool {
        !matches!(self, MessageStatus::Created | MessageStatus::Sending)
    }

    /// Whether an administrator may send it again.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            MessageStatus::TemporaryFailure | MessageStatus::PermanentFailure | MessageStatus::TechnicalFailure
        )
    }
}

/// A recipient, validated for its channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A GovHall account (the inbox's owner).
    Account(Uuid),
    /// A mobile number.
    Phone(Phone),
    /// An email address.
    Email(EmailAddress),
    /// A configured webhook endpoint, by name.
    Endpoint(String),
    /// A WeChat user of the official account, by openid.
    WechatOpenId(String),
}

impl Recipient {
    /// The channel this recipient belongs to.
    pub fn channel(&self) -> Channel {
        match self {
            Recipient::Account(_) => Channel::Inbox,
            Recipient::Phone(_) => Channel::Sms,
            Recipient::Email(_) => Channel::Email,
            Recipient::Endpoint(_) => Channel::Webhook,
            Recipient::WechatOpenId(_) => Channel::Wechat,
        }
    }

    /// The stored form.
    pub fn as_stored(&self) -> String {
        match self {
            Recipient::Account(id) => id.to_string(),
            Recipient::Phone(p) => p.as_str().to_owned(),
            Recipient::Email(e) => e.as_str().to_owned(),
            Recipient::Endpoint(name) | Recipient::WechatOpenId(name) => name.clone(),
        }
    }

    /// Parses a recipient typed for `channel` (the admin search, the API).
    pub fn parse(channel: Channel, input: &str) -> Result<Recipient, MessagingError> {
        let input = input.trim();
        Ok(match channel {
            Channel::Inbox => Recipient::Account(Uuid::parse_str(input).map_err(|_| {
                MessagingError::InvalidRecipient(ValueError::new("invalid_account", "账号", "编号格式不正确"))
            })?),
            Channel::Sms => Recipient::Phone(Phone::parse(input).map_err(MessagingError::InvalidRecipient)?),
            Channel::Email => Recipient::Email(EmailAddress::parse(input).map_err(MessagingError::InvalidRecipient)?),
            Channel::Webhook => Recipient::Endpoint(input.to_owned()),
            Channel::Wechat => {
                let valid = (6..=64).contains(&input.len())
                    && input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !valid {
                    return Err(MessagingError::InvalidRecipient(ValueError::new(
                        "invalid_openid",
                        "微信用户标识",
                        "格式不正确",
                    )));
                }
                Recipient::WechatOpenId(input.to_owned())
            }
        })
    }
}

/// Masks a stored recipient for lists: phones `138****5678`, emails `z***@example.com`, openids
/// `oAbC…xyz`; account ids and endpoint names are not personal data.
pub fn mask_recipient(channel: Channel, stored: &str) -> String {
    match channel {
        Channel::Sms => Phone::parse(stored).map(|p| p.masked()).unwrap_or_else(|_| "***".to_owned()),
        Channel::Email => EmailAddress::parse(stored).map(|e| e.masked()).unwrap_or_else(|_| "***".to_owned()),
        Channel::Wechat => {
            let head: String = stored.chars().take(4).collect();
            let tail: String = stored.chars().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
            format!("{head}…{tail}")
        }
        Channel::Inbox | Channel::Webhook => stored.to_owned(),
    }
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id.
    pub id: Uuid,
    /// The template it was rendered from, and the version used.
    pub template_code: String,
    /// The template version used.
    pub template_version: i32,
    /// The channel.
    pub channel: Channel,
    /// The stored recipient (see [`Recipient::as_stored`]).
    pub recipient: String,
    /// The subject (email, inbox).
    pub subject: String,
    /// The rendered body.
    pub body: String,
    /// Whether it carries a verification code (sent even in quiet hours).
    pub is_verification: bool,
    /// Where it is.
    pub status: MessageStatus,
    /// Tries so far.
    pub attempts: i32,
    /// Not before.
    pub send_at: DateTime<Utc>,
    /// Which adapter sent it (`sandbox`, `http`, `smtp` …).
    pub provider: Option<String>,
    /// The provider's id of the message, for receipts.
    pub provider_message_id: Option<String>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When the recipient read it (inbox).
    pub read_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was handed to the channel.
    pub sending_at: Option<DateTime<Utc>>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it failed for good.
    pub failed_at: Option<DateTime<Utc>>,
    /// When it was cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl Message {
    /// The recipient masked for lists.
    pub fn masked_recipient(&self) -> String {
        mask_recipient(self.channel, &self.recipient)
    }
}

/// One transition of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEvent {
    /// The status entered, or an event name (`held`, `retry_scheduled`, `receipt`).
    pub status: String,
    /// What happened, in Chinese.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}
