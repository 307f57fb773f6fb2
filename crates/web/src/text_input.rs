//! Every text a request sends in a form or a JSON body passes through the one normalisation of
//! `govhall_core::text` before any handler sees it: direction overrides, zero-width and control
//! characters never reach the database or a staff member's page. Multipart bodies (uploads)
//! are left alone: their file names are cleaned by the file store, their bytes are files. So
//! are the signed messages of outside services ([`SIGNED_BODIES`]): their signature covers the
//! bytes as sent, and their handlers clean the text they keep.

use crate::AppError;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use govhall_core::text::{clean, is_hidden};
use serde_json::Value;

/// The paths whose JSON bodies an outside service signs (the payment gateway's notifications,
/// the courier's tracking pushes, a department system's steps and results): passed on byte for
/// byte.
pub(crate) const SIGNED_BODIES: [&str; 6] = [
    "/api/v1/payments/notifications",
    "/api/v1/logistics/notifications",
    "/api/v1/exchange/cases",
    "/api/v1/exchange/cases/ack",
    "/api/v1/exchange/events",
    "/api/v1/exchange/events/batch",
];

/// The middleware.
pub(crate) async fn clean_text(request: Request, next: Next) -> Response {
    if SIGNED_BODIES.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    let json = content_type.starts_with("application/json");
    if !form && !json {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        // The body limit stopped it: the same answer the limit gives elsewhere.
        Err(_) => {
            return AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "提交的内容过大").into_response();
        }
    };
    let cleaned = if form { clean_form(&bytes) } else { clean_json(&bytes) };
    let body = match cleaned {
        Some(new) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(new)
        }
        None => Body::from(bytes),
    };
    next.run(Request::from_parts(parts, body)).await
}

/// A form body with its values cleaned, or `None` when nothing needed it (or it does not
/// parse: the handler answers that).
fn clean_form(bytes: &Bytes) -> Option<Vec<u8>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).ok()?;
    if !pairs.iter().any(|(k, v)| k.chars().any(is_hidden) || v.chars().any(is_hidden)) {
        return None;
    }
    let cleaned: Vec<(String, String)> =
        pairs.into_iter().map(|(k, v)| (clean(&k).into_owned(), clean(&v).into_owned())).collect();
    serde_urlencoded::to_string(cleaned).ok().map(String::into_bytes)
}

fn clean_json(bytes: &Bytes) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(bytes).ok()?;
    if !clean_value(&mut value) {
        return None;
    }
    serde_json::to_vec(&value).ok()
}

/// Cleans every string (and key) in place; whether anything changed.
pub(crate) fn clean_value(value: &mut Value) -> bool {
    match value {
        Value::String(s) if s.chars().any(is_hidden) => {
            *s = clean(s).into_owned();
            true
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, v| clean_value(v) | changed),
        Value::Object(map) => {
            let dirty_keys = map.keys().any(|k| k.chars().any(is_hidden));
            let mut changed = dirty_keys;
            if dirty_keys {
                let old = std::mem::take(map);
                for (k, v) in old {
                    map.insert(clean(&k).into_owned(), v);
                }
            }
            for v in map.values_mut() {
                changed |= clean_value(v);
            }
            changed
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_json_lose_hidden_characters_only() {
        let form = Bytes::from("real_name=%E5%BC%A0%E2%80%AE%E4%B8%89&csrf=abc");
        let cleaned = String::from_utf8(clean_form(&form).unwrap()).unwrap();
        assert_eq!(cleaned, "real_name=%E5%BC%A0%E4%B8%89&csrf=abc");
        assert!(clean_form(&Bytes::from("a=1&b=%E4%B8%89")).is_none());
        let json = Bytes::from(r#"{"name":"A\u202eB","list":["\u2066x\u2069",1],"ok":"y"}"#);
        let cleaned: Value = serde_json::from_slice(&clean_json(&json).unwrap()).unwrap();
        assert_eq!(cleaned, serde_json::json!({"name": "AB", "list": ["x", 1], "ok": "y"}));
        assert!(clean_json(&Bytes::from(r#"{"a":"b"}"#)).is_none());
        assert!(clean_json(&Bytes::from("not json")).is_none());
    }
}
