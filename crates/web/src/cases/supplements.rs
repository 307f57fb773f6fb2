//! The applicant's answer to a request for more (补齐补正) with its files, one upload per
//! requested material, on the web and through the API; and the files of one of their cases
//! (result documents, what they gave) through the API with a bearer token.

use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::extract::{FromRequest, Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use govhall_cases::Case;
use govhall_cases::files::NewFile;
use govhall_cases::progress::Timeline;
use govhall_cases::transition::{Action, By};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Most files one answer carries.
pub(crate) const MAX_SUPPLEMENT_FILES: usize = 10;

/// The applicant's move, as a form, a multipart body or JSON.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct ApplicantForm {
    /// 操作：resubmit 提交补正材料、withdraw 撤回申请（以办件当前可做的操作为准）
    #[serde(default)]
    pub action: String,
    /// 说明
    #[serde(default)]
    pub note: String,
    /// 办件的版本号（防止重复提交），可省略
    #[serde(default)]
    pub revision: Option<i32>,
}

/// The materials the request that is waiting for the applicant asks for (none when the case is
/// not waiting for them, or the request listed none).
pub(crate) async fn requested_now(state: &AppState, c: &Case) -> Result<Vec<String>, AppError> {
    if !c.awaits_applicant() {
        return Ok(Vec::new());
    }
    let events = state.cases.history(c.id).await?;
    Ok(events.iter().rev().find(|e| e.to_step == c.step).map(|e| e.requested.clone()).unwrap_or_default())
}

fn broken() -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, "invalid_form", "表单内容不完整，请重新提交")
}

/// Reads the applicant's move: a plain form or JSON, or multipart with the answer's files —
/// `material.{n}` for the n-th requested material (from 0), or `file` when the request listed
/// none — at most [`MAX_SUPPLEMENT_FILES`], each counted before it is read and read no further
/// than `[cases] max_file_bytes` (the case engine sniffs them like staff's).
pub(crate) async fn applicant_form(
    state: &AppState,
    request: axum::extract::Request,
    requested: &[String],
) -> Result<(ApplicantForm, Vec<NewFile>), AppError> {
    let content_type = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        let Json(form) = Json::<ApplicantForm>::from_request(request, state).await.map_err(|_| broken())?;
        return Ok((form, Vec::new()));
    }
    if !content_type.starts_with("multipart/form-data") {
        let axum::Form(form) = axum::Form::<ApplicantForm>::from_request(request, state).await.map_err(|_| broken())?;
        return Ok((form, Vec::new()));
    }
    let mut parts = axum::extract::Multipart::from_request(request, state).await.map_err(|_| broken())?;
    let mut form = ApplicantForm::default();
    let mut files = Vec::new();
    let max = state.cases.settings().max_file_bytes;
    while let Some(field) = parts.next_field().await.map_err(|_| broken())? {
        let part = field.name().unwrap_or_default().to_owned();
        let material = match part.as_str() {
            "action" => {
                form.action = field.text().await.map_err(|_| broken())?;
                continue;
            }
            "note" => {
                form.note = field.text().await.map_err(|_| broken())?;
                continue;
            }
            "revision" => {
                form.revision = field.text().await.map_err(|_| broken())?.trim().parse().ok();
                continue;
            }
            "file" => String::new(),
            other => match other.strip_prefix("material.").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) => requested.get(n).cloned().ok_or_else(|| {
                    AppError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_material",
                        format!("没有第 {} 项要求补正的材料", n + 1),
                    )
                })?,
                None => continue,
            },
        };
        let name = field.file_name().unwrap_or_default().to_owned();
        if files.len() >= MAX_SUPPLEMENT_FILES && !name.is_empty() {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "too_many_files",
                format!("一次最多提交 {MAX_SUPPLEMENT_FILES} 个文件"),
            ));
        }
        let too_large = || {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file_too_large",
                format!("文件“{name}”超过 {} 的上限", govhall_files::human_size(max as u64)),
            )
        };
        let mut field = field;
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| broken())? {
            if bytes.len() + chunk.len() > max {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        if name.is_empty() && bytes.is_empty() {
            continue;
        }
        files.push(NewFile { file_name: name, bytes, result: false, material });
    }
    Ok((form, files))
}

