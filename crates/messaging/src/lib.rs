//! The message center: every message GovHall sends goes through here (seed section 1.5).
//!
//! Other domains call [`send`] inside their own transaction (the outbox): the message is
//! rendered from a versioned template at once (a missing placeholder is an error, never a
//! blank), stored, and a delivery job is enqueued with it, so it goes out exactly when the change
//! that caused it commits, and an idempotency key keeps the same event from sending twice.
//!
//! The delivery job walks the GOV.UK Notify lifecycle (created → sending → delivered, or
//! temporary, permanent or technical failure, every transition recorded), holding SMS in quiet
//! hours, and honouring per-channel rate limits and daily caps. Channels sit behind
//! [`channels::Adapter`], each with a real adapter and a local sandbox chosen by configuration:
//! the in-site inbox, SMS over a configurable HTTP provider (with signed delivery receipts),
//! email over SMTP, signed webhooks, and WeChat template messages.

pub mod channels;
mod deliver;
mod error;
pub mod inbox;
mod model;
mod policy;
pub mod receipts;
mod send;
mod settings;
pub mod signed;
pub mod store;
pub mod templates;
pub mod verification;

pub use deliver::{DELIVER_JOB, EXPIRE_JOB, schedule_expiry};
pub use error::MessagingError;
pub use model::{Channel, Message, MessageEvent, MessageStatus, Recipient};
pub use policy::{QuietHours, RateLimiter};
pub use send::{OutgoingMessage, cancel, cancel_in, cancel_keys_in, retry, send, send_all, tell_person};
pub use settings::{
    EmailSettings, MessagingSettings, SmsReceiptSettings, SmsSettings, WebhookEndpoint, WechatSettings,
};

use govhall_db::jobs::JobRegistry;
use std::sync::Arc;

/// The message center of a node: settings, the channel adapters and the rate limiters.
#[derive(Debug, Clone)]
pub struct Messaging(Arc<deliver::Deliverer>);

impl Messaging {
    /// Builds the adapters the settings choose (real or sandbox).
    pub fn new(settings: MessagingSettings) -> Result<Messaging, MessagingError> {
        install_crypto();
        Ok(Messaging(Arc::new(deliver::Deliverer::new(settings)?)))
    }

    /// The settings in force.
    pub fn settings(&self) -> &MessagingSettings {
        self.0.settings()
    }

    /// Registers the delivery job and the hourly expiry of messages without a receipt.
    pub fn register_jobs(&self, registry: &mut JobRegistry) {
        let deliverer = self.0.clone();
        registry.register(DELIVER_JOB, move |ctx| {
            let deliverer = deliverer.clone();
            async move { deliverer.deliver(ctx).await }
        });
        registry.register(EXPIRE_JOB, deliver::expire_sending);
    }

    /// What the sandbox channels sent on this node (the text a person would have received).
    pub fn sandbox_outbox(&self) -> Option<&channels::SandboxOutbox> {
        self.0.sandbox.as_ref()
    }
}

/// Installs rustls's ring provider for this process (reqwest and lettre use it). Safe to call
/// more than once.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
