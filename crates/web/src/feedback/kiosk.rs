//! The hall terminal's rating page (kiosk mode): no sign-in; the case's number and query password
//! (on the receipt) prove the case, then the five levels, reasons and a comment. After each
//! rating the page is empty again for the next person.

use super::{RatingForm, rating_from};
use crate::AppError;
use crate::auth::RequestContext;
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_feedback::model::Rating;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "feedback/kiosk.html")]
struct KioskPage {
    page: Page,
    serial: String,
    form: Option<RatingForm>,
    error: String,
    notice: &'static str,
}

fn kiosk_page(
    state: &AppState,
    ctx: &RequestContext,
    serial: String,
    rating: &Rating,
    error: String,
    notice: &'static str,
) -> Result<Html<String>, AppError> {
    render(KioskPage {
        page: Page::new(state, "办事评价").with(ctx),
        serial,
        form: Some(RatingForm::of(rating, false)),
        error,
        notice,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<Done>,
) -> Result<Html<String>, AppError> {
    let notice = if q.done.is_some() { "感谢您的评价！" } else { "" };
    kiosk_page(&state, &ctx, String::new(), &Rating::default(), String::new(), notice)
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let field = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let (serial, password) = (field("serial"), field("query_password"));
    let rating = rating_from(&pairs);
    let actor = govhall_audit::Actor { id: None, label: "大厅评价终端".into(), client_ip: ctx.client_ip.clone() };
    match state.feedback.evaluate_at_terminal(&actor, &serial, &password, &ctx.client_ip, &rating).await {
        Ok(_) => Ok(Redirect::to("/kiosk/evaluate?done=1").into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, kiosk_page(&state, &ctx, serial, &rating, error, "")?))
        }
    }
}
