//! Groups, roles and grants, and loading an account's [`Access`].

use crate::access::{Access, AdminRole, Permission, Scope};
use crate::ids::{AccountId, DepartmentId, GrantId, GroupId, RoleId};
use crate::{Identity, IdentityError};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::sqlx;
use govhall_db::{exec, run};
use uuid::Uuid;

/// A role with its permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Id.
    pub id: RoleId,
    /// Stable code.
    pub code: String,
    /// Chinese name.
    pub name: String,
    /// The administrator role it is, for the three built-in ones.
    pub admin_role: Option<AdminRole>,
    /// Its permissions.
    pub permissions: Vec<Permission>,
}

/// A group of accounts.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Group {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Members.
    pub members: i64,
}

/// A grant, with names to show.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Grant {
    /// Id.
    pub id: Uuid,
    /// The role's name.
    pub role_name: String,
    /// `account`, `group` or `department`.
    pub grantee_kind: String,
    /// Which one.
    pub grantee_id: Uuid,
    /// Its name.
    pub grantee_name: String,
    /// The scope's stored name.
    pub scope: String,
    /// When granted.
    pub created_at: DateTime<Utc>,
}

impl Grant {
    /// The grantee kind in Chinese.
    pub fn grantee_label(&self) -> &'static str {
        match self.grantee_kind.as_str() {
            "account" => "账号",
            "group" => "用户组",
            _ => "部门",
        }
    }

    /// The scope in Chinese.
    pub fn scope_label(&self) -> &'static str {
        Scope::parse(&self.scope).map_or("", Scope::label)
    }
}

/// Who receives a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grantee {
    /// One account.
    Account(AccountId),
    /// Every member of a group.
    Group(GroupId),
    /// Every staff member of a department.
    Department(DepartmentId),
}

impl Grantee {
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            Grantee::Account(a) => ("account", a.as_uuid()),
            Grantee::Group(g) => ("group", g.as_uuid()),
            Grantee::Department(d) => ("department", d.as_uuid()),
        }
    }
}

fn check_code(code: &str) -> Result<(), IdentityError> {
    let ok = (2..=40).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && code.starts_with(|c: char| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(IdentityError::field("invalid_role_code", "角色代码应为 2 到 40 位小写字母、数字或下划线"))
    }
}

fn check_label(field: &str, name: &str) -> Result<String, IdentityError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 || name.chars().any(|c| c.is_control() || "<>".contains(c)) {
        return Err(IdentityError::field("invalid_name", format!("{field}不能为空，不超过 50 个字，且不含尖括号")));
    }
    Ok(name.to_owned())
}

impl Identity {
    /// Makes sure the three built-in administrator roles exist with exactly their permissions.
    pub async fn ensure_builtin_roles(&self) -> Result<(), IdentityError> {
        for role in AdminRole::ALL {
            self.builtin_role(role).await?;
        }
        Ok(())
    }

