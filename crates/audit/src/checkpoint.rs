//! Checkpoints: every chain's head, signed and chained, written by a job every minute.

use crate::sm3_hex;
use chrono::{DateTime, Duration, DurationRound, SubsecRound, Utc};
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Backend, Db, DbError, exec, run, sqlx};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sm3::Sm3;

/// The job's kind.
pub const CHECKPOINT_JOB: &str = "audit.checkpoint";

/// The only signature scheme today: HMAC-SM3 under a key derived from the master key. (An SM2
/// signature would let others verify without the key; the hall has no SM2 key yet.)
const SCHEME: &str = "hmac-sm3";

/// The previous hash of the first checkpoint.
pub(crate) const FIRST_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The key checkpoints are signed with (derived from the hall's master key by identity).
#[derive(Clone)]
pub struct CheckpointKey([u8; 32]);

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckpointKey(***)")
    }
}

impl CheckpointKey {
    /// A key from its bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        CheckpointKey(bytes)
    }

    pub(crate) fn sign(&self, hash: &str) -> String {
        let mut mac =
            <Hmac<Sm3> as KeyInit>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        mac.update(hash.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub(crate) fn signs(&self, hash: &str, signature: &str) -> bool {
        let Ok(bytes) = hex::decode(signature) else { return false };
        let mut mac =
            <Hmac<Sm3> as KeyInit>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        mac.update(hash.as_bytes());
        mac.verify_slice(&bytes).is_ok()
    }
}

/// One chain's head as a checkpoint names it: `[chain, chain_seq, hash]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Head {
    /// The chain.
    pub chain: i32,
    /// Its last position (0 for an empty chain).
    pub chain_seq: i64,
    /// The hash of the entry there (empty for an empty chain).
    pub hash: String,
}

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Checkpoint {
    /// Its number, from 1, without gaps.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Every chain's head, as JSON (`[[chain, chain_seq, hash], …]`).
    pub heads: String,
    /// The hash of the checkpoint before.
    pub prev_hash: String,
    /// This checkpoint's hash.
    pub hash: String,
    /// How it is signed (`hmac-sm3`).
    pub scheme: String,
    /// The signature over `hash`, hex.
    pub signature: String,
}

impl Checkpoint {
    /// The hash this checkpoint must carry.
    pub fn expected_hash(&self) -> String {
        let content = serde_json::json!([
            self.seq,
            self.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            self.heads,
            self.prev_hash,
        ]);
        sm3_hex(content.to_string().as_bytes())
    }

    /// The heads it names, or `None` when they cannot be read.
    pub fn parsed_heads(&self) -> Option<Vec<Head>> {
        let raw: Vec<(i32, i64, String)> = serde_json::from_str(&self.heads).ok()?;
        Some(raw.into_iter().map(|(chain, chain_seq, hash)| Head { chain, chain_seq, hash }).collect())
    }
}

fn heads_json(heads: &[Head]) -> String {
    let raw: Vec<(i32, i64, &str)> = heads.iter().map(|h| (h.chain, h.chain_seq, h.hash.as_str())).collect();
    serde_json::to_string(&raw).unwrap_or_default()
}

/// The newest checkpoint, if any.
pub async fn latest_checkpoint(db: &Db) -> Result<Option<Checkpoint>, DbError> {
    let mut conn = db.conn().await?;
    let row = run!(conn, |c| {
        sqlx::query_as::<_, Checkpoint>("SELECT * FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *c)
            .await
    })?;
    Ok(row)
}

/// Records every chain's committed head in a new signed checkpoint, unless no chain moved since
/// the last one. Returns the checkpoint written.
pub async fn write_checkpoint(db: &Db, key: &CheckpointKey) -> Result<Option<Checkpoint>, DbError> {
    let mut tx = db.begin().await?;
    if tx.backend() == Backend::Postgres {
        // Checkpoint writers (one a minute) take turns; entry writers never take this lock.
        exec!(tx, sqlx::query("SELECT pg_advisory_xact_lock(7266150592)"))?;
    }
    let last = run!(tx, |c| {
        sqlx::query_as::<_, Checkpoint>("SELECT * FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *c)
            .await
    })?;
    let heads: Vec<Head> = run!(tx, |c| {
        sqlx::query_as("SELECT chain, chain_seq, hash FROM audit_heads ORDER BY chain").fetch_all(&mut *c).await
    })?;
    let heads = heads_json(&heads);
    if last.as_ref().is_some_and(|l| l.heads == heads) {
        return Ok(None);
    }
    let mut checkpoint = Checkpoint {
        seq: last.as_ref().map_or(1, |l| l.seq + 1),
        at: db.now().trunc_subsecs(6),
        heads,
        prev_hash: last.map_or_else(|| FIRST_PREV.to_owned(), |l| l.hash),
        hash: String::new(),
        scheme: SCHEME.to_owned(),
        signature: String::new(),
    };
    checkpoint.hash = checkpoint.expected_hash();
    checkpoint.signature = key.sign(&checkpoint.hash);
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO audit_checkpoints (seq, at, heads, prev_hash, hash, scheme, signature)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(checkpoint.seq)
        .bind(checkpoint.at)
        .bind(&checkpoint.heads)
        .bind(&checkpoint.prev_hash)
        .bind(&checkpoint.hash)
        .bind(&checkpoint.scheme)
        .bind(&checkpoint.signature)
    )?;
    tx.commit().await?;
    tracing::info!(seq = checkpoint.seq, hash = %checkpoint.hash, "audit checkpoint written");
    Ok(Some(checkpoint))
}

/// Registers the checkpoint job: it writes a checkpoint and schedules the next a minute later.
pub fn register(registry: &mut JobRegistry, key: CheckpointKey) {
    registry.register(CHECKPOINT_JOB, move |ctx: JobContext| {
        let key = key.clone();
        async move {
            write_checkpoint(&ctx.db, &key).await.map_err(JobError::retry)?;
            let now = ctx.db.now();
            let next = now.duration_trunc(Duration::minutes(1)).unwrap_or(now) + Duration::minutes(1);
            schedule(&ctx.db, next).await.map_err(JobError::from)
        }
    });
}

/// Makes sure one checkpoint is scheduled for the minute of `at` (one key per minute for all
/// nodes).
pub async fn schedule(db: &Db, at: DateTime<Utc>) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let key = format!("{CHECKPOINT_JOB}:{}", at.format("%Y-%m-%dT%H:%M"));
    jobs::enqueue(&mut tx, NewJob::new(CHECKPOINT_JOB, ())?.idempotency_key(key).run_at(at)).await?;
    tx.commit().await
}
