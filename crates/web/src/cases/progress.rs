//! 办件进度查询: the public page and `POST /api/v1/progress-queries`, by serial number and query
//! password; 我的办件 for the signed-in applicant, on the web and in the API.

use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::cases::workbench::{case_file_id, download};
use crate::html::{form_error, render, time, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_cases::progress::Timeline;
use govhall_cases::transition::{Action, By};
use govhall_cases::{Case, CaseError, CaseFileId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A timeline as the pages show it.
pub(crate) struct TimelineView {
    serial: String,
    item: String,
    department: String,
    step: String,
    outcome: String,
    submitted: String,
    due: String,
    limit: String,
    milestones: Vec<(String, String, &'static str)>,
    events: Vec<EntryView>,
}

pub(crate) struct EntryView {
    label: String,
    step: String,
    by: String,
    note: String,
    at: String,
    files: Vec<(CaseFileId, String)>,
}

fn view(t: &Timeline) -> TimelineView {
    TimelineView {
        serial: t.serial_number.clone(),
        item: t.item_name.clone(),
        department: t.department.clone(),
        step: t.step.clone(),
        outcome: t.outcome.clone().unwrap_or_default(),
        submitted: time(t.submitted_at),
        due: match (t.paused, t.due_on, t.accepted_on) {
            (true, _, _) => "补正期间暂停计时".to_owned(),
            (_, Some(d), _) => d.format("%Y年%m月%d日").to_string(),
            (_, None, None) if t.is_open => "受理后开始计时".to_owned(),
            _ => String::new(),
        },
        limit: t.limit.clone(),
        milestones: t
            .milestones
            .iter()
            .map(|m| {
                let class = if m.current {
                    "current"
                } else if m.at.is_some() {
                    "reached"
                } else {
                    ""
                };
                (m.name.clone(), m.at.map(time).unwrap_or_default(), class)
            })
            .collect(),
        events: t
            .entries
            .iter()
            .map(|e| EntryView {
                label: e.label.clone(),
                step: e.step.clone(),
                by: e.by.clone(),
                note: e.note.clone(),
                at: time(e.at),
                files: Vec::new(),
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "cases/progress.html")]
struct ProgressPage {
    page: Page,
    serial: String,
    error: String,
    timeline: Option<TimelineView>,
}

pub(crate) async fn page(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    render(ProgressPage {
        page: Page::new(&state, "办件进度查询").with(&ctx).in_section("progress"),
        serial: String::new(),
        error: String::new(),
        timeline: None,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ProgressQuery {
    /// 统一申办编号
    #[serde(default)]
    serial_number: String,
    /// 查询密码（提交申报时发给申请人的 8 位字符）
    #[serde(default)]
    query_password: String,
}

pub(crate) async fn query(
    State(state): State<AppState>,
    ctx: RequestContext,
    axum::Form(form): axum::Form<ProgressQuery>,
) -> Result<Response, AppError> {
    let page = Page::new(&state, "办件进度查询").with(&ctx).in_section("progress");
    let serial = form.serial_number.trim().to_owned();
    if serial.is_empty() || form.query_password.trim().is_empty() {
        let error = "请填写申办编号和查询密码".to_owned();
        let html = render(ProgressPage { page, serial, error, timeline: None })?;
        return Ok(with_status(axum::http::StatusCode::BAD_REQUEST, html));
    }
    match state.cases.progress(&serial, &form.query_password, &ctx.client_ip).await {
        Ok(t) => {
            Ok(render(ProgressPage { page, serial, error: String::new(), timeline: Some(view(&t)) })?.into_response())
        }
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, render(ProgressPage { page, serial, error, timeline: None })?))
        }
    }
}

#[utoipa::path(post, path = "/api/v1/progress-queries", tag = "办件", summary = "查询办件进度",
    description = "凭统一申办编号和查询密码查询办件进度：里程碑（收件、预审、受理、审查、办结、送达）、各步时间、办理部门、当前环节及办结期限，不含个人信息。同一客户端或同一编号连续查询失败将被限制；密码错误与编号不存在的回答相同。",
    request_body = ProgressQuery,
    responses((status = 200, description = "办件进度"), (status = 400, description = "缺少编号或密码：invalid_input"),
        (status = 404, description = "编号或密码不正确：progress_not_found"),
        (status = 429, description = "查询过于频繁：progress_throttled / progress_locked")))]
pub(crate) async fn api_query(
    State(state): State<AppState>,
    ctx: RequestContext,
    Json(body): Json<ProgressQuery>,
) -> Result<Json<Timeline>, AppError> {
    if body.serial_number.trim().is_empty() || body.query_password.trim().is_empty() {
        return Err(
            CaseError::InvalidInput("请提供申办编号（serial_number）和查询密码（query_password）".into()).into()
        );
    }
    Ok(Json(state.cases.progress(&body.serial_number, &body.query_password, &ctx.client_ip).await?))
}

/// 我的办件 in the list.
struct MineRow {
    serial: String,
    item: String,
    department: String,
    step: String,
    outcome: String,
    submitted: String,
    waiting: bool,
    paying: bool,
}

#[derive(Template)]
#[template(path = "cases/mine.html")]
struct MinePage {
    page: Page,
    rows: Vec<MineRow>,
    drafts: Vec<DraftRow>,
    /// Orders the person can still pay.
    to_pay: Vec<crate::payments::OrderView>,
}

pub(crate) async fn mine(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<Html<String>, AppError> {
    let cases = state.cases.mine(viewer.account.id, 200, 0).await?;
    let rows = cases
        .iter()
        .map(|c| MineRow {
            serial: c.serial_number.clone(),
            item: c.item_name.clone(),
            department: c.department_name.clone(),
            step: c.step_name.clone(),
            outcome: c.outcome.map(|o| o.label().to_owned()).unwrap_or_default(),
            submitted: time(c.submitted_at),
            waiting: c.awaits_applicant() && !applicant_actions(c).is_empty(),
            paying: c.awaits_payment(),
        })
        .collect();
    let to_pay =
        state.payments.payable_for(viewer.account.id).await?.iter().map(crate::payments::OrderView::of).collect();
    let drafts = state
        .applications
        .drafts(viewer.account.id)
        .await?
        .into_iter()
        .map(|d| DraftRow {
            id: d.application.id.to_string(),
            item: d.application.item_name,
            progress: format!("已完成 {}/{}", d.done, d.total),
            saved: time(d.application.updated_at),
            purge_on: govhall_core::clock::china_date(d.purge_on).format("%Y-%m-%d").to_string(),
        })
        .collect();
    render(MinePage { page: Page::new(&state, "我的办件").with(&ctx), rows, drafts, to_pay })
}

struct DraftRow {
    id: String,
    item: String,
    progress: String,
    saved: String,
    purge_on: String,
}

fn applicant_actions(c: &Case) -> Vec<(String, String, bool)> {
    if !c.is_open {
        return Vec::new();
    }
    c.workflow
        .actions_from(&c.step)
        .filter(|t| c.workflow.applicant_takes(t))
        .map(|t| (t.action.clone(), t.label.clone(), t.note_required))
        .collect()
}

#[derive(Template)]
#[template(path = "cases/my_case.html")]
struct MyCasePage {
    page: Page,
    t: TimelineView,
    actions: Vec<(String, String, bool)>,
    revision: i32,
    waiting_note: String,
    /// The materials the request for more asks for: one upload each.
    requested: Vec<String>,
    error: String,
    /// The online application the case came from (its printouts and files), if it is the viewer's.
    application: String,
    /// Its payment orders, newest first.
    orders: Vec<crate::payments::OrderView>,
    /// Its parcels (the result, paper materials), newest first.
    shipments: Vec<crate::logistics::ShipmentView>,
    /// Whether the applicant may book a courier for their paper materials now.
    offers_pickup: bool,
    /// 好差评: the case ended and can be rated (`rate`), or its evaluation (`rated`).
    evaluation: &'static str,
}

pub(crate) async fn my_case_page(
    state: &AppState,
    viewer: &crate::auth::Viewer,
    ctx: &RequestContext,
    serial: &str,
    error: String,
) -> Result<Html<String>, AppError> {
    let c = state.cases.mine_by_serial(viewer.account.id, serial).await?;
    // One read of the history for the timeline and the files beside its steps.
    let events = state.cases.history(c.id).await?;
    let mut t = view(&govhall_cases::progress::timeline(&c, &events, true));
    // Result documents, and the files the applicant gave with their supplements.
    let results = state.cases.result_files(viewer.account.id, &c).await?;
    for (entry, event) in t.events.iter_mut().zip(&events) {
        entry.files = results
            .iter()
            .filter(|f| f.event_id == event.id)
            .map(|f| (f.id, crate::cases::workbench::file_label(f)))
            .collect();
    }
    let (waiting_note, requested) = if c.awaits_applicant() {
        events
            .iter()
            .rev()
            .find(|e| e.to_step == c.step)
            .map(|e| (e.note.clone(), e.requested.clone()))
            .unwrap_or_default()
    } else {
        Default::default()
    };
    let application = state
        .applications
        .of_case(c.id)
        .await?
        .filter(|a| a.applicant_id == viewer.account.id)
        .map(|a| a.id.to_string())
        .unwrap_or_default();
    let orders = state.payments.case_orders_for_payer(viewer.account.id, c.id).await?;
    let shipments = state.logistics.of_applicants_case(&c).await?;
    let offers_pickup = state.logistics.offers_pickup(&c).await?;
    let evaluation = if c.is_open {
        ""
    } else {
        let (_, given) = state.feedback.mine(viewer.account.id, &c.serial_number).await?;
        match given {
            Some(_) => "rated",
            None if state.feedback.ratable(&c, state.db.now()).is_ok() => "rate",
            None => "",
        }
    };
    render(MyCasePage {
        evaluation,
        offers_pickup,
        shipments: shipments.iter().map(crate::logistics::ShipmentView::of).collect(),
        page: Page::new(state, &format!("办件 {}", c.serial_number)).with(ctx),
        application,
        orders: orders.iter().map(crate::payments::OrderView::of).collect(),
        actions: applicant_actions(&c),
        revision: c.revision,
        waiting_note,
        requested,
        t,
        error,
    })
}

pub(crate) async fn my_case(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(serial): Path<String>,
) -> Result<Html<String>, AppError> {
    my_case_page(&state, &viewer, &ctx, &serial, String::new()).await
}

pub(crate) async fn my_act(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(serial): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    let c = state.cases.mine_by_serial(viewer.account.id, &serial).await?;
    let requested = crate::cases::supplements::requested_now(&state, &c).await?;
    let (form, files) = match crate::cases::supplements::applicant_form(&state, request, &requested).await {
        Ok(given) => given,
        Err(e) => {
            let (status, error) = form_error(e)?;
            return Ok(with_status(status, my_case_page(&state, &viewer, &ctx, &serial, error).await?));
        }
    };
    let actor = ctx.actor();
    let action = Action {
        case: c.id,
        action: form.action,
        note: form.note,
        revision: form.revision,
        files,
        ..Action::default()
    };
    match state.cases.act(By::Applicant(viewer.account.id, &actor), action).await {
        Ok(_) => Ok(Redirect::to(&format!("/account/cases/{}", c.serial_number)).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, my_case_page(&state, &viewer, &ctx, &serial, error).await?))
        }
    }
}

pub(crate) async fn my_file(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((serial, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let c = state.cases.mine_by_serial(viewer.account.id, &serial).await?;
    let file = case_file_id(&file)?;
    let (meta, bytes) =
        state.cases.file(&govhall_identity::Access::default(), Some(viewer.account.id), c.id, file).await?;
    Ok(download(&meta, bytes))
}

/// A case in the applicant's API list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MyCase {
    /// 统一申办编号
    serial_number: String,
    /// 事项名称
    item_name: String,
    /// 办理部门
    department: String,
    /// 当前环节
    step: String,
    /// 是否仍在办理
    is_open: bool,
    /// 办理结果（准予、不予、不予受理、申请人撤回）
    outcome: Option<String>,
    /// 办结期限
    due_on: Option<chrono::NaiveDate>,
    /// 提交时间
    submitted_at: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(get, path = "/api/v1/me/cases", tag = "办件", summary = "我的办件",
    description = "当前登录用户提交的办件，以及其所在企业的办件，最新的在前。",
    responses((status = 200, description = "办件列表", body = [MyCase]), (status = 401, description = "未登录")))]
pub(crate) async fn api_mine(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
) -> Result<Json<Vec<MyCase>>, AppError> {
    let cases = state.cases.mine(viewer.account.id, 200, 0).await?;
    Ok(Json(
        cases
            .into_iter()
            .map(|c| MyCase {
                outcome: c.outcome.map(|o| o.label().to_owned()),
                serial_number: c.serial_number,
                item_name: c.item_name,
                department: c.department_name,
                step: c.step_name,
                is_open: c.is_open,
                due_on: c.due_on,
                submitted_at: c.submitted_at,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/me/cases/{serial}", tag = "办件", summary = "我的办件进度",
    description = "当前登录用户一件办件的完整进度，含工作人员的说明（如补正要求）。",
    params(("serial" = String, Path, description = "统一申办编号")),
    responses((status = 200, description = "办件进度"), (status = 404, description = "不存在或不是您的办件：case_not_found")))]
pub(crate) async fn api_my_case(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(serial): Path<String>,
) -> Result<Json<Timeline>, AppError> {
    let c = state.cases.mine_by_serial(viewer.account.id, &serial).await?;
    Ok(Json(state.cases.my_timeline(&c).await?))
}
