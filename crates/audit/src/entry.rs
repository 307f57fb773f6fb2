//! An entry as stored, and the hash it must carry.

use crate::sm3_hex;
use chrono::{DateTime, Utc};
use govhall_db::sqlx;
use uuid::Uuid;

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Entry {
    /// A number for listing, newest highest (not hashed; PostgreSQL may skip numbers).
    pub seq: i64,
    /// Which chain.
    pub chain: i32,
    /// Position in the chain, from 1, without gaps.
    pub chain_seq: i64,
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
    /// The hash of the entry before in the same chain (or the chain's genesis).
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// The columns of an [`Entry`], for `SELECT`.
pub(crate) const ENTRY_COLUMNS: &str = "seq, chain, chain_seq, at, actor_id, actor_label, action, target_kind, \
                                        target_id, client_ip, result, detail, prev_hash, hash";

impl Entry {
    /// The hash this entry must carry: SM3 over its content and the previous hash, as a JSON
    /// array (unambiguous, whatever the fields contain). The chain is not in the array: it is
    /// fixed by the chain's own genesis, which the first entry hangs from.
    pub fn expected_hash(&self) -> String {
        let content = serde_json::json!([
            self.chain_seq,
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

    /// Where this entry is, in Chinese (`链 3 的第 12 条`).
    pub fn place(&self) -> String {
        place(self.chain, self.chain_seq)
    }
}

/// An entry's place, in Chinese.
pub(crate) fn place(chain: i32, chain_seq: i64) -> String {
    format!("链 {chain} 的第 {chain_seq} 条")
}
