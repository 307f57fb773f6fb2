//! The message center's rules with the sandbox channels and a clock the test sets: outbox,
//! idempotency, templates, the lifecycle, retries, schedules, quiet hours, limits, codes.

#![expect(clippy::unwrap_used, reason = "test helpers unwrap: a failure there is the test failing")]

mod common;

use chrono::Duration;
use common::{Hall, china, phone};
use govhall_core::{Coded, EmailAddress};
use govhall_messaging::channels::{SANDBOX_PERMANENT_FAILURE_PHONE, SANDBOX_TEMPORARY_FAILURE_PHONE};
use govhall_messaging::{
    Channel, MessageStatus, MessagingError, MessagingSettings, OutgoingMessage, Recipient, cancel, inbox, retry, send,
    store, templates, verification,
};
use serde_json::json;
use uuid::Uuid;

fn account() -> (Uuid, Recipient) {
    let id = Uuid::now_v7();
    (id, Recipient::Account(id))
}

#[tokio::test]
async fn inbox_messages_are_delivered_counted_and_read_only_by_their_owner() {
    let hall = Hall::start(MessagingSettings::default()).await;
    hall.template("case.accepted", Channel::Inbox, "办件已受理", "{{ name }}，您的办件 {{ serial }} 已受理。").await;
    let (owner, to) = account();
    let id =
        hall.send(OutgoingMessage::new("case.accepted", to, json!({"name": "张三", "serial": "370101000001"}))).await;
    let m = hall.wait_for(id, MessageStatus::Delivered).await;
    assert_eq!(m.body, "张三，您的办件 370101000001 已受理。");
    assert_eq!((m.template_code.as_str(), m.template_version), ("case.accepted", 1));
    assert!(m.delivered_at.is_some() && m.sending_at.is_some());
    assert_eq!(inbox::unread_count(&hall.db, owner).await.unwrap(), 1);
    assert_eq!(inbox::list(&hall.db, owner, 10, 0).await.unwrap()[0].id, id);

    let (stranger, _) = account();
    assert!(!inbox::mark_read(&hall.db, stranger, id).await.unwrap(), "not someone else's message");
    assert_eq!(inbox::unread_count(&hall.db, owner).await.unwrap(), 1);
    assert!(inbox::mark_read(&hall.db, owner, id).await.unwrap());
    assert_eq!(inbox::unread_count(&hall.db, owner).await.unwrap(), 0);
    let events: Vec<String> = store::events(&hall.db, id).await.unwrap().into_iter().map(|e| e.status).collect();
    assert_eq!(events, ["created", "sending", "delivered"], "every transition recorded");
    hall.stop().await;
}

#[tokio::test]
async fn a_message_in_a_rolled_back_transaction_is_never_sent_and_a_key_sends_once() {
    let hall = Hall::start(MessagingSettings::default()).await;
    hall.template("notice", Channel::Inbox, "通知", "{{ text }}").await;
    let (owner, to) = account();
    let mut tx = hall.db.begin().await.unwrap();
    send(&mut tx, &hall.messaging, OutgoingMessage::new("notice", to.clone(), json!({"text": "回滚"}))).await.unwrap();
    tx.rollback().await.unwrap();

    let first =
        hall.send(OutgoingMessage::new("notice", to.clone(), json!({"text": "一"})).idempotency_key("evt-1")).await;
    let again =
        hall.send(OutgoingMessage::new("notice", to.clone(), json!({"text": "二"})).idempotency_key("evt-1")).await;
    assert_eq!(first, again);
    hall.wait_for(first, MessageStatus::Delivered).await;
    hall.settle().await;
    let all = inbox::list(&hall.db, owner, 10, 0).await.unwrap();
    assert_eq!(all.len(), 1, "one message: the rolled-back one never existed, the repeat is the same");
    assert_eq!(all[0].body, "一");
    hall.stop().await;
}

