//! The materials library through the API (tag 我的材料): the libraries a person may open with
//! their files, adding one (multipart), describing, deleting and downloading one, and, in a
//! draft, the library files a material can take and giving one.

use super::{application_of, material_of, owner_of, owner_text};
use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use govhall_applications::ApplicationError;
use govhall_applications::library::{Description, LibraryMaterial, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// 材料库中的一份材料。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MaterialOut {
    /// 材料 id
    id: Uuid,
    /// 名称
    title: String,
    /// 材料种类（由材料名称归一，不同事项的同类材料相同，如“身份证明”“营业执照”）
    kind: String,
    /// 分类：own（本人材料）、result（政府结果）、other（其他）或 custom:名称
    category: String,
    /// 分类名称
    category_label: String,
    /// 来源：application（办件提交）、added（自行上传）或 result（政府结果：办件的办理结果文书）
    source: String,
    /// 文件名
    file_name: String,
    /// 文件类型
    content_type: String,
    /// 字节数
    size: i64,
    /// SHA-256
    sha256: String,
    /// 有效期至（YYYY-MM-DD；未注明为空）
    valid_until: Option<String>,
    /// 首次随之提交的办件编号
    from_serial: Option<String>,
    /// 存入时间
    created_at: String,
}

impl From<LibraryMaterial> for MaterialOut {
    fn from(m: LibraryMaterial) -> Self {
        MaterialOut {
            id: m.id.as_uuid(),
            category_label: m.category_label(),
            source: m.source.as_str().into(),
            title: m.title,
            kind: m.kind,
            category: m.category,
            file_name: m.file_name,
            content_type: m.content_type,
            size: m.size,
            sha256: m.sha256,
            valid_until: m.valid_until.map(|d| d.to_string()),
            from_serial: m.from_serial,
            created_at: m.created_at.to_rfc3339(),
        }
    }
}

/// 一个材料库。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LibraryOut {
    /// 材料库：me（个人）或企业 id
    owner: String,
    /// 个人姓名或企业名称
    name: String,
    /// manage（可上传、修改、删除）或 use（经办人：可查看、选用）
    role: String,
    /// 已用字节
    used_bytes: i64,
    /// 上限字节
    quota_bytes: u64,
    /// 材料，新的在前
    materials: Vec<MaterialOut>,
}

#[utoipa::path(get, path = "/api/v1/me/materials", tag = "我的材料",
    summary = "我的材料库", security(("bearer" = [])),
    description = "本人的材料库，以及本人为其有效成员的各企业的材料库（管理员可管理，经办人可查看和选用）。",
    responses((status = 200, description = "材料库列表", body = [LibraryOut])))]
pub(crate) async fn libraries(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
) -> Result<Json<Vec<LibraryOut>>, AppError> {
    let mut out = Vec::new();
    for (owner, _, _) in state.applications.libraries(viewer.account.id).await? {
        let l = state.applications.library(viewer.account.id, owner).await?;
        out.push(LibraryOut {
            owner: owner_text(l.owner),
            name: l.owner_name,
            role: if l.role == Role::Manage { "manage" } else { "use" }.into(),
            used_bytes: l.used_bytes,
            quota_bytes: l.quota_bytes,
            materials: l.materials.into_iter().map(MaterialOut::from).collect(),
        });
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/v1/me/materials/{owner}/files", tag = "我的材料",
    summary = "上传材料到材料库", security(("bearer" = [])),
    description = "multipart/form-data：先 title（名称，可空）、category（分类，可空）、valid_until（有效期至，可空），最后 file（PDF、OFD、JPG 或 PNG，按内容识别）。超出空间上限时拒收。",
    params(("owner" = String, Path, description = "me（个人）或企业 id（须为该企业管理员）")),
    responses((status = 201, description = "已保存", body = MaterialOut),
        (status = 422, description = "文件或说明有误：invalid_input、file_type_not_allowed；空间已满：library_quota_exceeded"),
        (status = 403, description = "经办人不能上传：forbidden"),
        (status = 404, description = "不是本人或本人所在企业的材料库：library_material_not_found")))]
pub(crate) async fn add(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(owner): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    use axum::response::IntoResponse;
    let owner = owner_of(viewer.account.id, &owner)?;
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let m = super::pages::stream_into_library(
        &state,
        &ctx.actor(),
        viewer.account.id,
        owner,
        &content_type,
        request.into_body(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(MaterialOut::from(m))).into_response())
}

#[utoipa::path(get, path = "/api/v1/me/materials/files/{id}", tag = "我的材料",
    summary = "下载材料库中的文件", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "材料 id")),
    responses((status = 200, description = "文件（附件）"), (status = 404, description = "不存在或无权查看：library_material_not_found")))]
pub(crate) async fn download(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (m, _) = state.applications.library_material(viewer.account.id, material_of(&id)?).await?;
    super::pages::send(&state, &m).await
}

