//! 我的消息: the account's in-site messages (站内信) a page at a time, marking one or all read;
//! the unread count every page's header shows; the same through the API.

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_messaging::inbox;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const PER_PAGE: i64 = 20;

fn internal(e: govhall_messaging::MessagingError) -> AppError {
    AppError::internal(e)
}

struct Row {
    id: Uuid,
    subject: String,
    body: String,
    at: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "messaging/inbox.html")]
struct InboxPage {
    page: Page,
    rows: Vec<Row>,
    unread: i64,
    number: i64,
    more: bool,
    notice: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct PageQuery {
    /// 页码（从 1 起）
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    #[param(ignore)]
    done: Option<String>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<PageQuery>,
) -> Result<Html<String>, AppError> {
    let number = q.page.unwrap_or(1).clamp(1, 10_000);
    let account = viewer.account.id.as_uuid();
    let mut found = inbox::list(&state.db, account, PER_PAGE + 1, (number - 1) * PER_PAGE).await.map_err(internal)?;
    let more = found.len() as i64 > PER_PAGE;
    found.truncate(PER_PAGE as usize);
    let unread = inbox::unread_count(&state.db, account).await.map_err(internal)?;
    let notice = match q.done.as_deref() {
        Some("read") => "已标为已读",
        Some("all") => "全部消息已标为已读",
        _ => "",
    };
    let rows = found
        .into_iter()
        .map(|m| Row {
            id: m.id,
            subject: m.subject,
            body: m.body,
            at: time(m.created_at),
            unread: m.read_at.is_none(),
        })
        .collect();
    render(InboxPage {
        page: Page::new(&state, "我的消息").with(&ctx),
        rows,
        unread,
        number,
        more,
        notice: notice.to_owned(),
    })
}

pub(crate) async fn read_one(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    if !inbox::mark_read(&state.db, viewer.account.id.as_uuid(), id).await.map_err(internal)? {
        return Err(AppError::not_found());
    }
    Ok(Redirect::to("/account/messages?done=read").into_response())
}

pub(crate) async fn read_all(
    State(state): State<AppState>,
    SignedIn(viewer, _ctx): SignedIn,
) -> Result<Response, AppError> {
    inbox::mark_all_read(&state.db, viewer.account.id.as_uuid()).await.map_err(internal)?;
    Ok(Redirect::to("/account/messages?done=all").into_response())
}

/// 一条站内消息。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessageOut {
    /// 消息 id
    id: Uuid,
    /// 标题
    subject: String,
    /// 正文
    body: String,
    /// 时间（RFC 3339）
    created_at: String,
    /// 阅读时间；未读为空
    read_at: Option<String>,
}

/// 我的消息（一页）。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InboxOut {
    /// 未读条数
    unread: i64,
    /// 本页消息，新的在前（每页 20 条）
    messages: Vec<MessageOut>,
    /// 是否还有下一页
    more: bool,
}

#[utoipa::path(get, path = "/api/v1/me/messages", tag = "我的消息",
    summary = "我的站内消息", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "一页消息和未读条数", body = InboxOut)))]
pub(crate) async fn api_list(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Query(q): Query<PageQuery>,
) -> Result<Json<InboxOut>, AppError> {
    let number = q.page.unwrap_or(1).clamp(1, 10_000);
    let account = viewer.account.id.as_uuid();
    let mut found = inbox::list(&state.db, account, PER_PAGE + 1, (number - 1) * PER_PAGE).await.map_err(internal)?;
    let more = found.len() as i64 > PER_PAGE;
    found.truncate(PER_PAGE as usize);
    Ok(Json(InboxOut {
        unread: inbox::unread_count(&state.db, account).await.map_err(internal)?,
        messages: found
            .into_iter()
            .map(|m| MessageOut {
                id: m.id,
                subject: m.subject,
                body: m.body,
                created_at: m.created_at.to_rfc3339(),
                read_at: m.read_at.map(|t| t.to_rfc3339()),
            })
            .collect(),
        more,
    }))
}

#[utoipa::path(post, path = "/api/v1/me/messages/{id}/read", tag = "我的消息",
    summary = "标为已读", security(("bearer" = [])), params(("id" = Uuid, Path, description = "消息 id")),
    responses((status = 204, description = "已标为已读"), (status = 404, description = "不存在或不是本人的消息：not_found")))]
pub(crate) async fn api_read_one(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    if !inbox::mark_read(&state.db, viewer.account.id.as_uuid(), id).await.map_err(internal)? {
        return Err(AppError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// 标为已读的条数。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MarkedOut {
    /// 此前未读、现标为已读的条数
    marked: u64,
}

#[utoipa::path(post, path = "/api/v1/me/messages/read-all", tag = "我的消息",
    summary = "全部标为已读", security(("bearer" = [])),
    responses((status = 200, description = "标为已读的条数", body = MarkedOut)))]
pub(crate) async fn api_read_all(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
) -> Result<Json<MarkedOut>, AppError> {
    let marked = inbox::mark_all_read(&state.db, viewer.account.id.as_uuid()).await.map_err(internal)?;
    Ok(Json(MarkedOut { marked }))
}
