//! The licence pages: public verification (a form, and the answer for one identifier),
//! 我的证照 with printouts, and staff's view of a licence with revocation.

use super::{LicenceView, licence_id};
use crate::AppError;
use crate::auth::{RequestContext, SignedIn, Viewer};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_core::clock::china_date;
use govhall_licences::{Verdict, Verification};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "licences/verify.html")]
struct VerifyPage {
    page: Page,
    /// What was typed or scanned (empty: the form alone).
    asked: String,
    answer: Option<Verification>,
    /// What is wrong with an uploaded PDF.
    error: String,
}

impl VerifyPage {
    fn genuine(&self) -> bool {
        self.answer.as_ref().is_some_and(|a| a.verdict == Verdict::Genuine)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct VerifyQuery {
    #[serde(default)]
    id: String,
}

/// 证照核验: the form; with `?id=`, on to the answer.
pub(crate) async fn verify_form(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<VerifyQuery>,
) -> Result<Response, AppError> {
    let asked = q.id.trim();
    if !asked.is_empty() {
        let target = format!("/verify/{}", crate::auth::urlencode(asked));
        return Ok(Redirect::to(&target).into_response());
    }
    let page = Page::new(&state, "电子证照核验").with(&ctx).in_section("verify");
    Ok(render(VerifyPage { page, asked: String::new(), answer: None, error: String::new() })?.into_response())
}

/// The answer for one identifier.
pub(crate) async fn verify(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(identifier): Path<String>,
) -> Result<Response, AppError> {
    // The page answers 200 whatever the verdict (it is the answer to a question, like a
    // search); the API's statuses tell programs.
    let answer = state.licences.verify(&identifier).await?;
    let asked: String = identifier.trim().chars().take(200).collect();
    let page = Page::new(&state, "电子证照核验结果").with(&ctx).in_section("verify");
    Ok(render(VerifyPage { page, asked, answer: Some(answer), error: String::new() })?.into_response())
}

/// The PDF's part of a multipart body (`file`), at most 10 MB: its bytes.
pub(crate) async fn uploaded_pdf(mut multipart: axum::extract::Multipart) -> Result<Vec<u8>, AppError> {
    let broken =
        |_| AppError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_upload", "上传的内容无法读取，请重新选择文件");
    let max = govhall_files::pdf_info::MAX_BYTES;
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        if field.name() != Some("file") {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(broken)? {
            if bytes.len() + chunk.len() > max {
                return Err(AppError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "file_too_large",
                    "文件超过 10 MB，不是本大厅签发的电子证照 PDF",
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(bytes);
    }
    Err(AppError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "file_missing", "请选择要核验的电子证照 PDF 文件"))
}

/// An uploaded copy of a licence's PDF, checked against the registry.
pub(crate) async fn verify_pdf(
    State(state): State<AppState>,
    ctx: RequestContext,
    multipart: axum::extract::Multipart,
) -> Result<Response, AppError> {
    let page = Page::new(&state, "电子证照核验结果").with(&ctx).in_section("verify");
    let checked = match uploaded_pdf(multipart).await {
        Ok(bytes) => state.licences.verify_pdf(&bytes).await.map_err(AppError::from),
        Err(e) => Err(e),
    };
    match checked {
        Ok(answer) => {
            let asked = answer.licence.as_ref().map(|l| l.identifier.clone()).unwrap_or_default();
            Ok(render(VerifyPage { page, asked, answer: Some(answer), error: String::new() })?.into_response())
        }
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, render(VerifyPage { page, asked: String::new(), answer: None, error })?))
        }
    }
}

#[derive(Template)]
#[template(path = "licences/mine.html")]
struct MinePage {
    page: Page,
    licences: Vec<LicenceView>,
}

/// 我的证照.
pub(crate) async fn mine(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<Html<String>, AppError> {
    let today = china_date(state.db.now());
    let licences = state.licences.mine(viewer.account.id).await?;
    render(MinePage {
        page: Page::new(&state, "我的证照").with(&ctx),
        licences: licences.iter().map(|l| LicenceView::of(l, today)).collect(),
    })
}

/// The printout of one of the viewer's licences.
pub(crate) async fn pdf(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = licence_id(&id)?;
    let font = state.applications.font()?;
    let bytes = state.licences.pdf(viewer.account.id, id, font).await?;
    Ok(crate::applications::confirm::pdf(bytes, &format!("电子证照-{id}")))
}

#[derive(Template)]
#[template(path = "licences/staff.html")]
struct StaffPage {
    page: Page,
    l: LicenceView,
    /// Key, label, value of the fields, for 换发.
    editable: Vec<(String, String, String)>,
    /// The identifier of its successor, when re-issued.
    replaced_by: Option<String>,
    /// When, what, detail, who: oldest first.
    history: Vec<(String, &'static str, String, String)>,
    error: String,
}

async fn staff_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    id: govhall_licences::LicenceId,
    error: String,
) -> Result<Html<String>, AppError> {
    let licence = state.licences.for_staff(&viewer.access, id).await?;
    let today = china_date(state.db.now());
    let history = state
        .licences
        .history(&viewer.access, id)
        .await?
        .into_iter()
        .map(|e| (crate::html::time(e.at), e.label(), e.detail, e.actor_name))
        .collect();
    render(StaffPage {
        page: Page::new(state, &format!("{} {}", licence.type_name, licence.number)).with(ctx),
        l: LicenceView::of(&licence, today),
        editable: licence.fields.clone(),
        replaced_by: licence.replaced_by.clone(),
        history,
        error,
    })
}

/// A licence, for staff who may manage it.
pub(crate) async fn staff(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    staff_page(&state, &viewer, &ctx, licence_id(&id)?, String::new()).await
}

/// The printout, for staff.
pub(crate) async fn staff_pdf(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = licence_id(&id)?;
    let font = state.applications.font()?;
    let bytes = state.licences.staff_pdf(&viewer.access, id, font).await?;
    Ok(crate::applications::confirm::pdf(bytes, &format!("电子证照-{id}")))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RevokeForm {
    #[serde(default)]
    reason: String,
}

/// 换发: the corrected fields (`field.{key}`) and the reason.
pub(crate) async fn reissue(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = licence_id(&id)?;
    let mut changes = std::collections::BTreeMap::new();
    let mut reason = String::new();
    for (k, v) in form.into_iter().take(100) {
        match k.strip_prefix("field.") {
            Some(key) => {
                changes.insert(key.to_owned(), v);
            }
            None if k == "reason" => reason = v,
            None => {}
        }
    }
    match state.licences.reissue(&viewer.access, &ctx.actor(), id, &changes, &reason).await {
        Ok(new) => Ok(Redirect::to(&format!("/admin/licences/{}", new.id)).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, staff_page(&state, &viewer, &ctx, id, error).await?))
        }
    }
}

/// 注销: with a reason the holder is told.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<RevokeForm>,
) -> Result<Response, AppError> {
    let id = licence_id(&id)?;
    match state.licences.revoke(&viewer.access, &ctx.actor(), id, &form.reason).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/licences/{id}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, staff_page(&state, &viewer, &ctx, id, error).await?))
        }
    }
}
