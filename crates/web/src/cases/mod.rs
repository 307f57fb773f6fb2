//! Cases over HTTP: the unified serial number service for other systems, the staff workbench
//! and 电子监察, workflow configuration, the progress query and 我的办件.

pub(crate) mod progress;
pub(crate) mod serials;
pub(crate) mod supervision;
pub(crate) mod workbench;

use crate::AppError;
use axum::http::StatusCode;
use govhall_cases::CaseError;
use govhall_core::Coded as _;

impl From<CaseError> for AppError {
    fn from(e: CaseError) -> Self {
        let status = match &e {
            CaseError::Invalid(v) if v.code() == "serial_numbers_exhausted" => StatusCode::CONFLICT,
            CaseError::Invalid(_) => StatusCode::BAD_REQUEST,
            CaseError::Db(db) if db.code() == "database_busy" => StatusCode::SERVICE_UNAVAILABLE,
            CaseError::Db(_) | CaseError::Internal(_) => return AppError::internal(e),
            CaseError::NotFound | CaseError::ProgressNotFound => StatusCode::NOT_FOUND,
            CaseError::Forbidden(_) => StatusCode::FORBIDDEN,
            CaseError::IllegalTransition(_) | CaseError::Stale => StatusCode::CONFLICT,
            CaseError::ProgressLocked(_) | CaseError::ProgressThrottled => StatusCode::TOO_MANY_REQUESTS,
            CaseError::ItemUnavailable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CaseError::NoteRequired(_)
            | CaseError::InvalidWorkflow(_)
            | CaseError::InvalidFile(_)
            | CaseError::InvalidInput(_) => StatusCode::BAD_REQUEST,
        };
        AppError::coded(status, &e)
    }
}
