//! 好差评 in the API (the mobile app): a case's evaluation, rating it (channel `app`), rating the
//! department's answer to a 差评, and the finished cases waiting for a rating.

use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use govhall_feedback::evaluate::Rater;
use govhall_feedback::model::{Channel, Evaluation, INDICATORS, Rating};
use govhall_feedback::rectify::Rectification;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// 评价。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvaluationOut {
    id: Uuid,
    /// 整体满意度：5 非常满意、4 满意、3 基本满意、2 不满意、1 非常不满意
    overall: u8,
    /// 整体满意度（中文）
    overall_label: String,
    /// 分项评价：efficiency 办事效率、guide_accuracy 办事指南精确度、convenience 办事便捷度、usability 平台操作性
    indicators: BTreeMap<String, u8>,
    /// 不满意的原因代码
    reasons: Vec<String>,
    /// 意见和建议
    comment: String,
    /// 评价渠道：web、app、wechat、kiosk、default（逾期默认评价）
    channel: String,
    /// 是否为逾期默认评价
    is_default: bool,
    /// 评价时间
    created_at: DateTime<Utc>,
    /// 修改时间（只能修改一次）
    changed_at: Option<DateTime<Utc>>,
    /// 作废时间（申诉成立后作废，不计入统计）
    voided_at: Option<DateTime<Utc>>,
    /// 还能否修改
    changeable: bool,
}

/// 差评整改。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RectificationOut {
    /// open 待整改、answered 已回复、closed 评价已作废
    state: String,
    /// 部门回复期限
    due_on: NaiveDate,
    /// 部门
    department_name: String,
    /// 是否已电话回访
    called_back: bool,
    /// 部门的整改情况或说明
    answer: String,
    /// 回复时间
    answered_at: Option<DateTime<Utc>>,
    /// 申请人对整改情况的评价（1–5）
    rerating: Option<i16>,
}

/// 办件的评价情况。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CaseEvaluationOut {
    /// 申办编号
    serial_number: String,
    /// 现在能否评价（或修改评价）
    can_rate: bool,
    /// 不能评价的原因
    reason: Option<String>,
    /// 评价截止时间
    rate_until: Option<DateTime<Utc>>,
    evaluation: Option<EvaluationOut>,
    rectification: Option<RectificationOut>,
}

fn evaluation_out(e: &Evaluation, changeable: bool) -> EvaluationOut {
    EvaluationOut {
        id: e.id.as_uuid(),
        overall: e.overall.get(),
        overall_label: e.overall.label().to_owned(),
        indicators: INDICATORS
            .iter()
            .zip(e.indicators)
            .filter_map(|((key, _), level)| level.map(|l| ((*key).to_owned(), l.get())))
            .collect(),
        reasons: e.reasons.clone(),
        comment: e.comment.clone(),
        channel: e.channel.as_str().to_owned(),
        is_default: e.is_default,
        created_at: e.created_at,
        changed_at: e.changed_at,
        voided_at: e.voided_at,
        changeable,
    }
}

fn rectification_out(r: Rectification) -> RectificationOut {
    RectificationOut {
        state: r.state,
        due_on: r.due_on,
        department_name: r.department_name,
        called_back: r.called_back,
        answer: r.answer,
        answered_at: r.answered_at,
        rerating: r.rerating,
    }
}

async fn case_evaluation(
    state: &AppState,
    viewer: govhall_identity::AccountId,
    serial: &str,
) -> Result<CaseEvaluationOut, AppError> {
    let (case, evaluation) = state.feedback.mine(viewer, serial).await?;
    let now = state.db.now();
    let ratable = state.feedback.ratable(&case, now);
    let changeable = evaluation.as_ref().is_some_and(|e| state.feedback.changeable(e, now));
    let can_rate = ratable.is_ok() && (evaluation.is_none() || changeable);
    let reason = match (&ratable, &evaluation) {
        (Err(e), _) => Some(govhall_core::Coded::message(e)),
        (Ok(()), Some(_)) if !changeable => Some("评价已提交，不能再修改".to_owned()),
        _ => None,
    };
    let rectification = match &evaluation {
        Some(e) => state.feedback.task_of(e.id).await?.map(rectification_out),
        None => None,
    };
    Ok(CaseEvaluationOut {
        serial_number: case.serial_number.clone(),
        can_rate,
        reason,
        rate_until: state.feedback.rating_deadline(&case),
        evaluation: evaluation.as_ref().map(|e| evaluation_out(e, changeable)),
        rectification,
    })
}

#[utoipa::path(get, path = "/api/v1/me/cases/{serial}/evaluation", tag = "好差评",
    summary = "办件的评价情况",
    params(("serial" = String, Path, description = "申办编号")),
    responses((status = 200, description = "能否评价、评价和差评整改", body = CaseEvaluationOut),
        (status = 404, description = "办件不存在或不是本人的：case_not_found")))]
pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(serial): Path<String>,
) -> Result<Json<CaseEvaluationOut>, AppError> {
    Ok(Json(case_evaluation(&state, viewer.account.id, &serial).await?))
}

