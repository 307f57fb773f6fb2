//! Verification codes asked for by people who are not signed in (registering, resetting a
//! password, activating a staff account), guarded against SMS flooding, and answered alike
//! whether or not the number has an account.
//!
//! Every request is counted before it is judged (one row, then counts that include it, so that
//! requests sent at once cannot pass together): per client address within an hour and a day,
//! per network (IPv4 /24, IPv6 /64) within an hour, and for the whole hall within a minute.
//! Past the hourly or per-minute rates a request must carry the answer to a proof-of-work
//! challenge (self-hosted: the hall signs the challenge, the client searches a nonce, the hall
//! checks it with one hash and refuses a second use); past the hall's rate the operators are
//! alarmed in the log; past the daily cap of an address nothing more is sent that day.

use crate::{Identity, IdentityError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use govhall_db::{Db, exec, run, sqlx};
use govhall_messaging::Channel;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use uuid::Uuid;

/// Who asks for a code, and the answer to a challenge if they solved one.
#[derive(Debug, Clone, Default)]
pub struct CodeRequest {
    /// The client's address.
    pub client_ip: String,
    /// `<challenge>:<nonce>`, when the client solved a challenge.
    pub proof: Option<String>,
}

/// A proof-of-work challenge: find a nonce such that SHA-256 of `<challenge>:<nonce>` starts
/// with `bits` zero bits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Challenge {
    /// The signed challenge.
    pub challenge: String,
    /// Leading zero bits the hash must have.
    pub bits: u32,
}

/// How long a challenge stays good.
const CHALLENGE_MINUTES: i64 = 10;

/// SMS sent instead of a registration code to a number that already has an account.
pub const ALREADY_REGISTERED: &str = "account.already_registered";
/// SMS sent instead of a reset code to a number that has no account.
pub const NOT_REGISTERED: &str = "account.not_registered";
/// SMS sent instead of a reset code to an administrator's number.
pub const ADMIN_RESET_REFUSED: &str = "account.admin_reset_refused";

pub(crate) async fn install_templates(db: &Db) -> Result<(), IdentityError> {
    let defaults = [
        (
            ALREADY_REGISTERED,
            "您的手机号码已注册账号，无需再次注册。如忘记密码，请在登录页点击“忘记密码”，用短信验证码重新设置。如非本人操作，请忽略本短信。",
        ),
        (
            NOT_REGISTERED,
            "有人用您的手机号码申请找回密码，但该号码尚未注册账号，因此没有发送验证码。如需办事，请先注册。如非本人操作，请忽略本短信。",
        ),
        (
            ADMIN_RESET_REFUSED,
            "管理员账号不能通过短信找回或设置密码，请联系运维人员在服务器上重置。如非本人操作，请注意账号安全。",
        ),
    ];
    for (code, body) in defaults {
        govhall_messaging::templates::install_default(db, code, Channel::Sms, "", body).await?;
    }
    Ok(())
}

/// The network an address belongs to, for counting: IPv4 /24, IPv6 /64; anything else as it is.
pub fn network_of(client_ip: &str) -> String {
    match client_ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) => client_ip.to_owned(),
    }
}

fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        if *byte == 0 {
            bits += 8;
        } else {
            bits += byte.leading_zeros();
            break;
        }
    }
    bits
}

/// Solves a challenge (for tests and for clients written in Rust).
pub fn solve(challenge: &Challenge) -> String {
    let mut nonce: u64 = 0;
    loop {
        let hash = Sha256::digest(format!("{}:{nonce}", challenge.challenge).as_bytes());
        if leading_zero_bits(&hash) >= challenge.bits {
            return format!("{}:{nonce}", challenge.challenge);
        }
        nonce += 1;
    }
}

impl Identity {
    /// A fresh challenge, signed by the hall (nothing stored until it is used).
    pub fn challenge(&self) -> Challenge {
        let expires = (self.db.now() + Duration::minutes(CHALLENGE_MINUTES)).timestamp();
        let bits = self.settings.challenge_bits.clamp(1, 32);
        let mut random = [0u8; 12];
        rand::rng().fill_bytes(&mut random);
        let body = format!("v1.{expires}.{bits}.{}", URL_SAFE_NO_PAD.encode(random));
        let mac = self.keys.csrf_token(&format!("challenge:{body}"));
        Challenge { challenge: format!("{body}.{mac}"), bits }
    }

