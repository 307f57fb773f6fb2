//! Submission (提交申报): a case is created with its serial number and query password in one
//! transaction; the password is returned once and kept only as a hash.

use crate::ids::{CaseEventId, CaseId};
use crate::model::{ActorKind, SubmittedMaterial};
use crate::{CaseError, Cases, deadline, notify, password, payment_due, serials, store, submitted};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::SerialPrefix;
use govhall_core::clock::china_date;
use govhall_db::{Tx, exec, sqlx};
use govhall_identity::crypto::sm3_hex;
use govhall_identity::{AccountId, EnterpriseId};

/// The issuer name of numbers the hall gives its own cases.
pub const HALL_ISSUER: &str = "govhall";

/// What an applicant submits.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The item's code (its published version is used).
    pub item_code: String,
    /// Who applies.
    pub applicant: AccountId,
    /// The enterprise they apply for, if any (they must be an active member).
    pub enterprise: Option<EnterpriseId>,
    /// The filled form.
    pub form: serde_json::Value,
    /// The materials given.
    pub materials: Vec<SubmittedMaterial>,
    /// The same key again (a double click, a retried request) gives the same case.
    pub idempotency_key: String,
}

/// A submitted case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// The case.
    pub case_id: CaseId,
    /// Its serial number.
    pub serial_number: String,
    /// The query password: only the first time; a repeated submission gets `None`.
    pub query_password: Option<String>,
}

struct Applicant {
    name: String,
    number: String,
    phone: String,
    label: String,
}

impl Cases {
    async fn applicant(&self, s: &Submission) -> Result<Applicant, CaseError> {
        let account = self.identity().account(s.applicant).await?;
        let label = account.audit_label();
        let phone = account.phone.as_str().to_owned();
        match s.enterprise {
            None => {
                let number = account.id_number.as_ref().map(|n| n.as_str().to_owned()).ok_or_else(|| {
                    CaseError::ItemUnavailable("请先在“我的账户”中完成实名认证（身份证号码）后再申报".into())
                })?;
                Ok(Applicant { name: account.real_name, number, phone, label })
            }
            Some(enterprise) => {
                let m = self.identity().membership(enterprise, s.applicant).await?;
                let m = m
                    .filter(|m| m.status == "active")
                    .ok_or_else(|| CaseError::Forbidden("您不是该企业的在册经办人，不能以企业名义申报".into()))?;
                Ok(Applicant { name: m.enterprise_name, number: m.credit_code, phone, label })
            }
        }
    }

