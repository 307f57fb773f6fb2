//! Accounts: people who register themselves, staff and administrators created for them.
//! Mobile and ID numbers are stored SM4-encrypted with a keyed hash beside them for look-ups.

use crate::access::AdminRole;
use crate::codes::CodeRequest;
use crate::ids::{AccountId, DepartmentId};
use crate::passwords::check_password;
use crate::{Identity, IdentityError};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::{Phone, ResidentId};
use govhall_db::sqlx::{self, AssertSqlSafe};
use govhall_db::{Tx, exec, run};
use govhall_messaging::Recipient;
use govhall_messaging::verification;
use uuid::Uuid;

/// What kind of account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// 个人: registered themselves.
    Person,
    /// 工作人员: created by an administrator, in a department.
    Staff,
    /// 管理员: one of the three administrator roles.
    Admin(AdminRole),
}

impl AccountKind {
    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            AccountKind::Person => "个人用户",
            AccountKind::Staff => "工作人员",
            AccountKind::Admin(role) => role.label(),
        }
    }
}

/// An account with its personal data decrypted. Show it masked unless the viewer may see more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Id.
    pub id: AccountId,
    /// Person, staff or administrator.
    pub kind: AccountKind,
    /// Real name.
    pub real_name: String,
    /// Mobile number.
    pub phone: Phone,
    /// Resident ID number (people; optional for staff and administrators).
    pub id_number: Option<ResidentId>,
    /// Department (staff).
    pub department_id: Option<DepartmentId>,
    /// Whether it may sign in.
    pub active: bool,
    /// Created by an administrator and not yet given a password by its owner.
    pub activation_pending: bool,
    /// Locked after wrong passwords until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// Last successful sign-in.
    pub last_login_at: Option<DateTime<Utc>>,
}

impl Account {
    /// The mobile number as shown to most people: 138****5678.
    pub fn phone_masked(&self) -> String {
        self.phone.masked()
    }

    /// The ID number as shown to most people: 3701**********1234.
    pub fn id_number_masked(&self) -> String {
        self.id_number.as_ref().map(ResidentId::masked).unwrap_or_default()
    }

    /// How the audit log names this account: kind and real name, never a number.
    pub fn audit_label(&self) -> String {
        format!("{}:{}", self.kind.label(), self.real_name)
    }
}

#[derive(Clone, sqlx::FromRow)]
pub(crate) struct Row {
    pub(crate) id: Uuid,
    kind: String,
    real_name: String,
    phone_enc: String,
    id_number_enc: Option<String>,
    department_id: Option<Uuid>,
    admin_role: Option<String>,
    status: String,
    pub(crate) password_hash: String,
    pub(crate) activation_pending: bool,
    locked_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    last_login_at: Option<DateTime<Utc>>,
}

pub(crate) const COLUMNS: &str = "id, kind, real_name, phone_enc, id_number_enc, department_id, admin_role, status, \
                                  password_hash, activation_pending, locked_until, created_at, \
                                  last_login_at";

/// The fields a person fills in to register.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    /// Mobile number.
    pub phone: String,
    /// The SMS code sent to it.
    pub code: String,
    /// Password.
    pub password: String,
    /// Real name.
    pub real_name: String,
    /// Resident ID number.
    pub id_number: String,
}

/// The fields an administrator fills in for a staff member.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Mobile number.
    pub phone: String,
    /// Real name.
    pub real_name: String,
    /// Resident ID number, if given.
    pub id_number: String,
    /// Their department.
    pub department: DepartmentId,
}

fn check_name(name: &str) -> Result<String, IdentityError> {
    let name = name.trim();
    let len = name.chars().count();
    if !(2..=50).contains(&len) || name.chars().any(|c| c.is_control() || "<>\"'&".contains(c)) {
        return Err(IdentityError::field("invalid_real_name", "姓名应为 2 到 50 个字，且不含特殊符号"));
    }
    Ok(name.to_owned())
}

/// The password of an account waiting for activation: no Argon2 string, so nothing matches it.
const UNUSABLE_PASSWORD: &str = "!activation-pending";

