//! 缴费记录: a person's own payment orders, or an enterprise's for its members, newest first, a
//! page at a time, with the receipts; the same in the API.

use super::OrderView;
use super::api::OrderOut;
use crate::AppError;
use crate::auth::SignedIn;
use crate::html::render;
use crate::layout::Page;
use crate::space::{WhoseQuery, choices, whose};
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct HistoryQuery {
    /// 企业 id：该企业的缴费记录（须为该企业有效成员）；不填为本人的
    #[serde(default)]
    enterprise: Option<Uuid>,
    /// 页码，从 0 开始
    #[serde(default)]
    page: u32,
}

#[derive(Template)]
#[template(path = "payments/history.html")]
struct HistoryPage {
    page: Page,
    name: String,
    choices: Vec<(String, String, bool)>,
    orders: Vec<(OrderView, String)>,
    previous: Option<String>,
    next: Option<String>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<HistoryQuery>,
) -> Result<Html<String>, AppError> {
    let me = viewer.account.id;
    let (w, name) = whose(&state, me, &WhoseQuery { enterprise: q.enterprise }).await?;
    let (orders, more) = state.payments.history(me, w, q.page).await?;
    let mut rows = Vec::with_capacity(orders.len());
    for o in &orders {
        rows.push((OrderView::of(o), state.cases.serial_of(o.case_id).await?));
    }
    let link = |page: u32| {
        let mut parts = Vec::new();
        if let Some(e) = q.enterprise {
            parts.push(format!("enterprise={e}"));
        }
        if page > 0 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() { "/account/payments".to_owned() } else { format!("/account/payments?{}", parts.join("&")) }
    };
    render(HistoryPage {
        page: Page::new(&state, &format!("缴费记录：{name}")).with(&ctx),
        choices: choices(&state, me, "/account/payments", "我的办件", q.enterprise).await?,
        name,
        orders: rows,
        previous: (q.page > 0).then(|| link(q.page - 1)),
        next: more.then(|| link(q.page + 1)),
    })
}

/// 一页缴费记录。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HistoryOut {
    /// 缴款单，新的在前
    orders: Vec<OrderOut>,
    /// 是否还有下一页
    more: bool,
}

#[utoipa::path(get, path = "/api/v1/me/payment-orders", tag = "个人中心",
    summary = "缴费记录", params(HistoryQuery),
    description = "本人（或指定企业）的全部缴款单，新的在前，每页 20 条；含待缴、已缴（电子票据号）、已取消、已过期、已退款。",
    responses((status = 200, description = "一页缴款单", body = HistoryOut),
        (status = 404, description = "不是该企业的有效成员：not_found")))]
pub(crate) async fn api(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<HistoryOut>, AppError> {
    let me = viewer.account.id;
    let (w, _) = whose(&state, me, &WhoseQuery { enterprise: q.enterprise }).await?;
    let (orders, more) = state.payments.history(me, w, q.page).await?;
    Ok(Json(HistoryOut { orders: orders.iter().map(OrderOut::from).collect(), more }))
}
