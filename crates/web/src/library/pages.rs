//! 我的材料: the libraries a person may open (their own, their enterprises'), each with its
//! space used, its files by category, and for its managers adding, renaming and deleting; and
//! 从我的材料选择 on a draft's materials page.

use super::{application_of, material_of, owner_of, owner_text};
use crate::AppError;
use crate::auth::{RequestContext, SignedIn, Viewer};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures::TryStreamExt;
use govhall_applications::ApplicationError;
use govhall_applications::library::{CATEGORIES, Description, LibraryMaterial, Owner, Role, category_label};
use govhall_audit::Actor;
use govhall_files::human_size;
use std::collections::BTreeMap;

/// Reads a library upload: the description's fields (`title`, `category`, `valid_until`) first,
/// then the file (`file`), streamed into the store as it arrives.
pub(crate) async fn stream_into_library(
    state: &AppState,
    actor: &Actor,
    viewer: govhall_identity::AccountId,
    owner: Owner,
    content_type: &str,
    body: Body,
) -> Result<LibraryMaterial, AppError> {
    let invalid =
        || AppError::new(StatusCode::BAD_REQUEST, "invalid_multipart", "上传的内容格式有误，请重新选择文件上传");
    let boundary = multer::parse_boundary(content_type).map_err(|_| invalid())?;
    let limits =
        multer::Constraints::new().allowed_fields(vec!["title", "category", "valid_until", "file"]).size_limit(
            multer::SizeLimit::new().for_field("title", 1024).for_field("category", 1024).for_field("valid_until", 64),
        );
    let mut multipart = multer::Multipart::with_constraints(body.into_data_stream(), boundary, limits);
    let mut description = Description::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(multer::Error::StreamReadFailed(_)) => {
                return Err(AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "上传的内容过大或已中断",
                ));
            }
            Err(_) => return Err(invalid()),
        };
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_owned();
                if name.is_empty() {
                    break;
                }
                let stream = field.map_err(|e| e.to_string());
                return Ok(state.applications.add_to_library(actor, viewer, owner, description, &name, stream).await?);
            }
            Some(name) => {
                let name = name.to_owned();
                let value = field.text().await.map_err(|_| invalid())?;
                match name.as_str() {
                    "title" => description.title = value,
                    "category" => description.category = value,
                    _ => description.valid_until = valid_until(&value)?,
                }
            }
            None => return Err(invalid()),
        }
    }
    Err(ApplicationError::InvalidInput("请选择要上传的文件".into()).into())
}

/// A validity date as typed: empty for none.
pub(crate) fn valid_until(text: &str) -> Result<Option<chrono::NaiveDate>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Some).map_err(|_| {
        ApplicationError::InvalidInput("有效期至应为 YYYY-MM-DD 格式的日期，没有有效期的请留空".into()).into()
    })
}

struct Row {
    id: String,
    title: String,
    kind: String,
    category: String,
    source: String,
    from_serial: String,
    size: String,
    date: String,
    valid_until: String,
    expired: bool,
    category_value: String,
}

struct LibraryView {
    owner: String,
    name: String,
    personal: bool,
    manage: bool,
    used: String,
    quota: String,
    used_bytes: i64,
    quota_bytes: u64,
    percent: u64,
    rows: Vec<Row>,
    categories: Vec<(String, String, usize)>,
    /// Its licences: type, number, validity, state.
    licences: Vec<(String, String, String, String)>,
}

#[derive(Template)]
#[template(path = "library/materials.html")]
struct MaterialsPage {
    page: Page,
    libraries: Vec<LibraryView>,
    category: String,
    builtin: Vec<(&'static str, &'static str)>,
    notice: String,
    error: String,
}

