//! Unified payment (统一网银缴费, design section 3.3): when a case enters a payment step
//! (待缴费), a payment order (缴款单) is issued from the fees of the item version the case was
//! submitted under, with a 20-digit payment notice number; the payer is sent to the fiscal
//! payment gateway's page, and the order is settled — once, whatever the number of replays or
//! nodes — only by a notification whose signature verifies or by the gateway's own answer to a
//! query, never by what the browser brings back. Settling moves the case on in the same
//! transaction. Orders expire (the payer is reminded first), can be cancelled and re-issued,
//! and paid ones refunded, never beyond what was paid.

mod error;
pub mod gateway;
mod ids;
mod issue;
mod lifecycle;
pub mod notice;
mod notify;
mod order;
mod queries;
pub mod receipt;
pub mod reconcile;
mod refund;
mod settle;

pub use error::PaymentError;
pub use ids::{OrderId, RefundId};
pub use issue::Issued;
pub use lifecycle::Canceller;
pub use order::{Order, OrderLine, OrderState, ReceiptNumber};
pub use queries::Refund;
pub use refund::RefundOutcome;
pub use settle::Settled;
pub use settle::{Effect, Source};

use gateway::Gateway;
use govhall_cases::Cases;
use govhall_core::Secret;
use govhall_db::Db;
use govhall_db::jobs::JobRegistry;
use govhall_identity::Identity;
use govhall_messaging::Messaging;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The payment part of the configuration (`[payments]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentSettings {
    /// Hours an order can be paid (72: three calendar days).
    pub expiry_hours: i64,
    /// Hours before expiry the payer is reminded (0: no reminder).
    pub remind_hours_before: i64,
    /// The collecting unit's code (执收单位编码) the gateway knows the hall's orders by.
    pub merchant: String,
    /// The gateway's address; empty: the sandbox gateway served by the hall itself under
    /// `/sandbox-gateway` (for trials).
    pub gateway_url: String,
    /// How messages with the gateway are signed: `hmac-sm3` (a shared key) or `sm2` (the
    /// hall's private key and the gateway's public key).
    pub gateway_signature: String,
    /// The HMAC-SM3 key shared with the gateway; empty with the built-in sandbox only.
    pub gateway_secret: Secret,
    /// With `sm2`: the file holding the hall's private key (PKCS#8 PEM; `govhall keys sm2`
    /// makes one). Never stored in the database.
    pub hall_private_key: String,
    /// With `sm2`: the file holding the gateway's public key (PEM).
    pub gateway_public_key: String,
    /// With `sm2`: the distinguishing identifier both sides use.
    pub sm2_id: String,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            expiry_hours: 72,
            remind_hours_before: 24,
            merchant: "SANDBOX".into(),
            gateway_url: String::new(),
            gateway_signature: "hmac-sm3".into(),
            gateway_secret: Secret::new(""),
            hall_private_key: String::new(),
            gateway_public_key: String::new(),
            sm2_id: gateway::protocol::SM2_DEFAULT_ID.into(),
        }
    }
}

impl PaymentSettings {
    /// Checks the settings; the error says what is wrong.
    pub fn check(&self) -> Result<(), PaymentError> {
        let ok_merchant = !self.merchant.is_empty()
            && self.merchant.len() <= 32
            && self.merchant.bytes().all(|b| b.is_ascii_alphanumeric());
        if !(1..=24 * 90).contains(&self.expiry_hours)
            || !(0..self.expiry_hours).contains(&self.remind_hours_before)
            || !ok_merchant
        {
            return Err(PaymentError::Invalid(
                "配置 [payments] 有误：expiry_hours 应为 1 到 2160，remind_hours_before 应为 0 到 expiry_hours 之间，\
                 merchant 应为不超过 32 位的字母和数字"
                    .into(),
            ));
        }
        match self.gateway_signature.as_str() {
            "hmac-sm3" if !self.gateway_url.is_empty() && self.gateway_secret.is_empty() => Err(PaymentError::Invalid(
                "配置 [payments] 有误：以 hmac-sm3 签名时，设置了 gateway_url 就必须设置 gateway_secret".into(),
            )),
            "hmac-sm3" => Ok(()),
            "sm2"
                if self.gateway_url.is_empty()
                    || self.hall_private_key.is_empty()
                    || self.gateway_public_key.is_empty() =>
            {
                Err(PaymentError::Invalid(
                    "配置 [payments] 有误：以 sm2 签名时须设置 gateway_url、hall_private_key 和 gateway_public_key"
                        .into(),
                ))
            }
            "sm2" => Ok(()),
            other => Err(PaymentError::Invalid(format!(
                "配置 [payments] 有误：gateway_signature 应为 hmac-sm3 或 sm2，不能是“{other}”"
            ))),
        }
    }

    /// Whether payments go to the built-in sandbox gateway (no gateway configured).
    pub fn uses_sandbox(&self) -> bool {
        self.gateway_url.trim().is_empty()
    }

    /// The signer of messages with the gateway: reads the SM2 key files (the error names the
    /// file that is wrong); the built-in sandbox signs with `sandbox_key`.
    pub fn signer(&self, sandbox_key: &[u8]) -> Result<gateway::protocol::Signer, PaymentError> {
        self.check()?;
        if self.uses_sandbox() {
            return Ok(gateway::protocol::Signer::HmacSm3(sandbox_key.to_vec()));
        }
        if self.gateway_signature != "sm2" {
            return Ok(gateway::protocol::Signer::HmacSm3(self.gateway_secret.expose().as_bytes().to_vec()));
        }
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map_err(|e| PaymentError::Invalid(format!("配置 [payments] 有误：无法读取密钥文件 {path}：{e}")))
        };
        gateway::protocol::Signer::sm2_from_pem(
            &read(&self.hall_private_key)?,
            &read(&self.gateway_public_key)?,
            &self.sm2_id,
        )
        .map_err(|e| PaymentError::Invalid(format!("配置 [payments] 有误：{e}")))
    }
}

/// Payments over one database.
#[derive(Debug, Clone)]
pub struct Payments(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Db,
    identity: Arc<Identity>,
    messaging: Messaging,
    cases: Cases,
    gateway: Arc<dyn Gateway>,
    settings: PaymentSettings,
    public_url: String,
}

impl Payments {
    /// Payments through `gateway`; `public_url` is where the gateway and browsers reach the hall.
    pub fn new(
        db: Db,
        identity: Arc<Identity>,
        messaging: Messaging,
        cases: Cases,
        gateway: Arc<dyn Gateway>,
        settings: PaymentSettings,
        public_url: &str,
    ) -> Result<Payments, PaymentError> {
        settings.check()?;
        let public_url = public_url.trim_end_matches('/').to_owned();
        Ok(Payments(Arc::new(Inner { db, identity, messaging, cases, gateway, settings, public_url })))
    }

    /// Installs the message templates payments send (never over an edited one).
    pub async fn prepare(&self) -> Result<(), PaymentError> {
        notify::install_templates(&self.0.db).await
    }

    /// Registers the jobs: issuing orders for cases that entered a payment step, reminding
    /// before expiry, and expiring.
    pub fn register_jobs(&self, registry: &mut JobRegistry) {
        issue::register(self, registry);
        lifecycle::register(self, registry);
        reconcile::register(self, registry);
        refund::register(self, registry);
    }

    /// The settings.
    pub fn settings(&self) -> &PaymentSettings {
        &self.0.settings
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    /// Whether payments go to the built-in sandbox gateway (pages say so).
    pub fn uses_sandbox(&self) -> bool {
        self.0.settings.uses_sandbox()
    }

    /// Where the gateway posts results.
    pub fn notify_url(&self) -> String {
        format!("{}/api/v1/payments/notifications", self.0.public_url)
    }

    /// Where the gateway sends the browser back for `order`.
    pub fn return_url(&self, order: OrderId) -> String {
        format!("{}/payments/{}/return", self.0.public_url, order.as_uuid())
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.0.identity
    }

    pub(crate) fn messaging(&self) -> &Messaging {
        &self.0.messaging
    }

    pub(crate) fn cases(&self) -> &Cases {
        &self.0.cases
    }

    pub(crate) fn gateway(&self) -> &dyn Gateway {
        self.0.gateway.as_ref()
    }
}
