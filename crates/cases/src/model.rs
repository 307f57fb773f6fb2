//! What a case is, as stored and as shown.

use crate::deadline::Warning;
use crate::ids::{AccountId, CaseEventId, CaseFileId, CaseId, DepartmentId, EnterpriseId};
use crate::workflow::{Step, StepActor, Workflow};
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
    pub applicant_id: Option<Uuid>,
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
    pub channel: String,
}

pub(crate) const CASE_COLUMNS: &str = "c.id, c.serial_number, c.item_code, \
    c.item_version, c.item_name, c.department_id, d.name AS department_name, c.region_code, c.applicant_id, \
    c.enterprise_id, c.applicant_name, c.applicant_number_enc, c.contact_phone_enc, c.form_enc, c.materials, \
    c.workflow, c.step, c.back_step, c.is_open, c.outcome, c.limit_unit, c.limit_amount, c.accepted_on, c.due_on, \
    c.paused_on, c.days_left, c.step_due_on, c.warning, c.escalated_at, c.assignee_id, a.real_name AS assignee_name, \
    c.submitted_at, c.updated_at, c.decided_at, c.closed_at, c.revision, c.channel";

pub(crate) const CASE_FROM: &str =
    "FROM cases c JOIN departments d ON d.id = c.department_id LEFT JOIN accounts a ON a.id = c.assignee_id";

/// A case as the workbench and the applicant see it (personal data kept out: see
/// [`crate::Cases::personal_data`]).
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    /// Id.
    pub id: CaseId,
    /// The unified serial number.
    pub serial_number: String,
    /// The item's code, version and name at submission.
    pub item_code: String,
    /// The item version the case was submitted under.
    pub item_version: i32,
    /// The item's name.
    pub item_name: String,
    /// The handling department.
    pub department_id: DepartmentId,
    /// Its name.
    pub department_name: String,
    /// Its region's division code.
    pub region_code: String,
    /// The applicant's account; `None` for a person without one (a case started at a counter or
    /// in a department's own system, until they sign up: [`crate::Cases::join_to_account`]).
    pub applicant_id: Option<AccountId>,
    /// The enterprise applied for, if any.
    pub enterprise_id: Option<EnterpriseId>,
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
    pub assignee_id: Option<AccountId>,
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
    /// Where it was started.
    pub channel: Channel,
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

    /// Whether the case waits for the applicant (补齐补正 in the standard workflow): it is open
    /// and its current step is the applicant's.
    pub fn awaits_applicant(&self) -> bool {
        self.is_open && self.current().is_some_and(|s| s.actor == StepActor::Applicant)
    }

    /// Whether the case waits for a payment (待缴费).
    pub fn awaits_payment(&self) -> bool {
        self.is_open && self.current().is_some_and(|s| s.actor == StepActor::Payment)
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

/// Where a case was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Online, by the applicant (网上申报).
    Online,
    /// At a hall's window, by its staff (现场申报).
    Counter,
    /// In a department's own system, registered with the hall by that system.
    Department,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Counter => "counter",
            Channel::Department => "department",
        }
    }

    /// The stored name read back (an unknown one reads as online).
    pub fn parse(name: &str) -> Channel {
        match name {
            "counter" => Channel::Counter,
            "department" => Channel::Department,
            _ => Channel::Online,
        }
    }

    /// Its name in Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Online => "网上申报",
            Channel::Counter => "窗口申报",
            Channel::Department => "部门系统受理",
        }
    }
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
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Applicant => "applicant",
            ActorKind::Staff => "staff",
            ActorKind::System => "system",
        }
    }

    /// Its Chinese name, as the applicant's timeline shows it.
    pub fn label(self) -> &'static str {
        match self {
            ActorKind::Applicant => "申请人",
            ActorKind::Staff => "工作人员",
            ActorKind::System => "系统",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<ActorKind> {
        [ActorKind::Applicant, ActorKind::Staff, ActorKind::System].into_iter().find(|k| k.as_str() == s)
    }
}

/// One entry of a case's history.
#[derive(Debug, Clone, Serialize)]
pub struct CaseEvent {
    /// Id.
    pub id: CaseEventId,
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
    /// Who acted.
    pub actor_kind: ActorKind,
    /// The account, if any.
    #[serde(skip)]
    pub actor_id: Option<AccountId>,
    /// Who, by name (staff), or 申请人 / 系统.
    pub actor_name: String,
    /// The note.
    pub note: String,
    /// The materials a request for more (补齐补正) asks for; empty otherwise.
    pub requested: Vec<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A history row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CaseEventRow {
    pub id: Uuid,
    pub seq: i32,
    pub action: String,
    pub label: String,
    pub from_step: Option<String>,
    pub to_step: String,
    pub actor_kind: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub note: String,
    pub requested: String,
    pub at: DateTime<Utc>,
}

impl From<CaseEventRow> for CaseEvent {
    fn from(r: CaseEventRow) -> Self {
        CaseEvent {
            id: CaseEventId::from_uuid(r.id),
            seq: r.seq,
            action: r.action,
            label: r.label,
            from_step: r.from_step,
            to_step: r.to_step,
            // Written only by the engine; anything else reads as GovHall itself.
            actor_kind: ActorKind::parse(&r.actor_kind).unwrap_or(ActorKind::System),
            actor_id: r.actor_id.map(AccountId::from_uuid),
            actor_name: r.actor_name,
            note: r.note,
            requested: serde_json::from_str(&r.requested).unwrap_or_default(),
            at: r.at,
        }
    }
}

/// What a file attached to a transition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A working attachment (a notice): staff only.
    Attachment,
    /// The result document (决定书, 证照): the applicant gets it too.
    Result,
}

impl FileKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Attachment => "attachment",
            FileKind::Result => "result",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Attachment => "附件",
            FileKind::Result => "办理结果文书",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<FileKind> {
        [FileKind::Attachment, FileKind::Result].into_iter().find(|k| k.as_str() == s)
    }
}

/// A file attached to a transition (a result document, a notice).
#[derive(Debug, Clone, Serialize)]
pub struct CaseFile {
    /// Id.
    pub id: CaseFileId,
    /// The transition it came with.
    pub event_id: CaseEventId,
    /// An attachment or a result document.
    pub kind: FileKind,
    /// The requested material it was given for (an applicant's supplement); empty otherwise.
    pub material: String,
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

/// A file row as stored (without its content).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CaseFileRow {
    pub id: Uuid,
    pub event_id: Uuid,
    pub kind: String,
    pub material: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

impl From<CaseFileRow> for CaseFile {
    fn from(r: CaseFileRow) -> Self {
        CaseFile {
            id: CaseFileId::from_uuid(r.id),
            event_id: CaseEventId::from_uuid(r.event_id),
            // Anything but a result document stays with staff.
            kind: FileKind::parse(&r.kind).unwrap_or(FileKind::Attachment),
            material: r.material,
            file_name: r.file_name,
            content_type: r.content_type,
            size: r.size,
            sha256: r.sha256,
            created_at: r.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_their_stored_names() {
        for k in [ActorKind::Applicant, ActorKind::Staff, ActorKind::System] {
            assert_eq!(ActorKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for k in [FileKind::Attachment, FileKind::Result] {
            assert_eq!(FileKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for o in [Outcome::Granted, Outcome::Refused, Outcome::Rejected, Outcome::Withdrawn] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(ActorKind::parse("robot"), None);
        assert_eq!(ActorKind::Staff.label(), "工作人员");
    }
}
