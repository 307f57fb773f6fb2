//! Cases started away from the online hall (设计 3.1.1, 3.2 (2)): taken in at a hall's window
//! (现场申报) or in a department's own system and registered with the hall, so that the
//! applicant follows them as any case (the progress query with the serial number and query
//! password; 我的办件 once they have an account) and the hall counts them. The same engine as an
//! online case: the item's workflow, its deadlines, the history, the applicant told by SMS.
//!
//! The applicant need not have an account: the case keeps the keyed hash of their ID number,
//! and joins their account when they have one ([`Cases::join_to_account`]). A person who has one already
//! has the case in it at once; an enterprise registered in the hall has it in its cases.

use crate::ids::CaseId;
use crate::model::{ActorKind, Channel, SubmittedMaterial};
use crate::submit::{Submitted, record_event};
use crate::{CaseError, Cases, deadline, notify, password, payment_due, serials, store, submitted};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::clock::china_date;
use govhall_core::text::clean;
use govhall_core::{CreditCode, Phone, ResidentId, SerialNumber, SerialPrefix, ValueError};
use govhall_db::{exec, run, sqlx};
use govhall_identity::{Access, AccountId, EnterpriseId, Permission, Target};

/// Who applied, as the counter or the department's system took it down.
#[derive(Debug, Clone, Default)]
pub struct Applicant {
    /// `true` for an enterprise (its unified social credit code), else a person (resident ID).
    pub enterprise: bool,
    /// The person's or enterprise's name.
    pub name: String,
    /// The resident ID number or the credit code.
    pub number: String,
    /// A mobile number to tell them on.
    pub phone: String,
}

/// A case started away from the online hall.
#[derive(Debug, Clone)]
pub struct OfflineCase {
    /// Where: [`Channel::Counter`] or [`Channel::Department`].
    pub channel: Channel,
    /// The item's code (its published version is used).
    pub item_code: String,
    /// The applicant.
    pub applicant: Applicant,
    /// The answers of the item's form.
    pub form: serde_json::Value,
    /// The materials received.
    pub materials: Vec<SubmittedMaterial>,
    /// A number the registering system was issued before (it printed its own receipt); `None`:
    /// the hall issues one now.
    pub serial_number: Option<String>,
    /// Who registers it: the hall itself ([`crate::submit::HALL_ISSUER`], a counter) or a
    /// client's name (the issuer its numbers were issued to, under `service_number`).
    pub issuer: String,
    /// The service number of the numbers `issuer` is issued (the hall's own for a counter).
    pub service_number: u8,
    /// Who took it in (a member of staff's or a department handler's name), and as whom the
    /// audit log names them.
    pub actor: Actor,
    /// The member of staff who took it in at a counter, if one.
    pub staff: Option<AccountId>,
    /// The same key again (a repeated request) gives the same case.
    pub idempotency_key: String,
    /// Scanned copies of the materials (each naming its material), kept with the case.
    pub files: Vec<crate::files::NewFile>,
}

/// The most scanned files one registration takes.
pub const MAX_FILES: usize = 10;

/// What the applicant is known by.
struct Known {
    name: String,
    number: String,
    phone: String,
    account: Option<AccountId>,
    enterprise: Option<EnterpriseId>,
    key: Option<String>,
}

const LONGEST_NAME: usize = 100;

impl Cases {
    async fn known(&self, a: &Applicant) -> Result<Known, CaseError> {
        let name = clean(a.name.trim()).into_owned();
        if name.is_empty() || name.chars().count() > LONGEST_NAME {
            return Err(ValueError::new(
                "invalid_name",
                "申请人名称",
                format!("不能为空，且不超过 {LONGEST_NAME} 个字"),
            )
            .into());
        }
        let phone = Phone::parse(&a.phone)?;
        if a.enterprise {
            let code = CreditCode::parse(&a.number)?;
            let enterprise = self.identity().enterprise_by_code(&code).await?;
            Ok(Known {
                name,
                number: code.as_str().to_owned(),
                phone: phone.as_str().to_owned(),
                account: None,
                enterprise,
                key: None,
            })
        } else {
            let id = ResidentId::parse_on(&a.number, china_date(self.db().now()))?;
            let account = self.identity().person_by_id_number(&id).await?;
            let key = self.identity().id_number_key(&id);
            Ok(Known {
                name,
                number: id.as_str().to_owned(),
                phone: phone.as_str().to_owned(),
                account,
                enterprise: None,
                key: Some(key),
            })
        }
    }

