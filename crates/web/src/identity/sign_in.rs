//! Signing in and out, and resetting a forgotten password by SMS code.

use crate::AppError;
use crate::auth::{RequestContext, SESSION_COOKIE, SignedIn, is_https, safe_next, set_cookie};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_identity::sessions::{Credentials, SessionKind};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "identity/login.html")]
struct LoginPage {
    page: Page,
    next: String,
    login: String,
    error: String,
    notice: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
    done: Option<String>,
}

pub(crate) async fn login_page(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<NextQuery>,
) -> Result<Html<String>, AppError> {
    let notice = match q.done.as_deref() {
        Some("registered") => "注册成功，请登录",
        Some("reset") => "密码已重置，请使用新密码登录",
        _ => "",
    };
    render(LoginPage {
        page: Page::new(&state, "登录").with(&ctx),
        next: safe_next(q.next.as_deref().unwrap_or_default()).to_owned(),
        login: String::new(),
        error: String::new(),
        notice: notice.to_owned(),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    login: String,
    password: String,
    next: Option<String>,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(form.next.as_deref().unwrap_or_default()).to_owned();
    let creds = Credentials {
        login: form.login.clone(),
        password: form.password,
        client_ip: ctx.client_ip.clone(),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned(),
        signed_in_admin: ctx
            .viewer
            .as_ref()
            .is_some_and(|v| matches!(v.account.kind, govhall_identity::AccountKind::Admin(_))),
    };
    match state.identity.login(&creds, SessionKind::Web).await {
        Ok(session) => {
            let max_age = (session.expires_at - state.db.now()).num_seconds();
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, Some(&session.token), max_age, is_https(&headers)),
            );
            Ok(response)
        }
        Err(e) => {
            let (status, error) = form_error(e)?;
            let page = LoginPage {
                page: Page::new(&state, "登录").with(&ctx),
                next,
                login: form.login,
                error,
                notice: String::new(),
            };
            Ok(with_status(status, render(page)?))
        }
    }
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    state.identity.logout(&ctx.actor(), viewer.session.session_id()).await?;
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, None, 0, is_https(&headers)));
    Ok(response)
}

#[derive(Template)]
#[template(path = "identity/reset.html")]
struct ResetPage {
    page: Page,
    phone: String,
    error: String,
    notice: String,
    /// A proof-of-work challenge, when codes are asked for too often from here.
    challenge: Option<govhall_identity::codes::Challenge>,
}

pub(crate) async fn reset_page(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    render(ResetPage {
        page: Page::new(&state, "找回密码 / 激活账号").with(&ctx),
        phone: String::new(),
        error: String::new(),
        notice: String::new(),
        challenge: None,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResetForm {
    action: String,
    phone: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    proof: String,
}

pub(crate) async fn reset(
    State(state): State<AppState>,
    ctx: RequestContext,
    Form(form): Form<ResetForm>,
) -> Result<Response, AppError> {
    let mut challenged = false;
    let result = if form.action == "send_code" {
        let request = crate::identity::register::code_request(&ctx, &form.proof);
        state.identity.send_reset_code(&form.phone, &request).await.map(|()| None)
    } else if form.password != form.password_again {
        Err(govhall_identity::IdentityError::field("password_mismatch", "两次输入的新密码不一致"))
    } else {
        state.identity.reset_password(&form.phone, &form.code, &form.password, &ctx.client_ip).await.map(Some)
    };
    let (status, error, notice) = match result {
        Ok(Some(_)) => return Ok(Redirect::to("/login?done=reset").into_response()),
        Ok(None) => {
            (StatusCode::OK, String::new(), "验证码已发送，5 分钟内有效（如该号码尚未注册，短信会告诉您）".to_owned())
        }
        Err(e) => {
            challenged = matches!(e, govhall_identity::IdentityError::ChallengeRequired);
            let (status, error) = form_error(e)?;
            (status, error, String::new())
        }
    };
    let challenge = challenged.then(|| state.identity.challenge());
    let mut page = Page::new(&state, "找回密码 / 激活账号").with(&ctx);
    if challenge.is_some() {
        page = page.with_challenge_script();
    }
    let page = ResetPage { page, phone: form.phone, error, notice, challenge };
    Ok(with_status(status, render(page)?))
}
