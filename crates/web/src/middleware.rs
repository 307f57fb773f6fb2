//! Cross-cutting layers: request ids, tracing, security headers.

use axum::http::{HeaderName, HeaderValue, Request, header};
use tower_http::request_id::{MakeRequestId, RequestId};
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Span;

/// The header that carries a request's id, from the client or the proxy, or made here.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Makes a UUIDv7 request id when the client or proxy sent none.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MakeUuidV7;

impl MakeRequestId for MakeUuidV7 {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string()).ok().map(RequestId::new)
    }
}

/// The span of one request: method, request id, and the route pattern (recorded once routing
/// has matched; never the raw path or query string, which may hold personal data).
pub(crate) fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info_span!("request", method = %request.method(), request_id, route = tracing::field::Empty)
}

/// Drops a client's `x-request-id` unless it is a short plain token, so that ids echoed into
/// pages and logs cannot carry markup, forged text or megabytes; a new one is made instead.
pub(crate) async fn sanitize_request_id(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let valid = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        !v.is_empty()
            && v.len() <= 64
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    if !valid {
        request.headers_mut().remove(&REQUEST_ID);
    }
    next.run(request).await
}

/// The Content Security Policy: nothing inline, nothing from elsewhere, never framed.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The security headers every response carries unless a handler set its own.
pub(crate) fn security_headers() -> Vec<SetResponseHeaderLayer<HeaderValue>> {
    [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ]
    .into_iter()
    .map(|(name, value)| SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
    .collect()
}
