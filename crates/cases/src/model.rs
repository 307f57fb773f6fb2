//! What a case is, as stored and as shown.

use crate::deadline::Warning;
use crate::workflow::{Step, Workflow};
use chrono::{DateTime, NaiveDate, Utc};
use govhall_catalog::model::{LimitUnit, TimeLimit};
use serde::Serialize;
use uuid::Uuid;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 准予.
    Granted,
    /// 不予.
    Refused,
    /// 不予受理.
    Rejected,
    /// 撤回.
    Withdrawn,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Granted => "granted",
            Outcome::Refused => "refused",
            Outcome::Rejected => "rejected",
            Outcome::Withdrawn => "withdrawn",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Granted => "准予",
            Outcome::Refused => "不予",
            Outcome::Rejected => "不予受理",
            Outcome::Withdrawn => "申请人撤回",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Granted, Outcome::Refused, Outcome::Rejected, Outcome::Withdrawn]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// A case row (personal data still sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CaseRow {
    pub id: Uuid,
    pub serial_number: String,
    pub item_code: String,
    pub item_version: i32,
    pub item_name: String,
    pub department_id: Uuid,
    pub department_name: String,
    pub region_code: String,
    pub applicant_id: Uuid,
    pub enterprise_id: Option<Uuid>,
    pub applicant_name: String,
    pub applicant_number_enc: String,
    pub contact_phone_enc: String,
    pub form_enc: String,
    pub materials: String,
    pub workflow: String,
    pub step: String,
    pub back_step: Option<String>,
    pub is_open: bool,
    pub outcome: Option<String>,
    pub limit_unit: String,
    pub limit_amount: i32,
    pub accepted_on: Option<NaiveDate>,
    pub due_on: Option<NaiveDate>,
    pub paused_on: Option<NaiveDate>,
    pub days_left: Option<i32>,
    pub step_due_on: Option<NaiveDate>,
    pub warning: String,
    pub escalated_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub revision: i32,
}

pub(crate) const CASE_COLUMNS: &str = "c.id, c.serial_number, c.item_code, \
    c.item_version, c.item_name, c.department_id, d.name AS department_name, c.region_code, c.applicant_id, \
    c.enterprise_id, c.applicant_name, c.applicant_number_enc, c.contact_phone_enc, c.form_enc, c.materials, \
    c.workflow, c.step, c.back_step, c.is_open, c.outcome, c.limit_unit, c.limit_amount, c.accepted_on, c.due_on, \
    c.paused_on, c.days_left, c.step_due_on, c.warning, c.escalated_at, c.assignee_id, a.real_name AS assignee_name, \
    c.submitted_at, c.updated_at, c.decided_at, c.closed_at, c.revision";

pub(crate) const CASE_FROM: &str =
    "FROM cases c JOIN departments d ON d.id = c.department_id LEFT JOIN accounts a ON a.id = c.assignee_id";

