//! 我的待办: what a person's own cases and each of their enterprises' cases wait for from them,
//! soonest deadline first, with what was done lately; the same through the API.

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use govhall_cases::tasks::{DoneTask, Task, Whose};
use govhall_identity::EnterpriseId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const HISTORY: i64 = 20;

struct TaskRow {
    serial: String,
    item: String,
    department: String,
    label: &'static str,
    hint: &'static str,
    step: String,
    since: String,
    due: String,
    left: String,
    overdue: bool,
}

struct DoneRow {
    serial: String,
    item: String,
    label: String,
    actor: String,
    at: String,
}

struct Section {
    title: String,
    tasks: Vec<TaskRow>,
    /// Finished cases waiting for a rating (好差评): serial, item, rateable until.
    to_rate: Vec<(String, String, String)>,
    history: Vec<DoneRow>,
}

#[derive(Template)]
#[template(path = "cases/tasks.html")]
struct TasksPage {
    page: Page,
    sections: Vec<Section>,
}

fn left_label(t: &Task) -> (String, bool) {
    match t.working_days_left {
        Some(n) if n < 0 => (format!("已超期 {} 个工作日", -n), true),
        Some(0) => ("今天到期".into(), false),
        Some(n) => (format!("剩余 {n} 个工作日"), false),
        None => ("未设期限".into(), false),
    }
}

fn task_row(t: Task) -> TaskRow {
    let (left, overdue) = left_label(&t);
    TaskRow {
        label: t.kind.label(),
        hint: t.kind.hint(),
        due: t.due_on.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        since: time(t.since),
        serial: t.serial_number,
        item: t.item_name,
        department: t.department_name,
        step: t.step_name,
        left,
        overdue,
    }
}

fn done_row(d: DoneTask) -> DoneRow {
    DoneRow { serial: d.serial_number, item: d.item_name, label: d.label, actor: d.actor_name, at: time(d.at) }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<axum::response::Html<String>, AppError> {
    let me = viewer.account.id;
    let mut whose = vec![("我的办件".to_owned(), Whose::Person(me))];
    for m in state.identity.memberships_of(me).await? {
        if m.status == "active" {
            whose.push((
                format!("企业办件：{}", m.enterprise_name),
                Whose::Enterprise(EnterpriseId::from_uuid(m.enterprise_id)),
            ));
        }
    }
    let mut sections = Vec::new();
    for (title, w) in whose {
        let tasks = state.cases.tasks(me, w).await?.into_iter().map(task_row).collect();
        let history = state.cases.task_history(me, w, HISTORY).await?.into_iter().map(done_row).collect();
        let to_rate = state
            .feedback
            .to_rate(me, w)
            .await?
            .into_iter()
            .map(|r| (r.serial_number, r.item_name, time(r.expires_at)))
            .collect();
        sections.push(Section { title, tasks, to_rate, history });
    }
    render(TasksPage { page: Page::new(&state, "我的待办").with(&ctx), sections })
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct WhoseQuery {
    /// 企业 id：查看该企业办件的待办（须为该企业有效成员）；不填为本人办件
    #[serde(default)]
    enterprise: Option<Uuid>,
}

/// 一项待办。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaskOut {
    /// 申办编号
    serial_number: String,
    /// 事项名称
    item_name: String,
    /// 办理部门
    department_name: String,
    /// supplement（补齐补正）、pay（缴费）或 collect（领取办理结果）
    kind: String,
    /// 待办事项
    label: String,
    /// 当前环节
    step_name: String,
    /// 等待开始时间（RFC 3339）
    since: String,
    /// 环节期限（YYYY-MM-DD）；未设期限为空
    due_on: Option<String>,
    /// 距期限的工作日数（当天为 0，超期为负）；未设期限为空
    working_days_left: Option<i64>,
}

/// 已办。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DoneOut {
    /// 申办编号
    serial_number: String,
    /// 事项名称
    item_name: String,
    /// 所办事项（提交补正材料、缴费成功等）
    label: String,
    /// 办理人
    actor_name: String,
    /// 时间（RFC 3339）
    at: String,
}

/// 待办与近期已办。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TasksOut {
    /// 待办，期限近的在前
    tasks: Vec<TaskOut>,
    /// 近期已办（最多 20 条），新的在前
    history: Vec<DoneOut>,
}

#[utoipa::path(get, path = "/api/v1/me/tasks", tag = "办件",
    summary = "我的待办", security(("bearer" = [])), params(WhoseQuery),
    description = "本人（或指定企业）办理中的办件等待申请人做的事：补齐补正、缴费、领取办理结果，附环节期限和剩余工作日；以及近期已办。",
    responses((status = 200, description = "待办与近期已办", body = TasksOut),
        (status = 404, description = "不是该企业的有效成员：case_not_found")))]
pub(crate) async fn api(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Query(q): Query<WhoseQuery>,
) -> Result<Json<TasksOut>, AppError> {
    let me = viewer.account.id;
    let whose = match q.enterprise {
        Some(e) => Whose::Enterprise(EnterpriseId::from_uuid(e)),
        None => Whose::Person(me),
    };
    let tasks = state
        .cases
        .tasks(me, whose)
        .await?
        .into_iter()
        .map(|t| TaskOut {
            kind: serde_json::to_value(t.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            label: t.kind.label().to_owned(),
            since: t.since.to_rfc3339(),
            due_on: t.due_on.map(|d| d.to_string()),
            working_days_left: t.working_days_left,
            serial_number: t.serial_number,
            item_name: t.item_name,
            department_name: t.department_name,
            step_name: t.step_name,
        })
        .collect();
    let history = state
        .cases
        .task_history(me, whose, HISTORY)
        .await?
        .into_iter()
        .map(|d| DoneOut {
            at: d.at.to_rfc3339(),
            serial_number: d.serial_number,
            item_name: d.item_name,
            label: d.label,
            actor_name: d.actor_name,
        })
        .collect();
    Ok(Json(TasksOut { tasks, history }))
}
