//! `POST /api/v1/serial-numbers` and `GET /api/v1/serial-numbers/{number}`: the province's
//! unified serial number service for the on-site hall system and department systems. Each
//! calling system authenticates with its own key (`X-Api-Key`, made by `govhall client add`),
//! issues under its own service number, and every issue is audited.

use crate::AppError;
use crate::auth::RequestContext;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use govhall_cases::serials;
use govhall_core::{Coded as _, SerialNumber, SerialPrefix};
use govhall_identity::clients::{self, ApiClient};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The calling system named by the request's key, holding `scope`.
async fn client(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    scope: &str,
) -> Result<ApiClient, AppError> {
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or_default();
    if key.is_empty() {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "api_key_required",
            "请在 X-Api-Key 请求头中提供接入系统密钥",
        ));
    }
    let client = clients::authenticate(&state.db, key)
        .await?
        .ok_or_else(|| AppError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "接入系统密钥无效或已停用"))?;
    if !client.may(scope) {
        return Err(AppError::new(StatusCode::FORBIDDEN, "scope_missing", "该接入系统无权使用此接口"));
    }
    if !client.allows(&ctx.client_ip) {
        return Err(AppError::new(StatusCode::FORBIDDEN, "address_not_allowed", "该接入系统不允许从此地址调用"));
    }
    Ok(client)
}

/// 申请编号。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct IssueRequest {
    /// 受理地的 6 位行政区划代码，如 370100
    region_code: String,
    /// 事项性质编码 01 至 99（01 行政许可 … 11 公共服务）
    nature: String,
    /// 幂等键：同一接入系统用同一键重试时返回同一编号（也可用 Idempotency-Key 请求头）
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// 发出的编号。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Issued {
    /// 统一申办编号
    serial_number: String,
}

#[utoipa::path(post, path = "/api/v1/serial-numbers", tag = "统一申办编号", summary = "申请统一申办编号",
    description = "按 区划(2位)+发号服务(2位)+事项性质(2位)+序号(6至9位) 发出全省唯一、同一前缀内递增的编号。需在 X-Api-Key 请求头提供接入系统密钥；发号服务编号为该接入系统的编号。同一幂等键重试返回同一编号。",
    request_body = IssueRequest,
    responses((status = 201, description = "编号", body = Issued), (status = 400, description = "参数有误：invalid_nature_code、unknown_region_code 等"),
        (status = 401, description = "缺少或无效的密钥：api_key_required / invalid_api_key"), (status = 403, description = "无此权限：scope_missing"),
        (status = 409, description = "该前缀序号已用尽：serial_numbers_exhausted")))]
pub(crate) async fn issue(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Json(body): Json<IssueRequest>,
) -> Result<(StatusCode, Json<Issued>), AppError> {
    let client = client(&state, &ctx, &headers, "serial_numbers").await?;
    let nature = match body.nature.trim().parse::<u8>() {
        Ok(n @ 1..=99) => n,
        _ => {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "invalid_nature_code",
                "事项性质编码（nature）应为 01 到 99",
            ));
        }
    };
    let service = u8::try_from(client.service_number).unwrap_or(0);
    let prefix = SerialPrefix::new(body.region_code.trim(), service, nature)
        .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, e.code(), e.message()))?;
    // The code must name a real division (000000 and 990000 have the right shape and no place).
    if govhall_identity::regions::get(&state.db, body.region_code.trim()).await?.is_none() {
        return Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "unknown_region_code",
            "行政区划代码（region_code）不存在：应为现行的 6 位行政区划代码，如 440100",
        ));
    }
    let header_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let key = body.idempotency_key.or(header_key);
    let actor = client.actor(&ctx.client_ip);
    let number = serials::issue(&state.db, &actor, prefix, &client.name, key.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(Issued { serial_number: number.to_string() })))
}

/// 编号的解析结果。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Parsed {
    /// 统一申办编号
    serial_number: String,
    /// 区划部分（行政区划代码第 3、4 位）
    region: String,
    /// 发号服务编号
    service: String,
    /// 事项性质编码
    nature: String,
    /// 序号
    sequence: u64,
    /// 是否已发出
    issued: bool,
    /// 发出时间
    issued_at: Option<DateTime<Utc>>,
    /// 申请该编号的系统
    issuer: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/serial-numbers/{number}", tag = "统一申办编号", summary = "解析统一申办编号",
    description = "解析编号的各部分，并说明是否已发出。需在 X-Api-Key 请求头提供接入系统密钥。",
    params(("number" = String, Path, description = "统一申办编号，12 至 15 位数字")),
    responses((status = 200, description = "解析结果", body = Parsed), (status = 400, description = "编号格式有误：invalid_serial_number"),
        (status = 401, description = "缺少或无效的密钥")))]
pub(crate) async fn parse(
    State(state): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    Path(number): Path<String>,
) -> Result<Json<Parsed>, AppError> {
    client(&state, &ctx, &headers, "serial_numbers").await?;
    let number =
        SerialNumber::parse(&number).map_err(|e| AppError::new(StatusCode::BAD_REQUEST, e.code(), e.message()))?;
    let issued = serials::lookup(&state.db, &number).await?;
    let p = number.prefix();
    Ok(Json(Parsed {
        serial_number: number.to_string(),
        region: format!("{:02}", p.region),
        service: format!("{:02}", p.service),
        nature: format!("{:02}", p.nature),
        sequence: number.sequence(),
        issued: issued.is_some(),
        issued_at: issued.as_ref().map(|i| i.issued_at),
        issuer: issued.map(|i| i.issuer),
    }))
}
