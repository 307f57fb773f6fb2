//! Daily reconciliation (对账, design step 11): the gateway's statement of a day, streamed line
//! by line (memory bounded by the hall's paid orders of that day, never by the file), matched
//! against the hall's orders: paid on both sides; paid there but not here (a notification that
//! never came: the order is settled now, as a notification would); paid here but not there;
//! amounts that differ; a payment twice; payments of orders the hall closed or never issued.
//! Nothing counts unless the whole statement's signature verifies. Every discrepancy is a task
//! staff resolve with a note (audited); re-running a day replaces what is unresolved.

use crate::gateway::protocol::{PaymentResult, STATEMENT_HEADER, Verifier, WireReceipt, WireStatus};
use crate::order::{self, OrderState};
use crate::settle::Source;
use crate::{PaymentError, Payments};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::clock::CHINA;
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Db, DbError, exec, run, sqlx};
use govhall_identity::{Access, Permission, Target};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The daily job's name.
pub const RECONCILE_JOB: &str = "payments.reconcile";

/// The longest line a statement may have.
const MAX_LINE: usize = 1024;

/// What kind of discrepancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyKind {
    /// Paid at the gateway, not here, and could not be settled.
    MissingHere,
    /// Paid here, not in the gateway's statement.
    MissingThere,
    /// Paid on both sides with different amounts.
    AmountMismatch,
    /// Paid twice (two lines, or another payment than the hall's).
    Duplicate,
    /// Paid at the gateway for a notice number the hall never issued.
    UnknownOrder,
    /// Paid at the gateway for an order the hall had cancelled or let expire: refund it.
    ClosedOrder,
}

impl DiscrepancyKind {
    /// Every kind.
    pub const ALL: [DiscrepancyKind; 6] = [
        DiscrepancyKind::MissingHere,
        DiscrepancyKind::MissingThere,
        DiscrepancyKind::AmountMismatch,
        DiscrepancyKind::Duplicate,
        DiscrepancyKind::UnknownOrder,
        DiscrepancyKind::ClosedOrder,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyKind::MissingHere => "missing_here",
            DiscrepancyKind::MissingThere => "missing_there",
            DiscrepancyKind::AmountMismatch => "amount_mismatch",
            DiscrepancyKind::Duplicate => "duplicate",
            DiscrepancyKind::UnknownOrder => "unknown_order",
            DiscrepancyKind::ClosedOrder => "closed_order",
        }
    }

    /// In Chinese.
    pub fn label(self) -> &'static str {
        match self {
            DiscrepancyKind::MissingHere => "网关已收款、大厅未入账",
            DiscrepancyKind::MissingThere => "大厅已入账、网关无记录",
            DiscrepancyKind::AmountMismatch => "金额不一致",
            DiscrepancyKind::Duplicate => "重复缴费",
            DiscrepancyKind::UnknownOrder => "缴款码不存在",
            DiscrepancyKind::ClosedOrder => "缴款单已取消或过期但已收款",
        }
    }

    /// Reads the stored name.
    pub fn parse(s: &str) -> Option<DiscrepancyKind> {
        DiscrepancyKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A discrepancy found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The notice number.
    pub notice_number: String,
    /// What kind.
    pub kind: DiscrepancyKind,
    /// The statement's amount, if it has the payment.
    pub statement_fen: Option<i64>,
    /// The hall's amount, if it has the order.
    pub hall_fen: Option<i64>,
    /// The gateway's payment number.
    pub trade_no: String,
    /// More.
    pub detail: String,
}

/// A day's reconciliation as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Reconciliation {
    /// Id.
    pub id: Uuid,
    /// The day.
    pub day: NaiveDate,
    /// The collecting unit.
    pub merchant: String,
    /// Payment lines in the statement.
    pub statement_lines: i64,
    /// Their sum.
    pub statement_fen: i64,
    /// Orders the hall has paid that day.
    pub hall_orders: i64,
    /// Their sum.
    pub hall_fen: i64,
    /// Paid on both sides alike.
    pub matched: i64,
    /// Paid there, settled here by the run.
    pub settled: i64,
    /// Discrepancies found.
    pub discrepancies: i64,
    /// How often the day was run.
    pub runs: i32,
    /// When the last run finished.
    pub finished_at: DateTime<Utc>,
}

/// A discrepancy as stored, with its resolution.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Discrepancy {
    /// Id.
    pub id: Uuid,
    /// Its day's reconciliation.
    pub reconciliation_id: Uuid,
    /// The notice number.
    pub notice_number: String,
    /// Stored kind.
    pub kind: String,
    /// The statement's amount.
    pub statement_fen: Option<i64>,
    /// The hall's amount.
    pub hall_fen: Option<i64>,
    /// The gateway's payment number.
    pub trade_no: String,
    /// More.
    pub detail: String,
    /// When resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// By whom.
    pub resolved_by: Option<String>,
    /// How.
    pub resolution: String,
}

impl Discrepancy {
    /// The kind in Chinese.
    pub fn kind_label(&self) -> &'static str {
        DiscrepancyKind::parse(&self.kind).map_or("", DiscrepancyKind::label)
    }
}

