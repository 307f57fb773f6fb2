//! A payment order (缴款单) as read: its state in the lifecycle GOV.UK Pay uses (created,
//! started, submitted, success, failed, cancelled, expired, refunded), its lines, and the
//! electronic receipt number the gateway gave.

use crate::PaymentError;
use crate::ids::OrderId;
use chrono::{DateTime, Utc};
use govhall_cases::CaseId;
use govhall_core::Money;
use govhall_db::{Target, run, sqlx};
use govhall_identity::AccountId;
use serde::Serialize;
use uuid::Uuid;

/// The payable states as an SQL list, for `concat!`.
macro_rules! payable {
    () => {
        "('created', 'started', 'submitted', 'failed')"
    };
}
pub(crate) use payable;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Issued; the payer has not gone to the gateway yet.
    Created,
    /// The payer was sent to the gateway's page.
    Started,
    /// The gateway says the payment is under way at the bank.
    Submitted,
    /// Paid (final, but for refunds).
    Success,
    /// The last attempt failed; the payer may try again until the order expires.
    Failed,
    /// Called off (by the payer or staff) before it was paid.
    Cancelled,
    /// Not paid in time.
    Expired,
    /// Paid and refunded in full.
    Refunded,
}

impl OrderState {
    /// Every state.
    pub const ALL: [OrderState; 8] = [
        OrderState::Created,
        OrderState::Started,
        OrderState::Submitted,
        OrderState::Success,
        OrderState::Failed,
        OrderState::Cancelled,
        OrderState::Expired,
        OrderState::Refunded,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Created => "created",
            OrderState::Started => "started",
            OrderState::Submitted => "submitted",
            OrderState::Success => "success",
            OrderState::Failed => "failed",
            OrderState::Cancelled => "cancelled",
            OrderState::Expired => "expired",
            OrderState::Refunded => "refunded",
        }
    }

    /// In Chinese.
    pub fn label(self) -> &'static str {
        match self {
            OrderState::Created => "待缴费",
            OrderState::Started => "支付中",
            OrderState::Submitted => "银行处理中",
            OrderState::Success => "已缴费",
            OrderState::Failed => "支付失败",
            OrderState::Cancelled => "已取消",
            OrderState::Expired => "已过期",
            OrderState::Refunded => "已退款",
        }
    }

    /// Reads the stored name.
    pub fn parse(s: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the payer can still pay it.
    pub fn is_payable(self) -> bool {
        matches!(self, OrderState::Created | OrderState::Started | OrderState::Submitted | OrderState::Failed)
    }

    /// The states a payable order may be in, for SQL.
    pub(crate) const PAYABLE_SQL: &'static str = payable!();
}

/// One fee of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLine {
    /// The fiscal payment item code (支付项目代码).
    pub code: String,
    /// What is charged.
    pub name: String,
    /// How much.
    pub amount: Money,
}

/// The electronic receipt number (电子票据号): 票据代码 + 票据号码 + 校验码.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiptNumber {
    /// 票据代码.
    pub code: String,
    /// 票据号码.
    pub number: String,
    /// 校验码.
    pub check: String,
}

impl ReceiptNumber {
    /// As printed: `code-number-check`.
    pub fn display(&self) -> String {
        format!("{}-{}-{}", self.code, self.number, self.check)
    }
}

/// A payment order as read.
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    /// Id.
    pub id: OrderId,
    /// The 20-digit payment notice number (缴款码).
    pub notice_number: String,
    /// The case it is for.
    pub case_id: CaseId,
    /// The payment step that issued it.
    pub step: String,
    /// Who pays.
    pub payer_id: AccountId,
    /// The enterprise paying, when the case is an enterprise's.
    pub enterprise_id: Option<Uuid>,
    /// The payer's name as the order shows it.
    pub payer_name: String,
    /// The department.
    pub department_id: Uuid,
    /// The collecting unit's code (执收单位编码).
    pub merchant: String,
    /// The item's name.
    pub subject: String,
    /// The total.
    pub total: Money,
    /// Refunded so far.
    pub refunded: Money,
    /// Where it stands.
    pub state: OrderState,
    /// The gateway's payment number.
    pub trade_no: Option<String>,
    /// The gateway's page for this order, once started.
    pub pay_url: Option<String>,
    /// The bank that paid.
    pub bank: Option<String>,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// The electronic receipt number, once paid.
    pub receipt: Option<ReceiptNumber>,
    /// Until when it can be paid.
    pub expires_at: DateTime<Utc>,
    /// Why it was cancelled, expired or refunded.
    pub closed_note: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// Its lines.
    pub lines: Vec<OrderLine>,
    /// Its revision (staff forms carry it).
    pub revision: i32,
}

