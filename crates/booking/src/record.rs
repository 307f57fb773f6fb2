//! A booking as its owner and the hall see it: its status, the record, and the row it is read
//! from (one select joining the slot, service, hall and item).

use crate::BookingError;
use crate::ids::{AccountId, BookingId, SlotId};
use chrono::{DateTime, Utc};
use govhall_core::clock::CHINA;
use govhall_db::sqlx;
use serde::Serialize;
use uuid::Uuid;

/// Where a booking is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Booked: the place is held.
    Booked,
    /// Cancelled by its owner or by the hall: the place went back.
    Cancelled,
    /// Checked in at the hall with a priority queue number.
    Arrived,
    /// Not checked in by the end of the slot.
    NoShow,
}

impl BookingStatus {
    const ALL: [BookingStatus; 4] =
        [BookingStatus::Booked, BookingStatus::Cancelled, BookingStatus::Arrived, BookingStatus::NoShow];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Booked => "booked",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::Arrived => "arrived",
            BookingStatus::NoShow => "no_show",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            BookingStatus::Booked => "已预约",
            BookingStatus::Cancelled => "已取消",
            BookingStatus::Arrived => "已签到",
            BookingStatus::NoShow => "未到场",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<BookingStatus> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// A booking as its owner and the hall see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booking {
    /// Id.
    #[serde(skip)]
    pub id: BookingId,
    /// The code shown and scanned at the hall (also in the QR code).
    pub code: String,
    /// The slot.
    pub slot_id: SlotId,
    /// Who booked.
    #[serde(skip)]
    pub account_id: AccountId,
    /// For which item.
    pub item_code: String,
    /// The item's name.
    pub item_name: String,
    /// Where it is.
    pub status: BookingStatus,
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
        self.status.label()
    }

    /// Whether the place is still held (it can be cancelled, checked in).
    pub fn is_booked(&self) -> bool {
        self.status == BookingStatus::Booked
    }

    /// "2026年11月30日 09:00-09:30".
    pub fn when(&self) -> String {
        let (a, b) = (self.starts_at.with_timezone(&CHINA), self.ends_at.with_timezone(&CHINA));
        format!("{} {}-{}", a.format("%Y年%m月%d日"), a.format("%H:%M"), b.format("%H:%M"))
    }
}

/// A booking as stored (see [`BOOKING_SELECT`]).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BookingRow {
    id: Uuid,
    code: String,
    slot_id: Uuid,
    account_id: Uuid,
    item_code: String,
    item_name: String,
    status: String,
    cancel_reason: Option<String>,
    queue_number: Option<String>,
    created_at: DateTime<Utc>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    service_name: String,
    hall_name: String,
    hall_address: String,
}

impl TryFrom<BookingRow> for Booking {
    type Error = BookingError;

    fn try_from(r: BookingRow) -> Result<Self, BookingError> {
        let status = BookingStatus::parse(&r.status)
            .ok_or_else(|| BookingError::Internal(format!("预约 {} 的状态“{}”无法识别", r.code, r.status)))?;
        Ok(Booking {
            id: BookingId::from_uuid(r.id),
            code: r.code,
            slot_id: SlotId::from_uuid(r.slot_id),
            account_id: AccountId::from_uuid(r.account_id),
            item_code: r.item_code,
            item_name: r.item_name,
            status,
            cancel_reason: r.cancel_reason,
            queue_number: r.queue_number,
            created_at: r.created_at,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            service_name: r.service_name,
            hall_name: r.hall_name,
            hall_address: r.hall_address,
        })
    }
}

/// Rows read with [`BOOKING_SELECT`] as bookings.
pub(crate) fn bookings(rows: Vec<BookingRow>) -> Result<Vec<Booking>, BookingError> {
    rows.into_iter().map(Booking::try_from).collect()
}

pub(crate) const BOOKING_SELECT: &str = "SELECT b.id, b.code, b.slot_id, b.account_id, b.item_code, \
    COALESCE(i.name, b.item_code) AS item_name, b.status, \
    b.cancel_reason, b.queue_number, b.created_at, s.starts_at, s.ends_at, hs.name AS service_name, \
    h.name AS hall_name, h.address AS hall_address FROM bookings b JOIN slots s ON s.id = b.slot_id \
    JOIN hall_services hs ON hs.id = s.service_id JOIN halls h ON h.id = hs.hall_id \
    LEFT JOIN items i ON i.code = b.item_code";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_its_stored_name() {
        for status in BookingStatus::ALL {
            assert_eq!(BookingStatus::parse(status.as_str()), Some(status));
            assert!(!status.label().is_empty());
        }
        assert_eq!(BookingStatus::parse("booked"), Some(BookingStatus::Booked));
        assert_eq!(BookingStatus::parse("lost"), None);
    }
}
