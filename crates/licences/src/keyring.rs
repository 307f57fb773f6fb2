//! The keys licences are verified with. Every key the hall signs with is registered here on
//! start (its public half; the private key stays in its file), so that after a rotation
//! (`govhall keys licences-rotate`: a new key file, the old one set aside) licences signed with
//! an earlier key still verify. A key withdrawn (`govhall keys licences-withdraw`, for a key that
//! leaked) vouches for nothing it signed: verification says so. Nodes keep what they read for a
//! minute, so a withdrawal reaches every node within a minute.

use crate::signing::PublicKey;
use crate::{LicenceError, Licences};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{exec, run, sqlx};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a node trusts what it read of a key.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// A key as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct KnownKey {
    /// Its id (the first 16 hex digits of the SM3 hash of its public point).
    pub key_id: String,
    /// Its public half (SPKI PEM).
    pub public_pem: String,
    /// The SM2 distinguishing identifier it signs with.
    pub distid: String,
    /// When a node first signed with it.
    pub first_seen: DateTime<Utc>,
    /// When it was withdrawn, if it was.
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Why.
    pub withdrawn_reason: String,
}

/// What a key says of a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyCheck {
    /// The key signed it.
    Good,
    /// The key did not sign it (the data changed).
    Bad,
    /// The hall never signed with this key.
    Unknown,
    /// The key was withdrawn.
    Withdrawn,
}

/// A key as a node read it: its public half and whether it is withdrawn; `None`: no such key.
type Entry = Option<(PublicKey, bool)>;

/// What a node keeps of the keys it read, with when it read them.
#[derive(Debug, Default)]
pub(crate) struct Keyring {
    cached: std::sync::Mutex<HashMap<String, (Entry, Instant)>>,
}

impl Licences {
    /// Registers the key this node signs with (once; a key seen before keeps its record).
    pub(crate) async fn register_key(&self) -> Result<(), LicenceError> {
        let key = self.key();
        let mut conn = self.db().conn().await?;
        exec!(
            conn,
            sqlx::query(
                "INSERT INTO licence_keys (key_id, public_pem, distid, first_seen) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key_id) DO NOTHING"
            )
            .bind(key.id())
            .bind(key.public_pem())
            .bind(key.distid())
            .bind(self.db().now())
        )?;
        Ok(())
    }

    /// Every key the hall has signed with, oldest first.
    pub async fn known_keys(&self) -> Result<Vec<KnownKey>, LicenceError> {
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(
            "SELECT key_id, public_pem, distid, first_seen, withdrawn_at, withdrawn_reason FROM licence_keys
             ORDER BY first_seen, key_id"
        )
        .fetch_all(&mut *c)
        .await)?)
    }

    /// Withdraws key `key_id` (it leaked): nothing it signed counts as genuine any more. The key
    /// the hall signs with now cannot be withdrawn: rotate first.
    pub async fn withdraw_key(&self, actor: &Actor, key_id: &str, reason: &str) -> Result<(), LicenceError> {
        let reason = govhall_core::text::clean(reason.trim()).into_owned();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(LicenceError::Invalid("请填写停用原因（不超过 200 字）".into()));
        }
        if key_id == self.key().id() {
            return Err(LicenceError::WrongState("这是当前正在使用的签名密钥，请先轮换密钥再停用它".into()));
        }
        let mut tx = self.db().begin().await?;
        let now = tx.db().now();
        let changed = exec!(
            tx,
            sqlx::query(
                "UPDATE licence_keys SET withdrawn_at = $1, withdrawn_reason = $2 WHERE key_id = $3 AND withdrawn_at IS NULL"
            )
            .bind(now)
            .bind(&reason)
            .bind(key_id)
        )?;
        if changed == 0 {
            return Err(LicenceError::Invalid(format!("签名密钥 {key_id} 不存在或已停用")));
        }
        audit::record(&mut tx, actor, Event::success("licence.key_withdraw", "licence_key", key_id).detail(reason))
            .await?;
        tx.commit().await?;
        self.keyring().forget(key_id);
        Ok(())
    }

    /// What key `key_id` says of `signature` over `bytes`.
    pub(crate) async fn check_signature(
        &self,
        key_id: &str,
        bytes: &[u8],
        signature: &str,
    ) -> Result<KeyCheck, LicenceError> {
        let cached = self.keyring().get(key_id);
        let entry = match cached {
            Some(entry) => entry,
            None => {
                let mut conn = self.db().conn().await?;
                let row: Option<(String, String, Option<DateTime<Utc>>)> = run!(conn, |c| sqlx::query_as(
                    "SELECT public_pem, distid, withdrawn_at FROM licence_keys WHERE key_id = $1"
                )
                .bind(key_id)
                .fetch_optional(&mut *c)
                .await)?;
                let entry = match row {
                    Some((pem, distid, withdrawn)) => Some((PublicKey::from_pem(&pem, &distid)?, withdrawn.is_some())),
                    // The node's own key verifies before it is registered (a first start).
                    None if key_id == self.key().id() => {
                        Some((PublicKey::from_pem(self.key().public_pem(), self.key().distid())?, false))
                    }
                    None => None,
                };
                self.keyring().put(key_id, entry.clone());
                entry
            }
        };
        Ok(match entry {
            None => KeyCheck::Unknown,
            Some((_, true)) => KeyCheck::Withdrawn,
            Some((key, false)) if key.verify(bytes, signature) => KeyCheck::Good,
            Some(_) => KeyCheck::Bad,
        })
    }
}

impl Keyring {
    fn get(&self, key_id: &str) -> Option<Entry> {
        let cached = self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cached.get(key_id).filter(|(_, at)| at.elapsed() < FRESH_FOR).map(|(entry, _)| entry.clone())
    }

    fn put(&self, key_id: &str, entry: Entry) {
        let mut cached = self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached.len() > 1000 {
            cached.clear();
        }
        cached.insert(key_id.to_owned(), (entry, Instant::now()));
    }

    fn forget(&self, key_id: &str) {
        self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key_id);
    }
}
