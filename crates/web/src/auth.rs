//! Who is asking, once per request, and the checks every route passes through.
//!
//! - [`resolve`] (a middleware on every request) finds the session from the `govhall_session`
//!   cookie (pages) or an `Authorization: Bearer` token (`/api/`), loads the account and its
//!   [`Access`], and refuses any state-changing page request without a valid CSRF token from
//!   this site (token bound to the session, or to a visitor cookie before sign-in, plus an
//!   Origin/Referer check).
//! - [`Guard`] is what a route requires: nothing, a signed-in account, or a permission. The
//!   router attaches it to every route from one table ([`crate::routes`]), so no handler checks
//!   rights by itself; data scopes are checked by the identity services with the [`Access`].

use crate::AppError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use govhall_audit::Actor;
use govhall_core::Coded as _;
use govhall_identity::sessions::{Session, SessionKind};
use govhall_identity::{Access, Account, IdentityError, Permission, crypto};
use std::net::SocketAddr;
use std::sync::Arc;

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "govhall_session";
/// The visitor cookie that anonymous forms' CSRF tokens are bound to.
pub(crate) const VISITOR_COOKIE: &str = "govhall_visitor";
/// The form field, or header, carrying the CSRF token.
pub(crate) const CSRF_FIELD: &str = "csrf";
const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in account, as the request found it.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The account, personal data decrypted (show it masked).
    pub account: Arc<Account>,
    /// The session or token.
    pub session: Arc<Session>,
    /// What it may do.
    pub access: Arc<Access>,
}

/// What every handler may want to know about the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The signed-in account, if any.
    pub viewer: Option<Viewer>,
    /// The CSRF token for forms on the page being rendered.
    pub csrf: String,
    /// The client's address.
    pub client_ip: String,
    /// A person's unread inbox messages, for the header of a page (0 for the API and staff).
    pub unread: i64,
}

impl RequestContext {
    /// The audit log's name for whoever is acting.
    pub fn actor(&self) -> Actor {
        match &self.viewer {
            Some(v) => {
                Actor { id: Some(v.account.id), label: v.account.audit_label(), client_ip: self.client_ip.clone() }
            }
            None => Actor { id: None, label: "未登录".to_owned(), client_ip: self.client_ip.clone() },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| AppError::internal("the resolve middleware did not run"))
    }
}

