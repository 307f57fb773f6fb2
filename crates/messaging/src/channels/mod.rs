//! Channel adapters: each channel behind [`Adapter`], with a real adapter and a local sandbox
//! chosen by configuration.

mod email;
mod http;
mod inbox;
mod sandbox;
mod sms;
mod webhook;
mod wechat;

pub use sandbox::{
    SANDBOX_PERMANENT_FAILURE_EMAIL, SANDBOX_PERMANENT_FAILURE_PHONE, SANDBOX_TEMPORARY_FAILURE_PHONE, SandboxEntry,
    SandboxOutbox,
};
pub use sms::{pointer_text, verify_receipt_signature};
pub use webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign as sign_webhook};

use crate::model::Channel;
use crate::{MessagingError, MessagingSettings};
use futures::future::BoxFuture;
use std::fmt::Debug;
use std::sync::Arc;
use uuid::Uuid;

/// A rendered message on its way out.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The message id (sent along so that receivers can deduplicate).
    pub id: Uuid,
    /// The template code, as the event name of webhooks.
    pub template_code: String,
    /// The stored recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Rendered body.
    pub body: String,
}

/// What the channel said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The provider's id for the message, for receipts and support.
    pub provider_message_id: Option<String>,
    /// Whether delivery is confirmed now; otherwise a receipt will confirm it.
    pub delivered: bool,
}

/// Why sending failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelError {
    /// A passing failure (timeout, 5xx, throttled): retried with backoff.
    Temporary(String),
    /// The recipient cannot be reached (bad number, unknown address, unsubscribed user).
    Permanent(String),
    /// GovHall's side is wrong (configuration, an unusable body).
    Technical(String),
}

/// One channel's way out.
pub trait Adapter: Send + Sync + Debug {
    /// The provider's name, stored with the message (`sandbox`, `http`, `smtp` …).
    fn provider(&self) -> &'static str;

    /// Sends one message.
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<Sent, ChannelError>>;
}

/// The adapter of every channel.
#[derive(Debug, Clone)]
pub(crate) struct Adapters {
    inbox: Arc<dyn Adapter>,
    sms: Arc<dyn Adapter>,
    email: Arc<dyn Adapter>,
    webhook: Arc<dyn Adapter>,
    wechat: Arc<dyn Adapter>,
}

impl Adapters {
    /// Builds what the settings choose.
    pub(crate) fn from_settings(settings: &MessagingSettings) -> Result<Adapters, MessagingError> {
        let client = http::client()?;
        let sms: Arc<dyn Adapter> = match settings.sms.provider.as_str() {
            "sandbox" => Arc::new(sandbox::SandboxSms { log_text: settings.sms.sandbox_log_text }),
            "http" => Arc::new(sms::HttpSms::new(settings.sms.clone(), client.clone())?),
            other => return Err(MessagingError::Config(format!("sms.provider 应为 sandbox 或 http，而不是“{other}”"))),
        };
        let email: Arc<dyn Adapter> = match settings.email.provider.as_str() {
            "sandbox" => Arc::new(sandbox::SandboxEmail),
            "smtp" => Arc::new(email::SmtpEmail::new(&settings.email)?),
            other => {
                return Err(MessagingError::Config(format!("email.provider 应为 sandbox 或 smtp，而不是“{other}”")));
            }
        };
        let wechat: Arc<dyn Adapter> = match settings.wechat.provider.as_str() {
            "sandbox" => Arc::new(sandbox::SandboxWechat),
            "api" => Arc::new(wechat::WechatApi::new(settings.wechat.clone(), client.clone())?),
            other => {
                return Err(MessagingError::Config(format!("wechat.provider 应为 sandbox 或 api，而不是“{other}”")));
            }
        };
        Ok(Adapters {
            inbox: Arc::new(inbox::Inbox),
            sms,
            email,
            webhook: Arc::new(webhook::Webhooks::new(settings.webhooks.clone(), client)),
            wechat,
        })
    }

    pub(crate) fn get(&self, channel: Channel) -> &Arc<dyn Adapter> {
        match channel {
            Channel::Inbox => &self.inbox,
            Channel::Sms => &self.sms,
            Channel::Email => &self.email,
            Channel::Webhook => &self.webhook,
            Channel::Wechat => &self.wechat,
        }
    }
}
