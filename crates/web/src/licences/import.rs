//! Importing licences issued before GovHall: staff who manage a type's licences upload a workbook
//! or CSV of them and read the report, row by row.

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use govhall_identity::{Access, Permission, Target};
use govhall_licences::import::{ImportReport, RowOutcome};

/// The most an uploaded file may have.
pub(crate) const MAX_IMPORT_BYTES: u64 = 20 << 20;

#[derive(Template)]
#[template(path = "licences/import.html")]
struct ImportPage {
    page: Page,
    /// Code and name of the types the viewer may import.
    types: Vec<(String, String)>,
    chosen: String,
    /// Line, number, what became of it, whether it went wrong.
    rows: Vec<(usize, String, String, bool)>,
    report: Option<ImportReport>,
    error: String,
}

async fn types_for(state: &AppState, access: &Access) -> Result<Vec<(String, String)>, AppError> {
    Ok(state
        .licences
        .types()
        .await?
        .into_iter()
        .filter(|t| {
            let target = Target {
                owner: None,
                department: Some(govhall_identity::DepartmentId::from_uuid(t.department_id)),
                region: Some(t.region_code.clone()),
            };
            access.covers(Permission::LicenceManage, &target)
        })
        .map(|t| (t.code, format!("{}（{}）", t.name, t.department_name)))
        .collect())
}

/// The form.
pub(crate) async fn form(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<Html<String>, AppError> {
    let types = types_for(&state, &viewer.access).await?;
    render(ImportPage {
        page: Page::new(&state, "导入存量电子证照").with(&ctx),
        types,
        chosen: String::new(),
        rows: Vec::new(),
        report: None,
        error: String::new(),
    })
}

/// The upload: the report, or what is wrong with the file.
pub(crate) async fn upload(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let broken = |_| AppError::new(StatusCode::BAD_REQUEST, "invalid_upload", "上传的内容无法读取，请重新选择文件");
    let (mut type_code, mut file) = (String::new(), None);
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        match field.name().unwrap_or_default() {
            "type" => type_code = field.text().await.map_err(broken)?.trim().to_owned(),
            "file" => {
                let name = field.file_name().unwrap_or_default().to_owned();
                file = Some((name, field.bytes().await.map_err(broken)?.to_vec()));
            }
            _ => {}
        }
    }
    let types = types_for(&state, &viewer.access).await?;
    let mut page = ImportPage {
        page: Page::new(&state, "导入存量电子证照").with(&ctx),
        types,
        chosen: type_code.clone(),
        rows: Vec::new(),
        report: None,
        error: String::new(),
    };
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        page.error = "请选择要导入的 Excel（.xlsx）或 CSV 文件".into();
        return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, render(page)?));
    };
    match state.licences.import_licences(Some(&viewer.access), &ctx.actor(), &type_code, &name, &bytes).await {
        Ok(report) => {
            page.rows = report
                .rows
                .iter()
                .map(|r| {
                    let (text, wrong) = match &r.outcome {
                        RowOutcome::Imported { identifier } => (format!("已导入（证照标识 {identifier}）"), false),
                        RowOutcome::Existing => ("已存在，跳过".to_owned(), false),
                        RowOutcome::Error { message } => (message.clone(), true),
                    };
                    (r.line, r.number.clone(), text, wrong)
                })
                .collect();
            page.report = Some(report);
            Ok(render(page)?.into_response())
        }
        Err(e) => {
            let (status, error) = crate::html::form_error(e)?;
            page.error = error;
            Ok(with_status(status, render(page)?))
        }
    }
}
