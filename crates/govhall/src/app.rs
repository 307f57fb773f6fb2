//! Wiring: the application a node runs, buildable in tests.

use crate::config::Settings;
pub use crate::domains::{
    COURIER_SANDBOX_PREFIX, Domains, SANDBOX_PREFIX, courier_sandbox_secret, exchange_for_cli, identity,
    identity_for_cli, job_registry, licence_key_path, licences_for_cli, open_database, public_url, sandbox_secret,
};
use crate::domains::{
    appointments, case_engine, exchange, feedback, licences, logistics, message_center, online_applications, payments,
};
use govhall_applications::Applications;
use govhall_booking::Booking;
use govhall_cases::Cases;
use govhall_catalog::Catalog;
use govhall_core::WorkingCalendar;
use govhall_db::Db;
use govhall_db::changes::{ChangeFollower, StartAt};
use govhall_db::housekeeping;
use govhall_db::jobs::Worker;
use govhall_exchange::Exchange;
use govhall_feedback::Feedback;
use govhall_identity::Identity;
use govhall_licences::Licences;
use govhall_logistics::Logistics;
use govhall_messaging::Messaging;
use govhall_payments::Payments;
use govhall_search::Search;
use govhall_web::{AppContext, AppState, Metrics};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running node: web server, change follower and, unless turned off, the job worker.
#[derive(Debug)]
pub struct App {
    addr: SocketAddr,
    db: Db,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    worker: Option<JoinHandle<()>>,
    identity: Arc<Identity>,
    messaging: Messaging,
    catalog: Catalog,
    cases: Cases,
    booking: Booking,
    applications: Applications,
    payments: Payments,
    licences: Licences,
    logistics: Logistics,
    feedback: Feedback,
    exchange: Exchange,
}

