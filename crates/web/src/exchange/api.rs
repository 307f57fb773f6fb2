//! The API of department systems (docs/exchange.md): `GET /api/v1/exchange/cases` hands over
//! the department's waiting cases with links to their materials, `POST …/cases/ack`
//! acknowledges the ones stored, `GET …/cases/{serial}/files/{file}` downloads a material, and
//! `POST /api/v1/exchange/events` sends back a step or a result. Each request carries the
//! system's key (`X-Api-Key`) and, when its connection asks for it, an HMAC-SM3 signature over
//! the method, path, time, nonce and body; bodies are read as sent (the signature covers
//! their bytes) and their text cleaned here.

use crate::AppError;
use crate::auth::RequestContext;
use crate::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use govhall_cases::files::NewFile;
use govhall_exchange::caller::Request;
use govhall_exchange::events::Incoming;
use govhall_exchange::outbox::Outgoing;
use govhall_exchange::{Caller, signing};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Files one message may carry.
pub(crate) const MAX_EVENT_FILES: usize = 5;

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The calling department system, checked.
pub(super) async fn caller(
    state: &AppState,
    ctx: &RequestContext,
    method: &Method,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, AppError> {
    let path_and_query = uri.0.path_and_query().map(|p| p.as_str()).unwrap_or_else(|| uri.0.path());
    let request = Request {
        key: header(headers, "x-api-key").unwrap_or_default(),
        client_ip: &ctx.client_ip,
        method: method.as_str(),
        path_and_query,
        timestamp: header(headers, signing::TIMESTAMP),
        nonce: header(headers, signing::NONCE),
        signature: header(headers, signing::SIGNATURE),
        body,
    };
    Ok(state.exchange.caller(request).await?)
}

/// The body as sent, bounded by the route's body limit (`router.rs`) rather than the
/// extractors' 2 MB: an event carries its files.
pub(super) async fn whole(body: Body) -> Result<Bytes, AppError> {
    axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "提交的内容过大"))
}

pub(super) fn bad_json(e: &serde_json::Error) -> AppError {
    let message = if e.is_data() {
        format!("请求内容的字段或类型有误（第 {} 行第 {} 列）：{e}，请对照对接文档", e.line(), e.column())
    } else {
        format!("请求内容不是有效的 JSON（第 {} 行第 {} 列）", e.line(), e.column())
    };
    AppError::new(StatusCode::BAD_REQUEST, "invalid_json", message)
}

/// 拉取办件的参数。
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct PullQuery {
    /// 在同一次拉取中翻页：上一页最后一件的 cursor（每次拉取从头开始，不带此参数）
    after: Option<i64>,
    /// 每页件数，1 至 100（默认 50）
    limit: Option<u32>,
}

/// 办件的一个材料文件。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FileLink {
    /// 文件 id
    id: String,
    /// 所属材料
    material: String,
    /// 文件名
    name: String,
    /// 类型
    content_type: String,
    /// 字节数
    size: i64,
    /// SHA-256（十六进制）
    sha256: String,
    /// 下载地址（同样须带密钥和签名）
    download_url: String,
}

#[derive(Debug, Serialize)]
struct CaseOut {
    #[serde(flatten)]
    case: Outgoing,
    files: Vec<FileLink>,
}

#[derive(Debug, Serialize)]
struct PageOut {
    cases: Vec<CaseOut>,
    next_after: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/exchange/cases", tag = "部门系统对接", summary = "拉取待接收的办件",
    description = "按提交先后交付本部门待接收（未确认）的办件：申请人信息、表单、材料及下载地址、当前环节和可回传的办理动作（moves）。交付过未确认的办件会再次交付（redelivered 为 true）；确认后不再交付。每次拉取从头开始，同一次拉取内用 after 翻页。需 X-Api-Key，对接要求签名时须签名。",
    params(PullQuery),
    responses((status = 200, description = "{cases: [...], next_after}", body = Object),
        (status = 401, description = "密钥或签名有误：api_key_required、invalid_api_key、signature_required、bad_signature、stale_timestamp、invalid_nonce"),
        (status = 403, description = "无权：scope_missing、address_not_allowed、not_connected"),
        (status = 409, description = "重放的请求：replayed_nonce")))]
