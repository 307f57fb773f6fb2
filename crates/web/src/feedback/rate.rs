//! 评价: the applicant's page for a finished case — the rating form (five levels overall and on
//! the online indicators, reasons and a comment for a 差评), the evaluation once given (changed
//! once within the change period), the department's answer to a 差评 and the rating of it.

use super::{RatingForm, rating_from};
use crate::AppError;
use crate::auth::{RequestContext, SignedIn, Viewer};
use crate::html::{form_error, render, time, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_feedback::evaluate::Rater;
use govhall_feedback::model::{Channel, Evaluation, INDICATORS, Rating};
use govhall_feedback::rectify::Rectification;
use serde::Deserialize;

/// An evaluation as the page shows it.
pub(crate) struct Given {
    pub overall: &'static str,
    pub indicators: Vec<(&'static str, &'static str)>,
    pub reasons: Vec<&'static str>,
    pub comment: String,
    pub channel: &'static str,
    pub at: String,
    pub changed: String,
    pub voided: String,
    pub is_default: bool,
}

impl Given {
    pub(crate) fn of(e: &Evaluation) -> Given {
        Given {
            overall: e.overall.label(),
            indicators: INDICATORS
                .iter()
                .zip(e.indicators)
                .filter_map(|((_, name), level)| level.map(|l| (*name, l.label())))
                .collect(),
            reasons: e.reason_labels(),
            comment: e.comment.clone(),
            channel: e.channel.label(),
            at: time(e.created_at),
            changed: e.changed_at.map(time).unwrap_or_default(),
            voided: if e.voided_at.is_some() { e.void_reason.clone() } else { String::new() },
            is_default: e.is_default,
        }
    }
}

#[derive(Template)]
#[template(path = "feedback/rate.html")]
struct RatePage {
    page: Page,
    serial: String,
    item: String,
    department: String,
    outcome: String,
    closed: String,
    /// Why the form is not offered, when it is not.
    closed_reason: String,
    given: Option<Given>,
    /// The form (a first rating, or the one change).
    form: Option<RatingForm>,
    changing: bool,
    until: String,
    task: Option<Rectification>,
    task_due: String,
    task_answered: String,
    error: String,
    notice: &'static str,
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    serial: &str,
    typed: Option<Rating>,
    error: String,
    notice: &'static str,
) -> Result<Html<String>, AppError> {
    let (case, evaluation) = state.feedback.mine(viewer.account.id, serial).await?;
    let now = state.db.now();
    let ratable = state.feedback.ratable(&case, now);
    let changeable = evaluation.as_ref().is_some_and(|e| state.feedback.changeable(e, now));
    let closed_reason = match (&ratable, &evaluation) {
        (Err(e), _) => govhall_core::Coded::message(e),
        (Ok(()), Some(e)) if !changeable && !e.is_default => "评价已提交，不能再修改".to_owned(),
        _ => String::new(),
    };
    let offer = ratable.is_ok() && (evaluation.is_none() || changeable);
    let form = offer.then(|| {
        let shown = typed.clone().unwrap_or_else(|| evaluation.as_ref().map(as_rating).unwrap_or_default());
        RatingForm::of(&shown, true)
    });
    let task = match &evaluation {
        Some(e) => state.feedback.task_of(e.id).await?,
        None => None,
    };
    let until = state.feedback.rating_deadline(&case).map(time).unwrap_or_default();
    render(RatePage {
        page: Page::new(state, &format!("评价：{}", case.item_name)).with(ctx),
        serial: case.serial_number.clone(),
        item: case.item_name.clone(),
        department: case.department_name.clone(),
        outcome: case.outcome.map(|o| o.label().to_owned()).unwrap_or_else(|| "办理中".to_owned()),
        closed: case.closed_at.map(time).unwrap_or_default(),
        closed_reason,
        given: evaluation.as_ref().map(Given::of),
        changing: evaluation.is_some() && form.is_some(),
        form,
        until,
        task_due: task.as_ref().map(|t| t.due_on.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        task_answered: task.as_ref().and_then(|t| t.answered_at).map(time).unwrap_or_default(),
        task,
        error,
        notice,
    })
}

/// The rating an evaluation holds, to fill the form for its change.
fn as_rating(e: &Evaluation) -> Rating {
    let [efficiency, guide_accuracy, convenience, usability] = e.indicators.map(|l| l.map(|l| i64::from(l.get())));
    Rating {
        overall: i64::from(e.overall.get()),
        efficiency,
        guide_accuracy,
        convenience,
        usability,
        reasons: e.reasons.clone(),
        comment: e.comment.clone(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(serial): Path<String>,
    Query(q): Query<Done>,
) -> Result<Html<String>, AppError> {
    let notice = match q.done.as_deref() {
        Some("rated") => "感谢您的评价！",
        Some("answer") => "已收到您对整改情况的评价",
        _ => "",
    };
    page(&state, &viewer, &ctx, &serial, None, String::new(), notice).await
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(serial): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let rating = rating_from(&pairs);
    let case = state.feedback.case_for(viewer.account.id, &serial).await?;
    let rater = Rater::Person(viewer.account.id);
    match state.feedback.evaluate(&ctx.actor(), rater, &case, Channel::Web, &rating).await {
        Ok(_) => Ok(Redirect::to(&format!("/account/cases/{serial}/evaluation?done=rated")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, page(&state, &viewer, &ctx, &serial, Some(rating), error, "").await?))
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct AnswerRating {
    #[serde(default)]
    level: String,
}

pub(crate) async fn rate_answer(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(serial): Path<String>,
    Form(form): Form<AnswerRating>,
) -> Result<Response, AppError> {
    let level = form.level.trim().parse::<i64>().unwrap_or(0);
    match state.feedback.rate_answer(&ctx.actor(), viewer.account.id, &serial, level).await {
        Ok(_) => Ok(Redirect::to(&format!("/account/cases/{serial}/evaluation?done=answer")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, page(&state, &viewer, &ctx, &serial, None, error, "").await?))
        }
    }
}
