//! Slots: made from a service's rules for the bookable days (idempotently, so every node may
//! make them), following the official calendar — none on holidays, yes on make-up working days —
//! and the availability table people choose from (days across, times down).

use crate::ids::{HallId, ServiceId, SlotId};
use crate::setup::has_weekday;
use crate::{Booking, BookingError};
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use govhall_core::calendar::DayKind;
use govhall_core::clock::{CHINA, china_date};
use govhall_db::{exec, run, sqlx};
use serde::Serialize;
use uuid::Uuid;

/// A slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slot {
    /// Id.
    pub id: SlotId,
    /// Its service.
    pub service_id: ServiceId,
    /// Its day.
    pub day: NaiveDate,
    /// Starts.
    pub starts_at: DateTime<Utc>,
    /// Ends.
    pub ends_at: DateTime<Utc>,
    /// Places.
    pub capacity: i32,
    /// Places taken.
    pub booked: i32,
    /// Closed by staff.
    pub closed: bool,
}

/// A slot as stored (columns [`SLOT_COLUMNS`]).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SlotRow {
    id: Uuid,
    service_id: Uuid,
    day: NaiveDate,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    capacity: i32,
    booked: i32,
    closed: bool,
}

impl SlotRow {
    pub(crate) fn into_slot(self) -> Slot {
        Slot {
            id: SlotId::from_uuid(self.id),
            service_id: ServiceId::from_uuid(self.service_id),
            day: self.day,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            capacity: self.capacity,
            booked: self.booked,
            closed: self.closed,
        }
    }
}

fn slots(rows: Vec<SlotRow>) -> Vec<Slot> {
    rows.into_iter().map(SlotRow::into_slot).collect()
}

impl Slot {
    /// Places left.
    pub fn left(&self) -> i32 {
        if self.closed { 0 } else { (self.capacity - self.booked).max(0) }
    }

    /// "09:00-09:30" in China time.
    pub fn label(&self) -> String {
        let (a, b) = (self.starts_at.with_timezone(&CHINA), self.ends_at.with_timezone(&CHINA));
        format!("{}-{}", a.format("%H:%M"), b.format("%H:%M"))
    }
}

/// The availability table of a service.
#[derive(Debug, Clone, Serialize)]
pub struct Availability {
    /// The bookable days (columns).
    pub days: Vec<NaiveDate>,
    /// Time labels (rows), in order.
    pub times: Vec<String>,
    /// `cells[row][column]`: the slot at that time on that day, if any.
    pub cells: Vec<Vec<Option<Slot>>>,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    weekdays: i32,
    start_time: String,
    end_time: String,
    slot_minutes: i32,
    capacity: i32,
    valid_from: NaiveDate,
    valid_until: Option<NaiveDate>,
    exclusions: String,
}

pub(crate) const SLOT_COLUMNS: &str = "id, service_id, day, starts_at, ends_at, capacity, booked, closed";
/// [`SLOT_COLUMNS`] of a table named `s`.
pub(crate) const SLOT_COLUMNS_S: &str =
    "s.id, s.service_id, s.day, s.starts_at, s.ends_at, s.capacity, s.booked, s.closed";

impl Booking {
    /// The days people may book on, seen from `now`.
    pub fn bookable_days(&self, now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
        let today = china_date(now);
        let s = self.settings();
        let first = today.checked_add_days(Days::new(u64::from(s.earliest_days))).unwrap_or(today);
        let last = today.checked_add_days(Days::new(u64::from(s.latest_days))).unwrap_or(today);
        (first, last)
    }

