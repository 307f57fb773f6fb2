//! The application journey for the mobile app: the form and self-check of an item, drafts,
//! answers (merged, errors returned beside them), files streamed as the request body,
//! submission with the serial number and query password.

use super::uploads::send_file;
use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use govhall_applications::drafts::Scope;
use govhall_applications::model::Workspace;
use govhall_applications::{
    ApplicationError, ApplicationFile, ApplicationFileId, ApplicationId, ApplicationState, Task,
};
use govhall_cases::CaseId;
use govhall_catalog::form::{Answers, FieldError};
use govhall_files::Kind;
use govhall_identity::EnterpriseId;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

fn id_of<T: std::str::FromStr>(s: &str) -> Result<T, AppError> {
    s.parse().map_err(|_| AppError::not_found())
}

fn bad_json(e: serde_json::Error) -> AppError {
    let message = if e.is_data() {
        format!("请求内容的字段或类型有误（第 {} 行第 {} 列），请对照接口文档", e.line(), e.column())
    } else {
        format!("请求内容不是有效的 JSON（第 {} 行第 {} 列）", e.line(), e.column())
    };
    AppError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
}

/// 材料的一个上传位置。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SlotOut {
    /// 材料序号（上传时使用）
    index: usize,
    /// 材料名称
    name: String,
    /// 是否必要
    required: bool,
    /// 接受的格式：pdf、ofd、jpeg、png
    formats: Vec<String>,
    /// 单个文件大小上限（字节）
    max_bytes: u64,
    /// 空白模板下载地址
    template_url: String,
    /// 样表下载地址
    sample_url: String,
    /// 已上传的文件
    files: Vec<FileOut>,
    /// 可免交，以电子证照代替（在网页“上传申请材料”中选用）
    from_licence: bool,
    /// 已选用的电子证照（证照类型、编号和证照标识）
    licence: Option<String>,
    /// 已选用的电子证照不再有效时的说明
    licence_problem: Option<String>,
}

/// 已上传的文件。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FileOut {
    /// 文件 id
    #[schema(value_type = Uuid)]
    id: ApplicationFileId,
    /// 文件名（扩展名按实际内容）
    file_name: String,
    /// 内容类型
    content_type: String,
    /// 字节数
    size: i64,
    /// SHA-256
    sha256: String,
}

impl From<&ApplicationFile> for FileOut {
    fn from(f: &ApplicationFile) -> Self {
        FileOut {
            id: f.id,
            file_name: f.file_name.clone(),
            content_type: f.content_type.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
        }
    }
}

/// 事项的申请表与条件自检。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FormOut {
    /// 事项编码
    item_code: String,
    /// 事项名称
    item_name: String,
    /// 办事指南版本
    version: i32,
    /// 是否可以网上申报
    online_apply: bool,
    /// 申请表（sections、fields、rules）
    #[schema(value_type = Object)]
    form: Value,
    /// 条件自检（questions、rules）
    #[schema(value_type = Object)]
    self_check: Value,
    /// 申请材料
    materials: Vec<SlotOut>,
}

#[utoipa::path(get, path = "/api/v1/items/{code}/application-form", tag = "在线申报", summary = "事项的申请表、条件自检和材料",
    params(("code" = String, Path, description = "事项编码")),
    responses((status = 200, description = "申请表", body = FormOut), (status = 404, description = "事项不存在：not_found")))]
