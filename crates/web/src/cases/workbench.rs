//! The staff workbench (办件工作台): the inbox of cases the viewer's scope reaches, with
//! filters and an Excel export; a case with its history, files and the actions its step allows;
//! claiming and assigning; personal data opened on purpose (audited).

use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::html::{form_error, render, time, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use govhall_cases::files::NewFile;
use govhall_cases::queries::{AssigneeFilter, CaseFilter, PersonalData, StateFilter, WarningFilter};
use govhall_cases::transition::Action;
use govhall_cases::workflow::StepActor;
use govhall_cases::{Case, CaseError, CaseEvent, CaseFile, CaseFileId, CaseId};
use govhall_identity::{AccountId, AccountKind, Permission};
use serde::Deserialize;

/// A case as a list row shows it.
pub(crate) struct Row {
    pub(crate) id: CaseId,
    pub(crate) serial: String,
    pub(crate) item: String,
    pub(crate) department: String,
    pub(crate) applicant: String,
    pub(crate) step: String,
    pub(crate) due: String,
    pub(crate) warning: &'static str,
    pub(crate) warning_label: &'static str,
    pub(crate) assignee: String,
    pub(crate) submitted: String,
}

pub(crate) fn row(c: &Case) -> Row {
    Row {
        id: c.id,
        serial: c.serial_number.clone(),
        item: c.item_name.clone(),
        department: c.department_name.clone(),
        applicant: c.applicant_masked.clone(),
        step: c.step_name.clone(),
        due: due_text(c),
        warning: c.warning.as_str(),
        warning_label: c.warning.label(),
        assignee: c.assignee_name.clone().unwrap_or_default(),
        submitted: time(c.submitted_at),
    }
}

pub(crate) fn due_text(c: &Case) -> String {
    match (c.due_on, c.paused_on, c.days_left) {
        (_, Some(_), Some(left)) => format!("暂停计时（补正中，剩余 {left} 个工作日）"),
        (Some(d), _, _) => d.format("%Y-%m-%d").to_string(),
        _ if c.accepted_on.is_none() && c.is_open => "受理后计时".to_owned(),
        _ => String::new(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    step: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    due_by: String,
    #[serde(default)]
    warning: String,
    #[serde(default)]
    mine: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    page: Option<i64>,
}

impl ListQuery {
    fn filter(&self) -> Result<CaseFilter, AppError> {
        let bad = |what: &str| AppError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_filter", what.to_owned());
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let due_by = match self.due_by.trim() {
            "" => None,
            s => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad("办结期限应为 YYYY-MM-DD 格式的日期"))?),
        };
        fn one_of<T>(s: &str, parse: fn(&str) -> Option<T>, what: &str) -> Result<Option<T>, String> {
            match s.trim() {
                "" => Ok(None),
                v => parse(v).map(Some).ok_or_else(|| what.to_owned()),
            }
        }
        Ok(CaseFilter {
            step: text(&self.step).filter(|s| s.len() <= 40),
            item_code: text(&self.item).filter(|s| s.len() <= 60),
            due_by,
            warning: one_of(&self.warning, WarningFilter::parse, "预警（warning）应为 warned 或 red")
                .map_err(|w| bad(&w))?,
            assignee: one_of(&self.mine, AssigneeFilter::parse, "经办（mine）应为 mine 或 unassigned")
                .map_err(|w| bad(&w))?,
            state: one_of(&self.state, StateFilter::parse, "状态（state）应为 open、closed 或 all")
                .map_err(|w| bad(&w))?
                .unwrap_or_default(),
            serial: text(&self.serial),
        })
    }
}

#[derive(Template)]
#[template(path = "cases/workbench.html")]
struct WorkbenchPage {
    page: Page,
    q: ListQuery,
    rows: Vec<Row>,
    total: i64,
    page_no: i64,
    pages: i64,
    query_string: String,
}

const PER_PAGE: i64 = 30;

pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let filter = q.filter()?;
    let page_no = q.page.unwrap_or(1).clamp(1, 10_000);
    let found = state.cases.list(&viewer.access, &filter, PER_PAGE, (page_no - 1) * PER_PAGE).await?;
    let query_string = serde_urlencoded::to_string([
        ("step", q.step.as_str()),
        ("item", q.item.as_str()),
        ("due_by", q.due_by.as_str()),
        ("warning", q.warning.as_str()),
        ("mine", q.mine.as_str()),
        ("state", q.state.as_str()),
        ("serial", q.serial.as_str()),
    ])
    .unwrap_or_default();
    render(WorkbenchPage {
        page: Page::new(&state, "办件工作台").with(&ctx),
        rows: found.cases.iter().map(row).collect(),
        total: found.total,
        pages: (found.total + PER_PAGE - 1) / PER_PAGE,
        page_no,
        query_string,
        q,
    })
}

