//! The sandbox courier's pages: its waybills, and one waybill's page where a tester adds a
//! tracking event (揽收, 运输中, 派送中, 异常, 签收, 退回, 遗失) and chooses how it is pushed.

use super::{SandboxCourier, SandboxShipment};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use govhall_logistics::EventStatus;
use govhall_logistics::courier::protocol::WireEvent;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "sandbox_courier/home.html")]
struct HomePage {
    /// Waybill, recipient's city part, events.
    shipments: Vec<(String, String, usize)>,
}

#[derive(Template)]
#[template(path = "sandbox_courier/waybill.html")]
struct WaybillPage {
    waybill: String,
    cargo: String,
    sender: String,
    recipient: String,
    /// When, status, where, what.
    events: Vec<(String, &'static str, String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
}

/// A page with no script, no framing, forms to itself only.
fn html(page: impl Template) -> Response {
    crate::sandbox_signed::page(page, "'self'")
}

pub(super) async fn home(State(sandbox): State<SandboxCourier>) -> Response {
    let shipments = sandbox
        .all()
        .into_iter()
        .map(|s| {
            let to: String = s.request.recipient.address.chars().take(6).collect();
            (s.waybill_no, format!("{to}…"), s.events.len())
        })
        .collect();
    html(HomePage { shipments })
}

fn china(at: chrono::DateTime<Utc>) -> String {
    govhall_core::clock::china_time(at).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn page_of(s: SandboxShipment) -> WaybillPage {
    let mut events = s.events.clone();
    events.sort_by_key(|e| std::cmp::Reverse(e.occurred_at));
    WaybillPage {
        cargo: s.request.cargo.clone(),
        sender: format!("{} {}", s.request.sender.name, s.request.sender.address),
        recipient: format!(
            "{} {} {}",
            s.request.recipient.name, s.request.recipient.phone, s.request.recipient.address
        ),
        events: events
            .into_iter()
            .map(|e| (china(e.occurred_at), e.status.label(), e.location, e.description))
            .collect(),
        statuses: EventStatus::ALL.iter().map(|e| (e.as_str(), e.label())).collect(),
        waybill: s.waybill_no,
    }
}

pub(super) async fn page(State(sandbox): State<SandboxCourier>, Path(waybill): Path<String>) -> Response {
    match sandbox.shipment(&waybill) {
        Some(s) => html(page_of(s)),
        None => (StatusCode::NOT_FOUND, "运单号不存在").into_response(),
    }
}

/// How an event reaches the hall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PushMode {
    /// At once (retried until the hall accepts it).
    #[default]
    Once,
    /// Twice at the same time.
    Twice,
    /// The event, then an older 运输中 event that arrives after it.
    Stale,
    /// Not at all (the hall must ask).
    Never,
}

#[derive(Debug, Deserialize)]
pub(super) struct EventForm {
    status: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    push: PushMode,
}

pub(super) async fn add_event(
    State(sandbox): State<SandboxCourier>,
    Path(waybill): Path<String>,
    Form(form): Form<EventForm>,
) -> Response {
    let Some(status) = EventStatus::parse(&form.status) else {
        return (StatusCode::BAD_REQUEST, "未知的物流状态").into_response();
    };
    let clip = |s: &str, n: usize| s.trim().chars().take(n).collect::<String>();
    let event = WireEvent {
        event_id: String::new(),
        status,
        description: if form.description.trim().is_empty() {
            status.label().to_owned()
        } else {
            clip(&form.description, 200)
        },
        location: clip(&form.location, 100),
        occurred_at: Utc::now(),
    };
    let Some((shipment, event)) = sandbox.record(&waybill, event) else {
        return (StatusCode::NOT_FOUND, "运单号不存在").into_response();
    };
    let stale = match form.push {
        PushMode::Stale => {
            let older = WireEvent {
                event_id: String::new(),
                status: EventStatus::InTransit,
                description: "快件在转运中（迟到的旧轨迹）".into(),
                location: event.location.clone(),
                occurred_at: event.occurred_at - chrono::Duration::hours(6),
            };
            sandbox.record(&waybill, older).map(|(_, e)| e)
        }
        _ => None,
    };
    let courier = sandbox.clone();
    let mode = form.push;
    // Pushed before the page answers, so that the tester sees the hall's state on return.
    match mode {
        PushMode::Never => {}
        PushMode::Once => courier.push(&shipment, vec![event]).await,
        PushMode::Twice => {
            let (a, b) = (courier.clone(), courier.clone());
            let (sa, sb) = (shipment.clone(), shipment.clone());
            let (ea, eb) = (event.clone(), event);
            tokio::join!(async move { a.push(&sa, vec![ea]).await }, async move { b.push(&sb, vec![eb]).await });
        }
        PushMode::Stale => {
            courier.push(&shipment, vec![event]).await;
            if let Some(older) = stale {
                courier.push(&shipment, vec![older]).await;
            }
        }
    }
    Redirect::to(&waybill).into_response()
}
