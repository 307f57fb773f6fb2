//! Issuing unified serial numbers: one counter row per (region, service, nature), moved forward
//! in the same transaction that records the number, so that no two numbers are alike whatever
//! the number of nodes (PostgreSQL locks the counter row; SQLite has one writer), numbers of a
//! prefix increase in the order they are issued, and a prefix that reached 999999999 refuses.
//! A request that carries an idempotency key gets, when retried, the number it got before.

use crate::CaseError;
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::{SerialNumber, SerialPrefix, ValueError};
use govhall_db::{Db, Tx, exec, run, sqlx};

/// A number that was issued.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Issued {
    /// The number.
    pub number: SerialNumber,
    /// Who asked for it (the online hall, an API client's name).
    pub issuer: String,
    /// When.
    pub issued_at: DateTime<Utc>,
}

fn check_key(key: &str) -> Result<(), ValueError> {
    if key.is_empty() || key.len() > 100 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValueError::new("invalid_idempotency_key", "幂等键", "应为 1 到 100 个可见的英文字符、数字或符号"));
    }
    Ok(())
}

async fn by_key(tx: &mut Tx, issuer: &str, key: &str) -> Result<Option<SerialNumber>, CaseError> {
    let number: Option<String> = run!(tx, |c| sqlx::query_scalar(
        "SELECT number FROM serial_numbers WHERE issuer = $1 AND idempotency_key = $2"
    )
    .bind(issuer)
    .bind(key)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(number.map(|n| SerialNumber::parse(&n)).transpose()?)
}

/// Issues the next number of `prefix` to `issuer` in `tx` (the transaction that creates the case
/// holding it). With `idempotency_key`, a number already issued to `issuer` under that key is
/// returned instead; a concurrent request with the same key makes this one fail with a unique
/// violation: [`issue`] retries that.
pub async fn issue_in(
    tx: &mut Tx,
    prefix: SerialPrefix,
    issuer: &str,
    idempotency_key: Option<&str>,
) -> Result<SerialNumber, CaseError> {
    if let Some(key) = idempotency_key {
        check_key(key)?;
        if let Some(number) = by_key(tx, issuer, key).await? {
            if number.prefix() != prefix {
                return Err(ValueError::new(
                    "invalid_idempotency_key",
                    "幂等键",
                    format!("已用于另一类编号（{}），请换一个", number),
                )
                .into());
            }
            return Ok(number);
        }
    }
    let last: i64 = run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO serial_counters (region, service, nature, last) VALUES ($1, $2, $3, 1)
         ON CONFLICT (region, service, nature) DO UPDATE SET last = serial_counters.last + 1
         RETURNING last"
    )
    .bind(i32::from(prefix.region))
    .bind(i32::from(prefix.service))
    .bind(i32::from(prefix.nature))
    .fetch_one(&mut *c)
    .await)?;
    let number = prefix.number(u64::try_from(last).unwrap_or(0))?;
    let now = tx.db().now();
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO serial_numbers (number, region, service, nature, sequence, issuer, idempotency_key, issued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(number.to_string())
        .bind(i32::from(prefix.region))
        .bind(i32::from(prefix.service))
        .bind(i32::from(prefix.nature))
        .bind(last)
        .bind(issuer)
        .bind(idempotency_key)
        .bind(now)
    )?;
    Ok(number)
}

/// Issues a number in a transaction of its own (for the on-site hall and department systems).
pub async fn issue(
    db: &Db,
    actor: &Actor,
    prefix: SerialPrefix,
    issuer: &str,
    idempotency_key: Option<&str>,
) -> Result<SerialNumber, CaseError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut tx = db.begin().await?;
        let issued = match issue_in(&mut tx, prefix, issuer, idempotency_key).await {
            Ok(number) => audit::record(&mut tx, actor, Event::success("serial_number.issue", "serial_number", number))
                .await
                .map(|_| number)
                .map_err(CaseError::from),
            Err(e) => Err(e),
        };
        match issued {
            Ok(number) => match tx.commit().await {
                Ok(()) => return Ok(number),
                Err(e) if e.is_unique_violation() && attempt < 3 => continue,
                Err(e) => return Err(e.into()),
            },
            // Another request with the same key got there first: read its number.
            Err(CaseError::Db(e)) if e.is_unique_violation() && attempt < 3 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A number as issued, if it was.
pub async fn lookup(db: &Db, number: &SerialNumber) -> Result<Option<Issued>, CaseError> {
    let mut conn = db.conn().await?;
    let row: Option<(String, DateTime<Utc>)> =
        run!(conn, |c| sqlx::query_as("SELECT issuer, issued_at FROM serial_numbers WHERE number = $1")
            .bind(number.to_string())
            .fetch_optional(&mut *c)
            .await)?;
    Ok(row.map(|(issuer, issued_at)| Issued { number: *number, issuer, issued_at }))
}