    /// Registers a case started at a counter or in a department's system: the serial number
    /// (issued now, or the one the system was issued before) and a new query password, the
    /// item's workflow started, the step recorded and audited, the applicant told by SMS. The
    /// query password is returned this once; a repeated registration (the same key, or the same
    /// number) gets the case without it. `access` must reach the item's department as a
    /// reviewer of its cases does (another department's item answers as no item).
    pub async fn register_offline(&self, access: &Access, o: OfflineCase) -> Result<Submitted, CaseError> {
        if !matches!(o.channel, Channel::Counter | Channel::Department) {
            return Err(CaseError::InvalidInput("只有窗口或部门系统受理的办件在此登记".into()));
        }
        if o.idempotency_key.is_empty() || o.idempotency_key.len() > 80 {
            return Err(CaseError::InvalidInput("登记标识（idempotency_key）应为 1 到 80 个字符".into()));
        }
        let issue_key = format!("{}:{}", o.channel.as_str(), o.idempotency_key);
        let guide = self
            .catalog()
            .guide(&o.item_code)
            .await
            .map_err(|e| CaseError::Internal(e.to_string()))?
            .ok_or_else(|| CaseError::ItemUnavailable(format!("事项“{}”不存在或已停止办理", o.item_code)))?;
        let target = Target {
            owner: None,
            department: Some(govhall_identity::DepartmentId::from_uuid(guide.item.department_id)),
            region: Some(guide.item.region_code.clone()),
        };
        if !access.covers(Permission::CaseReview, &target) {
            return Err(CaseError::ItemUnavailable(format!("事项“{}”不是本部门办理的事项", o.item_code)));
        }
        let known = self.known(&o.applicant).await?;
        if o.files.len() > MAX_FILES {
            return Err(CaseError::InvalidInput(format!("一次至多附 {MAX_FILES} 个扫描件")));
        }
        for f in &o.files {
            crate::files::check(f, self.settings().max_file_bytes)?;
        }
        let workflow = self.workflow_for(&o.item_code, &guide.content).await?;
        let nature: u8 = guide.content.nature_code.parse().unwrap_or(11);
        let prefix = SerialPrefix::new(&guide.item.region_code, o.service_number, nature)?;
        let query_password = password::generate();
        let limit = deadline::applicable_limit(guide.content.promised_limit, guide.content.statutory_limit);
        let keys = self.identity().keys();
        let now = self.db().now();
        let first = workflow.first().clone();
        let step_due = first.deadline_days.map(|d| self.calendar().add_working_days(china_date(now), d));
        let form = serde_json::to_string(&o.form).map_err(|e| CaseError::InvalidInput(e.to_string()))?;
        let materials = serde_json::to_string(&o.materials).map_err(|e| CaseError::InvalidInput(e.to_string()))?;

        let mut tx = self.db().begin().await?;
        let serial = match o.serial_number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => serials::issue_in(&mut tx, prefix, &o.issuer, Some(&issue_key)).await?.to_string(),
            Some(given) => {
                let number = SerialNumber::parse(given)?;
                let issuer: Option<String> =
                    run!(tx, |c| sqlx::query_scalar("SELECT issuer FROM serial_numbers WHERE number = $1")
                        .bind(number.to_string())
                        .fetch_optional(&mut *c)
                        .await)?;
                if issuer.as_deref() != Some(o.issuer.as_str()) {
                    return Err(ValueError::new(
                        "serial_not_issued",
                        "申办编号",
                        format!("{number} 不是统一申办编号服务发给本系统的编号"),
                    )
                    .into());
                }
                number.to_string()
            }
        };
        if let Some(existing) = store::row_by_serial(&mut tx, &serial).await? {
            tx.rollback().await?;
            if existing.item_code != o.item_code {
                return Err(ValueError::new("serial_in_use", "申办编号", format!("{serial} 已登记为另一件办件")).into());
            }
            return Ok(Submitted {
                case_id: CaseId::from_uuid(existing.id),
                serial_number: serial,
                query_password: None,
            });
        }
        let id = CaseId::new();
        let hash = password::hash(keys, &serial, &query_password);
        let sealed = (keys.encrypt(&known.number), keys.encrypt(&known.phone), keys.encrypt(&form));
        let row = store::NewCaseRow {
            id,
            serial: &serial,
            password_hash: &hash,
            guide: &guide,
            applicant: known.account,
            enterprise: known.enterprise,
            applicant_name: &known.name,
            sealed,
            materials: &materials,
            workflow: &workflow,
            limit,
            step_due,
            channel: o.channel,
            applicant_key: known.key.as_deref(),
        };
        store::insert_case(&mut tx, row).await?;
        let (kind, label) = match o.channel {
            Channel::Counter => (ActorKind::Staff, ("register_counter", "窗口收件登记")),
            _ => (ActorKind::System, ("register_department", "部门系统受理登记")),
        };
        let event =
            record_event(&mut tx, id, label, (None, &first.code), (kind, o.staff, &o.actor.label), "", &[]).await?;
        crate::files::store_files(&mut tx, id, event, &o.files, self.settings().max_file_bytes).await?;
        audit::record(
            &mut tx,
            &o.actor,
            Event::success("case.register", "case", &serial).detail(format!(
                "{}：{}",
                o.channel.label(),
                guide.item.name
            )),
        )
        .await?;
        if known.account.is_some()
            && let Some(fees) = first.fees_due()
        {
            payment_due::enqueue(&mut tx, id, &first.code, fees).await?;
        }
        // A department's own case is not handed back to the department's system.
        if o.channel == Channel::Counter {
            submitted::enqueue(&mut tx, id).await?;
        }
        let row = store::row_by_id(&mut tx, id).await?.ok_or(CaseError::NotFound)?;
        let told = notify::Told { event_id: event, event: "已受理登记", step: &first.name, note: "" };
        notify::applicant(&mut tx, self.messaging(), keys, &row, told).await?;
        tx.commit().await?;
        Ok(Submitted { case_id: id, serial_number: serial, query_password: Some(query_password) })
    }

    /// Joins to `account` the cases of a person without an account registered with the same ID
    /// number (at a counter, in a department's system); how many. Each is audited.
    pub async fn join_to_account(&self, account: AccountId) -> Result<u64, CaseError> {
        let found = self.identity().account(account).await?;
        let Some(id_number) = found.id_number.as_ref() else { return Ok(0) };
        let key = self.identity().id_number_key(id_number);
        let mut conn = self.db().conn().await?;
        let waiting: Vec<String> = run!(conn, |c| {
            sqlx::query_scalar(
            "SELECT serial_number FROM cases WHERE applicant_id IS NULL AND applicant_key = $1 AND enterprise_id IS NULL"
        )
        .bind(&key)
        .fetch_all(&mut *c)
        .await
        })?;
        drop(conn);
        if waiting.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db().begin().await?;
        let claimed = exec!(
            tx,
            sqlx::query(
                "UPDATE cases SET applicant_id = $1 WHERE applicant_id IS NULL AND applicant_key = $2
                    AND enterprise_id IS NULL"
            )
            .bind(account.as_uuid())
            .bind(&key)
        )?;
        let actor = Actor { id: Some(account), label: found.audit_label(), client_ip: String::new() };
        for serial in &waiting {
            audit::record(
                &mut tx,
                &actor,
                Event::success("case.join_account", "case", serial).detail("身份证号码一致，归入我的办件"),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }
}
