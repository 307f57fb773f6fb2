//! Appointments on the test backend: slots follow the official calendar, capacity is never
//! exceeded by concurrent bookings (on three nodes when the backend is PostgreSQL), one active
//! booking per person and item, cancellation frees the place and calls off the reminders,
//! check-in gives priority numbers within its window, and no-shows block booking.

use crate::common;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use common::TestApp;
use govhall_audit::Actor;
use govhall_booking::setup::Rule;
use govhall_booking::{Booking, BookingError};
use govhall_booking::{BookingStatus, HallId, ServiceId, SlotId};
use govhall_core::Coded;
use govhall_identity::{Access, AccountId};
use std::collections::BTreeSet;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A hall in Guangzhou with one service for a few items, and a manager over Guangdong.
struct Hall {
    t: TestApp,
    access: Access,
    actor: Actor,
    hall: HallId,
    service: ServiceId,
    items: Vec<String>,
}

async fn hall(capacity: u32, valid_from: NaiveDate) -> Hall {
    let t = TestApp::spawn().await;
    let rule = Rule { valid_from, ..common::weekday_rule(9, 12, 30, capacity) };
    let b = t.booking_hall(5, &rule).await;
    Hall { t, access: b.access, actor: b.actor, hall: b.hall, service: b.service, items: b.items }
}

fn person_actor(id: AccountId) -> Actor {
    Actor { id: Some(id), label: "个人用户:张三".into(), client_ip: String::new() }
}

#[tokio::test]
async fn slots_follow_the_official_calendar() {
    let h = hall(2, d("2025-09-01")).await;
    let booking = h.t.app.booking();
    booking.make_slots(h.service, d("2025-09-26"), d("2025-10-12")).await.unwrap();
    let mut conn = h.t.app.db().conn().await.unwrap();
    let days: Vec<NaiveDate> = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
        "SELECT DISTINCT day FROM slots WHERE service_id = $1 AND day <= $2 ORDER BY day"
    )
    .bind(h.service.as_uuid())
    .bind(d("2025-10-12"))
    .fetch_all(&mut *c)
    .await)
    .unwrap();
    // Sat 09-27 no; Sun 09-28 (make-up) yes; 10-01..10-08 (National Day, Mid-Autumn) no; Sat
    // 10-11 (make-up) yes; Sun 10-12 no.
    let expected = ["2025-09-26", "2025-09-28", "2025-09-29", "2025-09-30", "2025-10-09", "2025-10-10", "2025-10-11"];
    assert_eq!(days, expected.map(d).to_vec());
    // Six half-hours a day, made once however often asked.
    assert_eq!(booking.make_slots(h.service, d("2025-09-26"), d("2025-10-12")).await.unwrap(), 0);
    let count: i64 =
        govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar("SELECT COUNT(*) FROM slots WHERE day <= $1")
            .bind(d("2025-10-12"))
            .fetch_one(&mut *c)
            .await)
        .unwrap();
    assert_eq!(count, 7 * 6);
    drop(conn);
    // A Saturday rule opens on Saturdays (holidays excepted); a Tuesday rule does not follow the
    // make-up days, which stand in for the whole working week.
    let days_of = async |weekdays: Vec<chrono::Weekday>, name: &str| {
        let service = booking.create_service(&h.access, &h.actor, h.hall, name, &h.items[..1], &[]).await.unwrap();
        let rule = Rule { weekdays, valid_from: d("2025-09-01"), ..common::weekday_rule(9, 10, 60, 1) };
        booking.add_rule(&h.access, &h.actor, service.id, &rule).await.unwrap();
        booking.make_slots(service.id, d("2025-09-26"), d("2025-10-12")).await.unwrap();
        let mut conn = h.t.app.db().conn().await.unwrap();
        let days: Vec<NaiveDate> = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
            "SELECT DISTINCT day FROM slots WHERE service_id = $1 AND day <= $2 ORDER BY day"
        )
        .bind(service.id.as_uuid())
        .bind(d("2025-10-12"))
        .fetch_all(&mut *c)
        .await)
        .unwrap();
        days
    };
    assert_eq!(days_of(vec![chrono::Weekday::Sat], "周末窗口").await, [d("2025-09-27"), d("2025-10-11")]);
    assert_eq!(days_of(vec![chrono::Weekday::Tue], "周二窗口").await, [d("2025-09-30")]);

    // A bad rule is refused with the reason.
    let bad = Rule {
        weekdays: vec![],
        start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        slot_minutes: 30,
        capacity: 1,
        valid_from: d("2025-09-01"),
        valid_until: None,
        exclusions: vec![],
    };
    let err = booking.add_rule(&h.access, &h.actor, h.service, &bad).await.unwrap_err();
    assert!(err.message().contains("星期"), "{err}");
    h.t.stop().await;
}

