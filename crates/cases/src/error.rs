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

impl Coded for CaseError {
    fn code(&self) -> &'static str {
        match self {
            CaseError::Invalid(e) => e.code(),
            CaseError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            CaseError::Invalid(e) => e.message(),
            CaseError::Db(e) => e.message(),
        }
    }
}
