//! Roles and grants (the security administrator's pages).

use crate::AppError;
use crate::auth::RequestContext;
use crate::html::{after_post, render};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_identity::rbac::{Grant, Grantee, Group, Role};
use govhall_identity::{AccountId, DepartmentId, GrantId, GroupId, IdentityError, Permission, RoleId, Scope};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "admin/roles.html")]
struct RolesPage {
    page: Page,
    roles: Vec<Role>,
    permissions: Vec<(&'static str, &'static str)>,
    error: String,
}

async fn roles_page(state: &AppState, ctx: &RequestContext, error: String) -> Result<Html<String>, AppError> {
    render(RolesPage {
        page: Page::new(state, "角色管理").with(ctx),
        roles: state.identity.roles().await?,
        permissions: Permission::ALL
            .iter()
            .filter(|p| p.admin_role().is_none())
            .map(|p| (p.name(), p.label()))
            .collect(),
        error,
    })
}

pub(crate) async fn roles(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    roles_page(&state, &ctx, String::new()).await
}

/// The role form: `code`, `name` and one `permission` field per ticked box (so read as pairs).
pub(crate) async fn save_role(
    State(state): State<AppState>,
    ctx: RequestContext,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut permissions = Vec::new();
    let mut unknown = None;
    for (_, name) in fields.iter().filter(|(f, _)| f == "permission") {
        match Permission::from_name(name) {
            Some(p) => permissions.push(p),
            None => unknown = Some(name.clone()),
        }
    }
    let result = match unknown {
        Some(name) => Err(IdentityError::field("unknown_permission", format!("未知的权限“{name}”"))),
        None => state.identity.save_role(&ctx.actor(), get("code").trim(), &get("name"), &permissions).await,
    };
    after_post(result, "/admin/roles", async |error| roles_page(&state, &ctx, error).await).await
}

struct Choice {
    id: String,
    label: String,
}

#[derive(Template)]
#[template(path = "admin/grants.html")]
struct GrantsPage {
    page: Page,
    grants: Vec<Grant>,
    roles: Vec<Choice>,
    accounts: Vec<Choice>,
    groups: Vec<Choice>,
    departments: Vec<Choice>,
    scopes: Vec<(&'static str, &'static str)>,
    error: String,
}

async fn grants_page(state: &AppState, ctx: &RequestContext, error: String) -> Result<Html<String>, AppError> {
    let roles = state.identity.roles().await?;
    let staff = state.identity.list_accounts("staff", None, 1000, 0).await?;
    let groups: Vec<Group> = state.identity.groups().await?;
    let departments = govhall_identity::departments::list(&state.db).await?;
    render(GrantsPage {
        page: Page::new(state, "授权管理").with(ctx),
        grants: state.identity.grants().await?,
        roles: roles
            .into_iter()
            .filter(|r| r.admin_role.is_none())
            .map(|r| Choice { id: r.id.to_string(), label: r.name })
            .collect(),
        accounts: staff
            .into_iter()
            .map(|a| Choice { id: a.id.to_string(), label: format!("{}（{}）", a.real_name, a.phone_masked()) })
            .collect(),
        groups: groups.into_iter().map(|g| Choice { id: g.id.to_string(), label: g.name }).collect(),
        departments: departments.into_iter().map(|d| Choice { id: d.id.to_string(), label: d.name }).collect(),
        scopes: Scope::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        error,
    })
}

pub(crate) async fn grants(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    grants_page(&state, &ctx, String::new()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct GrantForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    grantee_kind: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    scope: String,
}

fn grantee(form: &GrantForm) -> Result<Grantee, IdentityError> {
    let id = |s: &str| Uuid::parse_str(s.trim()).map_err(|_| IdentityError::field("missing_grantee", "请选择授权对象"));
    match form.grantee_kind.as_str() {
        "account" => Ok(Grantee::Account(AccountId::from_uuid(id(&form.account)?))),
        "group" => Ok(Grantee::Group(GroupId::from_uuid(id(&form.group)?))),
        "department" => Ok(Grantee::Department(DepartmentId::from_uuid(id(&form.department)?))),
        _ => Err(IdentityError::field("missing_grantee", "请选择授权对象类型")),
    }
}

pub(crate) async fn create_grant(
    State(state): State<AppState>,
    ctx: RequestContext,
    axum::Form(form): axum::Form<GrantForm>,
) -> Result<Response, AppError> {
    let result = async {
        let role = Uuid::parse_str(form.role.trim()).map_err(|_| IdentityError::field("missing_role", "请选择角色"))?;
        let scope = Scope::parse(&form.scope).ok_or_else(|| IdentityError::field("missing_scope", "请选择数据范围"))?;
        state.identity.grant(&ctx.actor(), RoleId::from_uuid(role), grantee(&form)?, scope).await
    }
    .await;
    after_post(result, "/admin/grants", async |error| grants_page(&state, &ctx, error).await).await
}

pub(crate) async fn revoke_grant(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    state.identity.revoke_grant(&ctx.actor(), GrantId::from_uuid(id)).await?;
    Ok(Redirect::to("/admin/grants").into_response())
}
