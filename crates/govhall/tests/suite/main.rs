//! The integration tests of the hall, in one binary: one link instead of one per file, and one
//! process whose tests share the cores. Each module is one area; `common` starts the app.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "the shared test helpers unwrap: a failure there is the test failing"
)]

mod common;

mod api_routes;
mod applications;
mod applications_api;
mod attacks;
mod audit_chain;
mod authorization;
mod booking;
mod booking_nodes;
mod booking_web;
mod browser;
mod browser_apply;
mod browser_feedback;
mod browser_licences;
mod browser_logistics;
mod browser_pay;
mod cases;
mod cases_web;
mod catalog_web;
mod cli;
mod complaints;
mod evaluations;
mod exchange;
mod exchange_front_db;
mod exchange_register;
mod feedback_files;
mod http;
mod identity_web;
mod intake;
mod library;
mod licences;
mod licences_import;
mod logistics;
mod messaging_web;
mod payments;
mod payments_reconcile;
mod personal_center;
mod projects;
mod search_web;
mod serial_numbers_web;
mod supplements;
