//! The delivery log and one message: its content, its transitions, retry and cancel.

use super::{render, time};
use crate::AppError;
use crate::auth::RequestContext;
use crate::html::parse_day;
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, Redirect};
use govhall_messaging::store::{self, MessageFilter};
use govhall_messaging::{Channel, Message, MessageStatus, Recipient};
use serde::Deserialize;
use uuid::Uuid;

const PAGE_SIZE: i64 = 50;

struct Row {
    id: String,
    created: String,
    channel: &'static str,
    template: String,
    recipient: String,
    status: &'static str,
    status_code: &'static str,
    attempts: i32,
    sandbox: bool,
}

impl From<&Message> for Row {
    fn from(m: &Message) -> Self {
        Row {
            id: m.id.to_string(),
            created: time(m.created_at),
            channel: m.channel.label(),
            template: format!("{} v{}", m.template_code, m.template_version),
            recipient: m.masked_recipient(),
            status: m.status.label(),
            status_code: m.status.as_str(),
            attempts: m.attempts,
            sandbox: m.provider.as_deref() == Some("sandbox"),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/messages.html")]
struct MessagesPage {
    page: Page,
    rows: Vec<Row>,
    q: LogQuery,
    channels: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    error: String,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct LogQuery {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: Option<u32>,
}

impl LogQuery {
    fn link(&self, page: u32) -> String {
        let enc =
            |s: &str| {
                s.bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b == b'-' {
                            (b as char).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect::<String>()
            };
        format!(
            "/admin/messages?channel={}&status={}&recipient={}&from={}&to={}&page={page}",
            enc(&self.channel),
            enc(&self.status),
            enc(&self.recipient),
            enc(&self.from),
            enc(&self.to)
        )
    }
}

/// Builds the filter; a field that cannot be read becomes a message beside the form.
fn filter(q: &LogQuery) -> Result<MessageFilter, String> {
    let channel = match q.channel.as_str() {
        "" => None,
        c => Some(Channel::parse(c).ok_or("未知的渠道")?),
    };
    let status = match q.status.as_str() {
        "" => None,
        s => Some(MessageStatus::parse(s).ok_or("未知的状态")?),
    };
    let recipient = match q.recipient.trim() {
        "" => None,
        r => {
            // Typed the way people write it: find the stored form for the channel it fits.
            let guess = channel.into_iter().chain([Channel::Sms, Channel::Email, Channel::Inbox, Channel::Wechat]);
            Some(
                guess
                    .filter_map(|c| Recipient::parse(c, r).ok())
                    .map(|r| r.as_stored())
                    .next()
                    .unwrap_or_else(|| r.to_owned()),
            )
        }
    };
    let from = parse_day("起始日期", &q.from)?;
    let to = parse_day("截止日期", &q.to)?.map(|d| d + chrono::Duration::days(1));
    Ok(MessageFilter { channel, recipient, status, from, to })
}

pub(crate) async fn messages(
    ctx: RequestContext,
    State(state): State<AppState>,
    Query(q): Query<LogQuery>,
) -> Result<Html<String>, AppError> {
    let page_no = q.page.unwrap_or(1).max(1);
    let (rows, error) = match filter(&q) {
        Ok(f) => {
            let found = store::search(&state.db, &f, PAGE_SIZE + 1, i64::from(page_no - 1) * PAGE_SIZE)
                .await
                .map_err(AppError::internal)?;
            (found, String::new())
        }
        Err(e) => (Vec::new(), e),
    };
    let has_more = rows.len() as i64 > PAGE_SIZE;
    let rows: Vec<Row> = rows.iter().take(PAGE_SIZE as usize).map(Row::from).collect();
    render(MessagesPage {
        page: Page::new(&state, "消息发送记录").with(&ctx),
        rows,
        prev: (page_no > 1).then(|| q.link(page_no - 1)),
        next: has_more.then(|| q.link(page_no + 1)),
        channels: Channel::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
        statuses: MessageStatus::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        q,
        error,
    })
}

#[derive(Template)]
#[template(path = "admin/message.html")]
struct MessagePage {
    page: Page,
    row: Row,
    subject: String,
    body: String,
    send_at: String,
    provider_id: String,
    last_error: String,
    events: Vec<(String, String, String)>,
    can_retry: bool,
    can_cancel: bool,
}

fn parse_id(id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(id).map_err(|_| AppError::not_found())
}

pub(crate) async fn message(
    ctx: RequestContext,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let id = parse_id(&id)?;
    let mut conn = state.db.conn().await?;
    let m = store::get(&mut conn, id).await.map_err(AppError::internal)?.ok_or_else(AppError::not_found)?;
    drop(conn);
    let events = store::events(&state.db, id).await.map_err(AppError::internal)?;
    // Verification codes are secrets: administrators see that one was sent, not which.
    let body = if m.is_verification { "（验证码内容不予显示）".to_owned() } else { m.body.clone() };
    let subject = if m.is_verification { String::new() } else { m.subject.clone() };
    render(MessagePage {
        page: Page::new(&state, "消息详情").with(&ctx),
        row: Row::from(&m),
        subject,
        body,
        send_at: time(m.send_at),
        provider_id: m.provider_message_id.clone().unwrap_or_default(),
        last_error: m.last_error.clone().unwrap_or_default(),
        events: events
            .into_iter()
            .map(|e| {
                (
                    time(e.at),
                    MessageStatus::parse(&e.status).map_or(e.status.clone(), |s| s.label().to_owned()),
                    e.detail,
                )
            })
            .collect(),
        can_retry: m.status.is_failure(),
        can_cancel: m.status == MessageStatus::Created,
    })
}

pub(crate) async fn retry(
    ctx: RequestContext,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Redirect, AppError> {
    let actor = ctx.actor();
    act(&id, async |id| govhall_messaging::retry(&state.db, &state.messaging, id, &actor).await).await
}

pub(crate) async fn cancel(
    ctx: RequestContext,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Redirect, AppError> {
    let actor = ctx.actor();
    act(&id, async |id| govhall_messaging::cancel(&state.db, id, "管理员取消", &actor).await).await
}

/// An administrator's action on one message from its page (the message center audits it), then
/// back to the page.
async fn act(
    id: &str,
    action: impl AsyncFnOnce(Uuid) -> Result<(), govhall_messaging::MessagingError>,
) -> Result<Redirect, AppError> {
    let id = parse_id(id)?;
    action(id).await.map_err(|e| coded(&e))?;
    Ok(Redirect::to(&format!("/admin/messages/{id}")))
}

fn coded(e: &govhall_messaging::MessagingError) -> AppError {
    match e {
        govhall_messaging::MessagingError::Db(_) => AppError::internal(e.to_string()),
        govhall_messaging::MessagingError::NotFound => AppError::not_found(),
        _ => AppError::coded(StatusCode::CONFLICT, e),
    }
}
