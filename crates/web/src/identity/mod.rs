//! The people's side of identity: sign in and out, register, reset a password, the account
//! pages (profile, sessions, password, enterprises), and the API's bearer tokens.

pub(crate) mod account;
pub(crate) mod api;
pub(crate) mod enterprises;
pub(crate) mod register;
pub(crate) mod sign_in;
