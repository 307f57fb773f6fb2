//! The catalogue for visitors: the navigations (个人办事, 企业办事, 部门服务), lists of items with
//! filters and paging, the guide of each item with a print version, and the JSON API.

pub(crate) mod api;
pub(crate) mod guide;
pub(crate) mod navigation;

use crate::AppError;
use axum::http::StatusCode;
use govhall_catalog::CatalogError;
use govhall_core::Coded as _;

impl From<CatalogError> for AppError {
    fn from(e: CatalogError) -> Self {
        let status = match &e {
            CatalogError::Invalid(_) | CatalogError::Import(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CatalogError::NotFound(_) => StatusCode::NOT_FOUND,
            CatalogError::Forbidden => StatusCode::FORBIDDEN,
            CatalogError::WrongState(_) => StatusCode::CONFLICT,
            CatalogError::Identity(inner) => {
                return AppError::from(govhall_identity::IdentityError::Internal(inner.message()));
            }
            CatalogError::Db(db) if db.code() == "database_busy" => StatusCode::SERVICE_UNAVAILABLE,
            CatalogError::Db(_) => return AppError::internal(e),
        };
        AppError::coded(status, &e)
    }
}

/// Items per page in lists.
pub(crate) const PAGE: i64 = 20;

/// Page numbers for a list: (current page from 1, last page).
pub(crate) fn pages(total: i64, offset: i64) -> (i64, i64) {
    (offset / PAGE + 1, ((total + PAGE - 1) / PAGE).max(1))
}

/// The routes of the catalogue, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::Public;
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::get;
    vec![
        // The catalogue.
        r(M::GET, "/personal", Public, get(crate::catalog::navigation::personal)),
        r(M::GET, "/enterprise", Public, get(crate::catalog::navigation::enterprise)),
        r(M::GET, "/departments", Public, get(crate::catalog::navigation::departments)),
        r(M::GET, "/departments/{id}", Public, get(crate::catalog::navigation::department)),
        r(M::GET, "/tags/{id}", Public, get(crate::catalog::navigation::tag)),
        r(M::GET, "/items/{code}", Public, get(crate::catalog::guide::guide)),
        r(M::GET, "/items/{code}/print", Public, get(crate::catalog::guide::print)),
        r(M::GET, "/api/v1/items", Public, get(crate::catalog::api::items)),
        r(M::GET, "/api/v1/items/{code}", Public, get(crate::catalog::api::item)),
        r(M::GET, "/api/v1/departments", Public, get(crate::catalog::api::departments)),
        r(M::GET, "/api/v1/taxonomies", Public, get(crate::catalog::api::taxonomies)),
    ]
}
