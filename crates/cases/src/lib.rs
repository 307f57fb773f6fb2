//! Cases (办件). So far the unified serial number service (design section 3.2, DOMAIN.md):
//! numbers issued for any number of nodes without two alike, increasing within a region,
//! service and nature, the same number for a retried request, and a clear error when a prefix is
//! used up. The case workflow builds on it.

mod error;
pub mod serials;

pub use error::CaseError;
