//! A reconciliation as stored: the day's totals and its discrepancies, each a task.

use chrono::{DateTime, NaiveDate, Utc};
use govhall_db::sqlx;
use serde::Serialize;
use uuid::Uuid;

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
