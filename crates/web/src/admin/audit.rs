//! The audit log, searched by the audit administrator; read-only.

use crate::AppError;
use crate::auth::RequestContext;
use crate::html::{parse_day, render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use govhall_audit::{self as audit, Filter};
use govhall_identity::AccountId;
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

/// An action as the audit administrator reads it: its Chinese name and its code.
fn action_label(action: &str) -> String {
    let label = match action {
        "login" => "登录",
        "login.api" => "接口登录",
        "login.flagged" => "可疑的首次登录",
        "account.unlock" => "解除登录锁定",
        "logout" => "退出登录",
        "account.register" => "注册账号",
        "account.change_password" => "修改密码",
        "account.reset_password" => "找回密码",
        "account.set_password" => "命令行重置密码",
        "account.enable" => "启用账号",
        "account.disable" => "停用账号",
        "session.revoke" => "退出某设备",
        "session.revoke_all" => "退出其他所有设备",
        "session.act_for" => "切换办事身份",
        "admin.create" => "创建管理员",
        "staff.create" => "创建工作人员",
        "department.create" => "创建部门",
        "group.create" => "创建用户组",
        "group.add_member" => "添加用户组成员",
        "role.save" => "保存角色",
        "grant.create" => "授权",
        "grant.revoke" => "撤销授权",
        "enterprise.register" => "登记企业",
        "enterprise.invite" => "邀请企业成员",
        "enterprise.join" => "加入企业",
        "person.view_personal_data" => "查看完整个人信息",
        "access.denied" => "越权访问被拒绝",
        "item.save_draft" => "保存事项草稿",
        "item.submit" => "提交事项审核",
        "item.publish" => "审核发布事项",
        "item.send_back" => "退回事项修改",
        "catalog.import" => "导入事项目录",
        "catalog.mapping.add" => "添加分类映射",
        "catalog.mapping.remove" => "删除分类映射",
        "message.retry" => "重发消息",
        "message.cancel" => "取消消息",
        "message_template.save" => "保存消息模板",
        _ => return action.to_owned(),
    };
    format!("{label}（{action}）")
}

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
            action: action_label(&e.action),
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
