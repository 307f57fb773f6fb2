//! Search for visitors (the results page that works without JavaScript), its JSON API with
//! as-you-type suggestions, and the administrators' page (synonyms, best bets, queries that
//! found nothing).

pub(crate) mod admin;
pub(crate) mod api;
pub(crate) mod page;

use crate::AppError;
use crate::error::ErrorBody;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use govhall_core::Coded as _;
use govhall_search::{SearchError, SearchParams};

/// Seconds a client is asked to wait while the index is made again (a second or two for the
/// bundled catalogue).
const RETRY_AFTER_SECONDS: &str = "5";

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
            SearchError::Rebuilding => StatusCode::SERVICE_UNAVAILABLE,
            SearchError::Db(_) | SearchError::Index(_) | SearchError::Locked(_) | SearchError::Folder(_) => {
                return AppError::internal(e);
            }
        };
        AppError::coded(status, &e)
    }
}

/// How a search page or API call fails: while the index is made again, 503
/// `search_rebuilding` with its Chinese message and `Retry-After` (the rest of the hall works
/// on); anything else as [`AppError`] says.
#[derive(Debug)]
pub(crate) enum SearchFailure {
    Rebuilding,
    Other(AppError),
}

impl From<AppError> for SearchFailure {
    fn from(e: AppError) -> Self {
        SearchFailure::Other(e)
    }
}

impl From<SearchError> for SearchFailure {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Rebuilding => SearchFailure::Rebuilding,
            other => SearchFailure::Other(other.into()),
        }
    }
}

impl IntoResponse for SearchFailure {
    fn into_response(self) -> Response {
        match self {
            SearchFailure::Other(e) => e.into_response(),
            SearchFailure::Rebuilding => {
                // Expected and brief: the library logged the failure that led here.
                tracing::debug!("search refused while its index is made again");
                let e = SearchError::Rebuilding;
                let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
                response.extensions_mut().insert(ErrorBody { code: e.code(), message: e.message() });
                response
            }
        }
    }
}

/// Runs a search off the async threads (a broad search is milliseconds of CPU).
pub(crate) async fn run(
    state: &crate::state::AppState,
    request: govhall_search::SearchRequest,
) -> Result<govhall_search::SearchResults, SearchFailure> {
    let search = state.search.clone();
    Ok(blocking(move || search.search(&request)).await?)
}

/// Runs `f` (a search) off the async threads; a panic that escaped it is answered as the index
/// being made again (the search library reports its own failures; this is the last guard).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(error = %e, "a search task failed");
            Err(SearchError::Rebuilding)
        }
    }
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

/// The routes of search, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Permission as Needs, Public};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    vec![
        r(M::GET, "/search", Public, get(crate::search::page::search)),
        r(M::GET, "/api/v1/search", Public, get(crate::search::api::search)),
        r(M::GET, "/api/v1/search/suggest", Public, get(crate::search::api::suggest)),
        r(M::GET, "/admin/search", Needs(P::CatalogManage), get(crate::search::admin::show)),
        r(M::POST, "/admin/search/synonyms", Needs(P::CatalogManage), post(crate::search::admin::add_synonyms)),
        r(
            M::POST,
            "/admin/search/synonyms/{id}/delete",
            Needs(P::CatalogManage),
            post(crate::search::admin::delete_synonyms),
        ),
        r(M::POST, "/admin/search/best-bets", Needs(P::CatalogManage), post(crate::search::admin::add_best_bet)),
        r(
            M::POST,
            "/admin/search/best-bets/delete",
            Needs(P::CatalogManage),
            post(crate::search::admin::delete_best_bet),
        ),
        r(M::POST, "/admin/search/misses/dismiss", Needs(P::CatalogManage), post(crate::search::admin::dismiss_miss)),
        r(M::POST, "/admin/search/rebuild", Needs(P::CatalogManage), post(crate::search::admin::rebuild)),
    ]
}

#[cfg(test)]
mod tests {
    use super::SearchFailure;
    use crate::error::ErrorBody;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use govhall_search::SearchError;

    #[test]
    fn a_search_while_the_index_is_made_again_is_503_with_its_code_message_and_retry_after() {
        let response = SearchFailure::from(SearchError::Rebuilding).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().get(header::RETRY_AFTER).is_some_and(|v| v == "5"));
        let body = response.extensions().get::<ErrorBody>().map(|b| (b.code, b.message.clone()));
        assert_eq!(body, Some(("search_rebuilding", "搜索正在重建索引，请稍后再试".to_owned())));
        // Anything else is what it was.
        let folder = SearchFailure::from(SearchError::Folder("x".to_owned())).into_response();
        assert_eq!(folder.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
