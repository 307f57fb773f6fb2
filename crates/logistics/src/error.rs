//! Errors of logistics, each with a stable code and a Chinese message.

use govhall_core::Coded;
use govhall_db::DbError;
use thiserror::Error;

/// What can go wrong with shipments.
#[derive(Debug, Error)]
pub enum LogisticsError {
    /// No such shipment or case (or not the viewer's).
    #[error("快件不存在")]
    NotFound,
    /// The case or shipment cannot do this now.
    #[error("{0}")]
    WrongState(String),
    /// Something typed is not valid.
    #[error("{0}")]
    Invalid(String),
    /// A courier message whose signature does not verify.
    #[error("签名无效")]
    BadSignature,
    /// A courier message that cannot be read or does not fit.
    #[error("快递消息有误：{0}")]
    BadMessage(String),
    /// A tracking message for a waybill the hall never sent.
    #[error("运单号不存在")]
    UnknownWaybill,
    /// The courier cannot be reached or refused.
    #[error("快递公司暂时无法处理：{0}")]
    Courier(String),
    /// The case engine refused (the viewer may not send this case's result).
    #[error(transparent)]
    Case(govhall_cases::CaseError),
    /// Something that should not happen.
    #[error("内部错误：{0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<govhall_db::sqlx::Error> for LogisticsError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        LogisticsError::Db(DbError::from(e))
    }
}

impl From<govhall_messaging::MessagingError> for LogisticsError {
    fn from(e: govhall_messaging::MessagingError) -> Self {
        match e {
            govhall_messaging::MessagingError::Db(db) => LogisticsError::Db(db),
            other => LogisticsError::Internal(other.to_string()),
        }
    }
}

impl From<govhall_cases::CaseError> for LogisticsError {
    fn from(e: govhall_cases::CaseError) -> Self {
        match e {
            govhall_cases::CaseError::Db(db) => LogisticsError::Db(db),
            govhall_cases::CaseError::NotFound => LogisticsError::NotFound,
            other => LogisticsError::Case(other),
        }
    }
}

impl From<govhall_identity::IdentityError> for LogisticsError {
    fn from(e: govhall_identity::IdentityError) -> Self {
        match e {
            govhall_identity::IdentityError::Db(db) => LogisticsError::Db(db),
            other => LogisticsError::Internal(Coded::message(&other)),
        }
    }
}

impl From<govhall_catalog::CatalogError> for LogisticsError {
    fn from(e: govhall_catalog::CatalogError) -> Self {
        match e {
            govhall_catalog::CatalogError::Db(db) => LogisticsError::Db(db),
            other => LogisticsError::Internal(Coded::message(&other)),
        }
    }
}

impl Coded for LogisticsError {
    fn code(&self) -> &'static str {
        match self {
            LogisticsError::NotFound => "shipment_not_found",
            LogisticsError::WrongState(_) => "shipment_state",
            LogisticsError::Invalid(_) => "invalid_input",
            LogisticsError::BadSignature => "bad_signature",
            LogisticsError::BadMessage(_) => "bad_message",
            LogisticsError::UnknownWaybill => "unknown_waybill",
            LogisticsError::Courier(_) => "courier_unavailable",
            LogisticsError::Case(e) => e.code(),
            LogisticsError::Internal(_) => "internal_error",
            LogisticsError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            LogisticsError::Db(e) => e.message(),
            LogisticsError::Case(e) => e.message(),
            other => other.to_string(),
        }
    }
}
