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
                _ => Ok(Sent { provider_message_id: sandbox_id(message), delivered: true }),
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
