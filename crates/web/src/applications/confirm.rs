//! The end of the journey: check answers, submission and its confirmation (the password once),
//! discarding a draft, and the printouts.

use super::pages::{id_of, me};
use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::html::{form_error, render, time, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_applications::ApplicationId;
use govhall_applications::model::Workspace;
use serde::Deserialize;

/// A section on the check-answers page: key, title, rows of (label, answer, field key).
type AnsweredSection = (String, String, Vec<(String, String, String)>);

// ---- Check answers and submit ---------------------------------------------------------------

#[derive(Template)]
#[template(path = "applications/check.html")]
struct CheckPage {
    page: Page,
    w: Workspace,
    sections: Vec<AnsweredSection>,
    errors: Vec<(String, String)>,
    materials_error: String,
    error: String,
}

async fn check_page(
    state: &AppState,
    ctx: &RequestContext,
    w: Workspace,
    error: String,
) -> Result<Html<String>, AppError> {
    let id = w.application.id;
    let regions = state.applications.regions();
    // Every blocker at once: the answers' problems, then the missing materials.
    let blockers = state.applications.blockers(&w);
    let mut errors = Vec::new();
    for e in &blockers.answers {
        let top = e.key.split('.').next().unwrap_or_default().to_owned();
        let section = w.form.sections.iter().find(|s| s.fields.iter().any(|f| f.key == top)).map(|s| s.key.clone());
        let section = section.unwrap_or_default();
        errors.push((
            format!("/applications/{id}/sections/{section}#field-f-{top}"),
            format!("{}：{}", e.label, e.message),
        ));
    }
    let materials_error = blockers.materials_message().unwrap_or_default();
    let sections = w
        .form
        .sections
        .iter()
        .map(|s| {
            let rows = s
                .fields
                .iter()
                .filter(|f| w.form.visible(f, &w.application.answers))
                // A value from the verified profile has nothing to change.
                .map(|f| {
                    let change = if w.is_locked(&f.key) { String::new() } else { f.key.clone() };
                    (f.label.clone(), w.form.display(f, &w.application.answers, regions), change)
                })
                .collect();
            (s.key.clone(), s.title.clone(), rows)
        })
        .collect();
    render(CheckPage {
        page: Page::new(state, &format!("检查并提交：{}", w.application.item_name)).with(ctx),
        sections,
        errors,
        materials_error,
        error,
        w,
    })
}

pub(crate) async fn check(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let w = state.applications.workspace(me(&viewer), id).await?;
    if !w.application.is_draft() {
        return Ok(Redirect::to(&format!("/applications/{id}/done")).into_response());
    }
    Ok(check_page(&state, &ctx, w, String::new()).await?.into_response())
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    match state.applications.submit(me(&viewer), id).await {
        Ok(_) => Ok(Redirect::to(&format!("/applications/{id}/done")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            let w = state.applications.workspace(me(&viewer), id).await?;
            Ok(with_status(status, check_page(&state, &ctx, w, error).await?))
        }
    }
}

#[derive(Template)]
#[template(path = "applications/done.html")]
struct DonePage {
    page: Page,
    id: ApplicationId,
    item_name: String,
    department: String,
    serial: String,
    password: String,
    submitted_at: String,
}

pub(crate) async fn done(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let w = state.applications.finish_submission(me(&viewer), id).await?;
    let Some(serial) = w.application.serial_number.clone() else {
        return Ok(Redirect::to(&format!("/applications/{id}")).into_response());
    };
    let password = state.applications.reveal_password(me(&viewer), id).await?.unwrap_or_default();
    let mut response = render(DonePage {
        page: Page::new(&state, "申报已提交").with(&ctx),
        id,
        item_name: w.application.item_name.clone(),
        department: w.department.clone(),
        serial,
        password,
        submitted_at: w.application.submitted_at.map(time).unwrap_or_default(),
    })?
    .into_response();
    // The password is on this page once: no copy kept by the browser or a proxy.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

pub(crate) async fn discard(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    state.applications.discard(me(&viewer), id_of(&id)?).await?;
    Ok(Redirect::to("/account/cases").into_response())
}

// ---- Printouts ----------------------------------------------------------------------------

pub(crate) fn pdf(bytes: Vec<u8>, name: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    let disposition = format!(
        "inline; filename=\"{}.pdf\"; filename*=UTF-8''{}",
        "document",
        crate::auth::urlencode(&format!("{name}.pdf"))
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

pub(crate) async fn print_form(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let bytes = state.applications.print_form(me(&viewer), id_of(&id)?).await?;
    Ok(pdf(bytes, "申请表"))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReceiptForm {
    #[serde(default)]
    password: String,
}

pub(crate) async fn receipt(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let password = serde_urlencoded::from_bytes::<ReceiptForm>(&body).map(|f| f.password).unwrap_or_default();
    let bytes = state.applications.print_receipt(me(&viewer), id_of(&id)?, Some(&password)).await?;
    Ok(pdf(bytes, "申报回执"))
}
