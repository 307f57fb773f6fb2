//! Booking and cancelling. A place is taken by one conditional update of the slot's count
//! (`booked < capacity`), which the database serialises per slot on any number of nodes, and a
//! check constraint backs it; one active booking per person and item is a unique index.

use crate::ids::{AccountId, BookingId, SlotId};
use crate::notify::{self, Note};
pub(crate) use crate::record::{BOOKING_SELECT, Booking, BookingRow, BookingStatus, bookings};
use crate::slots::SlotRow;
use crate::{Booking as Engine, BookingError};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::Phone;
use govhall_core::clock::{CHINA, china_date};
use govhall_db::{Backend, Tx, exec, run, sqlx};
use rand::Rng;
use serde_json::json;

/// A code as typed (lower case, spaces, dashes) in the form it was issued.
pub(crate) fn normalise_code(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).flat_map(|c| c.to_uppercase()).take(20).collect()
}

/// The idempotency keys of a booking's reminders (how they are called off).
fn reminder_keys(booking: BookingId) -> [String; 2] {
    [format!("booking:{booking}:eve:sms"), format!("booking:{booking}:soon:sms")]
}

/// Calls off, in `tx`, the reminders of a booking that have not gone yet (found by their
/// idempotency keys, which bookings have used from the start; the `reminders` column that once
/// listed their ids is no longer written).
pub(crate) async fn call_off_reminders(tx: &mut Tx, booking: BookingId, reason: &str) -> Result<(), BookingError> {
    govhall_messaging::cancel_keys_in(tx, &reminder_keys(booking), reason).await?;
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

/// What a booking needs to know before it is made, read in one query: the slot, its service and
/// hall, the item's name and whether the person is blocked.
#[derive(Debug, sqlx::FromRow)]
struct Place {
    #[sqlx(flatten)]
    slot: SlotRow,
    service_name: String,
    item_codes: String,
    hall_name: String,
    hall_address: String,
    item_name: Option<String>,
    blocked_until: Option<DateTime<Utc>>,
}

/// A place to take: who, for which day's count, which slot, the new booking.
struct Take<'a> {
    account: AccountId,
    today: NaiveDate,
    daily_limit: i32,
    slot: SlotId,
    id: BookingId,
    code: &'a str,
    item_code: &'a str,
    now: DateTime<Utc>,
}

/// Why a place was not taken.
enum NotTaken {
    DailyLimit,
    Full,
}

/// Counts today's booking, takes a place in the slot while one is left and writes the booking,
/// in `tx`: one statement on PostgreSQL, three on SQLite (no round trips there).
async fn take(tx: &mut Tx, t: &Take<'_>) -> Result<Option<NotTaken>, BookingError> {
    const COUNT: &str = "INSERT INTO booking_daily (account_id, day, made) VALUES ($1, $2, 1)
         ON CONFLICT (account_id, day) DO UPDATE SET made = booking_daily.made + 1
         WHERE booking_daily.made < $3 RETURNING made";
    const SLOT: &str = "UPDATE slots SET booked = booked + 1 WHERE id = $4 AND booked < capacity AND NOT closed";
    const INSERT: &str =
        "INSERT INTO bookings (id, code, slot_id, account_id, item_code, status, reminders, created_at)";
    let unique = |e: sqlx::Error| {
        let e = govhall_db::DbError::from(e);
        if e.is_unique_violation() { BookingError::AlreadyBooked } else { BookingError::Db(e) }
    };
    if tx.backend() == Backend::Postgres {
        let sql = format!(
            "WITH d AS ({COUNT}),
                  s AS ({SLOT} AND EXISTS (SELECT 1 FROM d) RETURNING id),
                  b AS ({INSERT} SELECT $5, $6, s.id, $1, $7, 'booked', '[]', $8 FROM s RETURNING id)
             SELECT (SELECT COUNT(*) FROM d), (SELECT COUNT(*) FROM b)"
        );
        let (counted, made): (i64, i64) = run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(t.account.as_uuid())
            .bind(t.today)
            .bind(t.daily_limit)
            .bind(t.slot.as_uuid())
            .bind(t.id.as_uuid())
            .bind(t.code)
            .bind(t.item_code)
            .bind(t.now)
            .fetch_one(&mut *c)
            .await)
        .map_err(unique)?;
        return Ok(if counted == 0 {
            Some(NotTaken::DailyLimit)
        } else if made == 0 {
            Some(NotTaken::Full)
        } else {
            None
        });
    }
    let counted: Option<i32> = run!(tx, |c| sqlx::query_scalar(COUNT)
        .bind(t.account.as_uuid())
        .bind(t.today)
        .bind(t.daily_limit)
        .fetch_optional(&mut *c)
        .await)?;
    if counted.is_none() {
        return Ok(Some(NotTaken::DailyLimit));
    }
    let taken = exec!(
        tx,
        sqlx::query("UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity AND NOT closed")
            .bind(t.slot.as_uuid())
    )?;
    if taken == 0 {
        return Ok(Some(NotTaken::Full));
    }
    let sql = format!("{INSERT} VALUES ($1, $2, $3, $4, $5, 'booked', '[]', $6)");
    run!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(t.id.as_uuid())
        .bind(t.code)
        .bind(t.slot.as_uuid())
        .bind(t.account.as_uuid())
        .bind(t.item_code)
        .bind(t.now)
        .execute(&mut *c)
        .await
        .map(|_| ()))
    .map_err(unique)?;
    Ok(None)
}

