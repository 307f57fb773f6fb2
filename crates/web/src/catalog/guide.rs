//! The guide of one item (办事指南), and its print version.

use crate::AppError;
use crate::auth::RequestContext;
use crate::html::render;
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use govhall_catalog::model::{RELATION_KINDS, depth_label, level_label};
use govhall_catalog::store::Guide;
use govhall_catalog::taxonomy::kind_label;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "catalog/guide.html")]
struct GuidePage {
    page: Page,
    g: Arc<Guide>,
    print: bool,
    level: &'static str,
    audience: &'static str,
    depth: &'static str,
    statutory: String,
    promised: String,
    fees: Vec<(String, String, String, &'static str)>,
    related: Vec<(&'static str, Vec<(String, String)>)>,
    tags: Vec<(&'static str, String)>,
    published: String,
    printed: String,
    /// 好差评: the item's evaluations counted by level (5 … 1), their 满意率, default ratings.
    satisfaction: govhall_feedback::stats::Counts,
}

async fn guide_page(state: &AppState, ctx: &RequestContext, code: &str, print: bool) -> Result<Html<String>, AppError> {
    let g = state.catalog.guide(code).await?.ok_or_else(AppError::not_found)?;
    if !print {
        let visitor = ctx.viewer.as_ref().map_or_else(|| ctx.client_ip.clone(), |v| v.account.id.to_string());
        state.search.record_visit(code, &visitor);
    }
    let c = &g.content;
    let related = RELATION_KINDS
        .iter()
        .map(|(kind, label)| {
            let items = g
                .related
                .iter()
                .filter(|r| r.kind == *kind)
                .map(|r| (r.code.clone(), r.name.clone()))
                .collect::<Vec<_>>();
            (*label, items)
        })
        .filter(|(_, items)| !items.is_empty())
        .collect();
    let mut page = Page::new(state, &c.name).with(ctx);
    page.print = print;
    render(GuidePage {
        page,
        print,
        level: level_label(&c.level),
        audience: c.audience.label(),
        depth: depth_label(c.online_depth),
        statutory: c.statutory_limit.label(),
        promised: c.promised_limit.label(),
        fees: c.fees.iter().map(|f| (f.name.clone(), f.code.clone(), f.describe(), f.due.label())).collect(),
        related,
        tags: c.tags.iter().map(|t| (kind_label(&t.kind), t.name.clone())).collect(),
        published: g.published_at.map(crate::html::time).unwrap_or_default(),
        printed: crate::html::time(state.db.now()),
        satisfaction: state.feedback.item_satisfaction(code).await?,
        g: g.clone(),
    })
}

pub(crate) async fn guide(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    guide_page(&state, &ctx, &code, false).await
}

pub(crate) async fn print(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    guide_page(&state, &ctx, &code, true).await
}
