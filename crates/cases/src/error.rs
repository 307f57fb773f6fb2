//! Errors of cases, each with a stable code and a Chinese message.

use govhall_core::{Coded, ValueError};
use govhall_db::DbError;
use thiserror::Error;

/// What can go wrong issuing numbers or handling cases.
#[derive(Debug, Error)]
pub enum CaseError {
    /// A value (a serial number, an idempotency key) is not valid.
    #[error("{}", .0.message())]
    Invalid(ValueError),
    /// No such case, or not one the viewer may see (the two answer alike).
    #[error("办件不存在或您无权查看")]
    NotFound,
    /// The viewer may see the case but not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// The workflow has no such move from the current step.
    #[error("{0}")]
    IllegalTransition(String),
    /// The move needs a reason.
    #[error("请填写“{0}”的理由或说明")]
    NoteRequired(String),
    /// Someone else changed the case since the form was shown.
    #[error("办件已被他人更新，请刷新页面后重试")]
    Stale,
    /// A workflow definition cannot be followed.
    #[error("{0}")]
    InvalidWorkflow(String),
    /// The item cannot take applications.
    #[error("{0}")]
    ItemUnavailable(String),
    /// Serial number and query password do not match a case.
    #[error("申办编号或查询密码不正确，请核对后重试")]
    ProgressNotFound,
    /// Too many wrong passwords for this serial number.
    #[error("该申办编号查询失败次数过多，已暂停查询，请 {0} 分钟后再试")]
    ProgressLocked(i64),
    /// Too many failed look-ups from this client.
    #[error("查询过于频繁，请稍后再试")]
    ProgressThrottled,
    /// An attachment was refused.
    #[error("{0}")]
    InvalidFile(String),
    /// A note or field is malformed.
    #[error("{0}")]
    InvalidInput(String),
    /// Something that should not happen.
    #[error("内部错误：{0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<ValueError> for CaseError {
    fn from(e: ValueError) -> Self {
        CaseError::Invalid(e)
    }
}

impl From<govhall_db::sqlx::Error> for CaseError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        CaseError::Db(DbError::from(e))
    }
}

impl From<govhall_identity::IdentityError> for CaseError {
    fn from(e: govhall_identity::IdentityError) -> Self {
        match e {
            govhall_identity::IdentityError::Db(db) => CaseError::Db(db),
            other => CaseError::Internal(other.to_string()),
        }
    }
}

impl From<govhall_messaging::MessagingError> for CaseError {
    fn from(e: govhall_messaging::MessagingError) -> Self {
        match e {
            govhall_messaging::MessagingError::Db(db) => CaseError::Db(db),
            other => CaseError::Internal(other.to_string()),
        }
    }
}

impl Coded for CaseError {
    fn code(&self) -> &'static str {
        match self {
            CaseError::Invalid(e) => e.code(),
            CaseError::NotFound => "case_not_found",
            CaseError::Forbidden(_) => "case_forbidden",
            CaseError::IllegalTransition(_) => "illegal_transition",
            CaseError::NoteRequired(_) => "note_required",
            CaseError::Stale => "case_changed",
            CaseError::InvalidWorkflow(_) => "invalid_workflow",
            CaseError::ItemUnavailable(_) => "item_unavailable",
            CaseError::ProgressNotFound => "progress_not_found",
            CaseError::ProgressLocked(_) => "progress_locked",
            CaseError::ProgressThrottled => "progress_throttled",
            CaseError::InvalidFile(_) => "invalid_attachment",
            CaseError::InvalidInput(_) => "invalid_input",
            CaseError::Internal(_) => "internal_error",
            CaseError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            CaseError::Invalid(e) => e.message(),
            CaseError::Db(e) => e.message(),
            other => other.to_string(),
        }
    }
}
