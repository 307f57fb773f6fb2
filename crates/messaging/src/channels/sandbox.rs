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
pub(super) struct SandboxSms {
    /// Whether the log shows the whole number and text (`[messaging.sms] sandbox_log_text`).
    pub(super) log_text: bool,
}

/// A number with its middle hidden (138****5678).
fn mask_number(recipient: &str) -> String {
    let chars: Vec<char> = recipient.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    chars.iter().enumerate().map(|(i, c)| if (3..chars.len() - 4).contains(&i) { '*' } else { *c }).collect()
}

/// A text with every run of four or more digits hidden (codes, numbers).
fn mask_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run >= 4 {
            out.extend(std::iter::repeat_n('*', run));
            i += run;
        } else if run > 0 {
            out.extend(&chars[i..i + run]);
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

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
                    // Nothing leaves the machine in the sandbox. A developer or a trial that
                    // turns on `sandbox_log_text` reads the text (codes included) in the log;
                    // otherwise whoever reads the log learns neither numbers nor codes.
                    if self.log_text {
                        tracing::info!(to = %message.recipient, body = %message.body, "sandbox SMS (not sent)");
                    } else {
                        tracing::info!(
                            to = %mask_number(&message.recipient),
                            body = %mask_digits(&message.body),
                            "sandbox SMS (not sent; set [messaging.sms] sandbox_log_text = true to log its text)"
                        );
                    }
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

#[cfg(test)]
mod mask_tests {
    use super::*;

    #[test]
    fn numbers_and_codes_are_hidden() {
        assert_eq!(mask_number("13812345678"), "138****5678");
        assert_eq!(mask_digits("您的验证码为123456，5分钟内有效"), "您的验证码为******，5分钟内有效");
        assert_eq!(mask_digits("编号 4401012026000001"), "编号 ****************");
    }
}
