//! 企业数据统计 (and a person's own): the cases of an enterprise, or a person's own, counted by
//! state, item, department and month of submission, with the average working days from 受理 to
//! the decision; and the same as an Excel workbook.

use crate::tasks::Whose;
use crate::{CaseError, Cases};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use govhall_core::clock::china_date;
use govhall_db::{run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::AccountId;
use rust_xlsxwriter::{Format, Workbook};
use serde::Serialize;

/// A label and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// What is counted (a state, an item, a department, a month `2026-12`).
    pub label: String,
    /// How many cases.
    pub count: i64,
}

/// The statistics of one person's or enterprise's cases.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Every case.
    pub total: i64,
    /// By state: 办理中, 补齐补正中, 准予, 不予, 不予受理, 已撤回 (those with none left out).
    pub by_state: Vec<Count>,
    /// The ten items with most cases.
    pub by_item: Vec<Count>,
    /// By handling department, most first.
    pub by_department: Vec<Count>,
    /// The last twelve months of submissions (China time), oldest first, months without any
    /// included.
    pub by_month: Vec<Count>,
    /// Cases decided after being accepted.
    pub decided: i64,
    /// Their average working days from 受理 to the decision, to one decimal.
    pub average_working_days: Option<f64>,
}

impl Cases {
    /// The statistics of `whose`'s cases, for `viewer` (an enterprise's for its active members).
    pub async fn stats(&self, viewer: AccountId, whose: Whose) -> Result<Stats, CaseError> {
        self.check_whose(viewer, whose).await?;
        let (filter, id) = Self::whose_filter(whose);
        let mut conn = self.db().conn().await?;
        let states: Vec<(bool, Option<String>, bool, i64)> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(format!(
            "SELECT c.is_open, c.outcome, c.paused_on IS NOT NULL AS paused, COUNT(*) FROM cases c WHERE {filter}
             GROUP BY c.is_open, c.outcome, c.paused_on IS NOT NULL"
        )))
        .bind(id)
        .fetch_all(&mut *c)
        .await)?;
        let by_item: Vec<(String, i64)> = run!(conn, |c| {
            sqlx::query_as(AssertSqlSafe(format!(
            "SELECT c.item_name, COUNT(*) AS n FROM cases c WHERE {filter} GROUP BY c.item_name ORDER BY n DESC, c.item_name LIMIT 10"
        )))
        .bind(id)
        .fetch_all(&mut *c)
        .await
        })?;
        let by_department: Vec<(String, i64)> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(format!(
            "SELECT d.name, COUNT(*) AS n FROM cases c JOIN departments d ON d.id = c.department_id WHERE {filter}
             GROUP BY d.name ORDER BY n DESC, d.name LIMIT 20"
        )))
        .bind(id)
        .fetch_all(&mut *c)
        .await)?;
        let today = china_date(self.db().now());
        let first_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1)
            .and_then(|d| d.checked_sub_months(Months::new(11)))
            .unwrap_or(today);
        let since = first_month.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - chrono::Duration::hours(8);
        let submitted: Vec<DateTime<Utc>> = run!(conn, |c| sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT c.submitted_at FROM cases c WHERE {filter} AND c.submitted_at >= $2"
        )))
        .bind(id)
        .bind(since)
        .fetch_all(&mut *c)
        .await)?;
        let decided: Vec<(NaiveDate, DateTime<Utc>)> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(format!(
            "SELECT c.accepted_on, c.decided_at FROM cases c
             WHERE {filter} AND c.accepted_on IS NOT NULL AND c.decided_at IS NOT NULL"
        )))
        .bind(id)
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);

        let mut by_state: Vec<Count> = Vec::new();
        let mut add = |label: &str, n: i64| match by_state.iter_mut().find(|c| c.label == label) {
            Some(c) => c.count += n,
            None => by_state.push(Count { label: label.to_owned(), count: n }),
        };
        for (open, outcome, paused, n) in &states {
            let label = match (open, outcome.as_deref(), paused) {
                (true, _, true) => "补齐补正中",
                (true, Some("granted"), _) => "已准予，待送达",
                (true, _, _) => "办理中",
                (false, Some("granted"), _) => "准予",
                (false, Some("refused"), _) => "不予",
                (false, Some("rejected"), _) => "不予受理",
                (false, Some("withdrawn"), _) => "已撤回",
                (false, _, _) => "已结束",
            };
            add(label, *n);
        }
        let order = ["办理中", "补齐补正中", "已准予，待送达", "准予", "不予", "不予受理", "已撤回", "已结束"];
        by_state.sort_by_key(|c| order.iter().position(|o| *o == c.label));

        let mut by_month: Vec<Count> = (0..12)
            .filter_map(|i| first_month.checked_add_months(Months::new(i)))
            .map(|m| Count { label: m.format("%Y-%m").to_string(), count: 0 })
            .collect();
        for at in submitted {
            let label = china_date(at).format("%Y-%m").to_string();
            if let Some(c) = by_month.iter_mut().find(|c| c.label == label) {
                c.count += 1;
            }
        }
        let cal = self.calendar();
        let days: Vec<u32> =
            decided.iter().map(|(accepted, at)| cal.working_days_between(*accepted, china_date(*at))).collect();
        let average_working_days = (!days.is_empty()).then(|| {
            let sum: u64 = days.iter().map(|d| u64::from(*d)).sum();
            (sum as f64 / days.len() as f64 * 10.0).round() / 10.0
        });
        let counts = |rows: Vec<(String, i64)>| rows.into_iter().map(|(label, count)| Count { label, count }).collect();
        Ok(Stats {
            total: states.iter().map(|s| s.3).sum(),
            by_state,
            by_item: counts(by_item),
            by_department: counts(by_department),
            by_month,
            decided: days.len() as i64,
            average_working_days,
        })
    }
}

