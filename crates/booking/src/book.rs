//! Booking and cancelling. A place is taken by one conditional update of the slot's count
//! (`booked < capacity`), which the database serialises per slot on any number of nodes, and a
//! check constraint backs it; one active booking per person and item is a unique index.

use crate::notify::{self, Note};
use crate::{Booking as Engine, BookingError};
use chrono::{DateTime, Duration, TimeZone, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::Phone;
use govhall_core::clock::{CHINA, china_date};
use govhall_db::{exec, run, sqlx};
use govhall_identity::AccountId;
use rand::Rng;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// A booking as its owner and the hall see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Booking {
    /// Id.
    #[serde(skip)]
    pub id: Uuid,
    /// The code shown and scanned at the hall (also in the QR code).
    pub code: String,
    /// The slot.
    pub slot_id: Uuid,
    /// Who booked.
    #[serde(skip)]
    pub account_id: Uuid,
    /// For which item.
    pub item_code: String,
    /// The item's name.
    pub item_name: String,
    /// `booked`, `cancelled`, `arrived`, `no_show`.
    pub status: String,
    /// Why it was cancelled, if the hall cancelled it.
    pub cancel_reason: Option<String>,
    /// The priority queue number given at check-in (预约优先号).
    pub queue_number: Option<String>,
    /// When booked.
    pub created_at: DateTime<Utc>,
    /// The slot's start.
    pub starts_at: DateTime<Utc>,
    /// The slot's end.
    pub ends_at: DateTime<Utc>,
    /// The service's name.
    pub service_name: String,
    /// The hall's name.
    pub hall_name: String,
    /// The hall's address.
    pub hall_address: String,
}

impl Booking {
    /// The status in Chinese.
    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "booked" => "已预约",
            "cancelled" => "已取消",
            "arrived" => "已签到",
            _ => "未到场",
        }
    }

    /// "2026年11月30日 09:00-09:30".
    pub fn when(&self) -> String {
        let (a, b) = (self.starts_at.with_timezone(&CHINA), self.ends_at.with_timezone(&CHINA));
        format!("{} {}-{}", a.format("%Y年%m月%d日"), a.format("%H:%M"), b.format("%H:%M"))
    }
}

pub(crate) const BOOKING_SELECT: &str = "SELECT b.id, b.code, b.slot_id, b.account_id, b.item_code, \
    COALESCE(i.name, b.item_code) AS item_name, b.status, \
    b.cancel_reason, b.queue_number, b.created_at, s.starts_at, s.ends_at, hs.name AS service_name, \
    h.name AS hall_name, h.address AS hall_address FROM bookings b JOIN slots s ON s.id = b.slot_id \
    JOIN hall_services hs ON hs.id = s.service_id JOIN halls h ON h.id = hs.hall_id \
    LEFT JOIN items i ON i.code = b.item_code";

/// A code as typed (lower case, spaces, dashes) in the form it was issued.
pub(crate) fn normalise_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).flat_map(|c| c.to_uppercase()).take(20).collect()
}

/// Calls off, in `tx`, the reminders of a booking that have not gone yet.
pub(crate) async fn call_off_reminders(
    tx: &mut govhall_db::Tx,
    booking: Uuid,
    reason: &str,
) -> Result<(), BookingError> {
    let reminders: String = run!(tx, |c| sqlx::query_scalar("SELECT reminders FROM bookings WHERE id = $1")
        .bind(booking)
        .fetch_one(&mut *c)
        .await)?;
    for id in serde_json::from_str::<Vec<Uuid>>(&reminders).unwrap_or_default() {
        govhall_messaging::cancel_in(tx, id, reason).await?;
    }
    Ok(())
}

/// Booking codes: 8 characters without look-alikes.
fn new_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPRSTUVWXY";
    let mut rng = rand::rng();
    (0..8).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}

pub(crate) fn params(b: &Booking, reason: &str) -> serde_json::Value {
    json!({"hall": b.hall_name, "service": b.service_name, "when": b.when(), "code": b.code,
           "address": b.hall_address, "reason": reason})
}

