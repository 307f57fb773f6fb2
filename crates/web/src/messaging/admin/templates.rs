//! Message templates: the latest versions, editing with a preview, the history.

use super::{render, time, with_status};
use crate::AppError;
use crate::auth::RequestContext;
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_core::Coded;
use govhall_messaging::Channel;
use govhall_messaging::templates::{self as store, NewTemplate};
use serde::Deserialize;
use uuid::Uuid;

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

pub(crate) async fn templates(ctx: RequestContext, State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let list = store::list_latest(&state.db).await.map_err(AppError::internal)?;
    render(TemplatesPage {
        page: Page::new(&state, "消息模板").with(&ctx),
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
    ctx: &RequestContext,
    form: TemplateForm,
    error: String,
    preview: Option<(String, String)>,
) -> Result<Html<String>, AppError> {
    let channel = Channel::parse(&form.channel);
    let placeholders = channel.and_then(|c| store::check(c, &form.subject, &form.body).ok()).unwrap_or_default();
    let history = match channel {
        Some(c) if !form.code.is_empty() => store::versions(&state.db, &form.code, c)
            .await
            .map_err(AppError::internal)?
            .into_iter()
            .map(|t| (t.version, time(t.created_at), t.created_by, t.note))
            .collect(),
        _ => Vec::new(),
    };
    render(TemplateFormPage {
        page: Page::new(state, "编辑消息模板").with(ctx),
        channels: Channel::ALL.iter().map(|c| (c.as_str(), c.label())).collect(),
        form,
        error,
        placeholders,
        preview,
        history,
    })
}

pub(crate) async fn template_form(
    ctx: RequestContext,
    State(state): State<AppState>,
    Query(q): Query<TemplateForm>,
) -> Result<Html<String>, AppError> {
    let mut form = q;
    if let Some(channel) = Channel::parse(&form.channel)
        && !form.code.is_empty()
    {
        let mut conn = state.db.conn().await?;
        if let Some(t) = store::latest(&mut conn, &form.code, channel).await.map_err(AppError::internal)? {
            form.subject = t.subject;
            form.body = t.body;
        }
    }
    form_page(&state, &ctx, form, String::new(), None).await
}

pub(crate) async fn save_template(
    ctx: RequestContext,
    State(state): State<AppState>,
    Form(form): Form<TemplateForm>,
) -> Result<Response, AppError> {
    let Some(channel) = Channel::parse(&form.channel) else {
        return Ok(with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            form_page(&state, &ctx, form, "请选择渠道".to_owned(), None).await?,
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
                        form_page(&state, &ctx, form, error, None).await?,
                    ));
                }
            }
        };
        let draft = store::Template {
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
        return match store::render(&draft, &sample) {
            Ok(preview) => Ok(form_page(&state, &ctx, form, String::new(), Some(preview)).await?.into_response()),
            Err(e) => Ok(with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                form_page(&state, &ctx, form, e.message(), None).await?,
            )),
        };
    }
    let new = NewTemplate {
        code: form.code.clone(),
        channel,
        subject: form.subject.clone(),
        body: form.body.clone(),
        note: form.note.clone(),
        created_by: ctx.actor().label,
    };
    match store::create_version(&state.db, new, &ctx.actor()).await {
        Ok(t) => Ok(Redirect::to(&format!("/admin/templates/new?code={}&channel={}", t.code, t.channel.as_str()))
            .into_response()),
        Err(govhall_messaging::MessagingError::Db(e)) => Err(AppError::internal(e)),
        Err(e) => {
            Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, form_page(&state, &ctx, form, e.message(), None).await?))
        }
    }
}
