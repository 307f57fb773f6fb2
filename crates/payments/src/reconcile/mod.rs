//! Daily reconciliation (对账, design step 11): the gateway's statement of a day, streamed line
//! by line (memory bounded by the hall's paid orders of that day, never by the file), matched
//! against the hall's orders: paid on both sides; paid there but not here (a notification that
//! never came: the order is settled now, as a notification would); paid here but not there;
//! amounts that differ; a payment twice; payments of orders the hall closed or never issued.
//! Nothing counts unless the whole statement's signature verifies. Every discrepancy is a task
//! staff resolve with a note (audited); re-running a day replaces what is unresolved.

mod model;
mod statement;
mod tasks;

pub use model::{Discrepancy, DiscrepancyKind, Found, Reconciliation};
pub use tasks::workbook;

use crate::gateway::protocol::{PaymentResult, STATEMENT_HEADER, Verifier, WireStatus};
use crate::order::{self, OrderState};
use crate::settle::{Effect, Source};
use crate::{PaymentError, Payments};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Db, DbError, exec, run, sqlx};
use statement::{HallPaid, Line, MAX_LINE, bad, day_bounds, parse_line};
use std::collections::HashMap;
use tasks::reconciliation_by_id;
use uuid::Uuid;

/// The daily job's name.
pub const RECONCILE_JOB: &str = "payments.reconcile";

/// Statement lines settled at once (each needs a connection of its own for a moment).
const SETTLING_AT_ONCE: usize = 4;

impl Payments {
    /// Fetches the gateway's statement of `day` and reconciles it (the daily job, and staff's
    /// button).
    pub async fn reconcile(&self, day: NaiveDate, actor: &Actor) -> Result<Reconciliation, PaymentError> {
        let merchant = self.settings().merchant.clone();
        let statement = self.gateway().statement(&merchant, day).await?;
        self.reconcile_stream(day, &merchant, statement.pieces, Some(statement.verifier), actor).await
    }

