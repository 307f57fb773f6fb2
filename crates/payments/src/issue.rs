//! Issuing a payment order (开具缴款单, design steps 1–2): when a case enters a payment step the
//! case engine enqueues [`govhall_cases::payment_due::JOB`]; this reckons the fees due there
//! from the item version the case was submitted under and the applicant's answers, draws a
//! notice number, and in one transaction writes the order, tells the payer, schedules the
//! reminder and the expiry, audits, and completes the job. A case whose fees come to nothing
//! moves on at once. Staff re-issue an expired or cancelled order the same way.

use crate::notify::{self, ISSUED, REMINDER};
use crate::order::{self, Order, OrderLine};
use crate::{OrderId, PaymentError, Payments, notice};
use chrono::Duration;
use govhall_audit::{self as audit, Actor, Event};
use govhall_cases::payment_due::{JOB, PaymentDue};
use govhall_cases::queries::target;
use govhall_cases::transition::Action;
use govhall_cases::workflow::PAID;
use govhall_cases::{Case, CaseId};
use govhall_core::Money;
use govhall_core::clock::china_date;
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Tx, exec, sqlx};
use govhall_identity::{Access, Permission};
use serde::{Deserialize, Serialize};

/// The job that expires an order.
pub(crate) const EXPIRE_JOB: &str = "payment.expire";

/// The payload of [`EXPIRE_JOB`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ExpireOrder {
    pub order: OrderId,
}

pub(crate) fn register(p: &Payments, registry: &mut JobRegistry) {
    let payments = p.clone();
    registry.register(JOB, move |ctx: JobContext| {
        let payments = payments.clone();
        async move {
            let due: PaymentDue = ctx.payload()?;
            match payments.issue_due(&due, &Actor::system("网上缴费"), Some(&ctx)).await {
                Ok(_) => Ok(()),
                Err(e @ (PaymentError::Invalid(_) | PaymentError::NotFound)) => Err(JobError::permanent(e)),
                Err(e) => Err(JobError::retry(e)),
            }
        }
    });
}

/// What issuing came to.
#[derive(Debug)]
pub enum Issued {
    /// An order to pay.
    Order(Box<Order>),
    /// Nothing to pay: the case moved on.
    Nothing,
    /// The case is no longer waiting at that step (or has a payable order already).
    NotNeeded,
}

