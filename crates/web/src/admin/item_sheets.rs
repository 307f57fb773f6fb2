//! The catalogue in Excel and CSV: export, upload of an edited workbook with a preview of what would
//! change, and confirmation (each changed item becomes a draft sent for review).

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use govhall_catalog::model::Audience;
use govhall_catalog::sheet::{self, RowChange};
use govhall_catalog::store::{self, ItemFilter};
use uuid::Uuid;

pub(crate) async fn export_xlsx(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
) -> Result<Response, AppError> {
    let bytes = sheet::export(&state.db, &viewer.access).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"catalog.xlsx\""),
        ],
        bytes,
    )
        .into_response())
}

/// The whole published catalogue as CSV (UTF-8 with BOM, so that Excel reads the Chinese).
pub(crate) async fn export_csv(State(state): State<AppState>) -> Result<Response, AppError> {
    let mut out = String::from(
        "\u{feff}事项编码,事项名称,实施部门,行政区划,层级,服务对象,事项类型,网办深度,可网上申办,公众语言\n",
    );
    let cell = |s: &str| {
        // A leading =, +, - or @ would be a formula in a spreadsheet.
        let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
        format!("\"{}\"", s.replace('"', "\"\""))
    };
    let mut offset = 0;
    loop {
        let (_, page) = store::list(&state.db, &ItemFilter::default(), 500, offset).await?;
        for i in &page {
            let row = [
                cell(&i.code),
                cell(&i.name),
                cell(&i.department),
                cell(&i.region),
                cell(govhall_catalog::model::level_label(&i.level)),
                cell(Audience::parse(&i.audience).map_or("", Audience::label)),
                cell(&i.type_text),
                i.online_depth.to_string(),
                if i.online_apply { "是".to_owned() } else { "否".to_owned() },
                cell(&i.phrases),
            ];
            out.push_str(&row.join(","));
            out.push('\n');
        }
        if page.len() < 500 {
            break;
        }
        offset += 500;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"catalog.csv\""),
        ],
        out,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "admin/item_import.html")]
struct PreviewPage {
    page: Page,
    file_name: String,
    upload: Option<String>,
    changes: Vec<RowChange>,
    ready: usize,
    error: String,
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "invalid_upload", format!("上传的内容无法读取：{e}")))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("catalog.xlsx").to_owned();
            let bytes = field.bytes().await.map_err(|e| {
                AppError::new(StatusCode::BAD_REQUEST, "invalid_upload", format!("上传的文件无法读取：{e}"))
            })?;
            file = Some((name, bytes.to_vec()));
        }
    }
    let page = |file_name: String, upload, changes: Vec<RowChange>, error: String| {
        let ready = changes.iter().filter(|c| c.problem.is_none()).count();
        PreviewPage {
            page: Page::new(&state, "导入事项 Excel").with(&ctx), file_name, upload, changes, ready, error
        }
    };
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let html = render(page(String::new(), None, Vec::new(), "请选择要导入的 Excel 文件".to_owned()))?;
        return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, html));
    };
    let rows = match sheet::read(&bytes) {
        Ok(rows) => rows,
        Err(e) => {
            let html = render(page(name, None, Vec::new(), govhall_core::Coded::message(&e)))?;
            return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, html));
        }
    };
    let changes: Vec<RowChange> =
        sheet::preview(&state.db, &viewer.access, &rows).await?.into_iter().map(|(change, _)| change).collect();
    let upload = sheet::keep_upload(&state.db, viewer.account.id.as_uuid(), &name, &bytes).await?;
    Ok(render(page(name, Some(upload.to_string()), changes, String::new()))?.into_response())
}

pub(crate) async fn apply(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    let bytes = sheet::take_upload(&state.db, viewer.account.id.as_uuid(), id).await?;
    let rows = sheet::read(&bytes)?;
    let (applied, refused) = sheet::apply(&state.db, &ctx.actor(), &viewer.access, &rows).await?;
    Ok(Redirect::to(&format!("/admin/items?imported={applied}&refused={refused}")).into_response())
}
