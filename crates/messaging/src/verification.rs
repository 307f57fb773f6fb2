//! Verification codes (验证码) by SMS or email: issued, expiring after five minutes, at most five
//! tries, a minimum interval between sends to one recipient, stored only as a hash (salted with
//! the code's id; a code has 10^6 values and lives five minutes, so the hash protects a leaked
//! table only for as long as the code would work anyway). The message that carried a code has
//! its text cleared once it is settled.

use crate::model::{Channel, Recipient};
use crate::send::{OutgoingMessage, send};
use crate::{Messaging, MessagingError};
use chrono::{DateTime, Duration};
use govhall_db::sqlx;
use govhall_db::{Db, exec, run};
use rand::Rng;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The template every code is sent with (installed by default for SMS and email).
pub const TEMPLATE: &str = "verification_code";

/// A code on its way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// The code's id.
    pub id: Uuid,
    /// The message that carries it.
    pub message_id: Uuid,
    /// When it stops working.
    pub expires_at: DateTime<chrono::Utc>,
}

/// A code as stored.
#[derive(sqlx::FromRow)]
struct StoredCode {
    id: Uuid,
    code_hash: String,
    tries: i32,
    expires_at: DateTime<chrono::Utc>,
    consumed_at: Option<DateTime<chrono::Utc>>,
}

fn hash(id: Uuid, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{id}:{code}").as_bytes()))
}

/// Issues a six-digit code for `purpose` (`register`, `reset_password` …; `purpose_label` says it
/// to people: 注册账号) and sends it to `to` by SMS or email, at once, even in quiet hours.
pub async fn issue(
    db: &Db,
    messaging: &Messaging,
    purpose: &str,
    purpose_label: &str,
    to: &Recipient,
) -> Result<IssuedCode, MessagingError> {
    issue_as(db, messaging, purpose, purpose_label, to, None).await
}

/// Like [`issue`], but sends `notice` (a template and its parameters) instead of the code: for
/// a recipient who must not get a code (a number already registered asking to register), so
/// that the answer, the interval between sends and the work done are the same as for anyone
/// else. The code recorded can never be typed right: nobody was told it.
pub async fn issue_notice(
    db: &Db,
    messaging: &Messaging,
    purpose: &str,
    to: &Recipient,
    notice: (&str, serde_json::Value),
) -> Result<IssuedCode, MessagingError> {
    issue_as(db, messaging, purpose, "", to, Some(notice)).await
}

async fn issue_as(
    db: &Db,
    messaging: &Messaging,
    purpose: &str,
    purpose_label: &str,
    to: &Recipient,
    notice: Option<(&str, serde_json::Value)>,
) -> Result<IssuedCode, MessagingError> {
    if !matches!(to.channel(), Channel::Sms | Channel::Email) {
        return Err(MessagingError::Config("验证码只能通过短信或电子邮件发送".to_owned()));
    }
    let settings = messaging.settings();
    let recipient = to.as_stored();
    let mut tx = db.begin().await?;
    if tx.backend() == govhall_db::Backend::Postgres {
        // Two requests at once for one recipient: the second waits and then sees the first.
        exec!(tx, sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))").bind(format!("verification:{recipient}")))?;
    }
    let now = db.now();
    let last: Option<DateTime<chrono::Utc>> = run!(tx, |c| {
        sqlx::query_scalar("SELECT MAX(created_at) FROM verification_codes WHERE recipient = $1")
            .bind(&recipient)
            .fetch_one(&mut *c)
            .await
    })?;
    if let Some(last) = last {
        let next = last + Duration::seconds(settings.code_min_interval_secs);
        if next > now {
            return Err(MessagingError::CodeTooSoon((next - now).num_seconds().max(1)));
        }
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let id = Uuid::now_v7();
    let expires_at = now + Duration::seconds(settings.code_ttl_secs);
    let minutes = (settings.code_ttl_secs + 59) / 60;
    let (template, params, code) = match notice {
        None => (TEMPLATE, serde_json::json!({ "code": code, "minutes": minutes, "purpose": purpose_label }), code),
        // A code nobody is told: its hash is stored over a value no one can type (seven digits).
        Some((template, params)) => (template, params, format!("{:07}", rand::rng().random_range(0..10_000_000))),
    };
    let message =
        OutgoingMessage::new(template, to.clone(), params).idempotency_key(format!("verification:{id}")).verification();
    let message_id = send(&mut tx, messaging, message).await?;
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO verification_codes (id, purpose, channel, recipient, code_hash, tries, expires_at, message_id, created_at)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8)"
        )
        .bind(id)
        .bind(purpose)
        .bind(to.channel().as_str())
        .bind(&recipient)
        .bind(hash(id, &code))
        .bind(expires_at)
        .bind(message_id)
        .bind(now)
    )?;
    tx.commit().await?;
    Ok(IssuedCode { id, message_id, expires_at })
}

/// Checks the code a person typed against the newest code for `purpose` and `to`. A right code
/// works once; a wrong one uses a try; after the last try the code is dead.
pub async fn check(
    db: &Db,
    messaging: &Messaging,
    purpose: &str,
    to: &Recipient,
    typed: &str,
) -> Result<(), MessagingError> {
    let max_tries = messaging.settings().code_max_tries.max(1);
    let mut tx = db.begin().await?;
    let now = db.now();
    let latest: Option<StoredCode> = run!(tx, |c| {
        sqlx::query_as(
            "SELECT id, code_hash, tries, expires_at, consumed_at FROM verification_codes
             WHERE purpose = $1 AND recipient = $2 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(purpose)
        .bind(to.as_stored())
        .fetch_optional(&mut *c)
        .await
    })?;
    let Some(StoredCode { id, code_hash, tries, expires_at, consumed_at }) = latest else {
        return Err(MessagingError::CodeExpired);
    };
    if consumed_at.is_some() || expires_at <= now {
        return Err(MessagingError::CodeExpired);
    }
    if tries >= max_tries {
        return Err(MessagingError::CodeLocked);
    }
    let typed = typed.trim();
    let right = typed.len() == 6 && constant_time_eq(hash(id, typed).as_bytes(), code_hash.as_bytes());
    // Conditional updates: concurrent checks cannot use a code twice or exceed the tries.
    if right {
        let used = exec!(
            tx,
            sqlx::query(
                "UPDATE verification_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL AND tries < $3"
            )
            .bind(now)
            .bind(id)
            .bind(max_tries)
        )?;
        tx.commit().await?;
        return if used == 1 { Ok(()) } else { Err(MessagingError::CodeExpired) };
    }
    let counted = exec!(
        tx,
        sqlx::query(
            "UPDATE verification_codes SET tries = tries + 1 WHERE id = $1 AND tries < $2 AND consumed_at IS NULL"
        )
        .bind(id)
        .bind(max_tries)
    )?;
    tx.commit().await?;
    if counted == 0 || tries + 1 >= max_tries {
        Err(MessagingError::CodeLocked)
    } else {
        Err(MessagingError::CodeWrong)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
