//! Errors of search, each with a stable code and a Chinese message.

use govhall_core::Coded;
use govhall_db::DbError;
use thiserror::Error;

/// What can go wrong searching or editing what search knows.
#[derive(Debug, Error)]
pub enum SearchError {
    /// A filter, a synonym or a best bet is not valid; the message says which and why.
    #[error("{message}")]
    Invalid {
        /// The stable code (`invalid_filter`, `invalid_synonym` …).
        code: &'static str,
        /// In Chinese.
        message: String,
    },
    /// No such record.
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// The index failed (a damaged file, a panic of the library): the node makes it again.
    #[error("搜索索引出错：{0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index is being made again after a failure; searches are answered once it is ready.
    #[error("搜索正在重建索引，请稍后再试")]
    Rebuilding,
    /// Another running process holds the index folder.
    #[error("搜索索引 {0} 正被另一个运行中的进程使用")]
    Locked(String),
    /// The index folder cannot be used (not an index folder, not writable); the message says why.
    #[error("搜索索引文件夹不可用：{0}")]
    Folder(String),
    /// The catalogue failed.
    #[error(transparent)]
    Catalog(#[from] govhall_catalog::CatalogError),
    /// Identity failed (audit).
    #[error(transparent)]
    Identity(#[from] govhall_identity::IdentityError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl SearchError {
    /// An invalid input with its code and Chinese message.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> SearchError {
        SearchError::Invalid { code, message: message.into() }
    }

    /// Whether the index itself failed (and making it again is the cure), rather than the
    /// database or the input.
    pub(crate) fn is_index_failure(&self) -> bool {
        matches!(self, SearchError::Index(_))
    }
}

impl From<govhall_db::sqlx::Error> for SearchError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        SearchError::Db(DbError::from(e))
    }
}

impl Coded for SearchError {
    fn code(&self) -> &'static str {
        match self {
            SearchError::Invalid { code, .. } => code,
            SearchError::NotFound(_) => "not_found",
            SearchError::Index(_) => "search_index_failed",
            SearchError::Rebuilding => "search_rebuilding",
            SearchError::Locked(_) => "search_index_locked",
            SearchError::Folder(_) => "search_index_folder",
            SearchError::Catalog(e) => e.code(),
            SearchError::Identity(e) => e.code(),
            SearchError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            SearchError::Catalog(e) => e.message(),
            SearchError::Identity(e) => e.message(),
            SearchError::Db(e) => e.message(),
            other => other.to_string(),
        }
    }
}
