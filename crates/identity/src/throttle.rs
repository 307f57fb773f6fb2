//! Sign-in locks per account and client address, and the bound on password checks at once.
//!
//! A wrong password locks the account for the address that sent it, not for everyone: whoever
//! guesses from one address cannot lock the owner out elsewhere. Each lock lasts twice the last
//! (15, 30, 60 … minutes, at most a day); a day without attempts forgets the earlier locks. A
//! login that names no account is locked the same way, so that a lock says nothing about who is
//! registered. The security administrator can lift the locks of an account.
//!
//! Every attempt is counted before its password is checked, with one atomic upsert that returns
//! the count: attempts sent at once see consecutive counts, and only the first
//! `lockout_failures` of them are checked at all.

use crate::crypto::dummy_password_hash;
use crate::ids::AccountId;
use crate::{Account, Identity, IdentityError};
use chrono::{DateTime, Duration, Utc};
use govhall_audit::{self as audit, Actor, Event, Outcome};
use govhall_db::{Tx, exec, run, sqlx};
use uuid::Uuid;

/// Whom a sign-in attempt is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Subject {
    /// An account the login named.
    Account(AccountId),
    /// A login that names no account (its keyed hash).
    Login(String),
}

impl Subject {
    fn key(&self) -> String {
        match self {
            Subject::Account(id) => format!("account:{id}"),
            Subject::Login(hash) => format!("login:{hash}"),
        }
    }
}

/// Whether an attempt may have its password checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Check it.
    Open,
    /// Locked for about this many minutes more.
    Locked(i64),
}

/// The longest lock.
const MAX_LOCK_MINUTES: i64 = 24 * 60;

/// A lock currently in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLock {
    /// The account locked (`None`: a login that names no account).
    pub account: Option<AccountId>,
    /// The address it is locked for.
    pub client_ip: String,
    /// How many times it has been locked in a row.
    pub locks: i32,
    /// Until when.
    pub locked_until: DateTime<Utc>,
}

fn minutes_until(until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (((until - now).num_seconds() + 59) / 60).max(1)
}

impl Identity {
    fn lock_minutes(&self, locks: i32) -> i64 {
        let doublings = u32::try_from(locks.clamp(0, 10)).unwrap_or(0);
        (self.settings.lockout_minutes.max(1) * 2_i64.pow(doublings)).min(MAX_LOCK_MINUTES)
    }

    /// Counts an attempt for `subject` from `client_ip`, then says whether it may be checked.
    pub(crate) async fn count_attempt(&self, subject: &Subject, client_ip: &str) -> Result<Gate, IdentityError> {
        let now = self.db.now();
        let forget_before = now - Duration::days(1);
        let mut conn = self.db.conn().await?;
        let (attempts, locks, locked_until): (i32, i32, Option<DateTime<Utc>>) = run!(conn, |c| {
            sqlx::query_as(
                "INSERT INTO login_locks (subject, client_ip, attempts, locks, locked_until, updated_at)
                 VALUES ($1, $2, 1, 0, NULL, $3)
                 ON CONFLICT (subject, client_ip) DO UPDATE SET
                     attempts = CASE WHEN login_locks.locked_until IS NOT NULL AND login_locks.locked_until > $3
                                     THEN login_locks.attempts ELSE login_locks.attempts + 1 END,
                     locks = CASE WHEN login_locks.updated_at < $4 THEN 0 ELSE login_locks.locks END,
                     updated_at = $3
                 RETURNING attempts, locks, locked_until",
            )
            .bind(subject.key())
            .bind(client_ip)
            .bind(now)
            .bind(forget_before)
            .fetch_one(&mut *c)
            .await
        })?;
        if let Some(until) = locked_until.filter(|u| *u > now) {
            return Ok(Gate::Locked(minutes_until(until, now)));
        }
        if attempts > self.settings.lockout_failures.max(1) {
            // Beyond the limit while the earlier attempts are still being checked: the lock
            // they will set is the answer.
            return Ok(Gate::Locked(self.lock_minutes(locks)));
        }
        Ok(Gate::Open)
    }

    /// After a wrong password: locks `subject` for the address when its attempts reached the
    /// limit; returns the lock's minutes.
    pub(crate) async fn count_failure(&self, subject: &Subject, client_ip: &str) -> Result<Option<i64>, IdentityError> {
        let now = self.db.now();
        let mut tx = self.db.begin().await?;
        let row: Option<(i32, i32)> = run!(tx, |c| {
            sqlx::query_as("SELECT attempts, locks FROM login_locks WHERE subject = $1 AND client_ip = $2")
                .bind(subject.key())
                .bind(client_ip)
                .fetch_optional(&mut *c)
                .await
        })?;
        let Some((attempts, locks)) = row else { return Ok(None) };
        if attempts < self.settings.lockout_failures.max(1) {
            return Ok(None);
        }
        let minutes = self.lock_minutes(locks);
        // Conditional: of two failures reaching the limit at once, one sets the lock.
        let set = exec!(
            tx,
            sqlx::query(
                "UPDATE login_locks SET attempts = 0, locks = locks + 1, locked_until = $1, updated_at = $2
                 WHERE subject = $3 AND client_ip = $4 AND attempts >= $5
                   AND (locked_until IS NULL OR locked_until <= $2)"
            )
            .bind(now + Duration::minutes(minutes))
            .bind(now)
            .bind(subject.key())
            .bind(client_ip)
            .bind(self.settings.lockout_failures.max(1))
        )?;
        tx.commit().await?;
        if set > 0 {
            tracing::info!(minutes, "sign-in locked for an address");
        }
        Ok(Some(minutes))
    }

