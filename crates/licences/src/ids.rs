//! Typed ids of the licence registry's records.

govhall_core::define_id!(
    /// An electronic licence (电子证照).
    LicenceId
);
