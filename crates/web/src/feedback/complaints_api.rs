//! 投诉 in the API for the mobile app: signed in (making a complaint, the person's complaints, one
//! of them, adding information, reopening, rating the answer, the files), and without an account
//! (a challenge, an SMS code proving the number, the complaint, then following it by its number
//! and query password, each look-up counted like the web's). Files travel in Base64.

use super::complaints::subject_of;
use super::upload::{ApiFile, api_files};
use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::identity::register::code_request;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use govhall_feedback::FeedbackError;
use govhall_feedback::attachments::Owner;
use govhall_feedback::complaints::{Complainant, Complaint, FollowUp, NewComplaint, Via};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

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
    /// 附件（最多 5 个，PDF、OFD、PNG 或 JPG）
    #[serde(default)]
    files: Vec<ApiFile>,
}

impl ComplaintIn {
    fn into_new(self) -> Result<NewComplaint, AppError> {
        Ok(NewComplaint {
            subject: subject_of(&self.subject),
            subject_ref: self.subject_ref,
            category: self.category,
            body: self.body,
            publishable: self.publishable,
            files: api_files(self.files)?,
        })
    }
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
    /// 附件（查看一件投诉时给出；“我的投诉”列表中为空）
    files: Vec<FileOut>,
}

/// 投诉的一个附件。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FileOut {
    id: Uuid,
    /// 文件名
    name: String,
    content_type: String,
    /// 字节数
    size: i64,
    /// complainant 投诉人、staff 承办部门
    added_by: String,
    created_at: DateTime<Utc>,
}

/// A complaint with its files, as the API answers it.
async fn out(state: &AppState, c: Complaint) -> Result<Json<ComplaintOut>, AppError> {
    let files = state.feedback.attachments(Owner::Complaint(c.id)).await?;
    let mut out = ComplaintOut::from(c);
    out.files = files
        .into_iter()
        .map(|f| FileOut {
            id: f.id,
            name: f.file_name,
            content_type: f.content_type,
            size: f.size,
            added_by: f.added_by,
            created_at: f.created_at,
        })
        .collect();
    Ok(Json(out))
}

impl From<Complaint> for ComplaintOut {
    fn from(c: Complaint) -> Self {
        ComplaintOut {
            files: Vec::new(),
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
    let new = body.into_new()?;
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
    responses((status = 200, description = "投诉", body = ComplaintOut), (status = 404, description = "不存在或不是本人的：complaint_not_found")))]
pub(crate) async fn api_one(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(number): Path<String>,
) -> Result<Json<ComplaintOut>, AppError> {
    out(&state, state.feedback.my_complaint(viewer.account.id, &number).await?).await
}

#[utoipa::path(get, path = "/api/v1/me/complaints/{number}/files/{file}", tag = "投诉", summary = "下载本人投诉的附件",
    params(("number" = String, Path, description = "投诉编号"), ("file" = String, Path, description = "附件 id")),
    responses((status = 200, description = "文件（attachment）"), (status = 404, description = "不存在或不是本人的")))]
pub(crate) async fn api_file(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((number, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let c = state.feedback.my_complaint(viewer.account.id, &number).await?;
    send(&state, &c, &file).await
}

async fn send(state: &AppState, c: &Complaint, file: &str) -> Result<Response, AppError> {
    let file = Uuid::parse_str(file).map_err(|_| AppError::not_found())?;
    let (name, kind, bytes) = state.feedback.attachment(Owner::Complaint(c.id), file).await?;
    Ok(crate::download::attachment(&name, &kind, bytes))
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
    /// 补充情况的附件（最多 5 个），action 为 info 时
    #[serde(default)]
    files: Vec<ApiFile>,
}

impl FollowIn {
    fn into_follow_up(self) -> Result<FollowUp, AppError> {
        Ok(match self.action.as_str() {
            "info" => FollowUp::Info(self.note, api_files(self.files)?),
            "reopen" => FollowUp::Reopen(self.note),
            "rate" => FollowUp::Rate(self.level),
            _ => return Err(AppError::from(FeedbackError::Invalid("action 应为 info、reopen 或 rate".into()))),
        })
    }
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
    state.feedback.follow_up(&ctx.actor(), &c, body.into_follow_up()?).await?;
    out(&state, state.feedback.my_complaint(viewer.account.id, &number).await?).await
}

/// 一道计算题（发送验证码过于频繁时需要）。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChallengeOut {
    /// 题目
    challenge: String,
    /// 要求的前导零比特数：找一个十进制数 nonce，使 SHA-256(challenge + ":" + nonce) 至少有这么多前导零比特，
    /// 答案 proof 为 challenge + ":" + nonce，10 分钟内有效，只能用一次
    bits: u32,
}

#[utoipa::path(get, path = "/api/v1/challenge", tag = "投诉", summary = "取一道计算题",
    description = "发送验证码时若返回 challenge_required，先取题、算出答案，再带 proof 重发。",
    responses((status = 200, description = "题目", body = ChallengeOut)))]
pub(crate) async fn api_challenge(State(state): State<AppState>) -> Json<ChallengeOut> {
    let c = state.identity.challenge();
    Json(ChallengeOut { challenge: c.challenge, bits: c.bits })
}