impl App {
    /// Opens and migrates the database, starts the node's background tasks and binds the
    /// listener (port 0 picks a free port: see [`App::addr`]).
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        let db = open_database(&settings).await?;
        // Bind before starting anything, so that a taken port leaves nothing running.
        let listener = match tokio::net::TcpListener::bind(&settings.bind).await {
            Ok(listener) => listener,
            Err(e) => {
                db.close().await;
                return Err(
                    anyhow::Error::new(e).context(format!("无法监听地址 {}（端口可能已被占用）", settings.bind))
                );
            }
        };
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let public = public_url(&settings, addr);
        match Self::start_tasks(&settings, &db, &shutdown, &public).await {
            Ok((state, worker)) => {
                let identity = state.identity.clone();
                let messaging = state.messaging.clone();
                let catalog = state.catalog.clone();
                let cases = state.cases.clone();
                let booking = state.booking.clone();
                let applications = state.applications.clone();
                let payments = state.payments.clone();
                let licences = state.licences.clone();
                let logistics = state.logistics.clone();
                let feedback = state.feedback.clone();
                let exchange = state.exchange.clone();
                let mut router = govhall_web::router(state);
                if settings.logistics.uses_sandbox() {
                    // No courier configured: the sandbox courier serves trials from this node.
                    let sandbox = govhall_web::sandbox_courier::SandboxCourier::new(
                        govhall_messaging::signed::Signer::HmacSm3(courier_sandbox_secret(&identity)),
                        Some(&public),
                    );
                    router = router.nest(COURIER_SANDBOX_PREFIX, sandbox.router());
                    tracing::warn!("no courier configured: shipments go to the built-in sandbox courier");
                }
                if settings.payments.gateway_url.trim().is_empty() {
                    // No gateway configured: the sandbox serves trials from this node.
                    let sandbox = govhall_web::sandbox_gateway::SandboxGateway::with_signer(
                        govhall_payments::gateway::protocol::Signer::HmacSm3(sandbox_secret(&identity)),
                        &format!("{public}{SANDBOX_PREFIX}"),
                        Some(&public),
                    );
                    router = router.nest(SANDBOX_PREFIX, sandbox.router());
                    tracing::warn!("no payment gateway configured: payments go to the built-in sandbox gateway");
                }
                let stop = shutdown.clone();
                let server = tokio::spawn(async move {
                    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                        .with_graceful_shutdown(async move { stop.cancelled().await })
                        .await
                });
                tracing::info!(url = %format!("http://{addr}"), backend = db.backend().name(), "GovHall is serving");
                Ok(App {
                    addr,
                    db,
                    shutdown,
                    server,
                    worker,
                    identity,
                    messaging,
                    catalog,
                    cases,
                    booking,
                    applications,
                    payments,
                    licences,
                    logistics,
                    feedback,
                    exchange,
                })
            }
            Err(e) => {
                shutdown.cancel();
                db.close().await;
                Err(e)
            }
        }
    }

    /// The change follower, the LISTEN task and the worker; the web state over them.
    async fn start_tasks(
        settings: &Settings,
        db: &Db,
        shutdown: &CancellationToken,
        public_url: &str,
    ) -> anyhow::Result<(AppState, Option<JoinHandle<()>>)> {
        settings.web.check().map_err(anyhow::Error::msg)?;
        let messaging = message_center(settings, db).await?;
        let identity = identity(settings, db, &messaging).await?;
        let changes = ChangeFollower::new(db.clone(), StartAt::Latest).await?;
        let catalog = Catalog::new(db.clone(), &changes);
        catalog.prepare(settings.catalog.import_on_start).await?;
        let search = Search::open(db.clone(), &settings.search, &settings.data_dir, changes.position()).await?;
        let cases = case_engine(settings, db, &identity, &messaging, &catalog).await?;
        let booking = appointments(settings, db, &identity, &messaging).await?;
        let licences = licences(settings, db, &identity, &messaging, &cases, public_url).await?;
        let applications =
            online_applications(settings, db, &identity, &messaging, &catalog, &cases, &licences).await?;
        let payments = payments(settings, db, &identity, &messaging, &cases, public_url).await?;
        let services = govhall_logistics::Services {
            identity: identity.clone(),
            messaging: messaging.clone(),
            catalog: catalog.clone(),
            cases: cases.clone(),
        };
        let logistics = logistics(settings, db, services, public_url).await?;
        let feedback = feedback(settings, db, &identity, &messaging, &cases, public_url).await?;
        let exchange = exchange(settings, db, &identity, &messaging, &cases, &licences, &applications)?;
        exchange.prepare().await?;
        search.follow(&changes, shutdown.clone());
        // Subscribers (caches, the search index) subscribe here, before the follower runs.
        changes.run(Duration::from_secs(2), shutdown.clone());
        db.spawn_listener(shutdown.clone());
        let worker = if settings.run_worker {
            housekeeping::schedule(db, db.now()).await?;
            govhall_cases::sweep::schedule(db, db.now()).await?;
            govhall_audit::schedule(db, db.now()).await?;
            govhall_applications::purge::schedule(db, db.now()).await?;
            govhall_payments::reconcile::schedule(db, govhall_payments::reconcile::next_run(db.now())).await?;
            govhall_feedback::sweep::schedule(db, db.now()).await?;
            govhall_exchange::sweep::schedule(db, db.now()).await?;
            govhall_exchange::front_db::schedule(db, db.now()).await?;
            let domains = Domains {
                cases: &cases,
                applications: &applications,
                payments: &payments,
                licences: &licences,
                logistics: &logistics,
                feedback: &feedback,
                exchange: &exchange,
            };
            let registry = job_registry(settings, &identity, &messaging, domains);
            let worker = Worker::new(db.clone(), registry, settings.jobs.clone());
            Some(tokio::spawn(worker.run(shutdown.clone())))
        } else {
            None
        };
        let state = AppState(Arc::new(AppContext {
            db: db.clone(),
            site: settings.site.clone(),
            web: settings.web.clone(),
            calendar: WorkingCalendar::official(),
            metrics: Metrics::default(),
            changes,
            messaging,
            identity,
            catalog,
            search,
            cases,
            booking,
            applications,
            payments,
            licences,
            logistics,
            feedback,
            exchange,
        }));
        Ok((state, worker))
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The node's database handle.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The node's message center.
    pub fn messaging(&self) -> &Messaging {
        &self.messaging
    }

    /// The node's identity services.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The node's catalogue (with its cache of published guides).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The node's case engine.
    pub fn cases(&self) -> &Cases {
        &self.cases
    }

    /// The node's appointments.
    pub fn booking(&self) -> &Booking {
        &self.booking
    }

    /// The node's online applications.
    pub fn applications(&self) -> &Applications {
        &self.applications
    }

    /// The node's payments.
    pub fn payments(&self) -> &Payments {
        &self.payments
    }

    /// The node's licence registry.
    pub fn licences(&self) -> &Licences {
        &self.licences
    }

    /// The node's logistics.
    pub fn logistics(&self) -> &Logistics {
        &self.logistics
    }

    /// The node's 好差评.
    pub fn feedback(&self) -> &Feedback {
        &self.feedback
    }

    /// The node's exchange with department systems.
    pub fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    /// A token that stops the node when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting requests, lets running requests and jobs finish, closes the database.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let served = self.server.await;
        if let Some(worker) = self.worker {
            worker.await?;
        }
        self.db.close().await;
        served??;
        Ok(())
    }
}

