//! The append-only audit log: who did what to which record, when, from where, with what result.
//!
//! Each entry carries the SM3 hash of its own content and of the entry before it, so that
//! [`verify`] finds an entry that was edited, deleted or moved and names the first one. Entries
//! are written in the same transaction as the action they record (a rolled-back action leaves
//! no entry); failures, which change nothing else, are written in a transaction of their own.

use crate::IdentityError;
use crate::crypto::sm3_hex;
use crate::ids::AccountId;
use chrono::{DateTime, SubsecRound, Utc};
use govhall_db::sqlx;
use govhall_db::{Backend, Db, Tx, exec, run};
use serde::Serialize;
use uuid::Uuid;

/// The previous hash of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acts, and from where.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The account, if signed in.
    pub id: Option<AccountId>,
    /// How to name them in the log (a name, never an ID or mobile number in full).
    pub label: String,
    /// The client's address.
    pub client_ip: String,
}

impl Actor {
    /// The system itself (imports, the command line).
    pub fn system(label: &str) -> Actor {
        Actor { id: None, label: label.to_owned(), client_ip: String::new() }
    }
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Success,
    /// Tried and failed (a wrong password).
    Failure,
    /// Refused for want of permission.
    Denied,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Success => "成功",
            Outcome::Failure => "失败",
            Outcome::Denied => "拒绝",
        }
    }
}

/// One thing to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What was done (`login`, `grant.create`, `person.view_personal_data` …).
    pub action: &'a str,
    /// The kind of record it was done to (`account`, `department` …), or empty.
    pub target_kind: &'a str,
    /// Which record, or empty.
    pub target_id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// A short note (no personal data).
    pub detail: String,
}

impl<'a> Event<'a> {
    /// A successful `action` on a record.
    pub fn success(action: &'a str, target_kind: &'a str, target_id: impl ToString) -> Self {
        Event {
            action,
            target_kind,
            target_id: target_id.to_string(),
            outcome: Outcome::Success,
            detail: String::new(),
        }
    }

    /// The same with another outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The same with a note.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Entry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (account), if anyone.
    pub actor_id: Option<Uuid>,
    /// Who, as named.
    pub actor_label: String,
    /// What.
    pub action: String,
    /// Which kind of record.
    pub target_kind: String,
    /// Which record.
    pub target_id: String,
    /// From where.
    pub client_ip: String,
    /// `success`, `failure` or `denied`.
    pub result: String,
    /// A note.
    pub detail: String,
    /// The hash of the entry before.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl Entry {
    /// The hash this entry must carry: SM3 over its content and the previous hash, as a JSON
    /// array (unambiguous, whatever the fields contain).
    pub fn expected_hash(&self) -> String {
        let content = serde_json::json!([
            self.seq,
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            self.actor_id.map(|u| u.to_string()),
            self.actor_label,
            self.action,
            self.target_kind,
            self.target_id,
            self.client_ip,
            self.result,
            self.detail,
            self.prev_hash,
        ]);
        sm3_hex(content.to_string().as_bytes())
    }
}

/// Appends an entry in `tx`, chained to the last one.
pub async fn record(tx: &mut Tx, actor: &Actor, event: Event<'_>) -> Result<i64, IdentityError> {
    if tx.backend() == Backend::Postgres {
        // One writer at a time extends the chain; on SQLite the write lock already ensures it.
        exec!(tx, sqlx::query("SELECT pg_advisory_xact_lock(7266150591)"))?;
    }
    let last: Option<(i64, String)> = run!(tx, |c| {
        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *c).await
    })?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let mut entry = Entry {
        seq,
        at: tx.db().now().trunc_subsecs(6),
        actor_id: actor.id.map(|a| a.as_uuid()),
        actor_label: actor.label.clone(),
        action: event.action.to_owned(),
        target_kind: event.target_kind.to_owned(),
        target_id: event.target_id,
        client_ip: actor.client_ip.clone(),
        result: event.outcome.as_str().to_owned(),
        detail: event.detail,
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.expected_hash();
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor_id, actor_label, action, target_kind, target_id, client_ip, result,
                                    detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        )
        .bind(entry.seq)
        .bind(entry.at)
        .bind(entry.actor_id)
        .bind(&entry.actor_label)
        .bind(&entry.action)
        .bind(&entry.target_kind)
        .bind(&entry.target_id)
        .bind(&entry.client_ip)
        .bind(&entry.result)
        .bind(&entry.detail)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
    )?;
    Ok(seq)
}

/// Records one event in a transaction of its own (for failures and views that change nothing).
pub async fn record_alone(db: &Db, actor: &Actor, event: Event<'_>) -> Result<(), IdentityError> {
    let mut tx = db.begin().await?;
    record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(())
}

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
pub async fn search(db: &Db, filter: &Filter, limit: i64, offset: i64) -> Result<Vec<Entry>, IdentityError> {
    let mut conn = db.conn().await?;
    let action_like = filter.action.as_ref().map(|a| format!("{}%", a.replace('%', "").replace('_', "\\_")));
    let rows = run!(conn, |c| {
        sqlx::query_as::<_, Entry>(
            "SELECT * FROM audit_log
             WHERE ($1 IS NULL OR actor_id = $1)
               AND ($2 IS NULL OR action LIKE $2 ESCAPE '\\')
               AND ($3 IS NULL OR target_id = $3)
               AND ($4 IS NULL OR result = $4)
               AND ($5 IS NULL OR at >= $5)
               AND ($6 IS NULL OR at < $6)
             ORDER BY seq DESC LIMIT $7 OFFSET $8",
        )
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

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Entries checked.
    pub checked: i64,
    /// The first entry that is wrong, and what is wrong with it, in Chinese.
    pub first_problem: Option<(i64, String)>,
}

/// Walks the whole chain in order and names the first entry that was edited, removed or moved.
pub async fn verify(db: &Db) -> Result<Verification, IdentityError> {
    const PAGE: i64 = 1000;
    let mut conn = db.conn().await?;
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_owned();
    let mut checked = 0;
    loop {
        let page = run!(conn, |c| {
            sqlx::query_as::<_, Entry>("SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2")
                .bind(expected_seq)
                .bind(PAGE)
                .fetch_all(&mut *c)
                .await
        })?;
        let done = (page.len() as i64) < PAGE;
        for entry in page {
            let problem = if entry.seq != expected_seq {
                Some((expected_seq, format!("第 {expected_seq} 条记录缺失（下一条是第 {} 条）", entry.seq)))
            } else if entry.hash != entry.expected_hash() {
                Some((entry.seq, format!("第 {} 条记录的内容被修改", entry.seq)))
            } else if entry.prev_hash != prev_hash {
                Some((entry.seq, format!("第 {} 条记录与前一条不衔接（被删除、替换或调换顺序）", entry.seq)))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Ok(Verification { checked, first_problem: Some(problem) });
            }
            checked += 1;
            expected_seq += 1;
            prev_hash = entry.hash;
        }
        if done {
            return Ok(Verification { checked, first_problem: None });
        }
    }
}
