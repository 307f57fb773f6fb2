//! Departments, staff and groups (the system administrator's pages).

use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::html::{after_post, render, time, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_identity::accounts::NewStaff;
use govhall_identity::departments::{self, Department};
use govhall_identity::{AccountId, DepartmentId, GroupId, Permission, regions};
use serde::Deserialize;
use uuid::Uuid;

fn parse_uuid(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s.trim()).ok()
}

#[derive(Template)]
#[template(path = "admin/departments.html")]
struct DepartmentsPage {
    page: Page,
    departments: Vec<Department>,
    provinces: Vec<regions::Region>,
    form: DepartmentForm,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DepartmentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    parent: String,
}

async fn departments_page(
    state: &AppState,
    ctx: &RequestContext,
    form: DepartmentForm,
    error: String,
) -> Result<Html<String>, AppError> {
    render(DepartmentsPage {
        page: Page::new(state, "部门管理").with(ctx),
        departments: departments::list(&state.db).await?,
        provinces: regions::children(&state.db, None).await?,
        form,
        error,
    })
}

pub(crate) async fn departments(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    departments_page(&state, &ctx, DepartmentForm::default(), String::new()).await
}

pub(crate) async fn create_department(
    State(state): State<AppState>,
    ctx: RequestContext,
    Form(form): Form<DepartmentForm>,
) -> Result<Response, AppError> {
    let result = match form.parent.trim() {
        "" => Ok(None),
        p => parse_uuid(p)
            .map(|id| Some(DepartmentId::from_uuid(id)))
            .ok_or_else(|| govhall_identity::IdentityError::field("invalid_parent", "上级部门无效，请从列表中选择")),
    };
    let result = match result {
        Ok(parent) => departments::create(&state.db, &ctx.actor(), &form.name, form.region_code.trim(), parent).await,
        Err(e) => Err(e),
    };
    after_post(result, "/admin/departments", async |error| departments_page(&state, &ctx, form, error).await).await
}

struct StaffRow {
    id: String,
    name: String,
    phone: String,
    department: String,
    active: bool,
    pending: bool,
    last_login: String,
}

#[derive(Template)]
#[template(path = "admin/staff.html")]
struct StaffPage {
    page: Page,
    rows: Vec<StaffRow>,
    departments: Vec<Department>,
    form: StaffForm,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct StaffForm {
    #[serde(default)]
    real_name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    department: String,
}

async fn staff_page(
    state: &AppState,
    ctx: &RequestContext,
    form: StaffForm,
    error: String,
) -> Result<Html<String>, AppError> {
    let access = ctx.viewer.as_ref().map(|v| v.access.clone()).unwrap_or_default();
    let filter = access.filter(Permission::StaffManage);
    let all_departments = departments::list(&state.db).await?;
    let region_of = |id: Option<DepartmentId>| {
        all_departments.iter().find(|d| Some(d.id) == id.map(|i| i.as_uuid())).map(|d| d.region_code.clone())
    };
    let rows = state
        .identity
        .list_accounts("staff", None, 500, 0)
        .await?
        .into_iter()
        .filter(|a| filter.allows(Some(a.id), a.department_id, region_of(a.department_id).as_deref()))
        .map(|a| StaffRow {
            id: a.id.to_string(),
            name: a.real_name.clone(),
            phone: a.phone_masked(),
            department: all_departments
                .iter()
                .find(|d| Some(d.id) == a.department_id.map(|i| i.as_uuid()))
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            active: a.active,
            pending: a.activation_pending,
            last_login: a.last_login_at.map(time).unwrap_or_default(),
        })
        .collect();
    let departments = all_departments
        .into_iter()
        .filter(|d| filter.allows(None, Some(DepartmentId::from_uuid(d.id)), Some(&d.region_code)))
        .collect();
    render(StaffPage { page: Page::new(state, "工作人员管理").with(ctx), rows, departments, form, error })
}

pub(crate) async fn staff(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    staff_page(&state, &ctx, StaffForm::default(), String::new()).await
}

pub(crate) async fn create_staff(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Form(form): Form<StaffForm>,
) -> Result<Response, AppError> {
    let result = match parse_uuid(&form.department).map(DepartmentId::from_uuid) {
        None => Err(govhall_identity::IdentityError::field("missing_department", "请选择所属部门")),
        Some(department) => {
            let region = departments::get(&state.db, department).await?.map(|d| d.region_code);
            let target = govhall_identity::Target { owner: None, department: Some(department), region };
            if !viewer.access.covers(Permission::StaffManage, &target) {
                return Err(AppError::from(govhall_identity::IdentityError::Forbidden));
            }
            let new = NewStaff {
                phone: form.phone.clone(),
                real_name: form.real_name.clone(),
                id_number: form.id_number.clone(),
                department,
            };
            state.identity.create_staff(&ctx.actor(), &new).await
        }
    };
    after_post(result, "/admin/staff", async |error| staff_page(&state, &ctx, form, error).await).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatusForm {
    active: String,
}

pub(crate) async fn set_staff_status(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<StatusForm>,
) -> Result<Response, AppError> {
    let account = state.identity.account(AccountId::from_uuid(id)).await?;
    let region = match account.department_id {
        Some(d) => departments::get(&state.db, d).await?.map(|d| d.region_code),
        None => None,
    };
    let target = govhall_identity::Target { owner: None, department: account.department_id, region };
    if account.kind != govhall_identity::AccountKind::Staff || !viewer.access.covers(Permission::StaffManage, &target) {
        return Err(AppError::not_found());
    }
    state.identity.set_active(&ctx.actor(), account.id, form.active == "true").await?;
    Ok(Redirect::to("/admin/staff").into_response())
}

#[derive(Template)]
#[template(path = "admin/groups.html")]
struct GroupsPage {
    page: Page,
    groups: Vec<govhall_identity::rbac::Group>,
    error: String,
}

async fn groups_page(state: &AppState, ctx: &RequestContext, error: String) -> Result<Html<String>, AppError> {
    render(GroupsPage { page: Page::new(state, "用户组").with(ctx), groups: state.identity.groups().await?, error })
}

pub(crate) async fn groups(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    groups_page(&state, &ctx, String::new()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct GroupForm {
    name: String,
}

pub(crate) async fn create_group(
    State(state): State<AppState>,
    ctx: RequestContext,
    Form(form): Form<GroupForm>,
) -> Result<Response, AppError> {
    let result = state.identity.create_group(&ctx.actor(), &form.name).await;
    after_post(result, "/admin/groups", async |error| groups_page(&state, &ctx, error).await).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct MemberForm {
    account: String,
}

pub(crate) async fn add_member(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<Uuid>,
    Form(form): Form<MemberForm>,
) -> Result<Response, AppError> {
    let Some(account) = parse_uuid(&form.account) else {
        let page = groups_page(&state, &ctx, "请填写工作人员的账号编号".to_owned()).await?;
        return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, page));
    };
    let result = state.identity.add_to_group(&ctx.actor(), GroupId::from_uuid(id), AccountId::from_uuid(account)).await;
    after_post(result, "/admin/groups", async |error| groups_page(&state, &ctx, error).await).await
}
