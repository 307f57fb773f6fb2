//! Enterprises (法人) and their members: the person who registers an enterprise becomes its
//! administrator (管理员) and invites others as administrators or agents (经办人); a person may
//! belong to several enterprises and acts for one at a time.

use crate::ids::{AccountId, EnterpriseId};
use crate::{Identity, IdentityError};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::{CreditCode, Phone};
use govhall_db::sqlx::{self, AssertSqlSafe};
use govhall_db::{exec, run};
use uuid::Uuid;

/// An enterprise.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Enterprise {
    /// Id.
    pub id: Uuid,
    /// Unified social credit code.
    pub credit_code: String,
    /// Name.
    pub name: String,
    /// Legal representative.
    pub legal_representative: String,
    /// When registered.
    pub created_at: DateTime<Utc>,
}

/// A membership, with the enterprise's and the member's names.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Membership {
    /// The enterprise.
    pub enterprise_id: Uuid,
    /// Its name.
    pub enterprise_name: String,
    /// Its credit code.
    pub credit_code: String,
    /// The member.
    pub account_id: Uuid,
    /// The member's real name.
    pub member_name: String,
    /// `admin` or `agent`.
    pub role: String,
    /// `invited` or `active`.
    pub status: String,
}

impl Membership {
    /// The role in Chinese.
    pub fn role_label(&self) -> &'static str {
        if self.role == "admin" { "管理员" } else { "经办人" }
    }
}

/// What an enterprise's administrators keep current (企业信息维护); the credit code stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EnterpriseDetails {
    /// Name.
    pub name: String,
    /// Legal representative.
    pub legal_representative: String,
    /// Address (may be empty).
    pub address: String,
    /// Contact person (may be empty).
    pub contact_name: String,
    /// Contact mobile number (may be empty).
    pub contact_phone: String,
}

const MEMBERSHIPS: &str = "SELECT m.enterprise_id, e.name AS enterprise_name, e.credit_code, m.account_id,
                                  a.real_name AS member_name, m.role, m.status
                           FROM enterprise_members m JOIN enterprises e ON e.id = m.enterprise_id
                           JOIN accounts a ON a.id = m.account_id";

const DETAILS: &str =
    "SELECT name, legal_representative, address, contact_name, contact_phone_enc FROM enterprises WHERE id = $1";

const IS_ACTIVE_ADMIN: &str = "SELECT COUNT(*) FROM enterprise_members
    WHERE enterprise_id = $1 AND account_id = $2 AND role = 'admin' AND status = 'active'";

const ACTIVE_ADMINS: &str =
    "SELECT COUNT(*) FROM enterprise_members WHERE enterprise_id = $1 AND role = 'admin' AND status = 'active'";

fn text(field: &str, value: &str, max: usize) -> Result<String, IdentityError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(|c| c.is_control() || "<>".contains(c)) {
        return Err(IdentityError::field("invalid_field", format!("{field}不能为空，不超过 {max} 个字，且不含尖括号")));
    }
    Ok(value.to_owned())
}

