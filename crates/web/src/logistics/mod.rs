//! Logistics over HTTP: staff send a case's result by courier, print the waybill and follow
//! the parcel from the case page; the applicant follows it on their case page and in the API;
//! the courier pushes tracking events (signed) to `/api/v1/logistics/notifications`.

pub(crate) mod api;
pub(crate) mod pages;

use crate::AppError;
use crate::html::time;
use axum::http::StatusCode;
use govhall_logistics::ship::Choice;
use govhall_logistics::{LogisticsError, Shipment, ShipmentId};

impl From<LogisticsError> for AppError {
    fn from(e: LogisticsError) -> Self {
        let e = match e {
            LogisticsError::Case(c) => return AppError::from(c),
            other => other,
        };
        let status = match &e {
            LogisticsError::Db(db) if govhall_core::Coded::code(db) == "database_busy" => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            LogisticsError::Db(_) | LogisticsError::Internal(_) | LogisticsError::Case(_) => {
                return AppError::internal(e);
            }
            LogisticsError::NotFound | LogisticsError::UnknownWaybill => StatusCode::NOT_FOUND,
            LogisticsError::WrongState(_) => StatusCode::CONFLICT,
            LogisticsError::Invalid(_) => StatusCode::BAD_REQUEST,
            LogisticsError::BadSignature => StatusCode::FORBIDDEN,
            LogisticsError::BadMessage(_) => StatusCode::UNPROCESSABLE_ENTITY,
            LogisticsError::Courier(_) => StatusCode::BAD_GATEWAY,
        };
        AppError::coded(status, &e)
    }
}

pub(crate) fn shipment_id(id: &str) -> Result<ShipmentId, AppError> {
    id.parse().map_err(|_| AppError::from(LogisticsError::NotFound))
}

/// A shipment as the case pages show it.
#[derive(Debug, Clone)]
pub(crate) struct ShipmentView {
    pub id: String,
    /// 办理结果 or 纸质材料.
    pub what: &'static str,
    /// A result going to the applicant (staff print its waybill).
    pub result: bool,
    pub carrier: String,
    pub waybill: String,
    pub state: &'static str,
    pub ended: bool,
    /// 寄往 (a result) or 取件 (materials), and the applicant's end.
    pub party_label: &'static str,
    pub recipient: String,
    pub created: String,
    pub by: String,
    /// When, what, where, in the courier's words: newest first.
    pub events: Vec<(String, &'static str, String, String)>,
}

impl ShipmentView {
    pub(crate) fn of(s: &Shipment) -> ShipmentView {
        let result = s.direction == govhall_logistics::model::Direction::Result;
        let (party, label) = if result { (&s.recipient, "寄往") } else { (&s.sender, "取件") };
        ShipmentView {
            id: s.id.to_string(),
            what: s.direction.what(),
            result,
            party_label: label,
            carrier: s.carrier.clone(),
            waybill: s.waybill_no.clone().unwrap_or_default(),
            state: s.state.label(),
            ended: s.state.is_final(),
            recipient: format!("{} {} {}", party.name, party.phone, party.address),
            created: time(s.created_at),
            by: s.created_by_name.clone(),
            events: s
                .events
                .iter()
                .map(|e| (time(e.occurred_at), e.status.label(), e.location.clone(), e.description.clone()))
                .collect(),
        }
    }
}

/// What the staff case page shows of delivery: the applicant's choice, the shipments, and
/// whether the viewer may send the result now.
#[derive(Debug, Clone, Default)]
pub(crate) struct StaffDelivery {
    /// 窗口领取, or 快递送达 with the (masked unless allowed) address; empty when the item does
    /// not courier results.
    pub choice: String,
    pub courier: bool,
    pub shipments: Vec<ShipmentView>,
    pub may_send: bool,
}

/// The delivery part of the staff case page.
pub(crate) async fn on_case_page(
    state: &crate::state::AppState,
    access: &govhall_identity::Access,
    c: &govhall_cases::Case,
    may_deliver: bool,
) -> Result<StaffDelivery, AppError> {
    let choice = state.logistics.choice_for_staff(access, c.id).await?;
    let shipments: Vec<ShipmentView> =
        state.logistics.for_staff(access, c.id).await?.iter().map(ShipmentView::of).collect();
    let live = shipments.iter().any(|s| s.result && !s.ended && !s.waybill.is_empty());
    let (choice, courier) = match choice {
        Choice::Pickup => ("窗口领取".to_owned(), false),
        Choice::Courier(p) => (format!("快递送达：{} {} {}", p.name, p.phone, p.address), true),
    };
    Ok(StaffDelivery { choice, courier, may_send: courier && may_deliver && c.is_open && !live, shipments })
}

/// The routes of logistics, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Permission as Needs, Public, SignedIn};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    vec![
        r(M::POST, "/admin/cases/{id}/shipments", Needs(P::CaseView), post(pages::send)),
        r(M::POST, "/admin/shipments/{id}/refresh", Needs(P::CaseView), post(pages::refresh)),
        r(M::GET, "/admin/shipments/{id}/waybill.pdf", Needs(P::CaseView), get(pages::waybill)),
        r(M::POST, "/api/v1/logistics/notifications", Public, post(api::notification)),
        r(M::GET, "/api/v1/me/cases/{serial}/shipments", SignedIn, get(api::mine)),
        r(M::POST, "/api/v1/me/cases/{serial}/shipments", SignedIn, post(api::book_pickup)),
        r(M::POST, "/account/cases/{serial}/shipments", SignedIn, post(pages::book_pickup)),
    ]
}
