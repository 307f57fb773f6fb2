//! `POST /api/v1/exchange/cases`: a department's system registers a case its own counter took
//! in, so that the applicant can follow it in the hall. Checked and logged as the other calls
//! of the exchange API (`api.rs`).

use super::api::{bad_json, caller, whole};
use crate::AppError;
use crate::auth::RequestContext;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method};
use govhall_cases::model::SubmittedMaterial;
use govhall_cases::offline::Applicant;
use govhall_exchange::register::{Registered, Started};
use serde::Deserialize;
use utoipa::ToSchema;

/// 申请人。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ApplicantIn {
    /// person（个人，身份证号码）或 enterprise（企业，统一社会信用代码）
    kind: String,
    /// 姓名或企业名称
    name: String,
    /// 身份证号码或统一社会信用代码
    number: String,
    /// 联系手机号码（大厅以短信告知办理进度）
    phone: String,
}

/// 收取的一项材料。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct MaterialIn {
    /// 材料名称
    name: String,
    /// 收取方式或文件名（如“纸质原件”）
    #[serde(default)]
    files: Vec<String>,
}

/// 部门系统受理的一件办件。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RegisterRequest {
    /// 幂等键：重发时用同一键，1 至 80 个可见 ASCII 字符
    idempotency_key: String,
    /// 此前由统一申办编号服务发给本系统的编号；不填则由大厅现在发号
    #[serde(default)]
    serial_number: Option<String>,
    /// 事项编码（须为本部门的事项）
    item_code: String,
    /// 申请人
    applicant: ApplicantIn,
    /// 申请表内容
    #[serde(default)]
    form: serde_json::Value,
    /// 收取的材料
    #[serde(default)]
    materials: Vec<MaterialIn>,
    /// 受理的经办人
    handler: String,
}

#[utoipa::path(post, path = "/api/v1/exchange/cases", tag = "部门系统对接", summary = "登记部门系统受理的办件",
    description = "部门在自己的业务系统中受理的办件登记到大厅，申请人可凭申办编号和查询密码在大厅查询进度（有账号的进入“我的办件”）。查询密码只在首次登记时返回，请打印在受理回执上；同一幂等键或同一编号重复登记返回同一办件，query_password 为 null。此后用“回传办理过程和结果”推进办件；该办件不会交付回本系统。",
    request_body = RegisterRequest,
    responses((status = 200, description = "已登记", body = Object),
        (status = 400, description = "JSON 有误：invalid_json；内容有误：invalid_resident_id、invalid_credit_code、invalid_phone、invalid_name、serial_not_issued、serial_in_use、invalid_serial_number"),
        (status = 401, description = "密钥或签名有误"),
        (status = 422, description = "事项不存在或不是本部门的事项：item_unavailable；invalid_input")))]
pub(crate) async fn register(
    State(state): State<AppState>,
    ctx: RequestContext,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Registered>, AppError> {
    let body = whole(body).await?;
    let caller = caller(&state, &ctx, &method, &uri, &headers, &body).await?;
    // The signature covers the bytes as sent: the text is cleaned here, after it was checked.
    let mut value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| bad_json(&e))?;
    crate::text_input::clean_value(&mut value);
    let request: RegisterRequest = serde_json::from_value(value).map_err(|e| bad_json(&e))?;
    let enterprise = match request.applicant.kind.trim() {
        "person" => false,
        "enterprise" => true,
        _ => {
            return Err(AppError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                "applicant.kind 应为 person（个人）或 enterprise（企业）",
            ));
        }
    };
    let started = Started {
        serial_number: request.serial_number,
        idempotency_key: request.idempotency_key,
        item_code: request.item_code,
        applicant: Applicant {
            enterprise,
            name: request.applicant.name,
            number: request.applicant.number,
            phone: request.applicant.phone,
        },
        form: request.form,
        materials: request.materials.into_iter().map(|m| SubmittedMaterial { name: m.name, files: m.files }).collect(),
        handler: request.handler,
    };
    Ok(Json(state.exchange.register(&caller, started, &body).await?))
}