impl Identity {
    /// Registers an enterprise; the person registering it becomes its administrator.
    pub async fn register_enterprise(
        &self,
        actor: &Actor,
        by: AccountId,
        credit_code: &str,
        name: &str,
        legal_representative: &str,
    ) -> Result<EnterpriseId, IdentityError> {
        let code = CreditCode::parse(credit_code)?;
        let name = text("企业名称", name, 100)?;
        let legal = text("法定代表人", legal_representative, 50)?;
        let id = EnterpriseId::new();
        let now = self.db.now();
        let mut tx = self.db.begin().await?;
        let n = exec!(
            tx,
            sqlx::query(
                "INSERT INTO enterprises (id, credit_code, name, legal_representative, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (credit_code) DO NOTHING"
            )
            .bind(id.as_uuid())
            .bind(code.as_str())
            .bind(&name)
            .bind(&legal)
            .bind(by.as_uuid())
            .bind(now)
        )?;
        if n == 0 {
            return Err(IdentityError::Conflict("该统一社会信用代码已注册，请联系企业管理员邀请您加入".to_owned()));
        }
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO enterprise_members (enterprise_id, account_id, role, status, invited_by, created_at)
                 VALUES ($1, $2, 'admin', 'active', NULL, $3)"
            )
            .bind(id.as_uuid())
            .bind(by.as_uuid())
            .bind(now)
        )?;
        audit::record(&mut tx, actor, Event::success("enterprise.register", "enterprise", id).detail(name)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One enterprise.
    pub async fn enterprise(&self, id: EnterpriseId) -> Result<Enterprise, IdentityError> {
        let mut conn = self.db.conn().await?;
        let found: Option<Enterprise> = run!(conn, |c| {
            sqlx::query_as(
                "SELECT id, credit_code, name, legal_representative, created_at FROM enterprises WHERE id = $1",
            )
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await
        })?;
        found.ok_or(IdentityError::NotFound("企业"))
    }

    /// The enterprise registered with `code`, if there is one.
    pub async fn enterprise_by_code(
        &self,
        code: &govhall_core::CreditCode,
    ) -> Result<Option<EnterpriseId>, IdentityError> {
        let mut conn = self.db.conn().await?;
        let found: Option<uuid::Uuid> =
            run!(conn, |c| sqlx::query_scalar("SELECT id FROM enterprises WHERE credit_code = $1")
                .bind(code.as_str())
                .fetch_optional(&mut *c)
                .await)?;
        Ok(found.map(EnterpriseId::from_uuid))
    }

    /// One account's membership of one enterprise.
    pub async fn membership(
        &self,
        enterprise: EnterpriseId,
        account: AccountId,
    ) -> Result<Option<Membership>, IdentityError> {
        let mut conn = self.db.conn().await?;
        let sql = format!("{MEMBERSHIPS} WHERE m.enterprise_id = $1 AND m.account_id = $2");
        Ok(run!(conn, |c| {
            sqlx::query_as(AssertSqlSafe(sql.clone()))
                .bind(enterprise.as_uuid())
                .bind(account.as_uuid())
                .fetch_optional(&mut *c)
                .await
        })?)
    }

    /// The enterprises an account belongs to or is invited to.
    pub async fn memberships_of(&self, account: AccountId) -> Result<Vec<Membership>, IdentityError> {
        let mut conn = self.db.conn().await?;
        let sql = format!("{MEMBERSHIPS} WHERE m.account_id = $1 ORDER BY e.name");
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(account.as_uuid()).fetch_all(&mut *c).await)?)
    }

    /// The members of an enterprise, for one of its administrators.
    pub async fn members(
        &self,
        enterprise: EnterpriseId,
        asked_by: AccountId,
    ) -> Result<Vec<Membership>, IdentityError> {
        self.require_enterprise_admin(enterprise, asked_by).await?;
        let mut conn = self.db.conn().await?;
        let sql = format!("{MEMBERSHIPS} WHERE m.enterprise_id = $1 ORDER BY m.created_at");
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(enterprise.as_uuid())
            .fetch_all(&mut *c)
            .await)?)
    }

    async fn require_enterprise_admin(
        &self,
        enterprise: EnterpriseId,
        account: AccountId,
    ) -> Result<(), IdentityError> {
        match self.membership(enterprise, account).await? {
            Some(m) if m.role == "admin" && m.status == "active" => Ok(()),
            _ => Err(IdentityError::Forbidden),
        }
    }

    /// Like [`Self::require_enterprise_admin`], but an enterprise the account is not an active
    /// member of answers as one that does not exist (its id tells nothing).
    async fn require_admin_of_mine(&self, enterprise: EnterpriseId, account: AccountId) -> Result<(), IdentityError> {
        match self.membership(enterprise, account).await? {
            Some(m) if m.status == "active" && m.role == "admin" => Ok(()),
            Some(m) if m.status == "active" => Err(IdentityError::Forbidden),
            _ => Err(IdentityError::NotFound("企业")),
        }
    }

    /// Invites a person, by mobile number, as `admin` or `agent`. The answer is the same
    /// whoever the number belongs to, so that inviting tells nobody who is registered: a
    /// person's account sees the invitation at once; a number without a person's account keeps
    /// it until a person registers with that number (a staff or administrator's number never
    /// does).
    pub async fn invite_member(
        &self,
        actor: &Actor,
        enterprise: EnterpriseId,
        by: AccountId,
        phone: &str,
        role: &str,
    ) -> Result<(), IdentityError> {
        self.require_enterprise_admin(enterprise, by).await?;
        if !matches!(role, "admin" | "agent") {
            return Err(IdentityError::field("invalid_member_role", "成员角色应为管理员或经办人"));
        }
        let phone = Phone::parse(phone)?;
        let invitee = self.find_login(phone.as_str()).await?.map(|(account, _)| account);
        let now = self.db.now();
        let mut tx = self.db.begin().await?;
        let n = match invitee.filter(|a| a.kind == crate::AccountKind::Person) {
            Some(person) => exec!(
                tx,
                sqlx::query(
                    "INSERT INTO enterprise_members (enterprise_id, account_id, role, status, invited_by, created_at)
                     VALUES ($1, $2, $3, 'invited', $4, $5) ON CONFLICT DO NOTHING"
                )
                .bind(enterprise.as_uuid())
                .bind(person.id.as_uuid())
                .bind(role)
                .bind(by.as_uuid())
                .bind(now)
            )?,
            None => exec!(
                tx,
                sqlx::query(
                    "INSERT INTO enterprise_invitations (enterprise_id, phone_hash, role, invited_by, created_at)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
                )
                .bind(enterprise.as_uuid())
                .bind(self.keys.lookup_hash("phone", phone.as_str()))
                .bind(role)
                .bind(by.as_uuid())
                .bind(now)
            )?,
        };
        if n == 0 {
            return Err(IdentityError::Conflict("该手机号码已被邀请或已是该企业成员".to_owned()));
        }
        audit::record(&mut tx, actor, Event::success("enterprise.invite", "enterprise", enterprise).detail(role))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Turns the invitations kept for a mobile number into invitations of the person who has
    /// just registered with it (in the registration's transaction).
    pub(crate) async fn claim_invitations(
        &self,
        tx: &mut govhall_db::Tx,
        person: AccountId,
        phone: &Phone,
    ) -> Result<(), IdentityError> {
        let hash = self.keys.lookup_hash("phone", phone.as_str());
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO enterprise_members (enterprise_id, account_id, role, status, invited_by, created_at)
                 SELECT enterprise_id, $1, role, 'invited', invited_by, created_at FROM enterprise_invitations
                 WHERE phone_hash = $2 ON CONFLICT DO NOTHING"
            )
            .bind(person.as_uuid())
            .bind(&hash)
        )?;
        exec!(tx, sqlx::query("DELETE FROM enterprise_invitations WHERE phone_hash = $1").bind(&hash))?;
        Ok(())
    }

    /// Accepts an invitation addressed to this account.
    pub async fn accept_invitation(
        &self,
        actor: &Actor,
        enterprise: EnterpriseId,
        account: AccountId,
    ) -> Result<(), IdentityError> {
        let mut tx = self.db.begin().await?;
        let n = exec!(
            tx,
            sqlx::query(
                "UPDATE enterprise_members SET status = 'active'
                 WHERE enterprise_id = $1 AND account_id = $2 AND status = 'invited'"
            )
            .bind(enterprise.as_uuid())
            .bind(account.as_uuid())
        )?;
        if n == 0 {
            return Err(IdentityError::NotFound("邀请"));
        }
        audit::record(&mut tx, actor, Event::success("enterprise.join", "enterprise", enterprise)).await?;
        tx.commit().await?;
        Ok(())
    }
    /// Removes a member (or an invitation) of an enterprise, for one of its administrators; the
    /// member loses the enterprise's cases, licences and materials at once. An enterprise keeps
    /// at least one active administrator.
    pub async fn remove_member(
        &self,
        actor: &Actor,
        enterprise: EnterpriseId,
        by: AccountId,
        member: AccountId,
    ) -> Result<(), IdentityError> {
        self.require_admin_of_mine(enterprise, by).await?;
        let mut tx = self.db.begin().await?;
        // The enterprise's row first: two administrators removing each other at once take turns,
        // and the remover is checked again as the turn found them.
        exec!(tx, sqlx::query("UPDATE enterprises SET name = name WHERE id = $1").bind(enterprise.as_uuid()))?;
        let still: i64 = run!(tx, |c| sqlx::query_scalar(IS_ACTIVE_ADMIN)
            .bind(enterprise.as_uuid())
            .bind(by.as_uuid())
            .fetch_one(&mut *c)
            .await)?;
        if still == 0 {
            tx.rollback().await?;
            return Err(IdentityError::Forbidden);
        }
        let n = exec!(
            tx,
            sqlx::query("DELETE FROM enterprise_members WHERE enterprise_id = $1 AND account_id = $2")
                .bind(enterprise.as_uuid())
                .bind(member.as_uuid())
        )?;
        if n == 0 {
            return Err(IdentityError::NotFound("企业成员"));
        }
        let admins: i64 =
            run!(tx, |c| sqlx::query_scalar(ACTIVE_ADMINS).bind(enterprise.as_uuid()).fetch_one(&mut *c).await)?;
        if admins == 0 {
            tx.rollback().await?;
            return Err(IdentityError::Conflict("企业至少要保留一名管理员".to_owned()));
        }
        let event =
            Event::success("enterprise.remove_member", "enterprise", enterprise).detail(format!("成员 {member}"));
        audit::record(&mut tx, actor, event).await?;
        tx.commit().await?;
        Ok(())
    }
    /// The details of an enterprise, for one of its active members.
    pub async fn enterprise_details(
        &self,
        enterprise: EnterpriseId,
        asked_by: AccountId,
    ) -> Result<EnterpriseDetails, IdentityError> {
        match self.membership(enterprise, asked_by).await? {
            Some(m) if m.status == "active" => {}
            _ => return Err(IdentityError::NotFound("企业")),
        }
        let mut conn = self.db.conn().await?;
        let row: Option<(String, String, String, String, String)> =
            run!(conn, |c| sqlx::query_as(DETAILS).bind(enterprise.as_uuid()).fetch_optional(&mut *c).await)?;
        let (name, legal_representative, address, contact_name, phone_enc) =
            row.ok_or(IdentityError::NotFound("企业"))?;
        let contact_phone = if phone_enc.is_empty() { String::new() } else { self.keys.decrypt(&phone_enc)? };
        Ok(EnterpriseDetails { name, legal_representative, address, contact_name, contact_phone })
    }

    /// Changes an enterprise's details, for one of its administrators; the audit log names the
    /// fields changed (and the old and new name).
    pub async fn update_enterprise(
        &self,
        actor: &Actor,
        enterprise: EnterpriseId,
        by: AccountId,
        details: &EnterpriseDetails,
    ) -> Result<EnterpriseDetails, IdentityError> {
        self.require_admin_of_mine(enterprise, by).await?;
        let old = self.enterprise_details(enterprise, by).await?;
        let optional = |field: &str, value: &str, max: usize| {
            if value.trim().is_empty() { Ok(String::new()) } else { text(field, value, max) }
        };
        let new = EnterpriseDetails {
            name: text("企业名称", &details.name, 100)?,
            legal_representative: text("法定代表人", &details.legal_representative, 50)?,
            address: optional("企业地址", &details.address, 200)?,
            contact_name: optional("联系人", &details.contact_name, 50)?,
            contact_phone: match details.contact_phone.trim() {
                "" => String::new(),
                typed => Phone::parse(typed)?.as_str().to_owned(),
            },
        };
        let mut changed = Vec::new();
        if new.name != old.name {
            changed.push(format!("企业名称：{} → {}", old.name, new.name));
        }
        for (label, a, b) in [
            ("法定代表人", &old.legal_representative, &new.legal_representative),
            ("企业地址", &old.address, &new.address),
            ("联系人", &old.contact_name, &new.contact_name),
            ("联系电话", &old.contact_phone, &new.contact_phone),
        ] {
            if a != b {
                changed.push(label.to_owned());
            }
        }
        if changed.is_empty() {
            return Ok(new);
        }
        let sealed = if new.contact_phone.is_empty() { String::new() } else { self.keys.encrypt(&new.contact_phone) };
        let mut tx = self.db.begin().await?;
        exec!(
            tx,
            sqlx::query(
                "UPDATE enterprises SET name = $1, legal_representative = $2, address = $3, contact_name = $4,
                    contact_phone_enc = $5, updated_at = $6 WHERE id = $7"
            )
            .bind(&new.name)
            .bind(&new.legal_representative)
            .bind(&new.address)
            .bind(&new.contact_name)
            .bind(&sealed)
            .bind(self.db.now())
            .bind(enterprise.as_uuid())
        )?;
        let event = Event::success("enterprise.update", "enterprise", enterprise).detail(changed.join("；"));
        audit::record(&mut tx, actor, event).await?;
        tx.commit().await?;
        Ok(new)
    }
}
