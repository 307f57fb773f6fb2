//! The message center's admin pages: sign-in, the delivery log with one message's transitions,
//! retry and cancel, and the templates with their versions.

mod log;
mod login;
mod templates;

pub(crate) use log::{cancel, message, messages, retry};
pub(crate) use login::{login, login_page, logout};
pub(crate) use templates::{save_template, template_form, templates};

use crate::AppError;
use crate::error::KeepBody;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()))
}

/// A time as people in China read it.
fn time(at: DateTime<Utc>) -> String {
    at.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn render(page: impl Template) -> Result<Html<String>, AppError> {
    Ok(Html(page.render().map_err(AppError::internal)?))
}

/// A page answered with an error status (a form with its errors): the page is the answer, so
/// the error renderer leaves it alone.
fn with_status(status: StatusCode, page: Html<String>) -> Response {
    let mut response = (status, page).into_response();
    response.extensions_mut().insert(KeepBody);
    response
}
