//! Unified logistics (统一物流, design section 3.4): an applicant who chose 快递送达 gets the
//! result by courier. Staff send it from the case at its 送达 step — the hall books the
//! shipment with the courier, gets the waybill number and prints the waybill —, the courier's
//! tracking events arrive by signed push and are asked for by query, and the delivery takes
//! the case's 送达 step. The applicant follows the parcel on the case page and in the API and
//! is told by SMS when it is sent and when it arrives.

pub mod courier;
mod error;
mod ids;
pub mod model;
mod notify;
mod queries;
pub mod ship;
pub mod track;
pub mod waybill;

pub use courier::protocol::EventStatus;
pub use courier::{Courier, HttpCourier};
pub use error::LogisticsError;
pub use ids::ShipmentId;
pub use model::{Shipment, ShipmentState, TrackingEvent};

use govhall_cases::Cases;
use govhall_catalog::Catalog;
use govhall_core::Secret;
use govhall_db::Db;
use govhall_db::jobs::JobRegistry;
use govhall_identity::Identity;
use govhall_messaging::Messaging;
use govhall_messaging::signed::Signer;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The logistics part of the configuration (`[logistics]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogisticsSettings {
    /// The courier's address; empty: the sandbox courier served by the hall itself under
    /// `/sandbox-courier` (for trials).
    pub courier_url: String,
    /// The hall's customer code at the courier (月结账号).
    pub customer: String,
    /// How messages with the courier are signed: `hmac-sm3` (a shared key) or `sm2`.
    pub signature: String,
    /// The HMAC-SM3 key shared with the courier; empty with the built-in sandbox only.
    pub courier_secret: Secret,
    /// With `sm2`: the file holding the hall's private key (PKCS#8 PEM; `govhall keys sm2`).
    pub hall_private_key: String,
    /// With `sm2`: the file holding the courier's public key (PEM).
    pub courier_public_key: String,
    /// With `sm2`: the distinguishing identifier both sides use.
    pub sm2_id: String,
    /// Minutes between the hall's queries of a parcel on its way (the pushes may be lost).
    pub poll_minutes: u32,
}

impl Default for LogisticsSettings {
    fn default() -> Self {
        LogisticsSettings {
            courier_url: String::new(),
            customer: "SANDBOX".into(),
            signature: "hmac-sm3".into(),
            courier_secret: Secret::new(""),
            hall_private_key: String::new(),
            courier_public_key: String::new(),
            sm2_id: govhall_messaging::signed::SM2_DEFAULT_ID.into(),
            poll_minutes: 60,
        }
    }
}

impl LogisticsSettings {
    /// Checks the settings; the error says what is wrong.
    pub fn check(&self) -> Result<(), LogisticsError> {
        let ok_customer = !self.customer.is_empty()
            && self.customer.len() <= 32
            && self.customer.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok_customer || !(5..=24 * 60).contains(&self.poll_minutes) {
            return Err(LogisticsError::Invalid(
                "配置 [logistics] 有误：customer 应为不超过 32 位的字母和数字，poll_minutes 应为 5 到 1440".into(),
            ));
        }
        match self.signature.as_str() {
            "hmac-sm3" if !self.courier_url.is_empty() && self.courier_secret.is_empty() => {
                Err(LogisticsError::Invalid(
                    "配置 [logistics] 有误：以 hmac-sm3 签名时，设置了 courier_url 就必须设置 courier_secret".into(),
                ))
            }
            "hmac-sm3" => Ok(()),
            "sm2"
                if self.courier_url.is_empty()
                    || self.hall_private_key.is_empty()
                    || self.courier_public_key.is_empty() =>
            {
                Err(LogisticsError::Invalid(
                    "配置 [logistics] 有误：以 sm2 签名时须设置 courier_url、hall_private_key 和 courier_public_key"
                        .into(),
                ))
            }
            "sm2" => Ok(()),
            other => Err(LogisticsError::Invalid(format!(
                "配置 [logistics] 有误：signature 应为 hmac-sm3 或 sm2，不能是“{other}”"
            ))),
        }
    }

    /// Whether shipments go to the built-in sandbox courier.
    pub fn uses_sandbox(&self) -> bool {
        self.courier_url.trim().is_empty()
    }

    /// The signer of messages with the courier (the built-in sandbox signs with `sandbox_key`).
    pub fn signer(&self, sandbox_key: &[u8]) -> Result<Signer, LogisticsError> {
        self.check()?;
        if self.uses_sandbox() {
            return Ok(Signer::HmacSm3(sandbox_key.to_vec()));
        }
        if self.signature != "sm2" {
            return Ok(Signer::HmacSm3(self.courier_secret.expose().as_bytes().to_vec()));
        }
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map_err(|e| LogisticsError::Invalid(format!("配置 [logistics] 有误：无法读取密钥文件 {path}：{e}")))
        };
        Signer::sm2_from_pem(&read(&self.hall_private_key)?, &read(&self.courier_public_key)?, &self.sm2_id)
            .map_err(|e| LogisticsError::Invalid(format!("配置 [logistics] 有误：{e}")))
    }
}

/// What logistics works with.
#[derive(Debug, Clone)]
pub struct Services {
    /// Accounts, keys and access.
    pub identity: Arc<Identity>,
    /// The message center.
    pub messaging: Messaging,
    /// The guides (the department's address on the parcel).
    pub catalog: Catalog,
    /// The case engine.
    pub cases: Cases,
}

/// Logistics over one database.
#[derive(Debug, Clone)]
pub struct Logistics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Db,
    services: Services,
    courier: Arc<dyn Courier>,
    settings: LogisticsSettings,
    public_url: String,
}

impl Logistics {
    /// Logistics through `courier`; `public_url` is where the courier pushes events to.
    pub fn new(
        db: Db,
        services: Services,
        courier: Arc<dyn Courier>,
        settings: LogisticsSettings,
        public_url: &str,
    ) -> Result<Logistics, LogisticsError> {
        settings.check()?;
        let public_url = public_url.trim_end_matches('/').to_owned();
        Ok(Logistics(Arc::new(Inner { db, services, courier, settings, public_url })))
    }

    /// Installs the message templates logistics sends (never over an edited one).
    pub async fn prepare(&self) -> Result<(), LogisticsError> {
        notify::install_templates(&self.0.db).await
    }

    /// Registers the job that asks the courier about parcels on their way.
    pub fn register_jobs(&self, registry: &mut JobRegistry) {
        track::register(self, registry);
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    /// The settings.
    pub fn settings(&self) -> &LogisticsSettings {
        &self.0.settings
    }

    /// Where the courier pushes tracking events.
    pub fn notify_url(&self) -> String {
        format!("{}/api/v1/logistics/notifications", self.0.public_url)
    }

    pub(crate) fn courier(&self) -> &dyn Courier {
        self.0.courier.as_ref()
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.0.services.identity
    }

    pub(crate) fn messaging(&self) -> &Messaging {
        &self.0.services.messaging
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.0.services.catalog
    }

    pub(crate) fn cases(&self) -> &Cases {
        &self.0.services.cases
    }
}
