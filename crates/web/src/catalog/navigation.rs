//! The navigations: 个人办事 and 企业办事 with four ways each, 部门服务 by region and department,
//! and the lists they lead to.

use super::{PAGE, pages};
use crate::AppError;
use crate::auth::RequestContext;
use crate::html::render;
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use govhall_catalog::model::{LEVELS, ONLINE_DEPTHS};
use govhall_catalog::store::{self, DepartmentCount, ItemFilter, ItemSummary};
use govhall_catalog::taxonomy::{self, KINDS, Tag};
use serde::Deserialize;
use uuid::Uuid;

/// The navigations of one audience: (code, Chinese name).
fn navigations(audience: &str) -> Vec<(&'static str, &'static str)> {
    let mut navs: Vec<(&str, &str)> =
        KINDS.iter().filter(|(_, _, a)| *a == audience || *a == "both").map(|(k, l, _)| (*k, *l)).collect();
    if audience == "person" {
        navs.push(("phrases", "公众语言"));
    }
    navs
}

#[derive(Template)]
#[template(path = "catalog/hub.html")]
struct HubPage {
    page: Page,
    audience: &'static str,
    heading: &'static str,
    base: &'static str,
    navs: Vec<(&'static str, &'static str)>,
    current: String,
    tags: Vec<Tag>,
    phrases: Vec<(String, String, String)>,
    total: i64,
    next: Option<i64>,
    prev: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct HubQuery {
    #[serde(default)]
    nav: String,
    #[serde(default)]
    offset: i64,
}

async fn hub(
    state: &AppState,
    ctx: &RequestContext,
    audience: &'static str,
    q: HubQuery,
) -> Result<Html<String>, AppError> {
    let navs = navigations(audience);
    let current = navs.iter().find(|(k, _)| *k == q.nav).map_or(navs[0].0, |(k, _)| *k).to_owned();
    let (heading, base, section) = if audience == "person" {
        ("个人办事", "/personal", "personal")
    } else {
        ("企业办事", "/enterprise", "enterprise")
    };
    let offset = q.offset.max(0);
    let (tags, phrases, total) = if current == "phrases" {
        let (total, rows) = store::phrases(&state.db, audience, 60, offset).await?;
        (Vec::new(), rows, total)
    } else {
        (taxonomy::tags(&state.db, &current, Some(audience)).await?, Vec::new(), 0)
    };
    render(HubPage {
        page: Page::new(state, heading).in_section(section).with(ctx),
        audience,
        heading,
        base,
        navs,
        current,
        tags,
        phrases,
        total,
        next: (offset + 60 < total).then_some(offset + 60),
        prev: (offset > 0).then(|| (offset - 60).max(0)),
    })
}

pub(crate) async fn personal(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<HubQuery>,
) -> Result<Html<String>, AppError> {
    hub(&state, &ctx, "person", q).await
}

pub(crate) async fn enterprise(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<HubQuery>,
) -> Result<Html<String>, AppError> {
    hub(&state, &ctx, "enterprise", q).await
}

/// The filters of an item list, as typed in its form.
#[derive(Debug, Default, Deserialize, Clone)]
pub(crate) struct ListQuery {
    #[serde(default, rename = "type")]
    item_type: String,
    #[serde(default)]
    depth: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    q: String,
    /// Whose navigation the list was reached from: `person` or `enterprise`.
    #[serde(default, rename = "for")]
    audience: String,
    #[serde(default)]
    offset: i64,
}

impl ListQuery {
    fn apply(&self, mut filter: ItemFilter) -> ItemFilter {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        filter.type_text = opt(&self.item_type);
        filter.min_depth = self.depth.trim().parse().ok().filter(|d| (1..=5).contains(d));
        filter.level = opt(&self.level).filter(|l| LEVELS.iter().any(|(c, _)| c == l));
        filter.text = opt(&self.q).map(|q| q.chars().take(50).collect());
        filter.audience = Some(self.audience.clone()).filter(|a| a == "person" || a == "enterprise");
        filter
    }

