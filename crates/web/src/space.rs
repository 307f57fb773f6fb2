//! 我的空间 / 企业空间: the personal center in one place — how many cases and what waits for
//! the person or the enterprise, the latest cases, an enterprise's project dossiers, and the
//! counts of messages, materials, licences, bookings and payments, each linking to its page;
//! the same in the API for the mobile app. Whose space it is comes from `?enterprise=` (an
//! enterprise the viewer is an active member of) or is the person's own.

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use govhall_applications::library::Owner;
use govhall_cases::home::{HOME_ROWS, Home};
use govhall_cases::tasks::Whose;
use govhall_identity::{AccountId, EnterpriseId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Whose page: the person's own, or an enterprise's.
#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct WhoseQuery {
    /// 企业 id：查看该企业的（须为该企业有效成员）；不填为本人的
    #[serde(default)]
    pub(crate) enterprise: Option<Uuid>,
}

/// Whose, with the name the page shows; an enterprise the viewer is not an active member of
/// answers as not found.
pub(crate) async fn whose(state: &AppState, me: AccountId, q: &WhoseQuery) -> Result<(Whose, String), AppError> {
    Ok(match q.enterprise {
        Some(e) => {
            let id = EnterpriseId::from_uuid(e);
            let name = match state.identity.membership(id, me).await? {
                Some(m) if m.status == "active" => m.enterprise_name,
                _ => return Err(AppError::not_found()),
            };
            (Whose::Enterprise(id), name)
        }
        None => (Whose::Person(me), "我的办件".to_owned()),
    })
}

/// The switch between the person's own and each enterprise's: (href, label, selected).
pub(crate) async fn choices(
    state: &AppState,
    me: AccountId,
    path: &str,
    own: &str,
    chosen: Option<Uuid>,
) -> Result<Vec<(String, String, bool)>, AppError> {
    let mut out = vec![(path.to_owned(), own.to_owned(), chosen.is_none())];
    for m in state.identity.memberships_of(me).await? {
        if m.status == "active" {
            let selected = chosen == Some(m.enterprise_id);
            out.push((format!("{path}?enterprise={}", m.enterprise_id), m.enterprise_name, selected));
        }
    }
    Ok(out)
}

/// The counts beside the cases.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Counts {
    /// 办件总数
    cases: i64,
    /// 办理中
    open_cases: i64,
    /// 待办（补齐补正、缴费、领取结果）
    tasks: usize,
    /// 其中已超期
    overdue_tasks: usize,
    /// 待评价的已办结办件
    to_rate: usize,
    /// 未读消息（本人）
    unread_messages: i64,
    /// 材料库中的文件
    materials: i64,
    /// 材料库已用字节
    materials_bytes: i64,
    /// 材料库容量（字节）
    materials_quota_bytes: u64,
    /// 电子证照
    licences: usize,
    /// 待到场的预约（个人空间）
    upcoming_bookings: usize,
}

async fn counts(state: &AppState, me: AccountId, whose: Whose, home: &Home) -> Result<Counts, AppError> {
    let owner = match whose {
        Whose::Person(a) => Owner::Person(a),
        Whose::Enterprise(e) => Owner::Enterprise(e),
    };
    let (materials, materials_bytes, materials_quota_bytes) = state.applications.library_summary(me, owner).await?;
    let licences = state
        .licences
        .mine(me)
        .await?
        .iter()
        .filter(|l| match whose {
            Whose::Person(_) => l.enterprise_id.is_none(),
            Whose::Enterprise(e) => l.enterprise_id == Some(e.as_uuid()),
        })
        .count();
    let upcoming_bookings = match whose {
        Whose::Person(_) => {
            let now = chrono::Utc::now();
            state
                .booking
                .mine(me)
                .await?
                .iter()
                .filter(|b| b.status == govhall_booking::BookingStatus::Booked && b.ends_at > now)
                .count()
        }
        Whose::Enterprise(_) => 0,
    };
    Ok(Counts {
        cases: home.total,
        open_cases: home.open,
        tasks: home.tasks.len(),
        overdue_tasks: home.tasks.iter().filter(|t| t.working_days_left.is_some_and(|n| n < 0)).count(),
        to_rate: state.feedback.to_rate(me, whose).await?.len(),
        unread_messages: govhall_messaging::inbox::unread_count(&state.db, me.as_uuid())
            .await
            .map_err(AppError::internal)?,
        materials,
        materials_bytes,
        materials_quota_bytes,
        licences,
        upcoming_bookings,
    })
}

struct TaskRow {
    serial: String,
    item: String,
    label: &'static str,
    left: String,
    overdue: bool,
}

struct CaseRow {
    serial: String,
    item: String,
    state: &'static str,
    submitted: String,
}

struct ProjectRow {
    id: String,
    name: String,
    stage: String,
    cases: i64,
    open: i64,
}

#[derive(Template)]
#[template(path = "space/home.html")]
struct HomePage {
    page: Page,
    title: String,
    enterprise: bool,
    query: String,
    choices: Vec<(String, String, bool)>,
    counts: Counts,
    materials_used: String,
    tasks: Vec<TaskRow>,
    more_tasks: usize,
    recent: Vec<CaseRow>,
    projects: Vec<ProjectRow>,
}

/// Bytes as people read them: KB under a megabyte, MB above.
fn size(bytes: i64) -> String {
    if bytes < 1_048_576 {
        format!("{:.0} KB", (bytes as f64 / 1024.0).ceil())
    } else {
        format!("{:.1} MB", bytes as f64 / 1_048_576.0)
    }
}