    /// Creates the case of a submission: issues the serial number and query password, starts
    /// the item's workflow, records and audits the step and tells the applicant.
    pub async fn submit(&self, s: Submission) -> Result<Submitted, CaseError> {
        let guide = self
            .catalog()
            .guide(&s.item_code)
            .await
            .map_err(|e| CaseError::Internal(e.to_string()))?
            .ok_or_else(|| CaseError::ItemUnavailable(format!("事项“{}”不存在或已停止办理", s.item_code)))?;
        if !guide.content.online_apply {
            return Err(CaseError::ItemUnavailable(format!("“{}”暂不支持网上申报，请到窗口办理", guide.item.name)));
        }
        let applicant = self.applicant(&s).await?;
        let workflow = self.workflow_for(&s.item_code, &guide.content).await?;
        let nature: u8 = guide.content.nature_code.parse().unwrap_or(11);
        let prefix = SerialPrefix::new(&guide.item.region_code, self.settings().service_number, nature)?;
        let query_password = password::generate();
        let limit = deadline::applicable_limit(guide.content.promised_limit, guide.content.statutory_limit);
        let keys = self.identity().keys();
        let now = self.db().now();
        let today = china_date(now);
        let first = workflow.first().clone();
        let step_due = first.deadline_days.map(|d| self.calendar().add_working_days(today, d));
        let form = serde_json::to_string(&s.form).map_err(|e| CaseError::InvalidInput(e.to_string()))?;
        let materials = serde_json::to_string(&s.materials).map_err(|e| CaseError::InvalidInput(e.to_string()))?;

        // The applicant's key, for this item: nobody else's submission can collide with it.
        if s.idempotency_key.is_empty() || s.idempotency_key.len() > 200 {
            return Err(CaseError::InvalidInput("提交标识（idempotency_key）应为 1 到 200 个字符".into()));
        }
        let key = format!(
            "case:{}",
            sm3_hex(format!("{}:{}:{}", s.applicant.as_uuid(), s.item_code, s.idempotency_key).as_bytes())
        );
        let mut tx = self.db().begin().await?;
        let serial = serials::issue_in(&mut tx, prefix, HALL_ISSUER, Some(&key)).await?.to_string();
        if let Some(existing) = store::row_by_serial(&mut tx, &serial).await? {
            tx.rollback().await?;
            return Ok(Submitted {
                case_id: CaseId::from_uuid(existing.id),
                serial_number: serial,
                query_password: None,
            });
        }
        let id = CaseId::new();
        let hash = password::hash(keys, &serial, &query_password);
        let sealed = (keys.encrypt(&applicant.number), keys.encrypt(&applicant.phone), keys.encrypt(&form));
        let row = store::NewCaseRow {
            id,
            serial: &serial,
            password_hash: &hash,
            guide: &guide,
            applicant: Some(s.applicant),
            enterprise: s.enterprise,
            applicant_name: &applicant.name,
            sealed,
            materials: &materials,
            workflow: &workflow,
            limit,
            step_due,
            channel: crate::model::Channel::Online,
            applicant_key: None,
        };
        store::insert_case(&mut tx, row).await?;
        let event = record_event(
            &mut tx,
            id,
            ("submit", "提交申请"),
            (None, &first.code),
            (ActorKind::Applicant, Some(s.applicant), "申请人"),
            "",
            &[],
        )
        .await?;
        let actor = Actor { id: Some(s.applicant), label: applicant.label, client_ip: String::new() };
        audit::record(&mut tx, &actor, Event::success("case.submit", "case", &serial).detail(&guide.item.name)).await?;
        if let Some(fees) = first.fees_due() {
            payment_due::enqueue(&mut tx, id, &first.code, fees).await?;
        }
        submitted::enqueue(&mut tx, id).await?;
        let row = store::row_by_id(&mut tx, id).await?.ok_or(CaseError::NotFound)?;
        let told = if first.fees_due().is_some() {
            "已提交，请缴费，缴款单稍后发送给您"
        } else {
            "已提交，等待收件"
        };
        let told = notify::Told { event_id: event, event: told, step: &first.name, note: "" };
        notify::applicant(&mut tx, self.messaging(), keys, &row, told).await?;
        tx.commit().await?;
        Ok(Submitted { case_id: id, serial_number: serial, query_password: Some(query_password) })
    }
}

/// Adds an entry to a case's history, numbered after its last one (the first entry of a new case
/// is 1; a move updates the case's row first, which keeps two moves from numbering at once).
pub(crate) async fn record_event(
    tx: &mut Tx,
    case: CaseId,
    (action, label): (&str, &str),
    (from, to): (Option<&str>, &str),
    (kind, actor_id, actor_name): (ActorKind, Option<AccountId>, &str),
    note: &str,
    requested: &[String],
) -> Result<CaseEventId, CaseError> {
    let id = CaseEventId::new();
    let now = tx.db().now();
    let requested = serde_json::to_string(requested).unwrap_or_else(|_| "[]".into());
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO case_events (id, case_id, seq, action, label, from_step, to_step, actor_kind, actor_id,
                actor_name, note, at, requested)
             SELECT $1, $2, COALESCE(MAX(seq), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
             FROM case_events WHERE case_id = $2"
        )
        .bind(id.as_uuid())
        .bind(case.as_uuid())
        .bind(action)
        .bind(label)
        .bind(from)
        .bind(to)
        .bind(kind.as_str())
        .bind(actor_id.map(|a| a.as_uuid()))
        .bind(actor_name)
        .bind(note)
        .bind(now)
        .bind(requested)
    )?;
    Ok(id)
}
