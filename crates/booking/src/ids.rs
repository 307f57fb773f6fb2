//! Typed ids of appointments' records, and the identity id of who books.

pub use govhall_identity::AccountId;

govhall_core::define_id!(
    /// A service hall (服务大厅).
    HallId
);
govhall_core::define_id!(
    /// A service a hall offers to book (预约业务).
    ServiceId
);
govhall_core::define_id!(
    /// A slot rule of a service.
    RuleId
);
govhall_core::define_id!(
    /// A slot (预约时段).
    SlotId
);
govhall_core::define_id!(
    /// A booking (预约).
    BookingId
);