fn left(days: Option<i64>) -> (String, bool) {
    match days {
        Some(n) if n < 0 => (format!("已超期 {} 个工作日", -n), true),
        Some(0) => ("今天到期".into(), false),
        Some(n) => (format!("剩余 {n} 个工作日"), false),
        None => ("未设期限".into(), false),
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<WhoseQuery>,
) -> Result<axum::response::Html<String>, AppError> {
    let me = viewer.account.id;
    let (w, name) = whose(&state, me, &q).await?;
    let home = state.cases.home(me, w).await?;
    let counts = counts(&state, me, w, &home).await?;
    let title = match w {
        Whose::Person(_) => "我的空间".to_owned(),
        Whose::Enterprise(_) => format!("企业空间：{name}"),
    };
    let tasks = home
        .tasks
        .iter()
        .take(HOME_ROWS)
        .map(|t| {
            let (left, overdue) = left(t.working_days_left);
            TaskRow { serial: t.serial_number.clone(), item: t.item_name.clone(), label: t.kind.label(), left, overdue }
        })
        .collect();
    render(HomePage {
        page: Page::new(&state, &title).with(&ctx),
        enterprise: matches!(w, Whose::Enterprise(_)),
        query: q.enterprise.map(|e| format!("?enterprise={e}")).unwrap_or_default(),
        choices: choices(&state, me, "/account/home", "个人", q.enterprise).await?,
        materials_used: format!(
            "{} / {}",
            size(counts.materials_bytes),
            size(i64::try_from(counts.materials_quota_bytes).unwrap_or(i64::MAX))
        ),
        more_tasks: home.tasks.len().saturating_sub(HOME_ROWS),
        tasks,
        recent: home
            .recent
            .iter()
            .map(|c| CaseRow {
                serial: c.serial_number.clone(),
                item: c.item_name.clone(),
                state: c.state_label(),
                submitted: time(c.submitted_at),
            })
            .collect(),
        projects: home
            .projects
            .iter()
            .map(|p| ProjectRow {
                id: p.id.to_string(),
                name: p.name.clone(),
                stage: p.stage.clone(),
                cases: p.cases,
                open: p.open_cases,
            })
            .collect(),
        counts,
        title,
    })
}

/// 空间概览中的待办。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HomeTaskOut {
    /// 申办编号
    serial_number: String,
    /// 事项名称
    item_name: String,
    /// supplement（补齐补正）、pay（缴费）或 collect（领取办理结果）
    kind: String,
    /// 待办事项
    label: String,
    /// 环节期限（YYYY-MM-DD）
    due_on: Option<String>,
    /// 距期限的工作日数（超期为负）
    working_days_left: Option<i64>,
}

/// 空间概览中的办件。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HomeCaseOut {
    /// 申办编号
    serial_number: String,
    /// 事项名称
    item_name: String,
    /// 状态
    state_label: String,
    /// 提交时间
    submitted_at: chrono::DateTime<chrono::Utc>,
}

/// 空间概览中的项目档案。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HomeProjectOut {
    id: Uuid,
    /// 项目名称
    name: String,
    /// 当前阶段
    stage: String,
    /// 归入的办件数
    cases: i64,
    /// 其中办理中
    open_cases: i64,
}

/// 我的空间（企业空间）概览。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HomeOut {
    /// 个人空间为“我的办件”，企业空间为企业名称
    name: String,
    counts: Counts,
    /// 期限最近的 5 项待办（全部待办见 /api/v1/me/tasks）
    tasks: Vec<HomeTaskOut>,
    /// 最近提交的 5 件办件
    recent_cases: Vec<HomeCaseOut>,
    /// 企业的项目档案（最多 20 个，新的在前）；个人空间为空
    projects: Vec<HomeProjectOut>,
}

#[utoipa::path(get, path = "/api/v1/me/home", tag = "个人中心",
    summary = "我的空间概览", params(WhoseQuery),
    description = "办件数、待办数（含超期）、未读消息、材料库用量、电子证照和待到场预约的数量，期限最近的待办，最近提交的办件，企业的项目档案。",
    responses((status = 200, description = "概览", body = HomeOut),
        (status = 404, description = "不是该企业的有效成员：not_found")))]
pub(crate) async fn api_home(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Query(q): Query<WhoseQuery>,
) -> Result<Json<HomeOut>, AppError> {
    let me = viewer.account.id;
    let (w, name) = whose(&state, me, &q).await?;
    let home = state.cases.home(me, w).await?;
    let counts = counts(&state, me, w, &home).await?;
    Ok(Json(HomeOut {
        name,
        counts,
        tasks: home
            .tasks
            .iter()
            .take(HOME_ROWS)
            .map(|t| HomeTaskOut {
                serial_number: t.serial_number.clone(),
                item_name: t.item_name.clone(),
                kind: serde_json::to_value(t.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
                label: t.kind.label().to_owned(),
                due_on: t.due_on.map(|d| d.to_string()),
                working_days_left: t.working_days_left,
            })
            .collect(),
        recent_cases: home
            .recent
            .iter()
            .map(|c| HomeCaseOut {
                serial_number: c.serial_number.clone(),
                item_name: c.item_name.clone(),
                state_label: c.state_label().to_owned(),
                submitted_at: c.submitted_at,
            })
            .collect(),
        projects: home
            .projects
            .into_iter()
            .map(|p| HomeProjectOut {
                id: p.id,
                name: p.name,
                stage: p.stage,
                cases: p.cases,
                open_cases: p.open_cases,
            })
            .collect(),
    }))
}

/// The routes of the space's home (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::SignedIn;
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::get;
    vec![r(M::GET, "/account/home", SignedIn, get(show)), r(M::GET, "/api/v1/me/home", SignedIn, get(api_home))]
}
