//! Electronic licences (电子证照, design section 2.3.3): licence types imported from a file,
//! licences issued when a case whose item issues one is granted — the holder and the fields
//! taken from the case, signed with the hall's SM2 licence key and stored encrypted — a public
//! verification anyone can run from the identifier or the QR code, the holder's 我的证照 with
//! printouts, and revocation by the issuing department.

pub mod decide;
mod error;
pub mod history;
mod holders;
pub mod identifier;
mod ids;
pub mod import;
pub mod issue;
pub mod keyring;
pub mod model;
mod notify;
pub mod pdf;
pub mod reissue;
pub mod signing;
mod store;
pub mod types;
pub mod verify;

pub use error::LicenceError;
pub use ids::LicenceId;
pub use model::{HolderKind, Licence, LicenceState, LicenceType, Status};
pub use signing::LicenceKey;
pub use verify::{Verdict, Verification};

use govhall_cases::Cases;
use govhall_db::Db;
use govhall_db::jobs::JobRegistry;
use govhall_identity::Identity;
use govhall_messaging::Messaging;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The licence part of the configuration (`[licences]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LicenceSettings {
    /// The file holding the hall's SM2 licence key (PKCS#8 PEM); empty:
    /// `<data_dir>/keys/licences-sm2.pem`, made on first start. Never stored in the database;
    /// keep a copy: without it no new licence can be signed, and licences signed with it can
    /// only be verified against its public key.
    pub signing_key: String,
    /// The SM2 distinguishing identifier.
    pub sm2_id: String,
}

impl Default for LicenceSettings {
    fn default() -> Self {
        LicenceSettings { signing_key: String::new(), sm2_id: signing::DEFAULT_ID.into() }
    }
}

/// The licence registry over one database.
#[derive(Debug, Clone)]
pub struct Licences(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Db,
    identity: Arc<Identity>,
    messaging: Messaging,
    cases: Cases,
    key: LicenceKey,
    keyring: keyring::Keyring,
    public_url: String,
}

impl Licences {
    /// The registry, signing with `key`; `public_url` is where people reach the hall (the QR
    /// codes point there).
    pub fn new(
        db: Db,
        identity: Arc<Identity>,
        messaging: Messaging,
        cases: Cases,
        key: LicenceKey,
        public_url: &str,
    ) -> Licences {
        let public_url = public_url.trim_end_matches('/').to_owned();
        Licences(Arc::new(Inner {
            db,
            identity,
            messaging,
            cases,
            key,
            keyring: keyring::Keyring::default(),
            public_url,
        }))
    }

    /// The same registry signing with `key` instead (what a node runs after a rotation).
    pub fn with_key(&self, key: LicenceKey) -> Licences {
        let i = &self.0;
        Licences::new(i.db.clone(), i.identity.clone(), i.messaging.clone(), i.cases.clone(), key, &i.public_url)
    }

    /// Installs the message templates licences send (never over an edited one), and registers
    /// the signing key (its public half) so that what it signs verifies after a rotation.
    pub async fn prepare(&self) -> Result<(), LicenceError> {
        notify::install_templates(&self.0.db).await?;
        self.register_key().await
    }

    /// Registers the job that issues a granted case's licence.
    pub fn register_jobs(&self, registry: &mut JobRegistry) {
        issue::register(self, registry);
    }

    /// The signing key (its public half is published).
    pub fn key(&self) -> &LicenceKey {
        &self.0.key
    }

    /// Where people reach the hall.
    pub fn public_url(&self) -> &str {
        &self.0.public_url
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    pub(crate) fn keyring(&self) -> &keyring::Keyring {
        &self.0.keyring
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
}
