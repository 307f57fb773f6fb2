//! Fresh databases for tests: a SQLite file in a temporary folder, or, when
//! `TEST_DATABASE_URL` names a PostgreSQL database, a new schema in it.
//!
//! The test command runs the whole suite once per backend by setting or clearing that variable.

use crate::{Db, DbError, DbOptions};
use sqlx::Connection;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The variable that points tests at PostgreSQL.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// A fresh, empty database location for one test; removed when dropped (SQLite) or left as a
/// uniquely named schema (PostgreSQL, dropped by [`TestDatabase::cleanup`]).
#[derive(Debug)]
pub struct TestDatabase {
    /// `None` for SQLite in [`TestDatabase::data_dir`], or the PostgreSQL URL of the schema.
    pub database_url: Option<String>,
    dir: TempDir,
    schema: Option<(String, String)>,
}

impl TestDatabase {
    /// A new location on the backend the test run targets. Panics when PostgreSQL was asked
    /// for and does not answer: a test run meant for PostgreSQL must not quietly use SQLite.
    pub async fn new() -> TestDatabase {
        let dir =
            tempfile::Builder::new().prefix("govhall-test-").tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        match std::env::var(TEST_DATABASE_URL).ok().filter(|u| !u.is_empty()) {
            None => TestDatabase { database_url: None, dir, schema: None },
            Some(base) => {
                let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
                let mut conn = sqlx::PgConnection::connect(&base)
                    .await
                    .unwrap_or_else(|e| panic!("{TEST_DATABASE_URL}={base} does not answer: {e}"));
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("create schema: {e}"));
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                TestDatabase { database_url: Some(url), dir, schema: Some((base, schema)) }
            }
        }
    }

    /// A data folder for the test (the SQLite database lives here).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The temporary folder itself, for other files a test needs.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Options that open this location.
    pub fn options(&self) -> DbOptions {
        DbOptions::new(self.database_url.clone(), self.data_dir())
    }

    /// Opens and migrates it.
    pub async fn open(&self) -> Result<Db, DbError> {
        let db = Db::connect(&self.options()).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Drops the PostgreSQL schema (SQLite files go with the folder).
    pub async fn cleanup(self) {
        if let Some((base, schema)) = &self.schema
            && let Ok(mut conn) = sqlx::PgConnection::connect(base).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).execute(&mut conn).await;
        }
    }
}