#[tokio::test]
async fn templates_are_versioned_strict_and_escaped_for_json() {
    let hall = Hall::start(MessagingSettings::default()).await;
    hall.template("notice", Channel::Inbox, "", "旧：{{ text }}").await;
    hall.template("notice", Channel::Inbox, "", "新：{{ text }}").await;
    let (_, to) = account();
    let mut tx = hall.db.begin().await.unwrap();
    let err = send(&mut tx, &hall.messaging, OutgoingMessage::new("notice", to.clone(), json!({"other": 1})))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "missing_placeholder");
    assert_eq!(err.to_string(), "消息模板缺少参数：text");
    let err = send(&mut tx, &hall.messaging, OutgoingMessage::new("nope", to.clone(), json!({}))).await.unwrap_err();
    assert_eq!(err.code(), "template_not_found");
    let id = send(&mut tx, &hall.messaging, OutgoingMessage::new("notice", to, json!({"text": "<b>你好</b>"})))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let m = hall.wait_for(id, MessageStatus::Delivered).await;
    assert_eq!((m.body.as_str(), m.template_version), ("新：<b>你好</b>", 2), "the newest version, recorded");

    let bad = templates::check(Channel::Inbox, "", "{{ unclosed ").unwrap_err();
    assert_eq!(bad.code(), "invalid_template");
    let json_tpl = templates::Template {
        id: Uuid::now_v7(),
        code: "screen.update".into(),
        channel: Channel::Webhook,
        version: 1,
        subject: String::new(),
        body: r#"{"title": {{ title }}, "count": {{ count }}}"#.into(),
        note: String::new(),
        created_by: "test".into(),
        created_at: hall.db.now(),
    };
    let (_, body) = templates::render(&json_tpl, &json!({"title": "他说\"你好\"\n", "count": 3})).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed, json!({"title": "他说\"你好\"\n", "count": 3}), "values are JSON-escaped: {body}");
    assert_eq!(templates::versions(&hall.db, "notice", Channel::Inbox).await.unwrap().len(), 2);
    hall.stop().await;
}

#[tokio::test]
async fn a_nodes_copy_of_a_template_gives_way_to_a_newer_version_made_elsewhere() {
    let hall = Hall::start(MessagingSettings::default()).await;
    hall.template("notice", Channel::Inbox, "", "第一版：{{ text }}").await;
    let (_, to) = account();
    let first = hall.send(OutgoingMessage::new("notice", to.clone(), json!({"text": "一"}))).await;
    // Version 2 is made as another node would make it: straight into the database, this node's
    // copy of version 1 untold.
    hall.template("notice", Channel::Inbox, "", "第二版：{{ text }}").await;
    let second = hall.send(OutgoingMessage::new("notice", to.clone(), json!({"text": "二"}))).await;
    let third = hall.send(OutgoingMessage::new("notice", to, json!({"text": "三"}))).await;
    let (a, b, c) = (hall.message(first).await, hall.message(second).await, hall.message(third).await);
    assert_eq!((a.body.as_str(), a.template_version), ("第一版：一", 1));
    assert_eq!((b.body.as_str(), b.template_version), ("第二版：二", 2), "never the superseded version");
    assert_eq!((c.body.as_str(), c.template_version), ("第二版：三", 2));
    let events: Vec<String> = store::events(&hall.db, second).await.unwrap().into_iter().map(|e| e.status).collect();
    assert_eq!(events.first().map(String::as_str), Some("created"), "one message, its first event: {events:?}");
    hall.stop().await;
}

#[tokio::test]
async fn messages_sent_together_are_each_sent_once_in_order() {
    let hall = Hall::start(MessagingSettings::default()).await;
    hall.template("notice", Channel::Inbox, "通知", "{{ text }}").await;
    hall.template("notice", Channel::Sms, "", "短信：{{ text }}").await;
    let (owner, to) = account();
    let first =
        hall.send(OutgoingMessage::new("notice", to.clone(), json!({"text": "早先"})).idempotency_key("k-1")).await;
    let batch = vec![
        OutgoingMessage::new("notice", to.clone(), json!({"text": "重复"})).idempotency_key("k-1"),
        OutgoingMessage::new("notice", to.clone(), json!({"text": "新的"})).idempotency_key("k-2"),
        OutgoingMessage::new("notice", phone("13912345678"), json!({"text": "短信"})),
    ];
    let mut tx = hall.db.begin().await.unwrap();
    let ids = govhall_messaging::send_all(&mut tx, &hall.messaging, batch).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], first, "a used key answers with the first message");
    let (new, sms) =
        (hall.wait_for(ids[1], MessageStatus::Delivered).await, hall.wait_for(ids[2], MessageStatus::Delivered).await);
    assert_eq!((new.body.as_str(), sms.body.as_str()), ("新的", "短信：短信"));
    hall.settle().await;
    assert_eq!(inbox::list(&hall.db, owner, 10, 0).await.unwrap().len(), 2, "the repeat sent nothing");
    let mut tx = hall.db.begin().await.unwrap();
    let missing = OutgoingMessage::new("nope", phone("13912345678"), json!({}));
    let err = govhall_messaging::send_all(&mut tx, &hall.messaging, vec![missing.clone(), missing]).await.unwrap_err();
    assert_eq!(err.code(), "template_not_found");
    tx.rollback().await.unwrap();
    hall.stop().await;
}

