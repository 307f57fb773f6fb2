//! A case ended (办结, 不予受理, withdrawn …): the job that tells the domains which follow a
//! case's end (好差评 invites the applicant to rate it), enqueued in the move's own transaction.
//! The case engine names the job; the domains above it register its handler.

use crate::CaseError;
use crate::ids::CaseId;
use govhall_db::Tx;
use govhall_db::jobs::{self, NewJob};
use serde::{Deserialize, Serialize};

/// The job's kind.
pub const JOB: &str = "case.closed";

/// What the job carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    /// The case.
    pub case: CaseId,
}

/// Enqueues the job in `tx`, once per case.
pub(crate) async fn enqueue(tx: &mut Tx, case: CaseId) -> Result<(), CaseError> {
    let key = format!("closed:{}", case.as_uuid());
    jobs::enqueue(tx, NewJob::new(JOB, &Closed { case })?.idempotency_key(key)).await?;
    Ok(())
}