    /// The built-in role of an administrator, created if missing.
    pub(crate) async fn builtin_role(&self, role: AdminRole) -> Result<RoleId, IdentityError> {
        let mut tx = self.db.begin().await?;
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO roles (id, code, name, admin_role, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (code) DO NOTHING"
            )
            .bind(Uuid::now_v7())
            .bind(role.role_code())
            .bind(role.label())
            .bind(role.as_str())
            .bind(self.db.now())
        )?;
        let id: Uuid = run!(tx, |c| {
            sqlx::query_scalar("SELECT id FROM roles WHERE code = $1").bind(role.role_code()).fetch_one(&mut *c).await
        })?;
        exec!(tx, sqlx::query("DELETE FROM role_permissions WHERE role_id = $1").bind(id))?;
        for p in role.permissions() {
            // Nodes starting together on one PostgreSQL may both write these rows.
            exec!(
                tx,
                sqlx::query(
                    "INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2) ON CONFLICT DO NOTHING"
                )
                .bind(id)
                .bind(p.name())
            )?;
        }
        tx.commit().await?;
        Ok(RoleId::from_uuid(id))
    }

    /// Every role with its permissions.
    pub async fn roles(&self) -> Result<Vec<Role>, IdentityError> {
        let mut conn = self.db.conn().await?;
        let rows: Vec<(Uuid, String, String, Option<String>)> = run!(conn, |c| {
            sqlx::query_as("SELECT id, code, name, admin_role FROM roles ORDER BY admin_role IS NULL, code")
                .fetch_all(&mut *c)
                .await
        })?;
        let perms: Vec<(Uuid, String)> = run!(conn, |c| {
            sqlx::query_as("SELECT role_id, permission FROM role_permissions ORDER BY permission")
                .fetch_all(&mut *c)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, code, name, admin)| Role {
                id: RoleId::from_uuid(id),
                code,
                name,
                admin_role: admin.as_deref().and_then(AdminRole::parse),
                permissions: perms
                    .iter()
                    .filter(|(r, _)| *r == id)
                    .filter_map(|(_, p)| Permission::from_name(p))
                    .collect(),
            })
            .collect())
    }

    /// Creates or changes a business role. Administrators' permissions cannot be put in one: they
    /// stay in the three built-in roles, so that the separation of duties holds.
    pub async fn save_role(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
        permissions: &[Permission],
    ) -> Result<RoleId, IdentityError> {
        check_code(code)?;
        let name = check_label("角色名称", name)?;
        if let Some(p) = permissions.iter().find(|p| p.admin_role().is_some()) {
            return Err(IdentityError::Conflict(format!(
                "“{}”只属于内置的{}角色，不能加入其他角色",
                p.label(),
                p.admin_role().map_or("", AdminRole::label)
            )));
        }
        if permissions.is_empty() {
            return Err(IdentityError::field("empty_role", "请至少选择一项权限"));
        }
        let mut tx = self.db.begin().await?;
        let existing: Option<(Uuid, Option<String>)> = run!(tx, |c| {
            sqlx::query_as("SELECT id, admin_role FROM roles WHERE code = $1").bind(code).fetch_optional(&mut *c).await
        })?;
        let id = match existing {
            Some((_, Some(_))) => return Err(IdentityError::Conflict("内置的管理员角色不能修改".to_owned())),
            Some((id, None)) => {
                exec!(tx, sqlx::query("UPDATE roles SET name = $1 WHERE id = $2").bind(&name).bind(id))?;
                exec!(tx, sqlx::query("DELETE FROM role_permissions WHERE role_id = $1").bind(id))?;
                id
            }
            None => {
                let id = Uuid::now_v7();
                exec!(
                    tx,
                    sqlx::query(
                        "INSERT INTO roles (id, code, name, admin_role, created_at) VALUES ($1, $2, $3, NULL, $4)"
                    )
                    .bind(id)
                    .bind(code)
                    .bind(&name)
                    .bind(self.db.now())
                )?;
                id
            }
        };
        let mut names: Vec<&str> = permissions.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        for p in &names {
            exec!(
                tx,
                sqlx::query("INSERT INTO role_permissions (role_id, permission) VALUES ($1, $2)").bind(id).bind(*p)
            )?;
        }
        audit::record(
            &mut tx,
            actor,
            Event::success("role.save", "role", id).detail(format!("{code}: {}", names.join(","))),
        )
        .await?;
        tx.commit().await?;
        Ok(RoleId::from_uuid(id))
    }

    /// Creates a group.
    pub async fn create_group(&self, actor: &Actor, name: &str) -> Result<GroupId, IdentityError> {
        let name = check_label("用户组名称", name)?;
        let id = GroupId::new();
        let mut tx = self.db.begin().await?;
        let n = exec!(
            tx,
            sqlx::query("INSERT INTO account_groups (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                .bind(id.as_uuid())
                .bind(&name)
                .bind(self.db.now())
        )?;
        if n == 0 {
            return Err(IdentityError::Conflict(format!("已有名为“{name}”的用户组")));
        }
        audit::record(&mut tx, actor, Event::success("group.create", "group", id).detail(name)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every group with its member count.
    pub async fn groups(&self) -> Result<Vec<Group>, IdentityError> {
        let mut conn = self.db.conn().await?;
        Ok(run!(conn, |c| {
            sqlx::query_as(
                "SELECT g.id, g.name, (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS members
                 FROM account_groups g ORDER BY g.name",
            )
            .fetch_all(&mut *c)
            .await
        })?)
    }

    /// Adds a staff member to a group (administrators cannot be: their rights are fixed).
    pub async fn add_to_group(&self, actor: &Actor, group: GroupId, account: AccountId) -> Result<(), IdentityError> {
        let member = self.account(account).await?;
        if member.kind != crate::AccountKind::Staff {
            return Err(IdentityError::Conflict("只有工作人员可以加入用户组".to_owned()));
        }
        let mut tx = self.db.begin().await?;
        let known: i64 = run!(tx, |c| {
            sqlx::query_scalar("SELECT COUNT(*) FROM account_groups WHERE id = $1")
                .bind(group.as_uuid())
                .fetch_one(&mut *c)
                .await
        })?;
        if known == 0 {
            return Err(IdentityError::NotFound("用户组"));
        }
        exec!(
            tx,
            sqlx::query("INSERT INTO group_members (group_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(group.as_uuid())
                .bind(account.as_uuid())
        )?;
        audit::record(&mut tx, actor, Event::success("group.add_member", "group", group).detail(account.to_string()))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Grants a role. Built-in administrator roles are never granted here (an administrator is
    /// created with one, by `govhall user add-admin`); business roles go to staff only, never to
    /// administrators or to the people who use the hall.
    pub async fn grant(
        &self,
        actor: &Actor,
        role: RoleId,
        grantee: Grantee,
        scope: Scope,
    ) -> Result<GrantId, IdentityError> {
        let roles = self.roles().await?;
        let role = roles.iter().find(|r| r.id == role).ok_or(IdentityError::NotFound("角色"))?;
        if role.admin_role.is_some() {
            return Err(IdentityError::Conflict("管理员角色随管理员账号创建，不能另行授予".to_owned()));
        }
        let (kind, grantee_id) = grantee.parts();
        let exists: i64 = {
            let mut conn = self.db.conn().await?;
            let sql = match grantee {
                Grantee::Account(_) => "SELECT COUNT(*) FROM accounts WHERE id = $1 AND kind = 'staff'",
                Grantee::Group(_) => "SELECT COUNT(*) FROM account_groups WHERE id = $1",
                Grantee::Department(_) => "SELECT COUNT(*) FROM departments WHERE id = $1",
            };
            run!(conn, |c| sqlx::query_scalar(sql).bind(grantee_id).fetch_one(&mut *c).await)?
        };
        if exists == 0 {
            return Err(IdentityError::NotFound("授权对象（业务角色只能授予工作人员、用户组和部门）"));
        }
        let id = GrantId::new();
        let mut tx = self.db.begin().await?;
        let n = exec!(
            tx,
            sqlx::query(
                "INSERT INTO grants (id, role_id, grantee_kind, grantee_id, scope, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
            )
            .bind(id.as_uuid())
            .bind(role.id.as_uuid())
            .bind(kind)
            .bind(grantee_id)
            .bind(scope.as_str())
            .bind(actor.id.map(|a| a.as_uuid()))
            .bind(self.db.now())
        )?;
        if n == 0 {
            return Err(IdentityError::Conflict("相同的授权已存在".to_owned()));
        }
        audit::record(
            &mut tx,
            actor,
            Event::success("grant.create", "grant", id).detail(format!(
                "{} → {kind}:{grantee_id} ({})",
                role.code,
                scope.as_str()
            )),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Withdraws a business grant.
    pub async fn revoke_grant(&self, actor: &Actor, id: GrantId) -> Result<(), IdentityError> {
        let mut tx = self.db.begin().await?;
        let n = exec!(
            tx,
            sqlx::query(
                "DELETE FROM grants WHERE id = $1 AND role_id IN (SELECT id FROM roles WHERE admin_role IS NULL)"
            )
            .bind(id.as_uuid())
        )?;
        if n == 0 {
            return Err(IdentityError::NotFound("授权"));
        }
        audit::record(&mut tx, actor, Event::success("grant.revoke", "grant", id)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every grant, newest first.
    pub async fn grants(&self) -> Result<Vec<Grant>, IdentityError> {
        let mut conn = self.db.conn().await?;
        Ok(run!(conn, |c| {
            sqlx::query_as(
                "SELECT g.id, r.name AS role_name, g.grantee_kind, g.grantee_id,
                        COALESCE(a.real_name, ag.name, d.name, '') AS grantee_name, g.scope, g.created_at
                 FROM grants g JOIN roles r ON r.id = g.role_id
                 LEFT JOIN accounts a ON g.grantee_kind = 'account' AND a.id = g.grantee_id
                 LEFT JOIN account_groups ag ON g.grantee_kind = 'group' AND ag.id = g.grantee_id
                 LEFT JOIN departments d ON g.grantee_kind = 'department' AND d.id = g.grantee_id
                 ORDER BY g.created_at DESC",
            )
            .fetch_all(&mut *c)
            .await
        })?)
    }

    /// Active staff holding `permission` somewhere, with what each may do (to tell the
    /// supervisors of a department about what their scope reaches). One query finds those a grant
    /// gives it to (their own, a group's or their department's); only theirs is worked out whole.
    pub async fn staff_holding(&self, permission: Permission) -> Result<Vec<(AccountId, Access)>, IdentityError> {
        let mut conn = self.db.conn().await?;
        let holders: Vec<Uuid> = run!(conn, |c| {
            sqlx::query_scalar(
                "SELECT a.id FROM accounts a
                 WHERE a.kind = 'staff' AND a.status = 'active' AND EXISTS (
                     SELECT 1 FROM grants g JOIN role_permissions rp ON rp.role_id = g.role_id
                     WHERE rp.permission = $1 AND (
                         (g.grantee_kind = 'account' AND g.grantee_id = a.id)
                         OR (g.grantee_kind = 'group'
                             AND g.grantee_id IN (SELECT group_id FROM group_members WHERE account_id = a.id))
                         OR (g.grantee_kind = 'department' AND g.grantee_id = a.department_id)))
                 ORDER BY a.id",
            )
            .bind(permission.name())
            .fetch_all(&mut *c)
            .await
        })?;
        drop(conn);
        let mut found = Vec::with_capacity(holders.len());
        for id in holders {
            let account = AccountId::from_uuid(id);
            let access = self.access(account).await?;
            if access.has(permission) {
                found.push((account, access));
            }
        }
        Ok(found)
    }

    /// Everything an account may do: its own grants, its groups' and its department's.
    pub async fn access(&self, account: AccountId) -> Result<Access, IdentityError> {
        let mut conn = self.db.conn().await?;
        // People who use the hall hold no grants, whatever the table says.
        let info: Option<(Option<Uuid>, Option<String>)> = run!(conn, |c| {
            sqlx::query_as(
                "SELECT a.department_id, d.region_code FROM accounts a LEFT JOIN departments d ON d.id = a.department_id
                 WHERE a.id = $1 AND a.status = 'active' AND a.kind <> 'person'",
            )
            .bind(account.as_uuid())
            .fetch_optional(&mut *c)
            .await
        })?;
        let Some((department, region)) = info else { return Ok(Access::default()) };
        let rows: Vec<(String, String)> = run!(conn, |c| {
            sqlx::query_as(
                "SELECT rp.permission, g.scope FROM grants g JOIN role_permissions rp ON rp.role_id = g.role_id
                 WHERE (g.grantee_kind = 'account' AND g.grantee_id = $1)
                    OR (g.grantee_kind = 'group' AND g.grantee_id IN (SELECT group_id FROM group_members WHERE account_id = $1))
                    OR (g.grantee_kind = 'department' AND g.grantee_id = $2)",
            )
            .bind(account.as_uuid())
            .bind(department)
            .fetch_all(&mut *c)
            .await
        })?;
        drop(conn);
        let mut access = Access {
            account: Some(account),
            department: department.map(DepartmentId::from_uuid),
            region,
            ..Access::default()
        };
        for (permission, scope) in rows {
            if let (Some(p), Some(s)) = (Permission::from_name(&permission), Scope::parse(&scope)) {
                access.grants.entry(p).or_default().insert(s);
            }
        }
        let needs_subtree = access.grants.values().any(|s| s.contains(&Scope::Subtree));
        if let (true, Some(d)) = (needs_subtree, access.department) {
            access.subtree = crate::departments::subtree(&self.db, d).await?;
        }
        Ok(access)
    }
}