    /// Reconciles a statement arriving as `pieces`; with `verifier`, its signature must verify
    /// before anything is written.
    pub async fn reconcile_stream(
        &self,
        day: NaiveDate,
        merchant: &str,
        mut pieces: BoxStream<'_, Result<Vec<u8>, PaymentError>>,
        mut verifier: Option<Verifier>,
        actor: &Actor,
    ) -> Result<Reconciliation, PaymentError> {
        let (start, end) = day_bounds(day);
        let mut hall = self.hall_paid(merchant, start, end).await?;
        let hall_orders = i64::try_from(hall.len()).unwrap_or(i64::MAX);
        let hall_fen: i64 = hall.values().map(|h| h.fen).sum();
        let mut found: Vec<Found> = Vec::new();
        let mut later: Vec<Line> = Vec::new();
        let (mut lines, mut statement_fen, mut matched) = (0i64, 0i64, 0i64);
        let mut buffer: Vec<u8> = Vec::new();
        let mut n = 0usize;
        let mut header_seen = false;
        let mut take = |text: &str, n: usize| -> Result<(), PaymentError> {
            if !header_seen {
                if text.trim_start_matches('\u{feff}').trim() != STATEMENT_HEADER {
                    return Err(bad(1, &format!("应为表头“{STATEMENT_HEADER}”")));
                }
                header_seen = true;
                return Ok(());
            }
            if text.trim().is_empty() {
                return Ok(());
            }
            let Some(line) = parse_line(n, text)? else { return Ok(()) };
            lines += 1;
            statement_fen = statement_fen.checked_add(line.fen).ok_or_else(|| bad(n, "使合计金额超出范围"))?;
            match hall.get_mut(&line.notice) {
                Some(h) if h.seen => found.push(Found {
                    notice_number: line.notice,
                    kind: DiscrepancyKind::Duplicate,
                    statement_fen: Some(line.fen),
                    hall_fen: Some(h.fen),
                    trade_no: line.trade_no,
                    detail: "对账单中同一缴款码出现多笔支付".into(),
                }),
                Some(h) => {
                    h.seen = true;
                    if h.fen != line.fen {
                        found.push(Found {
                            notice_number: line.notice,
                            kind: DiscrepancyKind::AmountMismatch,
                            statement_fen: Some(line.fen),
                            hall_fen: Some(h.fen),
                            trade_no: line.trade_no,
                            detail: String::new(),
                        });
                    } else if h.trade_no != line.trade_no {
                        found.push(Found {
                            notice_number: line.notice,
                            kind: DiscrepancyKind::Duplicate,
                            statement_fen: Some(line.fen),
                            hall_fen: Some(h.fen),
                            trade_no: line.trade_no,
                            detail: format!("大厅记录的交易号为 {}", h.trade_no),
                        });
                    } else {
                        matched += 1;
                    }
                }
                None => later.push(line),
            }
            Ok(())
        };
        while let Some(piece) = pieces.next().await {
            let piece = piece?;
            if let Some(v) = verifier.as_mut() {
                v.update(&piece);
            }
            buffer.extend_from_slice(&piece);
            let mut from = 0;
            while let Some(at) = buffer[from..].iter().position(|b| *b == b'\n') {
                n += 1;
                let raw = &buffer[from..from + at];
                if raw.len() > MAX_LINE {
                    return Err(bad(n, &format!("超过 {MAX_LINE} 字节")));
                }
                let text = std::str::from_utf8(raw).map_err(|_| bad(n, "不是 UTF-8 文本"))?;
                take(text.trim_end_matches('\r'), n)?;
                from += at + 1;
            }
            buffer.drain(..from);
            if buffer.len() > MAX_LINE {
                return Err(bad(n + 1, &format!("超过 {MAX_LINE} 字节")));
            }
        }
        if !buffer.is_empty() {
            n += 1;
            let text = std::str::from_utf8(&buffer).map_err(|_| bad(n, "不是 UTF-8 文本"))?.to_owned();
            take(text.trim_end_matches('\r'), n)?;
        }
        if !header_seen {
            return Err(PaymentError::BadMessage("对账单为空（缺少表头）".into()));
        }
        if let Some(v) = verifier
            && !v.verify()
        {
            return Err(PaymentError::BadSignature);
        }
        // Payments the hall has not on that day: settle what the gateway was paid for, a few at
        // once (each in its own transaction; two lines of one order race fairly: one pays it,
        // the other is a payment twice).
        let mut settled = 0;
        let mut settling = futures::stream::iter(
            later.into_iter().map(|line| async move { self.settle_from_statement(merchant, &line).await }),
        )
        .buffer_unordered(SETTLING_AT_ONCE);
        while let Some(outcome) = settling.next().await {
            match outcome? {
                Ok(true) => settled += 1,
                Ok(false) => matched += 1,
                Err(f) => found.push(f),
            }
        }
        drop(settling);
        for (notice, h) in hall.into_iter().filter(|(_, h)| !h.seen) {
            found.push(Found {
                notice_number: notice,
                kind: DiscrepancyKind::MissingThere,
                statement_fen: None,
                hall_fen: Some(h.fen),
                trade_no: h.trade_no,
                detail: String::new(),
            });
        }
        // One task per order and kind (a third line of the same payment adds nothing new).
        let mut seen = std::collections::HashSet::new();
        found.retain(|f| seen.insert((f.notice_number.clone(), f.kind)));
        let counts = Counts { lines, statement_fen, hall_orders, hall_fen, matched, settled };
        self.record(day, merchant, counts, &found, actor).await
    }

