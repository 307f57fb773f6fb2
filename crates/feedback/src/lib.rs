//! 好差评 (GB/T 39734/39735-2020): every finished case is rated by its applicant on five levels,
//! overall and on the online indicators; a 差评 (levels 1–2) becomes a task of the department
//! that handled the case, answered within working days or escalated to the supervisors, after
//! which the applicant rates the rectification; a department may appeal an evaluation to a
//! supervisor; statistics are read from daily counts kept in the evaluation's transaction; each
//! evaluation, rectification and voiding is reported to the upstream 好差评 system.
//!
//! - [`invite`]: the invitation when a case ends (the case engine's `case.closed` job), the
//!   second invitation, default ratings (a setting, off by default).
//! - [`evaluate`]: rating and changing a rating once; [`model`]: levels, channels, reasons.
//! - [`rectify`]: the 差评 tasks, their answers, the applicant's rating of the answer,
//!   escalation; [`appeal`]: 申诉 and the supervisor's decision.
//! - [`stats`]: satisfaction by item, department, region, channel and month.
//! - [`report`]: the upstream report (HTTP, signed, retried by the job queue, idempotent).
//! - [`sweep`]: the hourly job; `staff_notice`: the department's staff told of a new 差评 task
//!   or complaint (a job).
//! - [`attachments`]: files with complaints, answers to 差评 and appeals.
//! - [`complaints`]: 投诉 — made by anyone, routed, answered within working days or escalated,
//!   published without personal data.

pub mod appeal;
pub mod attachments;
pub mod complaints;
mod error;
pub mod evaluate;
mod ids;
pub mod invite;
pub mod model;
mod notify;
pub mod rectify;
pub mod report;
mod staff_notice;
pub mod stats;
pub mod sweep;

pub use error::FeedbackError;
pub use ids::{AppealId, EvaluationId, RectificationId};
pub use model::{Channel, Evaluation, Level, Rating};

use govhall_cases::Cases;
use govhall_core::Secret;
use govhall_db::Db;
use govhall_db::jobs::JobRegistry;
use govhall_identity::Identity;
use govhall_messaging::Messaging;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The 好差评 part of the configuration (`[feedback]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedbackSettings {
    /// Days after a case ends during which it can be rated.
    pub rate_days: u32,
    /// Days after an evaluation during which it can be changed (once).
    pub change_days: u32,
    /// Days after the first invitation when a second goes out, if still unrated (0: none).
    pub remind_days: u32,
    /// Working days a department has to answer a 差评.
    pub rectify_working_days: u32,
    /// Where a province counts a case left unrated as rated: the level recorded when the rating
    /// period ends (0: off, the default). Such ratings are kept and shown apart.
    pub default_level: u8,
    /// The upstream 好差评 system's address for reports; empty: nothing is reported.
    pub upstream_url: String,
    /// The HMAC-SM3 key shared with the upstream system.
    pub upstream_secret: Secret,
    /// This hall's code at the upstream system.
    pub upstream_source: String,
    /// Working days a department has to accept or reject a complaint.
    pub complaint_accept_working_days: u32,
    /// Working days a department has to answer a complaint it accepted (or that was reopened).
    pub complaint_answer_working_days: u32,
    /// Days after the answer during which the complainant may have it handled again.
    pub complaint_reopen_days: u32,
}

impl Default for FeedbackSettings {
    fn default() -> Self {
        FeedbackSettings {
            rate_days: 30,
            change_days: 7,
            remind_days: 3,
            rectify_working_days: 5,
            default_level: 0,
            upstream_url: String::new(),
            upstream_secret: Secret::new(""),
            upstream_source: "GOVHALL".into(),
            complaint_accept_working_days: 2,
            complaint_answer_working_days: 15,
            complaint_reopen_days: 10,
        }
    }
}

impl FeedbackSettings {
    /// Checks the settings; the error says what is wrong.
    pub fn check(&self) -> Result<(), FeedbackError> {
        let bad = |what: &str| Err(FeedbackError::Invalid(format!("配置 [feedback] 有误：{what}")));
        if !(1..=365).contains(&self.rate_days) {
            return bad("rate_days 应为 1 到 365");
        }
        if self.change_days > self.rate_days {
            return bad("change_days 不能超过 rate_days");
        }
        if !(1..=60).contains(&self.rectify_working_days) {
            return bad("rectify_working_days 应为 1 到 60");
        }
        if self.default_level > 5 {
            return bad("default_level 应为 0（不默认评价）或 1 到 5");
        }
        if !(1..=30).contains(&self.complaint_accept_working_days)
            || !(1..=90).contains(&self.complaint_answer_working_days)
            || !(1..=90).contains(&self.complaint_reopen_days)
        {
            return bad(
                "complaint_accept_working_days 应为 1 到 30，complaint_answer_working_days 和 complaint_reopen_days 应为 1 到 90",
            );
        }
        if !self.upstream_url.trim().is_empty() && self.upstream_secret.is_empty() {
            return bad("设置了 upstream_url 就必须设置 upstream_secret");
        }
        if self.upstream_source.is_empty() || self.upstream_source.len() > 32 {
            return bad("upstream_source 应为 1 到 32 个字符");
        }
        Ok(())
    }
}

/// What 好差评 works with.
#[derive(Debug, Clone)]
pub struct Services {
    /// Accounts, keys and access.
    pub identity: Arc<Identity>,
    /// The message center.
    pub messaging: Messaging,
    /// The case engine.
    pub cases: Cases,
}

/// 好差评 over one database.
#[derive(Debug, Clone)]
pub struct Feedback(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    db: Db,
    services: Services,
    settings: FeedbackSettings,
    http: reqwest::Client,
    public_url: String,
}

impl Feedback {
    /// 好差评 with `settings`; `public_url` is the hall's address (for the links in invitations).
    pub fn new(
        db: Db,
        services: Services,
        settings: FeedbackSettings,
        public_url: &str,
    ) -> Result<Feedback, FeedbackError> {
        settings.check()?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| FeedbackError::Internal(e.to_string()))?;
        let public_url = public_url.trim_end_matches('/').to_owned();
        Ok(Feedback(Arc::new(Inner { db, services, settings, http, public_url })))
    }

    /// Installs the message templates 好差评 sends (never over an edited one).
    pub async fn prepare(&self) -> Result<(), FeedbackError> {
        notify::install_templates(&self.0.db).await
    }

    /// Registers the jobs: the invitation when a case ends, the upstream report, the sweep.
    pub fn register_jobs(&self, registry: &mut JobRegistry) {
        invite::register(self, registry);
        report::register(self, registry);
        staff_notice::register(self, registry);
        sweep::register(self.clone(), registry);
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    /// The settings.
    pub fn settings(&self) -> &FeedbackSettings {
        &self.0.settings
    }

    pub(crate) fn identity(&self) -> &Identity {
        &self.0.services.identity
    }

    pub(crate) fn messaging(&self) -> &Messaging {
        &self.0.services.messaging
    }

    pub(crate) fn cases(&self) -> &Cases {
        &self.0.services.cases
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.0.http
    }

    pub(crate) fn public_url(&self) -> &str {
        &self.0.public_url
    }
}
