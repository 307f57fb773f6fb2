//! A file held in the database sent back as a download: its own (sniffed) type, never sniffed
//! again by the browser, never shown inline or run, never cached.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// `bytes` as the attachment `name` of type `content_type`.
pub(crate) fn attachment(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    let disposition = format!("attachment; filename=\"file\"; filename*=UTF-8''{}", crate::auth::urlencode(name));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
