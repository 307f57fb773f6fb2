//! Settling an order from the gateway's word (design steps 7–9): a notification whose signature
//! verifies, or the gateway's signed answer to a query — never the browser's return. A success
//! of the right amount in CNY for a payable order marks it paid with its electronic receipt
//! number, moves the case out of its payment step, calls off the reminder, tells the payer and
//! audits, all in one transaction; the conditional update lets exactly one of any number of
//! concurrent replays do it, on any number of nodes. Refused messages change nothing but the
//! log of gateway messages and the audit log.

use crate::gateway::protocol::{PaymentResult, Signed, WireStatus};
use crate::notify::{self, PAID};
use crate::order::{self, Order, OrderState};
use crate::{PaymentError, Payments};
use chrono::Utc;
use govhall_audit::{self as audit, Actor, Event, Outcome};
use govhall_cases::CaseError;
use govhall_cases::transition::Action;
use govhall_cases::workflow::PAID as PAID_ACTION;
use govhall_db::{Tx, exec, run, sqlx};
use uuid::Uuid;

/// Where a gateway message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Posted by the gateway.
    Notification,
    /// The answer to the hall's query.
    Query,
    /// A line of the gateway's daily statement (a payment the hall was never told of).
    Statement,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Notification => "notification",
            Source::Query => "query",
            Source::Statement => "statement",
        }
    }
}

/// What a gateway message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// It paid the order (this message, and no other, moved the case).
    Settled,
    /// The order was paid already by this payment.
    Duplicate,
    /// Recorded without paying (a failure, a pending payment, a second payment of a paid order).
    Noted,
}

impl Effect {
    fn as_str(self) -> &'static str {
        match self {
            Effect::Settled => "settled",
            Effect::Duplicate => "duplicate",
            Effect::Noted => "noted",
        }
    }
}

/// The order after a gateway message.
#[derive(Debug)]
pub struct Settled {
    /// The order as it now is.
    pub order: Order,
    /// What the message did.
    pub effect: Effect,
}

fn gateway_actor() -> Actor {
    Actor::system("支付网关")
}

