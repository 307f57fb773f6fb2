//! The message center on the web: the provider's receipt callback and the admin pages.

pub(crate) mod admin;
pub(crate) mod receipts;
