//! What the sandboxes of outside services (the payment gateway, the courier) share: answers
//! signed like the real services', requests checked, pushes to the hall retried until it
//! accepts them, and pages that keep to themselves.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use govhall_messaging::signed::{self, Signed, Signer};
use std::time::Duration;

/// A JSON answer signed with `signer`.
pub(crate) fn signed_response(signer: &Signer, status: StatusCode, body: Vec<u8>) -> Response {
    let s = signer.sign(&body, Utc::now());
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in [(signed::TIMESTAMP, s.timestamp), (signed::NONCE, s.nonce), (signed::SIGNATURE, s.signature)]
    {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}

/// Whether the request's headers sign `body` with `signer`'s key (the hall's, for SM2).
pub(crate) fn verified(signer: &Signer, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let signed = Signed {
        timestamp: header(signed::TIMESTAMP),
        nonce: header(signed::NONCE),
        signature: header(signed::SIGNATURE),
    };
    signer.verify(&signed, body, Utc::now())
}

/// Posts `body` to `url`, signed, until the hall accepts it (five tries, backing off).
pub(crate) async fn post_signed(client: &reqwest::Client, signer: &Signer, url: &str, body: &[u8], who: &str) {
    for attempt in 0..5u32 {
        let s = signer.sign(body, Utc::now());
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header(signed::TIMESTAMP, s.timestamp)
            .header(signed::NONCE, s.nonce)
            .header(signed::SIGNATURE, s.signature)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::info!(status = r.status().as_u16(), url, "{who}: push refused"),
            Err(e) => tracing::info!(error = %e, url, "{who}: push not delivered"),
        }
        tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt))).await;
    }
}

/// A sandbox page with headers that keep it to itself: no script, no framing, forms posting where
/// `form_action` (a CSP source list) allows.
pub(crate) fn page(page: impl askama::Template, form_action: &'static str) -> Response {
    use axum::http::header;
    let Ok(body) = page.render() else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let mut response = axum::response::Html(body).into_response();
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
