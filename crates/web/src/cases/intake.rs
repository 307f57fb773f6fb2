//! 现场申报 at a hall's window: staff who review a department's cases find one of its items,
//! take down the applicant (from the ID card, typed or read by a card reader into the fields),
//! the item's simple form fields and the paper materials received, and register the case with
//! the same engine as an online one, with scanned copies of the materials if the window
//! scanned them. The page that answers shows the serial number and the
//! query password once, and prints the receipt (a PDF, the password checked against the case).

use crate::AppError;
use crate::applications::confirm::pdf;
use crate::auth::SignedIn;
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use govhall_audit::Actor;
use govhall_cases::Channel;
use govhall_cases::files::NewFile;
use govhall_cases::model::SubmittedMaterial;
use govhall_cases::offline::{Applicant, MAX_FILES, OfflineCase};
use govhall_cases::submit::HALL_ISSUER;
use govhall_catalog::form::{Field, FieldKind, FormSchema, Prefill};
use govhall_catalog::store::{Guide, ItemFilter, ItemSummary};
use serde::Deserialize;
use std::collections::BTreeMap;

/// What the counter receives for a material given on paper.
const ON_PAPER: &str = "窗口收取纸质材料";

#[derive(Template)]
#[template(path = "cases/intake_items.html")]
struct ItemsPage {
    page: Page,
    q: String,
    items: Vec<ItemSummary>,
    total: i64,
}

/// One field of the counter's form.
struct FieldView {
    key: String,
    label: String,
    kind: &'static str,
    required: bool,
    help: String,
    options: Vec<String>,
    value: String,
}

#[derive(Template)]
#[template(path = "cases/intake_form.html")]
struct FormPage {
    page: Page,
    code: String,
    item_name: String,
    department: String,
    enterprise: bool,
    name: String,
    number: String,
    phone: String,
    fields: Vec<FieldView>,
    materials: Vec<(usize, String, bool, bool)>,
    key: String,
    error: String,
}

#[derive(Template)]
#[template(path = "cases/intake_done.html")]
struct DonePage {
    page: Page,
    serial: String,
    password: String,
    item_name: String,
    applicant: String,
}

/// The item search.
#[derive(Debug, Deserialize)]
pub(crate) struct ItemsQuery {
    #[serde(default)]
    q: String,
}

pub(crate) async fn items(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(query): Query<ItemsQuery>,
) -> Result<Html<String>, AppError> {
    let q: String = query.q.trim().chars().take(40).collect();
    let filter = ItemFilter {
        department: viewer.account.department_id.map(|d| d.as_uuid()),
        text: (!q.is_empty()).then(|| q.clone()),
        ..ItemFilter::default()
    };
    let (total, items) = match viewer.account.department_id {
        Some(_) => {
            let page = state.catalog.list(&filter, 50, 0).await.map_err(AppError::internal)?;
            (page.0, page.1.clone())
        }
        None => (0, Vec::new()),
    };
    render(ItemsPage { page: Page::new(&state, "窗口收件").with(&ctx), q, items, total })
}

/// The fields the counter fills: the item's simple fields that are not taken from the
/// applicant's identity.
fn counter_fields(form: &FormSchema) -> Vec<&Field> {
    form.fields().filter(|f| f.kind.is_simple() && f.prefill.is_none()).collect()
}

fn field_kind(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Textarea => "textarea",
        FieldKind::Choice => "choice",
        FieldKind::Date => "date",
        FieldKind::Number | FieldKind::Money => "number",
        _ => "text",
    }
}

async fn guide(state: &AppState, code: &str) -> Result<std::sync::Arc<Guide>, AppError> {
    state.catalog.guide(code).await.map_err(AppError::internal)?.ok_or_else(|| {
        AppError::from(govhall_cases::CaseError::ItemUnavailable(format!("事项“{code}”不存在或已停止办理")))
    })
}

/// The form's values, as posted (empty for a new form).
#[derive(Debug, Default)]
struct Posted {
    enterprise: bool,
    name: String,
    number: String,
    phone: String,
    answers: BTreeMap<String, String>,
    received: Vec<usize>,
    key: String,
}

impl Posted {
    fn from_form(form: &[(String, String)]) -> Posted {
        let mut p = Posted::default();
        for (k, v) in form {
            match k.as_str() {
                "applicant_kind" => p.enterprise = v == "enterprise",
                "applicant_name" => p.name = v.trim().to_owned(),
                "applicant_number" => p.number = v.trim().to_uppercase(),
                "applicant_phone" => p.phone = v.trim().to_owned(),
                "material" => p.received.extend(v.parse::<usize>().ok()),
                "key" => p.key = v.trim().to_owned(),
                other => {
                    if let Some(field) = other.strip_prefix("f_") {
                        p.answers.insert(field.to_owned(), v.trim().to_owned());
                    }
                }
            }
        }
        p
    }
}

