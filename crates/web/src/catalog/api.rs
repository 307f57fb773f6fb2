//! The catalogue's JSON API for the mobile app and partners.

use super::PAGE;
use crate::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use govhall_catalog::store::{self, DepartmentCount, Guide, ItemFilter, ItemSummary};
use govhall_catalog::taxonomy::{self, KINDS};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Filters of `GET /api/v1/items` (the field docs are the API's Chinese descriptions).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ItemsQuery {
    /// 服务对象：person（个人）或 enterprise（法人），同时面向两者的事项也包括在内
    audience: Option<String>,
    /// 分类编号（见 /api/v1/taxonomies）
    tag: Option<String>,
    /// 部门编号（见 /api/v1/departments）
    department: Option<String>,
    /// 6 位行政区划代码：该区划及下级区划的事项
    region: Option<String>,
    /// 事项类型，如 行政许可
    r#type: Option<String>,
    /// 网上办理深度至少为（1 至 5）
    depth: Option<String>,
    /// 层级：province（省级）、city（市级）或 county（县级）
    level: Option<String>,
    /// 名称或日常说法中包含的文字
    q: Option<String>,
    /// 每页条数，1 至 100，默认 20
    limit: Option<String>,
    /// 跳过的条数
    offset: Option<String>,
}

/// 一页事项。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemsPage {
    /// 符合条件的事项总数
    total: i64,
    /// 本页事项
    #[schema(value_type = Vec<Object>)]
    items: Vec<ItemSummary>,
}

fn bad(code: &'static str, message: impl Into<String>) -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, code, message)
}

fn uuid(field: &str, value: &Option<String>) -> Result<Option<Uuid>, AppError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => {
            Uuid::parse_str(v).map(Some).map_err(|_| bad("invalid_filter", format!("参数 {field} 应为编号（UUID）")))
        }
    }
}

#[utoipa::path(get, path = "/api/v1/items", tag = "事项目录", summary = "查询事项",
    description = "已发布的事项，按名称排序，可按服务对象、分类、部门、区划、事项类型、网办深度和关键词筛选，分页返回。",
    params(ItemsQuery),
    responses((status = 200, description = "事项列表", body = ItemsPage), (status = 400, description = "参数有误：code 为 invalid_filter")))]
pub(crate) async fn items(
    State(state): State<AppState>,
    Query(q): Query<ItemsQuery>,
) -> Result<Json<ItemsPage>, AppError> {
    let audience = match q.audience.as_deref() {
        None | Some("") => None,
        Some(a @ ("person" | "enterprise")) => Some(a.to_owned()),
        Some(_) => return Err(bad("invalid_filter", "参数 audience 应为 person 或 enterprise")),
    };
    if let Some(region) = &q.region
        && (region.len() != 6 || !region.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(bad("invalid_filter", "参数 region 应为 6 位行政区划代码"));
    }
    let number = |field: &str, value: &Option<String>, range: std::ops::RangeInclusive<i64>, default: i64| match value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => Ok(default),
        Some(v) => v.parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            bad("invalid_filter", format!("参数 {field} 应为 {} 到 {} 的整数", range.start(), range.end()))
        }),
    };
    let depth = number("depth", &q.depth, 1..=5, 0)?;
    let limit = number("limit", &q.limit, 1..=100, PAGE)?;
    let offset = number("offset", &q.offset, 0..=1_000_000, 0)?;
    let level = match q.level.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(l @ ("province" | "city" | "county")) => Some(l.to_owned()),
        Some(_) => return Err(bad("invalid_filter", "参数 level 应为 province、city 或 county")),
    };
    let filter = ItemFilter {
        tag: uuid("tag", &q.tag)?,
        department: uuid("department", &q.department)?,
        region_prefix: q.region.as_deref().map(|r| govhall_identity::access::region_prefix(r).to_owned()),
        audience,
        type_text: q.r#type.clone().filter(|t| !t.trim().is_empty()),
        min_depth: (depth > 0).then_some(depth as i32),
        level,
        text: q.q.clone().filter(|t| !t.trim().is_empty()).map(|t| t.chars().take(50).collect()),
    };
    let page = state.catalog.list(&filter, limit, offset).await?;
    Ok(Json(ItemsPage { total: page.0, items: page.1.clone() }))
}

#[utoipa::path(get, path = "/api/v1/items/{code}", tag = "事项目录", summary = "事项办事指南",
    description = "事项已发布版本的办事指南，含申请材料和相关事项。",
    params(("code" = String, Path, description = "事项编码（实施编码）")),
    responses((status = 200, description = "办事指南", body = Object), (status = 404, description = "没有该事项：code 为 not_found")))]
pub(crate) async fn item(State(state): State<AppState>, Path(code): Path<String>) -> Result<Json<Guide>, AppError> {
    let guide = state.catalog.guide(&code).await?.ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("没有编码为 {} 的已发布事项", code.chars().take(60).collect::<String>()),
        )
    })?;
    Ok(Json(Guide::clone(&guide)))
}

#[utoipa::path(get, path = "/api/v1/departments", tag = "事项目录", summary = "实施部门",
    description = "有已发布事项的部门，按区划排列，带事项数。",
    responses((status = 200, description = "部门列表", body = Vec<Object>)))]
pub(crate) async fn departments(State(state): State<AppState>) -> Result<Json<Vec<DepartmentCount>>, AppError> {
    Ok(Json(store::departments(&state.db).await?))
}

/// 一种导航分类及其分类项。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Taxonomy {
    /// life_event 人生事件、object 特定对象、theme 主题分类、activity 企业活动、enterprise_type 面向类型、industry 行业类型
    kind: String,
    /// 中文名称
    name: String,
    /// person、enterprise 或 both
    audience: String,
    /// 分类项及其已发布事项数
    #[schema(value_type = Vec<Object>)]
    tags: Vec<taxonomy::Tag>,
}

#[utoipa::path(get, path = "/api/v1/taxonomies", tag = "事项目录", summary = "导航分类",
    description = "人生事件、特定对象、主题分类、企业活动、面向类型、行业类型，各分类带已发布事项数。",
    responses((status = 200, description = "分类", body = Vec<Taxonomy>)))]
pub(crate) async fn taxonomies(State(state): State<AppState>) -> Result<Json<Vec<Taxonomy>>, AppError> {
    let mut out = Vec::new();
    for (kind, name, audience) in KINDS {
        out.push(Taxonomy {
            kind: kind.to_owned(),
            name: name.to_owned(),
            audience: audience.to_owned(),
            tags: taxonomy::tags(&state.db, kind, None).await?,
        });
    }
    Ok(Json(out))
}