    /// After a right password: forgets the attempts and locks of `subject` at the address.
    pub(crate) async fn clear_attempts(
        &self,
        tx: &mut Tx,
        subject: &Subject,
        client_ip: &str,
    ) -> Result<(), IdentityError> {
        exec!(
            tx,
            sqlx::query("DELETE FROM login_locks WHERE subject = $1 AND client_ip = $2")
                .bind(subject.key())
                .bind(client_ip)
        )?;
        Ok(())
    }

    /// The sign-in locks in force now, newest first (for the security administrator).
    pub async fn login_locks(&self) -> Result<Vec<LoginLock>, IdentityError> {
        let now = self.db.now();
        let mut conn = self.db.conn().await?;
        let rows: Vec<(String, String, i32, DateTime<Utc>)> = run!(conn, |c| {
            sqlx::query_as(
                "SELECT subject, client_ip, locks, locked_until FROM login_locks
                 WHERE locked_until IS NOT NULL AND locked_until > $1 ORDER BY locked_until DESC LIMIT 500",
            )
            .bind(now)
            .fetch_all(&mut *c)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(subject, client_ip, locks, locked_until)| LoginLock {
                account: subject
                    .strip_prefix("account:")
                    .and_then(|id| Uuid::parse_str(id).ok())
                    .map(AccountId::from_uuid),
                client_ip,
                locks,
                locked_until,
            })
            .collect())
    }

    /// Lifts every sign-in lock of an account (the security administrator, `account.unlock`).
    pub async fn unlock_account(&self, actor: &Actor, account: AccountId) -> Result<u64, IdentityError> {
        let mut tx = self.db.begin().await?;
        let n =
            exec!(tx, sqlx::query("DELETE FROM login_locks WHERE subject = $1").bind(Subject::Account(account).key()))?;
        exec!(
            tx,
            sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                .bind(account.as_uuid())
        )?;
        audit::record(
            &mut tx,
            actor,
            Event::success("account.unlock", "account", account).detail(format!("{n} 个锁定")),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Runs an Argon2 computation off the async threads, at most `password_checks` at once on
    /// this node (each holds about 19 MiB); waits `password_wait_ms` for a turn, then answers
    /// [`IdentityError::Busy`].
    pub(crate) async fn argon<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, IdentityError> {
        let wait = std::time::Duration::from_millis(self.settings.password_wait_ms);
        let permit = tokio::time::timeout(wait, self.password_gate.clone().acquire_owned())
            .await
            .map_err(|_| IdentityError::Busy)?
            .map_err(|_| IdentityError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(|e| IdentityError::Internal(e.to_string()))
    }

    /// Warms the dummy hash that unknown logins are checked against, so that the first of them
    /// takes no longer than any other.
    pub async fn warm_password_checks(&self) -> Result<(), IdentityError> {
        self.argon(|| dummy_password_hash().len()).await.map(|_| ())
    }

    /// A staff account's first sign-in from an address an administrator used lately, or from a
    /// browser where an administrator is signed in, is told to the security administrators: an
    /// administrator may have created the account to use it themselves.
    pub(crate) async fn flag_first_staff_sign_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        account: &Account,
        creds: &crate::sessions::Credentials,
    ) -> Result<(), IdentityError> {
        let since = self.db.now() - Duration::days(30);
        let admin_here: i64 = run!(tx, |c| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM sessions s JOIN accounts a ON a.id = s.account_id
                 WHERE a.kind = 'admin' AND s.client_ip = $1 AND s.last_seen_at > $2",
            )
            .bind(&creds.client_ip)
            .bind(since)
            .fetch_one(&mut *c)
            .await
        })?;
        let why = match (creds.signed_in_admin, admin_here > 0) {
            (true, _) => "在管理员已登录的浏览器中首次登录",
            (false, true) => "从管理员近期使用过的地址首次登录",
            (false, false) => return Ok(()),
        };
        audit::record(
            tx,
            actor,
            Event::success("login.flagged", "account", account.id).outcome(Outcome::Denied).detail(why),
        )
        .await?;
        let security: Vec<Uuid> = run!(tx, |c| {
            sqlx::query_scalar(
                "SELECT id FROM accounts WHERE kind = 'admin' AND admin_role = 'security' AND status = 'active'",
            )
            .fetch_all(&mut *c)
            .await
        })?;
        let params = serde_json::json!({ "name": account.real_name, "why": why, "address": creds.client_ip });
        for to in security {
            let message = govhall_messaging::OutgoingMessage::new(
                FLAGGED_TEMPLATE,
                govhall_messaging::Recipient::Account(to),
                params.clone(),
            )
            .idempotency_key(format!("login.flagged:{}:{to}", account.id));
            govhall_messaging::send(tx, &self.messaging, message).await?;
        }
        Ok(())
    }
}

/// The inbox message to security administrators about a flagged first sign-in.
pub const FLAGGED_TEMPLATE: &str = "security.first_sign_in";