/// A handler argument that requires a signed-in account (the guard has already made sure).
#[derive(Debug, Clone)]
pub struct SignedIn(pub Viewer, pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = RequestContext::from_request_parts(parts, state).await?;
        match ctx.viewer.clone() {
            Some(viewer) => Ok(SignedIn(viewer, ctx)),
            None => Err(AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "请先登录")),
        }
    }
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// Whether the request came over TLS at the proxy.
pub(crate) fn is_https(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure behind TLS; `None` clears it.
pub(crate) fn set_cookie(name: &str, value: Option<&str>, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match value {
        Some(v) => format!("{name}={v}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
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

fn client_ip(state: &AppState, request: &Request) -> String {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    // Only a trusted proxy's word is taken: a caller reaching the port directly cannot name
    // its own address.
    if state.web.behind_proxy
        && peer.is_some_and(|p| state.web.trusts(p))
        && let Some(ip) = request.headers().get("x-real-ip").and_then(|v| v.to_str().ok())
    {
        return ip.trim().chars().take(45).collect();
    }
    peer.map(|p| p.to_string()).unwrap_or_default()
}

async fn viewer(state: &AppState, token: &str, kind: SessionKind) -> Result<Option<Viewer>, IdentityError> {
    let Some((session, account)) = state.identity.session_and_account(token, kind).await? else { return Ok(None) };
    // People who use the hall hold no grants (Identity::access answers so for them too): their
    // requests skip the read.
    let access = if account.kind == govhall_identity::AccountKind::Person {
        govhall_identity::Access::default()
    } else {
        state.identity.access(account.id).await?
    };
    Ok(Some(Viewer { account: Arc::new(account), session: Arc::new(session), access: Arc::new(access) }))
}

/// Resolves the viewer and the CSRF token, and checks the token on every state-changing page
/// request.
pub(crate) async fn resolve(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match resolve_inner(state, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn resolve_inner(state: AppState, request: Request, next: Next) -> Result<Response, Response> {
    let is_api = request.uri().path().starts_with("/api/");
    let ip = client_ip(&state, &request);
    let headers = request.headers();
    let found = match (is_api, bearer(headers), cookie(headers, SESSION_COOKIE)) {
        (true, Some(token), _) => viewer(&state, token, SessionKind::Api).await,
        (false, _, Some(token)) => viewer(&state, token, SessionKind::Web).await,
        _ => Ok(None),
    }
    .map_err(|e| AppError::from(e).into_response())?;
    let mut new_visitor = None;
    let binding = match &found {
        Some(v) => v.session.id.to_string(),
        None => match cookie(headers, VISITOR_COOKIE).filter(|v| v.len() == 43) {
            Some(v) => v.to_owned(),
            None => {
                let v = crypto::new_token();
                new_visitor = Some(v.clone());
                v
            }
        },
    };
    let csrf = state.identity.keys().csrf_token(&binding);
    let secure = is_https(headers);
    let unsafe_method = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let mut request = request;
    if unsafe_method && !is_api {
        same_origin(request.headers()).map_err(IntoResponse::into_response)?;
        request = check_csrf(&state, request, &binding).await?;
    }
    // The header's unread count: a person's page views only (one indexed count).
    let unread = match &found {
        Some(v)
            if !is_api
                && matches!(*request.method(), Method::GET | Method::HEAD)
                && v.account.kind == govhall_identity::AccountKind::Person =>
        {
            govhall_messaging::inbox::unread_count(&state.db, v.account.id.as_uuid()).await.unwrap_or(0)
        }
        _ => 0,
    };
    request.extensions_mut().insert(RequestContext { viewer: found, csrf, client_ip: ip, unread });
    let mut response = next.run(request).await;
    if let Some(v) = new_visitor {
        response.headers_mut().append(header::SET_COOKIE, set_cookie(VISITOR_COOKIE, Some(&v), 86_400 * 30, secure));
    }
    Ok(response)
}

fn csrf_refused() -> Response {
    AppError::new(StatusCode::FORBIDDEN, "invalid_csrf_token", "页面已过期或表单来源无效，请刷新页面后重新提交")
        .into_response()
}

/// Reads the token from the header, or from the form body (which is put back for the handler).
async fn check_csrf(state: &AppState, request: Request, binding: &str) -> Result<Request, Response> {
    let keys = state.identity.keys();
    if let Some(token) = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if keys.csrf_valid(binding, token) { Ok(request) } else { Err(csrf_refused()) };
    }
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let is_multipart = content_type.starts_with("multipart/form-data");
    if !is_form && !is_multipart {
        return Err(csrf_refused());
    }
    // Uploads stream: their forms carry the token in their address, and the body is not read
    // here (materials, the materials library, supplements, a licence import, a licence PDF to
    // check, complaints and 好差评 answers and appeals with their files). Only there: other
    // multipart forms carry it in their body.
    let path: Vec<&str> = request.uri().path().trim_matches('/').split('/').collect();
    let upload = matches!(
        path.as_slice(),
        ["applications", _, "materials", _]
            | ["account", "materials", _, "files"]
            | ["account", "projects", _, "approvals"]
            | ["account", "cases", _, "act"]
            | ["admin", "licences", "import"]
            | ["verify", "pdf"]
            | ["complaints"]
            | ["complaints", "query"]
            | ["account", "complaints", _, "act"]
            | ["admin", "evaluations", "tasks", _]
            | ["admin", "evaluations", "tasks", _, "appeal"]
    );
    if is_multipart
        && upload
        && let Some(token) = request
            .uri()
            .query()
            .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v))
    {
        return if keys.csrf_valid(binding, &token) { Ok(request) } else { Err(csrf_refused()) };
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, crate::router::MAX_BODY_BYTES).await.map_err(|_| {
        AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "提交的内容过大").into_response()
    })?;
    let token = if is_form {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        fields.into_iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v).unwrap_or_default()
    } else {
        multipart_field(&content_type, bytes.clone(), CSRF_FIELD).await.unwrap_or_default()
    };
    if !keys.csrf_valid(binding, &token) {
        return Err(csrf_refused());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The text of one field of a multipart body (forms put the CSRF token first).
async fn multipart_field(content_type: &str, body: axum::body::Bytes, name: &str) -> Option<String> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(name) {
            return field.text().await.ok();
        }
    }
    None
}

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Anyone.
    Public,
    /// A signed-in account of any kind.
    SignedIn,
    /// A signed-in account holding the permission (in some scope).
    Permission(Permission),
    /// A signed-in account holding any of the permissions (pages editors and reviewers share).
    AnyOf(&'static [Permission]),
}

impl Guard {
    /// Whether `viewer` passes.
    pub fn allows(self, viewer: Option<&Viewer>) -> bool {
        match self {
            Guard::Public => true,
            Guard::SignedIn => viewer.is_some(),
            Guard::Permission(p) => viewer.is_some_and(|v| v.access.has(p)),
            Guard::AnyOf(ps) => viewer.is_some_and(|v| ps.iter().any(|p| v.access.has(*p))),
        }
    }
}

/// The route layer that enforces a [`Guard`].
pub(crate) async fn enforce(State((state, guard)): State<(AppState, Guard)>, request: Request, next: Next) -> Response {
    let ctx = request.extensions().get::<RequestContext>().cloned();
    let viewer = ctx.as_ref().and_then(|c| c.viewer.as_ref());
    if guard.allows(viewer) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    if viewer.is_none() {
        if !path.starts_with("/api/") && request.method() == Method::GET {
            let next = request.uri().path_and_query().map_or("/", |p| p.as_str());
            return Redirect::to(&format!("/login?next={}", urlencode(next))).into_response();
        }
        return AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "请先登录").into_response();
    }
    let needed = match guard {
        Guard::Permission(p) => Some(p.name().to_owned()),
        Guard::AnyOf(ps) => Some(ps.iter().map(|p| p.name()).collect::<Vec<_>>().join("|")),
        Guard::Public | Guard::SignedIn => None,
    };
    if let (Some(ctx), Some(needed)) = (&ctx, needed) {
        let route = format!("{} {path}", request.method());
        if let Err(e) = govhall_identity::denials::record_denied(&state.db, &ctx.actor(), route, needed).await {
            return AppError::from(e).into_response();
        }
    }
    AppError::new(StatusCode::FORBIDDEN, "forbidden", "您没有权限访问此页面或进行此操作").into_response()
}

