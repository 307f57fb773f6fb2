//! Sandbox adapters: nothing leaves the machine; the message stays in the delivery log, where
//! tests and the admin page read it. A few reserved recipients simulate failures, as GOV.UK
//! Notify's test numbers do.

use super::{Adapter, ChannelError, Outgoing, Sent};
use futures::future::BoxFuture;

/// Reserved SMS number that the sandbox treats as unreachable.
pub const SANDBOX_PERMANENT_FAILURE_PHONE: &str = "13800000001";
/// Reserved SMS number whose provider is always down in the sandbox.
pub const SANDBOX_TEMPORARY_FAILURE_PHONE: &str = "13800000002";
/// Reserved address that the sandbox treats as unknown.
pub const SANDBOX_PERMANENT_FAILURE_EMAIL: &str = "permanent-failure@sandbox.invalid";

fn sandbox_id(message: &Outgoing) -> Option<String> {
    Some(format!("sandbox-{}", message.id.simple()))
}

#[derive(Debug)]
pub(super) struct SandboxSms;

impl Adapter for SandboxSms {
    fn provider(&self) -> &'static str {
        "sandbox"
    }

    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<Sent, ChannelError>> {
        Box::pin(async move {
            match message.recipient.as_str() {
                SANDBOX_PERMANENT_FAILURE_PHONE => Err(ChannelError::Permanent("号码不存在（沙箱）".to_owned())),
                SANDBOX_TEMPORARY_FAILURE_PHONE => Err(ChannelError::Temporary("短信网关繁忙（沙箱）".to_owned())),
                _ => {
                    // Nothing leaves the machine in the sandbox: the log is where a developer or
                    // a trial reads the text (verification codes included).
                    tracing::info!(to = %message.recipient, body = %message.body, "sandbox SMS (not sent)");
                    Ok(Sent { provider_message_id: sandbox_id(message), delivered: true })
                }
            }
        })
    }
}

#[derive(Debug)]
pub(super) struct SandboxEmail;

impl Adapter for SandboxEmail {
    fn provider(&self) -> &'static str {
        "sandbox"
    }

    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<Sent, ChannelError>> {
        Box::pin(async move {
            if message.recipient == SANDBOX_PERMANENT_FAILURE_EMAIL {
                return Err(ChannelError::Permanent("邮箱地址不存在（沙箱）".to_owned()));
            }
            Ok(Sent { provider_message_id: sandbox_id(message), delivered: true })
        })
    }
}

#[derive(Debug)]
pub(super) struct SandboxWechat;

impl Adapter for SandboxWechat {
    fn provider(&self) -> &'static str {
        "sandbox"
    }

    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Result<Sent, ChannelError>> {
        Box::pin(async move { Ok(Sent { provider_message_id: sandbox_id(message), delivered: true }) })
    }
}

/// The last 1,000 messages the sandbox channels "sent" on this node, with their text, so that
/// tests and demonstrations can read what a person would have received (verification codes
/// included, which the database does not keep).
#[derive(Debug, Clone, Default)]
pub struct SandboxOutbox(std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<SandboxEntry>>>);

/// One message the sandbox "sent".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxEntry {
    /// The message id.
    pub message_id: uuid::Uuid,
    /// Its channel.
    pub channel: crate::Channel,
    /// The stored recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
}

impl SandboxOutbox {
    pub(crate) fn keep(&self, message: &Outgoing, channel: crate::Channel) {
        let mut entries = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() == 1000 {
            entries.pop_front();
        }
        entries.push_back(SandboxEntry {
            message_id: message.id,
            channel,
            recipient: message.recipient.clone(),
            subject: message.subject.clone(),
            body: message.body.clone(),
        });
    }

    /// What the sandbox sent to one recipient on this node, oldest first.
    pub fn sent_to(&self, recipient: &str) -> Vec<SandboxEntry> {
        let entries = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.iter().filter(|e| e.recipient == recipient).cloned().collect()
    }

    /// The entry of one message, if the sandbox sent it on this node.
    pub fn find(&self, message_id: uuid::Uuid) -> Option<SandboxEntry> {
        let entries = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.iter().find(|e| e.message_id == message_id).cloned()
    }
}
