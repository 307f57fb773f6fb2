//! Refunds (退款): staff with `payment.refund` return part or all of a paid order, with a reason.
//! The amount is reserved on the order (never beyond what was paid, whatever runs at once) and
//! the refund recorded as pending in one transaction, with a job that keeps asking the gateway
//! under the same refund number until it answers; only the gateway's answer settles it: success
//! (the payer is told; the order is `refunded` once all of it is) or refusal (the reservation is
//! given back). A lost answer never frees the amount for a second refund.

use crate::gateway::protocol::{RefundRequest, RefundResult};
use crate::lifecycle::MAX_REASON;
use crate::notify::{self, REFUNDED};
use crate::order::{self, Order, OrderState};
use crate::{OrderId, PaymentError, Payments, RefundId};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::Money;
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{exec, run, sqlx};
use govhall_identity::{Access, Permission};
use serde::{Deserialize, Serialize};

/// The job that asks the gateway again about a pending refund.
pub(crate) const REFUND_JOB: &str = "payments.refund";

#[derive(Debug, Serialize, Deserialize)]
struct RefundJob {
    refund: RefundId,
}

/// What became of a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundOutcome {
    /// The money went back.
    Succeeded,
    /// The gateway refused it (the reservation was given back).
    Refused,
    /// No answer yet: asked again in the background.
    Pending,
}

pub(crate) fn register(p: &Payments, registry: &mut JobRegistry) {
    let payments = p.clone();
    registry.register(REFUND_JOB, move |ctx: JobContext| {
        let payments = payments.clone();
        async move {
            let job: RefundJob = ctx.payload()?;
            match payments.ask_refund(job.refund, Some(&ctx)).await {
                Ok(RefundOutcome::Pending) => Err(JobError::retry("支付网关尚未答复退款")),
                Ok(_) => Ok(()),
                Err(e) => Err(JobError::retry(e)),
            }
        }
    });
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    order_id: uuid::Uuid,
    amount_fen: i64,
    reason: String,
    state: String,
}

