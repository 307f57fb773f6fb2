//! Time limits of a case in working days (DOMAIN.md): counted from acceptance with the official
//! calendar, paused while the applicant supplies what was asked, and the warning a case carries.

use chrono::{Days, NaiveDate};
use govhall_catalog::model::{LimitUnit, TimeLimit};
use govhall_core::WorkingCalendar;
use serde::{Deserialize, Serialize};

/// The limit a case runs against: the promised one (承诺时限) when the item gives it, else the
/// statutory one.
pub fn applicable_limit(promised: TimeLimit, statutory: TimeLimit) -> TimeLimit {
    if promised.unit == LimitUnit::None { statutory } else { promised }
}

/// The last day of a limit starting on `accepted` (即办: the same day; none: no due date).
pub fn due_date(calendar: &WorkingCalendar, limit: TimeLimit, accepted: NaiveDate) -> Option<NaiveDate> {
    match limit.unit {
        LimitUnit::None => None,
        LimitUnit::Immediate => Some(accepted),
        LimitUnit::WorkingDays => Some(calendar.add_working_days(accepted, limit.amount)),
        LimitUnit::NaturalDays => accepted.checked_add_days(Days::new(u64::from(limit.amount))),
    }
}

/// What is left of a running limit on `today`, kept while the clock is paused: working days
/// (or natural days) after today up to the due date; negative when the due date has passed, so
/// that a pause never wipes out lateness.
pub fn remaining(calendar: &WorkingCalendar, unit: LimitUnit, today: NaiveDate, due: NaiveDate) -> i64 {
    match unit {
        LimitUnit::NaturalDays => (due - today).num_days(),
        _ if due >= today => i64::from(calendar.working_days_between(today, due)),
        // Late: as many working days as passed since the due date (at least one).
        _ => -i64::from(calendar.working_days_between(due, today).max(1)),
    }
}

/// The due date once the clock runs again on `today` with `left` days left (before today when
/// `left` is negative: the case was already late).
pub fn resumed_due(calendar: &WorkingCalendar, unit: LimitUnit, today: NaiveDate, left: i64) -> NaiveDate {
    let days = Days::new(left.unsigned_abs());
    match unit {
        LimitUnit::NaturalDays if left >= 0 => today.checked_add_days(days).unwrap_or(today),
        LimitUnit::NaturalDays => today.checked_sub_days(days).unwrap_or(today),
        _ if left >= 0 => calendar.add_working_days(today, u32::try_from(left).unwrap_or(u32::MAX)),
        _ => {
            let mut date = today;
            let mut back = left.unsigned_abs();
            while back > 0 {
                let Some(previous) = date.pred_opt() else { break };
                date = previous;
                if calendar.is_working_day(date) {
                    back -= 1;
                }
            }
            date
        }
    }
}

/// A case's warning light (电子监察).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// In time.
    None,
    /// 黄牌: the limit is near, or the current step is late.
    Yellow,
    /// 红牌: the limit has passed.
    Red,
}

impl Warning {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Warning::None => "none",
            Warning::Yellow => "yellow",
            Warning::Red => "red",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            Warning::None => "正常",
            Warning::Yellow => "黄牌预警",
            Warning::Red => "红牌超期",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Warning> {
        [Warning::None, Warning::Yellow, Warning::Red].into_iter().find(|w| w.as_str() == s)
    }
}

