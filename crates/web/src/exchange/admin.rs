//! `/admin/exchange`: each connection the manager's `exchange.manage` reaches (mode, last
//! contact, cases waiting, refusals, late or not), the rows of front databases that could not
//! be applied (each with a button to take it again), and the exchange log, searched by case,
//! department and problems.

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use govhall_exchange::connect::LinkState;
use govhall_exchange::front_db::FailedRow;
use govhall_exchange::log::{LogEntry, LogFilter};
use govhall_identity::DepartmentId;
use serde::Deserialize;

const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "exchange/admin.html")]
struct AdminPage {
    page: Page,
    links: Vec<LinkState>,
    fronts: Vec<FrontView>,
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

/// A front database's state and the rows it could not apply.
struct FrontView {
    department_id: uuid::Uuid,
    department_name: String,
    last_sync_at: Option<DateTime<Utc>>,
    last_sync_error: Option<String>,
    /// The failed rows, or why they could not be read.
    rows: Result<Vec<FailedRow>, String>,
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
    let mut fronts = Vec::new();
    for l in links.iter().filter(|l| l.mode() == govhall_exchange::connect::Mode::FrontDb && l.active) {
        let rows = state
            .exchange
            .failed_rows(&viewer.access, DepartmentId::from_uuid(l.department_id))
            .await
            .map_err(|e| govhall_core::Coded::message(&e));
        fronts.push(FrontView {
            department_id: l.department_id,
            department_name: l.department_name.clone(),
            last_sync_at: l.last_sync_at,
            last_sync_error: l.last_sync_error.clone(),
            rows,
        });
    }
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
        fronts,
        now: state.db.now(),
        entries,
        serial,
        department: department.map(|d| d.to_string()).unwrap_or_default(),
        problems,
        older,
    })
}

/// Has a failed row of a department's front database taken again at the next visit.
pub(crate) async fn retry(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path((department, row)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let department = department
        .parse::<DepartmentId>()
        .map_err(|_| AppError::from(govhall_exchange::ExchangeError::NotFound("前置库对接")))?;
    state.exchange.retry_row(&viewer.access, &ctx.actor(), department, row).await?;
    Ok(Redirect::to(&format!("/admin/exchange?department={department}#front-h")).into_response())
}