/// 材料的说明。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct DescriptionIn {
    /// 名称（1 到 60 个字）
    title: String,
    /// 分类：own、result、other、其中文名称，或自定义分类名称；空为 own
    #[serde(default)]
    category: String,
    /// 有效期至（YYYY-MM-DD）；空或不填为未注明
    #[serde(default)]
    valid_until: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/me/materials/files/{id}/description", tag = "我的材料",
    summary = "修改材料的名称、分类和有效期", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "材料 id")), request_body = DescriptionIn,
    responses((status = 200, description = "已修改", body = MaterialOut),
        (status = 422, description = "说明有误：invalid_input"), (status = 403, description = "经办人不能修改：forbidden"),
        (status = 404, description = "不存在或无权查看：library_material_not_found")))]
pub(crate) async fn describe(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<DescriptionIn>,
) -> Result<Json<MaterialOut>, AppError> {
    let description = Description {
        title: body.title,
        category: body.category,
        valid_until: super::pages::valid_until(body.valid_until.as_deref().unwrap_or_default())?,
    };
    let m =
        state.applications.describe_material(&ctx.actor(), viewer.account.id, material_of(&id)?, description).await?;
    Ok(Json(m.into()))
}

#[utoipa::path(delete, path = "/api/v1/me/materials/files/{id}", tag = "我的材料",
    summary = "从材料库删除材料", security(("bearer" = [])),
    description = "办理中的办件使用了该材料时拒绝（办结后可删除）；已提交的申报仍保留其文件。",
    params(("id" = Uuid, Path, description = "材料 id")),
    responses((status = 204, description = "已删除"), (status = 409, description = "办理中的办件正在使用：library_material_in_use"),
        (status = 403, description = "经办人不能删除：forbidden"), (status = 404, description = "不存在或无权查看：library_material_not_found")))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.applications.delete_material(&ctx.actor(), viewer.account.id, material_of(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 可用于该项材料的材料库文件。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChoiceOut {
    /// 材料
    #[serde(flatten)]
    material: MaterialOut,
    /// 是否与该项材料同类（排在前面）
    matching: bool,
}

#[utoipa::path(get, path = "/api/v1/applications/{id}/materials/{slot}/library", tag = "我的材料",
    summary = "可用于一项材料的材料库文件（草稿）", security(("bearer" = [])),
    description = "该申报所属材料库（个人申报为个人材料库，以企业名义申报为该企业材料库）中未过期、格式符合要求且尚未用于该项的文件，同类材料在前。",
    params(("id" = Uuid, Path, description = "申报 id"), ("slot" = usize, Path, description = "材料序号（从 0 起）")),
    responses((status = 200, description = "文件列表", body = [ChoiceOut]), (status = 404, description = "不存在：application_not_found")))]
pub(crate) async fn choices(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((id, slot)): Path<(String, String)>,
) -> Result<Json<Vec<ChoiceOut>>, AppError> {
    let w = state.applications.workspace(viewer.account.id, application_of(&id)?).await?;
    let slot: usize = slot.parse().map_err(|_| AppError::from(ApplicationError::NotFound))?;
    let Some(s) = w.slots.get(slot) else { return Err(ApplicationError::NotFound.into()) };
    let kind = govhall_applications::kinds::of(&s.material.name);
    let mut all = state.applications.library_choices(&w).await?;
    let fit = if slot < all.len() { all.swap_remove(slot) } else { Vec::new() };
    Ok(Json(fit.into_iter().map(|m| ChoiceOut { matching: m.kind == kind, material: m.into() }).collect()))
}

/// 选用的材料。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ReuseIn {
    /// 材料 id
    material_id: Uuid,
}

/// 申报中的文件。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct GivenFileOut {
    /// 文件 id
    id: Uuid,
    /// 文件名
    file_name: String,
    /// 来源说明（取自材料库：…）
    provenance: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/materials/{slot}/library", tag = "我的材料",
    summary = "从材料库选用一份材料（草稿）", security(("bearer" = [])),
    description = "文件以引用方式加入该项材料（不复制），办件中向工作人员注明来源。已过期的材料、他人或其他企业的材料不能选用。",
    params(("id" = Uuid, Path, description = "申报 id"), ("slot" = usize, Path, description = "材料序号（从 0 起）")),
    request_body = ReuseIn,
    responses((status = 201, description = "已加入", body = GivenFileOut),
        (status = 422, description = "不能用于该项（已过期、格式不符、已在该项中、文件数已满）：invalid_input、too_many_files"),
        (status = 404, description = "申报或材料不存在：application_not_found、library_material_not_found")))]
pub(crate) async fn reuse(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((id, slot)): Path<(String, String)>,
    Json(body): Json<ReuseIn>,
) -> Result<(StatusCode, Json<GivenFileOut>), AppError> {
    let slot: usize = slot.parse().map_err(|_| AppError::from(ApplicationError::NotFound))?;
    let material = govhall_applications::library::LibraryMaterialId::from_uuid(body.material_id);
    let f = state.applications.reuse_material(viewer.account.id, application_of(&id)?, slot, material).await?;
    Ok((
        StatusCode::CREATED,
        Json(GivenFileOut { id: f.id.as_uuid(), file_name: f.file_name, provenance: f.provenance }),
    ))
}
