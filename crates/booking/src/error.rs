//! Errors of appointments, each with a stable code and a Chinese message.

use govhall_core::Coded;
use govhall_db::DbError;
use thiserror::Error;

/// What can go wrong booking.
#[derive(Debug, Error)]
pub enum BookingError {
    /// The slot has no place left (or was closed).
    #[error("该时段已约满，请选择其他时段")]
    SlotFull,
    /// No such slot, hall, service or booking (or not the viewer's).
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// The slot is outside the bookable days or already past.
    #[error("{0}")]
    OutOfWindow(String),
    /// One active booking per person and item.
    #[error("您已预约过该事项，如需改约请先取消原预约")]
    AlreadyBooked,
    /// The daily limit per person.
    #[error("您今天的预约次数已达上限（{0} 次），请明天再约")]
    DailyLimit(i64),
    /// Blocked after repeated no-shows.
    #[error("{0}")]
    Blocked(String),
    /// Too late to cancel, or to check in.
    #[error("{0}")]
    TooLate(String),
    /// Too early to check in.
    #[error("{0}")]
    TooEarly(String),
    /// The viewer may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Something typed is not valid.
    #[error("{0}")]
    Invalid(String),
    /// Something that should not happen.
    #[error("内部错误：{0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<govhall_db::sqlx::Error> for BookingError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        BookingError::Db(DbError::from(e))
    }
}

impl From<govhall_identity::IdentityError> for BookingError {
    fn from(e: govhall_identity::IdentityError) -> Self {
        match e {
            govhall_identity::IdentityError::Db(db) => BookingError::Db(db),
            other => BookingError::Internal(other.to_string()),
        }
    }
}

impl From<govhall_messaging::MessagingError> for BookingError {
    fn from(e: govhall_messaging::MessagingError) -> Self {
        match e {
            govhall_messaging::MessagingError::Db(db) => BookingError::Db(db),
            other => BookingError::Internal(other.to_string()),
        }
    }
}

impl Coded for BookingError {
    fn code(&self) -> &'static str {
        match self {
            BookingError::SlotFull => "slot_full",
            BookingError::NotFound(_) => "booking_not_found",
            BookingError::OutOfWindow(_) => "slot_not_bookable",
            BookingError::AlreadyBooked => "already_booked",
            BookingError::DailyLimit(_) => "daily_limit_reached",
            BookingError::Blocked(_) => "booking_blocked",
            BookingError::TooLate(_) => "too_late",
            BookingError::TooEarly(_) => "too_early",
            BookingError::Forbidden(_) => "booking_forbidden",
            BookingError::Invalid(_) => "invalid_input",
            BookingError::Internal(_) => "internal_error",
            BookingError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            BookingError::Db(e) => e.message(),
            other => other.to_string(),
        }
    }
}
