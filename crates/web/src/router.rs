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
            .layer(axum::middleware::from_fn_with_state(state.clone(), limit_body))
            // The limits are `limit_body`'s, route by route; axum's own 2 MB for the body
            // extractors (forms, JSON, multipart) would cut every upload form at 2 MB.
            .layer(axum::extract::DefaultBodyLimit::disable())
            .layer(axum::middleware::from_fn(crate::text_input::clean_text)),
    );
    // Outermost, so that error pages rendered above carry them too.
    for layer in security_headers() {
        app = app.layer(layer);
    }
    app.with_state(state)
}

/// The most a request to `path` may send: uploads of materials take files up to the configured
/// size (a form may carry several at once); everything else [`MAX_BODY_BYTES`].
fn body_limit(state: &AppState, path: &str) -> u64 {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let settings = state.applications.settings();
    match parts.as_slice() {
        // A few files at once (the page says to send more in turns); multipart headers are
        // buffered by the parser, so the whole body stays bounded.
        ["applications", _, "materials", _] => settings.max_file_bytes.saturating_mul(3) + (1 << 20),
        // The store stops a file at its own limit first (and says so); this only bounds the rest.
        ["api", "v1", "applications", _, "materials", _, "files"]
        | ["account", "materials", _, "files"]
        | ["api", "v1", "me", "materials", _, "files"] => settings.max_file_bytes + (1 << 20),
        ["admin", "licences", "import"] => crate::licences::import::MAX_IMPORT_BYTES + (1 << 20),
        // An answer to a request for more: its files, each stopped at its own limit.
        ["account", "projects", _, "approvals"] => state.cases.settings().max_file_bytes as u64 + (1 << 20),
        ["account", "cases", _, "act"] | ["api", "v1", "me", "cases", _, "actions"] => {
            let each = state.cases.settings().max_file_bytes as u64;
            each.saturating_mul(crate::cases::supplements::MAX_SUPPLEMENT_FILES as u64) + (1 << 20)
        }
        // A complaint, information added to it, a 差评's answer or an appeal, with their files;
        // through the API in Base64.
        ["complaints"]
        | ["complaints", "query"]
        | ["account", "complaints", _, "act"]
        | ["admin", "evaluations", "tasks", _]
        | ["admin", "evaluations", "tasks", _, "appeal"] => crate::feedback::upload::body_limit(state, false),
        ["api", "v1", "me", "complaints"]
        | ["api", "v1", "me", "complaints", _, "actions"]
        | ["api", "v1", "complaints"]
        | ["api", "v1", "complaints", _, "actions"] => crate::feedback::upload::body_limit(state, true),
        // A case taken in at a window, with its scans (each stopped at its own limit).
        ["admin", "intake", code] if *code != "receipt" => {
            let each = state.cases.settings().max_file_bytes as u64;
            each.saturating_mul(govhall_cases::offline::MAX_FILES as u64) + (1 << 20)
        }
        // A department system's step or result with its files in Base64 (a third larger).
        ["api", "v1", "exchange", "events"] | ["api", "v1", "exchange", "events", "batch"] => {
            let each = state.cases.settings().max_file_bytes as u64;
            (each.saturating_mul(crate::exchange::api::MAX_EVENT_FILES as u64) / 3).saturating_mul(4) + (1 << 20)
        }
        // An uploaded licence PDF to check (the handler stops it at its own limit and says so).
        ["verify", "pdf"] | ["api", "v1", "licence-checks"] => govhall_files::pdf_info::MAX_BYTES as u64 + (1 << 20),
        _ => MAX_BODY_BYTES as u64,
    }
}

/// Refuses a body declared too large before reading it, and stops reading one that grows past
/// the limit.
async fn limit_body(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = body_limit(&state, request.uri().path());
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        let error = if limit > MAX_BODY_BYTES as u64 {
            // The route's own limit, whatever its files are (materials, scans, a licence import).
            AppError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "file_too_large",
                format!(
                    "提交的文件超过这里的上限 {}（一次上传多个文件时请分几次上传）",
                    govhall_files::human_size(limit)
                ),
            )
        } else {
            AppError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("提交的内容过大（上限 {}）", govhall_files::human_size(limit)),
            )
        };
        let mut response = error.into_response();
        response.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
        return response;
    }
    let (parts, body) = request.into_parts();
    let limited =
        axum::body::Body::new(http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)));
    next.run(axum::extract::Request::from_parts(parts, limited)).await
}
