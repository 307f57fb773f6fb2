//! Registering a person: mobile number verified by an SMS code, real name, ID number, password.

use crate::AppError;
use crate::auth::RequestContext;
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_identity::IdentityError;
use govhall_identity::accounts::Registration;
use govhall_identity::codes::{Challenge, CodeRequest};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "identity/register.html")]
struct RegisterPage {
    page: Page,
    form: RegisterForm,
    error: String,
    notice: String,
    /// A proof-of-work challenge, when codes are asked for too often from here.
    challenge: Option<Challenge>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    phone: String,
    /// The answer to a proof-of-work challenge, when one was asked.
    #[serde(default)]
    proof: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    real_name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default, skip_serializing)]
    password_again: String,
}

pub(crate) async fn register_page(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Html<String>, AppError> {
    render(RegisterPage {
        page: Page::new(&state, "注册个人账号").with(&ctx),
        form: RegisterForm::default(),
        error: String::new(),
        notice: String::new(),
        challenge: None,
    })
}

pub(crate) async fn register(
    State(state): State<AppState>,
    ctx: RequestContext,
    Form(mut form): Form<RegisterForm>,
) -> Result<Response, AppError> {
    let mut challenged = false;
    let result = if form.action == "send_code" {
        let request = code_request(&ctx, &form.proof);
        state.identity.send_registration_code(&form.phone, &request).await.map(|()| false)
    } else if form.password != form.password_again {
        Err(IdentityError::field("password_mismatch", "两次输入的密码不一致"))
    } else {
        let registration = Registration {
            phone: form.phone.clone(),
            code: form.code.clone(),
            password: form.password.clone(),
            real_name: form.real_name.clone(),
            id_number: form.id_number.clone(),
        };
        state.identity.register_person(&registration, &ctx.client_ip).await.map(|_| true)
    };
    let (status, error, notice) = match result {
        Ok(true) => return Ok(Redirect::to("/login?done=registered").into_response()),
        Ok(false) => (StatusCode::OK, String::new(), CODE_SENT.to_owned()),
        Err(e) => {
            challenged = matches!(e, IdentityError::ChallengeRequired);
            let (status, error) = form_error(e)?;
            (status, error, String::new())
        }
    };
    // Everything typed comes back, except the passwords.
    form.password.clear();
    form.password_again.clear();
    form.proof.clear();
    let challenge = challenged.then(|| state.identity.challenge());
    let mut page = Page::new(&state, "注册个人账号").with(&ctx);
    if challenge.is_some() {
        page = page.with_challenge_script();
    }
    let page = RegisterPage { page, form, error, notice, challenge };
    Ok(with_status(status, render(page)?))
}

/// What the send-code buttons say, whether or not the number has an account.
pub(crate) const CODE_SENT: &str = "验证码已发送，5 分钟内有效（如该号码已注册过，短信会告诉您如何找回密码）";

/// A request for a code from this client, with the answer to a challenge if the form carries one.
pub(crate) fn code_request(ctx: &RequestContext, proof: &str) -> CodeRequest {
    CodeRequest { client_ip: ctx.client_ip.clone(), proof: Some(proof.trim().to_owned()).filter(|p| !p.is_empty()) }
}