/// The inbox as filtered, as an Excel workbook (the case engine limits and audits it).
pub(crate) async fn export(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let filter = q.filter()?;
    let bytes = state.cases.export(&viewer.access, &filter, &ctx.actor()).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(
            "attachment; filename=\"cases.xlsx\"; filename*=UTF-8''%E5%8A%9E%E4%BB%B6%E6%B8%85%E5%8D%95.xlsx",
        ),
    );
    Ok(response)
}

struct ActionButton {
    action: String,
    label: String,
    note_required: bool,
    decides: bool,
    /// It grants the case (准予): the licence form goes with it.
    grants: bool,
    /// It asks the applicant for more (补齐补正): the materials to ask for go with it.
    asks: bool,
}

struct EventView {
    label: String,
    step: String,
    by: String,
    note: String,
    at: String,
    files: Vec<(CaseFileId, String)>,
}

#[derive(Template)]
#[template(path = "cases/case.html")]
struct CasePage {
    page: Page,
    case: Row,
    c: Case,
    limit: String,
    accepted: String,
    step_due: String,
    outcome: String,
    materials: Vec<(String, String)>,
    events: Vec<EventView>,
    actions: Vec<ActionButton>,
    may_claim: bool,
    colleagues: Vec<(AccountId, String)>,
    personal: Option<PersonalData>,
    form_lines: Vec<(String, String)>,
    /// Files uploaded with the online application: id, material, name, size, SHA-256.
    /// Id, material, file name, size, SHA-256, where it came from (取自材料库：…, or empty).
    uploads: Vec<(String, String, String, String, String, String)>,
    may_reveal: bool,
    /// Payment orders, newest first; whether the viewer may re-issue and cancel, and refund.
    orders: Vec<crate::payments::OrderView>,
    /// Their refunds: order id, amount, reason, state, who, when.
    refunds: Vec<(String, String, String, &'static str, String, String)>,
    may_manage_payments: bool,
    may_refund: bool,
    /// The dossiers (项目档案) holding the case: id, name.
    projects: Vec<(String, String)>,
    may_reissue: bool,
    /// The licence the case issued (id, type and number, status), for staff who manage licences.
    licence: Option<(String, String, &'static str)>,
    /// The licence granting the case will issue: its type's name and fields.
    licence_form: Option<(String, Vec<govhall_licences::decide::FormField>)>,
    /// How the result reaches the applicant, and its shipments.
    delivery: crate::logistics::StaffDelivery,
    /// The materials staff may ask for with a request for more: those given, then the guide's.
    requestable: Vec<String>,
    error: String,
}

/// A file as the timelines name it: with the requested material it was given for.
pub(crate) fn file_label(f: &CaseFile) -> String {
    if f.material.is_empty() { f.file_name.clone() } else { format!("{}：{}", f.material, f.file_name) }
}

fn event_views(events: &[CaseEvent], files: &[CaseFile], case: &Case) -> Vec<EventView> {
    events
        .iter()
        .map(|e| EventView {
            label: e.label.clone(),
            step: case.workflow.step(&e.to_step).map_or_else(|| e.to_step.clone(), |s| s.name.clone()),
            by: e.actor_name.clone(),
            note: e.note.clone(),
            at: time(e.at),
            files: files.iter().filter(|f| f.event_id == e.id).map(|f| (f.id, file_label(f))).collect(),
        })
        .collect()
}

pub(crate) async fn case_page(
    state: &AppState,
    viewer: &crate::auth::Viewer,
    ctx: &RequestContext,
    id: CaseId,
    personal: Option<PersonalData>,
    error: String,
) -> Result<Html<String>, AppError> {
    let access = &viewer.access;
    let c = state.cases.get(access, id).await?;
    let events = state.cases.history(id).await?;
    let files = state.cases.files(access, id).await?;
    let target = govhall_cases::queries::target(&c);
    let can_override = access.covers(Permission::CaseAssign, &target);
    let actions: Vec<ActionButton> = state
        .cases
        .staff_actions(access, &c)
        .await?
        .into_iter()
        .map(|t| ActionButton {
            asks: c.workflow.step(&t.to).is_some_and(|s| s.actor == StepActor::Applicant),
            note_required: t.note_required,
            decides: t.effect.is_some(),
            grants: t.effect == Some(govhall_cases::workflow::Effect::Grant),
            action: t.action,
            label: t.label,
        })
        .collect();
    let may_claim = c.is_open
        && c.assignee_id.is_none()
        && matches!(c.current().map(|s| s.actor), Some(StepActor::Staff(p)) if access.covers(p, &target));
    let colleagues = if c.is_open && can_override {
        let staff = state.identity.list_accounts("staff", Some(c.department_id), 200, 0).await?;
        staff.into_iter().filter(|a| a.active && a.kind == AccountKind::Staff).map(|a| (a.id, a.real_name)).collect()
    } else {
        Vec::new()
    };
    let form_lines = personal.as_ref().map(|p| form_lines(&p.form)).unwrap_or_default();
    let orders = state.payments.case_orders_for_staff(access, c.id).await?;
    let refunds = state
        .payments
        .case_refunds_for_staff(access, c.id)
        .await?
        .into_iter()
        .map(|r| {
            let amount = govhall_core::Money::from_fen(r.amount_fen).map(govhall_core::Money::yuan).unwrap_or_default();
            let label = r.state_label();
            (r.order_id.to_string(), amount, r.reason, label, r.by_name, crate::html::time(r.created_at))
        })
        .collect();
    let grants = c.is_open && actions.iter().any(|a: &ActionButton| a.grants);
    let (licence, licence_form) = crate::licences::on_case_page(state, access, &c, grants).await?;
    let delivers =
        c.is_open && actions.iter().any(|a| govhall_logistics::ship::deliver_action(&c).as_ref() == Some(&a.action));
    let delivery = crate::logistics::on_case_page(state, access, &c, delivers).await?;
    let mut requestable: Vec<String> = c.materials.iter().map(|m| m.name.clone()).collect();
    if actions.iter().any(|a| a.asks)
        && let Some(guide) = state.catalog.guide(&c.item_code).await?
    {
        for m in &guide.content.materials {
            if !requestable.contains(&m.name) {
                requestable.push(m.name.clone());
            }
        }
    }
    let date = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    render(CasePage {
        page: Page::new(state, &format!("办件 {}", c.serial_number)).with(ctx),
        case: row(&c),
        limit: c.limit_label(),
        accepted: date(c.accepted_on),
        step_due: date(c.step_due_on),
        outcome: c.outcome.map(|o| o.label().to_owned()).unwrap_or_default(),
        materials: c.materials.iter().map(|m| (m.name.clone(), m.files.join("、"))).collect(),
        uploads: state
            .applications
            .case_files(c.id)
            .await?
            .into_iter()
            .map(|f| {
                let size = govhall_files::human_size(f.size as u64);
                (f.id.to_string(), f.material_name, f.file_name, size, f.sha256, f.provenance.unwrap_or_default())
            })
            .collect(),
        events: event_views(&events, &files, &c),
        actions,
        may_claim,
        colleagues,
        may_reveal: personal.is_none() && access.covers(Permission::CaseViewPersonalData, &target),
        may_manage_payments: access.covers(Permission::PaymentManage, &target),
        may_refund: access.covers(Permission::PaymentRefund, &target),
        projects: state
            .cases
            .projects_of_case(c.id)
            .await?
            .into_iter()
            .map(|(id, name)| (id.to_string(), name))
            .collect(),
        may_reissue: c.awaits_payment()
            && access.covers(Permission::PaymentManage, &target)
            && !orders.iter().any(|o| o.state.is_payable()),
        orders: orders.iter().map(crate::payments::OrderView::of).collect(),
        refunds,
        licence,
        licence_form,
        delivery,
        requestable,
        personal,
        form_lines,
        error,
        c,
    })
}

/// A case's id from a path (a malformed one answers like a missing case).
pub(crate) fn case_id(id: &str) -> Result<CaseId, AppError> {
    id.parse().map_err(|_| AppError::from(CaseError::NotFound))
}

/// A case file's id from a path (a malformed one answers like a missing case).
pub(crate) fn case_file_id(id: &str) -> Result<CaseFileId, AppError> {
    id.parse().map_err(|_| AppError::from(CaseError::NotFound))
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    case_page(&state, &viewer, &ctx, case_id(&id)?, None, String::new()).await
}

/// Opens the personal data (a POST: it is audited).
pub(crate) async fn reveal(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = case_id(&id)?;
    match state.cases.personal_data(&viewer.access, &ctx.actor(), id).await {
        Ok(data) => Ok(case_page(&state, &viewer, &ctx, id, Some(data), String::new()).await?.into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, case_page(&state, &viewer, &ctx, id, None, error).await?))
        }
    }
}

