//! Typed ids of payments' records.

govhall_core::define_id!(
    /// A payment order (缴款单).
    OrderId
);
govhall_core::define_id!(
    /// A refund (退款).
    RefundId
);
