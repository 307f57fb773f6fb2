//! Shipments as the hall keeps them.

use crate::courier::protocol::{EventStatus, Party};
use crate::ids::ShipmentId;
use chrono::{DateTime, Utc};
use govhall_cases::CaseId;
use serde::Serialize;

/// Where a shipment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentState {
    /// Being booked with the courier (a retry books it under the same number).
    Ordering,
    /// Booked: the waybill is printed, waiting for the courier to pick it up.
    Created,
    /// What the latest event says.
    Tracked(EventStatus),
}

impl ShipmentState {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentState::Ordering => "ordering",
            ShipmentState::Created => "created",
            ShipmentState::Tracked(e) => e.as_str(),
        }
    }

    /// From storage.
    pub fn parse(s: &str) -> Option<ShipmentState> {
        match s {
            "ordering" => Some(ShipmentState::Ordering),
            "created" => Some(ShipmentState::Created),
            other => EventStatus::parse(other).map(ShipmentState::Tracked),
        }
    }

    /// In Chinese.
    pub fn label(self) -> &'static str {
        match self {
            ShipmentState::Ordering => "下单中",
            ShipmentState::Created => "已下单，待揽收",
            ShipmentState::Tracked(e) => e.label(),
        }
    }

    /// Whether the shipment has ended (delivered, returned or lost).
    pub fn is_final(self) -> bool {
        matches!(self, ShipmentState::Tracked(e) if e.is_final())
    }
}

/// Which way a parcel goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The result, from the department to the applicant.
    Result,
    /// Paper materials, from the applicant to the department (纸质材料寄送).
    Materials,
}

impl Direction {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Result => "result",
            Direction::Materials => "materials",
        }
    }

    /// From storage (anything else reads as a result).
    pub fn parse(s: &str) -> Direction {
        if s == "materials" { Direction::Materials } else { Direction::Result }
    }

    /// What the parcel holds, in Chinese.
    pub fn what(self) -> &'static str {
        match self {
            Direction::Result => "办理结果",
            Direction::Materials => "纸质材料",
        }
    }
}

/// A tracking event as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackingEvent {
    /// The courier's id of it.
    pub event_id: String,
    /// What happened.
    pub status: EventStatus,
    /// In the courier's words.
    pub description: String,
    /// Where.
    pub location: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

/// A parcel sent for a case.
#[derive(Debug, Clone, Serialize)]
pub struct Shipment {
    /// Its id (the hall's order number at the courier).
    pub id: ShipmentId,
    /// The case.
    pub case_id: CaseId,
    /// Which way it goes.
    pub direction: Direction,
    /// The waybill number, once booked.
    pub waybill_no: Option<String>,
    /// The courier.
    pub carrier: String,
    /// Where it stands.
    pub state: ShipmentState,
    /// The state in Chinese.
    pub state_label: &'static str,
    /// Who receives (in full: only the applicant and staff of the case read a shipment).
    pub recipient: Party,
    /// Who sends (the department).
    pub sender: Party,
    /// Who sent it (the staff member's name).
    pub created_by_name: String,
    /// When it was booked.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Its events, newest first.
    pub events: Vec<TrackingEvent>,
}