    /// Whether `proof` answers a challenge this hall signed, in time, with enough work; a right
    /// answer is spent (a second use is refused, on every node).
    async fn proof_holds(&self, proof: &str) -> Result<bool, IdentityError> {
        let Some((challenge, nonce)) = proof.rsplit_once(':') else { return Ok(false) };
        if challenge.len() > 200 || nonce.len() > 20 || !nonce.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(false);
        }
        let Some((body, mac)) = challenge.rsplit_once('.') else { return Ok(false) };
        if !self.keys.csrf_valid(&format!("challenge:{body}"), mac) {
            return Ok(false);
        }
        let parts: Vec<&str> = body.split('.').collect();
        let (Some(expires), Some(bits)) =
            (parts.get(1).and_then(|e| e.parse::<i64>().ok()), parts.get(2).and_then(|b| b.parse::<u32>().ok()))
        else {
            return Ok(false);
        };
        let now = self.db.now();
        if expires < now.timestamp() || bits < self.settings.challenge_bits.clamp(1, 32) {
            return Ok(false);
        }
        if leading_zero_bits(&Sha256::digest(proof.as_bytes())) < bits {
            return Ok(false);
        }
        let expires_at = chrono::DateTime::<Utc>::from_timestamp(expires, 0).unwrap_or(now);
        let mut conn = self.db.conn().await?;
        exec!(conn, sqlx::query("DELETE FROM spent_proofs WHERE expires_at < $1").bind(now))?;
        let spent = exec!(
            conn,
            sqlx::query("INSERT INTO spent_proofs (challenge, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(challenge)
                .bind(expires_at)
        )?;
        Ok(spent == 1)
    }

    /// Counts a request for a code another domain sends (a complaint's number), then judges it
    /// against the same rates as the hall's own codes.
    pub async fn guard_code(&self, request: &CodeRequest) -> Result<(), IdentityError> {
        self.guard_code_request(request).await
    }

    /// Counts a request for a code, then judges it against the rates.
    pub(crate) async fn guard_code_request(&self, request: &CodeRequest) -> Result<(), IdentityError> {
        let now = self.db.now();
        let ip = request.client_ip.as_str();
        let network = network_of(ip);
        let mut conn = self.db.conn().await?;
        exec!(
            conn,
            sqlx::query("INSERT INTO code_requests (id, client_ip, network, at) VALUES ($1, $2, $3, $4)")
                .bind(Uuid::now_v7())
                .bind(ip)
                .bind(&network)
                .bind(now)
        )?;
        if rand::rng().random_ratio(1, 64) {
            // Now and then, forget what no limit looks at any more (older than a day).
            exec!(conn, sqlx::query("DELETE FROM code_requests WHERE at < $1").bind(now - Duration::days(2)))?;
        }
        let s = &self.settings;
        let day = now - Duration::days(1);
        let hour = now - Duration::hours(1);
        let minute = now - Duration::minutes(1);
        let (daily, by_address, by_network, by_hall): (i64, i64, i64, i64) = run!(conn, |c| {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM code_requests WHERE client_ip = $1 AND at > $3),
                        (SELECT COUNT(*) FROM code_requests WHERE client_ip = $1 AND at > $4),
                        (SELECT COUNT(*) FROM code_requests WHERE network = $2 AND at > $4),
                        (SELECT COUNT(*) FROM code_requests WHERE at > $5)",
            )
            .bind(ip)
            .bind(&network)
            .bind(day)
            .bind(hour)
            .bind(minute)
            .fetch_one(&mut *c)
            .await
        })?;
        drop(conn);
        if daily > s.code_address_daily {
            return Err(IdentityError::CodeDailyLimit);
        }
        if by_hall > s.code_hall_per_minute {
            tracing::error!(
                alarm = "verification_code_flood",
                last_minute = by_hall,
                limit = s.code_hall_per_minute,
                "verification codes asked for faster than the hall's rate: challenges required of everyone"
            );
        }
        let over = by_address > s.code_address_hourly
            || by_network > s.code_network_hourly
            || by_hall > s.code_hall_per_minute;
        if !over {
            return Ok(());
        }
        match &request.proof {
            Some(proof) if self.proof_holds(proof).await? => Ok(()),
            _ => Err(IdentityError::ChallengeRequired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_group_neighbours() {
        assert_eq!(network_of("203.0.113.7"), "203.0.113.0/24");
        assert_eq!(network_of("203.0.113.250"), network_of("203.0.113.7"));
        assert_eq!(network_of("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(network_of("unix"), "unix");
    }

    #[test]
    fn zero_bits_are_counted_from_the_left() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x10, 0xff]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 1]), 15);
    }
}