pub(crate) async fn answer<T, E: Into<AppError>>(
    state: &AppState,
    viewer: &crate::auth::Viewer,
    ctx: &RequestContext,
    id: CaseId,
    result: Result<T, E>,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/cases/{id}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, case_page(state, viewer, ctx, id, None, error).await?))
        }
    }
}

/// Takes an action: multipart (note, revision, an optional file).
pub(crate) async fn act(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let id = case_id(&id)?;
    let mut action = Action { case: id, ..Action::default() };
    let mut result_file = false;
    let mut file: Option<NewFile> = None;
    // The licence's fields when the action grants a case whose item issues one.
    let mut licence = std::collections::BTreeMap::new();
    let broken = |_| AppError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_form", "表单内容不完整，请重新提交");
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        match field.name().unwrap_or_default() {
            "action" => action.action = field.text().await.map_err(broken)?,
            "note" => action.note = field.text().await.map_err(broken)?,
            "revision" => action.revision = field.text().await.map_err(broken)?.trim().parse().ok(),
            "result" => result_file = true,
            "requested" if action.requested.len() <= govhall_cases::supplement::MAX_REQUESTED => {
                action.requested.push(field.text().await.map_err(broken)?);
            }
            "requested_other" => {
                let text = field.text().await.map_err(broken)?;
                action.requested.extend(text.lines().take(50).map(str::to_owned));
            }
            name if name.starts_with("licence.") && licence.len() < 64 => {
                let key = name.trim_start_matches("licence.").to_owned();
                licence.insert(key, field.text().await.map_err(broken)?);
            }
            "file" => {
                let name = field.file_name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.map_err(broken)?;
                if !name.is_empty() || !bytes.is_empty() {
                    file = Some(NewFile {
                        file_name: name,
                        bytes: bytes.to_vec(),
                        result: false,
                        material: String::new(),
                    });
                }
            }
            _ => {}
        }
    }
    action.files = file.into_iter().map(|f| NewFile { result: result_file, ..f }).collect();
    let actor = ctx.actor();
    let result = state.licences.decide(&viewer.access, &actor, action, &licence).await;
    answer(&state, &viewer, &ctx, id, result).await
}

