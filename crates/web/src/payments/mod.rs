//! Payments over HTTP: the payer's order page (confirm, go to the gateway, come back to a
//! result the hall asked the gateway for, cancel), the gateway's notifications, the API for the
//! mobile app (tag 网上缴费), and staff's re-issue, cancel and refund.

pub(crate) mod api;
pub(crate) mod history;
pub(crate) mod pages;
pub(crate) mod reconcile;

use crate::AppError;
use crate::html::time;
use axum::http::StatusCode;
use govhall_core::Coded as _;
use govhall_payments::{Order, OrderState, PaymentError};

impl From<PaymentError> for AppError {
    fn from(e: PaymentError) -> Self {
        let status = match &e {
            PaymentError::Db(db) if db.code() == "database_busy" => StatusCode::SERVICE_UNAVAILABLE,
            PaymentError::Db(_) | PaymentError::Internal(_) => return AppError::internal(e),
            PaymentError::NotFound | PaymentError::UnknownOrder => StatusCode::NOT_FOUND,
            PaymentError::Forbidden(_) | PaymentError::BadSignature => StatusCode::FORBIDDEN,
            PaymentError::WrongState(_) | PaymentError::Expired | PaymentError::Stale => StatusCode::CONFLICT,
            PaymentError::Gateway(_) => StatusCode::BAD_GATEWAY,
            PaymentError::AmountMismatch
            | PaymentError::WrongCurrency
            | PaymentError::RefundTooLarge(_)
            | PaymentError::BadMessage(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PaymentError::Invalid(_) => StatusCode::BAD_REQUEST,
        };
        AppError::coded(status, &e)
    }
}

/// An order as pages show it.
#[derive(Debug, Clone)]
pub(crate) struct OrderView {
    pub id: String,
    pub notice_number: String,
    pub subject: String,
    pub payer: String,
    pub total: String,
    pub refunded: String,
    pub state: OrderState,
    pub state_label: &'static str,
    pub payable: bool,
    pub expires: String,
    pub paid_at: String,
    pub bank: String,
    pub receipt: String,
    pub note: String,
    pub lines: Vec<(String, String, String)>,
}

impl OrderView {
    pub(crate) fn of(o: &Order) -> OrderView {
        OrderView {
            id: o.id.to_string(),
            notice_number: o.notice_number.clone(),
            subject: o.subject.clone(),
            payer: o.payer_name.clone(),
            total: o.total.yuan(),
            refunded: o.refunded.yuan(),
            state: o.state,
            state_label: o.state.label(),
            payable: o.state.is_payable(),
            expires: time(o.expires_at),
            paid_at: o.paid_at.map(time).unwrap_or_default(),
            bank: o.bank.clone().unwrap_or_default(),
            receipt: o.receipt.as_ref().map(govhall_payments::ReceiptNumber::display).unwrap_or_default(),
            note: o.closed_note.clone(),
            lines: o.lines.iter().map(|l| (l.code.clone(), l.name.clone(), l.amount.yuan())).collect(),
        }
    }

    pub(crate) fn is_paid(&self) -> bool {
        matches!(self.state, OrderState::Success | OrderState::Refunded)
    }
}

/// The routes of payments, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Permission as Needs, Public, SignedIn};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    vec![
        r(M::GET, "/account/payments", SignedIn, get(crate::payments::history::show)),
        r(M::GET, "/api/v1/me/payment-orders", SignedIn, get(crate::payments::history::api)),
        r(M::GET, "/payments/{id}", SignedIn, get(crate::payments::pages::show)),
        r(M::POST, "/payments/{id}/start", SignedIn, post(crate::payments::pages::start)),
        r(M::GET, "/payments/{id}/return", SignedIn, get(crate::payments::pages::back)),
        r(M::POST, "/payments/{id}/cancel", SignedIn, post(crate::payments::pages::cancel)),
        r(M::GET, "/payments/{id}/receipt.pdf", SignedIn, get(crate::payments::pages::receipt)),
        r(M::GET, "/api/v1/payment-orders/{id}/receipt.pdf", SignedIn, get(crate::payments::api::receipt)),
        r(M::GET, "/admin/payments/{id}/receipt.pdf", Needs(P::CaseView), get(crate::payments::pages::staff_receipt)),
        // The gateway's notifications: trusted by their signature alone.
        r(M::POST, "/api/v1/payments/notifications", Public, post(crate::payments::api::notification)),
        r(M::GET, "/api/v1/me/cases/{serial}/payment-orders", SignedIn, get(crate::payments::api::case_orders)),
        r(M::GET, "/api/v1/payment-orders/{id}", SignedIn, get(crate::payments::api::order)),
        r(M::POST, "/api/v1/payment-orders/{id}/start", SignedIn, post(crate::payments::api::start)),
        r(M::POST, "/admin/cases/{id}/payment-orders", Needs(P::PaymentManage), post(crate::payments::pages::reissue)),
        r(M::POST, "/admin/payments/{id}/cancel", Needs(P::PaymentManage), post(crate::payments::pages::staff_cancel)),
        r(M::POST, "/admin/payments/{id}/refund", Needs(P::PaymentRefund), post(crate::payments::pages::refund)),
        // Reconciliation: the engine asks for the permission over the whole province.
        r(M::GET, "/admin/payments/reconciliation", Needs(P::PaymentManage), get(crate::payments::reconcile::list)),
        r(M::POST, "/admin/payments/reconciliation", Needs(P::PaymentManage), post(crate::payments::reconcile::run)),
        r(M::GET, "/admin/payments/reconciliation/{id}", Needs(P::PaymentManage), get(crate::payments::reconcile::day)),
        r(
            M::GET,
            "/admin/payments/reconciliation/{id}/export.xlsx",
            Needs(P::PaymentManage),
            get(crate::payments::reconcile::export),
        ),
        r(
            M::POST,
            "/admin/payments/discrepancies/{id}/resolve",
            Needs(P::PaymentManage),
            post(crate::payments::reconcile::resolve),
        ),
    ]
}
