//! Materials: the page with one slot per material, uploads streamed from a multipart body
//! straight into the file store (several files at once; nothing buffered whole), deleting while
//! a draft, and downloads for the owner and for staff who may see the case.

use super::confirm::pdf;
use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures::TryStreamExt;
use govhall_applications::model::Workspace;
use govhall_applications::{ApplicationError, ApplicationFile, ApplicationFileId, ApplicationId};
use govhall_files::{Kind, human_size};

fn id_of<T: std::str::FromStr>(s: &str) -> Result<T, AppError> {
    s.parse().map_err(|_| AppError::not_found())
}

struct SlotView {
    index: usize,
    name: String,
    required: bool,
    copies: String,
    kinds: String,
    accept: String,
    template_url: String,
    sample_url: String,
    /// Id, name, size, and where it came from (取自材料库：…, empty for an upload).
    files: Vec<(ApplicationFileId, String, String, String)>,
    full: bool,
    /// The guide says it can come from the licence registry (可免交).
    from_licence: bool,
    /// The licence given: its label, and why it no longer counts (empty: it counts).
    licence: Option<(String, String)>,
    /// The applicant's licences it can take: id, label.
    choices: Vec<(String, String)>,
    /// Files of the materials library it can take (从我的材料选择): id, label, of its kind.
    library: Vec<(String, String, bool)>,
}

impl SlotView {
    fn has_licence(&self) -> bool {
        self.licence.as_ref().is_some_and(|(_, problem)| problem.is_empty())
    }
}

#[derive(Template)]
#[template(path = "applications/materials.html")]
struct MaterialsPage {
    page: Page,
    id: ApplicationId,
    item_name: String,
    slots: Vec<SlotView>,
    max_size: String,
    max_files: u32,
    error: String,
    notice: String,
}

/// A catalogue link shown as it is only when it is a web address or a path of this site.
pub(crate) fn safe_link(url: &str) -> String {
    let site_path = url.starts_with('/') && !url.starts_with("//") && !url.starts_with("/\\");
    if url.starts_with("https://") || url.starts_with("http://") || site_path { url.to_owned() } else { String::new() }
}

pub(crate) async fn materials_page(
    state: &AppState,
    ctx: &RequestContext,
    w: &Workspace,
    error: String,
    notice: String,
) -> Result<Html<String>, AppError> {
    let max_files = state.applications.settings().max_files_per_material;
    let mut choices = state.applications.licence_choices(w).await?.into_iter();
    let mut library = state.applications.library_choices(w).await?.into_iter();
    let slots = w
        .slots
        .iter()
        .map(|s| SlotView {
            from_licence: s.material.from_license,
            licence: s.licence.as_ref().map(|l| (l.label.clone(), l.problem.clone().unwrap_or_default())),
            choices: choices
                .next()
                .unwrap_or_default()
                .into_iter()
                .map(|l| (l.id.to_string(), format!("{} {}（有效期 {}）", l.type_name, l.number, l.validity())))
                .collect(),
            library: {
                let kind = govhall_applications::kinds::of(&s.material.name);
                library
                    .next()
                    .unwrap_or_default()
                    .iter()
                    .map(|m| (m.id.to_string(), crate::library::pages::choice_label(m), m.kind == kind))
                    .collect()
            },
            index: s.index,
            name: s.material.name.clone(),
            required: s.material.required,
            copies: s.material.copies.clone(),
            kinds: Kind::list(&s.kinds),
            accept: s
                .kinds
                .iter()
                .map(|k| format!(".{},{}", k.extension(), k.content_type()))
                .collect::<Vec<_>>()
                .join(","),
            template_url: safe_link(&s.material.template_url),
            sample_url: safe_link(&s.material.sample_url),
            files: s
                .files
                .iter()
                .map(|f| {
                    let from = f.provenance.clone().unwrap_or_default();
                    (f.id, f.file_name.clone(), human_size(f.size as u64), from)
                })
                .collect(),
            full: s.files.len() >= max_files as usize,
        })
        .collect();
    render(MaterialsPage {
        page: Page::new(state, &format!("上传申请材料：{}", w.application.item_name)).with(ctx),
        id: w.application.id,
        item_name: w.application.item_name.clone(),
        slots,
        max_size: human_size(state.applications.settings().max_file_bytes),
        max_files,
        error,
        notice,
    })
}