/// One payment line of a statement.
#[derive(Debug, Clone)]
struct Line {
    notice: String,
    trade_no: String,
    fen: i64,
    currency: String,
    paid_at: Option<DateTime<Utc>>,
    receipt: WireReceipt,
}

struct HallPaid {
    fen: i64,
    trade_no: String,
    seen: bool,
}

/// The day's bounds in UTC (China midnight to midnight).
fn day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = CHINA
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default();
    (start, start + Duration::days(1))
}

fn bad(line: usize, what: &str) -> PaymentError {
    PaymentError::BadMessage(format!("对账单第 {line} 行{what}"))
}

/// Reads one line of a statement (after the header); `None` for a refund line.
fn parse_line(n: usize, text: &str) -> Result<Option<Line>, PaymentError> {
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    if fields.len() != 9 {
        return Err(bad(n, &format!("应有 9 列，实有 {} 列", fields.len())));
    }
    if !crate::notice::is_valid(fields[0]) {
        return Err(bad(n, &format!("的缴款码“{}”无效", fields[0].chars().take(30).collect::<String>())));
    }
    let fen: i64 =
        fields[2].parse().ok().filter(|f| *f >= 0).ok_or_else(|| bad(n, "的金额应为不小于 0 的整数（分）"))?;
    let paid_at = if fields[4].is_empty() {
        None
    } else {
        Some(
            DateTime::parse_from_rfc3339(fields[4])
                .map_err(|_| bad(n, "的支付时间应为 RFC 3339 格式"))?
                .with_timezone(&Utc),
        )
    };
    match fields[5] {
        "success" => {}
        "refund" => return Ok(None),
        other => {
            return Err(bad(
                n,
                &format!("的状态“{}”应为 success 或 refund", other.chars().take(20).collect::<String>()),
            ));
        }
    }
    Ok(Some(Line {
        notice: fields[0].to_owned(),
        trade_no: fields[1].to_owned(),
        fen,
        currency: fields[3].to_owned(),
        paid_at,
        receipt: WireReceipt { code: fields[6].to_owned(), number: fields[7].to_owned(), check: fields[8].to_owned() },
    }))
}

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
        // Payments the hall has not on that day: settle what the gateway was paid for.
        let mut settled = 0;
        for line in later {
            match self.settle_from_statement(merchant, &line).await? {
                Ok(true) => settled += 1,
                Ok(false) => matched += 1,
                Err(f) => found.push(f),
            }
        }
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
                    Ok(_) => Ok(Ok(true)),
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

    /// The reconciled days, newest first (staff with `payment.manage` over the whole province).
    pub async fn reconciliations(&self, access: &Access, limit: i64) -> Result<Vec<Reconciliation>, PaymentError> {
        may_reconcile(access)?;
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| {
            sqlx::query_as(
            "SELECT id, day, merchant, statement_lines, statement_fen, hall_orders, hall_fen, matched, settled, discrepancies,
                runs, finished_at
             FROM payment_reconciliations ORDER BY day DESC, merchant LIMIT $1"
        )
        .bind(limit)
        .fetch_all(&mut *c)
        .await
        })?)
    }

    /// A day's reconciliation and its discrepancies.
    pub async fn reconciliation(
        &self,
        access: &Access,
        id: Uuid,
    ) -> Result<(Reconciliation, Vec<Discrepancy>), PaymentError> {
        may_reconcile(access)?;
        let mut conn = self.db().conn().await?;
        let rec = reconciliation_by_id(&mut conn, id).await?.ok_or(PaymentError::NotFound)?;
        let items: Vec<Discrepancy> = run!(conn, |c| {
            sqlx::query_as(
            "SELECT id, reconciliation_id, notice_number, kind, statement_fen, hall_fen, trade_no, detail, resolved_at,
                resolved_by, resolution
             FROM payment_discrepancies WHERE reconciliation_id = $1 ORDER BY resolved_at IS NOT NULL, kind, notice_number"
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await
        })?;
        Ok((rec, items))
    }

    /// Resolves a discrepancy with a note (what was done: refunded, corrected at the gateway …).
    pub async fn resolve(&self, access: &Access, actor: &Actor, id: Uuid, note: &str) -> Result<(), PaymentError> {
        may_reconcile(access)?;
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 500 {
            return Err(PaymentError::Invalid("请填写处理说明（不超过 500 个字）".into()));
        }
        let by = actor.label.split_once(':').map_or(actor.label.as_str(), |(_, n)| n).to_owned();
        let mut tx = self.db().begin().await?;
        let notice: Option<String> = run!(tx, |c| sqlx::query_scalar(
            "UPDATE payment_discrepancies SET resolved_at = $1, resolved_by = $2, resolution = $3
             WHERE id = $4 AND resolved_at IS NULL RETURNING notice_number"
        )
        .bind(self.db().now())
        .bind(&by)
        .bind(note)
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
        let Some(notice) = notice else {
            return Err(PaymentError::WrongState("该差异不存在或已处理".into()));
        };
        audit::record(
            &mut tx,
            actor,
            Event::success("payment.discrepancy_resolve", "payment_order", &notice).detail(note),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Payments {
    /// A day's reconciliation as an Excel workbook: the totals, then every discrepancy with its
    /// resolution.
    pub async fn reconciliation_workbook(&self, access: &Access, id: Uuid) -> Result<Vec<u8>, PaymentError> {
        let (rec, items) = self.reconciliation(access, id).await?;
        workbook(&rec, &items)
    }
}

fn yuan(fen: i64) -> String {
    govhall_core::Money::from_fen(fen).map(govhall_core::Money::yuan).unwrap_or_else(|_| format!("{fen} 分"))
}

/// The workbook's bytes.
pub fn workbook(rec: &Reconciliation, items: &[Discrepancy]) -> Result<Vec<u8>, PaymentError> {
    use rust_xlsxwriter::{Format, Workbook};
    let xlsx = |e: rust_xlsxwriter::XlsxError| PaymentError::Internal(format!("生成 Excel 失败：{e}"));
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("对账汇总").map_err(xlsx)?;
    let summary = [
        ("对账日期", rec.day.to_string()),
        ("执收单位编码", rec.merchant.clone()),
        ("对账单笔数", rec.statement_lines.to_string()),
        ("对账单金额（元）", yuan(rec.statement_fen)),
        ("大厅已缴笔数", rec.hall_orders.to_string()),
        ("大厅已缴金额（元）", yuan(rec.hall_fen)),
        ("一致", rec.matched.to_string()),
        ("补记入账", rec.settled.to_string()),
        ("差异", rec.discrepancies.to_string()),
        ("对账次数", rec.runs.to_string()),
    ];
    for (row, (k, v)) in (0u32..).zip(summary) {
        sheet.write_string_with_format(row, 0, k, &bold).map_err(xlsx)?;
        sheet.write_string(row, 1, v).map_err(xlsx)?;
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("差异明细").map_err(xlsx)?;
    let headers = [
        "缴款码",
        "差异类型",
        "对账单金额（元）",
        "大厅金额（元）",
        "交易号",
        "说明",
        "处理人",
        "处理时间",
        "处理说明",
    ];
    for (col, title) in (0u16..).zip(headers) {
        sheet.write_string_with_format(0, col, title, &bold).map_err(xlsx)?;
    }
    for (row, d) in (1u32..).zip(items) {
        let values = [
            d.notice_number.clone(),
            d.kind_label().to_owned(),
            d.statement_fen.map(yuan).unwrap_or_default(),
            d.hall_fen.map(yuan).unwrap_or_default(),
            d.trade_no.clone(),
            d.detail.clone(),
            d.resolved_by.clone().unwrap_or_default(),
            d.resolved_at
                .map(|t| govhall_core::clock::china_time(t).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            d.resolution.clone(),
        ];
        for (col, v) in (0u16..).zip(values) {
            sheet.write_string(row, col, v).map_err(xlsx)?;
        }
    }
    workbook.save_to_buffer().map_err(xlsx)
}

struct Counts {
    lines: i64,
    statement_fen: i64,
    hall_orders: i64,
    hall_fen: i64,
    matched: i64,
    settled: i64,
}

fn may_reconcile(access: &Access) -> Result<(), PaymentError> {
    if access.covers(Permission::PaymentManage, &Target::default()) {
        Ok(())
    } else {
        Err(PaymentError::Forbidden("对账需要全省范围的“管理网上缴费”权限".into()))
    }
}

async fn reconciliation_by_id(
    conn: &mut impl govhall_db::Target,
    id: Uuid,
) -> Result<Option<Reconciliation>, PaymentError> {
    Ok(run!(conn, |c| {
        sqlx::query_as(
        "SELECT id, day, merchant, statement_lines, statement_fen, hall_orders, hall_fen, matched, settled, discrepancies,
            runs, finished_at
         FROM payment_reconciliations WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await
    })?)
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
    fn lines_are_read_strictly_and_refunds_skipped() {
        let n = crate::notice::format("440100", NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or_default(), 1)
            .unwrap_or_default();
        let ok = format!("{n},T1,2000,CNY,2026-12-05T10:00:00+08:00,success,44010026,0000000001,8a1b2c");
        let line = parse_line(2, &ok).unwrap().unwrap();
        assert_eq!((line.fen, line.trade_no.as_str()), (2000, "T1"));
        assert!(parse_line(2, &ok.replace("success", "refund")).unwrap().is_none());
        let err = |s: &str| govhall_core::Coded::message(&parse_line(7, s).unwrap_err());
        assert!(err("a,b").contains("第 7 行应有 9 列"));
        assert!(err(&ok.replace(&n, "12345678901234567890")).contains("缴款码"));
        assert!(err(&ok.replace(",2000,", ",-5,")).contains("金额"));
        assert!(err(&ok.replace(",2000,", ",20.00,")).contains("金额"));
        assert!(err(&ok.replace("2026-12-05T10:00:00+08:00", "昨天")).contains("支付时间"));
        assert!(err(&ok.replace("success", "paid")).contains("状态"));
    }

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