/// The purpose of registration codes.
pub const REGISTER: &str = "register";
impl Identity {
    pub(crate) fn account_from(&self, row: Row) -> Result<Account, IdentityError> {
        let kind = match (row.kind.as_str(), row.admin_role.as_deref().and_then(AdminRole::parse)) {
            ("person", _) => AccountKind::Person,
            ("staff", _) => AccountKind::Staff,
            ("admin", Some(role)) => AccountKind::Admin(role),
            _ => return Err(IdentityError::Internal(format!("unknown account kind {}", row.kind))),
        };
        let phone = Phone::parse(&self.keys.decrypt(&row.phone_enc)?)?;
        let id_number = match row.id_number_enc {
            // Stored numbers were valid when stored; parse without the birth-date bound of today.
            Some(enc) => Some(ResidentId::parse(&self.keys.decrypt(&enc)?)?),
            None => None,
        };
        Ok(Account {
            id: AccountId::from_uuid(row.id),
            kind,
            real_name: row.real_name,
            phone,
            id_number,
            department_id: row.department_id.map(DepartmentId::from_uuid),
            active: row.status == "active",
            activation_pending: row.activation_pending,
            locked_until: row.locked_until,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
        })
    }

    /// One account.
    pub async fn account(&self, id: AccountId) -> Result<Account, IdentityError> {
        let mut conn = self.db.conn().await?;
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1");
        let row: Option<Row> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        self.account_from(row.ok_or(IdentityError::NotFound("账号"))?)
    }

    /// The keyed hash an ID number is looked up by (accounts' `id_number_hash`; the cases of a
    /// person without an account keep it to join their account later).
    pub fn id_number_key(&self, id_number: &ResidentId) -> String {
        self.keys.lookup_hash("id_number", id_number.as_str())
    }

    /// The active person account registered with `id_number`, if there is one.
    pub async fn person_by_id_number(&self, id_number: &ResidentId) -> Result<Option<AccountId>, IdentityError> {
        let mut conn = self.db.conn().await?;
        let found: Option<uuid::Uuid> = run!(conn, |c| sqlx::query_scalar(
            "SELECT id FROM accounts WHERE id_number_hash = $1 AND kind = 'person' AND status = 'active'"
        )
        .bind(self.id_number_key(id_number))
        .fetch_optional(&mut *c)
        .await)?;
        Ok(found.map(AccountId::from_uuid))
    }

