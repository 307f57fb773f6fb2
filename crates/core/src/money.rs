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

    /// The amount in capital numerals as vouchers and receipts write it (人民币大写):
    /// `1409.50` → `壹仟肆佰零玖元伍角`, `20.00` → `贰拾元整`, `100001.05` → `壹拾万零壹元零伍分`.
    pub fn in_words(self) -> String {
        const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
        const PLACES: [&str; 4] = ["", "拾", "佰", "仟"];
        const GROUPS: [&str; 4] = ["", "万", "亿", "万亿"];
        let (yuan, jiao, fen) = (self.0 / 100, (self.0 / 10) % 10, self.0 % 10);
        let mut out = String::new();
        if yuan > 0 {
            let digits: Vec<usize> = yuan.to_string().bytes().map(|b| usize::from(b - b'0')).collect();
            let mut zero_pending = false;
            let mut group_has_digit = false;
            for (i, &d) in digits.iter().enumerate() {
                let pos = digits.len() - 1 - i;
                if d == 0 {
                    zero_pending = !out.is_empty();
                } else {
                    if zero_pending {
                        out.push('零');
                        zero_pending = false;
                    }
                    out.push(DIGITS[d]);
                    out.push_str(PLACES[pos % 4]);
                    group_has_digit = true;
                }
                if pos.is_multiple_of(4) {
                    if group_has_digit {
                        out.push_str(GROUPS[pos / 4]);
                    }
                    group_has_digit = false;
                }
            }
            out.push('元');
        }
        if jiao == 0 && fen == 0 {
            if out.is_empty() {
                out.push_str("零元");
            }
            out.push('整');
            return out;
        }
        if jiao > 0 {
            out.push(DIGITS[jiao as usize]);
            out.push('角');
        } else if yuan > 0 {
            out.push('零');
        }
        if fen > 0 {
            out.push(DIGITS[fen as usize]);
            out.push('分');
        }
        out
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

    #[test]
    fn amounts_in_capital_numerals() {
        let words = |fen: i64| Money::from_fen(fen).unwrap().in_words();
        assert_eq!(words(2000), "贰拾元整");
        assert_eq!(words(140_950), "壹仟肆佰零玖元伍角");
        assert_eq!(words(10_000_105), "壹拾万零壹元零伍分");
        assert_eq!(words(0), "零元整");
        assert_eq!(words(50), "伍角");
        assert_eq!(words(7), "柒分");
        assert_eq!(words(100), "壹元整");
        assert_eq!(words(1_000_000), "壹万元整");
        assert_eq!(words(10_000_000_000), "壹亿元整");
        assert_eq!(words(10_001_000_000), "壹亿零壹万元整");
        assert_eq!(words(100_010_000), "壹佰万零壹佰元整");
        assert_eq!(words(1_000_000_001), "壹仟万元零壹分");
        assert_eq!(words(32_000_000_407), "叁亿贰仟万零肆元零柒分");
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
