//! Issuing a licence (签发): when a case is granted the case engine enqueues
//! [`govhall_cases::granted::JOB`]; if the item's grant issues a licence type, this takes the
//! holder from the case (the enterprise it was submitted for, or the applicant by resident ID
//! number), the fields from the application's answers and the case, draws the licence number,
//! signs the canonical form with the hall's SM2 licence key, and in one transaction writes the
//! licence, tells the holder, audits and completes the job. A case issues one licence, however
//! often the job runs. When the answers lack a required field the job is parked and the
//! failure audited, so that staff see why no licence came.

use crate::model::{FieldSpec, HolderKind, Licence, LicenceType, mask_number};
use crate::signing::{Canonical, FORMAT};
use crate::{LicenceError, LicenceId, Licences, identifier, notify};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use govhall_audit::{self as audit, Actor, Event, Outcome};
use govhall_cases::granted::{Granted, JOB};
use govhall_cases::model::mask_name;
use govhall_cases::{Case, CaseId};
use govhall_core::clock::china_date;
use govhall_db::jobs::{JobContext, JobError, JobRegistry};
use govhall_db::{Tx, exec, run, sqlx};
use serde_json::{Map, Value};
use uuid::Uuid;

pub(crate) fn register(l: &Licences, registry: &mut JobRegistry) {
    let licences = l.clone();
    registry.register(JOB, move |ctx: JobContext| {
        let licences = licences.clone();
        async move {
            let granted: Granted = ctx.payload()?;
            match licences.issue_for_case(granted.case, Some(&ctx)).await {
                Ok(_) => Ok(()),
                Err(e @ (LicenceError::Invalid(_) | LicenceError::NotFound | LicenceError::Case(_))) => {
                    licences.audit_failure(granted.case, &e).await;
                    Err(JobError::permanent(e))
                }
                Err(e) => Err(JobError::retry(e)),
            }
        }
    });
}

/// Who a licence is issued to.
#[derive(Debug, Clone)]
pub struct Holder {
    /// Person or enterprise.
    pub kind: HolderKind,
    /// Name.
    pub name: String,
    /// Resident ID number or unified social credit code.
    pub number: String,
    /// The account told (a person's own; for an enterprise, who applied).
    pub account: Option<Uuid>,
    /// The enterprise.
    pub enterprise: Option<Uuid>,
}

/// A licence to issue.
#[derive(Debug, Clone)]
pub struct NewLicence {
    /// Who holds it.
    pub holder: Holder,
    /// Key, label, value.
    pub fields: Vec<(String, String, String)>,
    /// First day valid.
    pub valid_from: NaiveDate,
    /// The case that issued it.
    pub case: Option<CaseId>,
    /// A licence issued before GovHall (imported): its number and last day; `None` draws the
    /// number now and reckons the last day from the type.
    pub existing: Option<Existing>,
}

/// What an imported licence already has.
#[derive(Debug, Clone)]
pub struct Existing {
    /// 证照编号 as issued.
    pub number: String,
    /// Its last day (`None`: 长期有效).
    pub valid_until: Option<NaiveDate>,
}

/// The last day of a licence valid `years` from `from`.
pub fn valid_until(from: NaiveDate, years: Option<i32>) -> Option<NaiveDate> {
    let months = u32::try_from(years?).ok()?.checked_mul(12)?;
    from.checked_add_months(Months::new(months)).and_then(|d| d.pred_opt())
}

/// An answer as a licence shows it.
pub(crate) fn answer_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Value::Array(items) => items.iter().filter_map(answer_text).collect::<Vec<_>>().join("、"),
        Value::Null | Value::Object(_) => String::new(),
    };
    let text: String = govhall_core::text::clean(&text).chars().take(500).collect();
    (!text.trim().is_empty()).then_some(text)
}

/// The fields of a licence of type `ty` for `case` with `answers` (by the fields' `from`), and
/// the labels of the required ones the answers lack.
pub(crate) fn fields_from<'t>(
    ty: &'t LicenceType,
    case: &Case,
    decided: NaiveDate,
    answers: &Map<String, Value>,
) -> (Vec<(String, String, String)>, Vec<&'t str>) {
    let mut fields = Vec::new();
    let mut missing = Vec::new();
    for FieldSpec { key, label, from, required } in &ty.fields {
        match case_value(from, case, decided).or_else(|| answers.get(from).and_then(answer_text)) {
            Some(v) => fields.push((key.clone(), label.clone(), v)),
            None if *required => missing.push(label.as_str()),
            None => {}
        }
    }
    (fields, missing)
}

