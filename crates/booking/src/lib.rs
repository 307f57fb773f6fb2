//! Appointments (网上预约, design sections 2.3.1 and 2.8.2): service halls and the services each
//! offers, slots made from rules that follow the official working calendar, bookings that never
//! exceed a slot's capacity whatever the number of nodes (the database refuses it), reminders
//! through the message center, check-in with a priority queue number, and no-show blocking.

mod book;
mod desk;
mod error;
mod ids;
mod notify;
mod record;
pub mod setup;
pub mod slots;

pub use error::BookingError;
pub use ids::{BookingId, HallId, RuleId, ServiceId, SlotId};
pub use record::{Booking as BookingRecord, BookingStatus};

use govhall_core::WorkingCalendar;
use govhall_db::Db;
use govhall_identity::Identity;
use govhall_messaging::Messaging;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The booking part of the configuration (`[booking]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BookingSettings {
    /// The first bookable day, in days from today (1: tomorrow).
    pub earliest_days: u32,
    /// The last bookable day, in days from today.
    pub latest_days: u32,
    /// Cancelling is possible until this many minutes before the slot.
    pub cancel_before_minutes: i64,
    /// Bookings one person may make in a day.
    pub daily_limit: i64,
    /// No-shows within [`BookingSettings::no_show_window_days`] that block booking …
    pub no_show_limit: i64,
    /// … counted over this many days …
    pub no_show_window_days: i64,
    /// … for this many days.
    pub block_days: i64,
    /// Check-in opens this many minutes before the slot …
    pub checkin_early_minutes: i64,
    /// … and closes this many minutes after it starts.
    pub checkin_late_minutes: i64,
    /// Whether an SMS reminder goes out at 09:00 the day before.
    pub remind_day_before: bool,
    /// Minutes before the slot of the last reminder (0: none).
    pub remind_minutes_before: i64,
}

impl Default for BookingSettings {
    fn default() -> Self {
        BookingSettings {
            earliest_days: 1,
            latest_days: 7,
            cancel_before_minutes: 60,
            daily_limit: 3,
            no_show_limit: 3,
            no_show_window_days: 90,
            block_days: 30,
            checkin_early_minutes: 60,
            checkin_late_minutes: 30,
            remind_day_before: true,
            remind_minutes_before: 60,
        }
    }
}

/// Appointments over one database.
#[derive(Debug, Clone)]
pub struct Booking(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Db,
    identity: Arc<Identity>,
    messaging: Messaging,
    calendar: WorkingCalendar,
    settings: BookingSettings,
}

impl Booking {
    /// Appointments; `calendar` is the official working calendar.
    pub fn new(
        db: Db,
        identity: Arc<Identity>,
        messaging: Messaging,
        calendar: WorkingCalendar,
        settings: BookingSettings,
    ) -> Result<Booking, BookingError> {
        let s = &settings;
        let minutes = 0..=7 * 24 * 60;
        let ok = s.earliest_days <= s.latest_days
            && s.latest_days <= 90
            && minutes.contains(&s.cancel_before_minutes)
            && minutes.contains(&s.checkin_early_minutes)
            && minutes.contains(&s.checkin_late_minutes)
            && minutes.contains(&s.remind_minutes_before)
            && (1..=100).contains(&s.daily_limit)
            && (1..=100).contains(&s.no_show_limit)
            && (1..=3650).contains(&s.no_show_window_days)
            && (1..=3650).contains(&s.block_days);
        if !ok {
            return Err(BookingError::Invalid(
                "配置 [booking] 有误：earliest_days 不能大于 latest_days（不超过 90）；各分钟数应为 0 到 10080；\
                 daily_limit、no_show_limit 应为 1 到 100；no_show_window_days、block_days 应为 1 到 3650"
                    .into(),
            ));
        }
        Ok(Booking(Arc::new(Inner { db, identity, messaging, calendar, settings })))
    }

    /// Installs the message templates bookings send (never over an edited one).
    pub async fn prepare(&self) -> Result<(), BookingError> {
        notify::install_templates(&self.0.db).await
    }

    /// The settings.
    pub fn settings(&self) -> &BookingSettings {
        &self.0.settings
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    /// The working calendar slots follow.
    pub fn calendar(&self) -> &WorkingCalendar {
        &self.0.calendar
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.0.identity
    }

    pub(crate) fn messaging(&self) -> &Messaging {
        &self.0.messaging
    }
}
