//! The search API for the mobile app and partners.

use crate::AppError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use govhall_search::query::Facets;
use govhall_search::{SearchParams, SearchRequest, Suggestion};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Parameters of `GET /api/v1/search` (documented for the API; read as [`SearchParams`]).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "describes the parameters in the API document; the handler reads SearchParams")]
pub(crate) struct SearchQueryDoc {
    /// 搜索内容：中文、日常说法、拼音、首字母、繁体均可，最多取前 64 个字
    q: Option<String>,
    /// 结果类别：items（办事事项，默认）、departments（部门）、documents（材料与表格）
    category: Option<String>,
    /// 服务对象：person（个人）或 enterprise（法人），同时面向两者的事项也包括在内
    audience: Option<String>,
    /// 分类编号（人生事件、主题、特定对象等，见 /api/v1/taxonomies）
    tag: Option<String>,
    /// 部门编号（见 /api/v1/departments）
    department: Option<String>,
    /// 6 位行政区划代码：该区划及下级区划
    region: Option<String>,
    /// 层级：province（省级）、city（市级）或 county（县级）
    level: Option<String>,
    /// 事项类型，如 行政许可
    r#type: Option<String>,
    /// 网上办理深度至少为（1 至 5）
    depth: Option<String>,
    /// 更新日期不早于（YYYY-MM-DD）
    from: Option<String>,
    /// 更新日期不晚于（YYYY-MM-DD）
    to: Option<String>,
    /// 排序：relevance（相关度，默认）或 newest（最新）
    sort: Option<String>,
    /// 每页条数，1 至 50，默认 10
    limit: Option<String>,
    /// 跳过的条数（最多 1000）
    offset: Option<String>,
    /// 页码（从 1 开始，与 offset 二选一）
    page: Option<String>,
}

/// 一条结果。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiHit {
    /// 类别：item、department 或 document
    kind: String,
    /// 事项编码（事项和材料）；部门为空
    code: String,
    /// 名称
    name: String,
    /// 实施部门
    department: String,
    /// 部门编号
    department_id: String,
    /// 区划
    region: String,
    /// 摘要：已做 HTML 转义，命中的词用 <em> 标出
    snippet: String,
    /// 名称，已做 HTML 转义，命中的词用 <em> 标出
    name_html: String,
    /// 是否为管理员置顶的推荐结果
    pinned: bool,
    /// 下载链接（材料的空白表格、示例样表）：[名称, 地址]
    links: Vec<(String, String)>,
}

/// 搜索结果。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiResults {
    /// 本类别结果总数
    total: usize,
    /// 本页结果
    hits: Vec<ApiHit>,
    /// 各筛选维度的结果数：audience、type、level、depth、department、region、tag，每项含 value、label、count
    #[schema(value_type = Object)]
    facets: Facets,
    /// 各类别的结果数：items、departments、documents
    #[schema(value_type = Object)]
    counts: std::collections::BTreeMap<String, usize>,
    /// 疑似错别字或拼音时的建议查询
    did_you_mean: Option<String>,
    /// 是否放宽为部分词语匹配
    relaxed: bool,
    /// 同时搜索的同义词
    expanded: Vec<String>,
}

#[utoipa::path(get, path = "/api/v1/search", tag = "搜索", summary = "搜索事项、部门和材料",
    description = "按相关度（或最新）排序的搜索结果，支持日常说法、同义词、拼音、首字母、繁体和错别字；带分面计数、高亮摘要和分页。从未发布的事项不会出现在结果中。",
    params(SearchQueryDoc),
    responses((status = 200, description = "搜索结果", body = ApiResults), (status = 400, description = "参数有误：code 为 invalid_filter"), (status = 503, description = "索引正在重建：code 为 search_rebuilding，稍后（Retry-After 秒后）重试")))]
pub(crate) async fn search(
    State(state): State<AppState>,
    Query(p): Query<SearchParams>,
) -> Result<Json<ApiResults>, super::SearchFailure> {
    let request = SearchRequest::from_params(&p)?;
    let r = super::run(&state, request).await?;
    Ok(Json(ApiResults {
        total: r.total,
        hits: r
            .hits
            .into_iter()
            .map(|h| ApiHit {
                kind: h.kind,
                code: h.code,
                name: h.name,
                department: h.department,
                department_id: h.department_id,
                region: h.region,
                snippet: h.snippet,
                name_html: h.name_html,
                pinned: h.pinned,
                links: h.links,
            })
            .collect(),
        facets: r.facets,
        counts: r.counts.into_iter().map(|(c, n)| (c.as_str().to_owned(), n)).collect(),
        did_you_mean: r.did_you_mean,
        relaxed: r.relaxed,
        expanded: r.expanded,
    }))
}

/// Parameters of the suggestions.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SuggestQuery {
    /// 已输入的内容（汉字、拼音或首字母）
    #[serde(default)]
    q: String,
    /// 建议条数，1 至 20，默认 8
    #[serde(default)]
    limit: String,
}

/// 输入提示。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Suggestions {
    /// 提示：text 为显示和搜索的文字，code 为它所指的事项编码（如有）
    #[schema(value_type = Vec<Object>)]
    suggestions: Vec<Suggestion>,
}

#[utoipa::path(get, path = "/api/v1/search/suggest", tag = "搜索", summary = "输入提示",
    description = "按已输入的汉字、拼音或首字母提示事项名称、日常说法和部门，常办的在前。",
    params(SuggestQuery),
    responses((status = 200, description = "提示", body = Suggestions), (status = 400, description = "参数有误：code 为 invalid_filter"), (status = 503, description = "索引正在重建：code 为 search_rebuilding，稍后（Retry-After 秒后）重试")))]
pub(crate) async fn suggest(
    State(state): State<AppState>,
    Query(q): Query<SuggestQuery>,
) -> Result<Json<Suggestions>, super::SearchFailure> {
    let limit = match q.limit.trim() {
        "" => 8,
        l => l.parse::<usize>().ok().filter(|n| (1..=20).contains(n)).ok_or_else(|| {
            AppError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_filter", "参数 limit 应为 1 到 20 的整数")
        })?,
    };
    let search = state.search.clone();
    let suggestions = super::blocking(move || search.suggest(&q.q, limit)).await?;
    Ok(Json(Suggestions { suggestions }))
}