    /// The orders paid on a day at the hall, by notice number.
    async fn hall_paid(
        &self,
        merchant: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<HashMap<String, HallPaid>, PaymentError> {
        let mut conn = self.db().conn().await?;
        let rows: Vec<(String, i64, Option<String>)> = run!(conn, |c| sqlx::query_as(
            "SELECT notice_number, total_fen, trade_no FROM payment_orders
             WHERE merchant = $1 AND paid_at >= $2 AND paid_at < $3 AND state IN ('success', 'refunded')"
        )
        .bind(merchant)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *c)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|(n, fen, t)| (n, HallPaid { fen, trade_no: t.unwrap_or_default(), seen: false }))
            .collect())
    }

    /// A statement line the hall has not among the day's paid orders: `Ok(Ok(true))` settled now,
    /// `Ok(Ok(false))` paid here on another day, `Ok(Err(_))` a discrepancy.
    async fn settle_from_statement(&self, merchant: &str, line: &Line) -> Result<Result<bool, Found>, PaymentError> {
        let mut conn = self.db().conn().await?;
        let order = order::order_by_notice(&mut conn, &line.notice).await?.filter(|o| o.merchant == merchant);
        drop(conn);
        let discrepancy = |kind: DiscrepancyKind, hall_fen: Option<i64>, detail: String| Found {
            notice_number: line.notice.clone(),
            kind,
            statement_fen: Some(line.fen),
            hall_fen,
            trade_no: line.trade_no.clone(),
            detail,
        };
        let Some(order) = order else {
            return Ok(Err(discrepancy(DiscrepancyKind::UnknownOrder, None, String::new())));
        };
        let hall_fen = Some(order.total.fen());
        match order.state {
            OrderState::Success | OrderState::Refunded if order.trade_no.as_deref() == Some(line.trade_no.as_str()) => {
                Ok(Ok(false))
            }
            OrderState::Success | OrderState::Refunded => Ok(Err(discrepancy(
                DiscrepancyKind::Duplicate,
                hall_fen,
                format!("大厅记录的交易号为 {}", order.trade_no.unwrap_or_default()),
            ))),
            OrderState::Cancelled | OrderState::Expired => {
                Ok(Err(discrepancy(DiscrepancyKind::ClosedOrder, hall_fen, format!("缴款单{}", order.state.label()))))
            }
            _ if order.total.fen() != line.fen => {
                Ok(Err(discrepancy(DiscrepancyKind::AmountMismatch, hall_fen, String::new())))
            }
            _ => {
                let result = PaymentResult {
                    merchant: merchant.to_owned(),
                    notice_number: line.notice.clone(),
                    trade_no: line.trade_no.clone(),
                    status: WireStatus::Success,
                    amount_fen: line.fen,
                    currency: line.currency.clone(),
                    paid_at: line.paid_at,
                    bank: None,
                    receipt: Some(line.receipt.clone()),
                };
                match self.apply(result, Source::Statement).await {
                    Ok(s) if s.effect == Effect::Settled => Ok(Ok(true)),
                    Ok(s) if s.effect == Effect::Duplicate => Ok(Ok(false)),
                    // Paid meanwhile by another payment (another line of the same order).
                    Ok(s) => Ok(Err(discrepancy(
                        DiscrepancyKind::Duplicate,
                        hall_fen,
                        format!("大厅记录的交易号为 {}", s.order.trade_no.unwrap_or_default()),
                    ))),
                    Err(e @ (PaymentError::Db(_) | PaymentError::Internal(_) | PaymentError::Stale)) => Err(e),
                    Err(e) => Ok(Err(discrepancy(DiscrepancyKind::MissingHere, hall_fen, e.to_string()))),
                }
            }
        }
    }

    async fn record(
        &self,
        day: NaiveDate,
        merchant: &str,
        c: Counts,
        found: &[Found],
        actor: &Actor,
    ) -> Result<Reconciliation, PaymentError> {
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        let id: Uuid = run!(tx, |conn| {
            sqlx::query_scalar(
            "INSERT INTO payment_reconciliations (id, day, merchant, statement_lines, statement_fen, hall_orders, hall_fen,
                matched, settled, discrepancies, runs, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11)
             ON CONFLICT (day, merchant) DO UPDATE SET statement_lines = $4, statement_fen = $5, hall_orders = $6,
                hall_fen = $7, matched = $8, settled = $9, discrepancies = $10,
                runs = payment_reconciliations.runs + 1, finished_at = $11
             RETURNING id"
        )
        .bind(Uuid::now_v7())
        .bind(day)
        .bind(merchant)
        .bind(c.lines)
        .bind(c.statement_fen)
        .bind(c.hall_orders)
        .bind(c.hall_fen)
        .bind(c.matched)
        .bind(c.settled)
        .bind(i64::try_from(found.len()).unwrap_or(i64::MAX))
        .bind(now)
        .fetch_one(&mut *conn)
        .await
        })?;
        exec!(
            tx,
            sqlx::query("DELETE FROM payment_discrepancies WHERE reconciliation_id = $1 AND resolved_at IS NULL")
                .bind(id)
        )?;
        for f in found {
            exec!(
                tx,
                sqlx::query(
                    "INSERT INTO payment_discrepancies (id, reconciliation_id, notice_number, kind, statement_fen, hall_fen,
                        trade_no, detail)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (reconciliation_id, notice_number, kind) DO NOTHING"
                )
                .bind(Uuid::now_v7())
                .bind(id)
                .bind(&f.notice_number)
                .bind(f.kind.as_str())
                .bind(f.statement_fen)
                .bind(f.hall_fen)
                .bind(&f.trade_no)
                .bind(f.detail.chars().take(500).collect::<String>())
            )?;
        }
        let detail = format!(
            "{day} {merchant}：对账单 {} 笔 {} 分，大厅 {} 笔 {} 分，一致 {}，补记 {}，差异 {}",
            c.lines,
            c.statement_fen,
            c.hall_orders,
            c.hall_fen,
            c.matched,
            c.settled,
            found.len()
        );
        audit::record(
            &mut tx,
            actor,
            Event::success("payment.reconcile", "reconciliation", day.to_string()).detail(detail),
        )
        .await?;
        let rec = reconciliation_by_id(&mut tx, id).await?.ok_or(PaymentError::NotFound)?;
        tx.commit().await?;
        Ok(rec)
    }
}