pub(crate) async fn item_form(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<FormOut>, AppError> {
    let guide = state.catalog.guide(&code).await?.ok_or_else(AppError::not_found)?;
    let max_bytes = state.applications.settings().max_file_bytes;
    Ok(Json(FormOut {
        item_code: guide.item.code.clone(),
        item_name: guide.item.name.clone(),
        version: guide.version,
        online_apply: guide.content.online_apply,
        form: serde_json::to_value(guide.content.application_form()).map_err(AppError::internal)?,
        self_check: serde_json::to_value(guide.content.self_check()).map_err(AppError::internal)?,
        materials: guide
            .content
            .materials
            .iter()
            .enumerate()
            .map(|(index, m)| SlotOut {
                index,
                name: m.name.clone(),
                required: m.required,
                formats: Kind::from_formats(&m.formats).iter().map(|k| k.extension().to_owned()).collect(),
                max_bytes,
                template_url: super::uploads::safe_link(&m.template_url),
                sample_url: super::uploads::safe_link(&m.sample_url),
                files: Vec::new(),
                from_licence: m.from_license,
                licence: None,
                licence_problem: None,
            })
            .collect(),
    }))
}

/// 条件自检的回答。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct SelfCheckIn {
    /// 问题 key → 所选答案
    answers: BTreeMap<String, String>,
}

#[utoipa::path(post, path = "/api/v1/items/{code}/self-checks", tag = "在线申报", summary = "条件自检",
    description = "返回 outcome：eligible（可以申报）、ineligible（reason 原因、instead 建议）或 unanswered（questions 未回答的问题）。",
    params(("code" = String, Path, description = "事项编码")), request_body = SelfCheckIn,
    responses((status = 200, description = "结论", body = Object), (status = 404, description = "事项不存在：not_found")))]
pub(crate) async fn self_check(
    State(state): State<AppState>,
    Path(code): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let input: SelfCheckIn = serde_json::from_slice(&body).map_err(bad_json)?;
    let guide = state.catalog.guide(&code).await?.ok_or_else(AppError::not_found)?;
    let outcome = guide.content.self_check().decide(&input.answers);
    Ok(Json(serde_json::to_value(outcome).map_err(AppError::internal)?))
}

/// 一份申报（草稿或已提交）。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApplicationOut {
    /// 申报 id
    #[schema(value_type = Uuid)]
    id: ApplicationId,
    /// draft（草稿）、submitting（提交中）或 submitted（已提交）
    #[schema(value_type = String)]
    state: ApplicationState,
    /// 事项编码
    item_code: String,
    /// 事项名称
    item_name: String,
    /// 已填写的内容（字段 key → 值）
    #[schema(value_type = Object)]
    answers: Value,
    /// 来自实名信息、不可修改的字段：key → 来源
    locked: BTreeMap<String, String>,
    /// 任务清单
    #[schema(value_type = Vec<Object>)]
    tasks: Vec<Task>,
    /// 已完成的任务数
    done: usize,
    /// 任务总数
    total: usize,
    /// 当前仍需修改的内容
    #[schema(value_type = Vec<Object>)]
    errors: Vec<FieldError>,
    /// 材料与已上传文件
    materials: Vec<SlotOut>,
    /// 统一申办编号（提交后）
    serial_number: Option<String>,
    /// 最后保存时间
    updated_at: chrono::DateTime<chrono::Utc>,
}

fn out(state: &AppState, w: &Workspace) -> ApplicationOut {
    let (done, total) = w.progress();
    let max_bytes = state.applications.settings().max_file_bytes;
    ApplicationOut {
        id: w.application.id,
        state: w.application.state,
        item_code: w.application.item_code.clone(),
        item_name: w.application.item_name.clone(),
        answers: Value::Object(w.application.answers.clone()),
        locked: w.locked.iter().map(|(k, (_, s))| (k.clone(), (*s).to_owned())).collect(),
        tasks: w.tasks.clone(),
        done,
        total,
        errors: if w.application.is_draft() { state.applications.blockers(w).answers } else { Vec::new() },
        materials: w
            .slots
            .iter()
            .map(|s| SlotOut {
                index: s.index,
                name: s.material.name.clone(),
                required: s.material.required,
                formats: s.kinds.iter().map(|k| k.extension().to_owned()).collect(),
                max_bytes,
                template_url: super::uploads::safe_link(&s.material.template_url),
                sample_url: super::uploads::safe_link(&s.material.sample_url),
                files: s.files.iter().map(FileOut::from).collect(),
                from_licence: s.material.from_license,
                licence: s.licence.as_ref().map(|l| l.label.clone()),
                licence_problem: s.licence.as_ref().and_then(|l| l.problem.clone()),
            })
            .collect(),
        serial_number: w.application.serial_number.clone(),
        updated_at: w.application.updated_at,
    }
}

