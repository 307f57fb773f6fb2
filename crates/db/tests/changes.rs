//! The change feed: recorded with the transaction, delivered in order to every follower.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap: a failure there is the test failing")]

use govhall_db::changes::{self, ChangeFollower, ChangeOp, FeedEvent, StartAt};
use govhall_db::testing::TestDatabase;
use govhall_db::{Backend, Db};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn record(db: &Db, entity: &str, id: &str) -> i64 {
    let mut tx = db.begin().await.unwrap();
    changes::record(&mut tx, entity, id, ChangeOp::Update);
    tx.commit().await.unwrap();
    changes::latest_seq(db).await.unwrap()
}

#[tokio::test]
async fn a_change_is_recorded_only_with_its_transaction() {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    changes::record(&mut tx, "item", "a", ChangeOp::Insert);
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
    let here = ChangeFollower::new(db.clone(), StartAt::Latest).await.unwrap();
    let there = ChangeFollower::new(other.clone(), StartAt::Latest).await.unwrap();
    let mut rx_here = here.subscribe();
    let mut rx_there = there.subscribe();
    here.run(poll, shutdown.clone());
    there.run(poll, shutdown.clone());
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
            let event =
                tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("change delivered").unwrap();
            let FeedEvent::Change(change) = event else { panic!("unexpected {event:?}") };
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

#[tokio::test]
async fn changes_enter_the_feed_in_commit_order() {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    if db.backend() == Backend::Sqlite {
        // SQLite writers hold the write lock from BEGIN to COMMIT: they cannot interleave.
        t.cleanup().await;
        return;
    }
    // A records first but commits last: its entry must come after B's, or a follower that had
    // read B's could never see A's.
    let mut a = db.begin().await.unwrap();
    changes::record(&mut a, "item", "first-recorded", ChangeOp::Update);
    let mut b = db.begin().await.unwrap();
    changes::record(&mut b, "item", "first-committed", ChangeOp::Update);
    b.commit().await.unwrap();
    a.commit().await.unwrap();
    let feed = changes::after(&db, 0, 10).await.unwrap();
    assert_eq!(feed.iter().map(|c| c.entity_id.as_str()).collect::<Vec<_>>(), ["first-committed", "first-recorded"]);
    t.cleanup().await;
}

#[tokio::test]
async fn a_follower_behind_the_pruned_feed_is_told_to_resync() {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    for i in 0..3 {
        record(&db, "item", &i.to_string()).await;
    }
    changes::prune(&db, db.now() + chrono::Duration::days(1)).await.unwrap();
    let shutdown = CancellationToken::new();
    let follower = ChangeFollower::new(db.clone(), StartAt::After(0)).await.unwrap();
    let mut rx = follower.subscribe();
    follower.run(Duration::from_millis(50), shutdown.clone());
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
    assert_eq!(first, FeedEvent::Resync);
    let FeedEvent::Change(kept) = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap()
    else {
        panic!("expected the kept change");
    };
    assert_eq!(kept.entity_id, "2");
    shutdown.cancel();
    t.cleanup().await;
}