impl Engine {
    /// The booking with `id`.
    pub(crate) async fn booking_by_id(&self, id: BookingId) -> Result<Option<Booking>, BookingError> {
        let mut conn = self.db().conn().await?;
        let sql = format!("{BOOKING_SELECT} WHERE b.id = $1");
        let row: Option<BookingRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.map(Booking::try_from).transpose()
    }

    /// The booking with `code` (as issued).
    pub(crate) async fn booking_by_code(&self, code: &str) -> Result<Option<Booking>, BookingError> {
        let mut conn = self.db().conn().await?;
        let sql = format!("{BOOKING_SELECT} WHERE b.code = $1");
        let row: Option<BookingRow> =
            run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(code).fetch_optional(&mut *c).await)?;
        row.map(Booking::try_from).transpose()
    }

    async fn place(&self, slot: SlotId, account: AccountId, item_code: &str) -> Result<Place, BookingError> {
        let mut conn = self.db().conn().await?;
        let sql = format!(
            "SELECT {}, hs.name AS service_name, hs.item_codes, h.name AS hall_name, h.address AS hall_address,
                    i.name AS item_name, bb.until AS blocked_until
             FROM slots s JOIN hall_services hs ON hs.id = s.service_id JOIN halls h ON h.id = hs.hall_id
             LEFT JOIN items i ON i.code = $2 LEFT JOIN booking_blocks bb ON bb.account_id = $3
             WHERE s.id = $1",
            crate::slots::SLOT_COLUMNS_S
        );
        let place: Option<Place> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(slot.as_uuid())
            .bind(item_code)
            .bind(account.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        place.ok_or(BookingError::NotFound("预约时段"))
    }

    /// Books `slot_id` for `account` and `item_code` (a signed-in person or an enterprise's agent).
    ///
    /// Two reads at once (the place, and the person from identity), then one transaction: the
    /// day's count, the place and the booking (one statement on PostgreSQL), the confirmation to
    /// the inbox and by SMS, the reminders, and the audit entry.
    pub async fn book(
        &self,
        account: AccountId,
        actor: &Actor,
        slot_id: SlotId,
        item_code: &str,
    ) -> Result<Booking, BookingError> {
        let now = self.db().now();
        let (place, person) = tokio::try_join!(self.place(slot_id, account, item_code), async {
            self.identity().account(account).await.map_err(BookingError::from)
        })?;
        let slot = place.slot.clone().into_slot();
        let item_codes: Vec<String> = serde_json::from_str(&place.item_codes).unwrap_or_default();
        if !item_codes.iter().any(|c| c == item_code) {
            return Err(BookingError::Invalid(format!("“{}”不办理该事项，请选择其他预约业务", place.service_name)));
        }
        let (first, last) = self.bookable_days(now);
        if slot.day < first || slot.day > last || slot.starts_at <= now {
            return Err(BookingError::OutOfWindow(format!(
                "只能预约 {} 至 {} 的时段",
                first.format("%m月%d日"),
                last.format("%m月%d日")
            )));
        }
        if let Some(until) = place.blocked_until.filter(|u| *u > now) {
            return Err(BookingError::Blocked(format!(
                "因多次预约未到场，您的网上预约已暂停至 {}",
                until.with_timezone(&CHINA).format("%Y年%m月%d日")
            )));
        }
        if person.kind != govhall_identity::AccountKind::Person {
            return Err(BookingError::Forbidden("网上预约供群众和企业办事人使用，工作人员账号不能预约".into()));
        }

        let booking = Booking {
            id: BookingId::new(),
            code: new_code(),
            slot_id,
            account_id: account,
            item_code: item_code.to_owned(),
            item_name: place.item_name.unwrap_or_else(|| item_code.to_owned()),
            status: BookingStatus::Booked,
            cancel_reason: None,
            queue_number: None,
            created_at: now,
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
            service_name: place.service_name,
            hall_name: place.hall_name,
            hall_address: place.hall_address,
        };
        let id = booking.id;
        let mut tx = self.db().begin().await?;
        // Today's count is taken in this transaction: bookings sent at once cannot pass the
        // limit together; the place is taken only while one is left, whatever else runs.
        let t = Take {
            account,
            today: china_date(now),
            daily_limit: i32::try_from(self.settings().daily_limit).unwrap_or(i32::MAX),
            slot: slot_id,
            id,
            code: &booking.code,
            item_code,
            now,
        };
        match take(&mut tx, &t).await {
            Ok(None) => {}
            Ok(Some(not)) => {
                tx.rollback().await?;
                return Err(match not {
                    NotTaken::DailyLimit => BookingError::DailyLimit(self.settings().daily_limit),
                    NotTaken::Full => BookingError::SlotFull,
                });
            }
            Err(e) => {
                tx.rollback().await?;
                return Err(e);
            }
        }
        let p = params(&booking, "");
        let note = |template, key: String, at, inbox| Note {
            template,
            account: account.as_uuid(),
            phone: Some(&person.phone),
            params: p.clone(),
            key,
            at,
            inbox,
        };
        let mut notes = vec![note(notify::CONFIRMED, format!("booking:{id}"), None, true)];
        let s = self.settings();
        if s.remind_day_before {
            let eve = slot.day.pred_opt().and_then(|d| d.and_hms_opt(9, 0, 0));
            let at = eve.and_then(|d| CHINA.from_local_datetime(&d).single()).map(|d| d.with_timezone(&Utc));
            if let Some(at) = at.filter(|at| *at > now) {
                notes.push(note(notify::REMINDER, format!("booking:{id}:eve"), Some(at), false));
            }
        }
        if s.remind_minutes_before > 0 {
            let at = slot.starts_at - Duration::minutes(s.remind_minutes_before);
            if at > now {
                notes.push(note(notify::REMINDER, format!("booking:{id}:soon"), Some(at), false));
            }
        }
        notify::tell(&mut tx, self.messaging(), notes).await?;
        let event = Event::success("booking.create", "booking", &booking.code).detail(format!(
            "{} {}",
            booking.service_name,
            booking.when()
        ));
        audit::record(&mut tx, actor, event).await?;
        tx.commit().await?;
        Ok(booking)
    }

    /// `account`'s booking with `code` (typed in any case, with spaces).
    pub async fn mine_one(&self, account: AccountId, code: &str) -> Result<Booking, BookingError> {
        self.booking_by_code(&normalise_code(code))
            .await?
            .filter(|b| b.account_id == account)
            .ok_or(BookingError::NotFound("预约"))
    }

    /// The bookings of `account`, newest slot first.
    pub async fn mine(&self, account: AccountId) -> Result<Vec<Booking>, BookingError> {
        let mut conn = self.db().conn().await?;
        let sql = format!("{BOOKING_SELECT} WHERE b.account_id = $1 ORDER BY s.starts_at DESC LIMIT 200");
        let rows: Vec<BookingRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(account.as_uuid())
            .fetch_all(&mut *c)
            .await)?;
        bookings(rows)
    }

    /// Cancels `account`'s booking with `code`, until the configured time before the slot; the
    /// place goes back and the reminders are called off.
    pub async fn cancel(&self, account: AccountId, actor: &Actor, code: &str) -> Result<Booking, BookingError> {
        let now = self.db().now();
        let b = self.mine_one(account, code).await?;
        if b.status != BookingStatus::Booked {
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
        self.release(&b, actor, Some(&person.phone), "", "booking.cancel").await
    }

    /// Cancels a booked booking and gives its place back, in one transaction; tells the person
    /// (with `reason` when the hall cancelled) and calls off the reminders.
    pub(crate) async fn release(
        &self,
        b: &Booking,
        actor: &Actor,
        phone: Option<&Phone>,
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
            .bind(b.id.as_uuid())
        )?;
        if changed == 0 {
            tx.rollback().await?;
            return Err(BookingError::Invalid("该预约已不是“已预约”状态".into()));
        }
        exec!(
            tx,
            sqlx::query("UPDATE slots SET booked = booked - 1 WHERE id = $1 AND booked > 0").bind(b.slot_id.as_uuid())
        )?;
        if !reason.is_empty() {
            // Cancelled by the hall: it does not count against the person's daily limit.
            exec!(
                tx,
                sqlx::query("UPDATE booking_daily SET made = made - 1 WHERE account_id = $1 AND day = $2 AND made > 0")
                    .bind(b.account_id.as_uuid())
                    .bind(china_date(b.created_at))
            )?;
        }
        let note = Note {
            template: notify::CANCELLED,
            account: b.account_id.as_uuid(),
            phone,
            params: params(b, reason),
            key: format!("booking:{}:cancelled", b.id),
            at: None,
            inbox: true,
        };
        notify::tell(&mut tx, self.messaging(), vec![note]).await?;
        audit::record(&mut tx, actor, Event::success(what, "booking", &b.code).detail(reason)).await?;
        call_off_reminders(&mut tx, b.id, "预约已取消").await?;
        tx.commit().await?;
        self.booking_by_id(b.id).await?.ok_or(BookingError::NotFound("预约"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_as_issued() {
        assert_eq!(normalise_code(" ab-cd 2345 "), "ABCD2345");
        let code = new_code();
        assert_eq!(normalise_code(&code.to_lowercase()), code);
    }
}
