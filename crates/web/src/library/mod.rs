//! The materials library (材料库) on the web and in the API: a person's and their enterprises'
//! libraries (`/account/materials`), adding a file by hand, renaming, recategorising, deleting,
//! downloading, and giving a library file for a draft's material (从我的材料选择).

pub(crate) mod api;
pub(crate) mod pages;

use crate::AppError;
use govhall_applications::library::{LibraryMaterialId, Owner};
use govhall_applications::{ApplicationError, ApplicationId};
use govhall_identity::{AccountId, EnterpriseId};
use uuid::Uuid;

/// A library id as the pages and the API write it: `me`, or an enterprise's id.
pub(crate) fn owner_of(viewer: AccountId, text: &str) -> Result<Owner, AppError> {
    match text.trim() {
        "" | "me" => Ok(Owner::Person(viewer)),
        id => Uuid::parse_str(id)
            .map(|id| Owner::Enterprise(EnterpriseId::from_uuid(id)))
            .map_err(|_| ApplicationError::LibraryNotFound.into()),
    }
}

/// How a library is named in addresses.
pub(crate) fn owner_text(owner: Owner) -> String {
    match owner {
        Owner::Person(_) => "me".into(),
        Owner::Enterprise(e) => e.to_string(),
    }
}

pub(crate) fn material_of(text: &str) -> Result<LibraryMaterialId, AppError> {
    text.parse().map_err(|_| ApplicationError::LibraryNotFound.into())
}

pub(crate) fn application_of(text: &str) -> Result<ApplicationId, AppError> {
    text.parse().map_err(|_| ApplicationError::NotFound.into())
}

/// The routes of the materials library, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::SignedIn;
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{delete, get, post};
    vec![
        r(M::GET, "/account/materials", SignedIn, get(pages::show)),
        r(M::POST, "/account/materials/{owner}/files", SignedIn, post(pages::add)),
        r(M::GET, "/account/materials/files/{id}", SignedIn, get(pages::download)),
        r(M::POST, "/account/materials/files/{id}/describe", SignedIn, post(pages::describe)),
        r(M::POST, "/account/materials/files/{id}/delete", SignedIn, post(pages::delete)),
        r(M::POST, "/applications/{id}/materials/{slot}/reuse", SignedIn, post(pages::reuse)),
        r(M::GET, "/api/v1/me/materials", SignedIn, get(api::libraries)),
        r(M::POST, "/api/v1/me/materials/{owner}/files", SignedIn, post(api::add)),
        r(M::GET, "/api/v1/me/materials/files/{id}", SignedIn, get(api::download)),
        r(M::POST, "/api/v1/me/materials/files/{id}/description", SignedIn, post(api::describe)),
        r(M::DELETE, "/api/v1/me/materials/files/{id}", SignedIn, delete(api::delete)),
        r(M::GET, "/api/v1/applications/{id}/materials/{slot}/library", SignedIn, get(api::choices)),
        r(M::POST, "/api/v1/applications/{id}/materials/{slot}/library", SignedIn, post(api::reuse)),
    ]
}
