//! Typed ids of logistics' records.

govhall_core::define_id!(
    /// A shipment (快件): one parcel sent for a case.
    ShipmentId
);
