//! Online applications (在线申报), design section 2.3.2: the self-check (条件自检), the form
//! (业务申报) saved as a draft (暂存) at any step, materials uploaded to the file store (上传材料),
//! the check-answers page, and the submission (完成申报) that creates the case through the case
//! engine; then the printed form (反向打印) and the receipt.
//!
//! - [`ids`]: the typed ids of applications and their files.
//! - [`model`]: an application, its files and its task list.
//! - [`drafts`]: starting (with prefill), reading and saving answers.
//! - [`uploads`]: files for each material slot, streamed to the store.
//! - [`licences`]: materials given as the applicant's electronic licences (可免交).
//! - [`library`]: the materials library (材料库): files given once, given again.
//! - [`kinds`]: the kind of a material, so that differently named ones match.
//! - [`submit`]: checking everything and handing over to the case engine.
//! - [`purge`]: notices for idle drafts, then their removal.
//! - [`printing`]: the printed form and the receipt as PDFs.
//! - [`regions`]: the division codes the address fields choose from.

pub mod drafts;
mod error;
pub mod ids;
pub mod kinds;
pub mod library;
pub mod licences;
pub mod model;
pub mod printing;
pub mod purge;
pub mod regions;
pub mod submit;
pub mod uploads;

pub use error::ApplicationError;
pub use ids::{ApplicationFileId, ApplicationId};
pub use model::{Application, ApplicationFile, ApplicationState, Task};

use govhall_cases::Cases;
use govhall_catalog::Catalog;
use govhall_db::Db;
use govhall_db::jobs::JobRegistry;
use govhall_files::FileStore;
use govhall_identity::Identity;
use govhall_licences::Licences;
use govhall_messaging::Messaging;
use govhall_print::PrintFont;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

/// `[applications]` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationSettings {
    /// The largest file taken for a material, in bytes (10 MB).
    pub max_file_bytes: u64,
    /// The most files one material takes.
    pub max_files_per_material: u32,
    /// Drafts untouched this many days are removed.
    pub draft_days: i64,
    /// The applicant is told this many days before.
    pub notice_days: i64,
    /// The public address of the hall, for the QR code on printouts (`https://…`); the serial
    /// number alone when empty.
    pub public_url: String,
    /// A CJK font file for printouts; the usual system fonts are searched when empty.
    pub font: String,
    /// The face to use in a font collection (.ttc).
    pub font_index: u32,
    /// What a person's or an enterprise's materials library may keep, in bytes (200 MB); files
    /// added by hand beyond it are refused.
    pub library_quota_bytes: u64,
}

impl Default for ApplicationSettings {
    fn default() -> Self {
        ApplicationSettings {
            max_file_bytes: 10 * 1024 * 1024,
            max_files_per_material: 10,
            draft_days: 30,
            notice_days: 7,
            public_url: String::new(),
            font: String::new(),
            font_index: 0,
            library_quota_bytes: 200 * 1024 * 1024,
        }
    }
}

impl ApplicationSettings {
    /// Checks the settings; each problem in Chinese.
    pub fn check(&self) -> Result<(), String> {
        if self.max_file_bytes < 1024 {
            return Err("配置 [applications] max_file_bytes 至少为 1024".into());
        }
        if self.library_quota_bytes < self.max_file_bytes {
            return Err("配置 [applications] library_quota_bytes 不能小于 max_file_bytes".into());
        }
        if !(1..=100).contains(&self.max_files_per_material) {
            return Err("配置 [applications] max_files_per_material 应为 1 到 100".into());
        }
        if self.draft_days < 2 || self.notice_days < 1 || self.notice_days >= self.draft_days {
            return Err("配置 [applications] 应满足 draft_days ≥ 2 且 1 ≤ notice_days < draft_days".into());
        }
        Ok(())
    }
}

/// The applications service.
#[derive(Debug, Clone)]
pub struct Applications(Arc<Inner>);

/// The services online applications work with.
#[derive(Debug, Clone)]
pub struct Services {
    /// Accounts, profiles and personal-data keys.
    pub identity: Arc<Identity>,
    /// What applications tell people.
    pub messaging: Messaging,
    /// Published guides: forms and materials.
    pub catalog: Catalog,
    /// Where submissions become cases.
    pub cases: Cases,
    /// Licences given in place of materials.
    pub licences: Licences,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    identity: Arc<Identity>,
    messaging: Messaging,
    catalog: Catalog,
    cases: Cases,
    licences: Licences,
    files: FileStore,
    settings: ApplicationSettings,
    regions: regions::Regions,
    font: OnceLock<Result<PrintFont, String>>,
}

impl Applications {
    /// The service; `files` is the store uploads go to.
    pub async fn new(
        db: Db,
        services: Services,
        files: FileStore,
        settings: ApplicationSettings,
    ) -> Result<Applications, ApplicationError> {
        settings.check().map_err(ApplicationError::InvalidInput)?;
        let regions = regions::Regions::load(&db).await?;
        let Services { identity, messaging, catalog, cases, licences } = services;
        Ok(Applications(Arc::new(Inner {
            db,
            identity,
            messaging,
            catalog,
            cases,
            licences,
            files,
            settings,
            regions,
            font: OnceLock::new(),
        })))
    }

    /// Installs the message templates (never over an edited one).
    pub async fn prepare(&self) -> Result<(), ApplicationError> {
        purge::install_templates(&self.0.db).await
    }

    /// Registers the daily purge of idle drafts.
    pub fn register_jobs(&self, registry: &mut JobRegistry) {
        purge::register(self.clone(), registry);
        library::register_jobs(self.clone(), registry);
    }

    /// The settings.
    pub fn settings(&self) -> &ApplicationSettings {
        &self.0.settings
    }

    /// The division codes.
    pub fn regions(&self) -> &regions::Regions {
        &self.0.regions
    }

    /// The file store.
    pub fn files(&self) -> &FileStore {
        &self.0.files
    }

    pub(crate) fn db(&self) -> &Db {
        &self.0.db
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.0.identity
    }

    pub(crate) fn messaging(&self) -> &Messaging {
        &self.0.messaging
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    pub(crate) fn cases(&self) -> &Cases {
        &self.0.cases
    }

    pub(crate) fn licences(&self) -> &Licences {
        &self.0.licences
    }

    /// The printing font, found once.
    pub fn font(&self) -> Result<&PrintFont, ApplicationError> {
        let s = &self.0.settings;
        let found = self.0.font.get_or_init(|| {
            let configured = (!s.font.is_empty()).then(|| std::path::Path::new(&s.font));
            PrintFont::locate(configured, s.font_index).map_err(|e| e.to_string())
        });
        found.as_ref().map_err(|e| {
            tracing::warn!(error = %e, "no printing font");
            ApplicationError::Print(govhall_print::PrintError::NoFont)
        })
    }
}
