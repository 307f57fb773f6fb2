//! Online applications (在线申报) on the web and in the API: the self-check, the task list,
//! the form a section at a time, materials, check answers, submission, the printouts; the
//! editors' form designer lives in `admin::forms`.

pub(crate) mod api;
pub(crate) mod confirm;
pub(crate) mod fields;
pub(crate) mod pages;
pub(crate) mod uploads;

use crate::AppError;
use axum::http::StatusCode;
use govhall_applications::ApplicationError;

impl From<ApplicationError> for AppError {
    fn from(e: ApplicationError) -> Self {
        let status = match &e {
            ApplicationError::NotFound => StatusCode::NOT_FOUND,
            ApplicationError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApplicationError::ItemUnavailable(_) | ApplicationError::Submitted | ApplicationError::Changed => {
                StatusCode::CONFLICT
            }
            ApplicationError::MaterialNotFound => StatusCode::NOT_FOUND,
            ApplicationError::TooManyFiles(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApplicationError::Answers(_) | ApplicationError::Materials(_) | ApplicationError::InvalidInput(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApplicationError::File(f) => match f {
                govhall_files::FileError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                govhall_files::FileError::ScannerUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                govhall_files::FileError::Io(_) => return AppError::internal(e),
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            ApplicationError::Print(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApplicationError::Case(_) => {
                let ApplicationError::Case(c) = e else { unreachable!("matched above") };
                return AppError::from(c);
            }
            ApplicationError::Db(_) | ApplicationError::Internal(_) => return AppError::internal(e),
        };
        let code = e.code();
        AppError::new(status, code, e.to_string())
    }
}
