//! 项目档案 on the web and in the API: an enterprise's investment projects, each dossier by
//! stage with its cases and approvals (批文), and the staff's view of a dossier that holds a case
//! they may see.

use crate::AppError;
use crate::auth::{RequestContext, SignedIn, Viewer};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_cases::CaseError;
use govhall_cases::files::NewFile;
use govhall_cases::projects::{Approval, ApprovalId, Dossier, Project, ProjectId, ProjectInput};
use govhall_identity::EnterpriseId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

fn project_of(text: &str) -> Result<ProjectId, AppError> {
    text.parse().map_err(|_| AppError::not_found())
}

struct EnterpriseProjects {
    id: Uuid,
    name: String,
    projects: Vec<Project>,
    /// Stage, projects at it, their scale and land area.
    by_stage: Vec<(String, usize, String, String)>,
}

#[derive(Template)]
#[template(path = "cases/projects.html")]
struct ProjectsPage {
    page: Page,
    enterprises: Vec<EnterpriseProjects>,
    stages: Vec<String>,
    error: String,
}

fn totals(stages: &[String], projects: &[Project]) -> Vec<(String, usize, String, String)> {
    stages
        .iter()
        .map(|s| {
            let at: Vec<&Project> = projects.iter().filter(|p| p.stage == *s).collect();
            let scale = at.iter().filter_map(|p| p.scale_yuan).fold(0_i64, i64::saturating_add);
            let land = at.iter().filter_map(|p| p.land_centi_m2).fold(0_i64, i64::saturating_add);
            let sum = Project { scale_yuan: Some(scale), land_centi_m2: Some(land), ..empty() };
            (s.clone(), at.len(), sum.scale_label(), sum.land_label())
        })
        .collect()
}

fn empty() -> Project {
    Project {
        id: Uuid::nil(),
        enterprise_id: Uuid::nil(),
        name: String::new(),
        code: String::new(),
        scale_yuan: None,
        land_centi_m2: None,
        stage: String::new(),
        created_at: chrono::DateTime::UNIX_EPOCH,
    }
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    error: String,
) -> Result<Html<String>, AppError> {
    let me = viewer.account.id;
    let stages = state.cases.project_stages().to_vec();
    let mut enterprises = Vec::new();
    for m in state.identity.memberships_of(me).await? {
        if m.status != "active" {
            continue;
        }
        let projects = state.cases.projects(me, EnterpriseId::from_uuid(m.enterprise_id)).await?;
        let by_stage = totals(&stages, &projects);
        enterprises.push(EnterpriseProjects { id: m.enterprise_id, name: m.enterprise_name, projects, by_stage });
    }
    render(ProjectsPage { page: Page::new(state, "项目档案").with(ctx), enterprises, stages, error })
}

pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<Html<String>, AppError> {
    list_page(&state, &viewer, &ctx, String::new()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct ProjectForm {
    #[serde(default)]
    enterprise: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    scale_wan: String,
    #[serde(default)]
    land_m2: String,
    #[serde(default)]
    stage: String,
}

impl ProjectForm {
    fn input(&self) -> ProjectInput {
        ProjectInput {
            name: self.name.clone(),
            code: self.code.clone(),
            scale_wan: self.scale_wan.clone(),
            land_m2: self.land_m2.clone(),
            stage: self.stage.clone(),
        }
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    axum::Form(form): axum::Form<ProjectForm>,
) -> Result<Response, AppError> {
    let enterprise = Uuid::parse_str(form.enterprise.trim()).map_err(|_| AppError::not_found())?;
    let created = state
        .cases
        .create_project(&ctx.actor(), viewer.account.id, EnterpriseId::from_uuid(enterprise), &form.input())
        .await;
    match created {
        Ok(id) => Ok(Redirect::to(&format!("/account/projects/{id}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, list_page(&state, &viewer, &ctx, error).await?))
        }
    }
}

/// A case line as the dossier page shows it.
struct LineView {
    serial: String,
    item: String,
    department: String,
    step: String,
    elapsed: String,
    remaining: String,
    staff_link: String,
}

struct StageRow {
    name: String,
    done: bool,
    next: bool,
    lines: Vec<LineView>,
    hidden: usize,
    approvals: Vec<Approval>,
}

#[derive(Template)]
#[template(path = "cases/project.html")]
struct DossierPage {
    page: Page,
    dossier: Dossier,
    stages: Vec<StageRow>,
    stage_names: Vec<String>,
    staff: bool,
    notice: String,
    error: String,
}

fn stage_rows(d: &Dossier, staff: bool) -> Vec<StageRow> {
    d.stages
        .iter()
        .map(|s| StageRow {
            name: s.name.clone(),
            done: s.done,
            next: d.next_stage.as_deref() == Some(s.name.as_str()),
            hidden: s.hidden,
            approvals: s.approvals.clone(),
            lines: s
                .cases
                .iter()
                .map(|l| LineView {
                    serial: l.serial_number.clone(),
                    item: l.item_name.clone(),
                    department: l.department_name.clone(),
                    step: l
                        .outcome
                        .map_or_else(|| l.step_name.clone(), |o| format!("{}（{}）", l.step_name, o.label())),
                    elapsed: l.elapsed_days.map_or_else(|| "未受理".into(), |d| format!("{d} 个工作日")),
                    remaining: match l.remaining_days {
                        Some(n) if n < 0 => format!("已超期 {} 个工作日", -n),
                        Some(n) => format!("剩余 {n} 个工作日"),
                        None => "—".into(),
                    },
                    staff_link: if staff {
                        format!("/admin/cases/{}", l.case_id)
                    } else {
                        format!("/account/cases/{}", l.serial_number)
                    },
                })
                .collect(),
        })
        .collect()
}

async fn dossier_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    id: ProjectId,
    notice: &str,
    error: String,
) -> Result<Html<String>, AppError> {
    let dossier = state.cases.dossier(viewer.account.id, id).await?;
    render(DossierPage {
        page: Page::new(state, &format!("项目档案：{}", dossier.project.name)).with(ctx),
        stages: stage_rows(&dossier, false),
        stage_names: state.cases.project_stages().to_vec(),
        dossier,
        staff: false,
        notice: notice.to_owned(),
        error,
    })
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Html<String>, AppError> {
    let notice = match q.get("done").map(String::as_str) {
        Some("updated") => "项目信息已保存",
        Some("case") => "办件已加入项目档案",
        Some("approval") => "批文已加入项目档案",
        _ => "",
    };
    dossier_page(&state, &viewer, &ctx, project_of(&id)?, notice, String::new()).await
}

/// Answers a dossier form: back to the dossier with `done`, or the page with its error.
async fn after(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    id: ProjectId,
    result: Result<(), CaseError>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/account/projects/{id}?done={done}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, dossier_page(state, viewer, ctx, id, "", error).await?))
        }
    }
}

pub(crate) async fn update(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<ProjectForm>,
) -> Result<Response, AppError> {
    let id = project_of(&id)?;
    let result = state.cases.update_project(&ctx.actor(), viewer.account.id, id, &form.input()).await;
    after(&state, &viewer, &ctx, id, result, "updated").await
}

#[derive(Debug, Deserialize)]
pub(crate) struct CaseForm {
    #[serde(default)]
    serial: String,
    #[serde(default)]
    stage: String,
}

pub(crate) async fn add_case(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<CaseForm>,
) -> Result<Response, AppError> {
    let id = project_of(&id)?;
    let result = state.cases.add_project_case(&ctx.actor(), viewer.account.id, id, &form.serial, &form.stage).await;
    after(&state, &viewer, &ctx, id, result, "case").await
}

/// 添加批文: a multipart form (its CSRF token in its address) with the approval's fields and
/// an optional file.
pub(crate) async fn add_approval(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let id = project_of(&id)?;
    let broken = |_| AppError::new(StatusCode::BAD_REQUEST, "invalid_multipart", "提交的内容格式有误，请重新填写");
    let mut fields = BTreeMap::new();
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(broken)?;
            if !file_name.is_empty() || !bytes.is_empty() {
                file = Some(NewFile { file_name, bytes: bytes.to_vec(), result: false, material: String::new() });
            }
        } else {
            fields.insert(name, field.text().await.map_err(broken)?);
        }
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let result = match chrono::NaiveDate::parse_from_str(get("issued_on").trim(), "%Y-%m-%d") {
        Ok(issued_on) => {
            let approval = Approval {
                id: Uuid::nil(),
                stage: get("stage"),
                title: get("title"),
                number: get("number"),
                issuer: get("issuer"),
                issued_on,
                file_name: None,
            };
            state.cases.add_approval(&ctx.actor(), viewer.account.id, id, &approval, file).await.map(|_| ())
        }
        Err(_) => Err(CaseError::InvalidInput("发文日期应为 YYYY-MM-DD 格式的日期".into())),
    };
    after(&state, &viewer, &ctx, id, result, "approval").await
}

