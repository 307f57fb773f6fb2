//! The logistics API: the courier's tracking pushes (signed), and for the mobile app the
//! shipments of one of the viewer's cases.

use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use govhall_logistics::courier::protocol::PushAnswer;
use govhall_logistics::track::Applied;
use govhall_logistics::{Shipment, ShipmentState};
use govhall_messaging::signed::{self, Signed};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The courier pushes a waybill's tracking events here. Trusted only if its signature
/// verifies; the answer is `{"code":"ok"}` (also for a replay), or a stable code.
#[utoipa::path(post, path = "/api/v1/logistics/notifications", tag = "统一物流", summary = "快递物流轨迹推送",
    description = "快递公司以服务器对服务器方式推送运单的物流事件。请求头 X-GovHall-Timestamp、X-GovHall-Nonce、\
        X-GovHall-Signature 对“时间戳\\n随机串\\n请求体”签名（沙箱为 HMAC-SM3）。同一事件（event_id）重复推送只记录一次，\
        事件可乱序到达；签收事件使办件进入“送达”。",
    request_body(content = String, content_type = "application/json", description = "物流轨迹（Tracking）"),
    responses((status = 200, description = "已接收：code 为 ok", body = PushAnswerOut),
        (status = 403, description = "签名无效：bad_signature", body = PushAnswerOut),
        (status = 404, description = "运单号不存在：unknown_waybill", body = PushAnswerOut),
        (status = 422, description = "内容无法读取、客户编码不符或事件有误：bad_message", body = PushAnswerOut)))]
pub(crate) async fn notification(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().chars().take(200).collect();
    let signed = Signed {
        timestamp: header(signed::TIMESTAMP),
        nonce: header(signed::NONCE),
        signature: header(signed::SIGNATURE),
    };
    match state.logistics.receive_push(&signed, &body).await {
        Ok(applied) => {
            let message = match applied {
                Applied::Duplicate => "已接收（重复推送）".to_owned(),
                Applied::Recorded => "已接收".to_owned(),
                Applied::Changed(s) => format!("已接收，快件{}", s.label()),
            };
            Json(PushAnswer { code: "ok".into(), message }).into_response()
        }
        Err(e) => AppError::from(e).into_response(),
    }
}

/// 物流推送的应答。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PushAnswerOut {
    /// ok 或稳定的错误码
    code: String,
    /// 中文说明
    message: String,
}

/// 快件。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ShipmentOut {
    /// 快件 id
    id: Uuid,
    /// result 办理结果寄给申请人、materials 纸质材料寄往部门
    direction: String,
    /// 寄件人（寄送纸质材料时为申请人）
    sender_name: String,
    /// 快递公司
    carrier: String,
    /// 运单号（下单成功后）
    waybill_no: Option<String>,
    /// 状态：ordering 下单中、created 待揽收、picked_up 已揽收、in_transit 运输中、out_for_delivery 派送中、exception 派送异常、delivered 已签收、returned 已退回、lost 已遗失
    state: String,
    /// 状态（中文）
    state_label: String,
    /// 收件人
    recipient_name: String,
    /// 收件人电话
    recipient_phone: String,
    /// 收件地址
    recipient_address: String,
    /// 寄出时间
    created_at: DateTime<Utc>,
    /// 签收时间
    delivered_at: Option<DateTime<Utc>>,
    /// 物流轨迹，最新的在前
    events: Vec<EventOut>,
}

/// 物流事件。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventOut {
    /// 状态：picked_up、in_transit、out_for_delivery、exception、delivered、returned、lost
    status: String,
    /// 状态（中文）
    status_label: String,
    /// 描述
    description: String,
    /// 地点
    location: String,
    /// 发生时间
    occurred_at: DateTime<Utc>,
}

fn out(s: Shipment) -> ShipmentOut {
    let state: ShipmentState = s.state;
    ShipmentOut {
        id: s.id.as_uuid(),
        direction: s.direction.as_str().to_owned(),
        sender_name: s.sender.name,
        carrier: s.carrier,
        waybill_no: s.waybill_no,
        state: state.as_str().to_owned(),
        state_label: state.label().to_owned(),
        recipient_name: s.recipient.name,
        recipient_phone: s.recipient.phone,
        recipient_address: s.recipient.address,
        created_at: s.created_at,
        delivered_at: s.delivered_at,
        events: s
            .events
            .into_iter()
            .map(|e| EventOut {
                status: e.status.as_str().to_owned(),
                status_label: e.status.label().to_owned(),
                description: e.description,
                location: e.location,
                occurred_at: e.occurred_at,
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/me/cases/{serial}/shipments", tag = "统一物流", summary = "我的办件的快件",
    description = "当前登录用户一件办件的结果快件及物流轨迹（本人或所在企业的办件）。",
    params(("serial" = String, Path, description = "统一申办编号")),
    responses((status = 200, description = "快件列表，最新的在前", body = [ShipmentOut]),
        (status = 404, description = "不存在或不是您的办件：shipment_not_found")))]
pub(crate) async fn mine(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(serial): Path<String>,
) -> Result<Json<Vec<ShipmentOut>>, AppError> {
    let all = state.logistics.mine(viewer.account.id, &serial).await?;
    Ok(Json(all.into_iter().map(out).collect()))
}

#[utoipa::path(post, path = "/api/v1/me/cases/{serial}/shipments", tag = "统一物流", summary = "预约快递上门取件（寄送纸质材料）",
    description = "申请时选择了快递送达并选择“快递上门取件”寄送纸质材料的，办件办理中可预约：快递员到申请时填写的地址取件，送到办理部门。",
    params(("serial" = String, Path, description = "统一申办编号")),
    responses((status = 200, description = "已预约", body = ShipmentOut),
        (status = 404, description = "不存在或不是您的办件：shipment_not_found"),
        (status = 409, description = "未选择上门取件、办件已办结或材料已在寄送中：shipment_state"),
        (status = 502, description = "快递公司暂时无法处理：courier_unavailable")))]
pub(crate) async fn book_pickup(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(serial): Path<String>,
) -> Result<Json<ShipmentOut>, AppError> {
    let s = state.logistics.send_materials(viewer.account.id, &ctx.actor(), &serial).await?;
    Ok(Json(out(s)))
}
