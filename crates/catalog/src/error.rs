//! Errors of the catalogue, each with a stable code and a Chinese message.

use govhall_core::Coded;
use govhall_db::DbError;
use thiserror::Error;

/// What can go wrong reading, importing or editing the catalogue.
#[derive(Debug, Error)]
pub enum CatalogError {
    /// A field of a guide, a filter or a mapping is not valid.
    #[error("{0}")]
    Invalid(String),
    /// No such record.
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// Outside the editor's or reviewer's rights.
    #[error("没有权限编辑或审核该部门的事项")]
    Forbidden,
    /// The version is not in a state that allows this.
    #[error("{0}")]
    WrongState(String),
    /// An import file that cannot be read at all.
    #[error("导入文件有误：{0}")]
    Import(String),
    /// Identity failed (departments, audit).
    #[error(transparent)]
    Identity(#[from] govhall_identity::IdentityError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<govhall_db::sqlx::Error> for CatalogError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        CatalogError::Db(DbError::from(e))
    }
}

impl Coded for CatalogError {
    fn code(&self) -> &'static str {
        match self {
            CatalogError::Invalid(_) => "invalid_item",
            CatalogError::NotFound(_) => "not_found",
            CatalogError::Forbidden => "forbidden",
            CatalogError::WrongState(_) => "item_wrong_state",
            CatalogError::Import(_) => "invalid_import",
            CatalogError::Identity(e) => e.code(),
            CatalogError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            CatalogError::Identity(e) => e.message(),
            CatalogError::Db(e) => e.message(),
            other => other.to_string(),
        }
    }
}