#[tokio::test]
async fn booking_cancelling_and_the_rules_of_one_person() {
    let h = hall(1, d("2020-01-01")).await;
    let booking: &Booking = h.t.app.booking();
    let table = booking.availability(h.service, Utc::now()).await.unwrap();
    let (first, last) = booking.bookable_days(Utc::now());
    assert!(!table.days.is_empty() && table.days.iter().all(|day| (first..=last).contains(day)));
    assert!(table.days.iter().all(|day| booking.calendar().is_working_day(*day)));
    assert_eq!(table.times.len(), 6);
    let slots: Vec<_> = table.cells.iter().flatten().flatten().cloned().collect();
    let (a, b) = (slots[0].clone(), slots[1].clone());

    let p1 = h.t.person("13800000401", &common::test_id_number(1)).await;
    let p2 = h.t.person("13800000402", &common::test_id_number(2)).await;
    let mine = booking.book(p1, &person_actor(p1), a.id, &h.items[0]).await.unwrap();
    assert_eq!(mine.code.len(), 8);
    assert_eq!(booking.slot(a.id).await.unwrap().booked, 1);
    // Full (capacity 1), one active booking per item, items the service does not serve.
    let full = booking.book(p2, &person_actor(p2), a.id, &h.items[0]).await.unwrap_err();
    assert_eq!(full.code(), "slot_full");
    let twice = booking.book(p1, &person_actor(p1), b.id, &h.items[0]).await.unwrap_err();
    assert_eq!(twice.code(), "already_booked");
    let err = booking.book(p1, &person_actor(p1), b.id, "NO-SUCH-ITEM").await.unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    // Staff accounts do not book.
    let staff = h.t.staff("13600000302", h.t.department("某局", "440100", None).await).await;
    assert_eq!(
        booking.book(staff, &person_actor(staff), b.id, &h.items[0]).await.unwrap_err().code(),
        "booking_forbidden"
    );

    // The confirmation went out; the reminders wait for their time and go with the booking.
    let reminders = pending_reminders(&h.t, "13800000401").await;
    assert!(!reminders.is_empty(), "reminders are scheduled");
    // At 09:00 China time the day before (when that is still ahead) and an hour before.
    let times = reminder_times(&h.t, "13800000401").await;
    assert!(times.contains(&(a.starts_at - Duration::minutes(60))), "{times:?}");
    let eve = govhall_core::clock::CHINA
        .from_local_datetime(&a.day.pred_opt().unwrap().and_hms_opt(9, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(times.contains(&eve), eve > Utc::now(), "{times:?}");
    let cancelled = booking.cancel(p1, &person_actor(p1), &mine.code).await.unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert_eq!(booking.slot(a.id).await.unwrap().booked, 0, "the place is free again");
    assert!(pending_reminders(&h.t, "13800000401").await.is_empty(), "reminders called off");
    assert_eq!(booking.cancel(p1, &person_actor(p1), &mine.code).await.unwrap_err().code(), "invalid_input");
    assert_eq!(booking.cancel(p2, &person_actor(p2), &mine.code).await.unwrap_err().code(), "booking_not_found");
    // Now the other person gets the freed place.
    booking.book(p2, &person_actor(p2), a.id, &h.items[0]).await.unwrap();
    // The daily limit (3): p1 books two other items, then a third is refused.
    booking.book(p1, &person_actor(p1), b.id, &h.items[0]).await.unwrap();
    booking.book(p1, &person_actor(p1), slots[2].id, &h.items[1]).await.unwrap();
    let limit = booking.book(p1, &person_actor(p1), slots[3].id, &h.items[2]).await.unwrap_err();
    assert_eq!(limit.code(), "daily_limit_reached");
    assert_eq!(booking.mine(p1).await.unwrap().len(), 3);

    // Staff resize and close a slot: never below the places taken; closing tells the people.
    let err = booking.set_capacity(&h.access, &h.actor, b.id, 0).await.unwrap_err();
    assert!(err.message().contains("不能少于 1"), "{err}");
    booking.set_capacity(&h.access, &h.actor, b.id, 3).await.unwrap();
    assert_eq!(booking.slot(b.id).await.unwrap().left(), 2);
    assert_eq!(booking.close_slot(&h.access, &h.actor, b.id, " ").await.unwrap_err().code(), "invalid_input");
    assert_eq!(booking.close_slot(&h.access, &h.actor, b.id, "停电检修").await.unwrap(), 1);
    let after = booking.mine(p1).await.unwrap().into_iter().find(|x| x.slot_id == b.id).unwrap();
    assert_eq!(after.status, BookingStatus::Cancelled);
    assert!(after.cancel_reason.unwrap().contains("停电检修"));
    assert_eq!(booking.book(p2, &person_actor(p2), b.id, &h.items[1]).await.unwrap_err().code(), "slot_full");
    let outbox = h.t.app.messaging().sandbox_outbox().unwrap();
    for _ in 0..200 {
        if outbox.sent_to("13800000401").iter().any(|m| m.body.contains("停电检修")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(outbox.sent_to("13800000401").iter().any(|m| m.body.contains("停电检修")), "told by SMS");
    h.t.stop().await;
}

/// When the SMS reminders to `phone` are due.
async fn reminder_times(t: &TestApp, phone: &str) -> Vec<chrono::DateTime<Utc>> {
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
        "SELECT send_at FROM messages WHERE template_code = 'booking.reminder' AND recipient = $1"
    )
    .bind(phone)
    .fetch_all(&mut *c)
    .await)
    .unwrap()
}

/// Scheduled SMS reminders to `phone` still waiting.
async fn pending_reminders(t: &TestApp, phone: &str) -> Vec<String> {
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
        "SELECT status FROM messages WHERE template_code = 'booking.reminder' AND recipient = $1 AND status <> 'cancelled'"
    )
    .bind(phone)
    .fetch_all(&mut *c)
    .await)
    .unwrap()
}

