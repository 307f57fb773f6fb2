//! The exchange with department back-office systems (设计 3.1: 申报入口集成, 过程数据的集成): a
//! department connected to the hall has its system collect the cases submitted to it and send
//! back each step and the result, and the hall moves its cases accordingly and tells the
//! applicant.
//!
//! - [`connect`]: connecting a department (its system's key, optional address list and signing
//!   key), the connections' state for the admin page.
//! - [`signing`]: the request signature (HMAC-SM3 over method, path, time, nonce and body);
//!   [`caller`]: who is calling, with replays and other addresses refused.
//! - [`outbox`]: the cases waiting for a department's system (queued by the case engine's
//!   `case.submitted` job), handed over in a stable order and acknowledged.
//! - [`events`]: the steps and results a department's system sends, each once by its
//!   idempotency key; [`batch`]: many of them made together (a front database's page, a batch
//!   over the API).
//! - [`register`]: cases a department's system started itself, registered with the hall.
//! - [`log`]: every message in and out, each covered by an audit entry; searched by case and
//!   department.
//! - [`sweep`]: the alert when a department's system has not collected its cases.
//! - [`front_db`]: departments connected through tables (前置库): their cases written there,
//!   their steps and results read from there, rows that cannot be applied marked with why.

pub mod batch;
pub mod caller;
pub mod connect;
mod error;
pub mod events;
pub mod front_db;
pub mod log;
pub mod outbox;
pub mod register;
pub mod signing;
pub mod sweep;

pub use caller::Caller;
pub use error::ExchangeError;

use govhall_applications::Applications;
use govhall_cases::Cases;
use govhall_db::Db;
use govhall_db::jobs::JobRegistry;
use govhall_identity::Identity;
use govhall_licences::Licences;
use govhall_messaging::Messaging;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The exchange part of the configuration (`[exchange]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExchangeSettings {
    /// How far a signed request's time may be from the hall's, in seconds.
    pub signature_window_secs: i64,
    /// The most cases one pull hands over.
    pub max_page: u32,
    /// Minutes a department's system may leave cases uncollected before its managers are told
    /// (a connection may set its own).
    pub alert_minutes: u32,
    /// Seconds between two visits of the worker to each front database (前置库).
    pub front_db_interval_secs: u32,
    /// Calls a department's system may make in a minute (counted across nodes).
    pub requests_per_minute: u32,
}

impl Default for ExchangeSettings {
    fn default() -> Self {
        ExchangeSettings {
            signature_window_secs: 300,
            max_page: 100,
            alert_minutes: 60,
            front_db_interval_secs: 30,
            requests_per_minute: 6000,
        }
    }
}

impl ExchangeSettings {
    /// Checks the settings; the error says what is wrong.
    pub fn check(&self) -> Result<(), ExchangeError> {
        let bad = |what: &str| Err(ExchangeError::Invalid(format!("配置 [exchange] 有误：{what}")));
        if !(30..=3600).contains(&self.signature_window_secs) {
            return bad("signature_window_secs 应为 30 到 3600");
        }
        if !(1..=1000).contains(&self.max_page) {
            return bad("max_page 应为 1 到 1000");
        }
        if !(5..=10080).contains(&self.alert_minutes) {
            return bad("alert_minutes 应为 5 到 10080（7 天）");
        }
        if !(5..=3600).contains(&self.front_db_interval_secs) {
            return bad("front_db_interval_secs 应为 5 到 3600");
        }
        if !(10..=100_000).contains(&self.requests_per_minute) {
            return bad("requests_per_minute 应为 10 到 100000");
        }
        Ok(())
    }
}

/// What the exchange works with.
#[derive(Debug, Clone)]
pub struct Services {
    /// Accounts, keys, clients and access.
    pub identity: Arc<Identity>,
    /// The message center (alerts).
    pub messaging: Messaging,
    /// The case engine.
    pub cases: Cases,
    /// Licences (a grant issues the item's licence, as at the hall's own counter).
    pub licences: Licences,
    /// Online applications (the materials' files, written to a front database).
    pub applications: Applications,
}

/// The exchange over one database.
#[derive(Debug, Clone)]
pub struct Exchange(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Db,
    services: Services,
    settings: ExchangeSettings,
    /// The front databases opened, by department (with the sealed address they were opened at).
    front_dbs: front_db::Pools,
    /// This node's name on the front databases' leases.
    node: String,
}

impl Exchange {
    /// The exchange with `settings`.
    pub fn new(db: Db, services: Services, settings: ExchangeSettings) -> Result<Exchange, ExchangeError> {
        settings.check()?;
        let node = format!("node-{}", uuid::Uuid::now_v7().simple());
        Ok(Exchange(Arc::new(Inner { db, services, settings, front_dbs: front_db::Pools::default(), node })))
    }

    /// Registers the jobs: queuing a submitted case for its department's system, the sweep.
    pub fn register_jobs(&self, registry: &mut JobRegistry) {
        outbox::register(self.clone(), registry);
        sweep::register(self.clone(), registry);
        front_db::register(self.clone(), registry);
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    /// The settings.
    pub fn settings(&self) -> &ExchangeSettings {
        &self.0.settings
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.0.services.identity
    }

    pub(crate) fn messaging(&self) -> &Messaging {
        &self.0.services.messaging
    }

    pub(crate) fn cases(&self) -> &Cases {
        &self.0.services.cases
    }

    pub(crate) fn licences(&self) -> &Licences {
        &self.0.services.licences
    }

    pub(crate) fn applications(&self) -> &Applications {
        &self.0.services.applications
    }

    pub(crate) fn front_dbs(&self) -> &front_db::Pools {
        &self.0.front_dbs
    }

    pub(crate) fn node(&self) -> &str {
        &self.0.node
    }
}