    /// Makes the slots of `service` from `from` to `to` (inclusive) that its rules call for and
    /// that do not exist yet.
    pub async fn make_slots(&self, service: ServiceId, from: NaiveDate, to: NaiveDate) -> Result<usize, BookingError> {
        let mut conn = self.db().conn().await?;
        let rules: Vec<RuleRow> = run!(conn, |c| sqlx::query_as(
            "SELECT weekdays, start_time, end_time, slot_minutes, capacity, valid_from, valid_until, exclusions
             FROM slot_rules WHERE service_id = $1 ORDER BY created_at, id"
        )
        .bind(service.as_uuid())
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        let cal = self.calendar();
        let mut made = 0;
        let mut tx = self.db().begin().await?;
        for rule in &rules {
            let exclusions: Vec<NaiveDate> = serde_json::from_str(&rule.exclusions).unwrap_or_default();
            let (Ok(start), Ok(end)) = (
                NaiveTime::parse_from_str(&rule.start_time, "%H:%M"),
                NaiveTime::parse_from_str(&rule.end_time, "%H:%M"),
            ) else {
                continue;
            };
            let step = chrono::Duration::minutes(i64::from(rule.slot_minutes.max(5)));
            // A rule for the working week also serves the make-up working days (调休).
            let working_week = (0..5).all(|d| rule.weekdays & (1 << d) != 0);
            for day in from.iter_days().take_while(|d| *d <= to) {
                let kind = cal.special_day(day).map(|d| d.kind);
                let named = has_weekday(rule.weekdays, chrono::Datelike::weekday(&day));
                let wanted = match kind {
                    Some(DayKind::Holiday) => false,
                    Some(DayKind::Workday) => named || working_week,
                    None => named,
                };
                let wanted = wanted
                    && day >= rule.valid_from
                    && rule.valid_until.is_none_or(|u| day <= u)
                    && !exclusions.contains(&day);
                if !wanted {
                    continue;
                }
                let mut at = start;
                while at + step <= end && at < at + step {
                    let local = |t: NaiveTime| {
                        CHINA.from_local_datetime(&day.and_time(t)).single().map(|d| d.with_timezone(&Utc))
                    };
                    let (Some(starts), Some(ends)) = (local(at), local(at + step)) else { break };
                    made += exec!(
                        tx,
                        sqlx::query(
                            "INSERT INTO slots (id, service_id, day, starts_at, ends_at, capacity, booked, closed)
                             VALUES ($1, $2, $3, $4, $5, $6, 0, FALSE) ON CONFLICT (service_id, starts_at) DO NOTHING"
                        )
                        .bind(SlotId::new().as_uuid())
                        .bind(service.as_uuid())
                        .bind(day)
                        .bind(starts)
                        .bind(ends)
                        .bind(rule.capacity)
                    )?;
                    at += step;
                }
            }
        }
        tx.commit().await?;
        Ok(usize::try_from(made).unwrap_or(usize::MAX))
    }

    /// Makes the slots of `service` up to `last` unless they were made already (a read of one
    /// column in the usual case: most requests only read).
    async fn ensure_slots(&self, service: ServiceId, first: NaiveDate, last: NaiveDate) -> Result<(), BookingError> {
        let mut conn = self.db().conn().await?;
        let made: Option<Option<NaiveDate>> =
            run!(conn, |c| sqlx::query_scalar("SELECT made_until FROM hall_services WHERE id = $1")
                .bind(service.as_uuid())
                .fetch_optional(&mut *c)
                .await)?;
        drop(conn);
        let Some(made) = made else { return Err(BookingError::NotFound("预约业务")) };
        if made.is_some_and(|m| m >= last) {
            return Ok(());
        }
        self.make_slots(service, first, last).await?;
        let mut conn = self.db().conn().await?;
        exec!(
            conn,
            sqlx::query(
                "UPDATE hall_services SET made_until = $1 WHERE id = $2 AND (made_until IS NULL OR made_until < $1)"
            )
            .bind(last)
            .bind(service.as_uuid())
        )?;
        Ok(())
    }

    /// The table of `service` for the bookable days seen from `now` (slots made as needed).
    pub async fn availability(&self, service: ServiceId, now: DateTime<Utc>) -> Result<Availability, BookingError> {
        let (first, last) = self.bookable_days(now);
        self.ensure_slots(service, first, last).await?;
        let mut conn = self.db().conn().await?;
        let sql = format!(
            "SELECT {SLOT_COLUMNS} FROM slots WHERE service_id = $1 AND day >= $2 AND day <= $3 ORDER BY starts_at"
        );
        let rows: Vec<SlotRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(service.as_uuid())
            .bind(first)
            .bind(last)
            .fetch_all(&mut *c)
            .await)?;
        let slots = slots(rows);
        let mut days: Vec<NaiveDate> = slots.iter().map(|s| s.day).collect();
        days.dedup();
        let mut times: Vec<String> = slots.iter().map(Slot::label).collect();
        times.sort();
        times.dedup();
        let cells = times
            .iter()
            .map(|t| days.iter().map(|d| slots.iter().find(|s| s.day == *d && s.label() == *t).cloned()).collect())
            .collect();
        Ok(Availability { days, times, cells })
    }

    /// One slot.
    pub async fn slot(&self, id: SlotId) -> Result<Slot, BookingError> {
        let mut conn = self.db().conn().await?;
        let sql = format!("SELECT {SLOT_COLUMNS} FROM slots WHERE id = $1");
        let row: Option<SlotRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.map(SlotRow::into_slot).ok_or(BookingError::NotFound("预约时段"))
    }
}

impl Booking {
    async fn slot_count(&self, service: ServiceId, day: NaiveDate) -> Result<i64, BookingError> {
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM slots WHERE service_id = $1 AND day = $2")
            .bind(service.as_uuid())
            .bind(day)
            .fetch_one(&mut *c)
            .await)?)
    }

    /// The slots of every service of `hall` on `day`, by time (slots made as needed).
    pub async fn hall_slots(&self, hall: HallId, day: NaiveDate) -> Result<Vec<(String, Slot)>, BookingError> {
        let services: Vec<_> = self.services(None).await?.into_iter().filter(|(h, _)| h.id == hall).collect();
        let mut out = Vec::new();
        for (_, service) in services {
            // Made once: the desk is read often and writes nothing in the usual case.
            let made = self.slot_count(service.id, day).await?;
            if made == 0 {
                self.make_slots(service.id, day, day).await?;
            }
            let mut conn = self.db().conn().await?;
            let sql = format!("SELECT {SLOT_COLUMNS} FROM slots WHERE service_id = $1 AND day = $2 ORDER BY starts_at");
            let rows: Vec<SlotRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(service.id.as_uuid())
                .bind(day)
                .fetch_all(&mut *c)
                .await)?;
            out.extend(slots(rows).into_iter().map(|s| (service.name.clone(), s)));
        }
        out.sort_by_key(|(_, s)| s.starts_at);
        Ok(out)
    }
}
