//! Forms of 好差评 and 投诉 that may carry files (a complaint, information added to it, a 差评's
//! answer, an appeal's evidence): a plain form, or multipart with its files in `file` parts
//! (at most [`MAX_FILES`], each counted before it is read and read no further than
//! `[cases] max_file_bytes`; the feedback domain checks them by content). The API's JSON carries
//! files in Base64 ([`ApiFile`]).

use crate::AppError;
use crate::state::AppState;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use base64::Engine as _;
use govhall_cases::files::{NewFile, clean_name};
use govhall_feedback::attachments::MAX_FILES;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

fn broken() -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, "invalid_form", "表单内容不完整，请重新提交")
}

fn too_many() -> AppError {
    AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "too_many_files", format!("一次最多上传 {MAX_FILES} 个文件"))
}

/// Reads a form of type `T` with its files (none for a plain form).
pub(crate) async fn form_with_files<T: DeserializeOwned>(
    state: &AppState,
    request: Request,
) -> Result<(T, Vec<NewFile>), AppError> {
    let content_type = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("multipart/form-data") {
        let axum::Form(form) = axum::Form::<T>::from_request(request, state).await.map_err(|_| broken())?;
        return Ok((form, Vec::new()));
    }
    let mut parts = axum::extract::Multipart::from_request(request, state).await.map_err(|_| broken())?;
    let max = state.cases.settings().max_file_bytes;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut files = Vec::new();
    while let Some(mut field) = parts.next_field().await.map_err(|_| broken())? {
        let part = field.name().unwrap_or_default().to_owned();
        if part != "file" {
            fields.push((part, field.text().await.map_err(|_| broken())?));
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| broken())? {
            if bytes.len() + chunk.len() > max {
                return Err(AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "file_too_large",
                    format!("文件“{}”超过 {} 的上限", clean_name(&name), govhall_files::human_size(max as u64)),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        if name.is_empty() && bytes.is_empty() {
            // A file input left empty.
            continue;
        }
        if files.len() >= MAX_FILES {
            return Err(too_many());
        }
        files.push(NewFile { file_name: name, bytes, result: false, material: String::new() });
    }
    let encoded = serde_urlencoded::to_string(&fields).map_err(|_| broken())?;
    let form = serde_urlencoded::from_str(&encoded).map_err(|_| broken())?;
    Ok((form, files))
}

/// 随投诉或补充情况上传的文件。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ApiFile {
    /// 文件名
    name: String,
    /// 内容（Base64），PDF、OFD、PNG 或 JPG
    content_base64: String,
}

/// The API's files, decoded (at most [`MAX_FILES`]).
pub(crate) fn api_files(files: Vec<ApiFile>) -> Result<Vec<NewFile>, AppError> {
    if files.len() > MAX_FILES {
        return Err(too_many());
    }
    files
        .into_iter()
        .map(|f| {
            let bytes = base64::engine::general_purpose::STANDARD.decode(f.content_base64.trim()).map_err(|_| {
                AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_attachment",
                    format!("文件“{}”的 content_base64 不是有效的 Base64", f.name.chars().take(50).collect::<String>()),
                )
            })?;
            Ok(NewFile { file_name: f.name, bytes, result: false, material: String::new() })
        })
        .collect()
}

/// The most a JSON request of the API may carry with its files in Base64: the body is read whole
/// (and its text cleaned) before the handler, so it is kept well below five files at their limit.
pub(crate) const MAX_API_BODY: u64 = 12 * 1024 * 1024;

/// The body limit of routes taking these files: on the web each file at its limit (multipart,
/// read part by part), through the API [`MAX_API_BODY`].
pub(crate) fn body_limit(state: &AppState, base64: bool) -> u64 {
    if base64 {
        return MAX_API_BODY + (1 << 20);
    }
    let each = state.cases.settings().max_file_bytes as u64;
    each.saturating_mul(MAX_FILES as u64) + (1 << 20)
}
