//! People's pages: choose a hall's service for an item, the table of days and times with the
//! places left, book, see and cancel my bookings, show the code as a QR code.

use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_booking::BookingRecord;
use govhall_booking::setup::{Hall, Service};
use govhall_booking::slots::Availability;
use govhall_booking::{ServiceId, SlotId};
use serde::Deserialize;

struct Cell {
    slot: SlotId,
    left: i32,
}

#[derive(Template)]
#[template(path = "booking/book.html")]
struct BookPage {
    page: Page,
    item_code: String,
    item_name: String,
    services: Vec<(Hall, Service)>,
    chosen: Option<ServiceId>,
    chosen_id: String,
    days: Vec<String>,
    rows: Vec<Row>,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct BookQuery {
    #[serde(default)]
    service: Option<String>,
}

/// A row of the table: the time, then a cell per day.
type Row = (String, Vec<Option<Cell>>);

fn table(a: &Availability) -> (Vec<String>, Vec<Row>) {
    let weekday = ["一", "二", "三", "四", "五", "六", "日"];
    let days = a
        .days
        .iter()
        .map(|d| {
            format!(
                "{}（周{}）",
                d.format("%m月%d日"),
                weekday[chrono::Datelike::weekday(d).num_days_from_monday() as usize]
            )
        })
        .collect();
    let rows = a
        .times
        .iter()
        .zip(&a.cells)
        .map(|(t, cells)| {
            (t.clone(), cells.iter().map(|c| c.as_ref().map(|s| Cell { slot: s.id, left: s.left() })).collect())
        })
        .collect();
    (days, rows)
}

async fn book_page(
    state: &AppState,
    ctx: &RequestContext,
    code: &str,
    service: Option<ServiceId>,
    error: String,
) -> Result<Html<String>, AppError> {
    let item = govhall_catalog::store::summary(&state.db, code)
        .await?
        .filter(|i| i.status == "published")
        .ok_or_else(AppError::not_found)?;
    // Only services with slot rules: one without has nothing to book yet.
    let services = state.booking.services_with_rules(code).await?;
    let chosen = service
        .filter(|id| services.iter().any(|(_, s)| s.id == *id))
        .or_else(|| (services.len() == 1).then(|| services[0].1.id));
    let (days, rows) = match chosen {
        Some(id) => table(&state.booking.availability(id, state.db.now()).await?),
        None => (Vec::new(), Vec::new()),
    };
    render(BookPage {
        page: Page::new(state, &format!("网上预约：{}", item.name)).with(ctx),
        item_code: item.code,
        item_name: item.name,
        services,
        chosen,
        chosen_id: chosen.map(|c| c.to_string()).unwrap_or_default(),
        days,
        rows,
        error,
    })
}

pub(crate) async fn book_form(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(code): Path<String>,
    Query(q): Query<BookQuery>,
) -> Result<Html<String>, AppError> {
    let service = q.service.as_deref().and_then(|s| s.parse().ok());
    book_page(&state, &ctx, &code, service, String::new()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct BookForm {
    #[serde(default)]
    slot: String,
    #[serde(default)]
    service: String,
}

pub(crate) async fn book(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
    axum::Form(form): axum::Form<BookForm>,
) -> Result<Response, AppError> {
    let service = form.service.parse().ok();
    let result = match form.slot.parse::<SlotId>() {
        Ok(slot) => state.booking.book(viewer.account.id, &ctx.actor(), slot, &code).await,
        Err(_) => Err(govhall_booking::BookingError::Invalid("请选择预约时段".into())),
    };
    match result {
        Ok(b) => Ok(Redirect::to(&format!("/account/bookings/{}", b.code)).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, book_page(&state, &ctx, &code, service, error).await?))
        }
    }
}

#[derive(Template)]
#[template(path = "booking/mine.html")]
struct MinePage {
    page: Page,
    bookings: Vec<BookingRecord>,
    error: String,
}

async fn mine_page(
    state: &AppState,
    viewer: &crate::auth::Viewer,
    ctx: &RequestContext,
    error: String,
) -> Result<Html<String>, AppError> {
    let bookings = state.booking.mine(viewer.account.id).await?;
    render(MinePage { page: Page::new(state, "我的预约").with(ctx), bookings, error })
}

pub(crate) async fn mine(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<Html<String>, AppError> {
    mine_page(&state, &viewer, &ctx, String::new()).await
}

#[derive(Template)]
#[template(path = "booking/one.html")]
struct OnePage {
    page: Page,
    b: BookingRecord,
}

pub(crate) async fn one(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    let b = state.booking.mine_one(viewer.account.id, &code).await?;
    render(OnePage { page: Page::new(&state, &format!("预约 {}", b.code)).with(&ctx), b })
}

pub(crate) async fn qr(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let b = state.booking.mine_one(viewer.account.id, &code).await?;
    let mut response = crate::booking::qr_svg(&b.code)?.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    Ok(response)
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    match state.booking.cancel(viewer.account.id, &ctx.actor(), &code).await {
        Ok(_) => Ok(Redirect::to("/account/bookings").into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, mine_page(&state, &viewer, &ctx, error).await?))
        }
    }
}
