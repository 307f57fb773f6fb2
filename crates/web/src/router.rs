//! The whole router: every route, then the layers every request passes through.

use crate::auth::{enforce, resolve};
use crate::middleware::{MakeUuidV7, REQUEST_ID, request_span, sanitize_request_id, security_headers};
use crate::state::AppState;
use crate::{AppError, error, metrics, routes};
use axum::Router;
use axum::routing::MethodRouter;
use std::collections::BTreeMap;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Bodies larger than this are refused before a handler sees them (uploads set their own limit).
pub(crate) const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The portal and the API, ready to serve.
pub fn router(state: AppState) -> Router {
    // One method router per path, each method behind its own guard.
    let mut paths: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for (spec, handler) in routes::table() {
        let guarded = handler.route_layer(axum::middleware::from_fn_with_state((state.clone(), spec.guard), enforce));
        let merged = match paths.remove(spec.path) {
            Some(existing) => existing.merge(guarded),
            None => guarded,
        };
        paths.insert(spec.path, merged);
    }
    let mut app = Router::new();
    for (path, handler) in paths {
        app = app.route(path, handler);
    }
    let mut app = app
        .fallback(|| async { AppError::not_found() })
        .layer(axum::middleware::from_fn_with_state(state.clone(), resolve))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track));
    app = app.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(sanitize_request_id))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeUuidV7))
            // Errors are logged once, where AppError is made; the trace layer does not repeat them.
            .layer(TraceLayer::new_for_http().make_span_with(request_span).on_failure(()))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(CompressionLayer::new())
            .layer(axum::middleware::from_fn_with_state(state.clone(), error::render_errors))
            .layer(CatchPanicLayer::new())
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES)),
    );
    // Outermost, so that error pages rendered above carry them too.
    for layer in security_headers() {
        app = app.layer(layer);
    }
    app.with_state(state)
}
