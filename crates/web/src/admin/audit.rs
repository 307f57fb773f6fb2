//! The audit log, searched by the audit administrator; read-only.

use crate::AppError;
use crate::auth::RequestContext;
use crate::html::{parse_day, render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use govhall_identity::AccountId;
use govhall_identity::audit::{self, Filter};
use serde::Deserialize;

struct Row {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    client_ip: String,
    result: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    page: Page,
    q: AuditQuery,
    rows: Vec<Row>,
    error: String,
    next: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    offset: i64,
}

const PAGE: i64 = 100;

pub(crate) async fn search(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, AppError> {
    let mut errors = Vec::new();
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let actor = match opt(&q.actor) {
        Some(a) => match a.parse::<AccountId>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push("操作人应为账号编号".to_owned());
                None
            }
        },
        None => None,
    };
    let from = parse_day("开始日期", &q.from).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let until = parse_day("结束日期", &q.to).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let filter = Filter {
        actor,
        action: opt(&q.action),
        target_id: opt(&q.target),
        result: opt(&q.result),
        from,
        until: until.map(|u| u + chrono::Duration::days(1)),
    };
    let offset = q.offset.max(0);
    let entries =
        if errors.is_empty() { audit::search(&state.db, &filter, PAGE + 1, offset).await? } else { Vec::new() };
    let next = (entries.len() as i64 > PAGE).then_some(offset + PAGE);
    let rows = entries
        .into_iter()
        .take(PAGE as usize)
        .map(|e| Row {
            seq: e.seq,
            at: time(e.at),
            actor: e.actor_label,
            action: e.action,
            target: if e.target_kind.is_empty() { String::new() } else { format!("{}:{}", e.target_kind, e.target_id) },
            client_ip: e.client_ip,
            result: match e.result.as_str() {
                "success" => "成功",
                "failure" => "失败",
                _ => "拒绝",
            }
            .to_owned(),
            detail: e.detail,
        })
        .collect();
    render(AuditPage { page: Page::new(&state, "审计日志").with(&ctx), q, rows, error: errors.join("；"), next })
}
