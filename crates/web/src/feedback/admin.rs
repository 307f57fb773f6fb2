//! 好差评 in the back office: the 差评 tasks staff's `evaluation.handle` reaches (open, overdue,
//! answered), a task with its evaluation, the answer form, the appeal and the reports upstream;
//! the appeals waiting for a supervisor; the statistics.

use super::rate::Given;
use super::upload::form_with_files;
use crate::AppError;
use crate::auth::{RequestContext, SignedIn, Viewer};
use crate::html::{form_error, render, time, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use govhall_core::clock::china_date;
use govhall_feedback::FeedbackError;
use govhall_feedback::appeal::Appeal;
use govhall_feedback::attachments::{Attachment, Owner};
use govhall_feedback::rectify::{Rectification, TaskFilter};
use govhall_feedback::report::Report;
use govhall_feedback::stats::{Dimension, Group, RectificationCounts};
use govhall_feedback::{AppealId, EvaluationId, RectificationId};
use govhall_identity::Permission;
use serde::Deserialize;
use uuid::Uuid;

fn task_id(id: &str) -> Result<RectificationId, AppError> {
    id.parse().map_err(|_| AppError::not_found())
}

struct TaskRow {
    id: String,
    serial: String,
    item: String,
    level: &'static str,
    reasons: String,
    department: String,
    due: String,
    state: &'static str,
    late: bool,
}

fn row(r: &Rectification, today: NaiveDate) -> TaskRow {
    TaskRow {
        id: r.id.to_string(),
        serial: r.serial_number.clone(),
        item: r.item_name.clone(),
        level: r.level_label(),
        reasons: r.reason_labels().join("；"),
        department: r.department_name.clone(),
        due: r.due_on.format("%Y-%m-%d").to_string(),
        state: r.state_label(today),
        late: r.state == "open" && r.due_on < today,
    }
}

#[derive(Template)]
#[template(path = "feedback/admin_list.html")]
struct ListPage {
    page: Page,
    filter: String,
    tasks: Vec<TaskRow>,
    appeals: Vec<Appeal>,
    supervisor: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    filter: String,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<Html<String>, AppError> {
    let filter = match q.filter.as_str() {
        "overdue" => TaskFilter::Overdue,
        "answered" => TaskFilter::Answered,
        _ => TaskFilter::Open,
    };
    let today = china_date(state.db.now());
    let tasks =
        state.feedback.rectifications(&viewer.access, filter, 200).await?.iter().map(|r| row(r, today)).collect();
    let supervisor = viewer.access.has(Permission::EvaluationSupervise);
    let appeals = if supervisor { state.feedback.pending_appeals(&viewer.access, 100).await? } else { Vec::new() };
    render(ListPage {
        page: Page::new(&state, "好差评").with(&ctx),
        filter: match filter {
            TaskFilter::Overdue => "overdue",
            TaskFilter::Answered => "answered",
            TaskFilter::Open => "open",
        }
        .to_owned(),
        tasks,
        appeals,
        supervisor,
    })
}

#[derive(Template)]
#[template(path = "feedback/admin_task.html")]
struct TaskPage {
    page: Page,
    t: TaskRow,
    r: Rectification,
    given: Given,
    answered: String,
    may_answer: bool,
    may_appeal: bool,
    may_decide: bool,
    /// Each appeal with its evidence.
    appeals: Vec<(Appeal, Vec<Attachment>)>,
    /// The files given with the answer.
    task_files: Vec<Attachment>,
    /// Where the task's files (the answer's and the appeals') are downloaded.
    files_base: String,
    reports: Vec<Report>,
    reporting: bool,
    error: String,
    notice: &'static str,
}

async fn task_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    id: RectificationId,
    error: String,
    notice: &'static str,
) -> Result<Html<String>, AppError> {
    let r = state.feedback.rectification(&viewer.access, id).await?;
    let evaluation_id = EvaluationId::from_uuid(r.evaluation_id);
    let e = state.feedback.evaluation_for_staff(&viewer.access, evaluation_id).await?;
    let mut appeals = Vec::new();
    for a in state.feedback.appeals_of(evaluation_id).await? {
        let files = state.feedback.attachments(Owner::Appeal(a.id)).await?;
        appeals.push((a, files));
    }
    let task_files = state.feedback.attachments(Owner::Rectification(r.id)).await?;
    let reports = state.feedback.reports_of(evaluation_id).await?;
    let today = china_date(state.db.now());
    let handles = state.feedback.handles(&viewer.access, &r);
    let pending = appeals.iter().any(|(a, _)| a.state == "pending");
    render(TaskPage {
        page: Page::new(state, &format!("差评整改：{}", r.serial_number)).with(ctx),
        t: row(&r, today),
        given: Given::of(&e),
        answered: r.answered_at.map(time).unwrap_or_default(),
        may_answer: handles && r.state == "open",
        may_appeal: handles && e.voided_at.is_none() && !pending,
        may_decide: state.feedback.supervises(&viewer.access, &r) && pending,
        appeals,
        task_files,
        files_base: format!("/admin/evaluations/tasks/{}/files", r.id),
        reports,
        reporting: !state.feedback.settings().upstream_url.trim().is_empty(),
        r,
        error,
        notice,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

pub(crate) async fn task(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Html<String>, AppError> {
    let notice = match q.done.as_deref() {
        Some("answered") => "已回复，申请人会收到通知并对整改情况评价",
        Some("appealed") => "申诉已提交，等待监督人员审核",
        Some("decided") => "申诉已审核",
        _ => "",
    };
    task_page(&state, &viewer, &ctx, task_id(&id)?, String::new(), notice).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct AnswerForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    called_back: Option<String>,
}

/// 回访并回复: a plain form, or multipart with files (its CSRF token in its address).
pub(crate) async fn answer(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let id = task_id(&id)?;
    // Someone who may not see the task does not get to send it files.
    state.feedback.rectification(&viewer.access, id).await?;
    let (form, files) = form_with_files::<AnswerForm>(&state, request).await?;
    let called_back = form.called_back.is_some();
    let result = state.feedback.answer(&viewer.access, &ctx.actor(), id, called_back, &form.answer, &files).await;
    after(&state, &viewer, &ctx, id, result.map(|_| ()), "answered").await
}

#[derive(Debug, Deserialize)]
pub(crate) struct AppealForm {
    #[serde(default)]
    reason: String,
}

/// 申诉: a plain form, or multipart with the evidence's files (its CSRF token in its address).
pub(crate) async fn appeal(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let id = task_id(&id)?;
    let r = state.feedback.rectification(&viewer.access, id).await?;
    let (form, files) = form_with_files::<AppealForm>(&state, request).await?;
    let evaluation = EvaluationId::from_uuid(r.evaluation_id);
    let result = state.feedback.appeal(&viewer.access, &ctx.actor(), evaluation, &form.reason, &files).await;
    after(&state, &viewer, &ctx, id, result.map(|_| ()), "appealed").await
}

/// A file of a task, for staff who may see the task: given with its answer or with an appeal
/// about its evaluation (anything else: not found).
pub(crate) async fn file(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let r = state.feedback.rectification(&viewer.access, task_id(&id)?).await?;
    let file: Uuid = file.parse().map_err(|_| AppError::not_found())?;
    let mut owners = vec![Owner::Rectification(r.id)];
    for a in state.feedback.appeals_of(EvaluationId::from_uuid(r.evaluation_id)).await? {
        owners.push(Owner::Appeal(a.id));
    }
    for owner in owners {
        match state.feedback.attachment(owner, file).await {
            Ok((name, kind, bytes)) => return Ok(crate::download::attachment(&name, &kind, bytes)),
            Err(FeedbackError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::not_found())
}

#[derive(Debug, Deserialize)]
pub(crate) struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    task: String,
}

pub(crate) async fn decide(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Result<Response, AppError> {
    let appeal: AppealId = id.parse().map_err(|_| AppError::not_found())?;
    let task = task_id(&form.task)?;
    let result =
        state.feedback.decide_appeal(&viewer.access, &ctx.actor(), appeal, form.decision == "uphold", &form.note).await;
    after(&state, &viewer, &ctx, task, result.map(|_| ()), "decided").await
}

async fn after(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    task: RectificationId,
    result: Result<(), govhall_feedback::FeedbackError>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/evaluations/tasks/{task}?done={done}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, task_page(state, viewer, ctx, task, error, "").await?))
        }
    }
}

#[derive(Template)]
#[template(path = "feedback/admin_statistics.html")]
struct StatisticsPage {
    page: Page,
    by_label: &'static str,
    from: String,
    to: String,
    dimensions: Vec<(&'static str, &'static str, bool)>,
    groups: Vec<Group>,
    chart: String,
    rectifications: Vec<RectificationCounts>,
    error: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatisticsQuery {
    #[serde(default)]
    by: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

pub(crate) async fn statistics(
    State(state): State<AppState>,
    SignedIn(_viewer, ctx): SignedIn,
    Query(q): Query<StatisticsQuery>,
) -> Result<Html<String>, AppError> {
    let today = china_date(state.db.now());
    let by = Dimension::parse(&q.by).unwrap_or(Dimension::Department);
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let date = |s: &str, default: NaiveDate| {
        if s.trim().is_empty() { Ok(default) } else { NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| ()) }
    };
    let (from, to, error) = match (date(&q.from, year_start), date(&q.to, today)) {
        (Ok(f), Ok(t)) if f <= t && (t - f).num_days() <= 3660 => (f, t, String::new()),
        _ => (year_start, today, "日期应为 YYYY-MM-DD，开始不晚于结束，跨度不超过十年；已显示今年的统计".to_owned()),
    };
    let groups = state.feedback.breakdown(by, from, to).await?;
    let pairs: Vec<(String, i64)> =
        groups.iter().take(20).map(|g| (g.label.clone(), g.counts.total() + g.counts.defaults)).collect();
    let rectifications = state.feedback.rectification_counts(from, to).await?;
    let by_key = match by {
        Dimension::Department => "department",
        Dimension::Item => "item",
        Dimension::Region => "region",
        Dimension::Channel => "channel",
        Dimension::Month => "month",
    };
    render(StatisticsPage {
        page: Page::new(&state, "好差评统计").with(&ctx),
        by_label: by.label(),
        from: from.to_string(),
        to: to.to_string(),
        dimensions: ["department", "item", "region", "channel", "month"]
            .into_iter()
            .filter_map(|k| Dimension::parse(k).map(|d| (k, d.label(), k == by_key)))
            .collect(),
        chart: crate::charts::bars("evaluations", &format!("按{}的评价数", by.label()), &pairs),
        groups,
        rectifications,
        error,
    })
}