    /// The query string of these filters, for paging links.
    fn query(&self) -> String {
        let enc = |s: &str| crate::auth::urlencode(s);
        format!(
            "type={}&depth={}&level={}&q={}",
            enc(&self.item_type),
            enc(&self.depth),
            enc(&self.level),
            enc(&self.q)
        )
    }
}

#[derive(Template)]
#[template(path = "catalog/items.html")]
struct ItemsPage {
    page: Page,
    heading: String,
    subheading: String,
    action: String,
    q: ListQuery,
    items: Vec<ItemSummary>,
    total: i64,
    current: i64,
    last: i64,
    next: Option<String>,
    prev: Option<String>,
    types: Vec<(String, i64)>,
    depths: Vec<(u8, &'static str)>,
    levels: Vec<(&'static str, &'static str)>,
    back: (String, String),
}

#[allow(clippy::too_many_arguments, reason = "one page's parts")]
async fn items_page(
    state: &AppState,
    ctx: &RequestContext,
    heading: String,
    subheading: String,
    action: String,
    back: (String, String),
    filter: ItemFilter,
    q: ListQuery,
) -> Result<Html<String>, AppError> {
    let offset = q.offset.max(0);
    let filter = q.apply(filter);
    let page = state.catalog.list(&filter, PAGE, offset).await?;
    let (total, items) = (page.0, page.1.clone());
    let (current, last) = pages(total, offset);
    let current = current.min(last);
    let link = |o: i64| format!("{action}?{}&offset={o}", q.query());
    render(ItemsPage {
        page: Page::new(state, &heading).with(ctx),
        subheading,
        next: (offset + PAGE < total).then(|| link(offset + PAGE)),
        prev: (offset > 0).then(|| link((offset - PAGE).max(0))),
        heading,
        action,
        items,
        total,
        current,
        last,
        types: store::item_types(&state.db).await?,
        depths: ONLINE_DEPTHS.to_vec(),
        levels: LEVELS.to_vec(),
        back,
        q,
    })
}

pub(crate) async fn tag(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<Uuid>,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let tag = taxonomy::tag(&state.db, id).await?.ok_or_else(AppError::not_found)?;
    let (_, kind_label, audience) = KINDS.iter().find(|(k, _, _)| *k == tag.kind).copied().unwrap_or(("", "", "both"));
    let back = if audience == "enterprise" || q.audience == "enterprise" {
        (format!("/enterprise?nav={}", tag.kind), "企业办事".to_owned())
    } else {
        (format!("/personal?nav={}", tag.kind), "个人办事".to_owned())
    };
    let filter = ItemFilter { tag: Some(id), ..ItemFilter::default() };
    items_page(&state, &ctx, tag.name.clone(), kind_label.to_owned(), format!("/tags/{id}"), back, filter, q).await
}

#[derive(Template)]
#[template(path = "catalog/departments.html")]
struct DepartmentsPage {
    page: Page,
    regions: Vec<(String, String, Vec<DepartmentCount>)>,
}

pub(crate) async fn departments(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    let mut regions: Vec<(String, String, Vec<DepartmentCount>)> = Vec::new();
    for d in store::departments(&state.db).await? {
        match regions.last_mut() {
            Some((code, _, list)) if *code == d.region_code => list.push(d),
            _ => regions.push((d.region_code.clone(), d.region.clone(), vec![d])),
        }
    }
    render(DepartmentsPage { page: Page::new(&state, "部门服务").in_section("departments").with(&ctx), regions })
}

pub(crate) async fn department(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<Uuid>,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let department = govhall_identity::departments::get(&state.db, govhall_identity::DepartmentId::from_uuid(id))
        .await?
        .ok_or_else(AppError::not_found)?;
    let filter = ItemFilter { department: Some(id), ..ItemFilter::default() };
    let back = ("/departments".to_owned(), "部门服务".to_owned());
    items_page(&state, &ctx, department.name, department.region_name, format!("/departments/{id}"), back, filter, q)
        .await
}
