//! The one state object every handler receives.

use crate::metrics::Metrics;
use govhall_booking::Booking;
use govhall_cases::Cases;
use govhall_catalog::Catalog;
use govhall_core::{Secret, WorkingCalendar, serde_lenient};
use govhall_db::Db;
use govhall_db::changes::ChangeFollower;
use govhall_identity::Identity;
use govhall_messaging::Messaging;
use govhall_search::Search;
use serde::{Deserialize, Serialize};
use std::ops::Deref;
use std::sync::Arc;

/// What the portal shows about itself; part of the hall's configuration (`[site]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteSettings {
    /// The hall's name in the header and page titles.
    #[serde(deserialize_with = "serde_lenient::string")]
    pub name: String,
    /// Who runs it, in the footer.
    #[serde(deserialize_with = "serde_lenient::string")]
    pub operator: String,
    /// The service hotline in the footer.
    #[serde(deserialize_with = "serde_lenient::string")]
    pub hotline: String,
    /// The ICP filing number in the footer, if any.
    #[serde(deserialize_with = "serde_lenient::string")]
    pub icp_filing: String,
}

impl Default for SiteSettings {
    fn default() -> Self {
        Self {
            name: "网上政务服务大厅".to_owned(),
            operator: "人民政府办公厅".to_owned(),
            hotline: "12345".to_owned(),
            icp_filing: String::new(),
        }
    }
}

/// Settings of the web layer itself (`[web]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    pub metrics_token: Secret,
    /// Whether a reverse proxy (nginx) stands in front: then the client's address is taken from
    /// its `X-Real-IP` header when the connection comes from one of `trusted_proxies`,
    /// otherwise from the connection.
    pub behind_proxy: bool,
    /// The proxies' addresses and CIDR blocks (comma-separated) whose `X-Real-IP` is believed;
    /// empty: the machine itself (`127.0.0.1, ::1`).
    pub trusted_proxies: String,
}

impl WebSettings {
    /// Checks the settings; the error says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        govhall_identity::clients::parse_allowed(&self.trusted_proxies)
            .map(drop)
            .map_err(|e| format!("配置 [web] trusted_proxies 有误：{}", govhall_core::Coded::message(&e)))
    }

    /// Whether a connection from `peer` is one of the trusted proxies.
    pub fn trusts(&self, peer: std::net::IpAddr) -> bool {
        let peer = match peer {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, std::net::IpAddr::V4),
            v4 => v4,
        };
        if self.trusted_proxies.trim().is_empty() {
            return peer.is_loopback();
        }
        govhall_identity::clients::parse_allowed(&self.trusted_proxies)
            .is_ok_and(|nets| nets.iter().any(|n| n.contains(&peer)))
    }
}

/// Everything the web layer needs, built once by the binary.
#[derive(Debug)]
pub struct AppContext {
    /// The database.
    pub db: Db,
    /// The portal's own settings.
    pub site: SiteSettings,
    /// The web layer's settings.
    pub web: WebSettings,
    /// The official working-day calendar.
    pub calendar: WorkingCalendar,
    /// Request and job metrics.
    pub metrics: Metrics,
    /// This node's follower of the change feed.
    pub changes: ChangeFollower,
    /// The message center.
    pub messaging: Messaging,
    /// Identity and access.
    pub identity: Arc<Identity>,
    /// The service catalogue.
    pub catalog: Catalog,
    /// Search over the catalogue (this node's index).
    pub search: Search,
    /// The case engine.
    pub cases: Cases,
    /// Appointments.
    pub booking: Booking,
    /// Online applications.
    pub applications: govhall_applications::Applications,
    /// Payments.
    pub payments: govhall_payments::Payments,
    /// Electronic licences.
    pub licences: govhall_licences::Licences,
    /// Logistics (results by courier).
    pub logistics: govhall_logistics::Logistics,
    /// 好差评.
    pub feedback: govhall_feedback::Feedback,
    /// Department systems' exchange with the hall.
    pub exchange: govhall_exchange::Exchange,
}

/// Cheap to clone: `Arc` of the context.
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<AppContext>);

impl Deref for AppState {
    type Target = AppContext;
    fn deref(&self) -> &AppContext {
        &self.0
    }
}
