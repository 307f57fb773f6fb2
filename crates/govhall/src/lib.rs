//! The `govhall` binary's library: configuration, telemetry and wiring of the application.
//!
//! It owns nothing of the domain. [`App::build`] opens the database, applies migrations, starts
//! this node's change follower and (unless told not to) its job worker, and binds the web
//! server, reporting the port it got, so that tests start the real application on port 0.

pub mod app;
pub mod config;
mod domains;
pub mod telemetry;

pub use app::{App, Domains, job_registry, open_database, run_worker};
pub use config::{LogFormat, Settings};
