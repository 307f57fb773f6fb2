//! Starting the real application for a test, on the backend the test run targets.

#![allow(dead_code, reason = "each test file uses a part of these helpers")]

use govhall::{App, Settings};
use govhall_db::testing::TestDatabase;

/// A running app on a fresh database, and a client for it.
pub struct TestApp {
    pub app: App,
    pub db: TestDatabase,
    pub client: reqwest::Client,
}

impl TestApp {
    /// Starts the app on port 0 with a fresh database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with settings changed by `change`.
    pub async fn spawn_with(change: impl FnOnce(&mut Settings)) -> TestApp {
        let db = TestDatabase::new().await;
        let mut settings = settings(&db);
        change(&mut settings);
        let app = App::build(settings).await.expect("app starts");
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp { app, db, client }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.url())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    pub async fn stop(self) {
        self.app.stop().await.expect("stops cleanly");
        self.db.cleanup().await;
    }
}

/// Settings for a test node: port 0, the test database, quick polling.
pub fn settings(db: &TestDatabase) -> Settings {
    let mut settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        data_dir: db.data_dir(),
        database_url: db.database_url.clone().map(govhall::config::DatabaseUrl::new),
        ..Settings::default()
    };
    settings.jobs.poll_interval_ms = 50;
    settings
}