/// 开始申报。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct StartIn {
    /// 事项编码
    item_code: String,
    /// 以企业名义申报时的企业 id
    #[serde(default)]
    #[schema(value_type = Option<Uuid>)]
    enterprise_id: Option<EnterpriseId>,
}

#[utoipa::path(post, path = "/api/v1/applications", tag = "在线申报", summary = "开始申报（已有草稿则返回草稿）",
    request_body = StartIn, security(("bearer" = [])),
    responses((status = 201, description = "新草稿", body = ApplicationOut), (status = 200, description = "已有的草稿", body = ApplicationOut),
        (status = 409, description = "事项不支持网上申报：item_unavailable"), (status = 403, description = "工作人员账号或非企业经办人：forbidden")))]
pub(crate) async fn start(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let input: StartIn = serde_json::from_slice(&body).map_err(bad_json)?;
    let (id, created) = state.applications.start(viewer.account.id, &input.item_code, input.enterprise_id).await?;
    let w = state.applications.workspace(viewer.account.id, id).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(out(&state, &w))).into_response())
}

/// 草稿列表中的一项。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DraftOut {
    /// 申报 id
    #[schema(value_type = Uuid)]
    id: ApplicationId,
    /// 事项编码
    item_code: String,
    /// 事项名称
    item_name: String,
    /// 已完成的任务数
    done: usize,
    /// 任务总数
    total: usize,
    /// 最后保存时间
    updated_at: chrono::DateTime<chrono::Utc>,
    /// 不再保存将于此时删除
    purge_on: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(get, path = "/api/v1/applications", tag = "在线申报", summary = "我的申报草稿", security(("bearer" = [])),
    responses((status = 200, description = "草稿", body = [DraftOut])))]
