//! A search as people and programs ask for it: the parameters as typed, checked into a
//! request, with a Chinese message naming what is wrong.

use crate::SearchError;
use crate::schema::Category;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A query is cut to this many characters.
pub const MAX_QUERY_CHARS: usize = 64;
/// At most this many results a page.
pub const MAX_LIMIT: usize = 50;
/// Results past this offset are not served (refine the search instead).
pub const MAX_OFFSET: usize = 1_000;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first.
    #[default]
    Relevance,
    /// Most recently changed first.
    Newest,
}

/// The request's parameters as typed (query string or form); [`SearchRequest::from_params`]
/// checks them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct SearchParams {
    /// What was typed.
    pub q: String,
    /// `items` (default), `departments`, `documents`.
    pub category: String,
    /// `person` or `enterprise`.
    pub audience: String,
    /// A tag's id (life event, theme, group …).
    pub tag: String,
    /// A department's id.
    pub department: String,
    /// A region's 6-digit code (and everything below it).
    pub region: String,
    /// `province`, `city`, `county`.
    pub level: String,
    /// The item type (行政许可 …).
    #[serde(rename = "type")]
    pub item_type: String,
    /// At least this online depth (1–5).
    pub depth: String,
    /// Changed on or after this day (YYYY-MM-DD).
    pub from: String,
    /// Changed on or before this day.
    pub to: String,
    /// `relevance` or `newest`.
    pub sort: String,
    /// Page number from 1 (pages of `limit`).
    pub page: String,
    /// Results a page (default 10, at most 50).
    pub limit: String,
    /// Results to skip (instead of `page`).
    pub offset: String,
}

/// A checked search.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchRequest {
    /// What was typed.
    pub q: String,
    /// Which kind of result.
    pub category: Category,
    /// For `person` or `enterprise` (items for both count for either).
    pub audience: Option<String>,
    /// Carrying this tag.
    pub tag: Option<Uuid>,
    /// Of this department.
    pub department: Option<Uuid>,
    /// In this region or below.
    pub region: Option<String>,
    /// At this level.
    pub level: Option<String>,
    /// Of this item type.
    pub item_type: Option<String>,
    /// At least this online depth.
    pub min_depth: Option<u8>,
    /// Changed on or after.
    pub from: Option<NaiveDate>,
    /// Changed on or before.
    pub to: Option<NaiveDate>,
    /// Order.
    pub sort: Sort,
    /// Page size.
    pub limit: usize,
    /// Skipped.
    pub offset: usize,
}

fn invalid(message: impl Into<String>) -> SearchError {
    SearchError::invalid("invalid_filter", message)
}

fn some(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

impl SearchRequest {
    /// A plain search for `q` among items.
    pub fn text(q: &str) -> SearchRequest {
        SearchRequest { q: q.to_owned(), limit: 10, ..SearchRequest::default() }
    }

    /// Checks typed parameters; an error names the parameter in Chinese.
    pub fn from_params(p: &SearchParams) -> Result<SearchRequest, SearchError> {
        let category = match some(&p.category) {
            None => Category::Items,
            Some(c) => Category::parse(c).ok_or_else(|| {
                invalid("结果类别（category）应为 items（事项）、departments（部门）或 documents（材料）")
            })?,
        };
        let audience = match some(&p.audience) {
            None => None,
            Some(a @ ("person" | "enterprise")) => Some(a.to_owned()),
            Some(_) => return Err(invalid("服务对象（audience）应为 person（个人）或 enterprise（法人）")),
        };
        let uuid = |v: &str, what: &str| -> Result<Option<Uuid>, SearchError> {
            some(v).map(|v| Uuid::parse_str(v).map_err(|_| invalid(format!("{what}编号格式不正确")))).transpose()
        };
        let region = match some(&p.region) {
            None => None,
            Some(r) if r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit()) => Some(r.to_owned()),
            Some(_) => return Err(invalid("区划（region）应为 6 位行政区划代码")),
        };
        let level = match some(&p.level) {
            None => None,
            Some(l @ ("province" | "city" | "county")) => Some(l.to_owned()),
            Some(_) => return Err(invalid("层级（level）应为 province（省级）、city（市级）或 county（县级）")),
        };
        let min_depth = match some(&p.depth) {
            None => None,
            Some(d) => match d.parse::<u8>() {
                Ok(d @ 1..=5) => Some(d),
                _ => return Err(invalid("网办深度（depth）应为 1 到 5")),
            },
        };
        let day = |v: &str, what: &str| -> Result<Option<NaiveDate>, SearchError> {
            some(v)
                .map(|v| {
                    NaiveDate::parse_from_str(v, "%Y-%m-%d")
                        .map_err(|_| invalid(format!("{what}应为日期，如 2026-01-31")))
                })
                .transpose()
        };
        let (from, to) = (day(&p.from, "起始日期")?, day(&p.to, "截止日期")?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(invalid("起始日期不能晚于截止日期"));
        }
        let sort = match some(&p.sort) {
            None | Some("relevance") => Sort::Relevance,
            Some("newest") => Sort::Newest,
            Some(_) => return Err(invalid("排序（sort）应为 relevance（相关度）或 newest（最新）")),
        };
        let limit = match some(&p.limit) {
            None => 10,
            Some(l) => match l.parse::<usize>() {
                Ok(l @ 1..=MAX_LIMIT) => l,
                _ => return Err(invalid(format!("每页条数（limit）应为 1 到 {MAX_LIMIT}"))),
            },
        };
        let offset = match (some(&p.page), some(&p.offset)) {
            (Some(page), _) => match page.parse::<usize>() {
                Ok(page @ 1..) => (page - 1).saturating_mul(limit),
                _ => return Err(invalid("页码（page）应为从 1 开始的整数")),
            },
            (None, Some(o)) => o.parse::<usize>().map_err(|_| invalid("跳过条数（offset）应为非负整数"))?,
            (None, None) => 0,
        };
        if offset > MAX_OFFSET {
            return Err(invalid(format!("最多浏览前 {MAX_OFFSET} 条结果，请增加筛选条件")));
        }
        let item_type = some(&p.item_type).map(str::to_owned);
        if item_type.as_ref().is_some_and(|t| t.chars().count() > 20) {
            return Err(invalid("事项类型过长"));
        }
        Ok(SearchRequest {
            q: p.q.chars().take(1_000).collect(),
            category,
            audience,
            tag: uuid(&p.tag, "主题")?,
            department: uuid(&p.department, "部门")?,
            region,
            level,
            item_type,
            min_depth,
            from,
            to,
            sort,
            limit,
            offset,
        })
    }

    /// Whether anything narrows the search besides the text and the category.
    pub fn has_filters(&self) -> bool {
        self.audience.is_some()
            || self.tag.is_some()
            || self.department.is_some()
            || self.region.is_some()
            || self.level.is_some()
            || self.item_type.is_some()
            || self.min_depth.is_some()
            || self.from.is_some()
            || self.to.is_some()
    }
}
