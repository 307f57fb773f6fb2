//! Helpers every HTML page uses: rendering a template, answering a form with its errors, and
//! showing times as people in China read them.

use crate::AppError;
use crate::error::KeepBody;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use govhall_core::clock::CHINA;

pub(crate) fn render(page: impl Template) -> Result<Html<String>, AppError> {
    Ok(Html(page.render().map_err(AppError::internal)?))
}

/// A form page answered again with its error: the page is the answer, so the error renderer
/// leaves it alone.
pub(crate) fn with_status(status: StatusCode, page: Html<String>) -> Response {
    let mut response = (status, page).into_response();
    response.extensions_mut().insert(KeepBody);
    response
}

/// Splits an error into what a form shows (4xx: status and Chinese message) and what must
/// propagate (5xx).
pub(crate) fn form_error(e: impl Into<AppError>) -> Result<(StatusCode, String), AppError> {
    let e: AppError = e.into();
    if e.status().is_client_error() { Ok((e.status(), e.message().to_owned())) } else { Err(e) }
}

/// The answer to a form post: on success, go to `to` (post, redirect, get); on a client error,
/// the form page again, made by `page` from the Chinese message, with the error's status; a
/// server error propagates.
pub(crate) async fn after_post<T, E: Into<AppError>>(
    result: Result<T, E>,
    to: &str,
    page: impl AsyncFnOnce(String) -> Result<Html<String>, AppError>,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(Redirect::to(to).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, page(error).await?))
        }
    }
}

/// A time as people in China read it.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.with_timezone(&CHINA).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The start of a day typed as YYYY-MM-DD in China, or a message naming `field`.
pub(crate) fn parse_day(field: &str, s: &str) -> Result<Option<DateTime<Utc>>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let day =
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("{field}应为 YYYY-MM-DD 格式的日期"))?;
    Ok(CHINA.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default()).single().map(|d| d.with_timezone(&Utc)))
}
