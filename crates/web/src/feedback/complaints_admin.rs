//! 投诉 in the back office: the complaints staff's `complaint.handle` (or `complaint.supervise`)
//! reaches, one complaint with its history, accept / reject / answer, the complainant's number
//! shown on request (audited), publication with the text checked, and the routing rules.

use crate::AppError;
use crate::auth::{RequestContext, SignedIn, Viewer};
use crate::html::{form_error, render, time, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_core::clock::china_date;
use govhall_feedback::FeedbackError;
use govhall_feedback::attachments::{Attachment, Owner};
use govhall_feedback::complaints::handle::{ComplaintFilter, Decision};
use govhall_feedback::complaints::routing::Rule;
use govhall_feedback::complaints::{CATEGORIES, Complaint};
use govhall_identity::Permission;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "feedback/complaints_admin.html")]
struct ListPage {
    page: Page,
    filter: String,
    complaints: Vec<(Complaint, bool)>,
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
        "overdue" => ComplaintFilter::Overdue,
        "done" => ComplaintFilter::Done,
        _ => ComplaintFilter::Open,
    };
    let today = china_date(state.db.now());
    let complaints = state
        .feedback
        .complaints_for_staff(&viewer.access, filter, 200)
        .await?
        .into_iter()
        .map(|c| {
            let late = c.open() && c.due_on < today;
            (c, late)
        })
        .collect();
    render(ListPage {
        page: Page::new(&state, "投诉办理").with(&ctx),
        filter: match filter {
            ComplaintFilter::Overdue => "overdue",
            ComplaintFilter::Done => "done",
            ComplaintFilter::Open => "open",
        }
        .to_owned(),
        complaints,
        supervisor: viewer.access.has(Permission::ComplaintSupervise),
    })
}

#[derive(Template)]
#[template(path = "feedback/complaint_admin.html")]
struct OnePage {
    page: Page,
    c: Complaint,
    steps: Vec<(String, &'static str, String, String)>,
    created: String,
    late: bool,
    may_handle: bool,
    /// What the complainant attached.
    files: Vec<Attachment>,
    files_base: String,
    phone: String,
    proposed: Option<(String, String)>,
    error: String,
    notice: &'static str,
}

async fn one_page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    id: Uuid,
    phone: String,
    error: String,
    notice: &'static str,
) -> Result<Html<String>, AppError> {
    let c = state.feedback.complaint_for_staff(&viewer.access, id).await?;
    let steps = state
        .feedback
        .complaint_steps(id, true)
        .await?
        .iter()
        .map(|s| (time(s.at), s.label(), s.actor_name.clone(), s.note.clone()))
        .collect();
    let may_handle = state.feedback.handles_complaint(&viewer.access, &c);
    let proposed = if may_handle && c.publishable && matches!(c.state.as_str(), "answered" | "closed") {
        Some(state.feedback.proposed_publication(&viewer.access, id).await?)
    } else {
        None
    };
    let files = state.feedback.attachments(Owner::Complaint(c.id)).await?;
    render(OnePage {
        page: Page::new(state, &format!("投诉 {}", c.number)).with(ctx),
        files,
        files_base: format!("/admin/complaints/{}/files", c.id),
        created: time(c.created_at),
        late: c.open() && c.due_on < china_date(state.db.now()),
        steps,
        may_handle,
        phone,
        proposed,
        c,
        error,
        notice,
    })
}

fn complaint_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::not_found())
}

