//! The audit log on both backends: writers spread over several chains, the database refuses
//! edits to entries and checkpoints, and once someone removes that protection `verify` names
//! what was edited, removed, reordered, moved, truncated or rewritten, and forged checkpoints.

use crate::common;

use common::TestApp;
use govhall_audit::{self as audit, Actor, CheckpointKey, Entry, Verification};
use govhall_db::{Backend, exec, run, sqlx};

/// Entries written before each tampering.
const ENTRIES: i64 = 64;

/// A hall without its worker (no checkpoint is written behind the test's back), holding
/// [`ENTRIES`] entries written at once.
async fn hall_with_entries() -> TestApp {
    let t = TestApp::spawn_with(|s| s.run_worker = false).await;
    let writers: Vec<_> = (0..ENTRIES)
        .map(|i| {
            let db = t.app.db().clone();
            tokio::spawn(async move {
                let event = audit::Event::success("test.action", "thing", i).detail(format!("第 {i} 次"));
                audit::record_alone(&db, &Actor::system("test"), event).await.unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    t
}

/// Entries in the log (the hall writes some of its own when it starts).
async fn count(t: &TestApp) -> i64 {
    let mut conn = t.app.db().conn().await.unwrap();
    run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(&mut *c).await).unwrap()
}

fn key(t: &TestApp) -> CheckpointKey {
    t.app.identity().keys().checkpoint_key()
}

async fn verify(t: &TestApp) -> Verification {
    audit::verify(t.app.db(), &key(t)).await.unwrap()
}

/// Runs one statement in a transaction of its own.
async fn sql(t: &TestApp, statement: String) -> Result<u64, govhall_db::DbError> {
    let mut tx = t.app.db().begin().await?;
    let n = exec!(tx, sqlx::query(sqlx::AssertSqlSafe(statement)))?;
    tx.commit().await?;
    Ok(n)
}

/// Removes the triggers that refuse edits, as someone with the database's owner role could.
async fn drop_guards(t: &TestApp) {
    let statements: &[&str] = if t.app.db().backend() == Backend::Postgres {
        &[
            "DROP TRIGGER audit_log_append_only ON audit_log",
            "DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints",
        ]
    } else {
        &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
            "DROP TRIGGER audit_checkpoints_no_update",
            "DROP TRIGGER audit_checkpoints_no_delete",
        ]
    };
    for statement in statements {
        sql(t, (*statement).to_owned()).await.unwrap();
    }
}

/// The chain holding the most entries, and its entries in order.
async fn longest_chain(t: &TestApp) -> (i32, Vec<Entry>) {
    let mut conn = t.app.db().conn().await.unwrap();
    let chain: i32 = run!(conn, |c| sqlx::query_scalar(
        "SELECT chain FROM audit_log GROUP BY chain ORDER BY COUNT(*) DESC, chain LIMIT 1"
    )
    .fetch_one(&mut *c)
    .await)
    .unwrap();
    drop(conn);
    (chain, chain_entries(t, chain).await)
}

async fn chain_entries(t: &TestApp, chain: i32) -> Vec<Entry> {
    let mut conn = t.app.db().conn().await.unwrap();
    let entries: Vec<Entry> = run!(conn, |c| {
        sqlx::query_as(
        "SELECT seq, chain, chain_seq, at, actor_id, actor_label, action, target_kind, target_id, client_ip, result,
                detail, prev_hash, hash
         FROM audit_log WHERE chain = $1 ORDER BY chain_seq"
    )
    .bind(chain)
    .fetch_all(&mut *c)
    .await
    })
    .unwrap();
    entries
}

/// The one problem found, for chain `chain`.
fn only_problem(report: &Verification, chain: Option<i32>) -> (i64, String) {
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let problem = &report.problems[0];
    assert_eq!(problem.chain, chain, "{problem:?}");
    (problem.position, problem.what.clone())
}

#[tokio::test]
async fn writers_spread_over_chains_and_the_database_refuses_edits() {
    let t = hall_with_entries().await;
    let clean = verify(&t).await;
    assert!(clean.is_intact(), "{:?}", clean.problems);
    let total = count(&t).await;
    assert!(total >= ENTRIES);
    assert_eq!(clean.checked, total);
    if t.app.db().backend() == Backend::Postgres {
        // Writers at the same moment took different chains instead of waiting for one.
        assert!(clean.chains > 1, "{} chains", clean.chains);
    }
    let first = audit::write_checkpoint(t.app.db(), &key(&t)).await.unwrap().expect("a checkpoint");
    assert_eq!(first.seq, 1);
    assert!(audit::write_checkpoint(t.app.db(), &key(&t)).await.unwrap().is_none(), "nothing moved since");
    audit::record_alone(t.app.db(), &Actor::system("test"), audit::Event::success("test.more", "", "")).await.unwrap();
    let second = audit::write_checkpoint(t.app.db(), &key(&t)).await.unwrap().expect("a second checkpoint");
    assert_eq!((second.seq, second.prev_hash.as_str()), (2, first.hash.as_str()));
    let report = verify(&t).await;
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!((report.checked, report.checkpoints), (total + 1, 2));
    assert_eq!(report.latest_checkpoint, Some((2, second.hash)));

    let (chain, entries) = longest_chain(&t).await;
    let pos = entries[0].chain_seq;
    for statement in [
        format!("UPDATE audit_log SET detail = 'x' WHERE chain = {chain} AND chain_seq = {pos}"),
        format!("DELETE FROM audit_log WHERE chain = {chain} AND chain_seq = {pos}"),
        "UPDATE audit_checkpoints SET heads = '[]'".to_owned(),
        "DELETE FROM audit_checkpoints".to_owned(),
    ] {
        assert!(sql(&t, statement.clone()).await.is_err(), "refused: {statement}");
    }
    t.stop().await;
}

#[tokio::test]
async fn an_edited_entry_is_named() {
    let t = hall_with_entries().await;
    drop_guards(&t).await;
    let (chain, entries) = longest_chain(&t).await;
    sql(&t, format!("UPDATE audit_log SET actor_label = 'someone else' WHERE chain = {chain} AND chain_seq = 2"))
        .await
        .unwrap();
    let report = verify(&t).await;
    let (position, what) = only_problem(&report, Some(chain));
    assert_eq!(position, 2);
    assert!(what.contains("内容被修改"), "{what}");
    assert_eq!(report.checked, count(&t).await - entries.len() as i64 + 1, "every other chain and entry 1 intact");
    t.stop().await;
}

#[tokio::test]
async fn a_removed_entry_is_named() {
    let t = hall_with_entries().await;
    drop_guards(&t).await;
    let (chain, _) = longest_chain(&t).await;
    sql(&t, format!("DELETE FROM audit_log WHERE chain = {chain} AND chain_seq = 2")).await.unwrap();
    let (position, what) = only_problem(&verify(&t).await, Some(chain));
    assert_eq!(position, 2);
    assert!(what.contains("缺失"), "{what}");
    t.stop().await;
}

#[tokio::test]
async fn entries_swapped_in_place_are_named() {
    let t = hall_with_entries().await;
    drop_guards(&t).await;
    let (chain, _) = longest_chain(&t).await;
    // Swap entries 2 and 3 of the chain, hashes and all: each is intact alone.
    for statement in [
        format!("UPDATE audit_log SET chain_seq = -2 WHERE chain = {chain} AND chain_seq = 2"),
        format!("UPDATE audit_log SET chain_seq = 2 WHERE chain = {chain} AND chain_seq = 3"),
        format!("UPDATE audit_log SET chain_seq = 3 WHERE chain = {chain} AND chain_seq = -2"),
    ] {
        sql(&t, statement).await.unwrap();
    }
    let (position, what) = only_problem(&verify(&t).await, Some(chain));
    assert_eq!(position, 2);
    assert!(what.contains("内容被修改"), "{what}");
    t.stop().await;
}

#[tokio::test]
async fn a_chain_moved_to_another_is_named() {
    let t = hall_with_entries().await;
    drop_guards(&t).await;
    let (chain, _) = longest_chain(&t).await;
    // Empty another chain, then relabel this chain's entries as that one's, hashes intact.
    let other = (0..audit::CHAINS).find(|c| *c != chain).unwrap();
    sql(&t, format!("DELETE FROM audit_log WHERE chain = {other}")).await.unwrap();
    sql(&t, format!("UPDATE audit_log SET chain = {other} WHERE chain = {chain}")).await.unwrap();
    let report = verify(&t).await;
    let moved = report.problems.iter().find(|p| p.chain == Some(other)).expect("the other chain");
    assert_eq!(moved.position, 1);
    assert!(moved.what.contains("不衔接"), "{moved:?}");
    let left = report.problems.iter().find(|p| p.chain == Some(chain)).expect("the chain it left");
    assert!(left.what.contains("被删除"), "{left:?}");
    t.stop().await;
}

#[tokio::test]
async fn the_newest_entries_removed_are_found_by_the_checkpoint() {
    let t = hall_with_entries().await;
    audit::write_checkpoint(t.app.db(), &key(&t)).await.unwrap().expect("a checkpoint");
    drop_guards(&t).await;
    let (chain, entries) = longest_chain(&t).await;
    let last = entries.len() as i64;
    let kept = &entries[entries.len() - 3];
    // Remove the last two entries and move the head back, covering the tracks in the log.
    sql(&t, format!("DELETE FROM audit_log WHERE chain = {chain} AND chain_seq > {}", last - 2)).await.unwrap();
    sql(&t, format!("UPDATE audit_heads SET chain_seq = {}, hash = '{}' WHERE chain = {chain}", last - 2, kept.hash))
        .await
        .unwrap();
    let (position, what) = only_problem(&verify(&t).await, Some(chain));
    assert_eq!(position, last - 1);
    assert!(what.contains("被删除") && what.contains("第 1 个检查点"), "{what}");
    t.stop().await;
}

#[tokio::test]
async fn a_chain_rewritten_with_fresh_hashes_is_found_by_the_checkpoint() {
    let t = hall_with_entries().await;
    audit::write_checkpoint(t.app.db(), &key(&t)).await.unwrap().expect("a checkpoint");
    drop_guards(&t).await;
    let (chain, mut entries) = longest_chain(&t).await;
    // Change entry 2 and recompute every hash after it, as someone who knows the format would.
    entries[1].actor_label = "someone else".to_owned();
    for i in 1..entries.len() {
        entries[i].prev_hash = entries[i - 1].hash.clone();
        entries[i].hash = entries[i].expected_hash();
        let e = &entries[i];
        sql(
            &t,
            format!(
                "UPDATE audit_log SET actor_label = '{}', prev_hash = '{}', hash = '{}' WHERE chain = {chain} AND chain_seq = {}",
                e.actor_label, e.prev_hash, e.hash, e.chain_seq
            ),
        )
        .await
        .unwrap();
    }
    let last = entries.last().unwrap();
    sql(&t, format!("UPDATE audit_heads SET hash = '{}' WHERE chain = {chain}", last.hash)).await.unwrap();
    let (position, what) = only_problem(&verify(&t).await, Some(chain));
    assert_eq!(position, last.chain_seq);
    assert!(what.contains("第 1 个检查点不符"), "{what}");
    t.stop().await;
}

#[tokio::test]
async fn edited_removed_and_forged_checkpoints_are_named() {
    for tamper in ["edit", "delete", "forge"] {
        let t = hall_with_entries().await;
        audit::write_checkpoint(t.app.db(), &key(&t)).await.unwrap().expect("checkpoint 1");
        audit::record_alone(t.app.db(), &Actor::system("test"), audit::Event::success("test.more", "", ""))
            .await
            .unwrap();
        audit::write_checkpoint(t.app.db(), &key(&t)).await.unwrap().expect("checkpoint 2");
        drop_guards(&t).await;
        let expected = match tamper {
            "edit" => {
                sql(&t, "UPDATE audit_checkpoints SET heads = '[]' WHERE seq = 1".to_owned()).await.unwrap();
                (1, "内容被修改")
            }
            "delete" => {
                sql(&t, "DELETE FROM audit_checkpoints WHERE seq = 1".to_owned()).await.unwrap();
                (1, "缺失")
            }
            _ => {
                // A checkpoint made and signed elsewhere, hashes right, replacing the newest.
                let forged = audit::write_checkpoint(t.app.db(), &CheckpointKey::new([7; 32])).await.unwrap();
                assert!(forged.is_none(), "nothing moved");
                sql(&t, "DELETE FROM audit_checkpoints WHERE seq = 2".to_owned()).await.unwrap();
                let forged = audit::write_checkpoint(t.app.db(), &CheckpointKey::new([7; 32])).await.unwrap();
                assert_eq!(forged.expect("written").seq, 2);
                (2, "签名无效")
            }
        };
        let (position, what) = only_problem(&verify(&t).await, None);
        assert_eq!(position, expected.0, "{tamper}: {what}");
        assert!(what.contains(expected.1), "{tamper}: {what}");
        t.stop().await;
    }
}
