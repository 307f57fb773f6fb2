//! Cases over HTTP: the unified serial number service for other systems, the staff workbench
//! and 电子监察, workflow configuration, the progress query and 我的办件, and 现场申报 at a
//! window (`intake.rs`).

pub(crate) mod intake;
pub(crate) mod progress;
pub(crate) mod projects;
pub(crate) mod serials;
pub(crate) mod statistics;
pub(crate) mod supervision;
pub(crate) mod supplements;
pub(crate) mod tasks;
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

/// The routes of the case engine (serial numbers, progress, the workbench, supervision), each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Permission as Needs, Public, SignedIn};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    vec![
        // Other systems, each with its own API key (checked by the handler, not a session).
        r(M::POST, "/api/v1/serial-numbers", Public, post(crate::cases::serials::issue)),
        r(M::GET, "/api/v1/serial-numbers/{number}", Public, get(crate::cases::serials::parse)),
        // Following a case by its number and query password (throttled by the engine).
        r(M::GET, "/progress", Public, get(crate::cases::progress::page)),
        r(M::POST, "/progress", Public, post(crate::cases::progress::query)),
        r(M::POST, "/api/v1/progress-queries", Public, post(crate::cases::progress::api_query)),
        r(M::GET, "/account/tasks", SignedIn, get(crate::cases::tasks::show)),
        // 现场申报: staff who review the department's cases take them in at a window.
        r(M::GET, "/admin/intake", Needs(P::CaseReview), get(crate::cases::intake::items)),
        r(M::POST, "/admin/intake/receipt", Needs(P::CaseReview), post(crate::cases::intake::receipt)),
        r(M::GET, "/admin/intake/{code}", Needs(P::CaseReview), get(crate::cases::intake::form)),
        r(M::POST, "/admin/intake/{code}", Needs(P::CaseReview), post(crate::cases::intake::register)),
        r(M::GET, "/api/v1/me/tasks", SignedIn, get(crate::cases::tasks::api)),
        r(M::GET, "/account/statistics", SignedIn, get(crate::cases::statistics::show)),
        r(M::GET, "/account/projects", SignedIn, get(crate::cases::projects::list)),
        r(M::POST, "/account/projects", SignedIn, post(crate::cases::projects::create)),
        r(M::GET, "/account/projects/{id}", SignedIn, get(crate::cases::projects::show)),
        r(M::POST, "/account/projects/{id}", SignedIn, post(crate::cases::projects::update)),
        r(M::POST, "/account/projects/{id}/cases", SignedIn, post(crate::cases::projects::add_case)),
        r(M::POST, "/account/projects/{id}/approvals", SignedIn, post(crate::cases::projects::add_approval)),
        r(M::GET, "/account/projects/{id}/approvals/{approval}", SignedIn, get(crate::cases::projects::approval_file)),
        r(M::GET, "/admin/projects/{id}", Needs(P::CaseView), get(crate::cases::projects::staff_show)),
        r(M::POST, "/api/v1/me/projects", SignedIn, post(crate::cases::projects::api_create)),
        r(M::GET, "/api/v1/me/projects/{id}", SignedIn, get(crate::cases::projects::api_dossier)),
        r(M::POST, "/api/v1/me/projects/{id}/cases", SignedIn, post(crate::cases::projects::api_add_case)),
        r(M::GET, "/account/statistics.xlsx", SignedIn, get(crate::cases::statistics::export)),
        r(M::GET, "/api/v1/me/statistics", SignedIn, get(crate::cases::statistics::api)),
        r(M::GET, "/account/cases", SignedIn, get(crate::cases::progress::mine)),
        r(M::GET, "/account/cases/{serial}", SignedIn, get(crate::cases::progress::my_case)),
        r(M::POST, "/account/cases/{serial}/act", SignedIn, post(crate::cases::progress::my_act)),
        r(M::GET, "/account/cases/{serial}/files/{file}", SignedIn, get(crate::cases::progress::my_file)),
        r(M::GET, "/api/v1/me/cases", SignedIn, get(crate::cases::progress::api_mine)),
        r(M::GET, "/api/v1/me/cases/{serial}", SignedIn, get(crate::cases::progress::api_my_case)),
        r(M::POST, "/api/v1/me/cases/{serial}/actions", SignedIn, post(crate::cases::supplements::api_act)),
        r(M::GET, "/api/v1/me/cases/{serial}/files", SignedIn, get(crate::cases::supplements::api_files)),
        r(M::GET, "/api/v1/me/cases/{serial}/files/{file}", SignedIn, get(crate::cases::supplements::api_file)),
        // The workbench: the route needs case.view; the engine checks each case's department
        // against the viewer's scope and each action against the step's permission.
        r(M::GET, "/admin/cases", Needs(P::CaseView), get(crate::cases::workbench::list)),
        r(M::GET, "/admin/cases/export.xlsx", Needs(P::CaseView), get(crate::cases::workbench::export)),
        r(M::GET, "/admin/cases/{id}", Needs(P::CaseView), get(crate::cases::workbench::show)),
        r(M::POST, "/admin/cases/{id}/act", Needs(P::CaseView), post(crate::cases::workbench::act)),
        r(M::POST, "/admin/cases/{id}/claim", Needs(P::CaseView), post(crate::cases::workbench::claim)),
        r(M::POST, "/admin/cases/{id}/assign", Needs(P::CaseAssign), post(crate::cases::workbench::assign)),
        r(M::POST, "/admin/cases/{id}/personal-data", Needs(P::CaseView), post(crate::cases::workbench::reveal)),
        r(M::GET, "/admin/cases/{id}/files/{file}", Needs(P::CaseView), get(crate::cases::workbench::file)),
        r(M::GET, "/admin/supervision", Needs(P::CaseSupervise), get(crate::cases::supervision::show)),
        r(M::GET, "/admin/workflows", Needs(P::WorkflowManage), get(crate::cases::supervision::workflow)),
        r(M::POST, "/admin/workflows/{code}", Needs(P::WorkflowManage), post(crate::cases::supervision::save_workflow)),
        r(
            M::POST,
            "/admin/workflows/{code}/reset",
            Needs(P::WorkflowManage),
            post(crate::cases::supervision::reset_workflow),
        ),
    ]
}
