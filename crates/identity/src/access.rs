//! Permissions, data scopes and the one check every route and every service call goes through.
//!
//! A permission is a fine-grained name (`case.review`). Roles bundle permissions; a grant gives a
//! role to an account, a group or a whole department, with a data scope. The administrators'
//! permissions live only in the three built-in administrator roles (system, security, audit),
//! and an administrator account holds exactly one of them: no account can both run the system
//! and grant rights, or grant rights and read the audit log.

use crate::ids::{AccountId, DepartmentId};
use govhall_db::Backend;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

macro_rules! permissions {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $label:literal, $admin:expr; )*) => {
        /// A permission, by its stable name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Permission {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl Permission {
            /// Every permission, in a stable order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            /// The stable name (`case.review`).
            pub fn name(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            /// What it allows, in Chinese.
            pub fn label(self) -> &'static str {
                match self { $(Permission::$variant => $label,)* }
            }

            /// Which administrator role alone holds it, if it is an administrator's permission.
            pub fn admin_role(self) -> Option<AdminRole> {
                match self { $(Permission::$variant => $admin,)* }
            }

            /// The permission with this name.
            pub fn from_name(name: &str) -> Option<Permission> {
                match name { $($name => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

permissions! {
    /// Create and change departments.
    DepartmentManage = "department.manage", "管理部门", Some(AdminRole::System);
    /// Create staff accounts, disable them, reset their passwords.
    StaffManage = "staff.manage", "管理工作人员", Some(AdminRole::System);
    /// Create groups and change their members.
    GroupManage = "group.manage", "管理用户组", Some(AdminRole::System);
    /// Run the message center (delivery log, templates).
    MessageManage = "message.manage", "管理消息中心", Some(AdminRole::System);
    /// Create roles and choose their permissions.
    RoleManage = "role.manage", "管理角色", Some(AdminRole::Security);
    /// Grant roles to accounts, groups and departments.
    GrantManage = "grant.manage", "授权", Some(AdminRole::Security);
    /// See sign-in locks and lift an account's (the security administrator).
    AccountUnlock = "account.unlock", "解除登录锁定", Some(AdminRole::Security);
    /// Read the audit log.
    AuditView = "audit.view", "查看审计日志", Some(AdminRole::Audit);
    /// See registered people (masked).
    PersonView = "person.view", "查看注册用户", None;
    /// See people's full ID and mobile numbers (every view audited).
    PersonViewPersonalData = "person.view_personal_data", "查看用户完整个人信息", None;
    /// Edit service items (as drafts for review).
    ItemEdit = "item.edit", "编辑事项", None;
    /// Review and publish edited items.
    ItemPublish = "item.publish", "审核发布事项", None;
    /// Edit the navigations' tags and the mapping from source data.
    CatalogManage = "catalog.manage", "管理事项分类", None;
    /// See cases.
    CaseView = "case.view", "查看办件", None;
    /// Review cases.
    CaseReview = "case.review", "审查办件", None;
    /// See the personal data in cases (every view audited).
    CaseViewPersonalData = "case.view_personal_data", "查看办件中的个人信息", None;
    /// Decide cases (办结审批: 准予 or 不予).
    CaseDecide = "case.decide", "办结审批", None;
    /// Give cases to colleagues (分派办件).
    CaseAssign = "case.assign", "分派办件", None;
    /// Watch deadlines across departments (电子监察) and receive escalations.
    CaseSupervise = "case.supervise", "电子监察", None;
    /// Configure items' case workflows.
    WorkflowManage = "workflow.manage", "配置办件流程", None;
    /// Set up service halls, their services and slot rules; close slots.
    BookingManage = "booking.manage", "管理网上预约", None;
    /// Check people in for their appointments.
    BookingCheckin = "booking.checkin", "预约签到", None;
    /// See payment orders and the gateway's messages; re-issue and cancel orders.
    PaymentManage = "payment.manage", "管理网上缴费", None;
    /// Refund paid orders (full or partial, with a reason).
    PaymentRefund = "payment.refund", "缴费退款", None;
    /// See the licences their departments issued and revoke them (注销).
    LicenceManage = "licence.manage", "管理电子证照", None;
    /// Answer their departments' 差评 (call back, rectify or explain) and appeal evaluations.
    EvaluationHandle = "evaluation.handle", "处理差评整改", None;
    /// Decide appeals against evaluations and receive overdue 差评 tasks (好差评监督).
    EvaluationSupervise = "evaluation.supervise", "好差评监督", None;
    /// Accept, reject and answer complaints about their departments; publish answers.
    ComplaintHandle = "complaint.handle", "办理投诉", None;
    /// Receive overdue complaints and keep the routing rules (投诉监督).
    ComplaintSupervise = "complaint.supervise", "投诉监督", None;
    /// Watch a department's connection to its own system and search the exchange log.
    ExchangeManage = "exchange.manage", "管理部门系统对接", None;
}

/// The three administrators of 等保 practice, kept apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// 系统管理员: departments, staff, groups, the message center.
    System,
    /// 安全管理员: roles and grants.
    Security,
    /// 审计管理员: the audit log.
    Audit,
}

impl AdminRole {
    /// Every administrator role.
    pub const ALL: [AdminRole; 3] = [AdminRole::System, AdminRole::Security, AdminRole::Audit];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::System => "system",
            AdminRole::Security => "security",
            AdminRole::Audit => "audit",
        }
    }

    /// The built-in role's code.
    pub fn role_code(self) -> &'static str {
        match self {
            AdminRole::System => "system_admin",
            AdminRole::Security => "security_admin",
            AdminRole::Audit => "audit_admin",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            AdminRole::System => "系统管理员",
            AdminRole::Security => "安全管理员",
            AdminRole::Audit => "审计管理员",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<AdminRole> {
        AdminRole::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The permissions of its built-in role.
    pub fn permissions(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.iter().copied().filter(move |p| p.admin_role() == Some(self))
    }
}

/// How far a grant reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Records the account itself owns.
    Own,
    /// Records of the account's department.
    Department,
    /// Records of the account's department and every department below it.
    Subtree,
    /// Records anywhere in the region of the account's department (and the regions below it).
    Region,
    /// Everything.
    All,
}

impl Scope {
    /// Every scope, narrowest first.
    pub const ALL: [Scope; 5] = [Scope::Own, Scope::Department, Scope::Subtree, Scope::Region, Scope::All];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Own => "own",
            Scope::Department => "department",
            Scope::Subtree => "subtree",
            Scope::Region => "region",
            Scope::All => "all",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Scope::Own => "本人",
            Scope::Department => "本部门",
            Scope::Subtree => "本部门及下级部门",
            Scope::Region => "本行政区划",
            Scope::All => "全部",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The prefix of division codes inside a region: 370000 → 37, 370100 → 3701, 370102 → 370102.
pub fn region_prefix(code: &str) -> &str {
    let mut prefix = code;
    while prefix.len() > 2 && prefix.ends_with("00") {
        prefix = &prefix[..prefix.len() - 2];
    }
    prefix
}

/// What a record is, for a scope check: whose it is and where it belongs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The account that owns it, if any.
    pub owner: Option<AccountId>,
    /// The department it belongs to, if any.
    pub department: Option<DepartmentId>,
    /// Its region's division code, if any (taken from the department when absent).
    pub region: Option<String>,
}

/// Everything one account may do: loaded once per request, asked everywhere.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The account.
    pub account: Option<AccountId>,
    /// Its department, if staff.
    pub department: Option<DepartmentId>,
    /// Its department's region code.
    pub region: Option<String>,
    /// The departments at or below its own (for subtree grants).
    pub subtree: BTreeSet<DepartmentId>,
    /// Each permission with the widest scopes granted.
    pub grants: BTreeMap<Permission, BTreeSet<Scope>>,
}

impl Access {
    /// Whether any grant carries `permission`, whatever its scope.
    pub fn has(&self, permission: Permission) -> bool {
        self.grants.get(&permission).is_some_and(|s| !s.is_empty())
    }

    /// Whether `permission` reaches `target`: the one data-scope rule.
    pub fn covers(&self, permission: Permission, target: &Target) -> bool {
        let Some(scopes) = self.grants.get(&permission) else { return false };
        scopes.iter().any(|scope| match scope {
            Scope::All => true,
            Scope::Own => self.account.is_some() && target.owner == self.account,
            Scope::Department => self.department.is_some() && target.department == self.department,
            Scope::Subtree => target.department.is_some_and(|d| self.subtree.contains(&d)),
            Scope::Region => match (&self.region, &target.region) {
                (Some(mine), Some(theirs)) => theirs.starts_with(region_prefix(mine)),
                _ => false,
            },
        })
    }

    /// The narrowing a list query needs for `permission`.
    pub fn filter(&self, permission: Permission) -> ScopeFilter {
        let Some(scopes) = self.grants.get(&permission) else { return ScopeFilter::Nothing };
        if scopes.contains(&Scope::All) {
            return ScopeFilter::Everything;
        }
        let mut filter = ScopeFilter::Limited { owner: None, departments: BTreeSet::new(), region_prefix: None };
        if let ScopeFilter::Limited { owner, departments, region_prefix: prefix } = &mut filter {
            for scope in scopes {
                match scope {
                    Scope::Own => *owner = self.account,
                    Scope::Department => departments.extend(self.department),
                    Scope::Subtree => departments.extend(self.subtree.iter().copied()),
                    Scope::Region => *prefix = self.region.as_deref().map(|r| region_prefix(r).to_owned()),
                    Scope::All => {}
                }
            }
        }
        filter
    }
}

/// What a list may show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeFilter {
    /// No grant: nothing.
    Nothing,
    /// Everything.
    Everything,
    /// Records owned by `owner`, or in `departments`, or in a region starting with `region_prefix`.
    Limited {
        /// Own records.
        owner: Option<AccountId>,
        /// Departments reached.
        departments: BTreeSet<DepartmentId>,
        /// Region reached.
        region_prefix: Option<String>,
    },
}