pub(crate) async fn approval_file(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path((id, approval)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let approval: ApprovalId = approval.parse().map_err(|_| AppError::not_found())?;
    let (name, kind, bytes) = state.cases.approval_file(viewer.account.id, project_of(&id)?, approval).await?;
    Ok(crate::download::attachment(&name, &kind, bytes))
}

/// Staff: a dossier holding a case they may see.
pub(crate) async fn staff_show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let dossier = state.cases.staff_dossier(&viewer.access, project_of(&id)?).await?;
    render(DossierPage {
        page: Page::new(&state, &format!("项目档案：{}", dossier.project.name)).with(&ctx),
        stages: stage_rows(&dossier, true),
        stage_names: Vec::new(),
        dossier,
        staff: true,
        notice: String::new(),
        error: String::new(),
    })
}

/// 项目（新建或修改）。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ProjectIn {
    /// 企业 id（新建时）
    #[serde(default)]
    enterprise_id: Option<Uuid>,
    /// 项目名称
    name: String,
    /// 投资项目代码（可空）
    #[serde(default)]
    code: String,
    /// 投资规模（万元，可空，最多 4 位小数）
    #[serde(default)]
    scale_wan: String,
    /// 用地面积（平方米，可空，最多 2 位小数）
    #[serde(default)]
    land_m2: String,
    /// 项目阶段（空为第一个阶段）
    #[serde(default)]
    stage: String,
}

/// 新建的项目。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedOut {
    /// 项目 id
    id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/me/projects", tag = "项目档案",
    summary = "新建项目档案", security(("bearer" = [])), request_body = ProjectIn,
    responses((status = 201, description = "已新建", body = CreatedOut),
        (status = 400, description = "信息有误：invalid_input"), (status = 404, description = "不是该企业的有效成员")))]
pub(crate) async fn api_create(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Json(body): Json<ProjectIn>,
) -> Result<(StatusCode, Json<CreatedOut>), AppError> {
    let enterprise = body.enterprise_id.ok_or_else(AppError::not_found)?;
    let input = ProjectInput {
        name: body.name,
        code: body.code,
        scale_wan: body.scale_wan,
        land_m2: body.land_m2,
        stage: body.stage,
    };
    let id = state
        .cases
        .create_project(&ctx.actor(), viewer.account.id, EnterpriseId::from_uuid(enterprise), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedOut { id: id.as_uuid() })))
}

#[utoipa::path(get, path = "/api/v1/me/projects/{id}", tag = "项目档案",
    summary = "项目档案（按阶段的办件、批文、下一阶段）", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "项目 id")),
    responses((status = 200, description = "项目档案", content_type = "application/json"), (status = 404, description = "不存在或无权查看")))]
pub(crate) async fn api_dossier(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Dossier>, AppError> {
    Ok(Json(state.cases.dossier(viewer.account.id, project_of(&id)?).await?))
}

/// 加入项目档案的办件。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CaseIn {
    /// 申办编号（须为以本企业名义申报的办件）
    serial_number: String,
    /// 项目阶段
    stage: String,
}

#[utoipa::path(post, path = "/api/v1/me/projects/{id}/cases", tag = "项目档案",
    summary = "把办件加入项目档案", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "项目 id")), request_body = CaseIn,
    responses((status = 204, description = "已加入"), (status = 400, description = "办件不是本企业的、已在其他档案中或阶段有误：invalid_input"),
        (status = 404, description = "不存在或无权查看")))]
pub(crate) async fn api_add_case(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<CaseIn>,
) -> Result<StatusCode, AppError> {
    state
        .cases
        .add_project_case(&ctx.actor(), viewer.account.id, project_of(&id)?, &body.serial_number, &body.stage)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