#[utoipa::path(post, path = "/api/v1/me/cases/{serial}/actions", tag = "办件", summary = "申请人办理办件（提交补正材料、撤回）",
    description = "申请人对自己的办件执行当前环节允许的操作。提交补正材料时用 multipart/form-data：字段 action、note、revision，\
        文件字段 material.{n} 对应补正要求中的第 n 项材料（从 0 起，见进度中的 requested），补正要求未列材料时用 file；\
        一次最多 10 个文件，每个不超过办件附件上限，按内容识别类型（PDF、OFD、PNG、JPG）。撤回可用 JSON。",
    params(("serial" = String, Path, description = "统一申办编号")),
    request_body(content = ApplicantForm, description = "操作"),
    responses((status = 200, description = "办理后的办件进度", body = Object),
        (status = 400, description = "表单不完整、材料不在补正要求中或文件过多：invalid_form、invalid_material、invalid_input、too_many_files"),
        (status = 404, description = "不存在或不是您的办件：case_not_found"),
        (status = 409, description = "办件已变化或当前不能执行该操作"),
        (status = 413, description = "文件过大：file_too_large")))]
pub(crate) async fn api_act(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(serial): Path<String>,
    request: axum::extract::Request,
) -> Result<Json<Timeline>, AppError> {
    let c = state.cases.mine_by_serial(viewer.account.id, &serial).await?;
    let requested = requested_now(&state, &c).await?;
    let (form, files) = applicant_form(&state, request, &requested).await?;
    let actor = ctx.actor();
    let action = Action {
        case: c.id,
        action: form.action,
        note: form.note,
        revision: form.revision,
        files,
        ..Action::default()
    };
    let moved = state.cases.act(By::Applicant(viewer.account.id, &actor), action).await?;
    Ok(Json(state.cases.my_timeline(&moved).await?))
}

/// 办件文件。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaseFileOut {
    /// 文件 id
    id: Uuid,
    /// 文件名
    file_name: String,
    /// result 办理结果文书、attachment 申请人提交的补正材料
    kind: String,
    /// 对应的补正材料（申请人提交的文件）
    material: String,
    /// 类型
    content_type: String,
    /// 字节数
    size: i64,
    /// SHA-256
    sha256: String,
    /// 时间
    created_at: DateTime<Utc>,
    /// 下载地址（凭访问令牌）
    download_url: String,
}

#[utoipa::path(get, path = "/api/v1/me/cases/{serial}/files", tag = "办件", summary = "我的办件的文件",
    description = "办理结果文书，以及本人提交的补正材料。",
    params(("serial" = String, Path, description = "统一申办编号")),
    responses((status = 200, description = "文件列表", body = [CaseFileOut]), (status = 404, description = "不存在或不是您的办件：case_not_found")))]
pub(crate) async fn api_files(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(serial): Path<String>,
) -> Result<Json<Vec<CaseFileOut>>, AppError> {
    let c = state.cases.mine_by_serial(viewer.account.id, &serial).await?;
    let files = state.cases.result_files(viewer.account.id, &c).await?;
    Ok(Json(
        files
            .into_iter()
            .map(|f| CaseFileOut {
                download_url: format!("/api/v1/me/cases/{}/files/{}", c.serial_number, f.id),
                id: f.id.as_uuid(),
                file_name: f.file_name,
                kind: f.kind.as_str().to_owned(),
                material: f.material,
                content_type: f.content_type,
                size: f.size,
                sha256: f.sha256,
                created_at: f.created_at,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/me/cases/{serial}/files/{file}", tag = "办件", summary = "下载我的办件的文件",
    params(("serial" = String, Path, description = "统一申办编号"), ("file" = String, Path, description = "文件 id")),
    responses((status = 200, description = "文件内容"), (status = 404, description = "不存在或不是您的文件：case_not_found")))]
pub(crate) async fn api_file(
    state: State<AppState>,
    viewer: SignedIn,
    path: Path<(String, String)>,
) -> Result<axum::response::Response, AppError> {
    crate::cases::progress::my_file(state, viewer, path).await
}
