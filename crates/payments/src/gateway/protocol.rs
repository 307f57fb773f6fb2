//! The fiscal payment gateway protocol (version 1) as GovHall speaks it: JSON bodies, each
//! request, answer and notification signed over `timestamp \n nonce \n body` and the signature
//! sent in headers. The sandbox gateway speaks the same. docs/payments.md describes it for a
//! province's gateway vendor.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use govhall_messaging::signed::{
    MAX_SKEW_SECONDS, NONCE, SIGNATURE, SM2_DEFAULT_ID, Signed, Signer, TIMESTAMP, Verifier, new_sm2_key_pem,
};

/// A fee of a payment request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireLine {
    /// 支付项目代码.
    pub code: String,
    /// Name.
    pub name: String,
    /// Amount in fen.
    pub amount_fen: i64,
}

/// Hall → gateway: `POST /api/payments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePayment {
    /// The collecting unit (执收单位编码).
    pub merchant: String,
    /// The payment notice number (缴款码).
    pub notice_number: String,
    /// Total in fen.
    pub amount_fen: i64,
    /// Always `CNY`.
    pub currency: String,
    /// The fees.
    pub items: Vec<WireLine>,
    /// The payer's name as shown (masked).
    pub payer: String,
    /// What is paid for (the item's name).
    pub subject: String,
    /// Where the gateway posts the result.
    pub notify_url: String,
    /// Where the gateway sends the browser back.
    pub return_url: String,
    /// Until when it can be paid.
    pub expires_at: DateTime<Utc>,
}

/// Gateway → hall: the answer to [`CreatePayment`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The gateway's payment number.
    pub trade_no: String,
    /// The page the payer goes to (the bank choice).
    pub pay_url: String,
}

/// Where a payment stands at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireStatus {
    /// Paid.
    Success,
    /// The bank refused or the payer gave up.
    Failed,
    /// Under way at the bank.
    Pending,
    /// The gateway knows no payment for this notice number.
    NotFound,
}

/// The electronic receipt number (票据代码 + 票据号码 + 校验码).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireReceipt {
    /// 票据代码.
    pub code: String,
    /// 票据号码.
    pub number: String,
    /// 校验码.
    pub check: String,
}

/// Gateway → hall: a payment's result, as notification (`POST` to `notify_url`) and as the
/// answer to a query (`GET /api/payments/{notice_number}?merchant=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentResult {
    /// The collecting unit.
    pub merchant: String,
    /// The payment notice number.
    pub notice_number: String,
    /// The gateway's payment number.
    #[serde(default)]
    pub trade_no: String,
    /// Where it stands.
    pub status: WireStatus,
    /// What was paid, in fen.
    #[serde(default)]
    pub amount_fen: i64,
    /// The currency.
    #[serde(default)]
    pub currency: String,
    /// When it was paid.
    #[serde(default)]
    pub paid_at: Option<DateTime<Utc>>,
    /// The bank.
    #[serde(default)]
    pub bank: Option<String>,
    /// The electronic receipt number (with a success).
    #[serde(default)]
    pub receipt: Option<WireReceipt>,
}

/// Hall → gateway: `POST /api/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// The collecting unit.
    pub merchant: String,
    /// The order's notice number.
    pub notice_number: String,
    /// The hall's refund number (the same for a retried request).
    pub refund_no: String,
    /// How much, in fen.
    pub amount_fen: i64,
    /// Why.
    pub reason: String,
}

/// Gateway → hall: the answer to [`RefundRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResult {
    /// The hall's refund number.
    pub refund_no: String,
    /// Whether the money went back.
    pub success: bool,
    /// The gateway's reference.
    #[serde(default)]
    pub gateway_ref: String,
    /// Why not, when it did not.
    #[serde(default)]
    pub message: String,
}

/// What the hall answers a notification: `ok`, or the stable code of why it was refused (the
/// gateway retries a refused one later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationAnswer {
    /// `ok` or the code.
    pub code: String,
    /// In Chinese.
    pub message: String,
}

/// The statement file's header line (`GET /api/statements/{YYYY-MM-DD}?merchant=…`, CSV in
/// UTF-8, one line per payment or refund of that day, China time; its signature covers the hex
/// SM3 digest of the whole body: [`Signer::sign_statement`]).
pub const STATEMENT_HEADER: &str =
    "notice_number,trade_no,amount_fen,currency,paid_at,status,receipt_code,receipt_number,receipt_check";
