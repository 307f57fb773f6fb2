//! Appending to the log: take a free chain's head, link the entry to it, move the head.

use crate::entry::Entry;
use crate::event::{Actor, Event};
use crate::sm3_hex;
use chrono::SubsecRound;
use govhall_db::{Backend, Db, DbError, Tx, exec, run, sqlx};

/// How many chains the log has (the rows of `audit_heads`, made by the migration).
pub const CHAINS: i32 = 16;

/// The chain a writer waits for when every chain is taken. One fixed chain, so that two
/// transactions that each record twice can never wait for each other in a cycle.
const FALLBACK_CHAIN: i32 = 0;

/// The hash the first entry of `chain` hangs from. Chain 0's is 64 zeros (the log had one
/// chain before, and its entries keep their hashes); each other chain has its own, so that an
/// entry moved to another chain no longer links.
pub fn genesis(chain: i32) -> String {
    if chain == 0 { "0".repeat(64) } else { sm3_hex(format!("govhall/audit/chain/{chain}").as_bytes()) }
}

/// Appends an entry in `tx`, in a chain no other transaction is writing to; returns its `seq`.
pub async fn record(tx: &mut Tx, actor: &Actor, event: Event<'_>) -> Result<i64, DbError> {
    let (chain, head_seq, head_hash) = take_head(tx).await?;
    let mut entry = Entry {
        seq: 0,
        chain,
        chain_seq: head_seq + 1,
        at: tx.db().now().trunc_subsecs(6),
        actor_id: actor.id.map(|a| a.as_uuid()),
        actor_label: actor.label.clone(),
        action: event.action.to_owned(),
        target_kind: event.target_kind.to_owned(),
        target_id: event.target_id,
        client_ip: actor.client_ip.clone(),
        result: event.outcome.as_str().to_owned(),
        detail: event.detail,
        prev_hash: if head_seq == 0 { genesis(chain) } else { head_hash },
        hash: String::new(),
    };
    entry.hash = entry.expected_hash();
    append(tx, &entry).await
}

/// Records one event in a transaction of its own (for failures and views that change nothing).
pub async fn record_alone(db: &Db, actor: &Actor, event: Event<'_>) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    record(&mut tx, actor, event).await?;
    tx.commit().await
}

/// Locks a chain's head row until `tx` ends and returns it: the one `tx` holds already, else
/// any chain no other transaction holds, starting from a random one; when all are held, waits
/// for the fallback chain.
async fn take_head(tx: &mut Tx) -> Result<(i32, i64, String), DbError> {
    // A transaction writing several entries (a batch of moves) keeps to the chain it holds:
    // locking one head per entry would hold every chain and keep everyone else waiting.
    if let Some(held) = tx.audit_chain() {
        let head: (i32, i64, String) = run!(tx, |c| {
            sqlx::query_as("SELECT chain, chain_seq, hash FROM audit_heads WHERE chain = $1")
                .bind(held)
                .fetch_one(&mut *c)
                .await
        })?;
        return Ok(head);
    }
    let head = lock_head(tx).await?;
    tx.hold_audit_chain(head.0);
    Ok(head)
}

async fn lock_head(tx: &mut Tx) -> Result<(i32, i64, String), DbError> {
    if tx.backend() == Backend::Sqlite {
        // The transaction holds the database's write lock: nobody else is writing any chain.
        let start = rand::random_range(0..CHAINS);
        let row: (i32, i64, String) = run!(tx, |c| {
            sqlx::query_as("SELECT chain, chain_seq, hash FROM audit_heads WHERE chain = $1")
                .bind(start)
                .fetch_one(&mut *c)
                .await
        })?;
        return Ok(row);
    }
    let start = rand::random_range(0..CHAINS);
    let free: Option<(i32, i64, String)> = run!(tx, |c| {
        sqlx::query_as(
            "SELECT chain, chain_seq, hash FROM audit_heads ORDER BY (chain + $1) % $2
             LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .bind(start)
        .bind(CHAINS)
        .fetch_optional(&mut *c)
        .await
    })?;
    if let Some(head) = free {
        return Ok(head);
    }
    let head: (i32, i64, String) = run!(tx, |c| {
        sqlx::query_as("SELECT chain, chain_seq, hash FROM audit_heads WHERE chain = $1 FOR UPDATE")
            .bind(FALLBACK_CHAIN)
            .fetch_one(&mut *c)
            .await
    })?;
    Ok(head)
}

/// Binds an entry's columns, in the order of `COLUMNS`, to a query (for either backend).
macro_rules! bind_entry {
    ($query:expr, $e:expr) => {
        $query
            .bind($e.chain)
            .bind($e.chain_seq)
            .bind($e.at)
            .bind($e.actor_id)
            .bind(&$e.actor_label)
            .bind(&$e.action)
            .bind(&$e.target_kind)
            .bind(&$e.target_id)
            .bind(&$e.client_ip)
            .bind(&$e.result)
            .bind(&$e.detail)
            .bind(&$e.prev_hash)
            .bind(&$e.hash)
    };
}

/// Inserts `entry` and moves its chain's head to it: one statement on PostgreSQL.
async fn append(tx: &mut Tx, entry: &Entry) -> Result<i64, DbError> {
    const COLUMNS: &str = "chain, chain_seq, at, actor_id, actor_label, action, target_kind, target_id, client_ip, \
                           result, detail, prev_hash, hash";
    let seq: i64 = if tx.backend() == Backend::Postgres {
        let sql = format!(
            "WITH e AS (INSERT INTO audit_log ({COLUMNS})
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq)
             UPDATE audit_heads SET chain_seq = $2, hash = $13 WHERE chain = $1 RETURNING (SELECT seq FROM e)"
        );
        run!(tx, |c| bind_entry!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())), entry).fetch_one(&mut *c).await)?
    } else {
        let sql = format!(
            "INSERT INTO audit_log ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq"
        );
        let seq = run!(tx, |c| bind_entry!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())), entry)
            .fetch_one(&mut *c)
            .await)?;
        exec!(
            tx,
            sqlx::query("UPDATE audit_heads SET chain_seq = $1, hash = $2 WHERE chain = $3")
                .bind(entry.chain_seq)
                .bind(&entry.hash)
                .bind(entry.chain)
        )?;
        seq
    };
    Ok(seq)
}
