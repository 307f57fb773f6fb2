//! Money in fen (分), the unit every amount is stored, summed and reconciled in.

use crate::ValueError;
use serde::{Deserialize, Serialize};
use std::fmt;

const CODE: &str = "invalid_money";
const SUBJECT: &str = "金额";
/// The largest amount accepted: 10^13 fen (one hundred billion yuan), far above any fee and
/// far below i64 overflow when amounts are summed.
const MAX_FEN: i64 = 10_000_000_000_000;

/// A non-negative amount of money in fen. Stored as BIGINT; never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Money(i64);

impl Money {
    /// Zero, for free items.
    pub const ZERO: Money = Money(0);

    /// An amount in fen; negative or absurdly large amounts are refused.
    pub fn from_fen(fen: i64) -> Result<Self, ValueError> {
        if fen < 0 {
            return Err(ValueError::new(CODE, SUBJECT, "不能为负数"));
        }
        if fen > MAX_FEN {
            return Err(ValueError::new(CODE, SUBJECT, "超出允许的范围"));
        }
        Ok(Self(fen))
    }

    /// Parses yuan as people write it: `12`, `12.5`, `12.50`, `¥12.50`, `12.50元`, `1,200.00`.
    /// More than two decimal places is an error, never a rounding.
    pub fn parse_yuan(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim().trim_start_matches(['¥', '￥']).trim_end_matches('元');
        // Commas only as thousands separators: "1,200.50", never a decimal comma as in "1,5".
        let whole_part = trimmed.split('.').next().unwrap_or_default();
        if whole_part.contains(',') {
            let groups: Vec<&str> = whole_part.split(',').collect();
            let well_grouped = (1..=3).contains(&groups[0].len())
                && groups[1..].iter().all(|g| g.len() == 3)
                && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
            if !well_grouped {
                return Err(ValueError::new(CODE, SUBJECT, "格式不正确，小数点请用“.”，例如 1,200.50"));
            }
        }
        let s: String = trimmed.chars().filter(|c| *c != ',').collect();
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new(CODE, SUBJECT, "应为数字，例如 12.50"));
        }
        if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) || (s.contains('.') && frac.is_empty()) {
            return Err(ValueError::new(CODE, SUBJECT, "最多保留两位小数（精确到分）"));
        }
        if whole.len() > 12 {
            return Err(ValueError::new(CODE, SUBJECT, "超出允许的范围"));
        }
        let yuan: i64 = whole.parse().map_err(|_| ValueError::new(CODE, SUBJECT, "超出允许的范围"))?;
        let fen_part: i64 = format!("{frac:0<2}").parse().unwrap_or(0);
        Self::from_fen(yuan * 100 + fen_part)
    }

    /// The amount in fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// The sum, or `None` past the allowed range.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).and_then(|f| Self::from_fen(f).ok())
    }

    /// Yuan with two decimals, without a unit: `12.50`.
    pub fn yuan(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl fmt::Display for Money {
    /// `12.50元`, as shown to people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}元", self.yuan())
    }
}

impl TryFrom<i64> for Money {
    type Error = ValueError;
    fn try_from(fen: i64) -> Result<Self, Self::Error> {
        Self::from_fen(fen)
    }
}

impl From<Money> for i64 {
    fn from(m: Money) -> i64 {
        m.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Coded;
    use proptest::prelude::*;

    #[test]
    fn parses_what_people_write() {
        assert_eq!(Money::parse_yuan("12").unwrap().fen(), 1200);
        assert_eq!(Money::parse_yuan("12.5").unwrap().fen(), 1250);
        assert_eq!(Money::parse_yuan("¥1,200.05").unwrap().fen(), 120_005);
        assert_eq!(Money::parse_yuan("0.01元").unwrap().fen(), 1);
        assert_eq!(Money::parse_yuan("12.345").unwrap_err().message(), "金额最多保留两位小数（精确到分）");
        assert_eq!(Money::parse_yuan("-1").unwrap_err().code(), "invalid_money");
        assert!(Money::parse_yuan("12.").is_err());
        assert!(Money::parse_yuan("1,5").is_err(), "a decimal comma is not a thousands separator");
        assert!(Money::parse_yuan("12,34.00").is_err());
        assert_eq!(Money::parse_yuan("12,345,678.90").unwrap().fen(), 1_234_567_890);
        assert!(Money::parse_yuan("abc").is_err());
        assert!(Money::parse_yuan("99999999999999999999").is_err());
        assert!(Money::from_fen(-1).is_err());
        assert_eq!(Money::from_fen(1250).unwrap().to_string(), "12.50元");
        assert!(serde_json::from_str::<Money>("-5").is_err());
    }

    proptest! {
        #[test]
        fn yuan_round_trips(fen in 0i64..MAX_FEN) {
            let m = Money::from_fen(fen).unwrap();
            prop_assert_eq!(Money::parse_yuan(&m.yuan()).unwrap(), m);
        }

        #[test]
        fn never_panics(s in "\\PC{0,25}") {
            let _ = Money::parse_yuan(&s);
        }
    }
}
