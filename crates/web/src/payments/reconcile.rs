//! The reconciliation pages (缴费对账): the days reconciled, running a day again, a day's
//! discrepancies with their resolution, and the day as an Excel workbook.

use crate::AppError;
use crate::auth::{RequestContext, SignedIn, Viewer};
use crate::html::{form_error, render, time, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_payments::PaymentError;
use govhall_payments::reconcile::{Discrepancy, Reconciliation};
use serde::Deserialize;
use uuid::Uuid;

fn yuan(fen: i64) -> String {
    govhall_core::Money::from_fen(fen).map(govhall_core::Money::yuan).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "payments/reconciliations.html")]
struct ListPage {
    page: Page,
    days: Vec<Reconciliation>,
    yesterday: String,
    error: String,
}

#[derive(Template)]
#[template(path = "payments/reconciliation.html")]
struct DayPage {
    page: Page,
    rec: Reconciliation,
    items: Vec<Discrepancy>,
    error: String,
}

impl ListPage {
    fn yuan(&self, fen: &i64) -> String {
        yuan(*fen)
    }
    fn time(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        time(*at)
    }
}

impl DayPage {
    fn yuan(&self, fen: &i64) -> String {
        yuan(*fen)
    }
    fn maybe_yuan(&self, fen: &Option<i64>) -> String {
        fen.map(yuan).unwrap_or_else(|| "—".into())
    }
    fn time(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        time(*at)
    }
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    error: String,
) -> Result<Html<String>, AppError> {
    let days = state.payments.reconciliations(&viewer.access, 90).await?;
    let yesterday = govhall_core::clock::china_date(state.db.now()) - chrono::Duration::days(1);
    render(ListPage { page: Page::new(state, "缴费对账").with(ctx), days, yesterday: yesterday.to_string(), error })
}

pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<Html<String>, AppError> {
    list_page(&state, &viewer, &ctx, String::new()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct RunForm {
    #[serde(default)]
    day: String,
}

/// Runs (or runs again) a day.
pub(crate) async fn run(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    axum::Form(form): axum::Form<RunForm>,
) -> Result<Response, AppError> {
    let today = govhall_core::clock::china_date(state.db.now());
    let result = match chrono::NaiveDate::parse_from_str(form.day.trim(), "%Y-%m-%d") {
        Ok(day) if day < today => {
            // The permission first: the gateway is not asked for someone who may not reconcile.
            match state.payments.reconciliations(&viewer.access, 1).await {
                Ok(_) => state.payments.reconcile(day, &ctx.actor()).await,
                Err(e) => Err(e),
            }
        }
        Ok(_) => Err(PaymentError::Invalid("只能对今天以前的日期对账（当天的对账单尚未生成）".into())),
        Err(_) => Err(PaymentError::Invalid("对账日期应为 YYYY-MM-DD 格式".into())),
    };
    match result {
        Ok(rec) => Ok(Redirect::to(&format!("/admin/payments/reconciliation/{}", rec.id)).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, list_page(&state, &viewer, &ctx, error).await?))
        }
    }
}

fn rec_id(id: &str) -> Result<Uuid, AppError> {
    id.parse().map_err(|_| AppError::from(PaymentError::NotFound))
}

async fn day_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    id: Uuid,
    error: String,
) -> Result<Html<String>, AppError> {
    let (rec, items) = state.payments.reconciliation(&viewer.access, id).await?;
    render(DayPage { page: Page::new(state, &format!("{} 对账", rec.day)).with(ctx), rec, items, error })
}

pub(crate) async fn day(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    day_page(&state, &viewer, &ctx, rec_id(&id)?, String::new()).await
}

pub(crate) async fn export(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let bytes = state.payments.reconciliation_workbook(&viewer.access, rec_id(&id)?).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(
            "attachment; filename=\"reconciliation.xlsx\"; filename*=UTF-8''%E7%BC%B4%E8%B4%B9%E5%AF%B9%E8%B4%A6.xlsx",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResolveForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    reconciliation: String,
}

pub(crate) async fn resolve(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<ResolveForm>,
) -> Result<Response, AppError> {
    let rec = rec_id(&form.reconciliation)?;
    match state.payments.resolve(&viewer.access, &ctx.actor(), rec_id(&id)?, &form.note).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin/payments/reconciliation/{rec}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, day_page(&state, &viewer, &ctx, rec, error).await?))
        }
    }
}
