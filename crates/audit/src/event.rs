//! What a domain records: who acted, what they did to which record, how it ended.

use govhall_core::ids::AccountId;
use serde::Serialize;

/// Who acts, and from where.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The account, if signed in.
    pub id: Option<AccountId>,
    /// How to name them in the log (a name, never an ID or mobile number in full).
    pub label: String,
    /// The client's address.
    pub client_ip: String,
}

impl Actor {
    /// The system itself (imports, the command line).
    pub fn system(label: &str) -> Actor {
        Actor { id: None, label: label.to_owned(), client_ip: String::new() }
    }
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done.
    Success,
    /// Tried and failed (a wrong password).
    Failure,
    /// Refused for want of permission.
    Denied,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Success => "成功",
            Outcome::Failure => "失败",
            Outcome::Denied => "拒绝",
        }
    }
}

/// One thing to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What was done (`login`, `grant.create`, `person.view_personal_data` …).
    pub action: &'a str,
    /// The kind of record it was done to (`account`, `department` …), or empty.
    pub target_kind: &'a str,
    /// Which record, or empty.
    pub target_id: String,
    /// How it ended.
    pub outcome: Outcome,
    /// A short note (no personal data).
    pub detail: String,
}

impl<'a> Event<'a> {
    /// A successful `action` on a record.
    pub fn success(action: &'a str, target_kind: &'a str, target_id: impl ToString) -> Self {
        Event {
            action,
            target_kind,
            target_id: target_id.to_string(),
            outcome: Outcome::Success,
            detail: String::new(),
        }
    }

    /// The same with another outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The same with a note.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}
