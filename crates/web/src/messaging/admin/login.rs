//! Sign-in and sign-out with the interim admin token.

use super::{render, with_status};
use crate::AppError;
use crate::admin_auth::{constant_time_eq, cookie_value, is_https, safe_next, same_origin, set_cookie};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    page: Page,
    next: String,
    error: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

pub(crate) async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<LoginQuery>,
) -> Result<Html<String>, AppError> {
    render(LoginPage {
        page: Page::new(&state, "管理员登录"),
        next: safe_next(q.next.as_deref().unwrap_or_default()).to_owned(),
        error: String::new(),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    token: String,
    next: Option<String>,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    same_origin(&headers)?;
    let token = &state.web.admin_token;
    let next = safe_next(form.next.as_deref().unwrap_or_default()).to_owned();
    if token.is_empty() {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "管理后台未启用：请在配置中设置 web.admin_token",
        ));
    }
    if !state.admin_logins.allowed() {
        let page = LoginPage {
            page: Page::new(&state, "管理员登录"),
            next,
            error: "登录失败次数过多，请15分钟后再试".to_owned(),
        };
        return Ok(with_status(StatusCode::TOO_MANY_REQUESTS, render(page)?));
    }
    if !constant_time_eq(form.token.trim().as_bytes(), token.expose().as_bytes()) {
        state.admin_logins.failed();
        tracing::warn!("admin login with a wrong token");
        let page = LoginPage { page: Page::new(&state, "管理员登录"), next, error: "令牌不正确".to_owned() };
        return Ok(with_status(StatusCode::UNAUTHORIZED, render(page)?));
    }
    let mut response = Redirect::to(&next).into_response();
    let cookie = set_cookie(Some(&cookie_value(token.expose(), state.db.now().timestamp())), is_https(&headers));
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(AppError::internal)?);
    Ok(response)
}

pub(crate) async fn logout(headers: HeaderMap) -> Result<Response, AppError> {
    same_origin(&headers)?;
    let mut response = Redirect::to("/admin/login").into_response();
    let cookie = set_cookie(None, is_https(&headers));
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(AppError::internal)?);
    Ok(response)
}
