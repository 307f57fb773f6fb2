//! The payer's order page and staff's actions on orders.

use super::OrderView;
use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_core::Money;
use govhall_payments::{Canceller, Order, OrderId, PaymentError};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "payments/order.html")]
struct OrderPage {
    page: Page,
    o: OrderView,
    serial: String,
    returned: bool,
    /// The hall has no real gateway: payments go to the sandbox.
    sandbox: bool,
    error: String,
}

pub(crate) fn order_id(id: &str) -> Result<OrderId, AppError> {
    id.parse().map_err(|_| AppError::from(PaymentError::NotFound))
}

async fn order_page(
    state: &AppState,
    ctx: &RequestContext,
    order: &Order,
    returned: bool,
    error: String,
) -> Result<Html<String>, AppError> {
    let serial = state.cases.serial_of(order.case_id).await?;
    render(OrderPage {
        page: Page::new(state, &format!("缴款单 {}", order.notice_number)).with(ctx),
        o: OrderView::of(order),
        serial,
        returned,
        sandbox: state.payments.uses_sandbox(),
        error,
    })
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let order = state.payments.payer_order(viewer.account.id, order_id(&id)?).await?;
    order_page(&state, &ctx, &order, false, String::new()).await
}

/// 确认缴费: to the gateway's page.
pub(crate) async fn start(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = order_id(&id)?;
    match state.payments.start(viewer.account.id, id).await {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            let order = state.payments.payer_order(viewer.account.id, id).await?;
            Ok(with_status(status, order_page(&state, &ctx, &order, false, error).await?))
        }
    }
}

/// Back from the gateway: the hall asks the gateway (never the browser's parameters).
pub(crate) async fn back(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = order_id(&id)?;
    match state.payments.check(viewer.account.id, id).await {
        Ok(order) => Ok(order_page(&state, &ctx, &order, true, String::new()).await?.into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            let order = state.payments.payer_order(viewer.account.id, id).await?;
            Ok(with_status(status, order_page(&state, &ctx, &order, true, error).await?))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReasonForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    amount: String,
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<ReasonForm>,
) -> Result<Response, AppError> {
    let id = order_id(&id)?;
    let result = state.payments.cancel(Canceller::Payer(viewer.account.id), &ctx.actor(), id, &form.reason).await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/payments/{id}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            let order = state.payments.payer_order(viewer.account.id, id).await?;
            Ok(with_status(status, order_page(&state, &ctx, &order, false, error).await?))
        }
    }
}

/// Staff's answer: back to the case's page, or the error on it.
async fn to_case(
    state: &AppState,
    viewer: &crate::auth::Viewer,
    ctx: &RequestContext,
    case: govhall_cases::CaseId,
    result: Result<(), PaymentError>,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/cases/{case}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, crate::cases::workbench::case_page(state, viewer, ctx, case, None, error).await?))
        }
    }
}

pub(crate) async fn reissue(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let case = crate::cases::workbench::case_id(&id)?;
    let result = state.payments.reissue(&viewer.access, &ctx.actor(), case).await.map(|_| ());
    to_case(&state, &viewer, &ctx, case, result).await
}

pub(crate) async fn staff_cancel(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<ReasonForm>,
) -> Result<Response, AppError> {
    let id = order_id(&id)?;
    let order = state.payments.staff_order(&viewer.access, govhall_identity::Permission::PaymentManage, id).await?;
    let result =
        state.payments.cancel(Canceller::Staff(&viewer.access), &ctx.actor(), id, &form.reason).await.map(|_| ());
    to_case(&state, &viewer, &ctx, order.case_id, result).await
}

pub(crate) async fn refund(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<ReasonForm>,
) -> Result<Response, AppError> {
    let id = order_id(&id)?;
    let order = state.payments.staff_order(&viewer.access, govhall_identity::Permission::PaymentRefund, id).await?;
    let result = match Money::parse_yuan(&form.amount) {
        Ok(amount) => match state.payments.refund(&viewer.access, &ctx.actor(), id, amount, &form.reason).await {
            Ok((_, govhall_payments::RefundOutcome::Refused)) => {
                Err(PaymentError::WrongState("支付网关拒绝了这笔退款，金额已恢复为可退".into()))
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        },
        Err(e) => Err(PaymentError::Invalid(format!("退款金额{}", govhall_core::Coded::message(&e)))),
    };
    to_case(&state, &viewer, &ctx, order.case_id, result).await
}

/// The payment voucher (PDF) of a paid order, for its payer.
pub(crate) async fn receipt(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = order_id(&id)?;
    let font = state.applications.font()?;
    let bytes = state.payments.receipt_pdf(viewer.account.id, id, font).await?;
    Ok(crate::applications::confirm::pdf(bytes, &format!("缴费凭证-{id}")))
}

/// The payment voucher (PDF), for staff.
pub(crate) async fn staff_receipt(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = order_id(&id)?;
    let font = state.applications.font()?;
    let bytes = state.payments.staff_receipt_pdf(&viewer.access, id, font).await?;
    Ok(crate::applications::confirm::pdf(bytes, &format!("缴费凭证-{id}")))
}
