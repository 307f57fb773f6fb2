//! What can go wrong with an application, each with a stable code and a Chinese message.

use govhall_catalog::form::FieldError;
use govhall_files::FileError;

/// An application error.
#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    /// No such application, or not the viewer's (the two answer alike).
    #[error("申报不存在或您无权查看")]
    NotFound,
    /// Not allowed (staff applying, not a member of the enterprise …).
    #[error("{0}")]
    Forbidden(String),
    /// The item takes no online applications.
    #[error("{0}")]
    ItemUnavailable(String),
    /// Already submitted; drafts only.
    #[error("该申报已提交，不能再修改")]
    Submitted,
    /// The draft changed while it was being submitted.
    #[error("申报内容刚刚有变化，请检查后再提交")]
    Changed,
    /// More files than a material takes.
    #[error("{0}")]
    TooManyFiles(String),
    /// No such material slot.
    #[error("该事项没有这项材料")]
    MaterialNotFound,
    /// Answers with problems, each beside its field.
    #[error("申请表有 {} 处需要修改", .0.len())]
    Answers(Vec<FieldError>),
    /// Materials missing or over the count.
    #[error("{0}")]
    Materials(String),
    /// A file was refused.
    #[error(transparent)]
    File(#[from] FileError),
    /// Malformed input.
    #[error("{0}")]
    InvalidInput(String),
    /// No such file in a library, or not one the viewer may open (the two answer alike).
    #[error("材料或材料库不存在，或您无权使用")]
    LibraryNotFound,
    /// The library is full.
    #[error("{0}")]
    Quota(String),
    /// A library file a case in progress was given.
    #[error("{0}")]
    MaterialInUse(String),
    /// A printout could not be made.
    #[error(transparent)]
    Print(#[from] govhall_print::PrintError),
    /// The case engine refused.
    #[error(transparent)]
    Case(#[from] govhall_cases::CaseError),
    /// The database.
    #[error(transparent)]
    Db(#[from] govhall_db::DbError),
    /// Something that should not happen.
    #[error("{0}")]
    Internal(String),
}

impl ApplicationError {
    /// The stable code programs see.
    pub fn code(&self) -> &'static str {
        match self {
            ApplicationError::NotFound => "application_not_found",
            ApplicationError::Forbidden(_) => "forbidden",
            ApplicationError::ItemUnavailable(_) => "item_unavailable",
            ApplicationError::Submitted => "application_submitted",
            ApplicationError::Changed => "application_changed",
            ApplicationError::TooManyFiles(_) => "too_many_files",
            ApplicationError::MaterialNotFound => "material_not_found",
            ApplicationError::Answers(_) => "answers_invalid",
            ApplicationError::Materials(_) => "materials_incomplete",
            ApplicationError::File(e) => e.code(),
            ApplicationError::InvalidInput(_) => "invalid_input",
            ApplicationError::LibraryNotFound => "library_material_not_found",
            ApplicationError::Quota(_) => "library_quota_exceeded",
            ApplicationError::MaterialInUse(_) => "library_material_in_use",
            ApplicationError::Print(e) => e.code(),
            ApplicationError::Case(_) => "case_refused",
            ApplicationError::Db(_) => "database_error",
            ApplicationError::Internal(_) => "internal_error",
        }
    }
}

impl From<govhall_identity::IdentityError> for ApplicationError {
    fn from(e: govhall_identity::IdentityError) -> Self {
        ApplicationError::Internal(e.to_string())
    }
}

impl From<govhall_catalog::CatalogError> for ApplicationError {
    fn from(e: govhall_catalog::CatalogError) -> Self {
        ApplicationError::Internal(e.to_string())
    }
}

impl From<govhall_db::sqlx::Error> for ApplicationError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        ApplicationError::Db(e.into())
    }
}
