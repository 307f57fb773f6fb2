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
    /// The index on disk failed.
    #[error("搜索索引出错：{0}")]
    Index(#[from] tantivy::TantivyError),
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
