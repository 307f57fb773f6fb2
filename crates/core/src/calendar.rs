//! The working-day calendar (工作日): Monday to Friday, except official public holidays, plus the
//! make-up working days (调休) that fall on weekends. Deadlines of cases count in these days.

use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::BTreeMap;
use thiserror::Error;

/// The official calendar bundled with GovHall (State Council holiday notices, 2004 onwards).
const OFFICIAL_CSV: &str = include_str!("../../../datasets/calendar/cn-calendar.csv");

/// How a listed day departs from the Monday-to-Friday rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// A public holiday: no work, even on a weekday.
    Holiday,
    /// A make-up working day (调休): work, even on a weekend.
    Workday,
}

/// A listed day: its kind and the occasion (Spring Festival, National Day …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecialDay {
    /// Holiday or make-up working day.
    pub kind: DayKind,
    /// The occasion as the source names it.
    pub occasion: String,
}

impl SpecialDay {
    /// The occasion in Chinese (the bundled source names them in English).
    pub fn occasion_label(&self) -> &str {
        match self.occasion.as_str() {
            "New Year's Day" => "元旦",
            "Spring Festival" => "春节",
            "Tomb-sweeping Day" => "清明节",
            "Labour Day" => "劳动节",
            "Dragon Boat Festival" => "端午节",
            "Mid-autumn Festival" => "中秋节",
            "National Day" => "国庆节",
            "Anti-Fascist 70th Day" => "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
            other => other,
        }
    }
}

/// A line of a calendar file that could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("日历文件第{line}行有误：{reason}")]
pub struct CalendarError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, in Chinese.
    pub reason: String,
}

/// The working calendar: which days are working days, and counting in them.
#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    days: BTreeMap<NaiveDate, SpecialDay>,
}

impl WorkingCalendar {
    /// The bundled official calendar.
    #[expect(clippy::expect_used, reason = "compiled-in data, checked by a test: a failure is a broken build")]
    pub fn official() -> Self {
        Self::from_csv(OFFICIAL_CSV).expect("the bundled calendar datasets/calendar/cn-calendar.csv parses")
    }