/// A case as the workbench and the applicant see it (personal data kept out: see
/// [`crate::Cases::personal_data`]).
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    /// Id.
    pub id: Uuid,
    /// The unified serial number.
    pub serial_number: String,
    /// The item's code, version and name at submission.
    pub item_code: String,
    /// The item version the case was submitted under.
    pub item_version: i32,
    /// The item's name.
    pub item_name: String,
    /// The handling department.
    pub department_id: Uuid,
    /// Its name.
    pub department_name: String,
    /// Its region's division code.
    pub region_code: String,
    /// The applicant's account.
    pub applicant_id: Uuid,
    /// The enterprise applied for, if any.
    pub enterprise_id: Option<Uuid>,
    /// The applicant's name masked (张*; enterprises in full).
    pub applicant_masked: String,
    /// The workflow the case follows.
    #[serde(skip)]
    pub workflow: Workflow,
    /// The current step's code.
    pub step: String,
    /// The current step's name.
    pub step_name: String,
    /// Where 补齐补正 returns to.
    #[serde(skip)]
    pub back_step: Option<String>,
    /// Whether it is still being handled.
    pub is_open: bool,
    /// How it ended.
    pub outcome: Option<Outcome>,
    /// The limit it runs against.
    pub limit: TimeLimit,
    /// When it was accepted (受理).
    pub accepted_on: Option<NaiveDate>,
    /// Its due date while the clock runs.
    pub due_on: Option<NaiveDate>,
    /// Since when the clock stands still (补齐补正).
    pub paused_on: Option<NaiveDate>,
    /// Days left while paused.
    pub days_left: Option<i32>,
    /// The current step's own deadline.
    pub step_due_on: Option<NaiveDate>,
    /// The warning light.
    pub warning: Warning,
    /// When it was escalated to the supervisors.
    pub escalated_at: Option<DateTime<Utc>>,
    /// The staff member handling it.
    pub assignee_id: Option<Uuid>,
    /// Their name.
    pub assignee_name: Option<String>,
    /// Submitted.
    pub submitted_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Decided (办结).
    pub decided_at: Option<DateTime<Utc>>,
    /// Ended.
    pub closed_at: Option<DateTime<Utc>>,
    /// Changes so far (for refusing a stale form).
    pub revision: i32,
    /// The materials as submitted.
    pub materials: Vec<SubmittedMaterial>,
}

impl Case {
    /// The current step.
    pub fn current(&self) -> Option<&Step> {
        self.workflow.step(&self.step)
    }

    /// The limit as people read it.
    pub fn limit_label(&self) -> String {
        self.limit.label()
    }
}

pub(crate) fn unit_from(s: &str) -> LimitUnit {
    match s {
        "immediate" => LimitUnit::Immediate,
        "working_days" => LimitUnit::WorkingDays,
        "natural_days" => LimitUnit::NaturalDays,
        _ => LimitUnit::None,
    }
}

pub(crate) fn unit_name(u: LimitUnit) -> &'static str {
    match u {
        LimitUnit::None => "none",
        LimitUnit::Immediate => "immediate",
        LimitUnit::WorkingDays => "working_days",
        LimitUnit::NaturalDays => "natural_days",
    }
}

/// Masks a person's name (张三 → 张*); enterprise names stay whole.
pub fn mask_name(name: &str, enterprise: bool) -> String {
    if enterprise {
        return name.to_owned();
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

/// A material as submitted with the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SubmittedMaterial {
    /// The material's name in the guide.
    pub name: String,
    /// The files given for it (names), or how it was given (电子证照, 纸质).
    pub files: Vec<String>,
}

/// Who moved a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// The applicant.
    Applicant,
    /// Department staff.
    Staff,
    /// GovHall itself.
    System,
}

impl ActorKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ActorKind::Applicant => "applicant",
            ActorKind::Staff => "staff",
            ActorKind::System => "system",
        }
    }
}

/// One entry of a case's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CaseEvent {
    /// Id.
    pub id: Uuid,
    /// Order within the case.
    pub seq: i32,
    /// The action's code (`submit`, `accept` …).
    pub action: String,
    /// What it is called (受理).
    pub label: String,
    /// From this step.
    pub from_step: Option<String>,
    /// To this step.
    pub to_step: String,
    /// `applicant`, `staff`, `system`.
    pub actor_kind: String,
    /// The account, if any.
    #[serde(skip)]
    pub actor_id: Option<Uuid>,
    /// Who, by name (staff), or 申请人 / 系统.
    pub actor_name: String,
    /// The note.
    pub note: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A file attached to a transition (a result document, a notice).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CaseFile {
    /// Id.
    pub id: Uuid,
    /// The transition it came with.
    pub event_id: Uuid,
    /// `attachment` or `result`.
    pub kind: String,
    /// Its name.
    pub file_name: String,
    /// Its type.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256, hex.
    pub sha256: String,
    /// When.
    pub created_at: DateTime<Utc>,
}
