//! The hall's side: set-up of halls, services and slot rules (`booking.manage`), and the desk —
//! check-in by code, today's bookings and slots, no-shows, closing or resizing a slot
//! (`booking.checkin`; slot changes need `booking.manage`).

use crate::AppError;
use crate::auth::{RequestContext, SignedIn, Viewer};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime, Weekday};
use govhall_booking::setup::{Hall, NewHall, Rule, Service};
use govhall_booking::slots::Slot;
use govhall_booking::{BookingError, BookingRecord};
use govhall_booking::{HallId, ServiceId, SlotId};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "booking/setup.html")]
struct SetupPage {
    page: Page,
    halls: Vec<Hall>,
    services: Vec<(Hall, Service)>,
    rules: Vec<(ServiceId, String)>,
    error: String,
    notice: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Notice {
    #[serde(default)]
    done: String,
}

async fn setup_page(
    state: &AppState,
    ctx: &RequestContext,
    error: String,
    notice: String,
) -> Result<Html<String>, AppError> {
    render(SetupPage {
        page: Page::new(state, "网上预约设置").with(ctx),
        halls: state.booking.halls().await?,
        services: state.booking.services(None).await?,
        rules: state.booking.rule_lines().await?,
        error,
        notice,
    })
}

pub(crate) async fn setup(
    State(state): State<AppState>,
    SignedIn(_, ctx): SignedIn,
    Query(n): Query<Notice>,
) -> Result<Html<String>, AppError> {
    let notice = match n.done.as_str() {
        "hall" => "已添加服务大厅。",
        "service" => "已添加预约业务。",
        "rule" => "已添加时段规则，可预约时段将按规则和工作日历生成。",
        _ => "",
    };
    setup_page(&state, &ctx, String::new(), notice.to_owned()).await
}

async fn after(
    state: &AppState,
    ctx: &RequestContext,
    result: Result<(), BookingError>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/booking?done={done}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, setup_page(state, ctx, error, String::new()).await?))
        }
    }
}

pub(crate) async fn create_hall(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    axum::Form(form): axum::Form<NewHall>,
) -> Result<Response, AppError> {
    let result = state.booking.create_hall(&viewer.access, &ctx.actor(), &form).await.map(|_| ());
    after(&state, &ctx, result, "hall").await
}

#[derive(Debug, Deserialize)]
pub(crate) struct ServiceForm {
    #[serde(default)]
    hall: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    items: String,
    #[serde(default)]
    counters: String,
}

/// Codes or dates: one per line, or separated by commas or spaces.
fn lines(s: &str) -> Vec<String> {
    s.split(['\n', ',', '，', ' ']).map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// Names (a window called “1号 综合窗口”): one per line.
fn names(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

pub(crate) async fn create_service(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    axum::Form(form): axum::Form<ServiceForm>,
) -> Result<Response, AppError> {
    let result = match form.hall.parse::<HallId>() {
        Ok(hall) => state
            .booking
            .create_service(&viewer.access, &ctx.actor(), hall, &form.name, &lines(&form.items), &names(&form.counters))
            .await
            .map(|_| ()),
        Err(_) => Err(BookingError::Invalid("请选择服务大厅".into())),
    };
    after(&state, &ctx, result, "service").await
}

#[derive(Debug, Deserialize)]
pub(crate) struct RuleForm {
    #[serde(default)]
    service: String,
    #[serde(default)]
    weekdays: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    slot_minutes: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_until: String,
    #[serde(default)]
    exclusions: String,
}

fn rule_of(f: &RuleForm) -> Result<(ServiceId, Rule), BookingError> {
    let bad = |m: &str| BookingError::Invalid(m.to_owned());
    let service: ServiceId = f.service.parse().map_err(|_| bad("请选择预约业务"))?;
    let all = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];
    let mut weekdays = Vec::new();
    for c in f.weekdays.chars().filter(|c| !c.is_whitespace() && *c != ',' && *c != '，') {
        let n =
            c.to_digit(10).filter(|n| (1..=7).contains(n)).ok_or_else(|| bad("星期几请填 1 到 7 的数字，如 12345"))?;
        weekdays.push(all[(n - 1) as usize]);
    }
    let time = |s: &str, what: &str| {
        NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad(&format!("{what}应为 HH:MM 格式，如 09:00")))
    };
    let day = |s: &str, what: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad(&format!("{what}应为 YYYY-MM-DD 格式")))
    };
    let number = |s: &str, what: &str| s.trim().parse::<u32>().map_err(|_| bad(&format!("{what}应为整数")));
    let mut exclusions = Vec::new();
    for s in lines(&f.exclusions) {
        exclusions.push(day(&s, "不开放日期")?);
    }
    Ok((
        service,
        Rule {
            weekdays,
            start: time(&f.start, "开始时间")?,
            end: time(&f.end, "结束时间")?,
            slot_minutes: number(&f.slot_minutes, "每个时段分钟数")?,
            capacity: number(&f.capacity, "每个时段可约人数")?,
            valid_from: day(&f.valid_from, "生效日期")?,
            valid_until: if f.valid_until.trim().is_empty() {
                None
            } else {
                Some(day(&f.valid_until, "截止日期")?)
            },
            exclusions,
        },
    ))
}

