//! A case entered a payment step (待缴费): the job that tells the payment domain to issue the
//! payment order, enqueued in the move's own transaction. The case engine names the job; the
//! payment domain, which depends on cases and not the other way, registers its handler.

use crate::CaseError;
use crate::ids::CaseId;
use govhall_catalog::model::FeeDue;
use govhall_db::Tx;
use govhall_db::jobs::{self, NewJob};
use serde::{Deserialize, Serialize};

/// The job's kind.
pub const JOB: &str = "case.payment_due";

/// What the job carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentDue {
    /// The case.
    pub case: CaseId,
    /// The payment step it entered.
    pub step: String,
    /// Which of the item's fees are due there.
    pub fees: FeeDue,
}

/// The job's kind when a case leaves a payment step otherwise than by paying (withdrawn): the
/// step's payable orders are void.
pub const VOID_JOB: &str = "case.payment_void";

/// What [`VOID_JOB`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentVoid {
    /// The case.
    pub case: CaseId,
    /// The payment step it left.
    pub step: String,
}

/// Enqueues [`VOID_JOB`] in `tx`.
pub(crate) async fn enqueue_void(tx: &mut Tx, case: CaseId, step: &str) -> Result<(), CaseError> {
    let key = format!("payment_void:{}:{step}", case.as_uuid());
    let void = PaymentVoid { case, step: step.to_owned() };
    jobs::enqueue(tx, NewJob::new(VOID_JOB, &void)?.idempotency_key(key)).await?;
    Ok(())
}

/// Enqueues the job in `tx`; one per case and step (entering the same step again, after a
/// re-issue, is the payment domain's business).
pub(crate) async fn enqueue(tx: &mut Tx, case: CaseId, step: &str, fees: FeeDue) -> Result<(), CaseError> {
    let key = format!("payment_due:{}:{step}", case.as_uuid());
    let due = PaymentDue { case, step: step.to_owned(), fees };
    jobs::enqueue(tx, NewJob::new(JOB, &due)?.idempotency_key(key)).await?;
    Ok(())
}
