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
    /// Wrong passwords in a row, for one account from one client address, that lock the
    /// account for that address.
    pub lockout_failures: i32,
    /// How long the first lock lasts; each further lock lasts twice the last (at most a day).
    pub lockout_minutes: i64,
    /// Sign-in attempts from one client address within 15 minutes before it must wait
    /// (whatever the logins name, known or not).
    pub address_failures: i64,
    /// Password checks (Argon2id, about 19 MiB each) at once on one node.
    pub password_checks: usize,
    /// How long a sign-in waits for a turn before it is answered `busy`.
    pub password_wait_ms: u64,
    /// Verification codes one client address may ask for within an hour before it must solve a
    /// proof-of-work challenge.
    pub code_address_hourly: i64,
    /// The same for the address's network (IPv4 /24, IPv6 /64).
    pub code_network_hourly: i64,
    /// Codes the whole hall sends within a minute before everyone must solve a challenge (and
    /// the operators are alarmed in the log).
    pub code_hall_per_minute: i64,
    /// Codes one client address may ask for within a day, challenge or not.
    pub code_address_daily: i64,
    /// Leading zero bits a proof-of-work answer needs (each bit doubles the work).
    pub challenge_bits: u32,
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
            password_checks: 4,
            password_wait_ms: 2_000,
            code_address_hourly: 5,
            code_network_hourly: 20,
            code_hall_per_minute: 60,
            code_address_daily: 20,
            challenge_bits: 18,
        }
    }
}