struct Counts {
    lines: i64,
    statement_fen: i64,
    hall_orders: i64,
    hall_fen: i64,
    matched: i64,
    settled: i64,
}

/// Enqueues the reconciliation of the day before `at`'s day, to run at `at`.
pub async fn schedule(db: &Db, at: DateTime<Utc>) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    let key = format!("{RECONCILE_JOB}:{}", at.format("%Y-%m-%d"));
    jobs::enqueue(&mut tx, NewJob::new(RECONCILE_JOB, ())?.idempotency_key(key).run_at(at)).await?;
    tx.commit().await
}

/// 03:00 China time on the day after `now`'s.
pub fn next_run(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = govhall_core::clock::china_date(now);
    let (start, _) = day_bounds(today + Duration::days(1));
    start + Duration::hours(3)
}

pub(crate) fn register(p: &Payments, registry: &mut JobRegistry) {
    let payments = p.clone();
    registry.register(RECONCILE_JOB, move |ctx: JobContext| {
        let payments = payments.clone();
        async move {
            let now = ctx.db.now();
            let yesterday = govhall_core::clock::china_date(now) - Duration::days(1);
            let rec = payments.reconcile(yesterday, &Actor::system("每日对账")).await.map_err(JobError::retry)?;
            tracing::info!(day = %rec.day, matched = rec.matched, settled = rec.settled, discrepancies = rec.discrepancies, "reconciled");
            schedule(&ctx.db, next_run(now)).await.map_err(JobError::from)
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_china_days_and_the_job_runs_at_three() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or_default();
        let (start, end) = day_bounds(day);
        assert_eq!(start.to_rfc3339(), "2026-12-04T16:00:00+00:00");
        assert_eq!(end - start, Duration::days(1));
        let now = DateTime::parse_from_rfc3339("2026-12-05T20:00:00+00:00").unwrap_or_default().with_timezone(&Utc);
        assert_eq!(next_run(now).to_rfc3339(), "2026-12-06T19:00:00+00:00", "03:00 on the 7th in China");
    }
}
