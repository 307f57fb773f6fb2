//! Bearer tokens for the mobile app and partners: sign in, see who you are, sign out.

use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use govhall_identity::sessions::{Credentials, SessionKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// 用手机号码或身份证号码和密码登录。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct SessionRequest {
    /// 手机号码或居民身份证号码
    login: String,
    /// 密码
    password: String,
}

/// 新的访问令牌：请求时放在 `Authorization: Bearer <token>` 中；只返回这一次。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionCreated {
    token: String,
    expires_at: DateTime<Utc>,
    account: Me,
}

/// 当前登录的账号；号码已打码。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    id: String,
    kind: String,
    real_name: String,
    phone: String,
    id_number: String,
    permissions: Vec<String>,
}

fn me(account: &govhall_identity::Account, access: &govhall_identity::Access) -> Me {
    Me {
        id: account.id.to_string(),
        kind: account.kind.label().to_owned(),
        real_name: account.real_name.clone(),
        phone: account.phone_masked(),
        id_number: account.id_number_masked(),
        permissions: access.grants.keys().map(|p| p.name().to_owned()).collect(),
    }
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "账号",
    summary = "登录，获取访问令牌",
    description = "用手机号码或身份证号码和密码登录，返回访问令牌（只显示这一次，服务端仅保存其摘要）。\
        连续输错密码会临时锁定账号；同一地址失败过多会被限流。",
    request_body = SessionRequest,
    responses(
        (status = 201, description = "登录成功", body = SessionCreated),
        (status = 401, description = "账号或密码不正确：code 为 bad_credentials"),
        (status = 429, description = "账号在该地址已锁定或尝试过于频繁：code 为 account_locked 或 login_throttled"),
        (status = 503, description = "同时进行的密码校验过多：code 为 busy，稍后重试"),
    ))]
pub(crate) async fn create_session(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Result<Json<SessionRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let Json(body) = body.map_err(|_| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "请求体应为 JSON 对象：{\"login\": \"手机号码或身份证号码\", \"password\": \"密码\"}，两项均为字符串",
        )
    })?;
    let creds = Credentials {
        login: body.login,
        password: body.password,
        client_ip: ctx.client_ip,
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned(),
        signed_in_admin: false,
    };
    let session = state.identity.login(&creds, SessionKind::Api).await?;
    let account = state.identity.account(session.account).await?;
    let access = state.identity.access(session.account).await?;
    let created =
        SessionCreated { token: session.token, expires_at: session.expires_at, account: me(&account, &access) };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(get, path = "/api/v1/me", tag = "账号", summary = "当前账号",
    security(("bearer" = [])),
    responses((status = 200, description = "当前账号（号码已打码）", body = Me), (status = 401, description = "未登录：code 为 unauthenticated")))]
pub(crate) async fn current(SignedIn(viewer, _): SignedIn) -> Json<Me> {
    Json(me(&viewer.account, &viewer.access))
}

#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "账号", summary = "注销当前令牌",
    security(("bearer" = [])),
    responses((status = 204, description = "令牌已失效"), (status = 401, description = "未登录：code 为 unauthenticated")))]
pub(crate) async fn delete_current(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<StatusCode, AppError> {
    state.identity.logout(&ctx.actor(), viewer.session.session_id()).await?;
    Ok(StatusCode::NO_CONTENT)
}