pub(crate) async fn materials(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let w = state.applications.workspace(viewer.account.id, id_of(&id)?).await?;
    if !w.application.is_draft() {
        return Ok(Redirect::to(&format!("/applications/{}/done", w.application.id)).into_response());
    }
    let notice = match q.get("uploaded").and_then(|n| n.parse::<usize>().ok()) {
        Some(n) => format!("已上传 {n} 个文件"),
        None if q.contains_key("deleted") => "文件已删除".to_owned(),
        None if q.contains_key("licence") => "已选用电子证照，该项材料免于上传".to_owned(),
        None if q.contains_key("unlicensed") => "已取消使用电子证照".to_owned(),
        None if q.contains_key("reused") => "已从材料库选用该材料".to_owned(),
        None => String::new(),
    };
    Ok(materials_page(&state, &ctx, &w, String::new(), notice).await?.into_response())
}

/// Stores every file part (`files`) of a multipart body in the slot, one at a time as it
/// arrives; stops at the first refusal, keeping those before it. Returns how many were kept.
pub(crate) async fn stream_parts(
    state: &AppState,
    applicant: govhall_identity::AccountId,
    id: ApplicationId,
    slot: usize,
    content_type: &str,
    body: Body,
) -> Result<Vec<ApplicationFile>, (Vec<ApplicationFile>, AppError)> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        (
            Vec::new(),
            AppError::new(StatusCode::BAD_REQUEST, "invalid_multipart", "上传的内容格式有误，请重新选择文件上传"),
        )
    })?;
    let limits = multer::Constraints::new().allowed_fields(vec!["files"]);
    let mut multipart = multer::Multipart::with_constraints(body.into_data_stream(), boundary, limits);
    let mut kept = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                let error = if matches!(e, multer::Error::StreamReadFailed(_)) {
                    AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "上传的内容过大或已中断")
                } else {
                    AppError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_multipart",
                        "上传的内容格式有误，请重新选择文件上传",
                    )
                };
                return Err((kept, error));
            }
        };
        if field.name() != Some("files") {
            continue;
        }
        let name = field.file_name().unwrap_or("文件").to_owned();
        if name.is_empty() {
            continue; // An empty file input.
        }
        let stream = field.map_err(|e| e.to_string());
        match state.applications.add_file(applicant, id, slot, &name, None, stream).await {
            Ok(f) => kept.push(f),
            Err(e) => {
                let e: AppError = e.into();
                let shown: String = name.rsplit(['/', '\\']).next().unwrap_or_default().chars().take(60).collect();
                let message = format!("“{shown}”未上传：{}", e.message());
                return Err((kept, AppError::new(e.status(), e.code(), message)));
            }
        }
    }
    Ok(kept)
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path((id, slot)): Path<(String, String)>,
    request: Request,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let slot: usize = slot.parse().map_err(|_| AppError::not_found())?;
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let result = stream_parts(&state, viewer.account.id, id, slot, &content_type, request.into_body()).await;
    match result {
        Ok(kept) if kept.is_empty() => {
            let w = state.applications.workspace(viewer.account.id, id).await?;
            let html = materials_page(&state, &ctx, &w, "请先选择要上传的文件".into(), String::new()).await?;
            Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Ok(kept) => Ok(Redirect::to(&format!("/applications/{id}/materials?uploaded={}", kept.len())).into_response()),
        Err((kept, e)) => {
            let (status, mut error) = form_error(e)?;
            if !kept.is_empty() {
                error = format!("已上传 {} 个文件；{error}", kept.len());
            }
            let w = state.applications.workspace(viewer.account.id, id).await?;
            let mut response = with_status(status, materials_page(&state, &ctx, &w, error, String::new()).await?);
            // The rest of a refused body is not read: the connection closes.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Ok(response)
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct LicenceForm {
    #[serde(default)]
    licence: String,
}

/// 使用电子证照: a licence in place of the material's files.
pub(crate) async fn use_licence(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path((id, slot)): Path<(String, String)>,
    axum::Form(form): axum::Form<LicenceForm>,
) -> Result<Response, AppError> {
    let id: ApplicationId = id_of(&id)?;
    let slot: usize = slot.parse().map_err(|_| AppError::not_found())?;
    let licence = form
        .licence
        .trim()
        .parse()
        .map_err(|_| AppError::from(ApplicationError::InvalidInput("请选择要使用的电子证照".into())));
    let result = match licence {
        Ok(licence) => {
            state.applications.use_licence(viewer.account.id, id, slot, licence).await.map_err(AppError::from)
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/applications/{id}/materials?licence=1#slot-{slot}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            let w = state.applications.workspace(viewer.account.id, id).await?;
            Ok(with_status(status, materials_page(&state, &ctx, &w, error, String::new()).await?))
        }
    }
}

/// 取消使用电子证照.
pub(crate) async fn drop_licence(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path((id, slot)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id: ApplicationId = id_of(&id)?;
    let slot: usize = slot.parse().map_err(|_| AppError::not_found())?;
    state.applications.drop_licence(viewer.account.id, id, slot).await?;
    Ok(Redirect::to(&format!("/applications/{id}/materials?unlicensed=1#slot-{slot}")).into_response())
}

pub(crate) async fn delete_file(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    state.applications.delete_file(viewer.account.id, id, id_of(&file)?).await?;
    Ok(Redirect::to(&format!("/applications/{id}/materials?deleted=1")).into_response())
}

/// A stored file sent back: as an attachment, its own type, never sniffed, never cached.
pub(crate) async fn send_file(state: &AppState, f: &ApplicationFile) -> Result<Response, AppError> {
    send_stored(state, &f.store_key, &f.content_type, f.size, &f.file_name).await
}

/// A stored object sent back as [`send_file`] does.
pub(crate) async fn send_stored(
    state: &AppState,
    key: &str,
    content_type: &str,
    size: i64,
    file_name: &str,
) -> Result<Response, AppError> {
    let file = state.applications.files().open_file(key).await.map_err(ApplicationError::from)?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    let content_type =
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    if let Ok(v) = HeaderValue::from_str(&size.to_string()) {
        headers.insert(header::CONTENT_LENGTH, v);
    }
    let disposition = format!(
        "attachment; filename=\"file.{}\"; filename*=UTF-8''{}",
        file_name.rsplit('.').next().unwrap_or("bin"),
        crate::auth::urlencode(file_name)
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

pub(crate) async fn download(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let f = state.applications.own_file(viewer.account.id, id_of(&id)?, id_of(&file)?).await?;
    send_file(&state, &f).await
}

/// Staff: a material of a case they may see with its personal data (ID scans and the like are
/// personal data): the case engine decides and records the opening in the audit log.
pub(crate) async fn case_material(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path((case, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let case = id_of(&case)?;
    state.cases.personal_data(&viewer.access, &ctx.actor(), case).await?;
    let f = state.applications.case_file(case, id_of(&file)?).await?;
    send_file(&state, &f).await
}

/// Staff: the printed form of a case's application (反向打印 for the paper file).
pub(crate) async fn case_printout(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(case): Path<String>,
) -> Result<Response, AppError> {
    let case = id_of(&case)?;
    let c = state.cases.get(&viewer.access, case).await?;
    state.cases.personal_data(&viewer.access, &ctx.actor(), case).await?;
    let bytes = state.applications.print_case_form(case).await?;
    Ok(pdf(bytes, &format!("申请表-{}", c.serial_number)))
}
