//! 电子监察: open cases per department with their yellow and red lights, and the late ones;
//! and the page where an item's workflow is configured.

use crate::AppError;
use crate::auth::SignedIn;
use crate::cases::workbench::{Row, row};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_cases::queries::DepartmentLoad;
use govhall_cases::workflow::{StepActor, Workflow};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "cases/supervision.html")]
struct SupervisionPage {
    page: Page,
    load: Vec<DepartmentLoad>,
    late: Vec<Row>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<Html<String>, AppError> {
    let load = state.cases.supervision(&viewer.access).await?;
    let late = state.cases.warned(&viewer.access, 200).await?;
    render(SupervisionPage {
        page: Page::new(&state, "电子监察").with(&ctx),
        load,
        late: late.iter().map(row).collect(),
    })
}

struct StepView {
    code: String,
    name: String,
    actor: String,
    deadline: String,
    pauses: bool,
}

#[derive(Template)]
#[template(path = "cases/workflow.html")]
struct WorkflowPage {
    page: Page,
    item: String,
    item_name: String,
    own: bool,
    text: String,
    steps: Vec<StepView>,
    moves: Vec<MoveView>,
    error: String,
    saved: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct WorkflowQuery {
    #[serde(default)]
    item: String,
    #[serde(default)]
    saved: Option<u8>,
}

/// A transition as the table shows it: from, label, to, whether a note is required.
type MoveView = (String, String, String, bool);

fn describe(w: &Workflow) -> (Vec<StepView>, Vec<MoveView>) {
    let name = |code: &str| w.step(code).map_or_else(|| "返回原环节".to_owned(), |s| s.name.clone());
    let steps = w
        .steps
        .iter()
        .map(|s| StepView {
            code: s.code.clone(),
            name: s.name.clone(),
            actor: match s.actor {
                StepActor::Staff(p) => format!("工作人员（{}）", p.label()),
                StepActor::Applicant => "申请人".to_owned(),
                StepActor::Payment => "申请人缴费（缴费完成后自动进入下一步）".to_owned(),
                StepActor::Nobody => "—（办件结束）".to_owned(),
            },
            deadline: s.deadline_days.map(|d| format!("{d} 个工作日")).unwrap_or_default(),
            pauses: s.pauses_clock,
        })
        .collect();
    let moves = w.transitions.iter().map(|t| (name(&t.from), t.label.clone(), name(&t.to), t.note_required)).collect();
    (steps, moves)
}

async fn workflow_page(
    state: &AppState,
    ctx: &crate::auth::RequestContext,
    item: &str,
    text: Option<String>,
    error: String,
    saved: bool,
) -> Result<Html<String>, AppError> {
    let item = item.trim();
    let (item_name, own, current) = if item.is_empty() {
        (String::new(), false, Workflow::standard())
    } else {
        let summary = govhall_catalog::store::summary(&state.db, item).await?.ok_or_else(|| {
            AppError::new(axum::http::StatusCode::NOT_FOUND, "item_not_found", format!("事项“{item}”不存在"))
        })?;
        let (w, own) = state.cases.workflow_of(item).await?;
        (summary.name, own, w)
    };
    let shown = text.as_deref().and_then(|t| Workflow::from_json(t).ok()).unwrap_or_else(|| current.clone());
    let (steps, moves) = describe(&shown);
    render(WorkflowPage {
        page: Page::new(state, "办理流程配置").with(ctx),
        item: item.to_owned(),
        item_name,
        own,
        text: text.unwrap_or_else(|| current.to_json()),
        steps,
        moves,
        error,
        saved,
    })
}

pub(crate) async fn workflow(
    State(state): State<AppState>,
    SignedIn(_, ctx): SignedIn,
    Query(q): Query<WorkflowQuery>,
) -> Result<Html<String>, AppError> {
    workflow_page(&state, &ctx, &q.item, None, String::new(), q.saved.is_some()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct WorkflowForm {
    #[serde(default)]
    definition: String,
}

pub(crate) async fn save_workflow(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
    axum::Form(form): axum::Form<WorkflowForm>,
) -> Result<Response, AppError> {
    match state.cases.save_workflow(&viewer.access, &ctx.actor(), &code, &form.definition).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/admin/workflows?item={}&saved=1", crate::auth::urlencode(&code)))
                .into_response())
        }
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, workflow_page(&state, &ctx, &code, Some(form.definition), error, false).await?))
        }
    }
}

pub(crate) async fn reset_workflow(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    match state.cases.reset_workflow(&viewer.access, &ctx.actor(), &code).await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/admin/workflows?item={}&saved=1", crate::auth::urlencode(&code)))
                .into_response())
        }
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, workflow_page(&state, &ctx, &code, None, error, false).await?))
        }
    }
}