/// The value of a field taken from the case (`@serial_number` …), if it is one.
pub(crate) fn case_value(from: &str, case: &Case, decided: NaiveDate) -> Option<String> {
    match from {
        "@serial_number" => Some(case.serial_number.clone()),
        "@item_name" => Some(case.item_name.clone()),
        "@decided_on" => Some(decided.to_string()),
        _ => None,
    }
}

/// The fields of a licence of type `ty` for `case` from the application's `answers`; the error
/// names the required fields the answers lack.
pub fn fill(
    ty: &LicenceType,
    case: &Case,
    decided: NaiveDate,
    answers: &Map<String, Value>,
) -> Result<Vec<(String, String, String)>, LicenceError> {
    let (fields, missing) = fields_from(ty, case, decided, answers);
    if !missing.is_empty() {
        return Err(LicenceError::Invalid(format!(
            "办件 {} 的申请材料缺少签发{}所需的：{}",
            case.serial_number,
            ty.name,
            missing.join("、")
        )));
    }
    Ok(fields)
}

impl Licences {
    /// Issues the licence a granted case earns, if its item issues one (the job's work).
    pub async fn issue_for_case(&self, id: CaseId, job: Option<&JobContext>) -> Result<Option<Licence>, LicenceError> {
        let (case, answers) = self.cases().for_reckoning(id).await?;
        let mut conn = self.db().conn().await?;
        let ty = self.type_for_item(&mut conn, &case.item_code).await?;
        let existing: Option<Uuid> = run!(conn, |c| sqlx::query_scalar("SELECT id FROM licences WHERE case_id = $1")
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        drop(conn);
        let (Some(ty), None) = (ty, existing) else {
            if let Some(ctx) = job {
                let mut tx = self.db().begin().await?;
                ctx.complete_in(&mut tx).await?;
                tx.commit().await?;
            }
            return Ok(None);
        };
        let holder = self.holder_of(&case, ty.holder_kind).await?;
        let today = china_date(self.db().now());
        let fields = fill(&ty, &case, today, &answers)?;
        let phone = match case.applicant_id {
            Some(a) => self.identity().account(a).await.ok().map(|a| a.phone),
            None => None,
        };
        let new = NewLicence { holder, fields, valid_from: today, case: Some(case.id), existing: None };
        let mut tx = self.db().begin().await?;
        let licence = self.issue_in(&mut tx, &ty, new, &Actor::system("电子证照")).await?;
        if let (Some(licence), Some(account)) = (&licence, licence.as_ref().and_then(|l| l.account_id)) {
            let extra = serde_json::json!({ "serial": case.serial_number });
            notify::tell(&mut tx, self.messaging(), notify::ISSUED, licence, account, phone.as_ref(), extra).await?;
        }
        if let Some(ctx) = job {
            ctx.complete_in(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(licence)
    }

    /// The holder of a licence of `kind` for `case`.
    pub(crate) async fn holder_of(&self, case: &Case, kind: HolderKind) -> Result<Holder, LicenceError> {
        match (kind, case.enterprise_id) {
            (HolderKind::Enterprise, Some(enterprise)) => {
                let e = self.identity().enterprise(enterprise).await?;
                Ok(Holder {
                    kind,
                    name: e.name,
                    number: e.credit_code,
                    account: case.applicant_id.map(|a| a.as_uuid()),
                    enterprise: Some(e.id),
                })
            }
            (HolderKind::Enterprise, None) => Err(LicenceError::Invalid(format!(
                "办件 {} 不是以企业名义申请的，不能签发企业证照",
                case.serial_number
            ))),
            (HolderKind::Person, _) => {
                let Some(account) = case.applicant_id else {
                    // A person without an account: the name and number the case registered.
                    let (name, number) = self.cases().registered_applicant(case.id).await?;
                    return Ok(Holder { kind, name, number, account: None, enterprise: None });
                };
                let a = self.identity().account(account).await?;
                let number = a.id_number.ok_or_else(|| {
                    LicenceError::Invalid(format!(
                        "办件 {} 的申请人未登记身份证号码，不能签发个人证照",
                        case.serial_number
                    ))
                })?;
                Ok(Holder {
                    kind,
                    name: a.real_name,
                    number: number.as_str().to_owned(),
                    account: Some(a.id.as_uuid()),
                    enterprise: None,
                })
            }
        }
    }

    /// Writes and signs a licence of `ty` in `tx`; `None` when the case has one already.
    pub(crate) async fn issue_in(
        &self,
        tx: &mut Tx,
        ty: &LicenceType,
        new: NewLicence,
        actor: &Actor,
    ) -> Result<Option<Licence>, LicenceError> {
        let now: DateTime<Utc> = tx.db().now();
        let (number, valid_to) = match &new.existing {
            Some(e) => (e.number.clone(), e.valid_until),
            None => {
                let year = new.valid_from.year();
                let seq: i64 = run!(tx, |c| sqlx::query_scalar(
                    "INSERT INTO licence_counters (type_code, year, last) VALUES ($1, $2, 1)
                     ON CONFLICT (type_code, year) DO UPDATE SET last = licence_counters.last + 1
                     RETURNING last"
                )
                .bind(&ty.code)
                .bind(year)
                .fetch_one(&mut *c)
                .await)?;
                (format!("{year}{seq:06}"), valid_until(new.valid_from, ty.valid_years))
            }
        };
        let id = LicenceId::new();
        let canonical = Canonical {
            format: FORMAT,
            identifier: identifier::make(&ty.code, &ty.issuer_code, &number, 1),
            type_code: ty.code.clone(),
            type_name: ty.name.clone(),
            number: number.clone(),
            holder_kind: new.holder.kind.as_str().to_owned(),
            holder_name: new.holder.name.clone(),
            holder_number: new.holder.number.clone(),
            issuer_name: ty.department_name.clone(),
            issuer_code: ty.issuer_code.clone(),
            valid_from: new.valid_from.to_string(),
            valid_until: valid_to.map(|d| d.to_string()),
            fields: new.fields.clone(),
        };
        let signature = self.key().sign(&canonical.bytes());
        let keys = self.identity().keys();
        let fields = serde_json::to_string(&canonical.fields).map_err(|e| LicenceError::Internal(e.to_string()))?;
        let written = exec!(
            tx,
            sqlx::query(
                "INSERT INTO licences (id, identifier, type_code, type_name, number, holder_kind, holder_name_enc,
                    holder_number_enc, holder_hash, holder_name_masked, holder_number_masked, issuer_name, issuer_code,
                    department_id, region_code, valid_from, valid_until, fields_enc, signature, key_id, state, case_id, account_id, enterprise_id,
                    issued_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
                    'valid', $21, $22, $23, $24)
                 ON CONFLICT DO NOTHING"
            )
            .bind(id.as_uuid())
            .bind(&canonical.identifier)
            .bind(&ty.code)
            .bind(&ty.name)
            .bind(&number)
            .bind(new.holder.kind.as_str())
            .bind(keys.encrypt(&new.holder.name))
            .bind(keys.encrypt(&new.holder.number))
            .bind(holder_hash(keys, &new.holder.number))
            .bind(mask_name(&new.holder.name, new.holder.kind == HolderKind::Enterprise))
            .bind(mask_number(new.holder.kind, &new.holder.number))
            .bind(&canonical.issuer_name)
            .bind(&canonical.issuer_code)
            .bind(ty.department_id)
            .bind(&ty.region_code)
            .bind(&canonical.valid_from)
            .bind(&canonical.valid_until)
            .bind(keys.encrypt(&fields))
            .bind(&signature)
            .bind(self.key().id())
            .bind(new.case.map(|c| c.as_uuid()))
            .bind(new.holder.account)
            .bind(new.holder.enterprise)
            .bind(now)
        )?;
        if written == 0 {
            return Ok(None);
        }
        let detail = format!("{} {}", ty.name, number);
        audit::record(tx, actor, Event::success("licence.issue", "licence", &canonical.identifier).detail(detail))
            .await?;
        let (action, what) = match (&new.existing, new.case) {
            (Some(_), _) => ("imported", format!("导入存量证照，签名密钥 {}", self.key().id())),
            (None, Some(_)) => ("issued", format!("办件准予后签发，签名密钥 {}", self.key().id())),
            (None, None) => ("issued", format!("签发，签名密钥 {}", self.key().id())),
        };
        crate::history::record(tx, id, action, &what, actor).await?;
        self.by_id_in(tx, id).await.map(Some)
    }

    /// Audits that a granted case could not get its licence, and why.
    async fn audit_failure(&self, case: CaseId, e: &LicenceError) {
        let event = Event::success("licence.issue", "case", case.as_uuid())
            .outcome(Outcome::Failure)
            .detail(govhall_core::Coded::message(e));
        if let Err(err) = audit::record_alone(self.db(), &Actor::system("电子证照"), event).await {
            tracing::warn!(error = %err, "could not audit a licence that was not issued");
        }
    }
}

/// The lookup hash of a holder's number (upper case, so either case finds it).
pub(crate) fn holder_hash(keys: &govhall_identity::crypto::Keys, number: &str) -> String {
    keys.lookup_hash("licence_holder", &number.trim().to_ascii_uppercase())
}
