//! Electronic licences over HTTP: the public verification page and API (by identifier, as the
//! QR code on a printout opens it) with the registry's public key, the holder's 我的证照 with
//! printouts, and staff's view and revocation.

pub(crate) mod api;
pub(crate) mod import;
pub(crate) mod pages;

use crate::AppError;
use crate::html::time;
use axum::http::StatusCode;
use govhall_licences::{Licence, LicenceError, LicenceId};

impl From<LicenceError> for AppError {
    fn from(e: LicenceError) -> Self {
        let e = match e {
            LicenceError::Case(c) => return AppError::from(c),
            other => other,
        };
        let status = match &e {
            LicenceError::Db(db) if govhall_core::Coded::code(db) == "database_busy" => StatusCode::SERVICE_UNAVAILABLE,
            LicenceError::Db(_) | LicenceError::Internal(_) | LicenceError::Key(_) | LicenceError::Case(_) => {
                return AppError::internal(e);
            }
            LicenceError::NotFound => StatusCode::NOT_FOUND,
            LicenceError::Forbidden(_) => StatusCode::FORBIDDEN,
            LicenceError::WrongState(_) => StatusCode::CONFLICT,
            LicenceError::Invalid(_) | LicenceError::BadTypeFile(_) => StatusCode::BAD_REQUEST,
        };
        AppError::coded(status, &e)
    }
}

pub(crate) fn licence_id(id: &str) -> Result<LicenceId, AppError> {
    id.parse().map_err(|_| AppError::from(LicenceError::NotFound))
}

/// A licence as its holder's and staff's pages show it.
#[derive(Debug, Clone)]
pub(crate) struct LicenceView {
    pub id: String,
    pub identifier: String,
    pub type_name: String,
    pub number: String,
    pub holder_name: String,
    pub holder_number_label: &'static str,
    pub holder_number: String,
    pub issuer: String,
    pub validity: String,
    pub status_label: &'static str,
    pub revoked: bool,
    pub revoked_reason: String,
    pub issued_at: String,
    pub fields: Vec<(String, String)>,
}

impl LicenceView {
    pub(crate) fn of(l: &Licence, today: chrono::NaiveDate) -> LicenceView {
        let status = l.status_on(today);
        LicenceView {
            id: l.id.to_string(),
            identifier: l.identifier.clone(),
            type_name: l.type_name.clone(),
            number: l.number.clone(),
            holder_name: l.holder_name.clone(),
            holder_number_label: l.holder_kind.number_label(),
            holder_number: l.holder_number_masked.clone(),
            issuer: l.issuer_name.clone(),
            validity: l.validity(),
            status_label: status.label(),
            revoked: l.state == govhall_licences::LicenceState::Revoked,
            revoked_reason: l.revoked_reason.clone(),
            issued_at: time(l.issued_at),
            fields: l.fields.iter().map(|(_, label, value)| (label.clone(), value.clone())).collect(),
        }
    }
}

/// The licence the case issued (id, type and number, status) for staff who manage licences,
/// and, when an action of the page grants it (`grants`), the form of the licence it will issue.
pub(crate) async fn on_case_page(
    state: &crate::state::AppState,
    access: &govhall_identity::Access,
    c: &govhall_cases::Case,
    grants: bool,
) -> Result<LicencesOfCase, AppError> {
    let today = govhall_core::clock::china_date(state.db.now());
    let issued = state
        .licences
        .of_case(access, c.id.as_uuid())
        .await?
        .map(|l| (l.id.to_string(), format!("{} {}", l.type_name, l.number), l.status_on(today).label()));
    let form = if grants { state.licences.form_for(access, c).await?.map(|f| (f.ty.name, f.fields)) } else { None };
    Ok((issued, form))
}

/// What [`on_case_page`] finds.
pub(crate) type LicencesOfCase =
    (Option<(String, String, &'static str)>, Option<(String, Vec<govhall_licences::decide::FormField>)>);

/// The routes of licences, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Permission as Needs, Public, SignedIn};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    vec![
        r(M::GET, "/verify", Public, get(pages::verify_form)),
        r(M::GET, "/verify/{identifier}", Public, get(pages::verify)),
        r(M::POST, "/verify/pdf", Public, post(pages::verify_pdf)),
        r(M::GET, "/account/licences", SignedIn, get(pages::mine)),
        r(M::GET, "/account/licences/{id}/licence.pdf", SignedIn, get(pages::pdf)),
        r(M::GET, "/admin/licences/import", Needs(P::LicenceManage), get(import::form)),
        r(M::POST, "/admin/licences/import", Needs(P::LicenceManage), post(import::upload)),
        r(M::GET, "/admin/licences/{id}", Needs(P::LicenceManage), get(pages::staff)),
        r(M::GET, "/admin/licences/{id}/licence.pdf", Needs(P::LicenceManage), get(pages::staff_pdf)),
        r(M::POST, "/admin/licences/{id}/revoke", Needs(P::LicenceManage), post(pages::revoke)),
        r(M::POST, "/admin/licences/{id}/reissue", Needs(P::LicenceManage), post(pages::reissue)),
        r(M::GET, "/api/v1/licence-verifications/{identifier}", Public, get(api::verify)),
        r(M::POST, "/api/v1/licence-checks", Public, post(api::check)),
        r(M::GET, "/api/v1/licence-key", Public, get(api::key)),
        r(M::GET, "/api/v1/me/licences", SignedIn, get(api::mine)),
        r(M::GET, "/api/v1/me/licences/{id}/licence.pdf", SignedIn, get(api::pdf)),
    ]
}