    /// The stored row of the account a person names by mobile number or ID number.
    pub(crate) async fn find_login(&self, login: &str) -> Result<Option<(Account, Row)>, IdentityError> {
        let login = login.trim();
        let hash = if let Ok(phone) = Phone::parse(login) {
            ("phone_hash", self.keys.lookup_hash("phone", phone.as_str()))
        } else if let Ok(id) = ResidentId::parse(login) {
            ("id_number_hash", self.keys.lookup_hash("id_number", id.as_str()))
        } else {
            return Ok(None);
        };
        let mut conn = self.db.conn().await?;
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE {} = $1", hash.0);
        let row: Option<Row> =
            run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(&hash.1).fetch_optional(&mut *c).await)?;
        match row {
            Some(row) => {
                let account = self.account_from(row.clone())?;
                Ok(Some((account, row)))
            }
            None => Ok(None),
        }
    }

    /// The id of the account a login (mobile or ID number) names, if any.
    pub async fn find_account(&self, login: &str) -> Result<Option<AccountId>, IdentityError> {
        Ok(self.find_login(login).await?.map(|(account, _)| account.id))
    }

    pub(crate) async fn phone_taken(&self, phone: &Phone) -> Result<bool, IdentityError> {
        let mut conn = self.db.conn().await?;
        let hash = self.keys.lookup_hash("phone", phone.as_str());
        let n: i64 = run!(conn, |c| {
            sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE phone_hash = $1")
                .bind(&hash)
                .fetch_one(&mut *c)
                .await
        })?;
        Ok(n > 0)
    }

    /// Sends a registration code by SMS to a mobile number that has no account yet. A number
    /// that has one gets an SMS saying so (and how to reset the password) instead: the answer
    /// here, the interval between sends and the work done are the same either way, so that the
    /// form does not tell who is registered.
    pub async fn send_registration_code(&self, phone: &str, request: &CodeRequest) -> Result<(), IdentityError> {
        let phone = Phone::parse(phone)?;
        self.guard_code_request(request).await?;
        let to = Recipient::Phone(phone.clone());
        if self.phone_taken(&phone).await? {
            let notice = (crate::codes::ALREADY_REGISTERED, serde_json::json!({}));
            verification::issue_notice(&self.db, &self.messaging, REGISTER, &to, notice).await?;
        } else {
            verification::issue(&self.db, &self.messaging, REGISTER, "注册账号", &to).await?;
        }
        Ok(())
    }

    /// Registers a person once every field is valid and the SMS code is right. The code is
    /// checked before anything is said about the number, so that only its holder learns
    /// whether it is taken.
    pub async fn register_person(&self, form: &Registration, client_ip: &str) -> Result<AccountId, IdentityError> {
        let phone = Phone::parse(&form.phone)?;
        let real_name = check_name(&form.real_name)?;
        let id_number = ResidentId::parse_on(&form.id_number, self.db.now().date_naive())?;
        check_password(&form.password)?;
        verification::check(&self.db, &self.messaging, REGISTER, &Recipient::Phone(phone.clone()), &form.code).await?;
        if self.phone_taken(&phone).await? {
            return Err(IdentityError::AlreadyRegistered("手机号码"));
        }
        let password_hash = self.hash_new_password(form.password.clone()).await?;
        let id = AccountId::new();
        let mut tx = self.db.begin().await?;
        self.insert_account(&mut tx, id, "person", &real_name, &phone, Some(&id_number), None, None, &password_hash)
            .await?;
        self.claim_invitations(&mut tx, id, &phone).await?;
        let actor = Actor { id: Some(id), label: format!("个人用户:{real_name}"), client_ip: client_ip.to_owned() };
        audit::record(&mut tx, &actor, Event::success("account.register", "account", id)).await?;
        tx.commit().await?;
        Ok(id)
    }

    #[expect(clippy::too_many_arguments, reason = "one row's columns")]
    async fn insert_account(
        &self,
        tx: &mut Tx,
        id: AccountId,
        kind: &str,
        real_name: &str,
        phone: &Phone,
        id_number: Option<&ResidentId>,
        department: Option<DepartmentId>,
        admin_role: Option<AdminRole>,
        password_hash: &str,
    ) -> Result<(), IdentityError> {
        let id_hash = id_number.map(|n| self.keys.lookup_hash("id_number", n.as_str()));
        if let Some(hash) = &id_hash {
            let taken: i64 = run!(tx, |c| {
                sqlx::query_scalar("SELECT COUNT(*) FROM accounts WHERE id_number_hash = $1")
                    .bind(hash)
                    .fetch_one(&mut *c)
                    .await
            })?;
            if taken > 0 {
                return Err(IdentityError::AlreadyRegistered("身份证号码"));
            }
        }
        let inserted = exec!(
            tx,
            sqlx::query(
                "INSERT INTO accounts (id, kind, real_name, phone_enc, phone_hash, id_number_enc, id_number_hash,
                                       password_hash, department_id, admin_role, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING"
            )
            .bind(id.as_uuid())
            .bind(kind)
            .bind(real_name)
            .bind(self.keys.encrypt(phone.as_str()))
            .bind(self.keys.lookup_hash("phone", phone.as_str()))
            .bind(id_number.map(|n| self.keys.encrypt(n.as_str())))
            .bind(&id_hash)
            .bind(password_hash)
            .bind(department.map(|d| d.as_uuid()))
            .bind(admin_role.map(AdminRole::as_str))
            .bind(self.db.now())
        )?;
        if inserted == 0 {
            return Err(IdentityError::AlreadyRegistered("手机号码"));
        }
        Ok(())
    }

    /// Creates a staff account in a department (by an administrator holding `staff.manage`).
    /// It has no password: its owner activates it with an SMS code to their own phone and sets
    /// one ("忘记密码/激活账号"), so that no administrator ever chooses or learns it.
    pub async fn create_staff(&self, actor: &Actor, form: &NewStaff) -> Result<AccountId, IdentityError> {
        let phone = Phone::parse(&form.phone)?;
        let real_name = check_name(&form.real_name)?;
        let id_number = match form.id_number.trim() {
            "" => None,
            n => Some(ResidentId::parse_on(n, self.db.now().date_naive())?),
        };
        if crate::departments::get(&self.db, form.department).await?.is_none() {
            return Err(IdentityError::NotFound("部门"));
        }
        let id = AccountId::new();
        let mut tx = self.db.begin().await?;
        self.insert_account(
            &mut tx,
            id,
            "staff",
            &real_name,
            &phone,
            id_number.as_ref(),
            Some(form.department),
            None,
            UNUSABLE_PASSWORD,
        )
        .await?;
        exec!(
            tx,
            sqlx::query("UPDATE accounts SET activation_pending = $1 WHERE id = $2").bind(true).bind(id.as_uuid())
        )?;
        audit::record(&mut tx, actor, Event::success("staff.create", "account", id).detail(real_name)).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Creates an administrator holding exactly one of the three administrator roles (from the
    /// command line: `govhall user add-admin`).
    pub async fn create_admin(
        &self,
        actor: &Actor,
        role: AdminRole,
        phone: &str,
        real_name: &str,
        password: &str,
    ) -> Result<AccountId, IdentityError> {
        let phone = Phone::parse(phone)?;
        let real_name = check_name(real_name)?;
        check_password(password)?;
        let role_id = self.builtin_role(role).await?;
        let password_hash = self.hash_new_password(password.to_owned()).await?;
        let id = AccountId::new();
        let mut tx = self.db.begin().await?;
        self.insert_account(&mut tx, id, "admin", &real_name, &phone, None, None, Some(role), &password_hash).await?;
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO grants (id, role_id, grantee_kind, grantee_id, scope, created_by, created_at)
                 VALUES ($1, $2, 'account', $3, 'all', NULL, $4)"
            )
            .bind(Uuid::now_v7())
            .bind(role_id.as_uuid())
            .bind(id.as_uuid())
            .bind(self.db.now())
        )?;
        audit::record(&mut tx, actor, Event::success("admin.create", "account", id).detail(role.label())).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Enables or disables an account; disabling ends its sessions.
    pub async fn set_active(&self, actor: &Actor, id: AccountId, active: bool) -> Result<(), IdentityError> {
        let mut tx = self.db.begin().await?;
        let status = if active { "active" } else { "disabled" };
        let n = exec!(
            tx,
            sqlx::query("UPDATE accounts SET status = $1, failed_logins = 0, locked_until = NULL WHERE id = $2")
                .bind(status)
                .bind(id.as_uuid())
        )?;
        if n == 0 {
            return Err(IdentityError::NotFound("账号"));
        }
        if !active {
            exec!(
                tx,
                sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
                    .bind(self.db.now())
                    .bind(id.as_uuid())
            )?;
        }
        let action = if active { "account.enable" } else { "account.disable" };
        audit::record(&mut tx, actor, Event::success(action, "account", id)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Accounts of one kind (`person`, `staff`, `admin`), newest first; staff of `department` only
    /// when given.
    pub async fn list_accounts(
        &self,
        kind: &str,
        department: Option<DepartmentId>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Account>, IdentityError> {
        let mut conn = self.db.conn().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts WHERE kind = $1 AND ($2 IS NULL OR department_id = $2)
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let rows: Vec<Row> = run!(conn, |c| {
            sqlx::query_as(AssertSqlSafe(sql.clone()))
                .bind(kind)
                .bind(department.map(|d| d.as_uuid()))
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut *c)
                .await
        })?;
        rows.into_iter().map(|r| self.account_from(r)).collect()
    }
}

impl Identity {
    /// An account with its numbers in full, for a viewer whose grant of
    /// `person.view_personal_data` reaches it; every view, and every refusal, is audited.
    pub async fn reveal_personal_data(
        &self,
        actor: &Actor,
        access: &crate::Access,
        id: AccountId,
    ) -> Result<Account, IdentityError> {
        let account = self.account(id).await?;
        let target = crate::Target { owner: Some(id), department: account.department_id, region: None };
        let allowed = access.covers(crate::Permission::PersonViewPersonalData, &target);
        let outcome = if allowed { audit::Outcome::Success } else { audit::Outcome::Denied };
        audit::record_alone(
            &self.db,
            actor,
            Event::success("person.view_personal_data", "account", id).outcome(outcome),
        )
        .await?;
        if allowed { Ok(account) } else { Err(IdentityError::Forbidden) }
    }
}
