//! A message center on a fresh database with a clock the test sets, a worker, and local peers.

#![allow(dead_code, reason = "each test file uses a part of these helpers")]

use chrono::{DateTime, TimeZone, Utc};
use govhall_core::ManualClock;
use govhall_db::Db;
use govhall_db::jobs::{JobRegistry, JobSettings, Worker};
use govhall_db::testing::TestDatabase;
use govhall_messaging::{
    Message, MessageStatus, Messaging, MessagingSettings, OutgoingMessage, Recipient, send, store,
};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// 10:00 on 27 November 2026 in China (02:00 UTC): outside quiet hours.
pub fn china(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    govhall_core::clock::CHINA.with_ymd_and_hms(2026, 11, day, hour, minute, 0).unwrap().with_timezone(&Utc)
}

pub struct Hall {
    pub t: TestDatabase,
    pub db: Db,
    pub clock: ManualClock,
    pub messaging: Messaging,
    shutdown: CancellationToken,
    worker: tokio::task::JoinHandle<()>,
}

impl Hall {
    pub async fn start(settings: MessagingSettings) -> Hall {
        Self::start_at(settings, china(27, 10, 0)).await
    }

    pub async fn start_at(settings: MessagingSettings, at: DateTime<Utc>) -> Hall {
        let t = TestDatabase::new().await;
        let clock = ManualClock::new(at);
        let mut options = t.options();
        options.clock = Arc::new(clock.clone());
        let db = Db::connect(&options).await.unwrap();
        db.migrate().await.unwrap();
        govhall_messaging::templates::install_defaults(&db).await.unwrap();
        let messaging = Messaging::new(settings).unwrap();
        let mut registry = JobRegistry::new();
        messaging.register_jobs(&mut registry);
        let jobs =
            JobSettings { backoff_base_secs: 0, backoff_max_secs: 0, poll_interval_ms: 20, ..JobSettings::default() };
        let shutdown = CancellationToken::new();
        let worker = tokio::spawn(Worker::new(db.clone(), registry, jobs).run(shutdown.clone()));
        Hall { t, db, clock, messaging, shutdown, worker }
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use govhall_core::Clock;
        self.clock.now()
    }

    /// Sends in its own transaction.
    pub async fn send(&self, message: OutgoingMessage) -> Uuid {
        let mut tx = self.db.begin().await.unwrap();
        let id = send(&mut tx, &self.messaging, message).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    pub async fn message(&self, id: Uuid) -> Message {
        let mut conn = self.db.conn().await.unwrap();
        store::get(&mut conn, id).await.unwrap().unwrap()
    }

    /// Waits (up to 20 s) until the message is in `status`.
    pub async fn wait_for(&self, id: Uuid, status: MessageStatus) -> Message {
        for _ in 0..2000 {
            let m = self.message(id).await;
            if m.status == status {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("message never reached {status:?}: {:?}", self.message(id).await);
    }

    /// Lets the worker run for a moment (for asserting that nothing happens).
    pub async fn settle(&self) {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    pub async fn template(&self, code: &str, channel: govhall_messaging::Channel, subject: &str, body: &str) {
        govhall_messaging::templates::create_version(
            &self.db,
            govhall_messaging::templates::NewTemplate {
                code: code.to_owned(),
                channel,
                subject: subject.to_owned(),
                body: body.to_owned(),
                note: String::new(),
                created_by: "test".to_owned(),
            },
            &govhall_audit::Actor::system("test"),
        )
        .await
        .unwrap();
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.worker.await.unwrap();
        self.db.close().await;
        self.t.cleanup().await;
    }
}

pub fn phone(p: &str) -> Recipient {
    Recipient::Phone(govhall_core::Phone::parse(p).unwrap())
}

/// A local HTTP server on port 0 running `router`; returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}
