//! The sandbox's pages: the payment page with the banks (design steps 4–6), where a tester
//! pays, fails or abandons and chooses how the hall is notified; the browser then goes back to
//! the hall, carrying nothing the hall trusts.

use super::{BANKS, NotifyMode, SandboxGateway};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_core::Money;
use govhall_payments::gateway::protocol::WireStatus;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "sandbox_gateway/pay.html")]
struct PayPage {
    trade_no: String,
    notice_number: String,
    subject: String,
    payer: String,
    amount: String,
    items: Vec<(String, String, String)>,
    banks: [&'static str; 6],
    paid: bool,
    return_url: String,
}

#[derive(Template)]
#[template(path = "sandbox_gateway/home.html")]
struct HomePage;

/// A page with no script, no framing, forms to itself and on to the hall only.
fn html(page: impl Template) -> Response {
    crate::sandbox_signed::page(page, "'self' http: https:")
}

pub(super) async fn home() -> Response {
    html(HomePage)
}

fn yuan(fen: i64) -> String {
    Money::from_fen(fen).map(Money::yuan).unwrap_or_default()
}

pub(super) async fn page(State(sandbox): State<SandboxGateway>, Path(trade): Path<String>) -> Response {
    let Some(p) = sandbox.by_trade(&trade) else {
        return (StatusCode::NOT_FOUND, Html("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>支付单不存在</title><p>支付单不存在或已失效。</p></html>")).into_response();
    };
    let page = PayPage {
        trade_no: p.trade_no.clone(),
        notice_number: p.request.notice_number.clone(),
        subject: p.request.subject.clone(),
        payer: p.request.payer.clone(),
        amount: yuan(p.request.amount_fen),
        items: p.request.items.iter().map(|i| (i.code.clone(), i.name.clone(), yuan(i.amount_fen))).collect(),
        banks: BANKS,
        paid: p.status == WireStatus::Success,
        return_url: p.request.return_url.clone(),
    };
    html(page)
}

#[derive(Debug, Deserialize)]
pub(super) struct PayForm {
    #[serde(default)]
    bank: String,
    /// `pay`, `fail` or `abandon`.
    outcome: String,
    #[serde(default)]
    notify: NotifyMode,
}

pub(super) async fn submit(
    State(sandbox): State<SandboxGateway>,
    Path(trade): Path<String>,
    Form(form): Form<PayForm>,
) -> Response {
    let Some(p) = sandbox.by_trade(&trade) else { return StatusCode::NOT_FOUND.into_response() };
    let back = p.request.return_url.clone();
    let success = match form.outcome.as_str() {
        "pay" => true,
        "fail" => false,
        _ => return Redirect::to(&back).into_response(),
    };
    let bank = if BANKS.contains(&form.bank.as_str()) { form.bank } else { BANKS[0].to_owned() };
    if let Some(settled) = sandbox.settle(&trade, &bank, success) {
        sandbox.notify(settled, form.notify);
    }
    Redirect::to(&back).into_response()
}
