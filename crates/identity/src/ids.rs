//! Typed ids of identity's records.

pub use govhall_core::ids::AccountId;
govhall_core::define_id!(
    /// A department (部门).
    DepartmentId
);
govhall_core::define_id!(
    /// An enterprise (法人).
    EnterpriseId
);
govhall_core::define_id!(
    /// A group of accounts.
    GroupId
);
govhall_core::define_id!(
    /// A role.
    RoleId
);
govhall_core::define_id!(
    /// A grant of a role.
    GrantId
);
govhall_core::define_id!(
    /// A session (web sign-in or API token).
    SessionId
);
