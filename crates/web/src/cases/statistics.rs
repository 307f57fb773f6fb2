//! 办件统计 (企业数据统计 for an enterprise): a person's own cases or an enterprise's, by state,
//! item, department and month, as SVG charts with their tables, an Excel export, and the API.

use crate::AppError;
use crate::auth::SignedIn;
use crate::charts;
use crate::html::render;
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use govhall_cases::stats::{Count, Stats};
use serde::Serialize;
use utoipa::ToSchema;

use crate::space::{WhoseQuery, whose};

struct Chart {
    title: &'static str,
    svg: String,
    rows: Vec<Count>,
}

#[derive(Template)]
#[template(path = "cases/statistics.html")]
struct StatisticsPage {
    page: Page,
    name: String,
    choices: Vec<(String, String, bool)>,
    query: String,
    stats: Stats,
    average: String,
    charts: Vec<Chart>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<WhoseQuery>,
) -> Result<Html<String>, AppError> {
    let me = viewer.account.id;
    let (w, name) = whose(&state, me, &q).await?;
    let stats = state.cases.stats(me, w).await?;
    let choices = crate::space::choices(&state, me, "/account/statistics", "我的办件", q.enterprise).await?;
    let pairs = |rows: &[Count]| rows.iter().map(|c| (c.label.clone(), c.count)).collect::<Vec<_>>();
    let charts = [
        ("state", "按办理状态", &stats.by_state),
        ("month", "近 12 个月提交的办件", &stats.by_month),
        ("item", "办件最多的事项", &stats.by_item),
        ("department", "按办理部门", &stats.by_department),
    ]
    .into_iter()
    .map(|(id, title, rows)| Chart { title, svg: charts::bars(id, title, &pairs(rows)), rows: rows.clone() })
    .collect();
    render(StatisticsPage {
        page: Page::new(&state, &format!("办件统计：{name}")).with(&ctx),
        query: q.enterprise.map(|e| format!("?enterprise={e}")).unwrap_or_default(),
        average: stats.average_working_days.map(|d| format!("{d:.1} 个工作日")).unwrap_or_else(|| "暂无".into()),
        name,
        choices,
        stats,
        charts,
    })
}

pub(crate) async fn export(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Query(q): Query<WhoseQuery>,
) -> Result<Response, AppError> {
    let me = viewer.account.id;
    let (w, name) = whose(&state, me, &q).await?;
    let stats = state.cases.stats(me, w).await?;
    let bytes = govhall_cases::stats::workbook(&format!("办件统计：{name}"), &stats)?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    let disposition = format!(
        "attachment; filename=\"statistics.xlsx\"; filename*=UTF-8''{}",
        crate::auth::urlencode(&format!("办件统计-{name}.xlsx"))
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// 计数。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CountOut {
    /// 状态、事项、部门或月份（YYYY-MM）
    label: String,
    /// 办件数
    count: i64,
}

/// 办件统计。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatsOut {
    /// 办件总数
    total: i64,
    /// 按状态
    by_state: Vec<CountOut>,
    /// 办件最多的 10 个事项
    by_item: Vec<CountOut>,
    /// 按办理部门
    by_department: Vec<CountOut>,
    /// 近 12 个月按提交月份（含为 0 的月份）
    by_month: Vec<CountOut>,
    /// 已受理并作出决定的办件数
    decided: i64,
    /// 平均办理用时（工作日，受理至决定）；无已决定办件时为空
    average_working_days: Option<f64>,
}

#[utoipa::path(get, path = "/api/v1/me/statistics", tag = "办件",
    summary = "办件统计（企业数据统计）", security(("bearer" = [])), params(WhoseQuery),
    responses((status = 200, description = "统计", body = StatsOut), (status = 404, description = "不是该企业的有效成员：not_found")))]
pub(crate) async fn api(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Query(q): Query<WhoseQuery>,
) -> Result<Json<StatsOut>, AppError> {
    let me = viewer.account.id;
    let (w, _) = whose(&state, me, &q).await?;
    let s = state.cases.stats(me, w).await?;
    let out = |rows: Vec<Count>| rows.into_iter().map(|c| CountOut { label: c.label, count: c.count }).collect();
    Ok(Json(StatsOut {
        total: s.total,
        by_state: out(s.by_state),
        by_item: out(s.by_item),
        by_department: out(s.by_department),
        by_month: out(s.by_month),
        decided: s.decided,
        average_working_days: s.average_working_days,
    }))
}