#[tokio::test]
async fn five_hundred_concurrent_attempts_never_exceed_twenty_places() {
    let h = hall(20, d("2020-01-01")).await;
    let table = h.t.app.booking().availability(h.service, Utc::now()).await.unwrap();
    let slot = table.cells[0].iter().flatten().next().unwrap().clone();
    // 500 people, made directly (an SMS round trip each would only slow the test).
    let mut people = Vec::new();
    for n in 0..500u32 {
        people.push(h.t.insert_person(n).await);
    }
    // On PostgreSQL, two more nodes on the same database take a share of the attempts.
    let mut extra = Vec::new();
    if h.t.db.database_url.is_some() {
        for _ in 0..2 {
            let settings = common::settings(&h.t.db);
            extra.push(govhall::App::build(settings).await.unwrap());
        }
    }
    let nodes: Vec<Booking> =
        std::iter::once(h.t.app.booking().clone()).chain(extra.iter().map(|a| a.booking().clone())).collect();
    let item = h.items[0].clone();
    let attempts = people.iter().enumerate().map(|(i, p)| {
        let node = nodes[i % nodes.len()].clone();
        let (p, item, slot) = (*p, item.clone(), slot.id);
        tokio::spawn(async move { node.book(p, &person_actor(p), slot, &item).await })
    });
    let results = futures::future::join_all(attempts).await;
    let mut ok = 0;
    let mut codes = BTreeSet::new();
    for r in results {
        match r.unwrap() {
            Ok(b) => {
                ok += 1;
                codes.insert(b.code);
            }
            Err(BookingError::SlotFull) => {}
            Err(e) => panic!("an attempt failed otherwise: {e}"),
        }
    }
    assert_eq!(ok, 20, "exactly the capacity");
    assert_eq!(codes.len(), 20);
    let after = h.t.app.booking().slot(slot.id).await.unwrap();
    assert_eq!((after.booked, after.left()), (20, 0));
    let mut conn = h.t.app.db().conn().await.unwrap();
    let rows: i64 = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(
        "SELECT COUNT(*) FROM bookings WHERE slot_id = $1 AND status = 'booked'"
    )
    .bind(slot.id.as_uuid())
    .fetch_one(&mut *c)
    .await)
    .unwrap();
    assert_eq!(rows, 20);
    drop(conn);
    for app in extra {
        app.stop().await.unwrap();
    }
    h.t.stop().await;
}

