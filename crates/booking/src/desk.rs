//! At the hall: check-in with a priority queue number (预约优先号), today's bookings, no-shows
//! (and the block they lead to), and slots closed or resized by staff.

use crate::book::{BOOKING_SELECT, Booking as Record, BookingRow, BookingStatus, bookings};
use crate::ids::{AccountId, HallId, SlotId};
use crate::notify::{self, Note};
use crate::{Booking, BookingError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::clock::{CHINA, china_date};
use govhall_db::{exec, run, sqlx};
use govhall_identity::{Access, Permission, Target};
use serde_json::json;

impl Booking {
    fn may(&self, access: &Access, permission: Permission, region: &str) -> Result<(), BookingError> {
        let target = Target { owner: None, department: None, region: Some(region.to_owned()) };
        if access.covers(permission, &target) {
            Ok(())
        } else {
            Err(BookingError::Forbidden(format!("您没有该服务大厅的“{}”权限", permission.label())))
        }
    }

    async fn hall_of_slot(&self, slot: SlotId) -> Result<crate::setup::Hall, BookingError> {
        let slot = self.slot(slot).await?;
        Ok(self.service(slot.service_id).await?.0)
    }

    /// Checks in the booking with `code` at `hall` (typed or scanned): gives its priority queue
    /// number. Refused before check-in opens and after the late window, with the reason.
    pub async fn check_in(
        &self,
        access: &Access,
        actor: &Actor,
        hall: HallId,
        code: &str,
    ) -> Result<Record, BookingError> {
        let now = self.db().now();
        let h = self.hall(hall).await?;
        self.may(access, Permission::BookingCheckin, &h.region_code)?;
        let code = crate::book::normalise_code(code);
        let b = self.booking_by_code(&code).await?.ok_or(BookingError::NotFound("预约码"))?;
        let theirs = self.hall_of_slot(b.slot_id).await?;
        if theirs.id != hall {
            // Where it is booked, only for staff who may check in there too.
            self.may(access, Permission::BookingCheckin, &theirs.region_code)
                .map_err(|_| BookingError::NotFound("预约码"))?;
            return Err(BookingError::Invalid(format!("该预约在“{}”，不在本大厅", b.hall_name)));
        }
        match b.status {
            BookingStatus::Booked => {}
            BookingStatus::Arrived => {
                return Err(BookingError::Invalid(format!(
                    "该预约已签到，预约优先号 {}",
                    b.queue_number.clone().unwrap_or_default()
                )));
            }
            _ => return Err(BookingError::Invalid(format!("该预约{}，不能签到", b.status_label()))),
        }
        let s = self.settings();
        let opens = b.starts_at - Duration::minutes(s.checkin_early_minutes);
        let closes = b.starts_at + Duration::minutes(s.checkin_late_minutes);
        if now < opens {
            return Err(BookingError::TooEarly(format!(
                "签到时间未到，请于 {} 后签到",
                opens.with_timezone(&CHINA).format("%m月%d日 %H:%M")
            )));
        }
        if now > closes {
            return Err(BookingError::TooLate(format!(
                "已超过预约时段开始 {} 分钟，预约失效，请现场取普通号办理",
                s.checkin_late_minutes
            )));
        }
        let day = china_date(now);
        let mut tx = self.db().begin().await?;
        let n: i32 = run!(tx, |c| sqlx::query_scalar(
            "INSERT INTO queue_counters (hall_id, day, last) VALUES ($1, $2, 1)
             ON CONFLICT (hall_id, day) DO UPDATE SET last = queue_counters.last + 1 RETURNING last"
        )
        .bind(hall.as_uuid())
        .bind(day)
        .fetch_one(&mut *c)
        .await)?;
        let number = format!("Y{n:03}");
        let changed = exec!(
            tx,
            sqlx::query("UPDATE bookings SET status = 'arrived', arrived_at = $1, queue_number = $2 WHERE id = $3 AND status = 'booked'")
                .bind(now)
                .bind(&number)
                .bind(b.id.as_uuid())
        )?;
        if changed == 0 {
            tx.rollback().await?;
            return Err(BookingError::Invalid("该预约刚刚已签到".into()));
        }
        crate::book::call_off_reminders(&mut tx, b.id, "已签到").await?;
        audit::record(&mut tx, actor, Event::success("booking.checkin", "booking", &b.code).detail(&number)).await?;
        tx.commit().await?;
        self.booking_by_id(b.id).await?.ok_or(BookingError::NotFound("预约"))
    }

    /// The bookings of `hall` on `day`, by time.
    pub async fn day_list(&self, access: &Access, hall: HallId, day: NaiveDate) -> Result<Vec<Record>, BookingError> {
        let h = self.hall(hall).await?;
        self.may(access, Permission::BookingCheckin, &h.region_code)?;
        let mut conn = self.db().conn().await?;
        let sql = format!("{BOOKING_SELECT} WHERE h.id = $1 AND s.day = $2 ORDER BY s.starts_at, b.created_at");
        let rows: Vec<BookingRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(hall.as_uuid())
            .bind(day)
            .fetch_all(&mut *c)
            .await)?;
        bookings(rows)
    }

    /// Marks as no-shows the bookings of `hall` whose slot ended before now without a check-in;
    /// a person reaching the limit within the window is blocked and told why. Returns how many.
    pub async fn mark_no_shows(&self, access: &Access, actor: &Actor, hall: HallId) -> Result<usize, BookingError> {
        let now = self.db().now();
        let h = self.hall(hall).await?;
        self.may(access, Permission::BookingCheckin, &h.region_code)?;
        let mut conn = self.db().conn().await?;
        // Past both the slot's end and the last moment of check-in.
        let sql =
            format!("{BOOKING_SELECT} WHERE h.id = $1 AND b.status = 'booked' AND s.ends_at < $2 AND s.starts_at < $3");
        let late = now - Duration::minutes(self.settings().checkin_late_minutes);
        let rows: Vec<BookingRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(hall.as_uuid())
            .bind(now)
            .bind(late)
            .fetch_all(&mut *c)
            .await)?;
        let missed = bookings(rows)?;
        drop(conn);
        let s = self.settings();
        let mut marked = 0;
        for b in &missed {
            let mut tx = self.db().begin().await?;
            let changed = exec!(
                tx,
                sqlx::query("UPDATE bookings SET status = 'no_show' WHERE id = $1 AND status = 'booked'")
                    .bind(b.id.as_uuid())
            )?;
            if changed == 0 {
                // Checked in or marked by another desk meanwhile.
                tx.rollback().await?;
                continue;
            }
            marked += 1;
            crate::book::call_off_reminders(&mut tx, b.id, "未到场").await?;
            audit::record(&mut tx, actor, Event::success("booking.no_show", "booking", &b.code)).await?;
            let since = now - Duration::days(s.no_show_window_days);
            let count: i64 = run!(tx, |c| sqlx::query_scalar(
                "SELECT COUNT(*) FROM bookings b JOIN slots s ON s.id = b.slot_id
                 WHERE b.account_id = $1 AND b.status = 'no_show' AND s.starts_at >= $2"
            )
            .bind(b.account_id.as_uuid())
            .bind(since)
            .fetch_one(&mut *c)
            .await)?;
            if count >= s.no_show_limit {
                self.block(&mut tx, b.account_id, now, count).await?;
            }
            tx.commit().await?;
        }
        Ok(marked)
    }

    async fn block(
        &self,
        tx: &mut govhall_db::Tx,
        account: AccountId,
        now: DateTime<Utc>,
        count: i64,
    ) -> Result<(), BookingError> {
        let s = self.settings();
        let until = now + Duration::days(s.block_days);
        let reason = format!("近 {} 天内 {count} 次预约未到场", s.no_show_window_days);
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO booking_blocks (account_id, until, reason) VALUES ($1, $2, $3)
                 ON CONFLICT (account_id) DO UPDATE SET until = $2, reason = $3"
            )
            .bind(account.as_uuid())
            .bind(until)
            .bind(&reason)
        )?;
        let person = self.identity().account(account).await?;
        let params = json!({"days": s.no_show_window_days, "count": count,
                            "until": until.with_timezone(&CHINA).format("%Y年%m月%d日").to_string()});
        let note = Note {
            template: notify::BLOCKED,
            account: account.as_uuid(),
            phone: Some(&person.phone),
            params,
            key: format!("booking-block:{account}:{}", until.format("%Y%m%d")),
            at: None,
            inbox: true,
        };
        notify::tell(tx, self.messaging(), vec![note]).await?;
        Ok(())
    }

    /// Closes a slot (a hall closed for the afternoon): its bookings are cancelled and their
    /// people told with `reason`. Returns how many were told.
    pub async fn close_slot(
        &self,
        access: &Access,
        actor: &Actor,
        slot: SlotId,
        reason: &str,
    ) -> Result<usize, BookingError> {
        let h = self.hall_of_slot(slot).await?;
        self.may(access, Permission::BookingManage, &h.region_code)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 100 {
            return Err(BookingError::Invalid("请填写关闭原因（不超过 100 字），将通知已预约的群众".into()));
        }
        {
            let mut tx = self.db().begin().await?;
            exec!(tx, sqlx::query("UPDATE slots SET closed = TRUE WHERE id = $1").bind(slot.as_uuid()))?;
            audit::record(&mut tx, actor, Event::success("booking.slot.close", "slot", slot).detail(reason)).await?;
            tx.commit().await?;
        }
        let mut conn = self.db().conn().await?;
        let sql = format!("{BOOKING_SELECT} WHERE b.slot_id = $1 AND b.status = 'booked'");
        let rows: Vec<BookingRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(slot.as_uuid())
            .fetch_all(&mut *c)
            .await)?;
        let affected: Vec<Record> = bookings(rows)?;
        drop(conn);
        let mut told = 0;
        for b in &affected {
            let person = self.identity().account(b.account_id).await?;
            let why = format!("服务大厅已关闭该时段（{reason}），请重新预约");
            match self.release(b, actor, Some(&person.phone), &why, "booking.cancel_by_hall").await {
                Ok(_) => told += 1,
                // Checked in or cancelled meanwhile: nothing to release.
                Err(BookingError::Invalid(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(told)
    }

    /// Changes a slot's capacity; never below the places already taken.
    pub async fn set_capacity(
        &self,
        access: &Access,
        actor: &Actor,
        slot: SlotId,
        capacity: i32,
    ) -> Result<(), BookingError> {
        let h = self.hall_of_slot(slot).await?;
        self.may(access, Permission::BookingManage, &h.region_code)?;
        if !(0..=10_000).contains(&capacity) {
            return Err(BookingError::Invalid("可约人数应为 0 到 10000".into()));
        }
        let mut tx = self.db().begin().await?;
        let changed = exec!(
            tx,
            sqlx::query("UPDATE slots SET capacity = $1 WHERE id = $2 AND booked <= $1")
                .bind(capacity)
                .bind(slot.as_uuid())
        )?;
        if changed == 0 {
            tx.rollback().await?;
            let taken = self.slot(slot).await?.booked;
            return Err(BookingError::Invalid(format!(
                "已有 {taken} 人预约，可约人数不能少于 {taken}；如需减少，请关闭该时段（将通知已预约的群众）"
            )));
        }
        let detail = format!("可约人数改为 {capacity}");
        audit::record(&mut tx, actor, Event::success("booking.slot.capacity", "slot", slot).detail(detail)).await?;
        tx.commit().await?;
        Ok(())
    }
}
