//! A case was submitted: the job that tells the domains which follow a new case (the exchange
//! queues it for its department's system), enqueued in the submission's own transaction. The
//! case engine names the job; the domains above it register its handler.

use crate::CaseError;
use crate::ids::CaseId;
use govhall_db::Tx;
use govhall_db::jobs::{self, NewJob};
use serde::{Deserialize, Serialize};

/// The job's kind.
pub const JOB: &str = "case.submitted";

/// What the job carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCase {
    /// The case.
    pub case: CaseId,
}

/// Enqueues the job in `tx`, once per case.
pub(crate) async fn enqueue(tx: &mut Tx, case: CaseId) -> Result<(), CaseError> {
    let key = format!("submitted:{}", case.as_uuid());
    jobs::enqueue(tx, NewJob::new(JOB, &NewCase { case })?.idempotency_key(key)).await?;
    Ok(())
}