pub(crate) async fn add_rule(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    axum::Form(form): axum::Form<RuleForm>,
) -> Result<Response, AppError> {
    let result = match rule_of(&form) {
        Ok((service, rule)) => state.booking.add_rule(&viewer.access, &ctx.actor(), service, &rule).await.map(|_| ()),
        Err(e) => Err(e),
    };
    after(&state, &ctx, result, "rule").await
}

#[derive(Template)]
#[template(path = "booking/desk.html")]
struct DeskPage {
    page: Page,
    halls: Vec<Hall>,
    hall: Option<Hall>,
    day: String,
    bookings: Vec<BookingRecord>,
    slots: Vec<(String, Slot)>,
    error: String,
    notice: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DeskQuery {
    #[serde(default)]
    hall: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    notice: String,
}

async fn desk_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    q: &DeskQuery,
    error: String,
) -> Result<Html<String>, AppError> {
    let halls = state.booking.halls().await?;
    let hall = q.hall.parse::<HallId>().ok().and_then(|id| halls.iter().find(|h| h.id == id).cloned());
    let today = govhall_core::clock::china_date(state.db.now());
    let day = NaiveDate::parse_from_str(q.day.trim(), "%Y-%m-%d").unwrap_or(today);
    let (bookings, slots) = match &hall {
        Some(h) => {
            (state.booking.day_list(&viewer.access, h.id, day).await?, state.booking.hall_slots(h.id, day).await?)
        }
        None => (Vec::new(), Vec::new()),
    };
    render(DeskPage {
        page: Page::new(state, "预约签到").with(ctx),
        halls,
        hall,
        day: day.format("%Y-%m-%d").to_string(),
        bookings,
        slots,
        error,
        notice: q.notice.chars().take(100).collect(),
    })
}

pub(crate) async fn desk(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<DeskQuery>,
) -> Result<Html<String>, AppError> {
    desk_page(&state, &viewer, &ctx, &q, String::new()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeskForm {
    #[serde(default)]
    hall: String,
    #[serde(default)]
    day: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    capacity: String,
}

async fn desk_after(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    form: &DeskForm,
    result: Result<String, BookingError>,
) -> Result<Response, AppError> {
    let q = DeskQuery { hall: form.hall.clone(), day: form.day.clone(), notice: String::new() };
    match result {
        Ok(notice) => {
            let query = serde_urlencoded::to_string([("hall", &q.hall), ("day", &q.day), ("notice", &notice)])
                .unwrap_or_default();
            Ok(Redirect::to(&format!("/admin/booking/desk?{query}")).into_response())
        }
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, desk_page(state, viewer, ctx, &q, error).await?))
        }
    }
}

fn hall_id(form: &DeskForm) -> Result<HallId, BookingError> {
    form.hall.parse().map_err(|_| BookingError::Invalid("请先选择服务大厅".into()))
}

pub(crate) async fn check_in(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    axum::Form(form): axum::Form<DeskForm>,
) -> Result<Response, AppError> {
    let result = match hall_id(&form) {
        Ok(hall) => state.booking.check_in(&viewer.access, &ctx.actor(), hall, &form.code).await.map(|b| {
            format!("签到成功：{} {}，预约优先号 {}", b.when(), b.service_name, b.queue_number.unwrap_or_default())
        }),
        Err(e) => Err(e),
    };
    desk_after(&state, &viewer, &ctx, &form, result).await
}

pub(crate) async fn no_shows(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    axum::Form(form): axum::Form<DeskForm>,
) -> Result<Response, AppError> {
    let result = match hall_id(&form) {
        Ok(hall) => state
            .booking
            .mark_no_shows(&viewer.access, &ctx.actor(), hall)
            .await
            .map(|n| format!("已将 {n} 个过时未签到的预约记为未到场")),
        Err(e) => Err(e),
    };
    desk_after(&state, &viewer, &ctx, &form, result).await
}

pub(crate) async fn close_slot(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(slot): Path<String>,
    axum::Form(form): axum::Form<DeskForm>,
) -> Result<Response, AppError> {
    let result = match slot.parse::<SlotId>() {
        Ok(slot) => state
            .booking
            .close_slot(&viewer.access, &ctx.actor(), slot, &form.reason)
            .await
            .map(|n| format!("已关闭该时段，已通知 {n} 位预约人")),
        Err(_) => Err(BookingError::NotFound("预约时段")),
    };
    desk_after(&state, &viewer, &ctx, &form, result).await
}

pub(crate) async fn set_capacity(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(slot): Path<String>,
    axum::Form(form): axum::Form<DeskForm>,
) -> Result<Response, AppError> {
    let result = match (slot.parse::<SlotId>(), form.capacity.trim().parse::<i32>()) {
        (Ok(slot), Ok(capacity)) => state
            .booking
            .set_capacity(&viewer.access, &ctx.actor(), slot, capacity)
            .await
            .map(|()| "已修改可约人数".to_owned()),
        (Err(_), _) => Err(BookingError::NotFound("预约时段")),
        (_, Err(_)) => Err(BookingError::Invalid("可约人数应为整数".into())),
    };
    desk_after(&state, &viewer, &ctx, &form, result).await
}
