//! A case was decided in the applicant's favour (准予): the job that tells the domains that
//! produce results (electronic licences) to produce them, enqueued in the decision's own
//! transaction. The case engine names the job; the result domains, which depend on cases and
//! not the other way, register its handler.

use crate::CaseError;
use crate::ids::CaseId;
use govhall_db::Tx;
use govhall_db::jobs::{self, NewJob};
use serde::{Deserialize, Serialize};

/// The job's kind.
pub const JOB: &str = "case.granted";

/// What the job carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Granted {
    /// The case.
    pub case: CaseId,
}

/// Enqueues the job in `tx`, once per case.
pub(crate) async fn enqueue(tx: &mut Tx, case: CaseId) -> Result<(), CaseError> {
    let key = format!("granted:{}", case.as_uuid());
    jobs::enqueue(tx, NewJob::new(JOB, &Granted { case })?.idempotency_key(key)).await?;
    Ok(())
}
