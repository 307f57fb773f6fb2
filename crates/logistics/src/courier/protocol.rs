//! The courier protocol (version 1) as GovHall speaks it: JSON bodies, every request, answer and
//! tracking push signed like the payment gateway's messages ([`govhall_messaging::signed`]).
//! docs/logistics.md describes it for a courier's integration team; the sandbox courier speaks
//! the same.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One end of a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// Name (a person, or the department).
    pub name: String,
    /// Mobile or landline number.
    pub phone: String,
    /// The county's (or city's) 6-digit division code.
    pub division_code: String,
    /// The whole address as written on the parcel (province, city, county, street).
    pub address: String,
}

/// Hall → courier: `POST /api/shipments`. A repeated `order_no` gets the first answer, so the
/// hall retries safely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateShipment {
    /// The hall's customer code at the courier (月结账号).
    pub customer: String,
    /// The hall's number for the shipment (unique).
    pub order_no: String,
    /// Who sends.
    pub sender: Party,
    /// Who receives.
    pub recipient: Party,
    /// What is inside (政务文件).
    pub cargo: String,
    /// Where the courier pushes tracking events.
    pub notify_url: String,
}

/// Courier → hall: the answer to [`CreateShipment`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The waybill number (运单号).
    pub waybill_no: String,
    /// The courier's name (邮政EMS …).
    pub carrier: String,
}

/// What happened to a parcel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// 已揽收.
    PickedUp,
    /// 运输中.
    InTransit,
    /// 派送中.
    OutForDelivery,
    /// 异常 (a failed attempt, a held parcel): it goes on.
    Exception,
    /// 已签收: ends the shipment.
    Delivered,
    /// 已退回 to the sender: ends the shipment.
    Returned,
    /// 已遗失: ends the shipment.
    Lost,
}

impl EventStatus {
    /// Whether the shipment ends with it.
    pub fn is_final(self) -> bool {
        matches!(self, EventStatus::Delivered | EventStatus::Returned | EventStatus::Lost)
    }

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::PickedUp => "picked_up",
            EventStatus::InTransit => "in_transit",
            EventStatus::OutForDelivery => "out_for_delivery",
            EventStatus::Exception => "exception",
            EventStatus::Delivered => "delivered",
            EventStatus::Returned => "returned",
            EventStatus::Lost => "lost",
        }
    }

    /// From storage.
    pub fn parse(s: &str) -> Option<EventStatus> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// In Chinese.
    pub fn label(self) -> &'static str {
        match self {
            EventStatus::PickedUp => "已揽收",
            EventStatus::InTransit => "运输中",
            EventStatus::OutForDelivery => "派送中",
            EventStatus::Exception => "派送异常",
            EventStatus::Delivered => "已签收",
            EventStatus::Returned => "已退回",
            EventStatus::Lost => "已遗失",
        }
    }

    /// Every status.
    pub const ALL: [EventStatus; 7] = [
        EventStatus::PickedUp,
        EventStatus::InTransit,
        EventStatus::OutForDelivery,
        EventStatus::Exception,
        EventStatus::Delivered,
        EventStatus::Returned,
        EventStatus::Lost,
    ];
}

/// One tracking event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEvent {
    /// The courier's id of the event, unique within the waybill (a replayed event is known by it).
    pub event_id: String,
    /// What happened.
    pub status: EventStatus,
    /// In the courier's words (快件已到达济南转运中心).
    #[serde(default)]
    pub description: String,
    /// Where.
    #[serde(default)]
    pub location: String,
    /// When it happened (not when it was sent: events may arrive late or out of order).
    pub occurred_at: DateTime<Utc>,
}

/// Courier → hall: the events of a waybill, pushed (`POST notify_url`, some or all of them) and
/// as the answer to a query (`GET /api/shipments/{waybill_no}?customer=…`, all of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    /// The hall's customer code.
    pub customer: String,
    /// The waybill.
    pub waybill_no: String,
    /// Its events, in any order.
    pub events: Vec<WireEvent>,
}

/// What the hall answers a push: `ok`, or the stable code of why it was refused (the courier
/// pushes a refused one again later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushAnswer {
    /// `ok` or the code.
    pub code: String,
    /// In Chinese.
    pub message: String,
}