    /// Reads `date,kind,occasion` lines (kind `holiday` or `workday`) after a header line.
    pub fn from_csv(text: &str) -> Result<Self, CalendarError> {
        let mut calendar = Self::default();
        for (index, raw) in text.lines().enumerate().skip(1) {
            let line = index + 1;
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            let err = |reason: &str| CalendarError { line, reason: reason.to_owned() };
            let mut parts = raw.splitn(3, ',');
            let date = parts.next().unwrap_or_default();
            let kind = parts.next().ok_or_else(|| err("缺少类型列"))?;
            let occasion = parts.next().unwrap_or_default().trim().to_owned();
            let date =
                NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| err("日期应为 YYYY-MM-DD 格式"))?;
            let kind = match kind.trim() {
                "holiday" => DayKind::Holiday,
                "workday" => DayKind::Workday,
                _ => return Err(err("类型应为 holiday 或 workday")),
            };
            if calendar.days.insert(date, SpecialDay { kind, occasion }).is_some() {
                return Err(err("日期重复"));
            }
        }
        Ok(calendar)
    }

    /// Adds or replaces one listed day (when next year's notice is published).
    pub fn set_day(&mut self, date: NaiveDate, day: SpecialDay) {
        self.days.insert(date, day);
    }

    /// The listed day at `date`, if any.
    pub fn special_day(&self, date: NaiveDate) -> Option<&SpecialDay> {
        self.days.get(&date)
    }

    /// Whether the calendar knows the official days of `date`'s year. Past the last published
    /// year only weekends are known, and deadlines should say so.
    pub fn covers(&self, date: NaiveDate) -> bool {
        match (self.days.first_key_value(), self.days.last_key_value()) {
            (Some((first, _)), Some((last, _))) => (first.year()..=last.year()).contains(&date.year()),
            _ => false,
        }
    }

    /// Whether people work on `date`.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.days.get(&date).map(|d| d.kind) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    /// The `n`-th working day after `start` (the start day itself is not counted, as a time
    /// limit runs from the day after acceptance). `n = 0` gives `start`. Stops at the last date
    /// chrono can represent.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut date = start;
        let mut left = n;
        while left > 0 {
            let Some(next) = date.succ_opt() else { break };
            date = next;
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        date
    }

    /// The first working day on or after `date`.
    pub fn next_working_day(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        while !self.is_working_day(d) {
            let Some(next) = d.succ_opt() else { break };
            d = next;
        }
        d
    }

    /// How many working days lie after `from` up to and including `to`; zero when `to` is not
    /// after `from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days().skip(1).take_while(|d| *d <= to).filter(|d| self.is_working_day(*d)).count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Days;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn official_calendar_is_bundled_and_complete() {
        let cal = WorkingCalendar::from_csv(OFFICIAL_CSV).expect("bundled calendar parses");
        assert!(cal.days.len() > 700);
        assert!(cal.covers(d("2026-11-27")));
        assert!(!cal.covers(d("2030-01-02")));
        // National Day 2026: 1–7 October off, Saturday 10 October worked.
        assert!(!cal.is_working_day(d("2026-10-01")));
        assert!(cal.is_working_day(d("2026-10-10")));
        assert_eq!(cal.special_day(d("2026-10-10")).unwrap().kind, DayKind::Workday);
        assert!(!cal.is_working_day(d("2026-11-28")), "an ordinary Saturday");
    }

    #[test]
    fn counts_across_national_day() {
        let cal = WorkingCalendar::official();
        // Accepted on Wednesday 30 September 2026: 1–7 October are off, so the 1st working day
        // after is Thursday 8 October, the 3rd the make-up Saturday 10 October, the 4th Monday 12.
        assert_eq!(cal.add_working_days(d("2026-09-30"), 1), d("2026-10-08"));
        assert_eq!(cal.add_working_days(d("2026-09-30"), 2), d("2026-10-09"));
        assert_eq!(cal.add_working_days(d("2026-09-30"), 3), d("2026-10-10"));
        assert_eq!(cal.add_working_days(d("2026-09-30"), 4), d("2026-10-12"));
        assert_eq!(cal.add_working_days(d("2026-09-30"), 0), d("2026-09-30"));
        assert_eq!(cal.working_days_between(d("2026-09-30"), d("2026-10-12")), 4);
        assert_eq!(cal.next_working_day(d("2026-10-01")), d("2026-10-08"));
    }

    #[test]
    fn bad_lines_are_named() {
        let err =
            WorkingCalendar::from_csv("date,kind,occasion\n2026-01-01,holiday,x\n2026-13-01,holiday,y").unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.to_string(), "日历文件第3行有误：日期应为 YYYY-MM-DD 格式");
        assert!(WorkingCalendar::from_csv("h\n2026-01-01,rest,z").is_err());
        assert!(WorkingCalendar::from_csv("h\n2026-01-01,holiday,z\n2026-01-01,holiday,z").is_err());
    }

    #[test]
    fn counting_stops_at_the_end_of_time() {
        let cal = WorkingCalendar::official();
        assert_eq!(cal.add_working_days(NaiveDate::MAX, 5), NaiveDate::MAX);
        let near = NaiveDate::MAX - Days::new(3);
        assert!(cal.add_working_days(near, 100) <= NaiveDate::MAX);
        assert!(cal.next_working_day(NaiveDate::MAX) == NaiveDate::MAX);
    }

    proptest! {
        #[test]
        fn adding_then_counting_agrees(start in 0u64..8000, n in 0u32..200) {
            let cal = WorkingCalendar::official();
            let s = d("2004-01-01") + Days::new(start);
            let end = cal.add_working_days(s, n);
            prop_assert_eq!(cal.working_days_between(s, end), n);
            prop_assert!(n == 0 || cal.is_working_day(end));
        }
    }
}
