//! The working-day calendar over the API: department systems compute the same deadlines as the
//! hall does.

use crate::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate, Weekday};
use govhall_core::DayKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most working days one request may add (about four years).
const MAX_DAYS: u32 = 1000;

/// Dates outside these years are refused: the calendar means nothing there.
const YEARS: std::ops::RangeInclusive<i32> = 1949..=2199;

fn parse_date(field: &str, value: &str) -> Result<NaiveDate, AppError> {
    let shown: String = value.chars().take(40).collect();
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").ok().filter(|d| YEARS.contains(&d.year())).ok_or_else(|| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_date",
            format!("{field} 应为 1949 至 2199 年间 YYYY-MM-DD 格式的日期，收到“{shown}”"),
        )
    })
}

/// One day of the calendar.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CalendarDay {
    /// The date.
    #[schema(value_type = String, format = Date, example = "2026-10-10")]
    date: NaiveDate,
    /// Whether people work that day.
    working_day: bool,
    /// `holiday` (public holiday), `workday` (make-up working day, 调休), `weekend` or `weekday`.
    kind: &'static str,
    /// The occasion of a holiday or make-up day, as the State Council notice names it.
    occasion: Option<String>,
    /// Whether the official days of that year are published; if not, only weekends are known.
    covered: bool,
}

/// Whether a date is a working day.
#[utoipa::path(get, path = "/api/v1/calendar/days/{date}", tag = "工作日历",
    summary = "查询某日是否为工作日",
    description = "按官方节假日和调休安排判断：法定节假日即使在周一至周五也不上班，调休上班日即使在周末也上班。",
    params(("date" = String, Path, description = "日期，YYYY-MM-DD", example = "2026-10-10")),
    responses(
        (status = 200, description = "该日是否为工作日", body = CalendarDay),
        (status = 400, description = "日期格式有误：code 为 invalid_date"),
    ))]
pub(crate) async fn day(
    State(state): State<AppState>,
    Path(date): Path<String>,
) -> Result<Json<CalendarDay>, AppError> {
    let date = parse_date("date", &date)?;
    let special = state.calendar.special_day(date);
    let kind = match special.map(|d| d.kind) {
        Some(DayKind::Holiday) => "holiday",
        Some(DayKind::Workday) => "workday",
        None if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) => "weekend",
        None => "weekday",
    };
    Ok(Json(CalendarDay {
        date,
        working_day: state.calendar.is_working_day(date),
        kind,
        occasion: special.map(|d| d.occasion_label().to_owned()),
        covered: state.calendar.covers(date),
    }))
}

/// Query of [`deadline`].
#[derive(Debug, Deserialize)]
pub(crate) struct DeadlineQuery {
    // Strings, so that a bad value gets our Chinese message rather than the extractor's.
    /// The start day (acceptance), not counted, YYYY-MM-DD.
    from: Option<String>,
    /// How many working days, 0 to 1000.
    days: Option<String>,
}

/// A deadline in working days.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Deadline {
    /// The start day.
    #[schema(value_type = String, format = Date)]
    from: NaiveDate,
    /// Working days added.
    days: u32,
    /// The last day of the time limit.
    #[schema(value_type = String, format = Date)]
    due: NaiveDate,
    /// Whether every day counted lies in a published year of the calendar.
    covered: bool,
}

/// The date `days` working days after `from` (the start day not counted), by the official calendar.
#[utoipa::path(get, path = "/api/v1/calendar/deadline", tag = "工作日历",
    summary = "计算办结期限",
    description = "从起算日（不计入）起，按工作日顺延指定天数，得出期限的最后一天。",
    params(
        ("from" = String, Query, description = "起算日（如受理日），YYYY-MM-DD，当日不计入", example = "2026-09-30"),
        ("days" = u32, Query, description = "工作日天数，0 至 1000", example = 4),
    ),
    responses(
        (status = 200, description = "办结期限", body = Deadline),
        (status = 400, description = "参数有误：code 为 invalid_date 或 invalid_days"),
    ))]
pub(crate) async fn deadline(
    State(state): State<AppState>,
    Query(query): Query<DeadlineQuery>,
) -> Result<Json<Deadline>, AppError> {
    let from = parse_date("from", query.from.as_deref().unwrap_or_default())?;
    let days_text = query.days.unwrap_or_default();
    let days: u32 = days_text.trim().parse().ok().filter(|d| *d <= MAX_DAYS).ok_or_else(|| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid_days",
            format!("days 应为 0 到 {MAX_DAYS} 之间的整数，收到“{days_text}”"),
        )
    })?;
    let due = state.calendar.add_working_days(from, days);
    Ok(Json(Deadline { from, days, due, covered: state.calendar.covers(from) && state.calendar.covers(due) }))
}