/// Runs the worker alone until `shutdown` (`govhall worker`).
pub async fn run_worker(settings: &Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let messaging = message_center(settings, &db).await?;
    let identity = identity(settings, &db, &messaging).await?;
    // The worker's jobs read published guides through the catalogue's cache, kept current here too.
    let changes = ChangeFollower::new(db.clone(), StartAt::Latest).await?;
    let catalog = Catalog::new(db.clone(), &changes);
    let cases = case_engine(settings, &db, &identity, &messaging, &catalog).await?;
    // A worker alone has no listener: the gateway reaches the hall at the configured address.
    let bind = settings.bind.parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let public = public_url(settings, bind);
    let licences = licences(settings, &db, &identity, &messaging, &cases, &public).await?;
    let applications = online_applications(settings, &db, &identity, &messaging, &catalog, &cases, &licences).await?;
    let payments = payments(settings, &db, &identity, &messaging, &cases, &public).await?;
    let services = govhall_logistics::Services {
        identity: identity.clone(),
        messaging: messaging.clone(),
        catalog: catalog.clone(),
        cases: cases.clone(),
    };
    let logistics = logistics(settings, &db, services, &public).await?;
    let feedback = feedback(settings, &db, &identity, &messaging, &cases, &public).await?;
    let exchange = exchange(settings, &db, &identity, &messaging, &cases, &licences, &applications)?;
    exchange.prepare().await?;
    changes.run(Duration::from_secs(2), shutdown.clone());
    db.spawn_listener(shutdown.clone());
    housekeeping::schedule(&db, db.now()).await?;
    govhall_cases::sweep::schedule(&db, db.now()).await?;
    govhall_audit::schedule(&db, db.now()).await?;
    govhall_applications::purge::schedule(&db, db.now()).await?;
    govhall_payments::reconcile::schedule(&db, govhall_payments::reconcile::next_run(db.now())).await?;
    govhall_feedback::sweep::schedule(&db, db.now()).await?;
    govhall_exchange::sweep::schedule(&db, db.now()).await?;
    govhall_exchange::front_db::schedule(&db, db.now()).await?;
    let domains = Domains {
        cases: &cases,
        applications: &applications,
        payments: &payments,
        licences: &licences,
        logistics: &logistics,
        feedback: &feedback,
        exchange: &exchange,
    };
    let registry = job_registry(settings, &identity, &messaging, domains);
    Worker::new(db.clone(), registry, settings.jobs.clone()).run(shutdown).await;
    db.close().await;
    Ok(())
}
