//! Materials given as electronic licences, through the API: the applicant's licences that can
//! stand in for a material, choosing one, and taking it back (the page's 使用电子证照).

use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use govhall_applications::{ApplicationError, ApplicationId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

fn id_of(id: &str) -> Result<ApplicationId, AppError> {
    id.parse().map_err(|_| AppError::from(ApplicationError::NotFound))
}

fn slot_of(slot: &str) -> Result<usize, AppError> {
    slot.parse().map_err(|_| AppError::from(ApplicationError::NotFound))
}

/// 可用于该项材料的电子证照。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UsableLicenceOut {
    /// 证照 id（选用时提交）
    id: Uuid,
    /// 证照标识
    identifier: String,
    /// 证照类型
    type_name: String,
    /// 证照编号
    number: String,
    /// 有效期
    validity: String,
}

#[utoipa::path(get, path = "/api/v1/applications/{id}/materials/{slot}/licences", tag = "在线申报",
    summary = "可用于一项材料的电子证照", security(("bearer" = [])),
    description = "材料标注“可免交，自动调取”时，本人（或以企业名义申报时该企业）今天有效、类型与材料相符的电子证照。",
    params(("id" = Uuid, Path, description = "申报 id"), ("slot" = usize, Path, description = "材料序号（从 0 起）")),
    responses((status = 200, description = "证照列表", body = [UsableLicenceOut]), (status = 404, description = "不存在：application_not_found")))]
pub(crate) async fn usable(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((id, slot)): Path<(String, String)>,
) -> Result<Json<Vec<UsableLicenceOut>>, AppError> {
    let w = state.applications.workspace(viewer.account.id, id_of(&id)?).await?;
    let slot = slot_of(&slot)?;
    if slot >= w.slots.len() {
        return Err(ApplicationError::NotFound.into());
    }
    let mut choices = state.applications.licence_choices(&w).await?;
    let fit = if slot < choices.len() { choices.swap_remove(slot) } else { Vec::new() };
    Ok(Json(
        fit.into_iter()
            .map(|l| UsableLicenceOut {
                id: l.id.as_uuid(),
                validity: l.validity(),
                identifier: l.identifier,
                type_name: l.type_name,
                number: l.number,
            })
            .collect(),
    ))
}

/// 选用的电子证照。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct UseLicenceIn {
    /// 证照 id
    licence_id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/applications/{id}/materials/{slot}/licence", tag = "在线申报",
    summary = "以电子证照代替一项材料（草稿）", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "申报 id"), ("slot" = usize, Path, description = "材料序号（从 0 起）")),
    request_body = UseLicenceIn,
    responses((status = 204, description = "已选用"),
        (status = 422, description = "证照不能用于该材料（类型不符、已注销、已过期或不是本人的）：invalid_input"),
        (status = 404, description = "不存在：application_not_found")))]
pub(crate) async fn use_one(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((id, slot)): Path<(String, String)>,
    Json(body): Json<UseLicenceIn>,
) -> Result<StatusCode, AppError> {
    let licence = govhall_licences::LicenceId::from_uuid(body.licence_id);
    state.applications.use_licence(viewer.account.id, id_of(&id)?, slot_of(&slot)?, licence).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/applications/{id}/materials/{slot}/licence", tag = "在线申报",
    summary = "取消以电子证照代替一项材料（草稿）", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "申报 id"), ("slot" = usize, Path, description = "材料序号（从 0 起）")),
    responses((status = 204, description = "已取消"), (status = 404, description = "不存在：application_not_found")))]
pub(crate) async fn drop_one(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((id, slot)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    state.applications.drop_licence(viewer.account.id, id_of(&id)?, slot_of(&slot)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