impl Payments {
    /// Issues the order for a case waiting at a payment step (the job's work).
    pub(crate) async fn issue_due(
        &self,
        due: &PaymentDue,
        actor: &Actor,
        job: Option<&JobContext>,
    ) -> Result<Issued, PaymentError> {
        let (case, answers) = self.cases().for_reckoning(due.case).await?;
        // An order belongs to a payer's account; a person without one (a case started at a
        // counter or in a department's own system) pays as that counter or system arranges.
        let payer = case.applicant_id;
        if payer.is_none() {
            tracing::info!(case = %case.serial_number, "no payment order for an applicant without an account");
        }
        if !case.is_open || case.step != due.step || payer.is_none() {
            if let Some(ctx) = job {
                let mut tx = self.db().begin().await?;
                ctx.complete_in(&mut tx).await?;
                tx.commit().await?;
            }
            return Ok(Issued::NotNeeded);
        }
        let content = govhall_catalog::store::content_at(self.db(), &case.item_code, case.item_version)
            .await
            .map_err(|e| PaymentError::Internal(e.to_string()))?
            .ok_or_else(|| {
                PaymentError::Internal(format!("事项 {} 第 {} 版不存在", case.item_code, case.item_version))
            })?;
        let mut lines = Vec::new();
        let mut total = Money::ZERO;
        for fee in content.fees_due(due.fees) {
            let amount =
                fee.amount_for(&answers).map_err(|e| PaymentError::Invalid(format!("无法计算应缴金额：{e}")))?;
            total = total.checked_add(amount).ok_or_else(|| PaymentError::Invalid("应缴金额超出允许的范围".into()))?;
            lines.push(OrderLine { code: fee.code.clone(), name: fee.name.clone(), amount });
        }
        let phone = match payer {
            Some(a) => self.identity().account(a).await.ok().map(|a| a.phone),
            None => None,
        };
        let mut tx = self.db().begin().await?;
        let issued = if total == Money::ZERO {
            let note = "本环节无需缴费（应缴金额为 0）".to_owned();
            let action = Action { case: case.id, action: PAID.into(), note, ..Action::default() };
            self.cases().act_in(&mut tx, actor, action).await?;
            Issued::Nothing
        } else {
            match self.write_order(&mut tx, &case, lines, total, actor).await? {
                Some(order) => {
                    self.tell_issued(&mut tx, &order, &case, phone.as_ref()).await?;
                    Issued::Order(Box::new(order))
                }
                None => Issued::NotNeeded,
            }
        };
        if let Some(ctx) = job {
            ctx.complete_in(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(issued)
    }

    /// Writes an order for `case` at its step; `None` when a payable one exists already.
    async fn write_order(
        &self,
        tx: &mut Tx,
        case: &Case,
        lines: Vec<OrderLine>,
        total: Money,
        actor: &Actor,
    ) -> Result<Option<Order>, PaymentError> {
        let live: i64 = govhall_db::run!(tx, |c| sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM payment_orders WHERE case_id = $1 AND step = $2 AND state IN ",
            crate::order::payable!()
        ))
        .bind(case.id.as_uuid())
        .bind(&case.step)
        .fetch_one(&mut *c)
        .await)?;
        if live > 0 {
            return Ok(None);
        }
        let now = self.db().now();
        let id = OrderId::new();
        let number = notice::next(tx, &case.region_code, china_date(now)).await?;
        let expires_at = now + Duration::hours(self.settings().expiry_hours);
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO payment_orders (id, notice_number, case_id, step, payer_id, enterprise_id, payer_name,
                    department_id, merchant, subject, total_fen, state, expires_at, issued_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'created', $12, $13, $14, $14)"
            )
            .bind(id.as_uuid())
            .bind(&number)
            .bind(case.id.as_uuid())
            .bind(&case.step)
            .bind(case.applicant_id.map(|a| a.as_uuid()))
            .bind(case.enterprise_id.map(|e| e.as_uuid()))
            .bind(&case.applicant_masked)
            .bind(case.department_id.as_uuid())
            .bind(&self.settings().merchant)
            .bind(&case.item_name)
            .bind(total.fen())
            .bind(expires_at)
            .bind(&actor.label)
            .bind(now)
        )?;
        for (seq, line) in lines.iter().enumerate() {
            exec!(
                tx,
                sqlx::query(
                    "INSERT INTO payment_order_lines (order_id, seq, code, name, amount_fen) VALUES ($1, $2, $3, $4, $5)"
                )
                .bind(id.as_uuid())
                .bind(i32::try_from(seq).unwrap_or(i32::MAX))
                .bind(&line.code)
                .bind(&line.name)
                .bind(line.amount.fen())
            )?;
        }
        jobs::enqueue(
            tx,
            NewJob::new(EXPIRE_JOB, ExpireOrder { order: id })?
                .run_at(expires_at)
                .idempotency_key(format!("payment:{}:expire", id.as_uuid())),
        )
        .await?;
        let detail = format!("{}：{} 元（{}）", case.serial_number, total.yuan(), number);
        audit::record(tx, actor, Event::success("payment.issue", "payment_order", &number).detail(detail)).await?;
        order::order_by_id(tx, id).await
    }

    async fn tell_issued(
        &self,
        tx: &mut Tx,
        order: &Order,
        case: &Case,
        phone: Option<&govhall_core::Phone>,
    ) -> Result<(), PaymentError> {
        let params = notify::params(order, &case.serial_number);
        let key = format!("payment:{}:issued", order.id.as_uuid());
        let mut all = notify::messages(ISSUED, order, phone, params.clone(), &key, true, None);
        let remind = self.settings().remind_hours_before;
        if remind > 0 {
            let at = order.expires_at - Duration::hours(remind);
            let key = format!("payment:{}:reminder", order.id.as_uuid());
            all.extend(notify::messages(REMINDER, order, phone, params, &key, false, Some(at)));
        }
        notify::send(tx, self.messaging(), all).await
    }

    /// Re-issues the order of a case waiting at a payment step whose last order expired or was
    /// cancelled (staff with `payment.manage` over the case).
    pub async fn reissue(&self, access: &Access, actor: &Actor, case: CaseId) -> Result<Order, PaymentError> {
        let (c, _) = self.cases().for_reckoning(case).await?;
        if !access.covers(Permission::CaseView, &target(&c)) {
            return Err(PaymentError::NotFound);
        }
        if !access.covers(Permission::PaymentManage, &target(&c)) {
            return Err(PaymentError::Forbidden("您没有“管理网上缴费”权限".into()));
        }
        let fees = match c.current().and_then(govhall_cases::workflow::Step::fees_due) {
            Some(fees) if c.is_open => fees,
            _ => return Err(PaymentError::WrongState("该办件当前不在待缴费环节".into())),
        };
        let due = PaymentDue { case, step: c.step.clone(), fees };
        match self.issue_due(&due, actor, None).await? {
            Issued::Order(order) => Ok(*order),
            Issued::Nothing => Err(PaymentError::WrongState("应缴金额为 0，办件已进入下一环节".into())),
            Issued::NotNeeded => Err(PaymentError::WrongState("该办件已有可缴费的缴款单，无需重新开具".into())),
        }
    }
}