/// Only a path on this site may be a place to go back to after login.
pub(crate) fn safe_next(next: &str) -> &str {
    // Printable ASCII only: it goes into a Location header as it is.
    let printable = next.bytes().all(|b| b.is_ascii_graphic());
    if printable && next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/account"
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Percent-decoding (a file name in a header); bytes that do not form UTF-8 become U+FFFD.
pub(crate) fn urldecode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl From<IdentityError> for AppError {
    fn from(e: IdentityError) -> Self {
        use govhall_messaging::MessagingError as M;
        let status = match &e {
            IdentityError::Invalid(_) | IdentityError::Field { .. } | IdentityError::Import(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            IdentityError::AlreadyRegistered(_) | IdentityError::Conflict(_) => StatusCode::CONFLICT,
            IdentityError::BadCredentials | IdentityError::Unauthenticated => StatusCode::UNAUTHORIZED,
            IdentityError::Locked(_)
            | IdentityError::Throttled
            | IdentityError::ChallengeRequired
            | IdentityError::CodeDailyLimit => StatusCode::TOO_MANY_REQUESTS,
            IdentityError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            IdentityError::Disabled | IdentityError::Forbidden => StatusCode::FORBIDDEN,
            IdentityError::NotFound(_) => StatusCode::NOT_FOUND,
            IdentityError::Messaging(M::CodeTooSoon(_)) => StatusCode::TOO_MANY_REQUESTS,
            IdentityError::Messaging(M::InvalidRecipient(_) | M::CodeWrong | M::CodeExpired | M::CodeLocked) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            IdentityError::Db(db) if db.code() == "database_busy" => StatusCode::SERVICE_UNAVAILABLE,
            _ => return AppError::internal(e),
        };
        AppError::coded(status, &e)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_paths_of_this_site_are_places_to_go_back_to() {
        use super::safe_next;
        assert_eq!(safe_next("/admin/items?q=x"), "/admin/items?q=x");
        for bad in ["//evil.example", "https://evil.example", "/a\r\nX: y", "/账号", "/\\evil", "", "/a b"] {
            assert_eq!(safe_next(bad), "/account", "{bad:?}");
        }
    }
}