pub(crate) async fn claim(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = case_id(&id)?;
    let result = state.cases.claim(&viewer.access, &ctx.actor(), id).await;
    answer(&state, &viewer, &ctx, id, result).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct AssignForm {
    #[serde(default)]
    to: String,
}

pub(crate) async fn assign(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<AssignForm>,
) -> Result<Response, AppError> {
    let id = case_id(&id)?;
    let result = match form.to.trim().parse::<AccountId>() {
        Ok(to) => state.cases.assign(&viewer.access, &ctx.actor(), id, to).await,
        Err(_) => Err(CaseError::InvalidInput("请选择要分派的工作人员".into())),
    };
    answer(&state, &viewer, &ctx, id, result).await
}

/// A file of a case, for staff who may see it.
pub(crate) async fn file(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (meta, bytes) = state.cases.file(&viewer.access, None, case_id(&id)?, case_file_id(&file)?).await?;
    Ok(download(&meta, bytes))
}

/// A file as a download: its sniffed type, nosniff, never inline, never cached.
pub(crate) fn download(meta: &CaseFile, bytes: Vec<u8>) -> Response {
    crate::download::attachment(&meta.file_name, &meta.content_type, bytes)
}

/// The form as staff read it: an online application's lines (section · label, value) in order,
/// else the object's keys and values.
fn form_lines(form: &serde_json::Value) -> Vec<(String, String)> {
    let text = |v: &serde_json::Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    if let Some(lines) = form.get("lines").and_then(|l| l.as_array()) {
        return lines
            .iter()
            .filter_map(|l| l.as_array())
            .map(|l| {
                let part = |i: usize| l.get(i).map(text).unwrap_or_default();
                (format!("{} · {}", part(0), part(1)), part(2))
            })
            .collect();
    }
    form.as_object().map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect()).unwrap_or_default()
}
