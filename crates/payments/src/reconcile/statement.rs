//! A statement's lines as the gateway writes them (CSV, one payment or refund per line), read
//! strictly: every mistake names its line.

use crate::PaymentError;
use crate::gateway::protocol::WireReceipt;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use govhall_core::clock::CHINA;

/// The longest line a statement may have.
pub(super) const MAX_LINE: usize = 1024;

/// One payment line of a statement.
#[derive(Debug, Clone)]
pub(super) struct Line {
    pub(super) notice: String,
    pub(super) trade_no: String,
    pub(super) fen: i64,
    pub(super) currency: String,
    pub(super) paid_at: Option<DateTime<Utc>>,
    pub(super) receipt: WireReceipt,
}

/// An order the hall has paid that day, and whether the statement had it.
pub(super) struct HallPaid {
    pub(super) fen: i64,
    pub(super) trade_no: String,
    pub(super) seen: bool,
}

/// The day's bounds in UTC (China midnight to midnight).
pub(super) fn day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = CHINA
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default();
    (start, start + Duration::days(1))
}

pub(super) fn bad(line: usize, what: &str) -> PaymentError {
    PaymentError::BadMessage(format!("对账单第 {line} 行{what}"))
}

/// Reads one line of a statement (after the header); `None` for a refund line.
pub(super) fn parse_line(n: usize, text: &str) -> Result<Option<Line>, PaymentError> {
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
}