/// 不登录投诉时验证手机号码。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CodeIn {
    /// 手机号码
    phone: String,
    /// 计算题的答案（需要时）
    #[serde(default)]
    proof: String,
}

#[utoipa::path(post, path = "/api/v1/complaints/code", tag = "投诉", summary = "发送投诉验证码（不登录）",
    request_body = CodeIn,
    responses((status = 204, description = "已发送，5 分钟内有效"),
        (status = 422, description = "号码有误：invalid_input"),
        (status = 429, description = "过于频繁：too_many_requests；需先答计算题：challenge_required")))]
pub(crate) async fn api_code(
    State(state): State<AppState>,
    ctx: RequestContext,
    Json(body): Json<CodeIn>,
) -> Result<StatusCode, AppError> {
    let request = code_request(&ctx, &body.proof);
    state.feedback.send_complaint_code(&body.phone, &request).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 不登录投诉。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AnonymousIn {
    #[serde(flatten)]
    complaint: ComplaintIn,
    /// 手机号码
    phone: String,
    /// 短信验证码
    code: String,
}

#[utoipa::path(post, path = "/api/v1/complaints", tag = "投诉", summary = "提交投诉（不登录）",
    description = "先用 /api/v1/complaints/code 验证手机号码；投诉对象不能是办件（办件须登录后投诉）。返回投诉编号和查询密码（只显示这一次）。",
    request_body = AnonymousIn,
    responses((status = 201, description = "已提交", body = MadeOut),
        (status = 400, description = "附件不是 PDF、OFD、PNG 或 JPG：invalid_attachment"),
        (status = 422, description = "验证码、类别、内容或投诉对象有误：invalid_input；附件超过 5 个：too_many_files；附件不是有效的 Base64：invalid_attachment")))]
pub(crate) async fn api_create_anonymous(
    State(state): State<AppState>,
    ctx: RequestContext,
    Json(body): Json<AnonymousIn>,
) -> Result<Response, AppError> {
    let who = Complainant::Phone { phone: body.phone, code: body.code };
    let made = state.feedback.complain(&ctx.actor(), &who, Via::App, &body.complaint.into_new()?).await?;
    let out =
        MadeOut { number: made.number, query_password: made.query_password, department_name: made.department_name };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// 投诉编号和查询密码。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PasswordIn {
    /// 查询密码
    password: String,
}

/// Finds a complaint by number and query password (counted like the web's look-ups).
async fn by_password(
    state: &AppState,
    ctx: &RequestContext,
    number: &str,
    password: &str,
) -> Result<Complaint, AppError> {
    Ok(state.feedback.complaint_by_password(number, password, &ctx.client_ip).await?)
}

#[utoipa::path(post, path = "/api/v1/complaints/{number}/lookup", tag = "投诉", summary = "按编号和查询密码查看投诉",
    params(("number" = String, Path, description = "投诉编号")), request_body = PasswordIn,
    responses((status = 200, description = "投诉", body = ComplaintOut),
        (status = 404, description = "编号或查询密码不对：complaint_not_found"),
        (status = 429, description = "失败次数过多：too_many_requests")))]
pub(crate) async fn api_lookup(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(number): Path<String>,
    Json(body): Json<PasswordIn>,
) -> Result<Json<ComplaintOut>, AppError> {
    out(&state, by_password(&state, &ctx, &number, &body.password).await?).await
}

/// 不登录时补充、重新办理或评价。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct PasswordFollowIn {
    /// 查询密码
    password: String,
    #[serde(flatten)]
    follow: FollowIn,
}

#[utoipa::path(post, path = "/api/v1/complaints/{number}/actions", tag = "投诉", summary = "补充、重新办理或评价（凭查询密码）",
    params(("number" = String, Path, description = "投诉编号")), request_body = PasswordFollowIn,
    responses((status = 200, description = "投诉", body = ComplaintOut),
        (status = 404, description = "编号或查询密码不对"),
        (status = 409, description = "当前状态不能这样做：evaluation_state"),
        (status = 422, description = "内容有误：invalid_input")))]
pub(crate) async fn api_act_by_password(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(number): Path<String>,
    Json(body): Json<PasswordFollowIn>,
) -> Result<Json<ComplaintOut>, AppError> {
    let c = by_password(&state, &ctx, &number, &body.password).await?;
    let actor = govhall_audit::Actor { id: None, label: "投诉人".into(), client_ip: ctx.client_ip.clone() };
    state.feedback.follow_up(&actor, &c, body.follow.into_follow_up()?).await?;
    out(&state, state.feedback.complaint_now(&c).await?).await
}

#[utoipa::path(post, path = "/api/v1/complaints/{number}/files/{file}", tag = "投诉", summary = "下载投诉的附件（凭查询密码）",
    params(("number" = String, Path, description = "投诉编号"), ("file" = String, Path, description = "附件 id")),
    request_body = PasswordIn,
    responses((status = 200, description = "文件（attachment）"), (status = 404, description = "编号、查询密码或附件不对")))]
pub(crate) async fn api_file_by_password(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path((number, file)): Path<(String, String)>,
    Json(body): Json<PasswordIn>,
) -> Result<Response, AppError> {
    let c = by_password(&state, &ctx, &number, &body.password).await?;
    send(&state, &c, &file).await
}
