//! 投诉 in the API for the mobile app (signed in): making a complaint, the person's complaints, one
//! of them, adding information, reopening, rating the answer.

use super::complaints::subject_of;
use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use govhall_feedback::FeedbackError;
use govhall_feedback::complaints::{Complainant, Complaint, FollowUp, NewComplaint, Via};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// 投诉（登录用户）。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct ComplaintIn {
    /// 投诉对象：item（事项编码）、department（部门 id）、case（本人办件的申办编号）、hall（服务大厅 id）
    subject: String,
    /// 事项编码、部门 id、申办编号或服务大厅 id
    subject_ref: String,
    /// 投诉类别：服务态度、办事效率、办事指南与材料、收费问题、系统与网络、廉洁与作风、其他
    category: String,
    /// 投诉内容（10 到 2000 字）
    body: String,
    /// 是否同意公开答复（公开时去除个人信息）
    #[serde(default)]
    publishable: bool,
}

/// 投诉已提交。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MadeOut {
    /// 投诉编号
    number: String,
    /// 查询密码（只显示这一次）
    query_password: String,
    /// 承办部门
    department_name: String,
}

/// 投诉。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ComplaintOut {
    number: String,
    /// 投诉对象
    subject_label: String,
    category: String,
    body: String,
    /// 承办部门
    department_name: String,
    /// received 待受理、accepted 处理中、rejected 不予受理、answered 已答复、closed 已办结
    state: String,
    /// 当前阶段期限
    due_on: chrono::NaiveDate,
    /// 答复或不予受理的理由
    answer: String,
    answered_at: Option<DateTime<Utc>>,
    /// 对答复的评价（1–5）
    rating: Option<i16>,
    created_at: DateTime<Utc>,
}

impl From<Complaint> for ComplaintOut {
    fn from(c: Complaint) -> Self {
        ComplaintOut {
            number: c.number,
            subject_label: c.subject_label,
            category: c.category,
            body: c.body,
            department_name: c.department_name,
            state: c.state,
            due_on: c.due_on,
            answer: c.answer,
            answered_at: c.answered_at,
            rating: c.rating,
            created_at: c.created_at,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/me/complaints", tag = "投诉",
    summary = "提交投诉",
    description = "按投诉对象和类别分派到承办部门；返回投诉编号和查询密码（只显示这一次）。",
    request_body = ComplaintIn,
    responses((status = 201, description = "已提交", body = MadeOut),
        (status = 422, description = "类别、内容或投诉对象有误：invalid_input")))]
pub(crate) async fn api_create(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Json(body): Json<ComplaintIn>,
) -> Result<Response, AppError> {
    let new = NewComplaint {
        subject: subject_of(&body.subject),
        subject_ref: body.subject_ref,
        category: body.category,
        body: body.body,
        publishable: body.publishable,
    };
    let made = state.feedback.complain(&ctx.actor(), &Complainant::Account(viewer.account.id), Via::App, &new).await?;
    let out =
        MadeOut { number: made.number, query_password: made.query_password, department_name: made.department_name };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[utoipa::path(get, path = "/api/v1/me/complaints", tag = "投诉", summary = "我的投诉",
    responses((status = 200, description = "新的在前", body = [ComplaintOut])))]
pub(crate) async fn api_mine(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
) -> Result<Json<Vec<ComplaintOut>>, AppError> {
    Ok(Json(state.feedback.my_complaints(viewer.account.id).await?.into_iter().map(ComplaintOut::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/me/complaints/{number}", tag = "投诉", summary = "一件投诉",
    params(("number" = String, Path, description = "投诉编号")),
    responses((status = 200, description = "投诉", body = ComplaintOut), (status = 404, description = "不存在或不是本人的：evaluation_not_found")))]
pub(crate) async fn api_one(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(number): Path<String>,
) -> Result<Json<ComplaintOut>, AppError> {
    Ok(Json(state.feedback.my_complaint(viewer.account.id, &number).await?.into()))
}

/// 补充情况、申请重新办理或评价答复。
#[derive(Debug, Deserialize, ToSchema, IntoParams)]
pub(crate) struct FollowIn {
    /// info（补充情况）、reopen（答复后 10 天内申请重新办理）、rate（评价答复，1–5）
    action: String,
    /// 补充的情况或重新办理的理由
    #[serde(default)]
    note: String,
    /// 评价（1–5），action 为 rate 时
    #[serde(default)]
    level: i64,
}

#[utoipa::path(post, path = "/api/v1/me/complaints/{number}/actions", tag = "投诉", summary = "补充、重新办理或评价",
    params(("number" = String, Path, description = "投诉编号")), request_body = FollowIn,
    responses((status = 200, description = "投诉", body = ComplaintOut),
        (status = 404, description = "不存在或不是本人的"),
        (status = 409, description = "当前状态不能这样做：evaluation_state"),
        (status = 410, description = "超过重新办理期限：rating_period_over"),
        (status = 422, description = "内容有误：invalid_input")))]
pub(crate) async fn api_act(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(number): Path<String>,
    Json(body): Json<FollowIn>,
) -> Result<Json<ComplaintOut>, AppError> {
    let c = state.feedback.my_complaint(viewer.account.id, &number).await?;
    let action = match body.action.as_str() {
        "info" => FollowUp::Info(body.note),
        "reopen" => FollowUp::Reopen(body.note),
        "rate" => FollowUp::Rate(body.level),
        _ => return Err(AppError::from(FeedbackError::Invalid("action 应为 info、reopen 或 rate".into()))),
    };
    state.feedback.follow_up(&ctx.actor(), &c, action).await?;
    Ok(Json(state.feedback.my_complaint(viewer.account.id, &number).await?.into()))
}