impl ScopeFilter {
    /// The SQL condition the filter makes over a table's columns (`owner`, when records have
    /// one, `department` and `region`), built from ids and digits only, never from input; `None`
    /// when nothing passes.
    pub fn sql(&self, backend: Backend, owner: Option<&str>, department: &str, region: &str) -> Option<String> {
        let uuid = |id: uuid::Uuid| match backend {
            Backend::Sqlite => format!("X'{}'", id.simple()),
            Backend::Postgres => format!("'{id}'::uuid"),
        };
        match self {
            ScopeFilter::Nothing => None,
            ScopeFilter::Everything => Some("1 = 1".to_owned()),
            ScopeFilter::Limited { owner: mine, departments, region_prefix } => {
                let mut parts = Vec::new();
                if let (Some(column), Some(mine)) = (owner, mine) {
                    parts.push(format!("{column} = {}", uuid(mine.as_uuid())));
                }
                if !departments.is_empty() {
                    let list: Vec<String> = departments.iter().map(|d| uuid(d.as_uuid())).collect();
                    parts.push(format!("{department} IN ({})", list.join(", ")));
                }
                if let Some(prefix) = region_prefix.as_deref().filter(|p| p.bytes().all(|b| b.is_ascii_digit())) {
                    parts.push(format!("{region} LIKE '{prefix}%'"));
                }
                if parts.is_empty() { None } else { Some(format!("({})", parts.join(" OR "))) }
            }
        }
    }

