//! Payment notice numbers (缴款码): 20 digits, `RRRRRR YYMMDD SSSSSSS C`: the division code of
//! the item's region, the day of issue (China time), a sequence of that region and day drawn
//! from a counter row moved forward in the issuing transaction (so no two nodes ever draw the
//! same), and a Luhn check digit that catches a mistyped digit or two swapped neighbours when a
//! payer types the number at a bank counter.

use crate::PaymentError;
use chrono::NaiveDate;
use govhall_db::{Tx, run, sqlx};

/// The most orders one region can issue in a day.
pub const MAX_SEQUENCE: i64 = 9_999_999;

/// The Luhn check digit of `digits`.
pub fn check_digit(digits: &str) -> u8 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    u8::try_from((10 - sum % 10) % 10).unwrap_or(0)
}

/// Whether `s` is a well-formed notice number (20 digits, the check digit right).
pub fn is_valid(s: &str) -> bool {
    s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()) && check_digit(&s[..19]) == s.as_bytes()[19] - b'0'
}

/// The number for `region`, `day` and `sequence`.
pub fn format(region: &str, day: NaiveDate, sequence: i64) -> Result<String, PaymentError> {
    let region: String = region.chars().take(6).collect();
    if region.len() != 6 || !region.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PaymentError::Internal(format!("区划代码“{region}”不是 6 位数字")));
    }
    if !(1..=MAX_SEQUENCE).contains(&sequence) {
        return Err(PaymentError::Invalid("本地区今日缴款单数量已达上限".into()));
    }
    let body = format!("{region}{}{sequence:07}", day.format("%y%m%d"));
    Ok(format!("{body}{}", check_digit(&body)))
}

/// Draws the next number of `region` on `day` in `tx`.
pub(crate) async fn next(tx: &mut Tx, region: &str, day: NaiveDate) -> Result<String, PaymentError> {
    let key: String = region.chars().take(6).collect();
    let day_key = day.format("%y%m%d").to_string();
    let last: i64 = run!(tx, |c| sqlx::query_scalar(
        "INSERT INTO payment_notice_counters (region, day, last) VALUES ($1, $2, 1)
         ON CONFLICT (region, day) DO UPDATE SET last = payment_notice_counters.last + 1
         RETURNING last"
    )
    .bind(&key)
    .bind(&day_key)
    .fetch_one(&mut *c)
    .await)?;
    format(&key, day, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_twenty_digits_and_a_check_digit_that_catches_typos() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap_or_default();
        let n = format("440100", day, 42).unwrap();
        assert_eq!(n.len(), 20);
        assert!(n.starts_with("4401002612060000042"));
        assert!(is_valid(&n));
        // Every single-digit change and every swap of unequal neighbours is caught.
        for i in 0..20 {
            for d in b'0'..=b'9' {
                let mut b = n.clone().into_bytes();
                if b[i] == d {
                    continue;
                }
                b[i] = d;
                assert!(!is_valid(&String::from_utf8(b).unwrap()));
            }
        }
        for i in 0..19 {
            let mut b = n.clone().into_bytes();
            if b[i] == b[i + 1] || (b[i] == b'0' && b[i + 1] == b'9') || (b[i] == b'9' && b[i + 1] == b'0') {
                continue;
            }
            b.swap(i, i + 1);
            assert!(!is_valid(&String::from_utf8(b).unwrap()), "swap at {i}");
        }
        assert_eq!(check_digit("7992739871"), 3, "the textbook Luhn example");
        assert!(format("44", day, 1).is_err());
        assert!(format("440100", day, MAX_SEQUENCE + 1).is_err());
        assert!(!is_valid("4401002612060000042x"));
    }
}
