//! The payments API: the gateway's notifications (signed), and for the mobile app a case's
//! orders, an order's state (asking the gateway when a payment is under way), and starting a
//! payment.

use super::pages::order_id;
use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use govhall_payments::Order;
use govhall_payments::gateway::protocol::{self, NotificationAnswer, Signed};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The gateway posts a payment's result here. Trusted only if its signature verifies; the
/// answer is `{"code":"ok"}` (also for a repeat), or a stable code the gateway retries after.
#[utoipa::path(post, path = "/api/v1/payments/notifications", tag = "网上缴费", summary = "支付网关结果通知",
    description = "财政支付网关以服务器对服务器方式推送支付结果。请求头 X-GovHall-Timestamp、X-GovHall-Nonce、\
        X-GovHall-Signature 对“时间戳\\n随机串\\n请求体”签名（沙箱为 HMAC-SM3）。同一结果重复推送只生效一次。",
    request_body(content = String, content_type = "application/json", description = "支付结果（PaymentResult）"),
    responses((status = 200, description = "已接收：code 为 ok", body = NotificationAnswerOut),
        (status = 403, description = "签名无效：bad_signature", body = NotificationAnswerOut),
        (status = 404, description = "缴款码不存在：unknown_order", body = NotificationAnswerOut),
        (status = 409, description = "缴款单已过期或已取消：payment_order_expired", body = NotificationAnswerOut),
        (status = 422, description = "金额不符、币种不是人民币或内容无法读取：amount_mismatch、currency_not_cny、bad_gateway_message", body = NotificationAnswerOut)))]
pub(crate) async fn notification(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().chars().take(200).collect();
    let signed = Signed {
        timestamp: header(protocol::TIMESTAMP),
        nonce: header(protocol::NONCE),
        signature: header(protocol::SIGNATURE),
    };
    match state.payments.accept_notification(&signed, &body).await {
        Ok(_) => Json(NotificationAnswer { code: "ok".into(), message: "已接收".into() }).into_response(),
        // The error answer is JSON with the stable code and the Chinese message.
        Err(e) => AppError::from(e).into_response(),
    }
}

/// 支付结果通知的应答。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NotificationAnswerOut {
    /// ok 或稳定的错误码
    code: String,
    /// 中文说明
    message: String,
}

/// 缴款单。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrderOut {
    /// 缴款单 id
    id: Uuid,
    /// 缴款码（20 位）
    notice_number: String,
    /// 缴款事项
    subject: String,
    /// 金额（分）
    total_fen: i64,
    /// 已退款（分）
    refunded_fen: i64,
    /// 状态：created 待缴费、started 支付中、submitted 银行处理中、success 已缴费、failed 支付失败、cancelled 已取消、expired 已过期、refunded 已退款
    state: String,
    /// 状态（中文）
    state_label: String,
    /// 缴费期限
    expires_at: DateTime<Utc>,
    /// 缴费时间
    paid_at: Option<DateTime<Utc>>,
    /// 电子票据号（票据代码-票据号码-校验码）
    receipt_number: Option<String>,
    /// 收费明细
    lines: Vec<OrderLineOut>,
}

/// 收费明细。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OrderLineOut {
    /// 支付项目代码
    code: String,
    /// 收费项目
    name: String,
    /// 金额（分）
    amount_fen: i64,
}

impl From<&Order> for OrderOut {
    fn from(o: &Order) -> Self {
        OrderOut {
            id: o.id.as_uuid(),
            notice_number: o.notice_number.clone(),
            subject: o.subject.clone(),
            total_fen: o.total.fen(),
            refunded_fen: o.refunded.fen(),
            state: o.state.as_str().to_owned(),
            state_label: o.state.label().to_owned(),
            expires_at: o.expires_at,
            paid_at: o.paid_at,
            receipt_number: o.receipt.as_ref().map(govhall_payments::ReceiptNumber::display),
            lines: o
                .lines
                .iter()
                .map(|l| OrderLineOut { code: l.code.clone(), name: l.name.clone(), amount_fen: l.amount.fen() })
                .collect(),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/me/cases/{serial}/payment-orders", tag = "网上缴费", summary = "办件的缴款单",
    params(("serial" = String, Path, description = "统一申办编号")),
    responses((status = 200, description = "缴款单，新的在前", body = [OrderOut])))]
pub(crate) async fn case_orders(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(serial): Path<String>,
) -> Result<Json<Vec<OrderOut>>, AppError> {
    let case = state.cases.mine_by_serial(viewer.account.id, &serial).await?;
    let orders = state.payments.case_orders_for_payer(viewer.account.id, case.id).await?;
    Ok(Json(orders.iter().map(OrderOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/payment-orders/{id}", tag = "网上缴费", summary = "缴款单状态",
    description = "支付进行中时向支付网关查询后再回答（从支付页面返回后调用）。",
    params(("id" = Uuid, Path, description = "缴款单 id")),
    responses((status = 200, description = "缴款单", body = OrderOut),
        (status = 502, description = "支付网关暂时无法访问：gateway_unavailable")))]
pub(crate) async fn order(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<OrderOut>, AppError> {
    let order = state.payments.check(viewer.account.id, order_id(&id)?).await?;
    Ok(Json(OrderOut::from(&order)))
}

/// 去缴费的地址。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StartOut {
    /// 财政支付网关的支付页面，在浏览器中打开
    pay_url: String,
}

#[utoipa::path(post, path = "/api/v1/payment-orders/{id}/start", tag = "网上缴费", summary = "发起缴费",
    description = "向财政支付网关登记支付，返回支付页面地址（选择银行、完成支付）。支付失败后可再次发起。",
    params(("id" = Uuid, Path, description = "缴款单 id")),
    responses((status = 200, description = "支付页面", body = StartOut),
        (status = 409, description = "缴款单已缴费、已取消或已过期：payment_order_state、payment_order_expired"),
        (status = 502, description = "支付网关暂时无法访问：gateway_unavailable")))]
pub(crate) async fn start(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<StartOut>), AppError> {
    let pay_url = state.payments.start(viewer.account.id, order_id(&id)?).await?;
    Ok((StatusCode::OK, Json(StartOut { pay_url })))
}

#[utoipa::path(get, path = "/api/v1/payment-orders/{id}/receipt.pdf", tag = "网上缴费", summary = "下载缴费电子凭证",
    description = "已缴费的缴款单的电子凭证（PDF，含电子票据号及其二维码、收费明细、大写金额）。",
    params(("id" = Uuid, Path, description = "缴款单 id")),
    responses((status = 200, description = "PDF", content_type = "application/pdf"),
        (status = 409, description = "缴款单尚未缴费：payment_order_state")))]
pub(crate) async fn receipt(
    state: State<AppState>,
    viewer: SignedIn,
    id: Path<String>,
) -> Result<axum::response::Response, AppError> {
    super::pages::receipt(state, viewer, id).await
}
