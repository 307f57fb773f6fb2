//! Building the domains a node, a worker or a command-line task works with: each over the
//! database, from the settings, in the order their dependencies need.

use crate::config::Settings;
use govhall_applications::Applications;
use govhall_booking::Booking;
use govhall_cases::Cases;
use govhall_catalog::Catalog;
use govhall_core::WorkingCalendar;
use govhall_db::changes::{ChangeFollower, StartAt};
use govhall_db::housekeeping;
use govhall_db::jobs::JobRegistry;
use govhall_db::{Db, DbOptions};
use govhall_exchange::Exchange;
use govhall_feedback::Feedback;
use govhall_files::{FileStore, FilesSettings};
use govhall_identity::Identity;
use govhall_licences::{LicenceKey, Licences};
use govhall_logistics::{HttpCourier, Logistics};
use govhall_messaging::Messaging;
use govhall_payments::Payments;
use govhall_payments::gateway::HttpGateway;
use std::net::SocketAddr;
use std::sync::Arc;

/// Identity over `db`: keys, the built-in roles, the regions.
pub async fn identity(settings: &Settings, db: &Db, messaging: &Messaging) -> anyhow::Result<Arc<Identity>> {
    let identity = Identity::new(db.clone(), messaging.clone(), settings.identity.clone(), &settings.data_dir)?;
    identity.prepare().await?;
    Ok(Arc::new(identity))
}

/// The database and identity's services, for a command-line task.
pub async fn identity_for_cli(settings: &Settings) -> anyhow::Result<(Db, Arc<Identity>)> {
    let db = open_database(settings).await?;
    match async { identity(settings, &db, &message_center(settings, &db).await?).await }.await {
        Ok(identity) => Ok((db, identity)),
        Err(e) => {
            db.close().await;
            Err(e)
        }
    }
}

/// The domains whose jobs a worker runs.
#[derive(Debug, Clone, Copy)]
pub struct Domains<'a> {
    /// The case engine.
    pub cases: &'a Cases,
    /// Online applications.
    pub applications: &'a Applications,
    /// Payments.
    pub payments: &'a Payments,
    /// Electronic licences.
    pub licences: &'a Licences,
    /// Logistics.
    pub logistics: &'a Logistics,
    /// 好差评.
    pub feedback: &'a Feedback,
    /// The exchange with department systems.
    pub exchange: &'a Exchange,
}

/// The domains a command-line task over cases works with.
pub(crate) struct CliDomains {
    identity: Arc<Identity>,
    messaging: Messaging,
    cases: Cases,
    licences: Licences,
    applications: Applications,
}

/// Opens the database and builds what a command-line task over cases needs (the database closed
/// again when building fails).
pub(crate) async fn domains_for_cli(settings: &Settings) -> anyhow::Result<(Db, CliDomains)> {
    let db = open_database(settings).await?;
    let built = async {
        let messaging = message_center(settings, &db).await?;
        let identity = identity(settings, &db, &messaging).await?;
        let changes = ChangeFollower::new(db.clone(), StartAt::Latest).await?;
        let catalog = Catalog::new(db.clone(), &changes);
        let cases = case_engine(settings, &db, &identity, &messaging, &catalog).await?;
        let bind = settings.bind.parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let licences = licences(settings, &db, &identity, &messaging, &cases, &public_url(settings, bind)).await?;
        let applications =
            online_applications(settings, &db, &identity, &messaging, &catalog, &cases, &licences).await?;
        Ok::<_, anyhow::Error>(CliDomains { identity, messaging, cases, licences, applications })
    }
    .await;
    match built {
        Ok(domains) => Ok((db, domains)),
        Err(e) => {
            db.close().await;
            Err(e)
        }
    }
}

/// The database and the licence registry, for a command-line task.
pub async fn licences_for_cli(settings: &Settings) -> anyhow::Result<(Db, Licences)> {
    let (db, d) = domains_for_cli(settings).await?;
    Ok((db, d.licences))
}

/// The database and the exchange with department systems, for a command-line task.
pub async fn exchange_for_cli(settings: &Settings) -> anyhow::Result<(Db, Exchange)> {
    let (db, d) = domains_for_cli(settings).await?;
    match exchange(settings, &db, &d.identity, &d.messaging, &d.cases, &d.licences, &d.applications) {
        Ok(exchange) => Ok((db, exchange)),
        Err(e) => {
            db.close().await;
            Err(e)
        }
    }
}

