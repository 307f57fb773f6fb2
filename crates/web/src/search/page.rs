//! The results page: the search box, tabs by category with counts, facets as links, active
//! filters with a way to remove each, sort, dates, highlighted results, paging; "did you mean";
//! and on no result, a page that helps (other words, the navigations, popular items).

use super::query_string;
use crate::AppError;
use crate::auth::RequestContext;
use crate::html::{render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use govhall_search::query::{FacetCount, Hit};
use govhall_search::{Category, SearchParams, SearchRequest, SearchResults, Sort};

/// One link of a facet: label, count, where it goes, whether it is the active value.
type FacetLink = (String, u64, String, bool);

/// An active filter: its name, its value, the facet that labels it, how to remove it.
type ActiveFilter<'a> = (&'static str, &'a String, &'a [FacetCount], fn(&mut SearchParams));

#[derive(Template)]
#[template(path = "search/results.html")]
struct ResultsPage {
    page: Page,
    p: SearchParams,
    error: String,
    typed: bool,
    results: Option<SearchResults>,
    tabs: Vec<(&'static str, usize, String, bool)>,
    groups: Vec<(&'static str, Vec<FacetLink>)>,
    active: Vec<(String, String)>,
    relevance_href: String,
    newest_href: String,
    newest: bool,
    did_you_mean: Option<(String, String)>,
    current: usize,
    first: usize,
    last: usize,
    prev: Option<String>,
    next: Option<String>,
    popular: Vec<Hit>,
}

fn href(p: &SearchParams) -> String {
    format!("/search?{}", query_string(p))
}

/// `p` with one parameter set (and the page reset).
fn with(p: &SearchParams, set: impl FnOnce(&mut SearchParams)) -> SearchParams {
    let mut p = p.clone();
    p.page.clear();
    p.offset.clear();
    set(&mut p);
    p
}

fn facet_links(
    p: &SearchParams,
    values: &[FacetCount],
    current: &str,
    set: &dyn Fn(&mut SearchParams, String),
) -> Vec<FacetLink> {
    values
        .iter()
        .map(|v| {
            let selected = v.value == current;
            let target = with(p, |q| set(q, if selected { String::new() } else { v.value.clone() }));
            (v.label.clone(), v.count, href(&target), selected)
        })
        .collect()
}

pub(crate) async fn search(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(p): Query<SearchParams>,
) -> Result<Response, super::SearchFailure> {
    let typed = !p.q.trim().is_empty();
    let title = if typed {
        format!("搜索：{}", p.q.trim().chars().take(30).collect::<String>())
    } else {
        "搜索".to_owned()
    };
    let page = Page::new(&state, &title).with(&ctx);
    let request = match SearchRequest::from_params(&p) {
        Ok(r) => r,
        Err(e) => {
            let error = AppError::from(e).message().to_owned();
            let html = render(empty_page(page, p, error, typed))?;
            return Ok(with_status(StatusCode::BAD_REQUEST, html));
        }
    };
    let results = super::run(&state, request.clone()).await?;
    let popular = if results.total == 0 {
        let mut browse = SearchRequest::text("");
        browse.limit = 8;
        // Only what people have actually visited: a new hall has nothing to recommend yet.
        super::run(&state, browse).await?.hits.into_iter().filter(|h| h.popularity > 0).collect()
    } else {
        Vec::new()
    };
    Ok(render(results_page(page, p, &request, results, popular))?.into_response())
}

fn empty_page(page: Page, p: SearchParams, error: String, typed: bool) -> ResultsPage {
    ResultsPage {
        page,
        relevance_href: href(&with(&p, |q| q.sort.clear())),
        newest_href: href(&with(&p, |q| q.sort = "newest".to_owned())),
        p,
        error,
        typed,
        results: None,
        tabs: Vec::new(),
        groups: Vec::new(),
        active: Vec::new(),
        newest: false,
        did_you_mean: None,
        current: 1,
        first: 1,
        last: 1,
        prev: None,
        next: None,
        popular: Vec::new(),
    }
}

fn results_page(
    page: Page,
    p: SearchParams,
    r: &SearchRequest,
    results: SearchResults,
    popular: Vec<Hit>,
) -> ResultsPage {
    let typed = !p.q.trim().is_empty();
    let tabs = results
        .counts
        .iter()
        .map(|(c, n)| {
            let target =
                with(&p, |q| q.category = if *c == Category::Items { String::new() } else { c.as_str().to_owned() });
            (c.label(), *n, href(&target), *c == r.category)
        })
        .collect();
    let f = &results.facets;
    let mut groups: Vec<(&'static str, Vec<FacetLink>)> = Vec::new();
    if r.category != Category::Departments {
        groups.push(("服务对象", facet_links(&p, &f.audience, &p.audience, &|q, v| q.audience = v)));
        groups.push(("事项类型", facet_links(&p, &f.item_type, &p.item_type, &|q, v| q.item_type = v)));
        groups.push(("层级", facet_links(&p, &f.level, &p.level, &|q, v| q.level = v)));
        // Depth filters "at least": each link counts the results at that depth or deeper.
        let mut at_least: Vec<FacetCount> = f.depth.clone();
        for (i, d) in at_least.iter_mut().enumerate() {
            d.count = f.depth[i..].iter().map(|x| x.count).sum();
            d.label = format!("{}级及以上", d.value);
        }
        groups.push(("网办深度", facet_links(&p, &at_least, &p.depth, &|q, v| q.depth = v)));
        groups.push(("分类", facet_links(&p, &f.tag, &p.tag, &|q, v| q.tag = v)));
    }
    groups.push(("实施部门", facet_links(&p, &f.department, &p.department, &|q, v| q.department = v)));
    groups.push(("区划", facet_links(&p, &f.region, &p.region, &|q, v| q.region = v)));
    groups.retain(|(_, links)| !links.is_empty());

    let mut active = Vec::new();
    let label_of =
        |values: &[FacetCount], v: &str| values.iter().find(|x| x.value == v).map_or(v.to_owned(), |x| x.label.clone());
    let filters: [ActiveFilter<'_>; 7] = [
        ("服务对象", &p.audience, &f.audience, |q| q.audience.clear()),
        ("事项类型", &p.item_type, &f.item_type, |q| q.item_type.clear()),
        ("层级", &p.level, &f.level, |q| q.level.clear()),
        ("网办深度", &p.depth, &[], |q| q.depth.clear()),
        ("分类", &p.tag, &f.tag, |q| q.tag.clear()),
        ("实施部门", &p.department, &f.department, |q| q.department.clear()),
        ("区划", &p.region, &f.region, |q| q.region.clear()),
    ];
    for (name, value, values, clear) in filters {
        if !value.trim().is_empty() {
            let shown = if name == "网办深度" { format!("{value}级及以上") } else { label_of(values, value) };
            active.push((format!("{name}：{shown}"), href(&with(&p, clear))));
        }
    }
    if !p.from.trim().is_empty() || !p.to.trim().is_empty() {
        active.push((
            format!("更新时间：{} 至 {}", or_dash(&p.from), or_dash(&p.to)),
            href(&with(&p, |q| {
                q.from.clear();
                q.to.clear();
            })),
        ));
    }
    let did_you_mean = results.did_you_mean.as_ref().map(|d| (d.clone(), href(&with(&p, |q| q.q = d.clone()))));
    let limit = r.limit.max(1);
    let current = r.offset / limit + 1;
    let last = results.total.div_ceil(limit).clamp(1, govhall_search::query::MAX_OFFSET / limit + 1);
    let page_link = |n: usize| href(&with(&p, |q| q.page = n.to_string()));
    ResultsPage {
        page,
        relevance_href: href(&with(&p, |q| q.sort.clear())),
        newest_href: href(&with(&p, |q| q.sort = "newest".to_owned())),
        newest: r.sort == Sort::Newest,
        error: String::new(),
        typed,
        tabs,
        groups,
        active,
        did_you_mean,
        prev: (current > 1).then(|| page_link(current - 1)),
        next: (current < last).then(|| page_link(current + 1)),
        current,
        first: r.offset + 1,
        last,
        popular,
        results: Some(results),
        p,
    }
}

fn or_dash(s: &str) -> &str {
    if s.trim().is_empty() { "不限" } else { s }
}
