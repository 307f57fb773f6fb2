//! The message center's admin pages: the delivery log, one message with its transitions, retry
//! and cancel, and the templates with their versions.

use crate::AppError;
use crate::admin_auth::{Admin, constant_time_eq, cookie_value, is_https, safe_next, same_origin, set_cookie};
use crate::error::KeepBody;
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use govhall_core::Coded;
use govhall_messaging::store::{self, MessageFilter};
use govhall_messaging::templates::{self, NewTemplate};
use govhall_messaging::{Channel, Message, MessageStatus, Recipient};
use serde::Deserialize;
use uuid::Uuid;

const PAGE_SIZE: i64 = 50;

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()))
}

fn time(at: DateTime<Utc>) -> String {
    at.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn render(page: impl Template) -> Result<Html<String>, AppError> {
    Ok(Html(page.render().map_err(AppError::internal)?))
}

/// A page answered with an error status (a form with its errors): the page is the answer, so
/// the error renderer leaves it alone.
fn with_status(status: StatusCode, page: Html<String>) -> Response {
    let mut response = (status, page).into_response();
    response.extensions_mut().insert(KeepBody);
    response
}

// ---- login ----

#[derive(Template)]
#[template(path = "admin/login.html")]
struct LoginPage {
    page: Page,
    next: String,
    error: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

pub(crate) async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<LoginQuery>,
) -> Result<Html<String>, AppError> {
    render(LoginPage {
        page: Page::new(&state, "管理员登录"),
        next: safe_next(q.next.as_deref().unwrap_or_default()).to_owned(),
        error: String::new(),
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    token: String,
    next: Option<String>,
}

pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    same_origin(&headers)?;
    let token = &state.web.admin_token;
    let next = safe_next(form.next.as_deref().unwrap_or_default()).to_owned();
    if token.is_empty() {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "admin_disabled",
            "管理后台未启用：请在配置中设置 web.admin_token",
        ));
    }
    if !state.admin_logins.allowed() {
        let page = LoginPage {
            page: Page::new(&state, "管理员登录"),
            next,
            error: "登录失败次数过多，请15分钟后再试".to_owned(),
        };
        return Ok(with_status(StatusCode::TOO_MANY_REQUESTS, render(page)?));
    }
    if !constant_time_eq(form.token.trim().as_bytes(), token.expose().as_bytes()) {
        state.admin_logins.failed();
        tracing::warn!("admin login with a wrong token");
        let page = LoginPage { page: Page::new(&state, "管理员登录"), next, error: "令牌不正确".to_owned() };
        return Ok(with_status(StatusCode::UNAUTHORIZED, render(page)?));
    }
    let mut response = Redirect::to(&next).into_response();
    let cookie = set_cookie(Some(&cookie_value(token.expose(), state.db.now().timestamp())), is_https(&headers));
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(AppError::internal)?);
    Ok(response)
}

pub(crate) async fn logout(headers: HeaderMap) -> Result<Response, AppError> {
    same_origin(&headers)?;
    let mut response = Redirect::to("/admin/login").into_response();
    let cookie = set_cookie(None, is_https(&headers));
    response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(AppError::internal)?);
    Ok(response)
}

// ---- the delivery log ----

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

fn parse_day(field: &str, s: &str) -> Result<Option<DateTime<Utc>>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let day =
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("{field}应为 YYYY-MM-DD 格式的日期"))?;
    Ok(china()
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|d| d.with_timezone(&Utc)))
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
    _: Admin,
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
        page: Page::new(&state, "消息发送记录"),
        rows,
        prev: (page_no > 1).then(|| q.link(page_no - 1)),
        next: has_more.then(|| q.link(page_no + 1)),
        channels: Channel::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
        statuses: MessageStatus::ALL.iter().map(|s| (s.as_str(), s.label())).collect(),
        q,
        error,
    })
}

// ---- one message ----

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
    _: Admin,
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
        page: Page::new(&state, "消息详情"),
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
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Redirect, AppError> {
    same_origin(&headers)?;
    let id = parse_id(&id)?;
    govhall_messaging::retry(&state.db, &state.messaging, id, "管理员").await.map_err(|e| coded(&e))?;
    tracing::info!(message.id = %id, "administrator retried a message");
    Ok(Redirect::to(&format!("/admin/messages/{id}")))
}