/// Every job handler of a node.
pub fn job_registry(settings: &Settings, identity: &Identity, messaging: &Messaging, d: Domains<'_>) -> JobRegistry {
    let mut registry = JobRegistry::new();
    housekeeping::register(&mut registry, settings.retention.clone());
    govhall_audit::register(&mut registry, identity.keys().checkpoint_key());
    messaging.register_jobs(&mut registry);
    d.cases.register_jobs(&mut registry);
    d.applications.register_jobs(&mut registry);
    d.payments.register_jobs(&mut registry);
    d.licences.register_jobs(&mut registry);
    d.logistics.register_jobs(&mut registry);
    d.feedback.register_jobs(&mut registry);
    d.exchange.register_jobs(&mut registry);
    registry
}

/// Where the gateway and browsers reach this hall: the configured address (`[applications]
/// public_url`, which printouts' QR codes use too), or the one it listens on (a wildcard address
/// read as this machine).
pub fn public_url(settings: &Settings, addr: SocketAddr) -> String {
    let configured = settings.applications.public_url.trim();
    if !configured.is_empty() {
        return configured.trim_end_matches('/').to_owned();
    }
    let host = if addr.ip().is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { addr.ip() };
    format!("http://{}", SocketAddr::new(host, addr.port()))
}

/// The key the hall and its built-in sandbox gateway sign with: derived from the master key, so
/// that nodes sharing a configuration share it and nobody else knows it.
pub fn sandbox_secret(identity: &Identity) -> Vec<u8> {
    identity.keys().lookup_hash("payments", "sandbox-gateway").into_bytes()
}

/// The prefix the built-in sandbox gateway is served under when no gateway is configured.
pub const SANDBOX_PREFIX: &str = "/sandbox-gateway";

/// Payments over `db`, through the configured gateway or the built-in sandbox at `public_url`.
pub(crate) async fn payments(
    settings: &Settings,
    db: &Db,
    identity: &Arc<Identity>,
    messaging: &Messaging,
    cases: &Cases,
    public_url: &str,
) -> anyhow::Result<Payments> {
    let p = &settings.payments;
    let base = if p.gateway_url.trim().is_empty() {
        format!("{public_url}{SANDBOX_PREFIX}")
    } else {
        p.gateway_url.trim().to_owned()
    };
    let signer = p.signer(&sandbox_secret(identity))?;
    let gateway = HttpGateway::new(&base, signer)?;
    let payments = Payments::new(
        db.clone(),
        identity.clone(),
        messaging.clone(),
        cases.clone(),
        Arc::new(gateway),
        p.clone(),
        public_url,
    )?;
    payments.prepare().await?;
    Ok(payments)
}

/// The key the hall and its built-in sandbox courier sign with (as [`sandbox_secret`]).
pub fn courier_sandbox_secret(identity: &Identity) -> Vec<u8> {
    identity.keys().lookup_hash("logistics", "sandbox-courier").into_bytes()
}

/// The prefix the built-in sandbox courier is served under when no courier is configured.
pub const COURIER_SANDBOX_PREFIX: &str = "/sandbox-courier";

/// 好差评 over `db`; invitations link to `public_url`.
pub(crate) async fn feedback(
    settings: &Settings,
    db: &Db,
    identity: &Arc<Identity>,
    messaging: &Messaging,
    cases: &Cases,
    public_url: &str,
) -> anyhow::Result<Feedback> {
    let services =
        govhall_feedback::Services { identity: identity.clone(), messaging: messaging.clone(), cases: cases.clone() };
    let feedback = Feedback::new(db.clone(), services, settings.feedback.clone(), public_url)?;
    feedback.prepare().await?;
    Ok(feedback)
}

/// The exchange with department systems over `db`.
pub(crate) fn exchange(
    settings: &Settings,
    db: &Db,
    identity: &Arc<Identity>,
    messaging: &Messaging,
    cases: &Cases,
    licences: &Licences,
    applications: &Applications,
) -> anyhow::Result<Exchange> {
    let services = govhall_exchange::Services {
        identity: identity.clone(),
        messaging: messaging.clone(),
        cases: cases.clone(),
        licences: licences.clone(),
        applications: applications.clone(),
    };
    Ok(Exchange::new(db.clone(), services, settings.exchange.clone())?)
}

