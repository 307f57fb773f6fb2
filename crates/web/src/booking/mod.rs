//! Appointments over HTTP: the booking table and my bookings for people, the JSON API for the
//! mobile app and WeChat, and the hall's desk (check-in, today's list, no-shows) and set-up.

pub(crate) mod api;
pub(crate) mod desk;
pub(crate) mod pages;

use crate::AppError;
use axum::http::StatusCode;
use govhall_booking::BookingError;
use govhall_core::Coded as _;

impl From<BookingError> for AppError {
    fn from(e: BookingError) -> Self {
        let status = match &e {
            BookingError::Db(db) if db.code() == "database_busy" => StatusCode::SERVICE_UNAVAILABLE,
            BookingError::Db(_) | BookingError::Internal(_) => return AppError::internal(e),
            BookingError::NotFound(_) => StatusCode::NOT_FOUND,
            BookingError::Forbidden(_) | BookingError::Blocked(_) => StatusCode::FORBIDDEN,
            BookingError::SlotFull | BookingError::AlreadyBooked => StatusCode::CONFLICT,
            BookingError::DailyLimit(_) => StatusCode::TOO_MANY_REQUESTS,
            BookingError::OutOfWindow(_) | BookingError::TooLate(_) | BookingError::TooEarly(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            BookingError::Invalid(_) => StatusCode::BAD_REQUEST,
        };
        AppError::coded(status, &e)
    }
}

/// A booking code as a QR code (SVG).
pub(crate) fn qr_svg(code: &str) -> Result<String, AppError> {
    use qrcode::render::svg;
    let qr = qrcode::QrCode::new(code.as_bytes()).map_err(AppError::internal)?;
    Ok(qr.render::<svg::Color>().min_dimensions(180, 180).quiet_zone(true).build())
}

/// The routes of appointments, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Permission as Needs, Public, SignedIn};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    vec![
        // Appointments: the table is public, booking needs an account.
        r(M::GET, "/items/{code}/book", Public, get(crate::booking::pages::book_form)),
        r(M::POST, "/items/{code}/book", SignedIn, post(crate::booking::pages::book)),
        r(M::GET, "/account/bookings", SignedIn, get(crate::booking::pages::mine)),
        r(M::GET, "/account/bookings/{code}", SignedIn, get(crate::booking::pages::one)),
        r(M::GET, "/account/bookings/{code}/qr.svg", SignedIn, get(crate::booking::pages::qr)),
        r(M::POST, "/account/bookings/{code}/cancel", SignedIn, post(crate::booking::pages::cancel)),
        r(M::GET, "/api/v1/booking/services", Public, get(crate::booking::api::services)),
        r(M::GET, "/api/v1/booking/services/{id}/availability", Public, get(crate::booking::api::availability)),
        r(M::POST, "/api/v1/bookings", SignedIn, post(crate::booking::api::book)),
        r(M::POST, "/api/v1/bookings/{code}/cancel", SignedIn, post(crate::booking::api::cancel)),
        r(M::GET, "/api/v1/me/bookings", SignedIn, get(crate::booking::api::mine)),
        // The halls' set-up and desk; the engine checks each hall's region against the scope.
        r(M::GET, "/admin/booking", Needs(P::BookingManage), get(crate::booking::desk::setup)),
        r(M::POST, "/admin/booking/halls", Needs(P::BookingManage), post(crate::booking::desk::create_hall)),
        r(M::POST, "/admin/booking/services", Needs(P::BookingManage), post(crate::booking::desk::create_service)),
        r(M::POST, "/admin/booking/rules", Needs(P::BookingManage), post(crate::booking::desk::add_rule)),
        r(M::GET, "/admin/booking/desk", Needs(P::BookingCheckin), get(crate::booking::desk::desk)),
        r(M::POST, "/admin/booking/desk/checkin", Needs(P::BookingCheckin), post(crate::booking::desk::check_in)),
        r(M::POST, "/admin/booking/desk/no-shows", Needs(P::BookingCheckin), post(crate::booking::desk::no_shows)),
        r(
            M::POST,
            "/admin/booking/slots/{slot}/close",
            Needs(P::BookingManage),
            post(crate::booking::desk::close_slot),
        ),
        r(
            M::POST,
            "/admin/booking/slots/{slot}/capacity",
            Needs(P::BookingManage),
            post(crate::booking::desk::set_capacity),
        ),
    ]
}
