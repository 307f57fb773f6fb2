//! The interim administrator login: one configured token (`[web] admin_token`), until accounts
//! and roles exist. The cookie holds a hash of the token, HttpOnly and SameSite=Strict; every
//! form post must also come from this site (Origin, or Referer, matching Host).

use crate::AppError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The admin cookie's name.
pub(crate) const COOKIE: &str = "govhall_admin";

/// How long a sign-in lasts.
const SESSION_SECS: i64 = 8 * 3600;

fn mac(token: &str, expires: i64) -> String {
    // Any key length is valid for HMAC.
    let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(format!("govhall-admin:{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A cookie value that proves knowledge of `token` until eight hours from `now`:
/// `{expiry}.{HMAC-SHA256(token, expiry)}`. It does not reveal the token.
pub(crate) fn cookie_value(token: &str, now: i64) -> String {
    let expires = now + SESSION_SECS;
    format!("{expires}.{}", mac(token, expires))
}

/// Whether a cookie value is current and was made with `token`.
pub(crate) fn cookie_valid(token: &str, value: &str, now: i64) -> bool {
    let Some((expires, given)) = value.split_once('.') else { return false };
    let Ok(expires) = expires.parse::<i64>() else { return false };
    expires > now && expires <= now + SESSION_SECS && constant_time_eq(given.as_bytes(), mac(token, expires).as_bytes())
}

/// Failed logins on this node: after five within fifteen minutes, logins wait for the window.
#[derive(Debug, Default)]
pub struct LoginThrottle(std::sync::Mutex<std::collections::VecDeque<std::time::Instant>>);

impl LoginThrottle {
    const WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
    const LIMIT: usize = 5;

    /// Whether another try is allowed now.
    pub(crate) fn allowed(&self) -> bool {
        let mut failures = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while failures.front().is_some_and(|t| t.elapsed() > Self::WINDOW) {
            failures.pop_front();
        }
        failures.len() < Self::LIMIT
    }

    /// Records a failed try.
    pub(crate) fn failed(&self) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push_back(std::time::Instant::now());
    }
}

/// The `Set-Cookie` header that signs in (or, with `None`, out).
pub(crate) fn set_cookie(value: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match value {
        Some(v) => format!("{COOKIE}={v}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}{secure}"),
        None => format!("{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

/// Whether the request came over TLS at the proxy.
pub(crate) fn is_https(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A signed-in administrator. Pages that take it are for administrators only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = &state.web.admin_token;
        if token.is_empty() {
            return Err(AppError::new(
                StatusCode::FORBIDDEN,
                "admin_disabled",
                "管理后台未启用：请在配置中设置 web.admin_token",
            )
            .into_response());
        }
        let now = state.db.now().timestamp();
        match cookie(&parts.headers, COOKIE) {
            Some(v) if cookie_valid(token.expose(), v, now) => Ok(Admin),
            _ => {
                let next = parts.uri.path_and_query().map_or("/admin/messages", |p| p.as_str());
                Err(Redirect::to(&format!("/admin/login?next={}", urlencode(next))).into_response())
            }
        }
    }
}

/// Refuses a form post that did not come from a page of this site.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), AppError> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let from_host = from.split("://").nth(1).map(|rest| rest.split('/').next().unwrap_or_default());
    if !host.is_empty() && from_host == Some(host) {
        Ok(())
    } else {
        Err(AppError::new(StatusCode::FORBIDDEN, "cross_site_request", "请求来源无效，请从本站页面重新提交"))
    }
}

/// Only a path inside the admin pages may be a place to go back to after login.
pub(crate) fn safe_next(next: &str) -> &str {
    if next.starts_with("/admin/") && !next.starts_with("/admin//") && !next.contains('\\') {
        next
    } else {
        "/admin/messages"
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
