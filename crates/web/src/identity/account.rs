//! The account page: profile (masked), the sessions with sign-out of any or all, the password,
//! the mobile number (changed in [`super::phone`]).

use crate::AppError;
use crate::auth::{SignedIn, Viewer};
use crate::html::{after_post, render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_identity::codes::Challenge;
use govhall_identity::{IdentityError, SessionId};
use serde::Deserialize;
use uuid::Uuid;

struct SessionRow {
    id: String,
    current: bool,
    kind: &'static str,
    client_ip: String,
    user_agent: String,
    created: String,
    last_seen: String,
}

#[derive(Template)]
#[template(path = "identity/account.html")]
struct AccountPage {
    page: Page,
    kind: &'static str,
    real_name: String,
    phone: String,
    id_number: String,
    acting_for: String,
    sessions: Vec<SessionRow>,
    error: String,
    notice: String,
    /// The new number typed in the change-of-number form (kept across its two steps).
    new_phone: String,
    /// A proof-of-work challenge, when codes are asked for too often from here.
    challenge: Option<Challenge>,
}

/// What the change-of-number form shows again.
#[derive(Debug, Default)]
pub(crate) struct PhoneStep {
    pub(crate) new_phone: String,
    pub(crate) challenge: Option<Challenge>,
}

pub(crate) async fn page(
    state: &AppState,
    viewer: &Viewer,
    mut page: Page,
    error: String,
    notice: &str,
    phone_step: PhoneStep,
) -> Result<Html<String>, AppError> {
    if phone_step.challenge.is_some() {
        page = page.with_challenge_script();
    }
    let account = &viewer.account;
    let sessions = state.identity.sessions_of(account.id).await?;
    let acting_for = match viewer.session.acting_enterprise_id {
        Some(e) => state.identity.enterprise(govhall_identity::EnterpriseId::from_uuid(e)).await?.name,
        None => String::new(),
    };
    render(AccountPage {
        page,
        kind: account.kind.label(),
        real_name: account.real_name.clone(),
        phone: account.phone_masked(),
        id_number: account.id_number_masked(),
        acting_for,
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                id: s.id.to_string(),
                current: s.id == viewer.session.id,
                kind: if s.kind == "api" { "应用令牌" } else { "网页登录" },
                client_ip: s.client_ip,
                user_agent: s.user_agent,
                created: time(s.created_at),
                last_seen: time(s.last_seen_at),
            })
            .collect(),
        error,
        notice: notice.to_owned(),
        new_phone: phone_step.new_phone,
        challenge: phone_step.challenge,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    axum::extract::Query(q): axum::extract::Query<Done>,
) -> Result<Html<String>, AppError> {
    let notice = match q.done.as_deref() {
        Some("password") => "密码已修改，其他设备上的登录已退出",
        Some("revoked") => "已退出该登录",
        Some("revoked_all") => "已退出其他所有登录",
        Some("phone") => "手机号码已更换，今后用新号码登录和接收短信；原号码已收到短信告知",
        _ => "",
    };
    let page_ = Page::new(&state, "我的账号").with(&ctx);
    page(&state, &viewer, page_, String::new(), notice, PhoneStep::default()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    current: String,
    password: String,
    password_again: String,
}

pub(crate) async fn change_password(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let result = if form.password == form.password_again {
        state
            .identity
            .change_password(
                &ctx.actor(),
                viewer.account.id,
                &form.current,
                &form.password,
                Some(viewer.session.session_id()),
            )
            .await
    } else {
        Err(IdentityError::field("password_mismatch", "两次输入的新密码不一致"))
    };
    after_post(result, "/account?done=password", async |error| {
        page(&state, &viewer, Page::new(&state, "我的账号").with(&ctx), error, "", PhoneStep::default()).await
    })
    .await
}

pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    state.identity.revoke_session(&ctx.actor(), viewer.account.id, SessionId::from_uuid(id)).await?;
    let to = if id == viewer.session.id { "/login" } else { "/account?done=revoked" };
    Ok(Redirect::to(to).into_response())
}

pub(crate) async fn revoke_others(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<Response, AppError> {
    state.identity.revoke_all_sessions(&ctx.actor(), viewer.account.id, Some(viewer.session.session_id())).await?;
    Ok(Redirect::to("/account?done=revoked_all").into_response())
}
