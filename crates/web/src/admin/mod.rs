//! The back office of identity: departments, staff, registered people, groups, roles, grants
//! and the audit log. Which pages a viewer may open is decided by the route table's guards;
//! which records a page shows, by the viewer's data scope.

pub(crate) mod audit;
pub(crate) mod forms;
pub(crate) mod item_sheets;
pub(crate) mod items;
pub(crate) mod locks;
pub(crate) mod organisation;
pub(crate) mod people;
pub(crate) mod rights;

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::render;
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Html;
use govhall_identity::{Access, Permission};

/// The back office's sections, each with the permission that opens it.
const SECTIONS: &[(&str, &str, Permission)] = &[
    ("/admin/departments", "部门", Permission::DepartmentManage),
    ("/admin/staff", "工作人员", Permission::StaffManage),
    ("/admin/groups", "用户组", Permission::GroupManage),
    ("/admin/people", "注册用户", Permission::PersonView),
    ("/admin/roles", "角色", Permission::RoleManage),
    ("/admin/grants", "授权", Permission::GrantManage),
    ("/admin/locks", "登录锁定", Permission::AccountUnlock),
    ("/admin/audit", "审计日志", Permission::AuditView),
    ("/admin/items", "事项管理", Permission::ItemEdit),
    ("/admin/items", "事项审核", Permission::ItemPublish),
    ("/admin/taxonomy", "事项分类", Permission::CatalogManage),
    ("/admin/search", "搜索管理", Permission::CatalogManage),
    ("/admin/cases", "办件工作台", Permission::CaseView),
    ("/admin/supervision", "电子监察", Permission::CaseSupervise),
    ("/admin/workflows", "办理流程", Permission::WorkflowManage),
    ("/admin/booking", "网上预约设置", Permission::BookingManage),
    ("/admin/booking/desk", "预约签到", Permission::BookingCheckin),
    ("/admin/messages", "消息发送记录", Permission::MessageManage),
    ("/admin/templates", "消息模板", Permission::MessageManage),
];

/// The sections `access` opens.
pub(crate) fn sections(access: &Access) -> Vec<(&'static str, &'static str)> {
    let mut sections: Vec<(&str, &str)> =
        SECTIONS.iter().filter(|(_, _, p)| access.has(*p)).map(|(href, label, _)| (*href, *label)).collect();
    // Editing and reviewing share one page.
    sections.dedup_by_key(|(href, _)| *href);
    sections
}

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    page: Page,
    role: &'static str,
    name: String,
}

pub(crate) async fn home(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<Html<String>, AppError> {
    render(HomePage {
        page: Page::new(&state, "管理后台").with(&ctx),
        role: viewer.account.kind.label(),
        name: viewer.account.real_name.clone(),
    })
}