async fn form_page(
    state: &AppState,
    ctx: &crate::auth::RequestContext,
    g: &Guide,
    posted: &Posted,
    error: String,
) -> Result<Html<String>, AppError> {
    let schema = g.content.form.clone().unwrap_or_else(FormSchema::standard);
    let fields = counter_fields(&schema)
        .into_iter()
        .map(|f| FieldView {
            key: f.key.clone(),
            label: f.label.clone(),
            kind: field_kind(f.kind),
            required: f.required,
            help: f.help.clone(),
            options: f.options.clone(),
            value: posted.answers.get(&f.key).cloned().unwrap_or_default(),
        })
        .collect();
    let materials = g
        .content
        .materials
        .iter()
        .enumerate()
        .map(|(i, m)| (i, m.name.clone(), m.required, posted.received.contains(&i)))
        .collect();
    let key = if posted.key.is_empty() { uuid::Uuid::new_v4().simple().to_string() } else { posted.key.clone() };
    render(FormPage {
        page: Page::new(state, "窗口收件").with(ctx),
        code: g.item.code.clone(),
        item_name: g.item.name.clone(),
        department: g.item.department.clone(),
        enterprise: posted.enterprise,
        name: posted.name.clone(),
        number: posted.number.clone(),
        phone: posted.phone.clone(),
        fields,
        materials,
        key,
        error,
    })
}

pub(crate) async fn form(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    let g = guide(&state, &code).await?;
    // Another department's item is not offered (its registration would be refused).
    let target = govhall_identity::Target {
        owner: None,
        department: Some(govhall_identity::DepartmentId::from_uuid(g.item.department_id)),
        region: Some(g.item.region_code.clone()),
    };
    if !viewer.access.covers(govhall_identity::Permission::CaseReview, &target) {
        return Err(
            govhall_cases::CaseError::ItemUnavailable(format!("事项“{}”不是本部门办理的事项", g.item.name)).into()
        );
    }
    form_page(&state, &ctx, &g, &Posted::default(), String::new()).await
}

/// The answers of the item's form: the counter's fields, and the applicant's identity where
/// the form takes it from there.
fn answers(schema: &FormSchema, posted: &Posted) -> Result<serde_json::Value, String> {
    let mut answers = serde_json::Map::new();
    for f in schema.fields() {
        let value = match f.prefill {
            Some(Prefill::RealName | Prefill::EnterpriseName) => posted.name.clone(),
            Some(Prefill::IdNumber | Prefill::CreditCode) => posted.number.clone(),
            Some(Prefill::Phone) => posted.phone.clone(),
            None if f.kind.is_simple() => posted.answers.get(&f.key).cloned().unwrap_or_default(),
            None => continue,
        };
        if f.prefill.is_none() && f.required && value.is_empty() {
            return Err(format!("请填写“{}”", f.label));
        }
        if value.chars().count() > f.max_chars() {
            return Err(format!("“{}”不能超过 {} 个字", f.label, f.max_chars()));
        }
        if f.kind == FieldKind::Choice && !value.is_empty() && !f.options.contains(&value) {
            return Err(format!("“{}”请从选项中选择", f.label));
        }
        if !value.is_empty() {
            answers.insert(f.key.clone(), serde_json::Value::String(value));
        }
    }
    Ok(serde_json::Value::Object(answers))
}

fn broken() -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, "invalid_form", "提交的表单不完整，请重新填写")
}

