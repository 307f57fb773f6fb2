//! Satisfaction by item, department, region, channel and month, read from the counts by day and
//! by month that every evaluation, change and voiding keeps in its own transaction, so a page
//! never counts evaluations one by one: whole months come from the monthly counts. 满意率 is the share of levels 3–5 (好评: 非常满意,
//! 满意, 基本满意) among real evaluations; default ratings are counted apart and out of the rate;
//! voided ones are out of every count. The 差评 tasks are counted per department: answered, on
//! time, after a call back, escalated.

use crate::model::Channel;
use crate::{Feedback, FeedbackError};
use chrono::{Datelike, Months, NaiveDate};
use govhall_db::{run, sqlx, sqlx::AssertSqlSafe};
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Evaluations counted by level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Real evaluations at levels 1 to 5 (index 0 is level 1).
    pub by_level: [i64; 5],
    /// Default ratings (not in the rate).
    pub defaults: i64,
}

impl Counts {
    /// Real evaluations.
    pub fn total(&self) -> i64 {
        self.by_level.iter().sum()
    }

    /// 好评: levels 3 to 5.
    pub fn satisfied(&self) -> i64 {
        self.by_level[2..].iter().sum()
    }

    /// 差评: levels 1 and 2.
    pub fn bad(&self) -> i64 {
        self.by_level[..2].iter().sum()
    }

    /// 满意率 in percent, to one decimal (none without evaluations).
    pub fn rate(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| (self.satisfied() as f64 * 1000.0 / total as f64).round() / 10.0)
    }

    /// The rate as people read it.
    pub fn rate_label(&self) -> String {
        self.rate().map_or_else(|| "暂无评价".to_owned(), |r| format!("{r:.1}%"))
    }

    fn add(&mut self, level: i16, is_default: bool, n: i64) {
        if is_default {
            self.defaults += n;
        } else if let Some(slot) = usize::try_from(level - 1).ok().and_then(|i| self.by_level.get_mut(i)) {
            *slot += n;
        }
    }
}

/// What a breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// The department that handled the case.
    Department,
    /// The item.
    Item,
    /// The region (division code).
    Region,
    /// Where the evaluation was given.
    Channel,
    /// The month it counts in (China time).
    Month,
}

impl Dimension {
    /// The dimension named `s` (`department`, `item`, `region`, `channel`, `month`).
    pub fn parse(s: &str) -> Option<Dimension> {
        Some(match s {
            "department" => Dimension::Department,
            "item" => Dimension::Item,
            "region" => Dimension::Region,
            "channel" => Dimension::Channel,
            "month" => Dimension::Month,
            _ => return None,
        })
    }

    /// Its name in Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Dimension::Department => "部门",
            Dimension::Item => "事项",
            Dimension::Region => "地区",
            Dimension::Channel => "评价渠道",
            Dimension::Month => "月份",
        }
    }
}

/// One group of a breakdown.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// Its key (a department's id, an item's code, a division code, a channel, `2026-12`).
    pub key: String,
    /// What people read.
    pub label: String,
    /// Its counts.
    pub counts: Counts,
}

/// How a department answers its 差评.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RectificationCounts {
    /// The department.
    pub department_id: Uuid,
    /// Its name.
    pub department_name: String,
    /// 差评 tasks opened.
    pub tasks: i64,
    /// Answered.
    pub answered: i64,
    /// Answered by the due date.
    pub on_time: i64,
    /// Answered after calling the applicant back.
    pub called_back: i64,
    /// Escalated to the supervisors.
    pub escalated: i64,
}

impl RectificationCounts {
    /// 整改率 (answered ÷ tasks) in percent.
    pub fn answered_rate(&self) -> String {
        percent(self.answered, self.tasks)
    }

    /// 回访率 (answered after a call back ÷ tasks) in percent.
    pub fn callback_rate(&self) -> String {
        percent(self.called_back, self.tasks)
    }
}

/// Which counts a span is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Daily,
    Monthly,
}