impl Payments {
    /// Reads a notification the gateway posted (signature first) and applies it.
    pub async fn accept_notification(&self, signed: &Signed, body: &[u8]) -> Result<Settled, PaymentError> {
        let result = match self.gateway().verify_notification(signed, body, Utc::now()) {
            Ok(result) => result,
            Err(e) => {
                // Anyone can send one: the server's log, not the database, records it.
                let claimed: String = serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.get("notice_number").and_then(|n| n.as_str()).map(str::to_owned))
                    .unwrap_or_default()
                    .chars()
                    .filter(char::is_ascii_digit)
                    .take(20)
                    .collect();
                tracing::warn!(notice = %claimed, code = govhall_core::Coded::code(&e), "gateway notification refused before reading");
                return Err(e);
            }
        };
        self.apply(result, Source::Notification).await
    }

    /// Applies a verified gateway result; a refusal is logged and audited, and nothing else
    /// changes.
    pub(crate) async fn apply(&self, result: PaymentResult, source: Source) -> Result<Settled, PaymentError> {
        match self.try_apply(&result, source).await {
            Ok(settled) => Ok(settled),
            Err(e @ (PaymentError::Db(_) | PaymentError::Internal(_) | PaymentError::Stale)) => Err(e),
            Err(e) => {
                self.refused(&result.notice_number, source, &e).await?;
                Err(e)
            }
        }
    }

    async fn try_apply(&self, result: &PaymentResult, source: Source) -> Result<Settled, PaymentError> {
        if result.status == WireStatus::Success && result.currency != "CNY" {
            return Err(PaymentError::WrongCurrency);
        }
        // Read before the transaction: a transaction never waits for a second connection (on
        // PostgreSQL, replays queued on the order's row lock would hold every one).
        let mut conn = self.db().conn().await?;
        let order = order::order_by_notice(&mut conn, &result.notice_number)
            .await?
            .filter(|o| o.merchant == result.merchant)
            .ok_or(PaymentError::UnknownOrder)?;
        drop(conn);
        if result.status == WireStatus::Success && result.amount_fen != order.total.fen() {
            return Err(PaymentError::AmountMismatch);
        }
        let phone = match result.status {
            WireStatus::Success if order.state.is_payable() => {
                self.identity().account(order.payer_id).await.ok().map(|a| a.phone)
            }
            _ => None,
        };
        let mut tx = self.db().begin().await?;
        let (effect, changed) = match result.status {
            WireStatus::Success => {
                let (effect, now) = self.pay(&mut tx, &order, result, phone.as_ref()).await?;
                (effect, Some(now))
            }
            WireStatus::Failed if order.state.is_payable() && order.state != OrderState::Failed => {
                self.set_state(&mut tx, &order, OrderState::Failed).await?;
                (Effect::Noted, None)
            }
            WireStatus::Pending if matches!(order.state, OrderState::Created | OrderState::Started) => {
                exec!(
                    tx,
                    sqlx::query(
                        "UPDATE payment_orders SET state = 'submitted', updated_at = $1, revision = revision + 1
                         WHERE id = $2 AND state IN ('created', 'started')"
                    )
                    .bind(self.db().now())
                    .bind(order.id.as_uuid())
                )?;
                (Effect::Noted, None)
            }
            _ => (Effect::Noted, Some(order.clone())),
        };
        let detail = format!("{:?} {} 分 {}", result.status, result.amount_fen, result.trade_no);
        log_message(&mut tx, Some(&order), &result.notice_number, source, effect.as_str(), "ok", &detail).await?;
        let order = match changed {
            Some(order) => order,
            None => order::order_by_id(&mut tx, order.id).await?.ok_or(PaymentError::NotFound)?,
        };
        tx.commit().await?;
        Ok(Settled { order, effect })
    }

    /// What a success does to an order that was `order` when read: the first message pays it
    /// (the conditional update picks it), the others find it paid. Returns the order as it
    /// now is.
    async fn pay(
        &self,
        tx: &mut Tx,
        order: &Order,
        result: &PaymentResult,
        phone: Option<&govhall_core::Phone>,
    ) -> Result<(Effect, Order), PaymentError> {
        let Some(receipt) = result.receipt.as_ref().filter(|_| order.state.is_payable()) else {
            return self.already(tx, order, result).await.map(|effect| (effect, order.clone()));
        };
        let now = self.db().now();
        // The paid order comes back from the update itself (its lines are the ones read).
        let sql = format!(
            concat!(
                "UPDATE payment_orders SET state = 'success', trade_no = $1, bank = $2, paid_at = $3, receipt_code = $4,
                    receipt_number = $5, receipt_check = $6, updated_at = $7, revision = revision + 1
                 WHERE id = $8 AND state IN ",
                crate::order::payable!(),
                " RETURNING {}"
            ),
            order::ORDER_COLUMNS
        );
        let row: Option<order::OrderRow> = run!(tx, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&result.trade_no)
            .bind(result.bank.as_deref().map(|b| govhall_core::text::clean(b).into_owned()))
            .bind(result.paid_at.unwrap_or(now))
            .bind(&receipt.code)
            .bind(&receipt.number)
            .bind(&receipt.check)
            .bind(now)
            .bind(order.id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        let Some(row) = row else {
            // Another message paid it (or someone closed it) meanwhile: read it as it is now.
            let now = order::order_by_id(tx, order.id).await?.ok_or(PaymentError::NotFound)?;
            return self.already(tx, &now, result).await.map(|effect| (effect, now));
        };
        let paid = row.into_order(order.lines.clone())?;
        let actor = gateway_actor();
        let receipt_text = paid.receipt.as_ref().map(|r| r.display()).unwrap_or_default();
        let note = format!("已缴费 {} 元，电子票据号 {receipt_text}", paid.total.yuan());
        // The payer's message below says what comes next: the case sends none of its own.
        let action = Action { case: order.case_id, action: PAID_ACTION.into(), note, quiet: true, ..Action::default() };
        let (serial, next) = match self.cases().act_in(tx, &actor, action).await {
            Ok(case) => {
                let next = case.current().map(|s| s.name.clone()).unwrap_or_default();
                (case.serial_number, next)
            }
            // The case left its payment step (withdrawn meanwhile): the money is kept on the
            // order for staff to refund.
            Err(CaseError::IllegalTransition(_) | CaseError::Forbidden(_)) => {
                tracing::warn!(notice = %order.notice_number, "paid order of a case no longer waiting for payment");
                (String::new(), String::new())
            }
            Err(e) => return Err(e.into()),
        };
        govhall_messaging::cancel_keys_in(tx, &[notify::reminder_key(order)], "已缴费").await?;
        let mut params = notify::params(&paid, &serial);
        params["step"] = next.into();
        let key = format!("payment:{}:paid", order.id.as_uuid());
        notify::send(tx, self.messaging(), notify::messages(PAID, &paid, phone, params, &key, true, None)).await?;
        let detail = format!("{} 元，交易号 {}，电子票据号 {receipt_text}", paid.total.yuan(), result.trade_no);
        audit::record(tx, &actor, Event::success("payment.paid", "payment_order", &order.notice_number).detail(detail))
            .await?;
        Ok((Effect::Settled, paid))
    }

    /// A success for an order that is no longer payable.
    async fn already(&self, _tx: &mut Tx, order: &Order, result: &PaymentResult) -> Result<Effect, PaymentError> {
        match order.state {
            OrderState::Success | OrderState::Refunded
                if order.trade_no.as_deref() == Some(result.trade_no.as_str()) =>
            {
                Ok(Effect::Duplicate)
            }
            // A second payment of a paid order: kept in the log for reconciliation to refund.
            OrderState::Success | OrderState::Refunded => Ok(Effect::Noted),
            OrderState::Expired | OrderState::Cancelled => Err(PaymentError::Expired),
            _ => Err(PaymentError::BadMessage("支付成功的通知缺少电子票据号".into())),
        }
    }

    async fn set_state(&self, tx: &mut Tx, order: &Order, state: OrderState) -> Result<(), PaymentError> {
        exec!(
            tx,
            sqlx::query(concat!(
                "UPDATE payment_orders SET state = $1, updated_at = $2, revision = revision + 1
                 WHERE id = $3 AND state IN ",
                crate::order::payable!()
            ))
            .bind(state.as_str())
            .bind(self.db().now())
            .bind(order.id.as_uuid())
        )?;
        Ok(())
    }

    /// Logs and audits a refused gateway message, in a transaction of its own.
    async fn refused(&self, notice: &str, source: Source, e: &PaymentError) -> Result<(), PaymentError> {
        let notice: String = notice.chars().filter(char::is_ascii_digit).take(20).collect();
        let code = govhall_core::Coded::code(e);
        let mut tx = self.db().begin().await?;
        let order = order::order_by_notice(&mut tx, &notice).await?;
        log_message(&mut tx, order.as_ref(), &notice, source, "refused", code, &e.to_string()).await?;
        let what = format!("payment.{}_refused", source.as_str());
        let event =
            Event::success(&what, "payment_order", &notice).outcome(Outcome::Failure).detail(format!("{code}：{e}"));
        audit::record(&mut tx, &gateway_actor(), event).await?;
        tx.commit().await?;
        tracing::warn!(%notice, code, "gateway message refused");
        Ok(())
    }
}

async fn log_message(
    tx: &mut Tx,
    order: Option<&Order>,
    notice: &str,
    source: Source,
    outcome: &str,
    code: &str,
    detail: &str,
) -> Result<(), PaymentError> {
    let now = tx.db().now();
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO payment_messages (id, order_id, notice_number, source, outcome, code, detail, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(Uuid::now_v7())
        .bind(order.map(|o| o.id.as_uuid()))
        .bind(notice)
        .bind(source.as_str())
        .bind(outcome)
        .bind(code)
        .bind(detail.chars().take(500).collect::<String>())
        .bind(now)
    )?;
    Ok(())
}
