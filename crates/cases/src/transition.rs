//! Moving a case: only along its workflow's whitelist, by whoever acts at the step, with the
//! clock started, paused and resumed as the steps say; each move recorded, audited and told to
//! the applicant in one transaction. Claiming and assigning cases too.

use crate::deadline::{self, Warning};
use crate::files::{NewFile, store_files};
use crate::ids::CaseId;
use crate::model::{ActorKind, Case, CaseRow, Outcome};
use crate::queries::target;
use crate::submit::record_event;
use crate::workflow::{BACK, Effect, PAID, StepActor};
use crate::{CaseError, Cases, closed, granted, notify, payment_due, store};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::clock::china_date;
use govhall_db::{Tx, exec, sqlx};
use govhall_identity::{Access, AccountId, AccountKind, Permission, Target};

/// Who moves a case.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    /// Staff, with what they may do, how the audit log names them, and their name.
    Staff(&'a Access, &'a Actor),
    /// The applicant (or an active member of the applying enterprise).
    Applicant(AccountId, &'a Actor),
    /// GovHall itself: the payment domain leaving a payment step once the order is paid, or
    /// logistics taking 送达 once the courier reports the result delivered.
    System(&'a Actor),
}

/// One move.
#[derive(Debug, Clone, Default)]
pub struct Action {
    /// The case.
    pub case: CaseId,
    /// The action's code in the workflow (`accept`).
    pub action: String,
    /// The note (the reason, what is missing, how it was delivered).
    pub note: String,
    /// The case's revision the form was shown with; a newer case refuses the move.
    pub revision: Option<i32>,
    /// Files given with it (an applicant's answer to a request for more names, for each, the
    /// requested material it is for).
    pub files: Vec<NewFile>,
    /// With a move into a step where the applicant acts (要求补齐补正): the materials asked for.
    pub requested: Vec<String>,
    /// The caller tells the applicant itself, in the same transaction (a payment's message says
    /// what was paid and what comes next): the engine sends no progress message of its own.
    pub quiet: bool,
    /// What the caller keeps of the move in a record of its own (an exchange message's log
    /// entry: its id and SM3), added to the move's audit entry, which then covers both.
    pub covers: Option<String>,
}

/// Longest note.
pub const MAX_NOTE: usize = 1000;

/// A move checked before its transaction: the case as the checks saw it. The move is made on
/// this reading: its update names the revision read, so a case changed meanwhile refuses it.
#[derive(Debug, Clone)]
pub struct Checked {
    grants: bool,
    case: Case,
    row: CaseRow,
}

impl Checked {
    /// The case as the checks saw it.
    pub fn case(&self) -> &Case {
        &self.case
    }

    /// Whether the move decides the case in the applicant's favour (准予).
    pub fn grants(&self) -> bool {
        self.grants
    }
}

impl Cases {
    /// Moves a case along its workflow; returns it as it now is. Who may move it is checked
    /// before the transaction (the checks read accounts and memberships on connections of their
    /// own, which a transaction must never wait for); the transaction reads the case again and
    /// refuses if it changed meanwhile.
    pub async fn act(&self, by: By<'_>, action: Action) -> Result<Case, CaseError> {
        let checked = self.check_move(by, &action).await?;
        let mut tx = self.db().begin().await?;
        let moved = self.move_checked_in(&mut tx, by, action, checked).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// The checks of [`Cases::act`], for a caller that moves the case in a transaction of its
    /// own with [`Cases::move_checked_in`] (a licence issued with the decision).
    pub async fn check_move(&self, by: By<'_>, action: &Action) -> Result<Checked, CaseError> {
        let (case, row) = self.load(action.case).await?;
        self.check_loaded(by, action, case, row).await
    }

    /// [`Cases::check_move`] on the case numbered `serial` (read once): sets `action.case`.
    /// A case `by` may not see is not found.
    pub async fn check_move_by_serial(
        &self,
        by: By<'_>,
        serial: &str,
        action: &mut Action,
    ) -> Result<Checked, CaseError> {
        let (case, row) = self.load_by_serial(serial).await?.ok_or(CaseError::NotFound)?;
        action.case = case.id;
        self.check_loaded(by, action, case, row).await
    }

    async fn check_loaded(&self, by: By<'_>, action: &Action, case: Case, row: CaseRow) -> Result<Checked, CaseError> {
        self.may_see(by, &case).await?;
        let t = rule(by, &case, &action.action)?;
        if let (Some(p), By::Staff(access, _)) = (case.workflow.permission_for(t), by)
            && self.held_by_another(access, &case, p).await?
        {
            let name = case.assignee_name.clone().unwrap_or_default();
            return Err(CaseError::Forbidden(format!("该办件由{name}经办，请联系经办人或分派人员")));
        }
        let grants = t.effect == Some(Effect::Grant);
        Ok(Checked { grants, case, row })
    }

    /// The move [`Cases::check_move`] checked, inside `tx`: refused if the case changed since.
    pub async fn move_checked_in(
        &self,
        tx: &mut Tx,
        by: By<'_>,
        action: Action,
        checked: Checked,
    ) -> Result<Case, CaseError> {
        if action.case != checked.case.id {
            return Err(CaseError::Stale);
        }
        self.move_in(tx, by, action, Some(checked)).await
    }

    /// GovHall itself takes a payment step's [`PAID`] move, or a 送达 move, inside `tx`, the
    /// transaction of the payment or the delivery: the move, its history, messages and audit
    /// entry commit or roll back with it.
    pub async fn act_in(&self, tx: &mut Tx, actor: &Actor, action: Action) -> Result<Case, CaseError> {
        self.move_in(tx, By::System(actor), action, None).await
    }

    /// The move itself, on the case as the caller's checks read it (`checked`) or, without
    /// them, as `tx` reads it; the update names the revision read.
    async fn move_in(
        &self,
        tx: &mut Tx,
        by: By<'_>,
        action: Action,
        checked: Option<Checked>,
    ) -> Result<Case, CaseError> {
        let (case, row) = match checked {
            Some(c) => (c.case, c.row),
            None => store::to_case(store::row_by_id(tx, action.case).await?.ok_or(CaseError::NotFound)?)?,
        };
        let workflow = &case.workflow;
        let t = rule(by, &case, &action.action)?;
        let note = action.note.trim();
        if t.note_required && note.is_empty() {
            return Err(CaseError::NoteRequired(t.label.clone()));
        }
        if note.chars().count() > MAX_NOTE {
            return Err(CaseError::InvalidInput(format!("说明不能超过 {MAX_NOTE} 个字")));
        }
        if action.revision.is_some_and(|r| r != case.revision) {
            return Err(CaseError::Stale);
        }
        for f in &action.files {
            crate::files::check(f, self.settings().max_file_bytes)?;
        }
        let requested = crate::supplement::requested_materials(&action.requested)?;
        let to_code = if t.to == BACK {
            case.back_step.clone().unwrap_or_else(|| workflow.first().code.clone())
        } else {
            t.to.clone()
        };
        let to = workflow.step(&to_code).ok_or_else(|| CaseError::Internal(format!("步骤 {to_code} 不存在")))?.clone();
        let from = case.current().cloned().ok_or_else(|| CaseError::Internal("当前步骤不存在".into()))?;
        if !requested.is_empty() && to.actor != StepActor::Applicant {
            return Err(CaseError::InvalidInput(format!("“{}”不是要求申请人补正，不能列出所需材料", t.label)));
        }
        if from.actor == StepActor::Applicant {
            self.check_supplement(tx, &case, &from.code, &action.files).await?;
        }

        let now = self.db().now();
        let today = china_date(now);
        let cal = self.calendar();
        let mut next = Clock::of(&row);
        if t.effect == Some(Effect::Accept) {
            next.accepted_on = Some(today);
            next.due_on = deadline::due_date(cal, case.limit, today);
        }
        if to.pauses_clock && !from.pauses_clock {
            next.back_step = Some(from.code.clone());
            if let (Some(due), None) = (next.due_on, next.paused_on) {
                let left = deadline::remaining(cal, case.limit.unit, today, due);
                next.days_left = Some(i32::try_from(left).unwrap_or(if left < 0 { i32::MIN } else { i32::MAX }));
                next.paused_on = Some(today);
                next.due_on = None;
            }
        }
        if from.pauses_clock && !to.pauses_clock {
            next.back_step = None;
            if let (Some(_), Some(left)) = (next.paused_on, next.days_left) {
                next.due_on = Some(deadline::resumed_due(cal, case.limit.unit, today, i64::from(left)));
                next.paused_on = None;
                next.days_left = None;
            }
        }
        if to.actor == StepActor::Nobody && t.effect != Some(Effect::Deliver) {
            // Ended before a decision (不予受理, 撤回): no clock any more.
            (next.due_on, next.paused_on, next.days_left) = (None, None, None);
        }
        next.step_due_on = to.deadline_days.map(|d| cal.add_working_days(today, d));
        let mut outcome = case.outcome;
        let mut decided_at = row.decided_at;
        match t.effect {
            Some(Effect::Grant) => (outcome, decided_at) = (Some(Outcome::Granted), Some(now)),
            Some(Effect::Refuse) => (outcome, decided_at) = (Some(Outcome::Refused), Some(now)),
            Some(Effect::Reject) => (outcome, decided_at) = (Some(Outcome::Rejected), Some(now)),
            Some(Effect::Withdraw) => outcome = Some(Outcome::Withdrawn),
            _ => {}
        }
        let is_open = to.actor != StepActor::Nobody;
        // Once decided (办结) the limit has been met or missed (the history shows which): no light.
        let warning = if !is_open || decided_at.is_some() || next.paused_on.is_some() {
            Warning::None
        } else {
            deadline::warning(cal, today, next.due_on, next.step_due_on, self.settings().warn_days)
        };

        let (kind, actor_id, actor_name, actor) = match by {
            By::Staff(access, actor) => {
                let name = actor.label.split_once(':').map_or(actor.label.as_str(), |(_, n)| n).to_owned();
                (ActorKind::Staff, access.account, name, actor)
            }
            By::Applicant(account, actor) => (ActorKind::Applicant, Some(account), "申请人".to_owned(), actor),
            By::System(actor) => (ActorKind::System, None, "系统".to_owned(), actor),
        };
        let changed = exec!(
            tx,
            sqlx::query(
                "UPDATE cases SET step = $1, back_step = $2, is_open = $3, outcome = $4, accepted_on = $5, due_on = $6,
                    paused_on = $7, days_left = $8, step_due_on = $9, warning = $10, decided_at = $11,
                    closed_at = $12, updated_at = $13, revision = revision + 1
                 WHERE id = $14 AND revision = $15"
            )
            .bind(&to.code)
            .bind(&next.back_step)
            .bind(is_open)
            .bind(outcome.map(Outcome::as_str))
            .bind(next.accepted_on)
            .bind(next.due_on)
            .bind(next.paused_on)
            .bind(next.days_left)
            .bind(next.step_due_on)
            .bind(warning.as_str())
            .bind(decided_at)
            .bind(if is_open { None } else { Some(now) })
            .bind(now)
            .bind(case.id.as_uuid())
            .bind(case.revision)
        )?;
        if changed == 0 {
            return Err(CaseError::Stale);
        }
        let event = record_event(
            tx,
            case.id,
            (&t.action, &t.label),
            (Some(&from.code), &to.code),
            (kind, actor_id, &actor_name),
            note,
            &requested,
        )
        .await?;
        store_files(tx, case.id, event, &action.files, self.settings().max_file_bytes).await?;
        if let Some(fees) = to.fees_due() {
            payment_due::enqueue(tx, case.id, &to.code, fees).await?;
        }
        if from.actor == StepActor::Payment && t.action != PAID {
            payment_due::enqueue_void(tx, case.id, &from.code).await?;
        }
        if t.effect == Some(Effect::Grant) {
            granted::enqueue(tx, case.id).await?;
        }
        if !is_open {
            closed::enqueue(tx, case.id).await?;
        }
        let mut detail =
            format!("{} → {}{}", from.name, to.name, if note.is_empty() { String::new() } else { format!("：{note}") });
        if let Some(covered) = &action.covers {
            detail.push_str(&format!("；{covered}"));
        }
        audit::record(
            tx,
            actor,
            Event::success(&format!("case.{}", t.action), "case", &case.serial_number).detail(detail),
        )
        .await?;
        // The row as the update left it (the update named the revision read).
        let row = CaseRow {
            step: to.code.clone(),
            back_step: next.back_step,
            is_open,
            outcome: outcome.map(|o| o.as_str().to_owned()),
            accepted_on: next.accepted_on,
            due_on: next.due_on,
            paused_on: next.paused_on,
            days_left: next.days_left,
            step_due_on: next.step_due_on,
            warning: warning.as_str().to_owned(),
            decided_at,
            closed_at: if is_open { None } else { Some(now) },
            updated_at: now,
            revision: row.revision + 1,
            ..row
        };
        if !action.quiet {
            let told = match t.effect {
                Some(Effect::Grant) => "已办结（准予）".to_owned(),
                Some(Effect::Refuse) => "已办结（不予批准）".to_owned(),
                Some(Effect::Accept) => "已受理".to_owned(),
                Some(Effect::Reject) => "不予受理".to_owned(),
                Some(Effect::Deliver) => "办理结果已送达".to_owned(),
                Some(Effect::Withdraw) => "已撤回".to_owned(),
                None if to.pauses_clock => "需要您补齐补正材料".to_owned(),
                None if to.actor == StepActor::Payment => "请缴纳费用，缴款单稍后发送给您".to_owned(),
                None if t.action == PAID => format!("已缴费，进入“{}”环节", to.name),
                None if kind == ActorKind::Applicant => format!("已{}，进入“{}”环节", t.label, to.name),
                None => format!("进入“{}”环节", to.name),
            };
            let told = notify::Told { event_id: event, event: &told, step: &to.name, note };
            notify::applicant(tx, self.messaging(), self.identity().keys(), &row, told).await?;
        }
        Ok(store::to_case(row)?.0)
    }

    /// Whether someone other than the viewer holds the case and may act at its step with `p`
    /// (a holder who cannot act at the step does not keep others out), and the viewer cannot
    /// override with `case.assign`.
    async fn held_by_another(&self, access: &Access, case: &Case, p: Permission) -> Result<bool, CaseError> {
        let Some(holder) = case.assignee_id else { return Ok(false) };
        if Some(holder) == access.account || access.covers(Permission::CaseAssign, &target(case)) {
            return Ok(false);
        }
        let theirs = self.identity().access(holder).await?;
        Ok(theirs.covers(p, &Target { owner: Some(holder), ..target(case) }))
    }

    /// The moves `access` may make on `case` now (for the workbench's buttons).
    pub async fn staff_actions(
        &self,
        access: &Access,
        case: &Case,
    ) -> Result<Vec<crate::workflow::Transition>, CaseError> {
        if !case.is_open {
            return Ok(Vec::new());
        }
        let mut allowed = Vec::new();
        for t in case.workflow.actions_from(&case.step) {
            if let Some(p) = case.workflow.permission_for(t)
                && access.covers(p, &target(case))
                && !self.held_by_another(access, case, p).await?
            {
                allowed.push(t.clone());
            }
        }
        Ok(allowed)
    }

    async fn may_see(&self, by: By<'_>, case: &Case) -> Result<(), CaseError> {
        let ok = match by {
            By::Staff(access, _) => access.covers(Permission::CaseView, &target(case)),
            By::Applicant(account, _) => self.applicant_may_see(account, case).await?,
            By::System(_) => true,
        };
        if ok { Ok(()) } else { Err(CaseError::NotFound) }
    }

    /// Takes an unassigned case (认领): needs a case permission of its current step over it.
    pub async fn claim(&self, access: &Access, actor: &Actor, id: CaseId) -> Result<Case, CaseError> {
        let case = self.get(access, id).await?;
        let Some(me) = access.account else { return Err(CaseError::Forbidden("请先登录".into())) };
        let step = match case.current().map(|s| s.actor) {
            Some(StepActor::Staff(p)) if access.covers(p, &target(&case)) => Some(p),
            _ => None,
        };
        let Some(p) = step.filter(|_| case.is_open) else {
            return Err(CaseError::Forbidden("您不能认领此办件（没有办理当前环节的权限）".into()));
        };
        if self.held_by_another(access, &case, p).await? {
            return Err(CaseError::Forbidden(format!("该办件已由{}认领", case.assignee_name.unwrap_or_default())));
        }
        self.set_assignee(actor, &case, me, "case.claim").await
    }

    /// Gives a case to a colleague (分派): needs `case.assign` over the case, and the colleague
    /// must be active staff whose `case.view` reaches it.
    pub async fn assign(&self, access: &Access, actor: &Actor, id: CaseId, to: AccountId) -> Result<Case, CaseError> {
        let case = self.get(access, id).await?;
        if !access.covers(Permission::CaseAssign, &target(&case)) {
            return Err(CaseError::Forbidden("您没有“分派办件”权限".into()));
        }
        if !case.is_open {
            return Err(CaseError::IllegalTransition("办件已办结，不能再分派".into()));
        }
        let colleague =
            self.identity().account(to).await.map_err(|_| CaseError::InvalidInput("所选工作人员不存在".into()))?;
        let their = self.identity().access(to).await?;
        let theirs = Target { owner: Some(to), ..target(&case) };
        let may_handle = [Permission::CaseReview, Permission::CaseDecide].into_iter().any(|p| their.covers(p, &theirs));
        if colleague.kind != AccountKind::Staff
            || !colleague.active
            || !their.covers(Permission::CaseView, &theirs)
            || !may_handle
        {
            return Err(CaseError::InvalidInput(format!(
                "{}不能办理此办件（不是有权查看该部门办件的在岗工作人员）",
                colleague.real_name
            )));
        }
        self.set_assignee(actor, &case, to, "case.assign").await
    }

    async fn set_assignee(&self, actor: &Actor, case: &Case, to: AccountId, what: &str) -> Result<Case, CaseError> {
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        let changed = exec!(
            tx,
            sqlx::query("UPDATE cases SET assignee_id = $1, revision = revision + 1, updated_at = $2 WHERE id = $3 AND revision = $4")
                .bind(to.as_uuid())
                .bind(now)
                .bind(case.id.as_uuid())
                .bind(case.revision)
        )?;
        if changed == 0 {
            tx.rollback().await?;
            return Err(CaseError::Stale);
        }
        audit::record(
            &mut tx,
            actor,
            Event::success(what, "case", &case.serial_number).detail(to.as_uuid().to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(self.load(case.id).await?.0)
    }
}

/// Whether `by` may take `action` on `case` as it is: the case is open, the workflow allows the
/// move from its step, and the move is `by`'s to make (staff with the step's permission over the
/// case, the applicant on their own steps and for withdrawal, GovHall for a payment step's
/// [`PAID`], which nobody else ever takes).
fn rule<'c>(by: By<'_>, case: &'c Case, action: &str) -> Result<&'c crate::workflow::Transition, CaseError> {
    if !case.is_open {
        return Err(CaseError::IllegalTransition(format!("办件已{}，不能再办理", case.step_name)));
    }
    let workflow = &case.workflow;
    let t = workflow
        .transition(&case.step, action)
        .ok_or_else(|| CaseError::IllegalTransition(format!("当前环节“{}”不能执行“{}”", case.step_name, action)))?;
    let at_payment = case.current().is_some_and(|s| s.actor == StepActor::Payment);
    match by {
        By::System(_) if at_payment && t.action == PAID => return Ok(t),
        // The courier reported the result delivered (signed, or asked by the hall).
        By::System(_) if t.effect == Some(Effect::Deliver) => return Ok(t),
        By::System(_) => return Err(CaseError::Forbidden(format!("“{}”不能由系统自动办理", t.label))),
        _ if t.action == PAID || (at_payment && !t.by_applicant) => {
            return Err(CaseError::Forbidden("缴费完成后办件会自动进入下一环节".into()));
        }
        _ => {}
    }
    match (workflow.permission_for(t), by) {
        (Some(p), By::Staff(access, _)) if !access.covers(p, &target(case)) => {
            Err(CaseError::Forbidden(format!("您没有“{}”权限，不能办理“{}”", p.label(), t.label)))
        }
        (Some(_), By::Staff(..)) | (None, By::Applicant(..)) => Ok(t),
        (Some(_), By::Applicant(..)) => Err(CaseError::Forbidden(format!("“{}”由工作人员办理", t.label))),
        (None, By::Staff(..)) => Err(CaseError::Forbidden(format!("“{}”只能由申请人操作", t.label))),
        (_, By::System(_)) => Err(CaseError::Forbidden(format!("“{}”不能由系统自动办理", t.label))),
    }
}

/// The clock columns as a move changes them.
struct Clock {
    back_step: Option<String>,
    accepted_on: Option<chrono::NaiveDate>,
    due_on: Option<chrono::NaiveDate>,
    paused_on: Option<chrono::NaiveDate>,
    days_left: Option<i32>,
    step_due_on: Option<chrono::NaiveDate>,
}

impl Clock {
    fn of(row: &CaseRow) -> Clock {
        Clock {
            back_step: row.back_step.clone(),
            accepted_on: row.accepted_on,
            due_on: row.due_on,
            paused_on: row.paused_on,
            days_left: row.days_left,
            step_due_on: row.step_due_on,
        }
    }
}
