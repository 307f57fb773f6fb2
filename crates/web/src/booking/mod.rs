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
