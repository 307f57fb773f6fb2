//! Appointments across processes: three `govhall serve` nodes on one PostgreSQL take 500
//! concurrent bookings for one slot of 20 places.

use crate::common;

use common::process::{postgres_nodes, terminate};

/// 500 people booking one slot of 20 places at once through three `govhall serve` processes on
/// one PostgreSQL: exactly 20 bookings, every other attempt told the slot is full.
#[tokio::test]
async fn five_hundred_bookings_through_three_processes_on_postgres_fill_exactly_twenty_places() {
    if std::env::var(govhall_db::testing::TEST_DATABASE_URL).is_err() {
        return; // One node only on SQLite: tests/booking.rs races one node there.
    }
    let t = common::TestApp::spawn().await;
    let database_url = t.db.database_url.clone().unwrap();
    let hall = t.booking_hall(1, &common::weekday_rule(9, 10, 60, 20)).await;
    let item = hall.items[0].clone();
    let booking = t.app.booking();
    let table = booking.availability(hall.service, chrono::Utc::now()).await.unwrap();
    let slot = table.cells[0].iter().flatten().next().unwrap().id;
    // 500 people, each with an API token of their own, written straight into the database.
    let mut tokens = Vec::new();
    for n in 0..500 {
        let person = t.insert_person(n).await;
        let token = govhall_identity::crypto::new_token();
        let now = chrono::Utc::now();
        let mut conn = t.app.db().conn().await.unwrap();
        govhall_db::exec!(
            conn,
            govhall_db::sqlx::query(
                "INSERT INTO sessions (id, token_hash, account_id, kind, client_ip, user_agent, created_at, last_seen_at,
                                       expires_at) VALUES ($1, $2, $3, 'api', '', '', $4, $4, $5)"
            )
            .bind(uuid::Uuid::now_v7())
            .bind(govhall_identity::crypto::token_hash(&token))
            .bind(person.as_uuid())
            .bind(now)
            .bind(now + chrono::Duration::days(1))
        )
        .unwrap();
        tokens.push(token);
    }
    let (_dirs, mut nodes) = postgres_nodes(3, &database_url);
    govhall_messaging::install_crypto();
    let client = reqwest::Client::new();
    let attempts: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(n, token)| {
            let url = format!("{}/api/v1/bookings", nodes[n % 3].1);
            let (client, item) = (client.clone(), item.clone());
            tokio::spawn(async move {
                let body = serde_json::json!({"slot_id": slot, "item_code": item});
                let res = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
                let status = res.status();
                let body: serde_json::Value = res.json().await.unwrap();
                (status, body["code"].as_str().unwrap_or_default().to_owned())
            })
        })
        .collect();
    let mut booked = std::collections::BTreeSet::new();
    let mut full = 0;
    for attempt in futures::future::join_all(attempts).await {
        match attempt.unwrap() {
            (reqwest::StatusCode::CREATED, code) => assert!(booked.insert(code)),
            (reqwest::StatusCode::CONFLICT, code) if code == "slot_full" => full += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((booked.len(), full), (20, 480));
    assert_eq!(booking.slot(slot).await.unwrap().booked, 20);
    for (child, _) in &mut nodes {
        assert!(terminate(child).success());
    }
    t.stop().await;
}
