//! Search for visitors (the results page that works without JavaScript), its JSON API with
//! as-you-type suggestions, and the administrators' page (synonyms, best bets, queries that
//! found nothing).

pub(crate) mod admin;
pub(crate) mod api;
pub(crate) mod page;

use crate::AppError;
use axum::http::StatusCode;
use govhall_core::Coded as _;
use govhall_search::{SearchError, SearchParams};

impl From<SearchError> for AppError {
    fn from(e: SearchError) -> Self {
        let status = match &e {
            SearchError::Invalid { .. } => StatusCode::BAD_REQUEST,
            SearchError::NotFound(_) => StatusCode::NOT_FOUND,
            SearchError::Catalog(inner) => {
                return AppError::from(govhall_catalog::CatalogError::Invalid(inner.message()));
            }
            SearchError::Identity(inner) => {
                return AppError::from(govhall_identity::IdentityError::Internal(inner.message()));
            }
            SearchError::Db(db) if db.code() == "database_busy" => StatusCode::SERVICE_UNAVAILABLE,
            SearchError::Db(_) | SearchError::Index(_) => return AppError::internal(e),
        };
        AppError::coded(status, &e)
    }
}

/// Runs a search off the async threads (a broad search is milliseconds of CPU).
pub(crate) async fn run(
    state: &crate::state::AppState,
    request: govhall_search::SearchRequest,
) -> Result<govhall_search::SearchResults, AppError> {
    let search = state.search.clone();
    let results = tokio::task::spawn_blocking(move || search.search(&request)).await.map_err(AppError::internal)?;
    Ok(results?)
}

/// The query string of `p` with its non-empty parameters, for links.
pub(crate) fn query_string(p: &SearchParams) -> String {
    let pairs = [
        ("q", &p.q),
        ("category", &p.category),
        ("audience", &p.audience),
        ("tag", &p.tag),
        ("department", &p.department),
        ("region", &p.region),
        ("level", &p.level),
        ("type", &p.item_type),
        ("depth", &p.depth),
        ("from", &p.from),
        ("to", &p.to),
        ("sort", &p.sort),
        ("page", &p.page),
        ("limit", &p.limit),
    ];
    let kept: Vec<(&str, &str)> =
        pairs.iter().filter(|(_, v)| !v.trim().is_empty()).map(|(k, v)| (*k, v.as_str())).collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}
