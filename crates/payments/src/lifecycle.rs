//! An order's life besides settling: the payer starts paying (design steps 3–6: the gateway
//! registers the payment and returns its page with the banks), comes back (the hall asks the
//! gateway before it says anything), cancels; orders expire; staff cancel and refund.

use crate::gateway::protocol::{CreatePayment, WireLine};
use crate::issue::{EXPIRE_JOB, ExpireOrder};
use crate::notify::{self, CLOSED};
use crate::order::{self, Order, OrderState};
use crate::settle::Source;
use crate::{OrderId, PaymentError, Payments};
use govhall_audit::{self as audit, Actor, Event};
use govhall_cases::queries::target;
use govhall_db::jobs::{JobContext, JobError, JobRegistry};
use govhall_db::{Tx, exec, sqlx};
use govhall_identity::{Access, AccountId, Permission};

/// Longest reason of a cancellation or refund.
pub const MAX_REASON: usize = 200;

pub(crate) fn register(p: &Payments, registry: &mut JobRegistry) {
    let payments = p.clone();
    registry.register(govhall_cases::payment_due::VOID_JOB, move |ctx: JobContext| {
        let payments = payments.clone();
        async move {
            let void: govhall_cases::payment_due::PaymentVoid = ctx.payload()?;
            payments.void(void.case, &void.step, &ctx).await.map_err(JobError::retry)
        }
    });
    let payments = p.clone();
    registry.register(EXPIRE_JOB, move |ctx: JobContext| {
        let payments = payments.clone();
        async move {
            let job: ExpireOrder = ctx.payload()?;
            payments.expire(job.order, &ctx).await.map_err(JobError::retry)
        }
    });
}

