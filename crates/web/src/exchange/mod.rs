//! The exchange with department systems over HTTP: the API a department's system calls
//! (`api.rs`: collect cases, acknowledge them, download their materials, send back steps and
//! results; every request checked by its key, address, signature and nonce; `register.rs`:
//! register a case the department's own counter took in), and the page
//! where managers watch each connection and search the exchange log (`admin.rs`).

pub(crate) mod admin;
pub(crate) mod api;
pub(crate) mod register;

use crate::AppError;
use axum::http::StatusCode;
use govhall_exchange::ExchangeError;

impl From<ExchangeError> for AppError {
    fn from(e: ExchangeError) -> Self {
        let e = match e {
            ExchangeError::Case(c) => return AppError::from(c),
            other => other,
        };
        let status = match &e {
            ExchangeError::Db(db) if govhall_core::Coded::code(db) == "database_busy" => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ExchangeError::Db(_) | ExchangeError::Internal(_) | ExchangeError::Case(_) => return AppError::internal(e),
            ExchangeError::FrontDb(_) => StatusCode::BAD_GATEWAY,
            ExchangeError::Unauthenticated(..) | ExchangeError::BadSignature(..) => StatusCode::UNAUTHORIZED,
            ExchangeError::Forbidden(..) => StatusCode::FORBIDDEN,
            ExchangeError::Replayed | ExchangeError::KeyReused(_) => StatusCode::CONFLICT,
            ExchangeError::RateLimited(..) => StatusCode::TOO_MANY_REQUESTS,
            ExchangeError::NotFound(_) => StatusCode::NOT_FOUND,
            ExchangeError::Invalid(_) | ExchangeError::Licence(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        AppError::coded(status, &e)
    }
}

/// The exchange's routes, each with who may call it (see [`crate::routes`]). The API's routes
/// are public to the router: each handler checks the calling system itself.
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Permission as Needs, Public};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    vec![
        r(M::GET, "/api/v1/exchange/cases", Public, get(api::pull)),
        r(M::POST, "/api/v1/exchange/cases", Public, post(register::register)),
        r(M::POST, "/api/v1/exchange/cases/ack", Public, post(api::ack)),
        r(M::GET, "/api/v1/exchange/cases/{serial}/files/{file}", Public, get(api::file)),
        r(M::POST, "/api/v1/exchange/events", Public, post(api::event)),
        r(M::POST, "/api/v1/exchange/events/batch", Public, post(api::events_batch)),
        r(M::GET, "/admin/exchange", Needs(P::ExchangeManage), get(admin::page)),
        r(
            M::POST,
            "/admin/exchange/front-db/{department}/rows/{row}/retry",
            Needs(P::ExchangeManage),
            post(admin::retry),
        ),
    ]
}
