//! Identity's part of the configuration (`[identity]`).

use govhall_core::Secret;
use serde::{Deserialize, Serialize};

/// Keys, session lifetimes and login throttling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentitySettings {
    /// The master key (64 hex digits) from which the SM4 key for personal data, the look-up hash
    /// key and the CSRF key derive. On SQLite, when empty, a key is made on first start and kept
    /// in `<data_dir>/master.key`; on PostgreSQL it must be set (every node needs the same one).
    pub master_key: Secret,
    /// A web session ends after this many minutes without a request.
    pub session_idle_minutes: i64,
    /// A web session ends this many hours after sign-in, however active.
    pub session_absolute_hours: i64,
    /// An API bearer token lasts this many days.
    pub api_token_days: i64,
    /// Wrong passwords in a row that lock an account.
    pub lockout_failures: i32,
    /// How long a locked account stays locked.
    pub lockout_minutes: i64,
    /// Failed logins from one client address within 15 minutes before it must wait.
    pub address_failures: i64,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            master_key: Secret::default(),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            api_token_days: 30,
            lockout_failures: 5,
            lockout_minutes: 15,
            address_failures: 30,
        }
    }
}