/// A file the complainant attached, for staff who may see the complaint.
pub(crate) async fn file(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let c = state.feedback.complaint_for_staff(&viewer.access, complaint_id(&id)?).await?;
    let (name, kind, bytes) = state.feedback.attachment(Owner::Complaint(c.id), complaint_id(&file)?).await?;
    Ok(crate::download::attachment(&name, &kind, bytes))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

pub(crate) async fn one(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Html<String>, AppError> {
    let notice = match q.done.as_deref() {
        Some("accepted") => "已受理",
        Some("rejected") => "已不予受理，投诉人会收到通知",
        Some("answered") => "已答复，投诉人会收到通知",
        Some("published") => "已公开",
        _ => "",
    };
    one_page(&state, &viewer, &ctx, complaint_id(&id)?, String::new(), String::new(), notice).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct DecideForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    text: String,
}

pub(crate) async fn decide(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Result<Response, AppError> {
    let id = complaint_id(&id)?;
    let decision = match form.decision.as_str() {
        "accept" => Decision::Accept,
        "reject" => Decision::Reject(form.text.clone()),
        "answer" => Decision::Answer(form.text.clone()),
        _ => return Err(AppError::from(FeedbackError::Invalid("请选择受理、不予受理或答复".into()))),
    };
    let done = match decision {
        Decision::Accept => "accepted",
        Decision::Reject(_) => "rejected",
        Decision::Answer(_) => "answered",
    };
    let result = state.feedback.decide_complaint(&viewer.access, &ctx.actor(), id, decision).await.map(|_| ());
    after(&state, &viewer, &ctx, id, result, done).await
}

async fn after(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    id: Uuid,
    result: Result<(), FeedbackError>,
    done: &str,
) -> Result<Response, AppError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/admin/complaints/{id}?done={done}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, one_page(state, viewer, ctx, id, String::new(), error, "").await?))
        }
    }
}

pub(crate) async fn phone(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let id = complaint_id(&id)?;
    let phone = state.feedback.complainant_phone(&viewer.access, &ctx.actor(), id).await?;
    one_page(&state, &viewer, &ctx, id, phone, String::new(), "").await
}

#[derive(Debug, Deserialize)]
pub(crate) struct PublishForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    answer: String,
}

pub(crate) async fn publish(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    Form(form): Form<PublishForm>,
) -> Result<Response, AppError> {
    let id = complaint_id(&id)?;
    let result = state.feedback.publish_complaint(&viewer.access, &ctx.actor(), id, &form.body, &form.answer).await;
    after(&state, &viewer, &ctx, id, result, "published").await
}

#[derive(Template)]
#[template(path = "feedback/complaint_routes.html")]
struct RoutesPage {
    page: Page,
    rules: Vec<Rule>,
    categories: [&'static str; 7],
    departments: Vec<(Uuid, String)>,
    error: String,
}

async fn routes_page(state: &AppState, ctx: &RequestContext, error: String) -> Result<Html<String>, AppError> {
    let departments = govhall_identity::departments::list(&state.db)
        .await?
        .into_iter()
        .map(|d| (d.id, format!("{}（{}）", d.name, d.region_name)))
        .collect();
    render(RoutesPage {
        page: Page::new(state, "投诉分派规则").with(ctx),
        rules: state.feedback.complaint_rules().await?,
        categories: CATEGORIES,
        departments,
        error,
    })
}

pub(crate) async fn routes(
    State(state): State<AppState>,
    SignedIn(_viewer, ctx): SignedIn,
) -> Result<Html<String>, AppError> {
    routes_page(&state, &ctx, String::new()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct RuleForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    region_prefix: String,
    #[serde(default)]
    department: String,
}

pub(crate) async fn add_route(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Form(form): Form<RuleForm>,
) -> Result<Response, AppError> {
    let department = Uuid::parse_str(form.department.trim()).unwrap_or_default();
    let result = state
        .feedback
        .add_complaint_rule(&viewer.access, &ctx.actor(), &form.category, &form.region_prefix, department)
        .await;
    match result {
        Ok(_) => Ok(Redirect::to("/admin/complaints/routes").into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, routes_page(&state, &ctx, error).await?))
        }
    }
}

pub(crate) async fn remove_route(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    state.feedback.remove_complaint_rule(&viewer.access, &ctx.actor(), complaint_id(&id)?).await?;
    Ok(Redirect::to("/admin/complaints/routes").into_response())
}