impl Payments {
    /// Sends the payer to the gateway: registers the payment there (the first time, or again
    /// after a failure) and returns the gateway's page.
    pub async fn start(&self, viewer: AccountId, id: OrderId) -> Result<String, PaymentError> {
        let order = self.payer_order(viewer, id).await?;
        if !order.state.is_payable() {
            return Err(PaymentError::WrongState(format!("缴款单{}，不能缴费", order.state.label())));
        }
        if order.expires_at <= self.db().now() {
            return Err(PaymentError::Expired);
        }
        if order.state == OrderState::Submitted {
            return Err(PaymentError::WrongState("银行正在处理这笔缴费，请稍后刷新查看结果，不要重复支付".into()));
        }
        let (case, _) = self.cases().for_reckoning(order.case_id).await?;
        if !case.is_open || case.step != order.step {
            return Err(PaymentError::WrongState("办件已不在待缴费环节，该缴款单无需缴纳".into()));
        }
        let request = CreatePayment {
            merchant: order.merchant.clone(),
            notice_number: order.notice_number.clone(),
            amount_fen: order.total.fen(),
            currency: "CNY".into(),
            items: order
                .lines
                .iter()
                .map(|l| WireLine { code: l.code.clone(), name: l.name.clone(), amount_fen: l.amount.fen() })
                .collect(),
            payer: order.payer_name.clone(),
            subject: order.subject.clone(),
            notify_url: self.notify_url(),
            return_url: self.return_url(order.id),
            expires_at: order.expires_at,
        };
        let created = self.gateway().create(&request).await?;
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(concat!(
                "UPDATE payment_orders SET state = 'started', trade_no = $1, pay_url = $2, updated_at = $3,
                    revision = revision + 1
                 WHERE id = $4 AND state IN ",
                crate::order::payable!()
            ))
            .bind(&created.trade_no)
            .bind(&created.pay_url)
            .bind(self.db().now())
            .bind(order.id.as_uuid())
        )?;
        tx.commit().await?;
        Ok(created.pay_url)
    }

    /// The payer came back from the gateway: unless the order is settled, the gateway is asked
    /// where the payment stands (a verified answer settles it as a notification would).
    pub async fn check(&self, viewer: AccountId, id: OrderId) -> Result<Order, PaymentError> {
        let order = self.payer_order(viewer, id).await?;
        self.refresh(order).await
    }

    /// Asks the gateway about a payable order that went to it, and applies the answer.
    pub(crate) async fn refresh(&self, order: Order) -> Result<Order, PaymentError> {
        if !order.state.is_payable() || order.trade_no.is_none() {
            return Ok(order);
        }
        let result = match self.gateway().query(&order.merchant, &order.notice_number).await {
            Ok(result) => result,
            Err(e @ (PaymentError::Gateway(_) | PaymentError::BadSignature | PaymentError::BadMessage(_))) => {
                tracing::warn!(notice = %order.notice_number, error = %e, "gateway query failed");
                return Ok(order);
            }
            Err(e) => return Err(e),
        };
        match self.apply(result, Source::Query).await {
            Ok(settled) => Ok(settled.order),
            Err(PaymentError::Gateway(_) | PaymentError::BadSignature | PaymentError::BadMessage(_)) => Ok(order),
            Err(e) => Err(e),
        }
    }

    /// Cancels a payable order: the payer (then the case waits for a re-issued order) or staff
    /// with `payment.manage`.
    pub async fn cancel(
        &self,
        by: Canceller<'_>,
        actor: &Actor,
        id: OrderId,
        reason: &str,
    ) -> Result<Order, PaymentError> {
        let reason = reason.trim();
        if reason.chars().count() > MAX_REASON {
            return Err(PaymentError::Invalid(format!("原因不能超过 {MAX_REASON} 个字")));
        }
        let order = match by {
            Canceller::Payer(viewer) => self.payer_order(viewer, id).await?,
            Canceller::Staff(access) => self.staff_order(access, Permission::PaymentManage, id).await?,
        };
        if !order.state.is_payable() {
            return Err(PaymentError::WrongState(format!("缴款单{}，不能取消", order.state.label())));
        }
        // A payment under way at the gateway may still succeed: ask before calling it off.
        let order = self.refresh(order).await?;
        if !order.state.is_payable() {
            return Err(PaymentError::WrongState(format!("缴款单{}，不能取消", order.state.label())));
        }
        let note = if reason.is_empty() { "已取消".to_owned() } else { reason.to_owned() };
        let serial = self.cases().serial_of(order.case_id).await?;
        let mut tx = self.db().begin().await?;
        let order =
            self.close(&mut tx, &order, &serial, OrderState::Cancelled, &note).await?.ok_or(PaymentError::Stale)?;
        audit::record(
            &mut tx,
            actor,
            Event::success("payment.cancel", "payment_order", &order.notice_number).detail(&note),
        )
        .await?;
        tx.commit().await?;
        Ok(order)
    }

    /// The expiry job: an order still payable at its expiry is asked about once more, then
    /// closed as expired.
    async fn expire(&self, id: OrderId, ctx: &JobContext) -> Result<(), PaymentError> {
        let mut conn = self.db().conn().await?;
        let order = order::order_by_id(&mut conn, id).await?.ok_or(PaymentError::NotFound)?;
        drop(conn);
        let order = match self.refresh(order).await {
            Ok(order) => order,
            Err(e) => return Err(e),
        };
        if order.state.is_payable() && order.expires_at > self.db().now() {
            // Not yet (the clock of a test, or a node ahead): run again at the expiry.
            return Err(PaymentError::Internal("缴款单尚未到期".into()));
        }
        let serial = self.cases().serial_of(order.case_id).await?;
        let mut tx = self.db().begin().await?;
        let closed = if order.state.is_payable() {
            self.close(&mut tx, &order, &serial, OrderState::Expired, "超过缴费期限未缴费").await?
        } else {
            None
        };
        if closed.is_some() {
            let event = Event::success("payment.expire", "payment_order", &order.notice_number);
            audit::record(&mut tx, &Actor::system("网上缴费"), event).await?;
        }
        ctx.complete_in(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A case left its payment step without paying (withdrawn): its payable orders there are
    /// void (cancelled; a payment under way at the gateway is asked about first).
    async fn void(&self, case: govhall_cases::CaseId, step: &str, ctx: &JobContext) -> Result<(), PaymentError> {
        let mut conn = self.db().conn().await?;
        let orders: Vec<Order> = order::orders_of_case(&mut conn, case)
            .await?
            .into_iter()
            .filter(|o| o.step == step && o.state.is_payable())
            .collect();
        drop(conn);
        let serial = self.cases().serial_of(case).await?;
        let mut closed = Vec::new();
        for o in orders {
            closed.push(self.refresh(o).await?);
        }
        let mut tx = self.db().begin().await?;
        for o in closed.iter().filter(|o| o.state.is_payable()) {
            if self.close(&mut tx, o, &serial, OrderState::Cancelled, "办件已撤回，缴款单作废").await?.is_some()
            {
                let event = Event::success("payment.void", "payment_order", &o.notice_number).detail("办件已撤回");
                audit::record(&mut tx, &Actor::system("网上缴费"), event).await?;
            }
        }
        ctx.complete_in(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes a payable order (cancelled, expired), calls off its reminder and tells the payer.
    /// `serial` is the case's number, read before the transaction.
    async fn close(
        &self,
        tx: &mut Tx,
        order: &Order,
        serial: &str,
        state: OrderState,
        note: &str,
    ) -> Result<Option<Order>, PaymentError> {
        let changed = exec!(
            tx,
            sqlx::query(concat!(
                "UPDATE payment_orders SET state = $1, closed_note = $2, updated_at = $3, revision = revision + 1
                 WHERE id = $4 AND state IN ",
                crate::order::payable!()
            ))
            .bind(state.as_str())
            .bind(note)
            .bind(self.db().now())
            .bind(order.id.as_uuid())
        )?;
        if changed == 0 {
            return Ok(None);
        }
        let closed = order::order_by_id(tx, order.id).await?.ok_or(PaymentError::NotFound)?;
        govhall_messaging::cancel_keys_in(tx, &[notify::reminder_key(order)], note).await?;
        let key = format!("payment:{}:{}", order.id.as_uuid(), state.as_str());
        let messages = notify::messages(CLOSED, &closed, None, notify::params(&closed, serial), &key, true, None);
        notify::send(tx, self.messaging(), messages).await?;
        Ok(Some(closed))
    }

    /// An order its payer (or a member of the paying enterprise) may see; others: not found.
    pub async fn payer_order(&self, viewer: AccountId, id: OrderId) -> Result<Order, PaymentError> {
        let mut conn = self.db().conn().await?;
        let order = order::order_by_id(&mut conn, id).await?.ok_or(PaymentError::NotFound)?;
        drop(conn);
        if order.payer_id == viewer {
            return Ok(order);
        }
        let (case, _) = self.cases().for_reckoning(order.case_id).await?;
        if self.cases().applicant_may_see(viewer, &case).await? { Ok(order) } else { Err(PaymentError::NotFound) }
    }

    /// An order staff may act on with `permission` (seeing needs `case.view` over its case).
    pub async fn staff_order(
        &self,
        access: &Access,
        permission: Permission,
        id: OrderId,
    ) -> Result<Order, PaymentError> {
        let mut conn = self.db().conn().await?;
        let order = order::order_by_id(&mut conn, id).await?.ok_or(PaymentError::NotFound)?;
        drop(conn);
        let (case, _) = self.cases().for_reckoning(order.case_id).await?;
        if !access.covers(Permission::CaseView, &target(&case)) {
            return Err(PaymentError::NotFound);
        }
        if !access.covers(permission, &target(&case)) {
            return Err(PaymentError::Forbidden(format!("您没有“{}”权限", permission.label())));
        }
        Ok(order)
    }
}

/// Who cancels an order.
#[derive(Debug, Clone, Copy)]
pub enum Canceller<'a> {
    /// Its payer.
    Payer(AccountId),
    /// Staff.
    Staff(&'a Access),
}