impl Payments {
    /// Refunds `amount` of a paid order; returns the order and whether the gateway has answered.
    pub async fn refund(
        &self,
        access: &Access,
        actor: &Actor,
        id: OrderId,
        amount: Money,
        reason: &str,
    ) -> Result<(Order, RefundOutcome), PaymentError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(PaymentError::Invalid(format!("请填写退款原因（不超过 {MAX_REASON} 个字）")));
        }
        let order = self.staff_order(access, Permission::PaymentRefund, id).await?;
        if order.state != OrderState::Success {
            return Err(PaymentError::WrongState(format!("缴款单{}，不能退款", order.state.label())));
        }
        if amount == Money::ZERO {
            return Err(PaymentError::Invalid("退款金额应大于 0".into()));
        }
        if amount > order.refundable() {
            return Err(PaymentError::RefundTooLarge(order.refundable().yuan()));
        }
        let refund = RefundId::new();
        let now = self.db().now();
        let by_name = actor.label.split_once(':').map_or(actor.label.as_str(), |(_, n)| n).to_owned();
        let mut tx = self.db().begin().await?;
        let reserved = exec!(
            tx,
            sqlx::query(
                "UPDATE payment_orders SET refunded_fen = refunded_fen + $1, updated_at = $2, revision = revision + 1
                 WHERE id = $3 AND state = 'success' AND refunded_fen + $1 <= total_fen"
            )
            .bind(amount.fen())
            .bind(now)
            .bind(order.id.as_uuid())
        )?;
        if reserved == 0 {
            return Err(PaymentError::RefundTooLarge(order.refundable().yuan()));
        }
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO payment_refunds (id, order_id, amount_fen, reason, state, by_account, by_name, created_at)
                 VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7)"
            )
            .bind(refund.as_uuid())
            .bind(order.id.as_uuid())
            .bind(amount.fen())
            .bind(reason)
            .bind(actor.id.map(|a| a.as_uuid()))
            .bind(&by_name)
            .bind(now)
        )?;
        let job = NewJob::new(REFUND_JOB, RefundJob { refund })?
            .run_at(now + chrono::Duration::minutes(1))
            .idempotency_key(format!("payment:refund:{}:ask", refund.as_uuid()));
        jobs::enqueue(&mut tx, job).await?;
        let detail = format!("{} 元：{reason}（已提交支付网关）", amount.yuan());
        audit::record(
            &mut tx,
            actor,
            Event::success("payment.refund", "payment_order", &order.notice_number).detail(detail),
        )
        .await?;
        tx.commit().await?;
        // Ask at once; without an answer, the job asks again.
        let outcome = self.ask_refund(refund, None).await?;
        Ok((self.staff_order(access, Permission::PaymentRefund, id).await?, outcome))
    }

    /// Asks the gateway about a pending refund (the same refund number every time) and settles
    /// it by the answer.
    async fn ask_refund(&self, refund: RefundId, job: Option<&JobContext>) -> Result<RefundOutcome, PaymentError> {
        let mut conn = self.db().conn().await?;
        let row: RefundRow = run!(conn, |c| sqlx::query_as(
            "SELECT order_id, amount_fen, reason, state FROM payment_refunds WHERE id = $1"
        )
        .bind(refund.as_uuid())
        .fetch_optional(&mut *c)
        .await)?
        .ok_or(PaymentError::NotFound)?;
        let order =
            order::order_by_id(&mut conn, OrderId::from_uuid(row.order_id)).await?.ok_or(PaymentError::NotFound)?;
        drop(conn);
        if row.state != "pending" {
            if let Some(ctx) = job {
                let mut tx = self.db().begin().await?;
                ctx.complete_in(&mut tx).await?;
                tx.commit().await?;
            }
            return Ok(if row.state == "succeeded" { RefundOutcome::Succeeded } else { RefundOutcome::Refused });
        }
        let request = RefundRequest {
            merchant: order.merchant.clone(),
            notice_number: order.notice_number.clone(),
            refund_no: refund.as_uuid().simple().to_string(),
            amount_fen: row.amount_fen,
            reason: row.reason.clone(),
        };
        let answer: RefundResult = match self.gateway().refund(&request).await {
            Ok(answer) if answer.refund_no == request.refund_no => answer,
            Ok(_) | Err(PaymentError::Gateway(_) | PaymentError::BadSignature | PaymentError::BadMessage(_)) => {
                return Ok(RefundOutcome::Pending);
            }
            Err(e) => return Err(e),
        };
        let phone =
            if answer.success { self.identity().account(order.payer_id).await.ok().map(|a| a.phone) } else { None };
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        let state = if answer.success { "succeeded" } else { "failed" };
        let settled = exec!(
            tx,
            sqlx::query("UPDATE payment_refunds SET state = $1, gateway_ref = $2 WHERE id = $3 AND state = 'pending'")
                .bind(state)
                .bind(Some(answer.gateway_ref.clone()).filter(|r| !r.is_empty()))
                .bind(refund.as_uuid())
        )?;
        if settled == 1 {
            let amount = Money::from_fen(row.amount_fen).map_err(|e| PaymentError::Internal(e.to_string()))?;
            let gateway = Actor::system("支付网关");
            if answer.success {
                exec!(
                    tx,
                    sqlx::query(
                        "UPDATE payment_orders SET updated_at = $1,
                            state = CASE WHEN refunded_fen = total_fen THEN 'refunded' ELSE state END
                         WHERE id = $2 AND state IN ('success', 'refunded')"
                    )
                    .bind(now)
                    .bind(order.id.as_uuid())
                )?;
                let updated = order::order_by_id(&mut tx, order.id).await?.ok_or(PaymentError::NotFound)?;
                let mut params = notify::params(&updated, "");
                params["amount"] = amount.yuan().into();
                params["reason"] = row.reason.clone().into();
                let key = format!("payment:refund:{}", refund.as_uuid());
                let messages = notify::messages(REFUNDED, &updated, phone.as_ref(), params, &key, true, None);
                notify::send(&mut tx, self.messaging(), messages).await?;
                let event =
                    Event::success("payment.refunded", "payment_order", &order.notice_number).detail(amount.yuan());
                audit::record(&mut tx, &gateway, event).await?;
            } else {
                exec!(
                    tx,
                    sqlx::query(
                        "UPDATE payment_orders SET refunded_fen = refunded_fen - $1, updated_at = $2,
                            state = CASE WHEN state = 'refunded' THEN 'success' ELSE state END
                         WHERE id = $3"
                    )
                    .bind(row.amount_fen)
                    .bind(now)
                    .bind(order.id.as_uuid())
                )?;
                let detail = format!("{} 元被支付网关拒绝：{}", amount.yuan(), answer.message);
                let event = Event::success("payment.refund_refused", "payment_order", &order.notice_number)
                    .outcome(audit::Outcome::Failure)
                    .detail(detail);
                audit::record(&mut tx, &gateway, event).await?;
            }
        }
        if let Some(ctx) = job {
            ctx.complete_in(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(if answer.success { RefundOutcome::Succeeded } else { RefundOutcome::Refused })
    }
}
