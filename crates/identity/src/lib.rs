//! Identity and access: who someone is, and whether they may do something.
//!
//! - [`accounts`]: people (register with an SMS code), staff, administrators.
//! - [`passwords`]: the password rule, changing and resetting passwords; [`phone_change`]:
//!   moving to a new mobile number; [`addresses`]: a person's address book (courier delivery).
//! - [`sessions`]: sign-in, sessions and bearer tokens; [`throttle`]: locks per account and
//!   address, and the bound on password checks at once; [`codes`]: verification codes guarded
//!   against flooding (rates per address, network and hall, proof of work).
//! - [`enterprises`]: enterprises and their members.
//! - [`departments`] and [`regions`]: where staff belong.
//! - [`rbac`]: groups, roles, grants; [`access`]: permissions, data scopes, the one check.
//! - The audit log is `govhall_audit`, below this crate.
//! - [`crypto`]: SM4, SM3, Argon2id, tokens.

pub mod access;
pub mod accounts;
pub mod addresses;

pub mod clients;
pub mod codes;
pub mod crypto;
pub mod denials;
pub mod departments;
pub mod enterprises;
mod error;
pub mod ids;
pub mod passwords;
pub mod phone_change;
pub mod rbac;
pub mod regions;
pub mod sessions;
mod settings;
pub mod throttle;

pub use access::{Access, AdminRole, Permission, Scope, ScopeFilter, Target};
pub use accounts::{Account, AccountKind};
pub use crypto::Keys;
pub use error::IdentityError;
pub use ids::{AccountId, DepartmentId, EnterpriseId, GrantId, GroupId, RoleId, SessionId};
pub use settings::IdentitySettings;

use govhall_db::{Backend, Db};
use govhall_messaging::Messaging;
use std::path::Path;

/// Identity's services: cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Identity {
    db: Db,
    messaging: Messaging,
    keys: Keys,
    settings: IdentitySettings,
    /// Turns for Argon2 checks on this node.
    password_gate: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Identity {
    /// Identity over `db`, with keys from the settings (or, on SQLite without a configured key,
    /// from `<data_dir>/master.key`, made on first start).
    pub fn new(
        db: Db,
        messaging: Messaging,
        settings: IdentitySettings,
        data_dir: &Path,
    ) -> Result<Identity, IdentityError> {
        let keys = if !settings.master_key.is_empty() {
            Keys::from_hex(settings.master_key.expose())?
        } else if db.backend() == Backend::Sqlite {
            Keys::from_hex(&key_file(data_dir)?)?
        } else {
            return Err(IdentityError::Config(
                "使用 PostgreSQL 时必须配置 identity.master_key（各节点相同），可用 `govhall user gen-key` 生成"
                    .to_owned(),
            ));
        };
        let password_gate = std::sync::Arc::new(tokio::sync::Semaphore::new(settings.password_checks.max(1)));
        Ok(Identity { db, messaging, keys, settings, password_gate })
    }

    /// Makes sure what identity needs exists: the built-in roles and the regions.
    pub async fn prepare(&self) -> Result<(), IdentityError> {
        self.ensure_builtin_roles().await?;
        govhall_messaging::templates::install_default(
            &self.db,
            throttle::FLAGGED_TEMPLATE,
            govhall_messaging::Channel::Inbox,
            "安全提示：工作人员账号首次登录异常",
            "工作人员 {{ name }} 的账号首次登录：{{ why }}（地址 {{ address }}）。\n新账号应由本人用手机验证码激活并首次登录；如非本人所为，请停用该账号并核查。",
        )
        .await?;
        codes::install_templates(&self.db).await?;
        phone_change::install_templates(&self.db).await?;
        regions::ensure_imported(&self.db).await
    }

    /// The keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The settings.
    pub fn settings(&self) -> &IdentitySettings {
        &self.settings
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// Reads the node's key file, creating it (readable by its owner only) if missing.
fn key_file(data_dir: &Path) -> Result<String, IdentityError> {
    let path = data_dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(key) => Ok(key.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keys::generate_master_hex();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&path)
                .map_err(|e| IdentityError::Config(format!("无法创建密钥文件 {}：{e}", path.display())))?;
            std::io::Write::write_all(&mut file, key.as_bytes())
                .map_err(|e| IdentityError::Config(format!("无法写入密钥文件 {}：{e}", path.display())))?;
            tracing::warn!(path = %path.display(), "made a new master key for personal data: back it up with the database");
            Ok(key)
        }
        Err(e) => Err(IdentityError::Config(format!("无法读取密钥文件 {}：{e}", path.display()))),
    }
}
