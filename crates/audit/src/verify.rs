//! Checking the whole log: every chain entry by entry, every checkpoint, and the one against
//! the other.

use crate::chain::genesis;
use crate::checkpoint::{Checkpoint, CheckpointKey, FIRST_PREV, Head};
use crate::entry::{ENTRY_COLUMNS, Entry, place};
use govhall_db::{Db, DbError, run, sqlx};
use std::collections::{BTreeMap, BTreeSet};

/// Rows read per query.
const PAGE: i64 = 1000;

/// One thing [`verify`] found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The chain, or `None` for the checkpoints.
    pub chain: Option<i32>,
    /// The position in the chain (or the checkpoint's number) where it shows.
    pub position: i64,
    /// What is wrong, in Chinese.
    pub what: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verification {
    /// Entries checked and found in order (up to each chain's first problem).
    pub checked: i64,
    /// Chains that hold entries.
    pub chains: usize,
    /// Checkpoints checked.
    pub checkpoints: i64,
    /// The newest checkpoint: its number and hash (to compare with a copy kept elsewhere).
    pub latest_checkpoint: Option<(i64, String)>,
    /// The first problem of each chain and of the checkpoints; empty when all is well.
    pub problems: Vec<Problem>,
}

impl Verification {
    /// Whether nothing was found wrong.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Walks every checkpoint and every chain in order and names, per chain, the first entry that
/// was edited, removed, moved or rewritten, and the first checkpoint that was. Signatures are
/// checked with `key`.
pub async fn verify(db: &Db, key: &CheckpointKey) -> Result<Verification, DbError> {
    let mut report = Verification::default();
    let marks = check_checkpoints(db, key, &mut report).await?;
    let mut conn = db.conn().await?;
    let heads: Vec<Head> = run!(conn, |c| {
        sqlx::query_as("SELECT chain, chain_seq, hash FROM audit_heads ORDER BY chain").fetch_all(&mut *c).await
    })?;
    let used: Vec<i32> =
        run!(conn, |c| sqlx::query_scalar("SELECT DISTINCT chain FROM audit_log").fetch_all(&mut *c).await)?;
    drop(conn);
    report.chains = used.len();
    let chains: BTreeSet<i32> = heads.iter().map(|h| h.chain).chain(used).chain(marks.keys().copied()).collect();
    for chain in chains {
        let head = heads.iter().find(|h| h.chain == chain);
        let chain_marks = marks.get(&chain).map(Vec::as_slice).unwrap_or_default();
        if let Some(problem) = check_chain(db, chain, head, chain_marks, &mut report.checked).await? {
            report.problems.push(problem);
        }
    }
    Ok(report)
}

/// A position a checkpoint vouches for: (position, hash, checkpoint number).
type Mark = (i64, String, i64);

/// Checks the checkpoints' hashes, links and signatures; returns, per chain, every distinct
/// head they name, in order.
async fn check_checkpoints(
    db: &Db,
    key: &CheckpointKey,
    report: &mut Verification,
) -> Result<BTreeMap<i32, Vec<Mark>>, DbError> {
    let mut marks: BTreeMap<i32, Vec<Mark>> = BTreeMap::new();
    let mut conn = db.conn().await?;
    let mut expected_seq = 1;
    let mut prev_hash = FIRST_PREV.to_owned();
    loop {
        let page: Vec<Checkpoint> = run!(conn, |c| {
            sqlx::query_as("SELECT * FROM audit_checkpoints WHERE seq >= $1 ORDER BY seq LIMIT $2")
                .bind(expected_seq)
                .bind(PAGE)
                .fetch_all(&mut *c)
                .await
        })?;
        let done = (page.len() as i64) < PAGE;
        for checkpoint in page {
            let n = checkpoint.seq;
            let problem = if n != expected_seq {
                Some(format!("第 {expected_seq} 个检查点缺失（下一个是第 {n} 个）"))
            } else if checkpoint.hash != checkpoint.expected_hash() {
                Some(format!("第 {n} 个检查点的内容被修改"))
            } else if checkpoint.prev_hash != prev_hash {
                Some(format!("第 {n} 个检查点与前一个不衔接（被删除、替换或调换顺序）"))
            } else if checkpoint.scheme != "hmac-sm3" || !key.signs(&checkpoint.hash, &checkpoint.signature) {
                Some(format!("第 {n} 个检查点的签名无效（不是本大厅的密钥所签）"))
            } else {
                None
            };
            let heads = match (problem, checkpoint.parsed_heads()) {
                (None, Some(heads)) => heads,
                (problem, _) => {
                    let what = problem.unwrap_or_else(|| format!("第 {n} 个检查点记录的链头无法读取"));
                    report.problems.push(Problem { chain: None, position: expected_seq, what });
                    return Ok(marks);
                }
            };
            for head in heads {
                let chain = marks.entry(head.chain).or_default();
                match chain.last() {
                    Some((at, hash, _)) if *at == head.chain_seq && *hash == head.hash => {}
                    Some((at, _, _)) if *at > head.chain_seq => {
                        let what = format!("第 {n} 个检查点记录的链 {} 比前一个检查点记录的短", head.chain);
                        report.problems.push(Problem { chain: None, position: n, what });
                        return Ok(marks);
                    }
                    _ => chain.push((head.chain_seq, head.hash, n)),
                }
            }
            report.checkpoints += 1;
            report.latest_checkpoint = Some((n, checkpoint.hash.clone()));
            expected_seq += 1;
            prev_hash = checkpoint.hash;
        }
        if done {
            return Ok(marks);
        }
    }
}

/// Walks one chain in order against the checkpoints' marks and its head row; returns its first
/// problem.
async fn check_chain(
    db: &Db,
    chain: i32,
    head: Option<&Head>,
    marks: &[Mark],
    checked: &mut i64,
) -> Result<Option<Problem>, DbError> {
    let problem = |position: i64, what: String| Ok(Some(Problem { chain: Some(chain), position, what }));
    let mut conn = db.conn().await?;
    let mut expected = 1;
    let mut prev_hash = genesis(chain);
    // Marks at position 0 vouch for an empty chain: nothing to compare.
    let mut marks = marks.iter().filter(|m| m.0 > 0).peekable();
    loop {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE chain = $1 AND chain_seq >= $2 ORDER BY chain_seq LIMIT $3"
        );
        let page: Vec<Entry> = run!(conn, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(chain)
                .bind(expected)
                .bind(PAGE)
                .fetch_all(&mut *c)
                .await
        })?;
        let done = (page.len() as i64) < PAGE;
        for entry in page {
            let here = place(chain, expected);
            if entry.chain_seq != expected {
                return problem(expected, format!("{here}记录缺失（下一条是第 {} 条）", entry.chain_seq));
            }
            if entry.hash != entry.expected_hash() {
                return problem(expected, format!("{here}记录的内容被修改"));
            }
            if entry.prev_hash != prev_hash {
                return problem(expected, format!("{here}记录与前一条不衔接（被删除、替换、移动或调换顺序）"));
            }
            while let Some((_, hash, checkpoint)) = marks.next_if(|m| m.0 == expected) {
                if *hash != entry.hash {
                    return problem(expected, format!("{here}记录与第 {checkpoint} 个检查点不符（此前的记录被改写）"));
                }
            }
            *checked += 1;
            expected += 1;
            prev_hash = entry.hash;
        }
        if done {
            break;
        }
    }
    let last = expected - 1;
    if let Some((position, _, checkpoint)) = marks.next() {
        return problem(
            last + 1,
            format!("{}之后的记录被删除（第 {checkpoint} 个检查点记录到第 {position} 条）", place(chain, last)),
        );
    }
    match head {
        Some(head) if head.chain_seq > last => {
            problem(last + 1, format!("{}之后的记录被删除（链头记录到第 {} 条）", place(chain, last), head.chain_seq))
        }
        Some(head) if head.chain_seq < last || (last > 0 && head.hash != prev_hash) => {
            problem(last, format!("链 {chain} 的链头与最后一条记录不符（链头被修改）"))
        }
        _ => Ok(None),
    }
}