#[tokio::test]
async fn messages_are_called_off_by_their_keys_until_they_go() {
    let hall = Hall::start(MessagingSettings::default()).await;
    hall.template("reminder", Channel::Inbox, "预约提醒", "明天{{ time }}请到大厅办理").await;
    let (_, to) = account();
    let tomorrow = hall.clock_now() + Duration::hours(20);
    let later = OutgoingMessage::new("reminder", to.clone(), json!({"time": "9:00"})).send_at(tomorrow);
    let waiting = hall.send(later.idempotency_key("booking:1:eve:inbox")).await;
    let now = hall.send(OutgoingMessage::new("reminder", to, json!({"time": "10:00"})).idempotency_key("gone")).await;
    hall.wait_for(now, MessageStatus::Delivered).await;
    let mut tx = hall.db.begin().await.unwrap();
    let keys = ["booking:1:eve:inbox".to_owned(), "gone".to_owned(), "never-used".to_owned()];
    let cancelled = govhall_messaging::cancel_keys_in(&mut tx, &keys, "预约已取消").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(cancelled, 1, "only the message still waiting");
    assert_eq!(hall.message(waiting).await.status, MessageStatus::Cancelled);
    assert_eq!(hall.message(now).await.status, MessageStatus::Delivered);
    hall.stop().await;
}

#[tokio::test]
async fn permanent_failures_stop_at_once_and_temporary_ones_retry_to_the_limit() {
    let settings = MessagingSettings { max_attempts: 3, ..MessagingSettings::default() };
    let hall = Hall::start(settings).await;
    hall.template("notice", Channel::Sms, "", "【政务服务】{{ text }}").await;
    let dead_number =
        hall.send(OutgoingMessage::new("notice", phone(SANDBOX_PERMANENT_FAILURE_PHONE), json!({"text": "a"}))).await;
    let flaky =
        hall.send(OutgoingMessage::new("notice", phone(SANDBOX_TEMPORARY_FAILURE_PHONE), json!({"text": "b"}))).await;
    let fine = hall.send(OutgoingMessage::new("notice", phone("13912345678"), json!({"text": "c"}))).await;
    let m = hall.wait_for(dead_number, MessageStatus::PermanentFailure).await;
    assert_eq!(m.attempts, 1, "not retried");
    assert!(m.last_error.unwrap().contains("号码不存在"));
    let m = hall.wait_for(flaky, MessageStatus::TemporaryFailure).await;
    assert_eq!(m.attempts, 3, "retried up to the limit");
    let m = hall.wait_for(fine, MessageStatus::Delivered).await;
    assert_eq!(m.body, "【政务服务】c");
    assert_eq!(m.provider.as_deref(), Some("sandbox"));
    assert!(m.provider_message_id.unwrap().starts_with("sandbox-"));

    // The admin's retry sends a failed message again with fresh tries.
    retry(&hall.db, &hall.messaging, flaky, &govhall_audit::Actor::system("管理员")).await.unwrap();
    assert_eq!(hall.message(flaky).await.status, MessageStatus::Created);
    hall.wait_for(flaky, MessageStatus::TemporaryFailure).await;
    assert_eq!(hall.message(flaky).await.attempts, 6);
    let err = retry(&hall.db, &hall.messaging, fine, &govhall_audit::Actor::system("管理员")).await.unwrap_err();
    assert_eq!(err.code(), "message_wrong_state");
    hall.stop().await;
}

