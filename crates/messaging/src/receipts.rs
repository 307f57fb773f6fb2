//! SMS delivery receipts posted back by the provider: signature checked, then each receipt moves
//! its message to delivered or failed. Replays and unknown ids change nothing.

use crate::channels::pointer_text;
use crate::channels::verify_receipt_signature;
use crate::model::{Channel, MessageStatus};
use crate::{Messaging, MessagingError, store};
use govhall_db::Db;
use serde_json::Value;

/// What a batch of receipts did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceiptOutcome {
    /// Messages moved to delivered or failed.
    pub updated: usize,
    /// Receipts for messages already settled (replays are harmless).
    pub ignored: usize,
    /// Receipts for ids not known (yet): the provider should send them again later, as a
    /// receipt can overtake the recording of the provider's id.
    pub unknown: usize,
}

/// Why receipts were refused.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The signature is missing or wrong (or no secret is configured).
    #[error("回执签名无效")]
    BadSignature,
    /// The body is not a receipt.
    #[error("回执格式不正确：{0}")]
    Malformed(String),
    /// Storing failed.
    #[error(transparent)]
    Messaging(#[from] MessagingError),
}

/// Applies the receipts in `body` (one JSON object, or an array of them).
pub async fn apply(
    db: &Db,
    messaging: &Messaging,
    body: &[u8],
    signature: Option<&str>,
) -> Result<ReceiptOutcome, ReceiptError> {
    let settings = &messaging.settings().sms.receipts;
    let signature = signature.ok_or(ReceiptError::BadSignature)?;
    if !verify_receipt_signature(settings.secret.expose(), body, signature) {
        return Err(ReceiptError::BadSignature);
    }
    let json: Value = serde_json::from_slice(body).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
    let receipts = match json {
        Value::Array(items) => items,
        one @ Value::Object(_) => vec![one],
        _ => return Err(ReceiptError::Malformed("应为 JSON 对象或数组".to_owned())),
    };
    let provider = messaging.0.sms_provider();
    let mut outcome = ReceiptOutcome::default();
    for receipt in receipts {
        let id = pointer_text(&receipt, &settings.id_pointer)
            .ok_or_else(|| ReceiptError::Malformed(format!("缺少消息编号（{}）", settings.id_pointer)))?;
        let status = pointer_text(&receipt, &settings.status_pointer)
            .ok_or_else(|| ReceiptError::Malformed(format!("缺少状态（{}）", settings.status_pointer)))?;
        let Some(message) = store::by_provider_id(db, provider, &id).await? else {
            outcome.unknown += 1;
            continue;
        };
        if message.channel != Channel::Sms || message.status != MessageStatus::Sending {
            outcome.ignored += 1;
            continue;
        }
        let (to, detail) = if settings.delivered_values.contains(&status) {
            (MessageStatus::Delivered, format!("送达回执：{status}"))
        } else if settings.permanent_failure_values.contains(&status) {
            (MessageStatus::PermanentFailure, format!("未送达回执：{status}"))
        } else {
            (MessageStatus::TemporaryFailure, format!("未送达回执：{status}"))
        };
        let mut tx = db.begin().await.map_err(MessagingError::from)?;
        let moved = store::transition(&mut tx, message.id, &[MessageStatus::Sending], to, &detail, db.now()).await?;
        tx.commit().await.map_err(MessagingError::from)?;
        if moved {
            outcome.updated += 1;
        } else {
            outcome.ignored += 1;
        }
    }
    Ok(outcome)
}