/// The spans `from`..=`to` splits into: the whole months in it (by their first days) from the
/// monthly counts, the days before and after them from the daily ones.
fn spans(from: NaiveDate, to: NaiveDate) -> Vec<(Table, NaiveDate, NaiveDate)> {
    let month_start = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    let next_month = |d: NaiveDate| month_start(d).checked_add_months(Months::new(1)).unwrap_or(d);
    let first_full = if from.day() == 1 { from } else { next_month(from) };
    // The first day after the last whole month.
    let after_full = if next_month(to).pred_opt() == Some(to) { next_month(to) } else { month_start(to) };
    if first_full >= after_full {
        return vec![(Table::Daily, from, to)];
    }
    let mut out = Vec::new();
    if from < first_full {
        out.push((Table::Daily, from, first_full.pred_opt().unwrap_or(first_full)));
    }
    let last_month = month_start(after_full.pred_opt().unwrap_or(after_full));
    out.push((Table::Monthly, first_full, last_month));
    if after_full <= to {
        out.push((Table::Daily, after_full, to));
    }
    out
}

fn percent(part: i64, whole: i64) -> String {
    if whole == 0 { "—".to_owned() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

impl Feedback {
    /// The satisfaction of item `code` over every evaluation kept (the guide page): its months.
    pub async fn item_satisfaction(&self, code: &str) -> Result<Counts, FeedbackError> {
        let mut conn = self.db().conn().await?;
        let rows: Vec<(i16, bool, i64)> = run!(conn, |c| sqlx::query_as(
            "SELECT level, channel = 'default', CAST(SUM(n) AS BIGINT) FROM evaluation_monthly WHERE item_code = $1
             GROUP BY level, channel = 'default'"
        )
        .bind(code)
        .fetch_all(&mut *c)
        .await)?;
        let mut counts = Counts::default();
        for (level, is_default, n) in rows {
            counts.add(level, is_default, n);
        }
        Ok(counts)
    }

    /// The evaluations counted on the days `from` to `to` (China dates), grouped by `by`, most
    /// evaluations first (months in order). Whole months are read from the monthly counts, the
    /// days before and after them from the daily ones.
    pub async fn breakdown(&self, by: Dimension, from: NaiveDate, to: NaiveDate) -> Result<Vec<Group>, FeedbackError> {
        let mut groups: BTreeMap<String, Counts> = BTreeMap::new();
        for (table, first, last) in spans(from, to) {
            for (k, level, is_default, n) in self.grouped(by, table, first, last).await? {
                groups.entry(k).or_default().add(level, is_default, n);
            }
        }
        let mut out = Vec::with_capacity(groups.len());
        for (key, counts) in groups {
            let label = self.group_label(by, &key).await?;
            out.push(Group { key, label, counts });
        }
        if by != Dimension::Month {
            out.sort_by_key(|g| std::cmp::Reverse(g.counts.total() + g.counts.defaults));
        }
        Ok(out)
    }

    /// One table's counts from `first` to `last` (its date column), grouped by `by`.
    async fn grouped(
        &self,
        by: Dimension,
        table: Table,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<(String, i16, bool, i64)>, FeedbackError> {
        let (name, at) = match table {
            Table::Daily => ("evaluation_daily", "day"),
            Table::Monthly => ("evaluation_monthly", "month"),
        };
        let pg = self.db().backend() == govhall_db::Backend::Postgres;
        let key = match by {
            Dimension::Department => "d.name || '|' || ed.region_code".to_owned(),
            Dimension::Item => "ed.item_code".to_owned(),
            Dimension::Region => "ed.region_code".to_owned(),
            Dimension::Channel => "ed.channel".to_owned(),
            Dimension::Month if pg => format!("to_char(ed.{at}, 'YYYY-MM')"),
            Dimension::Month => format!("substr(ed.{at}, 1, 7)"),
        };
        let join = if by == Dimension::Department { "JOIN departments d ON d.id = ed.department_id" } else { "" };
        let sql = format!(
            "SELECT {key} AS k, ed.level, ed.channel = 'default', CAST(SUM(ed.n) AS BIGINT)
             FROM {name} ed {join} WHERE ed.{at} >= $1 AND ed.{at} <= $2
             GROUP BY {key}, ed.level, ed.channel = 'default'"
        );
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(first).bind(last).fetch_all(&mut *c).await)?)
    }

    async fn group_label(&self, by: Dimension, key: &str) -> Result<String, FeedbackError> {
        Ok(match by {
            Dimension::Department => {
                let (name, region) = key.rsplit_once('|').unwrap_or((key, ""));
                match govhall_identity::regions::get(self.db(), region).await? {
                    Some(r) => format!("{name}（{}）", r.full_name),
                    None => name.to_owned(),
                }
            }
            Dimension::Item => {
                let guide = self.catalog_name(key).await?;
                guide.unwrap_or_else(|| key.to_owned())
            }
            Dimension::Region => match govhall_identity::regions::get(self.db(), key).await? {
                Some(r) => r.full_name,
                None => key.to_owned(),
            },
            Dimension::Channel => Channel::parse(key).map_or_else(|| key.to_owned(), |c| c.label().to_owned()),
            Dimension::Month => key.to_owned(),
        })
    }

    /// The latest name an item was rated under.
    async fn catalog_name(&self, code: &str) -> Result<Option<String>, FeedbackError> {
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_scalar(
            "SELECT item_name FROM evaluations WHERE item_code = $1 ORDER BY created_at DESC LIMIT 1"
        )
        .bind(code)
        .fetch_optional(&mut *c)
        .await)?)
    }

    /// How each department answered its 差评 opened on the days `from` to `to`.
    pub async fn rectification_counts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<RectificationCounts>, FeedbackError> {
        let from_at = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - chrono::Duration::hours(8);
        let to_at =
            to.succ_opt().unwrap_or(to).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - chrono::Duration::hours(8);
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(
            "SELECT r.department_id, d.name AS department_name, COUNT(*) AS tasks,
                COALESCE(SUM(CASE WHEN r.state = 'answered' THEN 1 ELSE 0 END), 0) AS answered,
                COALESCE(SUM(CASE WHEN r.on_time THEN 1 ELSE 0 END), 0) AS on_time,
                COALESCE(SUM(CASE WHEN r.called_back THEN 1 ELSE 0 END), 0) AS called_back,
                COALESCE(SUM(CASE WHEN r.escalated_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS escalated
             FROM rectifications r JOIN departments d ON d.id = r.department_id
             WHERE r.state <> 'closed' AND r.created_at >= $1 AND r.created_at < $2
             GROUP BY r.department_id, d.name ORDER BY tasks DESC, d.name"
        )
        .bind(from_at)
        .bind(to_at)
        .fetch_all(&mut *c)
        .await)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn whole_months_are_read_from_the_monthly_counts() {
        assert_eq!(spans(d("2026-01-01"), d("2026-12-31")), vec![(Table::Monthly, d("2026-01-01"), d("2026-12-01"))]);
        assert_eq!(
            spans(d("2026-01-15"), d("2026-03-10")),
            vec![
                (Table::Daily, d("2026-01-15"), d("2026-01-31")),
                (Table::Monthly, d("2026-02-01"), d("2026-02-01")),
                (Table::Daily, d("2026-03-01"), d("2026-03-10")),
            ]
        );
        assert_eq!(spans(d("2026-02-03"), d("2026-02-20")), vec![(Table::Daily, d("2026-02-03"), d("2026-02-20"))]);
        assert_eq!(spans(d("2026-02-03"), d("2026-03-05")), vec![(Table::Daily, d("2026-02-03"), d("2026-03-05"))]);
        assert_eq!(
            spans(d("2026-02-01"), d("2026-03-05")),
            vec![(Table::Monthly, d("2026-02-01"), d("2026-02-01")), (Table::Daily, d("2026-03-01"), d("2026-03-05"))]
        );
    }
}