/// The warning of an open case on `today`: red past the due date; yellow within `warn_days`
/// working days of it (the due day itself included) or past the current step's own deadline.
pub fn warning(
    calendar: &WorkingCalendar,
    today: NaiveDate,
    due: Option<NaiveDate>,
    step_due: Option<NaiveDate>,
    warn_days: u32,
) -> Warning {
    if let Some(due) = due {
        if today > due {
            return Warning::Red;
        }
        if calendar.working_days_between(today, due) < warn_days.max(1) || today == due {
            return Warning::Yellow;
        }
    }
    if step_due.is_some_and(|d| today > d) {
        return Warning::Yellow;
    }
    Warning::None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn working(n: u32) -> TimeLimit {
        TimeLimit { amount: n, unit: LimitUnit::WorkingDays }
    }

    #[test]
    fn limits_count_working_days_across_holidays_and_make_up_days() {
        let cal = WorkingCalendar::official();
        // Accepted Thu 2025-09-25: National Day and Mid-Autumn (10-01..10-08) are off, Sun 09-28
        // and Sat 10-11 are make-up working days.
        assert_eq!(due_date(&cal, working(3), d("2025-09-25")), Some(d("2025-09-29")));
        assert_eq!(due_date(&cal, working(5), d("2025-09-25")), Some(d("2025-10-09")));
        assert_eq!(due_date(&cal, working(6), d("2025-09-25")), Some(d("2025-10-10")));
        assert_eq!(due_date(&cal, working(7), d("2025-09-25")), Some(d("2025-10-11")));
        // 即办: the same day; natural days: the calendar; none: no date.
        let immediate = TimeLimit { amount: 0, unit: LimitUnit::Immediate };
        assert_eq!(due_date(&cal, immediate, d("2025-09-30")), Some(d("2025-09-30")));
        let natural = TimeLimit { amount: 10, unit: LimitUnit::NaturalDays };
        assert_eq!(due_date(&cal, natural, d("2025-09-30")), Some(d("2025-10-10")));
        assert_eq!(due_date(&cal, TimeLimit::default(), d("2025-09-30")), None);
    }

    #[test]
    fn pausing_keeps_the_days_left_and_resuming_adds_them_again() {
        let cal = WorkingCalendar::official();
        let due = due_date(&cal, working(10), d("2025-09-22")).unwrap();
        assert_eq!(due, d("2025-10-11"));
        // Paused on Fri 09-26: 09-28 (make-up), 09-29, 09-30, 10-09, 10-10, 10-11 (make-up) left.
        let left = remaining(&cal, LimitUnit::WorkingDays, d("2025-09-26"), due);
        assert_eq!(left, 6);
        // The applicant answers weeks later, on Mon 10-20: six working days from then.
        assert_eq!(resumed_due(&cal, LimitUnit::WorkingDays, d("2025-10-20"), left), d("2025-10-28"));
        let left = remaining(&cal, LimitUnit::NaturalDays, d("2025-09-26"), d("2025-10-06"));
        assert_eq!(resumed_due(&cal, LimitUnit::NaturalDays, d("2025-10-20"), left), d("2025-10-30"));
        // Paused when already two working days late (due Thu 10-09, paused Sat 10-11, a make-up
        // day): resumed Mon 10-20, it is still two working days late — due Thu 10-16.
        let late = remaining(&cal, LimitUnit::WorkingDays, d("2025-10-11"), d("2025-10-09"));
        assert_eq!(late, -2);
        assert_eq!(resumed_due(&cal, LimitUnit::WorkingDays, d("2025-10-20"), late), d("2025-10-16"));
        assert_eq!(warning(&cal, d("2025-10-20"), Some(d("2025-10-16")), None, 2), Warning::Red);
    }

    #[test]
    fn warnings_turn_yellow_near_the_limit_and_red_after_it() {
        let cal = WorkingCalendar::official();
        let due = Some(d("2025-10-13"));
        assert_eq!(warning(&cal, d("2025-09-26"), due, None, 2), Warning::None);
        // Two working days before (10-10 → 10-11 make-up, 10-13): not yet; one before: yellow.
        assert_eq!(warning(&cal, d("2025-10-10"), due, None, 2), Warning::None);
        assert_eq!(warning(&cal, d("2025-10-11"), due, None, 2), Warning::Yellow);
        assert_eq!(warning(&cal, d("2025-10-13"), due, None, 2), Warning::Yellow);
        assert_eq!(warning(&cal, d("2025-10-14"), due, None, 2), Warning::Red);
        // A late step alone is yellow; no limit and no step deadline, never.
        assert_eq!(warning(&cal, d("2025-10-01"), None, Some(d("2025-09-30")), 2), Warning::Yellow);
        assert_eq!(warning(&cal, d("2030-01-01"), None, None, 2), Warning::None);
        assert_eq!(applicable_limit(TimeLimit::default(), working(20)), working(20));
        assert_eq!(applicable_limit(working(5), working(20)), working(5));
    }
}
