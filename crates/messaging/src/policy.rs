//! When a message may go: quiet hours for SMS, per-channel rate limits and daily caps.

use crate::settings::ChannelLimits;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use govhall_core::clock::CHINA;
use std::sync::Mutex;

/// No SMS between `start` and `end` o'clock, China time (except verification codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// First quiet hour, 0–23.
    pub start: u32,
    /// First hour allowed again, 0–23. Equal to `start`: no quiet hours.
    pub end: u32,
}

impl QuietHours {
    /// Whether `at` falls in quiet hours.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let hour = at.with_timezone(&CHINA).hour();
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Equal => false,
            std::cmp::Ordering::Less => hour >= self.start && hour < self.end,
            std::cmp::Ordering::Greater => hour >= self.start || hour < self.end,
        }
    }

    /// When quiet hours that include `at` end (`at` itself when it is not quiet).
    pub fn end_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        if !self.contains(at) {
            return at;
        }
        let local = at.with_timezone(&CHINA);
        let end_time = NaiveTime::from_hms_opt(self.end, 0, 0).unwrap_or(NaiveTime::MIN);
        let mut day = local.date_naive();
        if local.time() >= end_time {
            day = day.succ_opt().unwrap_or(day);
        }
        CHINA.from_local_datetime(&day.and_time(end_time)).single().map_or(at, |d| d.with_timezone(&Utc))
    }
}

/// The start of the China day that contains `at` (daily caps count from here).
pub(crate) fn china_day_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let local = at.with_timezone(&CHINA);
    CHINA
        .from_local_datetime(&local.date_naive().and_time(NaiveTime::MIN))
        .single()
        .map_or(at, |d| d.with_timezone(&Utc))
}

/// A token bucket per channel on this node.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, DateTime<Utc>)>,
}

impl RateLimiter {
    /// A bucket from the channel's limits; a rate of 0 lets everything through.
    pub fn new(limits: &ChannelLimits, now: DateTime<Utc>) -> Self {
        let burst = f64::from(limits.burst.max(1));
        Self { rate: limits.rate_per_second.max(0.0), burst, state: Mutex::new((burst, now)) }
    }

    /// Takes a token now, or says when one will be there.
    pub fn try_take(&self, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = *state;
        let elapsed = (now - last).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6;
        let tokens = (tokens + elapsed * self.rate).min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            Ok(())
        } else {
            *state = (tokens, now);
            let wait = ((1.0 - tokens) / self.rate * 1e6).ceil() as i64;
            Err(now + Duration::microseconds(wait.max(1000)))
        }
    }
}

/// `2026-11-28 08:00` in China time, for messages to people.
pub(crate) fn china_time_text(at: DateTime<Utc>) -> String {
    at.with_timezone(&CHINA).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn china_time(h: u32, m: u32) -> DateTime<Utc> {
        CHINA.with_ymd_and_hms(2026, 11, 27, h, m, 0).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_span_midnight() {
        let q = QuietHours { start: 22, end: 8 };
        assert!(!q.contains(china_time(21, 59)));
        assert!(q.contains(china_time(22, 0)));
        assert!(q.contains(china_time(3, 0)));
        assert!(!q.contains(china_time(8, 0)));
        // 23:30 on the 27th waits for 08:00 on the 28th; 03:00 for 08:00 the same day.
        let next = CHINA.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(q.end_after(china_time(23, 30)), next);
        assert_eq!(q.end_after(china_time(3, 0)), china_time(8, 0));
        assert_eq!(q.end_after(china_time(12, 0)), china_time(12, 0));
        assert!(!QuietHours { start: 8, end: 8 }.contains(china_time(3, 0)));
    }

    #[test]
    fn the_bucket_refills_at_its_rate() {
        let now = china_time(12, 0);
        let limiter = RateLimiter::new(&ChannelLimits { rate_per_second: 2.0, burst: 2, daily_cap: 0 }, now);
        assert!(limiter.try_take(now).is_ok());
        assert!(limiter.try_take(now).is_ok());
        let next = limiter.try_take(now).unwrap_err();
        assert_eq!(next, now + Duration::milliseconds(500));
        assert!(limiter.try_take(now + Duration::milliseconds(500)).is_ok());
        let open = RateLimiter::new(&ChannelLimits::default(), now);
        for _ in 0..1000 {
            assert!(open.try_take(now).is_ok());
        }
    }
}