pub(crate) async fn drafts(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
) -> Result<Json<Vec<DraftOut>>, AppError> {
    let drafts = state.applications.drafts(viewer.account.id).await?;
    Ok(Json(
        drafts
            .into_iter()
            .map(|d| DraftOut {
                id: d.application.id,
                item_code: d.application.item_code,
                item_name: d.application.item_name,
                done: d.done,
                total: d.total,
                updated_at: d.application.updated_at,
                purge_on: d.purge_on,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/applications/{id}", tag = "在线申报", summary = "一份申报", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "申报 id")),
    responses((status = 200, description = "申报", body = ApplicationOut), (status = 404, description = "不存在或不是您的：application_not_found")))]
pub(crate) async fn one(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<ApplicationOut>, AppError> {
    let w = state.applications.workspace(viewer.account.id, id_of(&id)?).await?;
    Ok(Json(out(&state, &w)))
}

/// 保存内容。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AnswersIn {
    /// 字段 key → 值（只改动给出的字段）
    #[schema(value_type = Object)]
    answers: Answers,
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/answers", tag = "在线申报", summary = "保存内容（暂存）",
    description = "无论是否有误都会保存；返回的 errors 列出仍需修改之处（key 为字段，重复组为 key.行号.列）。",
    params(("id" = Uuid, Path, description = "申报 id")), request_body = AnswersIn, security(("bearer" = [])),
    responses((status = 200, description = "已保存", body = ApplicationOut), (status = 409, description = "已提交：application_submitted"),
        (status = 422, description = "没有该字段：invalid_input")))]
pub(crate) async fn save(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<ApplicationOut>, AppError> {
    let id = id_of(&id)?;
    let input: AnswersIn = serde_json::from_slice(&body).map_err(bad_json)?;
    state.applications.save(viewer.account.id, id, Scope::Merge, &input.answers).await?;
    let w = state.applications.workspace(viewer.account.id, id).await?;
    Ok(Json(out(&state, &w)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct UploadQuery {
    /// 原文件名（也可用 X-File-Name 头，URL 编码）
    name: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/materials/{slot}/files", tag = "在线申报", summary = "上传材料文件",
    description = "请求体即文件内容（流式接收，不缓存整个文件）。按内容识别类型：可执行程序、网页、SVG、脚本一律拒收；图片和 PDF 须能打开。",
    params(("id" = Uuid, Path, description = "申报 id"), ("slot" = usize, Path, description = "材料序号"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"), security(("bearer" = [])),
    responses((status = 201, description = "已保存", body = FileOut), (status = 413, description = "超过大小上限：file_too_large"),
        (status = 422, description = "类型不符、文件损坏或解压后过大：file_type_refused、file_corrupt、file_too_complex、file_empty、materials_incomplete")))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path((id, index)): Path<(String, String)>,
    Query(q): Query<UploadQuery>,
    request: Request,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let index: usize = index.parse().map_err(|_| AppError::not_found())?;
    let header_name = request.headers().get("x-file-name").and_then(|v| v.to_str().ok()).map(crate::auth::urldecode);
    let name = q.name.or(header_name).unwrap_or_else(|| "文件".to_owned());
    let stream = request.into_body().into_data_stream().map_err(|e| e.to_string());
    let f = state.applications.add_file(viewer.account.id, id, index, &name, None, stream).await?;
    Ok((StatusCode::CREATED, Json(FileOut::from(&f))).into_response())
}

#[utoipa::path(delete, path = "/api/v1/applications/{id}/files/{file}", tag = "在线申报", summary = "删除材料文件（草稿）",
    params(("id" = Uuid, Path, description = "申报 id"), ("file" = Uuid, Path, description = "文件 id")), security(("bearer" = [])),
    responses((status = 204, description = "已删除"), (status = 404, description = "不存在：application_not_found")))]
pub(crate) async fn delete_file(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path((id, file)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    state.applications.delete_file(viewer.account.id, id_of(&id)?, id_of(&file)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/applications/{id}/files/{file}", tag = "在线申报", summary = "下载自己上传的文件",
    params(("id" = Uuid, Path, description = "申报 id"), ("file" = Uuid, Path, description = "文件 id")), security(("bearer" = [])),
    responses((status = 200, description = "文件内容"), (status = 404, description = "不存在：application_not_found")))]
pub(crate) async fn download(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let f = state.applications.own_file(viewer.account.id, id_of(&id)?, id_of(&file)?).await?;
    send_file(&state, &f).await
}

/// 提交结果。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubmittedOut {
    /// 办件 id
    #[schema(value_type = Uuid)]
    case_id: CaseId,
    /// 统一申办编号
    serial_number: String,
    /// 查询密码：只在第一次提交时返回，请提示用户妥善保管
    query_password: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/submission", tag = "在线申报", summary = "提交申报",
    description = "重新检查全部内容和必要材料，通过后生成办件。重复提交返回同一办件（不再返回查询密码）。",
    params(("id" = Uuid, Path, description = "申报 id")), security(("bearer" = [])),
    responses((status = 201, description = "已提交", body = SubmittedOut),
        (status = 422, description = "内容或材料不完整：answers_invalid、materials_incomplete"),
        (status = 409, description = "事项已停止网上申报：item_unavailable")))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let done = state.applications.submit(viewer.account.id, id).await?;
    let password = state.applications.reveal_password(viewer.account.id, id).await?;
    let body = SubmittedOut { case_id: done.case_id, serial_number: done.serial_number, query_password: password };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/applications/{id}", tag = "在线申报", summary = "删除草稿",
    params(("id" = Uuid, Path, description = "申报 id")), security(("bearer" = [])),
    responses((status = 204, description = "已删除"), (status = 409, description = "已提交：application_submitted")))]
pub(crate) async fn discard(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.applications.discard(viewer.account.id, id_of(&id)?).await.map_err(|e| match e {
        ApplicationError::Submitted => {
            AppError::new(StatusCode::CONFLICT, "application_submitted", "该申报已提交，不能删除")
        }
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}
