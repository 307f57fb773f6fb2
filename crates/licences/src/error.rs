//! Errors of the licence registry, each with a stable code and a Chinese message.

use govhall_core::Coded;
use govhall_db::DbError;
use thiserror::Error;

/// What can go wrong with licences.
#[derive(Debug, Error)]
pub enum LicenceError {
    /// No such licence (or not the viewer's).
    #[error("电子证照不存在")]
    NotFound,
    /// The licence cannot do this in its state.
    #[error("{0}")]
    WrongState(String),
    /// The viewer may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Something typed is not valid.
    #[error("{0}")]
    Invalid(String),
    /// A licence type file that cannot be imported; says where and what.
    #[error("证照类型文件有误：{0}")]
    BadTypeFile(String),
    /// The signing key cannot be read or made.
    #[error("证照签名密钥有误：{0}")]
    Key(String),
    /// The case engine refused (the move the licence comes with).
    #[error(transparent)]
    Case(govhall_cases::CaseError),
    /// Something that should not happen.
    #[error("内部错误：{0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<govhall_db::sqlx::Error> for LicenceError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        LicenceError::Db(DbError::from(e))
    }
}

impl From<govhall_messaging::MessagingError> for LicenceError {
    fn from(e: govhall_messaging::MessagingError) -> Self {
        match e {
            govhall_messaging::MessagingError::Db(db) => LicenceError::Db(db),
            other => LicenceError::Internal(other.to_string()),
        }
    }
}

impl From<govhall_cases::CaseError> for LicenceError {
    fn from(e: govhall_cases::CaseError) -> Self {
        match e {
            govhall_cases::CaseError::Db(db) => LicenceError::Db(db),
            other => LicenceError::Case(other),
        }
    }
}

impl From<govhall_identity::IdentityError> for LicenceError {
    fn from(e: govhall_identity::IdentityError) -> Self {
        match e {
            govhall_identity::IdentityError::Db(db) => LicenceError::Db(db),
            other => LicenceError::Internal(Coded::message(&other)),
        }
    }
}

impl Coded for LicenceError {
    fn code(&self) -> &'static str {
        match self {
            LicenceError::NotFound => "licence_not_found",
            LicenceError::WrongState(_) => "licence_state",
            LicenceError::Forbidden(_) => "licence_forbidden",
            LicenceError::Invalid(_) => "invalid_input",
            LicenceError::BadTypeFile(_) => "invalid_licence_type_file",
            LicenceError::Key(_) => "licence_key",
            LicenceError::Internal(_) => "internal_error",
            LicenceError::Case(e) => e.code(),
            LicenceError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            LicenceError::Db(e) => e.message(),
            LicenceError::Case(e) => e.message(),
            other => other.to_string(),
        }
    }
}
