//! The one error type of the web layer, and how every error response is rendered.
//!
//! Handlers return [`AppError`]; it carries a status, a stable machine code and a Chinese
//! message, and is logged once, here. The [`render_errors`] middleware then turns every error
//! response (ours, and those axum makes itself: unknown routes, wrong methods, bodies too large,
//! malformed JSON, panics) into a Chinese HTML page, or into `{"code", "message"}` JSON under
//! `/api/`. A 5xx body never says anything internal.

use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use govhall_core::Coded;
use serde::Serialize;
use std::fmt;

/// An error on its way to the client.
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Debug for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppError").field("status", &self.status).field("code", &self.code).finish_non_exhaustive()
    }
}

impl AppError {
    /// An error with its status, code and Chinese message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), source: None }
    }

    /// A domain error that knows its code and message, answered with `status`.
    pub fn coded(status: StatusCode, error: &impl Coded) -> Self {
        Self::new(status, error.code(), error.message())
    }

    /// Bad input: 400 with the error's code and message.
    pub fn invalid(error: &impl Coded) -> Self {
        Self::coded(StatusCode::BAD_REQUEST, error)
    }

    /// Nothing here.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "您访问的页面不存在，可能已被移动或删除")
    }

    /// Something failed inside; the client is told nothing more, the log everything.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self { source: Some(source.into()), ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "") }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The Chinese message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<govhall_db::DbError> for AppError {
    fn from(e: govhall_db::DbError) -> Self {
        AppError::internal(e)
    }
}

/// Marks an error response whose body is already the answer (a probe's 503), to be left alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeepBody;

/// Rendered once by [`render_errors`], from the response's extensions.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorBody {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(source) => tracing::error!(code = self.code, error = %source, "request failed"),
                None => tracing::error!(code = self.code, "request failed"),
            }
        } else {
            tracing::debug!(code = self.code, status = self.status.as_u16(), "request refused");
        }
        let message =
            if self.status.is_server_error() { default_message(self.status).to_owned() } else { self.message };
        let mut response = self.status.into_response();
        response.extensions_mut().insert(ErrorBody { code: self.code, message });
        response
    }
}

fn default_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable_entity",
        429 => "too_many_requests",
        503 => "service_unavailable",
        s if s >= 500 => "internal_error",
        _ => "bad_request",
    }
}

fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "请求有误，请检查后重试",
        401 => "请先登录",
        403 => "您没有权限进行此操作",
        404 => "您访问的页面不存在，可能已被移动或删除",
        405 => "不支持此请求方式",
        408 => "请求超时，请重试",
        409 => "数据已被他人修改，请刷新后重试",
        413 => "提交的内容过大",
        415 => "不支持的内容格式",
        422 => "提交的数据格式不正确",
        429 => "操作过于频繁，请稍后再试",
        503 => "系统维护中，请稍后再试",
        _ => "系统繁忙，请稍后再试。如问题持续，请拨打服务热线并提供下方的请求编号",
    }
}

fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "页面不存在",
        403 => "无权访问",
        401 => "请先登录",
        s if s >= 500 => "系统繁忙",
        _ => "请求有误",
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: Page,
    status: u16,
    heading: &'a str,
    message: &'a str,
    code: &'a str,
    request_id: &'a str,
}

#[derive(Serialize)]
struct JsonError<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// Middleware: renders every 4xx and 5xx response the same way.
pub(crate) async fn render_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || response.extensions().get::<KeepBody>().is_some() {
        return response;
    }
    let (parts, _body) = response.into_parts();
    let body = parts
        .extensions
        .get::<ErrorBody>()
        .cloned()
        .unwrap_or_else(|| ErrorBody { code: default_code(status), message: default_message(status).to_owned() });
    let mut rendered = if is_api {
        let rid = status.is_server_error().then_some(request_id.as_str());
        Json(JsonError { code: body.code, message: &body.message, request_id: rid }).into_response()
    } else {
        let page = ErrorPage {
            page: Page::new(&state, title(status)),
            status: status.as_u16(),
            heading: title(status),
            message: &body.message,
            code: body.code,
            request_id: &request_id,
        };
        match page.render() {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "rendering the error page failed");
                Response::new(Body::from(body.message.clone()))
            }
        }
    };
    *rendered.status_mut() = status;
    // Keep what the client needs to act on the error.
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            rendered.headers_mut().insert(name, v.clone());
        }
    }
    rendered.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    rendered
}