impl Engine {
    pub(crate) async fn booking_by(&self, column: &str, value: &str) -> Result<Option<Booking>, BookingError> {
        let mut conn = self.db().conn().await?;
        let sql = format!("{BOOKING_SELECT} WHERE b.{column} = $1");
        let found = if column == "id" {
            let id = Uuid::parse_str(value).map_err(|_| BookingError::NotFound("预约"))?;
            run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(&mut *c).await)?
        } else {
            run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(value).fetch_optional(&mut *c).await)?
        };
        Ok(found)
    }

    async fn blocked_until(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, BookingError> {
        let mut conn = self.db().conn().await?;
        let until: Option<DateTime<Utc>> =
            run!(conn, |c| sqlx::query_scalar("SELECT until FROM booking_blocks WHERE account_id = $1")
                .bind(account.as_uuid())
                .fetch_optional(&mut *c)
                .await)?;
        Ok(until.filter(|u| *u > now))
    }

    /// Books `slot` for `account` and `item_code` (a signed-in person or an enterprise's agent).
    pub async fn book(
        &self,
        account: AccountId,
        actor: &Actor,
        slot_id: Uuid,
        item_code: &str,
    ) -> Result<Booking, BookingError> {
        let now = self.db().now();
        let slot = self.slot(slot_id).await?;
        let (_, service) = self.service(slot.service_id).await?;
        if !service.item_codes.iter().any(|c| c == item_code) {
            return Err(BookingError::Invalid(format!("“{}”不办理该事项，请选择其他预约业务", service.name)));
        }
        let (first, last) = self.bookable_days(now);
        if slot.day < first || slot.day > last || slot.starts_at <= now {
            return Err(BookingError::OutOfWindow(format!(
                "只能预约 {} 至 {} 的时段",
                first.format("%m月%d日"),
                last.format("%m月%d日")
            )));
        }
        if let Some(until) = self.blocked_until(account, now).await? {
            return Err(BookingError::Blocked(format!(
                "因多次预约未到场，您的网上预约已暂停至 {}",
                until.with_timezone(&CHINA).format("%Y年%m月%d日")
            )));
        }
        let person = self.identity().account(account).await?;
        if person.kind != govhall_identity::AccountKind::Person {
            return Err(BookingError::Forbidden("网上预约供群众和企业办事人使用，工作人员账号不能预约".into()));
        }

        let mut tx = self.db().begin().await?;
        // Today's count, taken in this transaction: bookings sent at once cannot pass the limit
        // together.
        let counted: Option<i32> = run!(tx, |c| sqlx::query_scalar(
            "INSERT INTO booking_daily (account_id, day, made) VALUES ($1, $2, 1)
             ON CONFLICT (account_id, day) DO UPDATE SET made = booking_daily.made + 1
             WHERE booking_daily.made < $3 RETURNING made"
        )
        .bind(account.as_uuid())
        .bind(china_date(now))
        .bind(i32::try_from(self.settings().daily_limit).unwrap_or(i32::MAX))
        .fetch_optional(&mut *c)
        .await)?;
        if counted.is_none() {
            tx.rollback().await?;
            return Err(BookingError::DailyLimit(self.settings().daily_limit));
        }
        // The place: taken only while one is left, whatever else runs at the same moment.
        let taken = exec!(
            tx,
            sqlx::query("UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity AND NOT closed")
                .bind(slot_id)
        )?;
        if taken == 0 {
            tx.rollback().await?;
            return Err(BookingError::SlotFull);
        }
        let id = Uuid::now_v7();
        let code = new_code();
        let inserted = exec!(
            tx,
            sqlx::query(
                "INSERT INTO bookings (id, code, slot_id, account_id, item_code, status, reminders, created_at)
                 VALUES ($1, $2, $3, $4, $5, 'booked', '[]', $6)"
            )
            .bind(id)
            .bind(&code)
            .bind(slot_id)
            .bind(account.as_uuid())
            .bind(item_code)
            .bind(now)
        )
        .map_err(govhall_db::DbError::from);
        match inserted {
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => {
                tx.rollback().await?;
                return Err(BookingError::AlreadyBooked);
            }
            Err(e) => return Err(e.into()),
        }
        let sql = format!("{BOOKING_SELECT} WHERE b.id = $1");
        let booking: Booking =
            run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_one(&mut *c).await)?;
        let p = params(&booking, "");
        let to = (account.as_uuid(), Some(&person.phone));
        let mut reminders = Vec::new();
        let note = |template, key: String, at, inbox| Note {
            template,
            account: to.0,
            phone: to.1,
            params: p.clone(),
            key,
            at,
            inbox,
        };
        notify::tell(&mut tx, self.messaging(), note(notify::CONFIRMED, format!("booking:{id}"), None, true)).await?;
        let s = self.settings();
        if s.remind_day_before {
            let eve = slot.day.pred_opt().and_then(|d| d.and_hms_opt(9, 0, 0));
            let at = eve.and_then(|d| CHINA.from_local_datetime(&d).single()).map(|d| d.with_timezone(&Utc));
            if let Some(at) = at.filter(|at| *at > now) {
                let n = note(notify::REMINDER, format!("booking:{id}:eve"), Some(at), false);
                reminders.extend(notify::tell(&mut tx, self.messaging(), n).await?);
            }
        }
        if s.remind_minutes_before > 0 {
            let at = slot.starts_at - Duration::minutes(s.remind_minutes_before);
            if at > now {
                let n = note(notify::REMINDER, format!("booking:{id}:soon"), Some(at), false);
                reminders.extend(notify::tell(&mut tx, self.messaging(), n).await?);
            }
        }
        exec!(
            tx,
            sqlx::query("UPDATE bookings SET reminders = $1 WHERE id = $2")
                .bind(serde_json::to_string(&reminders).unwrap_or_else(|_| "[]".into()))
                .bind(id)
        )?;
        let event =
            Event::success("booking.create", "booking", &code).detail(format!("{} {}", service.name, booking.when()));
        audit::record(&mut tx, actor, event).await?;
        tx.commit().await?;
        Ok(booking)
    }

    /// `account`'s booking with `code` (typed in any case, with spaces).
    pub async fn mine_one(&self, account: AccountId, code: &str) -> Result<Booking, BookingError> {
        self.booking_by("code", &normalise_code(code))
            .await?
            .filter(|b| b.account_id == account.as_uuid())
            .ok_or(BookingError::NotFound("预约"))
    }

    /// The bookings of `account`, newest slot first.
    pub async fn mine(&self, account: AccountId) -> Result<Vec<Booking>, BookingError> {
        let mut conn = self.db().conn().await?;
        let sql = format!("{BOOKING_SELECT} WHERE b.account_id = $1 ORDER BY s.starts_at DESC LIMIT 200");
        Ok(run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(account.as_uuid())
            .fetch_all(&mut *c)
            .await)?)
    }

    /// Cancels `account`'s booking with `code`, until the configured time before the slot; the
    /// place goes back and the reminders are called off.
    pub async fn cancel(&self, account: AccountId, actor: &Actor, code: &str) -> Result<Booking, BookingError> {
        let now = self.db().now();
        let b = self.mine_one(account, code).await?;
        if b.status != "booked" {
            return Err(BookingError::Invalid(format!("该预约{}，不能取消", b.status_label())));
        }
        let deadline = b.starts_at - Duration::minutes(self.settings().cancel_before_minutes);
        if now > deadline {
            return Err(BookingError::TooLate(format!(
                "预约开始前 {} 分钟内不能在网上取消，请联系服务大厅",
                self.settings().cancel_before_minutes
            )));
        }
        let person = self.identity().account(account).await?;
        self.release(&b, actor, (account.as_uuid(), Some(&person.phone)), "", "booking.cancel").await
    }

    /// Cancels a booked booking and gives its place back, in one transaction; tells the person
    /// (with `reason` when the hall cancelled) and calls off the reminders.
    pub(crate) async fn release(
        &self,
        b: &Booking,
        actor: &Actor,
        to: (Uuid, Option<&Phone>),
        reason: &str,
        what: &str,
    ) -> Result<Booking, BookingError> {
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        let changed = exec!(
            tx,
            sqlx::query(
                "UPDATE bookings SET status = 'cancelled', cancelled_at = $1, cancel_reason = $2 WHERE id = $3 AND status = 'booked'"
            )
            .bind(now)
            .bind(Some(reason).filter(|r| !r.is_empty()))
            .bind(b.id)
        )?;
        if changed == 0 {
            tx.rollback().await?;
            return Err(BookingError::Invalid("该预约已不是“已预约”状态".into()));
        }
        exec!(tx, sqlx::query("UPDATE slots SET booked = booked - 1 WHERE id = $1 AND booked > 0").bind(b.slot_id))?;
        if !reason.is_empty() {
            // Cancelled by the hall: it does not count against the person's daily limit.
            exec!(
                tx,
                sqlx::query("UPDATE booking_daily SET made = made - 1 WHERE account_id = $1 AND day = $2 AND made > 0")
                    .bind(b.account_id)
                    .bind(china_date(b.created_at))
            )?;
        }
        let note = Note {
            template: notify::CANCELLED,
            account: to.0,
            phone: to.1,
            params: params(b, reason),
            key: format!("booking:{}:cancelled", b.id),
            at: None,
            inbox: true,
        };
        notify::tell(&mut tx, self.messaging(), note).await?;
        audit::record(&mut tx, actor, Event::success(what, "booking", &b.code).detail(reason)).await?;
        call_off_reminders(&mut tx, b.id, "预约已取消").await?;
        tx.commit().await?;
        self.booking_by("id", &b.id.to_string()).await?.ok_or(BookingError::NotFound("预约"))
    }
}