/// The statistics as an Excel workbook: 概况, then one sheet per breakdown.
pub fn workbook(title: &str, stats: &Stats) -> Result<Vec<u8>, CaseError> {
    let fail = |e: rust_xlsxwriter::XlsxError| CaseError::Internal(format!("统计表生成失败：{e}"));
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let summary = book.add_worksheet().set_name("概况").map_err(fail)?;
    summary.write_string_with_format(0, 0, title, &bold).map_err(fail)?;
    summary.write_string(1, 0, "办件总数").map_err(fail)?;
    summary.write_number(1, 1, stats.total as f64).map_err(fail)?;
    summary.write_string(2, 0, "已受理并作出决定的办件").map_err(fail)?;
    summary.write_number(2, 1, stats.decided as f64).map_err(fail)?;
    summary.write_string(3, 0, "平均办理用时（工作日，受理至决定）").map_err(fail)?;
    match stats.average_working_days {
        Some(d) => summary.write_number(3, 1, d).map_err(fail)?,
        None => summary.write_string(3, 1, "暂无").map_err(fail)?,
    };
    summary.set_column_width(0, 36).map_err(fail)?;
    for (name, head, rows) in [
        ("按状态", "状态", &stats.by_state),
        ("按事项", "事项", &stats.by_item),
        ("按部门", "办理部门", &stats.by_department),
        ("按月份", "提交月份", &stats.by_month),
    ] {
        let sheet = book.add_worksheet().set_name(name).map_err(fail)?;
        sheet.write_string_with_format(0, 0, head, &bold).map_err(fail)?;
        sheet.write_string_with_format(0, 1, "办件数", &bold).map_err(fail)?;
        for (i, c) in rows.iter().enumerate() {
            let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
            sheet.write_string(row, 0, &c.label).map_err(fail)?;
            sheet.write_number(row, 1, c.count as f64).map_err(fail)?;
        }
        sheet.set_column_width(0, 40).map_err(fail)?;
    }
    book.save_to_buffer().map_err(fail)
}
