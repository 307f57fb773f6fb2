//! Searching the log, for the audit administrator.

use crate::entry::{ENTRY_COLUMNS, Entry};
use chrono::{DateTime, Utc};
use govhall_core::ids::AccountId;
use govhall_db::{Db, DbError, run, sqlx};

/// What the audit administrator searches by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Entries of this account.
    pub actor: Option<AccountId>,
    /// Entries whose action starts with this.
    pub action: Option<String>,
    /// Entries about this record id.
    pub target_id: Option<String>,
    /// Only this outcome.
    pub result: Option<String>,
    /// From this time.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
}

/// Entries matching `filter`, newest first, `limit` from `offset`.
pub async fn search(db: &Db, filter: &Filter, limit: i64, offset: i64) -> Result<Vec<Entry>, DbError> {
    let mut conn = db.conn().await?;
    let action_like = filter.action.as_ref().map(|a| format!("{}%", a.replace('%', "").replace('_', "\\_")));
    let rows = run!(conn, |c| {
        sqlx::query_as::<_, Entry>(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log
             WHERE ($1 IS NULL OR actor_id = $1)
               AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\')
               AND ($3 IS NULL OR target_id = $3)
               AND ($4 IS NULL OR result = $4)
               AND ($5 IS NULL OR at >= $5)
               AND ($6 IS NULL OR at < $6)
             ORDER BY seq DESC LIMIT $7 OFFSET $8"
        )))
        .bind(filter.actor.map(|a| a.as_uuid()))
        .bind(&action_like)
        .bind(&filter.target_id)
        .bind(&filter.result)
        .bind(filter.from)
        .bind(filter.until)
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *c)
        .await
    })?;
    Ok(rows)
}
