//! Errors of payments, each with a stable code and a Chinese message. The codes of refused
//! gateway messages are part of the gateway protocol: the gateway reads them.

use govhall_core::Coded;
use govhall_db::DbError;
use thiserror::Error;

/// What can go wrong paying.
#[derive(Debug, Error)]
pub enum PaymentError {
    /// No such order (or not the viewer's).
    #[error("缴款单不存在")]
    NotFound,
    /// The order cannot do this in its state.
    #[error("{0}")]
    WrongState(String),
    /// The order is past its expiry.
    #[error("缴款单已过期，请联系办理部门重新开具")]
    Expired,
    /// A gateway message whose signature does not verify.
    #[error("签名验证失败")]
    BadSignature,
    /// A gateway message for a notice number the hall never issued.
    #[error("缴款码不存在")]
    UnknownOrder,
    /// A gateway message whose amount is not the order's.
    #[error("支付金额与缴款单金额不一致")]
    AmountMismatch,
    /// A currency other than CNY.
    #[error("只接受人民币（CNY）")]
    WrongCurrency,
    /// A gateway message that cannot be read.
    #[error("{0}")]
    BadMessage(String),
    /// The gateway could not be reached or answered an error.
    #[error("支付网关暂时无法访问，请稍后再试（{0}）")]
    Gateway(String),
    /// A refund beyond what was paid.
    #[error("退款金额不能超过可退金额 {0} 元")]
    RefundTooLarge(String),
    /// The viewer may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Something typed is not valid.
    #[error("{0}")]
    Invalid(String),
    /// The order changed meanwhile.
    #[error("缴款单已被他人更新，请刷新后重试")]
    Stale,
    /// Something that should not happen.
    #[error("内部错误：{0}")]
    Internal(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<govhall_db::sqlx::Error> for PaymentError {
    fn from(e: govhall_db::sqlx::Error) -> Self {
        PaymentError::Db(DbError::from(e))
    }
}

impl From<govhall_messaging::MessagingError> for PaymentError {
    fn from(e: govhall_messaging::MessagingError) -> Self {
        match e {
            govhall_messaging::MessagingError::Db(db) => PaymentError::Db(db),
            other => PaymentError::Internal(other.to_string()),
        }
    }
}

impl From<govhall_cases::CaseError> for PaymentError {
    fn from(e: govhall_cases::CaseError) -> Self {
        match e {
            govhall_cases::CaseError::Db(db) => PaymentError::Db(db),
            govhall_cases::CaseError::NotFound => PaymentError::NotFound,
            govhall_cases::CaseError::Stale => PaymentError::Stale,
            other => PaymentError::Internal(Coded::message(&other)),
        }
    }
}

impl From<govhall_identity::IdentityError> for PaymentError {
    fn from(e: govhall_identity::IdentityError) -> Self {
        match e {
            govhall_identity::IdentityError::Db(db) => PaymentError::Db(db),
            other => PaymentError::Internal(Coded::message(&other)),
        }
    }
}

impl Coded for PaymentError {
    fn code(&self) -> &'static str {
        match self {
            PaymentError::NotFound => "payment_order_not_found",
            PaymentError::WrongState(_) => "payment_order_state",
            PaymentError::Expired => "payment_order_expired",
            PaymentError::BadSignature => "bad_signature",
            PaymentError::UnknownOrder => "unknown_order",
            PaymentError::AmountMismatch => "amount_mismatch",
            PaymentError::WrongCurrency => "currency_not_cny",
            PaymentError::BadMessage(_) => "bad_gateway_message",
            PaymentError::Gateway(_) => "gateway_unavailable",
            PaymentError::RefundTooLarge(_) => "refund_too_large",
            PaymentError::Forbidden(_) => "payment_forbidden",
            PaymentError::Invalid(_) => "invalid_input",
            PaymentError::Stale => "stale",
            PaymentError::Internal(_) => "internal_error",
            PaymentError::Db(e) => e.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            PaymentError::Db(e) => e.message(),
            other => other.to_string(),
        }
    }
}
