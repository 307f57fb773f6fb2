//! `/admin/exchange`: each connection the manager's `exchange.manage` reaches (mode, last
//! contact, cases waiting, refusals, late or not) and the exchange log, searched by case,
//! department and problems.

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{DateTime, Utc};
use govhall_exchange::connect::LinkState;
use govhall_exchange::log::{LogEntry, LogFilter};
use govhall_identity::DepartmentId;
use serde::Deserialize;

const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "exchange/admin.html")]
struct AdminPage {
    page: Page,
    links: Vec<LinkState>,
    now: DateTime<Utc>,
    entries: Vec<LogEntry>,
    serial: String,
    department: String,
    problems: bool,
    older: Option<String>,
}

impl AdminPage {
    fn time(&self, at: &DateTime<Utc>) -> String {
        time(*at)
    }

    fn maybe_time(&self, at: &Option<DateTime<Utc>>) -> String {
        at.map(time).unwrap_or_else(|| "—".into())
    }

    fn short(&self, hash: &str) -> String {
        hash.chars().take(16).collect()
    }
}

/// The page's search.
#[derive(Debug, Deserialize)]
pub(crate) struct LogQuery {
    #[serde(default)]
    serial: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    problems: String,
    #[serde(default)]
    before: String,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<LogQuery>,
) -> Result<Html<String>, AppError> {
    let links = state.exchange.states(&viewer.access).await?;
    let serial: String = q.serial.trim().chars().filter(char::is_ascii_digit).take(20).collect();
    let department = q.department.trim().parse::<DepartmentId>().ok();
    let problems = q.problems == "1";
    let before = q.before.trim().parse::<uuid::Uuid>().ok();
    let filter = LogFilter {
        serial: (!serial.is_empty()).then(|| serial.clone()),
        department,
        problems_only: problems,
        before,
        limit: PAGE,
    };
    let entries = state.exchange.log(&viewer.access, &filter).await?;
    let older = (i64::try_from(entries.len()).unwrap_or(0) == PAGE).then(|| entries.last()).flatten().map(|e| {
        // Digits and an id only: nothing to escape.
        let mut query = format!("before={}", e.id);
        if !serial.is_empty() {
            query.push_str(&format!("&serial={serial}"));
        }
        if let Some(d) = department {
            query.push_str(&format!("&department={d}"));
        }
        if problems {
            query.push_str("&problems=1");
        }
        query
    });
    render(AdminPage {
        page: Page::new(&state, "部门系统对接").with(&ctx),
        links,
        now: state.db.now(),
        entries,
        serial,
        department: department.map(|d| d.to_string()).unwrap_or_default(),
        problems,
        older,
    })
}
