//! The signature of a department system's request: HMAC-SM3, with the signing key the hall gave
//! the system when it was connected, over
//!
//! ```text
//! METHOD \n PATH?QUERY \n TIMESTAMP \n NONCE \n hex(SM3(body))
//! ```
//!
//! sent in `X-GovHall-Timestamp` (seconds since 1970), `X-GovHall-Nonce` (16 to 64 letters,
//! digits, `-` or `_`, new for every request) and `X-GovHall-Signature` (`HMAC-SM3 <hex>`).
//! docs/exchange.md gives a worked example for the departments' developers.

use hmac::{Hmac, KeyInit, Mac};
use sm3::{Digest, Sm3};

/// The header carrying the signing time.
pub const TIMESTAMP: &str = "x-govhall-timestamp";
/// The header carrying the nonce.
pub const NONCE: &str = "x-govhall-nonce";
/// The header carrying the signature.
pub const SIGNATURE: &str = "x-govhall-signature";
/// The scheme named in the signature header.
pub const SCHEME: &str = "HMAC-SM3";

/// The text a request's signature covers.
pub fn canonical(method: &str, path_and_query: &str, timestamp: &str, nonce: &str, body: &[u8]) -> String {
    format!(
        "{}\n{path_and_query}\n{timestamp}\n{nonce}\n{}",
        method.to_ascii_uppercase(),
        hex::encode(Sm3::digest(body))
    )
}

fn mac(secret: &[u8], text: &str) -> Hmac<Sm3> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sm3> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(text.as_bytes());
    mac
}

/// The signature header's value for `text` (what a department's system sends; the tests sign
/// with it too).
pub fn sign(secret: &[u8], text: &str) -> String {
    format!("{SCHEME} {}", hex::encode(mac(secret, text).finalize().into_bytes()))
}

/// Whether `header` is the signature of `text` under `secret` (compared in constant time).
pub fn verify(secret: &[u8], text: &str, header: &str) -> bool {
    let Some((scheme, value)) = header.trim().split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return false;
    }
    let Ok(bytes) = hex::decode(value.trim()) else { return false };
    mac(secret, text).verify_slice(&bytes).is_ok()
}

/// Whether a nonce has the allowed shape.
pub fn nonce_ok(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_any_change_breaks_it() {
        let text = canonical("post", "/api/v1/exchange/events", "1767225600", "n0nce-0123456789ab", b"{\"a\":1}");
        assert!(text.starts_with("POST\n/api/v1/exchange/events\n1767225600\nn0nce-0123456789ab\n"));
        let sig = sign(b"secret", &text);
        assert!(sig.starts_with("HMAC-SM3 ") && sig.len() == 9 + 64);
        assert!(verify(b"secret", &text, &sig));
        assert!(verify(b"secret", &text, &sig.to_lowercase().replace("hmac-sm3", "HMAC-SM3")));
        assert!(!verify(b"other", &text, &sig));
        let body_changed =
            canonical("POST", "/api/v1/exchange/events", "1767225600", "n0nce-0123456789ab", b"{\"a\":2}");
        assert!(!verify(b"secret", &body_changed, &sig));
        let path_changed =
            canonical("POST", "/api/v1/exchange/cases/ack", "1767225600", "n0nce-0123456789ab", b"{\"a\":1}");
        assert!(!verify(b"secret", &path_changed, &sig));
        assert!(!verify(b"secret", &text, "HMAC-SHA256 00"));
        assert!(!verify(b"secret", &text, "HMAC-SM3 zz"));
        assert!(!verify(b"secret", &text, ""));
    }

    #[test]
    fn the_sm3_of_an_empty_body_is_the_standard_value() {
        // GB/T 32905: SM3 of the empty message.
        let text = canonical("GET", "/x", "1", "n", b"");
        assert!(text.ends_with("1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"));
    }

    #[test]
    fn nonces_have_a_shape() {
        assert!(nonce_ok("0123456789abcdef"));
        assert!(nonce_ok(&"a".repeat(64)));
        assert!(!nonce_ok("short"));
        assert!(!nonce_ok(&"a".repeat(65)));
        assert!(!nonce_ok("0123456789abcdef\n"));
        assert!(!nonce_ok("０１２３４５６７８９ａｂｃｄｅｆ"));
    }
}
