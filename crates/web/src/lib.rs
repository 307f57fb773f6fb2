//! The HTTP edge of GovHall: the portal's pages and the JSON API.
//!
//! It owns routing, the one error type and how errors render (a Chinese HTML page for people,
//! `{"code", "message"}` JSON under `/api/`), request ids and tracing, security headers,
//! compression, the static assets (embedded, with content-hashed names), the site layout, health
//! and readiness probes, Prometheus metrics and the OpenAPI document. Handlers are thin: they
//! extract, call one service function of a domain crate, and render.

mod admin;
mod applications;
mod assets;
pub mod auth;
mod booking;
mod calendar;
mod cases;
mod catalog;
mod charts;
mod download;
mod error;
mod exchange;
mod feedback;
mod health;
mod html;
mod identity;
mod layout;
mod library;
mod licences;
mod logistics;
mod messaging;
mod metrics;
mod middleware;
mod openapi;
mod pages;
mod payments;
mod router;
mod routes;
pub mod sandbox_courier;
pub mod sandbox_gateway;
mod sandbox_signed;
mod search;
mod space;
mod state;
mod text_input;

pub use error::AppError;
pub use metrics::Metrics;
pub use openapi::ApiDoc;
pub use router::router;
pub use routes::{RouteSpec, route_table};
pub use state::{AppContext, AppState, SiteSettings, WebSettings};
