//! The change feed: recorded with the transaction, delivered in order to every follower.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap: a failure there is the test failing")]

use govhall_db::changes::{self, ChangeFollower, ChangeOp, StartAt};
use govhall_db::testing::TestDatabase;
use govhall_db::{Backend, Db};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn record(db: &Db, entity: &str, id: &str) -> i64 {
    let mut tx = db.begin().await.unwrap();
    let seq = changes::record(&mut tx, entity, id, ChangeOp::Update).await.unwrap();
    tx.commit().await.unwrap();
    seq
}

#[tokio::test]
async fn a_change_is_recorded_only_with_its_transaction() {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    changes::record(&mut tx, "item", "a", ChangeOp::Insert).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(changes::latest_seq(&db).await.unwrap(), 0);
    let s1 = record(&db, "item", "a").await;
    let s2 = record(&db, "item", "b").await;
    assert!(s2 > s1);
    let feed = changes::after(&db, 0, 10).await.unwrap();
    assert_eq!(feed.iter().map(|c| c.entity_id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(changes::after(&db, s1, 10).await.unwrap().len(), 1);
    t.cleanup().await;
}

#[tokio::test]
async fn followers_on_every_node_see_every_change_in_order() {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    record(&db, "item", "before-start").await;
    // A second node: its own pool on PostgreSQL (SQLite has one node).
    let other = if db.backend() == Backend::Postgres { t.open().await.unwrap() } else { db.clone() };
    let shutdown = CancellationToken::new();
    db.spawn_listener(shutdown.clone());
    other.spawn_listener(shutdown.clone());
    // A long poll interval: delivery must come from the wake-up, not from polling.
    let poll = Duration::from_secs(30);
    let here = ChangeFollower::start(db.clone(), StartAt::Latest, poll, shutdown.clone()).await.unwrap();
    let there = ChangeFollower::start(other.clone(), StartAt::Latest, poll, shutdown.clone()).await.unwrap();
    let mut rx_here = here.subscribe();
    let mut rx_there = there.subscribe();
    tokio::time::sleep(Duration::from_millis(300)).await; // let LISTEN connect

    // Writers on both nodes at once; every follower must see all of them with increasing seq.
    let mut writers = Vec::new();
    for w in 0..8 {
        let node = if w % 2 == 0 { db.clone() } else { other.clone() };
        writers.push(tokio::spawn(async move {
            for i in 0..15 {
                record(&node, "item", &format!("{w}-{i}")).await;
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    for rx in [&mut rx_here, &mut rx_there] {
        let mut last = 0;
        for _ in 0..120 {
            let change =
                tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("change delivered").unwrap();
            assert!(change.seq > last, "out of order: {} after {last}", change.seq);
            assert_ne!(change.entity_id, "before-start");
            last = change.seq;
        }
    }
    assert_eq!(here.position(), changes::latest_seq(&db).await.unwrap());
    assert_eq!(there.position(), here.position());
    shutdown.cancel();
    t.cleanup().await;
}

#[tokio::test]
async fn pruning_keeps_the_newest_change() {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    for i in 0..3 {
        record(&db, "item", &i.to_string()).await;
    }
    let deleted = changes::prune(&db, db.now() + chrono::Duration::days(1)).await.unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(changes::after(&db, 0, 10).await.unwrap().len(), 1);
    assert_eq!(changes::latest_seq(&db).await.unwrap(), 3);
    t.cleanup().await;
}