#[tokio::test]
async fn scheduled_messages_wait_and_can_be_cancelled_before_they_go() {
    let hall = Hall::start(MessagingSettings::default()).await;
    hall.template("reminder", Channel::Inbox, "预约提醒", "明天{{ time }}请到大厅办理").await;
    let (owner, to) = account();
    let tomorrow = hall.clock_now() + Duration::hours(20);
    let kept = hall.send(OutgoingMessage::new("reminder", to.clone(), json!({"time": "9:00"})).send_at(tomorrow)).await;
    let dropped = hall.send(OutgoingMessage::new("reminder", to, json!({"time": "10:00"})).send_at(tomorrow)).await;
    hall.settle().await;
    assert_eq!(hall.message(kept).await.status, MessageStatus::Created);
    cancel(&hall.db, dropped, "预约已取消", &govhall_audit::Actor::system("管理员")).await.unwrap();
    assert_eq!(
        cancel(&hall.db, dropped, "again", &govhall_audit::Actor::system("管理员")).await.unwrap_err().code(),
        "message_wrong_state"
    );
    hall.clock.set(tomorrow);
    hall.wait_for(kept, MessageStatus::Delivered).await;
    hall.settle().await;
    assert_eq!(hall.message(dropped).await.status, MessageStatus::Cancelled);
    assert_eq!(inbox::list(&hall.db, owner, 10, 0).await.unwrap().len(), 1);
    hall.stop().await;
}

#[tokio::test]
async fn sms_waits_out_quiet_hours_but_verification_codes_do_not() {
    let hall = Hall::start_at(MessagingSettings::default(), china(27, 23, 10)).await;
    hall.template("notice", Channel::Sms, "", "{{ text }}").await;
    let held = hall.send(OutgoingMessage::new("notice", phone("13912345678"), json!({"text": "夜间通知"}))).await;
    let code = verification::issue(&hall.db, &hall.messaging, "login", "登录", &phone("13712345678")).await.unwrap();
    hall.wait_for(code.message_id, MessageStatus::Delivered).await;
    hall.settle().await;
    let m = hall.message(held).await;
    assert_eq!(m.status, MessageStatus::Created);
    assert_eq!(m.send_at, china(28, 8, 0), "held until 08:00");
    let events = store::events(&hall.db, held).await.unwrap();
    assert!(events.iter().any(|e| e.status == "held" && e.detail.contains("2026-11-28 08:00")), "{events:?}");
    hall.clock.set(china(28, 8, 0));
    hall.wait_for(held, MessageStatus::Delivered).await;
    hall.stop().await;
}