    /// Whether a record in `department` of `region`, owned by `owner`, passes.
    pub fn allows(&self, owner: Option<AccountId>, department: Option<DepartmentId>, region: Option<&str>) -> bool {
        match self {
            ScopeFilter::Nothing => false,
            ScopeFilter::Everything => true,
            ScopeFilter::Limited { owner: mine, departments, region_prefix } => {
                (mine.is_some() && owner == *mine)
                    || department.is_some_and(|d| departments.contains(&d))
                    || matches!((region_prefix, region), (Some(p), Some(r)) if r.starts_with(p.as_str()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_admin_permissions_are_partitioned() {
        for p in Permission::ALL {
            assert_eq!(Permission::from_name(p.name()), Some(*p));
        }
        let system: Vec<_> = AdminRole::System.permissions().collect();
        let security: Vec<_> = AdminRole::Security.permissions().collect();
        let audit: Vec<_> = AdminRole::Audit.permissions().collect();
        assert!(system.contains(&Permission::StaffManage) && !system.contains(&Permission::AuditView));
        assert_eq!(security, vec![Permission::RoleManage, Permission::GrantManage, Permission::AccountUnlock]);
        assert_eq!(audit, vec![Permission::AuditView]);
    }

    #[test]
    fn region_prefixes() {
        assert_eq!(region_prefix("370000"), "37");
        assert_eq!(region_prefix("370100"), "3701");
        assert_eq!(region_prefix("370102"), "370102");
    }

    #[test]
    fn scopes_reach_what_they_say() {
        let me = AccountId::new();
        let dept = DepartmentId::new();
        let child = DepartmentId::new();
        let other = DepartmentId::new();
        let mut access = Access {
            account: Some(me),
            department: Some(dept),
            region: Some("370100".to_owned()),
            subtree: [dept, child].into(),
            grants: BTreeMap::new(),
        };
        let target = |owner, department, region: &str| Target { owner, department, region: Some(region.to_owned()) };
        let check = |a: &Access, t: &Target| a.covers(Permission::CaseView, t);
        assert!(!check(&access, &target(Some(me), Some(dept), "370100")), "no grant, nothing");

        access.grants.insert(Permission::CaseView, [Scope::Own].into());
        assert!(check(&access, &target(Some(me), None, "370100")));
        assert!(!check(&access, &target(Some(AccountId::new()), Some(dept), "370100")));

        access.grants.insert(Permission::CaseView, [Scope::Department].into());
        assert!(check(&access, &target(None, Some(dept), "370100")));
        assert!(!check(&access, &target(None, Some(child), "370100")));

        access.grants.insert(Permission::CaseView, [Scope::Subtree].into());
        assert!(check(&access, &target(None, Some(child), "370100")));
        assert!(!check(&access, &target(None, Some(other), "370100")));

        access.grants.insert(Permission::CaseView, [Scope::Region].into());
        assert!(check(&access, &target(None, Some(other), "370102")));
        assert!(!check(&access, &target(None, Some(other), "370200")));

        access.grants.insert(Permission::CaseView, [Scope::All].into());
        assert!(check(&access, &target(None, Some(other), "110000")));
        assert!(!access.covers(Permission::CaseReview, &target(None, Some(other), "110000")));
    }

    #[test]
    fn filters_match_covers() {
        let me = AccountId::new();
        let dept = DepartmentId::new();
        let access = Access {
            account: Some(me),
            department: Some(dept),
            region: Some("370000".to_owned()),
            subtree: [dept].into(),
            grants: [(Permission::PersonView, [Scope::Department].into())].into(),
        };
        let f = access.filter(Permission::PersonView);
        assert!(f.allows(None, Some(dept), None));
        assert!(!f.allows(None, Some(DepartmentId::new()), Some("370100")));
        assert_eq!(access.filter(Permission::AuditView), ScopeFilter::Nothing);
    }
}