pub(crate) async fn pull(
    State(state): State<AppState>,
    ctx: RequestContext,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    Query(q): Query<PullQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let caller = caller(&state, &ctx, &method, &uri, &headers, b"").await?;
    let page = state.exchange.pull(&caller, q.after, q.limit.unwrap_or(50)).await?;
    let mut cases = Vec::with_capacity(page.cases.len());
    for case in page.cases {
        let files = state
            .applications
            .case_files(case.case_id)
            .await?
            .into_iter()
            .map(|f| FileLink {
                download_url: format!("/api/v1/exchange/cases/{}/files/{}", case.serial_number, f.id),
                id: f.id.to_string(),
                material: f.material_name,
                name: f.file_name,
                content_type: f.content_type,
                size: f.size,
                sha256: f.sha256,
            })
            .collect();
        cases.push(CaseOut { case, files });
    }
    let out = PageOut { cases, next_after: page.next_after };
    Ok(Json(serde_json::to_value(out).map_err(AppError::internal)?))
}

/// 确认已接收的办件。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AckRequest {
    /// 已妥善保存的办件的申办编号（1 至 1000 个）
    serial_numbers: Vec<String>,
}

/// 确认结果。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AckAnswer {
    /// 已确认（含此前已确认）的申办编号
    acknowledged: Vec<String>,
    /// 不是交付给本部门的办件
    unknown: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/exchange/cases/ack", tag = "部门系统对接", summary = "确认已接收的办件",
    description = "确认后这些办件不再交付。只能确认已交付给本部门的办件，其他编号列入 unknown。",
    request_body = AckRequest,
    responses((status = 200, description = "确认结果", body = AckAnswer), (status = 400, description = "JSON 有误：invalid_json"),
        (status = 401, description = "密钥或签名有误"), (status = 422, description = "编号个数有误：invalid_input")))]
pub(crate) async fn ack(
    State(state): State<AppState>,
    ctx: RequestContext,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<AckAnswer>, AppError> {
    let body = whole(body).await?;
    let caller = caller(&state, &ctx, &method, &uri, &headers, &body).await?;
    let request: AckRequest = serde_json::from_slice(&body).map_err(|e| bad_json(&e))?;
    let done = state.exchange.ack(&caller, &request.serial_numbers).await?;
    Ok(Json(AckAnswer { acknowledged: done.acknowledged, unknown: done.unknown }))
}

#[utoipa::path(get, path = "/api/v1/exchange/cases/{serial}/files/{file}", tag = "部门系统对接", summary = "下载办件的材料",
    params(("serial" = String, Path, description = "申办编号"), ("file" = String, Path, description = "文件 id（拉取结果 files[].id）")),
    responses((status = 200, description = "文件内容"), (status = 404, description = "不是本部门的办件或没有该文件：case_not_found")))]
