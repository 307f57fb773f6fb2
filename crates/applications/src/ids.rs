//! Typed ids of the applications' records, and the ids of the records they refer to.

pub use govhall_cases::CaseId;
pub use govhall_identity::{AccountId, EnterpriseId};

govhall_core::define_id!(
    /// An application (申报), draft or submitted.
    ApplicationId
);
govhall_core::define_id!(
    /// A file given for one of an application's materials.
    ApplicationFileId
);
