//! Typed ids of the case engine's records, and the identity ids a case refers to.

pub use govhall_identity::{AccountId, DepartmentId, EnterpriseId};

govhall_core::define_id!(
    /// A case (办件).
    CaseId
);
govhall_core::define_id!(
    /// An entry of a case's history (one transition).
    CaseEventId
);
govhall_core::define_id!(
    /// A file that came with a transition (a notice, a result document).
    CaseFileId
);
