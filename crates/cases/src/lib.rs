//! Cases (办件): the unified serial number service (design section 3.2), and the case engine —
//! submission with a serial number and query password, a whitelisted workflow per item, time
//! limits in working days with pauses and warnings, the staff workbench's queries, and the
//! progress query (design sections 2.3.2.4 and 2.5.1).

pub mod closed;
pub mod deadline;
mod error;
pub mod export;
pub mod files;
pub mod granted;
pub mod home;
pub mod ids;
pub mod model;
mod notify;
pub mod offline;
pub mod password;
pub mod payment_due;
pub mod progress;
pub mod projects;
pub mod queries;
pub mod serials;
pub mod stats;
mod store;
pub mod submit;
pub mod submitted;
pub mod supplement;
pub mod sweep;
pub mod tasks;
pub mod transition;
pub mod workflow;
pub mod workflows;

pub use error::CaseError;
pub use ids::{CaseEventId, CaseFileId, CaseId};
pub use model::{ActorKind, Case, CaseEvent, CaseFile, Channel, FileKind, Outcome};
pub use workflow::Workflow;

use govhall_catalog::Catalog;
use govhall_core::WorkingCalendar;
use govhall_db::Db;
use govhall_db::jobs::JobRegistry;
use govhall_identity::Identity;
use govhall_messaging::Messaging;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The case part of the configuration (`[cases]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaseSettings {
    /// The service number (01–99) this hall's serial numbers carry; API clients need others.
    pub service_number: u8,
    /// A case turns yellow this many working days before its limit.
    pub warn_days: u32,
    /// Failed progress look-ups of one serial number that lock it …
    pub lock_failures: i64,
    /// … for this many minutes (counted from the oldest failure in the window).
    pub lock_minutes: i64,
    /// Failed progress look-ups one client may make in [`CaseSettings::client_window_minutes`].
    pub client_failures: i64,
    /// The window of the client limit.
    pub client_window_minutes: i64,
    /// Largest attachment or result document, in bytes.
    pub max_file_bytes: usize,
    /// Applicants are reminded of materials asked for again this many working days before the
    /// step's deadline (or after waiting this long, where the step has none).
    pub remind_days: u32,
    /// The stages of an investment project's dossier (项目档案), in order.
    pub project_stages: Vec<String>,
}

impl Default for CaseSettings {
    fn default() -> Self {
        CaseSettings {
            service_number: 1,
            warn_days: 2,
            lock_failures: 5,
            lock_minutes: 30,
            client_failures: 20,
            client_window_minutes: 15,
            max_file_bytes: 10 * 1024 * 1024,
            remind_days: 2,
            project_stages: ["立项", "用地", "规划", "施工", "竣工验收"].map(String::from).to_vec(),
        }
    }
}

/// The case engine over one database.
#[derive(Debug, Clone)]
pub struct Cases(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Db,
    identity: Arc<Identity>,
    messaging: Messaging,
    catalog: Catalog,
    calendar: WorkingCalendar,
    settings: CaseSettings,
}

impl Cases {
    /// The engine; `calendar` is the official working calendar.
    pub fn new(
        db: Db,
        identity: Arc<Identity>,
        messaging: Messaging,
        catalog: Catalog,
        calendar: WorkingCalendar,
        settings: CaseSettings,
    ) -> Result<Cases, CaseError> {
        if !(1..=99).contains(&settings.service_number) {
            return Err(CaseError::InvalidInput(format!(
                "配置 [cases] service_number 应为 1 到 99，现为 {}",
                settings.service_number
            )));
        }
        Ok(Cases(Arc::new(Inner { db, identity, messaging, catalog, calendar, settings })))
    }

    /// Installs the message templates cases send (never over an edited one).
    pub async fn prepare(&self) -> Result<(), CaseError> {
        notify::install_templates(&self.0.db).await
    }

    /// Registers the deadline sweep.
    pub fn register_jobs(&self, registry: &mut JobRegistry) {
        sweep::register(self.clone(), registry);
    }

    /// The settings.
    pub fn settings(&self) -> &CaseSettings {
        &self.0.settings
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    /// The working calendar deadlines follow.
    pub fn calendar(&self) -> &WorkingCalendar {
        &self.0.calendar
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.0.identity
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    pub(crate) fn messaging(&self) -> &Messaging {
        &self.0.messaging
    }
}
