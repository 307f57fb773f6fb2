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
    ("/admin/intake", "窗口收件", Permission::CaseReview),
    ("/admin/supervision", "电子监察", Permission::CaseSupervise),
    ("/admin/workflows", "办理流程", Permission::WorkflowManage),
    ("/admin/booking", "网上预约设置", Permission::BookingManage),
    ("/admin/booking/desk", "预约签到", Permission::BookingCheckin),
    ("/admin/payments/reconciliation", "缴费对账", Permission::PaymentManage),
    ("/admin/licences/import", "存量证照导入", Permission::LicenceManage),
    ("/admin/evaluations", "好差评", Permission::EvaluationHandle),
    ("/admin/evaluations", "好差评", Permission::EvaluationSupervise),
    ("/admin/complaints", "投诉办理", Permission::ComplaintHandle),
    ("/admin/complaints", "投诉办理", Permission::ComplaintSupervise),
    ("/admin/exchange", "部门系统对接", Permission::ExchangeManage),
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

/// The routes of the back office of identity and the catalogue, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{AnyOf as Needs2, Permission as Needs, SignedIn};
    use crate::routes::EDITORS;
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    vec![
        // The back office.
        r(M::GET, "/admin", SignedIn, get(crate::admin::home)),
        r(M::GET, "/admin/departments", Needs(P::DepartmentManage), get(crate::admin::organisation::departments)),
        r(
            M::POST,
            "/admin/departments",
            Needs(P::DepartmentManage),
            post(crate::admin::organisation::create_department),
        ),
        r(M::GET, "/admin/staff", Needs(P::StaffManage), get(crate::admin::organisation::staff)),
        r(M::POST, "/admin/staff", Needs(P::StaffManage), post(crate::admin::organisation::create_staff)),
        r(
            M::POST,
            "/admin/staff/{id}/status",
            Needs(P::StaffManage),
            post(crate::admin::organisation::set_staff_status),
        ),
        r(M::GET, "/admin/groups", Needs(P::GroupManage), get(crate::admin::organisation::groups)),
        r(M::POST, "/admin/groups", Needs(P::GroupManage), post(crate::admin::organisation::create_group)),
        r(M::POST, "/admin/groups/{id}/members", Needs(P::GroupManage), post(crate::admin::organisation::add_member)),
        r(M::GET, "/admin/people", Needs(P::PersonView), get(crate::admin::people::people)),
        r(M::POST, "/admin/people/{id}/reveal", Needs(P::PersonViewPersonalData), post(crate::admin::people::reveal)),
        r(M::GET, "/admin/roles", Needs(P::RoleManage), get(crate::admin::rights::roles)),
        r(M::POST, "/admin/roles", Needs(P::RoleManage), post(crate::admin::rights::save_role)),
        r(M::GET, "/admin/grants", Needs(P::GrantManage), get(crate::admin::rights::grants)),
        r(M::POST, "/admin/grants", Needs(P::GrantManage), post(crate::admin::rights::create_grant)),
        r(M::POST, "/admin/grants/{id}/revoke", Needs(P::GrantManage), post(crate::admin::rights::revoke_grant)),
        r(M::GET, "/admin/locks", Needs(P::AccountUnlock), get(crate::admin::locks::list)),
        r(M::POST, "/admin/locks/{id}/unlock", Needs(P::AccountUnlock), post(crate::admin::locks::unlock)),
        r(M::GET, "/admin/audit", Needs(P::AuditView), get(crate::admin::audit::search)),
        // Editors and reviewers share the item pages; the catalogue's rules check each item's
        // department against the viewer's scope, and that the reviewer is not the editor.
        r(M::GET, "/admin/items", Needs2(EDITORS), get(crate::admin::items::items)),
        r(M::GET, "/admin/items/export.csv", Needs(P::ItemEdit), get(crate::admin::item_sheets::export_csv)),
        r(M::GET, "/admin/items/export.xlsx", Needs(P::ItemEdit), get(crate::admin::item_sheets::export_xlsx)),
        r(M::POST, "/admin/items/import", Needs(P::ItemEdit), post(crate::admin::item_sheets::upload)),
        r(M::POST, "/admin/items/import/{id}/apply", Needs(P::ItemEdit), post(crate::admin::item_sheets::apply)),
        r(M::GET, "/admin/items/{code}", Needs2(EDITORS), get(crate::admin::items::edit)),
        r(M::POST, "/admin/items/{code}", Needs(P::ItemEdit), post(crate::admin::items::save)),
        r(M::POST, "/admin/items/{code}/{action}", Needs2(EDITORS), post(crate::admin::items::act)),
        r(M::GET, "/admin/taxonomy", Needs(P::CatalogManage), get(crate::admin::items::taxonomy_view)),
        r(M::POST, "/admin/taxonomy/mappings", Needs(P::CatalogManage), post(crate::admin::items::add_mapping)),
        r(
            M::POST,
            "/admin/taxonomy/mappings/{id}/delete",
            Needs(P::CatalogManage),
            post(crate::admin::items::remove_mapping),
        ),
        r(M::GET, "/admin/forms/{code}", Needs2(EDITORS), get(crate::admin::forms::edit)),
        r(M::POST, "/admin/forms/{code}", Needs(P::ItemEdit), post(crate::admin::forms::save)),
    ]
}