#[tokio::test]
async fn check_in_gives_priority_numbers_in_its_window_and_no_shows_block() {
    let h = hall(5, d("2020-01-01")).await;
    let booking = h.t.app.booking();
    let table = booking.availability(h.service, Utc::now()).await.unwrap();
    let slot = table.cells[0].iter().flatten().next().unwrap().clone();
    let p = h.t.person("13800000501", &common::test_id_number(5)).await;
    let b = booking.book(p, &person_actor(p), slot.id, &h.items[0]).await.unwrap();
    // Too early (the slot is tomorrow or later; check-in opens an hour before).
    let err = booking.check_in(&h.access, &h.actor, h.hall, &b.code).await.unwrap_err();
    assert_eq!(err.code(), "too_early");
    assert!(err.message().contains("后签到"));
    // Someone without the right at this hall.
    let outsider = Access::default();
    assert_eq!(booking.check_in(&outsider, &h.actor, h.hall, &b.code).await.unwrap_err().code(), "booking_forbidden");
    assert_eq!(
        booking.check_in(&h.access, &h.actor, h.hall, "NOPE1234").await.unwrap_err().code(),
        "booking_not_found"
    );

    // A slot that has begun: move this one to now (the clock of the hall is the database's).
    shift_slot(&h.t, slot.id, Utc::now() - Duration::minutes(10)).await;
    let arrived = booking.check_in(&h.access, &h.actor, h.hall, &b.code.to_lowercase()).await.unwrap();
    assert_eq!((arrived.status, arrived.queue_number.as_deref()), (BookingStatus::Arrived, Some("Y001")));
    assert!(booking.check_in(&h.access, &h.actor, h.hall, &b.code).await.unwrap_err().message().contains("Y001"));
    // Too late: 40 minutes after the start.
    let q = h.t.person("13800000502", &common::test_id_number(6)).await;
    let slot2 = table.cells[1].iter().flatten().next().unwrap().clone();
    let late = booking.book(q, &person_actor(q), slot2.id, &h.items[0]).await.unwrap();
    shift_slot(&h.t, slot2.id, Utc::now() - Duration::minutes(40)).await;
    assert_eq!(booking.check_in(&h.access, &h.actor, h.hall, &late.code).await.unwrap_err().code(), "too_late");

    // No-shows: three missed bookings in 90 days block booking, and the person is told why.
    let mut missed = Vec::new();
    for (i, item) in h.items.iter().take(3).enumerate() {
        let s = table.cells[2 + i].iter().flatten().next().unwrap().clone();
        if i > 0 {
            missed.push(booking.book(q, &person_actor(q), s.id, item).await);
        }
        shift_slot(&h.t, s.id, Utc::now() - Duration::hours(3)).await;
    }
    let marked = booking.mark_no_shows(&h.access, &h.actor, h.hall).await.unwrap();
    assert_eq!(marked, 3, "the late one and the two missed");
    let s = table.cells[5].iter().flatten().next().unwrap().clone();
    let err = booking.book(q, &person_actor(q), s.id, &h.items[3]).await.unwrap_err();
    assert_eq!(err.code(), "booking_blocked");
    assert!(err.message().contains("暂停"));
    let outbox = h.t.app.messaging().sandbox_outbox().unwrap();
    for _ in 0..200 {
        if outbox.sent_to("13800000502").iter().any(|m| m.body.contains("暂停网上预约")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(outbox.sent_to("13800000502").iter().any(|m| m.body.contains("暂停网上预约")));
    assert!(missed.iter().all(Result::is_ok));
    h.t.stop().await;
}

/// Moves a slot to start at `at` (and last half an hour), as time passing would.
async fn shift_slot(t: &TestApp, slot: SlotId, at: chrono::DateTime<Utc>) {
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::exec!(
        conn,
        govhall_db::sqlx::query("UPDATE slots SET starts_at = $1, ends_at = $2 WHERE id = $3")
            .bind(at)
            .bind(at + Duration::minutes(30))
            .bind(slot.as_uuid())
    )
    .unwrap();
}