/// Reads the counter's form: multipart with the scans (`scan.{n}` for the n-th material of the
/// guide, at most [`MAX_FILES`], each read no further than `[cases] max_file_bytes`), or a plain
/// form. The multipart text is cleaned here (the middleware leaves multipart bodies alone).
async fn read_form(
    state: &AppState,
    request: axum::extract::Request,
    materials: &[String],
) -> Result<(Vec<(String, String)>, Vec<NewFile>), AppError> {
    use axum::extract::FromRequest as _;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("multipart/form-data") {
        let axum::Form(form) =
            axum::Form::<Vec<(String, String)>>::from_request(request, state).await.map_err(|_| broken())?;
        return Ok((form, Vec::new()));
    }
    let mut parts = axum::extract::Multipart::from_request(request, state).await.map_err(|_| broken())?;
    let (mut form, mut files) = (Vec::new(), Vec::new());
    let max = state.cases.settings().max_file_bytes;
    while let Some(mut field) = parts.next_field().await.map_err(|_| broken())? {
        let part = field.name().unwrap_or_default().to_owned();
        let Some(n) = part.strip_prefix("scan.").and_then(|n| n.parse::<usize>().ok()) else {
            let value = field.text().await.map_err(|_| broken())?;
            form.push((part, govhall_core::text::clean(&value).into_owned()));
            continue;
        };
        let material = materials.get(n).cloned().ok_or_else(broken)?;
        let name = govhall_core::text::clean(field.file_name().unwrap_or_default()).into_owned();
        // Counted before the file is read.
        if files.len() >= MAX_FILES && !name.is_empty() {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "too_many_files",
                format!("一次至多附 {MAX_FILES} 个扫描件"),
            ));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| broken())? {
            if bytes.len() + chunk.len() > max {
                return Err(AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "file_too_large",
                    format!("扫描件“{name}”超过 {} 的上限", govhall_files::human_size(max as u64)),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        if name.is_empty() && bytes.is_empty() {
            continue;
        }
        files.push(NewFile { file_name: name, bytes, result: false, material });
    }
    Ok((form, files))
}

pub(crate) async fn register(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    let g = guide(&state, &code).await?;
    let names: Vec<String> = g.content.materials.iter().map(|m| m.name.clone()).collect();
    let (form, files) = match read_form(&state, request, &names).await {
        Ok(read) => read,
        Err(e) => {
            let (status, message) = form_error(e)?;
            let page = form_page(&state, &ctx, &g, &Posted::default(), message).await?;
            return Ok(with_status(status, page));
        }
    };
    let posted = Posted::from_form(&form);
    let schema = g.content.form.clone().unwrap_or_else(FormSchema::standard);
    let answers = match answers(&schema, &posted) {
        Ok(a) => a,
        Err(message) => {
            let page = form_page(&state, &ctx, &g, &posted, message).await?;
            return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, page));
        }
    };
    // Each material received on paper, scanned, or both.
    let materials = names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let mut given: Vec<String> = Vec::new();
            if posted.received.contains(&i) {
                given.push(ON_PAPER.into());
            }
            given.extend(files.iter().filter(|f| f.material == *name).map(|f| f.file_name.clone()));
            (!given.is_empty()).then(|| SubmittedMaterial { name: name.clone(), files: given })
        })
        .collect();
    let actor: Actor = ctx.actor();
    let offline = OfflineCase {
        channel: Channel::Counter,
        item_code: g.item.code.clone(),
        applicant: Applicant {
            enterprise: posted.enterprise,
            name: posted.name.clone(),
            number: posted.number.clone(),
            phone: posted.phone.clone(),
        },
        form: answers,
        materials,
        serial_number: None,
        issuer: HALL_ISSUER.into(),
        service_number: state.cases.settings().service_number,
        actor,
        staff: Some(viewer.account.id),
        idempotency_key: posted.key.chars().filter(char::is_ascii_alphanumeric).take(40).collect(),
        files,
    };
    let done = match state.cases.register_offline(&viewer.access, offline).await {
        Ok(done) => done,
        Err(e) => {
            let (status, message) = form_error(e)?;
            return Ok(with_status(status, form_page(&state, &ctx, &g, &posted, message).await?));
        }
    };
    let Some(password) = done.query_password else {
        // The same form sent twice: the case exists, its password was shown the first time.
        let message = format!("该申请已登记为 {}，查询密码已在首次登记时显示", done.serial_number);
        return Ok(with_status(StatusCode::CONFLICT, form_page(&state, &ctx, &g, &posted, message).await?));
    };
    let mut response = render(DonePage {
        page: Page::new(&state, "窗口收件").with(&ctx),
        serial: done.serial_number,
        password,
        item_name: g.item.name.clone(),
        applicant: posted.name.clone(),
    })?
    .into_response();
    // The password is on this page once: no copy kept by the browser or a proxy.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The receipt's request: the case and its password, as the page that registered it shows.
#[derive(Debug, Deserialize)]
pub(crate) struct ReceiptForm {
    serial: String,
    password: String,
}

pub(crate) async fn receipt(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    axum::Form(form): axum::Form<ReceiptForm>,
) -> Result<Response, AppError> {
    let case = state.cases.id_by_serial(form.serial.trim()).await?;
    let bytes = state.applications.print_counter_receipt(&viewer.access, case, &form.password).await?;
    Ok(pdf(bytes, "受理回执"))
}