/// Logistics over `db`, through the configured courier or the built-in sandbox at `public_url`.
pub(crate) async fn logistics(
    settings: &Settings,
    db: &Db,
    services: govhall_logistics::Services,
    public_url: &str,
) -> anyhow::Result<Logistics> {
    let l = &settings.logistics;
    let base = if l.uses_sandbox() {
        format!("{public_url}{COURIER_SANDBOX_PREFIX}")
    } else {
        l.courier_url.trim().to_owned()
    };
    let signer = l.signer(&courier_sandbox_secret(&services.identity))?;
    let courier = HttpCourier::new(&base, signer)?;
    let logistics = Logistics::new(db.clone(), services, Arc::new(courier), l.clone(), public_url)?;
    logistics.prepare().await?;
    Ok(logistics)
}

/// The file the licence signing key is in: `[licences] signing_key`, or
/// `<data_dir>/keys/licences-sm2.pem` (made on first start).
pub fn licence_key_path(settings: &Settings) -> std::path::PathBuf {
    let configured = settings.licences.signing_key.trim();
    if configured.is_empty() {
        settings.data_dir.join("keys").join("licences-sm2.pem")
    } else {
        std::path::PathBuf::from(configured)
    }
}

/// The licence registry over `db`, signing with the configured key (made on first start when
/// the default file is missing).
pub(crate) async fn licences(
    settings: &Settings,
    db: &Db,
    identity: &Arc<Identity>,
    messaging: &Messaging,
    cases: &Cases,
    public_url: &str,
) -> anyhow::Result<Licences> {
    let l = &settings.licences;
    let key = LicenceKey::load(&licence_key_path(settings), &l.sm2_id, l.signing_key.trim().is_empty())?;
    let licences = Licences::new(db.clone(), identity.clone(), messaging.clone(), cases.clone(), key, public_url);
    licences.prepare().await?;
    Ok(licences)
}

/// Online applications over `db`, with the file store and their message templates.
pub(crate) async fn online_applications(
    settings: &Settings,
    db: &Db,
    identity: &Arc<Identity>,
    messaging: &Messaging,
    catalog: &Catalog,
    cases: &Cases,
    licences: &Licences,
) -> anyhow::Result<Applications> {
    let dir = if settings.files.dir.trim().is_empty() {
        settings.data_dir.join("files")
    } else {
        std::path::PathBuf::from(settings.files.dir.trim())
    };
    let clamd = Some(settings.files.clamd.trim().to_owned()).filter(|c| !c.is_empty());
    let files = FileStore::open(FilesSettings { dir, max_file_bytes: settings.applications.max_file_bytes, clamd })
        .map_err(|e| anyhow::anyhow!("无法打开文件存储目录：{e}"))?;
    let services = govhall_applications::Services {
        identity: identity.clone(),
        messaging: messaging.clone(),
        catalog: catalog.clone(),
        cases: cases.clone(),
        licences: licences.clone(),
    };
    let applications = Applications::new(db.clone(), services, files, settings.applications.clone()).await?;
    applications.prepare().await?;
    Ok(applications)
}

/// The case engine over `db`, with its message templates installed.
pub(crate) async fn case_engine(
    settings: &Settings,
    db: &Db,
    identity: &Arc<Identity>,
    messaging: &Messaging,
    catalog: &Catalog,
) -> anyhow::Result<Cases> {
    let cases = Cases::new(
        db.clone(),
        identity.clone(),
        messaging.clone(),
        catalog.clone(),
        WorkingCalendar::official(),
        settings.cases.clone(),
    )?;
    cases.prepare().await?;
    Ok(cases)
}

/// The message center the settings describe, with its default templates installed.
pub(crate) async fn message_center(settings: &Settings, db: &Db) -> anyhow::Result<Messaging> {
    let messaging = Messaging::new(settings.messaging.clone())?;
    govhall_messaging::templates::install_defaults(db).await?;
    govhall_messaging::schedule_expiry(db, db.now()).await?;
    Ok(messaging)
}

/// Appointments over `db`, with their message templates installed.
pub(crate) async fn appointments(
    settings: &Settings,
    db: &Db,
    identity: &Arc<Identity>,
    messaging: &Messaging,
) -> anyhow::Result<Booking> {
    let booking = Booking::new(
        db.clone(),
        identity.clone(),
        messaging.clone(),
        WorkingCalendar::official(),
        settings.booking.clone(),
    )?;
    booking.prepare().await?;
    Ok(booking)
}

/// Opens the database the settings name and brings its schema up to date.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Db> {
    let mut options = DbOptions::new(settings.database_url(), settings.data_dir.clone());
    options.max_connections = settings.database_max_connections;
    let db = Db::connect(&options).await?;
    db.migrate().await?;
    Ok(db)
}
