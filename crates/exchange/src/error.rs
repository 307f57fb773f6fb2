//! Errors of the exchange, each with a stable code (for the department's developers) and a
//! Chinese message.

use govhall_core::Coded;
use govhall_db::DbError;
use thiserror::Error;

/// Why a request of a department's system, or a change to a connection, was refused.
#[derive(Debug, Error)]
pub enum ExchangeError {
    /// No key, or a key the hall does not know or has turned off.
    #[error("{1}")]
    Unauthenticated(&'static str, String),
    /// The key works, but not for this (no exchange scope, another address, no connection).
    #[error("{1}")]
    Forbidden(&'static str, String),
    /// The signature is missing or does not verify, or its time is too far from the hall's.
    #[error("{1}")]
    BadSignature(&'static str, String),
    /// The nonce was used before: a replayed request.
    #[error("请求已被使用过（X-GovHall-Nonce 重复），重放的请求不予处理")]
    Replayed,
    /// The system called more often than its connection allows in a minute (the limit; whether
    /// this is the first call refused in the minute, the one the log records).
    #[error("该接入系统每分钟至多调用 {0} 次，请稍后再试")]
    RateLimited(u32, bool),
    /// The same idempotency key came with a different content.
    #[error("幂等键 {0} 已用于内容不同的另一条消息")]
    KeyReused(String),
    /// No such case among the department's, or no such connection.
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// Something given is not valid.
    #[error("{0}")]
    Invalid(String),
    /// The case engine refused the step (not possible now, a reason missing …).
    #[error(transparent)]
    Case(govhall_cases::CaseError),
    /// Issuing the licence with a grant failed.
    #[error("{0}")]
    Licence(String),
    /// A department's front database (前置库) could not be reached, read or written.
    #[error("前置库无法访问或读写失败：{0}")]
    FrontDb(String),
    /// Something that should not happen.
    #[error("内部错误：{0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<govhall_db::sqlx::Error> for ExchangeError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        ExchangeError::Db(DbError::from(e))
    }
}

impl From<govhall_cases::CaseError> for ExchangeError {
    fn from(e: govhall_cases::CaseError) -> Self {
        match e {
            govhall_cases::CaseError::Db(db) => ExchangeError::Db(db),
            govhall_cases::CaseError::NotFound => ExchangeError::NotFound("办件"),
            other => ExchangeError::Case(other),
        }
    }
}

impl From<govhall_licences::LicenceError> for ExchangeError {
    fn from(e: govhall_licences::LicenceError) -> Self {
        match e {
            govhall_licences::LicenceError::Case(c) => ExchangeError::from(c),
            govhall_licences::LicenceError::Db(db) => ExchangeError::Db(db),
            other => ExchangeError::Licence(Coded::message(&other)),
        }
    }
}

impl From<govhall_identity::IdentityError> for ExchangeError {
    fn from(e: govhall_identity::IdentityError) -> Self {
        match e {
            govhall_identity::IdentityError::Db(db) => ExchangeError::Db(db),
            govhall_identity::IdentityError::Invalid(v) => ExchangeError::Invalid(v.message()),
            other => ExchangeError::Internal(Coded::message(&other)),
        }
    }
}

impl From<govhall_messaging::MessagingError> for ExchangeError {
    fn from(e: govhall_messaging::MessagingError) -> Self {
        match e {
            govhall_messaging::MessagingError::Db(db) => ExchangeError::Db(db),
            other => ExchangeError::Internal(other.to_string()),
        }
    }
}

impl From<serde_json::Error> for ExchangeError {
    fn from(e: serde_json::Error) -> Self {
        ExchangeError::Internal(e.to_string())
    }
}

impl Coded for ExchangeError {
    fn code(&self) -> &'static str {
        match self {
            ExchangeError::Unauthenticated(code, _)
            | ExchangeError::Forbidden(code, _)
            | ExchangeError::BadSignature(code, _) => code,
            ExchangeError::Replayed => "replayed_nonce",
            ExchangeError::RateLimited(..) => "rate_limited",
            ExchangeError::KeyReused(_) => "idempotency_key_reused",
            ExchangeError::NotFound("办件") => "case_not_found",
            ExchangeError::NotFound(_) => "not_found",
            ExchangeError::Invalid(_) => "invalid_input",
            ExchangeError::Case(e) => e.code(),
            ExchangeError::Licence(_) => "licence_refused",
            ExchangeError::FrontDb(_) => "front_db_failed",
            ExchangeError::Internal(_) => "internal_error",
            ExchangeError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            ExchangeError::Db(e) => e.message(),
            ExchangeError::Case(e) => e.message(),
            other => other.to_string(),
        }
    }
}