pub(crate) async fn file(
    State(state): State<AppState>,
    ctx: RequestContext,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    Path((serial, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let caller = caller(&state, &ctx, &method, &uri, &headers, b"").await?;
    let case = state.cases.id_by_serial(&serial).await?;
    // Another department's case answers as no case at all.
    state.cases.get(&caller.access, case).await?;
    let file = file.parse().map_err(|_| AppError::from(govhall_cases::CaseError::NotFound))?;
    let f = state.applications.case_file(case, file).await.map_err(|e| match e {
        govhall_applications::ApplicationError::NotFound => AppError::from(govhall_cases::CaseError::NotFound),
        other => AppError::from(other),
    })?;
    state.exchange.log_download(&caller, &serial, f.id.as_uuid(), &f.sha256).await?;
    crate::applications::uploads::send_file(&state, &f).await
}

/// 随办理动作回传的文件。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct EventFile {
    /// 文件名
    name: String,
    /// 内容（Base64），PDF、OFD、PNG 或 JPG
    content_base64: String,
    /// 是否为办理结果文书（申请人可下载）；否则为内部附件
    #[serde(default)]
    result: bool,
}

/// 回传的一个办理动作。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct EventRequest {
    /// 幂等键：同一消息重发时用同一键，1 至 100 个可见 ASCII 字符
    idempotency_key: String,
    /// 申办编号
    serial_number: String,
    /// 办理动作代码，取自拉取结果的 moves[].action（如 accept、grant、refuse、request_supplement、deliver）
    action: String,
    /// 说明或理由（部分动作必填）
    #[serde(default)]
    note: String,
    /// 经办人
    handler: String,
    /// 在部门系统中发生的时间（RFC 3339）
    #[serde(default)]
    occurred_at: Option<chrono::DateTime<chrono::Utc>>,
    /// 要求补齐补正时：需补的材料名称
    #[serde(default)]
    requested: Vec<String>,
    /// 准予且该事项签发电子证照时：证照字段
    #[serde(default)]
    licence: BTreeMap<String, String>,
    /// 文件（至多 5 个）
    #[serde(default)]
    files: Vec<EventFile>,
}

#[utoipa::path(post, path = "/api/v1/exchange/events", tag = "部门系统对接", summary = "回传办理过程和结果",
    description = "按办件当前环节可做的动作（拉取结果的 moves）推进办件：受理、补齐补正、准予（签发证照）、不予批准、送达等，申请人随即收到通知。同一幂等键重发得到同一答复（replayed 为 true）；同一键内容不同则拒绝。",
    request_body = EventRequest,
    responses((status = 200, description = "办件现状", body = Object),
        (status = 400, description = "JSON 有误：invalid_json；缺少理由：note_required"), (status = 401, description = "密钥或签名有误"),
        (status = 404, description = "不是本部门的办件：case_not_found"),
        (status = 409, description = "当前环节不能做此动作：illegal_transition；幂等键已用于其他内容：idempotency_key_reused；重放：replayed_nonce"),
        (status = 422, description = "内容有误：invalid_input、invalid_attachment、too_many_files、licence_refused")))]
pub(crate) async fn event(
    State(state): State<AppState>,
    ctx: RequestContext,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<govhall_exchange::events::Applied>, AppError> {
    let body = whole(body).await?;
    let caller = caller(&state, &ctx, &method, &uri, &headers, &body).await?;
    let request: EventRequest = serde_json::from_slice(&body).map_err(|e| bad_json(&e))?;
    let incoming = incoming_of(request)?;
    // Its content is its JSON with the keys in order: the same step sent again, alone or in a
    // batch, is recognised by it whatever its spacing.
    let content = serde_json::from_slice::<serde_json::Value>(&body)
        .and_then(|v| serde_json::to_vec(&v))
        .map_err(|e| bad_json(&e))?;
    Ok(Json(state.exchange.apply(&caller, incoming, &content).await?))
}

/// The step a request sends, its files decoded.
fn incoming_of(request: EventRequest) -> Result<Incoming, AppError> {
    if request.files.len() > MAX_EVENT_FILES {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_files",
            format!("一次至多回传 {MAX_EVENT_FILES} 个文件"),
        ));
    }
    let mut files = Vec::with_capacity(request.files.len());
    for f in request.files {
        let bytes = base64::engine::general_purpose::STANDARD.decode(f.content_base64.trim()).map_err(|_| {
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_attachment",
                format!("文件“{}”的 content_base64 不是有效的 Base64", f.name.chars().take(50).collect::<String>()),
            )
        })?;
        files.push(NewFile { file_name: f.name, bytes, result: f.result, material: String::new() });
    }
    Ok(Incoming {
        idempotency_key: request.idempotency_key,
        serial_number: request.serial_number,
        action: request.action,
        note: request.note,
        handler: request.handler,
        occurred_at: request.occurred_at,
        requested: request.requested,
        licence: request.licence,
        files,
    })
}

