//! Online applications (在线申报) on the web and in the API: the self-check, the task list,
//! the form a section at a time, materials, check answers, submission, the printouts; the
//! editors' form designer lives in `admin::forms`.

pub(crate) mod api;
pub(crate) mod confirm;
pub(crate) mod fields;
pub(crate) mod licence_api;
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
            ApplicationError::MaterialNotFound | ApplicationError::LibraryNotFound => StatusCode::NOT_FOUND,
            ApplicationError::Quota(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApplicationError::MaterialInUse(_) => StatusCode::CONFLICT,
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

/// The routes of online applications, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Permission as Needs, Public, SignedIn};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{delete, get, post};
    use govhall_identity::Permission as P;
    vec![
        // Online applications: the self-check and the form are public, applying needs an account.
        r(M::GET, "/items/{code}/check", Public, get(crate::applications::pages::self_check_form)),
        r(M::POST, "/items/{code}/check", Public, post(crate::applications::pages::self_check)),
        r(M::GET, "/items/{code}/apply", Public, get(crate::applications::pages::start_form)),
        r(M::POST, "/items/{code}/apply", SignedIn, post(crate::applications::pages::start)),
        r(M::GET, "/applications/{id}", SignedIn, get(crate::applications::pages::tasks)),
        r(M::GET, "/applications/{id}/sections/{key}", SignedIn, get(crate::applications::pages::section_form)),
        r(M::POST, "/applications/{id}/sections/{key}", SignedIn, post(crate::applications::pages::section_save)),
        r(M::GET, "/applications/{id}/materials", SignedIn, get(crate::applications::uploads::materials)),
        r(M::POST, "/applications/{id}/materials/{slot}", SignedIn, post(crate::applications::uploads::upload)),
        r(
            M::POST,
            "/applications/{id}/materials/{slot}/licence",
            SignedIn,
            post(crate::applications::uploads::use_licence),
        ),
        r(
            M::POST,
            "/applications/{id}/materials/{slot}/licence/delete",
            SignedIn,
            post(crate::applications::uploads::drop_licence),
        ),
        r(M::POST, "/applications/{id}/files/{file}/delete", SignedIn, post(crate::applications::uploads::delete_file)),
        r(M::GET, "/applications/{id}/files/{file}", SignedIn, get(crate::applications::uploads::download)),
        r(M::GET, "/applications/{id}/check", SignedIn, get(crate::applications::confirm::check)),
        r(M::POST, "/applications/{id}/submit", SignedIn, post(crate::applications::confirm::submit)),
        r(M::GET, "/applications/{id}/done", SignedIn, get(crate::applications::confirm::done)),
        r(M::POST, "/applications/{id}/discard", SignedIn, post(crate::applications::confirm::discard)),
        r(M::GET, "/applications/{id}/print.pdf", SignedIn, get(crate::applications::confirm::print_form)),
        r(M::GET, "/applications/{id}/receipt.pdf", SignedIn, get(crate::applications::confirm::receipt)),
        r(M::POST, "/applications/{id}/receipt.pdf", SignedIn, post(crate::applications::confirm::receipt)),
        r(M::GET, "/api/v1/items/{code}/application-form", Public, get(crate::applications::api::item_form)),
        r(M::POST, "/api/v1/items/{code}/self-checks", Public, post(crate::applications::api::self_check)),
        r(M::POST, "/api/v1/applications", SignedIn, post(crate::applications::api::start)),
        r(M::GET, "/api/v1/applications", SignedIn, get(crate::applications::api::drafts)),
        r(M::GET, "/api/v1/applications/{id}", SignedIn, get(crate::applications::api::one)),
        r(M::DELETE, "/api/v1/applications/{id}", SignedIn, delete(crate::applications::api::discard)),
        r(M::POST, "/api/v1/applications/{id}/answers", SignedIn, post(crate::applications::api::save)),
        r(
            M::POST,
            "/api/v1/applications/{id}/materials/{slot}/files",
            SignedIn,
            post(crate::applications::api::upload),
        ),
        r(M::GET, "/api/v1/applications/{id}/files/{file}", SignedIn, get(crate::applications::api::download)),
        r(
            M::GET,
            "/api/v1/applications/{id}/materials/{slot}/licences",
            SignedIn,
            get(crate::applications::licence_api::usable),
        ),
        r(
            M::POST,
            "/api/v1/applications/{id}/materials/{slot}/licence",
            SignedIn,
            post(crate::applications::licence_api::use_one),
        ),
        r(
            M::DELETE,
            "/api/v1/applications/{id}/materials/{slot}/licence",
            SignedIn,
            delete(crate::applications::licence_api::drop_one),
        ),
        r(M::DELETE, "/api/v1/applications/{id}/files/{file}", SignedIn, delete(crate::applications::api::delete_file)),
        r(M::POST, "/api/v1/applications/{id}/submission", SignedIn, post(crate::applications::api::submit)),
        r(
            M::GET,
            "/admin/cases/{id}/materials/{file}",
            Needs(P::CaseView),
            get(crate::applications::uploads::case_material),
        ),
        r(
            M::GET,
            "/admin/cases/{id}/application.pdf",
            Needs(P::CaseView),
            get(crate::applications::uploads::case_printout),
        ),
    ]
}
