//! Changing one's mobile number, on the account page and in the API: a code to the new number,
//! then the code with the current password.

use super::account::{PhoneStep, page};
use super::register::code_request;
use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{form_error, with_status};
use crate::layout::Page;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use govhall_identity::IdentityError;
use serde::Deserialize;
use utoipa::ToSchema;

/// What the send-code button says for a new number (taken or not).
const NEW_CODE_SENT: &str =
    "验证码已发送到新号码，5 分钟内有效（如该号码已注册过账号，短信会告诉对方，不会发送验证码）";

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PhoneForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    new_phone: String,
    #[serde(default)]
    proof: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

pub(crate) async fn change(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Form(form): Form<PhoneForm>,
) -> Result<Response, AppError> {
    let account = viewer.account.id;
    let result = if form.action == "send_code" {
        let request = code_request(&ctx, &form.proof);
        state.identity.send_phone_change_code(account, &form.new_phone, &request).await.map(|()| false)
    } else {
        let actor = ctx.actor();
        state.identity.change_phone(&actor, account, &form.new_phone, &form.code, &form.password).await.map(|()| true)
    };
    let (status, error, notice, challenged) = match result {
        Ok(true) => return Ok(Redirect::to("/account?done=phone").into_response()),
        Ok(false) => (StatusCode::OK, String::new(), NEW_CODE_SENT, false),
        Err(e) => {
            let challenged = matches!(e, IdentityError::ChallengeRequired);
            let (status, error) = form_error(e)?;
            (status, error, "", challenged)
        }
    };
    let step = PhoneStep {
        new_phone: form.new_phone.trim().to_owned(),
        challenge: challenged.then(|| state.identity.challenge()),
    };
    let html = page(&state, &viewer, Page::new(&state, "我的账号").with(&ctx), error, notice, step).await?;
    Ok(with_status(status, html))
}

/// 向新手机号码发送验证码。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CodeIn {
    /// 新手机号码
    phone: String,
    /// 要求安全验证时：`<challenge>:<nonce>`，使 SHA-256 的前 bits 位为 0
    #[serde(default)]
    proof: String,
}

#[utoipa::path(post, path = "/api/v1/me/phone/code", tag = "账号",
    summary = "更换手机号码：向新号码发送验证码",
    description = "新号码已注册其他账号时，对方收到告知短信而不是验证码，本接口的应答相同。\
        获取验证码过于频繁时返回 429 challenge_required，应答中的 challenge 和 bits 是安全验证题目：\
        找到 nonce 使 SHA-256(`challenge:nonce`) 的前 bits 位为 0，把 `challenge:nonce` 作为 proof 重新请求。",
    request_body = CodeIn,
    responses(
        (status = 202, description = "已发送（或已告知号码的持有人）"),
        (status = 422, description = "号码有误或与当前号码相同：invalid_phone、same_phone"),
        (status = 429, description = "发送过于频繁：challenge_required（附题目）、code_daily_limit、code_too_soon"),
    ))]
pub(crate) async fn api_code(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Json(body): Json<CodeIn>,
) -> Result<Response, AppError> {
    let request = code_request(&ctx, &body.proof);
    match state.identity.send_phone_change_code(viewer.account.id, &body.phone, &request).await {
        Ok(()) => Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "message": NEW_CODE_SENT }))).into_response()),
        Err(e @ IdentityError::ChallengeRequired) => {
            let error = AppError::from(e);
            let challenge = state.identity.challenge();
            let body = serde_json::json!({
                "code": error.code(),
                "message": error.message(),
                "challenge": challenge.challenge,
                "bits": challenge.bits,
            });
            Ok((StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// 用验证码和当前密码更换手机号码。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ChangeIn {
    /// 新手机号码
    phone: String,
    /// 发到新号码的短信验证码
    code: String,
    /// 当前密码
    password: String,
}

#[utoipa::path(post, path = "/api/v1/me/phone", tag = "账号",
    summary = "更换手机号码",
    description = "先校验当前密码（连续输错会临时锁定，和登录一样），再校验发到新号码的验证码；成功后用新号码登录，原号码收到告知短信。",
    request_body = ChangeIn,
    responses(
        (status = 200, description = "已更换"),
        (status = 409, description = "新号码已注册其他账号：already_registered"),
        (status = 422, description = "密码或验证码不正确：wrong_password、code_wrong、code_expired"),
        (status = 429, description = "密码错误次数过多：account_locked"),
    ))]
pub(crate) async fn api_change(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Json(body): Json<ChangeIn>,
) -> Result<Response, AppError> {
    let actor = ctx.actor();
    state.identity.change_phone(&actor, viewer.account.id, &body.phone, &body.code, &body.password).await?;
    Ok(Json(serde_json::json!({ "message": "手机号码已更换" })).into_response())
}
