//! Errors of 好差评, each with a stable code and a Chinese message.

use govhall_core::Coded;
use govhall_db::DbError;
use thiserror::Error;

/// What can go wrong rating, answering, appealing or reporting.
#[derive(Debug, Error)]
pub enum FeedbackError {
    /// No such case, evaluation, task or appeal (or not the viewer's).
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// The case has been rated already, or the rating cannot be changed any more.
    #[error("{0}")]
    AlreadyRated(String),
    /// Too late: the rating period (or the change period) is over.
    #[error("{0}")]
    Expired(String),
    /// The case or the record cannot do this now.
    #[error("{0}")]
    WrongState(String),
    /// Something given is not valid.
    #[error("{0}")]
    Invalid(String),
    /// Asked too often (codes, look-ups): later.
    #[error("{0}")]
    TooMany(String),
    /// Asked often from this address or network: again with the answer to a challenge.
    #[error("{0}")]
    ChallengeRequired(String),
    /// More files than an action or a complaint may carry.
    #[error("{0}")]
    TooManyFiles(String),
    /// Signed in, but without the permission over the record.
    #[error("{0}")]
    Forbidden(String),
    /// The case engine refused.
    #[error(transparent)]
    Case(govhall_cases::CaseError),
    /// Something that should not happen.
    #[error("内部错误：{0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<govhall_db::sqlx::Error> for FeedbackError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        FeedbackError::Db(DbError::from(e))
    }
}

impl From<govhall_messaging::MessagingError> for FeedbackError {
    fn from(e: govhall_messaging::MessagingError) -> Self {
        match e {
            govhall_messaging::MessagingError::Db(db) => FeedbackError::Db(db),
            other => FeedbackError::Internal(other.to_string()),
        }
    }
}

impl From<govhall_cases::CaseError> for FeedbackError {
    fn from(e: govhall_cases::CaseError) -> Self {
        match e {
            govhall_cases::CaseError::Db(db) => FeedbackError::Db(db),
            govhall_cases::CaseError::NotFound => FeedbackError::NotFound("办件"),
            other => FeedbackError::Case(other),
        }
    }
}

impl From<govhall_identity::IdentityError> for FeedbackError {
    fn from(e: govhall_identity::IdentityError) -> Self {
        match e {
            govhall_identity::IdentityError::Db(db) => FeedbackError::Db(db),
            other => FeedbackError::Internal(Coded::message(&other)),
        }
    }
}

impl From<serde_json::Error> for FeedbackError {
    fn from(e: serde_json::Error) -> Self {
        FeedbackError::Internal(e.to_string())
    }
}

impl Coded for FeedbackError {
    fn code(&self) -> &'static str {
        match self {
            FeedbackError::NotFound("办件") => "case_not_found",
            FeedbackError::NotFound("投诉") => "complaint_not_found",
            FeedbackError::NotFound("文件") => "file_not_found",
            FeedbackError::NotFound(_) => "evaluation_not_found",
            FeedbackError::AlreadyRated(_) => "already_rated",
            FeedbackError::Expired(_) => "rating_period_over",
            FeedbackError::WrongState(_) => "evaluation_state",
            FeedbackError::Invalid(_) => "invalid_input",
            FeedbackError::TooManyFiles(_) => "too_many_files",
            FeedbackError::Forbidden(_) => "forbidden",
            FeedbackError::TooMany(_) => "too_many_requests",
            FeedbackError::ChallengeRequired(_) => "challenge_required",
            FeedbackError::Case(e) => e.code(),
            FeedbackError::Internal(_) => "internal_error",
            FeedbackError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            FeedbackError::Db(e) => e.message(),
            FeedbackError::Case(e) => e.message(),
            other => other.to_string(),
        }
    }
}