pub(crate) async fn cancel(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Redirect, AppError> {
    same_origin(&headers)?;
    let id = parse_id(&id)?;
    govhall_messaging::cancel(&state.db, id, "管理员取消").await.map_err(|e| coded(&e))?;
    Ok(Redirect::to(&format!("/admin/messages/{id}")))
}

fn coded(e: &govhall_messaging::MessagingError) -> AppError {
    match e {
        govhall_messaging::MessagingError::Db(_) => AppError::internal(e.to_string()),
        govhall_messaging::MessagingError::NotFound => AppError::not_found(),
        _ => AppError::coded(StatusCode::CONFLICT, e),
    }
}

// ---- templates ----

struct TemplateRow {
    code: String,
    channel: &'static str,
    channel_code: &'static str,
    version: i32,
    subject: String,
    created: String,
    created_by: String,
}

#[derive(Template)]
#[template(path = "admin/templates.html")]
struct TemplatesPage {
    page: Page,
    rows: Vec<TemplateRow>,
}

pub(crate) async fn templates(_: Admin, State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let list = templates::list_latest(&state.db).await.map_err(AppError::internal)?;
    render(TemplatesPage {
        page: Page::new(&state, "消息模板"),
        rows: list
            .into_iter()
            .map(|t| TemplateRow {
                code: t.code,
                channel: t.channel.label(),
                channel_code: t.channel.as_str(),
                version: t.version,
                subject: t.subject,
                created: time(t.created_at),
                created_by: t.created_by,
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "admin/template_form.html")]
struct TemplateFormPage {
    page: Page,
    form: TemplateForm,
    channels: Vec<(&'static str, &'static str)>,
    error: String,
    placeholders: Vec<String>,
    preview: Option<(String, String)>,
    history: Vec<(i32, String, String, String)>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct TemplateForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    note: String,
    /// Sample values for the preview, as JSON.
    #[serde(default)]
    sample: String,
    /// `preview` or `save`.
    #[serde(default)]
    action: String,
}

async fn form_page(
    state: &AppState,
    form: TemplateForm,
    error: String,
    preview: Option<(String, String)>,
) -> Result<Html<String>, AppError> {
    let channel = Channel::parse(&form.channel);
    let placeholders = channel.and_then(|c| templates::check(c, &form.subject, &form.body).ok()).unwrap_or_default();
    let history = match channel {
        Some(c) if !form.code.is_empty() => templates::versions(&state.db, &form.code, c)
            .await
            .map_err(AppError::internal)?
            .into_iter()
            .map(|t| (t.version, time(t.created_at), t.created_by, t.note))
            .collect(),
        _ => Vec::new(),
    };
    render(TemplateFormPage {
        page: Page::new(state, "编辑消息模板"),
        channels: Channel::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
        form,
        error,
        placeholders,
        preview,
        history,
    })
}

pub(crate) async fn template_form(
    _: Admin,
    State(state): State<AppState>,
    Query(q): Query<TemplateForm>,
) -> Result<Html<String>, AppError> {
    let mut form = q;
    if let Some(channel) = Channel::parse(&form.channel)
        && !form.code.is_empty()
    {
        let mut conn = state.db.conn().await?;
        if let Some(t) = templates::latest(&mut conn, &form.code, channel).await.map_err(AppError::internal)? {
            form.subject = t.subject;
            form.body = t.body;
        }
    }
    form_page(&state, form, String::new(), None).await
}

pub(crate) async fn save_template(
    _: Admin,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<TemplateForm>,
) -> Result<Response, AppError> {
    same_origin(&headers)?;
    let Some(channel) = Channel::parse(&form.channel) else {
        return Ok(with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&state, form, "请选择渠道".to_owned(), None).await?,
        ));
    };
    if form.action == "preview" {
        let sample: serde_json::Value = if form.sample.trim().is_empty() {
            serde_json::json!({})
        } else {
            match serde_json::from_str(&form.sample) {
                Ok(v) => v,
                Err(_) => {
                    let error = "示例参数应为 JSON 对象，例如 {\"name\": \"张三\"}".to_owned();
                    return Ok(with_status(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        form_page(&state, form, error, None).await?,
                    ));
                }
            }
        };
        let draft = templates::Template {
            id: Uuid::nil(),
            code: form.code.clone(),
            channel,
            version: 0,
            subject: form.subject.clone(),
            body: form.body.clone(),
            note: String::new(),
            created_by: String::new(),
            created_at: state.db.now(),
        };
        return match templates::render(&draft, &sample) {
            Ok(preview) => Ok(form_page(&state, form, String::new(), Some(preview)).await?.into_response()),
            Err(e) => {
                Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, form_page(&state, form, e.message(), None).await?))
            }
        };
    }
    let new = NewTemplate {
        code: form.code.clone(),
        channel,
        subject: form.subject.clone(),
        body: form.body.clone(),
        note: form.note.clone(),
        created_by: "管理员".to_owned(),
    };
    match templates::create_version(&state.db, new).await {
        Ok(t) => Ok(Redirect::to(&format!("/admin/templates/new?code={}&channel={}", t.code, t.channel.as_str()))
            .into_response()),
        Err(govhall_messaging::MessagingError::Db(e)) => Err(AppError::internal(e)),
        Err(e) => Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, form_page(&state, form, e.message(), None).await?)),
    }
}