impl Order {
    /// What can still be refunded.
    pub fn refundable(&self) -> Money {
        Money::from_fen(self.total.fen() - self.refunded.fen()).unwrap_or_default()
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OrderRow {
    pub id: Uuid,
    pub notice_number: String,
    pub case_id: Uuid,
    pub step: String,
    pub payer_id: Uuid,
    pub enterprise_id: Option<Uuid>,
    pub payer_name: String,
    pub department_id: Uuid,
    pub merchant: String,
    pub subject: String,
    pub total_fen: i64,
    pub refunded_fen: i64,
    pub state: String,
    pub trade_no: Option<String>,
    pub pay_url: Option<String>,
    pub bank: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub receipt_code: Option<String>,
    pub receipt_number: Option<String>,
    pub receipt_check: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub closed_note: String,
    pub created_at: DateTime<Utc>,
    pub revision: i32,
}

pub(crate) const ORDER_COLUMNS: &str = "id, notice_number, case_id, step, payer_id, enterprise_id, payer_name, \
    department_id, merchant, subject, total_fen, refunded_fen, state, trade_no, pay_url, bank, paid_at, receipt_code, \
    receipt_number, receipt_check, expires_at, closed_note, created_at, revision";

impl OrderRow {
    pub(crate) fn into_order(self, lines: Vec<OrderLine>) -> Result<Order, PaymentError> {
        let money = |fen: i64| Money::from_fen(fen).map_err(|e| PaymentError::Internal(e.to_string()));
        let state = OrderState::parse(&self.state)
            .ok_or_else(|| PaymentError::Internal(format!("未知的缴款单状态 {}", self.state)))?;
        let receipt = match (self.receipt_code, self.receipt_number, self.receipt_check) {
            (Some(code), Some(number), Some(check)) => Some(ReceiptNumber { code, number, check }),
            _ => None,
        };
        Ok(Order {
            id: OrderId::from_uuid(self.id),
            notice_number: self.notice_number,
            case_id: CaseId::from_uuid(self.case_id),
            step: self.step,
            payer_id: AccountId::from_uuid(self.payer_id),
            enterprise_id: self.enterprise_id,
            payer_name: self.payer_name,
            department_id: self.department_id,
            merchant: self.merchant,
            subject: self.subject,
            total: money(self.total_fen)?,
            refunded: money(self.refunded_fen)?,
            state,
            trade_no: self.trade_no,
            pay_url: self.pay_url,
            bank: self.bank,
            paid_at: self.paid_at,
            receipt,
            expires_at: self.expires_at,
            closed_note: self.closed_note,
            created_at: self.created_at,
            lines,
            revision: self.revision,
        })
    }
}

#[derive(sqlx::FromRow)]
struct LineRow {
    code: String,
    name: String,
    amount_fen: i64,
}

async fn lines_of(conn: &mut impl Target, id: Uuid) -> Result<Vec<OrderLine>, PaymentError> {
    let rows: Vec<LineRow> = run!(conn, |c| sqlx::query_as(
        "SELECT code, name, amount_fen FROM payment_order_lines WHERE order_id = $1 ORDER BY seq"
    )
    .bind(id)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter()
        .map(|r| {
            Ok(OrderLine {
                code: r.code,
                name: r.name,
                amount: Money::from_fen(r.amount_fen).map_err(|e| PaymentError::Internal(e.to_string()))?,
            })
        })
        .collect()
}

/// The order with id `id`.
pub(crate) async fn order_by_id(conn: &mut impl Target, id: OrderId) -> Result<Option<Order>, PaymentError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM payment_orders WHERE id = $1");
    let row: Option<OrderRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await)?;
    with_lines(conn, row).await
}

/// The order with this payment notice number.
pub(crate) async fn order_by_notice(conn: &mut impl Target, notice: &str) -> Result<Option<Order>, PaymentError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM payment_orders WHERE notice_number = $1");
    let row: Option<OrderRow> =
        run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(notice).fetch_optional(&mut *c).await)?;
    with_lines(conn, row).await
}

async fn with_lines(conn: &mut impl Target, row: Option<OrderRow>) -> Result<Option<Order>, PaymentError> {
    match row {
        Some(row) => {
            let lines = lines_of(conn, row.id).await?;
            Ok(Some(row.into_order(lines)?))
        }
        None => Ok(None),
    }
}

/// The orders of a case, newest first.
pub(crate) async fn orders_of_case(conn: &mut impl Target, case: CaseId) -> Result<Vec<Order>, PaymentError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM payment_orders WHERE case_id = $1 ORDER BY created_at DESC, id");
    let rows: Vec<OrderRow> =
        run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(case.as_uuid()).fetch_all(&mut *c).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let lines = lines_of(conn, row.id).await?;
        out.push(row.into_order(lines)?);
    }
    Ok(out)
}