fn view(l: govhall_applications::library::Library, category: &str, today: chrono::NaiveDate) -> LibraryView {
    let mut categories: Vec<(String, String, usize)> = Vec::new();
    for m in &l.materials {
        match categories.iter_mut().find(|(k, _, _)| *k == m.category) {
            Some((_, _, n)) => *n += 1,
            None => categories.push((m.category.clone(), m.category_label(), 1)),
        }
    }
    let rows = l
        .materials
        .iter()
        .filter(|m| category.is_empty() || m.category == category)
        .map(|m| Row {
            id: m.id.to_string(),
            title: m.title.clone(),
            kind: m.kind.clone(),
            category: m.category_label(),
            category_value: m.category.strip_prefix("custom:").map_or_else(|| m.category.clone(), str::to_owned),
            source: m.source.label().to_owned(),
            from_serial: m.from_serial.clone().unwrap_or_default(),
            size: human_size(u64::try_from(m.size).unwrap_or(0)),
            date: govhall_core::clock::china_date(m.created_at).to_string(),
            valid_until: m.valid_until.map(|d| d.to_string()).unwrap_or_default(),
            expired: m.expired(today),
        })
        .collect();
    let used = u64::try_from(l.used_bytes).unwrap_or(0);
    LibraryView {
        owner: owner_text(l.owner),
        name: l.owner_name,
        personal: matches!(l.owner, Owner::Person(_)),
        manage: l.role == Role::Manage,
        used: human_size(used),
        quota: human_size(l.quota_bytes),
        used_bytes: l.used_bytes,
        quota_bytes: l.quota_bytes,
        percent: (used.saturating_mul(100) / l.quota_bytes.max(1)).min(100),
        rows,
        categories,
        licences: l
            .licences
            .iter()
            .map(|x| (x.type_name.clone(), x.number.clone(), x.validity(), x.status_on(today).label().to_owned()))
            .collect(),
    }
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    category: &str,
    notice: &str,
    error: String,
) -> Result<Html<String>, AppError> {
    let today = govhall_core::clock::china_date(state.db.now());
    let mut libraries = Vec::new();
    for (owner, _, _) in state.applications.libraries(viewer.account.id).await? {
        libraries.push(view(state.applications.library(viewer.account.id, owner).await?, category, today));
    }
    render(MaterialsPage {
        page: Page::new(state, "我的材料").with(ctx),
        libraries,
        category: category.to_owned(),
        builtin: CATEGORIES.to_vec(),
        notice: notice.to_owned(),
        error,
    })
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Html<String>, AppError> {
    let notice = match q.get("done").map(String::as_str) {
        Some("added") => "材料已保存到材料库",
        Some("described") => "材料信息已修改",
        Some("deleted") => "材料已从材料库删除（已提交的申报仍保留该文件）",
        _ => "",
    };
    let category = q.get("category").cloned().unwrap_or_default();
    page(&state, &viewer, &ctx, &category, notice, String::new()).await
}

pub(crate) async fn add(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(owner): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let owner = owner_of(viewer.account.id, &owner)?;
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let result =
        stream_into_library(&state, &ctx.actor(), viewer.account.id, owner, &content_type, request.into_body()).await;
    match result {
        Ok(_) => Ok(Redirect::to("/account/materials?done=added").into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            let mut response = with_status(status, page(&state, &viewer, &ctx, "", "", error).await?);
            // The rest of a refused body is not read: the connection closes.
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Ok(response)
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct DescribeForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    valid_until: String,
}

pub(crate) async fn describe(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<DescribeForm>,
) -> Result<Response, AppError> {
    let id = material_of(&id)?;
    let result = async {
        let description =
            Description { title: form.title, category: form.category, valid_until: valid_until(&form.valid_until)? };
        state
            .applications
            .describe_material(&ctx.actor(), viewer.account.id, id, description)
            .await
            .map_err(AppError::from)
    }
    .await;
    crate::html::after_post(result, "/account/materials?done=described", async |error| {
        page(&state, &viewer, &ctx, "", "", error).await
    })
    .await
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = material_of(&id)?;
    let result = state.applications.delete_material(&ctx.actor(), viewer.account.id, id).await;
    crate::html::after_post(result, "/account/materials?done=deleted", async |error| {
        page(&state, &viewer, &ctx, "", "", error).await
    })
    .await
}

/// A library file as the application files are sent (attachment, its own type, never cached).
pub(crate) async fn send(state: &AppState, m: &LibraryMaterial) -> Result<Response, AppError> {
    crate::applications::uploads::send_stored(state, &m.store_key, &m.content_type, m.size, &m.file_name).await
}

pub(crate) async fn download(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (m, _) = state.applications.library_material(viewer.account.id, material_of(&id)?).await?;
    send(&state, &m).await
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct ReuseForm {
    #[serde(default)]
    material: String,
}

/// 从我的材料选择: a library file given for a draft's material.
pub(crate) async fn reuse(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path((id, slot)): Path<(String, String)>,
    axum::Form(form): axum::Form<ReuseForm>,
) -> Result<Response, AppError> {
    let id = application_of(&id)?;
    let slot: usize = slot.parse().map_err(|_| AppError::not_found())?;
    let result = match form.material.trim() {
        "" => Err(ApplicationError::InvalidInput("请选择要使用的材料".into()).into()),
        text => match material_of(text) {
            Ok(m) => state.applications.reuse_material(viewer.account.id, id, slot, m).await.map_err(AppError::from),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/applications/{id}/materials?reused=1#slot-{slot}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            let w = state.applications.workspace(viewer.account.id, id).await?;
            let html = crate::applications::uploads::materials_page(&state, &ctx, &w, error, String::new()).await?;
            Ok(with_status(status, html))
        }
    }
}

/// The label of a library file in a draft's choices.
pub(crate) fn choice_label(m: &LibraryMaterial) -> String {
    let date = govhall_core::clock::china_date(m.created_at);
    let validity = m.valid_until.map(|d| format!("，有效期至 {d}")).unwrap_or_default();
    format!(
        "{}（{}，{}，{date}{validity}）",
        m.title,
        category_label(&m.category),
        human_size(u64::try_from(m.size).unwrap_or(0))
    )
}
