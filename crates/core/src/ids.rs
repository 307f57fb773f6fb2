//! Typed ids: a `CaseId` can never be passed where an `ItemId` is expected.
//!
//! Every id is a UUIDv7 (time-ordered, so new rows land at the end of an index).

/// Defines a typed id wrapping a UUIDv7.
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// Wraps an id read from storage.
            pub const fn from_uuid(id: uuid::Uuid) -> Self {
                Self(id)
            }

            /// The raw UUID, for binding to a query.
            pub const fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ValueError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| $crate::ValueError::new("invalid_id", "编号", "格式不正确"))
            }
        }
    };
}

define_id!(
    /// Identifies a background job.
    JobId
);

define_id!(
    /// An account: a person, a staff member or an administrator. Defined here, below every
    /// domain, because the audit log (below identity) records who acted.
    AccountId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_round_trip() {
        let a = JobId::new();
        let b = JobId::new();
        assert!(a < b, "UUIDv7 ids issued later sort later");
        let parsed: JobId = a.to_string().parse().unwrap();
        assert_eq!(parsed, a);
        assert!("not-an-id".parse::<JobId>().is_err());
    }
}
