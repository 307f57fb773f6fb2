//! Errors of the database layer.

use govhall_core::Coded;
use std::path::PathBuf;
use thiserror::Error;

/// What can go wrong opening or using the database.
#[derive(Debug, Error)]
pub enum DbError {
    /// `DATABASE_URL` is not a URL GovHall can use. Never falls back to another database.
    #[error("数据库地址 DATABASE_URL 无效：{0}")]
    InvalidUrl(String),
    /// Another process holds the SQLite data folder.
    #[error("数据目录 {0} 已被另一个 GovHall 进程使用：SQLite 模式只能运行一个节点，多节点部署请使用 PostgreSQL")]
    DataDirLocked(PathBuf),
    /// The data folder cannot be created or opened.
    #[error("无法使用数据目录 {path}：{source}")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A migration failed or the database holds a migration this binary does not know.
    #[error("数据库迁移失败：{0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("数据库错误：{0}")]
    Sqlx(#[from] sqlx::Error),
    /// No turn to write came within 30 seconds (SQLite).
    #[error("数据库繁忙，请稍后重试")]
    Busy,
    /// A stored value could not be read back (a JSON payload, say).
    #[error("数据格式错误：{0}")]
    Decode(String),
}

impl DbError {
    /// Whether the error says a unique constraint refused the row.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, DbError::Sqlx(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

impl Coded for DbError {
    fn code(&self) -> &'static str {
        match self {
            DbError::InvalidUrl(_) => "invalid_database_url",
            DbError::DataDirLocked(_) => "data_dir_locked",
            DbError::DataDir { .. } => "data_dir_unusable",
            DbError::Migrate(_) => "migration_failed",
            DbError::Busy => "database_busy",
            DbError::Sqlx(_) | DbError::Decode(_) => "database_error",
        }
    }

    fn message(&self) -> String {
        self.to_string()
    }
}