#[tokio::test]
async fn rate_limits_and_daily_caps_defer_without_using_tries() {
    let mut settings = MessagingSettings { max_attempts: 1, ..MessagingSettings::default() };
    settings.sms.limits.rate_per_second = 1.0;
    settings.sms.limits.burst = 1;
    settings.sms.limits.daily_cap = 2;
    let hall = Hall::start(settings).await;
    hall.template("notice", Channel::Sms, "", "{{ n }}").await;
    let ids: Vec<Uuid> = {
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(hall.send(OutgoingMessage::new("notice", phone("13912345678"), json!({"n": n}))).await);
        }
        ids
    };
    // One token at a time, in no particular order: wait for the first, then for the second.
    let delivered = async |n: usize| {
        for _ in 0..2000 {
            let mut done = Vec::new();
            let mut waiting = Vec::new();
            for id in &ids {
                let m = hall.message(*id).await;
                if m.status == MessageStatus::Delivered { done.push(*id) } else { waiting.push(m) }
            }
            if done.len() == n {
                return waiting;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("never {n} delivered");
    };
    let waiting = delivered(1).await;
    hall.settle().await;
    assert_eq!(delivered(1).await.len(), 2, "the bucket is empty");
    for m in &waiting {
        assert_eq!((m.status, m.attempts), (MessageStatus::Created, 0));
    }
    hall.clock.advance(Duration::seconds(1));
    let waiting = delivered(2).await;
    let other = waiting[0].id;
    hall.clock.advance(Duration::seconds(5));
    hall.settle().await;
    let capped = hall.message(other).await;
    assert_eq!((capped.status, capped.attempts), (MessageStatus::Created, 0), "two a day");
    let events = store::events(&hall.db, other).await.unwrap();
    assert!(events.iter().any(|e| e.detail.contains("每日发送上限")), "{events:?}");
    hall.clock.set(china(28, 9, 0));
    let m = hall.wait_for(other, MessageStatus::Delivered).await;
    assert_eq!(m.attempts, 1, "the waits used no try (max_attempts is 1)");
    hall.stop().await;
}

/// The code a person received, from the sandbox's outbox (the database keeps only its hash).
async fn received_code(hall: &Hall, message_id: Uuid) -> String {
    hall.wait_for(message_id, MessageStatus::Delivered).await;
    let entry = hall.messaging.sandbox_outbox().unwrap().find(message_id).unwrap();
    entry.subject.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test]
async fn verification_codes_expire_limit_tries_and_sends() {
    let hall = Hall::start(MessagingSettings::default()).await;
    let to = Recipient::Email(EmailAddress::parse("zhangsan@example.com").unwrap());
    let issued = verification::issue(&hall.db, &hall.messaging, "register", "注册账号", &to).await.unwrap();
    let code = received_code(&hall, issued.message_id).await;
    assert_eq!(code.len(), 6);
    let sent = hall.messaging.sandbox_outbox().unwrap().find(issued.message_id).unwrap();
    assert!(sent.body.contains(&code) && sent.body.contains("注册账号") && sent.body.contains("5 分钟"));
    let stored = hall.message(issued.message_id).await;
    assert!(!stored.body.contains(&code) && !stored.subject.contains(&code), "the settled message keeps no code");
    let mut conn = hall.db.conn().await.unwrap();
    let hash: String = govhall_db::run!(conn, |c| {
        govhall_db::sqlx::query_scalar("SELECT code_hash FROM verification_codes").fetch_one(&mut *c).await
    })
    .unwrap();
    assert!(!hash.contains(&code), "stored hashed");
    drop(conn);
    let err =
        retry(&hall.db, &hall.messaging, issued.message_id, &govhall_audit::Actor::system("管理员")).await.unwrap_err();
    assert!(err.code() == "message_wrong_state" || err.code() == "verification_not_retried");

    let err = verification::issue(&hall.db, &hall.messaging, "register", "注册账号", &to).await.unwrap_err();
    assert!(matches!(err, MessagingError::CodeTooSoon(60)), "{err:?}");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        verification::check(&hall.db, &hall.messaging, "register", &to, wrong).await.unwrap_err().code(),
        "code_wrong"
    );
    assert_eq!(
        verification::check(&hall.db, &hall.messaging, "reset_password", &to, &code).await.unwrap_err().code(),
        "code_expired",
        "a code is for its purpose only"
    );
    verification::check(&hall.db, &hall.messaging, "register", &to, &code).await.unwrap();
    assert_eq!(
        verification::check(&hall.db, &hall.messaging, "register", &to, &code).await.unwrap_err().code(),
        "code_expired",
        "a code works once"
    );

    // Five wrong tries kill a code; an old one expires.
    hall.clock.advance(Duration::seconds(61));
    let issued = verification::issue(&hall.db, &hall.messaging, "register", "注册账号", &to).await.unwrap();
    let code = received_code(&hall, issued.message_id).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        assert_eq!(
            verification::check(&hall.db, &hall.messaging, "register", &to, wrong).await.unwrap_err().code(),
            "code_wrong"
        );
    }
    assert_eq!(
        verification::check(&hall.db, &hall.messaging, "register", &to, wrong).await.unwrap_err().code(),
        "code_locked"
    );
    assert_eq!(
        verification::check(&hall.db, &hall.messaging, "register", &to, &code).await.unwrap_err().code(),
        "code_locked"
    );

    hall.clock.advance(Duration::seconds(61));
    let issued = verification::issue(&hall.db, &hall.messaging, "register", "注册账号", &to).await.unwrap();
    let code = received_code(&hall, issued.message_id).await;
    hall.clock.advance(Duration::seconds(301));
    assert_eq!(
        verification::check(&hall.db, &hall.messaging, "register", &to, &code).await.unwrap_err().code(),
        "code_expired"
    );
    hall.stop().await;
}

#[tokio::test]
async fn a_message_that_falls_due_in_quiet_hours_is_held_at_delivery_too() {
    let hall = Hall::start_at(MessagingSettings::default(), china(27, 21, 50)).await;
    hall.template("notice", Channel::Sms, "", "{{ text }}").await;
    // Due at 21:59, before quiet hours; the worker only gets to it at 23:00.
    let id = hall
        .send(OutgoingMessage::new("notice", phone("13912345678"), json!({"text": "提醒"})).send_at(china(27, 21, 59)))
        .await;
    hall.clock.set(china(27, 23, 0));
    let mut held = false;
    for _ in 0..500 {
        let events = store::events(&hall.db, id).await.unwrap();
        if events.iter().any(|e| e.status == "held" && e.detail.contains("2026-11-28 08:00")) {
            held = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(held, "held when the delivery job ran in quiet hours");
    assert_eq!(hall.message(id).await.status, MessageStatus::Created);
    hall.clock.set(china(28, 8, 0));
    hall.wait_for(id, MessageStatus::Delivered).await;
    hall.stop().await;
}
