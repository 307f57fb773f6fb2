//! The enterprises of the signed-in person through the API: their memberships with each
//! enterprise's details, and 企业信息维护 for administrators.

use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use govhall_identity::EnterpriseId;
use govhall_identity::enterprises::EnterpriseDetails;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// 企业信息。
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct DetailsBody {
    /// 企业名称（1 到 100 个字）
    name: String,
    /// 法定代表人（1 到 50 个字）
    legal_representative: String,
    /// 企业地址（可空，至多 200 个字）
    #[serde(default)]
    address: String,
    /// 联系人（可空）
    #[serde(default)]
    contact_name: String,
    /// 联系电话（手机号码，可空）
    #[serde(default)]
    contact_phone: String,
}

impl From<EnterpriseDetails> for DetailsBody {
    fn from(d: EnterpriseDetails) -> Self {
        DetailsBody {
            name: d.name,
            legal_representative: d.legal_representative,
            address: d.address,
            contact_name: d.contact_name,
            contact_phone: d.contact_phone,
        }
    }
}

/// 我所在的企业。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EnterpriseOut {
    /// 企业 id
    id: Uuid,
    /// 统一社会信用代码
    credit_code: String,
    /// admin（管理员）或 agent（经办人）
    role: String,
    /// active（已加入）或 invited（待接受邀请）
    status: String,
    /// 企业信息（本人为该企业管理员时）
    details: Option<DetailsBody>,
}

#[utoipa::path(get, path = "/api/v1/me/enterprises", tag = "账号",
    summary = "我所在的企业", security(("bearer" = [])),
    responses((status = 200, description = "企业列表", body = [EnterpriseOut])))]
pub(crate) async fn mine(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
) -> Result<Json<Vec<EnterpriseOut>>, AppError> {
    let mut out = Vec::new();
    for m in state.identity.memberships_of(viewer.account.id).await? {
        // The details (with the contact number) for administrators, as on the page.
        let details = if m.status == "active" && m.role == "admin" {
            let id = EnterpriseId::from_uuid(m.enterprise_id);
            Some(state.identity.enterprise_details(id, viewer.account.id).await?.into())
        } else {
            None
        };
        out.push(EnterpriseOut {
            id: m.enterprise_id,
            credit_code: m.credit_code,
            role: m.role,
            status: m.status,
            details,
        });
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/v1/me/enterprises/{id}/details", tag = "账号",
    summary = "维护企业信息（管理员）", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "企业 id")), request_body = DetailsBody,
    responses((status = 200, description = "已保存（变更记入审计日志）", body = DetailsBody),
        (status = 422, description = "信息有误：invalid_field、invalid_phone 等"),
        (status = 403, description = "不是该企业的管理员：forbidden"),
        (status = 404, description = "企业不存在")))]
pub(crate) async fn update(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<DetailsBody>,
) -> Result<Json<DetailsBody>, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    let details = EnterpriseDetails {
        name: body.name,
        legal_representative: body.legal_representative,
        address: body.address,
        contact_name: body.contact_name,
        contact_phone: body.contact_phone,
    };
    let saved = state
        .identity
        .update_enterprise(&ctx.actor(), EnterpriseId::from_uuid(id), viewer.account.id, &details)
        .await?;
    Ok(Json(saved.into()))
}
