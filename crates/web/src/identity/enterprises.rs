//! Enterprises on the account page: register one, invite members, accept invitations, and
//! choose whom to act for.

use crate::AppError;
use crate::auth::{SignedIn, Viewer};
use crate::html::{after_post, render};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_identity::enterprises::{EnterpriseDetails, Membership};
use govhall_identity::{AccountId, EnterpriseId};
use serde::Deserialize;
use uuid::Uuid;

struct EnterpriseRow {
    membership: Membership,
    acting: bool,
    members: Vec<Membership>,
    /// The details an administrator keeps current (empty for agents).
    details: Option<EnterpriseDetails>,
}

#[derive(Template)]
#[template(path = "identity/enterprises.html")]
struct EnterprisesPage {
    page: Page,
    rows: Vec<EnterpriseRow>,
    form: RegisterForm,
    error: String,
    notice: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    legal_representative: String,
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    page: Page,
    form: RegisterForm,
    error: String,
    notice: &str,
) -> Result<Html<String>, AppError> {
    let mut rows = Vec::new();
    for m in state.identity.memberships_of(viewer.account.id).await? {
        let members = if m.role == "admin" && m.status == "active" {
            state.identity.members(EnterpriseId::from_uuid(m.enterprise_id), viewer.account.id).await?
        } else {
            Vec::new()
        };
        let details = if m.role == "admin" && m.status == "active" {
            Some(state.identity.enterprise_details(EnterpriseId::from_uuid(m.enterprise_id), viewer.account.id).await?)
        } else {
            None
        };
        let acting = viewer.session.acting_enterprise_id == Some(m.enterprise_id);
        rows.push(EnterpriseRow { membership: m, acting, members, details });
    }
    render(EnterprisesPage { page, rows, form, error, notice: notice.to_owned() })
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
        Some("registered") => "企业已登记，您是该企业的管理员",
        Some("invited") => "邀请已记录：对方用该手机号码登录（尚未注册的，注册个人账号）后，在“我的企业”页接受",
        Some("joined") => "已加入企业",
        Some("updated") => "企业信息已保存",
        Some("removed") => "已将该成员移出企业：其不再能查看企业的办件、证照和材料",
        Some("acting") => "已切换办事身份",
        _ => "",
    };
    page(&state, &viewer, Page::new(&state, "我的企业").with(&ctx), RegisterForm::default(), String::new(), notice)
        .await
}

pub(crate) async fn register(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Form(form): Form<RegisterForm>,
) -> Result<Response, AppError> {
    let result = state
        .identity
        .register_enterprise(&ctx.actor(), viewer.account.id, &form.credit_code, &form.name, &form.legal_representative)
        .await;
    after_post(result, "/account/enterprises?done=registered", async |error| {
        page(&state, &viewer, Page::new(&state, "我的企业").with(&ctx), form, error, "").await
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct InviteForm {
    phone: String,
    role: String,
}

pub(crate) async fn invite(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    let result = state
        .identity
        .invite_member(&ctx.actor(), EnterpriseId::from_uuid(id), viewer.account.id, &form.phone, &form.role)
        .await;
    after_post(result, "/account/enterprises?done=invited", async |error| {
        page(&state, &viewer, Page::new(&state, "我的企业").with(&ctx), RegisterForm::default(), error, "").await
    })
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct DetailsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    legal_representative: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
}

impl From<DetailsForm> for EnterpriseDetails {
    fn from(f: DetailsForm) -> Self {
        EnterpriseDetails {
            name: f.name,
            legal_representative: f.legal_representative,
            address: f.address,
            contact_name: f.contact_name,
            contact_phone: f.contact_phone,
        }
    }
}

/// 企业信息维护 (administrators).
pub(crate) async fn update_details(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<DetailsForm>,
) -> Result<Response, AppError> {
    let result = state
        .identity
        .update_enterprise(&ctx.actor(), EnterpriseId::from_uuid(id), viewer.account.id, &form.into())
        .await;
    after_post(result, "/account/enterprises?done=updated", async |error| {
        page(&state, &viewer, Page::new(&state, "我的企业").with(&ctx), RegisterForm::default(), error, "").await
    })
    .await
}

pub(crate) async fn remove_member(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path((id, member)): Path<(Uuid, Uuid)>,
) -> Result<Response, AppError> {
    let result = state
        .identity
        .remove_member(&ctx.actor(), EnterpriseId::from_uuid(id), viewer.account.id, AccountId::from_uuid(member))
        .await;
    after_post(result, "/account/enterprises?done=removed", async |error| {
        page(&state, &viewer, Page::new(&state, "我的企业").with(&ctx), RegisterForm::default(), error, "").await
    })
    .await
}

pub(crate) async fn accept(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    state.identity.accept_invitation(&ctx.actor(), EnterpriseId::from_uuid(id), viewer.account.id).await?;
    Ok(Redirect::to("/account/enterprises?done=joined").into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActForm {
    #[serde(default)]
    enterprise: String,
}

pub(crate) async fn act_for(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Form(form): Form<ActForm>,
) -> Result<Response, AppError> {
    let enterprise = match form.enterprise.trim() {
        "" => None,
        id => Some(EnterpriseId::from_uuid(Uuid::parse_str(id).map_err(|_| {
            AppError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_enterprise",
                "请从“我的企业”中选择要代表的企业",
            )
        })?)),
    };
    state.identity.act_for(&ctx.actor(), viewer.session.session_id(), viewer.account.id, enterprise).await?;
    Ok(Redirect::to("/account/enterprises?done=acting").into_response())
}
