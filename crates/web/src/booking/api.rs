//! The appointments API for the mobile app and WeChat: where an item can be booked, the
//! availability of a service, booking, cancelling, my bookings.

use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use govhall_booking::BookingRecord;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// 可预约的业务。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServiceOut {
    /// 预约业务 id
    id: Uuid,
    /// 预约业务名称
    name: String,
    /// 服务大厅名称
    hall: String,
    /// 大厅地址
    address: String,
    /// 办公时间
    opening_hours: String,
    /// 可预约的事项编码
    item_codes: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ServicesQuery {
    /// 只列出办理该事项的业务
    item: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/booking/services", tag = "网上预约", summary = "可预约的业务",
    params(ServicesQuery), responses((status = 200, description = "业务列表", body = [ServiceOut])))]
pub(crate) async fn services(
    State(state): State<AppState>,
    Query(q): Query<ServicesQuery>,
) -> Result<Json<Vec<ServiceOut>>, AppError> {
    let found = state.booking.services(q.item.as_deref()).await?;
    Ok(Json(
        found
            .into_iter()
            .map(|(h, s)| ServiceOut {
                id: s.id.as_uuid(),
                name: s.name,
                hall: h.name,
                address: h.address,
                opening_hours: h.opening_hours,
                item_codes: s.item_codes,
            })
            .collect(),
    ))
}

/// 一个时段。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SlotOut {
    /// 时段 id（预约时提交）
    id: Uuid,
    /// 日期
    day: chrono::NaiveDate,
    /// 时段，如 09:00-09:30
    time: String,
    /// 剩余名额
    left: i32,
}

#[utoipa::path(get, path = "/api/v1/booking/services/{id}/availability", tag = "网上预约", summary = "可预约时段",
    description = "可预约日期内（默认明天起 7 天，节假日除外、调休工作日开放）的各时段及剩余名额。",
    params(("id" = Uuid, Path, description = "预约业务 id")),
    responses((status = 200, description = "时段", body = [SlotOut]), (status = 404, description = "业务不存在：booking_not_found")))]
pub(crate) async fn availability(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<SlotOut>>, AppError> {
    let id: govhall_booking::ServiceId =
        id.parse().map_err(|_| AppError::from(govhall_booking::BookingError::NotFound("预约业务")))?;
    let table = state.booking.availability(id, state.db.now()).await?;
    Ok(Json(
        table
            .cells
            .into_iter()
            .flatten()
            .flatten()
            .map(|s| SlotOut { id: s.id.as_uuid(), day: s.day, time: s.label(), left: s.left() })
            .collect(),
    ))
}

/// 预约请求。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct BookIn {
    /// 时段 id
    slot_id: Uuid,
    /// 事项编码
    item_code: String,
}

/// 一条预约。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BookingOut {
    /// 预约码（签到用，也可生成二维码）
    code: String,
    /// 事项编码
    item_code: String,
    /// 事项名称
    item_name: String,
    /// 状态：booked 已预约 / cancelled 已取消 / arrived 已签到 / no_show 未到场
    status: String,
    /// 时间
    when: String,
    /// 开始时间
    starts_at: chrono::DateTime<chrono::Utc>,
    /// 服务大厅
    hall: String,
    /// 地址
    address: String,
    /// 预约业务
    service: String,
    /// 预约优先号（签到后）
    queue_number: Option<String>,
}

fn out(b: BookingRecord) -> BookingOut {
    BookingOut {
        when: b.when(),
        code: b.code,
        item_code: b.item_code,
        item_name: b.item_name,
        status: b.status.as_str().to_owned(),
        starts_at: b.starts_at,
        hall: b.hall_name,
        address: b.hall_address,
        service: b.service_name,
        queue_number: b.queue_number,
    }
}

#[utoipa::path(post, path = "/api/v1/bookings", tag = "网上预约", summary = "预约",
    request_body = BookIn,
    responses((status = 201, description = "预约成功", body = BookingOut), (status = 401, description = "未登录"),
        (status = 409, description = "已约满：slot_full；已预约过该事项：already_booked"),
        (status = 403, description = "因未到场暂停预约：booking_blocked"), (status = 429, description = "今日预约次数已满：daily_limit_reached"),
        (status = 404, description = "时段或预约业务不存在：not_found"),
        (status = 422, description = "不在可预约日期内：slot_not_bookable")))]
pub(crate) async fn book(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    body: Result<Json<BookIn>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<BookingOut>), AppError> {
    let Json(body) = body.map_err(|_| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "请求体应为 JSON 对象 {\"slot_id\": \"时段 id（可预约时段接口返回的 UUID）\", \"item_code\": \"事项编码\"}，请检查各项是否齐全、格式是否正确",
        )
    })?;
    let b = state
        .booking
        .book(viewer.account.id, &ctx.actor(), govhall_booking::SlotId::from_uuid(body.slot_id), &body.item_code)
        .await?;
    Ok((StatusCode::CREATED, Json(out(b))))
}

#[utoipa::path(post, path = "/api/v1/bookings/{code}/cancel", tag = "网上预约", summary = "取消预约",
    params(("code" = String, Path, description = "预约码")),
    responses((status = 200, description = "已取消", body = BookingOut), (status = 404, description = "不存在：booking_not_found"),
        (status = 422, description = "距开始时间太近：too_late")))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
) -> Result<Json<BookingOut>, AppError> {
    Ok(Json(out(state.booking.cancel(viewer.account.id, &ctx.actor(), &code).await?)))
}

#[utoipa::path(get, path = "/api/v1/me/bookings", tag = "网上预约", summary = "我的预约",
    responses((status = 200, description = "预约列表", body = [BookingOut]), (status = 401, description = "未登录")))]
pub(crate) async fn mine(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
) -> Result<Json<Vec<BookingOut>>, AppError> {
    Ok(Json(state.booking.mine(viewer.account.id).await?.into_iter().map(out).collect()))
}
