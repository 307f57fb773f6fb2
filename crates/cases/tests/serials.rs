//! The serial number service on a real database: the format, increasing per prefix, idempotent
//! retries, many concurrent requests without a duplicate or a gap, and the end of a prefix.

use govhall_audit::Actor;
use govhall_cases::serials;
use govhall_core::{Coded, SerialNumber, SerialPrefix};
use govhall_db::testing::TestDatabase;
use govhall_db::{exec, sqlx};
use std::collections::BTreeSet;

#[tokio::test]
async fn numbers_follow_the_format_and_increase_within_their_prefix() {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    let jinan_licence = SerialPrefix::new("370100", 1, 1).unwrap();
    let province_service = SerialPrefix::new("370000", 1, 11).unwrap();
    let first = serials::issue(&db, &Actor::system("测试"), jinan_licence, "网上大厅", None).await.unwrap();
    assert_eq!(first.to_string(), "010101000001");
    assert_eq!(
        serials::issue(&db, &Actor::system("测试"), jinan_licence, "网上大厅", None).await.unwrap().to_string(),
        "010101000002"
    );
    assert_eq!(
        serials::issue(&db, &Actor::system("测试"), province_service, "网上大厅", None).await.unwrap().to_string(),
        "000111000001"
    );
    assert_eq!(
        serials::issue(&db, &Actor::system("测试"), jinan_licence, "网上大厅", None).await.unwrap().sequence(),
        3
    );

    let issued = serials::lookup(&db, &first).await.unwrap().unwrap();
    assert_eq!(issued.issuer, "网上大厅");
    let never = SerialNumber::parse("010101000099").unwrap();
    assert!(serials::lookup(&db, &never).await.unwrap().is_none());
    t.cleanup().await;
}

#[tokio::test]
async fn a_retried_request_gets_the_same_number() {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    let prefix = SerialPrefix::new("370200", 2, 7).unwrap();
    let a = serials::issue(&db, &Actor::system("测试"), prefix, "现场大厅", Some("req-1")).await.unwrap();
    assert_eq!(serials::issue(&db, &Actor::system("测试"), prefix, "现场大厅", Some("req-1")).await.unwrap(), a);
    assert_ne!(serials::issue(&db, &Actor::system("测试"), prefix, "现场大厅", Some("req-2")).await.unwrap(), a);
    assert_ne!(
        serials::issue(&db, &Actor::system("测试"), prefix, "公安厅系统", Some("req-1")).await.unwrap(),
        a,
        "keys are per issuer"
    );
    let bad = serials::issue(&db, &Actor::system("测试"), prefix, "现场大厅", Some("含中文")).await.unwrap_err();
    assert_eq!(bad.code(), "invalid_idempotency_key");
    t.cleanup().await;
}

#[tokio::test]
async fn concurrent_requests_never_share_a_number_or_leave_a_gap() {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    let prefix = SerialPrefix::new("370100", 3, 1).unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|client| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for n in 0..40 {
                    // Every third request is a retry of the one before it.
                    let key = format!("c{client}-{}", n - n % 3 / 2);
                    mine.push((
                        key.clone(),
                        serials::issue(&db, &Actor::system("测试"), prefix, &format!("client-{client}"), Some(&key))
                            .await
                            .unwrap(),
                    ));
                }
                mine
            })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    let mut by_key = std::collections::HashMap::new();
    for task in tasks {
        for (key, number) in task.await.unwrap() {
            let client = key.split('-').next().unwrap().to_owned();
            if let Some(before) = by_key.insert((client, key), number) {
                assert_eq!(before, number, "a retry got another number");
            }
            numbers.insert(number.sequence());
        }
    }
    assert_eq!(numbers.len(), by_key.len(), "one number per distinct request");
    assert_eq!(numbers.iter().copied().collect::<Vec<_>>(), (1..=by_key.len() as u64).collect::<Vec<_>>(), "no gaps");

    // The same key from many requests at once: one number.
    let same: Vec<_> = (0..10)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                serials::issue(&db, &Actor::system("测试"), prefix, "现场大厅", Some("same-key")).await.unwrap()
            })
        })
        .collect();
    let got: BTreeSet<_> = futures::future::join_all(same).await.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(got.len(), 1, "{got:?}");
    t.cleanup().await;
}

#[tokio::test]
async fn a_used_up_prefix_refuses_clearly_and_changes_nothing() {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    let prefix = SerialPrefix::new("370100", 9, 1).unwrap();
    serials::issue(&db, &Actor::system("测试"), prefix, "网上大厅", None).await.unwrap();
    let mut conn = db.conn().await.unwrap();
    exec!(conn, sqlx::query("UPDATE serial_counters SET last = 999999998 WHERE service = 9")).unwrap();
    drop(conn);
    assert_eq!(
        serials::issue(&db, &Actor::system("测试"), prefix, "网上大厅", None).await.unwrap().to_string(),
        "010901999999999"
    );
    let refused = serials::issue(&db, &Actor::system("测试"), prefix, "网上大厅", None).await.unwrap_err();
    assert_eq!(refused.code(), "serial_numbers_exhausted");
    assert!(refused.message().contains("999999999"), "{}", refused.message());
    let again = serials::issue(&db, &Actor::system("测试"), prefix, "网上大厅", None).await.unwrap_err();
    assert_eq!(again.code(), "serial_numbers_exhausted", "still refused, nothing half-issued");
    t.cleanup().await;
}
