//! `POST /api/v1/messaging/sms-receipts`: delivery receipts from the SMS provider.

use crate::AppError;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use govhall_messaging::receipts::{self, ReceiptError};
use serde::Serialize;
use utoipa::ToSchema;

/// What the receipts did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReceiptResult {
    /// Messages moved to delivered or failed.
    updated: usize,
    /// Receipts for messages already settled (replays are harmless).
    ignored: usize,
    /// Receipts for ids not known yet (answered with 409 so that the provider sends them again).
    unknown: usize,
}

/// Receives SMS delivery receipts, signed with the shared secret.
#[utoipa::path(post, path = "/api/v1/messaging/sms-receipts", tag = "消息中心",
    summary = "短信送达回执",
    description = "短信服务商回调：请求体为一个回执对象或回执数组，签名头（默认 X-Signature）为以共享密钥对原始请求体计算的 HMAC-SHA256 十六进制值，可带 sha256= 前缀。重复回执不会重复处理。",
    request_body(content = String, content_type = "application/json", description = "回执，字段位置由 messaging.sms.receipts 配置"),
    responses(
        (status = 200, description = "已处理", body = ReceiptResult),
        (status = 400, description = "回执格式不正确：code 为 invalid_receipt"),
        (status = 401, description = "签名无效：code 为 invalid_signature"),
        (status = 409, description = "部分回执的消息编号暂不存在（回执可能早于发送结果记录），请稍后重发：code 为 unknown_message"),
    ))]
pub(crate) async fn sms_receipts(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ReceiptResult>, AppError> {
    let header = &state.messaging.settings().sms.receipts.signature_header;
    let signature = headers.get(header.as_str()).and_then(|v| v.to_str().ok());
    match receipts::apply(&state.db, &state.messaging, &body, signature).await {
        Ok(outcome) if outcome.unknown > 0 => {
            let message = format!(
                "已处理 {} 条；{} 条回执的消息编号暂不存在，请稍后重发",
                outcome.updated + outcome.ignored,
                outcome.unknown
            );
            Err(AppError::new(StatusCode::CONFLICT, "unknown_message", message))
        }
        Ok(outcome) => Ok(Json(ReceiptResult { updated: outcome.updated, ignored: outcome.ignored, unknown: 0 })),
        Err(ReceiptError::BadSignature) => {
            tracing::warn!("SMS receipt with a bad signature refused");
            Err(AppError::new(StatusCode::UNAUTHORIZED, "invalid_signature", "回执签名无效"))
        }
        Err(e @ ReceiptError::Malformed(_)) => {
            Err(AppError::new(StatusCode::BAD_REQUEST, "invalid_receipt", e.to_string()))
        }
        Err(ReceiptError::Messaging(e)) => Err(AppError::internal(e)),
    }
}