/// 评价（1–5 级）。评价为 1、2 级时须选择原因或填写意见。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct RatingIn {
    /// 整体满意度 1–5
    overall: i64,
    /// 办事效率 1–5（可选）
    #[serde(default)]
    efficiency: Option<i64>,
    /// 办事指南精确度 1–5（可选）
    #[serde(default)]
    guide_accuracy: Option<i64>,
    /// 办事便捷度 1–5（可选）
    #[serde(default)]
    convenience: Option<i64>,
    /// 平台操作性 1–5（可选）
    #[serde(default)]
    usability: Option<i64>,
    /// 不满意的原因代码：guide_inaccurate、materials_repeated、too_slow、many_trips、attitude、system_hard、fees、result_unexplained、other
    #[serde(default)]
    reasons: Vec<String>,
    /// 意见和建议（最多 500 字）
    #[serde(default)]
    comment: String,
}

#[utoipa::path(post, path = "/api/v1/me/cases/{serial}/evaluation", tag = "好差评",
    summary = "评价办件（再次提交即修改，只能修改一次）",
    description = "办结后（撤回的除外）评价期限内可以评价；评价后规定天数内可以修改一次。评价为不满意或非常不满意时转办理部门回访整改。",
    params(("serial" = String, Path, description = "申办编号")), request_body = RatingIn,
    responses((status = 201, description = "已评价", body = CaseEvaluationOut),
        (status = 404, description = "办件不存在或不是本人的：case_not_found"),
        (status = 409, description = "已评价且不能再修改，或办件尚未办结：already_rated、evaluation_state"),
        (status = 410, description = "评价期限已过：rating_period_over"),
        (status = 422, description = "评价等级或原因有误，差评未说明原因：invalid_input")))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(serial): Path<String>,
    Json(body): Json<RatingIn>,
) -> Result<Response, AppError> {
    let rating = Rating {
        overall: body.overall,
        efficiency: body.efficiency,
        guide_accuracy: body.guide_accuracy,
        convenience: body.convenience,
        usability: body.usability,
        reasons: body.reasons,
        comment: body.comment,
    };
    let case = state.feedback.case_for(viewer.account.id, &serial).await?;
    let e =
        state.feedback.evaluate(&ctx.actor(), Rater::Person(viewer.account.id), &case, Channel::App, &rating).await?;
    // The answer from what the rating returned: only a 差评 has a task to read.
    let rectification = if e.overall.is_bad() || e.changed_at.is_some() {
        state.feedback.task_of(e.id).await?.map(rectification_out)
    } else {
        None
    };
    let changeable = state.feedback.changeable(&e, state.db.now());
    let out = CaseEvaluationOut {
        serial_number: case.serial_number.clone(),
        can_rate: changeable,
        reason: (!changeable).then(|| "评价已提交，不能再修改".to_owned()),
        rate_until: state.feedback.rating_deadline(&case),
        evaluation: Some(evaluation_out(&e, changeable)),
        rectification,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// 对整改情况的评价。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AnswerRatingIn {
    /// 1–5
    level: i64,
}

#[utoipa::path(post, path = "/api/v1/me/cases/{serial}/evaluation/rectification", tag = "好差评",
    summary = "评价差评的整改情况",
    description = "办理部门回复差评后，申请人对整改情况评价一次。",
    params(("serial" = String, Path, description = "申办编号")), request_body = AnswerRatingIn,
    responses((status = 200, description = "已评价", body = CaseEvaluationOut),
        (status = 404, description = "办件、评价或整改任务不存在：case_not_found、evaluation_not_found"),
        (status = 409, description = "部门尚未回复或已评价过：evaluation_state、already_rated")))]
pub(crate) async fn rate_answer(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(serial): Path<String>,
    Json(body): Json<AnswerRatingIn>,
) -> Result<Json<CaseEvaluationOut>, AppError> {
    state.feedback.rate_answer(&ctx.actor(), viewer.account.id, &serial, body.level).await?;
    Ok(Json(case_evaluation(&state, viewer.account.id, &serial).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct PendingQuery {
    /// 企业 id：该企业的待评价办件（须为该企业有效成员）；不填为本人的
    #[serde(default)]
    enterprise: Option<Uuid>,
}

/// 待评价的办件。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PendingOut {
    /// 申办编号
    serial_number: String,
    /// 事项名称
    item_name: String,
    /// 办结时间
    closed_at: DateTime<Utc>,
    /// 评价截止时间
    expires_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/api/v1/me/evaluations/pending", tag = "好差评",
    summary = "待评价的办件", params(PendingQuery),
    responses((status = 200, description = "已办结、尚未评价、未过期的办件，截止早的在前", body = [PendingOut]),
        (status = 404, description = "不是该企业的有效成员：case_not_found")))]
pub(crate) async fn pending(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Query(q): Query<PendingQuery>,
) -> Result<Json<Vec<PendingOut>>, AppError> {
    let me = viewer.account.id;
    let whose = match q.enterprise {
        Some(e) => govhall_cases::tasks::Whose::Enterprise(govhall_identity::EnterpriseId::from_uuid(e)),
        None => govhall_cases::tasks::Whose::Person(me),
    };
    Ok(Json(
        state
            .feedback
            .to_rate(me, whose)
            .await?
            .into_iter()
            .map(|p| PendingOut {
                serial_number: p.serial_number,
                item_name: p.item_name,
                closed_at: p.closed_at,
                expires_at: p.expires_at,
            })
            .collect(),
    ))
}
