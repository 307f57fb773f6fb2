//! The sandbox courier (模拟快递公司): a stand-in for a courier that speaks the same HTTP
//! protocol (`govhall_logistics::courier::protocol`), so that a fresh hall sends results end to
//! end and tests exercise the real adapter over real HTTP. It keeps its shipments in memory,
//! answers a repeated order with its first waybill, and shows a page per waybill where a tester
//! adds tracking events and chooses how they are pushed — once, twice at the same time, followed
//! by a stale older event, or not at all (the hall must ask). It runs on its own (`govhall
//! sandbox-courier`) or under `/sandbox-courier` of a hall that has no courier configured. It is
//! not part of the hall: its routes are outside the hall's route table.

mod pages;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use govhall_logistics::courier::protocol::{CreateShipment, Created, Tracking, WireEvent};
use govhall_messaging::signed::Signer;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The carrier's name on waybills.
pub(crate) const CARRIER: &str = "模拟政务快递";

/// One shipment the sandbox carries.
#[derive(Debug, Clone)]
pub(crate) struct SandboxShipment {
    pub request: CreateShipment,
    pub waybill_no: String,
    pub events: Vec<WireEvent>,
}

#[derive(Debug, Default)]
struct Books {
    /// By waybill number.
    shipments: HashMap<String, SandboxShipment>,
    /// The hall's order number → waybill number (a repeated order gets its first waybill).
    orders: HashMap<String, String>,
    next_waybill: u64,
    next_event: u64,
}

/// The sandbox courier: its key, its books and the address browsers reach it at.
#[derive(Debug, Clone)]
pub struct SandboxCourier(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    signer: Signer,
    hall: Option<String>,
    books: Mutex<Books>,
    client: reqwest::Client,
}

impl SandboxCourier {
    /// A sandbox signing with `signer`; with `hall`, it takes shipments only from that hall
    /// (their push addresses must be under it).
    pub fn new(signer: Signer, hall: Option<&str>) -> SandboxCourier {
        govhall_messaging::install_crypto();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        SandboxCourier(Arc::new(Inner {
            signer,
            hall: hall.map(|h| format!("{}/", h.trim_end_matches('/'))),
            books: Mutex::new(Books::default()),
            client,
        }))
    }

    /// Its routes (to serve alone, or nested under `/sandbox-courier`).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(pages::home))
            .route("/api/shipments", post(create))
            .route("/api/shipments/{waybill}", get(query))
            .route("/waybills/{waybill}", get(pages::page).post(pages::add_event))
            .with_state(self.clone())
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.0.books.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A shipment by its waybill number.
    pub(crate) fn shipment(&self, waybill: &str) -> Option<SandboxShipment> {
        self.books().shipments.get(waybill).cloned()
    }

    /// Every shipment, newest first.
    pub(crate) fn all(&self) -> Vec<SandboxShipment> {
        let mut all: Vec<SandboxShipment> = self.books().shipments.values().cloned().collect();
        all.sort_by(|a, b| b.waybill_no.cmp(&a.waybill_no));
        all
    }

    /// Records an event for a waybill; returns it with a new event id.
    pub(crate) fn record(&self, waybill: &str, mut event: WireEvent) -> Option<(SandboxShipment, WireEvent)> {
        let mut books = self.books();
        books.next_event += 1;
        event.event_id = format!("EV{:010}", books.next_event);
        let s = books.shipments.get_mut(waybill)?;
        s.events.push(event.clone());
        Some((s.clone(), event))
    }

    fn sign_response(&self, status: StatusCode, body: Vec<u8>) -> Response {
        crate::sandbox_signed::signed_response(&self.0.signer, status, body)
    }

    fn verified(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        crate::sandbox_signed::verified(&self.0.signer, headers, body)
    }

    /// Pushes `events` of `shipment` to the hall (retried until it accepts them).
    pub(crate) async fn push(&self, shipment: &SandboxShipment, events: Vec<WireEvent>) {
        let tracking =
            Tracking { customer: shipment.request.customer.clone(), waybill_no: shipment.waybill_no.clone(), events };
        let body = serde_json::to_vec(&tracking).unwrap_or_default();
        let url = &shipment.request.notify_url;
        crate::sandbox_signed::post_signed(&self.0.client, &self.0.signer, url, &body, "sandbox courier").await;
    }
}

fn refused(sandbox: &SandboxCourier, status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "code": "refused", "message": message }).to_string().into_bytes();
    sandbox.sign_response(status, body)
}

async fn create(State(sandbox): State<SandboxCourier>, headers: HeaderMap, body: Bytes) -> Response {
    if !sandbox.verified(&headers, &body) {
        return refused(&sandbox, StatusCode::UNAUTHORIZED, "签名验证失败");
    }
    let Ok(request) = serde_json::from_slice::<CreateShipment>(&body) else {
        return refused(&sandbox, StatusCode::BAD_REQUEST, "请求无法读取");
    };
    let url = &request.notify_url;
    let fits = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= 500
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
        && sandbox.0.hall.as_deref().is_none_or(|hall| url.starts_with(hall));
    if !fits {
        return refused(&sandbox, StatusCode::BAD_REQUEST, "推送地址不属于接入的政务大厅");
    }
    if request.recipient.name.is_empty() || request.recipient.address.is_empty() || request.order_no.is_empty() {
        return refused(&sandbox, StatusCode::BAD_REQUEST, "收件人或订单号为空");
    }
    let waybill_no = {
        let mut books = sandbox.books();
        match books.orders.get(&request.order_no) {
            Some(w) => w.clone(),
            None => {
                books.next_waybill += 1;
                let w = format!("SB{}{:06}", Utc::now().format("%y%m%d"), books.next_waybill);
                books.orders.insert(request.order_no.clone(), w.clone());
                books.shipments.insert(
                    w.clone(),
                    SandboxShipment { request: request.clone(), waybill_no: w.clone(), events: Vec::new() },
                );
                w
            }
        }
    };
    let created = Created { waybill_no, carrier: CARRIER.into() };
    sandbox.sign_response(StatusCode::OK, serde_json::to_vec(&created).unwrap_or_default())
}

#[derive(Debug, Deserialize)]
struct QueryParams {
    #[serde(default)]
    customer: String,
}

async fn query(
    State(sandbox): State<SandboxCourier>,
    Path(waybill): Path<String>,
    Query(params): Query<QueryParams>,
    headers: HeaderMap,
) -> Response {
    if !sandbox.verified(&headers, b"") {
        return refused(&sandbox, StatusCode::UNAUTHORIZED, "签名验证失败");
    }
    match sandbox.shipment(&waybill).filter(|s| s.request.customer == params.customer) {
        Some(s) => {
            let tracking = Tracking { customer: params.customer, waybill_no: waybill, events: s.events };
            sandbox.sign_response(StatusCode::OK, serde_json::to_vec(&tracking).unwrap_or_default())
        }
        None => refused(&sandbox, StatusCode::NOT_FOUND, "运单号不存在"),
    }
}