/// 批量回传的办理动作。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct BatchRequest {
    /// 办理动作（至多 100 个，格式同单个回传）；同一办件的动作按先后顺序办理
    #[schema(value_type = Vec<Object>)]
    events: Vec<serde_json::Value>,
}

/// 批量回传中一个动作的结果。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchResult {
    /// 是否办理成功（含重发得到的原答复）
    ok: bool,
    /// 成功时：办件现状，同单个回传的答复
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    applied: Option<govhall_exchange::events::Applied>,
    /// 失败时：单个回传会得到的 HTTP 状态码
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    /// 失败时：错误代码
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    /// 失败时：原因
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// 批量回传的结果，与请求中的动作一一对应。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchAnswer {
    /// 各动作的结果，顺序同请求
    results: Vec<BatchResult>,
}

impl BatchResult {
    fn failed(e: AppError) -> Self {
        BatchResult {
            ok: false,
            applied: None,
            status: Some(e.status().as_u16()),
            code: Some(e.code()),
            message: Some(e.message().to_owned()),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/exchange/events/batch", tag = "部门系统对接", summary = "批量回传办理过程和结果",
    description = "一次回传至多 100 个办理动作（每个的格式、幂等键和答复同单个回传）。不同办件的动作一并办理，同一办件的动作按请求中的先后顺序办理；每个动作各自成功或失败，结果按请求顺序列出，失败的动作给出单个回传时会得到的状态码、错误代码和原因。",
    request_body = BatchRequest,
    responses((status = 200, description = "各动作的结果", body = BatchAnswer),
        (status = 400, description = "JSON 有误：invalid_json"), (status = 401, description = "密钥或签名有误"),
        (status = 409, description = "重放：replayed_nonce"), (status = 422, description = "动作过多：too_many_events")))]
pub(crate) async fn events_batch(
    State(state): State<AppState>,
    ctx: RequestContext,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BatchAnswer>, AppError> {
    let body = whole(body).await?;
    let caller = caller(&state, &ctx, &method, &uri, &headers, &body).await?;
    let request: BatchRequest = serde_json::from_slice(&body).map_err(|e| bad_json(&e))?;
    let most = govhall_exchange::batch::MAX_STEPS;
    if request.events.len() > most {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_events",
            format!("一次至多批量回传 {most} 个办理动作（本次 {} 个）", request.events.len()),
        ));
    }
    // Each step's content is its own JSON with the keys in order, as for a step sent alone.
    let mut results: Vec<Option<BatchResult>> = Vec::with_capacity(request.events.len());
    let mut steps = Vec::with_capacity(request.events.len());
    let mut places = Vec::with_capacity(request.events.len());
    for (at, value) in request.events.into_iter().enumerate() {
        let content = serde_json::to_vec(&value).unwrap_or_default();
        let parsed = serde_json::from_value::<EventRequest>(value)
            .map_err(|e| {
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("第 {} 个动作的字段或类型有误：{e}", at + 1),
                )
            })
            .and_then(incoming_of);
        match parsed {
            Ok(incoming) => {
                results.push(None);
                steps.push((incoming, content));
                places.push(at);
            }
            Err(e) => results.push(Some(BatchResult::failed(e))),
        }
    }
    let answers = state.exchange.apply_all(&caller, steps).await;
    for (at, answer) in places.into_iter().zip(answers) {
        results[at] = Some(match answer {
            Ok(applied) => BatchResult { ok: true, applied: Some(applied), status: None, code: None, message: None },
            Err(e) => BatchResult::failed(AppError::from(e)),
        });
    }
    Ok(Json(BatchAnswer { results: results.into_iter().flatten().collect() }))
}
